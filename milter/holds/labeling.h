/*
 * labeling.h - reviewers' decisions as labels (the store's review_labels):
 * which rules were on a held reply when a reviewer decided about it, and
 * whether the reviewer judged each right or wrong.
 *
 *   release  the hold was wrong: the rules the reviewer marked wrong are
 *            "wrong" and the others "right"; with none marked, every rule
 *            on the reply is "wrong" (nobody said which finding stood)
 *   return,  the hold was right: every rule is "right" except those the
 *   discard  reviewer marked wrong
 *   expiry   no labels: nobody judged the reply
 *
 * Beside the rules, the label LABEL_COMPLAINT says whether the thread
 * answered a complaint at all, as the daemon judged (a reply is held only
 * then): "wrong" when the reviewer marked it so ("this thread is no
 * complaint"), "right" on a return or discard not so marked and on a
 * release that marked some rule wrong but not it (the reviewer judged the
 * findings, so took the thread for a complaint), none on a release with
 * nothing marked (the hold was wrong, nobody said why).  A release that
 * marks only the complaint wrong labels no rule: whether the findings read
 * the text right was not judged.  The gate learns from these labels
 * (milter/train/labels_to_training.py gate).
 *
 * Used by quarantine_decide() (holds/quarantine.c), `apologyctl labels`,
 * `apologyctl report` and the review page's statistics.
 *
 * Ownership: arguments are only read; returned arrays and strings are the
 * caller's.
 */
#ifndef APOLOGY_LABELING_H
#define APOLOGY_LABELING_H

#include <glib.h>
#include <stdbool.h>

#include "store.h"

/* The label of the complaint a held reply answered (no rule has this name). */
#define LABEL_COMPLAINT "complaint"
/* The label of a passed near miss a reviewer judged (quarantine_judge()):
 * "right" when its thread was no complaint, as the gate said, "wrong" when
 * it was a complaint the gate missed. */
#define LABEL_NEAR_MISS "near-miss"

/* Whether each rule of WRONG (char *; NULL or empty: none) is the rule of
 * one of FINDINGS (struct store_finding) or LABEL_COMPLAINT; false with
 * *ERR (caller frees) naming the first that is not and the rules that are. */
bool labels_check_wrong(const GArray *findings, const GPtrArray *wrong, char **err);

/* The labels of decision ACTION ("release", "return", "discard"; others
 * give none) by WHO at AT on record ID with FINDINGS, WRONG the rules
 * marked wrong: one per distinct rule, in the findings' order, with the
 * excerpt of its first finding; then the complaint's, if any, with the
 * start of COMPLAINT_TEXT (the quoted history; may be NULL) as its excerpt.
 * An array from store_labels_new(). */
GArray *labels_for_decision(gint64 id, const GArray *findings, const char *action, const GPtrArray *wrong,
                            const char *complaint_text, const char *who, gint64 at);

/* The label of a reviewer WHO's judgement at AT of the passed near miss ID
 * (LABEL_NEAR_MISS; COMPLAINT: it was one), with the start of
 * COMPLAINT_TEXT as its excerpt.  An array from store_labels_new(). */
GArray *labels_for_judgement(gint64 id, bool complaint, const char *complaint_text, const char *who,
                             gint64 at);

/* Whether LABEL judges the complaint gate (LABEL_COMPLAINT, LABEL_NEAR_MISS)
 * rather than a rule: in the precision table, not among the rules most
 * often marked wrong. */
bool labels_about_gate(const char *label);

/* A rule's precision as judged by reviewers, right / (right + wrong), as
 * text ("0.75"; "-" when never judged); caller frees. */
char *labels_precision_text(const struct store_precision *p);

/* Append to OUT the HTML table of PRECISIONS (id "precision": rule, right,
 * wrong, precision) and the list of the rules most often marked wrong, at
 * most TOP, each with its example excerpt (id "most-wrong"); all text
 * escaped. */
void labels_precision_html(GString *out, const GArray *precisions, unsigned top);

#endif
