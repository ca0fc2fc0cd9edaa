#include "deploy/secrets.h"

#include "core/alloc.h"
#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SECRETS_FILE (1024 * 1024)
#define MAX_SECRET_LINE 8192 /* NAME=value, without the line end */

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
	char *buf = NULL, *line, *next;
	struct stat st;
	unsigned lineno = 0;
	size_t n = 0, alloc = 0;
	ssize_t got = 1;
	int fd = -1, rc = 0;

	memset(out, 0, sizeof(*out));
	if (!path)
		return 0;
	/* read(2), not stdio: the only copy of the file is ours, wiped below */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fg_error_set(errno == ENOENT ? FG_ENOTFOUND : FG_EIO,
				    "secrets file %s: %s", path, strerror(errno));
	if (fstat(fd, &st)) {
		rc = fg_error_set(FG_EIO, "secrets file %s: %s", path, strerror(errno));
		goto done;
	}
	if (st.st_mode & 077) {
		rc = fg_error_set(FG_EINVAL,
				  "secrets file %s is readable by others (mode %03o): chmod 600 it",
				  path, (unsigned)(st.st_mode & 0777));
		goto done;
	}
	alloc = MAX_SECRETS_FILE + 1;
	buf = fg_malloc(alloc + 1);
	while (n < alloc && (got = read(fd, buf + n, alloc - n)) > 0)
		n += (size_t)got;
	if (got < 0) {
		rc = fg_error_set(FG_EIO, "secrets file %s: %s", path, strerror(errno));
		goto done;
	}
	if (n > MAX_SECRETS_FILE) {
		rc = fg_error_set(FG_ELIMIT, "secrets file %s is larger than 1 MiB", path);
		goto done;
	}
	buf[n] = '\0';
	for (line = buf; !rc && line < buf + n; line = next) {
		char *nl = memchr(line, '\n', (size_t)(buf + n - line)), *eq;
		size_t len = nl ? (size_t)(nl - line) : (size_t)(buf + n - line);

		next = line + len + 1;
		lineno++;
		if (len && line[len - 1] == '\r')
			len--;
		if (len > MAX_SECRET_LINE) {
			rc = fg_error_set(FG_ELIMIT, "secrets file %s, line %u: longer than %d bytes",
					  path, lineno, MAX_SECRET_LINE);
			break;
		}
		if (memchr(line, '\0', len) || memchr(line, '\r', len)) {
			rc = fg_error_set(FG_EINVAL, "secrets file %s, line %u: a NUL or carriage return inside the line",
					  path, lineno);
			break;
		}
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
done:
	if (buf) {
		explicit_bzero(buf, alloc + 1);
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	if (rc)
		secrets_release(out);
	return rc;
}

void secrets_release(struct secrets *s)
{
	size_t i;

	for (i = 0; i < s->count; i++) {
		explicit_bzero(s->values[i], strlen(s->values[i]));
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
