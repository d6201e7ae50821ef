/*
 * linefile.c - one record per line, with blank lines and '#' comments
 * (see linefile.h).
 */
#include "linefile.h"

#include <glib.h>
#include <string.h>

bool linefile_each(const char *path, bool (*each)(void *arg, char *line, int lineno), void *arg, char **err)
{
	char *text = NULL;
	gsize len = 0;
	GError *gerr = NULL;
	if (!g_file_get_contents(path, &text, &len, &gerr)) {
		*err = g_strdup(gerr->message);
		g_error_free(gerr);
		return false;
	}
	char **lines = g_strsplit(text, "\n", -1);
	bool ok = true;
	for (int i = 0; ok && lines[i] != NULL; i++) {
		char *line = g_strchomp(lines[i]);
		const char *first = line + strspn(line, " \t");
		if (*first != '\0' && *first != '#')
			ok = each(arg, line, i + 1);
	}
	for (int i = 0; lines[i] != NULL; i++)
		explicit_bzero(lines[i], strlen(lines[i]));
	explicit_bzero(text, len);
	g_strfreev(lines);
	g_free(text);
	return ok;
}
