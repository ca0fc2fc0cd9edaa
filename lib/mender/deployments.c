/* Deployments: listing them (by name, the active ones, with their
 * devices and statistics), creating and aborting them, and aborting a
 * device's deployments. */
#include "mender/mender.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "mender/json.h"
#include "mender/parse.h"
#include "mender/request.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ABORT_ROUNDS 16
#define MAX_BODY_SENT (1u << 20)   /* Mender's request_size_limit */

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

/* Listing deployments for a set of queries, each walked over its pages. */
struct dep_query {
	char **queries;       /* path + query, without page */
	struct mender_deployment_list *out;
};

static struct op *depq_op(struct mender_client *c, void *ctx, size_t item, unsigned page)
{
	struct dep_query *q = ctx;

	return page_get(c, q->queries[item], page);
}

static int depq_parse(void *ctx, size_t item, const char *body, size_t len, size_t *got)
{
	struct dep_query *q = ctx;

	(void)item;
	return mender_parse_deployments(body, len, q->out, got);
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
	const char *body = op->req.response.ptr;
	size_t len = op->req.response.len;

	if (!req_ok(&op->req, 200))
		runner_fail(rn, fail_response(rn->c, &op->req));
	else if (op->step ? mender_parse_stats(body, len, d) : mender_parse_device_ids(body, len, d))
		runner_fail(rn, bad_reply(rn->c, &op->req));
	op_free(op);
}

static int deployment_cmp(const void *a, const void *b)
{
	const struct mender_deployment *x = a, *y = b;
	/* newest first, by the parsed time: fractions vary in length
	 * ("...05.12Z" is later than "...05Z"), so never by the strings */
	if (x->created_us != y->created_us)
		return x->created_us < y->created_us ? 1 : -1;
	return strcmp(x->id, y->id);
}

static int list_deployments(struct mender_client *c, int64_t deadline, char **queries,
			    size_t nqueries, unsigned flags, struct mender_deployment_list *out)
{
	struct dep_query q = { queries, out };
	struct walk w = { nqueries, MENDER_MAX_PAGE_SIZE, 0, depq_op, depq_parse, &q };
	struct dep_details dd = { out, out->n, flags };
	struct runner rn = { 0 };
	size_t from = out->n, i, k;
	int err;

	err = walk_pages(c, deadline, &w);
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

/*
 * Which list of deployments: GET /api/management/v2/deployments/deployments
 * (name=, several a request) where the server has it, which mender-server
 * has since v4.0.0 (backend/services/deployments/api/http/routing.go,
 * ApiUrlManagementV2Deployments); the standalone deployments service of
 * Mender 3.7 (4.6.0, api/http/routing.go) has only the v1 list, whose
 * `search` is a text search on names (store/mongo/datastore_mongo.go
 * FindBy: "$text"), one name a request; the exact names are kept here.
 * The first v2 list answered 404 tells the client, once, for the rest of
 * its life.
 */
static size_t deployment_queries(const struct mender_client *c, const char *const *names,
				 size_t n, const char *type, char ***out)
{
	const char *path = c->deployments_v1 ? P_DEPLOYMENTS_V1 : P_DEPLOYMENTS_V2;
	size_t i;

	if (!names) {
		*out = fg_calloc(2, sizeof(**out));
		(*out)[0] = fg_asprintf("%s?status=pending&per_page=%u%s", path, MENDER_MAX_PAGE_SIZE, type);
		(*out)[1] = fg_asprintf("%s?status=inprogress&per_page=%u%s", path, MENDER_MAX_PAGE_SIZE, type);
		return 2;
	}
	if (!c->deployments_v1)
		return name_queries(P_DEPLOYMENTS_V2, names, n, out);
	*out = fg_calloc(n, sizeof(**out));
	for (i = 0; i < n; i++) {
		struct fg_buf b = FG_BUF_INIT;

		fg_buf_init(&b);
		fg_buf_printf(&b, "%s?per_page=%u&search=", P_DEPLOYMENTS_V1, MENDER_MAX_PAGE_SIZE);
		fg_url_escape(&b, names[i]);
		(*out)[i] = fg_buf_detach(&b);
	}
	return n;
}

/* Keep, of out->items[from..], the deployments named as one of `names`. */
static void keep_named(struct mender_deployment_list *out, size_t from, const char *const *names,
		       size_t n)
{
	size_t i, k, j;

	for (i = from, k = from; i < out->n; i++) {
		for (j = 0; j < n && strcmp(names[j], out->items[i].name); j++)
			;
		if (j < n)
			out->items[k++] = out->items[i];
		else
			mender_deployment_release(&out->items[i]);
	}
	out->n = k;
}

/* The deployments named (names != NULL) or the active ones (of `type`,
 * "&type=software" or ""), through v2 or v1 as the server has it. */
static int query_deployments(struct mender_client *c, int64_t deadline, const char *const *names,
			     size_t n, const char *type, unsigned flags,
			     struct mender_deployment_list *out)
{
	size_t from = out->n, nq;
	char **q = NULL;
	int err;

	nq = deployment_queries(c, names, n, type, &q);
	err = list_deployments(c, deadline, q, nq, flags, out);
	fg_strings_free(q, nq);
	if (err == FG_ENOTFOUND && !c->deployments_v1 &&
	    !strncmp(fg_error_message(), "GET " P_DEPLOYMENTS_V2 "?", strlen("GET " P_DEPLOYMENTS_V2 "?"))) {
		c->deployments_v1 = 1;
		nq = deployment_queries(c, names, n, type, &q);
		err = list_deployments(c, deadline, q, nq, flags, out);
		fg_strings_free(q, nq);
	}
	if (!err && names && c->deployments_v1)
		keep_named(out, from, names, n);
	return err;
}

static int find_deployments(struct mender_client *c, int64_t deadline, const char *const *names,
			    size_t n, unsigned flags, struct mender_deployment_list *out)
{
	size_t i;
	int err;

	for (i = 0; i < n; i++)
		if ((err = check_out("deployment name", names[i])))
			return err;
	if (!n)
		return 0;
	return query_deployments(c, deadline, names, n, "", flags, out);
}

int mender_find_deployments(struct mender_client *c, const char *const *names, size_t n,
			    unsigned flags, struct mender_deployment_list *out)
{
	return find_deployments(c, call_deadline(c), names, n, flags, out);
}

int mender_list_active_deployments(struct mender_client *c, unsigned flags,
				   struct mender_deployment_list *out)
{
	const char *type = flags & MENDER_SOFTWARE_ONLY ? "&type=software" : "";

	return query_deployments(c, call_deadline(c), NULL, 0, type, flags, out);
}

/* The body of POST .../deployments, after checking what goes in it. */
static int create_body(const struct mender_new_deployment *d, struct fg_buf *body)
{
	size_t i;
	int err;

	if ((err = check_out("deployment name", d->name)) ||
	    (err = check_out("artifact name", d->artifact_name)))
		return err;
	if (!d->ndevices)
		return fg_error_set(FG_EINVAL, "deployment '%s' has no devices", d->name);
	fg_buf_puts(body, "{\"name\":");
	fg_buf_put_json_string(body, d->name);
	fg_buf_puts(body, ",\"artifact_name\":");
	fg_buf_put_json_string(body, d->artifact_name);
	fg_buf_puts(body, ",\"devices\":[");
	for (i = 0; i < d->ndevices; i++) {
		if ((err = check_out("device id", d->devices[i])))
			return err;
		if (i)
			fg_buf_putc(body, ',');
		fg_buf_put_json_string(body, d->devices[i]);
	}
	fg_buf_puts(body, "]}");
	if (body->len > MAX_BODY_SENT)
		return fg_error_set(FG_ELIMIT, "deployment '%s': %zu devices make a %zu-byte request, over Mender's %u-byte limit; split them",
				    d->name, d->ndevices, body->len, MAX_BODY_SENT);
	return 0;
}

/* After a 409: the active deployment of that name and artifact. */
static int existing_deployment(struct mender_client *c, int64_t deadline,
			       const struct mender_new_deployment *d, char **id_out)
{
	struct mender_deployment_list found;
	size_t i;
	int err;

	mender_deployment_list_init(&found);
	err = find_deployments(c, deadline, &d->name, 1, 0, &found);
	if (err) {
		err = fg_error_wrap(err, "deployment '%s' exists (409), looking it up", d->name);
		goto done;
	}
	for (i = 0; i < found.n; i++)
		if (strcmp(found.items[i].status, "finished") && !strcmp(found.items[i].name, d->name) &&
		    !strcmp(found.items[i].artifact_name, d->artifact_name))
			break;
	if (i == found.n) {
		err = fg_error_set(FG_EHTTP, "POST %s: HTTP 409 for deployment '%s', but no active deployment has that name and artifact '%s'",
				   P_DEPLOYMENTS_V1, d->name, d->artifact_name);
		goto done;
	}
	*id_out = fg_strdup(found.items[i].id);
done:
	mender_deployment_list_release(&found);
	return err;
}

/* A device status of a finished record: the device is done with the
 * deployment (deployments model/device_deployment.go, the statuses that
 * are not active). */
static int status_finished(const char *status)
{
	static const char *const done[] = { "success", "failure", "aborted", "noartifact",
					    "already-installed", "decommissioned" };
	size_t i;

	for (i = 0; i < sizeof(done) / sizeof(*done); i++)
		if (!strcmp(status, done[i]))
			return 1;
	return 0;
}

/*
 * After a 409, whether the active deployment `id` still reaches every
 * device of `d`: each device's record in it is pending or in progress, or
 * there is none yet (Mender makes records as devices poll). A finished
 * record (a per-device abort, on 4.1 also of a device that never polled)
 * means that device would never update: *stale is set.
 */
static int reaches_all(struct mender_client *c, const char *id,
		       const struct mender_new_deployment *d, int *stale)
{
	struct mender_device_status_list st;
	size_t i, k;
	int err;

	*stale = 0;
	mender_device_status_list_init(&st);
	err = mender_deployment_devices(c, id, &st);
	for (i = 0; !err && i < st.n && !*stale; i++)
		for (k = 0; k < d->ndevices; k++)
			if (!strcmp(st.items[i].device_id, d->devices[k]) &&
			    status_finished(st.items[i].status))
				*stale = 1;
	mender_device_status_list_release(&st);
	return err;
}

/* POST the deployment: 0 with *status 201 (and *id_out) or 409, else the
 * error. */
static int post_deployment(struct mender_client *c, int64_t deadline, const struct fg_buf *body,
			   const struct mender_new_deployment *d, char **id_out, long *status)
{
	struct op *op = op_new(c, FG_HTTP_POST, P_DEPLOYMENTS_V1);
	const char *slash;
	int err;

	*status = 0;
	op_body_str(op, body->ptr);
	/* a replay of a create that went through meets 409 and is resolved
	 * by name, so the POST may be repeated */
	op->req.replay_safe = 1;
	err = run_one(c, deadline, op);
	if (err)
		goto done;
	if (req_ok(&op->req, 201)) {
		slash = op->req.location ? strrchr(op->req.location, '/') : NULL;
		if (!slash || !slash[1])
			err = fg_error_set(FG_EHTTP, "POST %s: HTTP 201 without a Location naming the deployment '%s'",
					   P_DEPLOYMENTS_V1, d->name);
		else
			*id_out = json_utf8_dup(slash + 1);
	} else if (req_ok(&op->req, 422)) {
		fail_response(c, &op->req);
		err = fg_error_wrap(FG_ENOTFOUND, "deployment '%s': Mender has no artifact named '%s'",
				    d->name, d->artifact_name);
	} else if (!req_ok(&op->req, 409)) {
		err = fg_error_wrap(fail_response(c, &op->req), "creating deployment '%s'", d->name);
	}
	if (!err)
		*status = op->req.status;
done:
	op_free(op);
	return err;
}

/*
 * 409: Mender's guard against a second active deployment of the same name,
 * artifact and devices. It counts as "already there" only when that one
 * still reaches every device; else it is aborted whole (its devices are
 * exactly these) and made again, so that every device gets it.
 */
static int resolve_conflict(struct mender_client *c, int64_t deadline, const struct fg_buf *body,
			    const struct mender_new_deployment *d, char **id_out, int *exists)
{
	int stale = 0, finished = 0, err;
	long status = 0;
	char *old = NULL;

	err = existing_deployment(c, deadline, d, &old);
	if (!err)
		err = reaches_all(c, old, d, &stale);
	if (!err && !stale) {
		*id_out = old;
		*exists = 1;
		return 0;
	}
	if (!err)
		err = mender_abort_deployment(c, old, &finished);
	if (!err)
		err = post_deployment(c, deadline, body, d, id_out, &status);
	if (!err && status != 201)
		err = fg_error_set(FG_EHTTP, "POST %s: HTTP 409 again for deployment '%s' after aborting %s, which no longer reached every device",
				   P_DEPLOYMENTS_V1, d->name, old);
	free(old);
	return err;
}

int mender_create_deployment(struct mender_client *c, const struct mender_new_deployment *d,
			     char **id_out, int *exists)
{
	int64_t deadline = call_deadline(c);
	struct fg_buf body = FG_BUF_INIT;
	long status = 0;
	int err;

	*id_out = NULL;
	*exists = 0;
	fg_buf_init(&body);
	err = create_body(d, &body);
	if (!err)
		err = post_deployment(c, deadline, &body, d, id_out, &status);
	if (!err && status == 409)
		err = resolve_conflict(c, deadline, &body, d, id_out, exists);
	fg_buf_release(&body);
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
	op_body_str(op, "{\"status\":\"aborted\"}");
	err = run_one(c, call_deadline(c), op);
	if (err)
		goto done;
	if (req_ok(&op->req, 204))
		goto done;
	if (req_ok(&op->req, 422)) {
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
	size_t nactive = 0;
	int err = 0;

	if (!req_ok(&op->req, op->step == AB_DELETE ? 204 : 200)) {
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
		if (mender_parse_array_size(op->req.response.ptr, op->req.response.len, &nactive)) {
			err = bad_reply(rn->c, &op->req);
			goto done;
		}
		if (!nactive)
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

struct dep_devices {
	char *base;
	struct mender_device_status_list *out;
};

static struct op *depdev_op(struct mender_client *c, void *ctx, size_t item, unsigned page)
{
	struct dep_devices *d = ctx;

	(void)item;
	return page_get(c, d->base, page);
}

static int depdev_parse(void *ctx, size_t item, const char *body, size_t len, size_t *got)
{
	struct dep_devices *d = ctx;

	(void)item;
	return mender_parse_device_statuses(body, len, d->out, got);
}

int mender_deployment_devices(struct mender_client *c, const char *id,
			      struct mender_device_status_list *out)
{
	struct dep_devices d = { NULL, out };
	struct walk w = { 1, MENDER_MAX_PAGE_SIZE, 0, depdev_op, depdev_parse, &d };
	int err;

	if ((err = check_out("deployment id", id)))
		return err;
	d.base = id_path(P_DEPLOYMENTS_V1 "/", id, "/devices/list?per_page=500");
	err = walk_pages(c, call_deadline(c), &w);
	if (err)
		fg_error_wrap(err, "devices of deployment %s", id);
	free(d.base);
	return err;
}
