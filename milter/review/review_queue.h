/*
 * review_queue.h - what the review page's queue of held replies shows:
 * which order (oldest first, highest score first, by sender) and which page
 * of ~50 rows, read from the request's arguments and validated here, so
 * that the store is only ever asked for one of its fixed orders and a page
 * that exists.  Pure: no store, no HTTP.
 *
 * Ownership: strings returned are the caller's (g_free); the tables passed
 * in are only read.
 */
#ifndef APOLOGY_REVIEW_QUEUE_H
#define APOLOGY_REVIEW_QUEUE_H

#include <glib.h>

#include "store.h"

#define QUEUE_PAGE_SIZE 50

/* One of the queue's orders, as the page names it. */
struct queue_sort {
	const char *name;  /* the value of ?sort= */
	const char *label; /* "oldest first" */
	enum store_order order;
};

/* The sort named NAME; an unknown or missing name gives the default
 * (oldest first).  Static storage. */
const struct queue_sort *queue_sort_find(const char *name);
/* All of them, in the order the page offers them; *N is how many. */
const struct queue_sort *queue_sorts(size_t *n);

/* Which page of the queue to show. */
struct queue_page {
	unsigned page;   /* 1-based */
	unsigned pages;  /* at least 1, also for an empty queue */
	unsigned offset; /* rows before this page */
	unsigned size;   /* rows per page */
};

/* The page asked for by ARG (a ?page= value) of TOTAL rows, SIZE a page:
 * anything but a number from 1 up gives the first page, a number past the
 * last page the last. */
struct queue_page queue_page_of(const char *arg, gint64 total, unsigned size);

/* The queue's URL ("/?...") with the filters of QUERY (sender, client,
 * rule, older: the names the page's form uses; others are dropped) and
 * SORT and PAGE (omitted when the default), each value URL-escaped. */
char *queue_url(GHashTable *query, const struct queue_sort *sort, unsigned page);

#endif
