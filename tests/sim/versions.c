/*
 * mender-sim --mender-version 3.7|4.0|4.1 and /_sim/settings: the routes
 * each version serves and what it answers for one it lacks, 4.1's
 * deployment statistics against 4.0's, the duplicate guard, unsorted
 * inventory pages, a server without Mender Configure, the all-zero
 * configuration deployment id, and deployment timestamps as Go writes them
 * (docs/mender-sim.md, "Versions" and "Settings").
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/simtest.h"

#define D1 "11111111-1111-4111-8111-111111111111"
#define D2 "22222222-2222-4222-8222-222222222222"
#define INV "/api/management/v1/inventory"
#define DEP "/api/management/v1/deployments"
#define DEP2 "/api/management/v2/deployments"
#define CONF "/api/management/v1/deviceconfig/configurations/device"
#define ZERO_ID "00000000-0000-0000-0000-000000000000"
#define NDEV 60

/* D1 polls and succeeds, D2 never polls. */
static const char seed[] =
	"{\"devices\": ["
	"{\"id\": \"" D1 "\", \"device_type\": \"pi3\", \"inventory\": {\"artifact_name\": \"v1\"},"
	" \"configured\": {\"a\": \"1\"}},"
	"{\"id\": \"" D2 "\", \"device_type\": \"pi3\", \"behaviour\": \"offline\"}"
	"],"
	"\"artifacts\": [{\"name\": \"v2\", \"device_types_compatible\": [\"pi3\"]}]}";

static struct tctx *start_version(const char *version)
{
	const char *args[] = { "--mender-version", version, NULL };
	struct tctx *t = t_start(seed, args);

	assert_non_null(t);
	return t;
}

static void assert_json_error(const cJSON *b, const char *key, const char *message)
{
	assert_non_null(b);
	assert_string_equal(j_str(b, key), message);
}

static char *create(struct tctx *t, const char *name, const char *devices, long expect)
{
	char body[512];

	snprintf(body, sizeof(body),
		 "{\"name\": \"%s\", \"artifact_name\": \"v2\", \"devices\": [%s]}", name, devices);
	cJSON_Delete(t_api(t, "POST", body, NULL, 0, expect, DEP "/deployments"));
	return expect == 201 ? strdup(t_location_id(t)) : NULL;
}

static void assert_status(struct tctx *t, const char *id, const char *status)
{
	cJSON *b = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/%s", id);

	assert_string_equal(j_str(b, "status"), status);
	cJSON_Delete(b);
}

static void assert_stats(struct tctx *t, const char *id, int pending, int aborted)
{
	cJSON *b = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/%s/statistics", id);

	assert_int_equal((int)j_num(b, "pending"), pending);
	assert_int_equal((int)j_num(b, "aborted"), aborted);
	cJSON_Delete(b);
}

/* ---- routes ---------------------------------------------------------------------------------- */

static void test_routes_3_7(void **state)
{
	struct tctx *t = start_version("3.7");
	cJSON *b;

	(void)state;
	/* go-json-rest's 404, for both v2 routes 3.7 lacks. */
	b = t_api(t, "GET", NULL, NULL, T_NOCONFORM, 404, DEP2 "/deployments");
	assert_json_error(b, "Error", "Resource not found");
	assert_null(cJSON_GetObjectItem(b, "request_id"));
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, T_NOCONFORM, 404, DEP2 "/artifacts");
	assert_json_error(b, "Error", "Resource not found");
	cJSON_Delete(b);
	/* v1 is there. */
	cJSON_Delete(t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments"));
	cJSON_Delete(t_api(t, "GET", NULL, NULL, 0, 200, DEP "/artifacts"));
	b = t_sim(t, "GET", NULL, 200, "/_sim/settings");
	assert_string_equal(j_str(b, "mender_version"), "3.7");
	cJSON_Delete(b);
	assert_int_equal(t_stop(t), 0);
}

static void test_routes_4_0(void **state)
{
	struct tctx *t = start_version("4.0");
	cJSON *b;

	(void)state;
	cJSON_Delete(t_api(t, "GET", NULL, NULL, 0, 200, DEP2 "/deployments"));
	b = t_api(t, "GET", NULL, NULL, T_NOCONFORM, 404, DEP2 "/artifacts");
	assert_json_error(b, "Error", "Resource not found");
	cJSON_Delete(b);
	b = t_api(t, "DELETE", NULL, NULL, T_NOCONFORM, 405, INV "/devices");
	assert_json_error(b, "Error", "Method not allowed");
	cJSON_Delete(b);
	/* deviceconfig's bare gin.New(): plain text, also for another method. */
	b = t_api(t, "GET", NULL, NULL, T_NOCONFORM, 404, CONF "/" D1 "/nothing");
	assert_null(b);
	assert_string_equal(t_body(t), "404 page not found");
	b = t_api(t, "DELETE", NULL, NULL, T_NOCONFORM, 404, CONF "/" D1);
	assert_string_equal(t_body(t), "404 page not found");
	assert_int_equal(t_stop(t), 0);
}

static void test_routes_4_1(void **state)
{
	struct tctx *t = start_version("4.1");
	cJSON *b;

	(void)state;
	cJSON_Delete(t_api(t, "GET", NULL, NULL, 0, 200, DEP2 "/deployments"));
	cJSON_Delete(t_api(t, "GET", NULL, NULL, 0, 200, DEP2 "/artifacts"));
	/* NewMinimalGinRouter: no request id in the deployments service's 404. */
	b = t_api(t, "GET", NULL, NULL, T_NOCONFORM, 404, DEP2 "/nothing");
	assert_json_error(b, "error", "not found");
	assert_null(cJSON_GetObjectItem(b, "request_id"));
	cJSON_Delete(b);
	b = t_api(t, "DELETE", NULL, NULL, T_NOCONFORM, 405, INV "/devices");
	assert_json_error(b, "error", "method not allowed");
	assert_string_equal(j_str(b, "request_id"), t_header(t, "X-MEN-RequestID"));
	cJSON_Delete(b);
	assert_int_equal(t_stop(t), 0);
}

/* ---- statistics, aborts, the duplicate guard ------------------------------------------------ */

/* A per-device abort of a device that never polled: 4.1 leaves the
 * deployment unfinished for ever, until the whole deployment is aborted. */
static void test_zombie_4_1(void **state)
{
	struct tctx *t = start_version("4.1");
	char *id, *again;

	(void)state;
	id = create(t, "z", "\"" D2 "\"", 201);
	assert_stats(t, id, 1, 0); /* every device pending from the start */
	cJSON_Delete(t_api(t, "DELETE", NULL, NULL, 0, 204, DEP "/deployments/devices/%s", D2));
	assert_stats(t, id, 1, 0);
	assert_status(t, id, "pending");
	/* Still active: it holds the duplicate guard. */
	again = create(t, "z", "\"" D2 "\"", 409);
	assert_null(again);
	cJSON_Delete(t_api(t, "PUT", "{\"status\": \"aborted\"}", NULL, 0, 204,
			   DEP "/deployments/%s/status", id));
	assert_status(t, id, "finished");
	assert_stats(t, id, 0, 1); /* the records' counts */
	cJSON_Delete(t_api(t, "PUT", "{\"status\": \"aborted\"}", NULL, 0, 422,
			   DEP "/deployments/%s/status", id));
	again = create(t, "z", "\"" D2 "\"", 201);
	free(again);
	free(id);
	assert_int_equal(t_stop(t), 0);
}

static void test_abort_4_0(void **state)
{
	struct tctx *t = start_version("4.0");
	char *id, *again;
	cJSON *b;

	(void)state;
	id = create(t, "z", "\"" D2 "\"", 201);
	assert_stats(t, id, 0, 0); /* nothing counted before a device polls */
	cJSON_Delete(t_api(t, "DELETE", NULL, NULL, 0, 204, DEP "/deployments/devices/%s", D2));
	assert_stats(t, id, 0, 1);
	assert_status(t, id, "finished");
	b = t_api(t, "PUT", "{\"status\": \"aborted\"}", NULL, 0, 422, DEP "/deployments/%s/status",
		  id);
	assert_string_equal(j_str(b, "error"), "Deployment already finished");
	cJSON_Delete(b);
	/* A finished deployment no longer holds the guard. */
	again = create(t, "z", "\"" D2 "\"", 201);
	create(t, "z", "\"" D2 "\"", 409);
	free(again);
	free(id);
	assert_int_equal(t_stop(t), 0);
}

/* 3.7 (deployments 4.6.0) has no unique index on the constructor. */
static void test_no_guard_3_7(void **state)
{
	struct tctx *t = start_version("3.7");
	char *a, *b;

	(void)state;
	a = create(t, "same", "\"" D1 "\"", 201);
	b = create(t, "same", "\"" D1 "\"", 201);
	assert_string_not_equal(a, b);
	assert_stats(t, a, 0, 0);
	free(a);
	free(b);
	assert_int_equal(t_stop(t), 0);
}

/* ---- unsorted inventory pages ---------------------------------------------------------------- */

static struct tctx *start_many(void)
{
	struct tstr s = TSTR_INIT;
	struct tctx *t;
	int i;

	tstr_printf(&s, "{\"devices\": [");
	for (i = 0; i < NDEV; i++)
		tstr_printf(&s, "%s{\"id\": \"dev-%02d\", \"device_type\": \"pi3\"}", i ? "," : "",
			    i);
	tstr_printf(&s, "], \"artifacts\": []}");
	t = t_start(s.p, NULL);
	tstr_release(&s);
	assert_non_null(t);
	return t;
}

/* Walk the v2 search in pages of 10; `seen[i]` counts dev-i; `order` gets
 * the ids in the order read. Returns how many distinct devices were seen. */
static int walk(struct tctx *t, const char *sort, int seen[NDEV], char order[NDEV][8])
{
	int page, distinct = 0, n = 0;
	char body[256];
	const cJSON *e;

	memset(seen, 0, NDEV * sizeof(*seen));
	for (page = 1; page <= NDEV / 10; page++) {
		cJSON *b;

		snprintf(body, sizeof(body), "{\"page\": %d, \"per_page\": 10%s}", page, sort);
		b = t_api(t, "POST", body, NULL, 0, 200,
			  "/api/management/v2/inventory/filters/search");
		assert_int_equal(cJSON_GetArraySize(b), 10);
		cJSON_ArrayForEach (e, b) {
			int k = atoi(j_str(e, "id") + 4);

			assert_true(k >= 0 && k < NDEV);
			if (!seen[k]++)
				distinct++;
			snprintf(order[n++], 8, "%s", j_str(e, "id"));
		}
		cJSON_Delete(b);
	}
	return distinct;
}

static void test_unsorted_pages(void **state)
{
	struct tctx *t = start_many();
	int seen[NDEV], i;
	char order[NDEV][8], first[8];
	cJSON *b;

	(void)state;
	cJSON_Delete(t_sim(t, "PUT", "{\"unsorted_order\": \"shuffled\"}", 200, "/_sim/settings"));
	/* Unsorted: each page of its own order, so a walk misses devices. */
	assert_true(walk(t, "", seen, order) < NDEV);
	/* Sorted on the identity id: every device once, in id order. */
	assert_int_equal(walk(t,
			      ", \"sort\": [{\"scope\": \"identity\", \"attribute\": \"id\","
			      " \"order\": \"asc\"}]",
			      seen, order),
			 NDEV);
	for (i = 0; i < NDEV; i++) {
		char want[16];

		snprintf(want, sizeof(want), "dev-%02d", i);
		assert_string_equal(order[i], want);
	}
	assert_int_equal(walk(t,
			      ", \"sort\": [{\"scope\": \"identity\", \"attribute\": \"id\","
			      " \"order\": \"desc\"}]",
			      seen, order),
			 NDEV);
	assert_string_equal(order[0], "dev-59");
	/* The v1 list too: two unsorted reads of one page differ. */
	b = t_api(t, "GET", NULL, NULL, 0, 200, INV "/devices?per_page=20");
	snprintf(first, sizeof(first), "%s", j_str(cJSON_GetArrayItem(b, 0), "id"));
	cJSON_Delete(b);
	for (i = 0; i < 5; i++) {
		b = t_api(t, "GET", NULL, NULL, 0, 200, INV "/devices?per_page=20");
		if (strcmp(first, j_str(cJSON_GetArrayItem(b, 0), "id")))
			i = 100;
		cJSON_Delete(b);
	}
	assert_int_equal(i, 101);
	/* "natural": insertion order, a walk sees every device. */
	cJSON_Delete(t_sim(t, "PUT", "{\"unsorted_order\": \"natural\"}", 200, "/_sim/settings"));
	assert_int_equal(walk(t, "", seen, order), NDEV);
	assert_string_equal(order[0], "dev-00");
	assert_int_equal(t_stop(t), 0);
}

/* ---- Mender Configure ------------------------------------------------------------------------ */

static void test_without_configure(void **state)
{
	const char *args[] = { "--configure", "off", NULL };
	struct tctx *t = t_start(seed, args);
	cJSON *b;

	(void)state;
	assert_non_null(t);
	b = t_api(t, "GET", NULL, NULL, T_NOCONFORM, 403, CONF "/%s", D1);
	assert_json_error(b, "error", "operation requires addon: configure");
	assert_string_equal(j_str(b, "request_id"), t_header(t, "X-MEN-RequestID"));
	cJSON_Delete(b);
	cJSON_Delete(t_api(t, "PUT", "{\"a\": \"2\"}", NULL, T_NOCONFORM, 403, CONF "/%s", D1));
	cJSON_Delete(t_api(t, "POST", "{\"retries\": 0}", NULL, T_NOCONFORM, 403, CONF "/%s/deploy",
			   D1));
	/* The token is checked first. */
	cJSON_Delete(t_api(t, "GET", NULL, NULL, T_NOAUTH, 401, CONF "/%s", D1));
	/* Nothing else is affected. */
	cJSON_Delete(t_api(t, "GET", NULL, NULL, 0, 200, INV "/devices/%s", D1));
	b = t_sim(t, "PUT", "{\"configure\": true}", 200, "/_sim/settings");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(b, "configure")));
	cJSON_Delete(b);
	cJSON_Delete(t_api(t, "GET", NULL, NULL, 0, 200, CONF "/%s", D1));
	b = t_sim(t, "PUT", "{\"configure\": false, \"colour\": 1}", 400, "/_sim/settings");
	assert_non_null(strstr(j_str(b, "error"), "unknown key"));
	cJSON_Delete(b);
	/* Refused whole: configure is still on. */
	cJSON_Delete(t_api(t, "GET", NULL, NULL, 0, 200, CONF "/%s", D1));
	assert_int_equal(t_stop(t), 0);
}

static void test_config_deploy_zero_id(void **state)
{
	struct tctx *t = t_start(seed, NULL);
	cJSON *b, *st;

	(void)state;
	assert_non_null(t);
	cJSON_Delete(t_sim(t, "PUT", "{\"config_deploy_zero_id\": 1}", 200, "/_sim/settings"));
	b = t_api(t, "POST", "{\"retries\": 0}", NULL, 0, 200, CONF "/%s/deploy", D1);
	assert_string_equal(j_str(b, "deployment_id"), ZERO_ID);
	cJSON_Delete(b);
	/* No deployment was made. */
	st = t_sim(t, "GET", NULL, 200, "/_sim/state");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "deployments")), 0);
	cJSON_Delete(st);
	/* Used up: the next one is real. */
	b = t_api(t, "POST", "{\"retries\": 0}", NULL, 0, 200, CONF "/%s/deploy", D1);
	assert_string_not_equal(j_str(b, "deployment_id"), ZERO_ID);
	cJSON_Delete(b);
	st = t_sim(t, "GET", NULL, 200, "/_sim/state");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "deployments")), 1);
	cJSON_Delete(st);
	assert_int_equal(t_stop(t), 0);
}

/* ---- timestamps ------------------------------------------------------------------------------ */

/* "YYYY-MM-DDTHH:MM:SS[.f{1,3}]Z"; returns the number of fraction digits
 * (0 without a fraction), -1 when it is not that. */
static int fraction_digits(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	size_t i, n;

	for (i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
			return -1;
	if (!strcmp(s + i, "Z"))
		return 0;
	if (s[i] != '.')
		return -1;
	n = strspn(s + i + 1, "0123456789");
	if (n < 1 || n > 3 || strcmp(s + i + 1 + n, "Z") || s[i + n] == '0')
		return -1;
	return (int)n;
}

/* Millisecond times (Mongo) written by Go's RFC3339Nano: one in ten ends in
 * a zero that is dropped. 150 deployments a millisecond or more apart span
 * over 150 ms, so some of them are shorter. */
static void test_timestamps(void **state)
{
	struct tctx *t = t_start(seed, NULL);
	int i, shorter = 0;
	const cJSON *e;
	cJSON *b;

	(void)state;
	assert_non_null(t);
	for (i = 0; i < 150; i++) {
		char name[16], *id;

		snprintf(name, sizeof(name), "t%d", i);
		id = create(t, name, "\"" D2 "\"", 201);
		free(id);
		usleep(1000);
	}
	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments?per_page=500");
	assert_int_equal(cJSON_GetArraySize(b), 150);
	cJSON_ArrayForEach (e, b) {
		int d = fraction_digits(j_str(e, "created"));

		if (d < 0)
			fail_msg("created '%s' is not RFC 3339 with milliseconds trimmed",
				 j_str(e, "created"));
		shorter += d < 3;
	}
	cJSON_Delete(b);
	assert_true(shorter > 0);
	assert_int_equal(fraction_digits("2026-12-02T10:00:05.12Z"), 2);
	assert_int_equal(fraction_digits("2026-12-02T10:00:05Z"), 0);
	assert_int_equal(fraction_digits("2026-12-02T10:00:05.120Z"), -1);
	assert_int_equal(t_stop(t), 0);
}

static void test_command_line(void **state)
{
	const char *bad_version[] = { "--listen",         "127.0.0.1:0", "--seed", "x",
				      "--mender-version", "5.0",         NULL };
	const char *bad_configure[] = { "--listen",    "127.0.0.1:0", "--seed", "x",
					"--configure", "maybe",       NULL };
	char err[1024];

	(void)state;
	assert_int_equal(simtest_run(bad_version, err, sizeof(err)), 2);
	assert_non_null(strstr(err, "--mender-version '5.0': expected 3.7, 4.0 or 4.1"));
	assert_int_equal(simtest_run(bad_configure, err, sizeof(err)), 2);
	assert_non_null(strstr(err, "--configure 'maybe': expected on or off"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes_3_7),
		cmocka_unit_test(test_routes_4_0),
		cmocka_unit_test(test_routes_4_1),
		cmocka_unit_test(test_zombie_4_1),
		cmocka_unit_test(test_abort_4_0),
		cmocka_unit_test(test_no_guard_3_7),
		cmocka_unit_test(test_unsorted_pages),
		cmocka_unit_test(test_without_configure),
		cmocka_unit_test(test_config_deploy_zero_id),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_command_line),
	};

	return cmocka_run_group_tests_name("mender-sim versions", tests, t_load_doc, t_free_doc);
}
