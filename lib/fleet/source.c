#include "fleet/source.h"

#include "core/alloc.h"
#include "core/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct dir_source {
	char *root;
};

static char *join(const char *root, const char *path)
{
	return path[0] ? fg_asprintf("%s/%s", root, path) : fg_strdup(root);
}

static enum source_type mode_type(mode_t mode)
{
	if (S_ISREG(mode))
		return SOURCE_FILE;
	if (S_ISDIR(mode))
		return SOURCE_DIR;
	if (S_ISLNK(mode))
		return SOURCE_SYMLINK;
	return SOURCE_OTHER;
}

static int dir_type(void *ctx, const char *path, enum source_type *out)
{
	struct dir_source *d = ctx;
	char *full = join(d->root, path);
	struct stat st;
	int rc = 0;

	if (lstat(full, &st) == 0)
		*out = mode_type(st.st_mode);
	else if (errno == ENOENT || errno == ENOTDIR)
		*out = SOURCE_MISSING;
	else
		rc = fg_error_set(FG_EIO, "%s: %s", full, strerror(errno));
	free(full);
	return rc;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct source_entry *)a)->name, ((const struct source_entry *)b)->name);
}

void source_entries_sort(struct source_entry *entries, size_t count)
{
	if (count)
		qsort(entries, count, sizeof(*entries), entry_cmp);
}

static int dir_list(void *ctx, const char *dir, struct source_entry **out, size_t *count)
{
	struct dir_source *d = ctx;
	char *full = join(d->root, dir);
	struct source_entry *entries = NULL;
	size_t n = 0, alloc = 0;
	struct dirent *de;
	DIR *dh;
	int rc = 0;

	*out = NULL;
	*count = 0;
	dh = opendir(full);
	if (!dh) {
		if (errno != ENOENT && errno != ENOTDIR)
			rc = fg_error_set(FG_EIO, "%s: %s", full, strerror(errno));
		goto done;
	}
	while ((de = readdir(dh))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(dh), de->d_name, &st, AT_SYMLINK_NOFOLLOW)) {
			rc = fg_error_set(FG_EIO, "%s/%s: %s", full, de->d_name, strerror(errno));
			break;
		}
		entries = fg_grow(entries, &alloc, n + 1, sizeof(*entries));
		entries[n].name = fg_strdup(de->d_name);
		entries[n].type = mode_type(st.st_mode);
		n++;
	}
	closedir(dh);
	if (rc) {
		source_entries_free(entries, n);
		goto done;
	}
	source_entries_sort(entries, n);
	*out = entries;
	*count = n;
done:
	free(full);
	return rc;
}

static int dir_read(void *ctx, const char *path, size_t max, char **data, size_t *len)
{
	struct dir_source *d = ctx;
	char *full = join(d->root, path);
	char *buf = NULL;
	size_t n = 0;
	struct stat st;
	int fd, rc = 0;

	*data = NULL;
	*len = 0;
	fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		rc = fg_error_set(errno == ENOENT ? FG_ENOTFOUND : FG_EIO, "%s: %s", full,
				  strerror(errno));
		goto done;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		rc = fg_error_set(FG_EIO, "%s: not a regular file", full);
		goto done;
	}
	/* Read up to max + 1 bytes whatever st_size says: the file may grow. */
	buf = fg_malloc(max + 2);
	while (n <= max) {
		ssize_t r = read(fd, buf + n, max + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = fg_error_set(FG_EIO, "%s: %s", full, strerror(errno));
			goto done;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		rc = fg_error_set(FG_ELIMIT, "%s: larger than %zu bytes", full, max);
		goto done;
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	buf = NULL;
done:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(full);
	return rc;
}

static void dir_free(void *ctx)
{
	struct dir_source *d = ctx;

	free(d->root);
	free(d);
}

static const struct source_ops dir_ops = {
	.type = dir_type,
	.list = dir_list,
	.read = dir_read,
	.free = dir_free,
};

int source_open_dir(struct source *out, const char *dir)
{
	struct dir_source *d;
	struct stat st;

	memset(out, 0, sizeof(*out));
	if (stat(dir, &st))
		return fg_error_set(errno == ENOENT ? FG_ENOTFOUND : FG_EIO, "%s: %s", dir,
				    strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fg_error_set(FG_EINVAL, "%s: not a folder", dir);
	d = fg_calloc(1, sizeof(*d));
	d->root = fg_strdup(dir);
	out->ops = &dir_ops;
	out->ctx = d;
	out->label = fg_asprintf("folder %s", dir);
	return 0;
}

void source_release(struct source *src)
{
	if (src->ops && src->ops->free)
		src->ops->free(src->ctx);
	free(src->label);
	memset(src, 0, sizeof(*src));
}

void source_entries_free(struct source_entry *entries, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		free(entries[i].name);
	free(entries);
}
