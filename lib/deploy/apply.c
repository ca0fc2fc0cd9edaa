#include "deploy/apply.h"

#include "core/alloc.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

static int record(struct apply_result *r, int rc, int code, const char *message)
{
	r->failed++;
	if (!r->first_error)
		r->first_error = fg_strdup(message ? message : fg_error_message());
	return rc ? rc : code;
}

static int abort_superseded(struct mender_client *c, const struct plan *p, struct apply_result *r)
{
	const char **ids = fg_calloc(p->ndevices + 1, sizeof(char *));
	struct mender_result *res;
	size_t i, n = 0;
	int rc = 0;

	for (i = 0; i < p->ndevices; i++)
		if (p->devices[i].kind == PLAN_MANAGED && p->devices[i].naborts)
			ids[n++] = p->devices[i].id;
	if (!n) {
		free(ids);
		return 0;
	}
	res = fg_calloc(n, sizeof(*res));
	mender_abort_devices(c, ids, n, res);
	for (i = 0; i < n; i++) {
		if (res[i].code)
			rc = record(r, rc, res[i].code, res[i].message);
		else
			r->aborted++;
		mender_result_release(&res[i]);
	}
	free(res);
	free(ids);
	return rc;
}

/* Abort whole the deployments no device needs any more (plan->finish),
 * after the devices' own aborts: none is left active. One that finished
 * meanwhile is no failure. */
static int finish_unneeded(struct mender_client *c, const struct plan *p, struct apply_result *r)
{
	size_t i;
	int rc = 0, was_finished, err;

	for (i = 0; i < p->nfinish; i++) {
		err = mender_abort_deployment(c, p->finish[i], &was_finished);
		if (err)
			rc = record(r, rc, err, NULL);
		else
			r->finished++;
	}
	return rc;
}

static int create_deployments(struct mender_client *c, const struct plan *p, struct apply_result *r)
{
	size_t i, off;
	int rc = 0;

	for (i = 0; i < p->nbatches; i++) {
		const struct plan_batch *b = &p->batches[i];

		for (off = 0; off < b->ndevices; off += APPLY_MAX_DEVICES_PER_DEPLOYMENT) {
			size_t n = b->ndevices - off;
			struct mender_new_deployment d;
			char *id = NULL;
			int exists = 0, err;

			if (n > APPLY_MAX_DEVICES_PER_DEPLOYMENT)
				n = APPLY_MAX_DEVICES_PER_DEPLOYMENT;
			d.name = b->name;
			d.artifact_name = b->artifact;
			d.devices = (const char *const *)b->devices + off;
			d.ndevices = n;
			err = mender_create_deployment(c, &d, &id, &exists);
			if (err)
				rc = record(r, rc, err, NULL);
			else if (exists)
				r->existed++;
			else
				r->created++;
			free(id);
		}
	}
	return rc;
}

static int configure(struct mender_client *c, const struct plan *p, struct apply_result *r)
{
	struct mender_config_job *jobs = fg_calloc(p->ndevices + 1, sizeof(*jobs));
	struct mender_tags_job *tags = fg_calloc(p->ndevices + 1, sizeof(*tags));
	static const char *const tag_name[] = { PLAN_DIGEST_TAG };
	const char ***keys = fg_calloc(p->ndevices + 1, sizeof(*keys));
	const char ***values = fg_calloc(p->ndevices + 1, sizeof(*values));
	const char **digests = fg_calloc(p->ndevices + 1, sizeof(*digests));
	size_t *owner = fg_calloc(p->ndevices + 1, sizeof(*owner));
	size_t i, k, njobs = 0, ntags = 0;
	int rc = 0;

	for (i = 0; i < p->ndevices; i++) {
		const struct plan_device *d = &p->devices[i];

		if (d->kind != PLAN_MANAGED || d->config != PLAN_CONFIG_UPDATE)
			continue;
		keys[njobs] = fg_calloc(d->nvalues + 1, sizeof(char *));
		values[njobs] = fg_calloc(d->nvalues + 1, sizeof(char *));
		for (k = 0; k < d->nvalues; k++) {
			keys[njobs][k] = d->values[k].key;
			values[njobs][k] = d->values[k].value;
		}
		jobs[njobs].device_id = d->id;
		jobs[njobs].keys = keys[njobs];
		jobs[njobs].values = values[njobs];
		jobs[njobs].n = d->nvalues;
		jobs[njobs].deploy = 1;
		owner[njobs] = i;
		njobs++;
	}
	if (njobs)
		mender_config_apply_many(c, jobs, njobs);
	for (i = 0; i < njobs; i++) {
		if (jobs[i].result.code) {
			rc = record(r, rc, jobs[i].result.code, jobs[i].result.message);
			continue;
		}
		r->configured++;
		digests[ntags] = p->devices[owner[i]].digest;
		tags[ntags].device_id = jobs[i].device_id;
		tags[ntags].names = tag_name;
		tags[ntags].values = &digests[ntags];
		tags[ntags].n = 1;
		ntags++;
	}
	for (i = 0; i < p->ndevices; i++) {
		const struct plan_device *d = &p->devices[i];

		if (d->kind != PLAN_MANAGED || d->config != PLAN_CONFIG_TAG_ONLY)
			continue;
		digests[ntags] = d->digest;
		tags[ntags].device_id = d->id;
		tags[ntags].names = tag_name;
		tags[ntags].values = &digests[ntags];
		tags[ntags].n = 1;
		ntags++;
	}
	/* The digest is recorded last: a run killed before it sets the
	 * configuration again next time, never skips it. */
	if (ntags)
		mender_set_tags_many(c, tags, ntags);
	for (i = 0; i < ntags; i++) {
		if (tags[i].result.code)
			rc = record(r, rc, tags[i].result.code, tags[i].result.message);
		else
			r->tagged++;
		mender_result_release(&tags[i].result);
	}
	for (i = 0; i < njobs; i++) {
		mender_config_job_release(&jobs[i]);
		free(keys[i]);
		free(values[i]);
	}
	free(jobs);
	free(tags);
	free(keys);
	free(values);
	free(digests);
	free(owner);
	return rc;
}

int apply_plan(struct mender_client *c, const struct plan *p, struct apply_result *out)
{
	int rc, err;

	memset(out, 0, sizeof(*out));
	rc = abort_superseded(c, p, out);
	err = finish_unneeded(c, p, out);
	rc = rc ? rc : err;
	err = create_deployments(c, p, out);
	rc = rc ? rc : err;
	err = configure(c, p, out);
	rc = rc ? rc : err;
	if (rc)
		fg_error_set(rc, "%zu action%s failed; first: %s", out->failed,
			     out->failed == 1 ? "" : "s", out->first_error);
	return rc;
}

void apply_result_release(struct apply_result *r)
{
	free(r->first_error);
	memset(r, 0, sizeof(*r));
}
