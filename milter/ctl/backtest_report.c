/*
 * backtest_report.c - what `apologyctl backtest` shows (see backtest.h): the
 * summary table on standard output, what changes against --against, and
 * with --report DIR the file results.jsonl (check's JSON per message, in the
 * archive's order) and index.html: one self-contained page, no script and
 * nothing fetched (a Content-Security-Policy says so), inline SVG charts,
 * and the held and advised replies with their findings marked as on the
 * review page (quarantine_spans()).  Every text from mail is escaped.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "backtest.h"
#include "policy.h"
#include "quarantine.h"
#include "render.h"
#include "store.h"
#include "termtext.h"
#include "units.h"

static const char *const verdict_names[4] = {"pass", "advise", "hold", "unchecked"};

/* ---- the summary ------------------------------------------------------------ */

static gint compare_strings(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of T (strings), sorted. */
static GPtrArray *sorted_keys(GHashTable *t)
{
	GPtrArray *keys = g_ptr_array_new();
	GHashTableIter it;
	gpointer k;
	g_hash_table_iter_init(&it, t);
	while (g_hash_table_iter_next(&it, &k, NULL))
		g_ptr_array_add(keys, k);
	g_ptr_array_sort(keys, compare_strings);
	return keys;
}

static void counts_row(FILE *out, int width, const char *label, const struct bt_counts *c)
{
	gint64 total = c->n[0] + c->n[1] + c->n[2] + c->n[3];
	fprintf(out,
	        "  %-*s %7" G_GINT64_FORMAT " %7" G_GINT64_FORMAT " %7" G_GINT64_FORMAT " %7" G_GINT64_FORMAT
	        " %9" G_GINT64_FORMAT "\n",
	        width, label, total, c->n[0], c->n[1], c->n[2], c->n[3]);
}

static void summary_policy(const struct bt_run *run, int p, FILE *out)
{
	const struct bt_stats *s = &run->stats[p];
	GPtrArray *senders = sorted_keys(s->per_sender);
	int width = 36;
	for (guint i = 0; i < senders->len; i++)
		width = MAX(width, (int)strlen(senders->pdata[i]));
	fprintf(out, "\n%-*s %7s %7s %7s %7s %9s\n", width + 2, "verdicts", "judged", "pass", "advise",
	        "hold", "unchecked");
	counts_row(out, width, "all", &s->all);
	fprintf(out, "per sender\n");
	for (guint i = 0; i < senders->len; i++)
		counts_row(out, width, *(const char *)senders->pdata[i] ? senders->pdata[i] : "(no From)",
		           g_hash_table_lookup(s->per_sender, senders->pdata[i]));
	g_ptr_array_unref(senders);
	fprintf(out, "\n%-38s %7s %10s\n", "per rule (messages)", "held", "advised");
	for (int r = 0; r < RULE_COUNT; r++)
		if (s->rule_hold[r] || s->rule_advise[r])
			fprintf(out, "  %-36s %7" G_GINT64_FORMAT " %10" G_GINT64_FORMAT "\n",
			        rule_name((enum rule_id)r), s->rule_hold[r], s->rule_advise[r]);
	if (g_hash_table_size(s->unchecked) == 0)
		return;
	fprintf(out, "\n%-38s %7s\n", "unchecked", "count");
	GPtrArray *reasons = sorted_keys(s->unchecked);
	for (guint i = 0; i < reasons->len; i++)
		fprintf(out, "  %-36s %7d\n", (const char *)reasons->pdata[i],
		        GPOINTER_TO_INT(g_hash_table_lookup(s->unchecked, reasons->pdata[i])));
	g_ptr_array_unref(reasons);
}

static gint compare_unchecked(gconstpointer a, gconstpointer b)
{
	guint32 x = ((const struct bt_unchecked *)a)->item, y = ((const struct bt_unchecked *)b)->item;
	return x < y ? -1 : x > y;
}

/* The first unchecked messages by name, in the archive's order. */
static void summary_unchecked(const struct bt_run *run, FILE *out)
{
	GArray *items = g_array_copy(run->unchecked_items);
	g_array_sort(items, compare_unchecked);
	fprintf(out, "  the first, in the archive's order:\n");
	for (guint i = 0; i < items->len && i < 20; i++) {
		const struct bt_unchecked *u = &g_array_index(items, struct bt_unchecked, i);
		const struct bt_item *it = &g_array_index(run->items, struct bt_item, u->item);
		char *where = bt_item_place(run, it);
		char *place = termtext_shown(where, -1, -1), *id = termtext_shown(it->message_id, -1, -1),
		     *reason = termtext_shown(u->reason, -1, -1);
		fprintf(out, "    %s%s%s%s: %s\n", place, *id ? " <" : "", id, *id ? ">" : "", reason);
		g_free(where);
		g_free(place);
		g_free(id);
		g_free(reason);
	}
	if (items->len > 20)
		fprintf(out, "    ... and %u more (results.jsonl names them all)\n", items->len - 20);
	g_array_free(items, TRUE);
}

static void summary_changes(const struct bt_run *run, FILE *out)
{
	gint64 changed = 0;
	for (int a = 0; a < 4; a++)
		for (int b = 0; b < 4; b++)
			changed += run->changes[a][b];
	fprintf(out, "\nagainst %s: %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " messages change verdict\n",
	        run->policy_path[BT_OLD], changed, run->judged);
	for (int a = 0; a < 4; a++)
		for (int b = 0; b < 4; b++)
			if (run->changes[a][b])
				fprintf(out, "  %-9s -> %-9s %7" G_GINT64_FORMAT "\n", verdict_names[a],
				        verdict_names[b], run->changes[a][b]);
	if (changed == 0)
		return;
	fprintf(out, "  %-24s %7s %7s   (rules on the messages that change)\n", "by rule", "gained", "lost");
	for (int r = 0; r < RULE_COUNT; r++)
		if (run->rule_added[r] || run->rule_removed[r])
			fprintf(out, "  %-24s %7" G_GINT64_FORMAT " %7" G_GINT64_FORMAT "\n",
			        rule_name((enum rule_id)r), run->rule_added[r], run->rule_removed[r]);
	fprintf(out, "  examples (the first of each direction):\n");
	for (int a = 0; a < 4; a++)
		for (int b = 0; b < 4; b++)
			for (guint i = 0; i < run->change_examples[a][b]->len; i++)
				fprintf(out, "    %s -> %s: %s\n", verdict_names[a], verdict_names[b],
				        g_array_index(run->change_examples[a][b], struct bt_change, i).line);
}

void bt_report_summary(const struct bt_run *run, FILE *out)
{
	fprintf(out, "backtest: %s (%s)\n", run->policy_path[BT_NEW], policy_name(run->pol[BT_NEW]));
	fprintf(out,
	        "  %" G_GINT64_FORMAT " messages in %u files: %" G_GINT64_FORMAT " judged, %" G_GINT64_FORMAT
	        " inbound, %" G_GINT64_FORMAT " to no client, %" G_GINT64_FORMAT
	        " before --since; %" G_GINT64_FORMAT " replies answer a complaint found in the archive\n",
	        run->read, run->files->len, run->judged, run->inbound_n, run->internal, run->early,
	        run->replies_with_complaint);
	if (run->copies > 0)
		fprintf(out,
		        "  %" G_GINT64_FORMAT
		        " copies of a reply read before (same sender and Message-ID) left out\n",
		        run->copies);
	for (guint i = 0; i < run->source_errors->len; i++)
		fprintf(out, "  not read: %s\n", (const char *)run->source_errors->pdata[i]);
	summary_policy(run, BT_NEW, out);
	if (run->unchecked_items->len)
		summary_unchecked(run, out);
	if (run->pol[BT_OLD])
		summary_changes(run, out);
}

/* ---- index.html ---------------------------------------------------------------- */

/* Text from mail, escaped for HTML (invalid UTF-8 repaired first). */
static void esc_len(GString *o, const char *s, size_t n)
{
	char *valid = g_utf8_make_valid(s ? s : "", s ? (gssize)n : 0);
	char *e = g_markup_escape_text(valid, -1);
	g_string_append(o, e);
	g_free(e);
	g_free(valid);
}

static void esc(GString *o, const char *s)
{
	esc_len(o, s, s ? strlen(s) : 0);
}

static const char page_css[] =
    "body{font:15px/1.45 system-ui,sans-serif;margin:1em "
    "1.4em;color:#1d2430;background:#f6f7f9;max-width:75em}"
    "table{border-collapse:collapse;background:#fff;margin:.5em 0}td,th{padding:.3em .6em;"
    "border-bottom:1px solid #dde;text-align:left;vertical-align:top}td.n,th.n{text-align:right}"
    ".text{white-space:pre-wrap;font:13px/1.5 monospace;max-height:24em;overflow:auto}"
    "mark{background:#ffe08a;padding:0 .1em}mark.hold{background:#ffb3b3}sup{color:#a00;font-weight:bold}"
    "tr.hold td.v{color:#b00;font-weight:bold}tr.advise td.v{color:#a60;font-weight:bold}"
    "ol.findings{margin:.4em 0;padding-left:1.4em}.chart text{font:12px sans-serif}"
    ".pass{fill:#5a9e6f}.advise{fill:#e0a800}.hold{fill:#c0392b}.unchecked{fill:#888}"
    ".key i{display:inline-block;width:.8em;height:.8em;margin:0 .3em 0 1em}i.pass{background:#5a9e6f}"
    "i.advise{background:#e0a800}i.hold{background:#c0392b}i.unchecked{background:#888}";

/* The new text of D with each finding's words in a <mark>, numbered as in
 * its list of findings (the review page's rendering). */
static void marked_text(GString *o, const struct decision *d)
{
	GArray *spans_in = g_array_new(FALSE, TRUE, sizeof(struct store_finding));
	for (guint i = 0; i < d->findings->len; i++) {
		const struct finding *f = &g_array_index(d->findings, struct finding, i);
		struct store_finding s = {.start = f->start, .end = f->end};
		g_array_append_val(spans_in, s);
	}
	GArray *spans = quarantine_spans(d->text_len, spans_in);
	g_string_append(o, "<div class=\"text\">");
	for (guint i = 0; i < spans->len; i++) {
		const struct text_span *s = &g_array_index(spans, struct text_span, i);
		if (s->finding < 0) {
			esc_len(o, d->text + s->start, s->end - s->start);
			continue;
		}
		const struct finding *f = &g_array_index(d->findings, struct finding, s->finding);
		g_string_append_printf(o, "<mark class=\"%s\" title=\"%s\">",
		                       f->severity == RULE_HOLD ? "hold" : "advise", rule_name(f->rule));
		esc_len(o, d->text + s->start, s->end - s->start);
		g_string_append_printf(o, "</mark><sup>%d</sup>", s->finding + 1);
	}
	g_string_append(o, "</div>");
	g_array_unref(spans);
	g_array_unref(spans_in);
}

void bt_report_row(GString *o, const struct bt_run *run, const struct bt_item *it, const struct decision *d)
{
	const char *v = verdict_name(d->verdict);
	char *place = bt_item_place(run, it), *date = units_format_time(it->date);
	g_string_append_printf(o, "<tr class=\"%s\"><td>", v);
	esc(o, place);
	g_string_append(o, "<br>");
	esc(o, date ? date : "undated");
	g_string_append(o, "<br>");
	esc(o, it->message_id);
	g_string_append(o, "</td><td>");
	esc(o, it->sender);
	g_string_append(o, "<br>to ");
	esc(o, it->client);
	g_string_append_printf(o, "</td><td class=\"v\">%s<br>score %d</td><td>", v, d->score);
	marked_text(o, d);
	g_string_append(o, "<ol class=\"findings\">");
	for (guint i = 0; i < d->findings->len; i++) {
		const struct finding *f = &g_array_index(d->findings, struct finding, i);
		g_string_append_printf(o, "<li class=\"finding\" data-rule=\"%s\"><strong>%s</strong> (%s)",
		                       rule_name(f->rule), rule_name(f->rule),
		                       f->severity == RULE_HOLD ? "hold" : "advise");
		if (f->excerpt && *f->excerpt) {
			g_string_append(o, ": &ldquo;");
			esc(o, f->excerpt);
			g_string_append(o, "&rdquo;");
		}
		g_string_append(o, " &mdash; ");
		esc(o, f->advice);
		g_string_append(o, "</li>");
	}
	g_string_append(o, "</ol></td></tr>\n");
	g_free(place);
	g_free(date);
}

/* One row of a chart: a label and a bar of segments, one per series. */
struct bar {
	char *label;
	gint64 n[4];
};

static void bar_clear(gpointer p)
{
	g_free(((struct bar *)p)->label);
}

/* A horizontal bar chart as inline SVG: one <g class="bar"> per row, one
 * <rect> per non-zero segment, classes naming the series. */
static void chart(GString *o, const char *id, const char *title, const GArray *bars,
                  const char *const *series, int n_series)
{
	gint64 max = 1;
	for (guint i = 0; i < bars->len; i++) {
		const struct bar *b = &g_array_index(bars, struct bar, i);
		gint64 sum = 0;
		for (int k = 0; k < n_series; k++)
			sum += b->n[k];
		max = MAX(max, sum);
	}
	guint rows = MAX(bars->len, 1);
	g_string_append_printf(
	    o,
	    "<h2>%s</h2><svg class=\"chart\" id=\"%s\" role=\"img\" width=\"720\" height=\"%u\" "
	    "viewBox=\"0 0 720 %u\"><title>%s</title>",
	    title, id, rows * 22 + 6, rows * 22 + 6, title);
	for (guint i = 0; i < bars->len; i++) {
		const struct bar *b = &g_array_index(bars, struct bar, i);
		g_string_append(o, "<g class=\"bar\" data-key=\"");
		esc(o, b->label);
		g_string_append_printf(o, "\"><text x=\"0\" y=\"%u\">", i * 22 + 16);
		esc_len(o, b->label, MIN(strlen(b->label), 36));
		g_string_append(o, "</text>");
		gint64 x = 0, sum = 0;
		for (int k = 0; k < n_series; k++) {
			if (b->n[k] == 0)
				continue;
			gint64 w = MAX(1, b->n[k] * 400 / max);
			g_string_append_printf(
			    o,
			    "<rect class=\"%s\" data-n=\"%" G_GINT64_FORMAT "\" x=\"%" G_GINT64_FORMAT
			    "\" y=\"%u\" width=\"%" G_GINT64_FORMAT "\" height=\"16\"></rect>",
			    series[k], b->n[k], 250 + x, i * 22 + 4, w);
			x += w;
			sum += b->n[k];
		}
		g_string_append_printf(
		    o, "<text x=\"%" G_GINT64_FORMAT "\" y=\"%u\">%" G_GINT64_FORMAT "</text></g>", 256 + x,
		    i * 22 + 16, sum);
	}
	if (bars->len == 0)
		g_string_append(o, "<text x=\"0\" y=\"16\">none</text>");
	g_string_append(o, "</svg>");
}

static GArray *bars_new(void)
{
	GArray *bars = g_array_new(FALSE, TRUE, sizeof(struct bar));
	g_array_set_clear_func(bars, bar_clear);
	return bars;
}

static gint compare_weeks(gconstpointer a, gconstpointer b)
{
	gint64 x = **(const gint64 *const *)a, y = **(const gint64 *const *)b;
	return x < y ? -1 : x > y;
}

static void charts(GString *o, const struct bt_run *run)
{
	const struct bt_stats *s = &run->stats[BT_NEW];
	GArray *bars = bars_new();
	GPtrArray *weeks = g_ptr_array_new();
	GHashTableIter iter;
	gpointer k;
	g_hash_table_iter_init(&iter, s->per_week);
	while (g_hash_table_iter_next(&iter, &k, NULL))
		g_ptr_array_add(weeks, k);
	g_ptr_array_sort(weeks, compare_weeks);
	for (guint i = 0; i < weeks->len; i++) {
		gint64 week = *(const gint64 *)weeks->pdata[i];
		const struct bt_counts *c = g_hash_table_lookup(s->per_week, weeks->pdata[i]);
		char *label = week < 0 ? g_strdup("undated") : units_format_time(week);
		if (week >= 0)
			label[10] = '\0'; /* the date */
		struct bar b = {label, {c->n[0], c->n[1], c->n[2], c->n[3]}};
		g_array_append_val(bars, b);
	}
	g_ptr_array_unref(weeks);
	chart(o, "per-week", "Verdicts per week (weeks from Monday)", bars, verdict_names, 4);
	g_string_append(o, "<p class=\"key\">");
	for (int v = 0; v < 4; v++)
		g_string_append_printf(o, "<i class=\"%s\"></i>%s", verdict_names[v], verdict_names[v]);
	g_string_append(o, "</p>");
	g_array_set_size(bars, 0);

	static const char *const held[] = {"hold"}, *const held_advised[] = {"hold", "advise"};
	for (int r = 0; r < RULE_COUNT; r++) {
		if (s->rule_hold[r] == 0)
			continue;
		struct bar b = {g_strdup(rule_name((enum rule_id)r)), {s->rule_hold[r]}};
		g_array_append_val(bars, b);
	}
	chart(o, "per-rule", "Holds per rule", bars, held, 1);
	g_array_set_size(bars, 0);

	GPtrArray *senders = sorted_keys(s->per_sender);
	for (guint i = 0; i < senders->len; i++) {
		const struct bt_counts *c = g_hash_table_lookup(s->per_sender, senders->pdata[i]);
		if (c->n[VERDICT_HOLD] + c->n[VERDICT_ADVISE] == 0)
			continue;
		struct bar b = {g_strdup(senders->pdata[i]), {c->n[VERDICT_HOLD], c->n[VERDICT_ADVISE]}};
		g_array_append_val(bars, b);
	}
	g_ptr_array_unref(senders);
	chart(o, "per-sender", "Held and advised per sender", bars, held_advised, 2);
	g_array_unref(bars);
}

static void page_head(GString *o, const struct bt_run *run)
{
	g_string_append(o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	                   "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	                   "style-src 'unsafe-inline'\"><title>apologyctl backtest</title><style>");
	g_string_append(o, page_css);
	g_string_append(o, "</style></head><body><h1>Backtest of ");
	esc(o, run->policy_path[BT_NEW]);
	g_string_append(o, "</h1><p>");
	g_string_append_printf(o,
	                       "%" G_GINT64_FORMAT " messages read, %" G_GINT64_FORMAT
	                       " replies judged, %" G_GINT64_FORMAT
	                       " of them answering a complaint found in the archive.</p>",
	                       run->read, run->judged, run->replies_with_complaint);
	const struct bt_counts *c = &run->stats[BT_NEW].all;
	g_string_append(o, "<table id=\"verdicts\"><tr>");
	for (int v = 0; v < 4; v++)
		g_string_append_printf(o, "<th class=\"n\">%s</th>", verdict_names[v]);
	g_string_append(o, "</tr><tr>");
	for (int v = 0; v < 4; v++)
		g_string_append_printf(o, "<td class=\"n\" data-verdict=\"%s\">%" G_GINT64_FORMAT "</td>",
		                       verdict_names[v], c->n[v]);
	g_string_append(o, "</tr></table>");
}

/* Copy each item's spooled bytes (json or row) from SPOOL to OUT in the
 * archive's order. */
static bool copy_spooled(const struct bt_run *run, FILE *spool, bool rows, FILE *out, char **err)
{
	GByteArray *buf = g_byte_array_new();
	bool ok = fflush(spool) == 0;
	for (guint i = 0; ok && i < run->items->len; i++) {
		const struct bt_item *it = &g_array_index(run->items, struct bt_item, i);
		gint64 at = rows ? it->row_at : it->json_at;
		guint32 len = rows ? it->row_len : it->json_len;
		if (at < 0)
			continue;
		g_byte_array_set_size(buf, len);
		ok = fseeko(spool, at, SEEK_SET) == 0 && fread(buf->data, 1, len, spool) == len &&
		     fwrite(buf->data, 1, len, out) == len;
	}
	g_byte_array_unref(buf);
	if (!ok)
		*err = g_strdup_printf("writing the report: %s", g_strerror(errno));
	return ok;
}

static bool write_html(const struct bt_run *run, const char *path, char **err)
{
	FILE *out = fopen(path, "w");
	if (out == NULL) {
		*err = g_strdup_printf("%s: %s", path, g_strerror(errno));
		return false;
	}
	GString *o = g_string_new(NULL);
	page_head(o, run);
	charts(o, run);
	g_string_append(o, "<h2>Held and advised replies</h2><table id=\"messages\"><tr><th>message</th>"
	                   "<th>from</th><th>verdict</th><th>new text and findings</th></tr>\n");
	bool ok =
	    fwrite(o->str, 1, o->len, out) == o->len && copy_spooled(run, run->row_spool, true, out, err);
	const char tail[] = "</table></body></html>\n";
	ok = ok && fwrite(tail, 1, sizeof tail - 1, out) == sizeof tail - 1;
	g_string_free(o, TRUE);
	if (fclose(out) != 0 && ok) {
		*err = g_strdup_printf("%s: %s", path, g_strerror(errno));
		return false;
	}
	if (!ok && *err == NULL)
		*err = g_strdup_printf("%s: %s", path, g_strerror(errno));
	return ok;
}

bool bt_report_write(const struct bt_run *run, char **err)
{
	char *jsonl = g_build_filename(run->report_dir, "results.jsonl", NULL);
	char *html = g_build_filename(run->report_dir, "index.html", NULL);
	FILE *out = fopen(jsonl, "w");
	bool ok = out != NULL && copy_spooled(run, run->json_spool, false, out, err);
	if (out != NULL && fclose(out) != 0)
		ok = false;
	if (!ok && *err == NULL)
		*err = g_strdup_printf("%s: %s", jsonl, g_strerror(errno));
	ok = ok && write_html(run, html, err);
	g_free(jsonl);
	g_free(html);
	return ok;
}
