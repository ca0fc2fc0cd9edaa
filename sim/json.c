#include "json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void *json_malloc(size_t n)
{
	return sim_xmalloc(n);
}

void sim_json_init(void)
{
	cJSON_Hooks hooks = { json_malloc, free };

	cJSON_InitHooks(&hooks);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Objects with two members of the same name are refused: other parsers keep
 * the last one where cJSON keeps both, so the two would read different data. */
static bool object_has_duplicates(const cJSON *obj)
{
	const cJSON *a, *b;
	const char **names;
	size_t n = 0, i;
	bool dup = false;

	for (a = obj->child; a; a = a->next)
		n++;
	if (n <= 16) {
		for (a = obj->child; a; a = a->next)
			for (b = a->next; b; b = b->next)
				if (!strcmp(a->string, b->string))
					return true;
		return false;
	}
	names = sim_xmalloc(n * sizeof(*names));
	for (i = 0, a = obj->child; a; a = a->next)
		names[i++] = a->string;
	qsort(names, n, sizeof(*names), cmp_names);
	for (i = 1; i < n && !dup; i++)
		dup = !strcmp(names[i - 1], names[i]);
	free(names);
	return dup;
}

static bool has_duplicate_keys(const cJSON *v)
{
	const cJSON *a;

	if (cJSON_IsObject(v) && object_has_duplicates(v))
		return true;
	if (cJSON_IsObject(v) || cJSON_IsArray(v))
		for (a = v->child; a; a = a->next)
			if (has_duplicate_keys(a))
				return true;
	return false;
}

cJSON *sim_json_parse(const char *buf, size_t len, const char **err)
{
	const char *end = NULL;
	cJSON *v;
	size_t i;

	if (!len) {
		*err = "empty body";
		return NULL;
	}
	v = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
	if (!v) {
		*err = "malformed JSON";
		return NULL;
	}
	for (i = (size_t)(end - buf); i < len; i++) {
		if (!strchr(" \t\r\n", buf[i])) {
			cJSON_Delete(v);
			*err = "trailing data after the JSON value";
			return NULL;
		}
	}
	/* cJSON limits nesting to 1000 levels, which bounds the recursion. */
	if (has_duplicate_keys(v)) {
		cJSON_Delete(v);
		*err = "duplicate key in a JSON object";
		return NULL;
	}
	return v;
}

char *sim_json_print(const cJSON *v)
{
	char *s = cJSON_PrintUnformatted(v);

	if (!s)
		abort();
	return s;
}

cJSON *sim_json_get(const cJSON *obj, const char *key)
{
	if (!cJSON_IsObject(obj))
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* gcc -fanalyzer: cJSON_IsString() is false for NULL, which the analyzer
 * cannot see in the shared library */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-null-dereference"
#endif
const char *sim_json_get_string(const cJSON *obj, const char *key)
{
	cJSON *v = sim_json_get(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

bool sim_json_is_int(const cJSON *v, double min, double max)
{
	double d;

	if (!cJSON_IsNumber(v))
		return false;
	d = v->valuedouble;
	return isfinite(d) && floor(d) == d && d >= min && d <= max;
}

bool sim_json_equal(const cJSON *a, const cJSON *b)
{
	return cJSON_Compare(a, b, 1);
}
