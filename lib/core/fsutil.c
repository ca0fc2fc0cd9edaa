#include "core/fsutil.h"

#include "core/alloc.h"
#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_mkdirs(const char *dir, mode_t mode)
{
	char *parent = fg_strdup(dir), *slash = strrchr(parent, '/');
	int rc = 0;

	if (slash && slash != parent) {
		*slash = '\0';
		if (mkdir(parent, mode) && errno != EEXIST)
			rc = fg_error_set(FG_EIO, "%s: %s", parent, strerror(errno));
	}
	if (!rc && mkdir(dir, mode) && errno != EEXIST)
		rc = fg_error_set(FG_EIO, "%s: %s", dir, strerror(errno));
	free(parent);
	return rc;
}

int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char *tmp = fg_asprintf("%s.fleetgate-tmp", path);
	int fd, rc = 0;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		/* ENOENT: the folder of both is missing, so name the file
		 * the caller asked for; else what stands in the way. */
		rc = fg_error_set(FG_EIO, "%s: %s", errno == ENOENT ? path : tmp, strerror(errno));
		goto done;
	}
	if (write(fd, data, len) != (ssize_t)len || fchmod(fd, mode) || fsync(fd)) {
		rc = fg_error_set(FG_EIO, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto done;
	}
	close(fd);
	if (rename(tmp, path)) {
		rc = fg_error_set(FG_EIO, "%s: %s", path, strerror(errno));
		unlink(tmp);
	}
done:
	free(tmp);
	return rc;
}

char *fs_state_dir(const char *gitdir, const char *sub)
{
	size_t n = strlen(gitdir);

	return fg_asprintf("%s%sfleetgate/%s", gitdir, n && gitdir[n - 1] == '/' ? "" : "/", sub);
}
