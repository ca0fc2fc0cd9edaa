/* What may reach a terminal: fg_char_shown(), fg_buf_put_printable() and
 * the JSON strings, over every code point. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/buf.h"

#include <stdio.h>
#include <string.h>

static size_t encode(unsigned long cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The code points a terminal is never given. */
static int refused(unsigned long cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

/* Every code point but NUL and the surrogates, in "a<cp>b": the verdict and
 * the length, and what put_printable and the JSON string make of it. */
static void test_every_code_point(void **state)
{
	struct fg_buf b = FG_BUF_INIT;
	unsigned long cp, shown = 0, hidden = 0;
	char s[8], want[16];
	size_t n, len;

	(void)state;
	fg_buf_init(&b);
	for (cp = 1; cp <= 0x10ffff; cp++) {
		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		n = encode(cp, s);
		s[n] = '\0';
		if (fg_char_shown(s, &len) != !refused(cp) || len != n) {
			fprintf(stderr, "U+%04lX: shown %d, length %zu of %zu\n", cp,
				fg_char_shown(s, &len), len, n);
			fail();
		}
		fg_buf_reset(&b);
		fg_buf_puts(&b, "a");
		fg_buf_put_printable(&b, s);
		fg_buf_puts(&b, "b");
		if (refused(cp)) {
			assert_string_equal(b.ptr, "a?b");
			hidden++;
		} else {
			assert_int_equal(b.len, n + 2);
			assert_memory_equal(b.ptr + 1, s, n);
			shown++;
		}
		if (cp >= 0x80 && refused(cp)) {
			fg_buf_reset(&b);
			fg_buf_put_json_string(&b, s);
			snprintf(want, sizeof(want), "\"\\u%04lx\"", cp);
			assert_string_equal(b.ptr, want);
		}
	}
	/* C0 (31), DEL and C1 (33), bidi (5 + 4) */
	assert_int_equal(hidden, 31 + 33 + 5 + 4);
	assert_int_equal(shown, 0x10ffff - 0x800 - hidden);
	fg_buf_release(&b);
}

/* The ranges' edges, as the bytes a push would carry. */
static void test_edges(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "\x1f|\x20|~|\x7f", "?| |~|?" },
		{ "\xc2\x7f", "??" },                    /* a lead byte without its tail */
		{ "\xc2\x80|\xc2\x9b[31m|\xc2\x9f|\xc2\xa0", "?|?[31m|?|\xc2\xa0" },
		{ "\xe2\x80\xa9|\xe2\x80\xaa|\xe2\x80\xae|\xe2\x80\xaf", "\xe2\x80\xa9|?|?|\xe2\x80\xaf" },
		{ "\xe2\x81\xa5|\xe2\x81\xa6|\xe2\x81\xa9|\xe2\x81\xaa", "\xe2\x81\xa5|?|?|\xe2\x81\xaa" },
		{ "\x9b[2J", "?[2J" },                   /* a raw 8-bit CSI */
		{ "\xc0\x80|\xe0\x80\x80|\xed\xa0\x80|\xf4\x90\x80\x80", "??|???|???|????" },
		{ "\xe2\x80", "??" },                    /* cut at the end */
		{ "fix \xe2\x80\xae""txt.exe", "fix ?txt.exe" },
	};
	struct fg_buf b = FG_BUF_INIT;
	size_t i;

	(void)state;
	fg_buf_init(&b);
	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		fg_buf_reset(&b);
		fg_buf_put_printable(&b, cases[i].in);
		assert_string_equal(b.ptr, cases[i].out);
	}
	fg_buf_reset(&b);
	fg_buf_put_json_string(&b, "a\xe2\x80\xae\x01\xc2\x85z");
	assert_string_equal(b.ptr, "\"a\\u202e\\u0001\\u0085z\"");
	fg_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_code_point),
		cmocka_unit_test(test_edges),
	};

	return cmocka_run_group_tests_name("buf", tests, NULL, NULL) ? 1 : 0;
}
