#ifndef FLEETGATE_FLEET_H
#define FLEETGATE_FLEET_H

#include <stddef.h>

#include "fleet/diag.h"
#include "fleet/source.h"

/*
 * The fleet repository model (docs/design.md): fleet.yaml and devices/<id>.yaml,
 * loaded from any source and validated in the same pass.
 */

#define FLEET_MAX_FILE (1024 * 1024)
#define FLEET_FILE "fleet.yaml"
#define FLEET_DEVICES_DIR "devices"
/* Mender Configure limits (4096-byte values, 100 keys a device). */
#define FLEET_MAX_CONFIG_KEYS 100
#define FLEET_MAX_CONFIG_VALUE 4096
#define FLEET_MAX_ARTIFACT_NAME 256
/* In a configuration value: the device's desired artifact (desired.h). */
#define FLEET_OS_IMAGE_REF "${os_image}"

/* A key and its value exactly as written, with where it was written. */
struct fleet_kv {
	char *key;
	char *value;
	unsigned line;
	unsigned column;
};

/* Pairs in the order written; a key written twice keeps the last value. */
struct fleet_map {
	struct fleet_kv *items;
	size_t count;
	size_t alloc;
};

struct fleet_role {
	char *name;
	struct fleet_map config;
};

struct fleet_device {
	char *id;                /* Mender device id, from the file name */
	char *file;              /* "devices/<id>.yaml" */
	char *name;              /* label, or NULL */
	char *subscribed_branch; /* or NULL */
	char **roles;
	size_t nroles;
	struct fleet_map os_images; /* device_type -> artifact */
	struct fleet_map config;
};

struct fleet {
	int version;
	char *default_branch;       /* or NULL */
	char **promotion;           /* stages, upstream first; NULL when absent */
	size_t npromotion;
	char *mender_server;        /* or NULL */
	char *os_attribute;         /* never NULL: default rootfs-image.version */
	struct fleet_map os_images;
	struct fleet_map config;
	struct fleet_role *roles;
	size_t nroles;
	struct fleet_device *devices; /* sorted by id */
	size_t ndevices;
};

struct fleet_load_options {
	/* Branches known to the repository, for the unknown-branch warning;
	 * with check_branches 0 that check is skipped (no repository). */
	int check_branches;
	char **branches;
	size_t nbranches;
	/* Stages from the server's settings, also accepted as branch names. */
	char **stages;
	size_t nstages;
};

/*
 * Load and validate the fleet in `src`. Every problem found is added to
 * `diags` (file paths are relative to the repository root); loading goes on
 * past problems so that one run reports them all. *out is always set on
 * success, holding what could be understood; it is usable for planning only
 * when no error was reported. Returns 0, or a negative FG_E* code when the
 * source itself failed (I/O, libgit2), with *out NULL.
 */
int fleet_load(struct fleet **out, const struct source *src, const struct fleet_load_options *opts,
	       struct diags *diags);

void fleet_free(struct fleet *fleet);

/* Only `promotion:` of fleet.yaml in `src` (for the promotion rules, which
 * must not load every device file). *count 0 when fleet.yaml is missing or
 * has no promotion; FG_EINVAL, naming the file, line and column, when
 * fleet.yaml or its promotion cannot be read (never "no stages"). Free with
 * fg_strings_free(). */
int fleet_read_promotion(const struct source *src, char ***stages, size_t *count);

/* Stage names are used in git config keys (fleetgate.pushers.<stage>),
 * whose last part git lowercases and limits to letters, digits and '-': a
 * stage name must survive that unchanged. */
#define FLEET_STAGE_NAME_MAX 100
#define FLEET_STAGE_NAME_RULE \
	"a stage name is lowercase letters, digits and '-', starts with a letter and has at most 100 characters, because git config keys such as fleetgate.pushers.<stage> cannot hold anything else"
int fleet_stage_name_valid(const char *name);

/*
 * Whether `name` is a branch name git accepts (git check-ref-format --branch,
 * as libgit2's git_branch_name_is_valid judges it): refs/heads/<name> is a
 * valid ref name and <name> is neither "HEAD" nor starts with '-'. A pure
 * function, tested against libgit2 in tests/unit/test_branch_name.c.
 */
int fleet_branch_name_valid(const char *name);

const struct fleet_device *fleet_find_device(const struct fleet *fleet, const char *id);
const struct fleet_role *fleet_find_role(const struct fleet *fleet, const char *name);
/* The value for `key`, or NULL. */
const char *fleet_map_get(const struct fleet_map *map, const char *key);
void fleet_map_release(struct fleet_map *map);

/* Whether `id` is a Mender device id: a lowercase UUID (8-4-4-4-12) or 24
 * lowercase hex digits. */
int fleet_device_id_valid(const char *id);

/* Whether `s` is a stage of `fleet` (its promotion list). */
int fleet_is_stage(const struct fleet *fleet, const char *branch);

#endif
