/*
 * The Jinja2 subset renderer of the edi-cd import (lib/import/jinja.h):
 * what it renders, byte for byte, with Ansible's semantics, and the exact
 * error for what it does not support.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "import/jinja.h"

static const char vars_yaml[] =
	"s: text\n"
	"q: \"1.50\"\n"
	"b: yes\n"
	"f: off\n"
	"i: 010\n"
	"h: 0x1F\n"
	"d: 1_000\n"
	"x: 1.50\n"
	"e: 1.0e+3\n"
	"e_no_sign: 1e3\n"
	"tiny: 0.00001\n"
	"big: 12345678901234567.0\n"
	"n: ~\n"
	"empty: ''\n"
	"date: 2025-10-10\n"
	"v: 1.5.0\n"
	"u: \"h\\u00e9\"\n"
	"list: [a, b, c]\n"
	"map: { inner: { leaf: deep }, one: 1 }\n"
	"secret: \"{{ lookup('env', 'RUNNER_TOKEN') }}\"\n"
	"templ: \"{{ s }}-{{ i }}\"\n"
	"loop1: \"{{ loop2 }}\"\n"
	"loop2: \"{{ loop1 }}\"\n"
	"dollar: \"${secret:X}\"\n";

struct fixture {
	struct ydoc *doc;
	struct diags diags;
};

static int setup(void **state)
{
	struct fixture *fx = fg_calloc(1, sizeof(*fx));

	diags_init(&fx->diags);
	ydoc_parse(&fx->doc, vars_yaml, strlen(vars_yaml), "vars.yml", &fx->diags);
	assert_non_null(fx->doc);
	assert_int_equal(fx->diags.errors, 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	ydoc_free(fx->doc);
	diags_release(&fx->diags);
	free(fx);
	return 0;
}

/* Render `text` over the fixture's variables: the output, or "ERROR: msg". */
static char *render(void **state, const char *text)
{
	struct fixture *fx = *state;
	const struct ynode *maps[] = { fx->doc->root };
	static const char *const files[] = { "vars.yml" };
	struct jinja_scope sc = { maps, files, 1, "host-1" };
	struct jinja_template *t = NULL;
	struct diags d;
	char *out = NULL;

	diags_init(&d);
	jinja_parse(&t, text, strlen(text), "t.json", &d);
	if (!t) {
		out = fg_asprintf("PARSE: %u:%u: %s [%s]", d.items[0].line, d.items[0].column,
				  d.items[0].message, d.items[0].code);
		assert_int_equal(d.errors, 1);
	} else if (jinja_render(t, &sc, NULL, NULL, &out)) {
		out = fg_asprintf("ERROR: %s", fg_error_message());
	}
	jinja_free(t);
	diags_release(&d);
	return out;
}

#define RENDERS(text, expected)                                 \
	do {                                                    \
		char *got_ = render(state, text);               \
		assert_string_equal(got_, expected);            \
		free(got_);                                     \
	} while (0)

static void test_python_str(void **state)
{
	RENDERS("{{ s }}|{{ q }}|{{ b }}|{{ f }}|{{ i }}|{{ h }}|{{ d }}", "text|1.50|True|False|8|31|1000");
	RENDERS("{{ x }}|{{ e }}|{{ e_no_sign }}|{{ tiny }}|{{ big }}", "1.5|1000.0|1e3|1e-05|1.2345678901234568e+16");
	RENDERS("{{ n }}|{{ empty }}|{{ date }}|{{ v }}|{{ u }}", "None||2025-10-10|1.5.0|h\xc3\xa9");
	RENDERS("{{ 'lit' }}{{ \"q\\\"\" }}{{ 3 }}{{ 2.50 }}{{ true }}{{ none }}", "litq\"32.5TrueNone");
	RENDERS("{{ inventory_hostname }} {{ desired_os_image }}", "host-1 ${os_image}");
}

static void test_filters_and_tests(void **state)
{
	RENDERS("{{ s | mandatory }}", "text");
	RENDERS("{{ nope | default('dflt') }}|{{ s | default('dflt') }}", "dflt|text");
	RENDERS("{{ empty | default('dflt', true) }}|{{ empty | default('dflt') }}", "dflt|");
	RENDERS("{{ s | length }} {{ u | length }} {{ list | length }} {{ map | length }}", "4 2 3 2");
	RENDERS("{{ nope is defined }} {{ s is defined }} {{ nope is not defined }}", "False True True");
	RENDERS("{{ map.inner.leaf }} {{ map.one }} {{ map.nope.deeper | default('chained') }}",
		"deep 1 chained");
	RENDERS("{{ secret }} {{ (secret if (secret | length > 0)) | mandatory('no token') }}",
		"${secret:RUNNER_TOKEN} ${secret:RUNNER_TOKEN}");
	RENDERS("{{ (empty if (empty | length > 0)) | mandatory('must not be empty') }}",
		"ERROR: t.json:1:38: mandatory: must not be empty");
	RENDERS("{{ nope | mandatory }}", "ERROR: t.json:1:11: mandatory variable 'nope' not defined");
	RENDERS("{{ map.inner.nope | mandatory }}",
		"ERROR: t.json:1:21: mandatory variable 'map.inner.nope' not defined");
	RENDERS("{{ templ }}", "text-8");
}

static void test_logic(void **state)
{
	RENDERS("{{ s and b }} {{ empty or 'x' }} {{ not f }} {{ 'a' if f else 'b' }}", "True x True b");
	RENDERS("{{ 1 < 2 }}{{ i == 8 }}{{ s != 'text' }}{{ x >= 1.5 }}{{ 'a' == 1 }}", "TrueTrueFalseTrueFalse");
	RENDERS("{% if nope is defined and nope %}yes{% else %}no{% endif %}", "no");
	RENDERS("{% if f %}1{% elif b %}2{% else %}3{% endif %}", "2");
	RENDERS("{% if b %}\n{% if f %}x{% endif %}\nin\n{% endif %}\nout", "in\nout");
	RENDERS("{% if list %}nonempty{% endif %}{% if n %}none{% endif %}", "nonempty");
}

static void test_undefined_and_values(void **state)
{
	RENDERS("{{ nope }}", "ERROR: t.json:1:4: 'nope' is undefined");
	RENDERS("{% if nope %}x{% endif %}", "ERROR: t.json:1:7: 'nope' is undefined");
	RENDERS("{{ nope | length }}", "ERROR: t.json:1:11: 'nope' is undefined");
	RENDERS("{{ list }}", "ERROR: t.json:1:4: printing a list is not supported");
	RENDERS("{% if secret %}x{% endif %}",
		"ERROR: t.json:1:7: the truth of secret 'RUNNER_TOKEN' depends on its value, which the importer never reads");
	RENDERS("{{ secret | length > 3 }}",
		"ERROR: t.json:1:20: comparing a secret's length other than with > 0 or >= 1: the importer never reads secrets");
	RENDERS("{{ dollar }}",
		"ERROR: t.json:1:4: the value '${secret:X}' holds '${', which fleetgate would read as a substitution");
	RENDERS("a ${secret:X}", "ERROR: t.json:1:1: the template's text holds '${', which fleetgate would read as a substitution");
	RENDERS("{{ lookup('env', 'lower') }}",
		"ERROR: t.json:1:4: lookup('env', 'lower'): a fleetgate secret's name is A-Z, 0-9 and _");
	RENDERS("{{ loop1 }}", "ERROR: vars.yml:22:8: 'loop1' is a template nested more than 8 deep");
}

static void test_unsupported(void **state)
{
	RENDERS("{{ s | upper }}", "PARSE: 1:8: filter 'upper' (supported: mandatory, default, length) [template-unsupported]");
	RENDERS("x\n {% for a in b %}{% endfor %}", "PARSE: 2:5: statement 'for' (supported: if, elif, else, endif) [template-unsupported]");
	RENDERS("{# note #}", "PARSE: 1:1: comment '{#' [template-unsupported]");
	RENDERS("{{- s }}", "PARSE: 1:1: whitespace control '{{-' [template-unsupported]");
	RENDERS("{{ s -}}", "PARSE: 1:6: whitespace control '-}}' [template-unsupported]");
	RENDERS("{{ list[0] }}", "PARSE: 1:8: operator '[' [template-unsupported]");
	RENDERS("{{ s + s }}", "PARSE: 1:6: operator '+' [template-unsupported]");
	RENDERS("{{ s is string }}", "PARSE: 1:9: test 'string' (supported: defined) [template-unsupported]");
	RENDERS("{{ range(3) }}", "PARSE: 1:9: a call: only lookup('env', 'NAME') is supported [template-unsupported]");
	RENDERS("{{ lookup('file', 'x') }}", "PARSE: 1:11: lookup('file', ...): only lookup('env', 'NAME') is supported [template-unsupported]");
	RENDERS("{{ 1 < 2 < 3 }}", "PARSE: 1:10: chained comparison [template-unsupported]");
	RENDERS("{{ 'a\\x' }}", "PARSE: 1:6: escape '\\x' in a string literal [template-unsupported]");
}

static void test_syntax(void **state)
{
	RENDERS("{% if s %}x", "PARSE: 1:1: 'if' without 'endif' [template-syntax]");
	RENDERS("{% endif %}", "PARSE: 1:1: 'endif' without 'if' [template-syntax]");
	RENDERS("{{ s ", "PARSE: 1:6: expected '}}', found the end of the template [template-syntax]");
	RENDERS("{{ }}", "PARSE: 1:4: expected a value, found '}}' [template-syntax]");
	RENDERS("{{ 'open }}", "PARSE: 1:4: unterminated string literal [template-syntax]");
	RENDERS("{{ (s }}", "PARSE: 1:7: expected ')', found '}}' [template-syntax]");
	RENDERS("{{ and }}", "PARSE: 1:4: expected a value, found 'and' [template-syntax]");
	RENDERS("{% if s %}{% else %}{% else %}{% endif %}", "PARSE: 1:21: 'else' after 'else' [template-syntax]");
}

static void test_bounds(void **state)
{
	struct fg_buf b = FG_BUF_INIT;
	char *got;
	int i;

	fg_buf_init(&b);
	fg_buf_puts(&b, "{{ ");
	for (i = 0; i < 40; i++)
		fg_buf_putc(&b, '(');
	fg_buf_puts(&b, "s");
	for (i = 0; i < 40; i++)
		fg_buf_putc(&b, ')');
	fg_buf_puts(&b, " }}");
	got = render(state, b.ptr);
	assert_string_equal(got, "PARSE: 1:20: expression nested more than 32 deep [template-unsupported]");
	free(got);
	fg_buf_reset(&b);
	for (i = 0; i < 40; i++)
		fg_buf_puts(&b, "{% if s %}");
	got = render(state, b.ptr);
	assert_string_equal(got, "PARSE: 1:331: if blocks nested more than 32 deep [template-unsupported]");
	free(got);
	fg_buf_release(&b);
	RENDERS("a\0b", "a"); /* strlen: the NUL itself is tested by the fuzz target */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_python_str),
		cmocka_unit_test(test_filters_and_tests),
		cmocka_unit_test(test_logic),
		cmocka_unit_test(test_undefined_and_values),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
