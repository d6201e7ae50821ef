/*
 * apologyctl - the command-line shell around the core.
 *
 *   apologyctl check [--policy PATH] [--format text|json] [--now RFC3339]
 *                    [--history FILE] FILE... | -
 *   apologyctl policy check [--against OLD [--force]] [PATH...]
 *   apologyctl backtest [--policy NEW] [--against OLD] ... SOURCE...   (backtest.c)
 *   apologyctl quarantine | notify | logins ...   the review tools (milter/holds/)
 *
 * Exit status of check: the worst verdict over all files (0 pass, 1 advise,
 * 2 hold, 3 unchecked); 64 and above (sysexits) for usage and input errors.
 * Of policy check: 0 OK, 65 a policy shrinks against OLD (without
 * --force), 78 a policy does not load (the worst over all files).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "ctl.h"
#include "decision.h"
#include "linefile.h"
#include "logins.h"
#include "notify.h"
#include "opts.h"
#include "policy.h"
#include "quarantine.h"
#include "render.h"
#include "store.h"

static const char usage_text[] =
    "usage: apologyctl check [--policy PATH] [--format text|json] [--now RFC3339]\n"
    "                        [--history FILE] [--complaint normal|serious | --inbound FILE]\n"
    "                        FILE... | -\n"
    "       apologyctl policy check [--against OLD [--force]] [PATH...]\n"
    "       apologyctl backtest [--policy NEW] [--against OLD] [--jobs N] [--since DATE]\n"
    "                           [--sender GLOB]... [--report DIR] SOURCE... | -\n"
    "       apologyctl quarantine [-c FILE] [-o key=value]... list|show|release|discard|return|\n"
    "                             expire|reconcile ...   (apologyctl quarantine help)\n"
    "       apologyctl notify [-c FILE] [-o key=value]... --once\n"
    "       apologyctl logins [-c FILE] [-o key=value]... list | unlock [NAME] [--address ADDR]\n"
    "       apologyctl report [-c FILE] [-o key=value]... [--since DATE|DURATION]\n"
    "                         [--format text|json|html]   (apologyctl report --help)\n"
    "       apologyctl labels [-c FILE] [-o key=value]... export [--since DATE|DURATION]\n"
    "       apologyctl store migrate --from sqlite:PATH --to postgresql://... [--force]\n"
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
    "policy check      validate each policy (default: as for check) and print \"policy OK\"\n"
    "                   or its errors (exit 78)\n"
    "  --against OLD    also compare each with OLD, the policy it would replace: print\n"
    "                   what changed (rules enabled, entries per phrase list, models)\n"
    "                   and exit 65 when one shrinks: it loses an enabled rule, empties a\n"
    "                   phrase list, drops a model or more than half of its patterns\n"
    "  --force          accept a policy that shrinks (exit 0; the changes are printed)\n"
    "backtest          run the policy over a mail archive (mbox, Maildir, a directory of\n"
    "                  .eml files, or - for a list of paths on standard input) as the milter\n"
    "                  would have judged it; a summary, and with --report DIR results.jsonl\n"
    "                  and index.html (apologyctl backtest --help)\n"
    "store migrate     copy every table of an SQLite store into a PostgreSQL one, in one\n"
    "                  transaction, and print the rows per table; a target that holds\n"
    "                  records is refused unless --force (which replaces them)\n";

static int usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "apologyctl: %s\n", msg);
	fputs(usage_text, stderr);
	return EX_USAGE;
}

struct history_read {
	const char *path;
	const struct policy *pol;
	GArray *out;
};

/* One "RFC3339 kind[,kind]" line of a history file; false (reported) when
 * it is not one. */
static bool history_line(void *arg, char *line, int lineno)
{
	struct history_read *r = arg;
	char **f = g_strsplit_set(g_strstrip(line), " \t", 2);
	struct history_entry h = {0};
	bool ok = f[0] != NULL && f[1] != NULL && ctl_parse_time(f[0], &h.when);
	if (!ok)
		fprintf(stderr, "%s:%d:1: expected \"RFC3339-time kind[,kind]\"\n", r->path, lineno);
	char **kinds = ok ? g_strsplit(g_strstrip(f[1]), ",", -1) : NULL;
	for (int k = 0; kinds && kinds[k]; k++) {
		int idx = policy_kind_index(r->pol, g_strstrip(kinds[k]));
		if (idx < 0) {
			fprintf(stderr, "%s:%d: unknown failure kind \"%s\"\n", r->path, lineno, kinds[k]);
			ok = false;
		} else {
			h.kinds |= 1u << idx;
		}
	}
	g_strfreev(kinds);
	g_strfreev(f);
	if (ok)
		g_array_append_val(r->out, h);
	return ok;
}

static bool load_history(const char *path, const struct policy *pol, GArray *out)
{
	struct history_read r = {path, pol, out};
	char *err = NULL;
	if (linefile_each(path, history_line, &r, &err))
		return true;
	if (err)
		fprintf(stderr, "apologyctl: %s\n", err);
	g_free(err);
	return false;
}

static bool read_input(const char *file, GByteArray **out)
{
	if (strcmp(file, "-") == 0) {
		GByteArray *buf = g_byte_array_new();
		guint8 chunk[65536];
		size_t n;
		while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
			g_byte_array_append(buf, chunk, (guint)n);
		if (ferror(stdin)) {
			fprintf(stderr, "apologyctl: -: %s\n", strerror(errno));
			g_byte_array_unref(buf);
			return false;
		}
		*out = buf;
		return true;
	}
	char *data;
	gsize len;
	GError *gerr = NULL;
	if (!g_file_get_contents(file, &data, &len, &gerr)) {
		fprintf(stderr, "apologyctl: %s\n", gerr->message);
		g_error_free(gerr);
		return false;
	}
	*out = g_byte_array_new_take((guint8 *)data, len);
	return true;
}

/* --inbound FILE: the complaint the reply answers, as the milter stores it
 * when it arrives (its severity, failure kinds, and Date as its arrival);
 * a message that does not read as a complaint gives nothing, as in the
 * milter.  False (reported) when FILE cannot be read. */
static bool read_inbound(const char *path, const struct policy *pol, struct context *ctx)
{
	GByteArray *buf;
	if (!read_input(path, &buf))
		return false;
	struct inbound in;
	apology_classify_inbound(pol, (const char *)buf->data, buf->len, &in);
	struct message msg;
	message_parse((const char *)buf->data, buf->len, policy_limits(pol), &msg);
	if (in.parsed && in.complaint.detected)
		ctl_context_complaint(ctx, &in.complaint, msg.date);
	message_clear(&msg);
	inbound_clear(&in);
	g_byte_array_unref(buf);
	return true;
}

static int cmd_check(int argc, char **argv)
{
	const char *policy_path = NULL, *format = "text", *now_s = NULL, *history_path = NULL;
	const char *complaint = NULL, *inbound_path = NULL;
	static const struct option longopts[] = {
	    {"policy", required_argument, NULL, 'p'},
	    {"format", required_argument, NULL, 'f'},
	    {"now", required_argument, NULL, 'n'},
	    {"history", required_argument, NULL, 'H'},
	    {"complaint", required_argument, NULL, 'c'},
	    {"inbound", required_argument, NULL, 'i'},
	    {NULL, 0, NULL, 0},
	};
	int opt;
	opts_begin();
	while ((opt = getopt_long(argc, argv, "+:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p': policy_path = optarg; break;
		case 'f': format = optarg; break;
		case 'n': now_s = optarg; break;
		case 'H': history_path = optarg; break;
		case 'c': complaint = optarg; break;
		case 'i': inbound_path = optarg; break;
		case ':': return usage("check: option needs a value");
		default: return usage("check: unknown option");
		}
	}
	int i = optind;
	if (i >= argc)
		return usage("check: no input files (use - for standard input)");
	bool json = strcmp(format, "json") == 0;
	if (!json && strcmp(format, "text") != 0)
		return usage("check: --format is text or json");
	struct context ctx = {0};
	if (now_s && !ctl_parse_time(now_s, &ctx.now))
		return usage("check: --now expects an RFC 3339 time, e.g. 2026-03-04T10:00:00Z");
	if (complaint) {
		if (strcmp(complaint, "normal") != 0 && strcmp(complaint, "serious") != 0)
			return usage("check: --complaint is normal or serious");
		ctx.stored_complaint = true;
		ctx.complaint_time = -1;
		ctx.complaint_serious = strcmp(complaint, "serious") == 0;
	}

	if (complaint && inbound_path)
		return usage("check: --complaint and --inbound both say what the reply answers: give one");
	struct policy *pol = ctl_load_policy(policy_path ? policy_path : ctl_default_policy_path());
	if (pol == NULL)
		return EX_CONFIG;
	if (inbound_path && !read_inbound(inbound_path, pol, &ctx)) {
		policy_unref(pol);
		return EX_NOINPUT;
	}
	GArray *history = g_array_new(FALSE, FALSE, sizeof(struct history_entry));
	if (history_path && !load_history(history_path, pol, history)) {
		g_array_free(history, TRUE);
		policy_unref(pol);
		return EX_DATAERR;
	}
	ctx.history = (const struct history_entry *)(void *)history->data;
	ctx.n_history = history->len;

	int worst = 0, input_error = 0;
	bool colour = !json && isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
	for (; i < argc; i++) {
		GByteArray *buf;
		if (!read_input(argv[i], &buf)) {
			input_error = EX_NOINPUT;
			continue;
		}
		struct decision d;
		apology_check(pol, (const char *)buf->data, buf->len, &ctx, &d);
		GString *out = g_string_new(NULL);
		if (json)
			ctl_json_decision(out, argv[i], pol, &d);
		else
			render_text(out, argv[i], &d, colour);
		puts(out->str);
		g_string_free(out, TRUE);
		if ((int)d.verdict > worst)
			worst = (int)d.verdict;
		decision_clear(&d);
		g_byte_array_unref(buf);
	}
	g_array_free(history, TRUE);
	policy_unref(pol);
	if (fflush(stdout) != 0)
		return EX_IOERR;
	return input_error ? input_error : worst;
}

static void print_policy_ok(const char *path, const struct policy *pol)
{
	char *models = policy_models_line(pol);
	printf("policy OK: %s (%s, %u patterns, %s matcher; models: %s)\n", path, policy_name(pol),
	       policy_pattern_count(pol), policy_matcher_name(), models);
	g_free(models);
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

static int cmd_policy(int argc, char **argv)
{
	const char *against = NULL;
	bool force = false;
	if (argc < 2 || strcmp(argv[1], "check") != 0)
		return usage("policy: expected \"policy check [--against OLD [--force]] [PATH...]\"");
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
			return usage("policy check: unknown option, or --against without a file");
	}
	int i = optind + 1;
	if (force && against == NULL)
		return usage("policy check: --force goes with --against");
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

static int cmd_store(int argc, char **argv)
{
	const char *from = NULL, *to = NULL;
	bool force = false;
	if (argc < 2 || strcmp(argv[1], "migrate") != 0)
		return usage("store: expected \"store migrate --from sqlite:PATH --to postgresql://...\"");
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0)
			force = true;
		else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			from = argv[++i];
		else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			to = argv[++i];
		else
			return usage("store migrate: unknown option, or --from/--to without a value");
	}
	if (from == NULL || to == NULL)
		return usage("store migrate: --from and --to are both needed");
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

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
    {"check", cmd_check},    {"policy", cmd_policy},  {"quarantine", quarantine_main},
    {"notify", notify_main}, {"logins", logins_main}, {"backtest", backtest_main},
    {"report", report_main}, {"labels", labels_main}, {"store", cmd_store},
};

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(NULL);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	return usage("unknown command");
}
