#include "secrets.h"

#include "alloc.h"
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_SECRETS_FILE (1024 * 1024)

static int valid_name(const char *s, size_t n)
{
	size_t i;

	if (!n)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

int secrets_load(struct secrets *out, const char *path)
{
	char line[8192];
	struct stat st;
	unsigned lineno = 0;
	FILE *f;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!path)
		return 0;
	f = fopen(path, "r");
	if (!f)
		return fg_error_set(errno == ENOENT ? FG_ENOTFOUND : FG_EIO,
				    "secrets file %s: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) || st.st_size > MAX_SECRETS_FILE) {
		fclose(f);
		return fg_error_set(FG_ELIMIT, "secrets file %s: unreadable or larger than 1 MiB", path);
	}
	if (st.st_mode & 077) {
		fclose(f);
		return fg_error_set(FG_EINVAL,
				    "secrets file %s is readable by others (mode %03o): chmod 600 it",
				    path, (unsigned)(st.st_mode & 0777));
	}
	while (!rc && fgets(line, sizeof(line), f)) {
		size_t len = strcspn(line, "\r\n");
		char *eq;

		lineno++;
		line[len] = '\0';
		if (!len || line[0] == '#')
			continue;
		eq = strchr(line, '=');
		if (!eq || !valid_name(line, (size_t)(eq - line))) {
			rc = fg_error_set(FG_EINVAL,
					  "secrets file %s, line %u: expected NAME=value with NAME of A-Z, 0-9 and _",
					  path, lineno);
			break;
		}
		out->names = fg_realloc(out->names, (out->count + 1) * sizeof(char *));
		out->values = fg_realloc(out->values, (out->count + 1) * sizeof(char *));
		out->names[out->count] = fg_strndup(line, (size_t)(eq - line));
		out->values[out->count] = fg_strdup(eq + 1);
		out->count++;
	}
	memset(line, 0, sizeof(line));
	fclose(f);
	if (rc)
		secrets_release(out);
	return rc;
}

void secrets_release(struct secrets *s)
{
	size_t i;

	for (i = 0; i < s->count; i++) {
		memset(s->values[i], 0, strlen(s->values[i]));
		free(s->values[i]);
		free(s->names[i]);
	}
	free(s->names);
	free(s->values);
	memset(s, 0, sizeof(*s));
}

const char *secrets_lookup(void *ctx, const char *name)
{
	const struct secrets *s = ctx;
	char var[256];
	const char *v;
	size_t i;

	snprintf(var, sizeof(var), "FLEETGATE_SECRET_%s", name);
	v = getenv(var);
	if (v)
		return v;
	for (i = 0; s && i < s->count; i++)
		if (!strcmp(s->names[i], name))
			return s->values[i];
	return NULL;
}
