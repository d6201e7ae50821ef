/*
 * fulldisk.h - a small file system of its own for tests that need a full
 * disk or a read-only one: a tmpfs mounted on a new temporary directory
 * (root only), filled to the last byte or made read-only on demand.  Used
 * by test_store.c and test_filter.c.
 *
 * Ownership: fulldisk_mount() returns the directory (g_free after
 * fulldisk_unmount()).
 */
#ifndef APOLOGY_TEST_FULLDISK_H
#define APOLOGY_TEST_FULLDISK_H

#include <stdbool.h>
#include <stddef.h>

/* Mount a tmpfs of SIZE bytes on a new temporary directory.  NULL, with the
 * reason printed, when this process may not mount (not root): the caller
 * skips its test. */
char *fulldisk_mount(size_t size);
/* Write a file "filler" in DIR until no byte more fits; returns its size. */
size_t fulldisk_fill(const char *dir);
/* Make PATH a file of SIZE bytes of which only the first WRITTEN were ever
 * written (zeros): the rest are holes, which a full disk cannot fill. */
void fulldisk_sparse(const char *path, size_t size, size_t written);
/* Write a file "filler" in DIR that leaves about FREE_BYTES free. */
void fulldisk_fill_but(const char *dir, long long free_bytes);
/* Remove "filler" again. */
void fulldisk_unfill(const char *dir);
/* Mount DIR's file system read-only (ON) or writable again. */
void fulldisk_read_only(const char *dir, bool on);
/* Unmount DIR and remove it. */
void fulldisk_unmount(const char *dir);

#endif
