/*
 * review_config.h - the settings of the review tools: `apologyctl
 * quarantine`, `apologyctl notify` and the apology-review web server.  They
 * sit beside the daemon, not in it: they read the store the daemon writes,
 * act on the MTA's hold queue through apology-postsuper, and send
 * notifications.
 *
 * Every key lives in one table (review_keys[] in review_config.c) with its
 * type, default, bounds and help; the file reader, `-o key=value` overrides,
 * the --help text and the docs check (against packaging/review.yaml) all
 * read it.  The file (default
 * /etc/apology-milter/review.yaml) is a YAML mapping of "key: value",
 * read by the daemon's reader of settings (util/settings.h); unknown keys
 * and bad values are "file:line:col: message" errors.
 *
 * Ownership: review_config_init() fills a caller-provided struct;
 * review_config_clear() frees what it owns; error strings are the caller's
 * to g_free().
 */
#ifndef APOLOGY_REVIEW_CONFIG_H
#define APOLOGY_REVIEW_CONFIG_H

#include <glib.h>
#include <stdbool.h>
#include <stdio.h>

struct store;

#define REVIEW_CONFIG_DEFAULT_FILE "/etc/apology-milter/review.yaml"
/* The default of "policy", which only `apologyctl labels export` reads
 * (apology-review accepts it and says it ignores it). */
#define REVIEW_CONFIG_DEFAULT_POLICY DATADIR "/policies/default.yaml"

enum expire_action { EXPIRE_RETURN, EXPIRE_RELEASE };

struct review_config {
	char *store;           /* store location, as the daemon's "store" */
	int pool_size;         /* connections of the store's PostgreSQL handle at most */
	char *spool_dir;       /* the daemon's spool.directory; "" = not read */
	char *policy;          /* policy file: `labels export` re-reads the text of replies held
	                          before the store kept it; apology-review ignores it */
	char *postfix_config;  /* Postfix config directory; "" = the default instance */
	char *sendmail_cf;     /* sendmail-config: sendmail.cf of a Sendmail quarantine; "" = Postfix */
	char *sendmail_bin;    /* sendmail-program: the sendmail binary that reads it */
	char *helper;          /* the privileged apology-postsuper program */
	gint64 mta_timeout;    /* seconds one MTA command (helper, postqueue, sendmail) may run */
	char *host_name;       /* this mail host's name; "" = the system's (hostname_or_system) */
	gint64 agent_interval; /* seconds between the agent's looks at the store */
	gint64 agent_lease;    /* seconds after which an unfinished claim may be claimed again */
	gint64 expire_after;   /* seconds a message may stay held */
	int expire_action;     /* enum expire_action */
	char *review_url;      /* base URL of the review page, for links */
	char *webhook_url;     /* "" = no webhook */
	char *smtp_url;        /* where mail to authors is submitted */
	char *mail_from;       /* envelope and From: of that mail */
	gint64 notify_timeout; /* seconds one notification may take */
	int notify_attempts;   /* give up after this many */
	gint64 notify_backoff; /* first retry delay, doubled each time */
	char *listen;          /* HOST:PORT of apology-review */
	char *tls_cert;        /* PEM certificate chain of apology-review; "" = plain HTTP */
	char *tls_key;         /* PEM private key of that certificate */
	char *accounts;        /* user:role:hash lines */
	bool cookie_secure;    /* Secure cookies (behind a TLS proxy) */
	gint64 session_ttl;    /* seconds a log-in lasts */
	/* how apology-review holds up against many, slow or hostile clients */
	int threads;                    /* worker threads, each polling many connections */
	int connection_limit;           /* connections open at once */
	int connections_per_address;    /* of them from one client address */
	gint64 idle_timeout;            /* seconds a connection may send and read nothing */
	gint64 body_timeout;            /* seconds from a request's headers to the end of its body */
	gint64 max_body;                /* bytes of a request body read at most */
	int login_failures;             /* wrong passwords for a name from an address before a lock */
	int login_failures_per_address; /* wrong passwords from an address, any names, before a lock */
	char *trusted_proxies;          /* comma-separated addresses whose X-Forwarded-For is believed */
};

/* Room for the text of an IPv6 address (INET6_ADDRSTRLEN). */
#define REVIEW_ADDRESS_MAX 46

void review_config_init(struct review_config *cfg);
void review_config_clear(struct review_config *cfg);
/* Read FILE over CFG; false with *ERR set to "file:line:col: message" lines. */
bool review_config_load(struct review_config *cfg, const char *file, char **err);
/* Apply one "key=value" override. */
bool review_config_set(struct review_config *cfg, const char *assignment, char **err);
/* The store CFG names, its handle keeping at most CFG's store-pool-size
 * connections (PostgreSQL); NULL with *ERR (caller frees).  The caller
 * closes it with store_close(). */
struct store *review_config_open_store(const struct review_config *cfg, char **err);
/* What one key cannot say alone: agent-lease longer than one decision's
 * MTA commands may take, each mta-timeout and the time to stop it
 * (quarantine_mta_commands()).  False with *ERR naming both keys (caller
 * frees).  review_config_from_args() checks it once every setting is
 * read. */
bool review_config_check(const struct review_config *cfg, char **err);
/* Print every key with its default and help. */
void review_config_print_help(FILE *out);
/* Read the settings named by leading "-c FILE" and "-o key=value" options
 * of ARGV (from ARGV[1]; the default file when it exists and no -c is
 * given), then review_config_check().  *NEXT is set to the first other
 * argument.  Returns 0, or a sysexits status after printing why. */
int review_config_from_args(struct review_config *cfg, int argc, char **argv, int *next);
/* Parse a duration ("30s", "1h30m"; units.h, without weeks) in seconds; false when malformed. */
bool review_parse_duration(const char *s, gint64 *out);
/* Write the canonical text of the IPv4 or IPv6 address TEXT (blanks around
 * it ignored) to OUT; false when TEXT is no address. */
bool review_address_canonical(const char *text, char out[REVIEW_ADDRESS_MAX]);
/* Write to OUT what log-ins from the address TEXT are counted under
 * (logins.h): an IPv4 address as review_address_canonical() writes it (an
 * IPv4-mapped IPv6 address too), an IPv6 address as its /64 network
 * ("2001:db8:0:1::/64"; TEXT may be written so too).  False when TEXT is
 * neither. */
bool review_address_throttled(const char *text, char out[REVIEW_ADDRESS_MAX]);
/* Whether every entry of the comma-separated LIST is an address ("" is an
 * empty list). */
bool review_address_list_valid(const char *list);
/* Whether the canonical ADDRESS is one of the comma-separated LIST. */
bool review_address_listed(const char *address, const char *list);

#endif
