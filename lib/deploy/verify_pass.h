#ifndef FLEETGATE_VERIFY_PASS_H
#define FLEETGATE_VERIFY_PASS_H

#include <stdint.h>

#include "deploy/schedule.h"
#include "git/repo.h"
#include "rules/record.h"
#include "rules/settings.h"
#include "rules/verify.h"

/*
 * One evaluation of a stage's tip (docs/verification.md): the plan of the
 * stage as Mender stands (schedule_run without applying), each managed
 * device's health for the tip's tree, the verdict (verify_judge), and the
 * evidence record written into the bare repository
 * (refs/notes/fleetgate/<stage>, compare-and-swap). Run by post-receive,
 * reconcile and `fleetgate verify`.
 */

struct verify_pass {
	struct verify_record record; /* as written */
	enum verify_outcome previous; /* the verdict before this pass */
	int had_record;
	int transition;  /* the verdict changed, or was revoked */
	char *notify_error; /* fleetgate.notifyCommand failed: why (and its output), or NULL */
	int halted;      /* fleetgate.verify.<stage>.halt stopped the rollout in this pass */
	size_t aborted;  /* deployments it aborted */
	char ref_id[41]; /* the notes ref after the write */
};

/* The health of one device of a plan for its tree (exposed for tests). */
enum verify_health verify_pass_health(const struct plan_device *d);

/*
 * Evaluate `stage` (which has rules) at its tip, at time `now_ms`. `o`
 * gives the deadline and the log (branch, rev and apply are set here).
 * 0 with `out` filled (release with verify_pass_release()), or an error
 * (Mender unreachable, repository error): nothing written then.
 */
int verify_pass_run(struct verify_pass *out, struct fg_repo *repo, const struct settings *s,
		    const char *stage, int64_t now_ms, const struct schedule_options *o);
void verify_pass_release(struct verify_pass *p);

/*
 * Record an override in the record of (`stage`, `tree`) (made pending
 * when there is none): who, why, which commit went to `target`.
 */
int verify_record_override(struct fg_repo *repo, const char *stage, const char *tree,
			   const char *user, const char *reason, const char *commit,
			   const char *target, int64_t now_ms);

/*
 * Tell fleetgate.notifyCommand (when set) of a transition of `r`: `event`
 * is verified, failed, revoked, pending or override; `previous` the verdict
 * before. Its failure is returned as a malloc'd message (NULL: fine); it
 * never stops anything.
 */
char *verify_notify(const struct verify_settings *vs, const struct verify_record *r,
		    const char *event, const char *previous, const char *reason, int64_t now_ms);

/* The verdict lines of a record for people ("canary 3f2a1b0 verified: ..."),
 * with counts by state, failing ids and overrides. */
void verify_record_text(struct fg_buf *b, const struct verify_record *r, int64_t now_ms);

/* The record as JSON for --format json (one object). */
void verify_record_json(struct fg_buf *b, const struct verify_record *r);

#endif
