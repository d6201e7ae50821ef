/*
 * budget.h - the daemon's memory budget (limits.memory-budget): one count,
 * shared by all connections and threads, of the bytes the daemon holds
 * because the MTA sent them and they are not done with yet: milter packets
 * not read whole (frontend_event.c) and messages buffered to be judged
 * (filter.c).  Whoever would hold more bytes takes them from the budget
 * first and gives them back when it lets them go; when the budget has no
 * room the data is refused and the message deferred (tempfail: the MTA
 * keeps it and tries again), so memory stays bounded however many
 * connections send however much at once.
 *
 * It also gives memory back to the system: glibc keeps freed memory for
 * the next allocation, and after a burst of large messages that can be
 * gigabytes no one uses.  budget_freed() counts the large buffers let go
 * of; every BUDGET_TRIM_EVERY bytes of them, malloc_trim() returns the free
 * pages of every arena.
 *
 * Thread-safe (atomics).  budget_new() returns a budget the caller frees
 * with budget_free().
 */
#ifndef APOLOGY_BUDGET_H
#define APOLOGY_BUDGET_H

#include <stdbool.h>
#include <stddef.h>

/* Large buffers freed between two returns of memory to the system. */
#define BUDGET_TRIM_EVERY (4u << 20)

struct budget;

/* A budget of LIMIT bytes. */
struct budget *budget_new(size_t limit);
void budget_free(struct budget *b);

/* Take N bytes; false, and nothing taken, when that would pass the limit. */
bool budget_take(struct budget *b, size_t n);
/* Give back N bytes taken before. */
void budget_give(struct budget *b, size_t n);
/* Bytes taken now, and the limit. */
size_t budget_used(const struct budget *b);
size_t budget_limit(const struct budget *b);

/* N bytes of large buffers were freed: return free memory to the system
 * once BUDGET_TRIM_EVERY bytes have been since it was last done. */
void budget_freed(struct budget *b, size_t n);

/* Have allocations of large buffers always mapped on their own, so that
 * freeing one returns it to the system at once (glibc otherwise raises its
 * mmap threshold to the largest block freed, and keeps later ones in the
 * heap).  Once, before threads start. */
void budget_malloc_setup(void);

#endif
