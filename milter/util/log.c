/*
 * log.c - syslog or stderr (see log.h).  Lines written to stderr carry a
 * timestamp and the level, and are written with one call so lines from
 * different threads do not interleave.
 */
#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static bool use_stderr = true;
static bool verbose;
static const char *log_ident = "apology-milter";

void log_open(const char *ident, bool to_stderr, int facility)
{
	log_ident = ident;
	use_stderr = to_stderr;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, facility);
}

void log_set_verbose(bool on)
{
	verbose = on;
}

void log_msg(int priority, const char *fmt, ...)
{
	static const char *const level[] = {"emerg",   "alert",  "crit", "error",
	                                    "warning", "notice", "info", "debug"};
	va_list ap;
	if (priority == LOG_DEBUG && !verbose)
		return;
	va_start(ap, fmt);
	if (!use_stderr) {
		vsyslog(priority, fmt, ap);
	} else {
		/* localtime_r() reads the zone once; GDateTime's local zone costs a
		 * lookup per line. */
		char *text = g_strdup_vprintf(fmt, ap);
		char stamp[32] = "";
		time_t now = time(NULL);
		struct tm tm;
		if (localtime_r(&now, &tm))
			strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
		char *line = g_strdup_printf("%s %s[%d]: %s: %s\n", stamp, log_ident, (int)getpid(),
		                             level[priority & 7], text);
		if (write(STDERR_FILENO, line, strlen(line)) < 0) {
			/* Nowhere left to report it. */
		}
		g_free(line);
		g_free(text);
	}
	va_end(ap);
}
