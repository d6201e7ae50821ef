/*
 * matcher.h - one multi-pattern matcher for all phrases of a policy.  Two
 * implementations behind this interface: matcher_hyperscan.c (one Hyperscan
 * database, all patterns in one pass) and matcher_pcre2.c (the portable
 * fallback: each pattern JIT-compiled, run in turn).  Chosen at build time.
 *
 * Patterns use the common PCRE/Hyperscan subset: literals, classes, \b, \s,
 * \w, \d, groups, alternation and bounded repeats; they are matched against
 * normalised (lower-case) text.  A compiled matcher is immutable and may be
 * used from several threads at once.
 */
#ifndef APOLOGY_MATCHER_H
#define APOLOGY_MATCHER_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

struct matcher;

struct match {
	unsigned id;          /* index of the pattern */
	unsigned start, end;  /* byte span in the scanned text */
};

/*
 * Compile N patterns.  Returns NULL and sets *ERR_INDEX and *ERR (caller
 * frees) when a pattern is invalid.
 */
struct matcher *matcher_compile(const char *const *patterns, unsigned n, int *err_index,
                                char **err);
void matcher_free(struct matcher *m);

/* Append every match in TEXT to OUT (struct match), leftmost start per end. */
void matcher_scan(const struct matcher *m, const char *text, size_t len, GArray *out);

const char *matcher_backend(void);

#endif
