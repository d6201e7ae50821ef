/*
 * scan.h - one matcher pass over a normalised text, with each hit mapped
 * back to the bytes the author wrote, and the negation test the rules share.
 * Private to the core.
 *
 * Ownership: scan_text() fills a caller-provided struct scan; scan_clear()
 * frees it.
 */
#ifndef APOLOGY_SCAN_H
#define APOLOGY_SCAN_H

#include <glib.h>
#include <stdbool.h>

#include "normalize.h"
#include "policy_priv.h"

struct hit {
	unsigned cls;          /* enum lex_class, or LEX_FIXED_COUNT + kind */
	size_t start, end;     /* span in the original text */
	unsigned nstart, nend; /* span in the normalised text */
};

struct scan {
	struct normtext nt;
	GArray *hits;            /* struct hit, ordered by start; same-class overlaps merged */
	unsigned pattern_errors; /* patterns that failed on the text (matcher_scan()):
	                            their hits may be missing, so the text is not judged */
};

/* Scan TEXT with every phrase of the policy (SET = &pol->all), or with the
 * complaint cues only (SET = &pol->cues). */
void scan_text(const struct phrase_set *set, const char *text, size_t len, struct scan *out);
void scan_clear(struct scan *sc);

/* True when a negation word stands within the policy's window before HIT,
 * in the same clause ("this was not beyond our control"). */
bool scan_negated(const struct policy *pol, const struct scan *sc, const struct hit *h);

/* True when apology hit I apologises for a small imposition ("sorry to
 * bother you", "sorry for the slow reply"): politeness, not an apology for
 * the failure. */
bool scan_apology_is_polite(const struct scan *sc, guint i);

#endif
