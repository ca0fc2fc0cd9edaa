/*
 * GET/PUT /_sim/settings: how the stand-in's server is set up, beyond the
 * version it plays (docs/mender-sim.md, "Settings").
 */
#include <string.h>

#include "handlers.h"

static cJSON *settings_json(const struct sim *sim)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "mender_version", sim_version_name(sim->store->version));
	cJSON_AddBoolToObject(o, "configure", !sim->settings.no_configure);
	cJSON_AddNumberToObject(o, "config_deploy_zero_id", (double)sim->settings.config_zero_ids);
	cJSON_AddStringToObject(o, "unsorted_order",
				sim->settings.natural_order ? "natural" : "shuffled");
	return o;
}

void sim_control_settings_get(struct sim *sim, const struct sim_request *req,
			      struct sim_response *res)
{
	(void)req;
	sim_res_json(res, 200, settings_json(sim));
}

/* Check every key before changing anything. */
static const char *settings_check(const cJSON *body)
{
	const cJSON *e;

	if (!cJSON_IsObject(body))
		return "the settings must be an object";
	cJSON_ArrayForEach (e, body) {
		if (!strcmp(e->string, "configure")) {
			if (!cJSON_IsBool(e))
				return "'configure' must be true or false";
		} else if (!strcmp(e->string, "config_deploy_zero_id")) {
			if (!sim_json_is_int(e, 0, 1000000))
				return "'config_deploy_zero_id' must be a count from 0 to 1000000";
		} else if (!strcmp(e->string, "unsorted_order")) {
			if (!cJSON_IsString(e) || (strcmp(e->valuestring, "shuffled") &&
						   strcmp(e->valuestring, "natural")))
				return "'unsorted_order' must be \"shuffled\" or \"natural\"";
		} else {
			return "unknown key (known: configure, config_deploy_zero_id, "
			       "unsorted_order)";
		}
	}
	return NULL;
}

void sim_control_settings_put(struct sim *sim, const struct sim_request *req,
			      struct sim_response *res)
{
	cJSON *body = sim_req_json(req, res, "bad settings");
	const cJSON *e;
	const char *why;

	if (!body)
		return;
	why = settings_check(body);
	if (why) {
		sim_res_error(res, req, 400, "%s", why);
		cJSON_Delete(body);
		return;
	}
	cJSON_ArrayForEach (e, body) {
		if (!strcmp(e->string, "configure"))
			sim->settings.no_configure = cJSON_IsFalse(e);
		else if (!strcmp(e->string, "config_deploy_zero_id"))
			sim->settings.config_zero_ids = (int64_t)e->valuedouble;
		else
			sim->settings.natural_order = !strcmp(e->valuestring, "natural");
	}
	cJSON_Delete(body);
	sim_res_json(res, 200, settings_json(sim));
}
