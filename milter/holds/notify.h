/*
 * notify.h - telling people about held mail, off the mail path.  Each hold
 * and each decision writes rows to the store's outbox (a webhook call with
 * generic JSON and a Slack-compatible "text", and mail to the author in
 * plain words); a worker sends due rows with libcurl, short timeouts and
 * checked status codes, and records each attempt, retrying with
 * exponential backoff.  Rows live in the store, so nothing is lost across a
 * restart, and a dead webhook only delays its own rows.
 *
 * Ownership: records passed in are only read; error strings are freed by
 * the caller with g_free().  Call curl_global_init() once before
 * notify_run_once() (notify_init() does it).
 */
#ifndef APOLOGY_NOTIFY_H
#define APOLOGY_NOTIFY_H

#include <glib.h>
#include <stdbool.h>

#include "review_config.h"
#include "store.h"

/* Queue the notifications of EVENT ("hold", "release", "discard", "return",
 * "expire-release", "expire-return") about record Q, decided by WHO with
 * COMMENT (both may be NULL). */
bool notify_queue(const struct review_config *cfg, struct store *st, const struct store_quarantine *q,
                  const char *event, const char *who, const char *comment, gint64 now, char **err);

struct notify_counts {
	unsigned sent;
	unsigned retry;  /* failed, will be tried again */
	unsigned failed; /* failed for the last time */
	unsigned taken;  /* claimed by another worker meanwhile: not sent here */
};

/* One pass of the worker: queue hold notices for held records that have
 * none yet, then try every due row once, until *STOP (atomic; NULL: never)
 * is set.  False only when the store fails. */
bool notify_run_once(const struct review_config *cfg, struct store *st, gint64 now, const gint *stop,
                     struct notify_counts *counts, char **err);

void notify_init(void);
void notify_cleanup(void);

#endif
