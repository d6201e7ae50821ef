/*
 * backtest.h - `apologyctl backtest`, private to the ctl layer: the index of
 * an archive (backtest.c builds it and judges every message) and what the
 * reports are made from (backtest_report.c prints the summary and the
 * policy diff, and writes results.jsonl and index.html).
 *
 * Memory: one struct bt_item per message (plus its interned Message-ID,
 * sender and domain, and up to 20 reference hashes), the apology history of
 * each sender and client within history.window (at most 200 entries per
 * pair, as the milter reads), counts per sender, rule and week, and a few
 * examples.  The messages themselves are read one at a time per worker;
 * the JSON lines and table rows wait in unnamed temporary files.
 *
 * Ownership: struct bt_run owns everything it points to; bt_run_free().
 */
#ifndef APOLOGY_BACKTEST_H
#define APOLOGY_BACKTEST_H

#include <glib.h>
#include <stdbool.h>
#include <stdio.h>

#include "decision.h"
#include "message.h"
#include "rules.h"

/* The two policies: the one tried (--policy) and the one it would replace
 * (--against). */
enum { BT_NEW, BT_OLD, BT_POLICIES };

/* Message flags. */
enum {
	BT_OUTGOING = 1 << 0,   /* from a sender being checked: judged */
	BT_MBOX = 1 << 1,       /* inside an mbox file */
	BT_OVERSIZE = 1 << 2,   /* over the size limit: unchecked, never read */
	BT_EARLY = 1 << 3,      /* dated before --since: not judged */
	BT_REFERENCED = 1 << 4, /* inbound, and a reply refers to it */
	BT_INTERNAL = 1 << 5,   /* outgoing, but to no client: not judged */
};

#define BT_NONE (-1)

/* One message of the archive. */
struct bt_item {
	guint32 file;                /* index into bt_run.files */
	guint32 flags;               /* BT_* */
	goffset offset;              /* in the file */
	gsize length;                /* bytes */
	gint64 date;                 /* Date header, Unix seconds, -1 when absent */
	guint64 id_hash;             /* of the Message-ID, 0 when none */
	const char *message_id;      /* interned, "" when none */
	const char *sender;          /* interned From address, lower case */
	const char *client;          /* interned: outgoing, the client's domain; inbound, From's domain */
	guint32 refs, n_refs;        /* outgoing: its reference hashes, bt_run.refs[refs...] */
	gint32 answers[BT_POLICIES]; /* outgoing: the inbound item whose complaint it
	                                answers, per policy, or BT_NONE; inbound:
	                                index into bt_run.inbound, or BT_NONE */
	guint8 verdict[BT_POLICIES];
	guint32 rules[BT_POLICIES]; /* bit per enum rule_id that fired */
	gint64 json_at, row_at;     /* in the spools: its JSON line, its table row (-1: none) */
	guint32 json_len, row_len;
};

/* A referenced inbound message as each policy reads it on arrival. */
struct bt_inbound {
	guint32 item;
	struct complaint complaint[BT_POLICIES];
};

/* A file the archive's messages are in; SOURCE is the argument it came from. */
struct bt_file {
	const char *path, *source; /* interned */
};

/* Verdict counts. */
struct bt_counts {
	gint64 n[4]; /* by enum verdict */
};

/* What one policy did over the archive. */
struct bt_stats {
	struct bt_counts all;
	GHashTable *per_sender; /* interned sender -> struct bt_counts */
	GHashTable *per_week;   /* GINT64 week start (Monday, UTC; -1 undated) -> struct bt_counts */
	gint64 rule_hold[RULE_COUNT], rule_advise[RULE_COUNT]; /* held / advised messages with the rule */
	GHashTable *unchecked;                                 /* static reason -> GINT count */
};

/* A message the new policy could not judge. */
struct bt_unchecked {
	guint32 item;
	const char *reason; /* static */
};

/* A message whose verdict changes between the policies. */
struct bt_change {
	guint32 item;
	char *line; /* its description, for the summary */
};

#define BT_EXAMPLES 5

struct bt_run {
	/* settings */
	struct policy *pol[BT_POLICIES]; /* OLD is NULL without --against */
	const char *policy_path[BT_POLICIES];
	unsigned jobs;
	gint64 since;       /* G_MININT64 without --since */
	GPtrArray *senders; /* GPatternSpec *: --sender globs; empty: the policy's */
	const char *report_dir;
	bool progress; /* a live progress line on stderr */

	/* the archive */
	GArray *files;             /* struct bt_file */
	GArray *items;             /* struct bt_item */
	GArray *refs;              /* guint64: reference hashes of outgoing items */
	GArray *inbound;           /* struct bt_inbound */
	GHashTable *inbound_by_id; /* guint64 * hash -> GINT item index + 1 */
	GHashTable *outgoing_ids;  /* guint64 * hash of sender and Message-ID: the copies left out */
	GStringChunk *strings;
	GHashTable *interned;
	GPtrArray *source_errors; /* char *: sources that could not be read */
	gint64 read, judged, early, internal, inbound_n, replies_with_complaint;
	gint64 copies; /* outgoing messages read twice (same sender and Message-ID): left out */

	/* results, under LOCK */
	GMutex lock;
	FILE *json_spool, *row_spool;
	struct bt_stats stats[BT_POLICIES];
	GArray *unchecked_items; /* struct bt_unchecked: the new policy's unchecked */
	gint64 changes[4][4];    /* [old verdict][new verdict] */
	gint64 rule_added[RULE_COUNT], rule_removed[RULE_COUNT]; /* on changed messages */
	GArray *change_examples[4][4]; /* struct bt_change, the first BT_EXAMPLES by item */
	gint done, total;              /* atomic: progress */

	/* the replies to judge: item indices grouped by (sender, client) in date
	 * order, and the groups (struct chain in backtest.c) */
	GArray *chain_order, *chains;
};

/* The fields of MSG that message_parse() fills from the header block (from,
 * message_id, in_reply_to, references, recipient_domains, date), from HEAD
 * (LEN bytes, the header block or more) alone; free with message_clear(). */
void bt_head_parse(const char *head, size_t len, struct message *msg);

/* Human names of a message: "path:offset" inside an mbox, else the path.
 * Caller frees. */
char *bt_item_place(const struct bt_run *run, const struct bt_item *it);

/* Print the summary (and with --against, what changes) to OUT. */
void bt_report_summary(const struct bt_run *run, FILE *out);
/* Write results.jsonl and index.html into run->report_dir; false with *ERR. */
bool bt_report_write(const struct bt_run *run, char **err);
/* Append one table row of index.html for a held or advised message. */
void bt_report_row(GString *out, const struct bt_run *run, const struct bt_item *it,
                   const struct decision *d);

#endif
