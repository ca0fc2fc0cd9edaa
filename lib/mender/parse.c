#include "mender/parse.h"

#include "core/alloc.h"
#include "core/error.h"
#include "mender/json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#define ZERO_UUID "00000000-0000-0000-0000-000000000000"

/* The document in [body, body+len), which must be of `kind` (cJSON_Array
 * or cJSON_Object). */
static int parse_kind(const char *body, size_t len, int kind, cJSON **out)
{
	size_t bad = 0;
	cJSON *j = json_parse_exact(body, len, &bad);

	*out = NULL;
	if (!j)
		return fg_error_set(FG_EHTTP, "the reply is not JSON (at byte %zu)", bad);
	if ((j->type & 0xff) != kind) {
		cJSON_Delete(j);
		return fg_error_set(FG_EHTTP, "the reply is not a JSON %s",
				    kind == cJSON_Array ? "array" : "object");
	}
	*out = j;
	return 0;
}

/* The list's one copy of an attribute's scope or name: 100,000 devices
 * share a handful of them. */
static const char *intern(struct mender_device_list *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->nnames; i++)
		if (!strcmp(l->names[i], s))
			return l->names[i];
	l->names = fg_grow(l->names, &l->names_alloc, l->nnames + 1, sizeof(*l->names));
	l->names[l->nnames] = fg_strdup(s);
	return l->names[l->nnames++];
}

static void parse_attrs(const cJSON *attrs, struct mender_device_list *l,
			struct mender_device *dev)
{
	const cJSON *a;

	if (!cJSON_IsArray(attrs))
		return;
	dev->attrs = fg_calloc((size_t)cJSON_GetArraySize(attrs) + 1, sizeof(*dev->attrs));
	cJSON_ArrayForEach(a, attrs) {
		struct mender_attr *at;
		char *name = json_str(a, "name", NULL);
		char *scope;

		if (!name)
			continue;
		scope = json_str(a, "scope", "inventory");
		at = &dev->attrs[dev->nattrs++];
		at->name = intern(l, name);
		at->scope = intern(l, scope);
		at->value = json_render(json_field(a, "value"));
		free(name);
		free(scope);
	}
}

/* The items of a list answer, each an object with a non-empty "id":
 * `take` gets each with its id (its own, malloc'd), in order; *got counts
 * them. `what` names an item in the error. */
static int each_with_id(const char *body, size_t len, const char *what, size_t *got,
			int (*take)(void *ctx, const cJSON *item, char *id), void *ctx)
{
	const cJSON *e;
	cJSON *j = NULL;
	int err = parse_kind(body, len, cJSON_Array, &j);

	*got = 0;
	if (err)
		return err;
	cJSON_ArrayForEach(e, j) {
		char *id = json_str(e, "id", NULL);

		(*got)++;
		if (!id || !*id) {
			free(id);
			err = fg_error_set(FG_EHTTP, "a %s without an id", what);
			break;
		}
		if ((err = take(ctx, e, id)))
			break;
	}
	cJSON_Delete(j);
	return err;
}

static int take_device(void *ctx, const cJSON *d, char *id)
{
	struct mender_device_list *out = ctx;
	struct mender_device *dev;

	out->items = fg_grow(out->items, &out->alloc, out->n + 1, sizeof(*out->items));
	dev = &out->items[out->n++];
	memset(dev, 0, sizeof(*dev));
	dev->id = id;
	parse_attrs(json_field(d, "attributes"), out, dev);
	return 0;
}

int mender_parse_devices(const char *body, size_t len, struct mender_device_list *out,
			 size_t *got)
{
	return each_with_id(body, len, "device", got, take_device, out);
}

/* The flat form of .../statistics, or a Deployment's statistics.status.
 * A count that is not a whole number from 0 to 2^53 is an error (found by
 * fuzz_mender: 3e64 does not fit a long long). */
static int stats_from(const cJSON *j, struct mender_deployment *d)
{
	const cJSON *e, *src = json_field(j, "status");

	if (!cJSON_IsObject(src))
		src = j;
	cJSON_ArrayForEach(e, src) {
		double v = e->valuedouble;

		if (!cJSON_IsNumber(e) || !e->string || !strcmp(e->string, "total_size"))
			continue;
		if (!(v >= 0 && v < 9007199254740992.0) || v != (double)(long long)v)
			return fg_error_set(FG_EHTTP, "the statistics count of '%s' is not a count",
					    e->string);
		d->stats = fg_realloc(d->stats, (d->nstats + 1) * sizeof(*d->stats));
		d->stats[d->nstats].status = json_utf8_dup(e->string);
		d->stats[d->nstats].count = (long long)v;
		d->nstats++;
	}
	return 0;
}

static int take_deployment(void *ctx, const cJSON *d, char *id)
{
	struct mender_deployment_list *out = ctx;
	struct mender_deployment *dep;

	out->items = fg_grow(out->items, &out->alloc, out->n + 1, sizeof(*out->items));
	dep = &out->items[out->n++];
	memset(dep, 0, sizeof(*dep));
	dep->id = id;
	dep->name = json_str(d, "name", "");
	dep->artifact_name = json_str(d, "artifact_name", "");
	dep->type = json_str(d, "type", "");
	dep->status = json_str(d, "status", "");
	dep->created = json_str(d, "created", "");
	/* ordering only: a time that does not parse sorts as oldest */
	if (*dep->created && mender_parse_time(dep->created, &dep->created_us))
		fg_error_clear();
	dep->device_count = json_int(d, "device_count");
	dep->max_devices = json_int(d, "max_devices");
	/* the list carries them already in Mender 4.x: no extra request */
	if (cJSON_IsObject(json_field(d, "statistics")))
		return stats_from(json_field(d, "statistics"), dep);
	return 0;
}

int mender_parse_deployments(const char *body, size_t len, struct mender_deployment_list *out,
			     size_t *got)
{
	return each_with_id(body, len, "deployment", got, take_deployment, out);
}

int mender_parse_stats(const char *body, size_t len, struct mender_deployment *d)
{
	cJSON *j = NULL;
	int err = parse_kind(body, len, cJSON_Object, &j);

	if (!err)
		err = stats_from(j, d);
	cJSON_Delete(j);
	return err;
}

int mender_parse_device_ids(const char *body, size_t len, struct mender_deployment *d)
{
	const cJSON *e;
	cJSON *j = NULL;
	int err = parse_kind(body, len, cJSON_Array, &j);

	if (err)
		return err;
	d->devices = fg_realloc(d->devices, ((size_t)cJSON_GetArraySize(j) + d->ndevices + 1) *
					     sizeof(*d->devices));
	cJSON_ArrayForEach(e, j)
		if (cJSON_IsString(e))
			d->devices[d->ndevices++] = json_utf8_dup(e->valuestring);
	cJSON_Delete(j);
	return 0;
}

int mender_parse_device_statuses(const char *body, size_t len,
				 struct mender_device_status_list *out, size_t *got)
{
	const cJSON *e;
	cJSON *j = NULL;
	int err = parse_kind(body, len, cJSON_Array, &j);

	*got = 0;
	if (err)
		return err;
	cJSON_ArrayForEach(e, j) {
		struct mender_device_status *ds;

		(*got)++;
		out->items = fg_grow(out->items, &out->alloc, out->n + 1, sizeof(*out->items));
		ds = &out->items[out->n++];
		ds->device_id = json_str(e, "id", "");
		ds->status = json_str(e, "status", "");
	}
	cJSON_Delete(j);
	return 0;
}

static int asked_for(const char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return 1;
	return 0;
}

int mender_parse_artifacts(const char *body, size_t len, const char *const *names,
			   size_t nnames, struct mender_artifact_list *out, size_t *got)
{
	const cJSON *a, *t;
	cJSON *j = NULL;
	int err = parse_kind(body, len, cJSON_Array, &j);

	*got = 0;
	if (err)
		return err;
	cJSON_ArrayForEach(a, j) {
		const cJSON *types = json_field(a, "device_types_compatible");
		const cJSON *name = json_field(a, "name");
		struct mender_artifact *art;

		(*got)++;
		if (!cJSON_IsString(name) || !asked_for(names, nnames, name->valuestring))
			continue;
		out->items = fg_grow(out->items, &out->alloc, out->n + 1, sizeof(*out->items));
		art = &out->items[out->n++];
		memset(art, 0, sizeof(*art));
		art->id = json_str(a, "id", "");
		art->name = json_utf8_dup(name->valuestring);
		if (!cJSON_IsArray(types))
			continue;
		art->device_types = fg_calloc((size_t)cJSON_GetArraySize(types) + 1,
					      sizeof(*art->device_types));
		cJSON_ArrayForEach(t, types)
			if (cJSON_IsString(t))
				art->device_types[art->ndevice_types++] = json_utf8_dup(t->valuestring);
	}
	cJSON_Delete(j);
	return 0;
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mender_kv *)a)->key, ((const struct mender_kv *)b)->key);
}

static size_t parse_map(const cJSON *obj, struct mender_kv **out)
{
	const cJSON *e;
	size_t n = 0;

	*out = NULL;
	if (!cJSON_IsObject(obj))
		return 0;
	*out = fg_calloc((size_t)cJSON_GetArraySize(obj) + 1, sizeof(**out));
	cJSON_ArrayForEach(e, obj) {
		if (!e->string)
			continue;
		(*out)[n].key = json_utf8_dup(e->string);
		(*out)[n].value = json_render(e);
		n++;
	}
	qsort(*out, n, sizeof(**out), kv_cmp);
	return n;
}

int mender_parse_config(const char *body, size_t len, struct mender_config *out)
{
	cJSON *j = NULL;
	int err = parse_kind(body, len, cJSON_Object, &j);

	mender_config_release(out);
	if (err)
		return err;
	out->found = 1;
	out->nconfigured = parse_map(json_field(j, "configured"), &out->configured);
	out->nreported = parse_map(json_field(j, "reported"), &out->reported);
	out->deployment_id = json_str(j, "deployment_id", NULL);
	cJSON_Delete(j);
	return 0;
}

int mender_parse_config_deployment(const char *body, size_t len, char **id)
{
	cJSON *j = NULL;
	int err = parse_kind(body, len, cJSON_Object, &j);

	*id = NULL;
	if (err)
		return err;
	*id = json_str(j, "deployment_id", NULL);
	if (!*id || !**id) {
		err = fg_error_set(FG_EHTTP, "no deployment_id");
	} else if (!strcmp(*id, ZERO_UUID)) {
		/* deviceconfig answers so when storing the deployment id
		 * failed and no workflow started: its error is dropped
		 * ("return response, nil", mender-server v4.1.3
		 * backend/services/deviceconfig/app/app.go DeployConfiguration) */
		err = fg_error_set(FG_EHTTP, "the all-zero deployment_id: nothing was deployed");
	}
	if (err) {
		free(*id);
		*id = NULL;
	}
	cJSON_Delete(j);
	return err;
}

int mender_parse_array_size(const char *body, size_t len, size_t *n)
{
	cJSON *j = NULL;
	int err = parse_kind(body, len, cJSON_Array, &j);

	*n = err ? 0 : (size_t)cJSON_GetArraySize(j);
	cJSON_Delete(j);
	return err;
}

int mender_parse_addon_absent(long status, const char *body, size_t len)
{
	char *error = NULL, *rid = NULL;
	int absent = 0;

	if (status == 403) {
		absent = 1;
	} else if (status == 404) {
		absent = mender_parse_error(body, len, &error, &rid) || !error;
		if (absent)
			fg_error_clear();
		free(error);
		free(rid);
	}
	return absent;
}

int mender_parse_error(const char *body, size_t len, char **error, char **request_id)
{
	size_t bad = 0;
	cJSON *j = json_parse_exact(body, len, &bad);

	*error = *request_id = NULL;
	if (!j)
		return fg_error_set(FG_EHTTP, "the reply is not JSON (at byte %zu)", bad);
	if (cJSON_IsObject(j)) {
		*error = json_str(j, "error", NULL);
		*request_id = json_str(j, "request_id", NULL);
	}
	cJSON_Delete(j);
	return 0;
}

/* `n` digits at s into *v; 0 when they are not all digits. */
static int digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return 0;
		*v = *v * 10 + (s[i] - '0');
	}
	return 1;
}

int mender_parse_time(const char *s, int64_t *us)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, v;
	int64_t frac = 0, scale = 1000000;
	const char *p = s + 19;
	struct tm tm;
	time_t t;

	*us = 0;
	if (strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &sec) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60)
		goto bad;
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			goto bad;
		/* any number of digits: microseconds kept, the rest dropped */
		for (; isdigit((unsigned char)*p); p++)
			if (scale > 1) {
				scale /= 10;
				frac += (*p - '0') * scale;
			}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && digits(p + 1, 2, &oh) && p[3] == ':' &&
		   digits(p + 4, 2, &om) && oh < 24 && om < 60) {
		v = (oh * 60 + om) * 60;
		oh = *p == '-' ? -v : v;
		p += 6;
	} else {
		goto bad;
	}
	if (*p)
		goto bad;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	*us = ((int64_t)t - oh) * 1000000 + frac;
	return 0;
bad:
	return fg_error_set(FG_EHTTP, "'%s' is not an RFC 3339 time", s);
}

int mender_parse_config_map(const char *json, size_t len, struct mender_kv **out, size_t *n)
{
	size_t bad = 0, i;
	cJSON *j = json_parse_exact(json, len, &bad);
	const cJSON *e;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (!j)
		return fg_error_set(FG_EINVAL, "not JSON (at byte %zu)", bad);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return fg_error_set(FG_EINVAL, "not a JSON object");
	}
	*out = fg_calloc((size_t)cJSON_GetArraySize(j) + 1, sizeof(**out));
	cJSON_ArrayForEach(e, j) {
		char *key = json_utf8_dup(e->string ? e->string : "");

		for (i = 0; i < *n && !rc; i++)
			if (!strcmp((*out)[i].key, key))
				rc = fg_error_set(FG_EINVAL, "the key '%s' comes twice", key);
		if (!rc && !cJSON_IsString(e))
			rc = fg_error_set(FG_EINVAL, "the value of '%s' is not a string", key);
		if (rc) {
			free(key);
			break;
		}
		(*out)[*n].key = key;
		(*out)[*n].value = json_utf8_dup(e->valuestring);
		(*n)++;
	}
	cJSON_Delete(j);
	if (rc) {
		mender_kv_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}
