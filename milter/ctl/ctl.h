/*
 * ctl.h - what the commands of apologyctl share (apologyctl.c, check.c,
 * policy_cmd.c, backtest.c):
 * the policy they load, times on the command line, a stored complaint put
 * into struct context, and a decision as the one JSON line of `check`.
 *
 * Ownership: ctl_load_policy() returns one reference (policy_unref());
 * ctl_json_decision() appends to a caller-owned GString; ctl_json_text()
 * returns a string the caller frees.
 */
#ifndef APOLOGY_CTL_H
#define APOLOGY_CTL_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>

#include "decision.h"

struct policy;

/* --policy's default: $APOLOGY_POLICY, ./policies/default.yaml, or the
 * installed one. */
const char *ctl_default_policy_path(void);
/* Load the policy at PATH; NULL after printing its errors to stderr. */
struct policy *ctl_load_policy(const char *path);
/* An RFC 3339 time, or a date YYYY-MM-DD (midnight UTC), as Unix seconds. */
bool ctl_parse_time(const char *s, gint64 *out);

/* Fill CTX with a complaint as the milter stores it when it arrives
 * (daemon/filter.c): detected, its severity and failure kinds, RECEIVED as
 * its arrival time (-1: unknown). */
void ctl_context_complaint(struct context *ctx, const struct complaint *c, gint64 received);

/* The JSON object of `check --format json` for D (render_json()), with the
 * decision's history fields: "apologised" (the reply apologises, so it
 * counts as an earlier apology for the next reply to the same client) and
 * "kinds" (the failure kinds of the complaint, POL's names).  No newline;
 * the closing brace is the last byte, so callers may add fields before it. */
void ctl_json_decision(GString *out, const char *file, const struct policy *pol, const struct decision *d);

/* Add VALUE as a JSON string, invalid UTF-8 repaired, to what BUILDER has
 * open (an array, or an object after the member's name); null when VALUE
 * is NULL. */
void ctl_json_add_string(JsonBuilder *builder, const char *value);
/* Add the member NAME of the object BUILDER has open, its value as
 * ctl_json_add_string() adds it. */
void ctl_json_member_string(JsonBuilder *builder, const char *name, const char *value);
/* Add the N members MEMBERS[i][0] with the strings MEMBERS[i][1], in order,
 * as ctl_json_member_string() adds each. */
void ctl_json_member_strings(JsonBuilder *builder, const char *const (*members)[2], size_t n);
/* Add the member NAME with the integer VALUE. */
void ctl_json_member_int(JsonBuilder *builder, const char *name, gint64 value);
/* BUILDER's value as one line of JSON (json-glib's generator, not pretty),
 * no newline; the caller frees it (g_free()). */
char *ctl_json_text(JsonBuilder *builder);

/* Append the members of the object BUILDER holds to the JSON object text
 * OBJECT, before its closing brace (its last byte): how the ctl adds its
 * own members to the core's rendering of a decision (render_json()). */
void ctl_json_extend(GString *object, JsonBuilder *builder);

/* apologyctl's usage on stderr, after "apologyctl: MSG" when MSG is not
 * NULL; returns EX_USAGE (apologyctl.c). */
int ctl_usage(const char *msg);

/* The commands; ARGV[0] is the command's name. */
int check_main(int argc, char **argv);    /* `apologyctl check ...` (check.c) */
int policy_main(int argc, char **argv);   /* `apologyctl policy check ...` (policy_cmd.c) */
int backtest_main(int argc, char **argv); /* `apologyctl backtest ...` (backtest.c) */
int notify_main(int argc, char **argv);   /* `apologyctl notify --once` (notify_cmd.c) */
int logins_main(int argc, char **argv);   /* `apologyctl logins ...` (logins_cmd.c) */

/* A --since argument: a duration back from NOW ("7d", "12h"; as the review
 * settings read them) or a time as ctl_parse_time() reads it. */
bool ctl_parse_since(const char *s, gint64 now, gint64 *out);

struct review_config;
struct store;
/* Unless RC is already an exit status, open CFG's store, RUN(CFG, the
 * store, DATA) and close it; RUN's exit status, EX_UNAVAILABLE (said on
 * stderr) when the store does not open, else RC. */
int ctl_with_store(const struct review_config *cfg, int rc,
                   int (*run)(const struct review_config *cfg, struct store *st, void *data), void *data);
/* Print "apologyctl COMMAND: MSG" (MSG may be NULL), TEXT and the review
 * settings to stderr; returns EX_USAGE. */
int ctl_review_usage(const char *command, const char *text, const char *msg);

/* `apologyctl report ...` (report.c); ARGV[0] is "report". */
int report_main(int argc, char **argv);
/* `apologyctl labels ...` (labels.c); ARGV[0] is "labels". */
int labels_main(int argc, char **argv);
/* `apologyctl store migrate ...` (store_cmd.c) */
int store_main(int argc, char **argv);
/* `apologyctl quarantine ...` (quarantine_cmd.c); ARGV[0] is "quarantine". */
int quarantine_main(int argc, char **argv);

#endif
