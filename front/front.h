#ifndef FLEETGATE_FRONT_H
#define FLEETGATE_FRONT_H

#include <stdint.h>

#include <stddef.h>

/*
 * What every front end shares (cli/, hooks/, gate/, validate/): exit
 * statuses, usage errors, the one getopt_long loop, stdout, the program's
 * own path and ref names. Each front end parses its arguments, calls the
 * library, prints, and maps the outcome to an exit status: 0 success, 1
 * rejected, invalid or failed, 2 usage or environment error
 * (CONTRIBUTING.md). This folder includes only lib/; the front ends include
 * it, never each other (scripts/check-layers).
 */

enum {
	EXIT_OK = 0,
	EXIT_REJECTED = 1, /* rejected, invalid or failed */
	EXIT_USAGE = 2,    /* usage or environment error */
};

/* Print "fleetgate <cmd>: <message>" to stderr and return EXIT_USAGE. */
int front_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print "fleetgate <cmd>: <what>: <library error>" and return `status`. */
int front_fail(const char *cmd, int status, const char *what);

/* Write all of `s` to stdout; 0, or EXIT_USAGE when stdout is gone. */
int front_write_stdout(const char *s, size_t len);

/* The absolute path of this program, malloc'd (for hooks that call it). */
char *front_self_path(void);

/* The branch `ref` names ("main" of "refs/heads/main"), or NULL when it
 * is not a branch. */
const char *front_branch_of(const char *ref);

struct option;

/*
 * A command's arguments: `options` (the last all zero; --help is given as
 * { "help", no_argument, NULL, 'h' }), and at most `max_operands`
 * arguments that are not options, which go to operands[].
 */
struct front_args {
	const char *cmd;   /* "plan": the name in messages */
	const char *usage; /* what --help prints, to stdout */
	const struct option *options;
	/* Called for each option but --help, in order, with getopt_long's
	 * value and argument (NULL without one): 0, or the usage error
	 * front_usage_error() returned, which stops the parse. */
	int (*option)(void *data, int c, const char *arg);
	void *data;
	char **operands; /* room for max_operands */
	size_t max_operands;
	size_t noperands; /* out */
};

/*
 * Parse argv[1..] with getopt_long: 0 when the command is to run,
 * FRONT_HELP when --help (or -h) printed the usage (exit EXIT_OK), or the
 * EXIT_USAGE of the first error: an option's error as front_option_error()
 * says it, or "unexpected argument 'x'".
 */
enum { FRONT_HELP = -1 };
int front_parse(struct front_args *a, int argc, char **argv);

/* --format: text (*json = 0) or json (*json = 1); else the usage error. */
int front_format(const char *cmd, const char *arg, int *json);

/*
 * The usage error for what getopt_long returned as `c` ('?' or, with an
 * option string starting with ':', ':'): "option '--branch' needs a value",
 * "option '--all' takes no value", "option '--f' is ambiguous", or
 * "unknown option '--x'". Returns EXIT_USAGE.
 */
int front_option_error(const char *cmd, int c, char **argv, const struct option *options);

/* Milliseconds since the epoch, now (the verdicts' clock). */
int64_t front_now_ms(void);

#endif
