/*
 * sentence.c - the author's new text cut into sentences (part of stage 2),
 * so rules judge phrases in context and findings can name a line.
 *
 * One pass over the bytes with a few bytes of lookahead: no allocation
 * beyond the output array, no regular expressions.  A sentence ends at
 * . ! ? (with closing quotes and brackets) before whitespace, at a blank
 * line, and at a line break where the next line plainly starts anew: after
 * a greeting, around list items, before a capital after a short line.
 * Abbreviations, initials, list numbers, decimals, times, URLs and e-mail
 * addresses do not end sentences.
 */
#include <glib.h>
#include <string.h>

#include "thread.h"

#define NONE ((size_t)-1)
#define SHORT_LINE                                                                                           \
	40                 /* bytes: a line this short without final punctuation ends a                      \
	                      sentence when the next line starts with a capital */
#define GREETING_MAX    40 /* bytes: "Hi Anna," on its own line */
#define ABBREV_MAX      6  /* bytes in the longest abbreviation below */
#define LIST_NUMBER_MAX 3  /* digits in a "12." list number */

struct word {
	const char *s;
	size_t n;
};

#define WORD(s)                                                                                              \
	{                                                                                                    \
		s, sizeof(s) - 1                                                                             \
	}

/* Words that end with a period without ending the sentence (lower case,
 * without the final period). */
static const struct word abbreviations[] = {
    WORD("e.g"),  WORD("i.e"),  WORD("eg"),     WORD("ie"),   WORD("etc"), WORD("mr"),
    WORD("mrs"),  WORD("ms"),   WORD("dr"),     WORD("prof"), WORD("st"),  WORD("jr"),
    WORD("sr"),   WORD("vs"),   WORD("approx"), WORD("appr"), WORD("ca"),  WORD("cf"),
    WORD("incl"), WORD("excl"), WORD("dept"),   WORD("tel"),  WORD("ext"), WORD("attn"),
    WORD("ref"),  WORD("viz"),  WORD("al"),     WORD("resp"), WORD("esp"), WORD("corp"),
};

/* Abbreviations only when a number follows ("No. 5", "p. 12"). */
static const struct word number_abbreviations[] = {
    WORD("no"),  WORD("nr"),  WORD("nos"), WORD("p"),   WORD("pp"),
    WORD("fig"), WORD("vol"), WORD("art"), WORD("sec"), WORD("ch"),
};

struct segmenter {
	const char *text;
	size_t len;
	GArray *out;  /* struct sentence */
	size_t start; /* first byte of the open sentence, or NONE */
	unsigned start_line;
	size_t last;       /* last non-space byte of the open sentence */
	unsigned line;     /* 1-based line of the current byte */
	size_t line_first; /* first non-space byte of the current line, or NONE */
	bool line_item;    /* the current line starts with a list marker */
};

enum byte_class { BYTE_WORD, BYTE_SPACE, BYTE_NEWLINE, BYTE_STOP };

/* What each byte may do to a sentence; BYTE_STOP bytes may end one (0xE2
 * starts U+2026). */
static const unsigned char byte_class[256] = {
    ['\t'] = BYTE_SPACE,   [' '] = BYTE_SPACE, ['\r'] = BYTE_SPACE, ['\f'] = BYTE_SPACE, ['\v'] = BYTE_SPACE,
    ['\n'] = BYTE_NEWLINE, ['.'] = BYTE_STOP,  ['!'] = BYTE_STOP,   ['?'] = BYTE_STOP,   [0xE2] = BYTE_STOP,
};

static enum byte_class class_of(char c)
{
	return byte_class[(unsigned char)c];
}

static bool is_space(char c)
{
	return class_of(c) == BYTE_SPACE;
}

static char lower_ascii(char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Is the N bytes at W, ASCII case ignored, one of the COUNT words of LIST? */
static bool in_list(const char *w, size_t n, const struct word *list, size_t count)
{
	char lower[ABBREV_MAX];

	if (n > ABBREV_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		lower[i] = lower_ascii(w[i]);
	for (size_t i = 0; i < count; i++)
		if (list[i].n == n && list[i].s[0] == lower[0] && memcmp(lower, list[i].s, n) == 0)
			return true;
	return false;
}

/* Length of a list marker ("- ", "* ", "• ", "1. ", "2) ", "a) ") at P. */
static size_t list_marker_len(const char *p, size_t n)
{
	size_t i = 0;

	if (n >= 2 && (p[0] == '-' || p[0] == '*' || p[0] == '+') && p[1] == ' ')
		return 2;
	if (n >= 4 && memcmp(p, "\xE2\x80\xA2 ", 4) == 0) /* U+2022 */
		return 4;
	if (n >= 3 && memcmp(p, "\xC2\xB7 ", 3) == 0) /* U+00B7 */
		return 3;
	while (i < n && i < LIST_NUMBER_MAX && g_ascii_isdigit(p[i]))
		i++;
	if (i == 0 && n >= 1 && g_ascii_isalpha(p[0]) && n >= 2 && p[1] == ')')
		i = 1;
	if (i == 0 || i + 1 >= n || !(p[i] == '.' || p[i] == ')') || p[i + 1] != ' ')
		return 0;
	return i + 2;
}

/* Length of a closing quote or bracket at P, or 0. */
static size_t closer_len(const char *p, size_t n)
{
	switch (p[0]) {
	case '"':
	case '\'':
	case ')':
	case ']':
	case '}': return 1;
	case '\xE2': /* U+2019, U+201D */
		return n >= 3 && p[1] == '\x80' && (p[2] == '\x99' || p[2] == '\x9D') ? 3 : 0;
	case '\xC2': /* U+00BB */ return n >= 2 && p[1] == '\xBB' ? 2 : 0;
	default: return 0;
	}
}

size_t sentence_trim_closers(const char *text, size_t start, size_t end)
{
	for (;;) {
		size_t k = 0;
		for (size_t w = 1; w <= 3 && !k; w++)
			if (end - start >= w && closer_len(text + end - w, w) == w)
				k = w;
		if (k == 0)
			return end;
		end -= k;
	}
}

/* Length of a run of . ! ? and U+2026 at P; *DOTS says it is an ellipsis. */
static size_t terminal_len(const char *p, size_t n, bool *dots)
{
	size_t i = 0, periods = 0;

	*dots = false;
	while (i < n) {
		if (p[i] == '.' || p[i] == '!' || p[i] == '?') {
			periods += p[i] == '.';
			i++;
		} else if (n - i >= 3 && memcmp(p + i, "\xE2\x80\xA6", 3) == 0) {
			periods += 3;
			i += 3;
		} else {
			break;
		}
	}
	*dots = periods > 1;
	return i;
}

static bool starts_upper(const char *p, size_t n)
{
	gunichar c;

	if (n == 0)
		return false;
	if ((unsigned char)p[0] < 0x80)
		return g_ascii_isupper(p[0]);
	c = g_utf8_get_char_validated(p, n);
	return c != (gunichar)-1 && c != (gunichar)-2 && g_unichar_isupper(c);
}

/* Index of the first byte after spaces (not line breaks) from I. */
static size_t skip_spaces(const struct segmenter *sg, size_t i)
{
	while (i < sg->len && is_space(sg->text[i]))
		i++;
	return i;
}

/* "e.g", "U.S", "a.m": single letters joined by periods. */
static bool dotted_letters(const char *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (i % 2 == 0 ? !g_ascii_isalpha(w[i]) : w[i] != '.')
			return false;
	return n >= 3;
}

/* Is the period at DOT (followed by whitespace at AFTER) part of a word
 * rather than the end of a sentence? */
static bool period_in_word(const struct segmenter *sg, size_t dot, size_t after)
{
	const char *t = sg->text;
	size_t from = dot, n, next;
	bool digits = true;

	while (from > sg->start && (g_ascii_isalnum(t[from - 1]) || t[from - 1] == '.'))
		from--;
	n = dot - from;
	if (n == 0 || n > ABBREV_MAX)
		return false;
	for (size_t i = from; i < dot; i++)
		digits = digits && g_ascii_isdigit(t[i]);
	if (digits) /* "1." opening a list item */
		return from == sg->line_first && n <= LIST_NUMBER_MAX;
	if (n == 1 && g_ascii_isupper(t[from])) /* an initial */
		return true;
	if (dotted_letters(t + from, n) || in_list(t + from, n, abbreviations, G_N_ELEMENTS(abbreviations)))
		return true;
	next = skip_spaces(sg, after);
	return next < sg->len && g_ascii_isdigit(t[next]) &&
	       in_list(t + from, n, number_abbreviations, G_N_ELEMENTS(number_abbreviations));
}

static void close_sentence(struct segmenter *sg, size_t end)
{
	struct sentence s = {.start = sg->start, .end = end, .line = sg->start_line};

	g_array_append_val(sg->out, s);
	sg->start = NONE;
}

/* Terminal punctuation of W bytes at I: close the sentence when it ends one.
 * Returns the index after the punctuation and any closing quotes. */
static size_t punctuation(struct segmenter *sg, size_t i, size_t w, bool dots)
{
	size_t k = i + w, c, next;

	while (k < sg->len && (c = closer_len(sg->text + k, sg->len - k)) > 0)
		k += c;
	sg->last = k - 1;
	if (k < sg->len && !is_space(sg->text[k]) && sg->text[k] != '\n')
		return k;
	if (w == 1 && sg->text[i] == '.' && period_in_word(sg, i, k))
		return k;
	next = skip_spaces(sg, k);
	if (dots && next < sg->len && g_ascii_islower(sg->text[next]))
		return k;
	close_sentence(sg, k);
	return k;
}

/* A line break at I inside an open sentence: does the sentence end here? */
static void line_end(struct segmenter *sg, size_t i)
{
	const char *t = sg->text;
	size_t next = skip_spaces(sg, i + 1), line_len;
	char last;

	if (sg->start == NONE)
		return;
	if (next >= sg->len || t[next] == '\n' || sg->line_first == NONE) {
		close_sentence(sg, sg->last + 1);
		return;
	}
	last = t[sg->last];
	line_len = sg->last + 1 - sg->line_first;
	if (sg->line_item || list_marker_len(t + next, sg->len - next))
		close_sentence(sg, sg->last + 1);
	else if (last == ',' && sg->start_line == sg->line && line_len <= GREETING_MAX)
		close_sentence(sg, sg->last + 1);
	else if ((last == ':' || line_len < SHORT_LINE) && starts_upper(t + next, sg->len - next))
		close_sentence(sg, sg->last + 1);
}

void sentence_split(const char *text, size_t len, GArray *out)
{
	struct segmenter sg = {
	    .text = text,
	    .len = len,
	    .out = out,
	    .start = NONE,
	    .line = 1,
	    .line_first = NONE,
	};

	for (size_t i = 0; i < len;) {
		enum byte_class cls = class_of(text[i]);
		size_t w;
		bool dots;

		if (cls == BYTE_NEWLINE) {
			line_end(&sg, i++);
			sg.line++;
			sg.line_first = NONE;
			continue;
		}
		if (cls == BYTE_SPACE) {
			i++;
			continue;
		}
		if (sg.line_first == NONE) {
			sg.line_first = i;
			sg.line_item = list_marker_len(text + i, len - i) > 0;
		}
		if (sg.start == NONE) {
			sg.start = i;
			sg.start_line = sg.line;
		}
		if (cls == BYTE_STOP && (w = terminal_len(text + i, len - i, &dots)) > 0) {
			i = punctuation(&sg, i, w, dots);
			continue;
		}
		/* The rest of the word, and the words after it up to a line break
		 * or a possible stop. */
		do {
			while (++i < len && class_of(text[i]) == BYTE_WORD)
				;
			sg.last = i - 1;
			while (i < len && class_of(text[i]) == BYTE_SPACE)
				i++;
		} while (i < len && class_of(text[i]) == BYTE_WORD);
	}
	if (sg.start != NONE)
		close_sentence(&sg, sg.last + 1);
}
