/*
 * One branch's view of facts read for several (facts_view): the active
 * deployments go to every branch, one found by name only to the branch
 * whose name it has, and each branch reads its own OS attribute.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "deploy/facts.h"

#define DEV_A "0b6c4f1e-7a2d-4e9b-b8c3-1f5a7d2e9c40"
#define DEV_B "a3e9d7c1-4b2f-4f6a-9e8d-7c1b5a3f2e90"
#define NAME_MAIN "fleetgate:main@1111111:os-2"
#define NAME_PROD "fleetgate:production@2222222:os-1"

static void add_device(struct mender_device_list *l, const char *id, const char *rootfs,
		       const char *custom)
{
	struct mender_device *d;

	l->items = fg_realloc(l->items, (l->n + 1) * sizeof(*l->items));
	d = &l->items[l->n++];
	d->id = fg_strdup(id);
	d->nattrs = 3;
	d->attrs = fg_calloc(3, sizeof(*d->attrs));
	d->attrs[0] = (struct mender_attr){ "inventory", "device_type", fg_strdup("pi3") };
	d->attrs[1] = (struct mender_attr){ "inventory", "rootfs-image.version", fg_strdup(rootfs) };
	d->attrs[2] = (struct mender_attr){ "inventory", "custom.os", fg_strdup(custom) };
}

static void add_deployment(struct facts *f, const char *id, const char *name, const char *status,
			   const char *device, const char *device_status)
{
	struct mender_deployment *d;
	struct mender_device_status_list *s;

	f->deployments.items =
		fg_realloc(f->deployments.items, (f->deployments.n + 1) * sizeof(*f->deployments.items));
	d = &f->deployments.items[f->deployments.n];
	memset(d, 0, sizeof(*d));
	d->id = fg_strdup(id);
	d->name = fg_strdup(name);
	d->artifact_name = fg_strdup(strrchr(name, ':') + 1);
	d->type = fg_strdup("software");
	d->status = fg_strdup(status);
	d->devices = fg_calloc(1, sizeof(char *));
	d->devices[0] = fg_strdup(device);
	d->ndevices = 1;
	f->statuses = fg_realloc(f->statuses, (f->deployments.n + 1) * sizeof(*f->statuses));
	s = &f->statuses[f->deployments.n++];
	mender_device_status_list_init(s);
	s->items = fg_calloc(1, sizeof(*s->items));
	s->items[0].device_id = fg_strdup(device);
	s->items[0].status = fg_strdup(device_status);
	s->n = 1;
}

/* Read for main and production: one active deployment (listed), then
 * one found by each branch's name, both finished. */
static int setup(void **state)
{
	struct facts *f = fg_calloc(1, sizeof(*f));

	add_device(&f->devices, DEV_A, "os-1", "custom-1");
	add_device(&f->devices, DEV_B, "os-1", "custom-2");
	add_deployment(f, "dep-active", "fleetgate:canary@3333333:os-3", "inprogress", DEV_B,
		       "downloading");
	f->nlisted = 1;
	add_deployment(f, "dep-main", NAME_MAIN, "finished", DEV_A, "failure");
	add_deployment(f, "dep-prod", NAME_PROD, "finished", DEV_A, "success");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	facts_release(*state);
	free(*state);
	return 0;
}

static const struct plan_facts *device(const struct facts *f, const char *id)
{
	size_t i;

	for (i = 0; i < f->nplan; i++)
		if (!strcmp(f->plan[i].id, id))
			return &f->plan[i];
	fail_msg("no device %s", id);
	return NULL;
}

static void test_found_by_name_is_its_branchs_only(void **state)
{
	struct facts *f = *state;
	const char *main_names[] = { NAME_MAIN };
	const char *prod_names[] = { NAME_PROD };
	struct facts_view_request main_view = { "rootfs-image.version", main_names, 1 };
	struct facts_view_request prod_view = { "custom.os", prod_names, 1 };
	const struct plan_facts *a, *b;

	facts_view(f, &main_view);
	a = device(f, DEV_A);
	assert_int_equal(a->ndeployments, 1);
	assert_string_equal(a->deployments[0].id, "dep-main");
	assert_string_equal(a->deployments[0].device_status, "failure");
	assert_false(a->deployments[0].active);
	assert_string_equal(a->installed, "os-1");
	b = device(f, DEV_B);
	assert_int_equal(b->ndeployments, 1);
	assert_string_equal(b->deployments[0].id, "dep-active");
	assert_true(b->deployments[0].active);
	assert_int_equal(f->nplan_active, 1);
	assert_string_equal(f->plan_active[0].id, "dep-active");
	assert_string_equal(f->plan_active[0].statuses[0], "downloading");

	/* the same facts, production's view: its own name, its attribute */
	facts_view(f, &prod_view);
	a = device(f, DEV_A);
	assert_int_equal(a->ndeployments, 1);
	assert_string_equal(a->deployments[0].id, "dep-prod");
	assert_string_equal(a->deployments[0].device_status, "success");
	assert_string_equal(a->installed, "custom-1");
	assert_string_equal(device(f, DEV_B)->installed, "custom-2");
	assert_int_equal(device(f, DEV_B)->ndeployments, 1);
	assert_int_equal(f->nplan_active, 1);
}

static void test_no_names_sees_the_active_only(void **state)
{
	struct facts *f = *state;
	struct facts_view_request none = { "rootfs-image.version", NULL, 0 };

	facts_view(f, &none);
	assert_int_equal(device(f, DEV_A)->ndeployments, 0);
	assert_int_equal(device(f, DEV_B)->ndeployments, 1);
	assert_int_equal(f->nplan_active, 1);
	assert_int_equal(f->nplan, 2);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_found_by_name_is_its_branchs_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_names_sees_the_active_only, setup, teardown),
	};

	return cmocka_run_group_tests_name("facts", tests, NULL, NULL);
}
