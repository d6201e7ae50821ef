/*
 * train.c - apology-train: fit the shipped classifiers from the project's
 * own training sources (policies/training/) and write model files the core
 * reads (classifier.h).  L2-regularised logistic regression (liblinear) on the
 * same hashed features the core computes at run time.
 *
 *   apology-train gate OUT.model [-C COST] [--complaint-fp RATE] [--pool CLASS=K,...]
 *                 [--aux-none FILE]... [--extra FILE]... TSV...
 *       (labels serious, normal, none; "answers" for the text of a reply to
 *       a complaint, which trains the class of that name; --pool: how many
 *       of a text's highest sentence scores each class's score is the mean
 *       of, CLASSIFIER_POOL_DEFAULT for a class not named)
 *   apology-train gate-text OUT.model [-C COST] [--complaint-fp RATE] [--aux-none FILE]...
 *                 [--extra FILE]... TSV...
 *       (the complaint and answers classes, each text read whole:
 *       classifier_score_whole())
 *   apology-train sentences OUT.model [-C COST] TSV...
 *   apology-train encoder-head OUT.model --encoder FILE [-C COST] [--complaint-fp RATE]
 *                 [--aux-none FILE]... TSV...
 *       (the complaint class of the gate's texts, each read whole by the
 *       sentence encoder, encoder.h: its weights weigh the embedding's
 *       values, classifier_score_dense())
 *
 * For each class it runs a cross-validation (the gate: one fold per source
 * file; the sentence model: 5 folds), chooses the decision threshold on the
 * out-of-fold scores (never on the evaluation sets), prints the
 * cross-validated precision, recall and F1 at that threshold, and then fits
 * the final weights on all the data.  Everything is deterministic: folds come
 * from the source file or a hash of the text.  A tool of the build, not of the mail
 * path: it reads and writes files and exits on errors.
 */
#include <glib.h>
#include <linear.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classifier.h"
#include "encoder.h"
#include "thread.h"

#define BITS  17
#define SCALE 10000.0
#define FOLDS 5

static const char *const sentence_tags[] = {"apology", "hollow",  "blame", "excuse", "defensive", "own",
                                            "remedy",  "prevent", "call",  "ask",    "grovel"};

/* A training text and its labels.  The gate reads a text sentence by
 * sentence (classifier_score_text()): its sentences are the items fitted,
 * each with the text's labels, and the text's score pools theirs.  A
 * sentence of the sentence model is one text of one item. */
struct doc {
	char *text;
	unsigned labels; /* bit per class */
	unsigned mask;   /* bit per class: the text counts for that class */
	guint fold;      /* its source's index, or a hash of the text, modulo n_folds */
	guint first, n;  /* its items */
	bool aux;        /* from --aux-none (auxiliary public data) */
};

struct item {
	guint doc;
	struct feature_node *x;
};

struct corpus {
	unsigned bits;             /* 2^bits features: hash buckets, or the encoder's values */
	const struct encoder *enc; /* texts are read by this encoder, or NULL */
	bool split;                /* texts are read sentence by sentence */
	bool aux;                  /* the texts being read are auxiliary data */
	int source;                /* >= 0: the texts being read form this fold (see main()) */
	guint n_folds;
	GArray *docs;  /* struct doc */
	GArray *items; /* struct item */
	GHashTable *seen;
	unsigned n_classes;
	const char *classes[CLASSIFIER_MAX_CLASSES];
	unsigned pool[CLASSIFIER_MAX_CLASSES]; /* split texts: classifier_score_text()'s */
};

static void die(const char *fmt, ...) G_GNUC_PRINTF(1, 2) G_GNUC_NORETURN;
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("apology-train: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* " \n " in a training line is a paragraph break. */
static char *unescape(const char *s)
{
	GString *out = g_string_new(NULL);
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] == 'n') {
			g_string_append_c(out, '\n');
			s++;
		} else {
			g_string_append_c(out, *s);
		}
	}
	return g_string_free(out, FALSE);
}

static int cmp_u32(gconstpointer a, gconstpointer b)
{
	guint32 x = *(const guint32 *)a, y = *(const guint32 *)b;
	return x < y ? -1 : x > y;
}

static void add_sentence(struct corpus *c, const char *text, size_t len, GArray *feats)
{
	g_array_set_size(feats, 0);
	int bias = (1 << c->bits) + 1;
	if (c->enc) { /* the encoder's values, every one of them */
		size_t dim = encoder_dim(c->enc);
		float *emb = g_new(float, dim);
		if (encoder_embed(c->enc, text, len, emb) != 0)
			die("the encoder cannot read a text (out of memory?)");
		struct item it = {c->docs->len, g_new(struct feature_node, dim + 2)};
		for (size_t i = 0; i < dim; i++)
			it.x[i] = (struct feature_node){(int)i + 1, emb[i]};
		it.x[dim] = (struct feature_node){bias, 1.0};
		it.x[dim + 1] = (struct feature_node){-1, 0};
		g_array_append_val(c->items, it);
		g_free(emb);
		return;
	}
	if (classifier_features(text, len, c->bits, feats, NULL) == 0)
		return;               /* no words: the scorer skips it too */
	g_array_sort(feats, cmp_u32); /* liblinear wants ascending indices */
	struct item it = {c->docs->len, g_new(struct feature_node, feats->len + 2)};
	double v = classifier_feature_value(feats->len);
	for (guint i = 0; i < feats->len; i++)
		it.x[i] = (struct feature_node){(int)g_array_index(feats, guint32, i) + 1, v};
	it.x[feats->len] = (struct feature_node){bias, 1.0};
	it.x[feats->len + 1] = (struct feature_node){-1, 0};
	g_array_append_val(c->items, it);
}

static void add_item(struct corpus *c, char *text, unsigned labels, unsigned mask)
{
	if (*g_strstrip(text) == '\0' || g_hash_table_contains(c->seen, text)) {
		g_free(text);
		return;
	}
	g_hash_table_add(c->seen, g_strdup(text));
	guint fold = c->source >= 0 ? (guint)c->source : g_str_hash(text);
	struct doc d = {text, labels, mask, fold, c->items->len, 0, c->aux};
	GArray *feats = g_array_new(FALSE, FALSE, sizeof(guint32));
	if (c->split) {
		GArray *ss = g_array_new(FALSE, FALSE, sizeof(struct sentence));
		sentence_split(text, strlen(text), ss);
		for (guint i = 0; i < ss->len; i++) {
			const struct sentence *st = &g_array_index(ss, struct sentence, i);
			add_sentence(c, text + st->start, st->end - st->start, feats);
		}
		g_array_free(ss, TRUE);
	} else {
		add_sentence(c, text, strlen(text), feats);
	}
	g_array_free(feats, TRUE);
	d.n = c->items->len - d.first;
	if (d.n == 0) {
		g_free(text);
		return;
	}
	g_array_append_val(c->docs, d);
}

static int class_index(const struct corpus *c, const char *name)
{
	for (unsigned i = 0; i < c->n_classes; i++)
		if (strcmp(c->classes[i], name) == 0)
			return (int)i;
	return -1;
}

/* The label bit of the corpus's class NAME, 0 when it has none. */
static unsigned class_bit(const struct corpus *c, const char *name)
{
	int i = class_index(c, name);
	return i < 0 ? 0 : 1u << i;
}

/* One "LABEL<TAB>TEXT" line of a gate file. */
static void gate_line(struct corpus *c, const char *path, unsigned lineno, const char *label,
                      const char *text)
{
	unsigned cpl = class_bit(c, "complaint"), ser = class_bit(c, "serious"),
	         ans = class_bit(c, "answers");
	if (strcmp(label, "none") == 0)
		add_item(c, unescape(text), 0, cpl | ans); /* says nothing about severity */
	else if (strcmp(label, "answers") == 0)
		add_item(c, unescape(text), ans, ans); /* a reply to a complaint */
	else if (strcmp(label, "normal") == 0)
		add_item(c, unescape(text), cpl, cpl | ser);
	else if (strcmp(label, "serious") == 0)
		add_item(c, unescape(text), cpl | ser, cpl | ser);
	else
		die("%s:%u: unknown label \"%s\" (serious, normal, none or answers)", path, lineno, label);
}

/* One "TAGS<TAB>SENTENCE" line of a sentence file.  TAGS names every tag
 * of the sentence ("-": none), or, after "~", only what is known of it:
 * "~blame,!excuse" is a blame and not an excuse, and says nothing about
 * the other tags (reviewers' labels judge one finding at a time). */
static void sentence_line(struct corpus *c, const char *path, unsigned lineno, const char *tags,
                          const char *text)
{
	unsigned labels = 0, mask = (1u << c->n_classes) - 1;
	bool partial = tags[0] == '~';
	if (partial) {
		tags++;
		mask = 0;
	}
	if (strcmp(tags, "-") != 0) {
		gchar **t = g_strsplit(tags, ",", -1);
		for (int i = 0; t[i]; i++) {
			const char *name = g_strstrip(t[i]);
			bool no = partial && name[0] == '!';
			int k = class_index(c, name + no);
			if (k < 0)
				die("%s:%u: unknown tag \"%s\"", path, lineno, name);
			if (partial && (mask >> k & 1u))
				die("%s:%u: tag \"%s\" named twice", path, lineno, name + no);
			mask |= 1u << k;
			labels |= no ? 0 : 1u << k;
		}
		g_strfreev(t);
	}
	if (mask == 0)
		die("%s:%u: \"~\" names no tag", path, lineno);
	add_item(c, unescape(text), labels, mask);
}

static void read_tsv(struct corpus *c, const char *path, bool gate)
{
	char *data;
	GError *err = NULL;
	if (!g_file_get_contents(path, &data, NULL, &err))
		die("%s", err->message);
	gchar **lines = g_strsplit(data, "\n", -1);
	for (unsigned i = 0; lines[i]; i++) {
		char *l = lines[i];
		if (*l == '\0' || *l == '#')
			continue;
		char *tab = strchr(l, '\t');
		if (tab == NULL)
			die("%s:%u: expected LABEL<TAB>TEXT", path, i + 1);
		*tab = '\0';
		if (gate)
			gate_line(c, path, i + 1, g_strstrip(l), tab + 1);
		else
			sentence_line(c, path, i + 1, g_strstrip(l), tab + 1);
	}
	g_strfreev(lines);
	g_free(data);
}

/* ---- fitting ------------------------------------------------------------------ */

static void quiet(const char *s)
{
	(void)s;
}

/* Fit class CLS on the items with mask bit CLS whose fold is not SKIP (or
 * all when SKIP < 0), leaving out those KEEP says no to (KEEP may be NULL).
 * Returns the weights: 2^bits + 1 doubles, bias last. */
static double *fit_once(const struct corpus *c, unsigned cls, int skip, double C, const bool *keep)
{
	GPtrArray *xs = g_ptr_array_new();
	GArray *ys = g_array_new(FALSE, FALSE, sizeof(double));
	for (guint i = 0; i < c->items->len; i++) {
		const struct item *it = &g_array_index(c->items, struct item, i);
		const struct doc *d = &g_array_index(c->docs, struct doc, it->doc);
		if (!(d->mask & (1u << cls)) || (int)d->fold == skip || (keep && !keep[i]))
			continue;
		double y = (d->labels & (1u << cls)) ? 1 : -1;
		g_ptr_array_add(xs, it->x);
		g_array_append_val(ys, y);
	}
	int n = (1 << c->bits) + 1;
	double *w = g_new0(double, n);
	bool both = false; /* liblinear needs both labels (with none it reads garbage) */
	for (guint i = 1; i < ys->len && !both; i++)
		both = g_array_index(ys, double, i) != g_array_index(ys, double, 0);
	if (!both) { /* a fold whose training part lacks the class: it learns nothing */
		g_ptr_array_free(xs, TRUE);
		g_array_free(ys, TRUE);
		return w;
	}
	struct problem prob = {(int)ys->len, n, (double *)(void *)ys->data, (struct feature_node **)xs->pdata,
	                       -1};
	struct parameter param = {.solver_type = L2R_LR, .eps = 0.01, .C = C};
	const char *bad = check_parameter(&prob, &param);
	if (bad)
		die("liblinear: %s", bad);
	struct model *m = train(&prob, &param);
	double sign = m->label[0] == 1 ? 1 : -1;
	for (int i = 0; i < m->nr_feature && i < n; i++)
		w[i] = sign * m->w[i];
	free_and_destroy_model(&m);
	g_ptr_array_free(xs, TRUE);
	g_array_free(ys, TRUE);
	return w;
}

static double logit(const double *w, const struct feature_node *x);

/* For texts read sentence by sentence, a positive text's label is true of
 * a few sentences, not of every sentence: after a first fit, only as many
 * sentences of each positive text as its score is pooled from (the class's
 * pool), those that score highest, stay positive (the others are left out),
 * and the class is fitted again (multiple-instance learning, as in mi-SVM).
 * Negative texts keep every sentence. */
static double *fit(const struct corpus *c, unsigned cls, int skip, double C)
{
	double *w = fit_once(c, cls, skip, C, NULL);
	if (!c->split)
		return w;
	bool *keep = g_new(bool, c->items->len);
	for (guint i = 0; i < c->items->len; i++)
		keep[i] = true;
	unsigned pool = c->pool[cls];
	for (guint k = 0; k < c->docs->len; k++) {
		const struct doc *d = &g_array_index(c->docs, struct doc, k);
		if (!(d->labels & (1u << cls)) || d->n <= pool)
			continue;
		float *l = g_new(float, d->n);
		for (guint j = 0; j < d->n; j++)
			l[j] = (float)logit(w, g_array_index(c->items, struct item, d->first + j).x);
		float *top = g_memdup2(l, d->n * sizeof *l);
		classifier_pool(top, d->n, pool); /* the POOL highest now lead */
		float lowest = top[pool - 1];
		for (guint j = 0; j < d->n; j++)
			keep[d->first + j] = l[j] >= lowest;
		g_free(top);
		g_free(l);
	}
	g_free(w);
	w = fit_once(c, cls, skip, C, keep);
	g_free(keep);
	return w;
}

static double logit(const double *w, const struct feature_node *x)
{
	double s = 0;
	for (; x->index != -1; x++)
		s += w[x->index - 1] * x->value;
	return s;
}

struct scored {
	double logit;
	bool pos;
	bool aux;
};

static int cmp_scored(const void *a, const void *b)
{
	const struct scored *x = a, *y = b;
	return x->logit < y->logit ? 1 : x->logit > y->logit ? -1 : 0;
}

struct fit_report {
	double threshold, precision, recall, f1, fp_rate;
	unsigned pos, neg;
};

/* Threshold on the out-of-fold scores: the best F-beta, or (MAX_FP > 0) the
 * lowest threshold whose false-positive rate stays within MAX_FP. */
static struct fit_report choose(GArray *sc, double beta, double max_fp)
{
	g_array_sort(sc, cmp_scored);
	struct fit_report r = {0};
	for (guint i = 0; i < sc->len; i++)
		g_array_index(sc, struct scored, i).pos ? r.pos++ : r.neg++;
	double best = -1;
	unsigned tp = 0, fp = 0;
	for (guint i = 0; i < sc->len; i++) {
		const struct scored *s = &g_array_index(sc, struct scored, i);
		s->pos ? tp++ : fp++;
		if (i + 1 < sc->len && g_array_index(sc, struct scored, i + 1).logit == s->logit)
			continue;
		double p = tp + fp ? (double)tp / (tp + fp) : 0, rc = r.pos ? (double)tp / r.pos : 0;
		double fpr = r.neg ? (double)fp / r.neg : 0;
		double b2 = beta * beta;
		double f = p + rc > 0 ? (1 + b2) * p * rc / (b2 * p + rc) : 0;
		double goal = max_fp > 0 ? (fpr <= max_fp ? rc : -1) : f;
		if (goal > best) {
			best = goal;
			double next =
			    i + 1 < sc->len ? g_array_index(sc, struct scored, i + 1).logit : s->logit - 1;
			r.threshold = (s->logit + next) / 2;
			r.precision = p;
			r.recall = rc;
			r.f1 = p + rc > 0 ? 2 * p * rc / (p + rc) : 0;
			r.fp_rate = fpr;
		}
	}
	return r;
}

/* Recall at a few false-alarm rates, and how much of them is auxiliary
 * data (SC sorted by choose()). */
static void tradeoff(const GArray *sc, const char *name)
{
	static const double rates[] = {0.01, 0.02, 0.03, 0.05, 0.08};
	unsigned pos = 0, neg = 0, aux = 0;
	for (guint i = 0; i < sc->len; i++) {
		const struct scored *s = &g_array_index(sc, struct scored, i);
		s->pos ? pos++ : neg++;
		aux += !s->pos && s->aux;
	}
	fprintf(stderr, "  %s: recall at false-alarm rate (own ordinary / auxiliary):", name);
	for (size_t k = 0; k < G_N_ELEMENTS(rates); k++) {
		unsigned tp = 0, fp = 0, fa = 0;
		for (guint i = 0; i < sc->len; i++) {
			const struct scored *s = &g_array_index(sc, struct scored, i);
			if (!s->pos && (double)(fp + 1) / neg > rates[k])
				break;
			s->pos ? tp++ : fp++;
			fa += !s->pos && s->aux;
		}
		fprintf(stderr, " %.0f%%: %.2f (%.1f%%/%.1f%%)", rates[k] * 100, pos ? (double)tp / pos : 0,
		        neg > aux ? 100.0 * (fp - fa) / (neg - aux) : 0, aux ? 100.0 * fa / aux : 0);
	}
	fputc('\n', stderr);
}

static struct fit_report cross_validate(const struct corpus *c, unsigned cls, double C, double beta,
                                        double max_fp)
{
	GArray *sc = g_array_new(FALSE, FALSE, sizeof(struct scored));
	for (int f = 0; f < (int)c->n_folds; f++) {
		double *w = fit(c, cls, f, C);
		for (guint i = 0; i < c->docs->len; i++) {
			const struct doc *d = &g_array_index(c->docs, struct doc, i);
			if (!(d->mask & (1u << cls)) || (int)d->fold != f)
				continue;
			float *per = g_new(float, d->n);
			for (guint k = 0; k < d->n; k++)
				per[k] =
				    (float)logit(w, g_array_index(c->items, struct item, d->first + k).x);
			struct scored s = {classifier_pool(per, d->n, c->pool[cls]),
			                   (d->labels & (1u << cls)) != 0, d->aux};
			g_free(per);
			g_array_append_val(sc, s);
		}
		g_free(w);
	}
	struct fit_report r = choose(sc, beta, max_fp);
	if (max_fp > 0)
		tradeoff(sc, c->classes[cls]);
	g_array_free(sc, TRUE);
	return r;
}

static void write_model(const char *out, const char *name, const struct corpus *c, double **w,
                        const struct fit_report *rep)
{
	/* everything after the version line, whose digest the version names:
	 * models trained to say different things have different versions */
	GString *s = g_string_new(NULL);
	g_string_append_printf(s, "bits %u\nscale %.0f\nclasses", c->bits, SCALE);
	for (unsigned k = 0; k < c->n_classes; k++)
		g_string_append_printf(s, " %s", c->classes[k]);
	g_string_append(s, "\nbias");
	for (unsigned k = 0; k < c->n_classes; k++)
		g_string_append_printf(s, " %ld", lround(w[k][1 << c->bits] * SCALE));
	g_string_append(s, "\nthreshold");
	for (unsigned k = 0; k < c->n_classes; k++)
		g_string_append_printf(s, " %ld", lround(rep[k].threshold * SCALE));
	if (c->split) { /* read sentence by sentence: how each class pools them */
		g_string_append(s, "\npool");
		for (unsigned k = 0; k < c->n_classes; k++)
			g_string_append_printf(s, " %u", c->pool[k]);
	}
	if (c->enc) /* weighs an encoder's values: which encoder's */
		g_string_append_printf(s, "\nreads %s", encoder_name(c->enc));
	g_string_append_c(s, '\n');
	for (int b = 0; b < (1 << c->bits); b++) {
		long q[CLASSIFIER_MAX_CLASSES];
		bool any = false;
		for (unsigned k = 0; k < c->n_classes; k++) {
			q[k] = lround(w[k][b] * SCALE);
			any |= q[k] != 0;
		}
		if (!any)
			continue;
		g_string_append_printf(s, "%d", b);
		for (unsigned k = 0; k < c->n_classes; k++)
			g_string_append_printf(s, " %ld", q[k]);
		g_string_append_c(s, '\n');
	}
	g_string_append(s, "end\n");
	char *digest = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)s->str, s->len);
	char *head =
	    g_strdup_printf("# Written by apology-train (make train) from policies/training/; do not edit.\n"
	                    "apology-model 1\nname %s\nversion 1 (%u examples, %.12s)\n",
	                    name, c->docs->len, digest);
	g_string_prepend(s, head);
	GError *err = NULL;
	if (!g_file_set_contents(out, s->str, (gssize)s->len, &err))
		die("%s", err->message);
	g_free(head);
	g_free(digest);
	g_string_free(s, TRUE);
}

int main(int argc, char **argv)
{
	if (argc < 4 || (strcmp(argv[1], "gate") != 0 && strcmp(argv[1], "gate-text") != 0 &&
	                 strcmp(argv[1], "sentences") != 0 && strcmp(argv[1], "encoder-head") != 0))
		die("usage: apology-train gate|gate-text|sentences|encoder-head OUT.model [--aux-none "
		    "FILE]... "
		    "TSV...");
	set_print_string_function(quiet);
	bool head = strcmp(argv[1], "encoder-head") == 0;
	bool whole = head || strcmp(argv[1], "gate-text") == 0;
	bool gate = whole || strcmp(argv[1], "gate") == 0;
	struct encoder *enc = NULL;
	if (head) { /* the encoder is named first: every text is read by it */
		if (argc < 6 || strcmp(argv[3], "--encoder") != 0)
			die("usage: apology-train encoder-head OUT.model --encoder FILE [options] TSV...");
		GError *err = NULL;
		enc = encoder_load(argv[4], &err);
		if (enc == NULL)
			die("%s", err->message);
		size_t dim = encoder_dim(enc);
		if (dim == 0 || (dim & (dim - 1)) != 0 || dim > ((size_t)1 << CLASSIFIER_MAX_BITS))
			die("%s: %zu values, not a power of two a model can weigh", argv[4], dim);
	}
	struct corpus c = {.bits = BITS,
	                   .enc = enc,
	                   .split = gate && !whole,
	                   .source = -1,
	                   .n_folds = FOLDS,
	                   .docs = g_array_new(FALSE, FALSE, sizeof(struct doc)),
	                   .items = g_array_new(FALSE, FALSE, sizeof(struct item)),
	                   .seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL)};
	if (head) {
		c.classes[c.n_classes++] = "complaint";
		for (c.bits = 0; ((size_t)1 << c.bits) < encoder_dim(enc); c.bits++)
			;
	} else if (whole) {
		c.classes[c.n_classes++] = "complaint";
		c.classes[c.n_classes++] = "answers";
	} else if (gate) {
		c.classes[c.n_classes++] = "complaint";
		c.classes[c.n_classes++] = "serious";
		c.classes[c.n_classes++] = "answers";
	} else {
		for (size_t i = 0; i < G_N_ELEMENTS(sentence_tags); i++)
			c.classes[c.n_classes++] = sentence_tags[i];
	}
	for (unsigned k = 0; k < c.n_classes; k++)
		c.pool[k] = CLASSIFIER_POOL_DEFAULT;
	double C = 1.0, complaint_fp = 0.015;
	int sources = 0;
	for (int i = head ? 5 : 3; i < argc; i++) {
		if (strcmp(argv[i], "--pool") == 0 && i + 1 < argc) {
			if (!c.split)
				die("--pool: only the gate reads its texts sentence by sentence");
			gchar **each = g_strsplit(argv[++i], ",", -1);
			for (gchar **e = each; *e; e++) {
				char *eq = strchr(*e, '=');
				if (eq != NULL)
					*eq = '\0';
				int k = eq ? class_index(&c, *e) : -1;
				char *end = NULL;
				long n = eq ? strtol(eq + 1, &end, 10) : 0;
				if (eq && (end == eq + 1 || *end != '\0'))
					n = 0; /* not a whole number */
				if (k < 0 || n < 1 || n > CLASSIFIER_POOL_MAX)
					die("--pool: expected CLASS=K, a class of the model and K from 1 to "
					    "%d",
					    CLASSIFIER_POOL_MAX);
				c.pool[k] = (unsigned)n;
			}
			g_strfreev(each);
			continue;
		}
		if (strcmp(argv[i], "--complaint-fp") == 0 && i + 1 < argc) {
			complaint_fp = g_ascii_strtod(argv[++i], NULL);
			if (!(complaint_fp > 0 && complaint_fp < 1))
				die("--complaint-fp: expected a rate between 0 and 1");
			continue;
		}
		if (strcmp(argv[i], "-C") == 0 && i + 1 < argc) {
			C = g_ascii_strtod(argv[++i], NULL);
			if (!(C > 0))
				die("-C: expected a positive number");
			continue;
		}
		if (strcmp(argv[i], "--aux") == 0 && i + 1 < argc) {
			c.aux = true;
			read_tsv(&c, argv[++i], gate);
			c.aux = false;
			continue;
		}
		if (strcmp(argv[i], "--aux-none") == 0 && i + 1 < argc) {
			c.aux = true;
			read_tsv(&c, argv[++i], true);
			c.aux = false;
			continue;
		}
		if (strcmp(argv[i], "--extra") == 0 && i + 1 < argc) {
			read_tsv(&c, argv[++i], gate);
			continue;
		}
		/* The gate's own sources are folds of their own: each text is scored
		 * by a model that saw none of its file, so the thresholds allow for
		 * text unlike the training data (leave-one-source-out). */
		c.source = gate ? sources++ : -1;
		read_tsv(&c, argv[i], gate);
		c.source = -1;
	}
	/* One fold per source file of the gate (leave-one-source-out: adding a
	 * file moves no other file's texts between folds), five for the
	 * sentence model; texts of no source are spread over the folds by a
	 * hash of the text. */
	c.n_folds = gate && sources >= 2 ? (guint)sources : FOLDS;
	for (guint i = 0; i < c.docs->len; i++) {
		struct doc *d = &g_array_index(c.docs, struct doc, i);
		d->fold %= c.n_folds;
	}
	/* A class needs lines both ways (partial lines may name a tag only one
	 * way): without, its model would say one thing of every text. */
	for (unsigned k = 0; k < c.n_classes; k++) {
		unsigned pos = 0, neg = 0;
		for (guint i = 0; i < c.docs->len; i++) {
			const struct doc *d = &g_array_index(c.docs, struct doc, i);
			if (d->mask & (1u << k))
				(d->labels & (1u << k)) ? pos++ : neg++;
		}
		if (pos == 0 || neg == 0)
			die("class %s: no text %s it", c.classes[k], pos == 0 ? "has" : "lacks");
	}
	double *w[CLASSIFIER_MAX_CLASSES];
	struct fit_report rep[CLASSIFIER_MAX_CLASSES];
	printf("%-10s %6s %6s  %5s %6s %5s %7s\n", "class", "pos", "neg", "prec", "recall", "f1", "fp-rate");
	for (unsigned k = 0; k < c.n_classes; k++) {
		/* The gate's classes keep false alarms within a rate: complaint
		 * (--complaint-fp) and answers (1.5%) on ordinary mail, serious (2%)
		 * on normal complaints.  The sentence tags take the best F1
		 * (defensive, which holds mail, the best F0.5). */
		const char *name = c.classes[k];
		double max_fp = !gate                            ? 0
		                : strcmp(name, "complaint") == 0 ? complaint_fp
		                : strcmp(name, "serious") == 0   ? 0.02
		                                                 : 0.015;
		double beta = !gate && strcmp(c.classes[k], "defensive") == 0 ? 0.5 : 1.0;
		rep[k] = cross_validate(&c, k, C, beta, max_fp);
		w[k] = fit(&c, k, -1, C);
		printf("%-10s %6u %6u  %5.3f %6.3f %5.3f %7.3f\n", c.classes[k], rep[k].pos, rep[k].neg,
		       rep[k].precision, rep[k].recall, rep[k].f1, rep[k].fp_rate);
	}
	write_model(argv[2], argv[1], &c, w, rep);
	printf("%s: %u texts (%u sentences), %u-fold cross-validated figures at the chosen thresholds\n",
	       argv[2], c.docs->len, c.items->len, c.n_folds);
	for (unsigned k = 0; k < c.n_classes; k++)
		g_free(w[k]);
	for (guint i = 0; i < c.items->len; i++)
		g_free(g_array_index(c.items, struct item, i).x);
	for (guint i = 0; i < c.docs->len; i++)
		g_free(g_array_index(c.docs, struct doc, i).text);
	g_array_free(c.items, TRUE);
	g_array_free(c.docs, TRUE);
	g_hash_table_destroy(c.seen);
	encoder_free(enc);
	return 0;
}
