/*
 * daemon_metrics.c - the metrics of apology-milter (see daemon_metrics.h
 * and docs/metrics.md).  The families are registered here, in the order the
 * endpoint shows them; the series whose label values are known in advance
 * are made here too, so that a scrape shows them at 0 before the first
 * message (rates and alerts need a series to exist).
 */
#include <glib.h>

#include "daemon_metrics.h"
#include "rules.h"

/* Seconds; replies take a few milliseconds, large ones up to seconds. */
static const double latency_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                        0.25,  0.5,    1,     2.5,  5,     10,   30};

static struct daemon_metrics dm;

/* Make the series of FAMILY for each value of its one label. */
static void precreate(struct metric_family *family, const char *const *values)
{
	for (const char *const *v = values; *v; v++)
		metric_at(family, *v);
}

#define VALUES(...) ((const char *const[]){__VA_ARGS__, NULL})

static gpointer make(gpointer unused)
{
	(void)unused;
	struct metrics *m = metrics_new();
	dm.registry = m;
	dm.messages = metrics_counter(m, "apology_messages_total",
	                              "Messages judged (scope outgoing: pass, advise, hold, unchecked) or "
	                              "classified (scope inbound: complaint, no-complaint, not-from-client, "
	                              "not-analysed).",
	                              "scope,verdict");
	dm.skipped = metrics_counter(
	    m, "apology_messages_skipped_total",
	    "Messages not judged, by reason: accepted at MAIL FROM or DATA, or deferred (memory-budget).",
	    "reason");
	dm.judged_aside = metrics_counter(
	    m, "apology_judged_aside_total",
	    "Messages an event loop handed to a judge thread, by why: size (over 64 KB), encoder (the "
	    "sentence encoder reads it).",
	    "why");
	dm.rule_hits =
	    metrics_counter(m, "apology_rule_hits_total",
	                    "Outgoing replies in which a rule fired (once per reply and rule).", "rule");
	dm.unchecked = metrics_counter(
	    m, "apology_unchecked_total",
	    "Outgoing replies that could not be analysed (on-error applied), by reason.", "reason");
	dm.actions = metrics_counter(
	    m, "apology_actions_total",
	    "What was done to judged replies: none, headers, hold, reject, tempfail.", "action");
	dm.engine_seconds = metrics_histogram(m, "apology_engine_seconds",
	                                      "Time the core took to judge one message (parse to decision).",
	                                      "scope", latency_bounds, G_N_ELEMENTS(latency_bounds));
	dm.eom_seconds = metrics_histogram(
	    m, "apology_end_of_message_seconds",
	    "Time from the end of a message to its verdict: store look-ups, the core, actions, records.",
	    "scope", latency_bounds, G_N_ELEMENTS(latency_bounds));
	dm.sessions =
	    metrics_gauge(m, "apology_sessions", "SMTP sessions the MTA has open with the milter.", NULL);
	dm.in_flight = metrics_gauge(m, "apology_messages_in_flight",
	                             "Messages between MAIL FROM and their end, over all sessions.", NULL);
	dm.records =
	    metrics_counter(m, "apology_records_total",
	                    "Records of holds, complaints and apologies by where they went: store, "
	                    "spool (the store was unavailable or refused), lost (only the log line).",
	                    "where");
	dm.store_errors = metrics_counter(
	    m, "apology_store_errors_total",
	    "Store operations that failed: lookup, record, crash-guard, upkeep.", "operation");
	dm.store_available = metrics_gauge(m, "apology_store_available",
	                                   "1 while the store is open, 0 while judging without it.", NULL);
	dm.spool_records =
	    metrics_gauge(m, "apology_spool_records",
	                  "Records waiting in the spool for the store (at the last upkeep).", NULL);
	dm.spool_aside = metrics_gauge(m, "apology_spool_aside_lines",
	                               "Lines a replay of the spool set aside: records the store refused for "
	                               "their data, lines no record this version reads (at the last upkeep; "
	                               "apologyctl store aside).",
	                               NULL);
	dm.reloads =
	    metrics_counter(m, "apology_policy_reloads_total",
	                    "Policy reloads by result: reloaded, reloaded-shrunk, bad (kept the old), "
	                    "shrinks (refused, kept the old).",
	                    "result");
	dm.policy_patterns =
	    metrics_gauge(m, "apology_policy_patterns", "Patterns of the policy in use.", NULL);
	dm.models_doubted = metrics_gauge(
	    m, "apology_policy_models_doubted",
	    "Model files of the policy in use that are not what their version names (edited or damaged) or "
	    "cannot be read again to check (at start and after each accepted reload).",
	    NULL);
	dm.near_misses =
	    metrics_counter(m, "apology_near_misses_total",
	                    "Passed replies whose thread the gate placed just short of a complaint "
	                    "(models.near-miss), by whether it was picked for a copy for review "
	                    "(sample.near-misses): kept, not-kept.",
	                    "copy");
	dm.holds_waiting = metrics_gauge(m, "apology_holds_waiting",
	                                 "Held replies waiting for a reviewer (at the last upkeep).", NULL);
	dm.outbox_backlog = metrics_gauge(m, "apology_outbox_backlog",
	                                  "Notifications waiting to be sent (at the last upkeep).", NULL);
	dm.start_time =
	    metrics_gauge(m, "apology_start_time_seconds",
	                  "When the daemon started, in Unix seconds (restarts show as changes).", NULL);

	for (const char *const *v = VALUES("pass", "advise", "hold", "unchecked"); *v; v++)
		metric_at(dm.messages, "outgoing", *v);
	for (const char *const *v = VALUES("complaint", "no-complaint", "not-from-client", "not-analysed");
	     *v; v++)
		metric_at(dm.messages, "inbound", *v);
	precreate(dm.skipped, VALUES("sender-out-of-policy", "no-client-recipient", "inbound-not-recorded",
	                             "inbound-null-sender", "stopping", "memory-budget"));
	precreate(dm.actions, VALUES("none", "headers", "hold", "reject", "tempfail"));
	precreate(dm.records, VALUES("store", "spool", "lost"));
	precreate(dm.store_errors, VALUES("lookup", "record", "crash-guard", "upkeep"));
	precreate(dm.reloads, VALUES("reloaded", "reloaded-shrunk", "bad", "shrinks"));
	precreate(dm.near_misses, VALUES("kept", "not-kept"));
	precreate(dm.engine_seconds, VALUES("outgoing", "inbound"));
	precreate(dm.eom_seconds, VALUES("outgoing", "inbound"));
	for (int r = 0; r < RULE_COUNT; r++)
		metric_at(dm.rule_hits, rule_name((enum rule_id)r));
	metric_at(dm.sessions);
	metric_at(dm.in_flight);
	metric_at(dm.store_available);
	metric_at(dm.spool_records);
	metric_at(dm.spool_aside);
	metric_at(dm.policy_patterns);
	metric_at(dm.models_doubted);
	metric_at(dm.holds_waiting);
	metric_at(dm.outbox_backlog);
	metric_at(dm.start_time);
	return &dm;
}

const struct daemon_metrics *daemon_metrics(void)
{
	static GOnce once = G_ONCE_INIT;
	return g_once(&once, make, NULL);
}
