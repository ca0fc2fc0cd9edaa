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

int mender_parse_devices(const char *body, size_t len, struct mender_device_list *out,
			 size_t *got)
{
	const cJSON *d;
	cJSON *j = NULL;
	int err = parse_kind(body, len, cJSON_Array, &j);

	*got = 0;
	if (err)
		return err;
	cJSON_ArrayForEach(d, j) {
		struct mender_device *dev;
		char *id = json_str(d, "id", NULL);

		(*got)++;
		if (!id || !*id) {
			free(id);
			err = fg_error_set(FG_EHTTP, "a device without an id");
			break;
		}
		out->items = fg_grow(out->items, &out->alloc, out->n + 1, sizeof(*out->items));
		dev = &out->items[out->n++];
		memset(dev, 0, sizeof(*dev));
		dev->id = id;
		parse_attrs(json_field(d, "attributes"), out, dev);
	}
	cJSON_Delete(j);
	return err;
}

/* The flat form of .../statistics, or a Deployment's statistics.status. */
static void stats_from(const cJSON *j, struct mender_deployment *d)
{
	const cJSON *e, *src = json_field(j, "status");

	if (!cJSON_IsObject(src))
		src = j;
	cJSON_ArrayForEach(e, src) {
		if (!cJSON_IsNumber(e) || !e->string || !strcmp(e->string, "total_size"))
			continue;
		d->stats = fg_realloc(d->stats, (d->nstats + 1) * sizeof(*d->stats));
		d->stats[d->nstats].status = json_utf8_dup(e->string);
		d->stats[d->nstats].count = e->valuedouble >= 0 ? (long long)e->valuedouble : 0;
		d->nstats++;
	}
}

int mender_parse_deployments(const char *body, size_t len, struct mender_deployment_list *out,
			     size_t *got)
{
	const cJSON *d;
	cJSON *j = NULL;
	int err = parse_kind(body, len, cJSON_Array, &j);

	*got = 0;
	if (err)
		return err;
	cJSON_ArrayForEach(d, j) {
		struct mender_deployment *dep;
		char *id = json_str(d, "id", NULL);

		(*got)++;
		if (!id || !*id) {
			free(id);
			err = fg_error_set(FG_EHTTP, "a deployment without an id");
			break;
		}
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
			stats_from(json_field(d, "statistics"), dep);
	}
	cJSON_Delete(j);
	return err;
}

int mender_parse_stats(const char *body, size_t len, struct mender_deployment *d)
{
	cJSON *j = NULL;
	int err = parse_kind(body, len, cJSON_Object, &j);

	if (!err)
		stats_from(j, d);
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
