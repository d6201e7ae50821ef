/*
 * store.h - what the daemon remembers between messages: inbound complaints,
 * the apology history of each sender towards each client, quarantine
 * records of held mail (Postfix drops the hold reason, so this is the only
 * record of why a message was held), review decisions, and in-flight
 * fingerprints that let a restarted daemon skip a message that crashed it.
 *
 * The store sits outside the core: the daemon reads it to fill struct
 * context before apology_check() and writes to it after the decision.
 * A store is opened from a location such as "sqlite:/var/lib/x/store.db"
 * (a bare path means sqlite); each backend is one file (store_sqlite.c)
 * behind the operations table in store_priv.h.
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
	unsigned kinds;      /* failure kinds, bit mask (policy_kind_index) */
};

/* A message held for review, or one that monitor mode would have held. */
struct store_quarantine {
	gint64 id;           /* assigned by the store */
	char *queue_id;
	char *message_id;
	char *token;         /* the random token also put in the message header */
	char *sender;
	char *recipients;    /* comma-separated */
	char *verdict;
	int score;
	char *findings_json; /* rendered from struct decision */
	char *complaint_ref; /* Message-ID of the complaint answered, or NULL */
	char *raw;           /* the message as the MTA passed it */
	size_t raw_len;
	gint64 created;      /* Unix seconds */
	char *state;         /* "held", "monitor", "released", "deleted", "expired" */
};

/* Open (creating and migrating as needed) the store at LOCATION. */
struct store *store_open(const char *location, char **err);
void store_close(struct store *st);
/* The schema version the store is at. */
int store_schema_version(struct store *st);

/* Record a complaint; a second record for the same Message-ID replaces it. */
bool store_complaint_put(struct store *st, const struct store_complaint *c, char **err);
/* Find the newest stored complaint whose Message-ID is one of IDS. */
enum store_status store_complaint_find(struct store *st, const char *const *ids, size_t n_ids,
                                       struct store_complaint *out, char **err);
void store_complaint_clear(struct store_complaint *c);

/* Record that SENDER apologised to CLIENT_DOMAIN at WHEN for KINDS, in
 * answer to the complaint with Message-ID COMPLAINT_REF (NULL: unknown). */
bool store_apology_put(struct store *st, const char *sender, const char *client_domain,
                       gint64 when, unsigned kinds, const char *complaint_ref, char **err);
/* Append struct history_entry (thread.h) for SENDER -> CLIENT_DOMAIN since
 * SINCE, newest first, at most MAX entries.  Apologies that answered the
 * complaint EXCLUDE_REF (when not NULL) are left out: a second reply to the
 * same complaint is not the same mistake made again. */
bool store_history_get(struct store *st, const char *sender, const char *client_domain,
                       gint64 since, const char *exclude_ref, unsigned max, GArray *out,
                       char **err);

/* Add a quarantine record; its id is returned in *ID (may be NULL). */
bool store_quarantine_put(struct store *st, const struct store_quarantine *q, gint64 *id,
                          char **err);
/* Look a record up by its token. */
enum store_status store_quarantine_get(struct store *st, const char *token,
                                       struct store_quarantine *out, char **err);
/* Look the newest record up by queue id (queue ids are reused: callers check
 * Message-ID and sender before acting). */
enum store_status store_quarantine_by_queue_id(struct store *st, const char *queue_id,
                                               struct store_quarantine *out, char **err);
bool store_quarantine_set_state(struct store *st, const char *token, const char *state,
                                char **err);
void store_quarantine_clear(struct store_quarantine *q);

/* Record a reviewer's decision about a quarantine record. */
bool store_review_put(struct store *st, gint64 quarantine_id, const char *reviewer,
                      const char *action, const char *note, gint64 when, char **err);

/*
 * Crash guard.  store_inflight_begin() records FINGERPRINT before analysis;
 * *CRASHED_BEFORE is set when an earlier run died while analysing the same
 * message (the caller then passes it as unchecked).  store_inflight_end()
 * removes the record after analysis.  store_inflight_recover(), called once
 * at start-up, marks records left by a previous run as crashed and returns
 * how many there were, or -1 on error.
 */
bool store_inflight_begin(struct store *st, const char *fingerprint, gint64 now,
                          bool *crashed_before, char **err);
bool store_inflight_end(struct store *st, const char *fingerprint, char **err);
int store_inflight_recover(struct store *st, char **err);

/* Delete complaints, history and finished in-flight records older than
 * BEFORE.  Quarantine records are kept (their expiry is a review policy). */
bool store_prune(struct store *st, gint64 before, char **err);

#endif
