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

/* Whether deployment `i` is in the view: an active one, or one found by a
 * name of the view's branch. */
static int in_view(const struct facts *f, size_t i, const struct facts_view_request *v)
{
	size_t k;

	if (i < f->nlisted)
		return 1;
	for (k = 0; k < v->ndeployment_names; k++)
		if (!strcmp(f->deployments.items[i].name, v->deployment_names[k]))
			return 1;
	return 0;
}

/* Each device with the deployments of the view that list it, by id. */
static struct pair *device_pairs(const struct facts *f, const struct facts_view_request *v,
				 size_t *npairs)
{
	struct pair *pairs;
	size_t i, k, n = 0;

	for (i = 0; i < f->deployments.n; i++)
		n += f->deployments.items[i].ndevices;
	pairs = fg_calloc(n + 1, sizeof(*pairs));
	*npairs = 0;
	for (i = 0; i < f->deployments.n; i++) {
		if (!in_view(f, i, v))
			continue;
		for (k = 0; k < f->deployments.items[i].ndevices; k++) {
			pairs[*npairs].device = f->deployments.items[i].devices[k];
			pairs[(*npairs)++].deployment = i;
		}
	}
	qsort(pairs, *npairs, sizeof(*pairs), pair_cmp);
	return pairs;
}

static void fill_config(struct facts *f, struct plan_facts *pf, size_t i, size_t *kv)
{
	if (f->configs && f->configs[i].found) {
		pf->config_known = 1;
		pf->config_deployed = f->configs[i].deployment_id && *f->configs[i].deployment_id;
		pf->configured = kv_convert(&f->kv_pool[*kv], f->configs[i].configured,
					    f->configs[i].nconfigured);
		pf->nconfigured = f->configs[i].nconfigured;
		*kv += pf->nconfigured;
		pf->reported = kv_convert(&f->kv_pool[*kv], f->configs[i].reported,
					  f->configs[i].nreported);
		pf->nreported = f->configs[i].nreported;
		*kv += pf->nreported;
	} else if (f->configs) {
		pf->config_known = 1; /* no record: nothing configured or reported */
	}
}

/* Point the planner's facts at what was read. */
static void build(struct facts *f, const struct facts_view_request *v)
{
	struct pair *pairs;
	size_t npairs = 0, i, p = 0, kv = 0, nkv = 0;

	pairs = device_pairs(f, v, &npairs);
	f->dep_pool = fg_calloc(npairs + 1, sizeof(*f->dep_pool));
	if (f->configs)
		for (i = 0; i < f->devices.n; i++)
			nkv += f->configs[i].nconfigured + f->configs[i].nreported;
	f->kv_pool = fg_calloc(nkv + 1, sizeof(*f->kv_pool));
	f->nplan = f->devices.n;
	f->plan = fg_calloc(f->nplan + 1, sizeof(*f->plan));
	for (i = 0, p = 0; i < f->devices.n; i++) {
		struct plan_facts *pf = &f->plan[i];

		fill_device(pf, &f->devices.items[i], v->os_attribute);
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
		fill_config(f, pf, i, &kv);
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

/* The active deployments of the view for plan_input, each device with its
 * status. */
static void build_active(struct facts *f, const struct facts_view_request *v)
{
	size_t i, k, n = 0, at = 0;

	for (i = 0; i < f->deployments.n; i++)
		n += f->deployments.items[i].ndevices;
	f->status_pool = fg_calloc(n + 1, sizeof(*f->status_pool));
	f->plan_active = fg_calloc(f->deployments.n + 1, sizeof(*f->plan_active));
	for (i = 0; i < f->deployments.n; i++) {
		const struct mender_deployment *d = &f->deployments.items[i];
		struct plan_active *a = &f->plan_active[f->nplan_active];

		if (!strcmp(d->status, "finished") || !in_view(f, i, v))
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

/* The planner's arrays: they point into the facts read. */
static void view_release(struct facts *f)
{
	free(f->plan);
	free(f->plan_artifacts);
	free(f->dep_pool);
	free(f->kv_pool);
	free(f->plan_active);
	free(f->status_pool);
	f->plan = NULL;
	f->plan_artifacts = NULL;
	f->dep_pool = NULL;
	f->kv_pool = NULL;
	f->plan_active = NULL;
	f->status_pool = NULL;
	f->nplan = f->nplan_artifacts = f->nplan_active = 0;
}

void facts_view(struct facts *f, const struct facts_view_request *v)
{
	view_release(f);
	build(f, v);
	build_active(f, v);
}

void facts_probe_configure(struct facts *f, struct mender_client *c)
{
	const char *id = f->devices.n ? f->devices.items[0].id : NULL;
	struct mender_result r = { 0, NULL };
	struct mender_config cfg;

	if (!id || f->configs || f->configure_probed)
		return; /* none to ask about; with `full` the reads told */
	f->configure_probed = 1;
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

/* The active software deployments, then those named, each once, and the
 * status of their devices. */
static int read_deployments(struct facts *f, struct mender_client *c,
			    const struct facts_request *rq)
{
	unsigned stats = rq->lean ? MENDER_WITH_STATS : 0;
	size_t i;
	int rc;

	mender_deployment_list_init(&f->deployments);
	rc = mender_list_active_deployments(c, MENDER_WITH_DEVICES | MENDER_SOFTWARE_ONLY | stats,
					    &f->deployments);
	dedupe_deployments(&f->deployments);
	f->nlisted = f->deployments.n;
	if (!rc && rq->ndeployment_names)
		rc = mender_find_deployments(c, rq->deployment_names, rq->ndeployment_names,
					     MENDER_WITH_DEVICES | stats, &f->deployments);
	if (rc)
		return fg_error_wrap(rc, "reading the deployments");
	dedupe_deployments(&f->deployments); /* keeps the first: the active ones stay first */
	f->statuses = fg_calloc(f->deployments.n + 1, sizeof(*f->statuses));
	for (i = 0; i < f->deployments.n && !rc; i++) {
		const struct mender_deployment *d = &f->deployments.items[i];

		mender_device_status_list_init(&f->statuses[i]);
		if (rq->lean && !mender_deployment_stat(d, "failure") &&
		    !mender_deployment_stat(d, "noartifact"))
			continue;
		rc = mender_deployment_devices(c, d->id, &f->statuses[i]);
		if (!rc && f->statuses[i].n)
			qsort(f->statuses[i].items, f->statuses[i].n, sizeof(*f->statuses[i].items),
			      status_cmp);
	}
	return rc ? fg_error_wrap(rc, "reading the deployments' devices") : 0;
}

static void release_deployments(struct facts *f)
{
	size_t i;

	if (f->statuses)
		for (i = 0; i < f->deployments.n; i++)
			mender_device_status_list_release(&f->statuses[i]);
	free(f->statuses);
	f->statuses = NULL;
	mender_deployment_list_release(&f->deployments);
	f->nlisted = 0;
}

/* The inventory, with every attribute the planner reads (each OS
 * attribute asked). */
static int read_inventory(struct facts *f, struct mender_client *c,
			  const struct facts_request *rq)
{
	static const struct mender_attr_ref fixed[] = {
		{ "inventory", "device_type" },  { "inventory", "artifact_name" },
		{ "identity", "status" },        { "tags", "subscribed_branch" },
		{ "inventory", "subscribed_branch" }, { "tags", PLAN_DIGEST_TAG },
	};
	size_t nfixed = sizeof(fixed) / sizeof(*fixed), i;
	struct mender_attr_ref *want = fg_calloc(nfixed + rq->nos_attributes, sizeof(*want));
	int rc;

	/* the OS attribute second, as it always was asked */
	want[0] = fixed[0];
	for (i = 0; i < rq->nos_attributes; i++) {
		want[1 + i].scope = "inventory";
		want[1 + i].name = rq->os_attributes[i];
	}
	memcpy(&want[1 + rq->nos_attributes], &fixed[1], (nfixed - 1) * sizeof(*want));
	rc = mender_list_devices(c, want, nfixed + rq->nos_attributes, NULL, 0, &f->devices);
	free(want);
	return rc ? fg_error_wrap(rc, "reading the inventory") : 0;
}

int facts_read(struct facts *f, struct mender_client *c, const struct facts_request *rq)
{
	int rc;

	memset(f, 0, sizeof(*f));
	mender_device_list_init(&f->devices);
	mender_deployment_list_init(&f->deployments);
	mender_artifact_list_init(&f->artifacts);
	rc = read_inventory(f, c, rq);
	if (!rc)
		rc = read_deployments(f, c, rq);
	if (rc)
		return rc;
	if (rq->nartifacts) {
		rc = mender_find_artifacts(c, rq->artifacts, rq->nartifacts, &f->artifacts);
		if (rc)
			return fg_error_wrap(rc, "reading the artifacts");
	}
	if (rq->full && f->devices.n && (rc = read_configs(f, c)))
		return rc;
	return 0;
}

int facts_reread_deployments(struct facts *f, struct mender_client *c,
			     const struct facts_request *rq)
{
	view_release(f);
	release_deployments(f);
	return read_deployments(f, c, rq);
}

int facts_gather(struct facts *f, struct mender_client *c, const struct facts_request *rq)
{
	struct facts_view_request v = { rq->nos_attributes ? rq->os_attributes[0] : NULL,
					rq->deployment_names, rq->ndeployment_names };
	int rc = facts_read(f, c, rq);

	if (!rc)
		facts_view(f, &v);
	return rc;
}

void facts_release(struct facts *f)
{
	size_t i;

	if (f->configs)
		for (i = 0; i < f->devices.n; i++)
			mender_config_release(&f->configs[i]);
	free(f->configs);
	mender_device_list_release(&f->devices);
	release_deployments(f);
	mender_artifact_list_release(&f->artifacts);
	view_release(f);
	memset(f, 0, sizeof(*f));
}
