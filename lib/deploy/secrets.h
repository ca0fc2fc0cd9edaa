#ifndef FLEETGATE_SECRETS_H
#define FLEETGATE_SECRETS_H

#include <stddef.h>

/*
 * Secrets for ${secret:NAME}, resolved only when applying, never from the
 * repository: the environment variable FLEETGATE_SECRET_<NAME>, else the
 * secrets file (git config fleetgate.secretsFile: NAME=value lines, '#'
 * comments), which must not be readable by group or others. Values are
 * wiped from memory when released and never appear in any message.
 */
struct secrets {
	char **names;
	char **values;
	size_t count;
};

/* Load the secrets file `path` (NULL: none). FG_EINVAL when it is readable
 * by others or malformed, FG_ELIMIT when it is over 1 MiB or a line is over
 * 8192 bytes (the message names the file and line, never a value; a value
 * is never cut or split). */
int secrets_load(struct secrets *out, const char *path);
void secrets_release(struct secrets *s);

/* A secret_lookup_fn (lib/fleet/desired.h): `ctx` is a struct secrets. */
const char *secrets_lookup(void *ctx, const char *name);

#endif
