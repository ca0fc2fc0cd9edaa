#include "mender/request.h"

#include "core/alloc.h"
#include "core/error.h"
#include "mender/json.h"
#include "mender/parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ERROR_TEXT 300
#define MAX_QUERY_NAMES 50
#define MAX_QUERY_BYTES 4000

int64_t call_deadline(const struct mender_client *c)
{
	return c->deadline_ms ? c->deadline_ms : fg_http_now_ms() + MENDER_DEFAULT_CALL_MS;
}

struct op *op_new(const struct mender_client *c, enum fg_http_method m, const char *path)
{
	struct op *op = fg_calloc(1, sizeof(*op));

	fg_http_request_init(&op->req);
	op->req.method = m;
	op->req.url = fg_asprintf("%s%s", c->server, path);
	op->req.bearer = c->token;
	return op;
}

void op_free(struct op *op)
{
	if (!op)
		return;
	fg_http_request_release(&op->req);
	free(op);
}

void op_body(struct op *op, struct fg_buf *b)
{
	free(op->req.body);
	op->req.body_len = b->len;
	op->req.body = fg_buf_detach(b);
}

const char *req_path(const struct mender_client *c, const struct fg_http_request *r)
{
	size_t n = strlen(c->server);

	return strncmp(r->url, c->server, n) ? r->url : r->url + n;
}

void op_body_str(struct op *op, const char *json)
{
	free(op->req.body);
	op->req.body = fg_strdup(json);
	op->req.body_len = strlen(json);
}

int req_ok(const struct fg_http_request *r, long status)
{
	return !r->result && r->status == status;
}

static int status_code(long status)
{
	if (status == 401 || status == 403)
		return FG_EAUTH;
	if (status == 404)
		return FG_ENOTFOUND;
	return FG_EHTTP;
}

int fail_response(const struct mender_client *c, const struct fg_http_request *r)
{
	struct fg_buf text = FG_BUF_INIT;
	char *err = NULL, *rid = NULL;
	int code, json = 0;

	if (r->result)
		return fg_error_set(r->result, "%s", r->error ? r->error : "request failed");
	fg_buf_init(&text);
	if (r->response.len)
		json = !mender_parse_error(r->response.ptr, r->response.len, &err, &rid);
	if (!rid && r->request_id)
		rid = fg_strdup(r->request_id);
	if (err) {
		fg_buf_put_printable(&text, err);
	} else if (r->response.len && !json) {
		char *raw = fg_strndup(r->response.ptr, r->response.len);
		char *clean = json_utf8_dup(raw);

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
	return code;
}

int bad_reply(const struct mender_client *c, const struct fg_http_request *r)
{
	char *why = fg_strdup(fg_error_message());
	int err = fg_error_set(FG_EHTTP, "%s %s: HTTP %ld: %s", fg_http_method_name(r->method),
			       req_path(c, r), r->status, why);

	free(why);
	return err;
}

void runner_push(struct runner *rn, struct op *op)
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

void runner_fail(struct runner *rn, int code)
{
	if (rn->err)
		return;
	rn->err = code;
	rn->err_msg = fg_strdup(fg_error_message());
}

int runner_run(struct runner *rn, int64_t deadline)
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

int run_one(struct mender_client *c, int64_t deadline, struct op *op)
{
	struct single s = { op };
	struct runner rn = { 0 };

	rn.c = c;
	rn.generate = single_generate;
	rn.finish = single_finish;
	rn.ctx = &s;
	return runner_run(&rn, deadline);
}


int check_out(const char *what, const char *s)
{
	if (!s || !*s)
		return fg_error_set(FG_EINVAL, "%s is empty", what);
	if (!json_utf8_valid(s, strlen(s)))
		return fg_error_set(FG_EINVAL, "%s is not valid UTF-8", what);
	return 0;
}

char *id_path(const char *prefix, const char *id, const char *suffix)
{
	struct fg_buf b;

	fg_buf_init(&b);
	fg_buf_puts(&b, prefix);
	fg_url_escape(&b, id);
	fg_buf_puts(&b, suffix);
	return fg_buf_detach(&b);
}

void mender_result_release(struct mender_result *r)
{
	free(r->message);
	r->message = NULL;
	r->code = 0;
}

void result_set(struct mender_result *r, int code)
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
int run_many(struct mender_client *c, struct runner *rn, void *results, size_t stride,
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

size_t name_queries(const char *path, const char *const *names, size_t n, char ***out)
{
	struct fg_buf b = FG_BUF_INIT;
	char **q = NULL;
	size_t nq = 0, alloc = 0, i, in_query = 0;

	fg_buf_init(&b);
	for (i = 0; i < n; i++) {
		size_t before = b.len;

		if (!in_query)
			fg_buf_printf(&b, "%s?per_page=%u", path, MENDER_MAX_PAGE_SIZE);
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

struct op *page_get(struct mender_client *c, const char *base, unsigned page)
{
	char *path = fg_asprintf("%s&page=%u", base, page);
	struct op *op = op_new(c, FG_HTTP_GET, path);

	free(path);
	return op;
}

/* A walk's state: per list, the highest page asked so far. */
struct walker {
	const struct walk *w;
	unsigned *asked;
	size_t next;
};

static struct op *walk_op(struct runner *rn, size_t item, unsigned page)
{
	struct walker *wk = rn->ctx;
	struct op *op = wk->w->page_op(rn->c, wk->w->ctx, item, page);

	op->item = item;
	op->page = page;
	if (page > wk->asked[item])
		wk->asked[item] = page;
	return op;
}

static struct op *walk_generate(struct runner *rn)
{
	struct walker *wk = rn->ctx;

	if (wk->next >= wk->w->nitems || rn->err)
		return NULL;
	return walk_op(rn, wk->next++, 1);
}

/* After the last page asked of a list: the pages that follow, all those
 * the total tells at once when fanning out. */
static void walk_more(struct runner *rn, const struct op *op, size_t got)
{
	struct walker *wk = rn->ctx;
	const struct walk *w = wk->w;
	unsigned end = op->page + 1, p;
	long long total = op->req.total_count;

	if (op->page != wk->asked[op->item] ||
	    !fg_http_page_more(op->page, w->per_page, got, total, op->req.link))
		return;
	if (op->page >= MENDER_MAX_PAGES) {
		runner_fail(rn, fg_error_set(FG_ELIMIT, "%s %s: more than %u pages",
					     fg_http_method_name(op->req.method),
					     req_path(rn->c, &op->req), MENDER_MAX_PAGES));
		return;
	}
	if (w->fan_out && total > 0 && (long long)op->page * w->per_page < total) {
		long long pages = (total + w->per_page - 1) / w->per_page;

		if (pages > end)
			end = pages > MENDER_MAX_PAGES ? MENDER_MAX_PAGES : (unsigned)pages;
	}
	for (p = op->page + 1; p <= end; p++)
		runner_push(rn, walk_op(rn, op->item, p));
}

static void walk_finish(struct runner *rn, struct op *op)
{
	struct walker *wk = rn->ctx;
	size_t got = 0;

	if (rn->err)
		goto done;
	if (!req_ok(&op->req, 200)) {
		runner_fail(rn, fail_response(rn->c, &op->req));
		goto done;
	}
	if (wk->w->parse(wk->w->ctx, op->item, op->req.response.ptr, op->req.response.len, &got)) {
		runner_fail(rn, bad_reply(rn->c, &op->req));
		goto done;
	}
	walk_more(rn, op, got);
done:
	op_free(op);
}

int walk_pages(struct mender_client *c, int64_t deadline, const struct walk *w)
{
	struct walker wk = { w, NULL, 0 };
	struct runner rn = { 0 };
	int err;

	if (!w->nitems)
		return 0;
	wk.asked = fg_calloc(w->nitems, sizeof(*wk.asked));
	rn.c = c;
	rn.generate = walk_generate;
	rn.finish = walk_finish;
	rn.ctx = &wk;
	err = runner_run(&rn, deadline);
	free(wk.asked);
	return err;
}
