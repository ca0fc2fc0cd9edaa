/*
 * fleetgate install --pre-commit [--repo PATH]
 *
 * Writes a plain git pre-commit hook into a developer's clone that runs
 * `fleetgate validate --staged`. A hook that fleetgate did not write is
 * never overwritten.
 */
#include "cli/cli.h"

#include "front/front.h"
#include "front/hookfiles.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "fleet/fleet.h"
#include "core/fsutil.h"
#include "core/hmac.h"
#include "git/repo.h"
#include "rules/settings.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage_text[] =
	"usage: fleetgate install --repo PATH.git [--stages \"main canary production\"]\n"
	"                         [--gitlab | --gitea] [--chain] [--verify STAGE:RULES]...\n"
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
	"  --verify STAGE:RULE=VALUE[,...]  verified promotion: the rules a stage's\n"
	"                   devices must meet before a promotion out of it, such as\n"
	"                   canary:minDevices=3,soak=1h (rules: minDevices, maxFailures,\n"
	"                   maxFailureRatio, soak, timeout, halt; docs/verification.md)\n"
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
	return strstr(buf, FRONT_HOOK_MARK) != NULL;
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
		return front_fail("install", EXIT_USAGE, NULL);
	if (!repo_workdir(repo)) {
		status = front_usage_error(
			"install",
			"--pre-commit needs a clone with a working tree, not a bare repository");
		goto done;
	}
	if (repo_config_string(repo, "core.hooksPath", &custom) == 0) {
		hooks = custom[0] == '/' ? fg_strdup(custom)
					 : fg_asprintf("%s%s", repo_workdir(repo), custom);
	} else {
		hooks = fg_asprintf("%shooks", repo_gitdir(repo));
	}
	if (mkdir(hooks, 0755) && errno != EEXIST) {
		status = front_usage_error("install", "%s: %s", hooks, strerror(errno));
		goto done;
	}
	hook = fg_asprintf("%s/pre-commit", hooks);
	if (!ours_or_absent(hook)) {
		status = front_usage_error("install",
					   "%s exists and was not written by fleetgate: add the line\n"
					   "    fleetgate validate --staged || exit 1\n"
					   "to it yourself, or move it away and run this again",
					   hook);
		goto done;
	}
	self = front_self_path();
	if (!self) {
		status = front_usage_error("install", "cannot find the path of this program");
		goto done;
	}
	script = fg_asprintf("#!/bin/sh\n" FRONT_HOOK_MARK " --pre-commit\n"
			     "# Refuse a commit whose staged fleet configuration is invalid.\n"
			     "exec '%s' validate --staged --quiet\n",
			     self);
	if (write_executable(hook, script)) {
		status = front_fail("install", EXIT_USAGE, NULL);
		goto done;
	}
	if (stat(hook, &st) || !(st.st_mode & S_IXUSR)) {
		status = front_usage_error("install", "%s was written but is not executable", hook);
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

static char *wrapper(const char *self, const char *hook, int chained)
{
	if (!chained)
		return fg_asprintf("#!/bin/sh\n" FRONT_HOOK_MARK " --repo\n"
				   "exec '%s' hook %s \"$@\"\n",
				   self, hook);
	if (!strcmp(hook, "update"))
		return fg_asprintf("#!/bin/sh\n" FRONT_HOOK_MARK " --repo --chain\n"
				   "# fleetgate first, then the hook that was here before.\n"
				   "'%s' hook update \"$@\" || exit $?\n"
				   "exec \"$(dirname \"$0\")/update.chained\" \"$@\"\n",
				   self);
	return fg_asprintf("#!/bin/sh\n" FRONT_HOOK_MARK " --repo --chain\n"
			   "# fleetgate first, then the hook that was here before, on the same input.\n"
			   "input=$(mktemp) || exit 1\n"
			   "trap 'rm -f \"$input\"' EXIT\n"
			   "cat > \"$input\"\n"
			   "'%s' hook %s \"$@\" < \"$input\" || exit $?\n"
			   "\"$(dirname \"$0\")/%s.chained\" \"$@\" < \"$input\"\n",
			   self, hook, hook);
}

/* `s` as one shell word: as it is when it needs no quoting. */
static char *shell_word(const char *s)
{
	struct fg_buf b = FG_BUF_INIT;
	const char *p;

	if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._-+:@,") ==
			  strlen(s))
		return fg_strdup(s);
	fg_buf_init(&b);
	fg_buf_putc(&b, '\'');
	for (p = s; *p; p++) {
		if (*p == '\'')
			fg_buf_puts(&b, "'\\''");
		else
			fg_buf_putc(&b, *p);
	}
	fg_buf_putc(&b, '\'');
	return fg_buf_detach(&b);
}

/*
 * The server install in two phases: everything is checked and every file's
 * new content prepared first, without writing; then everything is written,
 * and when one write fails, what this run wrote is undone. A foreign hook,
 * a differing --stages or an unreadable setting thus leaves the repository
 * as it was.
 */
struct hook_step {
	const char *name;
	char *path;     /* NULL: not installed in this layout */
	char *dirs[2];  /* folders to create first (NULL: none) */
	char *chained;  /* <path>.chained */
	char *existing; /* what is there now; NULL when absent */
	char *content;  /* what fleetgate writes */
	int to_chain;   /* move the foreign hook to <path>.chained first */
	int write;      /* content differs from what is there */
	int made_dir[2], renamed, written;
};

struct setting_step {
	const char *key;
	char *old;       /* NULL when unset */
	const char *new; /* NULL: left as it is */
	int written;
};

enum { NHOOKS = FRONT_NHOOKS, NSETTINGS = 4 };

struct server_plan {
	struct fg_repo *repo;
	const char *repo_path;
	char *self;
	struct hook_step hooks[NHOOKS];
	struct setting_step settings[NSETTINGS];
	char *head_old;     /* the missing branch HEAD names, when it moves */
	char *head_new;     /* refs/heads/<first stage> */
	int head_written;
	int key_exists, key_created;
};

static void plan_release(struct server_plan *p)
{
	size_t i, k;

	for (i = 0; i < NHOOKS; i++) {
		free(p->hooks[i].path);
		for (k = 0; k < 2; k++)
			free(p->hooks[i].dirs[k]);
		free(p->hooks[i].chained);
		free(p->hooks[i].existing);
		free(p->hooks[i].content);
	}
	for (i = 0; i < NSETTINGS; i++)
		free(p->settings[i].old);
	free(p->head_old);
	free(p->head_new);
	free(p->self);
	repo_free(p->repo);
}

/* Can this program create or replace a file in `dir` (or, when `dir` does
 * not exist yet, in the folder that will hold it)? */
static int check_writable(const char *dir)
{
	char *d = fg_strdup(dir), *slash;
	int rc = 0;

	while (access(d, F_OK) && (slash = strrchr(d, '/')) && slash != d)
		*slash = '\0';
	if (access(d, W_OK))
		rc = fg_error_set(FG_EIO, "%s: %s: install would fail half-way, so it writes nothing",
				  d, strerror(errno));
	free(d);
	return rc;
}

static int plan_hook(struct server_plan *p, struct hook_step *h, enum front_layout layout, int chain)
{
	const char *gitdir = repo_gitdir(p->repo);
	int is_chained;

	front_hook_files(gitdir, layout, h->name, h->dirs, &h->path);
	if (check_writable(h->dirs[1] ? h->dirs[1] : h->dirs[0]))
		return -1;
	h->chained = fg_asprintf("%s.chained", h->path);
	is_chained = access(h->chained, F_OK) == 0;
	if (read_file(h->path, &h->existing))
		return fg_error_set(FG_EIO, "%s: %s", h->path, strerror(errno));
	if (h->existing && !strstr(h->existing, FRONT_HOOK_MARK)) {
		if (!chain)
			return fg_error_set(FG_EINVAL,
					    "%s exists and was not written by fleetgate; run again with --chain to keep it (it then runs after fleetgate's checks), or move it away",
					    h->path);
		if (is_chained)
			return fg_error_set(FG_EINVAL, "%s exists and so does %s: merge them by hand first",
					    h->path, h->chained);
		h->to_chain = 1;
		is_chained = 1;
	}
	h->content = wrapper(p->self, h->name, is_chained);
	h->write = h->to_chain || !h->existing || strcmp(h->existing, h->content);
	return 0;
}

/* The settings install writes when unset; --stages, when given, must agree
 * with stages already set. */
static int plan_settings(struct server_plan *p, const char *stages, int stages_given)
{
	static const char *const keys[NSETTINGS] = { "fleetgate.stages", "fleetgate.mergeOnly",
						     "receive.fsckObjects",
						     "receive.advertisePushOptions" };
	char **have = NULL, **want = NULL;
	size_t nhave = 0, nwant = 0, i;
	int rc = 0, same;

	for (i = 0; i < NSETTINGS && !rc; i++) {
		struct setting_step *st = &p->settings[i];

		st->key = keys[i];
		rc = repo_config_string(p->repo, st->key, &st->old);
		if (rc == FG_ENOTFOUND)
			rc = 0;
		else if (rc)
			break;
		if (i == 0 && !st->old)
			st->new = stages;
		else if (i == 1 && !st->old)
			st->new = "true";
		/* git checks every object a push brings (a malformed tree, a
		 * commit pointing at an object that is not there) before any
		 * hook runs. */
		else if (i == 2 && (!st->old || strcmp(st->old, "true")))
			st->new = "true";
		/* git push -o fleetgate.override="reason" (docs/verification.md) */
		else if (i == 3 && (!st->old || strcmp(st->old, "true")))
			st->new = "true";
	}
	if (rc || !stages_given || !p->settings[0].old)
		return rc;
	split_words(p->settings[0].old, &have, &nhave);
	split_words(stages, &want, &nwant);
	same = nhave == nwant;
	for (i = 0; same && i < nhave; i++)
		same = !strcmp(have[i], want[i]);
	if (!same) {
		char *dir = shell_word(p->repo_path), *list = shell_word(stages);

		rc = fg_error_set(FG_EINVAL,
				  "--stages \"%s\" differs from the stages already set, \"%s\" (git config fleetgate.stages); install never changes them. To change them, run:\n"
				  "    git -C %s config fleetgate.stages %s",
				  stages, p->settings[0].old, dir, list);
		free(dir);
		free(list);
	}
	fg_strings_free(have, nhave);
	fg_strings_free(want, nwant);
	return rc;
}

/* `git init --bare` points HEAD at refs/heads/master, a branch a fleet
 * repository never has: clones would start on nothing (and warn). When HEAD
 * names a branch that does not exist, it moves to the first stage. Forges
 * keep their own default branch: left to them. */
static int plan_head(struct server_plan *p, enum front_layout layout)
{
	const char *stages = p->settings[0].new ? p->settings[0].new : p->settings[0].old;
	char **names = NULL, *ref = NULL;
	size_t n = 0;
	int rc, exists;

	if (layout != FRONT_LAYOUT_PLAIN)
		return 0;
	rc = repo_head_target(p->repo, &ref, &exists);
	if (rc || !ref || exists)
		goto done;
	split_words(stages, &names, &n);
	if (n && fleet_stage_name_valid(names[0])) {
		p->head_new = fg_asprintf("refs/heads/%s", names[0]);
		if (strcmp(ref, p->head_new)) {
			p->head_old = ref;
			ref = NULL;
		} else {
			free(p->head_new);
			p->head_new = NULL;
		}
	}
done:
	fg_strings_free(names, n);
	free(ref);
	return rc;
}

/* Undo what this run wrote, newest first; the first failure is kept. */
static void undo(struct server_plan *p)
{
	size_t i, k;

	for (i = NHOOKS; i-- > 0;) {
		struct hook_step *h = &p->hooks[i];

		if (h->written && !h->existing)
			unlink(h->path);
		else if (h->written && !h->renamed)
			write_executable(h->path, h->existing);
		if (h->renamed)
			rename(h->chained, h->path);
		for (k = 2; k-- > 0;)
			if (h->made_dir[k])
				rmdir(h->dirs[k]);
	}
	for (i = NSETTINGS; i-- > 0;) {
		struct setting_step *st = &p->settings[i];

		if (!st->written)
			continue;
		if (st->old)
			repo_config_set(p->repo, st->key, st->old);
		else
			repo_config_unset(p->repo, st->key);
	}
	if (p->head_written)
		repo_set_head(p->repo, p->head_old);
	if (p->key_created) {
		char *key = hmac_key_path(repo_gitdir(p->repo));

		unlink(key);
		free(key);
		key = fs_state_dir(repo_gitdir(p->repo), "");
		rmdir(key); /* when install made it: nothing else is in it */
		free(key);
	}
}

static int make_dir(const char *dir, int *made)
{
	*made = 0;
	if (!mkdir(dir, 0755)) {
		*made = 1;
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	return fg_error_set(FG_EIO, "%s: %s", dir, strerror(errno));
}

/* Write everything: the key, the settings and HEAD first, then the hooks,
 * so that no hook runs without the settings it reads. */
static int write_plan(struct server_plan *p)
{
	size_t i, k;
	int rc;

	rc = hmac_key_create(repo_gitdir(p->repo), &p->key_created);
	for (i = 0; i < NSETTINGS && !rc; i++) {
		if (!p->settings[i].new)
			continue;
		rc = repo_config_set(p->repo, p->settings[i].key, p->settings[i].new);
		p->settings[i].written = !rc;
	}
	if (!rc && p->head_new) {
		rc = repo_set_head(p->repo, p->head_new);
		p->head_written = !rc;
	}
	for (i = 0; i < NHOOKS && !rc; i++) {
		struct hook_step *h = &p->hooks[i];

		if (!h->path || !h->write)
			continue;
		for (k = 0; k < 2 && !rc; k++)
			if (h->dirs[k])
				rc = make_dir(h->dirs[k], &h->made_dir[k]);
		if (!rc && h->to_chain) {
			if (rename(h->path, h->chained))
				rc = fg_error_set(FG_EIO, "%s: %s", h->chained, strerror(errno));
			h->renamed = !rc;
		}
		if (!rc) {
			rc = write_executable(h->path, h->content);
			h->written = !rc;
		}
	}
	if (rc)
		undo(p);
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
static int self_check(const char *repo_path, const struct hook_step *hooks, size_t n)
{
	struct fg_repo *repo = NULL;
	struct settings s;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		struct stat st;

		if (!hooks[i].path)
			continue; /* not installed in this layout */
		if (stat(hooks[i].path, &st) || !(st.st_mode & S_IXUSR))
			return fg_error_set(FG_EIO, "%s is not executable: git would skip it and accept every push",
					    hooks[i].path);
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

/*
 * Run as another user than the repository's owner (typically root), install
 * would leave files the hooks cannot read (the digest key is mode 600), and
 * libgit2 refuses to open the repository unless safe.directory trusts it.
 */
static int check_owner(const char *repo_path)
{
	struct stat st;
	struct passwd *pw;
	char *path = NULL, *word = NULL, owner[64], me[64];
	int rc = 0;

	if (stat(repo_path, &st) || st.st_uid == geteuid())
		return 0;
	path = realpath(repo_path, NULL);
	word = shell_word(path ? path : repo_path);
	pw = getpwuid(st.st_uid);
	if (pw)
		snprintf(owner, sizeof(owner), "%s", pw->pw_name);
	else
		snprintf(owner, sizeof(owner), "#%u", (unsigned)st.st_uid);
	pw = getpwuid(geteuid());
	if (pw)
		snprintf(me, sizeof(me), "%s", pw->pw_name);
	else
		snprintf(me, sizeof(me), "#%u", (unsigned)geteuid());
	rc = fg_error_set(FG_EINVAL,
			  "%s belongs to user '%s', not to '%s': run install as the repository's owner, the user the hooks run as:\n"
			  "    runuser -u %s -- fleetgate install --repo %s\n"
			  "(git config --global --add safe.directory %s would let '%s' open it, but what install wrote would belong to '%s', and the hooks could not read the digest key)",
			  word, owner, me, owner, word, word, me, me);
	free(word);
	free(path);
	return rc;
}

/* The verification rules of --verify, checked before anything is written. */
struct verify_opts {
	char **keys;
	char **values;
	size_t n;
};

static int add_verify_spec(struct verify_opts *v, const char *spec)
{
	char **keys, **values;
	size_t n, i;

	if (verify_spec_parse(spec, &keys, &values, &n))
		return front_usage_error("install", "%s", fg_error_message());
	v->keys = fg_realloc(v->keys, (v->n + n + 1) * sizeof(char *));
	v->values = fg_realloc(v->values, (v->n + n + 1) * sizeof(char *));
	for (i = 0; i < n; i++) {
		v->keys[v->n] = keys[i];
		v->values[v->n++] = values[i];
	}
	free(keys);
	free(values);
	return 0;
}

static int write_verify(struct fg_repo *repo, const struct verify_opts *v)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		if (repo_config_set(repo, v->keys[i], v->values[i]))
			return -1;
		printf("settings: %s = %s\n", v->keys[i], v->values[i]);
	}
	return 0;
}

static int install_server(const char *repo_path, const char *stages, int stages_given,
			  enum front_layout layout, int chain, const struct verify_opts *verify)
{
	struct server_plan p;
	char *key = NULL;
	int status = EXIT_USAGE, changed = 0;
	size_t i;

	memset(&p, 0, sizeof(p));
	p.repo_path = repo_path;
	if (check_owner(repo_path) || repo_open(&p.repo, repo_path)) {
		front_fail("install", EXIT_USAGE, NULL);
		goto done;
	}
	p.self = front_self_path();
	if (!p.self) {
		front_usage_error("install", "cannot find the path of this program");
		goto done;
	}
	if (check_stages_option(stages)) {
		front_usage_error("install", "--stages: %s", fg_error_message());
		goto done;
	}
	if (plan_settings(&p, stages, stages_given) || plan_head(&p, layout)) {
		front_fail("install", EXIT_USAGE, NULL);
		goto done;
	}
	for (i = 0; i < NHOOKS; i++) {
		/* git runs reference-transaction from hooks/ itself; the forges'
		 * hook folders know only the three push hooks, and GitLab runs
		 * none of the repository's own (pre-receive then never lets a
		 * stage rest on its upstream's move in the same push). */
		int is_rt = i == FRONT_HOOK_REFERENCE_TRANSACTION;

		p.hooks[i].name = front_hooks[i].name;
		if (is_rt && layout == FRONT_LAYOUT_GITLAB)
			continue;
		if (plan_hook(&p, &p.hooks[i], is_rt ? FRONT_LAYOUT_PLAIN : layout, chain)) {
			front_fail("install", EXIT_USAGE, NULL);
			goto done;
		}
	}
	key = hmac_key_path(repo_gitdir(p.repo));
	p.key_exists = access(key, F_OK) == 0;
	if (check_writable(repo_gitdir(p.repo)) || (!p.key_exists && check_writable(key))) {
		front_fail("install", EXIT_USAGE, NULL);
		goto done;
	}

	if (write_plan(&p)) {
		front_fail("install", EXIT_USAGE, "nothing was changed");
		goto done;
	}
	if (write_verify(p.repo, verify)) {
		front_fail("install", EXIT_USAGE, "writing the --verify rules");
		goto done;
	}
	changed |= verify->n > 0;
	for (i = 0; i < NHOOKS; i++) {
		if (!p.hooks[i].path)
			continue;
		printf("%s %s\n", p.hooks[i].write ? "installed" : "unchanged", p.hooks[i].path);
		changed |= p.hooks[i].write;
	}
	printf("%s %s%s\n", p.key_created ? "created" : "unchanged", key,
	       p.key_created ? " (the key of the configuration digests in Mender, mode 600)" : "");
	changed |= p.key_created;
	for (i = 0; i < NSETTINGS; i++)
		changed |= p.settings[i].written;
	if (p.head_written) {
		printf("HEAD: %s does not exist; HEAD now names %s, the first stage, so clones start on it\n",
		       p.head_old, p.head_new);
		changed = 1;
	}
	if (self_check(repo_path, p.hooks, NHOOKS)) {
		front_fail("install", EXIT_USAGE, "check after installing");
		goto done;
	}
	printf("check: hooks executable, repository opens, settings read%s\n",
	       changed ? "" : " (nothing changed)");
	status = EXIT_OK;
done:
	free(key);
	plan_release(&p);
	return status;
}

/* Only the digest key, for servers whose hooks another tool installs
 * (gitolite owns the update hook): no hook, no setting is touched. */
static int install_key_only(const char *repo_path)
{
	struct fg_repo *repo = NULL;
	char *key = NULL;
	int status = EXIT_OK, changed;

	if (repo_open(&repo, repo_path)) {
		status = front_fail("install", EXIT_USAGE, NULL);
		goto done;
	}
	key = hmac_key_path(repo_gitdir(repo));
	if (hmac_key_create(repo_gitdir(repo), &changed))
		status = front_fail("install", EXIT_USAGE, "making the configuration digest key");
	else
		printf("%s %s%s\n", changed ? "created" : "unchanged", key,
		       changed ? " (the key of the configuration digests in Mender, mode 600)" : "");
done:
	free(key);
	repo_free(repo);
	return status;
}

struct install_args {
	const char *repo, *stages;
	struct verify_opts verify;
	enum front_layout layout;
	int pre_commit, chain, key_only, stages_given;
};

static int install_option(void *data, int c, const char *arg)
{
	struct install_args *a = data;

	switch (c) {
	case 'p':
		a->pre_commit = 1;
		break;
	case 'R':
		a->repo = arg;
		break;
	case 's':
		a->stages = arg;
		a->stages_given = 1;
		break;
	case 'L':
	case 'G':
		if (a->layout != FRONT_LAYOUT_PLAIN &&
		    a->layout != (c == 'L' ? FRONT_LAYOUT_GITLAB : FRONT_LAYOUT_GITEA))
			return front_usage_error("install", "give only one of --gitlab and --gitea");
		a->layout = c == 'L' ? FRONT_LAYOUT_GITLAB : FRONT_LAYOUT_GITEA;
		break;
	case 'c':
		a->chain = 1;
		break;
	case 'k':
		a->key_only = 1;
		break;
	case 'v':
		return add_verify_spec(&a->verify, arg) ? EXIT_USAGE : 0;
	}
	return 0;
}

static int install_modes(const struct install_args *a);

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
		{ "verify", required_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct install_args a = { NULL, "main canary production", { NULL, NULL, 0 },
				  FRONT_LAYOUT_PLAIN, 0, 0, 0, 0 };
	struct front_args fa = { "install", usage_text, options, install_option, &a, NULL, 0, 0 };
	int rc = front_parse(&fa, argc, argv);

	if (!rc)
		rc = install_modes(&a);
	fg_strings_free(a.verify.keys, a.verify.n);
	fg_strings_free(a.verify.values, a.verify.n);
	return rc == FRONT_HELP ? EXIT_OK : rc;
}

/* What the options ask for, once they are parsed and known consistent. */
static int install_modes(const struct install_args *a)
{
	if (a->verify.n && !a->repo)
		return front_usage_error("install", "--verify is for --repo PATH.git on a server");
	if (a->verify.n && (a->key_only || a->pre_commit))
		return front_usage_error("install", "--verify installs rules on a server: not with --key-only or --pre-commit");
	if (a->key_only &&
	    (a->pre_commit || a->chain || a->stages_given || a->layout != FRONT_LAYOUT_PLAIN))
		return front_usage_error("install", "--key-only takes only --repo PATH.git");
	if (a->pre_commit && (a->stages_given || a->layout != FRONT_LAYOUT_PLAIN || a->chain))
		return front_usage_error(
			"install",
			"--pre-commit installs in a clone: --stages, --gitlab, --gitea and --chain are for --repo on a server (see --help)");
	if (a->pre_commit)
		return install_pre_commit(a->repo);
	if (!a->repo)
		return front_usage_error(
			"install",
			"say what to install: --repo PATH.git on a server, or --pre-commit in a clone (see --help)");
	if (a->key_only)
		return install_key_only(a->repo);
	return install_server(a->repo, a->stages, a->stages_given, a->layout, a->chain, &a->verify);
}
