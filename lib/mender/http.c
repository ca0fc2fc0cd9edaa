#include "mender/http.h"

#include "core/alloc.h"
#include "core/error.h"

#include <curl/curl.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_CONCURRENCY 8
#define DEFAULT_ATTEMPTS 5
#define DEFAULT_BACKOFF_BASE_MS 250
#define DEFAULT_BACKOFF_MAX_MS 8000
#define DEFAULT_REQUEST_TIMEOUT_MS 60000
#define DEFAULT_CONNECT_TIMEOUT_MS 10000
#define DEFAULT_LOW_SPEED_TIME_S 30
#define DEFAULT_MAX_BODY (64u << 20)
#define MIN_ATTEMPT_MS 100
#define MAX_HEADER_VALUE 8192
#define MAX_LINK_VALUE (4 * MAX_HEADER_VALUE) /* every Link line of a reply, joined */
#define MAX_CONCURRENCY 256

/* One request while the batch runs it. */
struct xfer {
	struct fg_http *h;
	struct fg_http_request *req;
	CURL *easy;
	struct curl_slist *headers;
	int64_t first_start_ms;
	int64_t attempt_start_ms;
	int64_t due_ms;        /* when waiting for a retry */
	int64_t timeout_ms;    /* of the current attempt */
	int over_limit;
	const char *header_over; /* a response header over its cap: its name */
	size_t header_max;       /* and that cap */
	struct xfer *next;     /* in the wait list, ordered by due_ms */
	char errbuf[CURL_ERROR_SIZE];
};

struct fg_http {
	CURLM *multi;
	CURL **idle;           /* easy handles kept for reuse */
	size_t nidle, idle_alloc;
	struct fg_http_options opt;
	char *ca_file;
	char **secrets;
	size_t nsecrets, secrets_alloc;
	uint32_t rng;
	struct fg_buf line;    /* log line scratch */
};

int fg_http_global_init(void)
{
	CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);

	if (rc != CURLE_OK)
		return fg_error_set(FG_ERROR, "initialising libcurl: %s", curl_easy_strerror(rc));
	return 0;
}

void fg_http_global_cleanup(void)
{
	curl_global_cleanup();
}

int64_t fg_http_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *fg_http_method_name(enum fg_http_method m)
{
	switch (m) {
	case FG_HTTP_GET: return "GET";
	case FG_HTTP_POST: return "POST";
	case FG_HTTP_PUT: return "PUT";
	case FG_HTTP_PATCH: return "PATCH";
	case FG_HTTP_DELETE: return "DELETE";
	}
	return "GET";
}

void fg_http_request_init(struct fg_http_request *r)
{
	memset(r, 0, sizeof(*r));
	fg_buf_init(&r->response);
	r->total_count = -1;
	r->retry_after = -1;
}

static void clear_outputs(struct fg_http_request *r)
{
	free(r->error);
	free(r->location);
	free(r->link);
	free(r->request_id);
	r->error = r->location = r->link = r->request_id = NULL;
	r->result = 0;
	r->status = 0;
	r->total_count = -1;
	r->retry_after = -1;
	fg_buf_reset(&r->response);
}

void fg_http_request_release(struct fg_http_request *r)
{
	clear_outputs(r);
	/* bodies carry configurations with their secrets, replies tokens */
	if (r->response.ptr)
		explicit_bzero(r->response.ptr, r->response.alloc);
	fg_buf_release(&r->response);
	free(r->url);
	if (r->body)
		explicit_bzero(r->body, r->body_len);
	free(r->body);
	r->url = r->body = NULL;
}

/* ---- pure helpers ---- */

long long fg_http_backoff_ms(unsigned attempt, long long retry_after_s,
			     long long remaining_ms, unsigned base_ms,
			     unsigned max_ms, uint32_t rnd)
{
	long long d;

	if (retry_after_s >= 0) {
		if (retry_after_s > remaining_ms / 1000)
			return -1;
		d = retry_after_s * 1000;
	} else {
		unsigned shift = attempt > 0 ? attempt - 1 : 0;

		d = base_ms;
		while (shift-- > 0 && d < max_ms)
			d *= 2;
		if (d > max_ms)
			d = max_ms;
		d = d / 2 + (long long)(rnd % (uint32_t)(d - d / 2 + 1));
	}
	if (d + MIN_ATTEMPT_MS > remaining_ms)
		return -1;
	return d;
}

int fg_http_status_transient(long status)
{
	switch (status) {
	case 408: case 429: case 500: case 502: case 503: case 504:
		return 1;
	}
	return 0;
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* Whether the rel parameter value [v, vend) lists `rel` (space-separated,
 * case-insensitive, as RFC 8288 allows). */
static int rel_matches(const char *v, const char *vend, const char *rel)
{
	size_t n = strlen(rel);

	while (v < vend) {
		const char *w = v;

		while (w < vend && *w != ' ')
			w++;
		if ((size_t)(w - v) == n && !strncasecmp(v, rel, n))
			return 1;
		v = w;
		while (v < vend && *v == ' ')
			v++;
	}
	return 0;
}

char *fg_http_link_url(const char *link, const char *rel)
{
	const char *p, *end;

	if (!link)
		return NULL;
	p = link;
	end = link + strlen(link);
	while (p < end) {
		const char *url, *url_end;
		int match = 0;

		p = skip_ws(p, end);
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (p >= end || *p != '<')
			return NULL;
		url = p + 1;
		url_end = memchr(url, '>', (size_t)(end - url));
		if (!url_end)
			return NULL;
		p = url_end + 1;
		/* parameters up to the next top-level comma */
		while (p < end && *p != ',') {
			const char *name, *name_end, *v, *vend;

			p = skip_ws(p, end);
			if (p < end && *p == ';')
				p = skip_ws(p + 1, end);
			name = p;
			while (p < end && *p != '=' && *p != ';' && *p != ',')
				p++;
			name_end = p;
			while (name_end > name && (name_end[-1] == ' ' || name_end[-1] == '\t'))
				name_end--;
			if (p >= end || *p != '=')
				continue;
			p = skip_ws(p + 1, end);
			if (p < end && *p == '"') {
				v = ++p;
				while (p < end && *p != '"')
					p++;
				vend = p;
				if (p < end)
					p++;
			} else {
				v = p;
				while (p < end && *p != ';' && *p != ',')
					p++;
				vend = p;
				while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
					vend--;
			}
			if (name_end - name == 3 && !strncasecmp(name, "rel", 3) &&
			    rel_matches(v, vend, rel))
				match = 1;
		}
		if (match)
			return fg_strndup(url, (size_t)(url_end - url));
	}
	return NULL;
}

int fg_http_page_more(unsigned page, unsigned per_page, size_t got,
		      long long total, const char *link)
{
	int has_rel;
	char *next;

	if (got == 0 || got < per_page)
		return 0;
	if (link && *link) {
		next = fg_http_link_url(link, "next");
		has_rel = next != NULL;
		free(next);
		return has_rel;
	}
	if (total >= 0)
		return (long long)page * per_page < total;
	return 1;
}

static const char *const secret_headers[] = {
	"proxy-authorization", "authorization", "set-cookie", "cookie",
	"private-token",
};

/* Find a credential header name followed by ':' in [p, end); returns the
 * position just after the ':' or NULL. */
static const char *find_secret_header(const char *p, const char *end)
{
	const char *s;
	size_t i;

	for (s = p; s < end; s++) {
		for (i = 0; i < sizeof(secret_headers) / sizeof(*secret_headers); i++) {
			size_t n = strlen(secret_headers[i]);

			if ((size_t)(end - s) > n && s[n] == ':' &&
			    !strncasecmp(s, secret_headers[i], n) &&
			    (s == p || !isalnum((unsigned char)s[-1]) || s[-1] == '-'))
				return s + n + 1;
		}
	}
	return NULL;
}

void fg_http_redact(struct fg_buf *out, const char *data, size_t len)
{
	const char *p = data, *end = data + len;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = eol ? eol : end;
		const char *cut;

		if (line_end > p && line_end[-1] == '\r')
			line_end--;
		cut = find_secret_header(p, line_end);
		if (cut) {
			fg_buf_put(out, p, (size_t)(cut - p));
			fg_buf_puts(out, " [redacted]");
			/* keep the closing bracket of an HTTP/2 trace line */
			if (line_end > cut && line_end[-1] == ']')
				fg_buf_putc(out, ']');
		} else {
			fg_buf_put(out, p, (size_t)(line_end - p));
		}
		fg_buf_putc(out, '\n');
		p = eol ? eol + 1 : end;
	}
}

void fg_url_escape(struct fg_buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			fg_buf_putc(out, (char)*p);
		} else {
			fg_buf_putc(out, '%');
			fg_buf_putc(out, hex[*p >> 4]);
			fg_buf_putc(out, hex[*p & 15]);
		}
	}
}

/* ---- the client ---- */

static uint32_t next_random(struct fg_http *h)
{
	uint32_t x = h->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	h->rng = x;
	return x;
}

int fg_http_new(struct fg_http **out, const struct fg_http_options *opts)
{
	struct fg_http *h = fg_calloc(1, sizeof(*h));
	int err = 0;

	if (opts)
		h->opt = *opts;
	if (!h->opt.max_concurrency)
		h->opt.max_concurrency = DEFAULT_CONCURRENCY;
	if (h->opt.max_concurrency > MAX_CONCURRENCY)
		h->opt.max_concurrency = MAX_CONCURRENCY;
	if (!h->opt.max_attempts)
		h->opt.max_attempts = DEFAULT_ATTEMPTS;
	if (!h->opt.backoff_base_ms)
		h->opt.backoff_base_ms = DEFAULT_BACKOFF_BASE_MS;
	if (!h->opt.backoff_max_ms)
		h->opt.backoff_max_ms = DEFAULT_BACKOFF_MAX_MS;
	if (!h->opt.request_timeout_ms)
		h->opt.request_timeout_ms = DEFAULT_REQUEST_TIMEOUT_MS;
	if (!h->opt.connect_timeout_ms)
		h->opt.connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
	if (!h->opt.low_speed_time_s)
		h->opt.low_speed_time_s = DEFAULT_LOW_SPEED_TIME_S;
	if (!h->opt.max_body)
		h->opt.max_body = DEFAULT_MAX_BODY;
	if (h->opt.ca_file)
		h->ca_file = fg_strdup(h->opt.ca_file);
	h->opt.ca_file = h->ca_file;
	h->rng = (uint32_t)fg_http_now_ms() ^ ((uint32_t)getpid() << 16) ^ 0x9e3779b9u;
	if (!h->rng)
		h->rng = 1;
	fg_buf_init(&h->line);

	h->multi = curl_multi_init();
	if (!h->multi) {
		err = fg_error_set(FG_ERROR, "libcurl could not make a multi handle");
		goto done;
	}
	curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)h->opt.max_concurrency);
	curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)h->opt.max_concurrency);
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)h->opt.max_concurrency);
	*out = h;
	h = NULL;
done:
	fg_http_free(h);
	return err;
}

void fg_http_free(struct fg_http *h)
{
	size_t i;

	if (!h)
		return;
	for (i = 0; i < h->nidle; i++)
		curl_easy_cleanup(h->idle[i]);
	free(h->idle);
	if (h->multi)
		curl_multi_cleanup(h->multi);
	for (i = 0; i < h->nsecrets; i++) {
		explicit_bzero(h->secrets[i], strlen(h->secrets[i]));
		free(h->secrets[i]);
	}
	free(h->secrets);
	free(h->ca_file);
	fg_buf_release(&h->line);
	free(h);
}

void fg_http_add_secret(struct fg_http *h, const char *secret)
{
	if (!secret || strlen(secret) < 4)
		return;
	h->secrets = fg_grow(h->secrets, &h->secrets_alloc, h->nsecrets + 1, sizeof(*h->secrets));
	h->secrets[h->nsecrets++] = fg_strdup(secret);
}

/* Replace every registered secret in `b` by "***". */
static void scrub(struct fg_http *h, struct fg_buf *b)
{
	size_t i;

	for (i = 0; i < h->nsecrets; i++) {
		const char *s = h->secrets[i];
		size_t n = strlen(s);
		char *hit;

		while ((hit = strstr(b->ptr, s))) {
			size_t at = (size_t)(hit - b->ptr);

			memmove(hit + 3, hit + n, b->len - at - n + 1);
			memcpy(hit, "***", 3);
			b->len = b->len - n + 3;
		}
	}
}

/* Send the text in h->line to the log, scrubbed, one call per line. */
static void emit_lines(struct fg_http *h)
{
	char *p, *eol;

	scrub(h, &h->line);
	for (p = h->line.ptr; *p; p = eol + 1) {
		eol = strchr(p, '\n');
		if (!eol)
			eol = p + strlen(p);
		if (eol > p) {
			char save = *eol;

			*eol = '\0';
			h->opt.log(h->opt.log_data, p);
			*eol = save;
		}
		if (!*eol)
			break;
	}
	fg_buf_reset(&h->line);
}

static void logf_(struct fg_http *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct fg_http *h, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	if (!h->opt.log)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	s = fg_malloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	fg_buf_reset(&h->line);
	fg_buf_puts(&h->line, s);
	free(s);
	emit_lines(h);
}

static int debug_cb(CURL *easy, curl_infotype type, char *data, size_t size, void *clientp)
{
	struct xfer *x = clientp;
	struct fg_http *h = x->h;
	const char *prefix;
	struct fg_buf raw = FG_BUF_INIT;
	char *p, *eol;

	(void)easy;
	switch (type) {
	case CURLINFO_TEXT: prefix = "* "; break;
	case CURLINFO_HEADER_OUT: prefix = "> "; break;
	case CURLINFO_HEADER_IN: prefix = "< "; break;
	default:
		return 0; /* bodies and TLS records carry secrets: never */
	}
	fg_buf_init(&raw);
	fg_http_redact(&raw, data, size);
	fg_buf_reset(&h->line);
	for (p = raw.ptr; *p; p = eol + 1) {
		eol = strchr(p, '\n');
		if (!eol)
			eol = p + strlen(p);
		if (eol > p) {
			fg_buf_puts(&h->line, prefix);
			fg_buf_put(&h->line, p, (size_t)(eol - p));
			fg_buf_putc(&h->line, '\n');
		}
		if (!*eol)
			break;
	}
	fg_buf_release(&raw);
	emit_lines(h);
	return 0;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct xfer *x = userp;
	size_t n = size * nmemb;

	if (x->req->response.len + n > x->h->opt.max_body) {
		x->over_limit = 1;
		return 0;
	}
	fg_buf_put(&x->req->response, data, n);
	return n;
}

/* The value of a header line, trimmed; NULL when it is over `max` bytes. */
static char *header_value(const char *v, size_t n, size_t max)
{
	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	return n > max ? NULL : fg_strndup(v, n);
}

/* Over a cap, the transfer stops (returning 0 to libcurl) and the request
 * fails naming the header: a cut value would be a different value. */
static int set_header(struct xfer *x, const char *name, char **slot, const char *v, size_t n)
{
	char *value = header_value(v, n, MAX_HEADER_VALUE);

	if (!value) {
		x->header_over = name;
		x->header_max = MAX_HEADER_VALUE;
		return 0;
	}
	free(*slot);
	*slot = value;
	return 1;
}

static size_t header_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct xfer *x = userp;
	struct fg_http_request *r = x->req;
	size_t n = size * nmemb;
	const char *colon;
	size_t name_len;

	if (n >= 5 && !strncmp(data, "HTTP/", 5)) {
		/* a new response (after 100 Continue, or a retry): start over */
		free(r->location);
		free(r->link);
		free(r->request_id);
		r->location = r->link = r->request_id = NULL;
		r->total_count = -1;
		return n;
	}
	colon = memchr(data, ':', n);
	if (!colon)
		return n;
	name_len = (size_t)(colon - data);
	colon++;
#define IS(name) (name_len == sizeof(name) - 1 && !strncasecmp(data, name, name_len))
	if (IS("Location")) {
		if (!set_header(x, "Location", &r->location, colon, n - name_len - 1))
			return 0;
	} else if (IS("Link")) {
		/* several Link lines (Mender sends one per relation) are one list */
		char *v = header_value(colon, n - name_len - 1, MAX_HEADER_VALUE);

		if (!v || (r->link && strlen(r->link) + 2 + strlen(v) > MAX_LINK_VALUE)) {
			x->header_over = v ? "Link (its lines joined)" : "Link";
			x->header_max = v ? MAX_LINK_VALUE : MAX_HEADER_VALUE;
			free(v);
			return 0;
		}
		if (r->link) {
			char *joined = fg_asprintf("%s, %s", r->link, v);

			free(r->link);
			free(v);
			r->link = joined;
		} else {
			r->link = v;
		}
	} else if (IS("X-MEN-RequestID")) {
		if (!set_header(x, "X-MEN-RequestID", &r->request_id, colon, n - name_len - 1))
			return 0;
	} else if (IS("X-Total-Count")) {
		char *v = header_value(colon, n - name_len - 1, MAX_HEADER_VALUE);
		char *end;
		long long t;

		if (!v) {
			x->header_over = "X-Total-Count";
			x->header_max = MAX_HEADER_VALUE;
			return 0;
		}
		t = strtoll(v, &end, 10);
		r->total_count = (*v && !*end && t >= 0) ? t : -1;
		free(v);
	}
#undef IS
	return n;
}

static CURL *take_easy(struct fg_http *h)
{
	if (h->nidle)
		return h->idle[--h->nidle];
	return curl_easy_init();
}

static void give_easy(struct fg_http *h, CURL *e)
{
	if (h->nidle >= h->opt.max_concurrency) {
		curl_easy_cleanup(e);
		return;
	}
	h->idle = fg_grow(h->idle, &h->idle_alloc, h->nidle + 1, sizeof(*h->idle));
	h->idle[h->nidle++] = e;
}

static void fail(struct xfer *x, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct xfer *x, int code, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	msg = fg_malloc(n > 0 ? (size_t)n + 1 : 1);
	msg[0] = '\0';
	if (n > 0) {
		va_start(ap, fmt);
		vsnprintf(msg, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	fg_buf_reset(&x->h->line);
	fg_buf_printf(&x->h->line, "%s %s: %s", fg_http_method_name(x->req->method),
		      x->req->url ? x->req->url : "(no URL)", msg);
	scrub(x->h, &x->h->line);
	free(x->req->error);
	x->req->error = fg_strdup(x->h->line.ptr);
	fg_buf_reset(&x->h->line);
	x->req->result = code;
	free(msg);
}

/* Start one attempt. Returns 0 when the transfer is in the multi handle,
 * else the request has failed (x->req->result set). */
/* The options of one attempt of x->req on the easy handle `e`. */
static void set_options(struct xfer *x, CURL *e)
{
	const struct fg_http *h = x->h;
	const struct fg_http_request *r = x->req;

	curl_easy_setopt(e, CURLOPT_URL, r->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)x->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(x->timeout_ms < h->opt.connect_timeout_ms ? x->timeout_ms
									  : h->opt.connect_timeout_ms));
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)h->opt.low_speed_time_s);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	if (h->opt.debug && h->opt.log) {
		curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, debug_cb);
		curl_easy_setopt(e, CURLOPT_DEBUGDATA, x);
		curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
	}

	switch (r->method) {
	case FG_HTTP_GET:
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
		break;
	case FG_HTTP_POST:
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		break;
	default:
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, fg_http_method_name(r->method));
		break;
	}
	if (r->body || r->method == FG_HTTP_POST) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(r->body ? r->body_len : 0));
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body ? r->body : "");
	}
}

/* The request's header list (NULL when libcurl could not make it). */
static struct curl_slist *request_headers(const struct fg_http_request *r)
{
	struct curl_slist *hl = NULL;
	char *line;

	line = fg_asprintf("Accept: %s", r->accept ? r->accept : "application/json");
	hl = curl_slist_append(hl, line);
	free(line);
	if (r->body) {
		line = fg_asprintf("Content-Type: %s", r->content_type ? r->content_type : "application/json");
		hl = curl_slist_append(hl, line);
		free(line);
	}
	/* no 100-continue round trip on larger bodies */
	hl = curl_slist_append(hl, "Expect:");
	if (r->bearer) {
		line = fg_asprintf("Authorization: Bearer %s", r->bearer);
		hl = curl_slist_append(hl, line);
		explicit_bzero(line, strlen(line));
		free(line);
	}
	return hl;
}

static int start(struct xfer *x, int64_t deadline_ms)
{
	struct fg_http *h = x->h;
	struct fg_http_request *r = x->req;
	int64_t now = fg_http_now_ms();
	int64_t remaining = deadline_ms - now;
	struct curl_slist *hl;
	CURL *e;
	CURLMcode mc;

	if (!x->first_start_ms)
		x->first_start_ms = now;
	x->attempt_start_ms = now;
	r->attempts++;
	if (!r->url) {
		fail(x, FG_EINVAL, "no URL");
		return -1;
	}
	if (remaining <= 0) {
		fail(x, FG_ETIMEOUT, "not started: the deadline had passed");
		return -1;
	}
	x->timeout_ms = remaining < h->opt.request_timeout_ms ? remaining : h->opt.request_timeout_ms;
	e = take_easy(h);
	if (!e) {
		fail(x, FG_ERROR, "libcurl could not make an easy handle");
		return -1;
	}
	curl_easy_reset(e);
	x->easy = e;
	x->over_limit = 0;
	x->header_over = NULL;
	x->header_max = 0;
	x->errbuf[0] = '\0';
	clear_outputs(r);

	set_options(x, e);
	hl = request_headers(r);
	if (!hl) {
		fail(x, FG_ERROR, "libcurl could not build the request headers");
		goto failed;
	}
	x->headers = hl;
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
	if (r->user) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, r->user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, r->password ? r->password : "");
	}

	mc = curl_multi_add_handle(h->multi, e);
	if (mc != CURLM_OK) {
		fail(x, FG_ERROR, "libcurl: %s", curl_multi_strerror(mc));
		goto failed;
	}
	return 0;
failed:
	curl_slist_free_all(x->headers);
	x->headers = NULL;
	give_easy(h, e);
	x->easy = NULL;
	return -1;
}

static int curl_transient(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return 1;
	default:
		return 0;
	}
}

/* The request cannot have reached the server's application. */
static int curl_not_sent(CURLcode rc)
{
	return rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY ||
	       rc == CURLE_COULDNT_CONNECT;
}

enum outcome { DONE, RETRY };

/* Judge a finished attempt: fill the request's outcome, and say whether
 * to try again (x->due_ms set). */
static enum outcome finish(struct xfer *x, CURLcode rc, int64_t deadline_ms)
{
	struct fg_http *h = x->h;
	struct fg_http_request *r = x->req;
	const char *method = fg_http_method_name(r->method);
	int64_t now = fg_http_now_ms();
	int replayable = r->method == FG_HTTP_GET || r->method == FG_HTTP_PUT ||
			 r->method == FG_HTTP_DELETE || r->replay_safe;
	int transient = 0;
	long long wait;
	curl_off_t ra = -1;
	char what[160];

	r->elapsed_ms = now - x->first_start_ms;
	if (rc == CURLE_OK) {
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r->status);
		if (curl_easy_getinfo(x->easy, CURLINFO_RETRY_AFTER, &ra) != CURLE_OK)
			ra = -1;
		/* libcurl says 0 both for "Retry-After: 0" and for no header:
		 * either way the backoff decides */
		r->retry_after = ra > 0 ? (long long)ra : -1;
		transient = fg_http_status_transient(r->status) &&
			    (replayable || r->status == 429);
		snprintf(what, sizeof(what), "HTTP %ld", r->status);
		logf_(h, "%s %s -> %ld (%lld ms, attempt %u)", method, r->url, r->status,
		      (long long)(now - x->attempt_start_ms), r->attempts);
	} else if (x->over_limit) {
		fail(x, FG_ELIMIT, "response body over the %zu-byte limit", h->opt.max_body);
		logf_(h, "%s %s -> body over limit (attempt %u)", method, r->url, r->attempts);
		return DONE;
	} else if (x->header_over) {
		fail(x, FG_ELIMIT, "response header %s over the %zu-byte limit", x->header_over,
		     x->header_max);
		logf_(h, "%s %s -> header %s over limit (attempt %u)", method, r->url,
		      x->header_over, r->attempts);
		return DONE;
	} else {
		int code = rc == CURLE_OPERATION_TIMEDOUT ? FG_ETIMEOUT : FG_ENET;

		if (rc == CURLE_OPERATION_TIMEDOUT)
			fail(x, code, "no complete reply within %lld ms%s", (long long)x->timeout_ms,
			     x->attempt_start_ms + x->timeout_ms >= deadline_ms ? " (the deadline)" : "");
		else
			fail(x, code, "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
		transient = curl_transient(rc) && (replayable || curl_not_sent(rc));
		snprintf(what, sizeof(what), "%s", curl_easy_strerror(rc));
		logf_(h, "%s %s -> %s (%lld ms, attempt %u)", method, r->url, what,
		      (long long)(now - x->attempt_start_ms), r->attempts);
	}
	if (!transient || r->attempts >= h->opt.max_attempts)
		return DONE;
	wait = fg_http_backoff_ms(r->attempts, r->retry_after, deadline_ms - now,
				  h->opt.backoff_base_ms, h->opt.backoff_max_ms, next_random(h));
	if (wait < 0)
		return DONE;
	logf_(h, "retrying %s %s in %lld ms after %s", method, r->url, wait, what);
	x->due_ms = now + wait;
	return RETRY;
}

static void release_easy(struct xfer *x)
{
	if (!x->easy)
		return;
	curl_multi_remove_handle(x->h->multi, x->easy);
	curl_slist_free_all(x->headers);
	x->headers = NULL;
	give_easy(x->h, x->easy);
	x->easy = NULL;
}

static void wait_insert(struct xfer **list, struct xfer *x)
{
	while (*list && (*list)->due_ms <= x->due_ms)
		list = &(*list)->next;
	x->next = *list;
	*list = x;
}

/* One fg_http_run: the transfers in flight, those waiting for a retry. */
struct run {
	struct fg_http *h;
	int64_t deadline_ms;
	fg_http_next_fn next;
	fg_http_done_fn done;
	void *data;
	struct xfer **active;
	size_t nactive;
	struct xfer *waiting;       /* by due time */
	int more;                   /* next() may give more */
};

/* The next transfer to start: a due retry first, then a new request;
 * NULL when there is none now. */
static struct xfer *next_xfer(struct run *rn, int64_t now)
{
	struct xfer *x;

	while (1) {
		struct fg_http_request *r;

		if (rn->waiting && rn->waiting->due_ms <= now) {
			x = rn->waiting;
			rn->waiting = x->next;
			x->next = NULL;
			return x;
		}
		if (!rn->more)
			return NULL;
		r = rn->next(rn->data);
		if (!r) {
			rn->more = 0;
			continue;
		}
		x = fg_calloc(1, sizeof(*x));
		x->h = rn->h;
		x->req = r;
		r->attempts = 0;
		clear_outputs(r);
		return x;
	}
}

/* Hand a transfer's outcome to the caller. */
static void xfer_done(struct run *rn, struct xfer *x)
{
	rn->done(rn->data, x->req);
	free(x);
	rn->more = 1;
}

static void fill_slots(struct run *rn)
{
	int64_t now = fg_http_now_ms();
	struct xfer *x;

	while (rn->nactive < rn->h->opt.max_concurrency && (x = next_xfer(rn, now))) {
		if (start(x, rn->deadline_ms) == 0)
			rn->active[rn->nactive++] = x;
		else
			xfer_done(rn, x);
	}
}

/* The transfers libcurl finished: done, or waiting for a retry. Whether
 * there was one. */
static int collect(struct run *rn)
{
	int left, progressed = 0;
	CURLMsg *msg;
	size_t i;

	while ((msg = curl_multi_info_read(rn->h->multi, &left))) {
		struct xfer *x = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		for (i = 0; i < rn->nactive; i++)
			if (rn->active[i] == x)
				break;
		if (i == rn->nactive)
			continue;
		rn->active[i] = rn->active[--rn->nactive];
		progressed = 1;
		if (finish(x, msg->data.result, rn->deadline_ms) == RETRY) {
			release_easy(x);
			wait_insert(&rn->waiting, x);
		} else {
			release_easy(x);
			xfer_done(rn, x);
		}
	}
	return progressed;
}

/* Wait for a transfer or the next retry's time (at most 1 s). */
static int wait_events(struct run *rn)
{
	long timeout = 1000;
	CURLMcode mc;

	if (rn->waiting) {
		int64_t d = rn->waiting->due_ms - fg_http_now_ms();

		if (d < timeout)
			timeout = d > 0 ? (long)d : 0;
	}
	if (rn->nactive) {
		mc = curl_multi_poll(rn->h->multi, NULL, 0, (int)timeout, NULL);
		if (mc != CURLM_OK)
			return fg_error_set(FG_ERROR, "libcurl: %s", curl_multi_strerror(mc));
	} else if (timeout > 0) {
		struct timespec ts = { timeout / 1000, (timeout % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}
	return 0;
}

/* The run failed (`err`, the thread's error): every transfer in flight or
 * waiting is abandoned, and handed back saying so. */
static int abandon(struct run *rn, int err)
{
	/* the callbacks record their own errors: keep the run's for the caller */
	char *why = fg_strdup(fg_error_message());
	size_t i;

	for (i = 0; i < rn->nactive; i++) {
		release_easy(rn->active[i]);
		fail(rn->active[i], FG_ERROR, "abandoned: %s", why);
		xfer_done(rn, rn->active[i]);
	}
	rn->nactive = 0;
	while (rn->waiting) {
		struct xfer *x = rn->waiting;

		rn->waiting = x->next;
		fail(x, FG_ERROR, "abandoned: %s", why);
		xfer_done(rn, x);
	}
	fg_error_set(err, "%s", why);
	free(why);
	return err;
}

int fg_http_run(struct fg_http *h, int64_t deadline_ms, fg_http_next_fn next,
		fg_http_done_fn done, void *data)
{
	struct run rn = { h, deadline_ms, next, done, data, NULL, 0, NULL, 1 };
	int running, err = 0;
	CURLMcode mc;

	rn.active = fg_calloc(h->opt.max_concurrency, sizeof(*rn.active));
	for (;;) {
		fill_slots(&rn);
		if (!rn.nactive && !rn.waiting && !rn.more)
			break;
		mc = curl_multi_perform(h->multi, &running);
		if (mc != CURLM_OK) {
			err = abandon(&rn, fg_error_set(FG_ERROR, "libcurl: %s", curl_multi_strerror(mc)));
			break;
		}
		if (collect(&rn))
			continue;
		if ((err = wait_events(&rn))) {
			err = abandon(&rn, err);
			break;
		}
	}
	free(rn.active);
	return err;
}

struct array_run {
	struct fg_http_request **reqs;
	size_t n, i;
};

static struct fg_http_request *array_next(void *data)
{
	struct array_run *a = data;

	return a->i < a->n ? a->reqs[a->i++] : NULL;
}

static void array_done(void *data, struct fg_http_request *r)
{
	(void)data;
	(void)r;
}

int fg_http_run_all(struct fg_http *h, int64_t deadline_ms,
		    struct fg_http_request **reqs, size_t n)
{
	struct array_run a = { reqs, n, 0 };

	return fg_http_run(h, deadline_ms, array_next, array_done, &a);
}
