/*
 * test_review_pages.c - the review page as HTML, rendered from a real SQLite
 * store by the page functions of review_pages.c (no HTTP): the queue's
 * order and paging (review_queue.c) with unknown or out-of-range arguments,
 * its severity column; and one reply: the complaint it answers shown
 * escaped beside it, "Earlier apologies" limited to apologies made before
 * it, findings about the whole reply shown as notes, not marks, and a reply
 * shown from the store alone (its new text, findings and the complaint it
 * answers; the program links no policy and no core), and a reply held
 * before the store kept them shown with a note instead.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "fixtures.h"
#include "review.h"
#include "review_queue.h"
#include "rules.h"
#include "store.h"

/* ---- order and paging, alone ------------------------------------------- */

static void test_sort_names(void **state)
{
	(void)state;
	assert_int_equal(queue_sort_find("score")->order, STORE_ORDER_SCORE);
	assert_int_equal(queue_sort_find("sender")->order, STORE_ORDER_SENDER);
	assert_int_equal(queue_sort_find("oldest")->order, STORE_ORDER_OLDEST);
	const char *unknown[] = {NULL, "", "Score", "score ", "created DESC", "' OR 1=1 --", "newest"};
	for (size_t i = 0; i < G_N_ELEMENTS(unknown); i++)
		assert_int_equal(queue_sort_find(unknown[i])->order, STORE_ORDER_OLDEST);
}

static void test_page_numbers(void **state)
{
	(void)state;
	static const struct {
		const char *name, *arg;
		gint64 total;
		unsigned page, pages, offset;
	} cases[] = {
	    {"no argument", NULL, 120, 1, 3, 0},
	    {"second page", "2", 120, 2, 3, 50},
	    {"last page", "3", 120, 3, 3, 100},
	    {"past the last", "4", 120, 3, 3, 100},
	    {"far past the last", "99999999999", 120, 3, 3, 100},
	    {"zero", "0", 120, 1, 3, 0},
	    {"negative", "-2", 120, 1, 3, 0},
	    {"not a number", "two", 120, 1, 3, 0},
	    {"trailing junk", "2x", 120, 1, 3, 0},
	    {"empty queue", "5", 0, 1, 1, 0},
	    {"exactly two pages", "3", 100, 2, 2, 50},
	    {"one row", NULL, 1, 1, 1, 0},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct queue_page p = queue_page_of(cases[i].arg, cases[i].total, 50);
		if (p.page != cases[i].page || p.pages != cases[i].pages || p.offset != cases[i].offset)
			fail_msg("%s: page %u of %u at %u", cases[i].name, p.page, p.pages, p.offset);
		assert_int_equal(p.size, 50);
	}
}

static void test_queue_urls(void **state)
{
	(void)state;
	GHashTable *q = g_hash_table_new(g_str_hash, g_str_equal);
	char *u = queue_url(q, queue_sort_find(NULL), 1);
	assert_string_equal(u, "/");
	g_free(u);
	g_hash_table_insert(q, "sender", "a&b@x.example");
	g_hash_table_insert(q, "rule", "");
	g_hash_table_insert(q, "page", "7");    /* replaced by the page asked for */
	g_hash_table_insert(q, "evil", "\"><"); /* not a filter: dropped */
	u = queue_url(q, queue_sort_find("score"), 2);
	assert_string_equal(u, "/?sender=a%26b%40x.example&sort=score&page=2");
	g_free(u);
	u = queue_url(q, queue_sort_find("oldest"), 1);
	assert_string_equal(u, "/?sender=a%26b%40x.example");
	g_free(u);
	g_hash_table_unref(q);
}

/* The stylesheet served is the file of the source tree, compiled in. */
static void test_stylesheet_from_the_file(void **state)
{
	(void)state;
	char *file = NULL;
	gsize len = 0;
	assert_true(g_file_get_contents("milter/review/review.css", &file, &len, NULL));
	GBytes *css = review_css();
	gsize served_len = 0;
	const char *served = g_bytes_get_data(css, &served_len);
	assert_int_equal(served_len, len);
	assert_memory_equal(served, file, len);
	assert_non_null(strstr(file, "#complaint-text{"));
	g_bytes_unref(css);
	g_free(file);
}

static void test_whole_reply_rules(void **state)
{
	(void)state;
	static const char *const whole[] = {"apology-missing", "no-ownership", "no-remedy", "no-prevention",
	                                    "no-call-offer"};
	unsigned n = 0;
	for (int r = 0; r < RULE_COUNT; r++) {
		bool listed = false;
		for (size_t i = 0; i < G_N_ELEMENTS(whole); i++)
			listed |= strcmp(rule_name((enum rule_id)r), whole[i]) == 0;
		if (rule_about_whole_reply((enum rule_id)r) != listed)
			fail_msg("%s: about the whole reply should be %d", rule_name((enum rule_id)r),
			         listed);
		n += listed;
	}
	assert_int_equal(n, G_N_ELEMENTS(whole));
	assert_false(rule_about_whole_reply(RULE_COUNT));
}

/* ---- pages from a store ------------------------------------------------- */

struct fixture {
	char *dir;
	struct review_app app;
	GHashTable *query;
	struct review_request rq;
	struct page page;
};

static int setup(void **state)
{
	struct fixture *fx = g_new0(struct fixture, 1);
	char *err = NULL;
	fx->dir = g_dir_make_tmp("test_review_pages-XXXXXX", NULL);
	char *location = g_strdup_printf("sqlite:%s/store.db", fx->dir);
	fx->app.st = store_open(location, &err);
	g_free(location);
	if (fx->app.st == NULL)
		fail_msg("open: %s", err);
	fx->query = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	fx->rq = (struct review_request){"alice", false, "csrf", fx->query, NULL, 1741000000 + 30 * 86400};
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	page_clear(&fx->page);
	store_close(fx->app.st);
	g_hash_table_unref(fx->query);
	const char *names[] = {"store.db", "store.db-wal", "store.db-shm"};
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		char *p = g_build_filename(fx->dir, names[i], NULL);
		g_unlink(p);
		g_free(p);
	}
	g_rmdir(fx->dir);
	g_free(fx->dir);
	g_free(fx);
	return 0;
}

/* The reply of tests/e2e/msgs/reply-bad.eml, quoting COMPLAINT_LINE. */
static char *reply_message(const char *complaint_line)
{
	return g_strdup_printf("From: Sam Ortega <sam@acme.example>\n"
	                       "To: Dana Whitfield <dana@client.example>\n"
	                       "Subject: Re: Order 4471\n"
	                       "Date: Mon, 03 Mar 2025 10:09:00 +0000\n"
	                       "Message-ID: <reply-4471@acme.example>\n"
	                       "In-Reply-To: <complaint-4471@client.example>\n"
	                       "MIME-Version: 1.0\n"
	                       "Content-Type: text/plain; charset=utf-8\n\n"
	                       "Dana,\n\n"
	                       "The courier lost the parcel, so this was beyond our control.\n\n"
	                       "Sam\n\n"
	                       "On Mon, 3 Mar 2025 at 09:12, Dana Whitfield <dana@client.example> wrote:\n"
	                       "> %s\n"
	                       "> This is the second time this month.\n",
	                       complaint_line);
}

/* The reply's new text, as the daemon records it. */
static const char reply_new_text[] =
    "Dana,\n\nThe courier lost the parcel, so this was beyond our control.\n\nSam\n";

/* The quoted history as the daemon's classification read it. */
static char *quoted_complaint(const char *complaint_line)
{
	return g_strdup_printf("On Mon, 3 Mar 2025 at 09:12, Dana Whitfield <dana@client.example> wrote:\n"
	                       "%s\nThis is the second time this month.\n",
	                       complaint_line);
}

/* The new text begins "Dana,\n\nThe courier lost the parcel, so this was
 * beyond our control." (bytes 7 to 67): apology-missing is anchored on that
 * sentence, blame-third-party on "courier" inside it. */
static const char decision_json[] =
    "{\"verdict\":\"hold\",\"score\":9,\"complaint\":{\"detected\":true,\"severity\":\"serious\","
    "\"sent\":\"2025-03-03T09:12:00Z\",\"evidence\":3,\"answers\":null,\"clear\":true},"
    "\"findings\":["
    "{\"rule\":\"apology-missing\",\"severity\":\"hold\",\"start\":7,\"end\":67,\"line\":3,"
    "\"excerpt\":\"The courier lost the parcel\",\"principle\":\"p1\",\"advice\":\"a1\"},"
    "{\"rule\":\"blame-third-party\",\"severity\":\"hold\",\"start\":11,\"end\":18,\"line\":3,"
    "\"excerpt\":\"courier\",\"principle\":\"p2\",\"advice\":\"a2\"}]}";

/* A held reply as the daemon records it (RAW: its copy; COMPLAINT_LINE:
 * the first line of the complaint it quotes, NULL for a record of before
 * the store kept the text and the complaint). */
static gint64 put_held(struct store *st, const char *token, const char *sender, int score, gint64 created,
                       const char *findings, const char *raw, const char *complaint_ref,
                       const char *complaint_line)
{
	char *quoted = complaint_line ? quoted_complaint(complaint_line) : NULL;
	struct store_quarantine q = fixture_hold(token);
	q.queue_id = "ABCDEF123";
	q.sender = (char *)sender;
	q.score = score;
	q.findings_json = (char *)findings;
	q.complaint_ref = (char *)complaint_ref;
	fixture_copy(&q, raw, raw ? strlen(raw) : 0);
	q.created = created;
	q.new_text = complaint_line ? (char *)reply_new_text : NULL;
	fixture_complaint(&q, "serious", 1740993120 /* 2025-03-03T09:12:00Z */, quoted);
	q.complaint_recorded = complaint_line != NULL;
	q.complaint_clear = true;
	gint64 id = 0;
	char *err = NULL;
	if (!store_quarantine_put(st, &q, &id, &err))
		fail_msg("put: %s", err);
	g_free(quoted);
	return id;
}

static gint64 put(struct store *st, const char *token, const char *sender, int score, gint64 created,
                  const char *findings, const char *raw)
{
	return put_held(st, token, sender, score, created, findings, raw, NULL, NULL);
}

/* The element <TAG ... id="ID" ...> of the page from its id to its first
 * closing tag. */
static char *element(const struct page *p, const char *tag, const char *id)
{
	char *open = g_strdup_printf(" id=\"%s\"", id), *close = g_strdup_printf("</%s>", tag);
	const char *a = strstr(p->body->str, open), *b = a ? strstr(a, close) : NULL;
	char *out = a && b ? g_strndup(a, (size_t)(b - a)) : NULL;
	g_free(open);
	g_free(close);
	if (out == NULL)
		fail_msg("no <%s id=%s> in the page", tag, id);
	return out;
}

static bool links_to(const char *html, gint64 id)
{
	char *link = g_strdup_printf("/reply/%" G_GINT64_FORMAT "\"", id);
	bool found = strstr(html, link) != NULL;
	g_free(link);
	return found;
}

/* Hold the reply quoting COMPLAINT_LINE (complaint_ref REF) and render its page. */
static void show_reply(struct fixture *fx, const char *token, const char *complaint_line, const char *ref)
{
	char *raw = reply_message(complaint_line);
	gint64 id = put_held(fx->app.st, token, "sam@acme.example", 9, 1741000000, decision_json, raw, ref,
	                     complaint_line);
	page_clear(&fx->page);
	page_reply(&fx->app, &fx->rq, id, NULL, &fx->page);
	assert_int_equal(fx->page.status, 200);
	g_free(raw);
}

static void test_earlier_excludes_the_reply(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL, *raw = reply_message("Order 4471 is late.");
	const gint64 held = 1741000000;
	struct store *st = fx->app.st;
	/* An apology 10 days before, this reply's own (recorded as it was held),
	 * and one made after it. */
	assert_true(
	    store_apology_put(st, "sam@acme.example", "client.example", held - 864000, 1, "c1@x", &err));
	assert_true(store_apology_put(st, "sam@acme.example", "client.example", held, 1, "c2@x", &err));
	assert_true(
	    store_apology_put(st, "sam@acme.example", "client.example", held + 3600, 1, "c3@x", &err));
	gint64 before = put(st, "t0", "sam@acme.example", 5, held - 7200, "{}", NULL);
	gint64 id = put(st, "t1", "sam@acme.example", 9, held, decision_json, raw);
	gint64 after = put(st, "t2", "sam@acme.example", 9, held + 60, "{}", NULL);
	page_reply(&fx->app, &fx->rq, id, NULL, &fx->page);
	assert_int_equal(fx->page.status, 200);
	char *earlier = element(&fx->page, "ul", "earlier");
	assert_non_null(strstr(earlier, "2025-02-21T11:06:40Z")); /* held - 10 days */
	assert_null(strstr(earlier, "2025-03-03T11:06:40Z"));     /* its own apology */
	assert_null(strstr(earlier, "2025-03-03T12:06:40Z"));     /* a later one */
	assert_true(links_to(earlier, before));
	assert_false(links_to(earlier, id));
	assert_false(links_to(earlier, after));
	g_free(earlier);
	g_free(raw);
}

/* The findings of decision_json on the page P: apology-missing a note about
 * the whole reply, blame-third-party marked on "courier" in the new text. */
static void expect_marked(const struct page *p)
{
	char *notes = element(p, "ul", "whole-reply");
	assert_non_null(strstr(notes, "data-rule=\"apology-missing\""));
	assert_null(strstr(notes, "blame-third-party"));
	g_free(notes);
	char *text = element(p, "div", "new-text");
	/* the sentence around "courier" is plain text, not marked */
	assert_non_null(strstr(text, "\">Dana,\n\nThe <mark class=\"hold\" data-rule=\"blame-third-party\""));
	assert_non_null(strstr(text, "</sup> lost the parcel, so this was beyond our control."));
	g_free(text);
}

static void test_whole_reply_finding_is_a_note(void **state)
{
	struct fixture *fx = *state;
	show_reply(fx, "t1", "Order 4471 is late.", NULL);
	const char *body = fx->page.body->str;
	assert_null(strstr(body, "<mark class=\"hold\" data-rule=\"apology-missing\""));
	char *host = g_strdup_printf("<td id=\"host\">%s</td>", g_get_host_name());
	assert_non_null(strstr(body, host)); /* the host that recorded the hold */
	g_free(host);
	assert_non_null(strstr(body,
	                       "<mark class=\"hold\" data-rule=\"blame-third-party\" title=\"blame-third-"
	                       "party\">courier</mark><sup><a href=\"#finding-2\">2</a>"));
	expect_marked(&fx->page);
	char *finding = element(&fx->page, "div", "finding-1");
	assert_non_null(strstr(finding, "about the whole reply"));
	assert_null(strstr(finding, "The courier lost")); /* its anchor is not quoted as the fault */
	g_free(finding);
}

/* A held reply is shown from the store alone: its new text as the daemon
 * judged it and its findings' rows, with no policy and no copy of the
 * message to split again. */
static void test_reply_from_the_store(void **state)
{
	struct fixture *fx = *state;
	struct store_quarantine q = fixture_hold("t1");
	q.queue_id = "ABCDEF124";
	q.findings_json = (char *)decision_json;
	q.new_text = "Dana,\n\nThe courier lost the parcel, so this was beyond our control.\n\nSam\n";
	q.created = 1741000000;
	gint64 id = 0;
	char *err = NULL;
	assert_true(store_quarantine_put(fx->app.st, &q, &id, &err));
	page_reply(&fx->app, &fx->rq, id, NULL, &fx->page);
	assert_int_equal(fx->page.status, 200);
	expect_marked(&fx->page);
	char *text = element(&fx->page, "div", "new-text");
	assert_non_null(strstr(text, "our control.\n\nSam\n")); /* the text stored, whole */
	g_free(text);
}

static void test_complaint_shown_escaped(void **state)
{
	struct fixture *fx = *state;
	const char *line = "Late again <script>alert(\"owned\")</script> & <b>angry</b>";
	show_reply(fx, "t1", line, NULL);
	char *text = element(&fx->page, "div", "complaint-text");
	assert_non_null(strstr(text, "Late again &lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt; &amp; "
	                             "&lt;b&gt;angry&lt;/b&gt;\nThis is the second time this month."));
	assert_non_null(strstr(text, "Dana Whitfield &lt;dana@client.example&gt; wrote:"));
	assert_null(strstr(text, "\n&gt; ")); /* quote markers removed */
	g_free(text);
	assert_null(strstr(fx->page.body->str, "<script"));
	assert_null(strstr(fx->page.body->str, "<b>"));
	/* held: the reviewer may say the thread is no complaint */
	assert_non_null(strstr(fx->page.body->str, "<input type=\"checkbox\" form=\"decide\" "
	                                           "name=\"wrong-complaint\" value=\"1\"> this thread is no "
	                                           "complaint</label>"));
	char *about = element(&fx->page, "p", "complaint");
	assert_non_null(strstr(about, ">serious</span> complaint"));
	assert_non_null(strstr(about, "2025-03-03T09:12:00Z")); /* sent, from the stored decision */
	assert_non_null(strstr(about, "this reply came"));
	g_free(about);
	/* The complaint stored on arrival: its arrival time and Message-ID. */
	struct store_complaint c = {
	    "complaint-4471@client.example", "192.0.2.1", "client.example", 1740990000, true, 1, false};
	char *err = NULL;
	assert_true(store_complaint_put(fx->app.st, &c, &err));
	show_reply(fx, "t2", line, "complaint-4471@client.example");
	about = element(&fx->page, "p", "complaint");
	assert_non_null(strstr(about, "&lt;complaint-4471@client.example&gt; from client.example"));
	assert_non_null(strstr(about, "arrived <span id=\"complaint-date\">2025-03-03T08:20:00Z</span>"));
	assert_non_null(strstr(about, "this reply came 2h later"));
	g_free(about);
}

/* A reply held before the store kept its complaint (and before it kept its
 * new text): notes say so; its copy, which quotes the complaint, is not
 * split again. */
static void test_reply_held_before(void **state)
{
	struct fixture *fx = *state;
	char *raw = reply_message("Order 4471 is late.");
	gint64 id = put(fx->app.st, "t1", "sam@acme.example", 9, 1741000000, decision_json, raw);
	page_reply(&fx->app, &fx->rq, id, NULL, &fx->page);
	assert_int_equal(fx->page.status, 200);
	const char *body = fx->page.body->str;
	char *none = element(&fx->page, "p", "complaint-text-none");
	assert_non_null(strstr(none, "not recorded for replies held before store schema 12"));
	g_free(none);
	none = element(&fx->page, "p", "new-text-none");
	assert_non_null(strstr(none, "not recorded for replies held before store schema 10"));
	g_free(none);
	assert_null(strstr(body, "id=\"complaint-text\""));
	assert_null(strstr(body, "Order 4471 is late."));
	/* severity and date still from the stored decision */
	char *about = element(&fx->page, "p", "complaint");
	assert_non_null(strstr(about, ">serious</span> complaint"));
	assert_non_null(strstr(about, "2025-03-03T09:12:00Z"));
	g_free(about);
	g_free(raw);
}

/* A complaint the daemon did not find clear enough to hold: said so. */
static void test_complaint_not_clear(void **state)
{
	struct fixture *fx = *state;
	struct store_quarantine q = fixture_hold("t1");
	q.verdict = "advise";
	q.new_text = "Sorry.";
	q.created = 1741000000;
	q.state = "monitor";
	fixture_complaint(&q, "normal", -1, "");
	gint64 id = 0;
	char *err = NULL;
	assert_true(store_quarantine_put(fx->app.st, &q, &id, &err));
	page_reply(&fx->app, &fx->rq, id, NULL, &fx->page);
	char *about = element(&fx->page, "p", "complaint");
	assert_non_null(
	    strstr(about, ">normal</span> complaint, sent <span id=\"complaint-date\">at an unknown"));
	g_free(about);
	assert_non_null(strstr(fx->page.body->str, "<p id=\"complaint-unclear\">"));
	char *none = element(&fx->page, "p", "complaint-text-none");
	assert_non_null(strstr(none, "quotes no earlier message"));
	g_free(none);
	assert_null(strstr(fx->page.body->str, "wrong-complaint")); /* not held: nothing to decide */
}

/* ---- the queue ----------------------------------------------------------- */

static void queue(struct fixture *fx, const char *sort, const char *page)
{
	g_hash_table_remove_all(fx->query);
	if (sort)
		g_hash_table_insert(fx->query, g_strdup("sort"), g_strdup(sort));
	if (page)
		g_hash_table_insert(fx->query, g_strdup("page"), g_strdup(page));
	page_clear(&fx->page);
	page_queue(&fx->app, &fx->rq, &fx->page);
	assert_int_equal(fx->page.status, 200);
}

/* The store ids of the queue's rows, in order, as "3,1,2". */
static char *row_ids(const struct page *p)
{
	GString *ids = g_string_new(NULL);
	const char *at = strstr(p->body->str, "<table id=\"queue\">");
	while (at && (at = strstr(at, "<tr><td><a href=\"/reply/")) != NULL) {
		at += strlen("<tr><td><a href=\"/reply/");
		g_string_append_printf(ids, "%s%.*s", ids->len ? "," : "", (int)strcspn(at, "\""), at);
	}
	return g_string_free(ids, FALSE);
}

/* Each row says the host that holds the reply and the state of a decision
 * sent to a host; the reply's page has no decision buttons while one
 * waits. */
static void test_queue_host_and_action(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	gint64 id = put(fx->app.st, "t1", "sam@acme.example", 9, 1741000000, decision_json, NULL);
	struct store_host_action a = {
	    .quarantine_id = id, .host = "mx-b", .verb = "release", .reviewer = "alice", .requested_at = 1};
	assert_true(store_host_action_put(fx->app.st, &a, NULL, &err));
	queue(fx, NULL, NULL);
	char *row = g_strdup_printf(
	    "<td class=\"host\">%s</td><td class=\"action\">release waiting on mx-b</td>", g_get_host_name());
	assert_non_null(strstr(fx->page.body->str, row));
	g_free(row);
	page_clear(&fx->page);
	page_reply(&fx->app, &fx->rq, id, NULL, &fx->page);
	assert_non_null(strstr(fx->page.body->str, "<td id=\"action\">release waiting on mx-b</td>"));
	assert_null(strstr(fx->page.body->str, "id=\"decide\""));
	/* Carried out and failed there: still held, decided again here. */
	struct store_host_action got = {0};
	assert_int_equal(store_host_action_claim(fx->app.st, "mx-b", 2, 300, &got, &err), STORE_FOUND);
	assert_int_equal(store_host_action_done(fx->app.st, &got, 3, "failed: not in the hold queue", &err),
	                 STORE_FOUND);
	store_host_action_clear(&got);
	page_clear(&fx->page);
	page_reply(&fx->app, &fx->rq, id, NULL, &fx->page);
	assert_non_null(strstr(fx->page.body->str, "<td id=\"action\">release failed on mx-b</td>"));
	assert_non_null(strstr(fx->page.body->str, "id=\"decide\""));
}

/* The passed near misses the daemon kept (state "sampled"): a link from the
 * queue of held replies to their own list, a page with the judgement's two
 * buttons (not the decisions about a hold), and the judgement recorded. */
static void test_near_misses_to_judge(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	gint64 held = put(fx->app.st, "t1", "sam@acme.example", 9, 1741000000, decision_json, NULL);
	struct store_quarantine q = fixture_hold("t2");
	q.verdict = "pass";
	q.new_text = "Got it, I will check with finance.";
	q.created = 1740990000; /* before the held reply: not among its earlier holds */
	q.state = "sampled";
	fixture_complaint(&q, NULL, -1, "The February invoice came in higher than the quote.");
	q.complaint_detected = false;
	gint64 near = 0;
	assert_true(store_quarantine_put(fx->app.st, &q, &near, &err));
	queue(fx, NULL, NULL);
	char *ids = row_ids(&fx->page);
	assert_string_equal(ids, "1"); /* held replies only */
	g_free(ids);
	assert_non_null(
	    strstr(fx->page.body->str, "<a href=\"/?state=sampled\">1 near miss(es) to judge</a>"));
	g_hash_table_insert(fx->query, g_strdup("state"), g_strdup("sampled"));
	page_clear(&fx->page);
	page_queue(&fx->app, &fx->rq, &fx->page);
	ids = row_ids(&fx->page);
	assert_string_equal(ids, "2");
	g_free(ids);
	assert_non_null(strstr(fx->page.body->str, "Near misses to judge"));
	assert_non_null(
	    strstr(fx->page.body->str, "<input type=\"hidden\" name=\"state\" value=\"sampled\">"));
	/* its page: the judgement, no decision about a hold, no complaint box */
	page_clear(&fx->page);
	page_reply(&fx->app, &fx->rq, near, NULL, &fx->page);
	const char *body = fx->page.body->str;
	assert_non_null(strstr(body, "<button name=\"action\" value=\"judge-complaint\">"));
	assert_non_null(strstr(body, "<button name=\"action\" value=\"judge-none\">"));
	assert_null(strstr(body, "value=\"release\""));
	assert_null(strstr(body, "wrong-complaint"));
	assert_non_null(strstr(body, "The February invoice came in higher"));
	assert_non_null(strstr(body, "<th>Sent, copy kept</th>"));
	/* a held reply's page has no judgement, and the near miss is no earlier hold */
	page_clear(&fx->page);
	page_reply(&fx->app, &fx->rq, held, NULL, &fx->page);
	assert_null(strstr(fx->page.body->str, "judge-none"));
	char *earlier = element(&fx->page, "ul", "earlier");
	assert_null(strstr(earlier, "/reply/2"));
	assert_non_null(strstr(earlier, "none recorded"));
	g_free(earlier);
	/* judged: recorded, and the record leaves the list */
	GHashTable *form = g_hash_table_new(g_str_hash, g_str_equal);
	g_hash_table_insert(form, "action", "judge-none");
	fx->rq.form = form;
	page_clear(&fx->page);
	page_decide(&fx->app, &fx->rq, near, &fx->page);
	assert_int_equal(fx->page.status, 303);
	assert_string_equal(fx->page.location, "/reply/2?done=judge-none");
	page_clear(&fx->page);
	page_decide(&fx->app, &fx->rq, near, &fx->page); /* once only */
	assert_int_equal(fx->page.status, 409);
	fx->rq.form = NULL;
	g_hash_table_unref(form);
	GArray *labels = store_labels_new();
	assert_true(store_labels_list(fx->app.st, 0, labels, &err));
	assert_int_equal(labels->len, 1);
	assert_string_equal(g_array_index(labels, struct store_label, 0).rule, "near-miss");
	assert_string_equal(g_array_index(labels, struct store_label, 0).verdict, "right");
	g_array_unref(labels);
	page_clear(&fx->page);
	page_queue(&fx->app, &fx->rq, &fx->page);
	ids = row_ids(&fx->page);
	assert_string_equal(ids, "");
	g_free(ids);
}

static void test_queue_sorts_and_pages(void **state)
{
	struct fixture *fx = *state;
	static const char *const senders[] = {"kim@acme.example", "Bea@acme.example", "sam@acme.example"};
	char serious[] = "{\"complaint\":{\"severity\":\"serious\",\"sent\":null},\"findings\":[]}";
	/* 120 held replies, created oldest first in id order, scores 1..9 in a
	 * cycle; every third answered a serious complaint. */
	for (int i = 0; i < 120; i++) {
		char token[16];
		g_snprintf(token, sizeof token, "t%d", i);
		put(fx->app.st, token, senders[i % 3], 1 + (i * 7) % 9, 1740000000 + i * 60,
		    i % 3 == 0 ? serious : "{}", NULL);
	}
	queue(fx, NULL, NULL);
	char *ids = row_ids(&fx->page);
	assert_true(g_str_has_prefix(ids, "1,2,3,"));
	assert_true(g_str_has_suffix(ids, ",49,50"));
	g_free(ids);
	assert_non_null(strstr(fx->page.body->str, "<span id=\"page\">Page 1 of 3</span>"));
	assert_non_null(strstr(fx->page.body->str, "<a id=\"next\" rel=\"next\" href=\"/?page=2\">"));
	assert_null(strstr(fx->page.body->str, "id=\"prev\""));
	assert_non_null(strstr(fx->page.body->str, "<td class=\"severity\">serious</td>"));
	assert_non_null(strstr(fx->page.body->str, "<td class=\"severity\">none</td>"));

	queue(fx, NULL, "3");
	ids = row_ids(&fx->page);
	assert_true(g_str_has_prefix(ids, "101,102,"));
	assert_true(g_str_has_suffix(ids, ",120"));
	g_free(ids);
	assert_non_null(strstr(fx->page.body->str, "<a id=\"prev\" rel=\"prev\" href=\"/?page=2\">"));
	assert_null(strstr(fx->page.body->str, "id=\"next\""));

	queue(fx, "bogus", "99"); /* unknown order: oldest first; past the end: the last page */
	ids = row_ids(&fx->page);
	assert_true(g_str_has_prefix(ids, "101,"));
	g_free(ids);

	queue(fx, "score", NULL);
	ids = row_ids(&fx->page);
	/* score 9 first: i with 7i = 8 (mod 9), i = 5, 14, 23, ... (ids one more) */
	assert_true(g_str_has_prefix(ids, "6,15,24,"));
	g_free(ids);
	assert_non_null(strstr(fx->page.body->str, "href=\"/?sort=score&amp;page=2\""));

	queue(fx, "sender", "2");
	ids = row_ids(&fx->page);
	/* Bea's 40 (ids 2, 5, ... 119), then kim's from id 1: page 2 starts at kim's 11th */
	assert_true(g_str_has_prefix(ids, "31,34,"));
	g_free(ids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sort_names),
	    cmocka_unit_test(test_page_numbers),
	    cmocka_unit_test(test_queue_urls),
	    cmocka_unit_test(test_whole_reply_rules),
	    cmocka_unit_test(test_stylesheet_from_the_file),
	    cmocka_unit_test_setup_teardown(test_earlier_excludes_the_reply, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_whole_reply_finding_is_a_note, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reply_from_the_store, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_complaint_shown_escaped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reply_held_before, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_complaint_not_clear, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queue_sorts_and_pages, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queue_host_and_action, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_near_misses_to_judge, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
