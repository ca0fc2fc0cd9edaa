/* The HTTP layer: pure helpers, then retries, timeouts, caps and
 * concurrency against the Mender stand-in. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "simctl.h"

/* ---- pure helpers ---- */

static void test_backoff_bounds(void **state)
{
	uint32_t rnd;
	unsigned attempt;

	(void)state;
	/* d = min(250 * 2^(attempt-1), 8000); the wait lies in [d/2, d] */
	for (attempt = 1; attempt <= 12; attempt++) {
		long long d = 250LL << (attempt - 1 < 6 ? attempt - 1 : 6);

		if (d > 8000)
			d = 8000;
		for (rnd = 0; rnd < 5000; rnd += 7) {
			long long w = fg_http_backoff_ms(attempt, -1, 600000, 250, 8000, rnd * 2654435761u);

			assert_true(w >= d / 2);
			assert_true(w <= d);
		}
		assert_int_equal(fg_http_backoff_ms(attempt, -1, 600000, 250, 8000, 0), d / 2);
		assert_int_equal(fg_http_backoff_ms(attempt, -1, 600000, 250, 8000, (uint32_t)(d - d / 2)), d);
	}
	/* no time left for an attempt after the wait: give up */
	assert_int_equal(fg_http_backoff_ms(1, -1, 200, 250, 8000, 0), -1);
	assert_int_equal(fg_http_backoff_ms(1, -1, 225, 250, 8000, 0), 125);
}

static void test_retry_after_clamp(void **state)
{
	(void)state;
	assert_int_equal(fg_http_backoff_ms(1, 1, 30000, 250, 8000, 99), 1000);
	assert_int_equal(fg_http_backoff_ms(4, 0, 30000, 250, 8000, 99), 0);
	/* an HTTP date in 2099, as libcurl reports it: past any deadline */
	assert_int_equal(fg_http_backoff_ms(1, 2300584502LL, 30000, 250, 8000, 0), -1);
	/* exactly at the deadline, or leaving under 100 ms: pointless */
	assert_int_equal(fg_http_backoff_ms(1, 30, 30000, 250, 8000, 0), -1);
	assert_int_equal(fg_http_backoff_ms(1, 29, 29050, 250, 8000, 0), -1);
	assert_int_equal(fg_http_backoff_ms(1, 29, 29100, 250, 8000, 0), 29000);
	/* Retry-After beats a backoff cap */
	assert_int_equal(fg_http_backoff_ms(1, 20, 60000, 250, 8000, 0), 20000);
}

static void test_transient_statuses(void **state)
{
	static const long yes[] = { 408, 429, 500, 502, 503, 504 };
	static const long no[] = { 200, 201, 204, 400, 401, 403, 404, 409, 412, 413, 422, 501, 505 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(*yes); i++)
		assert_true(fg_http_status_transient(yes[i]));
	for (i = 0; i < sizeof(no) / sizeof(*no); i++)
		assert_false(fg_http_status_transient(no[i]));
}

static void check_link(const char *link, const char *rel, const char *want)
{
	char *got = fg_http_link_url(link, rel);

	if (want) {
		assert_non_null(got);
		assert_string_equal(got, want);
	} else {
		assert_null(got);
	}
	free(got);
}

static void test_link_header(void **state)
{
	const char *mender = "</api/management/v1/deployments/deployments?page=1&per_page=20>; rel=\"first\", "
			     "</api/management/v1/deployments/deployments?page=3&per_page=20>; rel=\"next\"";

	(void)state;
	check_link(mender, "next", "/api/management/v1/deployments/deployments?page=3&per_page=20");
	check_link(mender, "first", "/api/management/v1/deployments/deployments?page=1&per_page=20");
	check_link(mender, "prev", NULL);
	check_link("<https://h/x?a=1,2>; rel=next", "next", "https://h/x?a=1,2");
	check_link("<https://h/p2>;rel=\"next last\"", "last", "https://h/p2");
	check_link("<https://h/p2>; title=\"a, b\"; REL=\"Next\"", "next", "https://h/p2");
	check_link("<https://h/p1>; rel=\"prev\",<https://h/p3>; rel=\"next\"", "next", "https://h/p3");
	check_link("<https://h/p1>; rel=\"nextish\"", "next", NULL);
	check_link("garbage", "next", NULL);
	check_link("<unterminated; rel=next", "next", NULL);
	check_link("", "next", NULL);
	check_link(NULL, "next", NULL);
}

static void test_paging_arithmetic(void **state)
{
	(void)state;
	/* 1,234 devices at 500 a page: pages 1 and 2 are full, page 3 ends it */
	assert_true(fg_http_page_more(1, 500, 500, 1234, NULL));
	assert_true(fg_http_page_more(2, 500, 500, 1234, NULL));
	assert_false(fg_http_page_more(3, 500, 234, 1234, NULL));
	/* exactly full: the total stops it without an empty page */
	assert_false(fg_http_page_more(2, 500, 500, 1000, NULL));
	/* unknown total: go on while pages are full */
	assert_true(fg_http_page_more(7, 500, 500, -1, NULL));
	assert_false(fg_http_page_more(7, 500, 499, -1, NULL));
	/* an empty page ends a walk whatever the total says */
	assert_false(fg_http_page_more(1, 500, 0, 5000, NULL));
	/* a short page ends it too (devices left while we walked) */
	assert_false(fg_http_page_more(1, 500, 300, 5000, NULL));
	/* a Link header, when there is one, decides */
	assert_true(fg_http_page_more(2, 20, 20, 40, "</x?page=3>; rel=\"next\""));
	assert_false(fg_http_page_more(2, 20, 20, 100, "</x?page=1>; rel=\"first\""));
}

static void check_redact(const char *in, const char *want)
{
	struct fg_buf b;

	fg_buf_init(&b);
	fg_http_redact(&b, in, strlen(in));
	assert_string_equal(b.ptr, want);
	fg_buf_release(&b);
}

static void test_redaction(void **state)
{
	(void)state;
	check_redact("GET /x HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer eyJ.abc.def\r\nAccept: */*\r\n\r\n",
		     "GET /x HTTP/1.1\nHost: h\nAuthorization: [redacted]\nAccept: */*\n\n");
	check_redact("authorization: Basic dXNlcjpwYXNz\r\n", "authorization: [redacted]\n");
	check_redact("Cookie: JWT=eyJ\nSet-Cookie: JWT=eyJ; Path=/\n",
		     "Cookie: [redacted]\nSet-Cookie: [redacted]\n");
	check_redact("PRIVATE-TOKEN: glpat-123\n", "PRIVATE-TOKEN: [redacted]\n");
	check_redact("Proxy-Authorization: Basic eA==\n", "Proxy-Authorization: [redacted]\n");
	/* libcurl 7.88's HTTP/2 trace: headers inside brackets on a text line */
	check_redact("h2h3 [authorization: Bearer eyJ.abc.def]\n", "h2h3 [authorization: [redacted]]\n");
	/* other headers are kept as they are */
	check_redact("Content-Type: application/json\nX-MEN-RequestID: 42\n",
		     "Content-Type: application/json\nX-MEN-RequestID: 42\n");
	check_redact("no newline at the end", "no newline at the end\n");
}

static void test_url_escape(void **state)
{
	struct fg_buf b;

	(void)state;
	fg_buf_init(&b);
	fg_url_escape(&b, "fleetgate:canary@1a2b3c4:os 1/x&y=z~._-");
	assert_string_equal(b.ptr, "fleetgate%3Acanary%401a2b3c4%3Aos%201%2Fx%26y%3Dz~._-");
	fg_buf_reset(&b);
	fg_url_escape(&b, "\xc3\xa9");
	assert_string_equal(b.ptr, "%C3%A9");
	fg_buf_release(&b);
}

/* ---- against the stand-in ---- */

struct fixture {
	struct sim sim;
	struct fg_http *http;
	struct fg_buf log;
};

static void capture(void *data, const char *line)
{
	struct fg_buf *b = data;

	fg_buf_puts(b, line);
	fg_buf_putc(b, '\n');
}

static int setup_sim(void **state)
{
	struct fixture *f = fg_calloc(1, sizeof(*f));
	struct fg_http_options o = { 0 };
	char *seed = sim_seed(30);
	int rc = sim_start(&f->sim, seed, NULL);

	free(seed);
	fg_buf_init(&f->log);
	o.backoff_base_ms = 20;
	o.backoff_max_ms = 100;
	o.log = capture;
	o.log_data = &f->log;
	if (rc || fg_http_new(&f->http, &o)) {
		sim_stop(&f->sim);
		fg_buf_release(&f->log);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown_sim(void **state)
{
	struct fixture *f = *state;

	fg_http_free(f->http);
	sim_stop(&f->sim);
	fg_buf_release(&f->log);
	free(f);
	return 0;
}

#define LIST_PATH "/api/management/v2/deployments/deployments"

static void request(struct fixture *f, struct fg_http_request *r, enum fg_http_method m,
		    const char *path, int64_t deadline)
{
	struct fg_http_request *rp = r;

	fg_http_request_init(r);
	r->method = m;
	r->url = fg_asprintf("%s%s", f->sim.url, path);
	r->bearer = "test-token";
	assert_int_equal(fg_http_run_all(f->http, deadline, &rp, 1), 0);
}

static void test_retry_503_then_success(void **state)
{
	struct fixture *f = *state;
	struct fg_http_request r;

	assert_int_equal(sim_fault(&f->sim, "{\"path_prefix\":\"" LIST_PATH "\",\"method\":\"GET\","
				   "\"status\":503,\"count\":3}"), 0);
	request(f, &r, FG_HTTP_GET, LIST_PATH, fg_http_now_ms() + 20000);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.attempts, 4);
	assert_int_equal(sim_count(&f->sim, "GET", LIST_PATH, 503), 3);
	assert_int_equal(sim_count(&f->sim, "GET", LIST_PATH, 200), 1);
	assert_non_null(strstr(f->log.ptr, "retrying GET"));
	fg_http_request_release(&r);
}

static void test_retry_after_honoured(void **state)
{
	struct fixture *f = *state;
	struct fg_http_request r;

	assert_int_equal(sim_fault(&f->sim, "{\"path_prefix\":\"" LIST_PATH "\",\"method\":\"GET\","
				   "\"status\":429,\"count\":1,\"retry_after\":1}"), 0);
	request(f, &r, FG_HTTP_GET, LIST_PATH, fg_http_now_ms() + 20000);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.attempts, 2);
	/* the backoff alone would have waited at most 20 ms */
	assert_true(r.elapsed_ms >= 1000);
	assert_true(r.elapsed_ms < 5000);
	assert_int_equal(sim_count(&f->sim, "GET", LIST_PATH, 429), 1);
	fg_http_request_release(&r);
}

static void test_retry_after_past_deadline(void **state)
{
	struct fixture *f = *state;
	struct fg_http_request r;
	int64_t t0 = fg_http_now_ms();

	assert_int_equal(sim_fault(&f->sim, "{\"path_prefix\":\"" LIST_PATH "\",\"method\":\"GET\","
				   "\"status\":429,\"count\":1,\"retry_after\":30}"), 0);
	request(f, &r, FG_HTTP_GET, LIST_PATH, t0 + 3000);
	/* waiting 30 s cannot fit in 3 s: the 429 is reported at once */
	assert_int_equal(r.result, 0);
	assert_int_equal(r.status, 429);
	assert_int_equal(r.retry_after, 30);
	assert_int_equal(r.attempts, 1);
	assert_true(fg_http_now_ms() - t0 < 2000);
	fg_http_request_release(&r);
}

static void test_dropped_connection_retried(void **state)
{
	struct fixture *f = *state;
	struct fg_http_request r;

	assert_int_equal(sim_fault(&f->sim, "{\"path_prefix\":\"" LIST_PATH "\",\"method\":\"GET\","
				   "\"drop\":true,\"count\":1}"), 0);
	request(f, &r, FG_HTTP_GET, LIST_PATH, fg_http_now_ms() + 20000);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.attempts, 2);
	fg_http_request_release(&r);
}

static void test_post_not_replayed(void **state)
{
	struct fixture *f = *state;
	struct fg_http_request r, *rp = &r;

	assert_int_equal(sim_fault(&f->sim, "{\"path_prefix\":\"/api/management/v1/deployments\","
				   "\"method\":\"POST\",\"status\":503,\"count\":3}"), 0);
	fg_http_request_init(&r);
	r.method = FG_HTTP_POST;
	r.url = fg_asprintf("%s/api/management/v1/deployments/deployments", f->sim.url);
	r.bearer = "test-token";
	r.body = fg_strdup("{\"name\":\"x\",\"artifact_name\":\"os-1\",\"devices\":[\"5f0000000000000000000000\"]}");
	r.body_len = strlen(r.body);
	assert_int_equal(fg_http_run_all(f->http, fg_http_now_ms() + 20000, &rp, 1), 0);
	/* the server may have acted: a plain POST is not sent again */
	assert_int_equal(r.result, 0);
	assert_int_equal(r.status, 503);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(sim_count(&f->sim, "POST", "/api/management/v1/deployments", 0), 1);
	fg_http_request_release(&r);
}

static void test_slow_reply_hits_deadline(void **state)
{
	struct fixture *f = *state;
	struct fg_http_request r;
	int64_t t0 = fg_http_now_ms();

	assert_int_equal(sim_fault(&f->sim, "{\"path_prefix\":\"" LIST_PATH "\",\"method\":\"GET\","
				   "\"delay_ms\":4000,\"count\":1}"), 0);
	request(f, &r, FG_HTTP_GET, LIST_PATH, t0 + 1000);
	assert_int_equal(r.result, FG_ETIMEOUT);
	assert_non_null(r.error);
	assert_non_null(strstr(r.error, "GET http://127.0.0.1:"));
	assert_non_null(strstr(r.error, LIST_PATH));
	assert_non_null(strstr(r.error, "deadline"));
	assert_true(fg_http_now_ms() - t0 >= 900);
	assert_true(fg_http_now_ms() - t0 < 3000);
	fg_http_request_release(&r);
}

static void test_body_cap(void **state)
{
	struct fixture *f = *state;
	struct fg_http_options o = { 0 };
	struct fg_http *small;
	struct fg_http_request r, *rp = &r;

	o.max_body = 64;
	assert_int_equal(fg_http_new(&small, &o), 0);
	fg_http_request_init(&r);
	r.method = FG_HTTP_POST;
	r.replay_safe = 1;
	r.url = fg_asprintf("%s/api/management/v2/inventory/filters/search", f->sim.url);
	r.bearer = "test-token";
	r.body = fg_strdup("{\"page\":1,\"per_page\":20}");
	r.body_len = strlen(r.body);
	assert_int_equal(fg_http_run_all(small, fg_http_now_ms() + 20000, &rp, 1), 0);
	assert_int_equal(r.result, FG_ELIMIT);
	assert_non_null(strstr(r.error, "/api/management/v2/inventory/filters/search"));
	assert_non_null(strstr(r.error, "64-byte limit"));
	assert_int_equal(r.attempts, 1);
	fg_http_request_release(&r);
	fg_http_free(small);
}

static void test_connection_refused(void **state)
{
	struct fixture *f = *state;
	struct fg_http_request r, *rp = &r;
	(void)f;

	fg_http_request_init(&r);
	r.method = FG_HTTP_GET;
	/* port 1 on loopback: nothing listens there */
	r.url = fg_strdup("http://127.0.0.1:1/api/management/v2/deployments/deployments");
	assert_int_equal(fg_http_run_all(f->http, fg_http_now_ms() + 20000, &rp, 1), 0);
	assert_int_equal(r.result, FG_ENET);
	assert_int_equal(r.attempts, 5);
	assert_non_null(strstr(r.error, "GET http://127.0.0.1:1/api/management/v2/deployments/deployments"));
	fg_http_request_release(&r);
}

/* 16 requests that each take 400 ms at 4 in flight: 4 rounds, so at least
 * 1.6 s but well under the 6.4 s of one at a time. */
static void test_bounded_concurrency(void **state)
{
	struct fixture *f = *state;
	struct fg_http_options o = { 0 };
	struct fg_http *h4;
	struct fg_http_request reqs[16], *rp[16];
	int64_t t0, took;
	size_t i;

	o.max_concurrency = 4;
	assert_int_equal(fg_http_new(&h4, &o), 0);
	assert_int_equal(sim_fault(&f->sim, "{\"path_prefix\":\"" LIST_PATH "\",\"method\":\"GET\","
				   "\"delay_ms\":400,\"count\":-1}"), 0);
	for (i = 0; i < 16; i++) {
		fg_http_request_init(&reqs[i]);
		reqs[i].method = FG_HTTP_GET;
		reqs[i].url = fg_asprintf("%s" LIST_PATH "?page=%zu", f->sim.url, i + 1);
		reqs[i].bearer = "test-token";
		rp[i] = &reqs[i];
	}
	t0 = fg_http_now_ms();
	assert_int_equal(fg_http_run_all(h4, t0 + 30000, rp, 16), 0);
	took = fg_http_now_ms() - t0;
	for (i = 0; i < 16; i++) {
		assert_int_equal(reqs[i].result, 0);
		assert_int_equal(reqs[i].status, 200);
		fg_http_request_release(&reqs[i]);
	}
	assert_true(took >= 1550);
	assert_true(took < 4000);
	assert_int_equal(sim_count(&f->sim, "GET", LIST_PATH, 200), 16);
	fg_http_free(h4);
}

static void test_deadline_passed_before_start(void **state)
{
	struct fixture *f = *state;
	struct fg_http_request r;

	request(f, &r, FG_HTTP_GET, LIST_PATH, fg_http_now_ms() - 1);
	assert_int_equal(r.result, FG_ETIMEOUT);
	assert_non_null(strstr(r.error, "deadline"));
	assert_int_equal(sim_count(&f->sim, NULL, LIST_PATH, 0), 0);
	fg_http_request_release(&r);
}

static void test_headers_captured(void **state)
{
	struct fixture *f = *state;
	struct fg_http_request r, *rp = &r;

	fg_http_request_init(&r);
	r.method = FG_HTTP_POST;
	r.replay_safe = 1;
	r.url = fg_asprintf("%s/api/management/v2/inventory/filters/search", f->sim.url);
	r.bearer = "test-token";
	r.body = fg_strdup("{\"page\":2,\"per_page\":7}");
	r.body_len = strlen(r.body);
	assert_int_equal(fg_http_run_all(f->http, fg_http_now_ms() + 20000, &rp, 1), 0);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.total_count, 30);
	assert_non_null(r.request_id);
	assert_true(strlen(r.request_id) > 0);
	fg_http_request_release(&r);

	/* one Link line per relation, as Mender sends them: all kept */
	request(f, &r, FG_HTTP_GET, "/api/management/v1/inventory/devices?per_page=7&page=2",
		fg_http_now_ms() + 20000);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.total_count, 30);
	{
		char *next = fg_http_link_url(r.link, "next");
		char *prev = fg_http_link_url(r.link, "prev");

		assert_non_null(next);
		assert_non_null(prev);
		assert_non_null(strstr(next, "page=3"));
		assert_non_null(strstr(prev, "page=1"));
		assert_true(fg_http_page_more(2, 7, 7, r.total_count, r.link));
		free(next);
		free(prev);
	}
	fg_http_request_release(&r);
}

/* A response header over its cap fails the request, naming the header: the
 * stand-in's Link lines repeat the query, so a long filter value makes
 * them long. Just under the cap, the value is kept whole. */
static void test_header_over_cap(void **state)
{
	struct fixture *f = *state;
	struct fg_http_request r;
	char *path, *value = fg_malloc(8201);

	memset(value, 'a', 8200);
	value[8200] = '\0';
	path = fg_asprintf("/api/management/v1/inventory/devices?per_page=1&page=2&name=%s", value);
	request(f, &r, FG_HTTP_GET, path, fg_http_now_ms() + 20000);
	assert_int_equal(r.result, FG_ELIMIT);
	{
		static const char want[] = ": response header Link over the 8192-byte limit";
		size_t n = strlen(r.error);

		assert_true(n > sizeof(want) - 1);
		assert_string_equal(r.error + n - (sizeof(want) - 1), want);
	}
	assert_null(r.link);
	fg_http_request_release(&r);
	free(path);

	value[8000] = '\0';
	path = fg_asprintf("/api/management/v1/inventory/devices?per_page=1&page=2&name=%s", value);
	request(f, &r, FG_HTTP_GET, path, fg_http_now_ms() + 20000);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.status, 200);
	assert_non_null(r.link);
	assert_non_null(strstr(r.link, value)); /* both lines, whole */
	assert_non_null(strstr(strstr(r.link, value) + 8000, value));
	fg_http_request_release(&r);
	free(path);
	free(value);
}

/* TLS: verified by default, a private CA with ca_file. The server is
 * `openssl s_server -www` with a throwaway self-signed certificate. */
static void test_tls_verification(void **state)
{
	char dir[] = "/tmp/fg-tls-XXXXXX";
	char cmd[512], cert[64], key[64], line[256] = "";
	struct fg_http_options o = { 0 };
	struct fg_http *plain, *private_ca;
	struct fg_http_request r, *rp = &r;
	unsigned port = 0;
	size_t len = 0;
	int out[2];
	pid_t pid;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		 "-keyout %s -out %s -days 2 -subj /CN=127.0.0.1 "
		 "-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1", key, cert);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(pipe(out), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(out[1], 2);
		close(out[0]);
		execlp("openssl", "openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", cert,
		       "-key", key, "-www", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	while (len < sizeof(line) - 1 && !strstr(line, "ACCEPT ")) {
		struct pollfd p = { out[0], POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, 10000) <= 0)
			break;
		n = read(out[0], line + len, sizeof(line) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		line[len] = '\0';
	}
	/* "ACCEPT 127.0.0.1:PORT" after a line about DH parameters */
	{
		char *at = strstr(line, "ACCEPT 127.0.0.1:");

		if (at)
			sscanf(at, "ACCEPT 127.0.0.1:%u", &port);
	}
	assert_true(port > 0);

	assert_int_equal(fg_http_new(&plain, NULL), 0);
	o.ca_file = cert;
	assert_int_equal(fg_http_new(&private_ca, &o), 0);

	fg_http_request_init(&r);
	r.method = FG_HTTP_GET;
	r.url = fg_asprintf("https://127.0.0.1:%u/", port);
	assert_int_equal(fg_http_run_all(plain, fg_http_now_ms() + 10000, &rp, 1), 0);
	assert_int_equal(r.result, FG_ENET);
	assert_non_null(strstr(r.error, r.url));
	assert_non_null(strstr(r.error, "certificate"));
	assert_int_equal(r.attempts, 1); /* a bad certificate is not retried */

	assert_int_equal(fg_http_run_all(private_ca, fg_http_now_ms() + 10000, &rp, 1), 0);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.status, 200);
	fg_http_request_release(&r);

	fg_http_free(plain);
	fg_http_free(private_ca);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	close(out[0]);
	unlink(cert);
	unlink(key);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_bounds),
		cmocka_unit_test(test_retry_after_clamp),
		cmocka_unit_test(test_transient_statuses),
		cmocka_unit_test(test_link_header),
		cmocka_unit_test(test_paging_arithmetic),
		cmocka_unit_test(test_redaction),
		cmocka_unit_test(test_url_escape),
		cmocka_unit_test(test_tls_verification),
		cmocka_unit_test_setup_teardown(test_retry_503_then_success, setup_sim, teardown_sim),
		cmocka_unit_test_setup_teardown(test_retry_after_honoured, setup_sim, teardown_sim),
		cmocka_unit_test_setup_teardown(test_retry_after_past_deadline, setup_sim, teardown_sim),
		cmocka_unit_test_setup_teardown(test_dropped_connection_retried, setup_sim, teardown_sim),
		cmocka_unit_test_setup_teardown(test_post_not_replayed, setup_sim, teardown_sim),
		cmocka_unit_test_setup_teardown(test_slow_reply_hits_deadline, setup_sim, teardown_sim),
		cmocka_unit_test_setup_teardown(test_body_cap, setup_sim, teardown_sim),
		cmocka_unit_test_setup_teardown(test_connection_refused, setup_sim, teardown_sim),
		cmocka_unit_test_setup_teardown(test_bounded_concurrency, setup_sim, teardown_sim),
		cmocka_unit_test_setup_teardown(test_deadline_passed_before_start, setup_sim, teardown_sim),
		cmocka_unit_test_setup_teardown(test_headers_captured, setup_sim, teardown_sim),
		cmocka_unit_test_setup_teardown(test_header_over_cap, setup_sim, teardown_sim),
	};
	int failed;

	if (fg_http_global_init())
		return 1;
	failed = cmocka_run_group_tests_name("http", tests, NULL, NULL);
	fg_http_global_cleanup();
	return failed ? 1 : 0;
}
