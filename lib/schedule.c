#include "schedule.h"

#include "alloc.h"
#include "error.h"
#include "facts.h"
#include "fleet.h"
#include "hmac.h"
#include "secrets.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_TOKEN_FILE 16384

/* The token: the file's first line; blank lines may follow, nothing else.
 * Read with read(2), not stdio, so that no buffer but ours (wiped) holds it. */
static int read_token_file(const char *path, char **out)
{
	char buf[MAX_TOKEN_FILE + 1];
	struct stat st;
	size_t n = 0, len, i;
	ssize_t got = 1;
	unsigned line = 1;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	*out = NULL;
	if (fd < 0)
		return fg_error_set(FG_EAUTH, "token file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) || (st.st_mode & 077)) {
		rc = fg_error_set(FG_EAUTH, "token file %s is readable by others (mode %03o): chmod 600 it",
				  path, (unsigned)(st.st_mode & 0777));
		goto done;
	}
	while (n < sizeof(buf) && (got = read(fd, buf + n, sizeof(buf) - n)) > 0)
		n += (size_t)got;
	if (got < 0) {
		rc = fg_error_set(FG_EAUTH, "token file %s: %s", path, strerror(errno));
		goto done;
	}
	if (n > MAX_TOKEN_FILE) {
		rc = fg_error_set(FG_ELIMIT, "token file %s is larger than %d bytes", path, MAX_TOKEN_FILE);
		goto done;
	}
	buf[n] = '\0';
	len = strcspn(buf, "\r\n");
	for (i = 0; i < n; i++) {
		line += buf[i] == '\n';
		if (!buf[i] || (i > len && !strchr("\r\n \t", buf[i]))) {
			rc = fg_error_set(FG_EAUTH, "token file %s, line %u: %s", path, line,
					  buf[i] ? "a token file holds the token alone, on its first line"
						 : "a NUL byte");
			goto done;
		}
	}
	buf[len] = '\0';
	if (!buf[0]) {
		rc = fg_error_set(FG_EAUTH, "token file %s is empty", path);
		goto done;
	}
	*out = fg_strdup(buf);
done:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return rc;
}

/* Credentials do not depend on the fleet: check them before loading it. */
static int credentials_at_hand(const struct settings *s)
{
	const char *token = getenv("MENDER_ACCESS_TOKEN");

	if ((token && *token) || (getenv("MENDER_USER") && getenv("MENDER_PASSWORD")) ||
	    s->mender_token_file)
		return 0;
	return fg_error_set(FG_EAUTH,
			    "no Mender credentials: set MENDER_ACCESS_TOKEN (a personal access token), MENDER_USER and MENDER_PASSWORD, or git config fleetgate.menderTokenFile");
}

int schedule_mender_settings(struct mender_settings *out, const struct settings *s,
			     const char *fleet_server, char **token_buf)
{
	const char *env;

	memset(out, 0, sizeof(*out));
	*token_buf = NULL;
	if ((env = getenv("MENDER_SERVER")) && *env)
		out->server = env;
	else if (s->mender_server)
		out->server = s->mender_server;
	else
		out->server = fleet_server;
	if (!out->server)
		return fg_error_set(FG_EINVAL,
				    "no Mender server: set MENDER_SERVER, git config fleetgate.menderServer, or mender.server in fleet.yaml");
	if ((env = getenv("MENDER_ACCESS_TOKEN")) && *env) {
		out->token = env;
	} else if (getenv("MENDER_USER") && getenv("MENDER_PASSWORD")) {
		out->user = getenv("MENDER_USER");
		out->password = getenv("MENDER_PASSWORD");
	} else if (s->mender_token_file) {
		int rc = read_token_file(s->mender_token_file, token_buf);

		if (rc)
			return rc;
		out->token = *token_buf;
	} else {
		return fg_error_set(FG_EAUTH,
				    "no Mender credentials: set MENDER_ACCESS_TOKEN (a personal access token), MENDER_USER and MENDER_PASSWORD, or git config fleetgate.menderTokenFile");
	}
	out->http.ca_file = s->mender_ca_file;
	return 0;
}

/* Every local branch's fleet at its tip, and `branch` at `commit`. */
static int load_views(struct fg_repo *repo, const char *branch, const char *commit,
		      struct branch_view **views, size_t *nviews, struct fleet **own,
		      struct diags *diags)
{
	char **names = NULL;
	size_t n = 0, i;
	struct branch_view *v;
	int rc;

	*views = NULL;
	*nviews = 0;
	rc = repo_local_branches(repo, &names, &n);
	if (rc)
		return rc;
	v = fg_calloc(n + 1, sizeof(*v));
	for (i = 0; i < n && !rc; i++) {
		struct source src;
		struct fleet *f = NULL;
		struct diags scratch;
		int is_own = !strcmp(names[i], branch);

		diags_init(&scratch);
		rc = repo_source_rev(repo, is_own ? commit : names[i], &src);
		if (!rc) {
			rc = fleet_load(&f, &src, NULL, is_own ? diags : &scratch);
			source_release(&src);
		}
		diags_release(&scratch);
		if (rc)
			break;
		v[*nviews].branch = fg_strdup(names[i]);
		v[*nviews].fleet = f;
		(*nviews)++;
		if (is_own)
			*own = f;
	}
	fg_strings_free(names, n);
	*views = v;
	return rc;
}

static void progress(const struct schedule_options *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void progress(const struct schedule_options *o, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (!o->progress)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	o->progress(o->progress_data, line);
}

static void free_views(struct branch_view *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free((char *)v[i].branch);
		fleet_free((struct fleet *)v[i].fleet);
	}
	free(v);
}

static int str_in(char **list, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(list[i], s))
			return 1;
	return 0;
}

/* Artifact names the fleet uses, and the deployment names they would get. */
static void artifact_names(const struct fleet *f, const char *branch, const char *commit,
			   char ***arts, char ***names, size_t *n)
{
	size_t i, k, cap = f->os_images.count + 1;

	for (i = 0; i < f->ndevices; i++)
		cap += f->devices[i].os_images.count;
	*arts = fg_calloc(cap, sizeof(char *));
	*names = fg_calloc(cap, sizeof(char *));
	*n = 0;
	for (i = 0; i <= f->ndevices; i++) {
		const struct fleet_map *m = i < f->ndevices ? &f->devices[i].os_images : &f->os_images;

		for (k = 0; k < m->count; k++) {
			if (str_in(*arts, *n, m->items[k].value))
				continue;
			(*arts)[*n] = fg_strdup(m->items[k].value);
			(*names)[*n] = plan_deployment_name(branch, commit, m->items[k].value);
			(*n)++;
		}
	}
}

int schedule_run(struct schedule *out, struct fg_repo *repo, const struct settings *s,
		 const struct schedule_options *o)
{
	struct branch_view *views = NULL;
	size_t nviews = 0, nart = 0;
	struct fleet *own = NULL;
	struct mender_settings ms;
	struct mender_client *client = NULL;
	struct facts facts;
	struct secrets secrets;
	struct plan_input in;
	struct hmac_key key;
	char **arts = NULL, **names = NULL, *token = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&facts, 0, sizeof(facts));
	memset(&secrets, 0, sizeof(secrets));
	memset(&key, 0, sizeof(key));
	diags_init(&out->diags);
	if (o->rev)
		rc = repo_resolve_commit(repo, o->rev, out->commit);
	else
		rc = repo_branch_tip(repo, o->branch, out->commit);
	if (!rc)
		rc = credentials_at_hand(s);
	if (!rc)
		rc = hmac_key_load(&key, repo_gitdir(repo), repo_workdir(repo) != NULL);
	if (rc)
		return rc;
	progress(o, "%s@%.7s: reading the fleet of every branch", o->branch, out->commit);
	rc = load_views(repo, o->branch, out->commit, &views, &nviews, &own, &out->diags);
	if (rc)
		goto done;
	if (!own) {
		/* --rev of a branch that does not exist (yet): its own view. */
		struct source src;

		rc = repo_source_rev(repo, out->commit, &src);
		if (!rc) {
			rc = fleet_load(&own, &src, NULL, &out->diags);
			source_release(&src);
		}
		if (rc)
			goto done;
		views = fg_realloc(views, (nviews + 1) * sizeof(*views));
		views[nviews].branch = fg_strdup(o->branch);
		views[nviews].fleet = own;
		nviews++;
	}
	if (out->diags.errors) {
		rc = fg_error_set(FG_EINVAL,
				  "the fleet configuration of '%s' at %.7s has %zu error%s: run 'fleetgate validate --rev %.7s'",
				  o->branch, out->commit, out->diags.errors,
				  out->diags.errors == 1 ? "" : "s", out->commit);
		goto done;
	}
	rc = schedule_mender_settings(&ms, s, own->mender_server, &token);
	if (rc)
		goto done;
	ms.deadline_ms = o->deadline_ms;
	ms.http.log = o->log;
	ms.http.log_data = o->log_data;
	rc = mender_client_new(&client, &ms);
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	if (rc)
		goto done;
	rc = secrets_load(&secrets, s->secrets_file);
	if (rc)
		goto done;
	artifact_names(own, o->branch, out->commit, &arts, &names, &nart);
	{
		struct facts_request rq = { own->os_attribute, (const char *const *)arts, nart,
					    (const char *const *)names, nart, o->full };

		progress(o, "%s@%.7s: reading Mender (%zu branch%s in git)", o->branch, out->commit,
			 nviews, nviews == 1 ? "" : "es");
		rc = facts_gather(&facts, client, &rq);
	}
	if (rc)
		goto done;
	progress(o, "%s@%.7s: %zu devices, %zu deployments, %zu artifacts read; planning", o->branch,
		 out->commit, facts.devices.n, facts.deployments.n, facts.artifacts.n);
	memset(&in, 0, sizeof(in));
	in.branch = o->branch;
	in.commit = out->commit;
	in.views = views;
	in.nviews = nviews;
	in.tags = &s->tags;
	in.devices = facts.plan;
	in.ndevices = facts.nplan;
	in.artifacts = facts.plan_artifacts;
	in.nartifacts = facts.nplan_artifacts;
	in.secret = secrets_lookup;
	in.secret_ctx = &secrets;
	in.digest_key = &key;
	rc = plan_compute(&out->plan, &in);
	if (rc)
		goto done;
	out->planned = 1;
	if (o->apply) {
		progress(o, "%s@%.7s: applying %zu deployment%s, %zu configuration update%s, %zu abort%s",
			 o->branch, out->commit, out->plan.nbatches, out->plan.nbatches == 1 ? "" : "s",
			 out->plan.config_updates, out->plan.config_updates == 1 ? "" : "s",
			 out->plan.aborts, out->plan.aborts == 1 ? "" : "s");
		out->applied_run = 1;
		rc = apply_plan(client, &out->plan, &out->applied);
	}
done:
	hmac_key_wipe(&key);
	fg_strings_free(arts, nart);
	fg_strings_free(names, nart);
	facts_release(&facts);
	secrets_release(&secrets);
	mender_client_free(client);
	free_views(views, nviews);
	return rc;
}

void schedule_release(struct schedule *sc)
{
	if (sc->planned)
		plan_release(&sc->plan);
	if (sc->applied_run)
		apply_result_release(&sc->applied);
	diags_release(&sc->diags);
	memset(sc, 0, sizeof(*sc));
}
