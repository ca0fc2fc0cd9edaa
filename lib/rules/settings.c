#include "rules/settings.h"

#include "fleet/fleet.h"

#include "core/alloc.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void split_words(const char *s, char ***words, size_t *count)
{
	char **out = NULL;
	size_t n = 0, alloc = 0;

	while (*s) {
		size_t len = strcspn(s, " \t\n,");

		if (len) {
			out = fg_grow(out, &alloc, n + 1, sizeof(*out));
			out[n++] = fg_strndup(s, len);
		}
		s += len;
		s += strspn(s, " \t\n,");
	}
	*words = out;
	*count = n;
}

static int read_bool(struct fg_repo *repo, const char *key, int fallback, int *out)
{
	char *value = NULL;
	int rc = repo_config_string(repo, key, &value);

	*out = fallback;
	if (rc == FG_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	if (!strcasecmp(value, "true") || !strcasecmp(value, "yes") || !strcasecmp(value, "on") ||
	    !strcmp(value, "1"))
		*out = 1;
	else if (!strcasecmp(value, "false") || !strcasecmp(value, "no") ||
		 !strcasecmp(value, "off") || !strcmp(value, "0"))
		*out = 0;
	else
		rc = fg_error_set(FG_EINVAL, "git config %s: '%s' is not a boolean", key, value);
	free(value);
	return rc;
}

/* Every fleetgate.pushers.<stage>, whether the stages come from the server's
 * settings or from promotion: (a list must never be ignored). A stage set
 * twice (system, global, repository) keeps the last, most local, list. */
static int read_pushers(struct settings *s, struct fg_repo *repo)
{
	static const char prefix[] = "fleetgate.pushers.";
	char **names = NULL, **values = NULL;
	size_t n = 0, i, k;
	int rc = repo_config_prefixed(repo, prefix, &names, &values, &n);

	if (rc)
		return rc;
	s->pushers = fg_calloc(n + 1, sizeof(*s->pushers));
	for (i = 0; i < n; i++) {
		const char *stage = names[i] + sizeof(prefix) - 1;
		struct stage_pushers *p = NULL;

		for (k = 0; k < s->npushers; k++)
			if (!strcmp(s->pushers[k].stage, stage))
				p = &s->pushers[k];
		if (p) {
			fg_strings_free(p->names, p->nnames);
		} else {
			p = &s->pushers[s->npushers++];
			p->stage = fg_strdup(stage);
		}
		split_words(values[i], &p->names, &p->nnames);
	}
	fg_strings_free(names, n);
	fg_strings_free(values, n);
	return 0;
}

static int read_seconds(struct fg_repo *repo, const char *key, unsigned fallback, unsigned *out)
{
	char *value = NULL, *end;
	unsigned long n;
	int rc = repo_config_string(repo, key, &value);

	*out = fallback;
	if (rc == FG_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	n = strtoul(value, &end, 10);
	if (*end || !*value || n == 0 || n > 3600)
		rc = fg_error_set(FG_EINVAL, "git config %s: '%s' is not a number of seconds (1-3600)", key, value);
	else
		*out = (unsigned)n;
	free(value);
	return rc;
}

static int read_optional(struct fg_repo *repo, const char *key, char **out)
{
	int rc = repo_config_string(repo, key, out);

	return rc == FG_ENOTFOUND ? 0 : rc;
}

static int read_timeout(struct settings *s, struct fg_repo *repo)
{
	int rc = read_seconds(repo, "fleetgate.hookTimeout", 45, &s->hook_timeout);

	if (!rc)
		rc = read_seconds(repo, "fleetgate.applyTimeout", 30, &s->apply_timeout);
	if (!rc)
		rc = read_optional(repo, "fleetgate.menderServer", &s->mender_server);
	if (!rc)
		rc = read_optional(repo, "fleetgate.menderTokenFile", &s->mender_token_file);
	if (!rc)
		rc = read_optional(repo, "fleetgate.menderCaFile", &s->mender_ca_file);
	if (!rc)
		rc = read_optional(repo, "fleetgate.secretsFile", &s->secrets_file);
	return rc;
}

void settings_policy(const struct settings *s, struct policy_settings *out)
{
	memset(out, 0, sizeof(*out));
	out->stages = s->stages;
	out->nstages = s->nstages;
	out->merge_only = s->merge_only;
	out->pushers = s->pushers;
	out->npushers = s->npushers;
}

/* A stage the hooks cannot name in git config, or listed twice, is an
 * error: judging without it would leave a stage unguarded. */
static int check_stage_names(const struct settings *s)
{
	size_t i, k;

	for (i = 0; i < s->nstages; i++) {
		if (!fleet_stage_name_valid(s->stages[i]))
			return fg_error_set(FG_EINVAL,
					    "git config fleetgate.stages: stage name '%.200s' cannot be used: " FLEET_STAGE_NAME_RULE,
					    s->stages[i]);
		for (k = 0; k < i; k++)
			if (!strcmp(s->stages[k], s->stages[i]))
				return fg_error_set(FG_EINVAL, "git config fleetgate.stages: stage '%s' is listed twice",
						    s->stages[i]);
	}
	return 0;
}

int settings_load(struct settings *out, struct fg_repo *repo)
{
	char *value = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = repo_config_string(repo, "fleetgate.stages", &value);
	if (rc == 0) {
		split_words(value, &out->stages, &out->nstages);
		out->has_stages = 1;
		free(value);
	} else if (rc != FG_ENOTFOUND) {
		return rc;
	}
	rc = check_stage_names(out);
	if (!rc)
		rc = read_bool(repo, "fleetgate.mergeOnly", 1, &out->merge_only);
	if (!rc)
		rc = read_pushers(out, repo);
	if (!rc)
		rc = read_timeout(out, repo);
	if (rc)
		goto fail;
	rc = repo_config_string(repo, "fleetgate.tagBranches", &value);
	if (rc == 0) {
		out->tags.restricted = 1;
		split_words(value, &out->tags.branches, &out->tags.nbranches);
		free(value);
	} else if (rc != FG_ENOTFOUND) {
		goto fail;
	}
	return 0;
fail:
	settings_release(out);
	return rc;
}

void settings_release(struct settings *s)
{
	size_t i;

	for (i = 0; i < s->npushers; i++) {
		free(s->pushers[i].stage);
		fg_strings_free(s->pushers[i].names, s->pushers[i].nnames);
	}
	free(s->pushers);
	free(s->mender_server);
	free(s->mender_token_file);
	free(s->mender_ca_file);
	free(s->secrets_file);
	fg_strings_free(s->stages, s->nstages);
	fg_strings_free(s->tags.branches, s->tags.nbranches);
	memset(s, 0, sizeof(*s));
}
