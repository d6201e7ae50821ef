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

/* Bytes of the whitespace character at P (before END): ASCII, no-break and
 * other Unicode spaces; 0 for any other (html2text.c, split.c). */
size_t text_space_len(const unsigned char *p, const unsigned char *end);
/* Bytes of the invisible character at P (before END): a control character,
 * soft hyphen, zero-width space or joiner, word joiner, a direction mark,
 * embedding or isolate (U+200E, U+202A, U+2066...), byte order mark; 0 for
 * any other. */
size_t text_invisible_len(const unsigned char *p, const unsigned char *end);

/* Input offset for output offset OFF (OFF <= nt->len). */
static inline size_t normtext_orig(const struct normtext *nt, size_t off)
{
	return nt->map[off];
}

#endif
