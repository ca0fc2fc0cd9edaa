/*
 * fleetgate gate [--source S --target T] [--repo PATH] [--format text|json]
 *                [--junit FILE] [--markdown FILE] [--codequality FILE]
 *
 * The merge-request gate for CI (docs/design.md): judges merging the source branch
 * into the target with the rules the pre-receive hook enforces, and writes
 * the reports the forges show on a merge request.
 */
#include "gate/gate.h"

#include "front/front.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/fsutil.h"
#include "rules/gate.h"
#include "rules/gate_report.h"
#include "git/repo.h"

#include "deploy/plan_report.h"
#include "deploy/schedule.h"
#include "rules/promote.h"
#include "rules/settings.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
	"usage: fleetgate gate [--source BRANCH --target BRANCH] [--repo PATH]\n"
	"                      [--format text|json] [--junit FILE] [--markdown FILE]\n"
	"                      [--codequality FILE] [--merge-method merge|ff|squash|rebase]\n"
	"\n"
	"Judge a merge request with the promotion rules of the pre-receive hook: the\n"
	"commits the forge's merge will push are judged as the hook will judge them.\n"
	"A later stage takes merge requests only from its upstream stage, by a merge\n"
	"commit or a fast-forward (a squash or a rebase makes new commits the hook\n"
	"refuses); any branch may target the first stage; the source's fleet\n"
	"configuration must validate.\n"
	"\n"
	"  --source BRANCH     the merge request's source branch (default: GitLab's\n"
	"                      CI_MERGE_REQUEST_SOURCE_BRANCH_NAME, else GitHub's and\n"
	"                      Gitea's GITHUB_HEAD_REF)\n"
	"  --target BRANCH     its target branch (default: CI_MERGE_REQUEST_TARGET_BRANCH_NAME,\n"
	"                      else GITHUB_BASE_REF)\n"
	"  --repo PATH         the repository (default: GIT_DIR, else the one around the\n"
	"                      current folder); it needs full history, not a shallow clone\n"
	"  --format FMT        the report on stdout: text (default) or json\n"
	"  --junit FILE        also write JUnit XML (GitLab's merge-request test widget)\n"
	"  --codequality FILE  also write GitLab Code Quality JSON\n"
	"  --markdown FILE     also write a markdown summary (a comment, $GITHUB_STEP_SUMMARY);\n"
	"                      FILE is replaced\n"
	"  --merge-method M    how the forge merges: merge (a merge commit), ff, squash or\n"
	"                      rebase (default: squash when GitLab's\n"
	"                      CI_MERGE_REQUEST_SQUASH_ON_MERGE is true, else a merge\n"
	"                      commit is judged and the report says whether a\n"
	"                      fast-forward would pass)\n"
	"\n"
	"With Mender credentials in the environment (MENDER_ACCESS_TOKEN, or\n"
	"MENDER_USER and MENDER_PASSWORD; the server from MENDER_SERVER, never fleet.yaml)\n"
	"the text report ends with a preview of the deployments the merge would\n"
	"schedule on the target, like 'fleetgate plan'; a preview that fails is\n"
	"reported and does not change the verdict.\n"
	"\n"
	"A branch is named as git names it: main (the local branch, else origin/main),\n"
	"origin/main, refs/heads/main, refs/remotes/origin/main. Under GitHub or Gitea\n"
	"Actions (GITHUB_ACTIONS=true) the text report is preceded by annotations.\n"
	"\n"
	"Exit status: 0 accepted, 1 refused (or invalid configuration), 2 usage or\n"
	"environment error (no repository, shallow clone, unknown source branch).\n";

struct gate_args {
	const char *source;
	const char *target;
	const char *repo;
	const char *junit;
	const char *markdown;
	const char *codequality;
	int json;
	struct gate_merge merge;
};

static int parse_method(struct gate_merge *m, const char *name)
{
	enum policy_merge_method k;

	for (k = POLICY_MERGE_COMMIT; k <= POLICY_MERGE_REBASE; k++) {
		if (!strcmp(name, policy_merge_method_flag(k))) {
			m->method = k;
			m->method_known = 1;
			return 0;
		}
	}
	return -1;
}

static int gate_option(void *data, int c, const char *arg)
{
	struct gate_args *a = data;
	const char **file = NULL;
	const char *name = NULL;

	switch (c) {
	case 's':
		a->source = arg;
		break;
	case 't':
		a->target = arg;
		break;
	case 'R':
		a->repo = arg;
		break;
	case 'f':
		return front_format("gate", arg, &a->json);
	case 'j':
		file = &a->junit;
		name = "--junit";
		break;
	case 'm':
		file = &a->markdown;
		name = "--markdown";
		break;
	case 'c':
		file = &a->codequality;
		name = "--codequality";
		break;
	case 'M':
		if (parse_method(&a->merge, arg))
			return front_usage_error(
				"gate",
				"--merge-method must be merge, ff, squash or rebase, not '%s'", arg);
		break;
	}
	if (file && !*arg)
		return front_usage_error("gate", "%s needs a file name, not an empty one", name);
	if (file)
		*file = arg;
	return 0;
}

static int parse_args(struct gate_args *a, int argc, char **argv)
{
	static const struct option options[] = {
		{ "source", required_argument, NULL, 's' },
		{ "target", required_argument, NULL, 't' },
		{ "repo", required_argument, NULL, 'R' },
		{ "format", required_argument, NULL, 'f' },
		{ "junit", required_argument, NULL, 'j' },
		{ "markdown", required_argument, NULL, 'm' },
		{ "codequality", required_argument, NULL, 'c' },
		{ "merge-method", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct front_args fa = { "gate", usage_text, options, gate_option, a, NULL, 0, 0 };

	memset(a, 0, sizeof(*a));
	return front_parse(&fa, argc, argv);
}

/* A CI variable; empty counts as unset (GitHub sets GITHUB_HEAD_REF to ""
 * outside pull requests). */
static const char *ci_var(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static int find_branches(struct gate_args *a)
{
	if (!a->source)
		a->source = ci_var("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME");
	if (!a->source)
		a->source = ci_var("GITHUB_HEAD_REF");
	if (!a->target)
		a->target = ci_var("CI_MERGE_REQUEST_TARGET_BRANCH_NAME");
	if (!a->target)
		a->target = ci_var("GITHUB_BASE_REF");
	/* GitLab says when the merge request will be squashed; no forge says
	 * its merge method otherwise. */
	if (!a->merge.method_known && ci_var("CI_MERGE_REQUEST_SQUASH_ON_MERGE") &&
	    !strcmp(ci_var("CI_MERGE_REQUEST_SQUASH_ON_MERGE"), "true")) {
		a->merge.method = POLICY_MERGE_SQUASH;
		a->merge.method_known = 1;
	}
	if (!a->source)
		return front_usage_error(
			"gate",
			"no source branch: give --source, or run in a merge-request pipeline (GitLab sets CI_MERGE_REQUEST_SOURCE_BRANCH_NAME, GitHub and Gitea Actions set GITHUB_HEAD_REF)");
	if (!a->target)
		return front_usage_error(
			"gate",
			"no target branch: give --target, or run in a merge-request pipeline (GitLab sets CI_MERGE_REQUEST_TARGET_BRANCH_NAME, GitHub and Gitea Actions set GITHUB_BASE_REF)");
	return 0;
}

/* Write one report file; `option` names it in a failure ("--junit"). */
static int write_report(const char *option, const char *path, const struct gate_result *r,
			void (*render)(struct fg_buf *, const struct gate_result *))
{
	struct fg_buf out = FG_BUF_INIT;
	int rc;

	if (!path)
		return 0;
	fg_buf_init(&out);
	render(&out, r);
	/* a reader never sees half a report */
	rc = fs_write_atomic(path, out.ptr, out.len, 0644);
	fg_buf_release(&out);
	return rc ? front_fail("gate", EXIT_USAGE, option) : 0;
}

/* With Mender credentials at hand, what the merge would schedule. */
static void preview(struct fg_buf *out, struct fg_repo *repo, const struct gate_result *r)
{
	struct schedule_options o;
	struct schedule sc;
	struct settings s;
	const char *token = getenv("MENDER_ACCESS_TOKEN");

	if (!(token && *token) && !(getenv("MENDER_USER") && getenv("MENDER_PASSWORD")))
		return;
	if (settings_load(&s, repo)) {
		fg_buf_printf(out, "preview: %s\n", fg_error_message());
		return;
	}
	memset(&o, 0, sizeof(o));
	o.branch = r->target;
	o.rev = r->source_commit;
	fg_buf_printf(out, "\npreview: what merging into %s would schedule in Mender\n", r->target);
	if (schedule_run(&sc, repo, &s, &o) == 0)
		plan_report_text(out, &sc.plan, 0);
	else
		fg_buf_printf(out, "preview not available: %s\n", fg_error_message());
	schedule_release(&sc);
	settings_release(&s);
}

/* Which merge was judged when the forge did not say, and the other one. */
static void method_note(struct fg_buf *out, const struct gate_result *r)
{
	const struct policy_verdict *v = r->verdict;

	/* A fast-forward is a promotion's choice only: the first stage takes
	 * merge commits, and a merge request from elsewhere fails anyway. */
	if (r->method_known || policy_is_zero(r->target_commit) || !v->upstream ||
	    strcmp(v->upstream, r->source))
		return;
	fg_buf_puts(out, "  judged as a merge commit (--merge-method to choose); a fast-forward would be ");
	if (r->ff_accepted) {
		fg_buf_puts(out, "accepted too\n");
	} else {
		fg_buf_puts(out, "refused: ");
		fg_buf_put_printable(out, r->ff_why);
		fg_buf_puts(out, "\n");
	}
}

static int github_actions(void)
{
	const char *v = getenv("GITHUB_ACTIONS");

	return v && !strcmp(v, "true");
}

/* GitHub's merge commit subject, under GitHub Actions on a pull request
 * (GITHUB_REF refs/pull/<n>/merge); NULL elsewhere: GitLab's is the default.
 * The subject never changes the verdict. */
static char *github_message(const char *source)
{
	const char *ref = ci_var("GITHUB_REF"), *owner = ci_var("GITHUB_REPOSITORY_OWNER");
	unsigned long n;
	char *end;

	if (!github_actions() || !ref || !owner || strncmp(ref, "refs/pull/", 10))
		return NULL;
	n = strtoul(ref + 10, &end, 10);
	if (end == ref + 10 || strcmp(end, "/merge"))
		return NULL;
	return fg_asprintf("Merge pull request #%lu from %s/%s", n, owner, source);
}

/* Verified promotion: the upstream stage's evidence, from the fetched
 * refs/notes/fleetgate/<stage> (no Mender credentials in CI). */
static int gate_evidence(struct fg_repo *repo, struct gate_result *r)
{
	struct settings s;
	int rc;

	if (settings_load(&s, repo))
		return -1;
	rc = promote_gate(r->verdict, repo, &s.verify, r->source_commit, front_now_ms());
	settings_release(&s);
	return rc;
}

int cmd_gate(int argc, char **argv)
{
	struct gate_args a;
	struct gate_result result;
	struct fg_repo *repo = NULL;
	struct fg_buf out = FG_BUF_INIT;
	char *message = NULL;
	int status, rc;

	rc = parse_args(&a, argc, argv);
	if (rc)
		return rc == FRONT_HELP ? EXIT_OK : rc;
	rc = find_branches(&a);
	if (rc)
		return rc;
	message = github_message(a.source);
	a.merge.message = message;
	gate_result_init(&result);
	fg_buf_init(&out);
	if (repo_open(&repo, a.repo)) {
		status = front_fail("gate", EXIT_USAGE, NULL);
		goto done;
	}
	if (gate_judge(&result, repo, a.source, a.target, &a.merge) || gate_evidence(repo, &result)) {
		status = front_fail("gate", EXIT_USAGE, NULL);
		goto done;
	}
	if (a.json) {
		gate_report_json(&out, &result);
	} else {
		/* Workflow commands only with text: they would break the JSON. */
		if (github_actions())
			gate_report_annotations(&out, &result);
		gate_report_text(&out, &result);
		method_note(&out, &result);
		if (result.verdict->accepted)
			preview(&out, repo, &result);
	}
	if (front_write_stdout(out.ptr, out.len)) {
		status = EXIT_USAGE;
		goto done;
	}
	status = result.verdict->accepted ? EXIT_OK : EXIT_REJECTED;
	if ((rc = write_report("--junit", a.junit, &result, gate_report_junit)) ||
	    (rc = write_report("--codequality", a.codequality, &result, gate_report_codequality)) ||
	    (rc = write_report("--markdown", a.markdown, &result, gate_report_markdown)))
		status = rc;
done:
	fg_buf_release(&out);
	gate_result_release(&result);
	repo_free(repo);
	free(message);
	return status;
}
