/*
 * bench_store.c - records written per second through the store interface
 * (include/store.h), with each backend given, as a ratio to the first (SQLite)
 * measured in the same run.  SECONDS is the time of the whole run.  A record is what the daemon's store
 * writer writes for a held reply, one call each: the complaint it answers, the apology, the quarantine record
 * with a 4 KB copy of the message.  Wall time (the database server is another process), rounds interleaved
 * across the backends, the best round of each kept; with one writing thread (the daemon's store writer) and
 * with four threads on one handle.
 *
 *   bench-store SECONDS LABEL LOCATION...   (make bench: bench/store.sh)
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "store.h"

#define ROUNDS        3
#define MAX_LOCATIONS 4

struct run {
	struct store *st;
	double seconds;
	int thread;
	int round;
	gint64 records;
	char *err;
};

static const char raw_body[4096] = {'S', 'u', 'b', 'j', 'e', 'c', 't', ':', ' ', 'x', '\r', '\n', '\r', '\n'};

/* Write records until SECONDS have passed; their number in R->records. */
static gpointer write_records(gpointer data)
{
	struct run *r = data;
	gint64 until = g_get_monotonic_time() + (gint64)(r->seconds * G_USEC_PER_SEC);
	for (gint64 i = 0; g_get_monotonic_time() < until; i++) {
		char *id =
		    g_strdup_printf("c%d.%d.%" G_GINT64_FORMAT "@client.example", r->round, r->thread, i);
		char *token = g_strdup_printf("t%d.%d.%" G_GINT64_FORMAT, r->round, r->thread, i);
		gint64 now = 1700000000 + i;
		struct store_complaint c = {.message_id = id,
		                            .client_addr = "192.0.2.1",
		                            .client_domain = "client.example",
		                            .received = now,
		                            .kinds = 1};
		struct store_quarantine q = fixture_hold(token);
		q.message_id = q.complaint_ref = id;
		q.sender = "am@us.example";
		q.score = 12;
		q.findings_json = "{\"findings\":[{\"rule\":\"blame-third-party\",\"start\":0,\"end\":4}]}";
		fixture_copy(&q, raw_body, sizeof raw_body);
		q.created = now;
		bool ok = store_complaint_put(r->st, &c, &r->err) &&
		          store_apology_put(r->st, "am@us.example", "client.example", now, 1, id, &r->err) &&
		          store_quarantine_put(r->st, &q, NULL, &r->err);
		if (!ok) {
			char *e = g_strdup_printf("%s (record %s)", r->err, token);
			g_free(r->err);
			r->err = e;
		}
		g_free(id);
		g_free(token);
		if (!ok)
			return NULL;
		r->records += 3;
	}
	return NULL;
}

/* Records per second with THREADS threads on ST for SECONDS. */
static double measure(struct store *st, int threads, double seconds, int round)
{
	struct run runs[8] = {{0}};
	GThread *t[8];
	gint64 start = g_get_monotonic_time();
	for (int i = 0; i < threads; i++) {
		runs[i] =
		    (struct run){.st = st, .seconds = seconds, .thread = threads * 10 + i, .round = round};
		t[i] = g_thread_new("bench", write_records, &runs[i]);
	}
	gint64 total = 0;
	for (int i = 0; i < threads; i++) {
		g_thread_join(t[i]);
		if (runs[i].err != NULL) {
			fprintf(stderr, "bench-store: %s\n", runs[i].err);
			exit(1);
		}
		total += runs[i].records;
	}
	return (double)total / ((double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC);
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc % 2 != 0 || (argc - 2) / 2 > MAX_LOCATIONS) {
		fprintf(stderr, "usage: bench-store SECONDS LABEL LOCATION... (the first is the baseline)\n");
		return 64;
	}
	int n = (argc - 2) / 2;
	double seconds = atof(argv[1]) / ROUNDS / 2 / n; /* each round of each backend, 1 and 4 threads */
	struct store *st[MAX_LOCATIONS];
	for (int k = 0; k < n; k++) {
		char *err = NULL;
		if ((st[k] = store_open(argv[3 + 2 * k], &err)) == NULL) {
			fprintf(stderr, "bench-store: %s\n", err);
			return 69;
		}
	}
	printf("store benchmark: records written per second through store.h (a complaint, an apology, a\n"
	       "held message with a 4 KB copy per held reply), wall time, best of %d interleaved rounds\n",
	       ROUNDS);
	static const int threads[] = {1, 4};
	for (size_t t = 0; t < G_N_ELEMENTS(threads); t++) {
		double best[MAX_LOCATIONS] = {0};
		for (int round = 0; round < ROUNDS; round++)
			for (int k = 0; k < n; k++) {
				double rate = measure(st[k], threads[t], seconds, round * MAX_LOCATIONS + k);
				best[k] = MAX(best[k], rate);
			}
		printf("  %d writing thread%s:\n", threads[t], threads[t] > 1 ? "s" : "");
		for (int k = 0; k < n; k++)
			printf("    %-40s %7.0f records/s  ratio %.2f\n", argv[2 + 2 * k], best[k],
			       best[k] / best[0]);
	}
	for (int k = 0; k < n; k++)
		store_close(st[k]);
	return 0;
}
