#include "rules/handoff.h"

#include "core/alloc.h"
#include "core/error.h"
#include "core/fsutil.h"
#include "core/hmac.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STALE_SECONDS 3600

static long parent_of(long pid)
{
	char path[64], buf[512], *p;
	long ppid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	/* "pid (comm) state ppid ...": comm may hold spaces and parentheses. */
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		sscanf(p + 1, " %*c %ld", &ppid);
	fclose(f);
	return ppid;
}

static int runs_receive_pack(long pid)
{
	char path[64], buf[4096];
	size_t n, i;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	for (i = 0; i < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	buf[n] = '\0';
	return strstr(buf, "receive-pack") != NULL;
}

long handoff_push_id(void)
{
	long pid = getppid(), p;
	int depth;

	for (p = pid, depth = 0; p > 1 && depth < 8; p = parent_of(p), depth++)
		if (runs_receive_pack(p))
			return p;
	return pid;
}

int handoff_in_push(void)
{
	long p;
	int depth;

	for (p = getppid(), depth = 0; p > 1 && depth < 8; p = parent_of(p), depth++)
		if (runs_receive_pack(p))
			return 1;
	return 0;
}

static int verdict_path(const char *dir, long push, const char *ref, const char *old_id,
			const char *new_id, char **path)
{
	char *key = fg_asprintf("%ld %s %s %s", push, ref, old_id, new_id);
	char hex[HASH_BLOB_HEX_LEN + 1];
	int rc = hash_blob_hex(key, strlen(key), hex);

	*path = rc ? NULL : fg_asprintf("%s/%ld-%s", dir, push, hex);
	free(key);
	return rc;
}

static void remove_stale(const char *dir)
{
	DIR *dh = opendir(dir);
	struct dirent *de;
	time_t now = time(NULL);

	if (!dh)
		return;
	while ((de = readdir(dh))) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if (!fstatat(dirfd(dh), de->d_name, &st, 0) && now - st.st_mtime > STALE_SECONDS)
			unlinkat(dirfd(dh), de->d_name, 0);
	}
	closedir(dh);
}

int handoff_write(const char *gitdir, long push, const char *ref, const char *old_id,
		  const char *new_id, int accepted)
{
	char *dir = fs_state_dir(gitdir, "verdicts"), *path = NULL;
	const char *text = accepted ? "accept\n" : "reject\n";
	int rc;

	rc = fs_mkdirs(dir, 0700);
	if (!rc) {
		remove_stale(dir);
		rc = verdict_path(dir, push, ref, old_id, new_id, &path);
	}
	if (!rc)
		rc = fs_write_atomic(path, text, strlen(text), 0600);
	free(path);
	free(dir);
	return rc;
}

int handoff_take(const char *gitdir, long push, const char *ref, const char *old_id,
		 const char *new_id, int *found, int *accepted)
{
	char *dir = fs_state_dir(gitdir, "verdicts");
	char *path = NULL;
	char buf[16] = { 0 };
	int fd, rc;

	*found = 0;
	*accepted = 0;
	rc = verdict_path(dir, push, ref, old_id, new_id, &path);
	if (rc)
		goto done;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			rc = fg_error_set(FG_EIO, "%s: %s", path, strerror(errno));
		goto done;
	}
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		rc = fg_error_set(FG_EIO, "%s: %s", path, strerror(errno));
	close(fd);
	unlink(path);
	if (!rc) {
		*found = 1;
		*accepted = !strcmp(buf, "accept\n");
	}
done:
	free(path);
	free(dir);
	return rc;
}
