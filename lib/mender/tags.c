/* Tags: setting devices' tags (an upsert). */
#include "mender/mender.h"

#include "core/buf.h"
#include "core/error.h"
#include "mender/json.h"
#include "mender/request.h"

#include <stdlib.h>
#include <string.h>

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
			if (!err && (!job->values[k] || !json_utf8_valid(job->values[k], strlen(job->values[k]))))
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

	if (!req_ok(&op->req, 200))
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
