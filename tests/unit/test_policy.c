/*
 * The promotion rules (docs/design.md) on in-memory histories: every rule, with no
 * repository and no git server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "rules/policy.h"

#define MAX_COMMITS 64
#define MAX_BRANCHES 8
#define ZERO "0000000000000000000000000000000000000000"

struct gcommit {
	char id[41];
	char tree[41];
	int parents[2];
	int nparents;
	const char *subject;
	int invalid;            /* its fleet configuration has an error */
	const char *promotion;  /* "main canary production" or NULL */
};

struct graph {
	struct gcommit c[MAX_COMMITS];
	int n;
	const char *branch[MAX_BRANCHES];
	int tip[MAX_BRANCHES];
	int nbranches;
};

static struct graph g;

static int find(const char *id)
{
	int i;

	for (i = 0; i < g.n; i++)
		if (!strcmp(g.c[i].id, id))
			return i;
	return -1;
}

/* A commit with tree `tree` (a small number) and up to two parents (-1: none). */
static int commit(int tree, const char *subject, int p1, int p2)
{
	struct gcommit *c = &g.c[g.n];

	snprintf(c->id, sizeof(c->id), "c%06x%033d", g.n, 0);
	snprintf(c->tree, sizeof(c->tree), "%040x", 0xe0000 + tree);
	c->subject = subject;
	c->nparents = 0;
	if (p1 >= 0)
		c->parents[c->nparents++] = p1;
	if (p2 >= 0)
		c->parents[c->nparents++] = p2;
	c->promotion = g.n ? g.c[p1 >= 0 ? p1 : 0].promotion : NULL;
	return g.n++;
}

static void set_branch(const char *name, int tip)
{
	int i;

	for (i = 0; i < g.nbranches; i++)
		if (!strcmp(g.branch[i], name))
			break;
	g.branch[i] = name;
	g.tip[i] = tip;
	if (i == g.nbranches)
		g.nbranches++;
}

static int g_ref_tip(void *ctx, const char *ref, char *id)
{
	int i;

	(void)ctx;
	for (i = 0; i < g.nbranches; i++) {
		if (!strcmp(g.branch[i], ref)) {
			strcpy(id, g.c[g.tip[i]].id);
			return 0;
		}
	}
	return fg_error_set(FG_ENOTFOUND, "no branch %s", ref);
}

static int g_commit(void *ctx, const char *id, struct policy_commit *out)
{
	int i = find(id), k;

	(void)ctx;
	memset(out, 0, sizeof(*out));
	if (i < 0)
		return fg_error_set(FG_ENOTFOUND, "no commit %s", id);
	strcpy(out->id, g.c[i].id);
	strcpy(out->tree, g.c[i].tree);
	out->parents = fg_calloc(3, sizeof(char *));
	for (k = 0; k < g.c[i].nparents; k++)
		out->parents[k] = fg_strdup(g.c[g.c[i].parents[k]].id);
	out->nparents = (size_t)g.c[i].nparents;
	out->subject = fg_strdup(g.c[i].subject);
	return 0;
}

static int reaches(int from, int target)
{
	int k;

	if (from == target)
		return 1;
	for (k = 0; k < g.c[from].nparents; k++)
		if (reaches(g.c[from].parents[k], target))
			return 1;
	return 0;
}

static int g_is_ancestor(void *ctx, const char *a, const char *d, int *yes)
{
	(void)ctx;
	*yes = reaches(find(d), find(a));
	return 0;
}

static int g_commits_between(void *ctx, const char *tip, const char *const *hide, size_t nhide,
			     size_t max, char ***ids, size_t *count)
{
	int i, t = find(tip);
	size_t h, n = 0;

	(void)ctx;
	*ids = fg_calloc(MAX_COMMITS, sizeof(char *));
	for (i = g.n - 1; i >= 0; i--) {
		int hidden = 0;

		if (!reaches(t, i))
			continue;
		for (h = 0; h < nhide; h++)
			if (hide[h] && reaches(find(hide[h]), i))
				hidden = 1;
		if (hidden)
			continue;
		if (n == max)
			return fg_error_set(FG_ELIMIT, "too many");
		(*ids)[n++] = fg_strdup(g.c[i].id);
	}
	*count = n;
	return 0;
}

static int g_validate(void *ctx, const char *id, struct diags *d)
{
	(void)ctx;
	if (g.c[find(id)].invalid)
		diags_add(d, DIAG_ERROR, "fleet.yaml", 2, 1, "unknown-key", "unknown key 'x' in fleet.yaml");
	return 0;
}

static int g_promotion(void *ctx, const char *id, char ***stages, size_t *count)
{
	const char *p = g.c[find(id)].promotion;
	char *copy, *tok, *save = NULL;

	(void)ctx;
	*stages = fg_calloc(8, sizeof(char *));
	*count = 0;
	if (!p)
		return 0;
	copy = fg_strdup(p);
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		(*stages)[(*count)++] = fg_strdup(tok);
	free(copy);
	return 0;
}

static int g_branches(void *ctx, char ***names, size_t *count)
{
	int i;

	(void)ctx;
	*names = fg_calloc(MAX_BRANCHES, sizeof(char *));
	for (i = 0; i < g.nbranches; i++)
		(*names)[i] = fg_strdup(g.branch[i]);
	*count = (size_t)g.nbranches;
	return 0;
}

static const struct policy_reader reader = {
	NULL, g_ref_tip, g_commit, g_is_ancestor, g_commits_between, g_validate, g_promotion, g_branches,
};

static char *stages3[] = { "main", "canary", "production" };
static struct policy_settings settings;

static int setup(void **state)
{
	(void)state;
	memset(&g, 0, sizeof(g));
	memset(&settings, 0, sizeof(settings));
	settings.stages = stages3;
	settings.nstages = 3;
	settings.merge_only = 1;
	return 0;
}

/* A repository whose three stages point at one merged state:
 *   0 root  <- 1 feature work <- 2 merge (main, canary, production) */
static int base_history(void)
{
	int root = commit(1, "initial fleet", -1, -1);
	int work = commit(2, "add a kiosk", root, -1);
	int merge = commit(2, "Merge branch 'kiosk'", root, work);

	set_branch("main", merge);
	set_branch("canary", merge);
	set_branch("production", merge);
	return merge;
}

struct push {
	struct ref_update u[8];
	size_t n;
};

static void add(struct push *p, const char *ref, int old_c, int new_c)
{
	struct ref_update *u = &p->u[p->n++];

	snprintf(u->old_id, sizeof(u->old_id), "%s", old_c < 0 ? ZERO : g.c[old_c].id);
	snprintf(u->new_id, sizeof(u->new_id), "%s", new_c < 0 ? ZERO : g.c[new_c].id);
	u->ref = (char *)ref;
}

static struct policy_verdict *judge(struct push *p)
{
	struct policy_verdict *v = NULL;

	assert_int_equal(policy_judge(&v, &settings, p->u, p->n, &reader), 0);
	return v;
}

/* The rules that refused verdict `v`, space-separated ("" when accepted). */
static char *rules(const struct policy_verdict *v)
{
	static char buf[256];
	size_t k;

	buf[0] = '\0';
	for (k = 0; k < v->nreasons; k++) {
		if (k)
			strcat(buf, " ");
		strcat(buf, v->reasons[k].rule);
	}
	assert_int_equal(v->accepted, v->nreasons == 0);
	return buf;
}

#define ASSERT_RULES(p, i, expected) do { \
	struct policy_verdict *v_ = judge(p); \
	assert_string_equal(rules(&v_[i]), expected); \
	policy_verdicts_free(v_, (p)->n); \
} while (0)

static void test_feature_merge_into_main(void **state)
{
	int base = base_history();
	int work = commit(3, "tune kiosk", base, -1);
	int merge = commit(3, "Merge branch 'tune'", base, work);
	struct push p = { .n = 0 };

	(void)state;
	add(&p, "refs/heads/main", base, merge);
	ASSERT_RULES(&p, 0, "");
}

static void test_direct_commit_on_main(void **state)
{
	int base = base_history();
	int direct = commit(3, "quick fix", base, -1);
	struct push p = { .n = 0 };
	struct policy_verdict *v;

	(void)state;
	add(&p, "refs/heads/main", base, direct);
	v = judge(&p);
	assert_string_equal(rules(&v[0]), "merge-only");
	assert_string_equal(v[0].reasons[0].commit, g.c[direct].id);
	assert_string_equal(v[0].reasons[0].subject, "quick fix");
	assert_string_equal(v[0].reasons[0].message, "commit c000003 is not a merge: 'main' takes only merge commits");
	assert_string_equal(v[0].stage, "main");
	assert_null(v[0].upstream);
	policy_verdicts_free(v, p.n);
}

static void test_merge_only_off(void **state)
{
	int base = base_history();
	int direct = commit(3, "quick fix", base, -1);
	struct push p = { .n = 0 };

	(void)state;
	settings.merge_only = 0;
	add(&p, "refs/heads/main", base, direct);
	ASSERT_RULES(&p, 0, "");
}

static void test_foxtrot_merge_on_main(void **state)
{
	/* main merged into a feature branch, pushed as main: main's old tip is
	 * only a second parent, so its first-parent line is lost. */
	int base = base_history();
	int work = commit(3, "work", commit(1, "old work", 0, -1), -1);
	int foxtrot = commit(3, "Merge branch 'main' into work", work, base);
	struct push p = { .n = 0 };

	(void)state;
	add(&p, "refs/heads/main", base, foxtrot);
	ASSERT_RULES(&p, 0, "first-parent");
}

static void test_non_fast_forward(void **state)
{
	int base = base_history();
	int other = commit(5, "rewritten", 0, -1);
	int merge = commit(5, "Merge rewritten", 0, other);
	struct push p = { .n = 0 };

	(void)state;
	add(&p, "refs/heads/main", base, merge);
	ASSERT_RULES(&p, 0, "non-fast-forward");
}

static void test_delete_stage(void **state)
{
	int base = base_history();
	struct push p = { .n = 0 };

	(void)state;
	add(&p, "refs/heads/production", base, -1);
	ASSERT_RULES(&p, 0, "delete");
}

static void test_free_refs(void **state)
{
	int base = base_history();
	int direct = commit(3, "anything", base, -1);
	struct push p = { .n = 0 };
	struct policy_verdict *v;

	(void)state;
	add(&p, "refs/heads/feature/x", -1, direct);
	add(&p, "refs/tags/v1", -1, direct);
	add(&p, "refs/heads/develop", base, -1);
	v = judge(&p);
	assert_true(v[0].accepted && v[1].accepted && v[2].accepted);
	assert_null(v[0].stage);
	policy_verdicts_free(v, p.n);
}

static void test_fast_forward_promotion(void **state)
{
	int base = base_history();
	int work = commit(3, "tune", base, -1);
	int merge = commit(3, "Merge tune", base, work);
	struct push p = { .n = 0 };

	(void)state;
	set_branch("main", merge);
	add(&p, "refs/heads/canary", base, merge);
	ASSERT_RULES(&p, 0, "");
}

static void test_merge_commit_promotion(void **state)
{
	int base = base_history();
	int work = commit(3, "tune", base, -1);
	int merge = commit(3, "Merge tune", base, work);
	int promo = commit(3, "Merge branch 'main' into canary", base, merge);
	struct push p = { .n = 0 };

	(void)state;
	set_branch("main", merge);
	add(&p, "refs/heads/canary", base, promo);
	ASSERT_RULES(&p, 0, "");
}

static void test_promotion_merge_modifies(void **state)
{
	int base = base_history();
	int work = commit(3, "tune", base, -1);
	int merge = commit(3, "Merge tune", base, work);
	int promo = commit(4, "Merge main, with a tweak", base, merge);
	struct push p = { .n = 0 };
	struct policy_verdict *v;

	(void)state;
	set_branch("main", merge);
	add(&p, "refs/heads/canary", base, promo);
	v = judge(&p);
	assert_string_equal(rules(&v[0]), "modified-content");
	assert_string_equal(v[0].upstream, "main");
	assert_string_equal(v[0].reasons[0].subject, "Merge main, with a tweak");
	policy_verdicts_free(v, p.n);
}

static void test_direct_commit_on_canary(void **state)
{
	int base = base_history();
	int direct = commit(3, "hotfix on canary", base, -1);
	struct push p = { .n = 0 };
	struct policy_verdict *v;

	(void)state;
	add(&p, "refs/heads/canary", base, direct);
	v = judge(&p);
	assert_string_equal(rules(&v[0]), "not-from-upstream");
	assert_string_equal(v[0].reasons[0].message,
			    "commit c000003 is not in 'main': 'canary' takes only what 'main' already holds");
	policy_verdicts_free(v, p.n);
}

static void test_feature_merged_into_canary(void **state)
{
	int base = base_history();
	int work = commit(3, "feature", base, -1);
	int merge = commit(3, "Merge feature into canary", base, work);
	struct push p = { .n = 0 };

	(void)state;
	add(&p, "refs/heads/canary", base, merge);
	ASSERT_RULES(&p, 0, "not-from-upstream");
}

static void test_cherry_pick_onto_canary(void **state)
{
	/* Same change as main's commit, different commit: not in main. */
	int base = base_history();
	int work = commit(3, "tune", base, -1);
	int merge = commit(3, "Merge tune", base, work);
	int pick = commit(3, "tune", base, -1);
	struct push p = { .n = 0 };

	(void)state;
	set_branch("main", merge);
	add(&p, "refs/heads/canary", base, pick);
	ASSERT_RULES(&p, 0, "not-from-upstream");
}

static void test_production_from_main_skips_canary(void **state)
{
	int base = base_history();
	int work = commit(3, "tune", base, -1);
	int merge = commit(3, "Merge tune", base, work);
	struct push p = { .n = 0 };

	(void)state;
	set_branch("main", merge);
	add(&p, "refs/heads/production", base, merge);
	ASSERT_RULES(&p, 0, "not-from-upstream");
}

static void test_upstream_moved_in_same_push(void **state)
{
	int base = base_history();
	int work = commit(3, "tune", base, -1);
	int merge = commit(3, "Merge tune", base, work);
	struct push p = { .n = 0 };
	struct policy_verdict *v;

	(void)state;
	/* main sent first: canary may take main's new tip, since git writes
	 * main first and checks canary again when it writes it. */
	settings.upstream_in_push = 1;
	add(&p, "refs/heads/main", base, merge);
	add(&p, "refs/heads/canary", base, merge);
	v = judge(&p);
	assert_true(v[0].accepted);
	assert_true(v[1].accepted);
	policy_verdicts_free(v, p.n);
	/* Without the reference-transaction hook nothing checks canary again
	 * when git writes it: the same push may not carry its upstream. */
	settings.upstream_in_push = 0;
	ASSERT_RULES(&p, 1, "upstream-in-push");
	ASSERT_RULES(&p, 0, "");
	/* canary sent first: git would write it before main. The engine
	 * still judges main first. */
	settings.upstream_in_push = 1;
	p.n = 0;
	add(&p, "refs/heads/canary", base, merge);
	add(&p, "refs/heads/main", base, merge);
	v = judge(&p);
	assert_string_equal(rules(&v[0]), "upstream-in-push");
	assert_string_equal(v[0].reasons[0].message,
			    "'canary' rests on the new tip of 'main' from this push, and git writes 'canary' first");
	assert_true(v[1].accepted);
	policy_verdicts_free(v, p.n);
	/* At write time, in one transaction, main's new tip counts. */
	settings.recheck = 1;
	ASSERT_RULES(&p, 0, "");
}

static void test_refused_upstream_does_not_count(void **state)
{
	int base = base_history();
	int direct = commit(3, "direct on main", base, -1);
	struct push p = { .n = 0 };
	struct policy_verdict *v;

	(void)state;
	add(&p, "refs/heads/main", base, direct);
	add(&p, "refs/heads/canary", base, direct);
	v = judge(&p);
	assert_string_equal(rules(&v[0]), "merge-only");
	assert_string_equal(rules(&v[1]), "not-from-upstream");
	policy_verdicts_free(v, p.n);
}

static void test_create_stage_in_upstream(void **state)
{
	int base = base_history();
	struct push p = { .n = 0 };
	int stray = commit(7, "stray", base, -1);

	(void)state;
	g.nbranches = 2; /* no production yet */
	add(&p, "refs/heads/production", -1, base);
	ASSERT_RULES(&p, 0, "");
	p.n = 0;
	add(&p, "refs/heads/production", -1, stray);
	ASSERT_RULES(&p, 0, "not-from-upstream");
}

static void test_bootstrap_and_recreate_first_stage(void **state)
{
	int root = commit(1, "initial fleet", -1, -1);
	struct push p = { .n = 0 };

	(void)state;
	add(&p, "refs/heads/main", -1, root);
	ASSERT_RULES(&p, 0, "");
	set_branch("canary", root);
	ASSERT_RULES(&p, 0, "create-first-stage");
}

static void test_invalid_config_refused(void **state)
{
	int base = base_history();
	int work = commit(3, "typo", base, -1);
	int merge = commit(3, "Merge typo", base, work);
	struct push p = { .n = 0 };
	struct policy_verdict *v;

	(void)state;
	g.c[merge].invalid = 1;
	add(&p, "refs/heads/main", base, merge);
	v = judge(&p);
	assert_string_equal(rules(&v[0]), "invalid-config");
	assert_int_equal(v[0].reasons[0].diags.errors, 1);
	assert_string_equal(v[0].reasons[0].diags.items[0].code, "unknown-key");
	policy_verdicts_free(v, p.n);
}

static void test_pushers(void **state)
{
	static char *names[] = { "release-manager", "sre-bot" };
	struct stage_pushers pushers = { "production", names, 2 };
	int base = base_history();
	int work = commit(3, "tune", base, -1);
	int merge = commit(3, "Merge tune", base, work);
	struct push p = { .n = 0 };
	struct policy_verdict *v;

	(void)state;
	set_branch("main", merge);
	set_branch("canary", merge);
	settings.pushers = &pushers;
	settings.npushers = 1;
	add(&p, "refs/heads/production", base, merge);
	settings.pusher = "sre-bot";
	ASSERT_RULES(&p, 0, "");
	settings.pusher = "intern";
	v = judge(&p);
	assert_string_equal(rules(&v[0]), "pusher");
	assert_string_equal(v[0].reasons[0].message, "'intern' may not push stage 'production'");
	policy_verdicts_free(v, p.n);
	settings.pusher = NULL;
	ASSERT_RULES(&p, 0, "pusher");
	/* other stages are not restricted */
	p.n = 0;
	set_branch("canary", base);
	add(&p, "refs/heads/canary", base, merge);
	ASSERT_RULES(&p, 0, "");
}

static void test_stages_from_accepted_promotion(void **state)
{
	int base;
	int direct;
	struct push p = { .n = 0 };

	(void)state;
	settings.nstages = 0;
	settings.stages = NULL;
	g.c[0].promotion = "main canary production";
	base = base_history();
	g.c[1].promotion = g.c[2].promotion = "main canary production";
	/* A push that drops canary from promotion: still judged by the old list. */
	direct = commit(3, "loosen promotion", base, -1);
	g.c[direct].promotion = "main";
	add(&p, "refs/heads/canary", base, direct);
	ASSERT_RULES(&p, 0, "not-from-upstream");
}

static void test_stage_created_from_upstream_promotion(void **state)
{
	int base;
	int stray;
	struct push p = { .n = 0 };

	(void)state;
	settings.nstages = 0;
	settings.stages = NULL;
	g.c[0].promotion = "main canary production";
	base = base_history();
	g.c[1].promotion = g.c[2].promotion = "main canary production";
	g.nbranches = 2; /* main and canary */
	stray = commit(3, "stray", base, -1);
	add(&p, "refs/heads/production", -1, stray);
	ASSERT_RULES(&p, 0, "not-from-upstream");
}

/* The rules a merge request refuses with `method`; the merge's tree is
 * the source's when `same` (git's merge would bring it in unchanged). */
static char *mr_method(const char *source, int src, const char *target, int tgt,
		       enum policy_merge_method method, int same)
{
	static char buf[256];
	struct policy_verdict *v = NULL;
	struct policy_merge_request m;

	memset(&m, 0, sizeof(m));
	m.source = source;
	m.target = target;
	m.source_id = g.c[src].id;
	m.target_id = tgt < 0 ? ZERO : g.c[tgt].id;
	m.method = method;
	m.merge_clean = 1;
	m.merge_same_as_source = same;
	m.message = "Merge branch 'main' into 'canary'";
	assert_int_equal(policy_judge_merge_request(&v, &settings, &m, &reader), 0);
	snprintf(buf, sizeof(buf), "%s", rules(v));
	policy_verdicts_free(v, 1);
	return buf;
}

static char *mr(const char *source, int src, const char *target, int tgt)
{
	return mr_method(source, src, target, tgt, POLICY_MERGE_COMMIT, 1);
}

/* A feature branch's intermediate commit (work in progress, fixed before
 * the merge) is in main's history but was never main's tip: no later stage
 * takes it, by fast-forward, by merge, or when created. */
static void test_feature_intermediate_state(void **state)
{
	int base = base_history();
	int wip = commit(5, "WIP: ssh on for debugging", base, -1);
	int fixed = commit(6, "turn ssh off again", wip, -1);
	int merge = commit(6, "Merge feature", base, fixed);
	int promo = commit(5, "Promote main", base, wip);
	struct push p = { .n = 0 };
	struct policy_verdict *v;

	(void)state;
	set_branch("main", merge);
	add(&p, "refs/heads/canary", base, wip);
	v = judge(&p);
	assert_string_equal(rules(&v[0]), "not-from-upstream");
	assert_string_equal(v[0].reasons[0].message,
			    "commit c000003 was never a tip of 'main': it is only in the history of a branch merged into it");
	policy_verdicts_free(v, p.n);
	p.n = 0;
	add(&p, "refs/heads/canary", base, promo);
	ASSERT_RULES(&p, 0, "not-from-upstream");
	p.n = 0;
	g.nbranches = 2; /* no production yet */
	set_branch("canary", merge);
	add(&p, "refs/heads/production", -1, wip);
	ASSERT_RULES(&p, 0, "not-from-upstream");
	p.n = 0;
	add(&p, "refs/heads/production", -1, merge);
	ASSERT_RULES(&p, 0, "");
}

/* A merge whose second parent is already in its first's history merges
 * nothing: on main it is no reviewed merge, on canary no promotion. */
static void test_merges_that_merge_nothing(void **state)
{
	int base = base_history();
	int older = commit(8, "Merge main~1 with an edit", base, 0);
	int same = commit(8, "Merge main with itself", base, base);
	int work = commit(3, "tune", base, -1);
	int merge = commit(3, "Merge tune", base, work);
	int promo = commit(3, "Promote main", base, merge);
	int again = commit(3, "Promote main again", promo, merge);
	struct push p = { .n = 0 };

	(void)state;
	add(&p, "refs/heads/main", base, older);
	ASSERT_RULES(&p, 0, "empty-merge");
	p.n = 0;
	add(&p, "refs/heads/main", base, same);
	ASSERT_RULES(&p, 0, "empty-merge");
	set_branch("main", merge);
	p.n = 0;
	add(&p, "refs/heads/canary", base, again);
	ASSERT_RULES(&p, 0, "empty-merge");
	p.n = 0;
	add(&p, "refs/heads/canary", base, promo);
	ASSERT_RULES(&p, 0, "");
}

/* The old id a push sends for a stage is its tip, or the ref is refused. */
static void test_stale_old_id(void **state)
{
	int base = base_history();
	int work = commit(3, "tune", base, -1);
	int merge = commit(3, "Merge tune", base, work);
	struct push p = { .n = 0 };
	struct policy_verdict *v;

	(void)state;
	set_branch("main", merge);
	add(&p, "refs/heads/canary", merge, merge);
	v = judge(&p);
	assert_string_equal(rules(&v[0]), "stale-old-id");
	assert_string_equal(v[0].reasons[0].message,
			    "the push says 'canary' is at c000004, but it is at c000002");
	policy_verdicts_free(v, p.n);
	p.n = 0;
	add(&p, "refs/heads/canary", -1, merge);
	ASSERT_RULES(&p, 0, "stale-old-id");
}

static void test_reserved_refs(void **state)
{
	int base = base_history();
	struct push p = { .n = 0 };

	(void)state;
	add(&p, "refs/replace/c000001000000000000000000000000000000000", -1, base);
	add(&p, "refs/notes/fleetgate/verified", -1, base);
	add(&p, "refs/notes/fleetgate", -1, base);
	add(&p, "refs/notes/commits", -1, base);
	ASSERT_RULES(&p, 0, "reserved-ref");
	ASSERT_RULES(&p, 1, "reserved-ref");
	ASSERT_RULES(&p, 2, "reserved-ref");
	ASSERT_RULES(&p, 3, "");
}

/* However many stages there are, each is judged. */
static void test_many_stages(void **state)
{
	static char names[70][16];
	static char *list[70];
	int base = base_history();
	struct push p = { .n = 0 };
	int i;

	(void)state;
	for (i = 0; i < 70; i++) {
		snprintf(names[i], sizeof(names[i]), "s%d", i);
		list[i] = names[i];
	}
	settings.stages = list;
	settings.nstages = 70;
	set_branch("s68", base);
	add(&p, "refs/heads/s68", base, -1);
	ASSERT_RULES(&p, 0, "delete");
}

/* A stage name git config cannot hold as it is refuses the stage's pushes. */
static void test_stage_name_unusable(void **state)
{
	static char *list[] = { "main", "Production" };
	int base = base_history();
	int work = commit(3, "tune", base, -1);
	int merge = commit(3, "Merge tune", base, work);
	struct push p = { .n = 0 };

	(void)state;
	settings.stages = list;
	settings.nstages = 2;
	set_branch("Production", base);
	add(&p, "refs/heads/main", base, merge);
	ASSERT_RULES(&p, 0, "stage-name");
	p.n = 0;
	add(&p, "refs/heads/Production", base, merge);
	ASSERT_RULES(&p, 0, "stage-name");
}

static void test_merge_requests(void **state)
{
	int base = base_history();
	int work = commit(3, "tune", base, -1);
	int merge = commit(3, "Merge tune", base, work);
	int bad = commit(4, "typo", base, -1);
	int diverged = commit(5, "hotfix on canary", base, -1);

	(void)state;
	g.c[bad].invalid = 1;
	assert_string_equal(mr("feature/tune", work, "main", base), "");
	assert_string_equal(mr("feature/typo", bad, "main", base), "invalid-config");
	set_branch("main", merge);
	assert_string_equal(mr("main", merge, "canary", base), "");
	assert_string_equal(mr("feature/tune", work, "canary", base), "not-from-upstream");
	assert_string_equal(mr("main", merge, "production", base), "not-from-upstream");
	assert_string_equal(mr("feature/tune", work, "develop", base), "");
	assert_string_equal(mr("feature/typo", bad, "develop", base), "invalid-config");
	/* canary changed on its own: git's merge brings that in */
	set_branch("canary", diverged);
	assert_string_equal(mr_method("main", merge, "canary", diverged, POLICY_MERGE_COMMIT, 0),
			    "modified-content");
	assert_string_equal(mr_method("main", merge, "canary", diverged, POLICY_MERGE_FF, 0),
			    "fast-forward");
}

/* How the forge merges decides what the hook sees: after a promotion merge
 * commit on canary, only another merge commit passes. */
static void test_merge_request_methods(void **state)
{
	int base = base_history();
	int work = commit(3, "tune", base, -1);
	int merge = commit(3, "Merge tune", base, work);
	int promo = commit(3, "Merge branch 'main' into 'canary'", base, merge);
	int work2 = commit(6, "rotate", merge, -1);
	int merge2 = commit(6, "Merge rotate", merge, work2);

	(void)state;
	/* the first stage: only a merge commit is a merge */
	assert_string_equal(mr_method("feature/tune", work, "main", base, POLICY_MERGE_COMMIT, 1), "");
	assert_string_equal(mr_method("feature/tune", work, "main", base, POLICY_MERGE_FF, 1),
			    "merge-method merge-only");
	assert_string_equal(mr_method("feature/tune", work, "main", base, POLICY_MERGE_SQUASH, 1),
			    "merge-method merge-only");
	assert_string_equal(mr_method("feature/tune", work, "main", base, POLICY_MERGE_REBASE, 1),
			    "merge-method merge-only");
	/* canary never held a promotion merge: fast-forward or merge commit */
	set_branch("main", merge);
	assert_string_equal(mr_method("main", merge, "canary", base, POLICY_MERGE_FF, 1), "");
	assert_string_equal(mr_method("main", merge, "canary", base, POLICY_MERGE_SQUASH, 1),
			    "merge-method not-from-upstream");
	assert_string_equal(mr_method("main", merge, "canary", base, POLICY_MERGE_REBASE, 1),
			    "merge-method not-from-upstream");
	/* canary holds a promotion merge commit: the next one passes too */
	set_branch("canary", promo);
	set_branch("main", merge2);
	assert_string_equal(mr_method("main", merge2, "canary", promo, POLICY_MERGE_COMMIT, 1), "");
	assert_string_equal(mr_method("main", merge2, "canary", promo, POLICY_MERGE_FF, 1),
			    "merge-method fast-forward");
	assert_string_equal(mr_method("main", merge2, "canary", promo, POLICY_MERGE_SQUASH, 1),
			    "merge-method not-from-upstream");
	assert_string_equal(mr_method("main", merge2, "canary", promo, POLICY_MERGE_REBASE, 1),
			    "merge-method not-from-upstream");
	/* a merge that brings more than main's tip */
	assert_string_equal(mr_method("main", merge2, "canary", promo, POLICY_MERGE_COMMIT, 0),
			    "modified-content");
	/* nothing to promote: main's tip is in canary already, as the hook says */
	assert_string_equal(mr_method("main", merge, "canary", promo, POLICY_MERGE_COMMIT, 1),
			    "not-from-upstream");
}

static void test_parse_update(void **state)
{
	struct ref_update u;

	(void)state;
	assert_int_equal(policy_parse_update(&u, ZERO " 00000000000000000000000000000000000c0001 refs/heads/main"), 0);
	assert_string_equal(u.ref, "refs/heads/main");
	assert_true(policy_is_zero(u.old_id));
	assert_false(policy_is_zero(u.new_id));
	ref_update_release(&u);
	assert_int_equal(policy_parse_update(&u, "abc def refs/heads/main"), FG_EINVAL);
	assert_int_equal(policy_parse_update(&u, ZERO " " ZERO), FG_EINVAL);
	assert_int_equal(policy_parse_update(&u, ZERO "000000000000000000000000 " ZERO "000000000000000000000000 refs/heads/x"), FG_EINVAL);
	assert_non_null(strstr(fg_error_message(), "SHA-256"));
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_feature_merge_into_main, setup),
		cmocka_unit_test_setup(test_direct_commit_on_main, setup),
		cmocka_unit_test_setup(test_merge_only_off, setup),
		cmocka_unit_test_setup(test_foxtrot_merge_on_main, setup),
		cmocka_unit_test_setup(test_non_fast_forward, setup),
		cmocka_unit_test_setup(test_delete_stage, setup),
		cmocka_unit_test_setup(test_free_refs, setup),
		cmocka_unit_test_setup(test_fast_forward_promotion, setup),
		cmocka_unit_test_setup(test_merge_commit_promotion, setup),
		cmocka_unit_test_setup(test_promotion_merge_modifies, setup),
		cmocka_unit_test_setup(test_direct_commit_on_canary, setup),
		cmocka_unit_test_setup(test_feature_merged_into_canary, setup),
		cmocka_unit_test_setup(test_cherry_pick_onto_canary, setup),
		cmocka_unit_test_setup(test_production_from_main_skips_canary, setup),
		cmocka_unit_test_setup(test_upstream_moved_in_same_push, setup),
		cmocka_unit_test_setup(test_refused_upstream_does_not_count, setup),
		cmocka_unit_test_setup(test_create_stage_in_upstream, setup),
		cmocka_unit_test_setup(test_bootstrap_and_recreate_first_stage, setup),
		cmocka_unit_test_setup(test_invalid_config_refused, setup),
		cmocka_unit_test_setup(test_pushers, setup),
		cmocka_unit_test_setup(test_stages_from_accepted_promotion, setup),
		cmocka_unit_test_setup(test_stage_created_from_upstream_promotion, setup),
		cmocka_unit_test_setup(test_feature_intermediate_state, setup),
		cmocka_unit_test_setup(test_merges_that_merge_nothing, setup),
		cmocka_unit_test_setup(test_stale_old_id, setup),
		cmocka_unit_test_setup(test_reserved_refs, setup),
		cmocka_unit_test_setup(test_many_stages, setup),
		cmocka_unit_test_setup(test_stage_name_unusable, setup),
		cmocka_unit_test_setup(test_merge_requests, setup),
		cmocka_unit_test_setup(test_merge_request_methods, setup),
		cmocka_unit_test(test_parse_update),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
