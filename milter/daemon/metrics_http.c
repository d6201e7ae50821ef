/*
 * metrics_http.c - the daemon's Prometheus endpoint (see metrics_http.h):
 * libmicrohttpd on one internal thread, a few connections at most, GET and
 * HEAD of /metrics only.  Nothing here counts anything or judges mail.
 */
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "daemon_metrics.h"
#include "log.h"
#include "metrics_http.h"

/* Scrapers are few: Prometheus, perhaps a second one and a person with curl. */
#define MAX_CONNECTIONS 8
#define IDLE_SECONDS    10

static int listen_fd = -1;
static struct MHD_Daemon *server;

char *metrics_http_check(const struct config *cfg)
{
	struct sockaddr_storage sa;
	socklen_t len;
	bool loopback;
	if (*cfg->metrics == '\0')
		return NULL;
	if (!config_parse_listen(cfg->metrics, &sa, &len, &loopback))
		return g_strdup_printf("metrics: %s: expected IPV4-ADDRESS:PORT or [IPV6-ADDRESS]:PORT",
		                       cfg->metrics);
	if (!loopback && !cfg->metrics_allow_remote)
		return g_strdup_printf(
		    "metrics: %s is not a loopback address, and the metrics page has no log-in: listen on "
		    "127.0.0.1 or [::1] (and let Prometheus reach it through a proxy or a tunnel), or set "
		    "metrics-allow-remote: yes and firewall the port",
		    cfg->metrics);
	return NULL;
}

int metrics_http_listen(const struct config *cfg)
{
	char *why = metrics_http_check(cfg);
	if (why != NULL) {
		fprintf(stderr, "apology-milter: %s\n", why);
		g_free(why);
		return EX_CONFIG;
	}
	if (*cfg->metrics == '\0')
		return 0;
	struct sockaddr_storage sa;
	socklen_t len;
	bool loopback;
	config_parse_listen(cfg->metrics, &sa, &len, &loopback);
	int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(fd, (struct sockaddr *)&sa, len) != 0 || listen(fd, 16) != 0) {
		fprintf(stderr, "apology-milter: metrics: cannot listen on %s: %s\n", cfg->metrics,
		        strerror(errno));
		if (fd >= 0)
			close(fd);
		return EX_UNAVAILABLE;
	}
	listen_fd = fd;
	return 0;
}

/* Answer CONN with BODY, which the response takes. */
static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, const char *type, char *body)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer_with_free_callback(strlen(body), body, g_free);
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	(void)cls, (void)version, (void)upload, (void)upload_size, (void)con_cls;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return answer(conn, 405, "text/plain", g_strdup("GET /metrics only\n"));
	if (strcmp(url, "/metrics") != 0)
		return answer(conn, 404, "text/plain", g_strdup("see /metrics\n"));
	return answer(conn, 200, METRICS_CONTENT_TYPE, metrics_render(daemon_metrics()->registry));
}

int metrics_http_start(void)
{
	if (listen_fd < 0)
		return 0;
	metric_set(metric_at(daemon_metrics()->start_time), g_get_real_time() / G_USEC_PER_SEC);
	server = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL, handle, NULL,
	                          MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_CONNECTION_LIMIT,
	                          (unsigned)MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
	                          (unsigned)IDLE_SECONDS, MHD_OPTION_END);
	if (server == NULL) {
		log_msg(LOG_ERR, "metrics: cannot serve: %s", strerror(errno));
		return EX_UNAVAILABLE;
	}
	return 0;
}

void metrics_http_stop(void)
{
	if (server != NULL)
		MHD_stop_daemon(server); /* closes the listening socket too */
	else if (listen_fd >= 0)
		close(listen_fd);
	server = NULL;
	listen_fd = -1;
}
