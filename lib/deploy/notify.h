#ifndef FLEETGATE_NOTIFY_H
#define FLEETGATE_NOTIFY_H

#include <stddef.h>
#include <time.h>

#include "core/buf.h"

/*
 * Events for the people and tools around a fleet (docs/monitoring.md): on
 * every verdict transition of a stage (pending -> verified, -> failed,
 * verified -> revoked, an override) fleetgate runs the command named by
 * git config fleetgate.notifyCommand with one JSON object on its stdin.
 * The command comes from the server's settings only, never from pushed
 * content: anyone who can push a branch would otherwise run code on the
 * git server. Its failure is the caller's to log; it never blocks
 * scheduling.
 */

/* The longest a command's output (stdout and stderr together) is kept;
 * what comes after is read and dropped, and the log says how much. */
#define NOTIFY_MAX_OUTPUT (64 * 1024)
/* How long the command may take, in milliseconds. */
#define NOTIFY_DEFAULT_TIMEOUT_MS 10000

/*
 * Run `/bin/sh -c command` with `event_json` on its stdin, in its own
 * process group, for at most `timeout_ms` (> 0). Its stdout and stderr
 * are appended to `log` (may be NULL), NOTIFY_MAX_OUTPUT bytes at most,
 * followed by "[notify: N more bytes of output not kept]" when there was
 * more. Processes the command leaves running once it exits, or all of
 * them when the time is up (SIGTERM, then SIGKILL 500 ms later), are
 * stopped: the process group is signalled, nothing else.
 *
 * Its environment is the caller's, without fleetgate's own secrets:
 * MENDER_ACCESS_TOKEN, MENDER_PASSWORD and FLEETGATE_SECRET_* are removed
 * (the command has no business with Mender or the devices' secrets; its own
 * tokens, GITLAB_TOKEN for instance, reach it as the server's environment
 * holds them).
 *
 * Returns 0 when the command exited with status 0; FG_ERROR when it exited
 * with another status or was killed by a signal, FG_ETIMEOUT when it was
 * stopped for want of time, FG_EIO when it could not be started, each
 * with a message that never quotes the command (it may hold a token).
 */
int notify_run(const char *command, const char *event_json, int timeout_ms, struct fg_buf *log);

/* A count of devices in one state (pending, downloading, installing,
 * rebooting, success, failure, stuck, noartifact, ...). */
struct notify_count {
	const char *state;
	size_t n;
};

/* A device that failed or is stuck, and its state. */
struct notify_device {
	const char *device;
	const char *state;
};

/* One event. Strings may be NULL (written as null), except `event`. */
struct notify_event {
	const char *event; /* verified, failed, revoked, override, pending */
	const char *stage;
	const char *tree;     /* the tree id the verdict is about */
	const char *commit;   /* the stage's tip holding that tree */
	const char *verdict;  /* verified, failed or pending: the verdict now */
	const char *previous; /* the verdict before */
	const struct notify_count *counts;
	size_t ncounts;
	const struct notify_device *failing;
	size_t nfailing;
	const char *reason; /* why, in words (an override's reason, ...) */
	time_t time;        /* when the transition was seen */
};

/*
 * Append `e` to `out` as one JSON object on one line, keys in this order:
 * {"event":..,"stage":..,"tree":..,"commit":..,"verdict":..,"previous":..,
 *  "counts":{"<state>":N,..},"failing":[{"device":..,"state":..},..],
 *  "reason":..,"time":"2026-12-02T10:30:00Z"} and a newline. Pure.
 */
void notify_event_json(struct fg_buf *out, const struct notify_event *e);

#endif
