/*
 * scope.c - outgoing or inbound, client or colleague (see scope.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "config.h"
#include "scope.h"

bool network_parse(const char *text, struct network *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	if (alen == 0 || alen >= sizeof buf)
		return false;
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	memset(out, 0, sizeof *out);

	unsigned max;
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return false;
	}
	out->prefix = max;
	if (slash != NULL) {
		char *end;
		const char *p = slash + 1;
		if (*p < '0' || *p > '9')
			return false;
		unsigned long bits = strtoul(p, &end, 10);
		if (*end != '\0' || bits > max)
			return false;
		out->prefix = (unsigned)bits;
	}
	return true;
}

static bool prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;
	if (memcmp(a, b, bytes) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

bool network_contains(const struct network *n, const struct sockaddr *sa)
{
	const unsigned char *addr;
	int family;
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		addr = (const unsigned char *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		family = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		addr = a6->s6_addr;
		family = AF_INET6;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			addr += 12;
			family = AF_INET;
		}
	} else {
		return false;
	}
	return family == n->family && prefix_equal(addr, n->addr, n->prefix);
}

static GPtrArray *lower_copy(const GPtrArray *in)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; in != NULL && i < in->len; i++)
		g_ptr_array_add(out, g_ascii_strdown(in->pdata[i], -1));
	return out;
}

void scope_compile(struct scope *sc, const struct config *cfg)
{
	sc->daemon_names = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < cfg->daemon_names->len; i++)
		g_ptr_array_add(sc->daemon_names, g_strdup(cfg->daemon_names->pdata[i]));
	sc->authenticated = cfg->authenticated;
	sc->networks = g_array_new(FALSE, TRUE, sizeof(struct network));
	for (guint i = 0; i < cfg->client_networks->len; i++) {
		struct network n;
		if (network_parse(cfg->client_networks->pdata[i], &n))
			g_array_append_val(sc->networks, n);
	}
	sc->internal_domains = lower_copy(cfg->internal_domains);
}

void scope_clear(struct scope *sc)
{
	if (sc->daemon_names)
		g_ptr_array_free(sc->daemon_names, TRUE);
	if (sc->networks)
		g_array_free(sc->networks, TRUE);
	if (sc->internal_domains)
		g_ptr_array_free(sc->internal_domains, TRUE);
	memset(sc, 0, sizeof *sc);
}

bool scope_is_outgoing(const struct scope *sc, const char *daemon_name, const char *auth_authen,
                       const struct sockaddr *client)
{
	if (daemon_name != NULL)
		for (guint i = 0; i < sc->daemon_names->len; i++)
			if (strcmp(daemon_name, sc->daemon_names->pdata[i]) == 0)
				return true;
	if (sc->authenticated && auth_authen != NULL && *auth_authen != '\0')
		return true;
	for (guint i = 0; i < sc->networks->len; i++)
		if (network_contains(&g_array_index(sc->networks, struct network, i), client))
			return true;
	return false;
}

bool scope_is_internal(const struct scope *sc, const char *addr)
{
	char *dom = strchr(addr, '@') ? address_domain(addr) : g_ascii_strdown(addr, -1);
	bool internal = false;
	size_t dlen = strlen(dom);
	for (guint i = 0; !internal && i < sc->internal_domains->len; i++) {
		const char *d = sc->internal_domains->pdata[i];
		size_t len = strlen(d);
		if (dlen == len)
			internal = strcmp(dom, d) == 0;
		else if (dlen > len)
			internal = dom[dlen - len - 1] == '.' && strcmp(dom + dlen - len, d) == 0;
	}
	g_free(dom);
	return internal;
}

char *address_bare(const char *addr)
{
	const char *start = addr, *end = addr + strlen(addr);
	while (*start == '<' || *start == ' ')
		start++;
	while (end > start && (end[-1] == '>' || end[-1] == ' '))
		end--;
	return g_ascii_strdown(start, end - start);
}

char *address_domain(const char *addr)
{
	char *bare = address_bare(addr);
	char *at = strrchr(bare, '@');
	char *dom = g_strdup(at ? at + 1 : "");
	g_free(bare);
	return dom;
}
