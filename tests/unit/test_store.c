/*
 * test_store.c - the SQLite store behind store.h: schema and migrations,
 * each record type written and read back, the crash guard across restarts
 * (crash counts, their expiry, a full disk), pruning, and values that would
 * break SQL built from strings.
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
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fulldisk.h"
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
	sqlite3_exec(db,
	             "DROP TABLE IF EXISTS crashes;"
	             "ALTER TABLE inflight ADD COLUMN state TEXT NOT NULL DEFAULT 'running'",
	             NULL, NULL, NULL);
	sqlite3_exec(db, "DROP TABLE IF EXISTS helper_actions", NULL, NULL, NULL);
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
	assert_int_equal(sqlite3_exec(db,
	                              "DROP TABLE crashes; DROP TABLE helper_actions;"
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
	struct store_complaint old = {"old@c.example", "", "c.example", 100, false, 0};
	struct store_complaint fresh = {"new@c.example", "", "c.example", 900, false, 0};
	assert_true(store_complaint_put(fx->st, &old, &err));
	assert_true(store_complaint_put(fx->st, &fresh, &err));
	assert_true(store_apology_put(fx->st, "a@us", "c.example", 100, 1, NULL, &err));
	assert_true(store_apology_put(fx->st, "a@us", "c.example", 900, 1, NULL, &err));
	assert_true(store_inflight_begin(fx->st, "fp-old", 100, 0, &crashes, &err));
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
	    cmocka_unit_test_setup_teardown(test_crash_counting, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crash_counted_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crash_guard_two_processes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_guard_file_allocated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crashes_migrated, setup, teardown),
	    cmocka_unit_test(test_full_disk),
	    cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
