/*
 * fixtures.h - the records the store's tests and benchmarks write: a held
 * reply's record (struct store_quarantine) with the values most cases
 * share, the complaint it answers and its copy; each case sets what it is
 * about on top.
 * Used by test_store.c, test_review.c, test_review_pages.c, test_postsuper.c
 * and bench/bench_store.c, bench/bench_journal.c (no cmocka here, so the
 * benchmarks link it too).
 *
 * Ownership: the strings of a record made here are static; those a caller
 * sets stay the caller's.
 */
#ifndef APOLOGY_TEST_FIXTURES_H
#define APOLOGY_TEST_FIXTURES_H

#include <stddef.h>

#include "store.h"

/* A record of a reply held with token TOKEN: queue id 4AbCdE1234, from
 * sam@acme.example to dana@client.example, verdict hold, score 9, the
 * decision "{}", made at 1700000000 (2023-11-14T22:13:20Z), state held; no
 * copy, no new text, no complaint. */
struct store_quarantine fixture_hold(const char *token);
/* Q answers a complaint as the daemon recorded it (schema 12): detected, of
 * SEVERITY, sent at SENT (-1: unknown), whose quoted text is TEXT; not
 * clear enough to hold until the caller says so. */
void fixture_complaint(struct store_quarantine *q, const char *severity, gint64 sent, const char *text);
/* Q keeps the LEN bytes at RAW (NULL: none) as the copy of its message. */
void fixture_copy(struct store_quarantine *q, const char *raw, size_t len);

#endif
