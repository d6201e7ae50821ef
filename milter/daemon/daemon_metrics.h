/*
 * daemon_metrics.h - what apology-milter counts, for its Prometheus
 * endpoint (metrics_http.h; docs/metrics.md lists every metric and the
 * alerts worth setting).  One registry per process, made at first use and
 * counted into whether or not the endpoint is on: counting is an atomic add
 * (metrics.h), so the mail path never waits on a scrape.
 *
 * filter.c counts messages, verdicts, rule hits, actions, latencies and
 * records; upkeep.c sets the gauges read from the store and the spool
 * (holds waiting, outbox backlog, spool depth) on every upkeep, off the
 * mail path; daemon.c counts policy reloads.
 *
 * Ownership: the registry lives until the process ends.
 */
#ifndef APOLOGY_DAEMON_METRICS_H
#define APOLOGY_DAEMON_METRICS_H

#include "metrics.h"

struct daemon_metrics {
	struct metrics *registry;
	struct metric_family *messages;        /* scope, verdict: messages judged or classified */
	struct metric_family *skipped;         /* reason: not judged (accepted early, or deferred) */
	struct metric_family *judged_aside;    /* why: handed by an event loop to a judge thread */
	struct metric_family *rule_hits;       /* rule: replies in which the rule fired */
	struct metric_family *unchecked;       /* reason: replies that could not be analysed */
	struct metric_family *actions;         /* action: what was done to judged replies */
	struct metric_family *engine_seconds;  /* scope: time in the core */
	struct metric_family *eom_seconds;     /* scope: end of message to verdict */
	struct metric_family *sessions;        /* SMTP sessions open */
	struct metric_family *in_flight;       /* messages between MAIL FROM and end of message */
	struct metric_family *records;         /* where: store, spool, lost */
	struct metric_family *store_errors;    /* operation */
	struct metric_family *store_available; /* 1 while the store is open */
	struct metric_family *spool_records;   /* records waiting in the spool */
	struct metric_family *spool_aside;     /* lines a replay set aside */
	struct metric_family *reloads;         /* result */
	struct metric_family *policy_patterns; /* patterns of the policy in use */
	struct metric_family *models_doubted;  /* its model files not what their versions name */
	struct metric_family *near_misses;     /* copy: passed replies the gate placed just short */
	struct metric_family *holds_waiting;   /* held replies no reviewer has decided on */
	struct metric_family *outbox_backlog;  /* notifications not yet sent */
	struct metric_family *start_time;      /* when the daemon started, Unix seconds */
};

/* The process's metrics, made at the first call (any thread). */
const struct daemon_metrics *daemon_metrics(void);

/* Count one of FAMILY's series with the label values given (as metric_at). */
#define DAEMON_COUNT(family, ...) metric_add(metric_at(daemon_metrics()->family, __VA_ARGS__), 1)

#endif
