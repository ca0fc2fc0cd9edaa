#include "api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sim_response_release(struct sim_response *res)
{
	size_t i;

	for (i = 0; i < res->nheaders; i++) {
		free(res->headers[i].name);
		free(res->headers[i].value);
	}
	free(res->headers);
	sim_buf_release(&res->body);
	memset(res, 0, sizeof(*res));
}

void sim_res_header(struct sim_response *res, const char *name, const char *value)
{
	sim_grow((void **)&res->headers, &res->aheaders, res->nheaders + 1, sizeof(*res->headers));
	res->headers[res->nheaders].name = sim_xstrdup(name);
	res->headers[res->nheaders].value = sim_xstrdup(value);
	res->nheaders++;
}

void sim_res_error(struct sim_response *res, const struct sim_request *req, unsigned int status,
		   const char *fmt, ...)
{
	struct sim_buf msg = SIM_BUF_INIT;
	cJSON *o = cJSON_CreateObject();
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	sim_grow((void **)&msg.ptr, &msg.alloc, (size_t)n + 1, 1);
	va_start(ap, fmt);
	vsnprintf(msg.ptr, (size_t)n + 1, fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(o, "error", msg.ptr);
	cJSON_AddStringToObject(o, "request_id", req->request_id);
	sim_buf_release(&msg);
	sim_res_json(res, status, o);
}

void sim_res_json(struct sim_response *res, unsigned int status, cJSON *v)
{
	char *text = sim_json_print(v);

	cJSON_Delete(v);
	res->status = status;
	res->content_type = "application/json; charset=utf-8";
	res->body.len = 0;
	sim_buf_puts(&res->body, text);
	free(text);
}

void sim_res_empty(struct sim_response *res, unsigned int status)
{
	res->status = status;
	res->content_type = NULL;
	res->body.len = 0;
}

void sim_res_text(struct sim_response *res, unsigned int status, const char *content_type,
		  const char *text)
{
	res->status = status;
	res->content_type = content_type;
	res->body.len = 0;
	sim_buf_puts(&res->body, text);
}

const char *sim_req_arg(const struct sim_request *req, const char *key)
{
	size_t i;

	for (i = 0; i < req->nargs; i++)
		if (!strcmp(req->args[i].key, key))
			return req->args[i].value;
	return NULL;
}

cJSON *sim_req_json(const struct sim_request *req, struct sim_response *res, const char *what)
{
	const char *err;
	cJSON *v = sim_json_parse(req->body ? req->body : "", req->body_len, &err);

	if (!v)
		sim_res_error(res, req, 400, "%s: %s", what, err);
	return v;
}

bool sim_req_paging(const struct sim_request *req, struct sim_response *res, int64_t max_per_page,
		    struct sim_paging *pg)
{
	const char *page = sim_req_arg(req, "page");
	const char *per_page = sim_req_arg(req, "per_page");

	pg->page = 1;
	pg->per_page = 20;
	if (page && *page) {
		if (!sim_parse_i64(page, &pg->page)) {
			sim_res_error(res, req, 400, "invalid page query: \"%s\"", page);
			return false;
		}
		if (pg->page < 1) {
			sim_res_error(res, req, 400,
				      "invalid page query: value must be a non-zero positive integer");
			return false;
		}
	}
	if (per_page && *per_page) {
		if (!sim_parse_i64(per_page, &pg->per_page)) {
			sim_res_error(res, req, 400, "invalid per_page query: \"%s\"", per_page);
			return false;
		}
		if (pg->per_page < 1) {
			sim_res_error(res, req, 400,
				      "invalid per_page query: value must be a non-zero positive integer");
			return false;
		}
		if (pg->per_page > max_per_page) {
			sim_res_error(res, req, 400, "parameter \"per_page\" above limit (max: %lld)",
				      (long long)max_per_page);
			return false;
		}
	}
	return true;
}

static int cmp_args(const void *a, const void *b)
{
	const struct sim_arg *x = *(const struct sim_arg *const *)a;
	const struct sim_arg *y = *(const struct sim_arg *const *)b;
	int c = strcmp(x->key, y->key);

	/* Equal keys keep their order (Go's url.Values keeps value order). */
	if (c)
		return c;
	return x < y ? -1 : x > y;
}

static void add_link(struct sim_response *res, const struct sim_request *req,
		     const struct sim_paging *pg, int64_t page, const char *rel)
{
	const struct sim_arg **sorted = sim_xcalloc(req->nargs + 2, sizeof(*sorted));
	struct sim_arg page_arg = { (char *)"page", NULL }, per_arg = { (char *)"per_page", NULL };
	struct sim_buf b = SIM_BUF_INIT;
	char pagebuf[24], perbuf[24];
	size_t i, n = 0;

	snprintf(pagebuf, sizeof(pagebuf), "%lld", (long long)page);
	snprintf(perbuf, sizeof(perbuf), "%lld", (long long)pg->per_page);
	page_arg.value = pagebuf;
	per_arg.value = perbuf;
	for (i = 0; i < req->nargs; i++)
		if (strcmp(req->args[i].key, "page") && strcmp(req->args[i].key, "per_page"))
			sorted[n++] = &req->args[i];
	sorted[n++] = &page_arg;
	sorted[n++] = &per_arg;
	qsort(sorted, n, sizeof(*sorted), cmp_args);
	sim_buf_puts(&b, "<");
	sim_buf_put_pathenc(&b, req->path);
	sim_buf_puts(&b, "?");
	for (i = 0; i < n; i++) {
		if (i)
			sim_buf_puts(&b, "&");
		sim_buf_put_urlenc(&b, sorted[i]->key);
		sim_buf_puts(&b, "=");
		sim_buf_put_urlenc(&b, sorted[i]->value);
	}
	sim_buf_printf(&b, ">; rel=\"%s\"", rel);
	sim_res_header(res, "Link", b.ptr);
	sim_buf_release(&b);
	free(sorted);
}

void sim_res_links(struct sim_response *res, const struct sim_request *req,
		   const struct sim_paging *pg, int64_t total, bool has_next)
{
	add_link(res, req, pg, 1, "first");
	if (pg->page > 1)
		add_link(res, req, pg, pg->page - 1, "prev");
	if (total > 0) {
		int64_t last = (total - 1) / pg->per_page + 1;

		if (pg->page < last)
			add_link(res, req, pg, pg->page + 1, "next");
		add_link(res, req, pg, last, "last");
	} else if (total < 0 && has_next) {
		add_link(res, req, pg, pg->page + 1, "next");
	}
}

void sim_res_total(struct sim_response *res, int64_t total)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%lld", (long long)total);
	sim_res_header(res, "X-Total-Count", buf);
}

void sim_paging_slice(const struct sim_paging *pg, size_t n, size_t *start, size_t *end)
{
	uint64_t skip;

	if ((uint64_t)(pg->page - 1) > (uint64_t)n / (uint64_t)pg->per_page) {
		*start = *end = n;
		return;
	}
	skip = (uint64_t)(pg->page - 1) * (uint64_t)pg->per_page;
	*start = skip < n ? (size_t)skip : n;
	*end = (uint64_t)(n - *start) > (uint64_t)pg->per_page ? *start + (size_t)pg->per_page : n;
}
