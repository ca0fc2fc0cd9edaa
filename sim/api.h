#ifndef SIM_API_H
#define SIM_API_H

/*
 * What a handler sees of a request and builds of a response, independent of
 * libmicrohttpd (only http.c talks to it), plus the helpers every handler
 * shares: Mender's error body, paging parameters and Link headers.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "json.h"
#include "store.h"
#include "util.h"

struct sim_arg {
	char *key;
	char *value;
};

/* One part of a multipart/form-data body (http.c parses it with MHD's post
 * processor). `data` is not NUL-terminated. */
struct sim_part {
	char *name;
	char *filename; /* NULL when the part is no file */
	struct sim_buf data;
};

/* A parsed request; http.c owns every pointer in it. */
struct sim_request {
	const char *method;
	const char *path;  /* percent-decoded, without the query */
	const char *query; /* raw text after '?', "" when none */
	const struct sim_arg *args; /* decoded query arguments, in order */
	size_t nargs;
	const char *params[4]; /* path parameters captured by the router */
	size_t nparams;
	const char *authorization; /* request headers, NULL when absent */
	const char *cookie;
	const char *if_match;
	const char *host;	  /* Host, for links the device follows back */
	const char *signature;	  /* X-MEN-Signature */
	const char *content_type; /* Content-Type */
	const struct sim_part *parts; /* multipart/form-data bodies, in order */
	size_t nparts;
	bool form_error; /* a multipart body that could not be parsed */
	const char *body; /* not NUL-terminated; NULL when empty */
	size_t body_len;
	const char *request_id; /* X-MEN-RequestID echoed or generated */
};

struct sim_header {
	char *name;
	char *value;
};

/* A response under construction; release with sim_response_release. */
struct sim_response {
	unsigned int status;
	const char *content_type; /* static string; NULL for no body */
	struct sim_buf body;
	struct sim_header *headers;
	size_t nheaders, aheaders;
};

void sim_response_release(struct sim_response *res);
void sim_res_header(struct sim_response *res, const char *name, const char *value);
/* Mender's error body {"error": ..., "request_id": ...}. */
void sim_res_error(struct sim_response *res, const struct sim_request *req, unsigned int status,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A JSON body; takes ownership of `v`. */
void sim_res_json(struct sim_response *res, unsigned int status, cJSON *v);
/* A status without body. */
void sim_res_empty(struct sim_response *res, unsigned int status);
/* A body of another media type (e.g. application/jwt). */
void sim_res_text(struct sim_response *res, unsigned int status, const char *content_type,
		  const char *text);

/* The first value of query argument `key`, or NULL. */
const char *sim_req_arg(const struct sim_request *req, const char *key);

/*
 * The request body as JSON; on failure writes a 400 with `what` (e.g.
 * "failed to decode request body") and returns NULL. Free with cJSON_Delete.
 */
cJSON *sim_req_json(const struct sim_request *req, struct sim_response *res, const char *what);

struct sim_paging {
	int64_t page;
	int64_t per_page;
};

/*
 * page/per_page as pkg/rest.utils ParsePagingParameters reads them (default
 * 1 and 20). Returns false after writing the 400 Mender gives.
 */
bool sim_req_paging(const struct sim_request *req, struct sim_response *res, int64_t max_per_page,
		    struct sim_paging *pg);

/*
 * Link headers (first, prev, next, last) as rest.MakePagingHeaders builds
 * them: the request's path and query with page/per_page set, keys sorted.
 * `total` < 0 means unknown: then "next" follows `has_next` and there is no
 * "last".
 */
void sim_res_links(struct sim_response *res, const struct sim_request *req,
		   const struct sim_paging *pg, int64_t total, bool has_next);
void sim_res_total(struct sim_response *res, int64_t total);
/* The [start, end) slice of `n` items that page `pg` shows. */
void sim_paging_slice(const struct sim_paging *pg, size_t n, size_t *start, size_t *end);

/* Everything a handler may touch; http.c holds `lock` around each call. */
struct sim_auth;
struct sim_control;
struct sim_devices;

/* What /_sim/settings changes (docs/mender-sim.md). */
struct sim_settings {
	bool no_configure;	 /* deviceconfig answers as without the add-on */
	int64_t config_zero_ids; /* the next N config deploys answer the all-zero id */
	bool natural_order;	 /* unsorted inventory pages in insertion order */
};

struct sim {
	pthread_mutex_t lock;
	struct sim_settings settings;
	struct sim_store *store;
	struct sim_auth *auth;
	struct sim_control *control;
	struct sim_devices *devices; /* the device API's state (devices.h) */
};

typedef void sim_handler(struct sim *sim, const struct sim_request *req,
			 struct sim_response *res);

#endif
