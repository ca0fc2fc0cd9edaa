#include "deploy/plan_report.h"

#include <string.h>

const char *plan_os_name(enum plan_os os)
{
	static const char *const names[] = { "no-image", "in-sync", "pending", "update",
					     "no-artifact", "failed" };

	return names[os];
}

const char *plan_config_name(enum plan_config c)
{
	static const char *const names[] = { "none", "in-sync", "pending", "update", "tag-only",
					     "secret-missing", "unmanaged" };

	return names[c];
}

const char *plan_kind_name(enum plan_kind k)
{
	static const char *const names[] = { "managed", "conflict", "not-accepted", "unknown" };

	return names[k];
}

static int has_action(const struct plan_device *d)
{
	return d->kind != PLAN_MANAGED || d->note || d->naborts ||
	       (d->os != PLAN_OS_IN_SYNC && d->os != PLAN_OS_NO_IMAGE) ||
	       (d->config != PLAN_CONFIG_IN_SYNC && d->config != PLAN_CONFIG_NONE &&
		d->config != PLAN_CONFIG_UNMANAGED);
}

static void os_text(struct fg_buf *out, const struct plan_device *d)
{
	switch (d->os) {
	case PLAN_OS_UPDATE:
		fg_buf_puts(out, "os ");
		fg_buf_put_printable(out, d->installed ? d->installed : "(none)");
		fg_buf_puts(out, " -> ");
		fg_buf_put_printable(out, d->artifact);
		break;
	case PLAN_OS_PENDING:
		fg_buf_puts(out, "os pending ");
		fg_buf_put_printable(out, d->artifact);
		break;
	case PLAN_OS_FAILED:
		fg_buf_puts(out, "os FAILED ");
		fg_buf_put_printable(out, d->artifact);
		fg_buf_printf(out, " (deployment %s; a new commit retries it)", d->failed_deployment);
		break;
	case PLAN_OS_NO_ARTIFACT:
		fg_buf_puts(out, "os: Mender has no artifact ");
		fg_buf_put_printable(out, d->artifact);
		fg_buf_puts(out, " for ");
		fg_buf_put_printable(out, d->device_type ? d->device_type : "its device type");
		break;
	case PLAN_OS_IN_SYNC:
		fg_buf_puts(out, "os in sync");
		break;
	case PLAN_OS_NO_IMAGE:
		fg_buf_puts(out, "os -");
		break;
	}
	if (d->naborts)
		fg_buf_printf(out, " (aborting %zu superseded deployment%s)", d->naborts,
			      d->naborts == 1 ? "" : "s");
}

static void config_text(struct fg_buf *out, const struct plan_device *d)
{
	switch (d->config) {
	case PLAN_CONFIG_UPDATE:
		if (d->changed_keys)
			fg_buf_printf(out, "config update (%zu key%s differ)", d->changed_keys,
				      d->changed_keys == 1 ? "" : "s");
		else
			fg_buf_printf(out, "config update (%zu key%s)", d->nvalues,
				      d->nvalues == 1 ? "" : "s");
		break;
	case PLAN_CONFIG_PENDING:
		fg_buf_puts(out, "config pending");
		break;
	case PLAN_CONFIG_TAG_ONLY:
		fg_buf_puts(out, "config in sync (recording its digest)");
		break;
	case PLAN_CONFIG_SECRET_MISSING:
		fg_buf_printf(out, "config NOT updated: secret '%s' is not set (FLEETGATE_SECRET_%s or fleetgate.secretsFile)",
			      d->missing_secret, d->missing_secret);
		break;
	case PLAN_CONFIG_IN_SYNC:
		fg_buf_puts(out, "config in sync");
		break;
	case PLAN_CONFIG_NONE:
		fg_buf_puts(out, "config -");
		break;
	case PLAN_CONFIG_UNMANAGED:
		fg_buf_puts(out, "config not managed");
		break;
	}
}

static void device_text(struct fg_buf *out, const struct plan_device *d)
{
	fg_buf_printf(out, "  %s", d->id);
	if (d->label) {
		fg_buf_putc(out, ' ');
		fg_buf_put_printable(out, d->label);
	}
	fg_buf_puts(out, " (");
	fg_buf_put_printable(out, d->device_type ? d->device_type : "?");
	fg_buf_printf(out, ", %s): ", subscription_source_name(d->source));
	if (d->kind == PLAN_MANAGED) {
		os_text(out, d);
		fg_buf_puts(out, "; ");
		config_text(out, d);
	} else {
		fg_buf_printf(out, "left alone (%s)", plan_kind_name(d->kind));
	}
	if (d->note) {
		fg_buf_puts(out, "; ");
		fg_buf_put_printable(out, d->note);
	}
	fg_buf_putc(out, '\n');
}

void plan_report_summary(struct fg_buf *out, const struct plan *p)
{
	fg_buf_printf(out, "%s@%.7s: %zu device%s managed: %zu OS update%s in %zu deployment%s, %zu pending, %zu failed, %zu without artifact; %zu configuration update%s, %zu pending",
		      p->branch, p->commit, p->managed, p->managed == 1 ? "" : "s", p->os_updates,
		      p->os_updates == 1 ? "" : "s", p->nbatches, p->nbatches == 1 ? "" : "s",
		      p->os_pending, p->os_failed, p->no_artifact, p->config_updates,
		      p->config_updates == 1 ? "" : "s", p->config_pending);
	if (p->aborts)
		fg_buf_printf(out, "; %zu abort%s", p->aborts, p->aborts == 1 ? "" : "s");
	if (p->secret_missing)
		fg_buf_printf(out, "; %zu blocked by a missing secret", p->secret_missing);
	if (p->conflicts)
		fg_buf_printf(out, "; %zu conflict%s", p->conflicts, p->conflicts == 1 ? "" : "s");
	if (p->not_accepted)
		fg_buf_printf(out, "; %zu not accepted", p->not_accepted);
	if (p->unknown)
		fg_buf_printf(out, "; %zu unknown to Mender", p->unknown);
	fg_buf_putc(out, '\n');
}

void plan_report_text(struct fg_buf *out, const struct plan *p, int all)
{
	size_t i, shown = 0;

	fg_buf_printf(out, "plan for %s at %.7s\n", p->branch, p->commit);
	for (i = 0; i < p->ndevices; i++) {
		if (!all && !has_action(&p->devices[i]))
			continue;
		device_text(out, &p->devices[i]);
		shown++;
	}
	if (shown < p->ndevices)
		fg_buf_printf(out, "  (%zu device%s with nothing to do not shown; --all lists them)\n",
			      p->ndevices - shown, p->ndevices - shown == 1 ? "" : "s");
	for (i = 0; i < p->nbatches; i++) {
		fg_buf_puts(out, "deployment ");
		fg_buf_put_printable(out, p->batches[i].name);
		fg_buf_printf(out, ": %zu device%s\n", p->batches[i].ndevices,
			      p->batches[i].ndevices == 1 ? "" : "s");
	}
	plan_report_summary(out, p);
}

static void json_str_or_null(struct fg_buf *out, const char *s)
{
	if (s)
		fg_buf_put_json_string(out, s);
	else
		fg_buf_puts(out, "null");
}

static void device_json(struct fg_buf *out, const struct plan_device *d)
{
	size_t k;

	fg_buf_puts(out, "{\"id\": ");
	fg_buf_put_json_string(out, d->id);
	fg_buf_puts(out, ", \"name\": ");
	json_str_or_null(out, d->label);
	fg_buf_puts(out, ", \"device_type\": ");
	json_str_or_null(out, d->device_type);
	fg_buf_printf(out, ", \"subscription\": \"%s\", \"kind\": \"%s\", \"note\": ",
		      subscription_source_name(d->source), plan_kind_name(d->kind));
	json_str_or_null(out, d->note);
	if (d->kind == PLAN_MANAGED) {
		fg_buf_printf(out, ", \"os\": {\"state\": \"%s\", \"installed\": ", plan_os_name(d->os));
		json_str_or_null(out, d->installed);
		fg_buf_puts(out, ", \"desired\": ");
		json_str_or_null(out, d->artifact);
		fg_buf_puts(out, ", \"failed_deployment\": ");
		json_str_or_null(out, d->failed_deployment);
		fg_buf_puts(out, ", \"abort\": [");
		for (k = 0; k < d->naborts; k++) {
			fg_buf_puts(out, k ? ", " : "");
			fg_buf_put_json_string(out, d->aborts[k]);
		}
		fg_buf_printf(out, "]}, \"config\": {\"state\": \"%s\", \"digest\": ",
			      plan_config_name(d->config));
		json_str_or_null(out, d->digest[0] ? d->digest : NULL);
		fg_buf_puts(out, ", \"missing_secret\": ");
		json_str_or_null(out, d->missing_secret);
		fg_buf_puts(out, ", \"values\": {");
		for (k = 0; k < d->nvalues; k++) {
			fg_buf_puts(out, k ? ", " : "");
			fg_buf_put_json_string(out, d->values[k].key);
			fg_buf_puts(out, ": ");
			fg_buf_put_json_string(out, d->values[k].secret ? "***" : d->values[k].value);
		}
		fg_buf_puts(out, "}}");
	}
	fg_buf_putc(out, '}');
}

void plan_report_json(struct fg_buf *out, const struct plan *p)
{
	size_t i, k;

	fg_buf_puts(out, "{\"branch\": ");
	fg_buf_put_json_string(out, p->branch);
	fg_buf_puts(out, ", \"commit\": ");
	fg_buf_put_json_string(out, p->commit);
	fg_buf_puts(out, ",\n \"devices\": [");
	for (i = 0; i < p->ndevices; i++) {
		fg_buf_puts(out, i ? ",\n  " : "\n  ");
		device_json(out, &p->devices[i]);
	}
	fg_buf_puts(out, "],\n \"deployments\": [");
	for (i = 0; i < p->nbatches; i++) {
		fg_buf_puts(out, i ? ",\n  {\"name\": " : "\n  {\"name\": ");
		fg_buf_put_json_string(out, p->batches[i].name);
		fg_buf_puts(out, ", \"artifact\": ");
		fg_buf_put_json_string(out, p->batches[i].artifact);
		fg_buf_puts(out, ", \"devices\": [");
		for (k = 0; k < p->batches[i].ndevices; k++) {
			fg_buf_puts(out, k ? ", " : "");
			fg_buf_put_json_string(out, p->batches[i].devices[k]);
		}
		fg_buf_puts(out, "]}");
	}
	fg_buf_printf(out, "],\n \"summary\": {\"managed\": %zu, \"os_updates\": %zu, \"deployments\": %zu, \"os_pending\": %zu, \"os_failed\": %zu, \"no_artifact\": %zu, \"config_updates\": %zu, \"config_pending\": %zu, \"digest_only\": %zu, \"aborts\": %zu, \"secret_missing\": %zu, \"conflicts\": %zu, \"not_accepted\": %zu, \"unknown\": %zu}}\n",
		      p->managed, p->os_updates, p->nbatches, p->os_pending, p->os_failed,
		      p->no_artifact, p->config_updates, p->config_pending, p->tag_only, p->aborts,
		      p->secret_missing, p->conflicts, p->not_accepted, p->unknown);
}
