/*
 * render.h - struct decision rendered for people and programs: the JSON line
 * of `apologyctl check --format json` and the annotated text report.  Shared
 * by the CLI and the review tools; reads the decision, never recomputes it.
 *
 * Ownership: the functions append to a caller-owned GString.
 */
#ifndef APOLOGY_RENDER_H
#define APOLOGY_RENDER_H

#include <glib.h>
#include <stdbool.h>

#include "decision.h"

/* Append S as a JSON string literal (with quotes; null for NULL; invalid
 * UTF-8 repaired): jsonstr_append() of milter/util, for the users of this
 * header. */
void render_json_string(GString *out, const char *s);
/* One JSON object, no trailing newline.  FILE may be NULL. */
void render_json(GString *out, const char *file, const struct decision *d);
/* A human report; COLOUR adds ANSI highlighting of the offending words. */
void render_text(GString *out, const char *file, const struct decision *d, bool colour);
/* The findings as a JSON array: rule, severity, start, end, line, excerpt,
 * principle, advice.  Shared by every JSON rendering of a decision. */
void render_json_findings(GString *out, const struct decision *d);
/* One JSON object for mail judged as it arrives (`check --as-inbound`):
 * {"file","parsed","message_id","complaint":{"detected","severity",
 * "evidence","clear","kinds"}}: message_id null when the message has none,
 * the evidence null when the message could not be read or a policy pattern
 * failed on its words (then a "reason" follows the complaint:
 * DECISION_PATTERN_FAILED), clear false for a
 * complaint within models.inbound-margin short of the gate's bar (stored
 * unclear: held only on the thread's own words) and for none, kinds the failure kinds
 * of POL its words name, which the milter stores with a complaint (empty for
 * no complaint).  No trailing newline. */
void render_json_inbound(GString *out, const char *file, const struct policy *pol, const struct inbound *in);
/* The same as one line of text: "FILE: complaint, serious, evidence +4.6"
 * ("complaint, normal, unclear, evidence -0.4" short of the bar),
 * then "; kinds delivery, billing" when its words name any and "; no
 * Message-ID, so the milter would not store it" for a complaint without
 * one; "FILE: no complaint, evidence -4.3"; "FILE: not a readable
 * message, no complaint"; or "FILE: not analysed: REASON, no complaint".
 * No trailing newline. */
void render_text_inbound(GString *out, const char *file, const struct policy *pol, const struct inbound *in);
/* "normal", "serious", or NULL for SEVERITY_NONE; static storage. */
const char *render_severity_name(enum complaint_severity s);

#endif
