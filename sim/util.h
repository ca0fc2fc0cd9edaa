#ifndef SIM_UTIL_H
#define SIM_UTIL_H

/*
 * Small helpers of the Mender stand-in: allocation that never returns NULL,
 * a growable string, a string-keyed hash map, ids and timestamps.
 *
 * The stand-in is a test tool: running out of memory aborts it (like git's
 * xmalloc), so no caller has to handle a NULL from these allocators.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *sim_xmalloc(size_t n);
void *sim_xcalloc(size_t nmemb, size_t size);
void *sim_xrealloc(void *p, size_t n);
char *sim_xstrdup(const char *s);
char *sim_xstrndup(const char *s, size_t n);

/*
 * Grow `*v` (an array of `*alloc` elements of `size` bytes) so that it holds
 * at least `need` elements.
 */
void sim_grow(void **v, size_t *alloc, size_t need, size_t size);

/*
 * A growable byte string, always NUL-terminated once anything was added.
 * The caller owns the struct; sim_buf_release frees the contents,
 * sim_buf_detach hands the string over (free() it).
 */
struct sim_buf {
	char *ptr;
	size_t len;
	size_t alloc;
};

#define SIM_BUF_INIT { NULL, 0, 0 }

void sim_buf_put(struct sim_buf *b, const void *data, size_t len);
void sim_buf_puts(struct sim_buf *b, const char *s);
void sim_buf_printf(struct sim_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append `s` percent-encoded as a URL query component. */
void sim_buf_put_urlenc(struct sim_buf *b, const char *s);
/* Append a URL path, percent-encoding what a path may not hold as is. */
void sim_buf_put_pathenc(struct sim_buf *b, const char *s);
char *sim_buf_detach(struct sim_buf *b);
void sim_buf_release(struct sim_buf *b);

/*
 * A hash map from NUL-terminated strings to pointers. The map copies keys;
 * it never owns values (sim_map_free frees only the map and its keys).
 */
struct sim_map;

struct sim_map *sim_map_new(void);
void sim_map_free(struct sim_map *m);
void *sim_map_get(const struct sim_map *m, const char *key);
/* Insert or replace; returns the previous value or NULL. */
void *sim_map_put(struct sim_map *m, const char *key, void *value);
/* Remove; returns the removed value or NULL. */
void *sim_map_del(struct sim_map *m, const char *key);
size_t sim_map_count(const struct sim_map *m);
/* Call fn for every entry, in no particular order; fn must not change m. */
void sim_map_each(const struct sim_map *m, void (*fn)(const char *key, void *value, void *arg),
		  void *arg);

/* UUID version 4, lowercase, into `out` (37 bytes with the NUL). */
void sim_uuid4(char out[37]);
/* 24 lowercase hex digits (a Mongo ObjectID look-alike) into `out`. */
void sim_hexid(char out[25]);
/* Fill `buf` with `len` random bytes (getrandom; aborts on failure). */
void sim_random(void *buf, size_t len);
/* govalidator.IsUUID: 8-4-4-4-12 hex digits, either case. */
bool sim_is_uuid(const char *s);

/* Wall-clock time in microseconds since the epoch. */
int64_t sim_now_us(void);
/* RFC 3339 UTC with microseconds, e.g. 2025-01-02T03:04:05.123456Z. */
void sim_format_time(int64_t us, char out[32]);
/*
 * A time as the deployments service writes one it read back from Mongo:
 * millisecond precision (BSON dates), formatted with Go's RFC3339Nano,
 * which drops trailing zeros of the fraction and the dot with them
 * ("...:05.12Z", "...:05Z").
 */
void sim_format_time_ms(int64_t us, char out[32]);

/* Case-insensitive substring test; an empty needle is always found. */
bool sim_contains_ci(const char *haystack, const char *needle);

/* Parse a whole string as a decimal integer; false on any junk/overflow. */
bool sim_parse_i64(const char *s, int64_t *out);

/* Constant-time comparison of two NUL-terminated strings. */
bool sim_secret_equal(const char *a, const char *b);

/* Base64 (standard alphabet) decode into a NUL-terminated malloc'd string;
 * NULL when `s` is not valid base64. */
char *sim_base64_decode(const char *s, size_t *outlen);
/* Base64url without padding of `len` bytes, appended to `b`. */
void sim_buf_put_base64url(struct sim_buf *b, const void *data, size_t len);

#endif
