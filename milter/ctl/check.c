/*
 * check.c - `apologyctl check`: judge each message against the policy and
 * print the decision as text or one JSON line.
 *
 *   apologyctl check [--policy PATH] [--format text|json] [--now RFC3339]
 *                    [--history FILE] [--complaint normal|serious |
 *                    --inbound FILE] FILE... | -
 *   apologyctl check --as-inbound [--policy PATH] [--format text|json] FILE... | -
 *
 * Exit status: the worst verdict over all files (0 pass, 1 advise, 2 hold,
 * 3 unchecked); with --as-inbound 0; 64 and above (sysexits) for usage and
 * input errors.
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
#include "opts.h"
#include "policy.h"
#include "render.h"

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
 * milter (one a policy pattern failed on is named on standard error).
 * False (reported) when FILE cannot be read. */
static bool read_inbound(const char *path, const struct policy *pol, struct context *ctx)
{
	GByteArray *buf;
	if (!read_input(path, &buf))
		return false;
	struct inbound in;
	apology_classify_inbound(pol, (const char *)buf->data, buf->len, NULL, &in);
	struct message msg;
	message_parse((const char *)buf->data, buf->len, policy_limits(pol), &msg);
	if (in.parsed && in.complaint.detected)
		ctl_context_complaint(ctx, &in.complaint, msg.date);
	else if (in.complaint.pattern_errors > 0)
		fprintf(stderr, "apologyctl: %s: not analysed: %s\n", path, DECISION_PATTERN_FAILED);
	message_clear(&msg);
	inbound_clear(&in);
	g_byte_array_unref(buf);
	return true;
}

/* --as-inbound: each of the N FILES judged as mail arriving from a client,
 * as the milter judges it before it stores a complaint: one line each, with
 * the complaint's evidence (with the learned models the gate's margin, 0 at
 * its bar).  0, or EX_NOINPUT when a file cannot be read. */
static int check_as_inbound(const struct policy *pol, char **files, int n, bool json)
{
	int rc = 0;
	for (int i = 0; i < n; i++) {
		GByteArray *buf;
		if (!read_input(files[i], &buf)) {
			rc = EX_NOINPUT;
			continue;
		}
		struct inbound in;
		apology_classify_inbound(pol, (const char *)buf->data, buf->len, NULL, &in);
		GString *out = g_string_new(NULL);
		(json ? render_json_inbound : render_text_inbound)(out, files[i], pol, &in);
		puts(out->str);
		g_string_free(out, TRUE);
		inbound_clear(&in);
		g_byte_array_unref(buf);
	}
	return rc;
}

int check_main(int argc, char **argv)
{
	const char *policy_path = NULL, *format = "text", *now_s = NULL, *history_path = NULL;
	const char *complaint = NULL, *inbound_path = NULL;
	bool as_inbound = false;
	static const struct option longopts[] = {
	    {"policy", required_argument, NULL, 'p'},    {"format", required_argument, NULL, 'f'},
	    {"now", required_argument, NULL, 'n'},       {"history", required_argument, NULL, 'H'},
	    {"complaint", required_argument, NULL, 'c'}, {"inbound", required_argument, NULL, 'i'},
	    {"as-inbound", no_argument, NULL, 'a'},      {NULL, 0, NULL, 0},
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
		case 'a': as_inbound = true; break;
		case ':': return ctl_usage("check: option needs a value");
		default: return ctl_usage("check: unknown option");
		}
	}
	int i = optind;
	if (i >= argc)
		return ctl_usage("check: no input files (use - for standard input)");
	bool json = strcmp(format, "json") == 0;
	if (!json && strcmp(format, "text") != 0)
		return ctl_usage("check: --format is text or json");
	struct context ctx = {0};
	if (now_s && !ctl_parse_time(now_s, &ctx.now))
		return ctl_usage("check: --now expects an RFC 3339 time, e.g. 2026-03-04T10:00:00Z");
	if (complaint) {
		if (strcmp(complaint, "normal") != 0 && strcmp(complaint, "serious") != 0)
			return ctl_usage("check: --complaint is normal or serious");
		ctx.stored_complaint = true;
		ctx.complaint_time = -1;
		ctx.complaint_serious = strcmp(complaint, "serious") == 0;
	}

	if (complaint && inbound_path)
		return ctl_usage(
		    "check: --complaint and --inbound both say what the reply answers: give one");
	if (as_inbound && (complaint || inbound_path || history_path || now_s))
		return ctl_usage("check: --as-inbound judges arriving mail, which answers nothing: "
		                 "--complaint, --inbound, --history and --now do not apply");
	struct policy *pol = ctl_load_policy(policy_path ? policy_path : ctl_default_policy_path());
	if (pol == NULL)
		return EX_CONFIG;
	if (as_inbound) {
		int rc = check_as_inbound(pol, argv + i, argc - i, json);
		policy_unref(pol);
		return fflush(stdout) != 0 ? EX_IOERR : rc;
	}
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
