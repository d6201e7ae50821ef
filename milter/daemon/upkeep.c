/*
 * upkeep.c - the daemon's store over time (see upkeep.h).  A store that
 * cannot be opened never stops the daemon: mail is judged without it (holds
 * are made in the MTA as usual), records go to the spool, and the store is
 * tried again every spool.retry.  Held mail whose record the store does not
 * have shows in the periodic reconcile.  Nothing here judges mail or speaks
 * the milter protocol.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon_metrics.h"
#include "holdqueue.h"
#include "hostname.h"
#include "log.h"
#include "spool.h"
#include "store.h"
#include "upkeep.h"

#define PRUNE_INTERVAL 3600 /* seconds */
#define UNKNOWN_LISTED 10   /* queue ids named in an alert, at most */

/* What the upkeep remembers between calls, which come one at a time
 * (upkeep.h). */
static gint guard_mode = -1;   /* how the crash guard kept its marks at the last look; -1: no look yet */
static gint64 next_prune;      /* monotonic seconds */
static char *unavailable_why;  /* why the store could not be opened at the last try */
static gint64 next_reconcile;  /* monotonic seconds; 0: at the first run */
static char *reconcile_why;    /* why the last reconcile could not compare, logged once */
static bool reconcile_alerted; /* the last reconcile found held mail with no record */
/* The MTA whose queue reconcile reads, from the daemon's settings; a
 * listing that hangs is stopped after reconcile.timeout. */
#define MTA_OF(cfg)                                                                                          \
	{                                                                                                    \
		(cfg)->postqueue, (cfg)->postfix_config, (cfg)->sendmail_bin, (cfg)->sendmail_cf,            \
		    (cfg)->queue_timeout                                                                     \
	}

static struct holdqueue_counts reconciled; /* what the last reconcile found */
static bool reconciled_once;

/* Set the crash guard up, or try again when it is off; say so when it does
 * not keep its marks in its file, and when that changes. */
static void check_guard(struct store *st)
{
	char *why = NULL;
	enum store_guard mode = store_inflight_guard(st, &why);
	gint was = g_atomic_int_get(&guard_mode);
	g_atomic_int_set(&guard_mode, (gint)mode);
	if ((gint)mode == was || (mode == STORE_GUARD_FILE && was < 0)) {
		g_free(why);
		return;
	}
	if (mode == STORE_GUARD_OFF)
		log_msg(
		    LOG_ERR,
		    "crash guard off: %s; messages are judged without in-flight marks, so one that crashes "
		    "the daemon is analysed again after each restart (tried again hourly)",
		    why);
	else if (mode == STORE_GUARD_ROWS)
		log_msg(LOG_WARNING, "crash guard: %s", why);
	else
		log_msg(LOG_NOTICE, "crash guard on again: marks in the file beside the store");
	g_free(why);
}

/* Records older than the retention, on the writer's connection WS; tried
 * again at the next run when the store is busy. */
static void prune(struct store *ws, const struct config *cfg)
{
	char *err = NULL;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	if (!store_prune(ws, now - cfg->retention, &err)) {
		log_msg(LOG_WARNING, "store: %s; pruning tried again at the next upkeep", err);
		DAEMON_COUNT(store_errors, "upkeep");
		g_free(err);
		return;
	}
	next_prune = g_get_monotonic_time() / G_USEC_PER_SEC + PRUNE_INTERVAL;
}

/* SQLite's reason for not opening a store is often only "unable to open
 * database file": add the probe's, which names the file system or the
 * permission at fault. */
static void explain(const struct config *cfg, char **err)
{
	char *detail = NULL, *why = NULL;
	if (!store_probe(cfg->store, &detail, &why) && strstr(*err, why) == NULL) {
		char *both = g_strdup_printf("%s (%s)", *err, why);
		g_free(*err);
		*err = both;
	}
	g_free(detail);
	g_free(why);
}

struct store *upkeep_open(const struct config *cfg, char **err)
{
	struct store *st = store_open(cfg->store, err);
	if (st == NULL) {
		explain(cfg, err);
		return NULL;
	}
	store_set_host(st, hostname_or_system(cfg->host_name));
	if (store_read_only(st)) {
		*err = g_strdup_printf(
		    "store %s: opened for reading only (the file is not writable, or its file "
		    "system is read-only)",
		    cfg->store);
		store_close(st);
		return NULL;
	}
	check_guard(st);
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	int crashed = store_inflight_recover(st, now - cfg->crash_forget, err);
	if (crashed < 0) {
		log_msg(LOG_ERR, "store: %s", *err);
		g_clear_pointer(err, g_free);
	} else if (crashed > 0) {
		log_msg(
		    LOG_WARNING,
		    "%d message(s) were being analysed when the daemon last stopped; each is analysed again "
		    "if sent again, unless it was in flight at an earlier death too (on-error applies then)",
		    crashed);
	}
	store_set_busy_timeout(st, (int)cfg->busy_timeout);
	store_set_pool_size(st, cfg->pool_size);
	return st;
}

struct writer_limits upkeep_writer_limits(const struct config *cfg)
{
	return (struct writer_limits){
	    .max_records = (unsigned)cfg->queue_size,
	    .max_bytes = cfg->queue_memory,
	    .retry = cfg->store_retry,
	};
}

/* The writer's own connection to the store, old records pruned on it
 * first (waiting for other processes' locks as long as a start may); NULL
 * with *ERR. */
static struct store *open_for_writer(const struct config *cfg, char **err)
{
	struct store *ws = store_open(cfg->store, err);
	if (ws == NULL) {
		explain(cfg, err);
		return NULL;
	}
	store_set_host(ws, hostname_or_system(cfg->host_name));
	store_set_pool_size(ws, cfg->pool_size);
	prune(ws, cfg);
	store_set_busy_timeout(ws, (int)cfg->busy_timeout);
	return ws;
}

char *upkeep_without_store(const struct config *cfg)
{
	char *spool = *cfg->spool_dir ? g_build_filename(cfg->spool_dir, SPOOL_FILE, NULL) : NULL;
	char *text = g_strdup_printf(
	    "holds are made in the MTA as usual, and their records, complaints and apologies %s%s; "
	    "stored complaints, apology history (repeat-apology) and the crash guard are unavailable until "
	    "the store opens (tried every %" G_GINT64_FORMAT "s)",
	    spool ? "go to the spool " : "are only logged (spool.directory is empty)", spool ? spool : "",
	    cfg->store_retry);
	g_free(spool);
	return text;
}

/* Hand W its connection WS, which writes the spool to the store first, and
 * say what came of it; CAME_BACK: the store has just opened after being
 * unavailable (one line says so, whatever the spool held). */
static void hand_to_writer(struct writer *w, struct store *ws, const struct config *cfg, bool came_back)
{
	struct spool_replayed done;
	char *err = NULL;
	bool ok = writer_set_store(w, ws, &done, &err);
	unsigned n = done.holds + done.complaints + done.apologies + done.decisions;
	if (came_back || n > 0)
		log_msg(
		    LOG_NOTICE,
		    "%s%s%s: %u spooled record(s) written to it (%u held, %u complaint(s), %u apology(ies), "
		    "%u decision(s))",
		    came_back ? "store available again: " : "spool written to the store ", cfg->store,
		    came_back ? "; judging with it from now on" : "", n, done.holds, done.complaints,
		    done.apologies, done.decisions);
	char *unread = spool_aside_note(&done, cfg->spool_dir);
	if (unread != NULL)
		log_msg(LOG_ERR, "%s", unread);
	g_free(unread);
	if (!ok) {
		log_msg(LOG_ERR, "spool: %s; %u record(s) left for the next try", err, done.left);
		DAEMON_COUNT(store_errors, "upkeep");
	}
	g_free(err);
}

/* Append the held records of this host (host-name, else the system's; and
 * those that name no host) to HELD: in a store several mail hosts share,
 * each daemon reconciles and counts its own holds only.  False with *ERR. */
static bool own_holds(struct store *st, const struct config *cfg, GPtrArray *held, char **err)
{
	if (!store_quarantine_list(st, &(struct store_query){.state = "held"}, held, err))
		return false;
	holdqueue_keep_host(held, hostname_or_system(cfg->host_name));
	return true;
}

/* The gauges read from the spool and the store (daemon_metrics.h): records
 * waiting in the spool; with ST, this host's held replies waiting for a reviewer and
 * notifications not yet sent.  A gauge that cannot be read keeps its last
 * value; the log says why once per change. */
static void measure(struct store *st, const struct config *cfg)
{
	static char *last_why;
	const struct daemon_metrics *dm = daemon_metrics();
	char *err = NULL;
	unsigned waiting = 0;
	gint64 backlog = 0;
	unsigned aside = 0;
	if (*cfg->spool_dir == '\0' || spool_read(cfg->spool_dir, &waiting, NULL, &err))
		metric_set(metric_at(dm->spool_records), waiting);
	GPtrArray *held = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	if (err == NULL && st != NULL && own_holds(st, cfg, held, &err))
		metric_set(metric_at(dm->holds_waiting), held->len);
	g_ptr_array_unref(held);
	if (err == NULL && st != NULL && store_outbox_backlog(st, &backlog, &err))
		metric_set(metric_at(dm->outbox_backlog), backlog);
	/* read whatever the others did, and they whatever it does */
	char *aside_why = NULL;
	if (*cfg->spool_dir == '\0' || spool_aside_count(cfg->spool_dir, &aside, &aside_why))
		metric_set(metric_at(dm->spool_aside), aside);
	if (err == NULL)
		err = g_steal_pointer(&aside_why);
	g_free(aside_why);
	if (err != NULL && g_strcmp0(err, last_why) != 0)
		log_msg(LOG_WARNING, "metrics: %s", err);
	g_free(last_why);
	last_why = err;
}

/* Both connections: the lookups' (returned) and the writer's (*WS). */
static struct store *open_both(const struct config *cfg, struct store **ws, char **err)
{
	struct store *st = upkeep_open(cfg, err);
	if (st == NULL)
		return NULL;
	*ws = open_for_writer(cfg, err);
	if (*ws == NULL) {
		store_close(st);
		return NULL;
	}
	return st;
}

struct store *upkeep_start(const struct config *cfg, struct writer *w)
{
	char *err = NULL;
	struct store *ws = NULL;
	struct store *st = open_both(cfg, &ws, &err);
	if (st != NULL) {
		hand_to_writer(w, ws, cfg, false);
		measure(st, cfg);
		return st;
	}
	measure(NULL, cfg);
	char *without = upkeep_without_store(cfg);
	log_msg(LOG_CRIT, "store unavailable: %s; judging without it: %s", err, without);
	g_free(without);
	g_free(unavailable_why);
	unavailable_why = err;
	return NULL;
}

/* ---- reconcile ---------------------------------------------------------- */

/* Why a reconcile could not compare (WHY, taken): logged once until it
 * changes or a reconcile works again. */
static int cannot_compare(const struct config *cfg, char *why)
{
	if (g_strcmp0(why, reconcile_why) != 0)
		log_msg(
		    LOG_WARNING,
		    "reconcile: %s; held mail is not compared with the store until this works (tried every "
		    "%" G_GINT64_FORMAT "s)",
		    why, cfg->reconcile ? cfg->reconcile : cfg->store_retry);
	g_free(reconcile_why);
	reconcile_why = why;
	return -1;
}

/* The alert: held mail the store does not know, with the counts and the
 * first queue ids of those with no record anywhere. */
static void alert(const struct holdqueue_counts *c, const GPtrArray *unknown, const char *spool)
{
	GString *line = g_string_new(NULL);
	g_string_printf(line,
	                "held but not recorded: %u of %u message(s) in the hold queue have no record in the "
	                "store: %u waiting in the spool",
	                c->spooled + c->unknown, c->held, c->spooled);
	if (c->spooled > 0)
		g_string_append_printf(line, " %s (written to the store once it takes them)",
		                       spool ? spool : "");
	g_string_append_printf(line, ", %u with no record anywhere", c->unknown);
	for (guint i = 0; i < unknown->len && i < UNKNOWN_LISTED; i++)
		g_string_append_printf(line, "%s%s",
		                       i ? " " : " (queue ids: ", (const char *)unknown->pdata[i]);
	if (unknown->len > UNKNOWN_LISTED)
		g_string_append_printf(line, " and %u more", unknown->len - UNKNOWN_LISTED);
	if (unknown->len > 0)
		g_string_append(line, "; postcat -hq ID shows one)");
	g_string_append_printf(line,
	                       "; %u being written now; %u held record(s) whose message is no longer held; "
	                       "apologyctl quarantine reconcile lists them",
	                       c->being_written, c->gone);
	log_msg(LOG_ALERT, "%s", line->str);
	g_string_free(line, TRUE);
}

int upkeep_reconcile(struct writer *w, const struct config *cfg)
{
	/* In this order, so that a record moving on meanwhile (queue -> store
	 * or spool, spool -> store) is found where it went: the hold queue
	 * first, the store last. */
	char *err = NULL;
	struct holdqueue_mta mta = MTA_OF(cfg);
	GHashTable *queue = holdqueue_read(&mta, &err);
	if (queue == NULL) {
		cannot_compare(cfg, g_strdup_printf("cannot read the hold queue: %s", err));
		g_free(err);
		return -1;
	}
	GHashTable *pending = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	writer_pending_holds(w, pending);
	GPtrArray *spooled = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	unsigned waiting = 0;
	if (*cfg->spool_dir && !spool_read(cfg->spool_dir, &waiting, spooled, &err)) {
		log_msg(LOG_WARNING, "reconcile: %s (records spooled are not counted)", err);
		g_clear_pointer(&err, g_free);
	}
	struct store *st = writer_store(w);
	GPtrArray *held = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	int rc = -1;
	if (st != NULL && !own_holds(st, cfg, held, &err)) {
		cannot_compare(cfg, g_strdup_printf("cannot read the store: %s", err));
		g_free(err);
		goto out;
	}
	g_clear_pointer(&reconcile_why, g_free);
	struct holdqueue_counts c;
	GPtrArray *unknown = g_ptr_array_new();
	holdqueue_reconcile(queue, st ? held : NULL, pending, spooled, &c, unknown, NULL);
	char *spool = *cfg->spool_dir ? g_build_filename(cfg->spool_dir, SPOOL_FILE, NULL) : NULL;
	bool changed = !reconciled_once || c.held != reconciled.held || c.recorded != reconciled.recorded ||
	               c.gone != reconciled.gone;
	if (c.spooled + c.unknown > 0)
		alert(&c, unknown, spool);
	else if (reconcile_alerted || changed) /* an unchanged queue is not logged again */
		log_msg(reconcile_alerted ? LOG_NOTICE : LOG_INFO,
		        "reconcile: %s%u message(s) in the hold queue, %u recorded in the store, %u being "
		        "written "
		        "now; %u held record(s) whose message is no longer held",
		        reconcile_alerted ? "held mail recorded again: " : "", c.held, c.recorded,
		        c.being_written, c.gone);
	reconcile_alerted = c.spooled + c.unknown > 0;
	reconciled = c;
	reconciled_once = true;
	rc = (int)c.unknown;
	g_free(spool);
	g_ptr_array_unref(unknown);
out:
	g_ptr_array_unref(held);
	g_ptr_array_unref(spooled);
	g_hash_table_unref(pending);
	g_hash_table_unref(queue);
	return rc;
}

/* ---- the periodic upkeep ------------------------------------------------ */

void upkeep_run(struct filter *f, struct writer *w, const struct config *cfg)
{
	struct store *st = filter_store(f);
	if (st == NULL) {
		char *err = NULL;
		struct store *ws = NULL;
		st = open_both(cfg, &ws, &err);
		if (st == NULL) {
			if (g_strcmp0(err, unavailable_why) != 0)
				log_msg(LOG_ERR, "store still unavailable, now: %s", err);
			g_free(unavailable_why);
			unavailable_why = err;
		} else {
			g_clear_pointer(&unavailable_why, g_free);
			hand_to_writer(w, ws, cfg, true);
			filter_set_store(f, st);
		}
	}
	gint64 now = g_get_monotonic_time() / G_USEC_PER_SEC;
	if (st != NULL && now >= next_prune) {
		check_guard(st);
		prune(writer_store(w), cfg);
	}
	if (cfg->reconcile > 0 && now >= next_reconcile) {
		upkeep_reconcile(w, cfg);
		next_reconcile = now + cfg->reconcile;
	}
	measure(st, cfg);
}

/* ---- apology-milter -n ------------------------------------------------ */

/* Whether records could be spooled in DIR (made with the first record when
 * missing). */
static bool spool_writable(const char *dir, char **why)
{
	char *parent = g_path_get_dirname(dir);
	bool missing = access(dir, W_OK) != 0 && errno == ENOENT;
	bool ok = missing ? access(parent, W_OK) == 0 : access(dir, W_OK) == 0;
	if (!ok && missing)
		*why =
		    g_strdup_printf("spool %s does not exist and cannot be made in %s: %s (under systemd the "
		                    "unit's RuntimeDirectory= makes it at start)",
		                    dir, parent, g_strerror(errno));
	else if (!ok)
		*why = g_strdup_printf("spool %s: cannot write in it: %s", dir, g_strerror(errno));
	g_free(parent);
	return ok;
}

bool upkeep_check(const struct config *cfg)
{
	char *detail = NULL, *err = NULL;
	bool available = store_probe(cfg->store, &detail, &err);
	if (available) {
		printf("store OK: %s (%s)\n", cfg->store, detail);
	} else {
		char *without = upkeep_without_store(cfg);
		fflush(stdout);
		fprintf(stderr,
		        "WARNING: store unavailable: %s\n"
		        "WARNING: apology-milter starts all the same and judges mail without it: %s\n",
		        err, without);
		g_free(without);
	}
	g_clear_pointer(&err, g_free);
	unsigned waiting = 0;
	if (*cfg->spool_dir == '\0') {
		printf("spool: none (spool.directory is empty): records the store cannot take are only "
		       "logged\n");
	} else if (!spool_writable(cfg->spool_dir, &err) || !spool_locks_usable(cfg->spool_dir, &err) ||
	           !spool_read(cfg->spool_dir, &waiting, NULL, &err)) {
		fflush(stdout);
		fprintf(stderr, "WARNING: %s; records the store cannot take would only be logged\n", err);
	} else {
		printf("spool OK: %s/%s (%u record(s) waiting for the store)\n", cfg->spool_dir, SPOOL_FILE,
		       waiting);
		GPtrArray *aside = g_ptr_array_new_with_free_func(g_free);
		if (!spool_aside_list(cfg->spool_dir, aside, &err)) {
			fflush(stdout);
			fprintf(stderr, "WARNING: %s\n", err);
		} else if (aside->len > 0) {
			fflush(stdout);
			fprintf(
			    stderr,
			    "WARNING: %u line(s) a replay set aside in %s/%s (apologyctl store aside list; "
			    "retry them once their cause is mended)\n",
			    aside->len, cfg->spool_dir, SPOOL_ASIDE);
		}
		g_ptr_array_unref(aside);
	}
	g_clear_pointer(&err, g_free);
	char *memory = g_format_size_full((guint64)cfg->queue_memory, G_FORMAT_SIZE_IEC_UNITS);
	printf("store writer: records queued for the store after each verdict, up to %d (%s) before they go "
	       "to the spool; the store's calls wait at most %" G_GINT64_FORMAT "ms for another process's "
	       "lock\n",
	       cfg->queue_size, memory, cfg->busy_timeout);
	g_free(memory);
	if (cfg->reconcile == 0) {
		printf("reconcile: off (reconcile.interval is 0): held mail with no record is not noticed\n");
	} else {
		struct holdqueue_mta mta = MTA_OF(cfg);
		GHashTable *queue = holdqueue_read(&mta, &err);
		char *how = holdqueue_describe(&mta);
		unsigned held = 0;
		GHashTableIter it;
		gpointer name;
		if (queue != NULL) {
			g_hash_table_iter_init(&it, queue);
			while (g_hash_table_iter_next(&it, NULL, &name))
				held += strcmp(name, "hold") == 0;
			printf("reconcile OK: every %" G_GINT64_FORMAT
			       "s, the hold queue from %s (%u held now)\n",
			       cfg->reconcile, how, held);
			g_hash_table_unref(queue);
		} else {
			fflush(stdout);
			fprintf(stderr,
			        "WARNING: reconcile: cannot read the hold queue: %s; held mail with no "
			        "record in the "
			        "store would not be noticed\n",
			        err);
		}
		g_free(how);
	}
	fflush(stdout);
	g_free(err);
	g_free(detail);
	return available;
}
