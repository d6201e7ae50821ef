/*
 * review_config.c - see review_config.h.  One table of keys; the file
 * (read by util/settings.c, as the daemon's configuration is) and -o
 * overrides both go through set_key().
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "holdqueue.h"
#include "hostname.h"
#include "opts.h"
#include "quarantine.h"
#include "review_config.h"
#include "settings.h"
#include "store.h"
#include "units.h"

#ifndef LIBEXECDIR
#define LIBEXECDIR "/usr/local/libexec/apology-milter"
#endif

enum key_type {
	KEY_STRING,
	KEY_HOST_NAME, /* a string hostname_check() accepts, as the daemon's host-name */
	KEY_BOOL,
	KEY_INT,
	KEY_DURATION,
	KEY_SIZE,
	KEY_ADDRESSES,
	KEY_EXPIRE_ACTION
};

/* One setting.  MIN and MAX bound the numbers (KEY_INT), seconds
 * (KEY_DURATION) and bytes (KEY_SIZE); the help text says them. */
struct review_key {
	const char *name;
	enum key_type type;
	size_t offset;
	const char *def;
	gint64 min, max;
	const char *help;
};

#define FIELD(f) offsetof(struct review_config, f)
#define MINUTE   60
#define HOUR     3600
#define DAY      86400

static const struct review_key review_keys[] = {
    {"store", KEY_STRING, FIELD(store), "sqlite:/var/lib/apology-milter/store.db", 0, 0,
     "the daemon's store (the same value as its \"store\" key)"},
    {"store-pool-size", KEY_INT, FIELD(pool_size), "4", 1, STORE_POOL_MAX,
     "connections the store's handle keeps at most when it is PostgreSQL (as the daemon's "
     "store-pool-size; SQLite ignores it): apology-review and each apologyctl command that reads the "
     "store open one handle"},
    {"spool-directory", KEY_STRING, FIELD(spool_dir), "/run/apology-milter", 0, 0,
     "the daemon's spool.directory: `quarantine reconcile` shows the records of held mail waiting "
     "there while the store could not take them, and `apologyctl store aside` the lines a replay "
     "set aside (empty: not read)"},
    {"policy", KEY_STRING, FIELD(policy), REVIEW_CONFIG_DEFAULT_POLICY, 0, 0,
     "the apology policy, for `apologyctl labels export` to re-read the new text of replies held "
     "before the store kept it (apology-review ignores it: it reads only the store)"},
    {"postfix-config", KEY_STRING, FIELD(postfix_config), "", 0, 0,
     "Postfix configuration directory (empty: the default instance); the helper acts only on those "
     "listed in its own settings, postsuper.conf"},
    {"sendmail-config", KEY_STRING, FIELD(sendmail_cf), "", 0, 0,
     "Sendmail's sendmail.cf when held mail is in Sendmail's quarantine (empty: Postfix); it must "
     "be the helper's sendmail-config in postsuper.conf"},
    {"sendmail-program", KEY_STRING, FIELD(sendmail_bin), "/usr/sbin/sendmail", 0, 0,
     "the sendmail binary that lists Sendmail's queue (-bp) when sendmail-config is set"},
    {"helper", KEY_STRING, FIELD(helper), LIBEXECDIR "/apology-postsuper", 0, 0,
     "the privileged helper that releases or deletes held mail (run with sudo -n when not root)"},
    {"mta-timeout", KEY_DURATION, FIELD(mta_timeout), "30s", 1, HOUR,
     "how long one MTA command may run (the helper's release or discard, postqueue, sendmail -bp): "
     "one still running is sent SIGTERM (sudo passes it on to the helper), SIGKILL 2s later, and the "
     "decision fails as when the helper fails; agent-lease must be longer than one decision's MTA "
     "commands may take (4 with Postfix, 7 with Sendmail, each mta-timeout plus 2s)"},
    {"host-name", KEY_HOST_NAME, FIELD(host_name), "", 0, 0,
     "this mail host's name: the same value as the daemon's \"host-name\", which it records with "
     "each hold (empty: the system's host name); a decision about a hold of another host is sent to "
     "that host's `quarantine agent`, and `quarantine reconcile` compares only this host's records"},
    {"agent-interval", KEY_DURATION, FIELD(agent_interval), "10s", 1, DAY,
     "how often `quarantine agent` looks in the store for decisions addressed to this host"},
    {"agent-lease", KEY_DURATION, FIELD(agent_lease), "5m", 1, DAY,
     "how long an agent's claim of a decision lasts: one still open after this (its agent stopped "
     "before recording a result) is claimed again and finished by the next agent; it must be longer "
     "than a decision's MTA commands may take (see mta-timeout)"},
    {"expire-after", KEY_DURATION, FIELD(expire_after), "7d", 0, 3650 * DAY,
     "`quarantine expire` acts on mail held longer than this"},
    {"expire-action", KEY_EXPIRE_ACTION, FIELD(expire_action), "return", 0, 0,
     "what expiry does: return (delete and tell the author) or release"},
    {"review-url", KEY_STRING, FIELD(review_url), "http://127.0.0.1:8025", 0, 0,
     "base URL of the review page, used in links in notifications"},
    {"webhook-url", KEY_STRING, FIELD(webhook_url), "", 0, 0,
     "POST a JSON notice (with a Slack-compatible \"text\") here on each hold and decision"},
    {"smtp-url", KEY_STRING, FIELD(smtp_url), "smtp://127.0.0.1:25", 0, 0,
     "where mail to authors is submitted (empty: no mail)"},
    {"mail-from", KEY_STRING, FIELD(mail_from), "apology-review@localhost", 0, 0,
     "sender of mail to authors: an address, or Name <address>"},
    {"notify-timeout", KEY_DURATION, FIELD(notify_timeout), "10s", 0, HOUR,
     "how long one webhook call or mail submission may take"},
    {"notify-attempts", KEY_INT, FIELD(notify_attempts), "8", 1, 1000,
     "give a notification up after this many attempts"},
    {"notify-backoff", KEY_DURATION, FIELD(notify_backoff), "30s", 0, DAY,
     "delay before the first retry; doubled after each failure (at most 6h)"},
    {"listen", KEY_STRING, FIELD(listen), "127.0.0.1:8025", 0, 0,
     "address and port apology-review listens on; an address other than loopback needs tls-cert and "
     "tls-key (or listen on loopback behind a TLS proxy)"},
    {"tls-cert", KEY_STRING, FIELD(tls_cert), "", 0, 0,
     "PEM certificate (chain) for HTTPS served by apology-review itself, with tls-key; sends "
     "Strict-Transport-Security and Secure cookies (empty: plain HTTP)"},
    {"tls-key", KEY_STRING, FIELD(tls_key), "", 0, 0,
     "PEM private key of tls-cert (readable by the user apology-review runs as, by no one else)"},
    {"accounts", KEY_STRING, FIELD(accounts), "/etc/apology-milter/review-accounts", 0, 0,
     "log-ins of the review page: user:role:hash lines (role reviewer or admin)"},
    {"cookie-secure", KEY_BOOL, FIELD(cookie_secure), "no", 0, 0,
     "mark session cookies Secure (yes when users reach the page over HTTPS)"},
    {"session-ttl", KEY_DURATION, FIELD(session_ttl), "8h", 0, 365 * DAY, "how long a log-in lasts"},
    {"threads", KEY_INT, FIELD(threads), "4", 1, 64,
     "threads of apology-review answering requests; each watches many connections, so a slow "
     "client holds a connection, never a thread"},
    {"connection-limit", KEY_INT, FIELD(connection_limit), "256", 8, 10000,
     "connections open at once; past it, a new connection closes the oldest one with no request "
     "in progress (half-sent or idle), or is itself closed when every one is busy"},
    {"connections-per-address", KEY_INT, FIELD(connections_per_address), "16", 1, 10000,
     "connections open at once from one client address, made room for in the same way; behind a "
     "proxy every client has the proxy's address: raise it to connection-limit"},
    {"idle-timeout", KEY_DURATION, FIELD(idle_timeout), "10s", 1, 10 * MINUTE,
     "a connection that sends and reads nothing for this long is closed (a half-sent request, a "
     "stalled body, an idle keep-alive)"},
    {"body-timeout", KEY_DURATION, FIELD(body_timeout), "30s", 1, 10 * MINUTE,
     "a request's body must have arrived this long after its headers, or the connection is closed"},
    {"max-body", KEY_SIZE, FIELD(max_body), "64k", 1024, 16 << 20,
     "largest request body read: a longer declared one is answered 413 unread, a chunked one is "
     "cut off (the connection closed) where it passes this"},
    {"login-failures", KEY_INT, FIELD(login_failures), "5", 1, 1000,
     "wrong passwords in a row for one user name from one client address before that name is "
     "locked there: a minute, doubling with each further failure up to 15 minutes"},
    {"login-failures-per-address", KEY_INT, FIELD(login_failures_per_address), "20", 1, 1000,
     "wrong passwords from one client address, whatever the names, before the address is locked "
     "the same way; a success does not clear them, 15 minutes without a failure does"},
    {"trusted-proxies", KEY_ADDRESSES, FIELD(trusted_proxies), "", 0, 0,
     "addresses of reverse proxies, comma-separated: a request from one of them comes from the "
     "last address of its X-Forwarded-For header (log-in locks are per client address)"},
};

/* A unit as the help text and errors write bounds: "10m", "64k". */
struct unit {
	char suffix;
	gint64 scale;
};

/* One grammar for every duration (util/units.h): weeks too. */
#define REVIEW_DURATION_UNITS UNITS_DURATION

static const struct unit duration_units[] = {{'s', 1}, {'m', MINUTE}, {'h', HOUR}, {'d', DAY}, {0, 0}};
static const struct unit size_units[] = {{'k', 1024}, {'m', 1024 * 1024}, {0, 0}};

/* V in the largest of UNITS that divides it ("10m", "64k"), or plain (also
 * when UNITS is NULL); caller frees. */
static char *format_scaled(gint64 v, const struct unit *units)
{
	const struct unit *best = NULL;
	for (const struct unit *u = units; u != NULL && u->suffix; u++)
		if (v != 0 && v % u->scale == 0 && (best == NULL || u->scale > best->scale))
			best = u;
	if (best == NULL)
		return g_strdup_printf("%" G_GINT64_FORMAT, v);
	return g_strdup_printf("%" G_GINT64_FORMAT "%c", v / best->scale, best->suffix);
}

bool review_parse_duration(const char *s, gint64 *out)
{
	char *err = s ? units_parse_duration(s, REVIEW_DURATION_UNITS, out) : g_strdup("no value");
	g_free(err);
	return err == NULL;
}

bool review_address_canonical(const char *text, char out[REVIEW_ADDRESS_MAX])
{
	struct in6_addr a6;
	struct in_addr a4;
	char *t = g_strstrip(g_strdup(text ? text : ""));
	bool v4 = inet_pton(AF_INET, t, &a4) == 1, v6 = !v4 && inet_pton(AF_INET6, t, &a6) == 1;
	g_free(t);
	if (v4)
		return inet_ntop(AF_INET, &a4, out, REVIEW_ADDRESS_MAX) != NULL;
	return v6 && inet_ntop(AF_INET6, &a6, out, REVIEW_ADDRESS_MAX) != NULL;
}

bool review_address_throttled(const char *text, char out[REVIEW_ADDRESS_MAX])
{
	char *t = g_strstrip(g_strdup(text ? text : ""));
	size_t n = strlen(t);
	if (n > 3 && strcmp(t + n - 3, "/64") == 0 && strchr(t, ':') != NULL)
		t[n - 3] = '\0';
	struct in6_addr a6;
	bool v6 = inet_pton(AF_INET6, t, &a6) == 1;
	g_free(t);
	if (!v6)
		return review_address_canonical(text, out);
	if (IN6_IS_ADDR_V4MAPPED(&a6))
		return inet_ntop(AF_INET, &a6.s6_addr[12], out, REVIEW_ADDRESS_MAX) != NULL;
	memset(&a6.s6_addr[8], 0, 8);
	char net[REVIEW_ADDRESS_MAX];
	if (inet_ntop(AF_INET6, &a6, net, sizeof net) == NULL)
		return false;
	g_snprintf(out, REVIEW_ADDRESS_MAX, "%s/64", net);
	return true;
}

/* Read the comma-separated addresses of LIST: -1 when one is no address,
 * 1 when one is ADDRESS (canonical; may be NULL), else 0. */
static int scan_addresses(const char *list, const char *address)
{
	char **entries = g_strsplit(list, ",", -1);
	int found = 0;
	for (int i = 0; *list != '\0' && found == 0 && entries[i]; i++) {
		char canonical[REVIEW_ADDRESS_MAX];
		if (!review_address_canonical(entries[i], canonical))
			found = -1;
		else if (address != NULL && strcmp(canonical, address) == 0)
			found = 1;
	}
	g_strfreev(entries);
	return found;
}

bool review_address_list_valid(const char *list)
{
	return scan_addresses(list, NULL) >= 0;
}

bool review_address_listed(const char *address, const char *list)
{
	return scan_addresses(list, address) == 1;
}

/* How K's numbers are written: NULL for plain numbers. */
static const struct unit *units_of(const struct review_key *k)
{
	return k->type == KEY_DURATION ? duration_units : k->type == KEY_SIZE ? size_units : NULL;
}

/* "MIN to MAX" of K in its units; caller frees. */
static char *bounds_text(const struct review_key *k)
{
	char *lo = format_scaled(k->min, units_of(k)), *hi = format_scaled(k->max, units_of(k));
	char *text = g_strdup_printf("%s to %s", lo, hi);
	g_free(lo);
	g_free(hi);
	return text;
}

/* A KEY_INT (an int), KEY_DURATION (seconds) or KEY_SIZE (bytes, both
 * gint64) within K's bounds; NULL or an error message (caller frees). */
static char *set_number(const struct review_key *k, const char *value, void *field)
{
	static const char *const what[] = {
	    [KEY_INT] = "a number", [KEY_DURATION] = "a duration", [KEY_SIZE] = "a size"};
	static const char *const example[] = {
	    [KEY_DURATION] = " such as 30s, 5m, 2h or 7d", [KEY_SIZE] = " such as 512, 64k or 1m (bytes)"};
	const struct unit *units = units_of(k);
	gint64 n = 0;
	bool ok;
	if (units) {
		char *e = k->type == KEY_DURATION ? units_parse_duration(value, REVIEW_DURATION_UNITS, &n)
		                                  : units_parse_size(value, "km", &n);
		ok = e == NULL;
		g_free(e);
	} else {
		char *end = NULL;
		n = g_ascii_strtoll(value, &end, 10);
		ok = *value != '\0' && *end == '\0';
	}
	if (ok && n >= k->min && n <= k->max) {
		if (k->type == KEY_INT)
			*(int *)field = (int)n;
		else
			*(gint64 *)field = n;
		return NULL;
	}
	if (!ok && units)
		return g_strdup_printf("expected %s%s", what[k->type], example[k->type]);
	char *bounds = bounds_text(k);
	char *e = g_strdup_printf("expected %s from %s", what[k->type], bounds);
	g_free(bounds);
	return e;
}

/* Set KEY to VALUE; returns NULL or why not, without the key's name (caller
 * frees). */
static char *set_key(struct review_config *cfg, const struct review_key *k, const char *value)
{
	void *field = (char *)cfg + k->offset;
	char *why = NULL;
	switch (k->type) {
	case KEY_HOST_NAME:
		if ((why = hostname_check(value)) != NULL)
			return why;
		/* fall through */
	case KEY_STRING:
		g_free(*(char **)field);
		*(char **)field = g_strdup(value);
		return NULL;
	case KEY_BOOL: return units_parse_bool(value, field) ? NULL : g_strdup("expected yes or no");
	case KEY_INT:
	case KEY_DURATION:
	case KEY_SIZE: return set_number(k, value, field);
	case KEY_ADDRESSES:
		if (!review_address_list_valid(value))
			return g_strdup("expected IP addresses separated by commas");
		g_free(*(char **)field);
		*(char **)field = g_strdup(value);
		return NULL;
	case KEY_EXPIRE_ACTION:
		if (strcmp(value, "return") == 0)
			*(int *)field = EXPIRE_RETURN;
		else if (strcmp(value, "release") == 0)
			*(int *)field = EXPIRE_RELEASE;
		else
			return g_strdup("expected return or release");
		return NULL;
	}
	g_assert_not_reached();
}

static const struct review_key *find_key(const char *name, size_t len)
{
	for (size_t i = 0; i < G_N_ELEMENTS(review_keys); i++)
		if (strlen(review_keys[i].name) == len && strncmp(review_keys[i].name, name, len) == 0)
			return &review_keys[i];
	return NULL;
}

void review_config_init(struct review_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	for (size_t i = 0; i < G_N_ELEMENTS(review_keys); i++) {
		char *e = set_key(cfg, &review_keys[i], review_keys[i].def);
		g_assert(e == NULL);
	}
}

void review_config_clear(struct review_config *cfg)
{
	for (size_t i = 0; i < G_N_ELEMENTS(review_keys); i++)
		if (review_keys[i].type == KEY_STRING || review_keys[i].type == KEY_HOST_NAME ||
		    review_keys[i].type == KEY_ADDRESSES)
			g_free(*(char **)((char *)cfg + review_keys[i].offset));
	memset(cfg, 0, sizeof *cfg);
}

struct store *review_config_open_store(const struct review_config *cfg, char **err)
{
	struct store *st = store_open(cfg->store, err);
	if (st != NULL)
		store_set_pool_size(st, cfg->pool_size);
	return st;
}

bool review_config_set(struct review_config *cfg, const char *assignment, char **err)
{
	const char *eq = strchr(assignment, '=');
	const struct review_key *k = eq ? find_key(assignment, (size_t)(eq - assignment)) : NULL;
	if (k == NULL) {
		*err = g_strdup_printf("-o %s: expected key=value with a known key", assignment);
		return false;
	}
	char *e = set_key(cfg, k, eq + 1);
	if (e != NULL) {
		*err = g_strdup_printf("-o %s: %s", k->name, e);
		g_free(e);
		return false;
	}
	return true;
}

/* ---- the file, read by util/settings.c: one mapping of keys ------------- */

static enum settings_kind key_kind(const char *name)
{
	return find_key(name, strlen(name)) ? SETTINGS_VALUE : SETTINGS_UNKNOWN;
}

/* An empty value is the empty text. */
static char *key_set(void *cfg, const char *name, const char *value)
{
	return set_key(cfg, find_key(name, strlen(name)), value ? value : "");
}

static const struct settings_schema review_schema = {key_kind, key_set, NULL};

bool review_config_load(struct review_config *cfg, const char *file, char **err)
{
	char *text = NULL;
	gsize len = 0;
	GError *gerr = NULL;
	if (!g_file_get_contents(file, &text, &len, &gerr)) {
		*err = g_strdup_printf("%s: %s\n", file, gerr->message);
		g_error_free(gerr);
		return false;
	}
	bool ok = settings_read(&review_schema, cfg, file, text, len, err);
	g_free(text);
	return ok;
}

bool review_config_check(const struct review_config *cfg, char **err)
{
	unsigned commands = quarantine_mta_commands(cfg);
	gint64 longest = commands * (cfg->mta_timeout + HOLDQUEUE_GRACE);
	if (cfg->agent_lease > longest)
		return true;
	char *lease = format_scaled(cfg->agent_lease, duration_units),
	     *timeout = format_scaled(cfg->mta_timeout, duration_units),
	     *most = format_scaled(longest, duration_units);
	*err = g_strdup_printf("agent-lease %s is not longer than one decision may take: %u MTA commands "
	                       "(%s), each mta-timeout %s and %ds to stop it, %s; raise agent-lease or "
	                       "lower mta-timeout",
	                       lease, commands, *cfg->sendmail_cf ? "Sendmail" : "Postfix", timeout,
	                       HOLDQUEUE_GRACE, most);
	g_free(lease);
	g_free(timeout);
	g_free(most);
	return false;
}

void review_config_print_help(FILE *out)
{
	fputs("settings (file " REVIEW_CONFIG_DEFAULT_FILE ", or -c FILE; -o key=value overrides):\n", out);
	for (size_t i = 0; i < G_N_ELEMENTS(review_keys); i++) {
		const struct review_key *k = &review_keys[i];
		char *bounds = k->max > 0 ? bounds_text(k) : NULL;
		fprintf(out, "  %s\n      %s\n      default: %s%s%s%s\n", k->name, k->help,
		        *k->def ? k->def : "(empty)", bounds ? " (" : "", bounds ? bounds : "",
		        bounds ? ")" : "");
		g_free(bounds);
	}
}

int review_config_from_args(struct review_config *cfg, int argc, char **argv, int *next)
{
	const char *file = NULL;
	GPtrArray *overrides = g_ptr_array_new();
	int opt, start = 1;
	opts_begin();
	/* Up to the first argument that is not -c FILE or -o key=value: the
	 * command, or an option of the program's own (left to it). */
	while ((opt = getopt_long(argc, argv, "+:c:o:", NULL, NULL)) != -1) {
		if (opt == 'c')
			file = optarg;
		else if (opt == 'o')
			g_ptr_array_add(overrides, optarg);
		else
			break;
		start = optind;
	}
	int i = opt == -1 ? optind : start;
	if (file == NULL && access(REVIEW_CONFIG_DEFAULT_FILE, R_OK) == 0)
		file = REVIEW_CONFIG_DEFAULT_FILE;
	char *err = NULL;
	if (file != NULL && !review_config_load(cfg, file, &err)) {
		fputs(err, stderr);
		g_free(err);
		g_ptr_array_free(overrides, TRUE);
		return EX_CONFIG;
	}
	for (guint k = 0; k < overrides->len; k++) {
		if (!review_config_set(cfg, overrides->pdata[k], &err)) {
			fprintf(stderr, "%s\n", err);
			g_free(err);
			g_ptr_array_free(overrides, TRUE);
			return EX_USAGE;
		}
	}
	g_ptr_array_free(overrides, TRUE);
	if (!review_config_check(cfg, &err)) {
		fprintf(stderr, "%s: %s\n", file ? file : "settings", err);
		g_free(err);
		return EX_CONFIG;
	}
	*next = i;
	return 0;
}
