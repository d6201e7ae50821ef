/*
 * apology-postsuper - the one privileged step of reviewing held mail.
 *
 *   apology-postsuper [-c POSTFIX_CONFIG_DIR | -C SENDMAIL_CF] release|discard QUEUEID TOKEN
 *
 * Releasing (postsuper -H) and deleting (postsuper -d) held mail need root.
 * Reviewers run this program through sudo (packaging/sudoers.d/apology-review)
 * and nothing else, so it trusts nothing its caller chooses.  Its settings
 * come from one root-owned file, SYSCONFDIR/apology-milter/postsuper.conf
 * (helper_conf.h): the store, the token header, the key of the daemon's
 * seal and the Postfix instances it may act on.  Before it runs postsuper
 * it checks, in this order:
 *
 *   - the arguments: an action, a well-formed queue id (never ALL), a token;
 *   - the Postfix instance: one listed in the settings (-c names one
 *     exactly; without -c, the first), opened through a trusted path
 *     (trusted.h) and handed to the Postfix programs only as
 *     /proc/self/fd/N of the directory it checked, so that nothing swapped
 *     in after the check is ever read;
 *   - the token: sealed by the daemon for this queue id (holdseal.h), and
 *     the store's record of that hold not decided otherwise (held, or
 *     claimed by the reviewer's decision being carried out; helper_store.h);
 *   - the queue: the message is in the hold queue and carries the token in
 *     the configured header (Postfix reuses queue ids).
 *
 * With -C, the same checks for Sendmail (sendmail_queue.h): the
 * sendmail.cf must be the settings' sendmail-config, trusted like the
 * queue directory it names and the sendmail-program; the message must be
 * quarantined (its queue file hf<id> has a "q" line) and carry the token.
 * Release runs "sendmail -C CF -qQ -qI<id> -Q" (clear the quarantine) and
 * then "sendmail -C CF -qI<id>" (deliver it); Sendmail has no command to
 * delete a queued message, so discard removes hf<id> and df<id> from the
 * queue directory it checked, as qtool.pl -d does.
 *
 * The store is an SQLite file or a PostgreSQL database (helper_store.h;
 * each statement on a connection of its own, with a 5 s statement timeout).
 * Every request, refused or carried out, goes to the store's audit trail
 * (table helper_actions) and to syslog (authpriv), also when root calls the
 * helper directly.  No shell is involved; every program is run with
 * execve(), a fixed path and a minimal environment.  The settings file may
 * be named in APOLOGY_POSTSUPER_CONF for tests; it must be trusted like the
 * default (root's, in directories only root may change), and sudo drops
 * the variable (env_reset).
 *
 * Exit status: postsuper's when it ran; 64 bad arguments, 65 the queued
 * message is not the reviewed one, 69 not in the hold queue, 71 system
 * error, 75 the store cannot be read or written (try again), 77 not allowed
 * (not root; an instance not listed or not trusted; a token the daemon did
 * not seal, or no held record of it), 78 the settings or the key missing or
 * not root's alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "helper_conf.h"
#include "helper_store.h"
#include "holdseal.h"
#include "sendmail_queue.h"
#include "trusted.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define CONF_FILE     SYSCONFDIR "/apology-milter/postsuper.conf"
#define CONF_ENV      "APOLOGY_POSTSUPER_CONF"
#define CONF_TEXT_MAX 65536

#define POSTCAT    "/usr/sbin/postcat"
#define POSTCONF   "/usr/sbin/postconf"
#define POSTSUPER  "/usr/sbin/postsuper"
#define OUTPUT_MAX (1 << 20)

static char *const clean_env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL};

/* One request, as the audit trail records it. */
struct request {
	char caller[128];
	const char *action, *queue_id, *token;
	const char *instance;           /* -c or -C as given; "" for the default instance */
	bool sendmail;                  /* -C: a Sendmail configuration */
	long long record;               /* the store's record, once found */
	const struct helper_conf *conf; /* NULL until the settings are read */
};

static struct helper_audit audit_of(const struct request *r, const char *outcome, const char *detail)
{
	return (struct helper_audit){
	    .caller = r->caller,
	    .action = r->action,
	    .queue_id = r->queue_id,
	    .token = r->token,
	    .postfix_config = r->instance,
	    .quarantine_id = r->record,
	    .outcome = outcome,
	    .detail = detail,
	    .at = (long long)time(NULL),
	};
}

/* Log R's OUTCOME with DETAIL to syslog, and to the audit trail unless
 * ROW > 0, which then gets the outcome instead. */
static void record(const struct request *r, int priority, const char *outcome, const char *detail,
                   long long row)
{
	char why[512], action[33], queue_id[65], instance[201], said[1025];
	helper_text_clean(action, sizeof action, r->action);
	helper_text_clean(queue_id, sizeof queue_id, r->queue_id);
	helper_text_clean(instance, sizeof instance, *r->instance ? r->instance : "default");
	helper_text_clean(said, sizeof said, detail);
	syslog(priority, "%s: %s %s (postfix-config %s): %s: %s", r->caller, action, queue_id, instance,
	       outcome, said);
	if (r->conf == NULL)
		return;
	struct helper_audit a = audit_of(r, outcome, detail);
	bool ok = row > 0 ? helper_audit_finish(r->conf->store, row, outcome, detail, why, sizeof why)
	                  : helper_audit_add(r->conf->store, &a, NULL, why, sizeof why);
	if (!ok)
		syslog(LOG_ERR, "audit trail not written: %s", why);
}

/* Refuse R with exit STATUS, saying why on standard error and in the audit
 * trail. */
__attribute__((format(printf, 3, 4))) static int refuse(const struct request *r, int status, const char *fmt,
                                                        ...)
{
	char what[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	fprintf(stderr, "apology-postsuper: %s\n", what);
	record(r, LOG_WARNING, "refused", what, 0);
	return status;
}

/* Who asked: the sudo user under sudo, else the real user. */
static void who_called(char *out, size_t size)
{
	const char *sudo_user = getenv("SUDO_USER");
	struct passwd *pw = getpwuid(getuid());
	char name[128];
	if (getuid() == 0 && sudo_user != NULL && *sudo_user != '\0')
		snprintf(name, sizeof name, "%.64s (sudo)", sudo_user);
	else if (pw != NULL)
		snprintf(name, sizeof name, "%.64s", pw->pw_name);
	else
		snprintf(name, sizeof name, "uid %u", (unsigned)getuid());
	helper_text_clean(out, size, name);
}

/* ---- the settings, the key, the instance ------------------------------- */

/* Read the text file FD into TEXT (SIZE bytes, NUL terminated); false when
 * it does not fit or holds a NUL. */
static bool read_text(int fd, char *text, size_t size)
{
	size_t len = 0;
	ssize_t n;
	while (len < size - 1 && (n = read(fd, text + len, size - 1 - len)) != 0) {
		if (n < 0 && errno != EINTR)
			break;
		len += n > 0 ? (size_t)n : 0;
	}
	text[len] = '\0';
	return len < size - 1 && strlen(text) == len;
}

static int read_conf(struct request *r, struct helper_conf *conf)
{
	const char *path = getenv(CONF_ENV);
	char text[CONF_TEXT_MAX + 1], why[TRUSTED_PATH_MAX + 128];
	if (path == NULL || *path == '\0')
		path = CONF_FILE;
	int fd = trusted_open(path, false, NULL, why, sizeof why);
	if (fd < 0)
		return refuse(r, EX_CONFIG, "settings: %s", why);
	bool text_ok = read_text(fd, text, sizeof text);
	close(fd);
	if (!text_ok)
		return refuse(r, EX_CONFIG, "settings: %s: not a text file of at most 64 KB", path);
	if (!helper_conf_parse(text, conf, why, sizeof why))
		return refuse(r, EX_CONFIG, "settings: %s: %s", path, why);
	r->conf = conf;
	return 0;
}

/* The key of the daemon's seal: trusted like the settings, and readable
 * by root and the daemon's group only. */
static int read_key(const struct request *r, struct holdseal_key *key)
{
	struct stat st;
	char why[TRUSTED_PATH_MAX + 128];
	int fd = trusted_open(r->conf->hold_key, false, &st, why, sizeof why);
	if (fd < 0)
		return refuse(r, EX_CONFIG, "hold key: %s", why);
	const char *bad = st.st_mode & S_IRWXO ? "may be read by others" : holdseal_key_read(fd, key);
	close(fd);
	if (bad != NULL)
		return refuse(r, EX_CONFIG, "hold key %s %s", r->conf->hold_key, bad);
	return 0;
}

/* Open the configuration directory of the Postfix instance R asks for and
 * check it and its main.cf through the descriptors; *DIR gets the
 * directory's descriptor and PATH the name that reaches exactly it. */
static int open_instance(const struct request *r, int *dir, char *path, size_t path_size)
{
	const char *listed = helper_conf_instance(r->conf, *r->instance ? r->instance : NULL);
	struct stat st, via_proc;
	char why[TRUSTED_PATH_MAX + 128];
	if (listed == NULL)
		return refuse(r, EX_NOPERM,
		              "%s is not a Postfix instance of the helper's settings (postfix-config)",
		              r->instance);
	int fd = trusted_open(listed, true, &st, why, sizeof why);
	if (fd < 0)
		return refuse(r, EX_NOPERM, "Postfix configuration %s", why);
	int cf = trusted_openat(fd, "main.cf", NULL, why, sizeof why);
	if (cf < 0) {
		close(fd);
		return refuse(r, EX_NOPERM, "Postfix configuration %s/%s", listed, why);
	}
	close(cf);
	snprintf(path, path_size, "/proc/self/fd/%d", fd);
	if (stat(path, &via_proc) != 0 || via_proc.st_dev != st.st_dev || via_proc.st_ino != st.st_ino) {
		close(fd);
		return refuse(r, EX_OSERR, "%s does not reach the checked directory %s (is /proc mounted?)",
		              path, listed);
	}
	*dir = fd;
	return 0;
}

/* ---- the Postfix programs ---------------------------------------------- */

/* Start ARGV[0] (a fixed path) with standard input from /dev/null, KEEP
 * (>= 0) open across the exec, and standard output to OUT (and standard
 * error to /dev/null) when OUT >= 0.  Returns its pid, or -1. */
static pid_t start(char *const argv[], int keep, int out)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull >= 0)
		dup2(devnull, STDIN_FILENO);
	if (out >= 0) {
		dup2(out, STDOUT_FILENO);
		if (devnull >= 0)
			dup2(devnull, STDERR_FILENO);
	}
	if (keep >= 0)
		fcntl(keep, F_SETFD, 0);
	execve(argv[0], argv, clean_env);
	_exit(127);
}

/* The exit status of PID, or -1 when it did not exit normally. */
static int wait_for(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Run ARGV (KEEP open across the exec) and read its standard output into
 * BUF (NUL terminated, at most SIZE - 1 bytes).  Returns the exit status,
 * or -1. */
static int capture(char *const argv[], int keep, char *buf, size_t size)
{
	int fd[2];
	if (pipe2(fd, O_CLOEXEC) != 0)
		return -1;
	pid_t pid = start(argv, keep, fd[1]);
	close(fd[1]);
	if (pid < 0) {
		close(fd[0]);
		return -1;
	}
	size_t len = 0;
	char sink[4096];
	for (;;) {
		char *dst = len + 1 < size ? buf + len : sink;
		size_t room = len + 1 < size ? size - 1 - len : sizeof sink;
		ssize_t n = read(fd[0], dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (dst != sink)
			len += (size_t)n;
	}
	buf[len] = '\0';
	close(fd[0]);
	return wait_for(pid);
}

/* Is QUEUE_ID a file in the hold queue of the instance at CONFIG (DIR)? */
static bool in_hold_queue(const char *config, int dir, const char *queue_id)
{
	char queue[4096], path[4200];
	char *argv[] = {POSTCONF, "-c", (char *)config, "-h", "queue_directory", NULL};
	if (capture(argv, dir, queue, sizeof queue) != 0)
		return false;
	queue[strcspn(queue, "\n")] = '\0';
	if (queue[0] != '/')
		return false;
	snprintf(path, sizeof path, "%s/hold/%s", queue, queue_id);
	struct stat st;
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Does the queued message carry "HEADER: TOKEN" in its header section? */
static bool carries_token(const char *config, int dir, const char *queue_id, const char *header,
                          const char *token)
{
	static char out[OUTPUT_MAX];
	char *argv[] = {POSTCAT, "-c", (char *)config, "-h", "-q", (char *)queue_id, NULL};
	if (capture(argv, dir, out, sizeof out) != 0)
		return false;
	size_t hlen = strlen(header);
	for (char *line = out; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncasecmp(line, header, hlen) != 0 || line[hlen] != ':')
			continue;
		char *v = line + hlen + 1;
		v += strspn(v, " \t");
		size_t vlen = strcspn(v, "\r\n");
		while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		if (vlen == strlen(token) && memcmp(v, token, vlen) == 0)
			return true;
	}
	return false;
}

/* Run postsuper FLAG on R's queue id in the instance at CONFIG (DIR),
 * recorded before it starts and with its outcome after. */
static int run_postsuper(const struct request *r, const char *config, int dir, const char *flag)
{
	char why[512], detail[128];
	long long row = 0;
	struct helper_audit a = audit_of(r, "running", "postsuper started");
	if (!helper_audit_add(r->conf->store, &a, &row, why, sizeof why))
		return refuse(r, EX_TEMPFAIL, "not done, since it cannot be recorded: %s", why);
	/* the hold queue only: postsuper -d alone also looks in the incoming,
	 * active and deferred queues, where a message released meanwhile is */
	char *cmd[] = {POSTSUPER, "-c", (char *)config, (char *)flag, (char *)r->queue_id, "hold", NULL};
	pid_t pid = start(cmd, dir, -1);
	int status = pid < 0 ? -1 : wait_for(pid);
	bool release = strcmp(flag, "-H") == 0;
	snprintf(detail, sizeof detail, "postsuper %s %s", flag,
	         status == 0  ? "done"
	         : status < 0 ? "did not run or died"
	                      : "failed");
	if (status > 0)
		snprintf(detail + strlen(detail), sizeof detail - strlen(detail), " (exit %d)", status);
	record(r, status == 0 ? LOG_NOTICE : LOG_ERR,
	       status != 0 ? "failed"
	       : release   ? "released"
	                   : "discarded",
	       detail, row);
	return status < 0 ? EX_OSERR : status;
}

/* ---- Sendmail ---------------------------------------------------------- */

#define QUEUE_FILE_MAX (1 << 20)

/* The Sendmail configuration a request acts on, once checked. */
struct sendmail {
	const char *cf;      /* the settings' sendmail-config */
	const char *program; /* the settings' sendmail-program */
	int queue_dir;       /* its QueueDirectory, opened through a trusted path */
	char queue_file[32]; /* "hf" and the queue id */
	char data_file[32];  /* "df" and the queue id */
};

/* Check the sendmail.cf R names (-C), the queue directory it sets and the
 * sendmail program; fill SM. */
static int open_sendmail(const struct request *r, struct sendmail *sm)
{
	static char cf_text[QUEUE_FILE_MAX];
	char why[TRUSTED_PATH_MAX + 128], dir[TRUSTED_PATH_MAX];
	const struct helper_conf *c = r->conf;
	if (*c->sendmail_config == '\0' || strcmp(r->instance, c->sendmail_config) != 0)
		return refuse(r, EX_NOPERM, "%s is not the sendmail-config of the helper's settings",
		              r->instance);
	int fd = trusted_open(c->sendmail_config, false, NULL, why, sizeof why);
	if (fd < 0)
		return refuse(r, EX_NOPERM, "Sendmail configuration %s", why);
	bool text_ok = read_text(fd, cf_text, sizeof cf_text);
	close(fd);
	if (!text_ok)
		return refuse(r, EX_NOPERM, "%s: not a text file of at most 1 MB", c->sendmail_config);
	if (!sendmail_queue_dir(cf_text, dir, sizeof dir, why, sizeof why))
		return refuse(r, EX_NOPERM, "%s: %s", c->sendmail_config, why);
	int program = trusted_open(c->sendmail_program, false, NULL, why, sizeof why);
	if (program < 0)
		return refuse(r, EX_NOPERM, "sendmail program %s", why);
	close(program);
	sm->queue_dir = trusted_open(dir, true, NULL, why, sizeof why);
	if (sm->queue_dir < 0)
		return refuse(r, EX_NOPERM, "Sendmail queue %s", why);
	sm->cf = c->sendmail_config;
	sm->program = c->sendmail_program;
	snprintf(sm->queue_file, sizeof sm->queue_file, "hf%s", r->queue_id);
	snprintf(sm->data_file, sizeof sm->data_file, "df%s", r->queue_id);
	return 0;
}

/* Is R's message quarantined in SM's queue, carrying R's token? */
static int check_sendmail_held(const struct request *r, const struct sendmail *sm)
{
	static char text[QUEUE_FILE_MAX];
	char why[TRUSTED_PATH_MAX + 128];
	int fd = trusted_openat(sm->queue_dir, sm->queue_file, NULL, why, sizeof why);
	if (fd < 0)
		return refuse(r, EX_UNAVAILABLE, "no such message in Sendmail's quarantine (%s)", why);
	bool text_ok = read_text(fd, text, sizeof text);
	close(fd);
	if (!text_ok)
		return refuse(r, EX_DATAERR, "the queue file %s is larger than 1 MB", sm->queue_file);
	switch (sendmail_queue_file_check(text, r->conf->token_header, r->token)) {
	case SM_HELD_NOT_QUARANTINED: return refuse(r, EX_UNAVAILABLE, "the message is not quarantined");
	case SM_HELD_OTHER_MESSAGE:
		return refuse(r, EX_DATAERR,
		              "the quarantined message with that queue id is not the reviewed one");
	case SM_HELD_YES: break;
	}
	return 0;
}

/* Run ARGV to its end: its exit status, or -1. */
static int run(char *const argv[])
{
	pid_t pid = start(argv, -1, -1);
	return pid < 0 ? -1 : wait_for(pid);
}

/* Release: clear the quarantine of R's message, check it left the
 * quarantine, and run the queue for it.  Returns 0 when it left. */
static int sendmail_release(const struct request *r, const struct sendmail *sm, char *detail, size_t size)
{
	char select[40];
	snprintf(select, sizeof select, "-qI%s", r->queue_id);
	char *clear[] = {(char *)sm->program, "-C", (char *)sm->cf, "-qQ", select, "-Q", NULL};
	int status = run(clear);
	if (status != 0) {
		snprintf(detail, size, "sendmail -qQ %s -Q %s (%d)", select,
		         status < 0 ? "did not run" : "failed", status);
		return status < 0 ? EX_OSERR : status;
	}
	if (faccessat(sm->queue_dir, sm->queue_file, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		snprintf(detail, size, "sendmail -qQ %s -Q left it quarantined", select);
		return EX_SOFTWARE;
	}
	char *deliver[] = {(char *)sm->program, "-C", (char *)sm->cf, select, NULL};
	status = run(deliver);
	snprintf(detail, size, "sendmail -qQ %s -Q done; queue run %s", select,
	         status == 0 ? "done" : "failed (the next queue run delivers it)");
	return 0;
}

/* Discard: remove the queue file, then the data file. */
static int sendmail_discard(const struct sendmail *sm, char *detail, size_t size)
{
	if (unlinkat(sm->queue_dir, sm->queue_file, 0) != 0) {
		snprintf(detail, size, "removing %s: %s", sm->queue_file, strerror(errno));
		return EX_OSERR;
	}
	if (unlinkat(sm->queue_dir, sm->data_file, 0) != 0) {
		snprintf(detail, size, "%s removed; %s %s", sm->queue_file, sm->data_file,
		         errno == ENOENT
		             ? "was not beside it (a queue with a df/ directory: remove it by hand)"
		             : strerror(errno));
		return 0;
	}
	snprintf(detail, size, "%s and %s removed", sm->queue_file, sm->data_file);
	return 0;
}

/* Release or discard R's message in SM, recorded before and after. */
static int run_sendmail(const struct request *r, const struct sendmail *sm, bool release)
{
	char why[512], detail[256];
	long long row = 0;
	struct helper_audit a = audit_of(r, "running", "sendmail step started");
	if (!helper_audit_add(r->conf->store, &a, &row, why, sizeof why))
		return refuse(r, EX_TEMPFAIL, "not done, since it cannot be recorded: %s", why);
	int status = release ? sendmail_release(r, sm, detail, sizeof detail)
	                     : sendmail_discard(sm, detail, sizeof detail);
	record(r, status == 0 ? LOG_NOTICE : LOG_ERR,
	       status != 0 ? "failed"
	       : release   ? "released"
	                   : "discarded",
	       detail, row);
	return status;
}

/* ---- the arguments ----------------------------------------------------- */

static bool all_of(const char *s, const char *set, size_t min, size_t max)
{
	size_t n = strlen(s);
	return n >= min && n <= max && strspn(s, set) == n;
}

/* Postfix queue ids: short ones are hex, long ones use [0-9A-Za-z]. */
static bool valid_queue_id(const char *id)
{
	if (strcasecmp(id, "ALL") == 0 || strcmp(id, "-") == 0)
		return false;
	return all_of(id, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 6, 32);
}

static const char usage_text[] =
    "usage: apology-postsuper [-c POSTFIX_CONFIG_DIR | -C SENDMAIL_CF] release|discard QUEUEID TOKEN";

/* Read ARGV into R; *FLAG gets postsuper's option for the action. */
static int parse_args(struct request *r, int argc, char **argv, const char **flag)
{
	int opt;
	opterr = 0;
	while ((opt = getopt(argc, argv, "+c:C:t:")) != -1) {
		if ((opt == 'c' || opt == 'C') && *r->instance == '\0') {
			r->instance = optarg;
			r->sendmail = opt == 'C';
		} else if (opt == 't')
			return refuse(r, EX_USAGE,
			              "-t is not accepted: the token header is token-header in %s",
			              CONF_FILE);
		else
			return refuse(r, EX_USAGE, "%s", usage_text);
	}
	if (argc - optind != 3)
		return refuse(r, EX_USAGE, "%s", usage_text);
	r->action = argv[optind];
	r->queue_id = argv[optind + 1];
	r->token = argv[optind + 2];
	*flag = strcmp(r->action, "release") == 0 ? "-H" : strcmp(r->action, "discard") == 0 ? "-d" : NULL;
	if (*flag == NULL)
		return refuse(r, EX_USAGE, "%s", usage_text);
	if (r->sendmail ? !sendmail_queue_id_valid(r->queue_id) : !valid_queue_id(r->queue_id))
		return refuse(r, EX_USAGE, "not a %s queue id", r->sendmail ? "Sendmail" : "Postfix");
	if (!all_of(r->token, "0123456789abcdef", 16, 64))
		return refuse(r, EX_USAGE, "not a review token");
	return 0;
}

int main(int argc, char **argv)
{
	static struct helper_conf conf;
	struct request r = {.action = "", .queue_id = "", .token = "", .instance = ""};
	struct holdseal_key key;
	struct sendmail sm = {.queue_dir = -1};
	const char *flag = NULL;
	char config[64];
	int dir = -1, rc;
	/* Children are waited for: a caller that ignores SIGCHLD (sudo passes
	 * that on) would make every command look as if it had not run. */
	signal(SIGCHLD, SIG_DFL);
	/* the log's socket opened now, not while an outcome is being recorded */
	openlog("apology-postsuper", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
	who_called(r.caller, sizeof r.caller);
	if (geteuid() != 0)
		return refuse(&r, EX_NOPERM, "must run as root (reviewers run it through sudo)");
	if ((rc = read_conf(&r, &conf)) != 0 || (rc = parse_args(&r, argc, argv, &flag)) != 0)
		return rc;
	if (r.sendmail ? (rc = open_sendmail(&r, &sm)) != 0
	               : (rc = open_instance(&r, &dir, config, sizeof config)) != 0)
		return rc;
	if ((rc = read_key(&r, &key)) != 0)
		return rc;
	bool sealed = holdseal_verify(&key, r.queue_id, r.token);
	holdseal_key_clear(&key);
	if (!sealed)
		return refuse(
		    &r, EX_NOPERM,
		    "the token was not sealed by apology-milter for queue id %s: mail it did not hold "
		    "(or held without its hold-key: release that by hand with postsuper)",
		    r.queue_id);
	char why[512];
	switch (helper_store_held(conf.store, r.queue_id, r.token, &r.record, why, sizeof why)) {
	case HELD_ERROR: return refuse(&r, EX_TEMPFAIL, "%s", why);
	case HELD_NO:
		return refuse(&r, EX_NOPERM,
		              "the store has no record of a hold of queue id %s with that token", r.queue_id);
	case HELD_YES: break;
	}
	if (r.sendmail)
		return (rc = check_sendmail_held(&r, &sm)) != 0
		           ? rc
		           : run_sendmail(&r, &sm, strcmp(flag, "-H") == 0);
	if (!in_hold_queue(config, dir, r.queue_id))
		return refuse(&r, EX_UNAVAILABLE, "no such message in the hold queue");
	if (!carries_token(config, dir, r.queue_id, conf.token_header, r.token))
		return refuse(&r, EX_DATAERR, "the held message with that queue id is not the reviewed one");
	return run_postsuper(&r, config, dir, flag);
}
