/*
 * writer.c - the daemon's store writer (see writer.h): a bounded queue of
 * records in memory, one thread that writes them to the store, and the
 * spool for what the store does not take.
 *
 * Order.  Records reach the store in the order they were made.  The lock
 * below orders every put and every change of the spool by this process:
 *
 *   - while the queue takes records (not spilling), they go to the store
 *     one by one, oldest first;
 *   - the first record the store refuses (the thread's, in hand) goes to
 *     the spool with every record queued behind it, before anything the
 *     spool holds (spool_put_first: a put that found the queue full may
 *     have spooled a newer record meanwhile); from then on (spilling) every
 *     new record is appended to the spool by the thread that made it, so
 *     the queue stays empty and nothing newer can reach the store first;
 *   - the thread writes the spool to the store (spool_replay, oldest
 *     first) every spool.retry, at once again while that succeeds, and
 *     queues records again only when it finds the spool empty under the
 *     lock: no record can be appended between that look and the change.
 *
 * Nothing here waits on the database with the lock held: a put waits at
 * most for the spool's file (an append, or the thread moving its records
 * there; the file's lock at most SPOOL_LOCK_WAIT seconds), never for the
 * store.
 *
 * The journal.  A hold queued for the store is first written to the
 * daemon's journal of holds (spool.h), under the lock, so that a kill
 * before the store has it loses nothing: the next start moves it to the
 * spool.  The thread empties the journal, under the lock, whenever no hold
 * is queued or in its hands any more (each is in the store, or the spool):
 * no hold can be written to the journal between that look and the change.
 * A journal that cannot be written costs only that protection: the hold
 * is queued as before, and the log says why once.
 */
#include <string.h>

#include "log.h"
#include "store.h"
#include "writer.h"

struct writer {
	struct spool *sp;
	struct writer_limits lim;
	GMutex lock;
	GCond wake;                   /* for the thread: a record, a try of the spool due, stop */
	GCond settled;                /* for waiters: the queue emptied, a try of the spool done, stopped */
	GQueue queue;                 /* struct spool_record *, oldest first */
	gint64 bytes;                 /* spool_record_size() of the queue */
	struct spool_record *in_hand; /* being written by the thread */
	struct store *st;             /* NULL until writer_set_store() */
	bool spilling;                /* new records go to the spool (always while there is no store) */
	bool refused;                 /* the store refused a record since spilling began (logged) */
	char *spill_why;              /* why, for the log lines of the messages */
	struct spool_replayed caught_up; /* spooled records written back while spilling, for the log */
	gint64 next_try;                 /* monotonic microseconds: the next try of the spool */
	guint64 tries;                   /* tries of the spool done */
	bool stopping, stopped;
	guint64 stored, spooled, lost;
	struct spool_journal *journal; /* NULL: holds are not journaled (logged) */
	unsigned holds_pending;        /* holds queued or in hand */
	bool journal_failing;          /* a write to the journal failed last (logged) */
	GThread *thread;
};

/* ---- logging ------------------------------------------------------------ */

/* The log line of a record nothing took: the log is then all there is. */
static void log_lost(const struct spool_record *r, const char *why)
{
	switch (r->type) {
	case SPOOL_HOLD:
		log_msg(
		    LOG_ERR,
		    "%s: the record of held mail was lost (token=%s state=%s verdict=%s score=%d): %s; the "
		    "message is in the MTA's hold queue",
		    r->q.queue_id, r->q.token, r->q.state, r->q.verdict, r->q.score, why);
		break;
	case SPOOL_COMPLAINT:
		log_msg(LOG_ERR, "the record of an inbound complaint from %s was lost: %s",
		        r->c.client_domain, why);
		break;
	case SPOOL_APOLOGY:
		log_msg(LOG_ERR, "the record of an apology from <%s> to %s was lost: %s", r->a.sender,
		        r->a.client_domain, why);
		break;
	case SPOOL_DECISION:
		log_msg(LOG_ERR, "the record of a decision (%s) on a reply from <%s> was lost: %s",
		        r->d.verdict, r->d.sender, why);
		break;
	}
}

static gint64 now_us(void)
{
	return g_get_monotonic_time();
}

/* ---- the journal of holds ----------------------------------------------- */

/* Write LINE (a hold's, taken; NULL: none) to the journal.  With the lock
 * held.  A failure is logged when it starts, and when it ends. */
static void journal_hold(struct writer *w, GString *line)
{
	if (line == NULL)
		return;
	char *err = NULL;
	bool ok = w->journal != NULL && spool_journal_write(w->journal, line, &err);
	if (!ok && err != NULL && !w->journal_failing)
		log_msg(LOG_ERR,
		        "spool: %s; held mail's records still go to the store, but those not yet in it are "
		        "lost if the daemon is killed (reconcile then alerts)",
		        err);
	else if (ok && w->journal_failing)
		log_msg(LOG_NOTICE, "spool: journal %s written again", spool_journal_path(w->journal));
	if (err != NULL || ok)
		w->journal_failing = !ok;
	g_free(err);
	g_string_free(line, TRUE);
}

/* One hold fewer queued or in hand (HOLD false: R was another record):
 * with none left, the journal is emptied.  With the lock held. */
static void journal_settle(struct writer *w, bool hold)
{
	if (hold)
		w->holds_pending--;
	char *err = NULL;
	if (w->holds_pending == 0 && w->journal != NULL && !spool_journal_clear(w->journal, &err)) {
		log_msg(LOG_ERR,
		        "spool: %s; its holds are spooled again at the next start (once each in the "
		        "store)",
		        err);
		g_free(err);
	}
}

/* ---- the thread --------------------------------------------------------- */

/* The store refused R (in hand; taken) with ERR (taken): R and every record
 * queued behind it go to the spool before what it holds, and new records
 * to the spool from now on.  With the lock held. */
static void spill(struct writer *w, struct spool_record *r, char *err)
{
	GPtrArray *batch = g_ptr_array_new_with_free_func((GDestroyNotify)spool_record_free);
	g_ptr_array_add(batch, r);
	struct spool_record *q;
	while ((q = g_queue_pop_head(&w->queue)) != NULL)
		g_ptr_array_add(batch, q);
	w->bytes = 0;
	unsigned copies = 0;
	char *why = NULL;
	size_t in =
	    spool_put_first(w->sp, (struct spool_record *const *)batch->pdata, batch->len, &copies, &why);
	w->spooled += in;
	w->holds_pending = 0;
	if (in == batch->len) /* else the journal keeps the holds the spool refused, for a while */
		journal_settle(w, false);
	for (guint i = (guint)in; i < batch->len; i++) {
		log_lost(batch->pdata[i], why);
		w->lost++;
	}
	if (!w->refused) {
		const char *path = spool_path(w->sp);
		log_msg(
		    LOG_WARNING,
		    "store: %s; this record and %u queued behind it went to the spool%s%s, and new records "
		    "go there too until the store takes them again (tried every %" G_GINT64_FORMAT "s)",
		    err, batch->len - 1, path ? " " : "", path ? path : " (none: lost, see above)",
		    w->lim.retry);
	}
	if (!w->spilling)
		memset(&w->caught_up, 0, sizeof w->caught_up);
	w->refused = true;
	if (copies > 0)
		log_msg(LOG_WARNING,
		        "spool: %u held message(s) spooled without their copy (the spool is near "
		        "spool.max-size); the messages are in the MTA's hold queue",
		        copies);
	w->spilling = true;
	g_free(w->spill_why);
	w->spill_why = g_strdup_printf("the store did not take a record: %s", err);
	w->next_try = now_us() + w->lim.retry * G_USEC_PER_SEC;
	g_free(why);
	g_free(err);
	g_ptr_array_unref(batch);
}

/* Write the oldest queued record to the store.  With the lock held; it is
 * let go while the store is written. */
static void write_next(struct writer *w)
{
	struct spool_record *r = g_queue_pop_head(&w->queue);
	w->bytes -= (gint64)spool_record_size(r);
	w->in_hand = r;
	struct store *st = w->st;
	g_mutex_unlock(&w->lock);
	char *err = NULL;
	bool ok = spool_record_store(st, r, &err);
	g_mutex_lock(&w->lock);
	w->in_hand = NULL;
	if (ok) {
		w->stored++;
		journal_settle(w, r->type == SPOOL_HOLD);
		spool_record_free(r);
	} else {
		spill(w, r, err);
	}
	if (w->queue.length == 0)
		g_cond_broadcast(&w->settled);
}

/* Write the spool to the store; queue records again once it is empty.
 * With the lock held; it is let go while the store is written. */
static void try_spool(struct writer *w)
{
	struct store *st = w->st;
	g_mutex_unlock(&w->lock);
	struct spool_replayed done;
	char *err = NULL;
	bool ok = spool_replay(w->sp, st, &done, &err);
	g_mutex_lock(&w->lock);
	w->tries++;
	w->caught_up.holds += done.holds;
	w->caught_up.complaints += done.complaints;
	w->caught_up.apologies += done.apologies;
	w->caught_up.decisions += done.decisions;
	char *unread = spool_aside_note(&done, spool_dir(w->sp));
	if (unread != NULL)
		log_msg(LOG_ERR, "%s", unread);
	g_free(unread);
	if (spool_empty(w->sp)) {
		/* Under the lock: nothing can be appended before records queue again. */
		const struct spool_replayed *c = &w->caught_up;
		unsigned n = c->holds + c->complaints + c->apologies + c->decisions;
		log_msg(LOG_NOTICE,
		        "store takes records again: %u spooled record(s) written to it (%u held, %u "
		        "complaint(s), "
		        "%u apology(ies), %u decision(s)); records are queued for it as before",
		        n, c->holds, c->complaints, c->apologies, c->decisions);
		w->spilling = w->refused = false;
		g_clear_pointer(&w->spill_why, g_free);
		memset(&w->caught_up, 0, sizeof w->caught_up);
	} else if (ok) {
		w->next_try = now_us(); /* records came meanwhile: those too, at once */
	} else {
		log_msg(LOG_ERR, "spool: %s; %u record(s) left for the next try", err, done.left);
		w->next_try = now_us() + w->lim.retry * G_USEC_PER_SEC;
	}
	g_free(err);
	g_cond_broadcast(&w->settled);
}

static gpointer writer_thread(gpointer data)
{
	struct writer *w = data;
	g_mutex_lock(&w->lock);
	for (;;) {
		if (w->queue.length > 0) {
			write_next(w);
		} else if (w->stopping) {
			break;
		} else if (w->spilling && w->st != NULL && now_us() >= w->next_try) {
			try_spool(w);
		} else if (w->spilling && w->st != NULL) {
			g_cond_wait_until(&w->wake, &w->lock, w->next_try);
		} else {
			g_cond_wait(&w->wake, &w->lock);
		}
	}
	w->stopped = true;
	g_cond_broadcast(&w->settled);
	g_mutex_unlock(&w->lock);
	return NULL;
}

/* ---- the interface ------------------------------------------------------ */

/* Move to the spool the holds of the journals of daemons that died, then
 * start W's own journal. */
static void open_journal(struct writer *w)
{
	unsigned moved = 0, bare = 0;
	char *err = NULL;
	if (!spool_journal_recover(w->sp, &moved, &bare, &err)) {
		log_msg(LOG_ERR, "spool: %s", err);
		g_clear_pointer(&err, g_free);
	}
	char note[160] = "";
	if (bare > 0)
		g_snprintf(
		    note, sizeof note,
		    " (%u without the held message's copy, for the spool's size: the message is in the "
		    "hold queue)",
		    bare);
	if (moved > 0)
		log_msg(
		    LOG_WARNING,
		    "spool: %u record(s) of held mail from the journal of a daemon that stopped before "
		    "the store had them (killed?) moved to the spool %s%s; each is written to the store once",
		    moved, spool_path(w->sp), note);
	if (spool_path(w->sp) == NULL)
		return; /* no spool: nowhere to journal (upkeep says the records are only logged) */
	w->journal = spool_journal_new(w->sp, &err);
	if (w->journal == NULL) {
		log_msg(LOG_ERR,
		        "spool: %s; held mail's records go to the store as before, but those not yet in it "
		        "are lost if the daemon is killed (reconcile then alerts)",
		        err);
		g_free(err);
	}
}

struct writer *writer_new(struct spool *sp, const struct writer_limits *limits)
{
	struct writer *w = g_new0(struct writer, 1);
	w->sp = sp;
	w->lim = *limits;
	w->lim.max_records = MAX(w->lim.max_records, 1);
	w->lim.retry = MAX(w->lim.retry, 1);
	g_mutex_init(&w->lock);
	g_cond_init(&w->wake);
	g_cond_init(&w->settled);
	g_queue_init(&w->queue);
	w->spilling = true; /* no store yet */
	open_journal(w);
	w->thread = g_thread_new("store-writer", writer_thread, w);
	return w;
}

void writer_stop(struct writer *w)
{
	g_mutex_lock(&w->lock);
	w->stopping = true;
	g_cond_signal(&w->wake);
	g_mutex_unlock(&w->lock);
	if (w->thread != NULL)
		g_thread_join(w->thread);
	w->thread = NULL;
	/* The queue is empty: its holds are in the store or the spool, and
	 * records put from now on go to the spool. */
	g_mutex_lock(&w->lock);
	journal_settle(w, false);
	spool_journal_free(w->journal); /* removed when empty */
	w->journal = NULL;
	g_mutex_unlock(&w->lock);
}

void writer_free(struct writer *w)
{
	if (w == NULL)
		return;
	writer_stop(w);
	g_queue_clear_full(&w->queue, (GDestroyNotify)spool_record_free); /* empty: the thread wrote them */
	store_close(w->st);
	g_free(w->spill_why);
	g_mutex_clear(&w->lock);
	g_cond_clear(&w->wake);
	g_cond_clear(&w->settled);
	g_free(w);
}

bool writer_set_store(struct writer *w, struct store *st, struct spool_replayed *done, char **err)
{
	/* Records keep going to the spool meanwhile (there is no store yet);
	 * the replay lets them be appended while it writes. */
	bool ok = spool_replay(w->sp, st, done, err);
	g_mutex_lock(&w->lock);
	g_assert(w->st == NULL);
	w->st = st;
	w->spilling = !spool_empty(w->sp);
	if (w->spilling) {
		w->spill_why = g_strdup("records spooled earlier wait for the store");
		w->next_try = now_us() + (ok ? 0 : w->lim.retry * G_USEC_PER_SEC);
	}
	g_cond_signal(&w->wake);
	g_mutex_unlock(&w->lock);
	return ok;
}

struct store *writer_store(struct writer *w)
{
	g_mutex_lock(&w->lock);
	struct store *st = w->st;
	g_mutex_unlock(&w->lock);
	return st;
}

void writer_result_clear(struct writer_result *res)
{
	g_free(res->why_not_queued);
	g_free(res->spool_error);
	memset(res, 0, sizeof *res);
}

enum writer_where writer_put(struct writer *w, struct spool_record *r, struct writer_result *res)
{
	memset(res, 0, sizeof *res);
	gint64 size = (gint64)spool_record_size(r);
	/* A hold's journal line is made before the lock is taken: its copy in
	 * base64 is most of the work. */
	bool hold = r->type == SPOOL_HOLD;
	GString *line = hold && spool_path(w->sp) != NULL ? spool_hold_line(&r->q) : NULL;
	g_mutex_lock(&w->lock);
	bool room = w->queue.length < w->lim.max_records && w->bytes + size <= w->lim.max_bytes;
	if (w->st != NULL && !w->stopped && !w->spilling && room) {
		journal_hold(w, line);
		w->holds_pending += hold;
		g_queue_push_tail(&w->queue, r);
		w->bytes += size;
		g_cond_signal(&w->wake);
		g_mutex_unlock(&w->lock);
		return res->where = WRITER_QUEUED;
	}
	if (w->st == NULL) {
		/* no store: the caller's log line says store=unavailable */
	} else if (w->stopped) {
		res->why_not_queued = g_strdup("the daemon is stopping");
	} else if (w->spilling) {
		res->why_not_queued = g_strdup(w->spill_why);
	} else {
		/* The queue is full: this record is newer than every queued one,
		 * and so is every record until the spool has been written back. */
		res->why_not_queued =
		    g_strdup_printf("the queue for the store is full (%u records, %" G_GINT64_FORMAT
		                    " bytes; store-queue.size, store-queue.memory)",
		                    w->queue.length, w->bytes);
		log_msg(LOG_WARNING, "store: %s; records go to the spool until the store has caught up",
		        res->why_not_queued);
		w->spilling = true;
		g_free(w->spill_why);
		w->spill_why = g_strdup(res->why_not_queued);
		memset(&w->caught_up, 0, sizeof w->caught_up);
		w->next_try = now_us(); /* once the queue is written */
	}
	if (line != NULL)
		g_string_free(line, TRUE); /* the spool is written durably: no journal needed */
	bool ok = spool_append(w->sp, r, &res->copy_left_out, &res->spool_error);
	if (ok)
		w->spooled++;
	else
		w->lost++;
	g_mutex_unlock(&w->lock);
	spool_record_free(r);
	return res->where = ok ? WRITER_SPOOLED : WRITER_LOST;
}

void writer_flush(struct writer *w)
{
	g_mutex_lock(&w->lock);
	while (!w->stopped && (w->queue.length > 0 || w->in_hand != NULL))
		g_cond_wait(&w->settled, &w->lock);
	g_mutex_unlock(&w->lock);
}

void writer_retry_now(struct writer *w)
{
	g_mutex_lock(&w->lock);
	if (w->spilling && w->st != NULL && !w->stopped) {
		guint64 want = w->tries + 1;
		w->next_try = 0;
		g_cond_signal(&w->wake);
		while (!w->stopped && w->tries < want)
			g_cond_wait(&w->settled, &w->lock);
	}
	g_mutex_unlock(&w->lock);
}

void writer_pending_holds(struct writer *w, GHashTable *ids)
{
	g_mutex_lock(&w->lock);
	for (GList *l = w->queue.head; l; l = l->next) {
		const struct spool_record *r = l->data;
		if (r->type == SPOOL_HOLD && r->q.queue_id != NULL)
			g_hash_table_add(ids, g_strdup(r->q.queue_id));
	}
	if (w->in_hand != NULL && w->in_hand->type == SPOOL_HOLD && w->in_hand->q.queue_id != NULL)
		g_hash_table_add(ids, g_strdup(w->in_hand->q.queue_id));
	g_mutex_unlock(&w->lock);
}

void writer_counts(struct writer *w, struct writer_counts *out)
{
	g_mutex_lock(&w->lock);
	out->stored = w->stored;
	out->spooled = w->spooled;
	out->lost = w->lost;
	out->queued = w->queue.length;
	out->spilling = w->spilling;
	g_mutex_unlock(&w->lock);
}
