#include "rules/gate_report.h"

#include "rules/report.h"

#include "core/hmac.h"

#include <string.h>
#include <time.h>

static int is_config_reason(const struct policy_reason *r)
{
	return !strcmp(r->rule, "invalid-config");
}

/* Reasons other than invalid-config: the promotion rules proper. */
static size_t promotion_reasons(const struct policy_verdict *v)
{
	size_t i, n = 0;

	for (i = 0; i < v->nreasons; i++)
		n += !is_config_reason(&v->reasons[i]);
	return n;
}

static const char *severity_name(enum diag_severity s)
{
	return s == DIAG_ERROR ? "error" : "warning";
}

static const char *plural(size_t n)
{
	return n == 1 ? "" : "s";
}

/* Diagnostics are sorted by file: the run of items[start..] in one file. */
static size_t file_run(const struct diags *d, size_t start, size_t *errors)
{
	size_t end = start;

	*errors = 0;
	while (end < d->count && !strcmp(d->items[end].file, d->items[start].file))
		*errors += d->items[end++].severity == DIAG_ERROR;
	return end - start;
}

/* ---- text ---- */

void gate_report_text(struct fg_buf *out, const struct gate_result *r)
{
	const struct policy_verdict *v = r->verdict;

	fg_buf_puts(out, "gate: ");
	fg_buf_put_printable(out, r->source);
	fg_buf_puts(out, " -> ");
	fg_buf_put_printable(out, r->target);
	fg_buf_puts(out, v->accepted ? ": accepted\n" : ": refused\n");
	if (!v->accepted)
		report_verdict(out, v, "  ", 0);
	diags_format_text(&r->diags, out);
}

/* ---- JSON ---- */

static void json_string_or_null(struct fg_buf *out, const char *s)
{
	if (s && *s)
		fg_buf_put_json_string(out, s);
	else
		fg_buf_puts(out, "null");
}

void gate_report_json(struct fg_buf *out, const struct gate_result *r)
{
	const struct policy_verdict *v = r->verdict;
	size_t i;

	fg_buf_puts(out, "{\n  \"source\": ");
	fg_buf_put_json_string(out, r->source);
	fg_buf_puts(out, ",\n  \"target\": ");
	fg_buf_put_json_string(out, r->target);
	fg_buf_puts(out, ",\n  \"source_commit\": ");
	fg_buf_put_json_string(out, r->source_commit);
	fg_buf_puts(out, ",\n  \"target_commit\": ");
	json_string_or_null(out, policy_is_zero(r->target_commit) ? NULL : r->target_commit);
	fg_buf_printf(out, ",\n  \"accepted\": %s,\n  \"reasons\": [", v->accepted ? "true" : "false");
	for (i = 0; i < v->nreasons; i++) {
		const struct policy_reason *p = &v->reasons[i];

		fg_buf_puts(out, i ? ",\n    {\"rule\": " : "\n    {\"rule\": ");
		fg_buf_put_json_string(out, p->rule);
		fg_buf_puts(out, ", \"message\": ");
		fg_buf_put_json_string(out, p->message);
		fg_buf_puts(out, ", \"commit\": ");
		json_string_or_null(out, p->commit);
		fg_buf_puts(out, ", \"subject\": ");
		json_string_or_null(out, p->subject);
		fg_buf_puts(out, ", \"advice\": ");
		json_string_or_null(out, p->advice);
		fg_buf_putc(out, '}');
	}
	fg_buf_puts(out, v->nreasons ? "\n  ],\n  \"diagnostics\": [" : "],\n  \"diagnostics\": [");
	for (i = 0; i < r->diags.count; i++) {
		const struct diag *d = &r->diags.items[i];

		fg_buf_puts(out, i ? ",\n    {\"file\": " : "\n    {\"file\": ");
		fg_buf_put_json_string(out, d->file);
		fg_buf_printf(out, ", \"line\": %u, \"column\": %u, \"severity\": \"%s\", \"code\": ",
			      d->line, d->column, severity_name(d->severity));
		fg_buf_put_json_string(out, d->code);
		fg_buf_puts(out, ", \"message\": ");
		fg_buf_put_json_string(out, d->message);
		fg_buf_putc(out, '}');
	}
	fg_buf_puts(out, r->diags.count ? "\n  ]\n}\n" : "]\n}\n");
}

/* ---- JUnit XML ---- */

/* Escape for XML 1.0 text or a "-quoted attribute. Control characters
 * (and what fg_char_shown() refuses) become '?'; in an attribute, tab and newline are kept as
 * character references so that parsers do not fold them into spaces. */
static void xml_put(struct fg_buf *out, const char *s, int attribute)
{
	const unsigned char *p;
	size_t len;

	for (p = (const unsigned char *)s; *p; p += len) {
		len = 1;
		switch (*p) {
		case '&': fg_buf_puts(out, "&amp;"); break;
		case '<': fg_buf_puts(out, "&lt;"); break;
		case '>': fg_buf_puts(out, "&gt;"); break;
		case '"': fg_buf_puts(out, "&quot;"); break;
		case '\n': fg_buf_puts(out, attribute ? "&#10;" : "\n"); break;
		case '\t': fg_buf_puts(out, attribute ? "&#9;" : "\t"); break;
		case '\r': fg_buf_puts(out, "&#13;"); break;
		default:
			if (fg_char_shown((const char *)p, &len))
				fg_buf_put(out, p, len);
			else
				fg_buf_putc(out, '?');
		}
	}
}

/* "[rule] message", the commit and subject, "what to do: advice". */
static void reason_text(struct fg_buf *out, const struct policy_reason *p)
{
	fg_buf_printf(out, "[%s] %s\n", p->rule, p->message);
	if (p->commit[0]) {
		fg_buf_printf(out, "commit %.7s", p->commit);
		if (p->subject)
			fg_buf_printf(out, " \"%s\"", p->subject);
		fg_buf_putc(out, '\n');
	}
	if (p->advice)
		fg_buf_printf(out, "what to do: %s\n", p->advice);
}

/* Append `code` to the space-separated list `codes` unless it is there:
 * a failure's type names every problem of its test case, each once. */
static void codes_add(struct fg_buf *codes, const char *code)
{
	size_t len = strlen(code);
	const char *p = codes->ptr;

	while (p && *p) {
		size_t n = strcspn(p, " ");

		if (n == len && !strncmp(p, code, len))
			return;
		p += n + (p[n] == ' ');
	}
	if (codes->len)
		fg_buf_putc(codes, ' ');
	xml_put(codes, code, 1);
}

static void junit_promotion(struct fg_buf *out, const struct gate_result *r)
{
	const struct policy_verdict *v = r->verdict;
	const struct policy_reason *first = NULL;
	struct fg_buf body = FG_BUF_INIT;
	struct fg_buf codes = FG_BUF_INIT;
	size_t i;

	fg_buf_init(&codes);
	fg_buf_puts(out, "    <testcase classname=\"fleetgate.promotion\" name=\"promotion: ");
	xml_put(out, r->source, 1);
	fg_buf_puts(out, " -&gt; ");
	xml_put(out, r->target, 1);
	fg_buf_printf(out, "\" time=\"%.3f\"", r->promotion_seconds);
	fg_buf_init(&body);
	for (i = 0; i < v->nreasons; i++) {
		if (is_config_reason(&v->reasons[i]))
			continue;
		first = first ? first : &v->reasons[i];
		codes_add(&codes, v->reasons[i].rule);
		reason_text(&body, &v->reasons[i]);
	}
	if (!first) {
		fg_buf_puts(out, "/>\n");
		goto done;
	}
	fg_buf_printf(out, ">\n      <failure type=\"%s\" message=\"", codes.ptr);
	xml_put(out, first->message, 1);
	fg_buf_puts(out, "\">");
	xml_put(out, body.ptr, 0);
	fg_buf_puts(out, "</failure>\n    </testcase>\n");
done:
	fg_buf_release(&body);
	fg_buf_release(&codes);
}

/* A file's test case: one validation judged every file at once, so each
 * carries that validation's time. */
static void junit_file(struct fg_buf *out, const struct gate_result *r, size_t start, size_t n,
		       size_t errors)
{
	const struct diags *d = &r->diags;
	struct diags run = { d->items + start, n, n, errors, n - errors };
	struct fg_buf lines = FG_BUF_INIT;
	struct fg_buf codes = FG_BUF_INIT;
	size_t i;

	fg_buf_init(&codes);
	fg_buf_init(&lines);
	diags_format_text(&run, &lines);
	fg_buf_puts(out, "    <testcase classname=\"fleetgate.config\" name=\"");
	xml_put(out, d->items[start].file, 1);
	fg_buf_puts(out, "\" file=\"");
	xml_put(out, d->items[start].file, 1);
	fg_buf_printf(out, "\" time=\"%.3f\">\n", r->config_seconds);
	if (errors) {
		for (i = start; i < start + n; i++)
			codes_add(&codes, d->items[i].code);
		fg_buf_printf(out, "      <failure type=\"%s\" message=\"%zu error%s, %zu warning%s\">",
			      codes.ptr, errors, plural(errors), n - errors, plural(n - errors));
		xml_put(out, lines.ptr, 0);
		fg_buf_puts(out, "</failure>\n");
	} else {
		fg_buf_puts(out, "      <system-out>");
		xml_put(out, lines.ptr, 0);
		fg_buf_puts(out, "</system-out>\n");
	}
	fg_buf_puts(out, "    </testcase>\n");
	fg_buf_release(&lines);
	fg_buf_release(&codes);
}

void gate_report_junit(struct fg_buf *out, const struct gate_result *r)
{
	const struct diags *d = &r->diags;
	size_t tests = 1, failures = promotion_reasons(r->verdict) ? 1 : 0, i, n, errors;
	double seconds = r->promotion_seconds + r->config_seconds;
	time_t when = (time_t)r->judged_at;
	char stamp[32] = "1970-01-01T00:00:00";
	struct tm tm;

	for (i = 0; i < d->count; i += n) {
		n = file_run(d, i, &errors);
		tests++;
		failures += errors != 0;
	}
	tests += !d->errors;
	fg_buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	/* JUnit's timestamp is a local date-time without a zone: write UTC. */
	if (gmtime_r(&when, &tm))
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	fg_buf_printf(out, "<testsuites name=\"fleetgate\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" time=\"%.3f\">\n",
		      tests, failures, seconds);
	fg_buf_printf(out, "  <testsuite name=\"fleetgate\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"0\" time=\"%.3f\" timestamp=\"%s\" hostname=\"",
		      tests, failures, seconds, stamp);
	xml_put(out, r->host, 1);
	fg_buf_puts(out, "\">\n");
	junit_promotion(out, r);
	for (i = 0; i < d->count; i += n) {
		n = file_run(d, i, &errors);
		junit_file(out, r, i, n, errors);
	}
	if (!d->errors)
		fg_buf_printf(out, "    <testcase classname=\"fleetgate.config\" name=\"fleet configuration\" time=\"%.3f\"/>\n",
			      r->config_seconds);
	fg_buf_puts(out, "  </testsuite>\n</testsuites>\n");
}

/* ---- GitLab Code Quality ---- */

static void codequality_issue(struct fg_buf *out, int *first, const char *description,
			      const char *check, const char *severity, const char *file,
			      unsigned line, const char *message)
{
	struct fg_buf key = FG_BUF_INIT;
	char hex[HASH_BLOB_HEX_LEN + 1];

	fg_buf_init(&key);
	fg_buf_printf(&key, "%s\n%s\n%u\n%s", check, file, line, message);
	/* libcrypto fails only out of memory: then the fingerprint is "" */
	hash_blob_hex(key.ptr, key.len, hex);
	fg_buf_release(&key);
	fg_buf_puts(out, *first ? "\n  {\"description\": " : ",\n  {\"description\": ");
	*first = 0;
	fg_buf_put_json_string(out, description);
	fg_buf_puts(out, ", \"check_name\": ");
	fg_buf_put_json_string(out, check);
	fg_buf_printf(out, ", \"fingerprint\": \"%s\", \"severity\": \"%s\", \"location\": {\"path\": ",
		      hex, severity);
	fg_buf_put_json_string(out, file);
	fg_buf_printf(out, ", \"lines\": {\"begin\": %u}}}", line ? line : 1);
}

void gate_report_codequality(struct fg_buf *out, const struct gate_result *r)
{
	const struct policy_verdict *v = r->verdict;
	struct fg_buf description = FG_BUF_INIT;
	int first = 1;
	size_t i;

	fg_buf_init(&description);
	fg_buf_putc(out, '[');
	for (i = 0; i < v->nreasons; i++) {
		const struct policy_reason *p = &v->reasons[i];

		if (is_config_reason(p))
			continue;
		fg_buf_reset(&description);
		fg_buf_puts(&description, p->message);
		if (p->advice)
			fg_buf_printf(&description, "; what to do: %s", p->advice);
		codequality_issue(out, &first, description.ptr, p->rule, "major", "fleet.yaml", 1,
				  p->message);
	}
	for (i = 0; i < r->diags.count; i++) {
		const struct diag *d = &r->diags.items[i];

		codequality_issue(out, &first, d->message, d->code,
				  d->severity == DIAG_ERROR ? "major" : "minor", d->file,
				  d->line ? d->line : 1, d->message);
	}
	fg_buf_puts(out, first ? "]\n" : "\n]\n");
	fg_buf_release(&description);
}

/* ---- markdown ---- */

/* Text in a table cell: markdown and HTML characters escaped, '|' kept
 * inside its cell, control characters (newlines too) and what
 * fg_char_shown() refuses made spaces. */
static void md_put(struct fg_buf *out, const char *s)
{
	const unsigned char *p;
	size_t len;

	for (p = (const unsigned char *)s; *p; p += len) {
		len = 1;
		switch (*p) {
		case '&': fg_buf_puts(out, "&amp;"); break;
		case '<': fg_buf_puts(out, "&lt;"); break;
		case '>': fg_buf_puts(out, "&gt;"); break;
		case '\\': case '`': case '*': case '_': case '[': case ']': case '|': case '~':
			fg_buf_putc(out, '\\');
			fg_buf_putc(out, (char)*p);
			break;
		default:
			if (fg_char_shown((const char *)p, &len))
				fg_buf_put(out, p, len);
			else
				fg_buf_putc(out, ' ');
		}
	}
}

static void md_checks(struct fg_buf *out, const struct gate_result *r)
{
	const struct policy_verdict *v = r->verdict;
	const struct diags *d = &r->diags;
	size_t i, shown = 0;

	fg_buf_puts(out, "| check | result |\n| --- | --- |\n| promotion rules | ");
	if (!promotion_reasons(v))
		fg_buf_puts(out, "passed");
	for (i = 0; i < v->nreasons; i++) {
		if (is_config_reason(&v->reasons[i]))
			continue;
		fg_buf_puts(out, shown++ ? ", " : "refused: ");
		md_put(out, v->reasons[i].rule);
	}
	fg_buf_printf(out, " |\n| fleet configuration at `%.7s` | ", r->source_commit);
	if (d->errors)
		fg_buf_printf(out, "%zu error%s, %zu warning%s |\n", d->errors, plural(d->errors),
			      d->warnings, plural(d->warnings));
	else if (d->warnings)
		fg_buf_printf(out, "valid, %zu warning%s |\n", d->warnings, plural(d->warnings));
	else
		fg_buf_puts(out, "valid |\n");
}

static void md_reasons(struct fg_buf *out, const struct policy_verdict *v)
{
	size_t i;

	if (!v->nreasons)
		return;
	fg_buf_puts(out, "\n| rule | message | commit | what to do |\n| --- | --- | --- | --- |\n");
	for (i = 0; i < v->nreasons; i++) {
		const struct policy_reason *p = &v->reasons[i];

		fg_buf_puts(out, "| ");
		md_put(out, p->rule);
		fg_buf_puts(out, " | ");
		md_put(out, p->message);
		fg_buf_puts(out, " | ");
		if (p->commit[0]) {
			fg_buf_printf(out, "`%.7s`", p->commit);
			if (p->subject) {
				fg_buf_putc(out, ' ');
				md_put(out, p->subject);
			}
		}
		fg_buf_puts(out, " | ");
		if (p->advice)
			md_put(out, p->advice);
		fg_buf_puts(out, " |\n");
	}
}

static void md_diags(struct fg_buf *out, const struct gate_result *r)
{
	const struct diags *d = &r->diags;
	size_t i;

	if (!d->count)
		return;
	fg_buf_puts(out, "\n| file | line | severity | code | message |\n| --- | --- | --- | --- | --- |\n");
	for (i = 0; i < d->count && i < GATE_MARKDOWN_MAX_DIAGS; i++) {
		const struct diag *g = &d->items[i];

		fg_buf_puts(out, "| ");
		md_put(out, g->file);
		fg_buf_puts(out, " | ");
		if (g->line)
			fg_buf_printf(out, "%u:%u", g->line, g->column);
		fg_buf_printf(out, " | %s | ", severity_name(g->severity));
		md_put(out, g->code);
		fg_buf_puts(out, " | ");
		md_put(out, g->message);
		fg_buf_puts(out, " |\n");
	}
	if (d->count > GATE_MARKDOWN_MAX_DIAGS)
		fg_buf_printf(out, "\n... and %zu more: run `fleetgate validate --rev %.7s`\n",
			      d->count - GATE_MARKDOWN_MAX_DIAGS, r->source_commit);
}

void gate_report_markdown(struct fg_buf *out, const struct gate_result *r)
{
	fg_buf_puts(out, "### fleetgate gate: ");
	md_put(out, r->source);
	fg_buf_puts(out, " → ");
	md_put(out, r->target);
	fg_buf_puts(out, r->verdict->accepted ? ": accepted\n\n" : ": refused\n\n");
	md_checks(out, r);
	md_reasons(out, r->verdict);
	md_diags(out, r);
}

/* ---- GitHub / Gitea Actions workflow commands ---- */

static void gh_put(struct fg_buf *out, const char *s, int property)
{
	const char *p;
	size_t len;

	for (p = s; *p; p += len) {
		len = 1;
		if (*p == '%')
			fg_buf_puts(out, "%25");
		else if (*p == '\r')
			fg_buf_puts(out, "%0D");
		else if (*p == '\n')
			fg_buf_puts(out, "%0A");
		else if (property && *p == ':')
			fg_buf_puts(out, "%3A");
		else if (property && *p == ',')
			fg_buf_puts(out, "%2C");
		else if (fg_char_shown(p, &len))
			fg_buf_put(out, p, len);
		else
			fg_buf_putc(out, '?');
	}
}

void gate_report_annotations(struct fg_buf *out, const struct gate_result *r)
{
	const struct policy_verdict *v = r->verdict;
	size_t i;

	for (i = 0; i < v->nreasons; i++) {
		const struct policy_reason *p = &v->reasons[i];

		fg_buf_puts(out, "::error title=");
		gh_put(out, "fleetgate [", 1);
		gh_put(out, p->rule, 1);
		fg_buf_puts(out, "]::");
		gh_put(out, p->message, 0);
		if (p->advice) {
			fg_buf_puts(out, "%0Awhat to do: ");
			gh_put(out, p->advice, 0);
		}
		fg_buf_putc(out, '\n');
	}
	for (i = 0; i < r->diags.count; i++) {
		const struct diag *d = &r->diags.items[i];

		fg_buf_printf(out, "::%s file=", severity_name(d->severity));
		gh_put(out, d->file, 1);
		if (d->line)
			fg_buf_printf(out, ",line=%u,col=%u", d->line, d->column);
		fg_buf_puts(out, ",title=fleetgate [");
		gh_put(out, d->code, 1);
		fg_buf_puts(out, "]::");
		gh_put(out, d->message, 0);
		fg_buf_putc(out, '\n');
	}
}
