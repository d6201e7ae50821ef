/*
 * regular_file.c - see regular_file.h.
 */
#include "regular_file.h"

#include <errno.h>
#include <sys/stat.h>

GIOChannel *regular_file_open(const char *path, goffset *size, GError **err)
{
	if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
		g_set_error_literal(err, G_FILE_ERROR, G_FILE_ERROR_NOENT, g_strerror(ENOENT));
		return NULL;
	}
	GError *e = NULL;
	GIOChannel *ch =
	    g_file_test(path, G_FILE_TEST_IS_REGULAR) ? g_io_channel_new_file(path, "r", &e) : NULL;
	if (e != NULL) {
		g_propagate_error(err, e);
		return NULL;
	}
	struct stat st;
	if (ch == NULL || fstat(g_io_channel_unix_get_fd(ch), &st) != 0 || !S_ISREG(st.st_mode)) {
		if (ch)
			g_io_channel_unref(ch);
		g_set_error_literal(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "not a regular file");
		return NULL;
	}
	g_io_channel_set_encoding(ch, NULL, NULL); /* bytes as they are */
	g_io_channel_set_buffered(ch, FALSE);
	if (size)
		*size = (goffset)st.st_size;
	return ch;
}
