#ifndef FLEETGATE_MENDER_PARSE_H
#define FLEETGATE_MENDER_PARSE_H

#include "mender/mender.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Mender's answers, read from their bytes: pure functions of (body, len)
 * that fill the client's structs, so they are tested on data and fuzzed
 * (fuzz/fuzz_mender.c). Each returns 0, or FG_EHTTP with a message naming
 * what was wrong ("the reply is not JSON (at byte 12)", "a device without
 * an id"); the caller puts the request in front. What a list parser
 * appended before an error stays in the list, for its _release.
 * Strings taken from the body are valid UTF-8 (see json.h).
 */

/* A page of POST /api/management/v2/inventory/filters/search (an array of
 * {id, attributes: [{scope, name, value}]}): appended to `out`; *got is
 * the count of devices on the page. */
int mender_parse_devices(const char *body, size_t len, struct mender_device_list *out,
			 size_t *got);

/* A page of GET .../v2/deployments/deployments (an array of Deployment):
 * appended; their statistics too when the list carries them. */
int mender_parse_deployments(const char *body, size_t len, struct mender_deployment_list *out,
			     size_t *got);

/* GET .../deployments/{id}/statistics (flat, or {"status": {...}}): the
 * counts by device status, appended to d->stats. */
int mender_parse_stats(const char *body, size_t len, struct mender_deployment *d);

/* GET .../deployments/{id}/device_list (an array of ids): d->devices. */
int mender_parse_device_ids(const char *body, size_t len, struct mender_deployment *d);

/* A page of GET .../deployments/{id}/devices/list ([{id, status}]). */
int mender_parse_device_statuses(const char *body, size_t len,
				 struct mender_device_status_list *out, size_t *got);

/* A page of GET .../v2/deployments/artifacts: the artifacts named as one
 * of `names` (others are not asked for: Mender's name filter may match
 * more) appended to `out`; *got counts every artifact on the page. */
int mender_parse_artifacts(const char *body, size_t len, const char *const *names,
			   size_t nnames, struct mender_artifact_list *out, size_t *got);

/* GET .../deviceconfig/configurations/device/{id}: `out` (released first)
 * gets found = 1 and both maps, sorted by key. */
int mender_parse_config(const char *body, size_t len, struct mender_config *out);

/* POST .../deploy: {"deployment_id": "..."}, non-empty, into *id
 * (malloc'd). */
int mender_parse_config_deployment(const char *body, size_t len, char **id);

/* The length of a JSON array (the records of a device's deployments). */
int mender_parse_array_size(const char *body, size_t len, size_t *n);

/* An error body {"error": ..., "request_id": ...}: each (malloc'd) or NULL
 * when absent or not an object. FG_EHTTP when the body is not JSON. */
int mender_parse_error(const char *body, size_t len, char **error, char **request_id);

/* An RFC 3339 time as Mender writes it ("2026-01-02T03:04:05Z",
 * "...05.12Z", "...05.123456789+02:00": any number of fraction digits)
 * into microseconds since the epoch (finer digits are dropped). FG_EHTTP,
 * naming it, when it is not one; *us is then 0. */
int mender_parse_time(const char *s, int64_t *us);

#endif
