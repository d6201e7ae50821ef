/*
 * trusted.c - opening what root may trust (see trusted.h): one openat()
 * per path component with O_NOFOLLOW, and the checks on the descriptors.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "trusted.h"

#define SHARED_WRITE (S_IWGRP | S_IWOTH)

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), k = strlen(tail);
	return n >= k && strcmp(s + n - k, tail) == 0;
}

bool trusted_path_syntax(const char *path)
{
	size_t n = strlen(path);
	if (n < 2 || n >= TRUSTED_PATH_MAX || path[0] != '/' || path[n - 1] == '/')
		return false;
	for (const char *p = path; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return strstr(path, "//") == NULL && strstr(path, "/./") == NULL && strstr(path, "/../") == NULL &&
	       !ends_with(path, "/.") && !ends_with(path, "/..");
}

/* Close FD (when open), say "PATH: WHAT" (LEN bytes of PATH) in WHY; -1. */
static int fail(int fd, char *why, size_t why_size, int len, const char *path, const char *what)
{
	if (fd >= 0)
		close(fd);
	snprintf(why, why_size, "%.*s: %s", len, path, what);
	return -1;
}

/* The checks on the last component, opened as FD: its type, its owner, who
 * may write it.  Returns FD, or -1 (FD closed) with WHY set. */
static int check_last(int fd, bool want_dir, struct stat *st, const char *name, int len, char *why,
                      size_t why_size)
{
	if (fstat(fd, st) != 0)
		return fail(fd, why, why_size, len, name, strerror(errno));
	if (want_dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode))
		return fail(fd, why, why_size, len, name,
		            want_dir ? "is not a directory" : "is not a regular file");
	if (st->st_uid != 0)
		return fail(fd, why, why_size, len, name, "is not owned by root");
	if (st->st_mode & SHARED_WRITE)
		return fail(fd, why, why_size, len, name, "may be written by others than root");
	return fd;
}

/* Why opening NAME in DIR failed with ERR (O_NOFOLLOW with O_DIRECTORY
 * says ENOTDIR for a symbolic link). */
static const char *open_error(int dir, const char *name, int err)
{
	struct stat st;
	if (err == ELOOP || (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)))
		return "is a symbolic link";
	return err == ENOTDIR ? "is not a directory" : strerror(err);
}

int trusted_open(const char *path, bool want_dir, struct stat *out, char *why, size_t why_size)
{
	struct stat st, last;
	if (!trusted_path_syntax(path))
		return fail(-1, why, why_size, (int)strlen(path), path,
		            "is not an absolute path in plain form (no //, . or .., no trailing /)");
	int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0 || fstat(dir, &st) != 0)
		return fail(dir, why, why_size, 1, "/", strerror(errno));
	for (const char *p = path + 1;;) {
		size_t len = strcspn(p, "/");
		int upto = (int)(p - path + len);                    /* the path up to this component */
		int above = p == path + 1 ? 1 : (int)(p - path - 1); /* the directory it is in */
		char part[NAME_MAX + 1];
		/* A directory on the way: root's, and nobody else may rename or
		 * replace its entries (sticky: others may not touch root's). */
		if (st.st_uid != 0)
			return fail(dir, why, why_size, above, path, "is not owned by root");
		if ((st.st_mode & SHARED_WRITE) && !(st.st_mode & S_ISVTX))
			return fail(dir, why, why_size, above, path, "may be changed by others than root");
		if (len > NAME_MAX)
			return fail(dir, why, why_size, upto, path, "name too long");
		memcpy(part, p, len);
		part[len] = '\0';
		bool is_last = p[len] == '\0';
		int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
		int fd = openat(dir, part, is_last && !want_dir ? flags : flags | O_DIRECTORY);
		if (fd < 0)
			return fail(dir, why, why_size, upto, path, open_error(dir, part, errno));
		close(dir);
		if (is_last) {
			fd = check_last(fd, want_dir, &last, path, upto, why, why_size);
			if (fd >= 0 && out != NULL)
				*out = last;
			return fd;
		}
		if (fstat(fd, &st) != 0)
			return fail(fd, why, why_size, upto, path, strerror(errno));
		dir = fd;
		p += len + 1;
	}
}

int trusted_openat(int dir, const char *name, struct stat *out, char *why, size_t why_size)
{
	struct stat st;
	if (strchr(name, '/') != NULL || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return fail(-1, why, why_size, (int)strlen(name), name, "is not a plain file name");
	int fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return fail(-1, why, why_size, (int)strlen(name), name, open_error(dir, name, errno));
	fd = check_last(fd, false, &st, name, (int)strlen(name), why, why_size);
	if (fd >= 0 && out != NULL)
		*out = st;
	return fd;
}
