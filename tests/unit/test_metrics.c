/*
 * test_metrics.c - the metrics registry (milter/util/metrics.c): its text
 * compared byte for byte with the Prometheus text exposition format (HELP
 * and TYPE lines, label escaping, cumulative histogram buckets with
 * le="+Inf", _sum and _count), and counting from several threads at once
 * while another renders.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>
#include <math.h>
#include <string.h>

#include "metrics.h"

static void test_counter_and_gauge_text(void **state)
{
	(void)state;
	struct metrics *m = metrics_new();
	struct metric_family *msgs =
	    metrics_counter(m, "apology_messages_total", "Messages judged.", "scope,verdict");
	struct metric_family *up = metrics_gauge(m, "apology_up", "Whether it runs.", NULL);
	struct metric_family *idle = metrics_counter(m, "apology_idle_total", "Never used.", "rule");
	(void)idle;
	metric_add(metric_at(msgs, "outgoing", "hold"), 2);
	metric_add(metric_at(msgs, "outgoing", "pass"), 1);
	metric_add(metric_at(msgs, "outgoing", "hold"), 1);
	metric_set(metric_at(up), 7);
	metric_gauge_add(metric_at(up), -9);
	char *text = metrics_render(m);
	assert_string_equal(text, "# HELP apology_messages_total Messages judged.\n"
	                          "# TYPE apology_messages_total counter\n"
	                          "apology_messages_total{scope=\"outgoing\",verdict=\"hold\"} 3\n"
	                          "apology_messages_total{scope=\"outgoing\",verdict=\"pass\"} 1\n"
	                          "# HELP apology_up Whether it runs.\n"
	                          "# TYPE apology_up gauge\n"
	                          "apology_up -2\n"
	                          "# HELP apology_idle_total Never used.\n"
	                          "# TYPE apology_idle_total counter\n");
	assert_int_equal(metric_value(metric_at(msgs, "outgoing", "hold")), 3);
	g_free(text);
	metrics_free(m);
}

/* Label values may hold any byte: backslash, double quote and newline are
 * escaped; in HELP, backslash and newline only. */
static void test_escaping(void **state)
{
	(void)state;
	struct metrics *m = metrics_new();
	struct metric_family *f = metrics_counter(m, "x_total", "a \\ b\nc \"d\"", "reason");
	metric_add(metric_at(f, "say \"no\"\\\nnow"), 1);
	metric_add(metric_at(f, ""), 1);
	char *text = metrics_render(m);
	assert_string_equal(text, "# HELP x_total a \\\\ b\\nc \"d\"\n"
	                          "# TYPE x_total counter\n"
	                          "x_total{reason=\"say \\\"no\\\"\\\\\\nnow\"} 1\n"
	                          "x_total{reason=\"\"} 1\n");
	g_free(text);
	metrics_free(m);
}

static void test_histogram_text(void **state)
{
	(void)state;
	struct metrics *m = metrics_new();
	static const double bounds[] = {0.005, 0.1, 1, 2.5};
	struct metric_family *h =
	    metrics_histogram(m, "eom_seconds", "Time to a verdict.", "scope", bounds, G_N_ELEMENTS(bounds));
	struct metric_family *plain = metrics_histogram(m, "plain_seconds", "No labels.", "", bounds, 1);
	struct metric_series *s = metric_at(h, "outgoing");
	metric_observe(s, 0.005); /* on a bound: counted in it (le is "less or equal") */
	metric_observe(s, 0.05);
	metric_observe(s, 0.5);
	metric_observe(s, 0.25);
	metric_observe(s, 30);
	metric_observe(metric_at(plain), 0.001);
	char *text = metrics_render(m);
	assert_string_equal(text, "# HELP eom_seconds Time to a verdict.\n"
	                          "# TYPE eom_seconds histogram\n"
	                          "eom_seconds_bucket{scope=\"outgoing\",le=\"0.005\"} 1\n"
	                          "eom_seconds_bucket{scope=\"outgoing\",le=\"0.1\"} 2\n"
	                          "eom_seconds_bucket{scope=\"outgoing\",le=\"1\"} 4\n"
	                          "eom_seconds_bucket{scope=\"outgoing\",le=\"2.5\"} 4\n"
	                          "eom_seconds_bucket{scope=\"outgoing\",le=\"+Inf\"} 5\n"
	                          "eom_seconds_sum{scope=\"outgoing\"} 30.805\n"
	                          "eom_seconds_count{scope=\"outgoing\"} 5\n"
	                          "# HELP plain_seconds No labels.\n"
	                          "# TYPE plain_seconds histogram\n"
	                          "plain_seconds_bucket{le=\"0.005\"} 1\n"
	                          "plain_seconds_bucket{le=\"+Inf\"} 1\n"
	                          "plain_seconds_sum 0.001\n"
	                          "plain_seconds_count 1\n");
	assert_int_equal(metric_value(s), 5);
	g_free(text);
	metrics_free(m);
}

/* The same label values give the same series. */
static void test_series_are_kept(void **state)
{
	(void)state;
	struct metrics *m = metrics_new();
	struct metric_family *f = metrics_counter(m, "rule_hits_total", "Hits.", "rule");
	char *name = g_strdup("blame-third-party");
	struct metric_series *a = metric_at(f, name);
	g_free(name);
	const char *const values[] = {"blame-third-party"};
	assert_ptr_equal(metric_at_v(f, values), a);
	assert_ptr_not_equal(metric_at(f, "excuse"), a);
	metrics_free(m);
}

#define THREADS 4
#define ROUNDS  20000

struct race {
	struct metrics *m;
	struct metric_family *counter, *hist;
	gint stop;
};

static gpointer count_thread(gpointer data)
{
	struct race *r = data;
	char rule[16];
	for (int i = 0; i < ROUNDS; i++) {
		g_snprintf(rule, sizeof rule, "rule-%d", i % 7);
		metric_add(metric_at(r->counter, rule), 1);
		metric_observe(metric_at(r->hist), 0.5);
	}
	return NULL;
}

static gpointer render_thread(gpointer data)
{
	struct race *r = data;
	while (!g_atomic_int_get(&r->stop))
		g_free(metrics_render(r->m));
	return NULL;
}

/* Threads counting into series they make as they go, while another
 * renders: no count is lost, each series is made once. */
static void test_threads(void **state)
{
	(void)state;
	static const double bounds[] = {1};
	struct race r = {.m = metrics_new()};
	r.counter = metrics_counter(r.m, "hits_total", "Hits.", "rule");
	r.hist = metrics_histogram(r.m, "took_seconds", "Took.", NULL, bounds, 1);
	GThread *renderer = g_thread_new("render", render_thread, &r);
	GThread *t[THREADS];
	for (int i = 0; i < THREADS; i++)
		t[i] = g_thread_new("count", count_thread, &r);
	for (int i = 0; i < THREADS; i++)
		g_thread_join(t[i]);
	g_atomic_int_set(&r.stop, 1);
	g_thread_join(renderer);
	int64_t total = 0;
	for (int k = 0; k < 7; k++) {
		char rule[16];
		g_snprintf(rule, sizeof rule, "rule-%d", k);
		total += metric_value(metric_at(r.counter, rule));
	}
	assert_int_equal(total, THREADS * ROUNDS);
	assert_int_equal(metric_value(metric_at(r.hist)), THREADS * ROUNDS);
	char *text = metrics_render(r.m);
	const char *first = strstr(text, "hits_total{rule=\"rule-3\"}");
	assert_non_null(first);
	assert_null(strstr(first + 1, "hits_total{rule=\"rule-3\"}")); /* made once */
	assert_non_null(strstr(text, "took_seconds_sum 40000\n"));
	g_free(text);
	metrics_free(r.m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_counter_and_gauge_text), cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_histogram_text),         cmocka_unit_test(test_series_are_kept),
	    cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
