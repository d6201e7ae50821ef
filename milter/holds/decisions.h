/*
 * decisions.h - the daemon's decisions (store.h: a summary of each reply
 * judged advise or hold) counted per week, rule or sender, as store_stats()
 * counts held mail: for `apologyctl report` and the review page's
 * statistics.
 */
#ifndef APOLOGY_DECISIONS_H
#define APOLOGY_DECISIONS_H

#include <glib.h>

#include "store.h"

/* Append to OUT (an array from store_counts_new()) the number of DECISIONS
 * (struct store_decision) per WHAT: per week ("2026-W09", weeks from
 * Monday, UTC) in time order, per rule of their comma lists or per sender
 * (in lower case) largest first, then by key. */
void decisions_count(const GArray *decisions, enum store_stat what, GArray *out);

#endif
