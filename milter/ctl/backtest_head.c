/*
 * backtest_head.c - the header block of a message as `apologyctl backtest`
 * indexes it (see backtest.h): read with GMime's header functions, without
 * building a message object, whose GObject churn was most of the first pass.
 * The fields are those message_parse() fills, filled the same way
 * (test_backtest compares the two over the corpus).
 */
#include <gmime/gmime.h>
#include <string.h>

#include "backtest.h"
#include "message.h"

static char *valid_dup(const char *s)
{
	if (s == NULL)
		return g_strdup("");
	return g_utf8_validate(s, -1, NULL) ? g_strdup(s) : g_utf8_make_valid(s, -1);
}

static char *decoded_id(const char *value)
{
	char *id = value ? g_mime_utils_decode_message_id(value) : NULL;
	char *valid = valid_dup(id);
	g_free(id);
	return valid;
}

static void head_addresses(struct message *msg, const char *name, const char *value)
{
	unsigned colons = 0;
	for (const char *p = value; *p; p++)
		colons += *p == ':';
	if (colons > MESSAGE_MAX_ADDRESS_COLONS)
		return; /* GMime would overflow the stack; message_parse() leaves it unchecked */
	InternetAddressList *list = internet_address_list_parse(NULL, value);
	if (list == NULL)
		return;
	int n = internet_address_list_length(list);
	for (int i = 0; i < n; i++) {
		InternetAddress *a = internet_address_list_get_address(list, i);
		InternetAddressList *members =
		    INTERNET_ADDRESS_IS_GROUP(a)
		        ? internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a))
		        : NULL;
		int m = members ? internet_address_list_length(members) : 1;
		for (int k = 0; k < m; k++) {
			InternetAddress *one = members ? internet_address_list_get_address(members, k) : a;
			if (!INTERNET_ADDRESS_IS_MAILBOX(one))
				continue;
			const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(one));
			const char *at = addr ? strrchr(addr, '@') : NULL;
			if (g_ascii_strcasecmp(name, "From") == 0 && *msg->from == '\0' && !members) {
				g_free(msg->from);
				msg->from = g_ascii_strdown(addr ? addr : "", -1);
			} else if (g_ascii_strcasecmp(name, "From") != 0 && at && at[1]) {
				g_ptr_array_add(msg->recipient_domains, g_ascii_strdown(at + 1, -1));
			}
		}
	}
	g_object_unref(list);
}

/* One unfolded header field NAME: VALUE; the first of each counts. */
static void head_field(struct message *msg, const char *name, const char *value, unsigned *seen)
{
	static const char *const names[] = {"From",        "To",         "Cc",  "Message-ID",
	                                    "In-Reply-To", "References", "Date"};
	size_t k = 0;
	while (k < G_N_ELEMENTS(names) && g_ascii_strcasecmp(name, names[k]) != 0)
		k++;
	if (k == G_N_ELEMENTS(names) || (*seen & (1u << k)))
		return;
	if (k >= 3 && k <= 5 && strlen(value) > MESSAGE_MAX_ID_HEADER)
		return; /* as the daemon: absent (a later field of the name counts instead) */
	*seen |= 1u << k;
	if (k <= 2) {
		head_addresses(msg, name, value);
	} else if (k == 3) {
		g_free(msg->message_id);
		msg->message_id = decoded_id(value);
	} else if (k == 4) {
		g_free(msg->in_reply_to);
		msg->in_reply_to = decoded_id(value);
	} else if (k == 5) {
		g_free(msg->references);
		msg->references = valid_dup(value);
	} else {
		GDateTime *dt = g_mime_utils_header_decode_date(value);
		msg->date = dt ? g_date_time_to_unix(dt) : -1;
		if (dt)
			g_date_time_unref(dt);
	}
}

void bt_head_parse(const char *head, size_t len, struct message *msg)
{
	memset(msg, 0, sizeof *msg);
	msg->date = -1;
	msg->recipient_domains = g_ptr_array_new_with_free_func(g_free);
	msg->from = g_strdup("");
	msg->message_id = g_strdup("");
	msg->in_reply_to = g_strdup("");
	msg->references = g_strdup("");
	GString *field = g_string_new(NULL);
	unsigned seen = 0;
	for (size_t i = 0; i <= len; i++) {
		bool end = i == len || head[i] == '\n';
		if (!end)
			continue;
		size_t start = i;
		while (start > 0 && head[start - 1] != '\n')
			start--;
		size_t stop = i > start && head[i - 1] == '\r' ? i - 1 : i;
		bool continued = stop > start && (head[start] == ' ' || head[start] == '\t');
		if (!continued && field->len) {
			char *colon = strchr(field->str, ':');
			if (colon) {
				*colon = '\0';
				head_field(msg, g_strstrip(field->str), g_strstrip(colon + 1), &seen);
			}
			g_string_truncate(field, 0);
		}
		if (stop == start && !continued)
			break; /* the blank line: the body starts */
		g_string_append_len(field, head + start, (gssize)(stop - start));
	}
	if (field->len) {
		char *colon = strchr(field->str, ':');
		if (colon) {
			*colon = '\0';
			head_field(msg, g_strstrip(field->str), g_strstrip(colon + 1), &seen);
		}
	}
	g_string_free(field, TRUE);
}
