#include "mender/json.h"

#include "core/alloc.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

int json_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < len) {
		k = utf8_seq(p + i, len - i);
		if (!k)
			return 0;
		i += k;
	}
	return 1;
}

/* Append `s`, invalid UTF-8 bytes replaced by U+FFFD. */
void json_put_utf8(struct fg_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, k;

	while (i < n) {
		k = utf8_seq(p + i, n - i);
		if (k) {
			fg_buf_put(b, p + i, k);
			i += k;
		} else {
			fg_buf_puts(b, "\xef\xbf\xbd");
			i++;
		}
	}
}

char *json_utf8_dup(const char *s)
{
	struct fg_buf b;

	fg_buf_init(&b);
	json_put_utf8(&b, s);
	return fg_buf_detach(&b);
}

/* ---- JSON values ---- */

static void put_number(struct fg_buf *b, double d)
{
	char tmp[64];
	int prec;

	if (d == floor(d) && fabs(d) < 9007199254740992.0) {
		fg_buf_printf(b, "%.0f", d);
		return;
	}
	for (prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	fg_buf_puts(b, tmp);
}

static void put_json(struct fg_buf *b, const cJSON *v)
{
	const cJSON *e;
	struct fg_buf s;

	if (cJSON_IsString(v)) {
		fg_buf_init(&s);
		json_put_utf8(&s, v->valuestring);
		fg_buf_put_json_string(b, s.ptr);
		fg_buf_release(&s);
	} else if (cJSON_IsNumber(v)) {
		put_number(b, v->valuedouble);
	} else if (cJSON_IsBool(v)) {
		fg_buf_puts(b, cJSON_IsTrue(v) ? "true" : "false");
	} else if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
		int obj = cJSON_IsObject(v);

		fg_buf_putc(b, obj ? '{' : '[');
		cJSON_ArrayForEach(e, v) {
			if (e != v->child)
				fg_buf_putc(b, ',');
			if (obj) {
				fg_buf_init(&s);
				json_put_utf8(&s, e->string ? e->string : "");
				fg_buf_put_json_string(b, s.ptr);
				fg_buf_release(&s);
				fg_buf_putc(b, ':');
			}
			put_json(b, e);
		}
		fg_buf_putc(b, obj ? '}' : ']');
	} else {
		fg_buf_puts(b, "null");
	}
}

/* An attribute value as a string (see mender.h). */
char *json_render(const cJSON *v)
{
	struct fg_buf b;

	fg_buf_init(&b);
	if (cJSON_IsString(v))
		json_put_utf8(&b, v->valuestring);
	else if (cJSON_IsNumber(v))
		put_number(&b, v->valuedouble);
	else if (cJSON_IsBool(v))
		fg_buf_puts(&b, cJSON_IsTrue(v) ? "true" : "false");
	else if (!cJSON_IsNull(v) && v)
		put_json(&b, v);
	return fg_buf_detach(&b);
}

/* Parse exactly one JSON document from [s, s+len); NULL if not JSON or
 * followed by anything but whitespace. */
cJSON *json_parse_exact(const char *s, size_t len, size_t *bad_at)
{
	const char *end = NULL;
	cJSON *j;

	j = cJSON_ParseWithLengthOpts(s, len, &end, 0);
	if (!j) {
		*bad_at = end && end >= s ? (size_t)(end - s) : 0;
		return NULL;
	}
	while (end < s + len && isspace((unsigned char)*end))
		end++;
	if (end != s + len) {
		*bad_at = (size_t)(end - s);
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

const cJSON *json_field(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* A string member, valid UTF-8, malloc'd; `def` (may be NULL) when absent. */
char *json_str(const cJSON *obj, const char *key, const char *def)
{
	const cJSON *v = json_field(obj, key);

	if (cJSON_IsString(v))
		return json_utf8_dup(v->valuestring);
	return def ? fg_strdup(def) : NULL;
}

long long json_int(const cJSON *obj, const char *key)
{
	const cJSON *v = json_field(obj, key);

	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 9007199254740992.0)
		return (long long)v->valuedouble;
	return -1;
}
