/*
 * token.c - random hex tokens from the kernel (see token.h).  libc only;
 * token_random_hex() is in token_glib.c, so that the root helper can link
 * this file alone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "token.h"

void token_fill_hex(char *hex, size_t bytes)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char buf[TOKEN_MAX_BYTES];
	if (bytes == 0 || bytes > sizeof buf)
		abort();
	size_t got = 0;
	while (got < bytes) {
		ssize_t n = getrandom(buf + got, bytes - got, 0);
		if (n > 0)
			got += (size_t)n;
		else if (errno != EINTR)
			abort(); /* no randomness: nothing safe to hand out */
	}
	for (size_t i = 0; i < bytes; i++) {
		hex[2 * i] = digits[buf[i] >> 4];
		hex[2 * i + 1] = digits[buf[i] & 15];
	}
	hex[2 * bytes] = '\0';
	explicit_bzero(buf, sizeof buf);
}
