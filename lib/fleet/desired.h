#ifndef FLEETGATE_DESIRED_H
#define FLEETGATE_DESIRED_H

#include <stddef.h>

#include "fleet/fleet.h"

/*
 * Desired state of a device (docs/design.md), computed from data with no I/O.
 *
 * A device's subscription comes from its Mender tag `subscribed_branch`
 * (how a device joins a "dynamic group"), else its file as of the branch,
 * else default_branch as of the branch. Each branch's view of the fleet may
 * differ, so a device is managed by branch B only when B's view says B and
 * no other branch's view claims it too; two claims are a conflict, reported
 * and left alone, so that its state never alternates between branches.
 *
 * Free branches (those that are not stages) are never trusted with stage
 * devices, since anyone who can push one writes its content: a free
 * branch's default_branch is no claim at all (a device follows a free
 * branch only by its own file or its Mender tag), and when a stage's view
 * claims a device, free branches' claims on it do not count, so a free
 * branch can neither take a stage's device nor make it a conflict.
 */

enum subscription_source {
	SUB_NONE,    /* nothing says: the device follows no branch */
	SUB_TAG,     /* Mender inventory attribute subscribed_branch */
	SUB_FILE,    /* subscribed_branch in devices/<id>.yaml */
	SUB_DEFAULT, /* default_branch in fleet.yaml */
};

const char *subscription_source_name(enum subscription_source s);

/* What a device looks like in Mender, as far as desired state cares. */
struct device_facts {
	const char *id;
	const char *device_type; /* NULL when Mender has none */
	const char *tag_branch;  /* subscribed_branch attribute (any scope), or NULL */
};

/* Which branches a Mender tag may choose (git config fleetgate.tagBranches):
 * unset: any; "": none (tags turned off); a list: those. */
struct tag_policy {
	int restricted;
	char **branches;
	size_t nbranches;
};

struct subscription {
	const char *branch;   /* points into facts or the fleet; NULL with SUB_NONE */
	enum subscription_source source;
	const char *ignored_tag; /* a tag the policy refused (for the warning), or NULL */
};

/* The branch `view` (the fleet as of some branch) says the device follows. */
void desired_subscription(struct subscription *out, const struct fleet *view,
			  const struct device_facts *facts, const struct tag_policy *tags);

/* One branch and the fleet as of its tip. */
struct branch_view {
	const char *branch;
	const struct fleet *fleet;
	int stage;            /* a stage; 0: a free branch (the safe default) */
};

enum desired_status {
	DESIRED_MANAGED,      /* the branch manages the device */
	DESIRED_ELSEWHERE,    /* the device follows another branch */
	DESIRED_UNSUBSCRIBED, /* nothing subscribes it */
	DESIRED_CONFLICT,     /* two branches' views both claim it */
	DESIRED_NOT_CLAIMED,  /* the branch is free and its view says it, but that
			       * is no claim: its default_branch, or a stage
			       * claims the device (claimants: those stages) */
};

struct desired_kv {
	char *key;
	char *value;  /* as written, each ${os_image} replaced by the artifact ("" when
		       * the device has none); ${secret:NAME} not yet resolved */
	int secret;   /* the value holds a secret reference */
};

struct desired {
	enum desired_status status;
	char *branch;            /* the subscribed branch, or NULL */
	enum subscription_source source;
	char *ignored_tag;       /* a tag the policy refused, or NULL */
	char **claimants;        /* with DESIRED_CONFLICT: the branches that claim it;
				  * with DESIRED_NOT_CLAIMED: the stages that do */
	size_t nclaimants;
	char *artifact;          /* NULL: no image for this device type (config only) */
	int artifact_from_device; /* the artifact comes from the device's own file */
	struct desired_kv *config; /* sorted by key */
	size_t nconfig;
};

/*
 * Desired state of the device `facts` for branch `branch`, whose view must
 * be among `views` (all branches' views, to find conflicts). Fills *out,
 * which the caller releases with desired_release(). With a status other
 * than DESIRED_MANAGED only status, branch, source and claimants are set.
 * Returns 0, or FG_EINVAL when `branch` has no view.
 */
int desired_compute(struct desired *out, const struct branch_view *views, size_t nviews,
		    const char *branch, const struct device_facts *facts,
		    const struct tag_policy *tags);

void desired_release(struct desired *d);

/* `value` with each ${os_image} replaced by `artifact` ("" when NULL),
 * malloc'd: what a device's configuration value becomes. */
char *desired_expand_image(const char *value, const char *artifact);

/* Resolve secrets: `lookup` returns the value of secret NAME or NULL.
 * Values are replaced in place. On a secret that cannot be resolved returns
 * FG_ENOTFOUND with *missing set to its name (malloc'd) and leaves the map
 * as it was. */
typedef const char *(*secret_lookup_fn)(void *ctx, const char *name);
int desired_resolve_secrets(struct desired *d, secret_lookup_fn lookup, void *ctx, char **missing);

#endif
