/*
 * frontend_libmilter.c - the libmilter front end (apology-milter-libmilter):
 * libmilter's callbacks mapped one to one onto filter.c, libmilter's socket
 * and its thread per connection.  See frontend.h for how it relates to the
 * default, event-driven front end.
 *
 * Signals: SIGUSR1 reloads the policy (a bad policy keeps the old one).
 * SIGUSR2 stops gracefully: new messages are accepted unchecked, messages in
 * flight are finished (within limits.drain-timeout), then the daemon exits.
 * SIGTERM, SIGINT and SIGHUP stop at once: they belong to libmilter, which
 * waits for them in a sigwait() thread of its own and, on any of them, closes
 * the socket and stops serving sessions (messages in flight then get Postfix's
 * default_action, accept).  A second thread waiting for SIGHUP or SIGTERM
 * would race libmilter's for every delivery (POSIX leaves the choice open),
 * so neither can be turned into a reload or a drain safely here.
 *
 * The negotiation asks the MTA not to send what is not needed (HELO,
 * unknown commands), not to wait for replies where the answer is always
 * "continue" (connect, RCPT, each header, end of headers, body chunks),
 * and out-of-scope mail is accepted at MAIL FROM or DATA so its body is
 * never sent.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "frontend.h"
#include "log.h"
#include "mta.h"

const char frontend_signal_help[] =
    "Signals: USR1 reloads the policy; USR2 stops after the messages in flight;\n"
    "TERM, INT and HUP stop at once.\n";

static struct filter *the_filter;
static const struct config *the_config;

/* One milter connection (one SMTP session). */
struct conn {
	SMFICTX *ctx;
	unsigned long steps;   /* negotiated SMFIP_* flags */
	unsigned long actions; /* negotiated SMFIF_* flags */
	char *quarantine;      /* the hold asked for at end of message; NULL: none */
	struct filter_session *session;
};

/* ---- the MTA operations, done with libmilter -------------------------- */

static bool milter_add_header(void *mta, const char *name, const char *value)
{
	struct conn *c = mta;
	return smfi_addheader(c->ctx, (char *)name, (char *)value) == MI_SUCCESS;
}

static bool milter_delete_header(void *mta, const char *name, int index)
{
	struct conn *c = mta;
	return smfi_chgheader(c->ctx, (char *)name, index, NULL) == MI_SUCCESS;
}

/* libmilter sends a quarantine to the MTA at once, so it is kept until
 * filter.c has journaled the hold's record (on_eom): as with the event
 * front end, the MTA hears of a hold only once a kill cannot lose it. */
static bool milter_quarantine(void *mta, const char *reason)
{
	struct conn *c = mta;
	if (!(c->actions & SMFIF_QUARANTINE) || reason == NULL || *reason == '\0')
		return false;
	g_free(c->quarantine);
	c->quarantine = g_strdup(reason);
	return true;
}

static bool milter_set_reply(void *mta, const char *rcode, const char *xcode, const char *text)
{
	struct conn *c = mta;
	return smfi_setreply(c->ctx, (char *)rcode, (char *)xcode, (char *)text) == MI_SUCCESS;
}

static const struct mta_ops milter_ops = {
    .add_header = milter_add_header,
    .delete_header = milter_delete_header,
    .quarantine = milter_quarantine,
    .set_reply = milter_set_reply,
};

/* ---- callbacks -------------------------------------------------------- */

static sfsistat status(enum filter_reply r)
{
	switch (r) {
	case FILTER_CONTINUE: return SMFIS_CONTINUE;
	case FILTER_ACCEPT: return SMFIS_ACCEPT;
	case FILTER_TEMPFAIL: return SMFIS_TEMPFAIL;
	case FILTER_REJECT: return SMFIS_REJECT;
	case FILTER_AGAIN: break; /* never: this front end does not defer the encoder */
	}
	return SMFIS_CONTINUE;
}

/* The reply for a step whose answer is always "continue". */
static sfsistat quiet(const struct conn *c, unsigned long no_reply_flag)
{
	return (c->steps & no_reply_flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static struct conn *conn_get(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);
	if (c == NULL) {
		c = g_new0(struct conn, 1);
		c->actions = FRONTEND_ACTIONS; /* unless the MTA negotiates */
		c->ctx = ctx;
		smfi_setpriv(ctx, c);
	}
	c->ctx = ctx;
	return c;
}

/* The session, created on first use when the MTA skipped the connect step. */
static struct filter_session *session_get(struct conn *c)
{
	if (c->session == NULL) {
		c->session = filter_session_new(the_filter, NULL, "");
		filter_set_leading_space(c->session, c->steps & SMFIP_HDR_LEADSPC);
	}
	return c->session;
}

static sfsistat on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
                             unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
                             unsigned long *pf3)
{
	(void)f2;
	(void)f3;
	struct conn *c = conn_get(ctx);
	*pf0 = f0 & FRONTEND_ACTIONS;
	*pf1 = f1 & FRONTEND_STEPS;
	*pf2 = 0;
	*pf3 = 0;
	c->steps = *pf1;
	c->actions = *pf0;
	for (int stage = 0; (f0 & SMFIF_SETSYMLIST) && stage <= SMFIM_LAST; stage++)
		if (frontend_macros[stage])
			smfi_setsymlist(ctx, stage, (char *)frontend_macros[stage]);
	return SMFIS_CONTINUE;
}

static sfsistat on_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *addr)
{
	(void)hostname;
	struct conn *c = conn_get(ctx);
	char text[INET6_ADDRSTRLEN] = "";
	const struct sockaddr *sa = addr;
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, text,
		          sizeof text);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, text,
		          sizeof text);
	filter_session_free(c->session);
	c->session = filter_session_new(the_filter, sa, text);
	filter_set_leading_space(c->session, c->steps & SMFIP_HDR_LEADSPC);
	filter_set_daemon_name(c->session, smfi_getsymval(ctx, "{daemon_name}"));
	return quiet(c, SMFIP_NR_CONN);
}

static sfsistat on_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn *c = conn_get(ctx);
	struct filter_session *s = session_get(c);
	const char *daemon_name = smfi_getsymval(ctx, "{daemon_name}");
	if (daemon_name != NULL)
		filter_set_daemon_name(s, daemon_name);
	return status(filter_mail(s, argv[0], smfi_getsymval(ctx, "{auth_authen}")));
}

static sfsistat on_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn *c = conn_get(ctx);
	filter_rcpt(session_get(c), argv[0]);
	return quiet(c, SMFIP_NR_RCPT);
}

static sfsistat on_data(SMFICTX *ctx)
{
	return status(filter_data(session_get(conn_get(ctx))));
}

static sfsistat on_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn *c = conn_get(ctx);
	filter_header(session_get(c), name, value);
	return quiet(c, SMFIP_NR_HDR);
}

static sfsistat on_eoh(SMFICTX *ctx)
{
	struct conn *c = conn_get(ctx);
	filter_end_of_headers(session_get(c));
	return quiet(c, SMFIP_NR_EOH);
}

static sfsistat on_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct conn *c = conn_get(ctx);
	filter_body(session_get(c), chunk, len);
	return quiet(c, SMFIP_NR_BODY);
}

static sfsistat on_eom(SMFICTX *ctx)
{
	struct conn *c = conn_get(ctx);
	const char *qid = smfi_getsymval(ctx, "i");
	enum filter_reply r = filter_end_of_message(session_get(c), qid, &milter_ops, c);
	if (c->quarantine != NULL) {
		if (smfi_quarantine(ctx, c->quarantine) != MI_SUCCESS) {
			log_msg(LOG_ERR, "%s: the MTA connection failed as the hold was sent; deferring it",
			        qid ? qid : "NOQUEUE");
			r = FILTER_TEMPFAIL;
		}
		g_clear_pointer(&c->quarantine, g_free);
	}
	return status(r);
}

static sfsistat on_abort(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);
	if (c != NULL && c->session != NULL)
		filter_abort(c->session);
	return SMFIS_CONTINUE;
}

static sfsistat on_close(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);
	if (c != NULL) {
		filter_session_free(c->session);
		g_free(c->quarantine);
		g_free(c);
		smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

static struct smfiDesc milter_desc = {
    .xxfi_name = "apology-milter",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = FRONTEND_ACTIONS,
    .xxfi_connect = on_connect,
    .xxfi_envfrom = on_envfrom,
    .xxfi_envrcpt = on_envrcpt,
    .xxfi_header = on_header,
    .xxfi_eoh = on_eoh,
    .xxfi_body = on_body,
    .xxfi_eom = on_eom,
    .xxfi_abort = on_abort,
    .xxfi_close = on_close,
    .xxfi_data = on_data,
    .xxfi_negotiate = on_negotiate,
};

/* ---- signals and housekeeping ----------------------------------------- */

/* Finish the messages in flight, then tell libmilter to stop. */
static void drain_and_stop(void)
{
	unsigned left = filter_in_flight(the_filter);
	log_msg(LOG_NOTICE, "stopping: finishing %u message(s) in flight", left);
	if (!filter_drain(the_filter, the_config->drain_timeout))
		log_msg(LOG_WARNING, "stopping with %u message(s) still in flight",
		        filter_in_flight(the_filter));
	smfi_stop();
}

/* Waits for SIGUSR1 (reload the policy) and SIGUSR2 (drain and stop);
 * runs the upkeep (daemon_upkeep) at start and then every spool.retry. */
static void *signal_thread(void *arg)
{
	(void)arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	/* A deadline, not a fresh interval per wait: reloads must not put the upkeep off. */
	gint64 next_upkeep = g_get_monotonic_time() / G_USEC_PER_SEC; /* reconcile at start */
	for (;;) {
		gint64 now = g_get_monotonic_time() / G_USEC_PER_SEC;
		if (now >= next_upkeep) {
			daemon_upkeep(the_filter, the_config);
			next_upkeep = now + the_config->store_retry;
		}
		struct timespec wait = {(time_t)(next_upkeep - now), 0};
		int sig = sigtimedwait(&set, NULL, &wait);
		if (sig == SIGUSR2) {
			drain_and_stop();
			return NULL;
		} else if (sig == SIGUSR1) {
			daemon_reload(the_filter);
		}
	}
	return NULL;
}

/* libmilter does not hand out its listening socket: find it among our
 * descriptors and turn Nagle off (accepted sockets inherit the option). */
static void set_nodelay(void)
{
	for (int fd = 0; fd < 1024; fd++) {
		int listening = 0, one = 1;
		socklen_t len = sizeof listening;
		struct sockaddr_storage ss;
		socklen_t slen = sizeof ss;
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening)
			continue;
		if (getsockname(fd, (struct sockaddr *)&ss, &slen) != 0 ||
		    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
			log_msg(LOG_WARNING, "TCP_NODELAY: %s", strerror(errno));
	}
}

int frontend_listen(const struct config *cfg, uid_t uid, gid_t gid)
{
	the_config = cfg;
	const char *conn = the_config->socket;
	if (smfi_setconn((char *)conn) != MI_SUCCESS ||
	    smfi_settimeout((int)the_config->milter_timeout) != MI_SUCCESS ||
	    smfi_register(milter_desc) != MI_SUCCESS) {
		fprintf(stderr, "apology-milter: cannot set up libmilter for %s\n", conn);
		return EX_SOFTWARE;
	}
	mode_t old = umask(0177);
	int ok = smfi_opensocket(true);
	umask(old);
	if (ok != MI_SUCCESS) {
		fprintf(stderr, "apology-milter: cannot listen on %s\n", conn);
		return EX_UNAVAILABLE;
	}
	const char *path = config_socket_path(conn);
	if (path != NULL) {
		if (chmod(path, (mode_t)the_config->socket_mode) != 0 ||
		    ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) != 0)) {
			fprintf(stderr, "apology-milter: %s: %s\n", path, strerror(errno));
			return EX_OSERR;
		}
	} else {
		set_nodelay();
	}
	return 0;
}

int frontend_run(struct filter *f, const struct config *cfg, bool *idle)
{
	*idle = false; /* session threads may still run: F is left to exit() */
	the_filter = f;
	the_config = cfg;
	pthread_t tid;
	if (pthread_create(&tid, NULL, signal_thread, NULL) != 0)
		return EX_OSERR;
	pthread_detach(tid);
	int rc = smfi_main() == MI_SUCCESS ? 0 : EX_SOFTWARE;
	/* Sessions still open are not served any more once libmilter stops. */
	if (filter_in_flight(f) > 0)
		log_msg(LOG_WARNING, "stopped with %u message(s) in flight", filter_in_flight(f));
	return rc;
}
