/*
 * fuzz_milterproto.c - libFuzzer target: the milter protocol codec on an
 * arbitrary byte stream, as the event loop reads it from an MTA.  Every
 * packet is decoded the way the front end would decode its command; any
 * crash or sanitizer report is a bug.  Run with `make fuzz`.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "milterproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ignore(void *arg, const char *name, const char *value)
{
	size_t *n = arg;
	*n += strlen(name) + strlen(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0, seen = 0;
	struct mp_packet p;
	while (mp_cut(data + off, size - off, &p) == MP_PACKET) {
		const char *argv[2];
		struct mp_optneg o;
		struct mp_connect c;
		char stage;
		switch (p.cmd) {
		case 'O':
			if (mp_parse_optneg(p.data, p.len, &o)) {
				GByteArray *out = g_byte_array_new();
				mp_put_optneg(out, &o, NULL);
				g_byte_array_unref(out);
			}
			break;
		case 'C':
			if (mp_parse_connect(p.data, p.len, &c))
				seen += strlen(c.host) + (c.addr ? strlen(c.addr) : 0);
			break;
		case 'D': mp_parse_macros(p.data, p.len, &stage, ignore, &seen); break;
		default:
			for (int n = mp_strings(p.data, p.len, argv, 2), i = 0; i < n; i++)
				seen += strlen(argv[i]);
			break;
		}
		off += p.used;
	}
	return seen == (size_t)-1; /* keeps SEEN alive */
}
