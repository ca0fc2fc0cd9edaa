#ifndef FLEETGATE_SCHEDULE_H
#define FLEETGATE_SCHEDULE_H

#include <stdint.h>

#include "deploy/apply.h"
#include "fleet/diag.h"
#include "mender/mender.h"
#include "deploy/plan.h"
#include "git/repo.h"
#include "rules/settings.h"

/*
 * One scheduling run for a branch, the same for plan, apply, reconcile and
 * the post-receive hook: the fleet as of the branch (and every other
 * branch, for conflicts), the facts from Mender, the plan, and with
 * `apply` the deployments made.
 *
 * Mender settings (docs/design.md, "Settings"): server from MENDER_SERVER, else git config
 * fleetgate.menderServer, never from pushed content: anyone who can push a
 * branch writes its fleet.yaml, so its mender.server is only compared (a
 * warning when it differs) and never receives a request. Credentials from
 * MENDER_ACCESS_TOKEN, else MENDER_USER + MENDER_PASSWORD, else the token
 * file named by fleetgate.menderTokenFile; fleetgate.menderCaFile for a
 * private CA.
 */

struct schedule_session;

struct schedule_options {
	const char *branch;
	const char *rev;       /* NULL: the branch's tip */
	int apply;             /* 0: plan only, write nothing */
	int full;              /* read every device's configuration (drift) */
	int lean;              /* verification: statistics, device statuses only of
				* deployments with failures (facts_request.lean) */
	int64_t deadline_ms;   /* absolute (fg_http_now_ms()); 0: none */
	fg_http_log_fn log;    /* Mender client log (never holds secrets), or NULL */
	void *log_data;
	/* Told each phase of a long run ("read 100000 devices ..."), or NULL. */
	void (*progress)(void *data, const char *what);
	void *progress_data;
	/* A run over several branches (schedule_session_new), or NULL: this
	 * branch's run then takes Mender's facts, client and lock from it. */
	struct schedule_session *session;
};

struct schedule {
	char commit[41];
	struct plan plan;
	int planned;           /* plan is set */
	struct apply_result applied;
	int applied_run;       /* applied is set */
	struct diags diags;    /* problems of the fleet at the branch, when invalid */
	char **warnings;       /* one line each, for the people running it (no secrets) */
	size_t nwarnings;
	int free_branch;       /* the branch is not a stage (set once its fleet is read) */
	int configure_absent;  /* Mender Configure is not on the server: configuration
				* is not managed (front ends say PLAN_NO_CONFIGURE
				* once a run) */
	/* With `lean`: the devices of the commit's deployments by Mender's
	 * statistics: pending, downloading, installing, rebooting. */
	long long active[4];
};

/* The run failed because the fleet of a free branch is invalid at its
 * commit: that job can never be scheduled (a new commit can), and it must
 * not count as a failure of the runs that meet it. */
int schedule_unschedulable(int rc, const struct schedule *sc);

/*
 * Run. Returns 0 when everything asked was done; FG_EINVAL with `diags`
 * filled when the fleet at the branch is invalid; FG_ENOTFOUND for an
 * unknown branch; the Mender client's codes (FG_ENET, FG_EAUTH, FG_EHTTP,
 * FG_ETIMEOUT) when Mender failed; the first failed action's code when
 * some actions failed (out->applied says which). `out` is released with
 * schedule_release() in every case.
 */
int schedule_run(struct schedule *out, struct fg_repo *repo, const struct settings *s,
		 const struct schedule_options *o);
void schedule_release(struct schedule *sc);

/*
 * A run over several branches: `status`, `reconcile --all`, a post-receive
 * that moves several branches. Mender's facts are read once for all of
 * them (the union of their artifact names, deployment names and OS
 * attributes; the inventory walked once), and each branch is then planned
 * from them by schedule_run() with o->session set, its plan the same as
 * alone: a deployment found by another branch's name is not in its facts.
 * A branch's actions that change deployments (create, abort, end) have
 * the next branch read the deployments again (not the inventory: what a
 * branch does to its own devices' tags and configuration no other branch
 * plans on). With `apply` (o), the session holds every branch's lock from
 * the start (in branch-name order, so two sessions never wait on each
 * other) until schedule_session_free(): no other run acts on these
 * branches between the reading and the last action. A failed lock or
 * reading fails only the runs that meet it (a reading is tried again by
 * the next run). `targets` are the branches with their revisions (rev NULL:
 * the branch's tip when it is read); the session copies them, and keeps
 * `repo` and `s`, which outlive it. o->branch, o->rev, o->lean are unused.
 */
struct schedule_target {
	const char *branch;
	const char *rev;
};

struct schedule_session *schedule_session_new(struct fg_repo *repo, const struct settings *s,
					      const struct schedule_target *targets, size_t n,
					      const struct schedule_options *o);
void schedule_session_free(struct schedule_session *ss);

/* Fill Mender client settings from the environment and `s` only (never
 * from a fleet's content). Strings that need an owner (a token read from a
 * file: 16 KiB at most, the token alone on its first line) go to
 * *token_buf, which the caller wipes (explicit_bzero) and frees after the
 * client is made. FG_EINVAL without a server, FG_EAUTH without
 * credentials. */
int schedule_mender_settings(struct mender_settings *out, const struct settings *s,
			     char **token_buf);

#endif
