#include "tstr.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reserve(struct tstr *s, size_t need)
{
	size_t n = s->alloc ? s->alloc : 64;

	if (need <= s->alloc)
		return;
	while (n < need)
		n *= 2;
	s->p = realloc(s->p, n);
	if (!s->p)
		abort();
	s->alloc = n;
}

void tstr_put(struct tstr *s, const char *data, size_t len)
{
	reserve(s, s->len + len + 1);
	memcpy(s->p + s->len, data, len);
	s->len += len;
	s->p[s->len] = '\0';
}

void tstr_printf(struct tstr *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	reserve(s, s->len + (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s->p + s->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	s->len += (size_t)n;
}

void tstr_release(struct tstr *s)
{
	free(s->p);
	s->p = NULL;
	s->len = s->alloc = 0;
}
