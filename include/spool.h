/*
 * spool.h - the store's fallback: records the daemon could not write to the
 * store (it could not be opened, a write failed, the database stayed locked
 * by another process, or the daemon's queue of records for the store was
 * full) are kept as JSON lines in one small file, SPOOL_FILE in a
 * configured directory, and written to the store once it takes them again
 * (spool_replay).  The mail itself never waits on this: holds are made in
 * the MTA whatever becomes of the record.
 *
 * One line per record: "type" is "hold", "complaint" or "apology", with the
 * fields of struct store_quarantine, struct store_complaint or of
 * store_apology_put(); a held message's copy is base64 in "raw", and the
 * host it is held on in "host" (when the record names one).  Operators
 * can read it with jq.  Each record is one write(2) under flock(2), so two
 * daemons may share a spool, and a record cut short by a full disk is taken
 * back out; one left unfinished all the same (a daemon killed in the middle
 * of a write, a power cut) is ended before the next record is written, so
 * that only it is unreadable.  The file is in the order the records were made: records that
 * were waiting to be written when the store refused them go in before the
 * ones spooled meanwhile (spool_put_first), and a replay writes them oldest
 * first.
 *
 * Bounded: a record that would take the file past MAX_SIZE bytes goes in
 * without the held message's copy ("raw": null, "raw_left_out": true; the
 * message itself is in the MTA's hold queue), and if it does not fit even
 * so it is refused: the caller logs it, and the log line is then the only
 * record.
 *
 * A replay holds a lock of its own (SPOOL_REPLAY_LOCK, flock) while it
 * writes to the store, and the file's lock only while it reads the file and
 * when it takes the records written out: records may be appended while the
 * store is slow, and nobody appending waits for the store.
 *
 * Replaying is idempotent, so a daemon that dies in the middle of a
 * replay, or before it took what it wrote out of the file, loses nothing
 * and counts nothing twice: held mail (a record whose token the store
 * already has is skipped), complaints (a second record replaces the
 * first), apologies and decisions (the store takes the same one once:
 * store_apology_put, store_decision_put; a decision spooled by a version
 * before decisions had keys has none, and may still count twice).  A replay that could not take
 * what it wrote out of the file (a full disk) remembers it in memory, and
 * the next replay skips it while the file still starts with it.
 *
 * Failures are environment errors: functions return false and set *ERR to
 * a message the caller frees with g_free().  A struct spool may be used
 * from several threads at once.  Ownership: spool_new() copies its
 * arguments; records passed in are only read.
 */
#ifndef APOLOGY_SPOOL_H
#define APOLOGY_SPOOL_H

#include <glib.h>
#include <stdbool.h>

#include "store.h"

#define SPOOL_FILE "store-spool.jsonl"
/* Lines of SPOOL_FILE set aside by a replay, as they were: lines that were
 * no record this program reads (one left unfinished, one written by a newer
 * version), and records the store refused for their data SPOOL_REFUSALS
 * replays in a row (store_failure_refused: the same data would hold up the
 * records after it for ever).  The daemon only appends to it, under the
 * file's lock; an operator lists it (spool_aside_list, `apologyctl store
 * aside list`) and, once the cause is mended (a newer version installed,
 * the store's schema or limits changed), writes it to the store
 * (spool_aside_retry, `apologyctl store aside retry`). */
#define SPOOL_ASIDE    "store-spool.aside.jsonl"
#define SPOOL_REFUSALS 3
/* The locks of the spool: files of their own beside it, made 0600 (only
 * the daemon's user can take them; readers outside the daemon read
 * SPOOL_FILE without a lock), and refused when they are not (another
 * user's, a mode that lets others open them, a symbolic link).  SPOOL_LOCK orders every change of
 * SPOOL_FILE; SPOOL_REPLAY_LOCK lets one daemon sharing the directory
 * replay it at a time. */
#define SPOOL_LOCK        "store-spool.lock"
#define SPOOL_REPLAY_LOCK "store-spool.replay.lock"
/* Seconds a read or change of SPOOL_FILE or SPOOL_ASIDE waits for its lock
 * before it fails (with an error saying so): whoever holds it longer is
 * stuck, and the mail path must not wait on it. */
#define SPOOL_LOCK_WAIT 5

struct spool;

/* A spool in DIR ("" or NULL: none, every record is refused) of at most
 * MAX_SIZE bytes.  Touches no file: DIR is made (0750) when the first
 * record comes. */
struct spool *spool_new(const char *dir, gint64 max_size);
void spool_free(struct spool *sp);
/* DIR/SPOOL_FILE, or NULL when there is no spool; owned by SP. */
const char *spool_path(const struct spool *sp);
/* DIR, or NULL when there is no spool; owned by SP. */
const char *spool_dir(const struct spool *sp);

/* Append one record.  *COPY_LEFT_OUT (may be NULL) says whether a held
 * message's copy had to be left out for the spool's size. */
bool spool_hold(struct spool *sp, const struct store_quarantine *q, bool *copy_left_out, char **err);
bool spool_complaint(struct spool *sp, const struct store_complaint *c, char **err);
bool spool_apology(struct spool *sp, const char *sender, const char *client_domain, gint64 when,
                   unsigned kinds, const char *complaint_ref, char **err);

/* One record of any type, as the daemon queues it for the store (the
 * member of its TYPE is used; the record owns its strings). */
enum spool_type { SPOOL_HOLD, SPOOL_COMPLAINT, SPOOL_APOLOGY, SPOOL_DECISION };
struct spool_apology {
	char *sender, *client_domain, *complaint_ref;
	gint64 at;
	unsigned kinds;
};
struct spool_record {
	enum spool_type type;
	struct store_quarantine q; /* SPOOL_HOLD */
	struct store_complaint c;  /* SPOOL_COMPLAINT */
	struct spool_apology a;    /* SPOOL_APOLOGY */
	struct store_decision d;   /* SPOOL_DECISION */
};
void spool_record_clear(struct spool_record *r);
void spool_record_free(struct spool_record *r);
/* About how many bytes R takes in memory. */
size_t spool_record_size(const struct spool_record *r);

/* Append R (spool_hold() and the others for any type). */
bool spool_append(struct spool *sp, const struct spool_record *r, bool *copy_left_out, char **err);
/* Put RECORDS[0..N) (oldest first) before every record the spool holds:
 * they were made before those.  Each goes in whole, or without its copy
 * (counted in *COPIES_LEFT_OUT, may be NULL) when the spool would grow past
 * its size; the first that does not fit even so and the ones after it are
 * refused.  While another daemon sharing the spool replays it, they are
 * appended instead (its records and ours are in no order with each other),
 * and so they are when the file cannot be written anew (that needs room
 * for all it holds, which a full disk may not have).
 * Returns how many went in (all N, or fewer with *ERR set). */
size_t spool_put_first(struct spool *sp, struct spool_record *const *records, size_t n,
                       unsigned *copies_left_out, char **err);
/* Write R to ST, as a replay does: a held message whose token ST has is
 * not written again. */
bool spool_record_store(struct store *st, const struct spool_record *r, char **err);
/* The log line for the lines a replay of the spool in DIR set aside (or
 * could not), or NULL when it set none aside; the caller frees it. */
struct spool_replayed;
char *spool_aside_note(const struct spool_replayed *done, const char *dir);
/* One description per line of DIR's SPOOL_ASIDE, in order, appended to
 * LINES (strings, freed by the caller's free function): the record's type,
 * time and who it is about, or the start of a line that is no record this
 * program reads (every field made fit for a terminal).  A file that does
 * not exist holds none; one that is a symbolic link, or no regular file of
 * one name, is not read (false with *ERR).  Read without a lock (a reader
 * must not keep the daemon's replays waiting: a line is set aside in one
 * write, and the file replaced by a rename); changes nothing. */
bool spool_aside_list(const char *dir, GPtrArray *lines, char **err);
/* How many lines (not empty) DIR's SPOOL_ASIDE holds, without reading them
 * as records: the daemon's gauge, read with the daemon's own rights and no
 * lock. */
bool spool_aside_count(const char *dir, unsigned *lines, char **err);
/* What spool_aside_retry() did. */
struct spool_aside_retried {
	unsigned holds, complaints, apologies, decisions; /* now in the store */
	unsigned refused;                                 /* refused again for their data: kept */
	unsigned unreadable;                              /* no record this program reads: kept */
	unsigned left;                                    /* kept untried: the store failed */
	char *refusal; /* the first refusal's message, or NULL; the caller frees it */
};
/* Write the records of DIR's SPOOL_ASIDE to ST, as a replay does (a held
 * message whose token ST has is not written again), and keep in the file
 * only the lines not written: refused again, no record, or after the store
 * failed (false with *ERR: the store's message).  The store's messages, in
 * *ERR and DONE->refusal, are made fit for a terminal (they may quote the
 * data).  The file is locked meanwhile (the daemon's replays wait to set
 * lines aside) and replaced by one holding what is kept, with the old one's
 * owner and mode; rewritten in place where that cannot be (an operator who
 * is not root, a full disk).  Never read or
 * written through a symbolic link, nor when it is no regular file of one
 * name (false with *ERR).  A file that does not exist holds nothing.
 * Killed after writing to ST and before the file is replaced, the next
 * retry writes those records again, and ST takes each once. */
bool spool_aside_retry(const char *dir, struct store *st, struct spool_aside_retried *done, char **err);
/* Drop from DIR's SPOOL_ASIDE the lines numbered NUMBERS (N of them, as
 * spool_aside_list() counts them from 1; NULL: every line), under the
 * file's lock, replacing it as spool_aside_retry() does; DROPPED gets each
 * line dropped described as spool_aside_list() does, after its number, and
 * *LINES how many the file held (G_MAXUINT when it could not be read).
 * False with *ERR, and nothing dropped, when a number names no line (one
 * above *LINES) or the file cannot be read or written (but where a rewrite
 * in place failed half-way: *ERR says so).  What is dropped is gone: an
 * operator who may want it again copies the file first. */
bool spool_aside_drop(const char *dir, const unsigned *numbers, size_t n, unsigned *lines, GPtrArray *dropped,
                      char **err);
/* Whether DIR's lock files (SPOOL_LOCK, SPOOL_REPLAY_LOCK), where there are
 * any, are this user's alone, as the spool takes them: false with *ERR
 * saying which is not and what to do (`apology-milter -n`, run as the
 * daemon's user). */
bool spool_locks_usable(const char *dir, char **err);
/* Whether the spool holds nothing (no spool, no file, or an empty one). */
bool spool_empty(struct spool *sp);

/* What spool_replay() did. */
struct spool_replayed {
	unsigned holds, complaints, apologies; /* now in the store */
	unsigned decisions;                    /* now in the store too */
	unsigned unreadable;                   /* lines that were no record: kept in SPOOL_ASIDE */
	unsigned refused;                      /* records the store kept refusing: kept in SPOOL_ASIDE */
	unsigned left;                         /* records still spooled: the store failed */
};

/* Write the spooled records to ST, oldest first, and take those written out
 * of the spool.  Returns false with *ERR when the store failed (the records
 * not yet written stay), the spool cannot be read, or a line cannot be set
 * aside (it stays, with the records after it); *DONE says how far it got
 * either way.  Nothing spooled is success. */
bool spool_replay(struct spool *sp, struct store *st, struct spool_replayed *done, char **err);

/*
 * The journal of holds: what makes a hold's record outlive the daemon's
 * death (kill -9, a crash) between the MTA's answer and the store's commit.
 * The daemon appends each hold's record (the spool's line, with the copy)
 * to a journal of its own in the spool's directory before the MTA hears of
 * the hold: one write(2), no fsync (the file outlives the process; against
 * a power cut the mail path would have to wait on the disk, which it never
 * does).  The journal is the spool's directory's
 * "store-journal-XXXXXX.jsonl", locked (flock) for as long as its daemon
 * lives, and emptied once every hold in it is in the store or the spool.
 * A journal nobody holds was left by a daemon that died: at start-up
 * spool_journal_recover() moves its holds to the spool, and the spool's
 * replay writes each to the store once (a hold whose token the store has
 * is skipped: no duplicate when the store took it before the death).
 *
 * Not thread-safe: the caller orders writes and clearing (the daemon's
 * writer does, under its lock).  Bounded by the spool's size: a hold that
 * would take the journal past it is refused, and so is every write when
 * the directory is unwritable; the caller logs why and goes on (the record
 * still goes to the store as before; only a kill then loses it).
 */
struct spool_journal;
/* A new journal of this process in SP's directory (made, 0750, when
 * missing); NULL with *ERR when there is no spool or it cannot be made.
 * Freed by spool_journal_free(), which removes it when it is empty. */
struct spool_journal *spool_journal_new(struct spool *sp, char **err);
void spool_journal_free(struct spool_journal *j);
/* Its file (owned by J). */
const char *spool_journal_path(const struct spool_journal *j);
/* A held message's spool line, with its copy (caller frees with
 * g_string_free()): what spool_journal_write() writes, made before the
 * caller takes its lock. */
GString *spool_hold_line(const struct store_quarantine *q);
/* Append LINE with one write(2); false with *ERR when the journal is full
 * or the write failed (a part written is cut off again). */
bool spool_journal_write(struct spool_journal *j, const GString *line, char **err);
/* Empty J: everything written to it is in the store or the spool. */
bool spool_journal_clear(struct spool_journal *j, char **err);
/* Move the holds of every journal in SP's directory whose daemon is gone
 * to the spool (spool_append) and remove those journals; *HOLDS says how
 * many, *COPIES_LEFT_OUT how many of them went in without the held
 * message's copy (the spool's size).  A line that is no record (cut short)
 * is dropped.  A journal whose
 * holds do not all go in stays for the next try (those that did go in are
 * then spooled twice, and replayed once).  False with *ERR when one
 * stayed or the directory cannot be read. */
bool spool_journal_recover(struct spool *sp, unsigned *holds, unsigned *copies_left_out, char **err);

/* Read the spool in DIR without changing it: the number of records in
 * *RECORDS, and the held-mail records appended to HOLDS (may be NULL) as
 * struct store_quarantine * without their copies, freed with
 * store_quarantine_free().  A spool that does not exist holds nothing.
 * The holds in journals of daemons that are gone are read as the spool's
 * (the next start moves them there); a running daemon's are its own. */
bool spool_read(const char *dir, unsigned *records, GPtrArray *holds, char **err);

#endif
