#ifndef FLEETGATE_METRICS_H
#define FLEETGATE_METRICS_H

#include <stddef.h>
#include <time.h>

#include "core/openmetrics.h"
#include "deploy/plan.h"
#include "deploy/spool.h"

/*
 * What monitoring sees of a fleet (`fleetgate status --format openmetrics`,
 * docs/monitoring.md): the families, built from what status reads. Pure:
 * the caller reads the plans, the spool and the evidence, and gives the
 * time.
 *
 *   fleetgate_devices{branch,state}                      devices of a branch per state
 *   fleetgate_status_complete                            1 when every branch's devices were read
 *   fleetgate_spool_jobs{state="waiting"|"parked"}       scheduler jobs in the spool
 *   fleetgate_spool_oldest_job_timestamp_seconds         when the oldest waiting job was queued
 *   fleetgate_scheduler_last_success_timestamp_seconds{run="reconcile"|"post-receive"}
 *                                                        the last run that scheduled all it had
 *   fleetgate_stage_verdict{stage,verdict}               1 for the stage's verdict, 0 for the others
 *   fleetgate_stage_evidence_timestamp_seconds{stage}    when the stage's evidence was evaluated
 *   fleetgate_stage_evidence_age_seconds{stage}          its age when the text was written
 *   fleetgate_status_timestamp_seconds                   when the text was written
 *
 * A family with nothing to say (no waiting job, a run never recorded, no
 * stage with evidence) has its HELP and TYPE and no sample: absent() is
 * how an alert asks for it. Label values that are not valid UTF-8 (a
 * branch name is bytes) show each such byte as "\xNN": branch names never
 * hold a backslash, so no two names meet.
 */

/* The verdicts a stage can have: every one gets a sample. */
#define METRICS_VERDICTS { "verified", "pending", "failed" }

struct metrics {
	struct om_set set;
	time_t now;
	size_t devices, complete, spool_jobs, spool_oldest, last_success, verdict, evidence_time,
		evidence_age, generated;
};

/* Declare every family; `now` is the time of writing. Release with
 * metrics_release(). */
void metrics_init(struct metrics *m, time_t now);
void metrics_release(struct metrics *m);

/* The devices of plan `p` (one branch) per state (plan_device_state(); a
 * device with no OS image counts as "no-image"); states with no device
 * get no sample. Call once per branch. */
void metrics_add_plan(struct metrics *m, const struct plan *p);

/* Whether the devices of every branch were read (0: status stopped at an
 * error, and the devices families lack the branches it did not read).
 * Call once. */
void metrics_set_complete(struct metrics *m, int complete);

/* The spool's jobs (spool_list()). Call once. */
void metrics_add_spool(struct metrics *m, const struct spool_job *jobs, size_t n);

/* The last time a run of `run` ("reconcile", "post-receive") scheduled
 * everything it had (spool_last_success()); 0: never recorded, no sample. */
void metrics_add_last_success(struct metrics *m, const char *run, long long when);

/* One stage's verdict and the time its evidence was evaluated. */
struct metrics_verdict {
	const char *stage;
	const char *verdict;    /* verified, pending or failed (another word: its own sample) */
	long long evidence_time; /* unix time; 0: no evidence (no time samples) */
};

/* The verdict families for `n` stages, each stage once. */
void metrics_add_verdicts(struct metrics *m, const struct metrics_verdict *v, size_t n);

/* Write the text (om_write()'s errors). */
int metrics_write(struct fg_buf *out, const struct metrics *m, enum om_format format);

#endif
