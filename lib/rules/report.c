#include "rules/report.h"

#include "core/alloc.h"

#include <stdlib.h>
#include <string.h>

/* The subject, neutralised, shortened with a visible "…" past the cap. */
static void put_subject(struct fg_buf *out, const char *s)
{
	size_t at = 0, len;
	char *cut;

	if (strlen(s) <= REPORT_MAX_SUBJECT) {
		fg_buf_put_printable(out, s);
		return;
	}
	while (s[at]) {
		fg_char_shown(s + at, &len);
		if (at + len > REPORT_MAX_SUBJECT)
			break;
		at += len;
	}
	cut = fg_strndup(s, at);
	fg_buf_put_printable(out, cut);
	fg_buf_puts(out, "\xe2\x80\xa6");
	free(cut);
}

static int is_pusher_rule(const struct policy_reason *r)
{
	return r->rule && !strcmp(r->rule, "pusher");
}

static void first_line(struct fg_buf *out, const struct policy_verdict *v, const char *prefix)
{
	size_t k, lead = 0;

	fg_buf_printf(out, "%sfleetgate: refusing ", prefix);
	fg_buf_put_printable(out, v->ref);
	if (*prefix && v->nreasons) {
		/* the same reason that leads the lines below */
		for (k = 0; k < v->nreasons; k++) {
			if (is_pusher_rule(&v->reasons[k])) {
				lead = k;
				break;
			}
		}
		fg_buf_puts(out, ": ");
		fg_buf_put_printable(out, v->reasons[lead].message);
	}
	fg_buf_putc(out, '\n');
}

static void reason_lines(struct fg_buf *out, const struct policy_reason *r, const char *indent,
			 size_t max_diags)
{
	size_t i;

	fg_buf_printf(out, "%s[%s] ", indent, r->rule);
	fg_buf_put_printable(out, r->message);
	fg_buf_putc(out, '\n');
	if (r->commit[0] && r->subject) {
		fg_buf_printf(out, "%s  commit %.7s \"", indent, r->commit);
		put_subject(out, r->subject);
		fg_buf_puts(out, "\"\n");
	}
	for (i = 0; i < r->diags.count && i < max_diags; i++) {
		const struct diag *d = &r->diags.items[i];

		fg_buf_printf(out, "%s  ", indent);
		fg_buf_put_printable(out, d->file);
		if (d->line)
			fg_buf_printf(out, ":%u:%u", d->line, d->column);
		fg_buf_printf(out, ": %s: ", d->severity == DIAG_ERROR ? "error" : "warning");
		fg_buf_put_printable(out, d->message);
		fg_buf_printf(out, " [%s]\n", d->code);
	}
	if (max_diags && r->diags.count > max_diags)
		fg_buf_printf(out, "%s  ... and %zu more (run 'fleetgate validate --rev %.7s')\n",
			      indent, r->diags.count - max_diags, r->commit);
	if (r->advice) {
		fg_buf_printf(out, "%s  what to do: ", indent);
		fg_buf_put_printable(out, r->advice);
		fg_buf_putc(out, '\n');
	}
}

/* Who may push comes first: it says what the pusher can do (ask someone
 * else), and the stage's promotion rule is no part of it. The stage's line
 * leads the other rules. */
void report_verdict(struct fg_buf *out, const struct policy_verdict *v, const char *indent,
		    size_t max_diags)
{
	size_t k, pusher = 0;
	int describe;

	for (k = 0; k < v->nreasons; k++) {
		if (!is_pusher_rule(&v->reasons[k]))
			continue;
		reason_lines(out, &v->reasons[k], indent, max_diags);
		pusher++;
	}
	describe = !v->nreasons || pusher < v->nreasons;
	if (describe && v->stage && v->upstream)
		fg_buf_printf(out, "%sstage '%s' takes only unmodified merges from '%s'\n", indent,
			      v->stage, v->upstream);
	else if (describe && v->stage)
		fg_buf_printf(out, "%sstage '%s' is the first stage\n", indent, v->stage);
	for (k = 0; k < v->nreasons; k++)
		if (!is_pusher_rule(&v->reasons[k]))
			reason_lines(out, &v->reasons[k], indent, max_diags);
	if (v->more)
		fg_buf_printf(out, "%s... and %s%zu more %s\n", indent, v->more_unknown ? "at least " : "",
			      v->more, v->more_what);
}

void report_refusals(struct fg_buf *out, const struct policy_verdict *v, size_t n, int gitlab)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (v[i].accepted)
			continue;
		if (gitlab)
			first_line(out, &v[i], "GL-HOOK-ERR: ");
		first_line(out, &v[i], "");
		report_verdict(out, &v[i], "fleetgate:   ", REPORT_MAX_DIAGS);
	}
}

void report_summary(struct fg_buf *out, const struct policy_verdict *v, size_t n)
{
	size_t i, refused = 0, stages = 0;

	for (i = 0; i < n; i++) {
		refused += !v[i].accepted;
		stages += v[i].stage != NULL;
	}
	fg_buf_printf(out, "fleetgate: %zu ref%s judged (%zu stage%s): %zu accepted, %zu refused\n", n,
		      n == 1 ? "" : "s", stages, stages == 1 ? "" : "s", n - refused, refused);
}

