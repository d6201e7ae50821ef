/*
 * test_store.c - the SQLite store behind store.h: schema and migrations,
 * each record type written and read back, the crash guard across a
 * restart, pruning, and values that would break SQL built from strings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "store.h"
#include "thread.h"

struct fixture {
	char *dir;
	char *path;
	char *location;
	struct store *st;
};

static int setup(void **state)
{
	struct fixture *fx = g_new0(struct fixture, 1);
	char *err = NULL;
	fx->dir = g_dir_make_tmp("test_store-XXXXXX", NULL);
	fx->path = g_build_filename(fx->dir, "store.db", NULL);
	fx->location = g_strconcat("sqlite:", fx->path, NULL);
	fx->st = store_open(fx->location, &err);
	if (fx->st == NULL)
		fail_msg("open: %s", err);
	*state = fx;
	return 0;
}

static void remove_dir(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;
	while (d && (name = g_dir_read_name(d)) != NULL) {
		char *p = g_build_filename(dir, name, NULL);
		g_unlink(p);
		g_free(p);
	}
	if (d)
		g_dir_close(d);
	g_rmdir(dir);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	store_close(fx->st);
	remove_dir(fx->dir);
	g_free(fx->dir);
	g_free(fx->path);
	g_free(fx->location);
	g_free(fx);
	return 0;
}

static void reopen(struct fixture *fx)
{
	char *err = NULL;
	store_close(fx->st);
	fx->st = store_open(fx->location, &err);
	if (fx->st == NULL)
		fail_msg("reopen: %s", err);
}

static void test_schema_and_wal(void **state)
{
	struct fixture *fx = *state;
	int version = store_schema_version(fx->st);
	assert_true(version >= 3);
	reopen(fx); /* migrations are idempotent */
	assert_int_equal(store_schema_version(fx->st), version);

	sqlite3 *db;
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
	sqlite3_finalize(q);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT version FROM schema_version", -1, &q, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), version);
	sqlite3_finalize(q);
	sqlite3_close(db);
}

static void test_newer_schema_refused(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	store_close(fx->st);
	fx->st = NULL;
	sqlite3 *db;
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE schema_version SET version = 999", NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	assert_null(store_open(fx->location, &err));
	assert_non_null(strstr(err, "newer"));
	g_free(err);
	/* Leave a usable store for teardown. */
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	sqlite3_exec(db, "UPDATE schema_version SET version = 1", NULL, NULL, NULL);
	/* Undo every migration after the first; later ones may add tables too. */
	assert_int_equal(sqlite3_exec(db,
	                              "DROP INDEX quarantine_message_id; DROP INDEX quarantine_state;"
	                              "DROP INDEX apologies_thread;"
	                              "ALTER TABLE apologies DROP COLUMN complaint_ref",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_exec(db, "DROP INDEX IF EXISTS reviews_quarantine; DROP TABLE IF EXISTS outbox;", NULL, NULL,
	             NULL);
	sqlite3_close(db);
	/* From version 1 the store migrates forward again, every step. */
	reopen(fx);
	assert_true(store_schema_version(fx->st) >= 3);
	char *err2 = NULL;
	assert_true(store_apology_put(fx->st, "a@us", "c.example", 1, 1, "ref@c", &err2));
}

static void test_bad_locations(void **state)
{
	(void)state;
	char *err = NULL;
	assert_null(store_open("nosuchstore:/tmp/x", &err));
	assert_non_null(strstr(err, "unknown store type"));
	g_free(err);
	err = NULL;
	assert_null(store_open("sqlite:/nonexistent-dir/x/store.db", &err));
	assert_non_null(err);
	g_free(err);
}

static void test_complaints(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	struct store_complaint a = {"c1@client.example", "192.0.2.7", "client.example", 1000, false, 0x3};
	struct store_complaint b = {"c2@client.example", "192.0.2.7", "client.example", 2000, true, 0x4};
	assert_true(store_complaint_put(fx->st, &a, &err));
	assert_true(store_complaint_put(fx->st, &b, &err));

	const char *ids[] = {"unknown@x", "c1@client.example", "c2@client.example"};
	struct store_complaint out;
	assert_int_equal(store_complaint_find(fx->st, ids, 3, &out, &err), STORE_FOUND);
	assert_string_equal(out.message_id, "c2@client.example"); /* the newest */
	assert_true(out.serious);
	assert_int_equal(out.kinds, 0x4);
	assert_int_equal(out.received, 2000);
	store_complaint_clear(&out);

	assert_int_equal(store_complaint_find(fx->st, ids, 2, &out, &err), STORE_FOUND);
	assert_string_equal(out.message_id, "c1@client.example");
	assert_string_equal(out.client_addr, "192.0.2.7");
	assert_string_equal(out.client_domain, "client.example");
	assert_false(out.serious);
	store_complaint_clear(&out);

	assert_int_equal(store_complaint_find(fx->st, ids, 1, &out, &err), STORE_NONE);
	assert_int_equal(store_complaint_find(fx->st, ids, 0, &out, &err), STORE_NONE);

	/* The same Message-ID again replaces the record. */
	a.received = 3000;
	assert_true(store_complaint_put(fx->st, &a, &err));
	assert_int_equal(store_complaint_find(fx->st, ids, 3, &out, &err), STORE_FOUND);
	assert_string_equal(out.message_id, "c1@client.example");
	store_complaint_clear(&out);
}

static void test_history(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	for (int i = 0; i < 5; i++)
		assert_true(store_apology_put(fx->st, "am@us.example", "client.example", 1000 + i * 100,
		                              1u << i, i == 4 ? "c4@client" : NULL, &err));
	/* A second apology for complaint c4 adds nothing. */
	assert_true(store_apology_put(fx->st, "am@us.example", "client.example", 1450, 1, "c4@client", &err));
	assert_true(store_apology_put(fx->st, "am@us.example", "other.example", 1500, 1, NULL, &err));
	assert_true(store_apology_put(fx->st, "bob@us.example", "client.example", 1500, 1, NULL, &err));

	GArray *h = g_array_new(FALSE, TRUE, sizeof(struct history_entry));
	assert_true(store_history_get(fx->st, "am@us.example", "client.example", 1150, NULL, 10, h, &err));
	assert_int_equal(h->len, 3);                                            /* 1200, 1300, 1400 */
	assert_int_equal(g_array_index(h, struct history_entry, 0).when, 1400); /* newest first */
	assert_int_equal(g_array_index(h, struct history_entry, 0).kinds, 1u << 4);
	assert_int_equal(g_array_index(h, struct history_entry, 2).when, 1200);
	g_array_set_size(h, 0);
	/* Another reply to complaint c4 does not count the first reply to it. */
	assert_true(
	    store_history_get(fx->st, "am@us.example", "client.example", 1150, "c4@client", 10, h, &err));
	assert_int_equal(h->len, 2);
	assert_int_equal(g_array_index(h, struct history_entry, 0).when, 1300);
	g_array_set_size(h, 0);
	assert_true(
	    store_history_get(fx->st, "am@us.example", "client.example", 1150, "c9@client", 10, h, &err));
	assert_int_equal(h->len, 3);
	g_array_set_size(h, 0);
	assert_true(store_history_get(fx->st, "am@us.example", "client.example", 0, NULL, 2, h, &err));
	assert_int_equal(h->len, 2);
	g_array_set_size(h, 0);
	assert_true(store_history_get(fx->st, "nobody@us.example", "client.example", 0, NULL, 10, h, &err));
	assert_int_equal(h->len, 0);
	g_array_free(h, TRUE);
}

static void test_quarantine(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	static const char raw[] = "Subject: x\r\n\r\nbody\0with a NUL\r\n";
	struct store_quarantine q = {
	    .queue_id = "4AbCdE1234",
	    .message_id = "reply@us.example",
	    .token = "0123456789abcdef0123456789abcdef",
	    .sender = "am@us.example",
	    .recipients = "a@client.example,b@client.example",
	    .verdict = "hold",
	    .score = 12,
	    .findings_json = "{\"verdict\":\"hold\",\"findings\":[]}",
	    .complaint_ref = "c1@client.example",
	    .raw = (char *)raw,
	    .raw_len = sizeof raw - 1,
	    .created = 5000,
	    .state = "held",
	};
	gint64 id = 0;
	assert_true(store_quarantine_put(fx->st, &q, &id, &err));
	assert_true(id > 0);

	struct store_quarantine out;
	assert_int_equal(store_quarantine_get(fx->st, q.token, &out, &err), STORE_FOUND);
	assert_int_equal(out.id, id);
	assert_string_equal(out.queue_id, q.queue_id);
	assert_string_equal(out.message_id, q.message_id);
	assert_string_equal(out.sender, q.sender);
	assert_string_equal(out.recipients, q.recipients);
	assert_string_equal(out.verdict, "hold");
	assert_int_equal(out.score, 12);
	assert_string_equal(out.findings_json, q.findings_json);
	assert_string_equal(out.complaint_ref, q.complaint_ref);
	assert_int_equal(out.raw_len, sizeof raw - 1);
	assert_memory_equal(out.raw, raw, sizeof raw - 1);
	assert_int_equal(out.created, 5000);
	assert_string_equal(out.state, "held");
	store_quarantine_clear(&out);

	/* Queue ids are reused: the newest record wins. */
	q.token = "ffffffffffffffffffffffffffffffff";
	q.message_id = "later@us.example";
	q.complaint_ref = NULL;
	q.created = 6000;
	assert_true(store_quarantine_put(fx->st, &q, NULL, &err));
	assert_int_equal(store_quarantine_by_queue_id(fx->st, "4AbCdE1234", &out, &err), STORE_FOUND);
	assert_string_equal(out.message_id, "later@us.example");
	assert_null(out.complaint_ref);
	store_quarantine_clear(&out);

	/* A token is unique. */
	assert_false(store_quarantine_put(fx->st, &q, NULL, &err));
	assert_non_null(err);
	g_clear_pointer(&err, g_free);

	assert_true(store_quarantine_set_state(fx->st, q.token, "held", "released", &err));
	/* A second decision on the same record is refused: it is no longer held. */
	assert_false(store_quarantine_set_state(fx->st, q.token, "held", "deleted", &err));
	g_clear_pointer(&err, g_free);
	assert_int_equal(store_quarantine_get(fx->st, q.token, &out, &err), STORE_FOUND);
	assert_string_equal(out.state, "released");
	assert_true(store_review_put(fx->st, out.id, "lead@us.example", "release", "fine", 7000, &err));
	store_quarantine_clear(&out);
	assert_false(store_quarantine_set_state(fx->st, "no-such-token", "held", "released", &err));
	g_clear_pointer(&err, g_free);
	assert_int_equal(store_quarantine_get(fx->st, "no-such-token", &out, &err), STORE_NONE);
}

static void test_values_are_bound(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	const char *evil = "x'); DROP TABLE complaints; --";
	struct store_complaint c = {(char *)evil, "::1", "o'brien.example", 10, false, 0};
	assert_true(store_complaint_put(fx->st, &c, &err));
	struct store_complaint out;
	assert_int_equal(store_complaint_find(fx->st, &evil, 1, &out, &err), STORE_FOUND);
	assert_string_equal(out.message_id, evil);
	assert_string_equal(out.client_domain, "o'brien.example");
	store_complaint_clear(&out);
}

static void test_crash_guard(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	bool crashed = true;

	/* A message analysed to the end leaves nothing behind. */
	assert_true(store_inflight_begin(fx->st, "fp-ok", 100, &crashed, &err));
	assert_false(crashed);
	assert_true(store_inflight_end(fx->st, "fp-ok", &err));

	/* A message whose analysis never ended... */
	assert_true(store_inflight_begin(fx->st, "fp-crash", 100, &crashed, &err));
	assert_false(crashed);
	/* ...is found by the next start-up... */
	reopen(fx);
	assert_int_equal(store_inflight_recover(fx->st, &err), 1);
	assert_int_equal(store_inflight_recover(fx->st, &err), 0);
	/* ...and skipped when it comes again, every time. */
	assert_true(store_inflight_begin(fx->st, "fp-crash", 200, &crashed, &err));
	assert_true(crashed);
	assert_true(store_inflight_end(fx->st, "fp-crash", &err));
	assert_true(store_inflight_begin(fx->st, "fp-crash", 300, &crashed, &err));
	assert_true(crashed);
	assert_true(store_inflight_begin(fx->st, "fp-ok", 300, &crashed, &err));
	assert_false(crashed);
}

/* Counts rows of the inflight table in STATE. */
static int inflight_rows(const char *path, const char *state_name)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	int n = -1;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM inflight WHERE state = ?1", -1, &q, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(q, 1, state_name, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return n;
}

/* The marks of the process holding the guard file cost no row; a second
 * process on the same store falls back on rows, and a crash of either is
 * found at the next start-up. */
static void test_crash_guard_two_processes(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	bool crashed = true;
	assert_true(store_inflight_begin(fx->st, "fp-first", 100, &crashed, &err));
	assert_false(crashed);
	assert_int_equal(inflight_rows(fx->path, "running"), 0);

	struct store *other = store_open(fx->location, &err);
	assert_non_null(other);
	assert_true(store_inflight_begin(other, "fp-second", 100, &crashed, &err));
	assert_false(crashed);
	assert_int_equal(inflight_rows(fx->path, "running"), 1);
	store_close(other); /* "dies" with fp-second in flight */

	reopen(fx); /* the first "dies" too, with fp-first in flight */
	assert_int_equal(store_inflight_recover(fx->st, &err), 2);
	assert_int_equal(inflight_rows(fx->path, "crashed"), 2);
	assert_true(store_inflight_begin(fx->st, "fp-first", 200, &crashed, &err));
	assert_true(crashed);
	assert_true(store_inflight_begin(fx->st, "fp-second", 200, &crashed, &err));
	assert_true(crashed);
	/* Slots are reused: many more messages than slots, each ended. */
	for (int i = 0; i < 1000; i++) {
		char fp[32];
		g_snprintf(fp, sizeof fp, "fp-%d", i);
		assert_true(store_inflight_begin(fx->st, fp, 300, &crashed, &err));
		assert_false(crashed);
		assert_true(store_inflight_end(fx->st, fp, &err));
	}
	assert_int_equal(inflight_rows(fx->path, "running"), 0);
}

static void test_prune(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	bool crashed;
	struct store_complaint old = {"old@c.example", "", "c.example", 100, false, 0};
	struct store_complaint fresh = {"new@c.example", "", "c.example", 900, false, 0};
	assert_true(store_complaint_put(fx->st, &old, &err));
	assert_true(store_complaint_put(fx->st, &fresh, &err));
	assert_true(store_apology_put(fx->st, "a@us", "c.example", 100, 1, NULL, &err));
	assert_true(store_apology_put(fx->st, "a@us", "c.example", 900, 1, NULL, &err));
	assert_true(store_inflight_begin(fx->st, "fp-old", 100, &crashed, &err));
	assert_true(store_prune(fx->st, 500, &err));

	struct store_complaint out;
	const char *ids[] = {"old@c.example"};
	assert_int_equal(store_complaint_find(fx->st, ids, 1, &out, &err), STORE_NONE);
	ids[0] = "new@c.example";
	assert_int_equal(store_complaint_find(fx->st, ids, 1, &out, &err), STORE_FOUND);
	store_complaint_clear(&out);
	GArray *h = g_array_new(FALSE, TRUE, sizeof(struct history_entry));
	assert_true(store_history_get(fx->st, "a@us", "c.example", 0, NULL, 10, h, &err));
	assert_int_equal(h->len, 1);
	g_array_free(h, TRUE);
}

static gpointer writer(gpointer data)
{
	struct store *st = data;
	char *err = NULL;
	for (int i = 0; i < 200; i++)
		if (!store_apology_put(st, "t@us", "c.example", i, 1, NULL, &err))
			return err;
	return NULL;
}

static void test_threads(void **state)
{
	struct fixture *fx = *state;
	GThread *t[4];
	for (int i = 0; i < 4; i++)
		t[i] = g_thread_new("writer", writer, fx->st);
	for (int i = 0; i < 4; i++) {
		char *err = g_thread_join(t[i]);
		if (err)
			fail_msg("%s", err);
	}
	char *err = NULL;
	GArray *h = g_array_new(FALSE, TRUE, sizeof(struct history_entry));
	assert_true(store_history_get(fx->st, "t@us", "c.example", 0, NULL, 10000, h, &err));
	assert_int_equal(h->len, 800);
	g_array_free(h, TRUE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_schema_and_wal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
	    cmocka_unit_test(test_bad_locations),
	    cmocka_unit_test_setup_teardown(test_complaints, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_history, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_quarantine, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_values_are_bound, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crash_guard, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crash_guard_two_processes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
