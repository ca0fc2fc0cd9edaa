/* The Mender client against the stand-in, plus its pure helpers. */
#define _GNU_SOURCE /* dlsym(RTLD_NEXT) */
#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "deploy/apply.h"
#include "mender/mender.h"
#include "simctl.h"

#define USER "alice@example.com"
#define PASSWORD "correct horse battery staple"
/* base64("alice@example.com:correct horse battery staple") */
#define BASIC "YWxpY2VAZXhhbXBsZS5jb206Y29ycmVjdCBob3JzZSBiYXR0ZXJ5IHN0YXBsZQ=="
#define TOKEN "pat-9f3c1e7a5b2d4c6e8a0b1c2d3e4f5a6b"

struct fixture {
	struct sim sim;
	struct mender_client *c;
	struct fg_buf log;
};

static void capture(void *data, const char *line)
{
	struct fg_buf *b = data;

	fg_buf_puts(b, line);
	fg_buf_putc(b, '\n');
}

static int teardown(void **state);

/*
 * A transport that stops mid-batch: while `stop_after` is set, once that
 * many transfers have finished, libcurl's multi interface fails once
 * (CURLM_OUT_OF_MEMORY) and the run is abandoned with work still queued.
 * These wrap libcurl's own functions (found with RTLD_NEXT), declared
 * here without curl.h: the client's adapter is the only includer.
 */
static unsigned stop_after, transfers_done;

int curl_multi_perform(void *multi, int *running);
void *curl_multi_info_read(void *multi, int *left);

int curl_multi_perform(void *multi, int *running)
{
	static int (*real)(void *, int *);

	if (stop_after && transfers_done >= stop_after) {
		stop_after = 0;
		return 3; /* CURLM_OUT_OF_MEMORY */
	}
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "curl_multi_perform");
	return real(multi, running);
}

void *curl_multi_info_read(void *multi, int *left)
{
	static void *(*real)(void *, int *);
	void *msg;

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "curl_multi_info_read");
	msg = real(multi, left);
	transfers_done += msg != NULL; /* CURLMSG_DONE is its only message */
	return msg;
}

/* The bearer token the client actually sends, as it goes into the
 * request's header list (a login's token is new at every login). */
static char bearer_sent[20000];

void *curl_slist_append(void *list, const char *line);

void *curl_slist_append(void *list, const char *line)
{
	static void *(*real)(void *, const char *);
	static const char auth[] = "Authorization: Bearer ";

	if (!strncmp(line, auth, sizeof(auth) - 1) && strcmp(line + sizeof(auth) - 1, "sim-control"))
		snprintf(bearer_sent, sizeof(bearer_sent), "%s", line + sizeof(auth) - 1);
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "curl_slist_append");
	return real(list, line);
}

static void settings_for(struct fixture *f, struct mender_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->server = f->sim.url;
	s->http.backoff_base_ms = 20;
	s->http.backoff_max_ms = 100;
	s->http.log = capture;
	s->http.log_data = &f->log;
}

/* Start a stand-in with `ndev` devices and the given arguments, and a
 * client with the token (or the user and password when `login`). */
static int start(void **state, unsigned ndev, const char *const *args, int login)
{
	struct fixture *f = fg_calloc(1, sizeof(*f));
	struct mender_settings s;
	char *seed = sim_seed(ndev);
	int rc;

	fg_buf_init(&f->log);
	rc = sim_start(&f->sim, seed, args);
	free(seed);
	*state = f;
	if (rc)
		goto fail;
	settings_for(f, &s);
	if (login) {
		s.user = USER;
		s.password = PASSWORD;
	} else {
		s.token = TOKEN;
	}
	if (mender_client_new(&f->c, &s)) {
		fprintf(stderr, "client: %s\n", fg_error_message());
		goto fail;
	}
	return 0;
fail:
	/* cmocka runs no teardown after a failed setup */
	teardown(state);
	*state = NULL;
	return -1;
}

static int setup_small(void **state)
{
	return start(state, 30, NULL, 0);
}

static int setup_1234(void **state)
{
	return start(state, 1234, NULL, 0);
}

static int setup_login(void **state)
{
	static const char *const args[] = { "--user", USER, "--password", PASSWORD, NULL };

	return start(state, 10, args, 1);
}

static int setup_token(void **state)
{
	static const char *const args[] = { "--token", TOKEN, NULL };

	return start(state, 10, args, 0);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (!f)
		return 0;
	mender_client_free(f->c);
	sim_stop(&f->sim);
	fg_buf_release(&f->log);
	free(f);
	return 0;
}

static const char *dev_id(unsigned i)
{
	static char ids[8][25];
	static unsigned slot;

	slot = (slot + 1) % 8;
	sim_device_id(ids[slot], i);
	return ids[slot];
}

/* A device of a list sorted by id, or NULL. */
static const struct mender_device *find_device(const struct mender_device_list *l, const char *id)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->items[i].id, id))
			return &l->items[i];
	return NULL;
}

/* ---- inventory ---- */

static void test_inventory_pages(void **state)
{
	struct fixture *f = *state;
	struct mender_device_list l;
	const struct mender_attr_ref want[] = {
		{ "inventory", "device_type" },
		{ "inventory", "serial" },
		{ "tags", "subscribed_branch" },
	};
	const struct mender_device *d;
	size_t i;

	mender_device_list_init(&l);
	sim_clear(&f->sim);
	assert_int_equal(mender_list_devices(f->c, want, 3, NULL, 0, &l), 0);
	assert_int_equal(l.n, 1234);
	/* 500 + 500 + 234: three searches, no more */
	assert_int_equal(sim_count(&f->sim, "POST", "/api/management/v2/inventory/filters/search", 200), 3);
	assert_int_equal(sim_count(&f->sim, NULL, "/api/", 0), 3);
	for (i = 1; i < l.n; i++)
		assert_true(strcmp(l.items[i - 1].id, l.items[i].id) < 0);

	d = find_device(&l, dev_id(3));
	assert_non_null(d);
	assert_string_equal(mender_device_attr(d, "inventory", "device_type"), "pi4-v3-arm64");
	assert_string_equal(mender_device_attr(d, NULL, "device_type"), "pi4-v3-arm64");
	assert_string_equal(mender_device_attr(d, NULL, "serial"), "3");
	assert_string_equal(mender_device_attr(d, NULL, "subscribed_branch"), "canary");
	assert_string_equal(mender_device_attr(d, "tags", "subscribed_branch"), "canary");
	assert_null(mender_device_attr(d, "inventory", "subscribed_branch"));
	/* not asked for */
	assert_null(mender_device_attr(d, NULL, "artifact_name"));

	d = find_device(&l, dev_id(1232));
	assert_non_null(d);
	assert_string_equal(mender_device_attr(d, NULL, "device_type"), "pi3-v3-arm64");
	assert_string_equal(mender_device_attr(d, NULL, "serial"), "1232");
	assert_null(mender_device_attr(d, NULL, "subscribed_branch"));
	assert_null(find_device(&l, dev_id(1234)));
	mender_device_list_release(&l);
}

static void test_inventory_filters(void **state)
{
	struct fixture *f = *state;
	struct mender_device_list l;
	const char *const pi4[] = { "pi4-v3-arm64" };
	const struct mender_filter canary = { "tags", "subscribed_branch", "$eq", "canary", NULL, 0 };
	const struct mender_filter both[] = {
		canary,
		{ "inventory", "device_type", "$in", NULL, pi4, 1 },
	};
	size_t i;

	mender_device_list_init(&l);
	assert_int_equal(mender_list_devices(f->c, NULL, 0, &canary, 1, &l), 0);
	assert_int_equal(l.n, 412); /* i % 3 == 0 below 1234 */
	assert_int_equal(mender_list_devices(f->c, NULL, 0, &both[1], 1, &l), 0);
	assert_int_equal(l.n, 617);
	assert_int_equal(mender_list_devices(f->c, NULL, 0, both, 2, &l), 0);
	assert_int_equal(l.n, 206); /* i % 6 == 3 */
	for (i = 0; i < l.n; i++) {
		/* without `want`, every attribute comes back */
		assert_string_equal(mender_device_attr(&l.items[i], NULL, "artifact_name"), "os-0");
		assert_string_equal(mender_device_attr(&l.items[i], "tags", "subscribed_branch"), "canary");
	}
	mender_device_list_release(&l);
}

/* ---- authentication ---- */

static void test_login_right_password(void **state)
{
	struct fixture *f = *state;
	struct mender_device_list l;

	mender_device_list_init(&l);
	assert_int_equal(mender_list_devices(f->c, NULL, 0, NULL, 0, &l), 0);
	assert_int_equal(l.n, 10);
	assert_int_equal(sim_count(&f->sim, "POST", "/api/management/v1/useradm/auth/login", 200), 1);
	mender_device_list_release(&l);
}

static void test_login_wrong_password(void **state)
{
	struct fixture *f = *state;
	struct mender_settings s;
	struct mender_client *c = NULL;

	settings_for(f, &s);
	s.user = USER;
	s.password = "wrong password";
	assert_int_equal(mender_client_new(&c, &s), FG_EAUTH);
	assert_null(c);
	assert_non_null(strstr(fg_error_message(), "logging in to http://127.0.0.1:"));
	assert_non_null(strstr(fg_error_message(), "as '" USER "'"));
	assert_non_null(strstr(fg_error_message(), "HTTP 401"));
	assert_null(strstr(fg_error_message(), "wrong password"));
	assert_int_equal(sim_count(&f->sim, "POST", "/api/management/v1/useradm/auth/login", 401), 1);
}

static void test_token_auth(void **state)
{
	struct fixture *f = *state;
	struct mender_settings s;
	struct mender_client *bad = NULL;
	struct mender_device_list l;

	mender_device_list_init(&l);
	assert_int_equal(mender_list_devices(f->c, NULL, 0, NULL, 0, &l), 0);
	assert_int_equal(l.n, 10);

	settings_for(f, &s);
	s.token = "pat-not-the-right-one";
	assert_int_equal(mender_client_new(&bad, &s), 0);
	assert_int_equal(mender_list_devices(bad, NULL, 0, NULL, 0, &l), FG_EAUTH);
	assert_int_equal(l.n, 0);
	assert_non_null(strstr(fg_error_message(), "POST /api/management/v2/inventory/filters/search: HTTP 401"));
	assert_null(strstr(fg_error_message(), "pat-not-the-right-one"));
	/* a refusal is not retried */
	assert_int_equal(sim_count(&f->sim, "POST", "/api/management/v2/inventory/filters/search", 401), 1);
	mender_client_free(bad);
	mender_device_list_release(&l);
}

static void test_no_credentials(void **state)
{
	struct mender_settings s;
	struct mender_client *c = NULL;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.server = "https://mender.example.com";
	assert_int_equal(mender_client_new(&c, &s), FG_EAUTH);
	s.token = TOKEN;
	s.server = "mender.example.com";
	assert_int_equal(mender_client_new(&c, &s), FG_EINVAL);
	assert_non_null(strstr(fg_error_message(), "'mender.example.com'"));
	assert_null(c);
}

/* Everything the log callback saw and every error message, with debug on:
 * no password, no Basic credentials, no token. */
static void test_secrets_never_logged(void **state)
{
	struct fixture *f = *state;
	struct mender_settings s;
	struct mender_client *pat = NULL, *login = NULL, *wrong = NULL;
	struct mender_device_list l;
	struct fg_buf errors;
	char *id = NULL, *jwt;
	int exists;
	const struct mender_new_deployment missing = { "fleetgate:x@1:nope", "nope", (const char *const[]){ dev_id(0) }, 1 };

	fg_buf_init(&errors);
	mender_device_list_init(&l);
	settings_for(f, &s);
	s.http.debug = 1;

	s.user = USER;
	s.password = PASSWORD;
	assert_int_equal(mender_client_new(&login, &s), 0);
	bearer_sent[0] = '\0';
	assert_int_equal(mender_list_devices(login, NULL, 0, NULL, 0, &l), 0);
	jwt = fg_strdup(bearer_sent); /* the token this client logged in with */
	assert_int_equal(mender_create_deployment(login, &missing, &id, &exists), FG_ENOTFOUND);
	fg_buf_puts(&errors, fg_error_message());

	s.password = "not " PASSWORD;
	assert_int_equal(mender_client_new(&wrong, &s), FG_EAUTH);
	fg_buf_puts(&errors, fg_error_message());

	s.user = s.password = NULL;
	s.token = TOKEN;
	assert_int_equal(mender_client_new(&pat, &s), 0);
	assert_int_equal(mender_list_devices(pat, NULL, 0, NULL, 0, &l), FG_EAUTH);
	fg_buf_puts(&errors, fg_error_message());

	/* the trace did pass through: requests, headers, timings */
	assert_non_null(strstr(f->log.ptr, "> POST /api/management/v1/useradm/auth/login"));
	assert_non_null(strstr(f->log.ptr, "Authorization: [redacted]"));
	assert_non_null(strstr(f->log.ptr, "/api/management/v2/inventory/filters/search -> 200"));
	/* and no secret did: first the token the login got, as sent */
	assert_int_equal(strncmp(jwt, "eyJ", 3), 0); /* a JWT the stand-in issued */
	assert_null(strstr(f->log.ptr, jwt));
	assert_null(strstr(errors.ptr, jwt));
	assert_null(strstr(f->log.ptr, PASSWORD));
	assert_null(strstr(f->log.ptr, BASIC));
	assert_null(strstr(f->log.ptr, TOKEN));
	assert_null(strstr(f->log.ptr, "Bearer"));
	/* libcurl's "Server auth using Basic with user '...'" names the user
	 * only; the credentials themselves are BASIC, checked above */
	assert_null(strstr(f->log.ptr, "Authorization: Basic"));
	assert_null(strstr(errors.ptr, PASSWORD));
	assert_null(strstr(errors.ptr, BASIC));
	assert_null(strstr(errors.ptr, TOKEN));
	free(jwt);
	free(id);
	mender_device_list_release(&l);
	mender_client_free(login);
	mender_client_free(pat);
	fg_buf_release(&errors);
}

/* ---- deployments ---- */

/* Count for a device status in a deployment's statistics; 0 when absent. */
static long long stat_of(const struct mender_deployment *d, const char *status)
{
	size_t i;

	for (i = 0; i < d->nstats; i++)
		if (!strcmp(d->stats[i].status, status))
			return d->stats[i].count;
	return 0;
}

static void test_create_and_exists(void **state)
{
	struct fixture *f = *state;
	const char *const devs[] = { dev_id(0), dev_id(2) };
	const struct mender_new_deployment d = { "fleetgate:canary@1a2b3c4:os-1", "os-1", devs, 2 };
	char *id = NULL, *again = NULL;
	int exists = -1;
	cJSON *st, *dep, *e;

	assert_int_equal(mender_create_deployment(f->c, &d, &id, &exists), 0);
	assert_int_equal(exists, 0);
	assert_non_null(id);
	st = sim_state(&f->sim);
	dep = sim_find(st, "deployments", id);
	assert_non_null(dep);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(dep, "name")->valuestring, d.name);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(dep, "artifact_name")->valuestring, "os-1");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(dep, "devices")), 2);
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(dep, "devices")) {
		const char *did = cJSON_GetObjectItemCaseSensitive(e, "id")->valuestring;

		assert_true(!strcmp(did, devs[0]) || !strcmp(did, devs[1]));
	}
	cJSON_Delete(st);

	/* the same again, as a replay would: 409, resolved by name */
	assert_int_equal(mender_create_deployment(f->c, &d, &again, &exists), 0);
	assert_int_equal(exists, 1);
	assert_string_equal(again, id);
	assert_int_equal(sim_count(&f->sim, "POST", "/api/management/v1/deployments/deployments", 201), 1);
	assert_int_equal(sim_count(&f->sim, "POST", "/api/management/v1/deployments/deployments", 409), 1);
	st = sim_state(&f->sim);
	assert_int_equal(cJSON_GetArraySize(sim_array(st, "deployments")), 1);
	cJSON_Delete(st);
	free(id);
	free(again);
}

static void test_create_replayed_after_503(void **state)
{
	struct fixture *f = *state;
	const char *const devs[] = { dev_id(4) };
	const struct mender_new_deployment d = { "fleetgate:main@77aa:os-2", "os-2", devs, 1 };
	char *id = NULL;
	int exists = -1;

	assert_int_equal(sim_fault(&f->sim, "{\"path_prefix\":\"/api/management/v1/deployments/deployments\","
				   "\"method\":\"POST\",\"status\":503,\"count\":2}"), 0);
	assert_int_equal(mender_create_deployment(f->c, &d, &id, &exists), 0);
	assert_int_equal(exists, 0);
	assert_non_null(id);
	assert_int_equal(sim_count(&f->sim, "POST", "/api/management/v1/deployments/deployments", 503), 2);
	assert_int_equal(sim_count(&f->sim, "POST", "/api/management/v1/deployments/deployments", 201), 1);
	free(id);
}

static void test_create_missing_artifact(void **state)
{
	struct fixture *f = *state;
	const char *const devs[] = { dev_id(0) };
	const struct mender_new_deployment d = { "fleetgate:canary@1a2b3c4:os-9", "os-9", devs, 1 };
	char *id = NULL;
	int exists = -1;

	assert_int_equal(mender_create_deployment(f->c, &d, &id, &exists), FG_ENOTFOUND);
	assert_null(id);
	assert_non_null(strstr(fg_error_message(), "Mender has no artifact named 'os-9'"));
	assert_non_null(strstr(fg_error_message(), "deployment 'fleetgate:canary@1a2b3c4:os-9'"));
	assert_non_null(strstr(fg_error_message(), "HTTP 422"));
	assert_non_null(strstr(fg_error_message(), "request_id"));
}

static void test_create_over_body_limit(void **state)
{
	struct fixture *f = *state;
	enum { N = 40000 };
	const char **devs = fg_calloc(N, sizeof(*devs));
	char (*ids)[25] = fg_calloc(N, sizeof(*ids));
	struct mender_new_deployment d = { "big", "os-1", NULL, N };
	char *id = NULL;
	int exists, i;

	for (i = 0; i < N; i++) {
		sim_device_id(ids[i], (unsigned)i);
		devs[i] = ids[i];
	}
	d.devices = devs;
	assert_int_equal(mender_create_deployment(f->c, &d, &id, &exists), FG_ELIMIT);
	assert_non_null(strstr(fg_error_message(), "deployment 'big': 40000 devices"));
	assert_int_equal(sim_count(&f->sim, "POST", "/api/management/v1/deployments/deployments", 0), 0);
	free(devs);
	free(ids);
}

static void create_ok(struct fixture *f, const char *name, const char *artifact,
		      const char *const *devs, size_t n, char **id)
{
	const struct mender_new_deployment d = { name, artifact, devs, n };
	int exists = -1;

	if (mender_create_deployment(f->c, &d, id, &exists))
		fail_msg("creating %s: %s", name, fg_error_message());
	assert_int_equal(exists, 0);
}

static void test_find_and_active(void **state)
{
	struct fixture *f = *state;
	const char *const d01[] = { dev_id(0), dev_id(1) };
	const char *const d2[] = { dev_id(2) };
	struct mender_deployment_list l;
	char *id1 = NULL, *id2 = NULL;
	const char *names[120];
	char namebuf[120][32];
	size_t i;

	mender_deployment_list_init(&l);
	create_ok(f, "fleetgate:canary@aaaa:os-1", "os-1", d01, 2, &id1);
	create_ok(f, "fleetgate:canary@aaaa:os-2", "os-2", d2, 1, &id2);

	names[0] = "fleetgate:canary@aaaa:os-1";
	names[1] = "fleetgate:canary@aaaa:os-2";
	names[2] = "fleetgate:canary@aaaa:missing";
	assert_int_equal(mender_find_deployments(f->c, names, 3, MENDER_WITH_DEVICES | MENDER_WITH_STATS, &l), 0);
	assert_int_equal(l.n, 2);
	for (i = 0; i < 2; i++) {
		struct mender_deployment *d = &l.items[i];

		assert_string_equal(d->status, "pending");
		assert_string_equal(d->type, "software");
		assert_true(d->created[0] != '\0');
		if (!strcmp(d->id, id1)) {
			assert_string_equal(d->name, names[0]);
			assert_string_equal(d->artifact_name, "os-1");
			assert_int_equal(d->ndevices, 2);
			assert_true((!strcmp(d->devices[0], d01[0]) && !strcmp(d->devices[1], d01[1])) ||
				    (!strcmp(d->devices[0], d01[1]) && !strcmp(d->devices[1], d01[0])));
		} else {
			assert_string_equal(d->id, id2);
			assert_string_equal(d->artifact_name, "os-2");
			assert_int_equal(d->ndevices, 1);
			assert_string_equal(d->devices[0], d2[0]);
		}
		assert_true(d->nstats > 0);
		assert_int_equal(stat_of(d, "success"), 0);
		assert_int_equal(stat_of(d, "total_size"), 0);
	}
	mender_deployment_list_release(&l);
	{
		/* statistics came with the list; one device_list each */
		char *stats = fg_asprintf("/api/management/v1/deployments/deployments/%s/statistics", id1);
		char *devices = fg_asprintf("/api/management/v1/deployments/deployments/%s/device_list", id1);

		assert_int_equal(sim_count(&f->sim, "GET", stats, 0), 0);
		assert_int_equal(sim_count(&f->sim, "GET", devices, 200), 1);
		free(stats);
		free(devices);
	}

	/* the devices install: one finishes, both stay listed until then */
	assert_int_equal(sim_call(&f->sim, FG_HTTP_POST, "/_sim/step", "{}", NULL) / 100, 2);
	assert_int_equal(mender_find_deployments(f->c, names, 2, MENDER_WITH_STATS, &l), 0);
	assert_int_equal(l.n, 2);
	for (i = 0; i < 2; i++)
		if (!strcmp(l.items[i].id, id2)) {
			assert_string_equal(l.items[i].status, "finished");
			assert_int_equal(stat_of(&l.items[i], "success"), 1);
		}
	mender_deployment_list_release(&l);

	/* active ones: only what is not finished */
	assert_int_equal(mender_list_active_deployments(f->c, 0, &l), 0);
	for (i = 0; i < l.n; i++)
		assert_string_not_equal(l.items[i].id, id2);
	mender_deployment_list_release(&l);

	/* 120 names: 50 a request */
	for (i = 0; i < 120; i++) {
		snprintf(namebuf[i], sizeof(namebuf[i]), "fleetgate:x@%03zu:os-1", i);
		names[i] = namebuf[i];
	}
	names[77] = "fleetgate:canary@aaaa:os-1";
	sim_clear(&f->sim);
	assert_int_equal(mender_find_deployments(f->c, names, 120, 0, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].id, id1);
	assert_int_equal(sim_count(&f->sim, "GET", "/api/management/v2/deployments/deployments", 200), 3);
	mender_deployment_list_release(&l);
	free(id1);
	free(id2);
}

static void test_active_pages(void **state)
{
	struct fixture *f = *state;
	struct mender_deployment_list l;
	char name[64];
	char *id;
	size_t i;

	/* 30 pending deployments, 3 to each of 10 devices */
	for (i = 0; i < 30; i++) {
		const char *devs[1];

		devs[0] = dev_id((unsigned)(i % 10));
		snprintf(name, sizeof(name), "fleetgate:a@%zu:os-1", i);
		create_ok(f, name, i % 2 ? "os-1" : "os-2", devs, 1, &id);
		free(id);
	}
	mender_deployment_list_init(&l);
	sim_clear(&f->sim);
	assert_int_equal(mender_list_active_deployments(f->c, MENDER_WITH_DEVICES, &l), 0);
	assert_int_equal(l.n, 30);
	for (i = 0; i < l.n; i++) {
		assert_string_equal(l.items[i].status, "pending");
		assert_int_equal(l.items[i].ndevices, 1);
	}
	/* one request a status (pending, inprogress) */
	assert_int_equal(sim_count(&f->sim, "GET", "/api/management/v2/deployments/deployments", 200), 2);
	assert_int_equal(sim_count(&f->sim, "GET", "/api/management/v1/deployments/deployments/", 200), 30);
	mender_deployment_list_release(&l);
}

/* How many of a device's deployment records (GET .../deployments/devices/{id},
 * `filter` as its ?status=, NULL: all) have the device status `status`
 * (NULL: any), read straight from the stand-in. */
static int count_records(struct fixture *f, const char *id, const char *filter,
			 const char *status)
{
	char path[200], *body = NULL;
	cJSON *doc, *e;
	int n = 0;

	snprintf(path, sizeof(path), "/api/management/v1/deployments/deployments/devices/%s?per_page=20%s%s",
		 id, filter ? "&status=" : "", filter ? filter : "");
	assert_int_equal(sim_call(&f->sim, FG_HTTP_GET, path, NULL, &body), 200);
	doc = cJSON_Parse(body);
	assert_true(cJSON_IsArray(doc));
	cJSON_ArrayForEach(e, doc) {
		cJSON *dev = cJSON_GetObjectItemCaseSensitive(e, "device");
		cJSON *st = cJSON_GetObjectItemCaseSensitive(dev, "status");

		n += !status || (cJSON_IsString(st) && !strcmp(st->valuestring, status));
	}
	cJSON_Delete(doc);
	free(body);
	return n;
}

/* Abort one device's deployments; its outcome. */
static int abort_one(struct fixture *f, const char *id)
{
	struct mender_result r = { 0, NULL };
	int err = mender_abort_devices(f->c, &id, 1, &r);

	mender_result_release(&r);
	return err;
}

static void test_abort_device(void **state)
{
	struct fixture *f = *state;
	const char *const d0[] = { dev_id(0) };
	const char *const d04[] = { dev_id(0), dev_id(4) };
	struct mender_result res[3];
	const char *ids[3];
	char *a = NULL, *b = NULL, *c = NULL, *e = NULL;
	cJSON *st;

	create_ok(f, "fleetgate:canary@1:os-1", "os-1", d0, 1, &a);
	create_ok(f, "fleetgate:canary@2:os-2", "os-2", d04, 2, &b);
	create_ok(f, "fleetgate:canary@3:os-1", "os-1", d0, 1, &c);
	/* d0 has no records yet: ?status=active is empty from the start, but
	 * three deployments list it */
	assert_int_equal(count_records(f, dev_id(0), "active", NULL), 0);

	sim_clear(&f->sim);
	assert_int_equal(abort_one(f, dev_id(0)), 0);
	assert_int_equal(count_records(f, dev_id(0), NULL, NULL), 3);
	assert_int_equal(count_records(f, dev_id(0), NULL, "aborted"), 3);
	/* one DELETE per deployment, and one that changed nothing */
	assert_int_equal(sim_count(&f->sim, "DELETE", "/api/management/v1/deployments/deployments/devices/", 204), 4);

	/* the device installs nothing now; d4 still gets b */
	assert_int_equal(sim_call(&f->sim, FG_HTTP_POST, "/_sim/step", "{}", NULL) / 100, 2);
	st = sim_state(&f->sim);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
		sim_find(st, "devices", dev_id(0)), "inventory"), "artifact_name")->valuestring, "os-0");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
		sim_find(st, "devices", dev_id(4)), "inventory"), "artifact_name")->valuestring, "os-2");
	cJSON_Delete(st);

	/* many at once: one with an active record, one with nothing, one bad id */
	create_ok(f, "fleetgate:canary@4:os-1", "os-1", d04 + 1, 1, &e);
	ids[0] = dev_id(4);
	ids[1] = dev_id(6);
	ids[2] = "";
	assert_int_equal(mender_abort_devices(f->c, ids, 3, res), FG_EINVAL);
	assert_non_null(strstr(fg_error_message(), "1 of 3 failed"));
	assert_int_equal(res[0].code, 0);
	assert_int_equal(res[1].code, 0);
	assert_int_equal(res[2].code, FG_EINVAL);
	assert_non_null(strstr(res[2].message, "device id is empty"));
	assert_int_equal(count_records(f, dev_id(4), NULL, "aborted"), 1);
	assert_int_equal(count_records(f, dev_id(4), NULL, "success"), 1);
	mender_result_release(&res[0]);
	mender_result_release(&res[1]);
	mender_result_release(&res[2]);
	free(a);
	free(b);
	free(c);
	free(e);
}

/* 409 for a deployment whose record for the device is aborted (Mender
 * 4.1, the stand-in's default: aborted before it polled, the deployment
 * stays active): not "already there"; the old one is aborted, a new one
 * made. */
static void test_create_conflict_with_aborted_record(void **state)
{
	struct fixture *f = *state;
	const char *const d0[] = { dev_id(0) };
	const char *name = "fleetgate:canary@7:os-1";
	const struct mender_new_deployment d = { name, "os-1", d0, 1 };
	struct mender_deployment_list l;
	char *a = NULL, *b = NULL, *c = NULL;
	int exists = -1;
	size_t i;

	create_ok(f, name, "os-1", d0, 1, &a);
	/* a replay while the device's record is pending: already there */
	assert_int_equal(mender_create_deployment(f->c, &d, &b, &exists), 0);
	assert_int_equal(exists, 1);
	assert_string_equal(a, b);
	assert_int_equal(abort_one(f, dev_id(0)), 0);
	assert_int_equal(count_records(f, dev_id(0), NULL, "aborted"), 1);
	sim_clear(&f->sim);
	assert_int_equal(mender_create_deployment(f->c, &d, &c, &exists), 0);
	assert_int_equal(exists, 0);
	assert_string_not_equal(a, c);
	assert_int_equal(sim_count(&f->sim, "POST", "/api/management/v1/deployments/deployments", 409), 1);
	assert_int_equal(sim_count(&f->sim, "PUT", "/api/management/v1/deployments/deployments/", 204), 1);
	assert_int_equal(sim_count(&f->sim, "POST", "/api/management/v1/deployments/deployments", 201), 1);
	mender_deployment_list_init(&l);
	assert_int_equal(mender_find_deployments(f->c, &name, 1, 0, &l), 0);
	assert_int_equal(l.n, 2);
	for (i = 0; i < 2; i++)
		assert_string_equal(l.items[i].status, !strcmp(l.items[i].id, a) ? "finished" : "pending");
	mender_deployment_list_release(&l);
	free(a);
	free(b);
	free(c);
}

static void test_abort_deployment(void **state)
{
	struct fixture *f = *state;
	const char *const devs[] = { dev_id(1), dev_id(3) };
	struct mender_deployment_list l;
	char *id = NULL;
	const char *name = "fleetgate:production@9:os-1";
	int finished = -1;

	mender_deployment_list_init(&l);
	create_ok(f, name, "os-1", devs, 2, &id);
	assert_int_equal(mender_abort_deployment(f->c, id, &finished), 0);
	assert_int_equal(finished, 0);
	assert_int_equal(mender_find_deployments(f->c, &name, 1, 0, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].status, "finished");
	assert_int_equal(mender_abort_deployment(f->c, id, &finished), 0);
	assert_int_equal(finished, 1);
	assert_int_equal(sim_count(&f->sim, "PUT", "/api/management/v1/deployments/deployments/", 204), 1);
	assert_int_equal(sim_count(&f->sim, "PUT", "/api/management/v1/deployments/deployments/", 422), 1);
	mender_deployment_list_release(&l);
	free(id);
}

/* ---- artifacts ---- */

/* Whether `a` is compatible with `device_type`. */
static int supports(const struct mender_artifact *a, const char *device_type)
{
	size_t i;

	for (i = 0; i < a->ndevice_types; i++)
		if (!strcmp(a->device_types[i], device_type))
			return 1;
	return 0;
}

static void test_artifacts(void **state)
{
	struct fixture *f = *state;
	struct mender_artifact_list l;
	const char *names[] = { "os-2", "os-1", "os-9" };
	const char *star[] = { "os-*" };
	size_t i;

	mender_artifact_list_init(&l);
	assert_int_equal(mender_find_artifacts(f->c, names, 3, &l), 0);
	assert_int_equal(l.n, 2);
	for (i = 0; i < l.n; i++) {
		assert_true(l.items[i].id[0] != '\0');
		assert_true(supports(&l.items[i], "pi3-v3-arm64"));
		if (!strcmp(l.items[i].name, "os-1")) {
			assert_int_equal(l.items[i].ndevice_types, 2);
			assert_true(supports(&l.items[i], "pi4-v3-arm64"));
		} else {
			assert_string_equal(l.items[i].name, "os-2");
			assert_int_equal(l.items[i].ndevice_types, 1);
			assert_false(supports(&l.items[i], "pi4-v3-arm64"));
		}
	}
	assert_int_equal(mender_find_artifacts(f->c, star, 1, &l), FG_EINVAL);
	assert_int_equal(l.n, 2);
	mender_artifact_list_release(&l);
}

/* ---- Mender Configure ---- */

/* The value of `key` in a sorted map, or NULL. */
static const char *kv_of(const struct mender_kv *kv, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(kv[i].key, key))
			return kv[i].value;
	return NULL;
}

/* One device's configuration through mender_config_get_many. */
static int config_get(struct fixture *f, const char *id, struct mender_config *cfg)
{
	struct mender_result r = { 0, NULL };
	int err = mender_config_get_many(f->c, &id, 1, cfg, &r);

	mender_result_release(&r);
	return err;
}

static void test_config_get(void **state)
{
	struct fixture *f = *state;
	struct mender_config cfg;

	mender_config_init(&cfg);
	assert_int_equal(config_get(f, dev_id(0), &cfg), 0);
	assert_int_equal(cfg.found, 1);
	assert_int_equal(cfg.nconfigured, 1);
	assert_string_equal(kv_of(cfg.configured, cfg.nconfigured, "a"), "1");
	assert_int_equal(cfg.nreported, 1);
	assert_string_equal(kv_of(cfg.reported, cfg.nreported, "a"), "0");
	assert_null(kv_of(cfg.reported, cfg.nreported, "b"));
	/* a device Mender Configure never heard of: no record, not an error */
	assert_int_equal(config_get(f, "0123456789abcdef01234567", &cfg), 0);
	assert_int_equal(cfg.found, 0);
	assert_int_equal(cfg.nconfigured, 0);
	assert_int_equal(cfg.nreported, 0);
	assert_int_equal(sim_count(&f->sim, "GET", "/api/management/v1/deviceconfig/configurations/device/", 404), 1);
	mender_config_release(&cfg);
}

static void test_config_apply(void **state)
{
	struct fixture *f = *state;
	const char *const keys[] = { "kiosk_url", "playbook_version", "kiosk_enabled" };
	const char *const values[] = { "https://example.com/station", "1.50", "true" };
	const char *const bad_values[] = { "https://example.com/x", "\xff", "true" };
	struct mender_config_job jobs[4];
	struct mender_config cfg[3];
	struct mender_result res[3];
	const char *ids[3];
	cJSON *st;
	size_t i;

	memset(jobs, 0, sizeof(jobs));
	for (i = 0; i < 4; i++) {
		jobs[i].device_id = dev_id((unsigned)i);
		jobs[i].keys = keys;
		jobs[i].values = i == 2 ? bad_values : values;
		jobs[i].n = 3;
		jobs[i].deploy = i != 3;
	}
	assert_int_equal(mender_config_apply_many(f->c, jobs, 4), FG_EINVAL);
	assert_non_null(strstr(fg_error_message(), "1 of 4 failed"));
	assert_int_equal(jobs[2].result.code, FG_EINVAL);
	assert_non_null(strstr(jobs[2].result.message, "'playbook_version'"));
	assert_non_null(strstr(jobs[2].result.message, dev_id(2)));
	for (i = 0; i < 4; i++) {
		if (i == 2)
			continue;
		assert_int_equal(jobs[i].result.code, 0);
		if (i == 3)
			assert_null(jobs[i].deployment_id);
		else
			assert_true(jobs[i].deployment_id && jobs[i].deployment_id[0]);
	}
	assert_string_not_equal(jobs[0].deployment_id, jobs[1].deployment_id);
	assert_int_equal(sim_count(&f->sim, "PUT", "/api/management/v1/deviceconfig/configurations/device/", 204), 3);
	assert_int_equal(sim_count(&f->sim, "POST", "/api/management/v1/deviceconfig/configurations/device/", 200), 2);

	ids[0] = dev_id(0);
	ids[1] = dev_id(2);
	ids[2] = dev_id(3);
	for (i = 0; i < 3; i++)
		mender_config_init(&cfg[i]);
	assert_int_equal(mender_config_get_many(f->c, ids, 3, cfg, res), 0);
	assert_string_equal(kv_of(cfg[0].configured, cfg[0].nconfigured, "playbook_version"), "1.50");
	assert_int_equal(cfg[0].nconfigured, 3); /* PUT replaced "a" */
	assert_string_equal(kv_of(cfg[1].configured, cfg[1].nconfigured, "a"), "1");
	assert_string_equal(kv_of(cfg[2].configured, cfg[2].nconfigured, "kiosk_enabled"), "true");
	assert_string_equal(kv_of(cfg[0].reported, cfg[0].nreported, "a"), "0");

	/* the devices apply the configuration deployments */
	assert_int_equal(sim_call(&f->sim, FG_HTTP_POST, "/_sim/step", "{}", NULL) / 100, 2);
	assert_int_equal(mender_config_get_many(f->c, ids, 3, cfg, res), 0);
	assert_int_equal(cfg[0].nreported, 3);
	assert_string_equal(kv_of(cfg[0].reported, cfg[0].nreported, "kiosk_url"),
			    "https://example.com/station");
	/* set, not deployed: reported unchanged */
	assert_string_equal(kv_of(cfg[2].reported, cfg[2].nreported, "a"), "0");
	st = sim_state(&f->sim);
	{
		cJSON *e;
		int conf = 0;

		cJSON_ArrayForEach(e, sim_array(st, "deployments"))
			conf += !strcmp(cJSON_GetObjectItemCaseSensitive(e, "type")->valuestring, "configuration");
		assert_int_equal(conf, 2);
	}
	cJSON_Delete(st);
	for (i = 0; i < 3; i++) {
		mender_config_release(&cfg[i]);
		mender_result_release(&res[i]);
	}
	for (i = 0; i < 4; i++)
		mender_config_job_release(&jobs[i]);
}

/* deviceconfig's 200 with the all-zero id (a store error, no workflow):
 * the item fails, with no deployment id. */
static void test_config_zero_deployment_id(void **state)
{
	struct fixture *f = *state;
	const char *const keys[] = { "k" };
	const char *const values[] = { "v" };
	struct mender_config_job jobs[2];
	size_t i;

	assert_int_equal(sim_call(&f->sim, FG_HTTP_PUT, "/_sim/settings",
				  "{\"config_deploy_zero_id\":1}", NULL), 200);
	memset(jobs, 0, sizeof(jobs));
	for (i = 0; i < 2; i++) {
		jobs[i].device_id = dev_id((unsigned)i + 5);
		jobs[i].keys = keys;
		jobs[i].values = values;
		jobs[i].n = 1;
		jobs[i].deploy = 1;
	}
	assert_int_equal(mender_config_apply_many(f->c, jobs, 2), FG_EHTTP);
	assert_non_null(strstr(fg_error_message(), "1 of 2 failed"));
	i = jobs[0].result.code ? 0 : 1;
	assert_int_equal(jobs[i].result.code, FG_EHTTP);
	assert_null(jobs[i].deployment_id);
	assert_non_null(strstr(jobs[i].result.message, "/deploy: HTTP 200: the all-zero deployment_id: nothing was deployed"));
	assert_int_equal(jobs[1 - i].result.code, 0);
	assert_non_null(jobs[1 - i].deployment_id);
	for (i = 0; i < 2; i++)
		mender_config_job_release(&jobs[i]);
}

static void test_config_many_concurrent(void **state)
{
	struct fixture *f = *state;
	enum { N = 200 };
	const char *const keys[] = { "playbook_url" };
	const char *const values[] = { "edge-playbook" };
	struct mender_config_job *jobs = fg_calloc(N, sizeof(*jobs));
	char (*ids)[25] = fg_calloc(N, sizeof(*ids));
	size_t i;

	for (i = 0; i < N; i++) {
		sim_device_id(ids[i], (unsigned)i);
		jobs[i].device_id = ids[i];
		jobs[i].keys = keys;
		jobs[i].values = values;
		jobs[i].n = 1;
		jobs[i].deploy = 1;
	}
	assert_int_equal(mender_config_apply_many(f->c, jobs, N), 0);
	for (i = 0; i < N; i++) {
		assert_int_equal(jobs[i].result.code, 0);
		assert_non_null(jobs[i].deployment_id);
		mender_config_job_release(&jobs[i]);
	}
	assert_int_equal(sim_count(&f->sim, "PUT", "/api/management/v1/deviceconfig/configurations/device/", 204), N);
	assert_int_equal(sim_count(&f->sim, "POST", "/api/management/v1/deviceconfig/configurations/device/", 200), N);
	free(jobs);
	free(ids);
}

/* ---- tags ---- */

static void test_tags(void **state)
{
	struct fixture *f = *state;
	const char *const names[] = { "subscribed_branch" };
	const char *const prod[] = { "production" };
	const char *const dev[] = { "develop" };
	struct mender_tags_job jobs[3];
	struct mender_device_list l;
	const struct mender_attr_ref want[] = { { "tags", "subscribed_branch" } };

	memset(jobs, 0, sizeof(jobs));
	jobs[0].device_id = dev_id(1);
	jobs[0].names = names;
	jobs[0].values = prod;
	jobs[0].n = 1;
	jobs[1].device_id = dev_id(3); /* had "canary" */
	jobs[1].names = names;
	jobs[1].values = dev;
	jobs[1].n = 1;
	assert_int_equal(mender_set_tags_many(f->c, jobs, 2), 0);
	jobs[2].device_id = dev_id(5);
	jobs[2].names = names;
	jobs[2].values = prod;
	jobs[2].n = 1;
	assert_int_equal(mender_set_tags_many(f->c, jobs + 2, 1), 0);
	mender_device_list_init(&l);
	assert_int_equal(mender_list_devices(f->c, want, 1, NULL, 0, &l), 0);
	assert_string_equal(mender_device_attr(find_device(&l, dev_id(1)), "tags", "subscribed_branch"), "production");
	assert_string_equal(mender_device_attr(find_device(&l, dev_id(3)), "tags", "subscribed_branch"), "develop");
	assert_string_equal(mender_device_attr(find_device(&l, dev_id(5)), "tags", "subscribed_branch"), "production");
	assert_string_equal(mender_device_attr(find_device(&l, dev_id(6)), "tags", "subscribed_branch"), "canary");
	assert_int_equal(sim_count(&f->sim, "PATCH", "/api/management/v1/inventory/devices/", 200), 3);
	mender_device_list_release(&l);
	mender_result_release(&jobs[0].result);
	mender_result_release(&jobs[1].result);
	mender_result_release(&jobs[2].result);
}


/* ---- every job's own outcome ---- */

enum { NOUT = 6 };

struct outcome_plan {
	struct plan p;
	struct plan_device d[NOUT];
	struct desired_kv kv[NOUT];
	char ids[NOUT][25];
};

/* A plan that sets, deploys and tags the configuration of NOUT devices. */
static void outcome_plan(struct outcome_plan *op)
{
	size_t i;

	memset(op, 0, sizeof(*op));
	for (i = 0; i < NOUT; i++) {
		sim_device_id(op->ids[i], (unsigned)i);
		op->kv[i].key = "kiosk_url";
		op->kv[i].value = "https://example.com/station";
		op->d[i].id = op->ids[i];
		op->d[i].kind = PLAN_MANAGED;
		op->d[i].config = PLAN_CONFIG_UPDATE;
		op->d[i].values = &op->kv[i];
		op->d[i].nvalues = 1;
		snprintf(op->d[i].digest, sizeof(op->d[i].digest), "digest-%zu", i);
	}
	op->p.branch = "production";
	op->p.devices = op->d;
	op->p.ndevices = NOUT;
}

/* What the stand-in holds for device i: "tag" (the digest tag is its
 * digest), "configured" (the map, no tag) or "none". */
static const char *held(cJSON *st, const struct outcome_plan *op, size_t i)
{
	cJSON *dev = sim_find(st, "devices", op->ids[i]);
	cJSON *tag = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(dev, "tags"),
						      PLAN_DIGEST_TAG);
	cJSON *url = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(dev, "configured"),
						      "kiosk_url");

	if (cJSON_IsString(tag))
		return strcmp(tag->valuestring, op->d[i].digest) ? "wrong tag" : "tag";
	return cJSON_IsString(url) ? "configured" : "none";
}

/* A client that sends one request at a time, so that which jobs a fault
 * reaches does not depend on timing. */
static struct mender_client *serial_client(struct fixture *f)
{
	struct mender_settings s;
	struct mender_client *c = NULL;

	settings_for(f, &s);
	s.token = TOKEN;
	s.http.max_concurrency = 1;
	assert_int_equal(mender_client_new(&c, &s), 0);
	return c;
}

/* The transport stops after three transfers (device 0's PUT and deploy,
 * device 1's PUT): device 1's deploy is abandoned, devices 2-5 are never
 * sent. Only device 0 counts as configured and gets its digest tag. */
static void test_apply_transport_stops(void **state)
{
	struct fixture *f = *state;
	struct mender_client *c = serial_client(f);
	struct outcome_plan op;
	struct apply_result r;
	cJSON *st;
	size_t i;

	outcome_plan(&op);
	transfers_done = 0;
	stop_after = 3;
	assert_int_not_equal(apply_plan(c, &op.p, &r), 0);
	assert_int_equal(stop_after, 0); /* the fault did fire */
	assert_int_equal(r.configured, 1);
	assert_int_equal(r.tagged, 1);
	assert_int_equal(r.failed, NOUT - 1);
	assert_non_null(strstr(r.first_error, "abandoned: libcurl: "));
	st = sim_state(&f->sim);
	assert_string_equal(held(st, &op, 0), "tag");
	assert_string_equal(held(st, &op, 1), "configured");
	for (i = 2; i < NOUT; i++)
		assert_string_equal(held(st, &op, i), "none");
	cJSON_Delete(st);
	assert_int_equal(sim_count(&f->sim, "PUT", "/api/management/v1/deviceconfig/", 204), 2);
	assert_int_equal(sim_count(&f->sim, "POST", "/api/management/v1/deviceconfig/", 200), 1);
	assert_int_equal(sim_count(&f->sim, "PATCH", "/api/management/v1/inventory/devices/", 200), 1);
	apply_result_release(&r);

	/* the batch calls themselves: the jobs never sent say so */
	{
		struct mender_config_job jobs[NOUT];
		const char *const keys[] = { "k" }, *const values[] = { "v" };

		memset(jobs, 0, sizeof(jobs));
		for (i = 0; i < NOUT; i++) {
			jobs[i].device_id = op.ids[i];
			jobs[i].keys = keys;
			jobs[i].values = values;
			jobs[i].n = 1;
		}
		transfers_done = 0;
		stop_after = 2;
		assert_int_equal(mender_config_apply_many(c, jobs, NOUT), FG_ERROR);
		assert_non_null(strstr(fg_error_message(), "applying configurations: 4 of 6 not done: libcurl: "));
		assert_int_equal(jobs[0].result.code, 0);
		assert_int_equal(jobs[1].result.code, 0);
		assert_int_equal(jobs[2].result.code, FG_ERROR);
		assert_non_null(strstr(jobs[2].result.message, "abandoned: libcurl: "));
		for (i = 3; i < NOUT; i++) {
			assert_int_equal(jobs[i].result.code, FG_ERROR);
			assert_non_null(strstr(jobs[i].result.message, "not done: libcurl: "));
		}
		for (i = 0; i < NOUT; i++)
			mender_config_job_release(&jobs[i]);
	}
	mender_client_free(c);
}

/* The stand-in drops every connection that deploys device 2's
 * configuration: device 2 is neither counted configured nor tagged. */
static void test_apply_connection_dropped(void **state)
{
	struct fixture *f = *state;
	struct mender_client *c = serial_client(f);
	struct outcome_plan op;
	struct apply_result r;
	struct fg_buf fault;
	cJSON *st;
	size_t i;

	outcome_plan(&op);
	fg_buf_init(&fault);
	fg_buf_printf(&fault, "{\"path_prefix\":\"/api/management/v1/deviceconfig/configurations/device/%s/deploy\","
		      "\"drop\":true,\"count\":-1}", op.ids[2]);
	assert_int_equal(sim_fault(&f->sim, fault.ptr), 0);
	assert_int_not_equal(apply_plan(c, &op.p, &r), 0);
	assert_int_equal(r.configured, NOUT - 1);
	assert_int_equal(r.tagged, NOUT - 1);
	assert_int_equal(r.failed, 1);
	assert_non_null(strstr(r.first_error, op.ids[2]));
	st = sim_state(&f->sim);
	for (i = 0; i < NOUT; i++)
		assert_string_equal(held(st, &op, i), i == 2 ? "configured" : "tag");
	cJSON_Delete(st);
	apply_result_release(&r);
	fg_buf_release(&fault);
	mender_client_free(c);
}

/* ---- errors ---- */

static void test_error_context(void **state)
{
	struct fixture *f = *state;
	const char *const devs[] = { dev_id(0) };
	const struct mender_new_deployment d = { "fleetgate:canary@5:os-1", "os-1", devs, 1 };
	char *id = NULL;
	int exists;

	assert_int_equal(sim_fault(&f->sim, "{\"path_prefix\":\"/api/management/v1/deployments/deployments\","
				   "\"method\":\"POST\",\"status\":500,\"count\":-1}"), 0);
	assert_int_equal(mender_create_deployment(f->c, &d, &id, &exists), FG_EHTTP);
	assert_non_null(strstr(fg_error_message(), "creating deployment 'fleetgate:canary@5:os-1': "
						   "POST /api/management/v1/deployments/deployments: HTTP 500"));
	assert_non_null(strstr(fg_error_message(), "(request_id "));
	/* replayed (409 makes that safe) up to the attempt limit */
	assert_int_equal(sim_count(&f->sim, "POST", "/api/management/v1/deployments/deployments", 500), 5);
	assert_null(id);
}

static void test_deadline(void **state)
{
	struct fixture *f = *state;
	struct mender_device_list l;
	struct mender_settings st;
	struct mender_client *c = NULL;
	int64_t t0 = fg_http_now_ms();

	mender_device_list_init(&l);
	settings_for(f, &st);
	st.token = TOKEN;
	st.deadline_ms = t0 + 1000;
	assert_int_equal(mender_client_new(&c, &st), 0);
	assert_int_equal(sim_fault(&f->sim, "{\"path_prefix\":\"/api/management/v2/inventory\","
				   "\"method\":\"POST\",\"delay_ms\":4000,\"count\":1}"), 0);
	assert_int_equal(mender_list_devices(c, NULL, 0, NULL, 0, &l), FG_ETIMEOUT);
	assert_non_null(strstr(fg_error_message(), "POST http://127.0.0.1:"));
	assert_non_null(strstr(fg_error_message(), "/api/management/v2/inventory/filters/search"));
	assert_true(fg_http_now_ms() - t0 < 3000);
	assert_int_equal(l.n, 0);
	mender_client_free(c);
	mender_device_list_release(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_credentials),
		cmocka_unit_test_setup_teardown(test_inventory_pages, setup_1234, teardown),
		cmocka_unit_test_setup_teardown(test_inventory_filters, setup_1234, teardown),
		cmocka_unit_test_setup_teardown(test_login_right_password, setup_login, teardown),
		cmocka_unit_test_setup_teardown(test_login_wrong_password, setup_login, teardown),
		cmocka_unit_test_setup_teardown(test_token_auth, setup_token, teardown),
		cmocka_unit_test_setup_teardown(test_secrets_never_logged, setup_login, teardown),
		cmocka_unit_test_setup_teardown(test_create_and_exists, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_create_replayed_after_503, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_create_missing_artifact, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_create_over_body_limit, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_find_and_active, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_active_pages, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_abort_device, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_abort_deployment, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_create_conflict_with_aborted_record, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_artifacts, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_config_get, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_config_apply, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_config_zero_deployment_id, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_config_many_concurrent, setup_1234, teardown),
		cmocka_unit_test_setup_teardown(test_tags, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_apply_transport_stops, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_apply_connection_dropped, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_error_context, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_deadline, setup_small, teardown),
	};
	int failed;

	if (fg_http_global_init())
		return 1;
	failed = cmocka_run_group_tests_name("mender", tests, NULL, NULL);
	fg_http_global_cleanup();
	return failed ? 1 : 0;
}
