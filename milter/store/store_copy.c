/*
 * store_copy.c - store_copy(): an SQLite store copied into a PostgreSQL one
 * (`apologyctl store migrate`).  Both are first opened through store.h, so
 * both are at this program's schema; then every table of the SQLite file
 * (read only) is copied, column by column as SQLite names them, into the
 * same table of PostgreSQL, all in one transaction on the target.  The
 * identity counters of the target are moved past the copied ids; held
 * messages recorded before hosts were get this host's name.
 */
#include <libpq-fe.h>
#include <sqlite3.h>
#include <string.h>

#include "store_priv.h"

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Run SQL on C; false with *ERR naming WHAT. */
static bool pq_ok(PGconn *c, PGresult *r, const char *what, char **err)
{
	ExecStatusType st = PQresultStatus(r);
	bool ok = r != NULL && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK);
	if (!ok && *err == NULL) {
		char *m = g_strchomp(g_strdup(r ? PQresultErrorMessage(r) : PQerrorMessage(c)));
		*err = g_strdup_printf("%s: %s", what, m);
		g_free(m);
	}
	return ok;
}

static bool pq_exec(PGconn *c, const char *sql, int n, const char *const *vals, const char *what, char **err)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0);
	bool ok = pq_ok(c, r, what, err);
	PQclear(r);
	return ok;
}

/* The tables of the SQLite store, quarantine first (others refer to it). */
static GPtrArray *sqlite_tables(sqlite3 *db, char **err)
{
	sqlite3_stmt *q = NULL;
	GPtrArray *t = g_ptr_array_new_with_free_func(g_free);
	if (sqlite3_prepare_v2(
	        db,
	        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
	        " AND name <> 'schema_version' ORDER BY name <> 'quarantine', name",
	        -1, &q, NULL) != SQLITE_OK) {
		*err = g_strdup_printf("reading the tables: %s", sqlite3_errmsg(db));
		g_ptr_array_unref(t);
		return NULL;
	}
	while (sqlite3_step(q) == SQLITE_ROW)
		g_ptr_array_add(t, g_strdup((const char *)sqlite3_column_text(q, 0)));
	sqlite3_finalize(q);
	return t;
}

static char *quoted(PGconn *c, const char *name)
{
	char *q = PQescapeIdentifier(c, name, strlen(name));
	char *copy = g_strdup(q);
	PQfreemem(q);
	return copy;
}

/* The rows of the target's tables; refuses (*ERR) when there are any and
 * not FORCE, else empties them all. */
static bool target_empty(PGconn *c, const GPtrArray *tables, bool force, char **err)
{
	GString *found = g_string_new(NULL);
	GString *all = g_string_new(NULL);
	for (guint i = 0; i < tables->len && *err == NULL; i++) {
		char *t = quoted(c, tables->pdata[i]);
		char *sql = g_strdup_printf("SELECT count(*) FROM %s", t);
		PGresult *r = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 0);
		char *what = g_strdup_printf("target table %s (is the target at this program's schema?)",
		                             (const char *)tables->pdata[i]);
		if (pq_ok(c, r, what, err) && strcmp(PQgetvalue(r, 0, 0), "0") != 0)
			g_string_append_printf(found, "%s%s: %s rows", found->len ? ", " : "",
			                       (const char *)tables->pdata[i], PQgetvalue(r, 0, 0));
		g_string_append_printf(all, "%s%s", all->len ? ", " : "", t);
		PQclear(r);
		g_free(what);
		g_free(sql);
		g_free(t);
	}
	if (*err == NULL && found->len > 0 && !force)
		*err = g_strdup_printf("the target is not empty (%s); --force replaces what it holds",
		                       found->str);
	else if (*err == NULL && found->len > 0) {
		char *sql = g_strdup_printf("TRUNCATE %s", all->str);
		pq_exec(c, sql, 0, NULL, "emptying the target", err);
		g_free(sql);
	}
	g_string_free(found, TRUE);
	g_string_free(all, TRUE);
	return *err == NULL;
}

/* Copy TABLE's rows; their number, or -1 with *ERR. */
static gint64 copy_table(sqlite3 *db, PGconn *c, const char *table, char **err)
{
	char *sql = g_strdup_printf("SELECT * FROM \"%s\"", table);
	sqlite3_stmt *q = NULL;
	gint64 n = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
		*err = g_strdup_printf("reading %s: %s", table, sqlite3_errmsg(db));
		g_free(sql);
		return -1;
	}
	int cols = sqlite3_column_count(q);
	GString *insert = g_string_new(NULL);
	char *t = quoted(c, table);
	g_string_append_printf(insert, "INSERT INTO %s (", t);
	for (int i = 0; i < cols; i++) {
		char *col = quoted(c, sqlite3_column_name(q, i));
		g_string_append_printf(insert, "%s%s", i ? ", " : "", col);
		g_free(col);
	}
	g_string_append(insert, ") VALUES (");
	for (int i = 0; i < cols; i++)
		g_string_append_printf(insert, "%s$%d", i ? ", " : "", i + 1);
	g_string_append(insert, ")");
	char *what = g_strdup_printf("copying %s", table);
	PGresult *prep = PQprepare(c, "copy", insert->str, cols, NULL);
	bool prepared = pq_ok(c, prep, what, err);
	PQclear(prep);
	if (prepared) {
		const char **vals = g_new0(const char *, cols);
		int *lens = g_new0(int, cols), *fmts = g_new0(int, cols);
		int rc = SQLITE_DONE;
		n = 0;
		while (*err == NULL && (rc = sqlite3_step(q)) == SQLITE_ROW) {
			for (int i = 0; i < cols; i++) {
				int type = sqlite3_column_type(q, i);
				fmts[i] = type == SQLITE_BLOB;
				vals[i] = type == SQLITE_NULL   ? NULL
				          : type == SQLITE_BLOB ? sqlite3_column_blob(q, i)
				                                : (const char *)sqlite3_column_text(q, i);
				lens[i] = sqlite3_column_bytes(q, i);
			}
			PGresult *r = PQexecPrepared(c, "copy", cols, vals, lens, fmts, 0);
			if (pq_ok(c, r, what, err))
				n++;
			PQclear(r);
		}
		if (*err == NULL && rc != SQLITE_DONE)
			*err = g_strdup_printf("reading %s: %s", table, sqlite3_errmsg(db));
		pq_exec(c, "DEALLOCATE copy", 0, NULL, what, err);
		g_free(vals);
		g_free(lens);
		g_free(fmts);
	}
	/* Identity columns go on after the highest copied id. */
	for (int i = 0; *err == NULL && i < cols; i++)
		if (strcmp(sqlite3_column_name(q, i), "id") == 0) {
			char *fix = g_strdup_printf("SELECT setval(pg_get_serial_sequence($1, 'id'),"
			                            " (SELECT coalesce(max(id), 0) + 1 FROM %s), false)",
			                            t);
			const char *vals[] = {t};
			pq_exec(c, fix, 1, vals, what, err);
			g_free(fix);
		}
	sqlite3_finalize(q);
	g_free(what);
	g_free(t);
	g_string_free(insert, TRUE);
	g_free(sql);
	return *err == NULL ? n : -1;
}

/* Open and close LOCATION through store.h: it exists and is migrated. */
static bool migrated(const char *location, char **err)
{
	struct store *st = store_open(location, err);
	store_close(st);
	return st != NULL;
}

bool store_copy(const char *from, const char *to, bool force, GString *report, char **err)
{
	const char *path = has_prefix(from, "sqlite:") ? from + 7 : from;
	if (!has_prefix(from, "sqlite:") && path[0] != '/' && path[0] != '.') {
		*err = g_strdup_printf("%s: the source must be an SQLite store (sqlite:PATH)", from);
		return false;
	}
	if (!has_prefix(to, "postgresql:") && !has_prefix(to, "postgres:")) {
		*err = g_strdup_printf("%s: the target must be a PostgreSQL store (postgresql://...)", to);
		return false;
	}
	if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
		*err = g_strdup_printf("%s: no such store", from);
		return false;
	}
	if (!migrated(from, err) || !migrated(to, err))
		return false;

	sqlite3 *db = NULL;
	PGconn *c = PQconnectdb(to);
	GPtrArray *tables = NULL;
	bool in_tx = false;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		*err = g_strdup_printf("%s: %s", from, sqlite3_errmsg(db));
	else if (PQstatus(c) != CONNECTION_OK)
		*err = g_strdup_printf("cannot connect: %s", g_strchomp(PQerrorMessage(c)));
	else if ((tables = sqlite_tables(db, err)) != NULL &&
	         (in_tx = pq_exec(c, "BEGIN", 0, NULL, "beginning", err)) &&
	         target_empty(c, tables, force, err)) {
		/* What SQLite reads in one transaction: one consistent copy. */
		sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
		for (guint i = 0; i < tables->len && *err == NULL; i++) {
			gint64 n = copy_table(db, c, tables->pdata[i], err);
			if (n >= 0)
				g_string_append_printf(report, "%s: %" G_GINT64_FORMAT " rows\n",
				                       (const char *)tables->pdata[i], n);
		}
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		const char *host[] = {g_get_host_name()};
		if (*err == NULL)
			pq_exec(c, "UPDATE quarantine SET host = $1 WHERE host IS NULL", 1, host,
			        "recording the host of held messages", err);
		if (*err == NULL)
			pq_exec(c, "COMMIT", 0, NULL, "committing", err);
	}
	if (*err != NULL && in_tx)
		PQclear(PQexec(c, "ROLLBACK"));
	if (tables != NULL)
		g_ptr_array_unref(tables);
	PQfinish(c);
	sqlite3_close(db);
	return *err == NULL;
}
