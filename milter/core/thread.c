/*
 * thread.c - stage 3: does this reply answer a client complaint, how serious
 * is it, and when was it sent?  A complaint is a breach of expectations
 * ("still", "again", "was supposed to", passed dates, why-questions), not
 * negative sentiment; escalation cues (cancel, refund, lawyer, "take our
 * business elsewhere") make it serious.  Evidence comes from the quoted
 * history, the subject, the new text (at a lower weight) and what the caller
 * knows from elsewhere (a stored inbound complaint).  Pure.
 */
#include <math.h>
#include <string.h>

#include "classifier.h"
#include "core.h"
#include "encoder.h"
#include "policy_priv.h"
#include "thread.h"

struct evidence {
	double score;
	double escalation;
	unsigned kinds;
	unsigned pattern_errors; /* patterns that failed on the words scanned */
};

/* Count the cues among SC's hits, at most four per class, times WEIGHT. */
static void count_cues(const struct policy *pol, const struct scan *sc, double weight, struct evidence *ev)
{
	unsigned per_class[LEX_FIXED_COUNT] = {0};
	for (guint i = 0; i < sc->hits->len; i++) {
		const struct hit *h = &g_array_index(sc->hits, struct hit, i);
		if (h->cls >= LEX_FIXED_COUNT) {
			ev->kinds |= 1u << (h->cls - LEX_FIXED_COUNT);
			continue;
		}
		if (h->cls < CUE_BREACH || h->cls > CUE_ESCALATION || per_class[h->cls] >= 4)
			continue;
		per_class[h->cls]++;
		double w = pol->cue_weight[h->cls - CUE_BREACH] * weight;
		ev->score += w;
		if (h->cls == CUE_ESCALATION)
			ev->escalation += w;
	}
}

/* Does the reply apologise (for something other than a small imposition)
 * or take ownership of a failure?  Either says a complaint is being answered. */
static bool acknowledges(const struct scan *sc)
{
	for (guint i = 0; i < sc->hits->len; i++) {
		const struct hit *h = &g_array_index(sc->hits, struct hit, i);
		if (h->cls == LEX_OWNERSHIP)
			return true;
		if (h->cls == LEX_APOLOGY && !scan_apology_is_polite(sc, i))
			return true;
	}
	return false;
}

static void add_cues(const struct policy *pol, const char *text, size_t len, double weight,
                     struct evidence *ev)
{
	if (len == 0)
		return;
	struct scan sc = {0};
	scan_text(&pol->cues, text, len, &sc);
	count_cues(pol, &sc, weight, ev);
	ev->pattern_errors += sc.pattern_errors;
	scan_clear(&sc);
}

/* Shouting and "?!" in the client's own words. */
static double tone(const char *text, size_t len)
{
	unsigned caps_words = 0, marks = 0;
	size_t i = 0;
	while (i < len) {
		if (g_ascii_isupper(text[i])) {
			size_t j = i;
			while (j < len && g_ascii_isupper(text[j]))
				j++;
			if (j - i >= 4 && (j == len || !g_ascii_isalpha(text[j])))
				caps_words++;
			i = j;
			continue;
		}
		if ((text[i] == '?' || text[i] == '!') && i + 1 < len &&
		    (text[i + 1] == '!' || text[i + 1] == '?'))
			marks++;
		i++;
	}
	return (caps_words >= 2 ? 1.0 : 0.0) + (marks ? 0.5 : 0.0);
}

/* Cut LEN to at most MAX bytes on a UTF-8 boundary. */
size_t clamp_utf8(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}

/* The learned gate's say on a thread: logits relative to each class's
 * threshold (0 is the boundary) and what they decide. */
struct learned {
	bool on;         /* the policy has a gate model */
	bool detected;   /* the model says: a complaint */
	float complaint; /* the complaint's own words */
	float serious;
	float answers; /* the reply's own words, or NAN when not consulted */
	float margin;  /* how far past its bar the deciding evidence is */
};

/* Logits of the gate model on TEXT (cut by the caller to its first
 * quoted-scan-bytes), relative to each class's threshold.  (The subject is
 * left out: a line of its own, it is mostly noise to a model that reads
 * sentences.) */
static void gate_logits(const struct policy *pol, const char *text, size_t len, float *rel)
{
	classifier_score_text(pol->gate, text, len, rel);
	for (unsigned c = 0; c < pol->gate->n_classes; c++) {
		rel[c] -= pol->gate->threshold[c];
		if (!(rel[c] > -99))
			rel[c] = -99; /* no words at all */
	}
}

/* The gate-text model's logit of class CLS on TEXT read whole, relative to
 * its threshold; 0 (nothing to add) without that model or class. */
static float whole_say(const struct policy *pol, int cls, const char *text, size_t len)
{
	if (pol->gate_text == NULL || cls < 0)
		return 0;
	float whole[CLASSIFIER_MAX_CLASSES];
	classifier_score_whole(pol->gate_text, text, len, whole);
	float t = whole[cls] - pol->gate_text->threshold[cls];
	return t > -99 ? t : -99;
}

/* The encoder's say on TEXT: its head's complaint logit relative to the
 * head's threshold, plus encoder-lift (the head's bar was set alone; added
 * to the gate's, it is lowered so the two together take no more ordinary
 * mail than the gate alone, docs/models.md).  0 without an encoder. */
static float encoder_say(const struct policy *pol, const char *text, size_t len)
{
	if (pol->encoder == NULL)
		return 0;
	float *emb = g_new(float, encoder_dim(pol->encoder));
	float logit[CLASSIFIER_MAX_CLASSES];
	float say = 0;
	if (encoder_embed(pol->encoder, text, len, emb) == 0) {
		classifier_score_dense(pol->encoder_head, emb, logit);
		int c = pol->encoder_head_class;
		say = logit[c] - pol->encoder_head->threshold[c] + (float)pol->encoder_lift;
		if (!isfinite(say))
			say = 0; /* nothing to add, as without an encoder */
	}
	g_free(emb);
	return say;
}

/* The gate on a complaint's own words (TEXT, the quoted history or an
 * inbound message). */
static struct learned gate_score(const struct policy *pol, const char *text, size_t len)
{
	struct learned l = {.answers = NAN, .margin = -INFINITY};
	if (pol->gate == NULL)
		return l;
	float rel[CLASSIFIER_MAX_CLASSES];
	size_t qlen = clamp_utf8(text, len, pol->quoted_scan_bytes);
	gate_logits(pol, text, qlen, rel);
	l.on = true;
	l.complaint = rel[pol->gate_class[GATE_COMPLAINT]];
	/* the whole text's say, added: a complaint told as a story has no
	 * single sentence of breach */
	l.complaint += whole_say(pol, pol->gate_text_class, text, qlen);
	l.serious = rel[pol->gate_class[GATE_SERIOUS]];
	l.detected = l.complaint >= 0;
	l.margin = l.complaint;
	return l;
}

/* When the complaint's words fall short, the reply's own may carry it:
 * log-odds add up, so a reply that reads as the answer to a complaint lifts
 * a quoted text that is nearly one; with nothing quoted at all the reply
 * must be an answer by reply-alone-margin on its own.  A complaint its own
 * words carry past the bar but not past hold-margin is lifted the same way
 * (never below its own margin): otherwise a complaint just short of the bar
 * would make a clearer call than one just past it. */
static void gate_reply(const struct policy *pol, const struct thread_view *view, struct learned *l)
{
	if (!l->on || view->len == 0 || (l->detected && l->margin >= pol->hold_margin))
		return;
	/* the reply's words after its greeting ("Hi Dana,"), which says nothing
	 * (a reply that is only a greeting is read whole) */
	size_t skip = split_greeting_len(pol, view->text, view->len);
	const char *text = view->text + skip;
	float rel[CLASSIFIER_MAX_CLASSES];
	size_t rlen = clamp_utf8(text, view->len - skip, pol->quoted_scan_bytes);
	gate_logits(pol, text, rlen, rel);
	l->answers = rel[pol->gate_class[GATE_ANSWERS]] + whole_say(pol, pol->gate_text_answers, text, rlen);
	float lifted = view->quoted_len > 0 ? l->complaint + l->answers + (float)pol->thread_lift
	                                    : l->answers - (float)pol->reply_alone_margin;
	l->margin = l->detected ? fmaxf(l->margin, lifted) : lifted;
	if (l->margin >= 0)
		l->detected = true;
}

/* The sentence encoder's say on the complaint's words (TEXT), added where
 * the gate is unsure.  It costs milliseconds where the gate costs
 * microseconds, so it is read only where it could matter: the complaint's
 * margin, or the call's with the reply's words, short of the bar by at most
 * encoder-band; and the call not clear yet: past the bar by less than
 * hold-margin, and not made clear by the complaint's breach phrases (SURE).
 * For ARRIVING mail any complaint detected is stored clear, so there only
 * one not detected.  The say shifts the call's margin whichever words made
 * it, so the call moves with the say and never against it; a complaint its
 * own words now carry past the bar decides alone, as in gate_score(). */
static void encoder_check(const struct policy *pol, const char *text, size_t len, bool sure, bool arriving,
                          const struct context *ctx, struct learned *l, bool *deferred)
{
	float top = arriving ? 0 : (float)pol->hold_margin;
	if (!l->on || pol->encoder == NULL || len == 0 || sure || l->margin >= top ||
	    fmaxf(l->complaint, l->margin) < -(float)pol->encoder_band)
		return;
	if (ctx && ctx->defer_encoder) {
		*deferred = true;
		return;
	}
	float say = encoder_say(pol, text, clamp_utf8(text, len, pol->quoted_scan_bytes));
	l->complaint += say;
	l->margin += say;
	if (l->complaint >= 0 && l->margin < l->complaint)
		l->margin = l->complaint;
	l->detected = l->margin >= 0;
}

/* EV is the phrase evidence of the complaint and the reply together,
 * QUOTED_SCORE the complaint's own share of it. */
static void conclude(const struct policy *pol, const struct evidence *ev, float quoted_score,
                     const struct learned *l, struct complaint *out)
{
	out->score = l->on ? l->complaint : ev->score;
	out->answers = l->answers;
	out->kinds |= ev->kinds;
	/* With the models on, the phrase lists' breach evidence lifts a thread
	 * the models place just short of their bar (within phrase-assist). */
	bool phrases = ev->score >= pol->complaint_threshold;
	if (l->on ? l->detected || (phrases && l->margin >= -pol->phrase_assist) : phrases)
		out->detected = true;
	if (!out->detected) {
		out->severity = SEVERITY_NONE;
		return;
	}
	/* A stored complaint (the models are off then) is clear, and so is
	 * the models' call when its margin clears hold-margin (the reply's
	 * margin counts in it when the reply lifted the thread) or the
	 * complaint's own breach phrases agree (the reply's do not count); a
	 * thread the phrases lifted to the bar is not. */
	out->clear = !l->on || l->margin >= pol->hold_margin ||
	             (quoted_score >= pol->complaint_threshold && l->detected);
	if (out->severity == SEVERITY_NONE)
		/* escalation phrases (cancel, lawyer, "take our business
		 * elsewhere") are precise: they make it serious beside the model,
		 * whose serious class was fitted on complaints only, so it speaks
		 * only on a thread taken for a complaint whose own words come
		 * within models.serious-margin of the complaint bar */
		out->severity = ((l->on && l->complaint >= -(float)pol->serious_margin && l->serious >= 0) ||
		                 ev->escalation >= pol->serious_threshold)
		                    ? SEVERITY_SERIOUS
		                    : SEVERITY_NORMAL;
}

/* No call at all: PATTERN_ERRORS patterns of the policy failed on words it
 * reads (struct complaint). */
static void no_call(unsigned pattern_errors, struct complaint *out)
{
	out->pattern_errors = pattern_errors;
	out->answers = NAN;
}

/* The complaint's own evidence: cues in its subject (weighted) and in the
 * first quoted-scan-bytes of its text, and its tone.  SUBJECT may be NULL. */
static void complaint_evidence(const struct policy *pol, const char *subject, const char *text, size_t len,
                               struct evidence *ev)
{
	if (subject)
		add_cues(pol, subject, clamp_utf8(subject, strlen(subject), pol->quoted_scan_bytes),
		         pol->subject_weight, ev); /* a subject of megabytes: as much as of the text */
	size_t qlen = clamp_utf8(text, len, pol->quoted_scan_bytes);
	add_cues(pol, text, qlen, 1.0, ev);
	ev->score += tone(text, qlen);
}

void thread_classify_scanned(const struct policy *pol, const struct message *msg,
                             const struct thread_view *view, const struct context *ctx,
                             const struct scan *text_scan, struct complaint *out)
{
	memset(out, 0, sizeof *out);
	out->sent = -1;
	if (text_scan->pattern_errors > 0) {
		no_call(text_scan->pattern_errors, out);
		return;
	}
	struct evidence ev = {0};
	complaint_evidence(pol, msg->subject, view->quoted, view->quoted_len, &ev);
	if (ev.pattern_errors > 0) {
		no_call(ev.pattern_errors, out);
		return;
	}
	unsigned complaint_kinds = ev.kinds;
	struct evidence mine = {0};
	count_cues(pol, text_scan, pol->new_text_weight, &mine);
	if (acknowledges(text_scan))
		mine.score += pol->apology_weight;
	/* A stored complaint decides (detected, with its severity): the models
	 * have nothing to add and are not run.  But one stored unclear (within
	 * models.inbound-margin short of the bar) is only as clear as the
	 * thread's own words make it, as if nothing were stored. */
	bool stored = ctx && ctx->stored_complaint;
	struct learned l = {.answers = NAN};
	if (!stored || ctx->complaint_unclear) {
		l = gate_score(pol, view->quoted, view->quoted_len);
		gate_reply(pol, view, &l);
		encoder_check(pol, view->quoted, view->quoted_len,
		              l.detected && ev.score >= pol->complaint_threshold, false, ctx, &l,
		              &out->deferred);
		if (out->deferred)
			return;
	}
	float quoted_score = ev.score;
	ev.score += mine.score;
	ev.escalation += mine.escalation;
	/* The reply's own words name the failure when the complaint does not. */
	ev.kinds = complaint_kinds ? complaint_kinds : mine.kinds;

	if (stored) {
		/* The stored complaint was judged whole when it arrived: its
		 * severity stands. */
		out->detected = true;
		out->sent = ctx->complaint_time;
		out->kinds = ctx->complaint_kinds;
		out->severity = ctx->complaint_serious ? SEVERITY_SERIOUS : SEVERITY_NORMAL;
	}
	conclude(pol, &ev, quoted_score, &l, out);
	if (out->detected && out->sent < 0)
		out->sent = view->quoted_date;
	out->near_miss = !out->detected && l.on && view->quoted_len > 0 && l.margin >= -pol->near_miss;
}

void thread_classify_text(const struct policy *pol, const char *subject, const char *text, size_t len,
                          const struct context *ctx, struct complaint *out)
{
	memset(out, 0, sizeof *out);
	out->sent = -1;
	struct evidence ev = {0};
	complaint_evidence(pol, subject, text, len, &ev);
	if (ev.pattern_errors > 0) {
		no_call(ev.pattern_errors, out);
		return;
	}
	/* the models read its words after its greeting ("Hi Alex,"), which
	 * says nothing; the phrase lists read it all */
	size_t skip = split_greeting_len(pol, text, len);
	struct learned l = gate_score(pol, text + skip, len - skip);
	encoder_check(pol, text + skip, len - skip, l.detected && ev.score >= pol->complaint_threshold, true,
	              ctx, &l, &out->deferred);
	if (out->deferred)
		return;
	conclude(pol, &ev, ev.score, &l, out);
	/* Arriving mail: a complaint detected at the bar (by the gate, or by
	 * the breach phrases within phrase-assist of it) is one the milter
	 * stores, clear enough to hold a reply to it, as every stored complaint
	 * was; one the gate places within models.inbound-margin short of the
	 * bar is stored too, but unclear: a reply to it is held only when the
	 * thread's own words make the complaint clear, as they would with
	 * nothing stored. */
	if (out->detected) {
		out->clear = true;
	} else if (l.on && pol->inbound_margin > 0 && l.margin >= -pol->inbound_margin) {
		l.detected = true; /* the same conclusion (severity, kinds), unclear */
		conclude(pol, &ev, ev.score, &l, out);
		out->clear = false;
	}
}
