#include "deploy/facts.h"

#include "core/alloc.h"
#include "core/error.h"
#include "deploy/plan.h"

#include <stdlib.h>
#include <string.h>

struct pair {
	const char *device;
	size_t deployment;
};

static int pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->device, y->device);

	if (c)
		return c;
	return x->deployment < y->deployment ? -1 : x->deployment > y->deployment;
}

static int status_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mender_device_status *)a)->device_id,
		      ((const struct mender_device_status *)b)->device_id);
}

static const char *device_status(const struct mender_device_status_list *l, const char *id)
{
	struct mender_device_status key = { (char *)id, NULL };
	const struct mender_device_status *s;

	if (!l->n)
		return NULL;
	s = bsearch(&key, l->items, l->n, sizeof(*l->items), status_cmp);
	return s ? s->status : NULL;
}

/* Drop deployments listed twice (active and found by name) and
 * configuration ones. */
static void dedupe_deployments(struct mender_deployment_list *l)
{
	size_t i, j, kept = 0;

	for (i = 0; i < l->n; i++) {
		int dup = !strcmp(l->items[i].type, "configuration");

		for (j = 0; j < kept && !dup; j++)
			dup = !strcmp(l->items[j].id, l->items[i].id);
		if (dup) {
			mender_deployment_release(&l->items[i]);
			continue;
		}
		l->items[kept++] = l->items[i];
	}
	l->n = kept;
}

static void fill_device(struct plan_facts *pf, const struct mender_device *d, const char *os_attr)
{
	memset(pf, 0, sizeof(*pf));
	pf->id = d->id;
	pf->device_type = mender_device_attr(d, "inventory", "device_type");
	pf->tag_branch = mender_device_attr(d, "tags", "subscribed_branch");
	if (!pf->tag_branch)
		pf->tag_branch = mender_device_attr(d, NULL, "subscribed_branch");
	pf->status = mender_device_attr(d, "identity", "status");
	pf->installed = mender_device_attr(d, "inventory", os_attr);
	if (!pf->installed || !*pf->installed)
		pf->installed = mender_device_attr(d, "inventory", "artifact_name");
	pf->digest_tag = mender_device_attr(d, "tags", PLAN_DIGEST_TAG);
}

static struct plan_kv *kv_convert(struct plan_kv *pool, const struct mender_kv *kv, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		pool[i].key = kv[i].key;
		pool[i].value = kv[i].value;
	}
	return pool;
}

/* Point the planner's facts at what was read. */
static void build(struct facts *f, const struct facts_request *rq)
{
	struct pair *pairs;
	size_t npairs = 0, i, k, p = 0, kv = 0, nkv = 0;

	for (i = 0; i < f->deployments.n; i++)
		npairs += f->deployments.items[i].ndevices;
	pairs = fg_calloc(npairs + 1, sizeof(*pairs));
	for (i = 0; i < f->deployments.n; i++)
		for (k = 0; k < f->deployments.items[i].ndevices; k++) {
			pairs[p].device = f->deployments.items[i].devices[k];
			pairs[p++].deployment = i;
		}
	qsort(pairs, npairs, sizeof(*pairs), pair_cmp);
	f->dep_pool = fg_calloc(npairs + 1, sizeof(*f->dep_pool));
	if (f->configs)
		for (i = 0; i < f->devices.n; i++)
			nkv += f->configs[i].nconfigured + f->configs[i].nreported;
	f->kv_pool = fg_calloc(nkv + 1, sizeof(*f->kv_pool));
	f->nplan = f->devices.n;
	f->plan = fg_calloc(f->nplan + 1, sizeof(*f->plan));
	for (i = 0, p = 0; i < f->devices.n; i++) {
		struct plan_facts *pf = &f->plan[i];

		fill_device(pf, &f->devices.items[i], rq->os_attribute);
		while (p < npairs && strcmp(pairs[p].device, pf->id) < 0)
			p++;
		pf->deployments = &f->dep_pool[p];
		for (; p < npairs && !strcmp(pairs[p].device, pf->id); p++) {
			const struct mender_deployment *d = &f->deployments.items[pairs[p].deployment];
			struct plan_deployment_fact *df = &f->dep_pool[p];

			df->id = d->id;
			df->name = d->name;
			df->artifact = d->artifact_name;
			df->configuration = !strcmp(d->type, "configuration");
			df->active = strcmp(d->status, "finished") != 0;
			df->device_status = device_status(&f->statuses[pairs[p].deployment], pf->id);
			pf->ndeployments++;
		}
		if (f->configs && f->configs[i].found) {
			pf->config_known = 1;
			pf->config_deployed = f->configs[i].deployment_id && *f->configs[i].deployment_id;
			pf->configured = kv_convert(&f->kv_pool[kv], f->configs[i].configured,
						    f->configs[i].nconfigured);
			pf->nconfigured = f->configs[i].nconfigured;
			kv += pf->nconfigured;
			pf->reported = kv_convert(&f->kv_pool[kv], f->configs[i].reported,
						  f->configs[i].nreported);
			pf->nreported = f->configs[i].nreported;
			kv += pf->nreported;
		} else if (f->configs) {
			pf->config_known = 1; /* no record: nothing configured or reported */
		}
	}
	free(pairs);
	f->nplan_artifacts = f->artifacts.n;
	f->plan_artifacts = fg_calloc(f->artifacts.n + 1, sizeof(*f->plan_artifacts));
	for (i = 0; i < f->artifacts.n; i++) {
		f->plan_artifacts[i].name = f->artifacts.items[i].name;
		f->plan_artifacts[i].device_types = (const char *const *)f->artifacts.items[i].device_types;
		f->plan_artifacts[i].ndevice_types = f->artifacts.items[i].ndevice_types;
	}
}

/* The active deployments for plan_input, each device with its status. */
static void build_active(struct facts *f)
{
	size_t i, k, n = 0, at = 0;

	for (i = 0; i < f->deployments.n; i++)
		n += f->deployments.items[i].ndevices;
	f->status_pool = fg_calloc(n + 1, sizeof(*f->status_pool));
	f->plan_active = fg_calloc(f->deployments.n + 1, sizeof(*f->plan_active));
	for (i = 0; i < f->deployments.n; i++) {
		const struct mender_deployment *d = &f->deployments.items[i];
		struct plan_active *a = &f->plan_active[f->nplan_active];

		if (!strcmp(d->status, "finished"))
			continue;
		a->id = d->id;
		a->name = d->name;
		a->devices = (const char *const *)d->devices;
		a->ndevices = d->ndevices;
		a->statuses = &f->status_pool[at];
		for (k = 0; k < d->ndevices; k++)
			f->status_pool[at++] = device_status(&f->statuses[i], d->devices[k]);
		f->nplan_active++;
	}
}

void facts_probe_configure(struct facts *f, struct mender_client *c)
{
	const char *id = f->devices.n ? f->devices.items[0].id : NULL;
	struct mender_result r = { 0, NULL };
	struct mender_config cfg;

	if (!id || f->configs)
		return; /* none to ask about; with `full` the reads told */
	mender_config_init(&cfg);
	mender_config_get_many(c, &id, 1, &cfg, &r);
	mender_config_release(&cfg);
	mender_result_release(&r);
	fg_error_clear();
	f->configure_absent = mender_configure_absent(c);
}

/* With `full`: every device's configuration. */
static int read_configs(struct facts *f, struct mender_client *c)
{
	const char **ids = fg_calloc(f->devices.n, sizeof(char *));
	struct mender_result *results = fg_calloc(f->devices.n, sizeof(*results));
	size_t i;
	int rc;

	f->configs = fg_calloc(f->devices.n, sizeof(*f->configs));
	for (i = 0; i < f->devices.n; i++) {
		ids[i] = f->devices.items[i].id;
		mender_config_init(&f->configs[i]);
	}
	rc = mender_config_get_many(c, ids, f->devices.n, f->configs, results);
	for (i = 0; i < f->devices.n; i++)
		mender_result_release(&results[i]);
	free(results);
	free(ids);
	if (mender_configure_absent(c)) {
		/* not managed: nothing is known of any device's configuration */
		for (i = 0; i < f->devices.n; i++)
			mender_config_release(&f->configs[i]);
		free(f->configs);
		f->configs = NULL;
		f->configure_absent = 1;
		fg_error_clear();
		return 0;
	}
	return rc ? fg_error_wrap(rc, "reading the devices' configuration") : 0;
}

int facts_gather(struct facts *f, struct mender_client *c, const struct facts_request *rq)
{
	const struct mender_attr_ref want[] = {
		{ "inventory", "device_type" },  { "inventory", rq->os_attribute },
		{ "inventory", "artifact_name" }, { "identity", "status" },
		{ "tags", "subscribed_branch" }, { "inventory", "subscribed_branch" },
		{ "tags", PLAN_DIGEST_TAG },
	};
	size_t i;
	int rc;

	memset(f, 0, sizeof(*f));
	mender_device_list_init(&f->devices);
	mender_deployment_list_init(&f->deployments);
	mender_artifact_list_init(&f->artifacts);
	rc = mender_list_devices(c, want, sizeof(want) / sizeof(*want), NULL, 0, &f->devices);
	if (rc)
		return fg_error_wrap(rc, "reading the inventory");
	rc = mender_list_active_deployments(c, MENDER_WITH_DEVICES | MENDER_SOFTWARE_ONLY,
					    &f->deployments);
	if (!rc && rq->ndeployment_names)
		rc = mender_find_deployments(c, rq->deployment_names, rq->ndeployment_names,
					     MENDER_WITH_DEVICES, &f->deployments);
	if (rc)
		return fg_error_wrap(rc, "reading the deployments");
	dedupe_deployments(&f->deployments);
	f->statuses = fg_calloc(f->deployments.n + 1, sizeof(*f->statuses));
	for (i = 0; i < f->deployments.n && !rc; i++) {
		mender_device_status_list_init(&f->statuses[i]);
		rc = mender_deployment_devices(c, f->deployments.items[i].id, &f->statuses[i]);
		if (!rc && f->statuses[i].n)
			qsort(f->statuses[i].items, f->statuses[i].n, sizeof(*f->statuses[i].items),
			      status_cmp);
	}
	if (rc)
		return fg_error_wrap(rc, "reading the deployments' devices");
	if (rq->nartifacts) {
		rc = mender_find_artifacts(c, rq->artifacts, rq->nartifacts, &f->artifacts);
		if (rc)
			return fg_error_wrap(rc, "reading the artifacts");
	}
	if (rq->full && f->devices.n && (rc = read_configs(f, c)))
		return rc;
	build(f, rq);
	build_active(f);
	return 0;
}

void facts_release(struct facts *f)
{
	size_t i;

	if (f->configs)
		for (i = 0; i < f->devices.n; i++)
			mender_config_release(&f->configs[i]);
	free(f->configs);
	mender_device_list_release(&f->devices);
	if (f->statuses)
		for (i = 0; i < f->deployments.n; i++)
			mender_device_status_list_release(&f->statuses[i]);
	free(f->statuses);
	mender_deployment_list_release(&f->deployments);
	mender_artifact_list_release(&f->artifacts);
	free(f->plan);
	free(f->plan_artifacts);
	free(f->dep_pool);
	free(f->kv_pool);
	free(f->plan_active);
	free(f->status_pool);
	memset(f, 0, sizeof(*f));
}
