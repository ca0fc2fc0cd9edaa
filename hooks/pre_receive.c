/*
 * pre-receive: judge every ref of the push against the promotion rules and
 * the fleet validator, and explain each refusal to the person pushing.
 *
 * It fails closed: any internal error refuses the push. Refusing one ref
 * while others land needs git's update hook, so when some refs are refused
 * and fleetgate's update hook is installed, the verdicts are handed to it
 * (lib/rules/handoff.h) and pre-receive lets git go on; without that hook, any
 * refusal refuses the whole push.
 */
#include "hooks/hooks.h"

#include "front/front.h"
#include "front/hookfiles.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "rules/handoff.h"
#include "rules/policy.h"
#include "rules/policy_repo.h"
#include "rules/promote.h"
#include "rules/report.h"
#include "git/repo.h"
#include "rules/settings.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int gitlab(void)
{
	const char *id = getenv("GL_ID");

	return id && *id;
}

/* Print a refusal that is not about one ref (the push as a whole). */
static int refuse_push(const char *why)
{
	if (gitlab())
		fprintf(stderr, "GL-HOOK-ERR: fleetgate: push refused: %s\n", why);
	fprintf(stderr, "fleetgate: push refused: %s\n", why);
	fprintf(stderr, "fleetgate: this is a problem of the server, not of your change: tell the git server's admin\n");
	return EXIT_REJECTED;
}

static void on_alarm(int sig)
{
	static const char msg[] = "fleetgate: push refused: the checks took longer than fleetgate.hookTimeout\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing more to do: the exit status refuses the push */
	}
	_exit(EXIT_REJECTED);
}

/* git runs the hooks of $GIT_DIR/hooks unless core.hooksPath says
 * otherwise; then fleetgate's reference-transaction hook there is not run. */
static int hooks_path_is_default(struct fg_repo *repo)
{
	char *path = NULL;
	int rc = repo_config_string(repo, "core.hooksPath", &path);

	free(path);
	return rc == FG_ENOTFOUND;
}

/* The updates as git will write them: a push to a symbolic ref (an alias
 * the admin made, such as master -> main) writes its target, so it is
 * judged as its target. */
static int written_names(struct fg_repo *repo, const struct ref_update *updates, size_t n,
			 struct ref_update **out)
{
	struct ref_update *u = fg_calloc(n + 1, sizeof(*u));
	size_t i;
	int rc = 0;

	*out = u;
	for (i = 0; i < n && !rc; i++) {
		u[i] = updates[i];
		u[i].ref = NULL;
		rc = repo_ref_written_name(repo, updates[i].ref, &u[i].ref);
	}
	return rc;
}

/* Verdicts name the ref as pushed, and what it writes when that differs. */
static void name_aliases(struct policy_verdict *v, const struct ref_update *pushed,
			 const struct ref_update *judged, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!strcmp(pushed[i].ref, judged[i].ref))
			continue;
		free(v[i].ref);
		v[i].ref = fg_asprintf("%s (an alias of %s)", pushed[i].ref, judged[i].ref);
	}
}

int hook_pre_receive(int argc, char **argv)
{
	struct ref_update *updates = NULL, *judged = NULL;
	struct policy_verdict *verdicts = NULL;
	struct policy_settings ps;
	struct policy_reader reader;
	struct settings settings;
	struct fg_repo *repo = NULL;
	struct fg_buf out = FG_BUF_INIT;
	size_t n = 0, i, refused = 0;
	int status = EXIT_REJECTED, settings_loaded = 0;

	(void)argv;
	if (argc > 1)
		return refuse_push("pre-receive takes no arguments");
	signal(SIGALRM, on_alarm);
	alarm(60);
	fg_buf_init(&out);
	if (hook_read_updates(&updates, &n)) {
		status = refuse_push(fg_error_message());
		goto done;
	}
	if (repo_open(&repo, NULL)) {
		status = refuse_push(fg_error_message());
		goto done;
	}
	if (settings_load(&settings, repo)) {
		status = refuse_push(fg_error_message());
		goto done;
	}
	settings_loaded = 1;
	alarm(settings.hook_timeout);
	settings_policy(&settings, &ps);
	ps.pusher = hook_pusher();
	/* GitLab runs git with hooks of its own (core.hooksPath given on git's
	 * command line): a reference-transaction hook in the repository never
	 * runs there. */
	ps.upstream_in_push =
		!gitlab() && hooks_path_is_default(repo) &&
		front_hook_installed(repo_gitdir(repo), FRONT_HOOK_REFERENCE_TRANSACTION);
	policy_repo_reader(&reader, repo);
	if (written_names(repo, updates, n, &judged)) {
		status = refuse_push(fg_error_message());
		goto done;
	}
	if (policy_judge(&verdicts, &ps, judged, n, &reader)) {
		status = refuse_push(fg_error_message());
		goto done;
	}
	if (promote_judge(verdicts, judged, n, repo, &settings.verify, ps.pusher,
			  hook_push_option("fleetgate.override"), front_now_ms(), &out)) {
		status = refuse_push(fg_error_message());
		goto done;
	}
	name_aliases(verdicts, updates, judged, n);
	for (i = 0; i < n; i++)
		refused += !verdicts[i].accepted;
	report_refusals(&out, verdicts, n, gitlab());
	if (refused || n > 1)
		report_summary(&out, verdicts, n);
	fputs(out.ptr, stderr);

	status = EXIT_OK;
	if (refused == n && n) {
		status = EXIT_REJECTED;
	} else if (refused && !front_hook_installed(repo_gitdir(repo), FRONT_HOOK_UPDATE)) {
		fprintf(stderr, "fleetgate: the whole push is refused: fleetgate's update hook is not installed, so one ref cannot be refused alone\n");
		status = EXIT_REJECTED;
	} else {
		/* The update hook of this push declines what was refused here,
		 * and without a verdict it declines a stage: write them all. */
		long push = handoff_push_id();

		for (i = 0; i < n && status == EXIT_OK; i++)
			if (handoff_write(repo_gitdir(repo), push, updates[i].ref, updates[i].old_id,
					  updates[i].new_id, verdicts[i].accepted))
				status = refuse_push(fg_error_message());
		if (status == EXIT_OK && refused)
			fprintf(stderr, "fleetgate: the refused refs are declined by the update hook; with --atomic git refuses the whole push\n");
	}
done:
	alarm(0);
	fg_buf_release(&out);
	policy_verdicts_free(verdicts, n);
	ref_updates_free(updates, n);
	ref_updates_free(judged, n);
	if (settings_loaded)
		settings_release(&settings);
	repo_free(repo);
	return status;
}
