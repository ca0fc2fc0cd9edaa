#ifndef FLEETGATE_YDOC_H
#define FLEETGATE_YDOC_H

#include <stddef.h>

#include "fleet/diag.h"

/*
 * A YAML document loaded into a tree that remembers where every node was
 * written. This is the only module that includes <yaml.h>.
 *
 * Hostile input is bounded: the input size is the caller's to cap (the
 * sources read at most FLEET_MAX_FILE bytes), nesting is limited to
 * YDOC_MAX_DEPTH, and the number of nodes after expanding aliases to
 * YDOC_MAX_NODES, so a "billion laughs" file fails after a few thousand
 * events. Aliases share the anchored node instead of copying it, so the
 * tree is a DAG; it cannot contain a cycle (an alias to an anchor that is
 * still open is an error).
 */

#define YDOC_MAX_DEPTH 64
#define YDOC_MAX_NODES 1000000
#define YDOC_MAX_ANCHORS 1000

enum ynode_type {
	YNODE_SCALAR,
	YNODE_SEQUENCE,
	YNODE_MAPPING,
};

struct ynode {
	enum ynode_type type;
	unsigned line;     /* 1-based position of the node's first character */
	unsigned column;
	/* scalars */
	char *value;       /* NUL-terminated; length excludes the NUL */
	size_t length;
	int plain;         /* written without quotes or block indicator */
	char *tag;         /* explicit tag (e.g. "tag:yaml.org,2002:str"), or NULL */
	/* sequences: items[0..count); mappings: keys at items[2i], values at
	 * items[2i+1], so a mapping has count / 2 pairs */
	struct ynode **items;
	size_t count;
	size_t alloc;
	size_t weight;     /* nodes in this subtree with aliases expanded */
};

struct ydoc {
	struct ynode *root;   /* NULL for an empty document */
	struct ynode **nodes; /* every node, for freeing */
	size_t nnodes;
	size_t alloc;
};

/*
 * Parse `data` (`len` bytes, need not be NUL-terminated) as one YAML document.
 *
 * Problems in the text are reported into `diags` against `file` (errors with
 * stable codes: yaml-syntax, encoding, too-deep, alias-bomb, too-many-nodes,
 * multiple-documents, duplicate-key, nul-character). When the text cannot be
 * loaded at all, *out is set to NULL; duplicate keys do not stop loading.
 * Otherwise *out is a document the caller frees with ydoc_free().
 * Returns 0 (invalid text is a result, not a failure).
 */
int ydoc_parse(struct ydoc **out, const char *data, size_t len, const char *file,
	       struct diags *diags);

void ydoc_free(struct ydoc *doc);

/* For a mapping: the value of the scalar key `key`, or NULL. */
const struct ynode *ynode_get(const struct ynode *map, const char *key);

#endif
