/*
 * log.h - the daemon's operator log: syslog, or standard error when it runs
 * in the foreground.  One summary line per message (queue id, verdict,
 * score, rule ids), never text from the mail.
 */
#ifndef APOLOGY_LOG_H
#define APOLOGY_LOG_H

#include <stdbool.h>
#include <syslog.h>

/* Log to syslog with FACILITY, or to stderr when TO_STDERR. */
void log_open(const char *ident, bool to_stderr, int facility);
/* Also print LOG_DEBUG lines (stderr only). */
void log_set_verbose(bool verbose);
void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
