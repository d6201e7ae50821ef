/*
 * store_cmd.c - `apologyctl store`:
 *   migrate --from sqlite:PATH --to postgresql://... [--force]
 *       copy an SQLite store into a PostgreSQL one (store/store_copy.c), in
 *       one transaction on the target;
 *   aside [-c FILE] [-o key=value]... list|return
 *       the lines a replay of the daemon's spool set aside (spool.h):
 *       described one by one, or moved back to the spool.
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
    "usage: apologyctl store aside [-c FILE] [-o key=value]... list|return\n"
    "  list     the lines a replay of the daemon's spool set aside (records the store\n"
    "           refused for their data, lines no record this version reads), one by\n"
    "           one; exit 1 when there are any\n"
    "  return   move them back to the spool once their cause is mended: the daemon's\n"
    "           next replay tries each again\n";

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

static int aside_return(const char *dir, gint64 max_size)
{
	struct spool *sp = spool_new(dir, max_size);
	char *err = NULL;
	unsigned n = 0;
	int rc = 0;
	if (!spool_aside_return(sp, &n, &err)) {
		fprintf(stderr, "apologyctl: store aside return: %s (nothing was moved)\n", err);
		rc = EX_IOERR;
	} else if (n == 0) {
		printf("nothing set aside in %s/%s\n", dir, SPOOL_ASIDE);
	} else {
		printf("%u line(s) returned to %s: the daemon's next replay tries them again\n", n,
		       spool_path(sp));
	}
	g_free(err);
	spool_free(sp);
	return rc;
}

static int aside_main(int argc, char **argv)
{
	struct review_config cfg;
	int next = 0;
	review_config_init(&cfg);
	int rc = review_config_from_args(&cfg, argc, argv, &next);
	const char *cmd = rc == 0 && next < argc ? argv[next] : NULL;
	if (rc == 0 &&
	    (cmd == NULL || next + 1 != argc || (strcmp(cmd, "list") != 0 && strcmp(cmd, "return") != 0)))
		rc = ctl_review_usage("store aside", aside_usage,
		                      cmd == NULL ? "expected list or return"
		                                  : "expected list or return alone");
	else if (rc == 0 && *cfg.spool_dir == '\0')
		rc = ctl_review_usage("store aside", aside_usage, "spool-directory is empty");
	else if (rc == 0)
		rc = strcmp(cmd, "list") == 0 ? aside_list(cfg.spool_dir)
		                              : aside_return(cfg.spool_dir, cfg.spool_max);
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
		                 "or \"store aside list|return\"");
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
