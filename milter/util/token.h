/*
 * token.h - random tokens: the hold tokens the daemon writes into held mail
 * (the nonce of each, holdseal.c) and the review page's session, CSRF and
 * log-in tokens.  One source of randomness for all of them: the kernel's
 * (getrandom(2)), through token_fill_hex().
 *
 * token_fill_hex() writes BYTES random bytes (at most 64) as lower-case hex
 * into HEX, 2 * BYTES characters and a NUL; libc only, so that the root
 * helper, which links holdseal.c, links no GLib.  token_random_hex() returns
 * the same as a string the caller frees with g_free().  Both block only
 * until the kernel's generator is seeded, and abort if the kernel refuses
 * (a bug or a broken system, never a reason to hand out a guessable token).
 */
#ifndef APOLOGY_TOKEN_H
#define APOLOGY_TOKEN_H

#include <stddef.h>

#define TOKEN_MAX_BYTES 64

void token_fill_hex(char *hex, size_t bytes);
char *token_random_hex(size_t bytes);

#endif
