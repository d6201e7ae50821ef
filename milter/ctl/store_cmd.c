/*
 * store_cmd.c - `apologyctl store`:
 *   migrate --from sqlite:PATH --to postgresql://... [--force]
 *       copy an SQLite store into a PostgreSQL one (store/store_copy.c), in
 *       one transaction on the target;
 *   aside [-c FILE] [-o key=value]... list|retry
 *       the lines a replay of the daemon's spool set aside (spool.h):
 *       described one by one, or their records written to the store.
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
    "usage: apologyctl store aside [-c FILE] [-o key=value]... list|retry\n"
    "  list     the lines a replay of the daemon's spool set aside (records the store\n"
    "           refused for their data, lines no record this version reads), one by\n"
    "           one; exit 1 when there are any\n"
    "  retry    once their cause is mended, write those records to the store; the\n"
    "           lines not written stay set aside (exit 1 when any; 69 when the store\n"
    "           cannot be opened or fails)\n";

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

static int aside_main(int argc, char **argv)
{
	struct review_config cfg;
	int next = 0;
	review_config_init(&cfg);
	int rc = review_config_from_args(&cfg, argc, argv, &next);
	const char *cmd = rc == 0 && next < argc ? argv[next] : NULL;
	if (rc == 0 &&
	    (cmd == NULL || next + 1 != argc || (strcmp(cmd, "list") != 0 && strcmp(cmd, "retry") != 0)))
		rc =
		    ctl_review_usage("store aside", aside_usage,
		                     cmd == NULL ? "expected list or retry" : "expected list or retry alone");
	else if (rc == 0 && *cfg.spool_dir == '\0')
		rc = ctl_review_usage("store aside", aside_usage, "spool-directory is empty");
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
		                 "or \"store aside list|retry\"");
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
