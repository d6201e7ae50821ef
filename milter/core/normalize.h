/*
 * normalize.h - Unicode normalisation before matching: NFKC and case folding
 * (GLib), quote, dash and space folding, zero-width characters and
 * apostrophes dropped ("don't" reads "dont"), whitespace runs collapsed to
 * one space, hyphens inside words joined after a prefix ("un-acceptable")
 * and read as a space otherwise ("follow-up").  Keeps a map from every output
 * byte back to the input byte it came from, so findings point at what the
 * author wrote.
 *
 * Ownership: normalize_text() fills a caller-provided struct normtext;
 * normtext_clear() frees it.
 */
#ifndef APOLOGY_NORMALIZE_H
#define APOLOGY_NORMALIZE_H

#include <glib.h>
#include <stddef.h>

struct normtext {
	char *s; /* normalised text, NUL-terminated */
	size_t len;
	guint32 *map; /* map[i]: input offset of output byte i; map[len] = input length */
};

void normalize_text(const char *in, size_t len, struct normtext *out);
void normtext_clear(struct normtext *nt);

/* Input offset for output offset OFF (OFF <= nt->len). */
static inline size_t normtext_orig(const struct normtext *nt, size_t off)
{
	return nt->map[off];
}

#endif
