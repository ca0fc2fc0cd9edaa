#ifndef FLEETGATE_BUF_H
#define FLEETGATE_BUF_H

#include <stddef.h>

/*
 * A growable byte string, always NUL-terminated (ptr is never NULL after
 * fg_buf_init). The caller owns the struct; fg_buf_release frees its
 * contents, fg_buf_detach hands the string to the caller (free() it).
 */
struct fg_buf {
	char *ptr;
	size_t len;
	size_t alloc;
};

#define FG_BUF_INIT { NULL, 0, 0 }

void fg_buf_init(struct fg_buf *b);
void fg_buf_release(struct fg_buf *b);
void fg_buf_reset(struct fg_buf *b);
void fg_buf_put(struct fg_buf *b, const void *data, size_t len);
void fg_buf_puts(struct fg_buf *b, const char *s);
void fg_buf_putc(struct fg_buf *b, char c);
void fg_buf_printf(struct fg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append `s` as a JSON string literal, quotes included. */
void fg_buf_put_json_string(struct fg_buf *b, const char *s);
/* Append `s` with control characters (terminal escapes, \r) replaced by '?',
 * for text that came from a push (subjects, paths) before it is shown. */
void fg_buf_put_printable(struct fg_buf *b, const char *s);
char *fg_buf_detach(struct fg_buf *b);

#endif
