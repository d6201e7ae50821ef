/*
 * policy_cmd.c - `apologyctl policy check`: validate policies and, with
 * --against, print what each changes against the one it would replace.
 *
 *   apologyctl policy check [--against OLD [--force]] [PATH...]
 *
 * Exit status: 0 OK, 65 a policy shrinks against OLD (without --force), 78
 * a policy does not load (the worst over all files).
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "ctl.h"
#include "opts.h"
#include "policy.h"

static void print_policy_ok(const char *path, const struct policy *pol)
{
	char *summary = policy_summary(pol), *doubts = policy_model_doubts(pol, NULL);
	printf("policy OK: %s (%s)\n", path, summary);
	if (doubts) /* loads and judges: a warning, not an error */
		fprintf(stderr, "apologyctl: %s: warning: %s\n", path, doubts);
	g_free(doubts);
	g_free(summary);
}

/* Print what FRESH at PATH changes against OLD at OLD_PATH; EX_DATAERR when
 * it shrinks, unless FORCE. */
static int compare_policies(const char *old_path, const struct policy *old, const char *path,
                            const struct policy *fresh, bool force)
{
	GString *changes = g_string_new(NULL), *lost = g_string_new(NULL);
	bool shrinks = policy_compare(old, fresh, changes, lost);
	printf("against %s (%s, %u patterns):\n", old_path, policy_name(old), policy_pattern_count(old));
	if (changes->len == 0)
		printf("  no change in rules, phrase lists or models\n");
	char **lines = g_strsplit(g_strchomp(changes->str), "\n", -1);
	for (int i = 0; changes->len && lines[i]; i++)
		printf("  %s\n", lines[i]);
	g_strfreev(lines);
	if (shrinks)
		fprintf(stderr, "apologyctl: %s shrinks: it loses %s; %s\n", path, lost->str,
		        force ? "accepted with --force" : "refused (--force accepts it)");
	g_string_free(changes, TRUE);
	g_string_free(lost, TRUE);
	return shrinks && !force ? EX_DATAERR : 0;
}

int policy_main(int argc, char **argv)
{
	const char *against = NULL;
	bool force = false;
	if (argc < 2 || strcmp(argv[1], "check") != 0)
		return ctl_usage("policy: expected \"policy check [--against OLD [--force]] [PATH...]\"");
	static const struct option longopts[] = {
	    {"against", required_argument, NULL, 'a'},
	    {"force", no_argument, NULL, 'f'},
	    {NULL, 0, NULL, 0},
	};
	int opt;
	opts_begin();
	while ((opt = getopt_long(argc - 1, argv + 1, "+:", longopts, NULL)) != -1) {
		if (opt == 'a')
			against = optarg;
		else if (opt == 'f')
			force = true;
		else
			return ctl_usage("policy check: unknown option, or --against without a file");
	}
	int i = optind + 1;
	if (force && against == NULL)
		return ctl_usage("policy check: --force goes with --against");
	struct policy *old = NULL;
	if (against && (old = ctl_load_policy(against)) == NULL)
		return EX_CONFIG;
	const char *fallback[] = {ctl_default_policy_path()};
	const char *const *paths = i < argc ? (const char *const *)argv + i : fallback;
	int n = i < argc ? argc - i : 1, rc = 0;
	for (int k = 0; k < n; k++) {
		struct policy *pol = ctl_load_policy(paths[k]);
		if (pol == NULL) {
			rc = EX_CONFIG;
			continue;
		}
		print_policy_ok(paths[k], pol);
		if (old && compare_policies(against, old, paths[k], pol, force) != 0 && rc == 0)
			rc = EX_DATAERR;
		policy_unref(pol);
	}
	if (old)
		policy_unref(old);
	return rc;
}
