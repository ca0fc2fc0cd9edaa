#include "policy.h"

#include "alloc.h"
#include "buf.h"
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_COMMITS 100000
#define MAX_REASONS_PER_REF 5

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

void policy_commit_release(struct policy_commit *c)
{
	fg_strings_free(c->parents, c->nparents);
	free(c->subject);
	memset(c, 0, sizeof(*c));
}

static const char *branch_of(const char *ref)
{
	return strncmp(ref, "refs/heads/", 11) ? NULL : ref + 11;
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

static struct policy_reason *refuse(struct policy_verdict *v, const char *rule, const char *commit,
				    const char *subject, const char *advice, const char *fmt, ...)
{
	struct policy_reason *r;
	va_list ap;

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
	va_start(ap, fmt);
	r->message = fg_vasprintf(fmt, ap);
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

/* First stage: every commit on the first-parent line from the new tip back
 * to the old one is a merge, and the line reaches the old tip. */
static void check_merge_only(struct judge *j, struct policy_verdict *v, const struct ref_update *u)
{
	struct policy_commit bad[MAX_REASONS_PER_REF];
	char id[POLICY_ID_MAX];
	size_t steps = 0, nbad = 0, nonmerges = 0, i;
	int reached = 1;

	snprintf(id, sizeof(id), "%s", u->new_id);
	while (strcmp(id, u->old_id)) {
		struct policy_commit c;

		if (++steps > j->settings->max_commits) {
			refuse(v, "merge-only", NULL, NULL, "push fewer commits at a time",
			       "more than %zu commits to examine on the first-parent line of '%s'",
			       j->settings->max_commits, v->stage);
			goto done;
		}
		if (j->r->commit(j->r->ctx, id, &c)) {
			refuse_internal(v, "read a commit");
			goto done;
		}
		if (!c.nparents) {
			reached = 0;
			policy_commit_release(&c);
			break;
		}
		snprintf(id, sizeof(id), "%s", c.parents[0]);
		if (c.nparents >= 2)
			policy_commit_release(&c);
		else if (nonmerges++ < MAX_REASONS_PER_REF)
			bad[nbad++] = c;
		else
			policy_commit_release(&c);
	}
	if (!reached) {
		/* A merge of the stage into a feature branch, pushed as the stage:
		 * that is the problem to explain, not each commit under it. */
		char *old = short_id(u->old_id);

		refuse(v, "first-parent", NULL, NULL,
		       "merge the feature branch into the stage (git checkout <stage>; git merge --no-ff <feature>), not the stage into the feature branch",
		       "the first-parent history of '%s' does not continue from its previous tip %s",
		       v->stage, old);
		free(old);
		goto done;
	}
	for (i = 0; i < nbad; i++) {
		char *sid = short_id(bad[i].id);

		refuse(v, "merge-only", bad[i].id, bad[i].subject,
		       "commit on a feature branch and merge it into this stage through a merge request (git merge --no-ff)",
		       "commit %s is not a merge: '%s' takes only merge commits", sid, v->stage);
		free(sid);
	}
	if (nonmerges > nbad) {
		v->more = nonmerges - nbad;
		v->more_what = "commits that are not merges";
	}
done:
	for (i = 0; i < nbad; i++)
		policy_commit_release(&bad[i]);
}

/* Later stage: every commit added is in U's history, or a merge whose other
 * parent is in U's history with the same tree. */
static void check_from_upstream(struct judge *j, struct policy_verdict *v,
				const struct ref_update *u, const char *up_tip)
{
	const char *hide[2];
	char **ids = NULL;
	size_t n = 0, i, k, bad = 0;
	int rc, failed = 0;

	hide[0] = policy_is_zero(u->old_id) ? NULL : u->old_id;
	hide[1] = up_tip;
	rc = j->r->commits_between(j->r->ctx, u->new_id, hide, 2, j->settings->max_commits, &ids, &n);
	if (rc == FG_ELIMIT) {
		refuse(v, "not-from-upstream", NULL, NULL, "promote in smaller steps",
		       "more than %zu commits to examine for '%s'", j->settings->max_commits, v->stage);
		return;
	}
	if (rc) {
		refuse_internal(v, "list the pushed commits");
		return;
	}
	for (i = 0; i < n; i++) {
		struct policy_commit c, p;
		int in_up = 0, same_tree = 0, any_up_parent = 0;
		char *sid;

		if (j->r->commit(j->r->ctx, ids[i], &c)) {
			refuse_internal(v, "read a commit");
			break;
		}
		for (k = 1; k < c.nparents && !same_tree; k++) {
			if (j->r->is_ancestor(j->r->ctx, c.parents[k], up_tip, &in_up) ||
			    j->r->commit(j->r->ctx, c.parents[k], &p)) {
				refuse_internal(v, "read a commit");
				failed = 1;
				break;
			}
			if (in_up) {
				any_up_parent = 1;
				same_tree = !strcmp(p.tree, c.tree);
			}
			policy_commit_release(&p);
		}
		if (failed) {
			policy_commit_release(&c);
			break;
		}
		sid = short_id(c.id);
		if (same_tree) {
			/* a clean promotion merge */
		} else if (bad >= MAX_REASONS_PER_REF) {
			v->more++;
			v->more_what = "commits that the upstream stage does not hold";
		} else if (any_up_parent) {
			refuse(v, "modified-content", c.id, c.subject,
			       "merge without changing anything (git merge --no-ff <upstream>, no edits, no conflict resolution); make changes on the upstream stage first",
			       "merge commit %s changes what it brings from '%s': its tree differs from the merged commit's",
			       sid, v->upstream);
			bad++;
		} else if (c.nparents > 1) {
			refuse(v, "not-from-upstream", c.id, c.subject,
			       "merge the change into the upstream stage first, then promote the upstream stage",
			       "merge commit %s brings in commits that are not in '%s'", sid, v->upstream);
			bad++;
		} else {
			refuse(v, "not-from-upstream", c.id, c.subject,
			       "make the change on a branch merged into the first stage, then promote it stage by stage",
			       "commit %s is not in '%s': '%s' takes only what '%s' already holds", sid,
			       v->upstream, v->stage, v->upstream);
			bad++;
		}
		free(sid);
		policy_commit_release(&c);
	}
	fg_strings_free(ids, n);
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
 * and that move was accepted, else its current tip. */
static int stage_tip(struct judge *j, const char *name, char *tip, int *exists)
{
	size_t i;
	int rc;

	*exists = 0;
	for (i = 0; i < j->n; i++) {
		const char *b = branch_of(j->updates[i].ref);

		if (b && !strcmp(b, name) && j->verdicts[i].accepted && j->verdicts[i].stage &&
		    !policy_is_zero(j->updates[i].new_id)) {
			snprintf(tip, POLICY_ID_MAX, "%s", j->updates[i].new_id);
			*exists = 1;
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

static void judge_stage(struct judge *j, size_t i, const struct stage_list *l, int idx)
{
	struct policy_verdict *v = &j->verdicts[i];
	const struct ref_update *u = &j->updates[i];
	int created = policy_is_zero(u->old_id), yes = 0, exists;

	check_pusher(j, v);
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

		if (stage_tip(j, v->upstream, up_tip, &exists)) {
			refuse_internal(v, "read the upstream stage");
			return;
		}
		if (!exists) {
			refuse(v, "not-from-upstream", NULL, NULL, "create the upstream stage first",
			       "stage '%s' takes its content from '%s', which does not exist", v->stage,
			       v->upstream);
		} else if (created) {
			if (j->r->is_ancestor(j->r->ctx, u->new_id, up_tip, &yes)) {
				refuse_internal(v, "read the upstream stage");
				return;
			}
			if (!yes) {
				char *sid = short_id(u->new_id);

				refuse(v, "not-from-upstream", u->new_id, NULL,
				       "create the stage at a commit of its upstream stage (git push origin <upstream>:<stage>)",
				       "stage '%s' can only be created at a commit of '%s', and %s is not one",
				       v->stage, v->upstream, sid);
				free(sid);
			}
		} else {
			check_from_upstream(j, v, u, up_tip);
		}
	}
	check_config(j, v, u);
}

int policy_judge(struct policy_verdict **out, const struct policy_settings *settings,
		 const struct ref_update *updates, size_t n, const struct policy_reader *reader)
{
	struct policy_settings s = *settings;
	struct judge j = { &s, reader, updates, NULL, n };
	struct stage_list *lists;
	int *index;
	size_t i, pass;

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
		if (!b)
			continue;
		if (stages_for(&j, b, &lists[i])) {
			v->stage = fg_strdup(b);
			refuse_internal(v, "read the stages");
			continue;
		}
		index[i] = list_index(lists[i].names, lists[i].n, b);
		if (index[i] < 0)
			continue;
		v->stage = fg_strdup(b);
		if (index[i] > 0)
			v->upstream = fg_strdup(lists[i].names[index[i] - 1]);
	}
	/* Upstream stages first, so a downstream stage sees their verdicts. */
	for (pass = 0; pass < 64; pass++)
		for (i = 0; i < n; i++)
			if (index[i] == (int)pass && j.verdicts[i].accepted)
				judge_stage(&j, i, &lists[i], index[i]);
	for (i = 0; i < n; i++)
		stage_list_release(&lists[i]);
	free(lists);
	free(index);
	*out = j.verdicts;
	return 0;
}

int policy_judge_merge_request(struct policy_verdict **out, const struct policy_settings *settings,
			       const char *source, const char *source_id, const char *target,
			       const char *target_id, const struct policy_reader *reader)
{
	struct policy_settings s = *settings;
	struct ref_update u;
	struct judge j = { &s, reader, &u, NULL, 1 };
	struct policy_verdict *v;
	struct stage_list l;
	int idx, yes = 0;

	memset(&u, 0, sizeof(u));
	snprintf(u.old_id, sizeof(u.old_id), "%s", target_id);
	snprintf(u.new_id, sizeof(u.new_id), "%s", source_id);
	u.ref = fg_asprintf("refs/heads/%s", target);
	v = fg_calloc(1, sizeof(*v));
	j.verdicts = v;
	v->ref = fg_strdup(target);
	v->accepted = 1;
	*out = v;
	if (stages_for(&j, target, &l)) {
		refuse_internal(v, "read the stages");
		goto done;
	}
	idx = list_index(l.names, l.n, target);
	if (idx >= 0) {
		v->stage = fg_strdup(target);
		if (idx > 0)
			v->upstream = fg_strdup(l.names[idx - 1]);
	}
	if (idx > 0) {
		if (strcmp(source, v->upstream))
			refuse(v, "not-from-upstream", NULL, NULL,
			       "open the merge request from the upstream stage instead",
			       "'%s' takes merge requests only from '%s', not from '%s'", target,
			       v->upstream, source);
		if (!policy_is_zero(target_id)) {
			if (reader->is_ancestor(reader->ctx, target_id, source_id, &yes))
				refuse_internal(v, "compare the histories");
			else if (!yes)
				refuse(v, "diverged", target_id, NULL,
				       "a stage holds only what its upstream held: find out how the target diverged before promoting again",
				       "the tip of '%s' is not in the history of '%s': the merge would bring together content that '%s' never held",
				       target, source, source);
		}
	}
	check_config(&j, v, &u);
	stage_list_release(&l);
done:
	free(u.ref);
	return 0;
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
