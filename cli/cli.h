#ifndef FLEETGATE_CLI_H
#define FLEETGATE_CLI_H

#include <stddef.h>

/*
 * The front ends: each subcommand parses its arguments, calls the library,
 * prints, and maps the outcome to an exit status: 0 success, 1 rejected,
 * invalid or failed, 2 usage or environment error (CONTRIBUTING.md).
 */

enum {
	EXIT_OK = 0,
	EXIT_REJECTED = 1, /* rejected, invalid or failed */
	EXIT_USAGE = 2,    /* usage or environment error */
};

int cmd_validate(int argc, char **argv);
int cmd_install(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_reconcile(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_gate(int argc, char **argv);
int cmd_import(int argc, char **argv);

/* Print "fleetgate <cmd>: <message>" to stderr and return EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct option;

/*
 * The usage error for what getopt_long returned as `c` ('?' or, with an
 * option string starting with ':', ':'): "option '--branch' needs a value",
 * "option '--all' takes no value", or "unknown option '--x'". Returns
 * EXIT_USAGE. Every subcommand's argument loop shares it.
 */
int cli_option_error(const char *cmd, int c, char **argv, const struct option *options);

/* Print "fleetgate <cmd>: <what>: <library error>" and return `status`. */
int cli_fail(const char *cmd, int status, const char *what);

/* Write all of `s` to stdout; 0, or EXIT_USAGE when stdout is gone. */
int cli_write_stdout(const char *s, size_t len);

/* The absolute path of this program, malloc'd (for hooks that call it). */
char *cli_self_path(void);

#endif
