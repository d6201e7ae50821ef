/*
 * split.c - stage 2 of the pipeline: a reply's body divided into the
 * author's new text and the quoted history it answers.
 *
 * Quoted history is what follows ">" markers, an attribution ("On <date>,
 * Ann wrote:"), an Outlook or forwarding separator, or a bare reply header
 * block (From:/Sent:).  Author lines between quoted blocks stay new text.
 * Signatures, sign-off blocks, legal disclaimers and "Sent from my phone"
 * lines are neither: they are dropped.  Template placeholders in the new
 * text are blanked with spaces, so every other byte keeps its offset.  The
 * date of the first quoted message is read from its attribution or header.
 *
 * One linear pass to find the lines, one to classify them (with a few lines
 * of lookahead), one to tidy each run of new text and one to write the
 * result.  No regular expressions, no clock, no I/O.  The words it looks
 * for (attribution verbs, header names, sign-offs...) are the policy's
 * (lexicon.h).
 */
#include <glib.h>
#include <stdbool.h>
#include <string.h>

#include "date.h"
#include "lexicon.h"
#include "normalize.h"
#include "policy_priv.h"
#include "thread.h"

#define MAX_ATTRIBUTION        400 /* bytes: longer lines are never attributions */
#define ATTRIBUTION_GAP        2   /* blank lines allowed between attribution and quote */
#define HEADER_LOOKAHEAD       3   /* lines after From: in which Sent:/Date: must come */
#define HEADER_SPAN            5   /* lines after From: that may still carry the date */
#define SEPARATOR_SPAN         8   /* lines after a separator that may carry the date */
#define MIN_UNDERSCORES        10  /* an Outlook "____" separator line */
#define SIGN_OFF_TAIL          6   /* lines allowed after a sign-off (name, title, ...) */
#define SIGN_OFF_LINE_MAX      60  /* bytes in each of them */
#define SIGN_OFF_WORDS_MAX     8   /* words in each of them */
#define DEVICE_LINE_MAX        100 /* a "Sent from my iPhone" line */
#define PLACEHOLDER_MAX        40  /* bytes between a placeholder's brackets */
#define DOUBLE_BRACE_MAX       64  /* bytes between "{{" and "}}" */
#define HEADER_WRAPPED_MAX     4   /* lines a reply header's recipient list may wrap onto */
#define PHONE_DIGITS_MIN       7   /* digits that make a signature line a phone number */
#define NAME_WORDS_MAX         3   /* words of a name alone on its line */
#define PHONE_LABEL_LETTERS    8   /* letters of a phone line's labels (\"Tel\", \"Mob\") */
#define ACRONYM_MAX            3   /* a word in capitals in a title or company (\"LLC\"); longer ones shout */
#define QUOTED_DEVICE_LINE_MAX 60  /* a "Sent from my iPhone" line in a quoted message */
#define GREETING_LINE_MAX      60  /* bytes of a greeting line ("Hi Alex,") */
#define GREETING_WORDS_MAX     5   /* its words after the greeting ("Dear Customer Service Team") */
#define CONTACT_PROSE_WORDS    1   /* lower-case words of a contact line besides its label ("mob") */
#define BANNER_TAG_MAX         24  /* bytes of a gateway's bare tag on its line ("[EXTERNAL EMAIL]") */

enum line_kind {
	LINE_NEW,     /* the author's text */
	LINE_QUOTED,  /* quoted history, attributions and reply headers */
	LINE_DROPPED, /* signature, sign-off, disclaimer, device line */
};

/* The history lines that head a quoted message (mark_meta()). */
enum head {
	HEAD_NONE,
	HEAD_SEPARATOR,   /* "-----Original Message-----", an Outlook rule above a header block */
	HEAD_FROM,        /* a reply header's From: line */
	HEAD_ATTRIBUTION, /* "On ..., Ann <a@b> wrote:" */
};

struct line {
	const char *s;  /* content after any quote markers */
	size_t len;     /* without line break and trailing blanks; 0 when blank */
	unsigned depth; /* quote markers removed */
	bool blank;
	bool meta; /* history but not its words: an attribution, separator or reply header, a
	            * quoted message's signature, disclaimer or device line, or a message the sender
	            * wrote earlier (not written to quoted) */
	enum line_kind kind;
	enum head head;     /* what a history line heads (pass 2b), for pass 2c */
	unsigned char span; /* HEAD_ATTRIBUTION: its lines (1 or 2) */
};

struct splitter {
	GArray *lines; /* struct line */
	const struct split_lexicon *lex;
	struct thread_view *view;
	const char *from; /* the message's own From address (lower case), "" when absent */
	size_t from_len;
	/* mail arriving from a client (split_arriving()): the new text is the
	 * client's message, not a reply's */
	bool arriving;
	/* the writer of the new text, from the message's From: (head_writer()) */
	char writer[2 * MAX_ATTRIBUTION + 2];
	size_t writer_len;
	bool date_done;         /* the first attribution or reply header was read */
	enum line_kind tidying; /* the kind of the run tidy_run() reads */
	size_t header_end;      /* a Date:/Sent: line before this index is a reply header's */
};

/* ---- small scanners ---------------------------------------------------- */

static char lower_ascii(char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static bool is_blank_byte(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static bool starts_with(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);
	return n >= k && memcmp(s, prefix, k) == 0;
}

static bool starts_with_ci(const char *s, size_t n, const char *prefix)
{
	size_t k;

	if (n == 0 || lower_ascii(s[0]) != lower_ascii(prefix[0]))
		return false;
	k = strlen(prefix);
	return n >= k && g_ascii_strncasecmp(s, prefix, k) == 0;
}

/* Case-insensitive (ASCII) search for NEEDLE in N bytes at S. */
static bool contains_ci(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	char first = lower_ascii(needle[0]);

	for (size_t i = 0; i + k <= n; i++)
		if (lower_ascii(s[i]) == first && g_ascii_strncasecmp(s + i, needle, k) == 0)
			return true;
	return false;
}

static bool contains_any_ci(const char *s, size_t n, const struct wordlist *wl)
{
	for (const char *const *w = wl->words; *w; w++)
		if (contains_ci(s, n, *w))
			return true;
	return false;
}

static bool starts_with_any_ci(const char *s, size_t n, const struct wordlist *wl)
{
	for (const char *const *w = wl->words; *w; w++)
		if (starts_with_ci(s, n, *w))
			return true;
	return false;
}

static bool has_digit(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (g_ascii_isdigit(s[i]))
			return true;
	return false;
}

/* A year (19xx or 20xx) standing alone in S: a date in any language, where
 * the date reader knows only some month names. */
static bool has_year(const char *s, size_t n)
{
	for (size_t i = 0; i + 4 <= n; i++) {
		bool alone =
		    (i == 0 || !g_ascii_isalnum(s[i - 1])) && (i + 4 == n || !g_ascii_isalnum(s[i + 4]));
		if (alone && (memcmp(s + i, "19", 2) == 0 || memcmp(s + i, "20", 2) == 0) &&
		    g_ascii_isdigit(s[i + 2]) && g_ascii_isdigit(s[i + 3]))
			return true;
	}
	return false;
}

/* A byte that may stand in an address (RFC 5322's atext, and the dots). */
static bool is_address_byte(char c)
{
	return g_ascii_isalnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL);
}

/* Where the message's own From address stands whole in N bytes at S ("Alex
 * <alex@agency.example> wrote:", "From: alex@agency.example"), from FROM on;
 * N when it does not. */
static size_t sender_at(const struct splitter *sp, const char *s, size_t n, size_t from)
{
	for (size_t i = from; sp->from_len && i + sp->from_len <= n; i++) {
		size_t end = i + sp->from_len;
		if (lower_ascii(s[i]) == sp->from[0] &&
		    g_ascii_strncasecmp(s + i, sp->from, sp->from_len) == 0 &&
		    (i == 0 || !is_address_byte(s[i - 1])) && (end == n || !is_address_byte(s[end])))
			return i;
	}
	return n;
}

static struct line *line_at(const struct splitter *sp, size_t i)
{
	return &g_array_index(sp->lines, struct line, i);
}

/* ---- pass 1: lines and quote markers ----------------------------------- */

/* Bytes of the character at P (before E) that shows as nothing or as a
 * space (text_space_len(), text_invisible_len(): what html2text.c reads as
 * such too): an ASCII blank, a no-break or other Unicode space (mail
 * converted from HTML has them, "&nbsp;Hi Alex,"), a byte order mark, a
 * zero-width space or joiner, a soft hyphen, a control character; 0 for
 * any other. */
static size_t invisible_len(const char *p, const char *e)
{
	const unsigned char *u = (const unsigned char *)p, *ue = (const unsigned char *)e;
	if (p >= e)
		return 0;
	size_t n = text_space_len(u, ue);
	return n ? n : text_invisible_len(u, ue);
}

/* The same, for the character that ends at E (after P). */
static size_t invisible_len_before(const char *p, const char *e)
{
	for (size_t k = 1; k <= 3 && (size_t)(e - p) >= k; k++)
		if (invisible_len(e - k, e) == k)
			return k;
	return 0;
}

/* One line from P to E (exclusive, no line break): quote markers ">", "> >",
 * ">>" after up to three spaces are counted and removed with the one space
 * that follows the last of them; then what shows as nothing or as spaces
 * after its text (invisible_len()) is not the line's, nor before it when
 * it starts with more than an ASCII blank, and a line of nothing else is
 * blank. */
static struct line line_parse(const char *p, const char *e)
{
	struct line l = {.s = p};
	const char *q = p;
	size_t k;

	while ((k = invisible_len_before(p, e)) > 0)
		e -= k;
	for (int lead = 0; q < e && *q == ' ' && lead < 3; lead++)
		q++;
	while (q < e && *q == '>') {
		const char *r = ++q;
		l.depth++;
		while (r < e && *r == ' ')
			r++;
		if (r < e && *r == '>') {
			q = r;
			continue;
		}
		if (q < e && *q == ' ')
			q++;
		break;
	}
	if (l.depth)
		l.s = q;
	/* leading ASCII blanks stay (a header folded onto the next line) */
	if (invisible_len(l.s, e) > 1)
		while ((k = invisible_len(l.s, e)) > 0)
			l.s += k;
	l.len = e - l.s;
	l.blank = l.len == 0;
	return l;
}

static void read_lines(const char *s, size_t n, GArray *lines)
{
	const char *p = s, *end = s + n;

	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		const char *e = nl ? nl : end;
		struct line l = line_parse(p, e);
		g_array_append_val(lines, l);
		p = nl ? nl + 1 : end;
	}
}

/* ---- attributions, separators and reply headers ------------------------ */

/* Value of header NAME ("From") at the start of S, bold stars allowed
 * ("*From:* Ann"), or NULL. */
static const char *header_value(const char *s, size_t n, const char *name, size_t *vlen)
{
	const char *end = s + n, *p = s;
	size_t k = strlen(name);

	if (p < end && *p == '*')
		p++;
	if ((size_t)(end - p) < k + 1 || g_ascii_strncasecmp(p, name, k) != 0)
		return NULL;
	p += k;
	if (p < end && *p == ' ')
		p++;
	else if (end - p >= 2 && (unsigned char)p[0] == 0xC2 && (unsigned char)p[1] == 0xA0)
		p += 2; /* "De\u00a0:" (French) */
	else if (end - p >= 3 && (unsigned char)p[0] == 0xE2 && (unsigned char)p[1] == 0x80 &&
	         (unsigned char)p[2] == 0xAF)
		p += 3; /* a narrow no-break space */
	if (p >= end || *p != ':')
		return NULL;
	p++;
	while (p < end && (*p == '*' || *p == ' ' || *p == '\t'))
		p++;
	*vlen = end - p;
	return p;
}

static const char *header_any(const struct line *l, const struct wordlist *names, size_t *vlen)
{
	for (const char *const *name = names->words; *name; name++) {
		const char *v = header_value(l->s, l->len, *name, vlen);
		if (v)
			return v;
	}
	return NULL;
}

static bool is_from_header(const struct splitter *sp, const struct line *l)
{
	size_t vlen;
	return header_any(l, &sp->lex->lists[SPLIT_FROM_HEADERS], &vlen) != NULL;
}

static const char *date_header(const struct splitter *sp, const struct line *l, size_t *vlen)
{
	return header_any(l, &sp->lex->lists[SPLIT_DATE_HEADERS], vlen);
}

/* "wrote:", "a écrit :", "schrieb Ann <a@b>:" - ends with a colon and names
 * the verb; ANYWHERE allows the verb before the name (German). */
static bool ends_as_attribution(const struct splitter *sp, const char *s, size_t n, bool anywhere)
{
	const struct wordlist *verbs = &sp->lex->lists[SPLIT_ATTRIBUTION_VERBS];
	size_t k;

	if (n == 0 || s[n - 1] != ':')
		return false;
	n--;
	while (n > 0 && s[n - 1] == ' ')
		n--;
	if (anywhere)
		return contains_any_ci(s, n, verbs);
	for (const char *const *verb = verbs->words; *verb; verb++) {
		k = strlen(*verb);
		if (n >= k && g_ascii_strncasecmp(s + n - k, *verb, k) == 0 &&
		    (n == k || s[n - k - 1] == ' '))
			return true;
	}
	return false;
}

/* The length of the word at S + I (up to a space or N). */
static size_t word_len(const char *s, size_t n, size_t i)
{
	size_t k = 0;
	while (i + k < n && s[i + k] != ' ')
		k++;
	return k;
}

/* Is the N-byte word W one of LIST's, ASCII case aside? */
static bool word_in(const struct wordlist *list, const char *w, size_t n)
{
	for (const char *const *v = list->words; *v; v++)
		if (strlen(*v) == n && g_ascii_strncasecmp(w, *v, n) == 0)
			return true;
	return false;
}

/* The small words of names and titles, the only ones there in lower case:
 * "Jan de Vries", "Head of Sales and Marketing". */
static bool is_name_particle(const char *w, size_t n)
{
	static const char *const particles[] = {"de", "van", "von", "der", "da",  "di",  "le", "la",
	                                        "du", "of",  "and", "at",  "for", "the", NULL};
	for (const char *const *p = particles; *p; p++)
		if (strlen(*p) == n && memcmp(w, *p, n) == 0)
			return true;
	return false;
}

/* Whether the N bytes at S, before an attribution's verb, read as who
 * wrote: a name ("Jan de Vries"), an address, or both; "As we" or "Your
 * agent Mark" in prose do not. */
static bool names_a_writer(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t k = word_len(s, n, i);
		bool ok = k == 0 || memchr(s + i, '@', k) || s[i] == '<' || s[i] == '"' || s[i] == '(' ||
		          !g_ascii_islower(s[i]) || is_name_particle(s + i, k);
		if (!ok || (memchr(s + i, '.', k) && !memchr(s + i, '@', k)))
			return false;
		i += k + 1;
	}
	return n > 0;
}

/* "Ann wrote on 03/03/2026 09:14:" (Thunderbird, "schrieb am", "a écrit
 * le"): who wrote, a verb of the lexicon's, one of its attribution
 * prefixes ("on"), and a date before the closing colon.  Returns where the
 * date starts (the name before it may be a month's: "Jan"), or 0. */
static size_t wrote_on_date(const struct splitter *sp, const struct line *l)
{
	size_t n = l->len, verb = 0, verb_len = 0;

	if (n == 0 || l->s[n - 1] != ':' || !has_digit(l->s, n))
		return 0;
	for (size_t i = 0; i < n;) {
		size_t k = word_len(l->s, n, i);
		if (verb_len && verb > 0 &&
		    word_in(&sp->lex->lists[SPLIT_ATTRIBUTION_PREFIXES], l->s + i, k) &&
		    names_a_writer(l->s, verb - 1) && has_digit(l->s + i + k, n - i - k))
			return i + k + 1;
		if (k) {
			bool is_verb = word_in(&sp->lex->lists[SPLIT_ATTRIBUTION_VERBS], l->s + i, k);
			verb = is_verb ? i : 0;
			verb_len = is_verb ? k : 0;
		}
		i += k + 1;
	}
	return 0;
}

/* Bytes of the attribution prefix ("On ": the word and a space) that
 * starts L, or 0. */
static size_t attribution_prefix_len(const struct splitter *sp, const struct line *l)
{
	const struct wordlist *prefixes = &sp->lex->lists[SPLIT_ATTRIBUTION_PREFIXES];

	if (l->len == 0 || !wordlist_may_start(prefixes, l->s[0]))
		return 0;
	for (const char *const *word = prefixes->words; *word; word++) {
		size_t k = strlen(*word);
		if (starts_with(l->s, l->len, *word) && l->len > k && l->s[k] == ' ')
			return k + 1;
	}
	return 0;
}

/* Lines (0, 1 or 2) of an attribution starting at line I.  *DATED says it
 * begins "On ..."-style and so may carry a date. */
static size_t attribution_span(const struct splitter *sp, size_t i, bool *dated)
{
	const struct line *l = line_at(sp, i), *next;

	*dated = false;
	if (l->blank || l->len > MAX_ATTRIBUTION)
		return 0;
	if (l->s[l->len - 1] != ':' && !attribution_prefix_len(sp, l))
		return 0;
	if (!attribution_prefix_len(sp, l)) {
		if (ends_as_attribution(sp, l->s, l->len, false))
			return 1;
		*dated = wrote_on_date(sp, l) > 0;
		return *dated ? 1 : 0;
	}
	*dated = true;
	if (ends_as_attribution(sp, l->s, l->len, true))
		return 1;
	if (i + 1 >= sp->lines->len)
		return 0;
	next = line_at(sp, i + 1);
	if (next->blank || next->depth != l->depth || l->len + next->len > MAX_ATTRIBUTION)
		return 0;
	/* "On the refund: ..." above "On Mon, ... wrote:": that one is whole,
	 * and the line above, with no date in it, the author's ("On Mon, 2 Mar
	 * 2026, Ann" above "Le Blanc <a@b> wrote:" is one attribution). */
	if (!has_digit(l->s, l->len) && attribution_prefix_len(sp, next) &&
	    ends_as_attribution(sp, next->s, next->len, true))
		return 0;
	return ends_as_attribution(sp, next->s, next->len, true) ? 2 : 0;
}

/* The SPAN lines (1 or 2) of the attribution at line I, joined by a space
 * into BUF (2 * MAX_ATTRIBUTION + 2 bytes); returns its length. */
static size_t attribution_text(const struct splitter *sp, size_t i, size_t span, char *buf)
{
	size_t n = 0;

	for (size_t k = 0; k < span; k++) {
		const struct line *l = line_at(sp, i + k);
		if (k)
			buf[n++] = ' ';
		memcpy(buf + n, l->s, l->len);
		n += l->len;
	}
	return n;
}

/* Does a word of the lexicon's attribution verbs ("wrote", "schrieb") come
 * in the N bytes at S? */
static bool has_attribution_verb(const struct splitter *sp, const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t k = word_len(s, n, i);
		if (k && word_in(&sp->lex->lists[SPLIT_ATTRIBUTION_VERBS], s + i, k))
			return true;
		i += k + 1;
	}
	return false;
}

/* Does the attribution of SPAN lines at line I name the message's own
 * sender as who wrote: an earlier message of the author's, not the
 * client's?  The address counts in angle brackets ("schrieb Alex
 * <alex@agency.example>:") or before the verb ("alex@agency.example
 * wrote:"), not as whom the writer wrote to ("I wrote to alex@...:"); a
 * list's or a help desk's relay ("'Dana' via Support <support@...>")
 * names the list, not the writer. */
static bool attribution_by_sender(const struct splitter *sp, size_t i, size_t span)
{
	char buf[2 * MAX_ATTRIBUTION + 2];
	size_t n = attribution_text(sp, i, span, buf);

	if (!memchr(buf, '@', n) || contains_ci(buf, n, " via "))
		return false;
	for (size_t at = sender_at(sp, buf, n, 0); at < n; at = sender_at(sp, buf, n, at + 1))
		if ((at > 0 && (buf[at - 1] == '<' || buf[at - 1] == ':')) ||
		    !has_attribution_verb(sp, buf, at))
			return true;
	return false;
}

/* The From: line L of a reply header, if it is one: 1 when it names the
 * message's own sender, 0 when not, -1 when L is no From: line. */
static int from_header_writer(const struct splitter *sp, const struct line *l)
{
	size_t vlen;
	const char *v = header_any(l, &sp->lex->lists[SPLIT_FROM_HEADERS], &vlen);
	if (v == NULL)
		return -1;
	return memchr(v, '@', vlen) && sender_at(sp, v, vlen, 0) < vlen;
}

/* Where the date window of the separator at line I ends: none when the
 * header block under it is the sender's own (Thunderbird's forward puts
 * Date: above From:). */
static size_t separator_date_end(const struct splitter *sp, size_t i)
{
	for (size_t j = i + 1; j < sp->lines->len && j <= i + SEPARATOR_SPAN; j++) {
		const struct line *l = line_at(sp, j);
		if (l->blank)
			break;
		if (from_header_writer(sp, l) == 1)
			return 0;
	}
	return i + SEPARATOR_SPAN;
}

/* The date of the attribution at line I spanning SPAN lines. */
static gint64 attribution_date(const struct splitter *sp, size_t i, size_t span)
{
	char buf[2 * MAX_ATTRIBUTION + 2];
	const struct line *l = line_at(sp, i);
	size_t n = attribution_text(sp, i, span, buf), skip = attribution_prefix_len(sp, l);

	if (skip == 0)
		skip = wrote_on_date(sp, l); /* "Ann wrote on 03/03/2026 09:14:" */
	/* Skip the prefix word ("On "). */
	return date_parse(buf + skip, n - skip);
}

static bool quote_follows(const struct splitter *sp, size_t i)
{
	for (size_t gap = 0; i < sp->lines->len; i++, gap++) {
		const struct line *l = line_at(sp, i);
		if (l->depth)
			return true;
		if (!l->blank || gap >= ATTRIBUTION_GAP)
			return false;
	}
	return false;
}

static void set_date(struct splitter *sp, gint64 when)
{
	sp->view->quoted_date = when;
	sp->date_done = true;
}

/* "-----Original Message-----", "---------- Forwarded message ---------" */
static bool is_separator(const struct splitter *sp, const struct line *l)
{
	if (starts_with(l->s, l->len, "---"))
		return contains_any_ci(l->s, l->len, &sp->lex->lists[SPLIT_SEPARATOR_PHRASES]);
	/* one of the starts with nothing after it but decoration ("-##", ":"):
	 * "Please reply above this line, your form says..." is a sentence */
	for (const char *const *w = sp->lex->lists[SPLIT_SEPARATOR_STARTS].words; *w; w++) {
		size_t k = strlen(*w);
		if (!starts_with_ci(l->s, l->len, *w))
			continue;
		while (k < l->len && !g_ascii_isalnum(l->s[k]) && (unsigned char)l->s[k] < 0x80)
			k++;
		if (k == l->len)
			return true;
	}
	return false;
}

/* A quoted line: the first attribution or reply-header date sets the date,
 * unless it heads one of the sender's own earlier messages (the date is
 * the client's message's). */
static void note_quoted(struct splitter *sp, size_t i)
{
	const struct line *l = line_at(sp, i);
	const char *v;
	size_t vlen, span;
	bool dated;

	if (sp->date_done || l->blank)
		return;
	if (is_from_header(sp, l)) {
		sp->header_end = from_header_writer(sp, l) == 1 ? 0 : i + HEADER_SPAN;
		return;
	}
	if (is_separator(sp, l)) {
		sp->header_end = separator_date_end(sp, i);
		return;
	}
	v = date_header(sp, l, &vlen);
	if (v && i < sp->header_end) {
		set_date(sp, date_parse(v, vlen));
		return;
	}
	span = attribution_span(sp, i, &dated);
	if (span && !attribution_by_sender(sp, i, span))
		set_date(sp, dated ? attribution_date(sp, i, span) : -1);
}

static bool is_underscore_rule(const struct line *l)
{
	size_t i = 0;

	while (i < l->len && l->s[i] == '_')
		i++;
	return i >= MIN_UNDERSCORES && i == l->len;
}

/* From: followed closely by Sent: or Date:, and either an address in the
 * From line or a date in the date line: "From: Leeds depot" / "Date:
 * Thursday, before noon" in the author's own text is no header block. */
static bool is_header_block(const struct splitter *sp, size_t i)
{
	size_t flen, vlen;
	const char *from = header_any(line_at(sp, i), &sp->lex->lists[SPLIT_FROM_HEADERS], &flen);

	if (!from)
		return false;
	bool address = memchr(from, '@', flen) || memchr(from, '<', flen);
	for (size_t j = i + 1; j < sp->lines->len && j <= i + HEADER_LOOKAHEAD; j++) {
		const char *v = date_header(sp, line_at(sp, j), &vlen);
		if (v)
			return address || date_parse(v, vlen) >= 0 || has_year(v, vlen);
	}
	return false;
}

/* Outlook's rule at line I above a reply header ("____" then "From: ..."),
 * not a signature's line. */
static bool rule_above_block(const struct splitter *sp, size_t i)
{
	for (size_t j = i + 1; j < sp->lines->len && j <= i + 2; j++)
		if (is_header_block(sp, j))
			return true;
	return false;
}

/* Does the quoted history start at line I (everything from here on)? */
static bool starts_history(struct splitter *sp, size_t i)
{
	const struct line *l = line_at(sp, i);

	/* Separators, rules and From: headers all start with one of these. */
	if (!strchr("-_*", l->s[0]) && !wordlist_may_start(&sp->lex->lists[SPLIT_FROM_HEADERS], l->s[0]) &&
	    !wordlist_may_start(&sp->lex->lists[SPLIT_SEPARATOR_STARTS], l->s[0]))
		return false;
	if (is_separator(sp, l))
		return true; /* its date window is note_quoted()'s, on the same line */
	if (is_underscore_rule(l))
		return rule_above_block(sp, i);
	return is_header_block(sp, i);
}

static bool is_signature_marker(const struct line *l)
{
	return l->depth == 0 && l->len == 2 && l->s[0] == '-' && l->s[1] == '-';
}

/* ---- pass 2: classify -------------------------------------------------- */

/* Attribution at line I in the author's text: quoted when a quote follows,
 * or when it is dated (then everything after it is history).  Returns the
 * lines taken, 0 when not an attribution. */
static size_t take_attribution(struct splitter *sp, size_t i, bool *tail)
{
	const struct line *l = line_at(sp, i);
	bool dated, unquoted;
	size_t span = attribution_span(sp, i, &dated);

	if (!span)
		return 0;
	unquoted = !quote_follows(sp, i + span);
	if (unquoted && !(dated && has_digit(l->s, l->len) &&
	                  (attribution_date(sp, i, span) >= 0 || has_year(l->s, l->len))))
		return 0; /* "On 2 March you wrote:" in the author's prose */
	*tail = unquoted;
	for (size_t k = 0; k < span; k++)
		line_at(sp, i + k)->kind = LINE_QUOTED;
	if (!sp->date_done && !attribution_by_sender(sp, i, span))
		set_date(sp, dated ? attribution_date(sp, i, span) : -1);
	return span;
}

static void classify(struct splitter *sp)
{
	bool tail = false, signature = false;

	for (size_t i = 0; i < sp->lines->len; i++) {
		struct line *l = line_at(sp, i);
		size_t span;

		if (tail || l->depth) {
			l->kind = LINE_QUOTED;
			note_quoted(sp, i);
		} else if (l->blank) {
			l->kind = signature ? LINE_DROPPED : LINE_NEW;
		} else if (starts_history(sp, i)) {
			tail = true;
			l->kind = LINE_QUOTED;
			note_quoted(sp, i);
		} else if ((span = take_attribution(sp, i, &tail)) > 0) {
			i += span - 1;
		} else if (signature || is_signature_marker(l)) {
			signature = true;
			sp->view->has_signature = true;
			l->kind = LINE_DROPPED;
		} else {
			l->kind = LINE_NEW;
		}
	}
}

/* ---- pass 2b: the history's own headers --------------------------------- */

/* A line of a reply header: one of the lexicon's From, date or other
 * header names ("To:", "Cc:", "Subject:", "Betreff:") and its value. */
static bool is_header_line(const struct splitter *sp, const struct line *l)
{
	size_t vlen;
	return header_any(l, &sp->lex->lists[SPLIT_FROM_HEADERS], &vlen) ||
	       header_any(l, &sp->lex->lists[SPLIT_DATE_HEADERS], &vlen) ||
	       header_any(l, &sp->lex->lists[SPLIT_OTHER_HEADERS], &vlen);
}

/* Does L hold an address list ("To: Bob <b@x>; Carol Jones")? */
static bool lists_addresses(const struct line *l)
{
	char last = l->s[l->len - 1];
	return memchr(l->s, '@', l->len) || memchr(l->s, '<', l->len) || last == ';' || last == ',';
}

/* A header's value wrapped onto line L of its own, under ABOVE: indented,
 * or the rest of an address list ("<carol@x>; Dave <d@x>"). */
static bool is_header_continuation(const struct line *above, const struct line *l)
{
	return l->s[0] == ' ' || l->s[0] == '\t' || (lists_addresses(above) && lists_addresses(l));
}

/* Mark the reply-header lines from line I on (header names of the
 * lexicon's lists, in any order, and values wrapped under them), up to a
 * blank line or any other line; returns the first line not marked. */
static size_t mark_header_lines(struct splitter *sp, size_t i)
{
	unsigned wrapped = 0;

	for (; i < sp->lines->len; i++) {
		struct line *l = line_at(sp, i);
		if (l->kind != LINE_QUOTED || l->blank)
			break;
		if (is_header_line(sp, l)) {
			wrapped = 0;
			if (is_from_header(sp, l))
				l->head = HEAD_FROM;
		} else if (i == 0 || !line_at(sp, i - 1)->meta ||
		           !is_header_continuation(line_at(sp, i - 1), l) || ++wrapped > HEADER_WRAPPED_MAX)
			break;
		l->meta = true;
	}
	return i;
}

/* Does a quote deeper than line I's follow it (blank lines aside)? */
static bool deeper_quote_follows(const struct splitter *sp, size_t i)
{
	unsigned depth = line_at(sp, i)->depth;

	for (size_t gap = 0, j = i + 1; j < sp->lines->len; j++) {
		const struct line *l = line_at(sp, j);
		if (!l->blank)
			return l->depth > depth;
		if (++gap > ATTRIBUTION_GAP)
			break;
	}
	return false;
}

/* An attribution of SPAN lines at line I inside the history: above an
 * older message quoted deeper, or dated ("On Mon, 2 Mar 2026, Ann
 * wrote:").  "Your agent Mark wrote:" in a quoted complaint is its words. */
static bool is_history_attribution(const struct splitter *sp, size_t i, size_t span, bool dated)
{
	const struct line *l = line_at(sp, i);
	return deeper_quote_follows(sp, i + span - 1) ||
	       (dated && has_digit(l->s, l->len) &&
	        (attribution_date(sp, i, span) >= 0 || has_year(l->s, l->len)));
}

/* The lines of the quoted history that say who wrote it and when (its
 * attributions, separators and reply headers: "On Mon, ... Ann wrote:",
 * "-----Original Message-----", "From: ... / Sent: ... / Subject: ...") are
 * history but not the complaint's words: the gate, trained on what people
 * write, is not to read a header block's dates and addresses as a
 * complaint's. */
static void mark_meta(struct splitter *sp)
{
	for (size_t i = 0; i < sp->lines->len; i++) {
		struct line *l = line_at(sp, i);
		size_t span;
		bool dated;

		if (l->kind != LINE_QUOTED || l->blank)
			continue;
		bool separator = is_separator(sp, l);
		if (separator || is_underscore_rule(l)) {
			/* the forwarded message's headers, in any order, may follow; a
			 * rule is a head only above them (else a signature's line) */
			l->meta = true;
			if (separator || rule_above_block(sp, i))
				l->head = HEAD_SEPARATOR;
			i = mark_header_lines(sp, i + 1) - 1;
		} else if (is_header_block(sp, i)) {
			i = mark_header_lines(sp, i) - 1;
		} else if ((span = attribution_span(sp, i, &dated)) > 0 &&
		           is_history_attribution(sp, i, span, dated)) {
			for (size_t k = 0; k < span; k++)
				line_at(sp, i + k)->meta = true;
			l->head = HEAD_ATTRIBUTION;
			l->span = (unsigned char)span;
			i += span - 1;
		}
	}
}

/* ---- pass 2c: the sender's own earlier messages ------------------------- */

#define OWNER_DEPTHS 32 /* quote depths told apart; deeper ones count as the deepest */

/* Who wrote the message that the history line I heads (mark_meta() said
 * which lines do): 1 the sender, 0 someone else or not known yet (a
 * separator: the From: under it decides), -1 a line that heads no message.
 * *ATTRIBUTION: the head is an attribution, whose message is quoted deeper
 * than it; a From: block's is at its own depth. */
static int writer_at(const struct splitter *sp, size_t i, bool *attribution)
{
	const struct line *l = line_at(sp, i);

	*attribution = l->head == HEAD_ATTRIBUTION;
	switch (l->head) {
	case HEAD_FROM: return from_header_writer(sp, l);
	case HEAD_SEPARATOR: return 0;
	case HEAD_ATTRIBUTION: return attribution_by_sender(sp, i, l->span);
	case HEAD_NONE: break;
	}
	return -1;
}

/* The sender's own earlier messages in the history ("On ..., Alex
 * <alex@agency.example> wrote:" above the account manager's last note) are
 * history but not the client's words: the gate is to read what the client
 * wrote.  Who wrote the text at each quote depth is followed apart: an
 * attribution's message is the text quoted one level deeper under it (a
 * client's line at the attribution's own depth stays the client's), a
 * From: block's the text at its depth after it, until the next head at
 * that depth or above, or the author's own text; text quoted deeper inside
 * the sender's message, with a head of its own or not, is not the
 * sender's. */
static void drop_own_messages(struct splitter *sp)
{
	bool own[OWNER_DEPTHS] = {false};
	int pending = -1; /* an attribution's writer, for the first line quoted deeper under it */
	unsigned pending_depth = 0;

	if (sp->from_len == 0)
		return;
	for (size_t i = 0; i < sp->lines->len; i++) {
		struct line *l = line_at(sp, i);
		unsigned d = MIN(l->depth, OWNER_DEPTHS - 1);
		bool attribution;
		int writer;

		if (l->kind != LINE_QUOTED) {
			memset(own, 0, sizeof own);
			pending = -1;
		} else if (l->meta) {
			writer = writer_at(sp, i, &attribution);
			if (writer >= 0) {
				/* a message that opens by quoting an older one */
				if (pending >= 0 && d > pending_depth)
					own[d] = pending == 1;
				for (unsigned k = d + 1; k < OWNER_DEPTHS; k++)
					own[k] = false;
				if (attribution) {
					pending = writer;
					pending_depth = d;
				} else {
					own[d] = writer == 1;
					pending = -1;
				}
			}
		} else if (!l->blank) {
			/* quoted deeper, or (at depth 0) the history under a dated
			 * attribution without quote marks */
			if (pending >= 0 && (d > pending_depth || d == 0))
				own[d] = pending == 1;
			pending = -1;
			l->meta = own[d];
		} else {
			l->meta = own[d];
		}
	}
}

/* ---- pass 3: tidy each run of new text --------------------------------- */

static bool speaks_for_self(const struct line *l);

static bool is_device_line(const struct splitter *sp, const struct line *l)
{
	const struct wordlist *devices = &sp->lex->lists[SPLIT_DEVICE_LINES];

	return l->len <= DEVICE_LINE_MAX && wordlist_may_start(devices, l->s[0]) &&
	       starts_with_any_ci(l->s, l->len, devices);
}

/* "Best regards," / "Thanks!" / "Cheers" alone on the line. */
static bool is_sign_off(const struct splitter *sp, const struct line *l)
{
	char word[SIGN_OFF_MAX];
	size_t n = l->len;

	if (n == 0 || n >= sizeof word)
		return false;
	for (size_t i = 0; i < n; i++)
		word[i] = g_ascii_tolower(l->s[i]);
	if (word[n - 1] == ',' || word[n - 1] == '!' || word[n - 1] == '.')
		n--;
	while (n > 0 && word[n - 1] == ' ')
		n--;
	word[n] = '\0';
	for (const char *const *w = sp->lex->lists[SPLIT_SIGN_OFFS].words; *w; w++)
		if (g_ascii_strcasecmp(word, *w) == 0)
			return true;
	return false;
}

/* A name, title, phone, company or address line under a sign-off. */
static bool is_signature_line(const struct line *l)
{
	size_t words = 0;
	char last = l->s[l->len - 1];

	if (l->len > SIGN_OFF_LINE_MAX || last == '?' || last == '!')
		return false;
	for (size_t i = 0; i < l->len; i++)
		if (l->s[i] != ' ' && (i == 0 || l->s[i - 1] == ' '))
			words++;
	return words <= SIGN_OFF_WORDS_MAX && (last != '.' || words <= 3);
}

/* The bytes of an apostrophe at S (N bytes at most): 1 for "'", 3 for
 * U+2019, 0 for anything else. */
static size_t apostrophe_at(const char *s, size_t n)
{
	return n >= 1 && s[0] == '\'' ? 1 : n >= 3 && memcmp(s, "\xE2\x80\x99", 3) == 0 ? 3 : 0;
}

/* Is the text's word W (N bytes) the list's ENTRY, an apostrophe U+2019
 * on either side the same as "'"? */
static bool same_word(const char *w, size_t n, const char *entry)
{
	size_t i = 0;
	while (i < n && *entry) {
		size_t wq = apostrophe_at(w + i, n - i), eq = apostrophe_at(entry, strnlen(entry, 3));
		if (wq && eq) {
			i += wq;
			entry += eq;
		} else if (wq || eq || w[i] != *entry) {
			return false;
		} else {
			i++;
			entry++;
		}
	}
	return i == n && *entry == '\0';
}

/* The first line under a sign-off reads as a sentence of the author's, not
 * a name ("Alex Morgan", "marcus", "the Acme support team"): it has a word
 * of the lexicon's sign-off-sentence-words, a pronoun or verb no name or
 * team line has ("I'll call you tomorrow", "Refund is on its way", "Yes,
 * done today"), with the list's case: lowercase but for "I" in the built-in
 * list, so that "Will Smith", "Can Demir" and "IT Support" stay names.  A
 * line in a language the list lacks is taken for a name. */
static bool reads_as_sentence(const struct splitter *sp, const struct line *l)
{
	const char *const *words = sp->lex->lists[SPLIT_SENTENCE_WORDS].words;
	size_t i = 0;
	while (i < l->len) {
		size_t n = lexicon_word_len(l->s + i, l->len - i);
		if (n == 0) {
			i++; /* a byte of a character that is no letter */
			continue;
		}
		/* "you’re" is "you're", and its "you" too, when the list lacks it */
		size_t stem = 1;
		while (stem < n && !apostrophe_at(l->s + i + stem, n - stem))
			stem++;
		for (const char *const *w = words; n < SIGN_OFF_MAX && *w; w++)
			if (same_word(l->s + i, n, *w) || (stem < n && same_word(l->s + i, stem, *w)))
				return true;
		i += n;
	}
	return false;
}

static bool is_postscript(const struct line *l)
{
	return starts_with_ci(l->s, l->len, "P.S") || starts_with_ci(l->s, l->len, "PS:") ||
	       starts_with_ci(l->s, l->len, "PS ");
}

static bool is_weak_disclaimer_start(const struct splitter *sp, const struct line *l)
{
	return starts_with_any_ci(l->s, l->len, &sp->lex->lists[SPLIT_DISCLAIMER_WEAK_STARTS]);
}

static bool is_legal_line(const struct splitter *sp, const struct line *l)
{
	return contains_any_ci(l->s, l->len, &sp->lex->lists[SPLIT_DISCLAIMER_WORDS]);
}

static bool is_disclaimer_start(const struct splitter *sp, const struct line *l)
{
	if (starts_with_any_ci(l->s, l->len, &sp->lex->lists[SPLIT_DISCLAIMER_STARTS]))
		return true;
	return is_weak_disclaimer_start(sp, l) && is_legal_line(sp, l);
}

/* A line of words of the run being tidied: the author's new text, or one
 * quoted message's. */
static bool is_run_text(const struct splitter *sp, const struct line *l)
{
	return l->kind == sp->tidying && !l->blank && !l->meta;
}

/* End of the paragraph of new text starting at line I, before END. */
static size_t paragraph_end(const struct splitter *sp, size_t i, size_t end)
{
	while (i < end && is_run_text(sp, line_at(sp, i)))
		i++;
	return i;
}

static bool paragraph_is_legal(const struct splitter *sp, size_t i, size_t end)
{
	for (; i < end; i++)
		if (is_legal_line(sp, line_at(sp, i)))
			return true;
	return false;
}

/* Drop lines FROM..TO: from the new text; from a quoted message, as its
 * history's own lines are (still history, so a paragraph break stays). */
static void drop_lines(struct splitter *sp, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		if (sp->tidying == LINE_QUOTED)
			line_at(sp, i)->meta = true;
		else
			line_at(sp, i)->kind = LINE_DROPPED;
	}
}

enum contact {
	CONTACT_NONE,
	CONTACT_NAME,   /* a few words that each begin with a capital */
	CONTACT_STRONG, /* an address, a link or a phone number */
};

/* Words of L in lower case that are neither a label ("email:", "mob"
 * counts), an address, a link, a number nor a name's particle ("of"): an
 * address in a sentence ("I emailed support@x twice", "@dana here again")
 * is no contact line. */
static size_t prose_words(const struct line *l)
{
	size_t words = 0;

	for (size_t i = 0; i < l->len;) {
		size_t n = word_len(l->s, l->len, i);
		const char *w = l->s + i;
		bool plain = n > 0 && g_ascii_islower(w[0]) && w[n - 1] != ':' && !memchr(w, '@', n) &&
		             !memchr(w, '/', n) && !has_digit(w, n) && !is_name_particle(w, n);
		for (size_t k = 0; plain && k + 1 < n; k++)
			plain = w[k] != '.'; /* "client.example" */
		words += plain;
		i += n + 1;
	}
	return words;
}

/* What a line of a quoted message's signature may be: a name, title or
 * company (a few words that each begin with a capital, or are "of",
 * "and", "de"...), or a contact (an address, a link, a phone number).  A
 * quoted complaint's "Still waiting" under its "Thanks," is its words. */
static enum contact contact_kind(const struct line *l)
{
	size_t digits = 0, letters = 0, words = 0;
	char last = l->s[l->len - 1];

	if (last == '?' || last == '!')
		return CONTACT_NONE;
	if ((memchr(l->s, '@', l->len) || contains_ci(l->s, l->len, "www.") ||
	     contains_ci(l->s, l->len, "http")) &&
	    prose_words(l) <= CONTACT_PROSE_WORDS)
		return CONTACT_STRONG;
	for (size_t i = 0; i < l->len; i++) {
		digits += g_ascii_isdigit(l->s[i]) != 0;
		letters += g_ascii_isalpha(l->s[i]) != 0;
	}
	/* a phone line: digits, and no more letters than its labels ("Tel:", "Mob:") */
	if (digits >= PHONE_DIGITS_MIN && letters <= PHONE_LABEL_LETTERS)
		return CONTACT_STRONG;
	for (size_t i = 0; i < l->len;) {
		size_t n = word_len(l->s, l->len, i), upper = 0;
		for (size_t k = 0; k < n; k++)
			upper += g_ascii_isupper(l->s[i + k]) != 0;
		bool capital = n == 0 || (!g_ascii_islower(l->s[i]) && (upper < n || n <= ACRONYM_MAX)) ||
		               is_name_particle(l->s + i, n);
		if (n > 0 && (!capital || ++words > SIGN_OFF_WORDS_MAX))
			return CONTACT_NONE;
		i += n + 1;
	}
	return CONTACT_NAME;
}

/* A line of a quoted message's signature block: a name or title as short
 * as any signature line, or a contact line up to twice as long ("Tel: +44
 * 20 7946 0321 | Mob: +44 7700 900123"). */
static bool is_quoted_signature_line(const struct line *l)
{
	enum contact c = contact_kind(l);
	return c == CONTACT_STRONG ? l->len <= 2 * SIGN_OFF_LINE_MAX
	                           : c == CONTACT_NAME && is_signature_line(l);
}

/* Drop disclaimer paragraphs in lines A..B, and the legal paragraphs after
 * the first one. */
static void drop_disclaimers(struct splitter *sp, size_t a, size_t b)
{
	bool in_disclaimer = false, quoted = sp->tidying == LINE_QUOTED || sp->arriving, words_before = false;

	for (size_t i = a; i < b;) {
		const struct line *l = line_at(sp, i);
		size_t end;
		bool legal;

		if (!is_run_text(sp, l)) {
			i++;
			continue;
		}
		end = paragraph_end(sp, i, b);
		/* A weak start may put its legal words on a later line.  In a quoted
		 * message only a strong start counts, after words of its own, and
		 * alone: "The contents of this parcel... legally obliged" is a
		 * complaint's. */
		if (quoted)
			legal = words_before &&
			        starts_with_any_ci(l->s, l->len, &sp->lex->lists[SPLIT_DISCLAIMER_STARTS]);
		else
			legal = is_disclaimer_start(sp, l) ||
			        ((in_disclaimer || is_weak_disclaimer_start(sp, l)) &&
			         paragraph_is_legal(sp, i, end));
		if (legal) {
			drop_lines(sp, i, end);
			sp->view->has_disclaimer |= !quoted;
		}
		in_disclaimer = legal;
		words_before = words_before || !legal;
		i = end;
	}
}

/* Does the sign-off at line I close the text: at most SIGN_OFF_TAIL
 * signature lines up to END or a postscript?  Sets *STOP to where the
 * sign-off block ends. */
static bool sign_off_closes(const struct splitter *sp, size_t i, size_t end, size_t *stop)
{
	size_t count = 0;

	for (size_t j = i + 1; j < end; j++) {
		const struct line *l = line_at(sp, j);
		if (!is_run_text(sp, l))
			continue;
		if (is_postscript(l)) {
			*stop = j;
			return true;
		}
		bool signature =
		    sp->tidying == LINE_QUOTED ? is_quoted_signature_line(l) : is_signature_line(l);
		if (++count > SIGN_OFF_TAIL || !signature || (count == 1 && reads_as_sentence(sp, l)))
			return false;
	}
	*stop = end;
	return true;
}

static void drop_sign_off(struct splitter *sp, size_t a, size_t b)
{
	for (size_t i = a; i < b; i++) {
		size_t stop;
		if (!is_run_text(sp, line_at(sp, i)) || !is_sign_off(sp, line_at(sp, i)))
			continue;
		if (sign_off_closes(sp, i, b, &stop)) {
			drop_lines(sp, i, stop);
			sp->view->has_signature |= sp->tidying == LINE_NEW;
			return;
		}
	}
}

/* After a quoted device line's comma (S[0], N bytes), a note on its typing
 * and nothing else ("Sent from my phone, please excuse brevity and
 * typos"): words that start as a typing word does, or fillers ("please",
 * "any"), at least one of the first; not a complaint's words ("Sent via
 * DHL, tracking says delivered but nothing arrived", "..., excuse typos.
 * STILL no refund!"). */
static bool is_typing_note(const char *s, size_t n)
{
	static const char *const typing[] = {"typo",         "brevity",  "brief", "autocorrect",
	                                     "auto-correct", "spelling", NULL};
	static const char *const filler_words[] = {
	    "please", "pls", "excuse", "pardon", "forgive", "sorry",  "apologies", "for",
	    "any",    "the", "my",     "and",    "or",      "errors", "mistakes",  NULL};
	static const struct wordlist fillers = {.words = filler_words};
	bool note = false;

	for (size_t i = 1; i < n;) { /* s[0] is the comma */
		while (i < n && (s[i] == ' ' || s[i] == '.' || s[i] == ','))
			i++;
		size_t k = 0;
		while (i + k < n && (g_ascii_isalpha(s[i + k]) || s[i + k] == '-'))
			k++;
		if (k == 0)
			return i >= n && note;
		bool known = false; /* a typing word ("typos", "briefly"), or a filler word */
		for (const char *const *w = typing; *w && !known; w++)
			known = k >= strlen(*w) && g_ascii_strncasecmp(s + i, *w, strlen(*w)) == 0;
		note = note || known;
		known = known || word_in(&fillers, s + i, k);
		if (!known)
			return false;
		i += k;
	}
	return note;
}

/* Drop the device lines ("Sent from my iPhone") that end lines A..B, with
 * nothing after them but blank lines and legal text: one in the middle of
 * the text is the author's ("Sent via DHL Express this morning").  In a
 * quoted message, a short one, with no comma or a note on typing after
 * it. */
static void drop_device_lines(struct splitter *sp, size_t a, size_t b)
{
	for (size_t i = b; i > a; i--) {
		struct line *l = line_at(sp, i - 1);
		if (!is_run_text(sp, l))
			continue;
		const char *comma = memchr(l->s, ',', l->len);
		if (is_device_line(sp, l) &&
		    ((sp->tidying == LINE_NEW && !sp->arriving) ||
		     ((!comma || is_typing_note(comma, l->len - (size_t)(comma - l->s))) &&
		      l->len <= QUOTED_DEVICE_LINE_MAX)))
			drop_lines(sp, i - 1, i);
		else if (!is_legal_line(sp, l) && !is_disclaimer_start(sp, l))
			return;
	}
}

static void tidy_run(struct splitter *sp, size_t a, size_t b)
{
	/* disclaimers first, so that a device line above one is last; then once
	 * more, for one whose paragraph began with that device line */
	drop_disclaimers(sp, a, b);
	drop_device_lines(sp, a, b);
	drop_disclaimers(sp, a, b);
	drop_sign_off(sp, a, b);
}

/* Where the quoted message whose text starts at line I ends: at a line of
 * its history's own (an attribution, a reply header), a line of another
 * quote depth, or the author's text. */
static size_t quoted_run_end(const struct splitter *sp, size_t i)
{
	unsigned depth = line_at(sp, i)->depth;

	for (; i < sp->lines->len; i++) {
		const struct line *l = line_at(sp, i);
		if (l->kind != LINE_QUOTED || l->meta || (!l->blank && l->depth != depth))
			break;
	}
	return i;
}

/* A quoted message's "-- " signature in lines A..B: the marker and at
 * most SIGN_OFF_TAIL name and contact lines under it, up to a blank line
 * or the message's end.  A "--" in a complaint's prose is its words. */
static void drop_quoted_signature(struct splitter *sp, size_t a, size_t b)
{
	for (size_t k = a; k < b; k++) {
		const struct line *l = line_at(sp, k);
		if (l->len != 2 || memcmp(l->s, "--", 2) != 0)
			continue;
		size_t end = k + 1;
		while (
		    end < b && !line_at(sp, end)->blank && end - k <= SIGN_OFF_TAIL &&
		    (is_signature_line(line_at(sp, end)) || contact_kind(line_at(sp, end)) == CONTACT_STRONG))
			end++;
		if (end == b || line_at(sp, end)->blank)
			drop_lines(sp, k, end);
		return;
	}
}

/* A person's name alone on its line, as a signature ends a message:
 * "Ravi", "Luca Ferraro" (up to three words, each a capital then a small
 * letter; "URGENT" or "Unacceptable." are words). */
static bool is_name_line(const struct line *l)
{
	size_t words = 0;

	for (size_t i = 0; i < l->len;) {
		size_t n = word_len(l->s, l->len, i);
		const unsigned char *w = (const unsigned char *)l->s + i;
		if (n > 0 && (++words > NAME_WORDS_MAX || !(g_ascii_isupper(w[0]) || w[0] >= 0x80) ||
		              (n > 1 && g_ascii_isupper(w[1])) || !g_ascii_isalpha(w[n - 1])))
			return false;
		i += n + 1;
	}
	return words > 0;
}

/* The writer's own words in the N-byte head at BUF (an attribution or a
 * From: line), moved to its start: the display name before its <address>,
 * back to the comma or colon that ends the date or the header's name, and
 * the address's local part with its dots, dashes and underscores as spaces
 * ("Dana Client dana", "ravi menon"); 0 when it has no address.  The
 * date's day and month names, the attribution's words and the address's
 * domain name no writer. */
static size_t head_writer(char *buf, size_t n)
{
	char out[2 * MAX_ATTRIBUTION + 3];
	const char *at = memchr(buf, '@', n), *lt = memchr(buf, '<', n);
	size_t len = 0;

	if (at == NULL)
		return 0;
	if (lt && lt < at) {
		const char *start = lt;
		while (start > buf && start[-1] != ',' && start[-1] != ':')
			start--;
		memcpy(out, start, (size_t)(lt - start));
		len = (size_t)(lt - start);
		out[len++] = ' ';
	}
	const char *local = at;
	while (local > buf && !strchr(" <(\"':,", local[-1]))
		local--;
	for (const char *p = local; p < at; p++)
		out[len++] = strchr("._-+", *p) ? ' ' : *p;
	memcpy(buf, out, len);
	return len;
}

/* The writer's words (head_writer()) of the quoted message whose text
 * starts at line A, from its attribution ("On ..., Dana Client
 * <dana@client.example> wrote:") or its reply header's From: line, in BUF
 * (2 * MAX_ATTRIBUTION + 2 bytes); returns their length, 0 when the
 * message has no head or it names no address. */
static size_t quoted_head(const struct splitter *sp, size_t a, char *buf)
{
	for (size_t j = a; j > 0; j--) {
		const struct line *h = line_at(sp, j - 1);
		if (h->kind != LINE_QUOTED || !(h->blank || h->meta))
			return 0;
		if (h->head == HEAD_ATTRIBUTION)
			return head_writer(buf, attribution_text(sp, j - 1, h->span, buf));
		if (h->head == HEAD_FROM) {
			size_t n = MIN(h->len, 2 * MAX_ATTRIBUTION + 1);
			memcpy(buf, h->s, n);
			return head_writer(buf, n);
		}
	}
	return 0;
}

/* Is every word of the name line L a word of the message's HEAD (N
 * bytes), ASCII case aside: the writer's name ("Dana Client", "Dana")
 * where the attribution or From: line names them? */
static bool names_head_writer(const struct line *l, const char *head, size_t n)
{
	for (size_t i = 0; i < l->len;) {
		size_t k = word_len(l->s, l->len, i), at = 0;
		bool found = false;
		for (; k >= 2 && !found && at + k <= n; at++)
			found = g_ascii_strncasecmp(head + at, l->s + i, k) == 0 &&
			        (at == 0 ||
			         !(g_ascii_isalnum(head[at - 1]) || (unsigned char)head[at - 1] >= 0x80)) &&
			        (at + k == n ||
			         !(g_ascii_isalnum(head[at + k]) || (unsigned char)head[at + k] >= 0x80));
		if (k > 0 && !found)
			return false;
		i += k + 1;
	}
	return l->len > 0;
}

/* Is every line of FROM..TO with a number a contact (a phone, an
 * address, a link)?  "Order 55123" above a phone line is the message's. */
static bool numbers_are_contacts(const struct splitter *sp, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		const struct line *l = line_at(sp, i);
		if (is_run_text(sp, l) && has_digit(l->s, l->len) && contact_kind(l) != CONTACT_STRONG)
			return false;
	}
	return true;
}

/* Does line L name a title or a company ("Account Manager", "Head of
 * Sales", "Client Example Ltd"): one of these words, capitalised, whole? */
static bool names_a_title(const struct line *l)
{
	static const char *const titles[] = {
	    "Manager",  "Director",   "Lead",        "Head",          "Officer",   "Executive",
	    "Engineer", "Specialist", "Coordinator", "Consultant",    "Assistant", "Representative",
	    "Advisor",  "Adviser",    "Analyst",     "Administrator", "President", "Founder",
	    "Owner",    "Partner",    "Secretary",   "Accountant",    "Agent",     "Ltd",
	    "Limited",  "Inc",        "LLC",         "LLP",           "GmbH",      "AG",
	    "SA",       "BV",         "plc",         "PLC",           "Corp",      "Group",
	    NULL};
	for (size_t i = 0; i < l->len;) {
		size_t n = 0;
		while (i + n < l->len && g_ascii_isalpha(l->s[i + n]))
			n++;
		for (const char *const *t = titles; n && *t; t++)
			if (strlen(*t) == n && memcmp(l->s + i, *t, n) == 0)
				return true;
		i += n ? n : 1;
	}
	return false;
}

/* Are lines FROM..TO what a signature has under its name: titles and
 * companies without a number, or contacts (an address, a link, a phone),
 * none of them a sentence ("My Fault Entirely", "Refund Sent Today.", "PS:
 * Refund Issued"), and at least one a contact or naming a title or
 * company (names_a_title())?  "Order 55123" or "Cancel My Order
 * Now" under the writer's name are the message's. */
static bool signature_under_name(const struct splitter *sp, size_t from, size_t to)
{
	bool signature = false;

	if (!numbers_are_contacts(sp, from, to))
		return false;
	for (size_t i = from; i < to; i++) {
		const struct line *l = line_at(sp, i);
		if (!is_run_text(sp, l))
			continue;
		if (strchr(".!?", l->s[l->len - 1]) || speaks_for_self(l) || is_postscript(l) ||
		    starts_with_ci(l->s, l->len, "NB"))
			return false;
		signature = signature || contact_kind(l) == CONTACT_STRONG || names_a_title(l);
	}
	return signature;
}

/* A message that ends in a signature with no sign-off above it, in lines
 * A..B (a quoted message, mail arriving from a client, or the author's own
 * text): its last lines, up to SIGN_OFF_TAIL name and contact lines,
 * dropped when they open with the name of the message's writer as HEAD
 * (HEAD_LEN bytes, head_writer()) gives it, after a blank line or a
 * sentence's end ("Dana Client / Operations Lead / Client Example Ltd"
 * under "On ..., Dana Client <dana@client.example> wrote:"; a client's list
 * in title case names no writer); and, unless WRITER_ONLY (the author's
 * text, where "Bob" closing a paragraph may be an address to Bob), when
 * one of them is an address, a link or a phone number and they follow a
 * blank line or a sentence's end, or when they are a name or two alone in
 * the last paragraph ("Ravi"): the gate and the rules would read them as
 * a sentence of the message. */
static void drop_contact_block(struct splitter *sp, size_t a, size_t b, const char *head, size_t head_len,
                               bool writer_only)
{
	size_t end = b, k;
	bool strong = false, names = true;

	while (end > a && (line_at(sp, end - 1)->blank || line_at(sp, end - 1)->meta ||
	                   line_at(sp, end - 1)->kind == LINE_DROPPED))
		end--;
	for (k = end; k > a && end - k < SIGN_OFF_TAIL; k--) {
		const struct line *l = line_at(sp, k - 1);
		if (!is_run_text(sp, l) || !is_quoted_signature_line(l))
			break;
		strong = strong || contact_kind(l) == CONTACT_STRONG;
		names = names && is_name_line(l);
	}
	if (k == end)
		return;
	const struct line *above = k > a ? line_at(sp, k - 1) : NULL;
	bool paragraph = above == NULL || above->blank;
	bool after_sentence = above && !above->blank && strchr(".?!", above->s[above->len - 1]) != NULL;
	if (!writer_only &&
	    ((strong && end - k >= 2 && (paragraph || after_sentence) && numbers_are_contacts(sp, k, end)) ||
	     (names && paragraph && end - k <= 2))) {
		drop_lines(sp, k, end);
		return;
	}
	for (size_t j = k; head_len && j < end; j++) {
		const struct line *l = line_at(sp, j), *up = j > a ? line_at(sp, j - 1) : NULL;
		/* in the writer's own text (WRITER_ONLY) a name alone closing it,
		 * "Sam", stays as it was: only a block, the name and a title or more */
		if ((up == NULL || up->blank || (!writer_only && strchr(".?!", up->s[up->len - 1]))) &&
		    is_name_line(l) && end - j >= 2 && names_head_writer(l, head, head_len) &&
		    signature_under_name(sp, j + 1, end)) {
			drop_lines(sp, j, end);
			sp->view->has_signature |= sp->tidying == LINE_NEW && !sp->arriving;
			/* and the writer's name alone above it, that closed the text ("Ravi") */
			size_t p = j;
			while (p > a && line_at(sp, p - 1)->blank)
				p--;
			const struct line *name = p > a && p < j ? line_at(sp, p - 1) : NULL;
			if (name && is_run_text(sp, name) && (p - 1 == a || line_at(sp, p - 2)->blank) &&
			    is_name_line(name) && names_head_writer(name, head, head_len))
				drop_lines(sp, p - 1, p);
			return;
		}
	}
}

/* The words a greeting line may have after its greeting besides a name:
 * "Hi all,", "Hello team,", "Dear Sir or Madam,", "Sehr geehrte Damen und
 * Herren,". */
static bool is_greeting_word(const char *w, size_t n)
{
	static const char *const words[] = {"all", "there", "team", "everyone", "again", "or",
	                                    "und", "et",    "y",    "e",        NULL};
	for (const char *const *v = words; *v; v++)
		if (strlen(*v) == n && memcmp(w, *v, n) == 0)
			return true;
	return is_name_particle(w, n);
}

/* A greeting line of N bytes at S: one of the lexicon's greetings, then at
 * most a name ("Hi Alex,", "Dear Mr. O'Brien,", "Dear Customer Service
 * Team,", "Good morning"): its other words are capitalised, titles ("Mr.")
 * or the few of is_greeting_word(), and only its end may be a , ! or :.
 * "Hi Alex, where is my order", "Hello still no refund!" and "Hey! Third
 * time now" are sentences. */
static bool is_greeting_line(const struct split_lexicon *lex, const char *line, size_t len)
{
	const struct wordlist *greetings = &lex->lists[SPLIT_GREETINGS];
	char s[GREETING_LINE_MAX];
	size_t skip = 0, words = 0, n = 0;

	if (len == 0 || len > 3 * GREETING_LINE_MAX)
		return false;

	/* a no-break or other space between its words is a space, and what
	 * shows as nothing is nothing ("Hi\u00a0Alex,\u200e") */
	for (size_t i = 0, k; i < len; i += k) {
		const unsigned char *u = (const unsigned char *)line + i,
		                    *ue = (const unsigned char *)line + len;
		char c = (k = text_space_len(u, ue)) ? ' ' : line[i];
		if (k == 0 && (k = text_invisible_len(u, ue)) > 0)
			continue;
		k = k ? k : 1;
		if (c == ' ' && (n == 0 || s[n - 1] == ' '))
			continue;
		if (n == sizeof s)
			return false;
		s[n++] = c;
	}
	while (n > 0 && s[n - 1] == ' ')
		n--;
	if (n == 0 || !wordlist_may_start(greetings, s[0]))
		return false;
	for (const char *const *g = greetings->words; *g && !skip; g++) {
		size_t k = strlen(*g);
		if (n >= k && g_ascii_strncasecmp(s, *g, k) == 0 &&
		    (n == k || !(g_ascii_isalpha(s[k]) || (unsigned char)s[k] >= 0x80)))
			skip = k;
	}
	if (skip == 0)
		return false;
	size_t end = n;
	if (s[end - 1] && strchr(",!:", s[end - 1]))
		end--;
	for (size_t i = skip; i < end;) {
		size_t k = word_len(s, end, i);
		const char *w = s + i;
		if (k > 0) {
			/* a title's full stop ("Mr.", "Dr."), else no . ! ? , ; or : inside */
			bool title = k <= 4 && w[k - 1] == '.' && g_ascii_isupper(w[0]);
			size_t letters = 0, upper = 0, dashes = 0;
			for (size_t j = 0; j < k - title; j++) {
				if (strchr(".!?,;:", w[j]))
					return false;
				letters += g_ascii_isalpha(w[j]) || (unsigned char)w[j] >= 0x80;
				upper += g_ascii_isupper(w[j]) != 0;
				dashes += w[j] == '-';
			}
			/* a name is capitalised, not shouted ("STILL", but "IT"); a dash
			 * alone ("Hi Alex -", "Hi Alex \u2013") may close it; a number is none */
			bool named = (g_ascii_isupper(w[0]) || (unsigned char)w[0] >= 0x80) &&
			             (upper < letters || letters <= ACRONYM_MAX);
			bool dash = dashes == k || (k == 3 && (memcmp(w, "\xe2\x80\x93", 3) == 0 ||
			                                       memcmp(w, "\xe2\x80\x94", 3) == 0));
			if (++words > GREETING_WORDS_MAX || (!named && !dash && !is_greeting_word(w, k)))
				return false;
		}
		i += k + 1;
	}
	return true;
}

/* Is line I the first of a quoted message: nothing but blank lines above
 * it, or its attribution, header block or a message that is history? */
static bool starts_message(const struct splitter *sp, size_t i)
{
	while (i > 0 && line_at(sp, i - 1)->blank)
		i--;
	return i == 0 || (line_at(sp, i - 1)->kind == LINE_QUOTED && line_at(sp, i - 1)->meta);
}

/* A quoted message's greeting line is history but not its words, as its
 * sign-off is: a named greeting read as a sentence of its own weighed like
 * a complaint's in the gate's pooling.  A message that is nothing but a
 * greeting keeps it. */
static void drop_quoted_greeting(struct splitter *sp, size_t a, size_t b)
{
	size_t i = a;
	while (i < b && (line_at(sp, i)->blank || line_at(sp, i)->meta)) /* a banner (drop_banner) */
		i++;
	if (i == b || !starts_message(sp, i) ||
	    !is_greeting_line(sp->lex, line_at(sp, i)->s, line_at(sp, i)->len))
		return;
	for (size_t j = i + 1; j < b; j++)
		if (!line_at(sp, j)->blank && !line_at(sp, j)->meta) {
			line_at(sp, i)->meta = true;
			return;
		}
}

/* Does line L speak for its writer ("I", "me", "my"), as a gateway's
 * warning never does? */
static bool speaks_for_self(const struct line *l)
{
	for (size_t i = 0; i < l->len;) {
		/* a word: letters, any script, with dots inside ("I.T.", "Rémy") */
		size_t k = 0;
		while (
		    i + k < l->len &&
		    (g_ascii_isalpha(l->s[i + k]) || (unsigned char)l->s[i + k] >= 0x80 ||
		     (l->s[i + k] == '.' && k > 0 && i + k + 1 < l->len && g_ascii_isalpha(l->s[i + k + 1]))))
			k++;
		const char *w = l->s + i;
		bool first = i == 0;
		if ((k == 1 && (w[0] == 'I' || w[0] == 'i')) ||
		    (k == 2 && (memcmp(w, "me", 2) == 0 || memcmp(w, "my", 2) == 0 ||
		                (first && (memcmp(w, "Me", 2) == 0 || memcmp(w, "My", 2) == 0)))))
			return true;
		i += k ? k : 1;
	}
	return false;
}

/* Does line L speak as a gateway's warning does (banner-words), and not
 * for its writer ("You don't often get email from me, but I clicked your
 * payment link...")? */
static bool is_banner_line(const struct splitter *sp, const struct line *l)
{
	return contains_any_ci(l->s, l->len, &sp->lex->lists[SPLIT_BANNER_WORDS]) && !speaks_for_self(l);
}

/* A mail gateway's warning at the top of the quoted message whose text
 * starts in lines A..B ("CAUTION: This email originated from outside of
 * the organization. / Do not click links..."): its first line opens as
 * one (banner-starts) and speaks as one (banner-words), or is a bare tag
 * ("[EXTERNAL]"); the lines of its paragraph under it go with it while
 * each speaks as one.  What follows opens the message (its greeting), and
 * "You don't often get email from me, but..." is a complaint's. */
static void drop_banner(struct splitter *sp, size_t a, size_t b)
{
	size_t i = a;
	while (i < b && line_at(sp, i)->blank)
		i++;
	if (i == b || !is_run_text(sp, line_at(sp, i)) || !starts_message(sp, i))
		return;
	const struct line *first = line_at(sp, i);
	/* a warning is about the mail ("CAUTION: External email. Do not click
	 * links..."); "Caution: external packaging was torn and the returns
	 * link is broken" is a complaint's */
	static const char *const about_mail_words[] = {"mail",         "message",      "sender", "source",
	                                               "organization", "organisation", NULL};
	static const struct wordlist mail_words = {.words = about_mail_words};
	bool about_mail = first->s[0] == '[' || contains_any_ci(first->s, first->len, &mail_words);
	if (!starts_with_any_ci(first->s, first->len, &sp->lex->lists[SPLIT_BANNER_STARTS]) ||
	    !(first->len <= BANNER_TAG_MAX || (about_mail && is_banner_line(sp, first))))
		return;
	size_t end = i + 1;
	while (end < b && is_run_text(sp, line_at(sp, end)) && is_banner_line(sp, line_at(sp, end)) &&
	       !is_greeting_line(sp->lex, line_at(sp, end)->s, line_at(sp, end)->len))
		end++;
	drop_lines(sp, i, end);
}

/* Each run of new text, then each quoted message: its signature,
 * sign-off, disclaimers and device lines are neither the author's words
 * nor the complaint's (a quoted signature's names and numbers read to the
 * gate like a complaint's order numbers and dates). */
static void tidy(struct splitter *sp)
{
	size_t n = sp->lines->len;

	size_t last_text = n; /* the author's last line of text */
	for (size_t i = n; i > 0 && last_text == n; i--)
		if (line_at(sp, i - 1)->kind == LINE_NEW && !line_at(sp, i - 1)->blank)
			last_text = i - 1;
	sp->tidying = LINE_NEW;
	for (size_t i = 0; i < n;) {
		size_t end = i;
		while (end < n && line_at(sp, end)->kind != LINE_QUOTED)
			end++;
		if (end > i && sp->arriving)
			drop_banner(sp, i, end);
		if (end > i)
			tidy_run(sp, i, end);
		if (end > i && last_text >= i &&
		    last_text < end) /* the text's end, not an interleaved answer */
			drop_contact_block(sp, i, end, sp->writer, sp->writer_len, true);
		i = end + 1;
	}
	sp->tidying = LINE_QUOTED;
	for (size_t i = 0; i < n;) {
		const struct line *l = line_at(sp, i);
		if (l->kind != LINE_QUOTED || l->meta) {
			i++;
			continue;
		}
		size_t end = quoted_run_end(sp, i);
		drop_banner(sp, i, end);
		drop_quoted_greeting(sp, i, end);
		drop_quoted_signature(sp, i, end);
		tidy_run(sp, i, end);
		char head[2 * MAX_ATTRIBUTION + 2];
		drop_contact_block(sp, i, end, head, quoted_head(sp, i, head), false);
		i = end;
	}
}

/* ---- template placeholders --------------------------------------------- */

/* "{{ first_name }}": length of the placeholder at S, or 0. */
static size_t double_brace_len(const char *s, size_t n)
{
	for (size_t i = 2; i + 1 < n && i <= DOUBLE_BRACE_MAX + 2; i++)
		if (s[i] == '}' && s[i + 1] == '}')
			return i > 2 ? i + 2 : 0;
	return 0;
}

/* Bytes at S up to CLOSE: the inside of a one-word-ish placeholder.  Returns
 * the length including both brackets, or 0. */
static size_t bracketed_len(const char *s, size_t n, char close, bool spaces)
{
	size_t i = 1;

	while (i < n && i <= PLACEHOLDER_MAX + 1 &&
	       (g_ascii_isalnum(s[i]) || s[i] == '_' || s[i] == '-' || s[i] == '.' ||
	        (spaces && (s[i] == ' ' || s[i] == '/'))))
		i++;
	if (i >= n || s[i] != close || i == 1 || !g_ascii_isalpha(s[1]))
		return 0;
	return i + 1;
}

/* "[Client Name]", "[NAME]", "[insert date]"; not "[1]", "[sic]", links. */
static size_t bracket_len(const char *s, size_t n, const struct wordlist *words)
{
	size_t len = bracketed_len(s, n, ']', true);
	bool upper, underscore;

	if (!len || (len < n && s[len] == '('))
		return 0;
	upper = g_ascii_isupper(s[1]);
	underscore = memchr(s, '_', len) != NULL;
	if (upper || underscore || contains_any_ci(s, len, words))
		return len;
	return 0;
}

/* "%FIRSTNAME%" */
static size_t percent_len(const char *s, size_t n)
{
	size_t i = 1;

	while (i < n && i <= PLACEHOLDER_MAX && (g_ascii_isupper(s[i]) || s[i] == '_'))
		i++;
	return i < n && s[i] == '%' && i >= 4 ? i + 1 : 0;
}

/* "«FirstName»" (mail merge) */
static size_t guillemet_len(const char *s, size_t n)
{
	size_t i = 2;

	if (n < 2 || (unsigned char)s[1] != 0xAB)
		return 0;
	while (i < n && i <= PLACEHOLDER_MAX && (g_ascii_isalnum(s[i]) || s[i] == '_'))
		i++;
	if (i == 2 || i + 1 >= n || (unsigned char)s[i] != 0xC2 || (unsigned char)s[i + 1] != 0xBB)
		return 0;
	return i + 2;
}

static size_t placeholder_len(const char *s, size_t n, const struct wordlist *words)
{
	switch (s[0]) {
	case '{': return n > 1 && s[1] == '{' ? double_brace_len(s, n) : bracketed_len(s, n, '}', false);
	case '[': return bracket_len(s, n, words);
	case '<':
		if (n > 4 && s[1] == '<') {
			size_t len = bracketed_len(s + 1, n - 1, '>', true);
			return len && len < n - 1 && s[len + 1] == '>' ? len + 2 : 0;
		}
		return 0;
	case '%': return percent_len(s, n);
	case '\xC2': return guillemet_len(s, n);
	default: return 0;
	}
}

/* Replace every placeholder in N bytes at S by as many spaces; WORDS are
 * the placeholder words. */
static void blank_placeholders(char *s, size_t n, const struct wordlist *words)
{
	for (size_t i = 0; i < n; i++) {
		size_t len;
		if (s[i] != '{' && s[i] != '[' && s[i] != '<' && s[i] != '%' && s[i] != '\xC2')
			continue;
		len = placeholder_len(s + i, n - i, words);
		if (len) {
			memset(s + i, ' ', len);
			i += len - 1;
		}
	}
}

/* ---- pass 4: write the result ------------------------------------------ */

static void trim_end(GString *s)
{
	while (s->len && g_ascii_isspace(s->str[s->len - 1]))
		g_string_truncate(s, s->len - 1);
}

static void write_result(struct splitter *sp, GString *text, GString *quoted)
{
	bool gap = false;
	size_t last_quoted = 0;

	for (size_t i = 0; i < sp->lines->len; i++) {
		const struct line *l = line_at(sp, i);

		/* A header block leaves no blank line of its own: none at the
		 * start, none after another. */
		bool after_blank =
		    quoted->len == 0 || (quoted->len >= 2 && quoted->str[quoted->len - 2] == '\n');
		if (l->kind == LINE_QUOTED && (l->meta || (l->blank && after_blank))) {
			last_quoted = i;
			gap = gap || text->len;
		} else if (l->kind == LINE_QUOTED) {
			if (quoted->len && last_quoted + 1 != i)
				g_string_append_c(quoted, '\n');
			g_string_append_len(quoted, l->s, l->len);
			g_string_append_c(quoted, '\n');
			last_quoted = i;
			gap = gap || text->len;
		} else if (l->kind == LINE_NEW && l->blank) {
			gap = gap || text->len;
		} else if (l->kind == LINE_NEW) {
			size_t at;
			if (text->len)
				g_string_append(text, gap ? "\n\n" : "\n");
			gap = false;
			at = text->len;
			g_string_append_len(text, l->s, l->len);
			blank_placeholders(text->str + at, l->len, &sp->lex->lists[SPLIT_PLACEHOLDER_WORDS]);
		}
	}
	trim_end(text);
	trim_end(quoted);
}

static void split(const struct policy *pol, const struct message *msg, bool arriving,
                  struct thread_view *view)
{
	const char *body = msg->body ? msg->body : "";
	size_t len = msg->body ? msg->body_len : 0;
	struct splitter sp = {.view = view,
	                      .lex = pol ? &pol->split : split_lexicon_builtin(),
	                      .from = msg->from ? msg->from : "",
	                      .arriving = arriving};
	GString *text = g_string_sized_new(len / 2 + 16);
	GString *quoted = g_string_sized_new(len / 2 + 16);

	memset(view, 0, sizeof *view);
	view->quoted_date = -1;
	sp.lines = g_array_sized_new(FALSE, FALSE, sizeof(struct line), len / 32 + 8);
	/* an address is at most 254 bytes (RFC 5321); a From with no '@' is none */
	sp.from_len = strlen(sp.from);
	if (sp.from_len > 254 || !strchr(sp.from, '@'))
		sp.from_len = 0;
	/* who wrote the new text: the client (arriving mail), or the account
	 * manager, whose signature with no sign-off is no more the reply's words */
	int n = g_snprintf(sp.writer, sizeof sp.writer, "%.*s <%s>", MAX_ATTRIBUTION / 2,
	                   msg->from_name ? msg->from_name : "", sp.from_len ? sp.from : "");
	for (char *c = sp.writer; *c && *c != '<'; c++)
		*c = *c == ',' || *c == ':' ? ' '
		                            : *c; /* "Client, Dana" is a name, not an attribution's date */
	sp.writer_len = head_writer(sp.writer, MIN((size_t)MAX(n, 0), 2 * MAX_ATTRIBUTION + 1));
	read_lines(body, len, sp.lines);
	classify(&sp);
	mark_meta(&sp);
	drop_own_messages(&sp);
	tidy(&sp);
	write_result(&sp, text, quoted);
	g_array_unref(sp.lines);

	view->len = text->len;
	view->text = g_string_free(text, FALSE);
	view->quoted_len = quoted->len;
	view->quoted = g_string_free(quoted, FALSE);
	view->sentences = g_array_new(FALSE, FALSE, sizeof(struct sentence));
	sentence_split(view->text, view->len, view->sentences);
}

void split_message(const struct policy *pol, const struct message *msg, struct thread_view *view)
{
	split(pol, msg, false, view);
}

void split_arriving(const struct policy *pol, const struct message *msg, struct thread_view *view)
{
	split(pol, msg, true, view);
}

size_t split_greeting_len(const struct policy *pol, const char *text, size_t len)
{
	const struct split_lexicon *lex = pol ? &pol->split : split_lexicon_builtin();
	size_t i = 0, n;

	if (len == 0)
		return 0;
	while (i < len && g_ascii_isspace(text[i]))
		i++;
	const char *nl = memchr(text + i, '\n', len - i);
	n = (nl ? (size_t)(nl - text) : len) - i;
	while (n > 0 && is_blank_byte(text[i + n - 1]))
		n--;
	if (!is_greeting_line(lex, text + i, n))
		return 0;
	for (i += n; i < len && g_ascii_isspace(text[i]);)
		i++;
	return i < len ? i : 0; /* a text that is only a greeting is read whole */
}

void thread_view_clear(struct thread_view *view)
{
	g_free(view->text);
	g_free(view->quoted);
	if (view->sentences)
		g_array_unref(view->sentences);
	memset(view, 0, sizeof *view);
	view->quoted_date = -1;
}
