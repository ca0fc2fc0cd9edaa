/*
 * The planner (docs/design.md, "Scheduling") on data: batching, idempotence, superseded and
 * failed deployments, configuration digests, and what is left alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleetfixture.h"
#include "deploy/plan.h"
#include "git/repo.h"
#include "deploy/plan_report.h"
#include "git/repo.h"

#define D1 "0b6c4f1e-7a2d-4e9b-b8c3-1f5a7d2e9c40"
#define D2 "5ef8a3d2-9c41-4b7e-8f10-2a6c4d9b3e71"
#define D3 "64f1c2a9e3b5d7f0a1c2e4b6"
#define D4 "a3e9d7c1-4b2f-4f6a-9e8d-7c1b5a3f2e90"
#define COMMIT "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"

static const char fleet_yaml[] =
	"fleet: 1\n"
	"default_branch: production\n"
	"promotion: [main, canary, production]\n"
	"os_images:\n"
	"  pi3-v3-arm64: pi3-img-2\n"
	"  pi4-v3-arm64: pi4-img-2\n"
	"config:\n"
	"  playbook_version: \"1.5.0\"\n"
	"roles:\n"
	"  runner:\n"
	"    token: ${secret:RUNNER_TOKEN}\n";

static const char *pi3_types[] = { "pi3-v3-arm64" };
static const char *pi4_types[] = { "pi4-v3-arm64" };
static const struct plan_artifact artifacts[] = {
	{ "pi3-img-2", pi3_types, 1 },
	{ "pi4-img-2", pi4_types, 1 },
};

static struct fleet *fleet;
static struct branch_view views[1];
static struct plan_input input;
static struct plan plan;
static char config_digest[HMAC_HEX_LEN + 1];
static const struct hmac_key key = { "0123456789abcdef0123456789abcde" };

static const char *secrets(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, "RUNNER_TOKEN") ? NULL : "t0k3n";
}

static int setup(void **state)
{
	static struct desired_kv kv[] = { { "playbook_version", "1.5.0", 0 } };

	(void)state;
	fleet = load_fleet(fleet_yaml, D4, "roles: [runner]\n", NULL);
	views[0].branch = "production";
	views[0].fleet = fleet;
	views[0].stage = 1;
	memset(&input, 0, sizeof(input));
	input.branch = "production";
	input.commit = COMMIT;
	input.views = views;
	input.nviews = 1;
	input.artifacts = artifacts;
	input.nartifacts = 2;
	input.secret = secrets;
	input.digest_key = &key;
	memset(&plan, 0, sizeof(plan));
	assert_int_equal(plan_config_digest(&key, kv, 1, config_digest), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	plan_release(&plan);
	fleet_free(fleet);
	return 0;
}

/* A device on production, OS and configuration in sync. */
static struct plan_facts synced(const char *id, const char *type, const char *installed)
{
	struct plan_facts f;

	memset(&f, 0, sizeof(f));
	f.id = id;
	f.device_type = type;
	f.installed = installed;
	f.status = "accepted";
	f.digest_tag = config_digest;
	return f;
}

static void run(struct plan_facts *devices, size_t n)
{
	input.devices = devices;
	input.ndevices = n;
	assert_int_equal(plan_compute(&plan, &input), 0);
}

static const struct plan_device *device(const char *id)
{
	size_t i;

	for (i = 0; i < plan.ndevices; i++)
		if (!strcmp(plan.devices[i].id, id))
			return &plan.devices[i];
	fail_msg("device %s not in the plan", id);
	return NULL;
}

static void test_everything_in_sync(void **state)
{
	struct plan_facts d[] = { synced(D1, "pi3-v3-arm64", "pi3-img-2"),
				  synced(D2, "pi4-v3-arm64", "pi4-img-2") };

	(void)state;
	run(d, 2);
	assert_int_equal(plan.ndevices, 3); /* and D4, whose file has no device */
	assert_int_equal(plan.unknown, 1);
	assert_int_equal(plan.nbatches, 0);
	assert_int_equal(plan.managed, 2);
	assert_int_equal(device(D1)->os, PLAN_OS_IN_SYNC);
	assert_int_equal(device(D1)->config, PLAN_CONFIG_IN_SYNC);
	assert_int_equal(plan.os_updates + plan.config_updates + plan.aborts, 0);
}

static void test_os_updates_batched_per_artifact(void **state)
{
	struct plan_facts d[] = { synced(D1, "pi3-v3-arm64", "pi3-img-1"),
				  synced(D2, "pi4-v3-arm64", "pi4-img-1"),
				  synced(D3, "pi3-v3-arm64", "pi3-img-1") };

	(void)state;
	run(d, 3);
	assert_int_equal(plan.nbatches, 2);
	assert_string_equal(plan.batches[0].name, "fleetgate:production@1a2b3c4:pi3-img-2");
	assert_string_equal(plan.batches[0].artifact, "pi3-img-2");
	assert_int_equal(plan.batches[0].ndevices, 2);
	assert_string_equal(plan.batches[0].devices[0], D1);
	assert_string_equal(plan.batches[0].devices[1], D3);
	assert_string_equal(plan.batches[1].name, "fleetgate:production@1a2b3c4:pi4-img-2");
	assert_int_equal(plan.batches[1].ndevices, 1);
	assert_int_equal(plan.os_updates, 3);
	assert_int_equal(device(D1)->os, PLAN_OS_UPDATE);
	assert_string_equal(device(D1)->installed, "pi3-img-1");
}

static void test_pending_deployment_is_left_alone(void **state)
{
	struct plan_deployment_fact dep = { "11111111-1111-4111-8111-111111111111",
					    "fleetgate:production@0000000:pi3-img-2", "pi3-img-2", 0, 1, NULL };
	struct plan_facts d[] = { synced(D1, "pi3-v3-arm64", "pi3-img-1") };

	(void)state;
	d[0].deployments = &dep;
	d[0].ndeployments = 1;
	run(d, 1);
	assert_int_equal(device(D1)->os, PLAN_OS_PENDING);
	assert_int_equal(plan.nbatches, 0);
	assert_int_equal(plan.os_pending, 1);
}

static void test_failed_deployment_not_retried(void **state)
{
	struct plan_deployment_fact dep = { "22222222-2222-4222-8222-222222222222",
					    "fleetgate:production@1a2b3c4:pi3-img-2", "pi3-img-2", 0, 0, "failure" };
	struct plan_facts d[] = { synced(D1, "pi3-v3-arm64", "pi3-img-1") };

	(void)state;
	d[0].deployments = &dep;
	d[0].ndeployments = 1;
	run(d, 1);
	assert_int_equal(device(D1)->os, PLAN_OS_FAILED);
	assert_string_equal(device(D1)->failed_deployment, dep.id);
	assert_int_equal(plan.nbatches, 0);
	assert_int_equal(plan.os_failed, 1);
}

static void test_failure_of_older_commit_is_retried(void **state)
{
	struct plan_deployment_fact dep = { "22222222-2222-4222-8222-222222222222",
					    "fleetgate:production@9999999:pi3-img-2", "pi3-img-2", 0, 0, "failure" };
	struct plan_facts d[] = { synced(D1, "pi3-v3-arm64", "pi3-img-1") };

	(void)state;
	d[0].deployments = &dep;
	d[0].ndeployments = 1;
	run(d, 1);
	assert_int_equal(device(D1)->os, PLAN_OS_UPDATE);
	assert_int_equal(plan.nbatches, 1);
}

static void test_superseded_deployment_aborted(void **state)
{
	struct plan_deployment_fact deps[] = {
		{ "33333333-3333-4333-8333-333333333333", "fleetgate:production@0000000:pi3-img-1b",
		  "pi3-img-1b", 0, 1, "pending" },
		{ "44444444-4444-4444-8444-444444444444", "fleetgate:production@0000000:pi3-img-2",
		  "pi3-img-2", 0, 1, NULL },
	};
	struct plan_facts d[] = { synced(D1, "pi3-v3-arm64", "pi3-img-1") };

	(void)state;
	d[0].deployments = deps;
	d[0].ndeployments = 2;
	run(d, 1);
	/* Aborting for a device takes all its active deployments: the good
	 * one is made again. */
	assert_int_equal(device(D1)->os, PLAN_OS_UPDATE);
	assert_int_equal(device(D1)->naborts, 1);
	assert_string_equal(device(D1)->aborts[0], deps[0].id);
	assert_int_equal(plan.aborts, 1);
	assert_int_equal(plan.nbatches, 1);
}

static void test_finished_part_is_not_superseded(void **state)
{
	/* Still active for others, but this device installed it already. */
	struct plan_deployment_fact dep = { "55555555-5555-4555-8555-555555555555",
					    "fleetgate:production@0000000:pi3-img-1", "pi3-img-1", 0, 1, "success" };
	struct plan_facts d[] = { synced(D1, "pi3-v3-arm64", "pi3-img-2") };

	(void)state;
	d[0].deployments = &dep;
	d[0].ndeployments = 1;
	run(d, 1);
	assert_int_equal(device(D1)->os, PLAN_OS_IN_SYNC);
	assert_int_equal(device(D1)->naborts, 0);
}

static void test_rollback_aborts_pending_newer(void **state)
{
	struct plan_deployment_fact dep = { "66666666-6666-4666-8666-666666666666",
					    "fleetgate:production@0000000:pi3-img-3", "pi3-img-3", 0, 1, NULL };
	struct plan_facts d[] = { synced(D1, "pi3-v3-arm64", "pi3-img-2") };

	(void)state;
	d[0].deployments = &dep;
	d[0].ndeployments = 1;
	run(d, 1);
	assert_int_equal(device(D1)->os, PLAN_OS_IN_SYNC);
	assert_int_equal(device(D1)->naborts, 1);
}

static void test_no_artifact_in_mender(void **state)
{
	struct plan_facts d[] = { synced(D1, "pi3-v3-arm64", "pi3-img-1") };

	(void)state;
	input.nartifacts = 1;
	input.artifacts = &artifacts[1];
	run(d, 1);
	assert_int_equal(device(D1)->os, PLAN_OS_NO_ARTIFACT);
	assert_int_equal(plan.nbatches, 0);
	assert_int_equal(plan.no_artifact, 1);
}

static void test_no_image_for_type_configures_only(void **state)
{
	struct plan_facts d[] = { synced(D3, "var-som-mx8m-nano", "var-img-1") };

	(void)state;
	d[0].digest_tag = NULL;
	run(d, 1);
	assert_int_equal(device(D3)->os, PLAN_OS_NO_IMAGE);
	assert_string_equal(device(D3)->note, "no OS image for device type 'var-som-mx8m-nano': configuration only");
	assert_int_equal(device(D3)->config, PLAN_CONFIG_UPDATE);
}

static void test_config_update_with_resolved_secret(void **state)
{
	struct plan_facts d[] = { synced(D4, "pi4-v3-arm64", "pi4-img-2") };
	const struct plan_device *pd;

	(void)state;
	run(d, 1);
	pd = device(D4);
	assert_int_equal(pd->config, PLAN_CONFIG_UPDATE);
	assert_int_equal(pd->nvalues, 2);
	assert_string_equal(pd->values[1].key, "token");
	assert_string_equal(pd->values[1].value, "t0k3n");
	assert_true(pd->values[1].secret);
	assert_string_not_equal(pd->digest, config_digest);
	assert_int_equal(strlen(pd->digest), 64);
}

/* A tag an older fleetgate recorded (unkeyed SHA-1 of "key=value" lines)
 * differs once: the configuration is set again, then tagged anew. */
static void test_old_digest_tag_differs(void **state)
{
	static const char old_text[] = "playbook_version=1.5.0\n";
	char old[41];
	struct plan_facts d[] = { synced(D1, "pi3-v3-arm64", "pi3-img-2") };

	(void)state;
	repo_hash_hex(old_text, strlen(old_text), old);
	d[0].digest_tag = old;
	run(d, 1);
	assert_int_equal(device(D1)->config, PLAN_CONFIG_UPDATE);
	assert_string_equal(device(D1)->digest, config_digest);
}

/* No key, no plan: digests under no key would all differ. */
static void test_no_digest_key(void **state)
{
	struct plan_facts d[] = { synced(D1, "pi3-v3-arm64", "pi3-img-2") };

	(void)state;
	input.devices = d;
	input.ndevices = 1;
	input.digest_key = NULL;
	assert_int_equal(plan_compute(&plan, &input), FG_EINVAL);
	assert_string_equal(fg_error_message(), "planning 'production': no configuration digest key");
	input.digest_key = &key;
}

static void test_secret_missing(void **state)
{
	struct plan_facts d[] = { synced(D4, "pi4-v3-arm64", "pi4-img-1") };

	(void)state;
	input.secret = NULL;
	run(d, 1);
	assert_int_equal(device(D4)->config, PLAN_CONFIG_SECRET_MISSING);
	assert_string_equal(device(D4)->missing_secret, "RUNNER_TOKEN");
	assert_int_equal(device(D4)->os, PLAN_OS_UPDATE); /* the OS is still updated */
	assert_int_equal(plan.secret_missing, 1);
}

static void test_config_pending_and_full_mode(void **state)
{
	struct plan_deployment_fact cfg = { "77777777-7777-4777-8777-777777777777",
					    "configuration-77777777-7777-4777-8777-777777777777", "", 1, 1, NULL };
	struct plan_kv desired[] = { { "playbook_version", "1.5.0" } };
	struct plan_kv old[] = { { "playbook_version", "1.4.0" }, { "stale", "x" } };
	struct plan_facts d[] = { synced(D1, "pi3-v3-arm64", "pi3-img-2"),
				  synced(D2, "pi4-v3-arm64", "pi4-img-2"),
				  synced(D3, "pi3-v3-arm64", "pi3-img-2") };

	(void)state;
	d[0].deployments = &cfg;
	d[0].ndeployments = 1;              /* digest equal, deployment active */
	d[1].config_known = 1;              /* reported as desired, tag missing */
	d[1].digest_tag = NULL;
	d[1].reported = desired;
	d[1].nreported = 1;
	d[2].config_known = 1;              /* drift: reported differs */
	d[2].reported = old;
	d[2].nreported = 2;
	d[2].configured = old;
	d[2].nconfigured = 2;
	run(d, 3);
	assert_int_equal(device(D1)->config, PLAN_CONFIG_PENDING);
	assert_int_equal(device(D2)->config, PLAN_CONFIG_TAG_ONLY);
	assert_int_equal(device(D3)->config, PLAN_CONFIG_UPDATE);
	assert_int_equal(device(D3)->changed_keys, 2);
	assert_int_equal(plan.config_pending, 1);
	assert_int_equal(plan.tag_only, 1);
	assert_int_equal(plan.config_updates, 1);
}

static void test_full_mode_deployed_but_not_applied(void **state)
{
	/* Mender holds the desired map and names a deployment of it; the device
	 * has not reported it yet: waiting, not to be deployed again. */
	struct plan_kv desired[] = { { "playbook_version", "1.5.0" } };
	struct plan_kv old[] = { { "playbook_version", "1.4.0" } };
	struct plan_facts d[] = { synced(D1, "pi3-v3-arm64", "pi3-img-2"),
				  synced(D2, "pi4-v3-arm64", "pi4-img-2") };

	(void)state;
	d[0].config_known = d[1].config_known = 1;
	d[0].configured = d[1].configured = desired;
	d[0].nconfigured = d[1].nconfigured = 1;
	d[0].reported = d[1].reported = old;
	d[0].nreported = d[1].nreported = 1;
	d[0].config_deployed = 1;        /* set and deployed */
	d[1].config_deployed = 0;        /* set, never deployed */
	run(d, 2);
	assert_int_equal(device(D1)->config, PLAN_CONFIG_PENDING);
	assert_true(device(D1)->config_verified);
	assert_int_equal(device(D2)->config, PLAN_CONFIG_UPDATE);
}

static void test_abort_takes_config_deployment_too(void **state)
{
	struct plan_deployment_fact deps[] = {
		{ "88888888-8888-4888-8888-888888888888", "configuration-8888", "", 1, 1, NULL },
		{ "99999999-9999-4999-8999-999999999999", "fleetgate:production@0000000:pi3-img-x",
		  "pi3-img-x", 0, 1, NULL },
	};
	struct plan_facts d[] = { synced(D1, "pi3-v3-arm64", "pi3-img-1") };

	(void)state;
	d[0].deployments = deps;
	d[0].ndeployments = 2;
	run(d, 1);
	assert_int_equal(device(D1)->naborts, 1);
	assert_int_equal(device(D1)->config, PLAN_CONFIG_UPDATE);
}

static void test_left_alone(void **state)
{
	struct fleet *main_view = load_fleet(fleet_yaml, D2, "subscribed_branch: main\n", NULL);
	struct branch_view both[] = { { "main", main_view, 1 }, { "production", fleet, 1 } };
	struct plan_facts d[] = { synced(D1, "pi3-v3-arm64", "pi3-img-1"),
				  synced(D2, "pi4-v3-arm64", "pi4-img-1"),
				  synced(D3, "pi3-v3-arm64", "pi3-img-1") };

	(void)state;
	d[0].status = "pending";
	input.views = both;
	input.nviews = 2;
	run(d, 3);
	assert_int_equal(device(D1)->kind, PLAN_NOT_ACCEPTED);
	assert_string_equal(device(D1)->note, "Mender has not accepted the device (status 'pending')");
	assert_int_equal(device(D2)->kind, PLAN_CONFLICT);
	assert_string_equal(device(D2)->note, "claimed by main and production: fix the subscription in git or tag the device in Mender");
	assert_int_equal(device(D4)->kind, PLAN_UNKNOWN);
	assert_string_equal(device(D4)->note, "devices/" D4 ".yaml is in git, but Mender has no such device (decommissioned, or a typo in the id?)");
	assert_int_equal(plan.nbatches, 1);
	assert_int_equal(plan.batches[0].ndevices, 1);
	assert_string_equal(plan.batches[0].devices[0], D3);
	assert_int_equal(plan.conflicts, 1);
	assert_int_equal(plan.not_accepted, 1);
	assert_int_equal(plan.unknown, 1);
	fleet_free(main_view);
}

static void test_other_branch_and_tags(void **state)
{
	struct branch_view both[] = { { "main", fleet, 1 }, { "production", fleet, 1 } };
	struct plan_facts d[] = { synced(D1, "pi3-v3-arm64", "pi3-img-1"),
				  synced(D3, "pi3-v3-arm64", "pi3-img-1") };

	(void)state;
	d[0].tag_branch = "main"; /* the dynamic group */
	input.views = both;
	input.nviews = 2;
	input.branch = "main";
	run(d, 2);
	assert_int_equal(plan.ndevices, 1);
	assert_string_equal(plan.devices[0].id, D1);
	assert_int_equal(plan.devices[0].source, SUB_TAG);
	assert_string_equal(plan.batches[0].name, "fleetgate:main@1a2b3c4:pi3-img-2");
}

static void test_idempotent_after_apply(void **state)
{
	/* What apply leaves behind: the deployment exists (active, not picked
	 * up), the digest tag is set, a configuration deployment is active. */
	struct plan_deployment_fact deps[] = {
		{ "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "fleetgate:production@1a2b3c4:pi3-img-2",
		  "pi3-img-2", 0, 1, NULL },
		{ "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb", "configuration-bbbb", "", 1, 1, NULL },
	};
	struct plan_facts d[] = { synced(D1, "pi3-v3-arm64", "pi3-img-1") };

	(void)state;
	d[0].deployments = deps;
	d[0].ndeployments = 2;
	run(d, 1);
	assert_int_equal(device(D1)->os, PLAN_OS_PENDING);
	assert_int_equal(device(D1)->config, PLAN_CONFIG_PENDING);
	assert_int_equal(plan.nbatches, 0);
	assert_int_equal(plan.config_updates + plan.aborts + plan.tag_only, 0);
}

static void test_reports_hide_secrets(void **state)
{
	struct plan_facts d[] = { synced(D4, "pi4-v3-arm64", "pi4-img-1") };
	struct fg_buf text = FG_BUF_INIT, json = FG_BUF_INIT;

	(void)state;
	run(d, 1);
	fg_buf_init(&text);
	fg_buf_init(&json);
	plan_report_text(&text, &plan, 0);
	plan_report_json(&json, &plan);
	assert_string_equal(text.ptr,
		"plan for production at 1a2b3c4\n"
		"  " D4 " (pi4-v3-arm64, default): os pi4-img-1 -> pi4-img-2; config update (2 keys)\n"
		"deployment fleetgate:production@1a2b3c4:pi4-img-2: 1 device\n"
		"production@1a2b3c4: 1 device managed: 1 OS update in 1 deployment, 0 pending, 0 failed, 0 without artifact; 1 configuration update, 0 pending\n");
	assert_non_null(strstr(json.ptr, "\"values\": {\"playbook_version\": \"1.5.0\", \"token\": \"***\"}"));
	assert_null(strstr(json.ptr, "t0k3n"));
	assert_null(strstr(text.ptr, "t0k3n"));
	assert_non_null(strstr(json.ptr, "\"deployments\": [\n  {\"name\": \"fleetgate:production@1a2b3c4:pi4-img-2\", \"artifact\": \"pi4-img-2\", \"devices\": [\"" D4 "\"]}]"));
	fg_buf_release(&text);
	fg_buf_release(&json);
}

static void test_digest_and_name(void **state)
{
	struct desired_kv a[] = { { "a", "1", 0 }, { "b", "true", 0 } };
	struct desired_kv b[] = { { "a", "1", 0 }, { "b", "True", 0 } };
	/* the same "key=value" lines, told apart by the lengths */
	struct desired_kv c[] = { { "a", "1\nb=true", 0 } };
	static const struct hmac_key other = { "another key, 32 bytes long....." };
	char x[HMAC_HEX_LEN + 1], y[HMAC_HEX_LEN + 1], z[HMAC_HEX_LEN + 1];
	char *name;

	(void)state;
	assert_int_equal(plan_config_digest(&key, a, 2, x), 0);
	assert_int_equal(plan_config_digest(&key, a, 2, y), 0);
	assert_string_equal(x, y);
	assert_int_equal(strlen(x), 64);
	assert_int_equal(plan_config_digest(&key, b, 2, z), 0);
	assert_string_not_equal(x, z);
	assert_int_equal(plan_config_digest(&key, c, 1, z), 0);
	assert_string_not_equal(x, z);
	/* keyed: another key, another digest */
	assert_int_equal(plan_config_digest(&other, a, 2, z), 0);
	assert_string_not_equal(x, z);
	/* HMAC-SHA256 of "1:a1:11:b4:true" under `key`, as openssl computes it:
	 * printf 1:a1:11:b4:true | openssl dgst -sha256 -mac HMAC -macopt hexkey:30...6500
	 * (the key's bytes in hex; its 32nd byte is the string's NUL) */
	assert_string_equal(x, "edcbec5f830addd08360e64922e91ae3bde9788119062f9b317dffb96bd22f01");
	name = plan_deployment_name("canary", COMMIT, "img");
	assert_string_equal(name, "fleetgate:canary@1a2b3c4:img");
	free(name);
	assert_true(plan_status_active("downloading"));
	assert_false(plan_status_active("success"));
	assert_false(plan_status_active(NULL));
}

/* Whether `s` is valid UTF-8 (enough for the names below: no
 * continuation byte without its lead byte). */
static int utf8_whole(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, k, len;

	for (i = 0; p[i]; i += len) {
		len = p[i] < 0x80 ? 1 : p[i] >= 0xf0 ? 4 : p[i] >= 0xe0 ? 3 : p[i] >= 0xc0 ? 2 : 0;
		if (!len)
			return 0;
		for (k = 1; k < len; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
	}
	return 1;
}

/* Names over 256 bytes: cut, hashed, deterministic, distinct. */
static void test_long_deployment_names(void **state)
{
	char branch[300], art[300], art2[300], *a, *b, *c, *d, *e, *g;
	size_t i;

	(void)state;
	/* a 200-byte branch and a 250-byte artifact of 'é's (2 bytes each) */
	memset(branch, 'b', 200);
	branch[200] = '\0';
	for (i = 0; i < 250; i += 2)
		memcpy(art + i, "\xc3\xa9", 2);
	art[250] = '\0';
	memcpy(art2, art, 251);
	art2[248] = 'x', art2[249] = 'y'; /* differs only at its end */
	a = plan_deployment_name("canary", COMMIT, art);
	b = plan_deployment_name("canary", COMMIT, art);
	c = plan_deployment_name("canary", COMMIT, art2);
	d = plan_deployment_name(branch, COMMIT, art);
	e = plan_deployment_name(branch, "9f8e7d6c5b4a", art);
	g = plan_deployment_name(branch, COMMIT, "img");
	assert_true(strlen(a) <= 256 && strlen(c) <= 256 && strlen(d) <= 256 && strlen(e) <= 256);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_string_not_equal(d, e);
	assert_true(utf8_whole(a) && utf8_whole(c) && utf8_whole(d));
	assert_true(!strncmp(a, "fleetgate:canary@1a2b3c4:\xc3\xa9", 27));
	/* '~' and 16 hex digits end a shortened name */
	assert_int_equal(a[strlen(a) - 17], '~');
	assert_int_equal(strspn(a + strlen(a) - 16, "0123456789abcdef"), 16);
	/* a long branch keeps 64 bytes of the artifact */
	assert_non_null(strstr(d, "@1a2b3c4:"));
	assert_int_equal(strlen(strstr(d, "@1a2b3c4:") + 9), 64 + 17);
	/* 200 + the rest fits: not shortened */
	assert_int_equal(strlen(g), 10 + 200 + 9 + 3);
	assert_int_equal(strchr(g, '~'), NULL);
	free(a);
	free(b);
	free(c);
	free(d);
	free(e);
	free(g);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_deployment_names),
		cmocka_unit_test_setup_teardown(test_everything_in_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_os_updates_batched_per_artifact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_deployment_is_left_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_deployment_not_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_of_older_commit_is_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_superseded_deployment_aborted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finished_part_is_not_superseded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback_aborts_pending_newer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_artifact_in_mender, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_image_for_type_configures_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_update_with_resolved_secret, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_digest_tag_differs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_digest_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_pending_and_full_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_mode_deployed_but_not_applied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_takes_config_deployment_too, setup, teardown),
		cmocka_unit_test_setup_teardown(test_left_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_branch_and_tags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idempotent_after_apply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reports_hide_secrets, setup, teardown),
		cmocka_unit_test(test_digest_and_name),
	};
	int failed;

	repo_global_init();
	failed = cmocka_run_group_tests_name("plan", tests, NULL, NULL);
	repo_global_shutdown();
	return failed;
}
