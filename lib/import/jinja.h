#ifndef FLEETGATE_JINJA_H
#define FLEETGATE_JINJA_H

#include <stddef.h>

#include "fleet/diag.h"
#include "fleet/ydoc.h"

/*
 * A renderer for the subset of Jinja2 that edi-cd's Ansible templates use,
 * with Ansible's semantics (docs/migrate-from-edi-cd.md):
 *
 *   {{ expr }}                          output, rendered as Python's str()
 *   {% if expr %} {% elif expr %} {% else %} {% endif %}
 *   names, dotted names (a.b.c), 'strings', "strings", integers, floats,
 *   true/false/none, ( ), and, or, not, == != < > <= >=,
 *   x if cond [else y], x is [not] defined,
 *   | mandatory, | mandatory('message'), | default(v[, true]), | length,
 *   lookup('env', 'NAME')               a secret: ${secret:NAME}
 *
 * Anything else (other statements, filters, tests, comments, whitespace
 * control, subscripts, calls) is an error naming file, line, column and
 * the construct. trim_blocks is on, as in Ansible: the newline right after
 * a {% %} tag is dropped. Undefined values behave as Ansible's: chainable
 * (a.b of an undefined a is undefined), and an error wherever printed,
 * tested for truth, compared or measured.
 *
 * The parser is bounded: templates of at most JINJA_MAX_TEXT bytes,
 * expressions nested at most JINJA_MAX_DEPTH deep, at most
 * JINJA_MAX_NODES nodes; rendering produces at most JINJA_MAX_OUTPUT bytes.
 */

#define JINJA_MAX_TEXT (1024 * 1024)
#define JINJA_MAX_DEPTH 32
#define JINJA_MAX_NODES 100000
#define JINJA_MAX_OUTPUT (1024 * 1024)
/* Variables whose values are templates themselves, rendered when used:
 * at most this deep (a = "{{ b }}", b = "{{ c }}", ...). */
#define JINJA_MAX_NESTING 8

struct jinja_template;

/*
 * Parse `text` (`len` bytes) of `file`. Errors go to `diags` with code
 * `template-syntax` or `template-unsupported`, each naming file, line,
 * column and construct; *out is then NULL. Otherwise *out is a template
 * the caller frees with jinja_free(). Returns 0.
 */
int jinja_parse(struct jinja_template **out, const char *text, size_t len, const char *file,
		struct diags *diags);

void jinja_free(struct jinja_template *t);

/* The names a template reads (variables, first part of dotted names),
 * each once, in order of first use; borrowed from the template. */
void jinja_names(const struct jinja_template *t, const char ***names, size_t *count);

/*
 * What a template sees: variables are looked up in `maps` (YAML mappings,
 * first wins), then the built-ins inventory_hostname (`hostname`) and
 * desired_os_image (rendered as ${os_image}: the device's desired
 * artifact, which only Mender's device type decides).
 */
struct jinja_scope {
	const struct ynode *const *maps;
	const char *const *files; /* the file of each map, for messages */
	size_t nmaps;
	const char *hostname;
};

/*
 * Render `t` for `scope`. On success *out is the text (malloc'd) and 0 is
 * returned. A failure for this scope (a mandatory value missing, an
 * undefined value used, a variable's own template invalid, a value that
 * cannot be rendered as Ansible would) returns FG_EINVAL with the message
 * (file:line:column: what); *out is then NULL. `names_used` (may be NULL)
 * is called with every variable name the rendering read.
 */
typedef void (*jinja_use_fn)(void *ctx, const char *name);
int jinja_render(const struct jinja_template *t, const struct jinja_scope *scope,
		 jinja_use_fn names_used, void *ctx, char **out);

/*
 * The scalar `n` (the variable `name` of `file`, in `scope`) as {{ name }} would
 * print it: typed as Ansible's loader (PyYAML, YAML 1.1) types it and
 * printed as Python's str() does (plain true/yes/on -> "True", 010 -> "8",
 * 1.50 -> "1.5", ~ -> "None"; quoted scalars as written), a value that is a
 * template rendered. FG_EINVAL, naming file, line and column, for what
 * Python would print differently and this does not model (timestamps with
 * a time, sexagesimal numbers, tags other than !!str, integers beyond 64
 * bits), for a list or mapping, and for a value holding '${'.
 */
int jinja_node_str(const struct jinja_scope *scope, const struct ynode *n, const char *file,
		   const char *name, char **out);

#endif
