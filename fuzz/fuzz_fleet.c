/*
 * Fuzz target: the YAML loader and the fleet validator, on a fleet held in
 * memory (the source of tests/unit/memsource.h), with the invariants every
 * verdict must keep. Built two ways (see the Makefile): with clang's
 * libFuzzer for `make fuzz`, and as a plain program with fuzz/replay.c that
 * `make check` runs over the saved corpus (fuzz/corpus/fleet/).
 *
 * Input framing: the input is a fleet repository written as sections, the
 * format of the .case files of tests/corpus/ without the expected
 * diagnostics. A line
 *
 *   === PATH [TYPE]
 *
 * at the start of the input or after a '\n' starts file PATH (for example
 * fleet.yaml or devices/<id>.yaml); its content is every byte after that
 * line's '\n' up to the next "=== " line or the end of the input, kept
 * exactly (empty lines, '\r', NUL bytes and all): only the last file can
 * end without a '\n'.
 * TYPE, optional, is [symlink], [submodule] or [other] (a fifo, a device):
 * what the entry is instead of a regular file. Bytes before the first
 * section are a comment. A PATH that git could not hold (empty, absolute,
 * with an empty, "." or ".." component) or given twice drops that section;
 * at most FUZZ_MAX_FILES sections count, the rest are ignored.
 *
 * Invariants checked after loading (a violation aborts, which libFuzzer
 * reports as a crash and the replay as a failed input):
 *   - fleet_load succeeds (a memory source never fails, so any error code
 *     is a bug); fleet_read_promotion succeeds, or says FG_EINVAL (with a
 *     message and no stages) only when fleet_load found an error: a stage
 *     list that cannot be read is never "no stages"; both free everything
 *     they allocate (AddressSanitizer's leak check);
 *   - every diagnostic has a file, a severity, a code of [a-z0-9-] and a
 *     message; its line and column are both 1 or more (a place in the file,
 *     at most the line after its last, where libyaml puts the end of the
 *     input), or both 0 (the whole file);
 *   - the text report has exactly one line per diagnostic and no control
 *     character, whatever bytes the files held;
 *   - a fleet with no error holds only valid device ids, sorted, each with
 *     its file name.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "fleet/diag.h"
#include "fleet/fleet.h"
#include "memsource.h"

#define FUZZ_MAX_FILES 64
#define FUZZ_MAX_PATH 255

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz_fleet: invariant broken: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* Whether git could hold `path` (len bytes, no NUL, no '\n') in a tree. */
static int path_ok(const char *path, size_t len)
{
	size_t i, start = 0;

	if (!len || len > FUZZ_MAX_PATH || memchr(path, '\0', len))
		return 0;
	for (i = 0; i <= len; i++) {
		if (i < len && path[i] != '/')
			continue;
		if (i == start || (i - start == 1 && path[start] == '.') ||
		    (i - start == 2 && path[start] == '.' && path[start + 1] == '.'))
			return 0;
		start = i + 1;
	}
	return 1;
}

/* The section header at `p` (after "=== ", up to the end of the line):
 * its path and type. 0 when the path is unusable. */
static int parse_header(const char *p, size_t len, char *path, enum source_type *type)
{
	static const struct {
		const char *suffix;
		enum source_type type;
	} types[] = {
		{ " [symlink]", SOURCE_SYMLINK },
		{ " [submodule]", SOURCE_SUBMODULE },
		{ " [other]", SOURCE_OTHER },
	};
	size_t i;

	*type = SOURCE_FILE;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t n = strlen(types[i].suffix);

		if (len >= n && !memcmp(p + len - n, types[i].suffix, n)) {
			*type = types[i].type;
			len -= n;
			break;
		}
	}
	if (!path_ok(p, len))
		return 0;
	memcpy(path, p, len);
	path[len] = '\0';
	return 1;
}

/* The first "=== " at `p` or after a '\n' at or past `p`, or NULL. */
static const char *find_header(const char *p, const char *end)
{
	while (p && end - p >= 4) {
		if (!memcmp(p, "=== ", 4))
			return p;
		p = memchr(p, '\n', (size_t)(end - p));
		if (p)
			p++;
	}
	return NULL;
}

/* Split the input into the memory source's files. */
static void split_input(struct source *src, const char *data, size_t size)
{
	struct mem_source *m = src->ctx;
	const char *end = data + size, *h = find_header(data, end);

	while (h && m->count < FUZZ_MAX_FILES) {
		const char *line = h + 4;
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		const char *body = eol ? eol + 1 : end;
		const char *next = find_header(body, end);
		const char *stop = next ? next : end;
		char path[FUZZ_MAX_PATH + 1];
		enum source_type type;
		size_t i;
		int dup = 0;

		if (parse_header(line, (size_t)((eol ? eol : end) - line), path, &type)) {
			for (i = 0; i < m->count; i++)
				dup |= !strcmp(m->files[i].path, path);
			if (!dup)
				mem_add(m, path, body, (size_t)(stop - body), type);
		}
		h = next;
	}
}

/* The last line libyaml may point at in a file: it breaks lines at '\n',
 * '\r', and U+0085, U+2028, U+2029, and puts the end of an input that does
 * not end with a line break on the line after the last one. */
static size_t max_line(const struct mem_file *f)
{
	size_t i, n = 2;
	const unsigned char *p = (const unsigned char *)f->data;

	for (i = 0; i < f->len; i++) {
		if (p[i] == '\n' || p[i] == '\r')
			n++;
		else if (p[i] == 0xc2 && i + 1 < f->len && p[i + 1] == 0x85)
			n++;
		else if (p[i] == 0xe2 && i + 2 < f->len && p[i + 1] == 0x80 &&
			 (p[i + 2] == 0xa8 || p[i + 2] == 0xa9))
			n++;
	}
	return n;
}

static const struct mem_file *find_file(const struct mem_source *m, const char *path)
{
	size_t i;

	for (i = 0; i < m->count; i++)
		if (!strcmp(m->files[i].path, path))
			return &m->files[i];
	return NULL;
}

static void check_diag(const struct mem_source *m, const struct diag *g)
{
	const struct mem_file *f;
	const char *c;

	if (!g->file || !g->file[0])
		fuzz_fail("a diagnostic without a file");
	if (g->severity != DIAG_ERROR && g->severity != DIAG_WARNING)
		fuzz_fail("%s: severity %d", g->file, (int)g->severity);
	if (!g->code || !g->code[0])
		fuzz_fail("%s:%u:%u: a diagnostic without a code", g->file, g->line, g->column);
	for (c = g->code; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
			fuzz_fail("%s: code '%s'", g->file, g->code);
	if (!g->message || !g->message[0])
		fuzz_fail("%s: [%s] without a message", g->file, g->code);
	if (!g->line != !g->column)
		fuzz_fail("%s:%u:%u: line and column must both be 0 or both be 1 or more [%s]",
			  g->file, g->line, g->column, g->code);
	if (!g->line)
		return;
	f = find_file(m, g->file);
	if (!f)
		fuzz_fail("%s:%u:%u: a place in a file that is not in the input [%s]", g->file,
			  g->line, g->column, g->code);
	if (g->line > max_line(f))
		fuzz_fail("%s:%u:%u: past the end of the file (line %zu at most) [%s]", g->file,
			  g->line, g->column, max_line(f), g->code);
}

static void check_report(const struct diags *d)
{
	struct fg_buf text = FG_BUF_INIT;
	size_t i, lines = 0;

	fg_buf_init(&text);
	diags_format_text(d, &text);
	for (i = 0; i < text.len; i++) {
		unsigned char ch = (unsigned char)text.ptr[i];

		if (ch == '\n')
			lines++;
		else if (ch < 0x20 || ch == 0x7f)
			fuzz_fail("the text report holds control character 0x%02x", ch);
	}
	if (lines != d->count)
		fuzz_fail("%zu diagnostics printed as %zu lines", d->count, lines);
	fg_buf_reset(&text);
	diags_format_json(d, &text);
	for (i = 0; i < text.len; i++)
		if ((unsigned char)text.ptr[i] < 0x20 && text.ptr[i] != '\n')
			fuzz_fail("the JSON report holds control character 0x%02x",
				  (unsigned char)text.ptr[i]);
	fg_buf_release(&text);
}

static void check_fleet(const struct fleet *f)
{
	size_t i;

	for (i = 0; i < f->ndevices; i++) {
		const struct fleet_device *dev = &f->devices[i];
		char *file = fg_asprintf("devices/%s.yaml", dev->id);

		if (!fleet_device_id_valid(dev->id))
			fuzz_fail("a valid fleet holds device id '%s'", dev->id);
		if (strcmp(dev->file, file))
			fuzz_fail("device %s comes from '%s'", dev->id, dev->file);
		if (i && strcmp(f->devices[i - 1].id, dev->id) >= 0)
			fuzz_fail("devices not sorted: '%s' then '%s'", f->devices[i - 1].id, dev->id);
		free(file);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *branches[] = { "main", "canary", "production", "develop" };
	static char *stages[] = { "main", "canary", "production" };
	struct fleet_load_options opts = {
		.check_branches = 1,
		.branches = branches,
		.nbranches = 4,
		.stages = stages,
		.nstages = 3,
	};
	struct source src;
	struct diags d;
	struct fleet *f = NULL;
	char **promotion = NULL;
	size_t npromotion = 0, i;
	int rc;

	mem_source_init(&src);
	diags_init(&d);
	split_input(&src, (const char *)data, size);
	rc = fleet_load(&f, &src, &opts, &d);
	if (rc || !f)
		fuzz_fail("fleet_load returned %d on a memory source", rc);
	for (i = 0; i < d.count; i++)
		check_diag(src.ctx, &d.items[i]);
	if (!d.errors)
		check_fleet(f);
	diags_sort(&d);
	check_report(&d);
	rc = fleet_read_promotion(&src, &promotion, &npromotion);
	if (rc == FG_EINVAL) {
		if (!d.errors || npromotion || promotion || !fg_error_message()[0])
			fuzz_fail("fleet_read_promotion refused a fleet that loads without errors, or kept stages");
	} else if (rc) {
		fuzz_fail("fleet_read_promotion returned %d on a memory source", rc);
	}
	fg_strings_free(promotion, npromotion);
	fleet_free(f);
	diags_release(&d);
	source_release(&src);
	return 0;
}
