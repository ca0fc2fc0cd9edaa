#include "settings.h"

#include "alloc.h"
#include "error.h"

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
	rc = read_bool(repo, "fleetgate.mergeOnly", 1, &out->merge_only);
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
	repo_strings_free(s->stages, s->nstages);
	repo_strings_free(s->tags.branches, s->tags.nbranches);
	memset(s, 0, sizeof(*s));
}
