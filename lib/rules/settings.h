#ifndef FLEETGATE_SETTINGS_H
#define FLEETGATE_SETTINGS_H

#include <stddef.h>

#include "fleet/desired.h"
#include "rules/policy.h"
#include "git/repo.h"

/*
 * The server's settings, from the repository's git config (never from the
 * pushed commits: a push cannot loosen the rules it is judged by).
 *
 *   fleetgate.stages         "main canary production" (upstream first)
 *   fleetgate.mergeOnly      bool, default true
 *   fleetgate.pushers.<s>    names allowed to push stage <s>
 *   fleetgate.tagBranches    branches a Mender tag may choose ("" = none)
 *   fleetgate.hookTimeout    seconds pre-receive may take (45)
 *   fleetgate.applyTimeout   seconds post-receive may spend scheduling (30)
 *   fleetgate.menderServer, .menderTokenFile, .menderCaFile, .secretsFile
 */
struct settings {
	int has_stages;
	char **stages;
	size_t nstages;
	int merge_only;
	struct stage_pushers *pushers; /* one per stage that has a list */
	size_t npushers;
	struct tag_policy tags;
	unsigned hook_timeout;         /* fleetgate.hookTimeout, seconds (default 45) */
	unsigned apply_timeout;        /* fleetgate.applyTimeout, seconds (default 30) */
	char *mender_server;           /* fleetgate.menderServer, or NULL */
	char *mender_token_file;       /* fleetgate.menderTokenFile, or NULL */
	char *mender_ca_file;          /* fleetgate.menderCaFile, or NULL */
	char *secrets_file;            /* fleetgate.secretsFile, or NULL */
};

/* The settings as the promotion rules take them. Points into `s`. */
void settings_policy(const struct settings *s, struct policy_settings *out);

/* Read the settings of `repo`. Free with settings_release(). */
int settings_load(struct settings *out, struct fg_repo *repo);
void settings_release(struct settings *s);

/* Split `s` on blanks and commas into malloc'd words. */
void split_words(const char *s, char ***words, size_t *count);

#endif
