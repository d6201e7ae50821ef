/*
 * token.h - random tokens: the hold tokens the daemon writes into held mail
 * and the review page's session, CSRF and log-in tokens.  One source of
 * randomness for all of them: the kernel's (getrandom(2)).
 *
 * token_random_hex() returns BYTES random bytes (at most 64) as lower-case
 * hex, 2 * BYTES characters; the caller frees it.  It blocks only until the
 * kernel's generator is seeded, and aborts if the kernel refuses (a bug or
 * a broken system, never a reason to hand out a guessable token).
 */
#ifndef APOLOGY_TOKEN_H
#define APOLOGY_TOKEN_H

#include <stddef.h>

char *token_random_hex(size_t bytes);

#endif
