/*
 * test_sentence.c - sentence_split(): boundaries, what never ends a
 * sentence (abbreviations, initials, decimals, times, URLs), greetings and
 * list items, and exact offsets and line numbers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "thread.h"

#define MAX_WANT 8

struct want {
	const char *s; /* the sentence's exact text */
	unsigned line;
};

struct sentence_case {
	const char *name;
	const char *text;
	struct want want[MAX_WANT]; /* in order; ends at the first NULL */
};

static const struct sentence_case cases[] = {
	{"three kinds of terminal punctuation", "One. Two! Three?",
	 {{"One.", 1}, {"Two!", 1}, {"Three?", 1}}},
	{"abbreviations do not end sentences",
	 "Bring e.g. apples, i.e. fruit, etc. to Mr. Smith and Mrs. Jones. Dr. Who vs. Ms. X "
	 "arrived approx. at noon.",
	 {{"Bring e.g. apples, i.e. fruit, etc. to Mr. Smith and Mrs. Jones.", 1},
	  {"Dr. Who vs. Ms. X arrived approx. at noon.", 1}}},
	{"decimals and times", "It costs 3.5 EUR. We meet at 9.30 tomorrow.",
	 {{"It costs 3.5 EUR.", 1}, {"We meet at 9.30 tomorrow.", 1}}},
	{"urls and e-mail addresses",
	 "Visit https://www.example.com/a.b?x=1 today. Mail ann.lee@example.co.uk now.",
	 {{"Visit https://www.example.com/a.b?x=1 today.", 1},
	  {"Mail ann.lee@example.co.uk now.", 1}}},
	{"a url at the end of a sentence", "See www.example.com. Then call.",
	 {{"See www.example.com.", 1}, {"Then call.", 1}}},
	{"greeting on its own line", "Hi Anna,\nthanks for your email. We are on it.",
	 {{"Hi Anna,", 1}, {"thanks for your email.", 2}, {"We are on it.", 2}}},
	{"greeting with a title", "Dear Mr. Smith,\nSorry.",
	 {{"Dear Mr. Smith,", 1}, {"Sorry.", 2}}},
	{"list items each a sentence",
	 "Here is the plan:\n- refund the order\n- send a new one\n1. call you\n2) write to you",
	 {{"Here is the plan:", 1},
	  {"- refund the order", 2},
	  {"- send a new one", 3},
	  {"1. call you", 4},
	  {"2) write to you", 5}}},
	{"blank line ends a sentence", "First paragraph without a stop\n\nSecond one",
	 {{"First paragraph without a stop", 1}, {"Second one", 3}}},
	{"a wrapped line continues the sentence",
	 "We shipped the parcel to the wrong address on Monday and\nthe courier returned it.",
	 {{"We shipped the parcel to the wrong address on Monday and\nthe courier returned it.",
	   1}}},
	{"a wrapped long line before a capital continues",
	 "We shipped the parcel to the wrong address on Monday, said\nJohn from the warehouse.",
	 {{"We shipped the parcel to the wrong address on Monday, said\nJohn from the warehouse.",
	   1}}},
	{"a short line before a capital ends", "Thanks again\nWe will call you tomorrow.",
	 {{"Thanks again", 1}, {"We will call you tomorrow.", 2}}},
	{"closing quotes and brackets belong to the sentence",
	 "He said \"sorry.\" Then left. (It was late.) Ok.",
	 {{"He said \"sorry.\"", 1}, {"Then left.", 1}, {"(It was late.)", 1}, {"Ok.", 1}}},
	{"curly closing quote", "She wrote \xE2\x80\x9C" "done.\xE2\x80\x9D Fine.",
	 {{"She wrote \xE2\x80\x9C" "done.\xE2\x80\x9D", 1}, {"Fine.", 1}}},
	{"No. before a number, and No. alone", "Order No. 5 is late. No. That is wrong.",
	 {{"Order No. 5 is late.", 1}, {"No.", 1}, {"That is wrong.", 1}}},
	{"initials", "J. Smith will call. A. B. Jones too.",
	 {{"J. Smith will call.", 1}, {"A. B. Jones too.", 1}}},
	{"dotted acronyms", "The U.S. team will call at 9 a.m. tomorrow. Bye.",
	 {{"The U.S. team will call at 9 a.m. tomorrow.", 1}, {"Bye.", 1}}},
	{"ellipsis before lower case continues",
	 "Well... we tried. Wait\xE2\x80\xA6 Then it worked.",
	 {{"Well... we tried.", 1}, {"Wait\xE2\x80\xA6", 1}, {"Then it worked.", 1}}},
	{"runs of ?!", "Why?! Really?? Yes.", {{"Why?!", 1}, {"Really??", 1}, {"Yes.", 1}}},
	{"whitespace trimmed, lines counted", "   Hello there.   \n\n  Next one.  ",
	 {{"Hello there.", 1}, {"Next one.", 3}}},
	{"crlf line ends", "One.\r\nTwo.", {{"One.", 1}, {"Two.", 2}}},
	{"non-ascii capital after a short line", "Danke\n\xC3\x9C" "ber alles.",
	 {{"Danke", 1}, {"\xC3\x9C" "ber alles.", 2}}},
	{"sentence spanning lines keeps its first line",
	 "Intro.\nThe refund was approved on Monday and the money should reach\nyour account by "
	 "Friday. Sorry.",
	 {{"Intro.", 1},
	  {"The refund was approved on Monday and the money should reach\nyour account by "
	   "Friday.",
	   2},
	  {"Sorry.", 3}}},
	{"placeholder blanks are just spaces", "Dear              ,\nYour order is late.",
	 {{"Dear              ,", 1}, {"Your order is late.", 2}}},
	{"empty text", "", {{NULL, 0}}},
	{"whitespace only", " \n\t\n  ", {{NULL, 0}}},
};

static void test_case(void **state)
{
	const struct sentence_case *c = *state;
	GArray *out = g_array_new(FALSE, FALSE, sizeof(struct sentence));
	size_t from = 0, n = 0;

	sentence_split(c->text, strlen(c->text), out);
	while (n < MAX_WANT && c->want[n].s)
		n++;
	assert_int_equal(out->len, n);
	for (size_t i = 0; i < n; i++) {
		const struct sentence *s = &g_array_index(out, struct sentence, i);
		const char *at = strstr(c->text + from, c->want[i].s);
		assert_non_null(at);
		assert_int_equal(s->start, (size_t)(at - c->text));
		assert_int_equal(s->end, s->start + strlen(c->want[i].s));
		assert_int_equal(s->line, c->want[i].line);
		from = s->end;
	}
	g_array_unref(out);
}

static void test_appends_to_existing_array(void **state)
{
	GArray *out = g_array_new(FALSE, FALSE, sizeof(struct sentence));
	struct sentence first = {.start = 7, .end = 9, .line = 4};

	(void)state;
	g_array_append_val(out, first);
	sentence_split("A. B.", 5, out);
	/* "A." is an initial, so the text is one sentence. */
	assert_int_equal(out->len, 2);
	assert_int_equal(g_array_index(out, struct sentence, 0).start, 7);
	assert_int_equal(g_array_index(out, struct sentence, 1).start, 0);
	assert_int_equal(g_array_index(out, struct sentence, 1).end, 5);
	g_array_unref(out);
}

static void test_length_bounds_the_scan(void **state)
{
	GArray *out = g_array_new(FALSE, FALSE, sizeof(struct sentence));

	(void)state;
	sentence_split("Stop here. Not this.", 10, out);
	assert_int_equal(out->len, 1);
	assert_int_equal(g_array_index(out, struct sentence, 0).end, 10);
	g_array_unref(out);
}

/* Many sentences over many lines: offsets and line numbers stay exact. */
static void test_long_text(void **state)
{
	GString *text = g_string_new(NULL);
	GArray *out = g_array_new(FALSE, FALSE, sizeof(struct sentence));

	(void)state;
	for (int i = 0; i < 5000; i++)
		g_string_append_printf(text, "Line %d has e.g. 3.5 items. Second part %d!\n", i, i);
	sentence_split(text->str, text->len, out);
	assert_int_equal(out->len, 10000);
	for (guint i = 0; i < out->len; i += 997) {
		const struct sentence *s = &g_array_index(out, struct sentence, i);
		assert_int_equal(s->line, i / 2 + 1);
		assert_true(text->str[s->end - 1] == (i % 2 ? '!' : '.'));
		assert_true(s->start == 0 || text->str[s->start - 1] == ' ' ||
		            text->str[s->start - 1] == '\n');
	}
	g_array_unref(out);
	g_string_free(text, TRUE);
}

int main(void)
{
	static struct CMUnitTest tests[G_N_ELEMENTS(cases) + 3];
	size_t n = 0;

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
		tests[n++] = (struct CMUnitTest){cases[i].name, test_case, NULL, NULL,
		                                 (void *)&cases[i]};
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_appends_to_existing_array);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_length_bounds_the_scan);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_long_text);
	return cmocka_run_group_tests_name("sentence", tests, NULL, NULL);
}
