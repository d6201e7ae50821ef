/*
 * html.h - HTML fragments with their arguments escaped, for the pages of
 * apology-review (review/review_pages.c) and `apologyctl report --format
 * html` (ctl/report.c).  Pure: appends to a caller-owned GString.
 */
#ifndef APOLOGY_HTML_H
#define APOLOGY_HTML_H

#include <glib.h>

/* Append FMT to OUT with every argument escaped for HTML text and quoted
 * attributes (g_markup_printf_escaped()).  String arguments must be valid
 * UTF-8: GLib's escaper may read past the end of one that is not, so text
 * that may not be (from mail, from a form) is escaped by a function that
 * takes any bytes, or repaired first (g_utf8_make_valid()). */
void html_append(GString *out, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

#endif
