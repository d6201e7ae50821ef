/*
 * crashguard.c - the crash guard's file of marks (crashguard.h): open,
 * lock, allocate and map STORE-inflight; mark and clear slots; hand the
 * marks a dead run left to the backend; answer crash counts from memory.
 *
 * Writes to a shared mapping are in the page cache at once, so a mark
 * outlives a crash of the process (not of the machine, which is not what
 * the guard is for), and it costs no system call, where a transaction
 * before and after every message was the daemon's largest cost after the
 * analysis itself.  The price of a mapping is that a write the file system
 * cannot back is a SIGBUS: so the file is allocated before it is mapped,
 * its marks are read with pread() (a read fault on a hole of a tmpfs file
 * allocates too), and it is never shrunk while mapped.  This file does no
 * SQL and no logging.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crashguard.h"

#define SLOTS  256
#define FP_MAX 72 /* a fingerprint and its NUL */

/* One slot of the file; the layout is the file format (80 bytes). */
struct slot {
	char fp[FP_MAX];
	gint64 started;
};

#define FILE_SIZE (SLOTS * sizeof(struct slot))

struct crashes {
	unsigned count;
	gint64 last;
};

struct crashguard {
	GMutex lock;
	char *file; /* NULL: no file */
	enum store_guard mode;
	char *why;           /* why the mode is not STORE_GUARD_FILE */
	int fd;              /* open and locked, or -1 */
	struct slot *slots;  /* SLOTS, mapped shared, in STORE_GUARD_FILE */
	unsigned hint;       /* where to look for a free slot */
	GArray *left;        /* struct crashguard_mark: marks of a dead run */
	GHashTable *crashes; /* fingerprint -> struct crashes */
};

static void set_mode(struct crashguard *g, enum store_guard mode, char *why)
{
	g->mode = mode;
	g_free(g->why);
	g->why = why;
}

static void turn_off(struct crashguard *g, const char *what, int error)
{
	set_mode(g, STORE_GUARD_OFF, g_strdup_printf("cannot %s %s: %s", what, g->file, g_strerror(error)));
}

/* Open and lock the file; false (and the mode says why) when that fails.
 * Not through a symbolic link, and only a regular file of this user's with
 * one name: the store's directory may be its group's to write, and a
 * member must not point the guard's writes at another of the daemon's
 * files. */
static bool open_file(struct crashguard *g)
{
	struct stat st;
	g->fd = open(g->file, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (g->fd < 0) {
		turn_off(g, "open", errno);
		return false;
	}
	if (fstat(g->fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1) {
		close(g->fd);
		g->fd = -1;
		turn_off(g, "use", EPERM);
		return false;
	}
	if (flock(g->fd, LOCK_EX | LOCK_NB) == 0)
		return true;
	int error = errno;
	close(g->fd);
	g->fd = -1;
	if (error == EWOULDBLOCK)
		set_mode(g, STORE_GUARD_ROWS,
		         g_strdup_printf("%s is held by another process: marks go to the store's tables",
		                         g->file));
	else
		turn_off(g, "lock", error);
	return false;
}

/* Collect the marks an earlier run left, with pread(): the file may be
 * sparse and the disk full. */
static void read_left(struct crashguard *g)
{
	struct slot *buf = g_malloc0(FILE_SIZE);
	size_t got = 0;
	while (got < FILE_SIZE) {
		ssize_t n = pread(g->fd, (char *)buf + got, FILE_SIZE - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	for (unsigned i = 0; i < got / sizeof(struct slot); i++) {
		if (buf[i].fp[0] == '\0')
			continue;
		buf[i].fp[sizeof buf[i].fp - 1] = '\0';
		struct crashguard_mark m = {g_strdup(buf[i].fp), buf[i].started, i};
		g_array_append_val(g->left, m);
	}
	g_free(buf);
}

/* Allocate every block of the file, then map it. */
static void map_file(struct crashguard *g)
{
	int error;
	while ((error = posix_fallocate(g->fd, 0, (off_t)FILE_SIZE)) == EINTR)
		;
	if (error != 0) {
		turn_off(g, "allocate", error);
		return;
	}
	void *map = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, g->fd, 0);
	if (map == MAP_FAILED) {
		turn_off(g, "map", errno);
		return;
	}
	g->slots = map;
	set_mode(g, STORE_GUARD_FILE, NULL);
}

static void free_mark(gpointer p)
{
	g_free(((struct crashguard_mark *)p)->fingerprint);
}

struct crashguard *crashguard_open(const char *file)
{
	struct crashguard *g = g_new0(struct crashguard, 1);
	g_mutex_init(&g->lock);
	g->fd = -1;
	g->left = g_array_new(FALSE, TRUE, sizeof(struct crashguard_mark));
	g_array_set_clear_func(g->left, free_mark);
	g->crashes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	if (file == NULL) {
		set_mode(g, STORE_GUARD_ROWS, g_strdup("the store is in memory: marks go to its tables"));
		return g;
	}
	g->file = g_strdup(file);
	if (open_file(g)) {
		read_left(g);
		map_file(g);
	}
	return g;
}

void crashguard_close(struct crashguard *g)
{
	if (g == NULL)
		return;
	if (g->slots != NULL)
		munmap(g->slots, FILE_SIZE);
	if (g->fd >= 0)
		close(g->fd); /* also releases the lock */
	g_array_free(g->left, TRUE);
	g_hash_table_destroy(g->crashes);
	g_mutex_clear(&g->lock);
	g_free(g->why);
	g_free(g->file);
	g_free(g);
}

static enum store_guard current_mode(struct crashguard *g, char **why)
{
	if (why != NULL)
		*why = g_strdup(g->why);
	return g->mode;
}

enum store_guard crashguard_mode(struct crashguard *g, char **why)
{
	g_mutex_lock(&g->lock);
	enum store_guard mode = current_mode(g, why);
	g_mutex_unlock(&g->lock);
	return mode;
}

enum store_guard crashguard_retry(struct crashguard *g, char **why)
{
	g_mutex_lock(&g->lock);
	if (g->mode == STORE_GUARD_OFF && (g->fd >= 0 || open_file(g)))
		map_file(g);
	enum store_guard mode = current_mode(g, why);
	g_mutex_unlock(&g->lock);
	return mode;
}

bool crashguard_mark(struct crashguard *g, const char *fingerprint, gint64 now)
{
	size_t n = strlen(fingerprint);
	bool done = false;
	if (n == 0 || n >= FP_MAX)
		return false;
	g_mutex_lock(&g->lock);
	for (unsigned i = 0; g->slots != NULL && !done && i < SLOTS; i++) {
		struct slot *slot = &g->slots[(g->hint + i) % SLOTS];
		if (slot->fp[0] != '\0')
			continue;
		slot->started = now;
		memcpy(slot->fp, fingerprint, n + 1);
		g->hint = (g->hint + i + 1) % SLOTS;
		done = true;
	}
	g_mutex_unlock(&g->lock);
	return done;
}

bool crashguard_clear(struct crashguard *g, const char *fingerprint)
{
	bool found = false;
	g_mutex_lock(&g->lock);
	for (unsigned i = 0; g->slots != NULL && !found && i < SLOTS; i++)
		if (strcmp(g->slots[i].fp, fingerprint) == 0) {
			memset(&g->slots[i], 0, sizeof g->slots[i]);
			found = true;
		}
	g_mutex_unlock(&g->lock);
	return found;
}

const GArray *crashguard_left(struct crashguard *g)
{
	return g->left;
}

/* Mapped, each slot a dead run left is cleared; not mapped, the file is
 * emptied (which also gives its blocks back to a full disk). */
void crashguard_forget_left(struct crashguard *g)
{
	g_mutex_lock(&g->lock);
	for (guint i = 0; g->slots != NULL && i < g->left->len; i++) {
		const struct crashguard_mark *m = &g_array_index(g->left, struct crashguard_mark, i);
		struct slot *slot = &g->slots[m->slot];
		if (strcmp(slot->fp, m->fingerprint) == 0 && slot->started == m->started)
			memset(slot, 0, sizeof *slot);
	}
	if (g->slots == NULL && g->fd >= 0 && g->left->len > 0 && ftruncate(g->fd, 0) != 0) {
		/* Emptying a file frees blocks and does not fail for want of
		 * room; should it fail, the marks are counted once more at the
		 * next start-up. */
	}
	g_array_set_size(g->left, 0);
	g_mutex_unlock(&g->lock);
}

void crashguard_set_crashes(struct crashguard *g, const char *fingerprint, unsigned count, gint64 last)
{
	struct crashes *c = g_new(struct crashes, 1);
	c->count = count;
	c->last = last;
	g_mutex_lock(&g->lock);
	g_hash_table_replace(g->crashes, g_strdup(fingerprint), c);
	g_mutex_unlock(&g->lock);
}

void crashguard_reset_crashes(struct crashguard *g)
{
	g_mutex_lock(&g->lock);
	g_hash_table_remove_all(g->crashes);
	g_mutex_unlock(&g->lock);
}

unsigned crashguard_crashes(struct crashguard *g, const char *fingerprint, gint64 since)
{
	g_mutex_lock(&g->lock);
	const struct crashes *c = g_hash_table_lookup(g->crashes, fingerprint);
	unsigned count = c != NULL && c->last >= since ? c->count : 0;
	g_mutex_unlock(&g->lock);
	return count;
}
