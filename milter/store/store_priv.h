/*
 * store_priv.h - the operations table behind include/store.h.  A backend is
 * one file that fills a struct store_ops and embeds struct store as the
 * first member of its own handle; store.c picks the backend by the scheme
 * of the location ("sqlite:PATH", "postgresql://...").  Nothing outside the store files
 * includes this header.
 */
#ifndef APOLOGY_STORE_PRIV_H
#define APOLOGY_STORE_PRIV_H

#include "store.h"

/* SQL condition of the near misses kept for review (state "sampled") made
 * before BEFORE (a parameter) that nobody judged, which store_prune()
 * deletes: no audit entry, label, notice or host action refers to them. */
#define UNJUDGED_SAMPLE(BEFORE)                                                                              \
	"state = 'sampled' AND created < " BEFORE " AND id NOT IN (SELECT quarantine_id FROM reviews)"       \
	" AND id NOT IN (SELECT quarantine_id FROM review_labels)"                                           \
	" AND id NOT IN (SELECT quarantine_id FROM host_actions)"                                            \
	" AND id NOT IN (SELECT quarantine_id FROM outbox WHERE quarantine_id IS NOT NULL)"

/* How a quarantine record is looked up. */
enum store_key { STORE_BY_TOKEN, STORE_BY_QUEUE_ID };

/* The ORDER BY of each enum store_order (store.c): fixed text, never built
 * from input, the same in every backend's SQL. */
#define STORE_ORDERS 4
extern const char *const store_quarantine_orders[STORE_ORDERS];

struct store_ops {
	const char *scheme;
	struct store *(*open)(const char *path, char **err);
	bool (*probe)(const char *path, char **detail, char **err);
	void (*close)(struct store *st);
	bool (*read_only)(struct store *st);
	int (*schema_version)(struct store *st);
	void (*set_busy_timeout)(struct store *st, int milliseconds);
	void (*set_pool_size)(struct store *st, int connections); /* NULL: no pool */
	bool (*complaint_put)(struct store *st, const struct store_complaint *c, char **err);
	enum store_status (*complaint_find)(struct store *st, const char *const *ids, size_t n_ids,
	                                    struct store_complaint *out, char **err);
	bool (*apology_put)(struct store *st, const char *sender, const char *client_domain, gint64 when,
	                    unsigned kinds, const char *complaint_ref, char **err);
	/* BEFORE 0: no upper bound. */
	bool (*history_get)(struct store *st, const char *sender, const char *client_domain, gint64 since,
	                    gint64 before, const char *exclude_ref, unsigned max, GArray *out, char **err);
	bool (*quarantine_put)(struct store *st, const struct store_quarantine *q, gint64 *id, char **err);
	enum store_status (*quarantine_get)(struct store *st, enum store_key key, const char *value,
	                                    struct store_quarantine *out, char **err);
	bool (*quarantine_set_state)(struct store *st, const char *token, const char *from, const char *to,
	                             char **err);
	bool (*review_put)(struct store *st, gint64 quarantine_id, const char *reviewer, const char *action,
	                   const char *note, gint64 when, char **err);
	bool (*inflight_begin)(struct store *st, const char *fingerprint, gint64 now, gint64 crashed_since,
	                       unsigned *crashes, char **err);
	bool (*inflight_end)(struct store *st, const char *fingerprint, char **err);
	int (*inflight_recover)(struct store *st, gint64 crashed_since, char **err);
	enum store_guard (*inflight_guard)(struct store *st, char **why);
	bool (*prune)(struct store *st, gint64 before, char **err);
	/* review: lists, the audit trail, the outbox, statistics */
	bool (*quarantine_list)(struct store *st, const struct store_query *query, GPtrArray *out,
	                        gint64 *count, char **err);
	bool (*quarantine_findings)(struct store *st, gint64 id, GArray *out, char **err);
	bool (*review_list)(struct store *st, gint64 quarantine_id, unsigned limit, GArray *out, char **err);
	bool (*outbox_put)(struct store *st, const struct store_outbox *o, bool *added, char **err);
	bool (*outbox_due)(struct store *st, gint64 now, unsigned max, GArray *out, char **err);
	bool (*outbox_claim)(struct store *st, gint64 id, gint64 seen_next_try, gint64 until, bool *claimed,
	                     char **err);
	bool (*outbox_attempt)(struct store *st, gint64 id, const char *state, gint64 next_try,
	                       const char *error, char **err);
	/* may be NULL: store_outbox_backlog() then fails */
	bool (*outbox_backlog)(struct store *st, gint64 *n, char **err);
	bool (*stats)(struct store *st, enum store_stat what, gint64 since, unsigned limit, GArray *out,
	              char **err);
	/* failed log-ins of the review page */
	bool (*login_list)(struct store *st, const char *name, const char *address, GArray *out, char **err);
	bool (*login_put)(struct store *st, const struct store_login *l, char **err);
	bool (*login_delete)(struct store *st, const char *name, const char *address, gint64 before, int *n,
	                     char **err);
	/* statistics of monitor records; reviewers' labels (store.h) */
	bool (*monitor_stats)(struct store *st, enum store_stat what, gint64 since, unsigned limit,
	                      GArray *out, char **err);
	bool (*labels_put)(struct store *st, const struct store_label *labels, size_t n, char **err);
	bool (*labels_list)(struct store *st, gint64 since, GArray *out, char **err);
	bool (*label_precision)(struct store *st, gint64 since, GArray *out, char **err);
	/* decisions (advise and hold verdicts); prune deletes them too */
	bool (*decision_put)(struct store *st, const struct store_decision *d, char **err);
	bool (*decisions_list)(struct store *st, gint64 since, const char *verdict, GArray *out, char **err);
	/* actions addressed to a mail host (store.h) */
	bool (*host_action_put)(struct store *st, const struct store_host_action *a, gint64 *id, char **err);
	/* An open action of HOST unclaimed, or claimed at or before EXPIRED. */
	enum store_status (*host_action_claim)(struct store *st, const char *host, gint64 now, gint64 expired,
	                                       struct store_host_action *out, char **err);
	/* Done at NOW with RESULT (NULL: deleted) if still open under the claim
	 * made at CLAIMED_AT. */
	enum store_status (*host_action_close)(struct store *st, gint64 id, gint64 claimed_at, gint64 now,
	                                       const char *result, char **err);
	enum store_status (*host_action_last)(struct store *st, gint64 quarantine_id,
	                                      struct store_host_action *out, char **err);
	enum store_status (*helper_started)(struct store *st, gint64 quarantine_id, const char *action,
	                                    gint64 since, char **err);
};

/* store_helper_started()'s condition, the same in both stores: $1/?1 the
 * hold, $2/?2 the action, $3/?3 since. */
#define HELPER_STARTED_SQL(p)                                                                                \
	"SELECT 1 FROM helper_actions WHERE quarantine_id = " p "1 AND action = " p "2 AND at >= " p "3"     \
	" AND outcome IN ('running', 'released', 'discarded') LIMIT 1"

struct store {
	const struct store_ops *ops;
	char *host; /* store_set_host(); NULL: g_get_host_name() */
};

/* A backend's call failed, REFUSED: because of the data (store_failure_refused). */
void store_note_failure(bool refused);

/* The host name ST records held mail and crash-guard marks under. */
const char *store_host(const struct store *st);

extern const struct store_ops store_sqlite_ops;
/* postgresql:// and postgres:// locations (store_pg.c) */
extern const struct store_ops store_pg_ops;
extern const struct store_ops store_postgres_ops;

#endif
