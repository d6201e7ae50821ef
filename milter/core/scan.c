/*
 * scan.c - see scan.h.  Pure.
 */
#include <stdlib.h>
#include <string.h>

#include "scan.h"

static int cmp_hit(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->cls != y->cls)
		return x->cls < y->cls ? -1 : 1;
	return x->end > y->end ? -1 : x->end < y->end;
}

static bool word_char(char c)
{
	return g_ascii_isalnum(c) || c == '_' || (unsigned char)c >= 0x80;
}

/* Apply a plain phrase's whole-word conditions; false drops the hit. */
static bool fit_words(const struct normtext *nt, guint8 flags, unsigned *start, unsigned *end)
{
	if ((flags & PHRASE_WORD_START) && *start > 0 && word_char(nt->s[*start - 1]))
		return false;
	if ((flags & PHRASE_WORD_END) && *end < nt->len && word_char(nt->s[*end]))
		return false;
	if (flags & PHRASE_STEM)
		while (*end < nt->len && word_char(nt->s[*end]))
			(*end)++;
	return true;
}

void scan_text(const struct phrase_set *set, const char *text, size_t len, struct scan *out)
{
	normalize_text(text, len, &out->nt);
	GArray *raw = g_array_sized_new(FALSE, FALSE, sizeof(struct match), 32);
	out->pattern_errors = matcher_scan(set->matcher, out->nt.s, out->nt.len, raw);
	out->hits = g_array_sized_new(FALSE, FALSE, sizeof(struct hit), raw->len + 1);
	for (guint i = 0; i < raw->len; i++) {
		struct match *m = &g_array_index(raw, struct match, i);
		if (!fit_words(&out->nt, set->flags[m->id], &m->start, &m->end))
			continue;
		struct hit h = {
		    .cls = set->cls[m->id],
		    .nstart = m->start,
		    .nend = m->end,
		    .start = normtext_orig(&out->nt, m->start),
		    .end = normtext_orig(&out->nt, m->end),
		};
		g_array_append_val(out->hits, h);
	}
	g_array_free(raw, TRUE);
	if (out->hits->len < 2)
		return;
	qsort(out->hits->data, out->hits->len, sizeof(struct hit), cmp_hit);
	/* Merge overlapping hits of one class: "sorry" inside "so sorry".  Complaint
	 * cues stay apart: "still hasn't" is more evidence than "still". */
	guint w = 0;
	for (guint r = 0; r < out->hits->len; r++) {
		struct hit *h = &g_array_index(out->hits, struct hit, r);
		bool merged = false;
		for (guint k = w; k > 0; k--) {
			struct hit *p = &g_array_index(out->hits, struct hit, k - 1);
			if (p->end <= h->start && p->start + 256 < h->start)
				break;
			if (p->cls == h->cls && h->start < p->end && h->cls < CUE_BREACH) {
				if (h->end > p->end) {
					p->end = h->end;
					p->nend = h->nend;
				}
				merged = true;
				break;
			}
		}
		if (!merged)
			g_array_index(out->hits, struct hit, w++) = *h;
	}
	g_array_set_size(out->hits, w);
}

void scan_clear(struct scan *sc)
{
	normtext_clear(&sc->nt);
	if (sc->hits)
		g_array_free(sc->hits, TRUE);
	sc->hits = NULL;
	sc->pattern_errors = 0;
}

/* In normalised text: apostrophes are gone ("won't" is "wont"). */
static bool is_word(char c)
{
	return g_ascii_isalnum(c) || (unsigned char)c >= 0x80;
}

static bool negating(const struct policy *pol, const char *w, size_t n)
{
	char buf[32];
	if (n == 0 || n >= sizeof buf)
		return false;
	memcpy(buf, w, n);
	buf[n] = '\0';
	return g_hash_table_contains(pol->negation, buf);
}

bool scan_negated(const struct policy *pol, const struct scan *sc, const struct hit *h)
{
	const char *s = sc->nt.s;
	size_t i = h->nstart;
	unsigned words = 0;
	while (i > 0 && words < pol->negation_window) {
		char c = s[i - 1];
		if (c == '.' || c == '!' || c == '?' || c == ';' || c == ':' || c == ',' || c == '\n' ||
		    c == '(' || c == ')' || c == '-')
			return false;
		if (!is_word(c)) {
			i--;
			continue;
		}
		size_t end = i;
		while (i > 0 && is_word(s[i - 1]))
			i--;
		size_t n = end - i;
		if (n == 3 && memcmp(s + i, "but", 3) == 0)
			return false;
		if (negating(pol, s + i, n))
			return true;
		words++;
	}
	return false;
}

bool scan_apology_is_polite(const struct scan *sc, guint i)
{
	const struct hit *h = &g_array_index(sc->hits, struct hit, i);
	for (guint k = i + 1; k < sc->hits->len; k++) {
		const struct hit *o = &g_array_index(sc->hits, struct hit, k);
		if (o->nstart > h->nend + 8)
			break;
		if (o->cls == LEX_SMALL_IMPOSITION)
			return true;
	}
	return false;
}
