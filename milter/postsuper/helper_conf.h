/*
 * helper_conf.h - the settings of the root helper apology-postsuper, from
 * one root-owned file (SYSCONFDIR/apology-milter/postsuper.conf; see
 * packaging/postsuper.conf).  Nothing the caller passes can change them:
 * where the store is, the name of the token header, the key that seals hold
 * tokens, and the Postfix instances (configuration directories) the helper
 * may act on.
 *
 * The file has one "key: value" per line ("#" starts a comment line; a
 * value may be in double quotes); postfix-config may be given several
 * times, the first being the instance used when the caller names none.
 * store is the daemon's: the path of an SQLite file ("sqlite:" before it is
 * dropped) or a PostgreSQL location ("postgresql://..." or
 * "postgres://...", kept whole for libpq).
 * sendmail-config names the one Sendmail configuration (sendmail.cf) the
 * helper may act on (none by default) and sendmail-program the binary it
 * runs for it (/usr/sbin/sendmail).
 * Unknown keys, repeated keys and bad values are errors naming the line.
 *
 * libc only; struct helper_conf is the caller's (no allocation).
 */
#ifndef APOLOGY_HELPER_CONF_H
#define APOLOGY_HELPER_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "trusted.h"

#define HELPER_MAX_INSTANCES 16
#define HELPER_HEADER_MAX    76

struct helper_conf {
	char store[TRUSTED_PATH_MAX];                           /* the daemon's store: an SQLite file or a
	                                                           postgresql:// location (helper_store.h) */
	char token_header[HELPER_HEADER_MAX + 1];               /* the daemon's headers.token */
	char hold_key[TRUSTED_PATH_MAX];                        /* the daemon's hold-key */
	char instances[HELPER_MAX_INSTANCES][TRUSTED_PATH_MAX]; /* Postfix config directories */
	size_t n_instances;
	char sendmail_config[TRUSTED_PATH_MAX];  /* the one sendmail.cf it may act on; "" = none */
	char sendmail_program[TRUSTED_PATH_MAX]; /* the sendmail binary that reads it */
};

/* Fill CONF from TEXT, the whole file, over the defaults (store
 * /var/lib/apology-milter/store.db, token-header X-Apology-Token, hold-key
 * /etc/apology-milter/hold.key, postfix-config /etc/postfix, no
 * sendmail-config, sendmail-program /usr/sbin/sendmail).  False with
 * WHY set ("line N: ...") on the first error. */
bool helper_conf_parse(const char *text, struct helper_conf *conf, char *why, size_t why_size);

/* The configured instance that is exactly DIR (NULL: the first), or NULL
 * when DIR is not one of them. */
const char *helper_conf_instance(const struct helper_conf *conf, const char *dir);

#endif
