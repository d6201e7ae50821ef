/*
 * upkeep.h - the daemon's store over time: open it at start-up (twice: one
 * connection for the lookups on the mail path, one for the store writer,
 * writer.h), or start without it and judge mail all the same; try again
 * every spool.retry; prune old records every hour; compare the MTA's hold
 * queue with the store at start and every reconcile.interval, with an
 * alert in the log for held mail that has no record; say so in the log
 * once per change; refresh the metrics read from the store and the spool
 * (holds waiting, outbox backlog, spool depth: daemon_metrics.h).  Runs at
 * start-up and on the front end's upkeep thread (daemon_upkeep in
 * frontend.h), one call at a time, never on a thread that serves the MTA.
 *
 * Ownership: CFG, W and F are borrowed; a store returned belongs to the
 * caller (usually handed to filter_new()); the writer's connection belongs
 * to the writer.
 */
#ifndef APOLOGY_UPKEEP_H
#define APOLOGY_UPKEEP_H

#include "config.h"
#include "filter.h"
#include "writer.h"

struct store;

/* Open the store of CFG for the daemon's lookups: a store opened for
 * reading only is refused, the crash guard is set up, the marks a dead run
 * left are counted; its calls then wait at most store-busy-timeout for a
 * lock.  NULL with *ERR when it cannot be opened. */
struct store *upkeep_open(const struct config *cfg, char **err);

/* The limits of the store writer in CFG. */
struct writer_limits upkeep_writer_limits(const struct config *cfg);

/* At start-up: upkeep_open(), and a connection of the writer W's own,
 * handed to it once what the spool holds from earlier is written to the
 * store; old records are pruned.  When the store cannot be opened, log
 * "store unavailable: ...; judging without it: ..." and return NULL. */
struct store *upkeep_start(const struct config *cfg, struct writer *w);

/* The periodic upkeep: when F has no store, try to open it (and hand it to
 * W and F, with one log line); prune once an hour; reconcile at the first
 * call and then every reconcile.interval. */
void upkeep_run(struct filter *f, struct writer *w, const struct config *cfg);

/* Compare the MTA's hold queue (reconcile.postqueue -j) with the store's
 * held records, the spool and W's queue, now: one log line with the
 * counts, an alert ("held but not recorded: ...") when held mail has no
 * record in the store.  Returns the number of held messages with no
 * record anywhere (not in the store, the spool or W's queue), or -1 when
 * the hold queue or the store could not be read. */
int upkeep_reconcile(struct writer *w, const struct config *cfg);

/* What judging without the store means, as one clause for the log and for
 * `apology-milter -n`; caller frees. */
char *upkeep_without_store(const struct config *cfg);

/* For `apology-milter -n`: whether the store could be opened now
 * (store_probe: nothing is created), what waits in the spool, the store
 * writer's limits and whether the hold queue can be read for reconcile,
 * on standard output; a store that cannot be opened is reported loudly on
 * standard error, and is not an error: the daemon starts without it.
 * Returns whether the store is available. */
bool upkeep_check(const struct config *cfg);

#endif
