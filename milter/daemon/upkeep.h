/*
 * upkeep.h - the daemon's store over time: open it at start-up, or start
 * without it and judge mail all the same; try again every spool.retry;
 * write the spool (records the store could not take, spool.h) to it once
 * it can; prune old records every hour; say so in the log once per change;
 * refresh the metrics read from the store and the spool (holds waiting,
 * outbox backlog, spool depth: daemon_metrics.h).
 * Runs at start-up and on the front end's upkeep thread (daemon_upkeep in
 * frontend.h), one call at a time, never on a thread that serves the MTA.
 *
 * Ownership: CFG, SP and F are borrowed; a store returned belongs to the
 * caller (usually handed to filter_new()).
 */
#ifndef APOLOGY_UPKEEP_H
#define APOLOGY_UPKEEP_H

#include "config.h"
#include "filter.h"

struct spool;
struct store;

/* Open the store of CFG for the daemon: a store opened for reading only is
 * refused, the crash guard is set up, the marks a dead run left are
 * counted, old records are pruned.  NULL with *ERR when it cannot be
 * opened. */
struct store *upkeep_open(const struct config *cfg, char **err);

/* At start-up: upkeep_open(), and then write what SP holds from earlier to
 * the store; or, when it cannot be opened, log "store unavailable: ...;
 * judging without it: ..." and return NULL. */
struct store *upkeep_start(const struct config *cfg, struct spool *sp);

/* The periodic upkeep: when F has no store, try to open it (and hand it to
 * F, with one log line); then write the spool SP to it, and prune once an
 * hour. */
void upkeep_run(struct filter *f, struct spool *sp, const struct config *cfg);

/* What judging without the store means, as one clause for the log and for
 * `apology-milter -n`; caller frees. */
char *upkeep_without_store(const struct config *cfg);

/* For `apology-milter -n`: whether the store could be opened now
 * (store_probe: nothing is created) and what waits in the spool, on
 * standard output; a store that cannot be opened is reported loudly on
 * standard error, and is not an error: the daemon starts without it.
 * Returns whether the store is available. */
bool upkeep_check(const struct config *cfg);

#endif
