/*
 * token_glib.c - token_random_hex(), token_fill_hex() in a GLib string
 * (see token.h).
 */
#include <glib.h>

#include "token.h"

char *token_random_hex(size_t bytes)
{
	g_assert(bytes > 0 && bytes <= TOKEN_MAX_BYTES);
	char *hex = g_malloc(bytes * 2 + 1);
	token_fill_hex(hex, bytes);
	return hex;
}
