/*
 * test_mimecount.c - the count of MIME parts made from lines alone
 * (mime_count in message.h): which lines open a part, which declare a
 * boundary, the same count whatever the pieces the message comes in, and
 * agreement with the walk of the parsed message at the max-parts cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "message.h"

static unsigned count(const char *raw)
{
	struct mime_count mc;
	mime_count_init(&mc);
	mime_count_feed(&mc, raw, strlen(raw));
	unsigned n = mc.parts;
	mime_count_clear(&mc);
	return n;
}

struct count_case {
	const char *name;
	const char *raw;
	unsigned parts;
};

static const struct count_case cases[] = {
    {"plain text: the message alone, dashes and signature are no parts",
     "Content-Type: text/plain\n\nHello\n-- \nSam\n----------\n--b\n", 1},
    {"three parts; the closing line opens none",
     "Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\n\none\n--b\n\ntwo\n--b\n\nthree\n--b--\n", 4},
    {"CRLF lines and spaces after the boundary",
     "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b \r\n\r\none\r\n--b\t\r\n\r\ntwo\r\n--b--\r\n", 3},
    {"a folded header, BOUNDARY in capitals, spaces around =",
     "Content-Type: multipart/mixed;\n\tBOUNDARY = \"=_x y\"\n\n--=_x y\n\none\n--=_x y--\n", 2},
    {"lines that only begin like the boundary open nothing",
     "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--bb\n--b-x\n-- b\n--b--x\n", 2},
    {"a delimiter before its boundary is declared is not counted",
     "--b\n\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\n", 2},
    {"nested multiparts, each its own boundary",
     "Content-Type: multipart/mixed; boundary=out\n\n--out\nContent-Type: multipart/alternative; "
     "boundary=in\n\n--in\n\nplain\n--in\n\nhtml\n--in--\n--out\n\nfile\n--out--\n",
     5},
    {"xboundary= is another parameter", "Content-Type: multipart/mixed; xboundary=b\n\n--b\n\n--b\n", 1},
    {"quoted-printable = signs are no declarations",
     "Content-Transfer-Encoding: quoted-printable\n\na=3D=\nb=20\n", 1},
    {"a line without its end yet is not read", "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--b", 2},
};

static void test_count_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		unsigned got = count(cases[i].raw);
		if (got != cases[i].parts)
			fail_msg("%s: %u parts, expected %u", cases[i].name, got, cases[i].parts);
	}
}

/* Fed as the milter receives it, in pieces cut anywhere, the count is the
 * count of the whole. */
static void test_pieces_make_the_whole(void **state)
{
	(void)state;
	const char *raw = cases[6].raw;
	size_t len = strlen(raw);
	for (size_t cut = 0; cut <= len; cut++) {
		struct mime_count mc;
		mime_count_init(&mc);
		mime_count_feed(&mc, raw, cut);
		mime_count_feed(&mc, raw, cut); /* nothing new: nothing counted twice */
		mime_count_feed(&mc, raw, len);
		assert_int_equal(mc.parts, cases[6].parts);
		mime_count_clear(&mc);
	}
}

/* Past MIME_COUNT_BOUNDARIES boundaries each new declaration is a part, so
 * that declaring many boundaries does not hide the parts of the last one. */
static void test_declarations_past_the_table(void **state)
{
	(void)state;
	GString *raw = g_string_new(NULL);
	for (int i = 0; i < MIME_COUNT_BOUNDARIES + 10; i++)
		g_string_append_printf(raw, "Content-Type: multipart/mixed; boundary=\"b%d\"\n", i);
	g_string_append(raw, "Content-Type: multipart/mixed; boundary=\"b0\"\n"); /* known: no part */
	g_string_append(raw, "\n--b0\n\n--b0--\n");
	assert_int_equal(count(raw->str), 1 + 10 + 1);
	g_string_free(raw, TRUE);
}

static GString *many_parts(unsigned children)
{
	GString *raw = g_string_new("From: sam@acme.example\nSubject: parts\nMIME-Version: 1.0\n"
	                            "Content-Type: multipart/mixed; boundary=\"b\"\n\n"
	                            "--b\nContent-Type: text/plain\n\nsorry\n");
	for (unsigned i = 1; i < children; i++)
		g_string_append(raw, "--b\n\n");
	g_string_append(raw, "--b--\n");
	return raw;
}

/* At the cap the count and the walk of the parsed message agree: 199
 * parts and the multipart pass a max-parts of 200, one more does not. */
static void test_agrees_with_the_walk(void **state)
{
	(void)state;
	struct limits lim;
	limits_default(&lim);
	for (unsigned children = lim.max_parts - 1; children <= lim.max_parts; children++) {
		GString *raw = many_parts(children);
		struct mime_count mc;
		mime_count_init(&mc);
		mime_count_feed(&mc, raw->str, raw->len);
		struct message m;
		message_parse(raw->str, raw->len, &lim, &m);
		const char *counted = mime_count_over(&mc, &lim);
		if (children < lim.max_parts) {
			assert_null(counted);
			assert_null(m.unchecked);
		} else {
			assert_string_equal(counted, MESSAGE_TOO_MANY_PARTS);
			assert_string_equal(m.unchecked, MESSAGE_TOO_MANY_PARTS);
		}
		message_clear(&m);
		mime_count_clear(&mc);
		g_string_free(raw, TRUE);
	}
}

/* The message of issue 12: 873,000 empty parts, counted without GMime. */
static void test_a_million_parts(void **state)
{
	(void)state;
	GString *raw = many_parts(873000);
	struct mime_count mc;
	mime_count_init(&mc);
	for (size_t off = 0; off < raw->len; off += 65535)
		mime_count_feed(&mc, raw->str, MIN(raw->len, off + 65535));
	assert_int_equal(mc.parts, 873001);
	struct limits lim;
	limits_default(&lim);
	assert_string_equal(mime_count_over(&mc, &lim), "too many MIME parts");
	mime_count_clear(&mc);
	g_string_free(raw, TRUE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_count_cases),
	    cmocka_unit_test(test_pieces_make_the_whole),
	    cmocka_unit_test(test_declarations_past_the_table),
	    cmocka_unit_test(test_agrees_with_the_walk),
	    cmocka_unit_test(test_a_million_parts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
