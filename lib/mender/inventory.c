/* The inventory: every device, with the attributes asked for, through
 * the search endpoint, page by page. */
#include "mender/mender.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "mender/json.h"
#include "mender/parse.h"
#include "mender/request.h"

#include <stdlib.h>
#include <string.h>

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

/* Check what goes to Mender in a search. */
static int check_search(const struct mender_attr_ref *want, size_t nwant,
			const struct mender_filter *filters, size_t nfilters)
{
	size_t i, k;
	int err = 0;

	for (i = 0; i < nfilters; i++) {
		const struct mender_filter *f = &filters[i];

		if ((err = check_out("filter attribute", f->attribute)) ||
		    (f->scope && (err = check_out("filter scope", f->scope))) ||
		    (f->type && (err = check_out("filter type", f->type))))
			return err;
		for (k = 0; k < f->nvalues; k++)
			if (!json_utf8_valid(f->values[k], strlen(f->values[k])))
				return fg_error_set(FG_EINVAL, "filter value is not valid UTF-8");
		if (f->value && !json_utf8_valid(f->value, strlen(f->value)))
			return fg_error_set(FG_EINVAL, "filter value is not valid UTF-8");
	}
	for (i = 0; i < nwant; i++)
		if ((err = check_out("attribute name", want[i].name)) ||
		    (want[i].scope && (err = check_out("attribute scope", want[i].scope))))
			return err;
	return 0;
}

/* The body's members after page and per_page, malloc'd. */
static char *search_query(const struct mender_attr_ref *want, size_t nwant,
			  const struct mender_filter *filters, size_t nfilters)
{
	struct fg_buf q;
	size_t i;

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
	/* A stable order while pages are read concurrently: without a sort
	 * the server reads in Mongo's natural order, which may move between
	 * pages. identity/id sorts by the device id (_id): mender-server
	 * v4.0.4 and v4.1.3 backend/services/inventory/store/mongo/
	 * datastore_mongo.go SearchDevices. */
	fg_buf_puts(&q, ",\"sort\":[{\"scope\":\"identity\",\"attribute\":\"id\",\"order\":\"asc\"}]");
	return fg_buf_detach(&q);
}

struct search {
	const char *query;
	unsigned per_page;
	struct mender_device_list *out;
};

static struct op *search_op(struct mender_client *c, void *ctx, size_t item, unsigned page)
{
	struct search *s = ctx;
	struct op *op = op_new(c, FG_HTTP_POST, P_INVENTORY_SEARCH);
	struct fg_buf b;

	(void)item;
	op->req.replay_safe = 1; /* a search changes nothing */
	fg_buf_init(&b);
	fg_buf_printf(&b, "{\"page\":%u,\"per_page\":%u%s}", page, s->per_page, s->query);
	op_body(op, &b);
	return op;
}

static int search_parse(void *ctx, size_t item, const char *body, size_t len, size_t *got)
{
	struct search *s = ctx;

	(void)item;
	return mender_parse_devices(body, len, s->out, got);
}

int mender_list_devices(struct mender_client *c, const struct mender_attr_ref *want,
			size_t nwant, const struct mender_filter *filters, size_t nfilters,
			struct mender_device_list *out)
{
	struct search s = { NULL, c->page_size, out };
	/* page 1 tells the total; then every known page at once; then, if
	 * the inventory grew meanwhile, on until a short page */
	struct walk w = { 1, c->page_size, 1, search_op, search_parse, &s };
	char *query = NULL;
	int err;

	mender_device_list_release(out);
	err = check_search(want, nwant, filters, nfilters);
	if (err)
		return err;
	s.query = query = search_query(want, nwant, filters, nfilters);
	err = walk_pages(c, call_deadline(c), &w);
	if (err)
		mender_device_list_release(out);
	else
		devices_dedupe(out);
	free(query);
	return err;
}
