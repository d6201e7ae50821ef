/*
 * test_message.c - stage 1 on real-world MIME: charsets and encodings, HTML
 * bodies, attachments, forwarded parts, and the caps that make a message
 * "unchecked" (including GMime 3.2.13's multipart without a boundary).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "message.h"

static struct limits lim;

static void parse(const char *raw, struct message *m)
{
	message_parse(raw, strlen(raw), &lim, m);
}

static void test_rfc2047_and_latin1(void **state)
{
	(void)state;
	const char *raw = "From: =?UTF-8?Q?J=C3=BCrgen?= <J@Example.COM>\n"
	                  "To: a@client.example, b@Other.Example\n"
	                  "Subject: =?ISO-8859-1?Q?Men=FC_falsch?=\n"
	                  "Date: Tue, 03 Mar 2026 10:00:00 +0100\n"
	                  "MIME-Version: 1.0\n"
	                  "Content-Type: text/plain; charset=ISO-8859-1\n"
	                  "Content-Transfer-Encoding: quoted-printable\n\n"
	                  "Cr=E8me br=FBl=E9e\n";
	struct message m;
	parse(raw, &m);
	assert_null(m.unchecked);
	assert_string_equal(m.subject, "Men\xc3\xbc falsch");
	assert_string_equal(m.from, "j@example.com");
	assert_string_equal(m.from_name, "J\xc3\xbcrgen"); /* the display name, decoded */
	assert_int_equal(m.recipient_domains->len, 2);
	assert_string_equal(m.recipient_domains->pdata[1], "other.example");
	assert_int_equal(m.date, 1772528400);
	assert_non_null(strstr(m.body, "Cr\xc3\xa8me br\xc3\xbbl\xc3\xa9"
	                               "e"));
	message_clear(&m);
}

static void test_windows1252_quotes(void **state)
{
	(void)state;
	const char *raw = "From: a@b.example\nSubject: x\nMIME-Version: 1.0\n"
	                  "Content-Type: text/plain; charset=windows-1252\n"
	                  "Content-Transfer-Encoding: 8bit\n\nI\x92m sorry\n";
	struct message m;
	parse(raw, &m);
	assert_non_null(strstr(m.body, "I\xe2\x80\x99m sorry"));
	assert_string_equal(m.from_name, ""); /* a bare address has none */
	message_clear(&m);
}

struct body_case {
	const char *content_type, *body, *want; /* WANT: in the body as parsed */
};

/* Each case's body, 8-bit under its Content-Type, parses to text with WANT. */
static void expect_bodies(const struct body_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *raw = g_strdup_printf("From: a@b.example\nSubject: x\nMIME-Version: 1.0\n"
		                            "Content-Type: %s\nContent-Transfer-Encoding: 8bit\n\n%s",
		                            cases[i].content_type, cases[i].body);
		struct message m;
		parse(raw, &m);
		if (m.body == NULL || strstr(m.body, cases[i].want) == NULL)
			fail_msg("case %zu: %s", i, m.body);
		message_clear(&m);
		g_free(raw);
	}
}

/* Mail with no charset, or labelled ISO-8859-1 or ASCII, in 8-bit bytes is
 * read as Windows-1252 (what such mail is), not kept as bytes that become
 * U+FFFD or as invisible controls; undeclared text that is UTF-8 stays as
 * it is. */
static void test_undeclared_and_western_charsets(void **state)
{
	(void)state;
	static const struct body_case cases[] = {
	    {"text/plain", "That\x92s on us. Caf\xe9 order resent.\n",
	     "That\xe2\x80\x99s on us. Caf\xc3\xa9 order resent."},
	    {"text/plain; charset=ISO-8859-1", "That\x92s on us \x96 sorry.\n",
	     "That\xe2\x80\x99s on us \xe2\x80\x93 sorry."},
	    {"text/plain; charset=us-ascii",
	     "Caf\xe9 \x93"
	     "booked\x94\n",
	     "Caf\xc3\xa9 \xe2\x80\x9c"
	     "booked\xe2\x80\x9d"},
	    {"text/plain", "Entschuldigung f\xc3\xbcr die Verz\xc3\xb6gerung\n",
	     "Entschuldigung f\xc3\xbcr die Verz\xc3\xb6gerung"},
	    /* 0x81 is undefined in Windows-1252: read as ISO-8859-1 reads it */
	    {"text/plain", "Caf\xe9\x81 ok\n", "Caf\xc3\xa9\xc2\x81 ok"},
	    {"text/html", "<p>We\x92ll fix it.</p>\n", "We\xe2\x80\x99ll fix it."},
	    /* mixed: the UTF-8 kept, only the bytes that are no UTF-8 read so */
	    {"text/plain", "I\xe2\x80\x99m sorry, caf\xc3\xa9 \xa0 closed\n",
	     "I\xe2\x80\x99m sorry, caf\xc3\xa9 \xc2\xa0 closed"},
	    {"text/plain; charset=us-ascii", "we\xe2\x80\x99ll fix it\x85\n",
	     "we\xe2\x80\x99ll fix it\xe2\x80\xa6"},
	    /* a label GMime decodes, whose C1 controls are Windows-1252's */
	    {"text/plain; charset=iso-8859-15",
	     "That\x92s \xa4"
	     "5\n",
	     "That\xe2\x80\x99s \xe2\x82\xac"
	     "5"},
	    {"text/plain; charset=ISO_8859-1:1987", "That\x92s it\n", "That\xe2\x80\x99s it"},
	};
	expect_bodies(cases, G_N_ELEMENTS(cases));
	/* an encoded subject in ISO-8859-1 with Windows-1252's apostrophe */
	struct message m;
	parse("From: a@b.example\nSubject: =?iso-8859-1?Q?That=92s_late?=\nMIME-Version: 1.0\n"
	      "Content-Type: text/plain\n\nx\n",
	      &m);
	assert_string_equal(m.subject, "That\xe2\x80\x99s late");
	message_clear(&m);
}

/* HTML with no charset in its Content-Type is read in the one a <meta> tag
 * of its first 1,024 bytes names, either form; plain text, a label iconv
 * does not know and a tag further down are read as with no label. */
static void test_html_meta_charset(void **state)
{
	(void)state;
	static const struct body_case cases[] = {
	    {"text/html", "<html><head><meta charset=\"iso-8859-2\"></head><body><p>Op\xf3\xbcnienie.</p>\n",
	     "Op\xc3\xb3\xc5\xbanienie."},
	    {"text/html",
	     "<META HTTP-EQUIV='Content-Type' CONTENT='text/html; "
	     "charset=KOI8-R'><p>\xe9\xda\xd7\xc9\xce\xc9\xd4"
	     "\xc5</p>\n",
	     "\xd0\x98\xd0\xb7\xd0\xb2\xd0\xb8\xd0\xbd\xd0\xb8\xd1\x82\xd0\xb5"},
	    {"text/html", "<meta charset=utf-8><p>Caf\xc3\xa9</p>\n", "Caf\xc3\xa9"},
	    /* Windows' punctuation under a label that has none there (Windows-1250 mail labelled ISO-8859-2)
	     */
	    {"text/html", "<meta charset=\"iso-8859-2\"><p>We\x92re sorry.</p>\n", "We\xe2\x80\x99re sorry."},
	    /* no <meta> tag: another tag, and one in a comment */
	    {"text/html", "<metadata charset=\"koi8-r\"><p>Caf\xe9</p>\n", "Caf\xc3\xa9"},
	    {"text/html", "<!-- <meta charset=\"koi8-r\"> --><p>Caf\xe9</p>\n", "Caf\xc3\xa9"},
	    /* a UTF-16 label in text read as ASCII means UTF-8 */
	    {"text/html", "<meta charset=\"utf-16\"><p>Caf\xc3\xa9</p>\n", "Caf\xc3\xa9"},
	    /* the part's own label decides */
	    {"text/html; charset=iso-8859-1", "<meta charset=\"iso-8859-2\"><p>Op\xf3\xbcnienie.</p>\n",
	     "Op\xc3\xb3\xc2\xbcnienie."},
	    {"text/plain", "<meta charset=\"iso-8859-2\"> Op\xf3\xbcnienie.\n", "Op\xc3\xb3\xc2\xbcnienie."},
	    {"text/html", "<meta charset=\"x-no-such-set\"><p>Op\xf3\xbcnienie.</p>\n",
	     "Op\xc3\xb3\xc2\xbcnienie."},
	};
	expect_bodies(cases, G_N_ELEMENTS(cases));
	/* a tag past the first 1,024 bytes is not read */
	GString *late =
	    g_string_new("From: a@b.example\nSubject: x\nMIME-Version: 1.0\nContent-Type: text/html\n"
	                 "Content-Transfer-Encoding: 8bit\n\n<p>");
	for (int i = 0; i < 120; i++)
		g_string_append(late, "Fine day. ");
	g_string_append(late, "</p><meta charset=\"iso-8859-2\"><p>Op\xf3\xbcnienie.</p>\n");
	struct message m;
	parse(late->str, &m);
	assert_non_null(strstr(m.body, "Op\xc3\xb3\xc2\xbcnienie."));
	message_clear(&m);
	g_string_free(late, TRUE);
}

static void test_base64_utf8(void **state)
{
	(void)state;
	const char *raw = "From: a@b.example\nSubject: x\nMIME-Version: 1.0\n"
	                  "Content-Type: text/plain; charset=utf-8\n"
	                  "Content-Transfer-Encoding: base64\n\nSSdtIHNvcnJ5IOKAlCB0aGF0J3Mgb24gdXMu\n";
	struct message m;
	parse(raw, &m);
	assert_string_equal(m.body, "I'm sorry \xe2\x80\x94 that's on us.");
	message_clear(&m);
}

/* A NUL in the text, raw or quoted-printable, does not end it: the rest,
 * quoted complaint included, is read. */
static void test_nul_in_text(void **state)
{
	(void)state;
	static const char raw[] =
	    "From: a@b.example\nSubject: x\nMIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\n\nNo.\0 Read on.\n> Late again.\n";
	static const char qp[] = "From: a@b.example\nSubject: x\nMIME-Version: 1.0\n"
	                         "Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n"
	                         "No.=00 Read on.\n> Late again.\n";
	struct message m;
	message_parse(raw, sizeof raw - 1, &lim, &m);
	assert_string_equal(m.body, "No.  Read on.\n> Late again.\n");
	message_clear(&m);
	parse(qp, &m);
	assert_string_equal(m.body, "No.  Read on.\n> Late again.\n");
	message_clear(&m);
}

/* A reply split around an inline attachment (Apple Mail): the plain parts
 * of a multipart/mixed are read in order, the quoted history in the last;
 * a text file attached inline (it has a name), a part of a report and a
 * second plain part of a multipart/alternative are not. */
static void test_text_split_around_attachment(void **state)
{
	(void)state;
	const char *raw =
	    "From: a@b.example\nSubject: x\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=M\n\n"
	    "--M\nContent-Type: text/plain; charset=utf-8\n\nSorry, the invoice is attached.\n\n"
	    "--M\nContent-Type: application/pdf; name=invoice.pdf\n"
	    "Content-Disposition: inline; filename=invoice.pdf\nContent-Transfer-Encoding: base64\n\n"
	    "JVBERi0xLjQK\n"
	    "--M\nContent-Type: text/plain; charset=utf-8\n\n"
	    "On Mon, 2 Mar 2026 at 09:14, Ann <a@b> wrote:\n> Where is it?\n"
	    "--M\nContent-Type: text/plain; charset=utf-8; name=log.txt\n"
	    "Content-Disposition: inline; filename=log.txt\n\nERROR failed again\n"
	    "--M\nContent-Type: multipart/report; report-type=delivery-status; boundary=R\n\n"
	    "--R\nContent-Type: text/plain\n\nreport text\n--R--\n"
	    "--M\nContent-Type: multipart/alternative; boundary=A\n\n"
	    "--A\nContent-Type: text/plain\n\nfirst\n--A\nContent-Type: text/plain\n\nsecond\n--A--\n"
	    "--M--\n";
	struct message m;
	parse(raw, &m);
	assert_string_equal(m.body, "Sorry, the invoice is attached.\n\n"
	                            "On Mon, 2 Mar 2026 at 09:14, Ann <a@b> wrote:\n> Where is it?\n\n"
	                            "first");
	message_clear(&m);
}

/* A complaint forwarded whole (message/rfc822): its From, Date and Subject
 * under the separator, as mail programs write them (the date dates the
 * thread), and one version of its alternative, the plain one. */
static void test_forward_headers_and_one_alternative(void **state)
{
	(void)state;
	const char *raw =
	    "From: a@b.example\nSubject: x\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=m\n\n"
	    "--m\nContent-Type: text/plain\n\nmy words\n"
	    "--m\nContent-Type: message/rfc822\n\n"
	    "From: Ann <Ann@Client.example>\nDate: Mon, 2 Mar 2026 10:14:00 +0100\nSubject: late\n"
	    "MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=a\n\n"
	    "--a\nContent-Type: text/plain\n\nWhere is it?\n"
	    "--a\nContent-Type: multipart/related; boundary=r\n\n"
	    "--r\nContent-Type: text/html\n\n<p>Where is it?</p>\n"
	    "--r\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBORw0K\n--r--\n--a--\n"
	    "--m--\n";
	struct message m;
	parse(raw, &m);
	assert_string_equal(m.body,
	                    "my words\n---------- Forwarded message ---------\nFrom: ann@client.example\n"
	                    "Date: 2026-03-02 10:14:00 +0100\nSubject: late\n\n> Where is it?\n");
	message_clear(&m);
}

static void test_alternative_prefers_plain(void **state)
{
	(void)state;
	const char *raw = "From: a@b.example\nSubject: x\nMIME-Version: 1.0\n"
	                  "Content-Type: multipart/alternative; boundary=b\n\n"
	                  "--b\nContent-Type: text/plain\n\nplain words\n"
	                  "--b\nContent-Type: text/html\n\n<p>html words</p>\n--b--\n";
	struct message m;
	parse(raw, &m);
	assert_non_null(strstr(m.body, "plain words"));
	assert_null(strstr(m.body, "html words"));
	assert_false(m.body_from_html);
	message_clear(&m);
}

static void test_html_only_with_quote(void **state)
{
	(void)state;
	const char *raw = "From: a@b.example\nSubject: x\nMIME-Version: 1.0\n"
	                  "Content-Type: text/html; charset=utf-8\n\n"
	                  "<p>Sorry &amp; thanks</p><blockquote>old words</blockquote>\n";
	struct message m;
	parse(raw, &m);
	assert_true(m.body_from_html);
	assert_non_null(strstr(m.body, "Sorry & thanks"));
	assert_non_null(strstr(m.body, "> old words"));
	message_clear(&m);
}

static void test_attachment_ignored_forward_quoted(void **state)
{
	(void)state;
	const char *raw = "From: a@b.example\nSubject: x\nMIME-Version: 1.0\n"
	                  "Content-Type: multipart/mixed; boundary=m\n\n"
	                  "--m\nContent-Type: text/plain\n\nmy words\n"
	                  "--m\nContent-Type: text/plain\nContent-Disposition: attachment; filename=a.txt\n\n"
	                  "attached words\n"
	                  "--m\nContent-Type: message/rfc822\n\n"
	                  "From: c@d.example\nSubject: old\n\nforwarded words\n"
	                  "--m--\n";
	struct message m;
	parse(raw, &m);
	assert_non_null(strstr(m.body, "my words"));
	assert_null(strstr(m.body, "attached words"));
	assert_non_null(strstr(m.body, "> forwarded words"));
	/* the author's last line ends before the forward's separator */
	assert_non_null(strstr(m.body, "my words\n---------- Forwarded message"));
	message_clear(&m);
}

/* GMime 3.2.13 loops forever if asked for this part's boundary. */
static void test_multipart_without_boundary(void **state)
{
	(void)state;
	const char *raw = "From: a@b.example\nSubject: x\nMIME-Version: 1.0\n"
	                  "Content-Type: multipart/mixed\n\n--x\nContent-Type: text/plain\n\nwords\n--x--\n";
	struct message m;
	alarm(10); /* the bug is a hang: let it kill the test instead of blocking the suite */
	parse(raw, &m);
	alarm(0);
	/* it returns, with the headers read, and GMime's reading of it is judged */
	assert_non_null(m.body);
	assert_string_equal(m.subject, "x");
	assert_true(m.unchecked == NULL || m.body[0] == '\0');
	assert_null(m.unchecked);
	message_clear(&m);
}

static void test_caps(void **state)
{
	(void)state;
	GString *deep = g_string_new("From: a@b.example\nSubject: x\nMIME-Version: 1.0\n");
	for (int i = 0; i < 30; i++)
		g_string_append_printf(deep, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
	g_string_append(deep, "Content-Type: text/plain\n\nwords\n");
	struct message m;
	parse(deep->str, &m);
	assert_non_null(m.unchecked);
	assert_string_equal(m.unchecked, "MIME nesting too deep");
	message_clear(&m);
	g_string_free(deep, TRUE);

	GString *many = g_string_new("From: a@b.example\n");
	for (int i = 0; i < 2100; i++)
		g_string_append_printf(many, "X-H%d: v\n", i);
	g_string_append(many, "\nbody\n");
	parse(many->str, &m);
	assert_non_null(m.unchecked);
	message_clear(&m);
	g_string_free(many, TRUE);

	struct limits small = lim;
	small.max_text_bytes = 1024;
	GString *big = g_string_new("From: a@b.example\nSubject: x\n\n");
	for (int i = 0; i < 300; i++)
		g_string_append(big, "0123456789\n");
	message_parse(big->str, big->len, &small, &m);
	assert_non_null(m.unchecked);
	message_clear(&m);
	g_string_free(big, TRUE);

	/* An HTML-only part is capped after conversion, like a plain one: quote
	 * levels make the text longer than the HTML (here under 1 KB of HTML,
	 * over 2 KB of text).  Over the cap it is unchecked, never judged on its
	 * first half; under it, judged. */
	for (int lines = 150; lines >= 20; lines -= 130) {
		GString *html =
		    g_string_new("From: a@b.example\nSubject: x\nContent-Type: text/html\n\n<html><body>");
		for (int i = 0; i < 8; i++)
			g_string_append(html, "<blockquote>");
		for (int i = 0; i < lines; i++)
			g_string_append(html, "x<br>");
		for (int i = 0; i < 8; i++)
			g_string_append(html, "</blockquote>");
		g_string_append(html, "</body></html>\n");
		message_parse(html->str, html->len, &small, &m);
		if (lines == 150)
			assert_non_null(m.unchecked);
		else
			assert_null(m.unchecked);
		message_clear(&m);
		g_string_free(html, TRUE);
	}
}

/* GMime's address parser recurses once per group: an address field of
 * tens of thousands of groups used to overflow the stack and kill the
 * process.  Such a field, plain, folded or in an embedded message's
 * header, leaves the message unchecked, never parsed; a few hundred groups,
 * and colons elsewhere, do not. */
static void test_address_groups(void **state)
{
	(void)state;
	struct message m;
	/* before and after the groups */
	const char *shapes[][2] = {
	    {"To: ", "\nSubject: x\n\nhi\n"},
	    {"Cc: ", "\nSubject: x\n\nhi\n"},
	    {"To : ", "\nSubject: x\n\nhi\n"},
	    {"Cc\t: ", "\nSubject: x\n\nhi\n"},
	    {"Subject: fwd\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
	     "--b\nContent-Type: text/plain\n\nsee below\n--b\nContent-Type: message/rfc822\n\n"
	     "From: c@d.example\nResent-To: ",
	     "\nSubject: y\n\ninner\n--b--\n"},
	    {"Subject: fwd\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
	     "--b\nContent-Type: message/rfc822\n\nFrom: c@d.example\nTo : ",
	     "\nSubject: y\n\ninner\n--b--\n"}};
	for (size_t s = 0; s < G_N_ELEMENTS(shapes); s++) {
		for (int folded = 0; folded < 2; folded++) {
			for (int n = 400; n <= 45000; n = n == 400 ? 45000 : n + 1) {
				GString *groups = g_string_new(NULL);
				for (int i = 0; i < n; i++)
					g_string_append(groups, folded && i > 0 ? "\n g:" : "g:");
				char *full = g_strconcat("From: a@client.example\n", shapes[s][0],
				                         groups->str, shapes[s][1], NULL);
				parse(full, &m);
				if (n > 500)
					assert_string_equal(m.unchecked ? m.unchecked : "(parsed)",
					                    MESSAGE_ADDRESS_TOO_DEEP);
				else
					assert_null(m.unchecked);
				message_clear(&m);
				g_free(full);
				g_string_free(groups, TRUE);
			}
		}
	}
	/* colons in the body, and in a field that holds no addresses */
	GString *colons = g_string_new("From: a@b.example\nX-Times: ");
	for (int i = 0; i < 2000; i++)
		g_string_append(colons, "1:");
	g_string_append(colons, "\nSubject: x\n\nNote: ");
	for (int i = 0; i < 2000; i++)
		g_string_append(colons, "a:");
	g_string_append(colons, "\n");
	parse(colons->str, &m);
	assert_null(m.unchecked);
	message_clear(&m);
	g_string_free(colons, TRUE);
}

static void test_not_a_message(void **state)
{
	(void)state;
	struct message m;
	message_parse("", 0, &lim, &m);
	assert_non_null(m.unchecked);
	assert_string_equal(m.subject, "");
	message_clear(&m);
	message_parse("\x00\x01\x02garbage", 10, &lim, &m);
	assert_non_null(m.unchecked);
	message_clear(&m);
}

int main(void)
{
	limits_default(&lim);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc2047_and_latin1),
	    cmocka_unit_test(test_windows1252_quotes),
	    cmocka_unit_test(test_undeclared_and_western_charsets),
	    cmocka_unit_test(test_html_meta_charset),
	    cmocka_unit_test(test_base64_utf8),
	    cmocka_unit_test(test_nul_in_text),
	    cmocka_unit_test(test_text_split_around_attachment),
	    cmocka_unit_test(test_forward_headers_and_one_alternative),
	    cmocka_unit_test(test_alternative_prefers_plain),
	    cmocka_unit_test(test_html_only_with_quote),
	    cmocka_unit_test(test_attachment_ignored_forward_quoted),
	    cmocka_unit_test(test_multipart_without_boundary),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_address_groups),
	    cmocka_unit_test(test_not_a_message),
	};
	return cmocka_run_group_tests_name("message", tests, NULL, NULL);
}
