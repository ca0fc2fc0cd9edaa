#ifndef SIM_ARTIFACT_FILE_H
#define SIM_ARTIFACT_FILE_H

/*
 * A .mender file taken apart (format versions 2 and 3, as mender-artifact
 * writes them): the outer tar's `version`, `manifest`, `header.tar[.gz|.xz
 * |.zst]` with `header-info` and `headers/NNNN/type-info`, and the payloads
 * `data/NNNN.tar*`, every checksum of the manifest verified. The only file
 * of the stand-in that includes archive.h (libarchive reads tar, gzip, xz
 * and zstd; nothing here is hand-written). Pure: bytes in, meta or error out.
 */

#include <stddef.h>

#include "json.h"
#include "util.h"

struct sim_artifact_meta {
	int version;	     /* the format version, 2 or 3 */
	char *name;	     /* artifact_name */
	char **device_types; /* device_types_compatible (artifact_depends.device_type) */
	size_t ndevice_types;
	char *payload_type; /* the first payload's type; "" for none (bootstrap) */
	cJSON *provides;    /* header-info's and every type-info's artifact_provides */
	cJSON *depends;	    /* header-info's artifact_depends, without device_type */
	size_t npayloads;
};

/* Largest .mender the stand-in takes apart (everything is in memory). */
#define SIM_ARTIFACT_MAX ((size_t)256 << 20)

/*
 * Parse buf[0..len). Returns 0 with `out` filled (release it with
 * sim_artifact_meta_release), or -1 with what is wrong in `err` (the
 * artifact is refused; `out` holds nothing).
 */
int sim_artifact_parse(const void *buf, size_t len, struct sim_artifact_meta *out,
		       struct sim_buf *err);

void sim_artifact_meta_release(struct sim_artifact_meta *m);

/*
 * The configuration artifact Mender's deployments service makes on demand
 * (app/app.go GenerateConfigurationImage, v4.0.4 and v4.1.3): format 3,
 * uncompressed, one payload of type mender-configure without files, its
 * meta-data the configuration `config_json` (a JSON object), named `name`,
 * for `device_type`; providing data-partition.mender-configure.version.
 * Appends the file to `out`; returns 0, or -1 with a message in `err`.
 */
int sim_artifact_write_configure(const char *name, const char *device_type,
				 const char *config_json, struct sim_buf *out, struct sim_buf *err);

#endif
