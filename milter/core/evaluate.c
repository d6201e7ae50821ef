/*
 * evaluate.c - stage 4: judge the author's new text against the policy,
 * sentence by sentence.  Phrase hits come from one matcher pass (scan.c);
 * this file decides what they mean: negation scope, who a sentence blames
 * (our side, the client's side, a third party), the object of an apology,
 * and the rules that fire on what is absent (no ownership, no remedy...).
 * Pure: time and history arrive as arguments.
 */
#include <string.h>

#include "classifier.h"
#include "core.h"
#include "policy_priv.h"

/* Per-sentence facts, as bit masks over enum lex_class (not negated). */
struct sentence_facts {
	guint64 has;
};

struct eval {
	const struct policy *pol;
	const struct thread_view *view;
	const struct scan *sc;
	struct sentence_facts *facts; /* one per sentence */
	guint *hit_sentence;          /* sentence index per hit */
	bool *hit_negated;
	guint64 has_any;    /* union of facts, not negated */
	guint32 *learned;   /* per sentence: bit per enum sentence_tag (the sentence model) */
	guint64 *negated;   /* per sentence: classes of its negated hits */
	unsigned apologies; /* apology expressions in the reply */
	struct findings *out;
};

#define BIT(c) ((guint64)1 << (c))

/* Classes whose meaning flips under negation ("not beyond our control"). */
static const guint64 negatable = BIT(LEX_THIRD_PARTY) | BIT(LEX_CLIENT_SIDE) | BIT(LEX_DEFENSIVE) |
                                 BIT(LEX_EXCUSE) | BIT(LEX_OWNERSHIP) | BIT(LEX_REMEDY) |
                                 BIT(LEX_PREVENTION) | BIT(LEX_CALL) | BIT(LEX_BUCK) | BIT(LEX_GROVEL);

static guint sentence_of(const struct thread_view *view, size_t off)
{
	GArray *ss = view->sentences;
	guint lo = 0, hi = ss->len;
	while (lo < hi) {
		guint mid = (lo + hi) / 2;
		if (g_array_index(ss, struct sentence, mid).start <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : 0;
}

static const struct hit *hit_at(const struct eval *e, guint i)
{
	return &g_array_index(e->sc->hits, struct hit, i);
}

static bool sentence_has(const struct eval *e, guint s, unsigned cls)
{
	return e->view->sentences->len && (e->facts[s].has & BIT(cls)) != 0;
}

static bool sentence_tagged(const struct eval *e, guint s, enum sentence_tag t)
{
	return e->view->sentences->len && (e->learned[s] & (1u << t)) != 0;
}

/* Grovelling takes more than "I'm so sorry.": the model's word for it counts
 * in a sentence of at least this many words (shorter ones are a plain
 * apology, or the phrases catch them). */
#define GROVEL_MIN_WORDS 6

/* What a reply has, as the model reads it, counts like the phrase of that
 * class: the rules that look for ownership, a remedy, prevention, a call or
 * a question handed back see both alike (ownership: see merge_learned()). */
static const struct {
	enum sentence_tag tag;
	enum lex_class cls;
} presence[] = {
    {TAG_OWN, LEX_OWNERSHIP}, {TAG_REMEDY, LEX_REMEDY}, {TAG_PREVENT, LEX_PREVENTION},
    {TAG_CALL, LEX_CALL},     {TAG_ASK, LEX_BUCK},
};

/* The sentence model on every sentence of the new text: a tag is set when
 * its logit reaches the threshold calibrated at training.  What silences a
 * rule that fires on an absence (ownership, remedy, prevention, a call) must
 * clear it by absence-margin. */
static void learn_sentences(struct eval *e)
{
	const struct classifier *m = e->pol->sentences;
	if (m == NULL)
		return;
	GArray *feats = g_array_sized_new(FALSE, FALSE, sizeof(guint32), 64);
	float logits[CLASSIFIER_MAX_CLASSES];
	for (guint s = 0; s < e->view->sentences->len; s++) {
		const struct sentence *st = &g_array_index(e->view->sentences, struct sentence, s);
		unsigned words =
		    classifier_features(e->view->text + st->start, st->end - st->start, m->bits, feats, NULL);
		classifier_score(m, feats, logits);
		for (int t = 0; t < TAG_COUNT; t++) {
			int c = e->pol->tag_class[t];
			bool absence = t == TAG_OWN || t == TAG_REMEDY || t == TAG_PREVENT || t == TAG_CALL;
			float need = m->threshold[c] + (absence ? (float)e->pol->absence_margin : 0.0f);
			if (logits[c] >= need)
				e->learned[s] |= 1u << t;
		}
		if (words < GROVEL_MIN_WORDS)
			e->learned[s] &= ~(1u << TAG_GROVEL);
	}
	g_array_free(feats, TRUE);
}

/* A phrase the policy reads as negated or as an excuse outweighs the model
 * in its sentence ("it was not our fault" owns nothing, "I can't promise it
 * won't happen again" prevents nothing); what remains of the presence tags
 * joins the sentence's facts. */
static void merge_learned(struct eval *e)
{
	for (guint s = 0; s < e->view->sentences->len; s++) {
		guint64 neg = e->negated[s];
		if (neg & BIT(LEX_OWNERSHIP) || (e->facts[s].has & BIT(LEX_EXCUSE)))
			e->learned[s] &= ~(1u << TAG_OWN);
		if (neg & BIT(LEX_PREVENTION))
			e->learned[s] &= ~(1u << TAG_PREVENT);
		if (neg & BIT(LEX_REMEDY))
			e->learned[s] &= ~(1u << TAG_REMEDY);
		guint64 add = 0;
		for (size_t k = 0; k < G_N_ELEMENTS(presence); k++)
			if (e->learned[s] & (1u << presence[k].tag))
				add |= BIT(presence[k].cls);
		/* The model's ownership counts for the reply as a whole; inside a
		 * sentence only an ownership phrase outweighs a blamed party ("I
		 * must blame the courier" owns nothing). */
		e->facts[s].has |= add & ~BIT(LEX_OWNERSHIP);
		e->has_any |= e->facts[s].has | add;
	}
}

static void add(struct eval *e, enum rule_id rule, size_t start, size_t end)
{
	if (!e->pol->rules[rule].enabled)
		return;
	unsigned same = 0;
	for (guint i = 0; i < e->out->items->len; i++) {
		const struct finding *f = &g_array_index(e->out->items, struct finding, i);
		if (f->rule == rule && ++same >= 3)
			return; /* three examples of one rule are enough */
		if (f->rule == rule && f->start == start)
			return;
	}
	struct finding f = {.rule = rule, .start = start, .end = end};
	g_array_append_val(e->out->items, f);
}

static void add_sentence(struct eval *e, enum rule_id rule, guint s)
{
	if (e->view->sentences->len == 0) {
		add(e, rule, 0, e->view->len);
		return;
	}
	const struct sentence *st = &g_array_index(e->view->sentences, struct sentence, s);
	add(e, rule, st->start, st->end);
}

/* Whether a finding of RULE already points into sentence S. */
static bool found_in(const struct eval *e, enum rule_id rule, guint s)
{
	const struct sentence *st = &g_array_index(e->view->sentences, struct sentence, s);
	for (guint i = 0; i < e->out->items->len; i++) {
		const struct finding *f = &g_array_index(e->out->items, struct finding, i);
		if (f->rule == rule && f->start >= st->start && f->start < st->end)
			return true;
	}
	return false;
}

/* A finding of the sentence model: the whole sentence, and the words that
 * weighed most for tag T in it. */
static void add_learned(struct eval *e, enum rule_id rule, guint s, enum sentence_tag t)
{
	const struct sentence *st = &g_array_index(e->view->sentences, struct sentence, s);
	if (found_in(e, rule, s))
		return; /* a phrase already points into this sentence */
	guint before = e->out->items->len;
	add(e, rule, st->start, st->end);
	if (e->out->items->len == before)
		return;
	const char *text = e->view->text + st->start;
	size_t a, b;
	if (classifier_explain(e->pol->sentences, text, st->end - st->start, (unsigned)e->pol->tag_class[t],
	                       &a, &b))
		g_array_index(e->out->items, struct finding, before).words = g_strndup(text + a, b - a);
}

static void judge_learned(struct eval *e)
{
	/* A reply that owns the failure anywhere (a phrase or the model's own
	 * tag, in any sentence) neither corrects the client nor excuses nor
	 * blames on the model's word alone: it explains ("that is on us, not on
	 * you"; the policy's "negated or owned" excuse and "unless the reply
	 * explicitly owns it" blame).  A phrase still counts (judge_phrases). */
	bool reply_owns = (e->has_any & BIT(LEX_OWNERSHIP)) != 0;
	for (guint s = 0; s < e->view->sentences->len; s++) {
		if (sentence_tagged(e, s, TAG_HOLLOW))
			add_learned(e, RULE_NON_APOLOGY, s, TAG_HOLLOW);
		/* One apology, however warmly put, is what the seeds ask for: the
		 * model's grovel counts where the reply apologises more than
		 * once, or in a sentence of self-reproach with no apology in it. */
		if (sentence_tagged(e, s, TAG_GROVEL) &&
		    (e->apologies > 1 || !sentence_has(e, s, LEX_APOLOGY)))
			add_learned(e, RULE_OVER_APOLOGY, s, TAG_GROVEL);
		if (reply_owns)
			continue;
		/* an exception phrase ("the proof you approved") is no correction */
		if (sentence_tagged(e, s, TAG_DEFENSIVE) && !sentence_has(e, s, LEX_EXCEPTION))
			add_learned(e, RULE_DEFENSIVE, s, TAG_DEFENSIVE);
		if (sentence_tagged(e, s, TAG_EXCUSE))
			add_learned(e, RULE_EXCUSE, s, TAG_EXCUSE);
		/* blame needs a failure named in the sentence ("the courier will
		 * deliver it tomorrow" blames nobody); the client's own people
		 * blamed is defensive, not blame */
		bool failure = sentence_has(e, s, LEX_FAILURE) || sentence_has(e, s, LEX_EXCUSE);
		if (failure && sentence_tagged(e, s, TAG_BLAME) && !sentence_tagged(e, s, TAG_DEFENSIVE) &&
		    !found_in(e, RULE_DEFENSIVE, s))
			add_learned(e, RULE_BLAME_THIRD_PARTY, s, TAG_BLAME);
	}
}

static void add_hit(struct eval *e, enum rule_id rule, const struct hit *h)
{
	add(e, rule, h->start, h->end);
}

/* A greeting line ("Hi Anna,") is no place to point a finding at. */
static bool is_greeting(const struct eval *e, const struct sentence *st)
{
	size_t n = st->end - st->start;
	const char *t = e->view->text + st->start;
	if (n < 40 && t[n - 1] == ',')
		return true;
	/* the greetings of the policy's lexicon (policies/README.md) */
	for (const char *const *g = e->pol->split.lists[SPLIT_GREETINGS].words; *g; g++) {
		size_t k = strlen(*g);
		if (n < 60 && n >= k && g_ascii_strncasecmp(t, *g, k) == 0 &&
		    (n == k || !(g_ascii_isalpha(t[k]) || (unsigned char)t[k] >= 0x80)))
			return true;
	}
	return false;
}

/* The sentence an absence finding points at: the first real one. */
static guint anchor(const struct eval *e)
{
	GArray *ss = e->view->sentences;
	for (guint i = 0; i < ss->len; i++)
		if (!is_greeting(e, &g_array_index(ss, struct sentence, i)))
			return i;
	return 0;
}

static guint first_sentence_with(const struct eval *e, unsigned cls, guint fallback)
{
	for (guint i = 0; i < e->view->sentences->len; i++)
		if (sentence_has(e, i, cls))
			return i;
	return fallback;
}

/* "our warehouse" / "your designer" / "the courier": whose side is it? */
enum side { SIDE_THIRD, SIDE_OURS, SIDE_CLIENT };

/* Look back up to three words for a possessive or article. */
static enum side side_of(const struct eval *e, const struct hit *h)
{
	static const struct {
		const char *word;
		enum side side;
	} marks[] = {
	    {"our", SIDE_OURS},    {"my", SIDE_OURS},       {"your", SIDE_CLIENT}, {"the", SIDE_THIRD},
	    {"their", SIDE_THIRD}, {"a", SIDE_THIRD},       {"an", SIDE_THIRD},    {"this", SIDE_THIRD},
	    {"that", SIDE_THIRD},  {"these", SIDE_THIRD},   {"those", SIDE_THIRD}, {"his", SIDE_THIRD},
	    {"her", SIDE_THIRD},   {"another", SIDE_THIRD},
	};
	const char *s = e->sc->nt.s;
	size_t i = h->nstart;
	for (int words = 0; words < 3 && i > 0; words++) {
		while (i > 0 && s[i - 1] == ' ')
			i--;
		size_t end = i;
		while (i > 0 && g_ascii_isalpha(s[i - 1]))
			i--;
		size_t n = end - i;
		if (n == 0)
			break; /* punctuation: the clause starts here */
		for (size_t k = 0; k < G_N_ELEMENTS(marks); k++)
			if (strlen(marks[k].word) == n && memcmp(s + i, marks[k].word, n) == 0)
				return marks[k].side;
	}
	return SIDE_THIRD;
}

static void judge_parties(struct eval *e)
{
	bool owned = (e->has_any & BIT(LEX_OWNERSHIP)) != 0;
	for (guint i = 0; i < e->sc->hits->len; i++) {
		const struct hit *h = hit_at(e, i);
		if (e->hit_negated[i] || (h->cls != LEX_THIRD_PARTY && h->cls != LEX_CLIENT_SIDE))
			continue;
		guint s = e->hit_sentence[i];
		if (!sentence_has(e, s, LEX_FAILURE) && !sentence_has(e, s, LEX_EXCUSE))
			continue;
		if (sentence_has(e, s, LEX_OWNERSHIP))
			continue;
		enum side side = h->cls == LEX_CLIENT_SIDE ? SIDE_CLIENT : side_of(e, h);
		if (side == SIDE_CLIENT)
			add_hit(e, RULE_DEFENSIVE, h);
		else if (side == SIDE_THIRD || !owned)
			add_hit(e, RULE_BLAME_THIRD_PARTY, h);
	}
}

static void judge_phrases(struct eval *e)
{
	for (guint i = 0; i < e->sc->hits->len; i++) {
		const struct hit *h = hit_at(e, i);
		guint s = e->hit_sentence[i];
		switch (h->cls) {
		case LEX_HOLLOW: add_hit(e, RULE_NON_APOLOGY, h); break;
		case LEX_EXCUSE:
			if (!e->hit_negated[i] && !sentence_has(e, s, LEX_OWNERSHIP))
				add_hit(e, RULE_EXCUSE, h);
			break;
		case LEX_DEFENSIVE:
			if (!e->hit_negated[i])
				add_hit(e, RULE_DEFENSIVE, h);
			break;
		case LEX_GROVEL:
			if (!e->hit_negated[i])
				add_hit(e, RULE_OVER_APOLOGY, h);
			break;
		default: break;
		}
	}
}

/* Apologies: count them, find stacked intensifiers, note what they are for. */
static void judge_apologies(struct eval *e, const struct hit **first_apology)
{
	const struct policy *pol = e->pol;
	unsigned count = 0, imposition_only = 0;
	*first_apology = NULL;
	for (guint i = 0; i < e->sc->hits->len; i++) {
		const struct hit *h = hit_at(e, i);
		if (h->cls != LEX_APOLOGY)
			continue;
		if (*first_apology == NULL)
			*first_apology = h;
		count++;
		if (scan_apology_is_polite(e->sc, i))
			imposition_only++;
		if (count == pol->over_max_apologies + 1)
			add_hit(e, RULE_OVER_APOLOGY, h);
		/* "truly, sincerely, deeply sorry": intensifiers just before it */
		unsigned stacked = 0;
		const struct hit *firstint = NULL;
		for (guint k = i; k > 0; k--) {
			const struct hit *p = hit_at(e, k - 1);
			/* (an intensifier may overlap the apology: no unsigned subtraction) */
			if (p->nend + 48 < h->nstart || e->hit_sentence[k - 1] != e->hit_sentence[i])
				break;
			if (p->cls == LEX_INTENSIFIER) {
				stacked++;
				firstint = p;
			}
		}
		if (stacked >= pol->over_min_intensifiers && firstint)
			add(e, RULE_OVER_APOLOGY, firstint->start, h->end);
	}
	e->apologies = count;
	e->out->apologised = count > imposition_only;
	if (count == 0)
		add_sentence(e, RULE_APOLOGY_MISSING, anchor(e));
}

/* Whether T[START, END) speaks to the client: "you", "your", "yours",
 * "yourself" or "yourselves" as a word ("youth" is none). */
static bool addresses_client(const char *t, size_t start, size_t end)
{
	static const char *const forms[] = {"you", "your", "yours", "yourself", "yourselves"};
	for (size_t i = start; i < end;) {
		size_t j = i;
		while (j < end && g_ascii_isalpha(t[j]))
			j++;
		for (size_t k = 0; j > i && k < G_N_ELEMENTS(forms); k++)
			if (strlen(forms[k]) == j - i && g_ascii_strncasecmp(t + i, forms[k], j - i) == 0)
				return true;
		i = j > i ? j : i + 1;
	}
	return false;
}

static bool is_question_to_client(const struct eval *e, guint s)
{
	const struct sentence *st = &g_array_index(e->view->sentences, struct sentence, s);
	const char *t = e->view->text;
	size_t end = sentence_trim_closers(t, st->start, st->end); /* "...(Chrome or Edge?)" */
	if (end == st->start || t[end - 1] != '?')
		return false;
	if (sentence_has(e, s, LEX_CALL) || sentence_has(e, s, LEX_REMEDY))
		return false;
	return addresses_client(t, st->start, st->end);
}

/* A sentence that says something: not a greeting ("Hi Anna,") and not a
 * name or sign-off line ("Sam", "Best,"): three words or more. */
static bool is_content(const struct eval *e, guint s)
{
	const struct sentence *st = &g_array_index(e->view->sentences, struct sentence, s);
	if (is_greeting(e, st))
		return false;
	unsigned words = 0;
	bool in = false;
	for (size_t i = st->start; i < st->end && words < 3; i++) {
		bool w = g_ascii_isalnum(e->view->text[i]) || (unsigned char)e->view->text[i] >= 0x80;
		words += w && !in;
		in = w;
	}
	return words >= 3;
}

/* Passing the buck: the reply is mostly questions or tasks handed back to
 * the client — at least min-count of them, or at least half of the
 * sentences that say something when it does nothing itself (no remedy) —
 * and offers no call. */
static void judge_buck(struct eval *e)
{
	guint n = e->view->sentences->len, count = 0, first = 0, real = 0;
	for (guint s = 0; s < n; s++) {
		if (is_content(e, s))
			real++;
		if (sentence_has(e, s, LEX_BUCK) || is_question_to_client(e, s)) {
			if (count++ == 0)
				first = s;
		}
	}
	bool calls = (e->has_any & BIT(LEX_CALL)) != 0;
	bool acts = (e->has_any & BIT(LEX_REMEDY)) != 0;
	bool mostly = count > 0 && 2 * count >= real && !acts;
	if ((count >= e->pol->buck_min || mostly) && !calls)
		add_sentence(e, RULE_PASSING_THE_BUCK, first);
}

static void judge_absences(struct eval *e, const struct complaint *c)
{
	guint a = anchor(e);
	if (!(e->has_any & BIT(LEX_OWNERSHIP)))
		add_sentence(e, RULE_NO_OWNERSHIP, a);
	if (!(e->has_any & BIT(LEX_REMEDY)))
		add_sentence(e, RULE_NO_REMEDY, first_sentence_with(e, LEX_STALL, a));
	if (!(e->has_any & BIT(LEX_PREVENTION)))
		add_sentence(e, RULE_NO_PREVENTION, a);
	if (c->severity == SEVERITY_SERIOUS && !(e->has_any & BIT(LEX_CALL)))
		add_sentence(e, RULE_NO_CALL_OFFER, a);
}

static void judge_time(struct eval *e, const struct complaint *c, gint64 now, const struct context *ctx,
                       const struct hit *first_apology)
{
	const struct policy *pol = e->pol;
	if (c->sent >= 0 && now > c->sent) {
		gint64 elapsed = pol->business_hours ? business_seconds(pol, c->sent, now) : now - c->sent;
		if (elapsed > pol->late_after)
			add_sentence(e, RULE_LATE_REPLY, anchor(e));
	}
	if (first_apology == NULL || ctx == NULL || c->kinds == 0 || now < 0)
		return;
	for (size_t i = 0; i < ctx->n_history; i++) {
		const struct history_entry *h = &ctx->history[i];
		if ((h->kinds & c->kinds) && h->when <= now && now - h->when <= pol->repeat_window) {
			add_hit(e, RULE_REPEAT_APOLOGY, first_apology);
			return;
		}
	}
}

/* A hit inside an exception phrase ("you should have had the calendar")
 * means nothing: treat it as negated. */
static void mark_exceptions(struct eval *e)
{
	/* The exceptions' spans (hits come sorted by start), merged where they
	 * overlap: disjoint and in order, their ends too.  Each other hit then
	 * looks up the last span starting before it ends, in O(log n): a text
	 * of thousands of exceptions and hits was quadratic. */
	GArray *spans = g_array_new(FALSE, FALSE, sizeof(struct hit));
	for (guint x = 0; x < e->sc->hits->len; x++) {
		const struct hit *ex = hit_at(e, x);
		if (ex->cls != LEX_EXCEPTION)
			continue;
		struct hit *last = spans->len ? &g_array_index(spans, struct hit, spans->len - 1) : NULL;
		if (last && ex->start < last->end)
			last->end = MAX(last->end, ex->end);
		else
			g_array_append_val(spans, *ex);
	}
	for (guint i = 0; spans->len && i < e->sc->hits->len; i++) {
		const struct hit *h = hit_at(e, i);
		if (h->cls == LEX_EXCEPTION)
			continue;
		guint lo = 0, hi = spans->len; /* spans[0, lo) start before h ends */
		while (lo < hi) {
			guint mid = lo + (hi - lo) / 2;
			if (g_array_index(spans, struct hit, mid).start < h->end)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo > 0 && g_array_index(spans, struct hit, lo - 1).end > h->start)
			e->hit_negated[i] = true;
	}
	g_array_free(spans, TRUE);
}

static int cmp_finding(const void *a, const void *b)
{
	const struct finding *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (int)x->rule - (int)y->rule;
}

void findings_evaluate(const struct policy *pol, const struct thread_view *view, const struct scan *sc,
                       const struct complaint *complaint, gint64 now, const struct context *ctx,
                       struct findings *out)
{
	memset(out, 0, sizeof *out);
	out->items = g_array_new(FALSE, TRUE, sizeof(struct finding));
	guint nh = sc->hits->len, ns = view->sentences->len;
	struct eval e = {
	    .pol = pol,
	    .view = view,
	    .sc = sc,
	    .facts = g_new0(struct sentence_facts, ns ? ns : 1),
	    .hit_sentence = g_new0(guint, nh ? nh : 1),
	    .hit_negated = g_new0(bool, nh ? nh : 1),
	    .learned = g_new0(guint32, ns ? ns : 1),
	    .negated = g_new0(guint64, ns ? ns : 1),
	    .out = out,
	};
	mark_exceptions(&e);
	for (guint i = 0; i < nh; i++) {
		const struct hit *h = hit_at(&e, i);
		e.hit_sentence[i] = sentence_of(view, h->start);
		e.hit_negated[i] = e.hit_negated[i] ||
		                   (h->cls < 64 && (negatable & BIT(h->cls)) && scan_negated(pol, sc, h));
		if (e.hit_negated[i] && h->cls < 64)
			e.negated[e.hit_sentence[i]] |= BIT(h->cls);
		if (e.hit_negated[i] || h->cls >= 64)
			continue;
		e.facts[e.hit_sentence[i]].has |= BIT(h->cls);
		e.has_any |= BIT(h->cls);
	}
	learn_sentences(&e);
	merge_learned(&e);
	const struct hit *first_apology;
	judge_apologies(&e, &first_apology);
	judge_phrases(&e);
	judge_parties(&e);
	judge_learned(&e);
	judge_buck(&e);
	judge_absences(&e, complaint);
	judge_time(&e, complaint, now, ctx, first_apology);
	g_array_sort(out->items, cmp_finding);
	g_free(e.facts);
	g_free(e.hit_sentence);
	g_free(e.hit_negated);
	g_free(e.learned);
	g_free(e.negated);
}

void findings_clear(struct findings *f)
{
	if (f->items) {
		for (guint i = 0; i < f->items->len; i++) {
			g_free(g_array_index(f->items, struct finding, i).excerpt);
			g_free(g_array_index(f->items, struct finding, i).words);
		}
		g_array_free(f->items, TRUE);
	}
	f->items = NULL;
}

/* Business seconds: walk day by day through the windows in local time. */
gint64 business_seconds(const struct policy *pol, gint64 from, gint64 to)
{
	if (to <= from)
		return 0;
	gint64 off = (gint64)pol->bh_utc_offset * 60;
	gint64 lf = from + off, lt = to + off;
	gint64 day = lf >= 0 ? lf / 86400 : (lf - 86399) / 86400;
	gint64 total = 0;
	for (int guard = 0; day * 86400 < lt && guard < 800; day++, guard++) {
		/* 1970-01-01 was a Thursday: weekday 1 = Monday ... 7 = Sunday */
		int wd = (int)(((day % 7) + 7 + 3) % 7) + 1;
		if (!(pol->bh_days & (1u << wd)))
			continue;
		gint64 ws = day * 86400 + pol->bh_start * 60, we = day * 86400 + pol->bh_end * 60;
		gint64 a = lf > ws ? lf : ws, b = lt < we ? lt : we;
		if (b > a)
			total += b - a;
	}
	return total;
}
