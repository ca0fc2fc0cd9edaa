#include "fleet/ydoc.h"

#include "core/alloc.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct anchor {
	char *name;
	struct ynode *node;
};

struct frame {
	struct ynode *node;
	char *anchor; /* registered when the node is complete, so no cycles */
};

struct loader {
	struct ydoc *doc;
	const char *file;
	const char *data;
	size_t len;
	struct diags *diags;
	struct frame stack[YDOC_MAX_DEPTH];
	size_t depth;
	struct anchor *anchors;
	size_t nanchors;
	size_t anchors_alloc;
	size_t weight; /* nodes so far, aliases expanded */
	struct ynode *root;
};

static struct ynode *node_new(struct loader *l, enum ynode_type type, const yaml_mark_t *mark)
{
	struct ydoc *doc = l->doc;
	struct ynode *n = fg_calloc(1, sizeof(*n));

	n->type = type;
	n->line = (unsigned)mark->line + 1;
	n->column = (unsigned)mark->column + 1;
	n->weight = 1;
	doc->nodes = fg_grow(doc->nodes, &doc->alloc, doc->nnodes + 1, sizeof(*doc->nodes));
	doc->nodes[doc->nnodes++] = n;
	return n;
}

static void error_at(struct loader *l, const yaml_mark_t *mark, const char *code, const char *msg)
{
	diags_add(l->diags, DIAG_ERROR, l->file, (unsigned)mark->line + 1,
		  (unsigned)mark->column + 1, code, "%s", msg);
}

/* Line and column of a byte offset, for reader errors whose marks stay 0:0. */
static void offset_position(const struct loader *l, size_t offset, unsigned *line, unsigned *column)
{
	size_t i;

	*line = 1;
	*column = 1;
	if (offset > l->len)
		offset = l->len;
	for (i = 0; i < offset; i++) {
		if (l->data[i] == '\n') {
			(*line)++;
			*column = 1;
		} else if (((unsigned char)l->data[i] & 0xc0) != 0x80) {
			(*column)++;
		}
	}
}

static void parser_error(struct loader *l, const yaml_parser_t *p)
{
	unsigned line, column;
	const char *problem = p->problem ? p->problem : "malformed YAML";

	if (p->error == YAML_READER_ERROR) {
		offset_position(l, p->problem_offset, &line, &column);
		diags_add(l->diags, DIAG_ERROR, l->file, line, column, "encoding",
			  "%s at byte offset %zu", problem, p->problem_offset);
	} else if (p->context) {
		diags_add(l->diags, DIAG_ERROR, l->file, (unsigned)p->problem_mark.line + 1,
			  (unsigned)p->problem_mark.column + 1, "yaml-syntax",
			  "%s (%s at line %u, column %u)", problem, p->context,
			  (unsigned)p->context_mark.line + 1,
			  (unsigned)p->context_mark.column + 1);
	} else {
		diags_add(l->diags, DIAG_ERROR, l->file, (unsigned)p->problem_mark.line + 1,
			  (unsigned)p->problem_mark.column + 1, "yaml-syntax", "%s", problem);
	}
}

/* Count `weight` more nodes against the budget; -1 (reported) when over. */
static int charge(struct loader *l, size_t weight, const yaml_mark_t *mark, int alias)
{
	if (weight > YDOC_MAX_NODES - l->weight) {
		if (alias)
			error_at(l, mark, "alias-bomb",
				 "aliases expand to more than 1000000 nodes");
		else
			error_at(l, mark, "too-many-nodes", "more than 1000000 nodes in one file");
		return -1;
	}
	l->weight += weight;
	return 0;
}

static void add_child(struct loader *l, struct ynode *child)
{
	struct ynode *parent;
	size_t i;

	if (l->depth == 0) {
		l->root = child;
		return;
	}
	parent = l->stack[l->depth - 1].node;
	parent->items = fg_grow(parent->items, &parent->alloc, parent->count + 1,
				sizeof(*parent->items));
	parent->items[parent->count++] = child;
	for (i = 0; i < l->depth; i++)
		l->stack[i].node->weight += child->weight;
}

static void register_anchor(struct loader *l, char *name, struct ynode *node)
{
	l->anchors = fg_grow(l->anchors, &l->anchors_alloc, l->nanchors + 1, sizeof(*l->anchors));
	l->anchors[l->nanchors].name = name;
	l->anchors[l->nanchors].node = node;
	l->nanchors++;
}

static int take_anchor(struct loader *l, const yaml_event_t *ev, const unsigned char *anchor,
		       char **out)
{
	*out = NULL;
	if (!anchor)
		return 0;
	if (l->nanchors >= YDOC_MAX_ANCHORS) {
		error_at(l, &ev->start_mark, "alias-bomb", "more than 1000 anchors in one file");
		return -1;
	}
	*out = fg_strdup((const char *)anchor);
	return 0;
}

static int on_alias(struct loader *l, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	size_t i;

	for (i = l->nanchors; i-- > 0;) {
		if (strcmp(l->anchors[i].name, name))
			continue;
		if (charge(l, l->anchors[i].node->weight, &ev->start_mark, 1))
			return -1;
		add_child(l, l->anchors[i].node);
		return 0;
	}
	for (i = 0; i < l->depth; i++) {
		if (l->stack[i].anchor && !strcmp(l->stack[i].anchor, name)) {
			diags_add(l->diags, DIAG_ERROR, l->file, (unsigned)ev->start_mark.line + 1,
				  (unsigned)ev->start_mark.column + 1, "alias-bomb",
				  "alias '*%s' refers to a node that contains it", name);
			return -1;
		}
	}
	diags_add(l->diags, DIAG_ERROR, l->file, (unsigned)ev->start_mark.line + 1,
		  (unsigned)ev->start_mark.column + 1, "yaml-syntax",
		  "alias '*%s' has no anchor '&%s' before it", name, name);
	return -1;
}

static int on_scalar(struct loader *l, const yaml_event_t *ev)
{
	struct ynode *n;
	char *anchor;

	if (charge(l, 1, &ev->start_mark, 0) || take_anchor(l, ev, ev->data.scalar.anchor, &anchor))
		return -1;
	n = node_new(l, YNODE_SCALAR, &ev->start_mark);
	n->value = fg_strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
	n->length = ev->data.scalar.length;
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	if (ev->data.scalar.tag)
		n->tag = fg_strdup((const char *)ev->data.scalar.tag);
	if (memchr(n->value, '\0', n->length))
		error_at(l, &ev->start_mark, "nul-character", "string contains a NUL character");
	add_child(l, n);
	if (anchor)
		register_anchor(l, anchor, n);
	return 0;
}

static int on_start(struct loader *l, const yaml_event_t *ev, enum ynode_type type)
{
	const unsigned char *anchor_name, *tag;
	struct ynode *n;
	char *anchor;

	if (l->depth == YDOC_MAX_DEPTH) {
		error_at(l, &ev->start_mark, "too-deep", "nesting deeper than 64 levels");
		return -1;
	}
	if (type == YNODE_MAPPING) {
		anchor_name = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
	} else {
		anchor_name = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
	}
	if (charge(l, 1, &ev->start_mark, 0) || take_anchor(l, ev, anchor_name, &anchor))
		return -1;
	n = node_new(l, type, &ev->start_mark);
	if (tag)
		n->tag = fg_strdup((const char *)tag);
	add_child(l, n);
	l->stack[l->depth].node = n;
	l->stack[l->depth].anchor = anchor;
	l->depth++;
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	const struct ynode *x = *(const struct ynode *const *)a;
	const struct ynode *y = *(const struct ynode *const *)b;
	size_t n = x->length < y->length ? x->length : y->length;
	int c = memcmp(x->value, y->value, n);

	if (c)
		return c;
	if (x->length != y->length)
		return x->length < y->length ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->column < y->column ? -1 : x->column > y->column;
}

/* Report every key written twice in a mapping, with where it came first. */
static void check_duplicate_keys(struct loader *l, const struct ynode *map)
{
	struct ynode **keys;
	size_t i, n = 0;

	if (map->count < 4)
		return;
	keys = fg_malloc(map->count / 2 * sizeof(*keys));
	for (i = 0; i + 1 < map->count; i += 2)
		if (map->items[i]->type == YNODE_SCALAR)
			keys[n++] = map->items[i];
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 1; i < n; i++) {
		size_t first = i - 1;

		while (i < n && keys[i]->length == keys[first]->length &&
		       !memcmp(keys[i]->value, keys[first]->value, keys[i]->length)) {
			diags_add(l->diags, DIAG_ERROR, l->file, keys[i]->line, keys[i]->column,
				  "duplicate-key", "duplicate key '%s' (first at line %u, column %u)",
				  keys[i]->value, keys[first]->line, keys[first]->column);
			i++;
		}
	}
	free(keys);
}

/* gcc -fanalyzer: libyaml ends only a collection it started, so depth > 0
 * and the frame's node is set here; the analyzer does not know libyaml */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-null-dereference"
#endif
static void on_end(struct loader *l)
{
	struct frame *f = &l->stack[--l->depth];

	if (f->node->type == YNODE_MAPPING)
		check_duplicate_keys(l, f->node);
	if (f->anchor)
		register_anchor(l, f->anchor, f->node);
	f->anchor = NULL;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/* Feed every event to the tree; -1 once a problem has been reported. */
static int load_events(struct loader *l, yaml_parser_t *parser)
{
	yaml_event_t ev;
	int documents = 0, rc = 0, done = 0;

	while (!done && !rc) {
		if (!yaml_parser_parse(parser, &ev)) {
			parser_error(l, parser);
			return -1;
		}
		switch (ev.type) {
		case YAML_DOCUMENT_START_EVENT:
			if (++documents > 1) {
				error_at(l, &ev.start_mark, "multiple-documents",
					 "more than one YAML document in one file");
				rc = -1;
			}
			break;
		case YAML_SCALAR_EVENT:
			rc = on_scalar(l, &ev);
			break;
		case YAML_ALIAS_EVENT:
			rc = on_alias(l, &ev);
			break;
		case YAML_SEQUENCE_START_EVENT:
			rc = on_start(l, &ev, YNODE_SEQUENCE);
			break;
		case YAML_MAPPING_START_EVENT:
			rc = on_start(l, &ev, YNODE_MAPPING);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			on_end(l);
			break;
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	return rc;
}

int ydoc_parse(struct ydoc **out, const char *data, size_t len, const char *file,
	       struct diags *diags)
{
	struct loader l;
	yaml_parser_t parser;
	size_t i;
	int rc;

	*out = NULL;
	memset(&l, 0, sizeof(l));
	l.doc = fg_calloc(1, sizeof(*l.doc));
	l.file = file;
	l.data = data;
	l.len = len;
	l.diags = diags;
	if (!yaml_parser_initialize(&parser)) {
		ydoc_free(l.doc);
		diags_add(diags, DIAG_ERROR, file, 0, 0, "yaml-syntax", "cannot initialise the YAML parser");
		return 0;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
	rc = load_events(&l, &parser);
	yaml_parser_delete(&parser);

	for (i = 0; i < l.depth; i++)
		free(l.stack[i].anchor);
	for (i = 0; i < l.nanchors; i++)
		free(l.anchors[i].name);
	free(l.anchors);
	if (rc) {
		ydoc_free(l.doc);
		return 0;
	}
	l.doc->root = l.root;
	*out = l.doc;
	return 0;
}

void ydoc_free(struct ydoc *doc)
{
	size_t i;

	if (!doc)
		return;
	for (i = 0; i < doc->nnodes; i++) {
		free(doc->nodes[i]->value);
		free(doc->nodes[i]->tag);
		free(doc->nodes[i]->items);
		free(doc->nodes[i]);
	}
	free(doc->nodes);
	free(doc);
}

const struct ynode *ynode_get(const struct ynode *map, const char *key)
{
	size_t i, n = strlen(key);

	if (!map || map->type != YNODE_MAPPING)
		return NULL;
	for (i = 0; i + 1 < map->count; i += 2) {
		const struct ynode *k = map->items[i];

		if (k->type == YNODE_SCALAR && k->length == n && !memcmp(k->value, key, n))
			return map->items[i + 1];
	}
	return NULL;
}
