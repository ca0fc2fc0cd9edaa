/* Artifacts: the ones named, with the device types they are for. */
#include "mender/mender.h"

#include "core/alloc.h"
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

struct art_query {
	char **queries;
	const char *const *names;
	size_t nnames;
	struct mender_artifact_list *out;
};

static struct op *artq_op(struct mender_client *c, void *ctx, size_t item, unsigned page)
{
	struct art_query *q = ctx;

	return page_get(c, q->queries[item], page);
}

static int artq_parse(void *ctx, size_t item, const char *body, size_t len, size_t *got)
{
	struct art_query *q = ctx;

	(void)item;
	return mender_parse_artifacts(body, len, q->names, q->nnames, q->out, got);
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
	w.nitems = name_queries(P_ARTIFACTS_V2, names, n, &q.queries);
	err = walk_pages(c, call_deadline(c), &w);
	fg_strings_free(q.queries, w.nitems);
	if (err) {
		/* release only what this call appended */
		for (i = from; i < out->n; i++)
			artifact_release(&out->items[i]);
		out->n = from;
	}
	return err;
}
