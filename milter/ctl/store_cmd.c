/*
 * store_cmd.c - `apologyctl store migrate --from sqlite:PATH --to
 * postgresql://... [--force]`: copy an SQLite store into a PostgreSQL one
 * (store/store_copy.c), in one transaction on the target.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "ctl.h"
#include "opts.h"
#include "store.h"

int store_main(int argc, char **argv)
{
	const char *from = NULL, *to = NULL;
	bool force = false;
	if (argc < 2 || strcmp(argv[1], "migrate") != 0)
		return ctl_usage(
		    "store: expected \"store migrate --from sqlite:PATH --to postgresql://...\"");
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
