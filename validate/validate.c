/*
 * fleetgate validate [DIR] | --staged | --rev REV
 *
 * Checks the fleet configuration in a working-tree folder, in git's index
 * (what a commit would record; the pre-commit hook) or in a commit.
 */
#include "validate/validate.h"

#include "front/front.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "fleet/diag.h"
#include "core/error.h"
#include "fleet/fleet.h"
#include "git/repo.h"
#include "rules/settings.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: fleetgate validate [DIR] [--format text|json] [--strict] [--quiet] [--repo PATH]\n"
	"       fleetgate validate --staged [--format text|json] [--strict]\n"
	"       fleetgate validate --rev REV [--repo PATH] [--format text|json] [--strict]\n"
	"\n"
	"Check fleet.yaml and devices/*.yaml. Without --staged or --rev, the files in\n"
	"DIR (default: the top of the working tree around the current folder).\n"
	"\n"
	"  --staged         judge git's index: what the next commit would record\n"
	"  --rev REV        judge the tree of commit REV, without a checkout\n"
	"  --repo PATH      the repository (a clone or a bare repository)\n"
	"  --format FMT     text (default, like a compiler) or json\n"
	"  --strict         warnings count as errors\n"
	"  --quiet          print nothing when there is nothing to report\n"
	"\n"
	"Exit status: 0 valid, 1 invalid, 2 usage or environment error.\n";

struct validate_args {
	const char *dir;
	const char *rev;
	const char *repo;
	int staged;
	int json;
	int strict;
	int quiet;
};

static int validate_option(void *data, int c, const char *arg)
{
	struct validate_args *a = data;

	switch (c) {
	case 's':
		a->staged = 1;
		break;
	case 'r':
		a->rev = arg;
		break;
	case 'R':
		a->repo = arg;
		break;
	case 'f':
		return front_format("validate", arg, &a->json);
	case 'S':
		a->strict = 1;
		break;
	case 'q':
		a->quiet = 1;
		break;
	}
	return 0;
}

static int parse_args(struct validate_args *a, int argc, char **argv)
{
	static const struct option options[] = {
		{ "staged", no_argument, NULL, 's' },
		{ "rev", required_argument, NULL, 'r' },
		{ "repo", required_argument, NULL, 'R' },
		{ "format", required_argument, NULL, 'f' },
		{ "strict", no_argument, NULL, 'S' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *dir = NULL;
	struct front_args fa = { "validate", usage_text, options, validate_option, a, &dir, 1, 0 };
	int rc;

	memset(a, 0, sizeof(*a));
	rc = front_parse(&fa, argc, argv);
	if (rc)
		return rc;
	a->dir = dir;
	if ((a->staged != 0) + (a->rev != NULL) + (a->dir != NULL) > 1)
		return front_usage_error("validate", "give only one of DIR, --staged and --rev");
	return 0;
}

/* Known branches and server stages, for the unknown-branch warning. */
static int branch_options(struct fleet_load_options *o, struct settings *s, struct fg_repo *repo)
{
	int rc;

	memset(o, 0, sizeof(*o));
	memset(s, 0, sizeof(*s));
	if (!repo)
		return 0;
	rc = settings_load(s, repo);
	if (rc)
		return rc;
	rc = repo_branch_names(repo, &o->branches, &o->nbranches);
	if (rc)
		return rc;
	o->check_branches = 1;
	o->stages = s->stages;
	o->nstages = s->nstages;
	return 0;
}

static void print_summary(const struct diags *d, const struct fleet *f, const char *label)
{
	printf("%s: fleet.yaml and %zu device file%s: %zu error%s, %zu warning%s\n", label,
	       f->ndevices, f->ndevices == 1 ? "" : "s", d->errors, d->errors == 1 ? "" : "s",
	       d->warnings, d->warnings == 1 ? "" : "s");
}

int cmd_validate(int argc, char **argv)
{
	struct validate_args a;
	struct fleet_load_options opts;
	struct settings settings;
	struct source src = { 0 };
	struct fg_repo *repo = NULL;
	struct fleet *fleet = NULL;
	struct diags diags;
	struct fg_buf out = FG_BUF_INIT;
	int status, rc;

	rc = parse_args(&a, argc, argv);
	if (rc)
		return rc == FRONT_HELP ? EXIT_OK : rc;
	diags_init(&diags);
	memset(&opts, 0, sizeof(opts));
	memset(&settings, 0, sizeof(settings));

	if (a.staged || a.rev || a.repo) {
		rc = repo_open(&repo, a.repo);
		if (rc) {
			status = front_fail("validate", EXIT_USAGE, NULL);
			goto done;
		}
	} else if (repo_open(&repo, NULL)) {
		repo = NULL; /* a plain folder: no branches to compare with */
	}

	if (a.staged)
		rc = repo_source_index(repo, &src);
	else if (a.rev)
		rc = repo_source_rev(repo, a.rev, &src);
	else if (a.dir)
		rc = source_open_dir(&src, a.dir);
	else if (repo && repo_workdir(repo))
		rc = source_open_dir(&src, repo_workdir(repo));
	else if (repo)
		rc = fg_error_set(FG_EINVAL, "the repository is bare: give --rev REV");
	else
		rc = source_open_dir(&src, ".");
	if (rc) {
		status = front_fail("validate", EXIT_USAGE, NULL);
		goto done;
	}
	rc = branch_options(&opts, &settings, repo);
	if (!rc)
		rc = fleet_load(&fleet, &src, &opts, &diags);
	if (rc) {
		status = front_fail("validate", EXIT_USAGE, src.label);
		goto done;
	}
	if (a.strict)
		diags_promote_warnings(&diags);

	fg_buf_init(&out);
	if (a.json)
		diags_format_json(&diags, &out);
	else
		diags_format_text(&diags, &out);
	if (front_write_stdout(out.ptr, out.len)) {
		status = EXIT_USAGE;
		goto done;
	}
	if (!a.json && !(a.quiet && !diags.count))
		print_summary(&diags, fleet, src.label);
	status = diags.errors ? EXIT_REJECTED : EXIT_OK;
done:
	fg_buf_release(&out);
	fleet_free(fleet);
	source_release(&src);
	fg_strings_free(opts.branches, opts.nbranches);
	settings_release(&settings);
	repo_free(repo);
	diags_release(&diags);
	return status;
}
