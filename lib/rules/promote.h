#ifndef FLEETGATE_PROMOTE_H
#define FLEETGATE_PROMOTE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "git/repo.h"
#include "rules/policy.h"
#include "rules/record.h"
#include "rules/verify.h"

/*
 * Verified promotion at the door: a push (or merge request) that moves a
 * stage whose upstream stage has rules (fleetgate.verify.<upstream>.*) is
 * judged from the evidence record of the pushed tree on the upstream stage,
 * read from the repository alone (no network: pushes stay fast and work
 * when Mender is down). Only a record that says verified and is at most
 * fleetgate.verify.maxAge old lets it through.
 */

struct promote_evidence {
	int needed;      /* the upstream has rules */
	int ok;          /* verified and fresh */
	int found;       /* a record exists */
	struct verify_record record;
	char *message;   /* "canary: 2 of 3 devices healthy, ..." when not ok */
};

/* The evidence for `tree` leaving `upstream` (which must have it): a
 * record older than `max_age_ms` is not ok. 0, or an error reading the
 * repository (the caller fails closed). Release with
 * promote_evidence_release(). */
int promote_evidence_read(struct fg_repo *repo, int64_t max_age_ms, const char *upstream,
			  const char *tree, int64_t now_ms, struct promote_evidence *out);
void promote_evidence_release(struct promote_evidence *e);

#define PROMOTE_MAX_REASON 1000

/* Whether `reason` (of -o fleetgate.override=...) is one: 1 to
 * PROMOTE_MAX_REASON bytes. */
int promote_override_valid(const char *reason);

/* Whether `user` is one of fleetgate.overriders. */
int promote_may_override(const struct verify_settings *vs, const char *user);

/*
 * For each accepted verdict of a stage with an upstream that has rules,
 * the evidence of its new tip's tree: without it the verdict is refused
 * (rule unverified, or verification-failed), unless `override` (the
 * reason given with -o fleetgate.override=...) comes from one of
 * fleetgate.overriders, which is said in `notes` (lines for the pusher).
 * An override by anyone else is refused naming who may. 0, or an error
 * (the caller refuses the push).
 */
int promote_judge(struct policy_verdict *v, const struct ref_update *updates, size_t n,
		  struct fg_repo *repo, const struct verify_settings *vs, const char *pusher,
		  const char *override, int64_t now_ms, struct fg_buf *notes);

/*
 * The merge-request gate's share: when the verdict `v` (accepted) is a
 * promotion out of a stage that needs evidence, judge it as promote_judge
 * does, from the notes the CI job fetched (refs/notes/fleetgate/<stage>). A stage
 * needs evidence when the clone's settings give it rules or when its notes
 * ref is there (the server writes records only for stages with rules).
 * `source_commit` is the commit whose tree is promoted. No override: that
 * is the pusher's, at the hook. 0, or an error.
 */
int promote_gate(struct policy_verdict *v, struct fg_repo *repo, const struct verify_settings *vs,
		 const char *source_commit, int64_t now_ms);

#endif
