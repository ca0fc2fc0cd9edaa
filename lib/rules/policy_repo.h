#ifndef FLEETGATE_POLICY_REPO_H
#define FLEETGATE_POLICY_REPO_H

#include "rules/policy.h"
#include "git/repo.h"

/* A policy_reader over a real repository (libgit2 through lib/git/repo.h and
 * the fleet loader). `repo` must outlive the reader; it holds no state. */
void policy_repo_reader(struct policy_reader *out, struct fg_repo *repo);

#endif
