#ifndef FLEETGATE_EDICD_H
#define FLEETGATE_EDICD_H

#include <stddef.h>

#include "core/buf.h"
#include "fleet/diag.h"
#include "fleet/fleet.h"
#include "fleet/source.h"
#include "mender/mender.h"

/*
 * Import of an edi-cd fleet repository (an Ansible inventory, group_vars,
 * host_vars and the templates of roles/apply_configuration) into a
 * fleetgate fleet with the same desired state (docs/migrate-from-edi-cd.md).
 *
 * Each device's configuration is rendered from the template(s) themselves
 * (lib/import/jinja.h), per host, as Ansible would: today's schema renders
 * roles/apply_configuration/templates/edge-configuration.json for every
 * host; the 2022 schema renders the template a host names in
 * `configuration.template` (a host that names none gets no configuration,
 * as edi-cd's `when: configuration.template is defined` skipped it).
 * Variables: host_vars/<id>.yml, then the host's variables in
 * inventory.yml, then group_vars/all.yml, then all's vars in inventory.yml
 * (first wins, a whole value replaces another, as Ansible's default
 * hash_behaviour). lookup('env', 'NAME') becomes ${secret:NAME},
 * desired_os_image ${os_image}; no secret value is ever read.
 */

#define EDICD_INVENTORY "inventory.yml"
#define EDICD_TEMPLATES "roles/apply_configuration/templates"
#define EDICD_TEMPLATE "edge-configuration.json"

struct edicd_device {
	char *id;                 /* the inventory host: the Mender device id */
	char *file;               /* host_vars/<id>.yml, or NULL: group defaults only */
	int orphan;               /* host_vars without an inventory entry */
	char *branch;             /* subscribed_branch as rendered */
	char *template;           /* template rendered, or NULL: no configuration */
	struct mender_kv *config; /* the rendered map, in template order */
	size_t nconfig;
	struct mender_kv *images; /* device_type -> image_name, the list in order */
	size_t nimages;
	int own_images; /* the host's own os_image list replaces the group's */
	char *error;    /* why Ansible would fail this host, or NULL */
};

struct edicd_import {
	const char *schema; /* "edge-configuration.json", "configuration.template (2022)", or both */
	char *mender_server;      /* or NULL */
	struct mender_kv *images; /* the group's os_image */
	size_t nimages;
	struct edicd_device *devices; /* inventory order, then orphans by name */
	size_t ndevices;
	size_t norphans; /* orphans found (imported or not) */
	char **secrets;  /* the secret names the fleet needs, sorted */
	size_t nsecrets;
	char **notes; /* orphans, unused keys, dropped groups, ... */
	size_t nnotes;
	struct diags diags; /* problems with the repository itself: nothing may be written */
};

/*
 * Read and render the edi-cd repository in `src`. Orphans become devices
 * only with `include_orphans`. Problems of the repository (YAML, template
 * syntax, unsupported constructs, unsupported layout) go to out->diags;
 * hosts Ansible would fail carry their `error`. Returns 0, or a negative
 * FG_E* code when the source failed (I/O). Release with edicd_release().
 */
int edicd_read(struct edicd_import *out, const struct source *src, int include_orphans);
void edicd_release(struct edicd_import *imp);

/* The number of devices that carry an error. */
size_t edicd_failed(const struct edicd_import *imp);

/* One file of the fleet to write. */
struct edicd_file {
	char *path; /* "fleet.yaml", "devices/<id>.yaml" */
	char *content;
	size_t len;
};

/*
 * The fleet files for `imp` (which must have no diags errors and no failed
 * device): fleet.yaml with the group's OS images, the Mender server and
 * the configuration every device shares; one devices/<id>.yaml per device
 * with its subscribed_branch, its own os_image list and the rest of its
 * map. The same import gives the same bytes. Free with edicd_files_free().
 */
void edicd_fleet_files(const struct edicd_import *imp, struct edicd_file **files, size_t *n);
void edicd_files_free(struct edicd_file *files, size_t n);

/* The files as a source of fleet_load() (fleet/source.h), to validate them
 * before any is written; `files` must outlive it. Release with
 * source_release(). */
void edicd_files_source(struct source *out, const struct edicd_file *files, size_t n);

/* One row of --check: what edi-cd's templates and the fleet say. */
struct edicd_check_row {
	char *device;
	char *edicd; /* "main, 8 images, 6 keys, 1a2b3c4d": the digest covers
			   * the image and map of every device type */
	char *fleetgate;
	int equal;
	char *difference; /* the first difference, or NULL */
};

/*
 * For each device of `imp`, for each device type its os_image list names
 * (the configuration may depend on it through desired_os_image; one row a
 * device, its first difference named with the device type), compare
 * the subscription, artifact and configuration map edi-cd renders with the
 * desired state `fleet` yields (lib/fleet/desired.h). Free the rows with
 * edicd_check_free().
 */
void edicd_check(const struct edicd_import *imp, const struct fleet *fleet,
		 struct edicd_check_row **rows, size_t *n);
void edicd_check_free(struct edicd_check_row *rows, size_t n);

#endif
