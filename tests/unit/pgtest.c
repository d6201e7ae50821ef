/*
 * pgtest.c - the PostgreSQL database of the store's unit tests (pgtest.h):
 * reached with libpq directly, beside the store, to empty it and to look
 * at what the store wrote.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>
#include <libpq-fe.h>
#include <stdlib.h>

#include "pgtest.h"

const char *pgtest_location(void)
{
	const char *v = getenv("APOLOGY_TEST_PG");
	return v != NULL && *v != '\0' ? v : NULL;
}

char *pgtest_query(const char *sql)
{
	PGconn *c = PQconnectdb(pgtest_location());
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("%s: %s", pgtest_location(), PQerrorMessage(c));
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	char *v = g_strdup(st == PGRES_TUPLES_OK && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	PQfinish(c);
	return v;
}

void pgtest_reset(void)
{
	g_free(pgtest_query("SET client_min_messages = warning;"
	                    "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public"));
}
