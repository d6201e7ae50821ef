/*
 * regular_file.h - opening a file the core reads whole when a policy is
 * loaded (a model, the encoder's weights), only when it is a regular file:
 * anything else is refused before it is read (a FIFO would block, /dev/zero
 * never end).  The path is looked at before it is opened, since opening a
 * FIFO blocks, and the file again once open.
 */
#ifndef APOLOGY_REGULAR_FILE_H
#define APOLOGY_REGULAR_FILE_H

#include <glib.h>

/* PATH opened for reading, bytes as they are and unbuffered; *SIZE (may be
 * NULL) gets its size.  NULL with *ERR set when it cannot be: in
 * G_FILE_ERROR, NOENT ("No such file or directory") when there is nothing
 * at PATH, INVAL ("not a regular file") for anything but a regular file,
 * else the error of opening it. */
GIOChannel *regular_file_open(const char *path, goffset *size, GError **err);

#endif
