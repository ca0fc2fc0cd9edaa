/*
 * mender-sim at fleet scale: 100,000 devices seeded, walked page by page
 * (Mender's maximum page size, 500) through inventory v1 and the v2 search,
 * deployed to and stepped. Timings are printed, not asserted tightly: the
 * same test runs under the sanitizers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/simtest.h"

#define DEVICES 100000
#define PER_PAGE 500
#define INV "/api/management/v1/inventory"

static void id_of(char out[25], unsigned i)
{
	snprintf(out, 25, "5f%022x", i);
}

static char *make_seed(void)
{
	struct tstr s = TSTR_INIT;
	char id[25];
	unsigned i;

	tstr_printf(&s, "{\"devices\": [");
	for (i = 0; i < DEVICES; i++) {
		id_of(id, i);
		tstr_printf(&s,
			    "%s{\"id\": \"%s\", \"device_type\": \"%s\", \"inventory\":"
			    " {\"rootfs-image.version\": \"os-0\", \"artifact_name\": \"os-0\"},"
			    " \"tags\": {%s}%s}",
			    i ? ",\n" : "", id, i % 2 ? "pi4" : "pi3",
			    i % 3 == 0 ? "\"subscribed_branch\": \"canary\"" : "",
			    i % 10 == 9 ? ", \"behaviour\": \"offline\"" : "");
	}
	tstr_printf(&s, "], \"artifacts\": [{\"name\": \"os-1\","
			" \"device_types_compatible\": [\"pi3\", \"pi4\"]}]}");
	return s.p;
}

static void test_hundred_thousand_devices(void **state)
{
	double t0, seeded, walked, searched, stepped;
	struct tctx *t;
	char *seed, want[25];
	cJSON *b, *e;
	unsigned page, n = 0, canary = 0;

	(void)state;
	t0 = t_now();
	seed = make_seed();
	printf("seed of %d devices: %.1f MB built in %.2f s\n", DEVICES,
	       (double)strlen(seed) / 1e6, t_now() - t0);
	t0 = t_now();
	t = t_start(seed, NULL);
	free(seed);
	assert_non_null(t);
	seeded = t_now() - t0;
	printf("started and seeded in %.2f s\n", seeded);
	/* The walk below reads unsorted pages in seed order. */
	cJSON_Delete(t_sim(t, "PUT", "{\"unsorted_order\": \"natural\"}", 200, "/_sim/settings"));

	/* Inventory v1, pages of 500, in seed order. */
	t0 = t_now();
	for (page = 1;; page++) {
		b = t_api(t, "GET", NULL, NULL, 0, 200, INV "/devices?per_page=%d&page=%u", PER_PAGE,
			  page);
		assert_string_equal(t_header(t, "X-Total-Count"), "100000");
		if (!cJSON_GetArraySize(b)) {
			cJSON_Delete(b);
			break;
		}
		cJSON_ArrayForEach(e, b) {
			id_of(want, n++);
			assert_string_equal(j_str(e, "id"), want);
		}
		cJSON_Delete(b);
	}
	walked = t_now() - t0;
	assert_int_equal(n, DEVICES);
	assert_int_equal(page, DEVICES / PER_PAGE + 1);
	printf("inventory walk: %u pages of %d in %.2f s\n", page - 1, PER_PAGE, walked);

	/* v2 search with a filter, pages of 500. */
	t0 = t_now();
	for (page = 1;; page++) {
		char body[256];
		int got;

		snprintf(body, sizeof(body),
			 "{\"page\": %u, \"per_page\": %d, \"filters\": [{\"scope\": \"tags\","
			 " \"attribute\": \"subscribed_branch\", \"type\": \"$eq\","
			 " \"value\": \"canary\"}]}",
			 page, PER_PAGE);
		b = t_api(t, "POST", body, NULL, 0, 200, "/api/management/v2/inventory/filters/search");
		got = cJSON_GetArraySize(b);
		canary += (unsigned)got;
		cJSON_Delete(b);
		if (got < PER_PAGE)
			break;
	}
	searched = t_now() - t0;
	assert_int_equal(canary, (DEVICES + 2) / 3);
	printf("filtered search walk: %u devices in %u pages in %.2f s\n", canary, page, searched);

	/* One deployment to every device, and every online device installs. */
	cJSON_Delete(t_api(t, "POST", "{\"name\": \"all\", \"artifact_name\": \"os-1\","
				      " \"all_devices\": true}",
			   NULL, 0, 201, "/api/management/v1/deployments/deployments"));
	t0 = t_now();
	b = t_sim(t, "POST", NULL, 200, "/_sim/step");
	stepped = t_now() - t0;
	assert_int_equal((int)j_num(b, "success"), DEVICES - DEVICES / 10);
	cJSON_Delete(b);
	printf("step: %d devices installed in %.2f s\n", DEVICES - DEVICES / 10, stepped);
	b = t_api(t, "GET", NULL, NULL, 0, 200, INV "/devices?artifact_name=os-1&per_page=1");
	assert_string_equal(t_header(t, "X-Total-Count"), "90000");
	cJSON_Delete(b);

	t0 = t_now();
	assert_int_equal(t_stop(t), 0);
	printf("clean shutdown in %.2f s\n", t_now() - t0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hundred_thousand_devices),
	};

	return cmocka_run_group_tests_name("mender-sim scale", tests, t_load_doc, t_free_doc);
}
