/*
 * linefile.h - files of one record per line, the way the review accounts,
 * the review settings and `apologyctl check --history` are written: blank
 * lines and lines whose first non-blank character is '#' are skipped.
 *
 * linefile_each() reads PATH and calls EACH with every other line (trailing
 * white space and CR removed; the line may be modified) and its 1-based
 * number, until EACH returns false.  Returns false when the file cannot be
 * read (*ERR is set, caller frees) or EACH stopped (*ERR untouched: EACH
 * reports its own errors).  The file's text is wiped before it is freed:
 * it may hold password hashes.
 */
#ifndef APOLOGY_LINEFILE_H
#define APOLOGY_LINEFILE_H

#include <stdbool.h>

bool linefile_each(const char *path, bool (*each)(void *arg, char *line, int lineno), void *arg, char **err);

#endif
