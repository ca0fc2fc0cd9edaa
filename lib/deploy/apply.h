#ifndef FLEETGATE_APPLY_H
#define FLEETGATE_APPLY_H

#include <stddef.h>

#include "mender/mender.h"
#include "deploy/plan.h"

/*
 * Carry out a plan in Mender, in the order that keeps it safe to repeat:
 * abort superseded deployments per device, create the OS deployments (a
 * replay is answered 409 and counted as existing), set and deploy the
 * configurations, then record each configuration's digest tag. Every
 * action is attempted even when one fails; a failed action is simply
 * planned again by the next run.
 */

#define APPLY_MAX_DEVICES_PER_DEPLOYMENT 10000 /* Mender's body limit is 1 MiB */

struct apply_result {
	size_t aborted;        /* devices whose superseded deployments were aborted */
	size_t finished;       /* whole deployments aborted that no device needed */
	size_t created;        /* deployments created */
	size_t existed;        /* deployments that were already there (409) */
	size_t configured;     /* configurations set and deployed */
	size_t tagged;         /* digest tags recorded */
	size_t failed;         /* actions that failed */
	char *first_error;     /* the first failure's message, or NULL */
};

/* Returns 0 when every action succeeded, else the first failure's code
 * (with out->first_error set). */
int apply_plan(struct mender_client *c, const struct plan *p, struct apply_result *out);
void apply_result_release(struct apply_result *r);

#endif
