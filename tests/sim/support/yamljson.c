#include "yamljson.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define DEPTH_MAX 128

struct frame {
	cJSON *node;
	char *key; /* mappings: the key waiting for its value */
};

static char *format_error(const char *what, size_t line, size_t column)
{
	size_t n = strlen(what) + 64;
	char *msg = malloc(n);

	if (msg)
		snprintf(msg, n, "%zu:%zu: %s", line + 1, column + 1, what);
	return msg;
}

/* A decimal number as YAML 1.2's core schema writes one (no inf, nan, hex). */
static bool is_number(const char *s)
{
	const char *p;
	char *end;
	bool digit = false;

	for (p = s; *p; p++) {
		if (*p >= '0' && *p <= '9')
			digit = true;
		else if (!strchr("+-.eE", *p))
			return false;
	}
	if (!digit)
		return false;
	strtod(s, &end);
	return *end == '\0';
}

/* YAML 1.2 core schema for plain scalars. */
static cJSON *plain_scalar(const char *s)
{
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return cJSON_CreateTrue();
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return cJSON_CreateFalse();
	if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	    !strcmp(s, "NULL"))
		return cJSON_CreateNull();
	if (is_number(s))
		return cJSON_CreateNumber(strtod(s, NULL));
	return cJSON_CreateString(s);
}

/* Attach `v` to the container on top of the stack (or make it the root). */
static bool attach(struct frame *stack, size_t depth, cJSON **root, cJSON *v)
{
	struct frame *top;

	if (!v)
		return false;
	if (depth == 0) {
		if (*root) {
			cJSON_Delete(v);
			return false;
		}
		*root = v;
		return true;
	}
	top = &stack[depth - 1];
	if (cJSON_IsArray(top->node)) {
		cJSON_AddItemToArray(top->node, v);
		return true;
	}
	cJSON_AddItemToObject(top->node, top->key, v);
	free(top->key);
	top->key = NULL;
	return true;
}

cJSON *yamljson_load(const char *buf, size_t len, char **err)
{
	struct frame stack[DEPTH_MAX];
	size_t depth = 0, documents = 0, i;
	yaml_parser_t parser;
	yaml_event_t ev;
	cJSON *root = NULL;
	bool done = false, failed = false;

	*err = NULL;
	if (!yaml_parser_initialize(&parser)) {
		*err = format_error("cannot initialize libyaml", 0, 0);
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!done && !failed) {
		cJSON *node;

		if (!yaml_parser_parse(&parser, &ev)) {
			*err = format_error(parser.problem ? parser.problem : "parse error",
					    parser.problem_mark.line, parser.problem_mark.column);
			failed = true;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++documents > 1) {
				*err = format_error("more than one document", ev.start_mark.line,
						    ev.start_mark.column);
				failed = true;
			}
			break;
		case YAML_ALIAS_EVENT:
			*err = format_error("aliases are not supported", ev.start_mark.line,
					    ev.start_mark.column);
			failed = true;
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			if (depth == DEPTH_MAX) {
				*err = format_error("nesting too deep", ev.start_mark.line,
						    ev.start_mark.column);
				failed = true;
				break;
			}
			node = ev.type == YAML_MAPPING_START_EVENT ? cJSON_CreateObject()
								   : cJSON_CreateArray();
			if (depth && cJSON_IsObject(stack[depth - 1].node) && !stack[depth - 1].key) {
				cJSON_Delete(node);
				*err = format_error("a mapping key must be a scalar", ev.start_mark.line,
						    ev.start_mark.column);
				failed = true;
				break;
			}
			if (!attach(stack, depth, &root, node)) {
				*err = format_error("out of memory", 0, 0);
				failed = true;
				break;
			}
			stack[depth].node = node;
			stack[depth].key = NULL;
			depth++;
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			depth--;
			break;
		case YAML_SCALAR_EVENT: {
			const char *text = (const char *)ev.data.scalar.value;

			if (depth && cJSON_IsObject(stack[depth - 1].node) && !stack[depth - 1].key) {
				stack[depth - 1].key = strdup(text);
				failed = !stack[depth - 1].key;
				break;
			}
			node = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE
				       ? plain_scalar(text)
				       : cJSON_CreateString(text);
			if (!attach(stack, depth, &root, node)) {
				*err = format_error("unexpected scalar", ev.start_mark.line,
						    ev.start_mark.column);
				failed = true;
			}
			break;
		}
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	for (i = 0; i < depth && i < DEPTH_MAX; i++)
		free(stack[i].key);
	yaml_parser_delete(&parser);
	if (failed) {
		cJSON_Delete(root);
		if (!*err)
			*err = format_error("out of memory", 0, 0);
		return NULL;
	}
	if (!root)
		*err = format_error("empty document", 0, 0);
	return root;
}
