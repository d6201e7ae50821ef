/*
 * test_termtext.c - text from mail for a terminal or a log line
 * (util/termtext.h): C0, DEL, C1 and format characters as '?', invalid
 * UTF-8 made valid, ordinary text kept; line breaks as the caller's own;
 * and JSON string literals (util/jsonstr.h) with U+2028 and U+2029
 * escaped for JavaScript.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "jsonstr.h"
#include "termtext.h"

static void assert_shown(const char *text, gssize len, glong max, const char *want)
{
	char *got = termtext_shown(text, len, max);
	assert_string_equal(got, want);
	g_free(got);
}

static void test_controls(void **state)
{
	(void)state;
	/* C0: an escape sequence, a bell, CR, LF, NUL-free; a TAB is a space. */
	assert_shown("a\033]0;owned\007\033[2Jb", -1, -1, "a?]0;owned??[2Jb");
	assert_shown("one\r\ntwo\tthree", -1, -1, "one??two three");
	/* DEL, and C1 as UTF-8: U+0085 (NEL), U+009B (CSI) */
	assert_shown("x\177y\302\205z\302\233"
	             "31m",
	             -1, -1, "x?y?z?31m");
	/* Format characters: U+202E (right-to-left override), U+200B, U+FEFF */
	assert_shown("\342\200\256gnp.exe \342\200\213\357\273\277!", -1, -1,
	             "?gnp.exe ?"
	             "?!");
}

static void test_ordinary_text_kept(void **state)
{
	(void)state;
	const char *s = "Grüße, Zoë — café <a@b.example> [x] \"q\" 東京 😀";
	assert_shown(s, -1, -1, s);
	assert_shown("", -1, -1, "");
	assert_shown(NULL, -1, -1, "");
}

static void test_invalid_utf8(void **state)
{
	(void)state;
	/* A lone C1 byte (0x9b), a cut sequence and an overlong one: each made
	 * U+FFFD, never passed on as raw bytes. */
	char *got = termtext_shown("a\233[2Jb\303", -1, -1);
	assert_true(g_utf8_validate(got, -1, NULL));
	assert_null(strchr(got, '\233'));
	assert_string_equal(got, "a\357\277\275[2Jb\357\277\275");
	g_free(got);
	got = termtext_shown("\300\257x", -1, -1);
	assert_true(g_utf8_validate(got, -1, NULL));
	assert_string_equal(got, "\357\277\275\357\277\275x");
	g_free(got);
}

static void test_length_and_cut(void **state)
{
	(void)state;
	/* LEN bytes only; MAX characters, "..." when cut. */
	assert_shown("abc\033def", 4, -1, "abc?");
	assert_shown("héllo wörld", -1, 5, "héllo...");
	assert_shown("héllo", -1, 5, "héllo");
}

static void test_append_and_lines(void **state)
{
	(void)state;
	GString *out = g_string_new("> ");
	termtext_append(out, "ok\033[0m", -1);
	assert_string_equal(out->str, "> ok?[0m");
	g_string_assign(out, "  | ");
	termtext_append_lines(out, "one\r\ntwo\rthree\nfour\033[2J\n", -1, "\n  | ");
	assert_string_equal(out->str, "  | one\n  | two\n  | three\n  | four?[2J\n  | ");
	g_string_free(out, TRUE);
}

static void test_jsonstr_line_separators(void **state)
{
	(void)state;
	GString *out = g_string_new(NULL);
	jsonstr_append(out, "a\342\200\250b\342\200\251c \342\200\246 \"\\\n\033");
	assert_string_equal(out->str, "\"a\\u2028b\\u2029c \342\200\246 \\\"\\\\\\n\\u001b\"");
	g_string_truncate(out, 0);
	jsonstr_append(out, "\342\200\250");
	assert_string_equal(out->str, "\"\\u2028\"");
	g_string_free(out, TRUE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_controls),         cmocka_unit_test(test_ordinary_text_kept),
	    cmocka_unit_test(test_invalid_utf8),     cmocka_unit_test(test_length_and_cut),
	    cmocka_unit_test(test_append_and_lines), cmocka_unit_test(test_jsonstr_line_separators),
	};
	return cmocka_run_group_tests_name("termtext", tests, NULL, NULL);
}
