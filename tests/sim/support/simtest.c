#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "simtest.h"

extern char **environ;

double t_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The directory of the running test binary (build/tests). */
static const char *exe_dir(void)
{
	static char dir[PATH_MAX];
	ssize_t n;
	char *slash;

	if (dir[0])
		return dir;
	n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	if (n <= 0) {
		snprintf(dir, sizeof(dir), ".");
		return dir;
	}
	dir[n] = '\0';
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	return dir;
}

const char *simtest_sim_binary(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("MENDER_SIM");

	if (env && *env)
		return env;
	snprintf(path, sizeof(path), "%s/../mender-sim", exe_dir());
	return path;
}

const char *simtest_contract_path(void)
{
	static char path[PATH_MAX];
	const char *top = getenv("FG_TOP");

	if (top && *top)
		snprintf(path, sizeof(path), "%s/tests/sim/contract/mender-api.yaml", top);
	else
		snprintf(path, sizeof(path), "%s/../../tests/sim/contract/mender-api.yaml", exe_dir());
	return path;
}

const char *simtest_official_path(void)
{
	static char path[PATH_MAX];
	const char *dir = getenv("FLEETGATE_MENDER_API");

	if (!dir || !*dir)
		return NULL;
	snprintf(path, sizeof(path), "%s/combined_openapi.yaml", dir);
	return path;
}

/* ---- clean-up of what a failed test left behind ----------------------------------- */

/*
 * A failing cmocka assertion jumps out of the test, past its clean-up. Every
 * stand-in started and every temporary directory made is recorded here (by
 * value: the test's own structs may be gone) and removed at exit.
 */
#define LEFTOVERS_MAX 64

static struct {
	pid_t pid;
	char dir[256];
} leftovers[LEFTOVERS_MAX];

static void remove_dir(const char *dir);

static void clean_leftovers(void)
{
	size_t i;

	for (i = 0; i < LEFTOVERS_MAX; i++) {
		if (leftovers[i].pid > 0) {
			kill(leftovers[i].pid, SIGKILL);
			waitpid(leftovers[i].pid, NULL, 0);
		}
		if (leftovers[i].dir[0])
			remove_dir(leftovers[i].dir);
		leftovers[i].pid = 0;
		leftovers[i].dir[0] = '\0';
	}
}

static void remember(pid_t pid, const char *dir)
{
	static bool registered;
	size_t i;

	if (!registered) {
		atexit(clean_leftovers);
		registered = true;
	}
	for (i = 0; i < LEFTOVERS_MAX; i++) {
		if (leftovers[i].pid <= 0 && !leftovers[i].dir[0]) {
			leftovers[i].pid = pid;
			snprintf(leftovers[i].dir, sizeof(leftovers[i].dir), "%s", dir ? dir : "");
			return;
		}
	}
}

static void forget(pid_t pid, const char *dir)
{
	size_t i;

	for (i = 0; i < LEFTOVERS_MAX; i++) {
		if ((pid > 0 && leftovers[i].pid == pid) ||
		    (dir && dir[0] && !strcmp(leftovers[i].dir, dir))) {
			leftovers[i].pid = 0;
			leftovers[i].dir[0] = '\0';
		}
	}
}

const char *simtest_tempdir(char *buf, size_t size)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(buf, size, "%s/fg-simtest.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(buf))
		return NULL;
	remember(0, buf);
	return buf;
}

/* ---- the stand-in process ------------------------------------------------------- */

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	size_t n = strlen(text);

	if (!f || fwrite(text, 1, n, f) != n) {
		if (f)
			fclose(f);
		return -1;
	}
	return fclose(f);
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	rmdir(dir);
}

static void print_stderr_log(const struct simproc *p)
{
	char path[PATH_MAX], line[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/stderr.log", p->dir);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		fprintf(stderr, "  mender-sim: %s", line);
	fclose(f);
}

int simproc_start(struct simproc *p, const char *seed, const char *const *extra,
		  double timeout_s)
{
	const char *tmp = getenv("TMPDIR");
	char seed_path[PATH_MAX], err_path[PATH_MAX], line[256];
	const char *argv[32];
	posix_spawn_file_actions_t fa;
	int pipefd[2] = { -1, -1 }, argc = 0, rc;
	size_t len = 0;
	double deadline;

	memset(p, 0, sizeof(*p));
	p->pid = -1;
	p->out_fd = -1;
	if (!simtest_tempdir(p->dir, sizeof(p->dir))) {
		fprintf(stderr, "simtest: mkdtemp in %s: %s\n", tmp && *tmp ? tmp : "/tmp",
			strerror(errno));
		p->dir[0] = '\0';
		return -1;
	}
	snprintf(seed_path, sizeof(seed_path), "%s/seed.json", p->dir);
	snprintf(err_path, sizeof(err_path), "%s/stderr.log", p->dir);
	if (write_file(seed_path, seed)) {
		fprintf(stderr, "simtest: cannot write %s\n", seed_path);
		goto fail;
	}
	argv[argc++] = simtest_sim_binary();
	argv[argc++] = "--listen";
	argv[argc++] = "127.0.0.1:0";
	argv[argc++] = "--seed";
	argv[argc++] = seed_path;
	while (extra && *extra && argc < 30)
		argv[argc++] = *extra++;
	argv[argc] = NULL;
	if (pipe(pipefd)) {
		fprintf(stderr, "simtest: pipe: %s\n", strerror(errno));
		goto fail;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_addclose(&fa, pipefd[0]);
	posix_spawn_file_actions_addclose(&fa, pipefd[1]);
	posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	rc = posix_spawn(&p->pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	p->out_fd = pipefd[0];
	if (rc) {
		fprintf(stderr, "simtest: cannot start %s: %s\n", argv[0], strerror(rc));
		p->pid = -1;
		goto fail;
	}
	remember(p->pid, NULL);
	/* The first stdout line is "listening on 127.0.0.1:PORT". */
	deadline = t_now() + timeout_s;
	while (len < sizeof(line) - 1 && !memchr(line, '\n', len)) {
		struct pollfd pfd = { p->out_fd, POLLIN, 0 };
		int left = (int)((deadline - t_now()) * 1000);
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, left) <= 0) {
			fprintf(stderr, "simtest: mender-sim did not start in %.0f s\n", timeout_s);
			goto fail;
		}
		n = read(p->out_fd, line + len, sizeof(line) - 1 - len);
		if (n <= 0) {
			fprintf(stderr, "simtest: mender-sim exited before listening\n");
			goto fail;
		}
		len += (size_t)n;
		line[len] = '\0';
	}
	line[len] = '\0';
	if (sscanf(line, "listening on 127.0.0.1:%u", &p->port) != 1 || !p->port) {
		fprintf(stderr, "simtest: unexpected first line from mender-sim: %s\n", line);
		goto fail;
	}
	snprintf(p->base, sizeof(p->base), "http://127.0.0.1:%u", p->port);
	return 0;
fail:
	print_stderr_log(p);
	simproc_stop(p);
	return -1;
}

int simtest_run(const char *const *args, char *err, size_t size)
{
	const char *argv[32];
	char dir[] = "/tmp/fg-simrun.XXXXXX", path[64];
	posix_spawn_file_actions_t fa;
	double deadline = t_now() + 10;
	int argc = 0, status = 0, rc, ret = -1;
	pid_t pid;
	FILE *f;

	err[0] = '\0';
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/stderr", dir);
	argv[argc++] = simtest_sim_binary();
	while (args && *args && argc < 31)
		argv[argc++] = *args++;
	argv[argc] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		goto done;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 || t_now() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			goto done;
		}
		usleep(10000);
	}
	if (WIFEXITED(status))
		ret = WEXITSTATUS(status);
done:
	f = fopen(path, "r");
	if (f) {
		size_t n = fread(err, 1, size - 1, f);

		err[n] = '\0';
		fclose(f);
	}
	unlink(path);
	rmdir(dir);
	return ret;
}

int simproc_stop(struct simproc *p)
{
	int status = 0, ret = -1;
	double deadline = t_now() + 20;

	if (p->pid > 0) {
		kill(p->pid, SIGTERM);
		for (;;) {
			pid_t w = waitpid(p->pid, &status, WNOHANG);

			if (w == p->pid)
				break;
			if (w < 0 || t_now() > deadline) {
				kill(p->pid, SIGKILL);
				waitpid(p->pid, &status, 0);
				status = -1;
				break;
			}
			usleep(10000);
		}
		if (status != -1 && WIFEXITED(status))
			ret = WEXITSTATUS(status);
		if (ret != 0)
			print_stderr_log(p);
	}
	if (p->out_fd >= 0)
		close(p->out_fd);
	if (p->dir[0])
		remove_dir(p->dir);
	forget(p->pid, p->dir);
	p->pid = -1;
	p->out_fd = -1;
	p->dir[0] = '\0';
	return ret;
}

/* ---- HTTP ----------------------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_resp *r = arg;

	tstr_put(&r->body, data, size * nmemb);
	return size * nmemb;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_resp *r = arg;
	size_t n = size * nmemb, i;
	char *colon;

	if (n >= 5 && !strncmp(data, "HTTP/", 5)) {
		/* A new status line (after 100 Continue): forget earlier headers. */
		for (i = 0; i < r->nheaders; i++) {
			free(r->names[i]);
			free(r->values[i]);
		}
		r->nheaders = 0;
		return n;
	}
	colon = memchr(data, ':', n);
	if (!colon)
		return n;
	if (r->nheaders == r->aheaders) {
		r->aheaders = r->aheaders ? 2 * r->aheaders : 16;
		r->names = realloc(r->names, r->aheaders * sizeof(char *));
		r->values = realloc(r->values, r->aheaders * sizeof(char *));
		if (!r->names || !r->values)
			abort();
	}
	{
		const char *v = colon + 1, *end = data + n;

		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
			end--;
		r->names[r->nheaders] = strndup(data, (size_t)(colon - data));
		r->values[r->nheaders] = strndup(v, (size_t)(end - v));
		if (!r->names[r->nheaders] || !r->values[r->nheaders])
			abort();
		r->nheaders++;
	}
	return n;
}

void http_init(struct http *h, const char *base)
{
	h->curl = curl_easy_init();
	if (!h->curl)
		abort();
	snprintf(h->base, sizeof(h->base), "%s", base);
}

void http_cleanup(struct http *h)
{
	if (h->curl)
		curl_easy_cleanup(h->curl);
	h->curl = NULL;
}

void http_do(struct http *h, const char *method, const char *target, const char *body,
	     size_t body_len, const char *const *headers, struct http_resp *r)
{
	struct curl_slist *list = NULL;
	struct tstr url = TSTR_INIT;
	double start = t_now();

	memset(r, 0, sizeof(*r));
	tstr_printf(&url, "%s%s", h->base, target);
	curl_easy_reset(h->curl);
	curl_easy_setopt(h->curl, CURLOPT_URL, url.p);
	curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h->curl, CURLOPT_PROXY, "");
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, r);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(h->curl, CURLOPT_NOBODY, 1L);
	if (body) {
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
		list = curl_slist_append(list, "Content-Type: application/json");
	}
	/* No "Expect: 100-continue" round trip. */
	list = curl_slist_append(list, "Expect:");
	while (headers && *headers)
		list = curl_slist_append(list, *headers++);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, list);
	r->code = curl_easy_perform(h->curl);
	if (r->code == CURLE_OK)
		curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &r->status);
	if (!r->body.p)
		tstr_put(&r->body, "", 0);
	r->seconds = t_now() - start;
	curl_slist_free_all(list);
	tstr_release(&url);
}

const char *http_header(const struct http_resp *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++)
		if (!strcasecmp(r->names[i], name))
			return r->values[i];
	return NULL;
}

size_t http_header_count(const struct http_resp *r, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < r->nheaders; i++)
		n += !strcasecmp(r->names[i], name);
	return n;
}

void http_resp_release(struct http_resp *r)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++) {
		free(r->names[i]);
		free(r->values[i]);
	}
	free(r->names);
	free(r->values);
	tstr_release(&r->body);
	memset(r, 0, sizeof(*r));
}

/* ---- tests -------------------------------------------------------------------------- */

struct openapi *t_contract;
struct openapi *t_official;
char t_official_absent[8192];
static size_t judged_contract, judged_official;

size_t t_judged_contract(void)
{
	return judged_contract;
}

size_t t_judged_official(void)
{
	return judged_official;
}

static struct openapi *load_doc(const char *path, bool official)
{
	char *err = NULL;
	double start = t_now();
	struct openapi *o = openapi_load(path, official, &err);

	if (!o) {
		fprintf(stderr, "cannot load the OpenAPI document %s: %s\n", path, err ? err : "?");
		free(err);
		return NULL;
	}
	printf("loaded %s in %.2f s\n", path, t_now() - start);
	return o;
}

int t_load_doc(void **state)
{
	const char *official = simtest_official_path();

	(void)state;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	t_contract = load_doc(simtest_contract_path(), false);
	if (!t_contract)
		return -1;
	if (!official) {
		snprintf(t_official_absent, sizeof(t_official_absent),
			 "FLEETGATE_MENDER_API is not set: no official Mender documents to cross-check against");
		return 0;
	}
	if (access(official, F_OK)) {
		snprintf(t_official_absent, sizeof(t_official_absent),
			 "no official Mender documents to cross-check against: %s: %s", official,
			 strerror(errno));
		return 0;
	}
	t_official = load_doc(official, true);
	return t_official ? 0 : -1;
}

static void free_hits(void);

int t_free_doc(void **state)
{
	(void)state;
	free_hits();
	openapi_free(t_contract);
	openapi_free(t_official);
	t_contract = t_official = NULL;
	curl_global_cleanup();
	return 0;
}

struct tctx *t_start(const char *seed, const char *const *extra)
{
	struct tctx *t = calloc(1, sizeof(*t));

	if (!t)
		abort();
	if (simproc_start(&t->sim, seed, extra, 60)) {
		free(t);
		return NULL;
	}
	http_init(&t->http, t->sim.base);
	t->token = "test-token";
	return t;
}

int t_stop(struct tctx *t)
{
	int rc;

	if (!t)
		return -1;
	http_resp_release(&t->last);
	http_cleanup(&t->http);
	rc = simproc_stop(&t->sim);
	free(t);
	if (rc != 0) {
		fprintf(stderr, "mender-sim did not shut down cleanly (status %d)\n", rc);
		return -1;
	}
	return 0;
}

struct hit {
	char *method;
	const char *tmpl;
	long status;
	unsigned count;
};

static struct hit *hits;
static size_t nhits, ahits;

static void record_hit(const char *method, const char *tmpl, long status)
{
	size_t i;

	for (i = 0; i < nhits; i++) {
		if (hits[i].tmpl == tmpl && hits[i].status == status &&
		    !strcmp(hits[i].method, method)) {
			hits[i].count++;
			return;
		}
	}
	if (nhits == ahits) {
		ahits = ahits ? 2 * ahits : 64;
		hits = realloc(hits, ahits * sizeof(*hits));
		if (!hits)
			abort();
	}
	hits[nhits].method = strdup(method);
	hits[nhits].tmpl = tmpl;
	hits[nhits].status = status;
	hits[nhits].count = 1;
	nhits++;
}

static void free_hits(void)
{
	size_t i;

	for (i = 0; i < nhits; i++)
		free(hits[i].method);
	free(hits);
	hits = NULL;
	nhits = ahits = 0;
}

bool t_covered(const char *method, const char *tmpl, long status)
{
	size_t i;

	for (i = 0; i < nhits; i++)
		if (!strcmp(hits[i].tmpl, tmpl) && hits[i].status == status &&
		    !strcmp(hits[i].method, method))
			return true;
	return false;
}

void t_coverage_report(void)
{
	size_t i;

	for (i = 0; i < nhits; i++)
		printf("  %-6s %-72s %ld x%u\n", hits[i].method, hits[i].tmpl, hits[i].status,
		       hits[i].count);
}

static const char *last_header(const void *ctx, const char *name)
{
	return http_header(ctx, name);
}

static cJSON *parse_body(const struct http_resp *r)
{
	const char *end = NULL;
	cJSON *v;
	size_t i;

	if (!r->body.len)
		return NULL;
	v = cJSON_ParseWithLengthOpts(r->body.p, r->body.len, &end, 0);
	if (!v)
		return NULL;
	for (i = (size_t)(end - r->body.p); i < r->body.len; i++) {
		if (!strchr(" \t\r\n", r->body.p[i])) {
			cJSON_Delete(v);
			return NULL;
		}
	}
	return v;
}

static void vcall(struct tctx *t, const char *method, const char *body, const char *const *headers,
		  unsigned int flags, const char *fmt, va_list ap, struct tstr *target)
{
	const char *hdrs[16];
	char auth[1024];
	size_t n = 0;

	{
		va_list cp;
		int len;
		char *buf;

		va_copy(cp, ap);
		len = vsnprintf(NULL, 0, fmt, cp);
		va_end(cp);
		buf = len < 0 ? NULL : malloc((size_t)len + 1);
		if (!buf)
			abort();
		vsnprintf(buf, (size_t)len + 1, fmt, ap);
		tstr_put(target, buf, (size_t)len);
		free(buf);
	}
	if (!(flags & T_NOAUTH) && t->token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", t->token);
		hdrs[n++] = auth;
	}
	while (headers && *headers && n < 15)
		hdrs[n++] = *headers++;
	hdrs[n] = NULL;
	http_resp_release(&t->last);
	http_do(&t->http, method, target->p, body, body ? strlen(body) : 0, hdrs, &t->last);
}

cJSON *t_api(struct tctx *t, const char *method, const char *body, const char *const *headers,
	     unsigned int flags, long expect, const char *fmt, ...)
{
	struct tstr target = TSTR_INIT, errs = TSTR_INIT, path = TSTR_INIT;
	struct conform_exchange x = { 0 };
	const char *tmpl = NULL;
	va_list ap;
	cJSON *json;

	va_start(ap, fmt);
	vcall(t, method, body, headers, flags, fmt, ap, &target);
	va_end(ap);
	if (t->last.code != CURLE_OK)
		fail_msg("%s %s: no answer (%s)", method, target.p,
			 curl_easy_strerror(t->last.code));
	tstr_put(&path, target.p, strcspn(target.p, "?"));
	x.method = method;
	x.path = path.p;
	x.req_body = body;
	x.check_request = !(flags & (T_INVALID_BODY | T_RAW_BODY));
	x.status = t->last.status;
	x.content_type = http_header(&t->last, "Content-Type");
	x.body = t->last.body.p;
	x.body_len = t->last.body.len;
	x.header = last_header;
	x.ctx = &t->last;
	if (!(flags & T_NOCONFORM)) {
		if (openapi_conform(t_contract, &x, &tmpl, &errs))
			fail_msg("%s %s -> %ld does not conform to the contract (%s):\n%s"
				 "body: %.2000s",
				 method, target.p, t->last.status, simtest_contract_path(), errs.p,
				 t->last.body.p);
		judged_contract++;
		record_hit(method, tmpl, t->last.status);
		if (t_official) {
			const char *otmpl = NULL;

			if (openapi_conform(t_official, &x, &otmpl, &errs))
				fail_msg("%s %s -> %ld does not conform to Mender's document (%s):\n%s"
					 "body: %.2000s",
					 method, target.p, t->last.status, simtest_official_path(),
					 errs.p, t->last.body.p);
			judged_official++;
		}
	}
	if (t->last.status != expect)
		fail_msg("%s %s: expected %ld, got %ld: %.2000s", method, target.p, expect,
			 t->last.status, t->last.body.p);
	json = parse_body(&t->last);
	tstr_release(&target);
	tstr_release(&path);
	tstr_release(&errs);
	return json;
}

cJSON *t_sim(struct tctx *t, const char *method, const char *body, long expect,
	     const char *fmt, ...)
{
	struct tstr target = TSTR_INIT;
	va_list ap;
	cJSON *json;

	va_start(ap, fmt);
	vcall(t, method, body, NULL, T_NOAUTH, fmt, ap, &target);
	va_end(ap);
	if (t->last.code != CURLE_OK)
		fail_msg("%s %s: no answer (%s)", method, target.p,
			 curl_easy_strerror(t->last.code));
	if (t->last.status != expect)
		fail_msg("%s %s: expected %ld, got %ld: %.2000s", method, target.p, expect,
			 t->last.status, t->last.body.p);
	if (!http_header(&t->last, "X-MEN-RequestID"))
		fail_msg("%s %s: no X-MEN-RequestID", method, target.p);
	json = parse_body(&t->last);
	tstr_release(&target);
	return json;
}

const char *t_header(struct tctx *t, const char *name)
{
	return http_header(&t->last, name);
}

const char *t_body(struct tctx *t)
{
	return t->last.body.p ? t->last.body.p : "";
}

const char *t_location_id(struct tctx *t)
{
	const char *loc = http_header(&t->last, "Location"), *slash;

	if (!loc)
		fail_msg("no Location header");
	slash = strrchr(loc, '/');
	return slash ? slash + 1 : loc;
}

const char *j_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

double j_num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v))
		fail_msg("'%s' is not a number", key);
	return v->valuedouble;
}

const cJSON *j_attr(const cJSON *device, const char *scope, const char *name)
{
	const cJSON *a;

	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(device, "attributes")) {
		const char *s = j_str(a, "scope"), *n = j_str(a, "name");

		if (s && n && !strcmp(s, scope) && !strcmp(n, name))
			return cJSON_GetObjectItemCaseSensitive(a, "value");
	}
	return NULL;
}
