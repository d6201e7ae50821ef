/*
 * milterproto.h - the milter protocol (version 6, as Postfix and Sendmail
 * speak it) as pure functions: cut the MTA's byte stream into commands,
 * decode their arguments, and encode the filter's replies.  No I/O, no
 * state beyond the arguments: the event-driven front end (frontend_event.c)
 * owns the sockets, the unit tests feed bytes directly.
 *
 * On the wire every packet is a 4-byte length in network order, then one
 * command or reply character, then length - 1 bytes of data.  Strings in
 * the data are NUL-terminated.  The command, reply and flag values are
 * libmilter's (mfdef.h, mfapi.h), so both ends agree by construction.
 *
 * Ownership: decoded strings point into the caller's packet data and live
 * as long as it does; encoders append to a GByteArray the caller owns.
 */
#ifndef APOLOGY_MILTERPROTO_H
#define APOLOGY_MILTERPROTO_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest packet accepted.  Body chunks are at most 64 KB, but a single
 * header may be larger (Postfix's header_size_limit is 100 KB by default);
 * anything beyond this is a protocol error and the connection is closed (the
 * MTA then applies its default_action). */
#define MP_MAX_PACKET (4u << 20)

/* The protocol version this implementation speaks. */
#define MP_VERSION 6

enum mp_cut {
	MP_NEED_MORE, /* no whole packet yet */
	MP_PACKET,    /* one packet found */
	MP_BAD,       /* length 0 or above MP_MAX_PACKET */
};

/* One packet of BUF[0..LEN): *CMD, its data (pointing into BUF) and the
 * bytes it takes, including the length prefix. */
struct mp_packet {
	char cmd;
	const unsigned char *data;
	size_t len;
	size_t used;
};

enum mp_cut mp_cut(const unsigned char *buf, size_t len, struct mp_packet *p);

/* Of a packet not whole yet in BUF[0..LEN): its command *CMD and the bytes
 * *SIZE it will take, length prefix included.  False until its first five
 * bytes are there, or when mp_cut() finds its length bad. */
bool mp_head(const unsigned char *buf, size_t len, char *cmd, size_t *size);

/* Up to MAX NUL-terminated strings of DATA[0..LEN) into OUT; returns how
 * many, or -1 when LEN is 0 or the data does not end with NUL. */
int mp_strings(const unsigned char *data, size_t len, const char **out, int max);

/* SMFIC_OPTNEG: the MTA's protocol version, the actions it allows and the
 * protocol steps it can leave out.  False when shorter than 12 bytes. */
struct mp_optneg {
	uint32_t version, actions, protocol;
};
bool mp_parse_optneg(const unsigned char *data, size_t len, struct mp_optneg *o);

/* SMFIC_CONNECT: host name, family ('4', '6', 'L' unix, 'U' unknown), port
 * and address text (NULL for 'U').  False when malformed. */
struct mp_connect {
	const char *host;
	char family;
	unsigned port;
	const char *addr;
};
bool mp_parse_connect(const unsigned char *data, size_t len, struct mp_connect *c);

/* SMFIC_MACRO: the command the macros belong to, then name/value pairs.
 * Calls EACH for every pair with braces removed from the name ("{i}" and
 * "i" are the same macro); false when malformed. */
bool mp_parse_macros(const unsigned char *data, size_t len, char *stage,
                     void (*each)(void *arg, const char *name, const char *value), void *arg);

/* Append a packet CMD with DATA[0..LEN). */
void mp_put(GByteArray *out, char cmd, const void *data, size_t len);
/* Append a packet CMD whose data is the string S with its NUL. */
void mp_put_string(GByteArray *out, char cmd, const char *s);
/* SMFIR_ADDHEADER (INDEX < 0), or SMFIR_CHGHEADER with INDEX (an empty
 * VALUE deletes that header). */
void mp_put_header(GByteArray *out, int index, const char *name, const char *value);
/* The SMFIC_OPTNEG reply; SYMLISTS[stage] (SMFIM_*, 0..6) lists the macros
 * wanted at that stage, NULL for the MTA's default.  SYMLISTS may be NULL. */
void mp_put_optneg(GByteArray *out, const struct mp_optneg *o, const char *const symlists[7]);

#endif
