#include "mender/mender.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"

#include <cjson/cJSON.h>

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_CALL_MS 60000
#define MAX_PAGE_SIZE 500
#define DEVICE_PAGE_SIZE 20        /* Mender's cap for a device's deployments */
#define MAX_PAGES 20000            /* 10 M devices at 500 a page */
#define MAX_HISTORY 10000
#define MAX_ABORT_ROUNDS 16
#define MAX_BODY_SENT (1u << 20)   /* Mender's request_size_limit */
#define MAX_QUERY_NAMES 50
#define MAX_QUERY_BYTES 4000
#define MAX_CONFIG_KEYS 100
#define MAX_CONFIG_LEN 4096
#define MAX_TOKEN_LEN 16384
#define MAX_ERROR_TEXT 300

#define P_INVENTORY_SEARCH "/api/management/v2/inventory/filters/search"
#define P_DEPLOYMENTS_V1 "/api/management/v1/deployments/deployments"
#define P_DEPLOYMENTS_V2 "/api/management/v2/deployments/deployments"
#define P_ARTIFACTS_V2 "/api/management/v2/deployments/artifacts"
#define P_CONFIG "/api/management/v1/deviceconfig/configurations/device/"
#define P_TAGS "/api/management/v1/inventory/devices/"
#define P_LOGIN "/api/management/v1/useradm/auth/login"

struct mender_client {
	struct fg_http *http;
	char *server;
	char *token;
	int64_t deadline_ms;
	unsigned page_size;
};

static int64_t call_deadline(const struct mender_client *c)
{
	return c->deadline_ms ? c->deadline_ms : fg_http_now_ms() + DEFAULT_CALL_MS;
}

/* ---- UTF-8 ---- */

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

int mender_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < len) {
		k = utf8_seq(p + i, len - i);
		if (!k)
			return 0;
		i += k;
	}
	return 1;
}

/* Append `s`, invalid UTF-8 bytes replaced by U+FFFD. */
static void put_utf8(struct fg_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, k;

	while (i < n) {
		k = utf8_seq(p + i, n - i);
		if (k) {
			fg_buf_put(b, p + i, k);
			i += k;
		} else {
			fg_buf_puts(b, "\xef\xbf\xbd");
			i++;
		}
	}
}

static char *utf8_dup(const char *s)
{
	struct fg_buf b;

	fg_buf_init(&b);
	put_utf8(&b, s);
	return fg_buf_detach(&b);
}

/* ---- JSON values ---- */

static void put_number(struct fg_buf *b, double d)
{
	char tmp[64];
	int prec;

	if (d == floor(d) && fabs(d) < 9007199254740992.0) {
		fg_buf_printf(b, "%.0f", d);
		return;
	}
	for (prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	fg_buf_puts(b, tmp);
}

static void put_json(struct fg_buf *b, const cJSON *v)
{
	const cJSON *e;
	struct fg_buf s;

	if (cJSON_IsString(v)) {
		fg_buf_init(&s);
		put_utf8(&s, v->valuestring);
		fg_buf_put_json_string(b, s.ptr);
		fg_buf_release(&s);
	} else if (cJSON_IsNumber(v)) {
		put_number(b, v->valuedouble);
	} else if (cJSON_IsBool(v)) {
		fg_buf_puts(b, cJSON_IsTrue(v) ? "true" : "false");
	} else if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
		int obj = cJSON_IsObject(v);

		fg_buf_putc(b, obj ? '{' : '[');
		cJSON_ArrayForEach(e, v) {
			if (e != v->child)
				fg_buf_putc(b, ',');
			if (obj) {
				fg_buf_init(&s);
				put_utf8(&s, e->string ? e->string : "");
				fg_buf_put_json_string(b, s.ptr);
				fg_buf_release(&s);
				fg_buf_putc(b, ':');
			}
			put_json(b, e);
		}
		fg_buf_putc(b, obj ? '}' : ']');
	} else {
		fg_buf_puts(b, "null");
	}
}

/* An attribute value as a string (see mender.h). */
static char *render(const cJSON *v)
{
	struct fg_buf b;

	fg_buf_init(&b);
	if (cJSON_IsString(v))
		put_utf8(&b, v->valuestring);
	else if (cJSON_IsNumber(v))
		put_number(&b, v->valuedouble);
	else if (cJSON_IsBool(v))
		fg_buf_puts(&b, cJSON_IsTrue(v) ? "true" : "false");
	else if (!cJSON_IsNull(v) && v)
		put_json(&b, v);
	return fg_buf_detach(&b);
}

/* Parse exactly one JSON document from [s, s+len); NULL if not JSON or
 * followed by anything but whitespace. */
static cJSON *parse_exact(const char *s, size_t len, size_t *bad_at)
{
	const char *end = NULL;
	cJSON *j;

	j = cJSON_ParseWithLengthOpts(s, len, &end, 0);
	if (!j) {
		*bad_at = end && end >= s ? (size_t)(end - s) : 0;
		return NULL;
	}
	while (end < s + len && isspace((unsigned char)*end))
		end++;
	if (end != s + len) {
		*bad_at = (size_t)(end - s);
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

int mender_render_value(const char *json, size_t len, char **out)
{
	size_t bad = 0;
	cJSON *j = parse_exact(json, len, &bad);

	if (!j)
		return fg_error_set(FG_EINVAL, "not a JSON value (at byte %zu)", bad);
	*out = render(j);
	cJSON_Delete(j);
	return 0;
}

int mender_parse_config_map(const char *json, size_t len, struct mender_kv **out, size_t *n)
{
	size_t bad = 0, i;
	cJSON *j = parse_exact(json, len, &bad);
	const cJSON *e;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (!j)
		return fg_error_set(FG_EINVAL, "not JSON (at byte %zu)", bad);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return fg_error_set(FG_EINVAL, "not a JSON object");
	}
	*out = fg_calloc((size_t)cJSON_GetArraySize(j) + 1, sizeof(**out));
	cJSON_ArrayForEach(e, j) {
		char *key = utf8_dup(e->string ? e->string : "");

		for (i = 0; i < *n && !rc; i++)
			if (!strcmp((*out)[i].key, key))
				rc = fg_error_set(FG_EINVAL, "the key '%s' comes twice", key);
		if (!rc && !cJSON_IsString(e))
			rc = fg_error_set(FG_EINVAL, "the value of '%s' is not a string", key);
		if (rc) {
			free(key);
			break;
		}
		(*out)[*n].key = key;
		(*out)[*n].value = utf8_dup(e->valuestring);
		(*n)++;
	}
	cJSON_Delete(j);
	if (rc) {
		mender_kv_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

static const cJSON *field(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* A string member, valid UTF-8, malloc'd; `def` (may be NULL) when absent. */
static char *str_field(const cJSON *obj, const char *key, const char *def)
{
	const cJSON *v = field(obj, key);

	if (cJSON_IsString(v))
		return utf8_dup(v->valuestring);
	return def ? fg_strdup(def) : NULL;
}

static long long int_field(const cJSON *obj, const char *key)
{
	const cJSON *v = field(obj, key);

	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 9007199254740992.0)
		return (long long)v->valuedouble;
	return -1;
}

/* ---- requests ---- */

/* One request and where it belongs; `req` first, so a request is its op. */
struct op {
	struct fg_http_request req;
	size_t item;
	int step;
	unsigned page;
	unsigned round;
	long long count;
};

static struct op *op_new(const struct mender_client *c, enum fg_http_method m, const char *path)
{
	struct op *op = fg_calloc(1, sizeof(*op));

	fg_http_request_init(&op->req);
	op->req.method = m;
	op->req.url = fg_asprintf("%s%s", c->server, path);
	op->req.bearer = c->token;
	return op;
}

static void op_free(struct op *op)
{
	if (!op)
		return;
	fg_http_request_release(&op->req);
	free(op);
}

/* Hand the JSON text in `b` to the op as its body. */
static void op_body(struct op *op, struct fg_buf *b)
{
	free(op->req.body);
	op->req.body_len = b->len;
	op->req.body = fg_buf_detach(b);
}

static const char *req_path(const struct mender_client *c, const struct fg_http_request *r)
{
	size_t n = strlen(c->server);

	return strncmp(r->url, c->server, n) ? r->url : r->url + n;
}

static int status_code(long status)
{
	if (status == 401 || status == 403)
		return FG_EAUTH;
	if (status == 404)
		return FG_ENOTFOUND;
	return FG_EHTTP;
}

/* Record the failure of `r` (transport error or unexpected status) as the
 * thread's error, with Mender's error text and request id. */
static int fail_response(const struct mender_client *c, const struct fg_http_request *r)
{
	struct fg_buf text = FG_BUF_INIT;
	char *err = NULL, *rid = NULL;
	size_t bad;
	cJSON *j;
	int code;

	if (r->result)
		return fg_error_set(r->result, "%s", r->error ? r->error : "request failed");
	fg_buf_init(&text);
	j = r->response.len ? parse_exact(r->response.ptr, r->response.len, &bad) : NULL;
	if (cJSON_IsObject(j)) {
		err = str_field(j, "error", NULL);
		rid = str_field(j, "request_id", NULL);
	}
	if (!rid && r->request_id)
		rid = fg_strdup(r->request_id);
	if (err) {
		fg_buf_put_printable(&text, err);
	} else if (r->response.len && !j) {
		char *raw = fg_strndup(r->response.ptr, r->response.len);
		char *clean = utf8_dup(raw);

		fg_buf_put_printable(&text, clean);
		free(clean);
		free(raw);
	}
	if (text.len > MAX_ERROR_TEXT) {
		text.len = MAX_ERROR_TEXT;
		text.ptr[text.len] = '\0';
		fg_buf_puts(&text, "...");
	}
	code = status_code(r->status);
	fg_error_set(code, "%s %s: HTTP %ld%s%s%s%s%s", fg_http_method_name(r->method),
		     req_path(c, r), r->status, text.len ? ": " : "", text.ptr,
		     rid ? " (request_id " : "", rid ? rid : "", rid ? ")" : "");
	free(err);
	free(rid);
	fg_buf_release(&text);
	cJSON_Delete(j);
	return code;
}

/* Parse the body of `r` as JSON of the expected kind (cJSON_Array or
 * cJSON_Object). */
static int parse_response(const struct mender_client *c, const struct fg_http_request *r,
			  int kind, cJSON **out)
{
	size_t bad = 0;
	cJSON *j = parse_exact(r->response.ptr, r->response.len, &bad);

	if (!j)
		return fg_error_set(FG_EHTTP, "%s %s: HTTP %ld: the reply is not JSON (at byte %zu)",
				    fg_http_method_name(r->method), req_path(c, r), r->status, bad);
	if ((j->type & 0xff) != kind) {
		cJSON_Delete(j);
		return fg_error_set(FG_EHTTP, "%s %s: HTTP %ld: the reply is not a JSON %s",
				    fg_http_method_name(r->method), req_path(c, r), r->status,
				    kind == cJSON_Array ? "array" : "object");
	}
	*out = j;
	return 0;
}

/*
 * Runs ops through fg_http_run: a FIFO of ready ops (follow-ups), fed by
 * `generate` when empty, each finished op handed to `finish` (which frees
 * it or pushes it again).
 */
struct runner {
	struct mender_client *c;
	struct op **queue;
	size_t head, n, alloc;
	struct op *(*generate)(struct runner *rn);
	void (*finish)(struct runner *rn, struct op *op);
	void *ctx;
	int err;            /* first failure of a whole-call runner */
	char *err_msg;
};

static void runner_push(struct runner *rn, struct op *op)
{
	if (rn->head == rn->n)
		rn->head = rn->n = 0;
	rn->queue = fg_grow(rn->queue, &rn->alloc, rn->n + 1, sizeof(*rn->queue));
	rn->queue[rn->n++] = op;
}

static struct fg_http_request *runner_next(void *data)
{
	struct runner *rn = data;
	struct op *op = NULL;

	if (rn->head < rn->n)
		op = rn->queue[rn->head++];
	else if (rn->generate)
		op = rn->generate(rn);
	return op ? &op->req : NULL;
}

static void runner_done(void *data, struct fg_http_request *r)
{
	struct runner *rn = data;

	rn->finish(rn, (struct op *)r);
}

/* Record the first failure (the thread's current error) of a runner. */
static void runner_fail(struct runner *rn, int code)
{
	if (rn->err)
		return;
	rn->err = code;
	rn->err_msg = fg_strdup(fg_error_message());
}

static int runner_run(struct runner *rn, int64_t deadline)
{
	int err = fg_http_run(rn->c->http, deadline, runner_next, runner_done, rn);

	/* ops pushed but never run (the multi interface failed) */
	while (rn->head < rn->n)
		op_free(rn->queue[rn->head++]);
	free(rn->queue);
	rn->queue = NULL;
	rn->head = rn->n = rn->alloc = 0;
	if (!err && rn->err)
		err = fg_error_set(rn->err, "%s", rn->err_msg);
	free(rn->err_msg);
	rn->err_msg = NULL;
	return err;
}

/* Run one op (and its follow-ups, if `finish` pushes any). */
struct single {
	struct op *op;
};

static struct op *single_generate(struct runner *rn)
{
	struct single *s = rn->ctx;
	struct op *op = s->op;

	s->op = NULL;
	return op;
}

static void single_finish(struct runner *rn, struct op *op)
{
	(void)rn;
	(void)op;
}

/* Run `op` alone; the caller keeps it and reads its outcome. */
static int run_one(struct mender_client *c, int64_t deadline, struct op *op)
{
	struct single s = { op };
	struct runner rn = { 0 };

	rn.c = c;
	rn.generate = single_generate;
	rn.finish = single_finish;
	rn.ctx = &s;
	return runner_run(&rn, deadline);
}

/* Check a string going to Mender. */
static int check_out(const char *what, const char *s)
{
	if (!s || !*s)
		return fg_error_set(FG_EINVAL, "%s is empty", what);
	if (!mender_utf8_valid(s, strlen(s)))
		return fg_error_set(FG_EINVAL, "%s is not valid UTF-8", what);
	return 0;
}

/* A path with an escaped id: prefix + id + suffix. */
static char *id_path(const char *prefix, const char *id, const char *suffix)
{
	struct fg_buf b;

	fg_buf_init(&b);
	fg_buf_puts(&b, prefix);
	fg_url_escape(&b, id);
	fg_buf_puts(&b, suffix);
	return fg_buf_detach(&b);
}

/* ---- results ---- */

void mender_result_release(struct mender_result *r)
{
	free(r->message);
	r->message = NULL;
	r->code = 0;
}

static void result_set(struct mender_result *r, int code)
{
	free(r->message);
	r->code = code;
	r->message = code ? fg_strdup(fg_error_message()) : NULL;
}

/* The summary of a *_many call. */
static int many_outcome(const struct mender_result *first, size_t failed, size_t n,
			const char *what)
{
	if (!failed)
		return 0;
	return fg_error_set(first->code, "%s: %zu of %zu failed; first: %s", what, failed, n,
			    first->message ? first->message : "");
}

/* Run the batch `rn` (generate/finish/ctx set) over `n` items whose
 * results lie `stride` bytes apart from `results`; every item is reported
 * in its result, and the sum as "K of N failed; first: ...".
 *
 * An item counts as done only when its own last request said so: each
 * result starts as "not done" (a code without a message, which
 * result_set() never leaves), and an item the batch never reached (the
 * transport stopped the run, a follow-up was still queued) keeps a
 * failure that says so, never a success it did not have. */
static int run_many(struct mender_client *c, struct runner *rn, void *results, size_t stride,
		    size_t n, const char *what)
{
	char *base = results, *why = NULL;
	size_t i, failed = 0, first = 0;
	int err;

	if (!n)
		return 0;
	for (i = 0; i < n; i++) {
		struct mender_result *r = (struct mender_result *)(base + i * stride);

		r->code = FG_ERROR;
		r->message = NULL;
	}
	rn->c = c;
	err = runner_run(rn, call_deadline(c));
	why = fg_strdup(err ? fg_error_message() : "the batch ended before it was sent");
	for (i = 0; i < n; i++) {
		struct mender_result *r = (struct mender_result *)(base + i * stride);

		if (r->code && !r->message) {
			r->code = err ? err : FG_ERROR;
			r->message = fg_asprintf("%s: item %zu of %zu not done: %s", what, i + 1, n, why);
		}
		if (r->code && !failed++)
			first = i;
	}
	if (err)
		err = fg_error_set(err, "%s: %zu of %zu not done: %s", what, failed, n, why);
	else if (failed)
		err = many_outcome((struct mender_result *)(base + first * stride), failed, n, what);
	free(why);
	return err;
}

/* ---- client ---- */

static int login(struct mender_client *c, const struct mender_settings *s, int64_t deadline)
{
	struct op *op = op_new(c, FG_HTTP_POST, P_LOGIN);
	struct fg_buf tok = FG_BUF_INIT;
	size_t i;
	int err;

	op->req.bearer = NULL;
	op->req.user = s->user;
	op->req.password = s->password;
	op->req.accept = "application/jwt";
	op->req.replay_safe = 1; /* a second login only makes a second session */
	err = run_one(c, deadline, op);
	if (err)
		goto done;
	if (op->req.result || op->req.status != 200) {
		err = fail_response(c, &op->req);
		if (op->req.status == 400 || op->req.status == 401)
			err = FG_EAUTH;
		err = fg_error_wrap(err, "logging in to %s as '%s'", c->server, s->user);
		goto done;
	}
	fg_buf_init(&tok);
	fg_buf_put(&tok, op->req.response.ptr, op->req.response.len);
	while (tok.len && isspace((unsigned char)tok.ptr[tok.len - 1]))
		tok.ptr[--tok.len] = '\0';
	for (i = 0; i < tok.len; i++)
		if (!isalnum((unsigned char)tok.ptr[i]) && !strchr("-_.=+/", tok.ptr[i]))
			break;
	if (!tok.len || i < tok.len || tok.len > MAX_TOKEN_LEN) {
		err = fg_error_set(FG_EHTTP, "logging in to %s as '%s': the reply is not a token",
				   c->server, s->user);
		goto done;
	}
	c->token = fg_buf_detach(&tok);
	fg_http_add_secret(c->http, c->token);
done:
	if (tok.ptr) {
		explicit_bzero(tok.ptr, tok.alloc);
		fg_buf_release(&tok);
	}
	if (op->req.response.ptr)
		explicit_bzero(op->req.response.ptr, op->req.response.len);
	op_free(op);
	return err;
}

int mender_client_new(struct mender_client **out, const struct mender_settings *s)
{
	struct mender_client *c = NULL;
	struct fg_buf basic = FG_BUF_INIT;
	size_t n;
	int err = 0;

	*out = NULL;
	if (!s->server || (strncmp(s->server, "https://", 8) && strncmp(s->server, "http://", 7))) {
		err = fg_error_set(FG_EINVAL, "Mender server URL '%s' must start with https:// or http://",
				   s->server ? s->server : "");
		goto done;
	}
	if (!(s->token && *s->token) && !(s->user && *s->user && s->password)) {
		err = fg_error_set(FG_EAUTH, "no Mender credentials: give a personal access token, or a user and a password");
		goto done;
	}
	c = fg_calloc(1, sizeof(*c));
	n = strlen(s->server);
	while (n > 0 && s->server[n - 1] == '/')
		n--;
	c->server = fg_strndup(s->server, n);
	c->deadline_ms = s->deadline_ms;
	c->page_size = s->page_size && s->page_size <= MAX_PAGE_SIZE ? s->page_size : MAX_PAGE_SIZE;
	err = fg_http_new(&c->http, &s->http);
	if (err)
		goto done;
	if (s->token && *s->token) {
		for (n = 0; s->token[n]; n++)
			if ((unsigned char)s->token[n] <= ' ' || s->token[n] == 0x7f) {
				err = fg_error_set(FG_EAUTH, "the Mender access token contains blanks or control characters");
				goto done;
			}
		c->token = fg_strdup(s->token);
		fg_http_add_secret(c->http, c->token);
	} else {
		fg_http_add_secret(c->http, s->password);
		/* the Basic credentials as they travel, in case a trace shows them */
		fg_buf_init(&basic);
		fg_buf_printf(&basic, "%s:%s", s->user, s->password);
		{
			static const char b64[] =
				"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
			struct fg_buf enc = FG_BUF_INIT;
			const unsigned char *p = (const unsigned char *)basic.ptr;
			size_t i;

			fg_buf_init(&enc);
			for (i = 0; i + 2 < basic.len; i += 3) {
				uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

				fg_buf_putc(&enc, b64[v >> 18 & 63]);
				fg_buf_putc(&enc, b64[v >> 12 & 63]);
				fg_buf_putc(&enc, b64[v >> 6 & 63]);
				fg_buf_putc(&enc, b64[v & 63]);
			}
			if (basic.len - i == 1) {
				uint32_t v = (uint32_t)p[i] << 16;

				fg_buf_putc(&enc, b64[v >> 18 & 63]);
				fg_buf_putc(&enc, b64[v >> 12 & 63]);
				fg_buf_puts(&enc, "==");
			} else if (basic.len - i == 2) {
				uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;

				fg_buf_putc(&enc, b64[v >> 18 & 63]);
				fg_buf_putc(&enc, b64[v >> 12 & 63]);
				fg_buf_putc(&enc, b64[v >> 6 & 63]);
				fg_buf_putc(&enc, '=');
			}
			fg_http_add_secret(c->http, enc.ptr);
			explicit_bzero(enc.ptr, enc.alloc);
			fg_buf_release(&enc);
		}
		err = login(c, s, call_deadline(c));
		if (err)
			goto done;
	}
	*out = c;
	c = NULL;
done:
	if (basic.ptr) {
		explicit_bzero(basic.ptr, basic.alloc);
		fg_buf_release(&basic);
	}
	mender_client_free(c);
	return err;
}

void mender_client_free(struct mender_client *c)
{
	if (!c)
		return;
	fg_http_free(c->http);
	if (c->token) {
		explicit_bzero(c->token, strlen(c->token));
		free(c->token);
	}
	free(c->server);
	free(c);
}

void mender_client_set_deadline(struct mender_client *c, int64_t deadline_ms)
{
	c->deadline_ms = deadline_ms;
}

/* ---- inventory ---- */

void mender_device_list_init(struct mender_device_list *l)
{
	memset(l, 0, sizeof(*l));
}

static void device_release(struct mender_device *d)
{
	size_t i;

	for (i = 0; i < d->nattrs; i++)
		free(d->attrs[i].value);
	free(d->attrs);
	free(d->id);
}

void mender_device_list_release(struct mender_device_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		device_release(&l->items[i]);
	free(l->items);
	for (i = 0; i < l->nnames; i++)
		free(l->names[i]);
	free(l->names);
	mender_device_list_init(l);
}

/* The list's one copy of an attribute's scope or name: 100,000 devices
 * share a handful of them. */
static const char *intern(struct mender_device_list *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->nnames; i++)
		if (!strcmp(l->names[i], s))
			return l->names[i];
	l->names = fg_grow(l->names, &l->names_alloc, l->nnames + 1, sizeof(*l->names));
	l->names[l->nnames] = fg_strdup(s);
	return l->names[l->nnames++];
}

const char *mender_device_attr(const struct mender_device *d, const char *scope,
			       const char *name)
{
	static const char *const order[] = { "inventory", "identity", "system", "tags" };
	size_t i, k;

	if (scope) {
		for (i = 0; i < d->nattrs; i++)
			if (!strcmp(d->attrs[i].name, name) && !strcmp(d->attrs[i].scope, scope))
				return d->attrs[i].value;
		return NULL;
	}
	for (k = 0; k < sizeof(order) / sizeof(*order); k++)
		for (i = 0; i < d->nattrs; i++)
			if (!strcmp(d->attrs[i].name, name) && !strcmp(d->attrs[i].scope, order[k]))
				return d->attrs[i].value;
	for (i = 0; i < d->nattrs; i++)
		if (!strcmp(d->attrs[i].name, name))
			return d->attrs[i].value;
	return NULL;
}

static int device_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mender_device *)a)->id, ((const struct mender_device *)b)->id);
}

const struct mender_device *mender_device_find(const struct mender_device_list *l,
					       const char *id)
{
	struct mender_device key = { (char *)id, NULL, 0 };

	if (!l->n)
		return NULL;
	return bsearch(&key, l->items, l->n, sizeof(*l->items), device_cmp);
}

/* Append the devices of one search page; returns how many it held. */
static int parse_devices(const struct mender_client *c, const struct fg_http_request *r,
			 struct mender_device_list *out, size_t *got)
{
	const cJSON *d, *a;
	cJSON *j = NULL;
	int err = parse_response(c, r, cJSON_Array, &j);

	*got = 0;
	if (err)
		return err;
	cJSON_ArrayForEach(d, j) {
		const cJSON *attrs = field(d, "attributes");
		struct mender_device *dev;
		char *id = str_field(d, "id", NULL);

		(*got)++;
		if (!id || !*id) {
			free(id);
			err = fg_error_set(FG_EHTTP, "%s %s: a device without an id", fg_http_method_name(r->method),
					   req_path(c, r));
			goto done;
		}
		out->items = fg_grow(out->items, &out->alloc, out->n + 1, sizeof(*out->items));
		dev = &out->items[out->n++];
		memset(dev, 0, sizeof(*dev));
		dev->id = id;
		if (!cJSON_IsArray(attrs))
			continue;
		dev->attrs = fg_calloc((size_t)cJSON_GetArraySize(attrs) + 1, sizeof(*dev->attrs));
		cJSON_ArrayForEach(a, attrs) {
			struct mender_attr *at;
			char *name = str_field(a, "name", NULL);
			char *scope;

			if (!name)
				continue;
			scope = str_field(a, "scope", "inventory");
			at = &dev->attrs[dev->nattrs++];
			at->name = intern(out, name);
			at->scope = intern(out, scope);
			at->value = render(field(a, "value"));
			free(name);
			free(scope);
		}
	}
done:
	cJSON_Delete(j);
	return err;
}

struct dev_walk {
	char *query;            /* the body's members after page and per_page */
	unsigned per_page;
	unsigned next_page, end_page;   /* pages still to ask in this round */
	unsigned last_page;             /* highest page asked */
	size_t last_got;                /* items on it */
	char *last_link;
	long long total;
	struct mender_device_list *out;
};

static struct op *walk_generate(struct runner *rn)
{
	struct dev_walk *w = rn->ctx;
	struct fg_buf b;
	struct op *op;

	if (w->next_page > w->end_page || rn->err)
		return NULL;
	op = op_new(rn->c, FG_HTTP_POST, P_INVENTORY_SEARCH);
	op->page = w->next_page++;
	op->req.replay_safe = 1; /* a search changes nothing */
	fg_buf_init(&b);
	fg_buf_printf(&b, "{\"page\":%u,\"per_page\":%u%s}", op->page, w->per_page, w->query);
	op_body(op, &b);
	return op;
}

static void walk_finish(struct runner *rn, struct op *op)
{
	struct dev_walk *w = rn->ctx;
	size_t got = 0;
	int err;

	if (op->req.result || op->req.status != 200) {
		runner_fail(rn, fail_response(rn->c, &op->req));
		goto done;
	}
	err = parse_devices(rn->c, &op->req, w->out, &got);
	if (err) {
		runner_fail(rn, err);
		goto done;
	}
	if (op->req.total_count > w->total)
		w->total = op->req.total_count;
	if (op->page >= w->last_page) {
		w->last_page = op->page;
		w->last_got = got;
		free(w->last_link);
		w->last_link = op->req.link ? fg_strdup(op->req.link) : NULL;
	}
done:
	op_free(op);
}

/* Sort by id and drop duplicates (a device that moved between pages while
 * they were read). */
static void devices_dedupe(struct mender_device_list *l)
{
	size_t i, k = 0;

	if (!l->n)
		return;
	qsort(l->items, l->n, sizeof(*l->items), device_cmp);
	for (i = 1; i < l->n; i++) {
		if (!strcmp(l->items[i].id, l->items[k].id))
			device_release(&l->items[i]);
		else
			l->items[++k] = l->items[i];
	}
	l->n = k + 1;
}

static void put_filter(struct fg_buf *b, const struct mender_filter *f)
{
	size_t i;

	fg_buf_puts(b, "{\"scope\":");
	fg_buf_put_json_string(b, f->scope ? f->scope : "inventory");
	fg_buf_puts(b, ",\"attribute\":");
	fg_buf_put_json_string(b, f->attribute);
	fg_buf_puts(b, ",\"type\":");
	fg_buf_put_json_string(b, f->type ? f->type : "$eq");
	fg_buf_puts(b, ",\"value\":");
	if (f->values) {
		fg_buf_putc(b, '[');
		for (i = 0; i < f->nvalues; i++) {
			if (i)
				fg_buf_putc(b, ',');
			fg_buf_put_json_string(b, f->values[i]);
		}
		fg_buf_putc(b, ']');
	} else {
		fg_buf_put_json_string(b, f->value ? f->value : "");
	}
	fg_buf_putc(b, '}');
}

int mender_list_devices(struct mender_client *c, const struct mender_attr_ref *want,
			size_t nwant, const struct mender_filter *filters, size_t nfilters,
			struct mender_device_list *out)
{
	int64_t deadline = call_deadline(c);
	struct dev_walk w = { 0 };
	struct runner rn = { 0 };
	struct fg_buf q = FG_BUF_INIT;
	size_t i, k;
	int err = 0;

	mender_device_list_release(out);
	for (i = 0; i < nfilters; i++) {
		if ((err = check_out("filter attribute", filters[i].attribute)) ||
		    (filters[i].scope && (err = check_out("filter scope", filters[i].scope))) ||
		    (filters[i].type && (err = check_out("filter type", filters[i].type))))
			goto done;
		for (k = 0; k < filters[i].nvalues; k++)
			if (!mender_utf8_valid(filters[i].values[k], strlen(filters[i].values[k]))) {
				err = fg_error_set(FG_EINVAL, "filter value is not valid UTF-8");
				goto done;
			}
		if (filters[i].value && !mender_utf8_valid(filters[i].value, strlen(filters[i].value))) {
			err = fg_error_set(FG_EINVAL, "filter value is not valid UTF-8");
			goto done;
		}
	}
	for (i = 0; i < nwant; i++)
		if ((err = check_out("attribute name", want[i].name)) ||
		    (want[i].scope && (err = check_out("attribute scope", want[i].scope))))
			goto done;

	w.per_page = c->page_size;
	w.out = out;
	w.total = -1;
	fg_buf_init(&q);
	if (nfilters) {
		fg_buf_puts(&q, ",\"filters\":[");
		for (i = 0; i < nfilters; i++) {
			if (i)
				fg_buf_putc(&q, ',');
			put_filter(&q, &filters[i]);
		}
		fg_buf_putc(&q, ']');
	}
	if (nwant) {
		fg_buf_puts(&q, ",\"attributes\":[");
		for (i = 0; i < nwant; i++) {
			if (i)
				fg_buf_putc(&q, ',');
			fg_buf_puts(&q, "{\"scope\":");
			fg_buf_put_json_string(&q, want[i].scope ? want[i].scope : "inventory");
			fg_buf_puts(&q, ",\"attribute\":");
			fg_buf_put_json_string(&q, want[i].name);
			fg_buf_putc(&q, '}');
		}
		fg_buf_putc(&q, ']');
	}
	w.query = fg_buf_detach(&q);

	rn.c = c;
	rn.generate = walk_generate;
	rn.finish = walk_finish;
	rn.ctx = &w;
	/* page 1 tells the total; then every known page at once; then, if the
	 * inventory grew meanwhile, on until a short page */
	w.next_page = w.end_page = 1;
	for (;;) {
		err = runner_run(&rn, deadline);
		if (err)
			goto done;
		if (!fg_http_page_more(w.last_page, w.per_page, w.last_got, w.total, w.last_link))
			break;
		w.next_page = w.last_page + 1;
		w.end_page = w.next_page;
		if (w.total > 0 && (long long)w.last_page * w.per_page < w.total) {
			long long pages = (w.total + w.per_page - 1) / w.per_page;

			if (pages > w.end_page)
				w.end_page = pages > MAX_PAGES ? MAX_PAGES : (unsigned)pages;
		}
		if (w.next_page > MAX_PAGES) {
			err = fg_error_set(FG_ELIMIT, "POST %s: more than %u pages of devices",
					   P_INVENTORY_SEARCH, MAX_PAGES);
			goto done;
		}
	}
	devices_dedupe(out);
done:
	if (err)
		mender_device_list_release(out);
	free(w.last_link);
	free(w.query);
	return err;
}

/* ---- deployments ---- */

void mender_deployment_list_init(struct mender_deployment_list *l)
{
	memset(l, 0, sizeof(*l));
}

void mender_deployment_release(struct mender_deployment *d)
{
	size_t i;

	free(d->id);
	free(d->name);
	free(d->artifact_name);
	free(d->type);
	free(d->status);
	free(d->created);
	for (i = 0; i < d->ndevices; i++)
		free(d->devices[i]);
	free(d->devices);
	for (i = 0; i < d->nstats; i++)
		free(d->stats[i].status);
	free(d->stats);
}

void mender_deployment_list_release(struct mender_deployment_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		mender_deployment_release(&l->items[i]);
	free(l->items);
	mender_deployment_list_init(l);
}

long long mender_deployment_stat(const struct mender_deployment *d, const char *status)
{
	size_t i;

	for (i = 0; i < d->nstats; i++)
		if (!strcmp(d->stats[i].status, status))
			return d->stats[i].count;
	return 0;
}

static int parse_stats(const cJSON *j, struct mender_deployment *d)
{
	const cJSON *e, *src = field(j, "status");

	/* the flat form of .../statistics, or a Deployment's statistics.status */
	if (!cJSON_IsObject(src))
		src = j;
	cJSON_ArrayForEach(e, src) {
		if (!cJSON_IsNumber(e) || !e->string || !strcmp(e->string, "total_size"))
			continue;
		d->stats = fg_realloc(d->stats, (d->nstats + 1) * sizeof(*d->stats));
		d->stats[d->nstats].status = utf8_dup(e->string);
		d->stats[d->nstats].count = e->valuedouble >= 0 ? (long long)e->valuedouble : 0;
		d->nstats++;
	}
	return 0;
}

static int parse_deployments(const struct mender_client *c, const struct fg_http_request *r,
			     struct mender_deployment_list *out, size_t *got)
{
	const cJSON *d;
	cJSON *j = NULL;
	int err = parse_response(c, r, cJSON_Array, &j);

	*got = 0;
	if (err)
		return err;
	cJSON_ArrayForEach(d, j) {
		struct mender_deployment *dep;
		char *id = str_field(d, "id", NULL);

		(*got)++;
		if (!id || !*id) {
			free(id);
			err = fg_error_set(FG_EHTTP, "%s %s: a deployment without an id",
					   fg_http_method_name(r->method), req_path(c, r));
			break;
		}
		out->items = fg_grow(out->items, &out->alloc, out->n + 1, sizeof(*out->items));
		dep = &out->items[out->n++];
		memset(dep, 0, sizeof(*dep));
		dep->id = id;
		dep->name = str_field(d, "name", "");
		dep->artifact_name = str_field(d, "artifact_name", "");
		dep->type = str_field(d, "type", "");
		dep->status = str_field(d, "status", "");
		dep->created = str_field(d, "created", "");
		dep->device_count = int_field(d, "device_count");
		dep->max_devices = int_field(d, "max_devices");
		/* the list carries them already in Mender 4.x: no extra request */
		if (cJSON_IsObject(field(d, "statistics")))
			parse_stats(field(d, "statistics"), dep);
	}
	cJSON_Delete(j);
	return err;
}

/* Listing deployments for a set of queries, each walked over its pages. */
struct dep_query {
	char **queries;       /* path + query, without page */
	size_t nqueries, next;
	struct mender_deployment_list *out;
};

static struct op *page_op(struct mender_client *c, const char *base, unsigned page, size_t item)
{
	char *path = fg_asprintf("%s&page=%u", base, page);
	struct op *op = op_new(c, FG_HTTP_GET, path);

	free(path);
	op->page = page;
	op->item = item;
	return op;
}

static struct op *depq_generate(struct runner *rn)
{
	struct dep_query *q = rn->ctx;

	if (q->next >= q->nqueries || rn->err)
		return NULL;
	q->next++;
	return page_op(rn->c, q->queries[q->next - 1], 1, q->next - 1);
}

static void depq_finish(struct runner *rn, struct op *op)
{
	struct dep_query *q = rn->ctx;
	size_t got = 0;
	int err;

	if (op->req.result || op->req.status != 200) {
		runner_fail(rn, fail_response(rn->c, &op->req));
		goto done;
	}
	err = parse_deployments(rn->c, &op->req, q->out, &got);
	if (err) {
		runner_fail(rn, err);
		goto done;
	}
	if (fg_http_page_more(op->page, MAX_PAGE_SIZE, got, op->req.total_count, op->req.link)) {
		if (op->page >= MAX_PAGES) {
			runner_fail(rn, fg_error_set(FG_ELIMIT, "GET %s: more than %u pages",
						     req_path(rn->c, &op->req), MAX_PAGES));
			goto done;
		}
		runner_push(rn, page_op(rn->c, q->queries[op->item], op->page + 1, op->item));
	}
done:
	op_free(op);
}

/* Details of deployments [next, l->n): device lists and statistics. */
struct dep_details {
	struct mender_deployment_list *l;
	size_t next;
	unsigned flags;
};

static struct op *detail_op(struct runner *rn, const char *id, size_t item, int stats)
{
	char *path = id_path(P_DEPLOYMENTS_V1 "/", id, stats ? "/statistics" : "/device_list");
	struct op *op = op_new(rn->c, FG_HTTP_GET, path);

	free(path);
	op->item = item;
	op->step = stats;
	return op;
}

static struct op *details_generate(struct runner *rn)
{
	struct dep_details *dd = rn->ctx;

	while (dd->next < dd->l->n && !rn->err) {
		size_t i = dd->next++;
		const struct mender_deployment *d = &dd->l->items[i];
		int stats = (dd->flags & MENDER_WITH_STATS) && !d->nstats;
		int devices = dd->flags & MENDER_WITH_DEVICES;

		if (stats && devices)
			runner_push(rn, detail_op(rn, d->id, i, 0));
		if (stats || devices)
			return detail_op(rn, d->id, i, stats);
	}
	return NULL;
}

static void details_finish(struct runner *rn, struct op *op)
{
	struct dep_details *dd = rn->ctx;
	struct mender_deployment *d = &dd->l->items[op->item];
	const cJSON *e;
	cJSON *j = NULL;
	int err;

	if (op->req.result || op->req.status != 200) {
		runner_fail(rn, fail_response(rn->c, &op->req));
		goto done;
	}
	err = parse_response(rn->c, &op->req, op->step ? cJSON_Object : cJSON_Array, &j);
	if (err) {
		runner_fail(rn, err);
		goto done;
	}
	if (op->step) {
		parse_stats(j, d);
	} else {
		d->devices = fg_calloc((size_t)cJSON_GetArraySize(j) + 1, sizeof(*d->devices));
		cJSON_ArrayForEach(e, j)
			if (cJSON_IsString(e))
				d->devices[d->ndevices++] = utf8_dup(e->valuestring);
	}
done:
	cJSON_Delete(j);
	op_free(op);
}

static int deployment_cmp(const void *a, const void *b)
{
	const struct mender_deployment *x = a, *y = b;
	int r = strcmp(y->created, x->created);

	return r ? r : strcmp(x->id, y->id);
}

static int list_deployments(struct mender_client *c, int64_t deadline, char **queries,
			    size_t nqueries, unsigned flags, struct mender_deployment_list *out)
{
	struct dep_query q = { queries, nqueries, 0, out };
	struct dep_details dd = { out, out->n, flags };
	struct runner rn = { 0 };
	size_t from = out->n, i, k;
	int err;

	rn.c = c;
	rn.generate = depq_generate;
	rn.finish = depq_finish;
	rn.ctx = &q;
	err = runner_run(&rn, deadline);
	if (err)
		goto done;
	/* one deployment may match two queries (a name given twice) */
	if (out->n > from)
		qsort(out->items + from, out->n - from, sizeof(*out->items), deployment_cmp);
	for (i = from, k = from; i < out->n; i++) {
		if (k > from && !strcmp(out->items[k - 1].id, out->items[i].id))
			mender_deployment_release(&out->items[i]);
		else
			out->items[k++] = out->items[i];
	}
	out->n = k;
	if (!(flags & (MENDER_WITH_DEVICES | MENDER_WITH_STATS)))
		goto done;
	memset(&rn, 0, sizeof(rn));
	rn.c = c;
	rn.generate = details_generate;
	rn.finish = details_finish;
	rn.ctx = &dd;
	err = runner_run(&rn, deadline);
done:
	if (err) {
		for (i = from; i < out->n; i++)
			mender_deployment_release(&out->items[i]);
		out->n = from;
	}
	return err;
}

/* Split names into queries "<path>?per_page=500&name=a&name=b..." whose
 * name part stays under MAX_QUERY_BYTES and MAX_QUERY_NAMES. */
static size_t name_queries(const char *path, const char *const *names, size_t n, char ***out)
{
	struct fg_buf b = FG_BUF_INIT;
	char **q = NULL;
	size_t nq = 0, alloc = 0, i, in_query = 0;

	fg_buf_init(&b);
	for (i = 0; i < n; i++) {
		size_t before = b.len;

		if (!in_query)
			fg_buf_printf(&b, "%s?per_page=%u", path, MAX_PAGE_SIZE);
		fg_buf_puts(&b, "&name=");
		fg_url_escape(&b, names[i]);
		in_query++;
		if (in_query > 1 && (b.len > MAX_QUERY_BYTES || in_query > MAX_QUERY_NAMES)) {
			/* close the query before this name and start again with it */
			b.len = before;
			b.ptr[before] = '\0';
			q = fg_grow(q, &alloc, nq + 1, sizeof(*q));
			q[nq++] = fg_buf_detach(&b);
			fg_buf_init(&b);
			in_query = 0;
			i--;
		}
	}
	if (in_query) {
		q = fg_grow(q, &alloc, nq + 1, sizeof(*q));
		q[nq++] = fg_buf_detach(&b);
	} else {
		fg_buf_release(&b);
	}
	*out = q;
	return nq;
}


static int find_deployments(struct mender_client *c, int64_t deadline, const char *const *names,
			    size_t n, unsigned flags, struct mender_deployment_list *out)
{
	char **q = NULL;
	size_t nq, i;
	int err;

	for (i = 0; i < n; i++)
		if ((err = check_out("deployment name", names[i])))
			return err;
	if (!n)
		return 0;
	nq = name_queries(P_DEPLOYMENTS_V2, names, n, &q);
	err = list_deployments(c, deadline, q, nq, flags, out);
	fg_strings_free(q, nq);
	return err;
}

int mender_find_deployments(struct mender_client *c, const char *const *names, size_t n,
			    unsigned flags, struct mender_deployment_list *out)
{
	return find_deployments(c, call_deadline(c), names, n, flags, out);
}

int mender_list_active_deployments(struct mender_client *c, unsigned flags,
				   struct mender_deployment_list *out)
{
	char *q[2];
	int err;

	const char *type = flags & MENDER_SOFTWARE_ONLY ? "&type=software" : "";

	q[0] = fg_asprintf("%s?status=pending&per_page=%u%s", P_DEPLOYMENTS_V2, MAX_PAGE_SIZE, type);
	q[1] = fg_asprintf("%s?status=inprogress&per_page=%u%s", P_DEPLOYMENTS_V2, MAX_PAGE_SIZE, type);
	err = list_deployments(c, call_deadline(c), q, 2, flags, out);
	free(q[0]);
	free(q[1]);
	return err;
}

int mender_create_deployment(struct mender_client *c, const struct mender_new_deployment *d,
			     char **id_out, int *exists)
{
	int64_t deadline = call_deadline(c);
	struct mender_deployment_list found;
	struct fg_buf body = FG_BUF_INIT;
	struct op *op = NULL;
	const char *slash;
	size_t i;
	int err;

	*id_out = NULL;
	*exists = 0;
	mender_deployment_list_init(&found);
	if ((err = check_out("deployment name", d->name)) ||
	    (err = check_out("artifact name", d->artifact_name)))
		goto done;
	if (!d->ndevices) {
		err = fg_error_set(FG_EINVAL, "deployment '%s' has no devices", d->name);
		goto done;
	}
	fg_buf_init(&body);
	fg_buf_puts(&body, "{\"name\":");
	fg_buf_put_json_string(&body, d->name);
	fg_buf_puts(&body, ",\"artifact_name\":");
	fg_buf_put_json_string(&body, d->artifact_name);
	fg_buf_puts(&body, ",\"devices\":[");
	for (i = 0; i < d->ndevices; i++) {
		if ((err = check_out("device id", d->devices[i])))
			goto done;
		if (i)
			fg_buf_putc(&body, ',');
		fg_buf_put_json_string(&body, d->devices[i]);
	}
	fg_buf_puts(&body, "]}");

	op = op_new(c, FG_HTTP_POST, P_DEPLOYMENTS_V1);
	op_body(op, &body);
	if (op->req.body_len > MAX_BODY_SENT) {
		err = fg_error_set(FG_ELIMIT, "deployment '%s': %zu devices make a %zu-byte request, over Mender's %u-byte limit; split them",
				   d->name, d->ndevices, op->req.body_len, MAX_BODY_SENT);
		goto done;
	}
	/* a replay of a create that went through meets 409 and is resolved
	 * by name below, so the POST may be repeated */
	op->req.replay_safe = 1;
	err = run_one(c, deadline, op);
	if (err)
		goto done;
	if (!op->req.result && op->req.status == 201) {
		slash = op->req.location ? strrchr(op->req.location, '/') : NULL;
		if (!slash || !slash[1]) {
			err = fg_error_set(FG_EHTTP, "POST %s: HTTP 201 without a Location naming the deployment '%s'",
					   P_DEPLOYMENTS_V1, d->name);
			goto done;
		}
		*id_out = utf8_dup(slash + 1);
		goto done;
	}
	if (!op->req.result && op->req.status == 409) {
		err = find_deployments(c, deadline, &d->name, 1, 0, &found);
		if (err) {
			err = fg_error_wrap(err, "deployment '%s' exists (409), looking it up", d->name);
			goto done;
		}
		for (i = 0; i < found.n; i++)
			if (strcmp(found.items[i].status, "finished") &&
			    !strcmp(found.items[i].name, d->name) &&
			    !strcmp(found.items[i].artifact_name, d->artifact_name))
				break;
		if (i == found.n) {
			err = fg_error_set(FG_EHTTP, "POST %s: HTTP 409 for deployment '%s', but no active deployment has that name and artifact '%s'",
					   P_DEPLOYMENTS_V1, d->name, d->artifact_name);
			goto done;
		}
		*id_out = fg_strdup(found.items[i].id);
		*exists = 1;
		goto done;
	}
	err = fail_response(c, &op->req);
	if (!op->req.result && op->req.status == 422)
		err = fg_error_wrap(FG_ENOTFOUND, "deployment '%s': Mender has no artifact named '%s'",
				    d->name, d->artifact_name);
	else
		err = fg_error_wrap(err, "creating deployment '%s'", d->name);
done:
	mender_deployment_list_release(&found);
	fg_buf_release(&body);
	op_free(op);
	return err;
}

int mender_abort_deployment(struct mender_client *c, const char *id, int *was_finished)
{
	struct op *op = NULL;
	char *path = NULL;
	int err;

	*was_finished = 0;
	if ((err = check_out("deployment id", id)))
		goto done;
	path = id_path(P_DEPLOYMENTS_V1 "/", id, "/status");
	op = op_new(c, FG_HTTP_PUT, path);
	op->req.body = fg_strdup("{\"status\":\"aborted\"}");
	op->req.body_len = strlen(op->req.body);
	err = run_one(c, call_deadline(c), op);
	if (err)
		goto done;
	if (!op->req.result && op->req.status == 204)
		goto done;
	if (!op->req.result && op->req.status == 422) {
		*was_finished = 1;
		goto done;
	}
	err = fg_error_wrap(fail_response(c, &op->req), "aborting deployment %s", id);
done:
	free(path);
	op_free(op);
	return err;
}

/* ---- per device ---- */

/*
 * Aborting a device's deployments. DELETE .../devices/{id} aborts the
 * oldest active record and makes an aborted record for at most one more
 * deployment; records are made lazily, so "?status=active is empty" alone
 * can be true while active deployments still list the device. A device is
 * done when a DELETE changed nothing (its count of aborted records, from
 * X-Total-Count, stayed the same) and ?status=active is empty.
 */
enum { AB_BASE, AB_DELETE, AB_COUNT, AB_ACTIVE };

struct abort_ctx {
	const char *const *ids;
	size_t n, next;
	struct mender_result *results;
};

static struct op *abort_op(struct mender_client *c, const char *id, int step, size_t item,
			   unsigned round, long long count)
{
	const char *suffix = step == AB_BASE || step == AB_COUNT ? "?status=aborted&per_page=1"
			     : step == AB_ACTIVE ? "?status=active&per_page=20" : "";
	char *path = id_path(P_DEPLOYMENTS_V1 "/devices/", id, suffix);
	struct op *op = op_new(c, step == AB_DELETE ? FG_HTTP_DELETE : FG_HTTP_GET, path);

	free(path);
	op->step = step;
	op->item = item;
	op->round = round;
	op->count = count;
	return op;
}

static struct op *abort_generate(struct runner *rn)
{
	struct abort_ctx *a = rn->ctx;

	while (a->next < a->n) {
		size_t i = a->next++;
		int err = check_out("device id", a->ids[i]);

		if (!err)
			return abort_op(rn->c, a->ids[i], AB_BASE, i, 0, -1);
		result_set(&a->results[i], err);
	}
	return NULL;
}

static void abort_finish(struct runner *rn, struct op *op)
{
	struct abort_ctx *a = rn->ctx;
	const char *id = a->ids[op->item];
	struct op *next = NULL;
	cJSON *j = NULL;
	int err = 0;

	if (op->req.result || op->req.status != (op->step == AB_DELETE ? 204 : 200)) {
		err = fail_response(rn->c, &op->req);
		goto done;
	}
	switch (op->step) {
	case AB_BASE:
		next = abort_op(rn->c, id, AB_DELETE, op->item, 1, op->req.total_count);
		break;
	case AB_DELETE:
		next = abort_op(rn->c, id, AB_COUNT, op->item, op->round, op->count);
		break;
	case AB_COUNT:
		if (op->req.total_count >= 0 && op->req.total_count != op->count)
			next = abort_op(rn->c, id, AB_DELETE, op->item, op->round + 1,
					op->req.total_count);
		else
			next = abort_op(rn->c, id, AB_ACTIVE, op->item, op->round, op->count);
		break;
	case AB_ACTIVE:
		err = parse_response(rn->c, &op->req, cJSON_Array, &j);
		if (err || cJSON_GetArraySize(j) == 0)
			goto done;
		next = abort_op(rn->c, id, AB_DELETE, op->item, op->round + 1, op->count);
		break;
	}
	if (next && next->round > MAX_ABORT_ROUNDS) {
		op_free(next);
		next = NULL;
		err = fg_error_set(FG_ELIMIT, "device %s still has deployments to abort after %d rounds",
				   id, MAX_ABORT_ROUNDS);
		goto done;
	}
	if (next) {
		runner_push(rn, next);
		goto out;
	}
done:
	if (err)
		err = fg_error_wrap(err, "aborting deployments of device %s", id);
	result_set(&a->results[op->item], err);
out:
	cJSON_Delete(j);
	op_free(op);
}

int mender_abort_devices(struct mender_client *c, const char *const *ids, size_t n,
			 struct mender_result *results)
{
	struct abort_ctx a = { ids, n, 0, results };
	struct runner rn = { 0 };

	rn.generate = abort_generate;
	rn.finish = abort_finish;
	rn.ctx = &a;
	return run_many(c, &rn, results, sizeof(*results), n, "aborting deployments");
}

int mender_abort_device(struct mender_client *c, const char *id)
{
	struct mender_result r = { 0, NULL };
	int err = mender_abort_devices(c, &id, 1, &r);

	if (err && r.message)
		fg_error_set(r.code, "%s", r.message);
	mender_result_release(&r);
	return err;
}

void mender_device_deployment_list_init(struct mender_device_deployment_list *l)
{
	memset(l, 0, sizeof(*l));
}

void mender_device_deployment_list_release(struct mender_device_deployment_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		struct mender_device_deployment *d = &l->items[i];

		free(d->deployment_id);
		free(d->deployment_name);
		free(d->artifact_name);
		free(d->type);
		free(d->status);
		free(d->created);
		free(d->finished);
	}
	free(l->items);
	mender_device_deployment_list_init(l);
}

int mender_device_history(struct mender_client *c, const char *id, const char *status,
			  size_t max_items, struct mender_device_deployment_list *out)
{
	int64_t deadline = call_deadline(c);
	struct fg_buf base = FG_BUF_INIT;
	struct op *op = NULL;
	const cJSON *e;
	cJSON *j = NULL;
	unsigned page;
	size_t got;
	int err;

	mender_device_deployment_list_release(out);
	if (!max_items || max_items > MAX_HISTORY)
		max_items = MAX_HISTORY;
	if ((err = check_out("device id", id)))
		goto done;
	fg_buf_init(&base);
	fg_buf_puts(&base, P_DEPLOYMENTS_V1 "/devices/");
	fg_url_escape(&base, id);
	fg_buf_printf(&base, "?per_page=%u", DEVICE_PAGE_SIZE);
	if (status) {
		fg_buf_puts(&base, "&status=");
		fg_url_escape(&base, status);
	}
	for (page = 1;; page++) {
		op_free(op);
		op = page_op(c, base.ptr, page, 0);
		err = run_one(c, deadline, op);
		if (err)
			goto done;
		if (op->req.result || op->req.status != 200) {
			err = fg_error_wrap(fail_response(c, &op->req), "deployments of device %s", id);
			goto done;
		}
		cJSON_Delete(j);
		j = NULL;
		err = parse_response(c, &op->req, cJSON_Array, &j);
		if (err)
			goto done;
		got = 0;
		cJSON_ArrayForEach(e, j) {
			const cJSON *dep = field(e, "deployment"), *dev = field(e, "device");
			struct mender_device_deployment *dd;

			got++;
			if (out->n >= max_items)
				continue;
			out->items = fg_grow(out->items, &out->alloc, out->n + 1, sizeof(*out->items));
			dd = &out->items[out->n++];
			dd->deployment_id = str_field(dep, "id", "");
			dd->deployment_name = str_field(dep, "name", "");
			dd->artifact_name = str_field(dep, "artifact_name", "");
			dd->type = str_field(dep, "type", "");
			dd->status = str_field(dev, "status", "");
			dd->created = str_field(dev, "created", "");
			dd->finished = str_field(dev, "finished", "");
		}
		if (out->n >= max_items ||
		    !fg_http_page_more(page, DEVICE_PAGE_SIZE, got, op->req.total_count, op->req.link))
			break;
	}
done:
	if (err)
		mender_device_deployment_list_release(out);
	cJSON_Delete(j);
	op_free(op);
	fg_buf_release(&base);
	return err;
}

void mender_device_status_list_init(struct mender_device_status_list *l)
{
	memset(l, 0, sizeof(*l));
}

void mender_device_status_list_release(struct mender_device_status_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->items[i].device_id);
		free(l->items[i].status);
	}
	free(l->items);
	mender_device_status_list_init(l);
}

int mender_deployment_devices(struct mender_client *c, const char *id,
			      struct mender_device_status_list *out)
{
	int64_t deadline = call_deadline(c);
	struct op *op = NULL;
	const cJSON *e;
	cJSON *j = NULL;
	char *base = NULL;
	unsigned page;
	size_t got;
	int err;

	if ((err = check_out("deployment id", id)))
		return err;
	base = id_path(P_DEPLOYMENTS_V1 "/", id, "/devices/list?per_page=500");
	for (page = 1; page <= MAX_PAGES; page++) {
		op_free(op);
		op = page_op(c, base, page, 0);
		err = run_one(c, deadline, op);
		if (err)
			goto done;
		if (op->req.result || op->req.status != 200) {
			err = fg_error_wrap(fail_response(c, &op->req), "devices of deployment %s", id);
			goto done;
		}
		cJSON_Delete(j);
		j = NULL;
		err = parse_response(c, &op->req, cJSON_Array, &j);
		if (err)
			goto done;
		got = 0;
		cJSON_ArrayForEach(e, j) {
			struct mender_device_status *ds;

			got++;
			out->items = fg_grow(out->items, &out->alloc, out->n + 1, sizeof(*out->items));
			ds = &out->items[out->n++];
			ds->device_id = str_field(e, "id", "");
			ds->status = str_field(e, "status", "");
		}
		if (!fg_http_page_more(page, 500, got, op->req.total_count, op->req.link))
			break;
	}
done:
	cJSON_Delete(j);
	op_free(op);
	free(base);
	return err;
}

/* ---- artifacts ---- */

void mender_artifact_list_init(struct mender_artifact_list *l)
{
	memset(l, 0, sizeof(*l));
}

static void artifact_release(struct mender_artifact *a)
{
	size_t k;

	free(a->id);
	free(a->name);
	for (k = 0; k < a->ndevice_types; k++)
		free(a->device_types[k]);
	free(a->device_types);
}

void mender_artifact_list_release(struct mender_artifact_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		artifact_release(&l->items[i]);
	free(l->items);
	mender_artifact_list_init(l);
}

int mender_artifact_supports(const struct mender_artifact *a, const char *device_type)
{
	size_t i;

	for (i = 0; i < a->ndevice_types; i++)
		if (!strcmp(a->device_types[i], device_type))
			return 1;
	return 0;
}

struct art_query {
	char **queries;
	size_t nqueries, next;
	const char *const *names;
	size_t nnames;
	struct mender_artifact_list *out;
};

static struct op *artq_generate(struct runner *rn)
{
	struct art_query *q = rn->ctx;

	if (q->next >= q->nqueries || rn->err)
		return NULL;
	q->next++;
	return page_op(rn->c, q->queries[q->next - 1], 1, q->next - 1);
}

static void artq_finish(struct runner *rn, struct op *op)
{
	struct art_query *q = rn->ctx;
	const cJSON *a, *t;
	cJSON *j = NULL;
	size_t got = 0, i;
	int err;

	if (op->req.result || op->req.status != 200) {
		runner_fail(rn, fail_response(rn->c, &op->req));
		goto done;
	}
	err = parse_response(rn->c, &op->req, cJSON_Array, &j);
	if (err) {
		runner_fail(rn, err);
		goto done;
	}
	cJSON_ArrayForEach(a, j) {
		struct mender_artifact *art;
		const cJSON *types = field(a, "device_types_compatible");
		const cJSON *name = field(a, "name");

		got++;
		if (!cJSON_IsString(name))
			continue;
		for (i = 0; i < q->nnames; i++)
			if (!strcmp(q->names[i], name->valuestring))
				break;
		if (i == q->nnames)
			continue; /* not asked for */
		q->out->items = fg_grow(q->out->items, &q->out->alloc, q->out->n + 1,
					sizeof(*q->out->items));
		art = &q->out->items[q->out->n++];
		memset(art, 0, sizeof(*art));
		art->id = str_field(a, "id", "");
		art->name = utf8_dup(name->valuestring);
		if (!cJSON_IsArray(types))
			continue;
		art->device_types = fg_calloc((size_t)cJSON_GetArraySize(types) + 1,
					      sizeof(*art->device_types));
		cJSON_ArrayForEach(t, types)
			if (cJSON_IsString(t))
				art->device_types[art->ndevice_types++] = utf8_dup(t->valuestring);
	}
	if (fg_http_page_more(op->page, MAX_PAGE_SIZE, got, op->req.total_count, op->req.link)) {
		if (op->page >= MAX_PAGES) {
			runner_fail(rn, fg_error_set(FG_ELIMIT, "GET %s: more than %u pages",
						     req_path(rn->c, &op->req), MAX_PAGES));
			goto done;
		}
		runner_push(rn, page_op(rn->c, q->queries[op->item], op->page + 1, op->item));
	}
done:
	cJSON_Delete(j);
	op_free(op);
}

int mender_find_artifacts(struct mender_client *c, const char *const *names, size_t n,
			  struct mender_artifact_list *out)
{
	struct art_query q = { NULL, 0, 0, names, n, out };
	struct runner rn = { 0 };
	size_t i, from = out->n;
	int err = 0;

	for (i = 0; i < n; i++) {
		if ((err = check_out("artifact name", names[i])))
			return err;
		if (strchr(names[i], '*'))
			return fg_error_set(FG_EINVAL, "artifact name '%s' has a '*', which Mender reads as a prefix match",
					    names[i]);
	}
	if (!n)
		return 0;
	q.nqueries = name_queries(P_ARTIFACTS_V2, names, n, &q.queries);
	rn.c = c;
	rn.generate = artq_generate;
	rn.finish = artq_finish;
	rn.ctx = &q;
	err = runner_run(&rn, call_deadline(c));
	fg_strings_free(q.queries, q.nqueries);
	if (err) {
		/* release only what this call appended */
		for (i = from; i < out->n; i++)
			artifact_release(&out->items[i]);
		out->n = from;
	}
	return err;
}

/* ---- Mender Configure ---- */

void mender_config_init(struct mender_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
}

void mender_kv_free(struct mender_kv *kv, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

void mender_config_release(struct mender_config *cfg)
{
	mender_kv_free(cfg->configured, cfg->nconfigured);
	mender_kv_free(cfg->reported, cfg->nreported);
	free(cfg->deployment_id);
	mender_config_init(cfg);
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mender_kv *)a)->key, ((const struct mender_kv *)b)->key);
}

const char *mender_kv_get(const struct mender_kv *kv, size_t n, const char *key)
{
	struct mender_kv k = { (char *)key, NULL };
	const struct mender_kv *hit;

	if (!n)
		return NULL;
	hit = bsearch(&k, kv, n, sizeof(*kv), kv_cmp);
	return hit ? hit->value : NULL;
}

static size_t parse_map(const cJSON *obj, struct mender_kv **out)
{
	const cJSON *e;
	size_t n = 0;

	*out = NULL;
	if (!cJSON_IsObject(obj))
		return 0;
	*out = fg_calloc((size_t)cJSON_GetArraySize(obj) + 1, sizeof(**out));
	cJSON_ArrayForEach(e, obj) {
		if (!e->string)
			continue;
		(*out)[n].key = utf8_dup(e->string);
		(*out)[n].value = render(e);
		n++;
	}
	qsort(*out, n, sizeof(**out), kv_cmp);
	return n;
}

struct cfg_get_ctx {
	const char *const *ids;
	size_t n, next;
	struct mender_config *out;
	struct mender_result *results;
};

static struct op *cfgget_generate(struct runner *rn)
{
	struct cfg_get_ctx *g = rn->ctx;

	while (g->next < g->n) {
		size_t i = g->next++;
		int err = check_out("device id", g->ids[i]);

		if (!err) {
			char *path = id_path(P_CONFIG, g->ids[i], "");
			struct op *op = op_new(rn->c, FG_HTTP_GET, path);

			free(path);
			op->item = i;
			return op;
		}
		result_set(&g->results[i], err);
	}
	return NULL;
}

static void cfgget_finish(struct runner *rn, struct op *op)
{
	struct cfg_get_ctx *g = rn->ctx;
	struct mender_config *cfg = &g->out[op->item];
	cJSON *j = NULL;
	int err = 0;

	mender_config_release(cfg);
	if (!op->req.result && op->req.status == 404)
		goto done; /* no record: found stays 0 */
	if (op->req.result || op->req.status != 200) {
		err = fg_error_wrap(fail_response(rn->c, &op->req), "configuration of device %s",
				    g->ids[op->item]);
		goto done;
	}
	err = parse_response(rn->c, &op->req, cJSON_Object, &j);
	if (err)
		goto done;
	cfg->found = 1;
	cfg->nconfigured = parse_map(field(j, "configured"), &cfg->configured);
	cfg->nreported = parse_map(field(j, "reported"), &cfg->reported);
	cfg->deployment_id = str_field(j, "deployment_id", NULL);
done:
	result_set(&g->results[op->item], err);
	cJSON_Delete(j);
	op_free(op);
}

int mender_config_get_many(struct mender_client *c, const char *const *ids, size_t n,
			   struct mender_config *out, struct mender_result *results)
{
	struct cfg_get_ctx g = { ids, n, 0, out, results };
	struct runner rn = { 0 };

	rn.generate = cfgget_generate;
	rn.finish = cfgget_finish;
	rn.ctx = &g;
	return run_many(c, &rn, results, sizeof(*results), n, "reading configurations");
}

int mender_config_get(struct mender_client *c, const char *id, struct mender_config *out)
{
	struct mender_result r = { 0, NULL };
	int err = mender_config_get_many(c, &id, 1, out, &r);

	if (err && r.message)
		fg_error_set(r.code, "%s", r.message);
	mender_result_release(&r);
	return err;
}

void mender_config_job_release(struct mender_config_job *job)
{
	mender_result_release(&job->result);
	free(job->deployment_id);
	job->deployment_id = NULL;
}

struct cfg_apply_ctx {
	struct mender_config_job *jobs;
	size_t n, next;
};

static int config_body(const struct mender_config_job *job, struct fg_buf *out)
{
	size_t i, k;

	if (job->n > MAX_CONFIG_KEYS)
		return fg_error_set(FG_ELIMIT, "configuration of device %s: %zu keys, Mender takes at most %d",
				    job->device_id, job->n, MAX_CONFIG_KEYS);
	for (i = 0; i < job->n; i++) {
		const char *key = job->keys[i], *value = job->values[i];

		if (!key || !*key || strlen(key) > MAX_CONFIG_LEN || !mender_utf8_valid(key, strlen(key)))
			return fg_error_set(FG_EINVAL, "configuration of device %s: key %zu is empty, over %d bytes or not UTF-8",
					    job->device_id, i + 1, MAX_CONFIG_LEN);
		if (!value || strlen(value) > MAX_CONFIG_LEN || !mender_utf8_valid(value, strlen(value)))
			return fg_error_set(FG_EINVAL, "configuration of device %s: the value of '%s' is missing, over %d bytes or not UTF-8",
					    job->device_id, key, MAX_CONFIG_LEN);
		for (k = 0; k < i; k++)
			if (!strcmp(job->keys[k], key))
				return fg_error_set(FG_EINVAL, "configuration of device %s: key '%s' given twice",
						    job->device_id, key);
	}
	fg_buf_putc(out, '{');
	for (i = 0; i < job->n; i++) {
		if (i)
			fg_buf_putc(out, ',');
		fg_buf_put_json_string(out, job->keys[i]);
		fg_buf_putc(out, ':');
		fg_buf_put_json_string(out, job->values[i]);
	}
	fg_buf_putc(out, '}');
	return 0;
}

static struct op *cfgapply_generate(struct runner *rn)
{
	struct cfg_apply_ctx *a = rn->ctx;

	while (a->next < a->n) {
		size_t i = a->next++;
		struct mender_config_job *job = &a->jobs[i];
		struct fg_buf body = FG_BUF_INIT;
		struct op *op;
		char *path;
		int err = check_out("device id", job->device_id);

		fg_buf_init(&body);
		if (!err)
			err = config_body(job, &body);
		if (err) {
			fg_buf_release(&body);
			result_set(&job->result, err);
			continue;
		}
		path = id_path(P_CONFIG, job->device_id, "");
		op = op_new(rn->c, FG_HTTP_PUT, path);
		free(path);
		op_body(op, &body);
		op->item = i;
		return op;
	}
	return NULL;
}

static void cfgapply_finish(struct runner *rn, struct op *op)
{
	struct cfg_apply_ctx *a = rn->ctx;
	struct mender_config_job *job = &a->jobs[op->item];
	cJSON *j = NULL;
	int err = 0;

	if (op->step == 0) {
		if (op->req.result || op->req.status != 204) {
			err = fg_error_wrap(fail_response(rn->c, &op->req), "setting the configuration of device %s",
					    job->device_id);
			goto done;
		}
		if (job->deploy) {
			char *path = id_path(P_CONFIG, job->device_id, "/deploy");
			struct op *next = op_new(rn->c, FG_HTTP_POST, path);

			free(path);
			next->req.body = fg_strdup("{\"retries\":0}");
			next->req.body_len = strlen(next->req.body);
			next->item = op->item;
			next->step = 1;
			runner_push(rn, next);
			op_free(op);
			return;
		}
		goto done;
	}
	if (op->req.result || op->req.status != 200) {
		err = fg_error_wrap(fail_response(rn->c, &op->req), "deploying the configuration of device %s",
				    job->device_id);
		goto done;
	}
	err = parse_response(rn->c, &op->req, cJSON_Object, &j);
	if (err)
		goto done;
	free(job->deployment_id);
	job->deployment_id = str_field(j, "deployment_id", NULL);
	if (!job->deployment_id || !*job->deployment_id)
		err = fg_error_set(FG_EHTTP, "POST %s: HTTP 200 without a deployment_id",
				   req_path(rn->c, &op->req));
done:
	result_set(&job->result, err);
	cJSON_Delete(j);
	op_free(op);
}

int mender_config_apply_many(struct mender_client *c, struct mender_config_job *jobs, size_t n)
{
	struct cfg_apply_ctx a = { jobs, n, 0 };
	struct runner rn = { 0 };
	size_t i;

	if (!n)
		return 0;
	for (i = 0; i < n; i++)
		jobs[i].deployment_id = NULL;
	rn.generate = cfgapply_generate;
	rn.finish = cfgapply_finish;
	rn.ctx = &a;
	return run_many(c, &rn, &jobs[0].result, sizeof(*jobs), n, "applying configurations");
}

int mender_config_set(struct mender_client *c, const char *id, const char *const *keys,
		      const char *const *values, size_t n)
{
	struct mender_config_job job = { id, keys, values, n, 0, { 0, NULL }, NULL };
	int err = mender_config_apply_many(c, &job, 1);

	if (err && job.result.message)
		fg_error_set(job.result.code, "%s", job.result.message);
	mender_config_job_release(&job);
	return err;
}

int mender_config_deploy(struct mender_client *c, const char *id, char **deployment_id)
{
	struct op *op = NULL;
	char *path = NULL;
	cJSON *j = NULL;
	int err;

	*deployment_id = NULL;
	if ((err = check_out("device id", id)))
		goto done;
	path = id_path(P_CONFIG, id, "/deploy");
	op = op_new(c, FG_HTTP_POST, path);
	op->req.body = fg_strdup("{\"retries\":0}");
	op->req.body_len = strlen(op->req.body);
	err = run_one(c, call_deadline(c), op);
	if (err)
		goto done;
	if (op->req.result || op->req.status != 200) {
		err = fg_error_wrap(fail_response(c, &op->req), "deploying the configuration of device %s", id);
		goto done;
	}
	err = parse_response(c, &op->req, cJSON_Object, &j);
	if (err)
		goto done;
	*deployment_id = str_field(j, "deployment_id", NULL);
	if (!*deployment_id || !**deployment_id) {
		free(*deployment_id);
		*deployment_id = NULL;
		err = fg_error_set(FG_EHTTP, "POST %s: HTTP 200 without a deployment_id", path);
	}
done:
	cJSON_Delete(j);
	free(path);
	op_free(op);
	return err;
}

/* ---- tags ---- */

struct tags_ctx {
	struct mender_tags_job *jobs;
	size_t n, next;
};

static struct op *tags_generate(struct runner *rn)
{
	struct tags_ctx *t = rn->ctx;

	while (t->next < t->n) {
		size_t i = t->next++, k;
		struct mender_tags_job *job = &t->jobs[i];
		struct fg_buf body = FG_BUF_INIT;
		struct op *op;
		char *path;
		int err = check_out("device id", job->device_id);

		for (k = 0; !err && k < job->n; k++) {
			err = check_out("tag name", job->names[k]);
			if (!err && (!job->values[k] || !mender_utf8_valid(job->values[k], strlen(job->values[k]))))
				err = fg_error_set(FG_EINVAL, "the value of tag '%s' is missing or not UTF-8",
						   job->names[k]);
		}
		if (err) {
			result_set(&job->result, fg_error_wrap(err, "tags of device %s",
							       job->device_id ? job->device_id : "(none)"));
			continue;
		}
		fg_buf_init(&body);
		fg_buf_putc(&body, '[');
		for (k = 0; k < job->n; k++) {
			fg_buf_puts(&body, k ? ",{\"name\":" : "{\"name\":");
			fg_buf_put_json_string(&body, job->names[k]);
			fg_buf_puts(&body, ",\"value\":");
			fg_buf_put_json_string(&body, job->values[k]);
			fg_buf_putc(&body, '}');
		}
		fg_buf_putc(&body, ']');
		path = id_path(P_TAGS, job->device_id, "/tags");
		op = op_new(rn->c, FG_HTTP_PATCH, path);
		free(path);
		op_body(op, &body);
		op->req.replay_safe = 1; /* an upsert of the same values */
		op->item = i;
		return op;
	}
	return NULL;
}

static void tags_finish(struct runner *rn, struct op *op)
{
	struct tags_ctx *t = rn->ctx;
	struct mender_tags_job *job = &t->jobs[op->item];
	int err = 0;

	if (op->req.result || op->req.status != 200)
		err = fg_error_wrap(fail_response(rn->c, &op->req), "setting tags of device %s",
				    job->device_id);
	result_set(&job->result, err);
	op_free(op);
}

int mender_set_tags_many(struct mender_client *c, struct mender_tags_job *jobs, size_t n)
{
	struct tags_ctx t = { jobs, n, 0 };
	struct runner rn = { 0 };

	if (!n)
		return 0;
	rn.generate = tags_generate;
	rn.finish = tags_finish;
	rn.ctx = &t;
	return run_many(c, &rn, &jobs[0].result, sizeof(*jobs), n, "setting tags");
}

int mender_set_tags(struct mender_client *c, const char *id, const char *const *names,
		    const char *const *values, size_t n)
{
	struct mender_tags_job job = { id, names, values, n, { 0, NULL } };
	int err = mender_set_tags_many(c, &job, 1);

	if (err && job.result.message)
		fg_error_set(job.result.code, "%s", job.result.message);
	mender_result_release(&job.result);
	return err;
}
