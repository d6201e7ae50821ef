/*
 * labeling.c - reviewers' decisions as labels; see labeling.h for what each
 * decision says about the rules on a reply.
 */
#include <string.h>

#include "labeling.h"

static bool has_rule(const GArray *findings, const char *rule)
{
	for (guint i = 0; findings && i < findings->len; i++)
		if (g_strcmp0(g_array_index(findings, struct store_finding, i).rule, rule) == 0)
			return true;
	return false;
}

static bool is_marked(const GPtrArray *wrong, const char *rule)
{
	for (guint i = 0; wrong && i < wrong->len; i++)
		if (g_strcmp0(wrong->pdata[i], rule) == 0)
			return true;
	return false;
}

bool labels_check_wrong(const GArray *findings, const GPtrArray *wrong, char **err)
{
	for (guint i = 0; wrong && i < wrong->len; i++) {
		if (has_rule(findings, wrong->pdata[i]) || strcmp(wrong->pdata[i], LABEL_COMPLAINT) == 0)
			continue;
		char *rules = store_findings_rules(findings);
		*err = g_strdup_printf("\"%s\" is not a rule of this reply's findings (they are: %s;"
		                       " \"" LABEL_COMPLAINT "\" says the thread is no complaint)",
		                       (const char *)wrong->pdata[i], *rules ? rules : "none");
		g_free(rules);
		return false;
	}
	return true;
}

/* The excerpt of the complaint's label: the start of TEXT, at most
 * COMPLAINT_EXCERPT characters, its runs of white space made one space. */
#define COMPLAINT_EXCERPT 120
static char *complaint_excerpt(const char *text)
{
	if (text == NULL)
		return NULL;
	char *valid = g_utf8_make_valid(text, -1);
	GString *out = g_string_new(NULL);
	glong n = 0;
	for (const char *c = valid; *c && n < COMPLAINT_EXCERPT; c = g_utf8_next_char(c)) {
		gunichar u = g_utf8_get_char(c);
		if (!g_unichar_isspace(u)) {
			g_string_append_unichar(out, u);
			n++;
		} else if (out->len > 0 && out->str[out->len - 1] != ' ') {
			g_string_append_c(out, ' ');
			n++;
		}
	}
	g_free(valid);
	return g_string_free(out, FALSE);
}

static void add_label(GArray *labels, gint64 id, const char *rule, bool wrong, const char *action,
                      const char *who, char *excerpt, gint64 at)
{
	struct store_label l = {
	    .quarantine_id = id,
	    .rule = g_strdup(rule),
	    .verdict = g_strdup(wrong ? "wrong" : "right"),
	    .action = g_strdup(action),
	    .reviewer = g_strdup(who),
	    .excerpt = excerpt,
	    .at = at,
	};
	g_array_append_val(labels, l);
}

GArray *labels_for_decision(gint64 id, const GArray *findings, const char *action, const GPtrArray *wrong,
                            const char *complaint_text, const char *who, gint64 at)
{
	GArray *labels = store_labels_new();
	bool release = g_strcmp0(action, "release") == 0;
	if (!release && g_strcmp0(action, "return") != 0 && g_strcmp0(action, "discard") != 0)
		return labels;
	bool no_complaint = is_marked(wrong, LABEL_COMPLAINT);
	guint rules_marked = 0;
	for (guint i = 0; wrong && i < wrong->len; i++)
		rules_marked += strcmp(wrong->pdata[i], LABEL_COMPLAINT) != 0;
	/* A release that says only "no complaint" judged no finding. */
	bool rules_judged = !(release && no_complaint && rules_marked == 0);
	for (guint i = 0; rules_judged && findings && i < findings->len; i++) {
		const struct store_finding *f = &g_array_index(findings, struct store_finding, i);
		bool seen = f->rule == NULL;
		for (guint k = 0; k < labels->len && !seen; k++)
			seen = strcmp(g_array_index(labels, struct store_label, k).rule, f->rule) == 0;
		if (seen)
			continue;
		bool is_wrong = is_marked(wrong, f->rule) || (release && rules_marked == 0);
		add_label(labels, id, f->rule, is_wrong, action, who, g_strdup(f->excerpt), at);
	}
	/* A release with nothing marked says the hold was wrong, not why. */
	if (no_complaint || !release || rules_marked > 0)
		add_label(labels, id, LABEL_COMPLAINT, no_complaint, action, who,
		          complaint_excerpt(complaint_text), at);
	return labels;
}

GArray *labels_for_judgement(gint64 id, bool complaint, const char *complaint_text, const char *who,
                             gint64 at)
{
	GArray *labels = store_labels_new();
	add_label(labels, id, LABEL_NEAR_MISS, complaint, "judge", who, complaint_excerpt(complaint_text),
	          at);
	return labels;
}

bool labels_about_gate(const char *label)
{
	return g_strcmp0(label, LABEL_COMPLAINT) == 0 || g_strcmp0(label, LABEL_NEAR_MISS) == 0;
}

char *labels_precision_text(const struct store_precision *p)
{
	if (p->right + p->wrong == 0)
		return g_strdup("-");
	return g_strdup_printf("%.2f", (double)p->right / (double)(p->right + p->wrong));
}

/* An excerpt comes from mail: made valid UTF-8 before GLib's escaper, which
 * may read past the end of a string that is not. */
static void append_escaped(GString *out, const char *s)
{
	char *valid = g_utf8_make_valid(s ? s : "", -1);
	char *e = g_markup_escape_text(valid, -1);
	g_string_append(out, e);
	g_free(e);
	g_free(valid);
}

void labels_precision_html(GString *out, const GArray *precisions, unsigned top)
{
	g_string_append(out, "<h2>Precision of each rule as judged by reviewers</h2>"
	                     "<table id=\"precision\"><tr><th>Rule</th><th>Right</th><th>Wrong</th>"
	                     "<th>Precision</th></tr>");
	for (guint i = 0; i < precisions->len; i++) {
		const struct store_precision *p = &g_array_index(precisions, struct store_precision, i);
		char *prec = labels_precision_text(p);
		g_string_append(out, "<tr><td class=\"rule\">");
		append_escaped(out, p->rule);
		g_string_append_printf(out,
		                       "</td><td class=\"right\">%" G_GINT64_FORMAT
		                       "</td><td class=\"wrong\">%" G_GINT64_FORMAT
		                       "</td><td class=\"prec\">%s</td></tr>",
		                       p->right, p->wrong, prec);
		g_free(prec);
	}
	if (precisions->len == 0)
		g_string_append(out, "<tr><td colspan=\"4\">no reviewed replies in this period</td></tr>");
	g_string_append(out, "</table><h2>Rules most often marked wrong</h2><ol id=\"most-wrong\">");
	for (guint i = 0, shown = 0; i < precisions->len && shown < top; i++) {
		const struct store_precision *p = &g_array_index(precisions, struct store_precision, i);
		if (p->wrong == 0)
			break; /* most often wrong first: the rest were never wrong */
		if (labels_about_gate(p->rule))
			continue;
		shown++;
		g_string_append(out, "<li data-rule=\"");
		append_escaped(out, p->rule);
		g_string_append(out, "\"><strong>");
		append_escaped(out, p->rule);
		g_string_append_printf(out, "</strong>: wrong %" G_GINT64_FORMAT " time(s)", p->wrong);
		if (p->example != NULL) {
			g_string_append(out, ", e.g. <q class=\"example\">");
			append_escaped(out, p->example);
			g_string_append(out, "</q>");
		}
		g_string_append(out, "</li>");
	}
	g_string_append(out, "</ol>");
}
