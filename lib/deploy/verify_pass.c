#include "deploy/verify_pass.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "git/commit.h"
#include "deploy/notify.h"
#include "mender/mender.h"
#include "rules/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WALK_MAX 200 /* first-parent commits looked at, back from the tip */

enum verify_health verify_pass_health(const struct plan_device *d)
{
	const char *st = d->deployment_status;

	if (d->os == PLAN_OS_FAILED || (st && !strcmp(st, "failure")) ||
	    d->config == PLAN_CONFIG_SECRET_MISSING)
		return VH_FAILURE;
	if (d->os == PLAN_OS_NO_ARTIFACT || (st && !strcmp(st, "noartifact")))
		return VH_NOARTIFACT;
	if ((d->os == PLAN_OS_IN_SYNC || d->os == PLAN_OS_NO_IMAGE) &&
	    (d->config == PLAN_CONFIG_IN_SYNC || d->config == PLAN_CONFIG_NONE))
		return VH_HEALTHY;
	return VH_WAITING;
}

/* The digest of every managed device's desired state: equal digests, no
 * device's desired state changed. */
static void desired_digest(const struct plan *p, char *hex)
{
	struct fg_buf b = FG_BUF_INIT;
	size_t i;

	fg_buf_init(&b);
	for (i = 0; i < p->ndevices; i++) {
		const struct plan_device *d = &p->devices[i];

		if (d->kind == PLAN_MANAGED)
			fg_buf_printf(&b, "%s\n%s\n%s\n", d->id, d->artifact ? d->artifact : "", d->digest);
	}
	repo_hash_hex(b.ptr ? b.ptr : "", b.len, hex);
	fg_buf_release(&b);
}

/* Whether the stage's first-parent line from `tip` back to `from` holds
 * tree `tree` all the way: the tree never left the stage. */
static int continuous(struct fg_repo *repo, const char *from, const char *tip, const char *tree,
		      int *yes)
{
	char at[41];
	int i, rc = 0;

	*yes = 0;
	snprintf(at, sizeof(at), "%s", tip);
	for (i = 0; i < WALK_MAX && !rc; i++) {
		struct policy_commit c;

		rc = repo_commit_read(repo, at, &c);
		if (rc)
			break;
		if (strcmp(c.tree, tree)) {
			policy_commit_release(&c);
			break;
		}
		if (!strcmp(at, from)) {
			*yes = 1;
			policy_commit_release(&c);
			break;
		}
		if (!c.nparents) {
			policy_commit_release(&c);
			break;
		}
		snprintf(at, sizeof(at), "%s", c.parents[0]);
		policy_commit_release(&c);
	}
	return rc;
}

/* The tree the stage verified before `tree`: back along the first-parent
 * line, the first other tree whose record says verified. *digest gets its
 * desired-state digest. */
static int verified_before(struct fg_repo *repo, const char *stage, const char *tip,
			   const char *tree, char *found_tree, char **digest)
{
	char at[41];
	int i, rc = 0, found;

	found_tree[0] = '\0';
	*digest = NULL;
	snprintf(at, sizeof(at), "%s", tip);
	for (i = 0; i < WALK_MAX && !rc && !found_tree[0]; i++) {
		struct policy_commit c;
		struct verify_record r;

		rc = repo_commit_read(repo, at, &c);
		if (rc)
			break;
		if (strcmp(c.tree, tree) && !(rc = record_read(repo, stage, c.tree, &r, &found, NULL))) {
			if (found && r.verified_ms && r.desired) {
				memcpy(found_tree, c.tree, 40);
				found_tree[40] = '\0';
				*digest = fg_strdup(r.desired);
			}
			record_release(&r);
		}
		if (!c.nparents)
			i = WALK_MAX;
		else
			snprintf(at, sizeof(at), "%s", c.parents[0]);
		policy_commit_release(&c);
	}
	return rc;
}

struct evaluation {
	struct verify_device *devices;
	size_t n;
	long long active[4];
	char desired[41];
};

static void gather(struct evaluation *ev, const struct plan *p)
{
	size_t i;

	memset(ev, 0, sizeof(*ev));
	ev->devices = fg_calloc(p->ndevices + 1, sizeof(*ev->devices));
	for (i = 0; i < p->ndevices; i++) {
		const struct plan_device *d = &p->devices[i];
		struct verify_device *v;

		if (d->kind != PLAN_MANAGED)
			continue;
		v = &ev->devices[ev->n++];
		v->id = d->id;
		v->health = verify_pass_health(d);
		v->changed = 1;
	}
	desired_digest(p, ev->desired);
}

static void fill_record(struct verify_record *r, const struct verify_result *res,
			const struct verify_rules *rules, const struct verify_input *in,
			const char *desired, int restarted)
{
	size_t i;

	r->verdict = res->verdict;
	free(r->reason);
	r->reason = fg_strdup(res->reason);
	memcpy(r->counts, res->counts, sizeof(r->counts));
	r->managed = res->managed;
	r->changed = res->changed;
	r->healthy = res->healthy;
	r->failed = res->failed;
	for (i = 0; i < r->nfailing; i++)
		free(r->failing[i].device);
	r->nfailing = res->nfailing < RECORD_MAX_FAILING ? res->nfailing : RECORD_MAX_FAILING;
	r->failing = fg_realloc(r->failing, (r->nfailing + 1) * sizeof(*r->failing));
	for (i = 0; i < r->nfailing; i++) {
		r->failing[i].device = fg_strdup(res->failing[i].device);
		r->failing[i].state = res->failing[i].state;
	}
	r->evaluated_ms = in->now_ms;
	r->since_ms = in->since_ms;
	r->healthy_since_ms = res->healthy_since_ms;
	r->soak_left_ms = res->soak_left_ms;
	if (res->verdict == VERIFY_VERIFIED && (!r->verified_ms || restarted))
		r->verified_ms = in->now_ms;
	else if (res->verdict != VERIFY_VERIFIED)
		r->verified_ms = 0;
	free(r->inherited_from);
	r->inherited_from = res->inherited ? fg_strdup(in->inherit_from) : NULL;
	free(r->desired);
	r->desired = fg_strdup(desired);
	r->min_devices = rules->min_devices;
	r->max_failures = rules->max_failures;
	r->max_failure_ratio = rules->max_failure_ratio;
	r->soak_ms = rules->soak_ms;
	r->timeout_ms = rules->timeout_ms;
}

/* Judge the evaluation against the prior record and write the new one. */
static int judge_and_write(struct verify_pass *out, struct fg_repo *repo,
			   const struct verify_settings *vs, const char *stage, const char *tip,
			   const char *tree, const struct verify_rules *rules, struct evaluation *ev,
			   int64_t now_ms)
{
	struct verify_record *r = &out->record;
	struct verify_prior prior;
	struct verify_input in;
	struct verify_result res;
	char ref_id[41], before[41], *before_digest = NULL;
	int rc, found, keep = 0;

	rc = record_read(repo, stage, tree, r, &found, ref_id);
	if (!rc && found)
		rc = continuous(repo, r->commit, tip, tree, &keep);
	if (!rc)
		rc = verified_before(repo, stage, tip, tree, before, &before_digest);
	if (rc)
		goto done;
	out->had_record = found;
	out->previous = found ? r->verdict : VERIFY_PENDING;
	memset(&in, 0, sizeof(in));
	in.rules = rules;
	in.devices = ev->devices;
	in.ndevices = ev->n;
	memcpy(in.active, ev->active, sizeof(in.active));
	in.now_ms = now_ms;
	in.since_ms = keep ? r->since_ms : now_ms;
	prior.verdict = r->verdict;
	prior.healthy_since_ms = r->healthy_since_ms;
	in.prior = keep ? &prior : NULL;
	if (before[0] && before_digest && !strcmp(before_digest, ev->desired)) {
		size_t i;

		for (i = 0; i < ev->n; i++)
			ev->devices[i].changed = 0;
		in.inherit_from = before;
	}
	verify_judge(&in, &res);
	if (!r->stage)
		r->stage = fg_strdup(stage);
	snprintf(r->tree, sizeof(r->tree), "%s", tree);
	snprintf(r->commit, sizeof(r->commit), "%s", tip);
	fill_record(r, &res, rules, &in, ev->desired, !keep);
	out->transition = !found || !keep || out->previous != res.verdict || res.revoked;
	if (out->transition)
		record_add_event(r, res.verdict, res.revoked, now_ms, res.reason);
	rc = record_write(repo, r, ref_id, record_merge_keep);
	if (!rc) {
		char *ref = record_ref(stage);

		rc = repo_ref_id(repo, ref, out->ref_id);
		free(ref);
	}
	if (!rc && out->transition)
		out->notify_error = verify_notify(vs, r, res.revoked ? "revoked" : verify_outcome_name(res.verdict),
						  found ? verify_outcome_name(out->previous) : NULL,
						  res.reason, now_ms);
	verify_result_release(&res);
done:
	free(before_digest);
	return rc;
}

/* The names of the stage's deployments at `commit`, one per artifact its
 * managed devices want. */
static void deployment_names(const struct plan *p, const char *stage, const char *commit,
			     char ***names, size_t *n)
{
	size_t i, k;

	*names = fg_calloc(p->ndevices + 1, sizeof(char *));
	*n = 0;
	for (i = 0; i < p->ndevices; i++) {
		char *name;

		if (p->devices[i].kind != PLAN_MANAGED || !p->devices[i].artifact)
			continue;
		name = plan_deployment_name(stage, commit, p->devices[i].artifact);
		for (k = 0; k < *n && strcmp((*names)[k], name); k++)
			;
		if (k < *n)
			free(name);
		else
			(*names)[(*n)++] = name;
	}
}

/* Halt: abort the stage's unfinished deployments at `commit` (Mender
 * aborts them for the devices that have not finished), once. */
static int halt_rollout(struct verify_pass *out, const struct settings *s, const struct plan *p,
			const char *stage, const char *commit, int64_t deadline_ms)
{
	struct mender_settings ms;
	struct mender_client *client = NULL;
	struct mender_deployment_list found;
	char **names = NULL, *token = NULL;
	size_t n = 0, i;
	int rc, finished;

	mender_deployment_list_init(&found);
	rc = schedule_mender_settings(&ms, s, &token);
	if (!rc) {
		ms.deadline_ms = deadline_ms;
		rc = mender_client_new(&client, &ms);
	}
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	deployment_names(p, stage, commit, &names, &n);
	if (!rc && n)
		rc = mender_find_deployments(client, (const char *const *)names, n, 0, &found);
	for (i = 0; !rc && i < found.n; i++) {
		if (!strcmp(found.items[i].status, "finished"))
			continue;
		rc = mender_abort_deployment(client, found.items[i].id, &finished);
		out->aborted += !rc && !finished;
	}
	if (!rc) {
		free(out->record.halted);
		out->record.halted = fg_strdup(commit);
	}
	fg_strings_free(names, n);
	mender_deployment_list_release(&found);
	mender_client_free(client);
	return rc;
}

int verify_pass_run(struct verify_pass *out, struct fg_repo *repo, const struct settings *s,
		    const char *stage, int64_t now_ms, const struct schedule_options *o)
{
	const struct verify_rules *rules = verify_rules_of(&s->verify, stage);
	struct schedule_options so = *o;
	struct schedule sc;
	struct evaluation ev;
	char tip[41], tree[41];
	int rc;

	memset(out, 0, sizeof(*out));
	record_init(&out->record);
	memset(&ev, 0, sizeof(ev));
	if (!rules)
		return fg_error_set(FG_EINVAL, "stage '%s' has no fleetgate.verify.%s.* rules", stage, stage);
	rc = repo_branch_tip(repo, stage, tip);
	if (!rc)
		rc = repo_commit_tree(repo, tip, tree);
	if (rc)
		return rc;
	so.branch = stage;
	so.rev = tip;
	so.apply = 0;
	so.full = 0;
	so.lean = 1;
	rc = schedule_run(&sc, repo, s, &so);
	if (!rc) {
		gather(&ev, &sc.plan);
		/* device statuses are read only where something failed: the
		 * ones on their way come from the statistics */
		memcpy(ev.active, sc.active, sizeof(ev.active));
		rc = judge_and_write(out, repo, &s->verify, stage, tip, tree, rules, &ev, now_ms);
	}
	if (!rc && rules->halt && out->record.verdict == VERIFY_FAILED &&
	    (!out->record.halted || strcmp(out->record.halted, tip))) {
		rc = halt_rollout(out, s, &sc.plan, stage, tip, o->deadline_ms);
		if (!rc)
			rc = record_write(repo, &out->record, out->ref_id, record_merge_keep);
		if (!rc)
			out->halted = 1;
	}
	free(ev.devices);
	schedule_release(&sc);
	if (rc)
		verify_pass_release(out);
	return rc;
}

char *verify_notify(const struct verify_settings *vs, const struct verify_record *r,
		    const char *event, const char *previous, const char *reason, int64_t now_ms)
{
	struct notify_count counts[VS_NSTATES];
	struct notify_device *failing;
	struct fg_buf json = FG_BUF_INIT, log = FG_BUF_INIT;
	struct notify_event e;
	char *err = NULL;
	size_t i;

	if (!vs->notify_command || !*vs->notify_command)
		return NULL;
	fg_buf_init(&json);
	fg_buf_init(&log);
	failing = fg_calloc(r->nfailing + 1, sizeof(*failing));
	for (i = 0; i < VS_NSTATES; i++) {
		counts[i].state = verify_state_name((enum verify_state)i);
		counts[i].n = (size_t)r->counts[i];
	}
	for (i = 0; i < r->nfailing; i++) {
		failing[i].device = r->failing[i].device;
		failing[i].state = verify_state_name(r->failing[i].state);
	}
	memset(&e, 0, sizeof(e));
	e.event = event;
	e.stage = r->stage;
	e.tree = r->tree;
	e.commit = r->commit;
	e.verdict = verify_outcome_name(r->verdict);
	e.previous = previous;
	e.counts = counts;
	e.ncounts = VS_NSTATES;
	e.failing = failing;
	e.nfailing = r->nfailing;
	e.reason = reason;
	e.time = (time_t)(now_ms / 1000);
	notify_event_json(&json, &e);
	if (notify_run(vs->notify_command, json.ptr, NOTIFY_DEFAULT_TIMEOUT_MS, &log))
		err = fg_asprintf("fleetgate.notifyCommand: %s%s%.500s", fg_error_message(),
				  log.len ? ": " : "", log.len ? log.ptr : "");
	free(failing);
	fg_buf_release(&json);
	fg_buf_release(&log);
	return err;
}

void verify_pass_release(struct verify_pass *p)
{
	record_release(&p->record);
	free(p->notify_error);
	memset(p, 0, sizeof(*p));
}

int verify_record_override(struct fg_repo *repo, const char *stage, const char *tree,
			   const char *user, const char *reason, const char *commit,
			   const char *target, int64_t now_ms)
{
	struct verify_record r;
	char ref_id[41];
	int found, rc = record_read(repo, stage, tree, &r, &found, ref_id);

	if (rc)
		return rc;
	if (!found) {
		r.stage = fg_strdup(stage);
		snprintf(r.tree, sizeof(r.tree), "%s", tree);
		snprintf(r.commit, sizeof(r.commit), "%s", commit);
		r.reason = fg_strdup("no evidence: fleetgate has not evaluated this tree here");
		r.evaluated_ms = now_ms;
	}
	record_add_override(&r, user, reason, commit, target, now_ms);
	rc = record_write(repo, &r, ref_id, record_merge_keep);
	record_release(&r);
	return rc;
}

void verify_record_text(struct fg_buf *b, const struct verify_record *r, int64_t now_ms)
{
	char age[32], when[32];
	size_t i;
	int k, first = 1;

	verify_format_duration(now_ms - r->evaluated_ms, age, sizeof(age));
	fg_buf_printf(b, "%s %.7s: %s: ", r->stage, r->tree, verify_outcome_name(r->verdict));
	fg_buf_put_printable(b, r->reason ? r->reason : "");
	fg_buf_printf(b, " (evaluated at %.7s, %s ago)\n", r->commit, age);
	fg_buf_printf(b, "  devices:");
	for (k = 0; k < VS_NSTATES; k++) {
		if (!r->counts[k])
			continue;
		fg_buf_printf(b, "%s %lld %s", first ? "" : ",", r->counts[k],
			      verify_state_name((enum verify_state)k));
		first = 0;
	}
	fg_buf_puts(b, first ? " none\n" : "\n");
	for (i = 0; i < r->nfailing; i++) {
		fg_buf_puts(b, "  ");
		fg_buf_put_printable(b, r->failing[i].device);
		fg_buf_printf(b, ": %s\n", verify_state_name(r->failing[i].state));
	}
	if (r->failed > r->nfailing)
		fg_buf_printf(b, "  ... and %zu more\n", r->failed - r->nfailing);
	if (r->halted)
		fg_buf_printf(b, "  rollout halted at %.7s (fleetgate.verify.%s.halt); a new push to %s resumes\n",
			      r->halted, r->stage, r->stage);
	for (i = 0; i < r->noverrides; i++) {
		record_format_time(r->overrides[i].time_ms, when, sizeof(when));
		fg_buf_puts(b, "  override by ");
		fg_buf_put_printable(b, r->overrides[i].user);
		fg_buf_printf(b, " at %s", when);
		if (r->overrides[i].target && r->overrides[i].commit)
			fg_buf_printf(b, " (%.7s to %s)", r->overrides[i].commit, r->overrides[i].target);
		fg_buf_puts(b, ": ");
		fg_buf_put_printable(b, r->overrides[i].reason);
		fg_buf_putc(b, '\n');
	}
}

void verify_record_json(struct fg_buf *b, const struct verify_record *r)
{
	char *text = record_encode(r);
	size_t len = strlen(text);

	while (len && text[len - 1] == '\n')
		len--;
	fg_buf_put(b, text, len);
	free(text);
}
