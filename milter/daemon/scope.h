/*
 * scope.h - which mail the daemon judges.  A message is outgoing when its
 * {daemon_name} is in the configured set, when the client authenticated
 * (SMTP AUTH), or when the client address lies in a configured network;
 * otherwise it is inbound.  An outgoing message is checked only when at
 * least one recipient is outside the internal domains (the sender-pattern
 * test belongs to the policy: policy_applies_to_sender()).
 *
 * No I/O here: the milter glue hands in the macros and addresses.
 *
 * Ownership: scope_compile() fills a caller-provided struct scope that
 * copies what it needs from the config; scope_clear() frees it.
 */
#ifndef APOLOGY_SCOPE_H
#define APOLOGY_SCOPE_H

#include <glib.h>
#include <stdbool.h>
#include <sys/socket.h>

struct config;

struct network {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix; /* bits */
};

struct scope {
	GPtrArray *daemon_names; /* char * */
	bool authenticated;
	GArray *networks;            /* struct network */
	GPtrArray *internal_domains; /* char *, lower case */
};

/* Parse "192.0.2.0/24", "2001:db8::/32" or a bare address. */
bool network_parse(const char *text, struct network *out);
/* Does N contain address SA (IPv4-mapped IPv6 addresses count as IPv4)? */
bool network_contains(const struct network *n, const struct sockaddr *sa);

void scope_compile(struct scope *sc, const struct config *cfg);
void scope_clear(struct scope *sc);

/* DAEMON_NAME and AUTH_AUTHEN may be NULL; CLIENT may be NULL (unknown). */
bool scope_is_outgoing(const struct scope *sc, const char *daemon_name, const char *auth_authen,
                       const struct sockaddr *client);
/* Is the domain of address ADDR (or ADDR itself when it has no @) one of
 * the internal domains or below one? */
bool scope_is_internal(const struct scope *sc, const char *addr);

/* The domain part of ADDR ("<a@B.example>" -> "b.example"), lower case,
 * newly allocated; "" when there is none. */
char *address_domain(const char *addr);
/* ADDR without angle brackets, lower case, newly allocated. */
char *address_bare(const char *addr);

#endif
