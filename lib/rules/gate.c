#include "rules/gate.h"

#include "core/alloc.h"
#include "core/error.h"
#include "fleet/fleet.h"
#include "rules/policy_repo.h"
#include "rules/settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * The hook's reader sees local branches only; a CI clone holds the branches
 * as origin/<name>. This reader resolves branches as repo_resolve_branch()
 * does and answers the source's validation from the gate's own, so that the
 * verdict and the reported diagnostics come from one validation.
 */
struct gate_reader {
	struct policy_reader base;
	struct fg_repo *repo;
	const struct gate_result *result;
	const char *source_commit;
	const struct diags *source_diags;
};

static int g_ref_tip(void *ctx, const char *ref, char *id)
{
	struct gate_reader *g = ctx;
	int found, rc;

	/* The two branches of the merge request as they were named. */
	if (!strcmp(ref, g->result->source) ||
	    (!strcmp(ref, g->result->target) && !policy_is_zero(g->result->target_commit))) {
		snprintf(id, POLICY_ID_MAX, "%s", !strcmp(ref, g->result->source)
						       ? g->result->source_commit
						       : g->result->target_commit);
		return 0;
	}
	rc = repo_resolve_branch(g->repo, ref, id, &found);

	if (!rc && !found)
		rc = fg_error_set(FG_ENOTFOUND, "branch '%s' does not exist", ref);
	return rc;
}

static int g_commit(void *ctx, const char *id, struct policy_commit *out)
{
	struct gate_reader *g = ctx;

	return g->base.commit(g->base.ctx, id, out);
}

static int g_is_ancestor(void *ctx, const char *ancestor, const char *descendant, int *yes)
{
	struct gate_reader *g = ctx;

	return g->base.is_ancestor(g->base.ctx, ancestor, descendant, yes);
}

static int g_commits_between(void *ctx, const char *tip, const char *const *hide, size_t nhide,
			     size_t max, char ***ids, size_t *count)
{
	struct gate_reader *g = ctx;

	return g->base.commits_between(g->base.ctx, tip, hide, nhide, max, ids, count);
}

static int g_validate(void *ctx, const char *id, struct diags *diags)
{
	struct gate_reader *g = ctx;
	size_t i;

	if (strcmp(id, g->source_commit))
		return g->base.validate(g->base.ctx, id, diags);
	for (i = 0; i < g->source_diags->count; i++) {
		const struct diag *d = &g->source_diags->items[i];

		diags_add(diags, d->severity, d->file, d->line, d->column, d->code, "%s", d->message);
	}
	return 0;
}

static int g_promotion(void *ctx, const char *id, char ***stages, size_t *count)
{
	struct gate_reader *g = ctx;

	return g->base.promotion(g->base.ctx, id, stages, count);
}

/* The branches g_ref_tip() can resolve: local ones and origin's. */
static int g_branches(void *ctx, char ***names, size_t *count)
{
	struct gate_reader *g = ctx;
	char **all = NULL, hex[POLICY_ID_MAX];
	size_t n = 0, i, kept = 0;
	int rc = repo_branch_names(g->repo, &all, &n), found;

	*names = NULL;
	*count = 0;
	for (i = 0; !rc && i < n; i++) {
		rc = repo_resolve_branch(g->repo, all[i], hex, &found);
		if (!rc && found)
			all[kept++] = all[i];
		else
			free(all[i]);
	}
	for (; i < n; i++)
		free(all[i]);
	if (rc) {
		fg_strings_free(all, kept);
		return rc;
	}
	*names = all;
	*count = kept;
	return 0;
}

static void gate_reader_init(struct gate_reader *g, struct fg_repo *repo,
			     const struct gate_result *result)
{
	memset(g, 0, sizeof(*g));
	policy_repo_reader(&g->base, repo);
	g->repo = repo;
	g->result = result;
	g->source_commit = result->source_commit;
	g->source_diags = &result->diags;
}

static void gate_reader_policy(struct gate_reader *g, struct policy_reader *out)
{
	out->ctx = g;
	out->ref_tip = g_ref_tip;
	out->commit = g_commit;
	out->is_ancestor = g_is_ancestor;
	out->commits_between = g_commits_between;
	out->validate = g_validate;
	out->promotion = g_promotion;
	out->branches = g_branches;
}

static double monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void gate_result_init(struct gate_result *r)
{
	memset(r, 0, sizeof(*r));
	diags_init(&r->diags);
}

void gate_result_release(struct gate_result *r)
{
	free(r->source);
	free(r->target);
	free(r->ff_why);
	policy_verdicts_free(r->verdict, 1);
	diags_release(&r->diags);
	gate_result_init(r);
}

/* Validate the source's tip as 'fleetgate validate --rev' does. */
static int validate_source(struct gate_result *out, struct fg_repo *repo,
			   const struct settings *settings)
{
	struct fleet_load_options opts;
	struct source src;
	struct fleet *fleet = NULL;
	int rc;

	memset(&opts, 0, sizeof(opts));
	memset(&src, 0, sizeof(src));
	rc = repo_branch_names(repo, &opts.branches, &opts.nbranches);
	if (rc)
		goto done;
	opts.check_branches = 1;
	opts.stages = settings->stages;
	opts.nstages = settings->nstages;
	rc = repo_source_rev(repo, out->source_commit, &src);
	if (rc)
		goto done;
	rc = fleet_load(&fleet, &src, &opts, &out->diags);
	if (rc)
		fg_error_wrap(rc, "validating %s", src.label);
done:
	fleet_free(fleet);
	source_release(&src);
	fg_strings_free(opts.branches, opts.nbranches);
	return rc;
}

/* A reason names a commit by id; say which commit that is. */
static void add_subjects(struct policy_verdict *v, struct fg_repo *repo)
{
	size_t i;

	for (i = 0; i < v->nreasons; i++) {
		struct policy_reason *r = &v->reasons[i];
		struct policy_commit c;

		if (!r->commit[0] || r->subject)
			continue;
		if (repo_commit_read(repo, r->commit, &c) == 0) {
			r->subject = c.subject;
			c.subject = NULL;
			policy_commit_release(&c);
		}
	}
}

/* Resolve `spec` into a branch name and its tip; `what` is "source" or "target". */
static int resolve(struct fg_repo *repo, const char *what, const char *spec, char **name,
		   char *id, int *found)
{
	struct repo_branch_spec b;
	int rc = repo_branch_spec_resolve(repo, spec, &b);

	if (rc == FG_EINVAL) {
		char *why = fg_strdup(fg_error_message());

		rc = fg_error_set(FG_EINVAL, "%s %s", what, why);
		free(why);
		return rc;
	}
	if (rc)
		return rc;
	*name = b.branch;
	b.branch = NULL;
	snprintf(id, POLICY_ID_MAX, "%s", b.id);
	*found = b.found;
	if (!b.found && !strcmp(what, "source"))
		rc = fg_error_set(FG_ENOTFOUND,
				  "source branch '%s' not found: %s (fetch it; a fork's branch must be fetched into one of them)",
				  spec, b.tried);
	repo_branch_spec_release(&b);
	return rc;
}

/* Without a method from the forge: would a fast-forward pass too? */
static int judge_ff(struct gate_result *out, const struct policy_settings *ps,
		    struct policy_merge_request mr, const struct policy_reader *reader)
{
	struct policy_verdict *v = NULL;
	size_t i;
	int rc;

	mr.method = POLICY_MERGE_FF;
	rc = policy_judge_merge_request(&v, ps, &mr, reader);
	if (rc)
		return rc;
	out->ff_accepted = v->accepted;
	for (i = 0; i < v->nreasons && !out->ff_why; i++)
		if (strcmp(v->reasons[i].rule, "merge-method"))
			out->ff_why = fg_strdup(v->reasons[i].message);
	policy_verdicts_free(v, 1);
	return 0;
}

int gate_judge(struct gate_result *out, struct fg_repo *repo, const char *source,
	       const char *target, const struct gate_merge *merge)
{
	struct settings settings;
	struct policy_settings ps;
	struct policy_merge_request mr;
	struct policy_reader reader;
	struct gate_reader g;
	char *message = NULL;
	int found, rc, have_settings = 0;
	double start;

	gate_result_init(out);
	out->judged_at = (long long)time(NULL);
	/* Linux host names have at most 64 bytes; when it cannot be read (or
	 * came without its end), the reports say "unknown", not a cut name. */
	if (gethostname(out->host, sizeof(out->host)) ||
	    !memchr(out->host, '\0', sizeof(out->host)))
		snprintf(out->host, sizeof(out->host), "unknown");
	out->method = merge->method_known ? merge->method : POLICY_MERGE_COMMIT;
	out->method_known = merge->method_known;
	rc = resolve(repo, "source", source, &out->source, out->source_commit, &found);
	if (!rc)
		rc = resolve(repo, "target", target, &out->target, out->target_commit, &found);
	if (rc)
		goto done;
	if (!strcmp(out->source, out->target)) {
		rc = fg_error_set(FG_EINVAL, "source and target are the same branch '%s'", out->source);
		goto done;
	}
	if (repo_is_shallow(repo)) {
		rc = fg_error_set(FG_EINVAL,
				  "%s is a shallow clone: judging a merge request needs the history of both branches (GitLab CI: GIT_DEPTH: 0; actions/checkout: fetch-depth: 0; else git fetch --unshallow)",
				  repo_gitdir(repo));
		goto done;
	}
	memset(&mr, 0, sizeof(mr));
	mr.source = out->source;
	mr.target = out->target;
	mr.source_id = out->source_commit;
	mr.target_id = out->target_commit;
	mr.method = out->method;
	if (merge->message)
		mr.message = merge->message;
	else
		mr.message = message = fg_asprintf("Merge branch '%s' into '%s'", out->source,
						   out->target);
	if (!policy_is_zero(out->target_commit)) {
		rc = repo_merge_result(repo, out->target_commit, out->source_commit, &mr.merge_clean,
				       &mr.merge_same_as_source);
		if (rc)
			goto done;
	}
	rc = settings_load(&settings, repo);
	if (rc)
		goto done;
	have_settings = 1;
	start = monotonic_seconds();
	rc = validate_source(out, repo, &settings);
	out->config_seconds = monotonic_seconds() - start;
	if (rc)
		goto done;
	start = monotonic_seconds();
	settings_policy(&settings, &ps);
	gate_reader_init(&g, repo, out);
	gate_reader_policy(&g, &reader);
	rc = policy_judge_merge_request(&out->verdict, &ps, &mr, &reader);
	if (!rc && !out->method_known && !policy_is_zero(out->target_commit) &&
	    out->verdict->upstream && !strcmp(out->verdict->upstream, out->source))
		rc = judge_ff(out, &ps, mr, &reader);
	if (rc)
		goto done;
	add_subjects(out->verdict, repo);
	out->promotion_seconds = monotonic_seconds() - start;
done:
	free(message);
	if (have_settings)
		settings_release(&settings);
	return rc;
}
