#include "deploy/spool.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/fsutil.h"
#include "core/hmac.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_JOB_FILE 8192
#define MAX_JOB_LINE 4096   /* key=value, the line end not counted */
#define MAX_JOB_ERROR 2048  /* of the last error's text kept */

/* Take the spool's lock; returns the descriptor to release with unlock(). */
static int lock(const char *dir, int *fd)
{
	char *path = fg_asprintf("%s/.lock", dir);
	int rc = 0;

	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0 || flock(*fd, LOCK_EX)) {
		rc = fg_error_set(FG_EIO, "%s: %s", path, strerror(errno));
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
	free(path);
	return rc;
}

static void unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* *path: "<dir>/<blob id of the branch name>.job", malloc'd. */
static int job_path(const char *dir, const char *branch, char **path)
{
	char hex[HASH_BLOB_HEX_LEN + 1];
	int rc = hash_blob_hex(branch, strlen(branch), hex);

	*path = rc ? NULL : fg_asprintf("%s/%s.job", dir, hex);
	return rc;
}

/* One line, no control characters: safe to keep and to show. */
static void put_line(struct fg_buf *b, const char *key, const char *value)
{
	fg_buf_printf(b, "%s=", key);
	fg_buf_put_printable(b, value);
	fg_buf_putc(b, '\n');
}

static int write_job(const char *path, const struct spool_job *job)
{
	struct fg_buf b = FG_BUF_INIT;
	char *error = NULL;
	int rc;

	if (strlen(job->branch) > MAX_JOB_LINE - sizeof("branch="))
		return fg_error_set(FG_ELIMIT, "spool job %s: the branch name is %zu bytes, over the %zu-byte cap",
				    path, strlen(job->branch), MAX_JOB_LINE - sizeof("branch="));
	/* the last error is shown to people, not acted on: a long one is kept
	 * shortened, and says so */
	if (job->last_error && strlen(job->last_error) > MAX_JOB_ERROR)
		error = fg_asprintf("%.*s... (%zu bytes in all)", MAX_JOB_ERROR - 40, job->last_error,
				    strlen(job->last_error));
	fg_buf_init(&b);
	put_line(&b, "branch", job->branch);
	put_line(&b, "commit", job->commit);
	fg_buf_printf(&b, "queued=%lld\nattempts=%u\n", job->queued, job->attempts);
	if (job->last_error)
		put_line(&b, "error", error ? error : job->last_error);
	if (job->parked)
		fg_buf_puts(&b, "parked=1\n");
	rc = fs_write_atomic(path, b.ptr, b.len, 0600);
	fg_buf_release(&b);
	free(error);
	return rc;
}

static void job_release(struct spool_job *job)
{
	free(job->branch);
	free(job->last_error);
	memset(job, 0, sizeof(*job));
}

/* Parse a job file; FG_EINVAL when it is not one, FG_ELIMIT when the file
 * or a line of it is over its cap. */
static int read_job(const char *path, struct spool_job *job)
{
	char buf[MAX_JOB_FILE + 2], *line, *next;
	unsigned lineno = 0;
	ssize_t n;
	int fd, rc = 0;

	memset(job, 0, sizeof(*job));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fg_error_set(errno == ENOENT ? FG_ENOTFOUND : FG_EIO, "%s: %s", path,
				    strerror(errno));
	n = read(fd, buf, MAX_JOB_FILE + 1);
	close(fd);
	if (n < 0)
		return fg_error_set(FG_EIO, "%s: %s", path, strerror(errno));
	if (n > MAX_JOB_FILE)
		return fg_error_set(FG_ELIMIT, "spool job %s is larger than %d bytes", path, MAX_JOB_FILE);
	buf[n] = '\0';
	for (line = buf; !rc && *line; line = next) {
		char *eq, *nl = strchr(line, '\n');

		lineno++;
		next = nl ? nl + 1 : line + strlen(line);
		if (nl)
			*nl = '\0';
		if (strlen(line) > MAX_JOB_LINE) {
			rc = fg_error_set(FG_ELIMIT, "spool job %s, line %u: longer than %d bytes", path,
					  lineno, MAX_JOB_LINE);
			break;
		}
		eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq++ = '\0';
		if (!strcmp(line, "branch") && !job->branch)
			job->branch = fg_strdup(eq);
		else if (!strcmp(line, "commit") && strlen(eq) < sizeof(job->commit))
			memcpy(job->commit, eq, strlen(eq) + 1);
		else if (!strcmp(line, "queued"))
			job->queued = strtoll(eq, NULL, 10);
		else if (!strcmp(line, "attempts"))
			job->attempts = (unsigned)strtoul(eq, NULL, 10);
		else if (!strcmp(line, "error") && !job->last_error)
			job->last_error = fg_strdup(eq);
		else if (!strcmp(line, "parked"))
			job->parked = !strcmp(eq, "1");
	}
	if (!rc && (!job->branch || strlen(job->commit) != 40))
		rc = fg_error_set(FG_EINVAL, "%s: not a spool job", path);
	if (rc)
		job_release(job);
	return rc;
}

int spool_put(const char *gitdir, const char *branch, const char *commit)
{
	char *dir = fs_state_dir(gitdir, "spool"), *path = NULL;
	struct spool_job job = { 0 };
	int fd = -1, rc;

	rc = fs_mkdirs(dir, 0700);
	if (!rc)
		rc = lock(dir, &fd);
	if (rc)
		goto done;
	rc = job_path(dir, branch, &path);
	if (rc)
		goto done;
	job.branch = (char *)branch;
	snprintf(job.commit, sizeof(job.commit), "%s", commit);
	job.queued = (long long)time(NULL);
	rc = write_job(path, &job);
done:
	unlock(fd);
	free(path);
	free(dir);
	return rc;
}

static int job_cmp(const void *a, const void *b)
{
	const struct spool_job *x = a, *y = b;

	if (x->queued != y->queued)
		return x->queued > y->queued ? -1 : 1;
	return strcmp(x->branch, y->branch);
}

int spool_list(const char *gitdir, struct spool_job **jobs, size_t *count, size_t *broken)
{
	char *dir = fs_state_dir(gitdir, "spool");
	struct spool_job *out = NULL;
	size_t n = 0, alloc = 0, bad = 0;
	struct dirent *de;
	DIR *dh;

	*jobs = NULL;
	*count = 0;
	dh = opendir(dir);
	if (!dh) {
		int rc = errno == ENOENT ? 0 : fg_error_set(FG_EIO, "%s: %s", dir, strerror(errno));

		free(dir);
		if (broken)
			*broken = 0;
		return rc;
	}
	while ((de = readdir(dh))) {
		size_t len = strlen(de->d_name);
		char *path;

		if (len < 5 || strcmp(de->d_name + len - 4, ".job"))
			continue;
		path = fg_asprintf("%s/%s", dir, de->d_name);
		out = fg_grow(out, &alloc, n + 1, sizeof(*out));
		if (read_job(path, &out[n]) == 0)
			n++;
		else
			bad++;
		free(path);
	}
	closedir(dh);
	free(dir);
	if (n)
		qsort(out, n, sizeof(*out), job_cmp);
	*jobs = out;
	*count = n;
	if (broken)
		*broken = bad;
	return 0;
}

/* Under the lock: the job of `branch`, if it still names `commit`. */
static int update_job(const char *gitdir, const char *branch, const char *commit,
		      const char *error, int park, int *removed)
{
	char *dir = fs_state_dir(gitdir, "spool"), *path = NULL;
	struct spool_job job = { 0 };
	int fd = -1, rc;

	if (removed)
		*removed = 0;
	rc = fs_mkdirs(dir, 0700);
	if (!rc)
		rc = lock(dir, &fd);
	if (rc)
		goto done;
	rc = job_path(dir, branch, &path);
	if (!rc)
		rc = read_job(path, &job);
	if (rc == FG_ENOTFOUND) {
		rc = 0;
		goto done;
	}
	if (rc || strcmp(job.commit, commit))
		goto done;
	if (!error) {
		if (unlink(path))
			rc = fg_error_set(FG_EIO, "%s: %s", path, strerror(errno));
		else if (removed)
			*removed = 1;
		goto done;
	}
	if (park)
		job.parked = 1;
	else
		job.attempts++;
	free(job.last_error);
	job.last_error = fg_strdup(error);
	rc = write_job(path, &job);
done:
	job_release(&job);
	unlock(fd);
	free(path);
	free(dir);
	return rc;
}

int spool_done(const char *gitdir, const char *branch, const char *commit, int *removed)
{
	return update_job(gitdir, branch, commit, NULL, 0, removed);
}

int spool_failed(const char *gitdir, const char *branch, const char *commit, const char *error)
{
	return update_job(gitdir, branch, commit, error ? error : "unknown error", 0, NULL);
}

int spool_park(const char *gitdir, const char *branch, const char *commit, const char *reason)
{
	return update_job(gitdir, branch, commit, reason ? reason : "invalid fleet", 1, NULL);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int spool_lock_branch(const char *gitdir, const char *branch, int64_t deadline_ms, int *fd)
{
	char *dir = fs_state_dir(gitdir, "spool"), *path = NULL;
	char hex[41];
	int rc;

	*fd = -1;
	rc = fs_mkdirs(dir, 0700);
	if (rc)
		goto done;
	/* A dot file: the spool's listing takes only *.job. Lock files stay
	 * (removing one another process may hold would break the lock). */
	rc = hash_blob_hex(branch, strlen(branch), hex);
	if (rc)
		goto done;
	path = fg_asprintf("%s/.%s.lock", dir, hex);
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0) {
		rc = fg_error_set(FG_EIO, "%s: %s", path, strerror(errno));
		goto done;
	}
	for (;;) {
		const struct timespec pause = { 0, 50 * 1000000L };

		if (flock(*fd, deadline_ms ? LOCK_EX | LOCK_NB : LOCK_EX) == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			rc = fg_error_set(FG_EIO, "%s: %s", path, strerror(errno));
			break;
		}
		if (now_ms() >= deadline_ms) {
			rc = fg_error_set(FG_ETIMEOUT,
					  "another fleetgate run is scheduling '%s'; the spool keeps the job",
					  branch);
			break;
		}
		nanosleep(&pause, NULL);
	}
	if (rc) {
		close(*fd);
		*fd = -1;
	}
done:
	free(path);
	free(dir);
	return rc;
}

void spool_unlock_branch(int fd)
{
	if (fd >= 0)
		close(fd);
}

void spool_jobs_free(struct spool_job *jobs, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		job_release(&jobs[i]);
	free(jobs);
}

/* "<gitdir>/fleetgate/spool/.last-success-<run>": a dot file, which the
 * listing of jobs (*.job) never takes. */
static int success_path(const char *gitdir, const char *run, char **dir, char **path)
{
	*dir = NULL;
	*path = NULL;
	if (!*run || strspn(run, "abcdefghijklmnopqrstuvwxyz-") != strlen(run)) {
		fg_error_set(FG_EINVAL, "spool: '%s' is not the name of a run", run);
		return FG_EINVAL;
	}
	*dir = fs_state_dir(gitdir, "spool");
	*path = fg_asprintf("%s/.last-success-%s", *dir, run);
	return 0;
}

int spool_record_success(const char *gitdir, const char *run, long long when)
{
	char *dir, *path, line[32];
	int rc = success_path(gitdir, run, &dir, &path);

	if (!rc)
		rc = fs_mkdirs(dir, 0700);
	if (!rc) {
		snprintf(line, sizeof(line), "%lld\n", when);
		rc = fs_write_atomic(path, line, strlen(line), 0600);
	}
	free(path);
	free(dir);
	return rc;
}

int spool_last_success(const char *gitdir, const char *run, long long *when)
{
	char *dir, *path, buf[32], *end;
	ssize_t n;
	int fd = -1, rc;

	*when = 0;
	rc = success_path(gitdir, run, &dir, &path);
	if (rc)
		goto done;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT) /* never recorded: no time */
			rc = fg_error_set(FG_EIO, "%s: %s", path, strerror(errno));
		goto done;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		rc = fg_error_set(FG_EIO, "%s: %s", path, strerror(errno));
		goto done;
	}
	buf[n] = '\0';
	errno = 0;
	*when = strtoll(buf, &end, 10);
	if (end == buf || (*end && strcmp(end, "\n")) || errno || *when <= 0) {
		*when = 0;
		rc = fg_error_set(FG_EINVAL, "%s: not a time", path);
	}
done:
	if (fd >= 0)
		close(fd);
	free(path);
	free(dir);
	return rc;
}
