/*
 * The git server hooks' names and places (hookfiles.h).
 */
#include "front/hookfiles.h"

#include "core/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const struct front_hook_info front_hooks[FRONT_NHOOKS] = {
	[FRONT_HOOK_PRE_RECEIVE] = { "pre-receive", 0,
				     "no arguments (git writes the ref updates on stdin)" },
	[FRONT_HOOK_UPDATE] = { "update", 3, "three arguments, <ref> <old> <new>" },
	[FRONT_HOOK_POST_RECEIVE] = { "post-receive", 0,
				      "no arguments (git writes the ref updates on stdin)" },
	[FRONT_HOOK_REFERENCE_TRANSACTION] = { "reference-transaction", 1,
					       "one argument, prepared, committed or aborted" },
};

enum front_hook front_hook_find(const char *name)
{
	enum front_hook h;

	for (h = 0; h < FRONT_NHOOKS; h++)
		if (!strcmp(name, front_hooks[h].name))
			break;
	return h;
}

void front_hook_files(const char *gitdir, enum front_layout layout, const char *hook, char *dirs[2],
		      char **path)
{
	dirs[0] = fg_asprintf("%s%s", gitdir,
			      layout == FRONT_LAYOUT_GITLAB ? "custom_hooks" : "hooks");
	dirs[1] = NULL;
	if (layout == FRONT_LAYOUT_PLAIN) {
		*path = fg_asprintf("%s/%s", dirs[0], hook);
		return;
	}
	dirs[1] = fg_asprintf("%s/%s.d", dirs[0], hook);
	*path = fg_asprintf("%s/fleetgate", dirs[1]);
}

/* Is `path` an executable file that runs fleetgate as `hook`? */
static int runs_fleetgate(const char *path, const char *hook)
{
	char head[512] = { 0 }, *mark = fg_asprintf(" hook %s", hook);
	struct stat st;
	FILE *f;
	int ok = 0;

	if (!stat(path, &st) && (st.st_mode & S_IXUSR) && (f = fopen(path, "r"))) {
		ok = fread(head, 1, sizeof(head) - 1, f) > 0 && strstr(head, "fleetgate") &&
		     strstr(head, mark);
		fclose(f);
	}
	free(mark);
	return ok;
}

int front_hook_installed(const char *gitdir, enum front_hook hook)
{
	const char *name = front_hooks[hook].name;
	static const enum front_layout layouts[] = { FRONT_LAYOUT_PLAIN, FRONT_LAYOUT_GITEA,
						     FRONT_LAYOUT_GITLAB };
	size_t i;
	int ok = 0;

	for (i = 0; i < sizeof(layouts) / sizeof(*layouts) && !ok; i++) {
		char *dirs[2], *path;

		front_hook_files(gitdir, layouts[i], name, dirs, &path);
		ok = runs_fleetgate(path, name);
		if (!ok && layouts[i] == FRONT_LAYOUT_GITLAB) {
			/* GitLab's single custom hook, custom_hooks/<hook> */
			free(path);
			path = fg_asprintf("%s/%s", dirs[0], name);
			ok = runs_fleetgate(path, name);
		}
		free(path);
		free(dirs[0]);
		free(dirs[1]);
	}
	return ok;
}
