/*
 * bench_engine.c - engine throughput on one core, reported as ratios against
 * baselines measured in the same run (these machines are noisy):
 *
 *   1. apology_check() on a typical 15 KB reply and on a 200 KB reply,
 *      against a naive model: GMime parse + decode, then 33 caseless UTF-8
 *      PCRE2 regexes run one after the other over the text.
 *   2. The same engine with ten times the phrases in the policy.
 *   3. Policy compile time, the models' load time and size, and peak memory
 *      per message.
 *
 * usage: bench-engine POLICY.yaml [seconds-per-measure]
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <fcntl.h>
#include <gmime/gmime.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "classifier.h"
#include "decision.h"
#include "encoder.h"
#include "policy.h"

/*
 * Heap accounting for "memory per message": this program's malloc family
 * wraps glibc's and keeps the bytes in use and their peak.
 */
#include <malloc.h>
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);
extern void __libc_free(void *p);

static long heap_now, heap_peak;

static void *counted(void *p)
{
	if (p) {
		long n = (long)malloc_usable_size(p);
		long now = __atomic_add_fetch(&heap_now, n, __ATOMIC_RELAXED);
		if (now > heap_peak)
			heap_peak = now;
	}
	return p;
}

static void uncount(void *p)
{
	if (p)
		__atomic_sub_fetch(&heap_now, (long)malloc_usable_size(p), __ATOMIC_RELAXED);
}

void *malloc(size_t n)
{
	return counted(__libc_malloc(n));
}

void *calloc(size_t n, size_t m)
{
	return counted(__libc_calloc(n, m));
}

void *realloc(void *p, size_t n)
{
	uncount(p);
	return counted(__libc_realloc(p, n));
}

void free(void *p)
{
	uncount(p);
	__libc_free(p);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	void *p = counted(__libc_memalign(align, n));
	if (p == NULL)
		return 12; /* ENOMEM */
	*out = p;
	return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
	return counted(__libc_memalign(align, n));
}

void *memalign(size_t align, size_t n)
{
	return counted(__libc_memalign(align, n));
}

/* CPU time of this thread: time lost to other processes on a busy machine
 * does not count against the engine. */
static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static double process_cpu_s(void)
{
	return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static double now_s(void)
{
	return clock_s(CLOCK_THREAD_CPUTIME_ID);
}

static const char *const reply_lines[] = {
    "I'm sorry we sent you last month's figures again; that is on me, and I should have",
    "checked the export before it went out. The corrected report is attached, and the",
    "dashboard will be updated by 3 pm today. From now on a second person checks every",
    "report before it leaves us. I'll call you at 4 pm to walk you through the numbers.",
};

static const char *const history_lines[] = {
    "The report you sent on Monday still has last month's figures. This is the second",
    "time this quarter and we were supposed to present it to our board this morning.",
    "Why does this keep happening? Please make sure the regional split is included and",
    "that the totals match the invoice we received last week for the campaign work.",
    "Our marketing team has been asking about the conversion numbers since Friday and",
    "I had nothing to give them. I need a clear answer about what went wrong here.",
};

/* A realistic reply: new text, then nested quoted history to SIZE bytes,
 * as multipart/alternative with a plain and an HTML part. */
static char *make_reply(size_t size)
{
	GString *plain = g_string_new("Hi Ann,\n\n");
	for (size_t i = 0; i < G_N_ELEMENTS(reply_lines); i++)
		g_string_append_printf(plain, "%s\n", reply_lines[i]);
	g_string_append(plain, "\nBest regards,\nSam Reed\nAccount Director\n\n");
	int level = 1;
	while (plain->len < size / 2) {
		g_string_append_printf(
		    plain, "On Mon, 2 Mar 2026 at 09:%02d, Ann Client <ann@client.example> wrote:\n",
		    level % 60);
		for (int rep = 0; rep < 3; rep++)
			for (size_t i = 0; i < G_N_ELEMENTS(history_lines); i++) {
				for (int k = 0; k < level && k < 6; k++)
					g_string_append(plain, "> ");
				g_string_append_printf(plain, "%s\n", history_lines[i]);
			}
		level++;
	}
	GString *html = g_string_new("<html><body><div>");
	const char *p = plain->str;
	while (*p && html->len + plain->len < size - 600) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		g_string_append(html, "<div>");
		g_string_append_len(html, p, (gssize)n);
		g_string_append(html, "</div>\n");
		p += n + (nl ? 1 : 0);
	}
	g_string_append(html, "</div></body></html>\n");
	GString *m =
	    g_string_new("From: Sam Reed <sam@brightlane.example>\nTo: Ann Client <ann@client.example>\n"
	                 "Subject: Re: Monthly report still wrong\nDate: Tue, 03 Mar 2026 10:00:00 +0000\n"
	                 "Message-ID: <bench@brightlane.example>\nMIME-Version: 1.0\n"
	                 "Content-Type: multipart/alternative; boundary=\"b1\"\n\n--b1\n"
	                 "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n");
	g_string_append(m, plain->str);
	g_string_append(
	    m, "\n--b1\nContent-Type: text/html; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n");
	g_string_append(m, html->str);
	g_string_append(m, "\n--b1--\n");
	g_string_free(plain, TRUE);
	g_string_free(html, TRUE);
	return g_string_free(m, FALSE);
}

/* ---- the naive model ---- */

static const char *const naive_patterns[33] = {
    "\\bsorry\\b",
    "\\bapologi[sz]e",
    "\\bapologies\\b",
    "\\bregret",
    "sorry if",
    "any inconvenience",
    "sorry to hear",
    "sorry,? but",
    "\\bthey\\b",
    "the courier",
    "the system",
    "the warehouse",
    "beyond our control",
    "our policy",
    "nothing (i|we) can do",
    "hands are tied",
    "swamped",
    "you should have",
    "per my last email",
    "as previously stated",
    "you approved",
    "that'?s on (me|us)",
    "our (mistake|fault)",
    "(we|i) should have",
    "refund",
    "will be with you by",
    "looking into it",
    "keep you posted",
    "happen again",
    "going forward",
    "which browser",
    "call you",
    "feel terrible",
};

struct naive {
	pcre2_code *code[33];
	pcre2_match_data *md;
};

static void naive_init(struct naive *n)
{
	for (int i = 0; i < 33; i++) {
		int ec;
		PCRE2_SIZE eo;
		n->code[i] = pcre2_compile((PCRE2_SPTR)naive_patterns[i], PCRE2_ZERO_TERMINATED,
		                           PCRE2_CASELESS | PCRE2_UTF, &ec, &eo, NULL);
		if (n->code[i] == NULL)
			abort();
		pcre2_jit_compile(n->code[i], PCRE2_JIT_COMPLETE);
	}
	n->md = pcre2_match_data_create(4, NULL);
}

static void naive_free(struct naive *n)
{
	for (int i = 0; i < 33; i++)
		pcre2_code_free(n->code[i]);
	pcre2_match_data_free(n->md);
}

static unsigned naive_text(GMimeObject *obj, GString *out)
{
	if (GMIME_IS_MULTIPART(obj)) {
		int c = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
		for (int i = 0; i < c; i++)
			naive_text(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), out);
	} else if (GMIME_IS_TEXT_PART(obj)) {
		char *t = g_mime_text_part_get_text(GMIME_TEXT_PART(obj));
		if (t)
			g_string_append(out, t);
		g_free(t);
	}
	return (unsigned)out->len;
}

static unsigned naive_check(struct naive *n, const char *data, size_t len)
{
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(data, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(st);
	GMimeMessage *m = g_mime_parser_construct_message(parser, NULL);
	GString *text = g_string_new(NULL);
	unsigned hits = 0;
	if (m) {
		naive_text(g_mime_message_get_mime_part(m), text);
		for (int i = 0; i < 33; i++) {
			PCRE2_SIZE off = 0;
			while (pcre2_match(n->code[i], (PCRE2_SPTR)text->str, text->len, off, 0, n->md,
			                   NULL) > 0) {
				hits++;
				off = pcre2_get_ovector_pointer(n->md)[1];
			}
		}
		g_object_unref(m);
	}
	g_string_free(text, TRUE);
	g_object_unref(parser);
	g_object_unref(st);
	return hits;
}

/* ---- measuring ---- */

typedef unsigned (*check_fn)(void *arg, const char *data, size_t len);

static unsigned engine_check(void *arg, const char *data, size_t len)
{
	struct decision d;
	apology_check(arg, data, len, NULL, &d);
	unsigned v = d.findings->len + (unsigned)d.verdict;
	decision_clear(&d);
	return v;
}

static unsigned naive_fn(void *arg, const char *data, size_t len)
{
	return naive_check(arg, data, len);
}

/* One round: messages per CPU-second over about SECONDS. */
static double round_rate(check_fn fn, void *arg, const char *data, size_t len, double seconds)
{
	volatile unsigned sink = 0;
	unsigned n = 0;
	double t0 = now_s(), w0 = wall_s(), t;
	do {
		for (int k = 0; k < 10; k++)
			sink += fn(arg, data, len);
		n += 10;
		t = now_s();
	} while (t - t0 < seconds && wall_s() - w0 < seconds * 4);
	(void)sink;
	return n / (t - t0);
}

/* The contenders take turns, five rounds each, so that a busy spell on the
 * machine hits all of them; each keeps its best round. */
struct contender {
	check_fn fn;
	void *arg;
	double best;
};

static void race(struct contender *c, int n, const char *data, size_t len, double seconds)
{
	for (int i = 0; i < n; i++)
		c[i].best = 0;
	for (int round = 0; round < 5; round++)
		for (int i = 0; i < n; i++) {
			double r = round_rate(c[i].fn, c[i].arg, data, len, seconds / 5);
			if (r > c[i].best)
				c[i].best = r;
		}
}

/* Peak heap above the resting level while checking one message (after a
 * warm-up run of the same message, so one-time library set-up is excluded). */
static long peak_kb(struct policy *pol, const char *data, size_t len)
{
	engine_check(pol, data, len);
	long base = heap_now;
	heap_peak = base;
	engine_check(pol, data, len);
	return (heap_peak - base + 1023) / 1024;
}

/* The shipped policy with synthetic phrases added to reach FACTOR x patterns. */
static char *scaled_policy(const char *path, unsigned base_patterns, unsigned factor)
{
	char *text;
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return NULL;
	GString *y = g_string_new(text);
	g_free(text);
	char *at = strstr(y->str, "  small-imposition: [");
	if (at == NULL)
		return g_string_free(y, TRUE), NULL;
	static const char *const words[] = {"amber", "basalt", "cobalt", "delta",  "ember",
	                                    "fjord", "garnet", "harbor", "indigo", "jasper",
	                                    "kelp",  "lumen",  "marble", "nectar"};
	GString *extra = g_string_new(NULL);
	unsigned want = base_patterns * (factor - 1);
	for (unsigned i = 0; i < want; i++)
		g_string_append_printf(extra, "\"%s %s %u\", ", words[i % 14], words[(i / 14) % 14], i);
	g_string_insert(y, (gssize)(at - y->str) + (gssize)strlen("  small-imposition: ["), extra->str);
	g_string_free(extra, TRUE);
	return g_string_free(y, FALSE);
}

/* MEASURE(PATH) run in a child process, whose memory is new, as a new
 * process's is: its milliseconds, or -1 when it cannot be run. */
static double in_child(double (*measure)(const char *path), const char *path)
{
	int fds[2];
	if (pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		double ms = measure(path);
		ssize_t w = write(fds[1], &ms, sizeof ms);
		_exit(w == sizeof ms ? 0 : 1); /* the child's memory goes with it */
	}
	close(fds[1]);
	double ms = -1;
	if (pid < 0 || read(fds[0], &ms, sizeof ms) != sizeof ms)
		ms = -1;
	close(fds[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return ms;
}

/* The model file PATH loaded with the file first dropped from the page
 * cache (POSIX_FADV_DONTNEED: a file with dirty pages may stay), read in
 * 64 KB pieces as the policy loader reads it, so that the time includes the
 * disk and every first touch of memory: wall milliseconds, or -1. */
static double cold_read_ms(const char *path)
{
	double ms = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0) {
		double t0 = wall_s();
		struct classifier_reader *r = classifier_reader_new(path);
		static char buf[64 * 1024];
		ssize_t n;
		while ((n = read(fd, buf, sizeof buf)) > 0)
			classifier_reader_feed(r, buf, (size_t)n);
		char *err = NULL;
		struct classifier *m = classifier_reader_finish(r, &err);
		if (m != NULL && n == 0)
			ms = (wall_s() - t0) * 1000;
	}
	return ms; /* what it allocated goes with the child */
}

/* The sentence encoder at PATH loaded, the file in the page cache: wall
 * milliseconds, or -1. */
static double encoder_read_ms(const char *path)
{
	double t0 = wall_s();
	return encoder_load(path, NULL) != NULL ? (wall_s() - t0) * 1000 : -1;
}

static gint cmp_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Load time and memory of the models beside the policy (the part of the
 * policy compile above that reads them): warm, parsed from memory in this
 * process, CPU time; and cold (cold_read_ms() in a child). */
static void model_load(const char *policy_path)
{
	char *dir = g_path_get_dirname(policy_path);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free); /* every *.model there */
	GDir *d = g_dir_open(dir, 0, NULL);
	for (const char *name; d && (name = g_dir_read_name(d)) != NULL;)
		if (g_str_has_suffix(name, ".model"))
			g_ptr_array_add(names, g_strdup(name));
	if (d)
		g_dir_close(d);
	g_ptr_array_sort(names, cmp_names);
	for (guint i = 0; i < names->len; i++) {
		const char *name = g_ptr_array_index(names, i);
		char *path = g_build_filename(dir, name, NULL), *data = NULL, *err = NULL;
		gsize len = 0;
		if (g_file_get_contents(path, &data, &len, NULL)) {
			double t0 = now_s();
			struct classifier *m = classifier_parse(path, data, len, &err);
			double ms = (now_s() - t0) * 1000;
			t0 = now_s();
			enum classifier_digest digest = classifier_digest_check(data, len);
			double check_ms = (now_s() - t0) * 1000;
			if (m) {
				printf("model load: %s %.1f ms warm, %.1f ms cold, %zu KB of weights (target "
				       "< 50 ms)",
				       name, ms, in_child(cold_read_ms, path),
				       ((size_t)1 << m->bits) * m->n_classes * sizeof(float) / 1024);
				printf("; digest checked in %.1f ms, %s (policy check, daemon start and "
				       "reload)\n",
				       check_ms,
				       digest == CLASSIFIER_DIGEST_SAME ? "as its version names"
				                                        : "NOT as named");
			}
			classifier_free(m);
			g_free(err);
		}
		g_free(data);
		g_free(path);
	}
	g_ptr_array_unref(names);
	/* the sentence encoder: read whole into memory of its own (not
	 * parsed); its vocabulary is indexed */
	char *enc_path = g_build_filename(dir, "default-encoder.enc", NULL);
	double t0 = wall_s();
	struct encoder *enc = encoder_load(enc_path, NULL);
	double ms = (wall_s() - t0) * 1000;
	if (enc) {
		struct stat st;
		long long mb = stat(enc_path, &st) == 0 ? (long long)st.st_size >> 20 : -1LL;
		printf("model load: default-encoder.enc %.1f ms warm in a new process (a start), ",
		       in_child(encoder_read_ms, enc_path));
		printf("%.1f ms in this one beside the policy's own copy (a reload of a changed file; ", ms);
		printf("an unchanged one is shared); %lld MB read into the policy's own memory (target < 50 "
		       "ms)\n",
		       mb);
		/* the memory one call takes, at the most tokens the encoder reads */
		GString *longest = g_string_new(NULL);
		while (longest->len < 4096)
			g_string_append(longest,
			                "The report you sent on Monday still has last month's figures. ");
		float *emb = g_new(float, encoder_dim(enc));
		struct encoder_stats es = {0};
		if (encoder_embed_stats(enc, longest->str, longest->len, emb, &es) == 0)
			printf("encoder scratch per text: %zu KB at %zu tokens (freed after each call)\n",
			       es.scratch_bytes / 1024, es.n_tokens);
		g_free(emb);
		g_string_free(longest, TRUE);
		encoder_free(enc);
	}
	g_free(enc_path);
	g_free(dir);
}

/* A short reply to a complaint the gate alone is unsure of, so the sentence
 * encoder reads it (the few replies that pay for it): the thread of
 * tests/e2e/msgs/reply-near-miss.eml. */
static char *make_unsure_reply(void)
{
	return g_strdup("From: Sam Reed <sam@brightlane.example>\nTo: Ann Client <ann@client.example>\n"
	                "Subject: Re: Invoice\nDate: Tue, 03 Mar 2026 10:00:00 +0000\n"
	                "Message-ID: <bench-unsure@brightlane.example>\nMIME-Version: 1.0\n"
	                "Content-Type: text/plain; charset=UTF-8\n\nHi Ann,\n\nGot it, I will check with "
	                "finance.\n\nBest regards,\nSam Reed\n\nOn Mon, 2 Mar 2026 at 09:00, Ann Client "
	                "<ann@client.example> wrote:\n> Sam, the February invoice is a bit higher than I "
	                "expected.\n> Can you tell me why?\n");
}

/* A reply of about SIZE bytes whose every sentence is a phrase's hit, an
 * exception ("you should have received") beside an apology: the densest
 * text found for the steps that compare hits with hits, where a quadratic
 * one shows first (one was: the exceptions, 2026-12-07). */
static char *make_dense_reply(size_t size)
{
	GString *m =
	    g_string_new("From: Sam Reed <sam@brightlane.example>\nTo: Ann Client <ann@client.example>\n"
	                 "Subject: Re: Late delivery\nDate: Tue, 03 Mar 2026 10:00:00 +0000\n"
	                 "Message-ID: <bench-dense@brightlane.example>\nMIME-Version: 1.0\n"
	                 "Content-Type: text/plain; charset=UTF-8\n\n");
	while (m->len < size)
		g_string_append(m, "You should have received it by now and I am sorry. ");
	g_string_append_c(m, '\n');
	return g_string_free(m, FALSE);
}

/* The sentence model, to explain a finding with. */
struct explainer {
	struct classifier *m;
	unsigned cls;
};

static unsigned explain_fn(void *arg, const char *data, size_t len)
{
	const struct explainer *x = arg;
	size_t a, b;
	return classifier_explain(x->m, data, len, x->cls, &a, &b) ? (unsigned)b : 0;
}

/* One sentence of about SIZE bytes of distinct made-up words: every word
 * and pair a feature of its own, the most a learned finding's explanation
 * (the words that weighed most) has to weigh. */
static char *make_distinct_words(size_t size)
{
	GString *t = g_string_new(NULL);
	for (unsigned i = 0; t->len < size; i++) {
		for (unsigned v = i + 1; v; v /= 20)
			g_string_append_c(t, "bcdfghjklmnpqrstvwxz"[v % 20]);
		g_string_append(t, "o ");
	}
	return g_string_free(t, FALSE);
}

/* What explaining one learned finding costs as its sentence grows: time per
 * byte at SIZE against a quarter of it (1 linear, 4 quadratic; it was
 * quadratic in the sentence's features until 2026-12-07: a 1.2 MB reply
 * took minutes). */
static void explain_scaling(const char *policy_path, size_t size, double secs)
{
	char *dir = g_path_get_dirname(policy_path);
	char *path = g_build_filename(dir, "default-sentences.model", NULL), *data = NULL, *err = NULL;
	gsize len = 0;
	struct explainer x = {0};
	if (g_file_get_contents(path, &data, &len, NULL))
		x.m = classifier_parse(path, data, len, &err);
	if (x.m != NULL) {
		int c = classifier_class(x.m, "excuse");
		x.cls = c > 0 ? (unsigned)c : 0;
		char *whole = make_distinct_words(size), *quarter = make_distinct_words(size / 4);
		struct contender u[2] = {{explain_fn, &x, 0}, {explain_fn, &x, 0}};
		race(&u[0], 1, whole, strlen(whole), secs);
		race(&u[1], 1, quarter, strlen(quarter), secs);
		printf("explaining a learned finding in one sentence of %zu KB of distinct words: %.2f ms; "
		       "time per "
		       "byte against a quarter as long %.2f (target < 1.5)\n",
		       size / 1024, 1000 / u[0].best,
		       (u[1].best * (double)strlen(quarter)) / (u[0].best * (double)strlen(whole)));
		g_free(whole);
		g_free(quarter);
		classifier_free(x.m);
	}
	g_free(err);
	g_free(data);
	g_free(path);
	g_free(dir);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench-engine POLICY.yaml [seconds]\n");
		return 64;
	}
	if (strcmp(argv[1], "--sample") == 0 && argc > 2) {
		/* bench-engine --sample KB: print the synthetic reply, for profiling */
		char *msg = make_reply((size_t)atoi(argv[2]) * 1024);
		fputs(msg, stdout);
		g_free(msg);
		return 0;
	}
	double secs = argc > 2 ? atof(argv[2]) : 3.0;
	message_library_init();
	char *err = NULL;
	/* the load reads the models in a thread of its own while it compiles
	 * the phrases: the wall clock is what a start or a reload waits, the
	 * process's CPU time the work done */
	double w0 = wall_s(), c0 = process_cpu_s();
	struct policy *pol = policy_load(argv[1], &err);
	double compile_ms = (wall_s() - w0) * 1000, compile_cpu_ms = (process_cpu_s() - c0) * 1000;
	if (pol == NULL) {
		fprintf(stderr, "%s", err);
		return 78;
	}
	/* a reload with every file unchanged: the sentence encoder is shared */
	w0 = wall_s();
	struct policy *again = policy_reload(argv[1], pol, &err);
	double reload_ms = (wall_s() - w0) * 1000;
	if (again == NULL) {
		fprintf(stderr, "%s", err);
		return 78;
	}
	policy_unref(again);
	unsigned npat = policy_pattern_count(pol);
	char *big_yaml = scaled_policy(argv[1], npat, 10);
	w0 = wall_s();
	/* named like the policy, so its models are found beside it */
	struct policy *pol10 =
	    big_yaml ? policy_load_string(argv[1], big_yaml, strlen(big_yaml), &err) : NULL;
	double compile10_ms = (wall_s() - w0) * 1000;
	if (pol10 == NULL) {
		fprintf(stderr, "cannot build the 10x policy: %s\n", err ? err : "");
		return 70;
	}
	struct naive naive;
	naive_init(&naive);

	printf("engine benchmark (%s matcher), one core, CPU time, best of 5 interleaved rounds\n",
	       policy_matcher_name());
	printf("policy compile: %.1f ms for %u patterns (wall clock; %.1f ms of CPU over its two threads); "
	       "%.1f ms for %u patterns (target < 50 ms)\n",
	       compile_ms, npat, compile_cpu_ms, compile10_ms, policy_pattern_count(pol10));
	printf(
	    "policy reload, its files unchanged: %.1f ms (wall clock; the sentence encoder shared with the "
	    "policy it replaces, not read again)\n",
	    reload_ms);
	model_load(argv[1]);
	size_t sizes[2] = {15 * 1024, 200 * 1024};
	int failed = 0;
	for (int s = 0; s < 2; s++) {
		char *msg = make_reply(sizes[s]);
		size_t len = strlen(msg);
		struct contender c[3] = {
		    {naive_fn, &naive, 0}, {engine_check, pol, 0}, {engine_check, pol10, 0}};
		race(c, 3, msg, len, secs);
		double naive_r = c[0].best, eng = c[1].best, eng10 = c[2].best;
		long kb = peak_kb(pol, msg, len);
		printf("\n%zu KB reply (%zu bytes):\n", sizes[s] / 1024, len);
		printf("  naive GMime + 33 PCRE2: %9.0f msg/s  %7.1f MB/s\n", naive_r, naive_r * len / 1e6);
		printf("  engine:                 %9.0f msg/s  %7.1f MB/s  ratio to naive %.2f\n", eng,
		       eng * len / 1e6, eng / naive_r);
		printf("  engine, 10x phrases:    %9.0f msg/s  time ratio to 1x %.2f (target < 1.30)\n",
		       eng10, eng / eng10);
		printf("  peak heap while checking one message: %ld KB (%.1f x the message)\n", kb,
		       kb * 1024.0 / (double)len);
		if (s == 0) {
			/* The 10,000/s target was set where the naive model does about 3,800/s. */
			double scaled = eng / naive_r * 3800;
			printf("  engine scaled to the reference machine (naive = 3,800/s): %.0f msg/s "
			       "(target >= 10,000)\n",
			       scaled);
		}
		if (s == 0) {
			char *unsure = make_unsure_reply();
			struct contender u[1] = {{engine_check, pol, 0}};
			race(u, 1, unsure, strlen(unsure), secs);
			struct decision d;
			apology_check(pol, unsure, strlen(unsure), NULL, &d);
			printf(
			    "  a reply to a complaint the gate is unsure of (the sentence encoder reads it; "
			    "its margin %+.1f): %.0f msg/s, time ratio to the 15 KB reply %.0f\n",
			    d.complaint.score, u[0].best, eng / u[0].best);
			decision_clear(&d);
			g_free(unsure);
		}
		if (s == 1) {
			/* time per byte at this size against a quarter of it: 1
			 * when every step is linear, 4 when one is quadratic */
			char *dense = make_dense_reply(len), *quarter = make_dense_reply(len / 4);
			size_t dl = strlen(dense), ql = strlen(quarter);
			struct contender u[2] = {{engine_check, pol, 0}, {engine_check, pol, 0}};
			race(&u[0], 1, dense, dl, secs);
			race(&u[1], 1, quarter, ql, secs);
			printf("  a reply as long whose every sentence is a hit (exceptions among them): "
			       "%.0f msg/s; "
			       "time per byte against a quarter as long %.2f (target < 1.5)\n",
			       u[0].best, (u[1].best * (double)ql) / (u[0].best * (double)dl));
			g_free(dense);
			g_free(quarter);
		}
		g_free(msg);
	}
	printf("\n");
	explain_scaling(argv[1], 64 * 1024, secs);
	/* The bound: text is capped at max-text-bytes; a message at the cap. */
	char *huge = make_reply(2 * 1024 * 1024 - 4096);
	long hk = peak_kb(pol, huge, strlen(huge));
	printf("\n%zu KB reply (at the 2 MB text cap): peak heap %ld KB (%.1f x the message)\n",
	       strlen(huge) / 1024, hk, hk * 1024.0 / (double)strlen(huge));
	g_free(huge);
	naive_free(&naive);
	policy_unref(pol);
	policy_unref(pol10);
	g_free(big_yaml);
	return failed;
}
