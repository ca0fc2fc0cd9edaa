/*
 * libFuzzer target: the parsers of Mender's answers (lib/mender/parse.h)
 * on any bytes. The first byte chooses the parser, the rest is the body.
 * Invariants checked (abort() when broken): no crash or leak; a parser
 * that succeeds gives only valid UTF-8 strings; a list's count matches
 * what it says it appended; a configuration's maps come sorted by key.
 *
 *   make fuzz                    (all targets; corpus fuzz/corpus/mender/)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "mender/json.h"
#include "mender/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void utf8(const char *s)
{
	if (s && !json_utf8_valid(s, strlen(s)))
		abort();
}

static void devices(const char *body, size_t len)
{
	struct mender_device_list l;
	size_t got = 0, i, k;
	int err;

	mender_device_list_init(&l);
	err = mender_parse_devices(body, len, &l, &got);
	if (!err && got != l.n)
		abort();
	for (i = 0; i < l.n; i++) {
		utf8(l.items[i].id);
		for (k = 0; k < l.items[i].nattrs; k++) {
			utf8(l.items[i].attrs[k].scope);
			utf8(l.items[i].attrs[k].name);
			utf8(l.items[i].attrs[k].value);
		}
	}
	mender_device_list_release(&l);
}

static void deployment_strings(const struct mender_deployment *d)
{
	size_t k;

	utf8(d->id);
	utf8(d->name);
	utf8(d->artifact_name);
	utf8(d->status);
	utf8(d->created);
	for (k = 0; k < d->nstats; k++)
		utf8(d->stats[k].status);
	for (k = 0; k < d->ndevices; k++)
		utf8(d->devices[k]);
}

static void deployments(const char *body, size_t len)
{
	struct mender_deployment_list l;
	size_t got = 0, i;
	int err;

	mender_deployment_list_init(&l);
	err = mender_parse_deployments(body, len, &l, &got);
	if (!err && got != l.n)
		abort();
	for (i = 0; i < l.n; i++)
		deployment_strings(&l.items[i]);
	mender_deployment_list_release(&l);
}

static void details(const char *body, size_t len, int ids)
{
	struct mender_deployment d;

	memset(&d, 0, sizeof(d));
	if (ids)
		mender_parse_device_ids(body, len, &d);
	else
		mender_parse_stats(body, len, &d);
	deployment_strings(&d);
	mender_deployment_release(&d);
}

static void statuses(const char *body, size_t len)
{
	struct mender_device_status_list l;
	size_t got = 0, i;

	mender_device_status_list_init(&l);
	if (!mender_parse_device_statuses(body, len, &l, &got) && got != l.n)
		abort();
	for (i = 0; i < l.n; i++) {
		utf8(l.items[i].device_id);
		utf8(l.items[i].status);
	}
	mender_device_status_list_release(&l);
}

static void artifacts(const char *body, size_t len)
{
	static const char *const names[] = { "os-1", "os-2", "release-2026.1" };
	struct mender_artifact_list l;
	size_t got = 0, i, k;

	mender_artifact_list_init(&l);
	if (!mender_parse_artifacts(body, len, names, 3, &l, &got) && l.n > got)
		abort();
	for (i = 0; i < l.n; i++) {
		utf8(l.items[i].id);
		utf8(l.items[i].name);
		for (k = 0; k < l.items[i].ndevice_types; k++)
			utf8(l.items[i].device_types[k]);
	}
	mender_artifact_list_release(&l);
}

static void sorted_map(const struct mender_kv *kv, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		utf8(kv[i].key);
		utf8(kv[i].value);
		if (i && strcmp(kv[i - 1].key, kv[i].key) > 0)
			abort();
	}
}

static void config(const char *body, size_t len)
{
	struct mender_config cfg;
	char *id = NULL;

	mender_config_init(&cfg);
	if (!mender_parse_config(body, len, &cfg)) {
		sorted_map(cfg.configured, cfg.nconfigured);
		sorted_map(cfg.reported, cfg.nreported);
		utf8(cfg.deployment_id);
	}
	mender_config_release(&cfg);
	if (!mender_parse_config_deployment(body, len, &id) && (!id || !*id))
		abort();
	utf8(id);
	free(id);
}

static void others(const char *body, size_t len)
{
	char *e = NULL, *rid = NULL;
	size_t n = 0;

	mender_parse_error(body, len, &e, &rid);
	utf8(e);
	utf8(rid);
	free(e);
	free(rid);
	mender_parse_array_size(body, len, &n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data + 1;
	size_t len = size ? size - 1 : 0;

	if (!size)
		return 0;
	switch (data[0] % 8) {
	case 0: devices(body, len); break;
	case 1: deployments(body, len); break;
	case 2: details(body, len, 0); break;
	case 3: details(body, len, 1); break;
	case 4: statuses(body, len); break;
	case 5: artifacts(body, len); break;
	case 6: config(body, len); break;
	default: others(body, len); break;
	}
	fg_error_clear();
	return 0;
}
