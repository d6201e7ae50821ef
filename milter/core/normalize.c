/*
 * normalize.c - see normalize.h.  ASCII takes a fast path (lower-casing);
 * other characters are folded one at a time: typographic quotes, dashes and
 * spaces to ASCII, the rest through NFKC and case folding.  Apostrophes are
 * dropped and whitespace runs become one space, so phrases match however the
 * author typed them.  Pure: no I/O.
 */
#include <string.h>

#include "normalize.h"

/* Words that join a following hyphen: "un-acceptable", "re-send". */
static const char *const hyphen_prefixes[] = {"un", "re",  "non",  "mis",   "pre", "co", "e",
                                              "in", "dis", "over", "under", "sub", NULL};

/* Output buffer with its offset map, grown by doubling. */
struct out {
	char *str;
	guint32 *map;
	size_t len, cap;
};

static void grow(struct out *o, size_t need)
{
	if (o->len + need + 1 <= o->cap)
		return;
	while (o->len + need + 1 > o->cap)
		o->cap *= 2;
	o->str = g_realloc(o->str, o->cap);
	o->map = g_realloc_n(o->map, o->cap, sizeof(guint32));
}

static inline void emit(struct out *o, const char *bytes, size_t n, guint32 orig)
{
	grow(o, n);
	memcpy(o->str + o->len, bytes, n);
	for (size_t i = 0; i < n; i++)
		o->map[o->len + i] = orig;
	o->len += n;
}

/* One ASCII character out: apostrophes dropped, whitespace runs collapsed. */
static inline void put(struct out *o, char ch, guint32 orig)
{
	if (ch == '\'')
		return;
	if (ch == ' ' || ch == '\n') {
		if (o->len == 0 || o->str[o->len - 1] == ' ')
			return;
		ch = ' ';
	}
	if (o->len + 2 > o->cap)
		grow(o, 1);
	o->str[o->len] = ch;
	o->map[o->len++] = orig;
}

/* Fold one non-ASCII character C (UTF-8 at P, N bytes) starting at ORIG. */
static void fold_char(struct out *s, const char *p, size_t n, gunichar c, guint32 orig)
{
	switch (c) {
	case 0x2018:
	case 0x2019:
	case 0x201A:
	case 0x201B:
	case 0x2032:
	case 0x00B4:
	case 0x02BC: return; /* apostrophes are dropped: "don't" and "dont" read alike */
	case 0x201C:
	case 0x201D:
	case 0x201E:
	case 0x201F:
	case 0x00AB:
	case 0x00BB:
	case 0x2033: emit(s, "\"", 1, orig); return;
	case 0x2010:
	case 0x2011:
	case 0x2012:
	case 0x2013:
	case 0x2014:
	case 0x2015:
	case 0x2212: emit(s, "-", 1, orig); return;
	case 0x00A0:
	case 0x202F:
	case 0x205F:
	case 0x3000:
	case 0x2028:
	case 0x2029: put(s, ' ', orig); return;
	case 0x200B:
	case 0x200C:
	case 0x200D:
	case 0x2060:
	case 0xFEFF:
	case 0x00AD: return;
	case 0x2026: emit(s, "...", 3, orig); return;
	default: break;
	}
	if (c >= 0x2000 && c <= 0x200A) {
		put(s, ' ', orig);
		return;
	}
	char *nfkc = g_utf8_normalize(p, (gssize)n, G_NORMALIZE_NFKC);
	if (nfkc == NULL) {
		emit(s, p, n, orig);
		return;
	}
	char *folded = g_utf8_casefold(nfkc, -1);
	emit(s, folded, strlen(folded), orig);
	g_free(folded);
	g_free(nfkc);
}

static gboolean is_hyphen_prefix(const struct out *s)
{
	size_t end = s->len, start = end;
	while (start > 0 && g_ascii_isalpha(s->str[start - 1]))
		start--;
	if (start > 0 && !g_ascii_isspace(s->str[start - 1]) && s->str[start - 1] != '"' &&
	    s->str[start - 1] != '(')
		return FALSE;
	size_t n = end - start;
	for (int i = 0; hyphen_prefixes[i]; i++)
		if (strlen(hyphen_prefixes[i]) == n && memcmp(s->str + start, hyphen_prefixes[i], n) == 0)
			return TRUE;
	return FALSE;
}

void normalize_text(const char *in, size_t len, struct normtext *out)
{
	struct out o = {.cap = len + 16};
	o.str = g_malloc(o.cap);
	o.map = g_malloc_n(o.cap, sizeof(guint32));
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)in[i];
		if (c < 0x80) {
			char ch = (char)c;
			if (c >= 'A' && c <= 'Z')
				ch = (char)(c + 32);
			else if (c == '\t' || c == '\r' || c == '\v' || c == '\f' || c == 0)
				ch = ' ';
			else if (c == '`')
				ch = '\'';
			else if (c == '-' && i + 1 < len && g_ascii_isalpha(in[i + 1]) && o.len > 0 &&
			         g_ascii_isalpha(o.str[o.len - 1])) {
				if (is_hyphen_prefix(&o)) { /* "un-acceptable": joined */
					i++;
					continue;
				}
				ch = ' '; /* "follow-up" reads "follow up" */
			}
			put(&o, ch, (guint32)i++);
			continue;
		}
		const char *p = in + i;
		gunichar u = g_utf8_get_char_validated(p, (gssize)(len - i));
		if (u == (gunichar)-1 || u == (gunichar)-2) {
			emit(&o, "?", 1, (guint32)i); /* invalid byte: keep a placeholder */
			i++;
			continue;
		}
		size_t n = (size_t)(g_utf8_next_char(p) - p);
		fold_char(&o, p, n, u, (guint32)i);
		i += n;
	}
	grow(&o, 1);
	o.str[o.len] = '\0';
	o.map[o.len] = (guint32)len;
	out->s = o.str;
	out->len = o.len;
	out->map = o.map;
}

void normtext_clear(struct normtext *nt)
{
	g_free(nt->s);
	g_free(nt->map);
	memset(nt, 0, sizeof *nt);
}

/* Length of the whitespace character at P (ASCII, no-break and other Unicode
 * spaces), or 0. */
size_t text_space_len(const unsigned char *p, const unsigned char *end)
{
	switch (p[0]) {
	case ' ':
	case '\t':
	case '\n':
	case '\r':
	case '\f':
	case '\v': return 1;
	case 0xC2: /* U+00A0 */ return end - p >= 2 && p[1] == 0xA0 ? 2 : 0;
	case 0xE2: /* U+2000-U+200A, U+2028, U+2029, U+202F */
		if (end - p < 3 || p[1] != 0x80)
			return 0;
		return p[2] <= 0x8A || p[2] == 0xA8 || p[2] == 0xA9 || p[2] == 0xAF ? 3 : 0;
	case 0xE3: /* U+3000 */ return end - p >= 3 && p[1] == 0x80 && p[2] == 0x80 ? 3 : 0;
	default: return 0;
	}
}

/* Length of an invisible character at P (control character, soft hyphen,
 * zero-width space and joiners, direction marks, embeddings and isolates,
 * byte order mark), or 0. */
size_t text_invisible_len(const unsigned char *p, const unsigned char *end)
{
	switch (p[0]) {
	case 0xC2: /* U+00AD */ return end - p >= 2 && p[1] == 0xAD ? 2 : 0;
	case 0xD8: /* U+061C, the Arabic letter mark */ return end - p >= 2 && p[1] == 0x9C ? 2 : 0;
	case 0xE2: /* U+200B-U+200F, U+202A-U+202E, U+2060, U+2066-U+2069 */
		if (end - p < 3)
			return 0;
		if (p[1] == 0x80 && ((p[2] >= 0x8B && p[2] <= 0x8F) || (p[2] >= 0xAA && p[2] <= 0xAE)))
			return 3;
		return p[1] == 0x81 && (p[2] == 0xA0 || (p[2] >= 0xA6 && p[2] <= 0xA9)) ? 3 : 0;
	case 0xEF: /* U+FEFF */ return end - p >= 3 && p[1] == 0xBB && p[2] == 0xBF ? 3 : 0;
	default: return p[0] < 0x20 || p[0] == 0x7F ? 1 : 0;
	}
}
