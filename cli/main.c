/*
 * fleetgate: run an IoT fleet from git.
 *
 * One program with subcommands, dispatched from one table.
 */
#include "cli/cli.h"

#include "front/front.h"
#include "gate/gate.h"
#include "hooks/hooks.h"
#include "validate/validate.h"

#include "core/alloc.h"
#include "core/error.h"
#include "git/repo.h"
#include "mender/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

/* Every command, in the order usage lists them; a NULL summary is not listed. */
struct command {
	const char *names[3]; /* the name, then what else says the same */
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ { "validate" }, cmd_validate, "check the fleet configuration (working tree, --staged, --rev)" },
	{ { "install" }, cmd_install, "install the git hooks (--repo on a server, --pre-commit in a clone)" },
	{ { "gate" }, cmd_gate, "judge a merge request in CI (promotion rules, configuration, reports)" },
	{ { "hook" }, cmd_hook, "act as a git server hook (pre-receive, update, post-receive)" },
	{ { "plan" }, cmd_plan, "print the Mender deployments a branch needs" },
	{ { "apply" }, cmd_apply, "schedule the Mender deployments a branch needs" },
	{ { "reconcile" }, cmd_reconcile, "schedule what the spool holds (and --all branches)" },
	{ { "status" }, cmd_status, "per device: desired and installed state, deployment progress; metrics (--format openmetrics)" },
	{ { "verify" }, cmd_verify, "judge the stages' devices and record the evidence promotions need" },
	{ { "import" }, cmd_import, "turn an edi-cd repository into a fleet (edi-cd DIR; --check compares)" },
	{ { "--version", "-V", "version" }, cmd_version, NULL },
	{ { "--help", "-h", "help" }, cmd_help, NULL },
};

#define NCOMMANDS (sizeof(commands) / sizeof(*commands))

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: fleetgate <command> [options]\n\ncommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		if (commands[i].summary)
			fprintf(out, "  %-10s %s\n", commands[i].names[0], commands[i].summary);
	fprintf(out, "\n'fleetgate <command> --help' (or -h) describes a command; 'fleetgate --version'\n"
		     "(or -V) prints the version; 'man fleetgate' has it all.\n"
		     "\nExit status: 0 success, 1 rejected, invalid or failed, 2 usage or environment error.\n");
}

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("fleetgate %s\n", FLEETGATE_VERSION);
	return EXIT_OK;
}

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return EXIT_OK;
}

static const struct command *find_command(const char *name)
{
	size_t i, k;

	for (i = 0; i < NCOMMANDS; i++)
		for (k = 0; k < sizeof(commands[i].names) / sizeof(*commands[i].names); k++)
			if (commands[i].names[k] && !strcmp(name, commands[i].names[k]))
				return &commands[i];
	return NULL;
}

static void out_of_memory(size_t size)
{
	/* Fail closed: in a hook a non-zero exit refuses the push. */
	fprintf(stderr, "fleetgate: out of memory (allocating %zu bytes)\n", size);
	_exit(EXIT_USAGE);
}

/*
 * The hooks install writes run "fleetgate hook NAME" (cli/install.c): the
 * program acts the same whatever name it is started by.
 */
int main(int argc, char **argv)
{
	const struct command *c;
	int status = EXIT_USAGE;

	fg_set_oom_handler(out_of_memory);
	if (repo_global_init() || fg_http_global_init()) {
		fprintf(stderr, "fleetgate: %s\n", fg_error_message());
		return EXIT_USAGE;
	}
	if (argc < 2) {
		usage(stderr);
	} else if ((c = find_command(argv[1]))) {
		status = c->run(argc - 1, argv + 1);
	} else {
		fprintf(stderr, "fleetgate: unknown command '%s'\n\n", argv[1]);
		usage(stderr);
	}
	fg_http_global_cleanup();
	repo_global_shutdown();
	return status;
}
