#include "error.h"

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
	char old[sizeof(message)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, message, sizeof(old));
	/* a long chain is cut at the buffer's end, which is fine for a message */
	if (snprintf(message, sizeof(message), "%s: %s", prefix, old) < 0)
		message[0] = '\0';
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
