#ifndef FLEETGATE_TEST_SIMCTL_H
#define FLEETGATE_TEST_SIMCTL_H

/*
 * Test helpers: start the Mender stand-in ($MENDER_SIM) on a free loopback
 * port with a seed file, talk to its /_sim/ control endpoints, stop it.
 * Included by the test programs that need it; every function is static
 * (and marked unused, since not every test uses all of them).
 */

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "mender/http.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIMCTL __attribute__((unused)) static

struct sim {
	pid_t pid;
	char url[64];
	char seed_path[64];
	struct fg_http *http;
};

/* Write `seed` to a temporary file and start the stand-in with it and the
 * extra arguments (NULL-terminated). Returns 0, or -1 with a message on
 * stderr (the test then fails). */
SIMCTL int sim_start(struct sim *s, const char *seed, const char *const *extra)
{
	const char *bin = getenv("MENDER_SIM");
	const char *argv[16];
	char line[256];
	size_t n = 0, len = 0;
	int fd, out[2];
	int64_t until;

	memset(s, 0, sizeof(*s));
	if (!bin || access(bin, X_OK)) {
		fprintf(stderr, "MENDER_SIM (%s) is not an executable stand-in\n", bin ? bin : "unset");
		return -1;
	}
	snprintf(s->seed_path, sizeof(s->seed_path), "/tmp/fg-seed-XXXXXX");
	fd = mkstemp(s->seed_path);
	if (fd < 0 || write(fd, seed, strlen(seed)) != (ssize_t)strlen(seed)) {
		perror("seed file");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	argv[n++] = bin;
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	argv[n++] = "--seed";
	argv[n++] = s->seed_path;
	while (extra && *extra && n < 15)
		argv[n++] = *extra++;
	argv[n] = NULL;
	if (pipe(out))
		return -1;
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		dup2(out[1], 1);
		if (devnull >= 0) {
			dup2(devnull, 0);
			if (!getenv("SIM_STDERR"))
				dup2(devnull, 2);
		}
		close(out[0]);
		close(out[1]);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	/* first stdout line: "listening on 127.0.0.1:PORT" */
	until = fg_http_now_ms() + 10000;
	while (len < sizeof(line) - 1 && !memchr(line, '\n', len)) {
		struct pollfd p = { out[0], POLLIN, 0 };
		ssize_t r;

		if (poll(&p, 1, (int)(until - fg_http_now_ms())) <= 0)
			break;
		r = read(out[0], line + len, sizeof(line) - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	line[len] = '\0';
	close(out[0]);
	{
		unsigned port = 0;
		char *at = strstr(line, "listening on 127.0.0.1:");

		if (!at || sscanf(at, "listening on 127.0.0.1:%u", &port) != 1 || !port) {
			fprintf(stderr, "the stand-in did not say where it listens: '%s'\n", line);
			kill(s->pid, SIGKILL);
			waitpid(s->pid, NULL, 0);
			s->pid = 0;
			return -1;
		}
		snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%u", port);
	}
	{
		struct fg_http_options o = { 0 };

		o.max_attempts = 1;
		if (fg_http_new(&s->http, &o))
			return -1;
	}
	return 0;
}

SIMCTL void sim_stop(struct sim *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
	}
	s->pid = 0;
	fg_http_free(s->http);
	s->http = NULL;
	if (s->seed_path[0])
		unlink(s->seed_path);
	s->seed_path[0] = '\0';
}

/* One control request; returns the status (or -1) and, if `out`, the
 * response body (malloc'd). */
SIMCTL long sim_call(struct sim *s, enum fg_http_method m, const char *path,
		     const char *body, char **out)
{
	struct fg_http_request r, *rp = &r;
	long status;

	fg_http_request_init(&r);
	r.method = m;
	r.url = fg_asprintf("%s%s", s->url, path);
	r.bearer = "sim-control";
	if (body) {
		r.body = fg_strdup(body);
		r.body_len = strlen(body);
	}
	fg_http_run_all(s->http, fg_http_now_ms() + 20000, &rp, 1);
	status = r.result ? -1 : r.status;
	if (r.result)
		fprintf(stderr, "sim_call %s: %s\n", path, r.error);
	if (out)
		*out = fg_strdup(r.response.ptr);
	fg_http_request_release(&r);
	return status;
}

SIMCTL int sim_fault(struct sim *s, const char *json)
{
	return sim_call(s, FG_HTTP_POST, "/_sim/faults", json, NULL) / 100 == 2 ? 0 : -1;
}

SIMCTL void sim_clear(struct sim *s)
{
	sim_call(s, FG_HTTP_DELETE, "/_sim/requests", NULL, NULL);
	sim_call(s, FG_HTTP_DELETE, "/_sim/faults", NULL, NULL);
}

/* The array of a /_sim/ document: the document itself, or its member `key`. */
SIMCTL cJSON *sim_array(cJSON *doc, const char *key)
{
	cJSON *a = cJSON_IsArray(doc) ? doc : cJSON_GetObjectItemCaseSensitive(doc, key);

	return cJSON_IsArray(a) ? a : NULL;
}

/* How many logged requests have this method (NULL: any) and a path
 * starting with `prefix`, and (if status > 0) this status. */
SIMCTL int sim_count(struct sim *s, const char *method, const char *prefix, long status)
{
	char *body = NULL;
	cJSON *doc, *e;
	int n = 0;

	if (sim_call(s, FG_HTTP_GET, "/_sim/requests", NULL, &body) != 200) {
		free(body);
		return -1;
	}
	doc = cJSON_Parse(body);
	free(body);
	cJSON_ArrayForEach(e, sim_array(doc, "requests")) {
		cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "method");
		cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "path");
		cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "status");

		if (!cJSON_IsString(m) || !cJSON_IsString(p))
			continue;
		if (method && strcmp(m->valuestring, method))
			continue;
		if (strncmp(p->valuestring, prefix, strlen(prefix)))
			continue;
		if (status > 0 && (!cJSON_IsNumber(st) || st->valueint != status))
			continue;
		n++;
	}
	cJSON_Delete(doc);
	return n;
}

/* GET /_sim/state, parsed (cJSON_Delete it). */
SIMCTL cJSON *sim_state(struct sim *s)
{
	char *body = NULL;
	cJSON *doc = NULL;

	if (sim_call(s, FG_HTTP_GET, "/_sim/state", NULL, &body) == 200)
		doc = cJSON_Parse(body);
	free(body);
	return doc;
}

/* The state entry of a deployment by id, or of a device by id. */
SIMCTL cJSON *sim_find(cJSON *state, const char *list, const char *id)
{
	cJSON *e;

	cJSON_ArrayForEach(e, sim_array(state, list)) {
		cJSON *i = cJSON_GetObjectItemCaseSensitive(e, "id");

		if (cJSON_IsString(i) && !strcmp(i->valuestring, id))
			return e;
	}
	return NULL;
}

/* A device id for test device i: 24 lowercase hex digits. */
SIMCTL void sim_device_id(char out[25], unsigned i)
{
	snprintf(out, 25, "5f%022x", i);
}

/* A seed of n devices: device i is pi3-v3-arm64 when even, pi4 when odd;
 * every third follows "canary" by tag; artifacts "os-1" (pi3, pi4) and
 * "os-2" (pi3). Free with free(). */
SIMCTL char *sim_seed(unsigned n)
{
	struct fg_buf b;
	unsigned i;
	char id[25];

	fg_buf_init(&b);
	fg_buf_puts(&b, "{\"devices\":[");
	for (i = 0; i < n; i++) {
		sim_device_id(id, i);
		fg_buf_printf(&b, "%s{\"id\":\"%s\",\"device_type\":\"%s\","
			      "\"inventory\":{\"rootfs-image.version\":\"os-0\",\"artifact_name\":\"os-0\",\"serial\":%u},"
			      "\"tags\":{%s},\"configured\":{\"a\":\"1\"},\"reported\":{\"a\":\"0\"}}",
			      i ? "," : "", id, i % 2 ? "pi4-v3-arm64" : "pi3-v3-arm64", i,
			      i % 3 == 0 ? "\"subscribed_branch\":\"canary\"" : "");
	}
	fg_buf_puts(&b, "],\"artifacts\":["
		    "{\"name\":\"os-1\",\"device_types_compatible\":[\"pi3-v3-arm64\",\"pi4-v3-arm64\"]},"
		    "{\"name\":\"os-2\",\"device_types_compatible\":[\"pi3-v3-arm64\"]}]}");
	return fg_buf_detach(&b);
}

#endif
