/*
 * html2text.h - an HTML body part as plain text, for the split stage.  Block
 * structure becomes line breaks; quoted regions (blockquote, Gmail, Yahoo
 * and Proton quote containers, and everything after an Outlook or
 * Thunderbird reply header) become lines prefixed "> ", one "> " per level,
 * so the splitter treats HTML and plain-text replies alike.  No I/O.
 *
 * Ownership: html_to_text() returns a new string the caller frees with
 * g_free().
 */
#ifndef APOLOGY_HTML_H
#define APOLOGY_HTML_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Render LEN bytes of UTF-8 HTML at HTML as UTF-8 text, NUL-terminated,
 * without leading or trailing whitespace.  Script, style, head and title
 * content is dropped and entities are decoded.  At most MAX_OUT bytes are
 * produced (0: no cap), cut at a character boundary; *TRUNCATED (when not
 * NULL) says whether the cap was hit.  Never fails: malformed HTML gives
 * whatever text the recovering parser finds, invalid UTF-8 is repaired.
 */
char *html_to_text(const char *html, size_t len, size_t max_out, bool *truncated);

/* One-time libxml2 set-up.  html_to_text() calls it too; calling it early
 * from the main thread keeps the first message from paying for it.  Safe to
 * call more than once, from any thread. */
void html_library_init(void);

#endif
