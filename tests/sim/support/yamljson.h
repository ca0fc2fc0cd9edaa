#ifndef SIMTEST_YAMLJSON_H
#define SIMTEST_YAMLJSON_H

/*
 * Load a YAML document (an OpenAPI description) into a cJSON tree, with
 * libyaml's event API so that nesting depth is bounded. Plain scalars get
 * YAML 1.2 core types (true/false, null, integers, floats); quoted ones stay
 * strings. Aliases are refused (the Mender documents use none).
 */

#include <cjson/cJSON.h>
#include <stddef.h>

/*
 * Returns the tree (cJSON_Delete it) or NULL with a malloc'd message in
 * `*err` (free it) naming line and column.
 */
cJSON *yamljson_load(const char *buf, size_t len, char **err);

#endif
