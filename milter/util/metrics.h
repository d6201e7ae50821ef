/*
 * metrics.h - a small registry of counters, gauges and histograms, rendered
 * in the Prometheus text exposition format (version 0.0.4).
 *
 * A family is one metric name with its help text, its type and the names of
 * its labels; a series is one set of label values of a family.  Series are
 * made on first use and never removed, so a pointer to one stays valid until
 * metrics_free() and callers on a hot path may keep it.  Counting is
 * lock-free: every value is a C11 atomic.  Finding an existing series walks
 * a list with atomic loads; only making a new one takes the family's mutex,
 * and rendering never takes a lock, so a scrape never holds up the code that
 * counts.  A scrape may see a histogram's _sum a moment ahead of or behind
 * its buckets; _count always equals the +Inf bucket.
 *
 * Pure: no I/O, clock or environment.  Serving the text over HTTP is the
 * caller's business (the daemon's daemon/metrics_http.c).
 *
 * Ownership: the registry owns its families and series; names, help texts,
 * label names and bucket bounds are copied.  metrics_render() returns a
 * string the caller frees with g_free().  Misuse (a bad metric or label
 * name, a wrong number of label values, a name registered twice) is a bug
 * and aborts.
 */
#ifndef APOLOGY_METRICS_H
#define APOLOGY_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct metrics;
struct metric_family;
struct metric_series;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/* Register a family of M in the order it is to be rendered.  LABELS names
 * its labels, comma-separated ("scope,verdict"; NULL or "" for none).
 * Counters count up from 0 (names end in _total); gauges go up and down;
 * a histogram counts observations into N_BOUNDS buckets whose upper bounds
 * BOUNDS are in rising order (a +Inf bucket is added). */
struct metric_family *metrics_counter(struct metrics *m, const char *name, const char *help,
                                      const char *labels);
struct metric_family *metrics_gauge(struct metrics *m, const char *name, const char *help,
                                    const char *labels);
struct metric_family *metrics_histogram(struct metrics *m, const char *name, const char *help,
                                        const char *labels, const double *bounds, size_t n_bounds);

/* The series of F with these label values, one per label of F in order,
 * made at first use (then rendered with value 0).  Any bytes are allowed
 * in a value: rendering escapes them. */
struct metric_series *metric_at(struct metric_family *f, ...);
/* The same with the values in an array of as many strings as F has labels. */
struct metric_series *metric_at_v(struct metric_family *f, const char *const *values);

/* A counter: add N. */
void metric_add(struct metric_series *s, uint64_t n);
/* A gauge: set to V, or add DELTA (negative to go down). */
void metric_set(struct metric_series *s, int64_t v);
void metric_gauge_add(struct metric_series *s, int64_t delta);
/* A histogram: count one observation of V. */
void metric_observe(struct metric_series *s, double v);

/* Read a value back (tests, and callers that report it elsewhere): a
 * counter's count, a gauge's value, a histogram's number of observations. */
int64_t metric_value(const struct metric_series *s);

/* The whole registry in the text exposition format: for each family its
 * "# HELP" and "# TYPE" lines, then one line per series (for histograms
 * the cumulative _bucket lines with le="+Inf" last, _sum and _count).
 * Caller frees. */
char *metrics_render(struct metrics *m);

/* The content type to serve metrics_render()'s text with. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
