/*
 * decide.c - stage 5: from findings to a score and a verdict.  The score is
 * the sum of the weights of the rules that fired (each rule once).  A rule
 * with severity "hold", or a fired set that contains one of the policy's
 * hold-when combinations, or a score at hold-score, holds; a score at
 * advise-score advises; anything else passes.  Pure.
 */
#include <string.h>

#include "core.h"
#include "policy_priv.h"

static const char *const verdict_names[] = {"pass", "advise", "hold", "unchecked"};

const char *verdict_name(enum verdict v)
{
	return (unsigned)v < G_N_ELEMENTS(verdict_names) ? verdict_names[v] : "unknown";
}

/* The words of a finding, cut to a readable length on a UTF-8 boundary. */
static char *excerpt(const struct thread_view *view, size_t start, size_t end)
{
	const size_t max = 240;
	if (end > view->len)
		end = view->len;
	if (start > end)
		start = end;
	char *s = g_strndup(view->text + start, clamp_utf8(view->text + start, end - start, max));
	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	return s;
}

static unsigned line_of(const struct thread_view *view, size_t off)
{
	unsigned line = 1;
	for (size_t i = 0; i < off && i < view->len; i++)
		if (view->text[i] == '\n')
			line++;
	return line;
}

void decide(const struct policy *pol, const struct thread_view *view, struct findings *f,
            struct decision *out)
{
	guint32 fired = 0, holding = 0;
	for (guint i = 0; i < f->items->len; i++)
		fired |= 1u << g_array_index(f->items, struct finding, i).rule;

	int score = 0;
	for (int r = 0; r < RULE_COUNT; r++) {
		if (!(fired & (1u << r)))
			continue;
		score += pol->rules[r].weight;
		if (pol->rules[r].severity == RULE_HOLD)
			holding |= 1u << r;
	}
	for (guint i = 0; i < pol->hold_when->len; i++) {
		guint32 combo = g_array_index(pol->hold_when, guint32, i);
		if ((fired & combo) == combo)
			holding |= combo;
	}
	/* A hold by score alone: the findings that weigh make it, and say so. */
	if (holding == 0 && pol->hold_score > 0 && score >= pol->hold_score)
		for (int r = 0; r < RULE_COUNT; r++)
			if ((fired & (1u << r)) && pol->rules[r].weight > 0)
				holding |= 1u << r;
	bool hold = holding != 0;
	/* A complaint the models only just see is no ground to stop mail:
	 * advise instead (models.hold-margin). */
	if (hold && !out->complaint.clear) {
		hold = false;
		holding = 0;
		out->held_back = true;
	}
	out->score = score;
	out->verdict = hold                                                          ? VERDICT_HOLD
	               : out->held_back || (score >= pol->advise_score && score > 0) ? VERDICT_ADVISE
	                                                                             : VERDICT_PASS;
	for (guint i = 0; i < f->items->len; i++) {
		struct finding *fd = &g_array_index(f->items, struct finding, i);
		const struct rule_conf *rc = &pol->rules[fd->rule];
		fd->severity = (holding & (1u << fd->rule)) ? RULE_HOLD : RULE_ADVISE;
		fd->line = line_of(view, fd->start);
		fd->excerpt = excerpt(view, fd->start, fd->end);
		fd->principle = rc->principle;
		fd->advice = rc->advice;
	}
	out->findings = f->items;
	out->apologised = f->apologised;
	f->items = NULL;
}
