#include "rules/policy_repo.h"

#include "fleet/fleet.h"

static int r_ref_tip(void *ctx, const char *ref, char *id)
{
	return repo_branch_tip(ctx, ref, id);
}

static int r_commit(void *ctx, const char *id, struct policy_commit *out)
{
	return repo_commit_read(ctx, id, out);
}

static int r_is_ancestor(void *ctx, const char *ancestor, const char *descendant, int *yes)
{
	return repo_is_ancestor(ctx, ancestor, descendant, yes);
}

static int r_commits_between(void *ctx, const char *tip, const char *const *hide, size_t nhide,
			     size_t max, char ***ids, size_t *count)
{
	return repo_commits_between(ctx, tip, hide, nhide, max, ids, count);
}

static int r_validate(void *ctx, const char *id, struct diags *diags)
{
	struct source src;
	struct fleet *fleet = NULL;
	int rc = repo_source_rev(ctx, id, &src);

	if (rc)
		return rc;
	rc = fleet_load(&fleet, &src, NULL, diags);
	fleet_free(fleet);
	source_release(&src);
	return rc;
}

static int r_promotion(void *ctx, const char *id, char ***stages, size_t *count)
{
	struct source src;
	int rc = repo_source_rev(ctx, id, &src);

	*stages = NULL;
	*count = 0;
	if (rc)
		return rc;
	rc = fleet_read_promotion(&src, stages, count);
	source_release(&src);
	return rc;
}

static int r_branches(void *ctx, char ***names, size_t *count)
{
	return repo_local_branches(ctx, names, count);
}

void policy_repo_reader(struct policy_reader *out, struct fg_repo *repo)
{
	out->ctx = repo;
	out->ref_tip = r_ref_tip;
	out->commit = r_commit;
	out->is_ancestor = r_is_ancestor;
	out->commits_between = r_commits_between;
	out->validate = r_validate;
	out->promotion = r_promotion;
	out->branches = r_branches;
}
