/*
 * test_milterproto.c - the milter protocol codec: packets cut from a byte
 * stream however it is split, commands decoded with their bounds checked,
 * replies encoded byte for byte as libmilter sends them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>
#include <string.h>

#include "milterproto.h"

/* A packet CMD with DATA[0..LEN), as an MTA sends it. */
static GByteArray *packet(char cmd, const void *data, size_t len)
{
	GByteArray *b = g_byte_array_new();
	mp_put(b, cmd, data, len);
	return b;
}

static void test_cut_whole_and_partial(void **state)
{
	(void)state;
	GByteArray *b = packet('L', "Subject\0Hello\0", 14);
	g_byte_array_append(b, (const guint8 *)"\0\0\0\1N", 5); /* EOH */
	struct mp_packet p;
	/* Every prefix short of the first packet asks for more. */
	for (size_t n = 0; n < 4 + 1 + 14; n++)
		assert_int_equal(mp_cut(b->data, n, &p), MP_NEED_MORE);
	assert_int_equal(mp_cut(b->data, b->len, &p), MP_PACKET);
	assert_int_equal(p.cmd, 'L');
	assert_int_equal(p.len, 14);
	assert_int_equal(p.used, 19);
	const char *s[3];
	assert_int_equal(mp_strings(p.data, p.len, s, 3), 2);
	assert_string_equal(s[0], "Subject");
	assert_string_equal(s[1], "Hello");
	assert_int_equal(mp_cut(b->data + p.used, b->len - p.used, &p), MP_PACKET);
	assert_int_equal(p.cmd, 'N');
	assert_int_equal(p.len, 0);
	g_byte_array_unref(b);
}

static void test_cut_bad_lengths(void **state)
{
	(void)state;
	struct mp_packet p;
	const unsigned char zero[] = {0, 0, 0, 0, 'A'};
	assert_int_equal(mp_cut(zero, sizeof zero, &p), MP_BAD);
	const unsigned char huge[] = {0x7f, 0xff, 0xff, 0xff, 'B'};
	assert_int_equal(mp_cut(huge, sizeof huge, &p), MP_BAD);
	/* The largest allowed packet is only waited for. */
	uint32_t n = MP_MAX_PACKET;
	const unsigned char max[] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
	                             (unsigned char)(n >> 8), (unsigned char)n, 'B'};
	assert_int_equal(mp_cut(max, sizeof max, &p), MP_NEED_MORE);
}

/* What a packet not whole yet will take, known from its first five bytes:
 * the front end asks the memory budget for it before buffering it. */
static void test_head_of_a_partial_packet(void **state)
{
	(void)state;
	char cmd = 0;
	size_t size = 0;
	const unsigned char body[] = {0x00, 0x01, 0x00, 0x00, 'B', 'x'};
	for (size_t n = 0; n < 5; n++)
		assert_false(mp_head(body, n, &cmd, &size));
	assert_true(mp_head(body, sizeof body, &cmd, &size));
	assert_int_equal(cmd, 'B');
	assert_int_equal(size, 0x10000 + 4);
	const unsigned char huge[] = {0x7f, 0xff, 0xff, 0xff, 'B'};
	assert_false(mp_head(huge, sizeof huge, &cmd, &size));
	const unsigned char zero[] = {0, 0, 0, 0, 'B'};
	assert_false(mp_head(zero, sizeof zero, &cmd, &size));
}

static void test_strings_need_terminator(void **state)
{
	(void)state;
	const char *s[2];
	assert_int_equal(mp_strings((const unsigned char *)"abc", 3, s, 2), -1);
	assert_int_equal(mp_strings((const unsigned char *)"", 0, s, 2), -1);
	assert_int_equal(mp_strings((const unsigned char *)"<a@b>\0SIZE=10\0", 14, s, 1), 1);
	assert_string_equal(s[0], "<a@b>");
}

static void test_optneg(void **state)
{
	(void)state;
	const unsigned char in[] = {0, 0, 0, 6, 0, 0, 0x01, 0xff, 0, 0x1f, 0xff, 0xff};
	struct mp_optneg o;
	assert_true(mp_parse_optneg(in, sizeof in, &o));
	assert_int_equal(o.version, 6);
	assert_int_equal(o.actions, 0x1ff);
	assert_int_equal(o.protocol, 0x1fffff);
	assert_false(mp_parse_optneg(in, 11, &o));

	/* The reply: version, actions, protocol, then each macro list. */
	const char *lists[7] = {[0] = "{daemon_name}", [5] = "i"};
	struct mp_optneg ours = {6, 0x21, 0x1000};
	GByteArray *b = g_byte_array_new();
	mp_put_optneg(b, &ours, lists);
	const unsigned char want[] = {
	    0, 0, 0, 37, 'O',                                    /* length, command */
	    0, 0, 0, 6,  0,   0,   0,   0x21, 0,   0,   0x10, 0, /* version, actions, steps */
	    0, 0, 0, 0,  '{', 'd', 'a', 'e',  'm', 'o', 'n',  '_', 'n', 'a', 'm', 'e', '}', 0, /* connect */
	    0, 0, 0, 5,  'i', 0, /* end of message */
	};
	assert_int_equal(b->len, sizeof want);
	assert_memory_equal(b->data, want, sizeof want);
	g_byte_array_unref(b);
}

static void test_connect(void **state)
{
	(void)state;
	struct mp_connect c;
	const unsigned char v4[] = "mx.client.example\0"
	                           "4\x00\x19"
	                           "192.0.2.7";
	assert_true(mp_parse_connect(v4, sizeof v4, &c));
	assert_string_equal(c.host, "mx.client.example");
	assert_int_equal(c.family, '4');
	assert_int_equal(c.port, 25);
	assert_string_equal(c.addr, "192.0.2.7");
	const unsigned char unknown[] = "localhost\0U";
	assert_true(mp_parse_connect(unknown, sizeof unknown - 1, &c));
	assert_int_equal(c.family, 'U');
	assert_null(c.addr);
	/* Cut short, unterminated or of an unknown family: refused. */
	assert_false(mp_parse_connect(v4, 19, &c));
	assert_false(mp_parse_connect(v4, sizeof v4 - 1, &c));
	const unsigned char odd[] = "h\0"
	                            "X\x00\x19"
	                            "1.2.3.4";
	assert_false(mp_parse_connect(odd, sizeof odd, &c));
	assert_false(mp_parse_connect((const unsigned char *)"nohost", 6, &c));
}

struct seen {
	GString *text;
};

static void collect(void *arg, const char *name, const char *value)
{
	struct seen *s = arg;
	g_string_append_printf(s->text, "%s=%s;", name, value);
}

static void test_macros(void **state)
{
	(void)state;
	struct seen s = {g_string_new(NULL)};
	char stage = 0;
	const unsigned char in[] = "M{auth_authen}\0sam\0i\0ABC123\0{daemon_name}\0ORIGINATING";
	assert_true(mp_parse_macros(in, sizeof in, &stage, collect, &s));
	assert_int_equal(stage, 'M');
	assert_string_equal(s.text->str, "auth_authen=sam;i=ABC123;daemon_name=ORIGINATING;");
	/* A name without its value, or no terminator: refused. */
	g_string_truncate(s.text, 0);
	const unsigned char half[] = "C{daemon_name}";
	assert_false(mp_parse_macros(half, sizeof half, &stage, collect, &s));
	assert_false(mp_parse_macros(in, sizeof in - 1, &stage, collect, &s));
	assert_false(mp_parse_macros(in, 0, &stage, collect, &s));
	/* Only the stage: no macros. */
	assert_true(mp_parse_macros((const unsigned char *)"T", 1, &stage, collect, &s));
	assert_int_equal(stage, 'T');
	g_string_free(s.text, TRUE);
}

static void test_header_replies(void **state)
{
	(void)state;
	GByteArray *b = g_byte_array_new();
	mp_put_header(b, -1, "X-A", " v");
	const unsigned char add[] = {0, 0, 0, 8, 'h', 'X', '-', 'A', 0, ' ', 'v', 0};
	assert_int_equal(b->len, sizeof add);
	assert_memory_equal(b->data, add, sizeof add);
	g_byte_array_set_size(b, 0);
	mp_put_header(b, 2, "X-A", "");
	const unsigned char del[] = {0, 0, 0, 10, 'm', 0, 0, 0, 2, 'X', '-', 'A', 0, 0};
	assert_int_equal(b->len, sizeof del);
	assert_memory_equal(b->data, del, sizeof del);
	g_byte_array_set_size(b, 0);
	mp_put_string(b, 'y', "550 5.7.1 no");
	assert_int_equal(b->len, 4 + 1 + 13);
	assert_int_equal(b->data[4], 'y');
	assert_int_equal(b->data[b->len - 1], 0);
	g_byte_array_unref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cut_whole_and_partial),
	    cmocka_unit_test(test_cut_bad_lengths),
	    cmocka_unit_test(test_head_of_a_partial_packet),
	    cmocka_unit_test(test_strings_need_terminator),
	    cmocka_unit_test(test_optneg),
	    cmocka_unit_test(test_connect),
	    cmocka_unit_test(test_macros),
	    cmocka_unit_test(test_header_replies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
