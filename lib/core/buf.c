#include "core/buf.h"

#include "core/alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void ensure(struct fg_buf *b, size_t extra)
{
	b->ptr = fg_grow(b->ptr, &b->alloc, b->len + extra + 1, 1);
}

void fg_buf_init(struct fg_buf *b)
{
	b->ptr = NULL;
	b->len = 0;
	b->alloc = 0;
	ensure(b, 0);
	b->ptr[0] = '\0';
}

void fg_buf_release(struct fg_buf *b)
{
	free(b->ptr);
	b->ptr = NULL;
	b->len = b->alloc = 0;
}

void fg_buf_reset(struct fg_buf *b)
{
	if (!b->ptr)
		ensure(b, 0);
	b->len = 0;
	b->ptr[0] = '\0';
}

void fg_buf_put(struct fg_buf *b, const void *data, size_t len)
{
	ensure(b, len);
	memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
}

void fg_buf_puts(struct fg_buf *b, const char *s)
{
	fg_buf_put(b, s, strlen(s));
}

void fg_buf_putc(struct fg_buf *b, char c)
{
	fg_buf_put(b, &c, 1);
}

void fg_buf_printf(struct fg_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	ensure(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* The code point of the valid UTF-8 sequence of `len` bytes at p. */
static unsigned long utf8_code_point(const unsigned char *p, size_t len)
{
	unsigned long cp = p[0] & (0x7f >> len);
	size_t i;

	for (i = 1; i < len; i++)
		cp = (cp << 6) | (p[i] & 0x3f);
	return cp;
}

void fg_buf_put_json_string(struct fg_buf *b, const char *s)
{
	const unsigned char *p;
	size_t len;

	fg_buf_putc(b, '"');
	for (p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fg_buf_puts(b, "\\\""); break;
		case '\\': fg_buf_puts(b, "\\\\"); break;
		case '\n': fg_buf_puts(b, "\\n"); break;
		case '\r': fg_buf_puts(b, "\\r"); break;
		case '\t': fg_buf_puts(b, "\\t"); break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				fg_buf_printf(b, "\\u%04x", *p);
			} else if (*p >= 0x80 && !fg_char_shown((const char *)p, &len) && len > 1) {
				/* C1 and bidi controls: the same string, safe on a terminal */
				fg_buf_printf(b, "\\u%04lx", utf8_code_point(p, len));
				p += len - 1;
			} else {
				fg_buf_putc(b, (char)*p);
			}
		}
	}
	fg_buf_putc(b, '"');
}

/* The length of the valid UTF-8 sequence at `s` (shortest form, no
 * surrogate, at most U+10FFFF) and its code point in *cp; 0 when the bytes
 * there are not one (a NUL ends the string: also 0 for a cut sequence). */
static size_t utf8_decode(const unsigned char *p, unsigned long *cp)
{
	size_t n, i;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, *cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, *cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, *cp = p[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0; /* also stops at the NUL */
		*cp = (*cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && *cp < 0x800) || (n == 4 && (*cp < 0x10000 || *cp > 0x10ffff)) ||
	    (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return n;
}

int fg_char_shown(const char *s, size_t *len)
{
	unsigned long cp;
	size_t n = utf8_decode((const unsigned char *)s, &cp);

	*len = n ? n : 1;
	if (!n)
		return 0;
	if (n == 1)
		return cp >= 0x20 && cp != 0x7f;
	return !(cp <= 0x9f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069));
}

int fg_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long cp;
	size_t n;

	while (*p) {
		n = utf8_decode(p, &cp);
		if (!n)
			return 0;
		p += n;
	}
	return 1;
}

void fg_buf_put_printable(struct fg_buf *b, const char *s)
{
	size_t len;

	while (*s) {
		if (fg_char_shown(s, &len))
			fg_buf_put(b, s, len);
		else
			fg_buf_putc(b, '?');
		s += len;
	}
}

char *fg_buf_detach(struct fg_buf *b)
{
	char *p;

	if (!b->ptr)
		ensure(b, 0);
	p = b->ptr;
	b->ptr = NULL;
	b->len = b->alloc = 0;
	return p;
}
