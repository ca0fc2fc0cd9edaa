#include "rules/policy.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "fleet/fleet.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_COMMITS 100000
#define MAX_REASONS_PER_REF 5
/* Offending commits counted past the listed ones; then counting stops,
 * so a push of 100,000 bad commits is refused as fast as one of six. */
#define MAX_COUNTED 1000

struct judge {
	const struct policy_settings *settings;
	const struct policy_reader *r;
	const struct ref_update *updates;
	struct policy_verdict *verdicts;
	size_t n;
};

int policy_is_zero(const char *id)
{
	if (!*id)
		return 1;
	for (; *id; id++)
		if (*id != '0')
			return 0;
	return 1;
}

static int is_hex_id(const char *s, size_t len)
{
	size_t i;

	if (len != 40 && len != 64)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int policy_parse_update(struct ref_update *out, const char *line)
{
	const char *sp1 = strchr(line, ' '), *sp2;

	memset(out, 0, sizeof(*out));
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || !is_hex_id(line, (size_t)(sp1 - line)) ||
	    !is_hex_id(sp1 + 1, (size_t)(sp2 - sp1 - 1)) || !sp2[1] || strchr(sp2 + 1, ' '))
		return fg_error_set(FG_EINVAL, "malformed ref update line '%.80s'", line);
	if (sp1 - line == 64 || sp2 - sp1 - 1 == 64)
		return fg_error_set(FG_EINVAL,
				    "ref update for '%.200s' uses SHA-256 object ids; fleetgate reads SHA-1 repositories only",
				    sp2 + 1);
	memcpy(out->old_id, line, (size_t)(sp1 - line));
	memcpy(out->new_id, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	out->ref = fg_strdup(sp2 + 1);
	return 0;
}

void ref_update_release(struct ref_update *u)
{
	free(u->ref);
	u->ref = NULL;
}

void ref_updates_free(struct ref_update *u, size_t n)
{
	size_t i;

	if (!u)
		return;
	for (i = 0; i < n; i++)
		ref_update_release(&u[i]);
	free(u);
}

void policy_commit_release(struct policy_commit *c)
{
	fg_strings_free(c->parents, c->nparents);
	free(c->subject);
	memset(c, 0, sizeof(*c));
}

/* The rest of `s` after `prefix`, or NULL when `s` does not start so. */
static const char *after_prefix(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) ? NULL : s + n;
}

static const char *branch_of(const char *ref)
{
	return after_prefix(ref, "refs/heads/");
}

static int list_index(char *const *list, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(list[i], name))
			return (int)i;
	return -1;
}

static char *short_id(const char *id)
{
	return fg_strndup(id, 7);
}

/* Add a reason to a verdict; `commit` may be NULL. */
static struct policy_reason *refuse(struct policy_verdict *v, const char *rule, const char *commit,
				    const char *subject, const char *advice, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static struct policy_reason *refuse_v(struct policy_verdict *v, const char *rule,
				      const char *commit, const char *subject, const char *advice,
				      const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));

static struct policy_reason *refuse_v(struct policy_verdict *v, const char *rule,
				      const char *commit, const char *subject, const char *advice,
				      const char *fmt, va_list ap)
{
	struct policy_reason *r;

	v->accepted = 0;
	v->reasons = fg_realloc(v->reasons, (v->nreasons + 1) * sizeof(*v->reasons));
	r = &v->reasons[v->nreasons++];
	memset(r, 0, sizeof(*r));
	diags_init(&r->diags);
	r->rule = rule;
	if (commit)
		snprintf(r->commit, sizeof(r->commit), "%s", commit);
	r->subject = subject ? fg_strdup(subject) : NULL;
	r->advice = advice ? fg_strdup(advice) : NULL;
	r->message = fg_vasprintf(fmt, ap);
	return r;
}

static struct policy_reason *refuse(struct policy_verdict *v, const char *rule, const char *commit,
				    const char *subject, const char *advice, const char *fmt, ...)
{
	struct policy_reason *r;
	va_list ap;

	va_start(ap, fmt);
	r = refuse_v(v, rule, commit, subject, advice, fmt, ap);
	va_end(ap);
	return r;
}

struct policy_reason *policy_refuse(struct policy_verdict *v, const char *rule, const char *advice,
				    const char *fmt, ...)
{
	struct policy_reason *r;
	va_list ap;

	va_start(ap, fmt);
	r = refuse_v(v, rule, NULL, NULL, advice, fmt, ap);
	va_end(ap);
	return r;
}

/* An internal failure refuses the ref: the hook fails closed. */
static void refuse_internal(struct policy_verdict *v, const char *what)
{
	refuse(v, "internal-error", NULL, NULL,
	       "this is a problem of the server, not of your change: tell the git server's admin",
	       "fleetgate could not %s: %s", what, fg_error_message());
}

/* Refs a client never writes: refs/replace/ changes what every clone sees
 * of history (and can point at objects the server lacks), and
 * refs/notes/fleetgate/ is fleetgate's own record on the server. */
static int reserved_ref(const char *ref)
{
	return after_prefix(ref, "refs/replace/") || !strcmp(ref, "refs/notes/fleetgate") ||
	       after_prefix(ref, "refs/notes/fleetgate/");
}

/* ---- which branches are stages ---- */

struct stage_list {
	char **names;
	size_t n;
	int owned;
};

static void stage_list_release(struct stage_list *l)
{
	if (l->owned)
		fg_strings_free(l->names, l->n);
	memset(l, 0, sizeof(*l));
}

/*
 * The stages that govern `branch`: the server's settings, else promotion:
 * as already accepted on the server: at the branch's current tip, or, for a
 * branch being created, at the tip of the stage upstream of it. Never from
 * the pushed commits. l->n 0: the branch is not a stage.
 */
static int stages_for(struct judge *j, const char *branch, struct stage_list *l)
{
	char tip[POLICY_ID_MAX], **names = NULL;
	size_t nnames = 0, i;
	int rc;

	memset(l, 0, sizeof(*l));
	if (j->settings->nstages) {
		l->names = j->settings->stages;
		l->n = j->settings->nstages;
		return 0;
	}
	rc = j->r->ref_tip(j->r->ctx, branch, tip);
	if (rc == 0) {
		rc = j->r->promotion(j->r->ctx, tip, &l->names, &l->n);
		l->owned = 1;
		if (!rc && list_index(l->names, l->n, branch) < 0)
			stage_list_release(l);
		return rc;
	}
	if (rc != FG_ENOTFOUND)
		return rc;
	rc = j->r->branches(j->r->ctx, &names, &nnames);
	for (i = 0; !rc && i < nnames && !l->n; i++) {
		char **list = NULL;
		size_t count = 0;
		int up, me;

		rc = j->r->ref_tip(j->r->ctx, names[i], tip);
		if (!rc)
			rc = j->r->promotion(j->r->ctx, tip, &list, &count);
		up = list_index(list, count, names[i]);
		me = list_index(list, count, branch);
		if (!rc && up >= 0 && me == up + 1) {
			l->names = list;
			l->n = count;
			l->owned = 1;
		} else {
			fg_strings_free(list, count);
		}
	}
	fg_strings_free(names, nnames);
	return rc;
}

/* ---- rules ---- */

/* The list of who may push `stage`, or NULL when anyone may. */
static const struct stage_pushers *pushers_of(const struct policy_settings *s, const char *stage)
{
	size_t i;

	for (i = 0; i < s->npushers; i++)
		if (!strcmp(s->pushers[i].stage, stage))
			return &s->pushers[i];
	return NULL;
}

static void check_pusher(struct judge *j, struct policy_verdict *v)
{
	const struct stage_pushers *p = pushers_of(j->settings, v->stage);
	const char *who = j->settings->pusher;
	struct fg_buf advice = FG_BUF_INIT;
	size_t k;

	if (!p)
		return;
	for (k = 0; k < p->nnames; k++)
		if (who && !strcmp(p->names[k], who))
			return;
	if (!who || !*who) {
		refuse(v, "pusher", NULL, NULL,
		       "the server must say who pushes (GL_USERNAME, GITEA_PUSHER_NAME, GL_USER, REMOTE_USER or USER)",
		       "only named people may push stage '%s', and the server could not tell who is pushing",
		       v->stage);
		return;
	}
	fg_buf_init(&advice);
	if (!p->nnames)
		fg_buf_printf(&advice, "ask the git server's admin: nobody is listed in git config fleetgate.pushers.%s",
			      v->stage);
	else {
		fg_buf_puts(&advice, "ask one of ");
		for (k = 0; k < p->nnames; k++)
			fg_buf_printf(&advice, "%s%s", k ? ", " : "", p->names[k]);
		fg_buf_printf(&advice, " (git config fleetgate.pushers.%s) to push it", v->stage);
	}
	refuse(v, "pusher", NULL, NULL, advice.ptr, "'%s' may not push stage '%s'", who, v->stage);
	fg_buf_release(&advice);
}

/* Take back the reasons from index `from` on: when a stage's first-parent
 * line is lost, that is the one problem to explain, not each commit. */
static void drop_reasons(struct policy_verdict *v, size_t from)
{
	while (v->nreasons > from) {
		struct policy_reason *r = &v->reasons[--v->nreasons];

		free(r->message);
		free(r->subject);
		free(r->advice);
		diags_release(&r->diags);
	}
	v->more = 0;
	v->more_unknown = 0;
	v->more_what = NULL;
	v->accepted = v->nreasons == 0;
}

/* The stage's new first-parent line does not reach its old tip: the
 * reasons this walk gave (from index `first`) are taken back for that one. */
static void refuse_lost_line(struct policy_verdict *v, size_t first, const struct ref_update *u,
			     const char *advice)
{
	char *old = short_id(u->old_id);

	drop_reasons(v, first);
	refuse(v, "first-parent", NULL, NULL, advice,
	       "the first-parent history of '%s' does not continue from its previous tip %s",
	       v->stage, old);
	free(old);
}

/* Count an offending commit past the listed ones; 0 when counting stops. */
static int count_more(struct policy_verdict *v, const char *what)
{
	v->more_what = what;
	if (v->more >= MAX_COUNTED) {
		v->more_unknown = 1;
		return 0;
	}
	v->more++;
	return 1;
}

/* *empty = merge commit `c` merges nothing: its second parent is already
 * in the history of its first. */
static int merges_nothing(struct judge *j, const struct policy_commit *c, int *empty)
{
	return j->r->is_ancestor(j->r->ctx, c->parents[1], c->parents[0], empty);
}

/* First stage: every commit on the first-parent line from the new tip back
 * to the old one is a merge that brings something, and the line reaches
 * the old tip. */
static void check_merge_only(struct judge *j, struct policy_verdict *v, const struct ref_update *u)
{
	char id[POLICY_ID_MAX];
	size_t steps = 0, bad = 0, first = v->nreasons;
	int reached = 1;

	snprintf(id, sizeof(id), "%s", u->new_id);
	while (strcmp(id, u->old_id)) {
		struct policy_commit c;
		const char *rule = NULL;
		int empty = 0, go_on = 1;

		if (++steps > j->settings->max_commits) {
			refuse(v, "merge-only", NULL, NULL, "push fewer commits at a time",
			       "more than %zu commits to examine on the first-parent line of '%s'",
			       j->settings->max_commits, v->stage);
			return;
		}
		if (j->r->commit(j->r->ctx, id, &c)) {
			refuse_internal(v, "read a commit");
			return;
		}
		if (!c.nparents) {
			reached = 0;
			policy_commit_release(&c);
			break;
		}
		if (c.nparents < 2)
			rule = "merge-only";
		else if (merges_nothing(j, &c, &empty)) {
			refuse_internal(v, "compare the parents of a merge");
			policy_commit_release(&c);
			return;
		} else if (empty)
			rule = "empty-merge";
		if (rule && bad++ < MAX_REASONS_PER_REF) {
			char *sid = short_id(c.id);

			if (!strcmp(rule, "merge-only"))
				refuse(v, rule, c.id, c.subject,
				       "commit on a feature branch and merge it into this stage through a merge request (git merge --no-ff)",
				       "commit %s is not a merge: '%s' takes only merge commits", sid, v->stage);
			else
				refuse(v, rule, c.id, c.subject,
				       "merge a feature branch that holds the change (git merge --no-ff <feature>)",
				       "merge commit %s merges nothing: its second parent is already in the history of its first",
				       sid);
			free(sid);
		} else if (rule) {
			go_on = count_more(v, "commits that are not merges of new work");
		}
		snprintf(id, sizeof(id), "%s", c.parents[0]);
		policy_commit_release(&c);
		if (!go_on)
			return;
	}
	if (!reached)
		/* A merge of the stage into a feature branch, pushed as the stage:
		 * that is the problem to explain, not each commit under it. */
		refuse_lost_line(v, first, u,
				 "merge the feature branch into the stage (git checkout <stage>; git merge --no-ff <feature>), not the stage into the feature branch");
}

/* A sorted set of object ids. */
struct id_set {
	char **ids;
	size_t n;
};

static int id_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int id_set_has(const struct id_set *set, const char *id)
{
	return set->n && bsearch(&id, set->ids, set->n, sizeof(*set->ids), id_cmp) != NULL;
}

static void id_set_release(struct id_set *set)
{
	fg_strings_free(set->ids, set->n);
	memset(set, 0, sizeof(*set));
}

/*
 * The part of U's first-parent line that stage S does not hold yet: from
 * `up_tip` down to the first commit that `s_old` (S's tip) already has. A
 * commit joining S is on U's first-parent line exactly when it is in this
 * part, because a commit joining S is never in S's history already.
 */
static int upstream_line(struct judge *j, const char *up_tip, const char *s_old, struct id_set *line)
{
	const char *hide[1] = { s_old };
	struct id_set beyond = { NULL, 0 };
	char id[POLICY_ID_MAX], **ids = NULL;
	size_t n = 0, alloc = 0;
	int rc;

	memset(line, 0, sizeof(*line));
	rc = j->r->commits_between(j->r->ctx, up_tip, hide, 1, j->settings->max_commits, &beyond.ids,
				   &beyond.n);
	if (rc)
		return rc;
	if (beyond.n)
		qsort(beyond.ids, beyond.n, sizeof(*beyond.ids), id_cmp);
	snprintf(id, sizeof(id), "%s", up_tip);
	while (id_set_has(&beyond, id)) {
		struct policy_commit c;

		rc = j->r->commit(j->r->ctx, id, &c);
		if (rc)
			break;
		ids = fg_grow(ids, &alloc, n + 1, sizeof(*ids));
		ids[n++] = fg_strdup(id);
		snprintf(id, sizeof(id), "%s", c.nparents ? c.parents[0] : "");
		policy_commit_release(&c);
	}
	id_set_release(&beyond);
	if (rc) {
		fg_strings_free(ids, n);
		return rc;
	}
	if (n)
		qsort(ids, n, sizeof(*ids), id_cmp);
	line->ids = ids;
	line->n = n;
	return 0;
}

/* *on = `id` is on the first-parent line of `tip` (for creating a stage). */
static int on_first_parent_line(struct judge *j, const char *tip, const char *id, int *on)
{
	char at[POLICY_ID_MAX];
	size_t steps = 0;
	int rc = 0;

	*on = 0;
	snprintf(at, sizeof(at), "%s", tip);
	while (at[0] && !(*on = !strcmp(at, id))) {
		struct policy_commit c;

		if (++steps > j->settings->max_commits)
			return fg_error_set(FG_ELIMIT, "more than %zu commits on the first-parent line",
					    j->settings->max_commits);
		rc = j->r->commit(j->r->ctx, at, &c);
		if (rc)
			return rc;
		snprintf(at, sizeof(at), "%s", c.nparents ? c.parents[0] : "");
		policy_commit_release(&c);
	}
	return 0;
}

/* Why commit `c`, joining stage S's first-parent line and not on U's, is
 * not a clean promotion merge; NULL when it is one. */
static const char *promotion_fault(struct judge *j, const struct policy_commit *c,
				   const struct id_set *line, int *failed)
{
	struct policy_commit p;
	int empty = 0, same_tree;

	*failed = 0;
	if (c->nparents < 2)
		return "not-a-merge";
	if (c->nparents > 2)
		return "octopus";
	if (!id_set_has(line, c->parents[1]))
		return "not-from-upstream";
	if (j->r->commit(j->r->ctx, c->parents[1], &p)) {
		*failed = 1;
		return NULL;
	}
	same_tree = !strcmp(p.tree, c->tree);
	policy_commit_release(&p);
	if (!same_tree)
		return "modified-content";
	if (merges_nothing(j, c, &empty)) {
		*failed = 1;
		return NULL;
	}
	return empty ? "empty-merge" : NULL;
}

static void refuse_promotion(struct judge *j, struct policy_verdict *v, const struct policy_commit *c,
			     const char *fault)
{
	char *sid = short_id(c->id);
	int in_history = 0;

	if (!strcmp(fault, "modified-content")) {
		refuse(v, "modified-content", c->id, c->subject,
		       "merge without changing anything (git merge --no-ff <upstream>, no edits, no conflict resolution); make changes on the upstream stage first",
		       "merge commit %s changes what it brings from '%s': its tree differs from the merged commit's",
		       sid, v->upstream);
	} else if (!strcmp(fault, "empty-merge")) {
		refuse(v, "empty-merge", c->id, c->subject,
		       "promote by merging the upstream stage's tip (git merge --no-ff origin/<upstream>)",
		       "merge commit %s merges nothing: its second parent is already in the history of its first",
		       sid);
	} else if (!strcmp(fault, "octopus")) {
		refuse(v, "not-from-upstream", c->id, c->subject,
		       "promote with a merge of the upstream stage's tip alone (git merge --no-ff origin/<upstream>)",
		       "merge commit %s has %zu parents: a promotion merges one commit of '%s'", sid,
		       c->nparents, v->upstream);
	} else if (!strcmp(fault, "not-from-upstream")) {
		refuse(v, "not-from-upstream", c->id, c->subject,
		       "merge the change into the upstream stage first, then promote the upstream stage's tip",
		       "merge commit %s brings in a commit that was never a tip of '%s' (it is not on its first-parent line)",
		       sid, v->upstream);
	} else {
		/* A commit of a feature branch merged into U is in U's history,
		 * but U never had it as its tip: it is refused all the same. */
		const char *up = v->upstream;
		char tip[POLICY_ID_MAX];

		if (!j->r->ref_tip(j->r->ctx, up, tip))
			j->r->is_ancestor(j->r->ctx, c->id, tip, &in_history);
		if (in_history)
			refuse(v, "not-from-upstream", c->id, c->subject,
			       "promote the upstream stage's tip, not a commit of a branch merged into it",
			       "commit %s was never a tip of '%s': it is only in the history of a branch merged into it",
			       sid, up);
		else
			refuse(v, "not-from-upstream", c->id, c->subject,
			       "make the change on a branch merged into the first stage, then promote it stage by stage",
			       "commit %s is not in '%s': '%s' takes only what '%s' already holds", sid, up,
			       v->stage, up);
	}
	free(sid);
}

/*
 * Later stage: walk S's first-parent line from the new tip down to the old
 * one. Each commit on it is on U's first-parent line, or a clean promotion
 * merge; once the walk is on U's line it must meet S's old tip before
 * leaving it.
 */
static void check_from_upstream(struct judge *j, struct policy_verdict *v,
				const struct ref_update *u, const char *up_tip)
{
	struct id_set line;
	char id[POLICY_ID_MAX];
	size_t steps = 0, bad = 0, first = v->nreasons;
	int rc, on_line = 0, reached = 1;

	rc = upstream_line(j, up_tip, u->old_id, &line);
	if (rc == FG_ELIMIT) {
		refuse(v, "not-from-upstream", NULL, NULL, "promote in smaller steps",
		       "more than %zu commits to examine for '%s'", j->settings->max_commits, v->stage);
		return;
	}
	if (rc) {
		refuse_internal(v, "read the upstream stage's first-parent line");
		return;
	}
	snprintf(id, sizeof(id), "%s", u->new_id);
	while (strcmp(id, u->old_id)) {
		struct policy_commit c;
		const char *fault = NULL;
		int failed = 0, go_on = 1, here = id_set_has(&line, id);

		if (on_line && !here) {
			reached = 0;
			break;
		}
		on_line = here;
		if (++steps > j->settings->max_commits) {
			refuse(v, "not-from-upstream", NULL, NULL, "promote in smaller steps",
			       "more than %zu commits to examine for '%s'", j->settings->max_commits,
			       v->stage);
			break;
		}
		if (j->r->commit(j->r->ctx, id, &c)) {
			refuse_internal(v, "read a commit");
			break;
		}
		if (!here)
			fault = promotion_fault(j, &c, &line, &failed);
		if (failed) {
			refuse_internal(v, "read a promotion merge");
			policy_commit_release(&c);
			break;
		}
		if (fault && bad++ < MAX_REASONS_PER_REF)
			refuse_promotion(j, v, &c, fault);
		else if (fault)
			go_on = count_more(v, "commits that the upstream stage never had as its tip");
		if (!c.nparents)
			reached = 0;
		else
			snprintf(id, sizeof(id), "%s", c.parents[0]);
		policy_commit_release(&c);
		if (!go_on || !reached)
			break;
	}
	if (!reached)
		refuse_lost_line(v, first, u,
				 "promote with a merge into the stage (git checkout <stage>; git merge --no-ff origin/<upstream>)");
	id_set_release(&line);
}

static void check_config(struct judge *j, struct policy_verdict *v, const struct ref_update *u)
{
	struct diags d;
	struct policy_reason *r;
	char *sid;

	diags_init(&d);
	if (j->r->validate(j->r->ctx, u->new_id, &d)) {
		diags_release(&d);
		refuse_internal(v, "validate the fleet configuration");
		return;
	}
	if (!d.errors) {
		diags_release(&d);
		return;
	}
	sid = short_id(u->new_id);
	r = refuse(v, "invalid-config", u->new_id, NULL,
		   "fix the errors on the first stage and promote the fix",
		   "the fleet configuration at %s has %zu error%s", sid, d.errors,
		   d.errors == 1 ? "" : "s");
	r->diags = d;
	free(sid);
}

/* The tip of stage `name` for judging: its new tip when this push moves it
 * and that move was accepted (*from_push: the index of that update), else
 * its current tip (*from_push: -1). */
static int stage_tip(struct judge *j, const char *name, char *tip, int *exists, long *from_push)
{
	size_t i;
	int rc;

	*exists = 0;
	*from_push = -1;
	for (i = 0; i < j->n; i++) {
		const char *b = branch_of(j->updates[i].ref);

		if (b && !strcmp(b, name) && j->verdicts[i].accepted && j->verdicts[i].stage &&
		    !policy_is_zero(j->updates[i].new_id)) {
			snprintf(tip, POLICY_ID_MAX, "%s", j->updates[i].new_id);
			*exists = 1;
			*from_push = (long)i;
			return 0;
		}
	}
	rc = j->r->ref_tip(j->r->ctx, name, tip);
	if (rc == FG_ENOTFOUND)
		return 0;
	*exists = rc == 0;
	return rc;
}

static int any_stage_exists(struct judge *j, const struct stage_list *l, int *exists)
{
	char tip[POLICY_ID_MAX];
	size_t i;
	int rc;

	*exists = 0;
	for (i = 0; i < l->n && !*exists; i++) {
		rc = j->r->ref_tip(j->r->ctx, l->names[i], tip);
		if (rc == 0)
			*exists = 1;
		else if (rc != FG_ENOTFOUND)
			return rc;
	}
	return 0;
}

/* The old id a push sends must be the stage's tip: git would refuse to
 * write it otherwise, and a verdict on other refs must never rest on a
 * move that cannot happen. Returns 1 when refused. */
static int check_old_id(struct judge *j, struct policy_verdict *v, const struct ref_update *u)
{
	char tip[POLICY_ID_MAX];
	int rc = j->r->ref_tip(j->r->ctx, v->stage, tip);

	if (rc && rc != FG_ENOTFOUND) {
		refuse_internal(v, "read the stage's tip");
		return 1;
	}
	if (rc == FG_ENOTFOUND ? policy_is_zero(u->old_id) : !strcmp(tip, u->old_id))
		return 0;
	if (rc == FG_ENOTFOUND)
		refuse(v, "stale-old-id", NULL, NULL, "fetch, and push again",
		       "the push says '%s' is at %.7s, but '%s' does not exist", v->stage, u->old_id,
		       v->stage);
	else
		refuse(v, "stale-old-id", NULL, NULL, "fetch, and push again",
		       "the push says '%s' is at %.7s, but it is at %.7s", v->stage,
		       policy_is_zero(u->old_id) ? "(nothing)" : u->old_id, tip);
	return 1;
}

static void judge_stage(struct judge *j, size_t i, const struct stage_list *l, int idx)
{
	struct policy_verdict *v = &j->verdicts[i];
	const struct ref_update *u = &j->updates[i];
	int created = policy_is_zero(u->old_id), yes = 0, exists;

	if (!j->settings->recheck)
		check_pusher(j, v);
	if (check_old_id(j, v, u))
		return;
	if (policy_is_zero(u->new_id)) {
		refuse(v, "delete", NULL, NULL, "stages are never deleted; ask the git server's admin if it must go",
		       "deleting stage '%s' is not allowed", v->stage);
		return;
	}
	if (!created) {
		if (j->r->is_ancestor(j->r->ctx, u->old_id, u->new_id, &yes)) {
			refuse_internal(v, "compare the old and new tips");
			return;
		}
		if (!yes) {
			char *old = short_id(u->old_id), *new = short_id(u->new_id);

			refuse(v, "non-fast-forward", u->new_id, NULL,
			       "never rewrite a stage: fetch it, and undo a change by merging a revert through the stages",
			       "%s..%s is not a fast-forward: it would drop commits from '%s'", old, new,
			       v->stage);
			free(old);
			free(new);
			return;
		}
	}
	if (idx == 0) {
		if (created) {
			if (any_stage_exists(j, l, &exists)) {
				refuse_internal(v, "read the stages");
				return;
			}
			if (exists)
				refuse(v, "create-first-stage", NULL, NULL,
				       "ask the git server's admin: the first stage is created once, when the repository has no stage",
				       "stage '%s' can only be created in a repository that has no stage yet",
				       v->stage);
		} else if (j->settings->merge_only) {
			check_merge_only(j, v, u);
		}
	} else {
		char up_tip[POLICY_ID_MAX];
		long from_push;

		if (stage_tip(j, v->upstream, up_tip, &exists, &from_push)) {
			refuse_internal(v, "read the upstream stage");
			return;
		}
		if (!exists) {
			refuse(v, "not-from-upstream", NULL, NULL, "create the upstream stage first",
			       "stage '%s' takes its content from '%s', which does not exist", v->stage,
			       v->upstream);
		} else if (created) {
			int rc = on_first_parent_line(j, up_tip, u->new_id, &yes);

			if (rc == FG_ELIMIT) {
				refuse(v, "not-from-upstream", NULL, NULL,
				       "create the stage at a recent tip of its upstream stage",
				       "more than %zu commits to examine on the first-parent line of '%s'",
				       j->settings->max_commits, v->upstream);
				return;
			}
			if (rc) {
				refuse_internal(v, "read the upstream stage");
				return;
			}
			if (!yes) {
				char *sid = short_id(u->new_id);

				refuse(v, "not-from-upstream", u->new_id, NULL,
				       "create the stage at a tip of its upstream stage (git push origin origin/<upstream>:refs/heads/<stage>)",
				       "stage '%s' can only be created at a commit on the first-parent line of '%s', and %s is not one",
				       v->stage, v->upstream, sid);
				free(sid);
			}
		} else {
			check_from_upstream(j, v, u, up_tip);
		}
		if (v->accepted && from_push >= 0 && !j->settings->recheck &&
		    (from_push > (long)i || !j->settings->upstream_in_push)) {
			/* git writes the refs of a push in the order sent (which
			 * git push sorts by name): a stage sent before its
			 * upstream would be written before it. */
			if (from_push > (long)i)
				refuse(v, "upstream-in-push", NULL, NULL,
				       "push the upstream stage first, then this one",
				       "'%s' rests on the new tip of '%s' from this push, and git writes '%s' first",
				       v->stage, v->upstream, v->stage);
			else
				refuse(v, "upstream-in-push", NULL, NULL,
				       "push the upstream stage first, then this one",
				       "'%s' rests on the new tip of '%s' from this push, and this server cannot make sure '%s' is written only if '%s' is (fleetgate's reference-transaction hook is not installed)",
				       v->stage, v->upstream, v->stage, v->upstream);
			return;
		}
	}
	if (!j->settings->recheck)
		check_config(j, v, u);
}

int policy_judge(struct policy_verdict **out, const struct policy_settings *settings,
		 const struct ref_update *updates, size_t n, const struct policy_reader *reader)
{
	struct policy_settings s = *settings;
	struct judge j = { &s, reader, updates, NULL, n };
	struct stage_list *lists;
	int *index, pass, max_index = -1;
	size_t i, k;

	if (!s.max_commits)
		s.max_commits = DEFAULT_MAX_COMMITS;
	j.verdicts = fg_calloc(n + 1, sizeof(*j.verdicts));
	lists = fg_calloc(n + 1, sizeof(*lists));
	index = fg_calloc(n + 1, sizeof(*index));
	for (i = 0; i < n; i++) {
		struct policy_verdict *v = &j.verdicts[i];
		const char *b = branch_of(updates[i].ref);

		v->ref = fg_strdup(updates[i].ref);
		v->accepted = 1;
		index[i] = -1;
		if (reserved_ref(updates[i].ref)) {
			refuse(v, "reserved-ref", NULL, NULL,
			       "these refs are the server's own; nothing needs pushing there",
			       "'%s' is a ref that no push may change (refs/replace/ rewrites history for every clone; refs/notes/fleetgate/ is fleetgate's record)",
			       updates[i].ref);
			continue;
		}
		if (!b)
			continue;
		if (stages_for(&j, b, &lists[i])) {
			v->stage = fg_strdup(b);
			refuse(v, "stages-unreadable", NULL, NULL,
			       "ask the git server's admin to fix the stages (git config fleetgate.stages, or promotion: in fleet.yaml)",
			       "the stages that govern '%s' cannot be read: %s", b, fg_error_message());
			continue;
		}
		index[i] = list_index(lists[i].names, lists[i].n, b);
		if (index[i] < 0)
			continue;
		v->stage = fg_strdup(b);
		if (index[i] > 0)
			v->upstream = fg_strdup(lists[i].names[index[i] - 1]);
		if (index[i] > max_index)
			max_index = index[i];
		for (k = 0; k < lists[i].n; k++)
			if (!fleet_stage_name_valid(lists[i].names[k])) {
				refuse(v, "stage-name", NULL, NULL,
				       "ask the git server's admin to rename the stage",
				       "stage name '%s' cannot be used: " FLEET_STAGE_NAME_RULE,
				       lists[i].names[k]);
				break;
			}
	}
	/* Upstream stages first, so a downstream stage sees their verdicts;
	 * every stage is judged, however many there are. */
	for (pass = 0; pass <= max_index; pass++)
		for (i = 0; i < n; i++)
			if (index[i] == pass && j.verdicts[i].accepted)
				judge_stage(&j, i, &lists[i], index[i]);
	for (i = 0; i < n; i++)
		stage_list_release(&lists[i]);
	free(lists);
	free(index);
	*out = j.verdicts;
	return 0;
}

/* ---- the merge-request gate ---- */

/* Commits a forge's merge would make exist only here, under ids that no
 * object has: this prefix, a digit for the kind, the index in the chain. */
#define VIRTUAL_PREFIX "ffffffffffffffffffffffffffffff"
#define VIRTUAL_TREE "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"

struct vcommit {
	char id[POLICY_ID_MAX];
	char tree[POLICY_ID_MAX];
	char parents[2][POLICY_ID_MAX];
	size_t nparents;
	char *subject;
};

/* A reader that answers for the made-up commits and asks `base` for the rest. */
struct vreader {
	const struct policy_reader *base;
	const struct policy_merge_request *mr;
	struct vcommit *c; /* c[0] rests on the target's tip, c[n-1] is the new tip */
	size_t n;
};

static long virtual_index(const struct vreader *vr, const char *id)
{
	unsigned long k;

	if (strlen(id) != 40 || strncmp(id, VIRTUAL_PREFIX, 30))
		return -1;
	k = strtoul(id + 31, NULL, 16);
	return k < vr->n && !strcmp(vr->c[k].id, id) ? (long)k : -1;
}

static int v_ref_tip(void *ctx, const char *ref, char *id)
{
	struct vreader *vr = ctx;

	return vr->base->ref_tip(vr->base->ctx, ref, id);
}

static int v_commit(void *ctx, const char *id, struct policy_commit *out)
{
	struct vreader *vr = ctx;
	long k = virtual_index(vr, id);
	size_t i;

	if (k < 0)
		return vr->base->commit(vr->base->ctx, id, out);
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", vr->c[k].id);
	snprintf(out->tree, sizeof(out->tree), "%s", vr->c[k].tree);
	out->parents = fg_calloc(vr->c[k].nparents + 1, sizeof(char *));
	for (i = 0; i < vr->c[k].nparents; i++)
		out->parents[i] = fg_strdup(vr->c[k].parents[i]);
	out->nparents = vr->c[k].nparents;
	out->subject = fg_strdup(vr->c[k].subject);
	return 0;
}

static int v_is_ancestor(void *ctx, const char *ancestor, const char *descendant, int *yes)
{
	struct vreader *vr = ctx;
	long a = virtual_index(vr, ancestor), d = virtual_index(vr, descendant);
	size_t i;
	int rc = 0;

	*yes = 0;
	if (a >= 0) {
		*yes = d >= a;
		return 0;
	}
	if (d < 0)
		return vr->base->is_ancestor(vr->base->ctx, ancestor, descendant, yes);
	/* The chain's only real parents are those of its first commit. */
	for (i = 0; i < vr->c[0].nparents && !rc && !*yes; i++)
		rc = vr->base->is_ancestor(vr->base->ctx, ancestor, vr->c[0].parents[i], yes);
	return rc;
}

static int v_commits_between(void *ctx, const char *tip, const char *const *hide, size_t nhide,
			     size_t max, char ***ids, size_t *count)
{
	struct vreader *vr = ctx;
	size_t i;

	/* The rules walk only real history this way (the upstream's line). */
	for (i = 0; i < nhide; i++)
		if (hide[i] && virtual_index(vr, hide[i]) >= 0)
			return fg_error_set(FG_EINVAL, "the merge's new commits cannot be walked");
	if (virtual_index(vr, tip) >= 0)
		return fg_error_set(FG_EINVAL, "the merge's new commits cannot be walked");
	return vr->base->commits_between(vr->base->ctx, tip, hide, nhide, max, ids, count);
}

/* The merge's content is judged by the source's configuration. */
static int v_validate(void *ctx, const char *id, struct diags *diags)
{
	struct vreader *vr = ctx;

	if (virtual_index(vr, id) >= 0)
		id = vr->mr->source_id;
	return vr->base->validate(vr->base->ctx, id, diags);
}

static int v_promotion(void *ctx, const char *id, char ***stages, size_t *count)
{
	struct vreader *vr = ctx;

	if (virtual_index(vr, id) >= 0)
		id = vr->mr->target_id;
	return vr->base->promotion(vr->base->ctx, id, stages, count);
}

static int v_branches(void *ctx, char ***names, size_t *count)
{
	struct vreader *vr = ctx;

	return vr->base->branches(vr->base->ctx, names, count);
}

static void vreader_release(struct vreader *vr)
{
	size_t i;

	for (i = 0; i < vr->n; i++)
		free(vr->c[i].subject);
	free(vr->c);
	vr->c = NULL;
	vr->n = 0;
}

static struct vcommit *vcommit_add(struct vreader *vr, int kind, const char *parent,
				   const char *subject)
{
	struct vcommit *c;

	vr->c = fg_realloc(vr->c, (vr->n + 1) * sizeof(*vr->c));
	c = &vr->c[vr->n];
	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), VIRTUAL_PREFIX "%d%09zx", kind, vr->n);
	snprintf(c->parents[0], sizeof(c->parents[0]), "%s", parent);
	c->nparents = 1;
	c->subject = fg_strdup(subject);
	vr->n++;
	return c;
}

static const char *const method_flags[] = { "merge", "ff", "squash", "rebase" };
static const char *const method_names[] = { "merge commit", "fast-forward", "squash", "rebase" };

const char *policy_merge_method_flag(enum policy_merge_method m)
{
	return method_flags[m];
}

const char *policy_merge_method_name(enum policy_merge_method m)
{
	return method_names[m];
}

/*
 * The commits `method` makes: a merge commit (target, source), a squash
 * commit on the target, or the source's commits that are not merges
 * replayed onto the target, oldest first. The merge's tree is the
 * source's when git's merge says so, else one no commit has.
 */
static int build_candidate(struct vreader *vr, const struct policy_settings *s,
			   enum policy_merge_method method, struct policy_verdict *v)
{
	const struct policy_merge_request *mr = vr->mr;
	const struct policy_reader *r = vr->base;
	const char *hide[1] = { mr->target_id };
	struct policy_commit src;
	char **ids = NULL;
	size_t n = 0, i;
	int rc;

	rc = r->commit(r->ctx, mr->source_id, &src);
	if (rc)
		return rc;
	if (method == POLICY_MERGE_COMMIT || method == POLICY_MERGE_SQUASH) {
		struct vcommit *c = vcommit_add(vr, method == POLICY_MERGE_COMMIT ? 1 : 2,
						mr->target_id, mr->message);

		if (method == POLICY_MERGE_COMMIT) {
			snprintf(c->parents[1], sizeof(c->parents[1]), "%s", mr->source_id);
			c->nparents = 2;
		}
	} else {
		rc = r->commits_between(r->ctx, mr->source_id, hide, 1, s->max_commits, &ids, &n);
		if (rc == FG_ELIMIT) {
			refuse(v, "merge-method", NULL, NULL, "promote in smaller steps",
			       "a rebase of '%s' onto '%s' would replay more than %zu commits",
			       mr->source, mr->target, s->max_commits);
			rc = 0;
			goto done;
		}
		/* ids: newest first; the rebase replays the oldest first. */
		for (i = n; !rc && i-- > 0;) {
			struct policy_commit c;
			char prev[POLICY_ID_MAX];

			rc = r->commit(r->ctx, ids[i], &c);
			if (rc)
				break;
			snprintf(prev, sizeof(prev), "%s", vr->n ? vr->c[vr->n - 1].id : mr->target_id);
			if (c.nparents < 2)
				snprintf(vcommit_add(vr, 3, prev, c.subject)->tree, POLICY_ID_MAX, "%s",
					 c.tree);
			policy_commit_release(&c);
		}
		if (!rc && !vr->n) /* nothing but merges: still a new commit */
			vcommit_add(vr, 3, mr->target_id, mr->message);
	}
	if (!rc)
		snprintf(vr->c[vr->n - 1].tree, POLICY_ID_MAX, "%s",
			 mr->merge_same_as_source ? src.tree : VIRTUAL_TREE);
done:
	fg_strings_free(ids, n);
	policy_commit_release(&src);
	return rc;
}

/* "merge commit ffff…" in a message becomes what that commit is. */
static void name_virtual(struct vreader *vr, struct policy_reason *r)
{
	long k = virtual_index(vr, r->commit);
	char sid[8], *at, *label;
	struct fg_buf b = FG_BUF_INIT;
	int kind;

	if (k < 0)
		return;
	kind = r->commit[30] - '0';
	if (kind == 1)
		label = fg_strdup("the forge's merge commit");
	else if (kind == 2)
		label = fg_strdup("the forge's squash commit");
	else
		label = fg_asprintf("the rebase's copy of '%s'", vr->c[k].subject);
	snprintf(sid, sizeof(sid), "%.7s", r->commit);
	fg_buf_init(&b);
	at = strstr(r->message, sid);
	if (at) {
		size_t before = (size_t)(at - r->message);

		if (before >= 13 && !strncmp(at - 13, "merge commit ", 13))
			before -= 13;
		else if (before >= 7 && !strncmp(at - 7, "commit ", 7))
			before -= 7;
		fg_buf_printf(&b, "%.*s%s%s", (int)before, r->message, label, at + 7);
		free(r->message);
		r->message = fg_strdup(b.ptr);
	}
	fg_buf_release(&b);
	free(label);
	r->commit[0] = '\0';
}

/* Move the reasons of `from` to the end of `to`. */
static void take_reasons(struct policy_verdict *to, struct policy_verdict *from)
{
	size_t k;

	for (k = 0; k < from->nreasons; k++) {
		to->reasons = fg_realloc(to->reasons, (to->nreasons + 1) * sizeof(*to->reasons));
		to->reasons[to->nreasons++] = from->reasons[k];
		to->accepted = 0;
	}
	free(from->reasons);
	from->reasons = NULL;
	from->nreasons = 0;
	to->more += from->more;
	to->more_what = to->more_what ? to->more_what : from->more_what;
	to->more_unknown |= from->more_unknown;
}

/* Judge what `method` would push onto the target (a stage), into `v`. */
static int judge_method(struct policy_verdict *v, const struct policy_settings *settings,
			const struct policy_merge_request *mr, enum policy_merge_method method,
			const struct policy_reader *reader, int *made_commits)
{
	struct policy_settings s = *settings;
	struct vreader vr = { reader, mr, NULL, 0 };
	struct policy_reader vread = { &vr, v_ref_tip, v_commit, v_is_ancestor, v_commits_between,
				       v_validate, v_promotion, v_branches };
	struct policy_verdict *pv = NULL;
	struct ref_update u;
	size_t k;
	int rc = 0, yes = 0;

	*made_commits = 0;
	if (!s.max_commits)
		s.max_commits = DEFAULT_MAX_COMMITS;
	s.npushers = 0; /* the forge pushes, for whoever pressed "merge" */
	s.recheck = 0;
	s.upstream_in_push = 0;
	memset(&u, 0, sizeof(u));
	u.ref = fg_asprintf("refs/heads/%s", mr->target);
	snprintf(u.old_id, sizeof(u.old_id), "%s", mr->target_id);
	snprintf(u.new_id, sizeof(u.new_id), "%s", mr->source_id);
	if (!policy_is_zero(mr->target_id) && method == POLICY_MERGE_FF) {
		rc = reader->is_ancestor(reader->ctx, mr->target_id, mr->source_id, &yes);
		if (rc)
			goto done;
		if (!yes) {
			refuse(v, "fast-forward", mr->target_id, NULL,
			       "choose the merge method 'merge commit'",
			       "'%s' cannot fast-forward to '%s': its tip %.7s is not in the history of '%s' (a promotion merge commit, or a change of its own, is on it)",
			       mr->target, mr->source, mr->target_id, mr->source);
			goto done;
		}
	} else if (!policy_is_zero(mr->target_id)) {
		if (!mr->merge_clean) {
			refuse(v, "merge-conflict", NULL, NULL,
			       "a stage holds only what its upstream held: find out how the target diverged before promoting again",
			       "merging '%s' into '%s' conflicts: the forge cannot merge it", mr->source,
			       mr->target);
			goto done;
		}
		rc = build_candidate(&vr, &s, method, v);
		if (rc || !v->accepted)
			goto done;
		snprintf(u.new_id, sizeof(u.new_id), "%s", vr.c[vr.n - 1].id);
	}
	rc = policy_judge(&pv, &s, &u, 1, &vread);
	if (rc)
		goto done;
	for (k = 0; k < pv->nreasons; k++) {
		struct policy_reason *r = &pv->reasons[k];

		if (virtual_index(&vr, r->commit) < 0)
			continue;
		if (!strcmp(r->rule, "invalid-config")) {
			/* the configuration judged is the source's */
			char *sid = short_id(mr->source_id), *at = strstr(r->message, "fffffff");

			if (at)
				memcpy(at, sid, 7);
			snprintf(r->commit, sizeof(r->commit), "%s", mr->source_id);
			free(sid);
			continue;
		}
		*made_commits = 1;
		name_virtual(&vr, r);
	}
	take_reasons(v, pv);
done:
	policy_verdicts_free(pv, 1);
	vreader_release(&vr);
	free(u.ref);
	return rc;
}

/* Whether a verdict refuses for anything but the configuration. */
static int refused_by_rules(const struct policy_verdict *v)
{
	size_t k;

	for (k = 0; k < v->nreasons; k++)
		if (strcmp(v->reasons[k].rule, "invalid-config"))
			return 1;
	return 0;
}

/* After a squash, rebase or fast-forward refused for how it merges: the
 * methods that would pass, first among the reasons. */
static int advise_method(struct policy_verdict *v, const struct policy_settings *settings,
			 const struct policy_merge_request *mr, const struct policy_reader *reader,
			 int made_commits)
{
	struct policy_verdict alt[2];
	enum policy_merge_method m[2] = { POLICY_MERGE_FF, POLICY_MERGE_COMMIT };
	struct policy_reason first;
	const char *ok[2] = { NULL, NULL };
	char *advice;
	size_t nok = 0, i;
	int rc = 0, made;

	memset(alt, 0, sizeof(alt));
	for (i = 0; i < 2 && !rc; i++) {
		alt[i].accepted = 1;
		if (m[i] != mr->method)
			rc = judge_method(&alt[i], settings, mr, m[i], reader, &made);
		if (!rc && m[i] != mr->method && !refused_by_rules(&alt[i]))
			ok[nok++] = policy_merge_method_name(m[i]);
	}
	for (i = 0; i < 2; i++) {
		drop_reasons(&alt[i], 0);
		free(alt[i].reasons);
	}
	if (rc || !nok)
		return rc;
	advice = fg_asprintf("choose the merge method '%s'%s%s%s (GitLab: Settings > Merge requests > Merge method; GitHub and Gitea: the merge button's method; fleetgate gate --merge-method)",
			     ok[0], nok > 1 ? " or '" : "", nok > 1 ? ok[1] : "", nok > 1 ? "'" : "");
	if (made_commits && v->upstream)
		refuse(v, "merge-method", NULL, NULL, advice,
		       "the merge method '%s' makes new commits that '%s' never had as its tip: the pre-receive hook refuses them",
		       policy_merge_method_name(mr->method), v->upstream);
	else if (made_commits)
		refuse(v, "merge-method", NULL, NULL, advice,
		       "the merge method '%s' makes new commits that are not merges: the pre-receive hook refuses them",
		       policy_merge_method_name(mr->method));
	else
		refuse(v, "merge-method", NULL, NULL, advice,
		       "the pre-receive hook refuses a %s of '%s' into '%s' here",
		       policy_merge_method_name(mr->method), mr->source, mr->target);
	free(advice);
	/* The advice comes first: it is the one change that makes it pass. */
	first = v->reasons[v->nreasons - 1];
	memmove(&v->reasons[1], &v->reasons[0], (v->nreasons - 1) * sizeof(*v->reasons));
	v->reasons[0] = first;
	return 0;
}

int policy_judge_merge_request(struct policy_verdict **out, const struct policy_settings *settings,
			       const struct policy_merge_request *mr,
			       const struct policy_reader *reader)
{
	struct policy_settings s = *settings;
	struct ref_update u;
	struct judge j = { &s, reader, &u, NULL, 1 };
	struct policy_verdict *v;
	struct stage_list l;
	int idx, rc = 0, made = 0;

	memset(&u, 0, sizeof(u));
	memset(&l, 0, sizeof(l));
	snprintf(u.old_id, sizeof(u.old_id), "%s", mr->target_id);
	snprintf(u.new_id, sizeof(u.new_id), "%s", mr->source_id);
	u.ref = fg_asprintf("refs/heads/%s", mr->target);
	v = fg_calloc(1, sizeof(*v));
	j.verdicts = v;
	v->ref = fg_strdup(mr->target);
	v->accepted = 1;
	*out = v;
	if (stages_for(&j, mr->target, &l)) {
		refuse_internal(v, "read the stages");
		goto done;
	}
	idx = list_index(l.names, l.n, mr->target);
	if (idx >= 0) {
		v->stage = fg_strdup(mr->target);
		if (idx > 0)
			v->upstream = fg_strdup(l.names[idx - 1]);
	}
	if (idx < 0 || (idx > 0 && strcmp(mr->source, v->upstream))) {
		if (idx > 0)
			refuse(v, "not-from-upstream", NULL, NULL,
			       "open the merge request from the upstream stage instead",
			       "'%s' takes merge requests only from '%s', not from '%s'", mr->target,
			       v->upstream, mr->source);
		check_config(&j, v, &u);
		goto done;
	}
	rc = judge_method(v, &s, mr, mr->method, reader, &made);
	if (!rc && refused_by_rules(v) && mr->method != POLICY_MERGE_COMMIT &&
	    !policy_is_zero(mr->target_id))
		rc = advise_method(v, &s, mr, reader, made);
done:
	stage_list_release(&l);
	free(u.ref);
	if (rc) {
		policy_verdicts_free(v, 1);
		*out = NULL;
	}
	return rc;
}

void policy_verdicts_free(struct policy_verdict *v, size_t n)
{
	size_t i, k;

	if (!v)
		return;
	for (i = 0; i < n; i++) {
		for (k = 0; k < v[i].nreasons; k++) {
			free(v[i].reasons[k].message);
			free(v[i].reasons[k].subject);
			free(v[i].reasons[k].advice);
			diags_release(&v[i].reasons[k].diags);
		}
		free(v[i].reasons);
		free(v[i].ref);
		free(v[i].stage);
		free(v[i].upstream);
	}
	free(v);
}
