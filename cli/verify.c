/*
 * fleetgate verify: evaluate the stages that have verification rules
 * (fleetgate.verify.<stage>.*) against Mender now, write their evidence
 * records into the repository, and print each verdict.
 */
#include "cli.h"
#include "front/front.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "deploy/verify_pass.h"
#include "git/repo.h"
#include "mender/http.h"
#include "rules/settings.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char verify_usage[] =
	"usage: fleetgate verify [--stage S] [--repo PATH] [--format text|json]\n"
	"\n"
	"Evaluate each stage that has verification rules (git config\n"
	"fleetgate.verify.<stage>.*), or only stage S: read what Mender says of its\n"
	"devices for the stage's tip, judge it (verified, pending or failed), write\n"
	"the evidence record into the repository (refs/notes/fleetgate/<stage>) and\n"
	"print the verdict, the devices by state, the failing and stuck devices and\n"
	"the overrides. The pre-receive hook lets a promotion out of a stage through\n"
	"only when that record says verified (see docs/verification.md).\n"
	"\n"
	"  --stage S        only stage S\n"
	"  --repo PATH      the repository (default: GIT_DIR or the one around here)\n"
	"  --format FMT     text (default) or json (one record per line)\n"
	"\n"
	"Exit status: 0 every stage evaluated is verified, 1 a stage is pending or\n"
	"failed, 2 usage or environment error (Mender unreachable, no rules).\n";

struct verify_args {
	const char *stage, *repo;
	int json;
};

static int verify_option(void *data, int c, const char *arg)
{
	struct verify_args *a = data;

	switch (c) {
	case 's':
		a->stage = arg;
		break;
	case 'R':
		a->repo = arg;
		break;
	case 'f':
		return front_format("verify", arg, &a->json);
	}
	return 0;
}

static int parse_args(int argc, char **argv, const char **stage, const char **repo, int *json)
{
	static const struct option options[] = {
		{ "stage", required_argument, NULL, 's' },
		{ "repo", required_argument, NULL, 'R' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct verify_args a = { NULL, NULL, 0 };
	struct front_args fa = { "verify", verify_usage, options, verify_option, &a, NULL, 0, 0 };
	int rc = front_parse(&fa, argc, argv);

	*stage = a.stage;
	*repo = a.repo;
	*json = a.json;
	return rc == FRONT_HELP ? -1 : rc;
}

/* Evaluate one stage and print it; EXIT_OK when verified. */
static int verify_one(struct fg_repo *repo, const struct settings *s, const char *stage, int json,
		      struct fg_buf *out)
{
	struct schedule_options o;
	struct verify_pass p;
	int64_t now = front_now_ms();
	int rc;

	memset(&o, 0, sizeof(o));
	o.deadline_ms = fg_http_now_ms() + (int64_t)s->apply_timeout * 1000;
	rc = verify_pass_run(&p, repo, s, stage, now, &o);
	if (rc) {
		fprintf(stderr, "fleetgate verify: %s: %s\n", stage, fg_error_message());
		return EXIT_USAGE;
	}
	if (json) {
		verify_record_json(out, &p.record);
		fg_buf_putc(out, '\n');
	} else {
		verify_record_text(out, &p.record, now);
	}
	if (p.halted && !json)
		fg_buf_printf(out, "  halted: %zu deployment%s aborted\n", p.aborted, p.aborted == 1 ? "" : "s");
	if (p.notify_error)
		fprintf(stderr, "fleetgate verify: %s: %s\n", stage, p.notify_error);
	rc = p.record.verdict == VERIFY_VERIFIED ? EXIT_OK : EXIT_REJECTED;
	verify_pass_release(&p);
	return rc;
}

int cmd_verify(int argc, char **argv)
{
	const char *stage = NULL, *path = NULL;
	struct fg_repo *repo = NULL;
	struct settings s;
	struct fg_buf out = FG_BUF_INIT;
	int json = 0, status = EXIT_OK, rc;
	size_t i;

	rc = parse_args(argc, argv, &stage, &path, &json);
	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	if (repo_open(&repo, path))
		return front_fail("verify", EXIT_USAGE, "opening the repository");
	if (settings_load(&s, repo)) {
		repo_free(repo);
		return front_fail("verify", EXIT_USAGE, "reading the settings");
	}
	fg_buf_init(&out);
	if (stage && !verify_rules_of(&s.verify, stage)) {
		status = front_usage_error("verify", "stage '%s' has no rules (git config fleetgate.verify.%s.minDevices ...)",
					 stage, stage);
	} else if (!s.verify.nrules) {
		status = front_usage_error("verify", "no stage has verification rules (git config fleetgate.verify.<stage>.*)");
	}
	for (i = 0; status != EXIT_USAGE && i < s.verify.nrules; i++) {
		if (stage && strcmp(stage, s.verify.rules[i].stage))
			continue;
		rc = verify_one(repo, &s, s.verify.rules[i].stage, json, &out);
		if (rc > status)
			status = rc;
	}
	if (front_write_stdout(out.ptr, out.len))
		status = EXIT_USAGE;
	fg_buf_release(&out);
	settings_release(&s);
	repo_free(repo);
	return status;
}
