/*
 * matcher_pcre2.c - the portable matcher: every pattern compiled and
 * JIT-compiled with PCRE2, run one after the other.  Same results as the
 * Hyperscan matcher, slower as the policy grows.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "matcher.h"

struct matcher {
	pcre2_code **codes;
	unsigned n;
};

static void free_match_data(gpointer p)
{
	pcre2_match_data_free(p);
}

/* Per-thread match data, freed when the thread exits. */
static GPrivate match_key = G_PRIVATE_INIT(free_match_data);

struct matcher *matcher_compile(const char *const *patterns, unsigned n, int *err_index,
                                char **err)
{
	struct matcher *m = g_new0(struct matcher, 1);
	m->codes = g_new0(pcre2_code *, n ? n : 1);
	for (unsigned i = 0; i < n; i++) {
		int ec;
		PCRE2_SIZE eo;
		m->codes[i] = pcre2_compile((PCRE2_SPTR)patterns[i], PCRE2_ZERO_TERMINATED, 0, &ec, &eo, NULL);
		if (m->codes[i] == NULL) {
			PCRE2_UCHAR buf[256];
			pcre2_get_error_message(ec, buf, sizeof buf);
			*err_index = (int)i;
			*err = g_strdup_printf("%s at offset %zu", (char *)buf, (size_t)eo);
			m->n = i;
			matcher_free(m);
			return NULL;
		}
		pcre2_jit_compile(m->codes[i], PCRE2_JIT_COMPLETE);
		m->n = i + 1;
	}
	return m;
}

void matcher_free(struct matcher *m)
{
	if (m == NULL)
		return;
	for (unsigned i = 0; i < m->n; i++)
		pcre2_code_free(m->codes[i]);
	g_free(m->codes);
	g_free(m);
}

static int cmp_match(const void *a, const void *b)
{
	const struct match *x = a, *y = b;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

void matcher_scan(const struct matcher *m, const char *text, size_t len, GArray *out)
{
	pcre2_match_data *match_data = g_private_get(&match_key);
	if (match_data == NULL) {
		match_data = pcre2_match_data_create(4, NULL);
		g_private_set(&match_key, match_data);
	}
	guint first = out->len;
	for (unsigned i = 0; i < m->n; i++) {
		PCRE2_SIZE off = 0;
		while (off <= len) {
			int rc = pcre2_match(m->codes[i], (PCRE2_SPTR)text, len, off, 0, match_data, NULL);
			if (rc < 0)
				break;
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(match_data);
			struct match mt = {i, (unsigned)ov[0], (unsigned)ov[1]};
			g_array_append_val(out, mt);
			off = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
		}
	}
	/* Same order as the Hyperscan matcher reports: by end offset. */
	qsort(out->data + (size_t)first * sizeof(struct match), out->len - first, sizeof(struct match),
	      cmp_match);
}

const char *matcher_backend(void)
{
	return "pcre2";
}
