#ifndef SIMTEST_H
#define SIMTEST_H

/*
 * Harness of the mender-sim tests: start the real build/mender-sim on a free
 * loopback port with a seed written to a temporary directory, talk to it with
 * libcurl, and judge every Mender API exchange against the project's
 * contract (tests/sim/contract/mender-api.yaml) and, where they are at hand,
 * against Mender's own OpenAPI documents.
 *
 * Include <stdarg.h>, <stddef.h>, <stdint.h>, <setjmp.h> and <cmocka.h>
 * before this header: the t_* helpers fail the running cmocka test.
 */

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "openapi.h"
#include "tstr.h"

/* ---- the stand-in process ------------------------------------------------------- */

struct simproc {
	pid_t pid;
	unsigned int port;
	char base[64]; /* http://127.0.0.1:PORT */
	char dir[256]; /* temporary directory, removed by simproc_stop */
	int out_fd;    /* the stand-in's stdout */
};

/* build/mender-sim: $MENDER_SIM, else next to the test's build directory. */
const char *simtest_sim_binary(void);
/* tests/sim/contract/mender-api.yaml under $FG_TOP, else under the checkout
 * the test binary was built in (build/tests/../..). A static buffer. */
const char *simtest_contract_path(void);
/* Mender's combined_openapi.yaml in the folder $FLEETGATE_MENDER_API, or
 * NULL when that is unset or empty (tests/run-all sets it). */
const char *simtest_official_path(void);

/*
 * Make a temporary directory into `buf` (its path), removed with its files at
 * exit even when a test fails. NULL on failure.
 */
const char *simtest_tempdir(char *buf, size_t size);

/*
 * Write `seed` (JSON text) to seed.json in a new temporary directory and
 * start the stand-in on 127.0.0.1:0 with it and the NULL-terminated `extra`
 * arguments. Waits (up to `timeout_s`) for its "listening on" line.
 * Returns 0, or -1 after printing why.
 */
int simproc_start(struct simproc *p, const char *seed, const char *const *extra,
		  double timeout_s);

/*
 * Run the stand-in with `args` (NULL-terminated, without argv[0]) to
 * completion (killed after 10 s). Returns its exit status, -1 when it was
 * killed; `err` receives the start of its stderr.
 */
int simtest_run(const char *const *args, char *err, size_t size);

/* SIGTERM, wait (up to 20 s, then SIGKILL), remove the directory. Returns
 * the exit status (0 for a clean shutdown), or -1 when it had to be killed
 * or died of a signal. Prints the stand-in's stderr when it was not 0. */
int simproc_stop(struct simproc *p);

/* ---- HTTP ----------------------------------------------------------------------------- */

struct http_resp {
	CURLcode code; /* CURLE_OK when an answer came */
	long status;
	struct tstr body;
	char **names, **values;
	size_t nheaders, aheaders;
	double seconds;
};

/* A connection-reusing client; one per thread. */
struct http {
	CURL *curl;
	char base[64];
};

void http_init(struct http *h, const char *base);
void http_cleanup(struct http *h);
/*
 * METHOD base+target (target = path and query) with an optional body and
 * NULL-terminated extra "Name: value" headers. Fills `r` (release it).
 */
void http_do(struct http *h, const char *method, const char *target, const char *body,
	     size_t body_len, const char *const *headers, struct http_resp *r);
/* First value of a response header (case-insensitive), or NULL. */
const char *http_header(const struct http_resp *r, const char *name);
size_t http_header_count(const struct http_resp *r, const char *name);
void http_resp_release(struct http_resp *r);

/* ---- tests -------------------------------------------------------------------------- */

/*
 * The documents, loaded once by t_load_doc (a cmocka group setup): the
 * project's contract always (a failure to load it fails the suite), and
 * Mender's official document when FLEETGATE_MENDER_API holds it; else
 * t_official is NULL and t_official_absent says why. A document that is
 * there but does not load is a failure, never a skip.
 */
extern struct openapi *t_contract;
extern struct openapi *t_official;
extern char t_official_absent[8192];
int t_load_doc(void **state);
int t_free_doc(void **state);

/* Exchanges t_api judged so far against the contract and the official
 * document (the same number when the official one is loaded). */
size_t t_judged_contract(void);
size_t t_judged_official(void);

/* In a test that needs Mender's documents: without them, print
 * "<test>: skipped: <why>" (tests/run-all shows it) and skip the test. */
#define T_NEED_OFFICIAL()                                                         \
	do {                                                                      \
		if (!t_official) {                                                \
			printf("%s: skipped: %s\n", __func__, t_official_absent); \
			fflush(stdout);                                           \
			skip();                                                   \
		}                                                                 \
	} while (0)

struct tctx {
	struct simproc sim;
	struct http http;
	const char *token;     /* Bearer token of t_api calls; NULL: none */
	struct http_resp last; /* the last t_api/t_sim answer */
};

/* Start a stand-in with `seed` and `extra` arguments; NULL on failure. */
struct tctx *t_start(const char *seed, const char *const *extra);
/* Stop it; -1 when it did not exit 0 (a teardown failure). */
int t_stop(struct tctx *t);

enum {
	T_NOAUTH = 1,	    /* send no Authorization header */
	T_NOCONFORM = 2,    /* skip the document check (injected faults) */
	T_INVALID_BODY = 4, /* the body is deliberately invalid: do not check it */
	T_RAW_BODY = 8,	    /* `body` is not JSON: send as is */
};

/*
 * Call the Mender API: send, judge the exchange against the contract and,
 * when loaded, the official document (any problem fails the test), assert
 * the status is `expect`, and return the
 * JSON body (cJSON_Delete it; NULL when there is no JSON body). Extra
 * headers go in `headers` (NULL-terminated, may be NULL).
 */
cJSON *t_api(struct tctx *t, const char *method, const char *body, const char *const *headers,
	     unsigned int flags, long expect, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

/* Call a /_sim/ control endpoint; asserts `expect`, returns the JSON body. */
cJSON *t_sim(struct tctx *t, const char *method, const char *body, long expect,
	     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Header of the last answer, or NULL. */
const char *t_header(struct tctx *t, const char *name);
/* The body of the last answer as text ("" when none). */
const char *t_body(struct tctx *t);

/* Exchanges judged so far in this process: (method, path template, status). */
bool t_covered(const char *method, const char *tmpl, long status);
/* Print the coverage table to stdout. */
void t_coverage_report(void);

/* Small JSON helpers for assertions. */
const char *j_str(const cJSON *o, const char *key);
double j_num(const cJSON *o, const char *key);
/* The attribute `name` of `scope` in an inventory device object, or NULL. */
const cJSON *j_attr(const cJSON *device, const char *scope, const char *name);

/* The id at the end of a Location header value. */
const char *t_location_id(struct tctx *t);

double t_now(void);

#endif
