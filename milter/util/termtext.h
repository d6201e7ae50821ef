/*
 * termtext.h - text from mail (message text, Message-IDs, addresses,
 * excerpts, login names) made safe to show on a terminal or to write in a
 * log line: valid UTF-8 with no control character (C0, DEL, C1: escape
 * sequences, CR, LF, TAB) and no format character (bidi controls,
 * zero-width marks), each of those shown as '?'.  Pure: no I/O.
 */
#ifndef APOLOGY_TERMTEXT_H
#define APOLOGY_TERMTEXT_H

#include <stdbool.h>

#include <glib.h>

/* Whether C is shown as '?': a control or a format character. */
bool termtext_unsafe(gunichar c);
/* Append TEXT (LEN bytes, -1: up to its NUL) to OUT, made valid UTF-8
 * (g_utf8_make_valid) and with every control and format character as '?'.
 * NULL appends nothing. */
void termtext_append(GString *out, const char *text, gssize len);
/* Append TEXT as termtext_append() does, but each line break in it (LF,
 * CRLF or a lone CR) as BREAK: the caller's own continuation of a text
 * shown over several lines. */
void termtext_append_lines(GString *out, const char *text, gssize len, const char *brk);
/* TEXT as termtext_append() writes it, newly allocated: its first MAX
 * characters ("..." after them when cut), all of it when MAX < 0.  NULL
 * gives "". */
char *termtext_shown(const char *text, gssize len, glong max);

#endif
