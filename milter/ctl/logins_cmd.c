/*
 * logins_cmd.c - `apologyctl logins`: list the review page's failed log-ins
 * still counted and the locks they set (holds/logins.h), and clear them.
 *
 *   apologyctl logins [-c FILE] [-o key=value]... list | unlock [NAME] [--address ADDR]
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "ctl.h"
#include "logins.h"
#include "opts.h"
#include "quarantine.h"
#include "termtext.h"

static const char usage_text[] =
    "usage: apologyctl logins [-c FILE] [-o key=value]... COMMAND\n"
    "  list                           failed log-ins of the review page still counted, and\n"
    "                                 the locks they set: per user name and client address,\n"
    "                                 and per address (\"(any)\")\n"
    "  unlock NAME                    clear NAME's counts and locks, from every address\n"
    "  unlock --address ADDR          clear the address's own lock and the names locked there\n"
    "                                 (log-ins from IPv6 are counted per /64 network)\n"
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
		char *name = termtext_shown(l->name, -1, -1), *address = termtext_shown(l->address, -1, -1);
		printf("%-24s %-39s %8d  %s\n", *name ? name : "(any)", address, l->failures, state);
		g_free(name);
		g_free(address);
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
			if (!review_address_throttled(optarg, address)) /* an IPv6 address: its /64 */
				return usage(
				    "unlock: --address expects an IPv4 or IPv6 address, or an IPv6 /64");
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
	struct store *st = rc == 0 ? review_config_open_store(&cfg, &err) : NULL;
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
