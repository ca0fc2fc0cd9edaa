#include "openapi.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "yamljson.h"

#define DOC_MAX (16u << 20)
#define REF_DEPTH_MAX 32
#define SCHEMA_DEPTH_MAX 64

struct openapi {
	cJSON *root;
	bool official; /* Mender's own document: the deviations below apply */
};

/*
 * Where Mender v4.1.3 answers differently from its own OpenAPI description
 * (read from the server's code). The stand-in follows the server; judged
 * against Mender's documents, the checker accepts exactly these differences
 * and nothing else. The project's contract states them as facts.
 */
enum deviation_kind { DEV_STATUS, DEV_NO_HEADER, DEV_MEDIA, DEV_EMPTY_OBJECT };

struct deviation {
	const char *method; /* NULL: any */
	const char *tmpl;   /* NULL: any */
	long status;
	enum deviation_kind kind;
	const char *header;
	const char *why;
};

static const struct deviation deviations[] = {
	{ "GET", "/api/management/v1/deployments/deployments/{id}", 400, DEV_STATUS, NULL,
	  "the server: a non-UUID id gets 400 \"ID is not a valid UUID\"" },
	{ "GET", "/api/management/v1/deployments/deployments/{deployment_id}/statistics", 400,
	  DEV_STATUS, NULL, "api_deployments.go GetDeploymentStats: non-UUID id -> 400" },
	{ "GET", "/api/management/v1/deployments/deployments/{deployment_id}/devices/list", 400,
	  DEV_STATUS, NULL,
	  "api_deployments.go GetDevicesListForDeployment: non-UUID id, paging, status -> 400" },
	{ "GET", "/api/management/v1/deployments/deployments/devices/{id}", 400, DEV_STATUS, NULL,
	  "the server: per_page above 20 (or a bad status filter) -> 400" },
	{ "POST", "/api/management/v2/inventory/filters/search", 200, DEV_NO_HEADER, "Link",
	  "api_inventory.go FiltersSearchHandler: v4.1.3 sets X-Total-Count and no Link header" },
	{ "POST", "/api/management/v1/useradm/settings/tokens", 200, DEV_MEDIA, NULL,
	  "the server: the token is returned raw as application/jwt" },
	{ "POST", "/api/management/v1/deployments/deployments/statistics/list", 200,
	  DEV_EMPTY_OBJECT, NULL, "the server: an empty deployment_ids list gets {}" },
	{ NULL, NULL, 413, DEV_STATUS, NULL, "pkg/requestsize: bodies over 1 MiB get 413" },
};

static const struct deviation *find_deviation(const struct openapi *o, const char *method,
					      const char *tmpl, long status,
					      enum deviation_kind kind, const char *header)
{
	size_t i;

	if (!o->official)
		return NULL;
	for (i = 0; i < sizeof(deviations) / sizeof(deviations[0]); i++) {
		const struct deviation *d = &deviations[i];

		if (d->kind != kind || d->status != status)
			continue;
		if (d->method && strcasecmp(d->method, method))
			continue;
		if (d->tmpl && (!tmpl || strcmp(d->tmpl, tmpl)))
			continue;
		if (kind == DEV_NO_HEADER && strcasecmp(d->header, header))
			continue;
		return d;
	}
	return NULL;
}

/*
 * The attribute schemas type `value` as a string while their own description
 * says "Supported types: number, string, array of numbers, array of strings"
 * (and the server's model/device.go agrees). Widen those `value`s to what
 * the description states, so that numeric and array attributes, and $in
 * filters, are judged rather than skipped.
 */
static void widen_attribute_values(cJSON *root)
{
	static const char *const schemas[] = { "Attribute", "AttributeV1", "AttributeV2",
					       "FilterPredicate" };
	static const char any_value[] =
		"{\"anyOf\": [{\"type\": \"string\"}, {\"type\": \"number\"},"
		" {\"type\": \"array\", \"items\": {\"type\": \"string\"}},"
		" {\"type\": \"array\", \"items\": {\"type\": \"number\"}}]}";
	cJSON *all = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(root, "components"), "schemas");
	size_t i;

	for (i = 0; i < sizeof(schemas) / sizeof(schemas[0]); i++) {
		cJSON *props = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(all, schemas[i]), "properties");
		cJSON *value = cJSON_GetObjectItemCaseSensitive(props, "value");
		const cJSON *desc = cJSON_GetObjectItemCaseSensitive(value, "description");
		cJSON *widened;

		if (!cJSON_IsString(desc) ||
		    !strstr(desc->valuestring, "Supported types: number, string, array of numbers"))
			continue;
		widened = cJSON_Parse(any_value);
		if (!widened)
			abort();
		cJSON_ReplaceItemInObjectCaseSensitive(props, "value", widened);
	}
}

struct openapi *openapi_load(const char *path, bool official, char **err)
{
	FILE *f = fopen(path, "rb");
	struct tstr buf = TSTR_INIT;
	struct openapi *o = NULL;
	char chunk[65536];
	size_t n;
	cJSON *root;

	*err = NULL;
	if (!f) {
		struct tstr m = TSTR_INIT;

		tstr_printf(&m, "%s: %s", path, strerror(errno));
		*err = m.p;
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && buf.len <= DOC_MAX)
		tstr_put(&buf, chunk, n);
	fclose(f);
	if (buf.len > DOC_MAX) {
		struct tstr m = TSTR_INIT;

		tstr_printf(&m, "%s: larger than %u bytes", path, DOC_MAX);
		*err = m.p;
		tstr_release(&buf);
		return NULL;
	}
	root = yamljson_load(buf.p ? buf.p : "", buf.len, err);
	tstr_release(&buf);
	if (!root)
		return NULL;
	if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "paths"))) {
		cJSON_Delete(root);
		*err = strdup("the document has no 'paths'");
		return NULL;
	}
	widen_attribute_values(root);
	o = calloc(1, sizeof(*o));
	if (!o)
		abort();
	o->root = root;
	o->official = official;
	return o;
}

void openapi_free(struct openapi *o)
{
	if (!o)
		return;
	cJSON_Delete(o->root);
	free(o);
}

static const cJSON *get(const cJSON *obj, const char *key)
{
	return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

/* A local JSON pointer "#/a/b" (with ~0 and ~1 escapes). */
static const cJSON *pointer(const struct openapi *o, const char *ref)
{
	const cJSON *node = o->root;
	const char *p;

	if (strncmp(ref, "#/", 2))
		return NULL;
	for (p = ref + 2; node && *p;) {
		size_t n = strcspn(p, "/");
		char key[256];
		size_t i, k = 0;

		for (i = 0; i < n && k + 1 < sizeof(key); i++) {
			if (p[i] == '~' && i + 1 < n && (p[i + 1] == '0' || p[i + 1] == '1')) {
				key[k++] = p[i + 1] == '0' ? '~' : '/';
				i++;
			} else {
				key[k++] = p[i];
			}
		}
		key[k] = '\0';
		node = get(node, key);
		p += n;
		if (*p == '/')
			p++;
	}
	return node;
}

const cJSON *openapi_resolve(const struct openapi *o, const cJSON *node)
{
	int depth;

	for (depth = 0; node && depth < REF_DEPTH_MAX; depth++) {
		const cJSON *ref = get(node, "$ref");

		if (!cJSON_IsString(ref))
			return node;
		node = pointer(o, ref->valuestring);
	}
	return NULL;
}

const char *openapi_match_path(const struct openapi *o, const char *path)
{
	const cJSON *paths = get(o->root, "paths"), *p;
	const char *best = NULL;
	int best_literal = -1;

	cJSON_ArrayForEach(p, paths) {
		const char *t = p->string, *c = path;
		int literal = 0;
		bool ok = true;

		while (ok && *t && *c) {
			size_t tn = strcspn(t + 1, "/") + 1, cn = strcspn(c + 1, "/") + 1;

			if (*t != '/' || *c != '/')
				ok = false;
			else if (tn > 2 && t[1] == '{' && t[tn - 1] == '}')
				ok = cn > 1;
			else if (tn == cn && !strncmp(t, c, tn))
				literal++;
			else
				ok = false;
			t += tn;
			c += cn;
		}
		if (ok && !*t && !*c && literal > best_literal) {
			best = p->string;
			best_literal = literal;
		}
	}
	return best;
}

const cJSON *openapi_operation(const struct openapi *o, const char *tmpl, const char *method)
{
	const cJSON *item = get(get(o->root, "paths"), tmpl), *op;
	char lower[16];
	size_t i;

	for (i = 0; method[i] && i + 1 < sizeof(lower); i++)
		lower[i] = (char)tolower((unsigned char)method[i]);
	lower[i] = '\0';
	op = get(openapi_resolve(o, item), lower);
	return cJSON_IsObject(op) ? op : NULL;
}

/* ---- schema validation ------------------------------------------------------ */

static const char *type_name(const cJSON *v)
{
	if (cJSON_IsObject(v))
		return "object";
	if (cJSON_IsArray(v))
		return "array";
	if (cJSON_IsString(v))
		return "string";
	if (cJSON_IsNumber(v))
		return "number";
	if (cJSON_IsBool(v))
		return "boolean";
	if (cJSON_IsNull(v))
		return "null";
	return "invalid";
}

static bool is_type(const cJSON *v, const char *type)
{
	if (!strcmp(type, "object"))
		return cJSON_IsObject(v);
	if (!strcmp(type, "array"))
		return cJSON_IsArray(v);
	if (!strcmp(type, "string"))
		return cJSON_IsString(v);
	if (!strcmp(type, "boolean"))
		return cJSON_IsBool(v);
	if (!strcmp(type, "number"))
		return cJSON_IsNumber(v) && isfinite(v->valuedouble);
	if (!strcmp(type, "integer"))
		return cJSON_IsNumber(v) && isfinite(v->valuedouble) &&
		       floor(v->valuedouble) == v->valuedouble;
	return true; /* a type this checker does not know: not judged */
}

static bool regex_match(const char *re, const char *s, bool *compiled)
{
	regex_t r;
	bool ok;

	*compiled = regcomp(&r, re, REG_EXTENDED | REG_NOSUB) == 0;
	if (!*compiled)
		return true;
	ok = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

/* n digits at s */
static bool digits(const char *s, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* RFC 3339 date-time: 2006-01-02T15:04:05[.frac](Z|+hh:mm) */
static bool is_date_time(const char *s)
{
	if (!digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
	    !digits(s + 8, 2) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2) ||
	    s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
		return false;
	s += 19;
	if (*s == '.') {
		if (!isdigit((unsigned char)*++s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
	}
	if (*s == 'Z' || *s == 'z')
		return s[1] == '\0';
	return (*s == '+' || *s == '-') && digits(s + 1, 2) && s[3] == ':' && digits(s + 4, 2) &&
	       s[6] == '\0';
}

static bool is_uuid(const char *s)
{
	static const int groups[] = { 8, 4, 4, 4, 12 };
	int g, i;

	for (g = 0; g < 5; g++) {
		for (i = 0; i < groups[g]; i++, s++)
			if (!isxdigit((unsigned char)*s))
				return false;
		if (g < 4 && *s++ != '-')
			return false;
	}
	return *s == '\0';
}

static bool format_ok(const char *format, const char *s)
{
	if (!strcmp(format, "date-time"))
		return is_date_time(s);
	if (!strcmp(format, "uuid"))
		return is_uuid(s);
	return true; /* other formats are not judged */
}

static size_t utf8_length(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Where in the value a check is: formatted only when there is a problem. */
struct vpath {
	const char *root;
	struct {
		const char *name; /* NULL: an array index */
		int index;
	} seg[SCHEMA_DEPTH_MAX + 1];
	int depth;
};

static void push_name(struct vpath *p, const char *name)
{
	if (p->depth <= SCHEMA_DEPTH_MAX) {
		p->seg[p->depth].name = name;
		p->seg[p->depth].index = 0;
	}
	p->depth++;
}

static void push_index(struct vpath *p, int index)
{
	if (p->depth <= SCHEMA_DEPTH_MAX) {
		p->seg[p->depth].name = NULL;
		p->seg[p->depth].index = index;
	}
	p->depth++;
}

static void print_path(struct tstr *errs, const struct vpath *p)
{
	int i;

	tstr_printf(errs, "%s", p->root);
	for (i = 0; i < p->depth && i <= SCHEMA_DEPTH_MAX; i++) {
		if (p->seg[i].name)
			tstr_printf(errs, ".%s", p->seg[i].name);
		else
			tstr_printf(errs, "[%d]", p->seg[i].index);
	}
	tstr_printf(errs, ": ");
}

static int validate(const struct openapi *o, const cJSON *schema, const cJSON *v,
		    struct vpath *where, struct tstr *errs, int depth);

#define PROBLEM(...)                            \
	do {                                    \
		print_path(errs, where);        \
		tstr_printf(errs, __VA_ARGS__); \
		tstr_put(errs, "\n", 1);        \
		n++;                            \
	} while (0)

/* Validate into a scratch buffer: for anyOf/oneOf branches. */
static int try_validate(const struct openapi *o, const cJSON *schema, const cJSON *v,
			struct vpath *where, int depth)
{
	struct tstr scratch = TSTR_INIT;
	int n = validate(o, schema, v, where, &scratch, depth);

	tstr_release(&scratch);
	return n;
}

/* The keywords of one schema object, found in a single pass over it. */
struct keywords {
	const cJSON *type, *enumeration, *format, *pattern, *nullable;
	const cJSON *min_length, *max_length, *minimum, *maximum, *min_items, *max_items;
	const cJSON *items, *properties, *required, *additional;
	const cJSON *all_of, *any_of, *one_of;
};

static void collect(const cJSON *s, struct keywords *k)
{
	const cJSON *c;

	memset(k, 0, sizeof(*k));
	if (!cJSON_IsObject(s))
		return;
	for (c = s->child; c; c = c->next) {
		const char *n = c->string;

		switch (n[0]) {
		case 't':
			if (!strcmp(n, "type"))
				k->type = c;
			break;
		case 'e':
			if (!strcmp(n, "enum"))
				k->enumeration = c;
			break;
		case 'f':
			if (!strcmp(n, "format"))
				k->format = c;
			break;
		case 'p':
			if (!strcmp(n, "properties"))
				k->properties = c;
			else if (!strcmp(n, "pattern"))
				k->pattern = c;
			break;
		case 'n':
			if (!strcmp(n, "nullable"))
				k->nullable = c;
			break;
		case 'm':
			if (!strcmp(n, "minLength"))
				k->min_length = c;
			else if (!strcmp(n, "maxLength"))
				k->max_length = c;
			else if (!strcmp(n, "minimum"))
				k->minimum = c;
			else if (!strcmp(n, "maximum"))
				k->maximum = c;
			else if (!strcmp(n, "minItems"))
				k->min_items = c;
			else if (!strcmp(n, "maxItems"))
				k->max_items = c;
			break;
		case 'i':
			if (!strcmp(n, "items"))
				k->items = c;
			break;
		case 'r':
			if (!strcmp(n, "required"))
				k->required = c;
			break;
		case 'a':
			if (!strcmp(n, "additionalProperties"))
				k->additional = c;
			else if (!strcmp(n, "allOf"))
				k->all_of = c;
			else if (!strcmp(n, "anyOf"))
				k->any_of = c;
			break;
		case 'o':
			if (!strcmp(n, "oneOf"))
				k->one_of = c;
			break;
		default:
			break;
		}
	}
}

static int validate_object(const struct openapi *o, const struct keywords *k, const cJSON *v,
			   struct vpath *where, struct tstr *errs, int depth)
{
	const cJSON *m, *r;
	int n = 0;

	cJSON_ArrayForEach(r, k->required) {
		if (cJSON_IsString(r) && !cJSON_GetObjectItemCaseSensitive(v, r->valuestring))
			PROBLEM("required property '%s' is missing", r->valuestring);
	}
	cJSON_ArrayForEach(m, v) {
		const cJSON *ps = get(k->properties, m->string);

		push_name(where, m->string);
		if (ps) {
			n += validate(o, ps, m, where, errs, depth + 1);
		} else if (cJSON_IsFalse(k->additional)) {
			PROBLEM("property not allowed by the schema");
		} else if (cJSON_IsObject(k->additional)) {
			n += validate(o, k->additional, m, where, errs, depth + 1);
		}
		where->depth--;
	}
	return n;
}

static int validate(const struct openapi *o, const cJSON *schema, const cJSON *v,
		    struct vpath *where, struct tstr *errs, int depth)
{
	const cJSON *s = openapi_resolve(o, schema), *e;
	struct keywords k;
	int n = 0;
	int i;

	if (!s) {
		PROBLEM("unresolvable $ref in the schema");
		return n;
	}
	if (depth > SCHEMA_DEPTH_MAX) {
		PROBLEM("schema nesting deeper than %d", SCHEMA_DEPTH_MAX);
		return n;
	}
	collect(s, &k);
	if (cJSON_IsNull(v) && cJSON_IsTrue(k.nullable))
		return 0;
	if (cJSON_IsString(k.type) && !is_type(v, k.type->valuestring)) {
		PROBLEM("expected %s, got %s", k.type->valuestring, type_name(v));
		return n;
	}
	if (cJSON_IsArray(k.enumeration)) {
		bool found = false;

		cJSON_ArrayForEach(e, k.enumeration)
			found = found || cJSON_Compare(e, v, 1);
		if (!found) {
			char *text = cJSON_PrintUnformatted(v);

			PROBLEM("%s is not one of the documented values", text ? text : "value");
			free(text);
		}
	}
	if (cJSON_IsString(v)) {
		bool compiled;

		if (cJSON_IsString(k.format) && !format_ok(k.format->valuestring, v->valuestring))
			PROBLEM("'%s' is not a valid %s", v->valuestring, k.format->valuestring);
		if (cJSON_IsString(k.pattern) &&
		    !regex_match(k.pattern->valuestring, v->valuestring, &compiled))
			PROBLEM("'%s' does not match pattern %s", v->valuestring,
				k.pattern->valuestring);
		if (cJSON_IsNumber(k.min_length) &&
		    (double)utf8_length(v->valuestring) < k.min_length->valuedouble)
			PROBLEM("shorter than %g characters", k.min_length->valuedouble);
		if (cJSON_IsNumber(k.max_length) &&
		    (double)utf8_length(v->valuestring) > k.max_length->valuedouble)
			PROBLEM("longer than %g characters", k.max_length->valuedouble);
	}
	if (cJSON_IsNumber(v)) {
		if (cJSON_IsNumber(k.minimum) && v->valuedouble < k.minimum->valuedouble)
			PROBLEM("%g is below the minimum %g", v->valuedouble, k.minimum->valuedouble);
		if (cJSON_IsNumber(k.maximum) && v->valuedouble > k.maximum->valuedouble)
			PROBLEM("%g is above the maximum %g", v->valuedouble, k.maximum->valuedouble);
	}
	if (cJSON_IsArray(v)) {
		if (cJSON_IsNumber(k.min_items) && cJSON_GetArraySize(v) < k.min_items->valuedouble)
			PROBLEM("fewer than %g items", k.min_items->valuedouble);
		if (cJSON_IsNumber(k.max_items) && cJSON_GetArraySize(v) > k.max_items->valuedouble)
			PROBLEM("more than %g items", k.max_items->valuedouble);
		if (k.items) {
			i = 0;
			cJSON_ArrayForEach(e, v) {
				push_index(where, i++);
				n += validate(o, k.items, e, where, errs, depth + 1);
				where->depth--;
			}
		}
	}
	if (cJSON_IsObject(v))
		n += validate_object(o, &k, v, where, errs, depth);
	cJSON_ArrayForEach(e, k.all_of)
		n += validate(o, e, v, where, errs, depth + 1);
	if (cJSON_IsArray(k.any_of)) {
		bool any = false;

		cJSON_ArrayForEach(e, k.any_of)
			any = any || try_validate(o, e, v, where, depth + 1) == 0;
		if (!any)
			PROBLEM("matches none of anyOf");
	}
	if (cJSON_IsArray(k.one_of)) {
		int passing = 0;

		cJSON_ArrayForEach(e, k.one_of)
			passing += try_validate(o, e, v, where, depth + 1) == 0;
		if (passing != 1)
			PROBLEM("matches %d of oneOf (exactly one expected)", passing);
	}
	return n;
}

int openapi_validate(const struct openapi *o, const cJSON *schema, const cJSON *value,
		     const char *where, struct tstr *errs)
{
	struct vpath w;

	w.root = where;
	w.depth = 0;
	return validate(o, schema, value, &w, errs, 0);
}

/* ---- exchanges ----------------------------------------------------------------------- */

static cJSON *parse_json(const char *text, size_t len)
{
	const char *end = NULL;
	cJSON *v = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	size_t i;

	if (!v)
		return NULL;
	for (i = (size_t)(end - text); i < len; i++) {
		if (!isspace((unsigned char)text[i])) {
			cJSON_Delete(v);
			return NULL;
		}
	}
	return v;
}

/* "application/json; charset=utf-8" -> "application/json" */
static void media_type(const char *content_type, char *out, size_t size)
{
	size_t i;

	for (i = 0; content_type && content_type[i] && content_type[i] != ';' &&
		    !isspace((unsigned char)content_type[i]) && i + 1 < size;
	     i++)
		out[i] = (char)tolower((unsigned char)content_type[i]);
	out[i] = '\0';
}

static bool has_security(const struct openapi *o, const cJSON *op)
{
	const cJSON *sec = get(op, "security");

	if (!sec)
		sec = get(o->root, "security");
	return cJSON_IsArray(sec) && cJSON_GetArraySize(sec) > 0;
}

static int check_request(const struct openapi *o, const struct conform_exchange *x,
			 const cJSON *op, struct tstr *errs)
{
	const cJSON *rb = openapi_resolve(o, get(op, "requestBody"));
	const cJSON *schema = get(get(get(rb, "content"), "application/json"), "schema");
	cJSON *v;
	int n = 0;

	if (!schema)
		return 0;
	v = parse_json(x->req_body, strlen(x->req_body));
	if (!v) {
		tstr_printf(errs, "request: the body sent is not JSON\n");
		return 1;
	}
	n = openapi_validate(o, schema, v, "request", errs);
	cJSON_Delete(v);
	return n;
}

static int check_body(const struct openapi *o, const struct conform_exchange *x,
		      const char *tmpl, const cJSON *resp, struct tstr *errs)
{
	const cJSON *content = get(resp, "content"), *mt, *schema;
	char media[96];
	cJSON *v;
	int n = 0;

	if (!content) {
		if (x->body_len) {
			tstr_printf(errs, "response: documented without a body, got %zu bytes\n",
				    x->body_len);
			return 1;
		}
		return 0;
	}
	if (!cJSON_GetArraySize(content))
		return 0; /* "content: {}": no body documented, nothing to judge */
	media_type(x->content_type, media, sizeof(media));
	mt = get(content, media);
	if (!mt && find_deviation(o, x->method, tmpl, x->status, DEV_MEDIA, NULL))
		mt = get(content, "application/json");
	if (!mt) {
		tstr_printf(errs, "response: media type '%s' is not documented\n", media);
		return 1;
	}
	schema = get(mt, "schema");
	if (!schema)
		return 0;
	if (!strcmp(media, "application/json")) {
		v = parse_json(x->body ? x->body : "", x->body_len);
		if (!v) {
			tstr_printf(errs, "response: body is not valid JSON\n");
			return 1;
		}
		if (cJSON_IsObject(v) && !cJSON_GetArraySize(v) &&
		    find_deviation(o, x->method, tmpl, x->status, DEV_EMPTY_OBJECT, NULL)) {
			cJSON_Delete(v);
			return 0;
		}
	} else {
		/* Raw text bodies (application/jwt, text/plain) are strings. */
		v = cJSON_CreateString(x->body ? x->body : "");
	}
	n = openapi_validate(o, schema, v, "response", errs);
	cJSON_Delete(v);
	return n;
}

static int check_headers(const struct openapi *o, const struct conform_exchange *x,
			 const char *tmpl, const cJSON *resp, struct tstr *errs)
{
	const cJSON *headers = get(resp, "headers"), *h;
	int n = 0;

	if (!x->header(x->ctx, "X-MEN-RequestID")) {
		tstr_printf(errs, "response: no X-MEN-RequestID header\n");
		n++;
	}
	cJSON_ArrayForEach(h, headers) {
		const cJSON *schema = get(openapi_resolve(o, h), "schema");
		const char *value = x->header(x->ctx, h->string);
		const cJSON *type = get(openapi_resolve(o, schema), "type");

		if (!value) {
			if (find_deviation(o, x->method, tmpl, x->status, DEV_NO_HEADER, h->string))
				continue;
			tstr_printf(errs, "response: documented header %s is missing\n", h->string);
			n++;
			continue;
		}
		if (find_deviation(o, x->method, tmpl, x->status, DEV_NO_HEADER, h->string)) {
			tstr_printf(errs, "response: header %s is present where Mender sends none\n",
				    h->string);
			n++;
		}
		if (cJSON_IsString(type) && !strcmp(type->valuestring, "integer")) {
			const char *p = value;

			while (isdigit((unsigned char)*p))
				p++;
			if (p == value || *p) {
				tstr_printf(errs, "response: header %s '%s' is not an integer\n",
					    h->string, value);
				n++;
			}
		}
	}
	return n;
}

int openapi_conform(const struct openapi *o, const struct conform_exchange *x, const char **tmpl,
		    struct tstr *errs)
{
	const cJSON *op, *responses, *resp;
	char status[8];
	int n = 0;

	*tmpl = openapi_match_path(o, x->path);
	if (!*tmpl) {
		tstr_printf(errs, "%s %s: no such path in the document\n", x->method, x->path);
		return 1;
	}
	op = openapi_operation(o, *tmpl, x->method);
	if (!op) {
		tstr_printf(errs, "%s %s: method not documented\n", x->method, *tmpl);
		return 1;
	}
	if (x->req_body && x->check_request)
		n += check_request(o, x, op, errs);
	responses = get(op, "responses");
	snprintf(status, sizeof(status), "%ld", x->status);
	resp = openapi_resolve(o, get(responses, status));
	if (!resp)
		resp = openapi_resolve(o, get(responses, "default"));
	if (!resp) {
		const struct deviation *d = find_deviation(o, x->method, *tmpl, x->status, DEV_STATUS,
							   NULL);

		if (!d && !(x->status == 401 && has_security(o, op))) {
			tstr_printf(errs, "%s %s: status %ld is not documented\n", x->method, *tmpl,
				    x->status);
			return n + 1;
		}
		/* Undocumented but expected: Mender's error body. */
		{
			const cJSON *err = pointer(o, "#/components/schemas/Error");
			cJSON *v = parse_json(x->body ? x->body : "", x->body_len);

			if (!v) {
				tstr_printf(errs, "response: error body is not JSON\n");
				n++;
			} else {
				n += openapi_validate(o, err, v, "response", errs);
				cJSON_Delete(v);
			}
		}
		if (!x->header(x->ctx, "X-MEN-RequestID")) {
			tstr_printf(errs, "response: no X-MEN-RequestID header\n");
			n++;
		}
		return n;
	}
	n += check_body(o, x, *tmpl, resp, errs);
	n += check_headers(o, x, *tmpl, resp, errs);
	return n;
}

/* ---- one document against another ------------------------------------------------- */

/* The properties a schema names, itself or through allOf/anyOf/oneOf. */
static const cJSON *find_property(const struct openapi *o, const cJSON *schema, const char *name,
				  int depth)
{
	static const char *const combiners[] = { "allOf", "anyOf", "oneOf" };
	const cJSON *s = openapi_resolve(o, schema), *p, *e;
	size_t i;

	if (!s || depth > SCHEMA_DEPTH_MAX)
		return NULL;
	p = get(get(s, "properties"), name);
	if (p)
		return p;
	for (i = 0; i < sizeof(combiners) / sizeof(combiners[0]); i++) {
		cJSON_ArrayForEach(e, get(s, combiners[i])) {
			p = find_property(o, e, name, depth + 1);
			if (p)
				return p;
		}
	}
	return NULL;
}

/* Whether a schema describes properties at all (else it allows any). */
static bool has_properties(const struct openapi *o, const cJSON *schema, int depth)
{
	static const char *const combiners[] = { "allOf", "anyOf", "oneOf" };
	const cJSON *s = openapi_resolve(o, schema), *e;
	size_t i;

	if (!s || depth > SCHEMA_DEPTH_MAX)
		return false;
	if (get(s, "properties"))
		return true;
	for (i = 0; i < sizeof(combiners) / sizeof(combiners[0]); i++)
		cJSON_ArrayForEach(e, get(s, combiners[i]))
			if (has_properties(o, e, depth + 1))
				return true;
	return false;
}

static int schema_agrees(const struct openapi *mine, const cJSON *ms, const struct openapi *theirs,
			 const cJSON *ts, const char *where, struct tstr *errs, int depth)
{
	const cJSON *m = openapi_resolve(mine, ms), *t = openapi_resolve(theirs, ts), *p, *e;
	const cJSON *mt, *tt;
	int n = 0;

	if (!m || !t) {
		tstr_printf(errs, "%s: a $ref does not resolve\n", where);
		return 1;
	}
	if (depth > SCHEMA_DEPTH_MAX)
		return 0;
	mt = get(m, "type");
	tt = get(t, "type");
	if (cJSON_IsString(mt) && cJSON_IsString(tt) && strcmp(mt->valuestring, tt->valuestring) &&
	    !(!strcmp(mt->valuestring, "integer") && !strcmp(tt->valuestring, "number"))) {
		tstr_printf(errs, "%s: type %s here, %s in Mender's document\n", where,
			    mt->valuestring, tt->valuestring);
		n++;
	}
	cJSON_ArrayForEach(p, get(m, "properties")) {
		const cJSON *tp = find_property(theirs, t, p->string, 0);
		struct tstr w = TSTR_INIT;

		tstr_printf(&w, "%s.%s", where, p->string);
		if (tp)
			n += schema_agrees(mine, p, theirs, tp, w.p, errs, depth + 1);
		else if (has_properties(theirs, t, 0)) {
			tstr_printf(errs, "%s: not a property in Mender's document\n", w.p);
			n++;
		}
		tstr_release(&w);
	}
	if (get(m, "items") && get(t, "items")) {
		struct tstr w = TSTR_INIT;

		tstr_printf(&w, "%s[]", where);
		n += schema_agrees(mine, get(m, "items"), theirs, get(t, "items"), w.p, errs,
				   depth + 1);
		tstr_release(&w);
	}
	/* A combination here (e.g. "Mender's schema, or {}"): each branch that
	 * has properties must agree with Mender's schema. */
	cJSON_ArrayForEach(e, get(m, "anyOf")) {
		if (has_properties(mine, e, 0) || get(openapi_resolve(mine, e), "items"))
			n += schema_agrees(mine, e, theirs, t, where, errs, depth + 1);
	}
	cJSON_ArrayForEach(e, get(m, "allOf"))
		n += schema_agrees(mine, e, theirs, t, where, errs, depth + 1);
	return n;
}

static const cJSON *media_schema(const struct openapi *o, const cJSON *content, const char *media)
{
	(void)o;
	return get(get(content, media), "schema");
}

int openapi_agrees(const struct openapi *mine, const struct openapi *theirs, size_t *checked,
		   struct tstr *errs)
{
	const cJSON *path, *op, *resp, *mt, *h;
	int n = 0;

	*checked = 0;
	cJSON_ArrayForEach(path, get(mine->root, "paths")) {
		cJSON_ArrayForEach(op, path) {
			const cJSON *top = openapi_operation(theirs, path->string, op->string);
			const cJSON *mrb, *trb;

			if (!top) {
				tstr_printf(errs, "%s %s: not in Mender's document\n", op->string,
					    path->string);
				n++;
				continue;
			}
			mrb = openapi_resolve(mine, get(op, "requestBody"));
			trb = openapi_resolve(theirs, get(top, "requestBody"));
			if (mrb && !trb && cJSON_GetArraySize(get(mrb, "content"))) {
				tstr_printf(errs, "%s %s: a request body Mender's document does not have\n",
					    op->string, path->string);
				n++;
			} else if (mrb && trb) {
				const cJSON *ms = media_schema(mine, get(mrb, "content"), "application/json");
				const cJSON *ts = media_schema(theirs, get(trb, "content"), "application/json");
				struct tstr w = TSTR_INIT;

				tstr_printf(&w, "%s %s request", op->string, path->string);
				if (ms && ts)
					n += schema_agrees(mine, ms, theirs, ts, w.p, errs, 0);
				tstr_release(&w);
			}
			cJSON_ArrayForEach(resp, get(op, "responses")) {
				const cJSON *mr = openapi_resolve(mine, resp);
				const cJSON *tr = openapi_resolve(theirs, get(get(top, "responses"), resp->string));
				long status = strtol(resp->string, NULL, 10);
				struct tstr w = TSTR_INIT;

				(*checked)++;
				tstr_printf(&w, "%s %s -> %s", op->string, path->string, resp->string);
				if (!tr) {
					if (!find_deviation(theirs, op->string, path->string, status, DEV_STATUS, NULL) &&
					    !(status == 401 && has_security(theirs, top))) {
						tstr_printf(errs, "%s: status not in Mender's document\n", w.p);
						n++;
					}
					tstr_release(&w);
					continue;
				}
				cJSON_ArrayForEach(mt, get(mr, "content")) {
					const cJSON *ts = media_schema(theirs, get(tr, "content"), mt->string);

					if (!get(get(tr, "content"), mt->string)) {
						if (!find_deviation(theirs, op->string, path->string, status, DEV_MEDIA, NULL)) {
							tstr_printf(errs, "%s: media type %s not in Mender's document\n",
								    w.p, mt->string);
							n++;
						}
						continue;
					}
					if (get(mt, "schema") && ts)
						n += schema_agrees(mine, get(mt, "schema"), theirs, ts, w.p, errs, 0);
				}
				cJSON_ArrayForEach(h, get(mr, "headers")) {
					if (!get(get(tr, "headers"), h->string)) {
						tstr_printf(errs, "%s: header %s not in Mender's document\n", w.p,
							    h->string);
						n++;
					}
				}
				tstr_release(&w);
			}
		}
	}
	return n;
}
