/*
 * fleetgate hook pre-receive | update: the same program acting as a git
 * server hook (also when installed as hooks/pre-receive or hooks/update).
 */
#include "hooks.h"

#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int cmd_hook(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help")) {
		fputs("usage: fleetgate hook pre-receive | update <ref> <old> <new>\n"
		      "\n"
		      "Act as the named git server hook; 'fleetgate install --repo' sets them up.\n",
		      argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (!strcmp(argv[1], "pre-receive"))
		return hook_pre_receive(argc - 1, argv + 1);
	if (!strcmp(argv[1], "update"))
		return hook_update(argc - 1, argv + 1);
	return cli_usage_error("hook", "unknown hook '%s' (pre-receive or update)", argv[1]);
}
