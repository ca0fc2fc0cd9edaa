#include "control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers.h"

/* The log keeps the newest entries; a run that exceeds this many Mender
 * requests loses the oldest ones (reported as "dropped_entries"). */
#define LOG_MAX 200000
#define FAULTS_MAX 256

struct fault {
	int64_t id;
	char *path_prefix;
	char *method; /* NULL: any method */
	unsigned int status;
	int64_t count; /* remaining; -1: until cleared */
	int64_t retry_after;
	int64_t delay_ms;
	bool drop;
	int64_t hits;
};

struct log_entry {
	char *method;
	char *path;
	char *query;
	unsigned int status;
};

struct sim_control {
	struct fault *faults;
	size_t nfaults, afaults;
	int64_t next_fault_id;
	struct log_entry *log;
	size_t nlog, alog;
	int64_t dropped_entries;
};

struct sim_control *sim_control_new(void)
{
	struct sim_control *c = sim_xcalloc(1, sizeof(*c));

	c->next_fault_id = 1;
	return c;
}

static void clear_faults(struct sim_control *c)
{
	size_t i;

	for (i = 0; i < c->nfaults; i++) {
		free(c->faults[i].path_prefix);
		free(c->faults[i].method);
	}
	c->nfaults = 0;
}

static void clear_log(struct sim_control *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(c->log[i].method);
		free(c->log[i].path);
		free(c->log[i].query);
	}
	if (n && c->nlog > n)
		memmove(c->log, c->log + n, (c->nlog - n) * sizeof(*c->log));
	c->nlog -= n;
}

void sim_control_free(struct sim_control *c)
{
	if (!c)
		return;
	clear_faults(c);
	free(c->faults);
	clear_log(c, c->nlog);
	free(c->log);
	free(c);
}

void sim_control_take_fault(struct sim_control *c, const char *method, const char *path,
			    struct sim_fault_action *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < c->nfaults; i++) {
		struct fault *f = &c->faults[i];

		if (f->count == 0)
			continue;
		if (f->method && strcasecmp(f->method, method))
			continue;
		if (strncmp(path, f->path_prefix, strlen(f->path_prefix)))
			continue;
		if (f->count > 0)
			f->count--;
		f->hits++;
		out->matched = true;
		out->status = f->status;
		out->retry_after = f->retry_after;
		out->delay_ms = f->delay_ms;
		out->drop = f->drop;
		return;
	}
}

void sim_control_log(struct sim_control *c, const char *method, const char *path,
		     const char *query, unsigned int status)
{
	struct log_entry *e;

	if (c->nlog >= LOG_MAX) {
		c->dropped_entries += LOG_MAX / 2;
		clear_log(c, LOG_MAX / 2);
	}
	sim_grow((void **)&c->log, &c->alog, c->nlog + 1, sizeof(*c->log));
	e = &c->log[c->nlog++];
	e->method = sim_xstrdup(method);
	e->path = sim_xstrdup(path);
	e->query = sim_xstrdup(query);
	e->status = status;
}

/* ---- GET/DELETE /_sim/requests ------------------------------------------ */

void sim_control_requests_get(struct sim *sim, const struct sim_request *req,
			      struct sim_response *res)
{
	const char *prefix = sim_req_arg(req, "path_prefix");
	const char *method = sim_req_arg(req, "method");
	struct sim_control *c = sim->control;
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < c->nlog; i++) {
		const struct log_entry *e = &c->log[i];
		cJSON *o;

		if (prefix && strncmp(e->path, prefix, strlen(prefix)))
			continue;
		if (method && strcasecmp(e->method, method))
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "method", e->method);
		cJSON_AddStringToObject(o, "path", e->path);
		cJSON_AddStringToObject(o, "query", e->query);
		cJSON_AddNumberToObject(o, "status", e->status);
		if (!e->status)
			cJSON_AddBoolToObject(o, "dropped", true);
		cJSON_AddItemToArray(arr, o);
	}
	if (c->dropped_entries) {
		char buf[24];

		snprintf(buf, sizeof(buf), "%lld", (long long)c->dropped_entries);
		sim_res_header(res, "X-Sim-Dropped-Entries", buf);
	}
	sim_res_json(res, 200, arr);
}

void sim_control_requests_clear(struct sim *sim, const struct sim_request *req,
				struct sim_response *res)
{
	(void)req;
	clear_log(sim->control, sim->control->nlog);
	sim->control->dropped_entries = 0;
	sim_res_empty(res, 204);
}

/* ---- /_sim/faults ----------------------------------------------------------- */

static cJSON *fault_json(const struct fault *f)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "id", (double)f->id);
	cJSON_AddStringToObject(o, "path_prefix", f->path_prefix);
	if (f->method)
		cJSON_AddStringToObject(o, "method", f->method);
	else
		cJSON_AddNullToObject(o, "method");
	cJSON_AddNumberToObject(o, "status", f->status);
	cJSON_AddNumberToObject(o, "count", (double)f->count);
	cJSON_AddNumberToObject(o, "retry_after", (double)f->retry_after);
	cJSON_AddNumberToObject(o, "delay_ms", (double)f->delay_ms);
	cJSON_AddBoolToObject(o, "drop", f->drop);
	cJSON_AddNumberToObject(o, "hits", (double)f->hits);
	return o;
}

void sim_control_faults_get(struct sim *sim, const struct sim_request *req,
			    struct sim_response *res)
{
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	(void)req;
	for (i = 0; i < sim->control->nfaults; i++)
		cJSON_AddItemToArray(arr, fault_json(&sim->control->faults[i]));
	sim_res_json(res, 200, arr);
}

static bool opt_int(const cJSON *o, const char *key, double min, double max, int64_t *out)
{
	const cJSON *v = sim_json_get(o, key);

	if (!v || cJSON_IsNull(v))
		return true;
	if (!sim_json_is_int(v, min, max))
		return false;
	*out = (int64_t)v->valuedouble;
	return true;
}

void sim_control_faults_add(struct sim *sim, const struct sim_request *req,
			    struct sim_response *res)
{
	static const char *const keys[] = { "path_prefix", "method",   "status", "count",
					    "retry_after", "delay_ms", "drop",	 NULL };
	struct sim_control *c = sim->control;
	struct fault f = { 0 };
	const cJSON *m, *v;
	int64_t status = 0;
	cJSON *o = sim_req_json(req, res, "invalid fault");
	size_t k;

	if (!o)
		return;
	if (!cJSON_IsObject(o)) {
		sim_res_error(res, req, 400, "a fault is a JSON object");
		goto done;
	}
	cJSON_ArrayForEach(m, o) {
		for (k = 0; keys[k] && strcmp(keys[k], m->string); k++)
			;
		if (!keys[k]) {
			sim_res_error(res, req, 400, "unknown key '%s'", m->string);
			goto done;
		}
	}
	v = sim_json_get(o, "path_prefix");
	if (!cJSON_IsString(v) || v->valuestring[0] != '/') {
		sim_res_error(res, req, 400, "'path_prefix' must be a string starting with '/'");
		goto done;
	}
	f.count = 1;
	if (!opt_int(o, "status", 0, 599, &status) || (status && status < 100)) {
		sim_res_error(res, req, 400, "'status' must be 0 or an HTTP status (100-599)");
		goto done;
	}
	if (!opt_int(o, "count", -1, 1e9, &f.count) || f.count == 0) {
		sim_res_error(res, req, 400, "'count' must be -1 or a positive integer");
		goto done;
	}
	if (!opt_int(o, "retry_after", 0, 86400, &f.retry_after) ||
	    !opt_int(o, "delay_ms", 0, 600000, &f.delay_ms)) {
		sim_res_error(res, req, 400,
			      "'retry_after' (0-86400 s) and 'delay_ms' (0-600000) must be integers");
		goto done;
	}
	v = sim_json_get(o, "drop");
	if (v && !cJSON_IsNull(v) && !cJSON_IsBool(v)) {
		sim_res_error(res, req, 400, "'drop' must be a boolean");
		goto done;
	}
	f.drop = cJSON_IsTrue(v);
	v = sim_json_get(o, "method");
	if (v && !cJSON_IsNull(v) && (!cJSON_IsString(v) || !*v->valuestring)) {
		sim_res_error(res, req, 400, "'method' must be a method name or null");
		goto done;
	}
	if (!status && !f.delay_ms && !f.drop) {
		sim_res_error(res, req, 400, "a fault needs a status, a delay_ms or drop");
		goto done;
	}
	if (c->nfaults >= FAULTS_MAX) {
		sim_res_error(res, req, 400, "too many faults (max %d)", FAULTS_MAX);
		goto done;
	}
	f.status = (unsigned int)status;
	f.id = c->next_fault_id++;
	f.path_prefix = sim_xstrdup(sim_json_get_string(o, "path_prefix"));
	f.method = cJSON_IsString(v) ? sim_xstrdup(v->valuestring) : NULL;
	sim_grow((void **)&c->faults, &c->afaults, c->nfaults + 1, sizeof(*c->faults));
	c->faults[c->nfaults++] = f;
	sim_res_json(res, 201, fault_json(&f));
done:
	cJSON_Delete(o);
}

void sim_control_faults_clear(struct sim *sim, const struct sim_request *req,
			      struct sim_response *res)
{
	(void)req;
	clear_faults(sim->control);
	sim_res_empty(res, 204);
}

/* ---- GET /_sim/state ------------------------------------------------------ */

static cJSON *attrs_object(const struct sim_attrs *a, bool skip_device_type)
{
	cJSON *o = cJSON_CreateObject();
	size_t i;

	for (i = 0; i < a->n; i++)
		if (!skip_device_type || strcmp(a->v[i].name, "device_type"))
			cJSON_AddItemToObject(o, a->v[i].name, cJSON_Duplicate(a->v[i].value, 1));
	return o;
}

static cJSON *device_state(const struct sim_store *s, const struct sim_device *d)
{
	const struct sim_config *c = sim_store_config(s, d->id);
	const char *dt = sim_device_string(d, SIM_SCOPE_INVENTORY, "device_type");
	const char *st = sim_device_string(d, SIM_SCOPE_IDENTITY, "status");
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "id", d->id);
	if (dt)
		cJSON_AddStringToObject(o, "device_type", dt);
	else
		cJSON_AddNullToObject(o, "device_type");
	cJSON_AddStringToObject(o, "status", st ? st : "accepted");
	cJSON_AddStringToObject(o, "behaviour", sim_behaviour_name(d->behaviour));
	if (d->group)
		cJSON_AddStringToObject(o, "group", d->group);
	cJSON_AddItemToObject(o, "inventory", attrs_object(&d->attrs[SIM_SCOPE_INVENTORY], false));
	cJSON_AddItemToObject(o, "tags", attrs_object(&d->attrs[SIM_SCOPE_TAGS], false));
	cJSON_AddItemToObject(o, "configured",
			      c ? cJSON_Duplicate(c->configured, 1) : cJSON_CreateObject());
	cJSON_AddItemToObject(o, "reported",
			      c ? cJSON_Duplicate(c->reported, 1) : cJSON_CreateObject());
	cJSON_AddBoolToObject(o, "has_configuration", c != NULL);
	return o;
}

static cJSON *deployment_state(const struct sim_deployment *d)
{
	struct sim_map *latest = sim_map_new();
	cJSON *o = cJSON_CreateObject(), *devs;
	char ts[32];
	size_t i;

	cJSON_AddStringToObject(o, "id", d->id);
	cJSON_AddStringToObject(o, "name", d->name);
	cJSON_AddStringToObject(o, "artifact_name", d->artifact_name);
	cJSON_AddStringToObject(o, "type", d->configuration ? "configuration" : "software");
	cJSON_AddStringToObject(o, "status", sim_deployment_status(d));
	cJSON_AddBoolToObject(o, "aborted", d->aborted);
	sim_format_time(d->created_us, ts);
	cJSON_AddStringToObject(o, "created", ts);
	cJSON_AddNumberToObject(o, "max_devices", (double)d->max_devices);
	cJSON_AddNumberToObject(o, "device_count", (double)d->nrecords);
	/* A device's latest non-deleted record in this deployment wins. */
	for (i = 0; i < d->nrecords; i++)
		if (!d->records[i]->deleted_us)
			sim_map_put(latest, d->records[i]->device_id, d->records[i]);
	devs = cJSON_AddArrayToObject(o, "devices");
	for (i = 0; i < d->ndevices; i++) {
		const struct sim_devdep *r = sim_map_get(latest, d->devices[i]);
		cJSON *e = cJSON_CreateObject();
		const char *st;

		if (r)
			st = sim_dd_status_name(r->status);
		else
			st = d->aborted ? "aborted" : "pending";
		cJSON_AddStringToObject(e, "id", d->devices[i]);
		cJSON_AddStringToObject(e, "status", st);
		cJSON_AddBoolToObject(e, "picked_up", r != NULL);
		cJSON_AddItemToArray(devs, e);
	}
	sim_map_free(latest);
	return o;
}

void sim_control_state(struct sim *sim, const struct sim_request *req, struct sim_response *res)
{
	const struct sim_store *s = sim->store;
	cJSON *o = cJSON_CreateObject(), *arr;
	size_t i, j;

	(void)req;
	arr = cJSON_AddArrayToObject(o, "devices");
	for (i = 0; i < s->ndevices; i++)
		cJSON_AddItemToArray(arr, device_state(s, s->order[i]));
	arr = cJSON_AddArrayToObject(o, "deployments");
	for (i = 0; i < s->ndeps; i++)
		cJSON_AddItemToArray(arr, deployment_state(s->deps[i]));
	arr = cJSON_AddArrayToObject(o, "artifacts");
	for (i = 0; i < s->nartifacts; i++) {
		const struct sim_artifact *a = s->artifacts[i];
		cJSON *e = cJSON_CreateObject(), *types;

		cJSON_AddStringToObject(e, "id", a->id);
		cJSON_AddStringToObject(e, "name", a->name);
		types = cJSON_AddArrayToObject(e, "device_types_compatible");
		for (j = 0; j < a->ndevice_types; j++)
			cJSON_AddItemToArray(types, cJSON_CreateString(a->device_types[j]));
		cJSON_AddItemToArray(arr, e);
	}
	sim_res_json(res, 200, o);
}

/* ---- POST /_sim/step ------------------------------------------------------ */

void sim_control_step(struct sim *sim, const struct sim_request *req, struct sim_response *res)
{
	struct sim_step_result r;
	cJSON *o = cJSON_CreateObject();

	(void)req;
	sim_store_step(sim->store, sim_now_us(), &r);
	cJSON_AddNumberToObject(o, "acted", (double)r.acted);
	cJSON_AddNumberToObject(o, "success", (double)r.success);
	cJSON_AddNumberToObject(o, "failure", (double)r.failure);
	cJSON_AddNumberToObject(o, "noartifact", (double)r.noartifact);
	cJSON_AddNumberToObject(o, "already_installed", (double)r.already_installed);
	sim_res_json(res, 200, o);
}

/* ---- POST /_sim/devices, POST /_sim/artifacts, PUT /_sim/devices/{id} ----- */

static void add_seed(struct sim *sim, const struct sim_request *req, struct sim_response *res,
		     const char *required)
{
	struct sim_buf err = SIM_BUF_INIT;
	cJSON *doc = sim_req_json(req, res, "invalid seed document"), *o;

	if (!doc)
		return;
	if (!cJSON_IsArray(sim_json_get(doc, required))) {
		sim_res_error(res, req, 400, "the body needs a '%s' array", required);
		goto done;
	}
	if (sim_store_seed(sim->store, doc, true, &err)) {
		sim_res_error(res, req, 400, "%s", err.ptr);
		goto done;
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "devices", (double)sim->store->ndevices);
	cJSON_AddNumberToObject(o, "artifacts", (double)sim->store->nartifacts);
	sim_res_json(res, 200, o);
done:
	sim_buf_release(&err);
	cJSON_Delete(doc);
}

void sim_control_devices_add(struct sim *sim, const struct sim_request *req,
			     struct sim_response *res)
{
	add_seed(sim, req, res, "devices");
}

void sim_control_artifacts_add(struct sim *sim, const struct sim_request *req,
			       struct sim_response *res)
{
	add_seed(sim, req, res, "artifacts");
}

void sim_control_device_put(struct sim *sim, const struct sim_request *req,
			    struct sim_response *res)
{
	static const char *const statuses[] = { "accepted", "pending", "rejected", "preauthorized",
						"noauth", NULL };
	struct sim_device *d = sim_store_device(sim->store, req->params[0]);
	const cJSON *v, *m;
	cJSON *o = NULL;
	int behaviour = -1;
	size_t k;

	if (!d) {
		sim_res_error(res, req, 404, "device '%s' not found", req->params[0]);
		return;
	}
	o = sim_req_json(req, res, "invalid device change");
	if (!o)
		return;
	if (!cJSON_IsObject(o)) {
		sim_res_error(res, req, 400, "a device change is a JSON object");
		goto done;
	}
	cJSON_ArrayForEach(m, o) {
		if (strcmp(m->string, "behaviour") && strcmp(m->string, "status") &&
		    strcmp(m->string, "inventory")) {
			sim_res_error(res, req, 400, "unknown key '%s'", m->string);
			goto done;
		}
	}
	v = sim_json_get(o, "behaviour");
	if (v && (!cJSON_IsString(v) || (behaviour = sim_behaviour_parse(v->valuestring)) < 0)) {
		sim_res_error(res, req, 400, "'behaviour' must be success, failure, offline or installing");
		goto done;
	}
	v = sim_json_get(o, "status");
	if (v) {
		for (k = 0; statuses[k] && (!cJSON_IsString(v) || strcmp(statuses[k], v->valuestring));
		     k++)
			;
		if (!statuses[k]) {
			sim_res_error(res, req, 400,
				      "'status' must be accepted, pending, rejected, preauthorized or noauth");
			goto done;
		}
	}
	v = sim_json_get(o, "inventory");
	if (v) {
		if (!cJSON_IsObject(v)) {
			sim_res_error(res, req, 400, "'inventory' must be an object");
			goto done;
		}
		cJSON_ArrayForEach(m, v) {
			if (!sim_attr_value_valid(m)) {
				sim_res_error(res, req, 400,
					      "inventory '%s' must be a string, a number or an array",
					      m->string);
				goto done;
			}
		}
		cJSON_ArrayForEach(m, v)
			sim_attrs_set(&d->attrs[SIM_SCOPE_INVENTORY], m->string,
				      cJSON_Duplicate(m, 1), NULL, 0);
	}
	if (behaviour >= 0)
		d->behaviour = (enum sim_behaviour)behaviour;
	v = sim_json_get(o, "status");
	if (v)
		sim_attrs_set(&d->attrs[SIM_SCOPE_IDENTITY], "status",
			      cJSON_CreateString(v->valuestring), NULL, 0);
	sim_device_touch(d, sim_now_us());
	sim_res_json(res, 200, device_state(sim->store, d));
done:
	cJSON_Delete(o);
}
