/*
 * helper_store.h - what the root helper apology-postsuper reads from and
 * writes to the daemon's store (SQLite, schema in store/store_sqlite.c, or
 * PostgreSQL, store/store_pg.c, in helper_store_pg.c): DB below is the
 * settings' store, a path of an SQLite file or a postgresql:// location:
 * whether a queue id and token belong to a record of mail the daemon
 * holds, and the helper's own audit trail, table helper_actions (one row
 * per request: who asked, what, for which queue id and token, the outcome).
 *
 * The store may be written by reviewers, so nothing read from it is
 * trusted beyond what the caller checks (the token's seal, holdseal.h):
 * connections refuse symbolic links, run in SQLite's defensive mode with
 * triggers and views off and an untrusted schema; PostgreSQL connections
 * are the helper's own, one per statement, with a 5 s statement timeout.
 * libc, SQLite and libpq only;
 * WHY receives a sentence for the caller to print.
 */
#ifndef APOLOGY_HELPER_STORE_H
#define APOLOGY_HELPER_STORE_H

#include <stdbool.h>
#include <stddef.h>

enum helper_held { HELD_ERROR = -1, HELD_NO = 0, HELD_YES = 1 };

/* Does the store at DB (opened read-only) have a record of a hold of
 * QUEUE_ID with TOKEN: held, or claimed by a reviewer's decision (released,
 * deleted, returned, expired), not rejected or monitor?  *ID gets the
 * record's id when it does. */
enum helper_held helper_store_held(const char *db, const char *queue_id, const char *token, long long *id,
                                   char *why, size_t why_size);

/* One row of the helper's audit trail. */
struct helper_audit {
	const char *caller; /* "alice (sudo)", "root" */
	const char *action; /* as asked ("release", "discard", or what else was given) */
	const char *queue_id;
	const char *token;
	const char *postfix_config; /* the instance asked for ("" for the default) */
	long long quarantine_id;    /* the record acted on; 0 when none */
	const char *outcome;        /* "refused", "running", "released", "discarded", "failed" */
	const char *detail;         /* why, or what postsuper said */
	long long at;               /* Unix seconds */
};

/* Copy TEXT (NULL: "") to DST of SIZE bytes, cut to fit, control
 * characters replaced by '?': what a caller passed is recorded, never
 * trusted, in the audit trail and in syslog. */
void helper_text_clean(char *dst, size_t size, const char *text);

/* Append A to the audit trail of the store at DB; *ROW (may be NULL) gets
 * its id.  Each text is cleaned (helper_text_clean) to at most 200 bytes. */
bool helper_audit_add(const char *db, const struct helper_audit *a, long long *row, char *why,
                      size_t why_size);
/* Set the outcome and detail of audit row ROW. */
bool helper_audit_finish(const char *db, long long row, const char *outcome, const char *detail, char *why,
                         size_t why_size);

#endif
