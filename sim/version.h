#ifndef SIM_VERSION_H
#define SIM_VERSION_H

/*
 * The Mender server version the stand-in plays (--mender-version): which
 * management routes exist, what an unknown route answers, and the
 * deployments service's behaviours that changed between versions
 * (docs/mender-sim.md, "Versions").
 */

#include <stdbool.h>

enum sim_version {
	SIM_V3_7, /* Mender 3.7: the standalone services (deployments 4.6.0) */
	SIM_V4_0, /* mender-server v4.0.4, the maintained 4.0 LTS line */
	SIM_V4_1, /* mender-server v4.1.3 */
	SIM_NVERSIONS
};

#define SIM_VERSION_DEFAULT SIM_V4_1

/* "3.7", "4.0", "4.1" <-> enum; sim_version_parse returns -1 for others. */
int sim_version_parse(const char *s);
const char *sim_version_name(enum sim_version v);

/* Whether version `v` has the route `method` `pattern` (http.c's patterns). */
bool sim_version_serves(enum sim_version v, const char *method, const char *pattern);

/*
 * Since 4.1.0 a new deployment counts every device as pending and a record
 * created for a device that never polled (a per-device abort) leaves the
 * statistics alone (app.go CreateDeployment, createDeviceDeploymentWithStatus).
 */
bool sim_version_stats_preset(enum sim_version v);

/* Whether an identical active deployment is refused with 409 (the unique
 * index of deployments' migration 1.2.16, first in mender-server 4.0). */
bool sim_version_conflict_guard(enum sim_version v);

struct sim_request;
struct sim_response;

/*
 * What version `v` answers for a path it has no route for (`other_method`:
 * the path exists with another method): each service's router has its own
 * 404/405, and a path no service owns gets the gateway's (Traefik) 404.
 */
void sim_version_no_route(enum sim_version v, const struct sim_request *req,
			  struct sim_response *res, bool other_method);

/* The answer of a server without the Mender Configure add-on to a
 * deviceconfig request (403). */
void sim_version_no_configure(const struct sim_request *req, struct sim_response *res);
bool sim_version_is_deviceconfig(const char *path);

#endif
