#ifndef FLEETGATE_DIAG_H
#define FLEETGATE_DIAG_H

#include <stddef.h>

#include "core/buf.h"

/*
 * Diagnostics about the fleet repository, like a compiler's:
 *   devices/x.yaml:4:3: error: unknown key 'foo' (did you mean 'bar'?) [unknown-key]
 * Line and column count from 1; 0 means "the whole file". `code` is a
 * stable identifier (a string literal, never freed) that tests and tools
 * may match on.
 */

enum diag_severity {
	DIAG_ERROR,
	DIAG_WARNING,
};

struct diag {
	char *file;
	unsigned line;
	unsigned column;
	enum diag_severity severity;
	const char *code;
	char *message;
};

struct diags {
	struct diag *items;
	size_t count;
	size_t alloc;
	size_t errors;
	size_t warnings;
};

void diags_init(struct diags *d);
void diags_release(struct diags *d);

void diags_add(struct diags *d, enum diag_severity severity, const char *file,
	       unsigned line, unsigned column, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

/* Order by file, line, column; drop exact repeats (a node reached through
 * several aliases is judged more than once). */
void diags_sort(struct diags *d);

/* --strict: every warning becomes an error. */
void diags_promote_warnings(struct diags *d);

/* Append one line per diagnostic, gcc style, each ending in '\n'. */
void diags_format_text(const struct diags *d, struct fg_buf *out);

/* Append a JSON array of {file, line, column, severity, code, message}. */
void diags_format_json(const struct diags *d, struct fg_buf *out);

#endif
