#include "rules/promote.h"

#include "core/alloc.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

int promote_evidence_read(struct fg_repo *repo, int64_t max_age_ms, const char *upstream,
			  const char *tree, int64_t now_ms, struct promote_evidence *out)
{
	char age[32];
	int rc;

	memset(out, 0, sizeof(*out));
	record_init(&out->record);
	out->needed = 1;
	rc = record_read(repo, upstream, tree, &out->record, &out->found, NULL);
	if (rc)
		return rc;
	if (!out->found) {
		out->message = fg_asprintf("%s: no evidence for tree %.7s: '%s' has not held it, or fleetgate has not evaluated it yet (is 'fleetgate reconcile' running?)",
					   upstream, tree, upstream);
	} else if (now_ms - out->record.evaluated_ms > max_age_ms) {
		verify_format_duration(now_ms - out->record.evaluated_ms, age, sizeof(age));
		out->message = fg_asprintf("%s: evidence is %s old: is 'fleetgate reconcile' running?",
					   upstream, age);
	} else if (out->record.verdict != VERIFY_VERIFIED) {
		out->message = fg_asprintf("%s: %s: %s", upstream,
					   verify_outcome_name(out->record.verdict),
					   out->record.reason ? out->record.reason : "");
	} else {
		out->ok = 1;
	}
	return 0;
}

void promote_evidence_release(struct promote_evidence *e)
{
	record_release(&e->record);
	free(e->message);
	memset(e, 0, sizeof(*e));
}

int promote_may_override(const struct verify_settings *vs, const char *user)
{
	size_t i;

	for (i = 0; user && i < vs->noverriders; i++)
		if (!strcmp(vs->overriders[i], user))
			return 1;
	return 0;
}

int promote_override_valid(const char *reason)
{
	return reason && *reason && strlen(reason) <= PROMOTE_MAX_REASON;
}

static char *overriders_list(const struct verify_settings *vs)
{
	struct fg_buf b = FG_BUF_INIT;
	size_t i;

	fg_buf_init(&b);
	if (!vs->noverriders)
		fg_buf_puts(&b, "nobody may (fleetgate.overriders is not set)");
	for (i = 0; i < vs->noverriders; i++)
		fg_buf_printf(&b, "%s%s", i ? ", " : "only ", vs->overriders[i]);
	if (vs->noverriders)
		fg_buf_puts(&b, " may (fleetgate.overriders)");
	return fg_buf_detach(&b);
}

static void judge_one(struct policy_verdict *v, const struct promote_evidence *e,
		      const struct verify_settings *vs, const char *pusher, const char *override,
		      struct fg_buf *notes)
{
	char *who = overriders_list(vs), *advice;

	if (promote_override_valid(override) && promote_may_override(vs, pusher)) {
		fg_buf_printf(notes, "fleetgate: %s: override by '", v->stage);
		fg_buf_put_printable(notes, pusher);
		fg_buf_puts(notes, "' (");
		fg_buf_put_printable(notes, override);
		fg_buf_puts(notes, ") past ");
		fg_buf_put_printable(notes, e->message);
		fg_buf_putc(notes, '\n');
		goto done;
	}
	advice = fg_asprintf("wait until '%s' has proved this tree ('fleetgate verify --stage %s' shows where it stands); to push past it, -o fleetgate.override=\"reason\": %s",
			     v->upstream, v->upstream, who);
	policy_refuse(v, e->found && e->record.verdict == VERIFY_FAILED ? "verification-failed" : "unverified",
		      advice, "%s", e->message);
	free(advice);
	if (override && !promote_override_valid(override))
		policy_refuse(v, "override", NULL, "an override needs a reason of 1 to %d bytes: -o fleetgate.override=\"why\"",
			      PROMOTE_MAX_REASON);
	else if (override)
		policy_refuse(v, "override", NULL, "'%s' may not override verification: %s",
			      pusher ? pusher : "(unknown)", who);
done:
	free(who);
}

int promote_judge(struct policy_verdict *v, const struct ref_update *updates, size_t n,
		  struct fg_repo *repo, const struct verify_settings *vs, const char *pusher,
		  const char *override, int64_t now_ms, struct fg_buf *notes)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < n && !rc; i++) {
		struct promote_evidence e;
		char tree[41];

		if (!v[i].accepted || !v[i].stage || !v[i].upstream ||
		    policy_is_zero(updates[i].new_id) || !verify_rules_of(vs, v[i].upstream))
			continue;
		rc = repo_commit_tree(repo, updates[i].new_id, tree);
		if (!rc)
			rc = promote_evidence_read(repo, vs->max_age_ms, v[i].upstream, tree, now_ms, &e);
		if (rc)
			break;
		if (!e.ok)
			judge_one(&v[i], &e, vs, pusher, override, notes);
		promote_evidence_release(&e);
	}
	return rc;
}

int promote_gate(struct policy_verdict *v, struct fg_repo *repo, const struct verify_settings *vs,
		 const char *source_commit, int64_t now_ms)
{
	struct promote_evidence e;
	char tree[41], id[41], *ref;
	int rc, needed;

	if (!v->accepted || !v->stage || !v->upstream)
		return 0;
	ref = record_ref(v->upstream);
	needed = verify_rules_of(vs, v->upstream) || repo_ref_id(repo, ref, id) == 0;
	free(ref);
	if (!needed)
		return 0;
	rc = repo_commit_tree(repo, source_commit, tree);
	if (!rc)
		rc = promote_evidence_read(repo, vs->max_age_ms, v->upstream, tree, now_ms, &e);
	if (rc)
		return rc;
	if (!e.ok)
		policy_refuse(v, e.found && e.record.verdict == VERIFY_FAILED ? "verification-failed" : "unverified",
			      "wait until the upstream stage's devices have proved this tree; the git server refuses the push until then (docs/verification.md)",
			      "%s", e.message);
	promote_evidence_release(&e);
	return 0;
}
