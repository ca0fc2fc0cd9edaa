/* notify_run: the fleetgate.notifyCommand runner, bounded in time and
 * output; notify_event_json: the event it reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/error.h"
#include "deploy/notify.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_stdin_and_output(void **state)
{
	struct fg_buf log = FG_BUF_INIT;

	(void)state;
	fg_buf_init(&log);
	assert_int_equal(notify_run("cat; echo to stderr >&2", "{\"event\":\"verified\"}\n", 5000, &log), 0);
	assert_string_equal(log.ptr, "{\"event\":\"verified\"}\nto stderr\n");
	fg_buf_release(&log);
	/* no log wanted */
	assert_int_equal(notify_run("cat", "x", 5000, NULL), 0);
}

static void test_exit_status(void **state)
{
	struct fg_buf log = FG_BUF_INIT;

	(void)state;
	fg_buf_init(&log);
	assert_int_equal(notify_run("echo refused; exit 3", "{}", 5000, &log), FG_ERROR);
	assert_string_equal(fg_error_message(), "notify command exited with status 3");
	assert_string_equal(log.ptr, "refused\n");
	assert_int_equal(notify_run("/nonexistent/notify", "{}", 5000, NULL), FG_ERROR);
	assert_string_equal(fg_error_message(), "notify command exited with status 127");
	fg_buf_release(&log);
}

static void test_signal(void **state)
{
	(void)state;
	assert_int_equal(notify_run("kill -KILL $$", "{}", 5000, NULL), FG_ERROR);
	assert_string_equal(fg_error_message(), "notify command was killed by signal 9 (Killed)");
	assert_int_equal(notify_run("kill -SEGV $$", "{}", 5000, NULL), FG_ERROR);
	assert_string_equal(fg_error_message(),
			    "notify command was killed by signal 11 (Segmentation fault)");
}

static void test_timeout(void **state)
{
	struct fg_buf log = FG_BUF_INIT;
	double t0 = now_s();

	(void)state;
	fg_buf_init(&log);
	assert_int_equal(notify_run("echo started; sleep 20", "{}", 300, &log), FG_ETIMEOUT);
	assert_string_equal(fg_error_message(), "notify command did not finish within 300 ms: stopped");
	assert_string_equal(log.ptr, "started\n");
	assert_true(now_s() - t0 < 2.0);
	/* One that ignores SIGTERM is killed 500 ms later. */
	t0 = now_s();
	assert_int_equal(notify_run("trap '' TERM; sleep 20; sleep 20", "{}", 300, NULL), FG_ETIMEOUT);
	assert_true(now_s() - t0 < 3.0);
	/* Exited after SIGTERM: still out of time, not a success. */
	assert_int_equal(notify_run("trap 'exit 0' TERM; while :; do sleep 0.05; done", "{}", 300, NULL),
			 FG_ETIMEOUT);
	fg_buf_release(&log);
}

static void test_huge_output(void **state)
{
	struct fg_buf log = FG_BUF_INIT;
	char note[96];

	(void)state;
	fg_buf_init(&log);
	assert_int_equal(notify_run("head -c 1000000 /dev/zero | tr '\\0' x", "{}", 10000, &log), 0);
	snprintf(note, sizeof(note), "\n[notify: %d more bytes of output not kept]\n",
		 1000000 - NOTIFY_MAX_OUTPUT);
	assert_int_equal(log.len, NOTIFY_MAX_OUTPUT + strlen(note));
	assert_string_equal(log.ptr + NOTIFY_MAX_OUTPUT, note);
	assert_int_equal(log.ptr[NOTIFY_MAX_OUTPUT - 1], 'x');
	fg_buf_release(&log);
}

/* An event larger than a pipe holds, to a command that reads it all and
 * to one that reads none of it: no SIGPIPE reaches the caller. */
static void test_huge_input(void **state)
{
	size_t n = 4 * 1024 * 1024;
	char *big = malloc(n + 1);
	struct fg_buf log = FG_BUF_INIT;

	(void)state;
	memset(big, 'e', n);
	big[n] = '\0';
	fg_buf_init(&log);
	assert_int_equal(notify_run("wc -c", big, 10000, &log), 0);
	assert_int_equal(atol(log.ptr), (long)n);
	assert_int_equal(notify_run("exec 0<&-; echo not reading", big, 10000, NULL), 0);
	assert_int_equal(notify_run("true", big, 10000, NULL), 0);
	fg_buf_release(&log);
	free(big);
}

/* What the command leaves running when it exits is stopped with it. */
static void test_leftovers_stopped(void **state)
{
	struct fg_buf log = FG_BUF_INIT;
	char path[64], stat[256];
	double t0 = now_s();
	long pid;
	FILE *f;
	int gone = 0, i;

	(void)state;
	fg_buf_init(&log);
	assert_int_equal(notify_run("sleep 30 >/dev/null 2>&1 & echo $!", "{}", 5000, &log), 0);
	assert_true(now_s() - t0 < 2.0);
	pid = atol(log.ptr);
	assert_true(pid > 1);
	/* Gone, or a zombie waiting for init to reap it. */
	for (i = 0; i < 100 && !gone; i++) {
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		f = fopen(path, "r");
		if (!f) {
			gone = 1;
			break;
		}
		if (fgets(stat, sizeof(stat), f) && strstr(stat, ") Z "))
			gone = 1;
		fclose(f);
		usleep(10000);
	}
	assert_true(gone);
	fg_buf_release(&log);
}

static void test_environment(void **state)
{
	struct fg_buf log = FG_BUF_INIT;

	(void)state;
	setenv("MENDER_ACCESS_TOKEN", "pat-secret", 1);
	setenv("MENDER_PASSWORD", "pw-secret", 1);
	setenv("FLEETGATE_SECRET_WIFI", "wifi-secret", 1);
	setenv("GITLAB_TOKEN", "glpat-for-the-command", 1);
	setenv("MENDER_SERVER", "https://mender.example", 1);
	fg_buf_init(&log);
	assert_int_equal(notify_run("env | sort", "{}", 5000, &log), 0);
	assert_null(strstr(log.ptr, "secret"));
	assert_null(strstr(log.ptr, "MENDER_ACCESS_TOKEN"));
	assert_null(strstr(log.ptr, "FLEETGATE_SECRET_"));
	assert_non_null(strstr(log.ptr, "\nGITLAB_TOKEN=glpat-for-the-command\n"));
	assert_non_null(strstr(log.ptr, "\nMENDER_SERVER=https://mender.example\n"));
	/* the caller's own environment is untouched */
	assert_string_equal(getenv("MENDER_ACCESS_TOKEN"), "pat-secret");
	unsetenv("MENDER_ACCESS_TOKEN");
	unsetenv("MENDER_PASSWORD");
	unsetenv("FLEETGATE_SECRET_WIFI");
	unsetenv("GITLAB_TOKEN");
	unsetenv("MENDER_SERVER");
	fg_buf_release(&log);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	assert_int_equal(notify_run("", "{}", 5000, NULL), FG_EINVAL);
	assert_int_equal(notify_run(NULL, "{}", 5000, NULL), FG_EINVAL);
	assert_int_equal(notify_run("true", "{}", 0, NULL), FG_EINVAL);
	assert_string_equal(fg_error_message(), "notify command: no command or no time to run it");
}

static void test_event_json(void **state)
{
	const struct notify_count counts[] = { { "success", 2 }, { "failure", 1 } };
	const struct notify_device failing[] = { { "0b6c0000-0000-4000-8000-000000000003", "failure" } };
	struct notify_event e = { "failed", "canary", "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
				  "1111111111111111111111111111111111111111", "failed", "pending",
				  counts, 2, failing, 1, "1 failed, \"max 0\"", 1764671400 };
	struct fg_buf b = FG_BUF_INIT;

	(void)state;
	fg_buf_init(&b);
	notify_event_json(&b, &e);
	assert_string_equal(b.ptr,
			    "{\"event\":\"failed\",\"stage\":\"canary\",\"tree\":\"4b825dc642cb6eb9a060e54bf8d69288fbee4904\","
			    "\"commit\":\"1111111111111111111111111111111111111111\",\"verdict\":\"failed\","
			    "\"previous\":\"pending\",\"counts\":{\"success\":2,\"failure\":1},"
			    "\"failing\":[{\"device\":\"0b6c0000-0000-4000-8000-000000000003\",\"state\":\"failure\"}],"
			    "\"reason\":\"1 failed, \\\"max 0\\\"\",\"time\":\"2025-12-02T10:30:00Z\"}\n");
	fg_buf_reset(&b);
	memset(&e, 0, sizeof(e));
	e.event = "pending";
	notify_event_json(&b, &e);
	assert_string_equal(b.ptr,
			    "{\"event\":\"pending\",\"stage\":null,\"tree\":null,\"commit\":null,\"verdict\":null,"
			    "\"previous\":null,\"counts\":{},\"failing\":[],\"reason\":null,"
			    "\"time\":\"1970-01-01T00:00:00Z\"}\n");
	fg_buf_release(&b);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stdin_and_output),
		cmocka_unit_test(test_exit_status),
		cmocka_unit_test(test_signal),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_huge_output),
		cmocka_unit_test(test_huge_input),
		cmocka_unit_test(test_leftovers_stopped),
		cmocka_unit_test(test_environment),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_event_json),
	};

	return cmocka_run_group_tests_name("notify", tests, NULL, NULL);
}
