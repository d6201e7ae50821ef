/*
 * store_cmd.c - `apologyctl store`:
 *   migrate --from sqlite:PATH --to postgresql://... [--force]
 *       copy an SQLite store into a PostgreSQL one (store/store_copy.c), in
 *       one transaction on the target;
 *   aside [-c FILE] [-o key=value]... list|retry|drop all|N...
 *       the lines a replay of the daemon's spool set aside (spool.h):
 *       described one by one, their records written to the store, or
 *       dropped.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "ctl.h"
#include "opts.h"
#include "review_config.h"
#include "spool.h"
#include "store.h"

static const char aside_usage[] =
    "usage: apologyctl store aside [-c FILE] [-o key=value]... list|retry|drop all|N...\n"
    "  list     the lines a replay of the daemon's spool set aside (records the store\n"
    "           refused for their data, lines no record this version reads), one by\n"
    "           one; exit 1 when there are any\n"
    "  retry    once their cause is mended, write those records to the store; the\n"
    "           lines not written stay set aside (exit 1 when any; 69 when the store\n"
    "           cannot be opened or fails)\n"
    "  drop     drop the lines numbered N (as list numbers them), or all of them, for\n"
    "           good (copy the file first to keep them); says what it dropped\n";

static int aside_list(const char *dir)
{
	GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
	char *err = NULL;
	int rc = 0;
	if (!spool_aside_list(dir, lines, &err)) {
		fprintf(stderr, "apologyctl: store aside: %s\n", err);
		rc = EX_IOERR;
	} else if (lines->len == 0) {
		printf("nothing set aside in %s/%s\n", dir, SPOOL_ASIDE);
	} else {
		printf("%u line(s) set aside in %s/%s:\n", lines->len, dir, SPOOL_ASIDE);
		for (guint i = 0; i < lines->len; i++)
			printf("%4u  %s\n", i + 1, (const char *)lines->pdata[i]);
		rc = 1;
	}
	g_free(err);
	g_ptr_array_unref(lines);
	return rc;
}

static int aside_retry(const struct review_config *cfg, struct store *st, void *data)
{
	(void)data;
	struct spool_aside_retried done;
	char *err = NULL;
	bool ok = spool_aside_retry(cfg->spool_dir, st, &done, &err);
	unsigned written = done.holds + done.complaints + done.apologies + done.decisions;
	unsigned kept = done.refused + done.unreadable + done.left;
	if (written + kept == 0) {
		if (ok)
			printf("nothing set aside in %s/%s\n", cfg->spool_dir, SPOOL_ASIDE);
		else
			fprintf(stderr, "apologyctl: store aside retry: %s\n", err);
		g_free(err);
		return ok ? 0 : EX_IOERR;
	}
	printf("%u record(s) written to the store (%u held, %u complaint(s), %u apology(ies), %u "
	       "decision(s))\n",
	       written, done.holds, done.complaints, done.apologies, done.decisions);
	if (done.refused > 0)
		printf("%u refused again for their data: %s\n", done.refused, done.refusal);
	if (done.unreadable > 0)
		printf("%u line(s) no record this version reads\n", done.unreadable);
	if (done.left > 0)
		printf("%u not tried: the store failed\n", done.left);
	if (kept > 0)
		printf("%u line(s) stay set aside in %s/%s\n", kept, cfg->spool_dir, SPOOL_ASIDE);
	if (!ok)
		fprintf(stderr, "apologyctl: store aside retry: %s\n", err);
	g_free(err);
	g_free(done.refusal);
	return done.left > 0 ? EX_UNAVAILABLE : !ok ? EX_IOERR : kept > 0 ? 1 : 0;
}

/* `drop all` or `drop N...` (ARGS, N of them): the lines dropped, or a
 * usage error (64), a number naming no line (65), a file error (74). */
static int aside_drop(const char *dir, char **args, int n)
{
	bool all = n == 1 && strcmp(args[0], "all") == 0;
	GArray *numbers = g_array_new(FALSE, FALSE, sizeof(unsigned));
	int rc =
	    n == 0 ? ctl_review_usage("store aside", aside_usage, "drop: expected all or line numbers") : 0;
	for (int i = 0; rc == 0 && !all && i < n; i++) {
		guint64 v = 0;
		if (!g_ascii_string_to_unsigned(args[i], 10, 1, G_MAXUINT, &v, NULL)) {
			char *why = g_strdup_printf("drop: \"%s\" is no line number (from 1), nor all alone",
			                            args[i]);
			rc = ctl_review_usage("store aside", aside_usage, why);
			g_free(why);
			break;
		}
		unsigned u = (unsigned)v;
		g_array_append_val(numbers, u);
	}
	GPtrArray *dropped = g_ptr_array_new_with_free_func(g_free);
	char *err = NULL;
	unsigned lines = 0, highest = 0;
	for (guint i = 0; i < numbers->len; i++)
		highest = MAX(highest, g_array_index(numbers, unsigned, i));
	if (rc == 0 && !spool_aside_drop(dir, all ? NULL : (unsigned *)(void *)numbers->data, numbers->len,
	                                 &lines, dropped, &err)) {
		fprintf(stderr, "apologyctl: store aside drop: %s\n", err);
		rc = highest > lines ? EX_DATAERR : EX_IOERR;
	} else if (rc == 0 && dropped->len == 0) {
		printf("nothing set aside in %s/%s\n", dir, SPOOL_ASIDE);
	} else if (rc == 0) {
		printf("%u line(s) dropped from %s/%s:\n", dropped->len, dir, SPOOL_ASIDE);
		for (guint i = 0; i < dropped->len; i++)
			printf("%s\n", (const char *)dropped->pdata[i]);
	}
	g_free(err);
	g_ptr_array_unref(dropped);
	g_array_unref(numbers);
	return rc;
}

static int aside_main(int argc, char **argv)
{
	struct review_config cfg;
	int next = 0;
	review_config_init(&cfg);
	int rc = review_config_from_args(&cfg, argc, argv, &next);
	const char *cmd = rc == 0 && next < argc ? argv[next] : NULL;
	bool drop = cmd != NULL && strcmp(cmd, "drop") == 0;
	if (rc == 0 && (cmd == NULL || (!drop && next + 1 != argc) ||
	                (!drop && strcmp(cmd, "list") != 0 && strcmp(cmd, "retry") != 0)))
		rc = ctl_review_usage("store aside", aside_usage,
		                      cmd == NULL ? "expected list, retry or drop"
		                                  : "expected list or retry alone, or drop");
	else if (rc == 0 && *cfg.spool_dir == '\0')
		rc = ctl_review_usage("store aside", aside_usage, "spool-directory is empty");
	else if (rc == 0 && drop)
		rc = aside_drop(cfg.spool_dir, argv + next + 1, argc - next - 1);
	else if (rc == 0 && strcmp(cmd, "list") == 0)
		rc = aside_list(cfg.spool_dir);
	else
		rc = ctl_with_store(&cfg, rc, aside_retry, NULL);
	review_config_clear(&cfg);
	return rc;
}

int store_main(int argc, char **argv)
{
	const char *from = NULL, *to = NULL;
	bool force = false;
	if (argc >= 2 && strcmp(argv[1], "aside") == 0)
		return aside_main(argc - 1, argv + 1);
	if (argc < 2 || strcmp(argv[1], "migrate") != 0)
		return ctl_usage("store: expected \"store migrate --from sqlite:PATH --to postgresql://...\" "
		                 "or \"store aside list|retry|drop\"");
	static const struct option longopts[] = {
	    {"from", required_argument, NULL, 'f'},
	    {"to", required_argument, NULL, 't'},
	    {"force", no_argument, NULL, 'F'},
	    {NULL, 0, NULL, 0},
	};
	int opt;
	opts_begin();
	while ((opt = getopt_long(argc - 1, argv + 1, ":", longopts, NULL)) != -1) {
		if (opt == 'f')
			from = optarg;
		else if (opt == 't')
			to = optarg;
		else if (opt == 'F')
			force = true;
		else
			return ctl_usage("store migrate: unknown option, or --from/--to without a value");
	}
	if (optind < argc - 1)
		return ctl_usage("store migrate: unexpected argument");
	if (from == NULL || to == NULL)
		return ctl_usage("store migrate: --from and --to are both needed");
	GString *report = g_string_new(NULL);
	char *err = NULL;
	bool ok = store_copy(from, to, force, report, &err);
	fputs(report->str, stdout);
	if (ok)
		puts("store migrate: done (one transaction on the target)");
	else
		fprintf(stderr, "apologyctl: store migrate: %s (nothing was copied)\n", err);
	g_string_free(report, TRUE);
	g_free(err);
	return ok ? 0 : EX_UNAVAILABLE;
}
