/*
 * helper_conf.c - reading postsuper.conf (see helper_conf.h).
 */
#include <stdio.h>
#include <string.h>

#include "helper_conf.h"

enum key {
	KEY_STORE,
	KEY_TOKEN_HEADER,
	KEY_HOLD_KEY,
	KEY_POSTFIX_CONFIG,
	KEY_SENDMAIL_CONFIG,
	KEY_SENDMAIL_PROGRAM,
	KEY_COUNT
};

static const char *const key_names[KEY_COUNT] = {
    [KEY_STORE] = "store",
    [KEY_TOKEN_HEADER] = "token-header",
    [KEY_HOLD_KEY] = "hold-key",
    [KEY_POSTFIX_CONFIG] = "postfix-config",
    [KEY_SENDMAIL_CONFIG] = "sendmail-config",
    [KEY_SENDMAIL_PROGRAM] = "sendmail-program",
};

static bool is_header_name(const char *v)
{
	size_t n = strlen(v);
	return n >= 1 && n <= HELPER_HEADER_MAX &&
	       strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* Copy the path VALUE into DST (TRUSTED_PATH_MAX bytes); NULL or why not. */
static const char *set_path(char *dst, const char *value)
{
	if (!trusted_path_syntax(value))
		return "expected an absolute path in plain form (no //, . or .., no trailing /)";
	snprintf(dst, TRUSTED_PATH_MAX, "%s", value);
	return NULL;
}

/* The store: an SQLite file (a path, or "sqlite:" and a path) or a
 * PostgreSQL location, kept whole for libpq. */
static const char *set_store(struct helper_conf *conf, const char *value)
{
	bool pg = strncmp(value, "postgresql://", 13) == 0 || strncmp(value, "postgres://", 11) == 0;
	if (!pg)
		return set_path(conf->store, strncmp(value, "sqlite:", 7) == 0 ? value + 7 : value);
	if (strlen(value) >= TRUSTED_PATH_MAX || strpbrk(value, " \t") != NULL)
		return "a PostgreSQL location has no blanks and fewer than 1024 characters";
	snprintf(conf->store, sizeof conf->store, "%s", value);
	return NULL;
}

static const char *set_value(struct helper_conf *conf, enum key key, const char *value)
{
	switch (key) {
	case KEY_STORE: return set_store(conf, value);
	case KEY_TOKEN_HEADER:
		if (!is_header_name(value))
			return "a header name has 1 to 76 letters, digits and '-'";
		snprintf(conf->token_header, sizeof conf->token_header, "%s", value);
		return NULL;
	case KEY_HOLD_KEY: return set_path(conf->hold_key, value);
	case KEY_POSTFIX_CONFIG:
		if (conf->n_instances == HELPER_MAX_INSTANCES)
			return "too many postfix-config lines (at most 16)";
		return set_path(conf->instances[conf->n_instances++], value);
	case KEY_SENDMAIL_CONFIG: return set_path(conf->sendmail_config, value);
	case KEY_SENDMAIL_PROGRAM: return set_path(conf->sendmail_program, value);
	case KEY_COUNT: break;
	}
	return "unknown key";
}

/* Split LINE (NUL-terminated, no newline) into its key and value; NULL or
 * why not.  *VALUE points into LINE, quotes and surrounding blanks gone. */
static const char *split_line(char *line, enum key *key, char **value)
{
	char *colon = strchr(line, ':');
	if (colon == NULL)
		return "expected key: value";
	*colon = '\0';
	for (int k = 0; k < KEY_COUNT; k++)
		if (strcmp(line, key_names[k]) == 0)
			*key = (enum key)k;
	if (*key == KEY_COUNT)
		return "unknown key";
	char *v = colon + 1 + strspn(colon + 1, " \t");
	size_t n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r'))
		v[--n] = '\0';
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v[n - 1] = '\0';
		v++;
	}
	if (*v == '\0' || strchr(v, '"') != NULL)
		return "expected a value (plain, or in double quotes)";
	*value = v;
	return NULL;
}

bool helper_conf_parse(const char *text, struct helper_conf *conf, char *why, size_t why_size)
{
	bool seen[KEY_COUNT] = {false};
	memset(conf, 0, sizeof *conf);
	snprintf(conf->store, sizeof conf->store, "/var/lib/apology-milter/store.db");
	snprintf(conf->token_header, sizeof conf->token_header, "X-Apology-Token");
	snprintf(conf->hold_key, sizeof conf->hold_key, "/etc/apology-milter/hold.key");
	snprintf(conf->sendmail_program, sizeof conf->sendmail_program, "/usr/sbin/sendmail");
	int lineno = 0;
	for (const char *p = text; *p != '\0';) {
		size_t len = strcspn(p, "\n");
		char line[TRUSTED_PATH_MAX + 64];
		lineno++;
		if (len >= sizeof line) {
			snprintf(why, why_size, "line %d: too long", lineno);
			return false;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + (p[len] == '\n');
		const char *start = line + strspn(line, " \t\r");
		if (*start == '\0' || *start == '#')
			continue;
		enum key key = KEY_COUNT;
		char *value = NULL;
		bool named =
		    start == line && strchr(line, ':') != NULL; /* split_line leaves the key in LINE */
		const char *bad = start != line ? "a key starts at the beginning of its line"
		                                : split_line(line, &key, &value);
		if (bad == NULL && seen[key] && key != KEY_POSTFIX_CONFIG)
			bad = "given twice";
		if (bad == NULL)
			bad = set_value(conf, key, value);
		if (bad != NULL) {
			snprintf(why, why_size, "line %d: %s%s%s", lineno, named ? line : "",
			         named ? ": " : "", bad);
			return false;
		}
		seen[key] = true;
	}
	if (conf->n_instances == 0)
		snprintf(conf->instances[conf->n_instances++], TRUSTED_PATH_MAX, "/etc/postfix");
	return true;
}

const char *helper_conf_instance(const struct helper_conf *conf, const char *dir)
{
	if (dir == NULL)
		return conf->instances[0];
	for (size_t i = 0; i < conf->n_instances; i++)
		if (strcmp(conf->instances[i], dir) == 0)
			return conf->instances[i];
	return NULL;
}
