/*
 * matcher_hyperscan.c - literals in one Hyperscan literal database
 * (hs_compile_lit_multi: fast to compile, one pass over the text however
 * many phrases there are), regular expressions through regexset.c.  A
 * subset (the complaint cues) scans with its base's database and drops the
 * literals it does not keep.
 * Scratch space is per thread and freed when the thread exits.
 */
#include <hs.h>
#include <string.h>

#include "matcher.h"
#include "regexset.h"

struct matcher {
	hs_database_t *db; /* NULL when there are no literals */
	bool owns_db;      /* false in a subset: the database and lit_len are its base's */
	guint serial;      /* unique per compiled database */
	guint32 *lit_len;  /* length per pattern id */
	guint8 *keep;      /* a subset's: the pattern ids it reports */
	struct regexset *regex;
	uint32_t match_limit; /* of its regular expressions */
};

/* Per-thread scratch, and the matchers it is known to fit (it only grows),
 * so hs_alloc_scratch() runs once per thread and matcher, not per scan. */
struct scratch {
	hs_scratch_t *hs;
	guint fits[8];
};

static void free_scratch(gpointer p)
{
	struct scratch *s = p;
	hs_free_scratch(s->hs);
	g_free(s);
}

static GPrivate scratch_key = G_PRIVATE_INIT(free_scratch);
static gint next_serial = 1;

static hs_scratch_t *scratch_for(const struct matcher *m)
{
	struct scratch *s = g_private_get(&scratch_key);
	if (s == NULL) {
		s = g_new0(struct scratch, 1);
		g_private_set(&scratch_key, s);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(s->fits); i++)
		if (s->fits[i] == m->serial)
			return s->hs;
	if (hs_alloc_scratch(m->db, &s->hs) != HS_SUCCESS)
		g_error("hyperscan: cannot allocate scratch space");
	memmove(s->fits + 1, s->fits, sizeof s->fits - sizeof s->fits[0]);
	s->fits[0] = m->serial;
	return s->hs;
}

/* The regular expressions among PATS that KEEP marks (all when KEEP is
 * NULL) into M's regexset; false (and *ERR_INDEX, *ERR) on the first bad one. */
static bool add_regexes(struct matcher *m, const struct pattern *pats, unsigned n, const bool *keep,
                        int *err_index, char **err)
{
	for (unsigned i = 0; i < n; i++) {
		if (pats[i].regex && (keep == NULL || keep[i]) &&
		    !regexset_add(m->regex, pats[i].text, pats[i].len, false, i, err)) {
			*err_index = (int)i;
			return false;
		}
	}
	return true;
}

struct matcher *matcher_compile(const struct pattern *pats, unsigned n, uint32_t match_limit, int *err_index,
                                char **err)
{
	struct matcher *m = g_new0(struct matcher, 1);
	m->owns_db = true;
	m->match_limit = match_limit;
	m->regex = regexset_new(match_limit);
	m->lit_len = g_new0(guint32, n ? n : 1);
	const char **lits = g_new(const char *, n ? n : 1);
	size_t *lens = g_new(size_t, n ? n : 1);
	unsigned *flags = g_new0(unsigned, n ? n : 1);
	unsigned *ids = g_new(unsigned, n ? n : 1);
	unsigned nl = 0;
	bool ok = add_regexes(m, pats, n, NULL, err_index, err);
	for (unsigned i = 0; i < n && ok; i++) {
		if (pats[i].regex)
			continue;
		m->lit_len[i] = (guint32)pats[i].len;
		lits[nl] = pats[i].text;
		lens[nl] = pats[i].len;
		ids[nl++] = i;
	}
	if (ok && nl > 0) {
		hs_compile_error_t *cerr = NULL;
		if (hs_compile_lit_multi(lits, flags, ids, lens, nl, HS_MODE_BLOCK, NULL, &m->db, &cerr) !=
		    HS_SUCCESS) {
			*err_index = cerr && cerr->expression >= 0 ? (int)ids[cerr->expression] : -1;
			*err = g_strdup(cerr && cerr->message ? cerr->message : "cannot compile phrases");
			hs_free_compile_error(cerr);
			ok = false;
		}
	}
	g_free(lits);
	g_free(lens);
	g_free(flags);
	g_free(ids);
	if (!ok) {
		matcher_free(m);
		return NULL;
	}
	m->serial = (guint)g_atomic_int_add(&next_serial, 1);
	return m;
}

struct matcher *matcher_subset(const struct matcher *base, const struct pattern *pats, unsigned n,
                               const bool *keep, int *err_index, char **err)
{
	struct matcher *m = g_new0(struct matcher, 1);
	m->db = base->db;
	m->serial = base->serial;   /* the same database: the same scratch fits */
	m->lit_len = base->lit_len; /* the base's, as its database */
	m->keep = g_new0(guint8, n ? n : 1);
	for (unsigned i = 0; i < n; i++)
		m->keep[i] = keep[i];
	m->match_limit = base->match_limit;
	m->regex = regexset_new(m->match_limit);
	if (!add_regexes(m, pats, n, keep, err_index, err)) {
		matcher_free(m);
		return NULL;
	}
	return m;
}

void matcher_free(struct matcher *m)
{
	if (m == NULL)
		return;
	if (m->owns_db) {
		hs_free_database(m->db);
		g_free(m->lit_len);
	}
	regexset_free(m->regex);
	g_free(m->keep);
	g_free(m);
}

struct scan_ctx {
	const struct matcher *m;
	GArray *out;
};

static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags, void *arg)
{
	(void)from;
	(void)flags;
	struct scan_ctx *ctx = arg;
	if (ctx->m->keep && !ctx->m->keep[id])
		return 0;
	struct match mt = {id, (unsigned)to - ctx->m->lit_len[id], (unsigned)to};
	g_array_append_val(ctx->out, mt);
	return 0;
}

unsigned matcher_scan(const struct matcher *m, const char *text, size_t len, GArray *out)
{
	if (m->db && len > 0) {
		struct scan_ctx ctx = {m, out};
		if (hs_scan(m->db, text, (unsigned)len, 0, scratch_for(m), on_match, &ctx) != HS_SUCCESS)
			g_error("hyperscan: scan failed");
	}
	return regexset_scan(m->regex, text, len, out);
}

const char *matcher_backend(void)
{
	return "hyperscan";
}
