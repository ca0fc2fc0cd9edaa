/*
 * fleetgate: run an IoT fleet from git.
 *
 * One program with subcommands; installed as hooks/pre-receive or
 * hooks/post-receive it acts as that hook.
 */
#include "cli.h"
#include "hooks.h"

#include "core/alloc.h"
#include "core/error.h"
#include "mender/http.h"
#include "git/repo.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "validate", cmd_validate, "check the fleet configuration (working tree, --staged, --rev)" },
	{ "install", cmd_install, "install the git hooks (--repo on a server, --pre-commit in a clone)" },
	{ "gate", cmd_gate, "judge a merge request in CI (promotion rules, configuration, reports)" },
	{ "hook", cmd_hook, "act as a git server hook (pre-receive, update, post-receive)" },
	{ "plan", cmd_plan, "print the Mender deployments a branch needs" },
	{ "apply", cmd_apply, "schedule the Mender deployments a branch needs" },
	{ "reconcile", cmd_reconcile, "schedule what the spool holds (and --all branches)" },
	{ "status", cmd_status, "per device: desired and installed state, deployment progress" },
	{ "import", cmd_import, "turn an edi-cd repository into a fleet (edi-cd DIR; --check compares)" },
};

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: fleetgate <command> [options]\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'fleetgate <command> --help' (or -h) describes a command; 'fleetgate --version'\n"
		     "(or -V) prints the version; 'man fleetgate' has it all.\n"
		     "\nExit status: 0 success, 1 rejected, invalid or failed, 2 usage or environment error.\n");
}

static void out_of_memory(size_t size)
{
	/* Fail closed: in a hook a non-zero exit refuses the push. */
	fprintf(stderr, "fleetgate: out of memory (allocating %zu bytes)\n", size);
	_exit(EXIT_USAGE);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fleetgate %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

int cli_option_error(const char *cmd, int c, char **argv, const struct option *options)
{
	const char *arg = argv[optind - 1];
	size_t name_len = strcspn(arg, "=");
	const struct option *o = NULL;
	size_t i;

	for (i = 0; optopt && options[i].name; i++) {
		if (options[i].val == optopt && !options[i].flag) {
			o = &options[i];
			break;
		}
	}
	if (c == ':' && o)
		return cli_usage_error(cmd, "option '--%s' needs a value (see --help)", o->name);
	/* "--all=yes": the option's name, as far as given, then a value. */
	if (o && !strncmp(arg, "--", 2) && arg[name_len] == '=' &&
	    !strncmp(arg + 2, o->name, name_len - 2))
		return cli_usage_error(cmd, "option '--%s' takes no value (see --help)", o->name);
	if (optopt)
		return cli_usage_error(cmd, "unknown option '-%c' (see --help)", optopt);
	/* "--f" of --format and --full */
	for (i = 0, o = NULL; !strncmp(arg, "--", 2) && options[i].name; i++) {
		if (strncmp(options[i].name, arg + 2, name_len - 2))
			continue;
		if (o)
			return cli_usage_error(cmd, "option '%.*s' is ambiguous: --%s or --%s? (see --help)",
					       (int)name_len, arg, o->name, options[i].name);
		o = &options[i];
	}
	return cli_usage_error(cmd, "unknown option '%.*s' (see --help)", (int)name_len, arg);
}

int cli_fail(const char *cmd, int status, const char *what)
{
	if (what && *what)
		fprintf(stderr, "fleetgate %s: %s: %s\n", cmd, what, fg_error_message());
	else
		fprintf(stderr, "fleetgate %s: %s\n", cmd, fg_error_message());
	return status;
}

int cli_write_stdout(const char *s, size_t len)
{
	if (len && fwrite(s, 1, len, stdout) != len)
		return EXIT_USAGE;
	if (fflush(stdout))
		return EXIT_USAGE;
	return 0;
}

char *cli_self_path(void)
{
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return fg_strdup(buf);
}

int main(int argc, char **argv)
{
	const char *self = argc > 0 ? argv[0] : "fleetgate";
	char *base_copy = fg_strdup(self);
	const char *base = basename(base_copy);
	int status = EXIT_USAGE;
	size_t i;

	fg_set_oom_handler(out_of_memory);
	if (repo_global_init() || fg_http_global_init()) {
		fprintf(stderr, "fleetgate: %s\n", fg_error_message());
		free(base_copy);
		return EXIT_USAGE;
	}
	/* Installed as hooks/pre-receive or hooks/update (a link). */
	if (!strcmp(base, "pre-receive")) {
		status = hook_pre_receive(argc, argv);
		goto done;
	}
	if (!strcmp(base, "update")) {
		status = hook_update(argc, argv);
		goto done;
	}
	if (!strcmp(base, "post-receive")) {
		status = hook_post_receive(argc, argv);
		goto done;
	}
	if (!strcmp(base, "reference-transaction")) {
		status = hook_reference_transaction(argc, argv);
		goto done;
	}
	if (argc < 2) {
		usage(stderr);
		goto done;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V") || !strcmp(argv[1], "version")) {
		printf("fleetgate %s\n", FLEETGATE_VERSION);
		status = EXIT_OK;
		goto done;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		status = EXIT_OK;
		goto done;
	}
	for (i = 0; i < sizeof(commands) / sizeof(*commands); i++) {
		if (!strcmp(argv[1], commands[i].name)) {
			status = commands[i].run(argc - 1, argv + 1);
			goto done;
		}
	}
	fprintf(stderr, "fleetgate: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
done:
	free(base_copy);
	fg_http_global_cleanup();
	repo_global_shutdown();
	return status;
}
