/*
 * fulldisk.c - a tmpfs that tests can fill (fulldisk.h).  Mounting needs
 * root (CAP_SYS_ADMIN): elsewhere the tests that use it are skipped, with a
 * line saying why.  CI runs the unit tests as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fulldisk.h"

/* In a mount namespace of its own, when it may have one, the tmpfs goes
 * away with the process even when a test crashes. */
static void private_mounts(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	if (unshare(CLONE_NEWNS) == 0)
		mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL);
}

char *fulldisk_mount(size_t size)
{
	if (geteuid() != 0) {
		printf("skipped: the full-disk test mounts a tmpfs and must run as root\n");
		return NULL;
	}
	private_mounts();
	char *dir = g_dir_make_tmp("fulldisk-XXXXXX", NULL);
	char *opts = g_strdup_printf("size=%zu,mode=0700", size);
	int rc = mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts);
	int error = errno;
	g_free(opts);
	if (rc == 0)
		return dir;
	printf("skipped: cannot mount a tmpfs on %s: %s\n", dir, g_strerror(error));
	g_rmdir(dir);
	g_free(dir);
	return NULL;
}

static size_t write_until_full(int fd, size_t chunk)
{
	static const char zeros[4096];
	size_t total = 0;
	ssize_t n;
	while ((n = write(fd, zeros, chunk)) > 0)
		total += (size_t)n;
	g_assert(n < 0 && (errno == ENOSPC || errno == EFBIG));
	return total;
}

/* Whole pages first, then single bytes into the last partial block. */
size_t fulldisk_fill(const char *dir)
{
	char *path = g_build_filename(dir, "filler", NULL);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	g_free(path);
	g_assert(fd >= 0);
	size_t total = write_until_full(fd, 4096);
	total += write_until_full(fd, 1);
	close(fd);
	return total;
}

void fulldisk_sparse(const char *path, size_t size, size_t written)
{
	static const char zeros[4096];
	g_assert(written <= sizeof zeros && written <= size);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	g_assert(fd >= 0);
	g_assert(ftruncate(fd, (off_t)size) == 0);
	g_assert(pwrite(fd, zeros, written, 0) == (ssize_t)written);
	close(fd);
}

void fulldisk_fill_but(const char *dir, long long free_bytes)
{
	struct statvfs vs;
	if (statvfs(dir, &vs) != 0 || (long long)vs.f_bavail * (long long)vs.f_frsize <= free_bytes)
		g_error("fulldisk: %s has not more than %lld bytes free", dir, free_bytes);
	gsize size = (gsize)((long long)vs.f_bavail * (long long)vs.f_frsize - free_bytes);
	char *filler = g_build_filename(dir, "filler", NULL);
	char *zeros = g_malloc0(size);
	if (!g_file_set_contents(filler, zeros, (gssize)size, NULL))
		g_error("fulldisk: cannot write %s", filler);
	g_free(zeros);
	g_free(filler);
}

void fulldisk_unfill(const char *dir)
{
	char *path = g_build_filename(dir, "filler", NULL);
	g_unlink(path);
	g_free(path);
}

void fulldisk_read_only(const char *dir, bool on)
{
	unsigned long flags = MS_REMOUNT | MS_NOSUID | MS_NODEV | (on ? MS_RDONLY : 0);
	if (mount("tmpfs", dir, "tmpfs", flags, NULL) != 0)
		g_error("fulldisk: cannot remount %s %s: %s", dir, on ? "read-only" : "writable",
		        g_strerror(errno));
}

void fulldisk_unmount(const char *dir)
{
	if (umount2(dir, MNT_DETACH) != 0)
		printf("fulldisk: cannot unmount %s: %s\n", dir, g_strerror(errno));
	g_rmdir(dir);
}
