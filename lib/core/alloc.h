#ifndef FLEETGATE_ALLOC_H
#define FLEETGATE_ALLOC_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Allocation for the whole library.
 *
 * Running out of memory is not something a hook can recover from half-way
 * through a verdict, so the library does not thread ENOMEM through every
 * call: these functions never return NULL. When the system allocator fails
 * they call the out-of-memory handler, which the front end installs
 * (it prints "out of memory" and exits non-zero; in pre-receive that refuses
 * the push, so the hook fails closed). The library itself never exits: the
 * default handler aborts, which also ends in a refusal.
 */

typedef void (*fg_oom_handler)(size_t size);

/* Install the handler called when an allocation of `size` bytes fails.
 * It must not return. NULL restores the default (abort). */
void fg_set_oom_handler(fg_oom_handler handler);

/* Call the out-of-memory handler (then abort): for a library that fails
 * only when it cannot allocate (libcrypto's digests). */
void fg_out_of_memory(size_t size) __attribute__((noreturn));

void *fg_malloc(size_t size);
void *fg_calloc(size_t nmemb, size_t size);
void *fg_realloc(void *ptr, size_t size);
/* Grow an array to hold at least `need` items of `size`; updates *alloc. */
void *fg_grow(void *ptr, size_t *alloc, size_t need, size_t size);
char *fg_strdup(const char *s);
char *fg_strndup(const char *s, size_t n);
/* A malloc'd string built like printf. */
char *fg_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *fg_vasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* Free `count` malloc'd strings and the array holding them (NULL is fine). */
void fg_strings_free(char **strings, size_t count);

#endif
