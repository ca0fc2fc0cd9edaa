/*
 * Deployments management API (mender-server v4.1.3): create, list, read, abort,
 * per-device history and abort, artifacts.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers.h"

#define NAME_MAX_LEN 4096
#define STATS_LIST_MAX 100

static const char msg_not_uuid[] = "ID is not a valid UUID";
static const char msg_not_found[] = "Resource not found";
static const char msg_deployment_not_found[] = "Deployment not found";

/* ---- rendering ---------------------------------------------------------- */

static void add_time(cJSON *o, const char *key, int64_t us)
{
	char ts[32];

	sim_format_time_ms(us, ts);
	cJSON_AddStringToObject(o, key, ts);
}

static cJSON *string_array(char *const *v, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(v[i]));
	return arr;
}

/* Statistics: a count for every device-deployment status. */
static cJSON *stats_json(const struct sim_deployment *d)
{
	cJSON *o = cJSON_CreateObject();
	int i;

	for (i = 0; i < SIM_DD_NSTATUS; i++)
		cJSON_AddNumberToObject(o, sim_dd_status_name((enum sim_dd_status)i),
					(double)d->stats[i]);
	return o;
}

static void add_artifact_fields(cJSON *o, const struct sim_artifact *a)
{
	cJSON *info = cJSON_CreateObject(), *upd = cJSON_CreateObject(), *ti, *arr, *prov, *dep;

	cJSON_AddItemToObject(o, "device_types_compatible",
			      string_array(a->device_types, a->ndevice_types));
	cJSON_AddStringToObject(info, "format", "mender");
	cJSON_AddNumberToObject(info, "version", 3);
	cJSON_AddItemToObject(o, "info", info);
	cJSON_AddBoolToObject(o, "signed", false);
	ti = cJSON_AddObjectToObject(upd, "type_info");
	cJSON_AddStringToObject(ti, "type", a->update_type);
	cJSON_AddArrayToObject(upd, "files");
	arr = cJSON_AddArrayToObject(o, "updates");
	cJSON_AddItemToArray(arr, upd);
	/* What mender-artifact writes by default. */
	prov = cJSON_AddObjectToObject(o, "artifact_provides");
	cJSON_AddStringToObject(prov, "artifact_name", a->name);
	if (!strcmp(a->update_type, "rootfs-image")) {
		cJSON_AddStringToObject(prov, "rootfs-image.version", a->name);
	} else {
		struct sim_buf key = SIM_BUF_INIT;

		sim_buf_printf(&key, "rootfs-image.%s.version", a->update_type);
		cJSON_AddStringToObject(prov, key.ptr, a->name);
		sim_buf_release(&key);
	}
	dep = cJSON_AddObjectToObject(o, "artifact_depends");
	cJSON_AddItemToObject(dep, "device_type", string_array(a->device_types, a->ndevice_types));
	arr = cJSON_AddArrayToObject(o, "clears_artifact_provides");
	if (!strcmp(a->update_type, "rootfs-image")) {
		cJSON_AddItemToArray(arr, cJSON_CreateString("rootfs-image.*"));
	} else {
		struct sim_buf key = SIM_BUF_INIT;

		sim_buf_printf(&key, "rootfs-image.%s.*", a->update_type);
		cJSON_AddItemToArray(arr, cJSON_CreateString(key.ptr));
		sim_buf_release(&key);
	}
}

/* ArtifactV1/ArtifactV2. */
static cJSON *artifact_json(const struct sim_artifact *a)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "id", a->id);
	cJSON_AddStringToObject(o, "name", a->name);
	cJSON_AddStringToObject(o, "description", a->description);
	add_artifact_fields(o, a);
	cJSON_AddNumberToObject(o, "size", (double)a->size);
	add_time(o, "modified", a->modified_us);
	return o;
}

/* DeviceWithImage.image */
static cJSON *image_json(const struct sim_artifact *a)
{
	cJSON *o = cJSON_CreateObject(), *meta, *ma;

	cJSON_AddStringToObject(o, "id", a->id);
	meta = cJSON_AddObjectToObject(o, "meta");
	cJSON_AddStringToObject(meta, "description", a->description);
	ma = cJSON_AddObjectToObject(o, "meta_artifact");
	cJSON_AddStringToObject(ma, "name", a->name);
	add_artifact_fields(ma, a);
	cJSON_AddNumberToObject(o, "size", (double)a->size);
	add_time(o, "modified", a->modified_us);
	return o;
}

/* DeploymentV1/DeploymentV2. */
static cJSON *deployment_json(const struct sim_store *s, const struct sim_deployment *d)
{
	cJSON *o = cJSON_CreateObject(), *arr, *st;
	int64_t total_size = 0;
	size_t i;

	cJSON_AddStringToObject(o, "id", d->id);
	cJSON_AddStringToObject(o, "name", d->name);
	cJSON_AddStringToObject(o, "artifact_name", d->artifact_name);
	add_time(o, "created", d->created_us);
	if (d->finished_us)
		add_time(o, "finished", d->finished_us);
	cJSON_AddStringToObject(o, "status", sim_deployment_status(d));
	cJSON_AddNumberToObject(o, "device_count", (double)d->nrecords);
	cJSON_AddNumberToObject(o, "max_devices", (double)d->max_devices);
	if (!d->configuration) {
		/* Artifacts of that name, including ones added later. */
		arr = cJSON_CreateArray();
		for (i = 0; i < s->nartifacts; i++)
			if (!strcmp(s->artifacts[i]->name, d->artifact_name))
				cJSON_AddItemToArray(arr, cJSON_CreateString(s->artifacts[i]->id));
		if (cJSON_GetArraySize(arr))
			cJSON_AddItemToObject(o, "artifacts", arr);
		else
			cJSON_Delete(arr);
	}
	if (d->group) {
		arr = cJSON_AddArrayToObject(o, "groups");
		cJSON_AddItemToArray(arr, cJSON_CreateString(d->group));
	}
	cJSON_AddStringToObject(o, "type", d->configuration ? "configuration" : "software");
	if (d->all_devices)
		cJSON_AddBoolToObject(o, "all_devices", true);
	if (d->force)
		cJSON_AddBoolToObject(o, "force_installation", true);
	for (i = 0; i < d->nrecords; i++)
		if (d->records[i]->image)
			total_size += d->records[i]->image->size;
	st = cJSON_AddObjectToObject(o, "statistics");
	cJSON_AddItemToObject(st, "status", stats_json(d));
	cJSON_AddNumberToObject(st, "total_size", (double)total_size);
	return o;
}

/* DeviceWithImage. */
static cJSON *record_json(const struct sim_devdep *r)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "id", r->device_id);
	cJSON_AddStringToObject(o, "status", sim_dd_status_name(r->status));
	add_time(o, "created", r->created_us);
	if (r->started_us)
		add_time(o, "started", r->started_us);
	if (r->finished_us)
		add_time(o, "finished", r->finished_us);
	if (r->deleted_us)
		add_time(o, "deleted", r->deleted_us);
	if (r->device_type)
		cJSON_AddStringToObject(o, "device_type", r->device_type);
	cJSON_AddBoolToObject(o, "log", false);
	if (r->image)
		cJSON_AddItemToObject(o, "image", image_json(r->image));
	return o;
}

/* ---- create ------------------------------------------------------------------ */

/* ozzo-validation's message: "a: cannot be blank; b: ... ." (fields sorted). */
static void field_error(struct sim_buf *b, const char *field, const char *msg)
{
	sim_buf_printf(b, "%s%s: %s", b->len ? "; " : "", field, msg);
}

static bool string_field(const cJSON *o, const char *key, const char **out)
{
	const cJSON *v = sim_json_get(o, key);

	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return true;
	if (!cJSON_IsString(v))
		return false;
	*out = v->valuestring;
	return true;
}

static bool bool_field(const cJSON *o, const char *key, bool *out)
{
	const cJSON *v = sim_json_get(o, key);

	*out = false;
	if (!v || cJSON_IsNull(v))
		return true;
	if (!cJSON_IsBool(v))
		return false;
	*out = cJSON_IsTrue(v);
	return true;
}

static void length_check(struct sim_buf *b, const char *field, const char *v)
{
	if (!v || !*v)
		field_error(b, field, "cannot be blank");
	else if (strlen(v) > NAME_MAX_LEN)
		field_error(b, field, "the length must be between 1 and 4096");
}

static void create(struct sim *sim, const struct sim_request *req, struct sim_response *res,
		   const char *group)
{
	struct sim_new_deployment nd = { 0 };
	struct sim_buf errs = SIM_BUF_INIT, loc = SIM_BUF_INIT;
	struct sim_deployment *d;
	const char **ids = NULL;
	const cJSON *devices, *e;
	cJSON *body = sim_req_json(req, res, "Validating request body");
	size_t n = 0;

	if (!body)
		return;
	devices = sim_json_get(body, "devices");
	if (!cJSON_IsObject(body) || !string_field(body, "name", &nd.name) ||
	    !string_field(body, "artifact_name", &nd.artifact_name) ||
	    !bool_field(body, "all_devices", &nd.all_devices) ||
	    !bool_field(body, "force_installation", &nd.force) ||
	    (devices && !cJSON_IsNull(devices) && !cJSON_IsArray(devices))) {
		sim_res_error(res, req, 400, "Validating request body: %s",
			      "json: cannot unmarshal the body into a deployment constructor");
		goto done;
	}
	ids = sim_xcalloc((size_t)cJSON_GetArraySize(devices) + 1, sizeof(*ids));
	cJSON_ArrayForEach(e, devices) {
		if (!cJSON_IsString(e)) {
			sim_res_error(res, req, 400, "Validating request body: %s",
				      "json: cannot unmarshal a device id that is not a string");
			goto done;
		}
		ids[n++] = e->valuestring;
	}
	length_check(&errs, "artifact_name", nd.artifact_name);
	for (e = devices ? devices->child : NULL; e; e = e->next) {
		if (!*e->valuestring) {
			field_error(&errs, "devices", "cannot be blank");
			break;
		}
	}
	length_check(&errs, "name", nd.name);
	if (errs.len) {
		sim_res_error(res, req, 400, "Validating request body: %s.", errs.ptr);
		goto done;
	}
	if (group && (n || nd.all_devices)) {
		sim_res_error(res, req, 400, "Validating request body: %s",
			      "The deployment for group constructor should have neither list of "
			      "devices nor all_devices flag set");
		goto done;
	}
	if (!group && !n && !nd.all_devices) {
		sim_res_error(res, req, 400, "Validating request body: %s",
			      "Invalid deployments definition: provide list of devices or set "
			      "all_devices flag");
		goto done;
	}
	if (!group && n && nd.all_devices) {
		sim_res_error(res, req, 400, "Validating request body: %s",
			      "Invalid deployments definition: list of devices provided togheter "
			      "with all_devices flag");
		goto done;
	}
	nd.devices = ids;
	nd.ndevices = n;
	nd.group = group;
	switch (sim_store_create_deployment(sim->store, &nd, sim_now_us(), &d)) {
	case SIM_CREATED:
		sim_buf_printf(&loc, "/api/management/v1/deployments/deployments/%s", d->id);
		sim_res_header(res, "Location", loc.ptr);
		sim_res_empty(res, 201);
		break;
	case SIM_CREATE_CONFLICT:
		sim_res_error(res, req, 409, "Invalid deployment definition: there is already an "
					     "active deployment with the same parameters");
		break;
	case SIM_CREATE_NO_ARTIFACT:
		sim_res_error(res, req, 422, "No artifact for the deployment");
		break;
	case SIM_CREATE_NO_DEVICES:
	case SIM_CREATE_DUPLICATE_ID:
		sim_res_error(res, req, 400, "No devices for the deployment");
		break;
	}
done:
	free(ids);
	sim_buf_release(&errs);
	sim_buf_release(&loc);
	cJSON_Delete(body);
}

void sim_deployments_create(struct sim *sim, const struct sim_request *req,
			    struct sim_response *res)
{
	create(sim, req, res, NULL);
}

void sim_deployments_create_group(struct sim *sim, const struct sim_request *req,
				  struct sim_response *res)
{
	create(sim, req, res, req->params[0]);
}

/* ---- lists ---------------------------------------------------------------------- */

enum status_query { Q_ANY, Q_PENDING, Q_INPROGRESS, Q_FINISHED };

static bool status_matches(enum status_query q, const struct sim_deployment *d)
{
	const char *st = sim_deployment_status(d);

	switch (q) {
	case Q_PENDING:
		return !strcmp(st, "pending");
	case Q_INPROGRESS:
		return !strcmp(st, "inprogress");
	case Q_FINISHED:
		return !strcmp(st, "finished");
	default:
		return true;
	}
}

static bool arg_matches(const struct sim_request *req, const char *key, const char *value)
{
	size_t i;
	bool any = false;

	for (i = 0; i < req->nargs; i++) {
		if (strcmp(req->args[i].key, key))
			continue;
		any = true;
		if (!strcmp(req->args[i].value, value))
			return true;
	}
	return !any;
}

/* api_deployments.go ParseLookupQuery and LookupDeployment(V2). */
static void list(struct sim *sim, const struct sim_request *req, struct sim_response *res,
		 bool v2)
{
	const struct sim_store *s = sim->store;
	const char *before = sim_req_arg(req, "created_before");
	const char *after = sim_req_arg(req, "created_after");
	const char *sort = sim_req_arg(req, "sort");
	const char *status = sim_req_arg(req, "status");
	const char *type = sim_req_arg(req, "type");
	const char *search = v2 ? NULL : sim_req_arg(req, "search");
	const struct sim_deployment **found = NULL;
	enum status_query sq = Q_ANY;
	int64_t tb = 0, ta = 0;
	struct sim_paging pg;
	bool asc = false;
	size_t i, n = 0, start, end;
	cJSON *arr;

	if (before && *before && !sim_parse_i64(before, &tb)) {
		sim_res_error(res, req, 400, "timestamp parsing failed for created_before parameter: "
					     "invalid timestamp: %s", before);
		return;
	}
	if (after && *after && !sim_parse_i64(after, &ta)) {
		sim_res_error(res, req, 400,
			      "timestamp parsing failed created_after parameter: invalid timestamp: %s",
			      after);
		return;
	}
	if (sort && *sort) {
		if (!strcasecmp(sort, "asc"))
			asc = true;
		else if (strcasecmp(sort, "desc")) {
			sim_res_error(res, req, 400,
				      "invalid form value: must be one of \"asc\" or \"desc\"");
			return;
		}
	}
	if (status && *status) {
		if (!strcmp(status, "pending"))
			sq = Q_PENDING;
		else if (!strcmp(status, "inprogress"))
			sq = Q_INPROGRESS;
		else if (!strcmp(status, "finished") || !strcmp(status, "aborted"))
			sq = Q_FINISHED; /* "aborted" = finished, as the server filters */
		else {
			sim_res_error(res, req, 400, "unknown status %s", status);
			return;
		}
	}
	if (type && *type && strcmp(type, "software") && strcmp(type, "configuration")) {
		sim_res_error(res, req, 400, "unknown deployment type %s", type);
		return;
	}
	if (!sim_req_paging(req, res, 500, &pg))
		return;
	found = sim_xcalloc(s->ndeps + 1, sizeof(*found));
	for (i = 0; i < s->ndeps; i++) {
		const struct sim_deployment *d = s->deps[asc ? i : s->ndeps - 1 - i];

		if (!status_matches(sq, d))
			continue;
		if (type && *type && strcmp(type, d->configuration ? "configuration" : "software"))
			continue;
		if (before && *before && d->created_us > tb * 1000000)
			continue;
		if (after && *after && d->created_us < ta * 1000000)
			continue;
		if (search && *search && !sim_contains_ci(d->name, search) &&
		    !sim_contains_ci(d->artifact_name, search))
			continue;
		if (v2 && (!arg_matches(req, "id", d->id) || !arg_matches(req, "name", d->name)))
			continue;
		found[n++] = d;
	}
	arr = cJSON_CreateArray();
	sim_paging_slice(&pg, n, &start, &end);
	for (i = start; i < end; i++)
		cJSON_AddItemToArray(arr, deployment_json(s, found[i]));
	sim_res_total(res, (int64_t)n);
	sim_res_links(res, req, &pg, (int64_t)n, false);
	sim_res_json(res, 200, arr);
	free(found);
}

void sim_deployments_list_v1(struct sim *sim, const struct sim_request *req,
			     struct sim_response *res)
{
	list(sim, req, res, false);
}

void sim_deployments_list_v2(struct sim *sim, const struct sim_request *req,
			     struct sim_response *res)
{
	list(sim, req, res, true);
}

/* ---- one deployment --------------------------------------------------------------- */

/* The deployment named by the first path parameter; else writes 400/404. */
static struct sim_deployment *lookup(struct sim *sim, const struct sim_request *req,
				     struct sim_response *res, const char *not_found)
{
	struct sim_deployment *d;

	if (!sim_is_uuid(req->params[0])) {
		sim_res_error(res, req, 400, "%s", msg_not_uuid);
		return NULL;
	}
	d = sim_store_deployment(sim->store, req->params[0]);
	if (!d)
		sim_res_error(res, req, 404, "%s", not_found);
	return d;
}

void sim_deployments_get(struct sim *sim, const struct sim_request *req, struct sim_response *res)
{
	const struct sim_deployment *d = lookup(sim, req, res, msg_not_found);

	if (d)
		sim_res_json(res, 200, deployment_json(sim->store, d));
}

void sim_deployments_statistics(struct sim *sim, const struct sim_request *req,
				struct sim_response *res)
{
	const struct sim_deployment *d = lookup(sim, req, res, msg_not_found);

	if (d)
		sim_res_json(res, 200, stats_json(d));
}

void sim_deployments_statistics_list(struct sim *sim, const struct sim_request *req,
				     struct sim_response *res)
{
	const cJSON *ids, *e;
	cJSON *body = sim_req_json(req, res, "failed to decode request body"), *arr;
	size_t i = 0;

	if (!body)
		return;
	ids = sim_json_get(body, "deployment_ids");
	if (!cJSON_IsObject(body) || (ids && !cJSON_IsNull(ids) && !cJSON_IsArray(ids))) {
		sim_res_error(res, req, 400, "json: cannot unmarshal the body into deployment ids");
		goto done;
	}
	if (!cJSON_GetArraySize(ids)) {
		sim_res_json(res, 200, cJSON_CreateObject());
		goto done;
	}
	if (cJSON_GetArraySize(ids) > STATS_LIST_MAX) {
		sim_res_error(res, req, 400, "the length must be between 1 and %d.", STATS_LIST_MAX);
		goto done;
	}
	cJSON_ArrayForEach(e, ids) {
		if (!cJSON_IsString(e) || !sim_is_uuid(e->valuestring)) {
			sim_res_error(res, req, 400, "%zu: must be a valid UUID.", i);
			goto done;
		}
		i++;
	}
	arr = cJSON_CreateArray();
	cJSON_ArrayForEach(e, ids) {
		const struct sim_deployment *d = sim_store_deployment(sim->store, e->valuestring);
		cJSON *o;

		if (!d) {
			cJSON_Delete(arr);
			sim_res_error(res, req, 404, "%s", msg_deployment_not_found);
			goto done;
		}
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", d->id);
		cJSON_AddItemToObject(o, "stats", stats_json(d));
		cJSON_AddItemToArray(arr, o);
	}
	sim_res_json(res, 200, arr);
done:
	cJSON_Delete(body);
}

/* Status filter of device lists: a device status, or pause/active/finished. */
static bool record_status_matches(const char *filter, enum sim_dd_status st)
{
	if (!filter || !*filter)
		return true;
	if (!strcmp(filter, "active"))
		return sim_dd_status_active(st);
	if (!strcmp(filter, "finished"))
		return !sim_dd_status_active(st);
	if (!strcmp(filter, "pause"))
		return st == SIM_DD_PAUSE_BEFORE_INSTALLING || st == SIM_DD_PAUSE_BEFORE_COMMITTING ||
		       st == SIM_DD_PAUSE_BEFORE_REBOOTING;
	return !strcmp(filter, sim_dd_status_name(st));
}

static bool valid_status_filter(const char *filter)
{
	return !filter || !*filter || !strcmp(filter, "active") || !strcmp(filter, "finished") ||
	       !strcmp(filter, "pause") || sim_dd_status_parse(filter) >= 0;
}

void sim_deployments_devices_list(struct sim *sim, const struct sim_request *req,
				  struct sim_response *res)
{
	const char *status = sim_req_arg(req, "status");
	const struct sim_deployment *d;
	const struct sim_devdep **found;
	struct sim_paging pg;
	size_t i, n = 0, start, end;
	cJSON *arr;

	if (!sim_is_uuid(req->params[0])) {
		sim_res_error(res, req, 400, "%s", msg_not_uuid);
		return;
	}
	if (!sim_req_paging(req, res, 500, &pg))
		return;
	if (!valid_status_filter(status)) {
		sim_res_error(res, req, 400, "status: must be a valid value.");
		return;
	}
	d = sim_store_deployment(sim->store, req->params[0]);
	if (!d) {
		sim_res_error(res, req, 404, "%s", msg_deployment_not_found);
		return;
	}
	found = sim_xcalloc(d->nrecords + 1, sizeof(*found));
	for (i = 0; i < d->nrecords; i++)
		if (record_status_matches(status, d->records[i]->status))
			found[n++] = d->records[i];
	arr = cJSON_CreateArray();
	sim_paging_slice(&pg, n, &start, &end);
	for (i = start; i < end; i++)
		cJSON_AddItemToArray(arr, record_json(found[i]));
	sim_res_links(res, req, &pg, (int64_t)n, false);
	sim_res_total(res, (int64_t)n);
	sim_res_json(res, 200, arr);
	free(found);
}

void sim_deployments_device_list(struct sim *sim, const struct sim_request *req,
				 struct sim_response *res)
{
	const struct sim_deployment *d = lookup(sim, req, res, msg_not_found);

	if (d)
		sim_res_json(res, 200, string_array(d->devices, d->ndevices));
}

void sim_deployments_abort(struct sim *sim, const struct sim_request *req,
			   struct sim_response *res)
{
	struct sim_deployment *d;
	const char *status;
	cJSON *body;
	bool unexpected;

	if (!sim_is_uuid(req->params[0])) {
		sim_res_error(res, req, 400, "%s", msg_not_uuid);
		return;
	}
	body = sim_req_json(req, res, "failed to decode request body");
	if (!body)
		return;
	status = sim_json_get_string(body, "status");
	unexpected = !status || strcmp(status, "aborted");
	/* v4.1.3 answers 400 for another status but goes on and aborts
	 * (its deployments service): the first answer written is the one sent. */
	if (unexpected)
		sim_res_error(res, req, 400, "Unexpected deployment status");
	d = sim_store_deployment(sim->store, req->params[0]);
	if (!d || !sim_store_abort_deployment(sim->store, d, sim_now_us())) {
		if (!unexpected)
			sim_res_error(res, req, 422, "Deployment already finished");
	} else if (!unexpected) {
		sim_res_empty(res, 204);
	}
	cJSON_Delete(body);
}

/* ---- per device ------------------------------------------------------------------------ */

static int newest_first(const void *a, const void *b)
{
	const struct sim_devdep *x = *(const struct sim_devdep *const *)a;
	const struct sim_devdep *y = *(const struct sim_devdep *const *)b;

	if (x->created_us != y->created_us)
		return x->created_us < y->created_us ? 1 : -1;
	return x->started_us < y->started_us ? 1 : x->started_us > y->started_us ? -1 : 0;
}

void sim_deployments_device_history(struct sim *sim, const struct sim_request *req,
				    struct sim_response *res)
{
	const struct sim_dd_list *l = sim_store_device_records(sim->store, req->params[0]);
	const char *status = sim_req_arg(req, "status");
	const struct sim_devdep **found = NULL;
	struct sim_paging pg;
	size_t i, n = 0, start, end;
	cJSON *arr;

	/* ParsePagingParameters (max 500), then MaximumPerPageListDeviceDeployments
	 * (20) with rest.ErrQueryParmLimit's message. */
	if (!sim_req_paging(req, res, 500, &pg))
		return;
	if (pg.per_page > 20) {
		sim_res_error(res, req, 400,
			      "invalid per_page query: value must be a non-zero positive integer");
		return;
	}
	if (!valid_status_filter(status)) {
		sim_res_error(res, req, 400, "status: must be a valid value.");
		return;
	}
	found = sim_xcalloc((l ? l->n : 0) + 1, sizeof(*found));
	for (i = 0; l && i < l->n; i++)
		if (record_status_matches(status, l->v[i]->status))
			found[n++] = l->v[i];
	qsort(found, n, sizeof(*found), newest_first);
	arr = cJSON_CreateArray();
	sim_paging_slice(&pg, n, &start, &end);
	for (i = start; i < end; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "id", found[i]->id);
		cJSON_AddItemToObject(o, "deployment", deployment_json(sim->store, found[i]->dep));
		cJSON_AddItemToObject(o, "device", record_json(found[i]));
		cJSON_AddItemToArray(arr, o);
	}
	sim_res_links(res, req, &pg, (int64_t)n, false);
	sim_res_total(res, (int64_t)n);
	sim_res_json(res, 200, arr);
	free(found);
}

void sim_deployments_device_abort(struct sim *sim, const struct sim_request *req,
				  struct sim_response *res)
{
	sim_store_abort_device(sim->store, req->params[0], sim_now_us());
	sim_res_empty(res, 204);
}

void sim_deployments_device_reset(struct sim *sim, const struct sim_request *req,
				  struct sim_response *res)
{
	sim_store_reset_history(sim->store, req->params[0], sim_now_us());
	sim_res_empty(res, 204);
}

/* ---- artifacts ----------------------------------------------------------------------- */

void sim_artifacts_list_v1(struct sim *sim, const struct sim_request *req,
			   struct sim_response *res)
{
	const struct sim_store *s = sim->store;
	const char *name = sim_req_arg(req, "name");
	const char *desc = sim_req_arg(req, "description");
	const char *dt = sim_req_arg(req, "device_type");
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < s->nartifacts; i++) {
		const struct sim_artifact *a = s->artifacts[i];

		if (name && *name && strcmp(a->name, name))
			continue;
		if (desc && *desc && strcmp(a->description, desc))
			continue;
		if (dt && *dt && !sim_artifact_compatible(a, dt))
			continue;
		cJSON_AddItemToArray(arr, artifact_json(a));
	}
	sim_res_json(res, 200, arr);
}

/* Exact match, or prefix match when the pattern ends with '*'. */
static bool pattern_match(const char *pattern, const char *s)
{
	size_t n = strlen(pattern);

	if (n && pattern[n - 1] == '*')
		return !strncmp(pattern, s, n - 1);
	return !strcmp(pattern, s);
}

static int by_name(const void *a, const void *b)
{
	const struct sim_artifact *x = *(const struct sim_artifact *const *)a;
	const struct sim_artifact *y = *(const struct sim_artifact *const *)b;
	int c = strcmp(x->name, y->name);

	return c ? c : x->modified_us < y->modified_us ? -1 : x->modified_us > y->modified_us;
}

void sim_artifacts_list_v2(struct sim *sim, const struct sim_request *req,
			   struct sim_response *res)
{
	const struct sim_store *s = sim->store;
	const char *desc = sim_req_arg(req, "description");
	const char *dt = sim_req_arg(req, "device_type");
	const char *page = sim_req_arg(req, "page"), *per_page = sim_req_arg(req, "per_page");
	const struct sim_artifact **found = NULL;
	size_t i, j, n = 0, nnames = 0, start, end;
	struct sim_paging pg;
	cJSON *arr;

	for (i = 0; i < req->nargs; i++)
		nnames += !strcmp(req->args[i].key, "name");
	/* getReleaseOrImageFilter: bad or too big paging values fall back to
	 * the defaults instead of failing. */
	if (!page || !sim_parse_i64(page, &pg.page) || pg.page < 1)
		pg.page = 1;
	if (!per_page || !sim_parse_i64(per_page, &pg.per_page) || pg.per_page < 1 ||
	    pg.per_page > 500)
		pg.per_page = 20;
	found = sim_xcalloc(s->nartifacts + 1, sizeof(*found));
	for (i = 0; i < s->nartifacts; i++) {
		const struct sim_artifact *a = s->artifacts[i];
		bool ok = nnames == 0;

		for (j = 0; j < req->nargs && !ok; j++)
			ok = !strcmp(req->args[j].key, "name") && pattern_match(req->args[j].value, a->name);
		if (!ok)
			continue;
		if (desc && *desc && !pattern_match(desc, a->description))
			continue;
		if (dt && *dt) {
			for (j = 0; j < a->ndevice_types && !pattern_match(dt, a->device_types[j]); j++)
				;
			if (j == a->ndevice_types)
				continue;
		}
		found[n++] = a;
	}
	qsort(found, n, sizeof(*found), by_name);
	arr = cJSON_CreateArray();
	sim_paging_slice(&pg, n, &start, &end);
	for (i = start; i < end; i++)
		cJSON_AddItemToArray(arr, artifact_json(found[i]));
	sim_res_links(res, req, &pg, -1, end < n);
	sim_res_json(res, 200, arr);
	free(found);
}
