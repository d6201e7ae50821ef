/*
 * holdqueue.h - the MTA's hold queue against the records of held mail: the
 * queue as `postqueue -j` (or Sendmail's `-bp`) lists it, and its comparison with the store's
 * held records, the records waiting in the daemon's spool and those the
 * daemon is still writing.  Shared by `apologyctl quarantine reconcile`
 * (ctl/quarantine_cmd.c, through quarantine.c) and the daemon's own periodic reconcile (daemon/upkeep.c),
 * so it needs nothing but GLib, the store's types and the core's rendering
 * of times: no notifications, no review settings.
 *
 * Ownership: tables and arrays passed in are only read; returned tables
 * are the caller's.  Error strings are freed with g_free().
 */
#ifndef APOLOGY_HOLDQUEUE_H
#define APOLOGY_HOLDQUEUE_H

#include <glib.h>
#include <stdbool.h>

/* How long an MTA command may run where no setting says (the daemon's
 * reconcile; review.yaml's mta-timeout has the same default), and how long
 * one told to stop has before it is killed, in seconds. */
#define HOLDQUEUE_TIMEOUT 30
#define HOLDQUEUE_GRACE   2

/* Run ARGV (a NULL-terminated vector, never through a shell) for at most
 * TIMEOUT seconds (0: HOLDQUEUE_TIMEOUT); true when it exits 0.  *OUTPUT
 * and *ERRORS (may be NULL) get all it printed.  It runs in a process group
 * of its own; one still running after TIMEOUT seconds is sent SIGTERM (sudo
 * passes it on to the program it runs as root), what is left of its group
 * SIGKILL HOLDQUEUE_GRACE seconds later (its pipes are then no longer
 * read), and it is reaped before this returns: false with *ERR "ARGV[0]:
 * did not finish within N s; stopped".  Waits in a main context of its
 * own, so any thread may call it. */
bool holdqueue_run(char **argv, gint64 timeout, char **output, char **errors, char **err);

/* holdqueue_run() told HOW (HOLDQUEUE_SAFE or 0), and *STOPPED (may be
 * NULL) set when the command did not exit by itself in time: stopped at
 * its timeout or by an interrupt, whatever it had done by then.
 * HOLDQUEUE_SAFE: a queue listing, or postqueue -i, which decides no
 * message's fate, so it runs after an interrupt as well. */
#define HOLDQUEUE_SAFE 1u
bool holdqueue_run_how(char **argv, gint64 timeout, unsigned how, char **output, char **errors, bool *stopped,
                       char **err);

/* For a command-line tool whose MTA commands run in process groups of their
 * own, out of reach of the terminal's Ctrl-C: from now on the first SIGINT,
 * SIGTERM or SIGHUP stops the command under way as its timeout would, and
 * every later holdqueue_run() but a HOLDQUEUE_SAFE one fails at once, without starting
 * its command (one started as the signal came is stopped at once), with
 * *ERR "ARGV[0]: interrupted" (or "...: interrupted; stopped" for the one it
 * stopped), so that the caller can check the queue, undo what it began and
 * exit; a second such signal ends the process at once, as it did before. */
void holdqueue_catch_interrupts(void);
/* The signal holdqueue_catch_interrupts() caught, or 0. */
int holdqueue_interrupted(void);

/* Where the MTA's queue is listed from: Postfix (POSTQUEUE -j, with -c
 * POSTFIX_CONFIG unless that is "") or, when SENDMAIL_CF is not "",
 * Sendmail (SENDMAIL -C SENDMAIL_CF -bp for its queue, -bp -qQ for its
 * quarantine, listed as "hold"). */
struct holdqueue_mta {
	const char *postqueue;
	const char *postfix_config;
	const char *sendmail;
	const char *sendmail_cf;
	gint64 timeout; /* seconds each listing may take (holdqueue_run; 0: HOLDQUEUE_TIMEOUT) */
};

/* The MTA's queue as MTA lists it: a table from queue id to queue name
 * ("hold", "deferred", ...), both owned by the table.  NULL with *ERR on
 * error. */
GHashTable *holdqueue_read(const struct holdqueue_mta *mta, char **err);
/* "postqueue -j" or "sendmail -C CF -bp [-qQ]" as MTA runs them, for
 * messages; caller frees. */
char *holdqueue_describe(const struct holdqueue_mta *mta);

/* The queue ids of `sendmail -bp` output OUT added to QUEUE under NAME. */
void holdqueue_parse_sendmail(GHashTable *queue, const char *out, const char *name);

/* The queue from the text `postqueue -j` prints: one JSON object per line,
 * each with the string members "queue_name" and "queue_id" (the others are
 * ignored).  Lines that are empty, not JSON, not an object or without both
 * strings are skipped.  A table as holdqueue_read() returns; never NULL. */
GHashTable *holdqueue_parse(const char *text);

/* What holdqueue_reconcile() found. */
struct holdqueue_counts {
	unsigned held;          /* messages in the hold queue */
	unsigned recorded;      /* of them, with a held record in the store */
	unsigned being_written; /* with their record queued by the daemon for the store */
	unsigned spooled;       /* with their record waiting in the daemon's spool */
	unsigned unknown;       /* with no record anywhere */
	unsigned gone;          /* held records in the store whose message is not held */
};

/* Take out of HELD (struct store_quarantine *, freed by HELD's own free
 * function) the records of mail held on a host other than HOST: in a store
 * several mail hosts share, each compares its hold queue with its own
 * records only (another host's holds are not "no longer held" here, and its
 * queue ids are not this queue's).  Records that name no host, made before
 * hosts were recorded, stay. */
void holdqueue_keep_host(GPtrArray *held, const char *host);

/*
 * Compare the MTA's queue QUEUE (holdqueue_read) with the store's records
 * of held mail HELD (struct store_quarantine *; NULL: the store could not be
 * read), the queue ids of the records the daemon is writing PENDING (a set;
 * may be NULL) and the held-mail records waiting in the daemon's spool
 * SPOOLED (may be NULL; as spool_read() gives them).  Fills *COUNTS (may be
 * NULL), appends the queue ids of held mail with no record anywhere to
 * UNKNOWN (may be NULL; the strings are QUEUE's, in queue id order) and one
 * line per mismatch to REPORT (may be NULL): a record
 * held in the store but not in the hold queue, a message in the hold queue
 * with no record in the store (with its spooled record when there is one,
 * or a note that the daemon is writing it).  Returns the number of lines.
 */
unsigned holdqueue_reconcile(GHashTable *queue, const GPtrArray *held, GHashTable *pending,
                             const GPtrArray *spooled, struct holdqueue_counts *counts, GPtrArray *unknown,
                             GString *report);

#endif
