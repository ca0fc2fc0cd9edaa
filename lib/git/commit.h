#ifndef FLEETGATE_COMMIT_H
#define FLEETGATE_COMMIT_H

#include <stddef.h>

/*
 * One commit as the promotion rules read it: the git adapter fills it
 * (repo_commit_read), the rules only read it, so the rules need no part of
 * the adapter. policy_commit_release() (rules/policy.h) frees it.
 */

#define POLICY_ID_MAX 65  /* hex object id and its NUL */

struct policy_commit {
	char id[POLICY_ID_MAX];
	char tree[POLICY_ID_MAX];
	char **parents;
	size_t nparents;
	char *subject; /* first line of the message, as stored */
};

#endif
