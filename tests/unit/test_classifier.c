/*
 * test_classifier.c - the learned classifiers' machinery (classifier.c):
 * features read text as the phrases do, model files are validated, scores
 * and pooling are what the file says, explanations point at the words that
 * weighed; and a policy refuses a model it cannot read or that lacks a class.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "classifier.h"
#include "policy.h"

static GArray *feats_of(const char *text)
{
	GArray *f = g_array_new(FALSE, FALSE, sizeof(guint32));
	classifier_features(text, strlen(text), 12, f, NULL);
	return f;
}

static int cmp_u32(gconstpointer a, gconstpointer b)
{
	guint32 x = *(const guint32 *)a, y = *(const guint32 *)b;
	return x < y ? -1 : x > y;
}

/* The same set of features (order aside). */
static bool same_feats(const char *a, const char *b)
{
	GArray *x = feats_of(a), *y = feats_of(b);
	g_array_sort(x, cmp_u32);
	g_array_sort(y, cmp_u32);
	bool same = x->len == y->len && memcmp(x->data, y->data, x->len * sizeof(guint32)) == 0;
	g_array_free(x, TRUE);
	g_array_free(y, TRUE);
	return same;
}

/* Case, curly apostrophes and dropped apostrophes read alike; words and
 * shouting do not. */
static void test_features_normalised(void **state)
{
	(void)state;
	assert_true(same_feats("We Don't know yet.", "we dont know yet."));
	assert_false(same_feats("We DON'T know yet.", "we dont know yet.")); /* shouting is a feature */
	assert_true(same_feats("It\xe2\x80\x99s late", "its late"));
	assert_false(same_feats("the courier lost it", "the courier found it"));
	assert_true(same_feats("order 4471 is late", "order 9 is late")); /* numbers are one word */
	GArray *f = g_array_new(FALSE, FALSE, sizeof(guint32));
	GArray *w = g_array_new(FALSE, FALSE, sizeof(guint32));
	assert_int_equal(classifier_features("Sorry, the courier lost it.", 27, 12, f, w), 5);
	assert_int_equal(w->len, 2 * f->len);
	for (guint i = 0; i < f->len; i++) /* unique */
		for (guint k = i + 1; k < f->len; k++)
			assert_true(g_array_index(f, guint32, i) != g_array_index(f, guint32, k));
	assert_int_equal(classifier_features("...", 3, 12, f, w), 0);
	g_array_free(f, TRUE);
	g_array_free(w, TRUE);
}

/* A two-class model whose only weights sit on the features of "courier". */
static char *courier_model(void)
{
	GArray *f = g_array_new(FALSE, FALSE, sizeof(guint32));
	classifier_features("courier", 7, 10, f, NULL);
	GString *s = g_string_new("# test\napology-model 1\nname t\nversion 1\nbits 10\nscale 100\n"
	                          "classes blame other\nbias -100 50\nthreshold 0 0\n");
	/* features come in order of appearance: the first is the word itself */
	guint32 word = g_array_index(f, guint32, 0);
	GArray *g = g_array_new(FALSE, FALSE, sizeof(guint32));
	classifier_features("the parcel arrived", 18, 10, g, NULL);
	for (guint k = 0; k < g->len; k++)
		assert_true(g_array_index(g, guint32, k) != word); /* no collision in 2^10 buckets */
	g_string_append_printf(s, "%u 800 -200\nend\n", word);
	g_array_free(f, TRUE);
	g_array_free(g, TRUE);
	return g_string_free(s, FALSE);
}

static void test_parse_and_score(void **state)
{
	(void)state;
	char *text = courier_model(), *err = NULL;
	struct classifier *m = classifier_parse("t.model", text, strlen(text), &err);
	assert_non_null(m);
	assert_int_equal(m->n_classes, 2);
	assert_int_equal(classifier_class(m, "blame"), 0);
	assert_int_equal(classifier_class(m, "nope"), -1);
	float l[CLASSIFIER_MAX_CLASSES];
	GArray *f = g_array_new(FALSE, FALSE, sizeof(guint32));
	classifier_features("the courier lost it", 19, m->bits, f, NULL);
	classifier_score(m, f, l);
	float v = classifier_feature_value(f->len);
	assert_float_equal(l[0], 8.0f * v - 1.0f, 1e-4);
	assert_float_equal(l[1], -2.0f * v + 0.5f, 1e-4);
	classifier_features("the parcel arrived", 18, m->bits, f, NULL);
	classifier_score(m, f, l);
	assert_float_equal(l[0], -1.0f, 1e-6); /* the bias alone */
	/* the words that weighed: "courier" */
	const char *s = "Sorry, the courier lost it.";
	size_t a, b;
	assert_true(classifier_explain(m, s, strlen(s), 0, &a, &b));
	assert_memory_equal(s + a, "courier", 7);
	assert_int_equal(b - a, 7);
	assert_false(classifier_explain(m, "the parcel arrived", 18, 0, &a, &b));
	/* a text read sentence by sentence: the sentence with the courier counts */
	const char *two = "Thanks for your note. The courier lost it. We will see.";
	classifier_score_text(m, two, strlen(two), l);
	assert_true(l[0] > -1.0f);
	classifier_score_text(m, "...", 3, l);
	assert_true(isinf(l[0]) && l[0] < 0);
	/* a file without a pool line pools each class's two highest */
	assert_int_equal(m->pool[0], CLASSIFIER_POOL_DEFAULT);
	assert_int_equal(CLASSIFIER_POOL_DEFAULT, 2);
	classifier_score_text(m, two, strlen(two), l);
	float two_best = l[0];
	g_array_free(f, TRUE);
	classifier_free(m);
	/* with "pool 1 3": blame scores its best sentence alone, above the mean
	 * of its two best; other the mean of all three */
	char *pooled = g_strdup(text);
	char *at = strstr(pooled, "threshold 0 0\n") + strlen("threshold 0 0\n");
	char *with_pool =
	    g_strdup_printf("%.*s# a comment first\n\npool 1 3\n%s", (int)(at - pooled), pooled, at);
	m = classifier_parse("t.model", with_pool, strlen(with_pool), &err);
	assert_non_null(m);
	assert_int_equal(m->pool[0], 1);
	assert_int_equal(m->pool[1], 3);
	assert_null(m->reads); /* a model of words reads no encoder */
	classifier_score_text(m, two, strlen(two), l);
	assert_true(l[0] > two_best + 0.1f);
	float per[3];
	const char *sentence[] = {"Thanks for your note.", "The courier lost it.", "We will see."};
	for (int i = 0; i < 3; i++) {
		float one[CLASSIFIER_MAX_CLASSES];
		GArray *g = g_array_new(FALSE, FALSE, sizeof(guint32));
		classifier_features(sentence[i], strlen(sentence[i]), m->bits, g, NULL);
		classifier_score(m, g, one);
		per[i] = one[1];
		g_array_free(g, TRUE);
	}
	assert_float_equal(l[1], (per[0] + per[1] + per[2]) / 3, 1e-4);
	classifier_free(m);
	g_free(with_pool);
	g_free(pooled);
	g_free(text);
}

static void test_pool(void **state)
{
	(void)state;
	float a[] = {-3, 2, 1, -1};
	assert_float_equal(classifier_pool(a, 4, 2), 1.5f, 1e-6);
	float b[] = {-3, 2, 1, -1};
	assert_float_equal(classifier_pool(b, 4, 3), 2.0f / 3, 1e-6); /* the three highest */
	assert_float_equal(b[0], 2, 0);                               /* ... moved to the front */
	float c[] = {-3, 2, 1, -1};
	assert_float_equal(classifier_pool(c, 4, 1), 2.0f, 1e-6);
	float d[] = {-3, 2};
	assert_float_equal(classifier_pool(d, 2, 3), -0.5f, 1e-6); /* fewer: all */
	float one[] = {-2};
	assert_float_equal(classifier_pool(one, 1, 2), -2.0f, 1e-6);
	assert_true(isinf(classifier_pool(one, 0, 2)));
	/* a short sentence weighs no more than one of CLASSIFIER_MIN_FEATURES */
	assert_float_equal(classifier_feature_value(4), classifier_feature_value(CLASSIFIER_MIN_FEATURES),
	                   1e-6);
	assert_true(classifier_feature_value(64) < classifier_feature_value(16));
}

static void expect_error(const char *text, const char *what)
{
	char *err = NULL;
	struct classifier *m = classifier_parse("bad.model", text, strlen(text), &err);
	assert_null(m);
	assert_non_null(err);
	if (strstr(err, what) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", err, what);
	g_free(err);
}

static void test_bad_models(void **state)
{
	(void)state;
	const char *head = "apology-model 1\nname t\nversion 1\nbits 10\nscale 100\nclasses a b\n";
	/* what follows HEAD, and what its error must say */
	static const struct {
		const char *rest, *error;
	} bad[] = {
	    {"bias 1 2\nthreshold 0 0\n5 1 1\n", "cut short"},
	    {"bias 1 2\nthreshold 0 0\n5000 1 1\nend\n", "out of range"},
	    {"bias 1\nthreshold 0 0\nend\n", "expected 2 integers"},
	    {"bias 1 2\nthreshold 0 0\n5 1 1 1\nend\n", "more than 3 numbers"},
	    /* not "expected pool": the line may be left out */
	    {"bias 1 2\nthreshold 0 0\n", "cut short"},
	    {"bias 1 2\nthreshold 0 0\npool 0 2\nend\n", "pool: expected 1 to 8"},
	    {"bias 1 2\nthreshold 0 0\npool 2 9\nend\n", "pool: expected 1 to 8"},
	    {"bias 1 2\nthreshold 0 0\npool 2\nend\n", "pool: expected 2 integers"},
	    {"bias 1 2\nthreshold 0 0\nreads\nend\n", "reads: expected the name of an encoder"},
	    {"bias 1 2\nthreshold 0 0\nreads   \nend\n", "reads: expected the name of an encoder"},
	    {"bias 1 2\nthreshold 0 0\nreads e\npool 2 2\nend\n", "expected 3 integers"}, /* pool first */
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		char *text = g_strconcat(head, bad[i].rest, NULL);
		expect_error(text, bad[i].error);
		g_free(text);
	}
	expect_error("apology-model 1\nname t\nversion 1\nbits 10\nscale 100\nclasses a b a\n"
	             "bias 1 2 3\nthreshold 0 0 0\nend\n",
	             "classes: \"a\" named twice");
	expect_error("apology-model 2\n", "unknown model format");
	expect_error("apology-model 1\nname t\nversion 1\nbits 40\n", "bits");
	expect_error("", "apology-model");
}

static struct classifier *parse_in_pieces(const char *text, size_t len, size_t piece, char **err)
{
	struct classifier_reader *r = classifier_reader_new("bad.model");
	for (size_t off = 0; off < len; off += piece)
		classifier_reader_feed(r, text + off, MIN(piece, len - off));
	return classifier_reader_finish(r, err);
}

static void assert_same_model(const struct classifier *a, const struct classifier *b)
{
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->version, b->version);
	assert_int_equal(a->bits, b->bits);
	assert_int_equal(a->n_classes, b->n_classes);
	assert_memory_equal(a->bias, b->bias, sizeof a->bias);
	assert_memory_equal(a->threshold, b->threshold, sizeof a->threshold);
	assert_memory_equal(a->pool, b->pool, sizeof a->pool);
	assert_true(g_strcmp0(a->reads, b->reads) == 0);
	assert_memory_equal(a->weights, b->weights, ((size_t)1 << a->bits) * a->n_classes * sizeof(float));
}

static const char head_text[] = "apology-model 1\nname t\nversion 1\n";

/* A model file read in pieces (as policy_load() reads one) is the model
 * read whole, wherever the pieces cut its lines; so are its errors. */
static void test_parse_in_pieces(void **state)
{
	(void)state;
	char *text = courier_model(), *err = NULL;
	size_t len = strlen(text);
	struct classifier *whole = classifier_parse("bad.model", text, len, &err);
	assert_non_null(whole);
	for (size_t piece = 1; piece < 40; piece++) {
		struct classifier *m = parse_in_pieces(text, len, piece, &err);
		assert_non_null(m);
		assert_same_model(whole, m);
		classifier_free(m);
	}
	/* the last line without its newline */
	struct classifier *m = parse_in_pieces(text, len - 1, 3, &err);
	assert_non_null(m);
	assert_same_model(whole, m);
	classifier_free(m);
	classifier_free(whole);

	char *shipped = NULL;
	gsize slen = 0;
	assert_true(g_file_get_contents("policies/default-gate.model", &shipped, &slen, NULL));
	whole = classifier_parse("bad.model", shipped, slen, &err);
	assert_non_null(whole);
	m = parse_in_pieces(shipped, slen, 4093, &err);
	assert_non_null(m);
	assert_same_model(whole, m);
	classifier_free(m);
	classifier_free(whole);
	g_free(shipped);
	/* the encoder's head names the encoder it reads */
	assert_true(g_file_get_contents("policies/default-encoder-head.model", &shipped, &slen, NULL));
	whole = classifier_parse("bad.model", shipped, slen, &err);
	assert_non_null(whole);
	assert_true(g_str_has_prefix(whole->reads, "use-lite "));
	m = parse_in_pieces(shipped, slen, 7, &err);
	assert_non_null(m);
	assert_same_model(whole, m);
	classifier_free(m);
	classifier_free(whole);
	g_free(shipped);

	const char *cut = "apology-model 1\nname t\nversion 1\n# note\n\nbits 10\nscale 100\nclasses a b\n"
	                  "bias 1 2\nthreshold 0 0\n5 1 1\n6 1";
	char *want = NULL;
	assert_null(classifier_parse("bad.model", cut, strlen(cut), &want));
	assert_non_null(strstr(want, "bad.model:12: weights: expected 3 integers"));
	for (size_t piece = 1; piece < 8; piece++) {
		assert_null(parse_in_pieces(cut, strlen(cut), piece, &err));
		assert_string_equal(err, want);
		g_free(err);
	}
	g_free(want);
	/* a line that never ends (/dev/zero, /dev/urandom): refused at the
	 * bound, and the reader says the rest need not be read */
	struct classifier_reader *r = classifier_reader_new("bad.model");
	char *zeros = g_malloc0(4096);
	assert_true(classifier_reader_feed(r, head_text, strlen(head_text)));
	size_t fed = 0;
	while (classifier_reader_feed(r, zeros, 4096))
		assert_true((fed += 4096) <= CLASSIFIER_MAX_LINE);
	assert_null(classifier_reader_finish(r, &err));
	assert_non_null(strstr(err, "bad.model:4: a line of more than"));
	g_free(err);
	g_free(zeros);
	g_free(text);
}

/* The courier model with its version naming the SHA-256 of the lines after
 * the version line, as apology-train writes it; FROM in those lines replaced
 * by TO after the digest was taken, when FROM is not NULL. */
static char *courier_model_digested(const char *from, const char *to)
{
	char *text = courier_model();
	char **parts = g_strsplit(text, "version 1\n", 2);
	assert_non_null(parts[1]);
	char *digest = g_compute_checksum_for_string(G_CHECKSUM_SHA256, parts[1], -1);
	char **cut = from ? g_strsplit(parts[1], from, 2) : NULL;
	if (cut)
		assert_non_null(cut[1]);
	char *body = cut ? g_strconcat(cut[0], to, cut[1], NULL) : g_strdup(parts[1]);
	char *out = g_strdup_printf("%sversion 1 (3 examples, %.12s)\n%s", parts[0], digest, body);
	g_strfreev(cut);
	g_free(body);
	g_free(digest);
	g_strfreev(parts);
	g_free(text);
	return out;
}

/* Whether a model file is what its version names: every line after the
 * version line to "end" counts; a version without a digest names none. */
static void test_digest(void **state)
{
	(void)state;
	static const struct {
		const char *from, *to;
		enum classifier_digest want;
	} edits[] = {
	    {" 800 -200\n", " 801 -200\n", CLASSIFIER_DIGEST_DIFFERS},         /* a weight */
	    {"threshold 0 0\n", "threshold 0 1\n", CLASSIFIER_DIGEST_DIFFERS}, /* a threshold */
	    {"bits 10\n", "# tuned\nbits 10\n", CLASSIFIER_DIGEST_DIFFERS},    /* a comment is an edit too */
	    {"end\n", "end\n# after the end\n", CLASSIFIER_DIGEST_SAME}, /* nothing after "end" is read */
	    {"end\n", "end", CLASSIFIER_DIGEST_SAME},                    /* nor its newline */
	    {"end\n", "", CLASSIFIER_DIGEST_DIFFERS},                    /* a file cut short */
	};
	char *text = courier_model_digested(NULL, NULL);
	assert_int_equal(classifier_digest_check(text, strlen(text)), CLASSIFIER_DIGEST_SAME);
	for (size_t i = 0; i < G_N_ELEMENTS(edits); i++) {
		char *edited = courier_model_digested(edits[i].from, edits[i].to);
		if (classifier_digest_check(edited, strlen(edited)) != edits[i].want)
			print_error("case %zu: %s -> %s\n", i, edits[i].from, edits[i].to);
		assert_int_equal(classifier_digest_check(edited, strlen(edited)), edits[i].want);
		g_free(edited);
	}
	/* versions that name no digest: the lines after them are not taken
	 * for edited */
	char *digest = g_strndup(strstr(text, "examples, ") + strlen("examples, "), 12);
	char *versions[] = {
	    g_strdup("version 1\n"),
	    g_strdup("version\n"), /* nothing after the key */
	    g_strdup_printf("version 1 (3 examples, %s]\n", digest),
	    g_strdup_printf("version 1 (3 examples, %s) 2\n", digest),
	    g_strdup_printf("version 1 (3 examples, %.11s)\n", digest),
	};
	char *line = g_strdup_printf("version 1 (3 examples, %s)\n", digest);
	for (size_t i = 0; i < G_N_ELEMENTS(versions); i++) {
		char **parts = g_strsplit(text, line, 2);
		assert_non_null(parts[1]);
		char *other = g_strconcat(parts[0], versions[i], parts[1], NULL);
		assert_int_equal(classifier_digest_check(other, strlen(other)), CLASSIFIER_DIGEST_NONE);
		g_free(other);
		g_strfreev(parts);
		g_free(versions[i]);
	}
	/* the shipped models (every policies/ *.model), as make train writes them */
	GDir *dir = g_dir_open("policies", 0, NULL);
	assert_non_null(dir);
	unsigned models = 0;
	for (const char *name; (name = g_dir_read_name(dir)) != NULL;) {
		if (!g_str_has_suffix(name, ".model"))
			continue;
		char *path = g_build_filename("policies", name, NULL), *data = NULL;
		gsize len = 0;
		assert_true(g_file_get_contents(path, &data, &len, NULL));
		if (classifier_digest_check(data, len) != CLASSIFIER_DIGEST_SAME)
			fail_msg("%s is not what its version line names", path);
		models++;
		g_free(data);
		g_free(path);
	}
	g_dir_close(dir);
	assert_true(models >= 4); /* gate, gate-text, sentences, encoder-head */
	g_free(line);
	g_free(digest);
	g_free(text);
}

/* classifier_same() tells models that judge differently apart, whatever
 * their name and version lines say: each case edits the courier model once. */
static void test_same(void **state)
{
	(void)state;
	static const struct {
		const char *from, *to;
		bool same;
	} cases[] = {
	    {"name t\nversion 1\n", "name u\nversion 2 (other)\n", true},
	    {"threshold 0 0\n", "threshold 0 0\npool 2 2\n", true}, /* two is the default */
	    {"threshold 0 0\n", "threshold 0 1\n", false},
	    {"threshold 0 0\n", "threshold 0 0\npool 3 2\n", false},
	    /* the encoder a model reads is compared apart (policy_compare) */
	    {"threshold 0 0\n", "threshold 0 0\nreads use-lite 8000-2-512 0123456789abcdef\n", true},
	    {"bias -100 50\n", "bias -100 51\n", false},
	    {" 800 -200\n", " 800 -201\n", false},
	    {"classes blame other\n", "classes blame others\n", false},
	    {"bits 10\n", "bits 11\n", false}, /* its one weight's bucket is below 2^10 */
	};
	char *text = courier_model(), *err = NULL;
	struct classifier *base = classifier_parse("t.model", text, strlen(text), &err);
	assert_non_null(base);
	assert_true(classifier_same(base, base));
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char **parts = g_strsplit(text, cases[i].from, 2);
		assert_non_null(parts[1]);
		char *edited = g_strconcat(parts[0], cases[i].to, parts[1], NULL);
		struct classifier *m = classifier_parse("t.model", edited, strlen(edited), &err);
		assert_non_null(m);
		if (classifier_same(base, m) != cases[i].same)
			print_error("case %zu: %s -> %s\n", i, cases[i].from, cases[i].to);
		assert_int_equal(classifier_same(base, m), cases[i].same);
		assert_int_equal(classifier_same(m, base), cases[i].same);
		classifier_free(m);
		g_free(edited);
		g_strfreev(parts);
	}
	classifier_free(base);
	g_free(text);
}

/* classifier_explain() as it was written first, a pass over every feature
 * for each candidate (quadratic in the features): the reference the
 * bisecting one must agree with, tie for tie. */
static bool explain_reference(const struct classifier *m, const char *text, size_t len, unsigned cls,
                              size_t *start, size_t *end)
{
	GArray *feats = g_array_new(FALSE, FALSE, sizeof(guint32));
	GArray *spans = g_array_new(FALSE, FALSE, sizeof(guint32));
	classifier_features(text, len, m->bits, feats, spans);
	guint n = feats->len;
	const guint32 *sp = (const guint32 *)(void *)spans->data;
	float best = 0;
	guint32 ba = 0, bb = 0;
	for (guint i = 0; i < n; i++) {
		if (sp[2 * i + 1] <= sp[2 * i])
			continue;
		for (guint j = 0; j <= n; j++) {
			guint32 ca = sp[2 * i], cb = sp[2 * i + 1];
			if (j < n) {
				if (!(sp[2 * j] > ca && sp[2 * j] < cb && sp[2 * j + 1] > cb))
					continue;
				cb = sp[2 * j + 1];
			}
			float sum = 0;
			for (guint k = 0; k < n; k++)
				if (sp[2 * k + 1] > sp[2 * k] && sp[2 * k] >= ca && sp[2 * k + 1] <= cb)
					sum += m->weights[(size_t)g_array_index(feats, guint32, k) *
					                      m->n_classes +
					                  cls];
			if (sum > best + 1e-6f || (sum > best - 1e-6f && sum > 0 && cb - ca < bb - ba)) {
				best = sum;
				ba = ca;
				bb = cb;
			}
		}
	}
	g_array_free(feats, TRUE);
	g_array_free(spans, TRUE);
	*start = ba;
	*end = bb;
	return bb > ba;
}

/* The explanation of a finding (the words that weighed most) of the
 * shipped sentence model, on sentences drawn from words its classes weigh,
 * repeated words and punctuation among them: the same span as the
 * reference's for every class. */
static void test_explain_as_reference(void **state)
{
	(void)state;
	char *data = NULL, *err = NULL;
	gsize len = 0;
	assert_true(g_file_get_contents("policies/default-sentences.model", &data, &len, NULL));
	struct classifier *m = classifier_parse("default-sentences.model", data, len, &err);
	assert_non_null(m);
	static const char *const words[] = {
	    "sorry",   "we",      "our",      "the",    "courier", "warehouse", "lost",
	    "it",      "your",    "you",      "should", "have",    "checked",   "delay",
	    "weather", "policy",  "again",    "so",     "very",    "I",         "will",
	    "call",    "fix",     "it's",     "not",    "fault",   "system",    "please",
	    "send",    "invoice", "tomorrow", ",",      ".",       "!",         "unfortunately"};
	GRand *r = g_rand_new_with_seed(7);
	unsigned compared = 0, explained = 0;
	for (int t = 0; t < 300; t++) {
		GString *text = g_string_new(NULL);
		int n = g_rand_int_range(r, 1, 60);
		for (int w = 0; w < n; w++)
			g_string_append_printf(text, "%s ",
			                       words[g_rand_int_range(r, 0, G_N_ELEMENTS(words))]);
		for (unsigned c = 0; c < m->n_classes; c++) {
			size_t a1, b1, a2, b2;
			bool got = classifier_explain(m, text->str, text->len, c, &a1, &b1);
			bool want = explain_reference(m, text->str, text->len, c, &a2, &b2);
			if (got != want || a1 != a2 || b1 != b2)
				fail_msg("class %u on \"%s\": [%zu, %zu) where the reference says [%zu, %zu)",
				         c, text->str, a1, b1, a2, b2);
			compared++;
			explained += got;
		}
		g_string_free(text, TRUE);
	}
	assert_true(explained > compared / 4); /* most found words to name */
	g_rand_free(r);
	classifier_free(m);
	g_free(data);
}

/* A policy names its models beside it; an unreadable one or one without
 * the classes the policy needs is an error, not a silent fallback. */
static void test_policy_models(void **state)
{
	(void)state;
	char *yaml = NULL;
	assert_true(g_file_get_contents("policies/default.yaml", &yaml, NULL, NULL));
	char *err = NULL;
	struct policy *pol = policy_load("policies/default.yaml", &err);
	assert_non_null(pol);
	assert_non_null(policy_model_version(pol, "gate"));
	assert_non_null(policy_model_version(pol, "sentences"));
	policy_unref(pol);

	char *dir = g_dir_make_tmp("test_classifier-XXXXXX", NULL);
	char *path = g_build_filename(dir, "p.yaml", NULL);
	assert_true(g_file_set_contents(path, yaml, -1, NULL));
	pol = policy_load(path, &err);
	assert_null(pol);
	assert_non_null(strstr(err, "models: cannot read"));
	g_free(err);

	char *gate = g_build_filename(dir, "default-gate.model", NULL);
	char *sent = g_build_filename(dir, "default-sentences.model", NULL);
	char *cm = courier_model();
	assert_true(g_file_set_contents(gate, cm, -1, NULL)); /* no "complaint" class */
	g_free(cm);
	char *s = NULL;
	assert_true(g_file_get_contents("policies/default-sentences.model", &s, NULL, NULL));
	assert_true(g_file_set_contents(sent, s, -1, NULL));
	pol = policy_load(path, &err);
	assert_null(pol);
	assert_non_null(strstr(err, "has no class \"complaint\""));
	g_free(err);
	g_free(s);
	/* anything but a regular file is refused at once: a FIFO would block,
	 * /dev/zero never end */
	for (int odd = 0; odd < 2; odd++) {
		g_unlink(gate);
		assert_int_equal(odd ? symlink("/dev/zero", gate) : mkfifo(gate, 0600), 0);
		pol = policy_load(path, &err);
		assert_null(pol);
		if (strstr(err, "not a regular file") == NULL)
			fail_msg("%s", err);
		g_free(err);
	}
	g_unlink(gate);
	g_unlink(sent);
	g_unlink(path);
	g_rmdir(dir);
	g_free(gate);
	g_free(sent);
	g_free(path);
	g_free(dir);
	g_free(yaml);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_features_normalised),
	    cmocka_unit_test(test_parse_and_score),
	    cmocka_unit_test(test_pool),
	    cmocka_unit_test(test_bad_models),
	    cmocka_unit_test(test_parse_in_pieces),
	    cmocka_unit_test(test_same),
	    cmocka_unit_test(test_digest),
	    cmocka_unit_test(test_explain_as_reference),
	    cmocka_unit_test(test_policy_models),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
