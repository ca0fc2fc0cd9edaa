#ifndef FLEETGATE_MENDER_JSON_H
#define FLEETGATE_MENDER_JSON_H

#include "core/buf.h"

#include <cjson/cJSON.h>

#include <stddef.h>

/*
 * The mender layer's adapter of cJSON and its UTF-8 repair: what Mender
 * sends is read through these, so that every string taken from it is valid
 * UTF-8 (invalid bytes become U+FFFD), every document is read with its
 * length and nothing but whitespace after it, and keys are looked up
 * case-sensitively. Only this file's .c and parse.c include cJSON.
 */

/* Whether `s` is valid UTF-8 (no overlongs, no surrogates). */
int json_utf8_valid(const char *s, size_t len);

/* A malloc'd copy of the C string `s`, invalid UTF-8 bytes as U+FFFD. */
char *json_utf8_dup(const char *s);

/* Append the C string `s` to `b`, invalid UTF-8 bytes as U+FFFD. */
void json_put_utf8(struct fg_buf *b, const char *s);

/* Exactly one JSON document from [s, s+len), or NULL with *bad_at the
 * byte where it went wrong (trailing garbage included). The caller frees
 * it with cJSON_Delete(). */
cJSON *json_parse_exact(const char *s, size_t len, size_t *bad_at);

/* A value as fleetgate keeps an attribute (see mender.h, struct
 * mender_attr): malloc'd, "" for null or absent. */
char *json_render(const cJSON *v);

/* Member `key` of an object (case-sensitive), or NULL. */
const cJSON *json_field(const cJSON *obj, const char *key);

/* A string member as valid UTF-8, malloc'd; a copy of `def` (NULL: NULL)
 * when absent or not a string. */
char *json_str(const cJSON *obj, const char *key, const char *def);

/* A non-negative integer member below 2^53, else -1. */
long long json_int(const cJSON *obj, const char *key);

#endif
