/*
 * metrics_http.h - the daemon's Prometheus endpoint: GET /metrics on the
 * configured `metrics` address answers with the text of daemon_metrics.h's
 * registry.  libmicrohttpd serves it on a thread of its own, never on a
 * thread that serves the MTA; a scrape reads atomic counters and takes no
 * lock the mail path takes.  Off unless `metrics` is set; an address other
 * than loopback is refused unless metrics-allow-remote is set, since the
 * page has no log-in.
 *
 * Order at start-up: metrics_http_listen() with the other sockets (it may
 * still be root), metrics_http_start() once the daemon has forked and
 * dropped its privileges (a thread does not survive fork), with the
 * daemon's signals blocked; metrics_http_stop() on the way out.
 */
#ifndef APOLOGY_METRICS_HTTP_H
#define APOLOGY_METRICS_HTTP_H

#include "config.h"

/* Whether CFG's metrics settings may be served: NULL, or why not (caller
 * frees).  For -n and metrics_http_listen(). */
char *metrics_http_check(const struct config *cfg);

/* Open the listening socket of CFG's `metrics` (nothing when it is off).
 * Errors go to stderr; returns 0 or a sysexits code. */
int metrics_http_listen(const struct config *cfg);

/* Serve the socket opened by metrics_http_listen(), if any.  Returns 0 or
 * a sysexits code (errors to the log). */
int metrics_http_start(void);

/* Stop serving and close the socket. */
void metrics_http_stop(void);

#endif
