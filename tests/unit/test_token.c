/*
 * test_token.c - random hex tokens (milter/util/token.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib.h>
#include <string.h>

#include "token.h"

static void test_shape(void **state)
{
	(void)state;
	for (size_t bytes = 1; bytes <= 64; bytes *= 2) {
		char *t = token_random_hex(bytes);
		assert_int_equal(strlen(t), 2 * bytes);
		assert_int_equal(strspn(t, "0123456789abcdef"), 2 * bytes);
		g_free(t);
	}
}

/* 1,000 tokens of 16 bytes: none twice, and every hex digit turns up in
 * every position (a constant or stuck digit would not). */
static void test_random(void **state)
{
	(void)state;
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	unsigned digits[32] = {0};
	for (int i = 0; i < 1000; i++) {
		char *t = token_random_hex(16);
		for (int k = 0; k < 32; k++)
			digits[k] |= 1u << g_ascii_xdigit_value(t[k]);
		assert_false(g_hash_table_contains(seen, t));
		g_hash_table_add(seen, t);
	}
	for (int k = 0; k < 32; k++)
		assert_int_equal(digits[k], 0xffff);
	g_hash_table_destroy(seen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shape),
	    cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
