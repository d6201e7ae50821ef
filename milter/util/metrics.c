/*
 * metrics.c - counters, gauges and histograms in the Prometheus text
 * exposition format (see metrics.h).  Families and series are kept in
 * append-only lists linked by atomic pointers: counting and rendering read
 * them without a lock, and only appending a series takes its family's mutex
 * (once per label set, for the life of the process).  No I/O here.
 */
#include <glib.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "metrics.h"
#include "units.h"

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

static const char *const type_names[] = {
    [METRIC_COUNTER] = "counter",
    [METRIC_GAUGE] = "gauge",
    [METRIC_HISTOGRAM] = "histogram",
};

struct metric_series {
	struct metric_family *family;
	char **values;                        /* one per label of the family */
	_Atomic(struct metric_series *) next; /* in the family, in the order made */
	_Atomic int64_t value;                /* a counter's count, a gauge's value */
	_Atomic uint64_t sum_bits;            /* a histogram's sum, as the bits of a double */
	_Atomic uint64_t buckets[];           /* a histogram's counts per bucket (not cumulative) */
};

struct metric_family {
	char *name, *help;
	enum metric_type type;
	char **labels;
	size_t n_labels;
	double *bounds;
	size_t n_bounds;
	GMutex lock; /* guards appending to the series */
	_Atomic(struct metric_series *) head;
	struct metric_series *tail;
	_Atomic(struct metric_family *) next; /* in the registry */
};

struct metrics {
	GMutex lock; /* guards appending a family */
	_Atomic(struct metric_family *) head;
	struct metric_family *tail;
};

struct metrics *metrics_new(void)
{
	struct metrics *m = g_new0(struct metrics, 1);
	g_mutex_init(&m->lock);
	return m;
}

static void series_free(struct metric_series *s)
{
	g_strfreev(s->values);
	g_free(s);
}

static void family_free(struct metric_family *f)
{
	struct metric_series *s = atomic_load(&f->head);
	while (s != NULL) {
		struct metric_series *next = atomic_load(&s->next);
		series_free(s);
		s = next;
	}
	g_free(f->name);
	g_free(f->help);
	g_strfreev(f->labels);
	g_free(f->bounds);
	g_mutex_clear(&f->lock);
	g_free(f);
}

void metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	struct metric_family *f = atomic_load(&m->head);
	while (f != NULL) {
		struct metric_family *next = atomic_load(&f->next);
		family_free(f);
		f = next;
	}
	g_mutex_clear(&m->lock);
	g_free(m);
}

/* ---- registering ------------------------------------------------------- */

/* [a-zA-Z_:][a-zA-Z0-9_:]* for metric names, the same without ':' for
 * label names. */
static bool valid_name(const char *name, bool label)
{
	if (name == NULL || *name == '\0' || g_ascii_isdigit(*name))
		return false;
	for (const char *p = name; *p; p++)
		if (!g_ascii_isalnum(*p) && *p != '_' && (label || *p != ':'))
			return false;
	return true;
}

/* Make a family and append it to M's, complete before a scrape can see it. */
static struct metric_family *family_add(struct metrics *m, enum metric_type type, const char *name,
                                        const char *help, const char *labels, const double *bounds,
                                        size_t n_bounds)
{
	if (!valid_name(name, false))
		g_error("metrics: bad metric name \"%s\"", name);
	struct metric_family *f = g_new0(struct metric_family, 1);
	f->name = g_strdup(name);
	f->help = g_strdup(help ? help : "");
	f->type = type;
	f->labels = labels && *labels ? g_strsplit(labels, ",", -1) : g_new0(char *, 1);
	f->n_labels = g_strv_length(f->labels);
	for (size_t i = 0; i < f->n_labels; i++)
		if (!valid_name(f->labels[i], true) || g_str_has_prefix(f->labels[i], "__") ||
		    (type == METRIC_HISTOGRAM && strcmp(f->labels[i], "le") == 0))
			g_error("metrics: %s: bad label name \"%s\"", name, f->labels[i]);
	for (size_t i = 0; i < n_bounds; i++)
		if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
			g_error("metrics: %s: bucket bounds must be finite and rising", name);
	f->bounds = n_bounds ? g_memdup2(bounds, n_bounds * sizeof *bounds) : NULL;
	f->n_bounds = n_bounds;
	g_mutex_init(&f->lock);
	g_mutex_lock(&m->lock);
	for (struct metric_family *o = atomic_load(&m->head); o; o = atomic_load(&o->next))
		if (strcmp(o->name, name) == 0)
			g_error("metrics: %s registered twice", name);
	if (m->tail == NULL)
		atomic_store(&m->head, f);
	else
		atomic_store(&m->tail->next, f);
	m->tail = f;
	g_mutex_unlock(&m->lock);
	return f;
}

struct metric_family *metrics_counter(struct metrics *m, const char *name, const char *help,
                                      const char *labels)
{
	return family_add(m, METRIC_COUNTER, name, help, labels, NULL, 0);
}

struct metric_family *metrics_gauge(struct metrics *m, const char *name, const char *help, const char *labels)
{
	return family_add(m, METRIC_GAUGE, name, help, labels, NULL, 0);
}

struct metric_family *metrics_histogram(struct metrics *m, const char *name, const char *help,
                                        const char *labels, const double *bounds, size_t n_bounds)
{
	return family_add(m, METRIC_HISTOGRAM, name, help, labels, bounds, n_bounds);
}

/* ---- series -------------------------------------------------------------- */

static bool same_values(const struct metric_series *s, const char *const *values, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s->values[i], values[i]) != 0)
			return false;
	return true;
}

static struct metric_series *series_find(struct metric_family *f, const char *const *values)
{
	for (struct metric_series *s = atomic_load(&f->head); s; s = atomic_load(&s->next))
		if (same_values(s, values, f->n_labels))
			return s;
	return NULL;
}

struct metric_series *metric_at_v(struct metric_family *f, const char *const *values)
{
	for (size_t i = 0; i < f->n_labels; i++)
		if (values[i] == NULL)
			g_error("metrics: %s: no value for label %s", f->name, f->labels[i]);
	struct metric_series *s = series_find(f, values);
	if (s != NULL)
		return s;
	g_mutex_lock(&f->lock);
	s = series_find(f, values); /* made by another thread meanwhile */
	if (s == NULL) {
		size_t n_buckets = f->type == METRIC_HISTOGRAM ? f->n_bounds + 1 : 0;
		s = g_malloc0(sizeof *s + n_buckets * sizeof s->buckets[0]);
		s->family = f;
		s->values = g_new0(char *, f->n_labels + 1);
		for (size_t i = 0; i < f->n_labels; i++)
			s->values[i] = g_strdup(values[i]);
		if (f->tail == NULL)
			atomic_store(&f->head, s);
		else
			atomic_store(&f->tail->next, s);
		f->tail = s;
	}
	g_mutex_unlock(&f->lock);
	return s;
}

struct metric_series *metric_at(struct metric_family *f, ...)
{
	const char **values = g_newa(const char *, f->n_labels + 1);
	va_list ap;
	va_start(ap, f);
	for (size_t i = 0; i < f->n_labels; i++)
		values[i] = va_arg(ap, const char *);
	va_end(ap);
	return metric_at_v(f, values);
}

/* ---- counting ------------------------------------------------------------ */

static void expect_type(const struct metric_series *s, enum metric_type type)
{
	if (s->family->type != type)
		g_error("metrics: %s is a %s", s->family->name, type_names[s->family->type]);
}

void metric_add(struct metric_series *s, uint64_t n)
{
	expect_type(s, METRIC_COUNTER);
	atomic_fetch_add_explicit(&s->value, (int64_t)n, memory_order_relaxed);
}

void metric_set(struct metric_series *s, int64_t v)
{
	expect_type(s, METRIC_GAUGE);
	atomic_store_explicit(&s->value, v, memory_order_relaxed);
}

void metric_gauge_add(struct metric_series *s, int64_t delta)
{
	expect_type(s, METRIC_GAUGE);
	atomic_fetch_add_explicit(&s->value, delta, memory_order_relaxed);
}

static double bits_double(uint64_t bits)
{
	double d;
	memcpy(&d, &bits, sizeof d);
	return d;
}

static uint64_t double_bits(double d)
{
	uint64_t bits;
	memcpy(&bits, &d, sizeof bits);
	return bits;
}

void metric_observe(struct metric_series *s, double v)
{
	expect_type(s, METRIC_HISTOGRAM);
	const struct metric_family *f = s->family;
	size_t i = 0;
	while (i < f->n_bounds && !(v <= f->bounds[i]))
		i++;
	atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
	uint64_t old = atomic_load_explicit(&s->sum_bits, memory_order_relaxed);
	while (!atomic_compare_exchange_weak_explicit(&s->sum_bits, &old, double_bits(bits_double(old) + v),
	                                              memory_order_relaxed, memory_order_relaxed))
		;
}

int64_t metric_value(const struct metric_series *s)
{
	if (s->family->type != METRIC_HISTOGRAM)
		return atomic_load_explicit(&s->value, memory_order_relaxed);
	uint64_t n = 0;
	for (size_t i = 0; i <= s->family->n_bounds; i++)
		n += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
	return (int64_t)n;
}

/* ---- rendering ----------------------------------------------------------- */

/* V as Prometheus reads it: a whole number in full, else the shortest
 * decimal that reads back as V; +Inf, -Inf or NaN. */
static void append_double(GString *out, double v)
{
	if (isnan(v)) {
		g_string_append(out, "NaN");
		return;
	}
	if (isinf(v)) {
		g_string_append(out, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	char buf[G_ASCII_DTOSTR_BUF_SIZE];
	if (v == floor(v) && fabs(v) < 1e15) { /* whole numbers in full, as Go's clients write them */
		g_string_append_printf(out, "%.0f", v);
		return;
	}
	g_string_append(out, units_format_number(buf, v));
}

/* TEXT with backslash and newline escaped, and the double quote too in a
 * label value (QUOTE). */
static void append_escaped(GString *out, const char *text, bool quote)
{
	for (const char *p = text; *p; p++) {
		if (*p == '\\')
			g_string_append(out, "\\\\");
		else if (*p == '\n')
			g_string_append(out, "\\n");
		else if (*p == '"' && quote)
			g_string_append(out, "\\\"");
		else
			g_string_append_c(out, *p);
	}
}

/* NAME{labels of S, and le="LE" when LE is not NULL} */
static void append_name(GString *out, const struct metric_series *s, const char *suffix, const char *le)
{
	const struct metric_family *f = s->family;
	g_string_append(out, f->name);
	g_string_append(out, suffix);
	if (f->n_labels == 0 && le == NULL)
		return;
	g_string_append_c(out, '{');
	for (size_t i = 0; i < f->n_labels; i++) {
		g_string_append_printf(out, "%s%s=\"", i ? "," : "", f->labels[i]);
		append_escaped(out, s->values[i], true);
		g_string_append_c(out, '"');
	}
	if (le != NULL)
		g_string_append_printf(out, "%sle=\"%s\"", f->n_labels ? "," : "", le);
	g_string_append_c(out, '}');
}

static void render_histogram(GString *out, const struct metric_series *s)
{
	const struct metric_family *f = s->family;
	uint64_t cumulative = 0;
	for (size_t i = 0; i <= f->n_bounds; i++) {
		GString *le = g_string_new(NULL);
		if (i < f->n_bounds)
			append_double(le, f->bounds[i]);
		else
			g_string_append(le, "+Inf");
		cumulative += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
		append_name(out, s, "_bucket", le->str);
		g_string_append_printf(out, " %" G_GUINT64_FORMAT "\n", cumulative);
		g_string_free(le, TRUE);
	}
	append_name(out, s, "_sum", NULL);
	g_string_append_c(out, ' ');
	append_double(out, bits_double(atomic_load_explicit(&s->sum_bits, memory_order_relaxed)));
	g_string_append_c(out, '\n');
	append_name(out, s, "_count", NULL);
	g_string_append_printf(out, " %" G_GUINT64_FORMAT "\n", cumulative);
}

char *metrics_render(struct metrics *m)
{
	GString *out = g_string_new(NULL);
	for (struct metric_family *f = atomic_load(&m->head); f; f = atomic_load(&f->next)) {
		g_string_append_printf(out, "# HELP %s ", f->name);
		append_escaped(out, f->help, false);
		g_string_append_printf(out, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
		for (struct metric_series *s = atomic_load(&f->head); s; s = atomic_load(&s->next)) {
			if (f->type == METRIC_HISTOGRAM) {
				render_histogram(out, s);
				continue;
			}
			append_name(out, s, "", NULL);
			g_string_append_printf(out, " %" G_GINT64_FORMAT "\n",
			                       (gint64)atomic_load_explicit(&s->value, memory_order_relaxed));
		}
	}
	return g_string_free(out, FALSE);
}
