/*
 * html2text.c - HTML body text for the split stage (see html2text.h).
 *
 * Streams the input through libxml2's recovering HTML parser with SAX
 * callbacks: no tree is built, and parsing stops as soon as the output cap
 * is reached.  This file only marks the regions mail clients themselves mark
 * as quoted; deciding what is the author's new text is split.c's job.  It
 * must not do I/O, and nothing but libxml2's one-time set-up outlives a
 * call.
 */
#include <glib.h>
#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "html2text.h"
#include "normalize.h"

#define MAX_QUOTE_LEVEL 16 /* "> " written per line at most; deeper looks the same */
#define LIST_LOOKBACK   16 /* how far up the element stack an <li> looks for its list */
/* libxml2 (2.9) looks through every open element for each end tag that
 * matches none, and through a tag's earlier attributes for each attribute:
 * hostile HTML of thousands of open elements and unmatched end tags, or of
 * tags with thousands of attributes, takes minutes (2 MB: some 4 min).  So
 * the work is bounded: elements open at once times end tags, and the sum
 * over tags of their attributes squared, each at most about WORK string
 * comparisons (some 0.1 s); the text is cut where either would pass it, and
 * a text cut is never judged.  Real mail comes nowhere near (hundreds of
 * unclosed <font>s, a stray quote that makes a tag of a hundred
 * "attributes": thousands). */
#define WORK     ((size_t)20 * 1000 * 1000)
#define MIN_OPEN 128 /* elements open at once always allowed */

enum elem_flags {
	EF_SKIP = 1 << 0, /* content dropped */
	EF_LINE = 1 << 1, /* on lines of its own */
	EF_PARA = 1 << 2, /* set off by blank lines */
	EF_BR = 1 << 3,   /* a line break */
	EF_PRE = 1 << 4,  /* whitespace kept */
	EF_CELL = 1 << 5, /* table cell: a space before it */
	EF_ITEM = 1 << 6, /* list item: a "- " or "N. " marker */
	EF_OL = 1 << 7,
	EF_UL = 1 << 8,
	EF_QUOTE = 1 << 9, /* blockquote */
};

struct elem {
	const char *name;
	unsigned flags;
};

/* Elements that shape the text, sorted by name for bsearch(). */
static const struct elem elems[] = {
    {"address", EF_LINE},
    {"article", EF_LINE},
    {"aside", EF_LINE},
    {"blockquote", EF_PARA | EF_QUOTE},
    {"br", EF_BR},
    {"caption", EF_LINE},
    {"center", EF_LINE},
    {"dd", EF_LINE},
    {"div", EF_LINE},
    {"dl", EF_LINE},
    {"dt", EF_LINE},
    {"fieldset", EF_LINE},
    {"figcaption", EF_LINE},
    {"figure", EF_LINE},
    {"footer", EF_LINE},
    {"form", EF_LINE},
    {"h1", EF_PARA},
    {"h2", EF_PARA},
    {"h3", EF_PARA},
    {"h4", EF_PARA},
    {"h5", EF_PARA},
    {"h6", EF_PARA},
    {"head", EF_SKIP},
    {"header", EF_LINE},
    {"hr", EF_LINE},
    {"li", EF_LINE | EF_ITEM},
    {"main", EF_LINE},
    {"nav", EF_LINE},
    {"ol", EF_LINE | EF_OL},
    {"p", EF_PARA},
    {"pre", EF_LINE | EF_PRE},
    {"script", EF_SKIP},
    {"section", EF_LINE},
    {"style", EF_SKIP},
    {"table", EF_PARA},
    {"td", EF_CELL},
    {"template", EF_SKIP},
    {"th", EF_CELL},
    {"title", EF_SKIP},
    {"tr", EF_LINE},
    {"ul", EF_LINE | EF_UL},
    {"xml", EF_SKIP},
};

/* Classes of elements that hold a whole quoted message: the attribution and
 * the quote itself.  Their own first blockquote adds no further level. */
static const char *const container_classes[] = {"gmail_quote", "yahoo_quoted", "protonmail_quote"};

/* Classes of the attribution line inside such a container. */
static const char *const attribution_classes[] = {"gmail_attr"};

/* Ids (Outlook prefixes re-quoted ids with "x_") after whose start the rest of
 * the body is the quoted message. */
static const char *const tail_ids[] = {"divRplyFwdMsg", "appendonsend",
                                       "mail-editor-reference-message-container", "OLK_SRC_BODY_SECTION"};

/* What encloses an element, as far as quoting goes. */
enum quote_kind {
	QK_NONE,      /* not quoted */
	QK_CONTAINER, /* inside a quote container (or after a reply header) */
	QK_QUOTE,     /* inside a blockquote */
};

struct frame {
	unsigned flags; /* enum elem_flags */
	int delta;      /* quote levels the element adds; -1 for an attribution */
	enum quote_kind kind;
	unsigned items;  /* <ol>: items seen */
	bool quote_done; /* a container whose blockquote has ended */
};

/* Element flags by the parser's interned name pointer (valid for one parse). */
#define NAME_CACHE_SIZE 32

struct name_cache {
	const xmlChar *name;
	unsigned flags;
};

struct render {
	char *out; /* the text so far, not NUL-terminated until the end */
	size_t len, cap;
	GArray *stack; /* struct frame, innermost last */
	struct name_cache names[NAME_CACHE_SIZE];
	htmlParserCtxtPtr ctxt;
	size_t max_out;      /* 0: no cap */
	int depth;           /* sum of the open elements' deltas */
	bool tail;           /* a reply header was seen: the rest is quoted */
	unsigned skip;       /* open elements whose content is dropped */
	unsigned pre;        /* open <pre> elements */
	unsigned breaks;     /* line breaks owed before the next text, at most 2 */
	bool space;          /* a space owed before the next text */
	bool line_open;      /* text written on the current line */
	unsigned line_level; /* quote level of the current line */
	bool stopped;        /* the cap was hit, or max_open */
	size_t max_open;     /* elements open at once before the text is cut */
};

static int elem_cmp(const void *key, const void *member)
{
	return strcmp(key, ((const struct elem *)member)->name);
}

static unsigned elem_flags(struct render *r, const xmlChar *name)
{
	struct name_cache *slot = &r->names[((guintptr)name >> 3) % NAME_CACHE_SIZE];
	const struct elem *e;

	if (slot->name == name)
		return slot->flags;
	e = bsearch(name, elems, G_N_ELEMENTS(elems), sizeof elems[0], elem_cmp);
	slot->name = name;
	slot->flags = e ? e->flags : 0;
	return slot->flags;
}

/* Does the space-separated class list CLS contain NAME? */
static bool class_has(const char *cls, const char *name)
{
	size_t n = strlen(name);
	const char *p = cls;

	while (*p) {
		while (*p && g_ascii_isspace(*p))
			p++;
		const char *word = p;
		while (*p && !g_ascii_isspace(*p))
			p++;
		if ((size_t)(p - word) == n && memcmp(word, name, n) == 0)
			return true;
	}
	return false;
}

static bool class_has_any(const char *cls, const char *const *names, size_t n)
{
	for (size_t i = 0; cls && i < n; i++)
		if (class_has(cls, names[i]))
			return true;
	return false;
}

/* ID is one of tail_ids, or one of them behind an "x_"-style prefix. */
static bool is_tail_id(const char *id)
{
	size_t len = strlen(id);

	for (size_t i = 0; i < G_N_ELEMENTS(tail_ids); i++) {
		size_t n = strlen(tail_ids[i]);
		if (len < n || strcmp(id + len - n, tail_ids[i]) != 0)
			continue;
		if (len == n || id[len - n - 1] == '_')
			return true;
	}
	return false;
}

static unsigned quote_level(const struct render *r)
{
	int level = r->depth + (r->tail ? 1 : 0);

	if (level < 0)
		return 0;
	return level > MAX_QUOTE_LEVEL ? MAX_QUOTE_LEVEL : (unsigned)level;
}

static void append(struct render *r, const char *p, size_t n)
{
	if (n >= r->cap - r->len) {
		r->cap = MAX(2 * r->cap, r->len + n + 1);
		r->out = g_realloc(r->out, r->cap);
	}
	memcpy(r->out + r->len, p, n);
	r->len += n;
}

/* Append N bytes at P, or as many whole characters as the cap allows. */
static void put(struct render *r, const char *p, size_t n)
{
	if (r->stopped)
		return;
	if (r->max_out && n > r->max_out - r->len) {
		n = r->max_out - r->len;
		while (n > 0 && ((unsigned char)p[n] & 0xC0) == 0x80)
			n--;
		append(r, p, n);
		r->stopped = true;
		xmlStopParser(r->ctxt);
		return;
	}
	append(r, p, n);
}

/* "> > " for LEVEL 2; a blank line gets "> >" without the trailing space. */
static void put_prefix(struct render *r, unsigned level, bool blank)
{
	static const char marks[] = "> > > > > > > > > > > > > > > > ";

	if (level == 0)
		return;
	put(r, marks, 2 * level - (blank ? 1 : 0));
}

/* Write the line breaks, quote prefix and space owed before new text. */
static void flush(struct render *r)
{
	unsigned level = quote_level(r);

	if (r->breaks && r->len) {
		unsigned blank_level = MIN(level, r->line_level);
		put(r, "\n", 1);
		for (unsigned i = 1; i < r->breaks; i++) {
			put_prefix(r, blank_level, true);
			put(r, "\n", 1);
		}
		r->line_open = false;
	}
	r->breaks = 0;
	if (!r->line_open) {
		put_prefix(r, level, false);
		r->line_level = level;
		r->line_open = true;
	} else if (r->space) {
		put(r, " ", 1);
	}
	r->space = false;
}

static void request_break(struct render *r, unsigned n)
{
	if (r->len && r->breaks < n)
		r->breaks = n;
}

static void emit(struct render *r, const char *p, size_t n)
{
	flush(r);
	put(r, p, n);
}

/* Bytes that may start a space or an invisible character. */
static bool maybe_special(unsigned char c)
{
	return c <= ' ' || c == 0x7F || c == 0xC2 || c == 0xD8 || c == 0xE2 || c == 0xE3 || c == 0xEF;
}

static void text_space(struct render *r, const unsigned char *p)
{
	if (!r->pre) {
		r->space = r->line_open;
		return;
	}
	if (*p == '\n') {
		if (r->len && r->breaks < 2)
			r->breaks++;
	} else if (*p != '\r') {
		emit(r, " ", 1);
	}
}

static void on_text(void *ctx, const xmlChar *ch, int len)
{
	struct render *r = ctx;
	const unsigned char *p = ch, *end = ch + (len > 0 ? len : 0);

	if (r->skip)
		return;
	while (p < end && !r->stopped) {
		size_t n = text_space_len(p, end);
		if (n) {
			text_space(r, p);
			p += n;
			continue;
		}
		n = text_invisible_len(p, end);
		if (n) {
			p += n;
			continue;
		}
		/* One run for the words of a text: single spaces between ordinary
		 * bytes need no collapsing. */
		const unsigned char *run = p++;
		while (p < end) {
			if (!maybe_special(*p))
				p++;
			else if (*p == ' ' && p + 1 < end && !maybe_special(p[1]))
				p += 2;
			else
				break;
		}
		emit(r, (const char *)run, p - run);
	}
}

static enum quote_kind enclosing_kind(const struct render *r)
{
	enum quote_kind kind = QK_NONE;

	if (r->stack->len)
		kind = g_array_index(r->stack, struct frame, r->stack->len - 1).kind;
	if (kind == QK_NONE && r->tail)
		kind = QK_CONTAINER;
	return kind;
}

/* Set F's quote level change from the element's kind, class and id. */
static void mark_quote(struct render *r, struct frame *f, const char *cls, const char *id)
{
	enum quote_kind outer = enclosing_kind(r);
	bool starts_tail = id && is_tail_id(id);
	const struct frame *parent =
	    r->stack->len ? &g_array_index(r->stack, struct frame, r->stack->len - 1) : NULL;

	f->kind = outer;
	if (f->flags & EF_QUOTE) {
		f->delta = outer == QK_CONTAINER ? 0 : 1;
		f->kind = QK_QUOTE;
	} else if (parent && parent->kind == QK_CONTAINER && parent->delta == 1 && parent->quote_done) {
		/* Typed after the container's quote (a Gmail inline answer): the
		 * author's again. */
		f->delta = -1;
		f->kind = QK_NONE;
	} else if (class_has_any(cls, container_classes, G_N_ELEMENTS(container_classes))) {
		f->delta = 1;
		f->kind = QK_CONTAINER;
	} else if (outer == QK_CONTAINER &&
	           class_has_any(cls, attribution_classes, G_N_ELEMENTS(attribution_classes))) {
		f->delta = -1;
	}
	if (starts_tail && !r->tail) {
		r->tail = true;
		request_break(r, 1);
	}
}

static void start_item(struct render *r)
{
	char marker[16] = "-";
	guint n = r->stack->len;

	for (guint i = n; i > 0 && n - i < LIST_LOOKBACK; i--) {
		struct frame *list = &g_array_index(r->stack, struct frame, i - 1);
		if (list->flags & EF_OL) {
			g_snprintf(marker, sizeof marker, "%u.", ++list->items);
			break;
		}
		if (list->flags & EF_UL)
			break;
	}
	emit(r, marker, strlen(marker));
	r->space = true;
}

static void on_start(void *ctx, const xmlChar *name, const xmlChar **atts)
{
	struct render *r = ctx;
	struct frame f = {.flags = elem_flags(r, name)};
	const char *cls = NULL, *id = NULL;

	for (; atts && atts[0]; atts += 2) {
		if (!atts[1])
			continue;
		if (strcmp((const char *)atts[0], "class") == 0)
			cls = (const char *)atts[1];
		else if (strcmp((const char *)atts[0], "id") == 0)
			id = (const char *)atts[1];
	}
	mark_quote(r, &f, cls, id);
	r->depth += f.delta;
	if (f.flags & EF_SKIP)
		r->skip++;
	if (f.flags & EF_PRE)
		r->pre++;
	g_array_append_val(r->stack, f);
	if (r->stack->len > r->max_open && !r->stopped) {
		r->stopped = true;
		xmlStopParser(r->ctxt);
		return;
	}
	if (r->skip)
		return;
	if (f.flags & EF_PARA)
		request_break(r, 2);
	else if ((f.flags & EF_LINE) || f.delta)
		request_break(r, 1);
	if ((f.flags & EF_BR) && r->len && r->breaks < 2)
		r->breaks++;
	if (f.flags & EF_CELL)
		r->space = r->line_open;
	if (f.flags & EF_ITEM)
		start_item(r);
}

static void on_end(void *ctx, const xmlChar *name)
{
	struct render *r = ctx;
	struct frame f;

	(void)name;
	if (r->stack->len == 0)
		return;
	f = g_array_index(r->stack, struct frame, r->stack->len - 1);
	g_array_set_size(r->stack, r->stack->len - 1);
	r->depth -= f.delta;
	if ((f.flags & EF_QUOTE) && r->stack->len)
		g_array_index(r->stack, struct frame, r->stack->len - 1).quote_done = true;
	if (f.flags & EF_PRE)
		r->pre--;
	if (f.flags & EF_SKIP) {
		r->skip--;
		return;
	}
	if (r->skip)
		return;
	if (f.flags & EF_PARA)
		request_break(r, 2);
	else if ((f.flags & EF_LINE) || f.delta)
		request_break(r, 1);
}

/* How much of HTML (LEN bytes) comes before the tag whose attributes bring
 * the sum of their squares past WORK (LEN: none), counting as the parser
 * does only roughly: a run of spaces outside quotes inside <name...> before
 * each; and in *END_TAGS how many end tags ("</name") come before that. */
static size_t attrs_end(const char *html, size_t len, size_t *end_tags)
{
	*end_tags = 0;
	if (len == 0)
		return 0; /* HTML may be NULL then */
	const char *p = html, *end = html + len;
	size_t work = 0;
	while ((p = memchr(p, '<', (size_t)(end - p))) != NULL) {
		const char *tag = p++;
		if (p + 1 < end && *p == '/' && g_ascii_isalpha(p[1]))
			++*end_tags;
		if (p == end || !g_ascii_isalpha(*p))
			continue; /* no start tag: text to the parser */
		size_t attrs = 0;
		char quote = 0;
		bool gap = false;
		for (; p < end && (quote || *p != '>'); p++) {
			if (quote) {
				quote = *p == quote ? 0 : quote;
				continue;
			}
			if (*p == '"' || *p == '\'') {
				quote = *p;
			} else if (g_ascii_isspace(*p)) {
				gap = true;
				continue;
			} else if (*p == '<') {
				break; /* no tag after all: the next one starts here */
			}
			if (gap && (work += 2 * attrs++ + 1) > WORK) /* (k + 1)^2 - k^2 */
				return (size_t)(tag - html);
			gap = false;
		}
	}
	return len;
}

/* The pull parser, not the push parser: only it keeps text that broken mail
 * puts after </html>. */
static void parse(struct render *r, const char *html, size_t len)
{
	htmlSAXHandler sax, *saved;

	memset(&sax, 0, sizeof sax);
	sax.startElement = on_start;
	sax.endElement = on_end;
	sax.characters = on_text;
	sax.ignorableWhitespace = on_text;
	r->ctxt = htmlCreateMemoryParserCtxt(html, (int)len);
	if (!r->ctxt)
		g_error("html: cannot allocate a parser");
	saved = r->ctxt->sax;
	r->ctxt->sax = &sax;
	r->ctxt->userData = r;
	htmlCtxtUseOptions(r->ctxt, HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
	                                HTML_PARSE_NONET | HTML_PARSE_IGNORE_ENC);
	xmlSwitchEncoding(r->ctxt, XML_CHAR_ENCODING_UTF8);
	htmlParseDocument(r->ctxt);
	r->ctxt->sax = saved;
	r->ctxt->userData = NULL;
	htmlFreeParserCtxt(r->ctxt);
	r->ctxt = NULL;
}

char *html_to_text(const char *html, size_t len, size_t max_out, bool *truncated)
{
	struct render r = {.max_out = max_out};
	char *repaired = NULL;
	bool cut = false;

	html_library_init();
	if (!html)
		len = 0;
	if (len > INT_MAX) {
		len = INT_MAX;
		cut = true;
	}
	if (len && !g_utf8_validate_len(html, len, NULL)) {
		repaired = g_utf8_make_valid(html, len);
		html = repaired;
		len = strlen(repaired);
	}
	r.cap = MIN(len, max_out ? max_out : len) / 2 + 64;
	r.out = g_malloc(r.cap);
	r.stack = g_array_sized_new(FALSE, FALSE, sizeof(struct frame), 32);
	size_t end_tags;
	size_t parsed = attrs_end(html, len, &end_tags);
	cut |= parsed < len;
	r.max_open = MAX(MIN_OPEN, WORK / MAX(end_tags, 1));
	if (parsed)
		parse(&r, html, parsed);
	g_array_unref(r.stack);
	g_free(repaired);
	while (r.len && g_ascii_isspace(r.out[r.len - 1]))
		r.len--;
	r.out[r.len] = '\0';
	if (truncated)
		*truncated = cut || r.stopped;
	return r.out;
}

void html_library_init(void)
{
	static gsize done;

	if (g_once_init_enter(&done)) {
		xmlInitParser();
		g_once_init_leave(&done, 1);
	}
}
