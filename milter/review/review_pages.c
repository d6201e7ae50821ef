/*
 * review_pages.c - the pages of apology-review (see review.h): the queue
 * (its orders and pages checked by review_queue.c), one reply beside the
 * complaint it answers, the decision, the audit trail and statistics.
 * Everything is read from the store (findings as the daemon rendered them
 * from struct decision) and written as escaped text; the HTML part of a
 * message is never rendered.  Decisions go through quarantine_decide_open(), the same path as
 * `apologyctl quarantine`.
 */
#include <stdlib.h>
#include <string.h>

#include "decisions.h"
#include "html.h"
#include "labeling.h"
#include "quarantine.h"
#include "review.h"
#include "review_resources.h"
#include "review_queue.h"
#include "rules.h"
#include "thread.h" /* struct history_entry, for store_history_before() */
#include "units.h"

/* The stylesheet, from the resources built from review.css. */
GBytes *review_css(void)
{
	GBytes *css = g_resource_lookup_data(review_get_resource(), "/org/apology-milter/review/review.css",
	                                     G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
	g_assert(css != NULL); /* compiled in: missing is a build bug */
	return css;
}

void page_clear(struct page *p)
{
	if (p->body)
		g_string_free(p->body, TRUE);
	g_free(p->location);
	memset(p, 0, sizeof *p);
}

void html_escape_len(GString *out, const char *s, size_t len)
{
	for (size_t i = 0; s && i < len; i++) {
		switch (s[i]) {
		case '&': g_string_append(out, "&amp;"); break;
		case '<': g_string_append(out, "&lt;"); break;
		case '>': g_string_append(out, "&gt;"); break;
		case '"': g_string_append(out, "&quot;"); break;
		case '\'': g_string_append(out, "&#39;"); break;
		case '\0': break;
		default: g_string_append_c(out, s[i]);
		}
	}
}

void html_escape(GString *out, const char *s)
{
	html_escape_len(out, s, s ? strlen(s) : 0);
}

/* Fragments go through html_append() when their arguments are this
 * program's own text (page titles, rule ids, states, tokens, URLs,
 * numbers); text from mail, from a reviewer or from the review settings
 * (addresses, notes, names, excerpts, error messages) through
 * html_escape(), which takes any bytes. */
static GString *begin(const struct review_request *rq, const char *title)
{
	GString *o = g_string_new(NULL);
	html_append(
	    o,
	    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
	    "content=\"width=device-width\"><link rel=\"stylesheet\" href=\"/static/review.css\"><title>%s "
	    "- apology review</title></head><body><header><strong>apology review</strong>",
	    title);
	if (rq != NULL && rq->user != NULL) {
		g_string_append(o, "<a href=\"/\">Queue</a>");
		if (rq->admin)
			g_string_append(
			    o, "<a href=\"/audit\">Audit trail</a><a href=\"/stats\">Statistics</a>");
		html_append(o,
		            "<form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" "
		            "value=\"%s\"><span>",
		            rq->csrf);
		html_escape(o, rq->user);
		g_string_append(o, rq->admin ? " (admin)" : " (reviewer)");
		g_string_append(o, "</span> <button>Log out</button></form>");
	}
	html_append(o, "</header><main><h1>%s</h1>", title);
	return o;
}

static void finish(struct page *p, GString *o, int status)
{
	g_string_append(o, "</main></body></html>\n");
	p->status = status;
	p->body = o;
}

void page_error(struct page *p, int status, const char *message)
{
	GString *o = begin(NULL, status == 403 ? "Not allowed" : "Error");
	g_string_append(o, "<p class=\"error\">");
	html_escape(o, message);
	g_string_append(o, "</p><p><a href=\"/\">Back to the queue</a></p>");
	finish(p, o, status);
}

void page_login(struct page *p, const char *csrf, const char *error)
{
	GString *o = begin(NULL, "Log in");
	if (error) {
		g_string_append(o, "<p class=\"error\" id=\"login-error\">");
		html_escape(o, error);
		g_string_append(o, "</p>");
	}
	html_append(o,
	            "<form method=\"post\" action=\"/login\"><input type=\"hidden\" name=\"csrf\" "
	            "value=\"%s\"><p><label>User <input name=\"user\" autocomplete=\"username\" "
	            "required></label></p><p><label>Password <input type=\"password\" "
	            "name=\"password\" autocomplete=\"current-password\" required></label></p>"
	            "<p><button>Log in</button></p></form>",
	            csrf);
	finish(p, o, error ? 401 : 200);
}

static const char *arg(GHashTable *t, const char *name)
{
	const char *v = t ? g_hash_table_lookup(t, name) : NULL;
	return v && *v ? v : NULL;
}

static void filter_input(GString *o, const char *name, const char *label, const char *value)
{
	g_string_append_printf(o, "<label>%s <input name=\"%s\" value=\"", label, name);
	html_escape(o, value ? value : "");
	g_string_append(o, "\"></label> ");
}

/* The sort links and the page links of the queue. */
static void queue_sort_links(GString *o, const struct review_request *rq, const struct queue_sort *sort)
{
	size_t n;
	const struct queue_sort *all = queue_sorts(&n);
	g_string_append(o, "<p id=\"sort\">Sort: ");
	for (size_t i = 0; i < n; i++) {
		char *url = queue_url(rq->query, &all[i], 1);
		if (&all[i] == sort)
			g_string_append_printf(o, "<strong id=\"sort-%s\">%s</strong> ", all[i].name,
			                       all[i].label);
		else {
			html_append(o, "<a id=\"sort-%s\" href=\"%s\">%s</a> ", all[i].name, url,
			            all[i].label);
		}
		g_free(url);
	}
	g_string_append(o, "</p>");
}

static void queue_page_links(GString *o, const struct review_request *rq, const struct queue_sort *sort,
                             const struct queue_page *pg)
{
	g_string_append(o, "<nav id=\"pages\">");
	if (pg->page > 1) {
		char *url = queue_url(rq->query, sort, pg->page - 1);
		html_append(o, "<a id=\"prev\" rel=\"prev\" href=\"%s\">Previous</a> ", url);
		g_free(url);
	}
	g_string_append_printf(o, "<span id=\"page\">Page %u of %u</span>", pg->page, pg->pages);
	if (pg->page < pg->pages) {
		char *url = queue_url(rq->query, sort, pg->page + 1);
		html_append(o, " <a id=\"next\" rel=\"next\" href=\"%s\">Next</a>", url);
		g_free(url);
	}
	g_string_append(o, "</nav>");
}

static void queue_row(GString *o, struct review_app *app, const struct review_request *rq,
                      const struct store_quarantine *q)
{
	char *age = quarantine_age(rq->now - q->created), *client = quarantine_client_domain(q);
	char *rules = quarantine_rules(app->st, q->id), *action = quarantine_action_state(app->st, q, NULL);
	g_string_append_printf(o,
	                       "<tr><td><a href=\"/reply/%" G_GINT64_FORMAT "\">%" G_GINT64_FORMAT
	                       "</a></td><td>%s</td><td class=\"host\">",
	                       q->id, q->id, age);
	html_escape(o, q->host ? q->host : "-");
	g_string_append(o, "</td><td class=\"action\">");
	html_escape(o, action ? action : "");
	g_string_append(o, "</td><td class=\"sender\">");
	html_escape(o, q->sender);
	g_string_append(o, "</td><td>");
	html_escape(o, client);
	html_append(o, "</td><td class=\"severity\">%s</td><td class=\"score\">%d</td><td>%s</td></tr>",
	            q->complaint_severity ? q->complaint_severity : "none", q->score, rules);
	g_free(action);
	g_free(rules);
	g_free(age);
	g_free(client);
}

void page_queue(struct review_app *app, const struct review_request *rq, struct page *p)
{
	gint64 older = 0;
	const char *older_s = arg(rq->query, "older");
	if (older_s && !review_parse_duration(older_s, &older))
		older_s = NULL;
	const struct queue_sort *sort = queue_sort_find(arg(rq->query, "sort"));
	/* ?state=sampled: the passed near misses kept for review, to judge */
	bool near = g_strcmp0(arg(rq->query, "state"), "sampled") == 0;
	struct store_query query = {
	    .state = near ? "sampled" : "held",
	    .sender = arg(rq->query, "sender"),
	    .client_domain = arg(rq->query, "client"),
	    .rule = arg(rq->query, "rule"),
	    .created_before = older_s ? rq->now - older : 0,
	    .order = sort->order,
	};
	GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	char *err = NULL;
	gint64 waiting = 0, matching = 0, to_judge = 0;
	struct queue_page pg = {0};
	bool ok =
	    store_quarantine_count(app->st, &(struct store_query){.state = "held"}, &waiting, &err) &&
	    store_quarantine_count(app->st, &(struct store_query){.state = "sampled"}, &to_judge, &err) &&
	    store_quarantine_count(app->st, &query, &matching, &err);
	if (ok) {
		pg = queue_page_of(arg(rq->query, "page"), matching, QUEUE_PAGE_SIZE);
		query.offset = pg.offset;
		query.limit = pg.size;
		ok = store_quarantine_list(app->st, &query, rows, &err);
	}
	if (!ok) {
		page_error(p, 500, err);
		g_free(err);
		g_ptr_array_unref(rows);
		return;
	}
	GString *o = begin(rq, near ? "Near misses to judge" : "Held replies");
	g_string_append_printf(o,
	                       "<p id=\"count\"><strong>%" G_GINT64_FORMAT "</strong> waiting for "
	                       "review; %" G_GINT64_FORMAT " match, %u shown, %s.</p>",
	                       near ? to_judge : waiting, matching, rows->len, sort->label);
	/* the other list */
	if (near)
		g_string_append(o, "<p id=\"other-list\"><a href=\"/\">Held replies</a></p>");
	else if (to_judge > 0)
		g_string_append_printf(o,
		                       "<p id=\"other-list\"><a href=\"/?state=sampled\">%" G_GINT64_FORMAT
		                       " near miss(es) to judge</a>: replies that went out, whose thread the "
		                       "filter placed just short of a complaint</p>",
		                       to_judge);
	g_string_append(o, "<form method=\"get\" action=\"/\">");
	if (near)
		g_string_append(o, "<input type=\"hidden\" name=\"state\" value=\"sampled\">");
	filter_input(o, "sender", "Sender", query.sender);
	filter_input(o, "client", "Client domain", query.client_domain);
	filter_input(o, "rule", "Rule", query.rule);
	filter_input(o, "older", "Older than", older_s);
	if (sort->order != STORE_ORDER_OLDEST)
		g_string_append_printf(o, "<input type=\"hidden\" name=\"sort\" value=\"%s\">", sort->name);
	g_string_append(o, "<button>Filter</button></form>");
	queue_sort_links(o, rq, sort);
	g_string_append(o, "<table id=\"queue\"><tr><th>#</th><th>Age</th><th>Host</th><th>Action</th>"
	                   "<th>Sender</th><th>Client</th>"
	                   "<th>Complaint</th><th>Score</th><th>Rules</th></tr>");
	for (guint i = 0; i < rows->len; i++)
		queue_row(o, app, rq, rows->pdata[i]);
	g_string_append(o, "</table>");
	queue_page_links(o, rq, sort, &pg);
	g_ptr_array_unref(rows);
	finish(p, o, 200);
}

/* Whether finding F is about the whole reply (a rule that fires on an
 * absence): its span is only an anchor sentence, so it is not marked. */
static bool whole_reply(const struct store_finding *f)
{
	int id = f->rule ? rule_lookup(f->rule) : -1;
	return id >= 0 && rule_about_whole_reply((enum rule_id)id);
}

static const char *severity_class(const struct store_finding *f)
{
	return g_strcmp0(f->severity, "hold") == 0 ? "hold" : "advise";
}

/* The findings about the whole reply, as notes above its text. */
static void render_whole_reply(GString *o, const GArray *findings)
{
	bool any = false;
	for (guint i = 0; i < findings->len; i++) {
		const struct store_finding *f = &g_array_index(findings, struct store_finding, i);
		if (!whole_reply(f))
			continue;
		if (!any)
			g_string_append(o, "<ul id=\"whole-reply\" class=\"whole\">");
		any = true;
		html_append(
		    o,
		    "<li class=\"%s\" data-rule=\"%s\"><a href=\"#finding-%u\">%u</a> <strong>%s</strong>: "
		    "about the whole reply, not one sentence</li>",
		    severity_class(f), f->rule, i + 1, i + 1, f->rule);
	}
	if (any)
		g_string_append(o, "</ul>");
}

/* The new text with the words of each finding about a part of it in a
 * <mark> and its number. */
static void render_marked_text(GString *o, const char *text, size_t len, const GArray *findings)
{
	GArray *pinned = g_array_new(FALSE, FALSE, sizeof(struct store_finding));
	GArray *number = g_array_new(FALSE, FALSE, sizeof(guint)); /* index in FINDINGS */
	for (guint i = 0; i < findings->len; i++) {
		const struct store_finding *f = &g_array_index(findings, struct store_finding, i);
		if (!whole_reply(f)) {
			g_array_append_val(pinned, *f); /* shallow: FINDINGS owns the strings */
			g_array_append_val(number, i);
		}
	}
	GArray *spans = quarantine_spans(len, pinned);
	render_whole_reply(o, findings);
	g_string_append(o, "<div class=\"text\" id=\"new-text\">");
	for (guint i = 0; i < spans->len; i++) {
		const struct text_span *s = &g_array_index(spans, struct text_span, i);
		if (s->finding < 0) {
			html_escape_len(o, text + s->start, s->end - s->start);
			continue;
		}
		const struct store_finding *f = &g_array_index(pinned, struct store_finding, s->finding);
		guint n = g_array_index(number, guint, s->finding) + 1;
		html_append(o, "<mark class=\"%s\" data-rule=\"%s\" title=\"%s\">", severity_class(f),
		            f->rule, f->rule);
		html_escape_len(o, text + s->start, s->end - s->start);
		g_string_append_printf(o, "</mark><sup><a href=\"#finding-%u\">%u</a></sup>", n, n);
	}
	g_string_append(o, "</div>");
	g_array_unref(spans);
	g_array_unref(number);
	g_array_unref(pinned);
}

/* FINDINGS, each with a checkbox "this finding is wrong" of the decide form
 * when DECIDABLE (the reply is still held); a box is named "wrong-RULE", so
 * two findings of one rule mark that rule alike. */
static void render_findings(GString *o, const GArray *findings, bool decidable)
{
	g_string_append(o, "<h2>Findings</h2>");
	for (guint i = 0; i < findings->len; i++) {
		const struct store_finding *f = &g_array_index(findings, struct store_finding, i);
		bool whole = whole_reply(f);
		html_append(o, "<div class=\"finding %s%s\" id=\"finding-%u\"><strong>%u. %s</strong> (%s",
		            severity_class(f), whole ? " whole" : "", i + 1, i + 1, f->rule, f->severity);
		if (whole)
			g_string_append(o, ", about the whole reply)");
		else
			g_string_append_printf(o, ", line %u)", f->line);
		if (!whole && f->excerpt && *f->excerpt) {
			g_string_append(o, ": &ldquo;");
			html_escape(o, f->excerpt);
			g_string_append(o, "&rdquo;");
		}
		g_string_append(o, "<br><em>Why:</em> ");
		html_escape(o, f->principle);
		g_string_append(o, "<br><em>Instead:</em> ");
		html_escape(o, f->advice);
		if (decidable) {
			html_append(o,
			            "<br><label class=\"wrong\"><input type=\"checkbox\" form=\"decide\" "
			            "name=\"wrong-%s\" value=\"1\"> this finding is wrong</label>",
			            f->rule);
		}
		g_string_append(o, "</div>");
	}
}

/* The store schema that began to keep what the page shows: a reply's new
 * text (10), the complaint it answers (12). */
#define SCHEMA_NEW_TEXT  10
#define SCHEMA_COMPLAINT 12

/* The quoted history of the reply as the daemon's classification read it
 * (the store's, bounded), where the complaint's words are. */
static void render_complaint_text(GString *o, const struct store_quarantine *q)
{
	if (!q->complaint_recorded) {
		g_string_append_printf(
		    o,
		    "<p id=\"complaint-text-none\" class=\"not-recorded\">The complaint's text is "
		    "not recorded for replies held before store schema %d.</p>",
		    SCHEMA_COMPLAINT);
		return;
	}
	if (q->complaint_text == NULL || *q->complaint_text == '\0') {
		g_string_append(o, "<p id=\"complaint-text-none\">The reply quotes no earlier message.</p>");
		return;
	}
	g_string_append(o, "<p>As quoted in the reply:</p><div class=\"text\" id=\"complaint-text\">");
	html_escape(o, q->complaint_text);
	g_string_append(o, "</div>");
}

/* What the reply answers: the complaint's severity and date as the daemon
 * judged it (the store's record of the hold; for a record held before it
 * kept them, the stored decision's), the stored complaint when the daemon
 * saw it arrive, and its text as the reply quotes it; when DECIDABLE, a
 * checkbox of the decide form "this thread is no complaint" (named
 * "wrong-complaint": holds/labeling.h). */
static void render_complaint(struct review_app *app, GString *o, const struct store_quarantine *q,
                             bool decidable)
{
	struct store_complaint c = {0};
	char *err = NULL;
	const char *ids[] = {q->complaint_ref};
	bool stored =
	    q->complaint_ref != NULL && store_complaint_find(app->st, ids, 1, &c, &err) == STORE_FOUND;
	g_free(err);
	gint64 sent = stored ? c.received : q->complaint_sent >= 0 ? q->complaint_sent : -1;
	const char *severity = q->complaint_severity ? q->complaint_severity
	                       : stored              ? (c.serious ? "serious" : "normal")
	                                             : NULL;
	html_append(o,
	            "<h2>What it answers</h2><p id=\"complaint\"><span id=\"complaint-severity\" "
	            "class=\"severity\">%s</span> complaint",
	            severity ? severity : "no");
	if (stored) {
		g_string_append(o, " &lt;");
		html_escape(o, c.message_id);
		g_string_append(o, "&gt; from ");
		html_escape(o, c.client_domain);
	}
	char *when = sent >= 0 ? units_format_time(sent) : NULL;
	if (severity == NULL)
		g_string_append(o, " found in the thread");
	else
		g_string_append_printf(o, ", %s <span id=\"complaint-date\">%s</span>",
		                       stored ? "arrived" : "sent", when ? when : "at an unknown time");
	if (severity != NULL && sent >= 0 && q->created >= sent) {
		char *delay = quarantine_age(q->created - sent);
		g_string_append_printf(o, "; this reply came %s later", delay);
		g_free(delay);
	}
	g_string_append(o, ".</p>");
	if (q->complaint_recorded && q->complaint_detected && !q->complaint_clear)
		g_string_append(o, "<p id=\"complaint-unclear\">The complaint was not clear enough to hold "
		                   "the reply: it was advised.</p>");
	g_free(when);
	render_complaint_text(o, q);
	if (decidable)
		g_string_append(o, "<p><label class=\"wrong\"><input type=\"checkbox\" form=\"decide\" "
		                   "name=\"wrong-" LABEL_COMPLAINT "\" value=\"1\"> this thread is no "
		                   "complaint</label></p>");
	if (stored)
		store_complaint_clear(&c);
}

/* Apologies and held replies from the same sender to the same client made
 * strictly before reply Q (within a year before it), newest first. */
static void render_earlier(struct review_app *app, GString *o, const struct store_quarantine *q)
{
	char *client = quarantine_client_domain(q), *err = NULL;
	GArray *hist = g_array_new(FALSE, FALSE, sizeof(struct history_entry));
	g_string_append(o, "<h2>Earlier apologies to this client</h2><ul id=\"earlier\">");
	if (store_history_before(app->st, q->sender, client, q->created - 365 * 86400, q->created, 20, hist,
	                         &err)) {
		for (guint i = 0; i < hist->len; i++) {
			gint64 at = g_array_index(hist, struct history_entry, i).when;
			char *when = units_format_time(at), *before = quarantine_age(q->created - at);
			g_string_append_printf(o, "<li class=\"apology\">%s (%s before this reply)</li>",
			                       when ? when : "?", before);
			g_free(when);
			g_free(before);
		}
	}
	g_free(err);
	GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	struct store_query query = {.sender = q->sender,
	                            .client_domain = client,
	                            .created_before = q->created,
	                            .order = STORE_ORDER_NEWEST,
	                            .limit = 20};
	err = NULL;
	guint held = 0;
	if (store_quarantine_list(app->st, &query, rows, &err))
		for (guint i = 0; i < rows->len; i++) {
			const struct store_quarantine *r = rows->pdata[i];
			if (quarantine_near_miss(r)) /* it went out: no hold */
				continue;
			held++;
			char *when = units_format_time(r->created);
			html_append(o,
			            "<li class=\"held\">held reply <a href=\"/reply/%" G_GINT64_FORMAT
			            "\">#%" G_GINT64_FORMAT "</a> of %s (%s)</li>",
			            r->id, r->id, when ? when : "?", r->state);
			g_free(when);
		}
	if (hist->len == 0 && held == 0)
		g_string_append(o, "<li>none recorded</li>");
	g_string_append(o, "</ul>");
	g_free(err);
	g_ptr_array_unref(rows);
	g_array_unref(hist);
	g_free(client);
}

static void render_headers(GString *o, const char *raw, size_t len)
{
	size_t end = 0;
	while (end < len &&
	       !(raw[end] == '\n' && (end + 1 >= len || raw[end + 1] == '\n' || (raw[end + 1] == '\r'))))
		end++;
	g_string_append(o, "<details><summary>Headers</summary><div class=\"text\">");
	html_escape_len(o, raw, MIN(end, len));
	g_string_append(o, "</div></details>");
}

static void render_trail(struct review_app *app, GString *o, gint64 id)
{
	GArray *trail = g_array_new(FALSE, TRUE, sizeof(struct store_review));
	g_array_set_clear_func(trail, (GDestroyNotify)store_review_clear);
	char *err = NULL;
	if (!store_review_list(app->st, id, 0, trail, &err))
		g_free(err);
	g_string_append(o, "<h2>Decisions</h2><ul id=\"trail\">");
	for (guint i = 0; i < trail->len; i++) {
		const struct store_review *r = &g_array_index(trail, struct store_review, i);
		char *at = units_format_time(r->at);
		g_string_append_printf(o, "<li>%s ", at ? at : "?");
		html_escape(o, r->action);
		g_string_append(o, " by ");
		html_escape(o, r->reviewer);
		if (r->note) {
			g_string_append(o, ": ");
			html_escape(o, r->note);
		}
		g_string_append(o, "</li>");
		g_free(at);
	}
	if (trail->len == 0)
		g_string_append(o, "<li>no decision yet</li>");
	g_string_append(o, "</ul>");
	g_array_unref(trail);
}

static void render_actions(GString *o, const struct review_request *rq, gint64 id)
{
	html_append(o,
	            "<h2>Decide</h2><form method=\"post\" action=\"/reply/%" G_GINT64_FORMAT
	            "/decide\" id=\"decide\"><input type=\"hidden\" name=\"csrf\" value=\"%s\">"
	            "<p><label>Comment for the author (needed to return it)<br>"
	            "<textarea name=\"comment\"></textarea></label></p>"
	            "<button name=\"action\" value=\"release\">Release</button>"
	            "<button name=\"action\" value=\"return\">Return to the author</button>"
	            "<button name=\"action\" value=\"discard\">Discard</button></form>",
	            id, rq->csrf);
}

/* The judgement of a passed near miss (state "sampled"): was it a
 * complaint the filter missed?  Posted to the decide form's address. */
static void render_judge(GString *o, const struct review_request *rq, gint64 id)
{
	html_append(
	    o,
	    "<h2>Judge</h2><p id=\"near-miss\">This reply went out: the filter placed its thread just "
	    "short of a complaint, and kept a copy so that you can say whether it was one. Your "
	    "judgement teaches the filter.</p><form method=\"post\" action=\"/reply/%" G_GINT64_FORMAT
	    "/decide\" id=\"decide\"><input type=\"hidden\" name=\"csrf\" value=\"%s\">"
	    "<p><label>Comment (optional)<br><textarea name=\"comment\"></textarea></label></p>"
	    "<button name=\"action\" value=\"judge-complaint\">A complaint the filter missed</button>"
	    "<button name=\"action\" value=\"judge-none\">No complaint</button></form>",
	    id, rq->csrf);
}

void page_reply(struct review_app *app, const struct review_request *rq, gint64 id, const char *notice,
                struct page *p)
{
	char *err = NULL;
	struct store_quarantine *q = quarantine_load(app->st, id, &err);
	if (q == NULL) {
		page_error(p, err ? 500 : 404, err ? err : "No such held reply.");
		g_free(err);
		return;
	}
	char *title = g_strdup_printf("Reply #%" G_GINT64_FORMAT, id);
	GString *o = begin(rq, title);
	if (notice) {
		g_string_append(o, "<p class=\"notice\" id=\"notice\">");
		html_escape(o, notice);
		g_string_append(o, "</p>");
	}
	char *created = units_format_time(q->created), *age = quarantine_age(rq->now - q->created);
	g_string_append(o, "<table id=\"facts\"><tr><th>From</th><td>");
	html_escape(o, q->sender);
	g_string_append(o, "</td></tr><tr><th>To</th><td>");
	html_escape(o, q->recipients);
	/* The mail host that holds it: with a shared store, several. */
	html_append(o,
	            "</td></tr><tr><th>%s</th><td>%s (%s ago)</td></tr><tr><th>State</th><td id=\"state\">%s"
	            "</td></tr><tr><th>Verdict</th><td>%s, score %d</td></tr><tr><th>Queue id</th><td>%s</td>"
	            "</tr><tr><th>Host</th><td id=\"host\">%s</td></tr>",
	            quarantine_near_miss(q) ? "Sent, copy kept" : "Held", created ? created : "?", age,
	            q->state, q->verdict, q->score, q->queue_id, q->host ? q->host : "(not recorded)");
	/* A decision sent to that host: waiting for its agent, running, or its
	 * result. */
	bool waiting = false;
	char *action = quarantine_action_state(app->st, q, &waiting);
	if (action != NULL)
		html_append(o, "<tr><th>Action</th><td id=\"action\">%s</td></tr>", action);
	g_free(action);
	g_string_append(o, "</table>");
	char *ferr = NULL;
	GArray *findings = quarantine_findings(app->st, id, &ferr);
	if (ferr) {
		g_string_append(o, "<p class=\"error\">The findings cannot be read: ");
		html_escape(o, ferr);
		g_string_append(o, "</p>");
		g_free(ferr);
	}
	/* The new text and the complaint are the store's (the daemon's, as it
	 * judged the reply): nothing is split or judged again here. */
	g_string_append(o, "<div class=\"sides\"><section id=\"reply-side\"><h2>What the author wrote</h2>");
	if (q->new_text != NULL)
		render_marked_text(o, q->new_text, strlen(q->new_text), findings);
	else
		g_string_append_printf(
		    o,
		    "<p id=\"new-text-none\" class=\"not-recorded\">The text is not recorded for "
		    "replies held before store schema %d.</p>",
		    SCHEMA_NEW_TEXT);
	g_string_append(o, "</section><section id=\"complaint-side\">");
	render_complaint(app, o, q, strcmp(q->state, "held") == 0);
	g_string_append(o, "</section></div>");
	render_findings(o, findings, strcmp(q->state, "held") == 0);
	render_earlier(app, o, q);
	if (q->raw)
		render_headers(o, q->raw, q->raw_len);
	render_trail(app, o, id);
	if (strcmp(q->state, "held") == 0 && !waiting)
		render_actions(o, rq, id);
	else if (strcmp(q->state, "sampled") == 0)
		render_judge(o, rq, id);
	finish(p, o, 200);
	g_array_unref(findings);
	g_free(created);
	g_free(age);
	g_free(title);
	store_quarantine_free(q);
}

static int compare_strings(const char *const *a, const char *const *b)
{
	return strcmp(*a, *b);
}

/* The answer to decision ACTION on reply ID: 409 with ERR (freed) when it
 * was not done, 503 with ERR when it was LEFT_OPEN (quarantine_decide_open:
 * done, recorded later), else a redirect to the reply's page
 * saying it was (WHAT: "done" here, or "sent" to the host that holds it). */
static void answer_decision(struct page *p, gint64 id, bool ok, bool left_open, char *err, const char *what,
                            const char *action)
{
	if (ok) {
		p->status = 303;
		p->location = g_strdup_printf("/reply/%" G_GINT64_FORMAT "?%s=%s", id, what, action);
	} else if (left_open) { /* done, recorded later (503: try the page again later) */
		char *msg = g_strdup_printf("Not finished yet: %s", err);
		page_error(p, 503, msg);
		g_free(msg);
	} else {
		char *msg = g_strdup_printf("Not done: %s", err);
		page_error(p, 409, msg);
		g_free(msg);
	}
	g_free(err);
}

void page_decide(struct review_app *app, const struct review_request *rq, gint64 id, struct page *p)
{
	const char *action = arg(rq->form, "action"), *comment = arg(rq->form, "comment");
	enum review_action act;
	char *err = NULL;
	bool complaint = g_strcmp0(action, "judge-complaint") == 0;
	if (complaint || g_strcmp0(action, "judge-none") == 0) {
		bool ok = quarantine_judge(app->st, id, complaint, rq->user,
		                           comment && *comment ? comment : NULL, rq->now, &err);
		answer_decision(p, id, ok, false, err, "done", action);
		return;
	}
	if (g_strcmp0(action, "release") == 0)
		act = REVIEW_RELEASE;
	else if (g_strcmp0(action, "discard") == 0)
		act = REVIEW_DISCARD;
	else if (g_strcmp0(action, "return") == 0)
		act = REVIEW_RETURN;
	else {
		page_error(p, 400, "Unknown decision.");
		return;
	}
	/* The rules whose "this finding is wrong" box was ticked, in order. */
	GPtrArray *wrong = g_ptr_array_new();
	GHashTableIter it;
	gpointer key;
	g_hash_table_iter_init(&it, rq->form);
	while (g_hash_table_iter_next(&it, &key, NULL))
		if (g_str_has_prefix(key, "wrong-") && ((const char *)key)[6] != '\0')
			g_ptr_array_add(wrong, (char *)key + 6);
	g_ptr_array_sort(wrong, (GCompareFunc)compare_strings);
	char *sent_to = NULL;
	bool left_open = false;
	bool ok = quarantine_decide_open(&app->cfg, app->st, id, act, rq->user, comment, wrong, rq->now,
	                                 &sent_to, &left_open, &err);
	g_ptr_array_unref(wrong);
	answer_decision(p, id, ok, left_open, err, sent_to ? "sent" : "done", action);
	g_free(sent_to);
}

void page_audit(struct review_app *app, const struct review_request *rq, struct page *p)
{
	GArray *trail = g_array_new(FALSE, TRUE, sizeof(struct store_review));
	g_array_set_clear_func(trail, (GDestroyNotify)store_review_clear);
	char *err = NULL;
	if (!store_review_list(app->st, 0, 500, trail, &err)) {
		page_error(p, 500, err);
		g_free(err);
		g_array_unref(trail);
		return;
	}
	GString *o = begin(rq, "Audit trail");
	g_string_append(o, "<table id=\"audit\"><tr><th>When</th><th>Who</th><th>What</th><th>Reply</th>"
	                   "<th>Sender</th><th>Comment</th></tr>");
	for (guint i = 0; i < trail->len; i++) {
		const struct store_review *r = &g_array_index(trail, struct store_review, i);
		char *at = units_format_time(r->at);
		g_string_append_printf(o, "<tr><td>%s</td><td>", at ? at : "?");
		html_escape(o, r->reviewer);
		g_string_append(o, "</td><td>");
		html_escape(o, r->action);
		g_string_append_printf(
		    o, "</td><td><a href=\"/reply/%" G_GINT64_FORMAT "\">#%" G_GINT64_FORMAT "</a> ",
		    r->quarantine_id, r->quarantine_id);
		html_escape(o, r->queue_id);
		g_string_append(o, "</td><td>");
		html_escape(o, r->sender);
		g_string_append(o, "</td><td>");
		html_escape(o, r->note);
		g_string_append(o, "</td></tr>");
		g_free(at);
	}
	g_string_append(o, "</table>");
	g_array_unref(trail);
	finish(p, o, 200);
}

/* A horizontal bar chart of COUNTS as inline SVG (no script). */
static void render_chart(GString *o, const char *id, const char *title, const GArray *counts)
{
	gint64 max = 1;
	for (guint i = 0; i < counts->len; i++)
		max = MAX(max, g_array_index(counts, struct store_count, i).n);
	guint rows = MAX(counts->len, 1);
	html_append(o,
	            "<h2>%s</h2><svg class=\"chart\" id=\"%s\" role=\"img\" width=\"640\" height=\"%u\" "
	            "viewBox=\"0 0 640 %u\"><title>%s</title>",
	            title, id, rows * 24 + 8, rows * 24 + 8, title);
	for (guint i = 0; i < counts->len; i++) {
		const struct store_count *c = &g_array_index(counts, struct store_count, i);
		int width = (int)(c->n * 380 / max);
		g_string_append_printf(o, "<text x=\"0\" y=\"%u\">", i * 24 + 18);
		html_escape_len(o, c->key, MIN(strlen(c->key), 32));
		g_string_append_printf(o,
		                       "</text><rect x=\"220\" y=\"%u\" width=\"%d\" height=\"18\" "
		                       "fill=\"#4a6fa5\"></rect><text x=\"%d\" y=\"%u\">%" G_GINT64_FORMAT
		                       "</text>",
		                       i * 24 + 5, MAX(width, 1), 226 + width, i * 24 + 18, c->n);
	}
	if (counts->len == 0)
		g_string_append(o, "<text x=\"0\" y=\"18\">none yet</text>");
	g_string_append(o, "</svg>");
}

void page_stats(struct review_app *app, const struct review_request *rq, struct page *p)
{
	enum source { HELD, MONITOR, ADVISED };
	static const struct {
		enum store_stat what;
		enum source from;
		const char *id, *title;
	} charts[] = {
	    {STORE_STAT_WEEK, HELD, "per-week", "Holds per week"},
	    {STORE_STAT_RULE, HELD, "per-rule", "Holds per rule"},
	    {STORE_STAT_SENDER, HELD, "per-sender", "Holds per sender"},
	    {STORE_STAT_WEEK, MONITOR, "monitor-per-week", "Would have been held (monitor mode) per week"},
	    {STORE_STAT_RULE, MONITOR, "monitor-per-rule", "Would have been held (monitor mode) per rule"},
	    {STORE_STAT_SENDER, MONITOR, "monitor-per-sender",
	     "Would have been held (monitor mode) per sender"},
	    {STORE_STAT_WEEK, ADVISED, "advised-per-week", "Advised per week"},
	    {STORE_STAT_RULE, ADVISED, "advised-per-rule", "Advised per rule"},
	    {STORE_STAT_SENDER, ADVISED, "advised-per-sender", "Advised per sender"},
	};
	GString *o = begin(rq, "Statistics (last 26 weeks)");
	gint64 since = rq->now - 26 * 7 * 86400;
	GArray *advised = store_decisions_new();
	char *advised_err = NULL;
	bool have_advised = store_decisions_list(app->st, since, "advise", advised, &advised_err);
	g_free(advised_err);
	for (size_t i = 0; i < G_N_ELEMENTS(charts); i++) {
		GArray *counts = store_counts_new();
		char *err = NULL;
		bool ok = charts[i].from == HELD
		              ? store_stats(app->st, charts[i].what, since, 20, counts, &err)
		          : charts[i].from == MONITOR
		              ? store_monitor_stats(app->st, charts[i].what, since, 20, counts, &err)
		              : have_advised;
		if (ok && charts[i].from == ADVISED) {
			decisions_count(advised, charts[i].what, counts);
			if (counts->len > 20)
				g_array_set_size(counts, 20);
		}
		if (ok)
			render_chart(o, charts[i].id, charts[i].title, counts);
		g_free(err);
		g_array_unref(counts);
	}
	g_array_unref(advised);
	GArray *precision = store_precisions_new();
	char *err = NULL;
	if (store_label_precision(app->st, since, precision, &err)) {
		labels_precision_html(o, precision, 10);
	} else {
		g_string_append(o, "<p class=\"error\">Reviewers' labels cannot be read: ");
		html_escape(o, err);
		g_string_append(o, "</p>");
	}
	g_free(err);
	g_array_unref(precision);
	finish(p, o, 200);
}
