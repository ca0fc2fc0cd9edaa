#ifndef FLEETGATE_MENDER_REQUEST_H
#define FLEETGATE_MENDER_REQUEST_H

#include "core/buf.h"
#include "mender/http.h"
#include "mender/mender.h"

#include <stddef.h>
#include <stdint.h>

/*
 * The request runner of the Mender client, shared by its resource files
 * (auth.c, inventory.c, deployments.c, artifacts.c, deviceconfig.c,
 * tags.c): one request (op) at a time, a batch of many (run_many), and
 * the one page walker (walk_pages). Internal to lib/mender/.
 */

#define MENDER_DEFAULT_CALL_MS 60000
#define MENDER_MAX_PAGE_SIZE 500
#define MENDER_MAX_PAGES 20000      /* 10 M devices at 500 a page */

#define P_INVENTORY_SEARCH "/api/management/v2/inventory/filters/search"
#define P_DEPLOYMENTS_V1 "/api/management/v1/deployments/deployments"
#define P_DEPLOYMENTS_V2 "/api/management/v2/deployments/deployments"
#define P_ARTIFACTS_V1 "/api/management/v1/deployments/artifacts"
#define P_CONFIG "/api/management/v1/deviceconfig/configurations/device/"
#define P_TAGS "/api/management/v1/inventory/devices/"
#define P_LOGIN "/api/management/v1/useradm/auth/login"

struct mender_client {
	struct fg_http *http;
	char *server;
	char *token;
	int64_t deadline_ms;
	unsigned page_size;
	int deployments_v1;         /* no v2 deployments list (Mender 3.7) */
	int configure_absent;       /* deviceconfig answered as an absent add-on */
};

/* The deadline of a call: the client's, else 60 s from now. */
int64_t call_deadline(const struct mender_client *c);

/* One request and where it belongs; `req` first, so a request is its op. */
struct op {
	struct fg_http_request req;
	size_t item;
	int step;
	unsigned page;
	unsigned round;
	long long count;
};

/* A request of `m` to the server's `path`, with the client's token. */
struct op *op_new(const struct mender_client *c, enum fg_http_method m, const char *path);
void op_free(struct op *op);
/* Hand the JSON text in `b` to the op as its body. */
void op_body(struct op *op, struct fg_buf *b);
/* Give the op the C string `json` as its body (copied). */
void op_body_str(struct op *op, const char *json);

/* The path of a request (its URL without the server). */
const char *req_path(const struct mender_client *c, const struct fg_http_request *r);

/* Whether `r` came back, with `status`. */
int req_ok(const struct fg_http_request *r, long status);

/* Record the failure of `r` (transport error or unexpected status) as the
 * thread's error, with Mender's error text and request id; its code. */
int fail_response(const struct mender_client *c, const struct fg_http_request *r);

/* The thread's error (a parser's, over the body of `r`) as
 * "METHOD PATH: HTTP status: message", FG_EHTTP. */
int bad_reply(const struct mender_client *c, const struct fg_http_request *r);

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

void runner_push(struct runner *rn, struct op *op);
/* Record the first failure (the thread's current error) of a runner. */
void runner_fail(struct runner *rn, int code);
int runner_run(struct runner *rn, int64_t deadline);

/* Run `op` alone; the caller keeps it and reads its outcome. */
int run_one(struct mender_client *c, int64_t deadline, struct op *op);

/*
 * Run the batch `rn` (generate/finish/ctx set) over `n` items whose
 * results lie `stride` bytes apart from `results`; every item is reported
 * in its result, and the sum as "K of N failed; first: ...". An item
 * counts as done only when its own last request said so.
 */
int run_many(struct mender_client *c, struct runner *rn, void *results, size_t stride, size_t n,
	     const char *what);
/* An item's outcome: 0, or `code` with the thread's error message. */
void result_set(struct mender_result *r, int code);

/*
 * The one page walker. `nitems` lists, each walked from page 1 (the lists
 * concurrently, their pages one after the other) through `page_op` (the
 * request of page `page` of list `item`); each answer of status 200 goes
 * to `parse`, which takes what it holds and says how many items it had
 * (<0: an error, which stops the walk). The walk goes on while
 * fg_http_page_more() says so for the last page asked. With `fan_out`, a
 * page that tells the total (X-Total-Count) makes every page up to it be
 * asked at once. More than MENDER_MAX_PAGES pages is FG_ELIMIT.
 */
struct walk {
	size_t nitems;
	unsigned per_page;
	int fan_out;
	struct op *(*page_op)(struct mender_client *c, void *ctx, size_t item, unsigned page);
	int (*parse)(void *ctx, size_t item, const char *body, size_t len, size_t *got);
	void *ctx;
};

int walk_pages(struct mender_client *c, int64_t deadline, const struct walk *w);

/* A GET of "<base>&page=<page>" (base has a query already). */
struct op *page_get(struct mender_client *c, const char *base, unsigned page);

/* Check a string going to Mender: non-empty, valid UTF-8. */
int check_out(const char *what, const char *s);

/* A path with an escaped id: prefix + id + suffix, malloc'd. */
char *id_path(const char *prefix, const char *id, const char *suffix);

/* Split names into queries "<path>?per_page=500&name=a&name=b..." whose
 * name part stays under 4000 bytes and 50 names; returns how many. */
size_t name_queries(const char *path, const char *const *names, size_t n, char ***out);

#endif
