/*
 * logins.h - how the review page throttles guessed passwords, shared by
 * apology-review (which asks before it checks a password and reports each
 * wrong one) and `apologyctl logins` (which lists and clears the locks).
 *
 * Two counts, kept in the store (struct store_login) so that they outlive a
 * restart and an administrator can clear them from another process:
 *   - wrong passwords in a row for one user name from one client address:
 *     after cfg->login_failures of them that name is locked for that
 *     address only, for LOGINS_LOCK_FIRST seconds, doubled with each further
 *     failure up to LOGINS_LOCK_MAX; a right password from there clears it;
 *   - wrong passwords from one client address, whatever the names: after
 *     cfg->login_failures_per_address the address is locked in the same way.
 *     A success does not clear it, or one known account would let an
 *     address go on guessing the others.
 * A client address is one IPv4 address, or the /64 network of an IPv6 one
 * (review_address_throttled(): one host is given a /64 to pick from).
 * A count is forgotten LOGINS_FORGET seconds after its last failure and its
 * lock have both ended.  An attempt while locked is refused before its
 * password is checked, and not counted.  An attempt that may go on is
 * counted as a failure before its password is checked (which takes a
 * while, on purpose), so that guesses sent at once each count against the
 * others; a right password takes its count back.
 *
 * Ownership: strings passed in are only read; error strings are the
 * caller's to g_free().
 */
#ifndef APOLOGY_LOGINS_H
#define APOLOGY_LOGINS_H

#include <glib.h>
#include <stdbool.h>

#include "review_config.h"
#include "store.h"

#define LOGINS_LOCK_FIRST 60
#define LOGINS_LOCK_MAX   900
#define LOGINS_FORGET     900

/* Seconds NAME from ADDRESS must still wait (its own lock there, or the
 * address's), 0 when it may try; -1 with *ERR on a store error. */
gint64 logins_locked(struct store *st, const char *name, const char *address, gint64 now, char **err);
/* The locks one failure starts, in seconds (0: none). */
struct logins_locks {
	gint64 name;    /* the user name, from that address */
	gint64 address; /* the address, whatever the name */
	/* logins_begin(): the address's record before and after it counted the
	 * attempt, for logins_succeeded() to take it back */
	struct logins_state {
		int failures;
		gint64 last, locked_until;
	} before, after;
};
/* Count a wrong password for NAME from ADDRESS at NOW; *STARTED says what
 * it locks. */
bool logins_failed(const struct review_config *cfg, struct store *st, const char *name, const char *address,
                   gint64 now, struct logins_locks *started, char **err);
/* Before NAME's password from ADDRESS is checked, at NOW: logins_locked()
 * and, when that is 0, logins_failed() at once, as one step (*STARTED: the
 * locks the attempt starts if its password is wrong).  The seconds to wait,
 * 0 when the password may be checked, -1 with *ERR on a store error. */
gint64 logins_begin(const struct review_config *cfg, struct store *st, const char *name, const char *address,
                    gint64 now, struct logins_locks *started, char **err);
/* A right password for NAME from ADDRESS after logins_begin(), which said
 * *BEGUN: its count there starts again, and the address's record is as it
 * was before the attempt (or, where other attempts counted meanwhile, loses
 * one failure, and the lock this one started if no later one renewed it). */
bool logins_succeeded(struct store *st, const char *name, const char *address,
                      const struct logins_locks *begun, char **err);
/* One more failure of record L at NOW, LIMIT failures allowed before a
 * lock: updates its count, time and lock (no I/O). */
void logins_count(struct store_login *l, int limit, gint64 now);

#endif
