/*
 * policy.h - the apology policy: loaded from YAML (libfyaml), validated,
 * compiled into one multi-pattern matcher.  A compiled policy is immutable
 * and reference-counted, so a daemon can swap in a new one while messages
 * are still being judged with the old one.
 */
#ifndef APOLOGY_POLICY_H
#define APOLOGY_POLICY_H

#include <glib.h>
#include <stdbool.h>

#include "message.h"

struct policy;

/*
 * Load and compile the policy at PATH.  Returns a policy with one reference,
 * or NULL with *ERR set to "file:line:col: message" lines (caller frees).
 */
struct policy *policy_load(const char *path, char **err);
/*
 * The same, to replace CUR (the policy in use, or NULL): what CUR read from
 * files that have not changed since is shared instead of read again (the
 * sentence encoder, encoder_is_file()).  CUR is not changed.
 */
struct policy *policy_reload(const char *path, const struct policy *cur, char **err);
struct policy *policy_load_string(const char *name, const char *yaml, size_t len, char **err);
struct policy *policy_ref(struct policy *pol);
void policy_unref(struct policy *pol);

const char *policy_name(const struct policy *pol);
const struct limits *policy_limits(const struct policy *pol);
/* Bit index of failure kind NAME, or -1. */
int policy_kind_index(const struct policy *pol, const char *name);
const char *policy_kind_name(const struct policy *pol, unsigned index);
unsigned policy_kind_count(const struct policy *pol);
/* Sender address patterns (shell globs) the policy applies to. */
bool policy_applies_to_sender(const struct policy *pol, const char *addr);
/* Recipient domains (globs) the policy applies to; empty list: all. */
bool policy_applies_to_domain(const struct policy *pol, const char *domain);
/* Number of compiled patterns (for benchmarks and `policy check`). */
unsigned policy_pattern_count(const struct policy *pol);
/* Version line of the policy's "gate", "gate-text" or "sentences" model, or
 * NULL when it has none; owned by the policy. */
const char *policy_model_version(const struct policy *pol, const char *which);
/* What the "policy OK" line of `apologyctl policy check` and of
 * `apology-milter -n` says of a policy that loads: "NAME, N patterns, MATCHER
 * matcher; models: gate V, sentences V[, gate-text V][, encoder-head V on
 * encoder E]" ("none" for a model the policy has not); the caller frees it. */
char *policy_summary(const struct policy *pol);
/* NULL when each model's file is what its version line names (or the line
 * names no digest: an older trainer's), else one line naming each model
 * whose file is not: "models.gate: the file is not what its version line
 * \"V\" names (...)", or that cannot be read again to check it
 * ("models.gate: cannot read PATH again to check it: ..."), joined by "; ".
 * *COUNT (when not NULL) is how many models it names.  Such a model still
 * loads and judges as its file reads (a threshold edited by hand, say); the
 * caller warns.  The caller frees it. */
char *policy_model_doubts(const struct policy *pol, unsigned *count);
/* Which matcher backend is built in ("hyperscan" or "pcre2"). */
const char *policy_matcher_name(void);

/*
 * Compare policy FRESH with OLD, the one it would replace: which rules are
 * enabled, how many phrases each list has (per rule, lexicon list,
 * complaint cue and failure kind), the negation words, the models.
 * Appends to CHANGES one line per difference ("rule late-reply: enabled ->
 * off", "rules.no-remedy.phrases: 98 -> 40 patterns", "models.gate: 1 (8691
 * examples) -> none"; a model whose version line is the same but whose
 * weights, thresholds or pooling are not: "models.gate: V, but its weights,
 * thresholds or pooling differ"; one whose version changed but not what it
 * says ends in "(the same weights, thresholds and pooling)"), and to LOST
 * one line naming what FRESH loses ("rules late-reply, over-apology; 854 of
 * 881 patterns"), or nothing.  Returns true when FRESH shrinks: it no
 * longer enables a rule OLD enabled, empties a list an enabled rule (or the
 * lexicon, the cues or a kind) had, drops a model, or has fewer than half
 * of OLD's patterns.  Pure; CHANGES and LOST may be NULL.
 */
bool policy_compare(const struct policy *old, const struct policy *fresh, GString *changes, GString *lost);

/* The default policy path compiled in (PREFIX-relative). */
#define POLICY_DEFAULT_PATH "policies/default.yaml"

#endif
