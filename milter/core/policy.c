/*
 * policy.c - load a YAML policy (libfyaml), validate every key against one
 * table, and compile all phrase lists into one matcher.  Errors read
 * "file:line:col: message".  Pure apart from reading the file it is given.
 *
 * Phrase syntax (policies/README.md): a plain phrase is matched as whole
 * words, case-insensitively after normalisation; a space matches any run of
 * spaces or hyphens, an apostrophe may be missing, "word*" matches any
 * ending, "#" matches a number.  "re:" introduces a raw regular expression.
 */
#include <errno.h>
#include <libfyaml.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classifier.h"
#include "encoder.h"
#include "normalize.h"
#include "policy_priv.h"
#include "regular_file.h"
#include "units.h"
#include "yamldoc.h"

enum key_type {
	K_LIST,
	K_WORDS,
	K_DURATION,
	K_UINT,
	K_INT,
	K_NUMBER,
	K_STRING,
	K_BOOL,
	K_SEVERITY,
	K_BHOURS,
	K_HOLD_WHEN,
	K_GLOBS,
	K_CUE,
	K_SPLIT, /* a word list of the split: lex is its enum split_list */
	K_MAP
};

/* Where each value lives: a key inside a section, its type, and its target. */
struct key_spec {
	const char *key;
	enum key_type type;
	int lex;       /* phrase class for K_LIST, or -1 */
	size_t offset; /* field in struct policy for scalars */
	double min, max;
};

#define OFF(f) offsetof(struct policy, f)
#define NOFF   ((size_t)-1)

static const struct key_spec top_keys[] = {
    {"version", K_INT, -1, NOFF, 1, 1},        {"name", K_STRING, -1, NOFF, 0, 0},
    {"description", K_STRING, -1, NOFF, 0, 0}, {"applies-to", K_MAP, -1, NOFF, 0, 0},
    {"limits", K_MAP, -1, NOFF, 0, 0},         {"verdict", K_MAP, -1, NOFF, 0, 0},
    {"complaint", K_MAP, -1, NOFF, 0, 0},      {"kinds", K_MAP, -1, NOFF, 0, 0},
    {"lexicon", K_MAP, -1, NOFF, 0, 0},        {"rules", K_MAP, -1, NOFF, 0, 0},
    {"models", K_MAP, -1, NOFF, 0, 0},         {NULL, 0, 0, 0, 0, 0},
};

/* The learned classifiers (classifier.h), files beside the policy. */
static const struct key_spec model_keys[] = {
    {"gate", K_STRING, -1, NOFF, 0, 0},
    {"sentences", K_STRING, -1, NOFF, 0, 0},
    {"gate-text", K_STRING, -1, NOFF, 0, 0},
    {"encoder", K_STRING, -1, NOFF, 0, 0},
    {"encoder-head", K_STRING, -1, NOFF, 0, 0},
    {"encoder-lift", K_NUMBER, -1, OFF(encoder_lift), 0, 100},
    {"encoder-band", K_NUMBER, -1, OFF(encoder_band), 0, 100},
    {"reply-alone-margin", K_NUMBER, -1, OFF(reply_alone_margin), 0, 100},
    {"absence-margin", K_NUMBER, -1, OFF(absence_margin), 0, 100},
    {"hold-margin", K_NUMBER, -1, OFF(hold_margin), 0, 100},
    {"phrase-assist", K_NUMBER, -1, OFF(phrase_assist), 0, 100},
    {"thread-lift", K_NUMBER, -1, OFF(thread_lift), 0, 100},
    {"near-miss", K_NUMBER, -1, OFF(near_miss), 0, 100},
    {"inbound-margin", K_NUMBER, -1, OFF(inbound_margin), 0, 100},
    {"serious-margin", K_NUMBER, -1, OFF(serious_margin), 0, 100},
    {NULL, 0, 0, 0, 0, 0},
};

static const struct key_spec applies_keys[] = {
    {"senders", K_GLOBS, -1, NOFF, 0, 0},
    {"recipient-domains", K_GLOBS, -1, NOFF, 0, 0},
    {NULL, 0, 0, 0, 0, 0},
};

static const struct key_spec limit_keys[] = {
    {"max-parts", K_UINT, -1, OFF(limits.max_parts), 1, 100000},
    {"max-depth", K_UINT, -1, OFF(limits.max_depth), 1, 1000},
    {"max-headers", K_UINT, -1, OFF(limits.max_headers), 1, 1000000},
    {"max-text-bytes", K_UINT, -1, OFF(limits.max_text_bytes), 1024, 1e9},
    {"match-limit", K_UINT, -1, OFF(match_limit), 1000, 1e9},
    {NULL, 0, 0, 0, 0, 0},
};

static const struct key_spec verdict_keys[] = {
    {"advise-score", K_INT, -1, OFF(advise_score), 0, 1000},
    {"hold-score", K_INT, -1, OFF(hold_score), 0, 1000},
    {"hold-when", K_HOLD_WHEN, -1, NOFF, 0, 0},
    {NULL, 0, 0, 0, 0, 0},
};

static const struct key_spec complaint_keys[] = {
    {"threshold", K_NUMBER, -1, OFF(complaint_threshold), 0, 1000},
    {"serious-threshold", K_NUMBER, -1, OFF(serious_threshold), 0, 1000},
    {"subject-weight", K_NUMBER, -1, OFF(subject_weight), 0, 100},
    {"new-text-weight", K_NUMBER, -1, OFF(new_text_weight), 0, 100},
    {"apology-weight", K_NUMBER, -1, OFF(apology_weight), 0, 100},
    {"quoted-scan-bytes", K_UINT, -1, OFF(quoted_scan_bytes), 256, 1e8},
    {"breach", K_CUE, CUE_BREACH, OFF(cue_weight[0]), 0, 100},
    {"why", K_CUE, CUE_WHY, OFF(cue_weight[1]), 0, 100},
    {"escalation", K_CUE, CUE_ESCALATION, OFF(cue_weight[2]), 0, 100},
    {NULL, 0, 0, 0, 0, 0},
};

static const struct key_spec cue_keys[] = {
    {"weight", K_NUMBER, -1, NOFF, 0, 100},
    {"phrases", K_LIST, -1, NOFF, 0, 0},
    {NULL, 0, 0, 0, 0, 0},
};

static const struct key_spec lexicon_keys[] = {
    {"negation", K_WORDS, -1, NOFF, 0, 0},
    {"negation-window", K_UINT, -1, OFF(negation_window), 1, 10},
    {"failure", K_LIST, LEX_FAILURE, NOFF, 0, 0},
    {"small-imposition", K_LIST, LEX_SMALL_IMPOSITION, NOFF, 0, 0},
    {"exceptions", K_LIST, LEX_EXCEPTION, NOFF, 0, 0},
    /* The split's words (lexicon.h); a list left out is the built-in one. */
    {"quote-attribution-prefixes", K_SPLIT, SPLIT_ATTRIBUTION_PREFIXES, NOFF, 0, 0},
    {"quote-attribution-verbs", K_SPLIT, SPLIT_ATTRIBUTION_VERBS, NOFF, 0, 0},
    {"forward-headers-from", K_SPLIT, SPLIT_FROM_HEADERS, NOFF, 0, 0},
    {"forward-headers-date", K_SPLIT, SPLIT_DATE_HEADERS, NOFF, 0, 0},
    {"forward-headers-other", K_SPLIT, SPLIT_OTHER_HEADERS, NOFF, 0, 0},
    {"quote-separator-phrases", K_SPLIT, SPLIT_SEPARATOR_PHRASES, NOFF, 0, 0},
    {"quote-separator-starts", K_SPLIT, SPLIT_SEPARATOR_STARTS, NOFF, 0, 0},
    {"device-lines", K_SPLIT, SPLIT_DEVICE_LINES, NOFF, 0, 0},
    {"disclaimer-starts", K_SPLIT, SPLIT_DISCLAIMER_STARTS, NOFF, 0, 0},
    {"disclaimer-weak-starts", K_SPLIT, SPLIT_DISCLAIMER_WEAK_STARTS, NOFF, 0, 0},
    {"disclaimer-words", K_SPLIT, SPLIT_DISCLAIMER_WORDS, NOFF, 0, 0},
    {"sign-offs", K_SPLIT, SPLIT_SIGN_OFFS, NOFF, 0, 0},
    {"sign-off-sentence-words", K_SPLIT, SPLIT_SENTENCE_WORDS, NOFF, 0, 0},
    {"placeholder-words", K_SPLIT, SPLIT_PLACEHOLDER_WORDS, NOFF, 0, 0},
    {"greetings", K_SPLIT, SPLIT_GREETINGS, NOFF, 0, 0},
    {"banner-starts", K_SPLIT, SPLIT_BANNER_STARTS, NOFF, 0, 0},
    {"banner-words", K_SPLIT, SPLIT_BANNER_WORDS, NOFF, 0, 0},
    {NULL, 0, 0, 0, 0, 0},
};

/* Keys every rule section may have. */
static const struct key_spec rule_common_keys[] = {
    {"enabled", K_BOOL, -1, NOFF, 0, 0},  {"severity", K_SEVERITY, -1, NOFF, 0, 0},
    {"weight", K_INT, -1, NOFF, 0, 1000}, {"principle", K_STRING, -1, NOFF, 0, 0},
    {"advice", K_STRING, -1, NOFF, 0, 0}, {NULL, 0, 0, 0, 0, 0},
};

/* Keys particular to one rule. */
struct rule_key {
	enum rule_id rule;
	struct key_spec spec;
};

static const struct rule_key rule_keys[] = {
    {RULE_APOLOGY_MISSING, {"phrases", K_LIST, LEX_APOLOGY, NOFF, 0, 0}},
    {RULE_NON_APOLOGY, {"phrases", K_LIST, LEX_HOLLOW, NOFF, 0, 0}},
    {RULE_BLAME_THIRD_PARTY, {"parties", K_LIST, LEX_THIRD_PARTY, NOFF, 0, 0}},
    {RULE_EXCUSE, {"phrases", K_LIST, LEX_EXCUSE, NOFF, 0, 0}},
    {RULE_DEFENSIVE, {"phrases", K_LIST, LEX_DEFENSIVE, NOFF, 0, 0}},
    {RULE_DEFENSIVE, {"client-parties", K_LIST, LEX_CLIENT_SIDE, NOFF, 0, 0}},
    {RULE_NO_OWNERSHIP, {"phrases", K_LIST, LEX_OWNERSHIP, NOFF, 0, 0}},
    {RULE_NO_REMEDY, {"phrases", K_LIST, LEX_REMEDY, NOFF, 0, 0}},
    {RULE_NO_REMEDY, {"stalling", K_LIST, LEX_STALL, NOFF, 0, 0}},
    {RULE_NO_PREVENTION, {"phrases", K_LIST, LEX_PREVENTION, NOFF, 0, 0}},
    {RULE_PASSING_THE_BUCK, {"phrases", K_LIST, LEX_BUCK, NOFF, 0, 0}},
    {RULE_PASSING_THE_BUCK, {"min-count", K_UINT, -1, OFF(buck_min), 1, 100}},
    {RULE_NO_CALL_OFFER, {"phrases", K_LIST, LEX_CALL, NOFF, 0, 0}},
    {RULE_LATE_REPLY, {"after", K_DURATION, -1, OFF(late_after), 60, 365.0 * 86400}},
    {RULE_LATE_REPLY, {"business-hours", K_BHOURS, -1, NOFF, 0, 0}},
    {RULE_REPEAT_APOLOGY, {"window", K_DURATION, -1, OFF(repeat_window), 3600, 3650.0 * 86400}},
    {RULE_OVER_APOLOGY, {"phrases", K_LIST, LEX_GROVEL, NOFF, 0, 0}},
    {RULE_OVER_APOLOGY, {"intensifiers", K_LIST, LEX_INTENSIFIER, NOFF, 0, 0}},
    {RULE_OVER_APOLOGY, {"max-apologies", K_UINT, -1, OFF(over_max_apologies), 1, 100}},
    {RULE_OVER_APOLOGY, {"min-intensifiers", K_UINT, -1, OFF(over_min_intensifiers), 1, 100}},
};

static const struct key_spec bhours_keys[] = {
    {"days", K_STRING, -1, NOFF, 0, 0},
    {"start", K_STRING, -1, NOFF, 0, 0},
    {"end", K_STRING, -1, NOFF, 0, 0},
    {"utc-offset", K_STRING, -1, NOFF, 0, 0},
    {NULL, 0, 0, 0, 0, 0},
};

struct compiled_phrase {
	char *text;
	bool regex;
	guint8 flags;
	guint16 cls;
	int pos_line, pos_col;
};

struct pos {
	int line, col;
};

/* The files of the "models" section, in the order of struct loader's
 * model_path: the classifiers in struct policy's model_file order
 * (POLICY_CLASSIFIERS of them), then the encoder. */
const char *const policy_model_keys[] = {"gate", "sentences", "gate-text", "encoder-head", "encoder"};
G_STATIC_ASSERT(G_N_ELEMENTS(policy_model_keys) == POLICY_CLASSIFIERS + 1);
#define MODEL_HEAD    3
#define MODEL_ENCODER 4

/* The whole numbers kept as size_t; the others are unsigned. */
static bool is_size_field(size_t offset)
{
	return offset == OFF(limits.max_text_bytes) || offset == OFF(quoted_scan_bytes);
}

/* The number SPEC says where in POL, as text: whole numbers as such,
 * durations in their largest whole unit ("36h", "90d"), others to the
 * digit that tells two apart (units_format_number()). */
static void setting_text(const struct policy *pol, const struct key_spec *spec, char *out, size_t size)
{
	const void *field = (const char *)pol + spec->offset;
	char buf[G_ASCII_DTOSTR_BUF_SIZE];
	gint64 n;
	switch (spec->type) {
	case K_INT: g_snprintf(out, size, "%d", *(const int *)field); return;
	case K_UINT:
		n = is_size_field(spec->offset) ? (gint64) * (const size_t *)field
		                                : (gint64) * (const unsigned *)field;
		g_snprintf(out, size, "%" G_GINT64_FORMAT, n);
		return;
	case K_DURATION:
		n = *(const gint64 *)field;
		g_snprintf(out, size, "%" G_GINT64_FORMAT "%s",
		           n % 86400 == 0  ? n / 86400
		           : n % 3600 == 0 ? n / 3600
		           : n % 60 == 0   ? n / 60
		                           : n,
		           n % 86400 == 0  ? "d"
		           : n % 3600 == 0 ? "h"
		           : n % 60 == 0   ? "m"
		                           : "s");
		return;
	default: g_strlcpy(out, units_format_number(buf, *(const double *)field), size); return;
	}
}

/* The sections of plain keys (the rules' are rule_keys), for what walks
 * every key: their numbers (policy_setting()), their lists
 * (policy_class_path()). */
static const struct {
	const char *section;
	const struct key_spec *keys;
} sections[] = {{"limits", limit_keys},
                {"verdict", verdict_keys},
                {"complaint", complaint_keys},
                {"lexicon", lexicon_keys},
                {"models", model_keys}};

static bool is_number(const struct key_spec *spec)
{
	return spec->offset != NOFF &&
	       (spec->type == K_INT || spec->type == K_UINT || spec->type == K_NUMBER ||
	        spec->type == K_CUE || spec->type == K_DURATION);
}

bool policy_setting(const struct policy *pol, size_t i, char *name, size_t name_size, char *value,
                    size_t value_size, bool *of_models)
{
	for (size_t s = 0; s < G_N_ELEMENTS(sections); s++)
		for (const struct key_spec *k = sections[s].keys; k->key; k++)
			if (is_number(k) && i-- == 0) {
				g_snprintf(name, name_size, "%s.%s%s", sections[s].section, k->key,
				           k->type == K_CUE ? ".weight" : "");
				setting_text(pol, k, value, value_size);
				*of_models = strcmp(sections[s].section, "models") == 0;
				return true;
			}
	for (size_t r = 0; r < G_N_ELEMENTS(rule_keys); r++)
		if (is_number(&rule_keys[r].spec) && i-- == 0) {
			g_snprintf(name, name_size, "rules.%s.%s", rule_name(rule_keys[r].rule),
			           rule_keys[r].spec.key);
			setting_text(pol, &rule_keys[r].spec, value, value_size);
			*of_models = false;
			return true;
		}
	return false;
}

static int model_index(const char *key)
{
	for (size_t i = 0; i < G_N_ELEMENTS(policy_model_keys); i++)
		if (strcmp(key, policy_model_keys[i]) == 0)
			return (int)i;
	return -1;
}

struct loader {
	const char *file;
	GString *errors;
	struct policy *pol;
	const struct policy *prev; /* the policy this one replaces, or NULL */
	GArray *phrases;           /* struct compiled_phrase */
	bool seen_rule[RULE_COUNT];
	/* gate, sentences, gate-text, encoder-head, encoder: as written in the
	 * policy (model_file's order, and the encoder last) */
	char *model_path[5];
	struct pos model_pos[5];
	struct pos top_pos[G_N_ELEMENTS(top_keys)]; /* where each top-level key is; line 0: absent */
	struct pos end;                             /* just past the last character of the file */
};

static struct pos node_pos(struct fy_node *n)
{
	struct pos p;
	yamldoc_node_pos(n, &p.line, &p.col);
	return p;
}

G_GNUC_PRINTF(3, 4)
static void error_at(struct loader *L, struct pos p, const char *fmt, ...)
{
	va_list ap;
	g_string_append_printf(L->errors, "%s:%d:%d: ", L->file, p.line, p.col);
	va_start(ap, fmt);
	g_string_append_vprintf(L->errors, fmt, ap);
	va_end(ap);
	g_string_append_c(L->errors, '\n');
}

static const char *scalar(struct fy_node *n)
{
	if (n == NULL || fy_node_get_type(n) != FYNT_SCALAR)
		return NULL;
	return fy_node_get_scalar0(n);
}

static bool want_type(struct loader *L, struct fy_node *v, struct pos kp, enum fy_node_type t,
                      const char *key, const char *what)
{
	if (v && fy_node_get_type(v) == t)
		return true;
	error_at(L, v && fy_node_get_type(v) == FYNT_SCALAR ? node_pos(v) : kp, "%s: expected %s", key, what);
	return false;
}

/* ---- phrase compilation ------------------------------------------------ */

static bool is_word_char(char c)
{
	return g_ascii_isalnum(c) || c == '_' || (unsigned char)c >= 0x80;
}

/* A phrase with "#" (a number) becomes a regular expression. */
static char *number_phrase_regex(const char *norm)
{
	GString *p = g_string_new(NULL);
	size_t n = strlen(norm);
	if (n && is_word_char(norm[0]))
		g_string_append(p, "\\b");
	for (size_t i = 0; i < n; i++) {
		if (norm[i] == '#')
			g_string_append(p, "\\d+");
		else if (is_word_char(norm[i]))
			g_string_append_c(p, norm[i]);
		else
			g_string_append_printf(p, "\\x%02x", (unsigned char)norm[i]);
	}
	if (n && is_word_char(norm[n - 1]))
		g_string_append(p, "\\b");
	return g_string_free(p, FALSE);
}

/*
 * Turn a phrase into a pattern: "re:" phrases are regular expressions; plain
 * ones are normalised exactly like the text (so a literal is enough) and
 * carry whole-word flags that scan.c checks.
 */
static void add_pattern(struct loader *L, const char *phrase, int lex, struct pos p)
{
	struct compiled_phrase cp = {0};
	if (g_str_has_prefix(phrase, "re:")) {
		cp.text = g_strdup(phrase + 3);
		cp.regex = true;
	} else {
		char *raw = g_strstrip(g_strdup(phrase));
		size_t n = strlen(raw);
		if (n > 1 && raw[n - 1] == '*') {
			cp.flags |= PHRASE_STEM;
			raw[--n] = '\0';
		}
		struct normtext nt;
		normalize_text(raw, n, &nt);
		char *norm = g_strstrip(nt.s);
		if (strchr(norm, '#')) {
			cp.text = number_phrase_regex(norm);
			cp.regex = true;
		} else {
			cp.text = g_strdup(norm);
			size_t k = strlen(norm);
			if (k && is_word_char(norm[0]))
				cp.flags |= PHRASE_WORD_START;
			if (k && is_word_char(norm[k - 1]) && !(cp.flags & PHRASE_STEM))
				cp.flags |= PHRASE_WORD_END;
		}
		normtext_clear(&nt);
		g_free(raw);
	}
	if (cp.text[0] == '\0') {
		error_at(L, p, "phrase: nothing left to match after normalisation");
		g_free(cp.text);
		return;
	}
	cp.cls = (guint16)lex;
	cp.pos_line = p.line;
	cp.pos_col = p.col;
	g_array_append_val(L->phrases, cp);
}

static void add_phrase(struct loader *L, struct fy_node *item, int lex)
{
	const char *s = scalar(item);
	if (s == NULL || *s == '\0') {
		error_at(L, node_pos(item), "phrase: expected a non-empty string");
		return;
	}
	add_pattern(L, s, lex, node_pos(item));
}

static void load_list(struct loader *L, struct fy_node *v, struct pos kp, const char *key, int lex)
{
	if (!want_type(L, v, kp, FYNT_SEQUENCE, key, "a list of phrases"))
		return;
	void *it = NULL;
	struct fy_node *item;
	while ((item = fy_node_sequence_iterate(v, &it)) != NULL)
		add_phrase(L, item, lex);
}

/*
 * A word list of the split, taken as written (not normalised like a
 * phrase): it replaces the built-in list.  An empty list is refused, since
 * it would silently stop the split from telling quoted history or
 * signatures apart; leave the key out for the built-in list.
 */
static void load_split_list(struct loader *L, struct fy_node *v, struct pos kp, const char *key, int list)
{
	if (!want_type(L, v, kp, FYNT_SEQUENCE, key, "a list of strings"))
		return;
	GPtrArray *words = g_ptr_array_new();
	void *it = NULL;
	struct fy_node *item;
	while ((item = fy_node_sequence_iterate(v, &it)) != NULL) {
		const char *s = scalar(item);
		if (s == NULL || *s == '\0')
			error_at(L, node_pos(item), "%s: expected a non-empty string", key);
		else if ((list == SPLIT_SIGN_OFFS || list == SPLIT_SENTENCE_WORDS) &&
		         strlen(s) >= SIGN_OFF_MAX)
			error_at(L, node_pos(item), "%s: \"%s\" is longer than %d bytes", key, s,
			         SIGN_OFF_MAX - 1);
		else if (list == SPLIT_GREETINGS &&
		         (strlen(s) >= SIGN_OFF_MAX || strpbrk(s, ",.!?:;") || g_ascii_isspace(s[0]) ||
		          g_ascii_isspace(s[strlen(s) - 1])))
			error_at(L, node_pos(item),
			         "%s: \"%s\" is not a greeting's opening words (under %d bytes, no "
			         "punctuation, no "
			         "spaces around): it would never match",
			         key, s, SIGN_OFF_MAX);
		else if (list == SPLIT_SENTENCE_WORDS && !lexicon_is_word(s, strlen(s)))
			error_at(L, node_pos(item),
			         "%s: \"%s\" is not one word (letters, and apostrophes within it): it would "
			         "never match",
			         key, s);
		else
			g_ptr_array_add(words, g_strdup(s));
	}
	if (words->len == 0)
		error_at(L, kp, "%s: an empty list (leave the key out for the built-in list)", key);
	g_ptr_array_add(words, NULL);
	split_lexicon_set(&L->pol->split, (enum split_list)list, (char **)g_ptr_array_free(words, FALSE));
}

/* ---- scalar values ------------------------------------------------------ */

static bool parse_duration(const char *s, gint64 *out)
{
	char *err = s ? units_parse_duration(s, UNITS_DURATION, out) : g_strdup("no value");
	g_free(err);
	return err == NULL;
}

static bool parse_number(const char *s, double *out)
{
	char *end;
	if (s == NULL || *s == '\0')
		return false;
	*out = g_ascii_strtod(s, &end);
	return *end == '\0' && isfinite(*out); /* "nan" would pass every bound */
}

static bool parse_clock(const char *s, int *minutes)
{
	int h, m;
	char tail;
	if (s == NULL || sscanf(s, "%d:%d%c", &h, &m, &tail) != 2 || h < 0 || h > 24 || m < 0 || m > 59)
		return false;
	*minutes = h * 60 + m;
	return *minutes <= 24 * 60;
}

static int day_index(const char *s)
{
	static const char *const days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
	for (int i = 0; i < 7; i++)
		if (g_ascii_strncasecmp(s, days[i], 3) == 0 && s[3] == '\0')
			return i + 1;
	return -1;
}

/* "mon-fri" or "mon,tue,thu" */
static bool parse_days(const char *s, unsigned *mask)
{
	*mask = 0;
	if (s == NULL)
		return false;
	char **parts = g_strsplit(s, ",", -1);
	bool ok = true;
	for (int i = 0; parts[i] && ok; i++) {
		char *p = g_strstrip(parts[i]);
		char *dash = strchr(p, '-');
		if (dash) {
			*dash = '\0';
			int a = day_index(g_strstrip(p)), b = day_index(g_strstrip(dash + 1));
			if (a < 0 || b < 0 || b < a)
				ok = false;
			for (int d = a; ok && d <= b; d++)
				*mask |= 1u << d;
		} else {
			int d = day_index(p);
			if (d < 0)
				ok = false;
			else
				*mask |= 1u << d;
		}
	}
	g_strfreev(parts);
	return ok && *mask != 0;
}

/* "+HH:MM" or "-H:MM" (hours 0 to 14), "Z" or "UTC". */
static bool parse_offset(const char *s, int *minutes)
{
	if (s == NULL)
		return false;
	if (strcmp(s, "Z") == 0 || strcmp(s, "UTC") == 0) {
		*minutes = 0;
		return true;
	}
	size_t hours = strspn(s + (*s != '\0'), "0123456789");
	const char *colon = s + 1 + hours;
	if ((*s != '+' && *s != '-') || hours < 1 || hours > 2 || *colon != ':' ||
	    strspn(colon + 1, "0123456789") != 2 || colon[3] != '\0')
		return false;
	int h = atoi(s + 1), m = atoi(colon + 1);
	if (h > 14 || m > 59)
		return false;
	*minutes = (*s == '-' ? -1 : 1) * (h * 60 + m);
	return true;
}

/* ---- sections ------------------------------------------------------------ */

typedef void (*section_fn)(struct loader *L, const struct key_spec *spec, struct fy_node *key,
                           struct fy_node *val, void *arg);

static const struct key_spec *find_key(const struct key_spec *table, const char *k)
{
	for (; table->key; table++)
		if (strcmp(table->key, k) == 0)
			return table;
	return NULL;
}

/* Store a scalar value of SPEC's type at SPEC->offset in the policy. */
static void set_scalar(struct loader *L, const struct key_spec *spec, struct fy_node *key,
                       struct fy_node *val)
{
	const char *k = spec->key;
	const char *s = scalar(val);
	struct pos p = val ? node_pos(val) : node_pos(key);
	if (s == NULL) {
		error_at(L, node_pos(key), "%s: expected a value", k);
		return;
	}
	char *field = spec->offset == NOFF ? NULL : (char *)L->pol + spec->offset;
	double d;
	gint64 dur;
	switch (spec->type) {
	case K_UINT:
	case K_INT:
		if (!parse_number(s, &d) || d != (double)(gint64)d || d < spec->min || d > spec->max) {
			error_at(L, p, "%s: expected a whole number from %.0f to %.0f, not \"%s\"", k,
			         spec->min, spec->max, s);
			return;
		}
		if (field == NULL)
			return;
		if (spec->type == K_INT)
			*(int *)(void *)field = (int)d;
		else if (is_size_field(spec->offset))
			*(size_t *)(void *)field = (size_t)d;
		else
			*(unsigned *)(void *)field = (unsigned)d;
		return;
	case K_NUMBER:
	case K_CUE:
		if (!parse_number(s, &d) || d < spec->min || d > spec->max) {
			error_at(L, p, "%s: expected a number from %g to %g, not \"%s\"", k, spec->min,
			         spec->max, s);
			return;
		}
		if (field)
			*(double *)(void *)field = d;
		return;
	case K_DURATION:
		if (!parse_duration(s, &dur) || dur < spec->min || dur > spec->max) {
			error_at(
			    L, p,
			    "%s: expected a duration like 24h, 90d or 1h30m (at least %.0fs), not \"%s\"", k,
			    spec->min, s);
			return;
		}
		*(gint64 *)(void *)field = dur;
		return;
	default: g_assert_not_reached();
	}
}

/* Walk mapping NODE, checking every key against TABLE; FN handles complex values. */
static void walk_map(struct loader *L, struct fy_node *node, struct pos where, const char *section,
                     const struct key_spec *table, section_fn fn, void *arg)
{
	if (!want_type(L, node, where, FYNT_MAPPING, section, "a mapping"))
		return;
	void *it = NULL;
	struct fy_node_pair *pair;
	while ((pair = fy_node_mapping_iterate(node, &it)) != NULL) {
		struct fy_node *key = fy_node_pair_key(pair), *val = fy_node_pair_value(pair);
		const char *k = scalar(key);
		if (k == NULL) {
			error_at(L, node_pos(key), "%s: keys must be strings", section);
			continue;
		}
		const struct key_spec *spec = find_key(table, k);
		if (spec == NULL) {
			error_at(L, node_pos(key), "%s: unknown key \"%s\"", section, k);
			continue;
		}
		fn(L, spec, key, val, arg);
	}
}

static void on_value(struct loader *L, const struct key_spec *spec, struct fy_node *key, struct fy_node *val,
                     void *arg);

static void on_cue(struct loader *L, const struct key_spec *spec, struct fy_node *key, struct fy_node *val,
                   void *arg)
{
	const struct key_spec *cue = arg;
	if (strcmp(spec->key, "weight") == 0) {
		struct key_spec w = *cue;
		w.type = K_NUMBER;
		set_scalar(L, &w, key, val);
	} else {
		load_list(L, val, node_pos(key), cue->key, cue->lex);
	}
}

static void on_bhours(struct loader *L, const struct key_spec *spec, struct fy_node *key, struct fy_node *val,
                      void *arg)
{
	(void)arg;
	struct policy *pol = L->pol;
	const char *s = scalar(val);
	struct pos p = val ? node_pos(val) : node_pos(key);
	bool ok;
	if (strcmp(spec->key, "days") == 0)
		ok = parse_days(s, &pol->bh_days);
	else if (strcmp(spec->key, "start") == 0)
		ok = parse_clock(s, &pol->bh_start);
	else if (strcmp(spec->key, "end") == 0)
		ok = parse_clock(s, &pol->bh_end);
	else
		ok = parse_offset(s, &pol->bh_utc_offset);
	if (!ok)
		error_at(L, p,
		         "business-hours.%s: bad value \"%s\" (days: mon-fri; start/end: 09:00; "
		         "utc-offset: +01:00)",
		         spec->key, s ? s : "");
}

static void on_rule_key(struct loader *L, const struct key_spec *spec, struct fy_node *key,
                        struct fy_node *val, void *arg)
{
	struct rule_conf *rc = arg;
	const char *s = scalar(val);
	struct pos p = val ? node_pos(val) : node_pos(key);
	if (strcmp(spec->key, "enabled") == 0) {
		if (s && (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0))
			rc->enabled = true;
		else if (s && (strcmp(s, "false") == 0 || strcmp(s, "no") == 0))
			rc->enabled = false;
		else
			error_at(L, p, "enabled: expected true or false");
	} else if (strcmp(spec->key, "severity") == 0) {
		if (s && strcmp(s, "advise") == 0)
			rc->severity = RULE_ADVISE;
		else if (s && strcmp(s, "hold") == 0)
			rc->severity = RULE_HOLD;
		else
			error_at(L, p, "severity: expected advise or hold");
	} else if (strcmp(spec->key, "weight") == 0) {
		double d;
		if (!parse_number(s, &d) || d < 0 || d > 1000 || d != (int)d)
			error_at(L, p, "weight: expected a whole number from 0 to 1000");
		else
			rc->weight = (int)d;
	} else if (strcmp(spec->key, "principle") == 0 || strcmp(spec->key, "advice") == 0) {
		if (s == NULL || *s == '\0') {
			error_at(L, p, "%s: expected text", spec->key);
			return;
		}
		char **dst = spec->key[0] == 'p' ? &rc->principle : &rc->advice;
		g_free(*dst);
		*dst = g_strdup(s);
	} else if (spec->type == K_LIST) {
		load_list(L, val, node_pos(key), spec->key, spec->lex);
	} else if (spec->type == K_BHOURS) {
		L->pol->business_hours = true;
		walk_map(L, val, node_pos(key), "business-hours", bhours_keys, on_bhours, NULL);
		if (L->pol->bh_end <= L->pol->bh_start)
			error_at(L, node_pos(key), "business-hours: end must be after start");
	} else {
		set_scalar(L, spec, key, val);
	}
}

static void load_rule(struct loader *L, struct fy_node *key, struct fy_node *val)
{
	const char *name = scalar(key);
	if (name == NULL) {
		error_at(L, node_pos(key), "rules: a rule name must be a plain string");
		return;
	}
	int id = rule_lookup(name);
	if (id < 0) {
		error_at(L, node_pos(key), "rules: unknown rule \"%s\"", name);
		return;
	}
	L->seen_rule[id] = true;
	struct rule_conf *rc = &L->pol->rules[id];
	rc->enabled = true;
	/* This rule's table: the common keys plus its own. */
	struct key_spec table[16];
	size_t n = 0;
	for (const struct key_spec *c = rule_common_keys; c->key; c++)
		table[n++] = *c;
	for (size_t i = 0; i < G_N_ELEMENTS(rule_keys); i++)
		if (rule_keys[i].rule == (enum rule_id)id)
			table[n++] = rule_keys[i].spec;
	table[n].key = NULL;
	walk_map(L, val, node_pos(key), name, table, on_rule_key, rc);
	if (rc->enabled && (rc->principle == NULL || rc->advice == NULL))
		error_at(L, node_pos(key), "%s: every enabled rule needs a principle and advice", name);
}

static void on_rules(struct loader *L, struct fy_node *node, struct pos where)
{
	if (!want_type(L, node, where, FYNT_MAPPING, "rules", "a mapping"))
		return;
	void *it = NULL;
	struct fy_node_pair *pair;
	while ((pair = fy_node_mapping_iterate(node, &it)) != NULL)
		load_rule(L, fy_node_pair_key(pair), fy_node_pair_value(pair));
}

static void on_kinds(struct loader *L, struct fy_node *node, struct pos where)
{
	if (!want_type(L, node, where, FYNT_MAPPING, "kinds", "a mapping"))
		return;
	void *it = NULL;
	struct fy_node_pair *pair;
	while ((pair = fy_node_mapping_iterate(node, &it)) != NULL) {
		struct fy_node *key = fy_node_pair_key(pair);
		const char *k = scalar(key);
		if (k == NULL || L->pol->n_kinds >= POLICY_MAX_KINDS) {
			if (k == NULL)
				error_at(L, node_pos(key), "kinds: a kind's name must be a plain string");
			else
				error_at(L, node_pos(key), "kinds: at most %d named kinds", POLICY_MAX_KINDS);
			continue;
		}
		unsigned idx = L->pol->n_kinds++;
		L->pol->kind_names[idx] = g_strdup(k);
		load_list(L, fy_node_pair_value(pair), node_pos(key), k, LEX_FIXED_COUNT + (int)idx);
	}
}

static void on_hold_when(struct loader *L, struct fy_node *val, struct pos where)
{
	if (!want_type(L, val, where, FYNT_SEQUENCE, "hold-when", "a list of rule lists"))
		return;
	void *it = NULL;
	struct fy_node *combo;
	while ((combo = fy_node_sequence_iterate(val, &it)) != NULL) {
		if (!want_type(L, combo, where, FYNT_SEQUENCE, "hold-when", "a list of rule ids"))
			continue;
		guint32 mask = 0;
		void *it2 = NULL;
		struct fy_node *r;
		while ((r = fy_node_sequence_iterate(combo, &it2)) != NULL) {
			const char *s = scalar(r);
			int id = s ? rule_lookup(s) : -1;
			if (id < 0)
				error_at(L, node_pos(r), "hold-when: unknown rule \"%s\"", s ? s : "");
			else
				mask |= 1u << id;
		}
		if (mask)
			g_array_append_val(L->pol->hold_when, mask);
	}
}

static void on_value(struct loader *L, const struct key_spec *spec, struct fy_node *key, struct fy_node *val,
                     void *arg)
{
	(void)arg;
	struct policy *pol = L->pol;
	struct pos kp = node_pos(key);
	const char *k = spec->key;
	if (spec >= top_keys && spec < top_keys + G_N_ELEMENTS(top_keys))
		L->top_pos[spec - top_keys] = kp;
	switch (spec->type) {
	case K_MAP:
		if (strcmp(k, "applies-to") == 0)
			walk_map(L, val, kp, k, applies_keys, on_value, NULL);
		else if (strcmp(k, "limits") == 0)
			walk_map(L, val, kp, k, limit_keys, on_value, NULL);
		else if (strcmp(k, "verdict") == 0)
			walk_map(L, val, kp, k, verdict_keys, on_value, NULL);
		else if (strcmp(k, "complaint") == 0)
			walk_map(L, val, kp, k, complaint_keys, on_value, NULL);
		else if (strcmp(k, "lexicon") == 0)
			walk_map(L, val, kp, k, lexicon_keys, on_value, NULL);
		else if (strcmp(k, "kinds") == 0)
			on_kinds(L, val, kp);
		else if (strcmp(k, "rules") == 0)
			on_rules(L, val, kp);
		else if (strcmp(k, "models") == 0)
			walk_map(L, val, kp, k, model_keys, on_value, NULL);
		return;
	case K_STRING:
		if (scalar(val) == NULL) {
			error_at(L, kp, "%s: expected text", k);
		} else if (strcmp(k, "name") == 0) {
			g_free(pol->name);
			pol->name = g_strdup(scalar(val));
		} else if (model_index(k) >= 0) {
			int m = model_index(k);
			g_free(L->model_path[m]);
			L->model_path[m] = g_strdup(scalar(val));
			L->model_pos[m] = node_pos(val);
		}
		return;
	case K_LIST: load_list(L, val, kp, k, spec->lex); return;
	case K_SPLIT: load_split_list(L, val, kp, k, spec->lex); return;
	case K_CUE: walk_map(L, val, kp, k, cue_keys, on_cue, (void *)spec); return;
	case K_HOLD_WHEN: on_hold_when(L, val, kp); return;
	case K_WORDS:
	case K_GLOBS:
		if (!want_type(L, val, kp, FYNT_SEQUENCE, k, "a list of strings"))
			return;
		void *it = NULL;
		struct fy_node *item;
		while ((item = fy_node_sequence_iterate(val, &it)) != NULL) {
			const char *s = scalar(item);
			if (s == NULL || *s == '\0') {
				error_at(L, node_pos(item), "%s: expected a non-empty string", k);
				continue;
			}
			char *low = g_ascii_strdown(s, -1);
			if (strcmp(k, "negation") == 0) {
				/* Looked up in normalised text, so normalised like a phrase:
				 * "won't" is "wont" there. */
				struct normtext nt;
				normalize_text(low, strlen(low), &nt);
				g_hash_table_add(pol->negation, g_strdup(g_strstrip(nt.s)));
				normtext_clear(&nt);
				g_free(low);
			} else {
				GPtrArray *globs =
				    strcmp(k, "senders") == 0 ? pol->sender_globs : pol->domain_globs;
				g_ptr_array_add(globs, g_pattern_spec_new(low));
				g_free(low);
			}
		}
		return;
	default: set_scalar(L, spec, key, val);
	}
}

/* ---- load and compile ------------------------------------------------------ */

static void policy_defaults(struct policy *pol)
{
	pol->refs = 1;
	pol->name = g_strdup("unnamed");
	limits_default(&pol->limits);
	pol->match_limit = 10000000; /* PCRE2's own default */
	pol->advise_score = 1;
	pol->hold_when = g_array_new(FALSE, FALSE, sizeof(guint32));
	pol->complaint_threshold = 3;
	pol->serious_threshold = 2;
	pol->cue_weight[0] = pol->cue_weight[1] = pol->cue_weight[2] = 1;
	pol->subject_weight = 1.5;
	pol->new_text_weight = 0.5;
	pol->apology_weight = 1;
	pol->quoted_scan_bytes = 8192;
	pol->late_after = 24 * 3600;
	pol->bh_days = 0x3e;
	pol->bh_start = 9 * 60;
	pol->bh_end = 17 * 60;
	pol->repeat_window = 90 * 86400;
	pol->buck_min = 2;
	pol->over_max_apologies = 3;
	pol->over_min_intensifiers = 2;
	pol->negation_window = 3;
	pol->reply_alone_margin = 2;
	pol->absence_margin = 1;
	pol->hold_margin = 1;
	pol->phrase_assist = 1;
	pol->thread_lift = 0;
	pol->near_miss = 3;
	pol->encoder_band = 8;
	pol->negation = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	split_lexicon_init(&pol->split);
	pol->sender_globs = g_ptr_array_new_with_free_func((GDestroyNotify)g_pattern_spec_free);
	pol->domain_globs = g_ptr_array_new_with_free_func((GDestroyNotify)g_pattern_spec_free);
}

/* The phrase matched by pattern BAD of the matcher that failed (or the
 * policy's first line), and why. */
static void compile_error(struct loader *L, int bad, char *err)
{
	const struct compiled_phrase *cp = bad >= 0 && (guint)bad < L->phrases->len
	                                       ? &g_array_index(L->phrases, struct compiled_phrase, bad)
	                                       : NULL;
	error_at(L, cp ? (struct pos){cp->pos_line, cp->pos_col} : (struct pos){1, 1},
	         "phrase cannot be compiled (%s): %s", err ? err : "error", cp ? cp->text : "");
	g_free(err);
}

/*
 * Every phrase into one matcher (pol->all, for the new text), and the
 * complaint cues and failure kinds into a subset of it (pol->cues, for quoted
 * text): the subset shares the compiled literals, so they are compiled once.
 * Both sets' pattern ids are the phrases' indices in L->phrases.
 */
static void compile_patterns(struct loader *L)
{
	struct policy *pol = L->pol;
	unsigned n = L->phrases->len;
	if (n == 0) {
		error_at(L, (struct pos){1, 1}, "the policy has no phrases");
		return;
	}
	struct pattern *pats = g_new(struct pattern, n);
	bool *cue = g_new(bool, n);
	pol->all.cls = g_new(guint16, n);
	pol->all.flags = g_new(guint8, n);
	for (unsigned i = 0; i < n; i++) {
		const struct compiled_phrase *cp = &g_array_index(L->phrases, struct compiled_phrase, i);
		pats[i] = (struct pattern){cp->text, strlen(cp->text), cp->regex};
		pol->all.cls[i] = cp->cls;
		pol->all.flags[i] = cp->flags;
		cue[i] = cp->cls >= CUE_BREACH;
	}
	pol->all.n = pol->cues.n = n;
	pol->cues.cls = pol->all.cls; /* the same ids: shared, freed with pol->all */
	pol->cues.flags = pol->all.flags;
	int bad = -1;
	char *err = NULL;
	pol->all.matcher = matcher_compile(pats, n, pol->match_limit, &bad, &err);
	if (pol->all.matcher == NULL)
		compile_error(L, bad, err);
	else if ((pol->cues.matcher = matcher_subset(pol->all.matcher, pats, n, cue, &bad, &err)) == NULL)
		compile_error(L, bad, err);
	g_free(pats);
	g_free(cue);
}

/* The classes each model must have, in the order of enum sentence_tag. */
static const char *const gate_classes[] = {"complaint", "serious", "answers"};
static const char *const tag_classes[] = {"apology", "hollow",  "blame", "excuse", "defensive", "own",
                                          "remedy",  "prevent", "call",  "ask",    "grovel"};

/*
 * Read a model file in 64 KB pieces into its parser.  A buffer as large as the
 * file (2.5 MB) would be new pages, each first touch of which costs 10 µs or
 * more on a virtual machine: that was a third of the models' load time.  Sets
 * *GERR when the file cannot be read, else returns the model or NULL and *ERR.
 */
static struct classifier *read_model(const char *path, GError **gerr, char **err)
{
	GIOChannel *ch = regular_file_open(path, NULL, gerr);
	if (ch == NULL)
		return NULL;
	struct classifier_reader *r = classifier_reader_new(path);
	char *buf = g_malloc(64 * 1024);
	gsize got = 0;
	GIOStatus st;
	while ((st = g_io_channel_read_chars(ch, buf, 64 * 1024, &got, gerr)) == G_IO_STATUS_NORMAL &&
	       classifier_reader_feed(r, buf, got))
		;
	g_free(buf);
	g_io_channel_unref(ch);
	char *perr = NULL;
	struct classifier *m = classifier_reader_finish(r, &perr);
	if (st == G_IO_STATUS_ERROR) {
		classifier_free(m);
		g_free(perr);
		return NULL;
	}
	*err = perr;
	return m;
}

/* Where model file WHICH is: beside the policy; a copy of the shipped policy
 * elsewhere (say in /etc) finds the shipped models where they were
 * installed, and its summary says so (a site's retrained model left out of
 * its policy's directory would otherwise give way to the shipped one
 * unseen). */
static char *model_full_path(const struct loader *L, int which)
{
	const char *path = L->model_path[which];
	if (g_path_is_absolute(path))
		return g_strdup(path);
	char *dir = g_path_get_dirname(L->file);
	char *full = g_build_filename(dir, path, NULL);
	g_free(dir);
	char *shipped = g_build_filename(DATADIR, "policies", path, NULL);
	if (!g_file_test(full, G_FILE_TEST_EXISTS) && g_file_test(shipped, G_FILE_TEST_EXISTS)) {
		g_free(full);
		L->pol->models_shipped = true;
		return shipped;
	}
	g_free(shipped);
	return full;
}

static struct classifier *load_model(struct loader *L, int which, const char *const *need, unsigned n_need,
                                     int *index)
{
	struct pos p = L->model_pos[which];
	char *full = model_full_path(L, which);
	char *err = NULL;
	GError *gerr = NULL;
	struct classifier *m = read_model(full, &gerr, &err);
	if (gerr) {
		error_at(L, p, "models: cannot read %s: %s", full, gerr->message);
		g_error_free(gerr);
	} else if (m == NULL) {
		error_at(L, p, "models: %s", err);
		g_free(err);
	}
	for (unsigned i = 0; m && i < n_need; i++) {
		index[i] = classifier_class(m, need[i]);
		if (index[i] < 0) {
			error_at(L, p, "models: %s has no class \"%s\"", full, need[i]);
			classifier_free(m);
			m = NULL;
		}
	}
	if (m && m->reads && which != MODEL_HEAD) {
		/* a model of an encoder's values, named where words are read */
		error_at(L, p,
		         "models: %s weighs the values of the encoder %s: name it in models.encoder-head",
		         full, m->reads);
		classifier_free(m);
		m = NULL;
	}
	if (m) {
		g_free(L->pol->model_file[which]);
		L->pol->model_file[which] = full;
	} else {
		g_free(full);
	}
	return m;
}

/* The sentence encoder and the head that reads its embeddings: both or
 * neither, and beside a gate, whose complaint evidence the head's adds to. */
static void load_encoder(struct loader *L)
{
	struct policy *pol = L->pol;
	bool enc = L->model_path[MODEL_ENCODER] != NULL, head = L->model_path[MODEL_HEAD] != NULL;
	if (!enc && !head)
		return;
	if (enc != head || L->model_path[0] == NULL) {
		error_at(L, L->model_pos[enc ? MODEL_ENCODER : MODEL_HEAD], "models: %s",
		         L->model_path[0] == NULL ? "an encoder adds to a gate model: name one in models.gate"
		         : enc ? "encoder needs the head that reads it: name one in models.encoder-head"
		               : "encoder-head reads an encoder's embeddings: name one in models.encoder");
		return;
	}
	static const char *const need[] = {"complaint"};
	pol->encoder_head = load_model(L, MODEL_HEAD, need, 1, &pol->encoder_head_class);
	if (pol->encoder_head == NULL)
		return;
	struct pos p = L->model_pos[MODEL_ENCODER];
	char *full = model_full_path(L, MODEL_ENCODER);
	GError *gerr = NULL;
	/* the one it replaces read the same file, unchanged since: its weights
	 * are these (28 MB not read again, nor held twice while it drains) */
	if (L->prev && L->prev->encoder && encoder_is_file(L->prev->encoder, full))
		pol->encoder = encoder_ref(L->prev->encoder);
	else
		pol->encoder = encoder_load(full, &gerr);
	if (pol->encoder == NULL) {
		error_at(L, p, "models: %s", gerr->message);
		g_error_free(gerr);
	} else if (encoder_dim(pol->encoder) != ((size_t)1 << pol->encoder_head->bits)) {
		error_at(L, p, "models: %s gives %zu values, but %s reads %zu", full,
		         encoder_dim(pol->encoder), pol->model_file[MODEL_HEAD],
		         (size_t)1 << pol->encoder_head->bits);
		encoder_free(pol->encoder);
		pol->encoder = NULL;
	} else if (pol->encoder_head->reads &&
	           strcmp(pol->encoder_head->reads, encoder_name(pol->encoder)) != 0) {
		/* the same width is no proof: another encoder's numbers mean other
		 * things, and the head would read them without a word */
		error_at(L, p,
		         "models: %s was trained on the encoder \"%s\", but %s is \"%s\": "
		         "retrain the head (make train) or name the encoder it was trained on",
		         pol->model_file[MODEL_HEAD], pol->encoder_head->reads, full,
		         encoder_name(pol->encoder));
		encoder_free(pol->encoder);
		pol->encoder = NULL;
	}
	g_free(full);
}

static void load_models(struct loader *L)
{
	struct policy *pol = L->pol;
	if (L->model_path[0])
		pol->gate = load_model(L, 0, gate_classes, G_N_ELEMENTS(gate_classes), pol->gate_class);
	if (L->model_path[1])
		pol->sentences = load_model(L, 1, tag_classes, G_N_ELEMENTS(tag_classes), pol->tag_class);
	if (L->model_path[2] && L->model_path[0] == NULL)
		error_at(L, L->model_pos[2],
		         "models: gate-text adds to a gate model: name one in models.gate");
	else if (L->model_path[2])
		pol->gate_text = load_model(L, 2, gate_classes, 1, &pol->gate_text_class);
	pol->gate_text_answers = pol->gate_text ? classifier_class(pol->gate_text, "answers") : -1;
	load_encoder(L);
}

char *policy_class_path(const struct policy *pol, unsigned cls, int *rule)
{
	*rule = -1;
	if (cls >= LEX_FIXED_COUNT)
		return g_strdup_printf("kinds.%s", policy_kind_name(pol, cls - LEX_FIXED_COUNT));
	for (size_t i = 0; i < G_N_ELEMENTS(rule_keys); i++) {
		if (rule_keys[i].spec.type == K_LIST && rule_keys[i].spec.lex == (int)cls) {
			*rule = (int)rule_keys[i].rule;
			return g_strdup_printf("rules.%s.%s", rule_name(rule_keys[i].rule),
			                       rule_keys[i].spec.key);
		}
	}
	for (size_t s = 0; s < G_N_ELEMENTS(sections); s++)
		for (const struct key_spec *k = sections[s].keys; k->key; k++)
			if ((k->type == K_LIST || k->type == K_CUE) && k->lex == (int)cls)
				return g_strdup_printf("%s.%s", sections[s].section, k->key);
	g_assert_not_reached();
}

const char *policy_split_key(unsigned list)
{
	for (const struct key_spec *k = lexicon_keys; k->key; k++)
		if (k->type == K_SPLIT && k->lex == (int)list)
			return k->key;
	g_assert_not_reached();
}

const struct classifier *policy_model(const struct policy *pol, const char *which)
{
	return strcmp(which, "gate") == 0           ? pol->gate
	       : strcmp(which, "gate-text") == 0    ? pol->gate_text
	       : strcmp(which, "encoder-head") == 0 ? pol->encoder_head
	       : strcmp(which, "sentences") == 0    ? pol->sentences
	                                            : NULL;
}

const char *policy_model_version(const struct policy *pol, const char *which)
{
	const struct classifier *m = policy_model(pol, which);
	return m ? m->version : NULL;
}

char *policy_summary(const struct policy *pol)
{
	const char *gate = policy_model_version(pol, "gate"), *sent = policy_model_version(pol, "sentences"),
	           *text = policy_model_version(pol, "gate-text"),
	           *head = policy_model_version(pol, "encoder-head");
	GString *out = g_string_new(NULL);
	g_string_printf(out, "%s, %u patterns, %s matcher; models: gate %s, sentences %s", policy_name(pol),
	                policy_pattern_count(pol), policy_matcher_name(), gate ? gate : "none",
	                sent ? sent : "none");
	if (text)
		g_string_append_printf(out, ", gate-text %s", text);
	if (head)
		g_string_append_printf(out, ", encoder-head %s on encoder %s", head,
		                       encoder_name(pol->encoder));
	if (pol->models_shipped)
		g_string_append(out, "; models not beside the policy read from " DATADIR "/policies");
	return g_string_free(out, FALSE);
}

char *policy_model_doubts(const struct policy *pol, unsigned *count)
{
	GString *out = g_string_new(NULL);
	unsigned n = 0;
	const char *const *which = policy_model_keys; /* model_file's order */
	for (unsigned i = 0; i < POLICY_CLASSIFIERS; i++) {
		const struct classifier *m = policy_model(pol, which[i]);
		char *data = NULL;
		gsize len = 0;
		GError *gerr = NULL;
		if (m == NULL || pol->model_file[i] == NULL)
			continue;
		if (!g_file_get_contents(pol->model_file[i], &data, &len, &gerr)) {
			g_string_append_printf(out, "%smodels.%s: cannot read %s again to check it: %s",
			                       out->len ? "; " : "", which[i], pol->model_file[i],
			                       gerr->message);
			g_error_free(gerr);
			n++;
			continue;
		}
		if (classifier_digest_check(data, len) == CLASSIFIER_DIGEST_DIFFERS) {
			g_string_append_printf(
			    out,
			    "%smodels.%s: the file is not what its version line \"%s\" names "
			    "(edited or damaged since apology-train wrote it); it is used as it "
			    "reads: install or train it again, or name a deliberate edit in the version line",
			    out->len ? "; " : "", which[i], m->version);
			n++;
		}
		g_free(data);
	}
	if (count)
		*count = n;
	return out->len ? g_string_free(out, FALSE) : (g_string_free(out, TRUE), NULL);
}

/* Where top-level KEY is in the file, or NULL when it is absent. */
static const struct pos *top_key_pos(const struct loader *L, const char *key)
{
	const struct pos *p = &L->top_pos[find_key(top_keys, key) - top_keys];
	return p->line > 0 ? p : NULL;
}

/*
 * The sections without which a policy judges nothing, or nothing right: a
 * version, rules with at least one enabled, and a way to tell a complaint
 * (the complaint cues or a gate model).  A file cut short usually lacks
 * one of them, so a missing section is reported where the file ends.
 */
static void require_sections(struct loader *L)
{
	static const char cut_short[] = " (is the file complete?)";
	if (top_key_pos(L, "version") == NULL)
		error_at(L, L->end, "policy: \"version: 1\" is missing%s", cut_short);
	const struct pos *rules = top_key_pos(L, "rules");
	bool enabled = false;
	for (int i = 0; i < RULE_COUNT; i++)
		enabled |= L->pol->rules[i].enabled;
	if (rules == NULL)
		error_at(L, L->end, "policy: the \"rules\" section is missing, so nothing would be judged%s",
		         cut_short);
	else if (!enabled)
		error_at(L, *rules, "rules: no rule is enabled, so nothing would be judged");
	bool cues = false;
	for (guint i = 0; i < L->phrases->len && !cues; i++) {
		guint16 cls = g_array_index(L->phrases, struct compiled_phrase, i).cls;
		cues = cls >= CUE_BREACH && cls <= CUE_ESCALATION;
	}
	if (!cues && L->model_path[0] == NULL) {
		const struct pos *complaint = top_key_pos(L, "complaint");
		error_at(
		    L, complaint ? *complaint : L->end,
		    "policy: nothing would be recognised as a complaint: \"complaint\" needs breach, why or "
		    "escalation phrases, or \"models\" a gate model%s",
		    complaint ? "" : cut_short);
	}
}

static gpointer models_thread(gpointer data)
{
	load_models(data);
	return NULL;
}

/* The patterns compiled and the models read, at once: the two slowest
 * steps of a load (about 20 and 35 ms, docs/performance.md) share nothing
 * (each writes fields of the policy the other does not touch), so a thread
 * reads the models meanwhile.  Their errors count only where the patterns
 * compiled, as when the models were read after them. */
static void compile_and_load(struct loader *L)
{
	struct loader M = *L;
	M.errors = g_string_new(NULL);
	GThread *t = g_thread_try_new("policy-models", models_thread, &M, NULL);
	compile_patterns(L);
	if (t)
		g_thread_join(t);
	else
		load_models(&M); /* no thread to be had: one after the other */
	if (L->errors->len == 0)
		g_string_append_len(L->errors, M.errors->str, (gssize)M.errors->len);
	g_string_free(M.errors, TRUE);
}

static struct policy *load_document(const char *name, struct fy_document *fyd, struct pos end,
                                    const struct policy *prev, GString *errors)
{
	struct policy *pol = g_new0(struct policy, 1);
	policy_defaults(pol);
	struct loader L = {
	    .file = name,
	    .errors = errors,
	    .pol = pol,
	    .prev = prev,
	    .phrases = g_array_new(FALSE, FALSE, sizeof(struct compiled_phrase)),
	    .end = end,
	};
	struct fy_node *root = fy_document_root(fyd);
	if (root == NULL) {
		error_at(&L, (struct pos){1, 1}, "empty policy");
	} else {
		walk_map(&L, root, (struct pos){1, 1}, "policy", top_keys, on_value, NULL);
		if (fy_node_is_mapping(root))
			require_sections(&L);
	}
	if (errors->len == 0)
		compile_and_load(&L);
	for (size_t i = 0; i < G_N_ELEMENTS(L.model_path); i++)
		g_free(L.model_path[i]);
	for (guint i = 0; i < L.phrases->len; i++)
		g_free(g_array_index(L.phrases, struct compiled_phrase, i).text);
	g_array_free(L.phrases, TRUE);
	if (errors->len) {
		policy_unref(pol);
		return NULL;
	}
	return pol;
}

static struct policy *load(const char *name, const char *yaml, size_t len, const struct policy *prev,
                           char **err)
{
	GString *errors = g_string_new(NULL);
	struct fy_document *fyd = yamldoc_parse(name, yaml, len, errors);
	struct policy *pol = NULL;
	if (fyd != NULL) {
		struct pos end;
		yamldoc_end_pos(yaml, len, &end.line, &end.col);
		pol = load_document(name, fyd, end, prev, errors);
		fy_document_destroy(fyd);
	}
	if (pol == NULL) {
		*err = g_string_free(errors, FALSE);
		return NULL;
	}
	g_string_free(errors, TRUE);
	return pol;
}

struct policy *policy_reload(const char *path, const struct policy *cur, char **err)
{
	char *text = NULL;
	gsize len = 0;
	GError *gerr = NULL;
	if (!g_file_get_contents(path, &text, &len, &gerr)) {
		*err = g_strdup_printf("%s:1:1: cannot read the policy: %s\n", path, gerr->message);
		g_error_free(gerr);
		return NULL;
	}
	struct policy *pol = load(path, text, len, cur, err);
	g_free(text);
	return pol;
}

struct policy *policy_load(const char *path, char **err)
{
	return policy_reload(path, NULL, err);
}

struct policy *policy_load_string(const char *name, const char *yaml, size_t len, char **err)
{
	return load(name, yaml, len, NULL, err);
}

struct policy *policy_ref(struct policy *pol)
{
	g_atomic_int_inc(&pol->refs);
	return pol;
}

void policy_unref(struct policy *pol)
{
	if (pol == NULL || !g_atomic_int_dec_and_test(&pol->refs))
		return;
	for (int i = 0; i < RULE_COUNT; i++) {
		g_free(pol->rules[i].principle);
		g_free(pol->rules[i].advice);
	}
	for (unsigned i = 0; i < pol->n_kinds; i++)
		g_free(pol->kind_names[i]);
	g_array_free(pol->hold_when, TRUE);
	g_hash_table_destroy(pol->negation);
	split_lexicon_clear(&pol->split);
	g_ptr_array_free(pol->sender_globs, TRUE);
	g_ptr_array_free(pol->domain_globs, TRUE);
	matcher_free(pol->cues.matcher); /* before the set it is a subset of */
	matcher_free(pol->all.matcher);
	g_free(pol->all.cls);
	g_free(pol->all.flags);
	classifier_free(pol->gate);
	classifier_free(pol->sentences);
	classifier_free(pol->gate_text);
	classifier_free(pol->encoder_head);
	encoder_free(pol->encoder);
	for (size_t i = 0; i < G_N_ELEMENTS(pol->model_file); i++)
		g_free(pol->model_file[i]);
	g_free(pol->name);
	g_free(pol);
}

const char *policy_name(const struct policy *pol)
{
	return pol->name;
}

const struct limits *policy_limits(const struct policy *pol)
{
	return &pol->limits;
}

int policy_kind_index(const struct policy *pol, const char *name)
{
	for (unsigned i = 0; i < pol->n_kinds; i++)
		if (g_ascii_strcasecmp(pol->kind_names[i], name) == 0)
			return (int)i;
	return -1;
}

const char *policy_kind_name(const struct policy *pol, unsigned index)
{
	return index < pol->n_kinds ? pol->kind_names[index] : NULL;
}

unsigned policy_kind_count(const struct policy *pol)
{
	return pol->n_kinds;
}

static bool globs_match(const GPtrArray *globs, const char *s)
{
	if (globs->len == 0)
		return true;
	char *low = g_ascii_strdown(s ? s : "", -1);
	bool ok = false;
	for (guint i = 0; i < globs->len && !ok; i++)
		ok = g_pattern_spec_match_string(globs->pdata[i], low);
	g_free(low);
	return ok;
}

bool policy_applies_to_sender(const struct policy *pol, const char *addr)
{
	return globs_match(pol->sender_globs, addr);
}

bool policy_applies_to_domain(const struct policy *pol, const char *domain)
{
	return globs_match(pol->domain_globs, domain);
}

unsigned policy_pattern_count(const struct policy *pol)
{
	return pol->all.n;
}

const char *policy_matcher_name(void)
{
	return matcher_backend();
}
