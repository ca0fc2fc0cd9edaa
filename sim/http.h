#ifndef SIM_HTTP_H
#define SIM_HTTP_H

/*
 * The HTTP side of the stand-in, on libmicrohttpd (the only file that
 * includes microhttpd.h): one thread per connection, request bodies capped,
 * faults applied, routing to the handlers, X-MEN-RequestID on every answer,
 * and the request log.
 */

#include <stdint.h>
#include <sys/socket.h>

#include "api.h"

/* Bodies of Mender API requests (the server's request_size_limit, 1 MiB). */
#define SIM_API_BODY_MAX ((size_t)1 << 20)
/* Artifact uploads (the stand-in keeps artifacts in memory; Mender's
 * own limit, deployments' MaxImageSize, is 10 GiB). */
#define SIM_UPLOAD_BODY_MAX ((size_t)256 << 20)
/* Bodies of /_sim/ requests (device batches can be large). */
#define SIM_CONTROL_BODY_MAX ((size_t)256 << 20)

struct sim_http;

/*
 * Listen on `addr` (a loopback address) and serve `sim` until
 * sim_http_stop. `*port` receives the port bound. Returns NULL with a
 * message in `err` when the daemon cannot start.
 */
struct sim_http *sim_http_start(struct sim *sim, const struct sockaddr *addr, socklen_t len,
				uint16_t *port, struct sim_buf *err);

/* Wake requests sleeping in a delay fault, stop the daemon, free `h`. */
void sim_http_stop(struct sim_http *h);

#endif
