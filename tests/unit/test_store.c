/*
 * test_store.c - the SQLite store behind store.h: schema and migrations,
 * each record type written and read back, the crash guard across restarts
 * (crash counts, their expiry, a full disk), pruning, and values that would
 * break SQL built from strings; the check of a store that creates nothing
 * (store_probe) and the fallback spool (spool.h): records written, bounded,
 * read back and replayed into the store, records put before those it holds,
 * appends that do not wait for a replay held up by a locked store; and the
 * daemon's store writer (writer.h): its queue bounded, full -> spool, a
 * locked store -> spool, the order of the records kept through all of it,
 * nothing lost at a stop; and the journal of holds: a daemon killed (-9)
 * with holds not yet in the store loses none, and one whose writer had
 * stored them gets no duplicate at the next start.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixtures.h"
#include "fulldisk.h"
#include "pgtest.h"
#include "spool.h"
#include "store.h"
#include "store_priv.h"
#include "thread.h"
#include "writer.h"

struct fixture {
	char *dir;
	char *path;
	char *location;
	struct store *st;
};

/* A store at its own temporary directory's store.db, or on PostgreSQL
 * (APOLOGY_TEST_PG, emptied first): the same cases run on both. */
static int setup_at(void **state, bool pg)
{
	struct fixture *fx = g_new0(struct fixture, 1);
	char *err = NULL;
	fx->dir = g_dir_make_tmp("test_store-XXXXXX", NULL);
	if (pg) {
		pgtest_reset();
		fx->location = g_strdup(pgtest_location());
	} else {
		fx->path = g_build_filename(fx->dir, "store.db", NULL);
		fx->location = g_strconcat("sqlite:", fx->path, NULL);
	}
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
	alarm(0); /* one a failed test set (test_spool_lock_held) must not kill the next */
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

/* SQL that undoes the migrations after entry 16 (the decisions' keys, 17;
 * the state moves' ids, 18; the ids of the outbox's claims and attempts
 * and of the host actions' puts and claims, 19) and after entry 14 (the
 * helper trail's index, 15; unclear complaints, 16), for the tests that
 * take a store back to an older schema. */
#define DROP_AFTER_18                                                                                        \
	"ALTER TABLE outbox DROP COLUMN claim_op; ALTER TABLE outbox DROP COLUMN attempt_op;"                \
	"ALTER TABLE host_actions DROP COLUMN put_op; ALTER TABLE host_actions DROP COLUMN claim_op;"
#define DROP_AFTER_17 DROP_AFTER_18 "ALTER TABLE quarantine DROP COLUMN state_op;"
#define DROP_AFTER_16 DROP_AFTER_17 "DROP INDEX decisions_key; ALTER TABLE decisions DROP COLUMN key;"
#define DROP_AFTER_14                                                                                        \
	DROP_AFTER_16 "DROP INDEX helper_actions_hold; ALTER TABLE complaints DROP COLUMN unclear;"

/* The migration that made the complaint's columns of quarantine (entry 12
 * of both backends' lists), and SQL that undoes it. */
#define COMPLAINT_MIGRATION 12
#define DROP_COMPLAINT_COLUMNS                                                                               \
	"ALTER TABLE quarantine DROP COLUMN complaint_detected;"                                             \
	"ALTER TABLE quarantine DROP COLUMN complaint_severity;"                                             \
	"ALTER TABLE quarantine DROP COLUMN complaint_clear;"                                                \
	"ALTER TABLE quarantine DROP COLUMN complaint_sent;"                                                 \
	"ALTER TABLE quarantine DROP COLUMN complaint_text;"

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

/* Whether the root helper has acted on a hold (store_helper_started(), run
 * before a release or a discard) finds the hold's rows of the audit trail
 * by index, not by reading the whole trail: the trail only grows. */
static void test_helper_trail_indexed(void **state)
{
	struct fixture *fx = *state;
	sqlite3 *db;
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "EXPLAIN QUERY PLAN " HELPER_STARTED_SQL("?"), -1, &q, NULL),
	                 SQLITE_OK);
	GString *plan = g_string_new(NULL);
	while (sqlite3_step(q) == SQLITE_ROW)
		g_string_append_printf(plan, "%s;", (const char *)sqlite3_column_text(q, 3));
	sqlite3_finalize(q);
	sqlite3_close(db);
	if (strstr(plan->str, "USING INDEX helper_actions_hold (quarantine_id=?") == NULL)
		fail_msg("store_helper_started() reads the trail as: %s", plan->str);
	g_string_free(plan, TRUE);
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
	sqlite3_exec(db, DROP_AFTER_17, NULL, NULL, NULL);
	assert_int_equal(sqlite3_exec(db,
	                              "DROP INDEX quarantine_message_id; DROP INDEX quarantine_state;"
	                              "DROP INDEX apologies_thread;"
	                              "ALTER TABLE apologies DROP COLUMN complaint_ref",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_exec(db, "DROP INDEX IF EXISTS reviews_quarantine; DROP TABLE IF EXISTS outbox;", NULL, NULL,
	             NULL);
	sqlite3_exec(db,
	             "DROP TABLE IF EXISTS crashes;"
	             "ALTER TABLE inflight ADD COLUMN state TEXT NOT NULL DEFAULT 'running'",
	             NULL, NULL, NULL);
	sqlite3_exec(db, "DROP TABLE IF EXISTS login_failures", NULL, NULL, NULL);
	sqlite3_exec(db, "DROP TABLE IF EXISTS helper_actions; DROP TABLE IF EXISTS host_actions", NULL, NULL,
	             NULL);
	sqlite3_exec(db, "DROP TABLE IF EXISTS review_labels; DROP TABLE IF EXISTS decisions", NULL, NULL,
	             NULL);
	sqlite3_exec(db, "ALTER TABLE quarantine DROP COLUMN host", NULL, NULL, NULL);
	sqlite3_exec(db,
	             "DROP TABLE IF EXISTS quarantine_findings; ALTER TABLE quarantine DROP COLUMN new_text",
	             NULL, NULL, NULL);
	sqlite3_exec(db, DROP_COMPLAINT_COLUMNS, NULL, NULL, NULL);
	sqlite3_exec(db, "ALTER TABLE complaints DROP COLUMN unclear", NULL, NULL, NULL);
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

/* A new store's file, and the -wal and -shm files SQLite makes beside it
 * with its mode, are 0666 less the umask: 0660 under the daemon's unit's
 * UMask=0007, so that the review tools in the store's group write them too
 * (SQLite alone makes them 0640 there), and 0644 under umask 0022. */
static void test_new_store_mode(void **state)
{
	(void)state;
	static const struct {
		mode_t umask, want;
	} cases[] = {{0007, 0660}, {0022, 0644}};
	static const char *const suffixes[] = {"", "-wal", "-shm"};
	char *dir = g_dir_make_tmp("test_store-XXXXXX", NULL);
	assert_non_null(dir);
	char *path = g_build_filename(dir, "store.db", NULL);
	char *location = g_strconcat("sqlite:", path, NULL);
	GString *wrong = g_string_new(NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *err = NULL;
		mode_t old = umask(cases[i].umask);
		struct store *st = store_open(location, &err);
		umask(old);
		if (st == NULL) {
			g_string_append_printf(wrong, "umask %04o: open: %s; ", (unsigned)cases[i].umask,
			                       err);
			g_free(err);
		}
		for (size_t k = 0; st != NULL && k < G_N_ELEMENTS(suffixes); k++) {
			char *file = g_strconcat(path, suffixes[k], NULL);
			struct stat sb;
			if (stat(file, &sb) != 0)
				g_string_append_printf(wrong, "umask %04o: no %s; ", (unsigned)cases[i].umask,
				                       file);
			else if ((sb.st_mode & 07777) != cases[i].want)
				g_string_append_printf(wrong, "umask %04o: %s is %04o, expected %04o; ",
				                       (unsigned)cases[i].umask, file,
				                       (unsigned)(sb.st_mode & 07777),
				                       (unsigned)cases[i].want);
			g_free(file);
		}
		store_close(st);
		for (size_t k = 0; k < G_N_ELEMENTS(suffixes); k++) {
			char *file = g_strconcat(path, suffixes[k], NULL);
			g_unlink(file);
			g_free(file);
		}
	}
	remove_dir(dir);
	g_free(dir);
	g_free(location);
	g_free(path);
	if (wrong->len > 0)
		fail_msg("%s", wrong->str);
	g_string_free(wrong, TRUE);
}

static void test_complaints(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	struct store_complaint a = {
	    "c1@client.example", "192.0.2.7", "client.example", 1000, false, 0x3, false};
	struct store_complaint b = {
	    "c2@client.example", "192.0.2.7", "client.example", 2000, true, 0x4, false};
	assert_true(store_complaint_put(fx->st, &a, &err));
	assert_true(store_complaint_put(fx->st, &b, &err));

	const char *ids[] = {"unknown@x", "c1@client.example", "c2@client.example"};
	struct store_complaint out;
	assert_int_equal(store_complaint_find(fx->st, ids, 3, &out, &err), STORE_FOUND);
	assert_string_equal(out.message_id, "c2@client.example"); /* the newest */
	assert_true(out.serious);
	assert_int_equal(out.kinds, 0x4);
	assert_int_equal(out.received, 2000);
	assert_false(out.unclear);
	store_complaint_clear(&out);

	assert_int_equal(store_complaint_find(fx->st, ids, 2, &out, &err), STORE_FOUND);
	assert_string_equal(out.message_id, "c1@client.example");
	assert_string_equal(out.client_addr, "192.0.2.7");
	assert_string_equal(out.client_domain, "client.example");
	assert_false(out.serious);
	assert_false(out.unclear);
	store_complaint_clear(&out);

	assert_int_equal(store_complaint_find(fx->st, ids, 1, &out, &err), STORE_NONE);
	assert_int_equal(store_complaint_find(fx->st, ids, 0, &out, &err), STORE_NONE);

	/* The same Message-ID again replaces the record. */
	a.received = 3000;
	assert_true(store_complaint_put(fx->st, &a, &err));
	assert_int_equal(store_complaint_find(fx->st, ids, 3, &out, &err), STORE_FOUND);
	assert_string_equal(out.message_id, "c1@client.example");
	store_complaint_clear(&out);

	/* A newer follow-up stored unclear (short of the gate's bar) does not
	 * displace a clear complaint of the thread; alone, it is found, and
	 * among unclear ones the newest. */
	struct store_complaint u = {
	    "c3@client.example", "192.0.2.7", "client.example", 4000, false, 0x1, true};
	struct store_complaint v = {
	    "c4@client.example", "192.0.2.7", "client.example", 5000, false, 0x2, true};
	assert_true(store_complaint_put(fx->st, &u, &err));
	assert_true(store_complaint_put(fx->st, &v, &err));
	const char *thread[] = {"c4@client.example", "c1@client.example", "c3@client.example"};
	assert_int_equal(store_complaint_find(fx->st, thread, 3, &out, &err), STORE_FOUND);
	assert_string_equal(out.message_id, "c1@client.example");
	assert_false(out.unclear);
	store_complaint_clear(&out);
	const char *unclear[] = {"c3@client.example", "c4@client.example"};
	assert_int_equal(store_complaint_find(fx->st, unclear, 2, &out, &err), STORE_FOUND);
	assert_string_equal(out.message_id, "c4@client.example");
	assert_true(out.unclear); /* stored short of the gate's bar */
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
	/* So does the same apology answering no known complaint written again
	 * (a replay after a death): the same sender, client, second and kinds. */
	assert_true(store_apology_put(fx->st, "am@us.example", "client.example", 1300, 1u << 3, NULL, &err));
	assert_true(store_apology_put(fx->st, "am@us.example", "other.example", 1500, 1, NULL, &err));
	assert_true(store_apology_put(fx->st, "bob@us.example", "client.example", 1500, 1, NULL, &err));
	/* Another kind in the same second is another apology. */
	assert_true(store_apology_put(fx->st, "bob@us.example", "client.example", 1500, 2, NULL, &err));

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
	assert_true(store_history_get(fx->st, "bob@us.example", "client.example", 0, NULL, 10, h, &err));
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
	struct store_quarantine q = fixture_hold("0123456789abcdef0123456789abcdef");
	q.recipients = "a@client.example,b@client.example";
	q.score = 12;
	q.findings_json = "{\"verdict\":\"hold\",\"findings\":[]}";
	q.complaint_ref = "c1@client.example";
	fixture_copy(&q, raw, sizeof raw - 1);
	q.created = 5000;
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
	assert_string_equal(out.host, g_get_host_name()); /* the host that recorded it */
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
	/* A host named by the caller is kept, and listed. */
	struct store_quarantine other = q;
	other.token = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
	other.host = "mx2.example";
	other.raw = NULL;
	assert_true(store_quarantine_put(fx->st, &other, NULL, &err));
	assert_int_equal(store_quarantine_get(fx->st, other.token, &out, &err), STORE_FOUND);
	assert_string_equal(out.host, "mx2.example");
	assert_null(out.raw);
	store_quarantine_clear(&out);
	GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	assert_true(
	    store_quarantine_list(fx->st, &(struct store_query){.order = STORE_ORDER_NEWEST}, rows, &err));
	assert_int_equal(rows->len, 3);
	assert_string_equal(((struct store_quarantine *)rows->pdata[0])->host, "mx2.example");
	g_ptr_array_unref(rows);

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

/* Run SQL (no rows wanted) on the store's database, past the store: the
 * SQLite file or the PostgreSQL database. */
static void store_sql(struct fixture *fx, const char *sql)
{
	if (fx->path == NULL) {
		g_free(pgtest_query(sql));
		return;
	}
	sqlite3 *db;
	char *msg = NULL;
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

static void expect_finding(const GArray *findings, guint i, const char *rule, size_t start, size_t end,
                           const char *excerpt, const char *words)
{
	const struct store_finding *f = &g_array_index(findings, struct store_finding, i);
	assert_string_equal(f->rule, rule);
	assert_int_equal(f->start, start);
	assert_int_equal(f->end, end);
	assert_string_equal(f->excerpt, excerpt);
	if (words == NULL)
		assert_null(f->words);
	else
		assert_string_equal(f->words, words);
}

/* A hold's findings are rows of their own, with the new text they point
 * into: made from the decision's JSON when only that is given, read back in
 * span order whatever becomes of the JSON, and found by rule in lists and
 * statistics; findings given as such are written as they are. */
static void test_findings_rows(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	struct store_quarantine q = fixture_hold("1111111111111111aaaaaaaaaaaaaaaa");
	q.findings_json = "{\"verdict\":\"hold\",\"findings\":["
	                  "{\"rule\":\"no-remedy\",\"severity\":\"advise\",\"start\":0,\"end\":32,"
	                  "\"line\":1,\"excerpt\":\"whole\",\"principle\":\"p2\",\"advice\":\"a2\"},"
	                  "{\"rule\":\"blame-third-party\",\"severity\":\"hold\",\"start\":4,\"end\":20,"
	                  "\"line\":1,\"excerpt\":\"the courier lost\",\"words\":\"courier lost\","
	                  "\"principle\":\"p1\",\"advice\":\"a1\"}]}";
	q.new_text = "Sorry, the courier lost it all.\n";
	gint64 id = 0;
	assert_true(store_quarantine_put(fx->st, &q, &id, &err));
	/* The JSON is no longer what findings are read from. */
	store_sql(fx, "UPDATE quarantine SET findings = '{}'");
	GArray *f = store_findings_new();
	assert_true(store_quarantine_findings(fx->st, id, f, &err));
	assert_int_equal(f->len, 2);
	expect_finding(f, 0, "no-remedy", 0, 32, "whole", NULL);
	expect_finding(f, 1, "blame-third-party", 4, 20, "the courier lost", "courier lost");
	assert_string_equal(g_array_index(f, struct store_finding, 1).severity, "hold");
	assert_int_equal(g_array_index(f, struct store_finding, 1).line, 1);
	assert_string_equal(g_array_index(f, struct store_finding, 1).principle, "p1");
	assert_string_equal(g_array_index(f, struct store_finding, 1).advice, "a1");
	g_array_unref(f);
	struct store_quarantine out;
	assert_int_equal(store_quarantine_get(fx->st, q.token, &out, &err), STORE_FOUND);
	assert_string_equal(out.new_text, q.new_text);
	store_quarantine_clear(&out);
	gint64 n = 0;
	assert_true(
	    store_quarantine_count(fx->st, &(struct store_query){.rule = "blame-third-party"}, &n, &err));
	assert_int_equal(n, 1);
	assert_true(store_quarantine_count(fx->st, &(struct store_query){.rule = "excuse"}, &n, &err));
	assert_int_equal(n, 0);
	GArray *counts = store_counts_new();
	assert_true(store_stats(fx->st, STORE_STAT_RULE, 0, 0, counts, &err));
	assert_int_equal(counts->len, 2);
	g_array_unref(counts);

	/* A decision that is not JSON (or has no findings) leaves no rows and
	 * no error; a record without new text reads back without it. */
	q.token = "2222222222222222bbbbbbbbbbbbbbbb";
	q.findings_json = "not json";
	q.new_text = NULL;
	assert_true(store_quarantine_put(fx->st, &q, &id, &err));
	f = store_findings_new();
	assert_true(store_quarantine_findings(fx->st, id, f, &err));
	assert_int_equal(f->len, 0);
	g_array_unref(f);
	assert_int_equal(store_quarantine_get(fx->st, q.token, &out, &err), STORE_FOUND);
	assert_null(out.new_text);
	store_quarantine_clear(&out);

	/* Findings given as such (the daemon's) are the rows, not the JSON's;
	 * their text is kept byte for byte, NULL as NULL. */
	struct store_finding given[] = {
	    {"excuse", "hold", 3, 9, 2, "a \"quoted\", {braced} \\ word", NULL, "own it", NULL},
	    {"no-remedy", "advise", 0, 40, 1, "", "NULL", NULL, "fix it"},
	};
	q.token = "3333333333333333cccccccccccccccc";
	q.findings_json = "{\"findings\":[{\"rule\":\"over-apology\",\"start\":1,\"end\":2}]}";
	q.findings = g_array_new(FALSE, FALSE, sizeof(struct store_finding));
	g_array_append_vals(q.findings, given, G_N_ELEMENTS(given));
	assert_true(store_quarantine_put(fx->st, &q, &id, &err));
	g_array_unref(q.findings);
	f = store_findings_new();
	assert_true(store_quarantine_findings(fx->st, id, f, &err));
	assert_int_equal(f->len, 2);
	expect_finding(f, 0, "no-remedy", 0, 40, "", "NULL");
	expect_finding(f, 1, "excuse", 3, 9, given[0].excerpt, NULL);
	assert_string_equal(g_array_index(f, struct store_finding, 0).advice, "fix it");
	assert_null(g_array_index(f, struct store_finding, 0).principle);
	assert_null(g_array_index(f, struct store_finding, 1).advice);
	assert_int_equal(g_array_index(f, struct store_finding, 1).line, 2);
	g_array_unref(f);
}

/* A store at schema 15: its complaints were all stored clear, and stay so
 * (migration 16's default). */
static void test_unclear_migrated(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	int version = store_schema_version(fx->st);
	struct store_complaint c = {"before@client.example", "", "client.example", 100, false, 1, false};
	assert_true(store_complaint_put(fx->st, &c, &err));
	store_close(fx->st);
	fx->st = NULL;
	store_sql(fx, DROP_AFTER_16
	          "ALTER TABLE complaints DROP COLUMN unclear; UPDATE schema_version SET version = 15;");
	reopen(fx);
	assert_int_equal(store_schema_version(fx->st), version);
	struct store_complaint out;
	const char *ids[] = {"before@client.example"};
	assert_int_equal(store_complaint_find(fx->st, ids, 1, &out, &err), STORE_FOUND);
	assert_false(out.unclear);
	store_complaint_clear(&out);
	/* and new ones keep what they are given */
	c.message_id = "after@client.example";
	c.unclear = true;
	assert_true(store_complaint_put(fx->st, &c, &err));
	ids[0] = "after@client.example";
	assert_int_equal(store_complaint_find(fx->st, ids, 1, &out, &err), STORE_FOUND);
	assert_true(out.unclear);
	store_complaint_clear(&out);
}

/* A store at schema 16: its decisions have no key and stay; those recorded
 * since are each kept once by theirs (migration 17). */
static void test_decision_key_migrated(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	int version = store_schema_version(fx->st);
	store_close(fx->st);
	fx->st = NULL;
	store_sql(fx, DROP_AFTER_16 "UPDATE schema_version SET version = 16;"
	                            "INSERT INTO decisions (at, sender, client_domain, verdict, rules)"
	                            " VALUES (100, 'sam@us.example', 'c.example', 'advise', 'excuse'),"
	                            " (100, 'sam@us.example', 'c.example', 'advise', 'excuse');");
	reopen(fx);
	assert_int_equal(store_schema_version(fx->st), version);
	struct store_decision k = {200, "sam@us.example", "c.example", "hold", "defensive", "k-200"};
	assert_true(store_decision_put(fx->st, &k, &err));
	assert_true(store_decision_put(fx->st, &k, &err));
	GArray *d = store_decisions_new();
	assert_true(store_decisions_list(fx->st, 0, NULL, d, &err));
	assert_int_equal(d->len, 3);
	assert_null(g_array_index(d, struct store_decision, 0).key);
	assert_null(g_array_index(d, struct store_decision, 1).key);
	assert_string_equal(g_array_index(d, struct store_decision, 2).key, "k-200");
	g_array_unref(d);
}

/* A store at schema 17: its held records, moved before state moves had
 * ids, are decided as before (migration 18), and only once. */
static void test_state_op_migrated(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	int version = store_schema_version(fx->st);
	struct store_quarantine q = fixture_hold("tok-before-18");
	assert_true(store_quarantine_put(fx->st, &q, NULL, &err));
	store_close(fx->st);
	fx->st = NULL;
	store_sql(fx, DROP_AFTER_17 "UPDATE schema_version SET version = 17;");
	reopen(fx);
	assert_int_equal(store_schema_version(fx->st), version);
	assert_true(store_quarantine_set_state(fx->st, q.token, "held", "released", &err));
	assert_false(store_quarantine_set_state(fx->st, q.token, "held", "discarded", &err));
	assert_non_null(strstr(err, "decided meanwhile"));
	g_free(err);
	struct store_quarantine out;
	assert_int_equal(store_quarantine_get(fx->st, q.token, &out, &err), STORE_FOUND);
	assert_string_equal(out.state, "released");
	store_quarantine_clear(&out);
}

/* A store of the schema before findings were rows: the findings of its held
 * replies, kept as JSON, become rows when it is opened; a record whose JSON
 * is not a decision migrates with none. */
/* The migration that made quarantine_findings and quarantine.new_text (entry
 * 10 of both backends' lists). */
#define FINDINGS_MIGRATION 10

static void test_findings_migrated(void **state)
{
	struct fixture *fx = *state;
	int version = store_schema_version(fx->st);
	assert_true(version >= FINDINGS_MIGRATION);
	store_close(fx->st);
	fx->st = NULL;
	/* Back to the version before it: its own table and column gone, and
	 * those of the migrations after it (host_actions, 11; the complaint's
	 * columns, 12). */
	char *old = g_strdup_printf(
	    DROP_AFTER_14
	    "DROP TABLE host_actions;" DROP_COMPLAINT_COLUMNS
	    "DROP TABLE quarantine_findings; ALTER TABLE quarantine DROP COLUMN new_text;"
	    "UPDATE schema_version SET version = %d;"
	    "INSERT INTO quarantine (queue_id, message_id, token, sender, recipients, verdict, score,"
	    " findings, created, state) VALUES ('Q1', 'm1', 't1', 's@us.example', 'a@c.example', 'hold', 9,"
	    " '{\"findings\":[{\"rule\":\"excuse\",\"severity\":\"hold\",\"start\":7,\"end\":12,\"line\":2,"
	    "\"excerpt\":\"\\\"busy\\\"\",\"principle\":\"own it\",\"advice\":\"say sorry\"},"
	    "{\"rule\":\"no-remedy\",\"severity\":\"advise\",\"start\":0,\"end\":40,\"line\":1,"
	    "\"excerpt\":\"x\"}]}', 100, 'held'),"
	    " ('Q2', 'm2', 't2', 's@us.example', 'a@c.example', 'hold', 9, 'not json', 100, 'held');",
	    FINDINGS_MIGRATION - 1);
	store_sql(fx, old);
	g_free(old);
	reopen(fx);
	assert_int_equal(store_schema_version(fx->st), version);
	struct store_quarantine q;
	char *err = NULL;
	assert_int_equal(store_quarantine_get(fx->st, "t1", &q, &err), STORE_FOUND);
	assert_null(q.new_text);
	GArray *f = store_findings_new();
	assert_true(store_quarantine_findings(fx->st, q.id, f, &err));
	assert_int_equal(f->len, 2);
	expect_finding(f, 0, "no-remedy", 0, 40, "x", NULL);
	expect_finding(f, 1, "excuse", 7, 12, "\"busy\"", NULL);
	const struct store_finding *e = &g_array_index(f, struct store_finding, 1);
	assert_string_equal(e->severity, "hold");
	assert_int_equal(e->line, 2);
	assert_string_equal(e->principle, "own it");
	assert_string_equal(e->advice, "say sorry");
	assert_null(g_array_index(f, struct store_finding, 0).principle);
	g_array_unref(f);
	store_quarantine_clear(&q);
	assert_int_equal(store_quarantine_get(fx->st, "t2", &q, &err), STORE_FOUND);
	f = store_findings_new();
	assert_true(store_quarantine_findings(fx->st, q.id, f, &err));
	assert_int_equal(f->len, 0);
	g_array_unref(f);
	store_quarantine_clear(&q);
}

/* What a record keeps of the complaint it answers: written and read back
 * whole (get and list), text with characters of several bytes; a record
 * that keeps none reads back as not recorded, with the severity and date
 * of its stored decision (written into its columns). */
static void test_complaint_kept(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	const char *text = "Dana wrote:\nLa livraison est arriv\u00e9e en retard \u2014 encore.\n";
	struct store_quarantine q = fixture_hold("tok-c1");
	q.verdict = "advise";
	q.findings_json = "{\"complaint\":{\"severity\":\"normal\",\"sent\":null},\"findings\":[]}";
	q.state = "monitor";
	fixture_complaint(&q, "serious", 4000, text);
	assert_true(store_quarantine_put(fx->st, &q, NULL, &err));
	struct store_quarantine none = q;
	none.token = "tok-c2";
	none.complaint_recorded = false; /* a writer with only the JSON */
	assert_true(store_quarantine_put(fx->st, &none, NULL, &err));
	struct store_quarantine nothing = q;
	nothing.token = "tok-c3";
	nothing.complaint_detected = false;
	nothing.complaint_severity = NULL;
	nothing.complaint_sent = -1;
	nothing.complaint_text = "";
	assert_true(store_quarantine_put(fx->st, &nothing, NULL, &err));

	struct store_quarantine out;
	assert_int_equal(store_quarantine_get(fx->st, "tok-c1", &out, &err), STORE_FOUND);
	assert_true(out.complaint_recorded);
	assert_true(out.complaint_detected);
	assert_false(out.complaint_clear);
	assert_string_equal(out.complaint_severity, "serious");
	assert_int_equal(out.complaint_sent, 4000);
	assert_string_equal(out.complaint_text, text);
	gint64 id = out.id;
	store_quarantine_clear(&out);
	assert_int_equal(store_quarantine_get(fx->st, "tok-c2", &out, &err), STORE_FOUND);
	assert_false(out.complaint_recorded);
	assert_false(out.complaint_detected);
	assert_string_equal(out.complaint_severity, "normal"); /* from the stored decision */
	assert_int_equal(out.complaint_sent, -1);
	assert_null(out.complaint_text);
	store_quarantine_clear(&out);
	assert_int_equal(store_quarantine_get(fx->st, "tok-c3", &out, &err), STORE_FOUND);
	assert_true(out.complaint_recorded);
	assert_false(out.complaint_detected);
	assert_null(out.complaint_severity);
	assert_int_equal(out.complaint_sent, -1);
	assert_string_equal(out.complaint_text, "");
	store_quarantine_clear(&out);

	GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	assert_true(
	    store_quarantine_list(fx->st, &(struct store_query){.order = STORE_ORDER_OLDEST}, rows, &err));
	assert_int_equal(rows->len, 3);
	const struct store_quarantine *a = rows->pdata[0], *b = rows->pdata[1];
	assert_int_equal(a->id, id);
	assert_true(a->complaint_recorded);
	assert_string_equal(a->complaint_severity, "serious"); /* the column's, not the decision's */
	assert_int_equal(a->complaint_sent, 4000);
	assert_string_equal(a->complaint_text, text);
	assert_false(b->complaint_recorded);
	assert_string_equal(b->complaint_severity, "normal"); /* from the stored decision */
	assert_int_equal(b->complaint_sent, -1);
	assert_null(b->complaint_text);
	g_ptr_array_unref(rows);
}

/* A store of the schema before the complaint's columns: its records come
 * through the migration as not recorded, and new ones keep theirs. */
static void test_complaint_migrated(void **state)
{
	struct fixture *fx = *state;
	int version = store_schema_version(fx->st);
	assert_true(version >= COMPLAINT_MIGRATION);
	store_close(fx->st);
	fx->st = NULL;
	char *old = g_strdup_printf(DROP_AFTER_14 DROP_COMPLAINT_COLUMNS
	                            "UPDATE schema_version SET version = %d;"
	                            "INSERT INTO quarantine (queue_id, message_id, token, sender, recipients,"
	                            " verdict, score, findings, created, state, new_text) VALUES ('Q1', 'm1',"
	                            " 'tok-old', 's@us.example', 'a@c.example', 'hold', 9,"
	                            " '{\"complaint\":{\"severity\":\"serious\",\"sent\":"
	                            "\"2025-03-03T09:12:00Z\"}}', 100, 'held', 'Sorry.');",
	                            COMPLAINT_MIGRATION - 1);
	store_sql(fx, old);
	g_free(old);
	reopen(fx);
	assert_int_equal(store_schema_version(fx->st), version);
	char *err = NULL;
	struct store_quarantine out;
	assert_int_equal(store_quarantine_get(fx->st, "tok-old", &out, &err), STORE_FOUND);
	assert_false(out.complaint_recorded);
	assert_null(out.complaint_text);
	assert_string_equal(out.new_text, "Sorry.");
	store_quarantine_clear(&out);
	GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	assert_true(store_quarantine_list(fx->st, &(struct store_query){0}, rows, &err));
	assert_int_equal(rows->len, 1);
	const struct store_quarantine *r = rows->pdata[0];
	assert_false(r->complaint_recorded);
	assert_string_equal(r->complaint_severity, "serious");
	assert_int_equal(r->complaint_sent, 1740993120);
	g_ptr_array_unref(rows);
	struct store_quarantine q = fixture_hold("tok-new");
	fixture_complaint(&q, "normal", 150, "late");
	q.complaint_clear = true;
	assert_true(store_quarantine_put(fx->st, &q, NULL, &err));
	assert_int_equal(store_quarantine_get(fx->st, "tok-new", &out, &err), STORE_FOUND);
	assert_true(out.complaint_recorded);
	assert_string_equal(out.complaint_text, "late");
	store_quarantine_clear(&out);
}

/* The migration that filled the complaint's columns of the records made
 * before them from their stored decisions (entry 13 of both backends'
 * lists). */
#define COMPLAINT_FILLED_MIGRATION 13

/* One value a query of the store's database returns, past the store (the
 * SQLite file or the PostgreSQL database); caller frees. */
static char *store_value(struct fixture *fx, const char *sql)
{
	if (fx->path == NULL)
		return pgtest_query(sql);
	sqlite3 *db;
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	char *v = g_strdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	sqlite3_close(db);
	return v;
}

/* What the complaint's columns of record TOKEN hold, as "DETECTED SEVERITY
 * SENT CLEAR TEXT" with "-" for NULL. */
static void expect_complaint_columns(struct fixture *fx, const char *token, const char *want)
{
	char *sql = g_strdup_printf("SELECT coalesce(CAST(complaint_detected AS TEXT), '-')"
	                            " || ' ' || coalesce(complaint_severity, '-')"
	                            " || ' ' || coalesce(CAST(complaint_sent AS TEXT), '-')"
	                            " || ' ' || coalesce(CAST(complaint_clear AS TEXT), '-')"
	                            " || ' ' || coalesce(complaint_text, '-')"
	                            " FROM quarantine WHERE token = '%s'",
	                            token);
	char *got = store_value(fx, sql);
	assert_string_equal(got, want);
	g_free(got);
	g_free(sql);
}

/* What a record read back says of its complaint. */
struct complaint_read {
	const char *token;
	bool recorded;
	const char *severity; /* NULL: none */
	gint64 sent;
	const char *text; /* NULL: none */
};

static void expect_complaint_read(const struct store_quarantine *q, const struct complaint_read *want)
{
	assert_string_equal(q->token, want->token);
	assert_int_equal(q->complaint_recorded, want->recorded);
	assert_int_equal(q->complaint_detected, want->recorded);
	if (want->severity == NULL)
		assert_null(q->complaint_severity);
	else
		assert_string_equal(q->complaint_severity, want->severity);
	assert_int_equal(q->complaint_sent, want->sent);
	if (want->text == NULL)
		assert_null(q->complaint_text);
	else
		assert_string_equal(q->complaint_text, want->text);
}

/* A store at the schema before migration 13, with records made before the
 * store kept the complaint (its columns NULL) and one made after: opened,
 * the old records' columns hold the severity and date of their stored
 * decisions, read back by get and list, and still say "not recorded" (no
 * text, nothing on clarity); one whose decision is not JSON, or names no
 * complaint, migrates with none; the record that keeps its complaint is
 * left as it is. */
static void test_complaint_filled(void **state)
{
	struct fixture *fx = *state;
	int version = store_schema_version(fx->st);
	assert_true(version >= COMPLAINT_FILLED_MIGRATION);
	/* Written past the open store (which holds no lock between calls),
	 * then opened again. */
	char *old = g_strdup_printf(
	    DROP_AFTER_14
	    "UPDATE schema_version SET version = %d;"
	    "INSERT INTO quarantine (queue_id, message_id, token, sender, recipients, verdict, score,"
	    " findings, created, state) VALUES"
	    " ('Q1', 'm1', 'tok-json', 's@us.example', 'a@c.example', 'hold', 9,"
	    " '{\"complaint\":{\"severity\":\"serious\",\"sent\":\"2025-03-03T09:12:00Z\"},\"findings\":[]}',"
	    " 100, 'held'),"
	    " ('Q2', 'm2', 'tok-bad', 's@us.example', 'a@c.example', 'hold', 9,"
	    " '{\"complaint\":{\"severity\":\"serious\"', 101, 'held'),"
	    " ('Q3', 'm3', 'tok-none', 's@us.example', 'a@c.example', 'hold', 9,"
	    " '{\"complaint\":{\"severity\":null,\"sent\":null},\"findings\":[]}', 102, 'held'),"
	    " ('Q4', 'm4', 'tok-nodate', 's@us.example', 'a@c.example', 'hold', 9,"
	    " '{\"complaint\":{\"severity\":\"normal\",\"sent\":null}}', 103, 'held');"
	    "INSERT INTO quarantine (queue_id, message_id, token, sender, recipients, verdict, score,"
	    " findings, created, state, complaint_detected, complaint_severity, complaint_clear,"
	    " complaint_sent, complaint_text) VALUES ('Q5', 'm5', 'tok-kept', 's@us.example', 'a@c.example',"
	    " 'hold', 9, '{\"complaint\":{\"severity\":\"serious\",\"sent\":\"2025-03-03T09:12:00Z\"}}', 104,"
	    " 'held', 1, 'normal', 1, 150, 'late');",
	    COMPLAINT_FILLED_MIGRATION - 1);
	store_sql(fx, old);
	g_free(old);
	reopen(fx);
	assert_int_equal(store_schema_version(fx->st), version);

	expect_complaint_columns(fx, "tok-json", "- serious 1740993120 - -");
	expect_complaint_columns(fx, "tok-bad", "- - - - -");
	expect_complaint_columns(fx, "tok-none", "- - - - -");
	expect_complaint_columns(fx, "tok-nodate", "- normal - - -");
	expect_complaint_columns(fx, "tok-kept", "1 normal 150 1 late");

	/* Each record as get and the list read it: the columns alone. */
	static const struct complaint_read want[] = {
	    {"tok-json", false, "serious", 1740993120, NULL},
	    {"tok-bad", false, NULL, -1, NULL},
	    {"tok-none", false, NULL, -1, NULL},
	    {"tok-nodate", false, "normal", -1, NULL},
	    {"tok-kept", true, "normal", 150, "late"}, /* the column's, not the decision's */
	};
	char *err = NULL;
	GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	assert_true(
	    store_quarantine_list(fx->st, &(struct store_query){.order = STORE_ORDER_OLDEST}, rows, &err));
	assert_int_equal(rows->len, G_N_ELEMENTS(want));
	for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
		struct store_quarantine got;
		assert_int_equal(store_quarantine_get(fx->st, want[i].token, &got, &err), STORE_FOUND);
		expect_complaint_read(&got, &want[i]);
		store_quarantine_clear(&got);
		expect_complaint_read(rows->pdata[i], &want[i]);
	}
	g_ptr_array_unref(rows);
}

static void test_values_are_bound(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	const char *evil = "x'); DROP TABLE complaints; --";
	struct store_complaint c = {(char *)evil, "::1", "o'brien.example", 10, false, 0, false};
	assert_true(store_complaint_put(fx->st, &c, &err));
	struct store_complaint out;
	assert_int_equal(store_complaint_find(fx->st, &evil, 1, &out, &err), STORE_FOUND);
	assert_string_equal(out.message_id, evil);
	assert_string_equal(out.client_domain, "o'brien.example");
	store_complaint_clear(&out);
}

/* One message through the guard at NOW: its crash count, counting deaths
 * since SINCE; the mark is cleared unless the run "dies" (LEAVE). */
static unsigned judge_at(struct store *st, const char *fp, gint64 now, gint64 since, bool leave)
{
	char *err = NULL;
	unsigned crashes = 99;
	if (!store_inflight_begin(st, fp, now, since, &crashes, &err))
		fail_msg("begin: %s", err);
	if (!leave && !store_inflight_end(st, fp, &err))
		fail_msg("end: %s", err);
	return crashes;
}

/* N messages through the guard from NOW on, none of which crashed a run;
 * each is ended unless LEAVE and its number a multiple of LEAVE. */
static void judge_many(struct store *st, int n, gint64 now, int leave)
{
	for (int i = 0; i < n; i++) {
		char fp[32];
		g_snprintf(fp, sizeof fp, "fp-%d", i);
		assert_int_equal(judge_at(st, fp, now + i, 0, leave && i % leave == 0), 0);
	}
}

/* The next start-up after a death: a new handle finds what the dead one left. */
static int restart(struct fixture *fx, gint64 since)
{
	char *err = NULL;
	reopen(fx);
	int n = store_inflight_recover(fx->st, since, &err);
	if (n < 0)
		fail_msg("recover: %s", err);
	return n;
}

/* Two deaths make a message poison, one does not: one may be a kill from
 * outside while the message happened to be in flight. */
static void test_crash_counting(void **state)
{
	struct fixture *fx = *state;

	/* A message analysed to the end leaves nothing behind. */
	assert_int_equal(judge_at(fx->st, "fp-ok", 100, 0, false), 0);
	assert_int_equal(restart(fx, 0), 0);

	/* The first death: found at the next start-up, and the message is
	 * analysed again when it comes back. */
	assert_int_equal(judge_at(fx->st, "fp-crash", 100, 0, true), 0);
	assert_int_equal(restart(fx, 0), 1);
	assert_int_equal(restart(fx, 0), 0);
	assert_int_equal(judge_at(fx->st, "fp-ok", 150, 0, false), 0);
	/* The second death while analysing it again... */
	assert_int_equal(judge_at(fx->st, "fp-crash", 200, 0, true), 1);
	assert_int_equal(restart(fx, 0), 1);
	/* ...makes it poison, every time it comes, until the marks expire. */
	assert_int_equal(judge_at(fx->st, "fp-crash", 300, 0, false), 2);
	assert_int_equal(judge_at(fx->st, "fp-crash", 400, 0, false), 2);
	assert_int_equal(restart(fx, 0), 0);
	assert_int_equal(judge_at(fx->st, "fp-crash", 500, 0, false), 2);
	assert_int_equal(judge_at(fx->st, "fp-ok", 500, 0, false), 0);

	/* Expired: a last death before SINCE does not count... */
	assert_int_equal(judge_at(fx->st, "fp-crash", 500, 201, false), 0);
	/* ...and a start-up forgets it for good. */
	assert_int_equal(restart(fx, 201), 0);
	assert_int_equal(judge_at(fx->st, "fp-crash", 600, 0, false), 0);

	/* Deaths far apart do not add up: after an expired one, the count starts again. */
	assert_int_equal(judge_at(fx->st, "fp-slow", 1000, 0, true), 0);
	assert_int_equal(restart(fx, 0), 1);
	assert_int_equal(judge_at(fx->st, "fp-slow", 9000, 5000, true), 0);
	assert_int_equal(restart(fx, 5000), 1);
	assert_int_equal(judge_at(fx->st, "fp-slow", 9100, 5000, false), 1);
}

/* Copies of one message in flight at one death (sent in two transactions
 * at once) are one crash of it. */
static void test_crash_counted_once(void **state)
{
	struct fixture *fx = *state;
	assert_int_equal(judge_at(fx->st, "fp-crash", 100, 0, true), 0);
	assert_int_equal(judge_at(fx->st, "fp-crash", 101, 0, true), 0);
	assert_int_equal(judge_at(fx->st, "fp-other", 101, 0, true), 0);
	assert_int_equal(restart(fx, 0), 2);
	assert_int_equal(judge_at(fx->st, "fp-crash", 300, 0, false), 1);
	assert_int_equal(judge_at(fx->st, "fp-other", 300, 0, false), 1);
}

/* Counts rows of TABLE. */
static int rows(const char *path, const char *table)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	int n = -1;
	char *sql = g_strdup_printf("SELECT count(*) FROM %s", table);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	g_free(sql);
	return n;
}

/* The marks of the process holding the guard file cost no row; a second
 * process on the same store falls back on rows, and a death of either is
 * found at the next start-up. */
static void test_crash_guard_two_processes(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	char *why = NULL;
	assert_int_equal(judge_at(fx->st, "fp-first", 100, 0, true), 0);
	assert_int_equal(store_inflight_guard(fx->st, &why), STORE_GUARD_FILE);
	assert_null(why);
	assert_int_equal(rows(fx->path, "inflight"), 0);

	struct store *other = store_open(fx->location, &err);
	assert_non_null(other);
	assert_int_equal(judge_at(other, "fp-second", 100, 0, true), 0);
	assert_int_equal(store_inflight_guard(other, &why), STORE_GUARD_ROWS);
	assert_non_null(strstr(why, "another process"));
	g_free(why);
	assert_int_equal(rows(fx->path, "inflight"), 1);
	store_close(other); /* "dies" with fp-second in flight */

	/* the first "dies" too, with fp-first in flight */
	assert_int_equal(restart(fx, 0), 2);
	assert_int_equal(rows(fx->path, "inflight"), 0);
	assert_int_equal(rows(fx->path, "crashes"), 2);
	assert_int_equal(judge_at(fx->st, "fp-first", 200, 0, false), 1);
	assert_int_equal(judge_at(fx->st, "fp-second", 200, 0, false), 1);
	/* Slots are reused: many more messages than slots, each ended. */
	judge_many(fx->st, 1000, 300, 0);
	assert_int_equal(rows(fx->path, "inflight"), 0);
}

/* The guard's file is allocated for real: no page of it waits for a block
 * that a full disk could refuse (a SIGBUS when the page is first written). */
static void test_guard_file_allocated(void **state)
{
	struct fixture *fx = *state;
	char *file = g_strconcat(fx->path, "-inflight", NULL);
	struct stat sb;
	assert_int_equal(judge_at(fx->st, "fp", 100, 0, false), 0);
	assert_int_equal(stat(file, &sb), 0);
	assert_true(sb.st_size >= 256 * 80);
	assert_true((gint64)sb.st_blocks * 512 >= (gint64)sb.st_size);
	g_free(file);
}

/* A store from before crash counts: a message that crashed a run once is
 * no longer poison; a mark of a process that died is counted at start-up. */
static void test_crashes_migrated(void **state)
{
	struct fixture *fx = *state;
	store_close(fx->st);
	fx->st = NULL;
	sqlite3 *db;
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db,
	                 DROP_AFTER_17
	                 "DROP TABLE crashes; DROP TABLE login_failures; DROP TABLE helper_actions;"
	                 "DROP TABLE review_labels; DROP TABLE decisions; DROP TABLE quarantine_findings;"
	                 "DROP TABLE host_actions;"
	                 "ALTER TABLE quarantine DROP COLUMN host; ALTER TABLE quarantine DROP COLUMN "
	                 "new_text;" DROP_COMPLAINT_COLUMNS "ALTER TABLE complaints DROP COLUMN unclear;"
	                 "ALTER TABLE inflight ADD COLUMN state TEXT NOT NULL DEFAULT 'running';"
	                 "UPDATE schema_version SET version = 4;"
	                 "INSERT INTO inflight VALUES ('fp-crashed', 100, 'crashed');"
	                 "INSERT INTO inflight VALUES ('fp-running', 100, 'running');",
	                 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(restart(fx, 0), 1);
	assert_true(store_schema_version(fx->st) >= 5);
	assert_int_equal(judge_at(fx->st, "fp-crashed", 200, 0, false), 1);
	assert_int_equal(judge_at(fx->st, "fp-running", 200, 0, false), 1);
}

/* A full disk: the guard cannot allocate its file, says why, makes no
 * marks and never stops the process; mail goes on being judged.  The guard
 * file left by an earlier version is sparse (only its first page was ever
 * written), as a long-used store's is, and holds the mark of a run that
 * died.  Once there is room again, the guard is back in its file. */
static void test_full_disk(void **state)
{
	(void)state;
	char *dir = fulldisk_mount(2 << 20);
	if (dir == NULL)
		skip();
	char *path = g_build_filename(dir, "store.db", NULL);
	char *file = g_strconcat(path, "-inflight", NULL);
	char *err = NULL;
	char *why = NULL;
	struct store *st = store_open(path, &err);
	if (st == NULL)
		fail_msg("open: %s", err);
	fulldisk_sparse(file, 256 * 80, 4096);
	int fd = open(file, O_WRONLY);
	assert_true(fd >= 0);
	char slot[80] = "fp-left";
	assert_int_equal(pwrite(fd, slot, sizeof slot, 0), (ssize_t)sizeof slot);
	close(fd);
	assert_true(fulldisk_fill(dir) > 0);

	/* The dead run's mark is read without touching a hole of the file;
	 * counting it may fail for want of room (the store says so). */
	int n = store_inflight_recover(st, 0, &err);
	assert_true(n == 1 || n == -1);
	g_clear_pointer(&err, g_free);
	assert_int_equal(store_inflight_guard(st, &why), STORE_GUARD_OFF);
	assert_non_null(strstr(why, "cannot allocate"));
	assert_non_null(strstr(why, g_strerror(ENOSPC)));
	g_free(why);
	/* Far more messages than slots on a page, a third of them never ended. */
	judge_many(st, 1000, 100, 3);

	fulldisk_unfill(dir);
	assert_int_equal(store_inflight_guard(st, &why), STORE_GUARD_FILE);
	assert_null(why);
	judge_many(st, 1000, 2000, 0);
	store_close(st);
	g_free(file);
	g_free(path);
	fulldisk_unmount(dir);
	g_free(dir);
}

static void test_prune(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	unsigned crashes;
	struct store_complaint old = {"old@c.example", "", "c.example", 100, false, 0, false};
	struct store_complaint fresh = {"new@c.example", "", "c.example", 900, false, 0, false};
	assert_true(store_complaint_put(fx->st, &old, &err));
	assert_true(store_complaint_put(fx->st, &fresh, &err));
	assert_true(store_apology_put(fx->st, "a@us", "c.example", 100, 1, NULL, &err));
	assert_true(store_apology_put(fx->st, "a@us", "c.example", 900, 1, NULL, &err));
	assert_true(store_inflight_begin(fx->st, "fp-old", 100, 0, &crashes, &err));
	/* near misses kept for review: the old one nobody judged goes; one judged,
	 * one with an audit entry, a new one and an old hold stay */
	const char *records[][2] = {{"s-old", "sampled"},
	                            {"s-new", "sampled"},
	                            {"s-judged", "judged"},
	                            {"s-audit", "sampled"},
	                            {"h-old", "held"}};
	gint64 ids_of[G_N_ELEMENTS(records)];
	for (size_t i = 0; i < G_N_ELEMENTS(records); i++) {
		struct store_quarantine q = fixture_hold(records[i][0]);
		q.state = (char *)records[i][1];
		q.created = strcmp(records[i][0], "s-new") == 0 ? 900 : 100;
		q.findings_json = "{\"findings\":[{\"rule\":\"no-remedy\"}]}"; /* a row to delete too */
		assert_true(store_quarantine_put(fx->st, &q, &ids_of[i], &err));
	}
	assert_true(store_review_put(fx->st, ids_of[3], "alice", "judge-none", NULL, 200, &err));
	assert_true(store_prune(fx->st, 500, &err));
	gint64 left = 0;
	assert_true(store_quarantine_count(fx->st, &(struct store_query){.state = NULL}, &left, &err));
	assert_int_equal(left, 4);
	struct store_quarantine gone;
	assert_int_equal(store_quarantine_get(fx->st, "s-old", &gone, &err), STORE_NONE);
	assert_int_equal(store_quarantine_get(fx->st, "s-new", &gone, &err), STORE_FOUND);
	store_quarantine_clear(&gone);

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

struct writer_args {
	struct store *st;
	unsigned kinds; /* each thread's own: its apologies are others' */
};

static gpointer writer(gpointer data)
{
	const struct writer_args *a = data;
	char *err = NULL;
	for (int i = 0; i < 200; i++)
		if (!store_apology_put(a->st, "t@us", "c.example", i, a->kinds, NULL, &err))
			return err;
	return NULL;
}

static void test_threads(void **state)
{
	struct fixture *fx = *state;
	GThread *t[4];
	struct writer_args args[4];
	for (int i = 0; i < 4; i++) {
		args[i] = (struct writer_args){fx->st, 1u << i};
		t[i] = g_thread_new("writer", writer, &args[i]);
	}
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

/* ---- actions addressed to a mail host ------------------------------------ */

/* A held record of TOKEN on HOST, otherwise as test_quarantine's. */
static gint64 hold_on(struct store *st, const char *token, const char *host)
{
	char *err = NULL;
	gint64 id = 0;
	struct store_quarantine q = fixture_hold(token);
	q.host = (char *)host;
	if (!store_quarantine_put(st, &q, &id, &err))
		fail_msg("%s", err);
	return id;
}

struct claimer {
	const char *location;
	GMutex *start; /* held until every thread is ready */
	gint64 now;    /* when it claims */
	int found;
};

/* One agent of host mx-b: its own handle, claiming once. */
static gpointer claim_once(gpointer data)
{
	struct claimer *c = data;
	char *err = NULL;
	struct store *st = store_open(c->location, &err);
	if (st == NULL)
		return err;
	struct store_host_action a = {0};
	g_mutex_lock(c->start);
	g_mutex_unlock(c->start);
	enum store_status s = store_host_action_claim(st, "mx-b", c->now, 60, &a, &err);
	c->found = s == STORE_FOUND;
	store_host_action_clear(&a);
	store_close(st);
	return s == STORE_ERROR ? err : NULL;
}

/* Eight agents of mx-b, each on a handle of its own, claiming at once at
 * NOW: how many got an action. */
static int agents_claim(const char *location, gint64 now)
{
	GMutex start;
	g_mutex_init(&start);
	g_mutex_lock(&start);
	struct claimer c[8];
	GThread *t[8];
	for (int i = 0; i < 8; i++) {
		c[i] = (struct claimer){.location = location, .start = &start, .now = now};
		t[i] = g_thread_new("agent", claim_once, &c[i]);
	}
	g_usleep(200000);
	g_mutex_unlock(&start);
	int claimed = 0;
	for (int i = 0; i < 8; i++) {
		char *terr = g_thread_join(t[i]);
		if (terr)
			fail_msg("%s", terr);
		claimed += c[i].found;
	}
	g_mutex_clear(&start);
	return claimed;
}

/* A decision made on the hold's own host takes the same slot: put already
 * claimed (no agent takes it within the lease), refusing any other action
 * of the hold while open, and dropped under its claim when it ends. */
static void test_host_action_local(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	gint64 on_b = hold_on(fx->st, "bbbb", "mx-b");
	struct store_host_action local = {.quarantine_id = on_b,
	                                  .host = "mx-b",
	                                  .verb = "discard",
	                                  .reviewer = "bob",
	                                  .requested_at = 100,
	                                  .claimed_at = 100};
	assert_true(store_host_action_put(fx->st, &local, &local.id, &err));
	struct store_host_action sent = {.quarantine_id = on_b,
	                                 .host = "mx-b",
	                                 .verb = "release",
	                                 .reviewer = "alice",
	                                 .requested_at = 110};
	assert_false(store_host_action_put(fx->st, &sent, NULL, &err)); /* the slot is taken */
	g_clear_pointer(&err, g_free);
	struct store_host_action got = {0};
	assert_int_equal(store_host_action_last(fx->st, on_b, &got, &err), STORE_FOUND);
	assert_int_equal(got.claimed_at, 100);
	store_host_action_clear(&got);
	assert_int_equal(store_host_action_claim(fx->st, "mx-b", 159, 60, &got, &err), STORE_NONE);
	/* Dropped only under its own claim, once. */
	struct store_host_action other = local;
	other.claimed_at = 99;
	assert_int_equal(store_host_action_drop(fx->st, &other, &err), STORE_NONE);
	assert_int_equal(store_host_action_drop(fx->st, &local, &err), STORE_FOUND);
	assert_int_equal(store_host_action_drop(fx->st, &local, &err), STORE_NONE);
	assert_int_equal(store_host_action_last(fx->st, on_b, &got, &err), STORE_NONE);
	/* The slot free again: an action for the agent, which cannot be dropped
	 * once its result is in. */
	assert_true(store_host_action_put(fx->st, &sent, &sent.id, &err));
	assert_int_equal(store_host_action_claim(fx->st, "mx-b", 200, 60, &got, &err), STORE_FOUND);
	assert_int_equal(store_host_action_done(fx->st, &got, 210, "done", &err), STORE_FOUND);
	assert_int_equal(store_host_action_drop(fx->st, &got, &err), STORE_NONE);
	store_host_action_clear(&got);
	assert_int_equal(store_host_action_last(fx->st, on_b, &got, &err), STORE_FOUND);
	assert_string_equal(got.result, "done");
	store_host_action_clear(&got);
}

static void test_host_actions(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	gint64 on_a = hold_on(fx->st, "aaaa", "mx-a"), on_b = hold_on(fx->st, "bbbb", "mx-b"), id = 0;
	struct store_host_action a = {.quarantine_id = on_b,
	                              .host = "mx-b",
	                              .verb = "return",
	                              .reviewer = "alice",
	                              .comment = "please call them",
	                              .wrong = "no-remedy\nblame-third-party",
	                              .requested_at = 200};
	assert_true(store_host_action_put(fx->st, &a, &id, &err));
	assert_true(id > 0);
	/* One open action per hold: a second decision is refused. */
	a.verb = "release";
	assert_false(store_host_action_put(fx->st, &a, NULL, &err));
	g_clear_pointer(&err, g_free);
	a.verb = "bounce";
	a.quarantine_id = on_a;
	assert_false(store_host_action_put(fx->st, &a, NULL, &err)); /* not a verb */
	g_clear_pointer(&err, g_free);

	struct store_host_action got = {0};
	assert_int_equal(store_host_action_last(fx->st, on_a, &got, &err), STORE_NONE);
	assert_int_equal(store_host_action_last(fx->st, on_b, &got, &err), STORE_FOUND);
	assert_int_equal(got.id, id);
	assert_string_equal(got.verb, "return");
	assert_int_equal(got.claimed_at, 0);
	assert_int_equal(got.done_at, 0);
	assert_null(got.result);
	store_host_action_clear(&got);
	/* Not claimed: no result can be recorded. */
	struct store_host_action unclaimed = {.id = id};
	assert_int_equal(store_host_action_done(fx->st, &unclaimed, 250, "done", &err), STORE_NONE);
	/* Host mx-a's agent gets nothing; of eight agents of mx-b polling at
	 * once, each on a handle of its own, exactly one gets it. */
	assert_int_equal(store_host_action_claim(fx->st, "mx-a", 300, 60, &got, &err), STORE_NONE);
	assert_int_equal(agents_claim(fx->location, 300), 1);
	/* Claimed at 300 with a lease of 60 s: not claimable again before 360. */
	assert_int_equal(store_host_action_claim(fx->st, "mx-b", 359, 60, &got, &err), STORE_NONE);
	struct store_host_action stale = {0};
	assert_int_equal(store_host_action_last(fx->st, on_b, &stale, &err), STORE_FOUND);
	assert_int_equal(stale.claimed_at, 300);
	assert_string_equal(stale.wrong, "no-remedy\nblame-third-party");
	assert_string_equal(stale.comment, "please call them");
	assert_string_equal(stale.reviewer, "alice");
	/* Its agent never recorded a result: once the lease ran out, another
	 * agent claims it (exactly one of eight again), and the first claim's
	 * late result is refused. */
	assert_int_equal(agents_claim(fx->location, 360), 1);
	assert_int_equal(store_host_action_last(fx->st, on_b, &got, &err), STORE_FOUND);
	assert_int_equal(got.claimed_at, 360);
	assert_int_equal(store_host_action_done(fx->st, &stale, 365, "done", &err), STORE_NONE);
	store_host_action_clear(&stale);
	/* Done once, under the claim that holds it. */
	assert_int_equal(store_host_action_done(fx->st, &got, 370, "failed: not in the hold queue", &err),
	                 STORE_FOUND);
	assert_int_equal(store_host_action_done(fx->st, &got, 371, "done", &err), STORE_NONE);
	store_host_action_clear(&got);
	assert_int_equal(store_host_action_claim(fx->st, "mx-b", 1000, 60, &got, &err), STORE_NONE);
	assert_int_equal(store_host_action_last(fx->st, on_b, &got, &err), STORE_FOUND);
	assert_int_equal(got.done_at, 370);
	assert_string_equal(got.result, "failed: not in the hold queue");
	store_host_action_clear(&got);
	/* Once done, the hold may get another decision. */
	a.verb = "release";
	a.quarantine_id = on_b;
	a.comment = NULL;
	a.wrong = NULL;
	assert_true(store_host_action_put(fx->st, &a, NULL, &err));
	assert_int_equal(store_host_action_last(fx->st, on_b, &got, &err), STORE_FOUND);
	assert_string_equal(got.verb, "release");
	assert_null(got.comment);
	assert_null(got.wrong);
	store_host_action_clear(&got);
}

/* A store at schema 18: a notice queued and an action for a host put
 * before claims and attempts had ids are claimed, tried and closed as
 * before (migration 19), each only once. */
static void test_op_ids_migrated(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	int version = store_schema_version(fx->st);
	gint64 hold = hold_on(fx->st, "tok-before-19", "mx-b"), action = 0;
	struct store_outbox o = {.key = "hold:1:mail",
	                         .channel = "mail",
	                         .event = "hold",
	                         .target = "lead@us.example",
	                         .payload = "held",
	                         .created = 100,
	                         .next_try = 100};
	assert_true(store_outbox_put(fx->st, &o, NULL, &err));
	struct store_host_action a = {.quarantine_id = hold,
	                              .host = "mx-b",
	                              .verb = "release",
	                              .reviewer = "alice",
	                              .requested_at = 100};
	assert_true(store_host_action_put(fx->st, &a, &action, &err));
	store_close(fx->st);
	fx->st = NULL;
	store_sql(fx, DROP_AFTER_18 "UPDATE schema_version SET version = 18;");
	reopen(fx);
	assert_int_equal(store_schema_version(fx->st), version);
	GArray *due = g_array_new(FALSE, TRUE, sizeof(struct store_outbox));
	g_array_set_clear_func(due, (GDestroyNotify)store_outbox_clear);
	assert_true(store_outbox_due(fx->st, 100, 0, due, &err));
	assert_int_equal(due->len, 1);
	gint64 id = g_array_index(due, struct store_outbox, 0).id;
	bool claimed = false;
	assert_true(store_outbox_claim(fx->st, id, 100, 200, &claimed, &err));
	assert_true(claimed);
	assert_true(store_outbox_claim(fx->st, id, 100, 200, &claimed, &err));
	assert_false(claimed);
	assert_true(store_outbox_attempt(fx->st, id, "pending", 300, "timed out", &err));
	g_array_set_size(due, 0);
	assert_true(store_outbox_due(fx->st, 300, 0, due, &err));
	assert_int_equal(due->len, 1);
	assert_int_equal(g_array_index(due, struct store_outbox, 0).attempts, 1);
	g_array_unref(due);
	struct store_host_action got = {0};
	assert_int_equal(store_host_action_claim(fx->st, "mx-b", 200, 60, &got, &err), STORE_FOUND);
	assert_int_equal(got.id, action);
	assert_int_equal(store_host_action_claim(fx->st, "mx-b", 200, 60, &got, &err), STORE_NONE);
	assert_int_equal(store_host_action_done(fx->st, &got, 210, "done", &err), STORE_FOUND);
	assert_int_equal(store_host_action_done(fx->st, &got, 210, "done", &err), STORE_NONE);
	store_host_action_clear(&got);
}

/* The migration that let host_actions take verb "expire" (entry 14 of both
 * backends' lists). */
#define EXPIRE_VERB_MIGRATION 14

/* Table host_actions of FX's store set back to what migration 11 made: its
 * CHECK on verb without "expire" (SQLite: the table made again from its own
 * text, and its indexes; PostgreSQL: the check replaced by one PostgreSQL
 * names as it named entry 11's). */
static void host_actions_before_14(struct fixture *fx)
{
	if (fx->path == NULL) {
		store_sql(fx,
		          "ALTER TABLE host_actions DROP CONSTRAINT host_actions_verb_check;"
		          "ALTER TABLE host_actions ADD CHECK (verb IN ('release', 'return', 'discard'))");
		return;
	}
	char *table = store_value(fx, "SELECT sql FROM sqlite_master WHERE name = 'host_actions'");
	char **parts = g_strsplit(table, ", 'expire'", -1);
	char *old = g_strjoinv("", parts);
	assert_int_equal(g_strv_length(parts), 2);
	char *sql = g_strconcat(
	    "DROP TABLE host_actions;", old,
	    ";CREATE INDEX host_actions_waiting ON host_actions(host, claimed_at, id);"
	    "CREATE UNIQUE INDEX host_actions_open ON host_actions(quarantine_id) WHERE done_at IS NULL;",
	    NULL);
	store_sql(fx, sql);
	g_free(sql);
	g_free(old);
	g_strfreev(parts);
	g_free(table);
}

/* What the store's database says of host_actions: its checks on verb, and
 * how many of its two indexes it has ("CHECKS; N"). */
static char *host_actions_schema(struct fixture *fx)
{
	bool pg = fx->path == NULL;
	char *checks = store_value(
	    fx, pg ? "SELECT string_agg(pg_get_constraintdef(oid), ' | ') FROM pg_constraint"
	             " WHERE conrelid = 'host_actions'::regclass AND contype = 'c'"
	           : "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'host_actions'");
	char *indexes = store_value(
	    fx, pg ? "SELECT count(*) FROM pg_indexes WHERE tablename = 'host_actions'"
	             " AND indexname IN ('host_actions_waiting', 'host_actions_open')"
	           : "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'host_actions'"
	             " AND name IN ('host_actions_waiting', 'host_actions_open')");
	char *text = g_strdup_printf("%s; %s", checks, indexes);
	g_free(checks);
	g_free(indexes);
	return text;
}

/* A store at the schema before migration 14 (host_actions as entry 11 made
 * it, which refuses verb "expire") with a finished action and one left
 * running: opened, it migrates, keeps both rows as they were (their ids,
 * the open one still the hold's one slot, claimable after its lease), and
 * then takes an expiry's action. */
static void test_expire_verb_migrated(void **state)
{
	struct fixture *fx = *state;
	int version = store_schema_version(fx->st);
	assert_true(version >= EXPIRE_VERB_MIGRATION);
	gint64 done_hold = hold_on(fx->st, "t-done", "mx-b"), open_hold = hold_on(fx->st, "t-open", "mx-b");
	store_close(fx->st);
	fx->st = NULL;
	host_actions_before_14(fx);
	char *old = g_strdup_printf(
	    DROP_AFTER_14
	    "UPDATE schema_version SET version = %d;"
	    "INSERT INTO host_actions (quarantine_id, host, verb, reviewer, comment, wrong, requested_at,"
	    " claimed_at, done_at, result) VALUES (%" G_GINT64_FORMAT ", 'mx-b', 'return', 'alice',"
	    " 'please call', 'no-remedy', 200, 300, 310, 'done');"
	    "INSERT INTO host_actions (quarantine_id, host, verb, reviewer, requested_at, claimed_at)"
	    " VALUES (%" G_GINT64_FORMAT ", 'mx-b', 'release', 'bob', 400, 450);",
	    EXPIRE_VERB_MIGRATION - 1, done_hold, open_hold);
	store_sql(fx, old);
	g_free(old);
	char *before = host_actions_schema(fx);
	assert_null(strstr(before, "'expire'"));
	g_free(before);
	reopen(fx);
	assert_int_equal(store_schema_version(fx->st), version);
	char *after = host_actions_schema(fx);
	if (strstr(after, "'expire'") == NULL || !g_str_has_suffix(after, "; 2") ||
	    (fx->path == NULL && strchr(after, '|') != NULL)) /* PostgreSQL: the old check gone */
		fail_msg("host_actions after the migration: %s", after);
	g_free(after);

	char *err = NULL;
	struct store_host_action done = {0}, open = {0};
	assert_int_equal(store_host_action_last(fx->st, done_hold, &done, &err), STORE_FOUND);
	assert_string_equal(done.verb, "return");
	assert_string_equal(done.reviewer, "alice");
	assert_string_equal(done.comment, "please call");
	assert_string_equal(done.wrong, "no-remedy");
	assert_int_equal(done.requested_at, 200);
	assert_int_equal(done.claimed_at, 300);
	assert_int_equal(done.done_at, 310);
	assert_string_equal(done.result, "done");
	assert_int_equal(store_host_action_last(fx->st, open_hold, &open, &err), STORE_FOUND);
	assert_string_equal(open.verb, "release");
	assert_string_equal(open.reviewer, "bob");
	assert_null(open.comment);
	assert_int_equal(open.claimed_at, 450);
	assert_int_equal(open.done_at, 0);
	assert_true(open.id > done.id);
	/* Still the hold's one slot, taken again after its lease. */
	struct store_host_action expiry = {.quarantine_id = open_hold, .host = "mx-b", .verb = "expire"};
	expiry.reviewer = "root";
	expiry.requested_at = expiry.claimed_at = 500;
	assert_false(store_host_action_put(fx->st, &expiry, NULL, &err));
	g_clear_pointer(&err, g_free);
	struct store_host_action claimed = {0};
	assert_int_equal(store_host_action_claim(fx->st, "mx-b", 449 + 60, 60, &claimed, &err), STORE_NONE);
	assert_int_equal(store_host_action_claim(fx->st, "mx-b", 450 + 60, 60, &claimed, &err), STORE_FOUND);
	assert_int_equal(claimed.id, open.id);
	assert_int_equal(store_host_action_done(fx->st, &claimed, 520, "done", &err), STORE_FOUND);
	/* Then an expiry's action is taken, under an id after the old ones. */
	gint64 id = 0;
	if (!store_host_action_put(fx->st, &expiry, &id, &err))
		fail_msg("%s", err);
	assert_true(id > open.id);
	struct store_host_action got = {0};
	assert_int_equal(store_host_action_last(fx->st, open_hold, &got, &err), STORE_FOUND);
	assert_int_equal(got.id, id);
	assert_string_equal(got.verb, "expire");
	assert_int_equal(got.claimed_at, 500);
	store_host_action_clear(&got);
	store_host_action_clear(&claimed);
	store_host_action_clear(&open);
	store_host_action_clear(&done);
}

/* ---- store_probe: would the daemon open it? ---------------------------- */

/* Probe LOCATION: whether it could be opened, and the detail or error must
 * contain HAS. */
static void probe_expect(const char *location, bool ok, const char *has)
{
	char *detail = NULL, *err = NULL;
	bool got = store_probe(location, &detail, &err);
	const char *text = got ? detail : err;
	if (got != ok || text == NULL || strstr(text, has) == NULL)
		fail_msg("probe %s: %s %s (expected %s, \"%s\")", location, got ? "OK" : "failed", text,
		         ok ? "OK" : "failure", has);
	g_free(detail);
	g_free(err);
}

/* The probe of an open store names its schema version. */
static void probe_expect_open(struct fixture *fx)
{
	char *version = g_strdup_printf("schema %d", store_schema_version(fx->st));
	probe_expect(fx->location, true, version);
	g_free(version);
}

static void test_probe(void **state)
{
	struct fixture *fx = *state;
	probe_expect_open(fx);
	/* Nothing is made by a probe. */
	char *fresh = g_build_filename(fx->dir, "fresh.db", NULL);
	probe_expect(fresh, true, "not there yet");
	assert_false(g_file_test(fresh, G_FILE_TEST_EXISTS));
	/* A file that is no store. */
	assert_true(
	    g_file_set_contents(fresh, "not a database, but long enough to look like one....", -1, NULL));
	probe_expect(fresh, false, "not a database");
	char *err = NULL;
	assert_null(store_open(fresh, &err));
	g_free(err);
	probe_expect("sqlite:/nonexistent-dir/x/store.db", false, "cannot write in /nonexistent-dir/x");
	probe_expect("nosuchstore:/tmp/x", false, "unknown store type");
	g_free(fresh);
}

/* A read-only file system and a full one: the probe says so; the store
 * does not open on the first, and opens read-only (store_read_only) when
 * its file is all there is. */
static void test_probe_read_only_and_full(void **state)
{
	(void)state;
	char *dir = fulldisk_mount(2 << 20);
	if (dir == NULL)
		skip();
	char *path = g_build_filename(dir, "store.db", NULL);
	char *err = NULL;
	struct store *st = store_open(path, &err);
	if (st == NULL)
		fail_msg("open: %s", err);
	assert_false(store_read_only(st));
	store_close(st);

	fulldisk_read_only(dir, true);
	probe_expect(path, false, g_strerror(EROFS));
	st = store_open(path, &err);
	assert_true(st == NULL || store_read_only(st));
	store_close(st);
	g_clear_pointer(&err, g_free);
	fulldisk_read_only(dir, false);

	assert_true(fulldisk_fill(dir) > 0);
	probe_expect(path, false, "full");
	fulldisk_unfill(dir);
	probe_expect(path, true, "schema");
	char *wal = g_strconcat(path, "-wal", NULL), *shm = g_strconcat(path, "-shm", NULL);
	assert_false(g_file_test(wal, G_FILE_TEST_EXISTS) || g_file_test(shm, G_FILE_TEST_EXISTS));
	g_free(wal);
	g_free(shm);
	g_free(path);
	fulldisk_unmount(dir);
	g_free(dir);
}

/* PostgreSQL refuses a Message-ID longer than its index takes (class 54):
 * a refusal of the data, which the spool sets aside after a few tries
 * (test_spool_refused); the store takes other complaints as before. */
static void test_pg_refuses_long_id(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	GString *id = g_string_new(NULL);
	GRand *rand = g_rand_new_with_seed(7); /* random digits: no compression fits them in */
	while (id->len < 12000)
		g_string_append_printf(id, "%08x", g_rand_int(rand));
	g_string_append(id, "@client.example");
	struct store_complaint c = {id->str, "192.0.2.7", "client.example", 1000, false, 1, false};
	assert_false(store_complaint_put(fx->st, &c, &err));
	assert_non_null(err);
	assert_true(store_failure_refused());
	g_clear_pointer(&err, g_free);
	c.message_id = "short@client.example";
	assert_true(store_complaint_put(fx->st, &c, &err));
	g_rand_free(rand);
	g_string_free(id, TRUE);
}

/* ---- the spool --------------------------------------------------------- */

/* A held message's record whose values need every kind of escape, and a
 * copy with bytes that are no text. */
static const char raw_copy[] = "Subject: \"quoted\" \\ back\r\n\r\nline\r\n\x01\xff\xfe end";

static struct store_quarantine spool_sample(const char *token)
{
	struct store_quarantine q = fixture_hold(token);
	q.queue_id = "4886EA725AC";
	q.message_id = "odd\"id\\with\nnewline@acme.example";
	q.recipients = "dana@client.example,lee@client.example";
	q.score = 20;
	q.findings_json = "{\"findings\":[{\"rule\":\"excuse\",\"excerpt\":\"\\\"busy\\\"\"}]}";
	q.new_text = "Sorry, \"busy\"\nweek.";
	fixture_copy(&q, raw_copy, sizeof raw_copy - 1);
	fixture_complaint(&q, "serious", 1699990000, "Dana wrote:\n\"Late\" again\n");
	return q;
}

static unsigned spooled(const char *dir, GPtrArray *holds)
{
	unsigned n = 0;
	char *err = NULL;
	if (!spool_read(dir, &n, holds, &err))
		fail_msg("spool_read: %s", err);
	return n;
}

static void test_spool_replay(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	bool left_out = true;
	struct spool *sp = spool_new(fx->dir, 1 << 20);
	struct store_quarantine q = spool_sample("tok-1");
	q.host = "mx-a.example";
	store_set_host(fx->st, "mx-b.example");
	struct store_complaint c = {
	    "c1@client.example", "192.0.2.7", "client.example", 1000, true, 0x5, true};
	assert_true(spool_hold(sp, &q, &left_out, &err));
	assert_false(left_out);
	assert_true(spool_complaint(sp, &c, &err));
	assert_true(
	    spool_apology(sp, "sam@acme.example", "client.example", 1100, 0x5, "c1@client.example", &err));
	assert_true(spool_apology(sp, "sam@acme.example", "client.example", 1200, 0x1, NULL, &err));
	assert_true(spool_hold(sp, &q, NULL, &err)); /* the same record twice: written once */

	GPtrArray *holds = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	assert_int_equal(spooled(fx->dir, holds), 5);
	assert_int_equal(holds->len, 2);
	const struct store_quarantine *h = holds->pdata[0];
	assert_string_equal(h->message_id, q.message_id);
	assert_string_equal(h->findings_json, q.findings_json);
	assert_string_equal(h->recipients, q.recipients);
	assert_null(h->complaint_ref);
	assert_null(h->raw); /* spool_read leaves the copies out */
	assert_int_equal(h->score, 20);
	assert_int_equal(h->created, 1700000000);
	g_ptr_array_unref(holds);

	struct spool_replayed done;
	if (!spool_replay(sp, fx->st, &done, &err))
		fail_msg("replay: %s", err);
	assert_int_equal(done.holds, 2);
	assert_int_equal(done.complaints, 1);
	assert_int_equal(done.apologies, 2);
	assert_int_equal(done.unreadable + done.left, 0);
	assert_int_equal(spooled(fx->dir, NULL), 0);

	struct store_quarantine got;
	assert_int_equal(store_quarantine_get(fx->st, "tok-1", &got, &err), STORE_FOUND);
	assert_string_equal(got.message_id, q.message_id);
	assert_string_equal(got.state, "held");
	assert_string_equal(got.host, "mx-a.example"); /* the host that held it, not the replaying one */
	assert_int_equal(got.raw_len, q.raw_len);
	assert_memory_equal(got.raw, raw_copy, q.raw_len);
	assert_string_equal(got.new_text, q.new_text); /* the spool carries the new text */
	assert_true(got.complaint_recorded);           /* and the complaint */
	assert_true(got.complaint_detected);
	assert_false(got.complaint_clear);
	assert_string_equal(got.complaint_severity, "serious");
	assert_int_equal(got.complaint_sent, 1699990000);
	assert_string_equal(got.complaint_text, q.complaint_text);
	GArray *findings = store_findings_new();
	assert_true(store_quarantine_findings(fx->st, got.id, findings, &err));
	assert_int_equal(findings->len, 1);
	assert_string_equal(g_array_index(findings, struct store_finding, 0).excerpt, "\"busy\"");
	g_array_unref(findings);
	store_quarantine_clear(&got);
	gint64 n = 0;
	assert_true(store_quarantine_count(fx->st, &(struct store_query){.state = "held"}, &n, &err));
	assert_int_equal(n, 1);
	struct store_complaint cc;
	const char *ids[] = {"c1@client.example"};
	assert_int_equal(store_complaint_find(fx->st, ids, 1, &cc, &err), STORE_FOUND);
	assert_true(cc.serious);
	assert_int_equal(cc.kinds, 0x5);
	assert_true(cc.unclear); /* the spool carries it */
	store_complaint_clear(&cc);
	GArray *hist = g_array_new(FALSE, TRUE, sizeof(struct history_entry));
	assert_true(store_history_get(fx->st, "sam@acme.example", "client.example", 0, NULL, 10, hist, &err));
	assert_int_equal(hist->len, 2);
	g_array_free(hist, TRUE);

	/* Nothing spooled: nothing to do. */
	assert_true(spool_replay(sp, fx->st, &done, &err));
	assert_int_equal(done.holds + done.complaints + done.apologies, 0);
	spool_free(sp);
}

/* A hold line spooled by a version before the store kept the complaint
 * (nor the new text or the host) is written back as a record that keeps
 * none: not recorded. */
static void test_spool_replay_old_line(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	struct spool *sp = spool_new(fx->dir, 1 << 20);
	const char line[] =
	    "{\"spool\":1,\"type\":\"hold\",\"queue_id\":\"Q1\",\"message_id\":\"m1\","
	    "\"token\":\"tok-old\",\"sender\":\"s@us.example\",\"recipients\":\"a@c.example\","
	    "\"verdict\":\"hold\",\"score\":3,\"findings\":\"{}\",\"complaint_ref\":null,"
	    "\"created\":100,\"state\":\"held\",\"raw\":null}\n"
	    /* a complaint line from before schema 16: clear */
	    "{\"spool\":1,\"type\":\"complaint\",\"message_id\":\"c-old@client.example\",\"client_addr\":"
	    "\"\","
	    "\"client_domain\":\"client.example\",\"received\":100,\"serious\":false,\"kinds\":1}\n";
	assert_true(g_file_set_contents(spool_path(sp), line, -1, NULL));
	struct spool_replayed done;
	if (!spool_replay(sp, fx->st, &done, &err))
		fail_msg("replay: %s", err);
	assert_int_equal(done.holds, 1);
	struct store_quarantine got;
	assert_int_equal(store_quarantine_get(fx->st, "tok-old", &got, &err), STORE_FOUND);
	assert_false(got.complaint_recorded);
	assert_null(got.complaint_text);
	assert_int_equal(got.complaint_sent, -1);
	store_quarantine_clear(&got);
	assert_int_equal(done.complaints, 1);
	struct store_complaint c;
	const char *ids[] = {"c-old@client.example"};
	assert_int_equal(store_complaint_find(fx->st, ids, 1, &c, &err), STORE_FOUND);
	assert_false(c.unclear);
	store_complaint_clear(&c);
	spool_free(sp);
}

/* The SQLite store at PATH refuses every held message from now on (until
 * its trigger "refuse" is dropped); the caller closes the handle. */
static sqlite3 *refuse_holds(const char *path)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                              "CREATE TRIGGER refuse BEFORE INSERT ON quarantine "
	                              "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	return db;
}

/* Write TEXT at the end of the file NAME in DIR, behind the spool's back. */
static void dir_file_append(const char *dir, const char *name, const char *text)
{
	char *path = g_build_filename(dir, name, NULL);
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	g_free(path);
}

/* A store that refuses a record stops the replay there; what was not
 * written stays spooled (lines that are no record are set aside), and goes
 * in at the next replay. */
static void test_spool_store_fails(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	struct spool *sp = spool_new(fx->dir, 1 << 20);
	struct store_complaint c = {"c2@client.example", "", "client.example", 1000, false, 1, false};
	struct store_quarantine q = spool_sample("tok-2");
	assert_true(spool_complaint(sp, &c, &err));
	dir_file_append(fx->dir, SPOOL_FILE,
	                "{\"spool\":1,\"type\":\"hold\",\"token\":\"cut sh\n"); /* a record cut short */
	assert_true(spool_hold(sp, &q, NULL, &err));
	assert_true(spool_apology(sp, "sam@acme.example", "client.example", 1100, 1, NULL, &err));

	sqlite3 *db = refuse_holds(fx->path);
	struct spool_replayed done;
	assert_false(spool_replay(sp, fx->st, &done, &err));
	assert_non_null(strstr(err, "refused by the test"));
	g_clear_pointer(&err, g_free);
	assert_int_equal(done.complaints, 1);
	assert_int_equal(done.unreadable, 1);
	assert_int_equal(done.left, 2);
	assert_int_equal(spooled(fx->dir, NULL), 2);

	assert_int_equal(sqlite3_exec(db, "DROP TRIGGER refuse", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	if (!spool_replay(sp, fx->st, &done, &err))
		fail_msg("replay: %s", err);
	assert_int_equal(done.holds, 1);
	assert_int_equal(done.apologies, 1);
	assert_int_equal(spooled(fx->dir, NULL), 0);
	spool_free(sp);
}

/* A record the store refuses for its data (here a trigger: a constraint)
 * SPOOL_REFUSALS replays in a row is set aside, kept as it was, and the
 * records after it are written; before that it holds them up as a store
 * that fails does. */
static void test_spool_refused(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	struct spool *sp = spool_new(fx->dir, 1 << 20);
	struct store_quarantine q = spool_sample("tok-refused");
	assert_true(spool_hold(sp, &q, NULL, &err));
	assert_true(spool_apology(sp, "sam@acme.example", "client.example", 1100, 1, NULL, &err));
	sqlite3 *db = refuse_holds(fx->path);
	struct spool_replayed done;
	for (int i = 1; i < SPOOL_REFUSALS; i++) {
		assert_false(spool_replay(sp, fx->st, &done, &err));
		assert_true(store_failure_refused());
		g_clear_pointer(&err, g_free);
		assert_int_equal(done.refused + done.apologies, 0);
		assert_int_equal(done.left, 2);
	}
	/* The file set aside cannot be written (its name taken by a directory):
	 * the record goes to the end of the spool, the apology after it is
	 * written now, and the next replay sets it aside. */
	char *aside = g_build_filename(fx->dir, SPOOL_ASIDE, NULL), *kept = NULL;
	assert_int_equal(g_mkdir(aside, 0700), 0);
	assert_false(spool_replay(sp, fx->st, &done, &err));
	assert_non_null(strstr(err, "cannot set aside a record the store refuses"));
	assert_non_null(strstr(err, "moved to the end of the spool"));
	g_clear_pointer(&err, g_free);
	assert_int_equal(done.refused, 0);
	assert_int_equal(done.apologies, 1);
	assert_int_equal(done.left, 1);
	assert_int_equal(g_rmdir(aside), 0);
	if (!spool_replay(sp, fx->st, &done, &err))
		fail_msg("replay: %s", err);
	assert_int_equal(done.refused, 1);
	assert_int_equal(done.apologies, 0);
	assert_true(spool_empty(sp));
	assert_true(g_file_get_contents(aside, &kept, NULL, NULL));
	assert_non_null(strstr(kept, "\"type\":\"hold\""));
	assert_non_null(strstr(kept, "tok-refused"));
	char *note = spool_aside_note(&done, fx->dir);
	assert_non_null(strstr(note, "1 record(s) the store refused for their data"));
	assert_non_null(strstr(note, aside));
	g_free(note);
	g_free(kept);
	g_free(aside);
	sqlite3_close(db);
	spool_free(sp);
}

static sqlite3 *lock_store(const char *path);
static void unlock_store(sqlite3 *db);
static struct spool *spool_with_decision_on_tmpfs(char **dir);

static unsigned aside_lines(const char *dir)
{
	unsigned n = 99;
	char *err = NULL;
	if (!spool_aside_count(dir, &n, &err))
		fail_msg("count: %s", err);
	return n;
}

/* What a replay set aside is listed line by line, counted, and, once the
 * cause is mended, written to the store by a retry; what is refused again,
 * no record, or not tried because the store failed stays set aside.  A
 * line a replay sets aside after one left unfinished is a line of its own.
 * Never through a symbolic link. */
static void test_spool_aside_retry(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	struct spool *sp = spool_new(fx->dir, 1 << 20);
	GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
	struct spool_aside_retried done;
	assert_true(spool_aside_list(fx->dir, lines, &err)); /* no file yet */
	assert_int_equal(lines->len, 0);
	assert_int_equal(aside_lines(fx->dir), 0);
	assert_true(spool_aside_retry(fx->dir, fx->st, &done, &err));
	assert_int_equal(done.holds + done.refused + done.unreadable + done.left, 0);

	/* All written: the file is emptied, and nothing is written twice. */
	dir_file_append(fx->dir, SPOOL_ASIDE,
	                "{\"spool\":1,\"type\":\"apology\",\"sender\":\"sam@acme.example\","
	                "\"client_domain\":\"client.example\",\"at\":1000,\"kinds\":1}\n");
	assert_true(spool_aside_retry(fx->dir, fx->st, &done, &err));
	assert_int_equal(done.apologies, 1);
	assert_int_equal(aside_lines(fx->dir), 0);
	assert_true(spool_aside_retry(fx->dir, fx->st, &done, &err));
	assert_int_equal(done.apologies, 0);

	struct store_quarantine q = spool_sample("tok-aside");
	assert_true(spool_hold(sp, &q, NULL, &err));
	dir_file_append(fx->dir, SPOOL_FILE,
	                "{\"spool\":99,\"type\":\"hold\",\"\x01token\":\"from a newer version\"}\n");
	sqlite3 *db = refuse_holds(fx->path);
	struct spool_replayed replayed;
	for (int i = 0; i < SPOOL_REFUSALS; i++) {
		(void)spool_replay(sp, fx->st, &replayed, &err);
		g_clear_pointer(&err, g_free);
	}
	assert_int_equal(replayed.refused, 1);
	assert_true(spool_empty(sp));
	assert_true(spool_aside_list(fx->dir, lines, &err));
	assert_int_equal(lines->len, 2);
	assert_int_equal(aside_lines(fx->dir), 2);
	const char *first = lines->pdata[0], *second = lines->pdata[1];
	assert_non_null(strstr(first, "hold of "));
	assert_non_null(strstr(first, "tok-aside"));
	assert_non_null(strstr(second, "no record this program reads"));
	assert_non_null(strstr(second, "from a newer"));
	assert_null(strchr(second, '\x01')); /* shown on a terminal */

	/* A line left unfinished, then one more set aside: two lines. */
	dir_file_append(fx->dir, SPOOL_ASIDE, "{\"spool\":1,\"type\":\"apol");
	assert_int_equal(aside_lines(fx->dir), 3);
	dir_file_append(fx->dir, SPOOL_FILE, "not a record\n");
	assert_true(spool_replay(sp, fx->st, &replayed, &err));
	assert_int_equal(replayed.unreadable, 1);
	g_ptr_array_set_size(lines, 0);
	assert_true(spool_aside_list(fx->dir, lines, &err));
	assert_int_equal(lines->len, 4);
	assert_non_null(strstr(lines->pdata[3], "(12 bytes): not a record"));

	/* A field with a C1 control and a bidi control, shown as '?'. */
	dir_file_append(fx->dir, SPOOL_ASIDE,
	                "{\"spool\":1,\"type\":\"apology\",\"sender\":\"sam\\u009b31m@acme.example\","
	                "\"client_domain\":\"\\u202eclient.example\",\"at\":1100,\"kinds\":1}\n");
	g_ptr_array_set_size(lines, 0);
	assert_true(spool_aside_list(fx->dir, lines, &err));
	assert_int_equal(lines->len, 5);
	assert_string_equal(lines->pdata[4],
	                    "apology of 1970-01-01T00:18:20Z from sam?31m@acme.example to ?client.example");

	/* Not mended: refused again, and all stays, with the file's owner and
	 * mode (whatever the umask). */
	char *path = g_build_filename(fx->dir, SPOOL_ASIDE, NULL);
	struct stat before, after;
	bool root = geteuid() == 0;
	if (root)
		assert_int_equal(chown(path, 65534, 65534), 0);
	assert_int_equal(chmod(path, 0660), 0);
	mode_t mask = umask(077);
	assert_int_equal(stat(path, &before), 0);
	assert_true(spool_aside_retry(fx->dir, fx->st, &done, &err));
	assert_int_equal(done.refused, 1);
	assert_int_equal(done.unreadable, 3);
	assert_int_equal(done.holds, 0);
	assert_int_equal(done.apologies, 1); /* the apology was written */
	assert_non_null(strstr(done.refusal, "refused by the test"));
	g_clear_pointer(&done.refusal, g_free);
	assert_int_equal(aside_lines(fx->dir), 4);

	/* The store failing (locked): nothing is tried after it, all stays. */
	assert_int_equal(sqlite3_exec(db, "DROP TRIGGER refuse", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	store_set_busy_timeout(fx->st, 50);
	sqlite3 *lock = lock_store(fx->path);
	assert_false(spool_aside_retry(fx->dir, fx->st, &done, &err));
	assert_non_null(err);
	g_clear_pointer(&err, g_free);
	assert_int_equal(done.holds + done.refused, 0);
	assert_int_equal(done.left, 4); /* the hold, and the three lines after it untried */
	assert_int_equal(aside_lines(fx->dir), 4);
	unlock_store(lock);

	/* Mended: the hold is written, the lines that are no record stay. */
	assert_true(spool_aside_retry(fx->dir, fx->st, &done, &err));
	assert_int_equal(done.holds, 1);
	assert_int_equal(done.unreadable, 3);
	assert_int_equal(done.refused + done.left, 0);
	g_ptr_array_set_size(lines, 0);
	assert_true(spool_aside_list(fx->dir, lines, &err));
	assert_int_equal(lines->len, 3);
	for (guint i = 0; i < lines->len; i++)
		assert_non_null(strstr(lines->pdata[i], "no record this program reads"));
	assert_int_equal(stat(path, &after), 0);
	umask(mask);
	assert_int_equal(after.st_uid, before.st_uid);
	assert_int_equal(after.st_gid, before.st_gid);
	assert_int_equal(after.st_mode & 0777, 0660);
	GPtrArray *held = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	assert_true(store_quarantine_list(fx->st, &(struct store_query){.state = "held"}, held, &err));
	assert_int_equal(held->len, 1);
	assert_string_equal(((struct store_quarantine *)held->pdata[0])->token, "tok-aside");

	/* The hold set aside once more (a copy kept by hand, a retry killed
	 * before it rewrote the file): written once all the same. */
	GString *again = spool_hold_line(&q);
	dir_file_append(fx->dir, SPOOL_ASIDE, again->str);
	g_string_free(again, TRUE);
	assert_true(spool_aside_retry(fx->dir, fx->st, &done, &err));
	assert_int_equal(done.holds, 1);
	assert_int_equal(aside_lines(fx->dir), 3);
	g_ptr_array_set_size(held, 0);
	assert_true(store_quarantine_list(fx->st, &(struct store_query){.state = "held"}, held, &err));
	assert_int_equal(held->len, 1);
	g_ptr_array_unref(held);

	/* Empty lines are no lines. */
	dir_file_append(fx->dir, SPOOL_ASIDE, "\n\n");
	assert_int_equal(aside_lines(fx->dir), 3);

	/* A symbolic link in its place is not followed. */
	char *elsewhere = g_build_filename(fx->dir, "elsewhere", NULL);
	assert_int_equal(rename(path, elsewhere), 0);
	assert_int_equal(symlink(elsewhere, path), 0);
	assert_false(spool_aside_list(fx->dir, lines, &err));
	assert_non_null(strstr(err, "symbolic link"));
	g_clear_pointer(&err, g_free);
	assert_false(spool_aside_retry(fx->dir, fx->st, &done, &err));
	assert_non_null(strstr(err, "symbolic link"));
	g_clear_pointer(&err, g_free);
	assert_int_equal(aside_lines(fx->dir), 3); /* the daemon's gauge reads with its own rights */
	g_free(elsewhere);
	g_free(path);
	g_ptr_array_unref(lines);
	spool_free(sp);
}

/* On a disk too full for a new file, a retry rewrites the file set aside in
 * place: the records it wrote are not left in it to be written again. */
static void test_spool_aside_full_disk(void **state)
{
	struct fixture *fx = *state;
	char *dir = NULL, *err = NULL;
	struct spool *sp = spool_with_decision_on_tmpfs(&dir);
	if (sp == NULL)
		skip();
	spool_free(sp);
	char *from = g_build_filename(dir, SPOOL_FILE, NULL), *to = g_build_filename(dir, SPOOL_ASIDE, NULL);
	assert_int_equal(rename(from, to), 0);
	char *big = g_strnfill(300000, 'x');
	dir_file_append(dir, SPOOL_ASIDE, big);
	dir_file_append(dir, SPOOL_ASIDE, "\n");
	assert_true(fulldisk_fill(dir) > 0);
	struct spool_aside_retried done;
	if (!spool_aside_retry(dir, fx->st, &done, &err))
		fail_msg("retry: %s", err);
	assert_int_equal(done.decisions, 1);
	assert_int_equal(done.unreadable, 1);
	assert_int_equal(aside_lines(dir), 1);
	char *kept = NULL; /* the line kept whole, and nothing else */
	gsize len = 0;
	assert_true(g_file_get_contents(to, &kept, &len, NULL));
	assert_int_equal(len, strlen(big) + 1);
	assert_memory_equal(kept, big, strlen(big));
	g_free(kept);
	assert_true(spool_aside_retry(dir, fx->st, &done, &err));
	assert_int_equal(done.decisions, 0);
	GArray *decisions = store_decisions_new();
	assert_true(store_decisions_list(fx->st, 0, NULL, decisions, &err));
	assert_int_equal(decisions->len, 1);
	g_array_unref(decisions);
	fulldisk_unfill(dir);
	fulldisk_unmount(dir);
	g_free(big);
	g_free(from);
	g_free(to);
	g_free(dir);
}

/* A store that fails (its disk full) is no refusal: however many replays,
 * the record waits in the spool for it. */
static void test_spool_store_down_no_refusal(void **state)
{
	struct fixture *fx = *state;
	char *dir = fulldisk_mount(2 << 20);
	if (dir == NULL)
		skip();
	char *path = g_build_filename(dir, "store.db", NULL), *err = NULL;
	struct store *st = store_open(path, &err);
	if (st == NULL)
		fail_msg("open: %s", err);
	struct spool *sp = spool_new(fx->dir, 1 << 20);
	struct store_quarantine q = spool_sample("tok-waits");
	assert_true(spool_hold(sp, &q, NULL, &err));
	assert_true(fulldisk_fill(dir) > 0);
	struct spool_replayed done;
	for (int i = 0; i < SPOOL_REFUSALS + 1; i++) {
		assert_false(spool_replay(sp, st, &done, &err));
		assert_false(store_failure_refused());
		g_clear_pointer(&err, g_free);
		assert_int_equal(done.refused, 0);
		assert_int_equal(done.left, 1);
	}
	fulldisk_unfill(dir);
	if (!spool_replay(sp, st, &done, &err))
		fail_msg("replay: %s", err);
	assert_int_equal(done.holds, 1);
	assert_true(spool_empty(sp));
	spool_free(sp);
	store_close(st);
	g_free(path);
	fulldisk_unmount(dir);
	g_free(dir);
}

/* The spool keeps to its size: a held message's copy is left out when it
 * does not fit, then records are refused, and none is ever cut in half.
 * No directory: every record is refused. */
static void test_spool_bounded(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	char *sub = g_build_filename(fx->dir, "spool", NULL); /* made with the first record */
	struct spool *sp = spool_new(sub, 64 * 1024);
	char *big = g_malloc(100 * 1024);
	memset(big, 'x', 100 * 1024);
	struct store_quarantine q = spool_sample("tok-3");
	fixture_copy(&q, big, 100 * 1024);
	bool left_out = false;
	assert_true(spool_hold(sp, &q, &left_out, &err));
	assert_true(left_out);
	unsigned taken = 1;
	struct store_complaint c = {"c3@client.example", "", "client.example", 1000, false, 1, false};
	while (spool_complaint(sp, &c, &err))
		taken++;
	assert_non_null(strstr(err, "is full"));
	g_clear_pointer(&err, g_free);
	assert_true(taken > 100);
	GPtrArray *holds = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	assert_int_equal(spooled(sub, holds), taken);
	assert_int_equal(holds->len, 1);
	g_ptr_array_unref(holds);
	struct stat sb;
	char *path = g_build_filename(sub, SPOOL_FILE, NULL);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size <= 64 * 1024);
	struct spool_replayed done;
	assert_true(spool_replay(sp, fx->st, &done, &err));
	assert_int_equal(done.holds, 1);
	struct store_quarantine got;
	assert_int_equal(store_quarantine_get(fx->st, "tok-3", &got, &err), STORE_FOUND);
	assert_null(got.raw); /* the copy is in the MTA's hold queue only */
	store_quarantine_clear(&got);
	g_unlink(path);
	g_rmdir(sub);
	g_free(path);
	spool_free(sp);

	sp = spool_new("", 1 << 20);
	assert_null(spool_path(sp));
	assert_false(spool_complaint(sp, &c, &err));
	assert_non_null(strstr(err, "no spool"));
	g_free(err);
	spool_free(sp);
	g_free(big);
	g_free(sub);
}

/* ---- records put first; a replay that waits on a locked store ---------- */

/* The tokens of the held-mail records in DIR's spool, in file order,
 * comma-separated; caller frees. */
static char *spooled_tokens(const char *dir)
{
	GPtrArray *holds = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	spooled(dir, holds);
	GString *out = g_string_new(NULL);
	for (guint i = 0; i < holds->len; i++)
		g_string_append_printf(out, "%s%s", i ? "," : "",
		                       ((struct store_quarantine *)holds->pdata[i])->token);
	g_ptr_array_unref(holds);
	return g_string_free(out, FALSE);
}

/* A held-mail record with token TOKEN (and queue id TOKEN), owned. */
static struct spool_record *hold_record(const char *token)
{
	struct spool_record *r = g_new0(struct spool_record, 1);
	struct store_quarantine q = spool_sample(token);
	r->type = SPOOL_HOLD;
	r->q = (struct store_quarantine){
	    .queue_id = g_strdup(token),
	    .message_id = g_strdup(q.message_id),
	    .token = g_strdup(token),
	    .sender = g_strdup(q.sender),
	    .recipients = g_strdup(q.recipients),
	    .verdict = g_strdup(q.verdict),
	    .score = q.score,
	    .findings_json = g_strdup(q.findings_json),
	    .raw = g_memdup2(q.raw, q.raw_len + 1),
	    .raw_len = q.raw_len,
	    .created = 1700000000,
	    .state = g_strdup("held"),
	};
	return r;
}

/* An apology record at time AT (its order is seen in the store by id). */
static struct spool_record *apology_record(gint64 at)
{
	struct spool_record *r = g_new0(struct spool_record, 1);
	r->type = SPOOL_APOLOGY;
	r->a = (struct spool_apology){
	    .sender = g_strdup("sam@acme.example"),
	    .client_domain = g_strdup("client.example"),
	    .at = at,
	    .kinds = 1,
	};
	return r;
}

/* Records put first go before those the spool holds, in their order; the
 * spool's size holds for them too (a copy left out when it does not fit). */
static void test_spool_put_first(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	struct spool *sp = spool_new(fx->dir, 1 << 20);
	struct spool_record *a = hold_record("a"), *b = hold_record("b");
	assert_true(spool_append(sp, a, NULL, &err));
	assert_true(spool_append(sp, b, NULL, &err));
	struct spool_record *first[] = {hold_record("x"), hold_record("y")};
	unsigned left_out = 9;
	assert_int_equal(spool_put_first(sp, first, 2, &left_out, &err), 2);
	assert_int_equal(left_out, 0);
	char *order = spooled_tokens(fx->dir);
	assert_string_equal(order, "x,y,a,b");
	g_free(order);
	assert_false(spool_empty(sp));

	struct spool_replayed done;
	assert_true(spool_replay(sp, fx->st, &done, &err));
	assert_int_equal(done.holds, 4);
	assert_true(spool_empty(sp));
	/* In the store in that order too. */
	GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	assert_true(store_quarantine_list(fx->st, &(struct store_query){.state = "held"}, rows, &err));
	assert_int_equal(rows->len, 4);
	const char *want[] = {"x", "y", "a", "b"};
	for (guint i = 0; i < rows->len; i++)
		assert_string_equal(((struct store_quarantine *)rows->pdata[i])->token, want[i]);
	g_ptr_array_unref(rows);

	/* A spool with no room for the copies: the records go in without them;
	 * then one with room for one more record only. */
	spool_free(sp);
	sp = spool_new(fx->dir, 64 * 1024);
	struct spool_record *big[] = {hold_record("z")};
	big[0]->q.raw = g_realloc(big[0]->q.raw, 100 * 1024);
	memset(big[0]->q.raw, 'x', 100 * 1024);
	big[0]->q.raw_len = 100 * 1024;
	assert_int_equal(spool_put_first(sp, big, 1, &left_out, &err), 1);
	assert_int_equal(left_out, 1);
	struct stat sb;
	char *path = g_build_filename(fx->dir, SPOOL_FILE, NULL);
	assert_int_equal(stat(path, &sb), 0);
	g_free(path);
	spool_free(sp);
	sp = spool_new(fx->dir, sb.st_size * 5 / 2); /* room for about one more */
	struct spool_record *more[] = {hold_record("w"), hold_record("v")};
	assert_int_equal(spool_put_first(sp, more, 2, &left_out, &err), 1); /* w fits, v does not */
	assert_non_null(strstr(err, "is full"));
	g_clear_pointer(&err, g_free);
	order = spooled_tokens(fx->dir);
	assert_string_equal(order, "w,z");
	g_free(order);
	spool_free(sp);

	/* A replay lock that cannot be had at all (its file writable by
	 * others): the records are appended all the same, not dropped. */
	char *lock = g_build_filename(fx->dir, SPOOL_REPLAY_LOCK, NULL);
	assert_int_equal(chmod(lock, 0666), 0);
	sp = spool_new(fx->dir, 1 << 20);
	struct spool_record *late[] = {hold_record("u")};
	assert_int_equal(spool_put_first(sp, late, 1, &left_out, &err), 1);
	g_clear_pointer(&err, g_free);
	order = spooled_tokens(fx->dir);
	assert_string_equal(order, "w,z,u");
	g_free(order);
	assert_int_equal(chmod(lock, 0600), 0);
	g_free(lock);
	spool_record_free(late[0]);
	spool_free(sp);
	spool_record_free(a);
	spool_record_free(b);
	for (size_t i = 0; i < 2; i++) {
		spool_record_free(first[i]);
		spool_record_free(more[i]);
	}
	spool_record_free(big[0]);
}

/* Another process's lock on the database: BEGIN EXCLUSIVE on PATH. */
static sqlite3 *lock_store(const char *path)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
	return db;
}

static void unlock_store(sqlite3 *db)
{
	assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

struct replaying {
	struct spool *sp;
	struct store *st;
	struct spool_replayed done;
	bool ok;
	gint finished;
};

static gpointer replay_thread(gpointer data)
{
	struct replaying *rp = data;
	char *err = NULL;
	rp->ok = spool_replay(rp->sp, rp->st, &rp->done, &err);
	g_free(err);
	g_atomic_int_set(&rp->finished, 1);
	return NULL;
}

/* A line left unfinished (the daemon killed in the middle of a write, or
 * a power cut) is ended before the next record, so that the record after
 * it is not lost with it: only the unfinished one is unreadable. */
static void test_spool_unfinished_line(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	struct spool *sp = spool_new(fx->dir, 1 << 20);
	struct store_quarantine a = spool_sample("a"), b = spool_sample("b");
	assert_true(spool_hold(sp, &a, NULL, &err));
	dir_file_append(fx->dir, SPOOL_FILE,
	                "{\"spool\":1,\"type\":\"hold\",\"token\":\"cut"); /* no end of line */
	assert_true(spool_hold(sp, &b, NULL, &err));
	struct spool_replayed done;
	if (!spool_replay(sp, fx->st, &done, &err))
		fail_msg("replay: %s", err);
	assert_int_equal(done.holds, 2);
	assert_int_equal(done.unreadable, 1);
	assert_true(spool_empty(sp));
	/* the unreadable line is kept as it was, and the log says where */
	char *aside = g_build_filename(fx->dir, SPOOL_ASIDE, NULL), *kept = NULL;
	assert_true(g_file_get_contents(aside, &kept, NULL, NULL));
	assert_string_equal(kept, "{\"spool\":1,\"type\":\"hold\",\"token\":\"cut\n");
	char *note = spool_aside_note(&done, fx->dir);
	assert_non_null(strstr(note, "1 line(s) were no record"));
	assert_non_null(strstr(note, aside));
	done.unreadable = 0;
	g_free(note);
	assert_null(spool_aside_note(&done, fx->dir));
	g_free(kept);
	g_free(aside);
	spool_free(sp);
}

/* An unreadable line that cannot be set aside (here the file's name is
 * taken by a directory; a lock held by someone else, a full disk) is not
 * dropped, nor does it hold up the records after it: it is moved to the end
 * of the spool, the replay writes the rest and says why, and the next one,
 * once the cause is gone, sets it aside.  Where even the move fails (a full
 * spool) it stays where it is and the replay stops there. */
static void test_spool_aside_fails(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	struct spool *sp = spool_new(fx->dir, 1 << 20);
	struct store_quarantine a = spool_sample("a"), b = spool_sample("b"), c = spool_sample("c");
	assert_true(spool_hold(sp, &a, NULL, &err));
	dir_file_append(fx->dir, SPOOL_FILE, "not a record\n");
	assert_true(spool_hold(sp, &b, NULL, &err));
	char *aside = g_build_filename(fx->dir, SPOOL_ASIDE, NULL);
	assert_int_equal(g_mkdir(aside, 0700), 0);
	struct spool_replayed done;
	assert_false(spool_replay(sp, fx->st, &done, &err));
	assert_non_null(strstr(err, "cannot set aside an unreadable line"));
	assert_non_null(strstr(err, "moved to the end of the spool"));
	g_clear_pointer(&err, g_free);
	assert_int_equal(done.holds, 2);
	assert_int_equal(done.unreadable, 0);
	char *path = g_build_filename(fx->dir, SPOOL_FILE, NULL), *now = NULL;
	assert_true(g_file_get_contents(path, &now, NULL, NULL));
	assert_string_equal(now, "not a record\n");
	g_free(now);

	/* a spool with no room for the move: kept in place, the rest waits */
	assert_true(spool_hold(sp, &c, NULL, &err));
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	struct spool *full = spool_new(fx->dir, sb.st_size);
	assert_false(spool_replay(full, fx->st, &done, &err));
	assert_non_null(strstr(err, "kept where it is"));
	g_clear_pointer(&err, g_free);
	assert_int_equal(done.holds, 0);
	unsigned records = 0;
	assert_true(spool_read(fx->dir, &records, NULL, &err));
	assert_int_equal(records, 2); /* the line, and the hold after it */
	spool_free(full);

	assert_int_equal(g_rmdir(aside), 0);
	if (!spool_replay(sp, fx->st, &done, &err))
		fail_msg("replay: %s", err);
	assert_int_equal(done.holds, 1);
	assert_int_equal(done.unreadable, 1);
	assert_true(spool_empty(sp));
	char *kept = NULL;
	assert_true(g_file_get_contents(aside, &kept, NULL, NULL));
	assert_string_equal(kept, "not a record\n");
	g_free(kept);
	g_free(path);
	g_free(aside);
	spool_free(sp);
}

/* `store aside drop`: the lines named by their numbers (as list counts
 * them: empty lines are none) are dropped and described, the others kept as
 * they were; a number naming no line drops nothing; NULL drops every line;
 * no file is nothing to drop. */
static void test_spool_aside_drop(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	struct store_quarantine q = spool_sample("tok-drop");
	GString *hold = spool_hold_line(&q);
	char *aside = g_build_filename(fx->dir, SPOOL_ASIDE, NULL), *kept = NULL;
	GPtrArray *dropped = g_ptr_array_new_with_free_func(g_free);
	unsigned lines = 0;
	assert_true(spool_aside_drop(fx->dir, NULL, 0, &lines, dropped, &err));
	assert_int_equal(lines, 0);
	assert_int_equal(dropped->len, 0);

	dir_file_append(fx->dir, SPOOL_ASIDE, "first\n\n");
	dir_file_append(fx->dir, SPOOL_ASIDE, hold->str);       /* line 2 (the empty line is none) */
	dir_file_append(fx->dir, SPOOL_ASIDE, "third\nfourth"); /* the last unfinished */
	unsigned none[] = {2, 5};
	assert_false(spool_aside_drop(fx->dir, none, 2, &lines, dropped, &err));
	assert_int_equal(lines, 4);
	assert_non_null(strstr(err, "no line 5 (4 set aside): nothing dropped"));
	g_clear_pointer(&err, g_free);
	assert_int_equal(dropped->len, 0);
	GPtrArray *listed = g_ptr_array_new_with_free_func(g_free);
	assert_true(spool_aside_list(fx->dir, listed, &err));
	assert_int_equal(listed->len, 4);

	unsigned some[] = {4, 2};
	if (!spool_aside_drop(fx->dir, some, 2, &lines, dropped, &err))
		fail_msg("drop: %s", err);
	assert_int_equal(dropped->len, 2);
	assert_non_null(strstr(dropped->pdata[0], "   2  hold of "));
	assert_non_null(strstr(dropped->pdata[0], "token tok-drop"));
	assert_string_equal(dropped->pdata[1], "   4  no record this program reads (6 bytes): fourth");
	assert_true(g_file_get_contents(aside, &kept, NULL, NULL));
	assert_string_equal(kept, "first\nthird\n");
	g_free(kept);

	g_ptr_array_set_size(dropped, 0);
	if (!spool_aside_drop(fx->dir, NULL, 0, &lines, dropped, &err))
		fail_msg("drop all: %s", err);
	assert_int_equal(dropped->len, 2);
	assert_true(g_file_get_contents(aside, &kept, NULL, NULL));
	assert_string_equal(kept, "");
	g_free(kept);
	g_ptr_array_unref(listed);
	g_ptr_array_unref(dropped);
	g_string_free(hold, TRUE);
	g_free(aside);
}

/* Lets go of the lock on the file descriptor ARG after 300 ms. */
static gpointer let_go_later(gpointer arg)
{
	g_usleep(300 * 1000);
	flock(GPOINTER_TO_INT(arg), LOCK_UN);
	return NULL;
}

/* The spool's locks are files of their own, 0600, so that only the
 * daemon's user can take them: a lock someone else takes on the spool file
 * or its directory (`flock -s`, a stuck reader; the directory is often
 * world-readable) stalls neither an append, made on the mail path with the
 * writer's lock held, nor a replay.  The spool's own lock is waited for at
 * most SPOOL_LOCK_WAIT seconds: one let go meanwhile only delays an append,
 * one held (a stuck daemon sharing the spool) fails it, saying so.  Readers
 * outside the daemon read without it, leaving out a last line still being
 * written.  The alarm turns a stall into a failure. */
static void test_spool_lock_held(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	alarm(SPOOL_LOCK_WAIT * 6);
	struct spool *sp = spool_new(fx->dir, 1 << 20);
	struct store_quarantine a = spool_sample("a"), b = spool_sample("b");
	assert_true(spool_hold(sp, &a, NULL, &err));
	char *path = g_build_filename(fx->dir, SPOOL_FILE, NULL);
	int file = open(path, O_RDONLY | O_CLOEXEC), dir = open(fx->dir, O_RDONLY | O_CLOEXEC);
	assert_true(file >= 0 && dir >= 0);
	assert_int_equal(flock(file, LOCK_EX), 0);
	assert_int_equal(flock(dir, LOCK_EX), 0);
	if (!spool_hold(sp, &b, NULL, &err))
		fail_msg("append with the file locked by another: %s", err);
	struct spool_replayed done;
	if (!spool_replay(sp, fx->st, &done, &err))
		fail_msg("replay with the file and the directory locked by another: %s", err);
	assert_int_equal(done.holds, 2);
	close(file);
	close(dir);
	const char *locks[] = {SPOOL_LOCK, SPOOL_REPLAY_LOCK};
	for (size_t i = 0; i < G_N_ELEMENTS(locks); i++) {
		char *lock = g_build_filename(fx->dir, locks[i], NULL);
		struct stat sb;
		assert_int_equal(stat(lock, &sb), 0);
		assert_int_equal(sb.st_mode & 07777, 0600);
		g_free(lock);
	}

	char *lock = g_build_filename(fx->dir, SPOOL_LOCK, NULL);
	int other = open(lock, O_RDONLY | O_CLOEXEC); /* a daemon sharing the spool */
	assert_true(other >= 0);
	assert_int_equal(flock(other, LOCK_SH), 0);
	GThread *t = g_thread_new("let-go", let_go_later, GINT_TO_POINTER(other));
	if (!spool_hold(sp, &a, NULL, &err))
		fail_msg("a lock let go after 300 ms: %s", err);
	g_thread_join(t);
	assert_int_equal(flock(other, LOCK_SH), 0);
	assert_false(spool_hold(sp, &b, NULL, &err));
	assert_non_null(strstr(err, "another process has held it for"));
	assert_non_null(strstr(err, lock));
	g_clear_pointer(&err, g_free);
	dir_file_append(fx->dir, SPOOL_FILE, "{\"spool\":1,\"type\":\"hold\",\"tok"); /* being written */
	assert_int_equal(flock(other, LOCK_EX | LOCK_NB), 0); /* the only holder: it converts */
	unsigned records = 0;
	if (!spool_read(fx->dir, &records, NULL, &err))
		fail_msg("read with the lock held: %s", err);
	assert_int_equal(records, 1); /* a, and nothing of the append that failed nor the unfinished line */
	alarm(0);
	close(other);
	g_free(lock);
	g_free(path);
	spool_free(sp);
}

/* The spool's lock files: a reader (apologyctl, as any user) and a replay
 * with nothing to replay make none, so that a run as root leaves none the
 * daemon's user cannot open; one that is not the user's alone (opened up
 * to others, a symbolic link) is refused, saying what to do, rather than
 * taken where others could hold it. */
static void test_spool_lock_files(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	struct spool *sp = spool_new(fx->dir, 1 << 20);
	char *lock = g_build_filename(fx->dir, SPOOL_LOCK, NULL);
	char *replay = g_build_filename(fx->dir, SPOOL_REPLAY_LOCK, NULL);
	dir_file_append(fx->dir, "other-file", "");
	unsigned records = 1;
	assert_true(spool_read(fx->dir, &records, NULL, &err));
	assert_int_equal(records, 0);
	struct spool_replayed done;
	assert_true(spool_replay(sp, fx->st, &done, &err));
	assert_false(g_file_test(lock, G_FILE_TEST_EXISTS));
	assert_false(g_file_test(replay, G_FILE_TEST_EXISTS));

	struct store_quarantine a = spool_sample("a");
	assert_true(spool_hold(sp, &a, NULL, &err));
	assert_true(spool_read(fx->dir, &records, NULL, &err));
	assert_int_equal(records, 1);
	assert_true(spool_locks_usable(fx->dir, &err)); /* what apology-milter -n checks */
	assert_int_equal(chmod(lock, 0644), 0);
	assert_false(spool_hold(sp, &a, NULL, &err));
	assert_non_null(strstr(err, "not a lock of this user's alone"));
	assert_non_null(strstr(err, lock));
	g_clear_pointer(&err, g_free);
	assert_false(spool_locks_usable(fx->dir, &err));
	assert_non_null(strstr(err, "not a lock of this user's alone"));
	g_clear_pointer(&err, g_free);
	assert_int_equal(unlink(lock), 0);
	assert_int_equal(symlink("/nonexistent-target", lock), 0);
	assert_false(spool_hold(sp, &a, NULL, &err));
	assert_non_null(strstr(err, "a symbolic link, not followed"));
	g_clear_pointer(&err, g_free);
	assert_false(g_file_test("/nonexistent-target", G_FILE_TEST_EXISTS));
	assert_false(spool_locks_usable(fx->dir, &err));
	assert_non_null(strstr(err, "a symbolic link, not followed"));
	g_clear_pointer(&err, g_free);
	assert_int_equal(unlink(lock), 0);
	assert_true(spool_hold(sp, &a, NULL, &err));
	assert_true(spool_read(fx->dir, &records, NULL, &err));
	assert_int_equal(records, 2);
	g_free(lock);
	g_free(replay);
	spool_free(sp);
}

/* A spool on a tmpfs of its own (*DIR) holding one decision; NULL when
 * this process may not mount one (the caller skips). */
static struct spool *spool_with_decision_on_tmpfs(char **dir)
{
	*dir = fulldisk_mount(1 << 20);
	if (*dir == NULL)
		return NULL;
	char *err = NULL;
	struct spool *sp = spool_new(*dir, 1 << 20);
	struct spool_record d = {.type = SPOOL_DECISION,
	                         .d = {100, "sam@acme.example", "client.example", "advise", "excuse"}};
	assert_true(spool_append(sp, &d, NULL, &err));
	return sp;
}

/* On a disk too full for a new file: a replay that wrote some records and
 * could not take them out of the file does not write them again at the
 * next replay (decisions and apologies answering no known complaint would
 * count twice); and records put first go in at the end rather than not
 * at all. */
static void test_spool_full_disk(void **state)
{
	struct fixture *fx = *state;
	char *dir = NULL, *err = NULL;
	struct spool *sp = spool_with_decision_on_tmpfs(&dir);
	if (sp == NULL)
		skip();
	assert_true(spool_apology(sp, "sam@acme.example", "client.example", 1100, 1, NULL, &err));
	struct spool_record *held = hold_record("refused"); /* with a copy of 200 KB */
	g_free(held->q.raw);
	held->q.raw_len = 200000;
	held->q.raw = g_malloc(held->q.raw_len);
	memset(held->q.raw, 'x', held->q.raw_len);
	assert_true(spool_append(sp, held, NULL, &err));
	sqlite3 *db = refuse_holds(fx->path);
	assert_true(fulldisk_fill(dir) > 0);
	struct spool_replayed done;
	/* (fewer rounds than it takes to set the refused hold aside) */
	for (int round = 0; round < SPOOL_REFUSALS - 1; round++) {
		assert_false(spool_replay(sp, fx->st, &done, &err));
		g_clear_pointer(&err, g_free);
		assert_int_equal(done.decisions + done.apologies, round == 0 ? 2 : 0);
		assert_int_equal(done.left, 1); /* the hold, not yet in the store */
	}
	GArray *decisions = store_decisions_new();
	assert_true(store_decisions_list(fx->st, 0, NULL, decisions, &err));
	assert_int_equal(decisions->len, 1);
	g_array_unref(decisions);
	GArray *hist = g_array_new(FALSE, TRUE, sizeof(struct history_entry));
	assert_true(store_history_get(fx->st, "sam@acme.example", "client.example", 0, NULL, 10, hist, &err));
	assert_int_equal(hist->len, 1);
	g_array_free(hist, TRUE);

	/* The spool's file (three records, the hold with its copy) is more
	 * than the room left, two more records are not: put first, they go in
	 * at the end. */
	fulldisk_unfill(dir);
	struct stat sb;
	char *path = g_build_filename(dir, SPOOL_FILE, NULL);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size > 200000);
	fulldisk_fill_but(dir, 64 << 10);
	struct spool_record *first[] = {hold_record("x"), hold_record("y")};
	assert_int_equal(spool_put_first(sp, first, 2, NULL, &err), 2);
	assert_null(err);
	fulldisk_unfill(dir);
	assert_int_equal(sqlite3_exec(db, "DROP TRIGGER refuse", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	if (!spool_replay(sp, fx->st, &done, &err))
		fail_msg("replay: %s", err);
	assert_int_equal(done.holds, 3);
	assert_int_equal(done.decisions + done.apologies, 0);
	assert_true(spool_empty(sp));
	decisions = store_decisions_new();
	assert_true(store_decisions_list(fx->st, 0, NULL, decisions, &err));
	assert_int_equal(decisions->len, 1);
	g_array_unref(decisions);
	spool_record_free(first[0]);
	spool_record_free(first[1]);
	spool_record_free(held);
	g_free(path);
	spool_free(sp);
	fulldisk_unmount(dir);
	g_free(dir);
}

/* Records put first after a replay that could not take out what it wrote
 * (a full disk, then room again): the new file leaves those out, so the
 * next replay does not write them a second time. */
static void test_spool_put_first_after_full_disk(void **state)
{
	struct fixture *fx = *state;
	char *dir = NULL, *err = NULL;
	struct spool *sp = spool_with_decision_on_tmpfs(&dir);
	if (sp == NULL)
		skip();
	struct spool_record *held = hold_record("refused");
	assert_true(spool_append(sp, held, NULL, &err));
	sqlite3 *db = refuse_holds(fx->path);
	assert_true(fulldisk_fill(dir) > 0);
	struct spool_replayed done;
	assert_false(spool_replay(sp, fx->st, &done, &err)); /* the decision written, not taken out */
	g_clear_pointer(&err, g_free);
	assert_int_equal(done.decisions, 1);
	fulldisk_unfill(dir);
	struct spool_record *first[] = {hold_record("x")};
	assert_int_equal(spool_put_first(sp, first, 1, NULL, &err), 1);
	assert_int_equal(sqlite3_exec(db, "DROP TRIGGER refuse", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	if (!spool_replay(sp, fx->st, &done, &err))
		fail_msg("replay: %s", err);
	assert_int_equal(done.decisions, 0);
	assert_int_equal(done.holds, 2);
	GArray *decisions = store_decisions_new();
	assert_true(store_decisions_list(fx->st, 0, NULL, decisions, &err));
	assert_int_equal(decisions->len, 1);
	g_array_unref(decisions);
	spool_record_free(first[0]);
	spool_record_free(held);
	spool_free(sp);
	fulldisk_unmount(dir);
	g_free(dir);
}

/* A replay waiting on a locked store does not hold up records appended
 * meanwhile: they go in while it waits, and stay after what it could not
 * write. */
static void test_spool_append_during_replay(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	struct spool *sp = spool_new(fx->dir, 1 << 20);
	struct spool_record *a = hold_record("a"), *b = hold_record("b");
	assert_true(spool_append(sp, a, NULL, &err));
	sqlite3 *lock = lock_store(fx->path);
	store_set_busy_timeout(fx->st, 3000); /* the replay waits this long on the lock */
	struct replaying rp = {.sp = sp, .st = fx->st};
	GThread *t = g_thread_new("replay", replay_thread, &rp);
	g_usleep(200 * 1000); /* the replay waits on the store by now */
	assert_true(spool_append(sp, b, NULL, &err));
	assert_int_equal(g_atomic_int_get(&rp.finished), 0); /* the append did not wait for it */
	g_thread_join(t);
	assert_false(rp.ok);
	assert_int_equal(rp.done.left, 2);
	char *order = spooled_tokens(fx->dir);
	assert_string_equal(order, "a,b");
	g_free(order);
	unlock_store(lock);
	struct spool_replayed done;
	assert_true(spool_replay(sp, fx->st, &done, &err));
	assert_int_equal(done.holds, 2);
	assert_true(spool_empty(sp));
	spool_free(sp);
	spool_record_free(a);
	spool_record_free(b);
}

/* ---- the store writer ---------------------------------------------------- */

struct writing {
	struct spool *sp;
	struct writer *w;
};

/* A writer with its own connection to the fixture's store, whose calls
 * wait BUSY_MS for a lock, queueing at most MAX records. */
static void writing_start(struct fixture *fx, struct writing *wr, unsigned max, int busy_ms)
{
	char *err = NULL;
	wr->sp = spool_new(fx->dir, 1 << 20);
	struct writer_limits limits = {.max_records = max, .max_bytes = 1 << 20, .retry = 3600};
	wr->w = writer_new(wr->sp, &limits);
	struct store *st = store_open(fx->location, &err);
	if (st == NULL)
		fail_msg("%s", err);
	store_set_busy_timeout(st, busy_ms);
	struct spool_replayed done;
	assert_true(writer_set_store(wr->w, st, &done, &err));
}

static void writing_stop(struct writing *wr)
{
	writer_free(wr->w);
	spool_free(wr->sp);
}

static enum writer_where put(struct writing *wr, struct spool_record *r)
{
	struct writer_result res;
	enum writer_where where = writer_put(wr->w, r, &res);
	writer_result_clear(&res);
	return where;
}

/* The times of the apologies in the store, in the order they were written. */
static char *stored_order(struct fixture *fx)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT at FROM apologies ORDER BY id", -1, &q, NULL),
	                 SQLITE_OK);
	GString *out = g_string_new(NULL);
	while (sqlite3_step(q) == SQLITE_ROW)
		g_string_append_printf(out, "%s%lld", out->len ? "," : "",
		                       (long long)sqlite3_column_int64(q, 0));
	sqlite3_finalize(q);
	sqlite3_close(db);
	return g_string_free(out, FALSE);
}

/* Wait until the writer's thread has taken every queued record (the last
 * one is in its hands). */
static void wait_taken(struct writing *wr)
{
	struct writer_counts n;
	for (int i = 0; i < 1000; i++) {
		writer_counts(wr->w, &n);
		if (n.queued == 0)
			return;
		g_usleep(1000);
	}
	fail_msg("the writer did not take its records");
}

/* Records reach the store in the order they were put; the writer's thread
 * writes them, the caller never waits. */
static void test_writer_order(void **state)
{
	struct fixture *fx = *state;
	struct writing wr;
	writing_start(fx, &wr, 1000, 250);
	for (int i = 1; i <= 50; i++)
		assert_int_equal(put(&wr, apology_record(i)), WRITER_QUEUED);
	writer_flush(wr.w);
	char *order = stored_order(fx);
	GString *want = g_string_new(NULL);
	for (int i = 1; i <= 50; i++)
		g_string_append_printf(want, "%s%d", i > 1 ? "," : "", i);
	assert_string_equal(order, want->str);
	g_string_free(want, TRUE);
	g_free(order);
	struct writer_counts n;
	writer_counts(wr.w, &n);
	assert_int_equal(n.stored, 50);
	assert_int_equal(n.spooled + n.lost, 0);
	writing_stop(&wr);
}

/* The queue is bounded: with the store held up (locked by another process,
 * the writer waiting on it with its first record), the queue fills, the
 * record after it goes to the spool, and so does every one after that
 * until the spool is written back: then all are in the store, each once,
 * in the order they were put. */
static void test_writer_full_spools(void **state)
{
	struct fixture *fx = *state;
	struct writing wr;
	writing_start(fx, &wr, 3, 2000);
	sqlite3 *lock = lock_store(fx->path);
	assert_int_equal(put(&wr, apology_record(1)), WRITER_QUEUED);
	wait_taken(&wr); /* record 1 waits on the lock in the writer's hands */
	for (int i = 2; i <= 4; i++)
		assert_int_equal(put(&wr, apology_record(i)), WRITER_QUEUED);
	struct writer_result res;
	assert_int_equal(writer_put(wr.w, apology_record(5), &res), WRITER_SPOOLED);
	assert_non_null(strstr(res.why_not_queued, "the queue for the store is full (3 records"));
	writer_result_clear(&res);
	for (int i = 6; i <= 8; i++) /* newer than what the spool holds: to the spool too */
		assert_int_equal(put(&wr, apology_record(i)), WRITER_SPOOLED);
	unlock_store(lock);
	writer_flush(wr.w);     /* 1 to 4 from the queue */
	writer_retry_now(wr.w); /* 5 to 8 from the spool */
	char *order = stored_order(fx);
	assert_string_equal(order, "1,2,3,4,5,6,7,8");
	g_free(order);
	assert_true(spool_empty(wr.sp));
	assert_int_equal(put(&wr, apology_record(9)), WRITER_QUEUED); /* queued again */
	writer_flush(wr.w);
	order = stored_order(fx);
	assert_string_equal(order, "1,2,3,4,5,6,7,8,9");
	g_free(order);
	writing_stop(&wr);
}

/* A store that stays locked past the busy timeout: the record in the
 * writer's hands and those queued behind it go to the spool before the ones
 * spooled meanwhile (the queue was full), new ones after them; once the
 * lock is gone, the store has each once, in the order put. */
static void test_writer_locked_spills_in_order(void **state)
{
	struct fixture *fx = *state;
	struct writing wr;
	writing_start(fx, &wr, 2, 1500);
	sqlite3 *lock = lock_store(fx->path);
	assert_int_equal(put(&wr, apology_record(1)), WRITER_QUEUED);
	wait_taken(&wr);
	assert_int_equal(put(&wr, apology_record(2)), WRITER_QUEUED);
	assert_int_equal(put(&wr, apology_record(3)), WRITER_QUEUED);
	assert_int_equal(put(&wr, apology_record(4)), WRITER_SPOOLED); /* full: spooled before 1 to 3 */
	writer_flush(wr.w); /* the busy timeout passes: 1 to 3 go to the spool, first */
	struct writer_counts n;
	writer_counts(wr.w, &n);
	assert_true(n.spilling);
	assert_int_equal(n.stored, 0);
	struct writer_result res;
	assert_int_equal(writer_put(wr.w, apology_record(5), &res), WRITER_SPOOLED);
	assert_non_null(strstr(res.why_not_queued, "database is locked"));
	writer_result_clear(&res);
	unsigned records = 0;
	char *err = NULL;
	assert_true(spool_read(fx->dir, &records, NULL, &err));
	assert_int_equal(records, 5);
	writer_retry_now(wr.w); /* still locked: all stays */
	assert_true(spool_read(fx->dir, &records, NULL, &err));
	assert_int_equal(records, 5);
	char *order = stored_order(fx);
	assert_string_equal(order, "");
	g_free(order);

	unlock_store(lock);
	writer_retry_now(wr.w);
	order = stored_order(fx);
	assert_string_equal(order, "1,2,3,4,5");
	g_free(order);
	writer_counts(wr.w, &n);
	assert_false(n.spilling);
	assert_int_equal(n.lost, 0);
	writing_stop(&wr);
}

/* A stop while the store is locked: the queued records go to the spool,
 * none is lost; records put after the stop go there directly; the next
 * writer writes them all to the store, each once; the records of held
 * mail being written are pending for reconcile until then. */
static void test_writer_stop_keeps_all(void **state)
{
	struct fixture *fx = *state;
	struct writing wr;
	writing_start(fx, &wr, 100, 300);
	sqlite3 *lock = lock_store(fx->path);
	assert_int_equal(put(&wr, hold_record("h1")), WRITER_QUEUED);
	for (int i = 1; i <= 5; i++)
		put(&wr, apology_record(i));
	GHashTable *pending = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	writer_pending_holds(wr.w, pending);
	writer_stop(wr.w);
	assert_int_equal(put(&wr, apology_record(6)), WRITER_SPOOLED);
	struct writer_counts n;
	writer_counts(wr.w, &n);
	assert_int_equal(n.lost, 0);
	assert_int_equal(n.spooled, 7);
	unsigned records = 0;
	char *err = NULL;
	assert_true(spool_read(fx->dir, &records, NULL, &err));
	assert_int_equal(records, 7);
	writing_stop(&wr);
	unlock_store(lock);
	/* "h1" was pending unless the writer had already spooled it */
	assert_true(g_hash_table_size(pending) <= 1);
	g_hash_table_unref(pending);

	writing_start(fx, &wr, 100, 300); /* the spool goes to the store first */
	assert_true(spool_empty(wr.sp));
	char *order = stored_order(fx);
	assert_string_equal(order, "1,2,3,4,5,6");
	g_free(order);
	gint64 held = 0;
	assert_true(store_quarantine_count(fx->st, &(struct store_query){.state = "held"}, &held, &err));
	assert_int_equal(held, 1);
	writing_stop(&wr);
}

/* ---- the journal of holds: a kill between the answer and the store ----- */

/* How many held-mail records the fixture's store has. */
static gint64 held_count(struct fixture *fx)
{
	gint64 held = -1;
	char *err = NULL;
	assert_true(store_quarantine_count(fx->st, &(struct store_query){.state = "held"}, &held, &err));
	return held;
}

/* The files in DIR whose names start with "store-journal-". */
static unsigned journal_files(const char *dir)
{
	unsigned n = 0;
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;
	while (d && (name = g_dir_read_name(d)) != NULL)
		n += g_str_has_prefix(name, "store-journal-");
	if (d)
		g_dir_close(d);
	return n;
}

static void journal_put(struct spool_journal *j, const char *token)
{
	struct spool_record *r = hold_record(token);
	GString *line = spool_hold_line(&r->q);
	char *err = NULL;
	assert_true(spool_journal_write(j, line, &err));
	g_string_free(line, TRUE);
	spool_record_free(r);
}

/* A daemon dies with two holds in its journal, one of which its writer had
 * already put in the store: the next start moves both to the spool, whose
 * replay stores the other and skips the stored one (each once).  A line
 * the death cut short is dropped; a live daemon's journal is left alone;
 * reconcile reads a dead daemon's holds as spooled meanwhile. */
static void test_journal_recovered_once(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	struct spool *sp = spool_new(fx->dir, 1 << 20);
	struct spool_journal *dead = spool_journal_new(sp, &err);
	struct spool_journal *live = spool_journal_new(sp, &err);
	assert_non_null(dead);
	assert_non_null(live);
	journal_put(dead, "j-stored");
	journal_put(dead, "j-lost");
	journal_put(live, "j-live");
	struct spool_record *stored = hold_record("j-stored");
	assert_true(store_quarantine_put(fx->st, &stored->q, NULL, &err));
	spool_record_free(stored);
	int fd = open(spool_journal_path(dead), O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	const char half[] = "{\"spool\":1,\"type\":\"hold\",\"queue_id\":\"j-ha";
	assert_int_equal(write(fd, half, sizeof half - 1), (ssize_t)(sizeof half - 1));
	close(fd);
	spool_journal_free(dead); /* the process is gone: its lock with it, the file stays */
	assert_int_equal(journal_files(fx->dir), 2);

	/* Reconcile before the restart: the dead daemon's holds are waiting. */
	char *tokens = spooled_tokens(fx->dir);
	assert_string_equal(tokens, "j-stored,j-lost");
	g_free(tokens);

	unsigned moved = 0, bare = 0;
	assert_true(spool_journal_recover(sp, &moved, &bare, &err));
	assert_int_equal(moved, 2);
	assert_int_equal(journal_files(fx->dir), 1); /* the live one */
	struct spool_replayed done;
	assert_true(spool_replay(sp, fx->st, &done, &err));
	assert_int_equal(done.holds, 2);
	assert_int_equal(held_count(fx), 2);
	struct store_quarantine q;
	assert_int_equal(store_quarantine_get(fx->st, "j-lost", &q, &err), STORE_FOUND);
	assert_int_equal(q.raw_len, sizeof raw_copy - 1); /* with its copy */
	store_quarantine_clear(&q);
	assert_int_equal(store_quarantine_get(fx->st, "j-live", &q, &err), STORE_NONE);

	/* Started again: nothing is left to add. */
	assert_true(spool_journal_recover(sp, &moved, &bare, &err));
	assert_int_equal(moved, 0);
	assert_true(spool_replay(sp, fx->st, &done, &err));
	assert_int_equal(held_count(fx), 2);

	/* Emptied (its holds are in the store), a journal is removed at a stop. */
	assert_true(spool_journal_clear(live, &err));
	spool_journal_free(live);
	assert_int_equal(journal_files(fx->dir), 0);
	spool_free(sp);
}

/* A dead daemon's journal that another process is reading (a shared lock:
 * reconcile, `-n`) is waited for, not skipped till the next start; a whole
 * line of it that this program cannot read is set aside, not dropped. */
static void test_journal_read_meanwhile(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	struct spool *sp = spool_new(fx->dir, 1 << 20);
	struct spool_journal *dead = spool_journal_new(sp, &err);
	assert_non_null(dead);
	journal_put(dead, "r-1");
	char *path = g_strdup(spool_journal_path(dead));
	int fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	const char newer[] = "{\"spool\":2,\"type\":\"hold\",\"token\":\"from a newer version\"}\n";
	assert_int_equal(write(fd, newer, sizeof newer - 1), (ssize_t)(sizeof newer - 1));
	close(fd);
	journal_put(dead, "r-2");
	spool_journal_free(dead);

	/* the reader: a shared lock on an open file of its own, let go of
	 * 300 ms later by a thread (flock locks belong to the open file, so
	 * they stand against this process's own recovery too) */
	int r = open(path, O_RDONLY);
	assert_true(r >= 0);
	assert_int_equal(flock(r, LOCK_SH), 0);
	GThread *reader = g_thread_new("reader", let_go_later, GINT_TO_POINTER(r));
	unsigned moved = 0, bare = 0;
	assert_true(spool_journal_recover(sp, &moved, &bare, &err));
	assert_int_equal(moved, 2);
	assert_int_equal(journal_files(fx->dir), 0);
	g_thread_join(reader);
	close(r);
	GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
	assert_true(spool_aside_list(fx->dir, lines, &err));
	assert_int_equal(lines->len, 1);
	assert_non_null(strstr(lines->pdata[0], "from a newer version"));
	g_ptr_array_unref(lines);
	g_free(path);
	spool_free(sp);
}

/* A dead daemon's journal whose holds the spool refuses (full) stays, and
 * its holds go in at a later start that has room. */
static void test_journal_kept_when_spool_full(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	struct spool *sp = spool_new(fx->dir, 1 << 20);
	struct spool_journal *dead = spool_journal_new(sp, &err);
	assert_non_null(dead);
	journal_put(dead, "f-1");
	spool_journal_free(dead);
	struct spool *small = spool_new(fx->dir, 100);
	unsigned moved = 0, bare = 0;
	assert_false(spool_journal_recover(small, &moved, &bare, &err));
	assert_non_null(strstr(err, "is full"));
	g_clear_pointer(&err, g_free);
	assert_int_equal(moved, 0);
	assert_int_equal(journal_files(fx->dir), 1);
	spool_free(small);
	/* room for the record without its copy only: it goes in so, and says so */
	struct spool_record *r = hold_record("f-1");
	GString *whole = spool_hold_line(&r->q);
	small = spool_new(fx->dir, (gint64)whole->len - 1);
	assert_true(spool_journal_recover(small, &moved, &bare, &err));
	assert_int_equal(moved, 1);
	assert_int_equal(bare, 1);
	assert_int_equal(journal_files(fx->dir), 0);
	spool_free(small);
	g_string_free(whole, TRUE);
	spool_record_free(r);
	char *file = g_build_filename(fx->dir, SPOOL_FILE, NULL);
	assert_int_equal(g_unlink(file), 0);
	g_free(file);
	dead = spool_journal_new(sp, &err);
	journal_put(dead, "f-1");
	spool_journal_free(dead);
	assert_true(spool_journal_recover(sp, &moved, &bare, &err));
	assert_int_equal(moved, 1);
	assert_int_equal(bare, 0);
	assert_int_equal(journal_files(fx->dir), 0);
	struct spool_replayed done;
	assert_true(spool_replay(sp, fx->st, &done, &err));
	assert_int_equal(held_count(fx), 1);
	spool_free(sp);
}

/* The kill window itself: a daemon's writer has answered three holds (one
 * in its hands, waiting on a store another process keeps locked, two
 * queued behind it) when the daemon is killed (-9).  The next writer on the
 * same spool puts each in the store once. */
static void test_writer_killed_loses_no_hold(void **state)
{
	struct fixture *fx = *state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct writing wr;
		writing_start(fx, &wr, 100, 60000);
		sqlite3 *lock = lock_store(fx->path);
		put(&wr, hold_record("k1"));
		wait_taken(&wr);
		put(&wr, hold_record("k2"));
		put(&wr, hold_record("k3"));
		(void)lock;
		raise(SIGKILL);
		_exit(1);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(held_count(fx), 0);

	struct writing wr;
	writing_start(fx, &wr, 100, 2000); /* the journal to the spool, the spool to the store */
	assert_true(spool_empty(wr.sp));
	assert_int_equal(held_count(fx), 3);
	writing_stop(&wr);
	writing_start(fx, &wr, 100, 2000); /* again: nothing twice */
	assert_int_equal(held_count(fx), 3);
	assert_int_equal(journal_files(fx->dir), 1); /* its own */
	writing_stop(&wr);
	assert_int_equal(journal_files(fx->dir), 0);
}

/* An unwritable spool directory never costs a hold: it is queued for the
 * store as before (only the protection against a kill is missing). */
static void test_writer_no_journal_still_stores(void **state)
{
	struct fixture *fx = *state;
	/* A directory under a file cannot be made, even by root. */
	char *file = g_build_filename(fx->dir, "not-a-dir", NULL);
	assert_true(g_file_set_contents(file, "", 0, NULL));
	char *under = g_build_filename(file, "spool", NULL);
	char *err = NULL;
	struct spool *sp = spool_new(under, 1 << 20);
	struct writer_limits limits = {.max_records = 10, .max_bytes = 1 << 20, .retry = 3600};
	struct writer *w = writer_new(sp, &limits);
	struct store *st = store_open(fx->location, &err);
	assert_non_null(st);
	struct spool_replayed done;
	writer_set_store(w, st, &done, &err); /* the spool cannot be read: its error */
	g_free(err);
	struct writer_result res;
	assert_int_equal(writer_put(w, hold_record("nj1"), &res), WRITER_QUEUED);
	writer_result_clear(&res);
	writer_flush(w);
	assert_int_equal(held_count(fx), 1);
	writer_free(w);
	spool_free(sp);
	g_free(under);
	g_free(file);
}

/* ---- reviewers' labels and monitor statistics ------------------------- */

static gint64 labelled_record(struct fixture *fx, const char *token, const char *sender, gint64 created,
                              const char *state)
{
	struct store_quarantine q = fixture_hold(token);
	q.sender = (char *)sender;
	q.findings_json = "{\"findings\":[{\"rule\":\"blame-third-party\"},{\"rule\":\"no-remedy\"}]}";
	q.created = created;
	q.state = (char *)state;
	gint64 id = 0;
	char *err = NULL;
	if (!store_quarantine_put(fx->st, &q, &id, &err))
		fail_msg("put: %s", err);
	return id;
}

static struct store_label label(gint64 id, const char *rule, const char *verdict, const char *excerpt,
                                gint64 at)
{
	return (struct store_label){.quarantine_id = id,
	                            .rule = (char *)rule,
	                            .verdict = (char *)verdict,
	                            .action = "release",
	                            .reviewer = "alice",
	                            .excerpt = (char *)excerpt,
	                            .at = at};
}

static void test_labels(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	gint64 a = labelled_record(fx, "la", "sam@us.example", 1000, "released");
	gint64 b = labelled_record(fx, "lb", "sam@us.example", 1000, "returned");
	gint64 c = labelled_record(fx, "lc", "kim@us.example", 1000, "released");
	const struct store_label first[] = {
	    label(a, "blame-third-party", "wrong", "the courier lost it", 2000),
	    label(a, "no-remedy", "right", NULL, 2000),
	};
	const struct store_label second[] = {
	    label(b, "blame-third-party", "right", "they lost it", 3000),
	    label(b, "no-remedy", "right", "", 3000),
	};
	const struct store_label third[] = {
	    label(c, "blame-third-party", "wrong", "the 'supplier'; DROP TABLE review_labels", 4000),
	    label(c, "no-remedy", "wrong", "", 4000),
	};
	assert_true(store_labels_put(fx->st, first, G_N_ELEMENTS(first), &err));
	assert_true(store_labels_put(fx->st, second, G_N_ELEMENTS(second), &err));
	assert_true(store_labels_put(fx->st, third, G_N_ELEMENTS(third), &err));
	assert_true(store_labels_put(fx->st, NULL, 0, &err)); /* a decision on a reply with no findings */

	GArray *l = store_labels_new();
	assert_true(store_labels_list(fx->st, 0, l, &err));
	assert_int_equal(l->len, 6);
	const struct store_label *l0 = &g_array_index(l, struct store_label, 0);
	assert_int_equal(l0->quarantine_id, a);
	assert_string_equal(l0->rule, "blame-third-party");
	assert_string_equal(l0->verdict, "wrong");
	assert_string_equal(l0->action, "release");
	assert_string_equal(l0->reviewer, "alice");
	assert_string_equal(l0->excerpt, "the courier lost it");
	assert_int_equal(l0->at, 2000);
	assert_null(g_array_index(l, struct store_label, 1).excerpt);
	assert_int_equal(g_array_index(l, struct store_label, 5).quarantine_id, c);
	g_array_set_size(l, 0);
	assert_true(store_labels_list(fx->st, 3000, l, &err)); /* from a time on */
	assert_int_equal(l->len, 4);
	assert_int_equal(g_array_index(l, struct store_label, 0).quarantine_id, b);

	GArray *p = store_precisions_new();
	assert_true(store_label_precision(fx->st, 0, p, &err));
	assert_int_equal(p->len, 2);
	const struct store_precision *p0 = &g_array_index(p, struct store_precision, 0);
	const struct store_precision *p1 = &g_array_index(p, struct store_precision, 1);
	/* most often wrong first, with the newest wrong excerpt */
	assert_string_equal(p0->rule, "blame-third-party");
	assert_int_equal(p0->right, 1);
	assert_int_equal(p0->wrong, 2);
	assert_string_equal(p0->example, "the 'supplier'; DROP TABLE review_labels");
	assert_string_equal(p1->rule, "no-remedy");
	assert_int_equal(p1->right, 2);
	assert_int_equal(p1->wrong, 1);
	assert_null(p1->example); /* its only wrong label has an empty excerpt */
	g_array_set_size(p, 0);
	assert_true(store_label_precision(fx->st, 2500, p, &err)); /* the period counts */
	assert_int_equal(g_array_index(p, struct store_precision, 0).wrong, 1);
	assert_int_equal(g_array_index(p, struct store_precision, 0).right, 1);
	assert_string_equal(g_array_index(p, struct store_precision, 0).example,
	                    "the 'supplier'; DROP TABLE review_labels");

	/* A label of a record and rule already labelled replaces it. */
	const struct store_label again[] = {
	    label(a, "blame-third-party", "right", "the courier lost it", 5000)};
	assert_true(store_labels_put(fx->st, again, 1, &err));
	g_array_set_size(p, 0);
	assert_true(store_label_precision(fx->st, 0, p, &err));
	assert_int_equal(g_array_index(p, struct store_precision, 0).right +
	                     g_array_index(p, struct store_precision, 0).wrong +
	                     g_array_index(p, struct store_precision, 1).right +
	                     g_array_index(p, struct store_precision, 1).wrong,
	                 6);

	/* One decision's labels go in together or not at all. */
	gint64 d = labelled_record(fx, "ld", "kim@us.example", 1000, "released");
	const struct store_label bad[] = {
	    label(d, "no-remedy", "wrong", NULL, 6000),
	    label(d, "blame-third-party", "maybe", NULL, 6000),
	};
	assert_false(store_labels_put(fx->st, bad, G_N_ELEMENTS(bad), &err));
	assert_non_null(err);
	g_clear_pointer(&err, g_free);
	g_array_set_size(l, 0);
	assert_true(store_labels_list(fx->st, 6000, l, &err));
	assert_int_equal(l->len, 0);
	/* and for a record that is not there, nothing */
	const struct store_label orphan[] = {label(9999, "no-remedy", "wrong", NULL, 6000)};
	assert_false(store_labels_put(fx->st, orphan, 1, &err));
	g_clear_pointer(&err, g_free);
	g_array_unref(p);
	g_array_unref(l);
}

static void test_monitor_stats(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	labelled_record(fx, "h1", "Sam@us.example", 86400 * 10, "held");
	labelled_record(fx, "h2", "sam@us.example", 86400 * 11, "released");
	labelled_record(fx, "m1", "kim@us.example", 86400 * 10, "monitor");
	labelled_record(fx, "m2", "kim@us.example", 86400 * 30, "monitor");
	labelled_record(fx, "m3", "lee@us.example", 86400 * 30, "monitor");
	/* near misses kept for review, judged or not: neither held nor monitor */
	labelled_record(fx, "s1", "sam@us.example", 86400 * 10, "sampled");
	labelled_record(fx, "j1", "ann@us.example", 86400 * 10, "judged");
	GArray *c = g_array_new(FALSE, TRUE, sizeof(struct store_count));
	g_array_set_clear_func(c, (GDestroyNotify)store_count_clear);
	assert_true(store_stats(fx->st, STORE_STAT_SENDER, 0, 0, c, &err));
	assert_int_equal(c->len, 1); /* held: not the monitor records, not the near misses */
	assert_string_equal(g_array_index(c, struct store_count, 0).key, "sam@us.example");
	assert_int_equal(g_array_index(c, struct store_count, 0).n, 2);
	g_array_set_size(c, 0);
	assert_true(store_monitor_stats(fx->st, STORE_STAT_SENDER, 0, 0, c, &err));
	assert_int_equal(c->len, 2);
	assert_string_equal(g_array_index(c, struct store_count, 0).key, "kim@us.example");
	assert_int_equal(g_array_index(c, struct store_count, 0).n, 2);
	g_array_set_size(c, 0);
	assert_true(store_monitor_stats(fx->st, STORE_STAT_RULE, 86400 * 20, 0, c, &err));
	assert_int_equal(c->len, 2);
	assert_int_equal(g_array_index(c, struct store_count, 0).n, 2); /* m2 and m3 */
	g_array_set_size(c, 0);
	assert_true(store_monitor_stats(fx->st, STORE_STAT_WEEK, 0, 0, c, &err));
	assert_int_equal(c->len, 2);
	assert_string_equal(g_array_index(c, struct store_count, 0).key, "1970-W01");
	assert_int_equal(g_array_index(c, struct store_count, 1).n, 2);
	g_array_unref(c);
}

/* Decisions: written, read by time and verdict, pruned; and through the
 * spool when the store is locked, in order with the other records. */
static void test_decisions(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	struct store_decision a = {100,      "sam@us.example",       "client.example",
	                           "advise", "no-call-offer,excuse", "k-a"};
	struct store_decision h = {200, "kim@us.example", "", "hold", "blame-third-party", NULL};
	assert_true(store_decision_put(fx->st, &a, &err));
	assert_true(store_decision_put(fx->st, &h, &err));
	assert_true(store_decision_put(fx->st, &a, &err)); /* its key written again: taken once */
	GArray *d = store_decisions_new();
	assert_true(store_decisions_list(fx->st, 0, NULL, d, &err));
	assert_int_equal(d->len, 2);
	/* Another reply's decision alike in every field, in the same second, is
	 * another decision; so are two without a key (spooled before keys). */
	struct store_decision a2 = a;
	a2.key = "k-a2";
	assert_true(store_decision_put(fx->st, &a2, &err));
	assert_true(store_decision_put(fx->st, &h, &err));
	g_array_set_size(d, 0);
	assert_true(store_decisions_list(fx->st, 0, NULL, d, &err));
	assert_int_equal(d->len, 4);
	assert_int_equal(g_array_index(d, struct store_decision, 0).at, 100);
	assert_string_equal(g_array_index(d, struct store_decision, 0).rules, "no-call-offer,excuse");
	assert_string_equal(g_array_index(d, struct store_decision, 0).key, "k-a");
	assert_string_equal(g_array_index(d, struct store_decision, 1).key, "k-a2");
	assert_string_equal(g_array_index(d, struct store_decision, 2).client_domain, "");
	assert_null(g_array_index(d, struct store_decision, 2).key);
	g_array_set_size(d, 0);
	assert_true(store_decisions_list(fx->st, 0, "advise", d, &err));
	assert_int_equal(d->len, 2);
	g_array_set_size(d, 0);
	assert_true(store_decisions_list(fx->st, 150, NULL, d, &err));
	assert_int_equal(d->len, 2);
	assert_string_equal(g_array_index(d, struct store_decision, 0).verdict, "hold");
	assert_true(store_prune(fx->st, 150, &err));
	g_array_set_size(d, 0);
	assert_true(store_decisions_list(fx->st, 0, NULL, d, &err));
	assert_int_equal(d->len, 2);

	/* a decision record in the spool (the store locked) reaches the store */
	struct spool *sp = spool_new(fx->dir, 1 << 20);
	struct spool_record r = {.type = SPOOL_DECISION,
	                         .d = {300, g_strdup("lee@us.example"), g_strdup("c.example"),
	                               g_strdup("advise"), g_strdup("defensive"), g_strdup("k-lee")}};
	assert_true(spool_append(sp, &r, NULL, &err));
	assert_true(spool_record_size(&r) > sizeof r);
	spool_record_clear(&r);
	assert_true(spool_apology(sp, "lee@us.example", "c.example", 300, 0x2, NULL, &err));
	gchar *before = NULL;
	gsize before_len = 0;
	assert_true(g_file_get_contents(spool_path(sp), &before, &before_len, NULL));
	struct spool_replayed done = {0};
	assert_true(spool_replay(sp, fx->st, &done, &err));
	assert_int_equal(done.decisions, 1);
	assert_int_equal(done.apologies, 1);
	assert_int_equal(done.unreadable, 0);
	/* A daemon that died after writing them and before taking them out of
	 * the file replays them again at its next start: counted once. */
	assert_true(g_file_set_contents(spool_path(sp), before, (gssize)before_len, NULL));
	g_free(before);
	assert_true(spool_replay(sp, fx->st, &done, &err));
	assert_int_equal(done.decisions, 1);
	assert_int_equal(spooled(fx->dir, NULL), 0);
	g_array_set_size(d, 0);
	assert_true(store_decisions_list(fx->st, 300, "advise", d, &err));
	assert_int_equal(d->len, 1);
	assert_string_equal(g_array_index(d, struct store_decision, 0).sender, "lee@us.example");
	assert_string_equal(g_array_index(d, struct store_decision, 0).rules, "defensive");
	assert_string_equal(g_array_index(d, struct store_decision, 0).key, "k-lee"); /* the spool keeps it */
	GArray *hist = g_array_new(FALSE, TRUE, sizeof(struct history_entry));
	assert_true(store_history_get(fx->st, "lee@us.example", "c.example", 0, NULL, 10, hist, &err));
	assert_int_equal(hist->len, 1);
	g_array_free(hist, TRUE);
	spool_free(sp);
	g_array_unref(d);
}
/* ---- PostgreSQL only (APOLOGY_TEST_PG) --------------------------------- */

/* The first column of SQL's rows on the SQLite store at PATH, "a,b,...". */
static char *sqlite_list(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	GString *out = g_string_new(NULL);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	while (sqlite3_step(q) == SQLITE_ROW)
		g_string_append_printf(out, "%s%s", out->len ? "," : "",
		                       (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	sqlite3_close(db);
	return g_string_free(out, FALSE);
}

/* The PostgreSQL schema mirrors SQLite's: the same version, the same tables
 * and columns, the same indexes. */
static void test_pg_mirrors_sqlite(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	char *path = g_build_filename(fx->dir, "mirror.db", NULL);
	struct store *lite = store_open(path, &err);
	if (lite == NULL)
		fail_msg("%s", err);
	assert_int_equal(store_schema_version(fx->st), store_schema_version(lite));
	store_close(lite);
	/* "table.column,..." */
	char *want =
	    sqlite_list(path, "SELECT m.name || '.' || p.name FROM sqlite_master m,"
	                      " pragma_table_info(m.name) p WHERE m.type = 'table' ORDER BY m.name, p.name");
	char *got = pgtest_query("SELECT string_agg(table_name || '.' || column_name, ','"
	                         " ORDER BY table_name COLLATE \"C\", column_name COLLATE \"C\")"
	                         " FROM information_schema.columns WHERE table_schema = 'public'");
	assert_string_equal(got, want);
	/* the indexes made by name (not those SQLite makes for a key or a
	 * UNIQUE column) */
	char *want_indexes = sqlite_list(
	    path, "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name");
	char *got_indexes = pgtest_query("SELECT string_agg(indexname, ',' ORDER BY indexname COLLATE \"C\")"
	                                 " FROM pg_indexes WHERE schemaname = 'public'"
	                                 " AND indexname NOT IN (SELECT conname FROM pg_constraint)");
	assert_string_equal(got_indexes, want_indexes);
	g_free(got_indexes);
	g_free(want_indexes);
	char *version = pgtest_query("SELECT string_agg(version::text, ',') FROM schema_version");
	char *expect = g_strdup_printf("%d", store_schema_version(fx->st));
	assert_string_equal(version, expect);
	g_free(expect);
	g_free(version);
	g_free(got);
	g_free(want);
	g_unlink(path);
	g_free(path);
	/* Opened again: nothing left to migrate. */
	int v = store_schema_version(fx->st);
	reopen(fx);
	assert_int_equal(store_schema_version(fx->st), v);
}

/* Two daemons with host names of their own on one database (two may run
 * on one machine): a start of one counts as crashes only the marks its own
 * dead run left, not the other's messages in flight. */
static void test_pg_hosts_keep_their_marks(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	unsigned crashes = 9;
	store_set_host(fx->st, "mx-a");
	assert_true(store_inflight_begin(fx->st, "fp-a", 100, 0, &crashes, &err));
	assert_int_equal(crashes, 0);
	struct store *b = store_open(fx->location, &err);
	if (b == NULL)
		fail_msg("open: %s", err);
	store_set_host(b, "mx-b");
	assert_int_equal(store_inflight_recover(b, 0, &err), 0); /* mx-a's message is not mx-b's crash */
	store_close(b);
	reopen(fx); /* mx-a died with fp-a in flight */
	store_set_host(fx->st, "mx-a");
	assert_int_equal(store_inflight_recover(fx->st, 0, &err), 1);
	assert_true(store_inflight_begin(fx->st, "fp-a", 200, 0, &crashes, &err));
	assert_int_equal(crashes, 1);
}

/* Two daemons opening a fresh database at the same moment: both open it,
 * the schema is made once (a second migration 1 would fail on its tables). */
static void test_pg_two_at_once(void **state)
{
	struct fixture *fx = *state;
	int version = store_schema_version(fx->st);
	store_close(fx->st);
	fx->st = NULL;
	for (int round = 0; round < 3; round++) {
		pgtest_reset();
		int go[2];
		assert_int_equal(pipe(go), 0);
		pid_t kids[2];
		for (int k = 0; k < 2; k++) {
			kids[k] = fork();
			assert_true(kids[k] >= 0);
			if (kids[k] == 0) {
				char c;
				close(go[1]);
				if (read(go[0], &c, 1) != 0)
					_exit(3);
				char *err = NULL;
				struct store *st = store_open(fx->location, &err);
				if (st == NULL) {
					fprintf(stderr, "child: %s\n", err);
					_exit(1);
				}
				int ok = store_schema_version(st) == version;
				store_close(st);
				_exit(ok ? 0 : 2);
			}
		}
		close(go[0]);
		close(go[1]); /* both start now */
		for (int k = 0; k < 2; k++) {
			int status = -1;
			assert_int_equal(waitpid(kids[k], &status, 0), kids[k]);
			assert_true(WIFEXITED(status));
			assert_int_equal(WEXITSTATUS(status), 0);
		}
		char *rows = pgtest_query("SELECT count(*) FROM schema_version");
		assert_string_equal(rows, "1");
		g_free(rows);
	}
	reopen(fx);
}

/* The probe connects and reads the version; it makes nothing. */
static void test_pg_probe(void **state)
{
	struct fixture *fx = *state;
	probe_expect_open(fx);
	store_close(fx->st);
	fx->st = NULL;
	pgtest_reset();
	probe_expect(fx->location, true, "not there yet");
	char *tables = pgtest_query("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'");
	assert_string_equal(tables, "0");
	g_free(tables);
	probe_expect("postgresql:///nosuchdb?host=/nonexistent-dir", false, "cannot connect");
	reopen(fx);
}

/* A password in the location never appears in a message. */
static void test_pg_bad_locations(void **state)
{
	(void)state;
	char *err = NULL;
	assert_null(store_open("postgresql://am:s3cret@/nosuchdb?host=/nonexistent-dir", &err));
	assert_non_null(strstr(err, "cannot connect"));
	assert_null(strstr(err, "s3cret"));
	assert_non_null(strstr(err, "postgresql://am:***@"));
	g_clear_pointer(&err, g_free);
	assert_null(store_open("postgres:///nosuchdb?host=/nonexistent-dir", &err));
	assert_non_null(strstr(err, "cannot connect"));
	g_free(err);
}

/* Another session (a child process) holds the complaints table locked for
 * SECONDS from half a second after this returns; its pid. */
static pid_t lock_complaints(int seconds)
{
	pid_t kid = fork();
	assert_true(kid >= 0);
	if (kid == 0) {
		char *sql = g_strdup_printf("BEGIN; LOCK TABLE complaints IN ACCESS EXCLUSIVE MODE;"
		                            " SELECT pg_sleep(%d); COMMIT",
		                            seconds);
		g_free(pgtest_query(sql));
		g_free(sql);
		_exit(0);
	}
	g_usleep(500 * 1000);
	return kid;
}

/* The handle's busy timeout is each connection's statement timeout: a
 * statement waiting for another transaction's lock fails after it. */
static void test_pg_statement_timeout(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	struct store_complaint c = {"slow@c.example", "", "c.example", 1, false, 0, false};
	assert_true(store_complaint_put(fx->st, &c, &err));
	store_set_busy_timeout(fx->st, 300);
	pid_t kid = lock_complaints(2);
	gint64 t0 = g_get_monotonic_time();
	assert_false(store_complaint_put(fx->st, &c, &err));
	gint64 waited = (g_get_monotonic_time() - t0) / 1000;
	assert_non_null(strstr(err, "statement timeout"));
	assert_true(waited < 1500);
	g_clear_pointer(&err, g_free);
	int status;
	waitpid(kid, &status, 0);
	assert_true(store_complaint_put(fx->st, &c, &err));
}

/* A call that waits for a locked table, holding a connection of the pool. */
static gpointer put_blocked(gpointer st)
{
	struct store_complaint c = {"blocked@c.example", "", "c.example", 1, false, 0, false};
	char *err = NULL;
	bool ok = store_complaint_put(st, &c, &err);
	g_free(err);
	return GINT_TO_POINTER(ok);
}

/* How long (ms) a call on an unlocked table takes on ST while another call
 * waits for the locked complaints table. */
static gint64 beside_a_blocked_call(struct store *st)
{
	GThread *blocked = g_thread_new("blocked", put_blocked, st);
	g_usleep(200 * 1000);
	GArray *logins = store_logins_new();
	char *err = NULL;
	gint64 t0 = g_get_monotonic_time();
	bool ok = store_login_list(st, NULL, NULL, logins, &err);
	gint64 took = (g_get_monotonic_time() - t0) / 1000;
	if (!ok)
		fail_msg("%s", err);
	g_array_unref(logins);
	assert_false(GPOINTER_TO_INT(g_thread_join(blocked))); /* its statement timed out */
	return took;
}

/* store_set_pool_size (the daemon's store-pool-size): with one connection
 * a second call waits until the first gives it back; with two it runs at
 * once. */
static void test_pg_pool_size(void **state)
{
	struct fixture *fx = *state;
	store_set_busy_timeout(fx->st, 1000);
	pid_t kid = lock_complaints(4);
	store_set_pool_size(fx->st, 1);
	gint64 one = beside_a_blocked_call(fx->st);
	store_set_pool_size(fx->st, 2);
	gint64 two = beside_a_blocked_call(fx->st);
	int status;
	waitpid(kid, &status, 0);
	if (one < 600 || two > 400)
		fail_msg("a call beside a blocked one took %" G_GINT64_FORMAT
		         " ms with a pool of 1, %" G_GINT64_FORMAT " ms with 2",
		         one, two);
}

/* The server stopped under an open store: each call fails at once with a
 * message, none crashes; started again, the same handle works again. */
static void test_pg_server_stopped(void **state)
{
	struct fixture *fx = *state;
	const char *stop = getenv("APOLOGY_TEST_PG_STOP"), *start = getenv("APOLOGY_TEST_PG_START");
	if (stop == NULL || start == NULL)
		skip();
	char *err = NULL;
	struct store_complaint c = {"up@c.example", "", "c.example", 1, false, 0, false};
	const char *ids[] = {"up@c.example"};
	struct store_complaint out;
	assert_true(store_complaint_put(fx->st, &c, &err));
	assert_int_equal(system(stop), 0);

	assert_false(store_complaint_put(fx->st, &c, &err));
	assert_non_null(strstr(err, fx->location));
	g_clear_pointer(&err, g_free);
	assert_int_equal(store_complaint_find(fx->st, ids, 1, &out, &err), STORE_ERROR);
	assert_non_null(strstr(err, "cannot connect"));
	g_clear_pointer(&err, g_free);
	GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	assert_false(store_quarantine_list(fx->st, &(struct store_query){0}, rows, &err));
	g_clear_pointer(&err, g_free);
	assert_null(store_open(fx->location, &err));
	assert_non_null(strstr(err, "cannot connect"));
	g_clear_pointer(&err, g_free);
	probe_expect(fx->location, false, "cannot connect");

	assert_int_equal(system(start), 0);
	assert_int_equal(store_complaint_find(fx->st, ids, 1, &out, &err), STORE_FOUND);
	store_complaint_clear(&out);
	assert_true(store_quarantine_list(fx->st, &(struct store_query){0}, rows, &err));
	g_ptr_array_unref(rows);
}

/* The crash guard's file is not opened through a symbolic link a member of
 * the store directory's group could plant there: the guard is off, says
 * why, and the file the link names is left as it was. */
static void test_guard_file_not_followed(void **state)
{
	struct fixture *fx = *state;
	char *why = NULL, *got = NULL;
	store_close(fx->st);
	fx->st = NULL;
	char *guard = g_strconcat(fx->path, "-inflight", NULL);
	char *target = g_build_filename(fx->dir, "other-file", NULL);
	assert_true(g_file_set_contents(target, "records\n", -1, NULL));
	g_unlink(guard);
	assert_int_equal(symlink(target, guard), 0);
	reopen(fx);
	assert_int_equal(store_inflight_guard(fx->st, &why), STORE_GUARD_OFF);
	assert_non_null(why);
	g_free(why);
	unsigned crashes = 0;
	char *err = NULL;
	assert_true(store_inflight_begin(fx->st, "fp-link", 100, 0, &crashes, &err));
	assert_true(g_file_get_contents(target, &got, NULL, NULL));
	assert_string_equal(got, "records\n");
	g_free(got);
	g_free(target);
	g_free(guard);
}

/* The store through tests/store/pglose.py (the tests below skip without
 * it); NULL when make pg-test did not start the proxy. */
static struct store *lossy_open(void)
{
	const char *via = getenv("APOLOGY_TEST_PG_LOSE");
	if (via == NULL || getenv("APOLOGY_TEST_PG_LOSE_ARM") == NULL)
		return NULL;
	char *err = NULL;
	struct store *st = store_open(via, &err);
	if (st == NULL)
		fail_msg("open through the proxy: %s", err);
	return st;
}

/* The answer to the next statement through the proxy whose text holds
 * WORDS is lost, after the server ran it. */
static void lose_next(const char *words)
{
	const char *arm = getenv("APOLOGY_TEST_PG_LOSE_ARM");
	char *fired = g_strconcat(arm, ".fired", NULL);
	g_unlink(fired);
	g_free(fired);
	assert_true(g_file_set_contents(arm, words, -1, NULL));
}

/* Whether the answer lose_next() armed for was lost. */
static bool was_lost(void)
{
	char *fired = g_strconcat(getenv("APOLOGY_TEST_PG_LOSE_ARM"), ".fired", NULL);
	bool lost = g_file_test(fired, G_FILE_TEST_EXISTS);
	g_free(fired);
	return lost;
}

/* A state move whose answer is lost with its connection (after the server
 * committed it) is sent again on a new connection, and finds the record
 * moved by itself: success, as it was, and the decision goes on (a second
 * try from "held" would say another decision came first, and the caller
 * would report a failure with the state moved).  A move that finds the
 * record already moved by another call fails, its answer lost or not: a
 * statement sent again is not taken for a success. */
static void test_pg_state_answer_lost(void **state)
{
	struct fixture *fx = *state;
	struct store *lossy = lossy_open();
	if (lossy == NULL)
		skip();
	char *err = NULL;
	struct store_quarantine q = spool_sample("tok-lost-1"), out;
	assert_true(store_quarantine_put(fx->st, &q, NULL, &err));
	lose_next("UPDATE quarantine SET state");
	if (!store_quarantine_set_state(lossy, q.token, "held", "gone", &err))
		fail_msg("the move sent again: %s", err);
	assert_true(was_lost());
	assert_int_equal(store_quarantine_get(fx->st, q.token, &out, &err), STORE_FOUND);
	assert_string_equal(out.state, "gone");
	store_quarantine_clear(&out);
	/* the same move again is a new one: the record is no longer held */
	assert_false(store_quarantine_set_state(lossy, q.token, "held", "gone", &err));
	g_clear_pointer(&err, g_free);

	q.token = "tok-lost-2";
	assert_true(store_quarantine_put(fx->st, &q, NULL, &err));
	assert_true(store_quarantine_set_state(fx->st, q.token, "held", "released", &err));
	lose_next("UPDATE quarantine SET state");
	assert_false(store_quarantine_set_state(lossy, q.token, "held", "discarded", &err));
	assert_non_null(strstr(err, "decided meanwhile"));
	g_clear_pointer(&err, g_free);
	assert_true(was_lost());
	assert_int_equal(store_quarantine_get(fx->st, q.token, &out, &err), STORE_FOUND);
	assert_string_equal(out.state, "released");
	store_quarantine_clear(&out);
	store_close(lossy);
}

/* A held message's record whose answer is lost after the server wrote it
 * is sent again and finds itself: success with its id, the record and its
 * findings once (a second insert would collide with its own token, and the
 * daemon's writer would spill it and every record behind it to the spool
 * with an error).  The same record put again by another call is still
 * refused by its token. */
static void test_pg_hold_put_answer_lost(void **state)
{
	struct fixture *fx = *state;
	struct store *lossy = lossy_open();
	if (lossy == NULL)
		skip();
	char *err = NULL;
	struct store_quarantine q = spool_sample("tok-put-lost"), out;
	gint64 id = 0;
	lose_next("INSERT INTO quarantine (queue_id");
	if (!store_quarantine_put(lossy, &q, &id, &err))
		fail_msg("the put sent again: %s", err);
	assert_true(was_lost());
	assert_int_equal(store_quarantine_get(fx->st, q.token, &out, &err), STORE_FOUND);
	assert_int_equal(out.id, id);
	store_quarantine_clear(&out);
	char *sql = g_strdup_printf(
	    "SELECT count(*) FROM quarantine_findings WHERE quarantine_id = %" G_GINT64_FORMAT, id);
	char *n = pgtest_query(sql);
	assert_string_equal(n, "1");
	g_free(n);
	g_free(sql);
	assert_false(store_quarantine_put(lossy, &q, NULL, &err));
	assert_non_null(err);
	g_clear_pointer(&err, g_free);
	store_close(lossy);
}

/* The one row due at NOW, of ID (0: any), into OUT. */
static void outbox_row(struct store *st, gint64 id, gint64 now, struct store_outbox *out)
{
	char *err = NULL;
	GArray *due = g_array_new(FALSE, TRUE, sizeof(struct store_outbox));
	g_array_set_clear_func(due, (GDestroyNotify)store_outbox_clear);
	assert_true(store_outbox_due(st, now, 0, due, &err));
	assert_int_equal(due->len, 1);
	if (id != 0)
		assert_int_equal(g_array_index(due, struct store_outbox, 0).id, id);
	*out = g_array_index(due, struct store_outbox, 0);
	memset(&g_array_index(due, struct store_outbox, 0), 0, sizeof *out); /* now OUT's */
	g_array_unref(due);
}

/* A notice's claim whose answer is lost is sent again and finds the row
 * claimed by itself: claimed (the worker would count it taken by another,
 * and the notice wait for the claim to run out); another worker that read
 * it due alike still does not get it.  An attempt whose answer is lost is
 * counted once (a second count brings the last attempt and the back-off
 * closer). */
static void test_pg_outbox_answer_lost(void **state)
{
	struct fixture *fx = *state;
	struct store *lossy = lossy_open();
	if (lossy == NULL)
		skip();
	char *err = NULL;
	struct store_outbox o = {.key = "hold:1:mail",
	                         .channel = "mail",
	                         .event = "hold",
	                         .target = "lead@us.example",
	                         .payload = "Subject: held\r\n\r\nheld\r\n",
	                         .created = 100,
	                         .next_try = 100};
	assert_true(store_outbox_put(fx->st, &o, NULL, &err));
	struct store_outbox row;
	outbox_row(fx->st, 0, 100, &row); /* its id is the first */
	gint64 id = row.id;
	store_outbox_clear(&row);

	bool claimed = false;
	lose_next("UPDATE outbox SET next_try");
	assert_true(store_outbox_claim(lossy, id, 100, 200, &claimed, &err));
	assert_true(was_lost());
	assert_true(claimed);
	assert_true(store_outbox_claim(fx->st, id, 100, 200, &claimed, &err));
	assert_false(claimed);

	lose_next("UPDATE outbox SET attempts");
	assert_true(store_outbox_attempt(lossy, id, "pending", 300, "timed out", &err));
	assert_true(was_lost());
	outbox_row(fx->st, id, 300, &row);
	assert_int_equal(row.attempts, 1);
	assert_int_equal(row.next_try, 300);
	assert_string_equal(row.last_error, "timed out");
	store_outbox_clear(&row);
	/* the next attempt is one more */
	assert_true(store_outbox_claim(fx->st, id, 300, 400, &claimed, &err));
	assert_true(claimed);
	assert_true(store_outbox_attempt(fx->st, id, "pending", 500, "timed out again", &err));
	outbox_row(fx->st, id, 500, &row);
	assert_int_equal(row.attempts, 2);
	store_outbox_clear(&row);
	store_close(lossy);
}

/* The actions addressed to a host, each statement's answer lost once after
 * the server ran it, and the statement sent again: a decision's action is
 * added once and its id given (a second insert would collide with itself in
 * the hold's one slot, and the reviewer be told another decision is open
 * while the agent carries this one out); the agent's claim gets the action
 * it claimed (the second try would take the next one, or none, and leave
 * this one claimed by nobody until agent-lease); its result is recorded
 * (the second try would find it closed, as if claimed again); a decision
 * made here has its action dropped (the second try would find none, and a
 * failed MTA step leave the hold out of "held").  Each time, another call
 * doing the same is refused as before. */
static void test_pg_host_action_answer_lost(void **state)
{
	struct fixture *fx = *state;
	struct store *lossy = lossy_open();
	if (lossy == NULL)
		skip();
	char *err = NULL;
	gint64 first = hold_on(fx->st, "tok-ha-1", "mx-b"), second = hold_on(fx->st, "tok-ha-2", "mx-b");
	struct store_host_action a = {.quarantine_id = first,
	                              .host = "mx-b",
	                              .verb = "release",
	                              .reviewer = "alice",
	                              .comment = "fine",
	                              .requested_at = 100};
	gint64 id = 0, id2 = 0;
	lose_next("INSERT INTO host_actions");
	if (!store_host_action_put(lossy, &a, &id, &err))
		fail_msg("the put sent again: %s", err);
	assert_true(was_lost());
	struct store_host_action got = {0};
	assert_int_equal(store_host_action_last(fx->st, first, &got, &err), STORE_FOUND);
	assert_int_equal(got.id, id);
	store_host_action_clear(&got);
	assert_false(store_host_action_put(lossy, &a, NULL, &err)); /* the slot is taken */
	g_clear_pointer(&err, g_free);
	a.quarantine_id = second;
	assert_true(store_host_action_put(fx->st, &a, &id2, &err));

	lose_next("UPDATE host_actions SET claimed_at");
	assert_int_equal(store_host_action_claim(lossy, "mx-b", 200, 60, &got, &err), STORE_FOUND);
	assert_true(was_lost());
	assert_int_equal(got.id, id);
	assert_int_equal(got.claimed_at, 200);
	struct store_host_action next = {0};
	assert_int_equal(store_host_action_claim(fx->st, "mx-b", 200, 60, &next, &err), STORE_FOUND);
	assert_int_equal(next.id, id2);
	store_host_action_clear(&next);
	assert_int_equal(store_host_action_claim(fx->st, "mx-b", 200, 60, &next, &err), STORE_NONE);

	lose_next("UPDATE host_actions SET done_at");
	assert_int_equal(store_host_action_done(lossy, &got, 210, "done", &err), STORE_FOUND);
	assert_true(was_lost());
	assert_int_equal(store_host_action_done(lossy, &got, 211, "done", &err), STORE_NONE);
	store_host_action_clear(&got);
	assert_int_equal(store_host_action_last(fx->st, first, &got, &err), STORE_FOUND);
	assert_int_equal(got.done_at, 210);
	assert_string_equal(got.result, "done");
	store_host_action_clear(&got);

	struct store_host_action local = {.quarantine_id = first,
	                                  .host = "mx-b",
	                                  .verb = "discard",
	                                  .reviewer = "bob",
	                                  .requested_at = 300,
	                                  .claimed_at = 300};
	assert_true(store_host_action_put(fx->st, &local, &local.id, &err));
	lose_next("DELETE FROM host_actions");
	assert_int_equal(store_host_action_drop(lossy, &local, &err), STORE_FOUND);
	assert_true(was_lost());
	assert_int_equal(store_host_action_drop(lossy, &local, &err), STORE_NONE);
	assert_int_equal(store_host_action_last(fx->st, first, &got, &err), STORE_FOUND);
	assert_int_equal(got.id, id); /* the one before, done */
	store_host_action_clear(&got);
	store_close(lossy);
}

/* A handle named for a host (store_set_host, the daemon's host-name)
 * records held mail under that name when the record names none; a record's
 * own host still wins. */
static void test_quarantine_host_of_handle(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;
	struct store_quarantine q = spool_sample("tok-host-1"), out;
	store_set_host(fx->st, "mx-a.example");
	assert_true(store_quarantine_put(fx->st, &q, NULL, &err));
	assert_int_equal(store_quarantine_get(fx->st, q.token, &out, &err), STORE_FOUND);
	assert_string_equal(out.host, "mx-a.example");
	store_quarantine_clear(&out);
	q.token = "tok-host-2";
	q.host = "mx-b.example";
	assert_true(store_quarantine_put(fx->st, &q, NULL, &err));
	assert_int_equal(store_quarantine_get(fx->st, q.token, &out, &err), STORE_FOUND);
	assert_string_equal(out.host, "mx-b.example");
	store_quarantine_clear(&out);
	/* Unnamed again: the system's host name. */
	store_set_host(fx->st, "");
	q.token = "tok-host-3";
	q.host = NULL;
	assert_true(store_quarantine_put(fx->st, &q, NULL, &err));
	assert_int_equal(store_quarantine_get(fx->st, q.token, &out, &err), STORE_FOUND);
	assert_string_equal(out.host, g_get_host_name());
	store_quarantine_clear(&out);
}

/* The cases that run on every backend. */
#define SHARED_CASES(setup)                                                                                  \
	cmocka_unit_test_setup_teardown(test_complaints, setup, teardown),                                   \
	    cmocka_unit_test_setup_teardown(test_history, setup, teardown),                                  \
	    cmocka_unit_test_setup_teardown(test_quarantine, setup, teardown),                               \
	    cmocka_unit_test_setup_teardown(test_quarantine_host_of_handle, setup, teardown),                \
	    cmocka_unit_test_setup_teardown(test_findings_rows, setup, teardown),                            \
	    cmocka_unit_test_setup_teardown(test_findings_migrated, setup, teardown),                        \
	    cmocka_unit_test_setup_teardown(test_complaint_kept, setup, teardown),                           \
	    cmocka_unit_test_setup_teardown(test_complaint_migrated, setup, teardown),                       \
	    cmocka_unit_test_setup_teardown(test_complaint_filled, setup, teardown),                         \
	    cmocka_unit_test_setup_teardown(test_values_are_bound, setup, teardown),                         \
	    cmocka_unit_test_setup_teardown(test_crash_counting, setup, teardown),                           \
	    cmocka_unit_test_setup_teardown(test_crash_counted_once, setup, teardown),                       \
	    cmocka_unit_test_setup_teardown(test_prune, setup, teardown),                                    \
	    cmocka_unit_test_setup_teardown(test_threads, setup, teardown),                                  \
	    cmocka_unit_test_setup_teardown(test_labels, setup, teardown),                                   \
	    cmocka_unit_test_setup_teardown(test_monitor_stats, setup, teardown),                            \
	    cmocka_unit_test_setup_teardown(test_decisions, setup, teardown),                                \
	    cmocka_unit_test_setup_teardown(test_host_actions, setup, teardown),                             \
	    cmocka_unit_test_setup_teardown(test_host_action_local, setup, teardown),                        \
	    cmocka_unit_test_setup_teardown(test_expire_verb_migrated, setup, teardown),                     \
	    cmocka_unit_test_setup_teardown(test_decision_key_migrated, setup, teardown),                    \
	    cmocka_unit_test_setup_teardown(test_state_op_migrated, setup, teardown),                        \
	    cmocka_unit_test_setup_teardown(test_op_ids_migrated, setup, teardown),                          \
	    cmocka_unit_test_setup_teardown(test_unclear_migrated, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_guard_file_not_followed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_schema_and_wal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_helper_trail_indexed, setup, teardown),
	    cmocka_unit_test(test_bad_locations),
	    cmocka_unit_test(test_new_store_mode),
	    SHARED_CASES(setup),
	    cmocka_unit_test_setup_teardown(test_crash_guard_two_processes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_guard_file_allocated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crashes_migrated, setup, teardown),
	    cmocka_unit_test(test_full_disk),
	    cmocka_unit_test_setup_teardown(test_probe, setup, teardown),
	    cmocka_unit_test(test_probe_read_only_and_full),
	    cmocka_unit_test_setup_teardown(test_spool_replay, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool_replay_old_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool_store_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool_aside_retry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool_aside_full_disk, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool_store_down_no_refusal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool_put_first, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool_unfinished_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool_lock_held, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool_lock_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool_aside_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool_aside_drop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool_full_disk, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool_put_first_after_full_disk, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool_append_during_replay, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_writer_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_writer_full_spools, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_writer_locked_spills_in_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_writer_stop_keeps_all, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_journal_recovered_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_journal_kept_when_spool_full, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_journal_read_meanwhile, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_writer_killed_loses_no_hold, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_writer_no_journal_still_stores, setup, teardown),
	};
	int failed = cmocka_run_group_tests_name("store", tests, NULL, NULL);
	if (pgtest_location() == NULL)
		return failed;
	/* The same cases on PostgreSQL, then what only it has. */
	const struct CMUnitTest pg_tests[] = {
	    SHARED_CASES(setup_pg),
	    cmocka_unit_test_setup_teardown(test_pg_mirrors_sqlite, setup_pg, teardown),
	    cmocka_unit_test_setup_teardown(test_pg_two_at_once, setup_pg, teardown),
	    cmocka_unit_test_setup_teardown(test_pg_hosts_keep_their_marks, setup_pg, teardown),
	    cmocka_unit_test_setup_teardown(test_pg_probe, setup_pg, teardown),
	    cmocka_unit_test(test_pg_bad_locations),
	    cmocka_unit_test_setup_teardown(test_pg_statement_timeout, setup_pg, teardown),
	    cmocka_unit_test_setup_teardown(test_pg_pool_size, setup_pg, teardown),
	    cmocka_unit_test_setup_teardown(test_pg_refuses_long_id, setup_pg, teardown),
	    cmocka_unit_test_setup_teardown(test_pg_server_stopped, setup_pg, teardown),
	    cmocka_unit_test_setup_teardown(test_pg_state_answer_lost, setup_pg, teardown),
	    cmocka_unit_test_setup_teardown(test_pg_hold_put_answer_lost, setup_pg, teardown),
	    cmocka_unit_test_setup_teardown(test_pg_outbox_answer_lost, setup_pg, teardown),
	    cmocka_unit_test_setup_teardown(test_pg_host_action_answer_lost, setup_pg, teardown),
	};
	return failed + cmocka_run_group_tests_name("store on postgresql", pg_tests, NULL, NULL);
}
