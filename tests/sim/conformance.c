/*
 * Conformance of mender-sim to Mender's management API: every path, method
 * and status the stand-in serves is driven here, and t_api judges every
 * exchange (status documented, body schema, documented headers,
 * X-MEN-RequestID) against the project's contract,
 * tests/sim/contract/mender-api.yaml, on every run. Each test also asserts
 * the exact outcome; test_coverage checks that every (method, path, status)
 * the stand-in serves was exercised.
 *
 * Where Mender's official OpenAPI documents are at hand (FLEETGATE_MENDER_API,
 * which tests/run-all sets), every exchange is also judged against them, and
 * the two test_official_* tests check that the contract agrees with them and
 * that they judged every exchange; without them those two are skipped, with
 * the reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "support/simtest.h"

#define D1 "11111111-1111-4111-8111-111111111111"
#define D2 "22222222-2222-4222-8222-222222222222"
#define D3 "33333333-3333-4333-8333-333333333333"
#define D4 "44444444-4444-4444-8444-444444444444"
#define UNKNOWN_UUID "99999999-9999-4999-8999-999999999999"

#define INV "/api/management/v1/inventory"
#define DEP "/api/management/v1/deployments"
#define DEP2 "/api/management/v2/deployments"
#define CONF "/api/management/v1/deviceconfig/configurations/device"
#define UA "/api/management/v1/useradm"

static const char seed[] =
	"{\"devices\": ["
	"{\"id\": \"" D1 "\", \"device_type\": \"pi3\", \"group\": \"lab\","
	" \"inventory\": {\"rootfs-image.version\": \"v1\", \"artifact_name\": \"v1\","
	" \"ip_addr\": \"10.0.0.1\"},"
	" \"tags\": {\"subscribed_branch\": \"canary\"},"
	" \"configured\": {\"kiosk_url\": \"https://a\"}, \"reported\": {\"kiosk_url\": \"https://b\"}},"
	"{\"id\": \"" D2 "\", \"device_type\": \"pi4\", \"inventory\": {\"artifact_name\": \"v1\","
	" \"serial\": 1234, \"ifaces\": [\"eth0\", \"wlan0\"]}},"
	"{\"id\": \"" D3 "\", \"device_type\": \"pi3\", \"status\": \"pending\","
	" \"inventory\": {\"artifact_name\": \"v0\"}},"
	"{\"id\": \"" D4 "\", \"device_type\": \"pi3\", \"behaviour\": \"offline\","
	" \"inventory\": {\"artifact_name\": \"v1\"}}"
	"],"
	"\"artifacts\": ["
	"{\"name\": \"v2\", \"device_types_compatible\": [\"pi3\", \"pi4\"], \"size\": 1000},"
	"{\"name\": \"v3\", \"device_types_compatible\": [\"pi3\"], \"description\": \"third\"},"
	"{\"name\": \"release-1.0\", \"device_types_compatible\": [\"pi4\"]},"
	"{\"name\": \"release-1.1\", \"device_types_compatible\": [\"pi4\"]}"
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

static void assert_error(const cJSON *body, struct tctx *t, const char *message)
{
	assert_non_null(body);
	assert_string_equal(j_str(body, "error"), message);
	assert_string_equal(j_str(body, "request_id"), t_header(t, "X-MEN-RequestID"));
}

/* The Link header values of the last answer, joined by '\n'. */
static char *links(struct tctx *t)
{
	struct tstr s = TSTR_INIT;
	size_t i;

	for (i = 0; i < t->last.nheaders; i++)
		if (!strcasecmp(t->last.names[i], "Link"))
			tstr_printf(&s, "%s\n", t->last.values[i]);
	if (!s.p)
		tstr_put(&s, "", 0);
	return s.p;
}

/* ---- useradm ------------------------------------------------------------------------------ */

static void test_auth_open_mode(void **state)
{
	struct tctx *t = *state;
	const char *basic[] = { "Authorization: Basic YWxpY2U6c2VjcmV0", NULL };
	const char *malformed[] = { "Authorization: Token abc", NULL };
	const char *cookie[] = { "Cookie: lang=en; JWT=anything", NULL };
	cJSON *b;
	char *jwt;

	b = t_api(t, "GET", NULL, NULL, T_NOAUTH, 401, INV "/devices");
	assert_error(b, t, "authorization not present in header");
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, malformed, T_NOAUTH, 401, INV "/devices");
	assert_error(b, t, "malformed Authorization header");
	cJSON_Delete(b);
	/* Open mode: any bearer token, or the JWT cookie. */
	cJSON_Delete(t_api(t, "GET", NULL, cookie, T_NOAUTH, 200, INV "/devices"));

	/* Login without --user accepts any Basic credentials. */
	b = t_api(t, "POST", NULL, basic, T_NOAUTH, 200, UA "/auth/login");
	assert_null(b);
	assert_string_equal(t_header(t, "Content-Type"), "application/jwt");
	jwt = strdup(t->last.body.p);
	assert_non_null(strchr(jwt, '.'));
	assert_non_null(strchr(strchr(jwt, '.') + 1, '.'));
	t->token = jwt;
	cJSON_Delete(t_api(t, "POST", NULL, NULL, 0, 202, UA "/auth/logout"));
	assert_int_equal(t->last.body.len, 0);
	b = t_api(t, "POST", NULL, NULL, T_NOAUTH, 401, UA "/auth/login");
	assert_error(b, t, "invalid or missing auth header");
	cJSON_Delete(b);
	t->token = "test-token";
	free(jwt);
}

static void test_login_with_user(void **state)
{
	const char *args[] = { "--user", "admin@example.com", "--password", "s3cret", NULL };
	/* admin@example.com:s3cret and admin@example.com:wrong */
	const char *right[] = { "Authorization: Basic YWRtaW5AZXhhbXBsZS5jb206czNjcmV0", NULL };
	const char *wrong[] = { "Authorization: Basic YWRtaW5AZXhhbXBsZS5jb206d3Jvbmc=", NULL };
	struct tctx *u = t_start(seed, args);
	cJSON *b;
	char *jwt;

	(void)state;
	assert_non_null(u);
	b = t_api(u, "POST", NULL, wrong, T_NOAUTH, 401, UA "/auth/login");
	assert_error(b, u, "unauthorized");
	cJSON_Delete(b);
	b = t_api(u, "POST", "[1]", right, T_NOAUTH | T_INVALID_BODY, 400, UA "/auth/login");
	assert_non_null(b);
	cJSON_Delete(b);
	b = t_api(u, "POST", "{\"no_expiry\": true}", right, T_NOAUTH, 200, UA "/auth/login");
	assert_null(b);
	jwt = strdup(u->last.body.p);
	/* Only tokens this server issued are accepted now. */
	b = t_api(u, "GET", NULL, NULL, 0, 401, INV "/devices");
	assert_error(b, u, "invalid jwt");
	cJSON_Delete(b);
	u->token = jwt;
	b = t_api(u, "GET", NULL, NULL, 0, 200, INV "/devices");
	assert_int_equal(cJSON_GetArraySize(b), 4);
	cJSON_Delete(b);
	cJSON_Delete(t_api(u, "POST", NULL, NULL, 0, 202, UA "/auth/logout"));
	cJSON_Delete(t_api(u, "GET", NULL, NULL, 0, 401, INV "/devices"));
	u->token = "test-token";
	free(jwt);
	assert_int_equal(t_stop(u), 0);
}

static void test_fixed_token(void **state)
{
	const char *args[] = { "--token", "fixed-secret", NULL };
	struct tctx *u = t_start(seed, args);
	cJSON *b;

	(void)state;
	assert_non_null(u);
	b = t_api(u, "GET", NULL, NULL, 0, 401, INV "/devices");
	assert_error(b, u, "invalid jwt");
	cJSON_Delete(b);
	u->token = "fixed-secret";
	cJSON_Delete(t_api(u, "GET", NULL, NULL, 0, 200, INV "/devices"));
	assert_int_equal(t_stop(u), 0);
}

static void test_personal_access_tokens(void **state)
{
	const char *args[] = { "--token", "fixed-secret", NULL };
	struct tctx *t = t_start(seed, args);
	char body[128], *pat, id[32];
	cJSON *b;
	int i;

	(void)state;
	assert_non_null(t);
	t->token = "fixed-secret";
	b = t_api(t, "GET", NULL, NULL, 0, 200, UA "/settings/tokens");
	assert_int_equal(cJSON_GetArraySize(b), 0);
	cJSON_Delete(b);
	b = t_api(t, "POST", "{\"name\": \"ci\", \"expires_in\": 3600}", NULL, 0, 200,
		  UA "/settings/tokens");
	assert_null(b);
	assert_string_equal(t_header(t, "Content-Type"), "application/jwt");
	pat = strdup(t->last.body.p);
	b = t_api(t, "GET", NULL, NULL, 0, 200, UA "/settings/tokens");
	assert_int_equal(cJSON_GetArraySize(b), 1);
	assert_string_equal(j_str(cJSON_GetArrayItem(b, 0), "name"), "ci");
	assert_non_null(j_str(cJSON_GetArrayItem(b, 0), "expiration_date"));
	assert_null(j_str(cJSON_GetArrayItem(b, 0), "last_used"));
	snprintf(id, sizeof(id), "%s", j_str(cJSON_GetArrayItem(b, 0), "id"));
	assert_int_equal(strlen(id), 24);
	cJSON_Delete(b);

	/* The personal access token works like a login token. */
	t->token = pat;
	cJSON_Delete(t_api(t, "GET", NULL, NULL, 0, 200, INV "/devices"));
	b = t_api(t, "GET", NULL, NULL, 0, 200, UA "/settings/tokens");
	assert_non_null(j_str(cJSON_GetArrayItem(b, 0), "last_used"));
	cJSON_Delete(b);
	t->token = "fixed-secret";

	b = t_api(t, "POST", "{\"name\": \"ci\", \"expires_in\": 60}", NULL, 0, 409,
		  UA "/settings/tokens");
	assert_error(b, t, "Personal Access Token with a given name already exists");
	cJSON_Delete(b);
	b = t_api(t, "POST", "{\"name\": \"long\", \"expires_in\": 31536001}", NULL, 0, 400,
		  UA "/settings/tokens");
	assert_error(b, t, "expires_in: must be no greater than 31536000.");
	cJSON_Delete(b);
	b = t_api(t, "POST", "{\"expires_in\": 60}", NULL, T_INVALID_BODY, 400,
		  UA "/settings/tokens");
	assert_error(b, t, "name: cannot be blank.");
	cJSON_Delete(b);
	for (i = 1; i < 10; i++) {
		snprintf(body, sizeof(body), "{\"name\": \"t%d\", \"expires_in\": 60}", i);
		cJSON_Delete(t_api(t, "POST", body, NULL, 0, 200, UA "/settings/tokens"));
	}
	b = t_api(t, "POST", "{\"name\": \"eleventh\", \"expires_in\": 60}", NULL, 0, 422,
		  UA "/settings/tokens");
	assert_error(b, t, "maximum number of personal acess tokens reached for this user");
	cJSON_Delete(b);

	cJSON_Delete(t_api(t, "DELETE", NULL, NULL, 0, 204, UA "/settings/tokens/%s", id));
	b = t_api(t, "GET", NULL, NULL, 0, 200, UA "/settings/tokens");
	assert_int_equal(cJSON_GetArraySize(b), 9);
	cJSON_Delete(b);
	/* The revoked token no longer authenticates. */
	t->token = pat;
	cJSON_Delete(t_api(t, "GET", NULL, NULL, 0, 401, INV "/devices"));
	t->token = "fixed-secret";
	free(pat);
	assert_int_equal(t_stop(t), 0);
}

/* ---- inventory --------------------------------------------------------------------------- */

static void test_inventory_list(void **state)
{
	struct tctx *t = *state;
	cJSON *b;
	char *l;

	b = t_api(t, "GET", NULL, NULL, 0, 200, INV "/devices");
	assert_int_equal(cJSON_GetArraySize(b), 4);
	assert_string_equal(t_header(t, "X-Total-Count"), "4");
	assert_string_equal(j_str(cJSON_GetArrayItem(b, 0), "id"), D1);
	cJSON_Delete(b);
	l = links(t);
	assert_string_equal(l, "<" INV "/devices?page=1&per_page=20>; rel=\"first\"\n"
			       "<" INV "/devices?page=1&per_page=20>; rel=\"last\"\n");
	free(l);

	b = t_api(t, "GET", NULL, NULL, 0, 200, INV "/devices?per_page=1&page=2&device_type=pi3");
	assert_int_equal(cJSON_GetArraySize(b), 1);
	assert_string_equal(j_str(cJSON_GetArrayItem(b, 0), "id"), D3);
	assert_string_equal(t_header(t, "X-Total-Count"), "3");
	cJSON_Delete(b);
	l = links(t);
	assert_string_equal(l,
			    "<" INV "/devices?device_type=pi3&page=1&per_page=1>; rel=\"first\"\n"
			    "<" INV "/devices?device_type=pi3&page=1&per_page=1>; rel=\"prev\"\n"
			    "<" INV "/devices?device_type=pi3&page=3&per_page=1>; rel=\"next\"\n"
			    "<" INV "/devices?device_type=pi3&page=3&per_page=1>; rel=\"last\"\n");
	free(l);

	b = t_api(t, "GET", NULL, NULL, 0, 200, INV "/devices?tags/subscribed_branch=canary");
	assert_int_equal(cJSON_GetArraySize(b), 1);
	assert_string_equal(j_str(cJSON_GetArrayItem(b, 0), "id"), D1);
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 200, INV "/devices?identity/status=eq:pending");
	assert_int_equal(cJSON_GetArraySize(b), 1);
	assert_string_equal(j_str(cJSON_GetArrayItem(b, 0), "id"), D3);
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 200, INV "/devices?artifact_name=v1&device_type=pi3");
	assert_int_equal(cJSON_GetArraySize(b), 2);
	cJSON_Delete(b);
	/* A number matches its decimal text; an array matches by element. */
	b = t_api(t, "GET", NULL, NULL, 0, 200, INV "/devices?serial=1234");
	assert_int_equal(cJSON_GetArraySize(b), 1);
	assert_int_equal((int)j_attr(cJSON_GetArrayItem(b, 0), "inventory", "serial")->valuedouble,
			 1234);
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 200, INV "/devices?inventory/ifaces=wlan0");
	assert_int_equal(cJSON_GetArraySize(b), 1);
	assert_string_equal(j_str(cJSON_GetArrayItem(b, 0), "id"), D2);
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 200, INV "/devices?nosuchscope/device_type=pi3");
	assert_int_equal(cJSON_GetArraySize(b), 0);
	assert_string_equal(t_header(t, "X-Total-Count"), "0");
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 200, INV "/devices?has_group=true");
	assert_int_equal(cJSON_GetArraySize(b), 1);
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 200, INV "/devices?has_group=false");
	assert_int_equal(cJSON_GetArraySize(b), 3);
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 200, INV "/devices?group=lab");
	assert_int_equal(cJSON_GetArraySize(b), 1);
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 200, INV "/devices?sort=artifact_name:asc,device_type:desc");
	assert_string_equal(j_str(cJSON_GetArrayItem(b, 0), "id"), D3); /* v0 */
	assert_string_equal(j_str(cJSON_GetArrayItem(b, 1), "id"), D2); /* v1, pi4 */
	assert_string_equal(j_str(cJSON_GetArrayItem(b, 2), "id"), D1); /* v1, pi3, first */
	assert_string_equal(j_str(cJSON_GetArrayItem(b, 3), "id"), D4);
	cJSON_Delete(b);

	b = t_api(t, "GET", NULL, NULL, 0, 400, INV "/devices?per_page=501");
	assert_error(b, t, "parameter \"per_page\" above limit (max: 500)");
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 400, INV "/devices?page=0");
	assert_error(b, t, "invalid page query: value must be a non-zero positive integer");
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 400, INV "/devices?has_group=maybe");
	assert_error(b, t, "invalid has_group query: \"maybe\"");
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 400, INV "/devices?sort=device_type:up");
	assert_error(b, t, "invalid sort order");
	cJSON_Delete(b);
}

static void test_inventory_device_and_tags(void **state)
{
	struct tctx *t = *state;
	char etag[64], hdr[128], big[1200], body[2048];
	const char *if_match[] = { hdr, NULL };
	struct tstr many = TSTR_INIT;
	const cJSON *v;
	cJSON *b;
	int i;

	b = t_api(t, "GET", NULL, NULL, 0, 200, INV "/devices/%s", D1);
	assert_string_equal(j_str(b, "id"), D1);
	assert_string_equal(j_attr(b, "identity", "status")->valuestring, "accepted");
	assert_string_equal(j_attr(b, "inventory", "device_type")->valuestring, "pi3");
	assert_string_equal(j_attr(b, "inventory", "ip_addr")->valuestring, "10.0.0.1");
	assert_string_equal(j_attr(b, "system", "group")->valuestring, "lab");
	assert_non_null(j_attr(b, "system", "created_ts"));
	assert_string_equal(j_attr(b, "tags", "subscribed_branch")->valuestring, "canary");
	cJSON_Delete(b);
	assert_non_null(t_header(t, "ETag"));
	snprintf(etag, sizeof(etag), "%s", t_header(t, "ETag"));

	b = t_api(t, "GET", NULL, NULL, 0, 404, INV "/devices/%s", UNKNOWN_UUID);
	assert_error(b, t, "Device not found");
	cJSON_Delete(b);

	snprintf(hdr, sizeof(hdr), "If-Match: %s", etag);
	cJSON_Delete(t_api(t, "PATCH", "[{\"name\": \"env\", \"value\": \"test\"}]", if_match, 0,
			   200, INV "/devices/%s/tags", D1));
	assert_int_equal(t->last.body.len, 0);
	/* The ETag changed: the old one is refused. */
	b = t_api(t, "PATCH", "[{\"name\": \"env\", \"value\": \"prod\"}]", if_match, 0, 412,
		  INV "/devices/%s/tags", D1);
	assert_error(b, t, "ETag does not match");
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 200, INV "/devices/%s", D1);
	assert_string_not_equal(t_header(t, "ETag"), etag);
	assert_string_equal(j_attr(b, "tags", "env")->valuestring, "test");
	assert_string_equal(j_attr(b, "tags", "subscribed_branch")->valuestring, "canary");
	cJSON_Delete(b);

	cJSON_Delete(t_api(t, "PUT",
			   "[{\"name\": \"only\", \"value\": \"x\", \"description\": \"d\"}]", NULL,
			   0, 200, INV "/devices/%s/tags", D1));
	b = t_api(t, "GET", NULL, NULL, 0, 200, INV "/devices/%s", D1);
	assert_null(j_attr(b, "tags", "env"));
	assert_null(j_attr(b, "tags", "subscribed_branch"));
	v = j_attr(b, "tags", "only");
	assert_non_null(v);
	assert_string_equal(v->valuestring, "x");
	cJSON_Delete(b);

	/* 20 tags per device. */
	tstr_put(&many, "[", 1);
	for (i = 0; i < 21; i++)
		tstr_printf(&many, "%s{\"name\": \"t%d\", \"value\": \"v\"}", i ? "," : "", i);
	tstr_put(&many, "]", 1);
	b = t_api(t, "PUT", many.p, NULL, 0, 400, INV "/devices/%s/tags", D2);
	assert_error(b, t, "the number of attributes in the scope is above the limit");
	cJSON_Delete(b);
	tstr_release(&many);

	b = t_api(t, "PATCH", "{\"name\": \"env\"}", NULL, T_INVALID_BODY, 400,
		  INV "/devices/%s/tags", D1);
	assert_error(b, t, "failed to decode request body: expected an array of tags");
	cJSON_Delete(b);
	memset(big, 'n', 1025);
	big[1025] = '\0';
	snprintf(body, sizeof(body), "[{\"name\": \"%s\", \"value\": \"v\"}]", big);
	b = t_api(t, "PATCH", body, NULL, 0, 400, INV "/devices/%s/tags", D1);
	assert_error(b, t, "name: the length must be no more than 1024.");
	cJSON_Delete(b);
	/* An unknown device: a silent no-op, as the server's tags handler does. */
	cJSON_Delete(t_api(t, "PATCH", "[{\"name\": \"env\", \"value\": \"test\"}]", NULL, 0, 200,
			   INV "/devices/%s/tags", UNKNOWN_UUID));
	cJSON_Delete(t_api(t, "GET", NULL, NULL, 0, 404, INV "/devices/%s", UNKNOWN_UUID));
}

static void test_inventory_search(void **state)
{
	struct tctx *t = *state;
	const cJSON *d;
	cJSON *b;

	b = t_api(t, "POST", NULL, NULL, 0, 200, "/api/management/v2/inventory/filters/search");
	assert_int_equal(cJSON_GetArraySize(b), 4);
	assert_string_equal(t_header(t, "X-Total-Count"), "4");
	assert_null(t_header(t, "Link"));
	cJSON_Delete(b);

	b = t_api(t, "POST",
		  "{\"filters\": [{\"scope\": \"inventory\", \"attribute\": \"device_type\","
		  " \"type\": \"$eq\", \"value\": \"pi3\"}, {\"scope\": \"identity\","
		  " \"attribute\": \"status\", \"type\": \"$in\", \"value\": [\"accepted\"]}],"
		  " \"attributes\": [{\"scope\": \"inventory\", \"attribute\": \"artifact_name\"}],"
		  " \"sort\": [{\"scope\": \"inventory\", \"attribute\": \"artifact_name\","
		  " \"order\": \"desc\"}], \"page\": 1, \"per_page\": 10}",
		  NULL, 0, 200, "/api/management/v2/inventory/filters/search");
	assert_int_equal(cJSON_GetArraySize(b), 2);
	assert_string_equal(t_header(t, "X-Total-Count"), "2");
	d = cJSON_GetArrayItem(b, 0);
	assert_string_equal(j_str(d, "id"), D1);
	/* Projection: only the attribute asked for. */
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d, "attributes")), 1);
	assert_string_equal(j_attr(d, "inventory", "artifact_name")->valuestring, "v1");
	cJSON_Delete(b);

	b = t_api(t, "POST",
		  "{\"filters\": [{\"scope\": \"identity\", \"attribute\": \"status\","
		  " \"type\": \"$nin\", \"value\": [\"accepted\"]}]}",
		  NULL, 0, 200, "/api/management/v2/inventory/filters/search");
	assert_int_equal(cJSON_GetArraySize(b), 1);
	assert_string_equal(j_str(cJSON_GetArrayItem(b, 0), "id"), D3);
	cJSON_Delete(b);

	b = t_api(t, "POST",
		  "{\"filters\": [{\"scope\": \"inventory\", \"attribute\": \"serial\","
		  " \"type\": \"$in\", \"value\": [1234, 5678]}]}",
		  NULL, 0, 200, "/api/management/v2/inventory/filters/search");
	assert_int_equal(cJSON_GetArraySize(b), 1);
	assert_string_equal(j_str(cJSON_GetArrayItem(b, 0), "id"), D2);
	cJSON_Delete(b);
	b = t_api(t, "POST", "{\"text\": \"10.0.0\"}", NULL, 0, 200,
		  "/api/management/v2/inventory/filters/search");
	assert_int_equal(cJSON_GetArraySize(b), 1);
	assert_string_equal(j_str(cJSON_GetArrayItem(b, 0), "id"), D1);
	cJSON_Delete(b);

	b = t_api(t, "POST",
		  "{\"device_ids\": [\"" D2 "\", \"" D4 "\"], \"page\": 2, \"per_page\": 1}",
		  NULL, 0, 200, "/api/management/v2/inventory/filters/search");
	assert_int_equal(cJSON_GetArraySize(b), 1);
	assert_string_equal(j_str(cJSON_GetArrayItem(b, 0), "id"), D4);
	assert_string_equal(t_header(t, "X-Total-Count"), "2");
	cJSON_Delete(b);

	b = t_api(t, "POST",
		  "{\"filters\": [{\"scope\": \"inventory\", \"attribute\": \"device_type\","
		  " \"type\": \"$regex\", \"value\": \"pi.*\"}]}",
		  NULL, T_INVALID_BODY, 400, "/api/management/v2/inventory/filters/search");
	assert_non_null(j_str(b, "error"));
	cJSON_Delete(b);
	b = t_api(t, "POST",
		  "{\"filters\": [{\"scope\": \"nowhere\", \"attribute\": \"device_type\","
		  " \"type\": \"$eq\", \"value\": \"pi3\"}]}",
		  NULL, T_INVALID_BODY, 400, "/api/management/v2/inventory/filters/search");
	cJSON_Delete(b);
	b = t_api(t, "POST", "{\"page\": 0}", NULL, T_INVALID_BODY, 400,
		  "/api/management/v2/inventory/filters/search");
	cJSON_Delete(b);
}

/* ---- deployments ---------------------------------------------------------------------------- */

static char *create_deployment(struct tctx *t, const char *body)
{
	cJSON *b = t_api(t, "POST", body, NULL, 0, 201, DEP "/deployments");

	assert_null(b);
	assert_int_equal(t->last.body.len, 0);
	assert_non_null(strstr(t_header(t, "Location"), DEP "/deployments/"));
	return strdup(t_location_id(t));
}

static void test_deployments_create(void **state)
{
	struct tctx *t = *state;
	char *id, *group_id, *all_id;
	const char *body = "{\"name\": \"rollout\", \"artifact_name\": \"v2\","
			   " \"devices\": [\"" D1 "\", \"" D2 "\"]}";
	cJSON *b;

	id = create_deployment(t, body);
	b = t_api(t, "POST", body, NULL, 0, 409, DEP "/deployments");
	assert_error(b, t, "Invalid deployment definition: there is already an active "
			   "deployment with the same parameters");
	cJSON_Delete(b);
	b = t_api(t, "POST", "{\"name\": \"x\", \"artifact_name\": \"nope\", \"devices\": [\"" D1 "\"]}",
		  NULL, 0, 422, DEP "/deployments");
	assert_error(b, t, "No artifact for the deployment");
	cJSON_Delete(b);
	b = t_api(t, "POST", "{\"artifact_name\": \"v2\", \"devices\": [\"" D1 "\"]}", NULL,
		  T_INVALID_BODY, 400, DEP "/deployments");
	assert_error(b, t, "Validating request body: name: cannot be blank.");
	cJSON_Delete(b);
	b = t_api(t, "POST", "{\"name\": \"x\", \"artifact_name\": \"v2\"}", NULL, 0, 400,
		  DEP "/deployments");
	assert_error(b, t, "Validating request body: Invalid deployments definition: provide "
			   "list of devices or set all_devices flag");
	cJSON_Delete(b);
	b = t_api(t, "POST",
		  "{\"name\": \"x\", \"artifact_name\": \"v2\", \"all_devices\": true,"
		  " \"devices\": [\"" D1 "\"]}",
		  NULL, 0, 400, DEP "/deployments");
	assert_error(b, t, "Validating request body: Invalid deployments definition: list of "
			   "devices provided togheter with all_devices flag");
	cJSON_Delete(b);
	b = t_api(t, "POST", "{\"name\": 5}", NULL, T_INVALID_BODY, 400, DEP "/deployments");
	assert_non_null(b);
	cJSON_Delete(b);

	group_id = NULL;
	cJSON_Delete(t_api(t, "POST", "{\"name\": \"lab\", \"artifact_name\": \"v2\"}", NULL, 0, 201,
			   DEP "/deployments/group/lab"));
	group_id = strdup(t_location_id(t));
	b = t_api(t, "POST", "{\"name\": \"lab\", \"artifact_name\": \"v2\"}", NULL, 0, 400,
		  DEP "/deployments/group/empty");
	assert_error(b, t, "No devices for the deployment");
	cJSON_Delete(b);

	all_id = create_deployment(t, "{\"name\": \"all\", \"artifact_name\": \"v3\","
				      " \"all_devices\": true, \"force_installation\": true}");

	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/%s", id);
	assert_string_equal(j_str(b, "id"), id);
	assert_string_equal(j_str(b, "name"), "rollout");
	assert_string_equal(j_str(b, "artifact_name"), "v2");
	assert_string_equal(j_str(b, "status"), "pending");
	assert_string_equal(j_str(b, "type"), "software");
	assert_int_equal((int)j_num(b, "device_count"), 0);
	assert_int_equal((int)j_num(b, "max_devices"), 2);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(b, "artifacts")), 1);
	assert_null(cJSON_GetObjectItem(b, "finished"));
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/%s", group_id);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(b, "groups"), 0)->valuestring,
			    "lab");
	assert_int_equal((int)j_num(b, "max_devices"), 1);
	cJSON_Delete(b);
	/* all_devices: the accepted devices (D3 is pending). */
	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/%s", all_id);
	assert_int_equal((int)j_num(b, "max_devices"), 3);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(b, "force_installation")));
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/%s/device_list", all_id);
	assert_int_equal(cJSON_GetArraySize(b), 3);
	assert_string_equal(cJSON_GetArrayItem(b, 0)->valuestring, D1);
	assert_string_equal(cJSON_GetArrayItem(b, 1)->valuestring, D2);
	assert_string_equal(cJSON_GetArrayItem(b, 2)->valuestring, D4);
	cJSON_Delete(b);

	b = t_api(t, "GET", NULL, NULL, 0, 400, DEP "/deployments/not-a-uuid");
	assert_error(b, t, "ID is not a valid UUID");
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 404, DEP "/deployments/%s", UNKNOWN_UUID);
	assert_error(b, t, "Resource not found");
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 404, DEP "/deployments/%s/device_list", UNKNOWN_UUID);
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 400, DEP "/deployments/nope/device_list");
	cJSON_Delete(b);
	free(id);
	free(group_id);
	free(all_id);
}

static void test_deployments_lists(void **state)
{
	struct tctx *t = *state;
	char *a, *b2, *c, *l;
	cJSON *b;

	a = create_deployment(t, "{\"name\": \"a\", \"artifact_name\": \"v2\", \"devices\": [\"" D1 "\"]}");
	b2 = create_deployment(t, "{\"name\": \"b\", \"artifact_name\": \"v2\", \"devices\": [\"" D2 "\"]}");
	c = create_deployment(t, "{\"name\": \"c\", \"artifact_name\": \"v3\", \"devices\": [\"" UNKNOWN_UUID "\"]}");
	cJSON_Delete(t_sim(t, "POST", NULL, 200, "/_sim/step"));

	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments");
	assert_int_equal(cJSON_GetArraySize(b), 3);
	assert_string_equal(t_header(t, "X-Total-Count"), "3");
	/* Newest first by default. */
	assert_string_equal(j_str(cJSON_GetArrayItem(b, 0), "id"), c);
	assert_string_equal(j_str(cJSON_GetArrayItem(b, 2), "id"), a);
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments?sort=asc&per_page=2&page=1");
	assert_int_equal(cJSON_GetArraySize(b), 2);
	assert_string_equal(j_str(cJSON_GetArrayItem(b, 0), "id"), a);
	cJSON_Delete(b);
	l = links(t);
	assert_string_equal(l, "<" DEP "/deployments?page=1&per_page=2&sort=asc>; rel=\"first\"\n"
			       "<" DEP "/deployments?page=2&per_page=2&sort=asc>; rel=\"next\"\n"
			       "<" DEP "/deployments?page=2&per_page=2&sort=asc>; rel=\"last\"\n");
	free(l);
	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments?status=finished");
	assert_int_equal(cJSON_GetArraySize(b), 2);
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments?status=pending");
	assert_int_equal(cJSON_GetArraySize(b), 1);
	assert_string_equal(j_str(cJSON_GetArrayItem(b, 0), "id"), c);
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments?search=v3&type=software");
	assert_int_equal(cJSON_GetArraySize(b), 1);
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments?type=configuration");
	assert_int_equal(cJSON_GetArraySize(b), 0);
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments?created_before=1000");
	assert_int_equal(cJSON_GetArraySize(b), 0);
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments?created_after=1000");
	assert_int_equal(cJSON_GetArraySize(b), 3);
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 400, DEP "/deployments?status=running");
	assert_error(b, t, "unknown status running");
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 400, DEP "/deployments?per_page=501");
	assert_error(b, t, "parameter \"per_page\" above limit (max: 500)");
	cJSON_Delete(b);

	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP2 "/deployments?name=a&name=c");
	assert_int_equal(cJSON_GetArraySize(b), 2);
	assert_string_equal(t_header(t, "X-Total-Count"), "2");
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP2 "/deployments?id=%s&status=finished", b2);
	assert_int_equal(cJSON_GetArraySize(b), 1);
	assert_string_equal(j_str(cJSON_GetArrayItem(b, 0), "name"), "b");
	assert_string_equal(j_str(cJSON_GetArrayItem(b, 0), "status"), "finished");
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 400, DEP2 "/deployments?sort=sideways");
	assert_error(b, t, "invalid form value: must be one of \"asc\" or \"desc\"");
	cJSON_Delete(b);
	free(a);
	free(b2);
	free(c);
}

static void test_deployment_statistics_and_devices(void **state)
{
	struct tctx *t = *state;
	char *id, body[256];
	const cJSON *dev;
	cJSON *b;

	id = create_deployment(t, "{\"name\": \"s\", \"artifact_name\": \"v3\","
				  " \"devices\": [\"" D1 "\", \"" D2 "\", \"" D4 "\"]}");
	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/%s/devices/list", id);
	assert_int_equal(cJSON_GetArraySize(b), 0);
	assert_string_equal(t_header(t, "X-Total-Count"), "0");
	cJSON_Delete(b);
	cJSON_Delete(t_sim(t, "POST", NULL, 200, "/_sim/step"));

	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/%s/statistics", id);
	assert_int_equal((int)j_num(b, "success"), 1);	  /* D1 */
	assert_int_equal((int)j_num(b, "noartifact"), 1); /* D2 is a pi4 */
	/* D4 is offline: no record, still pending as 4.1 counts it from the start */
	assert_int_equal((int)j_num(b, "pending"), 1);
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 404, DEP "/deployments/%s/statistics", UNKNOWN_UUID);
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 400, DEP "/deployments/bad/statistics");
	cJSON_Delete(b);

	snprintf(body, sizeof(body), "{\"deployment_ids\": [\"%s\"]}", id);
	b = t_api(t, "POST", body, NULL, 0, 200, DEP "/deployments/statistics/list");
	assert_int_equal(cJSON_GetArraySize(b), 1);
	assert_string_equal(j_str(cJSON_GetArrayItem(b, 0), "id"), id);
	assert_int_equal((int)j_num(cJSON_GetObjectItem(cJSON_GetArrayItem(b, 0), "stats"),
				    "success"),
			 1);
	cJSON_Delete(b);
	b = t_api(t, "POST", "{\"deployment_ids\": []}", NULL, 0, 200,
		  DEP "/deployments/statistics/list");
	assert_true(cJSON_IsObject(b));
	assert_int_equal(cJSON_GetArraySize(b), 0);
	cJSON_Delete(b);
	b = t_api(t, "POST", "{\"deployment_ids\": [\"nope\"]}", NULL, 0, 400,
		  DEP "/deployments/statistics/list");
	cJSON_Delete(b);
	b = t_api(t, "POST", "{\"deployment_ids\": [\"" UNKNOWN_UUID "\"]}", NULL, 0, 404,
		  DEP "/deployments/statistics/list");
	assert_error(b, t, "Deployment not found");
	cJSON_Delete(b);

	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/%s/devices/list?status=finished", id);
	assert_int_equal(cJSON_GetArraySize(b), 2);
	dev = cJSON_GetArrayItem(b, 0);
	assert_string_equal(j_str(dev, "id"), D1);
	assert_string_equal(j_str(dev, "status"), "success");
	assert_string_equal(j_str(dev, "device_type"), "pi3");
	assert_string_equal(j_str(cJSON_GetObjectItem(cJSON_GetObjectItem(dev, "image"), "meta_artifact"), "name"),
			    "v3");
	assert_string_equal(j_str(cJSON_GetArrayItem(b, 1), "status"), "noartifact");
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 400, DEP "/deployments/%s/devices/list?status=bogus", id);
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 404, DEP "/deployments/%s/devices/list", UNKNOWN_UUID);
	assert_error(b, t, "Deployment not found");
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 400, DEP "/deployments/x/devices/list");
	cJSON_Delete(b);
	free(id);
}

static void test_deployment_abort(void **state)
{
	struct tctx *t = *state;
	char *id;
	cJSON *b;

	id = create_deployment(t, "{\"name\": \"ab\", \"artifact_name\": \"v2\","
				  " \"devices\": [\"" D4 "\"]}");
	cJSON_Delete(t_api(t, "PUT", "{\"status\": \"aborted\"}", NULL, 0, 204,
			   DEP "/deployments/%s/status", id));
	assert_int_equal(t->last.body.len, 0);
	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/%s", id);
	assert_string_equal(j_str(b, "status"), "finished");
	assert_non_null(j_str(b, "finished"));
	cJSON_Delete(b);
	b = t_api(t, "PUT", "{\"status\": \"aborted\"}", NULL, 0, 422, DEP "/deployments/%s/status",
		  id);
	assert_error(b, t, "Deployment already finished");
	cJSON_Delete(b);
	b = t_api(t, "PUT", "{\"status\": \"aborted\"}", NULL, 0, 422, DEP "/deployments/%s/status",
		  UNKNOWN_UUID);
	assert_error(b, t, "Deployment already finished");
	cJSON_Delete(b);
	b = t_api(t, "PUT", "{\"status\": \"aborted\"}", NULL, 0, 400, DEP "/deployments/x/status");
	assert_error(b, t, "ID is not a valid UUID");
	cJSON_Delete(b);
	b = t_api(t, "PUT", "{\"status\": \"paused\"}", NULL, T_INVALID_BODY, 400,
		  DEP "/deployments/%s/status", id);
	assert_error(b, t, "Unexpected deployment status");
	cJSON_Delete(b);
	free(id);
}

static void test_device_deployments(void **state)
{
	struct tctx *t = *state;
	char *id;
	const cJSON *e;
	cJSON *b;

	id = create_deployment(t, "{\"name\": \"h\", \"artifact_name\": \"v3\","
				  " \"devices\": [\"" D1 "\", \"" UNKNOWN_UUID "\"]}");
	cJSON_Delete(t_sim(t, "POST", NULL, 200, "/_sim/step"));
	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/devices/%s", D1);
	assert_int_equal(cJSON_GetArraySize(b), 1);
	assert_string_equal(t_header(t, "X-Total-Count"), "1");
	e = cJSON_GetArrayItem(b, 0);
	assert_string_equal(j_str(cJSON_GetObjectItem(e, "deployment"), "id"), id);
	assert_string_equal(j_str(cJSON_GetObjectItem(e, "device"), "status"), "success");
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/devices/%s?status=active", D1);
	assert_int_equal(cJSON_GetArraySize(b), 0);
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 400, DEP "/deployments/devices/%s?per_page=21", D1);
	assert_error(b, t, "invalid per_page query: value must be a non-zero positive integer");
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 400, DEP "/deployments/devices/%s?per_page=501", D1);
	assert_error(b, t, "parameter \"per_page\" above limit (max: 500)");
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/devices/%s", UNKNOWN_UUID);
	assert_int_equal(cJSON_GetArraySize(b), 0);
	cJSON_Delete(b);

	cJSON_Delete(t_api(t, "DELETE", NULL, NULL, 0, 204, DEP "/deployments/devices/%s",
			   UNKNOWN_UUID));
	/* The unknown device got an aborted record, which 4.1 does not count:
	 * the deployment stays in progress (versions.c: 4.0 finishes it). */
	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/%s", id);
	assert_string_equal(j_str(b, "status"), "inprogress");
	cJSON_Delete(b);
	cJSON_Delete(t_api(t, "DELETE", NULL, NULL, 0, 204, DEP "/deployments/devices/%s/history",
			   D1));
	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/devices/%s", D1);
	assert_non_null(j_str(cJSON_GetObjectItem(cJSON_GetArrayItem(b, 0), "device"), "deleted"));
	cJSON_Delete(b);
	free(id);
}

static void test_artifacts(void **state)
{
	struct tctx *t = *state;
	char *l;
	cJSON *b;

	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/artifacts");
	assert_int_equal(cJSON_GetArraySize(b), 4);
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/artifacts?name=v3");
	assert_int_equal(cJSON_GetArraySize(b), 1);
	assert_string_equal(j_str(cJSON_GetArrayItem(b, 0), "description"), "third");
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/artifacts?device_type=pi4");
	assert_int_equal(cJSON_GetArraySize(b), 3);
	cJSON_Delete(b);

	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP2 "/artifacts");
	assert_int_equal(cJSON_GetArraySize(b), 4);
	/* Sorted by name. */
	assert_string_equal(j_str(cJSON_GetArrayItem(b, 0), "name"), "release-1.0");
	assert_string_equal(j_str(cJSON_GetArrayItem(b, 3), "name"), "v3");
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP2 "/artifacts?name=v2&name=v3");
	assert_int_equal(cJSON_GetArraySize(b), 2);
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP2 "/artifacts?name=release-*&per_page=1");
	assert_int_equal(cJSON_GetArraySize(b), 1);
	assert_string_equal(j_str(cJSON_GetArrayItem(b, 0), "name"), "release-1.0");
	cJSON_Delete(b);
	l = links(t);
	assert_string_equal(l, "<" DEP2 "/artifacts?name=release-%2A&page=1&per_page=1>; rel=\"first\"\n"
			       "<" DEP2 "/artifacts?name=release-%2A&page=2&per_page=1>; rel=\"next\"\n");
	free(l);
	/* Paging values out of range fall back to the defaults. */
	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP2 "/artifacts?per_page=1000&page=0");
	assert_int_equal(cJSON_GetArraySize(b), 4);
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP2 "/artifacts?device_type=pi3&description=third");
	assert_int_equal(cJSON_GetArraySize(b), 1);
	assert_string_equal(j_str(cJSON_GetArrayItem(b, 0), "name"), "v3");
	cJSON_Delete(b);
}

/* ---- deviceconfig -------------------------------------------------------------------------- */

static void test_deviceconfig(void **state)
{
	struct tctx *t = *state;
	struct tstr many = TSTR_INIT;
	char id[40];
	cJSON *b;
	int i;

	b = t_api(t, "GET", NULL, NULL, 0, 200, CONF "/%s", D1);
	assert_string_equal(j_str(b, "id"), D1);
	assert_string_equal(j_str(cJSON_GetObjectItem(b, "configured"), "kiosk_url"), "https://a");
	assert_string_equal(j_str(cJSON_GetObjectItem(b, "reported"), "kiosk_url"), "https://b");
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 404, CONF "/%s", D2);
	assert_error(b, t, "device does not exist");
	cJSON_Delete(b);
	b = t_api(t, "POST", "{\"retries\": 0}", NULL, 0, 404, CONF "/%s/deploy", D2);
	cJSON_Delete(b);

	cJSON_Delete(t_api(t, "PUT", "{\"kiosk_url\": \"https://c\", \"mode\": \"on\"}", NULL, 0, 204,
			   CONF "/%s", D2));
	assert_int_equal(t->last.body.len, 0);
	b = t_api(t, "GET", NULL, NULL, 0, 200, CONF "/%s", D2);
	assert_string_equal(j_str(cJSON_GetObjectItem(b, "configured"), "mode"), "on");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(b, "reported")), 0);
	cJSON_Delete(b);
	b = t_api(t, "PUT", "{\"n\": 1}", NULL, T_INVALID_BODY, 400, CONF "/%s", D2);
	assert_error(b, t, "invalid request body: value: invalid type: number");
	cJSON_Delete(b);
	tstr_put(&many, "{", 1);
	for (i = 0; i < 101; i++)
		tstr_printf(&many, "%s\"k%d\": \"v\"", i ? "," : "", i);
	tstr_put(&many, "}", 1);
	b = t_api(t, "PUT", many.p, NULL, 0, 400, CONF "/%s", D2);
	assert_non_null(b);
	cJSON_Delete(b);
	tstr_release(&many);

	b = t_api(t, "POST", "{\"retries\": 0}", NULL, 0, 200, CONF "/%s/deploy", D2);
	snprintf(id, sizeof(id), "%s", j_str(b, "deployment_id"));
	cJSON_Delete(b);
	b = t_api(t, "POST", "{\"retries\": \"x\"}", NULL, T_INVALID_BODY, 400, CONF "/%s/deploy", D2);
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 200, DEP "/deployments/%s", id);
	assert_string_equal(j_str(b, "type"), "configuration");
	assert_true(!strncmp(j_str(b, "name"), "configuration-", 14));
	assert_string_equal(j_str(b, "name") + 14, id);
	cJSON_Delete(b);
	b = t_api(t, "GET", NULL, NULL, 0, 200, CONF "/%s", D2);
	assert_string_equal(j_str(b, "deployment_id"), id);
	cJSON_Delete(b);
}

/* ---- limits and routing ---------------------------------------------------------------------- */

static void test_body_limit(void **state)
{
	struct tctx *t = *state;
	size_t n = (1u << 20) + 10;
	char *big = malloc(n + 1);
	cJSON *b;

	assert_non_null(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = '\0';
	b = t_api(t, "POST", big, NULL, T_INVALID_BODY, 413, DEP "/deployments");
	assert_non_null(j_str(b, "error"));
	cJSON_Delete(b);
	free(big);
	/* Just under the limit is read and judged. */
	big = malloc((1u << 20) + 1);
	assert_non_null(big);
	memset(big, ' ', 1u << 20);
	big[0] = '[';
	big[(1u << 20) - 1] = ']';
	big[1u << 20] = '\0';
	b = t_api(t, "PUT", big, NULL, 0, 200, INV "/devices/%s/tags", D1);
	cJSON_Delete(b);
	free(big);

	/* No service owns the path: the gateway's answer. */
	b = t_api(t, "GET", NULL, NULL, T_NOCONFORM, 404, "/api/management/v1/nothing");
	assert_null(b);
	assert_string_equal(t_body(t), "404 page not found\n");
	assert_string_equal(t_header(t, "Content-Type"), "text/plain; charset=utf-8");
	b = t_api(t, "GET", NULL, NULL, T_NOCONFORM, 404, INV "/nothing");
	assert_error(b, t, "not found");
	cJSON_Delete(b);
	b = t_api(t, "DELETE", NULL, NULL, T_NOCONFORM, 405, INV "/devices");
	assert_error(b, t, "method not allowed");
	cJSON_Delete(b);
}

/* ---- coverage ------------------------------------------------------------------------------------ */

struct expected {
	const char *method;
	const char *tmpl;
	long statuses[6];
};

static const struct expected expected[] = {
	{ "POST", UA "/auth/login", { 200, 400, 401 } },
	{ "POST", UA "/auth/logout", { 202 } },
	{ "GET", UA "/settings/tokens", { 200 } },
	{ "POST", UA "/settings/tokens", { 200, 400, 409, 422 } },
	{ "DELETE", UA "/settings/tokens/{id}", { 204 } },
	{ "GET", INV "/devices", { 200, 400, 401 } },
	{ "GET", INV "/devices/{id}", { 200, 404 } },
	{ "PATCH", INV "/devices/{id}/tags", { 200, 400, 412 } },
	{ "PUT", INV "/devices/{id}/tags", { 200, 400 } },
	{ "POST", "/api/management/v2/inventory/filters/search", { 200, 400 } },
	{ "POST", DEP "/deployments", { 201, 400, 409, 413, 422 } },
	{ "POST", DEP "/deployments/group/{name}", { 201, 400 } },
	{ "GET", DEP "/deployments", { 200, 400 } },
	{ "GET", DEP2 "/deployments", { 200, 400 } },
	{ "GET", DEP "/deployments/{id}", { 200, 400, 404 } },
	{ "GET", DEP "/deployments/{deployment_id}/statistics", { 200, 400, 404 } },
	{ "POST", DEP "/deployments/statistics/list", { 200, 400, 404 } },
	{ "GET", DEP "/deployments/{deployment_id}/devices/list", { 200, 400, 404 } },
	{ "GET", DEP "/deployments/{id}/device_list", { 200, 400, 404 } },
	{ "PUT", DEP "/deployments/{deployment_id}/status", { 204, 400, 422 } },
	{ "GET", DEP "/deployments/devices/{id}", { 200, 400 } },
	{ "DELETE", DEP "/deployments/devices/{id}", { 204 } },
	{ "DELETE", DEP "/deployments/devices/{id}/history", { 204 } },
	{ "GET", DEP "/artifacts", { 200 } },
	{ "GET", DEP2 "/artifacts", { 200 } },
	{ "GET", CONF "/{deviceId}", { 200, 404 } },
	{ "PUT", CONF "/{deviceId}", { 204, 400 } },
	{ "POST", CONF "/{deviceId}/deploy", { 200, 400, 404 } },
};

/* The contract says nothing Mender's documents contradict. */
static void test_official_agrees_with_contract(void **state)
{
	struct tstr errs = TSTR_INIT;
	size_t checked = 0;
	int n;

	(void)state;
	T_NEED_OFFICIAL();
	n = openapi_agrees(t_contract, t_official, &checked, &errs);
	if (n)
		fail_msg("the contract %s disagrees with Mender's document %s in %d places:\n%s",
			 simtest_contract_path(), simtest_official_path(), n, errs.p);
	printf("the contract's %zu (method, path, status) agree with Mender's document\n", checked);
	assert_true(checked >= sizeof(expected) / sizeof(expected[0]));
	tstr_release(&errs);
}

/* Every exchange of this suite was judged against Mender's documents too. */
static void test_official_judged_every_exchange(void **state)
{
	(void)state;
	T_NEED_OFFICIAL();
	printf("%zu exchanges judged against the contract, %zu against Mender's document\n",
	       t_judged_contract(), t_judged_official());
	assert_true(t_judged_contract() > 0);
	assert_int_equal(t_judged_official(), t_judged_contract());
}

static void test_coverage(void **state)
{
	size_t i, k, missing = 0;

	(void)state;
	t_coverage_report();
	for (i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		for (k = 0; k < 6 && expected[i].statuses[k]; k++) {
			if (!t_covered(expected[i].method, expected[i].tmpl, expected[i].statuses[k])) {
				printf("not exercised: %s %s -> %ld\n", expected[i].method,
				       expected[i].tmpl, expected[i].statuses[k]);
				missing++;
			}
		}
	}
	assert_int_equal(missing, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_auth_open_mode, setup, teardown),
		cmocka_unit_test(test_login_with_user),
		cmocka_unit_test(test_fixed_token),
		cmocka_unit_test(test_personal_access_tokens),
		cmocka_unit_test_setup_teardown(test_inventory_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inventory_device_and_tags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inventory_search, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deployments_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deployments_lists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deployment_statistics_and_devices, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_deployment_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_deployments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_artifacts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deviceconfig, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_limit, setup, teardown),
		cmocka_unit_test(test_coverage),
		cmocka_unit_test(test_official_agrees_with_contract),
		cmocka_unit_test(test_official_judged_every_exchange),
	};

	return cmocka_run_group_tests_name("mender-sim conformance", tests, t_load_doc, t_free_doc);
}
