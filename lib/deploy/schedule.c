#include "deploy/schedule.h"

#include "core/alloc.h"
#include "core/error.h"
#include "deploy/facts.h"
#include "fleet/fleet.h"
#include "core/hmac.h"
#include "deploy/secrets.h"
#include "deploy/spool.h"

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

/* The server from the environment or the server's settings, never from
 * pushed content (anyone who can push a branch writes fleet.yaml). */
static const char *settings_server(const struct settings *s)
{
	const char *env = getenv("MENDER_SERVER");

	return env && *env ? env : s->mender_server;
}

static int server_at_hand(const struct settings *s)
{
	if (settings_server(s))
		return 0;
	return fg_error_set(FG_EINVAL,
			    "no Mender server: set MENDER_SERVER or git config fleetgate.menderServer (mender.server in fleet.yaml is never used: anyone who can push a branch controls it)");
}

int schedule_mender_settings(struct mender_settings *out, const struct settings *s,
			     char **token_buf)
{
	const char *env;

	memset(out, 0, sizeof(*out));
	*token_buf = NULL;
	out->server = settings_server(s);
	if (!out->server)
		return server_at_hand(s);
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

static void warn(struct schedule *sc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(struct schedule *sc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sc->warnings = fg_realloc(sc->warnings, (sc->nwarnings + 1) * sizeof(char *));
	sc->warnings[sc->nwarnings++] = fg_vasprintf(fmt, ap);
	va_end(ap);
}

/* The plan; when it would update configurations, whether Mender
 * Configure is there is asked first (one request; none when nothing is to
 * be configured), and without it configuration is not managed, said once. */
static int plan_with_configure(struct schedule *out, struct plan_input *in, struct facts *facts,
			       struct mender_client *client)
{
	int rc;

	in->configure_absent = facts->configure_absent;
	rc = plan_compute(&out->plan, in);
	if (!rc && !facts->configure_absent && out->plan.config_updates) {
		facts_probe_configure(facts, client);
		if (facts->configure_absent) {
			plan_release(&out->plan);
			in->configure_absent = 1;
			rc = plan_compute(&out->plan, in);
		}
	}
	out->configure_absent = facts->configure_absent;
	return rc;
}

/* Two URLs name the same server when they differ only by trailing '/'. */
static int same_url(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	while (na && a[na - 1] == '/')
		na--;
	while (nb && b[nb - 1] == '/')
		nb--;
	return na == nb && !strncmp(a, b, na);
}

/* Whether `branch` is a stage: the server's fleetgate.stages, else the
 * promotion list of the branch's own fleet (as the promotion rules take it). */
static int is_stage(const struct settings *s, const char *branch, const struct fleet *f)
{
	size_t i;

	if (!s->has_stages)
		return fleet_is_stage(f, branch);
	for (i = 0; i < s->nstages; i++)
		if (!strcmp(s->stages[i], branch))
			return 1;
	return 0;
}

/* What is wrong with a fleet that loaded with errors, in one line. */
static char *first_error(const struct diags *d, const char *commit)
{
	size_t i;

	for (i = 0; i < d->count; i++) {
		const struct diag *e = &d->items[i];
		char *at, *why;

		if (e->severity != DIAG_ERROR)
			continue;
		at = e->line ? fg_asprintf("%s:%u:%u", e->file, e->line, e->column) : fg_strdup(e->file);
		why = fg_asprintf("its fleet at %.7s has %zu error%s, the first %s: %s", commit,
				  d->errors, d->errors == 1 ? "" : "s", at, e->message);
		free(at);
		return why;
	}
	return fg_asprintf("its fleet at %.7s is invalid", commit);
}

/*
 * Every local branch's fleet at its tip (refs/heads/<name>: a tag of the
 * same short name is a free pusher's and must never stand in for a
 * branch), and `branch` at `commit` into *own. Another branch whose fleet
 * cannot be read or is invalid is skipped with a warning: it claims no
 * device, and it does not stop this branch's scheduling.
 */
static int load_views(struct schedule *sc, struct fg_repo *repo, const struct settings *s,
		      const char *branch, const char *commit, struct branch_view **views,
		      size_t *nviews, struct fleet **own)
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
		char tip[41] = "";
		int is_own = !strcmp(names[i], branch);

		diags_init(&scratch);
		if (is_own)
			rc = repo_source_rev(repo, commit, &src);
		else
			rc = repo_source_branch(repo, names[i], &src, tip);
		if (!rc) {
			rc = fleet_load(&f, &src, NULL, is_own ? &sc->diags : &scratch);
			source_release(&src);
		}
		if (!is_own && (rc || scratch.errors)) {
			char *why = rc ? fg_strdup(fg_error_message()) : first_error(&scratch, tip);

			warn(sc, "branch '%s' is skipped, it claims no device: %s", names[i], why);
			free(why);
			fleet_free(f);
			diags_release(&scratch);
			rc = 0;
			continue;
		}
		diags_release(&scratch);
		if (rc)
			break;
		v[*nviews].branch = fg_strdup(names[i]);
		v[*nviews].fleet = f;
		v[*nviews].stage = is_stage(s, names[i], f);
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
	int rc, lock = -1;

	memset(out, 0, sizeof(*out));
	memset(&facts, 0, sizeof(facts));
	memset(&secrets, 0, sizeof(secrets));
	memset(&key, 0, sizeof(key));
	diags_init(&out->diags);
	rc = credentials_at_hand(s);
	if (!rc)
		rc = server_at_hand(s);
	if (!rc)
		rc = hmac_key_load(&key, repo_gitdir(repo), repo_workdir(repo) != NULL);
	/* Applying holds the branch's lock from reading the facts to the last
	 * action, so that a second run plans on what the first one did; the
	 * tip is read once the lock is held. */
	if (!rc && o->apply)
		rc = spool_lock_branch(repo_gitdir(repo), o->branch, o->deadline_ms, &lock);
	if (!rc && o->rev)
		rc = repo_resolve_commit(repo, o->rev, out->commit);
	else if (!rc)
		rc = repo_branch_tip(repo, o->branch, out->commit);
	if (rc)
		goto done;
	progress(o, "%s@%.7s: reading the fleet of every branch", o->branch, out->commit);
	rc = load_views(out, repo, s, o->branch, out->commit, &views, &nviews, &own);
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
		views[nviews].stage = is_stage(s, o->branch, own);
		nviews++;
	}
	out->free_branch = !is_stage(s, o->branch, own);
	if (out->diags.errors) {
		rc = fg_error_set(FG_EINVAL,
				  "the fleet configuration of '%s' at %.7s has %zu error%s: run 'fleetgate validate --rev %.7s'",
				  o->branch, out->commit, out->diags.errors,
				  out->diags.errors == 1 ? "" : "s", out->commit);
		goto done;
	}
	if (!is_stage(s, o->branch, own) && own->default_branch &&
	    !strcmp(own->default_branch, o->branch))
		warn(out, "'%s' is not a stage: its default_branch claims no device (a device follows a free branch only by its own file or its Mender tag)",
		     o->branch);
	rc = schedule_mender_settings(&ms, s, &token);
	if (rc)
		goto done;
	if (own->mender_server && !same_url(own->mender_server, ms.server))
		warn(out, "mender.server '%s' in fleet.yaml is not the Mender server of this git server; it is not used",
		     own->mender_server);
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
	in.active = facts.plan_active;
	in.nactive = facts.nplan_active;
	rc = plan_with_configure(out, &in, &facts, client);
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
	spool_unlock_branch(lock);
	return rc;
}

int schedule_unschedulable(int rc, const struct schedule *sc)
{
	return rc == FG_EINVAL && sc->diags.errors && sc->free_branch;
}

void schedule_release(struct schedule *sc)
{
	if (sc->planned)
		plan_release(&sc->plan);
	if (sc->applied_run)
		apply_result_release(&sc->applied);
	diags_release(&sc->diags);
	fg_strings_free(sc->warnings, sc->nwarnings);
	memset(sc, 0, sizeof(*sc));
}
