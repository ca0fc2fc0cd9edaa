/* The spool: durable jobs, newest commit per branch, never losing a push. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/hmac.h"
#include "git/repo.h"
#include "deploy/spool.h"

#define C1 "1111111111111111111111111111111111111111"
#define C2 "2222222222222222222222222222222222222222"
#define C3 "3333333333333333333333333333333333333333"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/fleetgate-spool.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void test_put_replace_done(void **state)
{
	struct spool_job *jobs;
	size_t n, broken;
	int removed;

	(void)state;
	assert_int_equal(spool_put(dir, "canary", C1), 0);
	assert_int_equal(spool_put(dir, "feature/x", C3), 0);
	assert_int_equal(spool_put(dir, "canary", C2), 0); /* a newer push */
	assert_int_equal(spool_list(dir, &jobs, &n, &broken), 0);
	assert_int_equal(n, 2);
	assert_int_equal(broken, 0);
	spool_jobs_free(jobs, n);
	/* The hook that scheduled C1 finishes: C2 must stay. */
	assert_int_equal(spool_done(dir, "canary", C1, &removed), 0);
	assert_false(removed);
	assert_int_equal(spool_done(dir, "canary", C2, &removed), 0);
	assert_true(removed);
	assert_int_equal(spool_list(dir, &jobs, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_string_equal(jobs[0].branch, "feature/x");
	assert_string_equal(jobs[0].commit, C3);
	assert_int_equal(jobs[0].attempts, 0);
	assert_null(jobs[0].last_error);
	spool_jobs_free(jobs, n);
}

static void test_failed_attempts(void **state)
{
	struct spool_job *jobs;
	size_t n;

	(void)state;
	assert_int_equal(spool_put(dir, "production", C1), 0);
	assert_int_equal(spool_failed(dir, "production", C1, "Mender unreachable:\nconnection refused"), 0);
	assert_int_equal(spool_failed(dir, "production", C1, "HTTP 503"), 0);
	assert_int_equal(spool_failed(dir, "production", C2, "stale attempt"), 0); /* ignored */
	assert_int_equal(spool_list(dir, &jobs, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(jobs[0].attempts, 2);
	assert_string_equal(jobs[0].last_error, "HTTP 503");
	spool_jobs_free(jobs, n);
}

static void test_empty_and_broken(void **state)
{
	struct spool_job *jobs;
	size_t n, broken;
	char path[128];
	FILE *f;

	(void)state;
	assert_int_equal(spool_list(dir, &jobs, &n, &broken), 0);
	assert_int_equal(n, 0);
	free(jobs);
	assert_int_equal(spool_put(dir, "main", C1), 0);
	snprintf(path, sizeof(path), "%s/fleetgate/spool/garbage.job", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("not a job\n", f);
	fclose(f);
	assert_int_equal(spool_list(dir, &jobs, &n, &broken), 0);
	assert_int_equal(n, 1);
	assert_int_equal(broken, 1);
	spool_jobs_free(jobs, n);
}

/* Over a cap is an error naming the file and line, never a silent cut; a
 * long last error (shown, not acted on) is kept shortened, saying so. */
static void test_line_caps(void **state)
{
	struct spool_job *jobs;
	size_t n, broken;
	char *branch = malloc(5001), *error = malloc(10001), hex[41], *path;
	FILE *f;
	int removed;

	(void)state;
	memset(branch, 'b', 5000);
	branch[5000] = '\0';
	assert_int_equal(spool_put(dir, branch, C1), FG_ELIMIT);
	assert_non_null(strstr(fg_error_message(), ": the branch name is 5000 bytes, over the 4088-byte cap"));

	memset(error, 'e', 10000);
	error[10000] = '\0';
	assert_int_equal(spool_put(dir, "canary", C1), 0);
	assert_int_equal(spool_failed(dir, "canary", C1, error), 0);
	assert_int_equal(spool_list(dir, &jobs, &n, &broken), 0);
	assert_int_equal(n, 1);
	assert_int_equal(broken, 0);
	assert_int_equal(strlen(jobs[0].last_error), 2008 + strlen("... (10000 bytes in all)"));
	assert_string_equal(jobs[0].last_error + 2008, "... (10000 bytes in all)");
	spool_jobs_free(jobs, n);

	/* a job file with a line over the cap, written by someone else */
	repo_hash_hex("canary", 6, hex);
	path = fg_asprintf("%s/fleetgate/spool/%s.job", dir, hex);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "branch=canary\ncommit=%s\nerror=%.4200s\n", C1, error);
	fclose(f);
	assert_int_equal(spool_done(dir, "canary", C1, &removed), FG_ELIMIT);
	assert_false(removed);
	assert_non_null(strstr(fg_error_message(), ".job, line 3: longer than 4096 bytes"));
	assert_int_equal(spool_list(dir, &jobs, &n, &broken), 0);
	assert_int_equal(n, 0);
	assert_int_equal(broken, 1);
	spool_jobs_free(jobs, n);
	free(path);
	free(branch);
	free(error);
}

/* Spool and verdict files keep the names they had when libgit2 hashed
 * them: git's blob id of the name (git hash-object gives the same). */
static void test_file_names_are_blob_ids(void **state)
{
	static const char big[] = "refs/heads/a-branch-name-of-some-length/with/levels";
	char hex[HASH_BLOB_HEX_LEN + 1], git[41];

	(void)state;
	assert_int_equal(hash_blob_hex("", 0, hex), 0);
	assert_string_equal(hex, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
	assert_int_equal(hash_blob_hex("canary", 6, hex), 0);
	repo_hash_hex("canary", 6, git);
	assert_string_equal(hex, git);
	assert_int_equal(hash_blob_hex(big, sizeof(big), hex), 0);
	repo_hash_hex(big, sizeof(big), git);
	assert_string_equal(hex, git);
}

/* The dead-man signal: the last run that scheduled everything. */
static void test_last_success(void **state)
{
	struct spool_job *jobs;
	long long when = 42;
	size_t n, broken;
	char path[128];
	FILE *f;

	(void)state;
	assert_int_equal(spool_last_success(dir, "reconcile", &when), 0);
	assert_int_equal(when, 0); /* never */
	assert_int_equal(spool_record_success(dir, "reconcile", 1764671400), 0);
	assert_int_equal(spool_record_success(dir, "post-receive", 1764671000), 0);
	assert_int_equal(spool_record_success(dir, "reconcile", 1764671460), 0);
	assert_int_equal(spool_last_success(dir, "reconcile", &when), 0);
	assert_int_equal(when, 1764671460);
	assert_int_equal(spool_last_success(dir, "post-receive", &when), 0);
	assert_int_equal(when, 1764671000);
	/* not jobs */
	assert_int_equal(spool_list(dir, &jobs, &n, &broken), 0);
	assert_int_equal(n, 0);
	assert_int_equal(broken, 0);
	/* a run's name never reaches a path it should not */
	assert_int_equal(spool_record_success(dir, "../x", 1), FG_EINVAL);
	assert_string_equal(fg_error_message(), "spool: '../x' is not the name of a run");
	assert_int_equal(spool_last_success(dir, "", &when), FG_EINVAL);
	/* a file that is not a time */
	snprintf(path, sizeof(path), "%s/fleetgate/spool/.last-success-reconcile", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("12x\n", f);
	fclose(f);
	assert_int_equal(spool_last_success(dir, "reconcile", &when), FG_EINVAL);
	assert_int_equal(when, 0);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_replace_done, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_attempts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_and_broken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_line_caps, setup, teardown),
		cmocka_unit_test(test_file_names_are_blob_ids),
		cmocka_unit_test_setup_teardown(test_last_success, setup, teardown),
	};
	int failed;

	repo_global_init();
	failed = cmocka_run_group_tests_name("spool", tests, NULL, NULL);
	repo_global_shutdown();
	return failed;
}
