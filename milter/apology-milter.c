/*
 * apology-milter.c - the daemon: libmilter's callbacks mapped one to one
 * onto filter.c, plus start-up (config, policy, socket, privileges, pid
 * file, store) and signals.  Nothing here judges mail.
 *
 *   apology-milter [-c FILE] [-p SOCKET] [-f] [-n] [-v] [-o key=value]...
 *
 * Signals: SIGUSR1 reloads the policy (a bad policy keeps the old one).
 * SIGUSR2 stops gracefully: new messages are accepted unchecked, messages in
 * flight are finished (within limits.drain-timeout), then the daemon exits;
 * the shipped systemd unit stops the daemon this way.  SIGTERM, SIGINT and
 * SIGHUP stop at once: they belong to libmilter, which waits for them in a
 * sigwait() thread of its own and, on any of them, closes the socket and
 * stops serving sessions (messages in flight then get Postfix's
 * default_action, accept).  A second thread waiting for SIGHUP or SIGTERM
 * would race libmilter's for every delivery (POSIX leaves the choice open),
 * so neither can be turned into a reload or a drain safely in this process.
 *
 * The milter protocol's round trips are the largest cost of a milter, so
 * the negotiation asks the MTA not to send what is not needed (HELO,
 * unknown commands), not to wait for replies where the answer is always
 * "continue" (connect, RCPT, each header, end of headers, body chunks),
 * and out-of-scope mail is accepted at MAIL FROM or DATA so its body is
 * never sent.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "filter.h"
#include "log.h"
#include "message.h"
#include "mta.h"
#include "policy.h"
#include "store.h"

#define DEFAULT_CONFIG "/etc/apology-milter/apology-milter.yaml"
#define PRUNE_INTERVAL 3600

static struct filter *the_filter;
static struct config the_config;

/* Protocol steps asked of the MTA when it offers them. */
static const unsigned long wanted_steps = SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NR_CONN | SMFIP_NR_HELO |
                                          SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY |
                                          SMFIP_HDR_LEADSPC;

/* One milter connection (one SMTP session). */
struct conn {
	SMFICTX *ctx;
	unsigned long steps; /* negotiated SMFIP_* flags */
	struct filter_session *session;
};

/* ---- the MTA operations, done with libmilter -------------------------- */

static bool milter_add_header(void *mta, const char *name, const char *value)
{
	struct conn *c = mta;
	char *v = (c->steps & SMFIP_HDR_LEADSPC) ? g_strconcat(" ", value, NULL) : g_strdup(value);
	bool ok = smfi_addheader(c->ctx, (char *)name, v) == MI_SUCCESS;
	g_free(v);
	return ok;
}

static bool milter_delete_header(void *mta, const char *name, int index)
{
	struct conn *c = mta;
	return smfi_chgheader(c->ctx, (char *)name, index, NULL) == MI_SUCCESS;
}

static bool milter_quarantine(void *mta, const char *reason)
{
	struct conn *c = mta;
	return smfi_quarantine(c->ctx, (char *)reason) == MI_SUCCESS;
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
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_SETSYMLIST);
	*pf1 = f1 & wanted_steps;
	*pf2 = 0;
	*pf3 = 0;
	c->steps = *pf1;
	if (f0 & SMFIF_SETSYMLIST) {
		smfi_setsymlist(ctx, SMFIM_CONNECT, "{daemon_name} {client_addr}");
		smfi_setsymlist(ctx, SMFIM_ENVFROM, "{auth_authen} {daemon_name}");
		smfi_setsymlist(ctx, SMFIM_EOM, "i");
	}
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
	return status(filter_end_of_message(session_get(c), qid, &milter_ops, c));
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
		g_free(c);
		smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

static struct smfiDesc milter_desc = {
    .xxfi_name = "apology-milter",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_SETSYMLIST,
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

static void prune_store(struct store *st)
{
	char *err = NULL;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	if (!store_prune(st, now - the_config.retention, &err)) {
		log_msg(LOG_ERR, "store: %s", err);
		g_free(err);
	}
}

/* Finish the messages in flight, then tell libmilter to stop. */
static void drain_and_stop(void)
{
	unsigned left = filter_in_flight(the_filter);
	log_msg(LOG_NOTICE, "stopping: finishing %u message(s) in flight", left);
	if (!filter_drain(the_filter, the_config.drain_timeout))
		log_msg(LOG_WARNING, "stopping with %u message(s) still in flight",
		        filter_in_flight(the_filter));
	smfi_stop();
}

/* Waits for SIGUSR1 (reload the policy) and SIGUSR2 (drain and stop);
 * prunes the store every hour. */
static void *signal_thread(void *arg)
{
	struct store *st = arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	for (;;) {
		struct timespec wait = {PRUNE_INTERVAL, 0};
		int sig = sigtimedwait(&set, NULL, &wait);
		if (sig == SIGUSR2) {
			drain_and_stop();
			return NULL;
		} else if (sig == SIGUSR1) {
			char *err = NULL;
			if (filter_reload(the_filter, &err)) {
				struct policy *pol = filter_policy(the_filter);
				log_msg(LOG_NOTICE, "policy reloaded: %s (%u patterns)", the_config.policy,
				        policy_pattern_count(pol));
				policy_unref(pol);
			} else {
				g_strchomp(err);
				log_msg(LOG_ERR, "policy not reloaded, keeping the old one: %s", err);
				g_free(err);
			}
		} else if (sig < 0 && errno == EAGAIN) {
			prune_store(st);
		}
	}
	return NULL;
}

/* ---- start-up --------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out, "usage: apology-milter [-c FILE] [-p SOCKET] [-f] [-n] [-v] [-o key=value]...\n"
	             "  -c FILE        configuration file (default " DEFAULT_CONFIG ")\n"
	             "  -p SOCKET      socket to listen on: unix:PATH or inet:PORT@ADDRESS\n"
	             "  -f             stay in the foreground and log to standard error\n"
	             "  -n             check the configuration and the policy, then exit\n"
	             "  -v             also log debug lines (with -f)\n"
	             "  -o key=value   override a configuration key (may be repeated)\n"
	             "  -h             this help\n"
	             "Signals: USR1 reloads the policy; USR2 stops after the messages in flight;\n"
	             "TERM, INT and HUP stop at once.\n\n");
	config_print_help(out);
}

static int load_config(int argc, char **argv, bool *foreground, bool *check_only)
{
	const char *file = NULL, *socket = NULL;
	GPtrArray *overrides = g_ptr_array_new();
	bool verbose = false;
	int opt, rc = 0;
	char *err = NULL;

	while ((opt = getopt(argc, argv, "c:p:fno:vh")) != -1) {
		switch (opt) {
		case 'c': file = optarg; break;
		case 'p': socket = optarg; break;
		case 'f': *foreground = true; break;
		case 'n': *check_only = true; break;
		case 'o': g_ptr_array_add(overrides, optarg); break;
		case 'v': verbose = true; break;
		case 'h':
			usage(stdout);
			g_ptr_array_free(overrides, TRUE);
			exit(0);
		default:
			usage(stderr);
			g_ptr_array_free(overrides, TRUE);
			return EX_USAGE;
		}
	}
	if (optind < argc) {
		usage(stderr);
		g_ptr_array_free(overrides, TRUE);
		return EX_USAGE;
	}
	log_set_verbose(verbose);
	config_init(&the_config);
	if (file == NULL && access(DEFAULT_CONFIG, F_OK) == 0)
		file = DEFAULT_CONFIG;
	if (file != NULL && !config_load(&the_config, file, &err))
		rc = EX_CONFIG;
	for (guint i = 0; rc == 0 && i < overrides->len; i++)
		if (!config_set(&the_config, overrides->pdata[i], &err))
			rc = EX_CONFIG;
	if (rc == 0 && socket != NULL) {
		char *o = g_strconcat("socket=", socket, NULL);
		if (!config_set(&the_config, o, &err))
			rc = EX_CONFIG;
		g_free(o);
	}
	if (rc != 0) {
		fprintf(stderr, "%s%s", err, g_str_has_suffix(err, "\n") ? "" : "\n");
		g_free(err);
	} else if (*check_only) {
		printf("config OK: %s\n", file ? file : "(defaults)");
	}
	g_ptr_array_free(overrides, TRUE);
	return rc;
}

/* Relative paths in the config would break once the daemon changes to "/". */
static void make_absolute(char **path, const char *prefix)
{
	size_t skip = prefix && g_str_has_prefix(*path, prefix) ? strlen(prefix) : 0;
	const char *p = *path + skip;
	if (*p == '\0' || g_path_is_absolute(p) || (skip == 0 && strchr(p, ':') != NULL))
		return;
	char *abs = g_canonicalize_filename(p, NULL);
	char *full = g_strconcat(skip ? prefix : "", abs, NULL);
	g_free(abs);
	g_free(*path);
	*path = full;
}

static const char *socket_path(const char *conn)
{
	if (g_str_has_prefix(conn, "unix:") || g_str_has_prefix(conn, "local:"))
		return strchr(conn, ':') + 1;
	return NULL;
}

static int socket_owner(uid_t *uid, gid_t *gid)
{
	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (*the_config.user) {
		struct passwd *pw = getpwnam(the_config.user);
		if (pw == NULL) {
			fprintf(stderr, "apology-milter: no such user: %s\n", the_config.user);
			return EX_NOUSER;
		}
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	}
	if (*the_config.group) {
		struct group *gr = getgrnam(the_config.group);
		if (gr == NULL) {
			fprintf(stderr, "apology-milter: no such group: %s\n", the_config.group);
			return EX_NOUSER;
		}
		*gid = gr->gr_gid;
	}
	return 0;
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

static int open_socket(uid_t uid, gid_t gid)
{
	const char *conn = the_config.socket;
	if (smfi_setconn((char *)conn) != MI_SUCCESS ||
	    smfi_settimeout((int)the_config.milter_timeout) != MI_SUCCESS ||
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
	const char *path = socket_path(conn);
	if (path != NULL) {
		if (chmod(path, (mode_t)the_config.socket_mode) != 0 ||
		    ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) != 0)) {
			fprintf(stderr, "apology-milter: %s: %s\n", path, strerror(errno));
			return EX_OSERR;
		}
	} else {
		set_nodelay();
	}
	return 0;
}

static int daemonize(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return EX_OSERR;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0 || chdir("/") != 0)
		return EX_OSERR;
	int fd = open("/dev/null", O_RDWR);
	if (fd < 0)
		return EX_OSERR;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
}

static int write_pid_file(void)
{
	if (*the_config.pid_file == '\0')
		return 0;
	char *text = g_strdup_printf("%d\n", (int)getpid());
	GError *gerr = NULL;
	bool ok = g_file_set_contents(the_config.pid_file, text, -1, &gerr);
	g_free(text);
	if (!ok) {
		log_msg(LOG_ERR, "pid file: %s", gerr->message);
		g_error_free(gerr);
		return EX_CANTCREAT;
	}
	chmod(the_config.pid_file, 0644);
	return 0;
}

static int drop_privileges(uid_t uid)
{
	if (*the_config.user == '\0' || geteuid() != 0)
		return 0;
	struct passwd *pw = getpwuid(uid);
	if (pw == NULL || initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		log_msg(LOG_ERR, "cannot become user %s: %s", the_config.user, strerror(errno));
		return EX_NOPERM;
	}
	return 0;
}

static struct store *open_store(void)
{
	char *err = NULL;
	struct store *st = store_open(the_config.store, &err);
	if (st == NULL) {
		log_msg(LOG_ERR, "%s", err);
		g_free(err);
		return NULL;
	}
	int crashed = store_inflight_recover(st, &err);
	if (crashed < 0) {
		log_msg(LOG_ERR, "store: %s", err);
		g_free(err);
	} else if (crashed > 0) {
		log_msg(LOG_WARNING,
		        "%d message(s) were being analysed when the daemon last stopped; "
		        "they will pass as unchecked if sent again",
		        crashed);
	}
	prune_store(st);
	return st;
}

int main(int argc, char **argv)
{
	bool foreground = false, check_only = false;
	int rc = load_config(argc, argv, &foreground, &check_only);
	if (rc != 0)
		return rc;

	make_absolute(&the_config.policy, NULL);
	make_absolute(&the_config.pid_file, NULL);
	make_absolute(&the_config.store, "sqlite:");
	message_library_init();
	char *err = NULL;
	struct policy *pol = policy_load(the_config.policy, &err);
	if (pol == NULL) {
		fprintf(stderr, "%s", err);
		g_free(err);
		config_clear(&the_config);
		return EX_CONFIG;
	}
	if (check_only) {
		printf("policy OK: %s (%u patterns, %s matcher)\n", the_config.policy,
		       policy_pattern_count(pol), policy_matcher_name());
		policy_unref(pol);
		config_clear(&the_config);
		return 0;
	}

	/* Before any thread exists, so that every thread inherits the mask: only
	 * our signal thread takes SIGUSR1, and only libmilter's own signal thread
	 * (started by smfi_main) takes SIGHUP, SIGINT and SIGTERM. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	static const int facilities[] = {LOG_MAIL,   LOG_DAEMON, LOG_USER,   LOG_LOCAL0,
	                                 LOG_LOCAL1, LOG_LOCAL2, LOG_LOCAL3, LOG_LOCAL4,
	                                 LOG_LOCAL5, LOG_LOCAL6, LOG_LOCAL7};
	uid_t uid;
	gid_t gid;
	if ((rc = socket_owner(&uid, &gid)) != 0 || (rc = open_socket(uid, gid)) != 0)
		goto out;
	log_open("apology-milter", foreground, facilities[the_config.log_facility]);
	if ((!foreground && (rc = daemonize()) != 0) || (rc = write_pid_file()) != 0 ||
	    (rc = drop_privileges(uid)) != 0)
		goto out;
	struct store *st = open_store();
	if (st == NULL) {
		rc = EX_UNAVAILABLE;
		goto out;
	}
	the_filter = filter_new(&the_config, st, pol);
	pol = NULL;

	pthread_t tid;
	if (pthread_create(&tid, NULL, signal_thread, st) != 0) {
		rc = EX_OSERR;
		goto out;
	}
	pthread_detach(tid);
	log_msg(LOG_NOTICE, "listening on %s; policy %s; store %s; mode %s", the_config.socket,
	        the_config.policy, the_config.store, config_choice_name("mode", the_config.mode));

	rc = smfi_main() == MI_SUCCESS ? 0 : EX_SOFTWARE;
	/* Sessions still open are not served any more once libmilter stops. */
	if (filter_in_flight(the_filter) > 0)
		log_msg(LOG_WARNING, "stopped with %u message(s) in flight", filter_in_flight(the_filter));
	log_msg(LOG_NOTICE, "stopped");
	if (*the_config.pid_file)
		unlink(the_config.pid_file);
	/* Session threads may still be running: the filter is left to exit(). */
	return rc;
out:
	if (pol)
		policy_unref(pol);
	return rc;
}
