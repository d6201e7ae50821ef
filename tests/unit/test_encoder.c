/*
 * test_encoder.c - the sentence encoder (encoder.c) and what the gate does
 * with it: tokens and embeddings are those of the model's own TF.js
 * implementation (tests/unit/data/encoder-ref.txt), a damaged file is an
 * error and never a crash, a policy takes the encoder and its head together
 * or not at all, and the head's say lets a complaint the gate alone misses
 * through while ordinary mail stays ordinary.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "decision.h"
#include "encoder.h"
#include "policy.h"
#include "policy_fixture.h"
#include "policy_priv.h" /* the encoder a policy holds */
#include "thread.h"

#define ENCODER_FILE "policies/default-encoder.enc"

static struct encoder *load(void)
{
	GError *err = NULL;
	struct encoder *enc = encoder_load(ENCODER_FILE, &err);
	if (enc == NULL)
		fail_msg("%s (make downloads it)", err->message);
	return enc;
}

/* Every text of the reference file: its tokens are the JS tokenizer's and
 * its embedding the TF.js model's, to float rounding. */
static void test_reference(void **state)
{
	(void)state;
	struct encoder *enc = load();
	size_t dim = encoder_dim(enc);
	assert_int_equal(dim, 512);
	char *data = NULL;
	assert_true(g_file_get_contents("tests/unit/data/encoder-ref.txt", &data, NULL, NULL));
	gchar **lines = g_strsplit(data, "\n", -1);
	unsigned texts = 0, i = 0;
	while (lines[i] && lines[i][0] == '#')
		i++;
	float *got = g_new(float, dim);
	for (; lines[i] && lines[i][0] && lines[i + 1] && lines[i + 2]; i += 3) {
		/* the text, a JSON string without escapes but \" */
		GString *text = g_string_new(NULL);
		for (const char *p = lines[i] + 1; *p && !(*p == '"' && p[1] == '\0'); p++) {
			if (*p == '\\')
				p++;
			g_string_append_c(text, *p);
		}
		gchar **want_ids = g_strsplit(lines[i + 1], " ", -1);
		int32_t ids[512];
		long n = encoder_tokenize(enc, text->str, text->len, ids, G_N_ELEMENTS(ids));
		assert_int_equal(n, (long)g_strv_length(want_ids));
		for (long k = 0; k < n; k++)
			assert_int_equal(ids[k], atoi(want_ids[k]));
		g_strfreev(want_ids);

		assert_int_equal(encoder_embed(enc, text->str, text->len, got), 0);
		gchar **want = g_strsplit(lines[i + 2], " ", -1);
		assert_int_equal(g_strv_length(want), dim);
		double dot = 0, nw = 0, ng = 0, worst = 0;
		for (size_t k = 0; k < dim; k++) {
			double w = g_ascii_strtod(want[k], NULL);
			dot += w * got[k];
			nw += w * w;
			ng += (double)got[k] * got[k];
			worst = fmax(worst, fabs(w - got[k]));
		}
		if (worst > 1e-4 || dot / sqrt(nw * ng) < 0.9999)
			fail_msg("\"%s\": cosine %.6f, largest difference %.2g", text->str,
			         dot / sqrt(nw * ng), worst);
		g_strfreev(want);
		g_string_free(text, TRUE);
		texts++;
	}
	assert_true(texts >= 8);
	g_free(got);
	g_strfreev(lines);
	g_free(data);
	encoder_free(enc);
}

/* A text longer than the model reads gives the embedding of its first
 * tokens, whatever follows them. */
static void test_long_text(void **state)
{
	(void)state;
	struct encoder *enc = load();
	size_t dim = encoder_dim(enc), cap = encoder_max_tokens(enc);
	GString *a = g_string_new(NULL);
	while (a->len < cap * 8)
		g_string_append(a, "The courier left the parcel at the wrong door again. ");
	GString *b = g_string_new(a->str);
	g_string_append(a, "Everything else was fine.");
	g_string_append(b, "I want a refund today or I cancel the account.");
	float *x = g_new(float, dim), *y = g_new(float, dim);
	assert_int_equal(encoder_embed(enc, a->str, a->len, x), 0);
	assert_int_equal(encoder_embed(enc, b->str, b->len, y), 0);
	assert_memory_equal(x, y, dim * sizeof *x);
	/* invalid UTF-8 is read, not refused */
	assert_int_equal(encoder_embed(enc, "caf\xe9 \xff\xfe late again", 17, x), 0);
	g_free(x);
	g_free(y);
	g_string_free(a, TRUE);
	g_string_free(b, TRUE);
	encoder_free(enc);
}

/* A text with no space for more than the longest chunk (64 KB) is cut
 * between characters, never inside one: with an odd offset the byte at the
 * cut is the second of a two-byte character, and the tokens of the part
 * before the cut are those of that part read alone, with no replacement
 * character for a split one anywhere. */
static void test_no_space(void **state)
{
	(void)state;
	struct encoder *enc = load();
	GString *t = g_string_new("x");
	while (t->len < 150000)
		g_string_append(t, "\xc3\xa9"); /* U+00E9 */
	size_t max = t->len + 16, cut = 65535;  /* 65536, inside a character */
	int32_t *all = g_new(int32_t, max), *head = g_new(int32_t, max), bad[8];
	long n = encoder_tokenize(enc, t->str, t->len, all, max);
	long k = encoder_tokenize(enc, t->str, cut, head, max);
	long nb = encoder_tokenize(enc, "\xef\xbf\xbd", 3, bad, G_N_ELEMENTS(bad));
	assert_true(k > 0 && n > k && nb > 0);
	assert_memory_equal(all, head, (size_t)k * sizeof *all);
	for (long i = 0; i < n; i++)
		assert_int_not_equal(all[i], bad[nb - 1]);
	/* the embedding reads the first tokens only, whatever the length */
	size_t dim = encoder_dim(enc);
	float *x = g_new(float, dim), *y = g_new(float, dim);
	assert_int_equal(encoder_embed(enc, t->str, t->len, x), 0);
	assert_int_equal(encoder_embed(enc, t->str, cut, y), 0);
	assert_memory_equal(x, y, dim * sizeof *x);
	g_free(x);
	g_free(y);
	g_free(all);
	g_free(head);
	g_string_free(t, TRUE);
	encoder_free(enc);
}

/* A file cut short, of another kind, or empty is refused with a message. */
static void test_bad_files(void **state)
{
	(void)state;
	char *data = NULL;
	gsize len = 0;
	assert_true(g_file_get_contents(ENCODER_FILE, &data, &len, NULL));
	char *dir = g_dir_make_tmp("test_encoder-XXXXXX", NULL);
	char *path = g_build_filename(dir, "x.enc", NULL);
	const gsize cuts[] = {0, 7, 100, 4096, len / 2, len - 1};
	for (size_t i = 0; i < G_N_ELEMENTS(cuts); i++) {
		assert_true(g_file_set_contents(path, data, (gssize)cuts[i], NULL));
		GError *err = NULL;
		struct encoder *enc = encoder_load(path, &err);
		if (enc != NULL)
			fail_msg("a file cut to %zu of %zu bytes was read", (size_t)cuts[i], (size_t)len);
		assert_non_null(err);
		assert_non_null(strstr(err->message, path));
		g_error_free(err);
	}
	/* A weight that is NaN or infinite (the last one, before the end
	 * marker, one in the middle of the file, or one a thousand weights
	 * before the end) is refused; the largest finite float is read. */
	const uint32_t weights[] = {0x7fc00000u, 0x7f800000u, 0xff800000u, 0xffffffffu, 0x7f7fffffu};
	const size_t at[] = {len - 8 - 4, (len / 2) & ~(size_t)3, len - 8 - 4000};
	for (size_t k = 0; k < G_N_ELEMENTS(weights) * G_N_ELEMENTS(at); k++) {
		size_t i = k % G_N_ELEMENTS(weights);
		char *last = data + at[k / G_N_ELEMENTS(weights)];
		uint32_t kept;
		memcpy(&kept, last, sizeof kept);
		memcpy(last, &weights[i], sizeof weights[i]);
		assert_true(g_file_set_contents(path, data, (gssize)len, NULL));
		GError *err = NULL;
		struct encoder *enc = encoder_load(path, &err);
		memcpy(last, &kept, sizeof kept);
		if (weights[i] == 0x7f7fffffu) {
			assert_non_null(enc);
			encoder_free(enc);
			continue;
		}
		if (enc != NULL)
			fail_msg("a weight of bits %08x at %zu was read", weights[i], (size_t)(last - data));
		assert_non_null(strstr(err->message, "a weight is NaN or infinite"));
		g_error_free(err);
	}
	data[0] ^= 0x20; /* another magic */
	assert_true(g_file_set_contents(path, data, (gssize)len, NULL));
	GError *err = NULL;
	assert_null(encoder_load(path, &err));
	assert_non_null(strstr(err->message, "not a valid encoder file"));
	g_error_free(err);
	err = NULL;
	assert_null(encoder_load("/nonexistent/x.enc", &err));
	assert_non_null(strstr(err->message, "No such file or directory")); /* "make" not run yet */
	g_error_free(err);
	/* What is no regular file is refused at once: a FIFO (which would
	 * block), a directory, a device that never ends. */
	char *fifo = g_build_filename(dir, "fifo.enc", NULL);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	const char *const odd[] = {fifo, dir, "/dev/zero"};
	for (size_t i = 0; i < G_N_ELEMENTS(odd); i++) {
		err = NULL;
		assert_null(encoder_load(odd[i], &err));
		if (strstr(err->message, "not an encoder file") == NULL)
			fail_msg("%s: %s", odd[i], err->message);
		g_error_free(err);
	}
	g_unlink(fifo);
	g_free(fifo);
	/* A file loaded is the encoder's own: cut short or rewritten in place
	 * afterwards (cp over it), it embeds as before (no SIGBUS). */
	data[0] ^= 0x20; /* the magic back */
	assert_true(g_file_set_contents(path, data, (gssize)len, NULL));
	err = NULL;
	struct encoder *enc = encoder_load(path, &err);
	assert_non_null(enc);
	float before[512], after[512];
	const char *text = "The replacement part arrived broken again.";
	assert_int_equal(encoder_embed(enc, text, strlen(text), before), 0);
	assert_int_equal(truncate(path, 4096), 0);
	assert_int_equal(encoder_embed(enc, text, strlen(text), after), 0);
	assert_memory_equal(before, after, sizeof before);
	encoder_free(enc);
	g_unlink(path);
	g_rmdir(dir);
	g_free(path);
	g_free(dir);
	g_free(data);
}

/* The shipped policy without the models: keys DROP[0..N), in DIR as NAME. */
static char *policy_without(const char *dir, const char *name, const char *const *drop, unsigned n)
{
	char *text = policy_fixture_text(NULL), *cut = policy_fixture_set(text, drop, NULL, n);
	char *path = policy_fixture_write(dir, name, cut);
	g_free(cut);
	g_free(text);
	return path;
}

/* The shipped policy without models.DROP is refused, saying WANT. */
static void assert_refused(const char *dir, const char *name, const char *drop, const char *want)
{
	char *err = NULL, *path = policy_without(dir, name, &drop, 1);
	assert_null(policy_load(path, &err));
	if (strstr(err, want) == NULL)
		fail_msg("%s: want \"%s\" in: %s", name, want, err);
	g_free(err);
	g_unlink(path);
	g_free(path);
}

/* The encoder and its head come together; a policy without both is refused
 * with a message naming the missing one, and so is a head that reads another
 * width or was trained on another encoder. */
static void test_policy_pairs(void **state)
{
	(void)state;
	char *dir = g_dir_make_tmp("test_encoder-XXXXXX", NULL);
	char *err = NULL;
	char *path = policy_without(dir, "full.yaml", NULL, 0);
	struct policy *pol = policy_load(path, &err);
	if (pol == NULL)
		fail_msg("%s", err);
	assert_non_null(policy_model_version(pol, "encoder-head"));
	char *line = policy_summary(pol);
	assert_true(g_str_has_prefix(line, policy_name(pol)));
	assert_non_null(strstr(line, " patterns, "));
	assert_non_null(strstr(line, "; models: gate "));
	assert_non_null(strstr(line, "on encoder use-lite"));
	g_free(line);
	policy_unref(pol);
	g_unlink(path);
	g_free(path);

	/* each message names the missing half (the head's names the encoder's key
	 * as a prefix, so the first words tell them apart) */
	assert_refused(dir, "nohead.yaml", "encoder-head",
	               "encoder needs the head that reads it: name one in models.encoder-head");
	assert_refused(dir, "noenc.yaml", "encoder",
	               "encoder-head reads an encoder's embeddings: name one in models.encoder");

	/* a head that reads another width than the encoder gives */
	char *head = NULL;
	assert_true(g_file_get_contents("policies/default-encoder-head.model", &head, NULL, NULL));
	gchar **halves = g_strsplit(head, "\nbits 9\n", 2);
	assert_int_equal(g_strv_length(halves), 2);
	char *wide = g_strjoinv("\nbits 10\n", halves);
	g_strfreev(halves);
	char *head8 = g_build_filename(dir, "head10.model", NULL);
	assert_true(g_file_set_contents(head8, wide, -1, NULL));
	g_free(wide);
	char *text = policy_fixture_text(NULL);
	char *swapped =
	    policy_fixture_set(text, (const char *const[]){"encoder-head"}, (const char *const[]){head8}, 1);
	path = policy_fixture_write(dir, "width.yaml", swapped);
	pol = policy_load(path, &err);
	assert_null(pol);
	if (strstr(err, "gives 512 values, but") == NULL || strstr(err, "reads 1024") == NULL)
		fail_msg("%s", err);
	g_free(err);
	g_free(swapped);

	/* a head trained on another encoder of the same width: refused, naming
	 * both; a head that names none (a file written before heads named
	 * theirs) is taken */
	const char *const reads_other[] = {"reads use-lite 8000-2-512 0000000000000000\n", ""};
	for (size_t i = 0; i < G_N_ELEMENTS(reads_other); i++) {
		GRegex *re = g_regex_new("reads [^\n]*\n", 0, 0, NULL);
		char *other = g_regex_replace_literal(re, head, -1, 0, reads_other[i], 0, NULL);
		assert_string_not_equal(other, head);
		assert_true(g_file_set_contents(head8, other, -1, NULL));
		swapped = policy_fixture_set(text, (const char *const[]){"encoder-head"},
		                             (const char *const[]){head8}, 1);
		g_unlink(path);
		g_free(path);
		path = policy_fixture_write(dir, "reads.yaml", swapped);
		pol = policy_load(path, &err);
		if (i == 0) {
			assert_null(pol);
			struct encoder *enc = load();
			char *shipped_enc = g_strdup_printf("is \"%s\"", encoder_name(enc));
			encoder_free(enc);
			if (strstr(err,
			           "was trained on the encoder \"use-lite 8000-2-512 0000000000000000\"") ==
			        NULL ||
			    strstr(err, shipped_enc) == NULL || strstr(err, "retrain the head") == NULL)
				fail_msg("%s", err);
			g_free(shipped_enc);
			g_free(err);
		} else {
			if (pol == NULL)
				fail_msg("a head that names no encoder: %s", err);
			/* against the shipped head: the same weights, what it reads told apart */
			char *full_path = policy_without(dir, "full.yaml", NULL, 0);
			struct policy *full = policy_load(full_path, &err);
			assert_non_null(full);
			GString *changes = g_string_new(NULL), *lost = g_string_new(NULL);
			assert_false(policy_compare(full, pol, changes, lost));
			if (strstr(changes->str, "models.encoder-head: reads use-lite 8000-2-512 ") == NULL ||
			    strstr(changes->str, " -> no encoder named") == NULL ||
			    strstr(changes->str, "differ") != NULL)
				fail_msg("%s", changes->str);
			g_string_free(changes, TRUE);
			g_string_free(lost, TRUE);
			policy_unref(full);
			g_unlink(full_path);
			g_free(full_path);
			policy_unref(pol);
		}
		g_free(swapped);
		g_free(other);
		g_regex_unref(re);
	}
	/* the head named where a model of words is read */
	char *cwd = g_get_current_dir(),
	     *shipped_head = g_strdup_printf("%s/policies/default-encoder-head.model", cwd);
	swapped = policy_fixture_set(text, (const char *const[]){"gate-text"},
	                             (const char *const[]){shipped_head}, 1);
	g_unlink(path);
	g_free(path);
	path = policy_fixture_write(dir, "astext.yaml", swapped);
	assert_null(policy_load(path, &err));
	if (strstr(err, "weighs the values of the encoder use-lite") == NULL ||
	    strstr(err, "models.encoder-head") == NULL)
		fail_msg("%s", err);
	g_free(err);
	g_free(swapped);
	g_free(shipped_head);
	g_free(cwd);
	g_free(text);
	g_free(head);
	g_unlink(head8);
	g_free(head8);
	g_unlink(path);
	g_free(path);
	g_rmdir(dir);
	g_free(dir);
}

/* Arriving mail, judged by the shipped policy with and without the
 * encoder: two complaints told plainly, without the breach words the gate
 * keys on, are complaints only with it; ordinary business mail is ordinary
 * either way. */
static void test_encoder_in_the_gate(void **state)
{
	(void)state;
	static const char *const complaints[] = {
	    "got the replacement part today and it's the wrong model again. this is getting ridiculous "
	    "honestly",
	    "i cancelled in january and you have taken payment in february and march",
	};
	static const char *const ordinary[] = {
	    "Hi Sam, attached is the signed order form. Delivery to the Leeds site please, any weekday after "
	    "the 10th works for us.",
	    "Thanks for the call earlier. As discussed, we'll go with the standard plan for now and review "
	    "it in spring.",
	    "just a heads up that our office will be closed between christmas and new year, so any "
	    "deliveries "
	    "should wait until the 4th.",
	};
	char *dir = g_dir_make_tmp("test_encoder-XXXXXX", NULL);
	char *err = NULL;
	char *with_path = policy_without(dir, "with.yaml", NULL, 0),
	     *without_path = policy_without(dir, "without.yaml", policy_fixture_encoder_keys,
	                                    POLICY_FIXTURE_ENCODER_KEYS);
	struct policy *with = policy_load(with_path, &err);
	if (with == NULL)
		fail_msg("%s", err);
	struct policy *without = policy_load(without_path, &err);
	if (without == NULL)
		fail_msg("%s", err);
	assert_null(policy_model_version(without, "encoder-head"));
	struct complaint c;
	for (size_t i = 0; i < G_N_ELEMENTS(complaints); i++) {
		thread_classify_text(without, "Your order", complaints[i], strlen(complaints[i]), NULL, &c);
		assert_false(c.detected);
		double alone = c.score;
		thread_classify_text(with, "Your order", complaints[i], strlen(complaints[i]), NULL, &c);
		if (!c.detected || !c.clear)
			fail_msg("complaint %zu: not taken with the encoder (%.1f, alone %.1f)", i, c.score,
			         alone);
		assert_true(c.score > alone);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(ordinary); i++) {
		thread_classify_text(without, "Next steps", ordinary[i], strlen(ordinary[i]), NULL, &c);
		assert_false(c.detected);
		thread_classify_text(with, "Next steps", ordinary[i], strlen(ordinary[i]), NULL, &c);
		if (c.detected)
			fail_msg("ordinary %zu: taken for a complaint with the encoder (%.1f)", i, c.score);
	}
	policy_unref(with);
	policy_unref(without);
	g_unlink(with_path);
	g_unlink(without_path);
	g_rmdir(dir);
	g_free(with_path);
	g_free(without_path);
	g_free(dir);
}

/* The shipped policy with models.KEY set to VALUE (its line replaced), in
 * DIR as NAME. */
static struct policy *policy_set(const char *dir, const char *name, const char *key, const char *value)
{
	char *text = policy_fixture_text(NULL), *set = policy_fixture_set(text, &key, &value, 1);
	char *path = policy_fixture_write(dir, name, set), *err = NULL;
	struct policy *pol = policy_load(path, &err);
	if (pol == NULL)
		fail_msg("%s", err);
	g_unlink(path);
	g_free(path);
	g_free(set);
	g_free(text);
	return pol;
}

/* A reply quoting TEXT under a curt acknowledgement. */
static char *reply_to(const char *text)
{
	return g_strdup_printf("From: Sam Reed <sam@agency.example>\r\nTo: Dana <dana@client.example>\r\n"
	                       "Subject: Re: Your order\r\nDate: Tue, 03 Mar 2026 10:00:00 +0000\r\n"
	                       "Message-ID: <r1@agency.example>\r\nMIME-Version: 1.0\r\n"
	                       "Content-Type: text/plain; charset=UTF-8\r\n\r\nHi Dana,\r\n\r\nThanks, "
	                       "noted.\r\n\r\nSam\r\n\r\n"
	                       "On Tue, 3 Mar 2026 at 08:00, Dana <dana@client.example> wrote:\r\n> %s\r\n",
	                       text);
}

/* Where the encoder is read: a reply's quoted complaint is read as arriving
 * mail is (the complaint taken only with the encoder); a complaint the gate
 * places further short of its bar than encoder-band is not read; and a call
 * the gate alone makes clearly (past hold-margin, or any complaint it
 * detects in arriving mail, which is stored clear) is not overruled: its
 * evidence is the gate's to the last digit. */
static void test_where_it_reads(void **state)
{
	(void)state;
	static const char missed[] = "got the replacement part today and it's the wrong model again. this is "
	                             "getting ridiculous honestly";
	static const char plain[] = "your engineer was booked for 9 and turned up at 2, so our shop had no "
	                            "tills all morning";
	static const char vat[] =
	    "This is the third time the invoice has the wrong VAT number on it. I asked "
	    "for a fix in March and again last week. Please sort it out today.";
	char *dir = g_dir_make_tmp("test_encoder-XXXXXX", NULL);
	char *err = NULL, *without_path = policy_without(dir, "without.yaml", policy_fixture_encoder_keys,
	                                                 POLICY_FIXTURE_ENCODER_KEYS);
	struct policy *without = policy_load(without_path, &err);
	if (without == NULL)
		fail_msg("%s", err);
	struct policy *with = policy_set(dir, "with.yaml", "encoder-lift", "2.75"),
	              *narrow = policy_set(dir, "narrow.yaml", "encoder-band", "0.5");
	struct complaint a, b;

	char *m = reply_to(missed);
	struct decision d, w;
	apology_check(without, m, strlen(m), NULL, &w);
	apology_check(with, m, strlen(m), NULL, &d);
	assert_false(w.complaint.detected);
	if (!d.complaint.detected)
		fail_msg("the reply's quoted complaint is not taken with the encoder (%.1f)",
		         d.complaint.score);
	decision_clear(&d);
	decision_clear(&w);
	g_free(m);

	thread_classify_text(without, "Your order", missed, strlen(missed), NULL, &a);
	assert_true(a.score < -0.5); /* further short than the narrow band */
	thread_classify_text(narrow, "Your order", missed, strlen(missed), NULL, &b);
	assert_false(b.detected);
	assert_true(a.score == b.score);

	thread_classify_text(without, "Your order", plain, strlen(plain), NULL, &a);
	assert_true(a.detected && a.score >= 1);
	thread_classify_text(with, "Your order", plain, strlen(plain), NULL, &b);
	assert_true(b.detected && b.clear);
	assert_true(a.score == b.score);
	m = reply_to(vat);
	apology_check(without, m, strlen(m), NULL, &w);
	apology_check(with, m, strlen(m), NULL, &d);
	assert_true(w.complaint.detected && w.complaint.clear);
	assert_true(d.complaint.score == w.complaint.score);
	decision_clear(&d);
	decision_clear(&w);
	g_free(m);

	policy_unref(with);
	policy_unref(narrow);
	policy_unref(without);
	g_unlink(without_path);
	g_free(without_path);
	g_rmdir(dir);
	g_free(dir);
}

/* A reload whose encoder file is unchanged shares the encoder the running
 * policy read; a load without one, or of a file touched since, reads it. */
static void test_shared_on_reload(void **state)
{
	(void)state;
	char *dir = g_dir_make_tmp("test_encoder-XXXXXX", NULL), *data = NULL, *err = NULL;
	gsize len = 0;
	assert_true(g_file_get_contents(ENCODER_FILE, &data, &len, NULL));
	char *copy = g_build_filename(dir, "copy.enc", NULL);
	assert_true(g_file_set_contents(copy, data, (gssize)len, NULL));
	g_free(data);
	char *text = policy_fixture_text(NULL);
	char *mine =
	    policy_fixture_set(text, (const char *const[]){"encoder"}, (const char *const[]){copy}, 1);
	char *path = policy_fixture_write(dir, "p.yaml", mine);
	g_free(text);
	g_free(mine);

	struct policy *first = policy_load(path, &err);
	if (first == NULL)
		fail_msg("%s", err);
	assert_true(encoder_is_file(first->encoder, copy));
	assert_false(encoder_is_file(first->encoder, ENCODER_FILE)); /* the same bytes, another file */
	struct policy *again = policy_reload(path, first, &err), *fresh = policy_load(path, &err);
	assert_non_null(again);
	assert_non_null(fresh);
	assert_ptr_equal(again->encoder, first->encoder);
	assert_ptr_not_equal(fresh->encoder, first->encoder);
	assert_string_equal(encoder_name(fresh->encoder), encoder_name(first->encoder));

	/* touched since: read again, and the old policy keeps its own */
	struct timespec times[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};
	assert_int_equal(utimensat(AT_FDCWD, copy, times, 0), 0);
	assert_false(encoder_is_file(again->encoder, copy));
	struct policy *after = policy_reload(path, again, &err);
	assert_non_null(after);
	assert_ptr_not_equal(after->encoder, again->encoder);
	assert_true(encoder_is_file(after->encoder, copy));
	policy_unref(first); /* the shared encoder lives on in AGAIN: it embeds as FRESH's does */
	static const char said[] = "the replacement part is the wrong model again";
	size_t dim = encoder_dim(fresh->encoder);
	float *a = g_new(float, dim), *b = g_new(float, dim);
	assert_int_equal(encoder_embed(again->encoder, said, strlen(said), a), 0);
	assert_int_equal(encoder_embed(fresh->encoder, said, strlen(said), b), 0);
	assert_memory_equal(a, b, dim * sizeof *a);
	g_free(a);
	g_free(b);
	policy_unref(again);
	policy_unref(fresh);
	policy_unref(after);
	g_unlink(path);
	g_unlink(copy);
	g_free(path);
	g_free(copy);
	g_rmdir(dir);
	g_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reference),      cmocka_unit_test(test_long_text),
	    cmocka_unit_test(test_no_space),       cmocka_unit_test(test_bad_files),
	    cmocka_unit_test(test_policy_pairs),   cmocka_unit_test(test_encoder_in_the_gate),
	    cmocka_unit_test(test_where_it_reads), cmocka_unit_test(test_shared_on_reload),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
