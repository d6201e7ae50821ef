/*
 * apologyctl - the command-line shell around the core: its usage and the
 * table of its commands, one file each.
 *
 *   apologyctl check ...                    check.c
 *   apologyctl policy check ...             policy_cmd.c
 *   apologyctl backtest ...                 backtest.c
 *   apologyctl notify --once                notify_cmd.c
 *   apologyctl logins ...                   logins_cmd.c
 *   apologyctl report ... | labels export   report.c, labels.c
 *   apologyctl store migrate|aside ...      store_cmd.c
 *   apologyctl quarantine ...               quarantine_cmd.c
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "ctl.h"
#include "quarantine.h"

static const char usage_text[] =
    "usage: apologyctl check [--policy PATH] [--format text|json] [--now RFC3339]\n"
    "                        [--history FILE] [--complaint normal|serious | --inbound FILE]\n"
    "                        FILE... | -\n"
    "       apologyctl check --as-inbound [--policy PATH] [--format text|json] FILE... | -\n"
    "       apologyctl policy check [--against OLD [--force]] [PATH...]\n"
    "       apologyctl backtest [--policy NEW] [--against OLD] [--jobs N] [--since DATE]\n"
    "                           [--sender GLOB]... [--report DIR] SOURCE... | -\n"
    "       apologyctl quarantine [-c FILE] [-o key=value]... list|show|release|discard|return|\n"
    "                             judge|expire|reconcile ...   (apologyctl quarantine help)\n"
    "       apologyctl notify [-c FILE] [-o key=value]... --once\n"
    "       apologyctl logins [-c FILE] [-o key=value]... list | unlock [NAME] [--address ADDR]\n"
    "       apologyctl report [-c FILE] [-o key=value]... [--since DATE|DURATION]\n"
    "                         [--format text|json|html]   (apologyctl report --help)\n"
    "       apologyctl labels [-c FILE] [-o key=value]... export [--since DATE|DURATION]\n"
    "       apologyctl store migrate --from sqlite:PATH --to postgresql://... [--force]\n"
    "       apologyctl store aside [-c FILE] [-o key=value]... list|retry|drop all|N...\n"
    "\n"
    "check     judge each message against the apology policy; exit 0 pass, 1 advise,\n"
    "          2 hold, 3 unchecked (the worst over all files)\n"
    "  --policy PATH    policy file (default: $APOLOGY_POLICY, ./policies/default.yaml,\n"
    "                   " DATADIR "/policies/default.yaml)\n"
    "  --format FMT     text (default) or json (one object per file, one per line)\n"
    "  --now TIME       reference time for timeliness (default: the reply's Date header)\n"
    "  --history FILE   earlier apologies by the same sender to the same client:\n"
    "                   lines \"RFC3339 kind[,kind]\"\n"
    "  --complaint SEV  the thread answers a complaint of this severity (normal or\n"
    "                   serious), as when the milter stored the inbound complaint\n"
    "  --inbound FILE   the reply answers the complaint in FILE, as the milter stores it\n"
    "                   when it arrives (severity, failure kinds, its Date as arrival)\n"
    "  --as-inbound     judge each FILE as mail arriving from a client instead, as the\n"
    "                   milter does before it stores a complaint: complaint or not, its\n"
    "                   severity and evidence (with the learned models the gate's margin,\n"
    "                   0 at its bar), a complaint's failure kinds and whether it lacks\n"
    "                   the Message-ID the milter needs; exit 0, 66 when a FILE cannot be read\n"
    "policy check      validate each policy (default: as for check) and print \"policy OK\"\n"
    "                   or its errors (exit 78)\n"
    "  --against OLD    also compare each with OLD, the policy it would replace: print\n"
    "                   what changed (rules enabled, entries per phrase list, models\n"
    "                   and their settings)\n"
    "                   and exit 65 when one shrinks: it loses an enabled rule, empties a\n"
    "                   phrase list, drops a model or more than half of its patterns\n"
    "  --force          accept a policy that shrinks (exit 0; the changes are printed)\n"
    "backtest          run the policy over a mail archive (mbox, Maildir, a directory of\n"
    "                  .eml files, or - for a list of paths on standard input) as the milter\n"
    "                  would have judged it; a summary, and with --report DIR results.jsonl\n"
    "                  and index.html (apologyctl backtest --help)\n"
    "store migrate     copy every table of an SQLite store into a PostgreSQL one, in one\n"
    "                  transaction, and print the rows per table; a target that holds\n"
    "                  records is refused unless --force (which replaces them)\n"
    "store aside       list the lines a replay of the daemon's spool set aside (records the\n"
    "                  store refused for their data, lines no record this version reads;\n"
    "                  exit 1 when any), or, once their cause is mended, write their\n"
    "                  records to the store (retry), or drop lines by the numbers list\n"
    "                  gives them (drop)\n";

int ctl_usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "apologyctl: %s\n", msg);
	fputs(usage_text, stderr);
	return EX_USAGE;
}

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
    {"check", check_main},   {"policy", policy_main}, {"quarantine", quarantine_main},
    {"notify", notify_main}, {"logins", logins_main}, {"backtest", backtest_main},
    {"report", report_main}, {"labels", labels_main}, {"store", store_main},
};

int main(int argc, char **argv)
{
	if (argc < 2)
		return ctl_usage(NULL);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	return ctl_usage("unknown command");
}
