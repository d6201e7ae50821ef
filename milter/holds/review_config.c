/*
 * review_config.c - see review_config.h.  One table of keys; the file
 * reader and -o overrides both go through review_config_set_key().
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "linefile.h"
#include "review_config.h"

#ifndef LIBEXECDIR
#define LIBEXECDIR "/usr/local/libexec/apology-milter"
#endif

enum key_type { KEY_STRING, KEY_BOOL, KEY_INT, KEY_DURATION, KEY_EXPIRE_ACTION };

struct review_key {
	const char *name;
	enum key_type type;
	size_t offset;
	const char *def;
	const char *help;
};

#define FIELD(f) offsetof(struct review_config, f)

static const struct review_key review_keys[] = {
    {"store", KEY_STRING, FIELD(store), "sqlite:/var/lib/apology-milter/store.db",
     "the daemon's store (the same value as its \"store\" key)"},
    {"policy", KEY_STRING, FIELD(policy), DATADIR "/policies/default.yaml",
     "the apology policy, to show a held reply's new text"},
    {"postfix-config", KEY_STRING, FIELD(postfix_config), "",
     "Postfix configuration directory (empty: the default instance); the helper acts only on those "
     "listed in its own settings, postsuper.conf"},
    {"helper", KEY_STRING, FIELD(helper), LIBEXECDIR "/apology-postsuper",
     "the privileged helper that releases or deletes held mail (run with sudo -n when not root)"},
    {"expire-after", KEY_DURATION, FIELD(expire_after), "7d",
     "`quarantine expire` acts on mail held longer than this"},
    {"expire-action", KEY_EXPIRE_ACTION, FIELD(expire_action), "return",
     "what expiry does: return (delete and tell the author) or release"},
    {"review-url", KEY_STRING, FIELD(review_url), "http://127.0.0.1:8025",
     "base URL of the review page, used in links in notifications"},
    {"webhook-url", KEY_STRING, FIELD(webhook_url), "",
     "POST a JSON notice (with a Slack-compatible \"text\") here on each hold and decision"},
    {"smtp-url", KEY_STRING, FIELD(smtp_url), "smtp://127.0.0.1:25",
     "where mail to authors is submitted (empty: no mail)"},
    {"mail-from", KEY_STRING, FIELD(mail_from), "apology-review@localhost",
     "sender of mail to authors: an address, or Name <address>"},
    {"notify-timeout", KEY_DURATION, FIELD(notify_timeout), "10s",
     "how long one webhook call or mail submission may take"},
    {"notify-attempts", KEY_INT, FIELD(notify_attempts), "8",
     "give a notification up after this many attempts"},
    {"notify-backoff", KEY_DURATION, FIELD(notify_backoff), "30s",
     "delay before the first retry; doubled after each failure (at most 6h)"},
    {"listen", KEY_STRING, FIELD(listen), "127.0.0.1:8025",
     "address and port apology-review listens on (put TLS in front with a proxy)"},
    {"accounts", KEY_STRING, FIELD(accounts), "/etc/apology-milter/review-accounts",
     "log-ins of the review page: user:role:hash lines (role reviewer or admin)"},
    {"cookie-secure", KEY_BOOL, FIELD(cookie_secure), "no",
     "mark session cookies Secure (yes when users reach the page over HTTPS)"},
    {"session-ttl", KEY_DURATION, FIELD(session_ttl), "8h", "how long a log-in lasts"},
};

bool review_parse_duration(const char *s, gint64 *out)
{
	char *end = NULL;
	if (s == NULL || *s < '0' || *s > '9')
		return false;
	gint64 n = g_ascii_strtoll(s, &end, 10);
	gint64 unit = 1;
	switch (*end) {
	case '\0': break;
	case 's':
		unit = 1;
		end++;
		break;
	case 'm':
		unit = 60;
		end++;
		break;
	case 'h':
		unit = 3600;
		end++;
		break;
	case 'd':
		unit = 86400;
		end++;
		break;
	default: return false;
	}
	if (*end != '\0' || n < 0 || n > G_MAXINT64 / unit / 2)
		return false;
	*out = n * unit;
	return true;
}

static bool parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "0"))
		*out = false;
	else
		return false;
	return true;
}

/* Set KEY to VALUE; returns NULL or an error message (caller frees). */
static char *set_key(struct review_config *cfg, const struct review_key *k, const char *value)
{
	void *field = (char *)cfg + k->offset;
	switch (k->type) {
	case KEY_STRING:
		g_free(*(char **)field);
		*(char **)field = g_strdup(value);
		return NULL;
	case KEY_BOOL:
		return parse_bool(value, field) ? NULL : g_strdup_printf("%s: expected yes or no", k->name);
	case KEY_INT: {
		char *end = NULL;
		long long n = g_ascii_strtoll(value, &end, 10);
		if (*value == '\0' || *end != '\0' || n < 1 || n > 1000)
			return g_strdup_printf("%s: expected a number from 1 to 1000", k->name);
		*(int *)field = (int)n;
		return NULL;
	}
	case KEY_DURATION:
		return review_parse_duration(value, field)
		           ? NULL
		           : g_strdup_printf("%s: expected a duration such as 30s, 5m, 2h or 7d", k->name);
	case KEY_EXPIRE_ACTION:
		if (strcmp(value, "return") == 0)
			*(int *)field = EXPIRE_RETURN;
		else if (strcmp(value, "release") == 0)
			*(int *)field = EXPIRE_RELEASE;
		else
			return g_strdup_printf("%s: expected return or release", k->name);
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
		if (review_keys[i].type == KEY_STRING)
			g_free(*(char **)((char *)cfg + review_keys[i].offset));
	memset(cfg, 0, sizeof *cfg);
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
		*err = g_strdup_printf("-o %s", e);
		g_free(e);
		return false;
	}
	return true;
}

/* The value part of a "key: value" line: unquoted, comment and blanks removed. */
static char *line_value(const char *v)
{
	while (*v == ' ' || *v == '\t')
		v++;
	if (*v == '"' || *v == '\'') {
		const char *close = strchr(v + 1, *v);
		return close ? g_strndup(v + 1, (size_t)(close - v - 1)) : NULL;
	}
	const char *hash = strstr(v, " #");
	char *s = hash ? g_strndup(v, (size_t)(hash - v)) : g_strdup(v);
	return g_strchomp(s);
}

struct settings_read {
	struct review_config *cfg;
	const char *file;
	GString *errors; /* every bad line, "file:line:col: what" */
};

/* One "key: value" line; errors are collected, reading goes on. */
static bool settings_line(void *arg, char *line, int lineno)
{
	struct settings_read *r = arg;
	size_t indent = strspn(line, " \t");
	const char *colon = strchr(line, ':');
	const struct review_key *k = colon && indent == 0 ? find_key(line, (size_t)(colon - line)) : NULL;
	if (k == NULL) {
		g_string_append_printf(r->errors, "%s:%d:%zu: unknown key %.*s\n", r->file, lineno,
		                       indent + 1, (int)strcspn(line + indent, ":"), line + indent);
		return true;
	}
	char *value = line_value(colon + 1);
	char *e = value ? set_key(r->cfg, k, value) : g_strdup("unterminated quoted value");
	if (e != NULL)
		g_string_append_printf(r->errors, "%s:%d:%zu: %s\n", r->file, lineno,
		                       (size_t)(colon - line) + 3, e);
	g_free(e);
	g_free(value);
	return true;
}

bool review_config_load(struct review_config *cfg, const char *file, char **err)
{
	struct settings_read r = {cfg, file, g_string_new(NULL)};
	char *read_err = NULL;
	if (!linefile_each(file, settings_line, &r, &read_err)) {
		*err = g_strdup_printf("%s: %s\n", file, read_err);
		g_free(read_err);
		g_string_free(r.errors, TRUE);
		return false;
	}
	if (r.errors->len == 0) {
		g_string_free(r.errors, TRUE);
		return true;
	}
	*err = g_string_free(r.errors, FALSE);
	return false;
}

void review_config_print_help(FILE *out)
{
	fputs("settings (file " REVIEW_CONFIG_DEFAULT_FILE ", or -c FILE; -o key=value overrides):\n", out);
	for (size_t i = 0; i < G_N_ELEMENTS(review_keys); i++)
		fprintf(out, "  %-16s %s\n  %-16s   default: %s\n", review_keys[i].name, review_keys[i].help,
		        "", *review_keys[i].def ? review_keys[i].def : "(empty)");
}

int review_config_from_args(struct review_config *cfg, int argc, char **argv, int *next)
{
	const char *file = NULL;
	int i = 1;
	for (; i + 1 < argc && (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "-o") == 0); i += 2)
		if (strcmp(argv[i], "-c") == 0)
			file = argv[i + 1];
	if (file == NULL && access(REVIEW_CONFIG_DEFAULT_FILE, R_OK) == 0)
		file = REVIEW_CONFIG_DEFAULT_FILE;
	char *err = NULL;
	if (file != NULL && !review_config_load(cfg, file, &err)) {
		fputs(err, stderr);
		g_free(err);
		return EX_CONFIG;
	}
	for (i = 1; i + 1 < argc && (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "-o") == 0); i += 2) {
		if (strcmp(argv[i], "-o") == 0 && !review_config_set(cfg, argv[i + 1], &err)) {
			fprintf(stderr, "%s\n", err);
			g_free(err);
			return EX_USAGE;
		}
	}
	*next = i;
	return 0;
}
