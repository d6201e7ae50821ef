/*
 * units.h - the one reader of durations, sizes and yes/no values in
 * settings: the daemon's configuration (daemon/config.c), the review tools'
 * settings (holds/review_config.c), the policy (core/policy.c) and the
 * command line (`quarantine list --older-than`, the review page's filter).
 * Pure: no I/O.
 *
 * Durations, in seconds:
 *   DURATION := DIGITS | TERM+          TERM := DIGITS UNIT
 *   UNIT     := s | m | h | d | w       (seconds, minutes, hours, days, weeks;
 *                                        upper case taken as lower case)
 * A plain number is seconds ("90"); terms add up ("1h30m" = 5400, "1w2d" =
 * 777600), largest unit first or not ("30m1h" = 5400), a unit at most once.
 * Nothing else: no blanks, signs, fractions or other letters.
 *
 * Sizes, in bytes: DIGITS [UNIT], UNIT one of the caller's (k = 1024,
 * m = 1024 * 1024, g = 1024^3; upper case taken as lower case); one unit.
 *
 * Yes/no: yes, true, on, 1 and no, false, off, 0, in any case.
 *
 * Errors are short English phrases (caller frees): "expected a number",
 * "unknown unit 'x' (use one of smhdw)", "unit 'm' given twice", "30 without a
 * unit after another term" ("1h30"), "number out of range".
 */
#ifndef APOLOGY_UNITS_H
#define APOLOGY_UNITS_H

#include <glib.h>
#include <stdbool.h>

/* The units units_parse_duration() takes. */
#define UNITS_DURATION "smhdw"
/* Every size unit; a setting may take fewer (units_parse_size). */
#define UNITS_SIZE "kmg"

/* S as a duration in seconds into *OUT, with units of UNITS (UNITS_DURATION,
 * or fewer where a setting has never taken them all); NULL or an error
 * (caller frees). */
char *units_parse_duration(const char *s, const char *units, gint64 *out);
/* S as a size in bytes into *OUT, with at most one unit of UNITS (a subset
 * of UNITS_SIZE); NULL or an error (caller frees). */
char *units_parse_size(const char *s, const char *units, gint64 *out);
/* S as yes/no into *OUT; false when it is neither. */
bool units_parse_bool(const char *s, bool *out);
/* Unix time T as ISO 8601 UTC ("2026-03-01T09:12:00Z"), the one way the
 * programs write a time; NULL when T is negative or out of range.  Caller
 * frees. */
char *units_format_time(gint64 t);

/* V as %g writes it (2.75, 100, 0.1), with more significant digits where
 * six do not read back as V (5.5000001), and a point whatever the locale,
 * into BUF of G_ASCII_DTOSTR_BUF_SIZE bytes; returns BUF. */
const char *units_format_number(char *buf, double v);

#endif
