#ifndef FLEETGATE_GATE_H
#define FLEETGATE_GATE_H

#include "fleet/diag.h"
#include "rules/policy.h"
#include "git/repo.h"

/*
 * The merge-request gate (docs/design.md, "Promotion rules"): would merging branch
 * `source` into branch `target` keep the promotion rules, and does the
 * source's fleet configuration validate? The same engine as the
 * pre-receive hook (policy_judge_merge_request, which judges the commits
 * the forge's merge will push with policy_judge), read from a CI job's clone.
 * The reports are in lib/rules/gate_report.h.
 */

/* How the forge will merge. */
struct gate_merge {
	int method_known;                  /* 0: the forge did not say */
	enum policy_merge_method method;   /* when method_known */
	const char *message;               /* its merge commit's subject; NULL: GitLab's */
};

struct gate_result {
	char *source;                      /* the branch names ("main" for origin/main) */
	char *target;
	char source_commit[POLICY_ID_MAX]; /* full hex id of the source's tip */
	char target_commit[POLICY_ID_MAX]; /* all zeros: the target does not exist yet */
	struct policy_verdict *verdict;    /* one verdict (ref = target); NULL until judged */
	struct diags diags;                /* every diagnostic of the source's configuration,
					      errors and warnings, sorted */
	/* When and where it was judged, and how long each check took (for the
	 * reports; 0 and "" until gate_judge() fills them). */
	long long judged_at;               /* seconds since the epoch, UTC */
	char host[256];                    /* this machine's name */
	double promotion_seconds;          /* the promotion rules */
	double config_seconds;             /* validating the source's configuration */
	enum policy_merge_method method;   /* the method judged */
	int method_known;                  /* it came from the caller, not the default */
	/* When the method was not known (a merge commit was judged) and the
	 * target exists: whether a fast-forward would pass, and if not, why
	 * (the first reason; NULL when it would pass). */
	int ff_accepted;
	char *ff_why;
};

/* Prepare `r` empty, so that gate_result_release() may always be called. */
void gate_result_init(struct gate_result *r);

/* Free the contents of `r` (not `r`) and leave it empty. */
void gate_result_release(struct gate_result *r);

/*
 * Judge the merge request `source` -> `target` in `repo`.
 *
 * A branch is named as git users name it (main, origin/main,
 * refs/heads/main, refs/remotes/origin/main: see repo_branch_spec_resolve());
 * a target that exists nowhere is a branch yet to be created. `merge` says
 * how the forge merges; without a method, a merge commit is judged and
 * out->ff_accepted says whether a fast-forward would pass. Stages come from the repository's settings (git config
 * fleetgate.stages), else from promotion: at the target's tip. The source's
 * configuration is validated as 'fleetgate validate --rev' does, against
 * the branches the clone knows, and that one validation also decides the
 * rule invalid-config.
 *
 * Returns 0 with `out` filled (a refusal is a result, in out->verdict), or,
 * with a message and nothing judged: FG_EINVAL for a name that is not a
 * valid branch name, the same branch on both sides, or a shallow clone
 * (its cut-off history would make a stage look diverged); FG_ENOTFOUND when
 * the source branch exists nowhere; another negative code when the
 * repository cannot be read. `out` is initialised here; release it with
 * gate_result_release() in every case.
 */
int gate_judge(struct gate_result *out, struct fg_repo *repo, const char *source,
	       const char *target, const struct gate_merge *merge);

#endif
