/*
 * render_headers.c - header values and the findings JSON, rendered from a
 * struct decision (see render_headers.h).  No I/O.
 */
#include <string.h>

#include "render.h"
#include "render_headers.h"
#include "units.h"

#define FOLD "\n\t"

static const struct finding *finding_at(const struct decision *d, guint i)
{
	return &g_array_index(d->findings, struct finding, i);
}

static guint finding_count(const struct decision *d)
{
	return d->findings ? d->findings->len : 0;
}

char *render_rule_list(const struct decision *d)
{
	GString *s = g_string_new(NULL);
	bool seen[RULE_COUNT] = {false};
	for (guint i = 0; i < finding_count(d); i++) {
		enum rule_id r = finding_at(d, i)->rule;
		if ((unsigned)r >= RULE_COUNT || seen[r])
			continue;
		seen[r] = true;
		g_string_append_printf(s, "%s%s", s->len ? "," : "", rule_name(r));
	}
	return g_string_free(s, FALSE);
}

/* REASON reduced to a token of lower-case letters, digits and '-'. */
static char *reason_token(const char *reason)
{
	GString *s = g_string_new(NULL);
	for (const char *p = reason ? reason : "error"; *p && s->len < 60; p++) {
		if (g_ascii_isalnum(*p))
			g_string_append_c(s, g_ascii_tolower(*p));
		else if (s->len && s->str[s->len - 1] != '-')
			g_string_append_c(s, '-');
	}
	while (s->len && s->str[s->len - 1] == '-')
		g_string_truncate(s, s->len - 1);
	if (s->len == 0)
		g_string_assign(s, "error");
	return g_string_free(s, FALSE);
}

char *render_check_value(const struct decision *d)
{
	if (d->verdict == VERDICT_UNCHECKED) {
		char *why = reason_token(d->reason);
		char *v = g_strdup_printf("unchecked; reason=%s", why);
		g_free(why);
		return v;
	}
	char *rules = render_rule_list(d);
	char *v = *rules
	              ? g_strdup_printf("%s; score=%d; rules=%s", verdict_name(d->verdict), d->score, rules)
	              : g_strdup_printf("%s; score=%d", verdict_name(d->verdict), d->score);
	g_free(rules);
	return v;
}

char *render_findings_value(const struct decision *d)
{
	guint n = finding_count(d);
	if (n == 0)
		return NULL;
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < n && i < RENDER_MAX_FINDINGS; i++) {
		const struct finding *f = finding_at(d, i);
		g_string_append_printf(s, "%s%s severity=%s line=%u span=%zu-%zu", i ? "," FOLD : "",
		                       rule_name(f->rule), f->severity == RULE_HOLD ? "hold" : "advise",
		                       f->line, f->start, f->end);
	}
	if (n > RENDER_MAX_FINDINGS)
		g_string_append_printf(s, "," FOLD "more=%u", n - RENDER_MAX_FINDINGS);
	return g_string_free(s, FALSE);
}

/* ---- JSON ------------------------------------------------------------- */

char *render_decision_json(const struct decision *d)
{
	GString *o = g_string_new("{\"verdict\":");
	render_json_string(o, verdict_name(d->verdict));
	g_string_append_printf(o, ",\"score\":%d,\"reason\":", d->score);
	render_json_string(o, d->reason);
	g_string_append_printf(o, ",\"apologised\":%s,\"complaint\":{\"detected\":%s,\"severity\":",
	                       d->apologised ? "true" : "false", d->complaint.detected ? "true" : "false");
	render_json_string(o, d->complaint.detected ? render_severity_name(d->complaint.severity) : NULL);
	char *sent = units_format_time(d->complaint.sent);
	g_string_append(o, ",\"sent\":");
	render_json_string(o, sent);
	g_free(sent);
	g_string_append_printf(o, ",\"kinds\":%u},\"findings\":", d->complaint.kinds);
	render_json_findings(o, d);
	g_string_append_c(o, '}');
	return g_string_free(o, FALSE);
}
