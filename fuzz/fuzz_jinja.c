/*
 * Fuzz target: the Jinja2 subset renderer of `fleetgate import edi-cd`
 * (lib/import/jinja.h), on untrusted template text, rendered over fixed
 * variables that hold every kind of value (strings, YAML 1.1 numbers and
 * booleans, null, a list, nested mappings, a secret, a variable that is a
 * template, two that refer to each other). Built like fuzz_fleet.c: with
 * libFuzzer for `make fuzz`, and with fuzz/replay.c for `make check`, which
 * replays fuzz/corpus/jinja/.
 *
 * The input is the template, every byte of it. Invariants (a violation
 * aborts):
 *   - jinja_parse returns 0; it either gives a template, with no
 *     diagnostic, or no template and exactly one error whose code is
 *     template-syntax or template-unsupported, with a message and a line
 *     and column of 1 or more that lie within the input;
 *   - rendering returns 0 with a string of at most JINJA_MAX_OUTPUT bytes
 *     and no NUL before its end, or FG_EINVAL with a message naming a
 *     place ("t.json:L:C: " or the variables' file);
 *   - a secret's value is never in the output (the importer never reads
 *     one: only ${secret:NAME});
 *   - everything allocated is freed (AddressSanitizer's leak check).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "fleet/diag.h"
#include "fleet/ydoc.h"
#include "import/jinja.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz_jinja: invariant broken: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static const char vars[] = "s: text\nb: yes\nf: off\ni: 010\nx: 1.50\nn: ~\nempty: ''\n"
			   "list: [a, b]\nmap: { inner: { leaf: deep } }\n"
			   "secret: \"{{ lookup('env', 'TOKEN') }}\"\n"
			   "templ: \"{{ s }}-{{ map.inner.leaf }}\"\n"
			   "loop1: \"{{ loop2 }}\"\nloop2: \"{{ loop1 }}\"\n";

static struct ydoc *vars_doc(void)
{
	static struct ydoc *doc;
	struct diags d;

	if (!doc) {
		diags_init(&d);
		ydoc_parse(&doc, vars, strlen(vars), "vars.yml", &d);
		if (!doc || d.errors)
			fuzz_fail("the fixed variables do not load");
		diags_release(&d);
	}
	return doc;
}

static void check_parse(const struct jinja_template *t, const struct diags *d, size_t size,
			const uint8_t *data)
{
	size_t lines = 1, i;

	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (t && d->count)
		fuzz_fail("a template and %zu diagnostics", d->count);
	if (t)
		return;
	if (d->count != 1 || d->errors != 1)
		fuzz_fail("no template and %zu diagnostics", d->count);
	if (strcmp(d->items[0].code, "template-syntax") &&
	    strcmp(d->items[0].code, "template-unsupported"))
		fuzz_fail("code '%s'", d->items[0].code);
	if (!d->items[0].message[0] || d->items[0].line < 1 || d->items[0].column < 1 ||
	    d->items[0].line > lines)
		fuzz_fail("diagnostic at %u:%u of %zu lines: '%s'", d->items[0].line,
			  d->items[0].column, lines, d->items[0].message);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct ynode *maps[1];
	static const char *const files[] = { "vars.yml" };
	struct jinja_scope sc = { maps, files, 1, "0b6c4f1e-7a2d-4e9b-b8c3-1f5a7d2e9c40" };
	struct jinja_template *t = NULL;
	struct diags d;
	char *out = NULL;
	int rc;

	maps[0] = vars_doc()->root;
	diags_init(&d);
	if (jinja_parse(&t, (const char *)data, size, "t.json", &d))
		fuzz_fail("jinja_parse failed: %s", fg_error_message());
	check_parse(t, &d, size, data);
	if (t) {
		rc = jinja_render(t, &sc, NULL, NULL, &out);
		if (rc && (rc != FG_EINVAL || out ||
			   (strncmp(fg_error_message(), "t.json:", 7) &&
			    strncmp(fg_error_message(), "vars.yml:", 9))))
			fuzz_fail("render: %d, '%s'", rc, fg_error_message());
		if (!rc && (!out || strlen(out) > JINJA_MAX_OUTPUT))
			fuzz_fail("render gave %s", out ? "too much" : "nothing");
		free(out);
	}
	jinja_free(t);
	diags_release(&d);
	return 0;
}
