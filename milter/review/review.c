/*
 * apology-review - the review page for held replies.
 *
 *   apology-review [-c FILE] [-o key=value]...   serve (foreground)
 *   apology-review --hash-password               read a password on standard
 *                                                input, print its Argon2id hash
 *
 * The HTTP shell around review_pages.c: libmicrohttpd bound to loopback by
 * default, speaking HTTPS itself (GnuTLS) when tls-cert and tls-key are set,
 * or behind a TLS proxy (packaging/nginx-apology-review.conf); an address
 * other than loopback without TLS is refused at start, and every answer over
 * TLS carries Strict-Transport-Security.  Log-in against an accounts file of
 * "user:role:hash" lines (libsodium's crypto_pwhash_str, Argon2id), throttled
 * per user name and client address and per address (logins.h), sessions held
 * in memory under random tokens sent in HttpOnly SameSite=Strict cookies, a
 * CSRF token checked on every POST, strict security headers on every answer,
 * and a thread running the notification worker (notify.h) every few seconds.
 * Decisions go through quarantine_decide_open(), as the CLI's do.
 *
 * Hostile clients: a few worker threads each poll many connections, so a
 * slow client holds a connection, never a thread; connguard.h keeps the
 * connections per address and in all within the settings, making room by
 * closing half-sent and idle ones; libmicrohttpd closes a connection idle
 * for idle-timeout; a request body is counted as it arrives and cut off past
 * max-body or body-timeout, so an endless one is not read for ever.
 */
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include "connguard.h"
#include "linefile.h"
#include "logins.h"
#include "notify.h"
#include "review.h"
#include "termtext.h"
#include "token.h"

#define SESSION_COOKIE     "apology_session"
#define LOGIN_COOKIE       "apology_login"
#define WORKER_INTERVAL_US (5 * G_USEC_PER_SEC)
/* Longer user names are refused unread: they are no account's, and would
 * only fill the store's count of failures. */
#define MAX_USER_NAME 256

static const char security_policy[] = "default-src 'none'; style-src 'self'; img-src 'self'; "
                                      "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/* Sent over TLS: browsers then refuse plain HTTP to this host for a year. */
static const char strict_transport[] = "max-age=31536000";
/* GnuTLS priorities of the HTTPS the page speaks itself: TLS 1.2 and 1.3 only. */
static const char tls_priorities[] = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";

struct account {
	char *hash;
	bool admin;
};

struct session {
	char *user;
	char *csrf;
	bool admin;
	gint64 expires;
};

struct server {
	struct review_app app;
	GHashTable *accounts;    /* user -> struct account */
	GHashTable *sessions;    /* token -> struct session */
	GMutex lock;             /* guards sessions */
	char *dummy_hash;        /* verified against for unknown users: same cost */
	struct connguard *guard; /* connections open, per address and in all */
	GMutex stop_lock;
	GCond stop_cond;
	bool stopping;   /* under stop_lock */
	gint stop_asked; /* the same, atomic: read by a pass of notifications between rows */
};

/* Per-request state kept by libmicrohttpd between calls. */
struct request_state {
	struct connguard_slot *slot; /* of the connection: busy until the request is done */
	gint64 started;              /* monotonic microseconds: the headers were in */
	guint64 received;            /* body bytes read */
	struct MHD_PostProcessor *pp;
	GHashTable *form; /* POST fields, name -> GString */
};

/* ---- small helpers ----------------------------------------------------- */

static bool same_token(const char *a, const char *b)
{
	size_t n = a ? strlen(a) : 0;
	return a && b && n > 0 && n == strlen(b) && sodium_memcmp(a, b, n) == 0;
}

static void account_free(gpointer p)
{
	struct account *a = p;
	sodium_memzero(a->hash, strlen(a->hash));
	g_free(a->hash);
	g_free(a);
}

static void session_free(gpointer p)
{
	struct session *s = p;
	g_free(s->user);
	g_free(s->csrf);
	g_free(s);
}

struct accounts_read {
	struct server *srv;
	const char *path;
	char *err;
};

/* One "user:role:hash" line; false with a message on a bad line. */
static bool account_line(void *arg, char *line, int lineno)
{
	struct accounts_read *r = arg;
	char **f = g_strsplit(g_strstrip(line), ":", 3);
	bool admin = f[1] && strcmp(f[1], "admin") == 0;
	bool ok = f[0] && f[1] && f[2] && *f[0] && (admin || strcmp(f[1], "reviewer") == 0) &&
	          g_str_has_prefix(f[2], "$argon2");
	if (ok) {
		struct account *a = g_new0(struct account, 1);
		a->hash = g_strdup(f[2]);
		a->admin = admin;
		g_hash_table_replace(r->srv->accounts, g_strdup(f[0]), a);
	} else {
		r->err =
		    g_strdup_printf("%s:%d:1: expected user:reviewer|admin:$argon2id$...", r->path, lineno);
	}
	g_strfreev(f);
	return ok;
}

static bool load_accounts(struct server *srv, const char *path, char **err)
{
	struct accounts_read r = {srv, path, NULL};
	char *read_err = NULL;
	if (linefile_each(path, account_line, &r, &read_err))
		return true;
	*err = read_err ? read_err : r.err;
	return false;
}

/* ---- answers ----------------------------------------------------------- */

/* Whether CONN came over the page's own TLS (tls-cert). */
static bool over_tls(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	return ci != NULL && ci->tls_session != NULL;
}

static enum MHD_Result respond(struct MHD_Connection *conn, int status, const char *type, const char *body,
                               size_t len, const char *location, const char *cookie)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Content-Security-Policy", security_policy);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (over_tls(conn))
		MHD_add_response_header(r, "Strict-Transport-Security", strict_transport);
	if (location)
		MHD_add_response_header(r, "Location", location);
	if (cookie)
		MHD_add_response_header(r, "Set-Cookie", cookie);
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result respond_page(struct MHD_Connection *conn, struct page *p, const char *cookie)
{
	enum MHD_Result ret;
	if (p->status == 303)
		ret = respond(conn, 303, "text/plain", "", 0, p->location, cookie);
	else
		ret = respond(conn, p->status, "text/html; charset=utf-8", p->body->str, p->body->len, NULL,
		              cookie);
	page_clear(p);
	return ret;
}

static enum MHD_Result respond_error(struct MHD_Connection *conn, int status, const char *msg)
{
	struct page p = {0};
	page_error(&p, status, msg);
	return respond_page(conn, &p, NULL);
}

static char *cookie(const struct server *srv, const char *name, const char *value, gint64 max_age)
{
	return g_strdup_printf("%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%" G_GINT64_FORMAT "%s",
	                       name, value, max_age,
	                       srv->app.cfg.cookie_secure || *srv->app.cfg.tls_cert ? "; Secure" : "");
}

/* ---- sessions ------------------------------------------------------------ */

/* A copy of the live session of CONN, or false. */
static bool find_session(struct server *srv, struct MHD_Connection *conn, gint64 now, struct session *out,
                         char **token)
{
	const char *t = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, SESSION_COOKIE);
	bool found = false;
	if (t == NULL)
		return false;
	g_mutex_lock(&srv->lock);
	struct session *s = g_hash_table_lookup(srv->sessions, t);
	if (s != NULL && s->expires <= now)
		g_hash_table_remove(srv->sessions, t);
	else if (s != NULL) {
		out->user = g_strdup(s->user);
		out->csrf = g_strdup(s->csrf);
		out->admin = s->admin;
		*token = g_strdup(t);
		found = true;
	}
	g_mutex_unlock(&srv->lock);
	return found;
}

static gboolean session_expired(gpointer key, gpointer value, gpointer now)
{
	(void)key;
	return ((const struct session *)value)->expires <= *(const gint64 *)now;
}

/* ---- client addresses ---------------------------------------------------- */

/* The canonical text of the IPv4 or IPv6 address SA ("?" for others). */
static void sockaddr_text(const struct sockaddr *sa, char out[REVIEW_ADDRESS_MAX])
{
	const void *a = sa == NULL                 ? NULL
	                : sa->sa_family == AF_INET ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
	                : sa->sa_family == AF_INET6
	                    ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
	                    : NULL;
	if (a == NULL || inet_ntop(sa->sa_family, a, out, REVIEW_ADDRESS_MAX) == NULL)
		g_strlcpy(out, "?", REVIEW_ADDRESS_MAX);
}

static void peer_address(struct MHD_Connection *conn, char out[REVIEW_ADDRESS_MAX])
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	sockaddr_text(ci ? ci->client_addr : NULL, out);
}

/* Where the request on CONN comes from: its peer, or when the peer is one
 * of trusted-proxies, the last address of its X-Forwarded-For header (the
 * one the proxy saw; those before it are the client's own word). */
static void client_address(const struct server *srv, struct MHD_Connection *conn,
                           char out[REVIEW_ADDRESS_MAX])
{
	peer_address(conn, out);
	const char *xff = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For");
	if (!review_address_listed(out, srv->app.cfg.trusted_proxies)) {
		/* Behind a proxy not named, every client is the proxy's address,
		 * and one client's wrong passwords lock the log-in for all: say so,
		 * once. */
		static gint warned;
		if (xff && g_atomic_int_compare_and_exchange(&warned, 0, 1))
			fprintf(stderr,
			        "apology-review: requests from %s carry X-Forwarded-For, but %s is not in "
			        "trusted-proxies: log-in locks count every client behind it as one address "
			        "(set trusted-proxies: %s if it is your proxy)\n",
			        out, out, out);
		return;
	}
	const char *last = xff ? strrchr(xff, ',') : NULL;
	char forwarded[REVIEW_ADDRESS_MAX];
	if (xff && review_address_canonical(last ? last + 1 : xff, forwarded))
		g_strlcpy(out, forwarded, REVIEW_ADDRESS_MAX);
}

/* ---- log-in -------------------------------------------------------------- */

static enum MHD_Result login_form(struct server *srv, struct MHD_Connection *conn, const char *error)
{
	/* Keep the form token the browser already has: a second load of the
	 * form (another tab, a favicon request redirected here) must not
	 * invalidate the first. */
	const char *have = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, LOGIN_COOKIE);
	bool reuse = have && strlen(have) == 32 && strspn(have, "0123456789abcdef") == 32;
	char *pre = reuse ? g_strdup(have) : token_random_hex(16), *c = cookie(srv, LOGIN_COOKIE, pre, 3600);
	struct page p = {0};
	page_login(&p, pre, error);
	enum MHD_Result ret = respond_page(conn, &p, c);
	g_free(pre);
	g_free(c);
	return ret;
}

static enum MHD_Result respond_locked(struct MHD_Connection *conn, gint64 seconds)
{
	char *msg =
	    g_strdup_printf("Too many failed log-ins: try again in %" G_GINT64_FORMAT " seconds.", seconds);
	enum MHD_Result ret = respond_error(conn, 429, msg);
	g_free(msg);
	return ret;
}

/* Say in the log what a wrong password of USER from ADDRESS locked. */
static void login_failed(const char *user, const char *address, const struct logins_locks *started)
{
	if (started->name > 0) {
		/* The name is what the form sent: any bytes, up to MAX_USER_NAME. */
		char *name = termtext_shown(user, -1, -1);
		fprintf(stderr, "apology-review: log-ins as %s from %s locked for %" G_GINT64_FORMAT "s\n",
		        name, address, started->name);
		g_free(name);
	}
	if (started->address > 0)
		fprintf(stderr,
		        "apology-review: log-ins from %s locked for %" G_GINT64_FORMAT "s (any user name)\n",
		        address, started->address);
}

static enum MHD_Result login(struct server *srv, struct MHD_Connection *conn, GHashTable *form, gint64 now)
{
	const char *pre = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, LOGIN_COOKIE);
	if (!same_token(pre, g_hash_table_lookup(form, "csrf")))
		return respond_error(conn, 403, "The log-in form expired or did not come from this site.");
	const char *user = g_hash_table_lookup(form, "user");
	const char *password = g_hash_table_lookup(form, "password");
	if (user == NULL || *user == '\0' || strlen(user) > MAX_USER_NAME || password == NULL)
		return login_form(srv, conn, "Wrong user name or password.");
	char peer[REVIEW_ADDRESS_MAX], address[REVIEW_ADDRESS_MAX], *err = NULL;
	client_address(srv, conn, peer);
	if (!review_address_throttled(peer, address))
		g_strlcpy(address, peer, sizeof address);
	/* Refused before the password is looked at: no answer to guess from.
	 * Counted as a failure before it is looked at, so that guesses sent
	 * at once each count against the others; a right one takes it back. */
	struct logins_locks started;
	gint64 locked = logins_begin(&srv->app.cfg, srv->app.st, user, address, now, &started, &err);
	if (locked != 0) {
		if (locked < 0)
			fprintf(stderr, "apology-review: log-in refused: %s\n", err);
		g_free(err);
		return locked > 0 ? respond_locked(conn, locked)
		                  : respond_error(conn, 503,
		                                  "Log-in is unavailable for the moment: try again later.");
	}
	struct account *a = g_hash_table_lookup(srv->accounts, user);
	bool ok = crypto_pwhash_str_verify(a ? a->hash : srv->dummy_hash, password, strlen(password)) == 0 &&
	          a != NULL;
	if (!ok) {
		login_failed(user, address, &started);
		return login_form(srv, conn, "Wrong user name or password.");
	}
	if (!logins_succeeded(srv->app.st, user, address, &started, &err))
		fprintf(stderr, "apology-review: %s\n", err);
	g_free(err);
	struct session *s = g_new0(struct session, 1);
	s->user = g_strdup(user);
	s->csrf = token_random_hex(24);
	s->admin = a->admin;
	s->expires = now + srv->app.cfg.session_ttl;
	char *token = token_random_hex(32);
	g_mutex_lock(&srv->lock);
	g_hash_table_foreach_remove(srv->sessions, session_expired, &now); /* abandoned ones */
	g_hash_table_replace(srv->sessions, g_strdup(token), s);
	g_mutex_unlock(&srv->lock);
	char *c = cookie(srv, SESSION_COOKIE, token, srv->app.cfg.session_ttl);
	enum MHD_Result ret = respond(conn, 303, "text/plain", "", 0, "/", c);
	g_free(c);
	g_free(token);
	return ret;
}

/* ---- requests ------------------------------------------------------------ */

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	g_hash_table_replace(cls, g_strdup(key), g_strdup(value ? value : ""));
	return MHD_YES;
}

static enum MHD_Result collect_post(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                                    const char *type, const char *encoding, const char *data, uint64_t off,
                                    size_t size)
{
	(void)kind, (void)filename, (void)type, (void)encoding;
	GHashTable *form = cls;
	if (key == NULL)
		return MHD_YES; /* a multipart part with no name (or an empty one): no field of ours */
	GString *v = g_hash_table_lookup(form, key);
	if (v == NULL || off == 0) {
		v = g_string_new(NULL);
		g_hash_table_replace(form, g_strdup(key), v);
	}
	g_string_append_len(v, data, (gssize)size);
	return MHD_YES;
}

static void string_free(gpointer p)
{
	g_string_free(p, TRUE);
}

/* POST fields as name -> char * (copies of the collected strings). */
static GHashTable *flatten(GHashTable *form)
{
	GHashTable *flat = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, form);
	while (g_hash_table_iter_next(&it, &k, &v))
		g_hash_table_replace(flat, g_strdup(k), g_strdup(((GString *)v)->str));
	return flat;
}

static gint64 reply_id(const char *url, const char *suffix)
{
	if (!g_str_has_prefix(url, "/reply/"))
		return 0;
	char *end = NULL;
	gint64 id = g_ascii_strtoll(url + 7, &end, 10);
	return id > 0 && end != url + 7 && strcmp(end, suffix) == 0 ? id : 0;
}

/* The pages at fixed paths (GET); a reply's page and its decision take its
 * id from the path (reply_id()). */
static const struct fixed_page {
	const char *path;
	bool admin; /* for administrators only */
	void (*page)(struct review_app *app, const struct review_request *rq, struct page *p);
} fixed_pages[] = {
    {"/", false, page_queue},
    {"/audit", true, page_audit},
    {"/stats", true, page_stats},
};

static const struct fixed_page *fixed_page(const char *url)
{
	for (size_t i = 0; i < G_N_ELEMENTS(fixed_pages); i++)
		if (strcmp(url, fixed_pages[i].path) == 0)
			return &fixed_pages[i];
	return NULL;
}

static enum MHD_Result route(struct server *srv, struct MHD_Connection *conn, const char *url, bool post,
                             GHashTable *form)
{
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	if (!post && strcmp(url, "/static/review.css") == 0) {
		GBytes *css = review_css();
		gsize len = 0;
		const char *body = g_bytes_get_data(css, &len);
		enum MHD_Result ret = respond(conn, 200, "text/css", body, len, NULL, NULL);
		g_bytes_unref(css);
		return ret;
	}
	if (strcmp(url, "/login") == 0)
		return post ? login(srv, conn, form, now) : login_form(srv, conn, NULL);

	struct session s = {0};
	char *token = NULL;
	if (!find_session(srv, conn, now, &s, &token)) {
		if (post)
			return respond_error(conn, 403, "Log in first.");
		if (strcmp(url, "/favicon.ico") == 0)
			return respond_error(conn, 404, "No such page.");
		return respond(conn, 303, "text/plain", "", 0, "/login", NULL);
	}
	enum MHD_Result ret;
	GHashTable *query = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, query);
	struct review_request rq = {s.user, s.admin, s.csrf, query, form, now};
	struct page p = {0};
	gint64 id;
	const struct fixed_page *fixed = post ? NULL : fixed_page(url);
	if (post && !same_token(s.csrf, form ? g_hash_table_lookup(form, "csrf") : NULL)) {
		page_error(&p, 403, "Missing or wrong CSRF token: reload the page and try again.");
	} else if (post && strcmp(url, "/logout") == 0) {
		g_mutex_lock(&srv->lock);
		g_hash_table_remove(srv->sessions, token);
		g_mutex_unlock(&srv->lock);
		p.status = 303;
		p.location = g_strdup("/login");
	} else if (post && (id = reply_id(url, "/decide")) > 0) {
		page_decide(&srv->app, &rq, id, &p);
	} else if (post) {
		page_error(&p, 404, "No such page.");
	} else if (fixed != NULL) {
		if (fixed->admin && !s.admin)
			page_error(&p, 403, "This page is for administrators.");
		else
			fixed->page(&srv->app, &rq, &p);
	} else if ((id = reply_id(url, "")) > 0) {
		/* Only the decisions this server redirects with: a link cannot put its
		 * own words in the page's success notice. */
		const char *done = g_hash_table_lookup(query, "done");
		const char *sent = g_hash_table_lookup(query, "sent");
		static const char *const decisions[] = {"release",         "discard",    "return",
		                                        "judge-complaint", "judge-none", NULL};
		char *notice =
		    done && g_strv_contains(decisions, done) ? g_strdup_printf("Done: %s.", done)
		    : sent && g_strv_contains(decisions, sent)
		        ? g_strdup_printf("Sent: %s, to the host that holds it; its agent carries it "
		                          "out.",
		                          sent)
		        : NULL;
		page_reply(&srv->app, &rq, id, notice, &p);
		g_free(notice);
	} else {
		page_error(&p, 404, "No such page.");
	}
	char *clear =
	    p.status == 303 && strcmp(url, "/logout") == 0
	        ? g_strdup_printf("%s=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0", SESSION_COOKIE)
	        : NULL;
	ret = respond_page(conn, &p, clear);
	g_free(clear);
	g_hash_table_unref(query);
	g_free(s.user);
	g_free(s.csrf);
	g_free(token);
	return ret;
}

/* The connection guard's slot of CONN (set when it opened). */
static struct connguard_slot *slot_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/* The state of a request whose headers just arrived: the connection is
 * busy until request_done(). */
static struct request_state *request_begin(struct server *srv, struct MHD_Connection *conn)
{
	struct request_state *rs = g_new0(struct request_state, 1);
	rs->slot = slot_of(conn);
	rs->started = g_get_monotonic_time();
	if (rs->slot)
		connguard_busy(srv->guard, rs->slot, true);
	return rs;
}

/* The first call of a POST: refuse a body declared too long before reading
 * it (libmicrohttpd then closes the connection), or set up the form reader. */
static enum MHD_Result post_begin(struct server *srv, struct MHD_Connection *conn, struct request_state *rs)
{
	const char *declared =
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (declared && g_ascii_strtoull(declared, NULL, 10) > (guint64)srv->app.cfg.max_body)
		return respond_error(conn, 413, "Too much data.");
	rs->form = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, string_free);
	rs->pp = MHD_create_post_processor(conn, 16 * 1024, collect_post, rs->form);
	return MHD_YES;
}

/* A piece of a POST body: read into the form, counted.  Past max-body (a
 * chunked body declares no length) or body-timeout the connection is
 * closed: libmicrohttpd can only answer before the body or after it. */
static enum MHD_Result post_data(struct server *srv, struct MHD_Connection *conn, struct request_state *rs,
                                 const char *data, size_t *size)
{
	rs->received += *size;
	const char *why = rs->received > (guint64)srv->app.cfg.max_body ? "longer than max-body"
	                  : g_get_monotonic_time() - rs->started > srv->app.cfg.body_timeout * G_USEC_PER_SEC
	                      ? "slower than body-timeout"
	                      : NULL;
	if (why != NULL) {
		char address[REVIEW_ADDRESS_MAX];
		peer_address(conn, address);
		fprintf(stderr, "apology-review: request body from %s %s: connection closed\n", address, why);
		return MHD_NO;
	}
	if (rs->pp)
		MHD_post_process(rs->pp, data, *size);
	*size = 0;
	return MHD_YES;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	(void)version;
	struct server *srv = cls;
	bool post = strcmp(method, "POST") == 0;
	struct request_state *rs = *con_cls;
	if (rs == NULL) {
		*con_cls = rs = request_begin(srv, conn);
		if (!post && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
			return respond_error(conn, 405, "Only GET and POST.");
		return post ? post_begin(srv, conn, rs) : route(srv, conn, url, false, NULL);
	}
	if (*upload_size > 0)
		return post_data(srv, conn, rs, upload, upload_size);
	if (rs->pp == NULL)
		return respond_error(conn, 415, "Forms only (application/x-www-form-urlencoded).");
	GHashTable *form = flatten(rs->form);
	enum MHD_Result ret = route(srv, conn, url, true, form);
	g_hash_table_unref(form);
	return ret;
}

static void request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)conn, (void)toe;
	struct server *srv = cls;
	struct request_state *rs = *con_cls;
	if (rs == NULL)
		return;
	if (rs->slot)
		connguard_busy(srv->guard, rs->slot, false);
	if (rs->pp)
		MHD_destroy_post_processor(rs->pp);
	if (rs->form)
		g_hash_table_unref(rs->form);
	g_free(rs);
	*con_cls = NULL;
}

/* A connection opened or closed: the guard counts it, and may make room
 * for a new one by shutting an older one down. */
static void connection_event(void *cls, struct MHD_Connection *conn, void **socket_context,
                             enum MHD_ConnectionNotificationCode code)
{
	struct server *srv = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		char address[REVIEW_ADDRESS_MAX];
		peer_address(conn, address);
		*socket_context = ci ? connguard_open(srv->guard, ci->connect_fd, address) : NULL;
	} else if (*socket_context != NULL) {
		connguard_close(srv->guard, *socket_context);
		*socket_context = NULL;
	}
}

/* ---- the notification worker --------------------------------------------- */

static gpointer worker(gpointer data)
{
	struct server *srv = data;
	g_mutex_lock(&srv->stop_lock);
	while (!srv->stopping) {
		g_mutex_unlock(&srv->stop_lock);
		struct notify_counts n;
		char *err = NULL;
		if (!notify_run_once(&srv->app.cfg, srv->app.st, g_get_real_time() / G_USEC_PER_SEC,
		                     &srv->stop_asked, &n, &err))
			fprintf(stderr, "apology-review: notifications: %s\n", err);
		g_free(err);
		g_mutex_lock(&srv->stop_lock);
		gint64 until = g_get_monotonic_time() + WORKER_INTERVAL_US;
		while (!srv->stopping && g_cond_wait_until(&srv->stop_cond, &srv->stop_lock, until))
			;
	}
	g_mutex_unlock(&srv->stop_lock);
	return NULL;
}

/* ---- start-up ------------------------------------------------------------ */

static int hash_password(void)
{
	char line[1024];
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	if (tty) {
		fputs("password: ", stderr);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
	}
	bool got = fgets(line, sizeof line, stdin) != NULL;
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSANOW, &old);
		fputc('\n', stderr);
	}
	line[strcspn(line, "\r\n")] = '\0';
	if (!got || line[0] == '\0') {
		fputs("apology-review: no password on standard input\n", stderr);
		return EX_DATAERR;
	}
	char hash[crypto_pwhash_STRBYTES];
	int rc = crypto_pwhash_str(hash, line, strlen(line), crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                           crypto_pwhash_MEMLIMIT_INTERACTIVE);
	sodium_memzero(line, sizeof line);
	if (rc != 0) {
		fputs("apology-review: out of memory hashing the password\n", stderr);
		return EX_OSERR;
	}
	puts(hash);
	return 0;
}

static bool parse_listen(const char *listen, struct sockaddr_in *sa)
{
	const char *colon = strrchr(listen, ':');
	char *end = NULL;
	if (colon == NULL)
		return false;
	long port = strtol(colon + 1, &end, 10);
	char *host = g_strndup(listen, (size_t)(colon - listen));
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	bool ok = *end == '\0' && port > 0 && port < 65536 && inet_pton(AF_INET, host, &sa->sin_addr) == 1;
	g_free(host);
	return ok;
}

static int usage(void)
{
	fputs("usage: apology-review [-c FILE] [-o key=value]...\n"
	      "       apology-review --hash-password   (password on standard input)\n",
	      stderr);
	review_config_print_help(stderr);
	return EX_USAGE;
}

/* The connections libmicrohttpd may hold above a limit of N: those the
 * guard shut down and their worker has not closed yet. */
static unsigned slack(unsigned n)
{
	return n / 4 + 8;
}

/* Raise the open-file limit to CONNECTIONS and some to spare, when allowed. */
static void allow_descriptors(unsigned connections)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)connections + 64;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
		fprintf(stderr,
		        "apology-review: open files limited to %llu: fewer connections than connection-limit "
		        "may be accepted\n",
		        (unsigned long long)rl.rlim_cur);
}

/* The certificate and key of tls-cert and tls-key, read before the server
 * starts; CERT is NULL when the page speaks plain HTTP. */
struct tls_files {
	char *cert, *key;
	gsize key_len;
};

static void tls_files_clear(struct tls_files *tls)
{
	if (tls->key != NULL)
		sodium_memzero(tls->key, tls->key_len);
	g_free(tls->key);
	g_free(tls->cert);
	memset(tls, 0, sizeof *tls);
}

/* Read tls-cert and tls-key into TLS, when set; 0, or a sysexits status
 * after saying why on standard error. */
static int tls_load(const struct review_config *cfg, struct tls_files *tls)
{
	GError *gerr = NULL;
	memset(tls, 0, sizeof *tls);
	if (*cfg->tls_cert == '\0' && *cfg->tls_key == '\0')
		return 0;
	if (*cfg->tls_cert == '\0' || *cfg->tls_key == '\0') {
		fputs("apology-review: tls-cert and tls-key go together: set both for HTTPS, or neither\n",
		      stderr);
		return EX_CONFIG;
	}
	if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
		fputs(
		    "apology-review: this libmicrohttpd is built without TLS: unset tls-cert and tls-key and "
		    "put a TLS proxy in front (packaging/nginx-apology-review.conf)\n",
		    stderr);
		return EX_UNAVAILABLE;
	}
	struct stat st;
	if (stat(cfg->tls_key, &st) == 0 && (st.st_mode & S_IROTH)) {
		fprintf(stderr,
		        "apology-review: tls-key %s may be read by anyone: chmod o-rwx it (owner the user "
		        "apology-review runs as, or root with that user's group)\n",
		        cfg->tls_key);
		return EX_CONFIG;
	}
	if (!g_file_get_contents(cfg->tls_cert, &tls->cert, NULL, &gerr) ||
	    !g_file_get_contents(cfg->tls_key, &tls->key, &tls->key_len, &gerr)) {
		fprintf(stderr, "apology-review: %s: %s\n", tls->cert ? "tls-key" : "tls-cert",
		        gerr->message);
		g_error_free(gerr);
		tls_files_clear(tls);
		return EX_CONFIG;
	}
	return 0;
}

/* An address other than loopback without TLS would carry passwords, session
 * cookies and held mail in clear text: refused.  0, or EX_CONFIG after
 * saying why. */
static int check_exposure(const struct review_config *cfg, const struct sockaddr_in *sa,
                          const struct tls_files *tls)
{
	if (tls->cert != NULL || (ntohl(sa->sin_addr.s_addr) >> 24) == 127)
		return 0;
	fprintf(stderr,
	        "apology-review: listen %s is not a loopback address, and without TLS log-ins, session "
	        "cookies and held mail would cross the network in clear text: set tls-cert and tls-key, or "
	        "listen on 127.0.0.1 behind a TLS proxy (packaging/nginx-apology-review.conf)\n",
	        cfg->listen);
	return EX_CONFIG;
}

/* libmicrohttpd on SA with the connection guard and the limits of the
 * settings: epoll (MHD_USE_AUTO) in each of a pool of threads (none for
 * one), HTTPS with the certificate and key of TLS when it has them; the
 * guard keeps to the limits, libmicrohttpd's own are the slack above them.
 * NULL with errno set when it cannot listen. */
static struct MHD_Daemon *start_http(struct server *srv, struct sockaddr_in *sa, const struct tls_files *tls)
{
	const struct review_config *cfg = &srv->app.cfg;
	unsigned limit = (unsigned)cfg->connection_limit,
	         per_address = (unsigned)cfg->connections_per_address;
	bool https = tls->cert != NULL;
	struct MHD_OptionItem tls_options[] = {
	    {https ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, tls->cert},
	    {MHD_OPTION_HTTPS_MEM_KEY, 0, tls->key},
	    {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)tls_priorities},
	    {MHD_OPTION_END, 0, NULL},
	};
	allow_descriptors(limit + slack(limit));
	srv->guard = connguard_new(limit, per_address);
	return MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG | (https ? MHD_USE_TLS : 0), 0,
	    NULL, NULL, handle, srv, MHD_OPTION_ARRAY, tls_options, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)sa, MHD_OPTION_THREAD_POOL_SIZE,
	    cfg->threads > 1 ? (unsigned)cfg->threads : 0u, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)cfg->idle_timeout, MHD_OPTION_CONNECTION_LIMIT, limit + slack(limit),
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_address + slack(per_address),
	    MHD_OPTION_NOTIFY_CONNECTION, connection_event, srv, MHD_OPTION_NOTIFY_COMPLETED, request_done,
	    srv, MHD_OPTION_END);
}

static int serve(struct server *srv)
{
	struct sockaddr_in sa;
	if (!parse_listen(srv->app.cfg.listen, &sa)) {
		fprintf(stderr, "apology-review: listen: expected IPv4-ADDRESS:PORT, got %s\n",
		        srv->app.cfg.listen);
		return EX_USAGE;
	}
	struct tls_files tls;
	int rc = tls_load(&srv->app.cfg, &tls);
	if (rc == 0)
		rc = check_exposure(&srv->app.cfg, &sa, &tls);
	if (rc != 0)
		return rc;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct MHD_Daemon *d = start_http(srv, &sa, &tls);
	if (d == NULL) {
		fprintf(stderr, "apology-review: cannot listen on %s: %s%s\n", srv->app.cfg.listen,
		        strerror(errno),
		        tls.cert ? " (or tls-cert and tls-key are not a PEM certificate and its private key)"
		                 : "");
		tls_files_clear(&tls);
		return EX_UNAVAILABLE;
	}
	GThread *w = g_thread_new("notify", worker, srv);
	printf("apology-review: listening on %s://%s/\n", tls.cert ? "https" : "http", srv->app.cfg.listen);
	fflush(stdout);
	int sig = 0;
	sigwait(&set, &sig);
	g_mutex_lock(&srv->stop_lock);
	srv->stopping = true;
	g_atomic_int_set(&srv->stop_asked, 1);
	g_cond_signal(&srv->stop_cond);
	g_mutex_unlock(&srv->stop_lock);
	MHD_stop_daemon(d);
	tls_files_clear(&tls);
	g_thread_join(w);
	fprintf(stderr, "apology-review: stopped (%lu connections closed to make room)\n",
	        connguard_evicted(srv->guard));
	return 0;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return EX_OSERR;
	if (argc == 2 && strcmp(argv[1], "--hash-password") == 0)
		return hash_password();
	struct server srv = {0};
	int next = 0;
	review_config_init(&srv.app.cfg);
	int rc = review_config_from_args(&srv.app.cfg, argc, argv, &next);
	if (rc == 0 && next != argc)
		rc = usage();
	char *err = NULL;
	srv.accounts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, account_free);
	srv.sessions = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, session_free);
	g_mutex_init(&srv.lock);
	g_mutex_init(&srv.stop_lock);
	g_cond_init(&srv.stop_cond);
	if (rc == 0 && !load_accounts(&srv, srv.app.cfg.accounts, &err))
		rc = EX_CONFIG;
	if (rc == 0 && (srv.app.st = review_config_open_store(&srv.app.cfg, &err)) == NULL)
		rc = EX_UNAVAILABLE;
	if (rc == 0) {
		/* Deprecated here: the page reads a reply's text and complaint
		 * from the store, and links no policy. */
		if (strcmp(srv.app.cfg.policy, REVIEW_CONFIG_DEFAULT_POLICY) != 0)
			fprintf(
			    stderr,
			    "apology-review: setting policy (%s) ignored: the page reads the reply and the"
			    " complaint from the store\n",
			    srv.app.cfg.policy);
		char dummy[crypto_pwhash_STRBYTES];
		if (crypto_pwhash_str(dummy, "no such user", 12, crypto_pwhash_OPSLIMIT_INTERACTIVE,
		                      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
			rc = EX_OSERR;
		srv.dummy_hash = g_strdup(dummy);
		notify_init();
		if (rc == 0)
			rc = serve(&srv);
		notify_cleanup();
	}
	if (err)
		fprintf(stderr, "apology-review: %s\n", err);
	g_free(err);
	store_close(srv.app.st);
	g_hash_table_unref(srv.accounts);
	g_hash_table_unref(srv.sessions);
	connguard_free(srv.guard);
	g_free(srv.dummy_hash);
	g_mutex_clear(&srv.lock);
	g_mutex_clear(&srv.stop_lock);
	g_cond_clear(&srv.stop_cond);
	review_config_clear(&srv.app.cfg);
	return rc;
}
