/*
 * daemon.c - start-up of apology-milter: options and config, the policy,
 * the socket (through the front end), daemonising, the pid file, the
 * privilege drop and the store (upkeep.c: without it the daemon starts all
 * the same); then the front end serves the MTA until a signal stops it
 * (frontend.h).  On every way out after that it removes the socket and the
 * pid file it made; a socket or pid file left by a daemon that died is
 * replaced at start, one of a daemon still running stops the start.
 * Nothing here judges mail or speaks the milter protocol.
 *
 *   apology-milter [-c FILE] [-p SOCKET] [-f] [-n] [-v] [-o key=value]...
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "config.h"
#include "daemon_metrics.h"
#include "filter.h"
#include "frontend.h"
#include "holdseal.h"
#include "log.h"
#include "message.h"
#include "metrics_http.h"
#include "mta.h"
#include "policy.h"
#include "spool.h"
#include "upkeep.h"
#include "writer.h"

#define DEFAULT_CONFIG "/etc/apology-milter/apology-milter.yaml"

static struct filter *the_filter;
static struct config the_config;
static struct spool *the_spool;
static struct writer *the_writer;

/* What this process made, removed on the way out: the unix socket (while
 * the path names that socket) and the pid file (while it holds our id). */
static bool made_socket, made_pid_file;
static struct stat made_socket_stat;

/* ---- services for the front ends -------------------------------------- */

const char *const frontend_macros[SMFIM_LAST + 1] = {
    [SMFIM_CONNECT] = "{daemon_name} {client_addr}",
    [SMFIM_ENVFROM] = "{auth_authen} {daemon_name}",
    [SMFIM_EOM] = "i",
};

/* A model of POL whose file is not what its version names is used as it
 * reads, with a warning (policy_model_doubts()) and a gauge. */
static void log_model_doubts(const struct policy *pol, const char *path)
{
	unsigned n = 0;
	char *doubts = policy_model_doubts(pol, &n);
	if (doubts)
		log_msg(LOG_WARNING, "policy %s: %s", path, doubts);
	metric_set(metric_at(daemon_metrics()->models_doubted), n);
	g_free(doubts);
}

void daemon_reload(struct filter *f)
{
	char *report = NULL, *changes = NULL;
	static const int level[] = {
	    [FILTER_RELOADED] = LOG_NOTICE,
	    [FILTER_RELOADED_SHRUNK] = LOG_WARNING,
	    [FILTER_RELOAD_BAD] = LOG_ERR,
	    [FILTER_RELOAD_SHRINKS] = LOG_ERR,
	};
	enum filter_reload how = filter_reload(f, &report, &changes);
	log_msg(level[how], "%s", report);
	if (*changes)
		log_msg(LOG_NOTICE, "policy changes%s: %s", how == FILTER_RELOAD_SHRINKS ? " not taken" : "",
		        changes);
	if (how == FILTER_RELOADED || how == FILTER_RELOADED_SHRUNK) {
		struct policy *pol = filter_policy(f);
		log_model_doubts(pol, the_config.policy);
		policy_unref(pol);
	}
	g_free(report);
	g_free(changes);
}

void daemon_upkeep(struct filter *f, const struct config *cfg)
{
	upkeep_run(f, the_writer, cfg);
}

/* ---- start-up --------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: apology-milter [-c FILE] [-p SOCKET] [-f] [-n] [-v] [-o key=value]...\n"
	        "  -c FILE        configuration file (default " DEFAULT_CONFIG ")\n"
	        "  -p SOCKET      socket to listen on: unix:PATH or inet:PORT@ADDRESS\n"
	        "  -f             stay in the foreground and log to standard error\n"
	        "  -n             check the configuration and the policy, then exit\n"
	        "  -v             also log debug lines (with -f)\n"
	        "  -o key=value   override a configuration key (may be repeated)\n"
	        "  -h             this help\n"
	        "%s\n",
	        frontend_signal_help);
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

/* The process id in the pid file at PATH; 0 when there is none. */
static pid_t pid_file_pid(const char *path)
{
	char *text = NULL;
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return 0;
	char *end = NULL;
	long pid = strtol(text, &end, 10);
	bool ok = end != text && (*end == '\n' || *end == '\0') && pid > 0 && pid <= INT_MAX;
	g_free(text);
	return ok ? (pid_t)pid : 0;
}

/* Whether process PID runs and is an apology-milter: its command line names
 * the program (also as the argument of a wrapper such as valgrind).  One
 * whose command line cannot be read is taken to be one. */
static bool milter_running(pid_t pid)
{
	if (kill(pid, 0) != 0 && errno != EPERM)
		return false;
	char *path = g_strdup_printf("/proc/%d/cmdline", (int)pid);
	char *cmdline = NULL;
	gsize len = 0;
	bool running = true;
	if (g_file_get_contents(path, &cmdline, &len, NULL) && len > 0) {
		running = false;
		for (gsize i = 0; i < len && !running; i += strlen(cmdline + i) + 1) {
			char *name = g_path_get_basename(cmdline + i);
			running = strcmp(name, "apology-milter") == 0 ||
			          strcmp(name, "apology-milter-libmilter") == 0;
			g_free(name);
		}
	}
	g_free(cmdline);
	g_free(path);
	return running;
}

/* A pid file naming a running apology-milter stops the start; one naming a
 * process that is gone (or whose id another program has now) is stale, and
 * write_pid_file() replaces it. */
static int check_pid_file(void)
{
	const char *path = the_config.pid_file;
	pid_t pid = *path ? pid_file_pid(path) : 0;
	if (pid == 0 || pid == getpid())
		return 0;
	if (milter_running(pid)) {
		fprintf(stderr, "apology-milter: already running as process %d (pid file %s); not starting\n",
		        (int)pid, path);
		return EX_UNAVAILABLE;
	}
	log_msg(LOG_NOTICE, "replacing the stale pid file %s: process %d is gone", path, (int)pid);
	return 0;
}

/* A unix socket someone accepts connections on belongs to a running daemon:
 * that stops the start.  One nobody listens on was left by a daemon that
 * died: it goes. */
static int check_socket(void)
{
	const char *path = config_socket_path(the_config.socket);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat sb;
	if (path == NULL || strlen(path) >= sizeof sa.sun_path || lstat(path, &sb) != 0 ||
	    !S_ISSOCK(sb.st_mode))
		return 0; /* the front end reports what is wrong with it */
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int rc = fd >= 0 ? connect(fd, (struct sockaddr *)&sa, sizeof sa) : -1;
	int why = errno;
	if (fd >= 0)
		close(fd);
	if (rc == 0 || why == EAGAIN) {
		fprintf(stderr, "apology-milter: another process listens on %s; not starting\n", path);
		return EX_UNAVAILABLE;
	}
	if (why == ECONNREFUSED && unlink(path) == 0)
		log_msg(LOG_NOTICE, "removed the stale socket %s: nothing listened on it", path);
	return 0;
}

/* Note the socket the front end made, to remove it (and only it) at exit. */
static void note_socket(void)
{
	const char *path = config_socket_path(the_config.socket);
	made_socket = path != NULL && lstat(path, &made_socket_stat) == 0;
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
	made_pid_file = true;
	chmod(the_config.pid_file, 0644);
	return 0;
}

/* On every way out: remove the socket and the pid file this process made,
 * unless another daemon's have taken their place. */
static void remove_own_files(void)
{
	const char *path = made_socket ? config_socket_path(the_config.socket) : NULL;
	struct stat sb;
	if (path != NULL && lstat(path, &sb) == 0 && sb.st_ino == made_socket_stat.st_ino &&
	    sb.st_dev == made_socket_stat.st_dev && unlink(path) != 0)
		log_msg(LOG_WARNING, "cannot remove the socket %s: %s (the next start replaces it)", path,
		        strerror(errno));
	if (made_pid_file && pid_file_pid(the_config.pid_file) == getpid() &&
	    unlink(the_config.pid_file) != 0)
		log_msg(LOG_WARNING, "cannot remove the pid file %s: %s (the next start replaces it)",
		        the_config.pid_file, strerror(errno));
	made_socket = made_pid_file = false;
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

/* -n: the store as the daemon would find it, checked as the configured
 * user when root runs the check (upkeep_check).  A store that cannot be
 * opened is reported but does not fail the check: the daemon starts and
 * judges mail without it. */
static void check_store(void)
{
	uid_t uid;
	gid_t gid;
	fflush(stdout);
	if (geteuid() != 0 || *the_config.user == '\0' || socket_owner(&uid, &gid) != 0) {
		upkeep_check(&the_config);
		return;
	}
	pid_t pid = fork();
	if (pid == 0)
		_exit(drop_privileges(uid) == 0 ? (upkeep_check(&the_config), 0) : 1);
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		printf("(checked as root: cannot become user %s)\n", the_config.user);
		upkeep_check(&the_config);
	}
}

/* What a daemon without its hold key means, for -n and the log. */
#define UNSEALED "holds are not sealed, apology-postsuper refuses them (release by hand with postsuper -H)"

/* Read the secret that seals hold tokens (hold-key) into KEY, while the
 * daemon may still be root.  Returns NULL, or why there is none (caller
 * frees): then holds go on with unsealed tokens. */
static char *load_hold_key(struct holdseal_key *key)
{
	struct stat st;
	const char *why = NULL;
	int fd = open(the_config.hold_key, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return g_strdup_printf("%s: %s", the_config.hold_key, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		why = "is not a regular file";
	else if (st.st_mode & (S_IWGRP | S_IRWXO))
		why = "may be read or written by others (chmod 0640, owner root, group of the daemon)";
	else
		why = holdseal_key_read(fd, key);
	close(fd);
	return why ? g_strdup_printf("%s %s", the_config.hold_key, why) : NULL;
}

int main(int argc, char **argv)
{
	bool foreground = false, check_only = false;
	budget_malloc_setup(); /* large buffers go back to the system when freed */
	int rc = load_config(argc, argv, &foreground, &check_only);
	if (rc != 0)
		return rc;

	make_absolute(&the_config.policy, NULL);
	make_absolute(&the_config.pid_file, NULL);
	make_absolute(&the_config.store, "sqlite:");
	make_absolute(&the_config.spool_dir, NULL);
	message_library_init();
	char *err = NULL;
	struct policy *pol = policy_load(the_config.policy, &err);
	if (pol == NULL) {
		fprintf(stderr, "%s", err);
		g_free(err);
		config_clear(&the_config);
		return EX_CONFIG;
	}
	struct holdseal_key key;
	char *no_key = load_hold_key(&key);
	if (check_only) {
		fflush(stdout); /* after "config OK" */
		char *metrics_why = metrics_http_check(&the_config);
		if (metrics_why != NULL) {
			fprintf(stderr, "%s\n", metrics_why);
			g_free(metrics_why);
			g_free(no_key);
			holdseal_key_clear(&key);
			policy_unref(pol);
			config_clear(&the_config);
			return EX_CONFIG;
		}
		if (*the_config.metrics)
			printf("metrics OK: http://%s/metrics\n", the_config.metrics);
		if (no_key != NULL)
			fprintf(stderr, "warning: hold key %s: " UNSEALED "\n", no_key);
		else
			printf("hold key OK: %s\n", the_config.hold_key);
		g_free(no_key);
		holdseal_key_clear(&key);
		char *summary = policy_summary(pol), *doubts = policy_model_doubts(pol, NULL);
		printf("policy OK: %s (%s)\n", the_config.policy, summary);
		if (doubts)
			fprintf(stderr, "warning: policy %s: %s\n", the_config.policy, doubts);
		g_free(doubts);
		g_free(summary);
		policy_unref(pol);
		check_store();
		config_clear(&the_config);
		return 0;
	}

	/* Before any thread that lives on exists (policy_load() reads the models
	 * on a thread it has joined), so that every thread inherits the mask:
	 * the front end decides which of its threads takes these signals. */
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
	if ((rc = socket_owner(&uid, &gid)) != 0)
		goto out;
	log_open("apology-milter", foreground, facilities[the_config.log_facility]);
	log_model_doubts(pol, the_config.policy); /* before privileges drop: read as the policy was */
	if ((rc = check_pid_file()) != 0 || (rc = check_socket()) != 0 ||
	    (rc = metrics_http_listen(&the_config)) != 0 ||
	    (rc = frontend_listen(&the_config, uid, gid)) != 0)
		goto out;
	note_socket();
	if (no_key != NULL)
		log_msg(LOG_WARNING, "hold key %s: " UNSEALED, no_key);
	if ((!foreground && (rc = daemonize()) != 0) || (rc = write_pid_file()) != 0 ||
	    (rc = drop_privileges(uid)) != 0 || (rc = metrics_http_start()) != 0)
		goto out;
	the_spool = spool_new(the_config.spool_dir, the_config.spool_max);
	struct writer_limits limits = upkeep_writer_limits(&the_config);
	the_writer = writer_new(the_spool, &limits);
	struct store *st = upkeep_start(&the_config, the_writer);
	the_filter = filter_new(&the_config, st, the_writer, pol);
	pol = NULL;
	if (no_key == NULL)
		filter_set_hold_key(the_filter, &key);
	holdseal_key_clear(&key);
	g_free(no_key);
	no_key = NULL;

	log_msg(LOG_NOTICE, "listening on %s; policy %s; store %s%s; mode %s%s%s", the_config.socket,
	        the_config.policy, the_config.store, st ? "" : " (unavailable: judging without it)",
	        config_choice_name("mode", the_config.mode),
	        *the_config.metrics ? "; metrics on http://" : "",
	        *the_config.metrics ? the_config.metrics : "");

	bool idle = false;
	rc = frontend_run(the_filter, &the_config, &idle);
	/* The records of the last messages go to the store, or to the spool:
	 * none is dropped.  A session still running (libmilter, or past
	 * limits.drain-timeout) spools its records itself from now on. */
	metrics_http_stop();
	writer_stop(the_writer);
	struct writer_counts n;
	writer_counts(the_writer, &n);
	log_msg(n.lost ? LOG_WARNING : LOG_NOTICE,
	        "stopped; records: %" G_GUINT64_FORMAT
	        " written to the store after their verdicts, %" G_GUINT64_FORMAT
	        " spooled, %" G_GUINT64_FORMAT " lost",
	        n.stored, n.spooled, n.lost);
	remove_own_files();
	if (idle) {
		filter_free(the_filter); /* closes the store, drops the policy */
		writer_free(the_writer); /* and its connection */
		spool_free(the_spool);
		config_clear(&the_config);
	}
	return rc;
out:
	metrics_http_stop();
	remove_own_files();
	if (pol)
		policy_unref(pol);
	holdseal_key_clear(&key);
	g_free(no_key);
	return rc;
}
