/*
 * store.h - what the daemon remembers between messages: inbound complaints,
 * the apology history of each sender towards each client, quarantine
 * records of held mail (Postfix drops the hold reason, so this is the only
 * record of why a message was held), review decisions, and the crash guard:
 * marks of the messages being analysed, and how often each one was in
 * flight when the daemon died.
 *
 * The store sits outside the core: the daemon reads it to fill struct
 * context before apology_check() and writes to it after the decision.
 * A store is opened from a location such as "sqlite:/var/lib/x/store.db"
 * (a bare path means sqlite) or "postgresql://user@host/db" (one database
 * that the daemons of several mail hosts share, docs/postgresql.md); each
 * backend is one file (store_sqlite.c, store_pg.c) behind the operations
 * table in store_priv.h; the crash guard's file of
 * marks is crashguard.c.
 *
 * Failures are environment errors: functions return false (or
 * STORE_ERROR) and set *ERR to a message the caller frees with g_free().
 * A store handle may be used from several threads at once.
 *
 * Ownership: structs passed in are only read.  Structs filled by the store
 * (store_complaint_find, store_quarantine_get) own their strings; free them
 * with store_complaint_clear() / store_quarantine_clear().
 */
#ifndef APOLOGY_STORE_H
#define APOLOGY_STORE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

struct store;

enum store_status { STORE_ERROR = -1, STORE_NONE = 0, STORE_FOUND = 1 };

/* A complaint that arrived from a client. */
struct store_complaint {
	char *message_id;    /* without <> */
	char *client_addr;   /* address of the SMTP client that delivered it */
	char *client_domain; /* the complaining client's mail domain */
	gint64 received;     /* Unix seconds */
	bool serious;
	unsigned kinds; /* failure kinds, bit mask (policy_kind_index) */
	bool unclear;   /* within models.inbound-margin short of the gate's bar: a
	                   reply is held only on the thread's own words (schema 16) */
};

/* A message held for review, or one that monitor mode would have held. */
struct store_quarantine {
	gint64 id; /* assigned by the store */
	char *queue_id;
	char *message_id;
	char *token; /* the random token also put in the message header */
	char *sender;
	char *recipients; /* comma-separated */
	char *verdict;
	int score;
	/* The decision as JSON (verdict, score, reason, complaint, findings),
	 * rendered from struct decision: kept whole as the record of the
	 * decision (the complaint below is read from it), and what the spool
	 * carries of the findings. */
	char *findings_json;
	/* The author's new text the findings' spans point into (struct
	 * decision's text), or NULL: records held before it was kept. */
	char *new_text;
	/* Written only: the findings to record as the record's rows (struct
	 * store_finding, in the decision's order), read back with
	 * store_quarantine_findings().  NULL: the rows are made from the
	 * findings of FINDINGS_JSON (records written back from the spool,
	 * callers that have only the JSON).  Records read leave it NULL. */
	GArray *findings;
	char *complaint_ref; /* Message-ID of the complaint answered, or NULL */
	char *raw;           /* the message as the MTA passed it */
	size_t raw_len;
	gint64 created; /* Unix seconds */
	/* "held", "monitor", "released", "deleted", "expired"; "sampled" (a
	 * passed near miss kept for review: the daemon's sample.near-misses)
	 * and "judged" (one a reviewer has judged: quarantine_judge()) */
	char *state;
	/* The mail host that holds it: written as given, or the store
	 * handle's host when NULL (store_set_host(), by default
	 * g_get_host_name()); read back, NULL for records made before hosts
	 * were recorded. */
	char *host;
	/* The complaint it answers as the daemon judged it (struct decision's
	 * complaint and quoted history), written with the record and read
	 * back.  COMPLAINT_RECORDED false: records held before the store kept
	 * them (schema 12), or a writer that has only the JSON; then the
	 * fields below are written as NULL and read back false and NULL,
	 * except the severity and the date: the store writes those the
	 * stored decision (findings_json) names, where it is JSON, and reads
	 * them back (schema 13 wrote them into the records made before 12). */
	bool complaint_recorded;
	bool complaint_detected;
	bool complaint_clear;     /* clear enough to hold (struct complaint's clear) */
	char *complaint_severity; /* "normal", "serious", or NULL: none detected */
	gint64 complaint_sent;    /* Unix seconds, or -1 when unknown (also when not recorded) */
	char *complaint_text;     /* the quoted history the classification read, bounded; or NULL */
};

/* Open (creating and migrating as needed) the store at LOCATION. */
struct store *store_open(const char *location, char **err);
void store_close(struct store *st);
/* Whether ST was opened for reading only (SQLite does that quietly when the
 * file is not writable): every write would fail. */
bool store_read_only(struct store *st);
/* Name the mail host ST records for (NAME is copied; NULL or "": the
 * system's host name, g_get_host_name()): the host of a held message whose
 * record names none, and in PostgreSQL the prefix of this host's crash-guard
 * marks, so that daemons sharing one database (two may run on one machine)
 * count only their own.  Call it before the handle is used from other
 * threads, and before the first store_inflight_*() call. */
void store_set_host(struct store *st, const char *name);
/* The connections a PostgreSQL handle keeps at most (its pool; the daemon's
 * store-pool-size): from 1 to STORE_POOL_MAX, STORE_POOL_DEFAULT until set.
 * Fewer than are open now: the extra ones close as they are given back.
 * SQLite handles have no pool and ignore it. */
#define STORE_POOL_DEFAULT 4
#define STORE_POOL_MAX     64
void store_set_pool_size(struct store *st, int connections);
/* Check, without creating the store or changing it, whether the store at
 * LOCATION could be opened for writing now, as the user calling: the file
 * readable and writable and a store of a schema this program knows, its
 * directory writable (SQLite makes its -wal and -shm files there), the file
 * system neither read-only nor full.  A store not in use is read without
 * any lock or -wal and -shm file; one in use through the files its user
 * made.  True with *DETAIL (caller frees) such as "schema 5" or "not there
 * yet: made at start"; false with *ERR. */
bool store_probe(const char *location, char **detail, char **err);
/* Whether the last call of this thread to a store that failed failed
 * because the store refused the data (a constraint, a value too long for
 * it: SQLite's CONSTRAINT or TOOBIG, PostgreSQL's classes 22, 23 but for
 * 23502, a NOT NULL column of a newer schema, and 54), which the same data
 * would meet again; false when the store itself failed (locked, full,
 * unreachable), which may pass. */
bool store_failure_refused(void);
/* Copy every table of the SQLite store FROM into the PostgreSQL store TO
 * (both opened and migrated first), in one transaction on TO; refused when
 * TO holds any record, unless FORCE (then what it held is replaced).
 * Appends "TABLE: N rows" lines to REPORT. */
bool store_copy(const char *from, const char *to, bool force, GString *report, char **err);
/* The schema version the store is at. */
int store_schema_version(struct store *st);
/* How long each call waits for a lock that another connection or process
 * holds on the store before it fails (5 s unless set).  The daemon keeps
 * this short: it never waits on the database for long (writer.h). */
void store_set_busy_timeout(struct store *st, int milliseconds);

/* Record a complaint; a second record for the same Message-ID replaces it. */
bool store_complaint_put(struct store *st, const struct store_complaint *c, char **err);
/* Among the complaints a reply's references name, the one it answers: a
 * clear one before an unclear one, then the newest.  Whether a complaint
 * (UNCLEAR, RECEIVED) comes before the best so far (CUR_UNCLEAR,
 * CUR_RECEIVED; none when !FOUND).  store_complaint_find() and backtest
 * choose by it. */
bool store_complaint_first(bool found, bool cur_unclear, gint64 cur_received, bool unclear, gint64 received);
/* Find the newest stored complaint whose Message-ID is one of IDS. */
enum store_status store_complaint_find(struct store *st, const char *const *ids, size_t n_ids,
                                       struct store_complaint *out, char **err);
void store_complaint_clear(struct store_complaint *c);

/* Record that SENDER apologised to CLIENT_DOMAIN at WHEN for KINDS, in
 * answer to the complaint with Message-ID COMPLAINT_REF (NULL: unknown).
 * Only the first apology for one complaint is kept, and one answering no
 * known complaint is kept once for the same sender, client, second and
 * kinds: writing a record again (a replay) changes nothing. */
bool store_apology_put(struct store *st, const char *sender, const char *client_domain, gint64 when,
                       unsigned kinds, const char *complaint_ref, char **err);
/* Append struct history_entry (thread.h) for SENDER -> CLIENT_DOMAIN since
 * SINCE, newest first, at most MAX entries.  Apologies that answered the
 * complaint EXCLUDE_REF (when not NULL) are left out: a second reply to the
 * same complaint is not the same mistake made again. */
bool store_history_get(struct store *st, const char *sender, const char *client_domain, gint64 since,
                       const char *exclude_ref, unsigned max, GArray *out, char **err);
/* The same, only apologies made strictly before BEFORE (since <= at <
 * before; BEFORE > 0), none left out by complaint: what a reviewer of a
 * reply made at BEFORE may call earlier.  (The daemon records a reply's
 * own apology at the time its hold is recorded, so it is not among them.) */
bool store_history_before(struct store *st, const char *sender, const char *client_domain, gint64 since,
                          gint64 before, unsigned max, GArray *out, char **err);

/* Add a quarantine record; its id is returned in *ID (may be NULL). */
bool store_quarantine_put(struct store *st, const struct store_quarantine *q, gint64 *id, char **err);
/* Look a record up by its token. */
enum store_status store_quarantine_get(struct store *st, const char *token, struct store_quarantine *out,
                                       char **err);
/* Look the newest record up by queue id (queue ids are reused: callers check
 * Message-ID and sender before acting). */
enum store_status store_quarantine_by_queue_id(struct store *st, const char *queue_id,
                                               struct store_quarantine *out, char **err);
/* Move the record TOKEN from state FROM to TO in one step; false (with
 * *ERR) when it is not in FROM: another decision came first. */
bool store_quarantine_set_state(struct store *st, const char *token, const char *from, const char *to,
                                char **err);
void store_quarantine_clear(struct store_quarantine *q);

/* Record a reviewer's decision about a quarantine record. */
bool store_review_put(struct store *st, gint64 quarantine_id, const char *reviewer, const char *action,
                      const char *note, gint64 when, char **err);

/*
 * Crash guard.  A message that was being analysed when the daemon died may
 * be what killed it: the guard counts such deaths per message fingerprint,
 * so that the daemon stops analysing a message that keeps killing it, and
 * not one that happened to be in flight when it was killed from outside.
 *
 * store_inflight_begin() marks FINGERPRINT as being analysed since NOW and
 * sets *CRASHES to the number of runs that died analysing it, counting only
 * if the last of them died at or after CRASHED_SINCE (older marks have
 * expired).  store_inflight_end() clears the mark; call it after every
 * begin that returned true, whether the message was analysed or not.
 * store_inflight_recover(), called once at start-up before any begin,
 * counts one more crash of each message a dead run left marked (however
 * many copies of it were in flight), forgets crashes older than
 * CRASHED_SINCE, and returns how many messages it found, or -1 on error.
 * Crash counts are read from the store when the guard is set up and by
 * recover.
 *
 * store_inflight_guard() sets the guard up (otherwise the first of these
 * calls does), or tries again when it is off; it returns how the guard
 * keeps its marks and, when not in its file, sets *WHY (may be NULL; caller
 * frees) to why.
 */
enum store_guard {
	STORE_GUARD_FILE, /* a mapped file beside the store: no system call per message */
	STORE_GUARD_ROWS, /* the store's tables: another process holds the file */
	STORE_GUARD_OFF,  /* the file cannot be allocated (a full disk): no marks are made */
};
bool store_inflight_begin(struct store *st, const char *fingerprint, gint64 now, gint64 crashed_since,
                          unsigned *crashes, char **err);
bool store_inflight_end(struct store *st, const char *fingerprint, char **err);
int store_inflight_recover(struct store *st, gint64 crashed_since, char **err);
enum store_guard store_inflight_guard(struct store *st, char **why);

/* Delete complaints, history, decisions, and in-flight and crash records
 * older than BEFORE, and the near misses kept for review (state "sampled")
 * made before it that nobody judged.  Holds are kept (their expiry is a
 * review policy), and so are judged near misses (their labels are training
 * data). */
bool store_prune(struct store *st, gint64 before, char **err);

/* ---- review: lists, the audit trail, the outbox, statistics ----------
 * Used by `apologyctl quarantine`, `apologyctl notify` and apology-review.
 * Records filled by these functions own their strings; free them with the
 * matching *_free() / *_clear() function. */

/* The orders store_quarantine_list() can return records in; each ends with
 * creation time and id, so a page of the list is always the same rows. */
enum store_order {
	STORE_ORDER_OLDEST, /* created, oldest first (the default) */
	STORE_ORDER_NEWEST, /* created, newest first */
	STORE_ORDER_SCORE,  /* highest score first */
	STORE_ORDER_SENDER, /* sender address, A to Z (case-insensitive) */
};

/* Which quarantine records store_quarantine_list() returns.  Zero and NULL
 * fields match everything. */
struct store_query {
	gint64 id;                 /* one record by its store id */
	const char *state;         /* "held", "released", ... */
	const char *sender;        /* the sender address (case-insensitive) */
	const char *client_domain; /* a recipient in this domain */
	const char *rule;          /* a finding of this rule id */
	gint64 created_before;     /* only records created before this time */
	bool with_raw;             /* also read the copy of the message */
	unsigned limit;            /* at most this many */
	unsigned offset;           /* after skipping this many */
	enum store_order order;
};

/* Append matching records (in QUERY's order) to OUT as struct store_quarantine *,
 * each freed with store_quarantine_free() (OUT may own that function). */
bool store_quarantine_list(struct store *st, const struct store_query *query, GPtrArray *out, char **err);
/* Count the matching records (QUERY's limit does not apply). */
bool store_quarantine_count(struct store *st, const struct store_query *query, gint64 *n, char **err);
void store_quarantine_free(struct store_quarantine *q);

/* One finding of a quarantine record: a row of table quarantine_findings,
 * written from the record's findings when it was put. */
struct store_finding {
	char *rule;
	char *severity;
	size_t start, end; /* byte span in the reply's new text */
	unsigned line;
	char *excerpt; /* the sentence or span that triggered it */
	char *words;   /* a learned finding's weightiest words, or NULL */
	char *principle;
	char *advice;
};

/* Append struct store_finding for record ID (in span order) to OUT. */
bool store_quarantine_findings(struct store *st, gint64 id, GArray *out, char **err);
void store_finding_clear(struct store_finding *f);
/* An empty array of struct store_finding that clears its elements; the
 * caller unrefs it. */
GArray *store_findings_new(void);
/* The distinct rule ids of FINDINGS, comma-separated, in order; caller frees. */
char *store_findings_rules(const GArray *findings);

/* One entry of the audit trail (store_review_put). */
struct store_review {
	gint64 id;
	gint64 quarantine_id;
	char *queue_id; /* of the record, for listings */
	char *sender;   /* of the record */
	char *reviewer;
	char *action;
	char *note;
	gint64 at;
};

/* Append struct store_review, newest first, for record QUARANTINE_ID (0: all
 * records), at most LIMIT (0: all), to OUT. */
bool store_review_list(struct store *st, gint64 quarantine_id, unsigned limit, GArray *out, char **err);
void store_review_clear(struct store_review *r);

/*
 * The outbox: notifications waiting to be sent.  A row is written when a
 * message is held and on each decision; a worker sends it and records the
 * result.  KEY makes a row unique (a second put with the same key is
 * ignored), so writers may repeat themselves after a crash.
 */
struct store_outbox {
	gint64 id;
	char *key; /* e.g. "hold:12:webhook" */
	gint64 quarantine_id;
	char *channel; /* "webhook" or "mail" */
	char *event;   /* "hold", "release", "discard", "return", ... */
	char *target;  /* URL or mail address */
	char *payload; /* JSON body, or the whole mail message */
	gint64 created;
	int attempts;
	gint64 next_try; /* Unix seconds */
	char *last_error;
	char *state; /* "pending", "sent", "failed" (gave up) */
};

/* Add O unless a row with its key exists; *ADDED (may be NULL) says which. */
bool store_outbox_put(struct store *st, const struct store_outbox *o, bool *added, char **err);
/* Append pending rows with next_try <= NOW (oldest first, at most MAX) to OUT
 * as struct store_outbox. */
bool store_outbox_due(struct store *st, gint64 now, unsigned max, GArray *out, char **err);
/* Claim row ID, read due at SEEN_NEXT_TRY, until UNTIL: its next_try moves
 * there if it is still pending at SEEN_NEXT_TRY, so that of two workers
 * that read it due only one sends it, and one that dies sending it leaves
 * it due again at UNTIL.  *CLAIMED says whether this call claimed it. */
bool store_outbox_claim(struct store *st, gint64 id, gint64 seen_next_try, gint64 until, bool *claimed,
                        char **err);
/* The number of rows still to be sent (state pending) in *N. */
bool store_outbox_backlog(struct store *st, gint64 *n, char **err);
/* Record one attempt at row ID: STATE is "sent", "pending" (try again at
 * NEXT_TRY) or "failed"; ERROR may be NULL. */
bool store_outbox_attempt(struct store *st, gint64 id, const char *state, gint64 next_try, const char *error,
                          char **err);
void store_outbox_clear(struct store_outbox *o);

/* Statistics of holds: per week ("2026-W09"), per rule id, per sender. */
enum store_stat { STORE_STAT_WEEK, STORE_STAT_RULE, STORE_STAT_SENDER };
struct store_count {
	char *key;
	gint64 n;
};
/* Append struct store_count for records of holds (not monitor records,
 * not the near misses kept for review) created since SINCE, largest first
 * (weeks: in time order), at most LIMIT (0: all), to OUT. */
bool store_stats(struct store *st, enum store_stat what, gint64 since, unsigned limit, GArray *out,
                 char **err);
void store_count_clear(struct store_count *c);
/* An empty array of struct store_count that clears its elements. */
GArray *store_counts_new(void);

/* The same counts over the records monitor mode made (state "monitor"): what
 * would have been held. */
bool store_monitor_stats(struct store *st, enum store_stat what, gint64 since, unsigned limit, GArray *out,
                         char **err);

/*
 * Reviewers' decisions as labels: per decision on a held reply (release,
 * return, discard), one row per rule of its findings saying whether the
 * reviewer judged that rule right or wrong on it (holds/labels.c decides
 * which).  Read back by `apologyctl labels export` and `apologyctl report`
 * and the review page's statistics.
 */
struct store_label {
	gint64 quarantine_id;
	char *rule;
	char *verdict; /* "right" or "wrong" */
	char *action;  /* the decision: "release", "return", "discard" */
	char *reviewer;
	char *excerpt; /* of the rule's first finding on the reply; may be NULL */
	gint64 at;     /* Unix seconds of the decision */
};
/* Write the N labels of one decision in one transaction; a label for a
 * record and rule already labelled replaces it. */
bool store_labels_put(struct store *st, const struct store_label *labels, size_t n, char **err);
/* Append the labels made at or after SINCE, by time, record and rule, to
 * OUT, an array from store_labels_new(). */
bool store_labels_list(struct store *st, gint64 since, GArray *out, char **err);
GArray *store_labels_new(void);
void store_label_clear(struct store_label *l);

/* A rule's labels over a period: how often reviewers found it right and
 * wrong, and the excerpt of its newest wrong label (NULL when none). */
struct store_precision {
	char *rule;
	gint64 right, wrong;
	char *example;
};
/* Append struct store_precision per rule labelled at or after SINCE, most
 * often wrong first (then by rule), to OUT, an array from
 * store_precisions_new(). */
bool store_label_precision(struct store *st, gint64 since, GArray *out, char **err);
GArray *store_precisions_new(void);
void store_precision_clear(struct store_precision *p);

/*
 * Decisions: a summary of each outgoing reply the daemon judged advise or
 * hold (held, monitor or not), written through its store writer, so that
 * `apologyctl report` can count what was advised per sender and rule.
 * Pruned with the complaints (store_prune).
 */
struct store_decision {
	gint64 at; /* Unix seconds */
	char *sender;
	char *client_domain; /* "" when unknown */
	char *verdict;       /* "advise", "hold" */
	char *rules;         /* the distinct rule ids of its findings, comma-separated */
	char *key;           /* its own, unique; NULL in records spooled before keys */
};
/* Record D; one whose key is recorded is not recorded again, so that
 * writing a record again (a replay after a death) changes nothing. */
bool store_decision_put(struct store *st, const struct store_decision *d, char **err);
/* Append the decisions made at or after SINCE whose verdict is VERDICT
 * (NULL: any), oldest first, to OUT, an array from store_decisions_new(). */
bool store_decisions_list(struct store *st, gint64 since, const char *verdict, GArray *out, char **err);
GArray *store_decisions_new(void);
void store_decision_clear(struct store_decision *d);

/*
 * Failed log-ins of the review page: one record per (user name, client
 * address), and one per address alone (name ""), with how many log-ins
 * failed, when the last did, and until when that name from that address,
 * or the address, is locked.  holds/logins.c decides what they mean;
 * `apologyctl logins` lists and clears them.
 */
struct store_login {
	char *name;    /* "" for the address's own record */
	char *address; /* the client's IP address, canonical text */
	int failures;
	gint64 last;         /* Unix seconds of the last failure */
	gint64 locked_until; /* Unix seconds; not locked from then on */
};

/* Append the records of NAME from ADDRESS (either NULL: any), by address
 * and name, to OUT, an array from store_logins_new(). */
bool store_login_list(struct store *st, const char *name, const char *address, GArray *out, char **err);
/* Write L, replacing the record of its name and address. */
bool store_login_put(struct store *st, const struct store_login *l, char **err);
/* Delete the records of NAME from ADDRESS (either NULL: any); *N (may be
 * NULL) is how many there were. */
bool store_login_forget(struct store *st, const char *name, const char *address, int *n, char **err);
/* Delete the records whose last failure and lock both ended before BEFORE. */
bool store_login_prune(struct store *st, gint64 before, char **err);
/* An empty array of struct store_login that clears its elements; the
 * caller unrefs it. */
GArray *store_logins_new(void);
void store_login_clear(struct store_login *l);

/* ---- actions addressed to a mail host ---------------------------------
 * A reviewer's decision about a hold that another mail host holds (its
 * host column), written to the shared store for that host's agent to carry
 * out through its own helper (`apologyctl quarantine agent`,
 * docs/postgresql.md); and, while it is carried out, a decision made on the
 * hold's own host (put already claimed, dropped when it ends).  At most one
 * action of a hold is open (not done) at a time: the open row is the one
 * slot every decision about the hold takes.  Strings filled by the store are
 * owned by the struct: free with store_host_action_clear(). */
struct store_host_action {
	gint64 id; /* assigned by the store */
	gint64 quarantine_id;
	char *host;     /* the host that holds the message and acts on it */
	char *verb;     /* "release", "return", "discard", "expire" (schema 14) */
	char *reviewer; /* who decided */
	char *comment;  /* NULL: none */
	char *wrong;    /* the rules marked wrong, one per line; NULL: none */
	gint64 requested_at;
	gint64 claimed_at; /* 0: waiting for its host's agent */
	gint64 done_at;    /* 0: not done yet */
	char *result;      /* "done", or "failed: WHY"; NULL until done */
};

/* Add A (its id, done_at and result ignored; claimed_at 0 for an action
 * waiting for its host's agent, else claimed then) and set *ID (may be
 * NULL); false with *ERR when an action of the same hold is still open. */
bool store_host_action_put(struct store *st, const struct store_host_action *a, gint64 *id, char **err);
/* Claim the oldest open action addressed to HOST that no agent has claimed,
 * or whose claim is older than LEASE seconds (an agent that stopped between
 * its claim and its result): it is marked claimed at NOW in the same
 * statement, so of two agents polling at once only one gets it.
 * STORE_FOUND with OUT filled (its claimed_at NOW), STORE_NONE when nothing
 * waits.  LEASE is at least 1, so a claim taken again is always later than
 * the one it replaces. */
enum store_status store_host_action_claim(struct store *st, const char *host, gint64 now, gint64 lease,
                                          struct store_host_action *out, char **err);
/* Record the RESULT of action A, done at NOW, if it is still open under A's
 * claim (its claimed_at): STORE_FOUND when recorded, STORE_NONE when it was
 * closed or claimed again since (the lease ran out). */
enum store_status store_host_action_done(struct store *st, const struct store_host_action *a, gint64 now,
                                         const char *result, char **err);
/* Delete action A if it is still open under A's claim (a decision made on
 * the hold's host, ended): STORE_FOUND when deleted, STORE_NONE when it was
 * closed or claimed again since (the lease ran out). */
enum store_status store_host_action_drop(struct store *st, const struct store_host_action *a, char **err);
/* The latest action of hold QUARANTINE_ID, open or done. */
enum store_status store_host_action_last(struct store *st, gint64 quarantine_id,
                                         struct store_host_action *out, char **err);
void store_host_action_clear(struct store_host_action *a);

/* Whether the audit trail of the root helper apology-postsuper
 * (helper_actions, which the helper writes itself) shows that it started
 * ACTION ("release" or "discard") on hold QUARANTINE_ID at SINCE or later
 * and recorded no failure of it: the row it writes before it runs postsuper
 * ("running") or after ("released", "discarded").  STORE_FOUND or
 * STORE_NONE (also when the helper keeps its trail in another store). */
enum store_status store_helper_started(struct store *st, gint64 quarantine_id, const char *action,
                                       gint64 since, char **err);

#endif
