/*
 * matcher_pcre2.c - the portable matcher: every phrase compiled with PCRE2
 * (literals with PCRE2_LITERAL) and run in turn.  Same results as the
 * Hyperscan matcher; its time grows with the number of phrases.
 */
#include "matcher.h"
#include "regexset.h"

struct matcher {
	struct regexset *set;
	uint32_t match_limit;
};

/* The patterns KEEP marks (all when KEEP is NULL), each on its own. */
static struct matcher *compile_kept(const struct pattern *pats, unsigned n, const bool *keep,
                                    uint32_t match_limit, int *err_index, char **err)
{
	struct matcher *m = g_new0(struct matcher, 1);
	m->match_limit = match_limit;
	m->set = regexset_new(match_limit);
	for (unsigned i = 0; i < n; i++) {
		if ((keep == NULL || keep[i]) &&
		    !regexset_add(m->set, pats[i].text, pats[i].len, !pats[i].regex, i, err)) {
			*err_index = (int)i;
			matcher_free(m);
			return NULL;
		}
	}
	return m;
}

struct matcher *matcher_compile(const struct pattern *pats, unsigned n, uint32_t match_limit, int *err_index,
                                char **err)
{
	return compile_kept(pats, n, NULL, match_limit, err_index, err);
}

struct matcher *matcher_subset(const struct matcher *base, const struct pattern *pats, unsigned n,
                               const bool *keep, int *err_index, char **err)
{
	/* every pattern is compiled on its own: nothing to share but the limit */
	return compile_kept(pats, n, keep, base->match_limit, err_index, err);
}

void matcher_free(struct matcher *m)
{
	if (m == NULL)
		return;
	regexset_free(m->set);
	g_free(m);
}

unsigned matcher_scan(const struct matcher *m, const char *text, size_t len, GArray *out)
{
	return regexset_scan(m->set, text, len, out);
}

const char *matcher_backend(void)
{
	return "pcre2";
}
