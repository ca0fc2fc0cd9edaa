/* The OpenMetrics / Prometheus text writer (lib/core/openmetrics) and
 * fleetgate's families (lib/deploy/metrics): the text byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/openmetrics.h"
#include "deploy/metrics.h"

static void expect_text(const struct om_set *set, enum om_format f, const char *want)
{
	struct fg_buf b = FG_BUF_INIT;

	fg_buf_init(&b);
	assert_int_equal(om_write(&b, set, f), 0);
	assert_string_equal(b.ptr, want);
	fg_buf_release(&b);
}

static void expect_refused(const struct om_set *set, const char *message)
{
	struct fg_buf b = FG_BUF_INIT;

	fg_buf_init(&b);
	assert_int_equal(om_write(&b, set, OM_OPENMETRICS), FG_EINVAL);
	assert_string_equal(fg_error_message(), message);
	assert_int_equal(b.len, 0); /* nothing appended */
	fg_buf_release(&b);
}

static void test_both_formats(void **state)
{
	struct om_set s;
	size_t f, g;
	const char *l1[] = { "branch", "canary", "state", "success" };

	(void)state;
	om_init(&s);
	f = om_gauge(&s, "fleetgate_devices", NULL, "Devices.");
	om_sample(&s, f, 3, l1, 2);
	g = om_gauge(&s, "fleetgate_last_timestamp_seconds", "seconds", "When.");
	om_sample(&s, g, 1764671400, NULL, 0);
	om_gauge(&s, "fleetgate_empty", NULL, "No sample.");
	expect_text(&s, OM_OPENMETRICS,
		    "# HELP fleetgate_devices Devices.\n"
		    "# TYPE fleetgate_devices gauge\n"
		    "fleetgate_devices{branch=\"canary\",state=\"success\"} 3\n"
		    "# HELP fleetgate_last_timestamp_seconds When.\n"
		    "# TYPE fleetgate_last_timestamp_seconds gauge\n"
		    "# UNIT fleetgate_last_timestamp_seconds seconds\n"
		    "fleetgate_last_timestamp_seconds 1764671400\n"
		    "# HELP fleetgate_empty No sample.\n"
		    "# TYPE fleetgate_empty gauge\n"
		    "# EOF\n");
	expect_text(&s, OM_PROMETHEUS,
		    "# HELP fleetgate_devices Devices.\n"
		    "# TYPE fleetgate_devices gauge\n"
		    "fleetgate_devices{branch=\"canary\",state=\"success\"} 3\n"
		    "# HELP fleetgate_last_timestamp_seconds When.\n"
		    "# TYPE fleetgate_last_timestamp_seconds gauge\n"
		    "fleetgate_last_timestamp_seconds 1764671400\n"
		    "# HELP fleetgate_empty No sample.\n"
		    "# TYPE fleetgate_empty gauge\n");
	om_release(&s);
}

static void test_escaping(void **state)
{
	struct om_set s;
	size_t f;
	const char *l[] = { "v", "a\\b\"c\nd\te \xc3\xa9" };

	(void)state;
	om_init(&s);
	f = om_gauge(&s, "x", NULL, "back\\slash \"quoted\"\nsecond line");
	om_sample(&s, f, 1, l, 1);
	expect_text(&s, OM_OPENMETRICS,
		    "# HELP x back\\\\slash \\\"quoted\\\"\\nsecond line\n"
		    "# TYPE x gauge\n"
		    "x{v=\"a\\\\b\\\"c\\nd\te \xc3\xa9\"} 1\n"
		    "# EOF\n");
	/* The 0.0.4 format escapes only \ and newline in HELP. */
	expect_text(&s, OM_PROMETHEUS,
		    "# HELP x back\\\\slash \"quoted\"\\nsecond line\n"
		    "# TYPE x gauge\n"
		    "x{v=\"a\\\\b\\\"c\\nd\te \xc3\xa9\"} 1\n");
	om_release(&s);
}

static void test_values(void **state)
{
	struct om_set s;
	size_t f;
	const char *a[] = { "v", "a" }, *b[] = { "v", "b" }, *c[] = { "v", "c" },
		   *d[] = { "v", "d" }, *e[] = { "v", "e" }, *g[] = { "v", "g" };

	(void)state;
	om_init(&s);
	f = om_gauge(&s, "x", NULL, "h");
	om_sample(&s, f, 0.25, a, 1);
	om_sample(&s, f, -7, b, 1);
	om_sample(&s, f, NAN, c, 1);
	om_sample(&s, f, INFINITY, d, 1);
	om_sample(&s, f, -INFINITY, e, 1);
	om_sample(&s, f, 1e300, g, 1);
	expect_text(&s, OM_PROMETHEUS,
		    "# HELP x h\n# TYPE x gauge\n"
		    "x{v=\"a\"} 0.25\nx{v=\"b\"} -7\nx{v=\"c\"} NaN\nx{v=\"d\"} +Inf\n"
		    "x{v=\"e\"} -Inf\nx{v=\"g\"} 1.0000000000000001e+300\n");
	om_release(&s);
}

/* One set with one bad family after a good one: refused, nothing written. */
static void refused_family(const char *name, const char *unit, const char *help,
			   const char *const *labels, size_t nlabels, const char *message)
{
	struct om_set s;
	size_t f;
	const char *ok[] = { "branch", "main" };

	om_init(&s);
	f = om_gauge(&s, "fine", NULL, "A good family first.");
	om_sample(&s, f, 1, ok, 1);
	f = om_gauge(&s, name, unit, help);
	om_sample(&s, f, 1, labels, nlabels);
	expect_refused(&s, message);
	om_release(&s);
}

static void test_refusals(void **state)
{
	const char *good[] = { "a", "b" }, *digit[] = { "1a", "b" }, *reserved[] = { "__name__", "b" },
		   *colon[] = { "a:b", "c" }, *twice[] = { "a", "1", "a", "2" },
		   *bad_utf8[] = { "a", "x\xff" }, *overlong[] = { "a", "\xc0\xaf" },
		   *surrogate[] = { "a", "\xed\xa0\x80" };

	(void)state;
	refused_family("9lives", NULL, "h", good, 1, "metrics: invalid metric name '9lives'");
	refused_family("a-b", NULL, "h", good, 1, "metrics: invalid metric name 'a-b'");
	refused_family("", NULL, "h", good, 1, "metrics: invalid metric name ''");
	refused_family("x", NULL, "h", digit, 1, "metrics: family 'x': invalid label name '1a'");
	refused_family("x", NULL, "h", reserved, 1, "metrics: family 'x': invalid label name '__name__'");
	refused_family("x", NULL, "h", colon, 1, "metrics: family 'x': invalid label name 'a:b'");
	refused_family("x", NULL, "h", twice, 2, "metrics: family 'x': label 'a' twice in a sample");
	refused_family("x", NULL, "h", bad_utf8, 1,
		       "metrics: family 'x': the value of label 'a' is not valid UTF-8");
	refused_family("x", NULL, "h", overlong, 1,
		       "metrics: family 'x': the value of label 'a' is not valid UTF-8");
	refused_family("x", NULL, "h", surrogate, 1,
		       "metrics: family 'x': the value of label 'a' is not valid UTF-8");
	refused_family("x", NULL, "\xff", good, 1, "metrics: family 'x': its help is not valid UTF-8");
	refused_family("x_bytes", "seconds", "h", good, 1,
		       "metrics: family 'x_bytes': the unit 'seconds' does not end its name");
	refused_family("xseconds", "seconds", "h", good, 1,
		       "metrics: family 'xseconds': the unit 'seconds' does not end its name");
	refused_family("seconds", "seconds", "h", good, 1,
		       "metrics: family 'seconds': the unit 'seconds' does not end its name");
	refused_family("fine", NULL, "h", good, 1, "metrics: family 'fine' twice");
}

static void test_duplicate_samples(void **state)
{
	struct om_set s;
	size_t f;
	const char *ab[] = { "a", "1", "b", "2" }, *ba[] = { "b", "2", "a", "1" },
		   *nl[] = { "a", "1\nb=2" }, *other[] = { "a", "1", "b", "3" };

	(void)state;
	om_init(&s);
	f = om_gauge(&s, "x", NULL, "h");
	om_sample(&s, f, 1, ab, 2);
	om_sample(&s, f, 2, other, 2);
	om_sample(&s, f, 3, nl, 1); /* a newline in a value makes no pair */
	om_sample(&s, f, 4, NULL, 0);
	expect_text(&s, OM_PROMETHEUS,
		    "# HELP x h\n# TYPE x gauge\n"
		    "x{a=\"1\",b=\"2\"} 1\nx{a=\"1\",b=\"3\"} 2\nx{a=\"1\\nb=2\"} 3\nx 4\n");
	om_sample(&s, f, 5, ba, 2); /* the same labels in another order */
	expect_refused(&s, "metrics: family 'x': two samples with the same labels");
	om_release(&s);
	om_init(&s);
	f = om_gauge(&s, "y", NULL, "h");
	om_sample(&s, f, 1, NULL, 0);
	om_sample(&s, f, 2, NULL, 0);
	expect_refused(&s, "metrics: family 'y': two samples with the same labels");
	om_release(&s);
}

/* ---- fleetgate's families ---- */

#define T0 1764671400LL

static const char families_head[] =
	"# HELP fleetgate_devices Devices a branch manages or concerns, per state of their fleetgate deployment.\n"
	"# TYPE fleetgate_devices gauge\n";

static char *write_metrics(const struct metrics *m, enum om_format f)
{
	struct fg_buf b = FG_BUF_INIT;

	fg_buf_init(&b);
	assert_int_equal(metrics_write(&b, m, f), 0);
	return fg_buf_detach(&b);
}

/* The lines of `text` that start with `prefix`, each with its newline. */
static char *lines_of(const char *text, const char *prefix)
{
	struct fg_buf b = FG_BUF_INIT;
	const char *p = text;

	fg_buf_init(&b);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);

		if (!strncmp(p, prefix, strlen(prefix)))
			fg_buf_put(&b, p, len);
		p += len;
	}
	return fg_buf_detach(&b);
}

static void expect_lines(const char *text, const char *prefix, const char *want)
{
	char *got = lines_of(text, prefix);

	assert_string_equal(got, want);
	free(got);
}

static void test_empty_metrics(void **state)
{
	struct metrics m;
	char *text;

	(void)state;
	metrics_init(&m, T0);
	text = write_metrics(&m, OM_OPENMETRICS);
	assert_int_equal(strncmp(text, families_head, strlen(families_head)), 0);
	/* every family declared, one sample: when it was written */
	expect_lines(text, "# TYPE ",
		     "# TYPE fleetgate_devices gauge\n"
		     "# TYPE fleetgate_status_complete gauge\n"
		     "# TYPE fleetgate_spool_jobs gauge\n"
		     "# TYPE fleetgate_spool_oldest_job_timestamp_seconds gauge\n"
		     "# TYPE fleetgate_scheduler_last_success_timestamp_seconds gauge\n"
		     "# TYPE fleetgate_stage_verdict gauge\n"
		     "# TYPE fleetgate_stage_evidence_timestamp_seconds gauge\n"
		     "# TYPE fleetgate_stage_evidence_age_seconds gauge\n"
		     "# TYPE fleetgate_status_timestamp_seconds gauge\n");
	expect_lines(text, "fleetgate_", "fleetgate_status_timestamp_seconds 1764671400\n");
	expect_lines(text, "# UNIT ",
		     "# UNIT fleetgate_spool_oldest_job_timestamp_seconds seconds\n"
		     "# UNIT fleetgate_scheduler_last_success_timestamp_seconds seconds\n"
		     "# UNIT fleetgate_stage_evidence_timestamp_seconds seconds\n"
		     "# UNIT fleetgate_stage_evidence_age_seconds seconds\n"
		     "# UNIT fleetgate_status_timestamp_seconds seconds\n");
	assert_string_equal(text + strlen(text) - 6, "# EOF\n");
	free(text);
	metrics_release(&m);
}

static void test_devices_per_state(void **state)
{
	struct plan_device d[7];
	struct plan p;
	struct metrics m;
	char *text;

	(void)state;
	memset(d, 0, sizeof(d));
	memset(&p, 0, sizeof(p));
	d[0].kind = PLAN_MANAGED, d[0].os = PLAN_OS_PENDING, d[0].deployment_status = "installing";
	d[1].kind = PLAN_MANAGED, d[1].os = PLAN_OS_PENDING, d[1].deployment_status = "installing";
	d[2].kind = PLAN_MANAGED, d[2].os = PLAN_OS_FAILED;
	d[3].kind = PLAN_MANAGED, d[3].os = PLAN_OS_IN_SYNC, d[3].deployment_status = "success";
	d[4].kind = PLAN_MANAGED, d[4].os = PLAN_OS_NO_IMAGE;
	d[5].kind = PLAN_CONFLICT;
	d[6].kind = PLAN_MANAGED, d[6].os = PLAN_OS_PENDING, d[6].deployment_status = "odd\xff";
	p.devices = d;
	p.ndevices = 7;
	metrics_init(&m, T0);
	p.branch = "canary";
	metrics_add_plan(&m, &p);
	p.branch = "feature/\xe9t\xc3\xa9"; /* a Latin-1 byte, then a real é */
	p.ndevices = 1;
	metrics_add_plan(&m, &p);
	metrics_set_complete(&m, 1);
	text = write_metrics(&m, OM_PROMETHEUS);
	expect_lines(text, "fleetgate_devices",
		     "fleetgate_devices{branch=\"canary\",state=\"installing\"} 2\n"
		     "fleetgate_devices{branch=\"canary\",state=\"failure\"} 1\n"
		     "fleetgate_devices{branch=\"canary\",state=\"success\"} 1\n"
		     "fleetgate_devices{branch=\"canary\",state=\"no-image\"} 1\n"
		     "fleetgate_devices{branch=\"canary\",state=\"conflict\"} 1\n"
		     "fleetgate_devices{branch=\"canary\",state=\"odd\\\\xFF\"} 1\n"
		     "fleetgate_devices{branch=\"feature/\\\\xE9t\xc3\xa9\",state=\"installing\"} 1\n");
	expect_lines(text, "fleetgate_status_complete", "fleetgate_status_complete 1\n");
	free(text);
	metrics_release(&m);
}

static void test_spool_and_last_success(void **state)
{
	struct spool_job jobs[3];
	struct metrics m;
	char *text;

	(void)state;
	memset(jobs, 0, sizeof(jobs));
	jobs[0].queued = T0 - 60;
	jobs[1].queued = T0 - 600;
	jobs[2].queued = T0 - 6000, jobs[2].parked = 1; /* parked: not waiting */
	metrics_init(&m, T0);
	metrics_add_spool(&m, jobs, 3);
	metrics_add_last_success(&m, "reconcile", T0 - 120);
	metrics_add_last_success(&m, "post-receive", 0); /* never: no sample */
	text = write_metrics(&m, OM_OPENMETRICS);
	expect_lines(text, "fleetgate_spool",
		     "fleetgate_spool_jobs{state=\"waiting\"} 2\n"
		     "fleetgate_spool_jobs{state=\"parked\"} 1\n"
		     "fleetgate_spool_oldest_job_timestamp_seconds 1764670800\n");
	expect_lines(text, "fleetgate_scheduler",
		     "fleetgate_scheduler_last_success_timestamp_seconds{run=\"reconcile\"} 1764671280\n");
	free(text);
	metrics_release(&m);
	/* An empty spool: zero jobs, no oldest. */
	metrics_init(&m, T0);
	metrics_add_spool(&m, NULL, 0);
	text = write_metrics(&m, OM_OPENMETRICS);
	expect_lines(text, "fleetgate_spool",
		     "fleetgate_spool_jobs{state=\"waiting\"} 0\n"
		     "fleetgate_spool_jobs{state=\"parked\"} 0\n");
	free(text);
	metrics_release(&m);
}

static void test_verdicts(void **state)
{
	const struct metrics_verdict v[] = {
		{ "canary", "verified", T0 - 90 },
		{ "production", "pending", 0 },
		{ "lab", "failed", T0 - 7200 },
		{ "odd", "revoked?", T0 },
	};
	struct metrics m;
	char *text;

	(void)state;
	metrics_init(&m, T0);
	metrics_add_verdicts(&m, v, 4);
	text = write_metrics(&m, OM_OPENMETRICS);
	expect_lines(text, "fleetgate_stage_verdict",
		     "fleetgate_stage_verdict{stage=\"canary\",verdict=\"verified\"} 1\n"
		     "fleetgate_stage_verdict{stage=\"canary\",verdict=\"pending\"} 0\n"
		     "fleetgate_stage_verdict{stage=\"canary\",verdict=\"failed\"} 0\n"
		     "fleetgate_stage_verdict{stage=\"production\",verdict=\"verified\"} 0\n"
		     "fleetgate_stage_verdict{stage=\"production\",verdict=\"pending\"} 1\n"
		     "fleetgate_stage_verdict{stage=\"production\",verdict=\"failed\"} 0\n"
		     "fleetgate_stage_verdict{stage=\"lab\",verdict=\"verified\"} 0\n"
		     "fleetgate_stage_verdict{stage=\"lab\",verdict=\"pending\"} 0\n"
		     "fleetgate_stage_verdict{stage=\"lab\",verdict=\"failed\"} 1\n"
		     "fleetgate_stage_verdict{stage=\"odd\",verdict=\"verified\"} 0\n"
		     "fleetgate_stage_verdict{stage=\"odd\",verdict=\"pending\"} 0\n"
		     "fleetgate_stage_verdict{stage=\"odd\",verdict=\"failed\"} 0\n"
		     "fleetgate_stage_verdict{stage=\"odd\",verdict=\"revoked?\"} 1\n");
	expect_lines(text, "fleetgate_stage_evidence",
		     "fleetgate_stage_evidence_timestamp_seconds{stage=\"canary\"} 1764671310\n"
		     "fleetgate_stage_evidence_timestamp_seconds{stage=\"lab\"} 1764664200\n"
		     "fleetgate_stage_evidence_timestamp_seconds{stage=\"odd\"} 1764671400\n"
		     "fleetgate_stage_evidence_age_seconds{stage=\"canary\"} 90\n"
		     "fleetgate_stage_evidence_age_seconds{stage=\"lab\"} 7200\n"
		     "fleetgate_stage_evidence_age_seconds{stage=\"odd\"} 0\n");
	free(text);
	metrics_release(&m);
}

/* A stage given twice is the caller's error, and the writer says so
 * rather than showing two verdicts. */
static void test_verdict_twice(void **state)
{
	const struct metrics_verdict v[] = { { "canary", "verified", T0 }, { "canary", "failed", T0 } };
	struct metrics m;
	struct fg_buf b = FG_BUF_INIT;

	(void)state;
	metrics_init(&m, T0);
	metrics_add_verdicts(&m, v, 2);
	fg_buf_init(&b);
	assert_int_equal(metrics_write(&b, &m, OM_OPENMETRICS), FG_EINVAL);
	assert_string_equal(fg_error_message(),
			    "metrics: family 'fleetgate_stage_verdict': two samples with the same labels");
	fg_buf_release(&b);
	metrics_release(&m);
}

/* Branch names are a pusher's bytes: every byte a ref name may hold, and
 * quotes, braces and commas that would end a label, give a text the
 * writer accepts, valid UTF-8, each name its own label value. */
static void test_hostile_branch_names(void **state)
{
	static const char *const names[] = { "x\",state=\"success\"} 9\nfleetgate_devices{a=\"",
					     "{}=,", "caf\xc3\xa9", "\xff\xfe", "\xef\xbf\xbd" };
	struct plan_device d;
	struct plan p;
	struct metrics m;
	char name[4], *text, *lines;
	size_t i, n = 0;
	int c;

	(void)state;
	memset(&d, 0, sizeof(d));
	memset(&p, 0, sizeof(p));
	d.kind = PLAN_MANAGED, d.os = PLAN_OS_IN_SYNC;
	p.devices = &d;
	p.ndevices = 1;
	metrics_init(&m, T0);
	for (c = 0x20; c <= 0xff; c++) {
		if (c == '\\' || c == 0x7f) /* never in a ref name */
			continue;
		snprintf(name, sizeof(name), "b%c", c);
		p.branch = name;
		metrics_add_plan(&m, &p);
		n++;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		p.branch = (char *)names[i];
		metrics_add_plan(&m, &p);
		n++;
	}
	text = write_metrics(&m, OM_OPENMETRICS);
	assert_true(fg_utf8_valid(text));
	lines = lines_of(text, "fleetgate_devices{");
	for (i = 0, c = 0; lines[i]; i++)
		c += lines[i] == '\n';
	assert_int_equal(c, n); /* one line each: no newline got through */
	assert_non_null(strstr(lines, "fleetgate_devices{branch=\"x\\\",state=\\\"success\\\"} 9\\nfleetgate_devices{a=\\\"\",state=\"in-sync\"} 1\n"));
	assert_non_null(strstr(lines, "{branch=\"\\\\xFF\\\\xFE\",state=\"in-sync\"} 1\n"));
	assert_non_null(strstr(lines, "{branch=\"caf\xc3\xa9\",state=\"in-sync\"} 1\n"));
	assert_non_null(strstr(lines, "{branch=\"b\\\\xC0\",state=\"in-sync\"} 1\n"));
	free(lines);
	free(text);
	metrics_release(&m);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both_formats),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_duplicate_samples),
		cmocka_unit_test(test_empty_metrics),
		cmocka_unit_test(test_devices_per_state),
		cmocka_unit_test(test_spool_and_last_success),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_verdict_twice),
		cmocka_unit_test(test_hostile_branch_names),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
