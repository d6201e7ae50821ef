/*
 * report.c - `apologyctl report [--since 7d] [--format text|json|html]`:
 * what the milter held, in `mode: monitor` would have held, and advised, per
 * week, per rule and per sender (store_stats, store_monitor_stats, the
 * advise decisions of store_decisions_list), and each
 * rule's precision as reviewers judged it (store_label_precision), with the
 * rules most often marked wrong and an example of each.  The html format is
 * one self-contained page (no script, no outside resource), every value
 * escaped.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "ctl.h"
#include "decisions.h"
#include "html.h"
#include "labeling.h"
#include "render.h"
#include "review_config.h"
#include "store.h"
#include "units.h"

#define REPORT_TOP_WRONG 10

static const char usage_text[] =
    "usage: apologyctl report [-c FILE] [-o key=value]... [--since DATE|DURATION]\n"
    "                         [--format text|json|html]\n"
    "  what was held, what monitor mode would have held and what was advised, per week,\n"
    "  rule and sender,\n"
    "  and each rule's precision as reviewers judged it (right / (right + wrong))\n"
    "  --since   from then on: a duration back from now such as 7d (the default),\n"
    "            YYYY-MM-DD or an RFC 3339 time\n"
    "  --format  text (default), json (one object) or html (a self-contained page)\n";

static int usage(const char *msg)
{
	return ctl_review_usage("report", usage_text, msg);
}

static const struct {
	enum store_stat what;
	const char *key, *title;
} dimensions[] = {
    {STORE_STAT_WEEK, "week", "per week"},
    {STORE_STAT_RULE, "rule", "per rule"},
    {STORE_STAT_SENDER, "sender", "per sender"},
};
#define N_DIMS G_N_ELEMENTS(dimensions)

static const struct {
	const char *key, *title;
} kinds[] = {
    {"held", "Held"},
    {"monitor", "Would have been held (monitor mode)"},
    {"advised", "Advised"},
};
#define N_KINDS G_N_ELEMENTS(kinds)

struct report {
	gint64 since;
	GArray *counts[N_KINDS][N_DIMS]; /* [held, monitor, advised][dimension] of struct store_count */
	GArray *precision;               /* struct store_precision */
};

static bool report_read(struct store *st, struct report *r, char **err)
{
	GArray *advised = store_decisions_new();
	bool ok = store_decisions_list(st, r->since, "advise", advised, err);
	for (size_t k = 0; k < N_KINDS; k++)
		for (size_t d = 0; d < N_DIMS; d++) {
			r->counts[k][d] = store_counts_new();
			if (ok && k == 0)
				ok = store_stats(st, dimensions[d].what, r->since, 0, r->counts[k][d], err);
			else if (ok && k == 1)
				ok = store_monitor_stats(st, dimensions[d].what, r->since, 0, r->counts[k][d],
				                         err);
			else if (ok)
				decisions_count(advised, dimensions[d].what, r->counts[k][d]);
		}
	g_array_unref(advised);
	r->precision = store_precisions_new();
	return ok && store_label_precision(st, r->since, r->precision, err);
}

static void report_clear(struct report *r)
{
	for (size_t k = 0; k < N_KINDS; k++)
		for (size_t d = 0; d < N_DIMS; d++)
			if (r->counts[k][d])
				g_array_unref(r->counts[k][d]);
	if (r->precision)
		g_array_unref(r->precision);
}

/* The number of records: the sum over the weeks. */
static gint64 total(const GArray *weeks)
{
	gint64 n = 0;
	for (guint i = 0; i < weeks->len; i++)
		n += g_array_index(weeks, struct store_count, i).n;
	return n;
}

/* ---- text ------------------------------------------------------------- */

static void print_text(const struct report *r)
{
	char *since = units_format_time(r->since);
	printf("report since %s\n", since ? since : "?");
	g_free(since);
	for (size_t k = 0; k < N_KINDS; k++) {
		printf("\n%s: %" G_GINT64_FORMAT " message(s)\n", kinds[k].title, total(r->counts[k][0]));
		for (size_t d = 0; d < N_DIMS; d++) {
			const GArray *c = r->counts[k][d];
			printf("  %s:%s\n", dimensions[d].title, c->len ? "" : " none");
			for (guint i = 0; i < c->len; i++) {
				const struct store_count *e = &g_array_index(c, struct store_count, i);
				printf("    %-36s %6" G_GINT64_FORMAT "\n", e->key, e->n);
			}
		}
	}
	printf("\nPrecision of each rule as judged by reviewers:%s\n",
	       r->precision->len ? "" : " no reviewed replies in this period");
	if (r->precision->len)
		printf("  %-28s %6s %6s %9s\n", "RULE", "RIGHT", "WRONG", "PRECISION");
	for (guint i = 0; i < r->precision->len; i++) {
		const struct store_precision *p = &g_array_index(r->precision, struct store_precision, i);
		char *prec = labels_precision_text(p);
		printf("  %-28s %6" G_GINT64_FORMAT " %6" G_GINT64_FORMAT " %9s\n", p->rule, p->right,
		       p->wrong, prec);
		g_free(prec);
	}
	puts("\nRules most often marked wrong:");
	unsigned shown = 0;
	for (guint i = 0; i < r->precision->len && shown < REPORT_TOP_WRONG; i++) {
		const struct store_precision *p = &g_array_index(r->precision, struct store_precision, i);
		if (p->wrong == 0)
			break;
		if (labels_about_gate(p->rule)) /* the gate's, not a rule's */
			continue;
		shown++;
		printf("  %s: wrong %" G_GINT64_FORMAT " time(s)%s%s%s\n", p->rule, p->wrong,
		       p->example ? ", e.g. \"" : "", p->example ? p->example : "", p->example ? "\"" : "");
	}
	if (shown == 0)
		puts("  none");
}

/* ---- json ------------------------------------------------------------- */

/* The members "total" and one array per dimension of the counts of kind K,
 * in the object BUILDER has open. */
static void json_counts(JsonBuilder *b, const struct report *r, size_t k)
{
	ctl_json_member_int(b, "total", total(r->counts[k][0]));
	for (size_t d = 0; d < N_DIMS; d++) {
		const GArray *c = r->counts[k][d];
		json_builder_set_member_name(b, dimensions[d].key);
		json_builder_begin_array(b);
		for (guint i = 0; i < c->len; i++) {
			const struct store_count *e = &g_array_index(c, struct store_count, i);
			json_builder_begin_object(b);
			ctl_json_member_string(b, "key", e->key);
			ctl_json_member_int(b, "n", e->n);
			json_builder_end_object(b);
		}
		json_builder_end_array(b);
	}
}

/* One rule's precision: right / (right + wrong) as a number, null when
 * nothing was judged. */
static void json_precision(JsonBuilder *b, const struct store_precision *p)
{
	json_builder_begin_object(b);
	ctl_json_member_string(b, "rule", p->rule);
	ctl_json_member_int(b, "right", p->right);
	ctl_json_member_int(b, "wrong", p->wrong);
	json_builder_set_member_name(b, "precision");
	if (p->right + p->wrong == 0)
		json_builder_add_null_value(b);
	else
		json_builder_add_double_value(b, (double)p->right / (double)(p->right + p->wrong));
	ctl_json_member_string(b, "example", p->example);
	json_builder_end_object(b);
}

static void print_json(const struct report *r)
{
	JsonBuilder *b = json_builder_new();
	json_builder_begin_object(b);
	char *since = units_format_time(r->since);
	ctl_json_member_string(b, "since", since ? since : "");
	g_free(since);
	for (size_t k = 0; k < N_KINDS; k++) {
		json_builder_set_member_name(b, kinds[k].key);
		json_builder_begin_object(b);
		json_counts(b, r, k);
		json_builder_end_object(b);
	}
	json_builder_set_member_name(b, "precision");
	json_builder_begin_array(b);
	for (guint i = 0; i < r->precision->len; i++)
		json_precision(b, &g_array_index(r->precision, struct store_precision, i));
	json_builder_end_array(b);
	json_builder_end_object(b);
	char *text = ctl_json_text(b);
	puts(text);
	g_free(text);
	g_object_unref(b);
}

/* ---- html ------------------------------------------------------------- */

static void print_html(const struct report *r)
{
	GString *o = g_string_new(NULL);
	char *since = units_format_time(r->since);
	html_append(o,
	            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
	            "<title>apology-milter report since %s</title><style>"
	            "body{font:15px/1.45 system-ui,sans-serif;margin:1em 2em;color:#1d2430}"
	            "table{border-collapse:collapse;margin:.5em 0 1.2em}td,th{padding:.3em .7em;"
	            "border-bottom:1px solid #dde;text-align:left}td.n{text-align:right}"
	            "q.example{background:#fde2e2}</style></head><body>"
	            "<h1>apology-milter report since %s</h1>",
	            since ? since : "?", since ? since : "?");
	g_free(since);
	for (size_t k = 0; k < N_KINDS; k++) {
		html_append(o, "<section id=\"%s\"><h2>%s: %" G_GINT64_FORMAT " message(s)</h2>",
		            kinds[k].key, kinds[k].title, total(r->counts[k][0]));
		for (size_t d = 0; d < N_DIMS; d++) {
			const GArray *c = r->counts[k][d];
			html_append(o, "<h3>%s</h3><table class=\"%s\"><tr><th>%s</th><th>Messages</th></tr>",
			            dimensions[d].title, dimensions[d].key, dimensions[d].key);
			for (guint i = 0; i < c->len; i++) {
				const struct store_count *e = &g_array_index(c, struct store_count, i);
				/* a sender comes from mail: not always UTF-8 */
				char *key = g_utf8_make_valid(e->key ? e->key : "", -1);
				html_append(o,
				            "<tr><td>%s</td><td class=\"n\">%" G_GINT64_FORMAT "</td></tr>",
				            key, e->n);
				g_free(key);
			}
			if (c->len == 0)
				g_string_append(o, "<tr><td colspan=\"2\">none</td></tr>");
			g_string_append(o, "</table>");
		}
		g_string_append(o, "</section>");
	}
	labels_precision_html(o, r->precision, REPORT_TOP_WRONG);
	g_string_append(o, "</body></html>\n");
	fputs(o->str, stdout);
	g_string_free(o, TRUE);
}

struct report_args {
	struct report r;
	const char *format;
};

static int run_report(const struct review_config *cfg, struct store *st, void *data)
{
	(void)cfg;
	struct report_args *a = data;
	char *err = NULL;
	if (!report_read(st, &a->r, &err)) {
		fprintf(stderr, "apologyctl: %s\n", err);
		g_free(err);
		return EX_UNAVAILABLE;
	}
	if (strcmp(a->format, "json") == 0)
		print_json(&a->r);
	else if (strcmp(a->format, "html") == 0)
		print_html(&a->r);
	else
		print_text(&a->r);
	return 0;
}

int report_main(int argc, char **argv)
{
	struct review_config cfg;
	int next = 0;
	review_config_init(&cfg);
	int rc = review_config_from_args(&cfg, argc, argv, &next);
	const char *since_arg = "7d";
	struct report_args a = {.format = "text"};
	if (rc == 0 && next < argc &&
	    (strcmp(argv[next], "--help") == 0 || strcmp(argv[next], "help") == 0)) {
		fputs(usage_text, stdout);
		review_config_clear(&cfg);
		return 0;
	}
	for (int i = next; rc == 0 && i < argc; i += 2) {
		const char **dst = strcmp(argv[i], "--since") == 0    ? &since_arg
		                   : strcmp(argv[i], "--format") == 0 ? &a.format
		                                                      : NULL;
		if (dst == NULL || i + 1 >= argc)
			rc = usage("unknown option or argument");
		else
			*dst = argv[i + 1];
	}
	if (rc == 0 && !ctl_parse_since(since_arg, g_get_real_time() / G_USEC_PER_SEC, &a.r.since))
		rc = usage("--since expects a duration such as 7d, YYYY-MM-DD or an RFC 3339 time");
	if (rc == 0 && strcmp(a.format, "text") != 0 && strcmp(a.format, "json") != 0 &&
	    strcmp(a.format, "html") != 0)
		rc = usage("--format is text, json or html");
	rc = ctl_with_store(&cfg, rc, run_report, &a);
	report_clear(&a.r);
	review_config_clear(&cfg);
	return rc;
}
