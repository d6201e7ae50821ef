/*
 * bench_journal.c - what the journal of holds (include/spool.h) adds to the
 * mail path: for each hold, before the MTA hears of it, the daemon makes the
 * record's spool line (its copy in base64) and appends it with one write(2)
 * under the store writer's lock; the writer's thread empties the journal
 * once the store has the holds (an ftruncate, off the mail path, counted
 * here too as if it were on it).  Measured for the two replies bench-engine
 * and bench/e2e.sh judge (15 KB and 200 KB), wall time per hold, best of
 * ROUNDS; beside it, for scale, a spool append of the same record (what the
 * daemon does when the store is down: write and fdatasync), which the
 * journal does not wait for.  The journal lives in a temporary directory
 * under DIR (default /tmp: where it is, tmpfs or a disk, is what a site's
 * spool.directory is).
 *
 *   bench-journal [SECONDS] [DIR]   (make bench)
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "spool.h"

#define ROUNDS 5

static struct store_quarantine sample(char *raw, size_t len)
{
	for (size_t i = 0; i < len; i++)
		raw[i] = (char)('a' + i % 26);
	memcpy(raw, "Subject: sorry\r\n\r\n", 18);
	struct store_quarantine q = fixture_hold("0123456789abcdef0123456789abcdef0123456789abcdef");
	q.score = 12;
	q.findings_json = "{\"findings\":[{\"rule\":\"blame-third-party\",\"start\":0,\"end\":4}]}";
	q.new_text = "Sorry, the courier lost it.";
	fixture_copy(&q, raw, len);
	return q;
}

/* Microseconds per hold journaled (emptied after every CLEAR_EVERY holds)
 * over about SECONDS. */
static double journal_round(struct spool_journal *j, const struct store_quarantine *q, double seconds,
                            int clear_every)
{
	char *err = NULL;
	gint64 start = g_get_monotonic_time(), until = start + (gint64)(seconds * G_USEC_PER_SEC);
	long n = 0;
	while (g_get_monotonic_time() < until) {
		GString *line = spool_hold_line(q);
		if (!spool_journal_write(j, line, &err)) {
			fprintf(stderr, "bench-journal: %s\n", err);
			exit(1);
		}
		g_string_free(line, TRUE);
		if (++n % clear_every == 0 && !spool_journal_clear(j, &err)) {
			fprintf(stderr, "bench-journal: %s\n", err);
			exit(1);
		}
	}
	spool_journal_clear(j, &err);
	return (double)(g_get_monotonic_time() - start) / (double)n;
}

/* Microseconds per spool append of Q (write + fdatasync). */
static double spool_round(struct spool *sp, const struct store_quarantine *q, double seconds)
{
	char *err = NULL;
	gint64 start = g_get_monotonic_time(), until = start + (gint64)(seconds * G_USEC_PER_SEC);
	long n = 0;
	while (g_get_monotonic_time() < until && n < 2000) {
		if (!spool_hold(sp, q, NULL, &err)) {
			fprintf(stderr, "bench-journal: %s\n", err);
			exit(1);
		}
		n++;
	}
	double us = (double)(g_get_monotonic_time() - start) / (double)n;
	g_unlink(spool_path(sp));
	return us;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3;
	const char *where = argc > 2 ? argv[2] : g_get_tmp_dir();
	char *tmpl = g_build_filename(where, "apology-bench-journal-XXXXXX", NULL);
	char *dir = g_mkdtemp(tmpl);
	if (dir == NULL || seconds <= 0) {
		fprintf(stderr, "usage: bench-journal [SECONDS] [DIR]\n");
		return 2;
	}
	struct spool *sp = spool_new(dir, 1LL << 30);
	char *err = NULL;
	struct spool_journal *j = spool_journal_new(sp, &err);
	if (j == NULL) {
		fprintf(stderr, "bench-journal: %s\n", err);
		return 1;
	}
	static const size_t sizes[] = {15 * 1024, 200 * 1024};
	printf("journal of holds (%s): wall time per hold on the mail path, best of %d rounds\n", dir, ROUNDS);
	double slice = seconds / (3.0 * ROUNDS * G_N_ELEMENTS(sizes));
	for (size_t s = 0; s < G_N_ELEMENTS(sizes); s++) {
		char *raw = g_malloc(sizes[s]);
		struct store_quarantine q = sample(raw, sizes[s]);
		double each = 1e9, batch = 1e9, synced = 1e9;
		for (int r = 0; r < ROUNDS; r++) {
			each = MIN(each, journal_round(j, &q, slice, 1));
			batch = MIN(batch, journal_round(j, &q, slice, 100));
			synced = MIN(synced, spool_round(sp, &q, slice));
		}
		printf("  %3zu KB reply: %6.1f us emptied after each, %6.1f us emptied after 100; "
		       "a spool append (fdatasync) %7.1f us\n",
		       sizes[s] / 1024, each, batch, synced);
		g_free(raw);
	}
	spool_journal_free(j);
	spool_free(sp);
	g_rmdir(dir);
	g_free(tmpl);
	return 0;
}
