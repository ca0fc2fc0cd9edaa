#ifndef SIMTEST_TSTR_H
#define SIMTEST_TSTR_H

/*
 * A growable string for the sim tests. The caller owns the struct and frees
 * `p` with free() (or tstr_release). Allocation failure aborts the test
 * program.
 */

#include <stddef.h>

struct tstr {
	char *p;
	size_t len, alloc;
};

#define TSTR_INIT { NULL, 0, 0 }

void tstr_put(struct tstr *s, const char *data, size_t len);
void tstr_printf(struct tstr *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tstr_release(struct tstr *s);

#endif
