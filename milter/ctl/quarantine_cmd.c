/*
 * quarantine_cmd.c - `apologyctl quarantine`: held mail on the command line.
 *
 *   list [--state S|all] [--sender ADDR] [--client DOMAIN] [--rule ID]
 *        [--older-than DURATION] [--limit N] [--format text|json]
 *   show ID                  the reply's new text with findings marked, the
 *                            complaint, headers, decision and audit trail
 *   release ID [--comment TEXT]
 *   discard ID [--comment TEXT]
 *   return ID --comment TEXT delete it and mail the author the comment
 *   expire                   act on mail held longer than expire-after
 *   reconcile                compare the store with the hold queue
 *   forget ID [--comment TEXT]  a hold whose message left the queue outside the tool
 *   agent [--once]           carry out the decisions reviewers made on other
 *                            hosts about this host's holds (docs/postgresql.md)
 *
 * Argument parsing and printing only: what is shown is read from the store
 * (the new text and findings the daemon recorded; no policy, no parsing),
 * and decisions are taken by holds/quarantine.c, the review page's path.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "ctl.h"
#include "holdqueue.h"
#include "hostname.h"
#include "labeling.h"
#include "notify.h"
#include "opts.h"
#include "quarantine.h"
#include "render.h"
#include "spool.h"
#include "termtext.h"
#include "units.h"

static const char usage_text[] =
    "usage: apologyctl quarantine [-c FILE] [-o key=value]... COMMAND\n"
    "  list [--state S|all] [--sender ADDR] [--client DOMAIN] [--rule ID]\n"
    "       [--older-than DURATION] [--limit N] [--format text|json]\n"
    "                           held replies, oldest first (--state held by default)\n"
    "  show ID                  one reply: new text with findings marked, the complaint,\n"
    "                           headers, the decision and its audit trail\n"
    "  release ID [--comment TEXT] [--wrong RULE]...   let it go out\n"
    "  discard ID [--comment TEXT] [--wrong RULE]...   delete it\n"
    "  return ID --comment TEXT [--wrong RULE]...      delete it and mail its author the\n"
    "                           comment and advice\n"
    "                           --wrong RULE: that finding of the reply was wrong (repeat\n"
    "                           for several); --wrong complaint: the thread is no\n"
    "                           complaint; recorded as labels with the decision\n"
    "  judge ID complaint|none [--comment TEXT]\n"
    "                           judge a passed near miss the daemon kept for review\n"
    "                           (list --state sampled): was its thread a complaint the\n"
    "                           filter missed?  recorded as a label; the mail went out\n"
    "  expire                   release or return (expire-action) what is held longer\n"
    "                           than expire-after, and tell the authors\n"
    "  reconcile                report store records not in the hold queue and held\n"
    "                           mail with no record, with what the daemon's spool says\n"
    "                           of it (exit 1 when any; 69 when the store cannot be\n"
    "                           opened: the hold queue is still listed)\n"
    "  forget ID [--comment TEXT]\n"
    "                           a held reply whose message left the hold queue outside\n"
    "                           apologyctl (postsuper -d or -H by hand), as reconcile\n"
    "                           names it: recorded as gone, with where the queue has it\n"
    "  agent [--once]           carry out the decisions addressed to this host (host-name)\n"
    "                           in a store several hosts share, every agent-interval\n"
    "ID is the number list shows.  Decisions are recorded with the user running the\n"
    "command (the sudo user under sudo).  release, discard, return and expire exit 69\n"
    "when not done, 75 when left open: the MTA step done but the decision not\n"
    "recorded; this host's agent, or the next decision about the reply,\n"
    "finishes it after agent-lease.\n";

static int usage(const char *msg)
{
	return ctl_review_usage("quarantine", usage_text, msg);
}

struct opts {
	const char *state, *sender, *client, *rule, *older, *limit, *format, *comment;
	const char *id;
};

/* The JSON line of `quarantine list --format json` for Q: CLIENT, RULES and
 * ACTION (may be NULL) as the list prints them, its age at NOW.  The caller
 * frees it. */
static char *quarantine_json_line(const struct store_quarantine *q, const char *client, const char *rules,
                                  const char *action, gint64 now)
{
	JsonBuilder *b = json_builder_new();
	json_builder_begin_object(b);
	ctl_json_member_int(b, "id", q->id);
	ctl_json_member_string(b, "queue_id", q->queue_id);
	ctl_json_member_string(b, "message_id", q->message_id);
	ctl_json_member_string(b, "state", q->state);
	ctl_json_member_string(b, "host", q->host);
	ctl_json_member_string(b, "sender", q->sender);
	ctl_json_member_string(b, "recipients", q->recipients);
	ctl_json_member_string(b, "client", client);
	ctl_json_member_int(b, "score", q->score);
	ctl_json_member_int(b, "created", q->created);
	ctl_json_member_int(b, "age", now - q->created);
	ctl_json_member_string(b, "rules", rules);
	ctl_json_member_string(b, "action", action);
	json_builder_end_object(b);
	char *line = ctl_json_text(b);
	g_object_unref(b);
	return line;
}

/* Parse "--name value" options (of the NAMES allowed) and at most one
 * positional argument, in any order, into O. */
static bool parse_opts(int argc, char **argv, const char *names, struct opts *o)
{
	static const struct option longopts[] = {
	    {"state", required_argument, NULL, 's'},
	    {"sender", required_argument, NULL, 'f'},
	    {"client", required_argument, NULL, 'c'},
	    {"rule", required_argument, NULL, 'r'},
	    {"older-than", required_argument, NULL, 'o'},
	    {"limit", required_argument, NULL, 'l'},
	    {"format", required_argument, NULL, 'F'},
	    {"comment", required_argument, NULL, 'C'},
	    {NULL, 0, NULL, 0},
	};
	int opt, index = -1;
	opts_begin();
	while ((opt = getopt_long(argc, argv, "-:", longopts, &index)) != -1) {
		if (opt == 1) { /* a positional argument */
			if (o->id != NULL)
				return false;
			o->id = optarg;
			continue;
		}
		if (opt == '?' || opt == ':' || index < 0)
			return false;
		char *needle = g_strdup_printf("%s,", longopts[index].name);
		bool allowed = strstr(names, needle) != NULL;
		g_free(needle);
		if (!allowed)
			return false;
		const char **dst = opt == 's'   ? &o->state
		                   : opt == 'f' ? &o->sender
		                   : opt == 'c' ? &o->client
		                   : opt == 'r' ? &o->rule
		                   : opt == 'o' ? &o->older
		                   : opt == 'l' ? &o->limit
		                   : opt == 'F' ? &o->format
		                                : &o->comment;
		*dst = optarg;
		index = -1;
	}
	for (; optind < argc; optind++) { /* after "--" */
		if (o->id != NULL)
			return false;
		o->id = argv[optind];
	}
	return true;
}

static gint64 parse_id(const char *s)
{
	char *end = NULL;
	if (s == NULL || *s < '1' || *s > '9')
		return 0;
	gint64 id = g_ascii_strtoll(s, &end, 10);
	return *end == '\0' ? id : 0;
}

static int cmd_list(const struct review_config *cfg, struct store *st, int argc, char **argv)
{
	(void)cfg;
	struct opts o = {.state = "held", .format = "text"};
	if (!parse_opts(argc, argv, "state,sender,client,rule,older-than,limit,format,", &o) || o.id)
		return usage("list: unknown option or argument");
	gint64 older = 0, now = g_get_real_time() / G_USEC_PER_SEC;
	if (o.older && !review_parse_duration(o.older, &older))
		return usage("list: --older-than expects a duration such as 2h or 3d");
	bool json = strcmp(o.format, "json") == 0;
	if (!json && strcmp(o.format, "text") != 0)
		return usage("list: --format is text or json");
	struct store_query query = {
	    .state = strcmp(o.state, "all") == 0 ? NULL : o.state,
	    .sender = o.sender,
	    .client_domain = o.client,
	    .rule = o.rule,
	    .created_before = o.older ? now - older : 0,
	    .limit = o.limit ? (unsigned)atoi(o.limit) : 0,
	};
	GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	char *err = NULL;
	if (!store_quarantine_list(st, &query, rows, &err)) {
		fprintf(stderr, "apologyctl: %s\n", err);
		g_free(err);
		g_ptr_array_unref(rows);
		return EX_UNAVAILABLE;
	}
	if (!json)
		printf("%-5s %-5s %-12s %-8s %-16s %-28s %-20s %5s  %-24s %s\n", "ID", "AGE", "QUEUE-ID",
		       "STATE", "HOST", "SENDER", "CLIENT", "SCORE", "ACTION", "RULES");
	for (guint i = 0; i < rows->len; i++) {
		const struct store_quarantine *q = rows->pdata[i];
		char *rules = quarantine_rules(st, q->id), *client = quarantine_client_domain(q);
		char *action = quarantine_action_state(st, q, NULL);
		if (json) {
			char *line = quarantine_json_line(q, client, rules, action, now);
			puts(line);
			g_free(line);
		} else {
			char *age = quarantine_age(now - q->created);
			char *sender = termtext_shown(q->sender, -1, -1),
			     *shown_client = termtext_shown(client, -1, -1);
			printf("%-5" G_GINT64_FORMAT " %-5s %-12s %-8s %-16s %-28s %-20s %5d  %-24s %s\n",
			       q->id, age, q->queue_id, q->state, q->host ? q->host : "-", sender,
			       shown_client, q->score, action ? action : "-", rules);
			g_free(age);
			g_free(sender);
			g_free(shown_client);
		}
		g_free(rules);
		g_free(client);
		g_free(action);
	}
	if (!json)
		printf("%u message(s)\n", rows->len);
	g_ptr_array_unref(rows);
	return 0;
}

/* The header section of RAW, unfolded, one header per line, each line
 * stripped of control characters. */
static void print_headers(const char *raw, size_t len)
{
	static const char *const shown[] = {
	    "From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To", "X-Apology-Check", NULL};
	GString *h = g_string_new(NULL);
	for (size_t i = 0; i < len; i++) {
		if (raw[i] == '\r')
			continue;
		if (raw[i] == '\n') {
			if (i + 1 < len && (raw[i + 1] == ' ' || raw[i + 1] == '\t'))
				continue;
			for (int k = 0; shown[k]; k++)
				if (g_ascii_strncasecmp(h->str, shown[k], strlen(shown[k])) == 0 &&
				    h->str[strlen(shown[k])] == ':') {
					char *line = termtext_shown(h->str, (gssize)h->len, -1);
					printf("  %s\n", line);
					g_free(line);
				}
			if (h->len == 0 || i + 1 >= len || raw[i + 1] == '\n' || raw[i + 1] == '\r')
				break;
			g_string_truncate(h, 0);
			continue;
		}
		g_string_append_c(h, raw[i] == '\t' ? ' ' : raw[i]);
	}
	g_string_free(h, TRUE);
}

static void print_complaint(struct store *st, const struct store_quarantine *q)
{
	struct store_complaint c;
	char *err = NULL;
	const char *ids[] = {q->complaint_ref};
	if (q->complaint_ref == NULL) {
		puts("complaint: none stored (the policy judged the reply by its quoted text)");
		return;
	}
	if (store_complaint_find(st, ids, 1, &c, &err) != STORE_FOUND) {
		char *ref = termtext_shown(q->complaint_ref, -1, -1);
		printf("complaint: <%s> (no longer in the store)\n", ref);
		g_free(ref);
		g_free(err);
		return;
	}
	char *when = units_format_time(c.received);
	char *delay = quarantine_age(q->created - c.received);
	char *id = termtext_shown(c.message_id, -1, -1), *domain = termtext_shown(c.client_domain, -1, -1);
	printf("complaint: <%s> from %s, %s, arrived %s, answered %s later\n", id, domain,
	       c.serious ? "serious" : "normal", when ? when : "?", delay);
	g_free(id);
	g_free(domain);
	g_free(when);
	g_free(delay);
	store_complaint_clear(&c);
}

/* The complaint as the daemon judged it and the text the reply quotes, as
 * the store keeps them (schema 12): no policy, no parsing. */
static void print_judged_complaint(const struct store_quarantine *q)
{
	if (!q->complaint_recorded) {
		puts("complaint as judged: not recorded for replies held before store schema 12");
		return;
	}
	if (q->complaint_detected) {
		char *sent = units_format_time(q->complaint_sent);
		printf("complaint as judged: %s, sent %s%s\n",
		       q->complaint_severity ? q->complaint_severity : "detected",
		       sent ? sent : "at an unknown time",
		       q->complaint_clear ? "" : ", not clear enough to hold (advised)");
		g_free(sent);
	} else {
		puts("complaint as judged: none detected");
	}
	if (q->complaint_text == NULL || *q->complaint_text == '\0') {
		puts("quoted complaint: the reply quotes no earlier message");
		return;
	}
	GString *out = g_string_new("quoted complaint (as the reply quotes it):\n  > ");
	size_t n = strlen(q->complaint_text);
	while (n > 0 && (q->complaint_text[n - 1] == '\n' || q->complaint_text[n - 1] == '\r'))
		n--;
	termtext_append_lines(out, q->complaint_text, (gssize)n, "\n  > ");
	puts(out->str);
	g_string_free(out, TRUE);
}

/* The new text as the store keeps it: no policy, no parsing. */
static void print_text(const struct store_quarantine *q, const GArray *findings)
{
	size_t len = 0;
	char *text = quarantine_new_text(q, &len);
	if (text == NULL) {
		puts("new text: not stored (held before the store kept it)");
	} else {
		puts("new text (findings marked [[...]]{n}):");
		GArray *spans = quarantine_spans(len, findings);
		GString *out = g_string_new("  | ");
		for (guint i = 0; i < spans->len; i++) {
			const struct text_span *s = &g_array_index(spans, struct text_span, i);
			if (s->finding >= 0)
				g_string_append(out, "[[");
			/* Line by line, each line break of the text (LF, CRLF, CR) as
			 * the next "  | " line. */
			for (size_t k = s->start, from = s->start; k <= s->end; k++) {
				if (k < s->end && text[k] != '\n' && text[k] != '\r')
					continue;
				termtext_append(out, text + from, (gssize)(k - from));
				if (k < s->end && !(text[k] == '\r' && k + 1 < len && text[k + 1] == '\n'))
					g_string_append(out, "\n  | ");
				from = k + 1;
			}
			if (s->finding >= 0)
				g_string_append_printf(out, "]]{%d}", s->finding + 1);
		}
		puts(out->str);
		g_string_free(out, TRUE);
		g_array_unref(spans);
	}
	g_free(text);
}

static void print_findings_and_trail(struct store *st, const struct store_quarantine *q,
                                     const GArray *findings)
{
	for (guint i = 0; i < findings->len; i++) {
		const struct store_finding *f = &g_array_index(findings, struct store_finding, i);
		char *excerpt = termtext_shown(f->excerpt, -1, -1);
		printf("{%u} %s [%s] line %u: \"%s\"\n    why:     %s\n    instead: %s\n", i + 1, f->rule,
		       f->severity, f->line, excerpt, f->principle ? f->principle : "",
		       f->advice ? f->advice : "");
		g_free(excerpt);
	}
	GArray *trail = g_array_new(FALSE, TRUE, sizeof(struct store_review));
	g_array_set_clear_func(trail, (GDestroyNotify)store_review_clear);
	char *err = NULL;
	if (!store_review_list(st, q->id, 0, trail, &err))
		g_free(err);
	puts(trail->len ? "audit trail:" : "audit trail: no decision yet");
	for (guint i = 0; i < trail->len; i++) {
		const struct store_review *r = &g_array_index(trail, struct store_review, i);
		char *at = units_format_time(r->at);
		char *reviewer = termtext_shown(r->reviewer, -1, -1), *note = termtext_shown(r->note, -1, -1);
		printf("  %s %s by %s%s%s\n", at ? at : "?", r->action, reviewer, r->note ? ": " : "", note);
		g_free(reviewer);
		g_free(note);
		g_free(at);
	}
	g_array_unref(trail);
}

static int cmd_show(struct store *st, int argc, char **argv)
{
	struct opts o = {0};
	if (!parse_opts(argc, argv, "", &o) || parse_id(o.id) == 0)
		return usage("show: expected one ID (the number list shows)");
	char *err = NULL;
	struct store_quarantine *q = quarantine_load(st, parse_id(o.id), &err);
	if (q == NULL) {
		fprintf(stderr, "apologyctl: %s\n", err ? err : "no such message");
		g_free(err);
		return err ? EX_UNAVAILABLE : EX_NOINPUT;
	}
	char *created = units_format_time(q->created);
	printf("message %" G_GINT64_FORMAT ": %s, queue id %s, %s %s on %s\n", q->id, q->state, q->queue_id,
	       quarantine_near_miss(q) ? "sent (a near miss kept for review)" : "held",
	       created ? created : "?", q->host ? q->host : "an unrecorded host");
	char *action = quarantine_action_state(st, q, NULL);
	if (action != NULL)
		printf("action: %s\n", action);
	g_free(action);
	char *sender = termtext_shown(q->sender, -1, -1), *recipients = termtext_shown(q->recipients, -1, -1);
	printf("from %s to %s\nverdict %s, score %d\nheaders:\n", sender, recipients, q->verdict, q->score);
	g_free(sender);
	g_free(recipients);
	if (q->raw)
		print_headers(q->raw, q->raw_len);
	print_complaint(st, q);
	print_judged_complaint(q);
	char *ferr = NULL;
	GArray *findings = quarantine_findings(st, q->id, &ferr);
	if (ferr) {
		fprintf(stderr, "apologyctl: the findings of %" G_GINT64_FORMAT " cannot be read: %s\n",
		        q->id, ferr);
		g_free(ferr);
	}
	print_text(q, findings);
	print_findings_and_trail(st, q, findings);
	g_array_unref(findings);
	g_free(created);
	store_quarantine_free(q);
	return 0;
}

/* Take the "--wrong RULE" pairs out of ARGV (*ARGC shrinks) into WRONG;
 * false when one lacks its RULE. */
static bool take_wrong(int *argc, char **argv, GPtrArray *wrong)
{
	int kept = 1;
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--wrong") != 0) {
			argv[kept++] = argv[i];
			continue;
		}
		if (i + 1 >= *argc || argv[i + 1][0] == '\0')
			return false;
		g_ptr_array_add(wrong, argv[++i]);
	}
	*argc = kept;
	return true;
}

/* A --wrong RULE that is not a rule of record ID's findings is a usage
 * error, said before anything is done; 0 when they all are (or the record
 * cannot be read: the decision then says why). */
static int check_wrong(struct store *st, gint64 id, const GPtrArray *wrong)
{
	char *err = NULL;
	GArray *findings = store_findings_new();
	int rc = 0;
	if (wrong->len > 0 && store_quarantine_findings(st, id, findings, &err) &&
	    !labels_check_wrong(findings, wrong, &err)) {
		char *msg = g_strdup_printf("--wrong: %s", err);
		rc = usage(msg);
		g_free(msg);
	}
	g_free(err);
	g_array_unref(findings);
	return rc;
}

/* STATUS, or the shell's status of the signal that interrupted the MTA
 * commands (128 + its number). */
static int interrupted_status(int status)
{
	int sig = holdqueue_interrupted();
	return sig ? 128 + sig : status;
}

static int cmd_decide(const struct review_config *cfg, struct store *st, int argc, char **argv,
                      enum review_action action)
{
	struct opts o = {0};
	GPtrArray *wrong = g_ptr_array_new();
	int rc = 0;
	if (!take_wrong(&argc, argv, wrong) || !parse_opts(argc, argv, "comment,", &o) || parse_id(o.id) == 0)
		rc = usage("expected an ID (the number list shows), at most --comment TEXT and\n"
		           "  --wrong RULE (repeatable)");
	else if (action == REVIEW_RETURN && (o.comment == NULL || *o.comment == '\0'))
		rc = usage("return: --comment TEXT is required (it is mailed to the author)");
	else
		rc = check_wrong(st, parse_id(o.id), wrong);
	if (rc != 0) {
		g_ptr_array_unref(wrong);
		return rc;
	}
	char *who = quarantine_whoami(), *err = NULL, *sent_to = NULL;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	holdqueue_catch_interrupts(); /* Ctrl-C stops the helper and undoes the claim */
	bool left_open = false;
	bool ok = quarantine_decide_open(cfg, st, parse_id(o.id), action, who, o.comment, wrong, now,
	                                 &sent_to, &left_open, &err);
	if (ok && sent_to != NULL)
		printf("message %s: %s by %s sent to host %s, whose agent carries it out\n", o.id,
		       review_action_name(action), who, sent_to);
	else if (ok)
		printf("message %s: %s by %s\n", o.id, review_action_name(action), who);
	else
		fprintf(stderr, "apologyctl: %s\n", err);
	for (guint i = 0; ok && i < wrong->len; i++)
		if (strcmp(wrong->pdata[i], LABEL_COMPLAINT) == 0)
			printf("  the thread marked as no complaint\n");
		else
			printf("  finding %s marked wrong\n", (const char *)wrong->pdata[i]);
	g_ptr_array_unref(wrong);
	g_free(sent_to);
	g_free(err);
	g_free(who);
	/* left open: done, recorded later; a temporary failure */
	return ok ? 0 : interrupted_status(left_open ? EX_TEMPFAIL : EX_UNAVAILABLE);
}

/* `quarantine judge ID complaint|none [--comment TEXT]` */
static int cmd_judge(struct store *st, int argc, char **argv)
{
	struct opts o = {0};
	/* ID and the verdict first; parse_opts() skips its argv[0], the verdict */
	bool complaint = argc >= 3 && strcmp(argv[2], "complaint") == 0;
	if (argc < 3 || parse_id(argv[1]) == 0 || (!complaint && strcmp(argv[2], "none") != 0) ||
	    !parse_opts(argc - 2, argv + 2, "comment,", &o) || o.id != NULL)
		return usage("judge: expected an ID (list --state sampled shows them), complaint or none,\n"
		             "  and at most --comment TEXT");
	char *who = quarantine_whoami(), *err = NULL;
	bool ok = quarantine_judge(st, parse_id(argv[1]), complaint, who, o.comment,
	                           g_get_real_time() / G_USEC_PER_SEC, &err);
	if (ok)
		printf("message %s: judged %s by %s\n", argv[1],
		       complaint ? "a complaint the filter missed" : "no complaint", who);
	else
		fprintf(stderr, "apologyctl: %s\n", err);
	g_free(err);
	g_free(who);
	return ok ? 0 : EX_UNAVAILABLE;
}

static int cmd_forget(const struct review_config *cfg, struct store *st, int argc, char **argv)
{
	struct opts o = {0};
	if (!parse_opts(argc, argv, "comment,", &o) || parse_id(o.id) == 0)
		return usage("forget: expected an ID (the number list shows) and at most --comment TEXT");
	char *who = quarantine_whoami(), *err = NULL, *where = NULL;
	bool ok = quarantine_forget(cfg, st, parse_id(o.id), who, o.comment,
	                            g_get_real_time() / G_USEC_PER_SEC, &where, &err);
	if (ok)
		printf("message %s: gone (%s), recorded by %s\n", o.id, where, who);
	else
		fprintf(stderr, "apologyctl: %s\n", err);
	g_free(where);
	g_free(err);
	g_free(who);
	return ok ? 0 : EX_UNAVAILABLE;
}

static int cmd_expire(const struct review_config *cfg, struct store *st, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return usage("expire takes no arguments");
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	struct store_query query = {.state = "held", .created_before = now - cfg->expire_after};
	GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	char *err = NULL, *who = quarantine_whoami();
	int failed = 0, elsewhere = 0, left = 0;
	if (!store_quarantine_list(st, &query, rows, &err)) {
		fprintf(stderr, "apologyctl: %s\n", err);
		g_free(err);
		failed = 1;
	}
	holdqueue_catch_interrupts();
	for (guint i = 0; i < rows->len && !holdqueue_interrupted(); i++) {
		const struct store_quarantine *q = rows->pdata[i];
		if (quarantine_elsewhere(cfg, q)) { /* its own host's expire acts on it */
			elsewhere++;
			continue;
		}
		char *limit = quarantine_age(cfg->expire_after);
		char *note = g_strdup_printf("held longer than %s", limit);
		g_free(limit);
		bool left_open = false;
		if (quarantine_decide_open(cfg, st, q->id, REVIEW_EXPIRE, who, note, NULL, now, NULL,
		                           &left_open, &err)) {
			printf("message %" G_GINT64_FORMAT ": expired (%s)\n", q->id,
			       cfg->expire_action == EXPIRE_RELEASE ? "released" : "returned");
		} else {
			fprintf(stderr, "apologyctl: %s\n", err);
			g_free(err);
			err = NULL;
			if (left_open)
				left++;
			else
				failed++;
		}
		g_free(note);
	}
	printf("expire: %u message(s) past %" G_GINT64_FORMAT "s, %d failed", rows->len, cfg->expire_after,
	       failed);
	if (left > 0)
		printf(", %d left open (finished after agent-lease)", left);
	if (elsewhere > 0)
		printf(", %d held on other hosts left to them", elsewhere);
	if (holdqueue_interrupted())
		printf("; interrupted, the rest left held");
	printf("\n");
	g_ptr_array_unref(rows);
	g_free(who);
	return interrupted_status(failed ? EX_UNAVAILABLE : left ? EX_TEMPFAIL : 0);
}

static volatile sig_atomic_t agent_stop;

static void agent_signal(int sig)
{
	(void)sig;
	agent_stop = 1;
}

/* `quarantine agent [--once]`: carry out the actions addressed to this host
 * every agent-interval until SIGTERM or SIGINT (with --once: what waits
 * now, then exit); the actions themselves through holds/quarantine.c. */
static int cmd_agent(const struct review_config *cfg, struct store *st, int argc, char **argv)
{
	bool once = argc == 2 && strcmp(argv[1], "--once") == 0;
	if (argc > 2 || (argc == 2 && !once))
		return usage("agent takes only --once");
	struct sigaction sa = {.sa_handler = agent_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	int failures = 0;
	while (!agent_stop) {
		GString *report = g_string_new(NULL);
		char *err = NULL;
		int n = quarantine_agent_once(cfg, st, g_get_real_time() / G_USEC_PER_SEC, report, &err);
		fputs(report->str, stdout);
		fflush(stdout);
		g_string_free(report, TRUE);
		if (n < 0) { /* the store is away: try again at the next look */
			fprintf(stderr, "apologyctl: agent: %s\n", err);
			g_free(err);
			failures++;
		}
		if (once)
			break;
		for (gint64 slept = 0; slept < cfg->agent_interval && !agent_stop; slept++)
			g_usleep(G_USEC_PER_SEC);
	}
	return once && failures ? EX_UNAVAILABLE : 0;
}

/* reconcile works without a store too (ST NULL, STORE_ERR why): every
 * message in the hold queue is then one without a record, shown with what
 * the daemon's spool says about it, so that reviewers still see them. */
static int cmd_reconcile(const struct review_config *cfg, struct store *st, const char *store_err, int argc,
                         char **argv)
{
	(void)argv;
	if (argc != 1)
		return usage("reconcile takes no arguments");
	char *err = NULL;
	/* The hold queue, then the spool, then the store: a hold's record is
	 * spooled or stored before its message is held, and a record a replay
	 * moves from the spool to the store meanwhile is seen at least once. */
	GHashTable *queue = quarantine_mta_queue(cfg, &err);
	GPtrArray *spooled = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	unsigned waiting = 0;
	char *spool_err = NULL;
	if (queue != NULL && *cfg->spool_dir && !spool_read(cfg->spool_dir, &waiting, spooled, &spool_err)) {
		fprintf(stderr, "apologyctl: %s (records the daemon spooled are not shown)\n", spool_err);
		g_free(spool_err);
	}
	struct store_query query = {.state = "held"};
	GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	if (queue == NULL || (st != NULL && !store_quarantine_list(st, &query, rows, &err))) {
		fprintf(stderr, "apologyctl: %s\n", err);
		g_free(err);
		if (queue)
			g_hash_table_unref(queue);
		g_ptr_array_unref(rows);
		g_ptr_array_unref(spooled);
		return EX_UNAVAILABLE;
	}
	if (st == NULL)
		printf(
		    "store unavailable: %s; every message in the hold queue is listed as having no record\n",
		    store_err);
	/* On a store several hosts share, only this host's records are in its
	 * hold queue. */
	holdqueue_keep_host(rows, hostname_or_system(cfg->host_name));
	GString *report = g_string_new(NULL);
	unsigned mismatches = quarantine_reconcile(queue, st ? rows : NULL, spooled, report);
	fputs(report->str, stdout);
	printf("reconcile: %u held record(s), %u mismatch(es)", rows->len, mismatches);
	if (waiting > 0)
		printf(", %u record(s) in the daemon's spool waiting for the store", waiting);
	printf("\n");
	g_string_free(report, TRUE);
	g_ptr_array_unref(spooled);
	g_hash_table_unref(queue);
	g_ptr_array_unref(rows);
	return st == NULL ? EX_UNAVAILABLE : mismatches ? 1 : 0;
}

int quarantine_main(int argc, char **argv)
{
	struct review_config cfg;
	int next = 0;
	review_config_init(&cfg);
	int rc = review_config_from_args(&cfg, argc, argv, &next);
	if (rc != 0 || next >= argc) {
		review_config_clear(&cfg);
		return rc ? rc : usage(NULL);
	}
	const char *cmd = argv[next];
	argc -= next;
	argv += next;
	char *err = NULL;
	struct store *st = review_config_open_store(&cfg, &err);
	if (st == NULL && strcmp(cmd, "reconcile") == 0) {
		rc = cmd_reconcile(&cfg, NULL, err, argc, argv);
		g_free(err);
		review_config_clear(&cfg);
		return rc;
	}
	if (st == NULL) {
		fprintf(stderr, "apologyctl: %s\n", err);
		g_free(err);
		review_config_clear(&cfg);
		return EX_UNAVAILABLE;
	}
	notify_init();
	rc = strcmp(cmd, "list") == 0        ? cmd_list(&cfg, st, argc, argv)
	     : strcmp(cmd, "show") == 0      ? cmd_show(st, argc, argv)
	     : strcmp(cmd, "release") == 0   ? cmd_decide(&cfg, st, argc, argv, REVIEW_RELEASE)
	     : strcmp(cmd, "discard") == 0   ? cmd_decide(&cfg, st, argc, argv, REVIEW_DISCARD)
	     : strcmp(cmd, "return") == 0    ? cmd_decide(&cfg, st, argc, argv, REVIEW_RETURN)
	     : strcmp(cmd, "judge") == 0     ? cmd_judge(st, argc, argv)
	     : strcmp(cmd, "expire") == 0    ? cmd_expire(&cfg, st, argc, argv)
	     : strcmp(cmd, "reconcile") == 0 ? cmd_reconcile(&cfg, st, NULL, argc, argv)
	     : strcmp(cmd, "forget") == 0    ? cmd_forget(&cfg, st, argc, argv)
	     : strcmp(cmd, "agent") == 0     ? cmd_agent(&cfg, st, argc, argv)
	                                     : usage("unknown command");
	notify_cleanup();
	store_close(st);
	review_config_clear(&cfg);
	return rc;
}
