/*
 * classifier.h - the learned classifiers shipped next to a policy: logistic
 * regression over hashed word features.  One model file holds one or more
 * classes (the complaint gate: "complaint", "serious"; the sentence model:
 * one class per sentence tag, policies/training/README.md), each with its
 * weights, bias and a decision threshold calibrated on held-out data when it
 * was trained (`make train`, docs/models.md).
 *
 * The features are made here too, so training (milter/train/) and judging
 * read a text the same way: the text normalised like phrases (normalize.h),
 * words and word pairs, five-letter prefixes of long words, and a few shapes
 * (a question, "!", capitals, numbers, length).  Each feature is hashed to
 * one of 2^bits buckets; every feature present counts the same
 * (classifier_feature_value()).
 *
 * Pure: classifier_parse() reads a buffer the caller loaded (or the pieces
 * of one, classifier_reader_feed()).  Ownership: a struct
 * model is created by classifier_parse() and freed by classifier_free(); it is
 * read-only afterwards and may be shared between threads.
 */
#ifndef APOLOGY_CLASSIFIER_H
#define APOLOGY_CLASSIFIER_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

#define CLASSIFIER_MAX_CLASSES 16
#define CLASSIFIER_MAX_BITS    22

struct classifier {
	char *name;    /* the model's name line */
	char *version; /* its version line (apology-train: "1 (N examples, DIGEST)") */
	unsigned bits; /* 2^bits hash buckets */
	unsigned n_classes;
	char *classes[CLASSIFIER_MAX_CLASSES];
	float bias[CLASSIFIER_MAX_CLASSES];
	float threshold[CLASSIFIER_MAX_CLASSES]; /* on the logit */
	/* classifier_score_text(): each class's score is the mean of its POOL
	 * highest sentence logits (the "pool" line; CLASSIFIER_POOL_DEFAULT
	 * for a file without one) */
	unsigned pool[CLASSIFIER_MAX_CLASSES];
	/* what a model of dense values was trained on: the encoder_name() of
	 * the encoder whose embeddings it weighs (its "reads" line), or NULL */
	char *reads;
	float *weights; /* [bucket * n_classes + class] */
};

#define CLASSIFIER_POOL_DEFAULT 2
#define CLASSIFIER_POOL_MAX     8

/* Features of one text: unique bucket indices (guint32), in order of first
 * appearance, appended to OUT (which is cleared first).  When WORDS is not NULL, the byte span in
 * TEXT of each feature's last word is appended to it as pairs of guint32
 * (start, end), one pair per entry of OUT, so a caller can point at the
 * words that weighed most.  Returns the number of words in TEXT. */
unsigned classifier_features(const char *text, size_t len, unsigned bits, GArray *out, GArray *words);

/* The value every feature of a text with N features takes: 1/sqrt(N), but
 * never more than for CLASSIFIER_MIN_FEATURES, so that a three-word
 * sentence does not weigh like a paragraph. */
#define CLASSIFIER_MIN_FEATURES 16
float classifier_feature_value(unsigned n);

/* Parse a model file's contents.  Returns NULL and sets *ERR (owned by the
 * caller) when it is malformed; NAME is used in the messages. */
struct classifier *classifier_parse(const char *name, const char *data, size_t len, char **err);

/* The same, for a file read in pieces of any size, so that its reader needs
 * no buffer as large as the file: classifier_reader_new(), then
 * classifier_reader_feed() with each piece in order, then
 * classifier_reader_finish(), which frees the reader and returns what
 * classifier_parse() would for the whole (the caller owns it, or *ERR). */
struct classifier_reader;
struct classifier_reader *classifier_reader_new(const char *name);
/* False once the file is known to be bad (the rest need not be read). */
bool classifier_reader_feed(struct classifier_reader *r, const char *data, size_t len);
/* The longest line a model file may have. */
#define CLASSIFIER_MAX_LINE (64 * 1024)
struct classifier *classifier_reader_finish(struct classifier_reader *r, char **err);
void classifier_free(struct classifier *m);

/* Whether the model file DATA (LEN bytes) is what its version line names.
 * apology-train writes into the version line ("1 (N examples, DIGEST)") the
 * first 12 hex digits of the SHA-256 of every line after it up to and with
 * "end"; a site's hand edit or a damaged copy no longer matches.  Not part
 * of loading (hashing costs about as much as parsing): `policy check` and
 * the daemon's start and reload ask (policy_model_doubts()). */
enum classifier_digest {
	CLASSIFIER_DIGEST_NONE,   /* the version names no digest (an older trainer) */
	CLASSIFIER_DIGEST_SAME,   /* the lines are the ones it names */
	CLASSIFIER_DIGEST_DIFFERS /* edited or damaged since it was written */
};
enum classifier_digest classifier_digest_check(const char *data, size_t len);

/* Index of class NAME, or -1. */
int classifier_class(const struct classifier *m, const char *name);

/* Whether A and B judge alike: the same classes, thresholds, pooling, bias
 * and weights (whatever their name and version lines say).  What a model of
 * an encoder's values reads is not compared: policy_compare() reports it on
 * its own, and policy_load() refuses a head paired with another encoder. */
bool classifier_same(const struct classifier *a, const struct classifier *b);

/* Logits of every class for the features FEATS (from classifier_features()),
 * written to LOGITS[n_classes]. */
void classifier_score(const struct classifier *m, const GArray *feats, float *logits);

/* Logits of every class for a whole text read sentence by sentence (the
 * complaint gate): each sentence is scored alone and, per class, the text
 * gets the mean of its highest sentence logits, as many as the class's pool
 * (of all, for fewer sentences).  A complaint is a text with a few
 * sentences of breach among neutral ones, so its length does not dilute it.
 * Writes LOGITS[n_classes]; all -inf for a text without words. */
void classifier_score_text(const struct classifier *m, const char *text, size_t len, float *logits);

/* Logits of every class for a whole text read at once (the gate-text
 * model: a complaint told over several sentences, none a breach alone). */
void classifier_score_whole(const struct classifier *m, const char *text, size_t len, float *logits);

/* Pool per-sentence logits of one class (N of them, in any order; the array
 * is reordered) into the text's: the mean of the K highest (of all N when
 * there are fewer; K at least 1). */
float classifier_pool(float *logits, size_t n, unsigned k);

/* Each class's logit of a dense vector X of 2^bits values (an encoder's
 * embedding, encoder.h) instead of hashed features: the weights of bucket
 * i weigh X[i]. */
void classifier_score_dense(const struct classifier *m, const float *x, float *logits);

/* The words of TEXT that weighed most for class CLS: the run of one to
 * three words whose features add up to the most.  Sets [*START, *END) (byte
 * offsets in TEXT) and returns true, or false when no word counted for it. */
bool classifier_explain(const struct classifier *m, const char *text, size_t len, unsigned cls, size_t *start,
                        size_t *end);

#endif
