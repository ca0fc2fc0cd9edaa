/* Mender Configure: reading devices' configurations, setting and
 * deploying them. */
#include "mender/mender.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "mender/json.h"
#include "mender/parse.h"
#include "mender/request.h"

#include <stdlib.h>
#include <string.h>

#define MAX_CONFIG_KEYS 100
#define MAX_CONFIG_LEN 4096

void mender_config_init(struct mender_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
}

static void kv_free(struct mender_kv *kv, size_t n)
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
	kv_free(cfg->configured, cfg->nconfigured);
	kv_free(cfg->reported, cfg->nreported);
	free(cfg->deployment_id);
	mender_config_init(cfg);
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


int mender_configure_absent(const struct mender_client *c)
{
	return c->configure_absent;
}

/* Whether `r` says Mender Configure is not there (see mender.h); then
 * the item's error, FG_ENOADDON, and the client marked. */
static int addon_absent(struct mender_client *c, const struct fg_http_request *r, int *err)
{
	char *error = NULL, *rid = NULL;
	int absent = 0;

	if (req_ok(r, 403)) {
		absent = 1;
	} else if (req_ok(r, 404)) {
		absent = mender_parse_error(r->response.ptr, r->response.len, &error, &rid) || !error;
		free(error);
		free(rid);
	}
	if (!absent)
		return 0;
	c->configure_absent = 1;
	*err = fg_error_set(FG_ENOADDON, "Mender Configure is not enabled on this server (%s %s: HTTP %ld)",
			    fg_http_method_name(r->method), req_path(c, r), r->status);
	return 1;
}

static void cfgget_finish(struct runner *rn, struct op *op)
{
	struct cfg_get_ctx *g = rn->ctx;
	struct mender_config *cfg = &g->out[op->item];
	int err = 0;

	mender_config_release(cfg);
	if (addon_absent(rn->c, &op->req, &err))
		goto done;
	if (req_ok(&op->req, 404))
		goto done; /* deviceconfig has no record: found stays 0 */
	if (!req_ok(&op->req, 200))
		err = fg_error_wrap(fail_response(rn->c, &op->req), "configuration of device %s",
				    g->ids[op->item]);
	else if (mender_parse_config(op->req.response.ptr, op->req.response.len, cfg))
		err = bad_reply(rn->c, &op->req);
done:
	result_set(&g->results[op->item], err);
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

		if (!key || !*key || strlen(key) > MAX_CONFIG_LEN || !json_utf8_valid(key, strlen(key)))
			return fg_error_set(FG_EINVAL, "configuration of device %s: key %zu is empty, over %d bytes or not UTF-8",
					    job->device_id, i + 1, MAX_CONFIG_LEN);
		if (!value || strlen(value) > MAX_CONFIG_LEN || !json_utf8_valid(value, strlen(value)))
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
	int err = 0;

	if (addon_absent(rn->c, &op->req, &err))
		goto done;
	if (op->step == 0) {
		if (!req_ok(&op->req, 204)) {
			err = fg_error_wrap(fail_response(rn->c, &op->req), "setting the configuration of device %s",
					    job->device_id);
			goto done;
		}
		if (job->deploy) {
			char *path = id_path(P_CONFIG, job->device_id, "/deploy");
			struct op *next = op_new(rn->c, FG_HTTP_POST, path);

			free(path);
			op_body_str(next, "{\"retries\":0}");
			next->item = op->item;
			next->step = 1;
			runner_push(rn, next);
			op_free(op);
			return;
		}
		goto done;
	}
	if (!req_ok(&op->req, 200)) {
		err = fg_error_wrap(fail_response(rn->c, &op->req), "deploying the configuration of device %s",
				    job->device_id);
		goto done;
	}
	free(job->deployment_id);
	if (mender_parse_config_deployment(op->req.response.ptr, op->req.response.len,
					   &job->deployment_id))
		err = bad_reply(rn->c, &op->req);
done:
	result_set(&job->result, err);
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
