#ifndef SIM_JSON_H
#define SIM_JSON_H

/*
 * The stand-in's adapter to cJSON. The handlers build their answers as cJSON
 * trees, so this header exposes cJSON's types; parsing and printing go
 * through the functions below only, which apply the project's JSON rules
 * (CONTRIBUTING.md): one value and nothing but whitespace after it,
 * duplicate keys refused, case-sensitive lookups, allocation failure aborts.
 */

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* Install allocation hooks; call once from main before any thread starts. */
void sim_json_init(void);

/*
 * Parse buf[0..len) (need not be NUL-terminated) as exactly one JSON value.
 * Returns the tree (free with cJSON_Delete) or NULL with `*err` pointing at a
 * static description.
 */
cJSON *sim_json_parse(const char *buf, size_t len, const char **err);

/* Compact text of `v`; free() the result. */
char *sim_json_print(const cJSON *v);

/* The member `key` of object `obj` (case-sensitive), or NULL. */
cJSON *sim_json_get(const cJSON *obj, const char *key);
/* The member `key` when it is a string, else NULL. */
const char *sim_json_get_string(const cJSON *obj, const char *key);

/* True when `v` is a number holding an integer in [min, max]. */
bool sim_json_is_int(const cJSON *v, double min, double max);

/* Deep equality of two JSON values (numbers by value). */
bool sim_json_equal(const cJSON *a, const cJSON *b);

#endif
