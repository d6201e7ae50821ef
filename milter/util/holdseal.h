/*
 * holdseal.h - the daemon's seal on the tokens of held mail.  A hold token
 * is HOLDSEAL_TOKEN_LEN lower-case hex characters: a random nonce (32) and
 * a tag (32), the first 16 bytes of HMAC-SHA256 under a secret key over the
 * Postfix queue id and the nonce.  The daemon mints one per hold
 * (filter.c); the root helper apology-postsuper checks it before it
 * releases or deletes anything, so that a token in a message the daemon
 * never held (forged by a sender, or written into the store by someone who
 * may write there) is refused.  The key lives in a file only root and the
 * daemon may read (/etc/apology-milter/hold.key, 32 to 256 bytes of random
 * data).
 *
 * This file uses libc and libsodium only, no GLib: the helper links it and
 * nothing else of ours but util/token.c (the nonce's randomness).  Keys are caller-provided structs; clear
 * them with holdseal_key_clear() when done.
 */
#ifndef APOLOGY_HOLDSEAL_H
#define APOLOGY_HOLDSEAL_H

#include <stdbool.h>
#include <stddef.h>

#define HOLDSEAL_KEY_MIN   32
#define HOLDSEAL_KEY_MAX   256
#define HOLDSEAL_TOKEN_LEN 64

struct holdseal_key {
	size_t len;
	unsigned char bytes[HOLDSEAL_KEY_MAX];
};

/* Read the whole key file open on FD into KEY.  Returns NULL, or a static
 * message saying what is wrong (too short, too long, unreadable). */
const char *holdseal_key_read(int fd, struct holdseal_key *key);
/* Wipe KEY. */
void holdseal_key_clear(struct holdseal_key *key);

/* A new sealed token for the message with QUEUE_ID, NUL-terminated in
 * TOKEN.  Aborts when the system has no randomness to give. */
void holdseal_mint(const struct holdseal_key *key, const char *queue_id, char token[HOLDSEAL_TOKEN_LEN + 1]);
/* Whether TOKEN was minted with KEY for QUEUE_ID (in constant time). */
bool holdseal_verify(const struct holdseal_key *key, const char *queue_id, const char *token);

#endif
