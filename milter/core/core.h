/*
 * core.h - the stages' private entry points, for pipeline.c and the unit
 * tests.  The public contracts are in include/.
 */
#ifndef APOLOGY_CORE_H
#define APOLOGY_CORE_H

#include "decision.h"
#include "scan.h"
#include "thread.h"

/* Stage 3: does VIEW answer a client complaint, how serious, sent when.
 * TEXT_SCAN is the scan of the new text the caller already has; CTX (may be
 * NULL) is what the caller knows from elsewhere. */
void thread_classify_scanned(const struct policy *pol, const struct message *msg,
                             const struct thread_view *view, const struct context *ctx,
                             const struct scan *text_scan, struct complaint *out);

/* The length of the longest prefix of S (LEN bytes) of at most MAX bytes
 * that ends between characters. */
size_t clamp_utf8(const char *s, size_t len, size_t max);

/* What evaluation found; input to decide(). */
struct findings {
	GArray *items;   /* struct finding (excerpt not yet filled) */
	bool apologised; /* an apology for something other than a small imposition */
};

/*
 * Stage 4: judge the new text (VIEW, scanned as SC) of a reply to COMPLAINT.
 * NOW is the reference time (-1: unknown, timeliness not judged).
 */
void findings_evaluate(const struct policy *pol, const struct thread_view *view, const struct scan *sc,
                       const struct complaint *complaint, gint64 now, const struct context *ctx,
                       struct findings *out);
void findings_clear(struct findings *f);

/* Stage 5: score and verdict; moves the findings into OUT. */
void decide(const struct policy *pol, const struct thread_view *view, struct findings *f,
            struct decision *out);

/* Seconds of business time between FROM and TO under the policy. */
gint64 business_seconds(const struct policy *pol, gint64 from, gint64 to);

#endif
