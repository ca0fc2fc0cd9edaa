#ifndef FLEETGATE_HTTP_H
#define FLEETGATE_HTTP_H

#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>

/*
 * A small HTTP client on libcurl's multi interface: many requests in
 * flight at once (bounded), connections kept across batches, retries with
 * backoff for the calls that may be replayed, every request bounded by the
 * caller's absolute deadline. This is the only file of the project that
 * includes curl/curl.h.
 *
 * Global state: libcurl must be initialised once by the program's main
 * before the first fg_http_new() (fg_http_global_init()), and cleaned up at
 * exit (fg_http_global_cleanup()). The library never does it itself.
 *
 * Threads: one struct fg_http is used by one thread at a time.
 *
 * Secrets: the log callback sees request lines and timings; with `debug`
 * also libcurl's header trace, where Authorization, Proxy-Authorization,
 * Cookie, Set-Cookie and PRIVATE-TOKEN values are replaced by "[redacted]",
 * and every string registered with fg_http_add_secret() by "***". Bodies are
 * never logged (they carry tokens and configuration secrets).
 *
 * Environment: proxies come from the lowercase http_proxy, https_proxy,
 * all_proxy and no_proxy/NO_PROXY variables (libcurl's default; it ignores
 * uppercase HTTP_PROXY). CURL_CA_BUNDLE and SSL_CERT_FILE are ignored: a
 * private CA is given with `ca_file`.
 */

/* Initialise / clean up libcurl's global state; call from main only. */
int fg_http_global_init(void);
void fg_http_global_cleanup(void);

/* Milliseconds on the monotonic clock: the time base of every deadline. */
int64_t fg_http_now_ms(void);

typedef void (*fg_http_log_fn)(void *data, const char *line);

struct fg_http_options {
	const char *ca_file;          /* PEM bundle for a private CA; NULL: system CAs */
	unsigned max_concurrency;     /* requests in flight and connections; 0: 8 */
	unsigned max_attempts;        /* tries per request, first included; 0: 5 */
	unsigned backoff_base_ms;     /* first backoff step; 0: 250 */
	unsigned backoff_max_ms;      /* backoff cap; 0: 8000 */
	unsigned request_timeout_ms;  /* cap of one attempt; 0: 60000 */
	unsigned connect_timeout_ms;  /* cap of one connect; 0: 10000 */
	unsigned low_speed_time_s;    /* abort under 1 byte/s for this long; 0: 30 */
	size_t max_body;              /* response body cap in bytes; 0: 64 MiB */
	fg_http_log_fn log;           /* NULL: no log */
	void *log_data;
	int debug;                    /* also pass libcurl's (redacted) header trace to log */
};

enum fg_http_method {
	FG_HTTP_GET,
	FG_HTTP_POST,
	FG_HTTP_PUT,
	FG_HTTP_PATCH,
	FG_HTTP_DELETE,
};

const char *fg_http_method_name(enum fg_http_method m);

/*
 * One request and, after fg_http_run(), its outcome.
 *
 * Retries: GET, PUT and DELETE are replayed on 408, 429, 500, 502, 503, 504,
 * timeouts and connection errors, with exponential backoff and jitter, or
 * after the server's Retry-After (never past the deadline). POST and PATCH
 * are replayed so only when `replay_safe` is set; without it they are still
 * replayed when the server certainly did not act: a 429, or a connection
 * that could not be made.
 *
 * Result: `result` 0 means an HTTP response arrived (any status, including
 * the last 5xx after the retries ran out); otherwise it is FG_ETIMEOUT,
 * FG_ENET, FG_ELIMIT (body over the cap) or FG_ERROR, and `error` says
 * what happened, naming the method and the URL.
 */
struct fg_http_request {
	/* Set by the caller after fg_http_request_init(). `url` and `body` are
	 * malloc'd and owned by the request; the credentials are borrowed and
	 * must outlive the run. */
	enum fg_http_method method;
	char *url;
	char *body;                  /* NULL: no body */
	size_t body_len;
	const char *content_type;    /* with a body; NULL: application/json */
	const char *accept;          /* NULL: application/json */
	const char *bearer;          /* "Authorization: Bearer <bearer>" */
	const char *user;            /* HTTP Basic, with password */
	const char *password;
	int replay_safe;             /* POST/PATCH that may be sent twice */
	void *data;                  /* for the caller's callbacks */

	/* Set by fg_http_run(); freed by fg_http_request_release(). */
	int result;
	char *error;
	long status;
	struct fg_buf response;
	char *location;              /* response headers of the last attempt, or NULL;
				      * one over 8192 bytes (Link: 32768, all its lines)
				      * fails the request (FG_ELIMIT), never cut */
	char *link;
	char *request_id;            /* X-MEN-RequestID */
	long long total_count;       /* X-Total-Count; -1 when absent or malformed */
	long long retry_after;       /* seconds; -1 when absent */
	unsigned attempts;
	int64_t elapsed_ms;          /* from first start to completion */
};

/* Zero `r` (total_count and retry_after -1, response empty). */
void fg_http_request_init(struct fg_http_request *r);
/* Free url, body and every output; `r` may be reused after _init. */
void fg_http_request_release(struct fg_http_request *r);

struct fg_http;

/*
 * Make a client. `opts` is copied (ca_file too); NULL means defaults.
 * Errors: FG_ERROR when libcurl cannot make a multi handle.
 * Free with fg_http_free().
 */
int fg_http_new(struct fg_http **out, const struct fg_http_options *opts);
void fg_http_free(struct fg_http *h);

/* Register a string (token, password) that must never reach the log:
 * every occurrence becomes "***". Copied; strings under 4 bytes are
 * ignored (they would mask ordinary text). */
void fg_http_add_secret(struct fg_http *h, const char *secret);

/*
 * Callbacks of a batch. `next` hands over the next request to start, or
 * NULL when it has none right now; it is asked again after every `done`,
 * so a `done` may queue a follow-up request. `done` receives each request
 * once, when it is final (after its retries); the request is the caller's
 * again from then on.
 */
typedef struct fg_http_request *(*fg_http_next_fn)(void *data);
typedef void (*fg_http_done_fn)(void *data, struct fg_http_request *r);

/*
 * Run requests concurrently, at most max_concurrency in flight, until
 * `next` has nothing more and everything started is done. Requests still
 * waiting when the deadline passes (absolute, fg_http_now_ms() time) are
 * done with FG_ETIMEOUT; nothing outlives the call.
 *
 * Returns 0 when every request was handed to `done` with its own outcome,
 * FG_ERROR when libcurl's multi interface failed (the requests are still
 * all handed to `done`, with result FG_ERROR).
 */
int fg_http_run(struct fg_http *h, int64_t deadline_ms, fg_http_next_fn next,
		fg_http_done_fn done, void *data);

/* Run `n` requests of an array concurrently; each gets its own outcome. */
int fg_http_run_all(struct fg_http *h, int64_t deadline_ms,
		    struct fg_http_request **reqs, size_t n);

/* ---- pure helpers, exposed for the tests and the Mender client ---- */

/*
 * How long to wait before the next attempt, in ms, or -1 when none fits:
 * `attempt` is the attempt that just failed (1-based), `retry_after_s`
 * the server's Retry-After (-1: none), `remaining_ms` the time left before
 * the deadline, `rnd` a random number for the jitter.
 * Without Retry-After: d = min(base * 2^(attempt-1), max), waiting a
 * uniform time in [d/2, d]. A wait, Retry-After included, that would leave
 * less than 100 ms for the attempt before the deadline gives -1: waiting
 * could not help, so the last answer is reported at once.
 */
long long fg_http_backoff_ms(unsigned attempt, long long retry_after_s,
			     long long remaining_ms, unsigned base_ms,
			     unsigned max_ms, uint32_t rnd);

/* Whether an HTTP status is worth a retry: 408, 429, 500, 502, 503, 504. */
int fg_http_status_transient(long status);

/*
 * The target of the link with relation `rel` in an RFC 8288 Link header
 * (`<url>; rel="next", <url>; rel="last"`), malloc'd; NULL when absent.
 */
char *fg_http_link_url(const char *link, const char *rel);

/*
 * Whether a page walk must fetch page `page`+1, after page `page` of
 * `per_page` items returned `got` items: never after an empty or short
 * page; else as the Link header says when there is one; else while
 * page * per_page < total (total -1: unknown, keep going).
 */
int fg_http_page_more(unsigned page, unsigned per_page, size_t got,
		      long long total, const char *link);

/*
 * Append `data` (libcurl trace text, several lines) to `out`, with the
 * values of credential headers replaced by "[redacted]", wherever the
 * header name appears in a line ("authorization: Bearer x" inside an
 * HTTP/2 trace line too).
 */
void fg_http_redact(struct fg_buf *out, const char *data, size_t len);

/* Append `s` percent-encoded for a URL path segment or query value. */
void fg_url_escape(struct fg_buf *out, const char *s);

#endif
