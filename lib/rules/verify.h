#ifndef FLEETGATE_VERIFY_H
#define FLEETGATE_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "git/repo.h"

/*
 * Verified promotion (docs/verification.md): the rules of a stage, from the
 * server's git config only, and the verdict on one tree of a stage,
 * computed from data (device records, rules, times) with no I/O, so that
 * every rule is tested on data.
 *
 *   fleetgate.verify.<stage>.minDevices       healthy devices needed (1)
 *   fleetgate.verify.<stage>.maxFailures      failed devices allowed (0)
 *   fleetgate.verify.<stage>.maxFailureRatio  or a share of the finished ones ("0.05", "5%")
 *   fleetgate.verify.<stage>.soak             how long healthy before verified ("30m"; 0)
 *   fleetgate.verify.<stage>.timeout          a device not healthy that long is stuck ("2h")
 *   fleetgate.verify.<stage>.halt             abort the stage's rollout when it fails (false)
 *   fleetgate.verify.maxAge                   evidence older than that is pending ("30m")
 *   fleetgate.overriders                      who may push past a verdict
 *   fleetgate.notifyCommand                   run on every verdict transition
 *
 * Rules on stage S gate the promotions out of S (to the stage after it).
 */

enum verify_outcome { VERIFY_PENDING, VERIFY_VERIFIED, VERIFY_FAILED };

const char *verify_outcome_name(enum verify_outcome v);
/* -1 when `name` is no outcome. */
int verify_outcome_parse(const char *name);

struct verify_rules {
	char *stage;
	unsigned long min_devices;
	long max_failures;         /* -1: not set */
	double max_failure_ratio;  /* < 0: not set */
	int64_t soak_ms;
	int64_t timeout_ms;
	int halt;
};

#define VERIFY_DEFAULT_TIMEOUT_MS (2 * 3600 * 1000LL)
#define VERIFY_DEFAULT_MAX_AGE_MS (30 * 60 * 1000LL)

struct verify_settings {
	struct verify_rules *rules; /* one per stage that has any */
	size_t nrules;
	int64_t max_age_ms;
	char **overriders;
	size_t noverriders;
	char *notify_command;      /* fleetgate.notifyCommand, or NULL */
};

/*
 * Read every fleetgate.verify.* setting and fleetgate.overriders of `repo`.
 * A stage named must be one of `stages` when `nstages` is not 0 (the
 * server's stages); an unknown key, a value out of range or a malformed
 * duration is FG_EINVAL naming the key and the value. Release with
 * verify_settings_release().
 */
int verify_settings_load(struct verify_settings *out, struct fg_repo *repo, char *const *stages,
			 size_t nstages);
void verify_settings_release(struct verify_settings *s);

/*
 * `fleetgate install --verify canary:minDevices=3,soak=1h`: the git config
 * settings that spec stands for ("fleetgate.verify.canary.minDevices" =
 * "3", ...), each checked as verify_settings_load() checks it. FG_EINVAL
 * naming the part that is wrong. Free both lists with fg_strings_free().
 */
int verify_spec_parse(const char *spec, char ***keys, char ***values, size_t *n);

/* The rules of `stage`, or NULL when it has none. */
const struct verify_rules *verify_rules_of(const struct verify_settings *s, const char *stage);

/* "30m", "2h", "45s", "1d", "0": milliseconds. FG_EINVAL otherwise (at
 * most 366 days). */
int verify_parse_duration(const char *s, int64_t *ms);

/* "41 min", "2 s", "3 h 5 min", into `buf` (at least 32 bytes). */
void verify_format_duration(int64_t ms, char *buf, size_t size);

/* "0b6c…0003": a device id short enough for a refusal, into `buf` (at
 * least 16 bytes). */
void verify_short_id(const char *id, char *buf, size_t size);

/* ---- the verdict ---- */

/* What the evidence says of one device the stage manages, for its tree. */
enum verify_health {
	VH_HEALTHY,    /* runs the tree's desired state: Mender reports its artifact, no failure */
	VH_FAILURE,    /* its deployment of the tree ended in failure */
	VH_NOARTIFACT, /* Mender has no artifact it can install */
	VH_WAITING,    /* not there yet (scheduled, pending, downloading, installing, ...) */
	VH_OUT,        /* counts neither way (its deployment was superseded) */
};

/* The states counted for people, in this order. */
enum verify_state {
	VS_PENDING,
	VS_DOWNLOADING,
	VS_INSTALLING,
	VS_REBOOTING,
	VS_SUCCESS,
	VS_FAILURE,
	VS_STUCK,
	VS_NOARTIFACT,
	VS_NSTATES,
};

const char *verify_state_name(enum verify_state s);

struct verify_device {
	const char *id;
	enum verify_health health;
	int changed; /* the tree changed its desired state (artifact or configuration) */
};

/* The tree's previous evaluation on this stage, as its record says. */
struct verify_prior {
	enum verify_outcome verdict;
	int64_t healthy_since_ms; /* 0: the healthy count was short then */
};

struct verify_input {
	const struct verify_rules *rules;
	const struct verify_device *devices; /* every device the stage manages */
	size_t ndevices;
	/* Devices of the tree's deployments by Mender's statistics (counted
	 * once each: one device, one status a deployment): pending,
	 * downloading, installing, rebooting. They split the waiting devices
	 * for people; they never change the verdict. */
	long long active[4];
	int64_t now_ms;
	int64_t since_ms;   /* the tree is the stage's tip, continuously, since then */
	const struct verify_prior *prior; /* NULL: the first evaluation */
	/* The tree the stage verified before this one, when there is one:
	 * `changed` of each device is relative to it, and when no device
	 * changed, its verdict (verified) is inherited. */
	const char *inherit_from;
};

struct verify_failing {
	char *device;
	enum verify_state state; /* VS_FAILURE, VS_NOARTIFACT, VS_STUCK */
};

struct verify_result {
	enum verify_outcome verdict;
	long long counts[VS_NSTATES]; /* over the changed devices */
	size_t managed;   /* devices that count at all */
	size_t changed;   /* of which the tree changed */
	size_t healthy;
	size_t failed;    /* failure + noartifact + stuck */
	struct verify_failing *failing; /* by id; every one */
	size_t nfailing;
	int64_t healthy_since_ms; /* since when minDevices have been healthy; 0: not */
	int64_t soak_left_ms;     /* > 0 while the soak runs */
	int revoked;       /* the prior evaluation was verified, this one is not */
	int inherited;     /* verified because nothing changed since inherit_from */
	char *reason;      /* "2 of 3 devices healthy, 1 failed (0b6c…0003: failure), soak 41 min left" */
};

/*
 * The verdict on one tree of a stage:
 *  - no device counts: pending ("no devices"), never verified;
 *  - no device changed and an earlier verified tree: verified (inherited);
 *  - a waiting device older than `timeout` (from since_ms) is stuck, and
 *    stuck, failure and noartifact are failures;
 *  - once minDevices changed devices finished (healthy or failed), more
 *    failures than maxFailures (or a share over maxFailureRatio) is failed;
 *  - at least minDevices healthy, continuously for `soak`: verified;
 *  - anything else is pending, which blocks like failed.
 * Fills *out (release with verify_result_release()).
 */
void verify_judge(const struct verify_input *in, struct verify_result *out);
void verify_result_release(struct verify_result *r);

#endif
