#ifndef FLEETGATE_MENDER_H
#define FLEETGATE_MENDER_H

#include "mender/http.h"

#include <stddef.h>
#include <stdint.h>

/*
 * The client of Mender's management API that the scheduler needs:
 * inventory, deployments, artifacts, Mender Configure and tags.
 * (Paths and shapes: Mender server v4.1.3, as tests/sim/contract/mender-api.yaml
 * records them.)
 *
 * Every call is bounded by the client's deadline, runs its requests through
 * one connection pool (fg_http), retries what may be retried and returns 0
 * or a negative FG_E* code with a message that names the method, the path,
 * the HTTP status, and Mender's `error` and `request_id` when it sent them.
 * 401/403 give FG_EAUTH; 404 FG_ENOTFOUND; other statuses FG_EHTTP.
 *
 * Everything returned is the caller's: each struct names its _release.
 * Strings taken from Mender are valid UTF-8 (invalid bytes become U+FFFD);
 * strings sent to Mender must be valid UTF-8 (else FG_EINVAL).
 *
 * Calls on many devices (the *_many functions) run concurrently, at most
 * max_concurrency requests at once, and report per item; they return 0 when
 * every item succeeded, else the code of the first failed item with a
 * message "K of N failed; first: ...".
 *
 * libcurl's global init is the program's: see fg_http_global_init().
 * A client is used by one thread at a time.
 */

struct mender_settings {
	const char *server;         /* "https://host[:port]", no path; required */
	const char *token;          /* personal access token (or any JWT) */
	const char *user;           /* else: login with user + password */
	const char *password;
	int64_t deadline_ms;        /* absolute, fg_http_now_ms() clock; 0: none
				     * (each call then gets 60 s) */
	unsigned page_size;         /* inventory page size; 0: 500 (Mender's max) */
	struct fg_http_options http; /* ca_file, max_concurrency, retries,
				     * timeouts, log callback, debug */
};

struct mender_client;

/*
 * Make a client. With a token it is used as it is (a wrong one shows as
 * FG_EAUTH on the first call); with user + password it logs in first
 * (POST /api/management/v1/useradm/auth/login, HTTP Basic), and a refused
 * login is FG_EAUTH. The settings' strings are copied; token and password
 * are registered as secrets with the log (see http.h) and wiped on free.
 * Errors: FG_EINVAL (no server, no credentials), FG_EAUTH, network errors.
 */
int mender_client_new(struct mender_client **out, const struct mender_settings *s);
void mender_client_free(struct mender_client *c);

/* ---- inventory ---- */

struct mender_attr {
	const char *scope;          /* "inventory", "identity", "system", "tags", ...
				     * (scope and name are shared by every device
				     * of the list and owned by it) */
	const char *name;
	char *value;                /* strings as they are; numbers shortest
				     * round-trip ("1.5", "42"); booleans
				     * "true"/"false"; arrays as compact JSON
				     * (["a","b"]); null as "" */
};

struct mender_device {
	char *id;
	struct mender_attr *attrs;
	size_t nattrs;
};

struct mender_device_list {
	struct mender_device *items; /* sorted by id, no duplicates */
	size_t n, alloc;
	char **names;                /* the attributes' scopes and names, once each */
	size_t nnames, names_alloc;
};

void mender_device_list_init(struct mender_device_list *l);
void mender_device_list_release(struct mender_device_list *l);

/* The value of attribute `name` in `scope` (NULL: any scope, first match
 * in the order inventory, identity, system, tags, others); NULL if absent.
 * Borrowed from the device. */
const char *mender_device_attr(const struct mender_device *d, const char *scope,
			       const char *name);

struct mender_attr_ref {
	const char *scope;
	const char *name;
};

struct mender_filter {
	const char *scope;          /* inventory, identity, system, tags, monitor */
	const char *attribute;
	const char *type;           /* "$eq", "$in", "$nin" */
	const char *value;          /* for $eq */
	const char *const *values;  /* for $in / $nin */
	size_t nvalues;
};

/*
 * Every device matching all `filters` (none: every device), with the
 * attributes in `want` (none: all attributes), through
 * POST /api/management/v2/inventory/filters/search, page by page
 * (page_size, 500 by default). The first page gives X-Total-Count; the
 * others are fetched concurrently; the walk goes on while pages come back
 * full and short of the total. `out` must be initialised; it is replaced.
 */
int mender_list_devices(struct mender_client *c, const struct mender_attr_ref *want,
			size_t nwant, const struct mender_filter *filters, size_t nfilters,
			struct mender_device_list *out);

/* ---- deployments ---- */

struct mender_stat {
	char *status;               /* "success", "pending", "failure", ... */
	long long count;
};

struct mender_deployment {
	char *id;
	char *name;
	char *artifact_name;
	char *type;                 /* "software" or "configuration" ("" when not said) */
	char *status;               /* "pending", "inprogress", "finished" */
	char *created;              /* RFC 3339 as Mender wrote it */
	int64_t created_us;         /* the same parsed (mender_parse_time in
				     * parse.h); 0 when absent or not a time */
	long long device_count;     /* -1 when not said */
	long long max_devices;      /* -1 when not said */
	char **devices;             /* MENDER_WITH_DEVICES: every targeted id */
	size_t ndevices;
	struct mender_stat *stats;  /* MENDER_WITH_STATS: counts by device status */
	size_t nstats;
};

struct mender_deployment_list {
	struct mender_deployment *items;
	size_t n, alloc;
};

void mender_deployment_list_init(struct mender_deployment_list *l);
void mender_deployment_list_release(struct mender_deployment_list *l);
/* Free one deployment's contents (for callers that filter a list). */
void mender_deployment_release(struct mender_deployment *d);

enum {
	MENDER_WITH_DEVICES = 1 << 0, /* GET .../{id}/device_list for each */
	MENDER_WITH_STATS = 1 << 1,   /* GET .../{id}/statistics for each */
	MENDER_SOFTWARE_ONLY = 1 << 2, /* list only type=software (not the
					* per-device configuration deployments) */
};

/*
 * Deployments (any status) named exactly as one of `names`, newest first
 * per name batch, through GET /api/management/v2/deployments/deployments
 * ?name=..&name=.. (several names a request, every page). Appends to `out`.
 */
int mender_find_deployments(struct mender_client *c, const char *const *names, size_t n,
			    unsigned flags, struct mender_deployment_list *out);

/* Active deployments (status pending, then inprogress; every page of v2).
 * Appends to `out`. */
int mender_list_active_deployments(struct mender_client *c, unsigned flags,
				   struct mender_deployment_list *out);

struct mender_new_deployment {
	const char *name;
	const char *artifact_name;
	const char *const *devices;
	size_t ndevices;
};

/*
 * Create a deployment of an artifact to devices (POST
 * /api/management/v1/deployments/deployments); *id_out gets its id
 * (malloc'd), from the Location header. When Mender answers 409 (an active
 * deployment with the same parameters exists, e.g. a replay), *exists is 1
 * and *id_out is that deployment's id, found by name. 422 (no artifact of
 * that name) is FG_ENOTFOUND, naming the artifact. A body over Mender's
 * 1 MiB limit is FG_ELIMIT before anything is sent: split the devices.
 */
int mender_create_deployment(struct mender_client *c, const struct mender_new_deployment *d,
			     char **id_out, int *exists);

/* Abort a whole deployment (PUT .../{id}/status {"status":"aborted"}).
 * One already finished (422) is not an error: *was_finished is set. */
int mender_abort_deployment(struct mender_client *c, const char *id, int *was_finished);

/* ---- per device ---- */

/* The outcome of one item of a *_many call; release with
 * mender_result_release(). Each item carries its own: one that the batch
 * never reached (the transport stopped the run) is a failure saying so. */
struct mender_result {
	int code;                   /* 0 or FG_E* */
	char *message;              /* when code != 0 */
};

void mender_result_release(struct mender_result *r);

/*
 * Abort every active deployment of each device: DELETE
 * /api/management/v1/deployments/deployments/devices/{id}, which aborts at
 * most two a call, repeated until a DELETE changes nothing (the device's
 * count of aborted records, X-Total-Count of ?status=aborted, stays the
 * same: Mender makes records lazily, so deployments that list the device
 * may have none yet) and GET .../devices/{id}?status=active is empty.
 * At most 16 rounds a device (more is FG_ELIMIT). `results` has `n`
 * entries, filled in order.
 */
int mender_abort_devices(struct mender_client *c, const char *const *ids, size_t n,
			 struct mender_result *results);

/* One device's status in a deployment it has picked up. */
struct mender_device_status {
	char *device_id;
	char *status;               /* pending, downloading, ..., success, failure, aborted */
};

struct mender_device_status_list {
	struct mender_device_status *items;
	size_t n, alloc;
};

void mender_device_status_list_init(struct mender_device_status_list *l);
void mender_device_status_list_release(struct mender_device_status_list *l);

/* The devices that picked up deployment `id` and their status (GET
 * .../deployments/{id}/devices/list, pages of 500). Devices that have not
 * polled yet are not listed (Mender assigns lazily). Appends to `out`. */
int mender_deployment_devices(struct mender_client *c, const char *id,
			      struct mender_device_status_list *out);

/* ---- artifacts ---- */

struct mender_artifact {
	char *id;
	char *name;
	char **device_types;        /* device_types_compatible */
	size_t ndevice_types;
};

struct mender_artifact_list {
	struct mender_artifact *items;
	size_t n, alloc;
};

void mender_artifact_list_init(struct mender_artifact_list *l);
void mender_artifact_list_release(struct mender_artifact_list *l);

/* Artifacts named exactly as one of `names` (GET
 * /api/management/v1/deployments/artifacts?name=.., one request a name,
 * concurrently: every supported server has it); names with a '*' are
 * refused (the v2 list reads it as a prefix match). Appends. */
int mender_find_artifacts(struct mender_client *c, const char *const *names, size_t n,
			  struct mender_artifact_list *out);

/* ---- Mender Configure ---- */

struct mender_kv {
	char *key;
	char *value;
};

struct mender_config {
	int found;                  /* 0: Mender has no record (404): both maps empty */
	struct mender_kv *configured; /* sorted by key */
	size_t nconfigured;
	struct mender_kv *reported; /* sorted by key */
	size_t nreported;
	char *deployment_id;        /* last configuration deployment, or NULL */
};

void mender_config_init(struct mender_config *cfg);
void mender_config_release(struct mender_config *cfg);

/*
 * Mender Configure is an add-on (hosted Mender, Enterprise): where it is
 * absent, deviceconfig answers 403 (the add-on check) or a 404 that is not
 * deviceconfig's own JSON error (no such service behind the gateway). Such
 * an answer fails the item with FG_ENOADDON and marks the client; this
 * says whether one came.
 */
int mender_configure_absent(const struct mender_client *c);

/* GET /api/management/v1/deviceconfig/configurations/device/{id} for
 * each device: `out[i]` (initialised) for `ids[i]`. */
int mender_config_get_many(struct mender_client *c, const char *const *ids, size_t n,
			   struct mender_config *out, struct mender_result *results);

struct mender_config_job {
	const char *device_id;
	const char *const *keys;    /* the whole desired map: PUT replaces it */
	const char *const *values;  /* sent as JSON strings */
	size_t n;                   /* at most 100 keys; keys and values <= 4096 bytes */
	int deploy;                 /* then POST .../deploy {"retries":0} */
	/* out, release with mender_config_job_release() */
	struct mender_result result;
	char *deployment_id;        /* when deployed */
};

void mender_config_job_release(struct mender_config_job *job);

/*
 * For each job: PUT the configuration, then (if `deploy`) POST .../deploy,
 * which Mender answers with the configuration deployment's id. Deploying is
 * not replayed on an uncertain failure (it would make a second deployment);
 * setting is (PUT is idempotent).
 */
int mender_config_apply_many(struct mender_client *c, struct mender_config_job *jobs, size_t n);

/* ---- tags ---- */

struct mender_tags_job {
	const char *device_id;
	const char *const *names;
	const char *const *values;
	size_t n;
	struct mender_result result; /* out */
};

/* PATCH /api/management/v1/inventory/devices/{id}/tags (upsert) for each. */
int mender_set_tags_many(struct mender_client *c, struct mender_tags_job *jobs, size_t n);

#endif
