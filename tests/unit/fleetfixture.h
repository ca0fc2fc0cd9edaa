/*
 * Test helper: build a fleet from fleet.yaml text and device files held in
 * memory. Include after <cmocka.h>. Header-only.
 */
#ifndef FLEETGATE_TEST_FLEETFIXTURE_H
#define FLEETGATE_TEST_FLEETFIXTURE_H

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fleet/fleet.h"
#include "memsource.h"

/* load_fleet(fleet_yaml, id1, yaml1, id2, yaml2, ..., NULL); asserts the
 * fleet is valid. */
static struct fleet *load_fleet(const char *fleet_yaml, ...)
{
	struct source src;
	struct fleet *f = NULL;
	struct diags d;
	const char *id;
	va_list ap;

	mem_source_init(&src);
	mem_add(src.ctx, "fleet.yaml", fleet_yaml, strlen(fleet_yaml), SOURCE_FILE);
	va_start(ap, fleet_yaml);
	while ((id = va_arg(ap, const char *))) {
		const char *yaml = va_arg(ap, const char *);
		char *path = fg_asprintf("devices/%s.yaml", id);

		mem_add(src.ctx, path, yaml, strlen(yaml), SOURCE_FILE);
		free(path);
	}
	va_end(ap);
	diags_init(&d);
	assert_int_equal(fleet_load(&f, &src, NULL, &d), 0);
	if (d.errors) {
		struct fg_buf b = FG_BUF_INIT;

		fg_buf_init(&b);
		diags_format_text(&d, &b);
		print_error("%s", b.ptr);
		fg_buf_release(&b);
	}
	assert_int_equal(d.errors, 0);
	diags_release(&d);
	source_release(&src);
	return f;
}

#endif
