/*
 * crashguard.h - the crash guard's file of marks and its memory of crashes,
 * private to milter/store/ (callers use store_inflight_*() in
 * include/store.h).
 *
 * A mark is a message's fingerprint written to a free slot of a small file
 * mapped shared beside the store (STORE-inflight) before the message is
 * analysed, and cleared after it.  A mark still there when the store is
 * next opened was left by a run that died while analysing that message.
 * The file is allocated for real (posix_fallocate) before it is mapped, so
 * writing a mark never needs a new block: when it cannot be allocated (a
 * full disk, a quota, a file system without the call) the guard is off,
 * and a write to the mapping can never stop the daemon with SIGBUS.
 *
 * This file knows nothing about SQLite: the backend records the marks a
 * dead run left (crashguard_left) as crashes and tells the guard the crash
 * counts it keeps (crashguard_set_crashes), which crashguard_crashes() then
 * answers from memory.  Every function may be called from several threads.
 *
 * Ownership: crashguard_open() returns a guard freed with crashguard_close().
 * *WHY strings belong to the caller (g_free).
 */
#ifndef APOLOGY_CRASHGUARD_H
#define APOLOGY_CRASHGUARD_H

#include <glib.h>
#include <stdbool.h>

#include "store.h"

struct crashguard;

/* A mark left by a run that died. */
struct crashguard_mark {
	char *fingerprint;
	gint64 started; /* when its analysis began, Unix seconds */
	unsigned slot;
};

/* Open FILE, lock it against other processes, read the marks an earlier run
 * left, allocate it and map it.  FILE NULL (a store in memory) or a file
 * another process holds: STORE_GUARD_ROWS, the backend marks in its own
 * tables.  Never fails: what went wrong is in crashguard_mode(). */
struct crashguard *crashguard_open(const char *file);
void crashguard_close(struct crashguard *g);

/* How the guard keeps its marks; when not in its file, *WHY (may be NULL)
 * is set to why (caller frees). */
enum store_guard crashguard_mode(struct crashguard *g, char **why);
/* Try again to open, allocate and map the file of a guard that is off;
 * returns the mode as crashguard_mode() does. */
enum store_guard crashguard_retry(struct crashguard *g, char **why);

/* Mark FINGERPRINT as being analysed since NOW.  False when the guard is
 * not in its file, every slot is taken or the fingerprint does not fit. */
bool crashguard_mark(struct crashguard *g, const char *fingerprint, gint64 now);
/* Clear one mark of FINGERPRINT; false when it has none. */
bool crashguard_clear(struct crashguard *g, const char *fingerprint);

/* The marks an earlier run left (struct crashguard_mark, owned by G). */
const GArray *crashguard_left(struct crashguard *g);
/* Clear those marks from the file, once the backend has recorded them. */
void crashguard_forget_left(struct crashguard *g);

/* The backend's count of the runs that died analysing FINGERPRINT, the last
 * one at LAST.  crashguard_reset_crashes() forgets every count. */
void crashguard_set_crashes(struct crashguard *g, const char *fingerprint, unsigned count, gint64 last);
void crashguard_reset_crashes(struct crashguard *g);
/* How many runs died analysing FINGERPRINT, 0 unless the last died at or
 * after SINCE. */
unsigned crashguard_crashes(struct crashguard *g, const char *fingerprint, gint64 since);

#endif
