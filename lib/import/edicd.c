#include "import/edicd.h"

#include "core/alloc.h"
#include "core/error.h"
#include "core/hmac.h"
#include "fleet/desired.h"
#include "fleet/ydoc.h"
#include "import/jinja.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* A loaded YAML file and where it came from. */
struct yfile {
	char *path;
	struct ydoc *doc;
};

struct host {
	char *id;
	const struct ynode *inline_vars; /* the host's map in inventory.yml, or NULL */
	struct yfile *vars;              /* host_vars/<id>.yml, or NULL */
	int orphan;
};

/* A template read once, shared by the hosts that render it. */
struct tmpl {
	char *name;
	struct jinja_template *t; /* NULL when it failed to parse or is missing */
	int used;
};

struct reader {
	const struct source *src;
	struct edicd_import *out;
	struct yfile inventory, group;
	const struct ynode *all_vars; /* all: vars: in inventory.yml */
	struct host *hosts;
	size_t nhosts, ahosts;
	struct yfile **host_files; /* each its own allocation: hosts point to them */
	size_t nhost_files, ahost_files;
	struct tmpl *tmpls;
	size_t ntmpls, atmpls;
	char **dropped; /* groups without variables */
	size_t ndropped, adropped;
	size_t anotes;
	/* names rendering read, for the unused-key report */
	char **used;
	size_t nused, aused;
	char **group_used;
	size_t ngroup_used, agroup_used;
};

static void note(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(struct reader *r, const char *fmt, ...)
{
	va_list ap;

	r->out->notes = fg_grow(r->out->notes, &r->anotes, r->out->nnotes + 1, sizeof(char *));
	va_start(ap, fmt);
	r->out->notes[r->out->nnotes++] = fg_vasprintf(fmt, ap);
	va_end(ap);
}

/* A problem of a whole file (line and column 0). */
#define FILE_ERROR(r, file, code, ...) \
	diags_add(&(r)->out->diags, DIAG_ERROR, file, 0, 0, code, __VA_ARGS__)

#define ERROR_AT(r, file, n, code, ...)                                                           \
	diags_add(&(r)->out->diags, DIAG_ERROR, file, (n) ? (n)->line : 0, (n) ? (n)->column : 0, \
		  code, __VA_ARGS__)

/* Read `path` into *doc; a missing file leaves *doc NULL with no error. */
static int read_yaml(struct reader *r, const char *path, struct yfile *f)
{
	enum source_type type;
	char *data = NULL;
	size_t len = 0;
	int rc;

	memset(f, 0, sizeof(*f));
	f->path = fg_strdup(path);
	rc = r->src->ops->type(r->src->ctx, path, &type);
	if (rc || type == SOURCE_MISSING)
		return rc;
	if (type != SOURCE_FILE) {
		FILE_ERROR(r, path, "not-a-file", "'%s' is not a regular file", path);
		return 0;
	}
	rc = r->src->ops->read(r->src->ctx, path, FLEET_MAX_FILE, &data, &len);
	if (rc == FG_ELIMIT) {
		FILE_ERROR(r, path, "too-large", "'%s' is over 1 MiB", path);
		return 0;
	}
	if (rc)
		return rc;
	ydoc_parse(&f->doc, data, len, path, &r->out->diags);
	free(data);
	return 0;
}

static void yfile_release(struct yfile *f)
{
	free(f->path);
	ydoc_free(f->doc);
}

static const struct ynode *root_map(struct reader *r, const struct yfile *f)
{
	const struct ynode *root = f->doc ? f->doc->root : NULL;

	if (root && root->type != YNODE_MAPPING) {
		ERROR_AT(r, f->path, root, "type", "'%s' must hold a mapping of variables", f->path);
		return NULL;
	}
	if (root && ynode_get(root, "<<"))
		ERROR_AT(r, f->path, root, "template-unsupported",
			 "the merge key '<<' is not supported");
	return root;
}

/* ---- the inventory ---- */

static struct host *find_host(struct reader *r, const char *id)
{
	size_t i;

	for (i = 0; i < r->nhosts; i++)
		if (!strcmp(r->hosts[i].id, id))
			return &r->hosts[i];
	return NULL;
}

static void add_hosts(struct reader *r, const struct ynode *hosts)
{
	size_t i;

	if (!hosts || (hosts->type == YNODE_SCALAR && !hosts->plain) ||
	    (hosts->type == YNODE_SCALAR && *hosts->value))
		goto bad;
	if (hosts->type == YNODE_SCALAR)
		return; /* "hosts:" with nothing */
	if (hosts->type != YNODE_MAPPING)
		goto bad;
	for (i = 0; i + 1 < hosts->count; i += 2) {
		const struct ynode *k = hosts->items[i], *v = hosts->items[i + 1];
		struct host *h;

		if (k->type != YNODE_SCALAR)
			goto bad;
		if (v->type != YNODE_MAPPING && !(v->type == YNODE_SCALAR && v->plain && !*v->value)) {
			ERROR_AT(r, r->inventory.path, v, "type",
				 "the variables of host '%s' must be a mapping", k->value);
			continue;
		}
		h = find_host(r, k->value);
		if (!h) {
			r->hosts = fg_grow(r->hosts, &r->ahosts, r->nhosts + 1, sizeof(*r->hosts));
			h = &r->hosts[r->nhosts++];
			memset(h, 0, sizeof(*h));
			h->id = fg_strdup(k->value);
		}
		if (v->type == YNODE_MAPPING && v->count) {
			if (h->inline_vars)
				ERROR_AT(r, r->inventory.path, v, "template-unsupported",
					 "host '%s' has variables in two groups: not supported",
					 h->id);
			h->inline_vars = v;
		}
	}
	return;
bad:
	ERROR_AT(r, r->inventory.path, hosts, "type", "'hosts' must be a mapping of host names");
}

static void walk_group(struct reader *r, const char *name, const struct ynode *g, int depth);

static void walk_children(struct reader *r, const struct ynode *c, int depth)
{
	size_t i;

	if (c->type == YNODE_SCALAR && c->plain && !*c->value)
		return;
	if (c->type != YNODE_MAPPING) {
		ERROR_AT(r, r->inventory.path, c, "type", "'children' must be a mapping of groups");
		return;
	}
	for (i = 0; i + 1 < c->count; i += 2)
		walk_group(r, c->items[i]->value ? c->items[i]->value : "", c->items[i + 1],
			   depth + 1);
}

static void walk_group(struct reader *r, const char *name, const struct ynode *g, int depth)
{
	static const char *const keys[] = { "hosts", "children", "vars", NULL };
	size_t i, k;
	int has_vars = 0;
	struct yfile gv;
	char *path;

	if (depth > YDOC_MAX_DEPTH)
		return;
	if (g->type == YNODE_SCALAR && g->plain && !*g->value)
		goto vars; /* a group with nothing */
	if (g->type != YNODE_MAPPING) {
		ERROR_AT(r, r->inventory.path, g, "type", "group '%s' must be a mapping", name);
		return;
	}
	for (i = 0; i + 1 < g->count; i += 2) {
		const struct ynode *key = g->items[i], *v = g->items[i + 1];

		for (k = 0; keys[k] && (!key->value || strcmp(key->value, keys[k])); k++)
			;
		if (!keys[k]) {
			ERROR_AT(r, r->inventory.path, key, "unknown-key",
				 "unknown key '%s' in group '%s' (an inventory group has hosts, children and vars)",
				 key->value ? key->value : "?", name);
		} else if (k == 0) {
			add_hosts(r, v);
		} else if (k == 1) {
			walk_children(r, v, depth);
		} else if (!strcmp(name, "all") && depth == 0) {
			if (v->type != YNODE_MAPPING)
				ERROR_AT(r, r->inventory.path, v, "type", "'vars' must be a mapping");
			else
				r->all_vars = v;
		} else {
			has_vars = 1;
			ERROR_AT(r, r->inventory.path, key, "template-unsupported",
				 "variables of group '%s': only the group 'all' may carry variables",
				 name);
		}
	}
vars:
	if (!strcmp(name, "all") && depth == 0)
		return;
	path = fg_asprintf("group_vars/%s.yml", name);
	read_yaml(r, path, &gv);
	if (gv.doc) {
		has_vars = 1;
		FILE_ERROR(r, gv.path, "template-unsupported",
			   "variables of group '%s': only group_vars/all.yml is supported", name);
	}
	yfile_release(&gv);
	free(path);
	for (i = 0; !has_vars && i < r->ndropped; i++)
		if (!strcmp(r->dropped[i], name))
			has_vars = 1; /* listed once */
	if (!has_vars) {
		r->dropped = fg_grow(r->dropped, &r->adropped, r->ndropped + 1, sizeof(char *));
		r->dropped[r->ndropped++] = fg_strdup(name);
	}
}

static int read_inventory(struct reader *r)
{
	const struct ynode *root;
	size_t i;
	int rc = read_yaml(r, EDICD_INVENTORY, &r->inventory);

	if (rc)
		return rc;
	if (!r->inventory.doc) {
		if (!r->out->diags.errors)
			FILE_ERROR(r, EDICD_INVENTORY, "missing-file",
				   "no inventory.yml: not an edi-cd repository");
		return 0;
	}
	root = r->inventory.doc->root;
	if (!root || root->type != YNODE_MAPPING) {
		ERROR_AT(r, EDICD_INVENTORY, root, "type",
			 "the inventory must be a mapping of groups");
		return 0;
	}
	for (i = 0; i + 1 < root->count; i += 2) {
		const char *name = root->items[i]->value ? root->items[i]->value : "";

		if (strcmp(name, "all"))
			ERROR_AT(r, EDICD_INVENTORY, root->items[i], "template-unsupported",
				 "top-level group '%s': only 'all' (with children) is supported",
				 name);
		else
			walk_group(r, name, root->items[i + 1], 0);
	}
	return 0;
}

/* ---- host_vars ---- */

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a > b && !strcmp(s + a - b, suffix);
}

static int read_host_vars(struct reader *r)
{
	struct source_entry *e = NULL;
	size_t n = 0, i;
	int rc = r->src->ops->list(r->src->ctx, "host_vars", &e, &n);

	for (i = 0; !rc && i < n; i++) {
		size_t cut = ends_with(e[i].name, ".yml")    ? 4
			     : ends_with(e[i].name, ".yaml") ? 5
							     : 0;
		char *path = fg_asprintf("host_vars/%s", e[i].name), *id;
		struct yfile *f;
		struct host *h;

		if (!cut || e[i].type != SOURCE_FILE) {
			note(r, "%s: ignored (a host_vars entry that is not a .yml or .yaml file)",
			     path);
			free(path);
			continue;
		}
		r->host_files = fg_grow(r->host_files, &r->ahost_files, r->nhost_files + 1,
					sizeof(*r->host_files));
		f = fg_calloc(1, sizeof(*f));
		r->host_files[r->nhost_files++] = f;
		rc = read_yaml(r, path, f);
		free(path);
		id = fg_strndup(e[i].name, strlen(e[i].name) - cut);
		h = find_host(r, id);
		if (!h) {
			r->hosts = fg_grow(r->hosts, &r->ahosts, r->nhosts + 1, sizeof(*r->hosts));
			h = &r->hosts[r->nhosts++];
			memset(h, 0, sizeof(*h));
			h->id = id;
			h->orphan = 1;
		} else {
			free(id);
		}
		if (h->vars)
			FILE_ERROR(r, f->path, "duplicate-key", "host '%s' has two host_vars files",
				   h->id);
		h->vars = f;
	}
	source_entries_free(e, n);
	return rc;
}

/* ---- rendering a host ---- */

static void remember(char ***list, size_t *n, size_t *alloc, const char *name)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (!strcmp((*list)[i], name))
			return;
	*list = fg_grow(*list, alloc, *n + 1, sizeof(char *));
	(*list)[(*n)++] = fg_strdup(name);
}

static void used_name(void *ctx, const char *name)
{
	struct reader *r = ctx;

	remember(&r->used, &r->nused, &r->aused, name);
	remember(&r->group_used, &r->ngroup_used, &r->agroup_used, name);
}

static const struct ynode *chain_get(const struct jinja_scope *sc, const char *name, size_t *at)
{
	const struct ynode *n;
	size_t i;

	for (i = 0; i < sc->nmaps; i++)
		if (sc->maps[i] && (n = ynode_get(sc->maps[i], name))) {
			if (at)
				*at = i;
			return n;
		}
	return NULL;
}

static struct tmpl *get_template(struct reader *r, const char *name)
{
	struct tmpl *t;
	char *path, *data = NULL;
	size_t i, len = 0;
	enum source_type type;

	for (i = 0; i < r->ntmpls; i++)
		if (!strcmp(r->tmpls[i].name, name))
			return &r->tmpls[i];
	r->tmpls = fg_grow(r->tmpls, &r->atmpls, r->ntmpls + 1, sizeof(*r->tmpls));
	t = &r->tmpls[r->ntmpls++];
	memset(t, 0, sizeof(*t));
	t->name = fg_strdup(name);
	path = fg_asprintf("%s/%s", EDICD_TEMPLATES, name);
	if (r->src->ops->type(r->src->ctx, path, &type) || type != SOURCE_FILE)
		FILE_ERROR(r, path, "missing-file", "the template '%s' is not a file", path);
	else if (r->src->ops->read(r->src->ctx, path, JINJA_MAX_TEXT, &data, &len))
		FILE_ERROR(r, path, "too-large", "%s", fg_error_message());
	else
		jinja_parse(&t->t, data, len, path, &r->out->diags);
	free(data);
	free(path);
	return t;
}

static int host_error(struct edicd_device *d, const char *what)
{
	if (!d->error)
		d->error = fg_asprintf("%s", what);
	return -1;
}

/* A scalar of the chain as Ansible prints it; -1 with d->error. */
static int chain_str(struct edicd_device *d, const struct jinja_scope *sc, const char *name,
		     char **out)
{
	size_t at = 0;
	const struct ynode *n = chain_get(sc, name, &at);

	*out = NULL;
	if (!n)
		return 0;
	if (jinja_node_str(sc, n, sc->files[at], name, out))
		return host_error(d, fg_error_message());
	return 0;
}

static int host_images(struct edicd_device *d, const struct jinja_scope *sc, int host_level,
		       struct mender_kv **images, size_t *nimages)
{
	size_t at = 0, i;
	const struct ynode *list = chain_get(sc, "os_image", &at);

	*images = NULL;
	*nimages = 0;
	if (!list)
		return 0;
	d->own_images = at < (size_t)host_level;
	if (list->type != YNODE_SEQUENCE)
		return host_error(d, "os_image must be a list of {device_type, image_name}");
	*images = fg_calloc(list->count + 1, sizeof(**images));
	for (i = 0; i < list->count; i++) {
		const struct ynode *it = list->items[i], *t, *img;
		struct mender_kv *kv = &(*images)[*nimages];

		if (it->type != YNODE_MAPPING || !(t = ynode_get(it, "device_type")) ||
		    !(img = ynode_get(it, "image_name")))
			return host_error(d, "os_image must be a list of {device_type, image_name}");
		if (jinja_node_str(sc, t, sc->files[at], "device_type", &kv->key) ||
		    jinja_node_str(sc, img, sc->files[at], "image_name", &kv->value))
			return host_error(d, fg_error_message());
		(*nimages)++;
	}
	return 0;
}

/* Which template a host renders: configuration.template (2022), else
 * edge-configuration.json when the repository has it, else none. */
static int host_template(struct reader *r, struct edicd_device *d, const struct jinja_scope *sc,
			 int have_default, char **name)
{
	size_t at = 0;
	const struct ynode *c = chain_get(sc, "configuration", &at), *t;

	*name = NULL;
	if (c && c->type == YNODE_MAPPING && (t = ynode_get(c, "template"))) {
		used_name(r, "configuration.template");
		if (jinja_node_str(sc, t, sc->files[at], "configuration.template", name))
			return host_error(d, fg_error_message());
		if (!**name || strchr(*name, '/') || !strcmp(*name, "..") || !strcmp(*name, "."))
			return host_error(
				d, "configuration.template must name a file of " EDICD_TEMPLATES);
		return 0;
	}
	if (have_default)
		*name = fg_strdup(EDICD_TEMPLATE);
	return 0;
}

static void render_host(struct reader *r, const struct host *h, struct edicd_device *d,
			int have_default)
{
	const struct ynode *group = r->group.doc ? r->group.doc->root : NULL;
	const struct ynode *maps[4];
	const char *files[4] = { h->vars ? h->vars->path : NULL, EDICD_INVENTORY, r->group.path,
				 EDICD_INVENTORY };
	struct jinja_scope sc;
	struct tmpl *t;
	char *text = NULL;

	maps[0] = h->vars && h->vars->doc ? h->vars->doc->root : NULL;
	maps[1] = h->inline_vars;
	maps[2] = group;
	maps[3] = r->all_vars;
	sc.maps = maps;
	sc.files = files;
	sc.nmaps = 4;
	sc.hostname = h->id;
	fg_strings_free(r->used, r->nused);
	r->used = NULL;
	r->nused = r->aused = 0;
	if (chain_str(d, &sc, "subscribed_branch", &d->branch) ||
	    host_images(d, &sc, 2, &d->images, &d->nimages) ||
	    host_template(r, d, &sc, have_default, &d->template))
		return;
	if (!d->branch)
		host_error(d, "subscribed_branch is undefined");
	if (!d->template)
		return;
	t = get_template(r, d->template);
	t->used = 1;
	if (!t->t)
		return; /* reported in diags */
	if (jinja_render(t->t, &sc, used_name, r, &text)) {
		host_error(d, fg_error_message());
		return;
	}
	if (mender_parse_config_map(text, strlen(text), &d->config, &d->nconfig)) {
		char *why = fg_asprintf("%s rendered for this host is no configuration map: %s",
					d->template, fg_error_message());

		host_error(d, why);
		free(why);
	}
	free(text);
}

static int in_list(const char *s, char **list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(list[i], s))
			return 1;
	return 0;
}

static int one_of_words(const char *s, const char *const *words)
{
	for (; *words; words++)
		if (!strcmp(s, *words))
			return 1;
	return 0;
}

/* Keys of a host's own variables that no rendering read. */
static void unused_keys(struct reader *r, const char *file, const struct ynode *map, char **used,
			size_t nused)
{
	static const char *const importer[] = { "subscribed_branch", "os_image", "mender_server",
						NULL };
	size_t i, j, k;

	for (i = 0; map && map->type == YNODE_MAPPING && i + 1 < map->count; i += 2) {
		const struct ynode *key = map->items[i], *v = map->items[i + 1];
		int seen = 0;

		if (!key->value || one_of_words(key->value, importer))
			continue;
		if (!strcmp(key->value, "configuration") && v->type == YNODE_MAPPING) {
			for (j = 0; j + 1 < v->count; j += 2) {
				const struct ynode *sub = v->items[j + 1];

				if (!v->items[j]->value || strcmp(v->items[j]->value, "parameters") ||
				    sub->type != YNODE_MAPPING)
					continue;
				for (k = 0; k + 1 < sub->count; k += 2) {
					char *dotted = fg_asprintf("configuration.parameters.%s",
								   sub->items[k]->value);

					if (!in_list(dotted, used, nused))
						note(r, "%s:%u:%u: unused: no template reads '%s'",
						     file, sub->items[k]->line,
						     sub->items[k]->column, dotted);
					free(dotted);
				}
			}
			continue;
		}
		seen = in_list(key->value, used, nused);
		if (!seen)
			note(r, "%s:%u:%u: unused: no template reads '%s'", file, key->line,
			     key->column, key->value);
	}
}

/* Every ${secret:NAME} of the configuration, into the sorted set. */
static void collect_secrets(struct edicd_import *imp, size_t *alloc, const char *value)
{
	const char *p = value;

	while ((p = strstr(p, "${secret:"))) {
		const char *name = p + 9, *end = strchr(name, '}');
		char *s;
		size_t i;

		if (!end)
			return;
		s = fg_strndup(name, (size_t)(end - name));
		for (i = 0; i < imp->nsecrets && strcmp(imp->secrets[i], s) < 0; i++)
			;
		if (i < imp->nsecrets && !strcmp(imp->secrets[i], s)) {
			free(s);
		} else {
			imp->secrets =
				fg_grow(imp->secrets, alloc, imp->nsecrets + 1, sizeof(char *));
			memmove(imp->secrets + i + 1, imp->secrets + i,
				(imp->nsecrets - i) * sizeof(char *));
			imp->secrets[i] = s;
			imp->nsecrets++;
		}
		p = end + 1;
	}
}

static int orphan_cmp(const void *a, const void *b)
{
	return strcmp(((const struct host *)a)->id, ((const struct host *)b)->id);
}

static void import_hosts(struct reader *r, int include_orphans, int have_default)
{
	struct edicd_import *imp = r->out;
	size_t i, j, k, asecrets = 0;
	int schema_2022 = 0, schema_today = 0;

	/* inventory order, then the orphans (read after it) by name */
	for (i = 0; i < r->nhosts && !r->hosts[i].orphan; i++)
		;
	qsort(r->hosts + i, r->nhosts - i, sizeof(*r->hosts), orphan_cmp);
	imp->devices = fg_calloc(r->nhosts + 1, sizeof(*imp->devices));
	for (i = 0; i < r->nhosts; i++) {
		const struct host *h = &r->hosts[i];
		struct edicd_device *d;

		if (h->orphan) {
			imp->norphans++;
			note(r, "%s: orphan: '%s' is not in inventory.yml (Ansible ignores it); %s",
			     h->vars->path, h->id,
			     include_orphans ? "imported (--include-orphans)"
					     : "not imported (--include-orphans imports it)");
			if (!include_orphans)
				continue;
		}
		d = &imp->devices[imp->ndevices++];
		d->id = fg_strdup(h->id);
		d->file = h->vars ? fg_strdup(h->vars->path) : NULL;
		d->orphan = h->orphan;
		if (!fleet_device_id_valid(h->id))
			host_error(d,
				   "the host name is not a Mender device id (a lowercase UUID or 24 hex digits)");
		else
			render_host(r, h, d, have_default);
		for (k = 0; k < d->nconfig; k++)
			collect_secrets(imp, &asecrets, d->config[k].value);
		if (d->template) {
			schema_2022 |= strcmp(d->template, EDICD_TEMPLATE) != 0 || !have_default;
			schema_today |= !strcmp(d->template, EDICD_TEMPLATE) && have_default;
		}
		if (h->vars && h->vars->doc)
			unused_keys(r, h->vars->path, h->vars->doc->root, r->used, r->nused);
		if (h->inline_vars)
			unused_keys(r, EDICD_INVENTORY, h->inline_vars, r->used, r->nused);
	}
	imp->schema = schema_2022 && schema_today
			      ? "edge-configuration.json and configuration.template"
		      : schema_2022 ? "configuration.template (2022)"
				    : "edge-configuration.json";
	if (r->group.doc)
		unused_keys(r, r->group.path, r->group.doc->root, r->group_used, r->ngroup_used);
	for (j = 0; j < r->ntmpls; j++)
		if (!r->tmpls[j].used)
			note(r, "%s/%s: no host renders it", EDICD_TEMPLATES, r->tmpls[j].name);
}

static void reader_release(struct reader *r)
{
	size_t i;

	yfile_release(&r->inventory);
	yfile_release(&r->group);
	for (i = 0; i < r->nhosts; i++)
		free(r->hosts[i].id);
	free(r->hosts);
	for (i = 0; i < r->nhost_files; i++) {
		yfile_release(r->host_files[i]);
		free(r->host_files[i]);
	}
	free(r->host_files);
	for (i = 0; i < r->ntmpls; i++) {
		free(r->tmpls[i].name);
		jinja_free(r->tmpls[i].t);
	}
	free(r->tmpls);
	fg_strings_free(r->dropped, r->ndropped);
	fg_strings_free(r->used, r->nused);
	fg_strings_free(r->group_used, r->ngroup_used);
}

static void group_defaults(struct reader *r)
{
	const struct ynode *maps[2] = { r->group.doc ? r->group.doc->root : NULL, r->all_vars };
	const char *files[2] = { r->group.path, EDICD_INVENTORY };
	struct jinja_scope sc = { maps, files, 2, NULL };
	struct edicd_device scratch;

	memset(&scratch, 0, sizeof(scratch));
	if (chain_str(&scratch, &sc, "mender_server", &r->out->mender_server) ||
	    host_images(&scratch, &sc, 0, &r->out->images, &r->out->nimages))
		FILE_ERROR(r, r->group.path, "type", "%s", scratch.error);
	free(scratch.error);
}

int edicd_read(struct edicd_import *out, const struct source *src, int include_orphans)
{
	struct reader r;
	enum source_type type;
	char *list;
	size_t i;
	int rc, have_default = 0;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	diags_init(&out->diags);
	r.src = src;
	r.out = out;
	rc = read_inventory(&r);
	if (!rc)
		rc = read_yaml(&r, "group_vars/all.yml", &r.group);
	if (!rc && !r.group.doc) {
		yfile_release(&r.group);
		rc = read_yaml(&r, "group_vars/all.yaml", &r.group);
	}
	if (!rc && r.inventory.doc) {
		root_map(&r, &r.group);
		rc = read_host_vars(&r);
	}
	for (i = 0; !rc && i < r.nhost_files; i++)
		root_map(&r, r.host_files[i]);
	if (!rc)
		rc = src->ops->type(src->ctx, EDICD_TEMPLATES "/" EDICD_TEMPLATE, &type);
	if (rc)
		goto done;
	have_default = type == SOURCE_FILE;
	if (have_default)
		get_template(&r, EDICD_TEMPLATE);
	if (!out->diags.errors) {
		group_defaults(&r);
		import_hosts(&r, include_orphans, have_default);
	}
	if (r.ndropped) {
		struct fg_buf b = FG_BUF_INIT;

		fg_buf_init(&b);
		for (i = 0; i < r.ndropped; i++)
			fg_buf_printf(&b, "%s%s", i ? ", " : "", r.dropped[i]);
		list = fg_buf_detach(&b);
		note(&r,
		     "%s: groups without variables dropped (fleetgate has no groups; Mender's device type picks the OS image): %s",
		     EDICD_INVENTORY, list);
		free(list);
	}
	diags_sort(&out->diags);
done:
	reader_release(&r);
	if (rc)
		edicd_release(out);
	return rc;
}

static void device_release(struct edicd_device *d)
{
	free(d->id);
	free(d->file);
	free(d->branch);
	free(d->template);
	mender_kv_free(d->config, d->nconfig);
	mender_kv_free(d->images, d->nimages);
	free(d->error);
}

void edicd_release(struct edicd_import *imp)
{
	size_t i;

	free(imp->mender_server);
	mender_kv_free(imp->images, imp->nimages);
	for (i = 0; i < imp->ndevices; i++)
		device_release(&imp->devices[i]);
	free(imp->devices);
	fg_strings_free(imp->secrets, imp->nsecrets);
	fg_strings_free(imp->notes, imp->nnotes);
	diags_release(&imp->diags);
	memset(imp, 0, sizeof(*imp));
}

size_t edicd_failed(const struct edicd_import *imp)
{
	size_t i, n = 0;

	for (i = 0; i < imp->ndevices; i++)
		n += imp->devices[i].error != NULL;
	return n;
}

/* ---- the fleet files ---- */

static const char *kv_find(const struct mender_kv *kv, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(kv[i].key, key))
			return kv[i].value;
	return NULL;
}

/* A YAML double-quoted scalar: exactly these bytes, whatever they are. */
static void put_quoted(struct fg_buf *b, const char *s)
{
	fg_buf_putc(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fg_buf_printf(b, "\\%c", c);
		else if (c == '\n')
			fg_buf_puts(b, "\\n");
		else if (c == '\t')
			fg_buf_puts(b, "\\t");
		else if (c < 0x20 || c == 0x7f)
			fg_buf_printf(b, "\\x%02x", c);
		else
			fg_buf_putc(b, (char)c);
	}
	fg_buf_putc(b, '"');
}

static void put_map(struct fg_buf *b, const char *name, const struct mender_kv *kv, size_t n,
		    const char *const *skip, size_t nskip)
{
	size_t i, j, shown = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < nskip && strcmp(skip[j], kv[i].key); j++)
			;
		if (j < nskip)
			continue;
		if (!shown++)
			fg_buf_printf(b, "%s:\n", name);
		fg_buf_puts(b, "  ");
		put_quoted(b, kv[i].key);
		fg_buf_puts(b, ": ");
		put_quoted(b, kv[i].value);
		fg_buf_putc(b, '\n');
	}
}

/* The keys every device's map holds with the same value, in the first's order. */
static const char **shared_keys(const struct edicd_import *imp, size_t *n)
{
	const struct edicd_device *first = imp->ndevices ? &imp->devices[0] : NULL;
	const char **keys = fg_calloc((first ? first->nconfig : 0) + 1, sizeof(char *));
	size_t i, j;

	*n = 0;
	for (i = 0; first && i < first->nconfig; i++) {
		const char *k = first->config[i].key, *v = first->config[i].value;

		for (j = 1; j < imp->ndevices; j++) {
			const struct edicd_device *d = &imp->devices[j];
			const char *dv = kv_find(d->config, d->nconfig, k);

			if (!dv || strcmp(dv, v))
				break;
		}
		if (j == imp->ndevices)
			keys[(*n)++] = k;
	}
	return keys;
}

static void add_file(struct edicd_file **files, size_t *n, size_t *alloc, char *path,
		     struct fg_buf *b)
{
	*files = fg_grow(*files, alloc, *n + 1, sizeof(**files));
	(*files)[*n].path = path;
	(*files)[*n].len = b->len;
	(*files)[*n].content = fg_buf_detach(b);
	(*n)++;
}

void edicd_fleet_files(const struct edicd_import *imp, struct edicd_file **files, size_t *n)
{
	struct fg_buf b = FG_BUF_INIT;
	size_t i, nshared, alloc = 0;
	const char **shared = shared_keys(imp, &nshared);
	const struct edicd_device *first = imp->ndevices ? &imp->devices[0] : NULL;

	*files = NULL;
	*n = 0;
	fg_buf_init(&b);
	fg_buf_puts(&b,
		    "# Imported from edi-cd by fleetgate import edi-cd: see docs/migrate-from-edi-cd.md.\n"
		    "# No default_branch: as in edi-cd, only the devices listed here are managed.\n"
		    "fleet: 1\n");
	if (imp->mender_server) {
		fg_buf_puts(&b, "mender:\n  server: ");
		put_quoted(&b, imp->mender_server);
		fg_buf_putc(&b, '\n');
	}
	put_map(&b, "os_images", imp->images, imp->nimages, NULL, 0);
	if (first) {
		/* the shared keys, in the first device's order */
		struct mender_kv *kv = fg_calloc(nshared + 1, sizeof(*kv));

		for (i = 0; i < nshared; i++) {
			kv[i].key = (char *)shared[i];
			kv[i].value = (char *)kv_find(first->config, first->nconfig, shared[i]);
		}
		put_map(&b, "config", kv, nshared, NULL, 0);
		free(kv);
	}
	add_file(files, n, &alloc, fg_strdup(FLEET_FILE), &b);
	for (i = 0; i < imp->ndevices; i++) {
		const struct edicd_device *d = &imp->devices[i];

		fg_buf_init(&b);
		fg_buf_printf(&b, "# %s\n",
			      d->file ? d->file
				      : "in inventory.yml without host_vars: the group's defaults");
		fg_buf_puts(&b, "subscribed_branch: ");
		put_quoted(&b, d->branch);
		fg_buf_putc(&b, '\n');
		if (d->own_images)
			put_map(&b, "os_images", d->images, d->nimages, NULL, 0);
		put_map(&b, "config", d->config, d->nconfig, shared, nshared);
		add_file(files, n, &alloc, fg_asprintf(FLEET_DEVICES_DIR "/%s.yaml", d->id), &b);
	}
	free(shared);
}

void edicd_files_free(struct edicd_file *files, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(files[i].path);
		free(files[i].content);
	}
	free(files);
}

/* ---- --check ---- */

/* One side of a comparison: subscription, artifact, configuration. */
struct state {
	const char *branch;
	const char *artifact;
	struct mender_kv *config; /* sorted by key, values owned */
	size_t nconfig;
};

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mender_kv *)a)->key, ((const struct mender_kv *)b)->key);
}

static void edicd_state(struct state *s, const struct edicd_device *d,
			const struct edicd_import *imp, const char *type)
{
	const struct mender_kv *images = d->own_images ? d->images : imp->images;
	size_t nimages = d->own_images ? d->nimages : imp->nimages, i;

	memset(s, 0, sizeof(*s));
	s->branch = d->branch;
	s->artifact = type ? kv_find(images, nimages, type) : NULL;
	s->config = fg_calloc(d->nconfig + 1, sizeof(*s->config));
	for (i = 0; i < d->nconfig; i++) {
		s->config[i].key = fg_strdup(d->config[i].key);
		s->config[i].value = desired_expand_image(d->config[i].value, s->artifact);
	}
	s->nconfig = d->nconfig;
	qsort(s->config, s->nconfig, sizeof(*s->config), kv_cmp);
}

static void fleet_state(struct state *s, struct desired *des, const struct fleet *fleet,
			const char *id, const char *type)
{
	struct device_facts facts = { id, type, NULL };
	struct subscription sub;
	struct branch_view view;
	size_t i;

	memset(s, 0, sizeof(*s));
	memset(des, 0, sizeof(*des));
	desired_subscription(&sub, fleet, &facts, NULL);
	if (!sub.branch)
		return;
	view.branch = sub.branch;
	view.fleet = fleet;
	view.stage = 1;
	if (desired_compute(des, &view, 1, sub.branch, &facts, NULL) || des->status != DESIRED_MANAGED)
		return;
	s->branch = des->branch;
	s->artifact = des->artifact;
	s->config = fg_calloc(des->nconfig + 1, sizeof(*s->config));
	for (i = 0; i < des->nconfig; i++) {
		s->config[i].key = fg_strdup(des->config[i].key);
		s->config[i].value = fg_strdup(des->config[i].value);
	}
	s->nconfig = des->nconfig; /* desired_compute sorts by key */
}

/* What one side says for one device type, into the digest. */
static void digest_put(struct fg_buf *b, const char *type, const struct state *s)
{
	size_t i;

	fg_buf_put(b, type ? type : "", strlen(type ? type : "") + 1);
	fg_buf_put(b, s->artifact ? s->artifact : "", strlen(s->artifact ? s->artifact : "") + 1);
	for (i = 0; i < s->nconfig; i++) {
		fg_buf_put(b, s->config[i].key, strlen(s->config[i].key) + 1);
		fg_buf_put(b, s->config[i].value, strlen(s->config[i].value) + 1);
	}
}

/* "main, 8 images, 6 keys, 1a2b3c4d": the digest covers every device type. */
static char *describe(const char *branch, size_t nimages, size_t nkeys, const struct fg_buf *d)
{
	struct fg_buf b = FG_BUF_INIT;
	char hex[41];

	if (hash_blob_hex(d->ptr, d->len, hex))
		strcpy(hex, "?");
	fg_buf_init(&b);
	fg_buf_put_printable(&b, branch ? branch : "(none)");
	fg_buf_printf(&b, ", %zu image%s, %zu key%s, %.8s", nimages, nimages == 1 ? "" : "s", nkeys,
		      nkeys == 1 ? "" : "s", hex);
	return fg_buf_detach(&b);
}

/* The first difference of two states, or NULL. */
static char *difference(const struct state *a, const struct state *b)
{
	size_t i = 0, j = 0;

	if (!a->branch != !b->branch || (a->branch && strcmp(a->branch, b->branch)))
		return fg_strdup("subscribed_branch");
	if (!a->artifact != !b->artifact || (a->artifact && strcmp(a->artifact, b->artifact)))
		return fg_strdup("the OS image");
	while (i < a->nconfig || j < b->nconfig) {
		int c = i == a->nconfig   ? 1
			: j == b->nconfig ? -1
					  : strcmp(a->config[i].key, b->config[j].key);

		if (c < 0)
			return fg_asprintf("'%s' only in edi-cd", a->config[i].key);
		if (c > 0)
			return fg_asprintf("'%s' only in fleetgate", b->config[j].key);
		if (strcmp(a->config[i].value, b->config[j].value))
			return fg_asprintf("the value of '%s'", a->config[i].key);
		i++;
		j++;
	}
	return NULL;
}

/* One row: every device type the device's os_image list names (its
 * configuration may name the image), or none when the list is empty. */
static void check_device(struct edicd_check_row *row, const struct edicd_import *imp,
			 const struct edicd_device *d, const struct fleet *fleet)
{
	const struct mender_kv *images = d->own_images ? d->images : imp->images;
	size_t nimages = d->own_images ? d->nimages : imp->nimages, t, fkeys = 0;
	struct fg_buf de = FG_BUF_INIT, df = FG_BUF_INIT;
	const char *fbranch = NULL;
	char *fbranch_copy = NULL;

	fg_buf_init(&de);
	fg_buf_init(&df);
	row->device = fg_strdup(d->id);
	for (t = 0; t < (nimages ? nimages : 1); t++) {
		const char *type = nimages ? images[t].key : NULL;
		struct state e, f;
		struct desired des;
		char *diff;

		edicd_state(&e, d, imp, type);
		fleet_state(&f, &des, fleet, d->id, type);
		digest_put(&de, type, &e);
		digest_put(&df, type, &f);
		if (!fbranch_copy && f.branch)
			fbranch = fbranch_copy = fg_strdup(f.branch);
		fkeys = f.nconfig > fkeys ? f.nconfig : fkeys;
		diff = difference(&e, &f);
		if (diff && !row->difference)
			row->difference = type ? fg_asprintf("%s (as %s)", diff, type)
					       : fg_strdup(diff);
		free(diff);
		mender_kv_free(e.config, e.nconfig);
		mender_kv_free(f.config, f.nconfig);
		desired_release(&des);
	}
	row->edicd = describe(d->branch, nimages, d->nconfig, &de);
	row->fleetgate = describe(fbranch, nimages, fkeys, &df);
	row->equal = !row->difference;
	free(fbranch_copy);
	fg_buf_release(&de);
	fg_buf_release(&df);
}

void edicd_check(const struct edicd_import *imp, const struct fleet *fleet,
		 struct edicd_check_row **rows, size_t *n)
{
	size_t i;

	*rows = fg_calloc(imp->ndevices + 1, sizeof(**rows));
	*n = 0;
	for (i = 0; i < imp->ndevices; i++)
		if (!imp->devices[i].error)
			check_device(&(*rows)[(*n)++], imp, &imp->devices[i], fleet);
}

void edicd_check_free(struct edicd_check_row *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(rows[i].device);
		free(rows[i].edicd);
		free(rows[i].fleetgate);
		free(rows[i].difference);
	}
	free(rows);
}

/* ---- the files as a source, to validate them before any is written ---- */

struct files_source {
	const struct edicd_file **sorted; /* by path */
	size_t n;
};

static int path_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct edicd_file *const *)a)->path,
		      (*(const struct edicd_file *const *)b)->path);
}

static const struct edicd_file *files_find(const struct files_source *fs, const char *path)
{
	struct edicd_file key = { (char *)path, NULL, 0 };
	const struct edicd_file *k = &key, *const * hit;

	hit = fs->n ? bsearch(&k, fs->sorted, fs->n, sizeof(*fs->sorted), path_cmp) : NULL;
	return hit ? *hit : NULL;
}

static int files_type(void *ctx, const char *path, enum source_type *out)
{
	const struct files_source *fs = ctx;

	*out = files_find(fs, path)               ? SOURCE_FILE
	       : !strcmp(path, FLEET_DEVICES_DIR) ? SOURCE_DIR
						  : SOURCE_MISSING;
	return 0;
}

static int files_list(void *ctx, const char *dir, struct source_entry **out, size_t *count)
{
	const struct files_source *fs = ctx;
	size_t i, len = strlen(dir);

	*out = fg_calloc(fs->n + 1, sizeof(**out));
	*count = 0;
	for (i = 0; i < fs->n; i++) {
		const char *p = fs->sorted[i]->path;

		if (!strncmp(p, dir, len) && p[len] == '/' && !strchr(p + len + 1, '/')) {
			(*out)[*count].name = fg_strdup(p + len + 1);
			(*out)[*count].type = SOURCE_FILE;
			(*count)++;
		}
	}
	return 0;
}

static int files_read(void *ctx, const char *path, size_t max, char **data, size_t *len)
{
	const struct edicd_file *f = files_find(ctx, path);

	*data = NULL;
	*len = 0;
	if (!f)
		return fg_error_set(FG_ENOTFOUND, "%s: no such file", path);
	if (f->len > max)
		return fg_error_set(FG_ELIMIT, "%s: over %zu bytes", path, max);
	*data = fg_strndup(f->content, f->len);
	*len = f->len;
	return 0;
}

static void files_free(void *ctx)
{
	struct files_source *fs = ctx;

	free(fs->sorted);
	free(fs);
}

static const struct source_ops files_ops = { files_type, files_list, files_read, files_free };

void edicd_files_source(struct source *out, const struct edicd_file *files, size_t n)
{
	struct files_source *fs = fg_calloc(1, sizeof(*fs));
	size_t i;

	fs->sorted = fg_calloc(n + 1, sizeof(*fs->sorted));
	for (i = 0; i < n; i++)
		fs->sorted[i] = &files[i];
	fs->n = n;
	qsort(fs->sorted, n, sizeof(*fs->sorted), path_cmp);
	out->ops = &files_ops;
	out->ctx = fs;
	out->label = fg_strdup("the imported fleet");
}
