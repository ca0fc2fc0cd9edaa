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
#include "fleet.h"
#include "fsutil.h"
#include "hmac.h"
#include "repo.h"
#include "settings.h"

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
	"usage: fleetgate install --repo PATH.git [--stages \"main canary production\"]\n"
	"                         [--gitlab | --gitea] [--chain]\n"
	"       fleetgate install --repo PATH.git --key-only\n"
	"       fleetgate install --pre-commit [--repo PATH]\n"
	"\n"
	"  --repo PATH.git  on the git server: install the pre-receive, update and\n"
	"                   post-receive hooks\n"
	"                   into that bare repository and write default settings\n"
	"  --stages LIST    the stages, upstream first, when fleetgate.stages is unset\n"
	"                   (default: main canary production)\n"
	"  --gitlab         place the hooks in GitLab's custom_hooks/<hook>.d/\n"
	"  --gitea          place the hooks in Gitea's / Forgejo's hooks/<hook>.d/\n"
	"  --chain          keep an existing hook that fleetgate did not write: it is\n"
	"                   renamed <hook>.chained and runs after fleetgate's\n"
	"  --key-only       make only the configuration digest key (where the hooks\n"
	"                   are installed another way, e.g. under gitolite)\n"
	"\n"
	"  --pre-commit     write .git/hooks/pre-commit in a clone: every commit runs\n"
	"                   'fleetgate validate --staged' and is refused when invalid\n"
	"  --repo PATH      the clone (default: the one around the current folder)\n"
	"\n"
	"An existing hook that fleetgate did not write is never overwritten. Running\n"
	"the command again changes nothing.\n";

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

static int write_executable(const char *path, const char *content)
{
	return fs_write_atomic(path, content, strlen(content), 0755);
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
			     "exec '%s' validate --staged --quiet\n", self);
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

enum forge {
	FORGE_PLAIN,
	FORGE_GITLAB,
	FORGE_GITEA,
};

static int read_file(const char *path, char **out)
{
	char buf[8192];
	size_t n;
	FILE *f = fopen(path, "r");

	*out = NULL;
	if (!f)
		return errno == ENOENT ? 0 : -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	*out = fg_strdup(buf);
	return 0;
}

static int ensure_dir(const char *dir)
{
	if (mkdir(dir, 0755) && errno != EEXIST)
		return fg_error_set(FG_EIO, "%s: %s", dir, strerror(errno));
	return 0;
}

static char *wrapper(const char *self, const char *hook, int chained)
{
	if (!chained)
		return fg_asprintf("#!/bin/sh\n" HOOK_MARK " --repo\n"
				   "exec '%s' hook %s \"$@\"\n", self, hook);
	if (!strcmp(hook, "update"))
		return fg_asprintf("#!/bin/sh\n" HOOK_MARK " --repo --chain\n"
				   "# fleetgate first, then the hook that was here before.\n"
				   "'%s' hook update \"$@\" || exit $?\n"
				   "exec \"$(dirname \"$0\")/update.chained\" \"$@\"\n", self);
	return fg_asprintf("#!/bin/sh\n" HOOK_MARK " --repo --chain\n"
			   "# fleetgate first, then the hook that was here before, on the same input.\n"
			   "input=$(mktemp) || exit 1\n"
			   "trap 'rm -f \"$input\"' EXIT\n"
			   "cat > \"$input\"\n"
			   "'%s' hook %s \"$@\" < \"$input\" || exit $?\n"
			   "\"$(dirname \"$0\")/%s.chained\" \"$@\" < \"$input\"\n", self, hook, hook);
}

/* Install one hook; *changed tells whether anything was written. */
static int install_hook(const char *path, const char *self, const char *hook, int chain,
			int *changed)
{
	char *existing = NULL, *content = NULL, *chained = NULL;
	int rc = 0, is_chained;

	*changed = 0;
	chained = fg_asprintf("%s.chained", path);
	is_chained = access(chained, F_OK) == 0;
	if (read_file(path, &existing)) {
		rc = fg_error_set(FG_EIO, "%s: %s", path, strerror(errno));
		goto done;
	}
	if (existing && !strstr(existing, HOOK_MARK)) {
		if (!chain) {
			rc = fg_error_set(FG_EINVAL,
					  "%s exists and was not written by fleetgate; run again with --chain to keep it (it then runs after fleetgate's checks), or move it away",
					  path);
			goto done;
		}
		if (is_chained) {
			rc = fg_error_set(FG_EINVAL, "%s exists and so does %s: merge them by hand first",
					  path, chained);
			goto done;
		}
		if (rename(path, chained)) {
			rc = fg_error_set(FG_EIO, "%s: %s", chained, strerror(errno));
			goto done;
		}
		is_chained = 1;
	}
	content = wrapper(self, hook, is_chained);
	if (existing && !strcmp(existing, content))
		goto done;
	rc = write_executable(path, content);
	*changed = !rc;
done:
	free(existing);
	free(content);
	free(chained);
	return rc;
}

static int hook_dirs(const char *gitdir, enum forge forge, const char *hook, char **path)
{
	char *base, *dir;
	int rc;

	*path = NULL;
	if (forge == FORGE_PLAIN) {
		base = fg_asprintf("%shooks", gitdir);
		rc = ensure_dir(base);
		if (!rc)
			*path = fg_asprintf("%s/%s", base, hook);
		free(base);
		return rc;
	}
	base = fg_asprintf("%s%s", gitdir, forge == FORGE_GITLAB ? "custom_hooks" : "hooks");
	dir = fg_asprintf("%s/%s.d", base, hook);
	rc = ensure_dir(base);
	if (!rc)
		rc = ensure_dir(dir);
	if (!rc)
		*path = fg_asprintf("%s/fleetgate", dir);
	free(dir);
	free(base);
	return rc;
}

static int default_settings(struct fg_repo *repo, const char *stages, int *changed)
{
	char *value = NULL;
	int rc;

	*changed = 0;
	rc = repo_config_string(repo, "fleetgate.stages", &value);
	if (rc == FG_ENOTFOUND) {
		rc = repo_config_set(repo, "fleetgate.stages", stages);
		*changed = !rc;
	}
	free(value);
	value = NULL;
	if (rc)
		return rc;
	rc = repo_config_string(repo, "fleetgate.mergeOnly", &value);
	if (rc == FG_ENOTFOUND) {
		rc = repo_config_set(repo, "fleetgate.mergeOnly", "true");
		*changed = *changed || !rc;
	}
	free(value);
	value = NULL;
	if (rc)
		return rc;
	/* git checks every object a push brings (a malformed tree, a commit
	 * pointing at an object that is not there) before any hook runs. */
	rc = repo_config_string(repo, "receive.fsckObjects", &value);
	if (rc == FG_ENOTFOUND || (!rc && strcmp(value, "true"))) {
		rc = repo_config_set(repo, "receive.fsckObjects", "true");
		*changed = *changed || !rc;
	}
	free(value);
	return rc;
}

/* The stage names of --stages, checked before anything is written. */
static int check_stages_option(const char *stages)
{
	char **names = NULL;
	size_t n = 0, i, k;
	int rc = 0;

	split_words(stages, &names, &n);
	if (!n)
		rc = fg_error_set(FG_EINVAL, "name at least one stage");
	for (i = 0; i < n && !rc; i++) {
		if (!fleet_stage_name_valid(names[i]))
			rc = fg_error_set(FG_EINVAL, "stage name '%.200s' cannot be used: " FLEET_STAGE_NAME_RULE,
					  names[i]);
		for (k = 0; k < i && !rc; k++)
			if (!strcmp(names[k], names[i]))
				rc = fg_error_set(FG_EINVAL, "stage '%s' is listed twice", names[i]);
	}
	fg_strings_free(names, n);
	return rc;
}

/* After installing: the hooks run, the repository opens, the settings read. */
static int self_check(const char *repo_path, char *const *paths, size_t n)
{
	struct fg_repo *repo = NULL;
	struct settings s;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		struct stat st;

		if (!paths[i])
			continue; /* not installed in this layout */
		if (stat(paths[i], &st) || !(st.st_mode & S_IXUSR))
			return fg_error_set(FG_EIO, "%s is not executable: git would skip it and accept every push", paths[i]);
	}
	rc = repo_open(&repo, repo_path);
	if (!rc)
		rc = settings_load(&s, repo);
	if (!rc) {
		if (!s.nstages)
			rc = fg_error_set(FG_EINVAL, "git config fleetgate.stages is empty");
		else {
			printf("settings: stages");
			for (i = 0; i < s.nstages; i++)
				printf(" %s", s.stages[i]);
			printf(" (git config fleetgate.stages); %s\n",
			       s.merge_only ? "only merges on the first stage" : "fleetgate.mergeOnly is false");
		}
		settings_release(&s);
	}
	repo_free(repo);
	return rc;
}

/* The key of the configuration digests, made once: a new key would make
 * every device's recorded digest differ (and set its configuration again). */
static int install_digest_key(const char *gitdir, int *changed)
{
	char *path = hmac_key_path(gitdir);
	int rc = hmac_key_create(gitdir, changed);

	if (!rc)
		printf("%s %s%s\n", *changed ? "created" : "unchanged", path,
		       *changed ? " (the key of the configuration digests in Mender, mode 600)" : "");
	free(path);
	return rc;
}

static int install_server(const char *repo_path, const char *stages, enum forge forge, int chain)
{
	static const char *const hooks[] = { "pre-receive", "update", "post-receive",
					     "reference-transaction" };
	enum { NHOOKS = sizeof(hooks) / sizeof(*hooks) };
	struct fg_repo *repo = NULL;
	char *self = NULL, *paths[NHOOKS] = { NULL };
	int status = EXIT_OK, changed, any = 0;
	size_t i;

	if (repo_open(&repo, repo_path))
		return cli_fail("install", EXIT_USAGE, NULL);
	self = cli_self_path();
	if (!self) {
		status = cli_usage_error("install", "cannot find the path of this program");
		goto done;
	}
	if (check_stages_option(stages)) {
		status = cli_usage_error("install", "--stages: %s", fg_error_message());
		goto done;
	}
	for (i = 0; i < NHOOKS; i++) {
		/* git runs reference-transaction from hooks/ itself; the forges'
		 * hook folders know only the three push hooks, and GitLab runs
		 * none of the repository's own (pre-receive then never lets a
		 * stage rest on its upstream's move in the same push). */
		int is_rt = !strcmp(hooks[i], "reference-transaction");
		enum forge where = is_rt ? FORGE_PLAIN : forge;

		if (is_rt && forge == FORGE_GITLAB)
			continue;

		if (hook_dirs(repo_gitdir(repo), where, hooks[i], &paths[i]) ||
		    install_hook(paths[i], self, hooks[i], chain, &changed)) {
			status = cli_fail("install", EXIT_USAGE, NULL);
			goto done;
		}
		printf("%s %s\n", changed ? "installed" : "unchanged", paths[i]);
		any |= changed;
	}
	if (install_digest_key(repo_gitdir(repo), &changed)) {
		status = cli_fail("install", EXIT_USAGE, "making the configuration digest key");
		goto done;
	}
	any |= changed;
	if (default_settings(repo, stages, &changed)) {
		status = cli_fail("install", EXIT_USAGE, "writing default settings");
		goto done;
	}
	any |= changed;
	if (self_check(repo_path, paths, NHOOKS)) {
		status = cli_fail("install", EXIT_USAGE, "check after installing");
		goto done;
	}
	printf("check: hooks executable, repository opens, settings read%s\n",
	       any ? "" : " (nothing changed)");
done:
	for (i = 0; i < NHOOKS; i++)
		free(paths[i]);
	free(self);
	repo_free(repo);
	return status;
}

/* Only the digest key, for servers whose hooks another tool installs
 * (gitolite owns the update hook): no hook, no setting is touched. */
static int install_key_only(const char *repo_path)
{
	struct fg_repo *repo = NULL;
	int status = EXIT_OK, changed;

	if (repo_open(&repo, repo_path)) {
		status = cli_fail("install", EXIT_USAGE, NULL);
		goto done;
	}
	if (install_digest_key(repo_gitdir(repo), &changed))
		status = cli_fail("install", EXIT_USAGE, "making the configuration digest key");
done:
	repo_free(repo);
	return status;
}

int cmd_install(int argc, char **argv)
{
	static const struct option options[] = {
		{ "pre-commit", no_argument, NULL, 'p' },
		{ "repo", required_argument, NULL, 'R' },
		{ "stages", required_argument, NULL, 's' },
		{ "gitlab", no_argument, NULL, 'L' },
		{ "gitea", no_argument, NULL, 'G' },
		{ "chain", no_argument, NULL, 'c' },
		{ "key-only", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *repo = NULL, *stages = "main canary production";
	enum forge forge = FORGE_PLAIN;
	int pre_commit = 0, chain = 0, key_only = 0, stages_given = 0, c;

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
		case 's':
			stages = optarg;
			stages_given = 1;
			break;
		case 'L':
			forge = FORGE_GITLAB;
			break;
		case 'G':
			forge = FORGE_GITEA;
			break;
		case 'c':
			chain = 1;
			break;
		case 'k':
			key_only = 1;
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
	if (key_only && (pre_commit || chain || stages_given || forge != FORGE_PLAIN))
		return cli_usage_error("install", "--key-only takes only --repo PATH.git");
	if (pre_commit)
		return install_pre_commit(repo);
	if (!repo)
		return cli_usage_error("install", "say what to install: --repo PATH.git on a server, or --pre-commit in a clone (see --help)");
	if (key_only)
		return install_key_only(repo);
	return install_server(repo, stages, forge, chain);
}
