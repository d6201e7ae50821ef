/*
 * pgtest.h - the PostgreSQL database the store's unit tests also run on:
 * APOLOGY_TEST_PG names its location (tests/store/pg.sh starts a server of
 * its own and sets it).  Unset: the PostgreSQL cases are not run.
 */
#ifndef APOLOGY_PGTEST_H
#define APOLOGY_PGTEST_H

/* The location ("postgresql://..."), or NULL when unset. */
const char *pgtest_location(void);
/* Empty the database: its schema public dropped and made again, so the
 * next store_open() starts from no schema at all.  Fails the test on error. */
void pgtest_reset(void);
/* Run SQL on the database; the first column of the first row (caller
 * frees), "" when none.  Fails the test on error. */
char *pgtest_query(const char *sql);

#endif
