/* Verified promotion on data: the verdict (verify_judge) over every device
 * health, the failure limits, minDevices, the soak, inheritance, zero
 * devices, stuck devices and revocation; durations, --verify specs and the
 * evidence record's JSON. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "rules/record.h"
#include "rules/verify.h"

#include <stdlib.h>
#include <string.h>

#define MIN 60000LL
#define NOW (1800000000000LL)

static struct verify_rules rules(unsigned long min, long max_failures, double ratio, int64_t soak)
{
	struct verify_rules r;

	memset(&r, 0, sizeof(r));
	r.stage = "canary";
	r.min_devices = min;
	r.max_failures = max_failures;
	r.max_failure_ratio = ratio;
	r.soak_ms = soak;
	r.timeout_ms = 60 * MIN;
	return r;
}

static const char *const ids[] = { "0b6c00000000000000000001", "0b6c00000000000000000002",
				   "0b6c00000000000000000003", "0b6c00000000000000000004",
				   "0b6c00000000000000000005" };

/* Devices from a string of health letters: h f n w o (healthy, failure,
 * noartifact, waiting, out); capitals are unchanged devices. */
static size_t devices(const char *spec, struct verify_device *out)
{
	size_t i;

	for (i = 0; spec[i]; i++) {
		char c = spec[i] | 0x20;

		out[i].id = ids[i];
		out[i].changed = spec[i] == c;
		out[i].health = c == 'h' ? VH_HEALTHY :
				c == 'f' ? VH_FAILURE :
				c == 'n' ? VH_NOARTIFACT :
				c == 'w' ? VH_WAITING : VH_OUT;
	}
	return i;
}


static void judge(struct verify_result *out, const struct verify_rules *r, const char *spec,
		  int64_t since, const struct verify_prior *prior, const char *inherit)
{
	struct verify_device d[8];
	struct verify_input in;

	memset(&in, 0, sizeof(in));
	in.rules = r;
	in.devices = d;
	in.ndevices = devices(spec, d);
	in.now_ms = NOW;
	in.since_ms = since;
	in.prior = prior;
	in.inherit_from = inherit;
	verify_judge(&in, out);
}

static void expect(const struct verify_rules *r, const char *spec, int64_t since,
		   const struct verify_prior *prior, const char *inherit, enum verify_outcome want,
		   const char *reason)
{
	struct verify_result res;

	judge(&res, r, spec, since, prior, inherit);
	if (res.verdict != want || strcmp(res.reason, reason))
		fail_msg("%s: got %s '%s', want %s '%s'", spec, verify_outcome_name(res.verdict),
			 res.reason, verify_outcome_name(want), reason);
	verify_result_release(&res);
}

static void test_every_state(void **state)
{
	struct verify_rules r = rules(3, -1, -1, 0);

	(void)state;
	expect(&r, "hhh", NOW, NULL, NULL, VERIFY_VERIFIED, "3 of 3 devices healthy");
	expect(&r, "hhw", NOW, NULL, NULL, VERIFY_PENDING, "2 of 3 devices healthy (3 needed)");
	expect(&r, "hhf", NOW, NULL, NULL, VERIFY_FAILED,
	       "2 of 3 devices healthy (3 needed), 1 failed (0b6c…0003: failure)");
	expect(&r, "hhn", NOW, NULL, NULL, VERIFY_FAILED,
	       "2 of 3 devices healthy (3 needed), 1 failed (0b6c…0003: noartifact)");
	/* out counts neither way */
	expect(&r, "hhho", NOW, NULL, NULL, VERIFY_VERIFIED, "3 of 3 devices healthy");
	expect(&r, "hho", NOW, NULL, NULL, VERIFY_PENDING, "2 of 2 devices healthy (3 needed)");
	/* waiting past the timeout: stuck, a failure */
	expect(&r, "hhw", NOW - 61 * MIN, NULL, NULL, VERIFY_FAILED,
	       "2 of 3 devices healthy (3 needed), 1 failed (0b6c…0003: stuck)");
	expect(&r, "hhw", NOW - 59 * MIN, NULL, NULL, VERIFY_PENDING,
	       "2 of 3 devices healthy (3 needed)");
}

static void test_limits_after_min_devices(void **state)
{
	struct verify_rules r = rules(3, -1, -1, 0), one = rules(3, 1, -1, 0),
			    ratio = rules(2, -1, 0.25, 0);

	(void)state;
	/* the limit is judged only once minDevices finished */
	expect(&r, "fww", NOW, NULL, NULL, VERIFY_PENDING,
	       "0 of 3 devices healthy (3 needed), 1 failed (0b6c…0001: failure)");
	expect(&r, "ffw", NOW, NULL, NULL, VERIFY_PENDING,
	       "0 of 3 devices healthy (3 needed), 2 failed (0b6c…0001: failure, 0b6c…0002: failure)");
	expect(&r, "fffhh", NOW, NULL, NULL, VERIFY_FAILED,
	       "2 of 5 devices healthy (3 needed), 3 failed (0b6c…0001: failure, 0b6c…0002: failure, 0b6c…0003: failure)");
	/* maxFailures 1: one failure is allowed, two are not */
	expect(&one, "hhhf", NOW, NULL, NULL, VERIFY_VERIFIED,
	       "3 of 4 devices healthy, 1 failed (0b6c…0004: failure)");
	expect(&one, "hhhff", NOW, NULL, NULL, VERIFY_FAILED,
	       "3 of 5 devices healthy, 2 failed (0b6c…0004: failure, 0b6c…0005: failure)");
	/* a share of the finished devices: 1 of 4 is 25 %, 1 of 3 is more */
	expect(&ratio, "hhhf", NOW, NULL, NULL, VERIFY_VERIFIED,
	       "3 of 4 devices healthy, 1 failed (0b6c…0004: failure)");
	expect(&ratio, "hhfw", NOW, NULL, NULL, VERIFY_FAILED,
	       "2 of 4 devices healthy, 1 failed (0b6c…0003: failure)");
}

static void test_soak(void **state)
{
	struct verify_rules r = rules(2, -1, -1, 60 * MIN);
	struct verify_prior soaking = { VERIFY_PENDING, NOW - 19 * MIN };
	struct verify_prior soaked = { VERIFY_PENDING, NOW - 60 * MIN };
	struct verify_result res;

	(void)state;
	expect(&r, "hh", NOW, NULL, NULL, VERIFY_PENDING, "2 of 2 devices healthy, soak 1 h left");
	expect(&r, "hh", NOW - 90 * MIN, &soaking, NULL, VERIFY_PENDING,
	       "2 of 2 devices healthy, soak 41 min left");
	expect(&r, "hh", NOW - 90 * MIN, &soaked, NULL, VERIFY_VERIFIED, "2 of 2 devices healthy");
	/* the soak runs from when the tree became the tip, not earlier */
	expect(&r, "hh", NOW - 30 * MIN, &soaked, NULL, VERIFY_PENDING,
	       "2 of 2 devices healthy, soak 30 min left");
	/* dropping below minDevices stops the soak clock */
	judge(&res, &r, "hw", NOW - 30 * MIN, &soaking, NULL);
	assert_int_equal(res.healthy_since_ms, 0);
	assert_int_equal(res.verdict, VERIFY_PENDING);
	verify_result_release(&res);
	judge(&res, &r, "hh", NOW - 90 * MIN, &soaking, NULL);
	assert_int_equal(res.healthy_since_ms, NOW - 19 * MIN);
	assert_int_equal(res.soak_left_ms, 41 * MIN);
	verify_result_release(&res);
}

static void test_nothing_changed_inherits(void **state)
{
	struct verify_rules r = rules(3, -1, -1, 60 * MIN);

	(void)state;
	expect(&r, "HHH", NOW, NULL, "3f2a1b0c", VERIFY_VERIFIED,
	       "no device's desired state changed since tree 3f2a1b0, which was verified");
	/* unchanged but not healthy: still inherited (it is the earlier tree's state) */
	expect(&r, "HWH", NOW, NULL, "3f2a1b0c", VERIFY_VERIFIED,
	       "no device's desired state changed since tree 3f2a1b0, which was verified");
	/* nothing verified before: no inheritance */
	expect(&r, "HHH", NOW, NULL, NULL, VERIFY_PENDING, "0 of 0 devices healthy (3 needed)");
}

static void test_zero_devices_pending(void **state)
{
	struct verify_rules r = rules(1, -1, -1, 0);

	(void)state;
	expect(&r, "", NOW, NULL, NULL, VERIFY_PENDING,
	       "no devices: nothing has shown the change to be healthy");
	expect(&r, "", NOW, NULL, "3f2a1b0c", VERIFY_PENDING,
	       "no devices: nothing has shown the change to be healthy");
	expect(&r, "oo", NOW, NULL, "3f2a1b0c", VERIFY_PENDING,
	       "no devices: nothing has shown the change to be healthy");
}

static void test_revocation(void **state)
{
	struct verify_rules r = rules(2, -1, -1, 0);
	struct verify_prior verified = { VERIFY_VERIFIED, NOW - 10 * MIN };
	struct verify_result res;

	(void)state;
	expect(&r, "hh", NOW - 20 * MIN, &verified, NULL, VERIFY_VERIFIED, "2 of 2 devices healthy");
	expect(&r, "hf", NOW - 20 * MIN, &verified, NULL, VERIFY_FAILED,
	       "1 of 2 devices healthy (2 needed), 1 failed (0b6c…0002: failure); its verdict verified was revoked");
	expect(&r, "hw", NOW - 20 * MIN, &verified, NULL, VERIFY_PENDING,
	       "1 of 2 devices healthy (2 needed); its verdict verified was revoked");
	judge(&res, &r, "hw", NOW - 20 * MIN, &verified, NULL);
	assert_true(res.revoked);
	verify_result_release(&res);
}

static void test_counts(void **state)
{
	struct verify_rules r = rules(1, 5, -1, 0);
	struct verify_device d[5];
	struct verify_input in;
	struct verify_result res;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.rules = &r;
	in.devices = d;
	in.ndevices = devices("hwwwf", d);
	in.active[2] = 2; /* installing */
	in.active[3] = 5; /* more rebooting than waiting devices: clamped */
	in.now_ms = in.since_ms = NOW;
	verify_judge(&in, &res);
	assert_int_equal(res.counts[VS_SUCCESS], 1);
	assert_int_equal(res.counts[VS_FAILURE], 1);
	assert_int_equal(res.counts[VS_REBOOTING], 3);
	assert_int_equal(res.counts[VS_INSTALLING], 0);
	assert_int_equal(res.counts[VS_PENDING], 0);
	verify_result_release(&res);
	in.active[3] = 1;
	verify_judge(&in, &res);
	assert_int_equal(res.counts[VS_REBOOTING], 1);
	assert_int_equal(res.counts[VS_INSTALLING], 2);
	assert_int_equal(res.counts[VS_PENDING], 0);
	assert_int_equal(res.changed, 5);
	verify_result_release(&res);
}

static void test_durations_and_specs(void **state)
{
	char **keys, **values, buf[32];
	size_t n;
	int64_t ms;

	(void)state;
	assert_int_equal(verify_parse_duration("30m", &ms), 0);
	assert_int_equal(ms, 30 * MIN);
	assert_int_equal(verify_parse_duration("2s", &ms), 0);
	assert_int_equal(ms, 2000);
	assert_int_equal(verify_parse_duration("1d", &ms), 0);
	assert_int_equal(verify_parse_duration("0", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_not_equal(verify_parse_duration("5", &ms), 0);
	assert_int_not_equal(verify_parse_duration("-1h", &ms), 0);
	assert_int_not_equal(verify_parse_duration("1h30m", &ms), 0);
	assert_int_not_equal(verify_parse_duration("400d", &ms), 0);
	assert_int_not_equal(verify_parse_duration("99999999999999999999s", &ms), 0);
	verify_format_duration(41 * MIN - 5000, buf, sizeof(buf));
	assert_string_equal(buf, "41 min");
	verify_format_duration(125 * MIN, buf, sizeof(buf));
	assert_string_equal(buf, "2 h 5 min");
	verify_format_duration(1500, buf, sizeof(buf));
	assert_string_equal(buf, "2 s");
	assert_int_equal(verify_spec_parse("canary:minDevices=3,SOAK=1h", &keys, &values, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(keys[0], "fleetgate.verify.canary.minDevices");
	assert_string_equal(values[0], "3");
	assert_string_equal(keys[1], "fleetgate.verify.canary.soak");
	fg_strings_free(keys, n);
	fg_strings_free(values, n);
	assert_int_not_equal(verify_spec_parse("canary:minDevices=0", &keys, &values, &n), 0);
	assert_int_not_equal(verify_spec_parse("canary:maxFailureRatio=2", &keys, &values, &n), 0);
	assert_int_not_equal(verify_spec_parse("Canary:soak=1h", &keys, &values, &n), 0);
	assert_int_not_equal(verify_spec_parse("canary", &keys, &values, &n), 0);
	assert_int_not_equal(verify_spec_parse("canary:soak", &keys, &values, &n), 0);
	assert_int_not_equal(verify_spec_parse("canary:color=red", &keys, &values, &n), 0);
	assert_int_equal(verify_spec_parse("canary:maxFailureRatio=5%,halt=true", &keys, &values, &n), 0);
	fg_strings_free(keys, n);
	fg_strings_free(values, n);
}

static void test_record_round_trip(void **state)
{
	struct verify_record r, back;
	char *text, *again;

	(void)state;
	record_init(&r);
	r.stage = fg_strdup("canary");
	memset(r.tree, 'a', 40);
	memset(r.commit, 'b', 40);
	r.verdict = VERIFY_FAILED;
	r.reason = fg_strdup("1 failed (0b6c…0003: failure) \"quoted\"");
	r.counts[VS_FAILURE] = 1;
	r.counts[VS_SUCCESS] = 2;
	r.failing = fg_calloc(1, sizeof(*r.failing));
	r.failing[0].device = fg_strdup(ids[2]);
	r.failing[0].state = VS_FAILURE;
	r.nfailing = 1;
	r.evaluated_ms = NOW;
	r.since_ms = NOW - MIN;
	r.min_devices = 3;
	r.max_failure_ratio = 0.05;
	r.soak_ms = 2000;
	r.timeout_ms = 60 * MIN;
	record_add_override(&r, "alice", "hotfix", r.commit, "production", NOW);
	record_add_event(&r, VERIFY_PENDING, 0, NOW - MIN, "0 of 3");
	record_add_event(&r, VERIFY_FAILED, 0, NOW, r.reason);
	text = record_encode(&r);
	assert_int_equal(record_decode(text, strlen(text), "test", &back), 0);
	again = record_encode(&back);
	assert_string_equal(text, again);
	assert_int_equal(back.verdict, VERIFY_FAILED);
	assert_string_equal(back.failing[0].device, ids[2]);
	assert_string_equal(back.overrides[0].user, "alice");
	assert_int_equal(back.nhistory, 2);
	free(again);
	record_release(&back);
	free(text);
	record_release(&r);
}

static void test_record_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{\"version\":2}",
		"{\"version\":1,\"stage\":\"canary\",\"tree\":\"x\"}",
		"{\"version\":1,\"version\":1}",
		"{\"version\":1,\"stage\":\"c\",\"tree\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
		"\"commit\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"verdict\":\"great\"}",
		"{\"version\":1} trailing",
	};
	struct verify_record r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		if (record_decode(bad[i], strlen(bad[i]), "test", &r) == 0)
			fail_msg("accepted: %s", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_state),
		cmocka_unit_test(test_limits_after_min_devices),
		cmocka_unit_test(test_soak),
		cmocka_unit_test(test_nothing_changed_inherits),
		cmocka_unit_test(test_zero_devices_pending),
		cmocka_unit_test(test_revocation),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_durations_and_specs),
		cmocka_unit_test(test_record_round_trip),
		cmocka_unit_test(test_record_refused),
	};

	return cmocka_run_group_tests_name("verify", tests, NULL, NULL) ? 1 : 0;
}
