/*
 * date.h - the free-text dates of reply attributions and quoted reply
 * headers ("On Mon, 2 Mar 2026 at 09:14, Ann wrote:", "Sent: Monday, March
 * 2, 2026 9:14 AM"), for stage 2 (split.c).  Pure: no clock, no locale.
 *
 * The date at the start of N bytes at P, as Unix seconds (UTC when no zone
 * is given), or -1.  Reads what follows "On", "Sent:", "Date:", "Am", "Le":
 * RFC 2822 dates, "Mon, 2 Mar 2026 at 09:14", "Mar 2, 2026 at 9:14 AM",
 * "Monday, March 2, 2026 9:14 AM", "02/03/2026 09:14", "2026-03-02 09:14",
 * "Mo., 2. März 2026 um 09:14", "lun. 2 mars 2026 à 09:14".  Stops at the
 * first word after a complete date that is not part of it (the name).
 */
#ifndef APOLOGY_DATE_H
#define APOLOGY_DATE_H

#include <glib.h>

gint64 date_parse(const char *p, size_t n);

#endif
