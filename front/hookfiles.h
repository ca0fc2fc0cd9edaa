#ifndef FLEETGATE_HOOKFILES_H
#define FLEETGATE_HOOKFILES_H

/*
 * Where the git server hooks live and how fleetgate knows its own: the one
 * place that names them, for `fleetgate install` (which writes them),
 * `fleetgate hook` (which runs them) and pre-receive (which asks whether
 * the update and reference-transaction hooks are installed).
 */

/* The hooks `fleetgate hook NAME` acts as, in the order install writes them. */
enum front_hook {
	FRONT_HOOK_PRE_RECEIVE,
	FRONT_HOOK_UPDATE,
	FRONT_HOOK_POST_RECEIVE,
	FRONT_HOOK_REFERENCE_TRANSACTION,
	FRONT_NHOOKS,
};

struct front_hook_info {
	const char *name; /* "pre-receive": git's name of the hook */
	int nargs;        /* the arguments git gives it */
	const char *args; /* them, in words: "three arguments, <ref> <old> <new>" */
};

extern const struct front_hook_info front_hooks[FRONT_NHOOKS];

/* The hook named `name`, or FRONT_NHOOKS. */
enum front_hook front_hook_find(const char *name);

/* Where install puts the hooks. */
enum front_layout {
	FRONT_LAYOUT_PLAIN,  /* $GIT_DIR/hooks/<hook> */
	FRONT_LAYOUT_GITLAB, /* $GIT_DIR/custom_hooks/<hook>.d/fleetgate (Gitaly) */
	FRONT_LAYOUT_GITEA,  /* $GIT_DIR/hooks/<hook>.d/fleetgate (Gitea, Forgejo) */
};

/*
 * The folders a hook of `layout` lives in, outermost first, malloc'd:
 * dirs[0] ("<gitdir>hooks"), and dirs[1] ("<dirs[0]>/<hook>.d") or NULL;
 * and the hook file's path. `gitdir` ends with '/'.
 */
void front_hook_files(const char *gitdir, enum front_layout layout, const char *hook, char *dirs[2],
		      char **path);

/* The line every file install writes carries, after "#!/bin/sh\n": a file
 * without it is not fleetgate's and is never overwritten. */
#define FRONT_HOOK_MARK "# installed by fleetgate install"

/*
 * Does git run fleetgate as `hook` from `gitdir` (ending with '/')? An
 * executable file in one of the places install writes (or GitLab's own
 * custom_hooks/<hook>) whose first 511 bytes name "fleetgate" and
 * " hook <hook>": also a wrapper written by hand (gitolite) counts.
 */
int front_hook_installed(const char *gitdir, enum front_hook hook);

#endif
