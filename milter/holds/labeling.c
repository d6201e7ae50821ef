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
		if (has_rule(findings, wrong->pdata[i]))
			continue;
		char *rules = store_findings_rules(findings);
		*err = g_strdup_printf("\"%s\" is not a rule of this reply's findings (they are: %s)",
		                       (const char *)wrong->pdata[i], *rules ? rules : "none");
		g_free(rules);
		return false;
	}
	return true;
}

GArray *labels_for_decision(gint64 id, const GArray *findings, const char *action, const GPtrArray *wrong,
                            const char *who, gint64 at)
{
	GArray *labels = store_labels_new();
	bool release = g_strcmp0(action, "release") == 0;
	if (!release && g_strcmp0(action, "return") != 0 && g_strcmp0(action, "discard") != 0)
		return labels;
	bool none_marked = wrong == NULL || wrong->len == 0;
	for (guint i = 0; findings && i < findings->len; i++) {
		const struct store_finding *f = &g_array_index(findings, struct store_finding, i);
		bool seen = f->rule == NULL;
		for (guint k = 0; k < labels->len && !seen; k++)
			seen = strcmp(g_array_index(labels, struct store_label, k).rule, f->rule) == 0;
		if (seen)
			continue;
		bool is_wrong = is_marked(wrong, f->rule) || (release && none_marked);
		struct store_label l = {
		    .quarantine_id = id,
		    .rule = g_strdup(f->rule),
		    .verdict = g_strdup(is_wrong ? "wrong" : "right"),
		    .action = g_strdup(action),
		    .reviewer = g_strdup(who),
		    .excerpt = g_strdup(f->excerpt),
		    .at = at,
		};
		g_array_append_val(labels, l);
	}
	return labels;
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
