#include "deploy/notify.h"

#include "core/alloc.h"
#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define KILL_GRACE_MS 500

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Variables the command never sees: fleetgate's credentials for Mender
 * and the values of the fleet's secrets. */
static int secret_variable(const char *entry)
{
	return !strncmp(entry, "MENDER_ACCESS_TOKEN=", 20) ||
	       !strncmp(entry, "MENDER_PASSWORD=", 16) || !strncmp(entry, "FLEETGATE_SECRET_", 17);
}

/* The caller's environment without secret_variable()s: an array of the
 * same strings (not copies), NULL-terminated; free() the array. */
static char **child_environment(void)
{
	size_t n = 0, k = 0, i;
	char **env;

	while (environ && environ[n])
		n++;
	env = fg_calloc(n + 1, sizeof(char *));
	for (i = 0; i < n; i++)
		if (!secret_variable(environ[i]))
			env[k++] = environ[i];
	return env;
}

struct child {
	pid_t pid;
	int in;  /* write end of its stdin, or -1 */
	int out; /* read end of its stdout and stderr, or -1 */
	const char *input;
	size_t input_len, written;
	size_t kept, dropped;
	struct fg_buf *log;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* A pipe whose ends are close-on-exec and above 2, so that the child's
 * dup2() onto 0, 1 and 2 never meets one of them there. */
static int make_pipe(int fds[2])
{
	int raw[2], i;

	if (pipe(raw))
		return -1;
	for (i = 0; i < 2; i++) {
		fds[i] = fcntl(raw[i], F_DUPFD_CLOEXEC, 3);
		close(raw[i]);
	}
	if (fds[0] >= 0 && fds[1] >= 0)
		return 0;
	close_fd(&fds[0]);
	close_fd(&fds[1]);
	return -1;
}

/* Fork and exec /bin/sh -c command, its stdin and output on pipes. The
 * caller has SIGPIPE blocked; the child gets `oldmask` back. */
static int child_start(struct child *c, const char *command, const sigset_t *oldmask)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	char **env = child_environment();
	char *argv[] = { "sh", "-c", (char *)command, NULL };
	int rc = 0;

	if (make_pipe(in) || make_pipe(out)) {
		rc = fg_error_set(FG_EIO, "notify command: pipe: %s", strerror(errno));
		goto done;
	}
	c->pid = fork();
	if (c->pid < 0) {
		rc = fg_error_set(FG_EIO, "notify command: fork: %s", strerror(errno));
		goto done;
	}
	if (c->pid == 0) {
		/* Only async-signal-safe calls until exec. */
		setpgid(0, 0);
		pthread_sigmask(SIG_SETMASK, oldmask, NULL);
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0)
			_exit(127);
		execve("/bin/sh", argv, env);
		_exit(127);
	}
	/* Also here: the group exists before the parent may signal it. */
	setpgid(c->pid, c->pid);
	c->in = in[1];
	c->out = out[0];
	in[1] = out[0] = -1;
	fcntl(c->in, F_SETFL, O_NONBLOCK);
	fcntl(c->out, F_SETFL, O_NONBLOCK);
done:
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&out[0]);
	close_fd(&out[1]);
	free(env);
	return rc;
}

/* Write what the pipe takes of the event. A command that does not read
 * its stdin is not an error: the rest is dropped. */
static void child_feed(struct child *c)
{
	while (c->in >= 0 && c->written < c->input_len) {
		ssize_t n = write(c->in, c->input + c->written, c->input_len - c->written);

		if (n > 0)
			c->written += (size_t)n;
		else if (n < 0 && errno == EINTR)
			continue;
		else if (n < 0 && errno == EAGAIN)
			return;
		else
			break; /* EPIPE: the command closed its stdin */
	}
	close_fd(&c->in);
}

/* Read what is there; closes c->out at end of file. */
static void child_drain(struct child *c)
{
	char buf[8192];

	while (c->out >= 0) {
		ssize_t n = read(c->out, buf, sizeof(buf));
		size_t keep;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close_fd(&c->out);
			return;
		}
		keep = c->kept < NOTIFY_MAX_OUTPUT ? NOTIFY_MAX_OUTPUT - c->kept : 0;
		if (keep > (size_t)n)
			keep = (size_t)n;
		if (keep && c->log)
			fg_buf_put(c->log, buf, keep);
		c->kept += keep;
		c->dropped += (size_t)n - keep;
	}
}

/* Whether the child has exited, without reaping it: until it is reaped
 * its pid, and so its process group, cannot be reused. */
static int child_exited(const struct child *c)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT))
		return errno != EINTR;
	return si.si_pid == c->pid;
}

/* Feed and drain until the child exits or the deadline; 1 when it exited. */
static int child_wait(struct child *c, int64_t deadline)
{
	for (;;) {
		struct pollfd fds[2];
		nfds_t n = 0;
		int64_t left = deadline - mono_ms();

		if (child_exited(c)) {
			child_drain(c);
			return 1;
		}
		if (left <= 0)
			return 0;
		if (c->out >= 0)
			fds[n++] = (struct pollfd){ c->out, POLLIN, 0 };
		if (c->in >= 0)
			fds[n++] = (struct pollfd){ c->in, POLLOUT, 0 };
		/* Slices: its exit is seen by waitid, not by a descriptor. */
		poll(fds, n, left < 20 ? (int)left : 20);
		child_feed(c);
		child_drain(c);
	}
}

/* Stop what is left of the group, reap the child, and judge its end. */
static int child_finish(struct child *c, int exited, int timeout_ms)
{
	int status = 0;

	if (!exited) {
		kill(-c->pid, SIGTERM);
		child_wait(c, mono_ms() + KILL_GRACE_MS);
	}
	kill(-c->pid, SIGKILL);
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	child_drain(c);
	close_fd(&c->in);
	close_fd(&c->out);
	if (c->dropped && c->log)
		fg_buf_printf(c->log, "\n[notify: %zu more bytes of output not kept]\n", c->dropped);
	if (!exited)
		return fg_error_set(FG_ETIMEOUT,
				    "notify command did not finish within %d ms: stopped",
				    timeout_ms);
	if (WIFSIGNALED(status))
		return fg_error_set(FG_ERROR, "notify command was killed by signal %d (%s)",
				    WTERMSIG(status), strsignal(WTERMSIG(status)));
	if (WIFEXITED(status) && WEXITSTATUS(status))
		return fg_error_set(FG_ERROR, "notify command exited with status %d",
				    WEXITSTATUS(status));
	return 0;
}

/* Take a SIGPIPE our writes raised while it was blocked, so that it does
 * not arrive once the caller's mask is back. */
static void discard_sigpipe(const sigset_t *pipe_only)
{
	const struct timespec zero = { 0, 0 };
	sigset_t pending;

	sigpending(&pending);
	if (sigismember(&pending, SIGPIPE))
		sigtimedwait(pipe_only, NULL, &zero);
}

int notify_run(const char *command, const char *event_json, int timeout_ms, struct fg_buf *log)
{
	struct child c = { -1, -1, -1, event_json, strlen(event_json), 0, 0, 0, log };
	sigset_t pipe_only, oldmask;
	int rc, was_pending;

	if (!command || !*command || timeout_ms <= 0)
		return fg_error_set(FG_EINVAL, "notify command: no command or no time to run it");
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	{
		sigset_t pending;

		sigpending(&pending);
		was_pending = sigismember(&pending, SIGPIPE);
	}
	pthread_sigmask(SIG_BLOCK, &pipe_only, &oldmask);
	rc = child_start(&c, command, &oldmask);
	if (!rc)
		rc = child_finish(&c, child_wait(&c, mono_ms() + timeout_ms), timeout_ms);
	if (!was_pending)
		discard_sigpipe(&pipe_only);
	pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
	return rc;
}

static void put_nullable(struct fg_buf *out, const char *key, const char *value)
{
	fg_buf_printf(out, ",\"%s\":", key);
	if (value)
		fg_buf_put_json_string(out, value);
	else
		fg_buf_puts(out, "null");
}

void notify_event_json(struct fg_buf *out, const struct notify_event *e)
{
	char stamp[32];
	struct tm tm;
	size_t i;

	fg_buf_puts(out, "{\"event\":");
	fg_buf_put_json_string(out, e->event);
	put_nullable(out, "stage", e->stage);
	put_nullable(out, "tree", e->tree);
	put_nullable(out, "commit", e->commit);
	put_nullable(out, "verdict", e->verdict);
	put_nullable(out, "previous", e->previous);
	fg_buf_puts(out, ",\"counts\":{");
	for (i = 0; i < e->ncounts; i++) {
		if (i)
			fg_buf_putc(out, ',');
		fg_buf_put_json_string(out, e->counts[i].state);
		fg_buf_printf(out, ":%zu", e->counts[i].n);
	}
	fg_buf_puts(out, "},\"failing\":[");
	for (i = 0; i < e->nfailing; i++) {
		fg_buf_puts(out, i ? ",{\"device\":" : "{\"device\":");
		fg_buf_put_json_string(out, e->failing[i].device);
		fg_buf_puts(out, ",\"state\":");
		fg_buf_put_json_string(out, e->failing[i].state);
		fg_buf_putc(out, '}');
	}
	fg_buf_putc(out, ']');
	put_nullable(out, "reason", e->reason);
	gmtime_r(&e->time, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fg_buf_printf(out, ",\"time\":\"%s\"}\n", stamp);
}
