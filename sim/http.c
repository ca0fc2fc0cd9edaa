#include "http.h"

#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "control.h"
#include "devices.h"
#include "handlers.h"
#include "useradm.h"

/* Request line plus headers must fit here (MHD answers 414/431 beyond). */
#define HEADER_MEMORY (64 * 1024)
#define REQUEST_ID_MAX 128
#define SEGMENTS_MAX 16

struct route {
	const char *method;
	const char *pattern; /* "{}" matches one path segment */
	sim_handler *handler;
	bool auth;
};

#define UA "/api/management/v1/useradm"
#define INV "/api/management/v1/inventory"
#define DEP "/api/management/v1/deployments"
#define DEP2 "/api/management/v2/deployments"
#define CONF "/api/management/v1/deviceconfig/configurations/device"
#define DEVAUTH2 "/api/management/v2/devauth/devices"
#define DEVDEP "/api/devices/v1/deployments"

static const struct route routes[] = {
	{ "POST", UA "/auth/login", sim_useradm_login, false },
	{ "POST", UA "/auth/logout", sim_useradm_logout, true },
	{ "GET", UA "/settings/tokens", sim_useradm_tokens_list, true },
	{ "POST", UA "/settings/tokens", sim_useradm_tokens_create, true },
	{ "DELETE", UA "/settings/tokens/{}", sim_useradm_tokens_delete, true },

	{ "GET", INV "/devices", sim_inventory_list, true },
	{ "GET", INV "/devices/{}", sim_inventory_get, true },
	{ "PATCH", INV "/devices/{}/tags", sim_inventory_tags_patch, true },
	{ "PUT", INV "/devices/{}/tags", sim_inventory_tags_put, true },
	{ "POST", "/api/management/v2/inventory/filters/search", sim_inventory_search, true },

	{ "POST", DEP "/deployments", sim_deployments_create, true },
	{ "GET", DEP "/deployments", sim_deployments_list_v1, true },
	{ "POST", DEP "/deployments/statistics/list", sim_deployments_statistics_list, true },
	{ "POST", DEP "/deployments/group/{}", sim_deployments_create_group, true },
	{ "GET", DEP "/deployments/devices/{}", sim_deployments_device_history, true },
	{ "DELETE", DEP "/deployments/devices/{}", sim_deployments_device_abort, true },
	{ "DELETE", DEP "/deployments/devices/{}/history", sim_deployments_device_reset, true },
	{ "GET", DEP "/deployments/{}", sim_deployments_get, true },
	{ "PUT", DEP "/deployments/{}/status", sim_deployments_abort, true },
	{ "GET", DEP "/deployments/{}/statistics", sim_deployments_statistics, true },
	{ "GET", DEP "/deployments/{}/devices/list", sim_deployments_devices_list, true },
	{ "GET", DEP "/deployments/{}/device_list", sim_deployments_device_list, true },
	{ "GET", DEP2 "/deployments", sim_deployments_list_v2, true },
	{ "GET", DEP "/artifacts", sim_artifacts_list_v1, true },
	{ "GET", DEP2 "/artifacts", sim_artifacts_list_v2, true },

	{ "GET", CONF "/{}", sim_deviceconfig_get, true },
	{ "PUT", CONF "/{}", sim_deviceconfig_put, true },
	{ "POST", CONF "/{}/deploy", sim_deviceconfig_deploy, true },

	{ "GET", "/_sim/state", sim_control_state, false },
	{ "GET", "/_sim/requests", sim_control_requests_get, false },
	{ "DELETE", "/_sim/requests", sim_control_requests_clear, false },
	{ "GET", "/_sim/faults", sim_control_faults_get, false },
	{ "POST", "/_sim/faults", sim_control_faults_add, false },
	{ "DELETE", "/_sim/faults", sim_control_faults_clear, false },
	{ "POST", "/_sim/step", sim_control_step, false },
	{ "POST", "/_sim/devices", sim_control_devices_add, false },
	{ "PUT", "/_sim/devices/{}", sim_control_device_put, false },
	{ "POST", "/_sim/artifacts", sim_control_artifacts_add, false },
	{ "GET", "/_sim/settings", sim_control_settings_get, false },
	{ "PUT", "/_sim/settings", sim_control_settings_put, false },

	/* The device side (devauth.c, device_api.c, artifact_api.c): device
	 * routes check the device's token themselves. */
	{ "POST", "/api/devices/v1/authentication/auth_requests", sim_devauth_auth_request, false },
	{ "GET", DEVDEP "/device/deployments/next", sim_device_next, false },
	{ "POST", DEVDEP "/device/deployments/next", sim_device_next, false },
	{ "PUT", DEVDEP "/device/deployments/{}/status", sim_device_status, false },
	{ "PUT", DEVDEP "/device/deployments/{}/log", sim_device_log, false },
	{ "GET", DEVDEP "/download/configuration/{}/{}/{}", sim_device_config_download, false },
	{ "PUT", "/api/devices/v1/deviceconfig/configuration", sim_device_config_report, false },
	{ "GET", "/api/devices/v1/deviceconfig/configuration", sim_device_config_get, false },
	{ "PUT", "/api/devices/v1/inventory/device/attributes", sim_device_inventory, false },
	{ "PATCH", "/api/devices/v1/inventory/device/attributes", sim_device_inventory, false },
	{ "GET", "/" SIM_STORAGE_BUCKET "/{}", sim_device_download, false },
	{ "GET", DEVAUTH2, sim_devauth_list, true },
	{ "GET", DEVAUTH2 "/{}", sim_devauth_get, true },
	{ "PUT", DEVAUTH2 "/{}/auth/{}/status", sim_devauth_set_status, true },
	{ "POST", DEP "/artifacts", sim_artifacts_upload, true },
	{ "DELETE", DEP "/artifacts/{}", sim_artifacts_delete, true },
	{ "GET", DEP "/deployments/{}/devices/{}/log", sim_deployments_device_log, true },
	{ "DELETE", "/_sim/device-tokens", sim_control_device_tokens_drop, false },
};

struct sim_http {
	struct MHD_Daemon *daemon;
	struct sim *sim;
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond; /* CLOCK_MONOTONIC */
	bool stopping;
};

/* Per-request state: made by the URI callback, freed when MHD is done. */
struct conn_req {
	char *uri;
	bool started;
	bool answered;
	bool too_large;
	size_t cap;
	struct sim_buf body;
};

/* The request's URI taken apart. */
struct uri_parts {
	char *path;
	char *query;
	struct sim_arg *args;
	size_t nargs, aargs;
	char *segs[SEGMENTS_MAX];
	size_t nsegs;
	bool too_many_segments;
};

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode s[0..n); '+' becomes a space in query components. A
 * malformed escape is kept as it is. */
static char *pct_decode(const char *s, size_t n, bool plus)
{
	char *out = sim_xmalloc(n + 1), *o = out;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
		    hexval((unsigned char)s[i + 2]) >= 0) {
			*o++ = (char)(hexval((unsigned char)s[i + 1]) << 4 |
				      hexval((unsigned char)s[i + 2]));
			i += 2;
		} else if (plus && s[i] == '+') {
			*o++ = ' ';
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

static void parse_uri(const char *uri, struct uri_parts *u)
{
	const char *q = strchr(uri, '?');
	size_t plen = q ? (size_t)(q - uri) : strlen(uri);
	const char *p, *end;

	memset(u, 0, sizeof(*u));
	u->path = pct_decode(uri, plen, false);
	u->query = sim_xstrdup(q ? q + 1 : "");
	for (p = u->query; *p; p = *end ? end + 1 : end) {
		const char *eq;

		end = p + strcspn(p, "&");
		if (end == p)
			continue;
		eq = memchr(p, '=', (size_t)(end - p));
		sim_grow((void **)&u->args, &u->aargs, u->nargs + 1, sizeof(*u->args));
		u->args[u->nargs].key = pct_decode(p, (size_t)((eq ? eq : end) - p), true);
		u->args[u->nargs].value =
			eq ? pct_decode(eq + 1, (size_t)(end - eq - 1), true) : sim_xstrdup("");
		u->nargs++;
	}
	/* Segments are decoded one by one so that %2F stays inside one. */
	for (p = uri + (plen && uri[0] == '/'); p < uri + plen; p = end + 1) {
		end = memchr(p, '/', (size_t)(uri + plen - p));
		if (!end)
			end = uri + plen;
		if (u->nsegs == SEGMENTS_MAX) {
			u->too_many_segments = true;
			break;
		}
		u->segs[u->nsegs++] = pct_decode(p, (size_t)(end - p), false);
	}
}

static void uri_parts_release(struct uri_parts *u)
{
	size_t i;

	for (i = 0; i < u->nargs; i++) {
		free(u->args[i].key);
		free(u->args[i].value);
	}
	for (i = 0; i < u->nsegs; i++)
		free(u->segs[i]);
	free(u->args);
	free(u->path);
	free(u->query);
}

/* Match the path segments against a route pattern, capturing "{}" ones. */
static bool match_pattern(const char *pattern, const struct uri_parts *u, const char **params,
			  size_t *nparams)
{
	const char *p = pattern + 1;
	size_t i;

	*nparams = 0;
	if (u->too_many_segments)
		return false;
	for (i = 0; i < u->nsegs; i++) {
		size_t n = strcspn(p, "/");

		if (n == 2 && !strncmp(p, "{}", 2)) {
			if (!*u->segs[i] || *nparams == 4)
				return false;
			params[(*nparams)++] = u->segs[i];
		} else if (strlen(u->segs[i]) != n || strncmp(p, u->segs[i], n)) {
			return false;
		}
		p += n;
		if (*p == '/')
			p++;
		else if (i + 1 < u->nsegs)
			return false;
	}
	return *p == '\0' && u->nsegs > 0;
}

static void dispatch(struct sim_http *h, struct sim_request *req, const struct uri_parts *u,
		     struct sim_response *res)
{
	const struct route *found = NULL;
	bool other_method = false;
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]) && !found; i++) {
		if (!sim_version_serves(h->sim->store->version, routes[i].method,
					routes[i].pattern) ||
		    !match_pattern(routes[i].pattern, u, req->params, &req->nparams))
			continue;
		if (!strcmp(routes[i].method, req->method))
			found = &routes[i];
		else
			other_method = true;
	}
	if (!found) {
		sim_version_no_route(h->sim->store->version, req, res, other_method);
		return;
	}
	pthread_mutex_lock(&h->sim->lock);
	/* A device's token is no user's: the management API refuses it. */
	if (found->auth && sim_devauth_is_device_token(h->sim->devices, req)) {
		sim_res_error(res, req, 401, "unauthorized");
	} else if (!found->auth || sim_auth_check(h->sim->auth, req, res, sim_now_us())) {
		if (h->sim->settings.no_configure && sim_version_is_deviceconfig(req->path))
			sim_version_no_configure(req, res);
		else
			found->handler(h->sim, req, res);
	}
	pthread_mutex_unlock(&h->sim->lock);
}

/* Sleep for a delay fault, cut short when the server stops. */
static void fault_delay(struct sim_http *h, int64_t ms)
{
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&h->stop_lock);
	while (!h->stopping &&
	       pthread_cond_timedwait(&h->stop_cond, &h->stop_lock, &deadline) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&h->stop_lock);
}

static bool printable(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if (n >= max || *s < 0x21 || *s > 0x7e)
			return false;
	return n > 0;
}

static const char *header(struct MHD_Connection *conn, const char *name)
{
	return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

/* The parts of a multipart/form-data body, as MHD's post processor hands
 * them over: chunk by chunk, a part's first chunk at offset 0. */
struct form {
	struct sim_part *parts;
	size_t n, alloc;
};

static enum MHD_Result on_form_data(void *cls, enum MHD_ValueKind kind, const char *key,
				    const char *filename, const char *content_type,
				    const char *transfer_encoding, const char *data, uint64_t off,
				    size_t size)
{
	struct form *f = cls;

	(void)kind;
	(void)content_type;
	(void)transfer_encoding;
	if (off == 0 || !f->n) {
		struct sim_part *p;

		sim_grow((void **)&f->parts, &f->alloc, f->n + 1, sizeof(*f->parts));
		p = &f->parts[f->n++];
		memset(p, 0, sizeof(*p));
		p->name = sim_xstrdup(key ? key : "");
		p->filename = filename ? sim_xstrdup(filename) : NULL;
	}
	sim_buf_put(&f->parts[f->n - 1].data, data, size);
	return MHD_YES;
}

/* Parse a buffered multipart body; false when it is malformed. */
static bool parse_form(struct MHD_Connection *conn, const struct sim_buf *body, struct form *f)
{
	struct MHD_PostProcessor *pp = MHD_create_post_processor(conn, 65536, on_form_data, f);
	bool ok;

	if (!pp)
		return false;
	ok = MHD_post_process(pp, body->ptr ? body->ptr : "", body->len) == MHD_YES;
	if (MHD_destroy_post_processor(pp) != MHD_YES)
		ok = false;
	return ok;
}

static void form_release(struct form *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		free(f->parts[i].name);
		free(f->parts[i].filename);
		sim_buf_release(&f->parts[i].data);
	}
	free(f->parts);
}

static enum MHD_Result serve(struct sim_http *h, struct MHD_Connection *conn,
			     struct conn_req *cr, const char *method)
{
	struct sim_response res = { 0 };
	struct sim_request req = { 0 };
	struct sim_fault_action fault = { 0 };
	struct form form = { 0 };
	struct MHD_Response *resp;
	struct uri_parts u;
	const char *rid_in = header(conn, "X-MEN-RequestID");
	char rid[REQUEST_ID_MAX + 1];
	enum MHD_Result ret;
	bool control;
	size_t i;

	cr->answered = true;
	parse_uri(cr->uri, &u);
	control = !strncmp(u.path, "/_sim/", 6);
	if (rid_in && printable(rid_in, REQUEST_ID_MAX))
		snprintf(rid, sizeof(rid), "%s", rid_in);
	else
		sim_uuid4(rid);
	req.method = method;
	req.path = u.path;
	req.query = u.query;
	req.args = u.args;
	req.nargs = u.nargs;
	req.authorization = header(conn, "Authorization");
	req.cookie = header(conn, "Cookie");
	req.if_match = header(conn, "If-Match");
	req.host = header(conn, MHD_HTTP_HEADER_HOST);
	req.signature = header(conn, "X-MEN-Signature");
	req.content_type = header(conn, MHD_HTTP_HEADER_CONTENT_TYPE);
	req.body = cr->body.len ? cr->body.ptr : NULL;
	req.body_len = cr->body.len;
	req.request_id = rid;

	if (!control) {
		pthread_mutex_lock(&h->sim->lock);
		sim_control_take_fault(h->sim->control, method, u.path, &fault);
		pthread_mutex_unlock(&h->sim->lock);
	}
	if (fault.delay_ms)
		fault_delay(h, fault.delay_ms);
	if (fault.drop) {
		pthread_mutex_lock(&h->sim->lock);
		sim_control_log(h->sim->control, method, u.path, u.query, 0);
		pthread_mutex_unlock(&h->sim->lock);
		uri_parts_release(&u);
		return MHD_NO; /* MHD closes the connection, no answer */
	}
	if (fault.status) {
		sim_res_error(&res, &req, fault.status, "fault injected by mender-sim");
		if (fault.retry_after) {
			char buf[24];

			snprintf(buf, sizeof(buf), "%lld", (long long)fault.retry_after);
			sim_res_header(&res, "Retry-After", buf);
		}
	} else if (cr->too_large) {
		sim_res_error(&res, &req, 413, "request body too large (limit %zu bytes)", cr->cap);
	} else {
		if (req.content_type &&
		    !strncasecmp(req.content_type, "multipart/form-data", 19)) {
			req.form_error = !parse_form(conn, &cr->body, &form);
			req.parts = form.parts;
			req.nparts = form.n;
		}
		dispatch(h, &req, &u, &res);
	}

	resp = MHD_create_response_from_buffer(res.body.len, res.body.ptr ? res.body.ptr : "",
					       MHD_RESPMEM_MUST_COPY);
	if (!resp) {
		fprintf(stderr, "mender-sim: out of memory building a response\n");
		abort();
	}
	MHD_add_response_header(resp, "X-MEN-RequestID", rid);
	if (res.content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, res.content_type);
	for (i = 0; i < res.nheaders; i++)
		MHD_add_response_header(resp, res.headers[i].name, res.headers[i].value);
	ret = MHD_queue_response(conn, res.status, resp);
	MHD_destroy_response(resp);
	if (!control) {
		pthread_mutex_lock(&h->sim->lock);
		sim_control_log(h->sim->control, method, u.path, u.query, res.status);
		pthread_mutex_unlock(&h->sim->lock);
	}
	sim_response_release(&res);
	form_release(&form);
	uri_parts_release(&u);
	return ret;
}

/* The largest body a request may send: artifact uploads are large. */
static size_t body_cap(const char *uri, const char *method)
{
	static const char upload[] = DEP "/artifacts";
	size_t n = sizeof(upload) - 1;

	if (!strncmp(uri, "/_sim/", 6))
		return SIM_CONTROL_BODY_MAX;
	if (!strcmp(method, "POST") && !strncmp(uri, upload, n) && strchr("/?", uri[n]))
		return SIM_UPLOAD_BODY_MAX;
	return SIM_API_BODY_MAX;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct sim_http *h = cls;
	struct conn_req *cr = *req_cls;

	(void)url;
	(void)version;
	if (!cr)
		return MHD_NO; /* on_uri runs first for every request */
	if (cr->answered) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (!cr->started) {
		const char *cl = header(conn, MHD_HTTP_HEADER_CONTENT_LENGTH);

		cr->started = true;
		cr->cap = body_cap(cr->uri, method);
		if (cl) {
			char *end;
			unsigned long long n;

			errno = 0;
			n = strtoull(cl, &end, 10);
			/* Refuse before reading a body announced too large. */
			if (errno || *end || n > cr->cap) {
				cr->too_large = true;
				return serve(h, conn, cr, method);
			}
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!cr->too_large) {
			if (cr->body.len + *upload_data_size > cr->cap) {
				cr->too_large = true;
				sim_buf_release(&cr->body);
			} else {
				sim_buf_put(&cr->body, upload_data, *upload_data_size);
			}
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	return serve(h, conn, cr, method);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct conn_req *cr = sim_xcalloc(1, sizeof(*cr));

	(void)cls;
	(void)conn;
	cr->uri = sim_xstrdup(uri);
	return cr;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct conn_req *cr = *req_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (!cr)
		return;
	sim_buf_release(&cr->body);
	free(cr->uri);
	free(cr);
	*req_cls = NULL;
}

struct sim_http *sim_http_start(struct sim *sim, const struct sockaddr *addr, socklen_t len,
				uint16_t *port, struct sim_buf *err)
{
	struct sim_http *h = sim_xcalloc(1, sizeof(*h));
	unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
	const union MHD_DaemonInfo *info;
	pthread_condattr_t ca;

	(void)len;
	h->sim = sim;
	pthread_mutex_init(&h->stop_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->stop_cond, &ca);
	pthread_condattr_destroy(&ca);
	if (addr->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR,
				     addr, MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
				     MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HEADER_MEMORY,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)120,
				     MHD_OPTION_END);
	if (!h->daemon) {
		sim_buf_printf(err, "cannot listen: %s", strerror(errno ? errno : EADDRINUSE));
		sim_http_stop(h);
		return NULL;
	}
	info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
	*port = info ? info->port : 0;
	return h;
}

void sim_http_stop(struct sim_http *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->stop_lock);
	h->stopping = true;
	pthread_cond_broadcast(&h->stop_cond);
	pthread_mutex_unlock(&h->stop_lock);
	if (h->daemon)
		MHD_stop_daemon(h->daemon);
	pthread_cond_destroy(&h->stop_cond);
	pthread_mutex_destroy(&h->stop_lock);
	free(h);
}
