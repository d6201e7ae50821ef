/*
 * message.c - stage 1: parse a raw message with GMime and pick the text the
 * author wrote.  Walks the MIME tree itself so that part count and nesting
 * are capped; attachments are skipped; forwarded message/rfc822 parts are
 * kept as quoted history.
 *
 * GMime 3.2.13 loops forever in g_mime_multipart_get_boundary() and the
 * content-type setters on a multipart without a boundary: this file never
 * calls them, nor anything that serialises a parsed multipart.
 */
#include <gmime/gmime.h>
#include <string.h>

#include "html2text.h"
#include "message.h"

void limits_default(struct limits *lim)
{
	lim->max_parts = 200;
	lim->max_depth = 20;
	lim->max_headers = 2000;
	lim->max_text_bytes = 2 * 1024 * 1024;
}

void message_library_init(void)
{
	static gsize once;
	if (g_once_init_enter(&once)) {
		g_mime_init();
		html_library_init();
		g_once_init_leave(&once, 1);
	}
}

/* The walk's state: caps, what was found, and the first failure. */
struct walk {
	const struct limits *lim;
	unsigned parts;
	GMimePart *plain_part; /* first text/plain body (borrowed from the tree) */
	GMimePart *html_part;  /* first text/html body */
	GPtrArray *plain_more; /* later text/plain bodies of a multipart/mixed, in order (or NULL) */
	bool in_alternative;   /* walking the parts of a multipart/alternative */
	bool alt_has_plain;    /* ... and its plain version was seen */
	bool join_plain;       /* a later plain body here continues the first (plain_more) */
	GString *forwarded;    /* text of message/rfc822 parts, quoted */
	const char *unchecked;
};

static bool is_attachment(GMimeObject *part)
{
	const char *disp = g_mime_object_get_header(part, "Content-Disposition");
	if (disp && g_ascii_strncasecmp(disp, "attachment", 10) == 0)
		return true;
	return false;
}

/* Labels that mean ISO-8859-1 (or only ASCII): mail so labelled is in
 * practice Windows-1252, as browsers and mail readers take it (WHATWG
 * Encoding), whose 0x80-0x9F are the curly quotes, dashes and the euro
 * sign Outlook writes ("I\x92m sorry"); ISO-8859-1 makes them invisible
 * control characters. */
static bool western_label(const char *cs)
{
	static const char *const labels[] = {"iso-8859-1", "iso8859-1",  "iso_8859-1",   "iso_8859-1:1987",
	                                     "iso8859_1",  "iso-ir-100", "csisolatin1",  "latin1",
	                                     "latin-1",    "l1",         "cp819",        "ibm819",
	                                     "us-ascii",   "ascii",      "windows-1252", "cp1252",
	                                     "x-cp1252"};
	for (size_t i = 0; i < G_N_ELEMENTS(labels); i++)
		if (g_ascii_strcasecmp(cs, labels[i]) == 0)
			return true;
	return false;
}

/* Windows-1252's 0x80-0x9F; the five bytes it leaves undefined as
 * ISO-8859-1 reads them (C1 controls). */
static const gunichar cp1252_c1[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

static gunichar from_cp1252(guchar b)
{
	return b >= 0x80 && b < 0xA0 ? cp1252_c1[b - 0x80] : (gunichar)b;
}

/* BUF (LEN bytes) as UTF-8.  Every byte is read as Windows-1252 when
 * WHOLE; otherwise valid UTF-8 sequences are kept and only the bytes that
 * are none are read so (undeclared text of mixed origin: a line pasted
 * from an older program into UTF-8).  A table, not iconv: glibc loads and
 * unloads its converter module with each conversion
 * (docs/performance.md). */
static char *from_windows_1252(const char *buf, size_t len, bool whole)
{
	GString *out = g_string_sized_new(len + len / 8 + 1);
	size_t i = 0;
	while (i < len) {
		guchar b = (guchar)buf[i];
		gunichar c =
		    b < 0x80 || whole ? (gunichar)-1 : g_utf8_get_char_validated(buf + i, (gssize)(len - i));
		if (b < 0x80) {
			g_string_append_c(out, (char)b);
			i++;
		} else if (c != (gunichar)-1 && c != (gunichar)-2) {
			size_t n = (size_t)g_utf8_skip[b];
			g_string_append_len(out, buf + i, (gssize)n);
			i += n;
		} else {
			g_string_append_unichar(out, from_cp1252(b));
			i++;
		}
	}
	return g_string_free(out, FALSE);
}

/* Text GMime decoded from ISO-8859-1 or a label it treats so: its C1
 * controls (U+0080-U+009F, which no text means) are the Windows-1252
 * characters the sender wrote ("That\u0092s" is "That’s").  Returns TEXT,
 * or a new string and TEXT freed. */
static char *fold_c1(char *text)
{
	if (text == NULL || strstr(text, "\xC2") == NULL)
		return text; /* every C1 control starts with 0xC2 in UTF-8 */
	GString *out = g_string_sized_new(strlen(text));
	for (const char *p = text; *p;) {
		if ((guchar)p[0] == 0xC2 && (guchar)p[1] >= 0x80 && (guchar)p[1] < 0xA0) {
			g_string_append_unichar(out, from_cp1252((guchar)p[1]));
			p += 2;
		} else {
			g_string_append_c(out, *p++);
		}
	}
	g_free(text);
	return g_string_free(out, FALSE);
}

/* The charset an HTML part names in its first 1,024 bytes, as browsers
 * read one (WHATWG's prescan, simplified): the value of a "charset=" inside
 * a <meta> tag, in <meta charset="X"> and in <meta http-equiv=
 * "Content-Type" content="text/html; charset=X"> alike.  A new string, or
 * NULL. */
static char *html_meta_charset(const char *buf, size_t len)
{
	size_t n = MIN(len, 1024);
	for (size_t i = 0; i + 5 <= n; i++) {
		if (buf[i] == '<' && i + 4 <= n && memcmp(buf + i, "<!--", 4) == 0) {
			const char *close = g_strstr_len(buf + i + 4, (gssize)(n - i - 4), "-->");
			if (close == NULL)
				break; /* the rest is a comment */
			i = (size_t)(close - buf) + 2;
			continue;
		}
		if (buf[i] != '<' || g_ascii_strncasecmp(buf + i + 1, "meta", 4) != 0 ||
		    (i + 5 < n && !g_ascii_isspace(buf[i + 5]) && buf[i + 5] != '/'))
			continue; /* not a <meta> tag ("<metadata>") */
		size_t end = i + 5;
		while (end < n && buf[end] != '>')
			end++;
		for (size_t j = i + 5; j + 8 <= end; j++) {
			if (g_ascii_strncasecmp(buf + j, "charset", 7) != 0)
				continue;
			size_t k = j + 7;
			while (k < end && g_ascii_isspace(buf[k]))
				k++;
			if (k >= end || buf[k] != '=')
				continue;
			k++;
			while (k < end && (g_ascii_isspace(buf[k]) || buf[k] == '"' || buf[k] == '\''))
				k++;
			size_t v = k;
			while (k < end && k - v < 40 &&
			       (g_ascii_isalnum(buf[k]) || (buf[k] && strchr("-_.:", buf[k]))))
				k++;
			if (k > v)
				return g_strndup(buf + v, k - v);
		}
		i = end;
	}
	return NULL;
}

/* Parts in UTF-8, in ASCII, in a Western label or with no charset at all
 * are decoded here, not by GMime: their transfer encoding only, then
 * Windows-1252 for a Western label, and for text with no label, or an
 * ASCII one, the bytes that are no UTF-8 (undeclared 8-bit text is mostly
 * what Windows mail programs wrote; GMime would keep its bytes, and each
 * would become U+FFFD).  NULL when the part is in another charset: GMime
 * decodes it. */
static char *fast_text(GMimePart *part, GMimeDataWrapper *content)
{
	const char *cs = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
	bool utf8 = cs && (g_ascii_strcasecmp(cs, "utf-8") == 0 || g_ascii_strcasecmp(cs, "utf8") == 0);
	bool maybe_utf8 =
	    cs == NULL || g_ascii_strcasecmp(cs, "us-ascii") == 0 || g_ascii_strcasecmp(cs, "ascii") == 0;
	if (!utf8 && !maybe_utf8 && !western_label(cs))
		return NULL;
	GByteArray *buf = g_byte_array_new();
	GMimeStream *mem = g_mime_stream_mem_new_with_byte_array(buf);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	g_mime_data_wrapper_write_to_stream(content, mem);
	g_object_unref(mem);
	/* A NUL would end the text there, and with it the quoted complaint
	 * under it: a space in its place. */
	for (guint i = 0; i < buf->len; i++)
		if (buf->data[i] == 0)
			buf->data[i] = ' ';
	/* HTML with no charset of its own may name one in a <meta> tag */
	char *meta = cs == NULL && g_mime_content_type_is_type(
	                               g_mime_object_get_content_type(GMIME_OBJECT(part)), "text", "html")
	                 ? html_meta_charset((const char *)buf->data, buf->len)
	                 : NULL;
	if (meta) {
		/* a UTF-16 or UTF-32 label in text read as ASCII is UTF-8 (WHATWG) */
		bool unicode =
		    g_ascii_strncasecmp(meta, "utf", 3) == 0 || g_ascii_strncasecmp(meta, "ucs", 3) == 0;
		bool ascii =
		    g_ascii_strcasecmp(meta, "us-ascii") == 0 || g_ascii_strcasecmp(meta, "ascii") == 0;
		char *text = NULL; /* with UTF-8 or ASCII: as with no label */
		if (!unicode && !ascii)
			text = western_label(meta)
			           ? from_windows_1252((const char *)buf->data, buf->len, true)
			           : fold_c1(g_convert((const char *)buf->data, (gssize)buf->len, "UTF-8",
			                               g_mime_charset_iconv_name(meta), NULL, NULL, NULL));
		g_free(meta);
		if (text) {
			g_byte_array_unref(buf);
			return text;
		}
	}
	if (utf8 || (maybe_utf8 && g_utf8_validate((const char *)buf->data, (gssize)buf->len, NULL))) {
		guint8 nul = 0;
		g_byte_array_append(buf, &nul, 1);
		return (char *)g_byte_array_free(buf, FALSE);
	}
	char *text = from_windows_1252((const char *)buf->data, buf->len, !maybe_utf8);
	g_byte_array_unref(buf);
	return text;
}

/* Decoded text of PART as UTF-8, or NULL (over the cap sets w->unchecked). */
static char *part_text(struct walk *w, GMimePart *part)
{
	GMimeDataWrapper *content = g_mime_part_get_content(part);
	if (content == NULL)
		return g_strdup("");
	GMimeStream *raw = g_mime_data_wrapper_get_stream(content);
	gint64 rawlen = raw ? g_mime_stream_length(raw) : 0;
	if (rawlen > 0 && (guint64)rawlen > (guint64)w->lim->max_text_bytes * 2) {
		w->unchecked = "text part over the size limit";
		return NULL;
	}
	char *text = fast_text(part, content);
	if (text == NULL)
		text = fold_c1(g_mime_text_part_get_text(GMIME_TEXT_PART(part)));
	if (text == NULL)
		return g_strdup("");
	if (strlen(text) > w->lim->max_text_bytes) {
		g_free(text);
		w->unchecked = "text part over the size limit";
		return NULL;
	}
	if (!g_utf8_validate(text, -1, NULL)) {
		char *valid = g_utf8_make_valid(text, -1);
		g_free(text);
		text = valid;
	}
	return text;
}

static void append_quoted(GString *dst, const char *text)
{
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		g_string_append(dst, "> ");
		g_string_append_len(dst, p, (gssize)n);
		g_string_append_c(dst, '\n');
		p += n + (nl ? 1 : 0);
	}
}

static void walk_object(struct walk *w, GMimeObject *obj, unsigned depth, bool forwarded);
static char *first_mailbox(InternetAddressList *list);
static char *dup_valid(const char *s);

/* A forwarded message's own header block, as a mail program writes it
 * under the separator: who wrote it, when (which dates the thread) and its
 * subject. */
static void append_forward_headers(GString *dst, GMimeMessage *inner)
{
	char *from = first_mailbox(g_mime_message_get_from(inner));
	GDateTime *date = g_mime_message_get_date(inner);
	const char *subject = g_mime_message_get_subject(inner);
	if (*from)
		g_string_append_printf(dst, "From: %s\n", from);
	if (date) {
		char *when = g_date_time_format(date, "%Y-%m-%d %H:%M:%S %z");
		g_string_append_printf(dst, "Date: %s\n", when);
		g_free(when);
	}
	if (subject) {
		char *line = fold_c1(dup_valid(subject));
		g_strdelimit(line, "\r\n", ' ');
		g_string_append_printf(dst, "Subject: %s\n", line);
		g_free(line);
	}
	g_string_append_c(dst, '\n');
	g_free(from);
}

static char *leaf_text(struct walk *w, GMimePart *part, bool html)
{
	char *text = part_text(w, part);
	if (text == NULL || !html)
		return text;
	bool truncated = false;
	char *conv = html_to_text(text, strlen(text), w->lim->max_text_bytes, &truncated);
	g_free(text);
	if (truncated) /* as for a plain part over the cap: never judge half a text */
		w->unchecked = "text part over the size limit";
	return conv;
}

static void walk_leaf(struct walk *w, GMimeObject *obj, bool forwarded)
{
	if (!GMIME_IS_TEXT_PART(obj) || is_attachment(obj))
		return;
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	bool plain = g_mime_content_type_is_type(ct, "text", "plain");
	bool html = g_mime_content_type_is_type(ct, "text", "html");
	if (!plain && !html)
		return;
	if (forwarded) {
		char *text = leaf_text(w, GMIME_PART(obj), html);
		if (text)
			append_quoted(w->forwarded, text);
		g_free(text);
		return;
	}
	/* The first body of each kind is the author's; decoded later, only if
	 * used.  A later plain body beside it, with no file name, is the rest
	 * of it: Apple Mail splits a reply around an inline attachment, and
	 * the quoted history is in the part after it. */
	if (plain && w->in_alternative) {
		if (w->alt_has_plain)
			return; /* another plain version of the same text */
		w->alt_has_plain = true;
	}
	if (plain && w->plain_part == NULL)
		w->plain_part = GMIME_PART(obj);
	else if (plain && w->join_plain && g_mime_part_get_filename(GMIME_PART(obj)) == NULL) {
		if (w->plain_more == NULL)
			w->plain_more = g_ptr_array_new();
		g_ptr_array_add(w->plain_more, obj);
	} else if (html && w->html_part == NULL)
		w->html_part = GMIME_PART(obj);
}

static void walk_object(struct walk *w, GMimeObject *obj, unsigned depth, bool forwarded)
{
	if (w->unchecked || obj == NULL)
		return;
	if (++w->parts > w->lim->max_parts) {
		w->unchecked = MESSAGE_TOO_MANY_PARTS;
		return;
	}
	if (depth > w->lim->max_depth) {
		w->unchecked = "MIME nesting too deep";
		return;
	}
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		GMimeContentType *ct = g_mime_object_get_content_type(obj);
		int n = g_mime_multipart_get_count(mp);
		bool alt = g_mime_content_type_is_type(ct, "multipart", "alternative");
		if (alt && forwarded) {
			/* one version of a forwarded text: its plain one, else the last */
			int pick = n - 1;
			for (int i = n - 1; i >= 0; i--)
				if (g_mime_content_type_is_type(
				        g_mime_object_get_content_type(g_mime_multipart_get_part(mp, i)),
				        "text", "plain"))
					pick = i;
			walk_object(w, g_mime_multipart_get_part(mp, pick), depth + 1, forwarded);
			return;
		}
		bool outer_alt = w->in_alternative, outer_plain = w->alt_has_plain,
		     outer_join = w->join_plain;
		w->in_alternative = alt;
		w->alt_has_plain = false;
		/* a later plain part continues the body in a multipart/mixed, or in
		 * one version of an alternative inside one; not in a report, a
		 * digest or a related part */
		w->join_plain =
		    g_mime_content_type_is_type(ct, "multipart", "mixed") || (alt && w->join_plain);
		for (int i = 0; i < n && !w->unchecked; i++)
			walk_object(w, g_mime_multipart_get_part(mp, i), depth + 1, forwarded);
		w->in_alternative = outer_alt;
		w->alt_has_plain = outer_plain;
		w->join_plain = outer_join;
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		if (inner) {
			g_string_append(w->forwarded, "---------- Forwarded message ---------\n");
			append_forward_headers(w->forwarded, inner);
			walk_object(w, g_mime_message_get_mime_part(inner), depth + 1, true);
		}
	} else {
		walk_leaf(w, obj, forwarded);
	}
}

static char *dup_valid(const char *s)
{
	if (s == NULL)
		return g_strdup("");
	return g_utf8_validate(s, -1, NULL) ? g_strdup(s) : g_utf8_make_valid(s, -1);
}

static char *first_mailbox(InternetAddressList *list)
{
	if (list == NULL)
		return g_strdup("");
	int n = internet_address_list_length(list);
	for (int i = 0; i < n; i++) {
		InternetAddress *a = internet_address_list_get_address(list, i);
		if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
			const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
			return g_ascii_strdown(addr ? addr : "", -1);
		}
	}
	return g_strdup("");
}

/* The display name of the first mailbox in LIST ("Dana Client"), "" when
 * it has none. */
static char *first_mailbox_name(InternetAddressList *list)
{
	int n = list ? internet_address_list_length(list) : 0;
	for (int i = 0; i < n; i++) {
		InternetAddress *a = internet_address_list_get_address(list, i);
		if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
			char *name = fold_c1(dup_valid(internet_address_get_name(a)));
			g_strdelimit(name, "\r\n\t", ' ');
			return name;
		}
	}
	return g_strdup("");
}

static void add_domains(GPtrArray *out, InternetAddressList *list)
{
	if (list == NULL)
		return;
	int n = internet_address_list_length(list);
	for (int i = 0; i < n; i++) {
		InternetAddress *a = internet_address_list_get_address(list, i);
		if (INTERNET_ADDRESS_IS_GROUP(a)) {
			add_domains(out, internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a)));
			continue;
		}
		const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
		const char *at = addr ? strrchr(addr, '@') : NULL;
		if (at && at[1])
			g_ptr_array_add(out, g_ascii_strdown(at + 1, -1));
	}
}

static char *header_msgid(GMimeObject *obj, const char *name)
{
	const char *v = g_mime_object_get_header(obj, name);
	if (v == NULL)
		return g_strdup("");
	char *id = g_mime_utils_decode_message_id(v);
	if (id == NULL)
		return g_strdup("");
	char *valid = dup_valid(id);
	g_free(id);
	return valid;
}

static void fill_headers(struct message *msg, GMimeMessage *m)
{
	GMimeObject *obj = GMIME_OBJECT(m);
	msg->subject = fold_c1(dup_valid(g_mime_message_get_subject(m)));
	msg->from = first_mailbox(g_mime_message_get_from(m));
	msg->from_name = first_mailbox_name(g_mime_message_get_from(m));
	msg->message_id = dup_valid(g_mime_message_get_message_id(m));
	msg->in_reply_to = header_msgid(obj, "In-Reply-To");
	msg->references = dup_valid(g_mime_object_get_header(obj, "References"));
	add_domains(msg->recipient_domains, g_mime_message_get_addresses(m, GMIME_ADDRESS_TYPE_TO));
	add_domains(msg->recipient_domains, g_mime_message_get_addresses(m, GMIME_ADDRESS_TYPE_CC));
	GDateTime *date = g_mime_message_get_date(m);
	msg->date = date ? g_date_time_to_unix(date) : -1;
}

static bool is_blank(const char *s)
{
	for (; *s; s++)
		if (!g_ascii_isspace(*s))
			return false;
	return true;
}

static void message_init(struct message *msg)
{
	memset(msg, 0, sizeof *msg);
	msg->recipient_domains = g_ptr_array_new_with_free_func(g_free);
	msg->date = -1;
}

static void fill_empty(struct message *msg)
{
	char **fields[] = {&msg->subject,     &msg->from,       &msg->from_name, &msg->message_id,
	                   &msg->in_reply_to, &msg->references, &msg->body};
	for (size_t i = 0; i < G_N_ELEMENTS(fields); i++)
		if (*fields[i] == NULL)
			*fields[i] = g_strdup("");
}

static bool parse_message(GMimeMessage *m, const struct limits *lim, struct message *msg);

/* Whether the field name NAME (LEN bytes, up to the colon) is one GMime
 * reads as addresses: From, Sender, Reply-To, To, Cc, Bcc and their
 * Resent- forms, and any other name ending so (Disposition-Notification-To,
 * Errors-To).  Spaces before the colon do not count, as for GMime ("To :"). */
static bool address_field(const char *name, size_t len)
{
	static const char *const ends[] = {"from", "sender", "to", "cc", "bcc"};
	while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t' || name[len - 1] == '\r'))
		len--;
	for (size_t i = 0; i < G_N_ELEMENTS(ends); i++) {
		size_t n = strlen(ends[i]);
		if (len >= n && g_ascii_strncasecmp(name + len - n, ends[i], n) == 0 &&
		    (len == n || name[len - n - 1] == '-'))
			return true;
	}
	return false;
}

/* Whether any address field of DATA, in any header block (embedded
 * messages have their own) and unfolded, holds more than
 * MESSAGE_MAX_ADDRESS_COLONS colons.  One pass; a line of the body that looks like
 * such a field counts too, which no real text comes near. */
static bool address_too_deep(const char *data, size_t len)
{
	const char *p = data, *end = data + len;
	unsigned colons = 0;
	bool in_field = false;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		if (p < eol && (*p == ' ' || *p == '\t')) {
			/* a continuation line: the field goes on */
		} else {
			const char *colon = memchr(p, ':', (size_t)(eol - p));
			in_field = colon != NULL && colon - p <= 64 && address_field(p, (size_t)(colon - p));
			colons = 0;
			if (in_field)
				p = colon + 1;
		}
		if (in_field) {
			for (const char *q = p; q < eol; q++)
				colons += *q == ':';
			if (colons > MESSAGE_MAX_ADDRESS_COLONS)
				return true;
		}
		p = nl ? nl + 1 : end;
	}
	return false;
}

bool message_parse(const char *data, size_t len, const struct limits *lim, struct message *msg)
{
	message_library_init();
	message_init(msg);
	if (len == 0 || memchr(data, ':', len < 4096 ? len : 4096) == NULL) {
		fill_empty(msg);
		msg->unchecked = "not a mail message";
		return false;
	}
	if (address_too_deep(data, len)) {
		fill_empty(msg);
		msg->unchecked = MESSAGE_ADDRESS_TOO_DEEP;
		return false;
	}
	/* GMime reads the message in place, through a byte array over DATA that
	 * is let go of, not freed, once the message object is gone (the parser
	 * only reads, and a copy would be one more pass over every byte). */
	GByteArray *view = g_byte_array_new_take((guint8 *)data, len);
	GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(view);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	GMimeMessage *m = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(stream);
	bool ok = parse_message(m, lim, msg);
	if (m)
		g_object_unref(m);
	g_byte_array_free(view, FALSE);
	return ok;
}

/* The rest of message_parse(), on the parsed message M (not consumed). */
static bool parse_message(GMimeMessage *m, const struct limits *lim, struct message *msg)
{
	if (m == NULL) {
		fill_empty(msg);
		msg->unchecked = "cannot parse the message";
		return false;
	}
	GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(m));
	if ((unsigned)g_mime_header_list_get_count(hl) > lim->max_headers) {
		fill_empty(msg);
		msg->unchecked = "too many header fields";
		return false;
	}
	fill_headers(msg, m);

	struct walk w = {.lim = lim, .forwarded = g_string_new(NULL)};
	walk_object(&w, g_mime_message_get_mime_part(m), 0, false);
	GString *body = NULL;
	char *text = w.plain_part && !w.unchecked ? leaf_text(&w, w.plain_part, false) : NULL;
	if (text && w.plain_more) {
		GString *all = g_string_new(text);
		for (guint i = 0; i < w.plain_more->len && !w.unchecked && all->len <= lim->max_text_bytes;
		     i++) {
			char *more = leaf_text(&w, g_ptr_array_index(w.plain_more, i), false);
			if (more && !is_blank(more)) {
				/* each part a paragraph of its own */
				while (all->len &&
				       (all->len < 2 || memcmp(all->str + all->len - 2, "\n\n", 2) != 0))
					g_string_append_c(all, '\n');
				g_string_append(all, more);
			}
			g_free(more);
		}
		g_free(text);
		text = g_string_free(all, FALSE);
	}
	if (w.plain_more)
		g_ptr_array_unref(w.plain_more);
	if (text && w.html_part && is_blank(text)) {
		g_free(text);
		text = NULL;
	}
	if (text == NULL && w.html_part && !w.unchecked) {
		text = leaf_text(&w, w.html_part, true);
		msg->body_from_html = text != NULL;
	}
	body = g_string_new(text ? text : "");
	g_free(text);
	if (body->len && body->str[body->len - 1] != '\n' && w.forwarded->len)
		g_string_append_c(body, '\n'); /* the forward's separator on a line of its own */
	g_string_append(body, w.forwarded->str);
	g_string_free(w.forwarded, TRUE);
	msg->body_len = body->len;
	msg->body = g_string_free(body, FALSE);
	if (w.unchecked == NULL && msg->body_len > lim->max_text_bytes)
		w.unchecked = "text over the size limit";
	msg->unchecked = w.unchecked;
	return w.unchecked == NULL;
}

void message_clear(struct message *msg)
{
	g_free(msg->subject);
	g_free(msg->from);
	g_free(msg->from_name);
	g_free(msg->message_id);
	g_free(msg->in_reply_to);
	g_free(msg->references);
	g_free(msg->body);
	if (msg->recipient_domains)
		g_ptr_array_free(msg->recipient_domains, TRUE);
	memset(msg, 0, sizeof *msg);
	msg->date = -1;
}
