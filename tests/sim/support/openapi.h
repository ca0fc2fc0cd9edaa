#ifndef SIMTEST_OPENAPI_H
#define SIMTEST_OPENAPI_H

/*
 * An OpenAPI 3 description of Mender's management API, read at test time:
 * the project's own contract (tests/sim/contract/mender-api.yaml) or Mender's
 * official combined_openapi.yaml. A checker for what those documents use of
 * JSON Schema: $ref, type, format (date-time, uuid), enum, properties,
 * required, additionalProperties, items, allOf/oneOf/anyOf, nullable,
 * pattern and the min/max keywords.
 */

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "tstr.h"

struct openapi;

/* Load and parse `path`; NULL with a malloc'd message in `*err`. Free the
 * result with openapi_free. `official`: the document is Mender's own, so
 * the few places where the server answers differently from it (the table in
 * openapi.c) are accepted; the project's contract states those itself. */
struct openapi *openapi_load(const char *path, bool official, char **err);
void openapi_free(struct openapi *o);

/* Follow `$ref`s from `node`; NULL when a reference does not resolve. */
const cJSON *openapi_resolve(const struct openapi *o, const cJSON *node);

/*
 * The path template (a key of `paths`) that best matches a concrete path:
 * the one with the most literal segments. NULL when none matches. The string
 * belongs to the document.
 */
const char *openapi_match_path(const struct openapi *o, const char *path);

/* paths[tmpl][method] (method in any case), or NULL. */
const cJSON *openapi_operation(const struct openapi *o, const char *tmpl, const char *method);

/*
 * Check `value` against `schema`; each problem is appended to `errs` as a
 * line "WHERE: message". Returns the number of problems.
 */
int openapi_validate(const struct openapi *o, const cJSON *schema, const cJSON *value,
		     const char *where, struct tstr *errs);

/* One HTTP exchange to judge against the document. */
struct conform_exchange {
	const char *method;
	const char *path;	  /* without the query */
	const char *req_body;	  /* JSON sent, or NULL */
	bool check_request;	  /* validate req_body against requestBody */
	long status;
	const char *content_type; /* of the response; NULL when none */
	const char *body;	  /* response body (NUL-terminated) */
	size_t body_len;
	/* The value of a response header, or NULL. */
	const char *(*header)(const void *ctx, const char *name);
	const void *ctx;
};

/*
 * Judge one exchange: the status must be documented for the operation (a
 * 401 is accepted for operations with a security requirement), the body
 * must match the documented media type and schema, documented headers must
 * be present, X-MEN-RequestID always. Judging against Mender's own
 * document, the few places where Mender v4.1.3 itself differs from its
 * description are allowed and named in the table in openapi.c. `*tmpl`
 * gets the matched path template.
 * Returns the number of problems appended to `errs`.
 */
int openapi_conform(const struct openapi *o, const struct conform_exchange *x, const char **tmpl,
		    struct tstr *errs);

/*
 * Check that the document `mine` says nothing that `theirs` contradicts:
 * each of its paths and methods is in `theirs`, each status documented there
 * (or one of the accepted differences of an official `theirs`), each media
 * type and header too, and each property of its request and response
 * schemas exists in the schema of `theirs` at the same place, with the same
 * type. `mine` may require more (what fleetgate reads) and describe less.
 * Each problem is a line in `errs`; returns their number, and in `*checked`
 * the number of (path, method, status) judged.
 */
int openapi_agrees(const struct openapi *mine, const struct openapi *theirs, size_t *checked,
		   struct tstr *errs);

#endif
