#ifndef FLEETGATE_PLAN_H
#define FLEETGATE_PLAN_H

#include <stddef.h>

#include "fleet/desired.h"
#include "core/hmac.h"

/*
 * The planner (docs/design.md, "Scheduling"): from the desired state of every device of a branch
 * and the facts Mender holds, the actions that bring the devices there.
 * A pure function: no I/O, so every rule is tested on data.
 *
 *  - OS: a device needs an update when its installed artifact differs from
 *    the desired one. Devices needing the same artifact share one
 *    deployment named fleetgate:<branch>@<short-sha>:<artifact> (devices in
 *    id order, so a replay is byte-identical and Mender answers 409).
 *    An active deployment of the desired artifact: nothing to do. An
 *    active deployment of another artifact the device has not installed is
 *    superseded: aborted for that device before the new one is made. A
 *    device that already failed the very deployment it would get (same
 *    name) is reported, not retried: a new commit retries it.
 *  - Configuration: compared through a digest. Mender Configure has no list
 *    endpoint, so reading every device's configuration costs one request a
 *    device; instead fleetgate keeps on each device a Mender tag
 *    (PLAN_DIGEST_TAG) holding the digest of the map it last set, which
 *    comes with the inventory pages. Equal digests: nothing to do. The
 *    digest is keyed (lib/core/hmac.h): the map holds resolved secrets, and
 *    Mender's inventory is read by more people than the git server. A tag
 *    of another form (an older fleetgate's) simply differs. With the
 *    configuration read (reconcile --full), configured/reported maps are
 *    compared too, which catches changes made in Mender's UI.
 *  - Reported, not touched: two-branch conflicts, devices Mender has not
 *    accepted, devices in git but unknown to Mender, artifacts Mender lacks
 *    for the device type, secrets that cannot be resolved.
 */

#define PLAN_DIGEST_TAG "fleetgate_config"
#define PLAN_NAME_PREFIX "fleetgate:"
/* Mender caps deployment names at 256 characters (mender-server main,
 * commit 4983b46f, MEN-9222); fleetgate keeps to 256 bytes. */
#define PLAN_NAME_MAX 256
#define PLAN_NAME_HASH_LEN 16  /* hex digits of the hash of a shortened name */
#define PLAN_NAME_MIN_ART 64   /* bytes of the artifact kept when the branch is long */

/* A deployment Mender holds that lists a device, with the device's own
 * status in it when the device has picked it up. */
struct plan_deployment_fact {
	const char *id;
	const char *name;
	const char *artifact;
	int configuration;       /* type configuration (Mender Configure) */
	int active;              /* the deployment is pending or in progress */
	const char *device_status; /* pending, downloading, ..., success, failure,
				    * aborted, noartifact, already-installed;
				    * NULL: not picked up yet */
};

struct plan_kv {
	const char *key;
	const char *value;
};

/* What Mender says of one device. */
struct plan_facts {
	const char *id;
	const char *device_type;   /* NULL when the inventory has none */
	const char *tag_branch;    /* subscribed_branch attribute, any scope */
	const char *status;        /* identity status; NULL counts as accepted */
	const char *installed;     /* the OS attribute, else artifact_name */
	const char *digest_tag;    /* PLAN_DIGEST_TAG tag, or NULL */
	const struct plan_deployment_fact *deployments;
	size_t ndeployments;
	int config_known;          /* configured/reported below were read */
	int config_deployed;       /* Mender Configure names a deployment of it */
	const struct plan_kv *configured; /* sorted by key */
	size_t nconfigured;
	const struct plan_kv *reported;   /* sorted by key */
	size_t nreported;
};

/* An artifact Mender holds. */
struct plan_artifact {
	const char *name;
	const char *const *device_types;
	size_t ndevice_types;
};

/* An active deployment, with every device it lists and each one's status
 * in it (NULL: no record yet, the device has not polled). */
struct plan_active {
	const char *id;
	const char *name;
	const char *const *devices;
	const char *const *statuses;
	size_t ndevices;
};

struct plan_input {
	const char *branch;
	const char *commit;          /* full or short hex of the branch's tip */
	const struct branch_view *views; /* every branch's fleet, for conflicts */
	size_t nviews;
	const struct tag_policy *tags;
	const struct plan_facts *devices; /* every device in the inventory, sorted by id */
	size_t ndevices;
	const struct plan_artifact *artifacts; /* those named by the branch's fleet */
	size_t nartifacts;
	secret_lookup_fn secret;     /* resolves ${secret:NAME}; NULL: none resolve */
	void *secret_ctx;
	const struct hmac_key *digest_key; /* of the configuration digests; required */
	int configure_absent;        /* Mender Configure is not on the server:
				      * configuration is not managed */
	const struct plan_active *active; /* active software deployments */
	size_t nactive;
};

enum plan_kind {
	PLAN_MANAGED,      /* the branch manages it: see os and config */
	PLAN_CONFLICT,     /* two branches claim it: left alone */
	PLAN_NOT_ACCEPTED, /* Mender has not accepted it: left alone */
	PLAN_UNKNOWN,      /* a device file in git, no such device in Mender */
};

enum plan_os {
	PLAN_OS_NO_IMAGE,  /* no artifact for its device type: configuration only */
	PLAN_OS_IN_SYNC,
	PLAN_OS_PENDING,   /* an active deployment of the desired artifact */
	PLAN_OS_UPDATE,    /* joins the batch of its artifact */
	PLAN_OS_NO_ARTIFACT, /* Mender has no such artifact for this device type */
	PLAN_OS_FAILED,    /* it failed this very deployment: not retried */
};

enum plan_config {
	PLAN_CONFIG_NONE,     /* no keys at all */
	PLAN_CONFIG_IN_SYNC,
	PLAN_CONFIG_PENDING,  /* configured as desired, deployment active */
	PLAN_CONFIG_UPDATE,   /* set, deploy, then record the digest tag */
	PLAN_CONFIG_TAG_ONLY, /* reported equals desired: only record the digest */
	PLAN_CONFIG_SECRET_MISSING, /* a secret could not be resolved */
	PLAN_CONFIG_UNMANAGED, /* Mender Configure is not on the server */
};

struct plan_device {
	char *id;
	char *label;             /* name: from the device file, or NULL */
	char *device_type;
	enum plan_kind kind;
	enum subscription_source source;
	char *note;              /* a warning or the reason it is left alone */
	/* with PLAN_MANAGED */
	enum plan_os os;
	char *installed;
	char *artifact;          /* desired, or NULL */
	char *failed_deployment; /* with PLAN_OS_FAILED: its id */
	char *deployment_status; /* the device's status in its fleetgate deployment
				  * of the desired artifact (pending, installing,
				  * success, failure, ...), or NULL */
	char **aborts;           /* ids of superseded active deployments */
	size_t naborts;
	enum plan_config config;
	struct desired_kv *values; /* desired map, secrets resolved */
	size_t nvalues;
	size_t changed_keys;     /* keys that differ from what Mender holds, when known */
	int config_verified;     /* compared with the device's reported map (full mode),
				  * not only with the digest fleetgate recorded */
	char digest[HMAC_HEX_LEN + 1];
	char *missing_secret;
};

/* One deployment to create. */
struct plan_batch {
	char *name;
	char *artifact;
	char **devices; /* sorted */
	size_t ndevices;
};

struct plan {
	char *branch;
	char *commit;
	struct plan_device *devices; /* the devices the branch concerns, by id */
	size_t ndevices;
	struct plan_batch *batches;  /* by artifact name */
	size_t nbatches;
	/* counts */
	size_t managed, os_updates, os_pending, os_failed, no_artifact, config_updates,
		config_pending, tag_only, conflicts, not_accepted, unknown, secret_missing, aborts;
	int configure_absent;        /* from the input */
	/* fleetgate's active deployments that no device needs any more (each
	 * listed device is aborted by this plan or has a finished record):
	 * aborted whole, so none is left active (Mender 4.1 counts a device
	 * aborted before it polled as pending for ever), by id */
	char **finish;
	size_t nfinish;
};

/* What the plan says once when Mender Configure is absent. */
#define PLAN_NO_CONFIGURE "configuration is not managed: Mender Configure is not enabled on this server"

/*
 * Compute the plan of `in->branch`. Devices that follow another branch are
 * not in the plan. Fills *out (release with plan_release()). Returns 0, or
 * FG_EINVAL when the branch has no view or there is no digest key, or
 * FG_ERROR when a digest could not be computed (*out is then released).
 */
int plan_compute(struct plan *out, const struct plan_input *in);
void plan_release(struct plan *p);

/* Digest of a configuration map (sorted by key), secrets resolved: the hex
 * HMAC-SHA256 under `key` of each key and value in turn, each written as
 * its length in decimal, ':', then its bytes (so no two maps share an
 * encoding), into `hex` (HMAC_HEX_LEN + 1 bytes). FG_ERROR when libcrypto
 * fails. */
int plan_config_digest(const struct hmac_key *key, const struct desired_kv *kv, size_t n,
		       char *hex);

/* The deployment name for an artifact of a branch at a commit, malloc'd:
 * fleetgate:<branch>@<7 hex of commit>:<artifact>. One over PLAN_NAME_MAX
 * bytes has its artifact part (and, for a long branch, its branch part)
 * cut on a character boundary and '~' and 16 hex digits of a hash of the
 * whole name appended: at most 256 bytes, the same for the same branch,
 * commit and artifact, different for different ones. */
char *plan_deployment_name(const char *branch, const char *commit, const char *artifact);

/* Whether `status` is one of a device deployment's active statuses. */
int plan_status_active(const char *status);

#endif
