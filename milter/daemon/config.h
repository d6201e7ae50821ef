/*
 * config.h - the daemon's configuration (/etc/apology-milter/apology-milter.yaml).
 *
 * Every key lives in one table (config_keys[] in config.c) with its type,
 * default, bounds and help; the YAML parser, `-o key=value` overrides,
 * `apology-milter --help` and the tests all read that table.  Nested YAML
 * mappings name keys with dots ("scope.internal-domains").  Unknown keys
 * and bad values are errors reported as "file:line:col: message".
 *
 * This is daemon configuration only; the apology policy (rules, phrases,
 * weights) is a separate file loaded by the core (policy.h).
 *
 * Ownership: config_init() fills a caller-provided struct config with the
 * defaults; config_clear() frees what it owns.  Error strings are freed by
 * the caller with g_free().
 */
#ifndef APOLOGY_CONFIG_H
#define APOLOGY_CONFIG_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>

enum config_mode { MODE_ENFORCE, MODE_MONITOR };
enum config_on_error { ON_ERROR_ACCEPT, ON_ERROR_TEMPFAIL, ON_ERROR_HOLD };
enum config_hold_action { HOLD_QUARANTINE, HOLD_REJECT };
enum config_reload_shrink { RELOAD_SHRINK_REFUSE, RELOAD_SHRINK_ALLOW };

struct config {
	char *socket;      /* unix:PATH, local:PATH, inet:PORT@HOST, inet6:PORT@HOST */
	char *user;        /* drop to this user after opening the socket; "" = stay */
	char *group;       /* group of the unix socket; "" = the user's */
	int socket_mode;   /* permissions of the unix socket */
	char *pid_file;    /* "" = none */
	char *policy;      /* the apology policy file */
	int reload_shrink; /* enum config_reload_shrink: a reload that loses rules or patterns */
	char *store;       /* store location, e.g. sqlite:/var/lib/... */
	char *host_name;   /* what held mail is recorded under; "" = the system's host name */
	char *spool_dir;   /* records the store cannot take wait here; "" = none */
	int mode;          /* enum config_mode */
	int on_error;      /* enum config_on_error */
	int hold_action;   /* enum config_hold_action */
	char *reject_text; /* the coaching text of a 5.7.1 reject */
	char *hold_key;    /* file with the secret that seals hold tokens (holdseal.h) */

	GPtrArray *daemon_names;     /* {daemon_name} values of outgoing mail */
	bool authenticated;          /* SMTP AUTH makes mail outgoing */
	GPtrArray *client_networks;  /* CIDR blocks whose mail is outgoing */
	GPtrArray *internal_domains; /* recipients here are colleagues, not clients */
	bool record_complaints;      /* classify inbound mail and keep complaints */
	int sample_near_misses;      /* keep one in N passed near misses for review; 0 = none */

	char *header_check;
	char *header_findings;
	char *header_token;
	bool header_on_pass; /* add "<check>: pass" to passed mail */

	gint64 max_message_size; /* bytes buffered per message */
	gint64 memory_budget;    /* bytes of packets and messages held over all connections */
	gint64 history_window;   /* seconds of apology history read per reply */
	gint64 retention;        /* seconds complaints and history are kept */
	gint64 crash_forget;     /* seconds a death of the daemon counts against a message */
	gint64 spool_max;        /* bytes the spool may hold */
	gint64 store_retry;      /* seconds between tries to open the store or write the spool to it */
	gint64 busy_timeout;     /* milliseconds a store call waits for another process's lock */
	int pool_size;           /* connections of each PostgreSQL handle at most */
	int queue_size;          /* records queued for the store writer at most */
	gint64 queue_memory;     /* bytes of records queued for the store writer at most */
	gint64 reconcile;        /* seconds between comparisons of the hold queue with the store; 0 = never */
	char *postqueue;         /* Postfix's postqueue, to read the hold queue */
	char *postfix_config;    /* Postfix configuration directory of the instance; "" = the default */
	char *sendmail_cf;       /* Sendmail's sendmail.cf; "" = the MTA is Postfix */
	char *sendmail_bin;      /* the sendmail binary that lists its queue */
	gint64 queue_timeout;    /* seconds one listing of the queue may take */
	gint64 drain_timeout;    /* seconds SIGTERM waits for messages in flight */
	gint64 milter_timeout;   /* seconds an MTA connection may stay idle */
	int workers;             /* event loops (threads); 0 = one per CPU */
	int log_facility;        /* syslog facility, index of log.facility choices */

	/* the Prometheus endpoint (metrics_http.h) */
	char *metrics;             /* ADDRESS:PORT; "" = off */
	bool metrics_allow_remote; /* it may listen on an address other than loopback */
};

enum config_type {
	CONF_STRING,
	CONF_BOOL,
	CONF_INT,      /* long long within [min, max] */
	CONF_OCTAL,    /* file mode */
	CONF_SIZE,     /* bytes: 10M, 512K, 1G */
	CONF_DURATION, /* seconds: 30s, 5m, 2h, 90d */
	CONF_MSEC,     /* milliseconds: 250ms, 2s (a plain number is milliseconds) */
	CONF_ENUM,     /* one of choices ("a|b|c"), stored as its index */
	CONF_LIST,     /* YAML sequence, or comma-separated in -o */
};

struct config_key {
	const char *name; /* dotted path: "scope.daemon-names" */
	enum config_type type;
	size_t offset;              /* of the field in struct config */
	const char *def;            /* default, in the syntax of -o values */
	long long min, max;         /* bounds for numbers (0, 0 = none) */
	const char *const *choices; /* CONF_ENUM: NULL-terminated names */
	/* Extra check of one (list item) value; returns NULL or an error. */
	char *(*check)(const char *value);
	const char *help;
};

extern const struct config_key config_keys[];
extern const size_t config_key_count;

/* Fill CFG with every key's default. */
void config_init(struct config *cfg);
void config_clear(struct config *cfg);

/* Read FILE over CFG.  Returns false and sets *ERR to one
 * "file:line:col: message" line per problem. */
bool config_load(struct config *cfg, const char *file, char **err);
bool config_load_string(struct config *cfg, const char *name, const char *yaml, size_t len, char **err);
/* Apply one "key=value" override (-o). */
bool config_set(struct config *cfg, const char *assignment, char **err);

const struct config_key *config_find(const char *name);
/* The value of KEY in CFG, formatted as -o would take it (caller frees). */
char *config_format(const struct config *cfg, const struct config_key *key);
/* Print every key with type, default and help (for --help). */
void config_print_help(FILE *out);
/* Name of enum choice INDEX of KEY. */
const char *config_choice_name(const char *key, int index);

/* Parse SPEC, "IPV4:PORT" or "[IPV6]:PORT" (numeric addresses only), into
 * SA and *LEN; *LOOPBACK says whether the address is a loopback one.  False
 * when SPEC is no such address. */
bool config_parse_listen(const char *spec, struct sockaddr_storage *sa, socklen_t *len, bool *loopback);

/* The path of a unix:PATH or local:PATH socket setting, inside SOCKET;
 * NULL for an inet socket. */
const char *config_socket_path(const char *socket);

#endif
