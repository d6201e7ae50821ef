/*
 * test_review.c - what the review tools build on: the store's review
 * queries (list filters, findings, audit trail, outbox, statistics), the
 * cutting of a reply's text by its findings, the review settings and their
 * bounds, the throttling of log-ins per name and address, and `quarantine
 * reconcile`'s comparison of the hold queue with the store and the daemon's
 * spool, and the mail to authors as it is queued.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmime/gmime.h>
#include <sqlite3.h>

#include "decisions.h"
#include "fixtures.h"
#include "labeling.h"
#include "logins.h"
#include "notify.h"
#include "pgtest.h"
#include "quarantine.h"
#include "review_config.h"
#include "spool.h"
#include "store.h"
#include "thread.h"

static const char findings_json[] =
    "{\"verdict\":\"hold\",\"findings\":["
    "{\"rule\":\"apology-missing\",\"severity\":\"hold\",\"start\":0,\"end\":30,\"line\":1,"
    "\"excerpt\":\"x\",\"principle\":\"p\",\"advice\":\"a\"},"
    "{\"rule\":\"blame-third-party\",\"severity\":\"hold\",\"start\":4,\"end\":11,\"line\":1,"
    "\"excerpt\":\"courier\",\"principle\":\"p\",\"advice\":\"a\"}]}";

struct fixture {
	char *dir, *location;
	struct store *st;
};

/* An SQLite store in a temporary directory, or on PostgreSQL
 * (APOLOGY_TEST_PG, emptied first): the store cases run on both. */
static int setup_at(void **state, bool pg)
{
	struct fixture *fx = g_new0(struct fixture, 1);
	char *err = NULL;
	fx->dir = g_dir_make_tmp("test_review-XXXXXX", NULL);
	if (pg)
		pgtest_reset();
	fx->location = pg ? g_strdup(pgtest_location()) : g_strdup_printf("sqlite:%s/store.db", fx->dir);
	fx->st = store_open(fx->location, &err);
	if (fx->st == NULL)
		fail_msg("open: %s", err);
	*state = fx;
	return 0;
}

static int setup(void **state)
{
	return setup_at(state, false);
}

static int setup_pg(void **state)
{
	return setup_at(state, true);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	store_close(fx->st);
	/* the store, and the stand-ins of test_two_hosts and test_one_host */
	const char *names[] = {"store.db", "store.db-wal", "store.db-shm", "mx-a",           "mx-b",
	                       "sendmail", "hang",         "hang.pid",     g_get_host_name()};
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		char *p = g_build_filename(fx->dir, names[i], NULL);
		g_unlink(p);
		g_free(p);
	}
	g_rmdir(fx->dir);
	g_free(fx->dir);
	g_free(fx->location);
	g_free(fx);
	return 0;
}

/* A record held on HOST (NULL: the host running the test). */
static gint64 put_on(struct store *st, const char *host, const char *token, const char *sender,
                     const char *rcpts, const char *findings, gint64 created, const char *state)
{
	struct store_quarantine q = fixture_hold(token);
	q.queue_id = "wB3AbCdE12345";
	q.sender = (char *)sender;
	q.recipients = (char *)rcpts;
	q.findings_json = (char *)findings;
	q.created = created;
	q.state = (char *)state;
	q.host = (char *)host;
	gint64 id = 0;
	char *err = NULL;
	if (!store_quarantine_put(st, &q, &id, &err))
		fail_msg("put: %s", err);
	return id;
}

static gint64 put(struct store *st, const char *token, const char *sender, const char *rcpts,
                  const char *findings, gint64 created, const char *state)
{
	return put_on(st, NULL, token, sender, rcpts, findings, created, state);
}

static unsigned count(struct store *st, struct store_query q)
{
	GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	char *err = NULL;
	gint64 n = -1;
	assert_true(store_quarantine_list(st, &q, rows, &err));
	assert_true(store_quarantine_count(st, &q, &n, &err));
	if (q.limit == 0) /* the count ignores the limit */
		assert_int_equal(n, rows->len);
	unsigned len = rows->len;
	g_ptr_array_unref(rows);
	return len;
}

static void test_list_filters(void **state)
{
	struct fixture *fx = *state;
	gint64 a = put(fx->st, "t1", "Sam@acme.example", "dana@client.example,lee@other.example",
	               findings_json, 1000, "held");
	put(fx->st, "t2", "kim@acme.example", "x@client.example", "{}", 2000, "held");
	put(fx->st, "t3", "sam@acme.example", "y@client.example", "not json", 3000, "released");
	assert_int_equal(count(fx->st, (struct store_query){0}), 3);
	assert_int_equal(count(fx->st, (struct store_query){.state = "held"}), 2);
	assert_int_equal(count(fx->st, (struct store_query){.sender = "sam@ACME.example"}), 2);
	assert_int_equal(count(fx->st, (struct store_query){.client_domain = "other.example"}), 1);
	assert_int_equal(count(fx->st, (struct store_query){.client_domain = "example"}), 0);
	assert_int_equal(count(fx->st, (struct store_query){.rule = "blame-third-party"}), 1);
	assert_int_equal(count(fx->st, (struct store_query){.rule = "' OR 1=1 --"}), 0);
	assert_int_equal(count(fx->st, (struct store_query){.created_before = 2500}), 2);
	assert_int_equal(count(fx->st, (struct store_query){.id = a}), 1);
	assert_int_equal(count(fx->st, (struct store_query){.limit = 1}), 1);
	GArray *f = g_array_new(FALSE, TRUE, sizeof(struct store_finding));
	g_array_set_clear_func(f, (GDestroyNotify)store_finding_clear);
	char *err = NULL;
	assert_true(store_quarantine_findings(fx->st, a, f, &err));
	assert_int_equal(f->len, 2);
	assert_string_equal(g_array_index(f, struct store_finding, 1).rule, "blame-third-party");
	assert_int_equal(g_array_index(f, struct store_finding, 1).start, 4);
	g_array_unref(f);
}

/* The ids of the records QUERY lists, as "3,1,2". */
static char *listed(struct store *st, struct store_query q)
{
	GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	char *err = NULL;
	assert_true(store_quarantine_list(st, &q, rows, &err));
	GString *ids = g_string_new(NULL);
	for (guint i = 0; i < rows->len; i++)
		g_string_append_printf(ids, "%s%" G_GINT64_FORMAT, i ? "," : "",
		                       ((struct store_quarantine *)rows->pdata[i])->id);
	g_ptr_array_unref(rows);
	return g_string_free(ids, FALSE);
}

static void test_list_orders_and_pages(void **state)
{
	struct fixture *fx = *state;
	static const struct {
		const char *sender;
		int score;
		gint64 created;
	} rows[] = {{"kim@x", 3, 100}, {"Bea@x", 9, 300}, {"sam@x", 9, 200}, {"bea@x", 1, 200}};
	for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
		struct store_quarantine q = fixture_hold(g_strdup_printf("t%zu", i));
		q.sender = (char *)rows[i].sender;
		q.score = rows[i].score;
		q.created = rows[i].created;
		char *err = NULL;
		assert_true(store_quarantine_put(fx->st, &q, NULL, &err));
		g_free(q.token);
	}
	static const struct {
		const char *name;
		struct store_query q;
		const char *ids;
	} cases[] = {
	    {"oldest first; ties by id", {.order = STORE_ORDER_OLDEST}, "1,3,4,2"},
	    {"newest first", {.order = STORE_ORDER_NEWEST}, "2,4,3,1"},
	    {"highest score, then oldest", {.order = STORE_ORDER_SCORE}, "3,2,1,4"},
	    {"sender, case-insensitive, then oldest", {.order = STORE_ORDER_SENDER}, "4,2,1,3"},
	    {"an order out of the table: oldest", {.order = (enum store_order)42}, "1,3,4,2"},
	    {"a page: offset and limit", {.order = STORE_ORDER_SCORE, .offset = 1, .limit = 2}, "2,1"},
	    {"past the end", {.offset = 10}, ""},
	    {"created before, newest first", {.order = STORE_ORDER_NEWEST, .created_before = 300}, "4,3,1"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *ids = listed(fx->st, cases[i].q);
		if (strcmp(ids, cases[i].ids) != 0)
			fail_msg("%s: %s, expected %s", cases[i].name, ids, cases[i].ids);
		g_free(ids);
	}
}

/* The complaint of a record is read from its stored decision. */
static void test_list_reads_complaint(void **state)
{
	struct fixture *fx = *state;
	put(fx->st, "t1", "s@x", "d@c.example",
	    "{\"complaint\":{\"severity\":\"serious\",\"sent\":\"2025-03-03T09:12:00Z\"},\"findings\":[]}",
	    10, "held");
	put(fx->st, "t2", "s@x", "d@c.example", "{\"complaint\":{\"severity\":null,\"sent\":null}}", 20,
	    "held");
	put(fx->st, "t3", "s@x", "d@c.example", "not json", 30, "held");
	GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	char *err = NULL;
	assert_true(store_quarantine_list(fx->st, &(struct store_query){0}, rows, &err));
	assert_int_equal(rows->len, 3);
	const struct store_quarantine *a = rows->pdata[0], *b = rows->pdata[1], *c = rows->pdata[2];
	assert_string_equal(a->complaint_severity, "serious");
	assert_int_equal(a->complaint_sent, 1740993120);
	assert_null(b->complaint_severity);
	assert_int_equal(b->complaint_sent, -1);
	assert_null(c->complaint_severity);
	assert_int_equal(c->complaint_sent, -1);
	g_ptr_array_unref(rows);
}

/* Earlier apologies: those made strictly before a time, none at it. */
static void test_history_before(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	for (gint64 at = 100; at <= 400; at += 100)
		assert_true(store_apology_put(fx->st, "s@x", "c.example", at, 1, NULL, &err));
	GArray *h = g_array_new(FALSE, FALSE, sizeof(struct history_entry));
	assert_true(store_history_before(fx->st, "s@x", "c.example", 0, 300, 10, h, &err));
	assert_int_equal(h->len, 2);
	assert_int_equal(g_array_index(h, struct history_entry, 0).when, 200);
	assert_int_equal(g_array_index(h, struct history_entry, 1).when, 100);
	g_array_set_size(h, 0);
	assert_true(store_history_before(fx->st, "s@x", "c.example", 150, 300, 10, h, &err));
	assert_int_equal(h->len, 1);
	g_array_set_size(h, 0);
	assert_true(store_history_get(fx->st, "s@x", "c.example", 0, NULL, 10, h, &err));
	assert_int_equal(h->len, 4); /* no upper bound */
	g_array_unref(h);
}

static void test_trail_outbox_stats(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	gint64 a = put(fx->st, "t1", "sam@acme.example", "d@c.example", findings_json, 86400 * 10, "held");
	assert_true(store_review_put(fx->st, a, "alice", "release-failed", "still held", 50, &err));
	assert_true(store_review_put(fx->st, a, "alice", "release", NULL, 60, &err));
	GArray *trail = g_array_new(FALSE, TRUE, sizeof(struct store_review));
	g_array_set_clear_func(trail, (GDestroyNotify)store_review_clear);
	assert_true(store_review_list(fx->st, a, 0, trail, &err));
	assert_int_equal(trail->len, 2);
	assert_string_equal(g_array_index(trail, struct store_review, 0).action, "release");
	assert_string_equal(g_array_index(trail, struct store_review, 1).sender, "sam@acme.example");
	g_array_unref(trail);

	struct store_outbox o = {.key = "hold:1:webhook",
	                         .quarantine_id = a,
	                         .channel = "webhook",
	                         .event = "hold",
	                         .target = "http://x",
	                         .payload = "{}",
	                         .created = 100,
	                         .next_try = 100};
	bool added = false;
	assert_true(store_outbox_put(fx->st, &o, &added, &err));
	assert_true(added);
	assert_true(store_outbox_put(fx->st, &o, &added, &err));
	assert_false(added); /* the key makes a repeat harmless */
	GArray *due = g_array_new(FALSE, TRUE, sizeof(struct store_outbox));
	g_array_set_clear_func(due, (GDestroyNotify)store_outbox_clear);
	assert_true(store_outbox_due(fx->st, 99, 0, due, &err));
	assert_int_equal(due->len, 0);
	assert_true(store_outbox_due(fx->st, 100, 0, due, &err));
	assert_int_equal(due->len, 1);
	gint64 id = g_array_index(due, struct store_outbox, 0).id, backlog = -1;
	assert_true(store_outbox_backlog(fx->st, &backlog, &err)); /* the metrics' outbox backlog */
	assert_int_equal(backlog, 1);
	/* Two workers read it due: one claims it, the other finds it taken;
	 * claimed, it is not due to anyone until its claim runs out. */
	bool claimed = false;
	assert_true(store_outbox_claim(fx->st, id, 100, 160, &claimed, &err));
	assert_true(claimed);
	assert_true(store_outbox_claim(fx->st, id, 100, 170, &claimed, &err));
	assert_false(claimed);
	g_array_set_size(due, 0);
	assert_true(store_outbox_due(fx->st, 150, 0, due, &err));
	assert_int_equal(due->len, 0);
	assert_true(store_outbox_due(fx->st, 160, 0, due, &err)); /* its claimer died: due again */
	assert_int_equal(due->len, 1);
	assert_int_equal(g_array_index(due, struct store_outbox, 0).attempts, 0);
	assert_true(store_outbox_attempt(fx->st, id, "pending", 200, "HTTP status 500", &err));
	g_array_set_size(due, 0);
	assert_true(store_outbox_due(fx->st, 200, 0, due, &err));
	assert_int_equal(g_array_index(due, struct store_outbox, 0).attempts, 1);
	assert_string_equal(g_array_index(due, struct store_outbox, 0).last_error, "HTTP status 500");
	assert_true(store_outbox_attempt(fx->st, id, "sent", 200, NULL, &err));
	g_array_set_size(due, 0);
	assert_true(store_outbox_due(fx->st, 1000, 0, due, &err));
	assert_int_equal(due->len, 0);
	assert_true(store_outbox_backlog(fx->st, &backlog, &err));
	assert_int_equal(backlog, 0);
	g_array_unref(due);

	GArray *c = g_array_new(FALSE, TRUE, sizeof(struct store_count));
	g_array_set_clear_func(c, (GDestroyNotify)store_count_clear);
	assert_true(store_stats(fx->st, STORE_STAT_RULE, 0, 0, c, &err));
	assert_int_equal(c->len, 2);
	assert_int_equal(g_array_index(c, struct store_count, 0).n, 1);
	g_array_set_size(c, 0);
	assert_true(store_stats(fx->st, STORE_STAT_WEEK, 0, 0, c, &err));
	assert_int_equal(c->len, 1);
	assert_string_equal(g_array_index(c, struct store_count, 0).key, "1970-W01");
	g_array_unref(c);
}

/* A webhook row names its channel, not the URL (which may hold a secret,
 * and is read when the row is sent); a sender with control characters gets
 * no mail (they would reach the SMTP commands); one that does not parse as
 * an address is mailed as it is. */
static void test_notify_targets(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	struct review_config cfg;
	review_config_init(&cfg);
	assert_true(review_config_set(&cfg, "webhook-url=http://hook:s3cret@127.0.0.1:9/x", &err));
	const char *senders[] = {"zoe@acme.example", "zoe@acme.example\r\nRCPT TO:<evil@outsider.example>",
	                         "@b", "<!channel>@acme.example"};
	for (size_t i = 0; i < G_N_ELEMENTS(senders); i++) {
		char token[8];
		snprintf(token, sizeof token, "n%zu", i);
		gint64 id = put(fx->st, token, senders[i], "d@c.example", findings_json, 86400 * 10, "held");
		struct store_quarantine *q = quarantine_load(fx->st, id, &err);
		assert_non_null(q);
		assert_true(notify_queue(&cfg, fx->st, q, "return", "Zoë", "Please call.", 500, &err));
		store_quarantine_free(q);
	}
	GArray *due = g_array_new(FALSE, TRUE, sizeof(struct store_outbox));
	g_array_set_clear_func(due, (GDestroyNotify)store_outbox_clear);
	assert_true(store_outbox_due(fx->st, 500, 0, due, &err));
	unsigned hooks = 0, mails = 0;
	for (guint i = 0; i < due->len; i++) {
		const struct store_outbox *o = &g_array_index(due, struct store_outbox, i);
		if (strcmp(o->channel, "webhook") == 0) {
			hooks++;
			assert_string_equal(o->target, "webhook-url");
			assert_null(strstr(o->payload, "s3cret"));
			/* chat text escaped as Slack reads it; the sender field as it is */
			if (strstr(o->payload, "channel") != NULL) {
				assert_non_null(
				    strstr(o->payload, "\"text\":\"Held reply from &lt;!channel&gt;@acme"));
				assert_non_null(strstr(o->payload, "\"sender\":\"<!channel>@acme.example\""));
			}
		} else {
			mails++;
			assert_null(strpbrk(o->target, "\r\n<>"));
		}
	}
	assert_int_equal(hooks, 4);
	assert_int_equal(mails, 2);
	g_array_unref(due);
	review_config_clear(&cfg);
}

/* The mail to the author (notify.c, built with GMime): a non-ASCII display
 * name, reviewer and comment travel in 7 bits (RFC 2047 in the headers, a
 * transfer encoding in the body) with CRLF line ends, and read back as
 * written. */
static void test_notify_mail_encoded(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	gint64 id = put(fx->st, "t9", "zoe@acme.example", "d@c.example", findings_json, 86400 * 10, "held");
	struct store_quarantine *q = quarantine_load(fx->st, id, &err);
	assert_non_null(q);
	struct review_config cfg;
	review_config_init(&cfg);
	assert_true(review_config_set(&cfg, "mail-from=Équipe de revue <review@acme.example>", &err));
	assert_true(review_config_set(&cfg, "webhook-url=", &err));
	assert_true(notify_queue(&cfg, fx->st, q, "return", "Zoë", "Appelez Dana — merci.", 500, &err));
	GArray *due = g_array_new(FALSE, TRUE, sizeof(struct store_outbox));
	g_array_set_clear_func(due, (GDestroyNotify)store_outbox_clear);
	assert_true(store_outbox_due(fx->st, 500, 0, due, &err));
	assert_int_equal(due->len, 1);
	const struct store_outbox *o = &g_array_index(due, struct store_outbox, 0);
	assert_string_equal(o->channel, "mail");
	assert_string_equal(o->target, "zoe@acme.example");
	const char *mail = o->payload;
	for (const char *p = mail; *p; p++)
		if ((unsigned char)*p >= 0x80 || (*p == '\n' && (p == mail || p[-1] != '\r')))
			fail_msg("not 7-bit CRLF at byte %td: %s", p - mail, mail);
	assert_non_null(strstr(mail, "\r\nFrom: =?")); /* an encoded-word, in whatever charset GMime picks */
	assert_non_null(strstr(mail, "\r\nSubject: Your reply was not sent\r\n"));
	assert_non_null(strstr(mail, "\r\nAuto-Submitted: auto-generated\r\n"));

	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(mail, strlen(mail));
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
	assert_non_null(msg);
	InternetAddress *from = internet_address_list_get_address(g_mime_message_get_from(msg), 0);
	assert_string_equal(internet_address_get_name(from), "Équipe de revue");
	assert_string_equal(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(from)),
	                    "review@acme.example");
	char *body = g_mime_text_part_get_text(GMIME_TEXT_PART(g_mime_message_get_mime_part(msg)));
	assert_non_null(strstr(body, "Comment from Zoë:\r\n  Appelez Dana — merci.\r\n"));
	g_free(body);
	g_object_unref(msg);
	g_object_unref(parser);
	g_object_unref(stream);
	g_array_unref(due);
	store_quarantine_free(q);
	review_config_clear(&cfg);
}

static void test_spans_nested_findings(void **state)
{
	(void)state;
	struct store_finding f[] = {
	    {.start = 0, .end = 30}, {.start = 4, .end = 11}, {.start = 25, .end = 99}};
	GArray *findings = g_array_new(FALSE, FALSE, sizeof(struct store_finding));
	g_array_append_vals(findings, f, 3);
	GArray *spans = quarantine_spans(40, findings);
	/* [0,4) 0, [4,11) 1, [11,30) 0, [30,40) plain; the third is outside the text. */
	static const struct text_span want[] = {{0, 4, 0}, {4, 11, 1}, {11, 30, 0}, {30, 40, -1}};
	assert_int_equal(spans->len, G_N_ELEMENTS(want));
	for (guint i = 0; i < spans->len; i++) {
		const struct text_span *s = &g_array_index(spans, struct text_span, i);
		assert_int_equal(s->start, want[i].start);
		assert_int_equal(s->end, want[i].end);
		assert_int_equal(s->finding, want[i].finding);
	}
	g_array_unref(spans);
	spans = quarantine_spans(0, NULL);
	assert_int_equal(spans->len, 0);
	g_array_unref(spans);
	g_array_unref(findings);
}

static void test_settings(void **state)
{
	(void)state;
	struct review_config cfg;
	char *err = NULL;
	review_config_init(&cfg);
	assert_int_equal(cfg.expire_after, 7 * 86400);
	assert_true(review_config_set(&cfg, "expire-action=release", &err));
	assert_int_equal(cfg.expire_action, EXPIRE_RELEASE);
	assert_false(review_config_set(&cfg, "expire-action=keep", &err));
	assert_non_null(strstr(err, "return or release"));
	g_free(err);
	err = NULL;
	assert_false(review_config_set(&cfg, "no-such-key=1", &err));
	g_free(err);
	char *dir = g_dir_make_tmp("test_review-XXXXXX", NULL);
	char *path = g_build_filename(dir, "review.yaml", NULL);
	g_file_set_contents(path, "# c\nwebhook-url: \"http://h/x\" \nnotify-timeout: 5x\nbogus: 1\n", -1,
	                    NULL);
	assert_false(review_config_load(&cfg, path, &err));
	assert_string_equal(cfg.webhook_url, "http://h/x");
	char *want = g_strdup_printf("%s:3:17: notify-timeout: expected a duration such as 30s, 5m, "
	                             "2h or 7d\n%s:4:1: unknown key bogus\n",
	                             path, path);
	assert_string_equal(err, want);
	g_free(want);
	g_free(err);
	g_unlink(path);
	g_rmdir(dir);
	g_free(path);
	g_free(dir);
	gint64 d = 0;
	assert_true(review_parse_duration("90m", &d));
	assert_int_equal(d, 5400);
	assert_false(review_parse_duration("-1s", &d));
	assert_true(review_parse_duration("3w", &d)); /* the one grammar: weeks too */
	assert_int_equal(d, 3 * 7 * 86400);
	assert_true(review_parse_duration("1h30m", &d));
	assert_int_equal(d, 5400);
	assert_false(review_parse_duration("3y", &d));
	review_config_clear(&cfg);
}

/* The shipped review.yaml reads as YAML with the table's own defaults; the
 * reader is the daemon's, so YAML's own errors come with their place. */
static void test_settings_file_is_yaml(void **state)
{
	(void)state;
	struct review_config cfg;
	char *err = NULL;
	review_config_init(&cfg);
	if (!review_config_load(&cfg, "packaging/review.yaml", &err))
		fail_msg("packaging/review.yaml: %s", err);
	assert_int_equal(cfg.expire_after, 7 * 86400);
	assert_int_equal(cfg.max_body, 64 * 1024);
	assert_string_equal(cfg.webhook_url, "");
	assert_false(cfg.cookie_secure);
	char *dir = g_dir_make_tmp("test_review-XXXXXX", NULL);
	char *path = g_build_filename(dir, "review.yaml", NULL);
	g_file_set_contents(path, "session-ttl: 1h30m\n", -1, NULL);
	assert_true(review_config_load(&cfg, path, &err));
	assert_int_equal(cfg.session_ttl, 5400);
	g_file_set_contents(path, "session-ttl: 1h\nhost-name: mx a\n", -1, NULL);
	assert_false(review_config_load(&cfg, path, &err));
	assert_non_null(strstr(err, ":2:12: host-name: a host name has only letters"));
	g_clear_pointer(&err, g_free);
	g_file_set_contents(path, "session-ttl: 2h\nthreads: &t 4\nconnection-limit: *t\n", -1, NULL);
	assert_false(review_config_load(&cfg, path, &err));
	assert_non_null(strstr(err, ":3:20: YAML alias \"*t\" is not supported"));
	g_free(err);
	g_unlink(path);
	g_rmdir(dir);
	g_free(path);
	g_free(dir);
	review_config_clear(&cfg);
}

/* agent-lease must be longer than what one decision's MTA commands may
 * take, each mta-timeout and the time to stop it: 4 commands with Postfix,
 * 7 with Sendmail.  The defaults pass with either; a lease too short is
 * refused naming both keys. */
static void test_settings_lease_bound(void **state)
{
	(void)state;
	struct review_config cfg;
	review_config_init(&cfg);
	assert_int_equal(cfg.mta_timeout, 30);
	char *err = NULL;
	assert_int_equal(quarantine_mta_commands(&cfg), 4);
	assert_true(review_config_check(&cfg, &err));
	assert_true(review_config_set(&cfg, "sendmail-config=/etc/mail/sendmail.cf", &err));
	assert_int_equal(quarantine_mta_commands(&cfg), 7);
	assert_true(review_config_check(&cfg, &err)); /* 7 x (30s + 2s) = 224s < 5m */
	assert_true(review_config_set(&cfg, "mta-timeout=1m", &err));
	assert_false(review_config_check(&cfg, &err));
	assert_string_equal(err, "agent-lease 5m is not longer than one decision may take: 7 MTA commands "
	                         "(Sendmail), each mta-timeout 1m and 2s to stop it, 434s; raise "
	                         "agent-lease or lower mta-timeout");
	g_clear_pointer(&err, g_free);
	assert_true(review_config_set(&cfg, "sendmail-config=", &err));
	assert_true(review_config_set(&cfg, "mta-timeout=1s", &err));
	assert_true(review_config_set(&cfg, "agent-lease=12s", &err));
	assert_false(review_config_check(&cfg, &err)); /* 4 x (1s + 2s): not longer */
	assert_non_null(strstr(err, "agent-lease 12s is not longer"));
	assert_non_null(strstr(err, "4 MTA commands (Postfix), each mta-timeout 1s and 2s to stop it, 12s"));
	g_clear_pointer(&err, g_free);
	assert_true(review_config_set(&cfg, "agent-lease=13s", &err));
	assert_true(review_config_check(&cfg, &err));
	assert_false(review_config_set(&cfg, "mta-timeout=0", &err));
	assert_string_equal(err, "-o mta-timeout: expected a duration from 1s to 1h");
	g_clear_pointer(&err, g_free);
	assert_false(review_config_set(&cfg, "mta-timeout=61m", &err));
	g_clear_pointer(&err, g_free);
	review_config_clear(&cfg);
}

/* Each bounded setting refuses values outside its bounds, naming them;
 * sizes and address lists are read as documented. */
static void test_settings_bounds(void **state)
{
	(void)state;
	static const struct {
		const char *assignment, *error; /* error NULL: accepted */
	} cases[] = {
	    {"connection-limit=8", NULL},
	    {"connection-limit=7", "-o connection-limit: expected a number from 8 to 10000"},
	    {"connections-per-address=0", "-o connections-per-address: expected a number from 1 to 10000"},
	    {"threads=65", "-o threads: expected a number from 1 to 64"},
	    {"idle-timeout=0", "-o idle-timeout: expected a duration from 1s to 10m"},
	    {"body-timeout=11m", "-o body-timeout: expected a duration from 1s to 10m"},
	    {"max-body=512", "-o max-body: expected a size from 1k to 16m"},
	    {"max-body=1g", "-o max-body: expected a size such as 512, 64k or 1m (bytes)"},
	    {"max-body=1m", NULL},
	    {"login-failures=x", "-o login-failures: expected a number from 1 to 1000"},
	    {"notify-attempts=1001", "-o notify-attempts: expected a number from 1 to 1000"},
	    {"trusted-proxies=127.0.0.1, ::1", NULL},
	    {"trusted-proxies=127.0.0.1,proxy",
	     "-o trusted-proxies: expected IP addresses separated by commas"},
	    /* host-name as the daemon's configuration checks it (util/hostname.c) */
	    {"host-name=mx b", "-o host-name: a host name has only letters, digits, '-', '.' and '_'"},
	    {"host-name=mx/a", "-o host-name: a host name has only letters, digits, '-', '.' and '_'"},
	    {"host-name=mx-b_2.acme.example", NULL},
	};
	struct review_config cfg;
	review_config_init(&cfg);
	assert_int_equal(cfg.max_body, 64 * 1024);
	assert_int_equal(cfg.idle_timeout, 10);
	assert_int_equal(cfg.connections_per_address, 16);
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *err = NULL;
		bool ok = review_config_set(&cfg, cases[i].assignment, &err);
		if (ok != (cases[i].error == NULL) || (err && strcmp(err, cases[i].error) != 0))
			fail_msg("%s: %s", cases[i].assignment, err ? err : "accepted");
		g_free(err);
	}
	assert_int_equal(cfg.max_body, 1024 * 1024);
	assert_string_equal(cfg.trusted_proxies, "127.0.0.1, ::1");
	assert_string_equal(cfg.host_name, "mx-b_2.acme.example"); /* the refused names left it alone */
	char *long_name = g_strdup_printf("host-name=%0254d", 0), *err = NULL;
	assert_false(review_config_set(&cfg, long_name, &err));
	assert_string_equal(err, "-o host-name: a host name has at most 253 characters");
	g_free(err);
	g_free(long_name);
	char a[REVIEW_ADDRESS_MAX];
	assert_true(review_address_canonical(" 0:0::1 ", a));
	assert_string_equal(a, "::1");
	assert_false(review_address_canonical("127.0.0.1:80", a));
	assert_true(review_address_listed("::1", cfg.trusted_proxies));
	assert_false(review_address_listed("127.0.0.2", cfg.trusted_proxies));
	assert_false(review_address_listed("127.0.0.1", ""));
	/* Log-ins are counted per IPv4 address and per IPv6 /64. */
	static const struct {
		const char *in, *out;
	} throttled[] = {
	    {" 192.0.2.7 ", "192.0.2.7"},
	    {"::ffff:192.0.2.7", "192.0.2.7"},
	    {"2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"},
	    {"2001:db8:1:2::1", "2001:db8:1:2::/64"},
	    {"2001:db8:1:2::/64", "2001:db8:1:2::/64"},
	    {"2001:db8:1:3::1", "2001:db8:1:3::/64"},
	    {"::1", "::/64"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(throttled); i++) {
		assert_true(review_address_throttled(throttled[i].in, a));
		assert_string_equal(a, throttled[i].out);
	}
	assert_false(review_address_throttled("192.0.2.7/64", a));
	assert_false(review_address_throttled("/64", a));
	assert_false(review_address_throttled("?", a));
	review_config_clear(&cfg);
}

/* A lock starts at the limit, doubles with each further failure up to the
 * most, and a count whose last failure and lock ended long ago starts over. */
static void test_logins_count(void **state)
{
	(void)state;
	struct store_login l = {0};
	gint64 t = 1000000;
	static const gint64 lock_after[] = {0, 0, 60, 120, 240, 480, 900, 900};
	for (size_t i = 0; i < G_N_ELEMENTS(lock_after); i++) {
		logins_count(&l, 3, t);
		assert_int_equal(l.failures, (int)i + 1);
		assert_int_equal(l.locked_until ? l.locked_until - t : 0, lock_after[i]);
	}
	logins_count(&l, 3, t + 900 + LOGINS_FORGET); /* LOGINS_FORGET after the lock: counted on */
	assert_int_equal(l.failures, 9);
	logins_count(&l, 3, l.locked_until + LOGINS_FORGET + 1);
	assert_int_equal(l.failures, 1);
}

static gint64 locked(struct store *st, const char *name, const char *address, gint64 now)
{
	char *err = NULL;
	gint64 left = logins_locked(st, name, address, now, &err);
	if (left < 0)
		fail_msg("locked: %s", err);
	return left;
}

static struct logins_locks fail_login(const struct review_config *cfg, struct store *st, const char *name,
                                      const char *address, gint64 now)
{
	struct logins_locks started;
	char *err = NULL;
	if (!logins_failed(cfg, st, name, address, now, &started, &err))
		fail_msg("failed: %s", err);
	return started;
}

/* A name is locked from one address only; an address is locked across
 * names; a success clears the name's count but not the address's; forget
 * (what `apologyctl logins unlock` does) clears both; stale records go. */
static void test_logins_by_address(void **state)
{
	struct fixture *fx = *state;
	struct review_config cfg;
	review_config_init(&cfg);
	cfg.login_failures = 2;
	cfg.login_failures_per_address = 4;
	const char *a = "192.0.2.1", *b = "192.0.2.2";
	gint64 t = 1000000;
	assert_int_equal(fail_login(&cfg, fx->st, "alice", a, t).name, 0);
	struct logins_locks s = fail_login(&cfg, fx->st, "alice", a, t);
	assert_true(s.name == 60 && s.address == 0);
	assert_int_equal(locked(fx->st, "alice", a, t + 10), 50);
	assert_int_equal(locked(fx->st, "alice", b, t + 10), 0);
	assert_int_equal(locked(fx->st, "bob", a, t + 10), 0);

	char *err = NULL;
	fail_login(&cfg, fx->st, "bob", a, t);
	/* bob's right password: counted first (the fourth from a, which would
	 * lock a), then taken back: bob's count goes, a's is as it was */
	assert_int_equal(logins_begin(&cfg, fx->st, "bob", a, t, &s, &err), 0);
	assert_true(s.name == 60 && s.address == 60);
	assert_int_equal(locked(fx->st, "dave", a, t), 60);
	assert_true(logins_succeeded(fx->st, "bob", a, &s, &err));
	assert_int_equal(locked(fx->st, "dave", a, t), 0);
	s = fail_login(&cfg, fx->st, "carol", a, t);
	assert_true(s.name == 0 && s.address == 60);
	assert_int_equal(locked(fx->st, "dave", a, t), 60);
	assert_int_equal(locked(fx->st, "dave", b, t), 0);

	int n = 0;
	assert_true(store_login_forget(fx->st, "alice", NULL, &n, &err));
	assert_int_equal(n, 1);
	assert_int_equal(locked(fx->st, "alice", a, t), 60); /* the address still is */
	assert_true(store_login_forget(fx->st, NULL, a, &n, &err));
	assert_int_equal(n, 2); /* the address's record and carol's */
	assert_int_equal(locked(fx->st, "alice", a, t), 0);

	fail_login(&cfg, fx->st, "erin", b, t);
	fail_login(&cfg, fx->st, "frank", a, t + LOGINS_FORGET + 1); /* prunes erin's and b's */
	GArray *rows = store_logins_new();
	assert_true(store_login_list(fx->st, NULL, NULL, rows, &err));
	assert_int_equal(rows->len, 2);
	assert_string_equal(g_array_index(rows, struct store_login, 0).name, "");
	assert_string_equal(g_array_index(rows, struct store_login, 1).name, "frank");
	g_array_unref(rows);
	review_config_clear(&cfg);
}

/* logins_begin() counts an attempt before its password is checked, so
 * attempts checked at once each see the others: at the limit the next is
 * refused, uncounted, while the others are still being checked; a right
 * password takes its count back, and an address whose every attempt was
 * right keeps no record. */
static void test_logins_begin(void **state)
{
	struct fixture *fx = *state;
	struct review_config cfg;
	review_config_init(&cfg);
	cfg.login_failures = 3;
	cfg.login_failures_per_address = 5;
	const char *a = "192.0.2.1";
	gint64 t = 1000000;
	char *err = NULL;
	struct logins_locks s, bob, carol;
	for (int i = 0; i < 3; i++) /* three in flight at once */
		assert_int_equal(logins_begin(&cfg, fx->st, "alice", a, t, &s, &err), 0);
	assert_true(s.name == 60 && s.address == 0);
	assert_int_equal(logins_begin(&cfg, fx->st, "alice", a, t, &s, &err), 60);
	assert_true(s.name == 0 && s.address == 0);
	assert_int_equal(logins_begin(&cfg, fx->st, "bob", a, t, &bob, &err), 0); /* the fourth from a */
	assert_int_equal(logins_begin(&cfg, fx->st, "carol", a, t, &carol, &err), 0);
	assert_int_equal(carol.address, 60); /* the fifth */
	assert_int_equal(logins_begin(&cfg, fx->st, "dave", a, t, &s, &err), 60);
	/* carol's was right: her count goes, and the lock of a her attempt
	 * alone started; bob's was right too */
	assert_true(logins_succeeded(fx->st, "carol", a, &carol, &err));
	assert_int_equal(locked(fx->st, "dave", a, t), 0);
	assert_int_equal(locked(fx->st, "alice", a, t), 60);
	assert_true(logins_succeeded(fx->st, "bob", a, &bob, &err));
	GArray *rows = store_logins_new();
	assert_true(store_login_list(fx->st, NULL, a, rows, &err));
	assert_int_equal(rows->len, 2); /* a's three (alice's) and alice's */
	assert_int_equal(g_array_index(rows, struct store_login, 0).failures, 3);
	g_array_unref(rows);
	/* an address whose attempts were all right keeps no record */
	const char *b = "192.0.2.2";
	for (int i = 0; i < 2; i++) {
		assert_int_equal(logins_begin(&cfg, fx->st, "erin", b, t, &s, &err), 0);
		assert_true(logins_succeeded(fx->st, "erin", b, &s, &err));
	}
	rows = store_logins_new();
	assert_true(store_login_list(fx->st, NULL, b, rows, &err));
	assert_int_equal(rows->len, 0);
	g_array_unref(rows);
	/* an address at its limit whose lock has ended: a right password
	 * there starts no new lock for the others, nor keeps the record alive */
	const char *c = "192.0.2.3";
	cfg.login_failures_per_address = 3;
	for (int i = 0; i < 3; i++)
		fail_login(&cfg, fx->st, "user", c, t);
	assert_int_equal(locked(fx->st, "bob", c, t), 60);
	assert_int_equal(logins_begin(&cfg, fx->st, "erin", c, t + 61, &s, &err), 0);
	assert_int_equal(s.address, 120); /* had it been wrong */
	assert_true(logins_succeeded(fx->st, "erin", c, &s, &err));
	assert_int_equal(locked(fx->st, "bob", c, t + 62), 0);
	rows = store_logins_new();
	assert_true(store_login_list(fx->st, "", c, rows, &err));
	assert_int_equal(rows->len, 1);
	assert_int_equal(g_array_index(rows, struct store_login, 0).failures, 3);
	assert_true(g_array_index(rows, struct store_login, 0).last == t);
	g_array_unref(rows);
	review_config_clear(&cfg);
}

/* The hold queue against the store's held records and the daemon's spool:
 * a record whose message left the hold queue, held mail with no record
 * (shown with its spooled record when the daemon could not store it), and
 * with no store at all every held message, so reviewers still see them. */
static void test_reconcile(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	put(fx->st, "tok-a", "sam@acme.example", "dana@client.example", findings_json, 1000, "held");
	GHashTable *queue = g_hash_table_new(g_str_hash, g_str_equal);
	g_hash_table_insert(queue, "wB3AbCdE12345", "deferred"); /* the store's record: released by hand */
	g_hash_table_insert(queue, "SPOOLED1", "hold");          /* held while the store was unavailable */
	g_hash_table_insert(queue, "UNKNOWN1", "hold");          /* held with no record anywhere */
	g_hash_table_insert(queue, "ACTIVE1", "active");

	struct spool *sp = spool_new(fx->dir, 1 << 20);
	struct store_quarantine q = fixture_hold("tok-s");
	q.queue_id = "SPOOLED1";
	q.sender = "kim@acme.example";
	q.recipients = "lee@client.example";
	q.score = 14;
	q.findings_json = (char *)findings_json;
	assert_true(spool_hold(sp, &q, NULL, &err));
	GPtrArray *held = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	GPtrArray *spooled = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	unsigned waiting = 0;
	assert_true(store_quarantine_list(fx->st, &(struct store_query){.state = "held"}, held, &err));
	assert_true(spool_read(fx->dir, &waiting, spooled, &err));
	assert_int_equal(waiting, 1);

	GString *report = g_string_new(NULL);
	assert_int_equal(quarantine_reconcile(queue, held, spooled, report), 3);
	assert_non_null(strstr(report->str,
	                       "not held: message 1 (queue id wB3AbCdE12345) is held in the store but "
	                       "in the queue deferred (apologyctl quarantine forget 1 records that)\n"));
	assert_non_null(strstr(report->str,
	                       "no record: queue id SPOOLED1 is in the hold queue with no held "
	                       "record; its record waits in the daemon's spool until the store can "
	                       "take it: token tok-s, from kim@acme.example to lee@client.example, "
	                       "verdict hold, score 14, held 2023-11-14T22:13:20Z\n"));
	assert_non_null(strstr(report->str, "no record: queue id UNKNOWN1 is in the hold queue with no held "
	                                    "record (postcat -hq UNKNOWN1 shows it)\n"));
	assert_null(strstr(report->str, "ACTIVE1"));

	/* No store: every held message is one without a record. */
	g_string_truncate(report, 0);
	assert_int_equal(quarantine_reconcile(queue, NULL, spooled, report), 2);
	assert_null(strstr(report->str, "not held"));
	assert_non_null(strstr(report->str, "queue id SPOOLED1"));
	assert_non_null(strstr(report->str, "queue id UNKNOWN1"));
	g_string_free(report, TRUE);
	g_ptr_array_unref(held);
	g_ptr_array_unref(spooled);
	g_hash_table_unref(queue);
	spool_free(sp);
	char *path = g_build_filename(fx->dir, SPOOL_FILE, NULL);
	g_unlink(path);
	g_free(path);
}

static const char *label_verdict(const GArray *labels, const char *rule)
{
	for (guint i = 0; i < labels->len; i++)
		if (strcmp(g_array_index(labels, struct store_label, i).rule, rule) == 0)
			return g_array_index(labels, struct store_label, i).verdict;
	return NULL;
}

/* The verdicts of LABELS for the rules of test_labels_for_decision (NULL:
 * no label), then LABELS freed. */
static void expect_labels(GArray *labels, const char *blame, const char *remedy, const char *complaint)
{
	const char *want[][2] = {
	    {"blame-third-party", blame}, {"no-remedy", remedy}, {LABEL_COMPLAINT, complaint}};
	for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
		if (want[i][1] == NULL)
			assert_null(label_verdict(labels, want[i][0]));
		else
			assert_string_equal(label_verdict(labels, want[i][0]), want[i][1]);
	}
	g_array_unref(labels);
}

/* What each decision says about the rules on a reply (labeling.h). */
static void test_labels_for_decision(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	static const char three[] =
	    "{\"findings\":[{\"rule\":\"blame-third-party\",\"start\":4,\"end\":11,\"excerpt\":\"courier\"},"
	    "{\"rule\":\"no-remedy\",\"start\":0,\"end\":0,\"excerpt\":\"\"},"
	    "{\"rule\":\"blame-third-party\",\"start\":20,\"end\":30,\"excerpt\":\"supplier\"}]}";
	gint64 id = put(fx->st, "lab", "sam@acme.example", "d@c.example", three, 100, "held");
	GArray *findings = store_findings_new();
	assert_true(store_quarantine_findings(fx->st, id, findings, &err));
	GPtrArray *wrong = g_ptr_array_new();

	static const char quoted[] = "This is the third time\n\n  the order is late.  " /* 48 chars */
	                             "We are furious, and we expect a call from your manager today, "
	                             "or we will cancel the contract with you at the end of the month.";
	/* release, nothing marked: the hold was wrong, every rule with it; the
	 * complaint unjudged (nobody said why the hold was wrong) */
	GArray *l = labels_for_decision(id, findings, "release", wrong, quoted, "alice", 500);
	assert_int_equal(l->len, 2); /* one per rule */
	assert_string_equal(label_verdict(l, "blame-third-party"), "wrong");
	assert_string_equal(label_verdict(l, "no-remedy"), "wrong");
	assert_null(label_verdict(l, LABEL_COMPLAINT));
	const struct store_label *first = &g_array_index(l, struct store_label, 1);
	assert_string_equal(first->rule, "blame-third-party"); /* in the findings' (span) order */
	assert_string_equal(first->excerpt, "courier");        /* the rule's first finding */
	assert_string_equal(first->action, "release");
	assert_string_equal(first->reviewer, "alice");
	assert_int_equal(first->at, 500);
	assert_int_equal(first->quarantine_id, id);
	g_array_unref(l);

	/* release with one marked: that one wrong, the others right, and the
	 * thread taken for the complaint it was */
	g_ptr_array_add(wrong, "no-remedy");
	l = labels_for_decision(id, findings, "release", wrong, quoted, "alice", 500);
	assert_string_equal(label_verdict(l, "blame-third-party"), "right");
	assert_string_equal(label_verdict(l, "no-remedy"), "wrong");
	assert_string_equal(label_verdict(l, LABEL_COMPLAINT), "right");
	/* its excerpt: the quoted text's start, white space made one space */
	const struct store_label *last = &g_array_index(l, struct store_label, l->len - 1);
	assert_string_equal(last->rule, LABEL_COMPLAINT);
	assert_int_equal(g_utf8_strlen(last->excerpt, -1), 120);
	assert_true(g_str_has_prefix(last->excerpt, "This is the third time the order is late. We are"));
	g_array_unref(l);

	/* return and discard: right, except what was marked */
	expect_labels(labels_for_decision(id, findings, "return", wrong, quoted, "alice", 500), "right",
	              "wrong", "right");
	l = labels_for_decision(id, findings, "discard", NULL, NULL, "alice", 500);
	assert_null(g_array_index(l, struct store_label, l->len - 1).excerpt); /* nothing quoted */
	expect_labels(l, "right", "right", "right");

	/* "no complaint": the complaint wrong; on a release that marks nothing
	 * else the findings are not judged, beside marked rules they are */
	GPtrArray *none = g_ptr_array_new();
	g_ptr_array_add(none, LABEL_COMPLAINT);
	expect_labels(labels_for_decision(id, findings, "release", none, quoted, "alice", 500), NULL, NULL,
	              "wrong");
	expect_labels(labels_for_decision(id, findings, "return", none, quoted, "alice", 500), "right",
	              "right", "wrong");
	g_ptr_array_add(none, "no-remedy");
	expect_labels(labels_for_decision(id, findings, "release", none, quoted, "alice", 500), "right",
	              "wrong", "wrong");
	assert_true(labels_check_wrong(findings, none, &err)); /* the complaint can always be judged */
	g_ptr_array_unref(none);
	/* expiry: nobody judged it */
	l = labels_for_decision(id, findings, "expire-release", NULL, quoted, "root", 500);
	assert_int_equal(l->len, 0);
	g_array_unref(l);

	assert_true(labels_check_wrong(findings, wrong, &err));
	assert_true(labels_check_wrong(findings, NULL, &err));
	g_ptr_array_add(wrong, "over-apology");
	assert_false(labels_check_wrong(findings, wrong, &err));
	assert_non_null(strstr(err, "\"over-apology\" is not a rule of this reply"));
	assert_non_null(strstr(err, "(they are: no-remedy,blame-third-party; \"complaint\" says the thread"));
	g_clear_pointer(&err, g_free);

	/* A decision with a rule that is not on the reply changes nothing. */
	struct review_config cfg;
	review_config_init(&cfg);
	assert_false(
	    quarantine_decide(&cfg, fx->st, id, REVIEW_RELEASE, "alice", NULL, wrong, 600, NULL, &err));
	assert_non_null(strstr(err, "over-apology"));
	g_clear_pointer(&err, g_free);
	assert_int_equal(count(fx->st, (struct store_query){.state = "held", .id = id}), 1);
	GArray *trail = g_array_new(FALSE, TRUE, sizeof(struct store_review));
	g_array_set_clear_func(trail, (GDestroyNotify)store_review_clear);
	assert_true(store_review_list(fx->st, id, 0, trail, &err));
	assert_int_equal(trail->len, 0);
	g_array_unref(trail);
	GArray *stored = store_labels_new();
	assert_true(store_labels_list(fx->st, 0, stored, &err));
	assert_int_equal(stored->len, 0);
	g_array_unref(stored);
	review_config_clear(&cfg);

	struct store_precision p = {.right = 3, .wrong = 1};
	char *text = labels_precision_text(&p);
	assert_string_equal(text, "0.75");
	g_free(text);
	p.right = 0;
	p.wrong = 0;
	text = labels_precision_text(&p);
	assert_string_equal(text, "-");
	g_free(text);

	g_ptr_array_unref(wrong);
	g_array_unref(findings);
}

/* A reviewer's judgement of a passed near miss (quarantine_judge): only of
 * a record in state "sampled", once; it moves to "judged" with an audit
 * entry and the near-miss label. */
static void test_judge_near_miss(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	gint64 near =
	           put(fx->st, "nm1", "sam@acme.example", "d@c.example", "{\"findings\":[]}", 100, "sampled"),
	       other =
	           put(fx->st, "nm2", "sam@acme.example", "d@c.example", "{\"findings\":[]}", 100, "sampled"),
	       held = put(fx->st, "nm3", "sam@acme.example", "d@c.example", "{\"findings\":[]}", 100, "held");
	assert_false(quarantine_judge(fx->st, held, true, "alice", NULL, 500, &err));
	assert_non_null(strstr(err, "is held, not a near miss kept for review"));
	g_clear_pointer(&err, g_free);
	assert_false(quarantine_judge(fx->st, 9999, true, "alice", NULL, 500, &err));
	g_clear_pointer(&err, g_free);
	assert_true(quarantine_judge(fx->st, near, true, "alice", "angry after all", 500, &err));
	assert_true(quarantine_judge(fx->st, other, false, "bob", NULL, 600, &err));
	assert_false(quarantine_judge(fx->st, near, false, "bob", NULL, 700, &err)); /* judged once */
	assert_non_null(strstr(err, "is judged"));
	g_clear_pointer(&err, g_free);
	assert_int_equal(count(fx->st, (struct store_query){.state = "judged"}), 2);
	assert_int_equal(count(fx->st, (struct store_query){.state = "held"}), 1);
	GArray *trail = g_array_new(FALSE, TRUE, sizeof(struct store_review));
	g_array_set_clear_func(trail, (GDestroyNotify)store_review_clear);
	assert_true(store_review_list(fx->st, near, 0, trail, &err));
	assert_int_equal(trail->len, 1);
	assert_string_equal(g_array_index(trail, struct store_review, 0).action, "judge-complaint");
	assert_string_equal(g_array_index(trail, struct store_review, 0).note, "angry after all");
	g_array_unref(trail);
	GArray *labels = store_labels_new();
	assert_true(store_labels_list(fx->st, 0, labels, &err));
	assert_int_equal(labels->len, 2);
	const struct store_label *a = &g_array_index(labels, struct store_label, 0),
	                         *b = &g_array_index(labels, struct store_label, 1);
	assert_string_equal(a->rule, LABEL_NEAR_MISS);
	assert_string_equal(a->verdict, "wrong"); /* a complaint the gate missed */
	assert_string_equal(a->action, "judge");
	assert_string_equal(b->verdict, "right"); /* none, as the gate said */
	assert_string_equal(b->reviewer, "bob");
	g_array_unref(labels);
}

static void test_precision_html_escaped(void **state)
{
	(void)state;
	GArray *p = store_precisions_new();
	struct store_precision a = {g_strdup("blame-third-party"), 1, 3,
	                            g_strdup("<script>alert(1)</script> & co")};
	struct store_precision b = {g_strdup("no-remedy"), 2, 0, NULL};
	struct store_precision gate = {g_strdup(LABEL_COMPLAINT), 5, 4, g_strdup("Our board meets")};
	g_array_append_val(p, gate); /* most often wrong, but the gate's, not a rule's */
	g_array_append_val(p, a);
	g_array_append_val(p, b);
	GString *o = g_string_new(NULL);
	labels_precision_html(o, p, 10);
	assert_null(strstr(o->str, "<script>"));
	assert_non_null(strstr(o->str, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"));
	assert_non_null(strstr(o->str, "<td class=\"prec\">0.25</td>"));
	assert_non_null(strstr(o->str, "<td class=\"prec\">1.00</td>"));
	/* only rules marked wrong are among the most often wrong */
	assert_non_null(strstr(o->str, "<li data-rule=\"blame-third-party\">"));
	assert_null(strstr(o->str, "<li data-rule=\"no-remedy\">"));
	assert_non_null(strstr(o->str, "<td class=\"rule\">complaint</td>")); /* in the table */
	assert_null(strstr(o->str, "<li data-rule=\"complaint\">"));
	g_string_free(o, TRUE);
	g_array_unref(p);
}

/* The daemon's decisions counted as the store counts holds. */
static void test_decisions_count(void **state)
{
	(void)state;
	GArray *d = store_decisions_new();
	/* 2026-01-05 is a Monday: week 01; the Sunday before is in week 00 */
	struct store_decision in[] = {
	    {1767571200, g_strdup("Sam@us.example"), g_strdup("c"), g_strdup("advise"),
	     g_strdup("excuse,no-remedy"), g_strdup("k1")},
	    {1767571200 - 3600, g_strdup("sam@us.example"), g_strdup("c"), g_strdup("advise"),
	     g_strdup("excuse"), g_strdup("k2")},
	    {1767571200 + 86400, g_strdup("kim@us.example"), g_strdup("c"), g_strdup("advise"), g_strdup(""),
	     g_strdup("k3")},
	};
	g_array_append_vals(d, in, G_N_ELEMENTS(in));
	GArray *c = store_counts_new();
	decisions_count(d, STORE_STAT_WEEK, c);
	assert_int_equal(c->len, 2);
	assert_string_equal(g_array_index(c, struct store_count, 0).key, "2026-W00");
	assert_int_equal(g_array_index(c, struct store_count, 0).n, 1);
	assert_string_equal(g_array_index(c, struct store_count, 1).key, "2026-W01");
	assert_int_equal(g_array_index(c, struct store_count, 1).n, 2);
	g_array_set_size(c, 0);
	decisions_count(d, STORE_STAT_RULE, c); /* a reply with no rule counts for none */
	assert_int_equal(c->len, 2);
	assert_string_equal(g_array_index(c, struct store_count, 0).key, "excuse");
	assert_int_equal(g_array_index(c, struct store_count, 0).n, 2);
	assert_string_equal(g_array_index(c, struct store_count, 1).key, "no-remedy");
	g_array_set_size(c, 0);
	decisions_count(d, STORE_STAT_SENDER, c);
	assert_int_equal(c->len, 2);
	assert_string_equal(g_array_index(c, struct store_count, 0).key, "sam@us.example");
	assert_int_equal(g_array_index(c, struct store_count, 0).n, 2);
	g_array_unref(c);
	g_array_unref(d);
}
/* ---- one queue, several hosts ------------------------------------------- */

/* Write an executable shell script NAME in DIR; the caller frees the path. */
static char *script(const char *dir, const char *name, const char *body)
{
	char *path = g_build_filename(dir, name, NULL);
	char *text = g_strdup_printf("#!/bin/sh\n%s\n", body);
	assert_true(g_file_set_contents(path, text, -1, NULL));
	assert_int_equal(g_chmod(path, 0755), 0);
	g_free(text);
	return path;
}

/* A stand-in for Sendmail's queue listing (sendmail -bp, -bp -qQ): the held
 * records' message, quarantined while DIR/held exists and queued while
 * DIR/queued does; without either the queue is empty, so that a release is
 * checked as done without an MTA. */
static char *queue_listing(const char *dir)
{
	char *body =
	    g_strdup_printf("case \"$*\" in *-qQ*) f=held ;; *) f=queued ;; esac\n"
	                    "[ -f '%s'/$f ] && echo 'wB3AbCdE12345    1024 Thu Dec  3 10:00 <sam@us>'\n"
	                    "exit 0",
	                    dir);
	char *path = script(dir, "sendmail", body);
	g_free(body);
	return path;
}

/* Put the held records' message where a queue listing shows it: WHERE is
 * "held", "queued" or NULL (gone). */
static void queue_has(const char *dir, const char *where)
{
	for (int i = 0; i < 2; i++) {
		const char *name = i ? "queued" : "held";
		char *path = g_build_filename(dir, name, NULL);
		if (where && strcmp(where, name) == 0)
			assert_true(g_file_set_contents(path, "", 0, NULL));
		else
			g_unlink(path);
		g_free(path);
	}
}

/* The review settings of mail host HOST: its own helper, which notes its
 * calls in DIR/calls and succeeds, and a Sendmail quarantine whose queue
 * listing is queue_listing()'s. */
static void host_config(struct review_config *cfg, const char *dir, const char *host)
{
	review_config_init(cfg);
	char *body = g_strdup_printf("echo \"%s $*\" >>'%s/calls'", host, dir);
	char *helper = script(dir, host, body), *sendmail = queue_listing(dir);
	char *set[] = {g_strdup_printf("host-name=%s", host), g_strdup_printf("helper=%s", helper),
	               g_strdup_printf("sendmail-program=%s", sendmail),
	               g_strdup_printf("sendmail-config=%s/sendmail.cf", dir)};
	char *err = NULL;
	for (size_t i = 0; i < G_N_ELEMENTS(set); i++) {
		if (!review_config_set(cfg, set[i], &err))
			fail_msg("%s", err);
		g_free(set[i]);
	}
	g_free(body);
	g_free(helper);
	g_free(sendmail);
}

static char *helper_calls(const char *dir)
{
	char *path = g_build_filename(dir, "calls", NULL), *text = NULL;
	if (!g_file_get_contents(path, &text, NULL, NULL))
		text = g_strdup("");
	g_unlink(path);
	g_free(path);
	return text;
}

struct agent {
	const struct review_config *cfg;
	struct store *st; /* a handle of its own */
	GMutex *start;    /* held until both agents are ready */
	int n;
	char *err;
};

/* One agent's look at the store. */
static gpointer agent_once(gpointer data)
{
	struct agent *a = data;
	GString *report = g_string_new(NULL);
	g_mutex_lock(a->start);
	g_mutex_unlock(a->start);
	a->n = quarantine_agent_once(a->cfg, a->st, 700, report, &a->err);
	g_string_free(report, TRUE);
	return NULL;
}

static char *state_of(struct store *st, gint64 id)
{
	char *err = NULL;
	struct store_quarantine *q = quarantine_load(st, id, &err);
	if (q == NULL)
		fail_msg("%s", err ? err : "no record");
	char *state = g_strdup(q->state);
	store_quarantine_free(q);
	return state;
}

/* The newest entry of record ID's audit trail as "action: note". */
static char *last_review(struct store *st, gint64 id)
{
	GArray *trail = g_array_new(FALSE, TRUE, sizeof(struct store_review));
	g_array_set_clear_func(trail, (GDestroyNotify)store_review_clear);
	char *err = NULL;
	if (!store_review_list(st, id, 1, trail, &err) || trail->len != 1)
		fail_msg("audit trail: %s", err ? err : "empty");
	const struct store_review *r = &g_array_index(trail, struct store_review, 0);
	char *text = g_strdup_printf("%s: %s", r->action, r->note ? r->note : "");
	g_array_unref(trail);
	return text;
}

/* Two mail hosts on one store (two handles, host names mx-a and mx-b): one
 * queue; a decision made on mx-a about mx-b's hold waits for mx-b, whose
 * agents (two polling at once) carry it out exactly once through mx-b's
 * helper; mx-a's hold is decided on mx-a at once, as with one host. */
static void test_two_hosts(void **state)
{
	struct fixture *fx = *state;
	if (geteuid() != 0)
		skip(); /* the helper would be run through sudo */
	char *err = NULL, *sent_to = NULL;
	struct review_config a, b;
	host_config(&a, fx->dir, "mx-a");
	host_config(&b, fx->dir, "mx-b");
	struct store *st_b = store_open(fx->location, &err);
	assert_non_null(st_b);
	gint64 on_a =
	    put_on(fx->st, "mx-a", "aaaa", "sam@us", "d@client.example", findings_json, 100, "held");
	gint64 on_b = put_on(st_b, "mx-b", "bbbb", "kim@us", "e@client.example", findings_json, 200, "held");
	assert_int_equal(count(fx->st, (struct store_query){.state = "held"}), 2);
	assert_int_equal(count(st_b, (struct store_query){.state = "held"}), 2);

	GPtrArray *wrong = g_ptr_array_new();
	g_ptr_array_add(wrong, "blame-third-party");
	g_ptr_array_add(wrong, LABEL_COMPLAINT); /* travels with the rules */
	assert_true(
	    quarantine_decide(&a, fx->st, on_b, REVIEW_RELEASE, "alice", "fine", wrong, 500, &sent_to, &err));
	assert_string_equal(sent_to, "mx-b");
	g_clear_pointer(&sent_to, g_free);
	char *calls = helper_calls(fx->dir), *st = state_of(fx->st, on_b);
	assert_string_equal(calls, ""); /* mx-a's helper never ran */
	assert_string_equal(st, "held");
	g_free(calls);
	g_free(st);
	bool open = false;
	struct store_quarantine *q = quarantine_load(fx->st, on_b, &err);
	char *action = quarantine_action_state(fx->st, q, &open);
	assert_string_equal(action, "release waiting on mx-b");
	assert_true(open);
	g_free(action);
	/* A second decision while the first waits is refused. */
	assert_false(
	    quarantine_decide(&a, fx->st, on_b, REVIEW_DISCARD, "bob", NULL, NULL, 510, &sent_to, &err));
	assert_non_null(strstr(err, "has a release waiting on mx-b"));
	g_clear_pointer(&err, g_free);

	/* mx-a's agent has nothing to do; mx-b's two agents poll at once. */
	GString *report = g_string_new(NULL);
	assert_int_equal(quarantine_agent_once(&a, fx->st, 600, report, &err), 0);
	assert_string_equal(report->str, "");
	GMutex start;
	g_mutex_init(&start);
	g_mutex_lock(&start);
	/* the second agent on a handle of its own, as on another process */
	struct store *st_b2 = store_open(fx->location, &err);
	assert_non_null(st_b2);
	struct agent agents[2] = {{.cfg = &b, .st = st_b, .start = &start},
	                          {.cfg = &b, .st = st_b2, .start = &start}};
	GThread *t[2];
	for (int i = 0; i < 2; i++)
		t[i] = g_thread_new("agent", agent_once, &agents[i]);
	g_usleep(100000);
	g_mutex_unlock(&start);
	for (int i = 0; i < 2; i++) {
		g_thread_join(t[i]);
		if (agents[i].n < 0)
			fail_msg("agent %d: %s", i, agents[i].err);
	}
	store_close(st_b2);
	g_mutex_clear(&start);
	assert_int_equal(agents[0].n + agents[1].n, 1);
	calls = helper_calls(fx->dir);
	char *want = g_strdup_printf("mx-b -C %s/sendmail.cf release wB3AbCdE12345 bbbb\n", fx->dir);
	assert_string_equal(calls, want);
	g_clear_pointer(&want, g_free);
	g_free(calls);
	st = state_of(st_b, on_b);
	assert_string_equal(st, "released");
	g_free(st);
	action = quarantine_action_state(fx->st, q, &open);
	assert_string_equal(action, "release done on mx-b");
	assert_false(open);
	g_free(action);
	store_quarantine_free(q);
	/* The audit trail: sent by alice, then carried out as alice's. */
	GArray *trail = g_array_new(FALSE, TRUE, sizeof(struct store_review));
	g_array_set_clear_func(trail, (GDestroyNotify)store_review_clear);
	assert_true(store_review_list(fx->st, on_b, 0, trail, &err));
	GString *seen = g_string_new(NULL);
	for (guint i = 0; i < trail->len; i++) {
		const struct store_review *r = &g_array_index(trail, struct store_review, i);
		g_string_append_printf(seen, "%s by %s;", r->action, r->reviewer);
	}
	assert_non_null(strstr(seen->str, "release-sent by alice;"));
	assert_non_null(strstr(seen->str, "release by alice;"));
	g_string_free(seen, TRUE);
	g_array_unref(trail);
	/* ... with the finding and the complaint marked wrong on mx-a as labels. */
	GArray *labels = store_labels_new();
	assert_true(store_labels_list(fx->st, 0, labels, &err));
	assert_string_equal(label_verdict(labels, "blame-third-party"), "wrong");
	assert_string_equal(label_verdict(labels, LABEL_COMPLAINT), "wrong");
	g_array_unref(labels);
	/* Nothing left for mx-b. */
	assert_int_equal(quarantine_agent_once(&b, st_b, 800, report, &err), 0);

	/* mx-a's own hold, decided on mx-a: its helper at once, no action. */
	assert_true(
	    quarantine_decide(&a, fx->st, on_a, REVIEW_DISCARD, "bob", NULL, NULL, 900, &sent_to, &err));
	assert_null(sent_to);
	calls = helper_calls(fx->dir);
	want = g_strdup_printf("mx-a -C %s/sendmail.cf discard wB3AbCdE12345 aaaa\n", fx->dir);
	assert_string_equal(calls, want);
	g_free(want);
	g_free(calls);
	q = quarantine_load(fx->st, on_a, &err);
	assert_null(quarantine_action_state(fx->st, q, NULL));
	store_quarantine_free(q);
	g_string_free(report, TRUE);
	g_ptr_array_unref(wrong);
	store_close(st_b);
	review_config_clear(&a);
	review_config_clear(&b);
}

/* The helper's audit trail as "action: note" lines, oldest first. */
static char *trail_of(struct store *st, gint64 id)
{
	GArray *trail = g_array_new(FALSE, TRUE, sizeof(struct store_review));
	g_array_set_clear_func(trail, (GDestroyNotify)store_review_clear);
	char *err = NULL;
	if (!store_review_list(st, id, 0, trail, &err))
		fail_msg("audit trail: %s", err);
	GString *text = g_string_new(NULL);
	for (guint i = trail->len; i-- > 0;) {
		const struct store_review *r = &g_array_index(trail, struct store_review, i);
		g_string_append_printf(text, "%s: %s\n", r->action, r->note ? r->note : "");
	}
	g_array_unref(trail);
	return g_string_free(text, FALSE);
}

/* The row the helper apology-postsuper writes to its own audit trail
 * before it runs postsuper (ACTION on hold ID at AT), in FX's store. */
static void helper_wrote_start(struct fixture *fx, gint64 id, const char *action, gint64 at)
{
	char *sql = g_strdup_printf(
	    "INSERT INTO helper_actions (at, caller, action, queue_id, token, "
	    "postfix_config, quarantine_id, outcome, detail) VALUES (%" G_GINT64_FORMAT
	    ", 'root', '%s', 'wB3AbCdE12345', 't', '', %" G_GINT64_FORMAT ", 'running', 'postsuper started')",
	    at, action, id);
	if (g_str_has_prefix(fx->location, "sqlite:")) {
		sqlite3 *db = NULL;
		assert_int_equal(sqlite3_open(fx->location + strlen("sqlite:"), &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
	} else {
		g_free(pgtest_query(sql));
	}
	g_free(sql);
}

/* A hold of mx-b decided VERB on mx-a at 500 and claimed by an agent of
 * mx-b at 600 that then stopped (no result); the action. */
static struct store_host_action left_claimed(struct store *st, const struct review_config *a,
                                             const struct review_config *b, gint64 id,
                                             enum review_action verb)
{
	char *err = NULL, *sent_to = NULL;
	if (!quarantine_decide(a, st, id, verb, "alice", NULL, NULL, 500, &sent_to, &err))
		fail_msg("%s", err);
	g_free(sent_to);
	struct store_host_action claimed = {0};
	assert_int_equal(store_host_action_claim(st, "mx-b", 600, b->agent_lease, &claimed, &err),
	                 STORE_FOUND);
	return claimed;
}

/* Whether the result of hold ID's latest action is WANT, in which
 * "message N" stands for the hold's own id. */
static void assert_result(struct store *st, gint64 id, const char *want)
{
	struct store_host_action last = {0};
	char *err = NULL;
	assert_int_equal(store_host_action_last(st, id, &last, &err), STORE_FOUND);
	char *message = g_strdup_printf("message %" G_GINT64_FORMAT, id);
	char **parts = g_strsplit(last.result ? last.result : "", message, -1);
	char *result = g_strjoinv("message N", parts);
	if (strcmp(result, want) != 0)
		fail_msg("action of %s: \"%s\", not \"%s\"", message, result, want);
	g_free(result);
	g_strfreev(parts);
	g_free(message);
	store_host_action_clear(&last);
}

/* An agent that stopped between its claim and its result: the action waits
 * for agent-lease, then the next agent finishes it, once, whatever the
 * stopped one had done: nothing (the helper runs), the decision already
 * recorded (only reported), the record claimed and the message gone with
 * the helper's audit trail showing the step started (the decision
 * recorded), the record claimed and the message gone without it (someone
 * else moved it: not recorded, held again).  A discard of a message
 * released meanwhile fails without running the helper. */
static void test_agent_lease(void **state)
{
	if (geteuid() != 0)
		skip(); /* the helper would be run through sudo */
	struct fixture *fx = *state;
	struct review_config a, b;
	char *err = NULL;
	host_config(&a, fx->dir, "mx-a");
	host_config(&b, fx->dir, "mx-b");
	assert_int_equal(b.agent_lease, 300); /* the default, 5m */
	gint64 untouched =
	           put_on(fx->st, "mx-b", "t1", "kim@us", "e@client.example", findings_json, 100, "held"),
	       recorded =
	           put_on(fx->st, "mx-b", "t2", "kim@us", "e@client.example", findings_json, 100, "held"),
	       claimed =
	           put_on(fx->st, "mx-b", "t3", "kim@us", "e@client.example", findings_json, 100, "held"),
	       moved = put_on(fx->st, "mx-b", "t4", "kim@us", "e@client.example", findings_json, 100, "held"),
	       skewed =
	           put_on(fx->st, "mx-b", "t5", "kim@us", "e@client.example", findings_json, 100, "held");
	struct store_host_action dead[5] = {left_claimed(fx->st, &a, &b, untouched, REVIEW_RELEASE),
	                                    left_claimed(fx->st, &a, &b, recorded, REVIEW_RELEASE),
	                                    left_claimed(fx->st, &a, &b, claimed, REVIEW_DISCARD),
	                                    left_claimed(fx->st, &a, &b, moved, REVIEW_RELEASE),
	                                    left_claimed(fx->st, &a, &b, skewed, REVIEW_RELEASE)};
	/* How far each stopped agent got. */
	assert_true(store_quarantine_set_state(fx->st, "t2", "held", "released", &err));
	assert_true(store_review_put(fx->st, recorded, "alice", "release", NULL, 610, &err));
	assert_true(store_quarantine_set_state(fx->st, "t3", "held", "deleted", &err));
	helper_wrote_start(fx, claimed, "discard", 610);
	/* The message of t4 left the queue by other hands: the helper's only
	 * row of it is from before this decision (asked for at 500 by mx-a's
	 * clock).  That of t5 was released by the helper, on mx-b, whose
	 * clock is 30 s behind mx-a's. */
	assert_true(store_quarantine_set_state(fx->st, "t4", "held", "released", &err));
	helper_wrote_start(fx, moved, "release", 430);
	assert_true(store_quarantine_set_state(fx->st, "t5", "held", "released", &err));
	helper_wrote_start(fx, skewed, "release", 470);
	char *calls = NULL;
	GString *report = g_string_new(NULL);
	/* Within the lease nothing is taken again. */
	assert_int_equal(quarantine_agent_once(&b, fx->st, 899, report, &err), 0);
	assert_string_equal(report->str, "");
	/* After it, each is finished once. */
	assert_int_equal(quarantine_agent_once(&b, fx->st, 900, report, &err), 5);
	calls = helper_calls(fx->dir);
	char *want = g_strdup_printf("mx-b -C %s/sendmail.cf release wB3AbCdE12345 t1\n", fx->dir);
	assert_string_equal(calls, want);
	g_free(want);
	g_free(calls);
	char *st = state_of(fx->st, untouched);
	assert_string_equal(st, "released");
	g_free(st);
	assert_result(fx->st, untouched, "done");
	assert_result(fx->st, recorded, "done before: message N was released by alice");
	assert_result(fx->st, claimed, "done (the message had left the queue before this claim)");
	assert_result(fx->st, moved,
	              "failed: message N left the hold queue, but the helper's audit trail shows no release "
	              "of it since this decision: not carried out");
	st = state_of(fx->st, moved);
	assert_string_equal(st, "held");
	g_free(st);
	char *moved_trail = trail_of(fx->st, moved);
	assert_non_null(strstr(moved_trail, "release-failed: message"));
	assert_non_null(strstr(moved_trail, "not carried out; held again\n"));
	g_free(moved_trail);
	assert_result(fx->st, skewed, "done (the message had left the queue before this claim)");
	/* The stopped agents' late results are refused; nothing waits. */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(store_host_action_done(fx->st, &dead[i], 950, "done", &err), STORE_NONE);
		store_host_action_clear(&dead[i]);
	}
	assert_int_equal(quarantine_agent_once(&b, fx->st, 2000, report, &err), 0);
	/* Each decision once in the audit trail. */
	GArray *trail = g_array_new(FALSE, TRUE, sizeof(struct store_review));
	g_array_set_clear_func(trail, (GDestroyNotify)store_review_clear);
	assert_true(store_review_list(fx->st, 0, 0, trail, &err));
	int decisions = 0;
	for (guint i = 0; i < trail->len; i++) {
		const char *what = g_array_index(trail, struct store_review, i).action;
		decisions += strcmp(what, "release") == 0 || strcmp(what, "discard") == 0;
	}
	assert_int_equal(decisions, 4);
	g_array_unref(trail);
	/* A discard of the released message: refused before the helper. */
	struct store_host_action late = {.quarantine_id = untouched,
	                                 .host = "mx-b",
	                                 .verb = "discard",
	                                 .reviewer = "bob",
	                                 .requested_at = 2100};
	assert_true(store_host_action_put(fx->st, &late, NULL, &err));
	assert_int_equal(quarantine_agent_once(&b, fx->st, 2200, report, &err), 1);
	calls = helper_calls(fx->dir);
	assert_string_equal(calls, "");
	g_free(calls);
	assert_result(fx->st, untouched, "failed: message N is released, not held");
	g_string_free(report, TRUE);
	review_config_clear(&a);
	review_config_clear(&b);
}

/* One host, as before stores were shared: a record of this host (or
 * without a host) is decided here; nothing is addressed to a host. */
static void test_one_host(void **state)
{
	struct fixture *fx = *state;
	if (geteuid() != 0)
		skip();
	char *err = NULL, *sent_to = NULL;
	struct review_config cfg;
	host_config(&cfg, fx->dir, g_get_host_name());
	g_free(cfg.host_name);
	cfg.host_name = g_strdup(""); /* the default: the system's name */
	gint64 id = put(fx->st, "cccc", "sam@us", "d@client.example", findings_json, 100, "held");
	assert_true(
	    quarantine_decide(&cfg, fx->st, id, REVIEW_RELEASE, "bob", NULL, NULL, 900, &sent_to, &err));
	assert_null(sent_to);
	char *calls = helper_calls(fx->dir);
	assert_non_null(strstr(calls, "release wB3AbCdE12345 cccc"));
	g_free(calls);
	struct store_quarantine *q = quarantine_load(fx->st, id, &err);
	assert_null(quarantine_action_state(fx->st, q, NULL));
	store_quarantine_free(q);
	GString *report = g_string_new(NULL);
	assert_int_equal(quarantine_agent_once(&cfg, fx->st, 950, report, &err), 0);
	g_string_free(report, TRUE);
	review_config_clear(&cfg);
}

/* A helper that never returns (a stand-in that sleeps): after mta-timeout
 * a reviewer's release fails as when the helper fails (the error says the
 * helper was stopped, the audit trail keeps it, the record is held again,
 * no action left open), and so does an action sent from another host to
 * this host's agent, its result recorded; each helper is gone. */
static void test_helper_timeout(void **state)
{
	struct fixture *fx = *state;
	if (geteuid() != 0)
		skip(); /* the helper would be run through sudo */
	gint64 id = put_on(fx->st, "mx-b", "hhhh", "sam@us", "d@client.example", findings_json, 100, "held");
	queue_has(fx->dir, "held"); /* the helper never acted */
	char *body = g_strdup_printf("echo $$ >>'%s/hang.pid'; exec sleep 600", fx->dir);
	struct review_config b, a;
	host_config(&b, fx->dir, "mx-b");
	g_free(b.helper);
	b.helper = script(fx->dir, "hang", body);
	b.mta_timeout = 1;
	host_config(&a, fx->dir, "mx-a");
	char *err = NULL, *sent_to = NULL;
	assert_false(quarantine_decide(&b, fx->st, id, REVIEW_RELEASE, "bob", NULL, NULL, 900, NULL, &err));
	char *want = g_strdup_printf("release of message %" G_GINT64_FORMAT " failed: %s: did not finish "
	                             "within 1 s; stopped",
	                             id, b.helper);
	assert_string_equal(err, want);
	g_clear_pointer(&err, g_free);
	char *trail = last_review(fx->st, id), *state_now = state_of(fx->st, id);
	assert_true(g_str_has_prefix(trail, "release-failed: "));
	assert_non_null(strstr(trail, "did not finish within 1 s; stopped"));
	assert_string_equal(state_now, "held");
	g_free(trail);
	g_free(state_now);
	struct store_quarantine *q = quarantine_load(fx->st, id, &err);
	assert_null(quarantine_action_state(fx->st, q, NULL)); /* the reviewer's slot given up */

	/* The same hold decided on mx-a, carried out by mx-b's agent. */
	assert_true(
	    quarantine_decide(&a, fx->st, id, REVIEW_DISCARD, "carol", NULL, NULL, 1000, &sent_to, &err));
	assert_string_equal(sent_to, "mx-b");
	GString *report = g_string_new(NULL);
	assert_int_equal(quarantine_agent_once(&b, fx->st, 1100, report, &err), 1);
	g_free(want);
	want = g_strdup_printf("discard of message %" G_GINT64_FORMAT " by carol: failed: discard of message "
	                       "%" G_GINT64_FORMAT " failed: %s: did not finish within 1 s; stopped",
	                       id, id, b.helper);
	if (strstr(report->str, want) == NULL)
		fail_msg("agent: %s", report->str);
	char *action = quarantine_action_state(fx->st, q, NULL);
	assert_string_equal(action, "discard failed on mx-b");
	state_now = state_of(fx->st, id);
	assert_string_equal(state_now, "held");

	/* Both helpers stopped and reaped. */
	char *pids_path = g_build_filename(fx->dir, "hang.pid", NULL), *pids = NULL;
	assert_true(g_file_get_contents(pids_path, &pids, NULL, NULL));
	char **lines = g_strsplit(g_strstrip(pids), "\n", -1);
	assert_int_equal(g_strv_length(lines), 2);
	for (char **l = lines; *l; l++) {
		assert_int_equal(kill((pid_t)g_ascii_strtoll(*l, NULL, 10), 0), -1);
		assert_int_equal(errno, ESRCH);
	}
	g_strfreev(lines);
	g_free(pids);
	g_free(pids_path);
	g_free(action);
	g_free(state_now);
	g_free(want);
	g_free(sent_to);
	g_string_free(report, TRUE);
	store_quarantine_free(q);
	g_free(body);
	review_config_clear(&a);
	review_config_clear(&b);
}

/* A helper that acted and was then stopped at mta-timeout (as while it
 * writes its own audit trail): the queue shows the step done (the message
 * queued out of the hold queue, or gone with the helper's own audit trail
 * showing the step started), so the decision is recorded as done, after an
 * entry with the helper's error.  A
 * helper that exits by itself with a failure did not act (it refuses before
 * postsuper runs): its decision fails even when the message has left the
 * hold queue by other means. */
static void test_helper_acted_then_failed(void **state)
{
	struct fixture *fx = *state;
	if (geteuid() != 0)
		skip(); /* the helper would be run through sudo */
	struct review_config cfg;
	host_config(&cfg, fx->dir, "mx-b");
	cfg.mta_timeout = 1;
	char *err = NULL;

	/* Stopped while the message waits outside the hold queue, released by
	 * hand: the helper's audit trail has no row for it, so the release is
	 * not this decision's. */
	gint64 id = put_on(fx->st, "mx-b", "h1", "sam@us", "d@client.example", findings_json, 100, "held");
	queue_has(fx->dir, "queued");
	g_free(cfg.helper);
	cfg.helper = script(fx->dir, "hangs-first", "exec sleep 600");
	assert_false(quarantine_decide(&cfg, fx->st, id, REVIEW_RELEASE, "bob", NULL, NULL, 900, NULL, &err));
	char *want = g_strdup_printf("release of message %" G_GINT64_FORMAT
	                             " failed: %s: did not finish within 1 s; stopped",
	                             id, cfg.helper);
	assert_string_equal(err, want);
	g_clear_pointer(&err, g_free);
	g_free(want);
	char *st = state_of(fx->st, id);
	assert_string_equal(st, "held");
	g_free(st);

	/* Released, then stopped: the helper's row written first, as the real
	 * one writes it before postsuper. */
	id = put_on(fx->st, "mx-b", "r1", "sam@us", "d@client.example", findings_json, 100, "held");
	queue_has(fx->dir, "held");
	helper_wrote_start(fx, id, "release", 900);
	char *body = g_strdup_printf("rm '%s/held'; : >'%s/queued'; exec sleep 600", fx->dir, fx->dir);
	g_free(cfg.helper);
	cfg.helper = script(fx->dir, "slow", body);
	g_free(body);
	if (!quarantine_decide(&cfg, fx->st, id, REVIEW_RELEASE, "bob", "fine", NULL, 900, NULL, &err))
		fail_msg("release: %s", err);
	st = state_of(fx->st, id);
	char *trail = trail_of(fx->st, id);
	assert_string_equal(st, "released");
	want = g_strdup_printf("release-helper-failed: %s: did not finish within 1 s; stopped; the queue "
	                       "shows the message out of the hold queue\nrelease: fine\n",
	                       cfg.helper);
	assert_string_equal(trail, want);
	g_free(want);
	g_free(trail);
	g_free(st);

	/* Deleted, then stopped: the message gone, and the helper's own audit
	 * trail shows it started the delete. */
	id = put_on(fx->st, "mx-b", "d1", "sam@us", "d@client.example", findings_json, 100, "held");
	queue_has(fx->dir, "held");
	helper_wrote_start(fx, id, "discard", 900);
	body = g_strdup_printf("rm '%s/held'; exec sleep 600", fx->dir);
	g_free(cfg.helper);
	cfg.helper = script(fx->dir, "late", body);
	g_free(body);
	if (!quarantine_decide(&cfg, fx->st, id, REVIEW_DISCARD, "bob", NULL, NULL, 900, NULL, &err))
		fail_msg("discard: %s", err);
	st = state_of(fx->st, id);
	trail = trail_of(fx->st, id);
	assert_string_equal(st, "deleted");
	want = g_strdup_printf(
	    "discard-helper-failed: %s: did not finish within 1 s; stopped; the queue shows the "
	    "message gone\ndiscard: \n",
	    cfg.helper);
	assert_string_equal(trail, want);
	g_free(want);
	g_free(trail);
	g_free(st);

	/* Stopped while the message is in no queue at all (deleted by hand, or
	 * released and delivered by someone else) and the helper's audit trail
	 * shows no release of it since the decision (one before it does not
	 * count): not taken for the helper's release. */
	id = put_on(fx->st, "mx-b", "g1", "sam@us", "d@client.example", findings_json, 100, "held");
	queue_has(fx->dir, NULL);
	g_free(cfg.helper);
	cfg.helper = script(fx->dir, "stalls", "exec sleep 600");
	helper_wrote_start(fx, id, "release", 899);
	assert_false(quarantine_decide(&cfg, fx->st, id, REVIEW_RELEASE, "bob", NULL, NULL, 900, NULL, &err));
	want = g_strdup_printf("release of message %" G_GINT64_FORMAT
	                       " failed: %s: did not finish within 1 s; stopped",
	                       id, cfg.helper);
	assert_string_equal(err, want);
	g_clear_pointer(&err, g_free);
	g_free(want);
	st = state_of(fx->st, id);
	assert_string_equal(st, "held");
	g_free(st);

	/* A refusal (the message not in the hold queue: released by hand, it
	 * waits in the deferred queue): the release fails and the record is
	 * held again. */
	id = put_on(fx->st, "mx-b", "f1", "sam@us", "d@client.example", findings_json, 100, "held");
	queue_has(fx->dir, "queued");
	helper_wrote_start(fx, id, "release", 900); /* not even this makes a refusal count */
	g_free(cfg.helper);
	cfg.helper = script(fx->dir, "refuses", "echo 'not in the hold queue' >&2; exit 69");
	assert_false(quarantine_decide(&cfg, fx->st, id, REVIEW_RELEASE, "bob", NULL, NULL, 900, NULL, &err));
	want = g_strdup_printf("release of message %" G_GINT64_FORMAT " failed: %s: not in the hold queue",
	                       id, cfg.helper);
	assert_string_equal(err, want);
	g_clear_pointer(&err, g_free);
	g_free(want);
	st = state_of(fx->st, id);
	trail = trail_of(fx->st, id);
	assert_string_equal(st, "held");
	assert_true(g_str_has_prefix(trail, "release-failed: "));
	assert_null(strstr(trail, "release-helper-failed"));
	g_free(trail);
	g_free(st);

	/* Stopped while the queue cannot be read: failed, and the error says
	 * that whether it acted is not known. */
	id = put_on(fx->st, "mx-b", "u1", "sam@us", "d@client.example", findings_json, 100, "held");
	char *broken = script(fx->dir, "sendmail-broken", "echo 'queue unreadable' >&2; exit 71");
	char *set = g_strdup_printf("sendmail-program=%s", broken);
	assert_true(review_config_set(&cfg, set, &err));
	g_free(set);
	g_free(cfg.helper);
	cfg.helper = script(fx->dir, "hangs", "exec sleep 600");
	assert_false(quarantine_decide(&cfg, fx->st, id, REVIEW_RELEASE, "bob", NULL, NULL, 900, NULL, &err));
	assert_non_null(strstr(err, "did not finish within 1 s; stopped; whether it acted is not known: "));
	assert_non_null(strstr(err, "queue unreadable"));
	g_clear_pointer(&err, g_free);
	st = state_of(fx->st, id);
	assert_string_equal(st, "held");
	g_free(st);
	g_free(broken);
	review_config_clear(&cfg);
}

/* One look of the agent that finds two actions, the first taking over a
 * second (a helper that sleeps): each is claimed at the time of its own
 * claim, so the second's lease is not already shortened by the first. */
static void test_agent_claims_each_when_taken(void **state)
{
	struct fixture *fx = *state;
	if (geteuid() != 0)
		skip(); /* the helper would be run through sudo */
	struct review_config a, b;
	host_config(&a, fx->dir, "mx-a");
	host_config(&b, fx->dir, "mx-b");
	g_free(b.helper);
	b.helper = script(fx->dir, "hang", "sleep 1.5");
	gint64 ids[2];
	char *err = NULL;
	for (int i = 0; i < 2; i++) {
		ids[i] = put_on(fx->st, "mx-b", i ? "w2" : "w1", "sam@us", "d@client.example", findings_json,
		                100, "held");
		assert_true(quarantine_decide(&a, fx->st, ids[i], REVIEW_RELEASE, "carol", NULL, NULL, 500,
		                              NULL, &err));
	}
	GString *report = g_string_new(NULL);
	assert_int_equal(quarantine_agent_once(&b, fx->st, 1000, report, &err), 2);
	struct store_host_action first = {0}, second = {0};
	assert_int_equal(store_host_action_last(fx->st, ids[0], &first, &err), STORE_FOUND);
	assert_int_equal(store_host_action_last(fx->st, ids[1], &second, &err), STORE_FOUND);
	assert_int_equal(first.claimed_at, 1000);
	assert_true(second.claimed_at >= 1001);
	assert_string_equal(second.result, "done");
	store_host_action_clear(&first);
	store_host_action_clear(&second);
	g_string_free(report, TRUE);
	review_config_clear(&a);
	review_config_clear(&b);
}

/* A reviewer on mx-b deciding mx-b's own hold while an action about it is
 * open: refused, whether the action waits for mx-b's agent or runs. */
static void test_direct_while_action_open(void **state)
{
	if (geteuid() != 0)
		skip(); /* the helper would be run through sudo */
	struct fixture *fx = *state;
	struct review_config a, b;
	char *err = NULL, *sent_to = NULL;
	host_config(&a, fx->dir, "mx-a");
	host_config(&b, fx->dir, "mx-b");
	gint64 id = put_on(fx->st, "mx-b", "t1", "kim@us", "e@client.example", findings_json, 100, "held");
	assert_true(
	    quarantine_decide(&a, fx->st, id, REVIEW_RELEASE, "alice", NULL, NULL, 500, &sent_to, &err));
	g_clear_pointer(&sent_to, g_free);
	assert_false(
	    quarantine_decide(&b, fx->st, id, REVIEW_DISCARD, "bob", NULL, NULL, 510, &sent_to, &err));
	assert_non_null(strstr(err, "message " /* N */));
	assert_non_null(strstr(err, "has a release waiting on mx-b; "));
	g_clear_pointer(&err, g_free);
	/* mx-b's agent has claimed it and is carrying it out. */
	struct store_host_action running = {0};
	assert_int_equal(store_host_action_claim(fx->st, "mx-b", 600, b.agent_lease, &running, &err),
	                 STORE_FOUND);
	assert_false(
	    quarantine_decide(&b, fx->st, id, REVIEW_DISCARD, "bob", NULL, NULL, 610, &sent_to, &err));
	assert_non_null(strstr(err, "has a release running on mx-b; "));
	g_clear_pointer(&err, g_free);
	char *calls = helper_calls(fx->dir), *st = state_of(fx->st, id);
	assert_string_equal(calls, ""); /* no helper ran for the refused decisions */
	assert_string_equal(st, "held");
	g_free(calls);
	g_free(st);
	/* The agent's result; then mx-b decides as usual. */
	assert_int_equal(store_host_action_done(fx->st, &running, 620, "failed: stopped", &err), STORE_FOUND);
	store_host_action_clear(&running);
	assert_true(
	    quarantine_decide(&b, fx->st, id, REVIEW_DISCARD, "bob", NULL, NULL, 700, &sent_to, &err));
	assert_null(sent_to);
	st = state_of(fx->st, id);
	assert_string_equal(st, "deleted");
	g_free(st);
	calls = helper_calls(fx->dir);
	g_free(calls);
	review_config_clear(&a);
	review_config_clear(&b);
}

/* A reviewer's decision on mx-b about mx-b's own hold whose process
 * stopped after it took the hold's open action (no agent runs on mx-b):
 * within agent-lease the hold's next decision is refused, after it the
 * next decision made on mx-b carries the stopped one out first, as mx-b's
 * agent would, and says so. */
static void test_stopped_local_decision(void **state)
{
	if (geteuid() != 0)
		skip(); /* the helper would be run through sudo */
	struct fixture *fx = *state;
	struct review_config b;
	char *err = NULL, *sent_to = NULL;
	host_config(&b, fx->dir, "mx-b");
	gint64 id = put_on(fx->st, "mx-b", "t1", "kim@us", "e@client.example", findings_json, 100, "held");
	struct store_host_action stopped = {.quarantine_id = id,
	                                    .host = "mx-b",
	                                    .verb = "release",
	                                    .reviewer = "alice",
	                                    .requested_at = 500,
	                                    .claimed_at = 500};
	assert_true(store_host_action_put(fx->st, &stopped, NULL, &err));
	/* Within the lease: refused, nothing run. */
	assert_false(quarantine_decide(&b, fx->st, id, REVIEW_DISCARD, "bob", NULL, NULL,
	                               500 + b.agent_lease - 1, &sent_to, &err));
	assert_non_null(strstr(err, "has a release running on mx-b; "));
	g_clear_pointer(&err, g_free);
	char *calls = helper_calls(fx->dir), *st = state_of(fx->st, id);
	assert_string_equal(calls, "");
	assert_string_equal(st, "held");
	g_free(calls);
	g_free(st);
	/* After it: alice's release is carried out, bob's discard is not. */
	assert_false(quarantine_decide(&b, fx->st, id, REVIEW_DISCARD, "bob", NULL, NULL, 500 + b.agent_lease,
	                               &sent_to, &err));
	assert_null(sent_to);
	assert_non_null(strstr(err, "had a release by alice left running here"));
	assert_non_null(strstr(err, "carried out now: done; "));
	g_clear_pointer(&err, g_free);
	calls = helper_calls(fx->dir);
	char *want = g_strdup_printf("mx-b -C %s/sendmail.cf release wB3AbCdE12345 t1\n", fx->dir);
	assert_string_equal(calls, want);
	g_free(want);
	g_free(calls);
	st = state_of(fx->st, id);
	assert_string_equal(st, "released");
	g_free(st);
	assert_result(fx->st, id, "done");
	/* Nothing is open any more: the discard is refused as for any released reply. */
	assert_false(
	    quarantine_decide(&b, fx->st, id, REVIEW_DISCARD, "bob", NULL, NULL, 900, &sent_to, &err));
	assert_non_null(strstr(err, "is released, not held"));
	g_clear_pointer(&err, g_free);
	review_config_clear(&b);
}

/* Mail host mx-b whose helper stops, at its first call, until the test
 * lets it go (two FIFOs in DIR: it writes "started", then reads "go"), and
 * then fails (exit 77, as the real helper refusing a second release) if an
 * earlier call already took the message out of the hold queue; the queue a
 * stand-in `sendmail -bp -qQ` that lists queue id PAUSED_QUEUE_ID until a
 * helper call succeeds.  Its record, held, is put in ST; returns its id. */
#define PAUSED_QUEUE_ID "4BH8kL9x012345"

static gint64 paused_host(struct review_config *b, struct store *st, const char *dir)
{
	host_config(b, dir, "mx-b");
	char *fifos[] = {g_build_filename(dir, "started", NULL), g_build_filename(dir, "go", NULL)};
	for (size_t i = 0; i < G_N_ELEMENTS(fifos); i++) {
		assert_int_equal(mkfifo(fifos[i], 0600), 0);
		g_free(fifos[i]);
	}
	char *body = g_strdup_printf("cd '%s' && echo \"mx-b $*\" >>calls && echo $$ >helper.pid\n"
	                             "if [ ! -e paused ]; then touch paused; echo >started; read x <go; fi\n"
	                             "if [ -e gone ]; then exit 77; fi\n"
	                             "touch gone",
	                             dir);
	char *listing =
	    g_strdup_printf("case \"$*\" in *-qQ*) [ -e '%s/gone' ] ||"
	                    " echo '" PAUSED_QUEUE_ID "     1234 Fri Dec  4 20:00 <kim@us>';; esac",
	                    dir);
	char *scripts[] = {script(dir, "mx-b-paused", body), script(dir, "bp", listing)};
	const char *keys[] = {"helper", "sendmail-program"};
	char *err = NULL;
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		char *setting = g_strconcat(keys[i], "=", scripts[i], NULL);
		assert_true(review_config_set(b, setting, &err));
		g_free(setting);
		g_free(scripts[i]);
	}
	g_free(body);
	g_free(listing);
	struct store_quarantine rec = fixture_hold("t1");
	rec.queue_id = PAUSED_QUEUE_ID;
	rec.sender = "kim@us";
	rec.recipients = "e@client.example";
	rec.findings_json = (char *)findings_json;
	rec.created = 100;
	rec.host = "mx-b";
	gint64 id = 0;
	if (!store_quarantine_put(st, &rec, &id, &err))
		fail_msg("put: %s", err);
	return id;
}

/* Wait until the paused helper in DIR has started (true; then let it go
 * on with helper_go()) or the decision that would have run it has ended
 * without it (false). */
static bool helper_started(const char *dir)
{
	char *path = g_build_filename(dir, "started", NULL), *line = NULL;
	assert_true(g_file_get_contents(path, &line, NULL, NULL));
	bool started = *line != '\0';
	g_free(line);
	g_free(path);
	return started;
}

static void helper_go(const char *dir)
{
	char *path = g_build_filename(dir, "go", NULL);
	FILE *go = fopen(path, "w"); /* not g_file_set_contents: it would replace the FIFO */
	assert_non_null(go);
	assert_true(fputs("\n", go) >= 0);
	assert_int_equal(fclose(go), 0);
	g_free(path);
}

/* One decision or one agent's look on a thread of its own. */
struct step {
	const struct review_config *cfg;
	struct store *st; /* a handle of its own */
	gint64 id;        /* a hold to release; 0: the agent */
	gint64 now;
	int n; /* 1 if the release succeeded; the agent's count */
	char *err;
	const char *dir; /* the paused helper's */
};

static gpointer run_step(gpointer data)
{
	struct step *s = data;
	if (s->id != 0) {
		s->n = quarantine_decide(s->cfg, s->st, s->id, REVIEW_RELEASE, "bob", NULL, NULL, s->now,
		                         NULL, &s->err);
	} else {
		GString *report = g_string_new(NULL);
		s->n = quarantine_agent_once(s->cfg, s->st, s->now, report, &s->err);
		g_string_free(report, TRUE);
	}
	return NULL;
}

/* The helper's calls in DIR: N releases of the paused hold. */
static void assert_released(const char *dir, int n)
{
	char *calls = helper_calls(dir);
	GString *want = g_string_new(NULL);
	for (int i = 0; i < n; i++)
		g_string_append_printf(want, "mx-b -C %s/sendmail.cf release " PAUSED_QUEUE_ID " t1\n", dir);
	assert_string_equal(calls, want->str);
	g_string_free(want, TRUE);
	g_free(calls);
}

/* A release on mx-b's own hold by a reviewer there that does not reach the
 * helper: it tells helper_started() so itself. */
static gpointer direct_release(gpointer data)
{
	struct step *s = data;
	run_step(s);
	char *paused = g_build_filename(s->dir, "paused", NULL);
	if (!g_file_test(paused, G_FILE_TEST_EXISTS)) { /* and no later call stops */
		assert_true(g_file_set_contents(paused, "", 0, NULL));
		char *path = g_build_filename(s->dir, "started", NULL);
		FILE *started = fopen(path, "w");
		assert_non_null(started);
		fclose(started);
		g_free(path);
	}
	g_free(paused);
	return NULL;
}

/* mx-a and the paused mx-b (paused_host) on one store, mx-a's release of
 * mx-b's hold sent at 490, and two handles more for mx-b's two steps. */
struct paused_race {
	struct review_config a, b;
	gint64 id;
	struct store *st[2];
};

static void paused_race_open(struct paused_race *r, const struct fixture *fx)
{
	char *err = NULL, *sent_to = NULL;
	host_config(&r->a, fx->dir, "mx-a");
	r->id = paused_host(&r->b, fx->st, fx->dir);
	if (!quarantine_decide(&r->a, fx->st, r->id, REVIEW_RELEASE, "alice", NULL, NULL, 490, &sent_to,
	                       &err))
		fail_msg("%s", err);
	assert_string_equal(sent_to, "mx-b");
	g_free(sent_to);
	for (int i = 0; i < 2; i++) {
		r->st[i] = store_open(fx->location, &err);
		if (r->st[i] == NULL)
			fail_msg("%s", err);
	}
}

/* paused_host()'s files in DIR removed (teardown() removes host_config()'s). */
static void paused_host_remove(const char *dir)
{
	const char *names[] = {"started", "go", "paused", "gone", "mx-b-paused", "bp", "helper.pid"};
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		char *path = g_build_filename(dir, names[i], NULL);
		g_unlink(path);
		g_free(path);
	}
}

/* Whether hold ID ended released, its action's result WANT; then R closed
 * and paused_host()'s files removed. */
static void paused_race_close(struct paused_race *r, const struct fixture *fx, const char *want)
{
	paused_host_remove(fx->dir);
	char *now_state = state_of(fx->st, r->id);
	assert_string_equal(now_state, "released"); /* the race: "held", the mail gone */
	g_free(now_state);
	assert_result(fx->st, r->id, want);
	for (int i = 0; i < 2; i++)
		store_close(r->st[i]);
	review_config_clear(&r->a);
	review_config_clear(&r->b);
}

/* The race, step by step: a reviewer on mx-a releases mx-b's hold (an
 * action for mx-b's agent); a reviewer on mx-b releases it directly; mx-b's
 * agent carries out mx-a's action while the direct release's helper still
 * runs.  Without one open action per hold for both paths the direct
 * release went ahead (record claimed, helper started); the agent found the
 * record in the release's state and the mail still held, and released it
 * through its own helper; the first helper then failed (already released)
 * and its undo set the record back to held: the store said held while the
 * MTA no longer held it.  Now the direct release is refused while the
 * action is open, and the agent carries the action out alone. */
static void test_direct_during_agent(void **state)
{
	if (geteuid() != 0)
		skip(); /* the helper would be run through sudo */
	struct fixture *fx = *state;
	struct paused_race r;
	paused_race_open(&r, fx);
	/* 1. mx-b's reviewer releases it directly: refused, or (the race) its
	 * helper started and stopped. */
	struct step direct = {.cfg = &r.b, .st = r.st[0], .id = r.id, .now = 500, .dir = fx->dir};
	GThread *t = g_thread_new("direct", direct_release, &direct);
	bool helper_ran = helper_started(fx->dir);
	/* 2. mx-b's agent carries out mx-a's release; 3. the first helper ends. */
	struct step agent = {.cfg = &r.b, .st = r.st[1], .now = 520};
	run_step(&agent);
	if (helper_ran)
		helper_go(fx->dir);
	g_thread_join(t);

	paused_race_close(&r, fx, "done");
	assert_int_equal(direct.n, 0);
	assert_non_null(strstr(direct.err, "has a release waiting on mx-b; "));
	if (agent.n != 1)
		fail_msg("the agent: %s", agent.err ? agent.err : "nothing carried out");
	assert_released(fx->dir, 1);
	g_free(direct.err);
}

/* A failed MTA step gives the record back to held only while the failed
 * attempt still holds the hold's action: an agent whose helper is still
 * running when agent-lease runs out, a second agent that takes the claim
 * again and releases the message, then the first helper failing (already
 * released) leaves the record released. */
static void test_undo_only_own_claim(void **state)
{
	if (geteuid() != 0)
		skip(); /* the helper would be run through sudo */
	struct fixture *fx = *state;
	struct paused_race r;
	paused_race_open(&r, fx);
	/* 1. The first agent: its claim, the record released, its helper started. */
	struct step first = {.cfg = &r.b, .st = r.st[0], .now = 600};
	GThread *t = g_thread_new("agent", run_step, &first);
	assert_true(helper_started(fx->dir));
	/* 2. After agent-lease the second agent claims it again and finishes it. */
	struct step second = {.cfg = &r.b, .st = r.st[1], .now = 600 + r.b.agent_lease};
	run_step(&second);
	/* 3. The first helper fails. */
	helper_go(fx->dir);
	g_thread_join(t);

	paused_race_close(&r, fx, "done");
	assert_int_equal(second.n, 1);
	assert_int_equal(first.n, 1);
	assert_released(fx->dir, 2);
}

/* `quarantine expire` on mx-b (B, the paused host, its expire-action
 * EXPIRE_ACTION) about its hold at 600, in a process of its own that is
 * killed (-9, with its helper) while the helper runs: it left the record
 * claimed ("expired"), the message in the hold queue, and the hold's action
 * running, an expiry's.  The helper's calls noted are cleared; returns the
 * hold's id.  Skips the test unless run as root (else the helper would be
 * run through sudo). */
static gint64 expiry_killed(const struct fixture *fx, struct review_config *b, const char *expire_action)
{
	if (geteuid() != 0)
		skip(); /* the helper would be run through sudo */
	gint64 id = paused_host(b, fx->st, fx->dir);
	char *setting = g_strconcat("expire-action=", expire_action, NULL), *err = NULL;
	if (!review_config_set(b, setting, &err))
		fail_msg("%s", err);
	g_free(setting);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setpgid(0, 0); /* the helper it runs is killed with it */
		struct store *st = store_open(fx->location, &err);
		bool ok = st != NULL && quarantine_decide(b, st, id, REVIEW_EXPIRE, "root",
		                                          "held longer than 7d", NULL, 600, NULL, &err);
		/* It ended without stopping in the helper: helper_started() says so. */
		char *path = g_build_filename(fx->dir, "started", NULL);
		FILE *started = fopen(path, "w");
		if (started != NULL)
			fclose(started);
		_exit(ok ? 0 : 1);
	}
	setpgid(pid, pid);
	bool stopped_in_helper = helper_started(fx->dir);
	assert_int_equal(kill(-pid, SIGKILL), 0);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(stopped_in_helper);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* The helper runs in a process group of its own (holdqueue_run), so it
	 * outlived the decision, paused: stop it too, as the host going down
	 * would. */
	char *pid_path = g_build_filename(fx->dir, "helper.pid", NULL), *pid_text = NULL;
	assert_true(g_file_get_contents(pid_path, &pid_text, NULL, NULL));
	assert_int_equal(kill((pid_t)g_ascii_strtoll(pid_text, NULL, 10), SIGKILL), 0);
	g_free(pid_text);
	g_free(pid_path);
	g_free(helper_calls(fx->dir));

	char *st = state_of(fx->st, id);
	assert_string_equal(st, "expired");
	g_free(st);
	struct store_host_action open = {0};
	assert_int_equal(store_host_action_last(fx->st, id, &open, &err), STORE_FOUND);
	assert_string_equal(open.verb, "expire");
	assert_string_equal(open.reviewer, "root");
	assert_int_equal(open.claimed_at, 600);
	assert_int_equal(open.done_at, 0);
	store_host_action_clear(&open);
	struct store_quarantine *q = quarantine_load(fx->st, id, &err);
	char *action = quarantine_action_state(fx->st, q, NULL);
	assert_string_equal(action, "expiry running on mx-b");
	g_free(action);
	store_quarantine_free(q);
	return id;
}

/* How often hold ID's audit trail has WHAT. */
static int in_trail(struct store *st, gint64 id, const char *what)
{
	GArray *trail = g_array_new(FALSE, TRUE, sizeof(struct store_review));
	g_array_set_clear_func(trail, (GDestroyNotify)store_review_clear);
	char *err = NULL;
	if (!store_review_list(st, id, 0, trail, &err))
		fail_msg("%s", err);
	int n = 0;
	for (guint i = 0; i < trail->len; i++)
		n += strcmp(g_array_index(trail, struct store_review, i).action, what) == 0;
	g_array_unref(trail);
	return n;
}

/* The killed expiry of hold ID (expiry_killed) finished once: the helper
 * run once more, to VERB; the record expired; the action's result done;
 * WHAT once in the audit trail, and no failure of it. */
static void expiry_finished(const struct fixture *fx, gint64 id, const char *verb, const char *what)
{
	char *calls = helper_calls(fx->dir);
	char *want = g_strdup_printf("mx-b -C %s/sendmail.cf %s " PAUSED_QUEUE_ID " t1\n", fx->dir, verb);
	assert_string_equal(calls, want);
	g_free(want);
	g_free(calls);
	char *st = state_of(fx->st, id), *failed = g_strconcat(what, "-failed", NULL);
	assert_string_equal(st, "expired");
	assert_result(fx->st, id, "done");
	assert_int_equal(in_trail(fx->st, id, what), 1);
	assert_int_equal(in_trail(fx->st, id, failed), 0);
	g_free(failed);
	g_free(st);
}

/* An expiry whose process was killed after it claimed the record (its
 * helper running) is left running; after agent-lease mx-b's agent finishes
 * it as an expiry: the helper run again (expire-action return: a discard),
 * the record expired, expire-return once in the audit trail, the result
 * done.  Its action used to say "return", which the agent carried out as a
 * reviewer's return of a record no longer held: "failed: ... expired, not
 * held", the message left in the hold queue. */
static void test_expiry_killed_agent(void **state)
{
	struct fixture *fx = *state;
	struct review_config b;
	gint64 id = expiry_killed(fx, &b, "return");
	GString *report = g_string_new(NULL);
	char *err = NULL;
	assert_int_equal(quarantine_agent_once(&b, fx->st, 600 + b.agent_lease - 1, report, &err), 0);
	assert_int_equal(quarantine_agent_once(&b, fx->st, 600 + b.agent_lease, report, &err), 1);
	char *line = g_strdup_printf(": expiry of message %" G_GINT64_FORMAT " by root: done\n", id);
	if (!g_str_has_suffix(report->str, line))
		fail_msg("the agent: %s", report->str);
	g_free(line);
	expiry_finished(fx, id, "discard", "expire-return");
	assert_int_equal(in_trail(fx->st, id, "return"), 0);
	/* Nothing left for the agent. */
	assert_int_equal(quarantine_agent_once(&b, fx->st, 2000, report, &err), 0);
	g_string_free(report, TRUE);
	paused_host_remove(fx->dir);
	review_config_clear(&b);
}

/* The same killed expiry (expire-action release) where no agent runs: a
 * decision about the hold is refused as the record is expired; after
 * agent-lease that decision also finishes the expiry first, as mx-b's
 * agent would, and says so: the message released once more through the
 * helper, expire-release once in the audit trail, the decision not made. */
static void test_expiry_killed_local(void **state)
{
	struct fixture *fx = *state;
	struct review_config b;
	gint64 id = expiry_killed(fx, &b, "release");
	char *err = NULL, *sent_to = NULL;
	/* Within the lease: refused, nothing run. */
	assert_false(quarantine_decide(&b, fx->st, id, REVIEW_DISCARD, "bob", NULL, NULL,
	                               600 + b.agent_lease - 1, &sent_to, &err));
	assert_non_null(strstr(err, " is expired, not held"));
	g_clear_pointer(&err, g_free);
	char *calls = helper_calls(fx->dir);
	assert_string_equal(calls, "");
	g_free(calls);
	assert_int_equal(in_trail(fx->st, id, "expire-release"), 0);
	/* After it: the expiry finished, the discard not made. */
	assert_false(quarantine_decide(&b, fx->st, id, REVIEW_DISCARD, "bob", NULL, NULL, 600 + b.agent_lease,
	                               &sent_to, &err));
	assert_null(sent_to);
	if (strstr(err, "had an expiry by root left running here") == NULL ||
	    strstr(err, "carried out now: done; ") == NULL)
		fail_msg("%s", err);
	g_clear_pointer(&err, g_free);
	expiry_finished(fx, id, "release", "expire-release");
	assert_int_equal(in_trail(fx->st, id, "discard"), 0);
	/* Nothing open any more: refused as for any expired reply, nothing run. */
	assert_false(
	    quarantine_decide(&b, fx->st, id, REVIEW_DISCARD, "bob", NULL, NULL, 2000, &sent_to, &err));
	assert_non_null(strstr(err, " is expired, not held"));
	assert_null(strstr(err, "left running"));
	g_clear_pointer(&err, g_free);
	calls = helper_calls(fx->dir);
	assert_string_equal(calls, "");
	g_free(calls);
	paused_host_remove(fx->dir);
	review_config_clear(&b);
}

/* How many of the outbox's rows due by 10^9 are keyed "WHAT:ID:webhook". */
static int outbox_rows(struct store *st, const char *what, gint64 id)
{
	GArray *due = g_array_new(FALSE, TRUE, sizeof(struct store_outbox));
	g_array_set_clear_func(due, (GDestroyNotify)store_outbox_clear);
	char *err = NULL, *key = g_strdup_printf("%s:%" G_GINT64_FORMAT ":webhook", what, id);
	if (!store_outbox_due(st, 1000000000, 0, due, &err))
		fail_msg("outbox: %s", err);
	int n = 0;
	for (guint i = 0; i < due->len; i++)
		n += strcmp(g_array_index(due, struct store_outbox, i).key, key) == 0;
	g_free(key);
	g_array_unref(due);
	return n;
}

/* Mail host mx-b (host_config) telling a webhook of each decision. */
static void notifying_host(struct review_config *cfg, const char *dir)
{
	char *err = NULL;
	host_config(cfg, dir, "mx-b");
	if (!review_config_set(cfg, "webhook-url=http://127.0.0.1:9/hook", &err))
		fail_msg("%s", err);
}

/* A helper that exits 0 (it returned the message: postsuper deleted it),
 * then a queue listing that fails: the helper is trusted, the decision
 * done and recorded (the audit trail saying the queue was not read, the
 * author's notice queued, nothing left open).  It used to be reported
 * failed and the record set back to held without any look at the queue:
 * no notice, and every retry refused by the helper, the message gone. */
static void test_helper_done_queue_unread(void **state)
{
	struct fixture *fx = *state;
	if (geteuid() != 0)
		skip(); /* the helper would be run through sudo */
	struct review_config cfg;
	notifying_host(&cfg, fx->dir);
	gint64 id = put_on(fx->st, "mx-b", "q1", "sam@us", "d@client.example", findings_json, 100, "held");
	queue_has(fx->dir, "held");
	char *body = g_strdup_printf("rm '%s/held'", fx->dir); /* postsuper -d */
	g_free(cfg.helper);
	cfg.helper = script(fx->dir, "acts", body);
	g_free(body);
	char *broken = script(fx->dir, "sendmail-broken", "echo 'queue unreadable' >&2; exit 71");
	char *set = g_strdup_printf("sendmail-program=%s", broken), *err = NULL;
	assert_true(review_config_set(&cfg, set, &err));
	bool left_open = true;
	if (!quarantine_decide_open(&cfg, fx->st, id, REVIEW_RETURN, "bob", "please call", NULL, 900, NULL,
	                            &left_open, &err))
		fail_msg("return: %s", err);
	assert_false(left_open);
	char *st = state_of(fx->st, id), *trail = trail_of(fx->st, id);
	assert_string_equal(st, "returned");
	assert_true(g_str_has_prefix(trail, "return-unchecked: the helper exited 0; the queue could not be "
	                                    "read afterwards: "));
	assert_non_null(strstr(trail, "queue unreadable"));
	assert_true(g_str_has_suffix(trail, "\nreturn: please call\n"));
	assert_int_equal(outbox_rows(fx->st, "return", id), 1);
	struct store_quarantine *q = quarantine_load(fx->st, id, &err);
	assert_null(quarantine_action_state(fx->st, q, NULL)); /* nothing left open */
	store_quarantine_free(q);
	g_free(trail);
	g_free(st);
	g_free(set);
	g_free(broken);
	review_config_clear(&cfg);
}

/* Run SQL on FX's store, an SQLite one. */
static void sqlite_run(const struct fixture *fx, const char *sql)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(fx->location + strlen("sqlite:"), &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
}

/* The MTA step done (the helper returned the message), then the store
 * fails to record the decision (its audit entry refused, as by a full
 * disk): the reviewer is told it was done and not yet recorded, the
 * record stays returned and its action open, as after a crash at that
 * point, and no notice is queued yet; after agent-lease the next decision
 * about it finishes it (the message gone, the helper's own audit trail
 * showing the discard): the decision and the author's notice recorded
 * once.  It used to be reported failed, the action dropped, and the
 * decision lost ("message N is returned, not held"). */
static void test_recording_fails_after_mta(void **state)
{
	struct fixture *fx = *state;
	if (geteuid() != 0)
		skip(); /* the helper would be run through sudo */
	if (!g_str_has_prefix(fx->location, "sqlite:"))
		skip(); /* the failure is an SQLite trigger */
	struct review_config cfg;
	notifying_host(&cfg, fx->dir);
	gint64 id = put_on(fx->st, "mx-b", "w1", "sam@us", "d@client.example", findings_json, 100, "held");
	queue_has(fx->dir, NULL); /* the helper's discard done */
	helper_wrote_start(fx, id, "discard", 900);
	sqlite_run(fx, "CREATE TRIGGER full BEFORE INSERT ON reviews WHEN NEW.action = 'return' "
	               "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
	char *err = NULL;
	bool left_open = false;
	assert_false(quarantine_decide_open(&cfg, fx->st, id, REVIEW_RETURN, "bob", "please call", NULL, 900,
	                                    NULL, &left_open, &err));
	assert_true(left_open);
	char *want = g_strdup_printf("return of message %" G_GINT64_FORMAT " done; recording failed: ", id);
	if (!g_str_has_prefix(err, want) || strstr(err, "database or disk is full") == NULL ||
	    strstr(err, "(it will be recorded by this host's agent, or the next decision about it here") ==
	        NULL)
		fail_msg("error: %s", err);
	g_clear_pointer(&err, g_free);
	g_free(want);
	char *st = state_of(fx->st, id);
	assert_string_equal(st, "returned");
	g_free(st);
	assert_int_equal(in_trail(fx->st, id, "return"), 0);
	assert_int_equal(outbox_rows(fx->st, "return", id), 0);
	struct store_quarantine *q = quarantine_load(fx->st, id, &err);
	char *action = quarantine_action_state(fx->st, q, NULL);
	assert_string_equal(action, "return running on mx-b");
	g_free(action);
	g_free(helper_calls(fx->dir));

	/* The store writable again: within agent-lease the action waits; after
	 * it, the next decision finishes it first, without the helper. */
	sqlite_run(fx, "DROP TRIGGER full");
	assert_false(quarantine_decide(&cfg, fx->st, id, REVIEW_RELEASE, "carol", NULL, NULL,
	                               900 + cfg.agent_lease - 1, NULL, &err));
	assert_non_null(strstr(err, "is returned, not held"));
	assert_null(strstr(err, "carried out now"));
	g_clear_pointer(&err, g_free);
	assert_false(quarantine_decide(&cfg, fx->st, id, REVIEW_RELEASE, "carol", NULL, NULL,
	                               900 + cfg.agent_lease, NULL, &err));
	if (strstr(err, "had a return by bob left running here") == NULL ||
	    strstr(err, "carried out now: done (the message had left the queue before this claim)") == NULL)
		fail_msg("error: %s", err);
	g_clear_pointer(&err, g_free);
	char *calls = helper_calls(fx->dir);
	assert_string_equal(calls, "");
	g_free(calls);
	st = state_of(fx->st, id);
	assert_string_equal(st, "returned");
	g_free(st);
	assert_int_equal(in_trail(fx->st, id, "return"), 1);
	assert_int_equal(outbox_rows(fx->st, "return", id), 1);
	action = quarantine_action_state(fx->st, q, NULL);
	assert_string_equal(action, "return done on mx-b");
	g_free(action);
	store_quarantine_free(q);
	review_config_clear(&cfg);
}

/* The pool size the review tools gave their store last (0: none yet). */
static int pool_size_given;

void __real_store_set_pool_size(struct store *st, int connections);
void __wrap_store_set_pool_size(struct store *st, int connections);
void __wrap_store_set_pool_size(struct store *st, int connections)
{
	pool_size_given = connections;
	__real_store_set_pool_size(st, connections);
}

/* store-pool-size of review.yaml: 4 by default, 1 to 64 from the file or
 * -o, a value out of range refused with its place; the handle the review
 * tools open (review_config_open_store) gets it. */
static void test_review_pool_size(void **state)
{
	struct fixture *fx = *state;
	struct review_config cfg;
	char *err = NULL;
	review_config_init(&cfg);
	assert_int_equal(cfg.pool_size, 4);
	char *path = g_build_filename(fx->dir, "pool.yaml", NULL);
	char *yaml = g_strdup_printf("store: %s\nstore-pool-size: 65\n", fx->location);
	assert_true(g_file_set_contents(path, yaml, -1, NULL));
	assert_false(review_config_load(&cfg, path, &err));
	assert_non_null(strstr(err, "pool.yaml:2:18: store-pool-size: "));
	assert_non_null(strstr(err, "from 1 to 64"));
	g_clear_pointer(&err, g_free);
	assert_false(review_config_set(&cfg, "store-pool-size=0", &err));
	assert_string_equal(err, "-o store-pool-size: expected a number from 1 to 64");
	g_clear_pointer(&err, g_free);
	assert_int_equal(cfg.pool_size, 4); /* the refused values left it alone */
	g_free(yaml);
	yaml = g_strdup_printf("store: %s\nstore-pool-size: 16\n", fx->location);
	assert_true(g_file_set_contents(path, yaml, -1, NULL));
	if (!review_config_load(&cfg, path, &err))
		fail_msg("%s", err);
	assert_int_equal(cfg.pool_size, 16);
	pool_size_given = 0;
	struct store *st = review_config_open_store(&cfg, &err);
	if (st == NULL)
		fail_msg("%s", err);
	assert_int_equal(pool_size_given, 16);
	assert_int_equal(count(st, (struct store_query){.state = "held"}), 0); /* and it works */
	store_close(st);
	g_unlink(path);
	g_free(path);
	g_free(yaml);
	review_config_clear(&cfg);
}

/* The cases on a store, run on every backend. */
#define STORE_CASES(setup)                                                                                   \
	cmocka_unit_test_setup_teardown(test_list_filters, setup, teardown),                                 \
	    cmocka_unit_test_setup_teardown(test_list_orders_and_pages, setup, teardown),                    \
	    cmocka_unit_test_setup_teardown(test_list_reads_complaint, setup, teardown),                     \
	    cmocka_unit_test_setup_teardown(test_history_before, setup, teardown),                           \
	    cmocka_unit_test_setup_teardown(test_trail_outbox_stats, setup, teardown),                       \
	    cmocka_unit_test_setup_teardown(test_logins_by_address, setup, teardown),                        \
	    cmocka_unit_test_setup_teardown(test_logins_begin, setup, teardown),                             \
	    cmocka_unit_test_setup_teardown(test_reconcile, setup, teardown),                                \
	    cmocka_unit_test_setup_teardown(test_labels_for_decision, setup, teardown),                      \
	    cmocka_unit_test_setup_teardown(test_judge_near_miss, setup, teardown),                          \
	    cmocka_unit_test_setup_teardown(test_two_hosts, setup, teardown),                                \
	    cmocka_unit_test_setup_teardown(test_agent_lease, setup, teardown),                              \
	    cmocka_unit_test_setup_teardown(test_one_host, setup, teardown),                                 \
	    cmocka_unit_test_setup_teardown(test_helper_timeout, setup, teardown),                           \
	    cmocka_unit_test_setup_teardown(test_helper_acted_then_failed, setup, teardown),                 \
	    cmocka_unit_test_setup_teardown(test_helper_done_queue_unread, setup, teardown),                 \
	    cmocka_unit_test_setup_teardown(test_recording_fails_after_mta, setup, teardown),                \
	    cmocka_unit_test_setup_teardown(test_agent_claims_each_when_taken, setup, teardown),             \
	    cmocka_unit_test_setup_teardown(test_direct_while_action_open, setup, teardown),                 \
	    cmocka_unit_test_setup_teardown(test_stopped_local_decision, setup, teardown),                   \
	    cmocka_unit_test_setup_teardown(test_direct_during_agent, setup, teardown),                      \
	    cmocka_unit_test_setup_teardown(test_undo_only_own_claim, setup, teardown),                      \
	    cmocka_unit_test_setup_teardown(test_expiry_killed_agent, setup, teardown),                      \
	    cmocka_unit_test_setup_teardown(test_expiry_killed_local, setup, teardown),                      \
	    cmocka_unit_test_setup_teardown(test_review_pool_size, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    STORE_CASES(setup),
	    cmocka_unit_test_setup_teardown(test_notify_targets, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_notify_mail_encoded, setup, teardown),
	    cmocka_unit_test(test_spans_nested_findings),
	    cmocka_unit_test(test_settings),
	    cmocka_unit_test(test_settings_file_is_yaml),
	    cmocka_unit_test(test_settings_bounds),
	    cmocka_unit_test(test_settings_lease_bound),
	    cmocka_unit_test(test_logins_count),
	    cmocka_unit_test(test_precision_html_escaped),
	    cmocka_unit_test(test_decisions_count),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	if (pgtest_location() == NULL)
		return failed;
	/* The store's review queries on PostgreSQL. */
	const struct CMUnitTest pg_tests[] = {STORE_CASES(setup_pg)};
	return failed + cmocka_run_group_tests_name("review on postgresql", pg_tests, NULL, NULL);
}
