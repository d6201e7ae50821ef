/*
 * jsonstr.h - JSON string literals, for every JSON line the programs write:
 * the CLI's and the review tools' renderings of a decision (render.h), the
 * notifications' webhook payloads and the store's fallback spool (spool.h).  Pure: appends to a caller-owned
 * GString.
 */
#ifndef APOLOGY_JSONSTR_H
#define APOLOGY_JSONSTR_H

#include <glib.h>

/* Append S as a JSON string literal, quotes included: null for NULL,
 * control characters escaped, invalid UTF-8 repaired. */
void jsonstr_append(GString *out, const char *s);
/* Append ,"NAME":VALUE (VALUE as jsonstr_append() writes it): the next
 * member of an object already opened. */
void jsonstr_member(GString *out, const char *name, const char *value);

#endif
