/*
 * regexset.h - a set of PCRE2 patterns (JIT-compiled), each run over the
 * text in turn.  Used by both matcher builds for "re:" phrases, and by the
 * portable build for everything.
 */
#ifndef APOLOGY_REGEXSET_H
#define APOLOGY_REGEXSET_H

#include <stdint.h>

#include "matcher.h"

struct regexset;

/* A set whose patterns stop with an error at MATCH_LIMIT (PCRE2's match
 * limit: backtracking steps for the interpreter, a count of its own for the
 * JIT) on each text.  Add pattern P reported as ID; LITERAL takes P as plain
 * text.  Returns false with *ERR set (caller frees) when P does not
 * compile. */
struct regexset *regexset_new(uint32_t match_limit);
bool regexset_add(struct regexset *rs, const char *p, size_t len, bool literal, unsigned id, char **err);
void regexset_free(struct regexset *rs);
/* Append every match of every pattern in TEXT to OUT (struct match).
 * Returns how many patterns failed with an error (PCRE2's match, depth or
 * heap limit, or no memory) rather than finding or not finding: each stops
 * at its error, having appended the matches before it.  0 normally. */
unsigned regexset_scan(const struct regexset *rs, const char *text, size_t len, GArray *out);

#endif
