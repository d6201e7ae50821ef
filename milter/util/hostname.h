/*
 * hostname.h - the name of this mail host, one rule for every program: a
 * configured name ("host-name" of the daemon's configuration and of
 * review.yaml, the store handle's store_set_host()) checked the same way,
 * and, when none is configured, the system's.  Several mail hosts share
 * one PostgreSQL store by these names (docs/postgresql.md).  Pure but for
 * g_get_host_name().
 */
#ifndef APOLOGY_HOSTNAME_H
#define APOLOGY_HOSTNAME_H

#include <glib.h>

/* NULL when NAME may be a host name (letters, digits, '-', '.', '_', at
 * most 253 characters; "" means none configured), else why not (caller
 * frees). */
char *hostname_check(const char *name);
/* CONFIGURED (NULL or "": none), else the system's host name; the string is
 * CONFIGURED itself or GLib's, never the caller's to free. */
const char *hostname_or_system(const char *configured);

#endif
