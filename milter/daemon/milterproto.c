/*
 * milterproto.c - encoding and decoding of milter protocol packets (see
 * milterproto.h).  Everything here is bounds-checked against the packet
 * length: the bytes come from a local MTA, but a broken or hostile peer
 * must at worst get its connection closed.
 */
#include "milterproto.h"

#include <arpa/inet.h>
#include <string.h>

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void put32(GByteArray *out, uint32_t v)
{
	const unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
	                            (unsigned char)(v >> 8), (unsigned char)v};
	g_byte_array_append(out, b, 4);
}

enum mp_cut mp_cut(const unsigned char *buf, size_t len, struct mp_packet *p)
{
	if (len < 4)
		return MP_NEED_MORE;
	uint32_t n = get32(buf);
	if (n == 0 || n > MP_MAX_PACKET)
		return MP_BAD;
	if (len - 4 < n)
		return MP_NEED_MORE;
	p->cmd = (char)buf[4];
	p->data = buf + 5;
	p->len = n - 1;
	p->used = (size_t)n + 4;
	return MP_PACKET;
}

bool mp_head(const unsigned char *buf, size_t len, char *cmd, size_t *size)
{
	if (len < 5)
		return false;
	uint32_t n = get32(buf);
	if (n == 0 || n > MP_MAX_PACKET)
		return false;
	*cmd = (char)buf[4];
	*size = (size_t)n + 4;
	return true;
}

int mp_strings(const unsigned char *data, size_t len, const char **out, int max)
{
	if (len == 0 || data[len - 1] != '\0')
		return -1;
	int n = 0;
	for (size_t i = 0; i < len && n < max; n++) {
		out[n] = (const char *)data + i;
		i += strlen(out[n]) + 1;
	}
	return n;
}

bool mp_parse_optneg(const unsigned char *data, size_t len, struct mp_optneg *o)
{
	if (len < 12)
		return false;
	o->version = get32(data);
	o->actions = get32(data + 4);
	o->protocol = get32(data + 8);
	return true;
}

bool mp_parse_connect(const unsigned char *data, size_t len, struct mp_connect *c)
{
	const unsigned char *nul = len ? memchr(data, '\0', len) : NULL;
	if (nul == NULL || (size_t)(nul - data) + 2 > len)
		return false;
	c->host = (const char *)data;
	size_t i = (size_t)(nul - data) + 1;
	c->family = (char)data[i++];
	c->port = 0;
	c->addr = NULL;
	if (c->family == 'U')
		return true;
	if (c->family != '4' && c->family != '6' && c->family != 'L')
		return false;
	if (len - i < 3 || data[len - 1] != '\0')
		return false;
	c->port = (unsigned)data[i] << 8 | data[i + 1];
	c->addr = (const char *)data + i + 2;
	return true;
}

bool mp_parse_macros(const unsigned char *data, size_t len, char *stage,
                     void (*each)(void *arg, const char *name, const char *value), void *arg)
{
	if (len < 1)
		return false;
	*stage = (char)data[0];
	if (len == 1)
		return true;
	data++;
	len--;
	if (data[len - 1] != '\0')
		return false;
	size_t i = 0;
	while (i < len) {
		const char *name = (const char *)data + i;
		i += strlen(name) + 1;
		if (i >= len)
			return false; /* a name without a value */
		const char *value = (const char *)data + i;
		i += strlen(value) + 1;
		size_t n = strlen(name);
		if (n >= 2 && name[0] == '{' && name[n - 1] == '}') {
			char *bare = g_strndup(name + 1, n - 2);
			each(arg, bare, value);
			g_free(bare);
		} else {
			each(arg, name, value);
		}
	}
	return true;
}

void mp_put(GByteArray *out, char cmd, const void *data, size_t len)
{
	put32(out, (uint32_t)len + 1);
	g_byte_array_append(out, (const guint8 *)&cmd, 1);
	if (len)
		g_byte_array_append(out, data, (guint)len);
}

void mp_put_string(GByteArray *out, char cmd, const char *s)
{
	mp_put(out, cmd, s, strlen(s) + 1);
}

void mp_put_header(GByteArray *out, int index, const char *name, const char *value)
{
	size_t nl = strlen(name) + 1, vl = strlen(value) + 1;
	put32(out, (uint32_t)((index >= 0 ? 4 : 0) + nl + vl + 1));
	const char cmd = index >= 0 ? 'm' : 'h';
	g_byte_array_append(out, (const guint8 *)&cmd, 1);
	if (index >= 0)
		put32(out, (uint32_t)index);
	g_byte_array_append(out, (const guint8 *)name, (guint)nl);
	g_byte_array_append(out, (const guint8 *)value, (guint)vl);
}

void mp_put_optneg(GByteArray *out, const struct mp_optneg *o, const char *const symlists[7])
{
	size_t len = 12;
	for (int i = 0; symlists && i < 7; i++)
		if (symlists[i])
			len += 4 + strlen(symlists[i]) + 1;
	put32(out, (uint32_t)len + 1);
	const char cmd = 'O';
	g_byte_array_append(out, (const guint8 *)&cmd, 1);
	put32(out, o->version);
	put32(out, o->actions);
	put32(out, o->protocol);
	for (int i = 0; symlists && i < 7; i++) {
		if (symlists[i] == NULL)
			continue;
		put32(out, (uint32_t)i);
		g_byte_array_append(out, (const guint8 *)symlists[i], (guint)strlen(symlists[i]) + 1);
	}
}
