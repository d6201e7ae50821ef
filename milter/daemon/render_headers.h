/*
 * render_headers.h - what the daemon writes about a decision: the values of
 * the check and findings headers, and the findings JSON kept with a held
 * message.  All rendered from struct decision, never recomputed.
 *
 * Header values contain only ASCII rule ids, verdict names and numbers,
 * never text from the mail; folded lines are joined by "\n\t" (the form
 * smfi_addheader() takes) and each stays under 998 characters.
 *
 * Ownership: every function returns a newly allocated string the caller
 * frees with g_free().
 */
#ifndef APOLOGY_RENDER_HEADERS_H
#define APOLOGY_RENDER_HEADERS_H

#include "decision.h"

/* At most this many findings are listed in the findings header. */
#define RENDER_MAX_FINDINGS 40

/* "advise; score=7; rules=apology-missing,excuse"; "unchecked; reason=..." */
char *render_check_value(const struct decision *d);
/* "rules=a,b" part alone (each rule once, in order of first finding), "" when none. */
char *render_rule_list(const struct decision *d);
/* One finding per folded line: "excuse severity=hold line=3 span=120-145";
 * NULL when there are no findings. */
char *render_findings_value(const struct decision *d);
/* The decision as one JSON object (verdict, score, complaint, findings with
 * excerpts, principles and advice) for the store and review tools. */
char *render_decision_json(const struct decision *d);

#endif
