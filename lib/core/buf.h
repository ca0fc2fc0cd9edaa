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
/*
 * Whether the character at `s` (NUL-terminated, not at its end) may reach a
 * terminal as it is; *len is set to its length in bytes. Not shown: C0
 * controls and DEL, C1 controls (U+0080-U+009F), the bidirectional
 * embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), which
 * reorder what follows them on screen, and any byte that does not start a
 * valid UTF-8 character (*len 1), which an 8-bit terminal may take for a
 * C1 control. Every output that shows text from a push, from Mender or
 * from a file goes through this one test.
 */
int fg_char_shown(const char *s, size_t *len);
/* Whether the NUL-terminated `s` is valid UTF-8 (shortest forms, no
 * surrogates, nothing over U+10FFFF). */
int fg_utf8_valid(const char *s);
/* Append `s` with each character fg_char_shown() refuses replaced by '?',
 * for text that came from a push (subjects, paths) before it is shown. */
void fg_buf_put_printable(struct fg_buf *b, const char *s);
char *fg_buf_detach(struct fg_buf *b);

#endif
