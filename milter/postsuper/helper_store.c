/*
 * helper_store.c - the helper's reads and writes of the store (see
 * helper_store.h): SQLite here; a PostgreSQL location goes to
 * helper_store_pg.c, which runs the same statements.  Every value is a
 * bound parameter.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helper_store.h"
#include "helper_store_pg.h"

#define TEXT_MAX 200

/*
 * Who the helper is while it reads and writes an SQLite store.  SQLite
 * running as root gives the files it opens beside the store (its journal,
 * its write-ahead log) to the store file's owner, even files that were
 * there before: a hard link planted there by whoever may write in that
 * directory would hand them a file of root's.  So while it uses the store
 * the helper takes the identity of the directory's owner (the daemon's
 * user, who can do all that there anyway), with that directory's group as
 * its only group; it stays root only in a directory only root may write.
 */
struct identity {
	bool changed;
	gid_t egid; /* the helper's own, to go back to */
	int n_groups;
	gid_t *groups; /* the helper's own supplementary groups, to go back to */
};

/* The groups of USER with GID first (its directory's group), as its login
 * has them: a new array (its length in *N), or NULL when USER has no
 * entry or memory runs out.  Sized by asking, not by NGROUPS_MAX: that is
 * 65536 on Linux, a quarter of a megabyte on the stack. */
static gid_t *login_groups(const char *user, gid_t gid, int *n)
{
	int want = 32;
	for (int tries = 0; tries < 2; tries++) {
		gid_t *groups = calloc((size_t)want, sizeof *groups);
		int got = want;
		if (groups == NULL)
			return NULL;
		if (getgrouplist(user, gid, groups, &got) >= 0) {
			*n = got;
			return groups;
		}
		free(groups);
		if (got <= want)
			return NULL;
		want = got; /* getgrouplist() said how many there are */
	}
	return NULL;
}

static bool become_store_owner(const char *path, struct identity *id, char *why, size_t why_size)
{
	id->changed = false;
	if (geteuid() != 0)
		return true;
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	if (slash == NULL)
		snprintf(dir, sizeof dir, ".");
	else
		snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
	struct stat sb;
	if (stat(dir, &sb) != 0) {
		snprintf(why, why_size, "store %s: %s: %s", path, dir, strerror(errno));
		return false;
	}
	if (sb.st_uid == 0) {
		if ((sb.st_mode & (S_IWGRP | S_IWOTH)) == 0)
			return true;
		snprintf(
		    why, why_size,
		    "store %s: its directory %s is root's and others may write in it: not opened as root "
		    "(give the directory to the daemon's user)",
		    path, dir);
		return false;
	}
	/* the owner's groups, as its login (and the daemon under systemd) has
	 * them, with the directory's first; that group alone without an entry */
	struct passwd *pw = getpwuid(sb.st_uid);
	int n = 1;
	gid_t *groups = pw ? login_groups(pw->pw_name, sb.st_gid, &n) : NULL;
	gid_t alone = sb.st_gid;
	int mine = getgroups(0, NULL);
	id->groups = mine >= 0 ? calloc((size_t)mine + 1, sizeof *id->groups) : NULL;
	id->n_groups = id->groups ? getgroups(mine, id->groups) : -1;
	id->egid = getegid();
	if (groups == NULL) {
		groups = &alone;
		n = 1;
	}
	/* each step undone if a later one fails: nothing has changed then */
	int step = id->n_groups < 0                    ? 0
	           : setgroups((size_t)n, groups) != 0 ? 0
	           : setegid(sb.st_gid) != 0           ? 1
	           : seteuid(sb.st_uid) != 0           ? 2
	                                               : 3;
	int err = errno;
	if (groups != &alone)
		free(groups);
	if (step == 3) {
		id->changed = true;
		return true;
	}
	snprintf(why, why_size, "store %s: cannot take the identity of %s's owner: %s", path, dir,
	         id->n_groups < 0 ? "cannot read the helper's own groups" : strerror(err));
	if ((step >= 2 && setegid(id->egid) != 0) ||
	    (step >= 1 && setgroups((size_t)id->n_groups, id->groups) != 0))
		abort(); /* changed, and cannot change back: not to go on as neither */
	free(id->groups);
	return false;
}

static void become_root_again(struct identity *id)
{
	if (id->changed &&
	    (seteuid(0) != 0 || setegid(id->egid) != 0 || setgroups((size_t)id->n_groups, id->groups) != 0))
		abort(); /* the helper cannot act as the store's owner on Postfix's queue */
	if (id->changed)
		free(id->groups);
}

/* Open the store at PATH for reading (READ_ONLY) or writing, hardened
 * against a file someone else wrote: no symbolic links, no triggers or
 * views, no functions with side effects from the schema, defensive mode.
 * NULL with WHY set on failure. */
static sqlite3 *open_store(const char *path, bool read_only, char *why, size_t why_size)
{
	sqlite3 *db = NULL;
	int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOFOLLOW;
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK ||
	    sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL) != SQLITE_OK ||
	    sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL) != SQLITE_OK ||
	    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL) != SQLITE_OK ||
	    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(db, 5000) != SQLITE_OK) {
		snprintf(why, why_size, "store %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

/* Prepare SQL on DB; NULL with WHY set (and DB closed) on failure. */
static sqlite3_stmt *prepare(sqlite3 *db, const char *path, const char *sql, char *why, size_t why_size)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK)
		return q;
	snprintf(why, why_size, "store %s: %s", path, sqlite3_errmsg(db));
	sqlite3_close(db);
	return NULL;
}

static enum helper_held sqlite_held(const char *path, const char *queue_id, const char *token, long long *id,
                                    char *why, size_t why_size)
{
	sqlite3 *db = open_store(path, true, why, why_size);
	if (db == NULL)
		return HELD_ERROR;
	/* Held, or claimed by a reviewer's decision: the review tools move the
	 * record to its new state before they call the helper, and back to
	 * "held" when it fails.  A decision is carried out once: a decided
	 * record the helper has already released or discarded, or started on
	 * and never said how it ended (killed, or its outcome not recorded:
	 * it may have acted, as the review tools take it too), is spent, so a
	 * later message that Postfix gives the same short queue id, carrying a
	 * copy of the old token, is not acted on.  Never a record of mail the
	 * daemon rejected or only would have held (monitor): that is not in the
	 * hold queue. */
	sqlite3_stmt *q =
	    prepare(db, path,
	            "SELECT id FROM quarantine AS q WHERE queue_id = ?1 AND token = ?2 AND "
	            "(state = 'held' OR (state IN ('released', 'deleted', 'returned', 'expired') "
	            "AND NOT EXISTS (SELECT 1 FROM helper_actions AS h WHERE h.quarantine_id = q.id "
	            "AND h.outcome IN ('released', 'discarded', 'running'))))",
	            why, why_size);
	if (q == NULL)
		return HELD_ERROR;
	sqlite3_bind_text(q, 1, queue_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, token, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	enum helper_held held = rc == SQLITE_ROW ? HELD_YES : rc == SQLITE_DONE ? HELD_NO : HELD_ERROR;
	if (held == HELD_YES)
		*id = sqlite3_column_int64(q, 0);
	if (held == HELD_ERROR)
		snprintf(why, why_size, "store %s: %s", path, sqlite3_errmsg(db));
	sqlite3_finalize(q);
	sqlite3_close(db);
	return held;
}

void helper_text_clean(char *dst, size_t size, const char *text)
{
	size_t n = 0;
	for (const char *p = text ? text : ""; *p != '\0' && n + 1 < size; p++)
		dst[n++] = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
	if (size > 0)
		dst[n] = '\0';
}

/* Bind TEXT, cleaned, to parameter I of Q. */
static void bind_clean(sqlite3_stmt *q, int i, const char *text)
{
	char clean[TEXT_MAX + 1];
	helper_text_clean(clean, sizeof clean, text);
	sqlite3_bind_text(q, i, clean, -1, SQLITE_TRANSIENT);
}

/* Run the one-row change Q on DB and close both; false with WHY set. */
static bool run_change(sqlite3 *db, sqlite3_stmt *q, const char *path, long long *row, char *why,
                       size_t why_size)
{
	int rc = sqlite3_step(q);
	bool ok = rc == SQLITE_DONE && sqlite3_changes(db) == 1;
	if (!ok)
		snprintf(why, why_size, "store %s: %s", path,
		         rc == SQLITE_DONE ? "no such audit row" : sqlite3_errmsg(db));
	if (ok && row != NULL)
		*row = sqlite3_last_insert_rowid(db);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return ok;
}

static bool sqlite_audit_add(const char *path, const struct helper_audit *a, long long *row, char *why,
                             size_t why_size)
{
	sqlite3 *db = open_store(path, false, why, why_size);
	if (db == NULL)
		return false;
	sqlite3_stmt *q =
	    prepare(db, path,
	            "INSERT INTO helper_actions (at, caller, action, queue_id, token, postfix_config, "
	            "quarantine_id, outcome, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	            why, why_size);
	if (q == NULL)
		return false;
	sqlite3_bind_int64(q, 1, a->at);
	bind_clean(q, 2, a->caller);
	bind_clean(q, 3, a->action);
	bind_clean(q, 4, a->queue_id);
	bind_clean(q, 5, a->token);
	bind_clean(q, 6, a->postfix_config);
	if (a->quarantine_id > 0)
		sqlite3_bind_int64(q, 7, a->quarantine_id);
	bind_clean(q, 8, a->outcome);
	bind_clean(q, 9, a->detail);
	return run_change(db, q, path, row, why, why_size);
}

static bool sqlite_audit_finish(const char *path, long long row, const char *outcome, const char *detail,
                                char *why, size_t why_size)
{
	sqlite3 *db = open_store(path, false, why, why_size);
	if (db == NULL)
		return false;
	sqlite3_stmt *q = prepare(
	    db, path, "UPDATE helper_actions SET outcome = ?2, detail = ?3 WHERE id = ?1", why, why_size);
	if (q == NULL)
		return false;
	sqlite3_bind_int64(q, 1, row);
	bind_clean(q, 2, outcome);
	bind_clean(q, 3, detail);
	return run_change(db, q, path, NULL, why, why_size);
}

enum helper_held helper_store_held(const char *path, const char *queue_id, const char *token, long long *id,
                                   char *why, size_t why_size)
{
	if (helper_pg_location(path))
		return helper_pg_held(path, queue_id, token, id, why, why_size);
	struct identity was;
	if (!become_store_owner(path, &was, why, why_size))
		return HELD_ERROR;
	enum helper_held held = sqlite_held(path, queue_id, token, id, why, why_size);
	become_root_again(&was);
	return held;
}

bool helper_audit_add(const char *path, const struct helper_audit *a, long long *row, char *why,
                      size_t why_size)
{
	if (helper_pg_location(path))
		return helper_pg_audit_add(path, a, row, why, why_size);
	struct identity was;
	if (!become_store_owner(path, &was, why, why_size))
		return false;
	bool ok = sqlite_audit_add(path, a, row, why, why_size);
	become_root_again(&was);
	return ok;
}

bool helper_audit_finish(const char *path, long long row, const char *outcome, const char *detail, char *why,
                         size_t why_size)
{
	if (helper_pg_location(path))
		return helper_pg_audit_finish(path, row, outcome, detail, why, why_size);
	struct identity was;
	if (!become_store_owner(path, &was, why, why_size))
		return false;
	bool ok = sqlite_audit_finish(path, row, outcome, detail, why, why_size);
	become_root_again(&was);
	return ok;
}
