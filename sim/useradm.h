#ifndef SIM_USERADM_H
#define SIM_USERADM_H

/*
 * Authentication of management requests (useradm). Three modes:
 *   open       no --token, no --user: any Bearer token is accepted;
 *   --token T  only "Bearer T" and tokens this stand-in issued;
 *   --user U --password P  login with Basic U:P issues tokens.
 * Issued tokens (logins and personal access tokens) are JWT-shaped but
 * checked by lookup, not by signature. Tokens and passwords are never logged.
 * Callers hold the server lock.
 */

#include <stdbool.h>
#include <stdint.h>

#include "api.h"

/* Copies its arguments; any may be NULL. Free with sim_auth_free. */
struct sim_auth *sim_auth_new(const char *token, const char *user, const char *password);
void sim_auth_free(struct sim_auth *a);

/*
 * True when the request carries an accepted token (Authorization: Bearer, or
 * the JWT cookie). Otherwise writes Mender's 401 into `res`.
 */
bool sim_auth_check(struct sim_auth *a, const struct sim_request *req, struct sim_response *res,
		    int64_t now);

/*
 * A JWT-shaped token of `claims` (taken over): a real header and claims, a
 * random signature; the stand-in checks its tokens by lookup. free() it.
 */
char *sim_jwt_make(cJSON *claims);

#endif
