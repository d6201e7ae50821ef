/*
 * budget.c - the memory budget shared by all connections (budget.h), and
 * the return of freed memory to the system (glibc's malloc_trim).
 */
#include <malloc.h>
#include <stdatomic.h>

#include <glib.h>

#include "budget.h"

/* Blocks from this size on are mapped on their own (budget_malloc_setup):
 * above the buffers kept for reuse (a thread's last message buffer, 1 MB;
 * a loop's last input buffer, 256 KB), so the usual message costs no
 * mapping, and below a partial packet of the protocol maximum (4 MB). */
#define MMAP_FROM (1024 * 1024)

struct budget {
	size_t limit;
	atomic_size_t used;
	atomic_size_t freed; /* large buffers freed since the last trim */
};

struct budget *budget_new(size_t limit)
{
	struct budget *b = g_new0(struct budget, 1);
	b->limit = limit;
	atomic_init(&b->used, 0);
	atomic_init(&b->freed, 0);
	return b;
}

void budget_free(struct budget *b)
{
	g_free(b);
}

bool budget_take(struct budget *b, size_t n)
{
	size_t used = atomic_load(&b->used);
	do {
		if (n > b->limit || used > b->limit - n)
			return false;
	} while (!atomic_compare_exchange_weak(&b->used, &used, used + n));
	return true;
}

void budget_give(struct budget *b, size_t n)
{
	size_t was = atomic_fetch_sub(&b->used, n);
	g_assert(was >= n); /* a bug: more given back than taken */
}

size_t budget_used(const struct budget *b)
{
	return atomic_load(&b->used);
}

size_t budget_limit(const struct budget *b)
{
	return b->limit;
}

void budget_freed(struct budget *b, size_t n)
{
	size_t was = atomic_fetch_add(&b->freed, n);
	if (was < BUDGET_TRIM_EVERY && was + n >= BUDGET_TRIM_EVERY) {
		atomic_store(&b->freed, 0);
		malloc_trim(0);
	}
}

void budget_malloc_setup(void)
{
	mallopt(M_MMAP_THRESHOLD, MMAP_FROM);
}
