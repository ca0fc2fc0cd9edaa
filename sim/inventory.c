/*
 * Inventory management API (mender-server v4.1.3): device listing with equality
 * filters (v1), filter search (v2), one device, and tags.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers.h"

#define LIMIT_TAGS 20
#define LIMIT_NAME 1024

enum filter_op { OP_EQ, OP_IN, OP_NIN };

struct filter {
	int scope; /* -1: a scope Mender does not know, matches nothing */
	const char *name;
	enum filter_op op;
	const cJSON *value; /* v2: as sent */
	cJSON *alt;	    /* v1: the value as a number too, when it is one */
	cJSON *str;	    /* v1: the value as a string */
};

struct sort_key {
	int scope;
	const char *name;
	bool asc;
};

struct select_attr {
	int scope;
	const char *name;
};

struct query {
	struct filter *filters;
	size_t nfilters, afilters;
	struct sort_key *sort;
	size_t nsort, asort;
	const char *group; /* v1 group= */
	int has_group;	   /* v1 has_group=: -1 unset, 0, 1 */
	const char *text;  /* v2 free text */
	const cJSON *device_ids;
};

static void query_release(struct query *q)
{
	size_t i;

	for (i = 0; i < q->nfilters; i++) {
		cJSON_Delete(q->filters[i].alt);
		cJSON_Delete(q->filters[i].str);
	}
	free(q->filters);
	free(q->sort);
}

/* ---- rendering ---------------------------------------------------------- */

static void add_attrs(cJSON *arr, const struct sim_device *d, enum sim_scope scope,
		      const struct select_attr *sel, size_t nsel)
{
	const struct sim_attrs *a = &d->attrs[scope];
	size_t i, k;

	for (i = 0; i < a->n; i++) {
		const struct sim_attr *at = &a->v[i];
		cJSON *o;

		if (sel) {
			for (k = 0; k < nsel; k++)
				if (sel[k].scope == (int)scope && !strcmp(sel[k].name, at->name))
					break;
			if (k == nsel)
				continue;
		}
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", at->name);
		cJSON_AddItemToObject(o, "value", cJSON_Duplicate(at->value, 1));
		cJSON_AddStringToObject(o, "scope", sim_scope_name(scope));
		if (at->description)
			cJSON_AddStringToObject(o, "description", at->description);
		if (at->ts_us) {
			char ts[32];

			sim_format_time(at->ts_us, ts);
			cJSON_AddStringToObject(o, "timestamp", ts);
		}
		cJSON_AddItemToArray(arr, o);
	}
}

/* The device object of inventory v1 and v2; `sel` limits the attributes. */
static cJSON *device_json(const struct sim_device *d, const struct select_attr *sel, size_t nsel)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	char ts[32];
	int s;

	cJSON_AddStringToObject(o, "id", d->id);
	arr = cJSON_AddArrayToObject(o, "attributes");
	for (s = 0; s < SIM_NSCOPES; s++)
		add_attrs(arr, d, (enum sim_scope)s, sel, nsel);
	sim_format_time(d->updated_us, ts);
	cJSON_AddStringToObject(o, "updated_ts", ts);
	return o;
}

/* ---- matching and sorting -------------------------------------------------- */

/* gcc -fanalyzer: cJSON_IsString() and the like are false for NULL, which
 * the analyzer cannot see in the shared library */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-null-dereference"
#endif
static bool scalar_equal(const cJSON *a, const cJSON *b)
{
	if (cJSON_IsString(a) && cJSON_IsString(b))
		return !strcmp(a->valuestring, b->valuestring);
	if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
		return a->valuedouble == b->valuedouble;
	if (cJSON_IsBool(a) && cJSON_IsBool(b))
		return cJSON_IsTrue(a) == cJSON_IsTrue(b);
	return false;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/* Mongo's equality: an array attribute matches when an element does. */
static bool value_equal(const cJSON *attr, const cJSON *want)
{
	const cJSON *e;

	if (cJSON_IsArray(attr)) {
		if (cJSON_IsArray(want))
			return sim_json_equal(attr, want);
		cJSON_ArrayForEach(e, attr)
			if (scalar_equal(e, want))
				return true;
		return false;
	}
	return scalar_equal(attr, want);
}

static bool filter_match(const struct filter *f, const struct sim_device *d)
{
	const struct sim_attr *a;
	const cJSON *e;
	bool in = false;

	if (f->scope < 0)
		return false;
	a = sim_attrs_find(&d->attrs[f->scope], f->name);
	if (f->str)
		return a && (value_equal(a->value, f->str) || (f->alt && value_equal(a->value, f->alt)));
	if (f->op == OP_EQ)
		return a && value_equal(a->value, f->value);
	cJSON_ArrayForEach(e, f->value)
		if (a && value_equal(a->value, e))
			in = true;
	return f->op == OP_IN ? in : !in;
}

static bool text_match(const struct sim_device *d, const char *text)
{
	int s;
	size_t i;

	if (sim_contains_ci(d->id, text))
		return true;
	for (s = 0; s < SIM_NSCOPES; s++)
		for (i = 0; i < d->attrs[s].n; i++)
			if (cJSON_IsString(d->attrs[s].v[i].value) &&
			    sim_contains_ci(d->attrs[s].v[i].value->valuestring, text))
				return true;
	return false;
}

static bool device_match(const struct query *q, const struct sim_device *d)
{
	size_t i;

	if (q->has_group >= 0 && (d->group != NULL) != (q->has_group == 1))
		return false;
	if (q->group && (!d->group || strcmp(d->group, q->group)))
		return false;
	for (i = 0; i < q->nfilters; i++)
		if (!filter_match(&q->filters[i], d))
			return false;
	if (q->text && !text_match(d, q->text))
		return false;
	if (q->device_ids) {
		const cJSON *e;

		cJSON_ArrayForEach(e, q->device_ids)
			if (!strcmp(e->valuestring, d->id))
				return true;
		return false;
	}
	return true;
}

/* Mongo's order of types: missing/null, numbers, strings, arrays. */
static int type_rank(const cJSON *v)
{
	if (!v || cJSON_IsNull(v))
		return 0;
	if (cJSON_IsNumber(v))
		return 1;
	if (cJSON_IsString(v))
		return 2;
	return 3;
}

static int compare_values(const cJSON *a, const cJSON *b)
{
	int ra = type_rank(a), rb = type_rank(b);

	if (ra != rb)
		return ra < rb ? -1 : 1;
	if (ra == 1)
		return a->valuedouble < b->valuedouble ? -1 : a->valuedouble > b->valuedouble;
	if (ra == 2)
		return strcmp(a->valuestring, b->valuestring);
	if (ra == 3) {
		char *x = sim_json_print(a), *y = sim_json_print(b);
		int c = strcmp(x, y);

		free(x);
		free(y);
		return c;
	}
	return 0;
}

static int compare_devices(const struct sim_device *a, const struct sim_device *b,
			   const struct sort_key *k, size_t nk)
{
	size_t i;

	for (i = 0; i < nk; i++) {
		const struct sim_attr *x = k[i].scope < 0 ? NULL
				: sim_attrs_find(&a->attrs[k[i].scope], k[i].name);
		const struct sim_attr *y = k[i].scope < 0 ? NULL
				: sim_attrs_find(&b->attrs[k[i].scope], k[i].name);
		int c = compare_values(x ? x->value : NULL, y ? y->value : NULL);

		/* identity/id is the document's _id (v4.1.3 store/mongo
		 * datastore_mongo.go SearchDevices). */
		if (k[i].scope == SIM_SCOPE_IDENTITY && !strcmp(k[i].name, "id"))
			c = strcmp(a->id, b->id);

		if (c)
			return k[i].asc ? c : -c;
	}
	return 0;
}

/* Stable merge sort, so equal keys keep the inventory's order. */
static void sort_devices(struct sim_device **v, struct sim_device **tmp, size_t n,
			 const struct sort_key *k, size_t nk)
{
	size_t mid = n / 2, i = 0, j = mid, o = 0;

	if (n < 2)
		return;
	sort_devices(v, tmp, mid, k, nk);
	sort_devices(v + mid, tmp, n - mid, k, nk);
	while (i < mid && j < n)
		tmp[o++] = compare_devices(v[j], v[i], k, nk) < 0 ? v[j++] : v[i++];
	while (i < mid)
		tmp[o++] = v[i++];
	while (j < n)
		tmp[o++] = v[j++];
	memcpy(v, tmp, n * sizeof(*v));
}

/*
 * Without a sort, Mongo returns its natural order, which is no promise:
 * concurrent writes and page-by-page queries may see devices move. The
 * stand-in makes that visible: each unsorted query gets its own order, a
 * Fisher-Yates shuffle seeded by the number of queries served, so a client
 * that pages without a sort misses or repeats devices (unless the setting
 * unsorted_order is "natural").
 */
static void shuffle_devices(struct sim_device **v, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
	size_t i;

	for (i = n; i > 1; i--) {
		struct sim_device *t;
		size_t j;

		x ^= x << 13; /* xorshift64 */
		x ^= x >> 7;
		x ^= x << 17;
		j = (size_t)(x % i);
		t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* The devices a query matches, sorted; `*n` gets their number. Free the
 * array (not the devices). */
static struct sim_device **run_query(struct sim *sim, const struct query *q, size_t *n)
{
	struct sim_store *s = sim->store;
	struct sim_device **v = sim_xcalloc(s->ndevices, sizeof(*v)), **tmp;
	size_t i;

	*n = 0;
	for (i = 0; i < s->ndevices; i++)
		if (device_match(q, s->order[i]))
			v[(*n)++] = s->order[i];
	s->queries++;
	if (q->nsort && *n > 1) {
		tmp = sim_xcalloc(*n, sizeof(*tmp));
		sort_devices(v, tmp, *n, q->sort, q->nsort);
		free(tmp);
	} else if (!q->nsort && !sim->settings.natural_order) {
		shuffle_devices(v, *n, s->queries);
	}
	return v;
}

/* ---- GET /api/management/v1/inventory/devices ------------------------------ */

static void add_sort(struct query *q, int scope, const char *name, bool asc)
{
	sim_grow((void **)&q->sort, &q->asort, q->nsort + 1, sizeof(*q->sort));
	q->sort[q->nsort].scope = scope;
	q->sort[q->nsort].name = name;
	q->sort[q->nsort++].asc = asc;
}

/* "scope/name" or "name" (scope inventory), as api_inventory.go splits it. */
static const char *split_scope(const char *s, char *scope, size_t scope_size, int *out)
{
	const char *slash = strchr(s, '/');

	if (!slash) {
		*out = SIM_SCOPE_INVENTORY;
		return s;
	}
	snprintf(scope, scope_size, "%.*s", (int)(slash - s), s);
	*out = (size_t)(slash - s) < scope_size ? sim_scope_parse(scope) : -1;
	return slash + 1;
}

/* sort=attr[:asc|desc][,attr2[:asc|desc]] (default desc). The names point
 * into `buf`, which the caller frees after the query. */
static bool parse_sort(struct query *q, char *buf)
{
	char *item, *save = NULL;

	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(item, ':'), scope[32];
		const char *name;
		bool asc = false;
		int sc;

		if (colon) {
			*colon = '\0';
			if (!strcmp(colon + 1, "asc"))
				asc = true;
			else if (strcmp(colon + 1, "desc"))
				return false;
		}
		name = split_scope(item, scope, sizeof(scope), &sc);
		add_sort(q, sc, name, asc);
	}
	return true;
}

/* strconv.ParseBool */
static int parse_bool(const char *s)
{
	static const char *const t[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const f[] = { "0", "f", "F", "FALSE", "false", "False" };
	size_t i;

	for (i = 0; i < 6; i++) {
		if (!strcmp(s, t[i]))
			return 1;
		if (!strcmp(s, f[i]))
			return 0;
	}
	return -1;
}

void sim_inventory_list(struct sim *sim, const struct sim_request *req, struct sim_response *res)
{
	static const char *const known[] = { "page", "per_page", "sort", "has_group", "group", NULL };
	struct query q = { .has_group = -1 };
	struct sim_device **found = NULL;
	struct sim_paging pg;
	const char *v;
	char *sortbuf = NULL;
	cJSON *arr;
	size_t i, n = 0, k, start, end;

	if (!sim_req_paging(req, res, 500, &pg))
		goto done;
	v = sim_req_arg(req, "has_group");
	if (v && *v && (q.has_group = parse_bool(v)) < 0) {
		sim_res_error(res, req, 400, "invalid has_group query: \"%s\"", v);
		goto done;
	}
	v = sim_req_arg(req, "group");
	q.group = v && *v ? v : NULL;
	v = sim_req_arg(req, "sort");
	if (v && *v) {
		sortbuf = sim_xstrdup(v);
		if (!parse_sort(&q, sortbuf)) {
			sim_res_error(res, req, 400, "invalid sort order");
			goto done;
		}
	}
	/* Every other argument is an equality filter (first value of each). */
	for (i = 0; i < req->nargs; i++) {
		const struct sim_arg *a = &req->args[i];
		struct filter *f;
		const char *val = a->value;
		char scope[32], *numend;
		double num;

		for (k = 0; known[k] && strcmp(known[k], a->key); k++)
			;
		if (known[k] || sim_req_arg(req, a->key) != a->value)
			continue;
		sim_grow((void **)&q.filters, &q.afilters, q.nfilters + 1, sizeof(*q.filters));
		f = &q.filters[q.nfilters++];
		memset(f, 0, sizeof(*f));
		f->name = split_scope(a->key, scope, sizeof(scope), &f->scope);
		if (!strncmp(val, "eq:", 3))
			val += 3;
		f->str = cJSON_CreateString(val);
		num = strtod(val, &numend);
		if (*val && !*numend && !isspace((unsigned char)*val))
			f->alt = cJSON_CreateNumber(num);
	}
	found = run_query(sim, &q, &n);
	arr = cJSON_CreateArray();
	sim_paging_slice(&pg, n, &start, &end);
	for (i = start; i < end; i++)
		cJSON_AddItemToArray(arr, device_json(found[i], NULL, 0));
	sim_res_links(res, req, &pg, (int64_t)n, false);
	sim_res_total(res, (int64_t)n);
	sim_res_json(res, 200, arr);
done:
	free(found);
	free(sortbuf);
	query_release(&q);
}

/* ---- GET /api/management/v1/inventory/devices/{id} ----------------------- */

void sim_inventory_get(struct sim *sim, const struct sim_request *req, struct sim_response *res)
{
	const struct sim_device *d = sim_store_device(sim->store, req->params[0]);

	if (!d) {
		sim_res_error(res, req, 404, "Device not found");
		return;
	}
	sim_res_header(res, "ETag", d->etag);
	sim_res_json(res, 200, device_json(d, NULL, 0));
}

/* ---- POST /api/management/v2/inventory/filters/search ----------------------- */

static bool scope_of(const cJSON *o, int *scope)
{
	const char *s = sim_json_get_string(o, "scope");

	*scope = s ? sim_scope_parse(s) : -1;
	return *scope >= 0;
}

static const char *attribute_of(const cJSON *o)
{
	const char *a = sim_json_get_string(o, "attribute");

	return a && *a ? a : NULL;
}

static bool opt_positive(const cJSON *o, const char *key, int64_t *out)
{
	const cJSON *v = sim_json_get(o, key);

	if (!v || cJSON_IsNull(v))
		return true;
	if (!sim_json_is_int(v, 1, 1e15))
		return false;
	*out = (int64_t)v->valuedouble;
	return true;
}

/* Parse and check the search body (model/filters.go); false after a 400. */
static bool parse_search(const cJSON *body, const struct sim_request *req,
			 struct sim_response *res, struct query *q, struct sim_paging *pg,
			 struct select_attr **sel, size_t *nsel)
{
	const cJSON *arr, *e, *v;

	if (!cJSON_IsObject(body)) {
		sim_res_error(res, req, 400, "failed to parse request body: expected a JSON object");
		return false;
	}
	if (!opt_positive(body, "page", &pg->page) || !opt_positive(body, "per_page", &pg->per_page)) {
		sim_res_error(res, req, 400,
			      "failed to parse request body: page and per_page must be positive integers");
		return false;
	}
	v = sim_json_get(body, "text");
	if (v && !cJSON_IsNull(v)) {
		if (!cJSON_IsString(v)) {
			sim_res_error(res, req, 400, "failed to parse request body: text must be a string");
			return false;
		}
		q->text = *v->valuestring ? v->valuestring : NULL;
	}
	arr = sim_json_get(body, "filters");
	if (arr && !cJSON_IsNull(arr) && !cJSON_IsArray(arr))
		goto bad_filters;
	cJSON_ArrayForEach(e, arr) {
		struct filter *f;
		const char *type = sim_json_get_string(e, "type");
		const cJSON *val = sim_json_get(e, "value");

		sim_grow((void **)&q->filters, &q->afilters, q->nfilters + 1, sizeof(*q->filters));
		f = &q->filters[q->nfilters++];
		memset(f, 0, sizeof(*f));
		if (!scope_of(e, &f->scope) || !(f->name = attribute_of(e)) || !type || !val)
			goto bad_filters;
		if (!strcmp(type, "$eq"))
			f->op = OP_EQ;
		else if (!strcmp(type, "$in"))
			f->op = OP_IN;
		else if (!strcmp(type, "$nin"))
			f->op = OP_NIN;
		else
			goto bad_filters;
		if (f->op == OP_EQ ? !(cJSON_IsString(val) || cJSON_IsNumber(val) ||
				       cJSON_IsBool(val) || cJSON_IsArray(val))
				   : !cJSON_IsArray(val))
			goto bad_filters;
		f->value = val;
	}
	arr = sim_json_get(body, "sort");
	if (arr && !cJSON_IsNull(arr) && !cJSON_IsArray(arr))
		goto bad_sort;
	cJSON_ArrayForEach(e, arr) {
		const char *order = sim_json_get_string(e, "order");
		const char *name = attribute_of(e);
		int scope;

		if (!scope_of(e, &scope) || !name || !order ||
		    (strcmp(order, "asc") && strcmp(order, "desc")))
			goto bad_sort;
		add_sort(q, scope, name, !strcmp(order, "asc"));
	}
	arr = sim_json_get(body, "attributes");
	if (arr && !cJSON_IsNull(arr)) {
		if (!cJSON_IsArray(arr))
			goto bad_attributes;
		*sel = sim_xcalloc((size_t)cJSON_GetArraySize(arr), sizeof(**sel));
		cJSON_ArrayForEach(e, arr) {
			if (!scope_of(e, &(*sel)[*nsel].scope) || !((*sel)[*nsel].name = attribute_of(e)))
				goto bad_attributes;
			(*nsel)++;
		}
	}
	arr = sim_json_get(body, "device_ids");
	if (arr && !cJSON_IsNull(arr)) {
		if (!cJSON_IsArray(arr))
			goto bad_ids;
		cJSON_ArrayForEach(e, arr)
			if (!cJSON_IsString(e))
				goto bad_ids;
		q->device_ids = arr;
	}
	return true;
bad_filters:
	sim_res_error(res, req, 400,
		      "filters: each needs scope (system, identity, inventory, monitor, tags), "
		      "attribute, type ($eq, $in, $nin) and value (an array for $in/$nin)");
	return false;
bad_sort:
	sim_res_error(res, req, 400, "sort: each needs scope, attribute and order (asc, desc)");
	return false;
bad_attributes:
	sim_res_error(res, req, 400, "attributes: each needs scope and attribute");
	return false;
bad_ids:
	sim_res_error(res, req, 400, "device_ids: must be an array of strings");
	return false;
}

void sim_inventory_search(struct sim *sim, const struct sim_request *req,
			  struct sim_response *res)
{
	struct query q = { .has_group = -1 };
	struct sim_paging pg = { 1, 20 };
	struct select_attr *sel = NULL;
	struct sim_device **found = NULL;
	cJSON *body = NULL, *arr;
	size_t nsel = 0, n = 0, i, start, end;

	/* The body is optional: no body means every device, first page. */
	if (req->body_len) {
		body = sim_req_json(req, res, "failed to parse request body");
		if (!body)
			goto done;
		if (!parse_search(body, req, res, &q, &pg, &sel, &nsel))
			goto done;
	}
	found = run_query(sim, &q, &n);
	arr = cJSON_CreateArray();
	sim_paging_slice(&pg, n, &start, &end);
	for (i = start; i < end; i++)
		cJSON_AddItemToArray(arr, device_json(found[i], sel, nsel));
	/* v4.1.3 sets X-Total-Count but no Link here (FiltersSearchHandler). */
	sim_res_total(res, (int64_t)n);
	sim_res_json(res, 200, arr);
done:
	free(found);
	free(sel);
	query_release(&q);
	cJSON_Delete(body);
}

/* ---- PATCH/PUT /api/management/v1/inventory/devices/{id}/tags -------------- */

static void tags_update(struct sim *sim, const struct sim_request *req, struct sim_response *res,
			bool replace)
{
	struct sim_device *d;
	struct sim_attrs *tags;
	const cJSON *e;
	cJSON *body = sim_req_json(req, res, "failed to decode request body");
	int64_t now = sim_now_us();
	size_t count = 0;

	if (!body)
		return;
	if (!cJSON_IsArray(body)) {
		sim_res_error(res, req, 400, "failed to decode request body: expected an array of tags");
		goto done;
	}
	cJSON_ArrayForEach(e, body) {
		const char *name = sim_json_get_string(e, "name");
		const cJSON *value = sim_json_get(e, "value"), *desc = sim_json_get(e, "description");

		if (!cJSON_IsObject(e) || !name || !*name) {
			sim_res_error(res, req, 400, "name: cannot be blank.");
			goto done;
		}
		if (strlen(name) > LIMIT_NAME) {
			sim_res_error(res, req, 400, "name: the length must be no more than %d.",
				      LIMIT_NAME);
			goto done;
		}
		if (!value || !sim_attr_value_valid(value)) {
			sim_res_error(res, req, 400,
				      "value: supported types are string, number and arrays of those.");
			goto done;
		}
		if (desc && !cJSON_IsNull(desc) && !cJSON_IsString(desc)) {
			sim_res_error(res, req, 400, "failed to decode request body: description must be a string");
			goto done;
		}
	}
	d = sim_store_device(sim->store, req->params[0]);
	if (!d) {
		/* Upserts are off for tags: an unknown device is a silent no-op. */
		sim_res_empty(res, 200);
		goto done;
	}
	if (req->if_match && strcmp(req->if_match, d->etag)) {
		sim_res_error(res, req, 412, "ETag does not match");
		goto done;
	}
	tags = &d->attrs[SIM_SCOPE_TAGS];
	/* Count the tags the device would end up with. */
	cJSON_ArrayForEach(e, body) {
		const char *name = sim_json_get_string(e, "name");
		const cJSON *p;
		bool earlier = false;

		for (p = body->child; p != e; p = p->next)
			earlier = earlier || !strcmp(sim_json_get_string(p, "name"), name);
		if (!earlier && (replace || !sim_attrs_find(tags, name)))
			count++;
	}
	if (!replace)
		count += tags->n;
	if (count > LIMIT_TAGS) {
		sim_res_error(res, req, 400, "the number of attributes in the scope is above the limit");
		goto done;
	}
	if (replace)
		sim_attrs_clear(tags);
	cJSON_ArrayForEach(e, body)
		sim_attrs_set(tags, sim_json_get_string(e, "name"),
			      cJSON_Duplicate(sim_json_get(e, "value"), 1),
			      sim_json_get_string(e, "description"), now);
	sim_uuid4(d->etag);
	sim_device_touch(d, now);
	sim_res_empty(res, 200);
done:
	cJSON_Delete(body);
}

void sim_inventory_tags_patch(struct sim *sim, const struct sim_request *req,
			      struct sim_response *res)
{
	tags_update(sim, req, res, false);
}

void sim_inventory_tags_put(struct sim *sim, const struct sim_request *req,
			    struct sim_response *res)
{
	tags_update(sim, req, res, true);
}
