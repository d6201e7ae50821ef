/*
 * quarantine.h - deciding about held mail: the actions a reviewer takes
 * (release, discard, return with a comment, expiry) and the view of the
 * MTA's hold queue they are checked against.  Shared by `apologyctl
 * quarantine` and the apology-review web server, so that both act through
 * the same narrow path: the privileged helper apology-postsuper, a check of
 * the hold queue afterwards (nothing is marked released that is still
 * held), one audit record per decision (who, when, what, comment) and the
 * notifications of the outbox.
 *
 * Ownership: records passed in are only read; returned strings and tables
 * are the caller's.  Error strings are freed with g_free().
 */
#ifndef APOLOGY_QUARANTINE_H
#define APOLOGY_QUARANTINE_H

#include <glib.h>
#include <stdbool.h>

#include "review_config.h"
#include "store.h"

enum review_action { REVIEW_RELEASE, REVIEW_DISCARD, REVIEW_RETURN, REVIEW_EXPIRE };

/* The name of ACTION as the audit trail records it ("release", ...). */
const char *review_action_name(enum review_action action);

/*
 * Act on held record ID as WHO, with COMMENT (may be NULL; required for
 * REVIEW_RETURN).  REVIEW_EXPIRE releases or returns as the configuration
 * says.  Returns false with *ERR set when the record is not held, when the
 * helper fails or when the message is still in the hold queue afterwards;
 * a failure of the MTA step is recorded in the audit trail too.  A helper
 * that exited 0 is trusted when the queue cannot be read afterwards.  False
 * also when the decision was left open (quarantine_decide_open).  WRONG
 * (char *; may be NULL) are the rules of the reply's findings the reviewer
 * marked wrong, recorded as the decision's labels (labeling.h); a rule
 * that is not one of them fails before anything is done.
 * A hold that another mail host holds (quarantine_elsewhere) is not acted
 * on here: the decision is written to the store as an action addressed to
 * that host, for its agent (quarantine_agent_once), and *SENT_TO (may be
 * NULL; caller frees) gets the host's name.  Every decision takes the
 * hold's one open action in the store (a local one for as long as it is
 * carried out here), so any decision is refused while another is open
 * ("message N has a release waiting on mx2; ...").  Expiry acts only on
 * this host's holds. */
bool quarantine_decide(const struct review_config *cfg, struct store *st, gint64 id,
                       enum review_action action, const char *who, const char *comment,
                       const GPtrArray *wrong, gint64 now, char **sent_to, char **err);
/* The same, *LEFT_OPEN (may be NULL) set when it returns false with the
 * decision neither done nor failed but left open: its MTA step done (the
 * helper exited 0, or the queue shows it done) but the decision not
 * recorded (the store failed).  The record then stays
 * in the decision's state, not held, and the hold's action open, as when
 * the deciding process stops at that point: this host's agent, or the next
 * decision about the hold here, finishes it after agent-lease (the queue
 * read again, the decision recorded once).  *ERR says which ("release of
 * message N done; recording failed: ... (it will be recorded by ...)"). */
bool quarantine_decide_open(const struct review_config *cfg, struct store *st, gint64 id,
                            enum review_action action, const char *who, const char *comment,
                            const GPtrArray *wrong, gint64 now, char **sent_to, bool *left_open, char **err);

/* Whether Q is a passed near miss kept for review (state "sampled", or
 * "judged" once judged), not a hold. */
bool quarantine_near_miss(const struct store_quarantine *q);
/* A reviewer WHO's judgement of record ID, a passed near miss the daemon
 * kept for review (state "sampled": its sample.near-misses): COMPLAINT
 * whether its thread answered a complaint after all.  Nothing reaches the
 * MTA: the mail went out.  Moves the record to "judged", then records an
 * audit entry ("judge-complaint" or "judge-none", with COMMENT, may be
 * NULL) and the label LABEL_NEAR_MISS (labeling.h).  False with *ERR when
 * ID is not a sampled near miss (another judgement came first, say). */
bool quarantine_judge(struct store *st, gint64 id, bool complaint, const char *who, const char *comment,
                      gint64 now, char **err);

/* How long after a hold was recorded it may be forgotten: the daemon
 * records a hold before the MTA has moved its message to the hold queue. */
#define QUARANTINE_FORGET_AFTER 300

/* Record WHO's finding that held record ID's message left the MTA's hold
 * queue outside apology-milter (an admin's `postsuper -d` or `-H`, a
 * queue cleared by hand): its state becomes "gone" and the audit trail
 * gets a "forget" entry saying where the queue has the message now (in
 * none, or the queue's name) and COMMENT (may be NULL); *WHERE (may be
 * NULL; caller frees) says it too.  Nothing reaches the MTA.  Refused
 * (false with *ERR) when ID is not held, is held on another host, was held
 * less than QUARANTINE_FORGET_AFTER seconds before NOW, has a decision
 * open, is in the hold queue, or when the queue cannot be read. */
bool quarantine_forget(const struct review_config *cfg, struct store *st, gint64 id, const char *who,
                       const char *comment, gint64 now, char **where, char **err);

/* Whether another mail host holds Q (a record without a host is taken as
 * this host's: it was made before hosts were recorded, with one store per
 * host). */
bool quarantine_elsewhere(const struct review_config *cfg, const struct store_quarantine *q);

/* The agent of this host (`apologyctl quarantine agent`): claim each action
 * addressed to this host in the store, one at a time (also one whose claim
 * is older than agent-lease: its agent stopped before its result), carry it
 * out through the local helper as its reviewer decided it (the local path of
 * quarantine_decide; what a stopped agent already did is not done again)
 * and record its result ("done...", or "failed: why"), each at NOW plus the
 * whole seconds the actions before it took.  Appends a line per action to
 * REPORT.  Returns how many were carried out, or -1 with *ERR when the
 * store failed. */
int quarantine_agent_once(const struct review_config *cfg, struct store *st, gint64 now, GString *report,
                          char **err);

/* The state of the latest action addressed to a host about Q, such as
 * "release waiting on mx2" (waiting, running, done, failed; an expiry's
 * "expiry running on mx2"); NULL when it
 * has none, "?" when the store cannot say.  *OPEN (may be NULL) says
 * whether it waits or runs.  Caller frees. */
char *quarantine_action_state(struct store *st, const struct store_quarantine *q, bool *open);

/* The most MTA commands one decision runs here, each bounded by
 * mta-timeout (holdqueue_run): the queue read when an attempt takes over a
 * stopped claim, the helper, the queue read after it, and Postfix's
 * postqueue -i or the read of the undo; Sendmail's queue is read with two
 * commands.  4 with Postfix, 7 with Sendmail. */
unsigned quarantine_mta_commands(const struct review_config *cfg);

/* Read the MTA's queue (postqueue -j): a table from queue id to queue name
 * ("hold", "deferred", ...), both owned by the table.  NULL on error. */
GHashTable *quarantine_mta_queue(const struct review_config *cfg, char **err);

/* Compare the MTA's queue QUEUE (quarantine_mta_queue) with the store's
 * records of held mail HELD (NULL: the store could not be opened) and the
 * held-mail records waiting in the daemon's spool SPOOLED (may be NULL; as
 * spool_read() gives them): one line per mismatch appended to REPORT - a
 * record held in the store but not in the hold queue, a message in the hold
 * queue with no record in the store (with its spooled record, when there is
 * one: token, sender, recipients, verdict).  Returns how many. */
unsigned quarantine_reconcile(GHashTable *queue, const GPtrArray *held, const GPtrArray *spooled,
                              GString *report);

/* The name of the person at the terminal (the sudo user under sudo);
 * caller frees. */
char *quarantine_whoami(void);

/* SECONDS as a short age ("5m", "3h", "4d"); caller frees. */
char *quarantine_age(gint64 seconds);

/* The findings of record ID (struct store_finding, span order), in an
 * array that frees them; caller unrefs.  When the store fails: an empty
 * array and *ERR set (caller frees), so a display can say so. */
GArray *quarantine_findings(struct store *st, gint64 id, char **err);

/* The distinct rule ids of record ID, comma-separated, in order ("?" when
 * the store cannot say); caller frees. */
char *quarantine_rules(struct store *st, gint64 id);

/* The first recipient's domain ("" when none); caller frees. */
char *quarantine_client_domain(const struct store_quarantine *q);

/* Record ID with its copy of the message, or NULL (with *ERR set when the
 * store failed, unset when there is no such record). */
struct store_quarantine *quarantine_load(struct store *st, gint64 id, char **err);

/* A span of a reply's new text: plain, or the words of finding FINDING. */
struct text_span {
	size_t start, end;
	int finding; /* index into the findings, or -1 */
};
/* Cut a text of LEN bytes into spans by the findings' byte spans (struct
 * store_finding): in order, never overlapping, each piece marked with the
 * narrowest finding that covers it; spans outside the text are ignored.
 * Returns a GArray of struct text_span the caller frees. */
GArray *quarantine_spans(size_t len, const GArray *findings);

/* The author's new text of record Q, which the stored findings' spans refer
 * to: the store's (the daemon's, as it judged the reply), or NULL for a
 * record held before the store kept it (schema 10).  Caller frees. */
char *quarantine_new_text(const struct store_quarantine *q, size_t *len);

#endif
