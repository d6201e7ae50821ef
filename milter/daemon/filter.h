/*
 * filter.h - what the daemon does with each SMTP session, independent of
 * libmilter: decide the scope as early as possible, buffer the message,
 * fill struct context from the store, run apology_check(), act on the
 * decision through the MTA operations table (mta.h), and hand the records
 * of complaints, apologies and held mail to the store writer (writer.h),
 * which writes them to the store after the MTA has its answer: nothing
 * here waits on the database longer than store-busy-timeout.
 *
 * apology-milter.c maps libmilter's callbacks onto these functions one to
 * one; the unit tests drive them directly with a recording mta_ops.
 *
 * Threads: one struct filter is shared by all sessions; each session has
 * its own struct filter_session, used by one thread at a time.  The
 * compiled policy is swapped atomically by filter_reload(); a session
 * keeps the policy it started a message with until that message ends.  A
 * reload never quietly shrinks the policy (policy-reload-shrink).
 *
 * The store may be missing (it could not be opened): messages are judged
 * without it, and their records go to the spool; filter_set_store() hands
 * the filter the store once it opens.  The filter's store is the one it
 * reads (lookups, crash guard); the writer has a connection of its own.
 *
 * Ownership: filter_new() borrows CFG and WRITER and takes STORE (may be
 * NULL) and POLICY (one reference); filter_free() releases them.  Sessions
 * are freed with filter_session_free().
 */
#ifndef APOLOGY_FILTER_H
#define APOLOGY_FILTER_H

#include <glib.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "config.h"
#include "mta.h"

struct policy;
struct store;
struct writer;
struct filter;
struct filter_session;

/* What to tell the MTA after a step. */
enum filter_reply {
	FILTER_CONTINUE, /* go on with this message */
	FILTER_ACCEPT,   /* done: deliver, send nothing more of this message */
	FILTER_TEMPFAIL,
	FILTER_REJECT,
	FILTER_AGAIN, /* end of message only, with filter_defer_encoder(): nothing was done; the
	                 message is kept, to be judged again where the encoder may run */
};

struct filter *filter_new(const struct config *cfg, struct store *store, struct writer *writer,
                          struct policy *pol);
void filter_free(struct filter *f);
/* The store, or NULL while it is unavailable (borrowed: the filter keeps it
 * until filter_free()). */
struct store *filter_store(struct filter *f);
/* The store opened at last: the filter takes ST and uses it from the next
 * message on.  Only while filter_store() is NULL. */
void filter_set_store(struct filter *f, struct store *st);

struct holdseal_key;
/* Seal the tokens of holds with a copy of KEY (holdseal.h) from now on;
 * call before the first session.  Without a key, tokens are random only
 * and apology-postsuper refuses to act on them. */
void filter_set_hold_key(struct filter *f, const struct holdseal_key *key);

/* How filter_reload() ended. */
enum filter_reload {
	FILTER_RELOADED,        /* the new policy is in use */
	FILTER_RELOADED_SHRUNK, /* in use although it shrinks (policy-reload-shrink: allow) */
	FILTER_RELOAD_BAD,      /* it does not load: the old one stays */
	FILTER_RELOAD_SHRINKS,  /* it shrinks (policy_compare): the old one stays */
};

/*
 * Load the configured policy again, compare it with the current one
 * (policy_compare) and swap it in, unless it does not load or it shrinks
 * and policy-reload-shrink is refuse.  *REPORT is the one line to log: the
 * outcome, and when the old policy stays, why and how to take the new one
 * anyway.  *CHANGES is the difference from the old policy, "; "-separated
 * ("" when none or when the new one does not load).  Caller frees both.
 */
enum filter_reload filter_reload(struct filter *f, char **report, char **changes);
/* The current policy, with one more reference (caller unrefs). */
struct policy *filter_policy(struct filter *f);

/* Messages between MAIL FROM and end of message, over all sessions. */
unsigned filter_in_flight(struct filter *f);
/* Stop taking new messages: from now on they are accepted unchecked at
 * MAIL FROM, as Postfix does with default_action=accept when a milter is
 * gone.  Messages in flight go on. */
void filter_stop_taking(struct filter *f);
/* filter_stop_taking(), then wait until no message is in flight, at most
 * TIMEOUT seconds; returns whether it drained. */
bool filter_drain(struct filter *f, gint64 timeout);

/* A new SMTP session from CLIENT (may be NULL when unknown) named
 * CLIENT_TEXT (address as text, "" when unknown). */
struct filter_session *filter_session_new(struct filter *f, const struct sockaddr *client,
                                          const char *client_text);
void filter_session_free(struct filter_session *s);

/* Macros the MTA sent; NULL when it did not. */
void filter_set_daemon_name(struct filter_session *s, const char *daemon_name);
/* Whether the MTA leaves leading spaces of header values to the milter
 * (SMFIP_HDR_LEADSPC was negotiated). */
void filter_set_leading_space(struct filter_session *s, bool on);

enum filter_reply filter_mail(struct filter_session *s, const char *sender, const char *auth_authen);
enum filter_reply filter_rcpt(struct filter_session *s, const char *rcpt);
/* After the last RCPT: accept at once when no recipient is a client. */
enum filter_reply filter_data(struct filter_session *s);
enum filter_reply filter_header(struct filter_session *s, const char *name, const char *value);
enum filter_reply filter_end_of_headers(struct filter_session *s);
enum filter_reply filter_body(struct filter_session *s, const unsigned char *chunk, size_t len);
/* Bytes of the current message buffered to be judged at its end: 0 when
 * none is (out of scope, over limits.max-message-size or the policy's
 * max-parts, which are not analysed, or refused for the memory budget).
 * A measure of what judging it may cost. */
size_t filter_message_bytes(const struct filter_session *s);
/* The end of the current message has come: its end-of-message time starts
 * now, where a front end that hands it to another thread first would start
 * it later (the first call counts; filter_end_of_message() makes it). */
void filter_end_arrived(struct filter_session *s);
/* Whether filter_end_of_message() may stop where the sentence encoder would
 * run (milliseconds of work, where judging costs microseconds otherwise):
 * it then answers FILTER_AGAIN, having done nothing, and the front end
 * judges the message where it may take the time (an event loop hands it to
 * a judge thread).  Off by default. */
void filter_defer_encoder(struct filter_session *s, bool defer);
/* The front end could not take data of the current message: the memory
 * budget had no room for it.  The message is let go of, and deferred at its
 * end (tempfail; the MTA sends it again later). */
void filter_refuse(struct filter_session *s);
/* Whether the current message is refused so (filter_refuse, or its own
 * buffer found the budget full). */
bool filter_refused(const struct filter_session *s);
/* The memory budget (limits.memory-budget) shared by all sessions' messages
 * and the front end's packets; owned by F. */
struct budget *filter_budget(struct filter *f);

/* Judge the message and act through OPS on MTA.  QUEUE_ID may be NULL. */
enum filter_reply filter_end_of_message(struct filter_session *s, const char *queue_id,
                                        const struct mta_ops *ops, void *mta);
/* Forget the current message (SMTP RSET, or the MTA gave up on it). */
void filter_abort(struct filter_session *s);

#endif
