#ifndef SIM_STORE_H
#define SIM_STORE_H

/*
 * The stand-in's model of a Mender server: devices (inventory), artifacts,
 * deployments with their lazily created device-deployment records, and
 * Mender Configure records. Semantics follow mender-server v4.1.3
 * (docs/mender-sim.md, "Semantics").
 *
 * The store has no lock of its own: the HTTP layer holds the server lock
 * around every call. The store owns everything reachable from it; pointers
 * it hands out stay valid until sim_store_free (devices and artifacts are
 * replaced in place, never freed while the store lives).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "util.h"
#include "version.h"

enum sim_scope {
	SIM_SCOPE_IDENTITY,
	SIM_SCOPE_INVENTORY,
	SIM_SCOPE_SYSTEM,
	SIM_SCOPE_TAGS,
	SIM_SCOPE_MONITOR,
	SIM_NSCOPES
};

/* Scope name <-> enum; sim_scope_parse returns -1 for an unknown name. */
const char *sim_scope_name(enum sim_scope s);
int sim_scope_parse(const char *name);

/* installing: takes its deployment and stays in `installing` (a stuck device);
 * real: a Mender client drives the device through the device API
 * (devices.h); /_sim/step leaves it alone. */
enum sim_behaviour {
	SIM_BEHAVE_SUCCESS,
	SIM_BEHAVE_FAILURE,
	SIM_BEHAVE_OFFLINE,
	SIM_BEHAVE_INSTALLING,
	SIM_BEHAVE_REAL,
	SIM_NBEHAVIOURS
};

const char *sim_behaviour_name(enum sim_behaviour b);
int sim_behaviour_parse(const char *name);

/* Device-deployment statuses (model/device_deployment.go). */
enum sim_dd_status {
	SIM_DD_PENDING,
	SIM_DD_DOWNLOADING,
	SIM_DD_INSTALLING,
	SIM_DD_REBOOTING,
	SIM_DD_PAUSE_BEFORE_INSTALLING,
	SIM_DD_PAUSE_BEFORE_COMMITTING,
	SIM_DD_PAUSE_BEFORE_REBOOTING,
	SIM_DD_SUCCESS,
	SIM_DD_FAILURE,
	SIM_DD_ABORTED,
	SIM_DD_NOARTIFACT,
	SIM_DD_ALREADY_INSTALLED,
	SIM_DD_DECOMMISSIONED,
	SIM_DD_NSTATUS
};

const char *sim_dd_status_name(enum sim_dd_status s);
int sim_dd_status_parse(const char *name);
bool sim_dd_status_active(enum sim_dd_status s);

/* One attribute. `value` (owned) is a string, a number or an array. */
struct sim_attr {
	char *name;
	cJSON *value;
	char *description; /* NULL when none */
	int64_t ts_us;	   /* tags: time of the last update; 0 otherwise */
};

struct sim_attrs {
	struct sim_attr *v;
	size_t n, alloc;
};

struct sim_attr *sim_attrs_find(const struct sim_attrs *a, const char *name);
/* Insert or replace `name`; takes ownership of `value`. */
void sim_attrs_set(struct sim_attrs *a, const char *name, cJSON *value,
		   const char *description, int64_t ts_us);
void sim_attrs_clear(struct sim_attrs *a);
/* A value Mender accepts: string, number, or array of only strings or only
 * numbers (model/device.go validateDeviceAttrVal). */
bool sim_attr_value_valid(const cJSON *v);

struct sim_device {
	char *id;
	struct sim_attrs attrs[SIM_NSCOPES]; /* system scope is kept in sync */
	char *group;			     /* NULL when in no static group */
	int64_t created_us, updated_us;
	char etag[37]; /* changes with every tag update */
	enum sim_behaviour behaviour;
};

/* The string value of an attribute, or NULL (absent or not a string). */
const char *sim_device_string(const struct sim_device *d, enum sim_scope scope,
			      const char *name);
/* Record that `d` changed at `now` (system/updated_ts follows). */
void sim_device_touch(struct sim_device *d, int64_t now);

struct sim_artifact {
	char id[37];
	char *name;
	char *description;
	char **device_types;
	size_t ndevice_types;
	char *update_type; /* payload type, e.g. "rootfs-image" */
	int64_t size;
	int64_t modified_us;
};

bool sim_artifact_compatible(const struct sim_artifact *a, const char *device_type);

struct sim_deployment;

/* One device's part in one deployment, created when the device polls. */
struct sim_devdep {
	char id[37];
	struct sim_deployment *dep; /* not owned */
	char *device_id;
	enum sim_dd_status status;
	int64_t created_us, started_us, finished_us, deleted_us; /* 0: unset */
	char *device_type;		/* as the device reported it; may be NULL */
	const struct sim_artifact *image; /* NULL: none chosen */
};

struct sim_deployment {
	char id[37];
	char *name;
	char *artifact_name;
	char **devices; /* targeted ids, as given: order kept, duplicates kept */
	size_t ndevices;
	struct sim_map *members; /* id -> non-NULL, for membership tests */
	bool all_devices;
	bool force;
	char *group;	     /* group deployments: the group's name */
	bool configuration;  /* type configuration, else software */
	char *config_json;   /* configuration deployments: the map deployed */
	char *key;	     /* constructor checksum input (409 rule) */
	int64_t created_us;  /* strictly increasing over the store */
	int64_t finished_us; /* 0 while active */
	bool aborted;
	size_t max_devices;
	size_t stats[SIM_DD_NSTATUS];
	struct sim_devdep **records; /* owned; in creation order */
	size_t nrecords, arecords;
};

bool sim_deployment_active(const struct sim_deployment *d);
/* "pending", "inprogress" or "finished". */
const char *sim_deployment_status(const struct sim_deployment *d);

/* A Mender Configure record. */
struct sim_config {
	cJSON *configured; /* object of strings, owned */
	cJSON *reported;   /* object of strings, owned */
	char deployment_id[37];
	int64_t updated_us, reported_us;
};

struct sim_dd_list {
	struct sim_devdep **v; /* not owned: the deployments own them */
	size_t n, alloc;
};

struct sim_store {
	struct sim_map *devices; /* id -> struct sim_device */
	struct sim_device **order; /* insertion order */
	size_t ndevices, adevices;
	struct sim_artifact **artifacts;
	size_t nartifacts, aartifacts;
	struct sim_artifact **retired; /* deleted, kept for the records that point at them */
	size_t nretired, aretired;
	struct sim_map *deployments; /* id -> struct sim_deployment */
	struct sim_deployment **deps; /* creation order */
	size_t ndeps, adeps;
	struct sim_map *dd_by_device; /* device id -> struct sim_dd_list */
	struct sim_map *configs;      /* device id -> struct sim_config */
	struct sim_map *active_keys;  /* constructor key -> active deployment */
	int64_t last_created_us;
	enum sim_version version; /* SIM_VERSION_DEFAULT unless set */
	uint64_t queries;	  /* inventory queries served: seeds unsorted orders */
};

struct sim_store *sim_store_new(void);
void sim_store_free(struct sim_store *s);

/*
 * Add the devices and artifacts of a seed document (docs/mender-sim.md).
 * Everything is checked before anything changes. A device whose id exists
 * is refused unless `replace`, in which case it is replaced (its deployment
 * history stays). Returns 0, or -1 with a message in `err`.
 */
int sim_store_seed(struct sim_store *s, const cJSON *doc, bool replace, struct sim_buf *err);

enum sim_delete_result { SIM_DELETED, SIM_DELETE_NOT_FOUND, SIM_DELETE_IN_USE };

/* DELETE .../artifacts/{id}: refused while an active deployment names it. */
enum sim_delete_result sim_store_delete_artifact(struct sim_store *s, const char *id);

struct sim_device *sim_store_device(const struct sim_store *s, const char *id);
struct sim_deployment *sim_store_deployment(const struct sim_store *s, const char *id);
struct sim_config *sim_store_config(const struct sim_store *s, const char *device_id);
/* The record of `device_id`, created empty when missing. */
struct sim_config *sim_store_config_upsert(struct sim_store *s, const char *device_id,
					   int64_t now);
const struct sim_dd_list *sim_store_device_records(const struct sim_store *s,
						   const char *device_id);

enum sim_create_result {
	SIM_CREATED,
	SIM_CREATE_CONFLICT,	/* identical constructor among active ones: 409 */
	SIM_CREATE_NO_ARTIFACT, /* 422 */
	SIM_CREATE_NO_DEVICES,	/* group/all_devices resolved to none: 400 */
	SIM_CREATE_DUPLICATE_ID /* configuration deployment id taken: 409 */
};

struct sim_new_deployment {
	const char *id; /* NULL: generate */
	const char *name;
	const char *artifact_name;
	const char *const *devices;
	size_t ndevices;
	bool all_devices;
	bool force;
	const char *group;	 /* resolve the group's accepted devices */
	const char *config_json; /* non-NULL: a configuration deployment */
};

enum sim_create_result sim_store_create_deployment(struct sim_store *s,
						   const struct sim_new_deployment *nd,
						   int64_t now, struct sim_deployment **out);

/*
 * What the device gets when it polls now, as the server's device API
 * answers: its oldest active device deployment, else a new record for the
 * oldest active deployment created after its last finished one that lists
 * it. A new record may be final at once (noartifact, already-installed).
 * NULL: nothing to do.
 */
struct sim_devdep *sim_store_poll(struct sim_store *s, const struct sim_device *d, int64_t now);
/* The same for a device that says what it runs (a real client's next
 * deployment request: its device_type and artifact_name), as the server
 * judges "already installed" from the request, not from the inventory. */
struct sim_devdep *sim_store_poll_as(struct sim_store *s, const struct sim_device *d,
				     const char *device_type, const char *installed, int64_t now);

/* Move a record to `status`, keeping the deployment's statistics. */
void sim_store_set_status(struct sim_store *s, struct sim_devdep *r, enum sim_dd_status status,
			  int64_t now);

/* PUT .../deployments/{id}/status aborted; false when already finished. */
bool sim_store_abort_deployment(struct sim_store *s, struct sim_deployment *d, int64_t now);

/* DELETE .../deployments/devices/{id}: abort every active deployment of a device. */
void sim_store_abort_device(struct sim_store *s, const char *device_id, int64_t now);

/* DELETE .../deployments/devices/{id}/history. */
void sim_store_reset_history(struct sim_store *s, const char *device_id, int64_t now);

struct sim_step_result {
	size_t acted, success, failure, noartifact, already_installed;
};

/* POST /_sim/step: every device not offline acts once. */
void sim_store_step(struct sim_store *s, int64_t now, struct sim_step_result *out);

#endif
