/*
 * trusted.h - opening files and directories that root may trust, for the
 * root helper apology-postsuper.  A path is trusted when nobody but root
 * can change what it names: every directory on the way from "/" is owned
 * by root and writable by root only (or sticky, like /tmp, where others
 * cannot move root's entries), and what it names is owned by root and
 * writable by root only.  The path is resolved once, one component at a
 * time with openat(O_NOFOLLOW): a symbolic link anywhere is refused, and
 * each check is made on the opened descriptor (fstat), never on a name
 * that could change between the check and the use.
 *
 * libc only.  Descriptors returned are the caller's to close; they are
 * close-on-exec.  WHY receives a sentence for the caller to print.
 */
#ifndef APOLOGY_TRUSTED_H
#define APOLOGY_TRUSTED_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#define TRUSTED_PATH_MAX 1024

/* Is PATH absolute and in plain form: no "//", "." or ".." components, no
 * trailing "/", no control characters, shorter than TRUSTED_PATH_MAX? */
bool trusted_path_syntax(const char *path);

/* Open PATH, a directory (WANT_DIR) or a regular file, when it is trusted
 * (above).  Returns the descriptor (ST, when not NULL, gets its fstat), or
 * -1 with WHY set. */
int trusted_open(const char *path, bool want_dir, struct stat *st, char *why, size_t why_size);

/* Open the regular file NAME in the trusted directory DIR the same way:
 * no symbolic link, owned by root, writable by root only. */
int trusted_openat(int dir, const char *name, struct stat *st, char *why, size_t why_size);

#endif
