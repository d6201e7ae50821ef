/*
 * apology-postsuper - the one privileged step of reviewing held mail.
 *
 *   apology-postsuper [-c POSTFIX_CONFIG_DIR] [-t TOKEN_HEADER] release|discard QUEUEID TOKEN
 *
 * Releasing (postsuper -H) and deleting (postsuper -d) held mail need root.
 * Reviewers run this program through sudo (packaging/sudoers.d/apology-review)
 * and nothing else: it checks every argument, checks that QUEUEID is in the
 * hold queue and still carries TOKEN in its token header (Postfix reuses
 * queue ids), then replaces itself with postsuper.  No shell is involved;
 * every program is run with execve(), a fixed path and a minimal
 * environment.  It does not read the store and knows nothing of policies.
 *
 * Exit status: postsuper's on success; 64 bad arguments, 65 the queued
 * message is not the reviewed one, 69 not in the hold queue, 71 system error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#define POSTCAT    "/usr/sbin/postcat"
#define POSTCONF   "/usr/sbin/postconf"
#define POSTSUPER  "/usr/sbin/postsuper"
#define OUTPUT_MAX (1 << 20)

static char *const clean_env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL};

static int refuse(int status, const char *what)
{
	fprintf(stderr, "apology-postsuper: %s\n", what);
	return status;
}

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

/* A configuration directory root trusts: absolute, root-owned, writable by
 * root only, and so is its main.cf (postcat and postsuper run as root with
 * whatever it says). */
static bool trusted_dir(const char *dir)
{
	struct stat st;
	char path[4096];
	if (dir[0] != '/' || strstr(dir, "/..") != NULL || strlen(dir) > 1024)
		return false;
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)))
		return false;
	snprintf(path, sizeof path, "%s/main.cf", dir);
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 &&
	       !(st.st_mode & (S_IWGRP | S_IWOTH));
}

/* Run ARGV[0] (a fixed path) and read its standard output into BUF (NUL
 * terminated, at most SIZE - 1 bytes).  Returns the exit status, or -1. */
static int capture(char *const argv[], char *buf, size_t size)
{
	int fd[2];
	if (pipe(fd) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		dup2(fd[1], STDOUT_FILENO);
		if (devnull >= 0) {
			dup2(devnull, STDIN_FILENO);
			dup2(devnull, STDERR_FILENO);
		}
		close(fd[0]);
		close(fd[1]);
		execve(argv[0], argv, clean_env);
		_exit(127);
	}
	close(fd[1]);
	size_t len = 0;
	ssize_t n;
	char sink[4096];
	for (;;) {
		char *dst = len + 1 < size ? buf + len : sink;
		size_t room = len + 1 < size ? size - 1 - len : sizeof sink;
		n = read(fd[0], dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (dst != sink)
			len += (size_t)n;
	}
	buf[len] = '\0';
	close(fd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Is QUEUE_ID a file in the hold queue of the instance? */
static bool in_hold_queue(const char *config, const char *queue_id)
{
	char dir[4096], path[4200];
	char *argv[] = {POSTCONF, "-h", "queue_directory", NULL, NULL, NULL};
	if (config != NULL) {
		argv[1] = "-c";
		argv[2] = (char *)config;
		argv[3] = "-h";
		argv[4] = "queue_directory";
	}
	if (capture(argv, dir, sizeof dir) != 0)
		return false;
	dir[strcspn(dir, "\n")] = '\0';
	if (dir[0] != '/')
		return false;
	snprintf(path, sizeof path, "%s/hold/%s", dir, queue_id);
	struct stat st;
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Does the queued message carry "HEADER: TOKEN" in its header section? */
static bool carries_token(const char *config, const char *queue_id, const char *header, const char *token)
{
	static char out[OUTPUT_MAX];
	char *argv[] = {POSTCAT, "-h", "-q", (char *)queue_id, NULL, NULL, NULL};
	if (config != NULL) {
		argv[1] = "-c";
		argv[2] = (char *)config;
		argv[3] = "-h";
		argv[4] = "-q";
		argv[5] = (char *)queue_id;
	}
	if (capture(argv, out, sizeof out) != 0)
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

static int usage(void)
{
	return refuse(EX_USAGE, "usage: apology-postsuper [-c POSTFIX_CONFIG_DIR] [-t TOKEN_HEADER] "
	                        "release|discard QUEUEID TOKEN");
}

int main(int argc, char **argv)
{
	const char *config = NULL, *header = "X-Apology-Token";
	int opt;
	while ((opt = getopt(argc, argv, "+c:t:")) != -1) {
		if (opt == 'c')
			config = optarg;
		else if (opt == 't')
			header = optarg;
		else
			return usage();
	}
	if (argc - optind != 3)
		return usage();
	const char *action = argv[optind], *queue_id = argv[optind + 1], *token = argv[optind + 2];
	const char *flag = strcmp(action, "release") == 0   ? "-H"
	                   : strcmp(action, "discard") == 0 ? "-d"
	                                                    : NULL;
	if (flag == NULL)
		return usage();
	if (!valid_queue_id(queue_id))
		return refuse(EX_USAGE, "not a Postfix queue id");
	if (!all_of(token, "0123456789abcdef", 16, 64))
		return refuse(EX_USAGE, "not a review token");
	if (!all_of(header, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-", 1, 64))
		return refuse(EX_USAGE, "not a header name");
	if (config != NULL && !trusted_dir(config))
		return refuse(EX_USAGE, "the Postfix configuration directory must be root's alone");
	if (!in_hold_queue(config, queue_id))
		return refuse(EX_UNAVAILABLE, "no such message in the hold queue");
	if (!carries_token(config, queue_id, header, token))
		return refuse(EX_DATAERR, "the held message with that queue id is not the reviewed one");

	char *cmd[] = {"postsuper", (char *)flag, (char *)queue_id, NULL, NULL, NULL};
	if (config != NULL) {
		cmd[1] = "-c";
		cmd[2] = (char *)config;
		cmd[3] = (char *)flag;
		cmd[4] = (char *)queue_id;
	}
	execve(POSTSUPER, cmd, clean_env);
	fprintf(stderr, "apology-postsuper: %s: %s\n", POSTSUPER, strerror(errno));
	return EX_OSERR;
}
