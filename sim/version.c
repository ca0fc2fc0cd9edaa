/*
 * The Mender versions the stand-in plays. Every difference is read from the
 * server's code; docs/mender-sim.md ("Versions") has the table with file and
 * tag for each.
 */
#include "version.h"

#include <string.h>

#include "api.h"

static const char *const names[SIM_NVERSIONS] = {
	[SIM_V3_7] = "3.7",
	[SIM_V4_0] = "4.0",
	[SIM_V4_1] = "4.1",
};

int sim_version_parse(const char *s)
{
	int v;

	for (v = 0; v < SIM_NVERSIONS; v++)
		if (!strcmp(s, names[v]))
			return v;
	return -1;
}

const char *sim_version_name(enum sim_version v)
{
	return names[v];
}

/*
 * Routes the stand-in serves that not every version has; every other route
 * is in all three. Read from deployments api/http/routing.go at 4.6.0 (the
 * standalone service of Mender 3.7) and mender-server v4.0.4 and v4.1.3
 * backend/services/deployments/api/http/routing.go.
 */
static const struct {
	const char *method;
	const char *pattern;
	enum sim_version since;
} newer_routes[] = {
	/* ApiUrlManagementV2Deployments: absent at 4.6.0, there at v4.0.0. */
	{ "GET", "/api/management/v2/deployments/deployments", SIM_V4_0 },
	/* mgmtV2.GET(ApiUrlManagementArtifacts, ListImagesV2): new in v4.1.0. */
	{ "GET", "/api/management/v2/deployments/artifacts", SIM_V4_1 },
};

bool sim_version_serves(enum sim_version v, const char *method, const char *pattern)
{
	size_t i;

	for (i = 0; i < sizeof(newer_routes) / sizeof(newer_routes[0]); i++)
		if (!strcmp(newer_routes[i].method, method) &&
		    !strcmp(newer_routes[i].pattern, pattern))
			return v >= newer_routes[i].since;
	return true;
}

bool sim_version_stats_preset(enum sim_version v)
{
	return v >= SIM_V4_1;
}

bool sim_version_conflict_guard(enum sim_version v)
{
	return v >= SIM_V4_0;
}

/* How a service's router answers a path it has no route for. */
enum router {
	GATEWAY,     /* Traefik: text/plain "404 page not found" */
	JSON_REST,   /* ant0ine/go-json-rest: {"Error": "Resource not found"} */
	GIN_BARE,    /* gin.New() without NoRoute: text 404, also for other methods */
	GIN,         /* pkg/routing NewGinRouter: {"error": "not found", "request_id"} */
	GIN_MINIMAL, /* NewMinimalGinRouter: the same without request_id */
};

static const char *const prefixes[] = {
	"/api/management/v1/useradm/",     "/api/management/v1/inventory/",
	"/api/management/v2/inventory/",   "/api/management/v1/deployments/",
	"/api/management/v2/deployments/", "/api/management/v1/deviceconfig/",
};

enum service { USERADM, INVENTORY, DEPLOYMENTS, DEVICECONFIG, NONE };

static enum service service_of(const char *path)
{
	static const enum service of[] = { USERADM,     INVENTORY,   INVENTORY,
					   DEPLOYMENTS, DEPLOYMENTS, DEVICECONFIG };
	size_t i;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(path, prefixes[i], strlen(prefixes[i])))
			return of[i];
	return NONE;
}

bool sim_version_is_deviceconfig(const char *path)
{
	return service_of(path) == DEVICECONFIG;
}

/*
 * Up to v4.0.4 useradm, inventory and deployments route with go-json-rest
 * and deviceconfig with a bare gin.New(); v4.1.3 moved all four to gin
 * (backend/pkg/routing/routing.go), deployments with NewMinimalGinRouter,
 * whose NoRoute runs before the request id middleware of its groups.
 */
static enum router router_of(enum sim_version v, enum service s)
{
	if (s == NONE)
		return GATEWAY;
	if (v < SIM_V4_1)
		return s == DEVICECONFIG ? GIN_BARE : JSON_REST;
	return s == DEPLOYMENTS ? GIN_MINIMAL : GIN;
}

/* A JSON error body of one key, without a request id. */
static void bare_error(struct sim_response *res, unsigned int status, const char *key,
		       const char *message)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, key, message);
	sim_res_json(res, status, o);
}

void sim_version_no_route(enum sim_version v, const struct sim_request *req,
			  struct sim_response *res, bool other_method)
{
	unsigned int status = other_method ? 405 : 404;

	switch (router_of(v, service_of(req->path))) {
	case GATEWAY: /* Go's http.NotFound */
		sim_res_text(res, 404, "text/plain; charset=utf-8", "404 page not found\n");
		return;
	case GIN_BARE: /* gin's default404Body */
		sim_res_text(res, 404, "text/plain", "404 page not found");
		return;
	case JSON_REST:
		bare_error(res, status, "Error",
			   other_method ? "Method not allowed" : "Resource not found");
		return;
	case GIN:
		sim_res_error(res, req, status, "%s",
			      other_method ? "method not allowed" : "not found");
		return;
	case GIN_MINIMAL:
		bare_error(res, status, "error", other_method ? "method not allowed" : "not found");
		return;
	}
}

/*
 * Hosted Mender and Enterprise check the add-ons in the token's
 * "mender.addons" claim at the gateway's forward-auth. The open-source
 * server has the check for the device API only (deviceauth
 * access/addons.go, v4.1.3: PermissionError "operation requires addon:
 * configure", rendered as 403 by api_devauth.go's verify); the management
 * side (Enterprise useradm) is not public, so the same answer is assumed.
 */
void sim_version_no_configure(const struct sim_request *req, struct sim_response *res)
{
	sim_res_error(res, req, 403, "operation requires addon: configure");
}
