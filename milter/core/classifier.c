/*
 * classifier.c - learned classifiers: hashed word features, model files, scores
 * (see classifier.h).  Used by the complaint gate (thread.c) and the rules
 * (evaluate.c); the trainer (milter/train/) makes the features with the same
 * function.  Pure: no I/O.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "classifier.h"
#include "normalize.h"
#include "thread.h"

struct feat {
	guint32 idx;
	guint32 start, end; /* span in the input text */
};

static guint32 fnv1a(char ns, const char *a, size_t alen, const char *b, size_t blen)
{
	guint32 h = 2166136261u;
	h = (h ^ (guint8)ns) * 16777619u;
	for (size_t i = 0; i < alen; i++)
		h = (h ^ (guint8)a[i]) * 16777619u;
	if (b) {
		h = (h ^ (guint8)' ') * 16777619u;
		for (size_t i = 0; i < blen; i++)
			h = (h ^ (guint8)b[i]) * 16777619u;
	}
	/* final mix: the low bits select the bucket */
	h ^= h >> 15;
	h *= 0x2c1b3c6du;
	h ^= h >> 12;
	return h;
}

static void push(GArray *fs, unsigned bits, char ns, const char *a, size_t alen, const char *b, size_t blen,
                 guint32 start, guint32 end)
{
	struct feat f = {fnv1a(ns, a, alen, b, blen) & ((1u << bits) - 1), start, end};
	g_array_append_val(fs, f);
}

static bool word_byte(unsigned char c)
{
	return g_ascii_isalnum(c) || c >= 0x80;
}

/* Words of three or more capitals in the author's own text ("NOT", "ASAP"). */
static unsigned shouted_words(const char *text, size_t len)
{
	unsigned n = 0;
	size_t i = 0;
	while (i < len) {
		if (!g_ascii_isupper(text[i])) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < len && g_ascii_isupper(text[j]))
			j++;
		if (j - i >= 3 && (i == 0 || !g_ascii_isalpha(text[i - 1])) &&
		    (j == len || !g_ascii_isalpha(text[j])))
			n++;
		i = j;
	}
	return n;
}

static void shapes(const char *text, size_t len, unsigned ntok, bool digits, unsigned bits, GArray *fs)
{
	static const char *const bins[] = {"1", "2", "3", "4", "5"};
	size_t e = len;
	while (e > 0 && g_ascii_isspace(text[e - 1]))
		e--;
	if (e > 0 && text[e - 1] == '?')
		push(fs, bits, 's', "?", 1, NULL, 0, 0, 0);
	bool bang = false, mixed = false;
	for (const char *p = memchr(text, '!', len); p;
	     p = memchr(p + 1, '!', (size_t)(text + len - p - 1))) {
		bang = true;
		if ((p > text && p[-1] == '?') || (p + 1 < text + len && p[1] == '?'))
			mixed = true;
		if (p + 1 >= text + len)
			break;
	}
	if (bang)
		push(fs, bits, 's', "!", 1, NULL, 0, 0, 0);
	if (mixed)
		push(fs, bits, 's', "?!", 2, NULL, 0, 0, 0);
	unsigned caps = shouted_words(text, len);
	if (caps >= 1)
		push(fs, bits, 's', "C", 1, NULL, 0, 0, 0);
	if (caps >= 3)
		push(fs, bits, 's', "CC", 2, NULL, 0, 0, 0);
	if (digits)
		push(fs, bits, 's', "#", 1, NULL, 0, 0, 0);
	unsigned bin = ntok <= 3 ? 0 : ntok <= 8 ? 1 : ntok <= 16 ? 2 : ntok <= 32 ? 3 : 4;
	push(fs, bits, 'L', bins[bin], 1, NULL, 0, 0, 0);
}

unsigned classifier_features(const char *text, size_t len, unsigned bits, GArray *out, GArray *words)
{
	g_array_set_size(out, 0);
	if (words)
		g_array_set_size(words, 0);
	struct normtext nt;
	normalize_text(text, len, &nt);
	GArray *fs = g_array_sized_new(FALSE, FALSE, sizeof(struct feat), 64);
	const char *s = nt.s;
	const char *prev = "^";
	size_t prev_len = 1, prev_start = 0;
	unsigned ntok = 0;
	bool digits = false;
	size_t i = 0;
	while (i < nt.len) {
		if (!word_byte((unsigned char)s[i])) {
			i++;
			continue;
		}
		size_t j = i;
		bool num = false;
		while (j < nt.len && word_byte((unsigned char)s[j])) {
			num |= g_ascii_isdigit(s[j]);
			j++;
		}
		const char *w = num ? "#" : s + i;
		size_t wl = num ? 1 : j - i;
		guint32 os = (guint32)normtext_orig(&nt, i), oe = (guint32)normtext_orig(&nt, j);
		digits |= num;
		push(fs, bits, 'w', w, wl, NULL, 0, os, oe);
		push(fs, bits, 'b', prev, prev_len, w, wl, (guint32)prev_start, oe);
		if (wl > 6)
			push(fs, bits, 'p', w, 5, NULL, 0, os, oe);
		prev = w;
		prev_len = wl;
		prev_start = os;
		ntok++;
		i = j;
	}
	if (ntok)
		push(fs, bits, 'b', prev, prev_len, "$", 1, (guint32)prev_start, (guint32)len);
	shapes(text, len, ntok, digits, bits, fs);
	/* Keep the first occurrence of each bucket, in order of appearance: a
	 * small open-addressing set instead of a sort (this runs per sentence). */
	guint cap = 64;
	while (cap < 2 * fs->len)
		cap *= 2;
	guint32 stack[256], *set = cap <= 256 ? stack : g_new(guint32, cap);
	memset(set, 0xff, cap * sizeof *set);
	for (guint k = 0; k < fs->len; k++) {
		const struct feat *f = &g_array_index(fs, struct feat, k);
		guint h = (f->idx * 2654435761u) & (cap - 1);
		while (set[h] != UINT32_MAX && set[h] != f->idx)
			h = (h + 1) & (cap - 1);
		if (set[h] == f->idx)
			continue;
		set[h] = f->idx;
		g_array_append_val(out, f->idx);
		if (words) {
			g_array_append_val(words, f->start);
			g_array_append_val(words, f->end);
		}
	}
	if (set != stack)
		g_free(set);
	g_array_free(fs, TRUE);
	normtext_clear(&nt);
	return ntok;
}

/* ---- model files ------------------------------------------------------------ */

/* The header's lines, in the order a model file has them; then the weights.
 * "pool" may be left out (a file written before it: CLASSIFIER_POOL_DEFAULT
 * for every class), and so may "reads" (a model of words reads none). */
enum part {
	P_FORMAT,
	P_NAME,
	P_VERSION,
	P_BITS,
	P_SCALE,
	P_CLASSES,
	P_BIAS,
	P_THRESHOLD,
	P_POOL,
	P_READS,
	P_WEIGHTS,
	P_END
};
static const char *const part_key[] = {"apology-model", "name", "version",   "bits", "scale",
                                       "classes",       "bias", "threshold", "pool", "reads"};

struct classifier_reader {
	char *name;
	unsigned line;
	enum part part;
	double scale;
	GString *err;
	GString *carry; /* the start of a line the last piece cut */
	struct classifier *m;
};

static void fail(struct classifier_reader *r, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void fail(struct classifier_reader *r, const char *fmt, ...)
{
	if (r->err->len)
		return;
	va_list ap;
	va_start(ap, fmt);
	g_string_append_printf(r->err, "%s:%u: ", r->name, r->line);
	g_string_append_vprintf(r->err, fmt, ap);
	va_end(ap);
}

/* One optionally signed decimal integer at *S (after spaces); false when
 * there is none or it is out of range.  (strtol is the slowest part of
 * loading a model: a few hundred thousand numbers.) */
static bool next_int(const char **s, long *out)
{
	const char *p = *s;
	while (*p == ' ')
		p++;
	bool neg = *p == '-';
	if (*p == '-' || *p == '+')
		p++;
	unsigned d = (unsigned char)*p - '0';
	if (d > 9)
		return false;
	long v = 0;
	int digits = 0;
	do {
		if (++digits > 12)
			return false;
		v = v * 10 + d;
		d = (unsigned char)*++p - '0';
	} while (d <= 9);
	*out = neg ? -v : v;
	*s = p;
	return true;
}

static bool parse_ints(struct classifier_reader *r, const char *s, long *out, unsigned n, const char *what)
{
	for (unsigned i = 0; i < n; i++) {
		if (!next_int(&s, &out[i])) {
			fail(r, "%s: expected %u integers", what, n);
			return false;
		}
	}
	while (*s == ' ')
		s++;
	if (*s != '\0') {
		fail(r, "%s: more than %u numbers", what, n);
		return false;
	}
	return true;
}

/*
 * The weights: 2^bits x classes floats (5.5 MB for the shipped sentence
 * model, 1.5 and 1 MB for the gates), every page of which the file writes.
 * Where a first touch of a page is dear (10 to 15 µs a page on the virtual
 * machine measured, 25 ms for the three shipped models' 8 MB), the array asks
 * for huge pages when it fills at least half of one (2 MB pages: one fault
 * each, and fewer TLB misses when sentences are scored; at most 1 MB more
 * resident per model), and has its pages made by one call rather than a
 * fault each.  Both are hints: a kernel without them gives ordinary pages,
 * and the weights are the same.  Freed with g_free().
 */
#define HUGE_PAGE ((size_t)2 << 20)

static void pages_in(void *p, size_t bytes)
{
#ifdef MADV_POPULATE_WRITE
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = ((uintptr_t)p + page - 1) & ~(page - 1), e = ((uintptr_t)p + bytes) & ~(page - 1);
	if (e > a)
		(void)madvise((void *)a, e - a, MADV_POPULATE_WRITE);
#else
	(void)p;
	(void)bytes;
#endif
}

static float *weights_new(size_t n)
{
	size_t bytes = n * sizeof(float);
	void *p = NULL;
#ifdef MADV_HUGEPAGE
	if (bytes >= HUGE_PAGE / 2) {
		size_t whole = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
		if (posix_memalign(&p, HUGE_PAGE, whole) != 0)
			g_error("classifier: cannot allocate %zu bytes of weights", whole);
		(void)madvise(p, whole, MADV_HUGEPAGE);
	}
#endif
	if (p == NULL)
		p = g_malloc(bytes);
	pages_in(p, bytes);
	memset(p, 0, bytes);
	return p;
}

static void read_header_value(struct classifier_reader *r, const char *v)
{
	struct classifier *m = r->m;
	switch (r->part) {
	case P_FORMAT:
		if (strcmp(v, "1") != 0)
			fail(r, "unknown model format \"%s\" (this build reads 1)", v);
		break;
	case P_NAME: m->name = g_strdup(v); break;
	case P_VERSION: m->version = g_strdup(v); break;
	case P_BITS: {
		long bits = strtol(v, NULL, 10);
		if (bits < 8 || bits > CLASSIFIER_MAX_BITS)
			fail(r, "bits: expected 8 to %d", CLASSIFIER_MAX_BITS);
		m->bits = (unsigned)bits;
		break;
	}
	case P_SCALE:
		r->scale = g_ascii_strtod(v, NULL);
		if (!(r->scale >= 1 && r->scale <= 1e9))
			fail(r, "scale: expected a number from 1 to 1e9");
		break;
	case P_CLASSES: {
		gchar **names = g_strsplit(v, " ", -1);
		for (unsigned i = 0; names[i]; i++) {
			if (*names[i] == '\0')
				continue;
			if (m->n_classes == CLASSIFIER_MAX_CLASSES) {
				fail(r, "classes: more than %d", CLASSIFIER_MAX_CLASSES);
				break;
			}
			if (classifier_class(m, names[i]) >= 0) {
				fail(r, "classes: \"%s\" named twice", names[i]);
				break;
			}
			m->pool[m->n_classes] = CLASSIFIER_POOL_DEFAULT;
			m->classes[m->n_classes++] = g_strdup(names[i]);
		}
		g_strfreev(names);
		if (m->n_classes == 0)
			fail(r, "classes: none named");
		break;
	}
	case P_BIAS:
	case P_THRESHOLD: {
		float *out = r->part == P_BIAS ? m->bias : m->threshold;
		long vals[CLASSIFIER_MAX_CLASSES];
		if (parse_ints(r, v, vals, m->n_classes, part_key[r->part]))
			for (unsigned i = 0; i < m->n_classes; i++)
				out[i] = (float)(vals[i] / r->scale);
		break;
	}
	case P_POOL: {
		long vals[CLASSIFIER_MAX_CLASSES];
		if (!parse_ints(r, v, vals, m->n_classes, part_key[r->part]))
			break;
		for (unsigned i = 0; i < m->n_classes; i++) {
			if (vals[i] < 1 || vals[i] > CLASSIFIER_POOL_MAX) {
				fail(r, "pool: expected 1 to %d sentences per class", CLASSIFIER_POOL_MAX);
				break;
			}
			m->pool[i] = (unsigned)vals[i];
		}
		break;
	}
	case P_READS:
		m->reads = g_strstrip(g_strdup(v));
		if (*m->reads == '\0')
			fail(r, "reads: expected the name of an encoder");
		break;
	default: g_assert_not_reached();
	}
}

/* Whether line S (N bytes) starts with KEY as a word. */
static bool has_key(const char *s, size_t n, const char *key)
{
	size_t k = strlen(key);
	return n >= k && memcmp(s, key, k) == 0 && (n == k || s[k] == ' ');
}

/* On to the header's next line, or to the weights after its last. */
static void next_part(struct classifier_reader *r)
{
	if (++r->part == P_WEIGHTS && r->err->len == 0)
		r->m->weights = weights_new(((size_t)1 << r->m->bits) * r->m->n_classes);
}

/* "KEY value", KEY the one the header has next. */
static void read_header_line(struct classifier_reader *r, const char *s, size_t n)
{
	const char *key = part_key[r->part];
	size_t k = strlen(key);
	if (!has_key(s, n, key)) {
		fail(r, "expected \"%s\"", key);
		return;
	}
	char *v = n > k ? g_strndup(s + k + 1, n - k - 1) : g_strdup("");
	read_header_value(r, v);
	g_free(v);
	next_part(r);
}

/* "BUCKET W1 W2 ...", or "end". */
static void read_weight_line(struct classifier_reader *r, const char *s, size_t n)
{
	struct classifier *m = r->m;
	long vals[CLASSIFIER_MAX_CLASSES + 1];
	char line[512];
	if (n == 3 && memcmp(s, "end", 3) == 0) {
		r->part = P_END;
		return;
	}
	if (n >= sizeof line) {
		fail(r, "weight line too long");
		return;
	}
	memcpy(line, s, n);
	line[n] = '\0';
	if (!parse_ints(r, line, vals, m->n_classes + 1, "weights"))
		return;
	if (vals[0] < 0 || (size_t)vals[0] >= ((size_t)1 << m->bits)) {
		fail(r, "weights: bucket %ld out of range", vals[0]);
		return;
	}
	for (unsigned c = 0; c < m->n_classes; c++)
		m->weights[(size_t)vals[0] * m->n_classes + c] = (float)(vals[c + 1] / r->scale);
}

/* One line, without its newline.  Empty lines and comments are skipped; the
 * first error ends the reading (the rest is only counted). */
static void take_line(struct classifier_reader *r, const char *s, size_t n)
{
	r->line++;
	if (n == 0 || *s == '#' || r->err->len || r->part == P_END)
		return;
	if (r->part == P_POOL && !has_key(s, n, part_key[P_POOL]))
		next_part(r); /* no pool line: every class's stays the default */
	if (r->part == P_READS && !has_key(s, n, part_key[P_READS]))
		next_part(r); /* no reads line: a model of words */
	if (r->part == P_WEIGHTS)
		read_weight_line(r, s, n);
	else
		read_header_line(r, s, n);
}

struct classifier_reader *classifier_reader_new(const char *name)
{
	struct classifier_reader *r = g_new0(struct classifier_reader, 1);
	r->name = g_strdup(name);
	r->part = P_FORMAT;
	r->scale = 1;
	r->err = g_string_new(NULL);
	r->carry = g_string_new(NULL);
	r->m = g_new0(struct classifier, 1);
	return r;
}

bool classifier_reader_feed(struct classifier_reader *r, const char *data, size_t len)
{
	const char *p = data, *end = data + len;
	while (p < end && r->err->len == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) {
			if (r->carry->len + (size_t)(end - p) > CLASSIFIER_MAX_LINE) {
				r->line++;
				fail(r, "a line of more than %d bytes", CLASSIFIER_MAX_LINE);
				g_string_truncate(r->carry, 0);
				break;
			}
			g_string_append_len(r->carry, p, end - p);
			return true;
		}
		if (r->carry->len) {
			g_string_append_len(r->carry, p, nl - p);
			take_line(r, r->carry->str, r->carry->len);
			g_string_truncate(r->carry, 0);
		} else {
			take_line(r, p, (size_t)(nl - p));
		}
		p = nl + 1;
	}
	return r->err->len == 0;
}

struct classifier *classifier_reader_finish(struct classifier_reader *r, char **err)
{
	if (r->carry->len)
		take_line(r, r->carry->str, r->carry->len);
	if (r->part < P_POOL)
		fail(r, "expected \"%s\"", part_key[r->part]);
	else if (r->part <= P_WEIGHTS) /* "pool" and "reads" may be left out: the weights are due */
		fail(r, "the file ends before its \"end\" line (cut short?)");
	struct classifier *m = r->m;
	if (r->err->len) {
		*err = g_string_free(r->err, FALSE);
		classifier_free(m);
		m = NULL;
	} else {
		g_string_free(r->err, TRUE);
	}
	g_string_free(r->carry, TRUE);
	g_free(r->name);
	g_free(r);
	return m;
}

struct classifier *classifier_parse(const char *name, const char *data, size_t len, char **err)
{
	struct classifier_reader *r = classifier_reader_new(name);
	classifier_reader_feed(r, data, len);
	return classifier_reader_finish(r, err);
}

void classifier_free(struct classifier *m)
{
	if (m == NULL)
		return;
	for (unsigned i = 0; i < m->n_classes; i++)
		g_free(m->classes[i]);
	g_free(m->name);
	g_free(m->version);
	g_free(m->reads);
	g_free(m->weights);
	g_free(m);
}

/* The digest VERSION (a version line's value) names, or NULL: "1 (N
 * examples, 0123456789ab)". */
static const char *named_digest(const char *version, size_t len)
{
	if (len < 16 || memcmp(version + len - 15, ", ", 2) != 0 || version[len - 1] != ')')
		return NULL;
	const char *d = version + len - 13;
	for (int i = 0; i < 12; i++)
		if (!g_ascii_isdigit(d[i]) && (d[i] < 'a' || d[i] > 'f'))
			return NULL;
	return d;
}

enum classifier_digest classifier_digest_check(const char *data, size_t len)
{
	const char *p = data, *end = data + len, *named = NULL;
	GChecksum *sum = NULL;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (sum) {
			g_checksum_update(sum, (const guchar *)p, (gssize)n);
			g_checksum_update(sum, (const guchar *)"\n", 1);
			if (n == 3 && memcmp(p, "end", 3) == 0)
				break;
		} else if (has_key(p, n, part_key[P_VERSION])) {
			named = n > 8 ? named_digest(p + 8, n - 8) : NULL;
			if (named == NULL)
				return CLASSIFIER_DIGEST_NONE;
			sum = g_checksum_new(G_CHECKSUM_SHA256);
		}
		p = nl ? nl + 1 : end;
	}
	if (sum == NULL)
		return CLASSIFIER_DIGEST_NONE;
	bool same = strncmp(g_checksum_get_string(sum), named, 12) == 0;
	g_checksum_free(sum);
	return same ? CLASSIFIER_DIGEST_SAME : CLASSIFIER_DIGEST_DIFFERS;
}

int classifier_class(const struct classifier *m, const char *name)
{
	for (unsigned i = 0; m && i < m->n_classes; i++)
		if (strcmp(m->classes[i], name) == 0)
			return (int)i;
	return -1;
}

bool classifier_same(const struct classifier *a, const struct classifier *b)
{
	if (a->bits != b->bits || a->n_classes != b->n_classes)
		return false;
	size_t k = a->n_classes;
	for (size_t c = 0; c < k; c++)
		if (strcmp(a->classes[c], b->classes[c]) != 0 || a->pool[c] != b->pool[c])
			return false;
	/* every value is an integer of the file over its scale: no NaN and no
	 * -0, so equal floats are equal bytes */
	return memcmp(a->bias, b->bias, k * sizeof *a->bias) == 0 &&
	       memcmp(a->threshold, b->threshold, k * sizeof *a->threshold) == 0 &&
	       memcmp(a->weights, b->weights, ((size_t)1 << a->bits) * k * sizeof *a->weights) == 0;
}

float classifier_feature_value(unsigned n)
{
	return n ? 1.0f / sqrtf((float)(n > CLASSIFIER_MIN_FEATURES ? n : CLASSIFIER_MIN_FEATURES)) : 0.0f;
}

void classifier_score(const struct classifier *m, const GArray *feats, float *logits)
{
	unsigned k = m->n_classes;
	float acc[CLASSIFIER_MAX_CLASSES] = {0};
	for (guint i = 0; i < feats->len; i++) {
		const float *w = m->weights + (size_t)g_array_index(feats, guint32, i) * k;
		for (unsigned c = 0; c < k; c++)
			acc[c] += w[c];
	}
	float norm = classifier_feature_value(feats->len);
	for (unsigned c = 0; c < k; c++)
		logits[c] = acc[c] * norm + m->bias[c];
}

void classifier_score_dense(const struct classifier *m, const float *x, float *logits)
{
	unsigned k = m->n_classes;
	float acc[CLASSIFIER_MAX_CLASSES] = {0};
	for (size_t i = 0; i < ((size_t)1 << m->bits); i++)
		for (unsigned c = 0; c < k; c++)
			acc[c] += m->weights[i * k + c] * x[i];
	for (unsigned c = 0; c < k; c++)
		logits[c] = acc[c] + m->bias[c];
}

float classifier_pool(float *logits, size_t n, unsigned k)
{
	if (n == 0)
		return -INFINITY;
	/* K is small (CLASSIFIER_POOL_MAX): the K highest moved to the front,
	 * one pass each. */
	size_t take = k < 1 ? 1 : k < n ? k : n;
	float sum = 0;
	for (size_t i = 0; i < take; i++) {
		size_t best = i;
		for (size_t j = i + 1; j < n; j++)
			if (logits[j] > logits[best])
				best = j;
		float top = logits[best];
		logits[best] = logits[i];
		logits[i] = top;
		sum += top;
	}
	return sum / (float)take;
}

void classifier_score_text(const struct classifier *m, const char *text, size_t len, float *logits)
{
	unsigned k = m->n_classes;
	GArray *ss = g_array_new(FALSE, FALSE, sizeof(struct sentence));
	sentence_split(text, len, ss);
	GArray *feats = g_array_sized_new(FALSE, FALSE, sizeof(guint32), 64);
	float *per = g_new(float, (size_t)k *(ss->len ? ss->len : 1));
	size_t n = 0;
	for (guint i = 0; i < ss->len; i++) {
		const struct sentence *st = &g_array_index(ss, struct sentence, i);
		if (classifier_features(text + st->start, st->end - st->start, m->bits, feats, NULL) == 0)
			continue; /* no words: nothing to read */
		float l[CLASSIFIER_MAX_CLASSES];
		classifier_score(m, feats, l);
		for (unsigned c = 0; c < k; c++)
			per[(size_t)c * ss->len + n] = l[c];
		n++;
	}
	for (unsigned c = 0; c < k; c++)
		logits[c] = classifier_pool(per + (size_t)c * ss->len, n, m->pool[c]);
	g_free(per);
	g_array_free(feats, TRUE);
	g_array_free(ss, TRUE);
}

void classifier_score_whole(const struct classifier *m, const char *text, size_t len, float *logits)
{
	GArray *feats = g_array_sized_new(FALSE, FALSE, sizeof(guint32), 256);
	if (classifier_features(text, len, m->bits, feats, NULL) == 0)
		for (unsigned c = 0; c < m->n_classes; c++)
			logits[c] = -INFINITY;
	else
		classifier_score(m, feats, logits);
	g_array_free(feats, TRUE);
}

/* Feature indices by span start (then index), for the lookups below. */
struct by_start {
	const guint32 *spans; /* start, end per feature */
	guint *idx;           /* features with a non-empty span, by start */
	guint n;
};

static int cmp_guint(const void *a, const void *b)
{
	guint x = *(const guint *)a, y = *(const guint *)b;
	return x < y ? -1 : x > y;
}

static int cmp_by_start(const void *a, const void *b, void *spans)
{
	const guint32 *sp = spans;
	guint x = *(const guint *)a, y = *(const guint *)b;
	guint32 sx = sp[2 * x], sy = sp[2 * y];
	if (sx != sy)
		return sx < sy ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* First position in BS whose feature starts at or after A. */
static guint first_from(const struct by_start *bs, guint32 a)
{
	guint lo = 0, hi = bs->n;
	while (lo < hi) {
		guint mid = lo + (hi - lo) / 2;
		if (bs->spans[2 * bs->idx[mid]] < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The weight of the features that lie inside [A, B), added in feature
 * order (as a plain pass over all of them would).  Only features starting
 * in [A, B) can lie inside: a few, where the candidates are words and
 * pairs of words, so this is O(log F) and not O(F) per candidate. */
static float span_weight(const struct by_start *bs, const float *w, GArray *tmp, guint32 a, guint32 b)
{
	g_array_set_size(tmp, 0);
	for (guint k = first_from(bs, a); k < bs->n && bs->spans[2 * bs->idx[k]] < b; k++)
		if (bs->spans[2 * bs->idx[k] + 1] <= b)
			g_array_append_val(tmp, bs->idx[k]);
	if (tmp->len > 1)
		qsort(tmp->data, tmp->len, sizeof(guint), cmp_guint);
	float sum = 0;
	for (guint k = 0; k < tmp->len; k++)
		sum += w[g_array_index(tmp, guint, k)];
	return sum;
}

bool classifier_explain(const struct classifier *m, const char *text, size_t len, unsigned cls, size_t *start,
                        size_t *end)
{
	GArray *feats = g_array_new(FALSE, FALSE, sizeof(guint32));
	GArray *spans = g_array_new(FALSE, FALSE, sizeof(guint32));
	classifier_features(text, len, m->bits, feats, spans);
	guint n = feats->len;
	float *w = g_new(float, n ? n : 1);
	for (guint i = 0; i < n; i++)
		w[i] = m->weights[(size_t)g_array_index(feats, guint32, i) * m->n_classes + cls];
	/* The features with a span, ordered by where it starts: each lookup
	 * below then reads only the few features near its candidate.  A text
	 * of 100,000 distinct words was some 30 s a call with a pass over
	 * every feature for each candidate (F^2). */
	const guint32 *sp = (const guint32 *)(void *)spans->data;
	struct by_start bs = {.spans = sp, .idx = g_new(guint, n ? n : 1)};
	for (guint i = 0; i < n; i++)
		if (sp[2 * i + 1] > sp[2 * i])
			bs.idx[bs.n++] = i;
	qsort_r(bs.idx, bs.n, sizeof(guint), cmp_by_start, (void *)sp);
	GArray *tmp = g_array_new(FALSE, FALSE, sizeof(guint));
	GArray *next = g_array_new(FALSE, FALSE, sizeof(guint));
	/* Candidates: every feature's span (a word, a pair of words), and two
	 * overlapping pairs joined (three words), in the order a pass over
	 * every pair (i, j) would take them, so that ties go the same way. */
	float best = 0;
	guint32 ba = 0, bb = 0;
	for (guint i = 0; i < n; i++) {
		guint32 a = sp[2 * i], b = sp[2 * i + 1];
		if (b <= a)
			continue;
		/* the features that continue this one: starting inside it, ending after it */
		g_array_set_size(next, 0);
		for (guint k = first_from(&bs, a + 1); k < bs.n && sp[2 * bs.idx[k]] < b; k++)
			if (sp[2 * bs.idx[k] + 1] > b)
				g_array_append_val(next, bs.idx[k]);
		if (next->len > 1)
			qsort(next->data, next->len, sizeof(guint), cmp_guint);
		for (guint k = 0; k <= next->len; k++) {
			guint32 ca = a, cb = k < next->len ? sp[2 * g_array_index(next, guint, k) + 1] : b;
			float sum = span_weight(&bs, w, tmp, ca, cb);
			if (sum > best + 1e-6f || (sum > best - 1e-6f && sum > 0 && cb - ca < bb - ba)) {
				best = sum;
				ba = ca;
				bb = cb;
			}
		}
	}
	g_array_free(tmp, TRUE);
	g_array_free(next, TRUE);
	g_free(bs.idx);
	g_free(w);
	g_array_free(feats, TRUE);
	g_array_free(spans, TRUE);
	*start = ba;
	*end = bb;
	return bb > ba;
}
