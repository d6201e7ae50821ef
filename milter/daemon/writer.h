/*
 * writer.h - the daemon's store writer: nothing on the mail path waits on
 * the database.  A message is judged, acted on and answered; its records
 * (the hold, the apology, an inbound complaint) are then put in a bounded
 * queue in memory, and one thread of the writer's own writes them to the
 * store, oldest first, on a connection of its own whose busy timeout is
 * short (store.busy-timeout).
 *
 * What the store does not take goes to the spool (spool.h), so nothing is
 * lost: a record the store refuses, or does not take within the busy
 * timeout (another process holds a lock on the database), goes there with
 * every record queued behind it; while the spool holds records, new ones
 * are appended to it by whoever makes them (the queue would put them in
 * the store before older ones), and when the queue is full (store.queue-size
 * records or store.queue-memory bytes) a record goes there at once.  The
 * thread writes the spool to the store every spool.retry, oldest first
 * (each record once: spool.h), and records are queued again once the spool
 * is empty.  The order in which records reach the store is the order in
 * which they were made.
 *
 * Without a store (it could not be opened) every record goes to the spool;
 * writer_set_store() hands the writer the store once it opens.
 *
 * A kill loses no hold: writer_put() writes a hold it queues to the
 * daemon's journal of holds (spool.h) first, before the caller answers the
 * MTA, and the thread empties the journal whenever no hold is queued or in
 * its hands.  writer_new() first moves to the spool what the journals of
 * daemons that died left (the replay skips holds the store has), then
 * opens its own; writer_stop() removes it.  A journal that cannot be made
 * or written is logged, and holds are queued as before.
 *
 * Threads: writer_put() may be called from any thread; it never waits on
 * the database (on the spool's file only, while records go there).  The
 * other calls come from the daemon's start, upkeep and stop.
 *
 * Ownership: writer_new() borrows SP (freed after writer_free()); the store
 * handed to writer_set_store() belongs to the writer.
 */
#ifndef APOLOGY_WRITER_H
#define APOLOGY_WRITER_H

#include <glib.h>
#include <stdbool.h>

#include "spool.h"

struct store;
struct writer;

struct writer_limits {
	unsigned max_records; /* records queued at most */
	gint64 max_bytes;     /* bytes of queued records (copies of held mail included) at most */
	gint64 retry;         /* seconds between tries to write the spool to the store */
};

/* A writer with no store (every record spooled until writer_set_store());
 * the holds of dead daemons' journals moved to the spool, its own journal
 * opened; its thread starts at once. */
struct writer *writer_new(struct spool *sp, const struct writer_limits *limits);
/* writer_stop() if not done, then free W (and its store). */
void writer_free(struct writer *w);

/* Hand W the store ST (taken; only while W has none): first the spool is
 * written to it on the calling thread (*DONE, *ERR as spool_replay() sets
 * them), then records are queued for it.  Returns spool_replay()'s result. */
bool writer_set_store(struct writer *w, struct store *st, struct spool_replayed *done, char **err);
/* W's store (borrowed), or NULL while it has none. */
struct store *writer_store(struct writer *w);

/* Where writer_put() put a record. */
enum writer_where {
	WRITER_QUEUED,  /* for the store, by the writer's thread */
	WRITER_SPOOLED, /* in the spool: why_not_queued says why */
	WRITER_LOST,    /* neither: spool_error says why; the caller's log line is all there is */
};
struct writer_result {
	enum writer_where where;
	bool copy_left_out;   /* a held message's copy did not fit in the spool */
	char *why_not_queued; /* caller frees */
	char *spool_error;    /* caller frees */
};
/* Queue R (taken) for the store (a hold written to the journal first), or
 * spool it; never waits on the database. */
enum writer_where writer_put(struct writer *w, struct spool_record *r, struct writer_result *res);
void writer_result_clear(struct writer_result *res);

/* Wait until every record put so far is in the store or in the spool. */
void writer_flush(struct writer *w);
/* Try to write the spool to the store now rather than at the next
 * spool.retry, and wait for that try (tests). */
void writer_retry_now(struct writer *w);
/* Stop the thread: the queued records go to the store, or with the first
 * it refuses to the spool, before it ends; records put from then on go to
 * the spool.  Returns within about one busy timeout plus the writes. */
void writer_stop(struct writer *w);

/* Add to IDS (a set of strings, which it copies) the queue ids of the held
 * mail whose records are queued or being written: neither in the store nor
 * in the spool yet. */
void writer_pending_holds(struct writer *w, GHashTable *ids);

/* What the writer did so far. */
struct writer_counts {
	guint64 stored;  /* records its thread wrote to the store */
	guint64 spooled; /* records that went to the spool instead */
	guint64 lost;    /* records neither took */
	unsigned queued; /* records in the queue now */
	bool spilling;   /* records go to the spool now */
};
void writer_counts(struct writer *w, struct writer_counts *out);

#endif
