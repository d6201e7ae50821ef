/*
 * filter.c - the daemon's work on each message, between the milter protocol
 * (apology-milter.c) and the pure core (apology_check).  In order:
 *
 *   MAIL FROM   outgoing or inbound?  out of scope -> accept at once
 *   DATA        no client among the recipients -> accept at once
 *   headers     buffer the message (bounded: limits.max-message-size, and
 *               limits.memory-budget over all sessions: no room, the
 *               message is deferred), count its MIME parts (mime_count),
 *               note Message-ID and references
 *   end         outgoing: context from the store -> apology_check -> act
 *               inbound:  classify the text -> record a complaint
 *
 * Acting means headers, a hold (quarantine first, store record second), a
 * reject, or nothing in monitor mode; what happens to a message that cannot
 * be analysed is one setting (on-error).  Side effects on the store never
 * decide the fate of the mail, and mail never waits on the database: the
 * records are handed to the store writer (writer.h), which writes them
 * after the MTA has its answer, or to the spool (spool.h) when the writer
 * cannot take them, or when even that fails, only to the message's log
 * line, and the message goes on.  A hold's record is in the daemon's
 * journal (spool.h) before the MTA has its answer, so a kill of the
 * daemon does not lose it.  The lookups before judging wait at most
 * store-busy-timeout for another process's lock; a reply whose lookup
 * fails, and every reply while there is no store, is judged without stored
 * complaints and apology history (and without the crash guard).  Every
 * message is counted in the daemon's metrics (daemon_metrics.h): atomic
 * adds, never a wait on a scrape.
 */
#include <string.h>
#include <netinet/in.h>

#include "budget.h"
#include "daemon_metrics.h"
#include "decision.h"
#include "filter.h"
#include "holdseal.h"
#include "hostname.h"
#include "log.h"
#include "policy.h"
#include "render.h"
#include "render_headers.h"
#include "scope.h"
#include "spool.h"
#include "message.h"
#include "store.h"
#include "thread.h"
#include "termtext.h"
#include "token.h"
#include "writer.h"

/* References beyond this many ids are not looked up. */
#define MAX_REFERENCE_IDS 20
/* Apology history entries read per reply. */
#define MAX_HISTORY 200

struct filter {
	const struct config *cfg;
	struct scope scope;
	struct store *store;   /* atomic: NULL while the store is unavailable; set once */
	struct writer *writer; /* borrowed: the records go there */
	GMutex policy_lock;    /* guards pol */
	struct policy *pol;
	GMutex flight_lock; /* guards in_flight and draining */
	GCond flight_done;
	unsigned in_flight;
	bool draining;
	struct holdseal_key *hold_key; /* seals hold tokens; NULL: they are not sealed */
	struct budget *budget;         /* limits.memory-budget, for every session's message */
};

/* Our own header names, in the order of config fields below. */
enum own_header { OWN_CHECK, OWN_FINDINGS, OWN_TOKEN, OWN_COUNT };

struct filter_session {
	struct filter *f;
	char *client_text;
	struct sockaddr_storage client;
	bool have_client;
	char *daemon_name;
	bool leading_space;

	/* the current message */
	bool active; /* counted in f->in_flight */
	bool outgoing;
	struct policy *pol;
	char *sender;
	GPtrArray *rcpts; /* at most MAX_RCPTS, and past them a first client */
	bool client_rcpt; /* a recipient is a client the policy applies to */
	GString *raw;
	size_t charged; /* bytes of the budget taken for raw */
	size_t body_start;
	bool over_cap;
	bool refused;            /* the budget had no room for it: deferred at its end */
	struct mime_count parts; /* counted as raw grows, before GMime sees it */
	const char *too_many;    /* MESSAGE_TOO_MANY_PARTS once parts passes the policy's cap */
	char *message_id;
	GPtrArray *refs; /* ids from In-Reply-To, then References (newest first) */
	int own[OWN_COUNT];
	bool defer_encoder; /* filter_defer_encoder() */
	/* A reply an event loop stopped judging where the encoder would run:
	 * what the store told it and its fingerprint, for the judge thread that
	 * takes it on. */
	struct known *kept;
	char *kept_fp;
	gint64 eom_started; /* the first end-of-message pass, for its histogram */
};

static void release_kept(struct filter_session *s);

/* ---- the shared filter ------------------------------------------------ */

struct filter *filter_new(const struct config *cfg, struct store *store, struct writer *writer,
                          struct policy *pol)
{
	struct filter *f = g_new0(struct filter, 1);
	f->cfg = cfg;
	scope_compile(&f->scope, cfg);
	f->store = store;
	f->writer = writer;
	f->pol = pol;
	g_mutex_init(&f->policy_lock);
	g_mutex_init(&f->flight_lock);
	g_cond_init(&f->flight_done);
	f->budget = budget_new((size_t)cfg->memory_budget);
	metric_set(metric_at(daemon_metrics()->store_available), store != NULL);
	metric_set(metric_at(daemon_metrics()->policy_patterns), policy_pattern_count(pol));
	return f;
}

void filter_free(struct filter *f)
{
	if (f == NULL)
		return;
	scope_clear(&f->scope);
	store_close(filter_store(f));
	if (f->pol)
		policy_unref(f->pol);
	g_mutex_clear(&f->policy_lock);
	g_mutex_clear(&f->flight_lock);
	g_cond_clear(&f->flight_done);
	if (f->hold_key != NULL) {
		holdseal_key_clear(f->hold_key);
		g_free(f->hold_key);
	}
	budget_free(f->budget);
	g_free(f);
}

struct budget *filter_budget(struct filter *f)
{
	return f->budget;
}

struct store *filter_store(struct filter *f)
{
	return g_atomic_pointer_get(&f->store);
}

void filter_set_store(struct filter *f, struct store *st)
{
	g_assert(filter_store(f) == NULL);
	g_atomic_pointer_set(&f->store, st);
	metric_set(metric_at(daemon_metrics()->store_available), 1);
}

void filter_set_hold_key(struct filter *f, const struct holdseal_key *key)
{
	if (f->hold_key == NULL)
		f->hold_key = g_new(struct holdseal_key, 1);
	*f->hold_key = *key;
}

struct policy *filter_policy(struct filter *f)
{
	g_mutex_lock(&f->policy_lock);
	struct policy *pol = policy_ref(f->pol);
	g_mutex_unlock(&f->policy_lock);
	return pol;
}

/* The differences, one line each, as one "; "-separated line. */
static char *one_line(GString *lines)
{
	g_strchomp(lines->str);
	char **parts = g_strsplit(lines->str, "\n", -1);
	char *joined = g_strjoinv("; ", parts);
	g_strfreev(parts);
	g_string_free(lines, TRUE);
	return joined;
}

/* The log line of a reload of PATH that loaded: refused when it shrinks
 * (LOST says what it loses) and shrinking is not allowed, else taken. */
static char *reload_report(const char *path, enum filter_reload how, const char *lost, unsigned is,
                           unsigned was, bool changed)
{
	switch (how) {
	case FILTER_RELOAD_SHRINKS:
		return g_strdup_printf(
		    "policy not reloaded, keeping the old one: %s loses %s (%u patterns, was "
		    "%u); to take it anyway restart apology-milter, or set "
		    "policy-reload-shrink: allow",
		    path, lost, is, was);
	case FILTER_RELOADED_SHRUNK:
		return g_strdup_printf("policy reloaded: %s (%u patterns, was %u), although it loses %s "
		                       "(policy-reload-shrink: allow)",
		                       path, is, was, lost);
	default:
		return g_strdup_printf("policy reloaded: %s (%u patterns, was %u)%s", path, is, was,
		                       changed ? "" : "; no change in rules, phrase lists or models");
	}
}

/* Count a reload that ended HOW; returns HOW. */
static enum filter_reload reload_counted(enum filter_reload how)
{
	static const char *const results[] = {
	    [FILTER_RELOADED] = "reloaded",
	    [FILTER_RELOADED_SHRUNK] = "reloaded-shrunk",
	    [FILTER_RELOAD_BAD] = "bad",
	    [FILTER_RELOAD_SHRINKS] = "shrinks",
	};
	DAEMON_COUNT(reloads, results[how]);
	return how;
}

enum filter_reload filter_reload(struct filter *f, char **report, char **changes)
{
	const char *path = f->cfg->policy;
	char *err = NULL;
	struct policy *cur = filter_policy(f);
	struct policy *fresh = policy_reload(path, cur, &err);
	if (fresh == NULL) {
		*report = g_strdup_printf("policy not reloaded, keeping the old one: %s", g_strchomp(err));
		*changes = g_strdup("");
		g_free(err);
		policy_unref(cur);
		return reload_counted(FILTER_RELOAD_BAD);
	}
	GString *diff = g_string_new(NULL), *lost = g_string_new(NULL);
	enum filter_reload how = FILTER_RELOADED;
	if (policy_compare(cur, fresh, diff, lost))
		how = f->cfg->reload_shrink == RELOAD_SHRINK_ALLOW ? FILTER_RELOADED_SHRUNK
		                                                   : FILTER_RELOAD_SHRINKS;
	*report = reload_report(path, how, lost->str, policy_pattern_count(fresh), policy_pattern_count(cur),
	                        diff->len > 0);
	*changes = one_line(diff);
	g_string_free(lost, TRUE);
	policy_unref(cur);
	if (how == FILTER_RELOAD_SHRINKS) {
		policy_unref(fresh);
		return reload_counted(how);
	}
	metric_set(metric_at(daemon_metrics()->policy_patterns), policy_pattern_count(fresh));
	g_mutex_lock(&f->policy_lock);
	struct policy *old = f->pol;
	f->pol = fresh;
	g_mutex_unlock(&f->policy_lock);
	policy_unref(old); /* messages still using it hold their own reference */
	return reload_counted(how);
}

unsigned filter_in_flight(struct filter *f)
{
	g_mutex_lock(&f->flight_lock);
	unsigned n = f->in_flight;
	g_mutex_unlock(&f->flight_lock);
	return n;
}

void filter_stop_taking(struct filter *f)
{
	g_mutex_lock(&f->flight_lock);
	f->draining = true;
	g_mutex_unlock(&f->flight_lock);
}

bool filter_drain(struct filter *f, gint64 timeout)
{
	gint64 deadline = g_get_monotonic_time() + timeout * G_USEC_PER_SEC;
	filter_stop_taking(f);
	g_mutex_lock(&f->flight_lock);
	while (f->in_flight > 0)
		if (!g_cond_wait_until(&f->flight_done, &f->flight_lock, deadline))
			break;
	bool drained = f->in_flight == 0;
	g_mutex_unlock(&f->flight_lock);
	return drained;
}

static void flight_change(struct filter *f, int delta)
{
	g_mutex_lock(&f->flight_lock);
	f->in_flight += delta;
	metric_gauge_add(metric_at(daemon_metrics()->in_flight), delta);
	if (f->in_flight == 0)
		g_cond_broadcast(&f->flight_done);
	g_mutex_unlock(&f->flight_lock);
}

/* Count a new message in flight, unless the filter is draining. */
static bool flight_begin(struct filter *f)
{
	g_mutex_lock(&f->flight_lock);
	bool ok = !f->draining;
	if (ok) {
		f->in_flight++;
		metric_gauge_add(metric_at(daemon_metrics()->in_flight), 1);
	}
	g_mutex_unlock(&f->flight_lock);
	return ok;
}

/* ---- sessions and messages -------------------------------------------- */

struct filter_session *filter_session_new(struct filter *f, const struct sockaddr *client,
                                          const char *client_text)
{
	struct filter_session *s = g_new0(struct filter_session, 1);
	s->f = f;
	metric_gauge_add(metric_at(daemon_metrics()->sessions), 1);
	s->client_text = g_strdup(client_text ? client_text : "");
	if (client != NULL && (client->sa_family == AF_INET || client->sa_family == AF_INET6)) {
		size_t n =
		    client->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
		memcpy(&s->client, client, n);
		s->have_client = true;
	}
	return s;
}

/* Each thread keeps the message buffer of the last message it finished for
 * its next one, so that a buffer grown to the size of the usual message is
 * neither grown again (realloc and copy) nor faulted in again.  Buffers
 * above SPARE_MAX are freed; a thread's spare goes when the thread does. */
#define SPARE_MAX (1024 * 1024)

static void spare_free(gpointer raw)
{
	g_string_free(raw, TRUE);
}

static GPrivate spare_raw = G_PRIVATE_INIT(spare_free);

static GString *raw_take(void)
{
	GString *raw = g_private_get(&spare_raw);
	if (raw == NULL)
		return g_string_sized_new(16 * 1024);
	g_private_set(&spare_raw, NULL);
	g_string_truncate(raw, 0);
	return raw;
}

static void raw_give(GString *raw)
{
	if (raw->allocated_len > SPARE_MAX || g_private_get(&spare_raw) != NULL)
		g_string_free(raw, TRUE);
	else
		g_private_set(&spare_raw, raw);
}

/* Messages from this size on count towards the next return of freed memory
 * to the system (budget_freed): judging them let go of a few times their
 * size. */
#define TRIM_FROM (256 * 1024)

/* Let go of the message buffer and the budget it took. */
static void raw_release(struct filter_session *s)
{
	if (s->raw == NULL)
		return;
	size_t len = s->raw->len;
	raw_give(s->raw);
	s->raw = NULL;
	budget_give(s->f->budget, s->charged);
	s->charged = 0;
	if (len >= TRIM_FROM)
		budget_freed(s->f->budget, len);
}

/* Forget everything about the current message; keep the session. */
static void message_reset(struct filter_session *s)
{
	if (s->active)
		flight_change(s->f, -1);
	s->active = false;
	s->outgoing = false;
	if (s->pol)
		policy_unref(s->pol);
	s->pol = NULL;
	g_clear_pointer(&s->sender, g_free);
	if (s->rcpts)
		g_ptr_array_free(s->rcpts, TRUE);
	s->rcpts = NULL;
	s->client_rcpt = false;
	raw_release(s);
	s->body_start = 0;
	s->over_cap = false;
	s->refused = false;
	mime_count_clear(&s->parts);
	s->too_many = NULL;
	g_clear_pointer(&s->message_id, g_free);
	if (s->refs)
		g_ptr_array_free(s->refs, TRUE);
	s->refs = NULL;
	memset(s->own, 0, sizeof s->own);
	release_kept(s);
	s->eom_started = 0;
}

void filter_session_free(struct filter_session *s)
{
	if (s == NULL)
		return;
	message_reset(s);
	g_free(s->client_text);
	g_free(s->daemon_name);
	g_free(s);
	metric_gauge_add(metric_at(daemon_metrics()->sessions), -1);
}

void filter_set_daemon_name(struct filter_session *s, const char *daemon_name)
{
	g_free(s->daemon_name);
	s->daemon_name = g_strdup(daemon_name);
}

void filter_set_leading_space(struct filter_session *s, bool on)
{
	s->leading_space = on;
}

void filter_abort(struct filter_session *s)
{
	message_reset(s);
}

/* Why the message that S has just begun is not judged (its metric label),
 * or NULL when it is. */
static const char *skip_reason(const struct filter_session *s)
{
	if (s->outgoing)
		return policy_applies_to_sender(s->pol, s->sender) ? NULL : "sender-out-of-policy";
	if (!s->f->cfg->record_complaints)
		return "inbound-not-recorded";
	return *s->sender == '\0' ? "inbound-null-sender" : NULL;
}

enum filter_reply filter_mail(struct filter_session *s, const char *sender, const char *auth_authen)
{
	struct filter *f = s->f;
	message_reset(s);
	s->sender = address_bare(sender ? sender : "");
	s->outgoing = scope_is_outgoing(&f->scope, s->daemon_name, auth_authen,
	                                s->have_client ? (struct sockaddr *)&s->client : NULL);
	s->pol = filter_policy(f);
	const char *skip = skip_reason(s);
	if (skip != NULL) {
		DAEMON_COUNT(skipped, skip);
		message_reset(s);
		return FILTER_ACCEPT;
	}
	if (!flight_begin(f)) {
		log_msg(LOG_INFO, "stopping: message from <%s> accepted unchecked", s->sender);
		DAEMON_COUNT(skipped, "stopping");
		message_reset(s);
		return FILTER_ACCEPT;
	}
	s->rcpts = g_ptr_array_new_with_free_func(g_free);
	s->raw = raw_take();
	mime_count_init(&s->parts);
	s->refs = g_ptr_array_new_with_free_func(g_free);
	s->active = true;
	return FILTER_CONTINUE;
}

#define MAX_RCPTS 1000 /* recipients kept of one message (a first client past them too) */

/* Whether RCPT (bare) is a client the policy applies to
 * (applies-to.recipient-domains), not a colleague. */
static bool is_client(const struct filter_session *s, const char *rcpt)
{
	if (scope_is_internal(&s->f->scope, rcpt))
		return false;
	char *domain = address_domain(rcpt);
	bool applies = policy_applies_to_domain(s->pol, domain);
	g_free(domain);
	return applies;
}

enum filter_reply filter_rcpt(struct filter_session *s, const char *rcpt)
{
	if (s->rcpts == NULL)
		return FILTER_CONTINUE;
	char *bare = address_bare(rcpt);
	bool client = s->outgoing && !s->client_rcpt && is_client(s, bare);
	if (s->rcpts->len < MAX_RCPTS || client)
		g_ptr_array_add(s->rcpts, bare);
	else
		g_free(bare);
	s->client_rcpt |= client;
	return FILTER_CONTINUE;
}

enum filter_reply filter_data(struct filter_session *s)
{
	if (!s->active)
		return FILTER_ACCEPT;
	if (!s->outgoing || s->client_rcpt)
		return FILTER_CONTINUE; /* judged: a recipient is a client */
	DAEMON_COUNT(skipped, "no-client-recipient");
	message_reset(s); /* colleagues only, or clients outside the policy */
	return FILTER_ACCEPT;
}

/* The budget is taken in steps of this many bytes (one body chunk), for
 * what a message holds beyond its first step: a message of up to 64 KB, the
 * usual one, is never refused and costs no atomic operation.  The budget may
 * so be passed by 64 KB a session, as by the front end's read buffers. */
#define CHARGE_STEP (64 * 1024)

void filter_refuse(struct filter_session *s)
{
	if (!s->active || s->refused)
		return;
	s->refused = true;
	raw_release(s); /* nothing of it will be judged */
	s->raw = g_string_new(NULL);
}

bool filter_refused(const struct filter_session *s)
{
	return s->active && s->refused;
}

static void append(struct filter_session *s, const char *data, size_t len)
{
	if (s->over_cap || s->refused)
		return;
	size_t need = s->raw->len + len;
	if (need > (size_t)s->f->cfg->max_message_size) {
		s->over_cap = true;
		return;
	}
	if (need > s->charged + CHARGE_STEP) {
		size_t more = (need - s->charged - 1) / CHARGE_STEP * CHARGE_STEP; /* whole steps */
		if (!budget_take(s->f->budget, more)) {
			filter_refuse(s);
			return;
		}
		s->charged += more;
	}
	g_string_append_len(s->raw, data, len);
}

/* Count the MIME parts of what has come of the message so far; past the
 * policy's max-parts the message will not be parsed. */
static void count_parts(struct filter_session *s)
{
	if (s->too_many || s->over_cap || s->refused)
		return;
	mime_count_feed(&s->parts, s->raw->str, s->raw->len);
	s->too_many = mime_count_over(&s->parts, policy_limits(s->pol));
}

/* Append VALUE with every bare LF turned into CRLF. */
static void append_crlf(struct filter_session *s, const char *value)
{
	for (const char *p = value; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n > 0 && nl && p[n - 1] == '\r')
			n--;
		append(s, p, n);
		if (nl == NULL)
			break;
		append(s, "\r\n", 2);
		p = nl + 1;
	}
}

/* Whether the N bytes at ID can be a message id: valid UTF-8 with no
 * white space (a line break of a folded field included), control or format
 * character.  No message id has one (RFC 5322 3.6.4); one that does would
 * reach the store, the terminal and the notification mail's lines. */
static bool clean_id(const char *id, size_t n)
{
	const char *end = NULL;
	if (!g_utf8_validate(id, (gssize)n, &end) || end != id + n)
		return false;
	for (const char *p = id; p < id + n; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if (g_unichar_isspace(c) || termtext_unsafe(c))
			return false;
	}
	return true;
}

/* Add each <id> in VALUE (without brackets) to IDS unless already there;
 * newest first when REVERSE (References lists the oldest first).  An id
 * clean_id() refuses is left out: it matches no complaint the daemon
 * stored (their ids came through here too), and the others still thread. */
static void add_ids(GPtrArray *ids, const char *value, bool reverse)
{
	GPtrArray *found = g_ptr_array_new();
	for (const char *p = value; (p = strchr(p, '<')) != NULL;) {
		const char *end = strchr(p, '>');
		if (end == NULL)
			break;
		if (end - p > 1 && end - p < 1000 && clean_id(p + 1, (size_t)(end - p - 1)))
			g_ptr_array_add(found, g_strndup(p + 1, end - p - 1));
		p = end + 1;
	}
	for (guint i = 0; i < found->len; i++) {
		char *id = found->pdata[reverse ? found->len - 1 - i : i];
		bool seen = false;
		for (guint j = 0; j < ids->len && !seen; j++)
			seen = strcmp(ids->pdata[j], id) == 0;
		if (!seen && ids->len < MAX_REFERENCE_IDS)
			g_ptr_array_add(ids, id);
		else
			g_free(id);
	}
	g_ptr_array_free(found, TRUE);
}

static void note_header(struct filter_session *s, const char *name, const char *value)
{
	const struct config *cfg = s->f->cfg;
	const char *own[OWN_COUNT] = {cfg->header_check, cfg->header_findings, cfg->header_token};
	for (int i = 0; i < OWN_COUNT; i++)
		if (g_ascii_strcasecmp(name, own[i]) == 0)
			s->own[i]++;
	if (strlen(value) > MESSAGE_MAX_ID_HEADER)
		return;
	if (g_ascii_strcasecmp(name, "Message-ID") == 0 && s->message_id == NULL) {
		GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
		add_ids(ids, value, false);
		s->message_id = g_strdup(ids->len ? (const char *)ids->pdata[0] : "");
		g_ptr_array_free(ids, TRUE);
	} else if (g_ascii_strcasecmp(name, "In-Reply-To") == 0) {
		add_ids(s->refs, value, false);
	} else if (g_ascii_strcasecmp(name, "References") == 0) {
		add_ids(s->refs, value, true);
	}
}

enum filter_reply filter_header(struct filter_session *s, const char *name, const char *value)
{
	if (!s->active)
		return FILTER_CONTINUE;
	note_header(s, name, value);
	append(s, name, strlen(name));
	append(s, s->leading_space ? ":" : ": ", s->leading_space ? 1 : 2);
	append_crlf(s, value);
	append(s, "\r\n", 2);
	return FILTER_CONTINUE;
}

enum filter_reply filter_end_of_headers(struct filter_session *s)
{
	if (s->active) {
		append(s, "\r\n", 2);
		s->body_start = s->raw->len;
		count_parts(s);
	}
	return FILTER_CONTINUE;
}

enum filter_reply filter_body(struct filter_session *s, const unsigned char *chunk, size_t len)
{
	if (s->active) {
		append(s, (const char *)chunk, len);
		count_parts(s);
	}
	return FILTER_CONTINUE;
}

void filter_end_arrived(struct filter_session *s)
{
	if (s->active && s->eom_started == 0)
		s->eom_started = g_get_monotonic_time();
}

void filter_defer_encoder(struct filter_session *s, bool defer)
{
	s->defer_encoder = defer;
}

size_t filter_message_bytes(const struct filter_session *s)
{
	return s->active && !s->over_cap && !s->refused && !s->too_many ? s->raw->len : 0;
}

/* ---- end of message: records, for the store or else in the spool ------ */

/* Where the records of one message went (the worst of them), for its log
 * line: queued for the store (the usual: the line says nothing), in the
 * spool, or nowhere. */
enum where { RECORDED_NOTHING, RECORDED_STORE, RECORDED_SPOOL, RECORDED_NOWHERE };

struct recorded {
	enum where worst;
	bool copy_left_out; /* a held message's copy did not fit in the spool */
	char *store_error;  /* why a record was not queued for an open store */
	char *spool_error;  /* why a record was kept nowhere */
};

static void keep_first(char **slot, char *why)
{
	if (*slot == NULL)
		*slot = why;
	else
		g_free(why);
}

/* Hand R (taken) to the store writer and note where it went: queued for
 * the store, or (with why not: NULL when there is no store) in the spool
 * or nowhere (with why not). */
static void record(struct filter *f, struct spool_record *r, struct recorded *rec)
{
	struct writer_result res;
	enum writer_where where = writer_put(f->writer, r, &res);
	rec->worst = MAX(rec->worst, where == WRITER_QUEUED    ? RECORDED_STORE
	                             : where == WRITER_SPOOLED ? RECORDED_SPOOL
	                                                       : RECORDED_NOWHERE);
	DAEMON_COUNT(records, where == WRITER_QUEUED ? "store" : where == WRITER_SPOOLED ? "spool" : "lost");
	if (res.why_not_queued != NULL)
		DAEMON_COUNT(store_errors, "record");
	rec->copy_left_out |= res.copy_left_out;
	keep_first(&rec->store_error, res.why_not_queued);
	keep_first(&rec->spool_error, res.spool_error);
	res.why_not_queued = res.spool_error = NULL;
	writer_result_clear(&res);
}

/* Append to a message's log LINE what the store was and where the records
 * went when not to the store; returns the line's level: a warning when they
 * are in the spool, an error when the line is all there is of them. */
static int log_records(GString *line, const struct recorded *r, bool no_store)
{
	if (no_store)
		g_string_append(line, " store=unavailable");
	if (r->worst >= RECORDED_SPOOL)
		g_string_append_printf(line, " record=%s%s", r->worst == RECORDED_SPOOL ? "spooled" : "lost",
		                       r->copy_left_out ? "-without-copy" : "");
	if (r->store_error != NULL)
		g_string_append_printf(line, " store-error=\"%s\"", r->store_error);
	if (r->spool_error != NULL)
		g_string_append_printf(line, " record-error=\"%s\"", r->spool_error);
	return r->worst == RECORDED_NOWHERE ? LOG_ERR : r->worst == RECORDED_SPOOL ? LOG_WARNING : LOG_INFO;
}

static void recorded_clear(struct recorded *r)
{
	g_free(r->store_error);
	g_free(r->spool_error);
}

/* ---- end of message: inbound ------------------------------------------ */

/* Count in histogram FAMILY, series SCOPE, the seconds since STARTED
 * (monotonic microseconds). */
static void observe_since(struct metric_family *family, const char *scope, gint64 started)
{
	metric_observe(metric_at(family, scope), (double)(g_get_monotonic_time() - started) / G_USEC_PER_SEC);
}

/* False, and nothing done, when the sentence encoder would have run where
 * the front end asked it not to (filter_defer_encoder()). */
static bool record_complaint(struct filter_session *s, const char *qid, gint64 now)
{
	struct filter *f = s->f;
	struct store *st = filter_store(f);
	struct recorded r = {0};
	if (s->over_cap || s->too_many) {
		log_msg(LOG_DEBUG, "%s: inbound, not analysed%s", qid,
		        s->too_many ? ": too many MIME parts" : "");
		DAEMON_COUNT(messages, "inbound", "not-analysed");
		return true;
	}
	struct inbound in;
	struct context ctx = {.defer_encoder = s->defer_encoder};
	gint64 started = g_get_monotonic_time();
	apology_classify_inbound(s->pol, s->raw->str, s->raw->len, &ctx, &in);
	if (in.complaint.deferred) {
		log_msg(LOG_DEBUG,
		        "%s: inbound, classified off the event loop: the sentence encoder reads it", qid);
		inbound_clear(&in);
		return false;
	}
	observe_since(daemon_metrics()->engine_seconds, "inbound", started);
	const char *from = *in.from ? in.from : s->sender;
	if (!in.parsed) {
		log_msg(LOG_DEBUG, "%s: inbound, not analysed", qid);
		DAEMON_COUNT(messages, "inbound", "not-analysed");
	} else if (*in.message_id == '\0' || scope_is_internal(&f->scope, from)) {
		log_msg(LOG_DEBUG, "%s: inbound, not from a client", qid);
		DAEMON_COUNT(messages, "inbound", "not-from-client");
	} else if (in.complaint.pattern_errors > 0) {
		/* a policy pattern failed on it: said where an operator sees it */
		log_msg(LOG_INFO, "%s: inbound, not analysed: %s", qid, DECISION_PATTERN_FAILED);
		DAEMON_COUNT(messages, "inbound", "not-analysed");
	} else if (in.complaint.detected) {
		DAEMON_COUNT(messages, "inbound", "complaint");
		const struct complaint *c = &in.complaint;
		struct spool_record *rec = g_new0(struct spool_record, 1);
		rec->type = SPOOL_COMPLAINT;
		rec->c = (struct store_complaint){
		    .message_id = g_strdup(in.message_id),
		    .client_addr = g_strdup(s->client_text),
		    .client_domain = address_domain(from),
		    .received = now,
		    .serious = c->severity == SEVERITY_SERIOUS,
		    .kinds = c->kinds,
		    .unclear = !c->clear,
		};
		bool serious = rec->c.serious;
		record(f, rec, &r);
		GString *line = g_string_new(NULL);
		g_string_printf(line, "%s: inbound complaint severity=%s kinds=%u%s%s", qid,
		                serious ? "serious" : "normal", c->kinds, c->clear ? "" : " unclear",
		                r.worst == RECORDED_STORE ? " recorded" : "");
		int level = log_records(line, &r, st == NULL);
		log_msg(level, "%s", line->str);
		g_string_free(line, TRUE);
		recorded_clear(&r);
	} else {
		log_msg(LOG_DEBUG, "%s: inbound, no complaint", qid);
		DAEMON_COUNT(messages, "inbound", "no-complaint");
	}
	inbound_clear(&in);
	return true;
}

/* ---- end of message: outgoing ----------------------------------------- */

/* What the store tells the core about this reply. */
struct known {
	struct context ctx;
	struct store_complaint complaint;
	bool have_complaint;
	const char *thread; /* Message-ID of the complaint answered, or NULL */
	char *client_domain;
	GArray *history;
};

static void known_clear(struct known *k)
{
	store_complaint_clear(&k->complaint);
	g_free(k->client_domain);
	if (k->history)
		g_array_free(k->history, TRUE);
}

/* What the store knows about this reply; without a store, nothing.  Each
 * lookup waits at most store-busy-timeout for another process's lock; one
 * that fails leaves the reply to be judged without what it would have
 * added, and the log says so. */
static void look_up(struct filter_session *s, const char *qid, gint64 now, struct known *k)
{
	struct filter *f = s->f;
	struct store *st = filter_store(f);
	char *err = NULL;
	memset(k, 0, sizeof *k);
	k->ctx.now = now;
	k->history = g_array_new(FALSE, TRUE, sizeof(struct history_entry));

	enum store_status found = st ? store_complaint_find(st, (const char *const *)s->refs->pdata,
	                                                    s->refs->len, &k->complaint, &err)
	                             : STORE_NONE;
	if (found == STORE_ERROR) {
		log_msg(
		    LOG_WARNING,
		    "%s: store: %s; judged without the stored complaint (the reply alone says whether and "
		    "when it answers one)",
		    qid, err);
		DAEMON_COUNT(store_errors, "lookup");
		g_clear_pointer(&err, g_free);
	}
	k->have_complaint = found == STORE_FOUND;
	if (k->have_complaint) {
		k->ctx.stored_complaint = true;
		k->ctx.complaint_time = k->complaint.received;
		k->ctx.complaint_serious = k->complaint.serious;
		k->ctx.complaint_kinds = k->complaint.kinds;
		k->ctx.complaint_unclear = k->complaint.unclear;
		k->client_domain = g_strdup(k->complaint.client_domain);
	}
	k->thread = k->have_complaint ? k->complaint.message_id
	            : s->refs->len    ? (const char *)s->refs->pdata[0]
	                              : NULL;
	for (guint i = 0; k->client_domain == NULL && i < s->rcpts->len; i++)
		if (!scope_is_internal(&f->scope, s->rcpts->pdata[i]))
			k->client_domain = address_domain(s->rcpts->pdata[i]);
	if (k->client_domain == NULL || *s->sender == '\0' || st == NULL)
		return;
	if (!store_history_get(st, s->sender, k->client_domain, now - f->cfg->history_window, k->thread,
	                       MAX_HISTORY, k->history, &err)) {
		log_msg(LOG_WARNING, "%s: store: %s; judged without the apology history (repeat-apology)",
		        qid, err);
		DAEMON_COUNT(store_errors, "lookup");
		g_free(err);
		g_array_set_size(k->history, 0);
	}
	k->ctx.history = (const struct history_entry *)(void *)k->history->data;
	k->ctx.n_history = k->history->len;
}

/* Bytes of the body hashed at each end for the fingerprint. */
#define FINGERPRINT_EDGE 1024

/* A hash of what stays the same when the same message is sent again: the
 * sender, the Message-ID, the body's length and its first and last 1 KB
 * (all of a body up to 2 KB).  GLib's SHA-256 costs about 3 ns a byte: more
 * would be a visible share of a message's cost. */
static char *fingerprint(const struct filter_session *s)
{
	const char *body = s->raw->str + s->body_start;
	size_t len = s->raw->len - s->body_start;
	size_t head = MIN(len, FINGERPRINT_EDGE);
	size_t tail = len > 2 * FINGERPRINT_EDGE ? len - FINGERPRINT_EDGE : head;
	char *length = g_strdup_printf("%zu", len);
	const char *mid = s->message_id ? s->message_id : "";
	GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_checksum_update(sum, (const guchar *)s->sender, strlen(s->sender) + 1);
	g_checksum_update(sum, (const guchar *)mid, strlen(mid) + 1);
	g_checksum_update(sum, (const guchar *)length, strlen(length) + 1);
	g_checksum_update(sum, (const guchar *)body, head);
	g_checksum_update(sum, (const guchar *)body + tail, len - tail);
	char *hex = g_strdup(g_checksum_get_string(sum));
	g_checksum_free(sum);
	g_free(length);
	return hex;
}

static void unchecked(struct decision *d, const char *reason)
{
	memset(d, 0, sizeof *d);
	d->verdict = VERDICT_UNCHECKED;
	d->reason = reason;
	d->complaint.sent = -1;
	d->findings = g_array_new(FALSE, TRUE, sizeof(struct finding));
	d->text = g_strdup("");
}

/* A message in flight at this many deaths of the daemon is not analysed
 * again: one death may have come from outside (kill -9, the OOM killer). */
#define POISON_CRASHES 2

/* What an event loop kept for a judge that never came (the message
 * aborted, the connection gone). */
static void release_kept(struct filter_session *s)
{
	if (s->kept) {
		known_clear(s->kept);
		g_clear_pointer(&s->kept, g_free);
	}
	g_clear_pointer(&s->kept_fp, g_free);
}

/* Run the core on the message, guarded by an in-flight mark.  A message an
 * event loop stopped judging where the encoder would run (its decision
 * DEFERRED) keeps what the store told it in the session: the judge thread
 * that takes it on uses that rather than asking again.  Its mark is not
 * kept: a message waiting for a judge is not being analysed, and a death of
 * the daemon meanwhile is not its doing. */
static void analyse(struct filter_session *s, const char *qid, gint64 now, struct known *k,
                    struct decision *d)
{
	struct filter *f = s->f;
	char *err = NULL;
	memset(k, 0, sizeof *k);
	if (s->over_cap) {
		unchecked(d, "message over the size limit");
		return;
	}
	if (s->too_many) { /* counted while it came: GMime would build every part */
		unchecked(d, s->too_many);
		return;
	}
	bool resumed = s->kept != NULL;
	char *fp = resumed ? g_steal_pointer(&s->kept_fp) : fingerprint(s);
	if (!resumed)
		log_msg(LOG_DEBUG, "fingerprint %s (%zu body bytes)", fp, s->raw->len - s->body_start);
	unsigned crashes = 0;
	struct store *st = filter_store(f);
	bool guarded =
	    st != NULL && store_inflight_begin(st, fp, now, now - f->cfg->crash_forget, &crashes, &err);
	if (st != NULL && !guarded) {
		log_msg(LOG_WARNING, "%s: store: %s; analysed without an in-flight mark", qid, err);
		DAEMON_COUNT(store_errors, "crash-guard");
		g_clear_pointer(&err, g_free);
	}
	if (resumed) {
		*k = *s->kept;
		g_clear_pointer(&s->kept, g_free);
		k->ctx.now = now;
	}
	if (crashes >= POISON_CRASHES) {
		unchecked(d, "analysis stopped the daemon twice before");
	} else {
		if (crashes > 0 && !resumed) /* the loop said it */
			log_msg(
			    LOG_NOTICE,
			    "fingerprint %s: the daemon died once analysing this message; analysing it again",
			    fp);
		if (!resumed)
			look_up(s, qid, now, k);
		k->ctx.defer_encoder = s->defer_encoder;
		gint64 started = g_get_monotonic_time();
		apology_check(s->pol, s->raw->str, s->raw->len, &k->ctx, d);
		if (d->complaint.deferred) {
			s->kept = g_memdup2(k, sizeof *k);
			memset(k, 0, sizeof *k);
		} else {
			observe_since(daemon_metrics()->engine_seconds, "outgoing", started);
		}
	}
	if (guarded && !store_inflight_end(st, fp, &err)) {
		log_msg(LOG_WARNING, "%s: store: %s", qid, err);
		DAEMON_COUNT(store_errors, "crash-guard");
		g_free(err);
	}
	if (s->kept)
		s->kept_fp = fp;
	else
		g_free(fp);
}

enum action { ACT_NONE, ACT_HEADERS, ACT_HOLD, ACT_REJECT, ACT_TEMPFAIL };

static const char *const action_names[] = {
    [ACT_NONE] = "none",     [ACT_HEADERS] = "headers",   [ACT_HOLD] = "hold",
    [ACT_REJECT] = "reject", [ACT_TEMPFAIL] = "tempfail",
};

static enum action choose_action(const struct config *cfg, const struct decision *d)
{
	if (cfg->mode == MODE_MONITOR)
		return ACT_NONE;
	switch (d->verdict) {
	case VERDICT_PASS: return cfg->header_on_pass ? ACT_HEADERS : ACT_NONE;
	case VERDICT_ADVISE: return ACT_HEADERS;
	case VERDICT_HOLD: return cfg->hold_action == HOLD_REJECT ? ACT_REJECT : ACT_HOLD;
	case VERDICT_UNCHECKED:
		return cfg->on_error == ON_ERROR_TEMPFAIL ? ACT_TEMPFAIL
		       : cfg->on_error == ON_ERROR_HOLD   ? ACT_HOLD
		                                          : ACT_HEADERS;
	}
	return ACT_NONE;
}

/* Add a header; an MTA that leaves leading spaces to the milter
 * (SMFIP_HDR_LEADSPC) takes the value as is, the space after the colon too. */
static bool add_header(const struct filter_session *s, const struct mta_ops *ops, void *mta, const char *name,
                       const char *value)
{
	if (!s->leading_space)
		return ops->add_header(mta, name, value);
	char *spaced = g_strconcat(" ", value, NULL);
	bool ok = ops->add_header(mta, name, spaced);
	g_free(spaced);
	return ok;
}

static bool write_headers(struct filter_session *s, const struct decision *d, const char *token,
                          const struct mta_ops *ops, void *mta)
{
	const struct config *cfg = s->f->cfg;
	const char *own[OWN_COUNT] = {cfg->header_check, cfg->header_findings, cfg->header_token};
	bool ok = true;
	/* Headers of our names that came with the message are not ours: drop them. */
	for (int i = 0; i < OWN_COUNT; i++)
		for (int n = s->own[i]; n > 0; n--)
			ok &= ops->delete_header(mta, own[i], n);
	char *check = render_check_value(d);
	ok &= add_header(s, ops, mta, cfg->header_check, check);
	g_free(check);
	char *findings = render_findings_value(d);
	if (findings != NULL)
		ok &= add_header(s, ops, mta, cfg->header_findings, findings);
	g_free(findings);
	if (token != NULL)
		ok &= add_header(s, ops, mta, cfg->header_token, token);
	return ok;
}

/* D's findings as the store keeps them (struct store_finding). */
static GArray *stored_findings(const struct decision *d)
{
	GArray *out = store_findings_new();
	for (guint i = 0; d->findings && i < d->findings->len; i++) {
		const struct finding *f = &g_array_index(d->findings, struct finding, i);
		struct store_finding row = {
		    .rule = g_strdup(rule_name(f->rule)),
		    .severity = g_strdup(f->severity == RULE_HOLD ? "hold" : "advise"),
		    .start = f->start,
		    .end = f->end,
		    .line = f->line,
		    .excerpt = g_strdup(f->excerpt),
		    .words = g_strdup(f->words),
		    .principle = g_strdup(f->principle),
		    .advice = g_strdup(f->advice),
		};
		g_array_append_val(out, row);
	}
	return out;
}

/* The hold's record of D, which gives it its quoted history (the only
 * thing of D the record takes rather than copies). */
static void record_hold(struct filter_session *s, struct decision *d, const struct known *k, const char *qid,
                        const char *token, const char *state, gint64 now, struct recorded *rec)
{
	GString *rcpts = g_string_new(NULL);
	for (guint i = 0; i < s->rcpts->len; i++)
		g_string_append_printf(rcpts, "%s%s", i ? "," : "", (const char *)s->rcpts->pdata[i]);
	struct spool_record *r = g_new0(struct spool_record, 1);
	r->type = SPOOL_HOLD;
	r->q = (struct store_quarantine){
	    .queue_id = g_strdup(qid),
	    .message_id = g_strdup(s->message_id ? s->message_id : ""),
	    .token = g_strdup(token),
	    .sender = g_strdup(s->sender),
	    .recipients = g_string_free(rcpts, FALSE),
	    .verdict = g_strdup(verdict_name(d->verdict)),
	    .score = d->score,
	    .findings_json = render_decision_json(d),
	    .new_text = d->text ? g_strndup(d->text, d->text_len) : NULL,
	    .findings = stored_findings(d),
	    .complaint_ref = g_strdup(k->have_complaint ? k->complaint.message_id : NULL),
	    .raw = g_malloc(s->raw->len + 1),
	    .raw_len = s->raw->len,
	    .created = now,
	    .state = g_strdup(state),
	    .host = g_strdup(hostname_or_system(s->f->cfg->host_name)),
	    /* the complaint it answers, so that readers need not split the copy */
	    .complaint_recorded = true,
	    .complaint_detected = d->complaint.detected,
	    .complaint_clear = d->complaint.clear,
	    .complaint_severity =
	        g_strdup(d->complaint.detected ? render_severity_name(d->complaint.severity) : NULL),
	    .complaint_sent = d->complaint.detected ? d->complaint.sent : -1,
	    .complaint_text = g_steal_pointer(&d->quoted),
	};
	d->quoted_len = 0;
	memcpy(r->q.raw, s->raw->str, s->raw->len + 1);
	record(s->f, r, rec);
}

static void record_apology(struct filter_session *s, const struct decision *d, const struct known *k,
                           gint64 now, struct recorded *rec)
{
	if (!d->apologised || k->client_domain == NULL || *s->sender == '\0')
		return;
	struct spool_record *r = g_new0(struct spool_record, 1);
	r->type = SPOOL_APOLOGY;
	r->a = (struct spool_apology){
	    .sender = g_strdup(s->sender),
	    .client_domain = g_strdup(k->client_domain),
	    .at = now,
	    .kinds = d->complaint.kinds,
	    .complaint_ref = g_strdup(k->thread),
	};
	record(s->f, r, rec);
}

/* A summary of a reply judged advise or hold, for counting what was advised
 * (store.h, decisions); nothing for the others. */
static void record_decision(struct filter_session *s, const struct decision *d, const struct known *k,
                            gint64 now, struct recorded *rec)
{
	if (d->verdict != VERDICT_ADVISE && d->verdict != VERDICT_HOLD)
		return;
	struct spool_record *r = g_new0(struct spool_record, 1);
	r->type = SPOOL_DECISION;
	r->d = (struct store_decision){
	    .at = now,
	    .sender = g_strdup(s->sender),
	    .client_domain = g_strdup(k->client_domain ? k->client_domain : ""),
	    .verdict = g_strdup(verdict_name(d->verdict)),
	    .rules = render_rule_list(d),
	    .key = g_uuid_string_random(),
	};
	record(s->f, r, rec);
}

/* The one log line of an outgoing message: verdict, rules, action, token,
 * and when the store was missing or did not take its records, where they
 * went (warning: the spool; error: nowhere, the line is all there is). */
static void log_judged(const struct config *cfg, const char *qid, const struct decision *d,
                       const struct known *k, const char *action, const char *token, bool sampled,
                       bool no_store, const struct recorded *rec)
{
	GString *line = g_string_new(NULL);
	char *rules = render_rule_list(d);
	g_string_printf(line, "%s: outgoing verdict=%s score=%d rules=%s action=%s", qid,
	                verdict_name(d->verdict), d->score, *rules ? rules : "-", action);
	if (cfg->mode == MODE_MONITOR)
		g_string_append(line, " mode=monitor");
	if (d->reason != NULL)
		g_string_append_printf(line, " reason=\"%s\"", d->reason);
	if (k->have_complaint)
		g_string_append(line, " complaint=stored");
	if (token != NULL)
		g_string_append_printf(line, " token=%s", token);
	if (sampled)
		g_string_append(line, " sampled=near-miss");
	int level = log_records(line, rec, no_store);
	log_msg(level, "%s", line->str);
	g_string_free(line, TRUE);
	g_free(rules);
}

/* The token of a hold of the message QID: sealed (holdseal.h) when the
 * daemon has its key, else only random.  Caller frees. */
static char *hold_token(const struct filter *f, const char *qid)
{
	if (f->hold_key == NULL)
		return token_random_hex(16);
	char *token = g_malloc(HOLDSEAL_TOKEN_LEN + 1);
	holdseal_mint(f->hold_key, qid, token);
	return token;
}

/* Whether to keep a copy of a passed near miss for review: one in
 * ONE_IN (sample.near-misses), at random; never when ONE_IN is 0. */
static bool sample_pick(int one_in)
{
	return one_in == 1 || (one_in > 1 && g_random_int_range(0, one_in) == 0);
}

/* Count a judged reply: its verdict, the rules that fired (once each), why
 * it was not analysed, and ACTION. */
static void count_judged(const struct decision *d, const char *action)
{
	const struct daemon_metrics *dm = daemon_metrics();
	bool seen[RULE_COUNT] = {false};
	DAEMON_COUNT(messages, "outgoing", verdict_name(d->verdict));
	DAEMON_COUNT(actions, action);
	if (d->verdict == VERDICT_UNCHECKED)
		DAEMON_COUNT(unchecked, d->reason ? d->reason : "unknown");
	for (guint i = 0; d->findings && i < d->findings->len; i++) {
		enum rule_id r = g_array_index(d->findings, struct finding, i).rule;
		if ((unsigned)r < RULE_COUNT && !seen[r]) {
			seen[r] = true;
			metric_add(metric_at(dm->rule_hits, rule_name(r)), 1);
		}
	}
}

static enum filter_reply judge(struct filter_session *s, const char *qid, const struct mta_ops *ops,
                               void *mta, gint64 now)
{
	const struct config *cfg = s->f->cfg;
	struct decision d;
	struct known k;
	struct recorded rec = {0};
	bool no_store = filter_store(s->f) == NULL;
	analyse(s, qid, now, &k, &d);
	if (d.complaint.deferred) {
		log_msg(LOG_DEBUG, "%s: judged off the event loop: the sentence encoder reads it", qid);
		known_clear(&k);
		decision_clear(&d);
		return FILTER_AGAIN;
	}
	enum action act = choose_action(cfg, &d);
	enum filter_reply reply = FILTER_ACCEPT;
	char *token = NULL;

	switch (act) {
	case ACT_NONE: break;
	case ACT_HEADERS:
		if (!write_headers(s, &d, NULL, ops, mta))
			log_msg(LOG_WARNING, "%s: the MTA refused a header", qid);
		break;
	case ACT_HOLD:
		token = hold_token(s->f, qid);
		write_headers(s, &d, token, ops, mta);
		if (!ops->quarantine(mta, "apology-milter: held for review")) {
			log_msg(LOG_ERR, "%s: the MTA refused to hold the message; deferring it", qid);
			reply = FILTER_TEMPFAIL;
			break;
		}
		record_hold(s, &d, &k, qid, token, "held", now, &rec);
		break;
	case ACT_REJECT:
		token = hold_token(s->f, qid);
		ops->set_reply(mta, "550", "5.7.1", cfg->reject_text);
		record_hold(s, &d, &k, qid, token, "rejected", now, &rec);
		reply = FILTER_REJECT;
		break;
	case ACT_TEMPFAIL:
		ops->set_reply(mta, "451", "4.7.1", "Message could not be checked; try again later");
		reply = FILTER_TEMPFAIL;
		break;
	}
	if (act == ACT_NONE && cfg->mode == MODE_MONITOR && d.verdict == VERDICT_HOLD) {
		token = hold_token(s->f, qid);
		record_hold(s, &d, &k, qid, token, "monitor", now, &rec);
	}
	/* A passed near miss, kept for reviewers to judge: its token is only
	 * random (nothing is held, so nothing may be released with it). */
	bool near = d.verdict == VERDICT_PASS && d.complaint.near_miss;
	bool sampled = near && sample_pick(cfg->sample_near_misses);
	if (near)
		DAEMON_COUNT(near_misses, sampled ? "kept" : "not-kept");
	if (sampled) {
		token = token_random_hex(16);
		record_hold(s, &d, &k, qid, token, "sampled", now, &rec);
	}
	if (act != ACT_HOLD && act != ACT_REJECT)
		record_apology(s, &d, &k, now, &rec);
	if (reply != FILTER_TEMPFAIL)
		record_decision(s, &d, &k, now, &rec);

	const char *done = reply == FILTER_TEMPFAIL ? "tempfail" : action_names[act];
	log_judged(cfg, qid, &d, &k, done, token, sampled, no_store, &rec);
	count_judged(&d, done);
	recorded_clear(&rec);
	g_free(token);
	known_clear(&k);
	decision_clear(&d);
	return reply;
}

/* A message the budget had no room for: deferred, with one log line. */
static enum filter_reply defer(struct filter_session *s, const char *qid, const struct mta_ops *ops,
                               void *mta)
{
	struct budget *b = s->f->budget;
	log_msg(LOG_WARNING,
	        "%s: %s deferred: limits.memory-budget had no room for it (%zu of %zu MB held now); the "
	        "MTA will send it again",
	        qid, s->outgoing ? "outgoing" : "inbound", budget_used(b) >> 20, budget_limit(b) >> 20);
	ops->set_reply(mta, "451", "4.3.0", "Too busy to check this message now; try again later");
	DAEMON_COUNT(skipped, "memory-budget");
	message_reset(s);
	return FILTER_TEMPFAIL;
}

enum filter_reply filter_end_of_message(struct filter_session *s, const char *queue_id,
                                        const struct mta_ops *ops, void *mta)
{
	enum filter_reply reply = FILTER_ACCEPT;
	const char *qid = queue_id && *queue_id ? queue_id : "NOQUEUE";
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	if (!s->active)
		return FILTER_ACCEPT;
	filter_end_arrived(s); /* a message handed on is timed from its first pass */
	if (s->refused)
		return defer(s, qid, ops, mta);
	count_parts(s);
	if (s->outgoing)
		reply = judge(s, qid, ops, mta, now);
	else if (!record_complaint(s, qid, now))
		reply = FILTER_AGAIN;
	if (reply == FILTER_AGAIN)
		return reply; /* the message kept, to be judged again */
	observe_since(daemon_metrics()->eom_seconds, s->outgoing ? "outgoing" : "inbound", s->eom_started);
	message_reset(s);
	return reply;
}
