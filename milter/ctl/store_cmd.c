/*
 * store_cmd.c - `apologyctl store migrate --from sqlite:PATH --to
 * postgresql://... [--force]`: copy an SQLite store into a PostgreSQL one
 * (store/store_copy.c), in one transaction on the target.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "ctl.h"
#include "store.h"

int store_main(int argc, char **argv)
{
	const char *from = NULL, *to = NULL;
	bool force = false;
	if (argc < 2 || strcmp(argv[1], "migrate") != 0)
		return ctl_usage(
		    "store: expected \"store migrate --from sqlite:PATH --to postgresql://...\"");
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0)
			force = true;
		else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			from = argv[++i];
		else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			to = argv[++i];
		else
			return ctl_usage("store migrate: unknown option, or --from/--to without a value");
	}
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
