#ifndef FLEETGATE_SOURCE_H
#define FLEETGATE_SOURCE_H

#include <stddef.h>

/*
 * Where the fleet files are read from. The loader has one code path; a
 * source hides whether files come from a working-tree folder, git's index
 * (staged content) or a commit's tree read without a checkout.
 */

enum source_type {
	SOURCE_MISSING,
	SOURCE_FILE,
	SOURCE_DIR,
	SOURCE_SYMLINK,
	SOURCE_SUBMODULE,
	SOURCE_OTHER, /* fifo, device, ... */
};

struct source_entry {
	char *name; /* the entry's name inside its folder */
	enum source_type type;
};

struct source_ops {
	/* What `path` is ("fleet.yaml", "devices"); SOURCE_MISSING if absent. */
	int (*type)(void *ctx, const char *path, enum source_type *out);
	/* The entries of folder `dir`, sorted by name; the caller frees them
	 * with source_entries_free(). A missing folder gives zero entries. */
	int (*list)(void *ctx, const char *dir, struct source_entry **out, size_t *count);
	/* The bytes of regular file `path`. FG_ELIMIT when it holds more than
	 * `max` bytes. *data is malloc'd, NUL-terminated, owned by the caller. */
	int (*read)(void *ctx, const char *path, size_t max, char **data, size_t *len);
	void (*free)(void *ctx);
};

struct source {
	const struct source_ops *ops;
	void *ctx;
	char *label; /* for messages: "working tree /x", "index", "commit 1a2b3c4" */
};

/* A working-tree folder. `dir` is copied. */
int source_open_dir(struct source *out, const char *dir);

/* Free the source's context and label (the struct itself is the caller's). */
void source_release(struct source *src);

void source_entries_free(struct source_entry *entries, size_t count);

/* Sort entries by name (for sources that list in another order). */
void source_entries_sort(struct source_entry *entries, size_t count);

#endif
