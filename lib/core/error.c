#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char message[1024];

int fg_error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	return code;
}

int fg_error_wrap(int code, const char *fmt, ...)
{
	char prefix[512];
	size_t plen, olen;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	/* "prefix: old message", cut to fit; no allocation on the error path. */
	plen = strlen(prefix);
	olen = strlen(message);
	if (plen + 2 + olen + 1 > sizeof(message))
		olen = sizeof(message) - plen - 3;
	memmove(message + plen + 2, message, olen);
	memcpy(message, prefix, plen);
	memcpy(message + plen, ": ", 2);
	message[plen + 2 + olen] = '\0';
	return code;
}

const char *fg_error_message(void)
{
	return message;
}

void fg_error_clear(void)
{
	message[0] = '\0';
}
