#include "store.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const scope_names[SIM_NSCOPES] = {
	[SIM_SCOPE_IDENTITY] = "identity", [SIM_SCOPE_INVENTORY] = "inventory",
	[SIM_SCOPE_SYSTEM] = "system",	   [SIM_SCOPE_TAGS] = "tags",
	[SIM_SCOPE_MONITOR] = "monitor",
};

static const char *const behaviour_names[] = {
	[SIM_BEHAVE_SUCCESS] = "success",
	[SIM_BEHAVE_FAILURE] = "failure",
	[SIM_BEHAVE_OFFLINE] = "offline",
	[SIM_BEHAVE_INSTALLING] = "installing",
	[SIM_BEHAVE_REAL] = "real",
};

static const char *const dd_status_names[SIM_DD_NSTATUS] = {
	[SIM_DD_PENDING] = "pending",
	[SIM_DD_DOWNLOADING] = "downloading",
	[SIM_DD_INSTALLING] = "installing",
	[SIM_DD_REBOOTING] = "rebooting",
	[SIM_DD_PAUSE_BEFORE_INSTALLING] = "pause_before_installing",
	[SIM_DD_PAUSE_BEFORE_COMMITTING] = "pause_before_committing",
	[SIM_DD_PAUSE_BEFORE_REBOOTING] = "pause_before_rebooting",
	[SIM_DD_SUCCESS] = "success",
	[SIM_DD_FAILURE] = "failure",
	[SIM_DD_ABORTED] = "aborted",
	[SIM_DD_NOARTIFACT] = "noartifact",
	[SIM_DD_ALREADY_INSTALLED] = "already-installed",
	[SIM_DD_DECOMMISSIONED] = "decommissioned",
};

/* identity/status values deviceauth writes. */
static const char *const device_statuses[] = {
	"accepted", "pending", "rejected", "preauthorized", "noauth",
};

#define LIMIT_TAGS 20
#define LIMIT_ATTRIBUTES 100
#define LIMIT_NAME 1024

const char *sim_scope_name(enum sim_scope s)
{
	return scope_names[s];
}

int sim_scope_parse(const char *name)
{
	int i;

	for (i = 0; i < SIM_NSCOPES; i++)
		if (!strcmp(scope_names[i], name))
			return i;
	return -1;
}

const char *sim_behaviour_name(enum sim_behaviour b)
{
	return behaviour_names[b];
}

int sim_behaviour_parse(const char *name)
{
	int i;

	for (i = 0; i < SIM_NBEHAVIOURS; i++)
		if (!strcmp(behaviour_names[i], name))
			return i;
	return -1;
}

const char *sim_dd_status_name(enum sim_dd_status s)
{
	return dd_status_names[s];
}

int sim_dd_status_parse(const char *name)
{
	int i;

	for (i = 0; i < SIM_DD_NSTATUS; i++)
		if (!strcmp(dd_status_names[i], name))
			return i;
	return -1;
}

bool sim_dd_status_active(enum sim_dd_status s)
{
	return s <= SIM_DD_PAUSE_BEFORE_REBOOTING;
}

struct sim_attr *sim_attrs_find(const struct sim_attrs *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (!strcmp(a->v[i].name, name))
			return &a->v[i];
	return NULL;
}

void sim_attrs_set(struct sim_attrs *a, const char *name, cJSON *value,
		   const char *description, int64_t ts_us)
{
	struct sim_attr *at = sim_attrs_find(a, name);

	if (!at) {
		sim_grow((void **)&a->v, &a->alloc, a->n + 1, sizeof(*a->v));
		at = &a->v[a->n++];
		at->name = sim_xstrdup(name);
	} else {
		cJSON_Delete(at->value);
		free(at->description);
	}
	at->value = value;
	at->description = description ? sim_xstrdup(description) : NULL;
	at->ts_us = ts_us;
}

void sim_attrs_clear(struct sim_attrs *a)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		free(a->v[i].name);
		cJSON_Delete(a->v[i].value);
		free(a->v[i].description);
	}
	free(a->v);
	a->v = NULL;
	a->n = a->alloc = 0;
}

const char *sim_device_string(const struct sim_device *d, enum sim_scope scope,
			      const char *name)
{
	const struct sim_attr *a = sim_attrs_find(&d->attrs[scope], name);

	return a && cJSON_IsString(a->value) ? a->value->valuestring : NULL;
}

static void set_time_attr(struct sim_attrs *a, const char *name, int64_t us)
{
	char ts[32];

	sim_format_time(us, ts);
	sim_attrs_set(a, name, cJSON_CreateString(ts), NULL, 0);
}

void sim_device_touch(struct sim_device *d, int64_t now)
{
	d->updated_us = now;
	set_time_attr(&d->attrs[SIM_SCOPE_SYSTEM], "updated_ts", now);
}

bool sim_artifact_compatible(const struct sim_artifact *a, const char *device_type)
{
	size_t i;

	if (!device_type)
		return false;
	for (i = 0; i < a->ndevice_types; i++)
		if (!strcmp(a->device_types[i], device_type))
			return true;
	return false;
}

bool sim_deployment_active(const struct sim_deployment *d)
{
	return d->finished_us == 0;
}

const char *sim_deployment_status(const struct sim_deployment *d)
{
	int i;

	if (d->finished_us)
		return "finished";
	for (i = 0; i < SIM_DD_NSTATUS; i++)
		if (i != SIM_DD_PENDING && d->stats[i])
			return "inprogress";
	return "pending";
}

static void device_release(struct sim_device *d)
{
	int i;

	for (i = 0; i < SIM_NSCOPES; i++)
		sim_attrs_clear(&d->attrs[i]);
	free(d->group);
	d->group = NULL;
}

static void device_free(struct sim_device *d)
{
	device_release(d);
	free(d->id);
	free(d);
}

static void artifact_free(struct sim_artifact *a)
{
	size_t i;

	for (i = 0; i < a->ndevice_types; i++)
		free(a->device_types[i]);
	free(a->device_types);
	free(a->name);
	free(a->description);
	free(a->update_type);
	free(a);
}

static void deployment_free(struct sim_deployment *d)
{
	size_t i;

	for (i = 0; i < d->nrecords; i++) {
		free(d->records[i]->device_id);
		free(d->records[i]->device_type);
		free(d->records[i]);
	}
	free(d->records);
	for (i = 0; i < d->ndevices; i++)
		free(d->devices[i]);
	free(d->devices);
	sim_map_free(d->members);
	free(d->name);
	free(d->artifact_name);
	free(d->group);
	free(d->config_json);
	free(d->key);
	free(d);
}

static void config_free(struct sim_config *c)
{
	cJSON_Delete(c->configured);
	cJSON_Delete(c->reported);
	free(c);
}

struct sim_store *sim_store_new(void)
{
	struct sim_store *s = sim_xcalloc(1, sizeof(*s));

	s->devices = sim_map_new();
	s->deployments = sim_map_new();
	s->dd_by_device = sim_map_new();
	s->configs = sim_map_new();
	s->active_keys = sim_map_new();
	s->version = SIM_VERSION_DEFAULT;
	return s;
}

static void free_dd_list(const char *key, void *value, void *arg)
{
	struct sim_dd_list *l = value;

	(void)key;
	(void)arg;
	free(l->v);
	free(l);
}

static void free_config(const char *key, void *value, void *arg)
{
	(void)key;
	(void)arg;
	config_free(value);
}

void sim_store_free(struct sim_store *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->ndevices; i++)
		device_free(s->order[i]);
	free(s->order);
	for (i = 0; i < s->ndeps; i++)
		deployment_free(s->deps[i]);
	free(s->deps);
	for (i = 0; i < s->nartifacts; i++)
		artifact_free(s->artifacts[i]);
	free(s->artifacts);
	for (i = 0; i < s->nretired; i++)
		artifact_free(s->retired[i]);
	free(s->retired);
	sim_map_each(s->dd_by_device, free_dd_list, NULL);
	sim_map_each(s->configs, free_config, NULL);
	sim_map_free(s->devices);
	sim_map_free(s->deployments);
	sim_map_free(s->dd_by_device);
	sim_map_free(s->configs);
	sim_map_free(s->active_keys);
	free(s);
}

struct sim_device *sim_store_device(const struct sim_store *s, const char *id)
{
	return sim_map_get(s->devices, id);
}

struct sim_deployment *sim_store_deployment(const struct sim_store *s, const char *id)
{
	return sim_map_get(s->deployments, id);
}

struct sim_config *sim_store_config(const struct sim_store *s, const char *device_id)
{
	return sim_map_get(s->configs, device_id);
}

struct sim_config *sim_store_config_upsert(struct sim_store *s, const char *device_id,
					   int64_t now)
{
	struct sim_config *c = sim_map_get(s->configs, device_id);

	if (c)
		return c;
	c = sim_xcalloc(1, sizeof(*c));
	c->configured = cJSON_CreateObject();
	c->reported = cJSON_CreateObject();
	c->updated_us = now;
	sim_map_put(s->configs, device_id, c);
	return c;
}

const struct sim_dd_list *sim_store_device_records(const struct sim_store *s,
						   const char *device_id)
{
	return sim_map_get(s->dd_by_device, device_id);
}

/* ---- seed documents ---------------------------------------------------- */

static bool valid_device_id(const char *id)
{
	size_t n = strlen(id), i;

	if (n == 0 || n > 256)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && !strchr("._:-", id[i]))
			return false;
	return true;
}

static bool valid_group_name(const char *g)
{
	size_t n = strlen(g), i;

	if (n == 0 || n > LIMIT_NAME)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)g[i]) && g[i] != '_' && g[i] != '-')
			return false;
	return true;
}

/* An attribute value as Mender accepts it: a string, a number, or an array
 * of strings or of numbers (not mixed). */
bool sim_attr_value_valid(const cJSON *v)
{
	const cJSON *e;
	int kind = 0;

	if (cJSON_IsString(v) || cJSON_IsNumber(v))
		return true;
	if (!cJSON_IsArray(v))
		return false;
	cJSON_ArrayForEach(e, v) {
		int k = cJSON_IsString(e) ? 1 : cJSON_IsNumber(e) ? 2 : 3;

		if (k == 3 || (kind && k != kind))
			return false;
		kind = k;
	}
	return true;
}

static bool key_allowed(const char *key, const char *const *allowed)
{
	for (; *allowed; allowed++)
		if (!strcmp(key, *allowed))
			return true;
	return false;
}

static int check_keys(const cJSON *obj, const char *const *allowed, const char *where,
		      struct sim_buf *err)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, obj) {
		if (!key_allowed(m->string, allowed)) {
			sim_buf_printf(err, "%s: unknown key '%s'", where, m->string);
			return -1;
		}
	}
	return 0;
}

static int check_attr_map(const cJSON *obj, const char *where, const char *what, size_t limit,
			  bool strings_only, struct sim_buf *err)
{
	const cJSON *m;

	if (!obj)
		return 0;
	if (!cJSON_IsObject(obj)) {
		sim_buf_printf(err, "%s: '%s' must be an object", where, what);
		return -1;
	}
	if ((size_t)cJSON_GetArraySize(obj) > limit) {
		sim_buf_printf(err, "%s: '%s' has more than %zu entries", where, what, limit);
		return -1;
	}
	cJSON_ArrayForEach(m, obj) {
		if (!*m->string || strlen(m->string) > LIMIT_NAME) {
			sim_buf_printf(err, "%s: '%s' has an empty or too long name", where, what);
			return -1;
		}
		if (strings_only ? !cJSON_IsString(m) : !sim_attr_value_valid(m)) {
			sim_buf_printf(err, "%s: %s '%s' must be %s", where, what, m->string,
				       strings_only ? "a string"
						    : "a string, a number or an array of those");
			return -1;
		}
	}
	return 0;
}

static int check_enum(const cJSON *v, const char *where, const char *what,
		      const char *const *names, size_t nnames, struct sim_buf *err)
{
	size_t i;

	if (!v)
		return 0;
	if (cJSON_IsString(v))
		for (i = 0; i < nnames; i++)
			if (!strcmp(v->valuestring, names[i]))
				return 0;
	sim_buf_printf(err, "%s: '%s' must be one of", where, what);
	for (i = 0; i < nnames; i++)
		sim_buf_printf(err, "%s %s", i ? "," : "", names[i]);
	return -1;
}

static int check_device(const cJSON *d, const char *where, struct sim_buf *err)
{
	static const char *const keys[] = { "id",	  "device_type", "inventory", "tags",
					    "configured", "reported",	 "behaviour", "status",
					    "group",	  NULL };
	const cJSON *id = sim_json_get(d, "id"), *dt = sim_json_get(d, "device_type");
	const cJSON *inv = sim_json_get(d, "inventory"), *group = sim_json_get(d, "group");

	if (!cJSON_IsObject(d)) {
		sim_buf_printf(err, "%s: must be an object", where);
		return -1;
	}
	if (check_keys(d, keys, where, err))
		return -1;
	if (!cJSON_IsString(id) || !valid_device_id(id->valuestring)) {
		sim_buf_printf(err, "%s: 'id' must be 1-256 characters of [A-Za-z0-9._:-]", where);
		return -1;
	}
	if (dt && (!cJSON_IsString(dt) || !*dt->valuestring)) {
		sim_buf_printf(err, "%s: 'device_type' must be a non-empty string", where);
		return -1;
	}
	if (dt && sim_json_get(inv, "device_type")) {
		sim_buf_printf(err, "%s: give device_type once, not also in 'inventory'", where);
		return -1;
	}
	if (group && (!cJSON_IsString(group) || !valid_group_name(group->valuestring))) {
		sim_buf_printf(err, "%s: 'group' must be 1-1024 characters of [A-Za-z0-9_-]", where);
		return -1;
	}
	if (check_attr_map(inv, where, "inventory", LIMIT_ATTRIBUTES, false, err) ||
	    check_attr_map(sim_json_get(d, "tags"), where, "tags", LIMIT_TAGS, false, err) ||
	    check_attr_map(sim_json_get(d, "configured"), where, "configured", SIZE_MAX, true,
			   err) ||
	    check_attr_map(sim_json_get(d, "reported"), where, "reported", SIZE_MAX, true, err) ||
	    check_enum(sim_json_get(d, "behaviour"), where, "behaviour", behaviour_names,
		       SIM_NBEHAVIOURS, err) ||
	    check_enum(sim_json_get(d, "status"), where, "status", device_statuses, 5, err))
		return -1;
	return 0;
}

static int check_artifact(const cJSON *a, const char *where, struct sim_buf *err)
{
	static const char *const keys[] = {
		"id", "name", "description", "device_types_compatible", "size", "type", NULL
	};
	const cJSON *name = sim_json_get(a, "name"), *types, *e, *v;

	if (!cJSON_IsObject(a)) {
		sim_buf_printf(err, "%s: must be an object", where);
		return -1;
	}
	if (check_keys(a, keys, where, err))
		return -1;
	if (!cJSON_IsString(name) || !*name->valuestring || strlen(name->valuestring) > 4096) {
		sim_buf_printf(err, "%s: 'name' must be a string of 1-4096 characters", where);
		return -1;
	}
	types = sim_json_get(a, "device_types_compatible");
	if (!cJSON_IsArray(types) || cJSON_GetArraySize(types) == 0) {
		sim_buf_printf(err, "%s: 'device_types_compatible' must be a non-empty array",
			       where);
		return -1;
	}
	cJSON_ArrayForEach(e, types) {
		if (!cJSON_IsString(e) || !*e->valuestring) {
			sim_buf_printf(err, "%s: device types must be non-empty strings", where);
			return -1;
		}
	}
	v = sim_json_get(a, "id");
	if (v && (!cJSON_IsString(v) || !sim_is_uuid(v->valuestring))) {
		sim_buf_printf(err, "%s: 'id' must be a UUID", where);
		return -1;
	}
	v = sim_json_get(a, "description");
	if (v && !cJSON_IsString(v)) {
		sim_buf_printf(err, "%s: 'description' must be a string", where);
		return -1;
	}
	v = sim_json_get(a, "type");
	if (v && (!cJSON_IsString(v) || !*v->valuestring)) {
		sim_buf_printf(err, "%s: 'type' must be a non-empty string", where);
		return -1;
	}
	v = sim_json_get(a, "size");
	if (v && !sim_json_is_int(v, 0, 9007199254740991.0)) {
		sim_buf_printf(err, "%s: 'size' must be a non-negative integer", where);
		return -1;
	}
	return 0;
}

static void set_attr_map(struct sim_attrs *a, const cJSON *obj, int64_t ts)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, obj)
		sim_attrs_set(a, m->string, cJSON_Duplicate(m, 1), NULL, ts);
}

static void apply_device(struct sim_store *s, const cJSON *e, int64_t now)
{
	const char *id = sim_json_get_string(e, "id");
	const char *dt = sim_json_get_string(e, "device_type");
	const char *status = sim_json_get_string(e, "status");
	const char *behaviour = sim_json_get_string(e, "behaviour");
	const char *group = sim_json_get_string(e, "group");
	const cJSON *configured = sim_json_get(e, "configured");
	const cJSON *reported = sim_json_get(e, "reported");
	struct sim_device *d = sim_map_get(s->devices, id);

	if (d) {
		device_release(d);
	} else {
		d = sim_xcalloc(1, sizeof(*d));
		d->id = sim_xstrdup(id);
		d->created_us = now;
		sim_map_put(s->devices, id, d);
		sim_grow((void **)&s->order, &s->adevices, s->ndevices + 1, sizeof(*s->order));
		s->order[s->ndevices++] = d;
	}
	sim_attrs_set(&d->attrs[SIM_SCOPE_IDENTITY], "status",
		      cJSON_CreateString(status ? status : "accepted"), NULL, 0);
	if (dt)
		sim_attrs_set(&d->attrs[SIM_SCOPE_INVENTORY], "device_type",
			      cJSON_CreateString(dt), NULL, 0);
	set_attr_map(&d->attrs[SIM_SCOPE_INVENTORY], sim_json_get(e, "inventory"), 0);
	set_attr_map(&d->attrs[SIM_SCOPE_TAGS], sim_json_get(e, "tags"), now);
	if (group) {
		d->group = sim_xstrdup(group);
		sim_attrs_set(&d->attrs[SIM_SCOPE_SYSTEM], "group", cJSON_CreateString(group),
			      NULL, 0);
	}
	set_time_attr(&d->attrs[SIM_SCOPE_SYSTEM], "created_ts", d->created_us);
	sim_device_touch(d, now);
	sim_uuid4(d->etag);
	d->behaviour = behaviour ? (enum sim_behaviour)sim_behaviour_parse(behaviour)
				 : SIM_BEHAVE_SUCCESS;
	if (configured || reported) {
		struct sim_config *c = sim_store_config_upsert(s, id, now);

		cJSON_Delete(c->configured);
		cJSON_Delete(c->reported);
		c->configured = configured ? cJSON_Duplicate(configured, 1) : cJSON_CreateObject();
		c->reported = reported ? cJSON_Duplicate(reported, 1) : cJSON_CreateObject();
		c->updated_us = now;
		c->reported_us = reported ? now : 0;
	}
}

static void apply_artifact(struct sim_store *s, const cJSON *e, int64_t now)
{
	struct sim_artifact *a = sim_xcalloc(1, sizeof(*a));
	const cJSON *types = sim_json_get(e, "device_types_compatible"), *t;
	const char *id = sim_json_get_string(e, "id");
	const char *desc = sim_json_get_string(e, "description");
	const char *type = sim_json_get_string(e, "type");
	const cJSON *size = sim_json_get(e, "size");
	size_t n = 0;

	if (id)
		snprintf(a->id, sizeof(a->id), "%s", id);
	else
		sim_uuid4(a->id);
	a->name = sim_xstrdup(sim_json_get_string(e, "name"));
	a->description = sim_xstrdup(desc ? desc : "");
	a->update_type = sim_xstrdup(type ? type : "rootfs-image");
	a->size = size ? (int64_t)size->valuedouble : 0;
	a->modified_us = now;
	a->device_types = sim_xcalloc((size_t)cJSON_GetArraySize(types), sizeof(char *));
	cJSON_ArrayForEach(t, types)
		a->device_types[n++] = sim_xstrdup(t->valuestring);
	a->ndevice_types = n;
	sim_grow((void **)&s->artifacts, &s->aartifacts, s->nartifacts + 1, sizeof(*s->artifacts));
	s->artifacts[s->nartifacts++] = a;
}

enum sim_delete_result sim_store_delete_artifact(struct sim_store *s, const char *id)
{
	struct sim_artifact *a = NULL;
	size_t i, at = 0;

	for (i = 0; i < s->nartifacts && !a; i++)
		if (!strcmp(s->artifacts[i]->id, id))
			a = s->artifacts[at = i];
	if (!a)
		return SIM_DELETE_NOT_FOUND;
	for (i = 0; i < s->ndeps; i++)
		if (sim_deployment_active(s->deps[i]) && !s->deps[i]->configuration &&
		    !strcmp(s->deps[i]->artifact_name, a->name))
			return SIM_DELETE_IN_USE;
	memmove(&s->artifacts[at], &s->artifacts[at + 1],
		(s->nartifacts - at - 1) * sizeof(*s->artifacts));
	s->nartifacts--;
	/* records may still point at it: freed with the store */
	sim_grow((void **)&s->retired, &s->aretired, s->nretired + 1, sizeof(*s->retired));
	s->retired[s->nretired++] = a;
	return SIM_DELETED;
}

int sim_store_seed(struct sim_store *s, const cJSON *doc, bool replace, struct sim_buf *err)
{
	static const char *const keys[] = { "devices", "artifacts", NULL };
	const cJSON *devices = sim_json_get(doc, "devices");
	const cJSON *artifacts = sim_json_get(doc, "artifacts");
	struct sim_map *seen = NULL;
	const cJSON *e;
	int64_t now = sim_now_us();
	char where[64];
	size_t i;
	int ret = -1;

	if (!cJSON_IsObject(doc)) {
		sim_buf_puts(err, "the seed must be a JSON object");
		goto done;
	}
	if (check_keys(doc, keys, "seed", err))
		goto done;
	if ((devices && !cJSON_IsArray(devices)) || (artifacts && !cJSON_IsArray(artifacts))) {
		sim_buf_puts(err, "'devices' and 'artifacts' must be arrays");
		goto done;
	}
	seen = sim_map_new();
	i = 0;
	cJSON_ArrayForEach(e, devices) {
		const char *id;

		snprintf(where, sizeof(where), "devices[%zu]", i++);
		if (check_device(e, where, err))
			goto done;
		id = sim_json_get_string(e, "id");
		if (sim_map_put(seen, id, (void *)e)) {
			sim_buf_printf(err, "%s: device '%s' appears twice", where, id);
			goto done;
		}
		if (!replace && sim_map_get(s->devices, id)) {
			sim_buf_printf(err, "%s: device '%s' exists already", where, id);
			goto done;
		}
	}
	i = 0;
	cJSON_ArrayForEach(e, artifacts) {
		const char *id = sim_json_get_string(e, "id");
		size_t j;

		snprintf(where, sizeof(where), "artifacts[%zu]", i++);
		if (check_artifact(e, where, err))
			goto done;
		for (j = 0; id && j < s->nartifacts; j++) {
			if (!strcmp(s->artifacts[j]->id, id)) {
				sim_buf_printf(err, "%s: artifact id '%s' exists already", where, id);
				goto done;
			}
		}
	}
	cJSON_ArrayForEach(e, devices)
		apply_device(s, e, now);
	cJSON_ArrayForEach(e, artifacts)
		apply_artifact(s, e, now);
	ret = 0;
done:
	sim_map_free(seen);
	return ret;
}

/* ---- deployments --------------------------------------------------------- */

static void deactivate(struct sim_store *s, struct sim_deployment *d, int64_t now)
{
	d->finished_us = now;
	if (d->key && sim_map_get(s->active_keys, d->key) == d)
		sim_map_del(s->active_keys, d->key);
}

/* model/deployment.go IsFinished: final records reach max_devices. */
static void check_finished(struct sim_store *s, struct sim_deployment *d, int64_t now)
{
	size_t final = d->stats[SIM_DD_SUCCESS] + d->stats[SIM_DD_FAILURE] +
		       d->stats[SIM_DD_ABORTED] + d->stats[SIM_DD_NOARTIFACT] +
		       d->stats[SIM_DD_ALREADY_INSTALLED] + d->stats[SIM_DD_DECOMMISSIONED];

	if (!d->finished_us && d->max_devices > 0 && final >= d->max_devices)
		deactivate(s, d, now);
}

static char *constructor_key(const struct sim_new_deployment *nd, const char *const *ids,
			     size_t n)
{
	cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "devices");
	char *key;
	size_t i;

	cJSON_AddStringToObject(o, "name", nd->name);
	cJSON_AddStringToObject(o, "artifact_name", nd->artifact_name);
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(ids[i]));
	cJSON_AddBoolToObject(o, "all_devices", nd->all_devices);
	cJSON_AddBoolToObject(o, "force_installation", nd->force);
	key = sim_json_print(o);
	cJSON_Delete(o);
	return key;
}

static bool artifact_name_exists(const struct sim_store *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nartifacts; i++)
		if (!strcmp(s->artifacts[i]->name, name))
			return true;
	return false;
}

enum sim_create_result sim_store_create_deployment(struct sim_store *s,
						   const struct sim_new_deployment *nd,
						   int64_t now, struct sim_deployment **out)
{
	const char **resolved = NULL;
	const char *const *ids = nd->devices;
	size_t n = nd->ndevices, i;
	struct sim_deployment *d;
	enum sim_create_result ret;
	char *key = NULL;

	*out = NULL;
	/* app.CreateDeployment: resolve the devices, then the artifact, then
	 * the insert that enforces the unique constructor among active ones. */
	if (nd->group || nd->all_devices) {
		resolved = sim_xcalloc(s->ndevices, sizeof(*resolved));
		for (n = 0, i = 0; i < s->ndevices; i++) {
			const struct sim_device *dev = s->order[i];
			const char *st = sim_device_string(dev, SIM_SCOPE_IDENTITY, "status");

			if (!st || strcmp(st, "accepted"))
				continue;
			if (nd->group && (!dev->group || strcmp(dev->group, nd->group)))
				continue;
			resolved[n++] = dev->id;
		}
		ids = resolved;
		if (n == 0) {
			ret = SIM_CREATE_NO_DEVICES;
			goto done;
		}
	}
	if (!nd->config_json && !artifact_name_exists(s, nd->artifact_name)) {
		ret = SIM_CREATE_NO_ARTIFACT;
		goto done;
	}
	if (nd->id && sim_map_get(s->deployments, nd->id)) {
		ret = SIM_CREATE_DUPLICATE_ID;
		goto done;
	}
	if (!nd->config_json && sim_version_conflict_guard(s->version)) {
		key = constructor_key(nd, ids, n);
		if (sim_map_get(s->active_keys, key)) {
			ret = SIM_CREATE_CONFLICT;
			goto done;
		}
	}
	d = sim_xcalloc(1, sizeof(*d));
	if (nd->id)
		snprintf(d->id, sizeof(d->id), "%s", nd->id);
	else
		sim_uuid4(d->id);
	d->name = sim_xstrdup(nd->name);
	d->artifact_name = sim_xstrdup(nd->artifact_name);
	d->devices = sim_xcalloc(n, sizeof(char *));
	d->members = sim_map_new();
	for (i = 0; i < n; i++) {
		d->devices[i] = sim_xstrdup(ids[i]);
		sim_map_put(d->members, ids[i], d);
	}
	d->ndevices = d->max_devices = n;
	/* v4.1.0 app.go CreateDeployment, CreateDeviceConfigurationDeployment:
	 * Stats["pending"] = MaxDevices. */
	if (sim_version_stats_preset(s->version))
		d->stats[SIM_DD_PENDING] = n;
	d->all_devices = nd->all_devices;
	d->force = nd->force;
	d->group = nd->group ? sim_xstrdup(nd->group) : NULL;
	d->configuration = nd->config_json != NULL;
	d->config_json = nd->config_json ? sim_xstrdup(nd->config_json) : NULL;
	d->key = key;
	key = NULL;
	/* Strictly increasing creation times keep "created after" exact. */
	d->created_us = now > s->last_created_us ? now : s->last_created_us + 1;
	s->last_created_us = d->created_us;
	sim_map_put(s->deployments, d->id, d);
	if (d->key)
		sim_map_put(s->active_keys, d->key, d);
	sim_grow((void **)&s->deps, &s->adeps, s->ndeps + 1, sizeof(*s->deps));
	s->deps[s->ndeps++] = d;
	*out = d;
	ret = SIM_CREATED;
done:
	free(key);
	free(resolved);
	return ret;
}

static struct sim_dd_list *records_of(struct sim_store *s, const char *device_id)
{
	struct sim_dd_list *l = sim_map_get(s->dd_by_device, device_id);

	if (!l) {
		l = sim_xcalloc(1, sizeof(*l));
		sim_map_put(s->dd_by_device, device_id, l);
	}
	return l;
}

/*
 * The statistics of a record made for a device. Up to v4.0.4
 * createDeviceDeploymentWithStatus counts it (UpdateStatsInc from null to
 * its status). v4.1.x removed that, the new deployment counting every
 * device as pending already: a poll's record moves out of pending as the
 * device reports (updateDeviceDeploymentStatus, here at once for
 * noartifact/already-installed), while the aborted record a per-device
 * abort makes for a device that never polled changes nothing, so such a
 * deployment never finishes. Counts do not go below zero (Mongo's $inc
 * would), for a device polling a deployment twice after a history reset.
 */
static void count_new_record(struct sim_store *s, struct sim_deployment *d,
			     enum sim_dd_status status, bool polled)
{
	if (!sim_version_stats_preset(s->version)) {
		d->stats[status]++;
		return;
	}
	if (!polled || status == SIM_DD_PENDING)
		return;
	if (d->stats[SIM_DD_PENDING])
		d->stats[SIM_DD_PENDING]--;
	d->stats[status]++;
}

static struct sim_devdep *new_record(struct sim_store *s, struct sim_deployment *d,
				     const char *device_id, const char *device_type,
				     enum sim_dd_status status,
				     const struct sim_artifact *image, bool polled, int64_t now)
{
	struct sim_devdep *r = sim_xcalloc(1, sizeof(*r));
	struct sim_dd_list *l = records_of(s, device_id);

	sim_uuid4(r->id);
	r->dep = d;
	r->device_id = sim_xstrdup(device_id);
	r->device_type = device_type ? sim_xstrdup(device_type) : NULL;
	r->status = status;
	r->image = image;
	/* deviceDeployment.Created is the deployment's creation time. */
	r->created_us = d->created_us;
	r->started_us = now;
	if (!sim_dd_status_active(status))
		r->finished_us = now;
	sim_grow((void **)&d->records, &d->arecords, d->nrecords + 1, sizeof(*d->records));
	d->records[d->nrecords++] = r;
	sim_grow((void **)&l->v, &l->alloc, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = r;
	count_new_record(s, d, status, polled);
	check_finished(s, d, now);
	return r;
}

/* The oldest active (non-deleted) record of a device, and the creation time
 * of its latest finished one (0 when none). */
static struct sim_devdep *oldest_active(const struct sim_dd_list *l, int64_t *last_finished)
{
	struct sim_devdep *best = NULL;
	size_t i;

	*last_finished = 0;
	for (i = 0; l && i < l->n; i++) {
		struct sim_devdep *r = l->v[i];

		if (r->deleted_us)
			continue;
		if (sim_dd_status_active(r->status)) {
			if (!best || r->created_us < best->created_us)
				best = r;
		} else if (r->created_us > *last_finished) {
			*last_finished = r->created_us;
		}
	}
	return best;
}

/* The oldest active deployment created after `after` that lists the device. */
static struct sim_deployment *next_deployment(const struct sim_store *s, const char *device_id,
					      int64_t after)
{
	size_t i;

	for (i = 0; i < s->ndeps; i++) {
		struct sim_deployment *d = s->deps[i];

		if (sim_deployment_active(d) && d->created_us > after &&
		    sim_map_get(d->members, device_id))
			return d;
	}
	return NULL;
}

struct sim_devdep *sim_store_poll(struct sim_store *s, const struct sim_device *dev, int64_t now)
{
	return sim_store_poll_as(s, dev, sim_device_string(dev, SIM_SCOPE_INVENTORY, "device_type"),
				 sim_device_string(dev, SIM_SCOPE_INVENTORY, "artifact_name"), now);
}

struct sim_devdep *sim_store_poll_as(struct sim_store *s, const struct sim_device *dev,
				     const char *device_type, const char *installed, int64_t now)
{
	const struct sim_artifact *image = NULL;
	enum sim_dd_status status = SIM_DD_PENDING;
	struct sim_deployment *d;
	struct sim_devdep *r;
	int64_t last;
	size_t i;

	r = oldest_active(sim_map_get(s->dd_by_device, dev->id), &last);
	if (r)
		return r;
	d = next_deployment(s, dev->id, last);
	if (!d)
		return NULL;
	if (!d->configuration) {
		for (i = 0; i < s->nartifacts && !image; i++)
			if (!strcmp(s->artifacts[i]->name, d->artifact_name) &&
			    sim_artifact_compatible(s->artifacts[i], device_type))
				image = s->artifacts[i];
		if (!image)
			status = SIM_DD_NOARTIFACT;
		else if (!d->force && installed && !strcmp(installed, d->artifact_name))
			status = SIM_DD_ALREADY_INSTALLED;
	}
	return new_record(s, d, dev->id, device_type, status, image, true, now);
}

void sim_store_set_status(struct sim_store *s, struct sim_devdep *r, enum sim_dd_status status,
			  int64_t now)
{
	struct sim_deployment *d = r->dep;

	if (d->stats[r->status])
		d->stats[r->status]--;
	d->stats[status]++;
	r->status = status;
	if (!sim_dd_status_active(status))
		r->finished_us = now;
	check_finished(s, d, now);
}

bool sim_store_abort_deployment(struct sim_store *s, struct sim_deployment *d, int64_t now)
{
	size_t i;

	if (!sim_deployment_active(d))
		return false;
	for (i = 0; i < d->nrecords; i++)
		if (sim_dd_status_active(d->records[i]->status))
			sim_store_set_status(s, d->records[i], SIM_DD_ABORTED, now);
	/* app.go AbortDeployment (v4.0.4, v4.1.3, and 4.6.0): the statistics
	 * become the records' counts (AggregateDeviceDeploymentByStatus), so
	 * 4.1's preset pending of devices that never polled is gone. */
	memset(d->stats, 0, sizeof(d->stats));
	for (i = 0; i < d->nrecords; i++)
		d->stats[d->records[i]->status]++;
	d->aborted = true;
	/* Setting a record aborted may have finished it already. */
	if (sim_deployment_active(d))
		deactivate(s, d, now);
	return true;
}

void sim_store_abort_device(struct sim_store *s, const char *device_id, int64_t now)
{
	struct sim_devdep *r;
	struct sim_deployment *d;
	int64_t last;

	r = oldest_active(sim_map_get(s->dd_by_device, device_id), &last);
	if (r) {
		sim_store_set_status(s, r, SIM_DD_ABORTED, now);
		last = r->created_us;
	}
	/* At most one later deployment gets an aborted record per call (v4.1.3
	 * app.go updateDeviceDeploymentsStatus). */
	d = next_deployment(s, device_id, last);
	if (d)
		new_record(s, d, device_id, NULL, SIM_DD_ABORTED, NULL, false, now);
}

void sim_store_reset_history(struct sim_store *s, const char *device_id, int64_t now)
{
	struct sim_dd_list *l = sim_map_get(s->dd_by_device, device_id);
	size_t i;

	for (i = 0; l && i < l->n; i++)
		if (!sim_dd_status_active(l->v[i]->status) && !l->v[i]->deleted_us)
			l->v[i]->deleted_us = now;
}

static void install(struct sim_store *s, struct sim_device *dev, struct sim_devdep *r, int64_t now)
{
	struct sim_deployment *d = r->dep;
	struct sim_attrs *inv = &dev->attrs[SIM_SCOPE_INVENTORY];

	if (dev->behaviour == SIM_BEHAVE_FAILURE) {
		sim_store_set_status(s, r, SIM_DD_FAILURE, now);
		return;
	}
	if (dev->behaviour == SIM_BEHAVE_INSTALLING && !d->configuration) {
		if (r->status != SIM_DD_INSTALLING)
			sim_store_set_status(s, r, SIM_DD_INSTALLING, now);
		return;
	}
	if (d->configuration) {
		struct sim_config *c = sim_store_config_upsert(s, dev->id, now);
		const char *err;
		cJSON *map = sim_json_parse(d->config_json, strlen(d->config_json), &err);

		cJSON_Delete(c->reported);
		c->reported = map ? map : cJSON_CreateObject();
		c->reported_us = now;
	} else {
		sim_attrs_set(inv, "artifact_name", cJSON_CreateString(d->artifact_name), NULL, 0);
		if (sim_attrs_find(inv, "rootfs-image.version"))
			sim_attrs_set(inv, "rootfs-image.version",
				      cJSON_CreateString(d->artifact_name), NULL, 0);
	}
	sim_device_touch(dev, now);
	sim_store_set_status(s, r, SIM_DD_SUCCESS, now);
}

void sim_store_step(struct sim_store *s, int64_t now, struct sim_step_result *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < s->ndevices; i++) {
		struct sim_device *dev = s->order[i];
		struct sim_devdep *r;

		const char *st = sim_device_string(dev, SIM_SCOPE_IDENTITY, "status");

		/* Only accepted devices can authenticate, hence poll; a real
		 * device polls by itself. */
		if (dev->behaviour == SIM_BEHAVE_OFFLINE || dev->behaviour == SIM_BEHAVE_REAL || !st ||
		    strcmp(st, "accepted"))
			continue;
		r = sim_store_poll(s, dev, now);
		if (!r)
			continue;
		out->acted++;
		if (sim_dd_status_active(r->status))
			install(s, dev, r, now);
		switch (r->status) {
		case SIM_DD_SUCCESS:
			out->success++;
			break;
		case SIM_DD_FAILURE:
			out->failure++;
			break;
		case SIM_DD_NOARTIFACT:
			out->noartifact++;
			break;
		case SIM_DD_ALREADY_INSTALLED:
			out->already_installed++;
			break;
		default:
			break;
		}
	}
}
