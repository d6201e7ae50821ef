/*
 * connguard.h - how many connections apology-review keeps open, in all and
 * per client address, whatever clients do.
 *
 * A client that sends half a request and stalls, or trickles a byte now and
 * then, costs the server a connection but no thread (libmicrohttpd's worker
 * threads poll many connections each); what it can exhaust is the number
 * of connections.  So the guard is told of every connection opened and
 * closed, and of every request in progress; when a new connection takes
 * its address past PER_ADDRESS, or the server past LIMIT, it makes room by
 * shutting down the oldest connection that has no request in progress
 * (half-sent, or idle between requests), of that address first.  When
 * every one is busy it shuts the new one down instead.  A connection that
 * has sent a whole request is never closed to make room for another.
 *
 * A shut-down socket reads as closed by the client: its owner (libmicrohttpd)
 * notices and closes it, then tells the guard through connguard_close().
 * The guard never closes a descriptor itself, and shuts one down only while
 * the connection is registered, so never a reused descriptor.
 *
 * Thread-safe.  Ownership: the guard owns its slots; a slot stays valid
 * until connguard_close() on it.
 */
#ifndef APOLOGY_CONNGUARD_H
#define APOLOGY_CONNGUARD_H

#include <stdbool.h>

struct connguard;
struct connguard_slot;

struct connguard *connguard_new(unsigned limit, unsigned per_address);
/* After every slot was closed. */
void connguard_free(struct connguard *g);
/* Register the connection on socket FD from ADDRESS (any text naming the
 * client), making room for it; returns its slot. */
struct connguard_slot *connguard_open(struct connguard *g, int fd, const char *address);
/* Whether a request is in progress on S (then it is not shut down to make
 * room). */
void connguard_busy(struct connguard *g, struct connguard_slot *s, bool busy);
/* Forget S, before its descriptor is closed. */
void connguard_close(struct connguard *g, struct connguard_slot *s);
/* Connections shut down to make room so far. */
unsigned long connguard_evicted(struct connguard *g);

#endif
