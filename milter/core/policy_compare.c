/*
 * policy_compare.c - what a new policy changes and loses against the one it
 * would replace (policy.h).  `apologyctl policy check --against` prints it;
 * the daemon refuses a reload that shrinks unless told to take it.  Pure:
 * it reads two compiled policies and writes text.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "encoder.h"
#include "policy_priv.h"
#include "units.h"

/* One phrase list of a policy and how many entries it has. */
struct list_count {
	char *path; /* "rules.excuse.phrases", "lexicon.negation", "kinds.delivery" */
	int rule;   /* enum rule_id the list belongs to, or -1 */
	unsigned n;
	const char *unit; /* "patterns" or "words" */
};

static void list_count_clear(void *p)
{
	g_free(((struct list_count *)p)->path);
}

/* Every list of POL that the loader knows, with its count (0 when empty). */
static GArray *list_counts(const struct policy *pol)
{
	GArray *lists = g_array_new(FALSE, TRUE, sizeof(struct list_count));
	g_array_set_clear_func(lists, list_count_clear);
	unsigned n_classes = LEX_FIXED_COUNT + pol->n_kinds;
	for (unsigned cls = 0; cls < n_classes; cls++) {
		struct list_count lc = {.unit = "patterns"};
		lc.path = policy_class_path(pol, cls, &lc.rule);
		for (unsigned i = 0; i < pol->all.n; i++)
			lc.n += pol->all.cls[i] == cls;
		g_array_append_val(lists, lc);
	}
	struct list_count neg = {g_strdup("lexicon.negation"), -1, g_hash_table_size(pol->negation), "words"};
	g_array_append_val(lists, neg);
	return lists;
}

static const struct list_count *find_list(const GArray *lists, const char *path)
{
	for (guint i = 0; i < lists->len; i++) {
		const struct list_count *lc = &g_array_index(lists, struct list_count, i);
		if (strcmp(lc->path, path) == 0)
			return lc;
	}
	return NULL;
}

G_GNUC_PRINTF(2, 3)
static void line(GString *out, const char *fmt, ...)
{
	if (out == NULL)
		return;
	va_list ap;
	va_start(ap, fmt);
	g_string_append_vprintf(out, fmt, ap);
	va_end(ap);
	g_string_append_c(out, '\n');
}

/* Append an item to the one-line list of losses. */
G_GNUC_PRINTF(2, 3)
static void lose(GString *lost, const char *fmt, ...)
{
	if (lost == NULL)
		return;
	if (lost->len)
		g_string_append(lost, "; ");
	va_list ap;
	va_start(ap, fmt);
	g_string_append_vprintf(lost, fmt, ap);
	va_end(ap);
}

static bool compare_rules(const struct policy *old, const struct policy *fresh, GString *changes,
                          GString *lost)
{
	GString *gone = g_string_new(NULL);
	for (int r = 0; r < RULE_COUNT; r++) {
		bool was = old->rules[r].enabled, is = fresh->rules[r].enabled;
		if (was != is)
			line(changes, "rule %s: %s -> %s", rule_name(r), was ? "enabled" : "off",
			     is ? "enabled" : "off");
		if (was && !is)
			g_string_append_printf(gone, "%s%s", gone->len ? ", " : "", rule_name(r));
	}
	bool shrinks = gone->len > 0;
	if (shrinks)
		lose(lost, "%s %s", strchr(gone->str, ',') ? "rules" : "rule", gone->str);
	g_string_free(gone, TRUE);
	return shrinks;
}

/* A list emptied counts as a loss unless its rule is off in either policy
 * (a rule that is gone is reported as such). */
static bool compare_lists(const struct policy *old, const struct policy *fresh, GString *changes,
                          GString *lost)
{
	GArray *before = list_counts(old), *after = list_counts(fresh);
	bool shrinks = false;
	for (guint i = 0; i < before->len; i++) {
		const struct list_count *o = &g_array_index(before, struct list_count, i);
		const struct list_count *f = find_list(after, o->path);
		unsigned n = f ? f->n : 0;
		if (o->n != n)
			line(changes, "%s: %u -> %u %s", o->path, o->n, n, o->unit);
		bool counts = o->rule < 0 || (old->rules[o->rule].enabled && fresh->rules[o->rule].enabled);
		if (o->n > 0 && n == 0 && counts) {
			lose(lost, "every entry of %s", o->path);
			shrinks = true;
		}
	}
	for (guint i = 0; i < after->len; i++) {
		const struct list_count *f = &g_array_index(after, struct list_count, i);
		if (f->n > 0 && find_list(before, f->path) == NULL)
			line(changes, "%s: 0 -> %u %s", f->path, f->n, f->unit);
	}
	g_array_free(before, TRUE);
	g_array_free(after, TRUE);
	return shrinks;
}

/* How many words of A are not in B. */
static unsigned words_missing(const char *const *a, const char *const *b)
{
	GHashTable *in_b = g_hash_table_new(g_str_hash, g_str_equal);
	for (const char *const *w = b; *w; w++)
		g_hash_table_add(in_b, (gpointer)*w);
	unsigned n = 0;
	for (const char *const *w = a; *w; w++)
		n += !g_hash_table_contains(in_b, *w);
	g_hash_table_destroy(in_b);
	return n;
}

/* The split's word lists (sign-offs, attributions, disclaimers...): compared
 * word by word, since a list with as many words may hold others.  Changes,
 * never losses: a list emptied changes where quoted history and signatures
 * end, not which rules run. */
static void compare_split(const struct policy *old, const struct policy *fresh, GString *changes)
{
	for (unsigned l = 0; l < SPLIT_LIST_COUNT; l++) {
		const char *const *was = old->split.lists[l].words, *const *is = fresh->split.lists[l].words;
		unsigned added = words_missing(is, was), removed = words_missing(was, is);
		if (added || removed)
			line(changes, "lexicon.%s: %u -> %u words (%u added, %u removed)",
			     policy_split_key(l), g_strv_length((char **)was), g_strv_length((char **)is),
			     added, removed);
	}
}

static bool compare_models(const struct policy *old, const struct policy *fresh, GString *changes,
                           GString *lost)
{
	const char *const *which = policy_model_keys;
	bool shrinks = false;
	for (size_t i = 0; i < POLICY_CLASSIFIERS; i++) {
		const struct classifier *a = policy_model(old, which[i]), *b = policy_model(fresh, which[i]);
		const char *was = a ? a->version : NULL, *is = b ? b->version : NULL;
		if (g_strcmp0(was, is) != 0)
			/* a model of an older apology-train has a version without
			 * a digest: retrained alike, it says what it said */
			line(changes, "models.%s: %s -> %s%s", which[i], was ? was : "none", is ? is : "none",
			     a && b && classifier_same(a, b) ? " (the same weights, thresholds and pooling)"
			                                     : "");
		else if (a && b && !classifier_same(a, b))
			/* a file changed by hand, or trained by an older apology-train
			 * whose version line names no digest */
			line(changes, "models.%s: %s, but its weights, thresholds or pooling differ",
			     which[i], was);
		if (a && b && g_strcmp0(a->reads, b->reads) != 0)
			line(changes, "models.%s: reads %s -> %s", which[i],
			     a->reads ? a->reads : "no encoder named",
			     b->reads ? b->reads : "no encoder named");
		if (was && !is) {
			lose(lost, "the %s model", which[i]);
			shrinks = true;
		}
	}
	const char *was = old->encoder ? encoder_name(old->encoder) : NULL,
	           *is = fresh->encoder ? encoder_name(fresh->encoder) : NULL;
	if (g_strcmp0(was, is) != 0)
		line(changes, "models.encoder: %s -> %s", was ? was : "none", is ? is : "none");
	return shrinks;
}

static int compare_masks(const void *a, const void *b)
{
	guint32 x = *(const guint32 *)a, y = *(const guint32 *)b;
	return x < y ? -1 : x > y;
}

/* "[a, b]; [c]": the rule sets of hold-when, in one order and each once
 * (the order they are written in decides nothing). */
static char *hold_when_text(const struct policy *pol)
{
	guint n = pol->hold_when ? pol->hold_when->len : 0;
	guint32 *masks = g_new(guint32, n + 1);
	if (n)
		memcpy(masks, pol->hold_when->data, n * sizeof *masks);
	qsort(masks, n, sizeof *masks, compare_masks);
	GString *t = g_string_new(NULL);
	for (guint i = 0; i < n; i++) {
		if (i > 0 && masks[i] == masks[i - 1])
			continue;
		g_string_append(t, t->len ? "; [" : "[");
		for (int r = 0, k = 0; r < RULE_COUNT; r++)
			if (masks[i] & (1u << r))
				g_string_append_printf(t, "%s%s", k++ ? ", " : "", rule_name(r));
		g_string_append_c(t, ']');
	}
	g_free(masks);
	return g_string_free(t, FALSE);
}

/* Has every glob of A its equal in B?  (Their order decides nothing.) */
static bool globs_within(const GPtrArray *a, const GPtrArray *b)
{
	for (guint i = 0; a && i < a->len; i++) {
		bool found = false;
		for (guint j = 0; b && j < b->len && !found; j++)
			found = g_pattern_spec_equal(a->pdata[i], b->pdata[j]);
		if (!found)
			return false;
	}
	return true;
}

static bool same_globs(const GPtrArray *a, const GPtrArray *b)
{
	return globs_within(a, b) && globs_within(b, a);
}

/* "mon tue wed thu fri 09:00-17:00 UTC+00:00", or "none". */
static char *business_hours_text(const struct policy *pol)
{
	static const char *const days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
	if (!pol->business_hours)
		return g_strdup("none");
	GString *t = g_string_new(NULL);
	for (int d = 0; d < 7; d++)
		if (pol->bh_days & (1u << (d + 1)))
			g_string_append_printf(t, "%s ", days[d]);
	int off = ABS(pol->bh_utc_offset);
	g_string_append_printf(t, "%02d:%02d-%02d:%02d UTC%c%02d:%02d", pol->bh_start / 60,
	                       pol->bh_start % 60, pol->bh_end / 60, pol->bh_end % 60,
	                       pol->bh_utc_offset < 0 ? '-' : '+', off / 60, off % 60);
	return g_string_free(t, FALSE);
}

/* What decides besides the lists and models: scope, scores, thresholds,
 * each rule's severity and weight, hold-when, the rules' counts,
 * durations and business hours.  Changes only, never a loss.  The models'
 * settings (thread-lift, hold-margin, ...) decide as much as their weights
 * do; without a gate on either side nothing reads them. */
static void compare_settings(const struct policy *old, const struct policy *fresh, GString *changes)
{
	const struct {
		const char *key;
		const GPtrArray *a, *b;
	} globs[] = {{"senders", old->sender_globs, fresh->sender_globs},
	             {"recipient-domains", old->domain_globs, fresh->domain_globs}};
	for (size_t i = 0; i < G_N_ELEMENTS(globs); i++)
		if (!same_globs(globs[i].a, globs[i].b))
			line(changes, "applies-to.%s: %u -> %u globs, not the same", globs[i].key,
			     globs[i].a ? globs[i].a->len : 0, globs[i].b ? globs[i].b->len : 0);
	char name[96], a[48], b[48];
	bool of_models;
	for (size_t i = 0; policy_setting(old, i, name, sizeof name, a, sizeof a, &of_models) &&
	                   policy_setting(fresh, i, name, sizeof name, b, sizeof b, &of_models);
	     i++)
		if (strcmp(a, b) != 0 && (!of_models || (old->gate && fresh->gate)))
			line(changes, "%s: %s -> %s", name, a, b);
	char *hw_old = hold_when_text(old), *hw_new = hold_when_text(fresh);
	if (strcmp(hw_old, hw_new) != 0)
		line(changes, "verdict.hold-when: %s -> %s", *hw_old ? hw_old : "none",
		     *hw_new ? hw_new : "none");
	g_free(hw_old);
	g_free(hw_new);
	for (int r = 0; r < RULE_COUNT; r++) {
		const struct rule_conf *o = &old->rules[r], *f = &fresh->rules[r];
		if (o->severity != f->severity)
			line(changes, "rules.%s.severity: %s -> %s", rule_name(r),
			     o->severity == RULE_HOLD ? "hold" : "advise",
			     f->severity == RULE_HOLD ? "hold" : "advise");
		if (o->weight != f->weight)
			line(changes, "rules.%s.weight: %d -> %d", rule_name(r), o->weight, f->weight);
	}
	char *bh_old = business_hours_text(old), *bh_new = business_hours_text(fresh);
	if (strcmp(bh_old, bh_new) != 0)
		line(changes, "rules.late-reply.business-hours: %s -> %s", bh_old, bh_new);
	g_free(bh_old);
	g_free(bh_new);
}

bool policy_compare(const struct policy *old, const struct policy *fresh, GString *changes, GString *lost)
{
	bool shrinks = compare_rules(old, fresh, changes, lost);
	shrinks |= compare_lists(old, fresh, changes, lost);
	compare_split(old, fresh, changes);
	unsigned was = old->all.n, is = fresh->all.n;
	if (was != is)
		line(changes, "patterns: %u -> %u", was, is);
	if ((guint64)is * 2 < was) {
		lose(lost, "%u of %u patterns", was - is, was);
		shrinks = true;
	}
	shrinks |= compare_models(old, fresh, changes, lost);
	compare_settings(old, fresh, changes);
	return shrinks;
}
