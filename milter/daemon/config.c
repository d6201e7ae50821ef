/*
 * config.c - the daemon's configuration: one table of keys, read from YAML
 * by util/settings.c (nested mappings are dotted key names), and the value
 * parsers shared by the file, -o overrides and --help.  Parse and
 * validate only; the daemon compiles what it needs (scope.c) afterwards.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "hostname.h"
#include "settings.h"
#include "spool.h"
#include "store.h"
#include "units.h"
#include "scope.h"

#define FIELD(f) offsetof(struct config, f)

static char *check_socket(const char *v);
static char *check_header_name(const char *v);
static char *check_network(const char *v);
static char *check_domain(const char *v);
static char *check_reply_text(const char *v);
static char *check_daemon_name(const char *v);
static char *check_metrics(const char *v);

#define CHOICES(...) ((const char *const[]){__VA_ARGS__, NULL})
#define FACILITIES                                                                                           \
	CHOICES("mail", "daemon", "user", "local0", "local1", "local2", "local3", "local4", "local5",        \
	        "local6", "local7")

const struct config_key config_keys[] = {
    {"socket", CONF_STRING, FIELD(socket), "unix:/run/apology-milter/milter.sock", 0, 0, NULL, check_socket,
     "where the MTA connects: unix:PATH or inet:PORT@127.0.0.1 (-p overrides)"},
    {"user", CONF_STRING, FIELD(user), "", 0, 0, NULL, NULL,
     "user to run as after opening the socket (empty: stay)"},
    {"group", CONF_STRING, FIELD(group), "", 0, 0, NULL, NULL,
     "group of the unix socket (empty: the user's group)"},
    {"socket-mode", CONF_OCTAL, FIELD(socket_mode), "0660", 0, 0777, NULL, NULL,
     "permissions of the unix socket"},
    {"pid-file", CONF_STRING, FIELD(pid_file), "", 0, 0, NULL, NULL,
     "file to write the daemon's process id to (empty: none)"},
    {"policy", CONF_STRING, FIELD(policy), DATADIR "/policies/default.yaml", 0, 0, NULL, NULL,
     "the apology policy file (rules, phrases, weights)"},
    {"policy-reload-shrink", CONF_ENUM, FIELD(reload_shrink), "refuse", 0, 0, CHOICES("refuse", "allow"),
     NULL,
     "a reload whose policy loses an enabled rule, empties a phrase list, drops a model or more than half "
     "of the patterns: refuse (keep the old policy) or allow; a start takes the file as it is"},
    {"store", CONF_STRING, FIELD(store), "sqlite:/var/lib/apology-milter/store.db", 0, 0, NULL, NULL,
     "where complaints, apology history and held mail are recorded: sqlite:PATH, or postgresql://... "
     "for one database the daemons of several mail hosts share (docs/postgresql.md)"},
    {"host-name", CONF_STRING, FIELD(host_name), "", 0, 0, NULL, hostname_check,
     "the name this daemon's held mail is recorded under (the host column of apologyctl quarantine "
     "list), and of its crash-guard marks in a shared PostgreSQL store; give each daemon that shares "
     "one store a name of its own (empty: the system's host name)"},
    {"spool.directory", CONF_STRING, FIELD(spool_dir), "/run/apology-milter", 0, 0, NULL, NULL,
     "where records the store cannot take (it cannot be opened, a write fails or waits past "
     "store-busy-timeout, the store writer's queue is full) wait in " SPOOL_FILE
     " until it can, and the daemon's journal of holds, which keeps a hold's record across a kill of the "
     "daemon (empty: only the log keeps them, and a kill loses the holds not yet stored)"},
    {"spool.max-size", CONF_SIZE, FIELD(spool_max), "32M", 64 * 1024, 1LL << 30, NULL, NULL,
     "the spool's limit: past it a held message's copy is left out of its record, then records are "
     "only logged"},
    {"spool.retry", CONF_DURATION, FIELD(store_retry), "1m", 1, 3600, NULL, NULL,
     "while the store cannot be opened or the spool holds records, how often to try again; also how often "
     "the upkeep runs (pruning, reconcile)"},
    {"store-pool-size", CONF_INT, FIELD(pool_size), "4", 1, STORE_POOL_MAX, NULL, NULL,
     "connections to a PostgreSQL store each of the daemon's two handles (the lookups, the writer) "
     "keeps open at most; a call that finds them all busy waits store-busy-timeout (SQLite: unused)"},
    {"store-busy-timeout", CONF_MSEC, FIELD(busy_timeout), "250ms", 10, 60000, NULL, NULL,
     "how long a read or write of the store waits for a lock another process holds: a reply whose "
     "lookup times out is judged without the stored complaint and apology history, a record the store "
     "does not take in time goes to the spool; mail never waits longer"},
    {"store-queue.size", CONF_INT, FIELD(queue_size), "1000", 1, 1000000, NULL, NULL,
     "records (holds, apologies, complaints) waiting in memory for the store writer; past it they go "
     "to the spool"},
    {"store-queue.memory", CONF_SIZE, FIELD(queue_memory), "64M", 1024 * 1024, 1LL << 32, NULL, NULL,
     "bytes those records may take in memory, held messages' copies included; past it they go to "
     "the spool"},
    {"reconcile.interval", CONF_DURATION, FIELD(reconcile), "5m", 0, 86400, NULL, NULL,
     "how often to compare the MTA's hold queue with the store (and at start); held mail with no "
     "record is an alert in the log (0: never)"},
    {"reconcile.postqueue", CONF_STRING, FIELD(postqueue), "/usr/sbin/postqueue", 0, 0, NULL, NULL,
     "Postfix's postqueue, run as postqueue -j to list the hold queue"},
    {"reconcile.postfix-config", CONF_STRING, FIELD(postfix_config), "", 0, 0, NULL, NULL,
     "the configuration directory of the Postfix instance whose hold queue is compared (postqueue -c; "
     "empty: the default instance)"},
    {"reconcile.sendmail-config", CONF_STRING, FIELD(sendmail_cf), "", 0, 0, NULL, NULL,
     "Sendmail's sendmail.cf when held mail is in Sendmail's quarantine: its queue is then listed with "
     "sendmail -C FILE -bp and -bp -qQ instead of postqueue (empty: Postfix)"},
    {"reconcile.sendmail-program", CONF_STRING, FIELD(sendmail_bin), "/usr/sbin/sendmail", 0, 0, NULL, NULL,
     "the sendmail binary that lists Sendmail's queue when reconcile.sendmail-config is set"},
    {"reconcile.timeout", CONF_DURATION, FIELD(queue_timeout), "2m", 1, 3600, NULL, NULL,
     "how long one listing of the queue may take before it is stopped (sendmail -bp on a host whose "
     "own name does not resolve waits about a minute for it)"},
    {"mode", CONF_ENUM, FIELD(mode), "enforce", 0, 0, CHOICES("enforce", "monitor"), NULL,
     "enforce: act on the verdict; monitor: decide, log and record, change nothing"},
    {"on-error", CONF_ENUM, FIELD(on_error), "accept", 0, 0, CHOICES("accept", "tempfail", "hold"), NULL,
     "what happens to a message that cannot be analysed"},
    {"hold-action", CONF_ENUM, FIELD(hold_action), "quarantine", 0, 0, CHOICES("quarantine", "reject"), NULL,
     "a hold verdict puts mail in the MTA's hold queue, or rejects it with 5.7.1"},
    {"reject-text", CONF_STRING, FIELD(reject_text),
     "Reply held back: it blames others or makes excuses instead of apologising. "
     "Own the mistake, say how you will fix it, and send it again.",
     0, 0, NULL, check_reply_text, "the coaching text of a 5.7.1 reject (hold-action: reject)"},
    {"hold-key", CONF_STRING, FIELD(hold_key), "/etc/apology-milter/hold.key", 0, 0, NULL, NULL,
     "secret that seals the token of each hold, so that apology-postsuper acts only on mail this daemon "
     "held (32 to 256 random bytes, readable by root and the daemon only); unreadable: mail is still "
     "held, and released only by hand"},
    {"scope.daemon-names", CONF_LIST, FIELD(daemon_names), "ORIGINATING,MSA", 0, 0, NULL, check_daemon_name,
     "{daemon_name} values that mark mail as outgoing"},
    {"scope.authenticated", CONF_BOOL, FIELD(authenticated), "yes", 0, 0, NULL, NULL,
     "mail from an SMTP AUTH client is outgoing"},
    {"scope.client-networks", CONF_LIST, FIELD(client_networks), "", 0, 0, NULL, check_network,
     "mail from these client networks (CIDR) is outgoing"},
    {"scope.internal-domains", CONF_LIST, FIELD(internal_domains), "", 0, 0, NULL, check_domain,
     "our own domains: mail only to these is not checked; inbound mail to them may be a "
     "complaint"},
    {"inbound.record-complaints", CONF_BOOL, FIELD(record_complaints), "yes", 0, 0, NULL, NULL,
     "classify inbound mail and record complaints by Message-ID"},
    {"sample.near-misses", CONF_INT, FIELD(sample_near_misses), "0", 0, 1000000, NULL, NULL,
     "keep a copy of one in N replies that pass because the gate placed their thread just short of a "
     "complaint (the policy's models.near-miss), picked at random, for reviewers to judge whether it was "
     "one (state sampled; 1: every one; 0: none); the mail itself passes untouched; a copy nobody judged "
     "is deleted after history.retention"},
    {"headers.check", CONF_STRING, FIELD(header_check), "X-Apology-Check", 0, 0, NULL, check_header_name,
     "header with verdict, score and rule ids"},
    {"headers.findings", CONF_STRING, FIELD(header_findings), "X-Apology-Findings", 0, 0, NULL,
     check_header_name, "folded header with each finding's rule, line and span"},
    {"headers.token", CONF_STRING, FIELD(header_token), "X-Apology-Token", 0, 0, NULL, check_header_name,
     "header with the review token of a held message"},
    {"headers.on-pass", CONF_BOOL, FIELD(header_on_pass), "no", 0, 0, NULL, NULL,
     "add the check header to passed mail too (otherwise it is untouched)"},
    {"limits.max-message-size", CONF_SIZE, FIELD(max_message_size), "10M", 64 * 1024, 1LL << 30, NULL, NULL,
     "larger messages are not analysed (unchecked)"},
    {"limits.memory-budget", CONF_SIZE, FIELD(memory_budget), "512M", 1024 * 1024, 1LL << 40, NULL, NULL,
     "bytes of milter packets and messages the daemon holds at once, over all connections; a message "
     "whose data would pass it is deferred (tempfail: the MTA tries again later)"},
    {"limits.drain-timeout", CONF_DURATION, FIELD(drain_timeout), "30s", 0, 3600, NULL, NULL,
     "on SIGTERM, how long to wait for messages in flight"},
    {"limits.milter-timeout", CONF_DURATION, FIELD(milter_timeout), "7210s", 1, 86400, NULL, NULL,
     "how long an MTA connection may send nothing while the daemon waits on it (time the "
     "connection waits for a verdict does not count)"},
    {"limits.workers", CONF_INT, FIELD(workers), "0", 0, 64, NULL, NULL,
     "event loops (threads) serving the MTA and judging messages up to 64 KB; as many judge "
     "threads, at least two, judge larger ones (0: one per CPU)"},
    {"history.window", CONF_DURATION, FIELD(history_window), "180d", 3600, 3650LL * 86400, NULL, NULL,
     "how far back a reply's apology history is read"},
    {"history.retention", CONF_DURATION, FIELD(retention), "400d", 86400, 3650LL * 86400, NULL, NULL,
     "complaints and apology history older than this are deleted, and near misses kept for review that "
     "nobody judged (sample.near-misses)"},
    {"crash-guard.forget-after", CONF_DURATION, FIELD(crash_forget), "3d", 3600, 30LL * 86400, NULL, NULL,
     "a message in flight at two deaths of the daemon within this time is no longer analysed "
     "(on-error decides); older deaths are forgotten"},
    {"metrics", CONF_STRING, FIELD(metrics), "", 0, 0, NULL, check_metrics,
     "serve Prometheus metrics at http://ADDRESS:PORT/metrics (127.0.0.1:PORT or [::1]:PORT; empty: "
     "off); another address only with metrics-allow-remote"},
    {"metrics-allow-remote", CONF_BOOL, FIELD(metrics_allow_remote), "no", 0, 0, NULL, NULL,
     "let metrics listen on an address other than loopback (the page has no log-in: firewall it)"},
    {"log.facility", CONF_ENUM, FIELD(log_facility), "mail", 0, 0, FACILITIES, NULL,
     "syslog facility (-f logs to standard error instead)"},
};

const size_t config_key_count = G_N_ELEMENTS(config_keys);

/* ---- value checks ------------------------------------------------------ */

const char *config_socket_path(const char *socket)
{
	if (g_str_has_prefix(socket, "unix:") || g_str_has_prefix(socket, "local:"))
		return strchr(socket, ':') + 1;
	return NULL;
}

static char *check_socket(const char *v)
{
	const char *path = config_socket_path(v);
	if (path != NULL)
		return *path == '/' ? NULL : g_strdup("a unix socket needs an absolute path");
	if (g_str_has_prefix(v, "inet:") || g_str_has_prefix(v, "inet6:")) {
		const char *p = strchr(v, ':') + 1;
		char *end;
		long port = strtol(p, &end, 10);
		if (end == p || port < 1 || port > 65535 || (*end != '\0' && *end != '@'))
			return g_strdup("expected inet:PORT@ADDRESS with a port from 1 to 65535");
		return NULL;
	}
	return g_strdup("expected unix:PATH, local:PATH, inet:PORT@ADDRESS or inet6:PORT@ADDRESS");
}

bool config_parse_listen(const char *spec, struct sockaddr_storage *sa, socklen_t *len, bool *loopback)
{
	const char *colon = strrchr(spec, ':');
	if (colon == NULL || colon == spec)
		return false;
	char *end = NULL;
	long port = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end != '\0' || port < 1 || port > 65535)
		return false;
	bool v6 = spec[0] == '[' && colon[-1] == ']';
	char *host =
	    v6 ? g_strndup(spec + 1, (size_t)(colon - spec - 2)) : g_strndup(spec, (size_t)(colon - spec));
	memset(sa, 0, sizeof *sa);
	struct sockaddr_in *in4 = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
	bool ok;
	if (v6) {
		ok = inet_pton(AF_INET6, host, &in6->sin6_addr) == 1;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof *in6;
		*loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	} else {
		ok = inet_pton(AF_INET, host, &in4->sin_addr) == 1;
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof *in4;
		*loopback = (ntohl(in4->sin_addr.s_addr) >> 24) == 127;
	}
	g_free(host);
	return ok;
}

static char *check_metrics(const char *v)
{
	struct sockaddr_storage sa;
	socklen_t len;
	bool loopback;
	if (*v == '\0' || config_parse_listen(v, &sa, &len, &loopback))
		return NULL;
	return g_strdup("expected IPV4-ADDRESS:PORT or [IPV6-ADDRESS]:PORT, e.g. 127.0.0.1:9257");
}

static char *check_header_name(const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n > 76)
		return g_strdup("a header name has 1 to 76 characters");
	for (const char *p = v; *p; p++)
		if (!g_ascii_isalnum(*p) && *p != '-')
			return g_strdup("a header name has only letters, digits and '-'");
	return NULL;
}

static char *check_network(const char *v)
{
	struct network n;
	return network_parse(v, &n) ? NULL : g_strdup("expected an address or ADDRESS/BITS");
}

static char *check_domain(const char *v)
{
	if (*v == '\0' || *v == '.' || strlen(v) > 253)
		return g_strdup("expected a domain name");
	for (const char *p = v; *p; p++)
		if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.')
			return g_strdup("expected a domain name");
	return NULL;
}

static char *check_reply_text(const char *v)
{
	if (strlen(v) > 400)
		return g_strdup("the reply text is limited to 400 characters");
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p > 0x7e || *p == '%')
			return g_strdup("the reply text is printable ASCII without '%'");
	return NULL;
}

static char *check_daemon_name(const char *v)
{
	for (const char *p = v; *p; p++)
		if (!g_ascii_isgraph(*p))
			return g_strdup("a daemon name has no spaces or control characters");
	return *v ? NULL : g_strdup("a daemon name may not be empty");
}

/* ---- value parsers ----------------------------------------------------- */

static void *field(struct config *cfg, const struct config_key *k)
{
	return (char *)cfg + k->offset;
}

static char *check_bounds(const struct config_key *k, gint64 n)
{
	if ((k->min != 0 || k->max != 0) && (n < k->min || n > k->max))
		return k->type == CONF_OCTAL
		           ? g_strdup_printf("must be between 0%llo and 0%llo", k->min, k->max)
		           : g_strdup_printf("must be between %lld and %lld", k->min, k->max);
	return NULL;
}

static int choice_index(const char *const *choices, const char *v)
{
	for (int i = 0; choices[i] != NULL; i++)
		if (strcmp(choices[i], v) == 0)
			return i;
	return -1;
}

static char *choices_joined(const struct config_key *k)
{
	return g_strjoinv("|", (char **)k->choices);
}

/* Parse scalar V into key K of CFG.  Lists take a comma-separated scalar. */
static char *set_scalar(struct config *cfg, const struct config_key *k, const char *v)
{
	gint64 n = 0;
	char *err = NULL;

	switch (k->type) {
	case CONF_STRING:
		if (k->check && (err = k->check(v)) != NULL)
			return err;
		g_free(*(char **)field(cfg, k));
		*(char **)field(cfg, k) = g_strdup(v);
		return NULL;
	case CONF_BOOL: return units_parse_bool(v, field(cfg, k)) ? NULL : g_strdup("expected yes or no");
	case CONF_INT:
	case CONF_OCTAL: {
		char *end;
		errno = 0;
		n = strtoll(v, &end, k->type == CONF_OCTAL ? 8 : 10);
		if (*v == '\0' || *end != '\0' || errno != 0)
			return g_strdup(k->type == CONF_OCTAL ? "expected an octal number"
			                                      : "expected a number");
		if ((err = check_bounds(k, n)) != NULL)
			return err;
		*(int *)field(cfg, k) = (int)n;
		return NULL;
	}
	case CONF_MSEC: {
		/* "250ms", "2s", or plain milliseconds */
		bool ms = g_str_has_suffix(v, "ms"),
		     sec = !ms && (g_str_has_suffix(v, "s") || g_str_has_suffix(v, "S"));
		char *number = g_strndup(v, strlen(v) - (ms ? 2 : sec ? 1 : 0));
		err = units_parse_size(number, "", &n);
		g_free(number);
		if (err == NULL && sec && n > G_MAXINT64 / 1000)
			err = g_strdup("number out of range");
		if (err != NULL) {
			g_free(err);
			err = g_strdup("expected milliseconds (250ms, 2s)");
		}
		if (err == NULL)
			err = check_bounds(k, sec ? n * 1000 : n);
		if (err == NULL)
			*(gint64 *)field(cfg, k) = sec ? n * 1000 : n;
		return err;
	}
	case CONF_SIZE:
	case CONF_DURATION:
		err = k->type == CONF_SIZE ? units_parse_size(v, UNITS_SIZE, &n)
		                           : units_parse_duration(v, UNITS_DURATION, &n);
		if (err == NULL)
			err = check_bounds(k, n);
		if (err == NULL)
			*(gint64 *)field(cfg, k) = n;
		return err;
	case CONF_ENUM: {
		int i = choice_index(k->choices, v);
		if (i < 0) {
			char *all = choices_joined(k);
			err = g_strdup_printf("expected one of %s", all);
			g_free(all);
			return err;
		}
		*(int *)field(cfg, k) = i;
		return NULL;
	}
	case CONF_LIST: {
		GPtrArray *list = g_ptr_array_new_with_free_func(g_free);
		char **items = g_strsplit(v, ",", -1);
		for (int i = 0; items[i] != NULL && err == NULL; i++) {
			char *item = g_strstrip(items[i]);
			if (*item == '\0')
				continue;
			if (k->check == NULL || (err = k->check(item)) == NULL)
				g_ptr_array_add(list, g_strdup(item));
		}
		g_strfreev(items);
		if (err != NULL) {
			g_ptr_array_free(list, TRUE);
			return err;
		}
		GPtrArray **slot = field(cfg, k);
		if (*slot)
			g_ptr_array_free(*slot, TRUE);
		*slot = list;
		return NULL;
	}
	}
	g_assert_not_reached();
}

const struct config_key *config_find(const char *name)
{
	for (size_t i = 0; i < config_key_count; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

/* Is PREFIX followed by '.' the start of some key (a YAML section)? */
static bool is_section(const char *prefix)
{
	size_t n = strlen(prefix);
	for (size_t i = 0; i < config_key_count; i++)
		if (strncmp(config_keys[i].name, prefix, n) == 0 && config_keys[i].name[n] == '.')
			return true;
	return false;
}

void config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	for (size_t i = 0; i < config_key_count; i++) {
		char *err = set_scalar(cfg, &config_keys[i], config_keys[i].def);
		if (err != NULL)
			g_error("config: default of %s: %s", config_keys[i].name, err);
	}
}

void config_clear(struct config *cfg)
{
	for (size_t i = 0; i < config_key_count; i++) {
		const struct config_key *k = &config_keys[i];
		if (k->type == CONF_STRING) {
			g_free(*(char **)field(cfg, k));
		} else if (k->type == CONF_LIST) {
			GPtrArray *list = *(GPtrArray **)field(cfg, k);
			if (list)
				g_ptr_array_free(list, TRUE);
		}
	}
	memset(cfg, 0, sizeof *cfg);
}

bool config_set(struct config *cfg, const char *assignment, char **err)
{
	const char *eq = strchr(assignment, '=');
	if (eq == NULL) {
		*err = g_strdup_printf("-o %s: expected key=value", assignment);
		return false;
	}
	char *name = g_strndup(assignment, eq - assignment);
	const struct config_key *k = config_find(g_strstrip(name));
	char *why = k ? set_scalar(cfg, k, eq + 1) : g_strdup("unknown key");
	bool ok = why == NULL;
	if (!ok)
		*err = g_strdup_printf("-o %s: %s", name, why);
	g_free(why);
	g_free(name);
	return ok;
}

/* ---- the YAML reader (util/settings.c) over the table ------------------- */

static enum settings_kind key_kind(const char *name)
{
	const struct config_key *k = config_find(name);
	return k == NULL              ? (is_section(name) ? SETTINGS_SECTION : SETTINGS_UNKNOWN)
	       : k->type == CONF_LIST ? SETTINGS_LIST
	                              : SETTINGS_VALUE;
}

/* An empty value empties a list or a text; other keys need one. */
static char *key_set(void *cfg, const char *name, const char *value)
{
	const struct config_key *k = config_find(name);
	if (value == NULL && k->type != CONF_LIST && k->type != CONF_STRING)
		return g_strdup("a value is required");
	return set_scalar(cfg, k, value ? value : "");
}

static char *list_item_check(const char *name, const char *item)
{
	const struct config_key *k = config_find(name);
	return k->check ? k->check(item) : NULL;
}

static const struct settings_schema config_schema = {key_kind, key_set, list_item_check};

static bool load(struct config *cfg, const char *name, const char *yaml, size_t len, char **err)
{
	return settings_read(&config_schema, cfg, name, yaml, len, err);
}

bool config_load(struct config *cfg, const char *file, char **err)
{
	char *text = NULL;
	gsize len = 0;
	GError *gerr = NULL;
	if (!g_file_get_contents(file, &text, &len, &gerr)) {
		*err = g_strdup_printf("%s:0:0: %s\n", file, gerr->message);
		g_error_free(gerr);
		return false;
	}
	bool ok = load(cfg, file, text, len, err);
	g_free(text);
	return ok;
}

bool config_load_string(struct config *cfg, const char *name, const char *yaml, size_t len, char **err)
{
	return load(cfg, name, yaml, len, err);
}

/* ---- formatting and help ----------------------------------------------- */

const char *config_choice_name(const char *key, int index)
{
	const struct config_key *k = config_find(key);
	g_assert(k != NULL && k->type == CONF_ENUM);
	g_assert(index >= 0 && index < (int)g_strv_length((char **)k->choices));
	return k->choices[index];
}

char *config_format(const struct config *cfg, const struct config_key *k)
{
	const void *f = (const char *)cfg + k->offset;
	switch (k->type) {
	case CONF_STRING: return g_strdup(*(char *const *)f);
	case CONF_BOOL: return g_strdup(*(const bool *)f ? "yes" : "no");
	case CONF_INT: return g_strdup_printf("%d", *(const int *)f);
	case CONF_OCTAL: return g_strdup_printf("0%o", (unsigned)*(const int *)f);
	case CONF_SIZE:
	case CONF_DURATION: return g_strdup_printf("%" G_GINT64_FORMAT, *(const gint64 *)f);
	case CONF_MSEC: return g_strdup_printf("%" G_GINT64_FORMAT "ms", *(const gint64 *)f);
	case CONF_ENUM: return g_strdup(config_choice_name(k->name, *(const int *)f));
	case CONF_LIST: {
		const GPtrArray *list = *(GPtrArray *const *)f;
		GString *s = g_string_new(NULL);
		for (guint i = 0; list && i < list->len; i++)
			g_string_append_printf(s, "%s%s", i ? "," : "", (const char *)list->pdata[i]);
		return g_string_free(s, FALSE);
	}
	}
	g_assert_not_reached();
}

static char *type_name(const struct config_key *k)
{
	static const char *const names[] = {
	    [CONF_STRING] = "text",       [CONF_BOOL] = "yes|no", [CONF_INT] = "number",
	    [CONF_OCTAL] = "mode",        [CONF_SIZE] = "size",   [CONF_DURATION] = "duration",
	    [CONF_MSEC] = "milliseconds", [CONF_ENUM] = "choice", [CONF_LIST] = "list",
	};
	return k->type == CONF_ENUM ? choices_joined(k) : g_strdup(names[k->type]);
}

void config_print_help(FILE *out)
{
	fprintf(out, "Configuration keys (file or -o key=value; lists comma-separated in -o;\n"
	             "sizes take K/M/G, durations s/m/h/d/w or combined (1h30m), milliseconds ms or s):\n");
	for (size_t i = 0; i < config_key_count; i++) {
		const struct config_key *k = &config_keys[i];
		char *type = type_name(k);
		fprintf(out, "  %-26s %s (default: %s)\n  %-26s   %s\n", k->name, type,
		        *k->def ? k->def : "empty", "", k->help);
		g_free(type);
	}
}
