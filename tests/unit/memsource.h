/*
 * Test helper: a source (lib/fleet/source.h) over files held in memory, so the
 * loader and validator can be tested without a disk or a repository.
 * Header-only: each test program includes it once.
 */
#ifndef FLEETGATE_TEST_MEMSOURCE_H
#define FLEETGATE_TEST_MEMSOURCE_H

#include "core/alloc.h"
#include "core/error.h"
#include "fleet/source.h"

#include <stdlib.h>
#include <string.h>

struct mem_file {
	char *path;
	char *data;
	size_t len;
	enum source_type type;
};

struct mem_source {
	struct mem_file *files;
	size_t count;
};

static void mem_add(struct mem_source *m, const char *path, const char *data, size_t len,
		    enum source_type type)
{
	m->files = fg_realloc(m->files, (m->count + 1) * sizeof(*m->files));
	m->files[m->count].path = fg_strdup(path);
	m->files[m->count].data = fg_malloc(len + 1);
	memcpy(m->files[m->count].data, data, len);
	m->files[m->count].data[len] = '\0';
	m->files[m->count].len = len;
	m->files[m->count].type = type;
	m->count++;
}

static int mem_type(void *ctx, const char *path, enum source_type *out)
{
	struct mem_source *m = ctx;
	size_t i, n = strlen(path);

	*out = SOURCE_MISSING;
	for (i = 0; i < m->count; i++) {
		if (!strcmp(m->files[i].path, path)) {
			*out = m->files[i].type;
			return 0;
		}
		if (!strncmp(m->files[i].path, path, n) && m->files[i].path[n] == '/')
			*out = SOURCE_DIR;
	}
	return 0;
}

static int mem_list(void *ctx, const char *dir, struct source_entry **out, size_t *count)
{
	struct mem_source *m = ctx;
	struct source_entry *e = fg_calloc(m->count + 1, sizeof(*e));
	size_t i, j, n = 0, dlen = strlen(dir);

	for (i = 0; i < m->count; i++) {
		const char *p = m->files[i].path, *rest, *slash;
		size_t len;
		int dup = 0;

		if (dlen && (strncmp(p, dir, dlen) || p[dlen] != '/'))
			continue;
		rest = dlen ? p + dlen + 1 : p;
		slash = strchr(rest, '/');
		len = slash ? (size_t)(slash - rest) : strlen(rest);
		for (j = 0; j < n; j++)
			dup |= strlen(e[j].name) == len && !strncmp(e[j].name, rest, len);
		if (dup)
			continue;
		e[n].name = fg_strndup(rest, len);
		e[n].type = slash ? SOURCE_DIR : m->files[i].type;
		n++;
	}
	source_entries_sort(e, n);
	*out = e;
	*count = n;
	return 0;
}

static int mem_read(void *ctx, const char *path, size_t max, char **data, size_t *len)
{
	struct mem_source *m = ctx;
	size_t i;

	for (i = 0; i < m->count; i++) {
		if (strcmp(m->files[i].path, path))
			continue;
		if (m->files[i].len > max)
			return fg_error_set(FG_ELIMIT, "%s: too large", path);
		*data = fg_strndup(m->files[i].data, m->files[i].len);
		*len = m->files[i].len;
		return 0;
	}
	return fg_error_set(FG_ENOTFOUND, "%s: missing", path);
}

static void mem_free(void *ctx)
{
	struct mem_source *m = ctx;
	size_t i;

	for (i = 0; i < m->count; i++) {
		free(m->files[i].path);
		free(m->files[i].data);
	}
	free(m->files);
	free(m);
}

static const struct source_ops mem_ops = { mem_type, mem_list, mem_read, mem_free };

/* A new empty memory source; add files with mem_add(src->ctx, ...). */
static void mem_source_init(struct source *src)
{
	src->ops = &mem_ops;
	src->ctx = fg_calloc(1, sizeof(struct mem_source));
	src->label = fg_strdup("memory");
}

#endif
