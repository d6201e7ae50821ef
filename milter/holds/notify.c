/*
 * notify.c - the outbox and its worker (see notify.h; `apologyctl notify
 * --once` is milter/ctl/notify_cmd.c).
 *
 * What a notification says is rendered here from the stored record and its
 * findings (which the daemon rendered from struct decision); nothing is
 * judged again.  Sending is libcurl: an HTTP POST for the webhook (2xx is
 * success, anything else is retried), SMTP submission for mail to authors.
 */
#include <curl/curl.h>
#include <gmime/gmime.h>
#include <string.h>

#include "jsonstr.h"
#include "notify.h"
#include "termtext.h"

#define BACKOFF_MAX  (6 * 3600)
#define BATCH        50
#define CLAIM_MARGIN 60 /* seconds a claim outlasts the longest send */
/* the target of a webhook row: the channel's setting, read when sent */
#define WEBHOOK_TARGET "webhook-url"

/* GMime, once per process (g_mime_init() counts its callers: the core
 * may have started it too). */
static void gmime_start(void)
{
	static gsize once;
	if (g_once_init_enter(&once)) {
		g_mime_init();
		g_once_init_leave(&once, 1);
	}
}

void notify_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void notify_cleanup(void)
{
	curl_global_cleanup();
}

/* ---- what is said ------------------------------------------------------ */

static char *review_link(const struct review_config *cfg, gint64 id)
{
	const char *base = cfg->review_url;
	size_t n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	return g_strdup_printf("%.*s/reply/%" G_GINT64_FORMAT, (int)n, base, id);
}

/* TEXT as chat text: &, < and > escaped as Slack reads them (a "<!channel>"
 * in an address would notify a whole channel). */
static char *chat_text(const char *text)
{
	GString *s = g_string_new(NULL);
	for (const char *p = text ? text : ""; *p; p++) {
		if (*p == '&')
			g_string_append(s, "&amp;");
		else if (*p == '<')
			g_string_append(s, "&lt;");
		else if (*p == '>')
			g_string_append(s, "&gt;");
		else
			g_string_append_c(s, *p);
	}
	return g_string_free(s, FALSE);
}

/* One line for chat: what happened, to what, and where to look. */
static char *summary_line(const struct store_quarantine *q, const char *event, const char *who,
                          const char *rules, const char *link)
{
	GString *s = g_string_new(NULL);
	char *sender = chat_text(q->sender), *rcpts = chat_text(q->recipients),
	     *by = chat_text(who ? who : "?");
	if (strcmp(event, "hold") == 0)
		g_string_append_printf(s, "Reply from %s to %s held for review (score %d", sender, rcpts,
		                       q->score);
	else
		g_string_append_printf(s, "Held reply from %s to %s: %s by %s (score %d", sender, rcpts,
		                       event, by, q->score);
	g_free(sender);
	g_free(rcpts);
	g_free(by);
	if (*rules)
		g_string_append_printf(s, "; %s", rules);
	g_string_append_printf(s, "): %s", link);
	return g_string_free(s, FALSE);
}

static char *webhook_payload(const struct store_quarantine *q, const char *event, const char *who,
                             const char *comment, const char *rules, const char *link, gint64 now)
{
	GString *o = g_string_new("{\"event\":");
	jsonstr_append(o, event);
	g_string_append_printf(o, ",\"id\":%" G_GINT64_FORMAT ",\"time\":%" G_GINT64_FORMAT, q->id, now);
	jsonstr_member(o, "queue_id", q->queue_id);
	jsonstr_member(o, "message_id", q->message_id);
	jsonstr_member(o, "sender", q->sender);
	jsonstr_member(o, "recipients", q->recipients);
	jsonstr_member(o, "verdict", q->verdict);
	g_string_append_printf(o, ",\"score\":%d,\"rules\":[", q->score);
	char **ids = g_strsplit(rules, ",", -1);
	for (int i = 0; ids[i] && *ids[i]; i++) {
		if (i)
			g_string_append_c(o, ',');
		jsonstr_append(o, ids[i]);
	}
	g_strfreev(ids);
	g_string_append_c(o, ']');
	jsonstr_member(o, "reviewer", who);
	jsonstr_member(o, "comment", comment);
	jsonstr_member(o, "url", link);
	char *text = summary_line(q, event, who, rules, link);
	jsonstr_member(o, "text", text);
	g_free(text);
	g_string_append_c(o, '}');
	return g_string_free(o, FALSE);
}

static const char *mail_subject(const char *event)
{
	if (strcmp(event, "hold") == 0)
		return "Your reply is waiting for review";
	if (strcmp(event, "release") == 0 || strcmp(event, "expire-release") == 0)
		return "Your reply has been sent";
	return "Your reply was not sent";
}

static const char *mail_opening(const char *event)
{
	if (strcmp(event, "hold") == 0)
		return "was held before it left, because it does not yet read as a good apology.\n"
		       "A reviewer will release it, or send it back to you with a comment.";
	if (strcmp(event, "release") == 0)
		return "was reviewed and released: it is on its way.  Next time, the points\n"
		       "below will help it go out without a wait.";
	if (strcmp(event, "expire-release") == 0)
		return "waited for review longer than the limit and was released: it is on its way.";
	if (strcmp(event, "expire-return") == 0)
		return "waited for review longer than the limit and was not sent.\n"
		       "Please rewrite it with the points below in mind and send it again.";
	return "was reviewed and sent back to you: it was not sent.\n"
	       "Please rewrite it with the points below in mind and send it again.";
}

/* The addresses of S (a configured From, a sender), or S as one bare
 * address when it does not parse. */
static void add_addresses(InternetAddressList *list, const char *s)
{
	InternetAddressList *parsed = internet_address_list_parse(NULL, s ? s : "");
	if (parsed && internet_address_list_length(parsed) > 0) {
		internet_address_list_append(list, parsed);
	} else {
		InternetAddress *one = internet_address_mailbox_new(NULL, s ? s : "");
		internet_address_list_add(list, one); /* takes a reference of its own */
		g_object_unref(one);
	}
	if (parsed)
		g_object_unref(parsed);
}

static char *mail_body(const struct store_quarantine *q, const char *event, const char *who,
                       const char *comment, const GArray *findings)
{
	GString *body = g_string_new(NULL);
	/* Ids and addresses from the mail on one line each, whatever an older
	 * record kept. */
	char *to = termtext_shown(q->recipients, -1, -1), *id = termtext_shown(q->message_id, -1, -1);
	g_string_append_printf(body, "Hello,\n\nYour reply to %s (Message-ID <%s>)\n%s\n", to, id,
	                       mail_opening(event));
	g_free(to);
	g_free(id);
	if (comment && *comment && strcmp(event, "hold") != 0)
		g_string_append_printf(body, "\nComment from %s:\n  %s\n", who ? who : "the reviewer",
		                       comment);
	if (findings->len > 0)
		g_string_append(body, "\nWhat was found:\n");
	for (guint i = 0; i < findings->len; i++) {
		const struct store_finding *f = &g_array_index(findings, struct store_finding, i);
		g_string_append_printf(body, "\n- %s", f->rule);
		if (f->excerpt && *f->excerpt)
			g_string_append_printf(body, ": \"%s\"", f->excerpt);
		if (f->principle && *f->principle)
			g_string_append_printf(body, "\n  Why it matters: %s", f->principle);
		if (f->advice && *f->advice)
			g_string_append_printf(body, "\n  What to do instead: %s", f->advice);
		g_string_append_c(body, '\n');
	}
	g_string_append(body, "\n-- \nThe apology review\n");
	return g_string_free(body, FALSE);
}

/* The mail to the author, built with GMime: addresses and the subject
 * encoded as RFC 2047 needs, the text in UTF-8 with a 7-bit transfer
 * encoding (any relay takes it), CRLF line ends. */
static char *mail_payload(const struct review_config *cfg, const struct store_quarantine *q,
                          const char *event, const char *who, const char *comment, const GArray *findings,
                          gint64 now)
{
	gmime_start();
	GMimeMessage *msg = g_mime_message_new(TRUE);
	add_addresses(g_mime_message_get_from(msg), cfg->mail_from);
	add_addresses(g_mime_message_get_to(msg), q->sender);
	g_mime_message_set_subject(msg, mail_subject(event), "utf-8");
	GDateTime *dt = g_date_time_new_from_unix_utc(now);
	g_mime_message_set_date(msg, dt);
	g_date_time_unref(dt);
	char *id = g_strdup_printf("apology-review-%s-%" G_GINT64_FORMAT "-%s", event, q->id,
	                           q->token ? q->token : "");
	g_mime_message_set_message_id(msg, id);
	g_free(id);
	g_mime_object_set_header(GMIME_OBJECT(msg), "Auto-Submitted", "auto-generated", NULL);
	GMimeTextPart *part = g_mime_text_part_new_with_subtype("plain");
	char *body = mail_body(q, event, who, comment, findings);
	g_mime_text_part_set_text(part, body);
	g_free(body);
	g_mime_part_set_content_encoding(
	    GMIME_PART(part),
	    g_mime_part_get_best_content_encoding(GMIME_PART(part), GMIME_ENCODING_CONSTRAINT_7BIT));
	g_mime_message_set_mime_part(msg, GMIME_OBJECT(part));
	g_object_unref(part);
	GMimeFormatOptions *fo = g_mime_format_options_new();
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	char *out = g_mime_object_to_string(GMIME_OBJECT(msg), fo);
	g_mime_format_options_free(fo);
	g_object_unref(msg);
	return out;
}

static bool mails_author(const char *event)
{
	return strcmp(event, "discard") != 0 && !g_str_has_suffix(event, "-failed");
}

/* One outbox row, keyed "EVENT:ID:CHANNEL" (a repeat is ignored). */
static bool queue_row(struct store *st, const struct store_quarantine *q, const char *event,
                      const char *channel, const char *target, const char *payload, gint64 now, char **err)
{
	char *key = g_strdup_printf("%s:%" G_GINT64_FORMAT ":%s", event, q->id, channel);
	struct store_outbox o = {
	    .key = key,
	    .quarantine_id = q->id,
	    .channel = (char *)channel,
	    .event = (char *)event,
	    .target = (char *)target,
	    .payload = (char *)payload,
	    .created = now,
	    .next_try = now,
	};
	bool ok = store_outbox_put(st, &o, NULL, err);
	g_free(key);
	return ok;
}

/* Whether S can be an SMTP recipient as it is: no control characters (they
 * would reach the SMTP commands), no angle brackets, an @. */
static bool plain_address(const char *s)
{
	if (s == NULL || strchr(s, '@') == NULL)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '<' || *p == '>')
			return false;
	return true;
}

bool notify_queue(const struct review_config *cfg, struct store *st, const struct store_quarantine *q,
                  const char *event, const char *who, const char *comment, gint64 now, char **err)
{
	GArray *findings = store_findings_new();
	if (!store_quarantine_findings(st, q->id, findings, err)) {
		g_array_unref(findings);
		return false;
	}
	char *link = review_link(cfg, q->id);
	bool ok = true;
	if (*cfg->webhook_url) {
		char *rules = store_findings_rules(findings);
		char *payload = webhook_payload(q, event, who, comment, rules, link, now);
		g_free(rules);
		/* the row names the channel, not the URL, which may hold a secret
		 * (the store is shared with the daemons); sent to webhook-url as
		 * it is when sent */
		ok = queue_row(st, q, event, "webhook", WEBHOOK_TARGET, payload, now, err);
		g_free(payload);
	}
	if (ok && *cfg->smtp_url && plain_address(q->sender) && mails_author(event)) {
		char *payload = mail_payload(cfg, q, event, who, comment, findings, now);
		ok = queue_row(st, q, event, "mail", q->sender, payload, now, err);
		g_free(payload);
	}
	g_free(link);
	g_array_unref(findings);
	return ok;
}

/* ---- how it is sent ---------------------------------------------------- */

struct upload {
	const char *data;
	size_t len, at;
};

static size_t read_upload(char *buf, size_t size, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t take = MIN(size * n, u->len - u->at);
	memcpy(buf, u->data + u->at, take);
	u->at += take;
	return take;
}

static size_t discard_body(char *buf, size_t size, size_t n, void *arg)
{
	(void)buf;
	(void)arg;
	return size * n;
}

static void common_options(CURL *c, const struct review_config *cfg, char *errbuf)
{
	long timeout = (long)MAX(cfg->notify_timeout, 1);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, MIN(timeout, 5L));
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	errbuf[0] = '\0';
}

/* POST the JSON; NULL on success, else why (caller frees). */
static char *send_webhook(const struct review_config *cfg, const struct store_outbox *o)
{
	char errbuf[CURL_ERROR_SIZE];
	CURL *c = curl_easy_init();
	struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (*cfg->webhook_url == '\0') {
		curl_slist_free_all(headers);
		curl_easy_cleanup(c);
		return g_strdup("webhook-url is not set (any more)");
	}
	common_options(c, cfg, errbuf);
	curl_easy_setopt(c, CURLOPT_URL, cfg->webhook_url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, o->payload);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "apology-review");
	CURLcode rc = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	char *why = NULL;
	if (rc != CURLE_OK)
		why = g_strdup_printf("%s", *errbuf ? errbuf : curl_easy_strerror(rc));
	else if (status < 200 || status > 299)
		why = g_strdup_printf("HTTP status %ld", status);
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	return why;
}

/* The envelope form "<addr>" of the first address in S ("Name <addr>" or
 * a bare address); caller frees. */
static char *envelope_address(const char *s)
{
	gmime_start();
	InternetAddressList *l = internet_address_list_parse(NULL, s);
	InternetAddress *a =
	    l && internet_address_list_length(l) > 0 ? internet_address_list_get_address(l, 0) : NULL;
	const char *addr = a && INTERNET_ADDRESS_IS_MAILBOX(a)
	                       ? internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a))
	                       : s;
	char *out = g_strdup_printf("<%s>", addr);
	if (l)
		g_object_unref(l);
	return out;
}

/* Submit the mail to the local MTA; NULL on success, else why. */
static char *send_mail(const struct review_config *cfg, const struct store_outbox *o)
{
	char errbuf[CURL_ERROR_SIZE];
	CURL *c = curl_easy_init();
	char *from = envelope_address(cfg->mail_from), *to = g_strdup_printf("<%s>", o->target);
	struct curl_slist *rcpts = curl_slist_append(NULL, to);
	struct upload u = {o->payload, strlen(o->payload), 0};
	common_options(c, cfg, errbuf);
	curl_easy_setopt(c, CURLOPT_URL, cfg->smtp_url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_upload);
	curl_easy_setopt(c, CURLOPT_READDATA, &u);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	CURLcode rc = curl_easy_perform(c);
	char *why = rc == CURLE_OK ? NULL : g_strdup_printf("%s", *errbuf ? errbuf : curl_easy_strerror(rc));
	curl_slist_free_all(rcpts);
	curl_easy_cleanup(c);
	g_free(from);
	g_free(to);
	return why;
}

/* Send one row, claimed first (another worker, an `apologyctl notify
 * --once` beside apology-review's, may have read it due too), and record
 * the attempt. */
static bool attempt(const struct review_config *cfg, struct store *st, const struct store_outbox *o,
                    gint64 now, struct notify_counts *counts, char **err)
{
	bool claimed = false;
	/* a send takes at most notify-timeout: a worker that dies meanwhile
	 * leaves the row due again soon after.  From the clock now, not NOW:
	 * the rows before this one in the pass may have taken that long each. */
	gint64 clock = MAX(now, g_get_real_time() / G_USEC_PER_SEC);
	gint64 until = clock + MAX(cfg->notify_timeout, 1) * 2 + CLAIM_MARGIN;
	if (!store_outbox_claim(st, o->id, o->next_try, until, &claimed, err))
		return false;
	if (!claimed) {
		counts->taken++;
		return true;
	}
	char *why = strcmp(o->channel, "webhook") == 0 ? send_webhook(cfg, o)
	            : strcmp(o->channel, "mail") == 0  ? send_mail(cfg, o)
	                                               : g_strdup("unknown channel");
	const char *state = "sent";
	gint64 next = now;
	if (why != NULL && o->attempts + 1 >= cfg->notify_attempts) {
		state = "failed";
		counts->failed++;
	} else if (why != NULL) {
		state = "pending";
		gint64 delay = cfg->notify_backoff;
		for (int i = 0; i < o->attempts && delay < BACKOFF_MAX; i++)
			delay *= 2;
		next = now + MIN(delay, BACKOFF_MAX);
		counts->retry++;
	} else {
		counts->sent++;
	}
	bool ok = store_outbox_attempt(st, o->id, state, next, why, err);
	g_free(why);
	return ok;
}

/* Queue hold notices for held records (the outbox key makes a repeat
 * harmless, so every pass may try all of them). */
static bool queue_holds(const struct review_config *cfg, struct store *st, gint64 now, char **err)
{
	struct store_query query = {.state = "held"};
	GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	bool ok = store_quarantine_list(st, &query, rows, err);
	for (guint i = 0; ok && i < rows->len; i++)
		ok = notify_queue(cfg, st, rows->pdata[i], "hold", NULL, NULL, now, err);
	g_ptr_array_unref(rows);
	return ok;
}

bool notify_run_once(const struct review_config *cfg, struct store *st, gint64 now, const gint *stop,
                     struct notify_counts *counts, char **err)
{
	memset(counts, 0, sizeof *counts);
	if (!queue_holds(cfg, st, now, err))
		return false;
	GArray *due = g_array_new(FALSE, TRUE, sizeof(struct store_outbox));
	g_array_set_clear_func(due, (GDestroyNotify)store_outbox_clear);
	bool ok = store_outbox_due(st, now, BATCH, due, err);
	/* one row at a time, each up to notify-timeout: a stop is not kept
	 * waiting for the rest */
	for (guint i = 0; ok && i < due->len && !(stop && g_atomic_int_get(stop)); i++)
		ok = attempt(cfg, st, &g_array_index(due, struct store_outbox, i), now, counts, err);
	g_array_unref(due);
	return ok;
}
