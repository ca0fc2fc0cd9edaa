#include "core/alloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static fg_oom_handler oom_handler;

void fg_set_oom_handler(fg_oom_handler handler)
{
	oom_handler = handler;
}

void fg_out_of_memory(size_t size)
{
	if (oom_handler)
		oom_handler(size);
	abort();
}

void *fg_malloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		fg_out_of_memory(size);
	return p;
}

void *fg_calloc(size_t nmemb, size_t size)
{
	void *p;

	if (size && nmemb > SIZE_MAX / size)
		fg_out_of_memory(SIZE_MAX);
	p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (!p)
		fg_out_of_memory(nmemb * size);
	return p;
}

void *fg_realloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (!p)
		fg_out_of_memory(size);
	return p;
}

void *fg_grow(void *ptr, size_t *alloc, size_t need, size_t size)
{
	size_t n = *alloc;

	if (need <= n)
		return ptr;
	if (n < 8)
		n = 8;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			fg_out_of_memory(SIZE_MAX);
		n *= 2;
	}
	if (size && n > SIZE_MAX / size)
		fg_out_of_memory(SIZE_MAX);
	ptr = fg_realloc(ptr, n * size);
	*alloc = n;
	return ptr;
}

char *fg_strdup(const char *s)
{
	return fg_strndup(s, strlen(s));
}

char *fg_strndup(const char *s, size_t n)
{
	char *p = fg_malloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *fg_vasprintf(const char *fmt, va_list ap)
{
	va_list again;
	int n;
	char *p;

	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, again);
	va_end(again);
	if (n < 0)
		return fg_strdup("");
	p = fg_malloc((size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *fg_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = fg_vasprintf(fmt, ap);
	va_end(ap);
	return p;
}

void fg_strings_free(char **strings, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		free(strings[i]);
	free(strings);
}
