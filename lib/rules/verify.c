#include "rules/verify.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "fleet/fleet.h"
#include "rules/settings.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const outcome_names[] = { "pending", "verified", "failed" };

static const char *const state_names[VS_NSTATES] = {
	[VS_PENDING] = "pending",     [VS_DOWNLOADING] = "downloading",
	[VS_INSTALLING] = "installing", [VS_REBOOTING] = "rebooting",
	[VS_SUCCESS] = "success",     [VS_FAILURE] = "failure",
	[VS_STUCK] = "stuck",         [VS_NOARTIFACT] = "noartifact",
};

const char *verify_outcome_name(enum verify_outcome v)
{
	return outcome_names[v];
}

int verify_outcome_parse(const char *name)
{
	int i;

	for (i = 0; i < 3; i++)
		if (!strcmp(outcome_names[i], name))
			return i;
	return -1;
}

const char *verify_state_name(enum verify_state s)
{
	return state_names[s];
}

/* ---- settings ---- */

#define MAX_DURATION_MS (366LL * 24 * 3600 * 1000)
#define MAX_DEVICES 100000000UL

int verify_parse_duration(const char *s, int64_t *ms)
{
	static const struct {
		char unit;
		int64_t ms;
	} units[] = { { 's', 1000 }, { 'm', 60000 }, { 'h', 3600000 }, { 'd', 86400000 } };
	char *end;
	unsigned long long n;
	size_t i;

	if (!isdigit((unsigned char)*s))
		return FG_EINVAL;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || n > (unsigned long long)MAX_DURATION_MS)
		return FG_EINVAL;
	if (!*end && n == 0) {
		*ms = 0;
		return 0;
	}
	for (i = 0; i < sizeof(units) / sizeof(*units); i++)
		if (end[0] == units[i].unit && !end[1] && (int64_t)n <= MAX_DURATION_MS / units[i].ms) {
			*ms = (int64_t)n * units[i].ms;
			return 0;
		}
	return FG_EINVAL;
}

void verify_format_duration(int64_t ms, char *buf, size_t size)
{
	int64_t s = (ms + 999) / 1000;

	if (s < 60)
		snprintf(buf, size, "%lld s", (long long)s);
	else if (s < 3600)
		snprintf(buf, size, "%lld min", (long long)((s + 59) / 60));
	else if (s % 3600 < 60)
		snprintf(buf, size, "%lld h", (long long)(s / 3600));
	else
		snprintf(buf, size, "%lld h %lld min", (long long)(s / 3600),
			 (long long)((s % 3600 + 59) / 60));
}

void verify_short_id(const char *id, char *buf, size_t size)
{
	size_t len = strlen(id);

	if (len <= 10)
		snprintf(buf, size, "%s", id);
	else
		snprintf(buf, size, "%.4s\u2026%s", id, id + len - 4);
}

static int bad_value(const char *key, const char *value, const char *what)
{
	return fg_error_set(FG_EINVAL, "git config %s: '%.100s' is not %s", key, value, what);
}

static int parse_count(const char *key, const char *value, unsigned long min, unsigned long *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(value, &end, 10);
	if (!isdigit((unsigned char)*value) || *end || errno || n < min || n > MAX_DEVICES)
		return bad_value(key, value, min ? "a number of devices (1 or more)" : "a number of devices");
	*out = n;
	return 0;
}

static int parse_ratio(const char *key, const char *value, double *out)
{
	char *end;
	double r;

	errno = 0;
	r = strtod(value, &end);
	if (end != value && *end == '%' && !end[1]) {
		r /= 100;
		end++;
	}
	if (end == value || *end || errno || !isfinite(r) || r < 0 || r > 1 ||
	    !isdigit((unsigned char)*value))
		return bad_value(key, value, "a share between 0 and 1 (such as 0.05 or 5%)");
	*out = r;
	return 0;
}

static int parse_bool(const char *key, const char *value, int *out)
{
	if (settings_parse_bool(value, out))
		return bad_value(key, value, "a boolean");
	return 0;
}

static int parse_time(const char *key, const char *value, int64_t *out)
{
	if (verify_parse_duration(value, out))
		return bad_value(key, value, "a duration (such as 45s, 30m, 2h or 1d)");
	return 0;
}

static struct verify_rules *rules_for(struct verify_settings *s, const char *stage, size_t len)
{
	struct verify_rules *r;
	size_t i;

	for (i = 0; i < s->nrules; i++)
		if (strlen(s->rules[i].stage) == len && !strncmp(s->rules[i].stage, stage, len))
			return &s->rules[i];
	s->rules = fg_realloc(s->rules, (s->nrules + 1) * sizeof(*s->rules));
	r = &s->rules[s->nrules++];
	memset(r, 0, sizeof(*r));
	r->stage = fg_strndup(stage, len);
	r->min_devices = 1;
	r->max_failures = -1;
	r->max_failure_ratio = -1;
	r->timeout_ms = VERIFY_DEFAULT_TIMEOUT_MS;
	return r;
}

/* git config names come lowercased (the key part), as git normalises them. */
static int set_rule(struct verify_rules *r, const char *key, const char *name, const char *value)
{
	unsigned long n;
	int rc = 0;

	if (!strcmp(name, "mindevices")) {
		rc = parse_count(key, value, 1, &r->min_devices);
	} else if (!strcmp(name, "maxfailures")) {
		rc = parse_count(key, value, 0, &n);
		r->max_failures = (long)n;
	} else if (!strcmp(name, "maxfailureratio")) {
		rc = parse_ratio(key, value, &r->max_failure_ratio);
	} else if (!strcmp(name, "soak")) {
		rc = parse_time(key, value, &r->soak_ms);
	} else if (!strcmp(name, "timeout")) {
		rc = parse_time(key, value, &r->timeout_ms);
		if (!rc && !r->timeout_ms)
			rc = bad_value(key, value, "a duration above 0");
	} else if (!strcmp(name, "halt")) {
		rc = parse_bool(key, value, &r->halt);
	} else {
		rc = fg_error_set(FG_EINVAL,
				  "git config %s: unknown setting (fleetgate.verify.<stage>. takes minDevices, maxFailures, maxFailureRatio, soak, timeout, halt)",
				  key);
	}
	return rc;
}

static int is_listed(char *const *list, size_t n, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(list[i]) == len && !strncmp(list[i], s, len))
			return 1;
	return 0;
}

static int read_one(struct verify_settings *s, const char *key, const char *value,
		    char *const *stages, size_t nstages)
{
	const char *rest = key + strlen("fleetgate.verify."), *dot = strrchr(rest, '.');
	struct verify_rules *r;

	if (!dot) {
		if (!strcmp(rest, "maxage"))
			return parse_time(key, value, &s->max_age_ms);
		return fg_error_set(FG_EINVAL,
				    "git config %s: unknown setting (fleetgate.verify. takes maxAge, or <stage>.<rule>)",
				    key);
	}
	if (nstages && !is_listed(stages, nstages, rest, (size_t)(dot - rest)))
		return fg_error_set(FG_EINVAL, "git config %s: '%.*s' is not one of fleetgate.stages",
				    key, (int)(dot - rest), rest);
	r = rules_for(s, rest, (size_t)(dot - rest));
	if (!fleet_stage_name_valid(r->stage))
		return fg_error_set(FG_EINVAL, "git config %s: " FLEET_STAGE_NAME_RULE, key);
	return set_rule(r, key, dot + 1, value);
}

int verify_settings_load(struct verify_settings *out, struct fg_repo *repo, char *const *stages,
			 size_t nstages)
{
	char **names = NULL, **values = NULL, *who = NULL;
	size_t n = 0, i;
	int rc;

	memset(out, 0, sizeof(*out));
	out->max_age_ms = VERIFY_DEFAULT_MAX_AGE_MS;
	rc = repo_config_prefixed(repo, "fleetgate.verify.", &names, &values, &n);
	for (i = 0; i < n && !rc; i++)
		rc = read_one(out, names[i], values[i], stages, nstages);
	if (!rc && !out->max_age_ms)
		rc = bad_value("fleetgate.verify.maxAge", "0", "a duration above 0");
	if (!rc) {
		rc = repo_config_string(repo, "fleetgate.overriders", &who);
		if (rc == FG_ENOTFOUND)
			rc = 0;
		else if (!rc)
			split_words(who, &out->overriders, &out->noverriders);
	}
	if (!rc) {
		rc = repo_config_string(repo, "fleetgate.notifyCommand", &out->notify_command);
		if (rc == FG_ENOTFOUND)
			rc = 0;
	}
	free(who);
	fg_strings_free(names, n);
	fg_strings_free(values, n);
	if (rc)
		verify_settings_release(out);
	return rc;
}

void verify_settings_release(struct verify_settings *s)
{
	size_t i;

	for (i = 0; i < s->nrules; i++)
		free(s->rules[i].stage);
	free(s->rules);
	fg_strings_free(s->overriders, s->noverriders);
	free(s->notify_command);
	memset(s, 0, sizeof(*s));
}

int verify_spec_parse(const char *spec, char ***keys, char ***values, size_t *n)
{
	static const char *const names[] = { "minDevices", "maxFailures", "maxFailureRatio",
					     "soak", "timeout", "halt" };
	const char *colon = strchr(spec, ':');
	char *stage = colon ? fg_strndup(spec, (size_t)(colon - spec)) : NULL;
	char **parts = NULL;
	size_t nparts = 0, i, k;
	struct verify_rules r;
	int rc = 0;

	*keys = *values = NULL;
	*n = 0;
	if (!stage || !fleet_stage_name_valid(stage) || !colon[1]) {
		free(stage);
		return fg_error_set(FG_EINVAL, "--verify '%.200s': write STAGE:RULE=VALUE[,RULE=VALUE...], such as canary:minDevices=3,soak=1h",
				    spec);
	}
	memset(&r, 0, sizeof(r));
	split_words(colon + 1, &parts, &nparts);
	*keys = fg_calloc(nparts + 1, sizeof(char *));
	*values = fg_calloc(nparts + 1, sizeof(char *));
	for (i = 0; i < nparts && !rc; i++) {
		char *eq = strchr(parts[i], '='), *lower;

		for (k = 0; eq && k < sizeof(names) / sizeof(*names); k++)
			if (strlen(names[k]) == (size_t)(eq - parts[i]) &&
			    !strncasecmp(names[k], parts[i], (size_t)(eq - parts[i])))
				break;
		if (!eq || k == sizeof(names) / sizeof(*names)) {
			rc = fg_error_set(FG_EINVAL, "--verify '%.200s': '%.100s' is not RULE=VALUE with a rule of minDevices, maxFailures, maxFailureRatio, soak, timeout, halt",
					  spec, parts[i]);
			break;
		}
		(*keys)[i] = fg_asprintf("fleetgate.verify.%s.%s", stage, names[k]);
		(*values)[i] = fg_strdup(eq + 1);
		(*n)++;
		lower = fg_strdup(names[k]);
		for (k = 0; lower[k]; k++)
			lower[k] = (char)tolower((unsigned char)lower[k]);
		rc = set_rule(&r, (*keys)[i], lower, eq + 1);
		free(lower);
	}
	fg_strings_free(parts, nparts);
	free(stage);
	if (rc) {
		fg_strings_free(*keys, *n);
		fg_strings_free(*values, *n);
		*keys = *values = NULL;
		*n = 0;
	}
	return rc;
}

const struct verify_rules *verify_rules_of(const struct verify_settings *s, const char *stage)
{
	size_t i;

	for (i = 0; stage && i < s->nrules; i++)
		if (!strcmp(s->rules[i].stage, stage))
			return &s->rules[i];
	return NULL;
}

/* ---- the verdict ---- */

static void add_failing(struct verify_result *out, const char *id, enum verify_state st)
{
	out->failing = fg_realloc(out->failing, (out->nfailing + 1) * sizeof(*out->failing));
	out->failing[out->nfailing].device = fg_strdup(id);
	out->failing[out->nfailing].state = st;
	out->nfailing++;
}

/* Count the changed devices by state. Waiting devices are split by
 * Mender's statistics (in order downloading, installing, rebooting; the
 * rest pending), or all stuck once the timeout passed. */
static void count_devices(const struct verify_input *in, struct verify_result *out)
{
	int stuck = in->now_ms - in->since_ms > in->rules->timeout_ms;
	long long waiting = 0, left;
	size_t i;
	int k;

	for (i = 0; i < in->ndevices; i++) {
		const struct verify_device *d = &in->devices[i];

		if (d->health == VH_OUT)
			continue;
		out->managed++;
		if (!d->changed)
			continue;
		out->changed++;
		switch (d->health) {
		case VH_HEALTHY:
			out->counts[VS_SUCCESS]++;
			break;
		case VH_FAILURE:
			out->counts[VS_FAILURE]++;
			add_failing(out, d->id, VS_FAILURE);
			break;
		case VH_NOARTIFACT:
			out->counts[VS_NOARTIFACT]++;
			add_failing(out, d->id, VS_NOARTIFACT);
			break;
		default:
			waiting++;
			if (stuck)
				add_failing(out, d->id, VS_STUCK);
			break;
		}
	}
	if (stuck) {
		out->counts[VS_STUCK] = waiting;
	} else {
		left = waiting;
		for (k = 3; k >= 1; k--) {
			long long take = in->active[k] < left ? in->active[k] : left;

			out->counts[VS_PENDING + k] = take > 0 ? take : 0;
			left -= out->counts[VS_PENDING + k];
		}
		out->counts[VS_PENDING] = left;
	}
	out->healthy = (size_t)out->counts[VS_SUCCESS];
	out->failed = (size_t)(out->counts[VS_FAILURE] + out->counts[VS_NOARTIFACT] +
			       out->counts[VS_STUCK]);
}

static int over_limit(const struct verify_rules *r, size_t failed, size_t finished)
{
	if (r->max_failure_ratio >= 0 && (double)failed > r->max_failure_ratio * (double)finished)
		return 1;
	if (r->max_failures >= 0)
		return failed > (size_t)r->max_failures;
	return r->max_failure_ratio < 0 && failed > 0;
}

static void describe(const struct verify_input *in, struct verify_result *out)
{
	struct fg_buf b = FG_BUF_INIT;
	char when[32], id[32];
	size_t i, shown;

	fg_buf_init(&b);
	if (!out->managed) {
		fg_buf_puts(&b, "no devices: nothing has shown the change to be healthy");
	} else if (out->inherited) {
		fg_buf_printf(&b, "no device's desired state changed since tree %.7s, which was verified",
			      in->inherit_from);
	} else {
		fg_buf_printf(&b, "%zu of %zu device%s healthy", out->healthy, out->changed,
			      out->changed == 1 ? "" : "s");
		if (out->healthy < in->rules->min_devices)
			fg_buf_printf(&b, " (%lu needed)", in->rules->min_devices);
		if (out->failed) {
			fg_buf_printf(&b, ", %zu failed (", out->failed);
			shown = out->nfailing < 3 ? out->nfailing : 3;
			for (i = 0; i < shown; i++) {
				verify_short_id(out->failing[i].device, id, sizeof(id));
				fg_buf_printf(&b, "%s%s: %s", i ? ", " : "", id,
					      verify_state_name(out->failing[i].state));
			}
			if (out->nfailing > shown)
				fg_buf_printf(&b, ", %zu more", out->nfailing - shown);
			fg_buf_putc(&b, ')');
		}
		if (out->soak_left_ms > 0) {
			verify_format_duration(out->soak_left_ms, when, sizeof(when));
			fg_buf_printf(&b, ", soak %s left", when);
		}
	}
	if (out->revoked)
		fg_buf_puts(&b, "; its verdict verified was revoked");
	out->reason = fg_buf_detach(&b);
}

void verify_judge(const struct verify_input *in, struct verify_result *out)
{
	const struct verify_rules *r = in->rules;
	size_t finished;

	memset(out, 0, sizeof(*out));
	count_devices(in, out);
	finished = out->healthy + out->failed;
	out->verdict = VERIFY_PENDING;
	if (!out->managed) {
		/* the absence of data is never success */
	} else if (!out->changed && in->inherit_from) {
		out->verdict = VERIFY_VERIFIED;
		out->inherited = 1;
	} else if (finished >= r->min_devices && over_limit(r, out->failed, finished)) {
		out->verdict = VERIFY_FAILED;
	} else if (out->healthy >= r->min_devices) {
		int64_t start;

		out->healthy_since_ms = in->prior && in->prior->healthy_since_ms
						? in->prior->healthy_since_ms
						: in->now_ms;
		start = out->healthy_since_ms > in->since_ms ? out->healthy_since_ms : in->since_ms;
		out->soak_left_ms = r->soak_ms - (in->now_ms - start);
		if (out->soak_left_ms <= 0) {
			out->soak_left_ms = 0;
			out->verdict = VERIFY_VERIFIED;
		}
	}
	out->revoked = in->prior && in->prior->verdict == VERIFY_VERIFIED &&
		       out->verdict != VERIFY_VERIFIED;
	describe(in, out);
}

void verify_result_release(struct verify_result *r)
{
	size_t i;

	for (i = 0; i < r->nfailing; i++)
		free(r->failing[i].device);
	free(r->failing);
	free(r->reason);
	memset(r, 0, sizeof(*r));
}
