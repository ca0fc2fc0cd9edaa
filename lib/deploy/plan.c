#include "deploy/plan.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int plan_status_active(const char *status)
{
	static const char *const active[] = { "pending", "downloading", "installing", "rebooting",
					      "pause_before_installing", "pause_before_committing",
					      "pause_before_rebooting" };
	size_t i;

	if (!status)
		return 0;
	for (i = 0; i < sizeof(active) / sizeof(*active); i++)
		if (!strcmp(status, active[i]))
			return 1;
	return 0;
}

int plan_config_digest(const struct hmac_key *key, const struct desired_kv *kv, size_t n,
		       char *hex)
{
	size_t i, len = 1, at = 0;
	char *text;
	int rc;

	for (i = 0; i < n; i++)
		len += 2 * 21 + strlen(kv[i].key) + strlen(kv[i].value);
	/* sized once: no copy of a secret is left behind by a realloc */
	text = fg_malloc(len);
	for (i = 0; i < n; i++)
		at += (size_t)snprintf(text + at, len - at, "%zu:%s%zu:%s", strlen(kv[i].key),
				       kv[i].key, strlen(kv[i].value), kv[i].value);
	rc = hmac_sha256_hex(key, text, at, hex);
	explicit_bzero(text, len);
	free(text);
	return rc;
}

/* The length of the longest start of `s` of at most `max` bytes that
 * ends on a UTF-8 character boundary. */
static size_t utf8_cut(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return n;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

char *plan_deployment_name(const char *branch, const char *commit, const char *artifact)
{
	char *full = fg_asprintf(PLAN_NAME_PREFIX "%s@%.7s:%s", branch, commit, artifact);
	char hex[HASH_BLOB_HEX_LEN + 1], *name;
	size_t room, nart, nbr;

	if (strlen(full) <= PLAN_NAME_MAX)
		return full;
	/* Too long for Mender: the artifact part, then the branch part, cut
	 * (on a character boundary), and a hash of the whole name after '~'
	 * keeps it unique per branch, commit and artifact. */
	if (hash_blob_hex(full, strlen(full), hex))
		fg_out_of_memory(0); /* libcrypto fails only when it cannot allocate */
	room = PLAN_NAME_MAX - (sizeof(PLAN_NAME_PREFIX) - 1) - strlen("@1234567:") - 1 -
	       PLAN_NAME_HASH_LEN;
	nbr = utf8_cut(branch, room - (strlen(artifact) < PLAN_NAME_MIN_ART ? strlen(artifact)
									  : PLAN_NAME_MIN_ART));
	nart = utf8_cut(artifact, room - nbr);
	name = fg_asprintf(PLAN_NAME_PREFIX "%.*s@%.7s:%.*s~%.*s", (int)nbr, branch, commit,
			   (int)nart, artifact, PLAN_NAME_HASH_LEN, hex);
	free(full);
	return name;
}

static const char *no_secret(void *ctx, const char *name)
{
	(void)ctx;
	(void)name;
	return NULL;
}

/* The device has not finished its part of deployment `f` yet. */
static int still_to_run(const struct plan_deployment_fact *f)
{
	return f->active && (!f->device_status || plan_status_active(f->device_status));
}

static int artifact_available(const struct plan_input *in, const char *name, const char *type)
{
	size_t i, k;

	if (!type)
		return 0;
	for (i = 0; i < in->nartifacts; i++) {
		if (strcmp(in->artifacts[i].name, name))
			continue;
		for (k = 0; k < in->artifacts[i].ndevice_types; k++)
			if (!strcmp(in->artifacts[i].device_types[k], type))
				return 1;
	}
	return 0;
}

static void decide_os(struct plan_device *pd, const struct plan_input *in,
		      const struct plan_facts *f)
{
	char *name;
	size_t i;
	int pending = 0, failed = -1;

	if (!pd->artifact) {
		pd->os = PLAN_OS_NO_IMAGE;
		if (!pd->note)
			pd->note = f->device_type
				? fg_asprintf("no OS image for device type '%s': configuration only", f->device_type)
				: fg_strdup("Mender reports no device type: configuration only");
		return;
	}
	/* Superseded: an active deployment of another artifact still to run. */
	pd->aborts = fg_calloc(f->ndeployments + 1, sizeof(char *));
	for (i = 0; i < f->ndeployments; i++) {
		const struct plan_deployment_fact *d = &f->deployments[i];

		if (!d->configuration && still_to_run(d) && strcmp(d->artifact, pd->artifact))
			pd->aborts[pd->naborts++] = fg_strdup(d->id);
	}
	if (f->installed && !strcmp(f->installed, pd->artifact)) {
		pd->os = PLAN_OS_IN_SYNC;
		for (i = 0; i < f->ndeployments; i++)
			if (!f->deployments[i].configuration && f->deployments[i].device_status &&
			    !strcmp(f->deployments[i].artifact, pd->artifact) && !pd->deployment_status)
				pd->deployment_status = fg_strdup(f->deployments[i].device_status);
		return;
	}
	name = plan_deployment_name(in->branch, in->commit, pd->artifact);
	for (i = 0; i < f->ndeployments; i++) {
		const struct plan_deployment_fact *d = &f->deployments[i];

		if (d->configuration || strcmp(d->artifact, pd->artifact))
			continue;
		if (!strcmp(d->name, name) && d->device_status &&
		    (!strcmp(d->device_status, "failure") || !strcmp(d->device_status, "noartifact")))
			failed = (int)i;
		if (still_to_run(d)) {
			pending = 1;
			free(pd->deployment_status);
			pd->deployment_status = fg_strdup(d->device_status ? d->device_status : "pending");
		}
	}
	free(name);
	if (failed >= 0) {
		pd->os = PLAN_OS_FAILED;
		pd->failed_deployment = fg_strdup(f->deployments[failed].id);
		free(pd->deployment_status);
		pd->deployment_status = fg_strdup(f->deployments[failed].device_status);
	} else if (pending && !pd->naborts) {
		/* Aborting for a device aborts all its active deployments, so a
		 * pending good one is only trusted when nothing must go. */
		pd->os = PLAN_OS_PENDING;
	} else if (!artifact_available(in, pd->artifact, f->device_type)) {
		pd->os = PLAN_OS_NO_ARTIFACT;
	} else {
		pd->os = PLAN_OS_UPDATE;
	}
}

static int maps_equal(const struct desired_kv *want, size_t n, const struct plan_kv *have,
		      size_t m, size_t *differ)
{
	size_t i = 0, j = 0, d = 0;

	while (i < n || j < m) {
		int c = i == n ? 1 : j == m ? -1 : strcmp(want[i].key, have[j].key);

		if (c < 0) {
			d++;
			i++;
		} else if (c > 0) {
			d++;
			j++;
		} else {
			d += strcmp(want[i].value, have[j].value) != 0;
			i++;
			j++;
		}
	}
	if (differ)
		*differ = d;
	return d == 0;
}

static int decide_config(struct plan_device *pd, const struct plan_input *in,
			 const struct plan_facts *f, struct desired *des)
{
	secret_lookup_fn lookup = in->secret ? in->secret : no_secret;
	int tag_ok, active = 0, aborting = pd->naborts > 0;
	size_t i;

	if (!des->nconfig && !f->digest_tag) {
		pd->config = PLAN_CONFIG_NONE;
		return 0;
	}
	if (in->configure_absent) {
		pd->config = PLAN_CONFIG_UNMANAGED;
		return 0;
	}
	if (desired_resolve_secrets(des, lookup, in->secret_ctx, &pd->missing_secret)) {
		pd->config = PLAN_CONFIG_SECRET_MISSING;
		return 0;
	}
	pd->values = des->config;
	pd->nvalues = des->nconfig;
	des->config = NULL;
	des->nconfig = 0;
	if (plan_config_digest(in->digest_key, pd->values, pd->nvalues, pd->digest))
		return fg_error_wrap(FG_ERROR, "device %s", pd->id);
	tag_ok = f->digest_tag && !strcmp(f->digest_tag, pd->digest);
	for (i = 0; i < f->ndeployments; i++)
		active |= f->deployments[i].configuration && still_to_run(&f->deployments[i]);
	/* Aborting the device's deployments takes a configuration one too,
	 * which fleetgate does not track per device: deploy it again. */
	if (aborting) {
		pd->config = PLAN_CONFIG_UPDATE;
		return 0;
	}
	if (f->config_known) {
		pd->config_verified = 1;
		if (maps_equal(pd->values, pd->nvalues, f->reported, f->nreported, &pd->changed_keys))
			pd->config = tag_ok ? PLAN_CONFIG_IN_SYNC : PLAN_CONFIG_TAG_ONLY;
		else if ((active || f->config_deployed) &&
			 maps_equal(pd->values, pd->nvalues, f->configured, f->nconfigured, NULL))
			pd->config = PLAN_CONFIG_PENDING; /* deployed; the device has not applied it */
		else
			pd->config = PLAN_CONFIG_UPDATE;
		return 0;
	}
	if (tag_ok)
		pd->config = active ? PLAN_CONFIG_PENDING : PLAN_CONFIG_IN_SYNC;
	else
		pd->config = PLAN_CONFIG_UPDATE;
	return 0;
}

static struct plan_device *add_device(struct plan *p, size_t *alloc, const char *id,
				      const struct fleet *view)
{
	const struct fleet_device *file = fleet_find_device(view, id);
	struct plan_device *pd;

	p->devices = fg_grow(p->devices, alloc, p->ndevices + 1, sizeof(*p->devices));
	pd = &p->devices[p->ndevices++];
	memset(pd, 0, sizeof(*pd));
	pd->id = fg_strdup(id);
	pd->label = file && file->name ? fg_strdup(file->name) : NULL;
	return pd;
}

static void join_claimants(struct plan_device *pd, const struct desired *des)
{
	struct fg_buf b = FG_BUF_INIT;
	size_t i;

	fg_buf_init(&b);
	fg_buf_puts(&b, "claimed by ");
	for (i = 0; i < des->nclaimants; i++)
		fg_buf_printf(&b, "%s%s", i ? (i + 1 == des->nclaimants ? " and " : ", ") : "",
			      des->claimants[i]);
	fg_buf_puts(&b, ": fix the subscription in git or tag the device in Mender");
	pd->note = fg_buf_detach(&b);
}

static void batch_add(struct plan *p, size_t *alloc, const struct plan_input *in,
		      const struct plan_device *pd)
{
	struct plan_batch *b = NULL;
	size_t i;

	for (i = 0; i < p->nbatches; i++)
		if (!strcmp(p->batches[i].artifact, pd->artifact))
			b = &p->batches[i];
	if (!b) {
		p->batches = fg_grow(p->batches, alloc, p->nbatches + 1, sizeof(*p->batches));
		b = &p->batches[p->nbatches++];
		memset(b, 0, sizeof(*b));
		b->artifact = fg_strdup(pd->artifact);
		b->name = plan_deployment_name(in->branch, in->commit, pd->artifact);
	}
	b->devices = fg_realloc(b->devices, (b->ndevices + 1) * sizeof(char *));
	b->devices[b->ndevices++] = fg_strdup(pd->id);
}

static int batch_cmp(const void *a, const void *b)
{
	return strcmp(((const struct plan_batch *)a)->artifact, ((const struct plan_batch *)b)->artifact);
}

static int facts_cmp(const void *key, const void *item)
{
	return strcmp(key, ((const struct plan_facts *)item)->id);
}

static void count(struct plan *p, const struct plan_device *pd)
{
	switch (pd->kind) {
	case PLAN_CONFLICT:
		p->conflicts++;
		return;
	case PLAN_NOT_ACCEPTED:
		p->not_accepted++;
		return;
	case PLAN_UNKNOWN:
		p->unknown++;
		return;
	case PLAN_MANAGED:
		break;
	}
	p->managed++;
	p->os_updates += pd->os == PLAN_OS_UPDATE;
	p->os_pending += pd->os == PLAN_OS_PENDING;
	p->os_failed += pd->os == PLAN_OS_FAILED;
	p->no_artifact += pd->os == PLAN_OS_NO_ARTIFACT;
	p->config_updates += pd->config == PLAN_CONFIG_UPDATE;
	p->config_pending += pd->config == PLAN_CONFIG_PENDING;
	p->tag_only += pd->config == PLAN_CONFIG_TAG_ONLY;
	p->secret_missing += pd->config == PLAN_CONFIG_SECRET_MISSING;
	p->aborts += pd->naborts;
}

static int plan_one(struct plan *p, size_t *alloc, size_t *balloc, const struct plan_input *in,
		    const struct fleet *view, const struct plan_facts *f)
{
	struct device_facts df = { f->id, f->device_type, f->tag_branch };
	struct plan_device *pd;
	struct desired des;
	int rc = 0;

	if (desired_compute(&des, in->views, in->nviews, in->branch, &df, in->tags))
		return 0;
	if (des.status == DESIRED_ELSEWHERE || des.status == DESIRED_UNSUBSCRIBED ||
	    des.status == DESIRED_NOT_CLAIMED) {
		desired_release(&des);
		return 0;
	}
	pd = add_device(p, alloc, f->id, view);
	pd->device_type = f->device_type ? fg_strdup(f->device_type) : NULL;
	pd->installed = f->installed ? fg_strdup(f->installed) : NULL;
	pd->source = des.source;
	if (des.ignored_tag)
		pd->note = fg_asprintf("tag subscribed_branch '%s' ignored: not in fleetgate.tagBranches",
				       des.ignored_tag);
	if (des.status == DESIRED_CONFLICT) {
		pd->kind = PLAN_CONFLICT;
		free(pd->note);
		join_claimants(pd, &des);
	} else if (f->status && strcmp(f->status, "accepted")) {
		pd->kind = PLAN_NOT_ACCEPTED;
		free(pd->note);
		pd->note = fg_asprintf("Mender has not accepted the device (status '%s')", f->status);
	} else {
		pd->kind = PLAN_MANAGED;
		pd->artifact = des.artifact ? fg_strdup(des.artifact) : NULL;
		decide_os(pd, in, f);
		rc = decide_config(pd, in, f, &des);
		if (pd->os == PLAN_OS_UPDATE)
			batch_add(p, balloc, in, pd);
	}
	count(p, pd);
	desired_release(&des);
	return rc;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* fleetgate's active deployments that no listed device still needs. */
static void find_finished(struct plan *p, const struct plan_input *in)
{
	const char **aborted = fg_calloc(p->ndevices + 1, sizeof(*aborted));
	size_t i, k, naborted = 0;

	/* the devices this plan aborts: each loses every active deployment */
	for (i = 0; i < p->ndevices; i++)
		if (p->devices[i].kind == PLAN_MANAGED && p->devices[i].naborts)
			aborted[naborted++] = p->devices[i].id;
	qsort(aborted, naborted, sizeof(*aborted), str_cmp);
	for (i = 0; i < in->nactive; i++) {
		const struct plan_active *a = &in->active[i];
		int needed = 0;

		if (strncmp(a->name, PLAN_NAME_PREFIX, strlen(PLAN_NAME_PREFIX)) || !a->ndevices)
			continue;
		for (k = 0; k < a->ndevices && !needed; k++)
			needed = !bsearch(&a->devices[k], aborted, naborted, sizeof(*aborted), str_cmp) &&
				 (!a->statuses[k] || plan_status_active(a->statuses[k]));
		if (needed)
			continue;
		p->finish = fg_realloc(p->finish, (p->nfinish + 1) * sizeof(*p->finish));
		p->finish[p->nfinish++] = fg_strdup(a->id);
	}
	free(aborted);
}

int plan_compute(struct plan *out, const struct plan_input *in)
{
	const struct fleet *view = NULL;
	size_t i, alloc = 0, balloc = 0;
	int stage = 0, rc;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < in->nviews; i++)
		if (!strcmp(in->views[i].branch, in->branch)) {
			view = in->views[i].fleet;
			stage = in->views[i].stage;
		}
	if (!view)
		return fg_error_set(FG_EINVAL, "no view of the fleet for branch '%s'", in->branch);
	if (!in->digest_key)
		return fg_error_set(FG_EINVAL, "planning '%s': no configuration digest key", in->branch);
	out->branch = fg_strdup(in->branch);
	out->configure_absent = in->configure_absent;
	out->commit = fg_strdup(in->commit);
	for (i = 0; i < in->ndevices; i++)
		if ((rc = plan_one(out, &alloc, &balloc, in, view, &in->devices[i]))) {
			plan_release(out);
			return rc;
		}
	/* Device files in git for devices Mender does not know. */
	for (i = 0; i < view->ndevices; i++) {
		const struct fleet_device *d = &view->devices[i];
		struct device_facts df = { d->id, NULL, NULL };
		struct subscription sub;
		struct plan_device *pd;

		if (bsearch(d->id, in->devices, in->ndevices, sizeof(*in->devices), facts_cmp))
			continue;
		desired_subscription(&sub, view, &df, in->tags);
		if (!sub.branch || strcmp(sub.branch, in->branch) ||
		    (!stage && sub.source == SUB_DEFAULT))
			continue; /* a free branch's default_branch claims nothing */
		pd = add_device(out, &alloc, d->id, view);
		pd->kind = PLAN_UNKNOWN;
		pd->source = sub.source;
		pd->note = fg_asprintf("%s is in git, but Mender has no such device (decommissioned, or a typo in the id?)",
				       d->file);
		count(out, pd);
	}
	if (out->nbatches)
		qsort(out->batches, out->nbatches, sizeof(*out->batches), batch_cmp);
	find_finished(out, in);
	return 0;
}

void plan_release(struct plan *p)
{
	size_t i, k;

	for (i = 0; i < p->ndevices; i++) {
		struct plan_device *d = &p->devices[i];

		free(d->id);
		free(d->label);
		free(d->device_type);
		free(d->note);
		free(d->installed);
		free(d->artifact);
		free(d->failed_deployment);
		free(d->deployment_status);
		for (k = 0; k < d->naborts; k++)
			free(d->aborts[k]);
		free(d->aborts);
		for (k = 0; k < d->nvalues; k++) {
			free(d->values[k].key);
			/* resolved: secrets among them */
			explicit_bzero(d->values[k].value, strlen(d->values[k].value));
			free(d->values[k].value);
		}
		free(d->values);
		free(d->missing_secret);
	}
	free(p->devices);
	for (i = 0; i < p->nbatches; i++) {
		free(p->batches[i].name);
		free(p->batches[i].artifact);
		for (k = 0; k < p->batches[i].ndevices; k++)
			free(p->batches[i].devices[k]);
		free(p->batches[i].devices);
	}
	free(p->batches);
	fg_strings_free(p->finish, p->nfinish);
	free(p->branch);
	free(p->commit);
	memset(p, 0, sizeof(*p));
}
