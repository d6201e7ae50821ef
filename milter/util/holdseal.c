/*
 * holdseal.c - sealed hold tokens (see holdseal.h).  libc and libsodium
 * only: the root helper links this file (and token.c, for the nonce).
 */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "holdseal.h"
#include "token.h"

#define NONCE_BYTES 16
#define TAG_BYTES   16
#define HEX_DIGITS  "0123456789abcdef"

/* What the tag covers besides the queue id and the nonce: a change of the
 * construction gets a new label, so old tokens cannot pass as new ones. */
static const char label[] = "apology-milter hold token 1\n";

static void need_sodium(void)
{
	if (sodium_init() < 0)
		abort(); /* no randomness and no crypto: nothing safe to do */
}

const char *holdseal_key_read(int fd, struct holdseal_key *key)
{
	unsigned char extra;
	key->len = 0;
	for (;;) {
		unsigned char *dst = key->len < sizeof key->bytes ? key->bytes + key->len : &extra;
		size_t room = key->len < sizeof key->bytes ? sizeof key->bytes - key->len : 1;
		ssize_t n = read(fd, dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			holdseal_key_clear(key);
			return "cannot be read";
		}
		if (n == 0)
			break;
		if (dst == &extra) {
			holdseal_key_clear(key);
			return "is longer than 256 bytes";
		}
		key->len += (size_t)n;
	}
	if (key->len < HOLDSEAL_KEY_MIN) {
		holdseal_key_clear(key);
		return "is shorter than 32 bytes";
	}
	return NULL;
}

void holdseal_key_clear(struct holdseal_key *key)
{
	sodium_memzero(key, sizeof *key);
}

/* The tag of QUEUE_ID and the nonce NONCE_HEX (2 * NONCE_BYTES digits), as
 * 2 * TAG_BYTES hex digits and a NUL in HEX. */
static void tag_hex(const struct holdseal_key *key, const char *queue_id, const char *nonce_hex,
                    char hex[2 * TAG_BYTES + 1])
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	need_sodium();
	crypto_auth_hmacsha256_init(&st, key->bytes, key->len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)label, sizeof label - 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)queue_id, strlen(queue_id));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)"\n", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)nonce_hex, 2 * NONCE_BYTES);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(hex, 2 * TAG_BYTES + 1, mac, TAG_BYTES);
	sodium_memzero(&st, sizeof st);
}

void holdseal_mint(const struct holdseal_key *key, const char *queue_id, char token[HOLDSEAL_TOKEN_LEN + 1])
{
	token_fill_hex(token, NONCE_BYTES);
	tag_hex(key, queue_id, token, token + 2 * NONCE_BYTES);
}

bool holdseal_verify(const struct holdseal_key *key, const char *queue_id, const char *token)
{
	char expected[2 * TAG_BYTES + 1];
	if (strlen(token) != HOLDSEAL_TOKEN_LEN || strspn(token, HEX_DIGITS) != HOLDSEAL_TOKEN_LEN)
		return false;
	tag_hex(key, queue_id, token, expected);
	return sodium_memcmp(expected, token + 2 * NONCE_BYTES, 2 * TAG_BYTES) == 0;
}
