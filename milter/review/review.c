/*
 * apology-review - the review page for held replies.
 *
 *   apology-review [-c FILE] [-o key=value]...   serve (foreground)
 *   apology-review --hash-password               read a password on standard
 *                                                input, print its Argon2id hash
 *
 * The HTTP shell around review_pages.c: libmicrohttpd bound to loopback by
 * default (TLS belongs to a reverse proxy, see packaging/nginx-apology-review.conf),
 * log-in against an accounts file of "user:role:hash" lines (libsodium's
 * crypto_pwhash_str, Argon2id), sessions held in memory under random tokens
 * sent in HttpOnly SameSite=Strict cookies, a CSRF token checked on every
 * POST, strict security headers on every answer, and a thread running the
 * notification worker (notify.h) every few seconds.  Decisions go through
 * quarantine_act(), as the CLI's do.
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
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include "linefile.h"
#include "notify.h"
#include "policy.h"
#include "review.h"
#include "token.h"

#define SESSION_COOKIE     "apology_session"
#define LOGIN_COOKIE       "apology_login"
#define MAX_BODY           (64 * 1024)
#define WORKER_INTERVAL_US (5 * G_USEC_PER_SEC)

/* Log-in throttling, per user name: after LOGIN_FREE_FAILURES failures in a
 * row, the name is locked for LOGIN_LOCK_FIRST seconds, doubled with every
 * further failure up to LOGIN_LOCK_MAX; a success clears it.  Per name, not
 * per address: behind a proxy every browser comes from the same address.
 * At most LOGIN_TRACKED names are remembered: unlocked names idle for
 * LOGIN_LOCK_MAX seconds make room; when none can, a new name goes untracked. */
#define LOGIN_FREE_FAILURES 5
#define LOGIN_LOCK_FIRST    60
#define LOGIN_LOCK_MAX      900
#define LOGIN_TRACKED       10000

static const char security_policy[] = "default-src 'none'; style-src 'self'; img-src 'self'; "
                                      "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

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

/* Failed log-ins of one user name (known or not). */
struct failures {
	int count;
	gint64 last;         /* seconds */
	gint64 locked_until; /* seconds; 0 = not locked */
};

struct server {
	struct review_app app;
	GHashTable *accounts; /* user -> struct account */
	GHashTable *sessions; /* token -> struct session */
	GHashTable *failures; /* user name -> struct failures */
	GMutex lock;          /* guards sessions and failures */
	char *dummy_hash;     /* verified against for unknown users: same cost */
	GMutex stop_lock;
	GCond stop_cond;
	bool stopping;
};

/* Per-request state kept by libmicrohttpd between calls. */
struct request_state {
	struct MHD_PostProcessor *pp;
	GHashTable *form;
	size_t received;
	bool too_big;
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
	                       name, value, max_age, srv->app.cfg.cookie_secure ? "; Secure" : "");
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

/* Seconds USER stays locked out, 0 when it may try. */
static gint64 login_locked(struct server *srv, const char *user, gint64 now)
{
	g_mutex_lock(&srv->lock);
	struct failures *f = g_hash_table_lookup(srv->failures, user);
	gint64 left = f && f->locked_until > now ? f->locked_until - now : 0;
	g_mutex_unlock(&srv->lock);
	return left;
}

static gboolean session_expired(gpointer key, gpointer value, gpointer now)
{
	(void)key;
	return ((const struct session *)value)->expires <= *(const gint64 *)now;
}

static gboolean forgettable(gpointer key, gpointer value, gpointer now)
{
	(void)key;
	const struct failures *f = value;
	return f->locked_until <= *(const gint64 *)now && f->last < *(const gint64 *)now - LOGIN_LOCK_MAX;
}

static void login_failed(struct server *srv, const char *user, gint64 now)
{
	g_mutex_lock(&srv->lock);
	struct failures *f = g_hash_table_lookup(srv->failures, user);
	if (f == NULL) {
		if (g_hash_table_size(srv->failures) >= LOGIN_TRACKED)
			g_hash_table_foreach_remove(srv->failures, forgettable, &now);
		if (g_hash_table_size(srv->failures) < LOGIN_TRACKED) {
			f = g_new0(struct failures, 1);
			g_hash_table_insert(srv->failures, g_strdup(user), f);
		}
	}
	if (f == NULL) { /* still full: every name is locked or recent */
		g_mutex_unlock(&srv->lock);
		return;
	}
	f->count++;
	f->last = now;
	if (f->count >= LOGIN_FREE_FAILURES) {
		int doublings = MIN(f->count - LOGIN_FREE_FAILURES, 10);
		f->locked_until = now + MIN((gint64)LOGIN_LOCK_FIRST << doublings, LOGIN_LOCK_MAX);
	}
	g_mutex_unlock(&srv->lock);
}

static void login_succeeded(struct server *srv, const char *user)
{
	g_mutex_lock(&srv->lock);
	g_hash_table_remove(srv->failures, user);
	g_mutex_unlock(&srv->lock);
}

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

static enum MHD_Result login(struct server *srv, struct MHD_Connection *conn, GHashTable *form, gint64 now)
{
	const char *pre = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, LOGIN_COOKIE);
	if (!same_token(pre, g_hash_table_lookup(form, "csrf")))
		return respond_error(conn, 403, "The log-in form expired or did not come from this site.");
	const char *user = g_hash_table_lookup(form, "user");
	const char *password = g_hash_table_lookup(form, "password");
	gint64 locked = user ? login_locked(srv, user, now) : 0;
	if (locked > 0) {
		/* Refused before the password is looked at: no answer to guess from. */
		char *msg = g_strdup_printf(
		    "Too many failed log-ins for this user: try again in %" G_GINT64_FORMAT " seconds.",
		    locked);
		enum MHD_Result ret = respond_error(conn, 429, msg);
		g_free(msg);
		return ret;
	}
	struct account *a = user ? g_hash_table_lookup(srv->accounts, user) : NULL;
	const char *hash = a ? a->hash : srv->dummy_hash;
	bool ok =
	    password != NULL && crypto_pwhash_str_verify(hash, password, strlen(password)) == 0 && a != NULL;
	if (!ok) {
		if (user)
			login_failed(srv, user, now);
		return login_form(srv, conn, "Wrong user name or password.");
	}
	login_succeeded(srv, user);
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

static enum MHD_Result route(struct server *srv, struct MHD_Connection *conn, const char *url, bool post,
                             GHashTable *form)
{
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	if (!post && strcmp(url, "/static/review.css") == 0)
		return respond(conn, 200, "text/css", review_css, strlen(review_css), NULL, NULL);
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
	} else if (strcmp(url, "/") == 0) {
		page_queue(&srv->app, &rq, &p);
	} else if ((id = reply_id(url, "")) > 0) {
		/* Only the decisions this server redirects with: a link cannot put its
		 * own words in the page's success notice. */
		const char *done = g_hash_table_lookup(query, "done");
		static const char *const decisions[] = {"release", "discard", "return", NULL};
		bool known = done && g_strv_contains(decisions, done);
		char *notice = known ? g_strdup_printf("Done: %s.", done) : NULL;
		page_reply(&srv->app, &rq, id, notice, &p);
		g_free(notice);
	} else if (strcmp(url, "/audit") == 0 || strcmp(url, "/stats") == 0) {
		if (!s.admin)
			page_error(&p, 403, "This page is for administrators.");
		else if (url[1] == 'a')
			page_audit(&srv->app, &rq, &p);
		else
			page_stats(&srv->app, &rq, &p);
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

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	(void)version;
	struct server *srv = cls;
	bool post = strcmp(method, "POST") == 0;
	if (!post && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return respond_error(conn, 405, "Only GET and POST.");
	if (!post)
		return route(srv, conn, url, false, NULL);
	struct request_state *rs = *con_cls;
	if (rs == NULL) {
		rs = g_new0(struct request_state, 1);
		rs->form = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, string_free);
		rs->pp = MHD_create_post_processor(conn, 16 * 1024, collect_post, rs->form);
		*con_cls = rs;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		rs->received += *upload_size;
		if (rs->received > MAX_BODY)
			rs->too_big = true;
		else if (rs->pp)
			MHD_post_process(rs->pp, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (rs->too_big)
		return respond_error(conn, 413, "Too much data.");
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
	(void)cls, (void)conn, (void)toe;
	struct request_state *rs = *con_cls;
	if (rs == NULL)
		return;
	if (rs->pp)
		MHD_destroy_post_processor(rs->pp);
	g_hash_table_unref(rs->form);
	g_free(rs);
	*con_cls = NULL;
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
		if (!notify_run_once(&srv->app.cfg, srv->app.st, g_get_real_time() / G_USEC_PER_SEC, &n,
		                     &err))
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

static int serve(struct server *srv)
{
	struct sockaddr_in sa;
	if (!parse_listen(srv->app.cfg.listen, &sa)) {
		fprintf(stderr, "apology-review: listen: expected IPv4-ADDRESS:PORT, got %s\n",
		        srv->app.cfg.listen);
		return EX_USAGE;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct MHD_Daemon *d =
	    MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, handle, srv,
	                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE, 4u,
	                     MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_CONNECTION_LIMIT, 64u,
	                     MHD_OPTION_NOTIFY_COMPLETED, request_done, srv, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "apology-review: cannot listen on %s: %s\n", srv->app.cfg.listen,
		        strerror(errno));
		return EX_UNAVAILABLE;
	}
	GThread *w = g_thread_new("notify", worker, srv);
	printf("apology-review: listening on http://%s/\n", srv->app.cfg.listen);
	fflush(stdout);
	int sig = 0;
	sigwait(&set, &sig);
	g_mutex_lock(&srv->stop_lock);
	srv->stopping = true;
	g_cond_signal(&srv->stop_cond);
	g_mutex_unlock(&srv->stop_lock);
	MHD_stop_daemon(d);
	g_thread_join(w);
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
	srv.failures = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_mutex_init(&srv.lock);
	g_mutex_init(&srv.stop_lock);
	g_cond_init(&srv.stop_cond);
	if (rc == 0 && !load_accounts(&srv, srv.app.cfg.accounts, &err))
		rc = EX_CONFIG;
	if (rc == 0 && (srv.app.st = store_open(srv.app.cfg.store, &err)) == NULL)
		rc = EX_UNAVAILABLE;
	if (rc == 0) {
		char *perr = NULL;
		srv.app.pol = policy_load(srv.app.cfg.policy, &perr);
		if (srv.app.pol == NULL)
			fprintf(stderr, "apology-review: policy not loaded, replies shown without text: %s",
			        perr ? perr : "\n");
		g_free(perr);
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
	if (srv.app.pol)
		policy_unref(srv.app.pol);
	store_close(srv.app.st);
	g_hash_table_unref(srv.accounts);
	g_hash_table_unref(srv.sessions);
	g_hash_table_unref(srv.failures);
	g_free(srv.dummy_hash);
	g_mutex_clear(&srv.lock);
	g_mutex_clear(&srv.stop_lock);
	g_cond_clear(&srv.stop_cond);
	review_config_clear(&srv.app.cfg);
	return rc;
}
