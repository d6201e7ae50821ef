/*
 * test_normalize.c - normalisation folds what real mail throws at the
 * matcher, and every output byte maps back to what the author wrote.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "normalize.h"

struct norm_case {
	const char *name, *in, *out;
};

static const struct norm_case cases[] = {
	{"ascii lower", "I'M SORRY", "im sorry"},
	{"curly apostrophe", "I\xe2\x80\x99m sorry", "im sorry"},
	{"missing apostrophe reads alike", "were swamped", "were swamped"},
	{"whitespace collapsed", "looking  into\n\n it", "looking into it"},
	{"curly quotes", "\xe2\x80\x9cno\xe2\x80\x9d", "\"no\""},
	{"em dash", "late\xe2\x80\x94" "again", "late-again"},
	{"nbsp", "so\xc2\xa0sorry", "so sorry"},
	{"zero width dropped", "sor\xe2\x80\x8bry", "sorry"},
	{"prefix hyphen joined", "un-acceptable and re-send", "unacceptable and resend"},
	{"other hyphen is a space", "follow-up", "follow up"},
	{"dash between spaces kept", "late - again", "late - again"},
	{"nfkc ligature", "\xef\xac\x81" "x", "fix"},
	{"casefold non-ascii", "\xc3\x9c" "BER", "\xc3\xbc" "ber"},
	{"tab and cr", "a\tb\r\n", "a b "},
	{"invalid byte", "a\xff" "b", "a?b"},
};

static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct normtext nt;
		normalize_text(cases[i].in, strlen(cases[i].in), &nt);
		if (strcmp(nt.s, cases[i].out) != 0)
			print_error("case \"%s\": got \"%s\"\n", cases[i].name, nt.s);
		assert_string_equal(nt.s, cases[i].out);
		assert_int_equal(nt.map[nt.len], strlen(cases[i].in));
		for (size_t k = 1; k <= nt.len; k++)
			assert_true(nt.map[k] >= nt.map[k - 1]);
		normtext_clear(&nt);
	}
}

static void test_offsets_map_back(void **state)
{
	(void)state;
	const char *in = "We\xe2\x80\x99re SORRY \xe2\x80\x94 the courier";
	struct normtext nt;
	normalize_text(in, strlen(in), &nt);
	const char *p = strstr(nt.s, "the courier");
	assert_non_null(p);
	size_t off = (size_t)(p - nt.s);
	assert_memory_equal(in + normtext_orig(&nt, off), "the courier", 11);
	assert_int_equal(normtext_orig(&nt, off + 11), strlen(in));
	normtext_clear(&nt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_offsets_map_back),
	};
	return cmocka_run_group_tests_name("normalize", tests, NULL, NULL);
}
