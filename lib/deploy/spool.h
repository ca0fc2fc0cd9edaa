#ifndef FLEETGATE_SPOOL_H
#define FLEETGATE_SPOOL_H

#include <stddef.h>
#include <stdint.h>

/*
 * The spool: jobs (branch, commit) waiting to be scheduled in Mender, kept
 * in $GIT_DIR/fleetgate/spool/ of the bare repository so that nothing is
 * lost when Mender is down or a hook is killed. One file a branch: a newer
 * commit replaces an older one (its desired state supersedes it). A job is
 * removed only when fully scheduled, and only if it still names the commit
 * that was scheduled, so a push that lands meanwhile is never lost.
 * Changes are atomic (temporary file + rename) under a lock.
 * Secrets never reach the spool: it holds branch, commit, times, counts
 * and the last error message.
 */

struct spool_job {
	char *branch;
	char commit[41];
	long long queued;   /* unix time the commit was spooled */
	unsigned attempts;  /* failed attempts so far */
	char *last_error;   /* or NULL */
	int parked;         /* can never be scheduled at this commit (its fleet
			     * is invalid): kept to be shown, not retried */
};

/* Queue `commit` for `branch` (replacing an older job for the branch). */
int spool_put(const char *gitdir, const char *branch, const char *commit);

/* Every job, newest first. Free with spool_jobs_free(). Files that cannot
 * be read are skipped and counted in *broken (may be NULL). */
int spool_list(const char *gitdir, struct spool_job **jobs, size_t *count, size_t *broken);

/* The job of `branch` is fully scheduled: remove it if it still names
 * `commit`. *removed (may be NULL) tells whether it was. */
int spool_done(const char *gitdir, const char *branch, const char *commit, int *removed);

/* An attempt failed: count it and keep `error` (one line) with the job. */
int spool_failed(const char *gitdir, const char *branch, const char *commit, const char *error);

/* The job of `branch` at `commit` can never be scheduled (the fleet at the
 * commit is invalid): keep it, marked parked with `reason`, so that later
 * runs skip it. A newer commit (spool_put) makes a new job. */
int spool_park(const char *gitdir, const char *branch, const char *commit, const char *reason);

void spool_jobs_free(struct spool_job *jobs, size_t count);

/*
 * The dead-man signal of monitoring (docs/monitoring.md): a run of `run`
 * ("reconcile" or "post-receive": [a-z-]+) scheduled everything it had, at
 * unix time `when`. Kept in $GIT_DIR/fleetgate/spool/.last-success-<run>,
 * written atomically; later runs overwrite it.
 */
int spool_record_success(const char *gitdir, const char *run, long long when);

/* The time spool_record_success() last recorded for `run`; *when is 0
 * when it never did. FG_EIO when the file cannot be read, FG_EINVAL when
 * it does not hold a time. */
int spool_last_success(const char *gitdir, const char *run, long long *when);

/*
 * One branch is scheduled by one process at a time (two quick pushes, the
 * reconcile timer while a hook runs): take the branch's lock, an flock on
 * a file of the spool folder held from planning to the end of applying.
 * Waits until `deadline_ms` (fg_http_now_ms()'s monotonic clock; 0: as long
 * as it takes). FG_ETIMEOUT when another run still holds it then: the job
 * stays in the spool. *fd is released with spool_unlock_branch(), or by the
 * process's end, however it ends.
 */
int spool_lock_branch(const char *gitdir, const char *branch, int64_t deadline_ms, int *fd);
void spool_unlock_branch(int fd);

#endif
