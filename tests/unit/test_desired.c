/*
 * Desired state (docs/design.md): subscription, artifact, configuration merge order,
 * string conversion, secrets, the tag policy, the two-branch conflict, and
 * free branches' claims against the stages'.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fleet/desired.h"
#include "fleetfixture.h"

#define PI3 "0b6c4f1e-7a2d-4e9b-b8c3-1f5a7d2e9c40"
#define PI4 "c8b1f4e2-6d3a-4c7b-9a2e-5b8d1f3c6a04"
#define VAR "64f1c2a9e3b5d7f0a1c2e4b6"

static const char base_fleet[] =
	"fleet: 1\n"
	"default_branch: production\n"
	"promotion: [main, canary, production]\n"
	"os_images:\n"
	"  pi3-v3-arm64: pi3-img-1\n"
	"  pi4-v3-arm64: pi4-img-1\n"
	"config:\n"
	"  playbook_version: \"1.5.0\"\n"
	"  price: 1.50\n"
	"  enabled: true\n"
	"  kiosk_url: https://example.com/fleet\n"
	"  level: 1\n"
	"roles:\n"
	"  kiosk:\n"
	"    kiosk_url: https://example.com/role-kiosk\n"
	"    level: 2\n"
	"  loud:\n"
	"    level: 3\n"
	"    volume: 11\n"
	"  runner:\n"
	"    token: Bearer ${secret:RUNNER_TOKEN}\n";

#define load load_fleet

static const char *config_of(const struct desired *d, const char *key)
{
	size_t i;

	for (i = 0; i < d->nconfig; i++)
		if (!strcmp(d->config[i].key, key))
			return d->config[i].value;
	return NULL;
}

static void test_default_subscription_and_artifact(void **state)
{
	struct fleet *f = load(base_fleet, NULL);
	struct branch_view views[] = { { "production", f, 1 } };
	struct device_facts facts = { PI3, "pi3-v3-arm64", NULL };
	struct desired d;

	(void)state;
	assert_int_equal(desired_compute(&d, views, 1, "production", &facts, NULL), 0);
	assert_int_equal(d.status, DESIRED_MANAGED);
	assert_string_equal(d.branch, "production");
	assert_int_equal(d.source, SUB_DEFAULT);
	assert_string_equal(d.artifact, "pi3-img-1");
	assert_false(d.artifact_from_device);
	desired_release(&d);
	fleet_free(f);
}

static void test_config_strings_as_written(void **state)
{
	struct fleet *f = load(base_fleet, NULL);
	struct branch_view views[] = { { "production", f, 1 } };
	struct device_facts facts = { PI3, "pi3-v3-arm64", NULL };
	struct desired d;

	(void)state;
	assert_int_equal(desired_compute(&d, views, 1, "production", &facts, NULL), 0);
	assert_string_equal(config_of(&d, "price"), "1.50");
	assert_string_equal(config_of(&d, "enabled"), "true");
	assert_string_equal(config_of(&d, "playbook_version"), "1.5.0");
	assert_string_equal(config_of(&d, "level"), "1");
	/* sorted by key */
	assert_string_equal(d.config[0].key, "enabled");
	assert_string_equal(d.config[d.nconfig - 1].key, "price");
	desired_release(&d);
	fleet_free(f);
}

static void test_merge_order_fleet_roles_device(void **state)
{
	struct fleet *f = load(base_fleet, PI3,
			       "roles: [kiosk, loud]\nconfig:\n  volume: 3\n", NULL);
	struct branch_view views[] = { { "production", f, 1 } };
	struct device_facts facts = { PI3, "pi3-v3-arm64", NULL };
	struct desired d;

	(void)state;
	assert_int_equal(desired_compute(&d, views, 1, "production", &facts, NULL), 0);
	assert_string_equal(config_of(&d, "kiosk_url"), "https://example.com/role-kiosk"); /* role over fleet */
	assert_string_equal(config_of(&d, "level"), "3");  /* later role wins */
	assert_string_equal(config_of(&d, "volume"), "3"); /* device wins over roles */
	assert_string_equal(config_of(&d, "price"), "1.50"); /* fleet key kept */
	assert_int_equal(d.nconfig, 6);
	desired_release(&d);
	fleet_free(f);
}

static void test_role_order_reversed(void **state)
{
	struct fleet *f = load(base_fleet, PI3, "roles: [loud, kiosk]\n", NULL);
	struct branch_view views[] = { { "production", f, 1 } };
	struct device_facts facts = { PI3, "pi3-v3-arm64", NULL };
	struct desired d;

	(void)state;
	assert_int_equal(desired_compute(&d, views, 1, "production", &facts, NULL), 0);
	assert_string_equal(config_of(&d, "level"), "2");
	desired_release(&d);
	fleet_free(f);
}

static void test_device_image_override(void **state)
{
	struct fleet *f = load(base_fleet, PI3, "os_images:\n  pi3-v3-arm64: pi3-img-special\n", NULL);
	struct branch_view views[] = { { "production", f, 1 } };
	struct device_facts facts = { PI3, "pi3-v3-arm64", NULL };
	struct desired d;

	(void)state;
	assert_int_equal(desired_compute(&d, views, 1, "production", &facts, NULL), 0);
	assert_string_equal(d.artifact, "pi3-img-special");
	assert_true(d.artifact_from_device);
	desired_release(&d);
	fleet_free(f);
}

static void test_override_for_other_type_ignored(void **state)
{
	struct fleet *f = load(base_fleet, PI3, "os_images:\n  pi4-v3-arm64: pi4-img-special\n", NULL);
	struct branch_view views[] = { { "production", f, 1 } };
	struct device_facts facts = { PI3, "pi3-v3-arm64", NULL };
	struct desired d;

	(void)state;
	assert_int_equal(desired_compute(&d, views, 1, "production", &facts, NULL), 0);
	assert_string_equal(d.artifact, "pi3-img-1");
	desired_release(&d);
	fleet_free(f);
}

static void test_no_image_for_type(void **state)
{
	struct fleet *f = load(base_fleet, NULL);
	struct branch_view views[] = { { "production", f, 1 } };
	struct device_facts facts = { VAR, "var-som-mx8m-nano", NULL };
	struct device_facts untyped = { VAR, NULL, NULL };
	struct desired d;

	(void)state;
	assert_int_equal(desired_compute(&d, views, 1, "production", &facts, NULL), 0);
	assert_int_equal(d.status, DESIRED_MANAGED);
	assert_null(d.artifact);
	assert_int_equal(d.nconfig, 5); /* configuration only */
	desired_release(&d);
	assert_int_equal(desired_compute(&d, views, 1, "production", &untyped, NULL), 0);
	assert_null(d.artifact);
	desired_release(&d);
	fleet_free(f);
}

static void test_file_subscription(void **state)
{
	struct fleet *f = load(base_fleet, PI3, "subscribed_branch: canary\n", NULL);
	struct branch_view views[] = { { "production", f, 1 }, { "canary", f, 1 } };
	struct device_facts facts = { PI3, "pi3-v3-arm64", NULL };
	struct desired d;

	(void)state;
	assert_int_equal(desired_compute(&d, views, 2, "production", &facts, NULL), 0);
	assert_int_equal(d.status, DESIRED_ELSEWHERE);
	assert_string_equal(d.branch, "canary");
	assert_int_equal(d.source, SUB_FILE);
	assert_null(d.artifact);
	desired_release(&d);
	assert_int_equal(desired_compute(&d, views, 2, "canary", &facts, NULL), 0);
	assert_int_equal(d.status, DESIRED_MANAGED);
	assert_int_equal(d.source, SUB_FILE);
	desired_release(&d);
	fleet_free(f);
}

static void test_dynamic_group_tag(void **state)
{
	/* A device with no file joins main through its Mender tag. */
	struct fleet *f = load(base_fleet, NULL);
	struct branch_view views[] = { { "main", f, 1 }, { "production", f, 1 } };
	struct device_facts facts = { VAR, "pi4-v3-arm64", "main" };
	struct desired d;

	(void)state;
	assert_int_equal(desired_compute(&d, views, 2, "main", &facts, NULL), 0);
	assert_int_equal(d.status, DESIRED_MANAGED);
	assert_int_equal(d.source, SUB_TAG);
	assert_string_equal(d.artifact, "pi4-img-1");
	desired_release(&d);
	assert_int_equal(desired_compute(&d, views, 2, "production", &facts, NULL), 0);
	assert_int_equal(d.status, DESIRED_ELSEWHERE);
	assert_string_equal(d.branch, "main");
	desired_release(&d);
	fleet_free(f);
}

static void test_tag_beats_file(void **state)
{
	struct fleet *f = load(base_fleet, PI3, "subscribed_branch: canary\n", NULL);
	struct branch_view views[] = { { "main", f, 1 }, { "canary", f, 1 } };
	struct device_facts facts = { PI3, "pi3-v3-arm64", "main" };
	struct desired d;

	(void)state;
	assert_int_equal(desired_compute(&d, views, 2, "main", &facts, NULL), 0);
	assert_int_equal(d.status, DESIRED_MANAGED);
	assert_int_equal(d.source, SUB_TAG);
	desired_release(&d);
	fleet_free(f);
}

static void test_tag_policy_restricts(void **state)
{
	static char *allowed[] = { "main", "canary" };
	struct tag_policy tags = { 1, allowed, 2 };
	struct fleet *f = load(base_fleet, NULL);
	struct branch_view views[] = { { "production", f, 1 } };
	struct device_facts facts = { VAR, "pi4-v3-arm64", "production-hotfix" };
	struct desired d;

	(void)state;
	assert_int_equal(desired_compute(&d, views, 1, "production", &facts, &tags), 0);
	assert_int_equal(d.status, DESIRED_MANAGED); /* tag ignored: default applies */
	assert_int_equal(d.source, SUB_DEFAULT);
	assert_string_equal(d.ignored_tag, "production-hotfix");
	desired_release(&d);
	fleet_free(f);
}

static void test_tags_turned_off(void **state)
{
	struct tag_policy off = { 1, NULL, 0 };
	struct fleet *f = load(base_fleet, NULL);
	struct branch_view views[] = { { "main", f, 1 }, { "production", f, 1 } };
	struct device_facts facts = { VAR, "pi4-v3-arm64", "main" };
	struct desired d;

	(void)state;
	assert_int_equal(desired_compute(&d, views, 2, "main", &facts, &off), 0);
	assert_int_equal(d.status, DESIRED_ELSEWHERE);
	assert_string_equal(d.branch, "production");
	assert_string_equal(d.ignored_tag, "main");
	desired_release(&d);
	fleet_free(f);
}

static void test_two_branch_conflict(void **state)
{
	/* main's file says main; production's view has no file: its default
	 * says production. Both claim the device. */
	struct fleet *main_view = load(base_fleet, PI4, "subscribed_branch: main\n", NULL);
	struct fleet *prod_view = load(base_fleet, NULL);
	struct branch_view views[] = { { "main", main_view, 1 }, { "production", prod_view, 1 } };
	struct device_facts facts = { PI4, "pi4-v3-arm64", NULL };
	struct desired d;

	(void)state;
	assert_int_equal(desired_compute(&d, views, 2, "main", &facts, NULL), 0);
	assert_int_equal(d.status, DESIRED_CONFLICT);
	assert_int_equal(d.nclaimants, 2);
	assert_string_equal(d.claimants[0], "main");
	assert_string_equal(d.claimants[1], "production");
	assert_null(d.artifact);
	desired_release(&d);
	assert_int_equal(desired_compute(&d, views, 2, "production", &facts, NULL), 0);
	assert_int_equal(d.status, DESIRED_CONFLICT);
	desired_release(&d);
	fleet_free(main_view);
	fleet_free(prod_view);
}

static void test_tag_resolves_conflict(void **state)
{
	struct fleet *main_view = load(base_fleet, PI4, "subscribed_branch: main\n", NULL);
	struct fleet *prod_view = load(base_fleet, NULL);
	struct branch_view views[] = { { "main", main_view, 1 }, { "production", prod_view, 1 } };
	struct device_facts facts = { PI4, "pi4-v3-arm64", "production" };
	struct desired d;

	(void)state;
	assert_int_equal(desired_compute(&d, views, 2, "production", &facts, NULL), 0);
	assert_int_equal(d.status, DESIRED_MANAGED);
	desired_release(&d);
	assert_int_equal(desired_compute(&d, views, 2, "main", &facts, NULL), 0);
	assert_int_equal(d.status, DESIRED_ELSEWHERE);
	desired_release(&d);
	fleet_free(main_view);
	fleet_free(prod_view);
}

static void test_agreeing_views_no_conflict(void **state)
{
	/* Once main's change reaches production, both views say main. */
	struct fleet *main_view = load(base_fleet, PI4, "subscribed_branch: main\n", NULL);
	struct fleet *prod_view = load(base_fleet, PI4, "subscribed_branch: main\n", NULL);
	struct branch_view views[] = { { "main", main_view, 1 }, { "production", prod_view, 1 } };
	struct device_facts facts = { PI4, "pi4-v3-arm64", NULL };
	struct desired d;

	(void)state;
	assert_int_equal(desired_compute(&d, views, 2, "main", &facts, NULL), 0);
	assert_int_equal(d.status, DESIRED_MANAGED);
	assert_int_equal(d.nclaimants, 1);
	desired_release(&d);
	fleet_free(main_view);
	fleet_free(prod_view);
}

static void test_unsubscribed(void **state)
{
	struct fleet *f = load("fleet: 1\n", NULL);
	struct branch_view views[] = { { "main", f, 1 } };
	struct device_facts facts = { VAR, "pi4-v3-arm64", NULL };
	struct desired d;

	(void)state;
	assert_int_equal(desired_compute(&d, views, 1, "main", &facts, NULL), 0);
	assert_int_equal(d.status, DESIRED_UNSUBSCRIBED);
	assert_int_equal(d.source, SUB_NONE);
	desired_release(&d);
	assert_int_equal(desired_compute(&d, views, 1, "other", &facts, NULL), FG_EINVAL);
	desired_release(&d);
	fleet_free(f);
}

static const char *lookup(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, "RUNNER_TOKEN") ? NULL : "s3cr3t";
}

static const char *lookup_none(void *ctx, const char *name)
{
	(void)ctx;
	(void)name;
	return NULL;
}

static void test_secrets(void **state)
{
	struct fleet *f = load(base_fleet, PI4, "roles: [runner]\n", NULL);
	struct branch_view views[] = { { "production", f, 1 } };
	struct device_facts facts = { PI4, "pi4-v3-arm64", NULL };
	struct desired d;
	char *missing = NULL;

	(void)state;
	assert_int_equal(desired_compute(&d, views, 1, "production", &facts, NULL), 0);
	assert_string_equal(config_of(&d, "token"), "Bearer ${secret:RUNNER_TOKEN}");
	assert_int_equal(desired_resolve_secrets(&d, lookup_none, NULL, &missing), FG_ENOTFOUND);
	assert_string_equal(missing, "RUNNER_TOKEN");
	assert_string_equal(config_of(&d, "token"), "Bearer ${secret:RUNNER_TOKEN}");
	free(missing);
	assert_int_equal(desired_resolve_secrets(&d, lookup, NULL, &missing), 0);
	assert_null(missing);
	assert_string_equal(config_of(&d, "token"), "Bearer s3cr3t");
	assert_string_equal(config_of(&d, "price"), "1.50");
	desired_release(&d);
	fleet_free(f);
}

/* ${os_image}: the device's desired artifact, its own or the fleet's, ""
 * without one; a secret it names stays one. */
static void test_os_image_ref(void **state)
{
	struct fleet *f = load("fleet: 1\n"
			       "default_branch: production\n"
			       "os_images: { pi3-v3-arm64: pi3-img-1, pi4-v3-arm64: pi4-img-1 }\n"
			       "config:\n"
			       "  expected_os_image: ${os_image}\n"
			       "  both: \"${os_image}/${os_image}\"\n"
			       "  plain: os_image\n",
			       PI4, "os_images: { pi4-v3-arm64: pi4-own }\n", NULL);
	struct branch_view views[] = { { "production", f, 1 } };
	struct device_facts pi4 = { PI4, "pi4-v3-arm64", NULL };
	struct device_facts pi3 = { PI3, "pi3-v3-arm64", NULL };
	struct device_facts other = { PI3, "x86-64", NULL };
	struct desired d;

	(void)state;
	assert_int_equal(desired_compute(&d, views, 1, "production", &pi4, NULL), 0);
	assert_string_equal(config_of(&d, "expected_os_image"), "pi4-own");
	assert_string_equal(config_of(&d, "both"), "pi4-own/pi4-own");
	assert_string_equal(config_of(&d, "plain"), "os_image");
	desired_release(&d);
	assert_int_equal(desired_compute(&d, views, 1, "production", &pi3, NULL), 0);
	assert_string_equal(config_of(&d, "expected_os_image"), "pi3-img-1");
	assert_int_equal(d.config[0].secret, 0);
	desired_release(&d);
	assert_int_equal(desired_compute(&d, views, 1, "production", &other, NULL), 0);
	assert_null(d.artifact);
	assert_string_equal(config_of(&d, "expected_os_image"), "");
	assert_string_equal(config_of(&d, "both"), "/");
	desired_release(&d);
	fleet_free(f);
}

static const char evil_fleet[] =
	"fleet: 1\n"
	"default_branch: evil\n"
	"os_images:\n"
	"  pi4-v3-arm64: evil-img\n";

static void test_free_default_claims_nothing(void **state)
{
	/* A free branch whose default_branch names itself: no device is its,
	 * alone or beside the stages. */
	struct fleet *evil = load(evil_fleet, NULL);
	struct fleet *prod = load(base_fleet, NULL);
	struct branch_view alone[] = { { "evil", evil, 0 } };
	struct branch_view views[] = { { "production", prod, 1 }, { "evil", evil, 0 } };
	struct device_facts facts = { PI4, "pi4-v3-arm64", NULL };
	struct desired d;

	(void)state;
	assert_int_equal(desired_compute(&d, alone, 1, "evil", &facts, NULL), 0);
	assert_int_equal(d.status, DESIRED_NOT_CLAIMED);
	assert_int_equal(d.nclaimants, 0);
	assert_null(d.artifact);
	desired_release(&d);
	assert_int_equal(desired_compute(&d, views, 2, "evil", &facts, NULL), 0);
	assert_int_equal(d.status, DESIRED_NOT_CLAIMED);
	desired_release(&d);
	/* ... and production keeps the device, no conflict */
	assert_int_equal(desired_compute(&d, views, 2, "production", &facts, NULL), 0);
	assert_int_equal(d.status, DESIRED_MANAGED);
	assert_int_equal(d.nclaimants, 1);
	assert_string_equal(d.claimants[0], "production");
	assert_string_equal(d.artifact, "pi4-img-1");
	desired_release(&d);
	/* the same fleet on a stage does claim by default */
	alone[0].stage = 1;
	assert_int_equal(desired_compute(&d, alone, 1, "evil", &facts, NULL), 0);
	assert_int_equal(d.status, DESIRED_MANAGED);
	assert_string_equal(d.artifact, "evil-img");
	desired_release(&d);
	fleet_free(evil);
	fleet_free(prod);
}

static void test_stage_claim_beats_free_file(void **state)
{
	/* The free branch's device file says evil; production's default says
	 * production: production's, and no conflict. */
	struct fleet *evil = load(base_fleet, PI4, "subscribed_branch: evil\n", NULL);
	struct fleet *prod = load(base_fleet, NULL);
	struct branch_view views[] = { { "evil", evil, 0 }, { "production", prod, 1 } };
	struct device_facts facts = { PI4, "pi4-v3-arm64", NULL };
	struct desired d;

	(void)state;
	assert_int_equal(desired_compute(&d, views, 2, "evil", &facts, NULL), 0);
	assert_int_equal(d.status, DESIRED_NOT_CLAIMED);
	assert_int_equal(d.nclaimants, 1);
	assert_string_equal(d.claimants[0], "production");
	desired_release(&d);
	assert_int_equal(desired_compute(&d, views, 2, "production", &facts, NULL), 0);
	assert_int_equal(d.status, DESIRED_MANAGED);
	desired_release(&d);
	fleet_free(evil);
	fleet_free(prod);
}

static void test_free_branch_by_file_or_tag(void **state)
{
	/* A device follows a free branch when no stage claims it: its file
	 * says so in every view, or its Mender tag does. */
	struct fleet *dev = load(base_fleet, PI4, "subscribed_branch: develop\n", NULL);
	struct fleet *prod = load(base_fleet, PI4, "subscribed_branch: develop\n", NULL);
	struct fleet *plain = load(base_fleet, NULL);
	struct branch_view by_file[] = { { "develop", dev, 0 }, { "production", prod, 1 } };
	struct branch_view by_tag[] = { { "develop", plain, 0 }, { "production", plain, 1 } };
	struct device_facts facts = { PI4, "pi4-v3-arm64", NULL };
	struct device_facts tagged = { PI4, "pi4-v3-arm64", "develop" };
	struct desired d;

	(void)state;
	assert_int_equal(desired_compute(&d, by_file, 2, "develop", &facts, NULL), 0);
	assert_int_equal(d.status, DESIRED_MANAGED);
	assert_int_equal(d.source, SUB_FILE);
	desired_release(&d);
	assert_int_equal(desired_compute(&d, by_tag, 2, "develop", &tagged, NULL), 0);
	assert_int_equal(d.status, DESIRED_MANAGED);
	assert_int_equal(d.source, SUB_TAG);
	desired_release(&d);
	assert_int_equal(desired_compute(&d, by_tag, 2, "production", &tagged, NULL), 0);
	assert_int_equal(d.status, DESIRED_ELSEWHERE);
	desired_release(&d);
	fleet_free(dev);
	fleet_free(prod);
	fleet_free(plain);
}

static void test_free_branches_conflict_among_themselves(void **state)
{
	/* Two free branches whose files both claim the device, no stage: a
	 * conflict between them, as between stages. */
	struct fleet *a = load(base_fleet, PI4, "subscribed_branch: a\n", NULL);
	struct fleet *b = load(base_fleet, PI4, "subscribed_branch: b\n", NULL);
	struct fleet *prod = load(base_fleet, PI4, "subscribed_branch: a\n", NULL);
	struct branch_view views[] = { { "a", a, 0 }, { "b", b, 0 }, { "production", prod, 1 } };
	struct device_facts facts = { PI4, "pi4-v3-arm64", NULL };
	struct desired d;

	(void)state;
	assert_int_equal(desired_compute(&d, views, 3, "a", &facts, NULL), 0);
	assert_int_equal(d.status, DESIRED_CONFLICT);
	assert_int_equal(d.nclaimants, 2);
	assert_string_equal(d.claimants[0], "a");
	assert_string_equal(d.claimants[1], "b");
	desired_release(&d);
	fleet_free(a);
	fleet_free(b);
	fleet_free(prod);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_subscription_and_artifact),
		cmocka_unit_test(test_config_strings_as_written),
		cmocka_unit_test(test_merge_order_fleet_roles_device),
		cmocka_unit_test(test_role_order_reversed),
		cmocka_unit_test(test_device_image_override),
		cmocka_unit_test(test_override_for_other_type_ignored),
		cmocka_unit_test(test_no_image_for_type),
		cmocka_unit_test(test_file_subscription),
		cmocka_unit_test(test_dynamic_group_tag),
		cmocka_unit_test(test_tag_beats_file),
		cmocka_unit_test(test_tag_policy_restricts),
		cmocka_unit_test(test_tags_turned_off),
		cmocka_unit_test(test_two_branch_conflict),
		cmocka_unit_test(test_tag_resolves_conflict),
		cmocka_unit_test(test_agreeing_views_no_conflict),
		cmocka_unit_test(test_unsubscribed),
		cmocka_unit_test(test_secrets),
		cmocka_unit_test(test_os_image_ref),
		cmocka_unit_test(test_free_default_claims_nothing),
		cmocka_unit_test(test_stage_claim_beats_free_file),
		cmocka_unit_test(test_free_branch_by_file_or_tag),
		cmocka_unit_test(test_free_branches_conflict_among_themselves),
	};
	int failed;

	failed = cmocka_run_group_tests_name("desired", tests, NULL, NULL);
	return failed;
}
