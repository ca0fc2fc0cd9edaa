/*
 * fleetgate hook pre-receive | update | post-receive | reference-transaction:
 * the same program acting as a git server hook (front/hookfiles.h names them).
 */
#include "hooks/hooks.h"

#include "front/front.h"
#include "front/hookfiles.h"

#include "core/alloc.h"
#include "core/error.h"
#include "rules/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INPUT_LINE 4096
#define MAX_UPDATES 100000

/* Read every line before deciding: the decision covers the whole push. */
int hook_read_updates(struct ref_update **out, size_t *count)
{
	struct ref_update *u = NULL;
	size_t n = 0, alloc = 0;
	char line[MAX_INPUT_LINE + 2];
	int rc = 0;

	while (fgets(line, sizeof(line), stdin)) {
		size_t len = strlen(line);

		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (!feof(stdin)) {
			rc = fg_error_set(FG_ELIMIT, "a ref update line is longer than %d bytes", MAX_INPUT_LINE);
			break;
		}
		if (!len)
			continue;
		if (n == MAX_UPDATES) {
			rc = fg_error_set(FG_ELIMIT, "more than %d ref updates in one push", MAX_UPDATES);
			break;
		}
		u = fg_grow(u, &alloc, n + 1, sizeof(*u));
		rc = policy_parse_update(&u[n], line);
		if (rc)
			break;
		n++;
	}
	if (!rc && ferror(stdin))
		rc = fg_error_set(FG_EIO, "reading the ref updates from git failed");
	*out = u;
	*count = n;
	return rc;
}

const char *hook_pusher(void)
{
	static const char *const vars[] = { "GL_USERNAME", "GITEA_PUSHER_NAME", "GL_USER",
					    "REMOTE_USER", "USER" };
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(*vars); i++) {
		const char *v = getenv(vars[i]);

		if (v && *v)
			return v;
	}
	return NULL;
}

const char *hook_push_option(const char *key)
{
	const char *count = getenv("GIT_PUSH_OPTION_COUNT"), *found = NULL;
	size_t len = strlen(key);
	long n = count ? strtol(count, NULL, 10) : 0, i;

	for (i = 0; i < n && i < 1000; i++) {
		char name[40];
		const char *v;

		snprintf(name, sizeof(name), "GIT_PUSH_OPTION_%ld", i);
		v = getenv(name);
		if (v && !strncmp(v, key, len) && v[len] == '=')
			found = v + len + 1;
		else if (v && !strcmp(v, key))
			found = "";
	}
	return found;
}

int cmd_hook(int argc, char **argv)
{
	static int (*const run[FRONT_NHOOKS])(int, char **) = {
		[FRONT_HOOK_PRE_RECEIVE] = hook_pre_receive,
		[FRONT_HOOK_UPDATE] = hook_update,
		[FRONT_HOOK_POST_RECEIVE] = hook_post_receive,
		[FRONT_HOOK_REFERENCE_TRANSACTION] = hook_reference_transaction,
	};
	enum front_hook h;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs("usage: fleetgate hook pre-receive | update <ref> <old> <new> | post-receive\n"
		      "                      | reference-transaction <state>\n"
		      "\n"
		      "Act as the named git server hook; 'fleetgate install --repo' sets them up.\n",
		      argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	h = front_hook_find(argv[1]);
	if (h == FRONT_NHOOKS)
		return front_usage_error(
			"hook",
			"unknown hook '%s' (pre-receive, update, post-receive or reference-transaction)",
			argv[1]);
	/* The arguments git gives the hook: anything else is a usage error
	 * (exit 2), before the hook reads its input or opens the repository. */
	if (argc - 2 != front_hooks[h].nargs)
		return front_usage_error("hook", "%s takes %s, not %d", front_hooks[h].name,
					 front_hooks[h].args, argc - 2);
	return run[h](argc - 1, argv + 1);
}
