#include "fleet/fleet.h"

#include "core/alloc.h"
#include "core/error.h"
#include "fleet/ydoc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* What is being checked: the file and its diagnostics. */
struct check {
	const char *file;
	struct diags *diags;
};

#define ERR(c, node, code, ...) \
	diags_add((c)->diags, DIAG_ERROR, (c)->file, (node)->line, (node)->column, code, __VA_ARGS__)
#define WARN(c, node, code, ...) \
	diags_add((c)->diags, DIAG_WARNING, (c)->file, (node)->line, (node)->column, code, __VA_ARGS__)

/* ---- scalars ---- */

enum scalar_kind {
	SCALAR_STRING,
	SCALAR_NULL,
	SCALAR_BOOL,
	SCALAR_NUMBER,
};

static int matches(const char *s, const char *const *words)
{
	for (; *words; words++)
		if (!strcmp(s, *words))
			return 1;
	return 0;
}

static int is_number(const char *s)
{
	static const char *const special[] = { ".inf", "-.inf", "+.inf", ".Inf", "-.Inf",
					       "+.Inf", ".INF", "-.INF", "+.INF", ".nan",
					       ".NaN", ".NAN", NULL };
	const char *p = s;
	int digits = 0;

	if (matches(s, special))
		return 1;
	if (!strncmp(s, "0x", 2) || !strncmp(s, "0o", 2)) {
		for (p = s + 2; *p && isxdigit((unsigned char)*p); p++)
			digits++;
		return digits && !*p;
	}
	if (*p == '-' || *p == '+')
		p++;
	for (; isdigit((unsigned char)*p); p++)
		digits++;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			digits++;
	if (!digits)
		return 0;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!isdigit((unsigned char)*p))
			return 0;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return !*p;
}

/* YAML 1.2 core schema, decided here because libyaml resolves no types:
 * "yes" and "on" stay strings. */
static enum scalar_kind scalar_kind(const struct ynode *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
	static const char *const bools[] = { "true", "True", "TRUE", "false", "False", "FALSE", NULL };

	if (n->tag && !strcmp(n->tag, "tag:yaml.org,2002:str"))
		return SCALAR_STRING;
	if (!n->plain)
		return SCALAR_STRING;
	if (matches(n->value, nulls))
		return SCALAR_NULL;
	if (matches(n->value, bools))
		return SCALAR_BOOL;
	if (is_number(n->value))
		return SCALAR_NUMBER;
	return SCALAR_STRING;
}

static const char *node_kind_name(const struct ynode *n)
{
	if (n->type == YNODE_MAPPING)
		return "a mapping";
	if (n->type == YNODE_SEQUENCE)
		return "a list";
	switch (scalar_kind(n)) {
	case SCALAR_NULL:
		return "nothing (null)";
	case SCALAR_BOOL:
		return "a boolean";
	case SCALAR_NUMBER:
		return "a number";
	default:
		return "a string";
	}
}

/* Explicit tags: the standard ones are harmless, anything else is refused
 * (custom tags mean nothing to Mender). */
static int check_tag(struct check *c, const struct ynode *n)
{
	static const char *const allowed[] = {
		"tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
		"tag:yaml.org,2002:bool", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", NULL
	};

	if (!n->tag || matches(n->tag, allowed))
		return 0;
	ERR(c, n, "yaml-tag", "tag '%s' is not allowed", n->tag);
	return -1;
}

/* A name-like value (branch, artifact, label): any scalar but null or a
 * boolean, taken as written. */
static const char *expect_string(struct check *c, const struct ynode *n, const char *what)
{
	if (check_tag(c, n))
		return NULL;
	if (n->type != YNODE_SCALAR || scalar_kind(n) == SCALAR_NULL ||
	    scalar_kind(n) == SCALAR_BOOL) {
		ERR(c, n, "type", "%s must be a string, not %s", what, node_kind_name(n));
		return NULL;
	}
	return n->value;
}

static int expect_type(struct check *c, const struct ynode *n, enum ynode_type type,
		       const char *what)
{
	static const char *const names[] = { "a string", "a list", "a mapping" };

	if (check_tag(c, n))
		return -1;
	if (n->type != type) {
		ERR(c, n, "type", "%s must be %s, not %s", what, names[type], node_kind_name(n));
		return -1;
	}
	return 0;
}

static int has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* ---- unknown keys ---- */

/* Edit distance with adjacent transpositions, for "did you mean". */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, d;
	size_t *row0, *row1, *row2, *t;

	if (la > 64 || lb > 64)
		return 64;
	row0 = fg_calloc(lb + 1, sizeof(size_t));
	row1 = fg_calloc(lb + 1, sizeof(size_t));
	row2 = fg_calloc(lb + 1, sizeof(size_t));
	for (j = 0; j <= lb; j++)
		row1[j] = j;
	for (i = 1; i <= la; i++) {
		row2[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];

			d = row1[j - 1] + cost;
			if (row1[j] + 1 < d)
				d = row1[j] + 1;
			if (row2[j - 1] + 1 < d)
				d = row2[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    row0[j - 2] + 1 < d)
				d = row0[j - 2] + 1;
			row2[j] = d;
		}
		t = row0;
		row0 = row1;
		row1 = row2;
		row2 = t;
	}
	d = row1[lb];
	free(row0);
	free(row1);
	free(row2);
	return d;
}

/* The closest of `words` to `s`, if close enough to be a likely typo. */
static const char *closest(const char *s, const char *const *words, size_t nwords)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1, i, limit = strlen(s) / 3;

	if (limit < 2)
		limit = 2;
	for (i = 0; i < nwords; i++) {
		size_t d = edit_distance(s, words[i]);

		if (d < best_d) {
			best_d = d;
			best = words[i];
		}
	}
	return best_d <= limit ? best : NULL;
}

/* Check that every key of `map` is a scalar and one of `allowed`. */
static void check_keys(struct check *c, const struct ynode *map, const char *const *allowed,
		       size_t nallowed, const char *where)
{
	size_t i, j;

	for (i = 0; i + 1 < map->count; i += 2) {
		const struct ynode *k = map->items[i];
		const char *hint;
		int known = 0;

		if (k->type != YNODE_SCALAR) {
			ERR(c, k, "type", "keys in %s must be strings, not %s", where, node_kind_name(k));
			continue;
		}
		for (j = 0; j < nallowed; j++)
			known |= !strcmp(k->value, allowed[j]);
		if (known)
			continue;
		hint = closest(k->value, allowed, nallowed);
		if (hint)
			ERR(c, k, "unknown-key", "unknown key '%s' in %s (did you mean '%s'?)", k->value,
			    where, hint);
		else
			ERR(c, k, "unknown-key", "unknown key '%s' in %s", k->value, where);
	}
}

/* ---- maps of values ---- */

static void map_set(struct fleet_map *m, const char *key, const char *value, const struct ynode *at)
{
	struct fleet_kv *kv;
	size_t i;

	for (i = 0; i < m->count; i++) {
		if (!strcmp(m->items[i].key, key)) {
			free(m->items[i].value);
			m->items[i].value = fg_strdup(value);
			return;
		}
	}
	m->items = fg_grow(m->items, &m->alloc, m->count + 1, sizeof(*m->items));
	kv = &m->items[m->count++];
	kv->key = fg_strdup(key);
	kv->value = fg_strdup(value);
	kv->line = at->line;
	kv->column = at->column;
}

void fleet_map_release(struct fleet_map *m)
{
	size_t i;

	for (i = 0; i < m->count; i++) {
		free(m->items[i].key);
		free(m->items[i].value);
	}
	free(m->items);
	memset(m, 0, sizeof(*m));
}

const char *fleet_map_get(const struct fleet_map *m, const char *key)
{
	size_t i;

	for (i = 0; i < m->count; i++)
		if (!strcmp(m->items[i].key, key))
			return m->items[i].value;
	return NULL;
}

static int valid_config_key(const char *k)
{
	if (!*k)
		return 0;
	for (; *k; k++)
		if (!isalnum((unsigned char)*k) && *k != '_' && *k != '.' && *k != '-')
			return 0;
	return 1;
}

/* Every "${" must open a well-formed ${secret:NAME} or ${os_image}. */
static void check_secrets(struct check *c, const struct ynode *n, const char *key)
{
	const char *p = n->value;
	size_t images = 0;

	while ((p = strstr(p, "${"))) {
		const char *name = p + 2, *q;

		if (!strncmp(p, FLEET_OS_IMAGE_REF, strlen(FLEET_OS_IMAGE_REF))) {
			p += strlen(FLEET_OS_IMAGE_REF);
			images++;
			continue;
		}
		if (!strncmp(name, "secret:", 7)) {
			name += 7;
			for (q = name; (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '_'; q++)
				;
			if (q > name && *q == '}') {
				p = q + 1;
				continue;
			}
		}
		q = strchr(p, '}');
		ERR(c, n, "secret-syntax",
		    "malformed substitution '%.*s' in the value of '%s': the only ones allowed are ${secret:NAME}, NAME of A-Z, 0-9 and _, and ${os_image}",
		    q ? (int)(q - p + 1) : (int)strlen(p) > 40 ? 40 : (int)strlen(p), p, key);
		p += 2;
	}
	/* each ${os_image} may become an artifact name of up to 256 bytes */
	if (images && n->length + images * (FLEET_MAX_ARTIFACT_NAME - strlen(FLEET_OS_IMAGE_REF)) >
			      FLEET_MAX_CONFIG_VALUE)
		ERR(c, n, "config-value",
		    "value of '%s' may be over 4096 bytes once its %zu ${os_image} become artifact names of up to 256 bytes",
		    key, images);
}

/*
 * A config mapping: keys [A-Za-z0-9_.-]+, scalar values sent as written.
 * Every pair is checked, but no more than one past Mender's limit is kept:
 * map_set() looks for the key among those kept, so a hostile file of
 * 100,000 keys costs 100 comparisons a key, not 100,000, and over the
 * limit is an error anyway.
 */
static void load_config(struct check *c, const struct ynode *map, struct fleet_map *out,
			const char *where)
{
	size_t i;

	if (expect_type(c, map, YNODE_MAPPING, where))
		return;
	if (map->count / 2 > FLEET_MAX_CONFIG_KEYS)
		ERR(c, map, "config-size", "%s has %zu keys; Mender Configure accepts at most 100 per device",
		    where, map->count / 2);
	for (i = 0; i + 1 < map->count; i += 2) {
		const struct ynode *k = map->items[i], *v = map->items[i + 1];

		if (k->type != YNODE_SCALAR) {
			ERR(c, k, "type", "keys in %s must be strings, not %s", where, node_kind_name(k));
			continue;
		}
		if (!valid_config_key(k->value)) {
			ERR(c, k, "config-key",
			    "configuration key '%s' in %s may hold only letters, digits, '_', '.' and '-'",
			    k->value, where);
			continue;
		}
		if (strlen(k->value) > FLEET_MAX_CONFIG_VALUE) {
			ERR(c, k, "config-key", "configuration key in %s is longer than 4096 bytes", where);
			continue;
		}
		if (check_tag(c, v))
			continue;
		if (v->type != YNODE_SCALAR || scalar_kind(v) == SCALAR_NULL) {
			ERR(c, v, "type",
			    "value of '%s' in %s must be a string, number or boolean, not %s", k->value,
			    where, node_kind_name(v));
			continue;
		}
		if (v->length > FLEET_MAX_CONFIG_VALUE) {
			ERR(c, v, "config-value",
			    "value of '%s' is %zu bytes; Mender accepts at most 4096", k->value, v->length);
			continue;
		}
		check_secrets(c, v, k->value);
		if (out->count <= FLEET_MAX_CONFIG_KEYS)
			map_set(out, k->value, v->value, k);
	}
}

static void check_artifact(struct check *c, const struct ynode *n, const char *name,
			   const char *type)
{
	if (!*name)
		ERR(c, n, "artifact-name", "artifact name for '%s' is empty", type);
	else if (strlen(name) > FLEET_MAX_ARTIFACT_NAME)
		ERR(c, n, "artifact-name", "artifact name for '%s' is longer than 256 bytes", type);
	else if (has_control(name))
		ERR(c, n, "artifact-name", "artifact name for '%s' contains a control character",
		    type);
}

/* os_images: device_type -> artifact name. */
static void load_images(struct check *c, const struct ynode *map, struct fleet_map *out)
{
	size_t i;

	if (expect_type(c, map, YNODE_MAPPING, "os_images"))
		return;
	for (i = 0; i + 1 < map->count; i += 2) {
		const struct ynode *k = map->items[i], *v = map->items[i + 1];
		const char *type = expect_string(c, k, "a device type");
		const char *artifact;
		char *what;

		if (!type)
			continue;
		if (!*type || has_control(type)) {
			ERR(c, k, "device-type", "a device type in os_images is %s",
			    *type ? "not printable" : "empty");
			continue;
		}
		what = fg_asprintf("the artifact for '%s'", type);
		artifact = expect_string(c, v, what);
		free(what);
		if (!artifact)
			continue;
		check_artifact(c, v, artifact, type);
		map_set(out, type, artifact, v);
	}
}

static char *load_branch(struct check *c, const struct ynode *n, const char *what)
{
	const char *name = expect_string(c, n, what);

	if (!name)
		return NULL;
	if (!fleet_branch_name_valid(name)) {
		ERR(c, n, "branch-name", "%s '%s' is not a valid git branch name", what, name);
		return NULL;
	}
	return fg_strdup(name);
}

/* A byte no ref name holds: control characters, space, DEL, and the ones
 * revision syntax uses (~ ^ : ? * [ \). */
static int ref_byte_valid(unsigned char c)
{
	return c > ' ' && c != 0x7f && !strchr("~^:?*[\\", c);
}

/* One '/'-separated part of a ref name, `len` bytes at `s`: not empty, not
 * starting with '.', not ending with ".lock". */
static int ref_part_valid(const char *s, size_t len)
{
	return len && s[0] != '.' && !(len >= 5 && !memcmp(s + len - 5, ".lock", 5));
}

int fleet_branch_name_valid(const char *name)
{
	const char *part = name, *p;

	/* git's rules for refs/heads/<name>; the prefix meets them itself */
	if (!name[0] || name[0] == '-' || !strcmp(name, "HEAD"))
		return 0;
	for (p = name;; p++) {
		if (*p == '/' || !*p) {
			if (!ref_part_valid(part, (size_t)(p - part)))
				return 0;
			if (!*p)
				break;
			part = p + 1;
			continue;
		}
		if (!ref_byte_valid((unsigned char)*p) || (p[0] == '.' && p[1] == '.') ||
		    (p[0] == '@' && p[1] == '{'))
			return 0;
	}
	return p[-1] != '.';
}

/* ---- fleet.yaml ---- */

int fleet_stage_name_valid(const char *name)
{
	size_t i;

	if (!(name[0] >= 'a' && name[0] <= 'z'))
		return 0;
	for (i = 1; name[i]; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		      name[i] == '-'))
			return 0;
	return i <= FLEET_STAGE_NAME_MAX;
}

static void load_promotion(struct check *c, struct fleet *f, const struct ynode *seq)
{
	size_t i, j;

	if (expect_type(c, seq, YNODE_SEQUENCE, "promotion"))
		return;
	if (!seq->count) {
		ERR(c, seq, "promotion", "promotion must name at least one stage");
		return;
	}
	f->promotion = fg_calloc(seq->count, sizeof(char *));
	for (i = 0; i < seq->count; i++) {
		char *name = load_branch(c, seq->items[i], "stage");

		if (!name)
			continue;
		if (!fleet_stage_name_valid(name)) {
			ERR(c, seq->items[i], "stage-name", "stage name '%s' cannot be used: " FLEET_STAGE_NAME_RULE,
			    name);
			free(name);
			continue;
		}
		for (j = 0; j < f->npromotion; j++) {
			if (!strcmp(f->promotion[j], name)) {
				ERR(c, seq->items[i], "promotion", "stage '%s' is listed twice", name);
				free(name);
				name = NULL;
				break;
			}
		}
		if (name)
			f->promotion[f->npromotion++] = name;
	}
}

static void load_mender(struct check *c, struct fleet *f, const struct ynode *map)
{
	static const char *const keys[] = { "server", "os_attribute" };
	const struct ynode *n;

	if (expect_type(c, map, YNODE_MAPPING, "mender"))
		return;
	check_keys(c, map, keys, 2, "mender");
	if ((n = ynode_get(map, "server"))) {
		const char *url = expect_string(c, n, "mender.server");

		if (url && strncmp(url, "https://", 8) && strncmp(url, "http://", 7))
			ERR(c, n, "url", "mender.server '%s' must start with https:// (or http://)", url);
		else if (url && has_control(url))
			ERR(c, n, "url", "mender.server contains a control character");
		else if (url)
			f->mender_server = fg_strdup(url);
	}
	if ((n = ynode_get(map, "os_attribute"))) {
		const char *attr = expect_string(c, n, "mender.os_attribute");

		if (attr && (!*attr || has_control(attr)))
			ERR(c, n, "type", "mender.os_attribute must be a non-empty attribute name");
		else if (attr) {
			free(f->os_attribute);
			f->os_attribute = fg_strdup(attr);
		}
	}
}

static int valid_role_name(const char *s)
{
	return valid_config_key(s);
}

static void load_roles(struct check *c, struct fleet *f, const struct ynode *map)
{
	size_t i;

	if (expect_type(c, map, YNODE_MAPPING, "roles"))
		return;
	f->roles = fg_calloc(map->count / 2 + 1, sizeof(*f->roles));
	for (i = 0; i + 1 < map->count; i += 2) {
		const struct ynode *k = map->items[i], *v = map->items[i + 1];
		const char *name = expect_string(c, k, "a role name");
		struct fleet_role *role;
		char *where;

		if (!name)
			continue;
		if (!valid_role_name(name)) {
			ERR(c, k, "role-name", "role name '%s' may hold only letters, digits, '_', '.' and '-'",
			    name);
			continue;
		}
		if (fleet_find_role(f, name))
			continue; /* reported as duplicate-key by the loader */
		role = &f->roles[f->nroles++];
		role->name = fg_strdup(name);
		where = fg_asprintf("role '%s'", name);
		load_config(c, v, &role->config, where);
		free(where);
	}
}

static void load_fleet_yaml(struct check *c, struct fleet *f, const struct ynode *root)
{
	static const char *const keys[] = { "fleet", "default_branch", "promotion", "mender",
					    "os_images", "config", "roles" };
	const struct ynode *n;

	if (!root) {
		diags_add(c->diags, DIAG_ERROR, c->file, 1, 1, "missing-key",
			  "fleet.yaml is empty: it needs at least 'fleet: 1'");
		return;
	}
	if (expect_type(c, root, YNODE_MAPPING, "fleet.yaml"))
		return;
	check_keys(c, root, keys, sizeof(keys) / sizeof(*keys), "fleet.yaml");
	n = ynode_get(root, "fleet");
	if (!n) {
		ERR(c, root, "missing-key", "missing required key 'fleet' (the format version: fleet: 1)");
	} else if (n->type != YNODE_SCALAR || scalar_kind(n) != SCALAR_NUMBER) {
		ERR(c, n, "type", "fleet must be the format version 1, not %s", node_kind_name(n));
	} else if (strcmp(n->value, "1")) {
		ERR(c, n, "version", "fleet format version '%s' is not supported (this fleetgate reads version 1)",
		    n->value);
	} else {
		f->version = 1;
	}
	if ((n = ynode_get(root, "default_branch")))
		f->default_branch = load_branch(c, n, "default_branch");
	if ((n = ynode_get(root, "promotion")))
		load_promotion(c, f, n);
	if ((n = ynode_get(root, "mender")))
		load_mender(c, f, n);
	if ((n = ynode_get(root, "os_images")))
		load_images(c, n, &f->os_images);
	if ((n = ynode_get(root, "config")))
		load_config(c, n, &f->config, "config");
	if ((n = ynode_get(root, "roles")))
		load_roles(c, f, n);
}

/* ---- devices/<id>.yaml ---- */

static int all_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return 0;
	return 1;
}

int fleet_device_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 24)
		return all_hex(id, 24);
	if (n != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-')
		return 0;
	return all_hex(id, 8) && all_hex(id + 9, 4) && all_hex(id + 14, 4) && all_hex(id + 19, 4) &&
	       all_hex(id + 24, 12);
}

static void load_device_roles(struct check *c, const struct fleet *f, struct fleet_device *d,
			      const struct ynode *seq)
{
	const char **names;
	size_t i, j;

	if (expect_type(c, seq, YNODE_SEQUENCE, "roles"))
		return;
	names = fg_calloc(f->nroles + 1, sizeof(*names));
	for (j = 0; j < f->nroles; j++)
		names[j] = f->roles[j].name;
	d->roles = fg_calloc(seq->count + 1, sizeof(char *));
	for (i = 0; i < seq->count; i++) {
		const char *name = expect_string(c, seq->items[i], "a role name");
		const char *hint;

		if (!name)
			continue;
		if (!fleet_find_role(f, name)) {
			hint = closest(name, names, f->nroles);
			if (hint)
				ERR(c, seq->items[i], "unknown-role",
				    "role '%s' is not defined in fleet.yaml (did you mean '%s'?)", name, hint);
			else
				ERR(c, seq->items[i], "unknown-role", "role '%s' is not defined in fleet.yaml",
				    name);
			continue;
		}
		d->roles[d->nroles++] = fg_strdup(name);
	}
	free(names);
}

/* Keys a device gets from fleet config, its roles and its own config;
 * counting stops one past Mender's limit (a device may list a role many
 * times, or many roles: the count must stay linear). */
static size_t merged_key_count(const struct fleet *f, const struct fleet_device *d)
{
	struct fleet_map all = { 0 };
	static const struct ynode none = { 0 };
	const struct fleet_map *part;
	const struct fleet_role *role;
	size_t i, j, n;

	for (j = 0; j <= d->nroles + 1 && all.count <= FLEET_MAX_CONFIG_KEYS; j++) {
		if (j == 0)
			part = &f->config;
		else if (j <= d->nroles)
			part = (role = fleet_find_role(f, d->roles[j - 1])) ? &role->config : NULL;
		else
			part = &d->config;
		for (i = 0; part && i < part->count && all.count <= FLEET_MAX_CONFIG_KEYS; i++)
			map_set(&all, part->items[i].key, "", &none);
	}
	n = all.count;
	fleet_map_release(&all);
	return n;
}

static void load_device_yaml(struct check *c, const struct fleet *f, struct fleet_device *d,
			     const struct ynode *root)
{
	static const char *const keys[] = { "name", "subscribed_branch", "roles", "os_images",
					    "config" };
	const struct ynode *n;
	const char *s;
	size_t nkeys;

	if (!root) {
		diags_add(c->diags, DIAG_WARNING, c->file, 1, 1, "empty-file",
			  "device file is empty; delete it if the device needs no settings of its own");
		return;
	}
	if (expect_type(c, root, YNODE_MAPPING, "a device file"))
		return;
	check_keys(c, root, keys, sizeof(keys) / sizeof(*keys), "a device file");
	if ((n = ynode_get(root, "name")) && (s = expect_string(c, n, "name"))) {
		if (has_control(s))
			ERR(c, n, "type", "name contains a control character");
		else
			d->name = fg_strdup(s);
	}
	if ((n = ynode_get(root, "subscribed_branch")))
		d->subscribed_branch = load_branch(c, n, "subscribed_branch");
	if ((n = ynode_get(root, "roles")))
		load_device_roles(c, f, d, n);
	if ((n = ynode_get(root, "os_images")))
		load_images(c, n, &d->os_images);
	if ((n = ynode_get(root, "config")))
		load_config(c, n, &d->config, "config");
	nkeys = merged_key_count(f, d);
	if (nkeys > FLEET_MAX_CONFIG_KEYS && d->config.count <= FLEET_MAX_CONFIG_KEYS &&
	    f->config.count <= FLEET_MAX_CONFIG_KEYS)
		diags_add(c->diags, DIAG_ERROR, c->file, 1, 1, "config-size",
			  "the device gets more than 100 configuration keys from fleet config, roles and its own; Mender Configure accepts at most 100");
}

/* ---- files ---- */

static const char *type_name(enum source_type t)
{
	switch (t) {
	case SOURCE_DIR:
		return "a folder";
	case SOURCE_SYMLINK:
		return "a symbolic link";
	case SOURCE_SUBMODULE:
		return "a submodule";
	case SOURCE_MISSING:
		return "missing";
	case SOURCE_FILE:
		return "a file";
	default:
		return "not a regular file";
	}
}

/* Read and parse one file; *doc NULL when it could not be loaded (reported).
 * Returns a negative code only when the source itself failed. */
static int parse_file(const struct source *src, struct check *c, struct ydoc **doc)
{
	char *data = NULL;
	const char *nul;
	size_t len;
	int rc;

	*doc = NULL;
	rc = src->ops->read(src->ctx, c->file, FLEET_MAX_FILE, &data, &len);
	if (rc == FG_ELIMIT) {
		diags_add(c->diags, DIAG_ERROR, c->file, 0, 0, "too-large",
			  "file is larger than 1 MiB");
		return 0;
	}
	if (rc)
		return rc;
	nul = memchr(data, '\0', len);
	if (nul) {
		size_t off = (size_t)(nul - data), i;
		unsigned line = 1, col = 1;

		for (i = 0; i < off; i++) {
			if (data[i] == '\n') {
				line++;
				col = 1;
			} else if (((unsigned char)data[i] & 0xc0) != 0x80) {
				col++;
			}
		}
		diags_add(c->diags, DIAG_ERROR, c->file, line, col, "binary",
			  "file contains a NUL byte: binary data is not YAML");
	} else {
		rc = ydoc_parse(doc, data, len, c->file, c->diags);
	}
	free(data);
	return rc;
}

static int device_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fleet_device *)a)->id, ((const struct fleet_device *)b)->id);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static int load_devices(const struct source *src, struct fleet *f, struct diags *diags)
{
	struct source_entry *entries = NULL;
	enum source_type type;
	size_t i, n = 0;
	int rc;

	rc = src->ops->type(src->ctx, FLEET_DEVICES_DIR, &type);
	if (rc || type == SOURCE_MISSING)
		return rc;
	if (type != SOURCE_DIR) {
		diags_add(diags, DIAG_ERROR, FLEET_DEVICES_DIR, 0, 0, "not-a-file",
			  "devices must be a folder, but it is %s", type_name(type));
		return 0;
	}
	rc = src->ops->list(src->ctx, FLEET_DEVICES_DIR, &entries, &n);
	if (rc)
		return rc;
	f->devices = fg_calloc(n + 1, sizeof(*f->devices));
	for (i = 0; i < n && !rc; i++) {
		const char *name = entries[i].name;
		char *file = fg_asprintf("devices/%s", name);
		struct check c = { file, diags };
		struct fleet_device *d;
		struct ydoc *doc = NULL;
		char *id;

		if (!ends_with(name, ".yaml") || entries[i].type == SOURCE_DIR) {
			if (ends_with(name, ".yml"))
				diags_add(diags, DIAG_WARNING, file, 0, 0, "ignored-file",
					  "ignored: device files end in .yaml (rename it to %.*s.yaml)",
					  (int)(strlen(name) - 4), name);
			else
				diags_add(diags, DIAG_WARNING, file, 0, 0, "ignored-file",
					  "ignored: only devices/<device id>.yaml files are read here");
			free(file);
			continue;
		}
		id = fg_strndup(name, strlen(name) - 5);
		if (!fleet_device_id_valid(id)) {
			diags_add(diags, DIAG_ERROR, file, 0, 0, "device-id",
				  "'%s' is not a Mender device id (a lowercase UUID like 0b6c5f9e-2d1f-4c3a-9f7e-5a4b3c2d1e0f, or 24 lowercase hex digits)",
				  id);
			free(id);
			free(file);
			continue;
		}
		if (entries[i].type != SOURCE_FILE) {
			diags_add(diags, DIAG_ERROR, file, 0, 0, "not-a-file",
				  "device file must be a regular file, but it is %s",
				  type_name(entries[i].type));
			free(id);
			free(file);
			continue;
		}
		rc = parse_file(src, &c, &doc);
		d = &f->devices[f->ndevices++];
		d->id = id;
		d->file = file;
		if (doc)
			load_device_yaml(&c, f, d, doc->root);
		ydoc_free(doc);
	}
	source_entries_free(entries, n);
	qsort(f->devices, f->ndevices, sizeof(*f->devices), device_cmp);
	return rc;
}

/* Files at the root that look like a misspelt fleet.yaml or devices/. */
static int check_root(const struct source *src, struct diags *diags)
{
	static const char *const names[] = { FLEET_FILE, FLEET_DEVICES_DIR };
	struct source_entry *entries = NULL;
	size_t i, n = 0;
	int rc;

	rc = src->ops->list(src->ctx, "", &entries, &n);
	if (rc)
		return rc;
	for (i = 0; i < n; i++) {
		const char *name = entries[i].name;
		const char *hint;

		if (!strcmp(name, FLEET_FILE) || !strcmp(name, FLEET_DEVICES_DIR) || name[0] == '.')
			continue;
		hint = closest(name, names, 2);
		if (hint && edit_distance(name, hint) <= 2)
			diags_add(diags, DIAG_WARNING, name, 0, 0, "ignored-file",
				  "ignored: did you mean '%s'?", hint);
	}
	source_entries_free(entries, n);
	return 0;
}

static int known_branch(const struct fleet *f, const struct fleet_load_options *o, const char *b)
{
	size_t i;

	if (fleet_is_stage(f, b))
		return 1;
	for (i = 0; i < o->nstages; i++)
		if (!strcmp(o->stages[i], b))
			return 1;
	for (i = 0; i < o->nbranches; i++)
		if (!strcmp(o->branches[i], b))
			return 1;
	return 0;
}

static void check_branches(const struct fleet *f, const struct fleet_load_options *o,
			   struct diags *diags)
{
	size_t i;

	if (!o || !o->check_branches)
		return;
	if (f->default_branch && !known_branch(f, o, f->default_branch))
		diags_add(diags, DIAG_WARNING, FLEET_FILE, 0, 0, "unknown-branch",
			  "default_branch '%s' is neither a stage nor a branch of this repository",
			  f->default_branch);
	for (i = 0; i < f->ndevices; i++) {
		const struct fleet_device *d = &f->devices[i];

		if (d->subscribed_branch && !known_branch(f, o, d->subscribed_branch))
			diags_add(diags, DIAG_WARNING, d->file, 0, 0, "unknown-branch",
				  "subscribed_branch '%s' is neither a stage nor a branch of this repository",
				  d->subscribed_branch);
	}
}

int fleet_load(struct fleet **out, const struct source *src, const struct fleet_load_options *opts,
	       struct diags *diags)
{
	struct fleet *f = fg_calloc(1, sizeof(*f));
	struct check c = { FLEET_FILE, diags };
	struct ydoc *doc = NULL;
	enum source_type type;
	int rc;

	*out = NULL;
	f->os_attribute = fg_strdup("rootfs-image.version");
	rc = src->ops->type(src->ctx, FLEET_FILE, &type);
	if (rc)
		goto fail;
	if (type == SOURCE_MISSING) {
		diags_add(diags, DIAG_ERROR, FLEET_FILE, 0, 0, "missing-file",
			  "fleet.yaml is missing at the root of %s: without it no device is managed",
			  src->label);
	} else if (type != SOURCE_FILE) {
		diags_add(diags, DIAG_ERROR, FLEET_FILE, 0, 0, "not-a-file",
			  "fleet.yaml must be a regular file, but it is %s", type_name(type));
	} else {
		rc = parse_file(src, &c, &doc);
		if (rc)
			goto fail;
		if (doc)
			load_fleet_yaml(&c, f, doc->root);
		ydoc_free(doc);
	}
	rc = check_root(src, diags);
	if (!rc)
		rc = load_devices(src, f, diags);
	if (rc)
		goto fail;
	check_branches(f, opts, diags);
	diags_sort(diags);
	*out = f;
	return 0;
fail:
	fleet_free(f);
	return rc;
}

int fleet_read_promotion(const struct source *src, char ***stages, size_t *count)
{
	struct fleet *f = fg_calloc(1, sizeof(*f));
	struct diags scratch;
	struct check c = { FLEET_FILE, &scratch };
	struct ydoc *doc = NULL;
	const struct ynode *n;
	enum source_type type;
	int rc;

	*stages = NULL;
	*count = 0;
	diags_init(&scratch);
	rc = src->ops->type(src->ctx, FLEET_FILE, &type);
	if (!rc && type == SOURCE_FILE)
		rc = parse_file(src, &c, &doc);
	if (!rc && doc && (n = ynode_get(doc->root, "promotion")))
		load_promotion(&c, f, n);
	if (!rc && scratch.errors) {
		/* A stage list that cannot be read is an error, never "no stages":
		 * that would make every stage a free branch. */
		const struct diag *d = scratch.items;
		size_t i;

		for (i = 0; i < scratch.count; i++)
			if (scratch.items[i].severity == DIAG_ERROR) {
				d = &scratch.items[i];
				break;
			}
		rc = fg_error_set(FG_EINVAL, "%s:%u:%u: %s [%s]", d->file, d->line, d->column, d->message,
				  d->code);
	} else if (!rc) {
		*stages = f->promotion;
		*count = f->npromotion;
		f->promotion = NULL;
		f->npromotion = 0;
	}
	ydoc_free(doc);
	diags_release(&scratch);
	fleet_free(f);
	return rc;
}

void fleet_free(struct fleet *f)
{
	size_t i, j;

	if (!f)
		return;
	free(f->default_branch);
	for (i = 0; i < f->npromotion; i++)
		free(f->promotion[i]);
	free(f->promotion);
	free(f->mender_server);
	free(f->os_attribute);
	fleet_map_release(&f->os_images);
	fleet_map_release(&f->config);
	for (i = 0; i < f->nroles; i++) {
		free(f->roles[i].name);
		fleet_map_release(&f->roles[i].config);
	}
	free(f->roles);
	for (i = 0; i < f->ndevices; i++) {
		struct fleet_device *d = &f->devices[i];

		free(d->id);
		free(d->file);
		free(d->name);
		free(d->subscribed_branch);
		for (j = 0; j < d->nroles; j++)
			free(d->roles[j]);
		free(d->roles);
		fleet_map_release(&d->os_images);
		fleet_map_release(&d->config);
	}
	free(f->devices);
	free(f);
}

const struct fleet_device *fleet_find_device(const struct fleet *f, const char *id)
{
	struct fleet_device key = { .id = (char *)id };

	if (!f->ndevices)
		return NULL;
	return bsearch(&key, f->devices, f->ndevices, sizeof(*f->devices), device_cmp);
}

const struct fleet_role *fleet_find_role(const struct fleet *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->nroles; i++)
		if (!strcmp(f->roles[i].name, name))
			return &f->roles[i];
	return NULL;
}

int fleet_is_stage(const struct fleet *f, const char *branch)
{
	size_t i;

	for (i = 0; i < f->npromotion; i++)
		if (!strcmp(f->promotion[i], branch))
			return 1;
	return 0;
}
