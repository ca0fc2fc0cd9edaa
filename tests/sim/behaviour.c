/*
 * Behaviour of mender-sim: the Mender semantics fleetgate relies on
 * (deployments, devices' deployments, configuration; docs/mender-sim.md),
 * the devices' side (/_sim/step), faults, the request log and the command
 * line. Every Mender API exchange is still judged by t_api, against the
 * contract and, where at hand, Mender's own documents.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/simtest.h"

#define D1 "11111111-1111-4111-8111-111111111111"
#define D2 "22222222-2222-4222-8222-222222222222"
#define D3 "33333333-3333-4333-8333-333333333333"
#define D4 "44444444-4444-4444-8444-444444444444"
#define D5 "55555555-5555-4555-8555-555555555555"
#define GHOST "99999999-9999-4999-8999-999999999999"

#define INV "/api/management/v1/inventory"
#define DEP "/api/management/v1/deployments"
#define CONF "/api/management/v1/deviceconfig/configurations/device"

/* D1 pi3 (success), D2 pi4 (failure), D3 pi3 (offline), D4 pi3 pending. */
static const char seed[] =
	"{\"devices\": ["
	"{\"id\": \"" D1 "\", \"device_type\": \"pi3\","
	" \"inventory\": {\"rootfs-image.version\": \"v1\", \"artifact_name\": \"v1\"},"
	" \"configured\": {\"a\": \"1\"}, \"reported\": {\"a\": \"0\"}},"
	"{\"id\": \"" D2 "\", \"device_type\": \"pi4\", \"behaviour\": \"failure\","
	" \"inventory\": {\"artifact_name\": \"v1\"}, \"configured\": {}},"
	"{\"id\": \"" D3 "\", \"device_type\": \"pi3\", \"behaviour\": \"offline\","
	" \"inventory\": {\"artifact_name\": \"v1\"}},"
	"{\"id\": \"" D4 "\", \"device_type\": \"pi3\", \"status\": \"pending\"}"
	"],"
	"\"artifacts\": ["
	"{\"name\": \"v1\", \"device_types_compatible\": [\"pi3\", \"pi4\"]},"
	"{\"name\": \"v2\", \"device_types_compatible\": [\"pi3\", \"pi4\"]},"
	"{\"name\": \"v3\", \"device_types_compatible\": [\"pi3\"]}"
	"]}";

/* Unsorted inventory pages in insertion order, as these tests read them
 * (tests/sim/versions.c tests the shuffled default). */
static int setup(void **state)
{
	struct tctx *t = t_start(seed, NULL);

	*state = t;
	if (!t)
		return -1;
	cJSON_Delete(t_sim(t, "PUT", "{\"unsorted_order\": \"natural\"}", 200, "/_sim/settings"));
	return 0;
}

static int teardown(void **state)
{
	return t_stop(*state);
}

static char *create(struct tctx *t, const char *name, const char *artifact, const char *devices)
{
	char body[1024];

	snprintf(body, sizeof(body), "{\"name\": \"%s\", \"artifact_name\": \"%s\", \"devices\": [%s]}",
		 name, artifact, devices);
	cJSON_Delete(t_api(t, "POST", body, NULL, 0, 201, DEP "/deployments"));
	return strdup(t_location_id(t));
}

static cJSON *get_deployment(struct tctx *t, const char *id)
{
	return t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/%s", id);
}

static void assert_deployment_status(struct tctx *t, const char *id, const char *status)
{
	cJSON *b = get_deployment(t, id);

	assert_string_equal(j_str(b, "status"), status);
	cJSON_Delete(b);
}

/* POST /_sim/step; returns how many devices acted. */
static int step(struct tctx *t)
{
	cJSON *b = t_sim(t, "POST", NULL, 200, "/_sim/step");
	int n = (int)j_num(b, "acted");

	cJSON_Delete(b);
	return n;
}

static const cJSON *find_by_id(const cJSON *arr, const char *id)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, arr)
		if (j_str(e, "id") && !strcmp(j_str(e, "id"), id))
			return e;
	return NULL;
}

/* A device's inventory attribute, as GET /devices/{id} reports it. */
static char *inventory_value(struct tctx *t, const char *device, const char *name)
{
	cJSON *b = t_api(t, "GET", NULL, NULL, 0, 200, INV "/devices/%s", device);
	const cJSON *v = j_attr(b, "inventory", name);
	char *s = v && cJSON_IsString(v) ? strdup(v->valuestring) : NULL;

	cJSON_Delete(b);
	return s;
}

static void assert_inventory(struct tctx *t, const char *device, const char *name,
			     const char *want)
{
	char *v = inventory_value(t, device, name);

	assert_non_null(v);
	assert_string_equal(v, want);
	free(v);
}

/* ---- pagination --------------------------------------------------------------------------- */

static void test_pagination_walk(void **state)
{
	struct tstr s = TSTR_INIT;
	struct tctx *t;
	char next[512], ids[45][40];
	int i, pages = 0, seen = 0;

	(void)state;
	tstr_printf(&s, "{\"devices\": [");
	for (i = 0; i < 45; i++)
		tstr_printf(&s, "%s{\"id\": \"dev-%02d\", \"device_type\": \"pi3\"}", i ? "," : "", i);
	tstr_printf(&s, "]}");
	t = t_start(s.p, NULL);
	tstr_release(&s);
	assert_non_null(t);
	cJSON_Delete(t_sim(t, "PUT", "{\"unsorted_order\": \"natural\"}", 200, "/_sim/settings"));

	snprintf(next, sizeof(next), INV "/devices?per_page=20&device_type=pi3");
	while (next[0]) {
		cJSON *b = t_api(t, "GET", NULL, NULL, 0, 200, "%s", next), *e;
		size_t k;

		pages++;
		assert_string_equal(t_header(t, "X-Total-Count"), "45");
		cJSON_ArrayForEach(e, b) {
			assert_true(seen < 45);
			snprintf(ids[seen++], sizeof(ids[0]), "%s", j_str(e, "id"));
		}
		assert_int_equal(cJSON_GetArraySize(b), pages < 3 ? 20 : 5);
		cJSON_Delete(b);
		next[0] = '\0';
		for (k = 0; k < t->last.nheaders; k++) {
			const char *v = t->last.values[k];

			if (!strcasecmp(t->last.names[k], "Link") && strstr(v, "rel=\"next\"")) {
				const char *end = strchr(v, '>');

				assert_non_null(end);
				snprintf(next, sizeof(next), "%.*s", (int)(end - v - 1), v + 1);
			}
			if (!strcasecmp(t->last.names[k], "Link") && strstr(v, "rel=\"last\""))
				assert_non_null(strstr(v, "page=3&"));
		}
	}
	assert_int_equal(pages, 3);
	assert_int_equal(seen, 45);
	for (i = 0; i < 45; i++) {
		char want[16];

		snprintf(want, sizeof(want), "dev-%02d", i);
		assert_string_equal(ids[i], want);
	}
	/* Past the end: an empty page, still with the total. */
	cJSON_Delete(t_api(t, "GET", NULL, NULL, 0, 200, INV "/devices?page=4&per_page=20"));
	assert_string_equal(t->last.body.p, "[]");
	assert_int_equal(t_stop(t), 0);
}

/* ---- deployments ------------------------------------------------------------------------------ */

static void test_conflict_until_finished(void **state)
{
	struct tctx *t = *state;
	const char *body = "{\"name\": \"fleetgate:main@abc:v2\", \"artifact_name\": \"v2\","
			   " \"devices\": [\"" D1 "\"]}";
	char *first, *second;
	cJSON *b;

	cJSON_Delete(t_api(t, "POST", body, NULL, 0, 201, DEP "/deployments"));
	first = strdup(t_location_id(t));
	cJSON_Delete(t_api(t, "POST", body, NULL, 0, 409, DEP "/deployments"));
	/* Device order is part of the constructor: another list is another one. */
	b = t_api(t, "POST",
		  "{\"name\": \"fleetgate:main@abc:v2\", \"artifact_name\": \"v2\","
		  " \"devices\": [\"" D1 "\", \"" D3 "\"]}",
		  NULL, 0, 201, DEP "/deployments");
	cJSON_Delete(b);
	assert_int_equal(step(t), 1);
	assert_deployment_status(t, first, "finished");
	cJSON_Delete(t_api(t, "POST", body, NULL, 0, 201, DEP "/deployments"));
	second = strdup(t_location_id(t));
	assert_string_not_equal(first, second);
	assert_deployment_status(t, second, "pending");
	free(first);
	free(second);
}

static void test_no_artifact_until_uploaded(void **state)
{
	struct tctx *t = *state;
	const char *body = "{\"name\": \"n\", \"artifact_name\": \"v9\", \"devices\": [\"" D1 "\"]}";
	cJSON *b;

	b = t_api(t, "POST", body, NULL, 0, 422, DEP "/deployments");
	assert_string_equal(j_str(b, "error"), "No artifact for the deployment");
	cJSON_Delete(b);
	cJSON_Delete(t_sim(t, "POST",
			   "{\"artifacts\": [{\"name\": \"v9\", \"device_types_compatible\": [\"pi3\"]}]}",
			   200, "/_sim/artifacts"));
	cJSON_Delete(t_api(t, "POST", body, NULL, 0, 201, DEP "/deployments"));
	assert_int_equal(step(t), 1);
	assert_inventory(t, D1, "artifact_name", "v9");
}

static void test_abort_device_needs_two_calls(void **state)
{
	struct tctx *t = *state;
	char *a, *b;
	cJSON *r;

	a = create(t, "a", "v2", "\"" D1 "\", \"" D3 "\"");
	b = create(t, "b", "v3", "\"" D1 "\"");

	/* First call: nothing picked up yet, so the oldest deployment listing
	 * the device (a) gets an aborted record; b is untouched. */
	cJSON_Delete(t_api(t, "DELETE", NULL, NULL, 0, 204, DEP "/deployments/devices/%s", D1));
	r = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/devices/%s", D1);
	assert_int_equal(cJSON_GetArraySize(r), 1);
	assert_string_equal(j_str(cJSON_GetObjectItem(cJSON_GetArrayItem(r, 0), "deployment"), "id"), a);
	assert_string_equal(j_str(cJSON_GetObjectItem(cJSON_GetArrayItem(r, 0), "device"), "status"),
			    "aborted");
	cJSON_Delete(r);
	r = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/devices/%s?status=active", D1);
	assert_int_equal(cJSON_GetArraySize(r), 0);
	cJSON_Delete(r);
	/* b still lists the device and is still active. 4.1 counts a's
	 * devices as pending from the start and the aborted record made for a
	 * device that never polled changes no count: a stays pending. */
	assert_deployment_status(t, b, "pending");
	assert_deployment_status(t, a, "pending");

	/* Second call: b gets its aborted record, and as 4.1 does not count
	 * it, b never finishes (tests/sim/versions.c: 4.0 finishes it). */
	cJSON_Delete(t_api(t, "DELETE", NULL, NULL, 0, 204, DEP "/deployments/devices/%s", D1));
	r = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/devices/%s", D1);
	assert_int_equal(cJSON_GetArraySize(r), 2);
	/* Newest first. */
	assert_string_equal(j_str(cJSON_GetObjectItem(cJSON_GetArrayItem(r, 0), "deployment"), "id"), b);
	assert_string_equal(j_str(cJSON_GetObjectItem(cJSON_GetArrayItem(r, 0), "device"), "status"),
			    "aborted");
	cJSON_Delete(r);
	assert_deployment_status(t, b, "pending");
	r = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/%s/statistics", b);
	assert_int_equal((int)j_num(r, "aborted"), 0);
	assert_int_equal((int)j_num(r, "pending"), 1);
	cJSON_Delete(r);

	/* Nothing left for the device: a third call changes nothing, and the
	 * device does not act on the next step. */
	cJSON_Delete(t_api(t, "DELETE", NULL, NULL, 0, 204, DEP "/deployments/devices/%s", D1));
	r = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/devices/%s", D1);
	assert_int_equal(cJSON_GetArraySize(r), 2);
	cJSON_Delete(r);
	assert_int_equal(step(t), 0);
	assert_inventory(t, D1, "artifact_name", "v1");
	free(a);
	free(b);
}

static void test_oldest_first_assignment(void **state)
{
	struct tctx *t = *state;
	char *a, *b;

	a = create(t, "a", "v2", "\"" D1 "\"");
	b = create(t, "b", "v3", "\"" D1 "\"");
	assert_int_equal(step(t), 1);
	assert_deployment_status(t, a, "finished");
	assert_deployment_status(t, b, "pending");
	assert_inventory(t, D1, "artifact_name", "v2");
	assert_inventory(t, D1, "rootfs-image.version", "v2");
	assert_int_equal(step(t), 1);
	assert_deployment_status(t, b, "finished");
	assert_inventory(t, D1, "rootfs-image.version", "v3");
	assert_int_equal(step(t), 0);
	free(a);
	free(b);
}

static void test_device_outcomes(void **state)
{
	struct tctx *t = *state;
	char *noart, *same, *forced, *fail;
	cJSON *r;

	noart = create(t, "noart", "v3", "\"" D2 "\"");     /* v3 has no pi4 build */
	same = create(t, "same", "v1", "\"" D1 "\"");	      /* D1 runs v1 already */
	fail = create(t, "fail", "v2", "\"" D2 "\"");	      /* D2 fails */
	assert_int_equal(step(t), 2);
	r = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/%s/devices/list", noart);
	assert_string_equal(j_str(cJSON_GetArrayItem(r, 0), "status"), "noartifact");
	assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(r, 0), "image"));
	cJSON_Delete(r);
	r = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/%s/devices/list", same);
	assert_string_equal(j_str(cJSON_GetArrayItem(r, 0), "status"), "already-installed");
	cJSON_Delete(r);
	assert_deployment_status(t, same, "finished");
	assert_int_equal(step(t), 1); /* D2 picks up the next one */
	r = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/%s/statistics", fail);
	assert_int_equal((int)j_num(r, "failure"), 1);
	cJSON_Delete(r);
	assert_inventory(t, D2, "artifact_name", "v1");

	cJSON_Delete(t_api(t, "POST",
			   "{\"name\": \"forced\", \"artifact_name\": \"v1\", \"devices\": [\"" D1 "\"],"
			   " \"force_installation\": true}",
			   NULL, 0, 201, DEP "/deployments"));
	forced = strdup(t_location_id(t));
	assert_int_equal(step(t), 1);
	r = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/%s/statistics", forced);
	assert_int_equal((int)j_num(r, "success"), 1);
	cJSON_Delete(r);
	free(noart);
	free(same);
	free(forced);
	free(fail);
}

static void test_offline_unknown_and_duplicate_devices(void **state)
{
	struct tctx *t = *state;
	char *off, *dup, *ghost;
	cJSON *r, *st;
	const cJSON *d;

	off = create(t, "off", "v2", "\"" D3 "\"");
	dup = create(t, "dup", "v2", "\"" D1 "\", \"" D1 "\"");
	ghost = create(t, "ghost", "v3", "\"" GHOST "\"");
	assert_int_equal(step(t), 1);
	r = get_deployment(t, off);
	assert_string_equal(j_str(r, "status"), "pending");
	assert_int_equal((int)j_num(r, "device_count"), 0);
	cJSON_Delete(r);
	/* A duplicated id counts twice in max_devices: never finished. */
	r = get_deployment(t, dup);
	assert_int_equal((int)j_num(r, "max_devices"), 2);
	assert_int_equal((int)j_num(r, "device_count"), 1);
	assert_string_equal(j_str(r, "status"), "inprogress");
	cJSON_Delete(r);
	assert_deployment_status(t, ghost, "pending");

	st = t_sim(t, "GET", NULL, 200, "/_sim/state");
	d = find_by_id(cJSON_GetObjectItem(st, "deployments"), dup);
	assert_non_null(d);
	assert_string_equal(j_str(d, "type"), "software");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d, "devices")), 2);
	assert_string_equal(j_str(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "devices"), 0), "status"),
			    "success");
	cJSON_Delete(st);

	cJSON_Delete(t_api(t, "PUT", "{\"status\": \"aborted\"}", NULL, 0, 204,
			   DEP "/deployments/%s/status", ghost));
	assert_deployment_status(t, ghost, "finished");
	cJSON_Delete(t_api(t, "PUT", "{\"status\": \"aborted\"}", NULL, 0, 422,
			   DEP "/deployments/%s/status", ghost));
	/* Aborting keeps finished records as they were. */
	cJSON_Delete(t_api(t, "PUT", "{\"status\": \"aborted\"}", NULL, 0, 204,
			   DEP "/deployments/%s/status", dup));
	r = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/%s/statistics", dup);
	assert_int_equal((int)j_num(r, "success"), 1);
	assert_int_equal((int)j_num(r, "aborted"), 0);
	cJSON_Delete(r);
	/* The list filter "aborted" means finished, as in Mender's deployments service. */
	r = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments?status=aborted");
	assert_int_equal(cJSON_GetArraySize(r), 2);
	cJSON_Delete(r);
	free(off);
	free(dup);
	free(ghost);
}

static void test_history_reset(void **state)
{
	struct tctx *t = *state;
	char *a;
	cJSON *r;

	a = create(t, "a", "v2", "\"" D1 "\", \"" GHOST "\"");
	assert_int_equal(step(t), 1);
	assert_int_equal(step(t), 0);
	cJSON_Delete(t_api(t, "DELETE", NULL, NULL, 0, 204, DEP "/deployments/devices/%s/history",
			   D1));
	/* Eligible again: the second record is already-installed (v2 runs). */
	assert_int_equal(step(t), 1);
	r = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/%s/statistics", a);
	assert_int_equal((int)j_num(r, "success"), 1);
	assert_int_equal((int)j_num(r, "already-installed"), 1);
	cJSON_Delete(r);
	/* Two final records reach max_devices (2): finished. */
	assert_deployment_status(t, a, "finished");
	r = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/devices/%s", D1);
	assert_int_equal(cJSON_GetArraySize(r), 2);
	cJSON_Delete(r);
	free(a);
}

static void test_group_and_all_devices(void **state)
{
	struct tctx *t = *state;
	char *id;
	cJSON *r;

	cJSON_Delete(t_sim(t, "POST",
			   "{\"devices\": [{\"id\": \"" D5 "\", \"device_type\": \"pi3\","
			   " \"group\": \"lab\"}]}",
			   200, "/_sim/devices"));
	cJSON_Delete(t_api(t, "POST", "{\"name\": \"g\", \"artifact_name\": \"v2\"}", NULL, 0, 201,
			   DEP "/deployments/group/lab"));
	id = strdup(t_location_id(t));
	/* Resolved once: a device joining the group later is not added. */
	cJSON_Delete(t_sim(t, "POST",
			   "{\"devices\": [{\"id\": \"late\", \"device_type\": \"pi3\","
			   " \"group\": \"lab\"}]}",
			   200, "/_sim/devices"));
	r = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/%s/device_list", id);
	assert_int_equal(cJSON_GetArraySize(r), 1);
	assert_string_equal(cJSON_GetArrayItem(r, 0)->valuestring, D5);
	cJSON_Delete(r);
	free(id);

	cJSON_Delete(t_api(t, "POST", "{\"name\": \"all\", \"artifact_name\": \"v2\", \"all_devices\": true}",
			   NULL, 0, 201, DEP "/deployments"));
	id = strdup(t_location_id(t));
	r = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/%s/device_list", id);
	/* Accepted devices only: D4 is pending. */
	assert_int_equal(cJSON_GetArraySize(r), 5);
	assert_null(find_by_id(r, D4));
	cJSON_Delete(r);
	free(id);
}

/* ---- configuration ---------------------------------------------------------------------------- */

static void test_configuration_deployment(void **state)
{
	struct tctx *t = *state;
	char id[40], *fail_id;
	const cJSON *dev;
	cJSON *r, *st;

	cJSON_Delete(t_api(t, "PUT", "{\"a\": \"2\", \"b\": \"x\"}", NULL, 0, 204, CONF "/%s", D1));
	r = t_api(t, "POST", "{\"retries\": 0}", NULL, 0, 200, CONF "/%s/deploy", D1);
	snprintf(id, sizeof(id), "%s", j_str(r, "deployment_id"));
	cJSON_Delete(r);
	r = get_deployment(t, id);
	assert_string_equal(j_str(r, "type"), "configuration");
	assert_string_equal(j_str(r, "status"), "pending");
	assert_int_equal((int)j_num(r, "max_devices"), 1);
	cJSON_Delete(r);
	r = t_api(t, "GET", NULL, NULL, 0, 200, "/api/management/v2/deployments/deployments?name=configuration-%s",
		  id);
	assert_int_equal(cJSON_GetArraySize(r), 1);
	cJSON_Delete(r);

	r = t_api(t, "GET", NULL, NULL, 0, 200, CONF "/%s", D1);
	assert_string_equal(j_str(cJSON_GetObjectItem(r, "reported"), "a"), "0");
	cJSON_Delete(r);

	assert_int_equal(step(t), 1);
	r = t_api(t, "GET", NULL, NULL, 0, 200, CONF "/%s", D1);
	assert_true(cJSON_Compare(cJSON_GetObjectItem(r, "reported"),
				  cJSON_GetObjectItem(r, "configured"), 1));
	assert_string_equal(j_str(cJSON_GetObjectItem(r, "reported"), "b"), "x");
	assert_non_null(j_str(r, "reported_ts"));
	assert_string_equal(j_str(r, "deployment_id"), id);
	cJSON_Delete(r);
	assert_deployment_status(t, id, "finished");
	st = t_sim(t, "GET", NULL, 200, "/_sim/state");
	dev = find_by_id(cJSON_GetObjectItem(st, "devices"), D1);
	assert_string_equal(j_str(cJSON_GetObjectItem(dev, "reported"), "a"), "2");
	/* A configuration deployment leaves the OS alone. */
	assert_string_equal(j_str(cJSON_GetObjectItem(dev, "inventory"), "artifact_name"), "v1");
	cJSON_Delete(st);

	/* A failing device keeps its reported configuration. */
	cJSON_Delete(t_api(t, "PUT", "{\"a\": \"9\"}", NULL, 0, 204, CONF "/%s", D2));
	r = t_api(t, "POST", "{\"retries\": 0}", NULL, 0, 200, CONF "/%s/deploy", D2);
	fail_id = strdup(j_str(r, "deployment_id"));
	cJSON_Delete(r);
	assert_int_equal(step(t), 1);
	r = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/%s/statistics", fail_id);
	assert_int_equal((int)j_num(r, "failure"), 1);
	cJSON_Delete(r);
	r = t_api(t, "GET", NULL, NULL, 0, 200, CONF "/%s", D2);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "reported")), 0);
	cJSON_Delete(r);
	free(fail_id);
}

/* ---- faults -------------------------------------------------------------------------------------- */

static void test_fault_503_count(void **state)
{
	struct tctx *t = *state;
	cJSON *r;
	int i;

	cJSON_Delete(t_sim(t, "POST",
			   "{\"path_prefix\": \"" INV "\", \"method\": \"GET\", \"status\": 503,"
			   " \"count\": 2}",
			   201, "/_sim/faults"));
	for (i = 0; i < 2; i++) {
		r = t_api(t, "GET", NULL, NULL, T_NOCONFORM, 503, INV "/devices");
		assert_string_equal(j_str(r, "error"), "fault injected by mender-sim");
		assert_string_equal(j_str(r, "request_id"), t_header(t, "X-MEN-RequestID"));
		assert_null(t_header(t, "Retry-After"));
		cJSON_Delete(r);
	}
	/* Another method on the same path is not affected. */
	cJSON_Delete(t_api(t, "PATCH", "[]", NULL, 0, 200, INV "/devices/%s/tags", D1));
	cJSON_Delete(t_api(t, "GET", NULL, NULL, 0, 200, INV "/devices"));
	r = t_sim(t, "GET", NULL, 200, "/_sim/faults");
	assert_int_equal((int)j_num(cJSON_GetArrayItem(r, 0), "hits"), 2);
	assert_int_equal((int)j_num(cJSON_GetArrayItem(r, 0), "count"), 0);
	cJSON_Delete(r);
}

static void test_fault_429_retry_after(void **state)
{
	struct tctx *t = *state;

	cJSON_Delete(t_sim(t, "POST",
			   "{\"path_prefix\": \"/api/management/v2/inventory\", \"status\": 429,"
			   " \"retry_after\": 7}",
			   201, "/_sim/faults"));
	cJSON_Delete(t_api(t, "POST", "{}", NULL, T_NOCONFORM, 429,
			   "/api/management/v2/inventory/filters/search"));
	assert_string_equal(t_header(t, "Retry-After"), "7");
	cJSON_Delete(t_api(t, "POST", "{}", NULL, 0, 200, "/api/management/v2/inventory/filters/search"));
	assert_null(t_header(t, "Retry-After"));
}

static void test_fault_drop(void **state)
{
	struct tctx *t = *state;
	struct http_resp r;
	struct http fresh;
	const char *auth[] = { "Authorization: Bearer x", NULL };
	cJSON *log;
	const cJSON *last;

	cJSON_Delete(t_sim(t, "DELETE", NULL, 204, "/_sim/requests"));
	cJSON_Delete(t_sim(t, "POST", "{\"path_prefix\": \"" DEP "\", \"drop\": true}", 201,
			   "/_sim/faults"));
	/* A fresh connection: on a reused one, curl itself would retry. */
	http_init(&fresh, t->sim.base);
	http_do(&fresh, "POST", DEP "/deployments", "{}", 2, auth, &r);
	http_cleanup(&fresh);
	assert_int_equal(r.code, CURLE_GOT_NOTHING);
	assert_int_equal(r.status, 0);
	http_resp_release(&r);
	cJSON_Delete(t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments"));
	log = t_sim(t, "GET", NULL, 200, "/_sim/requests");
	assert_int_equal(cJSON_GetArraySize(log), 2);
	last = cJSON_GetArrayItem(log, 0);
	assert_string_equal(j_str(last, "method"), "POST");
	assert_int_equal((int)j_num(last, "status"), 0);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(last, "dropped")));
	assert_int_equal((int)j_num(cJSON_GetArrayItem(log, 1), "status"), 200);
	cJSON_Delete(log);
}

static void test_fault_until_cleared(void **state)
{
	struct tctx *t = *state;
	int i;

	cJSON_Delete(t_sim(t, "POST", "{\"path_prefix\": \"/api/\", \"status\": 500, \"count\": -1}",
			   201, "/_sim/faults"));
	for (i = 0; i < 3; i++)
		cJSON_Delete(t_api(t, "GET", NULL, NULL, T_NOCONFORM, 500, INV "/devices"));
	/* Control endpoints are never faulted. */
	cJSON_Delete(t_sim(t, "GET", NULL, 200, "/_sim/state"));
	cJSON_Delete(t_sim(t, "DELETE", NULL, 204, "/_sim/faults"));
	cJSON_Delete(t_api(t, "GET", NULL, NULL, 0, 200, INV "/devices"));
}

struct delayed {
	const char *base;
	struct http_resp r;
};

static void *delayed_request(void *arg)
{
	struct delayed *d = arg;
	const char *auth[] = { "Authorization: Bearer x", NULL };
	struct http h;

	http_init(&h, d->base);
	http_do(&h, "GET", INV "/devices", NULL, 0, auth, &d->r);
	http_cleanup(&h);
	return NULL;
}

static void test_fault_delay_does_not_stall_others(void **state)
{
	struct tctx *t = *state;
	struct delayed d = { t->sim.base, { 0 } };
	pthread_t th;
	double start;

	cJSON_Delete(t_sim(t, "POST",
			   "{\"path_prefix\": \"" INV "/devices\", \"method\": \"GET\","
			   " \"delay_ms\": 1500}",
			   201, "/_sim/faults"));
	start = t_now();
	assert_int_equal(pthread_create(&th, NULL, delayed_request, &d), 0);
	usleep(200000);
	cJSON_Delete(t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments"));
	/* Answered while the delayed request still waits. */
	assert_true(t_now() - start < 1.2);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(d.r.code, CURLE_OK);
	assert_int_equal(d.r.status, 200);
	printf("delayed request took %.2f s\n", d.r.seconds);
	assert_true(d.r.seconds >= 1.4);
	http_resp_release(&d.r);
}

/* ---- request log, ids ---------------------------------------------------------------------- */

static void test_request_log_and_ids(void **state)
{
	struct tctx *t = *state;
	const char *rid[] = { "X-MEN-RequestID: fleetgate-42", NULL };
	const cJSON *e;
	cJSON *log, *r;

	cJSON_Delete(t_sim(t, "DELETE", NULL, 204, "/_sim/requests"));
	r = t_api(t, "GET", NULL, rid, T_NOAUTH, 401, INV "/devices?per_page=5&page=1");
	assert_string_equal(t_header(t, "X-MEN-RequestID"), "fleetgate-42");
	assert_string_equal(j_str(r, "request_id"), "fleetgate-42");
	cJSON_Delete(r);
	cJSON_Delete(t_api(t, "GET", NULL, NULL, 0, 200, INV "/devices/%s", D1));
	cJSON_Delete(t_api(t, "DELETE", NULL, NULL, 0, 204, DEP "/deployments/devices/%s", D1));
	cJSON_Delete(t_sim(t, "GET", NULL, 200, "/_sim/state"));

	log = t_sim(t, "GET", NULL, 200, "/_sim/requests");
	assert_int_equal(cJSON_GetArraySize(log), 3);
	e = cJSON_GetArrayItem(log, 0);
	assert_string_equal(j_str(e, "method"), "GET");
	assert_string_equal(j_str(e, "path"), INV "/devices");
	assert_string_equal(j_str(e, "query"), "per_page=5&page=1");
	assert_int_equal((int)j_num(e, "status"), 401);
	e = cJSON_GetArrayItem(log, 2);
	assert_string_equal(j_str(e, "method"), "DELETE");
	assert_string_equal(j_str(e, "path"), DEP "/deployments/devices/" D1);
	assert_int_equal((int)j_num(e, "status"), 204);
	cJSON_Delete(log);
	log = t_sim(t, "GET", NULL, 200, "/_sim/requests?method=GET&path_prefix=" INV "/devices/");
	assert_int_equal(cJSON_GetArraySize(log), 1);
	cJSON_Delete(log);
	cJSON_Delete(t_sim(t, "DELETE", NULL, 204, "/_sim/requests"));
	log = t_sim(t, "GET", NULL, 200, "/_sim/requests");
	assert_int_equal(cJSON_GetArraySize(log), 0);
	cJSON_Delete(log);
}

/* ---- control endpoints ------------------------------------------------------------------------ */

static void test_control_devices(void **state)
{
	struct tctx *t = *state;
	cJSON *r;

	r = t_sim(t, "POST",
		  "{\"devices\": [{\"id\": \"" D5 "\", \"device_type\": \"pi4\"},"
		  " {\"id\": \"" D1 "\", \"device_type\": \"pi3\", \"inventory\": {\"artifact_name\": \"v7\"}}]}",
		  200, "/_sim/devices");
	assert_int_equal((int)j_num(r, "devices"), 5);
	cJSON_Delete(r);
	assert_inventory(t, D1, "artifact_name", "v7");
	/* Replacing a device keeps its configuration record unless given. */
	cJSON_Delete(t_api(t, "GET", NULL, NULL, 0, 200, CONF "/%s", D1));

	r = t_sim(t, "PUT", "{\"behaviour\": \"offline\", \"status\": \"rejected\","
			    " \"inventory\": {\"serial\": \"S1\"}}",
		  200, "/_sim/devices/" D5);
	assert_string_equal(j_str(r, "behaviour"), "offline");
	assert_string_equal(j_str(r, "status"), "rejected");
	assert_string_equal(j_str(cJSON_GetObjectItem(r, "inventory"), "serial"), "S1");
	cJSON_Delete(r);
	cJSON_Delete(t_sim(t, "PUT", "{\"behaviour\": \"sleepy\"}", 400, "/_sim/devices/" D5));
	cJSON_Delete(t_sim(t, "PUT", "{\"behaviour\": \"success\"}", 404, "/_sim/devices/" GHOST));
	cJSON_Delete(t_sim(t, "POST", "{\"devices\": [{\"id\": \"x\", \"colour\": \"red\"}]}", 400,
			   "/_sim/devices"));
	cJSON_Delete(t_sim(t, "POST", "{\"artifacts\": [{\"name\": \"x\"}]}", 400, "/_sim/artifacts"));
	cJSON_Delete(t_sim(t, "POST", "{\"path_prefix\": \"/api\"}", 400, "/_sim/faults"));
	cJSON_Delete(t_sim(t, "POST", "{\"path_prefix\": \"api\", \"status\": 500}", 400, "/_sim/faults"));
	r = t_sim(t, "GET", NULL, 200, "/_sim/state");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "devices")), 5);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "artifacts")), 3);
	cJSON_Delete(r);
}

/* ---- command line ------------------------------------------------------------------------------ */

static void test_command_line(void **state)
{
	const char *nonloop[] = { "--listen", "0.0.0.0:0", "--seed", "/dev/null", NULL };
	const char *noseed[] = { "--listen", "127.0.0.1:0", NULL };
	const char *unpaired[] = { "--listen", "127.0.0.1:0", "--seed", "x", "--user", "u", NULL };
	char err[1024], dir[256], seed_path[300], port_path[300];
	char bad_seed[] = "{\"devices\": [{\"id\": \"a\", \"colour\": \"red\"}]}";
	const char *bad[] = { "--listen", "127.0.0.1:0", "--seed", seed_path, NULL };
	const char *pf[] = { "--port-file", port_path, NULL };
	struct simproc p;
	unsigned port = 0;
	FILE *f;

	(void)state;
	assert_int_equal(simtest_run(nonloop, err, sizeof(err)), 2);
	assert_non_null(strstr(err, "refusing a non-loopback address"));
	assert_int_equal(simtest_run(noseed, err, sizeof(err)), 2);
	assert_non_null(strstr(err, "--listen and --seed are required"));
	assert_int_equal(simtest_run(unpaired, err, sizeof(err)), 2);
	assert_non_null(strstr(err, "--user and --password go together"));

	assert_non_null(simtest_tempdir(dir, sizeof(dir)));
	snprintf(seed_path, sizeof(seed_path), "%s/seed.json", dir);
	snprintf(port_path, sizeof(port_path), "%s/port", dir);
	f = fopen(seed_path, "w");
	assert_non_null(f);
	fputs(bad_seed, f);
	fclose(f);
	assert_int_equal(simtest_run(bad, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "devices[0]: unknown key 'colour'"));

	assert_int_equal(simproc_start(&p, seed, pf, 30), 0);
	f = fopen(port_path, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%u", &port), 1);
	fclose(f);
	assert_int_equal(port, p.port);
	assert_int_equal(simproc_stop(&p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pagination_walk),
		cmocka_unit_test_setup_teardown(test_conflict_until_finished, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_artifact_until_uploaded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_device_needs_two_calls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oldest_first_assignment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_outcomes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offline_unknown_and_duplicate_devices, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_history_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_and_all_devices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_configuration_deployment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_503_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_429_retry_after, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_drop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_until_cleared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_delay_does_not_stall_others, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_request_log_and_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_devices, setup, teardown),
		cmocka_unit_test(test_command_line),
	};

	return cmocka_run_group_tests_name("mender-sim behaviour", tests, t_load_doc, t_free_doc);
}
