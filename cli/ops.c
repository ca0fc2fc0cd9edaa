/*
 * fleetgate plan | apply | reconcile | status: the commands of the people
 * running the fleet. Each opens the repository, runs the scheduler
 * (lib/deploy/schedule.h) and prints.
 */
#include "cli/cli.h"

#include "front/front.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "mender/http.h"
#include "core/fsutil.h"
#include "deploy/metrics.h"
#include "deploy/plan_report.h"
#include "git/repo.h"
#include "deploy/schedule.h"
#include "rules/settings.h"
#include "deploy/spool.h"
#include "deploy/verify_pass.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct ops_args {
	const char *cmd;
	const char *branch;
	const char *rev;
	const char *repo;
	int json;
	int all;
	int full;
	int metrics;            /* status only: 1 openmetrics, 2 prometheus */
	const char *output;     /* status only: the file to write, or NULL */
};

static const char plan_usage[] =
	"usage: fleetgate plan --branch B [--rev R] [--repo PATH] [--format text|json] [--all] [--full]\n"
	"       fleetgate apply --branch B [--rev R] [--repo PATH] [--format text|json] [--full]\n"
	"\n"
	"plan prints what apply would do for the devices subscribed to branch B\n"
	"(per device, then a summary) and writes nothing; apply does it.\n"
	"\n"
	"  --branch B       the branch whose devices are planned\n"
	"  --rev R          plan the fleet as of commit R instead of B's tip\n"
	"  --repo PATH      the repository (default: GIT_DIR or the one around here)\n"
	"  --format FMT     text (default) or json (secret values shown as ***)\n"
	"  --all            also list devices with nothing to do\n"
	"  --full           read every device's configuration from Mender to catch\n"
	"                   changes made outside fleetgate (one request per device)\n"
	"\n"
	"Exit status: 0 done, 1 invalid fleet or failed actions, 2 usage or\n"
	"environment error (Mender unreachable, bad credentials).\n";

static const char reconcile_usage[] =
	"usage: fleetgate reconcile [--repo PATH] [--all] [--full] [--branch B]\n"
	"\n"
	"Schedule what the post-receive hook could not: every job in the spool,\n"
	"newest first, at its branch's current tip. Safe to run at any time and\n"
	"as often as wanted (contrib/systemd has a timer). Mender is read once for\n"
	"all the branches scheduled (deployments again after a branch made some).\n"
	"\n"
	"  --repo PATH      the repository (default: GIT_DIR or the one around here)\n"
	"  --all            also every other branch of the repository\n"
	"  --full           read every device's configuration (catches drift); implies --all\n"
	"  --branch B       only branch B\n"
	"\n"
	"A job that can never be scheduled, a free branch (not a stage) whose fleet\n"
	"is invalid at its commit, is reported once, parked in the spool (shown by\n"
	"'fleetgate status') and skipped by later runs until the branch moves.\n"
	"\n"
	"Exit status: 0 every job scheduled or parked; 1 a job is still waiting\n"
	"(Mender unreachable or failing, failed actions, a stage's fleet invalid):\n"
	"it stays in the spool for the next run; 2 usage or environment error (bad\n"
	"flag, repository not found, the spool unreadable).\n";

static const char status_usage[] =
	"usage: fleetgate status [--branch B] [--repo PATH] [--format text|json|openmetrics|prometheus]\n"
	"                        [--full] [--output FILE]\n"
	"\n"
	"Per device: its branch, device type, desired and installed artifact,\n"
	"configuration, and the state of its fleetgate deployment; a summary per\n"
	"branch. Mender is read once for all the branches shown. Exit status 0\n"
	"when every managed device is converged or on its way, 1 when a deployment\n"
	"failed, 2 on usage or environment errors.\n"
	"\n"
	"CONFIG is 'set' when Mender holds the desired configuration (by the digest\n"
	"fleetgate records); with --full every device's reported configuration is\n"
	"read (one request per device, once for all branches) and it is 'in-sync'\n"
	"once the device applied it.\n"
	"\n"
	"  --format openmetrics   what monitoring reads (docs/monitoring.md): devices\n"
	"                         per branch and state, the spool's jobs, the last\n"
	"                         successful reconcile, each stage's verdict and the\n"
	"                         age of its evidence; exits 0 once written, 1 or 2\n"
	"                         (as above) when a branch could not be read: the rest\n"
	"                         is written, with fleetgate_status_complete 0\n"
	"  --format prometheus    the same in the 0.0.4 text format (no # UNIT, # EOF)\n"
	"  --output FILE          write to FILE instead of stdout, atomically (for\n"
	"                         node_exporter's textfile collector: FILE.prom)\n";

static int ops_option(void *data, int c, const char *arg)
{
	struct ops_args *a = data;

	switch (c) {
	case 'b':
		a->branch = arg;
		break;
	case 'r':
		a->rev = arg;
		break;
	case 'R':
		a->repo = arg;
		break;
	case 'f':
		if (!strcmp(a->cmd, "status") && !strcmp(arg, "openmetrics"))
			a->metrics = 1;
		else if (!strcmp(a->cmd, "status") && !strcmp(arg, "prometheus"))
			a->metrics = 2;
		else if (!strcmp(a->cmd, "status") && strcmp(arg, "text") && strcmp(arg, "json"))
			return front_usage_error(a->cmd, "--format must be text, json, openmetrics or prometheus, not '%s'", arg);
		else
			return front_format(a->cmd, arg, &a->json);
		break;
	case 'o':
		if (strcmp(a->cmd, "status"))
			return front_usage_error(a->cmd, "unknown option '--output' (see --help)");
		a->output = arg;
		break;
	case 'a':
		a->all = 1;
		break;
	case 'F':
		a->full = 1;
		break;
	}
	return 0;
}

static int parse_ops_args(struct ops_args *a, int argc, char **argv, const char *usage)
{
	static const struct option options[] = {
		{ "branch", required_argument, NULL, 'b' },
		{ "rev", required_argument, NULL, 'r' },
		{ "repo", required_argument, NULL, 'R' },
		{ "format", required_argument, NULL, 'f' },
		{ "all", no_argument, NULL, 'a' },
		{ "full", no_argument, NULL, 'F' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct front_args fa = { a->cmd, usage, options, ops_option, a, NULL, 0, 0 };

	return front_parse(&fa, argc, argv);
}

/* Map a scheduler failure to an exit status and say what happened. */
static int report_failure(const char *cmd, int rc, const struct schedule *sc, const char *branch)
{
	struct fg_buf b = FG_BUF_INIT;

	fg_buf_init(&b);
	if (rc == FG_EINVAL && sc->diags.errors) {
		diags_format_text(&sc->diags, &b);
		fputs(b.ptr, stderr);
	}
	fg_buf_release(&b);
	fprintf(stderr, "fleetgate %s: %s: %s\n", cmd, branch, fg_error_message());
	if (rc == FG_EINVAL && sc->diags.errors)
		return EXIT_REJECTED;
	if (sc->applied_run && sc->applied.failed)
		return EXIT_REJECTED;
	return EXIT_USAGE;
}

/* The scheduler's warnings, one line each, prefixed with `prefix`. */
static void put_warnings(struct fg_buf *b, const char *prefix, const struct schedule *sc,
			 const char *branch)
{
	size_t i;

	for (i = 0; i < sc->nwarnings; i++) {
		fg_buf_printf(b, "%s%s@%.7s: warning: ", prefix, branch, sc->commit);
		fg_buf_put_printable(b, sc->warnings[i]);
		fg_buf_putc(b, '\n');
	}
}

static void print_warnings(const char *cmd, const struct schedule *sc, const char *branch)
{
	struct fg_buf b = FG_BUF_INIT;
	char *prefix = fg_asprintf("fleetgate %s: ", cmd);

	fg_buf_init(&b);
	put_warnings(&b, prefix, sc, branch);
	if (b.len)
		fputs(b.ptr, stderr);
	fg_buf_release(&b);
	free(prefix);
}

/* Progress of a long run, on a terminal only: one line, rewritten. */
static void on_progress(void *data, const char *what)
{
	(void)data;
	fprintf(stderr, "\r\033[Kfleetgate: %s...", what);
	fflush(stderr);
}

static void progress(struct schedule_options *o)
{
	if (isatty(STDERR_FILENO))
		o->progress = on_progress;
}

static void progress_done(const struct schedule_options *o)
{
	if (o->progress)
		fputs("\r\033[K", stderr);
}

/* One reading of Mender for every branch of the run (schedule.h). */
static struct schedule_session *session_of(struct fg_repo *repo, const struct settings *s,
					   char **branches, size_t n, int apply, int full)
{
	struct schedule_target *t = fg_calloc(n + 1, sizeof(*t));
	struct schedule_options o;
	struct schedule_session *ss;
	size_t i;

	memset(&o, 0, sizeof(o));
	o.apply = apply;
	o.full = full;
	progress(&o);
	for (i = 0; i < n; i++)
		t[i].branch = branches[i];
	ss = schedule_session_new(repo, s, t, n, &o);
	free(t);
	return ss;
}

static int open_repo(const char *cmd, const char *path, struct fg_repo **repo, struct settings *s)
{
	if (repo_open(repo, path))
		return front_fail(cmd, EXIT_USAGE, NULL);
	if (settings_load(s, *repo)) {
		repo_free(*repo);
		*repo = NULL;
		return front_fail(cmd, EXIT_USAGE, "settings");
	}
	return 0;
}

static void print_applied(struct fg_buf *b, const struct schedule *sc)
{
	const struct apply_result *r = &sc->applied;

	fg_buf_printf(b, "applied %s@%.7s: %zu deployment%s created, %zu already there, %zu device%s aborted, %zu configuration%s deployed, %zu digest%s recorded, %zu failed\n",
		      sc->plan.branch, sc->commit, r->created, r->created == 1 ? "" : "s", r->existed,
		      r->aborted, r->aborted == 1 ? "" : "s", r->configured,
		      r->configured == 1 ? "" : "s", r->tagged, r->tagged == 1 ? "" : "s", r->failed);
	if (r->finished)
		fg_buf_printf(b, "ended %zu deployment%s that no device needed any more\n", r->finished,
			      r->finished == 1 ? "" : "s");
	if (r->first_error) {
		fg_buf_puts(b, "first failure: ");
		fg_buf_put_printable(b, r->first_error);
		fg_buf_putc(b, '\n');
	}
}

static int plan_or_apply(int argc, char **argv, const char *cmd, int apply)
{
	struct ops_args a = { .cmd = cmd };
	struct schedule_options o;
	struct schedule sc;
	struct settings s;
	struct fg_repo *repo = NULL;
	struct fg_buf out = FG_BUF_INIT;
	int rc, status;

	rc = parse_ops_args(&a, argc, argv, plan_usage);
	if (rc)
		return rc == FRONT_HELP ? EXIT_OK : rc;
	if (!a.branch)
		return front_usage_error(cmd, "--branch is required (see --help)");
	status = open_repo(cmd, a.repo, &repo, &s);
	if (status)
		return status;
	memset(&o, 0, sizeof(o));
	o.branch = a.branch;
	o.rev = a.rev;
	o.apply = apply;
	o.full = a.full;
	progress(&o);
	rc = schedule_run(&sc, repo, &s, &o);
	progress_done(&o);
	print_warnings(cmd, &sc, a.branch);
	fg_buf_init(&out);
	if (sc.planned) {
		if (a.json)
			plan_report_json(&out, &sc.plan);
		else
			plan_report_text(&out, &sc.plan, a.all);
	}
	if (sc.applied_run && !a.json)
		print_applied(&out, &sc);
	if (sc.configure_absent && !a.json)
		fg_buf_puts(&out, PLAN_NO_CONFIGURE "\n");
	status = front_write_stdout(out.ptr, out.len);
	if (rc)
		status = report_failure(cmd, rc, &sc, a.branch);
	fg_buf_release(&out);
	schedule_release(&sc);
	settings_release(&s);
	repo_free(repo);
	return status;
}

int cmd_plan(int argc, char **argv)
{
	return plan_or_apply(argc, argv, "plan", 0);
}

int cmd_apply(int argc, char **argv)
{
	return plan_or_apply(argc, argv, "apply", 1);
}

/* Schedule `branch` at its tip; on success its spool job (if at `job`) goes. */
static int reconcile_branch(struct fg_repo *repo, const struct settings *s, const char *branch,
			    const char *job, struct schedule_session *ss, int full, struct fg_buf *out)
{
	struct schedule_options o;
	struct schedule sc;
	char tip[41];
	int rc;

	if (repo_branch_tip(repo, branch, tip) == FG_ENOTFOUND) {
		fg_buf_printf(out, "%s: the branch is gone; its job is dropped\n", branch);
		return job ? spool_done(repo_gitdir(repo), branch, job, NULL) : 0;
	}
	memset(&o, 0, sizeof(o));
	o.branch = branch;
	o.apply = 1;
	o.full = full;
	o.session = ss;
	progress(&o);
	rc = schedule_run(&sc, repo, s, &o);
	progress_done(&o);
	put_warnings(out, "", &sc, branch);
	if (sc.planned)
		plan_report_summary(out, &sc.plan);
	if (sc.applied_run)
		print_applied(out, &sc);
	if (sc.configure_absent && !strstr(out->ptr, PLAN_NO_CONFIGURE))
		fg_buf_puts(out, PLAN_NO_CONFIGURE "\n"); /* once a run */
	if (schedule_unschedulable(rc, &sc)) {
		fg_buf_printf(out, "%s@%.7s: not scheduled: ", branch, sc.commit);
		fg_buf_put_printable(out, fg_error_message());
		fg_buf_puts(out, job ? "; the job is parked until the branch moves\n" : "\n");
		rc = job ? spool_park(repo_gitdir(repo), branch, job, fg_error_message()) : 0;
	} else if (rc) {
		fg_buf_printf(out, "%s: not fully scheduled: ", branch);
		fg_buf_put_printable(out, fg_error_message());
		fg_buf_putc(out, '\n');
		if (job)
			spool_failed(repo_gitdir(repo), branch, job, fg_error_message());
	} else if (job) {
		rc = spool_done(repo_gitdir(repo), branch, job, NULL);
	}
	schedule_release(&sc);
	return rc;
}

/* Every stage with verification rules is judged again on each run, so
 * its evidence stays fresh (fleetgate.verify.maxAge). */
static size_t reconcile_verify(struct fg_repo *repo, const struct settings *s, const char *only,
			       struct fg_buf *out)
{
	size_t i, failed = 0;

	for (i = 0; i < s->verify.nrules; i++) {
		const char *stage = s->verify.rules[i].stage;
		struct schedule_options o;
		struct verify_pass p;
		char tip[41];

		if ((only && strcmp(only, stage)) || repo_branch_tip(repo, stage, tip))
			continue;
		memset(&o, 0, sizeof(o));
		o.deadline_ms = fg_http_now_ms() + (int64_t)s->apply_timeout * 1000;
		if (verify_pass_run(&p, repo, s, stage, front_now_ms(), &o)) {
			fg_buf_printf(out, "%s: not verified: ", stage);
			fg_buf_put_printable(out, fg_error_message());
			fg_buf_putc(out, '\n');
			failed++;
			continue;
		}
		fg_buf_printf(out, "%s@%.7s: verification: %s: ", stage, p.record.commit,
			      verify_outcome_name(p.record.verdict));
		fg_buf_put_printable(out, p.record.reason);
		fg_buf_putc(out, '\n');
		if (p.notify_error) {
			fg_buf_printf(out, "%s: ", stage);
			fg_buf_put_printable(out, p.notify_error);
			fg_buf_putc(out, '\n');
		}
		verify_pass_release(&p);
	}
	return failed;
}

/* The branches to schedule, in order: the spool's jobs that are not
 * parked (*parked counts those), then with --all every other branch;
 * job_of[i] is the job's commit, or NULL. The strings are the callers'. */
static size_t reconcile_queue(const struct ops_args *a, const struct spool_job *jobs, size_t njobs,
			      char **branches, size_t nbranches, char ***queue,
			      const char ***job_of, size_t *parked)
{
	size_t i, k, n = 0;

	*queue = fg_calloc(njobs + nbranches + 1, sizeof(char *));
	*job_of = fg_calloc(njobs + nbranches + 1, sizeof(char *));
	for (i = 0; i < njobs; i++) {
		if (a->branch && strcmp(a->branch, jobs[i].branch))
			continue;
		if (jobs[i].parked) {
			(*parked)++; /* reported when it was parked; 'status' shows it */
			continue;
		}
		(*job_of)[n] = jobs[i].commit;
		(*queue)[n++] = jobs[i].branch;
	}
	for (i = 0; i < nbranches; i++) {
		int spooled = 0;

		for (k = 0; k < njobs; k++)
			spooled |= !strcmp(jobs[k].branch, branches[i]);
		if (spooled || (a->branch && strcmp(a->branch, branches[i])))
			continue;
		(*queue)[n++] = branches[i];
	}
	return n;
}

int cmd_reconcile(int argc, char **argv)
{
	struct ops_args a = { .cmd = "reconcile" };
	struct spool_job *jobs = NULL;
	struct settings s;
	struct fg_repo *repo = NULL;
	struct fg_buf out = FG_BUF_INIT;
	struct schedule_session *ss;
	char **branches = NULL, **queue;
	const char **job_of;
	size_t njobs = 0, nbranches = 0, nqueue, i, failed = 0, parked = 0;
	int rc, status;

	rc = parse_ops_args(&a, argc, argv, reconcile_usage);
	if (rc)
		return rc == FRONT_HELP ? EXIT_OK : rc;
	if (a.full)
		a.all = 1;
	status = open_repo("reconcile", a.repo, &repo, &s);
	if (status)
		return status;
	fg_buf_init(&out);
	if (spool_list(repo_gitdir(repo), &jobs, &njobs, NULL)) {
		status = front_fail("reconcile", EXIT_USAGE, "reading the spool");
		goto done;
	}
	if (a.all && repo_local_branches(repo, &branches, &nbranches))
		nbranches = 0;
	nqueue = reconcile_queue(&a, jobs, njobs, branches, nbranches, &queue, &job_of, &parked);
	ss = session_of(repo, &s, queue, nqueue, 1, a.full);
	for (i = 0; i < nqueue; i++)
		failed += reconcile_branch(repo, &s, queue[i], job_of[i], ss, a.full, &out) != 0;
	schedule_session_free(ss);
	free(queue);
	free(job_of);
	failed += reconcile_verify(repo, &s, a.branch, &out);
	if (!out.len && parked)
		fg_buf_printf(&out, "nothing to reconcile: %zu parked job%s (see 'fleetgate status')\n",
			      parked, parked == 1 ? "" : "s");
	else if (!out.len)
		fg_buf_puts(&out, "nothing to reconcile: the spool is empty\n");
	status = front_write_stdout(out.ptr, out.len);
	if (!status && failed)
		status = EXIT_REJECTED;
	/* The dead-man signal: advances only while runs do all they have. */
	if (!status && spool_record_success(repo_gitdir(repo), "reconcile", (long long)time(NULL)))
		status = front_fail("reconcile", EXIT_USAGE, "recording the run");
done:
	fg_strings_free(branches, nbranches);
	spool_jobs_free(jobs, njobs);
	fg_buf_release(&out);
	settings_release(&s);
	repo_free(repo);
	return status;
}

static const char *os_state(const struct plan_device *d)
{
	const char *state = plan_device_state(d);

	return state ? state : "-";
}

static int config_synced(const struct plan_device *d)
{
	return d->config == PLAN_CONFIG_IN_SYNC || d->config == PLAN_CONFIG_NONE ||
	       d->config == PLAN_CONFIG_TAG_ONLY;
}

/* "in-sync" only when the device reported it (status --full); "set" when
 * Mender holds the desired configuration by fleetgate's digest. */
static const char *config_state(const struct plan_device *d)
{
	if (d->kind != PLAN_MANAGED)
		return "-";
	if (d->config == PLAN_CONFIG_NONE)
		return "-";
	if (d->config == PLAN_CONFIG_UNMANAGED)
		return "not-managed";
	if (config_synced(d))
		return d->config_verified ? "in-sync" : "set";
	return d->config == PLAN_CONFIG_PENDING ? "pending" : "out-of-sync";
}

/* One table for every branch: a header, then aligned columns. */
#define STATUS_COLUMNS 8

static void status_row(struct fg_buf *b, const char *const *cells, const size_t *width)
{
	size_t c, len;

	for (c = 0; c < STATUS_COLUMNS; c++) {
		fg_buf_put_printable(b, cells[c]);
		if (c + 1 == STATUS_COLUMNS)
			break;
		for (len = strlen(cells[c]); len < width[c] + 2; len++)
			fg_buf_putc(b, ' ');
	}
	while (b->len && b->ptr[b->len - 1] == ' ')
		b->ptr[--b->len] = '\0';
	fg_buf_putc(b, '\n');
}

/* The table's cells for one device. */
static void status_cells(const struct plan *p, const struct plan_device *d,
			 const char **cells)
{
	cells[0] = d->id;
	cells[1] = p->branch;
	cells[2] = d->device_type ? d->device_type : "?";
	cells[3] = d->artifact ? d->artifact : "-";
	cells[4] = d->installed ? d->installed : "-";
	cells[5] = config_state(d);
	cells[6] = os_state(d);
	cells[7] = d->label ? d->label : "";
}

static void status_text(struct fg_buf *b, const struct plan *p)
{
	static const char *const header[STATUS_COLUMNS] = { "DEVICE", "BRANCH", "TYPE", "DESIRED",
							    "INSTALLED", "CONFIG", "DEPLOYMENT", "NAME" };
	size_t width[STATUS_COLUMNS], i, c;
	const char *cells[STATUS_COLUMNS];

	for (c = 0; c < STATUS_COLUMNS; c++)
		width[c] = strlen(header[c]);
	for (i = 0; i < p->ndevices; i++) {
		status_cells(p, &p->devices[i], cells);
		for (c = 0; c < STATUS_COLUMNS; c++)
			if (strlen(cells[c]) > width[c])
				width[c] = strlen(cells[c]);
	}
	if (p->ndevices)
		status_row(b, header, width);
	for (i = 0; i < p->ndevices; i++) {
		status_cells(p, &p->devices[i], cells);
		status_row(b, cells, width);
	}
	fg_buf_printf(b, "%s@%.7s: %zu managed, %zu converged, %zu on their way, %zu failed, %zu not yet scheduled",
		      p->branch, p->commit, p->managed,
		      p->managed - p->os_updates - p->os_pending - p->os_failed - p->no_artifact,
		      p->os_pending, p->os_failed, p->os_updates + p->config_updates);
	if (p->conflicts + p->not_accepted + p->unknown)
		fg_buf_printf(b, ", %zu left alone", p->conflicts + p->not_accepted + p->unknown);
	fg_buf_puts(b, "\n\n");
}

static void status_json(struct fg_buf *b, const struct plan *p, int first)
{
	size_t i;

	fg_buf_puts(b, first ? "\n  {\"branch\": " : ",\n  {\"branch\": ");
	fg_buf_put_json_string(b, p->branch);
	fg_buf_puts(b, ", \"commit\": ");
	fg_buf_put_json_string(b, p->commit);
	fg_buf_puts(b, ", \"devices\": [");
	for (i = 0; i < p->ndevices; i++) {
		const struct plan_device *d = &p->devices[i];

		fg_buf_puts(b, i ? ",\n    {\"id\": " : "\n    {\"id\": ");
		fg_buf_put_json_string(b, d->id);
		fg_buf_puts(b, ", \"name\": ");
		if (d->label)
			fg_buf_put_json_string(b, d->label);
		else
			fg_buf_puts(b, "null");
		fg_buf_puts(b, ", \"device_type\": ");
		fg_buf_put_json_string(b, d->device_type ? d->device_type : "");
		fg_buf_puts(b, ", \"desired\": ");
		fg_buf_put_json_string(b, d->artifact ? d->artifact : "");
		fg_buf_puts(b, ", \"installed\": ");
		fg_buf_put_json_string(b, d->installed ? d->installed : "");
		fg_buf_printf(b, ", \"config\": \"%s\", \"deployment\": ", config_state(d));
		fg_buf_put_json_string(b, os_state(d));
		fg_buf_printf(b, ", \"subscription\": \"%s\"}", subscription_source_name(d->source));
	}
	fg_buf_printf(b, "],\n   \"summary\": {\"managed\": %zu, \"pending\": %zu, \"failed\": %zu, \"not_scheduled\": %zu, \"left_alone\": %zu}}",
		      p->managed, p->os_pending, p->os_failed, p->os_updates + p->config_updates,
		      p->conflicts + p->not_accepted + p->unknown);
}

/* The spool's jobs: what waits, and what was parked as unschedulable. */
static void status_spool(struct fg_buf *b, const struct spool_job *jobs, size_t n, int json)
{
	size_t i;

	if (json)
		fg_buf_puts(b, ",\n \"spool\": [");
	for (i = 0; i < n; i++) {
		const struct spool_job *j = &jobs[i];

		if (json) {
			fg_buf_puts(b, i ? ",\n  {\"branch\": " : "\n  {\"branch\": ");
			fg_buf_put_json_string(b, j->branch);
			fg_buf_puts(b, ", \"commit\": ");
			fg_buf_put_json_string(b, j->commit);
			fg_buf_printf(b, ", \"attempts\": %u, \"parked\": %s, \"error\": ", j->attempts,
				      j->parked ? "true" : "false");
			if (j->last_error)
				fg_buf_put_json_string(b, j->last_error);
			else
				fg_buf_puts(b, "null");
			fg_buf_putc(b, '}');
			continue;
		}
		fg_buf_puts(b, "spool: ");
		fg_buf_put_printable(b, j->branch);
		if (j->parked)
			fg_buf_printf(b, "@%.7s: parked, never scheduled at this commit: ", j->commit);
		else
			fg_buf_printf(b, "@%.7s: waiting, %u failed attempt%s%s", j->commit, j->attempts,
				      j->attempts == 1 ? "" : "s", j->last_error ? ": " : "");
		if (j->last_error)
			fg_buf_put_printable(b, j->last_error);
		fg_buf_putc(b, '\n');
	}
	if (json)
		fg_buf_puts(b, n ? "\n ]" : "]");
}

/* Each stage's verdict, from the evidence records in the repository (no
 * Mender call: 'fleetgate verify' evaluates). */
static int status_verification(struct fg_buf *b, struct fg_repo *repo, const struct settings *s,
			       int json)
{
	struct record_stage *st = NULL;
	size_t n = 0, i;
	int64_t now = front_now_ms();

	if (!s->verify.nrules)
		return 0;
	if (record_read_stages(repo, &s->verify, &st, &n))
		return front_fail("status", EXIT_USAGE, "reading the evidence records");
	if (json)
		fg_buf_puts(b, ",\n \"verification\": [");
	else
		fg_buf_puts(b, "verification (fleetgate verify evaluates; refs/notes/fleetgate/<stage>):\n");
	for (i = 0; i < n; i++) {
		if (json && i)
			fg_buf_putc(b, ',');
		if (json && st[i].found) {
			fg_buf_puts(b, "\n  ");
			verify_record_json(b, &st[i].record);
		} else if (json) {
			fg_buf_puts(b, "\n  {\"stage\": ");
			fg_buf_put_json_string(b, st[i].stage);
			fg_buf_puts(b, ", \"verdict\": \"pending\", \"reason\": \"no evidence\"}");
		} else if (st[i].found) {
			fg_buf_puts(b, "  ");
			verify_record_text(b, &st[i].record, now);
		} else {
			fg_buf_printf(b, "  %s: pending: no evidence for its tip's tree yet\n", st[i].stage);
		}
	}
	if (json)
		fg_buf_puts(b, n ? "\n ]" : "]");
	record_stages_free(st, n);
	return 0;
}

/* Status's output to --output FILE (whole or not at all) or stdout. */
static int status_write(const struct ops_args *a, const struct fg_buf *out)
{
	if (!a->output)
		return front_write_stdout(out->ptr, out->len);
	/* 0644: node_exporter reads it; it holds names and counts only. */
	if (fs_write_atomic(a->output, out->ptr, out->len, 0644))
		return front_fail("status", EXIT_USAGE, "writing --output");
	return EXIT_OK;
}

/* The spool's jobs and the last successful runs, for monitoring. */
static int metrics_spool(struct metrics *m, const char *gitdir)
{
	static const char *const runs[] = { "reconcile", "post-receive" };
	struct spool_job *jobs = NULL;
	size_t njobs = 0, i;
	long long when;

	if (spool_list(gitdir, &jobs, &njobs, NULL))
		return front_fail("status", EXIT_USAGE, "reading the spool");
	metrics_add_spool(m, jobs, njobs);
	spool_jobs_free(jobs, njobs);
	for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		if (spool_last_success(gitdir, runs[i], &when))
			return front_fail("status", EXIT_USAGE, "reading the spool");
		metrics_add_last_success(m, runs[i], when);
	}
	return EXIT_OK;
}

/* Each stage's verdict and the time of its evidence, for monitoring. */
static int metrics_verdicts(struct metrics *m, struct fg_repo *repo, const struct settings *s)
{
	struct record_stage *st = NULL;
	struct metrics_verdict *v;
	size_t n = 0, i;

	if (!s->verify.nrules)
		return EXIT_OK;
	if (record_read_stages(repo, &s->verify, &st, &n))
		return front_fail("status", EXIT_USAGE, "reading the evidence records");
	v = fg_calloc(n ? n : 1, sizeof(*v));
	for (i = 0; i < n; i++) {
		v[i].stage = st[i].stage;
		v[i].verdict = st[i].found ? verify_outcome_name(st[i].record.verdict) : "pending";
		v[i].evidence_time = st[i].found ? st[i].record.evaluated_ms / 1000 : 0;
	}
	metrics_add_verdicts(m, v, n);
	free(v);
	record_stages_free(st, n);
	return EXIT_OK;
}

/*
 * status --format openmetrics|prometheus: every branch's devices per state
 * (what the text shows), then what needs no Mender (the spool, the last
 * runs). A branch that cannot be read stops the reading, as in the text,
 * but the rest is still written, with fleetgate_status_complete 0:
 * a dead Mender must not also silence the dead-man signal.
 */
static int status_metrics(const struct ops_args *a, struct fg_repo *repo, const struct settings *s,
			  char **branches, size_t n)
{
	struct metrics m;
	struct fg_buf out = FG_BUF_INIT;
	struct schedule_session *ss;
	size_t i;
	int rc, status = EXIT_OK, written;

	metrics_init(&m, time(NULL));
	fg_buf_init(&out);
	ss = session_of(repo, s, branches, n, 0, a->full);
	for (i = 0; i < n && status == EXIT_OK; i++) {
		struct schedule_options o;
		struct schedule sc;

		memset(&o, 0, sizeof(o));
		o.branch = branches[i];
		o.full = a->full;
		o.session = ss;
		progress(&o);
		rc = schedule_run(&sc, repo, s, &o);
		progress_done(&o);
		print_warnings("status", &sc, branches[i]);
		if (rc && !schedule_unschedulable(rc, &sc))
			status = report_failure("status", rc, &sc, branches[i]);
		else if (!rc)
			metrics_add_plan(&m, &sc.plan);
		schedule_release(&sc);
	}
	schedule_session_free(ss);
	metrics_set_complete(&m, status == EXIT_OK);
	rc = metrics_spool(&m, repo_gitdir(repo));
	if (!rc)
		rc = metrics_verdicts(&m, repo, s);
	if (rc) {
		status = rc;
	} else if (metrics_write(&out, &m, a->metrics == 1 ? OM_OPENMETRICS : OM_PROMETHEUS)) {
		status = front_fail("status", EXIT_USAGE, "writing metrics");
	} else {
		written = status_write(a, &out);
		if (written)
			status = written;
	}
	fg_buf_release(&out);
	metrics_release(&m);
	return status;
}

int cmd_status(int argc, char **argv)
{
	struct ops_args a = { .cmd = "status" };
	struct spool_job *jobs = NULL;
	struct settings s;
	struct fg_repo *repo = NULL;
	struct fg_buf out = FG_BUF_INIT;
	struct schedule_session *ss;
	char **branches = NULL;
	size_t n = 0, i, failed = 0, shown = 0, njobs = 0;
	int rc, status = EXIT_OK, no_configure = 0;

	rc = parse_ops_args(&a, argc, argv, status_usage);
	if (rc)
		return rc == FRONT_HELP ? EXIT_OK : rc;
	status = open_repo("status", a.repo, &repo, &s);
	if (status)
		return status;
	if (a.branch) {
		branches = fg_calloc(1, sizeof(char *));
		branches[0] = fg_strdup(a.branch);
		n = 1;
	} else if (repo_local_branches(repo, &branches, &n)) {
		status = front_fail("status", EXIT_USAGE, "listing branches");
		goto done;
	}
	if (a.metrics) {
		status = status_metrics(&a, repo, &s, branches, n);
		goto done;
	}
	fg_buf_init(&out);
	if (a.json)
		fg_buf_puts(&out, "{\"branches\": [");
	ss = session_of(repo, &s, branches, n, 0, a.full);
	for (i = 0; i < n && status == EXIT_OK; i++) {
		struct schedule_options o;
		struct schedule sc;

		memset(&o, 0, sizeof(o));
		o.branch = branches[i];
		o.full = a.full;
		o.session = ss;
		progress(&o);
		rc = schedule_run(&sc, repo, &s, &o);
		progress_done(&o);
		print_warnings("status", &sc, branches[i]);
		if (schedule_unschedulable(rc, &sc) && !a.json) {
			/* A free branch's invalid fleet: shown, the others go on. */
			fg_buf_printf(&out, "%s@%.7s: not scheduled: ", branches[i], sc.commit);
			fg_buf_put_printable(&out, fg_error_message());
			fg_buf_puts(&out, "\n\n");
		}
		if (schedule_unschedulable(rc, &sc)) {
			schedule_release(&sc);
			continue;
		}
		if (rc) {
			status = report_failure("status", rc, &sc, branches[i]);
			schedule_release(&sc);
			break;
		}
		if (sc.plan.ndevices || a.branch) {
			if (a.json)
				status_json(&out, &sc.plan, !shown);
			else
				status_text(&out, &sc.plan);
			shown++;
		}
		failed += sc.plan.os_failed;
		no_configure |= sc.configure_absent;
		schedule_release(&sc);
	}
	schedule_session_free(ss);
	if (no_configure && !a.json)
		fg_buf_puts(&out, PLAN_NO_CONFIGURE "\n");
	if (status == EXIT_OK && spool_list(repo_gitdir(repo), &jobs, &njobs, NULL) == 0 &&
	    (njobs || a.json)) {
		if (a.json)
			fg_buf_puts(&out, "\n]");
		status_spool(&out, jobs, njobs, a.json);
	} else if (a.json) {
		fg_buf_puts(&out, "\n]");
	}
	if (status == EXIT_OK)
		status = status_verification(&out, repo, &s, a.json);
	if (a.json)
		fg_buf_puts(&out, "}\n");
	if (status == EXIT_OK) {
		status = status_write(&a, &out);
		if (!status && failed)
			status = EXIT_REJECTED;
	}
done:
	spool_jobs_free(jobs, njobs);
	fg_buf_release(&out);
	fg_strings_free(branches, n);
	settings_release(&s);
	repo_free(repo);
	return status;
}
