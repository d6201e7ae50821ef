/*
 * matcher.h - one multi-pattern matcher for all phrases of a policy.  Plain
 * phrases are literals (the text is normalised first, so a literal is
 * enough); the few "re:" phrases are regular expressions.  Two builds behind
 * this interface, chosen at build time: matcher_hyperscan.c (all literals in
 * one Hyperscan literal database, one pass whatever their number) and
 * matcher_pcre2.c (the portable fallback: every pattern run in turn).  Both
 * run regular expressions with PCRE2 JIT (regexset.c).
 *
 * A compiled matcher is immutable and may be used from several threads.
 */
#ifndef APOLOGY_MATCHER_H
#define APOLOGY_MATCHER_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct matcher;

struct pattern {
	const char *text;
	size_t len;
	bool regex;
};

struct match {
	unsigned id;         /* index of the pattern */
	unsigned start, end; /* byte span in the scanned text */
};

/*
 * Compile N patterns, each regular expression to stop with an error at
 * MATCH_LIMIT (PCRE2's match limit, regexset_new()).  Returns NULL and sets
 * *ERR_INDEX and *ERR (caller frees) when a pattern is invalid.
 */
struct matcher *matcher_compile(const struct pattern *pats, unsigned n, uint32_t match_limit, int *err_index,
                                char **err);

/*
 * A matcher for the patterns of BASE that KEEP marks, BASE being compiled
 * from PATS[N]: it reports the same matches of those patterns, with their ids
 * in PATS, and no others.  It shares what BASE compiled where it can (the
 * Hyperscan build: the literal database, so the policy's complaint cues are
 * not compiled a second time), so BASE must outlive it; its match limit is
 * BASE's.  Errors as matcher_compile().
 */
struct matcher *matcher_subset(const struct matcher *base, const struct pattern *pats, unsigned n,
                               const bool *keep, int *err_index, char **err);
void matcher_free(struct matcher *m);

/* Append every match in TEXT to OUT (struct match), in no particular order.
 * Returns how many patterns failed with an error (a regular expression that
 * hit one of PCRE2's limits: regexset_scan()), whose matches may then be
 * missing; 0 normally. */
unsigned matcher_scan(const struct matcher *m, const char *text, size_t len, GArray *out);

const char *matcher_backend(void);

#endif
