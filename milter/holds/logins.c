/*
 * logins.c - see logins.h.  The counts live in the store; this file
 * decides what a failure does to them, and is `apologyctl logins`.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "logins.h"
#include "opts.h"
#include "quarantine.h"

/* Serialises read-count-write of the records within one process (the
 * review page's worker threads); other processes only delete them. */
static GMutex count_lock;

void logins_count(struct store_login *l, int limit, gint64 now)
{
	if (MAX(l->last, l->locked_until) < now - LOGINS_FORGET)
		l->failures = 0;
	l->failures++;
	l->last = now;
	if (l->failures >= limit) {
		int doublings = MIN(l->failures - limit, 10);
		l->locked_until = now + MIN((gint64)LOGINS_LOCK_FIRST << doublings, LOGINS_LOCK_MAX);
	}
}

/* The record of NAME from ADDRESS into *OUT (a fresh one when there is
 * none); false on a store error. */
static bool load(struct store *st, const char *name, const char *address, struct store_login *out, char **err)
{
	GArray *rows = store_logins_new();
	bool ok = store_login_list(st, name, address, rows, err);
	memset(out, 0, sizeof *out);
	if (ok && rows->len > 0) {
		*out = g_array_index(rows, struct store_login, 0);
		g_array_index(rows, struct store_login, 0) = (struct store_login){0}; /* *OUT owns them */
	} else {
		out->name = g_strdup(name);
		out->address = g_strdup(address);
	}
	g_array_unref(rows);
	return ok;
}

gint64 logins_locked(struct store *st, const char *name, const char *address, gint64 now, char **err)
{
	const char *keys[] = {name, ""};
	gint64 until = 0;
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		struct store_login l;
		bool ok = load(st, keys[i], address, &l, err);
		until = MAX(until, l.locked_until);
		store_login_clear(&l);
		if (!ok)
			return -1;
	}
	return MAX(until - now, 0);
}

/* One more failure of NAME from ADDRESS, LIMIT allowed; *LOCKED is set to
 * the lock it starts. */
static bool count_one(struct store *st, const char *name, const char *address, int limit, gint64 now,
                      gint64 *locked, char **err)
{
	struct store_login l;
	bool ok = load(st, name, address, &l, err);
	if (ok) {
		logins_count(&l, limit, now);
		*locked = l.failures >= limit ? l.locked_until - now : 0;
		ok = store_login_put(st, &l, err);
	}
	store_login_clear(&l);
	return ok;
}

bool logins_failed(const struct review_config *cfg, struct store *st, const char *name, const char *address,
                   gint64 now, struct logins_locks *started, char **err)
{
	*started = (struct logins_locks){0};
	g_mutex_lock(&count_lock);
	bool ok = store_login_prune(st, now - LOGINS_FORGET, err) &&
	          count_one(st, name, address, cfg->login_failures, now, &started->name, err) &&
	          count_one(st, "", address, cfg->login_failures_per_address, now, &started->address, err);
	g_mutex_unlock(&count_lock);
	return ok;
}

bool logins_succeeded(struct store *st, const char *name, const char *address, char **err)
{
	g_mutex_lock(&count_lock);
	bool ok = store_login_forget(st, name, address, NULL, err);
	g_mutex_unlock(&count_lock);
	return ok;
}

/* ---- apologyctl logins ---------------------------------------------------- */

static const char usage_text[] =
    "usage: apologyctl logins [-c FILE] [-o key=value]... COMMAND\n"
    "  list                           failed log-ins of the review page still counted, and\n"
    "                                 the locks they set: per user name and client address,\n"
    "                                 and per address (\"(any)\")\n"
    "  unlock NAME                    clear NAME's counts and locks, from every address\n"
    "  unlock --address ADDR          clear the address's own lock and the names locked there\n"
    "  unlock NAME --address ADDR     clear NAME's count and lock from ADDR only\n";

static int usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "apologyctl logins: %s\n", msg);
	fputs(usage_text, stderr);
	return EX_USAGE;
}

static int cmd_list(struct store *st, gint64 now)
{
	GArray *rows = store_logins_new();
	char *err = NULL;
	if (!store_login_list(st, NULL, NULL, rows, &err)) {
		fprintf(stderr, "apologyctl: %s\n", err);
		g_free(err);
		g_array_unref(rows);
		return EX_UNAVAILABLE;
	}
	if (rows->len == 0)
		puts("no failed log-ins");
	else
		printf("%-24s %-39s %8s  %s\n", "user name", "client address", "failures", "state");
	for (guint i = 0; i < rows->len; i++) {
		const struct store_login *l = &g_array_index(rows, struct store_login, i);
		char *ago = quarantine_age(now - l->last);
		char *state = l->locked_until > now ? g_strdup_printf("locked for %" G_GINT64_FORMAT "s more",
		                                                      l->locked_until - now)
		                                    : g_strdup_printf("not locked; last failure %s ago", ago);
		printf("%-24s %-39s %8d  %s\n", *l->name ? l->name : "(any)", l->address, l->failures, state);
		g_free(state);
		g_free(ago);
	}
	g_array_unref(rows);
	return 0;
}

static int cmd_unlock(struct store *st, int argc, char **argv)
{
	const char *name = NULL;
	char address[REVIEW_ADDRESS_MAX] = "";
	static const struct option longopts[] = {
	    {"address", required_argument, NULL, 'a'},
	    {NULL, 0, NULL, 0},
	};
	int opt;
	opts_begin();
	while ((opt = getopt_long(argc, argv, "-:", longopts, NULL)) != -1) {
		if (opt == 'a') {
			if (!review_address_canonical(optarg, address))
				return usage("unlock: --address expects an IPv4 or IPv6 address");
		} else if (opt == 1 && name == NULL && *optarg != '\0') {
			name = optarg;
		} else {
			return usage("unlock: expected NAME, --address ADDR, or both");
		}
	}
	if (optind < argc) /* after "--" */
		return usage("unlock: expected NAME, --address ADDR, or both");
	if (name == NULL && *address == '\0')
		return usage("unlock: expected NAME, --address ADDR, or both");
	char *err = NULL;
	int n = 0;
	if (!store_login_forget(st, name, *address ? address : NULL, &n, &err)) {
		fprintf(stderr, "apologyctl: %s\n", err);
		g_free(err);
		return EX_UNAVAILABLE;
	}
	char *who = name && *address ? g_strdup_printf("%s from %s", name, address)
	            : name           ? g_strdup_printf("%s (every address)", name)
	                             : g_strdup_printf("%s (the address and every name there)", address);
	if (n == 0)
		printf("nothing to unlock: no failed log-ins of %s\n", who);
	else
		printf("unlocked %s: %d record%s cleared\n", who, n, n == 1 ? "" : "s");
	g_free(who);
	return 0;
}

int logins_main(int argc, char **argv)
{
	struct review_config cfg;
	int next = 0;
	review_config_init(&cfg);
	int rc = review_config_from_args(&cfg, argc, argv, &next);
	const char *cmd = rc == 0 && next < argc ? argv[next] : NULL;
	if (rc == 0 && (cmd == NULL || (strcmp(cmd, "list") != 0 && strcmp(cmd, "unlock") != 0)))
		rc = usage(cmd ? "unknown command" : NULL);
	else if (rc == 0 && strcmp(cmd, "list") == 0 && next + 1 != argc)
		rc = usage("list takes no arguments");
	char *err = NULL;
	struct store *st = rc == 0 ? store_open(cfg.store, &err) : NULL;
	if (rc == 0 && st == NULL) {
		fprintf(stderr, "apologyctl: %s\n", err);
		rc = EX_UNAVAILABLE;
	} else if (rc == 0) {
		rc = strcmp(cmd, "list") == 0 ? cmd_list(st, g_get_real_time() / G_USEC_PER_SEC)
		                              : cmd_unlock(st, argc - next, argv + next);
	}
	g_free(err);
	store_close(st);
	review_config_clear(&cfg);
	return rc;
}
