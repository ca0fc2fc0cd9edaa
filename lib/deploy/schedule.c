#include "deploy/schedule.h"

#include "core/alloc.h"
#include "core/error.h"
#include "deploy/facts.h"
#include "fleet/fleet.h"
#include "core/hmac.h"
#include "deploy/secrets.h"
#include "deploy/spool.h"
#include "mender/http.h"
#include "rules/record.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_TOKEN_FILE 16384

/* A branch of a session: the commit its facts were read at ("" when they
 * were not read for it), and its lock with `apply`, held from the reading
 * to the end of its run. */
struct session_target {
	char *branch;
	char *rev;
	char commit[41];
	char **names;         /* the deployment names its plan would make */
	size_t nnames;
	int found;            /* the facts hold the deployments of those names */
	int lock;
	int ran;              /* its run is over: a second one reads its own facts */
};

struct schedule_session {
	struct fg_repo *repo;
	const struct settings *s;
	struct schedule_options o;
	struct session_target *t;
	size_t n;
	struct mender_client *client;
	struct facts facts;
	int prepared;         /* each target's commit and names are known */
	int read;             /* facts hold a reading */
	/* the union read, owned */
	char **attrs, **arts, **names;
	size_t nattrs, narts, nnames;
};

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

/* The planner's input from the branch's views and Mender's facts (the
 * secrets and the digest key are the caller's to add). */
static void fill_input(struct plan_input *in, const struct schedule *out,
		       const struct branch_view *views, size_t nviews, const struct settings *s,
		       const struct facts *facts)
{
	memset(in, 0, sizeof(*in));
	in->commit = out->commit;
	in->views = views;
	in->nviews = nviews;
	in->tags = &s->tags;
	in->devices = facts->plan;
	in->ndevices = facts->nplan;
	in->artifacts = facts->plan_artifacts;
	in->nartifacts = facts->nplan_artifacts;
	in->active = facts->plan_active;
	in->nactive = facts->nplan_active;
	in->secret = secrets_lookup;
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

/* fleetgate.verify.<stage>.halt stopped this commit's rollout: its
 * record says so until a new push moves the stage. */
static int halted_here(struct fg_repo *repo, const struct settings *s, const char *branch,
		       const char *commit)
{
	struct verify_record r;
	char tree[41];
	int found = 0, halted;

	if (!verify_rules_of(&s->verify, branch) || repo_commit_tree(repo, commit, tree) ||
	    record_read(repo, branch, tree, &r, &found, NULL))
		return 0;
	halted = found && r.halted && !strcmp(r.halted, commit);
	record_release(&r);
	return halted;
}

/* The commit's deployments' devices still on their way, by statistics. */
static void count_active(struct schedule *out, const struct facts *f, char **names, size_t n)
{
	static const char *const states[4] = { "pending", "downloading", "installing", "rebooting" };
	size_t i;
	int k;

	for (i = 0; i < f->deployments.n; i++) {
		const struct mender_deployment *d = &f->deployments.items[i];

		if (!str_in(names, n, d->name))
			continue;
		for (k = 0; k < 4; k++)
			out->active[k] += mender_deployment_stat(d, states[k]);
	}
}

/* --rev of a branch that does not exist (yet): its own view, added. */
static int add_own_view(struct schedule *out, struct fg_repo *repo, const struct settings *s,
			const char *branch, struct branch_view **views, size_t *nviews,
			struct fleet **own)
{
	struct source src;
	int rc = repo_source_rev(repo, out->commit, &src);

	if (!rc) {
		rc = fleet_load(own, &src, NULL, &out->diags);
		source_release(&src);
	}
	if (rc)
		return rc;
	*views = fg_realloc(*views, (*nviews + 1) * sizeof(**views));
	(*views)[*nviews].branch = fg_strdup(branch);
	(*views)[*nviews].fleet = *own;
	(*views)[*nviews].stage = is_stage(s, branch, *own);
	(*nviews)++;
	return 0;
}

/* The branch's own fleet: no error, and a warning where a free branch's
 * default_branch names itself. */
static int check_own(struct schedule *out, const struct settings *s, const char *branch,
		     const struct fleet *own)
{
	out->free_branch = !is_stage(s, branch, own);
	if (out->diags.errors)
		return fg_error_set(FG_EINVAL,
				    "the fleet configuration of '%s' at %.7s has %zu error%s: run 'fleetgate validate --rev %.7s'",
				    branch, out->commit, out->diags.errors,
				    out->diags.errors == 1 ? "" : "s", out->commit);
	if (out->free_branch && own->default_branch && !strcmp(own->default_branch, branch))
		warn(out, "'%s' is not a stage: its default_branch claims no device (a device follows a free branch only by its own file or its Mender tag)",
		     branch);
	return 0;
}

/* The Mender client of the server's settings; the token wiped once used. */
static int new_client(const struct settings *s, const struct schedule_options *o,
		      struct mender_client **client)
{
	struct mender_settings ms;
	char *token = NULL;
	int rc = schedule_mender_settings(&ms, s, &token);

	if (rc)
		return rc;
	ms.deadline_ms = o->deadline_ms;
	ms.http.log = o->log;
	ms.http.log_data = o->log_data;
	rc = mender_client_new(client, &ms);
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	return rc;
}

/* The run's client: its own, or its session's (made by the session's
 * first run that needs it); a fleet naming another server is warned of. */
static int open_client(struct schedule *out, const struct settings *s,
		       const struct schedule_options *o, const struct fleet *own,
		       struct mender_client **client)
{
	struct schedule_session *ss = o->session;
	int rc = 0;

	if (!ss)
		rc = new_client(s, o, client);
	else if (!ss->client)
		rc = new_client(s, &ss->o, &ss->client);
	if (rc)
		return rc;
	if (ss)
		*client = ss->client;
	if (own->mender_server && !same_url(own->mender_server, settings_server(s)))
		warn(out, "mender.server '%s' in fleet.yaml is not the Mender server of this git server; it is not used",
		     own->mender_server);
	return 0;
}

static void add_unique(char ***list, size_t *n, const char *v)
{
	if (str_in(*list, *n, v))
		return;
	*list = fg_realloc(*list, (*n + 1) * sizeof(char *));
	(*list)[(*n)++] = fg_strdup(v);
}

/* A target's commit and what it adds to the session's reading; a fleet
 * that cannot be read or is invalid adds nothing (its run says why), nor,
 * with `apply`, a branch another run holds: its own run reads its facts
 * once it holds the branch. A lock is only tried here (a deadline already
 * past makes one attempt): waiting while holding others could deadlock. */
static void session_add(struct schedule_session *ss, struct session_target *t)
{
	struct source src;
	struct fleet *f = NULL;
	struct diags scratch;
	char commit[41], **arts = NULL;
	size_t i;
	int rc;

	t->commit[0] = '\0';
	if (t->ran || (ss->o.apply && t->lock < 0 &&
		       spool_lock_branch(repo_gitdir(ss->repo), t->branch, fg_http_now_ms(), &t->lock)))
		goto done;
	rc = t->rev ? repo_resolve_commit(ss->repo, t->rev, commit)
		    : repo_branch_tip(ss->repo, t->branch, commit);
	if (rc || repo_source_rev(ss->repo, commit, &src))
		goto done;
	diags_init(&scratch);
	rc = fleet_load(&f, &src, NULL, &scratch);
	source_release(&src);
	if (!rc && !scratch.errors) {
		artifact_names(f, t->branch, commit, &arts, &t->names, &t->nnames);
		for (i = 0; i < t->nnames; i++) {
			add_unique(&ss->arts, &ss->narts, arts[i]);
			add_unique(&ss->names, &ss->nnames, t->names[i]);
		}
		add_unique(&ss->attrs, &ss->nattrs, f->os_attribute);
		memcpy(t->commit, commit, sizeof(commit));
	}
	fg_strings_free(arts, t->nnames);
	fleet_free(f);
	diags_release(&scratch);
done:
	fg_error_clear();
}

/* The session's facts for `t`: read for every target at the first run
 * that needs them. When a branch's actions changed the deployments, or
 * they were read again for another branch, they are read again for `t`
 * (the active ones and its own names: what it would read alone); the
 * inventory, artifacts and configurations are kept. A failure is the
 * run's; the next run tries again. */
static int session_facts(struct schedule_session *ss, struct session_target *t,
			 struct mender_client *client)
{
	struct facts_request rq = { (const char *const *)ss->attrs, ss->nattrs,
				    (const char *const *)ss->arts, ss->narts,
				    (const char *const *)ss->names, ss->nnames, ss->o.full, 0 };
	size_t i;
	int rc;

	if (ss->read && t->found)
		return 0;
	if (ss->read) {
		rq.deployment_names = (const char *const *)t->names;
		rq.ndeployment_names = t->nnames;
		rc = facts_reread_deployments(&ss->facts, client, &rq);
	} else {
		progress(&ss->o, "reading Mender for %zu branch%s", ss->n, ss->n == 1 ? "" : "es");
		rc = facts_read(&ss->facts, client, &rq);
	}
	for (i = 0; i < ss->n; i++)
		ss->t[i].found = !rc && (!ss->read || &ss->t[i] == t);
	ss->read = !rc;
	if (rc)
		facts_release(&ss->facts);
	return rc;
}

/* A branch's actions changed the deployments: no branch's are known. */
static void session_changed(struct schedule_session *ss)
{
	size_t i;

	for (i = 0; i < ss->n; i++)
		ss->t[i].found = 0;
}

/* Whether the session reads the facts of `t` at `commit`: each target's
 * commit is taken once, at the first run that reads Mender. */
static int session_covers(struct schedule_session *ss, struct session_target *t,
			  const char *commit)
{
	size_t i;

	for (i = 0; !ss->prepared && i < ss->n; i++)
		session_add(ss, &ss->t[i]);
	ss->prepared = 1;
	return !t->ran && t->commit[0] && !strcmp(t->commit, commit);
}

static struct session_target *session_find(struct schedule_session *ss, const char *branch)
{
	size_t i;

	for (i = 0; ss && i < ss->n; i++)
		if (!strcmp(ss->t[i].branch, branch))
			return &ss->t[i];
	return NULL;
}

struct schedule_session *schedule_session_new(struct fg_repo *repo, const struct settings *s,
					      const struct schedule_target *targets, size_t n,
					      const struct schedule_options *o)
{
	struct schedule_session *ss = fg_calloc(1, sizeof(*ss));
	size_t i;

	ss->repo = repo;
	ss->s = s;
	ss->o = *o;
	ss->o.session = NULL;
	ss->o.lean = 0;
	ss->t = fg_calloc(n + 1, sizeof(*ss->t));
	/* a branch twice is run once with the session's facts */
	for (i = 0; i < n; i++) {
		if (session_find(ss, targets[i].branch))
			continue;
		ss->t[ss->n].branch = fg_strdup(targets[i].branch);
		ss->t[ss->n].rev = targets[i].rev ? fg_strdup(targets[i].rev) : NULL;
		ss->t[ss->n++].lock = -1;
	}
	return ss;
}

void schedule_session_free(struct schedule_session *ss)
{
	size_t i;

	if (!ss)
		return;
	if (ss->read)
		facts_release(&ss->facts);
	mender_client_free(ss->client);
	for (i = 0; i < ss->n; i++) {
		spool_unlock_branch(ss->t[i].lock);
		free(ss->t[i].branch);
		free(ss->t[i].rev);
		fg_strings_free(ss->t[i].names, ss->t[i].nnames);
	}
	free(ss->t);
	fg_strings_free(ss->attrs, ss->nattrs);
	fg_strings_free(ss->arts, ss->narts);
	fg_strings_free(ss->names, ss->nnames);
	free(ss);
}

/* Applying holds the branch's lock from reading the facts to the last
 * action, so that a second run plans on what the first one did. In a
 * session, the lock taken when the facts were read; else it is waited
 * for, holding no other: every lock the session holds is let go first
 * (their branches then read their own facts). */
static int lock_branch(struct fg_repo *repo, const struct schedule_options *o, int *lock)
{
	struct session_target *t = session_find(o->session, o->branch);
	size_t i;

	if (!t)
		return spool_lock_branch(repo_gitdir(repo), o->branch, o->deadline_ms, lock);
	if (t->lock >= 0)
		return 0;
	for (i = 0; i < o->session->n; i++) {
		spool_unlock_branch(o->session->t[i].lock);
		o->session->t[i].lock = -1;
		o->session->t[i].commit[0] = '\0';
	}
	return spool_lock_branch(repo_gitdir(repo), o->branch, o->deadline_ms, &t->lock);
}

/* A session's branch: its run is over, its lock let go. */
static void session_ran(const struct schedule_options *o)
{
	struct session_target *t = session_find(o->session, o->branch);

	if (!t)
		return;
	t->ran = 1;
	spool_unlock_branch(t->lock);
	t->lock = -1;
}

/* What Mender holds of the devices and of the artifacts `own` names: read
 * for this run into *mine, or the session's facts when they were read for
 * this branch at this commit (the view of this branch). */
static int read_facts(struct facts **facts, struct facts *mine, struct mender_client *client,
		      const struct fleet *own, struct schedule *out, const struct schedule_options *o,
		      size_t nviews)
{
	struct session_target *t = session_find(o->session, o->branch);
	char **arts = NULL, **names = NULL;
	size_t nart = 0;
	int rc;

	artifact_names(own, o->branch, out->commit, &arts, &names, &nart);
	if (t && !o->lean && session_covers(o->session, t, out->commit)) {
		struct facts_view_request v = { own->os_attribute, (const char *const *)names, nart };

		rc = session_facts(o->session, t, client);
		if (!rc) {
			*facts = &o->session->facts;
			facts_view(*facts, &v);
		}
	} else {
		const char *attr = own->os_attribute;
		struct facts_request rq = { &attr, 1, (const char *const *)arts, nart,
					    (const char *const *)names, nart, o->full, o->lean };

		progress(o, "%s@%.7s: reading Mender (%zu branch%s in git)", o->branch, out->commit,
			 nviews, nviews == 1 ? "" : "es");
		*facts = mine;
		rc = facts_gather(mine, client, &rq);
	}
	if (!rc && o->lean)
		count_active(out, *facts, names, nart);
	fg_strings_free(arts, nart);
	fg_strings_free(names, nart);
	return rc;
}

static int compute(struct schedule *out, const struct settings *s, const struct schedule_options *o,
		   const struct branch_view *views, size_t nviews, struct facts *facts,
		   struct secrets *secrets, const struct hmac_key *key, struct mender_client *client)
{
	struct plan_input in;

	progress(o, "%s@%.7s: %zu devices, %zu deployments, %zu artifacts read; planning", o->branch,
		 out->commit, facts->devices.n, facts->deployments.n, facts->artifacts.n);
	fill_input(&in, out, views, nviews, s, facts);
	in.branch = o->branch;
	in.secret_ctx = secrets;
	in.digest_key = key;
	return plan_with_configure(out, &in, facts, client);
}

/* The plan's actions; ones that change deployments have the session's
 * next branch read them again. */
static int apply(struct schedule *out, struct fg_repo *repo, const struct settings *s,
		 const struct schedule_options *o, struct mender_client *client)
{
	const struct plan *p = &out->plan;

	if (halted_here(repo, s, o->branch, out->commit)) {
		warn(out, "the rollout of '%s' at %.7s was halted when its verification failed (fleetgate.verify.%s.halt): nothing is scheduled; a new push to '%s' resumes",
		     o->branch, out->commit, o->branch, o->branch);
		return 0;
	}
	progress(o, "%s@%.7s: applying %zu deployment%s, %zu configuration update%s, %zu abort%s",
		 o->branch, out->commit, p->nbatches, p->nbatches == 1 ? "" : "s", p->config_updates,
		 p->config_updates == 1 ? "" : "s", p->aborts, p->aborts == 1 ? "" : "s");
	out->applied_run = 1;
	if (o->session && (p->nbatches || p->aborts || p->nfinish))
		session_changed(o->session);
	return apply_plan(client, p, &out->applied);
}

int schedule_run(struct schedule *out, struct fg_repo *repo, const struct settings *s,
		 const struct schedule_options *o)
{
	struct branch_view *views = NULL;
	size_t nviews = 0;
	struct fleet *own = NULL;
	struct mender_client *client = NULL;
	struct facts mine, *facts = &mine;
	struct secrets secrets;
	struct hmac_key key;
	int rc, lock = -1;

	memset(out, 0, sizeof(*out));
	memset(&mine, 0, sizeof(mine));
	memset(&secrets, 0, sizeof(secrets));
	memset(&key, 0, sizeof(key));
	diags_init(&out->diags);
	rc = credentials_at_hand(s);
	if (!rc)
		rc = server_at_hand(s);
	if (!rc)
		rc = hmac_key_load(&key, repo_gitdir(repo), repo_workdir(repo) != NULL);
	/* the tip is read once the lock is held */
	if (!rc && o->apply)
		rc = lock_branch(repo, o, &lock);
	if (!rc && o->rev)
		rc = repo_resolve_commit(repo, o->rev, out->commit);
	else if (!rc)
		rc = repo_branch_tip(repo, o->branch, out->commit);
	if (rc)
		goto done;
	progress(o, "%s@%.7s: reading the fleet of every branch", o->branch, out->commit);
	rc = load_views(out, repo, s, o->branch, out->commit, &views, &nviews, &own);
	if (!rc && !own)
		rc = add_own_view(out, repo, s, o->branch, &views, &nviews, &own);
	if (!rc)
		rc = check_own(out, s, o->branch, own);
	if (!rc)
		rc = open_client(out, s, o, own, &client);
	if (!rc)
		rc = secrets_load(&secrets, s->secrets_file);
	if (!rc)
		rc = read_facts(&facts, &mine, client, own, out, o, nviews);
	if (!rc)
		rc = compute(out, s, o, views, nviews, facts, &secrets, &key, client);
	if (rc)
		goto done;
	out->planned = 1;
	if (o->apply)
		rc = apply(out, repo, s, o, client);
done:
	hmac_key_wipe(&key);
	facts_release(&mine);
	secrets_release(&secrets);
	if (!o->session)
		mender_client_free(client);
	free_views(views, nviews);
	spool_unlock_branch(lock);
	session_ran(o);
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
