/*
 * store_sqlite.c - the embedded SQLite store (the default backend of
 * include/store.h).  One database file under the daemon's state directory,
 * in WAL mode with a busy timeout, so a review tool may read it while the
 * daemon writes.  The schema is versioned: schema_version holds the number
 * of migrations applied, and each migration below runs in its own
 * transaction.  Every change is one transaction; every value is a bound
 * parameter, never part of the SQL text.
 *
 * One connection per handle, serialised by a mutex: the daemon's writes are
 * a few small rows per message, far below what one connection sustains.
 * The daemon opens two handles, so that a write waiting for another
 * process's lock never holds up a lookup: one for the lookups on the mail
 * path and the crash guard, one for its store writer (daemon/writer.c);
 * it sets both busy timeouts short (store_set_busy_timeout).
 * The crash guard's marks live in a mapped file (crashguard.c); this file
 * keeps what they come to: how often each message crashed a run.  It knows
 * nothing about mail or the milter protocol.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "crashguard.h"
#include "store_priv.h"
#include "thread.h"

/* The severity and the date of the complaint a stored decision names
 * ("complaint":{"severity":..,"sent":..} in the JSON of column findings),
 * NULL where it is not JSON or names none: what complaint_severity and
 * complaint_sent hold for a record that does not keep the daemon's
 * judgement of its complaint (complaint_detected NULL).  Migration 13
 * filled those of the records made before schema 12 with them, and a
 * record written with only its decision gets them the same way.  Part of
 * a released migration: never change them. */
#define DECISION_SEVERITY                                                                                    \
	"CASE WHEN json_valid(findings) THEN json_extract(findings, '$.complaint.severity') END"
#define DECISION_SENT                                                                                        \
	"CASE WHEN json_valid(findings) THEN unixepoch(json_extract(findings, '$.complaint.sent')) END"

/* Table host_actions as migration 11 made it and migration 14 made it again
 * (the columns before and after verb, whose CHECK changed; the indexes).
 * Part of released migrations: never change them. */
#define HOST_ACTIONS_BEFORE_VERB                                                                             \
	"  id INTEGER PRIMARY KEY,"                                                                          \
	"  quarantine_id INTEGER NOT NULL REFERENCES quarantine(id),"                                        \
	"  host TEXT NOT NULL,"
#define HOST_ACTIONS_AFTER_VERB                                                                              \
	"  reviewer TEXT NOT NULL,"                                                                          \
	"  comment TEXT,"                                                                                    \
	"  wrong TEXT,"                                                                                      \
	"  requested_at INTEGER NOT NULL,"                                                                   \
	"  claimed_at INTEGER,"                                                                              \
	"  done_at INTEGER,"                                                                                 \
	"  result TEXT);"
#define HOST_ACTIONS_INDEXES                                                                                 \
	"CREATE INDEX host_actions_waiting ON host_actions(host, claimed_at, id);"                           \
	"CREATE UNIQUE INDEX host_actions_open ON host_actions(quarantine_id) WHERE done_at IS NULL;"

/* Each entry brings the schema from version N to N + 1.  Never edit an
 * entry once released: append a new one. */
static const char *const migrations[] = {
    /* 1: the first schema */
    "CREATE TABLE complaints ("
    "  message_id TEXT PRIMARY KEY,"
    "  client_addr TEXT NOT NULL,"
    "  client_domain TEXT NOT NULL,"
    "  received INTEGER NOT NULL,"
    "  serious INTEGER NOT NULL,"
    "  kinds INTEGER NOT NULL);"
    "CREATE INDEX complaints_received ON complaints(received);"
    "CREATE TABLE apologies ("
    "  id INTEGER PRIMARY KEY,"
    "  sender TEXT NOT NULL,"
    "  client_domain TEXT NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  kinds INTEGER NOT NULL);"
    "CREATE INDEX apologies_pair ON apologies(sender, client_domain, at);"
    "CREATE TABLE quarantine ("
    "  id INTEGER PRIMARY KEY,"
    "  queue_id TEXT NOT NULL,"
    "  message_id TEXT NOT NULL,"
    "  token TEXT NOT NULL UNIQUE,"
    "  sender TEXT NOT NULL,"
    "  recipients TEXT NOT NULL,"
    "  verdict TEXT NOT NULL,"
    "  score INTEGER NOT NULL,"
    "  findings TEXT NOT NULL,"
    "  complaint_ref TEXT,"
    "  raw BLOB,"
    "  created INTEGER NOT NULL,"
    "  state TEXT NOT NULL);"
    "CREATE INDEX quarantine_queue ON quarantine(queue_id, created);"
    "CREATE TABLE reviews ("
    "  id INTEGER PRIMARY KEY,"
    "  quarantine_id INTEGER NOT NULL REFERENCES quarantine(id),"
    "  reviewer TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  note TEXT,"
    "  at INTEGER NOT NULL);"
    "CREATE TABLE inflight ("
    "  fingerprint TEXT PRIMARY KEY,"
    "  started INTEGER NOT NULL,"
    "  state TEXT NOT NULL);",
    /* 2: find held mail by Message-ID and by state (review lists) */
    "CREATE INDEX quarantine_message_id ON quarantine(message_id);"
    "CREATE INDEX quarantine_state ON quarantine(state, created);",
    /* 3: which complaint an apology answered; one record per complaint */
    "ALTER TABLE apologies ADD COLUMN complaint_ref TEXT;"
    "CREATE UNIQUE INDEX apologies_thread ON apologies(sender, client_domain, complaint_ref);",
    /* 4: review decisions by record, and the notification outbox */
    "CREATE INDEX reviews_quarantine ON reviews(quarantine_id, at);"
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY,"
    "  key TEXT NOT NULL UNIQUE,"
    "  quarantine_id INTEGER REFERENCES quarantine(id),"
    "  channel TEXT NOT NULL,"
    "  event TEXT NOT NULL,"
    "  target TEXT NOT NULL,"
    "  payload TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_try INTEGER NOT NULL,"
    "  last_error TEXT,"
    "  state TEXT NOT NULL DEFAULT 'pending');"
    "CREATE INDEX outbox_due ON outbox(state, next_try);",
    /* 5: crashes are counted per fingerprint, apart from the marks of
     * messages in flight; a message recorded as crashed before has one */
    "CREATE TABLE crashes ("
    "  fingerprint TEXT PRIMARY KEY,"
    "  count INTEGER NOT NULL,"
    "  last_crash INTEGER NOT NULL);"
    "CREATE INDEX crashes_last ON crashes(last_crash);"
    "INSERT INTO crashes (fingerprint, count, last_crash)"
    "  SELECT fingerprint, 1, started FROM inflight WHERE state = 'crashed';"
    "DELETE FROM inflight WHERE state = 'crashed';"
    "ALTER TABLE inflight DROP COLUMN state;",
    /* 6: failed log-ins of the review page, per user name and client
     * address, and per address alone (name '') */
    "CREATE TABLE login_failures ("
    "  name TEXT NOT NULL,"
    "  address TEXT NOT NULL,"
    "  failures INTEGER NOT NULL,"
    "  last INTEGER NOT NULL,"
    "  locked_until INTEGER NOT NULL,"
    "  PRIMARY KEY (address, name));",
    /* 7: the audit trail of the root helper apology-postsuper (written by
     * the helper itself, milter/postsuper/helper_store.c): every request,
     * refused or carried out, also when it was called directly */
    "CREATE TABLE helper_actions ("
    "  id INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  caller TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  queue_id TEXT NOT NULL,"
    "  token TEXT NOT NULL,"
    "  postfix_config TEXT NOT NULL,"
    "  quarantine_id INTEGER,"
    "  outcome TEXT NOT NULL,"
    "  detail TEXT NOT NULL);"
    "CREATE INDEX helper_actions_queue ON helper_actions(queue_id, at);",
    /* 8: reviewers' decisions as labels: per decision on a held reply, each
     * rule of its findings judged right or wrong (holds/labels.c) */
    "CREATE TABLE review_labels ("
    "  id INTEGER PRIMARY KEY,"
    "  quarantine_id INTEGER NOT NULL REFERENCES quarantine(id),"
    "  rule TEXT NOT NULL,"
    "  verdict TEXT NOT NULL CHECK (verdict IN ('right', 'wrong')),"
    "  action TEXT NOT NULL,"
    "  reviewer TEXT NOT NULL,"
    "  excerpt TEXT,"
    "  at INTEGER NOT NULL,"
    "  UNIQUE (quarantine_id, rule));"
    "CREATE INDEX review_labels_at ON review_labels(at);"
    "CREATE INDEX review_labels_rule ON review_labels(rule, at);"
    /* and a summary of each reply judged advise or hold (the daemon's
     * writer), for counting what was advised */
    "CREATE TABLE decisions ("
    "  id INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  sender TEXT NOT NULL,"
    "  client_domain TEXT NOT NULL,"
    "  verdict TEXT NOT NULL,"
    "  rules TEXT NOT NULL);"
    "CREATE INDEX decisions_at ON decisions(at);",
    /* 9: the mail host that holds each held message (several hosts may
     * share one PostgreSQL store: store_pg.c mirrors this list) */
    "ALTER TABLE quarantine ADD COLUMN host TEXT;",
    /* 10: a held reply's findings as rows, and its new text (the text the
     * findings' spans point into), so that readers need neither the JSON
     * nor the core; the findings of records made before are converted */
    "CREATE TABLE quarantine_findings ("
    "  quarantine_id INTEGER NOT NULL REFERENCES quarantine(id),"
    "  ordinal INTEGER NOT NULL,"
    "  rule TEXT NOT NULL,"
    "  severity TEXT NOT NULL,"
    "  span_start INTEGER NOT NULL,"
    "  span_end INTEGER NOT NULL,"
    "  line INTEGER NOT NULL,"
    "  excerpt TEXT,"
    "  words TEXT,"
    "  principle TEXT,"
    "  advice TEXT,"
    "  PRIMARY KEY (quarantine_id, ordinal));"
    "CREATE INDEX quarantine_findings_rule ON quarantine_findings(rule, quarantine_id);"
    "ALTER TABLE quarantine ADD COLUMN new_text TEXT;"
    "INSERT INTO quarantine_findings SELECT q.id, f.key,"
    "  coalesce(json_extract(f.value, '$.rule'), ''), coalesce(json_extract(f.value, '$.severity'), ''),"
    "  coalesce(json_extract(f.value, '$.start'), 0), coalesce(json_extract(f.value, '$.end'), 0),"
    "  coalesce(json_extract(f.value, '$.line'), 0), json_extract(f.value, '$.excerpt'),"
    "  json_extract(f.value, '$.words'), json_extract(f.value, '$.principle'),"
    "  json_extract(f.value, '$.advice')"
    "  FROM quarantine q, json_each(CASE WHEN json_valid(q.findings) THEN CASE WHEN"
    "  json_type(q.findings, '$.findings') = 'array' THEN q.findings END END, '$.findings') f;",
    /* 11: reviewers' decisions about a hold on another mail host, waiting
     * for that host's agent (docs/postgresql.md); at most one waits per
     * hold */
    "CREATE TABLE host_actions (" HOST_ACTIONS_BEFORE_VERB
    "  verb TEXT NOT NULL CHECK (verb IN ('release', 'return', 'discard'))," HOST_ACTIONS_AFTER_VERB
        HOST_ACTIONS_INDEXES,
    /* 12: what a held reply's record keeps of the complaint it answers
     * (struct decision's complaint, and the quoted history its thread's
     * classification read, bounded), so that readers need neither split
     * the copy nor a policy; NULL in the records made before */
    "ALTER TABLE quarantine ADD COLUMN complaint_detected INTEGER;"
    "ALTER TABLE quarantine ADD COLUMN complaint_severity TEXT;"
    "ALTER TABLE quarantine ADD COLUMN complaint_clear INTEGER;"
    "ALTER TABLE quarantine ADD COLUMN complaint_sent INTEGER;"
    "ALTER TABLE quarantine ADD COLUMN complaint_text TEXT;",
    /* 13: the complaint's severity and date in those columns also for the
     * records made before 12, from their stored decisions (what readers
     * took from the JSON until then), so that readers read the columns
     * alone; complaint_detected stays NULL: the daemon's judgement (clear
     * enough to hold, the quoted text) was not recorded */
    "UPDATE quarantine SET complaint_severity = " DECISION_SEVERITY ", complaint_sent = " DECISION_SENT
    "  WHERE complaint_detected IS NULL"
    "  AND CASE WHEN json_valid(findings) THEN json_type(findings, '$.complaint') END = 'object';",
    /* 14: verb 'expire' in host_actions, so that an expiry's open action
     * names what it is (an expiry left running is finished as one, not as
     * a release or return of a record already expired); SQLite cannot
     * change a CHECK, so the table is made again, its rows and ids kept,
     * and its indexes with it */
    "CREATE TABLE host_actions_14 (" HOST_ACTIONS_BEFORE_VERB
    "  verb TEXT NOT NULL CHECK (verb IN ('release', 'return', 'discard', 'expire'))," HOST_ACTIONS_AFTER_VERB
    "INSERT INTO host_actions_14 (id, quarantine_id, host, verb, reviewer, comment, wrong, requested_at,"
    "  claimed_at, done_at, result) SELECT id, quarantine_id, host, verb, reviewer, comment, wrong,"
    "  requested_at, claimed_at, done_at, result FROM host_actions;"
    "DROP TABLE host_actions;"
    "ALTER TABLE host_actions_14 RENAME TO host_actions;" HOST_ACTIONS_INDEXES,
    /* 15: the helper's audit trail by hold: whether the helper has acted on
     * a record (store_helper_started(), the helper's own check before it
     * acts) read every row of the trail without it */
    "CREATE INDEX helper_actions_hold ON helper_actions(quarantine_id, at);",
    /* 16: a complaint stored within models.inbound-margin short of the
     * gate's bar is unclear (only as clear as the thread's words make
     * it); those stored before were clear */
    "ALTER TABLE complaints ADD COLUMN unclear INTEGER NOT NULL DEFAULT 0;",
    /* 17: each decision's own key, so that one written again (a replay of
     * the spool after a death) is recorded once; NULL in those before */
    "ALTER TABLE decisions ADD COLUMN key TEXT;"
    "CREATE UNIQUE INDEX decisions_key ON decisions(key);",
    /* 18: the id of each record's last state move, which PostgreSQL needs
     * (a move sent again after a lost answer finds its own); kept here too,
     * so that both schemas stay alike (NULL in records moved before) */
    "ALTER TABLE quarantine ADD COLUMN state_op TEXT;",
    /* 19: the ids of a notice's last claim and last attempt, and of an
     * action's put and last claim, which PostgreSQL needs (as for 18);
     * kept here too, so that both schemas stay alike (NULL here) */
    "ALTER TABLE outbox ADD COLUMN claim_op TEXT;"
    "ALTER TABLE outbox ADD COLUMN attempt_op TEXT;"
    "ALTER TABLE host_actions ADD COLUMN put_op TEXT;"
    "ALTER TABLE host_actions ADD COLUMN claim_op TEXT;",
};

#define SCHEMA_VERSION ((int)G_N_ELEMENTS(migrations))

enum stmt {
	ST_COMPLAINT_PUT,
	ST_COMPLAINT_GET,
	ST_APOLOGY_PUT,
	ST_HISTORY_GET,
	ST_QUARANTINE_PUT,
	ST_FINDINGS_PUT,
	ST_FINDING_PUT,
	ST_QUARANTINE_BY_TOKEN,
	ST_QUARANTINE_BY_QUEUE_ID,
	ST_QUARANTINE_STATE,
	ST_REVIEW_PUT,
	ST_INFLIGHT_PUT,
	ST_INFLIGHT_END,
	ST_INFLIGHT_RECOVER,
	ST_INFLIGHT_CLEAR,
	ST_CRASHES_LIST,
	ST_CRASHES_EXPIRE,
	ST_PRUNE_COMPLAINTS,
	ST_PRUNE_APOLOGIES,
	ST_PRUNE_INFLIGHT,
	ST_PRUNE_DECISIONS,
	ST_PRUNE_SAMPLE_FINDINGS,
	ST_PRUNE_SAMPLES,
	ST_DECISION_PUT,
	ST_COUNT
};

#define QUARANTINE_COLUMNS                                                                                   \
	"id, queue_id, message_id, token, sender, recipients, verdict, score, findings, "                    \
	"complaint_ref, raw, created, state, host, new_text, " QUARANTINE_COMPLAINT_COLUMNS

/* What a record keeps of the complaint (schema 12), columns 15 to 19. */
#define QUARANTINE_COMPLAINT_COLUMNS                                                                         \
	"complaint_detected, complaint_severity, complaint_clear, complaint_sent, complaint_text"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_COMPLAINT_PUT] = "INSERT OR REPLACE INTO complaints "
                         "(message_id, client_addr, client_domain, received, serious, kinds, unclear) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_COMPLAINT_GET] = "SELECT message_id, client_addr, client_domain, received, serious, kinds, unclear "
                         "FROM complaints WHERE message_id = ?1",
    /* Each record is taken once, so that writing it again (a replay of the
     * spool after a death) changes nothing: an apology answering a known
     * complaint by the unique index on its thread, one answering none by
     * being the same in the same second (one occasion to the history), a
     * decision by its key (two alike in one second are two replies). */
    [ST_APOLOGY_PUT] = "INSERT INTO apologies (sender, client_domain, at, kinds, complaint_ref) "
                       "SELECT ?1, ?2, ?3, ?4, ?5 WHERE ?5 IS NOT NULL OR NOT EXISTS "
                       "(SELECT 1 FROM apologies WHERE sender = ?1 AND client_domain = ?2 AND at = ?3 "
                       "AND kinds = ?4 AND complaint_ref IS NULL) ON CONFLICT DO NOTHING",
    [ST_HISTORY_GET] = "SELECT at, kinds FROM apologies "
                       "WHERE sender = ?1 AND client_domain = ?2 AND at >= ?3 AND (?6 = 0 OR at < ?6) "
                       "AND (?5 IS NULL OR complaint_ref IS NULL OR complaint_ref <> ?5) "
                       "ORDER BY at DESC LIMIT ?4",
    /* A record whose complaint is not recorded (?15 NULL) gets the
     * severity and the date its decision ?8 names, as migration 13 gave
     * those made before schema 12. */
    [ST_QUARANTINE_PUT] = "INSERT INTO quarantine (queue_id, message_id, token, sender, "
                          "recipients, verdict, score, findings, complaint_ref, raw, created, "
                          "state, host, new_text, " QUARANTINE_COMPLAINT_COLUMNS ") SELECT ?1, ?2, ?3, "
                          "?4, ?5, ?6, ?7, findings, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
                          "CASE WHEN ?15 IS NULL THEN " DECISION_SEVERITY " ELSE ?16 END, ?17, "
                          "CASE WHEN ?15 IS NULL THEN " DECISION_SENT " ELSE ?18 END, ?19 "
                          "FROM (SELECT ?8 AS findings)",
    /* The record ?1's findings as rows, from its decision ?2 as JSON
     * (render_decision_json()): in the decision's order, none when it is
     * not a decision.  For records written back from the spool. */
    [ST_FINDINGS_PUT] =
        "INSERT INTO quarantine_findings (quarantine_id, ordinal, rule, severity, span_start, span_end,"
        " line, excerpt, words, principle, advice) SELECT ?1, key,"
        " coalesce(json_extract(value, '$.rule'), ''), coalesce(json_extract(value, '$.severity'), ''),"
        " coalesce(json_extract(value, '$.start'), 0), coalesce(json_extract(value, '$.end'), 0),"
        " coalesce(json_extract(value, '$.line'), 0), json_extract(value, '$.excerpt'),"
        " json_extract(value, '$.words'), json_extract(value, '$.principle'),"
        " json_extract(value, '$.advice') FROM json_each(CASE WHEN json_valid(?2) THEN"
        " CASE WHEN json_type(?2, '$.findings') = 'array' THEN ?2 END END, '$.findings')",
    [ST_FINDING_PUT] = "INSERT INTO quarantine_findings (quarantine_id, ordinal, rule, severity, span_start, "
                       "span_end, line, excerpt, words, principle, advice) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [ST_QUARANTINE_BY_TOKEN] = "SELECT " QUARANTINE_COLUMNS " FROM quarantine WHERE token = ?1",
    [ST_QUARANTINE_BY_QUEUE_ID] = "SELECT " QUARANTINE_COLUMNS " FROM quarantine "
                                  "WHERE queue_id = ?1 ORDER BY created DESC, id DESC LIMIT 1",
    [ST_QUARANTINE_STATE] = "UPDATE quarantine SET state = ?3 WHERE token = ?1 AND state = ?2",
    [ST_REVIEW_PUT] = "INSERT INTO reviews (quarantine_id, reviewer, action, note, at) "
                      "VALUES (?1, ?2, ?3, ?4, ?5)",
    /* Marks of messages in flight when the guard's file is another
     * process's (or full), and, at start-up, the marks a dead run left
     * there: one row per message however many copies were in flight. */
    [ST_INFLIGHT_PUT] = "INSERT INTO inflight (fingerprint, started) VALUES (?1, ?2) "
                        "ON CONFLICT (fingerprint) DO UPDATE SET started = max(started, excluded.started)",
    [ST_INFLIGHT_END] = "DELETE FROM inflight WHERE fingerprint = ?1",
    /* Each message in flight at a death is one more crash of it. */
    [ST_INFLIGHT_RECOVER] = "INSERT INTO crashes (fingerprint, count, last_crash) "
                            "SELECT fingerprint, 1, started FROM inflight WHERE true "
                            "ON CONFLICT (fingerprint) DO UPDATE SET count = count + 1, "
                            "last_crash = max(last_crash, excluded.last_crash)",
    [ST_INFLIGHT_CLEAR] = "DELETE FROM inflight",
    [ST_CRASHES_LIST] = "SELECT fingerprint, count, last_crash FROM crashes",
    [ST_CRASHES_EXPIRE] = "DELETE FROM crashes WHERE last_crash < ?1",
    [ST_PRUNE_COMPLAINTS] = "DELETE FROM complaints WHERE received < ?1",
    [ST_PRUNE_APOLOGIES] = "DELETE FROM apologies WHERE at < ?1",
    [ST_PRUNE_INFLIGHT] = "DELETE FROM inflight WHERE started < ?1",
    [ST_PRUNE_DECISIONS] = "DELETE FROM decisions WHERE at < ?1",
    /* near misses kept for review that nobody judged: nothing refers to
     * them but their findings' rows (a failed judgement may have left an
     * audit entry: such a record stays) */
    [ST_PRUNE_SAMPLE_FINDINGS] = "DELETE FROM quarantine_findings WHERE quarantine_id IN"
                                 " (SELECT id FROM quarantine WHERE " UNJUDGED_SAMPLE("?1") ")",
    [ST_PRUNE_SAMPLES] = "DELETE FROM quarantine WHERE " UNJUDGED_SAMPLE("?1"),
    [ST_DECISION_PUT] = "INSERT INTO decisions (at, sender, client_domain, verdict, rules, key) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
};

struct sqlite_store {
	struct store base; /* first member: a struct store * is a struct sqlite_store * */
	sqlite3 *db;
	char *path;
	GMutex lock;
	sqlite3_stmt *stmt[ST_COUNT];
	int version;
	gsize guard_set_up;       /* g_once_init: the guard below is there */
	struct crashguard *guard; /* the crash guard's file of marks */
};

static struct sqlite_store *handle(struct store *st)
{
	return (struct sqlite_store *)st;
}

/* Note whether the store's last error was a refusal of the data. */
static void note_failure(struct sqlite_store *s)
{
	int c = sqlite3_errcode(s->db) & 0xff;
	store_note_failure(c == SQLITE_CONSTRAINT || c == SQLITE_TOOBIG);
}

static bool fail(struct sqlite_store *s, const char *what, char **err)
{
	note_failure(s);
	*err = g_strdup_printf("store %s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
	return false;
}

static bool exec(struct sqlite_store *s, const char *sql, char **err)
{
	char *msg = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return true;
	note_failure(s);
	*err = g_strdup_printf("store %s: %s", s->path, msg ? msg : sqlite3_errmsg(s->db));
	sqlite3_free(msg);
	return false;
}

/* Returns the prepared statement ID, reset and with its bindings cleared. */
static sqlite3_stmt *stmt(struct sqlite_store *s, enum stmt id)
{
	sqlite3_stmt *q = s->stmt[id];
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return q;
}

static void bind_text(sqlite3_stmt *q, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(q, i);
	else
		sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
}

static char *column_text(sqlite3_stmt *q, int i)
{
	const unsigned char *v = sqlite3_column_text(q, i);
	return v ? g_strdup((const char *)v) : NULL;
}

/* Run a statement that returns no rows as one transaction (autocommit). */
static bool run(struct sqlite_store *s, sqlite3_stmt *q, const char *what, char **err)
{
	int rc = sqlite3_step(q);
	bool ok = rc == SQLITE_DONE || rc == SQLITE_ROW;
	if (!ok)
		fail(s, what, err);
	sqlite3_reset(q);
	return ok;
}

/* ---- opening and migrations ------------------------------------------- */

static int read_version(struct sqlite_store *s, char **err)
{
	sqlite3_stmt *q = NULL;
	int version = -1;
	if (!exec(s, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", err))
		return -1;
	if (sqlite3_prepare_v2(s->db, "SELECT version FROM schema_version", -1, &q, NULL) != SQLITE_OK) {
		fail(s, "reading the schema version", err);
		return -1;
	}
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		version = sqlite3_column_int(q, 0);
	else if (rc == SQLITE_DONE)
		version = 0;
	else
		fail(s, "reading the schema version", err);
	sqlite3_finalize(q);
	return version;
}

static bool migrate_one(struct sqlite_store *s, int to, char **err)
{
	sqlite3_stmt *q = NULL;
	if (!exec(s, "BEGIN IMMEDIATE", err))
		return false;
	if (!exec(s, migrations[to - 1], err))
		goto rollback;
	const char *sql = to == 1 ? "INSERT INTO schema_version (version) VALUES (?1)"
	                          : "UPDATE schema_version SET version = ?1";
	if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK) {
		fail(s, "recording the schema version", err);
		goto rollback;
	}
	sqlite3_bind_int(q, 1, to);
	bool ok = sqlite3_step(q) == SQLITE_DONE;
	if (!ok)
		fail(s, "recording the schema version", err);
	sqlite3_finalize(q);
	if (ok && exec(s, "COMMIT", err))
		return true;
rollback:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return false;
}

static bool migrate(struct sqlite_store *s, char **err)
{
	int version = read_version(s, err);
	if (version < 0)
		return false;
	if (version > SCHEMA_VERSION) {
		*err = g_strdup_printf("store %s: schema version %d is newer than this program's %d", s->path,
		                       version, SCHEMA_VERSION);
		return false;
	}
	for (int v = version + 1; v <= SCHEMA_VERSION; v++)
		if (!migrate_one(s, v, err))
			return false;
	s->version = SCHEMA_VERSION;
	return true;
}

static void sqlite_close(struct store *st)
{
	struct sqlite_store *s = handle(st);
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	g_mutex_clear(&s->lock);
	crashguard_close(s->guard);
	g_free(s->path);
	g_free(s);
}

/* Make the store's file when there is none, before SQLite does.  SQLite
 * makes a new database file 0644 less the umask and gives its -wal, -shm
 * and -journal files the database file's mode: under the daemon's
 * UMask=0007 that is 0640 for all of them, and a review tool in the
 * store's group that opens the store first would make -wal and -shm files
 * the daemon cannot write (or the other way round).  Made here 0666 less
 * the umask, the store is 0660 under UMask=0007 and, as SQLite would have
 * it, 0644 under 0022.  An existing file (or a symbolic link: O_EXCL) is
 * left as it is; so is a name SQLite does not take for a file.  A failure
 * is SQLite's to report when it opens the file. */
static void make_store_file(const char *path)
{
	if (*path == '\0' || strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
		return;
	int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
	if (fd >= 0)
		close(fd);
}

static struct store *sqlite_open(const char *path, char **err)
{
	struct sqlite_store *s = g_new0(struct sqlite_store, 1);
	s->base.ops = &store_sqlite_ops;
	s->path = g_strdup(path);
	g_mutex_init(&s->lock);

	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
	make_store_file(path);
	if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
		fail(s, "cannot open", err);
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, 5000);
	if (!exec(s,
	          "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
	          "PRAGMA foreign_keys = ON",
	          err))
		goto fail;
	if (!migrate(s, err))
		goto fail;
	for (int i = 0; i < ST_COUNT; i++)
		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i],
		                       NULL) != SQLITE_OK) {
			fail(s, "preparing a statement", err);
			goto fail;
		}
	return &s->base;
fail:
	sqlite_close(&s->base);
	return NULL;
}

static int sqlite_schema_version(struct store *st)
{
	return handle(st)->version;
}

static void sqlite_set_busy_timeout(struct store *st, int milliseconds)
{
	struct sqlite_store *s = handle(st);
	g_mutex_lock(&s->lock);
	sqlite3_busy_timeout(s->db, milliseconds);
	g_mutex_unlock(&s->lock);
}

static bool sqlite_read_only(struct store *st)
{
	return sqlite3_db_readonly(handle(st)->db, "main") == 1;
}

/* The schema version of the file at PATH, read so that nothing is created:
 * when there is no -wal file (no connection has it open, and the last one
 * wrote everything back) the main file alone holds it, read in SQLite's
 * immutable mode, with no lock, journal or -shm file; otherwise a
 * read-only connection reads it through the -wal and -shm files the
 * daemon made.  -1 with *ERR when the file is no store. */
static int probe_version(const char *path, char **err)
{
	char *wal = g_strconcat(path, "-wal", NULL);
	char *escaped = g_uri_escape_string(path, "/", TRUE);
	char *uri = g_strconcat("file:", escaped, "?immutable=1", NULL);
	bool in_use = g_file_test(wal, G_FILE_TEST_EXISTS);
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int version = -1;
	int rc = in_use ? sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL)
	                : sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &q, NULL);
	if (rc == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
		version = 0;
	sqlite3_finalize(q);
	q = NULL;
	if (version == 0 &&
	    sqlite3_prepare_v2(db, "SELECT version FROM schema_version", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		version = sqlite3_column_int(q, 0);
	if (version < 0)
		*err = g_strdup_printf("store %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
	sqlite3_finalize(q);
	sqlite3_close(db);
	g_free(uri);
	g_free(escaped);
	g_free(wal);
	return version;
}

static bool sqlite_probe(const char *path, char **detail, char **err)
{
	char *dir = g_path_get_dirname(path);
	struct stat sb;
	struct statvfs vfs;
	bool exists = stat(path, &sb) == 0;
	int version = -1;
	if (!exists && errno != ENOENT)
		*err = g_strdup_printf("store %s: %s", path, g_strerror(errno));
	else if (access(dir, W_OK) != 0)
		*err = g_strdup_printf("store %s: cannot write in %s (SQLite makes its -wal and -shm files "
		                       "there): %s",
		                       path, dir, g_strerror(errno));
	else if (exists && access(path, R_OK | W_OK) != 0)
		*err = g_strdup_printf("store %s: %s", path, g_strerror(errno));
	else if (statvfs(dir, &vfs) == 0 && vfs.f_bavail == 0)
		*err = g_strdup_printf("store %s: the file system is full", path);
	else if (!exists)
		*detail = g_strdup("not there yet: made at start");
	else if ((version = probe_version(path, err)) > SCHEMA_VERSION)
		*err = g_strdup_printf("store %s: schema version %d is newer than this program's %d", path,
		                       version, SCHEMA_VERSION);
	else if (version >= 0)
		*detail = g_strdup_printf("schema %d", version);
	g_free(dir);
	return *err == NULL;
}

/* ---- complaints and history ------------------------------------------- */

static bool sqlite_complaint_put(struct store *st, const struct store_complaint *c, char **err)
{
	struct sqlite_store *s = handle(st);
	g_mutex_lock(&s->lock);
	sqlite3_stmt *q = stmt(s, ST_COMPLAINT_PUT);
	bind_text(q, 1, c->message_id);
	bind_text(q, 2, c->client_addr ? c->client_addr : "");
	bind_text(q, 3, c->client_domain ? c->client_domain : "");
	sqlite3_bind_int64(q, 4, c->received);
	sqlite3_bind_int(q, 5, c->serious);
	sqlite3_bind_int64(q, 6, c->kinds);
	sqlite3_bind_int(q, 7, c->unclear);
	bool ok = run(s, q, "recording a complaint", err);
	g_mutex_unlock(&s->lock);
	return ok;
}

static enum store_status sqlite_complaint_find(struct store *st, const char *const *ids, size_t n_ids,
                                               struct store_complaint *out, char **err)
{
	struct sqlite_store *s = handle(st);
	enum store_status status = STORE_NONE;
	memset(out, 0, sizeof *out);
	g_mutex_lock(&s->lock);
	for (size_t i = 0; i < n_ids && status != STORE_ERROR; i++) {
		sqlite3_stmt *q = stmt(s, ST_COMPLAINT_GET);
		bind_text(q, 1, ids[i]);
		int rc = sqlite3_step(q);
		if (rc == SQLITE_ROW) {
			gint64 received = sqlite3_column_int64(q, 3);
			if (store_complaint_first(status == STORE_FOUND, out->unclear, out->received,
			                          sqlite3_column_int(q, 6) != 0, received)) {
				store_complaint_clear(out);
				out->message_id = column_text(q, 0);
				out->client_addr = column_text(q, 1);
				out->client_domain = column_text(q, 2);
				out->received = received;
				out->serious = sqlite3_column_int(q, 4) != 0;
				out->kinds = (unsigned)sqlite3_column_int64(q, 5);
				out->unclear = sqlite3_column_int(q, 6) != 0;
				status = STORE_FOUND;
			}
		} else if (rc != SQLITE_DONE) {
			store_complaint_clear(out);
			fail(s, "looking up a complaint", err);
			status = STORE_ERROR;
		}
		sqlite3_reset(q);
	}
	g_mutex_unlock(&s->lock);
	return status;
}

static bool sqlite_apology_put(struct store *st, const char *sender, const char *client_domain, gint64 when,
                               unsigned kinds, const char *complaint_ref, char **err)
{
	struct sqlite_store *s = handle(st);
	g_mutex_lock(&s->lock);
	sqlite3_stmt *q = stmt(s, ST_APOLOGY_PUT);
	bind_text(q, 1, sender);
	bind_text(q, 2, client_domain);
	sqlite3_bind_int64(q, 3, when);
	sqlite3_bind_int64(q, 4, kinds);
	bind_text(q, 5, complaint_ref);
	bool ok = run(s, q, "recording an apology", err);
	g_mutex_unlock(&s->lock);
	return ok;
}

static bool sqlite_history_get(struct store *st, const char *sender, const char *client_domain, gint64 since,
                               gint64 before, const char *exclude_ref, unsigned max, GArray *out, char **err)
{
	struct sqlite_store *s = handle(st);
	bool ok = true;
	g_mutex_lock(&s->lock);
	sqlite3_stmt *q = stmt(s, ST_HISTORY_GET);
	bind_text(q, 1, sender);
	bind_text(q, 2, client_domain);
	sqlite3_bind_int64(q, 3, since);
	sqlite3_bind_int64(q, 4, max);
	bind_text(q, 5, exclude_ref);
	sqlite3_bind_int64(q, 6, before);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct history_entry h = {
		    .when = sqlite3_column_int64(q, 0),
		    .kinds = (unsigned)sqlite3_column_int64(q, 1),
		};
		g_array_append_val(out, h);
	}
	if (rc != SQLITE_DONE)
		ok = fail(s, "reading the apology history", err);
	sqlite3_reset(q);
	g_mutex_unlock(&s->lock);
	return ok;
}

/* ---- quarantine and reviews ------------------------------------------- */

/* Write FINDINGS (struct store_finding) as the rows of record ID. */
static bool put_finding_rows(struct sqlite_store *s, gint64 id, const GArray *findings, char **err)
{
	bool ok = true;
	for (guint i = 0; ok && i < findings->len; i++) {
		const struct store_finding *f = &g_array_index(findings, struct store_finding, i);
		sqlite3_stmt *q = stmt(s, ST_FINDING_PUT);
		sqlite3_bind_int64(q, 1, id);
		sqlite3_bind_int64(q, 2, i);
		bind_text(q, 3, f->rule ? f->rule : "");
		bind_text(q, 4, f->severity ? f->severity : "");
		sqlite3_bind_int64(q, 5, (gint64)f->start);
		sqlite3_bind_int64(q, 6, (gint64)f->end);
		sqlite3_bind_int64(q, 7, f->line);
		bind_text(q, 8, f->excerpt);
		bind_text(q, 9, f->words);
		bind_text(q, 10, f->principle);
		bind_text(q, 11, f->advice);
		ok = run(s, q, "recording the findings of a held message", err);
	}
	return ok;
}

/* R's complaint as parameters AT to AT + 4 (QUARANTINE_COMPLAINT_COLUMNS):
 * all NULL when it was not recorded (ST_QUARANTINE_PUT then takes the
 * severity and the date from the decision). */
static void bind_complaint(sqlite3_stmt *q, int at, const struct store_quarantine *r)
{
	if (!r->complaint_recorded)
		return; /* a statement's parameters are NULL until bound */
	sqlite3_bind_int(q, at, r->complaint_detected);
	bind_text(q, at + 1, r->complaint_severity);
	sqlite3_bind_int(q, at + 2, r->complaint_clear);
	if (r->complaint_sent >= 0)
		sqlite3_bind_int64(q, at + 3, r->complaint_sent);
	bind_text(q, at + 4, r->complaint_text);
}

/* The record and its findings' rows, in one transaction. */
static bool sqlite_quarantine_put(struct store *st, const struct store_quarantine *r, gint64 *id, char **err)
{
	struct sqlite_store *s = handle(st);
	g_mutex_lock(&s->lock);
	if (!exec(s, "BEGIN IMMEDIATE", err)) {
		g_mutex_unlock(&s->lock);
		return false;
	}
	sqlite3_stmt *q = stmt(s, ST_QUARANTINE_PUT);
	bind_text(q, 1, r->queue_id ? r->queue_id : "");
	bind_text(q, 2, r->message_id ? r->message_id : "");
	bind_text(q, 3, r->token);
	bind_text(q, 4, r->sender ? r->sender : "");
	bind_text(q, 5, r->recipients ? r->recipients : "");
	bind_text(q, 6, r->verdict);
	sqlite3_bind_int(q, 7, r->score);
	bind_text(q, 8, r->findings_json ? r->findings_json : "[]");
	bind_text(q, 9, r->complaint_ref);
	if (r->raw != NULL)
		sqlite3_bind_blob64(q, 10, r->raw, r->raw_len, SQLITE_STATIC);
	sqlite3_bind_int64(q, 11, r->created);
	bind_text(q, 12, r->state ? r->state : "held");
	bind_text(q, 13, r->host ? r->host : store_host(&s->base));
	bind_text(q, 14, r->new_text);
	bind_complaint(q, 15, r);
	bool ok = run(s, q, "recording a held message", err);
	gint64 rowid = sqlite3_last_insert_rowid(s->db);
	if (ok && r->findings != NULL) {
		ok = put_finding_rows(s, rowid, r->findings, err);
	} else if (ok) {
		q = stmt(s, ST_FINDINGS_PUT);
		sqlite3_bind_int64(q, 1, rowid);
		bind_text(q, 2, r->findings_json);
		ok = run(s, q, "recording the findings of a held message", err);
	}
	ok = ok && exec(s, "COMMIT", err);
	if (!ok)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	if (ok && id != NULL)
		*id = rowid;
	g_mutex_unlock(&s->lock);
	return ok;
}

static void read_quarantine(sqlite3_stmt *q, struct store_quarantine *r)
{
	r->id = sqlite3_column_int64(q, 0);
	r->queue_id = column_text(q, 1);
	r->message_id = column_text(q, 2);
	r->token = column_text(q, 3);
	r->sender = column_text(q, 4);
	r->recipients = column_text(q, 5);
	r->verdict = column_text(q, 6);
	r->score = sqlite3_column_int(q, 7);
	r->findings_json = column_text(q, 8);
	r->complaint_ref = column_text(q, 9);
	const void *raw = sqlite3_column_blob(q, 10);
	r->raw_len = (size_t)sqlite3_column_bytes(q, 10);
	/* One extra NUL so the copy can be used as a C string. */
	r->raw = raw ? g_malloc(r->raw_len + 1) : NULL;
	if (raw) {
		memcpy(r->raw, raw, r->raw_len);
		r->raw[r->raw_len] = '\0';
	}
	r->created = sqlite3_column_int64(q, 11);
	r->state = column_text(q, 12);
	r->host = column_text(q, 13);
	r->new_text = column_text(q, 14);
	r->complaint_recorded = sqlite3_column_type(q, 15) != SQLITE_NULL;
	r->complaint_detected = sqlite3_column_int(q, 15) != 0;
	r->complaint_severity = column_text(q, 16);
	r->complaint_clear = sqlite3_column_int(q, 17) != 0;
	r->complaint_sent = sqlite3_column_type(q, 18) == SQLITE_NULL ? -1 : sqlite3_column_int64(q, 18);
	r->complaint_text = column_text(q, 19);
}

static enum store_status sqlite_quarantine_get(struct store *st, enum store_key key, const char *value,
                                               struct store_quarantine *out, char **err)
{
	struct sqlite_store *s = handle(st);
	enum store_status status = STORE_NONE;
	memset(out, 0, sizeof *out);
	g_mutex_lock(&s->lock);
	sqlite3_stmt *q = stmt(s, key == STORE_BY_TOKEN ? ST_QUARANTINE_BY_TOKEN : ST_QUARANTINE_BY_QUEUE_ID);
	bind_text(q, 1, value);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		read_quarantine(q, out);
		status = STORE_FOUND;
	} else if (rc != SQLITE_DONE) {
		fail(s, "looking up a held message", err);
		status = STORE_ERROR;
	}
	sqlite3_reset(q);
	g_mutex_unlock(&s->lock);
	return status;
}

static bool sqlite_quarantine_set_state(struct store *st, const char *token, const char *from, const char *to,
                                        char **err)
{
	struct sqlite_store *s = handle(st);
	g_mutex_lock(&s->lock);
	sqlite3_stmt *q = stmt(s, ST_QUARANTINE_STATE);
	bind_text(q, 1, token);
	bind_text(q, 2, from);
	bind_text(q, 3, to);
	bool ok = run(s, q, "changing the state of a held message", err);
	if (ok && sqlite3_changes(s->db) == 0) {
		*err = g_strdup_printf("no %s message with that token (decided meanwhile?)", from);
		ok = false;
	}
	g_mutex_unlock(&s->lock);
	return ok;
}

static bool sqlite_review_put(struct store *st, gint64 quarantine_id, const char *reviewer,
                              const char *action, const char *note, gint64 when, char **err)
{
	struct sqlite_store *s = handle(st);
	g_mutex_lock(&s->lock);
	sqlite3_stmt *q = stmt(s, ST_REVIEW_PUT);
	sqlite3_bind_int64(q, 1, quarantine_id);
	bind_text(q, 2, reviewer);
	bind_text(q, 3, action);
	bind_text(q, 4, note);
	sqlite3_bind_int64(q, 5, when);
	bool ok = run(s, q, "recording a review", err);
	g_mutex_unlock(&s->lock);
	return ok;
}

/* ---- crash guard ------------------------------------------------------ */

/* Tell the guard every crash count; the caller holds the store lock. */
static bool load_crashes(struct sqlite_store *s, struct crashguard *g, char **err)
{
	sqlite3_stmt *q = stmt(s, ST_CRASHES_LIST);
	int rc;
	crashguard_reset_crashes(g);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		crashguard_set_crashes(g, (const char *)sqlite3_column_text(q, 0),
		                       (unsigned)sqlite3_column_int(q, 1), sqlite3_column_int64(q, 2));
	sqlite3_reset(q);
	if (rc != SQLITE_DONE && err != NULL)
		fail(s, "reading crash counts", err);
	return rc == SQLITE_DONE;
}

/* The guard, opened at the first call: PATH-inflight, locked, allocated and
 * mapped (crashguard.c), with the crash counts read. */
static struct crashguard *guard(struct sqlite_store *s)
{
	if (g_once_init_enter(&s->guard_set_up)) {
		char *file =
		    strcmp(s->path, ":memory:") == 0 ? NULL : g_strconcat(s->path, "-inflight", NULL);
		s->guard = crashguard_open(file);
		g_free(file);
		g_mutex_lock(&s->lock);
		load_crashes(s, s->guard, NULL); /* recover reads them again, with errors */
		g_mutex_unlock(&s->lock);
		g_once_init_leave(&s->guard_set_up, 1);
	}
	return s->guard;
}

/* A mark in the guard's file; in the table when the file is another
 * process's or full; none when the guard is off. */
static bool sqlite_inflight_begin(struct store *st, const char *fingerprint, gint64 now, gint64 crashed_since,
                                  unsigned *crashes, char **err)
{
	struct sqlite_store *s = handle(st);
	struct crashguard *g = guard(s);
	*crashes = crashguard_crashes(g, fingerprint, crashed_since);
	if (crashguard_mark(g, fingerprint, now) || crashguard_mode(g, NULL) == STORE_GUARD_OFF)
		return true;
	g_mutex_lock(&s->lock);
	sqlite3_stmt *q = stmt(s, ST_INFLIGHT_PUT);
	bind_text(q, 1, fingerprint);
	sqlite3_bind_int64(q, 2, now);
	bool ok = run(s, q, "recording an in-flight message", err);
	g_mutex_unlock(&s->lock);
	return ok;
}

static bool sqlite_inflight_end(struct store *st, const char *fingerprint, char **err)
{
	struct sqlite_store *s = handle(st);
	struct crashguard *g = guard(s);
	if (crashguard_clear(g, fingerprint) || crashguard_mode(g, NULL) == STORE_GUARD_OFF)
		return true;
	g_mutex_lock(&s->lock);
	sqlite3_stmt *q = stmt(s, ST_INFLIGHT_END);
	bind_text(q, 1, fingerprint);
	bool ok = run(s, q, "clearing an in-flight record", err);
	g_mutex_unlock(&s->lock);
	return ok;
}

/* Forget expired crashes; then each message a dead run left marked, in
 * the table or in the guard's file, crashed once more.  Returns how many
 * messages, or -1.  The caller holds the store lock and has begun a
 * transaction. */
static int count_crashes(struct sqlite_store *s, const GArray *left, gint64 crashed_since, char **err)
{
	sqlite3_stmt *q = stmt(s, ST_CRASHES_EXPIRE);
	sqlite3_bind_int64(q, 1, crashed_since);
	if (!run(s, q, "forgetting old crashes", err))
		return -1;
	for (guint i = 0; i < left->len; i++) {
		const struct crashguard_mark *m = &g_array_index(left, struct crashguard_mark, i);
		q = stmt(s, ST_INFLIGHT_PUT);
		bind_text(q, 1, m->fingerprint);
		sqlite3_bind_int64(q, 2, m->started);
		if (!run(s, q, "counting crashes", err))
			return -1;
	}
	if (!run(s, stmt(s, ST_INFLIGHT_RECOVER), "counting crashes", err) ||
	    !run(s, stmt(s, ST_INFLIGHT_CLEAR), "counting crashes", err))
		return -1;
	return sqlite3_changes(s->db);
}

/* One transaction; the marks leave the guard's file only once it is
 * committed, so a failure leaves them for the next start-up. */
static int sqlite_inflight_recover(struct store *st, gint64 crashed_since, char **err)
{
	struct sqlite_store *s = handle(st);
	struct crashguard *g = guard(s);
	int n = -1;
	g_mutex_lock(&s->lock);
	if (exec(s, "BEGIN IMMEDIATE", err)) {
		n = count_crashes(s, crashguard_left(g), crashed_since, err);
		if (n >= 0 && !exec(s, "COMMIT", err))
			n = -1;
		if (n < 0)
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	}
	if (n >= 0 && !load_crashes(s, g, err))
		n = -1;
	g_mutex_unlock(&s->lock);
	if (n >= 0)
		crashguard_forget_left(g);
	return n;
}

static enum store_guard sqlite_inflight_guard(struct store *st, char **why)
{
	return crashguard_retry(guard(handle(st)), why);
}

static bool sqlite_prune(struct store *st, gint64 before, char **err)
{
	static const enum stmt steps[] = {ST_PRUNE_COMPLAINTS, ST_PRUNE_APOLOGIES, ST_PRUNE_INFLIGHT,
	                                  ST_CRASHES_EXPIRE,   ST_PRUNE_DECISIONS, ST_PRUNE_SAMPLE_FINDINGS,
	                                  ST_PRUNE_SAMPLES};
	struct sqlite_store *s = handle(st);
	bool ok = true;
	g_mutex_lock(&s->lock);
	if (!exec(s, "BEGIN IMMEDIATE", err)) {
		g_mutex_unlock(&s->lock);
		return false;
	}
	for (size_t i = 0; ok && i < G_N_ELEMENTS(steps); i++) {
		sqlite3_stmt *q = stmt(s, steps[i]);
		sqlite3_bind_int64(q, 1, before);
		ok = run(s, q, "pruning old records", err);
	}
	if (ok)
		ok = exec(s, "COMMIT", err);
	if (!ok)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	g_mutex_unlock(&s->lock);
	return ok;
}

/* ---- review: lists, the audit trail, the outbox, statistics ----------
 * These queries run rarely (a reviewer's page, a worker's pass), so they are
 * prepared per call rather than kept in stmt[]. */

static sqlite3_stmt *prepare(struct sqlite_store *s, const char *sql, char **err)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK) {
		fail(s, "preparing a query", err);
		return NULL;
	}
	return q;
}

/* Finish a SELECT loop: true when it ended with SQLITE_DONE. */
static bool finish(struct sqlite_store *s, sqlite3_stmt *q, int rc, const char *what, char **err)
{
	bool ok = rc == SQLITE_DONE;
	if (!ok)
		fail(s, what, err);
	sqlite3_finalize(q);
	return ok;
}

#define QUARANTINE_MATCH                                                                                     \
	" FROM quarantine WHERE (?1 = 0 OR id = ?1) AND (?2 IS NULL OR state = ?2)"                          \
	" AND (?3 IS NULL OR lower(sender) = lower(?3))"                                                     \
	" AND (?4 IS NULL OR instr(',' || lower(recipients) || ',', '@' || lower(?4) || ',') > 0)"           \
	" AND (?5 IS NULL OR EXISTS (SELECT 1 FROM quarantine_findings f"                                    \
	"      WHERE f.quarantine_id = quarantine.id AND f.rule = ?5))"                                      \
	" AND (?6 = 0 OR created < ?6)"

static bool sqlite_quarantine_list(struct store *st, const struct store_query *f, GPtrArray *out,
                                   gint64 *count, char **err)
{
	struct sqlite_store *s = handle(st);
	unsigned order = (unsigned)f->order < STORE_ORDERS ? (unsigned)f->order : 0;
	char *sql = out == NULL ? g_strdup("SELECT count(*)" QUARANTINE_MATCH)
	                        : g_strconcat("SELECT id, queue_id, message_id, token, sender, recipients,"
	                                      " verdict, score, findings, complaint_ref,"
	                                      " CASE WHEN ?8 THEN raw END, created, state, host,"
	                                      " new_text, " QUARANTINE_COMPLAINT_COLUMNS QUARANTINE_MATCH,
	                                      store_quarantine_orders[order], " LIMIT ?7 OFFSET ?9", NULL);
	g_mutex_lock(&s->lock);
	sqlite3_stmt *q = prepare(s, sql, err);
	bool ok = q != NULL;
	if (ok) {
		sqlite3_bind_int64(q, 1, f->id);
		bind_text(q, 2, f->state);
		bind_text(q, 3, f->sender);
		bind_text(q, 4, f->client_domain);
		bind_text(q, 5, f->rule);
		sqlite3_bind_int64(q, 6, f->created_before);
		if (out != NULL) {
			sqlite3_bind_int64(q, 7, f->limit ? (gint64)f->limit : -1);
			sqlite3_bind_int(q, 8, f->with_raw);
			sqlite3_bind_int64(q, 9, f->offset);
		}
		int rc;
		while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			if (out == NULL) {
				*count = sqlite3_column_int64(q, 0);
				continue;
			}
			struct store_quarantine *r = g_new0(struct store_quarantine, 1);
			read_quarantine(q, r);
			g_ptr_array_add(out, r);
		}
		ok = finish(s, q, rc, "listing held messages", err);
	}
	g_mutex_unlock(&s->lock);
	g_free(sql);
	return ok;
}

static bool sqlite_quarantine_findings(struct store *st, gint64 id, GArray *out, char **err)
{
	struct sqlite_store *s = handle(st);
	static const char sql[] = "SELECT rule, severity, span_start, span_end, line, excerpt, words,"
	                          " principle, advice FROM quarantine_findings"
	                          " WHERE quarantine_id = ?1 ORDER BY span_start, ordinal";
	g_mutex_lock(&s->lock);
	sqlite3_stmt *q = prepare(s, sql, err);
	bool ok = q != NULL;
	if (ok) {
		sqlite3_bind_int64(q, 1, id);
		int rc;
		while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			struct store_finding f = {
			    .rule = column_text(q, 0),
			    .severity = column_text(q, 1),
			    .start = (size_t)MAX(sqlite3_column_int64(q, 2), 0),
			    .end = (size_t)MAX(sqlite3_column_int64(q, 3), 0),
			    .line = (unsigned)MAX(sqlite3_column_int(q, 4), 0),
			    .excerpt = column_text(q, 5),
			    .words = column_text(q, 6),
			    .principle = column_text(q, 7),
			    .advice = column_text(q, 8),
			};
			g_array_append_val(out, f);
		}
		ok = finish(s, q, rc, "reading findings", err);
	}
	g_mutex_unlock(&s->lock);
	return ok;
}

static bool sqlite_review_list(struct store *st, gint64 quarantine_id, unsigned limit, GArray *out,
                               char **err)
{
	struct sqlite_store *s = handle(st);
	static const char sql[] =
	    "SELECT r.id, r.quarantine_id, q.queue_id, q.sender, r.reviewer, r.action, r.note, r.at"
	    " FROM reviews r LEFT JOIN quarantine q ON q.id = r.quarantine_id"
	    " WHERE ?1 = 0 OR r.quarantine_id = ?1 ORDER BY r.at DESC, r.id DESC LIMIT ?2";
	g_mutex_lock(&s->lock);
	sqlite3_stmt *q = prepare(s, sql, err);
	bool ok = q != NULL;
	if (ok) {
		sqlite3_bind_int64(q, 1, quarantine_id);
		sqlite3_bind_int64(q, 2, limit ? (gint64)limit : -1);
		int rc;
		while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			struct store_review r = {
			    .id = sqlite3_column_int64(q, 0),
			    .quarantine_id = sqlite3_column_int64(q, 1),
			    .queue_id = column_text(q, 2),
			    .sender = column_text(q, 3),
			    .reviewer = column_text(q, 4),
			    .action = column_text(q, 5),
			    .note = column_text(q, 6),
			    .at = sqlite3_column_int64(q, 7),
			};
			g_array_append_val(out, r);
		}
		ok = finish(s, q, rc, "reading the audit trail", err);
	}
	g_mutex_unlock(&s->lock);
	return ok;
}

static bool sqlite_outbox_put(struct store *st, const struct store_outbox *o, bool *added, char **err)
{
	struct sqlite_store *s = handle(st);
	static const char sql[] =
	    "INSERT OR IGNORE INTO outbox (key, quarantine_id, channel, event, target, payload,"
	    " created, next_try) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
	g_mutex_lock(&s->lock);
	sqlite3_stmt *q = prepare(s, sql, err);
	bool ok = q != NULL;
	if (ok) {
		bind_text(q, 1, o->key);
		if (o->quarantine_id > 0)
			sqlite3_bind_int64(q, 2, o->quarantine_id);
		bind_text(q, 3, o->channel);
		bind_text(q, 4, o->event);
		bind_text(q, 5, o->target);
		bind_text(q, 6, o->payload);
		sqlite3_bind_int64(q, 7, o->created);
		sqlite3_bind_int64(q, 8, o->next_try);
		ok = finish(s, q, sqlite3_step(q), "queueing a notification", err);
		if (ok && added != NULL)
			*added = sqlite3_changes(s->db) > 0;
	}
	g_mutex_unlock(&s->lock);
	return ok;
}

static bool sqlite_outbox_due(struct store *st, gint64 now, unsigned max, GArray *out, char **err)
{
	struct sqlite_store *s = handle(st);
	static const char sql[] =
	    "SELECT id, key, quarantine_id, channel, event, target, payload, created, attempts,"
	    " next_try, last_error, state FROM outbox WHERE state = 'pending' AND next_try <= ?1"
	    " ORDER BY next_try, id LIMIT ?2";
	g_mutex_lock(&s->lock);
	sqlite3_stmt *q = prepare(s, sql, err);
	bool ok = q != NULL;
	if (ok) {
		sqlite3_bind_int64(q, 1, now);
		sqlite3_bind_int64(q, 2, max ? (gint64)max : -1);
		int rc;
		while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			struct store_outbox o = {
			    .id = sqlite3_column_int64(q, 0),
			    .key = column_text(q, 1),
			    .quarantine_id = sqlite3_column_int64(q, 2),
			    .channel = column_text(q, 3),
			    .event = column_text(q, 4),
			    .target = column_text(q, 5),
			    .payload = column_text(q, 6),
			    .created = sqlite3_column_int64(q, 7),
			    .attempts = sqlite3_column_int(q, 8),
			    .next_try = sqlite3_column_int64(q, 9),
			    .last_error = column_text(q, 10),
			    .state = column_text(q, 11),
			};
			g_array_append_val(out, o);
		}
		ok = finish(s, q, rc, "reading the outbox", err);
	}
	g_mutex_unlock(&s->lock);
	return ok;
}

static bool sqlite_outbox_backlog(struct store *st, gint64 *n, char **err)
{
	struct sqlite_store *s = handle(st);
	g_mutex_lock(&s->lock);
	sqlite3_stmt *q = prepare(s, "SELECT count(*) FROM outbox WHERE state = 'pending'", err);
	bool ok = q != NULL;
	if (ok) {
		int rc = sqlite3_step(q);
		*n = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
		ok = finish(s, q, rc == SQLITE_ROW ? SQLITE_DONE : rc, "counting the outbox", err);
	}
	g_mutex_unlock(&s->lock);
	return ok;
}

static bool sqlite_outbox_claim(struct store *st, gint64 id, gint64 seen_next_try, gint64 until,
                                bool *claimed, char **err)
{
	struct sqlite_store *s = handle(st);
	static const char sql[] =
	    "UPDATE outbox SET next_try = ?3 WHERE id = ?1 AND state = 'pending' AND next_try = ?2";
	g_mutex_lock(&s->lock);
	sqlite3_stmt *q = prepare(s, sql, err);
	bool ok = q != NULL;
	if (ok) {
		sqlite3_bind_int64(q, 1, id);
		sqlite3_bind_int64(q, 2, seen_next_try);
		sqlite3_bind_int64(q, 3, until);
		ok = finish(s, q, sqlite3_step(q), "claiming a notification", err);
		*claimed = ok && sqlite3_changes(s->db) == 1;
	}
	g_mutex_unlock(&s->lock);
	return ok;
}

static bool sqlite_outbox_attempt(struct store *st, gint64 id, const char *state, gint64 next_try,
                                  const char *error, char **err)
{
	struct sqlite_store *s = handle(st);
	static const char sql[] = "UPDATE outbox SET attempts = attempts + 1, state = ?2,"
	                          " next_try = ?3, last_error = ?4 WHERE id = ?1";
	g_mutex_lock(&s->lock);
	sqlite3_stmt *q = prepare(s, sql, err);
	bool ok = q != NULL;
	if (ok) {
		sqlite3_bind_int64(q, 1, id);
		bind_text(q, 2, state);
		sqlite3_bind_int64(q, 3, next_try);
		bind_text(q, 4, error);
		ok = finish(s, q, sqlite3_step(q), "recording a notification attempt", err);
	}
	g_mutex_unlock(&s->lock);
	return ok;
}

/* Read the rows of SQL, its parameters ?1.. bound to the N_ARGS numbers
 * ARGS, each appended to OUT by READ; WHAT names the query in errors. */
static bool select_rows(struct store *st, const char *sql, const gint64 *args, int n_args,
                        void (*read)(sqlite3_stmt *q, GArray *out), GArray *out, const char *what, char **err)
{
	struct sqlite_store *s = handle(st);
	g_mutex_lock(&s->lock);
	sqlite3_stmt *q = prepare(s, sql, err);
	bool ok = q != NULL;
	if (ok) {
		for (int i = 0; i < n_args; i++)
			sqlite3_bind_int64(q, i + 1, args[i]);
		int rc;
		while ((rc = sqlite3_step(q)) == SQLITE_ROW)
			read(q, out);
		ok = finish(s, q, rc, what, err);
	}
	g_mutex_unlock(&s->lock);
	return ok;
}

static void read_count(sqlite3_stmt *q, GArray *out)
{
	struct store_count c = {column_text(q, 0), sqlite3_column_int64(q, 1)};
	if (c.key == NULL)
		c.key = g_strdup("");
	g_array_append_val(out, c);
}

/* Records of holds (?3 false) or of monitor mode (?3 true): the near
 * misses kept for review are neither. */
#define MONITOR_OR_HELD "(state = 'monitor') = ?3 AND state NOT IN ('sampled', 'judged')"

/* Counts of held records (MONITOR false: every state but "monitor" and the
 * near misses kept for review, "sampled" and "judged") or of monitor
 * records. */
static bool count_stats(struct store *st, enum store_stat what, bool monitor, gint64 since, unsigned limit,
                        GArray *out, char **err)
{
	static const char *const sql[] = {
	    [STORE_STAT_WEEK] =
	        "SELECT strftime('%Y-W%W', created, 'unixepoch') AS k, count(*) FROM quarantine"
	        " WHERE created >= ?1 AND " MONITOR_OR_HELD " GROUP BY k ORDER BY k LIMIT ?2",
	    [STORE_STAT_RULE] =
	        "SELECT f.rule AS k, count(DISTINCT q.id)"
	        " FROM quarantine q JOIN quarantine_findings f ON f.quarantine_id = q.id"
	        " WHERE created >= ?1 AND " MONITOR_OR_HELD " GROUP BY k ORDER BY 2 DESC, k LIMIT ?2",
	    [STORE_STAT_SENDER] =
	        "SELECT lower(sender) AS k, count(*) FROM quarantine"
	        " WHERE created >= ?1 AND " MONITOR_OR_HELD " GROUP BY k ORDER BY 2 DESC, k LIMIT ?2",
	};
	const gint64 args[] = {since, limit ? (gint64)limit : -1, monitor};
	return select_rows(st, sql[what], args, 3, read_count, out, "computing statistics", err);
}

static bool sqlite_stats(struct store *st, enum store_stat what, gint64 since, unsigned limit, GArray *out,
                         char **err)
{
	return count_stats(st, what, false, since, limit, out, err);
}

static bool sqlite_monitor_stats(struct store *st, enum store_stat what, gint64 since, unsigned limit,
                                 GArray *out, char **err)
{
	return count_stats(st, what, true, since, limit, out, err);
}

/* ---- reviewers' labels ------------------------------------------------ */

static bool sqlite_labels_put(struct store *st, const struct store_label *labels, size_t n, char **err)
{
	static const char sql[] =
	    "INSERT INTO review_labels (quarantine_id, rule, verdict, action, reviewer, excerpt, at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (quarantine_id, rule) DO UPDATE SET"
	    " verdict = excluded.verdict, action = excluded.action, reviewer = excluded.reviewer,"
	    " excerpt = excluded.excerpt, at = excluded.at";
	struct sqlite_store *s = handle(st);
	g_mutex_lock(&s->lock);
	bool ok = exec(s, "BEGIN IMMEDIATE", err);
	sqlite3_stmt *q = ok ? prepare(s, sql, err) : NULL;
	ok = q != NULL;
	for (size_t i = 0; ok && i < n; i++) {
		const struct store_label *l = &labels[i];
		sqlite3_reset(q);
		sqlite3_clear_bindings(q);
		sqlite3_bind_int64(q, 1, l->quarantine_id);
		bind_text(q, 2, l->rule);
		bind_text(q, 3, l->verdict);
		bind_text(q, 4, l->action);
		bind_text(q, 5, l->reviewer);
		bind_text(q, 6, l->excerpt);
		sqlite3_bind_int64(q, 7, l->at);
		if (sqlite3_step(q) != SQLITE_DONE)
			ok = fail(s, "recording a reviewer's labels", err);
	}
	sqlite3_finalize(q);
	if (ok)
		ok = exec(s, "COMMIT", err);
	if (!ok)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	g_mutex_unlock(&s->lock);
	return ok;
}

static void read_label(sqlite3_stmt *q, GArray *out)
{
	struct store_label l = {
	    .quarantine_id = sqlite3_column_int64(q, 0),
	    .rule = column_text(q, 1),
	    .verdict = column_text(q, 2),
	    .action = column_text(q, 3),
	    .reviewer = column_text(q, 4),
	    .excerpt = column_text(q, 5),
	    .at = sqlite3_column_int64(q, 6),
	};
	g_array_append_val(out, l);
}

static bool sqlite_labels_list(struct store *st, gint64 since, GArray *out, char **err)
{
	static const char sql[] = "SELECT quarantine_id, rule, verdict, action, reviewer, excerpt, at"
	                          " FROM review_labels WHERE at >= ?1 ORDER BY at, quarantine_id, rule";
	return select_rows(st, sql, &since, 1, read_label, out, "reading reviewers' labels", err);
}

static void read_precision(sqlite3_stmt *q, GArray *out)
{
	struct store_precision p = {
	    .rule = column_text(q, 0),
	    .right = sqlite3_column_int64(q, 1),
	    .wrong = sqlite3_column_int64(q, 2),
	    .example = column_text(q, 3),
	};
	g_array_append_val(out, p);
}

static bool sqlite_label_precision(struct store *st, gint64 since, GArray *out, char **err)
{
	static const char sql[] =
	    "SELECT l.rule, sum(CASE WHEN l.verdict = 'right' THEN 1 ELSE 0 END),"
	    " sum(CASE WHEN l.verdict = 'wrong' THEN 1 ELSE 0 END),"
	    " (SELECT e.excerpt FROM review_labels e WHERE e.rule = l.rule AND e.verdict = 'wrong'"
	    "  AND e.at >= ?1 AND e.excerpt IS NOT NULL AND e.excerpt <> ''"
	    "  ORDER BY e.at DESC, e.id DESC LIMIT 1)"
	    " FROM review_labels l WHERE l.at >= ?1 GROUP BY l.rule ORDER BY 3 DESC, l.rule";
	return select_rows(st, sql, &since, 1, read_precision, out, "computing reviewers' precision", err);
}

/* ---- decisions -------------------------------------------------------- */

static bool sqlite_decision_put(struct store *st, const struct store_decision *d, char **err)
{
	struct sqlite_store *s = handle(st);
	g_mutex_lock(&s->lock);
	sqlite3_stmt *q = stmt(s, ST_DECISION_PUT);
	sqlite3_bind_int64(q, 1, d->at);
	bind_text(q, 2, d->sender ? d->sender : "");
	bind_text(q, 3, d->client_domain ? d->client_domain : "");
	bind_text(q, 4, d->verdict);
	bind_text(q, 5, d->rules ? d->rules : "");
	bind_text(q, 6, d->key);
	bool ok = run(s, q, "recording a decision", err);
	g_mutex_unlock(&s->lock);
	return ok;
}

static void read_decision(sqlite3_stmt *q, GArray *out)
{
	struct store_decision d = {
	    .at = sqlite3_column_int64(q, 0),
	    .sender = column_text(q, 1),
	    .client_domain = column_text(q, 2),
	    .verdict = column_text(q, 3),
	    .rules = column_text(q, 4),
	    .key = column_text(q, 5),
	};
	g_array_append_val(out, d);
}

static bool sqlite_decisions_list(struct store *st, gint64 since, const char *verdict, GArray *out,
                                  char **err)
{
	static const char sql[] = "SELECT at, sender, client_domain, verdict, rules, key FROM decisions"
	                          " WHERE at >= ?1 AND (?2 IS NULL OR verdict = ?2) ORDER BY at, id";
	struct sqlite_store *s = handle(st);
	g_mutex_lock(&s->lock);
	sqlite3_stmt *q = prepare(s, sql, err);
	bool ok = q != NULL;
	if (ok) {
		sqlite3_bind_int64(q, 1, since);
		bind_text(q, 2, verdict);
		int rc;
		while ((rc = sqlite3_step(q)) == SQLITE_ROW)
			read_decision(q, out);
		ok = finish(s, q, rc, "reading decisions", err);
	}
	g_mutex_unlock(&s->lock);
	return ok;
}

/* ---- failed log-ins of the review page -------------------------------- */

#define LOGIN_MATCH " WHERE (?1 IS NULL OR name = ?1) AND (?2 IS NULL OR address = ?2)"

static bool sqlite_login_list(struct store *st, const char *name, const char *address, GArray *out,
                              char **err)
{
	struct sqlite_store *s = handle(st);
	static const char sql[] =
	    "SELECT name, address, failures, last, locked_until FROM login_failures" LOGIN_MATCH
	    " ORDER BY address, name";
	g_mutex_lock(&s->lock);
	sqlite3_stmt *q = prepare(s, sql, err);
	bool ok = q != NULL;
	if (ok) {
		bind_text(q, 1, name);
		bind_text(q, 2, address);
		int rc;
		while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			struct store_login l = {
			    .name = column_text(q, 0),
			    .address = column_text(q, 1),
			    .failures = sqlite3_column_int(q, 2),
			    .last = sqlite3_column_int64(q, 3),
			    .locked_until = sqlite3_column_int64(q, 4),
			};
			g_array_append_val(out, l);
		}
		ok = finish(s, q, rc, "reading failed log-ins", err);
	}
	g_mutex_unlock(&s->lock);
	return ok;
}

static bool sqlite_login_put(struct store *st, const struct store_login *l, char **err)
{
	struct sqlite_store *s = handle(st);
	static const char sql[] = "INSERT OR REPLACE INTO login_failures (name, address, failures, last,"
	                          " locked_until) VALUES (?1, ?2, ?3, ?4, ?5)";
	g_mutex_lock(&s->lock);
	sqlite3_stmt *q = prepare(s, sql, err);
	bool ok = q != NULL;
	if (ok) {
		bind_text(q, 1, l->name);
		bind_text(q, 2, l->address);
		sqlite3_bind_int(q, 3, l->failures);
		sqlite3_bind_int64(q, 4, l->last);
		sqlite3_bind_int64(q, 5, l->locked_until);
		ok = finish(s, q, sqlite3_step(q), "recording a failed log-in", err);
	}
	g_mutex_unlock(&s->lock);
	return ok;
}

/* Delete the matching records; with BEFORE > 0 only those whose last
 * failure and lock both ended before it. */
static bool sqlite_login_delete(struct store *st, const char *name, const char *address, gint64 before,
                                int *n, char **err)
{
	struct sqlite_store *s = handle(st);
	static const char sql[] =
	    "DELETE FROM login_failures" LOGIN_MATCH " AND (?3 = 0 OR (last < ?3 AND locked_until < ?3))";
	g_mutex_lock(&s->lock);
	sqlite3_stmt *q = prepare(s, sql, err);
	bool ok = q != NULL;
	if (ok) {
		bind_text(q, 1, name);
		bind_text(q, 2, address);
		sqlite3_bind_int64(q, 3, before);
		ok = finish(s, q, sqlite3_step(q), "forgetting failed log-ins", err);
		if (ok && n != NULL)
			*n = sqlite3_changes(s->db);
	}
	g_mutex_unlock(&s->lock);
	return ok;
}

/* ---- actions addressed to a mail host ---------------------------------- */

#define HOST_ACTION_COLUMNS                                                                                  \
	"id, quarantine_id, host, verb, reviewer, comment, wrong, requested_at, claimed_at, done_at, result"

static void read_host_action(sqlite3_stmt *q, struct store_host_action *a)
{
	*a = (struct store_host_action){
	    .id = sqlite3_column_int64(q, 0),
	    .quarantine_id = sqlite3_column_int64(q, 1),
	    .host = column_text(q, 2),
	    .verb = column_text(q, 3),
	    .reviewer = column_text(q, 4),
	    .comment = column_text(q, 5),
	    .wrong = column_text(q, 6),
	    .requested_at = sqlite3_column_int64(q, 7),
	    .claimed_at = sqlite3_column_int64(q, 8),
	    .done_at = sqlite3_column_int64(q, 9),
	    .result = column_text(q, 10),
	};
}

/* SQL prepared with the handle's lock taken; NULL (and the lock left) on
 * failure. */
static sqlite3_stmt *locked_prepare(struct sqlite_store *s, const char *sql, char **err)
{
	g_mutex_lock(&s->lock);
	sqlite3_stmt *q = prepare(s, sql, err);
	if (q == NULL)
		g_mutex_unlock(&s->lock);
	return q;
}

static bool sqlite_host_action_put(struct store *st, const struct store_host_action *a, gint64 *id,
                                   char **err)
{
	struct sqlite_store *s = handle(st);
	sqlite3_stmt *q = locked_prepare(
	    s,
	    "INSERT INTO host_actions (quarantine_id, host, verb, reviewer, comment,"
	    " wrong, requested_at, claimed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULLIF(?8, 0))",
	    err);
	if (q == NULL)
		return false;
	const char *texts[] = {a->host, a->verb, a->reviewer, a->comment, a->wrong};
	sqlite3_bind_int64(q, 1, a->quarantine_id);
	for (int i = 0; i < (int)G_N_ELEMENTS(texts); i++)
		bind_text(q, i + 2, texts[i]);
	sqlite3_bind_int64(q, 7, a->requested_at);
	sqlite3_bind_int64(q, 8, a->claimed_at);
	bool ok = finish(s, q, sqlite3_step(q), "recording an action for a host", err);
	if (ok && id != NULL)
		*id = sqlite3_last_insert_rowid(s->db);
	g_mutex_unlock(&s->lock);
	return ok;
}

/* Run Q, which returns at most one host action, into OUT. */
static enum store_status one_host_action(struct sqlite_store *s, sqlite3_stmt *q,
                                         struct store_host_action *out, const char *what, char **err)
{
	int rc = sqlite3_step(q);
	enum store_status found = rc == SQLITE_ROW ? STORE_FOUND : STORE_NONE;
	if (found == STORE_FOUND) {
		read_host_action(q, out);
		rc = sqlite3_step(q);
	}
	return finish(s, q, rc, what, err) ? found : STORE_ERROR;
}

static enum store_status sqlite_host_action_claim(struct store *st, const char *host, gint64 now,
                                                  gint64 expired, struct store_host_action *out, char **err)
{
	struct sqlite_store *s = handle(st);
	/* One statement: SQLite writes one at a time, so no other agent can
	 * claim the same row between the choice and the mark. */
	sqlite3_stmt *q = locked_prepare(s,
	                                 "UPDATE host_actions SET claimed_at = ?2 WHERE id = (SELECT id FROM"
	                                 " host_actions WHERE host = ?1 AND done_at IS NULL AND"
	                                 " (claimed_at IS NULL OR claimed_at <= ?3) ORDER BY id LIMIT 1)"
	                                 " RETURNING " HOST_ACTION_COLUMNS,
	                                 err);
	if (q == NULL)
		return STORE_ERROR;
	bind_text(q, 1, host);
	sqlite3_bind_int64(q, 2, now);
	sqlite3_bind_int64(q, 3, expired);
	enum store_status found = one_host_action(s, q, out, "claiming an action for this host", err);
	g_mutex_unlock(&s->lock);
	return found;
}

/* An open action under the claim made at CLAIMED_AT closed: done at NOW
 * with RESULT, or deleted when RESULT is NULL. */
#define UNDER_CLAIM " WHERE id = ?1 AND claimed_at = ?2 AND done_at IS NULL"

static enum store_status sqlite_host_action_close(struct store *st, gint64 id, gint64 claimed_at, gint64 now,
                                                  const char *result, char **err)
{
	struct sqlite_store *s = handle(st);
	sqlite3_stmt *q =
	    locked_prepare(s,
	                   result ? "UPDATE host_actions SET done_at = ?3, result = ?4" UNDER_CLAIM
	                          : "DELETE FROM host_actions" UNDER_CLAIM,
	                   err);
	if (q == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, claimed_at);
	if (result != NULL) {
		sqlite3_bind_int64(q, 3, now);
		bind_text(q, 4, result);
	}
	const char *what = result ? "recording an action's result" : "dropping a decision's action";
	enum store_status closed = !finish(s, q, sqlite3_step(q), what, err) ? STORE_ERROR
	                           : sqlite3_changes(s->db) == 1             ? STORE_FOUND
	                                                                     : STORE_NONE;
	g_mutex_unlock(&s->lock);
	return closed;
}

static enum store_status sqlite_host_action_last(struct store *st, gint64 quarantine_id,
                                                 struct store_host_action *out, char **err)
{
	struct sqlite_store *s = handle(st);
	sqlite3_stmt *q =
	    locked_prepare(s,
	                   "SELECT " HOST_ACTION_COLUMNS
	                   " FROM host_actions WHERE quarantine_id = ?1 ORDER BY id DESC LIMIT 1",
	                   err);
	if (q == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(q, 1, quarantine_id);
	enum store_status found = one_host_action(s, q, out, "reading a hold's action", err);
	g_mutex_unlock(&s->lock);
	return found;
}

static enum store_status sqlite_helper_started(struct store *st, gint64 quarantine_id, const char *action,
                                               gint64 since, char **err)
{
	struct sqlite_store *s = handle(st);
	sqlite3_stmt *q = locked_prepare(s, HELPER_STARTED_SQL("?"), err);
	if (q == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(q, 1, quarantine_id);
	bind_text(q, 2, action);
	sqlite3_bind_int64(q, 3, since);
	int rc = sqlite3_step(q);
	enum store_status found = rc == SQLITE_ROW ? STORE_FOUND : STORE_NONE;
	if (found == STORE_FOUND)
		rc = sqlite3_step(q);
	found = finish(s, q, rc, "reading the helper's audit trail", err) ? found : STORE_ERROR;
	g_mutex_unlock(&s->lock);
	return found;
}

const struct store_ops store_sqlite_ops = {
    .scheme = "sqlite",
    .open = sqlite_open,
    .probe = sqlite_probe,
    .close = sqlite_close,
    .read_only = sqlite_read_only,
    .schema_version = sqlite_schema_version,
    .set_busy_timeout = sqlite_set_busy_timeout,
    .complaint_put = sqlite_complaint_put,
    .complaint_find = sqlite_complaint_find,
    .apology_put = sqlite_apology_put,
    .history_get = sqlite_history_get,
    .quarantine_put = sqlite_quarantine_put,
    .quarantine_get = sqlite_quarantine_get,
    .quarantine_set_state = sqlite_quarantine_set_state,
    .review_put = sqlite_review_put,
    .inflight_begin = sqlite_inflight_begin,
    .inflight_end = sqlite_inflight_end,
    .inflight_recover = sqlite_inflight_recover,
    .inflight_guard = sqlite_inflight_guard,
    .prune = sqlite_prune,
    .quarantine_list = sqlite_quarantine_list,
    .quarantine_findings = sqlite_quarantine_findings,
    .review_list = sqlite_review_list,
    .outbox_put = sqlite_outbox_put,
    .outbox_due = sqlite_outbox_due,
    .outbox_backlog = sqlite_outbox_backlog,
    .outbox_attempt = sqlite_outbox_attempt,
    .outbox_claim = sqlite_outbox_claim,
    .stats = sqlite_stats,
    .login_list = sqlite_login_list,
    .login_put = sqlite_login_put,
    .login_delete = sqlite_login_delete,
    .monitor_stats = sqlite_monitor_stats,
    .labels_put = sqlite_labels_put,
    .labels_list = sqlite_labels_list,
    .label_precision = sqlite_label_precision,
    .decision_put = sqlite_decision_put,
    .decisions_list = sqlite_decisions_list,
    .host_action_put = sqlite_host_action_put,
    .host_action_claim = sqlite_host_action_claim,
    .host_action_close = sqlite_host_action_close,
    .host_action_last = sqlite_host_action_last,
    .helper_started = sqlite_helper_started,
};
