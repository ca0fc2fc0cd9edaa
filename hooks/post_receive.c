/*
 * post-receive: for each updated branch, schedule the Mender deployments
 * its devices need. It never fails the push (git ignores its exit status
 * anyway) and never makes the pusher wait long: each job is first written
 * to the spool, then scheduled within fleetgate.applyTimeout; what is not
 * done stays in the spool for `fleetgate reconcile`, and work cut short by
 * the deadline goes on in a detached process whose every descriptor is
 * redirected, so the push's connection closes at once.
 */
#include "hooks/hooks.h"

#include "front/front.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/fsutil.h"
#include "mender/http.h"
#include "rules/policy.h"
#include "git/repo.h"
#include "deploy/schedule.h"
#include "rules/settings.h"
#include "deploy/spool.h"
#include "deploy/verify_pass.h"
#include "rules/promote.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_OUTPUT 4096 /* a disconnected client must not block the hook */

static void on_alarm(int sig)
{
	static const char msg[] = "fleetgate: deferred: scheduling took longer than fleetgate.applyTimeout; the spool keeps the job for 'fleetgate reconcile'\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* the spool holds the job either way */
	}
	_exit(0);
}

/* Start `fleetgate reconcile` detached from the push: own session, every
 * descriptor on /dev/null or the log, so git does not wait for it. */
static int spawn_reconcile(const char *gitdir)
{
	char *self = front_self_path(), *log = fs_state_dir(gitdir, "reconcile.log");
	pid_t pid;

	if (!self) {
		free(log);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		struct rlimit rl;
		int fd, in;
		long max;

		setsid();
		if (fork() > 0)
			_exit(0); /* the grandchild is adopted by init: no zombie */
		in = open("/dev/null", O_RDONLY);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd < 0)
			fd = open("/dev/null", O_WRONLY);
		dup2(in, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? (long)rl.rlim_cur : 65536;
		for (fd = 3; fd < max; fd++)
			close(fd);
		execl(self, "fleetgate", "reconcile", "--repo", gitdir, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	free(self);
	free(log);
	return pid > 0 ? 0 : -1;
}

static void say(struct fg_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct fg_buf *out, const char *fmt, ...)
{
	char *line;
	va_list ap;

	va_start(ap, fmt);
	line = fg_vasprintf(fmt, ap);
	va_end(ap);
	/* The pusher's output is capped as a whole (a client that went away
	 * must not block the hook); a line that does not fit is not cut but
	 * left to 'fleetgate status', and that is said. */
	if (out->len + strlen(line) + 16 > MAX_OUTPUT) {
		if (!strstr(out->ptr, "(more in"))
			fg_buf_puts(out, "fleetgate: (more in 'fleetgate status')\n");
		free(line);
		return;
	}
	fg_buf_puts(out, "fleetgate: ");
	fg_buf_put_printable(out, line);
	fg_buf_putc(out, '\n');
	free(line);
}

static void report(struct fg_buf *out, const char *branch, const struct schedule *sc)
{
	const struct plan *p = &sc->plan;
	const struct apply_result *r = &sc->applied;

	say(out, "%s@%.7s: %zu device%s managed: %zu OS update%s in %zu deployment%s (%zu created, %zu already there), %zu configuration%s deployed, %zu pending, %zu aborted",
	    branch, sc->commit, p->managed, p->managed == 1 ? "" : "s", p->os_updates,
	    p->os_updates == 1 ? "" : "s", p->nbatches, p->nbatches == 1 ? "" : "s", r->created,
	    r->existed, r->configured, r->configured == 1 ? "" : "s", p->os_pending + p->config_pending,
	    r->aborted);
	if (p->os_failed)
		say(out, "%s: %zu device%s failed this deployment before: see 'fleetgate status'",
		    branch, p->os_failed, p->os_failed == 1 ? "" : "s");
	if (p->conflicts + p->not_accepted + p->unknown + p->no_artifact + p->secret_missing)
		say(out, "%s: left alone: %zu conflict%s, %zu not accepted, %zu unknown to Mender, %zu without artifact, %zu missing a secret: see 'fleetgate plan --branch %s'",
		    branch, p->conflicts, p->conflicts == 1 ? "" : "s", p->not_accepted, p->unknown,
		    p->no_artifact, p->secret_missing, branch);
}

/* The branch an update moves, or NULL: a deleted branch or another ref is
 * not scheduled. */
static const char *scheduled_branch(const struct ref_update *u)
{
	return policy_is_zero(u->new_id) ? NULL : front_branch_of(u->ref);
}

/* Schedule `branch` at `commit` and say how it went; its spool job is
 * done, parked (never schedulable at this commit: 0) or failed (the
 * scheduler's error, kept for 'fleetgate reconcile'). */
static int schedule_branch(struct fg_buf *out, struct fg_repo *repo, const struct settings *s,
			   const char *branch, const char *commit, struct schedule_session *ss,
			   int64_t deadline)
{
	struct schedule_options o;
	struct schedule sc;
	size_t k;
	int rc;

	memset(&o, 0, sizeof(o));
	o.branch = branch;
	o.rev = commit;
	o.apply = 1;
	o.deadline_ms = deadline;
	o.session = ss;
	rc = schedule_run(&sc, repo, s, &o);
	if (sc.planned)
		report(out, branch, &sc);
	if (sc.configure_absent && !strstr(out->ptr, PLAN_NO_CONFIGURE))
		say(out, "%s", PLAN_NO_CONFIGURE); /* once a push */
	for (k = 0; k < sc.nwarnings; k++)
		say(out, "%s@%.7s: warning: %s", branch, commit, sc.warnings[k]);
	if (rc == 0) {
		spool_done(repo_gitdir(repo), branch, commit, NULL);
	} else if (schedule_unschedulable(rc, &sc)) {
		/* Said once, here; later runs skip the parked job. */
		spool_park(repo_gitdir(repo), branch, commit, fg_error_message());
		say(out,
		    "%s@%.7s: not scheduled: %s; the next commit of the branch is scheduled as usual",
		    branch, commit, fg_error_message());
		rc = 0;
	} else {
		spool_failed(repo_gitdir(repo), branch, commit, fg_error_message());
		say(out, "%s@%.7s: deferred: %s", branch, commit, fg_error_message());
	}
	schedule_release(&sc);
	return rc;
}

/* Every branch the push moves, read from Mender once (schedule.h); its
 * locks are held from here to schedule_session_free(). */
static struct schedule_session *push_session(struct fg_repo *repo, const struct settings *s,
					     const struct ref_update *u, size_t n, int64_t deadline)
{
	struct schedule_target *t = fg_calloc(n + 1, sizeof(*t));
	struct schedule_options o;
	struct schedule_session *ss;
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		t[k].branch = scheduled_branch(&u[i]);
		t[k].rev = u[i].new_id;
		k += t[k].branch != NULL;
	}
	memset(&o, 0, sizeof(o));
	o.apply = 1;
	o.deadline_ms = deadline;
	ss = schedule_session_new(repo, s, t, k, &o);
	free(t);
	return ss;
}

/* The stage before `stage` in fleetgate.stages, or NULL. */
static const char *upstream_of(const struct settings *s, const char *stage)
{
	size_t i;

	for (i = 1; i < s->nstages; i++)
		if (!strcmp(s->stages[i], stage))
			return s->stages[i - 1];
	return NULL;
}

static void notify_override(struct fg_buf *out, const struct settings *s,
			    struct promote_evidence *e, const char *up, const char *tree,
			    const char *commit, const char *who, const char *why, const char *stage)
{
	char *err;

	say(out, "%s: override by '%s' recorded on %s's evidence for tree %.7s", stage, who, up, tree);
	if (!e->found) {
		e->record.stage = fg_strdup(up);
		snprintf(e->record.tree, sizeof(e->record.tree), "%s", tree);
		snprintf(e->record.commit, sizeof(e->record.commit), "%s", commit);
	}
	err = verify_notify(&s->verify, &e->record, "override", verify_outcome_name(e->record.verdict),
			    why, front_now_ms());
	if (err)
		say(out, "%s: %s", stage, err);
	free(err);
}

/* An override the pre-receive hook let through is written to the record
 * of the tree on the upstream stage: who, why, when, which commit. */
static void record_overrides(struct fg_buf *out, struct fg_repo *repo, const struct settings *s,
			     const struct ref_update *u, size_t n)
{
	const char *why = hook_push_option("fleetgate.override"), *who = hook_pusher();
	size_t i;

	if (!promote_override_valid(why) || !promote_may_override(&s->verify, who))
		return;
	for (i = 0; i < n; i++) {
		const char *stage = front_branch_of(u[i].ref), *up;
		struct promote_evidence e;
		char tree[41];

		if (!stage || policy_is_zero(u[i].new_id))
			continue;
		up = upstream_of(s, stage);
		if (!up || !verify_rules_of(&s->verify, up) || repo_commit_tree(repo, u[i].new_id, tree))
			continue;
		if (promote_evidence_read(repo, s->verify.max_age_ms, up, tree, front_now_ms(), &e) == 0 && !e.ok &&
		    verify_record_override(repo, up, tree, who, why, u[i].new_id, stage, front_now_ms()))
			say(out, "%s: the override could not be recorded: %s", stage, fg_error_message());
		else if (!e.ok)
			notify_override(out, s, &e, up, tree, u[i].new_id, who, why, stage);
		promote_evidence_release(&e);
	}
}

/* Each updated stage with rules is judged again: its new tip starts its
 * evidence record (pending until its devices prove it). */
static void verify_updated(struct fg_buf *out, struct fg_repo *repo, const struct settings *s,
			   const struct ref_update *u, size_t n, int64_t deadline)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const char *stage = front_branch_of(u[i].ref);
		struct schedule_options o;
		struct verify_pass p;

		if (!stage || policy_is_zero(u[i].new_id) ||
		    !verify_rules_of(&s->verify, stage))
			continue;
		memset(&o, 0, sizeof(o));
		o.deadline_ms = deadline;
		if (verify_pass_run(&p, repo, s, stage, front_now_ms(), &o)) {
			say(out, "%s: not verified now: %s ('fleetgate verify' or reconcile does it later)", stage,
			    fg_error_message());
			continue;
		}
		say(out, "%s@%.7s: verification: %s: %s", stage, p.record.commit,
		    verify_outcome_name(p.record.verdict), p.record.reason);
		if (p.notify_error)
			say(out, "%s: %s", stage, p.notify_error);
		verify_pass_release(&p);
	}
}

int hook_post_receive(int argc, char **argv)
{
	struct ref_update *updates = NULL;
	struct fg_repo *repo = NULL;
	struct settings s;
	struct fg_buf out = FG_BUF_INIT;
	struct schedule_session *ss;
	size_t n = 0, i;
	int settings_loaded = 0, timed_out = 0, deferred = 0, spooled = 1;
	int64_t deadline;

	(void)argv;
	fg_buf_init(&out);
	if (argc > 1 || hook_read_updates(&updates, &n)) {
		say(&out, "post-receive: %s; nothing scheduled", argc > 1 ? "unexpected arguments" : fg_error_message());
		goto done;
	}
	if (repo_open(&repo, NULL) || settings_load(&s, repo)) {
		say(&out, "post-receive: %s; nothing scheduled (run 'fleetgate reconcile --all' once fixed)", fg_error_message());
		goto done;
	}
	settings_loaded = 1;
	/* Durable first: every updated branch is in the spool before Mender
	 * is called. Deleted branches are ignored. */
	for (i = 0; i < n; i++) {
		const char *branch = scheduled_branch(&updates[i]);

		if (branch && spool_put(repo_gitdir(repo), branch, updates[i].new_id)) {
			spooled = 0;
			say(&out, "%s: could not spool the job: %s", branch, fg_error_message());
		}
	}
	signal(SIGALRM, on_alarm);
	alarm(s.apply_timeout + 5);
	deadline = fg_http_now_ms() + (int64_t)s.apply_timeout * 1000;
	ss = push_session(repo, &s, updates, n, deadline);
	for (i = 0; i < n; i++) {
		const char *branch = scheduled_branch(&updates[i]);
		int rc;

		if (!branch)
			continue;
		if (timed_out || fg_http_now_ms() >= deadline) {
			timed_out = 1;
			say(&out, "%s@%.7s: deferred: out of time", branch, updates[i].new_id);
			continue;
		}
		rc = schedule_branch(&out, repo, &s, branch, updates[i].new_id, ss, deadline);
		if (rc == FG_ETIMEOUT)
			timed_out = 1;
		else if (rc)
			deferred++;
	}
	schedule_session_free(ss);
	record_overrides(&out, repo, &s, updates, n);
	if (!timed_out)
		verify_updated(&out, repo, &s, updates, n, deadline);
	alarm(0);
	/* Everything given was scheduled (or parked): the dead-man signal of
	 * monitoring advances; an error here is only said. */
	if (!deferred && !timed_out && spooled &&
	    spool_record_success(repo_gitdir(repo), "post-receive", (long long)time(NULL)))
		say(&out, "post-receive: could not record the run: %s", fg_error_message());
	if (deferred)
		say(&out, "the spool keeps %s; 'fleetgate reconcile' schedules %s", deferred == 1 ? "the job" : "the jobs",
		    deferred == 1 ? "it" : "them");
	if (timed_out) {
		if (spawn_reconcile(repo_gitdir(repo)) == 0)
			say(&out, "continuing in the background ('fleetgate reconcile', log in fleetgate/reconcile.log); 'fleetgate status' follows it");
		else
			say(&out, "the spool keeps the rest for 'fleetgate reconcile'");
	}
done:
	fputs(out.ptr, stderr);
	fg_buf_release(&out);
	ref_updates_free(updates, n);
	if (settings_loaded)
		settings_release(&s);
	repo_free(repo);
	return 0;
}
