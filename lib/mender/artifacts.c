/* Artifacts: the ones named, with the device types they are for. */
#include "mender/mender.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "mender/parse.h"
#include "mender/request.h"

#include <stdlib.h>
#include <string.h>

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

/*
 * Artifacts are read through GET /api/management/v1/deployments/artifacts
 * ?name=..., which every supported server has (deployments 4.6.0, the
 * standalone service of Mender 3.7, and mender-server v4.0.4 and v4.1.3,
 * backend/services/deployments/api/http/routing.go: GetImages); the v2
 * list is new in v4.1.0. It takes one name, matches it as a
 * case-insensitive substring (store/mongo/datastore_mongo.go ListImages)
 * and answers the whole list unpaged: the exact names are kept here.
 */
struct art_query {
	char **paths;
	const char *const *names;
	size_t nnames;
	struct mender_artifact_list *out;
};

static struct op *artq_op(struct mender_client *c, void *ctx, size_t item, unsigned page)
{
	struct art_query *q = ctx;

	(void)page;
	return op_new(c, FG_HTTP_GET, q->paths[item]);
}

static int artq_parse(void *ctx, size_t item, const char *body, size_t len, size_t *got)
{
	struct art_query *q = ctx;
	int err = mender_parse_artifacts(body, len, &q->names[item], 1, q->out, got);

	*got = 0; /* one page: the list is not paged */
	return err;
}

int mender_find_artifacts(struct mender_client *c, const char *const *names, size_t n,
			  struct mender_artifact_list *out)
{
	struct art_query q = { NULL, names, n, out };
	struct walk w = { 0, MENDER_MAX_PAGE_SIZE, 0, artq_op, artq_parse, &q };
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
	q.paths = fg_calloc(n, sizeof(*q.paths));
	for (i = 0; i < n; i++) {
		struct fg_buf b = FG_BUF_INIT;

		fg_buf_init(&b);
		fg_buf_puts(&b, P_ARTIFACTS_V1 "?name=");
		fg_url_escape(&b, names[i]);
		q.paths[i] = fg_buf_detach(&b);
	}
	w.nitems = n;
	err = walk_pages(c, call_deadline(c), &w);
	fg_strings_free(q.paths, n);
	if (err) {
		/* release only what this call appended */
		for (i = from; i < out->n; i++)
			artifact_release(&out->items[i]);
		out->n = from;
	}
	return err;
}
