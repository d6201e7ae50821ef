/*
 * html.c - HTML fragments with their arguments escaped (html.h).
 */
#include <stdarg.h>

#include "html.h"

void html_append(GString *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = g_markup_vprintf_escaped(fmt, ap);
	va_end(ap);
	g_string_append(out, s);
	g_free(s);
}
