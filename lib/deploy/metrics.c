#include "deploy/metrics.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "deploy/plan_report.h"

#include <stdlib.h>
#include <string.h>

void metrics_init(struct metrics *m, time_t now)
{
	struct om_set *s = &m->set;

	memset(m, 0, sizeof(*m));
	om_init(s);
	m->now = now;
	m->devices = om_gauge(s, "fleetgate_devices", NULL,
			      "Devices a branch manages or concerns, per state of their fleetgate deployment.");
	m->complete = om_gauge(s, "fleetgate_status_complete", NULL,
				"1 when the devices of every branch were read, 0 when status stopped at an error (Mender failed, a stage's fleet is invalid).");
	m->spool_jobs = om_gauge(s, "fleetgate_spool_jobs", NULL,
				 "Scheduler jobs in the spool: waiting to be scheduled, or parked (never schedulable at their commit).");
	m->spool_oldest = om_gauge(s, "fleetgate_spool_oldest_job_timestamp_seconds", "seconds",
				   "When the oldest waiting job of the spool was queued (unix time).");
	m->last_success = om_gauge(s, "fleetgate_scheduler_last_success_timestamp_seconds", "seconds",
				   "The last time a run of fleetgate reconcile or of the post-receive hook scheduled everything it had (unix time).");
	m->verdict = om_gauge(s, "fleetgate_stage_verdict", NULL,
			      "1 for the verdict of the stage's tip (verified, pending, failed), 0 for the others.");
	m->evidence_time = om_gauge(s, "fleetgate_stage_evidence_timestamp_seconds", "seconds",
				    "When the evidence of the stage's tip was last evaluated (unix time).");
	m->evidence_age = om_gauge(s, "fleetgate_stage_evidence_age_seconds", "seconds",
				   "The age of the stage's evidence when these metrics were written.");
	m->generated = om_gauge(s, "fleetgate_status_timestamp_seconds", "seconds",
				"When fleetgate status wrote these metrics (unix time).");
	om_sample(s, m->generated, (double)now, NULL, 0);
}

void metrics_release(struct metrics *m)
{
	om_release(&m->set);
	memset(m, 0, sizeof(*m));
}

/* `s` as valid UTF-8: each byte that does not start a valid character as
 * the four characters \xNN. malloc'd. */
static char *label_text(const char *s)
{
	struct fg_buf b = FG_BUF_INIT;
	size_t len;

	if (fg_utf8_valid(s))
		return fg_strdup(s);
	fg_buf_init(&b);
	while (*s) {
		if (fg_char_shown(s, &len) || len > 1 || (unsigned char)*s < 0x80)
			fg_buf_put(&b, s, len);
		else
			fg_buf_printf(&b, "\\x%02X", (unsigned char)*s);
		s += len;
	}
	return fg_buf_detach(&b);
}

struct state_count {
	const char *state;
	size_t n;
};

void metrics_add_plan(struct metrics *m, const struct plan *p)
{
	struct state_count *counts = fg_calloc(p->ndevices + 1, sizeof(*counts));
	char *branch = label_text(p->branch);
	size_t i, k, n = 0;

	for (i = 0; i < p->ndevices; i++) {
		const char *state = plan_device_state(&p->devices[i]);

		if (!state)
			state = "no-image";
		for (k = 0; k < n && strcmp(counts[k].state, state); k++)
			;
		if (k == n)
			counts[n++].state = state;
		counts[k].n++;
	}
	for (k = 0; k < n; k++) {
		char *state = label_text(counts[k].state);
		const char *labels[] = { "branch", branch, "state", state };

		om_sample(&m->set, m->devices, (double)counts[k].n, labels, 2);
		free(state);
	}
	free(branch);
	free(counts);
}

void metrics_set_complete(struct metrics *m, int complete)
{
	om_sample(&m->set, m->complete, complete ? 1 : 0, NULL, 0);
}

void metrics_add_spool(struct metrics *m, const struct spool_job *jobs, size_t n)
{
	const char *waiting[] = { "state", "waiting" }, *parked[] = { "state", "parked" };
	size_t i, nwaiting = 0, nparked = 0;
	long long oldest = 0;

	for (i = 0; i < n; i++) {
		if (jobs[i].parked) {
			nparked++;
			continue;
		}
		nwaiting++;
		if (!oldest || jobs[i].queued < oldest)
			oldest = jobs[i].queued;
	}
	om_sample(&m->set, m->spool_jobs, (double)nwaiting, waiting, 1);
	om_sample(&m->set, m->spool_jobs, (double)nparked, parked, 1);
	if (nwaiting)
		om_sample(&m->set, m->spool_oldest, (double)oldest, NULL, 0);
}

void metrics_add_last_success(struct metrics *m, const char *run, long long when)
{
	const char *labels[] = { "run", run };

	if (when)
		om_sample(&m->set, m->last_success, (double)when, labels, 1);
}

void metrics_add_verdicts(struct metrics *m, const struct metrics_verdict *v, size_t n)
{
	static const char *const verdicts[] = METRICS_VERDICTS;
	const size_t nverdicts = sizeof(verdicts) / sizeof(verdicts[0]);
	size_t i, k;

	for (i = 0; i < n; i++) {
		char *stage = label_text(v[i].stage), *verdict = label_text(v[i].verdict);
		const char *labels[] = { "stage", stage, "verdict", NULL };
		int known = 0;

		for (k = 0; k < nverdicts; k++) {
			labels[3] = verdicts[k];
			known |= !strcmp(verdicts[k], verdict);
			om_sample(&m->set, m->verdict, !strcmp(verdicts[k], verdict), labels, 2);
		}
		labels[3] = verdict;
		if (!known)
			om_sample(&m->set, m->verdict, 1, labels, 2);
		if (v[i].evidence_time) {
			om_sample(&m->set, m->evidence_time, (double)v[i].evidence_time, labels, 1);
			om_sample(&m->set, m->evidence_age, (double)(m->now - v[i].evidence_time),
				  labels, 1);
		}
		free(stage);
		free(verdict);
	}
}

int metrics_write(struct fg_buf *out, const struct metrics *m, enum om_format format)
{
	return om_write(out, &m->set, format);
}
