#include "buf.h"

#include "alloc.h"

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

void fg_buf_put_json_string(struct fg_buf *b, const char *s)
{
	const unsigned char *p;

	fg_buf_putc(b, '"');
	for (p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fg_buf_puts(b, "\\\""); break;
		case '\\': fg_buf_puts(b, "\\\\"); break;
		case '\n': fg_buf_puts(b, "\\n"); break;
		case '\r': fg_buf_puts(b, "\\r"); break;
		case '\t': fg_buf_puts(b, "\\t"); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fg_buf_printf(b, "\\u%04x", *p);
			else
				fg_buf_putc(b, (char)*p);
		}
	}
	fg_buf_putc(b, '"');
}

void fg_buf_put_printable(struct fg_buf *b, const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++)
		fg_buf_putc(b, (*p < 0x20 || *p == 0x7f) ? '?' : (char)*p);
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
