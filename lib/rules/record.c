/*
 * The evidence record's JSON. It is written by hand (fg_buf, keys in a
 * fixed order) and read with cJSON, as the notes on that library say: with
 * an explicit length, nothing but whitespace after the value, keys looked
 * up case-sensitively, and a key given twice refused.
 */
#include "rules/record.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void record_init(struct verify_record *r)
{
	memset(r, 0, sizeof(*r));
	r->max_failures = -1;
	r->max_failure_ratio = -1;
}

void record_release(struct verify_record *r)
{
	size_t i;

	free(r->stage);
	free(r->reason);
	for (i = 0; i < r->nfailing; i++)
		free(r->failing[i].device);
	free(r->failing);
	free(r->inherited_from);
	free(r->desired);
	free(r->halted);
	for (i = 0; i < r->noverrides; i++) {
		free(r->overrides[i].user);
		free(r->overrides[i].reason);
		free(r->overrides[i].commit);
		free(r->overrides[i].target);
	}
	free(r->overrides);
	for (i = 0; i < r->nhistory; i++)
		free(r->history[i].reason);
	free(r->history);
	record_init(r);
}

char *record_ref(const char *stage)
{
	return fg_asprintf("refs/notes/fleetgate/%s", stage);
}

void record_format_time(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "?");
}

/* ---- writing ---- */

static void put_key(struct fg_buf *b, const char *key, int *first)
{
	if (!*first)
		fg_buf_putc(b, ',');
	*first = 0;
	fg_buf_put_json_string(b, key);
	fg_buf_putc(b, ':');
}

static void put_str(struct fg_buf *b, const char *key, const char *v, int *first)
{
	put_key(b, key, first);
	if (v)
		fg_buf_put_json_string(b, v);
	else
		fg_buf_puts(b, "null");
}

static void put_int(struct fg_buf *b, const char *key, long long v, int *first)
{
	put_key(b, key, first);
	fg_buf_printf(b, "%lld", v);
}

static void put_time(struct fg_buf *b, const char *key, int64_t ms, int *first)
{
	char when[32];

	put_int(b, key, ms, first);
	if (ms) {
		char *human = fg_asprintf("%s_time", key);

		record_format_time(ms, when, sizeof(when));
		put_str(b, human, when, first);
		free(human);
	}
}

static void put_rules(struct fg_buf *b, const struct verify_record *r, int *first)
{
	int f = 1;

	put_key(b, "rules", first);
	fg_buf_putc(b, '{');
	put_int(b, "minDevices", (long long)r->min_devices, &f);
	put_int(b, "maxFailures", r->max_failures, &f);
	put_key(b, "maxFailureRatio", &f);
	fg_buf_printf(b, "%.6g", r->max_failure_ratio);
	put_int(b, "soak_ms", r->soak_ms, &f);
	put_int(b, "timeout_ms", r->timeout_ms, &f);
	fg_buf_putc(b, '}');
}

static void put_lists(struct fg_buf *b, const struct verify_record *r, int *first)
{
	size_t i;
	int k, f;

	put_key(b, "counts", first);
	fg_buf_putc(b, '{');
	for (k = 0, f = 1; k < VS_NSTATES; k++)
		put_int(b, verify_state_name((enum verify_state)k), r->counts[k], &f);
	fg_buf_putc(b, '}');
	put_key(b, "failing", first);
	fg_buf_putc(b, '[');
	for (i = 0; i < r->nfailing; i++) {
		f = 1;
		fg_buf_puts(b, i ? ",{" : "{");
		put_str(b, "device", r->failing[i].device, &f);
		put_str(b, "state", verify_state_name(r->failing[i].state), &f);
		fg_buf_putc(b, '}');
	}
	fg_buf_puts(b, "]");
	put_key(b, "overrides", first);
	fg_buf_putc(b, '[');
	for (i = 0; i < r->noverrides; i++) {
		const struct record_override *o = &r->overrides[i];

		f = 1;
		fg_buf_puts(b, i ? ",{" : "{");
		put_str(b, "user", o->user, &f);
		put_str(b, "reason", o->reason, &f);
		put_str(b, "commit", o->commit, &f);
		put_str(b, "target", o->target, &f);
		put_time(b, "time_ms", o->time_ms, &f);
		fg_buf_putc(b, '}');
	}
	fg_buf_puts(b, "]");
	put_key(b, "history", first);
	fg_buf_putc(b, '[');
	for (i = 0; i < r->nhistory; i++) {
		f = 1;
		fg_buf_puts(b, i ? ",{" : "{");
		put_str(b, "verdict", verify_outcome_name(r->history[i].verdict), &f);
		put_int(b, "revoked", r->history[i].revoked, &f);
		put_time(b, "time_ms", r->history[i].time_ms, &f);
		put_str(b, "reason", r->history[i].reason, &f);
		fg_buf_putc(b, '}');
	}
	fg_buf_puts(b, "]");
}

char *record_encode(const struct verify_record *r)
{
	struct fg_buf b = FG_BUF_INIT;
	int first = 1;

	fg_buf_init(&b);
	fg_buf_putc(&b, '{');
	put_int(&b, "version", 1, &first);
	put_str(&b, "stage", r->stage, &first);
	put_str(&b, "tree", r->tree, &first);
	put_str(&b, "commit", r->commit, &first);
	put_str(&b, "verdict", verify_outcome_name(r->verdict), &first);
	put_str(&b, "reason", r->reason, &first);
	put_int(&b, "managed", (long long)r->managed, &first);
	put_int(&b, "changed", (long long)r->changed, &first);
	put_int(&b, "healthy", (long long)r->healthy, &first);
	put_int(&b, "failed", (long long)r->failed, &first);
	put_time(&b, "evaluated_ms", r->evaluated_ms, &first);
	put_time(&b, "since_ms", r->since_ms, &first);
	put_time(&b, "healthy_since_ms", r->healthy_since_ms, &first);
	put_time(&b, "verified_ms", r->verified_ms, &first);
	put_int(&b, "soak_left_ms", r->soak_left_ms, &first);
	put_str(&b, "inherited_from", r->inherited_from, &first);
	put_str(&b, "desired", r->desired, &first);
	put_str(&b, "halted", r->halted, &first);
	put_rules(&b, r, &first);
	put_lists(&b, r, &first);
	fg_buf_puts(&b, "}\n");
	return fg_buf_detach(&b);
}

/* ---- reading ---- */

struct reader {
	const char *what;
	int rc;
};

static int bad(struct reader *rd, const char *fmt, const char *key)
{
	if (!rd->rc)
		rd->rc = fg_error_set(FG_EINVAL, "%s: not a fleetgate record: %s '%s'", rd->what, fmt, key);
	return rd->rc;
}

/* Member `key`, refusing one given twice. */
static const cJSON *field(struct reader *rd, const cJSON *obj, const char *key)
{
	const cJSON *e, *found = NULL;

	cJSON_ArrayForEach(e, obj) {
		if (e->string && !strcmp(e->string, key)) {
			if (found) {
				bad(rd, "duplicate key", key);
				return NULL;
			}
			found = e;
		}
	}
	return found;
}

static char *get_str(struct reader *rd, const cJSON *obj, const char *key, int required)
{
	const cJSON *v = field(rd, obj, key);

	if (cJSON_IsString(v))
		return fg_strdup(v->valuestring);
	if ((v && !cJSON_IsNull(v)) || (!v && required))
		bad(rd, "a string is needed for", key);
	return NULL;
}

static long long get_int(struct reader *rd, const cJSON *obj, const char *key)
{
	const cJSON *v = field(rd, obj, key);

	if (!v)
		return 0;
	/* Range first: converting a double outside long long's range is
	 * undefined (fuzz_record found it); 2^53 bounds the exact integers. */
	if (!cJSON_IsNumber(v) || !(fabs(v->valuedouble) <= 9007199254740992.0) ||
	    v->valuedouble != floor(v->valuedouble)) {
		bad(rd, "an integer is needed for", key);
		return 0;
	}
	return (long long)v->valuedouble;
}

static void get_id(struct reader *rd, const cJSON *obj, const char *key, char *out)
{
	char *s = get_str(rd, obj, key, 1);

	if (s && strlen(s) != 40)
		bad(rd, "an object id is needed for", key);
	else if (s)
		memcpy(out, s, 41);
	free(s);
}

static void get_rules(struct reader *rd, const cJSON *o, struct verify_record *r)
{
	const cJSON *rules = field(rd, o, "rules"), *ratio;

	if (!cJSON_IsObject(rules))
		return;
	r->min_devices = (unsigned long)get_int(rd, rules, "minDevices");
	r->max_failures = (long)get_int(rd, rules, "maxFailures");
	ratio = field(rd, rules, "maxFailureRatio");
	r->max_failure_ratio = cJSON_IsNumber(ratio) ? ratio->valuedouble : -1;
	r->soak_ms = get_int(rd, rules, "soak_ms");
	r->timeout_ms = get_int(rd, rules, "timeout_ms");
}

static void get_counts(struct reader *rd, const cJSON *o, struct verify_record *r)
{
	const cJSON *counts = field(rd, o, "counts"), *e;
	int k;

	for (k = 0; cJSON_IsObject(counts) && k < VS_NSTATES; k++)
		r->counts[k] = get_int(rd, counts, verify_state_name((enum verify_state)k));
	cJSON_ArrayForEach(e, field(rd, o, "failing")) {
		char *dev = get_str(rd, e, "device", 1), *st = get_str(rd, e, "state", 1);
		int s;

		for (s = 0; st && s < VS_NSTATES && strcmp(st, verify_state_name((enum verify_state)s)); s++)
			;
		if (dev && st && s < VS_NSTATES && r->nfailing < RECORD_MAX_FAILING) {
			r->failing = fg_realloc(r->failing, (r->nfailing + 1) * sizeof(*r->failing));
			r->failing[r->nfailing].device = dev;
			r->failing[r->nfailing++].state = (enum verify_state)s;
			dev = NULL;
		}
		free(dev);
		free(st);
	}
}

static void get_history(struct reader *rd, const cJSON *o, struct verify_record *r)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, field(rd, o, "overrides")) {
		char *user = get_str(rd, e, "user", 1), *why = get_str(rd, e, "reason", 1);
		char *commit = get_str(rd, e, "commit", 0), *target = get_str(rd, e, "target", 0);

		if (user && why)
			record_add_override(r, user, why, commit, target, get_int(rd, e, "time_ms"));
		free(user);
		free(why);
		free(commit);
		free(target);
	}
	cJSON_ArrayForEach(e, field(rd, o, "history")) {
		char *v = get_str(rd, e, "verdict", 1), *why = get_str(rd, e, "reason", 0);
		int outcome = v ? verify_outcome_parse(v) : -1;

		if (outcome < 0)
			bad(rd, "a verdict is needed for", "history");
		else
			record_add_event(r, (enum verify_outcome)outcome, (int)get_int(rd, e, "revoked"),
					 get_int(rd, e, "time_ms"), why);
		free(v);
		free(why);
	}
}

static void get_record(struct reader *rd, const cJSON *o, struct verify_record *r)
{
	char *verdict;
	int v;

	if (get_int(rd, o, "version") != 1)
		bad(rd, "version 1 is needed for", "version");
	r->stage = get_str(rd, o, "stage", 1);
	get_id(rd, o, "tree", r->tree);
	get_id(rd, o, "commit", r->commit);
	verdict = get_str(rd, o, "verdict", 1);
	v = verdict ? verify_outcome_parse(verdict) : -1;
	if (v < 0)
		bad(rd, "pending, verified or failed is needed for", "verdict");
	r->verdict = v < 0 ? VERIFY_PENDING : (enum verify_outcome)v;
	free(verdict);
	r->reason = get_str(rd, o, "reason", 0);
	r->managed = (size_t)get_int(rd, o, "managed");
	r->changed = (size_t)get_int(rd, o, "changed");
	r->healthy = (size_t)get_int(rd, o, "healthy");
	r->failed = (size_t)get_int(rd, o, "failed");
	r->evaluated_ms = get_int(rd, o, "evaluated_ms");
	r->since_ms = get_int(rd, o, "since_ms");
	r->healthy_since_ms = get_int(rd, o, "healthy_since_ms");
	r->verified_ms = get_int(rd, o, "verified_ms");
	r->soak_left_ms = get_int(rd, o, "soak_left_ms");
	r->inherited_from = get_str(rd, o, "inherited_from", 0);
	r->desired = get_str(rd, o, "desired", 0);
	r->halted = get_str(rd, o, "halted", 0);
	get_rules(rd, o, r);
	get_counts(rd, o, r);
	get_history(rd, o, r);
}

int record_decode(const char *text, size_t len, const char *what, struct verify_record *out)
{
	struct reader rd = { what, 0 };
	const char *end = NULL;
	cJSON *o;

	record_init(out);
	o = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!o || !cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return fg_error_set(FG_EINVAL, "%s: not a fleetgate record (not a JSON object)", what);
	}
	while (end && (size_t)(end - text) < len && strchr(" \t\r\n", *end))
		end++;
	if (!end || (size_t)(end - text) != len)
		rd.rc = fg_error_set(FG_EINVAL, "%s: not a fleetgate record (text after the object)", what);
	if (!rd.rc)
		get_record(&rd, o, out);
	cJSON_Delete(o);
	if (rd.rc)
		record_release(out);
	return rd.rc;
}

/* ---- history and overrides ---- */

void record_add_event(struct verify_record *r, enum verify_outcome v, int revoked, int64_t time_ms,
		      const char *reason)
{
	struct record_event *e;

	if (r->nhistory == RECORD_MAX_HISTORY) {
		free(r->history[0].reason);
		memmove(r->history, r->history + 1, (r->nhistory - 1) * sizeof(*r->history));
		r->nhistory--;
	}
	r->history = fg_realloc(r->history, (r->nhistory + 1) * sizeof(*r->history));
	e = &r->history[r->nhistory++];
	e->verdict = v;
	e->revoked = revoked;
	e->time_ms = time_ms;
	e->reason = reason ? fg_strdup(reason) : NULL;
}

void record_add_override(struct verify_record *r, const char *user, const char *reason,
			 const char *commit, const char *target, int64_t time_ms)
{
	struct record_override *o;

	if (r->noverrides == RECORD_MAX_OVERRIDES) {
		free(r->overrides[0].user);
		free(r->overrides[0].reason);
		free(r->overrides[0].commit);
		free(r->overrides[0].target);
		memmove(r->overrides, r->overrides + 1, (r->noverrides - 1) * sizeof(*r->overrides));
		r->noverrides--;
	}
	r->overrides = fg_realloc(r->overrides, (r->noverrides + 1) * sizeof(*r->overrides));
	o = &r->overrides[r->noverrides++];
	o->user = fg_strdup(user);
	o->reason = fg_strdup(reason);
	o->commit = commit ? fg_strdup(commit) : NULL;
	o->target = target ? fg_strdup(target) : NULL;
	o->time_ms = time_ms;
}

static int has_override(const struct verify_record *r, const struct record_override *o)
{
	size_t i;

	for (i = 0; i < r->noverrides; i++)
		if (r->overrides[i].time_ms == o->time_ms && !strcmp(r->overrides[i].user, o->user) &&
		    !strcmp(r->overrides[i].reason, o->reason))
			return 1;
	return 0;
}

static int has_event(const struct verify_record *r, const struct record_event *e)
{
	size_t i;

	for (i = 0; i < r->nhistory; i++)
		if (r->history[i].time_ms == e->time_ms && r->history[i].verdict == e->verdict)
			return 1;
	return 0;
}

void record_merge_keep(struct verify_record *ours, const struct verify_record *theirs)
{
	size_t i;

	for (i = 0; i < theirs->noverrides; i++)
		if (!has_override(ours, &theirs->overrides[i]))
			record_add_override(ours, theirs->overrides[i].user, theirs->overrides[i].reason,
					    theirs->overrides[i].commit, theirs->overrides[i].target,
					    theirs->overrides[i].time_ms);
	for (i = 0; i < theirs->nhistory; i++)
		if (!has_event(ours, &theirs->history[i]))
			record_add_event(ours, theirs->history[i].verdict, theirs->history[i].revoked,
					 theirs->history[i].time_ms, theirs->history[i].reason);
}

/* ---- in the repository ---- */

int record_read(struct fg_repo *repo, const char *stage, const char *tree,
		struct verify_record *out, int *found, char *ref_id)
{
	char *ref = record_ref(stage), *text = NULL, *what;
	size_t len = 0;
	int rc = repo_note_read(repo, ref, tree, RECORD_MAX_BYTES, &text, &len, ref_id);

	*found = 0;
	record_init(out);
	if (rc == FG_ENOTFOUND) {
		rc = 0;
	} else if (!rc) {
		what = fg_asprintf("%s, tree %.12s", ref, tree);
		rc = record_decode(text, len, what, out);
		*found = !rc;
		free(what);
	}
	free(text);
	free(ref);
	return rc;
}

int record_write(struct fg_repo *repo, struct verify_record *r, const char *ref_id,
		 record_merge_fn merge)
{
	char *ref = record_ref(r->stage), expected[41], *text, *msg;
	int rc, attempt;

	snprintf(expected, sizeof(expected), "%s", ref_id);
	msg = fg_asprintf("fleetgate: %s %.12s %s", r->stage, r->tree, verify_outcome_name(r->verdict));
	for (attempt = 0;; attempt++) {
		struct verify_record theirs;
		int found;

		text = record_encode(r);
		rc = repo_note_write(repo, ref, r->tree, text, expected, msg);
		free(text);
		if (rc != FG_ECHANGED || attempt == 8)
			break;
		rc = record_read(repo, r->stage, r->tree, &theirs, &found, expected);
		if (rc)
			break;
		if (found && merge)
			merge(r, &theirs);
		record_release(&theirs);
	}
	free(msg);
	free(ref);
	return rc;
}

int record_read_stages(struct fg_repo *repo, const struct verify_settings *vs,
		       struct record_stage **out, size_t *n)
{
	struct record_stage *st = fg_calloc(vs->nrules + 1, sizeof(*st));
	size_t i;
	int rc = 0;

	for (i = 0; i < vs->nrules; i++) {
		char tip[41], tree[41];

		st[i].stage = fg_strdup(vs->rules[i].stage);
		record_init(&st[i].record);
		rc = repo_branch_tip(repo, st[i].stage, tip);
		if (rc == FG_ENOTFOUND) {
			rc = 0;
			continue;
		}
		if (!rc)
			rc = repo_commit_tree(repo, tip, tree);
		if (!rc)
			rc = record_read(repo, st[i].stage, tree, &st[i].record, &st[i].found, NULL);
		if (rc)
			break;
	}
	*out = st;
	*n = i < vs->nrules ? i + 1 : vs->nrules;
	if (rc) {
		record_stages_free(st, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

void record_stages_free(struct record_stage *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(s[i].stage);
		record_release(&s[i].record);
	}
	free(s);
}
