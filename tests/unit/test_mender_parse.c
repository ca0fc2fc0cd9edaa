/* The Mender client's pure parts: its JSON adapter and the parsers of
 * Mender's answers, on bytes (no server). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/error.h"
#include "mender/json.h"
#include "mender/parse.h"

/* ---- JSON ---- */


static void check_render(const char *json, const char *want)
{
	size_t bad = 0;
	cJSON *j = json_parse_exact(json, strlen(json), &bad);
	char *got;

	assert_non_null(j);
	got = json_render(j);
	assert_string_equal(got, want);
	free(got);
	cJSON_Delete(j);
}

/* Whether json_parse_exact refuses `json` (its first `len` bytes). */
static int refused(const char *json, size_t len)
{
	size_t bad = 0;
	cJSON *j = json_parse_exact(json, len, &bad);

	cJSON_Delete(j);
	return j == NULL;
}

static void test_render_values(void **state)
{
	(void)state;
	check_render("\"2025-10-09-1716-pi3\"", "2025-10-09-1716-pi3");
	check_render("42", "42");
	check_render("-7", "-7");
	check_render("1.5", "1.5");
	check_render("0.1", "0.1");
	check_render("9007199254740991", "9007199254740991");
	check_render("1e300", "1e+300");
	check_render("0.30000000000000004", "0.30000000000000004");
	check_render("true", "true");
	check_render("false", "false");
	check_render("null", "");
	check_render("[\"a\",\"b\"]", "[\"a\",\"b\"]");
	check_render("[1,2.5,\"x\\\"y\"]", "[1,2.5,\"x\\\"y\"]");
	check_render("[]", "[]");
	check_render("{\"k\":[true]}", "{\"k\":[true]}");
	check_render("  \"padded\"  \n", "padded");
	/* invalid UTF-8 inside a string becomes U+FFFD */
	check_render("\"a\xff" "b\"", "a\xef\xbf\xbd" "b");
	check_render("\"\xed\xa0\x80\"", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	/* trailing garbage is refused, not ignored */
	assert_true(refused("{\"a\":1} junk", 12));
	assert_true(refused("", 0));
	assert_true(refused("[1,", 3));
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(json_utf8_valid("plain", 5));
	assert_true(json_utf8_valid("\xc3\xa9t\xc3\xa9", 6));
	assert_true(json_utf8_valid("\xf0\x9f\x9a\x80", 4));
	assert_false(json_utf8_valid("\xc0\x80", 2));          /* overlong NUL */
	assert_false(json_utf8_valid("\xe0\x80\xaf", 3));      /* overlong '/' */
	assert_false(json_utf8_valid("\xed\xa0\x80", 3));      /* surrogate */
	assert_false(json_utf8_valid("\xf4\x90\x80\x80", 4));  /* > U+10FFFF */
	assert_false(json_utf8_valid("\xc3", 1));              /* cut short */
	assert_false(json_utf8_valid("a\xffz", 3));
}

/* ---- parsers ---- */

#define PARSE(fn, body, ...) fn(body, strlen(body), __VA_ARGS__)

static void test_parse_devices(void **state)
{
	struct mender_device_list l;
	size_t got = 0;

	(void)state;
	mender_device_list_init(&l);
	assert_int_equal(PARSE(mender_parse_devices,
			       "[{\"id\":\"d1\",\"attributes\":[{\"scope\":\"inventory\",\"name\":\"device_type\",\"value\":\"pi3\"},"
			       "{\"name\":\"n\",\"value\":42},{\"scope\":\"tags\",\"name\":\"b\",\"value\":[\"x\"]},{\"value\":1}]},"
			       "{\"id\":\"d2\"}]", &l, &got), 0);
	assert_int_equal(got, 2);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0].id, "d1");
	assert_int_equal(l.items[0].nattrs, 3); /* the one without a name is skipped */
	assert_string_equal(mender_device_attr(&l.items[0], "inventory", "device_type"), "pi3");
	assert_string_equal(mender_device_attr(&l.items[0], "inventory", "n"), "42"); /* scope defaults */
	assert_string_equal(mender_device_attr(&l.items[0], NULL, "b"), "[\"x\"]");
	assert_int_equal(l.items[1].nattrs, 0);
	/* scopes and names are shared: inventory, device_type, n, tags, b */
	assert_int_equal(l.nnames, 5);
	mender_device_list_release(&l);

	assert_int_equal(PARSE(mender_parse_devices, "[{\"id\":\"\"}]", &l, &got), FG_EHTTP);
	assert_string_equal(fg_error_message(), "a device without an id");
	assert_int_equal(PARSE(mender_parse_devices, "[{\"attributes\":[]}]", &l, &got), FG_EHTTP);
	assert_int_equal(PARSE(mender_parse_devices, "{\"id\":\"d1\"}", &l, &got), FG_EHTTP);
	assert_string_equal(fg_error_message(), "the reply is not a JSON array");
	assert_int_equal(PARSE(mender_parse_devices, "[{\"id\":\"d1\"}] x", &l, &got), FG_EHTTP);
	assert_string_equal(fg_error_message(), "the reply is not JSON (at byte 14)");
	assert_int_equal(l.n, 0);
	mender_device_list_release(&l);
}

static void test_parse_deployments(void **state)
{
	struct mender_deployment_list l;
	size_t got = 0;

	(void)state;
	mender_deployment_list_init(&l);
	assert_int_equal(PARSE(mender_parse_deployments,
			       "[{\"id\":\"a\",\"name\":\"n\",\"artifact_name\":\"os-1\",\"status\":\"pending\","
			       "\"created\":\"2026-01-02T03:04:05.12Z\",\"device_count\":2,\"max_devices\":3,"
			       "\"statistics\":{\"status\":{\"pending\":2,\"success\":1},\"total_size\":9}},"
			       "{\"id\":\"b\",\"device_count\":-1,\"max_devices\":\"3\"}]", &l, &got), 0);
	assert_int_equal(got, 2);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0].artifact_name, "os-1");
	assert_string_equal(l.items[0].created, "2026-01-02T03:04:05.12Z");
	assert_string_equal(l.items[0].type, "");
	assert_int_equal(l.items[0].device_count, 2);
	assert_int_equal(l.items[0].max_devices, 3);
	assert_int_equal(l.items[0].nstats, 2);
	assert_string_equal(l.items[0].stats[1].status, "success");
	assert_int_equal(l.items[0].stats[1].count, 1);
	assert_int_equal(l.items[1].device_count, -1);
	assert_int_equal(l.items[1].max_devices, -1);
	assert_int_equal(l.items[1].nstats, 0);
	assert_int_equal(PARSE(mender_parse_deployments, "[{\"name\":\"x\"}]", &l, &got), FG_EHTTP);
	assert_string_equal(fg_error_message(), "a deployment without an id");
	assert_int_equal(l.n, 2);
	mender_deployment_list_release(&l);
}

static void test_parse_details(void **state)
{
	struct mender_deployment d;
	struct mender_device_status_list sl;
	size_t got = 0, n = 9;

	(void)state;
	memset(&d, 0, sizeof(d));
	/* the flat form of .../statistics; total_size and non-numbers ignored */
	assert_int_equal(PARSE(mender_parse_stats, "{\"success\":3,\"failure\":0,\"total_size\":5,\"x\":\"1\"}", &d), 0);
	assert_int_equal(d.nstats, 2);
	assert_string_equal(d.stats[0].status, "success");
	assert_int_equal(d.stats[0].count, 3);
	assert_int_equal(PARSE(mender_parse_stats, "[]", &d), FG_EHTTP);
	assert_int_equal(PARSE(mender_parse_device_ids, "[\"d1\",7,\"d\\u00e9\"]", &d), 0);
	assert_int_equal(d.ndevices, 2);
	assert_string_equal(d.devices[1], "d\xc3\xa9");
	mender_deployment_release(&d);

	mender_device_status_list_init(&sl);
	assert_int_equal(PARSE(mender_parse_device_statuses, "[{\"id\":\"d1\",\"status\":\"aborted\"},{}]", &sl, &got), 0);
	assert_int_equal(got, 2);
	assert_string_equal(sl.items[0].status, "aborted");
	assert_string_equal(sl.items[1].device_id, "");
	mender_device_status_list_release(&sl);

	assert_int_equal(PARSE(mender_parse_array_size, "[1,2,3]", &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(PARSE(mender_parse_array_size, "{}", &n), FG_EHTTP);
	assert_int_equal(n, 0);
}

static void test_parse_artifacts(void **state)
{
	const char *names[] = { "os-1", "os-\xc3\xa9" };
	struct mender_artifact_list l;
	size_t got = 0;

	(void)state;
	mender_artifact_list_init(&l);
	/* a name not asked for (Mender's filter may match more) is left out */
	assert_int_equal(PARSE(mender_parse_artifacts,
			       "[{\"id\":\"1\",\"name\":\"os-1\",\"device_types_compatible\":[\"pi3\",\"pi4\",5]},"
			       "{\"id\":\"2\",\"name\":\"os-10\"},{\"id\":\"3\",\"name\":\"os-\\u00e9\"},{\"id\":\"4\"}]",
			       names, 2, &l, &got), 0);
	assert_int_equal(got, 4);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0].name, "os-1");
	assert_int_equal(l.items[0].ndevice_types, 2);
	assert_string_equal(l.items[0].device_types[1], "pi4");
	assert_string_equal(l.items[1].id, "3");
	assert_int_equal(l.items[1].ndevice_types, 0);
	mender_artifact_list_release(&l);
}

static void test_parse_config(void **state)
{
	struct mender_config cfg;
	char *id = NULL;

	(void)state;
	mender_config_init(&cfg);
	assert_int_equal(PARSE(mender_parse_config,
			       "{\"configured\":{\"b\":\"2\",\"a\":true,\"n\":1.50},\"reported\":{},"
			       "\"deployment_id\":\"x\"}", &cfg), 0);
	assert_int_equal(cfg.found, 1);
	assert_int_equal(cfg.nconfigured, 3);
	assert_string_equal(cfg.configured[0].key, "a"); /* sorted */
	assert_string_equal(cfg.configured[0].value, "true");
	assert_string_equal(cfg.configured[1].value, "2");
	assert_string_equal(cfg.configured[2].value, "1.5");
	assert_int_equal(cfg.nreported, 0);
	assert_string_equal(cfg.deployment_id, "x");
	assert_int_equal(PARSE(mender_parse_config, "[]", &cfg), FG_EHTTP);
	assert_int_equal(cfg.found, 0);
	mender_config_release(&cfg);

	assert_int_equal(PARSE(mender_parse_config_deployment, "{\"deployment_id\":\"d-1\"}", &id), 0);
	assert_string_equal(id, "d-1");
	free(id);
	assert_int_equal(PARSE(mender_parse_config_deployment, "{\"deployment_id\":\"\"}", &id), FG_EHTTP);
	assert_null(id);
	assert_int_equal(PARSE(mender_parse_config_deployment, "{}", &id), FG_EHTTP);
	assert_string_equal(fg_error_message(), "no deployment_id");
	/* 200 with the all-zero id: nothing was deployed */
	assert_int_equal(PARSE(mender_parse_config_deployment,
			       "{\"deployment_id\":\"00000000-0000-0000-0000-000000000000\"}", &id), FG_EHTTP);
	assert_null(id);
	assert_string_equal(fg_error_message(), "the all-zero deployment_id: nothing was deployed");
}

static void test_parse_time(void **state)
{
	int64_t a = 0, b = 0;

	(void)state;
	assert_int_equal(mender_parse_time("1970-01-01T00:00:00Z", &a), 0);
	assert_int_equal(a, 0);
	assert_int_equal(mender_parse_time("2026-01-02T03:04:05Z", &a), 0);
	assert_int_equal(a, 1767323045LL * 1000000);
	/* fractions of any length; later than the whole second, as strings
	 * would not say ('.' sorts before 'Z') */
	assert_int_equal(mender_parse_time("2026-01-02T03:04:05.12Z", &b), 0);
	assert_int_equal(b - a, 120000);
	assert_int_equal(mender_parse_time("2026-01-02T03:04:05.123456789Z", &b), 0);
	assert_int_equal(b - a, 123456);
	assert_int_equal(mender_parse_time("2026-01-02T03:04:05.1Z", &b), 0);
	assert_int_equal(b - a, 100000);
	assert_int_equal(mender_parse_time("2026-01-02T05:04:05+02:00", &b), 0);
	assert_int_equal(b, a);
	assert_int_equal(mender_parse_time("2026-01-02T01:34:05-01:30", &b), 0);
	assert_int_equal(b, a);
	assert_int_equal(mender_parse_time("2026-01-02 03:04:05Z", &b), FG_EHTTP);
	assert_string_equal(fg_error_message(), "'2026-01-02 03:04:05Z' is not an RFC 3339 time");
	assert_int_equal(b, 0);
	assert_int_equal(mender_parse_time("2026-01-02T03:04:05", &b), FG_EHTTP);
	assert_int_equal(mender_parse_time("2026-01-02T03:04:05.Z", &b), FG_EHTTP);
	assert_int_equal(mender_parse_time("2026-13-02T03:04:05Z", &b), FG_EHTTP);
	assert_int_equal(mender_parse_time("2026-01-02T03:04:05Zjunk", &b), FG_EHTTP);
	assert_int_equal(mender_parse_time("", &b), FG_EHTTP);
}

static void test_parse_deployment_times(void **state)
{
	struct mender_deployment_list l;
	size_t got = 0;

	(void)state;
	mender_deployment_list_init(&l);
	assert_int_equal(PARSE(mender_parse_deployments,
			       "[{\"id\":\"a\",\"created\":\"2026-01-02T03:04:05Z\"},"
			       "{\"id\":\"b\",\"created\":\"2026-01-02T03:04:05.5Z\"},"
			       "{\"id\":\"c\",\"created\":\"yesterday\"},{\"id\":\"d\"}]", &l, &got), 0);
	assert_true(l.items[1].created_us > l.items[0].created_us);
	assert_int_equal(l.items[2].created_us, 0);
	assert_string_equal(l.items[2].created, "yesterday");
	assert_int_equal(l.items[3].created_us, 0);
	mender_deployment_list_release(&l);
}

static void test_parse_error(void **state)
{
	char *e = NULL, *rid = NULL;

	(void)state;
	assert_int_equal(PARSE(mender_parse_error, "{\"error\":\"bad \\u0001\",\"request_id\":\"r1\"}", &e, &rid), 0);
	assert_string_equal(e, "bad \x01");
	assert_string_equal(rid, "r1");
	free(e);
	free(rid);
	assert_int_equal(PARSE(mender_parse_error, "[\"error\"]", &e, &rid), 0);
	assert_null(e);
	assert_null(rid);
	assert_int_equal(PARSE(mender_parse_error, "<html>", &e, &rid), FG_EHTTP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_values),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_parse_devices),
		cmocka_unit_test(test_parse_deployments),
		cmocka_unit_test(test_parse_details),
		cmocka_unit_test(test_parse_artifacts),
		cmocka_unit_test(test_parse_config),
		cmocka_unit_test(test_parse_error),
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_parse_deployment_times),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
