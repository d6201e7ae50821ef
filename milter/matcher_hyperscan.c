/*
 * matcher_hyperscan.c - the matcher over one Hyperscan block-mode database.
 * Every pattern gets HS_FLAG_SOM_LEFTMOST so matches carry their start.
 * Scratch space is per thread and grown to fit every database it has seen.
 */
#include <hs.h>
#include <string.h>

#include "matcher.h"

struct matcher {
	hs_database_t *db;
};

static void free_scratch(gpointer p)
{
	hs_free_scratch(p);
}

/* Per-thread scratch, freed when the thread exits. */
static GPrivate scratch_key = G_PRIVATE_INIT(free_scratch);

struct matcher *matcher_compile(const char *const *patterns, unsigned n, int *err_index,
                                char **err)
{
	unsigned *flags = g_new(unsigned, n ? n : 1);
	unsigned *ids = g_new(unsigned, n ? n : 1);
	for (unsigned i = 0; i < n; i++) {
		flags[i] = HS_FLAG_SOM_LEFTMOST;
		ids[i] = i;
	}
	hs_database_t *db = NULL;
	hs_compile_error_t *cerr = NULL;
	hs_error_t rc = hs_compile_multi(patterns, flags, ids, n, HS_MODE_BLOCK,
	                                 NULL, &db, &cerr);
	g_free(flags);
	g_free(ids);
	if (rc != HS_SUCCESS) {
		*err_index = cerr ? cerr->expression : -1;
		*err = g_strdup(cerr && cerr->message ? cerr->message : "cannot compile patterns");
		hs_free_compile_error(cerr);
		return NULL;
	}
	struct matcher *m = g_new0(struct matcher, 1);
	m->db = db;
	return m;
}

void matcher_free(struct matcher *m)
{
	if (m == NULL)
		return;
	hs_free_database(m->db);
	g_free(m);
}

static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
                    void *ctx)
{
	(void)flags;
	GArray *out = ctx;
	struct match mt = {id, (unsigned)from, (unsigned)to};
	/* A pattern with variable-length tails can report one start several times. */
	for (guint i = out->len; i > 0; i--) {
		struct match *prev = &g_array_index(out, struct match, i - 1);
		if (prev->end + 64 < mt.start)
			break;
		if (prev->id == id && prev->start == mt.start) {
			if (mt.end > prev->end)
				prev->end = mt.end;
			return 0;
		}
	}
	g_array_append_val(out, mt);
	return 0;
}

void matcher_scan(const struct matcher *m, const char *text, size_t len, GArray *out)
{
	hs_scratch_t *scratch = g_private_get(&scratch_key);
	hs_scratch_t *grown = scratch;
	if (hs_alloc_scratch(m->db, &grown) != HS_SUCCESS)
		g_error("hyperscan: cannot allocate scratch space");
	if (grown != scratch)
		g_private_set(&scratch_key, grown);
	if (len == 0)
		return;
	if (hs_scan(m->db, text, (unsigned)len, 0, grown, on_match, out) != HS_SUCCESS)
		g_error("hyperscan: scan failed");
}

const char *matcher_backend(void)
{
	return "hyperscan";
}
