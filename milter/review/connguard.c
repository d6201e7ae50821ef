/*
 * connguard.c - see connguard.h.  Open connections wait in one queue,
 * oldest first; counts per address sit in a hash table.  Connections shut
 * down to make room no longer count, though they stay queued until their
 * owner closes them.  Making room scans the queue from its oldest end:
 * linear, but only past a limit, and the queue is as long as the limit.
 */
#include <glib.h>
#include <sys/socket.h>

#include "connguard.h"

struct connguard_slot {
	int fd;
	char *address;
	bool busy;    /* a request is in progress */
	bool evicted; /* shut down to make room: no longer counted */
	GList *link;  /* in open, oldest first */
};

struct connguard {
	GMutex lock;
	GQueue open;           /* struct connguard_slot, oldest first */
	GHashTable *addresses; /* address -> counted connections from it (GUINT_TO_POINTER) */
	unsigned counted;      /* open and not evicted */
	unsigned limit, per_address;
	unsigned long evicted;
};

struct connguard *connguard_new(unsigned limit, unsigned per_address)
{
	struct connguard *g = g_new0(struct connguard, 1);
	g_mutex_init(&g->lock);
	g_queue_init(&g->open);
	g->addresses = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g->limit = limit;
	g->per_address = per_address;
	return g;
}

void connguard_free(struct connguard *g)
{
	if (g == NULL)
		return;
	g_assert(g_queue_is_empty(&g->open));
	g_hash_table_unref(g->addresses);
	g_mutex_clear(&g->lock);
	g_free(g);
}

static unsigned from_address(struct connguard *g, const char *address)
{
	return GPOINTER_TO_UINT(g_hash_table_lookup(g->addresses, address));
}

/* Add DELTA to the count of ADDRESS and to the total. */
static void count(struct connguard *g, const char *address, int delta)
{
	unsigned n = from_address(g, address) + (unsigned)delta;
	if (n == 0)
		g_hash_table_remove(g->addresses, address);
	else
		g_hash_table_replace(g->addresses, g_strdup(address), GUINT_TO_POINTER(n));
	g->counted += (unsigned)delta;
}

/* The oldest counted connection without a request in progress, from
 * ADDRESS when not NULL. */
static struct connguard_slot *oldest_idle(struct connguard *g, const char *address)
{
	for (GList *l = g->open.head; l != NULL; l = l->next) {
		struct connguard_slot *s = l->data;
		if (!s->busy && !s->evicted && (address == NULL || g_str_equal(s->address, address)))
			return s;
	}
	return NULL;
}

static void evict(struct connguard *g, struct connguard_slot *s)
{
	s->evicted = true;
	count(g, s->address, -1);
	g->evicted++;
	shutdown(s->fd, SHUT_RDWR);
}

struct connguard_slot *connguard_open(struct connguard *g, int fd, const char *address)
{
	struct connguard_slot *s = g_new0(struct connguard_slot, 1);
	s->fd = fd;
	s->address = g_strdup(address);
	g_mutex_lock(&g->lock);
	g_queue_push_tail(&g->open, s);
	s->link = g->open.tail;
	count(g, address, +1);
	if (from_address(g, address) > g->per_address)
		evict(g, oldest_idle(g, address)); /* at worst S itself: it is idle */
	else if (g->counted > g->limit)
		evict(g, oldest_idle(g, NULL));
	g_mutex_unlock(&g->lock);
	return s;
}

void connguard_busy(struct connguard *g, struct connguard_slot *s, bool busy)
{
	g_mutex_lock(&g->lock);
	s->busy = busy;
	g_mutex_unlock(&g->lock);
}

void connguard_close(struct connguard *g, struct connguard_slot *s)
{
	g_mutex_lock(&g->lock);
	g_queue_delete_link(&g->open, s->link);
	if (!s->evicted)
		count(g, s->address, -1);
	g_mutex_unlock(&g->lock);
	g_free(s->address);
	g_free(s);
}

unsigned long connguard_evicted(struct connguard *g)
{
	g_mutex_lock(&g->lock);
	unsigned long n = g->evicted;
	g_mutex_unlock(&g->lock);
	return n;
}
