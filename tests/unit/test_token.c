/*
 * test_token.c - random hex tokens (milter/util/token.c) and the seal on
 * hold tokens (milter/util/holdseal.c), checked against GLib's HMAC.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "holdseal.h"
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

static void key_of(struct holdseal_key *key, unsigned char fill, size_t len)
{
	key->len = len;
	memset(key->bytes, fill, len);
}

/* A token is its nonce and the first 16 bytes of HMAC-SHA256 over a label,
 * the queue id and the nonce: computed here with GLib, apart from libsodium. */
static void test_seal_construction(void **state)
{
	(void)state;
	struct holdseal_key key;
	key_of(&key, 0x5a, 40);
	const char *nonce = "00112233445566778899aabbccddeeff";
	GHmac *h = g_hmac_new(G_CHECKSUM_SHA256, key.bytes, key.len);
	const char *text = "apology-milter hold token 1\n4F2A31C0E8\n00112233445566778899aabbccddeeff";
	g_hmac_update(h, (const guchar *)text, (gssize)strlen(text));
	char *tag = g_strndup(g_hmac_get_string(h), 32);
	char *token = g_strconcat(nonce, tag, NULL);
	assert_true(holdseal_verify(&key, "4F2A31C0E8", token));
	assert_false(holdseal_verify(&key, "4F2A31C0E9", token));
	g_free(token);
	g_free(tag);
	g_hmac_unref(h);
}

static void test_seal_round_trip(void **state)
{
	(void)state;
	struct holdseal_key key, other;
	char t[HOLDSEAL_TOKEN_LEN + 1], u[HOLDSEAL_TOKEN_LEN + 1];
	key_of(&key, 1, 32);
	key_of(&other, 2, 32);
	holdseal_mint(&key, "4F2A31C0E8", t);
	holdseal_mint(&key, "4F2A31C0E8", u);
	assert_int_equal(strlen(t), HOLDSEAL_TOKEN_LEN);
	assert_int_equal(strspn(t, "0123456789abcdef"), HOLDSEAL_TOKEN_LEN);
	assert_string_not_equal(t, u); /* a new nonce each time */
	assert_true(holdseal_verify(&key, "4F2A31C0E8", t));
	assert_true(holdseal_verify(&key, "4F2A31C0E8", u));
	assert_false(holdseal_verify(&other, "4F2A31C0E8", t)); /* another key */
	assert_false(holdseal_verify(&key, "4F2A31C0E9", t));   /* another queue id */
	assert_false(holdseal_verify(&key, "", t));
	for (int i = 0; i < HOLDSEAL_TOKEN_LEN; i += 7) { /* any digit changed, nonce or tag */
		strcpy(u, t);
		u[i] = u[i] == '0' ? '1' : '0';
		assert_false(holdseal_verify(&key, "4F2A31C0E8", u));
	}
	for (int i = 0; i <= HOLDSEAL_TOKEN_LEN; i++) /* upper case is not a token */
		u[i] = g_ascii_toupper(t[i]);
	assert_false(strcmp(u, t) != 0 && holdseal_verify(&key, "4F2A31C0E8", u));
	u[0] = '\0';
	assert_false(holdseal_verify(&key, "4F2A31C0E8", u));
	char *plain = token_random_hex(16); /* what the daemon writes without a key */
	assert_false(holdseal_verify(&key, "4F2A31C0E8", plain));
	g_free(plain);
}

/* A key file of SIZE bytes, read back. */
static const char *read_key_of_size(size_t size, struct holdseal_key *key)
{
	char path[] = "/tmp/test_token-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	for (size_t i = 0; i < size; i++)
		assert_int_equal(write(fd, "k", 1), 1);
	lseek(fd, 0, SEEK_SET);
	const char *why = holdseal_key_read(fd, key);
	close(fd);
	return why;
}

static void test_seal_key_file(void **state)
{
	(void)state;
	struct holdseal_key key;
	assert_non_null(read_key_of_size(0, &key));
	assert_non_null(read_key_of_size(31, &key));
	assert_null(read_key_of_size(32, &key));
	assert_int_equal(key.len, 32);
	assert_null(read_key_of_size(256, &key));
	assert_int_equal(key.len, 256);
	assert_string_equal(read_key_of_size(257, &key), "is longer than 256 bytes");
	assert_int_equal(key.len, 0); /* wiped */
	holdseal_key_clear(&key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shape),
	    cmocka_unit_test(test_random),
	    cmocka_unit_test(test_seal_construction),
	    cmocka_unit_test(test_seal_round_trip),
	    cmocka_unit_test(test_seal_key_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
