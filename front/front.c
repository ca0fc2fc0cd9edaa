/*
 * The helpers every front end shares (front.h).
 */
#include "front/front.h"

#include "core/alloc.h"
#include "core/error.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int front_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fleetgate %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

int front_option_error(const char *cmd, int c, char **argv, const struct option *options)
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
		return front_usage_error(cmd, "option '--%s' needs a value (see --help)", o->name);
	/* "--all=yes": the option's name, as far as given, then a value. */
	if (o && !strncmp(arg, "--", 2) && arg[name_len] == '=' &&
	    !strncmp(arg + 2, o->name, name_len - 2))
		return front_usage_error(cmd, "option '--%s' takes no value (see --help)", o->name);
	if (optopt)
		return front_usage_error(cmd, "unknown option '-%c' (see --help)", optopt);
	/* "--f" of --format and --full */
	for (i = 0, o = NULL; !strncmp(arg, "--", 2) && options[i].name; i++) {
		if (strncmp(options[i].name, arg + 2, name_len - 2))
			continue;
		if (o)
			return front_usage_error(cmd,
						 "option '%.*s' is ambiguous: --%s or --%s? (see --help)",
						 (int)name_len, arg, o->name, options[i].name);
		o = &options[i];
	}
	return front_usage_error(cmd, "unknown option '%.*s' (see --help)", (int)name_len, arg);
}

int front_parse(struct front_args *a, int argc, char **argv)
{
	int c, rc;

	a->noperands = 0;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", a->options, NULL)) != -1) {
		if (c == 'h') {
			fputs(a->usage, stdout);
			return FRONT_HELP;
		}
		if (c == '?' || c == ':')
			return front_option_error(a->cmd, c, argv, a->options);
		rc = a->option(a->data, c, optarg);
		if (rc)
			return rc;
	}
	while (optind < argc && a->noperands < a->max_operands)
		a->operands[a->noperands++] = argv[optind++];
	if (optind < argc)
		return front_usage_error(a->cmd, "unexpected argument '%s'", argv[optind]);
	return 0;
}

int front_format(const char *cmd, const char *arg, int *json)
{
	if (!strcmp(arg, "json"))
		*json = 1;
	else if (strcmp(arg, "text"))
		return front_usage_error(cmd, "--format must be text or json, not '%s'", arg);
	return 0;
}

int front_fail(const char *cmd, int status, const char *what)
{
	if (what && *what)
		fprintf(stderr, "fleetgate %s: %s: %s\n", cmd, what, fg_error_message());
	else
		fprintf(stderr, "fleetgate %s: %s\n", cmd, fg_error_message());
	return status;
}

int front_write_stdout(const char *s, size_t len)
{
	if (len && fwrite(s, 1, len, stdout) != len)
		return EXIT_USAGE;
	if (fflush(stdout))
		return EXIT_USAGE;
	return 0;
}

char *front_self_path(void)
{
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return fg_strdup(buf);
}

const char *front_branch_of(const char *ref)
{
	static const char prefix[] = "refs/heads/";

	return strncmp(ref, prefix, sizeof(prefix) - 1) ? NULL : ref + sizeof(prefix) - 1;
}

int64_t front_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
