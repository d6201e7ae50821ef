/*
 * test_filter.c - the daemon's per-message glue without an MTA: scope
 * decisions at MAIL FROM and DATA, and what each verdict does through a
 * recording table of MTA operations (headers, hold, reject, tempfail,
 * nothing in monitor mode), with the store it writes to; a message that
 * kills the process analysing it (a child process that really dies),
 * judging on a full disk, and judging without a store (it cannot be
 * opened): holds made all the same, records spooled and written to the
 * store once it opens.  Records reach the store through the store writer
 * (writer.h) after each verdict; the sessions here wait for it
 * (writer_flush) before they look.  Messages come from tests/e2e/msgs/ and are judged
 * by the shipped policy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "decision.h"
#include "daemon_metrics.h"
#include "filter.h"
#include "fulldisk.h"
#include "holdseal.h"
#include "log.h"
#include "message.h"
#include "policy.h"
#include "policy_fixture.h"
#include "spool.h"
#include "store.h"
#include "thread.h"
#include "upkeep.h"
#include "writer.h"

/* ---- a recording MTA ---------------------------------------------------- */

struct fake_mta {
	GPtrArray *added;   /* "Name: value" */
	GPtrArray *deleted; /* "Name#index" */
	char *quarantined;
	char *reply; /* "rcode xcode text" */
	bool refuse_quarantine;
};

static bool fake_add(void *m, const char *name, const char *value)
{
	g_ptr_array_add(((struct fake_mta *)m)->added, g_strdup_printf("%s: %s", name, value));
	return true;
}

static bool fake_delete(void *m, const char *name, int index)
{
	g_ptr_array_add(((struct fake_mta *)m)->deleted, g_strdup_printf("%s#%d", name, index));
	return true;
}

static bool fake_quarantine(void *m, const char *reason)
{
	struct fake_mta *mta = m;
	if (mta->refuse_quarantine)
		return false;
	mta->quarantined = g_strdup(reason);
	return true;
}

static bool fake_reply(void *m, const char *rcode, const char *xcode, const char *text)
{
	((struct fake_mta *)m)->reply = g_strdup_printf("%s %s %s", rcode, xcode, text);
	return true;
}

static const struct mta_ops fake_ops = {fake_add, fake_delete, fake_quarantine, fake_reply};

static void mta_init(struct fake_mta *m)
{
	memset(m, 0, sizeof *m);
	m->added = g_ptr_array_new_with_free_func(g_free);
	m->deleted = g_ptr_array_new_with_free_func(g_free);
}

static void mta_clear(struct fake_mta *m)
{
	g_ptr_array_free(m->added, TRUE);
	g_ptr_array_free(m->deleted, TRUE);
	g_free(m->quarantined);
	g_free(m->reply);
}

static const char *added(const struct fake_mta *m, const char *name)
{
	size_t n = strlen(name);
	for (guint i = 0; i < m->added->len; i++) {
		const char *h = m->added->pdata[i];
		if (strncmp(h, name, n) == 0 && h[n] == ':')
			return h + n + 2;
	}
	return NULL;
}

/* ---- analysis that kills the process ----------------------------------- */

/* The test binary is linked with --wrap=apology_check: in a child process
 * that sets this, analysing a message kills the process, as a message that
 * crashes the core (or the OOM killer, or kill -9) kills the daemon. */
static bool die_in_analysis;
/* Messages handed to the core, to show which never were. */
static unsigned analysed;

void __real_apology_check(const struct policy *pol, const char *data, size_t len, const struct context *ctx,
                          struct decision *d);
void __wrap_apology_check(const struct policy *pol, const char *data, size_t len, const struct context *ctx,
                          struct decision *d);

void __wrap_apology_check(const struct policy *pol, const char *data, size_t len, const struct context *ctx,
                          struct decision *d)
{
	if (die_in_analysis)
		raise(SIGKILL);
	analysed++;
	__real_apology_check(pol, data, len, ctx, d);
}

/* ---- fixture ------------------------------------------------------------ */

struct fx {
	char *dir;
	struct config cfg;
	struct spool *spool;
	struct writer *writer;
	struct filter *f;
};

/* Open the store and the filter as the daemon starts (upkeep_start: the
 * marks a dead run left are counted first, the spool is written to the
 * store; a store that cannot be opened is logged, and the filter judges
 * without it). */
static void fx_open(struct fx *fx)
{
	char *err = NULL;
	struct policy *pol = policy_load(fx->cfg.policy, &err);
	if (pol == NULL)
		fail_msg("%s", err);
	fx->spool = spool_new(fx->cfg.spool_dir, fx->cfg.spool_max);
	struct writer_limits limits = upkeep_writer_limits(&fx->cfg);
	fx->writer = writer_new(fx->spool, &limits);
	struct store *st = upkeep_start(&fx->cfg, fx->writer);
	fx->f = filter_new(&fx->cfg, st, fx->writer, pol);
}

/* The daemon stops (the store is closed with the filter). */
static void fx_close(struct fx *fx)
{
	filter_free(fx->f);
	writer_free(fx->writer);
	spool_free(fx->spool);
	fx->f = NULL;
	fx->writer = NULL;
	fx->spool = NULL;
}

/* A fixture whose store is in DIR. */
static void fx_start_in(struct fx *fx, const char *dir, const char *const *overrides)
{
	char *err = NULL;
	fx->dir = g_strdup(dir);
	config_init(&fx->cfg);
	char *store = g_strdup_printf("store=sqlite:%s/store.db", fx->dir);
	char *spool = g_strdup_printf("spool.directory=%s", fx->dir);
	const char *base[] = {"policy=policies/default.yaml", "scope.internal-domains=acme.example", store,
	                      spool};
	for (size_t i = 0; i < G_N_ELEMENTS(base); i++)
		if (!config_set(&fx->cfg, base[i], &err))
			fail_msg("%s", err);
	for (size_t i = 0; overrides && overrides[i]; i++)
		if (!config_set(&fx->cfg, overrides[i], &err))
			fail_msg("%s", err);
	g_free(store);
	g_free(spool);
	fx_open(fx);
}

static void fx_start(struct fx *fx, const char *const *overrides)
{
	char *dir = g_dir_make_tmp("test_filter-XXXXXX", NULL);
	fx_start_in(fx, dir, overrides);
	g_free(dir);
}

static void fx_stop(struct fx *fx)
{
	if (fx->f != NULL)
		fx_close(fx);
	config_clear(&fx->cfg);
	GDir *d = g_dir_open(fx->dir, 0, NULL);
	const char *name;
	while ((name = g_dir_read_name(d)) != NULL) {
		char *p = g_build_filename(fx->dir, name, NULL);
		g_unlink(p);
		g_free(p);
	}
	g_dir_close(d);
	g_rmdir(fx->dir);
	g_free(fx->dir);
}

static struct store *fx_store(struct fx *fx)
{
	char *err = NULL;
	struct store *st = store_open(fx->cfg.store, &err);
	if (st == NULL)
		fail_msg("%s", err);
	return st;
}

/* Feed FILE's headers (unfolded as libmilter passes them) and body (CRLF). */
static enum filter_reply feed(struct filter_session *s, const char *file)
{
	char *text = NULL;
	char *path = g_strdup_printf("tests/e2e/msgs/%s", file);
	if (!g_file_get_contents(path, &text, NULL, NULL))
		fail_msg("cannot read %s", path);
	g_free(path);
	char **lines = g_strsplit(text, "\n", -1);
	int i = 0;
	GString *name = g_string_new(NULL), *value = g_string_new(NULL);
	for (; lines[i] != NULL && lines[i][0] != '\0'; i++) {
		if (lines[i][0] == ' ' || lines[i][0] == '\t') {
			g_string_append_printf(value, "\n%s", lines[i]);
			continue;
		}
		if (name->len)
			filter_header(s, name->str, value->str);
		char *colon = strchr(lines[i], ':');
		assert_non_null(colon);
		g_string_assign(name, "");
		g_string_append_len(name, lines[i], colon - lines[i]);
		g_string_assign(value, colon[1] == ' ' ? colon + 2 : colon + 1);
	}
	if (name->len)
		filter_header(s, name->str, value->str);
	filter_end_of_headers(s);
	for (i++; lines[i] != NULL; i++) {
		if (lines[i + 1] == NULL && lines[i][0] == '\0')
			break;
		char *l = g_strconcat(lines[i], "\r\n", NULL);
		filter_body(s, (const unsigned char *)l, strlen(l));
		g_free(l);
	}
	g_string_free(name, TRUE);
	g_string_free(value, TRUE);
	g_strfreev(lines);
	g_free(text);
	return FILTER_CONTINUE;
}

/* A session through DAEMON from SENDER to RCPT, up to its data; *R is
 * FILTER_CONTINUE unless the filter answered before. */
static struct filter_session *open_session(struct fx *fx, const char *daemon, const char *sender,
                                           const char *rcpt, enum filter_reply *r)
{
	struct filter_session *s = filter_session_new(fx->f, NULL, "192.0.2.1");
	filter_set_daemon_name(s, daemon);
	*r = filter_mail(s, sender, NULL);
	if (*r == FILTER_CONTINUE) {
		filter_rcpt(s, rcpt);
		*r = filter_data(s);
	}
	return s;
}

/* The same, with a message of FILE up to its end. */
static struct filter_session *open_message(struct fx *fx, const char *daemon, const char *sender,
                                           const char *rcpt, const char *file, enum filter_reply *r)
{
	struct filter_session *s = open_session(fx, daemon, sender, rcpt, r);
	if (*r == FILTER_CONTINUE)
		feed(s, file);
	return s;
}

/* One message from SENDER to RCPT through the whole session.  With FIRST,
 * the end of message is asked first to stop where the sentence encoder
 * would run, as an event loop asks: *FIRST is that answer; when it is
 * FILTER_AGAIN nothing may have been done yet, and the message is judged
 * again without the request, as a judge thread does. */
static enum filter_reply send_message(struct fx *fx, const char *daemon, const char *sender, const char *rcpt,
                                      const char *file, struct fake_mta *mta, enum filter_reply *first)
{
	enum filter_reply r;
	struct filter_session *s = open_message(fx, daemon, sender, rcpt, file, &r);
	if (r == FILTER_CONTINUE) {
		filter_defer_encoder(s, first != NULL);
		r = filter_end_of_message(s, "QID1", &fake_ops, mta);
		if (first)
			*first = r;
	}
	if (r == FILTER_AGAIN) {
		assert_int_equal(mta->added->len, 0);
		assert_null(mta->quarantined);
		filter_defer_encoder(s, false);
		r = filter_end_of_message(s, "QID1", &fake_ops, mta);
	}
	filter_session_free(s);
	writer_flush(fx->writer);
	return r;
}

static enum filter_reply send_one(struct fx *fx, const char *daemon, const char *sender, const char *rcpt,
                                  const char *file, struct fake_mta *mta)
{
	return send_message(fx, daemon, sender, rcpt, file, mta, NULL);
}

/* ---- tests -------------------------------------------------------------- */

static void test_scope_accepts_early(void **state)
{
	(void)state;
	struct fx fx;
	fx_start(&fx, (const char *const[]){"inbound.record-complaints=no", NULL});
	struct filter_session *s = filter_session_new(fx.f, NULL, "");
	/* Inbound, with complaint recording off: nothing to do. */
	filter_set_daemon_name(s, "mx");
	assert_int_equal(filter_mail(s, "<dana@client.example>", NULL), FILTER_ACCEPT);
	assert_int_equal(filter_in_flight(fx.f), 0);
	/* Outgoing to colleagues only: accepted once the recipients are known. */
	filter_set_daemon_name(s, "ORIGINATING");
	assert_int_equal(filter_mail(s, "<sam@acme.example>", NULL), FILTER_CONTINUE);
	assert_int_equal(filter_in_flight(fx.f), 1);
	filter_rcpt(s, "<lee@acme.example>");
	filter_rcpt(s, "<kim@sales.acme.example>");
	assert_int_equal(filter_data(s), FILTER_ACCEPT);
	assert_int_equal(filter_in_flight(fx.f), 0);
	/* One client among them: judged. */
	assert_int_equal(filter_mail(s, "<sam@acme.example>", NULL), FILTER_CONTINUE);
	filter_rcpt(s, "<lee@acme.example>");
	filter_rcpt(s, "<dana@client.example>");
	assert_int_equal(filter_data(s), FILTER_CONTINUE);
	filter_abort(s);
	assert_int_equal(filter_in_flight(fx.f), 0);
	/* Also after a thousand colleagues (more than are kept); without the
	 * client, accepted. */
	for (int with_client = 1; with_client >= 0; with_client--) {
		assert_int_equal(filter_mail(s, "<sam@acme.example>", NULL), FILTER_CONTINUE);
		for (int i = 0; i < 1200; i++) {
			char *rcpt = g_strdup_printf("<c%d@acme.example>", i);
			filter_rcpt(s, rcpt);
			g_free(rcpt);
		}
		if (with_client)
			filter_rcpt(s, "<dana@client.example>");
		assert_int_equal(filter_data(s), with_client ? FILTER_CONTINUE : FILTER_ACCEPT);
		filter_abort(s);
	}
	assert_int_equal(filter_in_flight(fx.f), 0);
	/* Authenticated clients are outgoing whatever the port. */
	filter_set_daemon_name(s, "mx");
	assert_int_equal(filter_mail(s, "<sam@acme.example>", "sam"), FILTER_CONTINUE);
	filter_session_free(s); /* a session ending mid-message is no longer in flight */
	assert_true(filter_drain(fx.f, 1));
	fx_stop(&fx);
}

/* Write policy TEXT (the shipped one, edited) to PATH outside policies/,
 * naming the shipped models by absolute path. */
static void write_policy(const char *path, const char *text)
{
	char *moved = policy_fixture_text(text);
	assert_true(g_file_set_contents(path, moved, -1, NULL));
	g_free(moved);
}

/* applies-to.recipient-domains: clients elsewhere are accepted at DATA. */
static void test_recipient_domains(void **state)
{
	(void)state;
	char *text = NULL;
	assert_true(g_file_get_contents("policies/default.yaml", &text, NULL, NULL));
	char **parts = g_strsplit(text, "recipient-domains: [\"*\"]", 2);
	assert_non_null(parts[1]);
	char *narrowed = g_strjoin("recipient-domains: [\"client.example\"]", parts[0], parts[1], NULL);
	g_strfreev(parts);
	g_free(text);
	char *path = g_build_filename(g_get_tmp_dir(), "test_filter-domains.yaml", NULL);
	write_policy(path, narrowed);
	char *opt = g_strconcat("policy=", path, NULL);
	struct fx fx;
	fx_start(&fx, (const char *const[]){opt, NULL});
	struct filter_session *s = filter_session_new(fx.f, NULL, "");
	filter_set_daemon_name(s, "ORIGINATING");
	assert_int_equal(filter_mail(s, "<sam@acme.example>", NULL), FILTER_CONTINUE);
	filter_rcpt(s, "<pat@other.example>");
	assert_int_equal(filter_data(s), FILTER_ACCEPT);
	assert_int_equal(filter_in_flight(fx.f), 0);
	assert_int_equal(filter_mail(s, "<sam@acme.example>", NULL), FILTER_CONTINUE);
	filter_rcpt(s, "<pat@other.example>");
	filter_rcpt(s, "<dana@Client.Example>");
	assert_int_equal(filter_data(s), FILTER_CONTINUE);
	filter_session_free(s);
	fx_stop(&fx);
	g_unlink(path);
	g_free(path);
	g_free(opt);
	g_free(narrowed);
}

static void test_pass_untouched(void **state)
{
	(void)state;
	struct fx fx;
	struct fake_mta mta;
	fx_start(&fx, NULL);
	mta_init(&mta);
	assert_int_equal(
	    send_one(&fx, "ORIGINATING", "<sam@acme.example>", "<dana@client.example>", "note.eml", &mta),
	    FILTER_ACCEPT);
	assert_int_equal(mta.added->len, 0);
	assert_int_equal(mta.deleted->len, 0);
	assert_null(mta.quarantined);
	mta_clear(&mta);
	fx_stop(&fx);
}

/* Send the bad reply through FX (queue id QID1): it is held; its token. */
static const char *hold_bad_reply(struct fx *fx, struct fake_mta *mta)
{
	mta_init(mta);
	assert_int_equal(
	    send_one(fx, "ORIGINATING", "<sam@acme.example>", "<dana@client.example>", "reply-bad.eml", mta),
	    FILTER_ACCEPT);
	assert_non_null(mta->quarantined);
	const char *token = added(mta, "X-Apology-Token");
	assert_non_null(token);
	return token;
}

static void test_hold(void **state)
{
	(void)state;
	struct fx fx;
	struct fake_mta mta;
	char *err = NULL;
	fx_start(&fx, NULL);
	const char *token = hold_bad_reply(&fx, &mta);
	const char *check = added(&mta, "X-Apology-Check");
	assert_non_null(check);
	assert_true(g_str_has_prefix(check, "hold; score="));
	assert_non_null(strstr(check, "blame-third-party"));
	assert_non_null(added(&mta, "X-Apology-Findings"));
	assert_int_equal(strlen(token), 32);

	struct store *st = fx_store(&fx);
	struct store_quarantine q;
	assert_int_equal(store_quarantine_get(st, token, &q, &err), STORE_FOUND);
	assert_string_equal(q.queue_id, "QID1");
	assert_string_equal(q.message_id, "reply-bad-4471@acme.example");
	assert_string_equal(q.sender, "sam@acme.example");
	assert_string_equal(q.recipients, "dana@client.example");
	assert_string_equal(q.state, "held");
	assert_non_null(strstr(q.findings_json, "\"rule\":\"blame-third-party\""));
	assert_non_null(strstr(q.raw, "\r\n\r\nDana,\r\n"));
	/* The new text the findings point into, and the findings as rows. */
	assert_non_null(q.new_text);
	assert_true(g_str_has_prefix(q.new_text, "Dana,\n"));
	GArray *findings = store_findings_new();
	assert_true(store_quarantine_findings(st, q.id, findings, &err));
	char *rules = store_findings_rules(findings);
	assert_non_null(strstr(rules, "blame-third-party"));
	const struct store_finding *f = &g_array_index(findings, struct store_finding, 0);
	assert_true(f->end <= strlen(q.new_text));
	/* The complaint it answers as the daemon judged it, and the quoted
	 * text its classification read (quote markers removed). */
	assert_true(q.complaint_recorded);
	assert_true(q.complaint_detected);
	assert_true(q.complaint_clear);
	assert_string_equal(q.complaint_severity, "serious");
	assert_true(q.complaint_sent > 0);
	assert_non_null(q.complaint_text);
	assert_non_null(strstr(q.complaint_text, "Order 4471 was supposed to arrive last Friday"));
	assert_null(strstr(q.complaint_text, "\n> "));
	assert_true(g_utf8_validate(q.complaint_text, -1, NULL));
	g_free(rules);
	g_array_unref(findings);
	store_quarantine_clear(&q);
	store_close(st);
	mta_clear(&mta);
	fx_stop(&fx);
}

/* A Message-ID with a line break, a tab or an escape sequence in it (here
 * the first Message-ID field, as libmilter passes a folded one) is no
 * message id: not kept, so neither the store, the terminal nor the
 * notification mail gets its lines.  Such a reply is still judged (and
 * held) as one without a Message-ID. */
static void test_message_id_with_controls(void **state)
{
	(void)state;
	struct fx fx;
	struct fake_mta mta;
	char *err = NULL;
	fx_start(&fx, NULL);
	mta_init(&mta);
	enum filter_reply r;
	struct filter_session *s =
	    open_session(&fx, "ORIGINATING", "<sam@acme.example>", "<dana@client.example>", &r);
	assert_int_equal(r, FILTER_CONTINUE);
	filter_header(s, "Message-ID", "<reply\r\n X-Forged: yes\tx\033[2J@acme.example>");
	feed(s, "reply-bad.eml"); /* its own Message-ID comes second: not read */
	assert_int_equal(filter_end_of_message(s, "QID1", &fake_ops, &mta), FILTER_ACCEPT);
	filter_session_free(s);
	writer_flush(fx.writer);
	const char *token = added(&mta, "X-Apology-Token");
	assert_non_null(token);
	struct store *st = fx_store(&fx);
	struct store_quarantine q;
	assert_int_equal(store_quarantine_get(st, token, &q, &err), STORE_FOUND);
	assert_string_equal(q.message_id, "");
	store_quarantine_clear(&q);
	store_close(st);
	mta_clear(&mta);
	fx_stop(&fx);
}

/* With the daemon's hold key, the token of a hold is sealed for its queue
 * id: what apology-postsuper checks before it acts. */
static void test_hold_sealed(void **state)
{
	(void)state;
	struct fx fx;
	struct fake_mta mta;
	struct holdseal_key key = {.len = HOLDSEAL_KEY_MIN};
	char *err = NULL;
	memset(key.bytes, 7, key.len);
	fx_start(&fx, NULL);
	filter_set_hold_key(fx.f, &key);
	const char *token = hold_bad_reply(&fx, &mta);
	assert_int_equal(strlen(token), HOLDSEAL_TOKEN_LEN);
	assert_true(holdseal_verify(&key, "QID1", token));
	assert_false(holdseal_verify(&key, "QID2", token));
	struct store *st = fx_store(&fx);
	struct store_quarantine q;
	assert_int_equal(store_quarantine_get(st, token, &q, &err), STORE_FOUND);
	assert_string_equal(q.queue_id, "QID1");
	store_quarantine_clear(&q);
	store_close(st);
	mta_clear(&mta);
	fx_stop(&fx);
}

static void test_hold_refused_defers(void **state)
{
	(void)state;
	struct fx fx;
	struct fake_mta mta;
	fx_start(&fx, NULL);
	mta_init(&mta);
	mta.refuse_quarantine = true;
	assert_int_equal(send_one(&fx, "ORIGINATING", "<sam@acme.example>", "<dana@client.example>",
	                          "reply-bad.eml", &mta),
	                 FILTER_TEMPFAIL);
	mta_clear(&mta);
	fx_stop(&fx);
}

static void test_reject(void **state)
{
	(void)state;
	struct fx fx;
	struct fake_mta mta;
	fx_start(&fx, (const char *const[]){"hold-action=reject", NULL});
	mta_init(&mta);
	assert_int_equal(send_one(&fx, "ORIGINATING", "<sam@acme.example>", "<dana@client.example>",
	                          "reply-bad.eml", &mta),
	                 FILTER_REJECT);
	assert_null(mta.quarantined);
	assert_non_null(mta.reply);
	assert_true(g_str_has_prefix(mta.reply, "550 5.7.1 Reply held back"));
	mta_clear(&mta);
	fx_stop(&fx);
}

static void test_monitor(void **state)
{
	(void)state;
	struct fx fx;
	struct fake_mta mta;
	fx_start(&fx, (const char *const[]){"mode=monitor", NULL});
	mta_init(&mta);
	assert_int_equal(send_one(&fx, "ORIGINATING", "<sam@acme.example>", "<dana@client.example>",
	                          "reply-bad.eml", &mta),
	                 FILTER_ACCEPT);
	assert_int_equal(mta.added->len, 0);
	assert_null(mta.quarantined);
	assert_null(mta.reply);
	mta_clear(&mta);
	fx_stop(&fx);
}

/* The near misses records in FX's store (state "sampled"). */
static gint64 sampled(struct fx *fx)
{
	char *err = NULL;
	gint64 n = -1;
	struct store *st = fx_store(fx);
	assert_true(store_quarantine_count(st, &(struct store_query){.state = "sampled"}, &n, &err));
	store_close(st);
	return n;
}

/* A reply that passes because the gate placed its thread just short of a
 * complaint (a near miss) goes out untouched; with sample.near-misses 1 a
 * copy is kept for review (state "sampled"), with 2 about every other one,
 * with 0 none, and a held reply is never one. */
static void test_near_miss_sampled(void **state)
{
	(void)state;
	struct fx fx;
	struct fake_mta mta;
	char *err = NULL;
	const struct daemon_metrics *dm = daemon_metrics();
	double kept0 = metric_value(metric_at(dm->near_misses, "kept")),
	       not0 = metric_value(metric_at(dm->near_misses, "not-kept"));
	fx_start(&fx, (const char *const[]){"sample.near-misses=1", NULL});
	mta_init(&mta);
	assert_int_equal(send_one(&fx, "ORIGINATING", "<sam@acme.example>", "<dana@client.example>",
	                          "reply-near-miss.eml", &mta),
	                 FILTER_ACCEPT);
	assert_int_equal(mta.added->len, 0); /* untouched */
	assert_null(mta.quarantined);
	assert_int_equal(sampled(&fx), 1);
	struct store *st = fx_store(&fx);
	GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	assert_true(store_quarantine_list(st, &(struct store_query){.state = "sampled"}, rows, &err));
	const struct store_quarantine *q = rows->pdata[0];
	assert_string_equal(q->verdict, "pass");
	assert_false(q->complaint_detected);
	assert_non_null(strstr(q->complaint_text, "the February invoice is a bit higher"));
	assert_non_null(strstr(q->new_text, "I will check with finance"));
	assert_int_equal(strlen(q->token), 32);
	g_ptr_array_unref(rows);
	store_close(st);
	mta_clear(&mta);
	/* a held reply is no near miss */
	hold_bad_reply(&fx, &mta);
	assert_int_equal(sampled(&fx), 1);
	mta_clear(&mta);
	fx_stop(&fx);
	/* the near miss counted as kept (a held reply is never a near miss) */
	assert_int_equal(metric_value(metric_at(dm->near_misses, "kept")) - kept0, 1);
	assert_int_equal(metric_value(metric_at(dm->near_misses, "not-kept")) - not0, 0);

	/* one in 2, at random: of 40, about 20 (outside 5..35 once in millions) */
	fx_start(&fx, (const char *const[]){"sample.near-misses=2", NULL});
	for (int i = 0; i < 40; i++) {
		mta_init(&mta);
		assert_int_equal(send_one(&fx, "ORIGINATING", "<sam@acme.example>", "<dana@client.example>",
		                          "reply-near-miss.eml", &mta),
		                 FILTER_ACCEPT);
		mta_clear(&mta);
	}
	gint64 kept = sampled(&fx);
	assert_in_range(kept, 5, 35);
	fx_stop(&fx);
	/* every near miss counted, as kept or not, the kept ones as many as were kept */
	assert_int_equal(metric_value(metric_at(dm->near_misses, "kept")) - kept0, 1 + kept);
	assert_int_equal(metric_value(metric_at(dm->near_misses, "not-kept")) - not0, 40 - kept);

	fx_start(&fx, NULL); /* the default: none kept */
	mta_init(&mta);
	assert_int_equal(send_one(&fx, "ORIGINATING", "<sam@acme.example>", "<dana@client.example>",
	                          "reply-near-miss.eml", &mta),
	                 FILTER_ACCEPT);
	assert_int_equal(sampled(&fx), 0);
	mta_clear(&mta);
	fx_stop(&fx);
	assert_int_equal(metric_value(metric_at(dm->near_misses, "not-kept")) - not0, 41 - kept);
}

/* Each reply judged advise or hold leaves a decision in the store (what
 * `apologyctl report` counts as advised), with a key of its own (two
 * replies alike, sent in the same second, are two); a passing one none.
 * In monitor mode too. */
static void test_decisions_recorded(void **state)
{
	(void)state;
	const char *modes[] = {"mode=enforce", "mode=monitor"};
	for (size_t m = 0; m < G_N_ELEMENTS(modes); m++) {
		struct fx fx;
		struct fake_mta mta;
		char *err = NULL;
		fx_start(&fx, (const char *const[]){modes[m], NULL});
		const char *files[] = {"note.eml", "reply-doubtful.eml", "reply-bad.eml",
		                       "reply-doubtful.eml"};
		for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
			mta_init(&mta);
			send_one(&fx, "ORIGINATING", "<sam@acme.example>", "<dana@client.example>", files[i],
			         &mta);
			mta_clear(&mta);
		}
		struct store *st = fx_store(&fx);
		GArray *d = store_decisions_new();
		assert_true(store_decisions_list(st, 0, NULL, d, &err));
		assert_int_equal(d->len, 3);
		const struct store_decision *advised = &g_array_index(d, struct store_decision, 0);
		const struct store_decision *held = &g_array_index(d, struct store_decision, 1);
		const struct store_decision *again = &g_array_index(d, struct store_decision, 2);
		assert_string_equal(again->verdict, "advise");
		assert_string_equal(again->rules, advised->rules);
		assert_non_null(advised->key);
		assert_non_null(again->key);
		assert_string_not_equal(advised->key, again->key);
		assert_string_equal(advised->verdict, "advise");
		assert_string_equal(advised->sender, "sam@acme.example");
		assert_string_equal(advised->client_domain, "client.example");
		assert_true(*advised->rules != '\0');
		assert_true(advised->at > 0);
		assert_string_equal(held->verdict, "hold");
		assert_non_null(strstr(held->rules, "blame-third-party"));
		g_array_set_size(d, 0);
		assert_true(store_decisions_list(st, 0, "advise", d, &err));
		assert_int_equal(d->len, 2);
		g_array_unref(d);
		store_close(st);
		fx_stop(&fx);
	}
}

static void test_on_error(void **state)
{
	(void)state;
	static const struct {
		const char *setting;
		enum filter_reply reply;
		bool header, held;
	} cases[] = {
	    {"on-error=accept", FILTER_ACCEPT, true, false},
	    {"on-error=tempfail", FILTER_TEMPFAIL, false, false},
	    {"on-error=hold", FILTER_ACCEPT, true, true},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct fx fx;
		struct fake_mta mta;
		fx_start(&fx, (const char *const[]){cases[i].setting, NULL});
		mta_init(&mta);
		assert_int_equal(send_one(&fx, "ORIGINATING", "<sam@acme.example>", "<dana@client.example>",
		                          "reply-nested.eml", &mta),
		                 cases[i].reply);
		const char *check = added(&mta, "X-Apology-Check");
		assert_int_equal(check != NULL, cases[i].header);
		if (check)
			assert_true(g_str_has_prefix(check, "unchecked; reason="));
		assert_int_equal(mta.quarantined != NULL, cases[i].held);
		mta_clear(&mta);
		fx_stop(&fx);
	}
}

/* One reply from sam to a client through the filter: FILE is judged. */
static enum filter_reply send_reply(struct fx *fx, const char *file, struct fake_mta *mta)
{
	return send_one(fx, "ORIGINATING", "<sam@acme.example>", "<dana@client.example>", file, mta);
}

/* A run of the daemon that dies analysing FILE: the filter stops, a child
 * process starts it on the same store and is killed inside the analysis
 * (kill -9), and the filter starts again, as the daemon would. */
static void die_analysing(struct fx *fx, const char *file)
{
	fx_close(fx);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct fake_mta mta;
		fx_open(fx);
		mta_init(&mta);
		die_in_analysis = true;
		send_reply(fx, file, &mta);
		_exit(0); /* not reached */
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	fx_open(fx);
}

/* Move every recorded death SECONDS into the past. */
static void age_crashes(struct fx *fx, gint64 seconds)
{
	char *path = g_build_filename(fx->dir, "store.db", NULL);
	char *sql =
	    g_strdup_printf("UPDATE crashes SET last_crash = last_crash - %" G_GINT64_FORMAT, seconds);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_true(sqlite3_changes(db) > 0);
	sqlite3_close(db);
	g_free(sql);
	g_free(path);
}

/* What the filter did with FILE: the value of its check header (NULL:
 * none, a pass), and whether the message was held. */
static void expect_reply(struct fx *fx, const char *file, const char *check_prefix, bool held)
{
	struct fake_mta mta;
	mta_init(&mta);
	assert_int_equal(send_reply(fx, file, &mta), FILTER_ACCEPT);
	const char *check = added(&mta, "X-Apology-Check");
	if (check_prefix == NULL)
		assert_null(check);
	else if (check == NULL || !g_str_has_prefix(check, check_prefix))
		fail_msg("X-Apology-Check: %s (expected %s...)", check, check_prefix);
	assert_int_equal(mta.quarantined != NULL, held);
	mta_clear(&mta);
}

/* A reply the daemon died analysing is judged again when it comes back (one
 * death may be a kill from outside); after a second death it is not
 * analysed and on-error decides (hold keeps it for review); deaths longer
 * ago than crash-guard.forget-after no longer count. */
static void test_crash_then_poison(void **state)
{
	(void)state;
	struct fx fx;
	char *err = NULL;
	fx_start(&fx, (const char *const[]){"on-error=hold", NULL});
	die_analysing(&fx, "reply-bad.eml");
	expect_reply(&fx, "reply-bad.eml", "hold; score=", true);

	die_analysing(&fx, "reply-bad.eml");
	expect_reply(&fx, "reply-bad.eml", "unchecked; reason=analysis-stopped-the-daemon-twice-before",
	             true);
	expect_reply(&fx, "note.eml", NULL, false); /* other mail is judged as before */

	fx_close(&fx);
	assert_true(config_set(&fx.cfg, "on-error=accept", &err));
	fx_open(&fx);
	expect_reply(&fx, "reply-bad.eml", "unchecked; reason=analysis-stopped-the-daemon-twice-before",
	             false);

	fx_close(&fx);
	age_crashes(&fx, 2 * 86400);
	assert_true(config_set(&fx.cfg, "crash-guard.forget-after=1d", &err));
	fx_open(&fx);
	expect_reply(&fx, "reply-bad.eml", "hold; score=", true);
	fx_stop(&fx);
}

/* A full disk: the crash guard cannot allocate its file, and every reply is
 * still judged (each bad one held); nothing stops the process with SIGBUS.
 * The guard's file is sparse, as a long-used store's was (only its first
 * page ever written), and more messages come than one page has slots. */
static void test_full_disk_judged(void **state)
{
	(void)state;
	char *dir = fulldisk_mount(4 << 20);
	if (dir == NULL)
		skip();
	struct fx fx;
	fx_start_in(&fx, dir, NULL);
	/* The review page keeps the store open, so the daemon can open it again
	 * on a full disk (SQLite need not make its -wal and -shm files anew). */
	struct store *review = fx_store(&fx);
	fx_close(&fx);
	char *file = g_build_filename(dir, "store.db-inflight", NULL);
	fulldisk_sparse(file, 256 * 80, 4096);
	assert_true(fulldisk_fill(dir) > 0);
	fx_open(&fx);
	for (int i = 0; i < 64; i++)
		expect_reply(&fx, "reply-bad.eml", "hold; score=", true);
	store_close(review);
	fx_stop(&fx);
	fulldisk_unmount(dir);
	g_free(file);
	g_free(dir);
}

/* The records waiting in the fixture's spool; held ones appended to HOLDS
 * (may be NULL). */
static unsigned spooled(struct fx *fx, GPtrArray *holds)
{
	unsigned n = 0;
	char *err = NULL;
	if (!spool_read(fx->dir, &n, holds, &err))
		fail_msg("spool: %s", err);
	return n;
}

/* The store cannot be opened (here a file that is no database; a read-only
 * file system in tests/miltertest/no_store.py): the daemon judges all the
 * same.  A bad reply is held in the MTA with its headers and token and a
 * good one is let through; their records (the hold, the complaint, the apology) go
 * to the spool.  When the store can be opened, the upkeep hands it to the
 * filter and writes the spool to it. */
static void test_no_store_then_back(void **state)
{
	(void)state;
	char *dir = g_dir_make_tmp("test_filter-XXXXXX", NULL);
	char *db = g_build_filename(dir, "store.db", NULL);
	assert_true(g_file_set_contents(db, "this file is no database, as a corrupt store is not", -1, NULL));
	struct fx fx;
	struct fake_mta mta;
	char *err = NULL;
	fx_start_in(&fx, dir, NULL);
	assert_null(filter_store(fx.f));

	mta_init(&mta);
	assert_int_equal(
	    send_one(&fx, "mx", "<dana@client.example>", "<sam@acme.example>", "complaint.eml", &mta),
	    FILTER_ACCEPT);
	assert_int_equal(send_reply(&fx, "reply-bad.eml", &mta), FILTER_ACCEPT);
	assert_non_null(mta.quarantined);
	assert_true(g_str_has_prefix(added(&mta, "X-Apology-Check"), "hold; score="));
	char *token = g_strdup(added(&mta, "X-Apology-Token"));
	assert_non_null(token);
	mta_clear(&mta);
	/* Without the stored complaint its arrival time is unknown: the date the
	 * reply quotes makes the good reply late (advise), where with the store
	 * it passes (test_complaint_then_reply). */
	expect_reply(&fx, "reply-good.eml", "advise; score=", false);
	GPtrArray *holds = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	/* the complaint, the hold, its decision, the good reply's apology and decision */
	assert_int_equal(spooled(&fx, holds), 5);
	assert_int_equal(holds->len, 1);
	assert_string_equal(((struct store_quarantine *)holds->pdata[0])->token, token);
	g_ptr_array_unref(holds);

	/* Still no store: the upkeep leaves everything as it is. */
	upkeep_run(fx.f, fx.writer, &fx.cfg);
	assert_null(filter_store(fx.f));
	assert_int_equal(spooled(&fx, NULL), 5);

	/* The store can be opened again (the broken file moved away). */
	assert_int_equal(g_unlink(db), 0);
	upkeep_run(fx.f, fx.writer, &fx.cfg);
	assert_non_null(filter_store(fx.f));
	assert_int_equal(spooled(&fx, NULL), 0);
	struct store *st = fx_store(&fx);
	struct store_quarantine q;
	assert_int_equal(store_quarantine_get(st, token, &q, &err), STORE_FOUND);
	assert_string_equal(q.queue_id, "QID1");
	assert_string_equal(q.state, "held");
	assert_non_null(strstr(q.raw, "\r\n\r\nDana,\r\n"));
	store_quarantine_clear(&q);
	const char *id = "complaint-4471@client.example";
	struct store_complaint c;
	assert_int_equal(store_complaint_find(st, &id, 1, &c, &err), STORE_FOUND);
	store_complaint_clear(&c);
	GArray *h = g_array_new(FALSE, TRUE, sizeof(struct history_entry));
	assert_true(store_history_get(st, "sam@acme.example", "client.example", 0, NULL, 10, h, &err));
	assert_int_equal(h->len, 1);
	g_array_free(h, TRUE);
	GArray *decisions = store_decisions_new();
	assert_true(store_decisions_list(st, 0, NULL, decisions, &err));
	assert_int_equal(decisions->len, 2); /* in the order they were made */
	assert_string_equal(g_array_index(decisions, struct store_decision, 0).verdict, "hold");
	assert_string_equal(g_array_index(decisions, struct store_decision, 1).verdict, "advise");
	g_array_unref(decisions);

	/* From now on records go straight to the store. */
	expect_reply(&fx, "reply-bad.eml", "hold; score=", true);
	assert_int_equal(spooled(&fx, NULL), 0);
	gint64 n = 0;
	assert_true(store_quarantine_count(st, &(struct store_query){.state = "held"}, &n, &err));
	assert_int_equal(n, 2);
	store_close(st);
	g_free(token);
	g_free(db);
	g_free(dir);
	fx_stop(&fx);
}

/* Without a store and without a spool (spool.directory empty, or the spool
 * unwritable), a bad reply is still held: its record is only logged. */
static void test_no_store_no_spool(void **state)
{
	(void)state;
	struct fx fx;
	fx_start(&fx,
	         (const char *const[]){"store=sqlite:/nonexistent-dir/store.db", "spool.directory=", NULL});
	assert_null(filter_store(fx.f));
	expect_reply(&fx, "reply-bad.eml", "hold; score=", true);
	expect_reply(&fx, "note.eml", NULL, false);
	fx_stop(&fx);
}

static void test_size_cap(void **state)
{
	(void)state;
	struct fx fx;
	struct fake_mta mta;
	fx_start(&fx, (const char *const[]){"limits.max-message-size=64K", NULL});
	mta_init(&mta);
	struct filter_session *s = filter_session_new(fx.f, NULL, "");
	filter_set_daemon_name(s, "ORIGINATING");
	assert_int_equal(filter_mail(s, "<sam@acme.example>", NULL), FILTER_CONTINUE);
	filter_rcpt(s, "<dana@client.example>");
	assert_int_equal(filter_data(s), FILTER_CONTINUE);
	feed(s, "reply-bad.eml");
	char chunk[8192];
	memset(chunk, 'x', sizeof chunk);
	for (int i = 0; i < 10; i++)
		filter_body(s, (const unsigned char *)chunk, sizeof chunk);
	assert_int_equal(filter_end_of_message(s, "QID2", &fake_ops, &mta), FILTER_ACCEPT);
	assert_string_equal(added(&mta, "X-Apology-Check"), "unchecked; reason=message-over-the-size-limit");
	filter_session_free(s);
	mta_clear(&mta);
	fx_stop(&fx);
}

/* An outgoing message from sam@acme.example to a client, through DATA. */
static struct filter_session *begin_reply(struct fx *fx)
{
	struct filter_session *s = filter_session_new(fx->f, NULL, "");
	filter_set_daemon_name(s, "ORIGINATING");
	assert_int_equal(filter_mail(s, "<sam@acme.example>", NULL), FILTER_CONTINUE);
	filter_rcpt(s, "<dana@client.example>");
	assert_int_equal(filter_data(s), FILTER_CONTINUE);
	return s;
}

/* BYTES more of body, in 64 KB chunks. */
static void body_bytes(struct filter_session *s, size_t bytes)
{
	static unsigned char chunk[65535];
	memset(chunk, 'x', sizeof chunk);
	for (size_t sent = 0; sent < bytes; sent += sizeof chunk)
		filter_body(s, chunk, MIN(sizeof chunk, bytes - sent));
}

/* limits.memory-budget over all sessions: a message its buffer finds the
 * budget full for is let go of and deferred at its end (4xx: the MTA sends
 * it again), never judged half; one of up to 64 KB is never refused; what a
 * message took comes back when it ends. */
static void test_memory_budget(void **state)
{
	(void)state;
	struct fx fx;
	struct fake_mta mta;
	fx_start(&fx, (const char *const[]){"limits.memory-budget=1M", NULL});
	struct filter_session *big = begin_reply(&fx);
	feed(big, "reply-bad.eml");
	body_bytes(big, 1024 * 1024); /* all the budget and its first 64 KB */
	assert_false(filter_refused(big));

	struct filter_session *more = begin_reply(&fx);
	feed(more, "reply-bad.eml");
	body_bytes(more, 200 * 1024);
	assert_true(filter_refused(more));
	assert_int_equal(filter_message_bytes(more), 0);
	mta_init(&mta);
	unsigned before = analysed;
	assert_int_equal(filter_end_of_message(more, "QID3", &fake_ops, &mta), FILTER_TEMPFAIL);
	assert_int_equal(analysed, before);
	assert_non_null(mta.reply);
	assert_true(g_str_has_prefix(mta.reply, "451 4.3.0 "));
	assert_null(added(&mta, "X-Apology-Check"));
	mta_clear(&mta);

	struct filter_session *small = begin_reply(&fx);
	feed(small, "reply-bad.eml");
	mta_init(&mta);
	assert_int_equal(filter_end_of_message(small, "QID4", &fake_ops, &mta), FILTER_ACCEPT);
	assert_non_null(mta.quarantined);
	mta_clear(&mta);

	mta_init(&mta);
	assert_int_equal(filter_end_of_message(big, "QID5", &fake_ops, &mta), FILTER_ACCEPT);
	assert_non_null(added(&mta, "X-Apology-Check"));
	mta_clear(&mta);
	/* The budget is back: the same message as the refused one is judged. */
	assert_int_equal(filter_mail(more, "<sam@acme.example>", NULL), FILTER_CONTINUE);
	filter_rcpt(more, "<dana@client.example>");
	assert_int_equal(filter_data(more), FILTER_CONTINUE);
	feed(more, "reply-bad.eml");
	body_bytes(more, 200 * 1024);
	assert_false(filter_refused(more));
	mta_init(&mta);
	assert_int_equal(filter_end_of_message(more, "QID6", &fake_ops, &mta), FILTER_ACCEPT);
	assert_non_null(mta.quarantined);
	mta_clear(&mta);

	/* The front end could not take a packet of this message. */
	assert_int_equal(filter_mail(more, "<sam@acme.example>", NULL), FILTER_CONTINUE);
	filter_rcpt(more, "<dana@client.example>");
	assert_int_equal(filter_data(more), FILTER_CONTINUE);
	feed(more, "reply-bad.eml");
	filter_refuse(more);
	mta_init(&mta);
	assert_int_equal(filter_end_of_message(more, "QID7", &fake_ops, &mta), FILTER_TEMPFAIL);
	mta_clear(&mta);
	filter_session_free(more);
	filter_session_free(small);
	filter_session_free(big);
	fx_stop(&fx);
}

/* A message over the policy's max-parts (200) is counted so while it comes
 * and never handed to the core, outgoing or inbound. */
static void test_parts_counted_before_parsing(void **state)
{
	(void)state;
	struct fx fx;
	struct fake_mta mta;
	fx_start(&fx, NULL);
	for (int outgoing = 1; outgoing >= 0; outgoing--) {
		struct filter_session *s = filter_session_new(fx.f, NULL, "198.51.100.7");
		filter_set_daemon_name(s, outgoing ? "ORIGINATING" : "MTA");
		assert_int_equal(
		    filter_mail(s, outgoing ? "<sam@acme.example>" : "<dana@client.example>", NULL),
		    FILTER_CONTINUE);
		filter_rcpt(s, outgoing ? "<dana@client.example>" : "<sam@acme.example>");
		assert_int_equal(filter_data(s), FILTER_CONTINUE);
		filter_header(s, "From", outgoing ? "sam@acme.example" : "dana@client.example");
		filter_header(s, "Message-ID", "<parts@client.example>");
		filter_header(s, "Content-Type", "multipart/mixed;\n boundary=\"b\"");
		filter_end_of_headers(s);
		const char part[] = "--b\r\n\r\n";
		for (int i = 0; i < 300; i++)
			filter_body(s, (const unsigned char *)part, sizeof part - 1);
		filter_body(s, (const unsigned char *)"--b--\r\n", 7);
		assert_int_equal(filter_message_bytes(s), 0); /* nothing to judge: on the loop */
		mta_init(&mta);
		unsigned before = analysed;
		assert_int_equal(filter_end_of_message(s, "QID8", &fake_ops, &mta), FILTER_ACCEPT);
		assert_int_equal(analysed, before);
		if (outgoing)
			assert_string_equal(added(&mta, "X-Apology-Check"),
			                    "unchecked; reason=too-many-mime-parts");
		mta_clear(&mta);
		filter_session_free(s);
	}
	fx_stop(&fx);
}

static void test_forged_headers_removed(void **state)
{
	(void)state;
	struct fx fx;
	struct fake_mta mta;
	fx_start(&fx, (const char *const[]){"headers.on-pass=yes", NULL});
	mta_init(&mta);
	struct filter_session *s = filter_session_new(fx.f, NULL, "");
	filter_set_daemon_name(s, "ORIGINATING");
	assert_int_equal(filter_mail(s, "<sam@acme.example>", NULL), FILTER_CONTINUE);
	filter_rcpt(s, "<dana@client.example>");
	filter_data(s);
	filter_header(s, "X-Apology-Check", "pass");
	filter_header(s, "x-apology-token", "0000");
	filter_header(s, "X-Apology-Check", "pass");
	feed(s, "note.eml");
	assert_int_equal(filter_end_of_message(s, "QID3", &fake_ops, &mta), FILTER_ACCEPT);
	assert_int_equal(mta.deleted->len, 3);
	assert_string_equal(mta.deleted->pdata[0], "X-Apology-Check#2");
	assert_string_equal(mta.deleted->pdata[1], "X-Apology-Check#1");
	assert_string_equal(mta.deleted->pdata[2], "X-Apology-Token#1");
	assert_string_equal(added(&mta, "X-Apology-Check"), "pass; score=0");
	filter_session_free(s);
	mta_clear(&mta);
	fx_stop(&fx);
}

/* Where the sentence encoder would run (milliseconds, where the rest of a
 * judgement takes microseconds), a filter asked to defer it stops with
 * nothing done: a reply the gate is unsure of, a complaint arriving that
 * it does not detect.  Judged again, each is what it is without the
 * request.  A reply or complaint the gate is sure of is judged at once. */
static void test_encoder_deferred(void **state)
{
	(void)state;
	struct fx fx;
	struct fake_mta mta, plain;
	enum filter_reply first;
	char *err = NULL;
	fx_start(&fx, NULL);
	mta_init(&mta);
	mta_init(&plain);
	assert_int_equal(send_message(&fx, "ORIGINATING", "<sam@acme.example>", "<dana@client.example>",
	                              "reply-near-miss.eml", &mta, &first),
	                 FILTER_ACCEPT);
	assert_int_equal(first, FILTER_AGAIN);
	assert_int_equal(send_one(&fx, "ORIGINATING", "<sam@acme.example>", "<dana@client.example>",
	                          "reply-unclear.eml", &plain),
	                 FILTER_ACCEPT);
	mta_clear(&mta);
	mta_init(&mta);
	/* judged again, as without the request (advised: its headers alike) */
	assert_int_equal(send_message(&fx, "ORIGINATING", "<sam@acme.example>", "<dana@client.example>",
	                              "reply-unclear.eml", &mta, &first),
	                 FILTER_ACCEPT);
	assert_non_null(added(&mta, "X-Apology-Check"));
	assert_string_equal(added(&mta, "X-Apology-Check"), added(&plain, "X-Apology-Check"));
	mta_clear(&mta);
	mta_clear(&plain);
	/* sure: held at once */
	mta_init(&mta);
	assert_int_equal(send_message(&fx, "ORIGINATING", "<sam@acme.example>", "<dana@client.example>",
	                              "reply-bad.eml", &mta, &first),
	                 FILTER_ACCEPT);
	assert_int_equal(first, FILTER_ACCEPT);
	assert_non_null(mta.quarantined);
	mta_clear(&mta);
	/* arriving: the one the gate does not detect waits for the encoder and
	 * is then stored unclear; the one it detects is stored at once */
	mta_init(&mta);
	assert_int_equal(send_message(&fx, "mx", "<dana@client.example>", "<sam@acme.example>",
	                              "complaint-unclear.eml", &mta, &first),
	                 FILTER_ACCEPT);
	assert_int_equal(first, FILTER_AGAIN);
	assert_int_equal(send_message(&fx, "mx", "<dana@client.example>", "<sam@acme.example>",
	                              "complaint.eml", &mta, &first),
	                 FILTER_ACCEPT);
	assert_int_equal(first, FILTER_ACCEPT);
	struct store *st = fx_store(&fx);
	struct store_complaint c;
	const char *ids[] = {"report-5120@client.example", "complaint-4471@client.example"};
	assert_int_equal(store_complaint_find(st, &ids[0], 1, &c, &err), STORE_FOUND);
	assert_true(c.unclear);
	store_complaint_clear(&c);
	assert_int_equal(store_complaint_find(st, &ids[1], 1, &c, &err), STORE_FOUND);
	assert_false(c.unclear);
	store_complaint_clear(&c);
	store_close(st);
	mta_clear(&mta);
	fx_stop(&fx);
}

/* Start a message of FILE from SENDER to RCPT through DAEMON and stop
 * where an event loop would hand it on: at the encoder.  The session is
 * the caller's. */
static struct filter_session *defer_at_encoder(struct fx *fx, const char *daemon, const char *sender,
                                               const char *rcpt, const char *file, struct fake_mta *mta)
{
	enum filter_reply r;
	struct filter_session *s = open_message(fx, daemon, sender, rcpt, file, &r);
	assert_int_equal(r, FILTER_CONTINUE);
	filter_defer_encoder(s, true);
	assert_int_equal(filter_end_of_message(s, "QID1", &fake_ops, mta), FILTER_AGAIN);
	return s;
}

/* A reply an event loop stopped judging where the encoder would run is
 * taken on with what the store told the loop, not asked again: a complaint
 * stored meanwhile is not seen (a fresh look-up then advises the reply).
 * While it waits for a judge it holds no in-flight mark: a daemon that
 * dies then (kill -9) counts no crash of it at the next start, and nor
 * does one taken on or never taken on (the connection gone). */
static void test_encoder_handover_kept(void **state)
{
	(void)state;
	struct fx fx;
	struct fake_mta mta;
	char *err = NULL;
	fx_start(&fx, NULL);
	fx_close(&fx);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fx_open(&fx);
		mta_init(&mta);
		defer_at_encoder(&fx, "ORIGINATING", "<sam@acme.example>", "<dana@client.example>",
		                 "reply-near-miss.eml", &mta);
		raise(SIGKILL);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	struct store *st = fx_store(&fx);
	assert_int_equal(store_inflight_recover(st, 0, &err), 0);
	store_close(st);
	fx_open(&fx);
	mta_init(&mta);
	/* handed over, and never taken on */
	filter_session_free(defer_at_encoder(&fx, "ORIGINATING", "<alex@acme.example>",
	                                     "<dana@client.example>", "reply-near-miss.eml", &mta));
	filter_session_free(defer_at_encoder(&fx, "mx", "<dana@client.example>", "<sam@acme.example>",
	                                     "complaint-unclear.eml", &mta));
	/* handed over, the complaint stored meanwhile, and taken on */
	struct filter_session *s = defer_at_encoder(&fx, "ORIGINATING", "<sam@acme.example>",
	                                            "<dana@client.example>", "reply-near-miss.eml", &mta);
	st = fx_store(&fx);
	struct store_complaint invoice = {
	    "invoice-4471@client.example", "192.0.2.1", "client.example", 1740993120, false, 0, false};
	assert_true(store_complaint_put(st, &invoice, &err));
	store_close(st);
	filter_defer_encoder(s, false);
	assert_int_equal(filter_end_of_message(s, "QID1", &fake_ops, &mta), FILTER_ACCEPT);
	assert_null(added(&mta, "X-Apology-Check")); /* passed, as the loop's look-up found nothing */
	filter_session_free(s);
	mta_clear(&mta);
	/* looked up afresh, the same reply answers the stored complaint */
	mta_init(&mta);
	assert_int_equal(send_one(&fx, "ORIGINATING", "<sam@acme.example>", "<dana@client.example>",
	                          "reply-near-miss.eml", &mta),
	                 FILTER_ACCEPT);
	assert_non_null(added(&mta, "X-Apology-Check"));
	assert_true(g_str_has_prefix(added(&mta, "X-Apology-Check"), "advise; score="));
	mta_clear(&mta);
	fx_close(&fx);
	st = fx_store(&fx);
	assert_int_equal(store_inflight_recover(st, 0, &err), 0);
	store_close(st);
	fx_open(&fx);
	fx_stop(&fx);
}

/* FILE arrives on the inbound port from a client, passes untouched, and
 * its complaint (Message-ID ID) is in the store: into *C; returns the store
 * (the caller closes it). */
static struct store *receive_complaint(struct fx *fx, struct fake_mta *mta, const char *file, const char *id,
                                       struct store_complaint *c)
{
	char *err = NULL;
	assert_int_equal(send_one(fx, "mx", "<dana@client.example>", "<sam@acme.example>", file, mta),
	                 FILTER_ACCEPT);
	assert_int_equal(mta->added->len, 0);
	struct store *st = fx_store(fx);
	assert_int_equal(store_complaint_find(st, &id, 1, c, &err), STORE_FOUND);
	return st;
}

/* A complaint arrives, then the reply to it; then one stored unclear. */
static void test_complaint_then_reply(void **state)
{
	(void)state;
	struct fx fx;
	struct fake_mta mta;
	char *err = NULL;
	fx_start(&fx, NULL);
	mta_init(&mta);
	/* The complaint arrives on the inbound port and is recorded... */
	struct store_complaint c;
	struct store *st = receive_complaint(&fx, &mta, "complaint.eml", "complaint-4471@client.example", &c);
	assert_string_equal(c.client_domain, "client.example");
	assert_string_equal(c.client_addr, "192.0.2.1");
	assert_true(c.serious);
	assert_false(c.unclear); /* the gate sees it: clear */
	store_complaint_clear(&c);
	/* ...and an apology that answers it goes into the history. */
	assert_int_equal(send_one(&fx, "ORIGINATING", "<sam@acme.example>", "<dana@client.example>",
	                          "reply-good.eml", &mta),
	                 FILTER_ACCEPT);
	GArray *h = g_array_new(FALSE, TRUE, sizeof(struct history_entry));
	assert_true(store_history_get(st, "sam@acme.example", "client.example", 0, NULL, 10, h, &err));
	assert_int_equal(h->len, 1);
	g_array_free(h, TRUE);
	store_close(st);
	mta_clear(&mta);
	fx_stop(&fx);

	/* A complaint just short of the gate's bar (within
	 * models.inbound-margin) is stored unclear; a reply to it that would be
	 * held answering a clear one is advised instead, and goes out with the
	 * advisory headers. */
	fx_start(&fx, NULL);
	mta_init(&mta);
	st = receive_complaint(&fx, &mta, "complaint-unclear.eml", "report-5120@client.example", &c);
	assert_true(c.unclear);
	assert_false(c.serious);
	store_complaint_clear(&c);
	assert_int_equal(send_one(&fx, "ORIGINATING", "<sam@acme.example>", "<dana@client.example>",
	                          "reply-unclear.eml", &mta),
	                 FILTER_ACCEPT);
	assert_null(mta.quarantined);
	const char *check = added(&mta, "X-Apology-Check");
	assert_non_null(check);
	assert_true(g_str_has_prefix(check, "advise; score="));
	assert_non_null(strstr(check, "defensive")); /* what would hold under a clear complaint */
	store_close(st);
	mta_clear(&mta);
	fx_stop(&fx);

	/* the same thread under a clear complaint: held */
	fx_start(&fx, NULL);
	mta_init(&mta);
	st = fx_store(&fx);
	struct store_complaint clear = {
	    "report-5120@client.example", "192.0.2.1", "client.example", 1740993120, false, 0, false};
	assert_true(store_complaint_put(st, &clear, &err));
	store_close(st);
	send_one(&fx, "ORIGINATING", "<sam@acme.example>", "<dana@client.example>", "reply-unclear.eml",
	         &mta);
	assert_non_null(mta.quarantined);
	mta_clear(&mta);
	fx_stop(&fx);
}

/* Reload and check what filter_reload() reports; returns whether the
 * policy in use changed. */
static bool reload_expect(struct fx *fx, enum filter_reload want, const char *report_has,
                          const char *changes_has)
{
	char *report = NULL, *changes = NULL;
	struct policy *before = filter_policy(fx->f);
	enum filter_reload got = filter_reload(fx->f, &report, &changes);
	struct policy *after = filter_policy(fx->f);
	if (got != want || strstr(report, report_has) == NULL || strstr(changes, changes_has) == NULL)
		print_error("reload %d (want %d)\n  report: %s\n  changes: %s\n", got, want, report, changes);
	assert_int_equal(got, want);
	assert_non_null(strstr(report, report_has));
	assert_non_null(strstr(changes, changes_has));
	bool swapped = before != after;
	policy_unref(before);
	policy_unref(after);
	g_free(report);
	g_free(changes);
	return swapped;
}

/* The number of patterns of the shipped policy, as reload reports count them. */
static unsigned default_patterns(void)
{
	char *err = NULL;
	struct policy *p = policy_load("policies/default.yaml", &err);
	assert_non_null(p);
	unsigned n = policy_pattern_count(p);
	policy_unref(p);
	return n;
}

static void test_reload(void **state)
{
	(void)state;
	struct fx fx;
	fx_start(&fx, NULL);
	unsigned n = default_patterns();
	char *same =
	    g_strdup_printf("policy reloaded: policies/default.yaml (%u patterns, was %u); no change", n, n);
	assert_true(reload_expect(&fx, FILTER_RELOADED, same, ""));
	g_free(same);
	/* A policy that does not load leaves the current one in place. */
	char *err = NULL;
	assert_true(config_set(&fx.cfg, "policy=/nonexistent/policy.yaml", &err));
	assert_false(reload_expect(&fx, FILTER_RELOAD_BAD,
	                           "policy not reloaded, keeping the old one: /nonexistent/policy.yaml:1:1: "
	                           "cannot read",
	                           ""));
	fx_stop(&fx);
}

/* A reload of a policy cut short (the last three rules gone) is refused
 * and the old policy goes on, unless policy-reload-shrink is allow; the
 * differences are reported either way. */
static void test_reload_shrink(void **state)
{
	(void)state;
	char *text = NULL;
	assert_true(g_file_get_contents("policies/default.yaml", &text, NULL, NULL));
	/* over-apology's phrases, one "      - " line each in the shipped file */
	unsigned phrases = 0;
	const char *p = strstr(text, "\n  over-apology:\n");
	assert_non_null(p);
	for (const char *end = strstr(p, "\n    intensifiers:");
	     (p = strstr(p + 1, "\n      - ")) && p < end;)
		phrases++;
	assert_true(phrases > 30);
	char *cut = strstr(text, "\n  late-reply:\n");
	assert_non_null(cut);
	cut[1] = '\0';
	struct fx fx;
	fx_start(&fx, NULL);
	char *path = g_build_filename(fx.dir, "policy.yaml", NULL);
	write_policy(path, text);
	char *opt = g_strconcat("policy=", path, NULL), *err = NULL;
	assert_true(config_set(&fx.cfg, opt, &err));

	assert_false(reload_expect(&fx, FILTER_RELOAD_SHRINKS, "policy not reloaded, keeping the old one: ",
	                           "rule late-reply: enabled -> off"));
	/* the over-apology lists cut: its phrases and 16 intensifiers */
	unsigned n = default_patterns(), shrunk = n - phrases - 16;
	char *loses =
	    g_strdup_printf("loses rules late-reply, repeat-apology, over-apology (%u patterns, was %u); "
	                    "to take it anyway restart apology-milter, or set policy-reload-shrink: allow",
	                    shrunk, n);
	char *lists = g_strdup_printf("rules.over-apology.phrases: %u -> 0 patterns", phrases);
	assert_false(reload_expect(&fx, FILTER_RELOAD_SHRINKS, loses, lists));
	g_free(lists);
	g_free(loses);

	assert_true(config_set(&fx.cfg, "policy-reload-shrink=allow", &err));
	assert_true(reload_expect(&fx, FILTER_RELOADED_SHRUNK,
	                          "policy reloaded: ", "rule over-apology: enabled -> off"));
	/* back to the whole file: it grows, nothing to refuse */
	assert_true(config_set(&fx.cfg, "policy-reload-shrink=refuse", &err));
	assert_true(config_set(&fx.cfg, "policy=policies/default.yaml", &err));
	char *grows = g_strdup_printf("(%u patterns, was %u)", n, shrunk);
	assert_true(reload_expect(&fx, FILTER_RELOADED, grows, "rule late-reply: off -> enabled"));
	g_free(grows);
	fx_stop(&fx);
	g_free(opt);
	g_free(path);
	g_free(text);
}

/* The value of the series of FAMILY (daemon_metrics.h) with these labels. */
#define METRIC(family, ...) metric_value(metric_at(daemon_metrics()->family, __VA_ARGS__))

/* What the filter counts for the daemon's metrics, as deltas over messages
 * sent here (the registry is the process's). */
static void test_metrics_counted(void **state)
{
	(void)state;
	struct fx fx;
	struct fake_mta mta;
	const struct daemon_metrics *dm = daemon_metrics();
	int64_t pass = METRIC(messages, "outgoing", "pass"), hold = METRIC(messages, "outgoing", "hold"),
	        unchecked = METRIC(messages, "outgoing", "unchecked"),
	        nesting = METRIC(unchecked, "MIME nesting too deep"),
	        blame = METRIC(rule_hits, "blame-third-party"), held = METRIC(actions, "hold"),
	        skipped = METRIC(skipped, "no-client-recipient"), bad = METRIC(reloads, "bad"),
	        engine = metric_value(metric_at(dm->engine_seconds, "outgoing")),
	        eom = metric_value(metric_at(dm->eom_seconds, "outgoing")),
	        sessions = metric_value(metric_at(dm->sessions));
	fx_start(&fx, NULL);
	mta_init(&mta);
	assert_int_equal(send_reply(&fx, "note.eml", &mta), FILTER_ACCEPT);
	mta_clear(&mta);
	hold_bad_reply(&fx, &mta);
	mta_clear(&mta);
	mta_init(&mta);
	assert_int_equal(send_reply(&fx, "reply-nested.eml", &mta), FILTER_ACCEPT);
	mta_clear(&mta);
	mta_init(&mta);
	assert_int_equal(
	    send_one(&fx, "ORIGINATING", "<sam@acme.example>", "<lee@acme.example>", "note.eml", &mta),
	    FILTER_ACCEPT); /* to a colleague: not judged */
	mta_clear(&mta);
	char *err = NULL, *report = NULL, *changes = NULL;
	assert_true(config_set(&fx.cfg, "policy=/nonexistent/policy.yaml", &err));
	assert_int_equal(filter_reload(fx.f, &report, &changes), FILTER_RELOAD_BAD);
	g_free(report);
	g_free(changes);

	assert_int_equal(METRIC(messages, "outgoing", "pass") - pass, 1);
	assert_int_equal(METRIC(messages, "outgoing", "hold") - hold, 1);
	assert_int_equal(METRIC(messages, "outgoing", "unchecked") - unchecked, 1);
	assert_int_equal(METRIC(unchecked, "MIME nesting too deep") - nesting, 1);
	assert_int_equal(METRIC(rule_hits, "blame-third-party") - blame, 1);
	assert_int_equal(METRIC(actions, "hold") - held, 1);
	assert_int_equal(METRIC(skipped, "no-client-recipient") - skipped, 1);
	assert_int_equal(METRIC(reloads, "bad") - bad, 1);
	/* the core ran on the three judged replies (the nested one it refused) */
	assert_int_equal(metric_value(metric_at(dm->engine_seconds, "outgoing")) - engine, 3);
	assert_int_equal(metric_value(metric_at(dm->eom_seconds, "outgoing")) - eom, 3);
	assert_int_equal(metric_value(metric_at(dm->sessions)), sessions);
	assert_int_equal(metric_value(metric_at(dm->in_flight)), 0);
	fx_stop(&fx);
}

int main(void)
{
	message_library_init();
	log_open("test_filter", true, 0);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scope_accepts_early),
	    cmocka_unit_test(test_recipient_domains),
	    cmocka_unit_test(test_pass_untouched),
	    cmocka_unit_test(test_hold),
	    cmocka_unit_test(test_hold_sealed),
	    cmocka_unit_test(test_message_id_with_controls),
	    cmocka_unit_test(test_hold_refused_defers),
	    cmocka_unit_test(test_reject),
	    cmocka_unit_test(test_monitor),
	    cmocka_unit_test(test_near_miss_sampled),
	    cmocka_unit_test(test_decisions_recorded),
	    cmocka_unit_test(test_on_error),
	    cmocka_unit_test(test_crash_then_poison),
	    cmocka_unit_test(test_full_disk_judged),
	    cmocka_unit_test(test_no_store_then_back),
	    cmocka_unit_test(test_no_store_no_spool),
	    cmocka_unit_test(test_size_cap),
	    cmocka_unit_test(test_memory_budget),
	    cmocka_unit_test(test_parts_counted_before_parsing),
	    cmocka_unit_test(test_forged_headers_removed),
	    cmocka_unit_test(test_complaint_then_reply),
	    cmocka_unit_test(test_encoder_deferred),
	    cmocka_unit_test(test_encoder_handover_kept),
	    cmocka_unit_test(test_reload),
	    cmocka_unit_test(test_reload_shrink),
	    cmocka_unit_test(test_metrics_counted),
	};
	return cmocka_run_group_tests_name("filter", tests, NULL, NULL);
}
