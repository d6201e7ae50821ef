/*
 * regexset.h - a set of PCRE2 patterns (JIT-compiled), each run over the
 * text in turn.  Used by both matcher builds for "re:" phrases, and by the
 * portable build for everything.
 */
#ifndef APOLOGY_REGEXSET_H
#define APOLOGY_REGEXSET_H

#include "matcher.h"

struct regexset;

/* Add pattern P reported as ID; LITERAL takes P as plain text.  Returns false
 * with *ERR set (caller frees) when P does not compile. */
struct regexset *regexset_new(void);
bool regexset_add(struct regexset *rs, const char *p, size_t len, bool literal, unsigned id, char **err);
void regexset_free(struct regexset *rs);
void regexset_scan(const struct regexset *rs, const char *text, size_t len, GArray *out);

#endif
