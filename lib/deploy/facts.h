#ifndef FLEETGATE_FACTS_H
#define FLEETGATE_FACTS_H

#include <stddef.h>

#include "mender/mender.h"
#include "deploy/plan.h"

/*
 * The facts the planner needs, read from Mender page by page, never one
 * request per device (except with `full`, which reads every device's
 * configuration to catch drift):
 *   - the inventory (device_type, the OS attribute, artifact_name,
 *     identity status, subscribed_branch, the digest tag), pages of 500;
 *   - the active software deployments and the ones named as this plan's
 *     would be, each with its targeted devices and the status of the
 *     devices that picked it up;
 *   - the artifacts named by the fleet, with their device types.
 */

struct facts_request {
	const char *const *os_attributes;     /* e.g. rootfs-image.version: each asked */
	size_t nos_attributes;
	const char *const *artifacts;         /* artifact names the fleet uses */
	size_t nartifacts;
	const char *const *deployment_names;  /* fleetgate:<branch>@<sha>:<artifact> */
	size_t ndeployment_names;
	int full;                             /* also read every configuration */
	/* Verification's reading: each deployment's statistics, and the
	 * status of its devices (pages of 500) only when the statistics count
	 * a failure or a noartifact: a pass over a stage reads the inventory's
	 * pages and O(deployments) more. */
	int lean;
};

/* One branch's view of facts read for several (facts_view): its OS
 * attribute, and the deployment names its plan would make. A deployment
 * found by name goes to the branch whose name it has; the active ones go
 * to every branch. */
struct facts_view_request {
	const char *os_attribute;
	const char *const *deployment_names;
	size_t ndeployment_names;
};

struct facts {
	struct mender_device_list devices;
	struct mender_deployment_list deployments;
	struct mender_device_status_list *statuses; /* per deployment */
	struct mender_artifact_list artifacts;
	struct mender_config *configs;        /* with `full`, per device */
	int configure_absent;                 /* Mender Configure is not there */
	int configure_probed;                 /* facts_probe_configure asked */
	size_t nlisted;                       /* deployments[0..nlisted): the active
					       * ones; the rest were found by name */
	/* For plan_input: arrays that point into the above. */
	struct plan_facts *plan;
	size_t nplan;
	struct plan_artifact *plan_artifacts;
	size_t nplan_artifacts;
	struct plan_deployment_fact *dep_pool;
	struct plan_kv *kv_pool;
	struct plan_active *plan_active;      /* the active deployments */
	size_t nplan_active;
	const char **status_pool;
};

/* Whether Mender Configure is there (f->configure_absent): one device's
 * configuration read, once, when `full` has not read them all already.
 * Its other failures are left to the calls that need it. */
void facts_probe_configure(struct facts *f, struct mender_client *c);

/*
 * Read the facts of `rq` (several branches' names and OS attributes at
 * once, for a run over several branches); `out` is the caller's, released
 * with facts_release() (also after a failure). The planner's arrays are
 * made by facts_view().
 */
int facts_read(struct facts *out, struct mender_client *c, const struct facts_request *rq);

/* Read the deployments again (after a branch's actions changed them);
 * the inventory, artifacts and configurations are kept. The planner's
 * arrays are dropped until the next facts_view(). */
int facts_reread_deployments(struct facts *f, struct mender_client *c,
			     const struct facts_request *rq);

/* The planner's arrays (f->plan, f->plan_artifacts, f->plan_active) for
 * one branch, replacing those of an earlier view. */
void facts_view(struct facts *f, const struct facts_view_request *v);

/* facts_read() and facts_view() of the one branch of `rq` (its first OS
 * attribute, its deployment names). */
int facts_gather(struct facts *out, struct mender_client *c, const struct facts_request *rq);
void facts_release(struct facts *f);

#endif
