/*
 * helper_store_pg.c - the root helper's reads and writes of a PostgreSQL
 * store (see helper_store_pg.h): the same statements as helper_store.c's
 * on SQLite, every value a bound parameter (PQexecParams), each on a
 * connection of its own with a short statement timeout, so that a locked
 * table or a slow server makes the helper fail (exit 75, try again), never
 * hang under sudo.  libc and libpq only.
 *
 * What the store says is checked like SQLite's: the caller has already
 * checked the token's seal (holdseal.h), so a row someone wrote into the
 * shared database by hand does not make the helper act.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper_store_pg.h"

#define TEXT_MAX 200
/* The statement timeout and connect timeout of the helper's connections. */
#define STATEMENT_TIMEOUT_MS "5000"
#define CONNECT_TIMEOUT_S    "5"

bool helper_pg_location(const char *location)
{
	return strncmp(location, "postgresql://", 13) == 0 || strncmp(location, "postgres://", 11) == 0;
}

/* Notices are not errors, and never reach the reviewer's terminal. */
static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* LOCATION as messages show it: the scheme and host part up to the
 * database, without a password. */
static void shown(const char *location, char *out, size_t size)
{
	const char *start = strstr(location, "://");
	const char *at = start ? strchr(start + 3, '@') : NULL;
	const char *slash = start ? strchr(start + 3, '/') : NULL;
	if (at != NULL && (slash == NULL || at < slash))
		snprintf(out, size, "%.*s***%.*s", (int)(start + 3 - location), location,
		         slash ? (int)(slash - at) : (int)strlen(at), at);
	else
		snprintf(out, size, "%.*s", slash ? (int)(slash - location) : (int)strlen(location),
		         location);
}

/* Say WHAT went wrong on C (or with R) in WHY. */
static void say(const char *location, PGconn *c, PGresult *r, const char *what, char *why, size_t why_size)
{
	char where[256];
	shown(location, where, sizeof where);
	const char *m = r ? PQresultErrorMessage(r) : c ? PQerrorMessage(c) : "out of memory";
	size_t n = strcspn(m, "\n");
	snprintf(why, why_size, "store %s: %s: %.*s", where, what, (int)n, *m ? m : "no answer");
}

/* A connection to LOCATION with the helper's statement timeout (set as a
 * bound parameter); NULL with WHY set. */
static PGconn *connect_store(const char *location, char *why, size_t why_size)
{
	const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
	const char *const vals[] = {CONNECT_TIMEOUT_S, "apology-postsuper", location, NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		say(location, c, NULL, "cannot connect", why, why_size);
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, quiet, NULL);
	const char *timeout[] = {STATEMENT_TIMEOUT_MS};
	PGresult *r = PQexecParams(c, "SELECT set_config('statement_timeout', $1, false)", 1, NULL, timeout,
	                           NULL, NULL, 0);
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok) {
		say(location, c, r, "setting the statement timeout", why, why_size);
		PQfinish(c);
		c = NULL;
	}
	PQclear(r);
	return c;
}

/* Run SQL with the N text parameters V on a new connection to LOCATION:
 * the result (tuples or a command's status), or NULL with WHY set. */
static PGresult *run(const char *location, const char *sql, int n, const char *const *v, const char *what,
                     char *why, size_t why_size)
{
	PGconn *c = connect_store(location, why, why_size);
	if (c == NULL)
		return NULL;
	PGresult *r = PQexecParams(c, sql, n, NULL, v, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		say(location, c, r, what, why, why_size);
		PQclear(r);
		r = NULL;
	}
	PQfinish(c);
	return r;
}

/* Run SQL as run() does and read the id its first row returns into *ID
 * (may be NULL): 1 with a row, 0 without, -1 with WHY set. */
static int run_id(const char *location, const char *sql, int n, const char *const *v, const char *what,
                  long long *id, char *why, size_t why_size)
{
	PGresult *r = run(location, sql, n, v, what, why, why_size);
	if (r == NULL)
		return -1;
	int rows = PQntuples(r) > 0;
	if (rows && id != NULL)
		*id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return rows;
}

enum helper_held helper_pg_held(const char *location, const char *queue_id, const char *token, long long *id,
                                char *why, size_t why_size)
{
	/* The same statement as on SQLite (helper_store.c says why). */
	const char *v[] = {queue_id, token};
	int found =
	    run_id(location,
	           "SELECT id FROM quarantine AS q WHERE queue_id = $1::text AND token = $2::text AND "
	           "(state = 'held' OR (state IN ('released', 'deleted', 'returned', 'expired') "
	           "AND NOT EXISTS (SELECT 1 FROM helper_actions AS h WHERE h.quarantine_id = q.id "
	           "AND h.outcome IN ('released', 'discarded', 'running'))))",
	           2, v, "reading the hold's record", id, why, why_size);
	return found < 0 ? HELD_ERROR : found ? HELD_YES : HELD_NO;
}

bool helper_pg_audit_add(const char *location, const struct helper_audit *a, long long *row, char *why,
                         size_t why_size)
{
	char at[24], record[24], text[7][TEXT_MAX + 1];
	const char *const given[] = {a->caller,         a->action,  a->queue_id, a->token,
	                             a->postfix_config, a->outcome, a->detail};
	for (int i = 0; i < 7; i++)
		helper_text_clean(text[i], sizeof text[i], given[i]);
	snprintf(at, sizeof at, "%lld", a->at);
	snprintf(record, sizeof record, "%lld", a->quarantine_id);
	const char *v[] = {
	    at,      text[0], text[1], text[2], text[3], text[4], a->quarantine_id > 0 ? record : NULL,
	    text[5], text[6]};
	return run_id(location,
	              "INSERT INTO helper_actions (at, caller, action, queue_id, token, postfix_config, "
	              "quarantine_id, outcome, detail) VALUES ($1::bigint, $2::text, $3::text, $4::text, "
	              "$5::text, $6::text, $7::bigint, $8::text, $9::text) RETURNING id",
	              9, v, "writing the audit trail", row, why, why_size) == 1;
}

bool helper_pg_audit_finish(const char *location, long long row, const char *outcome, const char *detail,
                            char *why, size_t why_size)
{
	char id[24], out[TEXT_MAX + 1], said[TEXT_MAX + 1];
	snprintf(id, sizeof id, "%lld", row);
	helper_text_clean(out, sizeof out, outcome);
	helper_text_clean(said, sizeof said, detail);
	const char *v[] = {id, out, said};
	PGresult *r = run(
	    location, "UPDATE helper_actions SET outcome = $2::text, detail = $3::text WHERE id = $1::bigint",
	    3, v, "writing the audit trail", why, why_size);
	if (r == NULL)
		return false;
	bool ok = strcmp(PQcmdTuples(r), "1") == 0;
	if (!ok)
		snprintf(why, why_size, "store: no such audit row");
	PQclear(r);
	return ok;
}
