/*
 * fleetgate install --pre-commit [--repo PATH]
 *
 * Writes a plain git pre-commit hook into a developer's clone that runs
 * `fleetgate validate --staged`. A hook that fleetgate did not write is
 * never overwritten.
 */
#include "cli.h"

#include "alloc.h"
#include "error.h"
#include "repo.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOOK_MARK "# installed by fleetgate install"

static const char usage_text[] =
	"usage: fleetgate install --pre-commit [--repo PATH]\n"
	"\n"
	"  --pre-commit     write .git/hooks/pre-commit in a clone: every commit runs\n"
	"                   'fleetgate validate --staged' and is refused when invalid\n"
	"  --repo PATH      the clone (default: the one around the current folder)\n"
	"\n"
	"An existing pre-commit hook that fleetgate did not write is left alone.\n";

/* Is `path` a hook that fleetgate wrote (or absent)? */
static int ours_or_absent(const char *path)
{
	char buf[512];
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f)
		return errno == ENOENT;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, HOOK_MARK) != NULL;
}

/* Write `content` to `path` atomically (temporary file, fsync, rename). */
static int write_executable(const char *path, const char *content)
{
	char *tmp = fg_asprintf("%s.fleetgate-tmp", path);
	size_t len = strlen(content);
	int fd, rc = 0;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (fd < 0) {
		rc = fg_error_set(FG_EIO, "%s: %s", tmp, strerror(errno));
		goto done;
	}
	if (write(fd, content, len) != (ssize_t)len || fsync(fd) || fchmod(fd, 0755)) {
		rc = fg_error_set(FG_EIO, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto done;
	}
	close(fd);
	if (rename(tmp, path)) {
		rc = fg_error_set(FG_EIO, "%s: %s", path, strerror(errno));
		unlink(tmp);
	}
done:
	free(tmp);
	return rc;
}

static int install_pre_commit(const char *repo_path)
{
	struct fg_repo *repo = NULL;
	char *self = NULL, *hooks = NULL, *hook = NULL, *script = NULL, *custom = NULL;
	struct stat st;
	int status = EXIT_OK;

	if (repo_open(&repo, repo_path))
		return cli_fail("install", EXIT_USAGE, NULL);
	if (!repo_workdir(repo)) {
		status = cli_usage_error("install", "--pre-commit needs a clone with a working tree, not a bare repository");
		goto done;
	}
	if (repo_config_string(repo, "core.hooksPath", &custom) == 0) {
		hooks = custom[0] == '/' ? fg_strdup(custom)
					 : fg_asprintf("%s%s", repo_workdir(repo), custom);
	} else {
		hooks = fg_asprintf("%shooks", repo_gitdir(repo));
	}
	if (mkdir(hooks, 0755) && errno != EEXIST) {
		status = cli_usage_error("install", "%s: %s", hooks, strerror(errno));
		goto done;
	}
	hook = fg_asprintf("%s/pre-commit", hooks);
	if (!ours_or_absent(hook)) {
		status = cli_usage_error("install",
					 "%s exists and was not written by fleetgate: add the line\n"
					 "    fleetgate validate --staged || exit 1\n"
					 "to it yourself, or move it away and run this again", hook);
		goto done;
	}
	self = cli_self_path();
	if (!self) {
		status = cli_usage_error("install", "cannot find the path of this program");
		goto done;
	}
	script = fg_asprintf("#!/bin/sh\n" HOOK_MARK " --pre-commit\n"
			     "# Refuse a commit whose staged fleet configuration is invalid.\n"
			     "exec '%s' validate --staged\n", self);
	if (write_executable(hook, script)) {
		status = cli_fail("install", EXIT_USAGE, NULL);
		goto done;
	}
	if (stat(hook, &st) || !(st.st_mode & S_IXUSR)) {
		status = cli_usage_error("install", "%s was written but is not executable", hook);
		goto done;
	}
	printf("installed %s (runs 'fleetgate validate --staged' before each commit)\n", hook);
done:
	free(script);
	free(self);
	free(hook);
	free(hooks);
	free(custom);
	repo_free(repo);
	return status;
}

int cmd_install(int argc, char **argv)
{
	static const struct option options[] = {
		{ "pre-commit", no_argument, NULL, 'p' },
		{ "repo", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *repo = NULL;
	int pre_commit = 0, c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 'p':
			pre_commit = 1;
			break;
		case 'R':
			repo = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_OK;
		default:
			return cli_usage_error("install", "unknown option '%s' (see --help)",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("install", "unexpected argument '%s'", argv[optind]);
	if (!pre_commit)
		return cli_usage_error("install", "say what to install: --pre-commit (see --help)");
	return install_pre_commit(repo);
}
