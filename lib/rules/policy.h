#ifndef FLEETGATE_POLICY_H
#define FLEETGATE_POLICY_H

#include <stddef.h>

#include "fleet/diag.h"
#include "git/commit.h"

/*
 * The promotion rules (docs/design.md), one engine for the pre-receive hook and the
 * merge-request gate. policy_judge() is computed from data: the settings,
 * the ref updates and a reader of the repository, so every rule is tested
 * on an in-memory history without a git server.
 */

/* One line of git's pre-receive input. */
struct ref_update {
	char old_id[POLICY_ID_MAX]; /* all zeros: the ref is created */
	char new_id[POLICY_ID_MAX]; /* all zeros: the ref is deleted */
	char *ref;                  /* "refs/heads/canary" */
};

void policy_commit_release(struct policy_commit *c);

/* How the engine reads the repository. Every function returns 0 or a
 * negative FG_E* code with a message; the engine then refuses the ref
 * (fail closed). Ids are full hex. */
struct policy_reader {
	void *ctx;
	/* The tip of `ref` before the push; FG_ENOTFOUND when it does not exist. */
	int (*ref_tip)(void *ctx, const char *ref, char *id);
	int (*commit)(void *ctx, const char *id, struct policy_commit *out);
	/* *yes = `ancestor` is `descendant` or one of its ancestors. */
	int (*is_ancestor)(void *ctx, const char *ancestor, const char *descendant, int *yes);
	/* Commits reachable from `tip` but from none of `hide` (NULL entries are
	 * skipped), at most `max`; FG_ELIMIT past that. *ids: malloc'd array of
	 * malloc'd strings. */
	int (*commits_between)(void *ctx, const char *tip, const char *const *hide, size_t nhide,
			       size_t max, char ***ids, size_t *count);
	/* Validate the fleet configuration at commit `id` into `diags`. */
	int (*validate)(void *ctx, const char *id, struct diags *diags);
	/* `promotion:` of fleet.yaml at commit `id`; *count 0 when absent or
	 * unreadable. */
	int (*promotion)(void *ctx, const char *id, char ***stages, size_t *count);
	/* Names of the branches before the push ("main", ...). */
	int (*branches)(void *ctx, char ***names, size_t *count);
};

/* Who may push a stage: git config fleetgate.pushers.<stage>. */
struct stage_pushers {
	char *stage;
	char **names;
	size_t nnames;
};

struct policy_settings {
	/* Stages from the server's git config; nstages 0 means: take them from
	 * `promotion:` as already accepted on the server. */
	char **stages;
	size_t nstages;
	int merge_only;       /* the first stage takes merge commits only */
	struct stage_pushers *pushers;
	size_t npushers;
	const char *pusher;   /* who is pushing, or NULL when unknown */
	size_t max_commits;   /* budget of commits examined per ref */
	/* Judging again when git writes the refs (the reference-transaction
	 * hook): the updates are those of one ref transaction, with their real
	 * old ids; who pushes and the configuration were judged already. */
	int recheck;
	/* A stage may be judged with its upstream's new tip from the same push
	 * only when git's writes are judged again (the reference-transaction
	 * hook): else the upstream's update could fail and the stage's land. */
	int upstream_in_push;
};

/* Why a ref was refused: one rule, the offending commit, what to do. */
struct policy_reason {
	const char *rule;   /* stable id: delete, non-fast-forward, merge-only, ... */
	char *message;      /* one line, plain words */
	char commit[POLICY_ID_MAX]; /* "" when no single commit is to blame */
	char *subject;      /* that commit's subject, or NULL */
	char *advice;       /* what to do instead, or NULL */
	struct diags diags; /* the invalid fleet configuration, for rule invalid-config */
};

struct policy_verdict {
	char *ref;
	char *stage;     /* NULL: not a stage (free) */
	char *upstream;  /* the stage upstream of it, or NULL */
	int accepted;
	struct policy_reason *reasons;
	size_t nreasons;
	size_t more;           /* offending commits past the ones listed */
	const char *more_what; /* what they are ("commits that are not merges") */
	int more_unknown;      /* counting stopped: there may be more than `more` */
};

/*
 * Judge every update of one push together, upstream stages first, so that
 * "U's first-parent line" is U's tip after this push when the same push
 * moves U (and U is accepted). `updates` name the refs that will really be
 * written (symbolic refs resolved by the caller). Fills *verdicts with `n`
 * verdicts in the order of `updates`; free them with
 * policy_verdicts_free(). Returns 0 (a refusal is a verdict), or a negative
 * code only on a failure before judging.
 *
 * The rules, for a stage S with upstream U:
 *  - S is never deleted nor rewritten; the old id sent must be S's tip.
 *  - First stage: every commit added to its first-parent line is a merge
 *    whose second parent is not already in its first parent's history.
 *  - Later stage: every commit that joins S's first-parent line is on U's
 *    first-parent line, or a merge of two parents whose second parent is
 *    on U's first-parent line (and not in the first's history) and whose
 *    tree equals that parent's tree; S is created only at a commit of U's
 *    first-parent line. So every tip S ever has is a tree U had as a tip.
 *  - refs/replace/ and fleetgate's own refs (refs/notes/fleetgate) are
 *    never taken from a client.
 *  - The fleet configuration at S's new tip validates; the pusher is one
 *    of fleetgate.pushers.<S> when that is set.
 */
int policy_judge(struct policy_verdict **verdicts, const struct policy_settings *settings,
		 const struct ref_update *updates, size_t n, const struct policy_reader *reader);

void policy_verdicts_free(struct policy_verdict *verdicts, size_t n);

/* Refuse `v` for one more reason (a rule judged outside policy_judge, such
 * as verified promotion): `rule` is a static string, `advice` may be NULL. */
struct policy_reason *policy_refuse(struct policy_verdict *v, const char *rule, const char *advice,
				    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* How the forge merges a merge request. */
enum policy_merge_method {
	POLICY_MERGE_COMMIT, /* a merge commit (target tip, source tip), even when a fast-forward would do */
	POLICY_MERGE_FF,     /* the target moves to the source's tip; impossible when the target has moved on */
	POLICY_MERGE_SQUASH, /* one new commit on the target holding the merge's tree */
	POLICY_MERGE_REBASE, /* the source's commits (merges left out) replayed onto the target as new commits */
};

/* A merge request as the forge will carry it out. */
struct policy_merge_request {
	const char *source;    /* branch names */
	const char *target;
	const char *source_id; /* full hex ids; target_id all zeros when the target does not exist */
	const char *target_id;
	enum policy_merge_method method;
	/* git's three-way merge of the source into the target (see
	 * repo_merge_result()): whether it is clean, and whether its tree is
	 * the source's tree. Not read for a fast-forward. */
	int merge_clean;
	int merge_same_as_source;
	const char *message;   /* the subject of the forge's merge or squash commit */
};

/*
 * The merge-request gate: judges what the forge's merge will push, with
 * policy_judge() itself, so the gate and the pre-receive hook cannot
 * disagree. The commits the merge would create are built in memory (ids
 * that no real object has, never written) and judged as the new tip of
 * the target; a reason about one of them names it in words, with no id.
 * The fleet configuration validated is the source's. A later stage also takes merge requests only from its upstream
 * stage. A target that is no stage only needs a valid configuration. When
 * a squash or a rebase is refused for the commits it makes, the first
 * reason (rule merge-method) names the method to choose. Stages come from
 * the settings, else from promotion: at the target's tip; who may push a
 * stage is not judged (the forge pushes). Fills one verdict (ref = target)
 * that the caller frees with policy_verdicts_free(v, 1). Returns 0, or a
 * negative code with a message when the merge request cannot be judged.
 */
int policy_judge_merge_request(struct policy_verdict **verdict,
			       const struct policy_settings *settings,
			       const struct policy_merge_request *mr,
			       const struct policy_reader *reader);

/* The name of a merge method as the gate's flag spells it ("merge", "ff",
 * "squash", "rebase"), and its name in a forge's settings ("merge commit"). */
const char *policy_merge_method_flag(enum policy_merge_method m);
const char *policy_merge_method_name(enum policy_merge_method m);

/* Whether `id` is all zeros (git's "no object"). */
int policy_is_zero(const char *id);

/* Parse one "<old> SP <new> SP <ref>" line (no newline). FG_EINVAL on a
 * malformed line, with a message naming it. */
int policy_parse_update(struct ref_update *out, const char *line);
void ref_update_release(struct ref_update *u);
/* Release `n` updates and free the array (NULL is fine). */
void ref_updates_free(struct ref_update *u, size_t n);

#endif
