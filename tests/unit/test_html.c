/*
 * test_html.c - html_to_text(): block structure, quoted regions as "> "
 * lines, dropped content, entities, the output cap, and malformed input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib.h>

#include "html2text.h"

struct html_case {
	const char *name;
	const char *html;
	size_t max_out;
	const char *want;
	bool want_truncated;
};

static const struct html_case cases[] = {
    {"paragraphs get a blank line", "<p>Hello</p><p>World</p>", 0, "Hello\n\nWorld", false},
    {"divs and br are lines, empty div+br is a blank line",
     "<div>a</div><div>b<br>c</div><div><br></div><div>d</div>", 0, "a\nb\nc\n\nd", false},
    {"whitespace runs collapse", "<p>  a \n\t b   <b> c </b>d</p>", 0, "a b c d", false},
    {"entities decoded, nbsp is a space",
     "<p>Fish &amp; chips &lt;3 &eacute;t&eacute; &#8364;5&nbsp;&nbsp;now</p>", 0,
     "Fish & chips <3 \xC3\xA9t\xC3\xA9 \xE2\x82\xAC"
     "5 now",
     false},
    {"zero-width and soft hyphen dropped", "<p>a&#8203;b&shy;c&#xFEFF;d</p>", 0, "abcd", false},
    {"direction marks, embeddings, isolates and the Arabic letter mark dropped",
     "<p>a&#8206;b&#8207;c&#8235;d&#8236;e&#8295;f&#8297;g\xD8\x9Ch</p>", 0, "abcdefgh", false},
    {"control characters dropped",
     "<p>a\x01"
     "b\x7F"
     "c\x1B</p>",
     0, "abc", false},
    {"head, title, style, script dropped",
     "<html><head><title>Secret</title><style>p{color:red}</style></head><body>"
     "<script>var x = '<p>no</p>';</script><p>Visible</p><script>x()</script></body></html>",
     0, "Visible", false},
    {"headings and tables",
     "<h1>Title</h1>text<table><tr><td>A</td><td>B</td></tr><tr><td>C</td><td>D</td></tr>"
     "</table>",
     0, "Title\n\ntext\n\nA B\nC D", false},
    {"lists get markers", "<ul><li>one</li><li>two</li></ul><ol><li>a</li><li>b</li></ol>", 0,
     "- one\n- two\n1. a\n2. b", false},
    {"pre keeps line breaks and spaces", "<pre>line1\n  indented\nline3</pre>after", 0,
     "line1\n  indented\nline3\nafter", false},
    {"blockquote lines prefixed", "<p>Reply</p><blockquote><p>Q1</p><p>Q2</p></blockquote><p>After</p>", 0,
     "Reply\n\n> Q1\n>\n> Q2\n\nAfter", false},
    {"nested blockquote gets two levels",
     "<blockquote>outer<blockquote>inner</blockquote>outer2</blockquote>", 0,
     "> outer\n>\n> > inner\n>\n> outer2", false},
    {"apple blockquote type=cite",
     "<div>Fine.</div><div><br><blockquote type=\"cite\"><div>Where is it?</div>"
     "</blockquote></div>",
     0, "Fine.\n\n> Where is it?", false},
    {"gmail quote: attribution plain, quote one level",
     "<div dir=\"ltr\">Thanks, fixed.</div><br><div class=\"gmail_quote "
     "gmail_quote_container\"><div dir=\"ltr\" class=\"gmail_attr\">On Mon, 2 Mar 2026 at "
     "09:14, Ann &lt;<a href=\"mailto:a@b\">a@b</a>&gt; wrote:<br></div><blockquote "
     "class=\"gmail_quote\" style=\"margin:0\">Where is my order?</blockquote></div>",
     0, "Thanks, fixed.\n\nOn Mon, 2 Mar 2026 at 09:14, Ann <a@b> wrote:\n\n> Where is my order?", false},
    {"gmail quote nested inside gmail quote",
     "<div>New</div><div class=\"gmail_quote\"><div class=\"gmail_attr\">On Tue, Ann "
     "wrote:</div><blockquote class=\"gmail_quote\">Second<div class=\"gmail_quote\"><div "
     "class=\"gmail_attr\">On Mon, Bob wrote:</div><blockquote "
     "class=\"gmail_quote\">First</blockquote></div></blockquote></div>",
     0, "New\nOn Tue, Ann wrote:\n\n> Second\n> On Mon, Bob wrote:\n>\n> > First", false},
    {"gmail forward without blockquote is quoted",
     "<div>FYI</div><div class=\"gmail_quote\"><div class=\"gmail_attr\">---------- "
     "Forwarded message ---------<br>From: Ann</div><br><div>Original body</div></div>",
     0, "FYI\n---------- Forwarded message ---------\nFrom: Ann\n\n> Original body", false},
    {"outlook divRplyFwdMsg: everything after is quoted",
     "<div>Reply here</div><div id=\"appendonsend\"></div><hr style=\"display:inline-block\">"
     "<div id=\"divRplyFwdMsg\" dir=\"ltr\"><font><b>From:</b> Ann &lt;a@b&gt;<br><b>Sent:"
     "</b> Monday, March 2, 2026 9:14 AM<br><b>Subject:</b> Late</font><div>&nbsp;</div>"
     "</div><div>Where is my order?</div><p>Still waiting.</p>",
     0,
     "Reply here\n> From: Ann <a@b>\n> Sent: Monday, March 2, 2026 9:14 AM\n> Subject: Late\n"
     "> Where is my order?\n>\n> Still waiting.",
     false},
    {"outlook appendonsend alone starts the quote",
     "<p>Hi</p><div id=\"appendonsend\"></div><div>quoted 1</div><div>quoted 2</div>", 0,
     "Hi\n\n> quoted 1\n> quoted 2", false},
    {"re-quoted outlook id with x_ prefix",
     "<div>Ok</div><div id=\"x_divRplyFwdMsg\">From: Ann</div><div>old</div>", 0, "Ok\n> From: Ann\n> old",
     false},
    {"an id merely containing the marker is not one",
     "<div>Ok</div><div id=\"mydivRplyFwdMsg\">From: Ann</div>", 0, "Ok\nFrom: Ann", false},
    {"new outlook reference container",
     "<p>Hi</p><div id=\"mail-editor-reference-message-container\"><div>From: Ann</div>"
     "<p>quoted</p></div>",
     0, "Hi\n\n> From: Ann\n>\n> quoted", false},
    /* Thunderbird answers below the quote by default: what follows the
     * blockquote is the author's */
    {"thunderbird cite prefix: attribution plain, the quote quoted, the answer below it new",
     "<p>Reply</p><div class=\"moz-cite-prefix\">On 02/03/2026 09:14, Ann wrote:<br></div>"
     "<blockquote type=\"cite\">complaint<blockquote type=\"cite\">older</blockquote>"
     "</blockquote><p>below</p>",
     0, "Reply\n\nOn 02/03/2026 09:14, Ann wrote:\n\n> complaint\n>\n> > older\n\nbelow", false},
    {"gmail inline answers between the quotes of one container are new",
     "<div class=\"gmail_quote\"><div class=\"gmail_attr\">On Mon, 2 Mar 2026, Ann wrote:</div>"
     "<blockquote class=\"gmail_quote\">Where is my order?</blockquote><div>It ships today.</div>"
     "<blockquote class=\"gmail_quote\">And the invoice?</blockquote><div>Corrected.</div></div>",
     0,
     "On Mon, 2 Mar 2026, Ann wrote:\n\n> Where is my order?\n\nIt ships today.\n\n> And the invoice?\n\n"
     "Corrected.",
     false},
    {"a charset in meta is ignored: the input is UTF-8",
     "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; "
     "charset=iso-8859-1\"></head><body><p>caf\xC3\xA9 \xE2\x82\xAC</p></body></html>",
     0, "caf\xC3\xA9 \xE2\x82\xAC", false},
    {"text after </html> is kept", "<html><body>a</body></html><p>b</p><blockquote>c</blockquote>", 0,
     "a\n\nb\n\n> c", false},
    {"plain text passes through", "just text, no tags", 0, "just text, no tags", false},
    {"empty input", "", 0, "", false},
    {"cap cuts at a character boundary", "<p>h\xC3\xA9llo w\xC3\xB6rld</p>", 9, "h\xC3\xA9llo w", true},
    {"cap cuts between blocks", "<p>abc</p><p>def</p>", 5, "abc", true},
    {"cap counts the paragraph break", "<p>abc</p><p>def</p>", 6, "abc\n\nd", true},
    {"output that fits the cap exactly is whole", "<p>abcdef</p>", 6, "abcdef", false},
    {"cap of 0 means no cap", "<p>abcdef</p>", 0, "abcdef", false},
    {"quote prefixes count against the cap", "<blockquote>abcdef</blockquote>", 5, "> abc", true},
};

static void test_case(void **state)
{
	const struct html_case *c = *state;
	bool truncated = !c->want_truncated;
	char *out = html_to_text(c->html, strlen(c->html), c->max_out, &truncated);

	assert_non_null(out);
	assert_string_equal(out, c->want);
	assert_int_equal(truncated, c->want_truncated);
	if (c->max_out)
		assert_true(strlen(out) <= c->max_out);
	g_free(out);
}

static void test_null_input(void **state)
{
	bool truncated = true;
	char *out = html_to_text(NULL, 10, 0, &truncated);

	(void)state;
	assert_string_equal(out, "");
	assert_false(truncated);
	g_free(out);
	out = html_to_text("<p>x</p>", 8, 0, NULL); /* TRUNCATED may be NULL */
	assert_string_equal(out, "x");
	g_free(out);
}

static void test_invalid_utf8_repaired(void **state)
{
	static const char html[] = "<p>caf\xC3\xA9 \xFF\xFE bad \xC3</p><p>ok \xE2\x82\xAC</p>";
	char *out = html_to_text(html, sizeof html - 1, 0, NULL);

	(void)state;
	assert_true(g_utf8_validate(out, -1, NULL));
	/* Valid characters before and after the bad bytes survive unchanged. */
	assert_non_null(strstr(out, "caf\xC3\xA9 "));
	assert_non_null(strstr(out, "ok \xE2\x82\xAC"));
	g_free(out);
}

static void test_deep_nesting_capped_prefix(void **state)
{
	GString *html = g_string_new(NULL);
	char *out;

	(void)state;
	for (int i = 0; i < 200; i++)
		g_string_append(html, "<blockquote>");
	g_string_append(html, "x");
	bool truncated = true;
	out = html_to_text(html->str, html->len, 0, &truncated);
	/* At most 16 "> " levels, then the text. */
	assert_true(g_str_has_prefix(out, "> > > "));
	assert_true(g_str_has_suffix(out, "x"));
	assert_true(strlen(out) <= 2 * 16 + 1);
	assert_false(truncated);
	g_free(out);
	g_string_free(html, TRUE);
}

/* What made libxml2 quadratic is cut, and a text cut is never judged:
 * elements open at once times end tags (each unmatched end tag looked
 * through all of them), and tags of thousands of attributes (each compared
 * with those before it).  Smaller, and real mail's shapes, come out whole. */
static void test_hostile_shapes_cut(void **state)
{
	(void)state;
	for (int over = 0; over < 2; over++) {
		GString *deep = g_string_new(NULL);
		for (int i = 0; i < (over ? 20000 : 500); i++)
			g_string_append(deep, "<b>");
		for (int i = 0; i < 20000; i++)
			g_string_append(deep, "</i>");
		g_string_append(deep, "<p>tail</p>");
		GString *attrs = g_string_new("<p>head</p><p");
		for (int i = 0; i < (over ? 5000 : 64); i++)
			g_string_append_printf(attrs, " a%d=\"x y\"", i);
		g_string_append(attrs, ">tail</p>");
		GString *shapes[] = {deep, attrs};
		for (int s = 0; s < 2; s++) {
			bool truncated = !over;
			char *out = html_to_text(shapes[s]->str, shapes[s]->len, 0, &truncated);
			assert_int_equal(truncated, over);
			assert_int_equal(strstr(out, "tail") != NULL, !over);
			g_free(out);
			g_string_free(shapes[s], TRUE);
		}
	}
	/* hundreds of unclosed <font>s, as old generators write them; a stray
	 * quote that turns the style of the paragraphs after it into
	 * "attributes" */
	GString *fonts = g_string_new(NULL);
	for (int i = 0; i < 600; i++)
		g_string_append_printf(fonts, "<font face=Arial size=2>line %d<br>\n", i);
	g_string_append(fonts, "</p><p>tail</p>");
	GString *stray = g_string_new("<p><a href=\"mailto:x@y.example'>x</a></p>");
	for (int i = 0; i < 30; i++)
		g_string_append(stray,
		                "<p style=\"font-family: Arial; font-size: 10pt; color: black\">words</p>");
	g_string_append(stray, "<p>tail</p>");
	GString *real[] = {fonts, stray};
	for (int s = 0; s < 2; s++) {
		bool cut = true;
		char *out = html_to_text(real[s]->str, real[s]->len, 0, &cut);
		assert_false(cut);
		assert_non_null(strstr(out, "tail"));
		g_free(out);
		g_string_free(real[s], TRUE);
	}
	/* a bare "<" in text, then many words, is text, not a tag */
	GString *text = g_string_new("<p>if a <b and c");
	for (int i = 0; i < 200; i++)
		g_string_append(text, " word");
	g_string_append(text, "</p>");
	g_string_replace(text, "<b and", "< b and", 1);
	bool truncated = true;
	char *out = html_to_text(text->str, text->len, 0, &truncated);
	assert_false(truncated);
	g_free(out);
	g_string_free(text, TRUE);
}

static const char *const malformed[] = {
    "<p><b><i>unclosed",
    "</div></div></blockquote>text after stray end tags",
    "<<<>>> <> </> <!> <?> <!-->",
    "<!-- unterminated comment",
    "<script>never closed",
    "<style>p{",
    "<a href='x",
    "<p title=\"unterminated>text",
    "&#xFFFFFFFF; &#0; &#xD800; &bogus; &amp &",
    "<li>orphan item<li>second<ol><li>x",
    "<table><td><tr><td>cells</table></td>",
    "<blockquote><div class=\"gmail_attr\">a</blockquote></div>b",
    "<div id=\"divRplyFwdMsg\"><div id=\"appendonsend\"></div></div>",
    "<head><p>body text inside head</p>",
    "<html><body></body></html><p>after html</p>",
    "<meta charset=\"iso-8859-1\"><p>caf\xC3\xA9</p>",
    "<![CDATA[ x ]]><p>y</p>",
    "<svg><foreignObject><p>z</p></foreignObject></svg>",
};

static void check_sane(const char *html, size_t len, size_t cap)
{
	bool truncated;
	char *out = html_to_text(html, len, cap, &truncated);

	assert_non_null(out);
	assert_true(g_utf8_validate(out, -1, NULL));
	if (cap)
		assert_true(strlen(out) <= cap);
	else
		assert_false(truncated);
	g_free(out);
}

static void test_malformed_never_crashes(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(malformed); i++) {
		check_sane(malformed[i], strlen(malformed[i]), 0);
		check_sane(malformed[i], strlen(malformed[i]), 7);
	}
}

static void test_embedded_nul(void **state)
{
	static const char html[] = "<p>before\0after</p><p>more</p>";
	char *out = html_to_text(html, sizeof html - 1, 0, NULL);

	(void)state;
	assert_true(g_utf8_validate(out, -1, NULL));
	assert_non_null(strstr(out, "before"));
	g_free(out);
}

/* Random tag soup from a fixed seed: every output is valid and capped. */
static void test_random_tag_soup(void **state)
{
	static const char *const pieces[] = {
	    "<p>",
	    "</p>",
	    "<div>",
	    "</div>",
	    "<blockquote>",
	    "</blockquote>",
	    "<br>",
	    "<li>",
	    "<ol>",
	    "<ul>",
	    "</ul>",
	    "<pre>",
	    "</pre>",
	    "<script>",
	    "</script>",
	    "<div class=\"gmail_quote\">",
	    "<div class=\"gmail_attr\">",
	    "<div id=\"appendonsend\">",
	    "<div class=\"moz-cite-prefix\">",
	    "&amp;",
	    "&nbsp;",
	    "&#8203;",
	    "text ",
	    "w\xC3\xB6rd",
	    "\xE2\x80\xAF",
	    "<",
	    ">",
	    "&",
	    "\"",
	    "'",
	    "=",
	    "\n",
	    " ",
	    "<td>",
	    "<table>",
	    "<!--",
	    "-->",
	    "<title>",
	    "\xC3",
	};
	GRand *rnd = g_rand_new_with_seed(20260302);
	GString *html = g_string_new(NULL);

	(void)state;
	for (int round = 0; round < 300; round++) {
		g_string_truncate(html, 0);
		int n = g_rand_int_range(rnd, 1, 120);
		for (int i = 0; i < n; i++)
			g_string_append(html, pieces[g_rand_int_range(rnd, 0, G_N_ELEMENTS(pieces))]);
		check_sane(html->str, html->len, 0);
		check_sane(html->str, html->len, (size_t)g_rand_int_range(rnd, 1, 64));
	}
	g_string_free(html, TRUE);
	g_rand_free(rnd);
}

/* The parser's own error reports must stay silent: nothing on stderr. */
static void test_no_parser_noise(void **state)
{
	FILE *tmp = tmpfile();
	int saved = dup(2);
	char *out;

	(void)state;
	assert_non_null(tmp);
	assert_true(saved >= 0);
	fflush(stderr);
	assert_true(dup2(fileno(tmp), 2) >= 0);
	for (size_t i = 0; i < G_N_ELEMENTS(malformed); i++) {
		out = html_to_text(malformed[i], strlen(malformed[i]), 0, NULL);
		g_free(out);
	}
	out = html_to_text("<p>\xFF\xFE</p>", 9, 0, NULL);
	g_free(out);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(ftell(tmp), 0);
	fclose(tmp);
}

static void test_large_input(void **state)
{
	GString *html = g_string_new("<html><body>");
	bool truncated;
	char *out;

	(void)state;
	for (int i = 0; i < 20000; i++)
		g_string_append_printf(html, "<p>Paragraph %d with <b>bold</b> &amp; text.</p>", i);
	g_string_append(html, "<blockquote>the end</blockquote></body></html>");
	out = html_to_text(html->str, html->len, 0, &truncated);
	assert_false(truncated);
	assert_true(g_str_has_prefix(out, "Paragraph 0 with bold & text.\n\nParagraph 1 "));
	assert_true(g_str_has_suffix(out, "Paragraph 19999 with bold & text.\n\n> the end"));
	g_free(out);
	out = html_to_text(html->str, html->len, 1000, &truncated);
	assert_true(truncated);
	assert_true(strlen(out) <= 1000 && strlen(out) > 900);
	g_free(out);
	g_string_free(html, TRUE);
}

int main(void)
{
	static struct CMUnitTest tests[G_N_ELEMENTS(cases) + 9];
	size_t n = 0;

	html_library_init();
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
		tests[n++] = (struct CMUnitTest){cases[i].name, test_case, NULL, NULL, (void *)&cases[i]};
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_null_input);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_invalid_utf8_repaired);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_deep_nesting_capped_prefix);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_hostile_shapes_cut);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_malformed_never_crashes);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_embedded_nul);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_random_tag_soup);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_no_parser_noise);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_large_input);
	return cmocka_run_group_tests_name("html", tests, NULL, NULL);
}
