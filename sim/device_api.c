/*
 * What a real Mender client calls once it holds a device token, as
 * mender-server answers it (v4.0.4 and v4.1.x alike):
 *   deployments  api/http/api_deployments.go GetDeploymentForDevice,
 *                PutDeploymentStatusForDevice, PutDeploymentLogForDevice;
 *                app/app.go getDeploymentInstructions (204 for nothing to
 *                do, for no compatible artifact and for already installed),
 *                updateDeviceDeploymentStatus (409 once aborted);
 *   inventory    api/http/api_inventory.go UpdateDeviceAttributesHandler
 *                (PUT replaces the inventory scope, PATCH upserts);
 *   storage      the artifact's download link, signed and expiring, its
 *                answer with Content-Length as S3 gives it;
 *   deviceconfig api/http/devices.go: the device reports what it applied;
 *                configuration artifacts made on demand (DownloadConfiguration).
 * The 3.x client asks POST /api/devices/v2/.../next first: the open-source
 * server has no such route, so it gets 404 and falls back to the v1 POST.
 */
#include "devices.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact_file.h"
#include "handlers.h"

#define LOG_MAX_MESSAGES 10000

/* The device of the request's token and its JSON body; NULL after the
 * 401 or 400. */
static cJSON *device_body(struct sim *sim, const struct sim_request *req,
			  struct sim_response *res, const char *what, const char **id)
{
	*id = sim_devauth_device(sim, req, res);
	return *id ? sim_req_json(req, res, what) : NULL;
}

/* The statuses a device may report (model/status.go StatusReport). */
static bool reportable(enum sim_dd_status s)
{
	return s != SIM_DD_PENDING && s != SIM_DD_ABORTED && s != SIM_DD_NOARTIFACT &&
	       s != SIM_DD_DECOMMISSIONED;
}

/* hex(HMAC-SHA256(key, "<path>\n<expire>")) into `out`. */
static void link_signature(const struct sim_devices *d, const char *path, int64_t expire,
			   char out[65])
{
	struct sim_buf msg = SIM_BUF_INIT;
	unsigned char mac[32];
	unsigned int n = 0, i;

	sim_buf_printf(&msg, "%s\n%lld", path, (long long)expire);
	HMAC(EVP_sha256(), d->link_key, sizeof(d->link_key), (const unsigned char *)msg.ptr,
	     msg.len, mac, &n);
	for (i = 0; i < n && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
	out[64] = '\0';
	sim_buf_release(&msg);
}

/* A link back to this stand-in (the Host the device used), valid for
 * SIM_LINK_EXPIRE_S. */
static char *signed_link(const struct sim_devices *d, const struct sim_request *req,
			 const char *path, int64_t now_s, char expire_ts[32])
{
	struct sim_buf b = SIM_BUF_INIT;
	int64_t expire = now_s + SIM_LINK_EXPIRE_S;
	char sig[65];

	link_signature(d, path, expire, sig);
	sim_format_time(expire * 1000000, expire_ts);
	sim_buf_printf(&b, "http://%s", req->host ? req->host : "127.0.0.1");
	sim_buf_put_pathenc(&b, path);
	sim_buf_printf(&b, "?x-men-expire=%lld&x-men-signature=%s", (long long)expire, sig);
	return sim_buf_detach(&b);
}

/* Whether the request carries a valid, unexpired signature for its path;
 * else writes the 403 the server gives. */
static bool link_valid(const struct sim_devices *d, const struct sim_request *req,
		       struct sim_response *res)
{
	const char *exp = sim_req_arg(req, "x-men-expire");
	const char *sig = sim_req_arg(req, "x-men-signature");
	int64_t expire;
	char want[65];

	if (!exp || !sig || !sim_parse_i64(exp, &expire)) {
		sim_res_error(res, req, 400, "invalid request parameters: missing signature");
		return false;
	}
	link_signature(d, req->path, expire, want);
	if (!sim_secret_equal(sig, want)) {
		sim_res_error(res, req, 403, "signature invalid");
		return false;
	}
	if (expire * 1000000 < sim_now_us()) {
		sim_res_error(res, req, 403, "link expired");
		return false;
	}
	return true;
}

/* What the device says it runs: the v1 POST's body, or the GET's query. */
static bool read_provides(const struct sim_request *req, struct sim_response *res,
			  cJSON **body, const char **artifact, const char **device_type)
{
	if (!strcmp(req->method, "POST")) {
		const char *err;

		*body = sim_json_parse(req->body ? req->body : "", req->body_len, &err);
		if (!*body || !cJSON_IsObject(*body)) {
			sim_res_error(res, req, 400, "invalid schema: %s",
				      *body ? "not an object" : err);
			return false;
		}
		*artifact = sim_json_get_string(*body, "artifact_name");
		*device_type = sim_json_get_string(*body, "device_type");
	} else {
		*artifact = sim_req_arg(req, "artifact_name");
		*device_type = sim_req_arg(req, "device_type");
	}
	if (!*artifact || !**artifact || !*device_type || !**device_type) {
		sim_res_error(res, req, 400, "%s",
			      !*artifact || !**artifact ? "artifact_name: cannot be blank."
							: "device_type: cannot be blank.");
		return false;
	}
	return true;
}

static cJSON *instructions(const char *id, const char *artifact_id, const char *name,
			   char *link, const char *expire, const char *const *types, size_t ntypes)
{
	cJSON *o = cJSON_CreateObject(), *a = cJSON_AddObjectToObject(o, "artifact");
	cJSON *src, *dt;
	size_t i;

	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(a, "id", artifact_id);
	cJSON_AddStringToObject(a, "artifact_name", name);
	src = cJSON_AddObjectToObject(a, "source");
	cJSON_AddStringToObject(src, "uri", link);
	cJSON_AddStringToObject(src, "expire", expire);
	dt = cJSON_AddArrayToObject(a, "device_types_compatible");
	for (i = 0; i < ntypes; i++)
		cJSON_AddItemToArray(dt, cJSON_CreateString(types[i]));
	free(link);
	return o;
}

void sim_device_next(struct sim *sim, const struct sim_request *req, struct sim_response *res)
{
	const char *id = sim_devauth_device(sim, req, res), *artifact, *device_type;
	struct sim_buf path = SIM_BUF_INIT, aid = SIM_BUF_INIT;
	const struct sim_device *dev;
	const struct sim_devdep *r;
	cJSON *body = NULL;
	int64_t now = sim_now_us();
	char expire[32], *link;

	if (!id || !read_provides(req, res, &body, &artifact, &device_type))
		goto done;
	dev = sim_store_device(sim->store, id);
	r = sim_store_poll_as(sim->store, dev, device_type, artifact, now);
	if (!r || !sim_dd_status_active(r->status) || (!r->dep->configuration && !r->image)) {
		sim_res_empty(res, 204);
		goto done;
	}
	if (r->dep->configuration) {
		/* configuration artifacts are made on demand (api_deployments.go
		 * DownloadConfiguration); their id is deployment id + device id */
		sim_buf_printf(&path, "/api/devices/v1/deployments/download/configuration/%s/%s/%s",
			       r->dep->id, device_type, id);
		sim_buf_printf(&aid, "%s%s", r->dep->id, id);
		link = signed_link(sim->devices, req, path.ptr, now / 1000000, expire);
		sim_res_json(res, 200,
			     instructions(r->dep->id, aid.ptr, r->dep->artifact_name, link, expire,
					  &device_type, 1));
		goto done;
	}
	sim_buf_printf(&path, "/" SIM_STORAGE_BUCKET "/%s", r->image->id);
	link = signed_link(sim->devices, req, path.ptr, now / 1000000, expire);
	sim_res_json(res, 200,
		     instructions(r->dep->id, r->image->id, r->image->name, link, expire,
				  (const char *const *)r->image->device_types,
				  r->image->ndevice_types));
done:
	sim_buf_release(&path);
	sim_buf_release(&aid);
	cJSON_Delete(body);
}

/* The device's record for deployment `dep_id`, or NULL. */
static struct sim_devdep *record_of(const struct sim *sim, const char *device_id,
				    const char *dep_id)
{
	const struct sim_dd_list *l = sim_store_device_records(sim->store, device_id);
	size_t i;

	for (i = l ? l->n : 0; i > 0; i--)
		if (!strcmp(l->v[i - 1]->dep->id, dep_id))
			return l->v[i - 1];
	return NULL;
}

void sim_device_status(struct sim *sim, const struct sim_request *req, struct sim_response *res)
{
	const char *id, *status;
	struct sim_devdep *r;
	cJSON *body = device_body(sim, req, res, "failed to decode request body", &id);
	int st;

	if (!body)
		return;
	status = sim_json_get_string(body, "status");
	st = status ? sim_dd_status_parse(status) : -1;
	if (st < 0 || !reportable((enum sim_dd_status)st)) {
		sim_res_error(res, req, 400, "status: must be a valid value.");
		goto done;
	}
	r = record_of(sim, id, req->params[0]);
	if (!r) {
		sim_res_error(res, req, 404, "Resource not found");
	} else if (r->status == SIM_DD_ABORTED) {
		sim_res_error(res, req, 409, "The deployment was aborted");
	} else if (r->status == SIM_DD_DECOMMISSIONED) {
		sim_res_error(res, req, 409, "Device was decommissioned");
	} else {
		if (r->status != (enum sim_dd_status)st)
			sim_store_set_status(sim->store, r, (enum sim_dd_status)st, sim_now_us());
		sim_res_empty(res, 204);
	}
done:
	cJSON_Delete(body);
}

void sim_device_log(struct sim *sim, const struct sim_request *req, struct sim_response *res)
{
	const char *id;
	struct sim_buf key = SIM_BUF_INIT;
	const cJSON *messages;
	cJSON *body = device_body(sim, req, res, "failed to decode request body", &id);

	if (!body)
		return;
	messages = sim_json_get(body, "messages");
	if (!cJSON_IsArray(messages) || !cJSON_GetArraySize(messages) ||
	    cJSON_GetArraySize(messages) > LOG_MAX_MESSAGES) {
		sim_res_error(res, req, 400, "messages: cannot be blank.");
	} else if (!record_of(sim, id, req->params[0])) {
		sim_res_error(res, req, 404, "Resource not found");
	} else {
		sim_buf_printf(&key, "%s/%s", req->params[0], id);
		free(sim_map_put(sim->devices->logs, key.ptr, sim_json_print(messages)));
		sim_res_empty(res, 204);
	}
	sim_buf_release(&key);
	cJSON_Delete(body);
}

/* GET /api/management/v1/deployments/deployments/{id}/devices/{devid}/log:
 * the messages as lines "timestamp level message" (view.RenderDeploymentLog). */
void sim_deployments_device_log(struct sim *sim, const struct sim_request *req,
				struct sim_response *res)
{
	struct sim_buf key = SIM_BUF_INIT, text = SIM_BUF_INIT;
	const char *json, *err;
	const cJSON *m;
	cJSON *messages = NULL;

	sim_buf_printf(&key, "%s/%s", req->params[0], req->params[1]);
	json = sim_map_get(sim->devices->logs, key.ptr);
	if (!json || !(messages = sim_json_parse(json, strlen(json), &err))) {
		sim_res_error(res, req, 404, "Resource not found");
		goto done;
	}
	cJSON_ArrayForEach(m, messages) {
		const char *ts = sim_json_get_string(m, "timestamp");
		const char *level = sim_json_get_string(m, "level");
		const char *msg = sim_json_get_string(m, "message");

		sim_buf_printf(&text, "%s %s: %s\n", ts ? ts : "", level ? level : "",
			       msg ? msg : "");
	}
	sim_res_text(res, 200, "text/plain", text.ptr ? text.ptr : "");
done:
	cJSON_Delete(messages);
	sim_buf_release(&key);
	sim_buf_release(&text);
}

/* The attributes a device sends: [{"name", "value"[, "description"]}]. */
static bool valid_attributes(const cJSON *a)
{
	const cJSON *c;

	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > 100)
		return false;
	cJSON_ArrayForEach(c, a) {
		const char *name = sim_json_get_string(c, "name");
		const cJSON *desc = sim_json_get(c, "description");

		if (!name || !*name || strlen(name) > 1024 ||
		    !sim_attr_value_valid(sim_json_get(c, "value")) ||
		    (desc && !cJSON_IsString(desc)))
			return false;
	}
	return true;
}

void sim_device_inventory(struct sim *sim, const struct sim_request *req,
			  struct sim_response *res)
{
	const char *id;
	struct sim_device *dev;
	struct sim_attrs *inv;
	const cJSON *c;
	cJSON *body = device_body(sim, req, res, "failed to decode request body", &id);

	if (!body)
		return;
	if (!valid_attributes(body)) {
		sim_res_error(res, req, 400, "%s",
			      "failed to decode request body: expected an array of attributes");
		cJSON_Delete(body);
		return;
	}
	dev = sim_store_device(sim->store, id);
	inv = &dev->attrs[SIM_SCOPE_INVENTORY];
	if (!strcmp(req->method, "PUT"))
		sim_attrs_clear(inv);
	cJSON_ArrayForEach(c, body)
		sim_attrs_set(inv, sim_json_get_string(c, "name"),
			      cJSON_Duplicate(sim_json_get(c, "value"), true),
			      sim_json_get_string(c, "description"), 0);
	sim_device_touch(dev, sim_now_us());
	cJSON_Delete(body);
	sim_res_empty(res, 200);
}

/* GET /mender-artifact-storage/{artifact id}: the file, as S3 serves a
 * presigned link. */
void sim_device_download(struct sim *sim, const struct sim_request *req,
			 struct sim_response *res)
{
	const struct sim_blob *b;

	if (!link_valid(sim->devices, req, res))
		return;
	b = sim_map_get(sim->devices->blobs, req->params[0]);
	if (!b) {
		sim_res_error(res, req, 404, "The specified key does not exist.");
		return;
	}
	res->status = 200;
	res->content_type = "application/vnd.mender-artifact";
	res->body.len = 0;
	sim_buf_put(&res->body, b->data, b->len);
}

/* GET /api/devices/v1/deployments/download/configuration/{deployment}/
 * {device_type}/{device}: the configuration artifact, made now from the
 * deployment's map (api_deployments.go DownloadConfiguration). */
void sim_device_config_download(struct sim *sim, const struct sim_request *req,
				struct sim_response *res)
{
	const struct sim_deployment *d;
	struct sim_buf err = SIM_BUF_INIT;

	if (!link_valid(sim->devices, req, res))
		return;
	d = sim_store_deployment(sim->store, req->params[0]);
	if (!d || !d->configuration) {
		sim_res_error(res, req, 404, "deployment with id '%s' not found", req->params[0]);
		return;
	}
	res->body.len = 0;
	if (sim_artifact_write_configure(d->artifact_name, req->params[1], d->config_json,
					 &res->body, &err)) {
		sim_res_error(res, req, 500, "%s", err.ptr);
	} else {
		res->status = 200;
		res->content_type = "application/vnd.mender-artifact";
		sim_res_header(res, "Content-Disposition", "attachment; filename=\"artifact.mender\"");
	}
	sim_buf_release(&err);
}

/* The map a device reports or is given: an object of strings. */
static bool string_map(const cJSON *v)
{
	const cJSON *c;

	if (!cJSON_IsObject(v))
		return false;
	cJSON_ArrayForEach(c, v)
		if (!cJSON_IsString(c) || !*c->string)
			return false;
	return true;
}

/* PUT /api/devices/v1/deviceconfig/configuration: what the device applied,
 * its reported configuration (deviceconfig api/http/devices.go
 * SetConfiguration). */
void sim_device_config_report(struct sim *sim, const struct sim_request *req,
			      struct sim_response *res)
{
	const char *id;
	struct sim_config *c;
	cJSON *body = device_body(sim, req, res, "malformed request body", &id);
	int64_t now = sim_now_us();

	if (!body)
		return;
	if (!string_map(body)) {
		sim_res_error(res, req, 400, "invalid request body: values must be strings");
		cJSON_Delete(body);
		return;
	}
	c = sim_store_config_upsert(sim->store, id, now);
	cJSON_Delete(c->reported);
	c->reported = body;
	c->reported_us = now;
	sim_res_empty(res, 204);
}

/* GET /api/devices/v1/deviceconfig/configuration: the configured map. */
void sim_device_config_get(struct sim *sim, const struct sim_request *req,
			   struct sim_response *res)
{
	const char *id = sim_devauth_device(sim, req, res);
	const struct sim_config *c;

	if (!id)
		return;
	c = sim_store_config(sim->store, id);
	if (!c) {
		sim_res_error(res, req, 404, "device does not exist");
		return;
	}
	sim_res_json(res, 200, cJSON_Duplicate(c->configured, true));
}
