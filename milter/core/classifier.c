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

struct reader {
	const char *name;
	const char *p, *end;
	unsigned line;
	GString *err;
};

static void fail(struct reader *r, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void fail(struct reader *r, const char *fmt, ...)
{
	if (r->err->len)
		return;
	va_list ap;
	va_start(ap, fmt);
	g_string_append_printf(r->err, "%s:%u: ", r->name, r->line);
	g_string_append_vprintf(r->err, fmt, ap);
	va_end(ap);
}

/* The next line that is not empty or a comment, without its newline; NULL
 * at the end. */
static const char *next_line(struct reader *r, size_t *n)
{
	while (r->p < r->end) {
		const char *s = r->p;
		const char *nl = memchr(s, '\n', (size_t)(r->end - s));
		const char *e = nl ? nl : r->end;
		r->p = nl ? nl + 1 : r->end;
		r->line++;
		if (e == s || *s == '#')
			continue;
		*n = (size_t)(e - s);
		return s;
	}
	return NULL;
}

/* "KEY rest": returns a copy of rest when the line starts with KEY. */
static char *keyed(struct reader *r, const char *key)
{
	size_t n;
	const char *s = next_line(r, &n);
	size_t k = strlen(key);
	if (s == NULL || n < k || memcmp(s, key, k) != 0 || (n > k && s[k] != ' ')) {
		fail(r, "expected \"%s\"", key);
		return NULL;
	}
	return n > k ? g_strndup(s + k + 1, n - k - 1) : g_strdup("");
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
	if (!g_ascii_isdigit(*p))
		return false;
	long v = 0;
	for (int digits = 0; g_ascii_isdigit(*p); p++, digits++) {
		if (digits >= 12)
			return false;
		v = v * 10 + (*p - '0');
	}
	*out = neg ? -v : v;
	*s = p;
	return true;
}

static bool parse_ints(struct reader *r, const char *s, long *out, unsigned n, const char *what)
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

static void read_header(struct reader *r, struct classifier *m, double *scale)
{
	char *v = keyed(r, "apology-model");
	if (v && strcmp(v, "1") != 0)
		fail(r, "unknown model format \"%s\" (this build reads 1)", v);
	g_free(v);
	m->name = keyed(r, "name");
	m->version = keyed(r, "version");
	char *b = keyed(r, "bits");
	if (b) {
		long bits = strtol(b, NULL, 10);
		if (bits < 8 || bits > CLASSIFIER_MAX_BITS)
			fail(r, "bits: expected 8 to %d", CLASSIFIER_MAX_BITS);
		m->bits = (unsigned)bits;
	}
	g_free(b);
	char *sc = keyed(r, "scale");
	if (sc) {
		*scale = g_ascii_strtod(sc, NULL);
		if (!(*scale >= 1 && *scale <= 1e9))
			fail(r, "scale: expected a number from 1 to 1e9");
	}
	g_free(sc);
	char *cl = keyed(r, "classes");
	if (cl) {
		gchar **names = g_strsplit(cl, " ", -1);
		for (unsigned i = 0; names[i]; i++) {
			if (*names[i] == '\0')
				continue;
			if (m->n_classes == CLASSIFIER_MAX_CLASSES) {
				fail(r, "classes: more than %d", CLASSIFIER_MAX_CLASSES);
				break;
			}
			m->classes[m->n_classes++] = g_strdup(names[i]);
		}
		g_strfreev(names);
		if (m->n_classes == 0)
			fail(r, "classes: none named");
	}
	g_free(cl);
}

static void read_vector(struct reader *r, const char *key, float *out, unsigned n, double scale)
{
	char *v = keyed(r, key);
	long vals[CLASSIFIER_MAX_CLASSES];
	if (v && parse_ints(r, v, vals, n, key))
		for (unsigned i = 0; i < n; i++)
			out[i] = (float)(vals[i] / scale);
	g_free(v);
}

static void read_weights(struct reader *r, struct classifier *m, double scale)
{
	size_t buckets = (size_t)1 << m->bits, n;
	const char *s;
	long vals[CLASSIFIER_MAX_CLASSES + 1];
	char line[512];
	while ((s = next_line(r, &n)) != NULL) {
		if (n == 3 && memcmp(s, "end", 3) == 0)
			return;
		if (n >= sizeof line) {
			fail(r, "weight line too long");
			return;
		}
		memcpy(line, s, n);
		line[n] = '\0';
		if (!parse_ints(r, line, vals, m->n_classes + 1, "weights"))
			return;
		if (vals[0] < 0 || (size_t)vals[0] >= buckets) {
			fail(r, "weights: bucket %ld out of range", vals[0]);
			return;
		}
		for (unsigned c = 0; c < m->n_classes; c++)
			m->weights[(size_t)vals[0] * m->n_classes + c] = (float)(vals[c + 1] / scale);
	}
	fail(r, "the file ends before its \"end\" line (cut short?)");
}

struct classifier *classifier_parse(const char *name, const char *data, size_t len, char **err)
{
	struct reader r = {name, data, data + len, 0, g_string_new(NULL)};
	struct classifier *m = g_new0(struct classifier, 1);
	double scale = 1;
	read_header(&r, m, &scale);
	if (r.err->len == 0) {
		read_vector(&r, "bias", m->bias, m->n_classes, scale);
		read_vector(&r, "threshold", m->threshold, m->n_classes, scale);
	}
	if (r.err->len == 0) {
		m->weights = g_new0(float, ((size_t)1 << m->bits) * m->n_classes);
		read_weights(&r, m, scale);
	}
	if (r.err->len) {
		*err = g_string_free(r.err, FALSE);
		classifier_free(m);
		return NULL;
	}
	g_string_free(r.err, TRUE);
	return m;
}

void classifier_free(struct classifier *m)
{
	if (m == NULL)
		return;
	for (unsigned i = 0; i < m->n_classes; i++)
		g_free(m->classes[i]);
	g_free(m->name);
	g_free(m->version);
	g_free(m->weights);
	g_free(m);
}

int classifier_class(const struct classifier *m, const char *name)
{
	for (unsigned i = 0; m && i < m->n_classes; i++)
		if (strcmp(m->classes[i], name) == 0)
			return (int)i;
	return -1;
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

float classifier_pool(float *logits, size_t n)
{
	if (n == 0)
		return -INFINITY;
	size_t a = 0;
	for (size_t i = 1; i < n; i++)
		if (logits[i] > logits[a])
			a = i;
	if (n == 1)
		return logits[a];
	float top = logits[a];
	logits[a] = logits[0];
	logits[0] = top;
	size_t b = 1;
	for (size_t i = 2; i < n; i++)
		if (logits[i] > logits[b])
			b = i;
	return (top + logits[b]) / 2;
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
		logits[c] = classifier_pool(per + (size_t)c * ss->len, n);
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

/* The weight of the features that lie inside [A, B). */
static float span_weight(const GArray *spans, const float *w, guint n, guint32 a, guint32 b)
{
	float sum = 0;
	for (guint i = 0; i < n; i++) {
		guint32 s = g_array_index(spans, guint32, 2 * i),
		        e = g_array_index(spans, guint32, 2 * i + 1);
		if (e > s && s >= a && e <= b)
			sum += w[i];
	}
	return sum;
}

bool classifier_explain(const struct classifier *m, const char *text, size_t len, unsigned cls, size_t *start,
                        size_t *end)
{
	GArray *feats = g_array_new(FALSE, FALSE, sizeof(guint32));
	GArray *spans = g_array_new(FALSE, FALSE, sizeof(guint32));
	classifier_features(text, len, m->bits, feats, spans);
	float *w = g_new(float, feats->len ? feats->len : 1);
	for (guint i = 0; i < feats->len; i++)
		w[i] = m->weights[(size_t)g_array_index(feats, guint32, i) * m->n_classes + cls];
	/* Candidates: every feature's span (a word, a pair of words), and two
	 * overlapping pairs joined (three words). */
	float best = 0;
	guint32 ba = 0, bb = 0;
	for (guint i = 0; i < feats->len; i++) {
		guint32 a = g_array_index(spans, guint32, 2 * i),
		        b = g_array_index(spans, guint32, 2 * i + 1);
		if (b <= a)
			continue;
		for (guint j = 0; j <= feats->len; j++) {
			guint32 ca = a, cb = b;
			if (j < feats->len) {
				guint32 a2 = g_array_index(spans, guint32, 2 * j),
				        b2 = g_array_index(spans, guint32, 2 * j + 1);
				if (!(a2 > a && a2 < b && b2 > b))
					continue; /* not the pair that continues this one */
				cb = b2;
			}
			float sum = span_weight(spans, w, feats->len, ca, cb);
			if (sum > best + 1e-6f || (sum > best - 1e-6f && sum > 0 && cb - ca < bb - ba)) {
				best = sum;
				ba = ca;
				bb = cb;
			}
		}
	}
	g_free(w);
	g_array_free(feats, TRUE);
	g_array_free(spans, TRUE);
	*start = ba;
	*end = bb;
	return bb > ba;
}
