/*
 * Mender Configure management API (mender-server v4.1.3).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

#define CONFIG_KEYS_MAX 100
#define CONFIG_LEN_MAX 4096

static const char msg_no_device[] = "device does not exist";

static void add_time(cJSON *o, const char *key, int64_t us)
{
	char ts[32];

	sim_format_time(us, ts);
	cJSON_AddStringToObject(o, key, ts);
}

void sim_deviceconfig_get(struct sim *sim, const struct sim_request *req,
			  struct sim_response *res)
{
	const struct sim_config *c = sim_store_config(sim->store, req->params[0]);
	cJSON *o;

	if (!c) {
		sim_res_error(res, req, 404, "%s", msg_no_device);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", req->params[0]);
	cJSON_AddItemToObject(o, "configured", cJSON_Duplicate(c->configured, 1));
	cJSON_AddItemToObject(o, "reported", cJSON_Duplicate(c->reported, 1));
	if (c->deployment_id[0])
		cJSON_AddStringToObject(o, "deployment_id", c->deployment_id);
	add_time(o, "updated_ts", c->updated_us);
	if (c->reported_us)
		add_time(o, "reported_ts", c->reported_us);
	sim_res_json(res, 200, o);
}

void sim_deviceconfig_put(struct sim *sim, const struct sim_request *req,
			  struct sim_response *res)
{
	struct sim_config *c;
	const cJSON *m;
	cJSON *body = sim_req_json(req, res, "malformed request body");

	if (!body)
		return;
	if (!cJSON_IsObject(body)) {
		sim_res_error(res, req, 400, "malformed request body: %s",
			      "json: cannot unmarshal into a configuration object");
		goto done;
	}
	/* v4.1.3 lets more than 100 keys through to a 500 (it does not count them); a
	 * 400 names the problem, see docs/mender-sim.md. */
	if (cJSON_GetArraySize(body) > CONFIG_KEYS_MAX) {
		sim_res_error(res, req, 400, "invalid request body: %s",
			      "configuration: the number of keys must be no more than 100");
		goto done;
	}
	cJSON_ArrayForEach(m, body) {
		if (!*m->string || strlen(m->string) > CONFIG_LEN_MAX) {
			sim_res_error(res, req, 400, "invalid request body: %s",
				      "key: the length must be between 1 and 4096.");
			goto done;
		}
		if (!cJSON_IsString(m)) {
			sim_res_error(res, req, 400, "invalid request body: value: invalid type: %s",
				      cJSON_IsNumber(m)   ? "number"
				      : cJSON_IsBool(m)	  ? "bool"
				      : cJSON_IsNull(m)	  ? "null"
				      : cJSON_IsArray(m)  ? "array"
							  : "object");
			goto done;
		}
		if (strlen(m->valuestring) > CONFIG_LEN_MAX) {
			sim_res_error(res, req, 400, "invalid request body: %s",
				      "value: the length must be no more than 4096.");
			goto done;
		}
	}
	c = sim_store_config_upsert(sim->store, req->params[0], sim_now_us());
	cJSON_Delete(c->configured);
	c->configured = cJSON_Duplicate(body, 1);
	c->updated_us = sim_now_us();
	sim_res_empty(res, 204);
done:
	cJSON_Delete(body);
}

void sim_deviceconfig_deploy(struct sim *sim, const struct sim_request *req,
			     struct sim_response *res)
{
	struct sim_config *c = sim_store_config(sim->store, req->params[0]);
	struct sim_new_deployment nd = { 0 };
	struct sim_buf name = SIM_BUF_INIT;
	struct sim_deployment *d;
	const cJSON *retries, *ucm;
	const char *devices[1];
	char id[37], *config = NULL;
	cJSON *body = NULL, *o;

	if (!c) {
		sim_res_error(res, req, 404, "%s", msg_no_device);
		return;
	}
	body = sim_req_json(req, res, "malformed request body");
	if (!body)
		return;
	retries = sim_json_get(body, "retries");
	ucm = sim_json_get(body, "update_control_map");
	if (!cJSON_IsObject(body) ||
	    (retries && !cJSON_IsNull(retries) && !sim_json_is_int(retries, -2147483648.0, 2147483647.0)) ||
	    (ucm && !cJSON_IsNull(ucm) && !cJSON_IsObject(ucm))) {
		sim_res_error(res, req, 400, "malformed request body: %s",
			      "json: cannot unmarshal into a deployment request");
		goto done;
	}
	/* The open-source server has no Enterprise plan. */
	if (cJSON_GetArraySize(ucm) > 0) {
		sim_res_error(res, req, 403,
			      "forbidden: update control map is available only for Enterprise customers");
		goto done;
	}
	/* app.go DeployConfiguration (v4.0.4, v4.1.3): when storing the new id
	 * fails it returns the zero response and no error, so the handler
	 * answers 200 with the all-zero id and no workflow starts. */
	if (sim->settings.config_zero_ids > 0) {
		sim->settings.config_zero_ids--;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "deployment_id", "00000000-0000-0000-0000-000000000000");
		sim_res_json(res, 200, o);
		goto done;
	}
	sim_uuid4(id);
	sim_buf_printf(&name, "configuration-%s", id);
	config = sim_json_print(c->configured);
	devices[0] = req->params[0];
	nd.id = id;
	nd.name = name.ptr;
	nd.artifact_name = name.ptr;
	nd.devices = devices;
	nd.ndevices = 1;
	nd.config_json = config;
	if (sim_store_create_deployment(sim->store, &nd, sim_now_us(), &d) != SIM_CREATED) {
		sim_res_error(res, req, 500, "internal error");
		goto done;
	}
	snprintf(c->deployment_id, sizeof(c->deployment_id), "%s", d->id);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "deployment_id", d->id);
	sim_res_json(res, 200, o);
done:
	free(config);
	sim_buf_release(&name);
	cJSON_Delete(body);
}
