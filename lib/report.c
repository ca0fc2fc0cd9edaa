#include "report.h"

#include <string.h>

static void first_line(struct fg_buf *out, const struct policy_verdict *v, const char *prefix)
{
	fg_buf_printf(out, "%sfleetgate: refusing ", prefix);
	fg_buf_put_printable(out, v->ref);
	if (*prefix && v->nreasons) {
		fg_buf_puts(out, ": ");
		fg_buf_put_printable(out, v->reasons[0].message);
	}
	fg_buf_putc(out, '\n');
}

static void reason_lines(struct fg_buf *out, const struct policy_reason *r)
{
	size_t i;

	fg_buf_printf(out, "fleetgate:   [%s] ", r->rule);
	fg_buf_put_printable(out, r->message);
	fg_buf_putc(out, '\n');
	if (r->commit[0] && r->subject) {
		fg_buf_printf(out, "fleetgate:     commit %.7s \"", r->commit);
		fg_buf_put_printable(out, r->subject);
		fg_buf_puts(out, "\"\n");
	}
	for (i = 0; i < r->diags.count && i < REPORT_MAX_DIAGS; i++) {
		const struct diag *d = &r->diags.items[i];

		fg_buf_puts(out, "fleetgate:     ");
		fg_buf_put_printable(out, d->file);
		if (d->line)
			fg_buf_printf(out, ":%u:%u", d->line, d->column);
		fg_buf_printf(out, ": %s: ", d->severity == DIAG_ERROR ? "error" : "warning");
		fg_buf_put_printable(out, d->message);
		fg_buf_printf(out, " [%s]\n", d->code);
	}
	if (r->diags.count > REPORT_MAX_DIAGS)
		fg_buf_printf(out, "fleetgate:     ... and %zu more (run 'fleetgate validate --rev %.7s')\n",
			      r->diags.count - REPORT_MAX_DIAGS, r->commit);
	if (r->advice) {
		fg_buf_puts(out, "fleetgate:     what to do: ");
		fg_buf_put_printable(out, r->advice);
		fg_buf_putc(out, '\n');
	}
}

void report_refusals(struct fg_buf *out, const struct policy_verdict *v, size_t n, int gitlab)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		if (v[i].accepted)
			continue;
		if (gitlab)
			first_line(out, &v[i], "GL-HOOK-ERR: ");
		first_line(out, &v[i], "");
		if (v[i].stage && v[i].upstream)
			fg_buf_printf(out, "fleetgate:   stage '%s' takes only unmodified merges from '%s'\n",
				      v[i].stage, v[i].upstream);
		else if (v[i].stage)
			fg_buf_printf(out, "fleetgate:   stage '%s' is the first stage\n", v[i].stage);
		for (k = 0; k < v[i].nreasons; k++)
			reason_lines(out, &v[i].reasons[k]);
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
