/*
 * Artifacts uploaded as .mender files, as mender-server's deployments
 * service takes them (v4.0.4 and v4.1.x alike): api/http/api_deployments.go
 * NewImage and ParseMultipart (the form's "size", "description",
 * "artifact_id", then the "artifact" file; other parts ignored), app/app.go
 * CreateImage (422 "Artifact not unique" for a name already there for one
 * of the same device types), DeleteImage (409 while an active deployment
 * uses it). The file itself is read by artifact_file.c; the stand-in keeps
 * it for the devices' downloads.
 */
#include "devices.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "artifact_file.h"
#include "handlers.h"

/* An artifact of that name for one of these device types (IsArtifactUnique). */
static bool artifact_taken(const struct sim_store *s, const struct sim_artifact_meta *m)
{
	size_t i, j;

	for (i = 0; i < s->nartifacts; i++) {
		if (strcmp(s->artifacts[i]->name, m->name))
			continue;
		for (j = 0; j < m->ndevice_types; j++)
			if (sim_artifact_compatible(s->artifacts[i], m->device_types[j]))
				return true;
	}
	return false;
}

/* The form's fields up to the artifact; false after writing the 400. */
struct upload_form {
	const char *description;
	const char *artifact_id;
	const struct sim_part *artifact;
	int64_t size;
	char *text[2]; /* owned copies of description and artifact_id */
};

static bool read_form(const struct sim_request *req, struct sim_response *res,
		      struct upload_form *f)
{
	size_t i;

	if (!req->content_type || strncasecmp(req->content_type, "multipart/form-data", 19)) {
		sim_res_error(res, req, 400, "request Content-Type isn't multipart/form-data");
		return false;
	}
	if (req->form_error) {
		sim_res_error(res, req, 400, "multipart: malformed request body");
		return false;
	}
	f->size = -1;
	for (i = 0; i < req->nparts && !f->artifact; i++) {
		const struct sim_part *p = &req->parts[i];
		char *v = sim_xstrndup(p->data.ptr ? p->data.ptr : "", p->data.len);

		if (!strcasecmp(p->name, "artifact")) {
			f->artifact = p;
		} else if (!strcasecmp(p->name, "description")) {
			free(f->text[0]);
			f->description = f->text[0] = v;
			continue;
		} else if (!strcasecmp(p->name, "artifact_id")) {
			free(f->text[1]);
			f->artifact_id = f->text[1] = v;
			if (!sim_is_uuid(v)) {
				sim_res_error(res, req, 400, "artifact_id is not a valid UUID");
				return false;
			}
			continue;
		} else if (!strcasecmp(p->name, "size") && !sim_parse_i64(v, &f->size)) {
			sim_res_error(res, req, 400, "strconv.ParseInt: parsing \"%s\": invalid syntax",
				      v);
			free(v);
			return false;
		}
		free(v);
	}
	if (!f->artifact) {
		sim_res_error(res, req, 400, "request does not contain the artifact file");
		return false;
	}
	if (f->size >= 0 && (size_t)f->size != f->artifact->data.len) {
		sim_res_error(res, req, 400, "unexpected EOF");
		return false;
	}
	return true;
}

/* The artifact in the store, as the seed format adds one; -1 with the
 * seed's complaint in `err` (a name over 4096 bytes). */
static int add_artifact(struct sim *sim, const struct sim_artifact_meta *m, const char *id,
			const char *description, size_t size, struct sim_buf *err)
{
	cJSON *doc = cJSON_CreateObject(), *arts = cJSON_AddArrayToObject(doc, "artifacts");
	cJSON *e = cJSON_CreateObject(), *types = cJSON_AddArrayToObject(e, "device_types_compatible");
	size_t i;
	int ret;

	cJSON_AddStringToObject(e, "name", m->name);
	for (i = 0; i < m->ndevice_types; i++)
		cJSON_AddItemToArray(types, cJSON_CreateString(m->device_types[i]));
	cJSON_AddStringToObject(e, "id", id);
	cJSON_AddStringToObject(e, "description", description ? description : "");
	cJSON_AddNumberToObject(e, "size", (double)size);
	cJSON_AddStringToObject(e, "type", m->payload_type);
	cJSON_AddItemToArray(arts, e);
	ret = sim_store_seed(sim->store, doc, false, err);
	cJSON_Delete(doc);
	return ret;
}

static bool id_taken(const struct sim_store *s, const char *id)
{
	size_t i;

	for (i = 0; i < s->nartifacts; i++)
		if (!strcasecmp(s->artifacts[i]->id, id))
			return true;
	return false;
}

void sim_artifacts_upload(struct sim *sim, const struct sim_request *req,
			  struct sim_response *res)
{
	struct upload_form f = { 0 };
	struct sim_artifact_meta m = { 0 };
	struct sim_buf err = SIM_BUF_INIT, loc = SIM_BUF_INIT;
	unsigned char *copy;
	char id[37];
	bool parsed = false;

	if (!read_form(req, res, &f))
		goto done;
	if (sim_artifact_parse(f.artifact->data.ptr, f.artifact->data.len, &m, &err)) {
		sim_res_error(res, req, 400, "%s", err.ptr);
		goto done;
	}
	parsed = true;
	if (artifact_taken(sim->store, &m) || (f.artifact_id && id_taken(sim->store, f.artifact_id))) {
		sim_res_error(res, req, 422, "Artifact not unique");
		goto done;
	}
	if (f.artifact_id)
		snprintf(id, sizeof(id), "%s", f.artifact_id);
	else
		sim_uuid4(id);
	if (add_artifact(sim, &m, id, f.description, f.artifact->data.len, &err)) {
		sim_res_error(res, req, 400, "%s", err.ptr);
		goto done;
	}
	copy = sim_xmalloc(f.artifact->data.len ? f.artifact->data.len : 1);
	memcpy(copy, f.artifact->data.ptr ? f.artifact->data.ptr : "", f.artifact->data.len);
	sim_devices_put_blob(sim->devices, id, copy, f.artifact->data.len);
	sim_buf_printf(&loc, "%s/%s", req->path, id);
	sim_res_header(res, "Location", loc.ptr);
	sim_res_empty(res, 201);
done:
	if (parsed)
		sim_artifact_meta_release(&m);
	free(f.text[0]);
	free(f.text[1]);
	sim_buf_release(&err);
	sim_buf_release(&loc);
}

void sim_artifacts_delete(struct sim *sim, const struct sim_request *req,
			  struct sim_response *res)
{
	if (!sim_is_uuid(req->params[0])) {
		sim_res_error(res, req, 400, "ID is not a valid UUID");
		return;
	}
	switch (sim_store_delete_artifact(sim->store, req->params[0])) {
	case SIM_DELETED:
		sim_devices_put_blob(sim->devices, req->params[0], NULL, 0);
		sim_res_empty(res, 204);
		break;
	case SIM_DELETE_NOT_FOUND:
		sim_res_error(res, req, 404, "Resource not found");
		break;
	case SIM_DELETE_IN_USE:
		sim_res_error(res, req, 409, "Artifact is used in active deployment");
		break;
	}
}
