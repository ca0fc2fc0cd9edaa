#include "fleet/desired.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

const char *subscription_source_name(enum subscription_source s)
{
	switch (s) {
	case SUB_TAG:
		return "tag";
	case SUB_FILE:
		return "file";
	case SUB_DEFAULT:
		return "default";
	default:
		return "none";
	}
}

static int tag_allowed(const struct tag_policy *tags, const char *branch)
{
	size_t i;

	if (!tags || !tags->restricted)
		return 1;
	for (i = 0; i < tags->nbranches; i++)
		if (!strcmp(tags->branches[i], branch))
			return 1;
	return 0;
}

void desired_subscription(struct subscription *out, const struct fleet *view,
			  const struct device_facts *facts, const struct tag_policy *tags)
{
	const struct fleet_device *dev;

	memset(out, 0, sizeof(*out));
	if (facts->tag_branch && *facts->tag_branch) {
		if (tag_allowed(tags, facts->tag_branch)) {
			out->branch = facts->tag_branch;
			out->source = SUB_TAG;
			return;
		}
		out->ignored_tag = facts->tag_branch;
	}
	dev = fleet_find_device(view, facts->id);
	if (dev && dev->subscribed_branch) {
		out->branch = dev->subscribed_branch;
		out->source = SUB_FILE;
	} else if (view->default_branch) {
		out->branch = view->default_branch;
		out->source = SUB_DEFAULT;
	}
}

char *desired_expand_image(const char *value, const char *artifact)
{
	struct fg_buf b = FG_BUF_INIT;
	const char *p = value, *q;

	if (!strstr(value, FLEET_OS_IMAGE_REF))
		return fg_strdup(value);
	fg_buf_init(&b);
	while ((q = strstr(p, FLEET_OS_IMAGE_REF))) {
		fg_buf_put(&b, p, (size_t)(q - p));
		fg_buf_puts(&b, artifact ? artifact : "");
		p = q + strlen(FLEET_OS_IMAGE_REF);
	}
	fg_buf_puts(&b, p);
	return fg_buf_detach(&b);
}

static void config_put(struct desired *d, size_t *alloc, const struct fleet_map *m)
{
	size_t i, j;

	for (i = 0; i < m->count; i++) {
		const struct fleet_kv *kv = &m->items[i];

		for (j = 0; j < d->nconfig; j++)
			if (!strcmp(d->config[j].key, kv->key))
				break;
		if (j == d->nconfig) {
			d->config = fg_grow(d->config, alloc, d->nconfig + 1, sizeof(*d->config));
			d->config[j].key = fg_strdup(kv->key);
			d->nconfig++;
		} else {
			free(d->config[j].value);
		}
		d->config[j].value = desired_expand_image(kv->value, d->artifact);
		d->config[j].secret = strstr(d->config[j].value, "${secret:") != NULL;
	}
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct desired_kv *)a)->key, ((const struct desired_kv *)b)->key);
}

/* Artifact and configuration of a device managed by `view`. */
static void fill_state(struct desired *d, const struct fleet *view, const struct device_facts *facts)
{
	const struct fleet_device *dev = fleet_find_device(view, facts->id);
	const struct fleet_role *role;
	const char *artifact = NULL;
	size_t alloc = 0, i;

	if (facts->device_type) {
		if (dev && (artifact = fleet_map_get(&dev->os_images, facts->device_type)))
			d->artifact_from_device = 1;
		else
			artifact = fleet_map_get(&view->os_images, facts->device_type);
	}
	d->artifact = artifact ? fg_strdup(artifact) : NULL;
	config_put(d, &alloc, &view->config);
	if (dev) {
		for (i = 0; i < dev->nroles; i++)
			if ((role = fleet_find_role(view, dev->roles[i])))
				config_put(d, &alloc, &role->config);
		config_put(d, &alloc, &dev->config);
	}
	if (d->nconfig)
		qsort(d->config, d->nconfig, sizeof(*d->config), kv_cmp);
}

/* Whether `v`'s own view claims the device: it says v's branch, and a free
 * branch's default_branch is no claim. */
static int claims(const struct branch_view *v, const struct device_facts *facts,
		  const struct tag_policy *tags)
{
	struct subscription sub;

	desired_subscription(&sub, v->fleet, facts, tags);
	if (!sub.branch || strcmp(sub.branch, v->branch))
		return 0;
	return v->stage || sub.source != SUB_DEFAULT;
}

int desired_compute(struct desired *out, const struct branch_view *views, size_t nviews,
		    const char *branch, const struct device_facts *facts,
		    const struct tag_policy *tags)
{
	const struct branch_view *own = NULL;
	struct subscription sub;
	size_t i;
	int stage_claims = 0;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < nviews; i++)
		if (!strcmp(views[i].branch, branch))
			own = &views[i];
	if (!own)
		return fg_error_set(FG_EINVAL, "no view of the fleet for branch '%s'", branch);

	desired_subscription(&sub, own->fleet, facts, tags);
	out->source = sub.source;
	out->branch = sub.branch ? fg_strdup(sub.branch) : NULL;
	out->ignored_tag = sub.ignored_tag ? fg_strdup(sub.ignored_tag) : NULL;
	if (!sub.branch) {
		out->status = DESIRED_UNSUBSCRIBED;
		return 0;
	}
	if (strcmp(sub.branch, branch)) {
		out->status = DESIRED_ELSEWHERE;
		return 0;
	}
	if (!claims(own, facts, tags)) {
		out->status = DESIRED_NOT_CLAIMED;
		return 0;
	}
	/* Does another branch's own view claim the device too? A stage's
	 * claim outranks every free branch's. */
	for (i = 0; i < nviews; i++)
		stage_claims |= views[i].stage && claims(&views[i], facts, tags);
	for (i = 0; i < nviews; i++) {
		if ((stage_claims && !views[i].stage) || !claims(&views[i], facts, tags))
			continue;
		out->claimants = fg_realloc(out->claimants, (out->nclaimants + 1) * sizeof(char *));
		out->claimants[out->nclaimants++] = fg_strdup(views[i].branch);
	}
	if (stage_claims && !own->stage) {
		out->status = DESIRED_NOT_CLAIMED;
		return 0;
	}
	if (out->nclaimants > 1) {
		out->status = DESIRED_CONFLICT;
		return 0;
	}
	out->status = DESIRED_MANAGED;
	fill_state(out, own->fleet, facts);
	return 0;
}

void desired_release(struct desired *d)
{
	size_t i;

	free(d->branch);
	free(d->ignored_tag);
	for (i = 0; i < d->nclaimants; i++)
		free(d->claimants[i]);
	free(d->claimants);
	free(d->artifact);
	for (i = 0; i < d->nconfig; i++) {
		free(d->config[i].key);
		free(d->config[i].value);
	}
	free(d->config);
	memset(d, 0, sizeof(*d));
}

/* Expand every ${secret:NAME} in `value`; NULL with *missing on failure. */
static char *expand(const char *value, secret_lookup_fn lookup, void *ctx, char **missing)
{
	struct fg_buf out = FG_BUF_INIT;
	const char *p = value, *start;

	fg_buf_init(&out);
	while ((start = strstr(p, "${secret:"))) {
		const char *name = start + 9, *end = strchr(name, '}'), *secret;
		char *key;

		if (!end)
			break; /* the validator rejects this; keep the text */
		key = fg_strndup(name, (size_t)(end - name));
		secret = lookup(ctx, key);
		if (!secret) {
			*missing = key;
			fg_buf_release(&out);
			return NULL;
		}
		free(key);
		fg_buf_put(&out, p, (size_t)(start - p));
		fg_buf_puts(&out, secret);
		p = end + 1;
	}
	fg_buf_puts(&out, p);
	return fg_buf_detach(&out);
}

int desired_resolve_secrets(struct desired *d, secret_lookup_fn lookup, void *ctx, char **missing)
{
	char **values = fg_calloc(d->nconfig + 1, sizeof(char *));
	size_t i;

	*missing = NULL;
	for (i = 0; i < d->nconfig; i++) {
		if (!d->config[i].secret)
			continue;
		values[i] = expand(d->config[i].value, lookup, ctx, missing);
		if (!values[i]) {
			while (i-- > 0)
				free(values[i]);
			free(values);
			return fg_error_set(FG_ENOTFOUND, "secret '%s' is not set", *missing);
		}
	}
	for (i = 0; i < d->nconfig; i++) {
		if (!values[i])
			continue;
		free(d->config[i].value);
		d->config[i].value = values[i];
	}
	free(values);
	return 0;
}
