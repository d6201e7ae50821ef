/*
 * token.c - random hex tokens from the kernel (see token.h).
 */
#include <errno.h>
#include <glib.h>
#include <sys/random.h>

#include "token.h"

char *token_random_hex(size_t bytes)
{
	unsigned char buf[64];
	g_assert(bytes > 0 && bytes <= sizeof buf);
	size_t got = 0;
	while (got < bytes) {
		ssize_t n = getrandom(buf + got, bytes - got, 0);
		if (n > 0)
			got += (size_t)n;
		else
			g_assert(errno == EINTR);
	}
	char *hex = g_malloc(bytes * 2 + 1);
	for (size_t i = 0; i < bytes; i++)
		g_snprintf(hex + 2 * i, 3, "%02x", buf[i]);
	explicit_bzero(buf, sizeof buf);
	return hex;
}
