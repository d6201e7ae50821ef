/*
 * termtext.c - see termtext.h.
 */
#include "termtext.h"

#include <string.h>

bool termtext_unsafe(gunichar c)
{
	return g_unichar_iscntrl(c) || g_unichar_type(c) == G_UNICODE_FORMAT;
}

/* Append at most MAX characters (all when MAX < 0) of TEXT to OUT; whether
 * all of it fitted. */
static bool append_max(GString *out, const char *text, gssize len, glong max)
{
	if (text == NULL)
		return true;
	if (len < 0)
		len = (gssize)strlen(text);
	char *valid = g_utf8_make_valid(text, len);
	const char *p = valid;
	for (glong n = 0; *p != '\0' && (max < 0 || n < max); p = g_utf8_next_char(p), n++) {
		gunichar c = g_utf8_get_char(p);
		if (c == '\t')
			g_string_append_c(out, ' '); /* harmless, and common in mail */
		else if (termtext_unsafe(c))
			g_string_append_c(out, '?');
		else
			g_string_append_unichar(out, c);
	}
	bool all = *p == '\0';
	g_free(valid);
	return all;
}

void termtext_append(GString *out, const char *text, gssize len)
{
	append_max(out, text, len, -1);
}

void termtext_append_lines(GString *out, const char *text, gssize len, const char *brk)
{
	if (text == NULL)
		return;
	size_t n = len < 0 ? strlen(text) : (size_t)len;
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		if (text[i] != '\n' && text[i] != '\r')
			continue;
		append_max(out, text + start, (gssize)(i - start), -1);
		g_string_append(out, brk);
		if (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n')
			i++;
		start = i + 1;
	}
	append_max(out, text + start, (gssize)(n - start), -1);
}

char *termtext_shown(const char *text, gssize len, glong max)
{
	GString *out = g_string_new(NULL);
	if (!append_max(out, text, len, max))
		g_string_append(out, "...");
	return g_string_free(out, FALSE);
}
