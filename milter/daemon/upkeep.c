/*
 * upkeep.c - the daemon's store over time (see upkeep.h).  A store that
 * cannot be opened never stops the daemon: mail is judged without it (holds
 * are made in the MTA as usual), records go to the spool, and the store is
 * tried again every spool.retry.  Nothing here judges mail or speaks the
 * milter protocol.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon_metrics.h"
#include "log.h"
#include "spool.h"
#include "store.h"
#include "upkeep.h"

#define PRUNE_INTERVAL 3600 /* seconds */

/* What the upkeep remembers between calls, which come one at a time
 * (upkeep.h). */
static gint guard_mode = -1;  /* how the crash guard kept its marks at the last look; -1: no look yet */
static gint64 next_prune;     /* monotonic seconds */
static char *unavailable_why; /* why the store could not be opened at the last try */

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

/* The crash guard, then records older than the retention. */
static void prune(struct store *st, const struct config *cfg)
{
	char *err = NULL;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	check_guard(st);
	if (!store_prune(st, now - cfg->retention, &err)) {
		log_msg(LOG_ERR, "store: %s", err);
		DAEMON_COUNT(store_errors, "upkeep");
		g_free(err);
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
	prune(st, cfg);
	return st;
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

/* Write the spool to ST and say what came of it; CAME_BACK: ST has just
 * opened after being unavailable (one line says so, whatever the spool
 * held). */
static void replay(struct spool *sp, struct store *st, const struct config *cfg, bool came_back)
{
	struct spool_replayed done;
	char *err = NULL;
	bool ok = spool_replay(sp, st, &done, &err);
	unsigned n = done.holds + done.complaints + done.apologies;
	if (came_back || n > 0)
		log_msg(
		    LOG_NOTICE,
		    "%s%s%s: %u spooled record(s) written to it (%u held, %u complaint(s), %u apology(ies))",
		    came_back ? "store available again: " : "spool written to the store ", cfg->store,
		    came_back ? "; judging with it from now on" : "", n, done.holds, done.complaints,
		    done.apologies);
	if (done.unreadable > 0)
		log_msg(LOG_ERR, "spool %s: %u line(s) were no record this program reads; dropped",
		        spool_path(sp), done.unreadable);
	if (!ok) {
		log_msg(LOG_ERR, "spool: %s; %u record(s) left for the next try", err, done.left);
		DAEMON_COUNT(store_errors, "upkeep");
	}
	g_free(err);
}

/* The gauges read from the spool and the store (daemon_metrics.h): records
 * waiting in the spool; with ST, held replies waiting for a reviewer and
 * notifications not yet sent.  A gauge that cannot be read keeps its last
 * value; the log says why once per change. */
static void measure(struct store *st, const struct config *cfg)
{
	static char *last_why;
	const struct daemon_metrics *dm = daemon_metrics();
	char *err = NULL;
	unsigned waiting = 0;
	gint64 held = 0, backlog = 0;
	if (*cfg->spool_dir == '\0' || spool_read(cfg->spool_dir, &waiting, NULL, &err))
		metric_set(metric_at(dm->spool_records), waiting);
	struct store_query query = {.state = "held"};
	if (err == NULL && st != NULL && store_quarantine_count(st, &query, &held, &err))
		metric_set(metric_at(dm->holds_waiting), held);
	if (err == NULL && st != NULL && store_outbox_backlog(st, &backlog, &err))
		metric_set(metric_at(dm->outbox_backlog), backlog);
	if (err != NULL && g_strcmp0(err, last_why) != 0)
		log_msg(LOG_WARNING, "metrics: %s", err);
	g_free(last_why);
	last_why = err;
}

struct store *upkeep_start(const struct config *cfg, struct spool *sp)
{
	char *err = NULL;
	struct store *st = upkeep_open(cfg, &err);
	if (st != NULL) {
		replay(sp, st, cfg, false);
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

void upkeep_run(struct filter *f, struct spool *sp, const struct config *cfg)
{
	struct store *st = filter_store(f);
	bool came_back = st == NULL;
	if (st == NULL) {
		char *err = NULL;
		st = upkeep_open(cfg, &err);
		if (st == NULL) {
			if (g_strcmp0(err, unavailable_why) != 0)
				log_msg(LOG_ERR, "store still unavailable, now: %s", err);
			g_free(unavailable_why);
			unavailable_why = err;
			measure(NULL, cfg);
			return;
		}
		g_clear_pointer(&unavailable_why, g_free);
		filter_set_store(f, st);
	}
	replay(sp, st, cfg, came_back);
	if (g_get_monotonic_time() / G_USEC_PER_SEC >= next_prune)
		prune(st, cfg);
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
	} else if (!spool_writable(cfg->spool_dir, &err) ||
	           !spool_read(cfg->spool_dir, &waiting, NULL, &err)) {
		fflush(stdout);
		fprintf(stderr, "WARNING: %s; records the store cannot take would only be logged\n", err);
	} else {
		printf("spool OK: %s/%s (%u record(s) waiting for the store)\n", cfg->spool_dir, SPOOL_FILE,
		       waiting);
	}
	fflush(stdout);
	g_free(err);
	g_free(detail);
	return available;
}
