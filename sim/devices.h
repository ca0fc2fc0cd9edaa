#ifndef SIM_DEVICES_H
#define SIM_DEVICES_H

/*
 * The device side of the stand-in: the state behind the routes real Mender
 * clients call (docs/mender-sim.md, "Real devices"). Authentication sets and
 * device tokens (devauth.c), artifact files, download links and deployment
 * logs (device_api.c, artifact_api.c). A device a client brings is a device
 * of the store like any other, with behaviour "real": /_sim/step leaves it
 * to its client. Callers hold the server lock.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api.h"

/* The bucket in download links, as Mender's S3 storage names it. */
#define SIM_STORAGE_BUCKET "mender-artifact-storage"
/* How long a download link and a device token live (deployments'
 * DefaultUpdateDownloadLinkExpire is 24 h; devauth's default token
 * expiry one week). */
#define SIM_LINK_EXPIRE_S (24 * 3600)
#define SIM_DEVICE_TOKEN_EXPIRE_S (7 * 24 * 3600)

/* One authentication set: a device's identity with one public key. */
struct sim_authset {
	char id[37];
	char device_id[37];
	char *id_data; /* JSON object, keys sorted (devauth's JsonSort) */
	char *pubkey;  /* PEM, as the stand-in re-serialised it */
	const char *status; /* "pending", "accepted" or "rejected" (static) */
	int64_t ts_us;
};

/* An artifact's file, kept for downloads. */
struct sim_blob {
	unsigned char *data;
	size_t len;
};

struct sim_devices {
	bool manual_admission; /* new devices wait for admission (--admission manual) */
	struct sim_authset **sets; /* owned, in creation order */
	size_t nsets, asets;
	struct sim_map *tokens; /* token -> struct sim_devtoken (devauth.c) */
	struct sim_map *blobs;	/* artifact id -> struct sim_blob */
	struct sim_map *logs;	/* "deployment/device" -> char * (JSON text) */
	unsigned char link_key[32]; /* signs download links */
};

/* A device side with no device yet. Free with sim_devices_free. */
struct sim_devices *sim_devices_new(bool manual_admission);
void sim_devices_free(struct sim_devices *d);

/* Keep `data` (taken over) as the file of artifact `artifact_id`; a file
 * there before is freed. NULL data removes it. */
void sim_devices_put_blob(struct sim_devices *d, const char *artifact_id, unsigned char *data,
			  size_t len);

/* Whether the request's Bearer token is a device token. */
bool sim_devauth_is_device_token(const struct sim_devices *d, const struct sim_request *req);

/*
 * The id of the device whose valid token the request carries; otherwise
 * NULL after writing the 401 Mender gives.
 */
const char *sim_devauth_device(struct sim *sim, const struct sim_request *req,
			       struct sim_response *res);

#endif
