/*
 * Benchmark driver for bench/inventory-walk.
 *
 *   walk seed N FILE          write a stand-in seed of N devices to FILE
 *   walk run URL TOKEN        clear the stand-in's request log, walk the
 *                             whole inventory as the scheduler does, print
 *                             one line of figures
 *
 * The figures line: devices=N requests=R seconds=S vmhwm_kb=K, where
 * requests counts the stand-in's log after the walk and vmhwm_kb is this
 * process's peak resident set.
 */
#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "mender/http.h"
#include "mender/mender.h"

#include <cjson/cJSON.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int make_seed(unsigned n, const char *path)
{
	static const char *const types[] = { "pi3-v3-arm64", "pi4-v3-arm64", "rpi5-arm64" };
	static const char *const branches[] = { "canary", "production", "main" };
	FILE *f = fopen(path, "w");
	unsigned i;

	if (!f) {
		perror(path);
		return 1;
	}
	fputs("{\"devices\":[", f);
	for (i = 0; i < n; i++) {
		fprintf(f, "%s{\"id\":\"%08x-%04x-4%03x-8%03x-%012x\",\"device_type\":\"%s\","
			"\"inventory\":{\"rootfs-image.version\":\"os-%u\",\"artifact_name\":\"os-%u\","
			"\"mender_client_version\":\"3.4.0\",\"ipv4_eth0\":\"10.%u.%u.%u/16\"},"
			"\"tags\":{%s%s%s},\"configured\":{},\"reported\":{}}",
			i ? "," : "", i, i & 0xffff, i & 0xfff, (i >> 12) & 0xfff, i * 7919u,
			types[i % 3], i % 4, i % 4, (i >> 16) & 255, (i >> 8) & 255, i & 255,
			i % 5 == 0 ? "\"subscribed_branch\":\"" : "",
			i % 5 == 0 ? branches[i % 3] : "", i % 5 == 0 ? "\"" : "");
		fputc('\n', f);
	}
	fputs("],\"artifacts\":[{\"name\":\"os-1\",\"device_types_compatible\":"
	      "[\"pi3-v3-arm64\",\"pi4-v3-arm64\",\"rpi5-arm64\"]}]}\n", f);
	if (fclose(f)) {
		perror(path);
		return 1;
	}
	return 0;
}

static long vmhwm_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* A control call to the stand-in; the body is returned (free it). */
static char *control(struct fg_http *h, const char *url, enum fg_http_method m, const char *path,
		     long *status)
{
	struct fg_http_request r, *rp = &r;
	char *body;

	fg_http_request_init(&r);
	r.method = m;
	r.url = fg_asprintf("%s%s", url, path);
	fg_http_run_all(h, fg_http_now_ms() + 60000, &rp, 1);
	*status = r.result ? -1 : r.status;
	body = fg_strdup(r.response.ptr);
	fg_http_request_release(&r);
	return body;
}

static int run(const char *url, const char *token)
{
	const struct mender_attr_ref want[] = {
		{ "inventory", "device_type" },
		{ "inventory", "rootfs-image.version" },
		{ "inventory", "artifact_name" },
		{ "tags", "subscribed_branch" },
	};
	struct mender_settings s;
	struct mender_client *c = NULL;
	struct mender_device_list l;
	struct fg_http *ctl = NULL;
	int64_t t0, t1;
	long status;
	char *body = NULL;
	cJSON *doc = NULL, *reqs;
	int rc = 1;

	mender_device_list_init(&l);
	memset(&s, 0, sizeof(s));
	s.server = url;
	s.token = token;
	if (fg_http_new(&ctl, NULL) || mender_client_new(&c, &s)) {
		fprintf(stderr, "walk: %s\n", fg_error_message());
		goto done;
	}
	free(control(ctl, url, FG_HTTP_DELETE, "/_sim/requests", &status));
	if (status / 100 != 2) {
		fprintf(stderr, "walk: clearing the request log: status %ld\n", status);
		goto done;
	}
	t0 = fg_http_now_ms();
	if (mender_list_devices(c, want, 4, NULL, 0, &l)) {
		fprintf(stderr, "walk: %s\n", fg_error_message());
		goto done;
	}
	t1 = fg_http_now_ms();
	body = control(ctl, url, FG_HTTP_GET, "/_sim/requests", &status);
	doc = cJSON_Parse(body);
	reqs = cJSON_IsArray(doc) ? doc : cJSON_GetObjectItemCaseSensitive(doc, "requests");
	if (status != 200 || !cJSON_IsArray(reqs)) {
		fprintf(stderr, "walk: reading the request log: status %ld\n", status);
		goto done;
	}
	printf("devices=%zu requests=%d seconds=%.3f vmhwm_kb=%ld\n", l.n, cJSON_GetArraySize(reqs),
	       (double)(t1 - t0) / 1000.0, vmhwm_kb());
	rc = 0;
done:
	cJSON_Delete(doc);
	free(body);
	mender_device_list_release(&l);
	mender_client_free(c);
	fg_http_free(ctl);
	return rc;
}

int main(int argc, char **argv)
{
	int rc;

	if (argc == 4 && !strcmp(argv[1], "seed"))
		return make_seed((unsigned)strtoul(argv[2], NULL, 10), argv[3]);
	if (argc != 4 || strcmp(argv[1], "run")) {
		fprintf(stderr, "usage: walk seed N FILE | walk run URL TOKEN\n");
		return 2;
	}
	if (fg_http_global_init()) {
		fprintf(stderr, "walk: %s\n", fg_error_message());
		return 1;
	}
	rc = run(argv[2], argv[3]);
	fg_http_global_cleanup();
	return rc;
}
