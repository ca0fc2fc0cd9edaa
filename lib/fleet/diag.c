#include "fleet/diag.h"

#include "core/alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void diags_init(struct diags *d)
{
	memset(d, 0, sizeof(*d));
}

void diags_release(struct diags *d)
{
	size_t i;

	for (i = 0; i < d->count; i++) {
		free(d->items[i].file);
		free(d->items[i].message);
	}
	free(d->items);
	diags_init(d);
}

void diags_add(struct diags *d, enum diag_severity severity, const char *file,
	       unsigned line, unsigned column, const char *code, const char *fmt, ...)
{
	struct diag *g;
	va_list ap;

	d->items = fg_grow(d->items, &d->alloc, d->count + 1, sizeof(*d->items));
	g = &d->items[d->count++];
	g->file = fg_strdup(file);
	g->line = line;
	g->column = column;
	g->severity = severity;
	g->code = code;
	va_start(ap, fmt);
	g->message = fg_vasprintf(fmt, ap);
	va_end(ap);
	if (severity == DIAG_ERROR)
		d->errors++;
	else
		d->warnings++;
}

static int diag_cmp(const void *a, const void *b)
{
	const struct diag *x = a, *y = b;
	int c = strcmp(x->file, y->file);

	if (c)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->column != y->column)
		return x->column < y->column ? -1 : 1;
	if (x->severity != y->severity)
		return x->severity < y->severity ? -1 : 1;
	c = strcmp(x->code, y->code);
	return c ? c : strcmp(x->message, y->message);
}

void diags_sort(struct diags *d)
{
	size_t i, out = 0;

	if (!d->count)
		return;
	qsort(d->items, d->count, sizeof(*d->items), diag_cmp);
	d->errors = d->warnings = 0;
	for (i = 0; i < d->count; i++) {
		if (out && !diag_cmp(&d->items[out - 1], &d->items[i])) {
			free(d->items[i].file);
			free(d->items[i].message);
			continue;
		}
		d->items[out] = d->items[i];
		if (d->items[out].severity == DIAG_ERROR)
			d->errors++;
		else
			d->warnings++;
		out++;
	}
	d->count = out;
}

void diags_promote_warnings(struct diags *d)
{
	size_t i;

	for (i = 0; i < d->count; i++)
		d->items[i].severity = DIAG_ERROR;
	d->errors += d->warnings;
	d->warnings = 0;
}

static const char *severity_name(enum diag_severity s)
{
	return s == DIAG_ERROR ? "error" : "warning";
}

void diags_format_text(const struct diags *d, struct fg_buf *out)
{
	size_t i;

	for (i = 0; i < d->count; i++) {
		const struct diag *g = &d->items[i];

		fg_buf_put_printable(out, g->file);
		if (g->line)
			fg_buf_printf(out, ":%u:%u", g->line, g->column);
		fg_buf_printf(out, ": %s: ", severity_name(g->severity));
		fg_buf_put_printable(out, g->message);
		fg_buf_printf(out, " [%s]\n", g->code);
	}
}

void diags_format_json(const struct diags *d, struct fg_buf *out)
{
	size_t i;

	fg_buf_putc(out, '[');
	for (i = 0; i < d->count; i++) {
		const struct diag *g = &d->items[i];

		fg_buf_puts(out, i ? ",\n {" : "\n {");
		fg_buf_puts(out, "\"file\": ");
		fg_buf_put_json_string(out, g->file);
		fg_buf_printf(out, ", \"line\": %u, \"column\": %u, \"severity\": \"%s\", \"code\": ",
			      g->line, g->column, severity_name(g->severity));
		fg_buf_put_json_string(out, g->code);
		fg_buf_puts(out, ", \"message\": ");
		fg_buf_put_json_string(out, g->message);
		fg_buf_putc(out, '}');
	}
	fg_buf_puts(out, d->count ? "\n]\n" : "]\n");
}
