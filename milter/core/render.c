/*
 * render.c - see render.h.
 */
#include <math.h>
#include <string.h>

#include "jsonstr.h"
#include "policy.h"
#include "render.h"
#include "termtext.h"
#include "units.h"

void render_json_string(GString *out, const char *s)
{
	jsonstr_append(out, s);
}

const char *render_severity_name(enum complaint_severity s)
{
	return s == SEVERITY_SERIOUS ? "serious" : s == SEVERITY_NORMAL ? "normal" : NULL;
}

void render_json_findings(GString *out, const struct decision *d)
{
	g_string_append_c(out, '[');
	for (guint i = 0; d->findings && i < d->findings->len; i++) {
		const struct finding *f = &g_array_index(d->findings, struct finding, i);
		g_string_append(out, i ? ",{\"rule\":" : "{\"rule\":");
		render_json_string(out, rule_name(f->rule));
		g_string_append_printf(
		    out, ",\"severity\":\"%s\",\"start\":%zu,\"end\":%zu,\"line\":%u,\"excerpt\":",
		    f->severity == RULE_HOLD ? "hold" : "advise", f->start, f->end, f->line);
		render_json_string(out, f->excerpt);
		if (f->words) {
			g_string_append(out, ",\"words\":");
			render_json_string(out, f->words);
		}
		g_string_append(out, ",\"principle\":");
		render_json_string(out, f->principle);
		g_string_append(out, ",\"advice\":");
		render_json_string(out, f->advice);
		g_string_append_c(out, '}');
	}
	g_string_append_c(out, ']');
}

void render_json(GString *out, const char *file, const struct decision *d)
{
	g_string_append(out, "{\"file\":");
	if (file)
		render_json_string(out, file);
	else
		g_string_append(out, "null");
	g_string_append_printf(out, ",\"verdict\":\"%s\",\"score\":%d", verdict_name(d->verdict), d->score);
	if (d->reason) {
		g_string_append(out, ",\"reason\":");
		render_json_string(out, d->reason);
	}
	const struct complaint *c = &d->complaint;
	g_string_append_printf(
	    out, ",\"complaint\":{\"detected\":%s,\"severity\":", c->detected ? "true" : "false");
	const char *sev = render_severity_name(c->severity);
	if (sev)
		g_string_append_printf(out, "\"%s\"", sev);
	else
		g_string_append(out, "null");
	char *sent = c->detected ? units_format_time(c->sent) : NULL;
	g_string_append(out, ",\"sent\":");
	if (sent)
		g_string_append_printf(out, "\"%s\"", sent);
	else
		g_string_append(out, "null");
	g_free(sent);
	g_string_append_printf(out, ",\"evidence\":%.1f,\"answers\":", c->score);
	if (isnan(c->answers))
		g_string_append(out, "null");
	else
		g_string_append_printf(out, "%.1f", c->answers);
	g_string_append_printf(out, ",\"clear\":%s,\"near_miss\":%s},\"held_back\":%s,\"findings\":",
	                       c->detected && c->clear ? "true" : "false", c->near_miss ? "true" : "false",
	                       d->held_back ? "true" : "false");
	render_json_findings(out, d);
	g_string_append_c(out, '}');
}

/* The failure kinds of KINDS (policy_kind_index() bits): JSON strings
 * separated by commas, or for text "a, b". */
static void kind_names(GString *out, const struct policy *pol, unsigned kinds, bool json)
{
	bool first = true;
	for (unsigned k = 0; k < policy_kind_count(pol) && k < 32; k++) {
		if (!(kinds & (1u << k)))
			continue;
		g_string_append(out, first ? "" : json ? "," : ", ");
		if (json)
			render_json_string(out, policy_kind_name(pol, k));
		else
			g_string_append(out, policy_kind_name(pol, k));
		first = false;
	}
}

void render_json_inbound(GString *out, const char *file, const struct policy *pol, const struct inbound *in)
{
	const struct complaint *c = &in->complaint;
	g_string_append(out, "{\"file\":");
	render_json_string(out, file);
	g_string_append_printf(out, ",\"parsed\":%s,\"message_id\":", in->parsed ? "true" : "false");
	render_json_string(out, in->message_id && *in->message_id ? in->message_id : NULL);
	g_string_append_printf(
	    out, ",\"complaint\":{\"detected\":%s,\"severity\":", c->detected ? "true" : "false");
	render_json_string(out, render_severity_name(c->severity));
	if (in->parsed && c->pattern_errors == 0)
		g_string_append_printf(out, ",\"evidence\":%.1f", c->score);
	else
		g_string_append(out, ",\"evidence\":null");
	g_string_append_printf(out, ",\"clear\":%s,\"kinds\":[", c->detected && c->clear ? "true" : "false");
	kind_names(out, pol, c->detected ? c->kinds : 0, true);
	g_string_append(out, "]}");
	if (c->pattern_errors > 0) {
		g_string_append(out, ",\"reason\":");
		render_json_string(out, DECISION_PATTERN_FAILED);
	}
	g_string_append(out, "}");
}

void render_text_inbound(GString *out, const char *file, const struct policy *pol, const struct inbound *in)
{
	const struct complaint *c = &in->complaint;
	const char *sev = render_severity_name(c->severity);
	if (!in->parsed) {
		g_string_append_printf(out, "%s: not a readable message, no complaint", file);
		return;
	}
	if (c->pattern_errors > 0) {
		g_string_append_printf(out, "%s: not analysed: %s, no complaint", file,
		                       DECISION_PATTERN_FAILED);
		return;
	}
	g_string_append_printf(out, "%s: %s%s%s%s, evidence %+.1f", file,
	                       c->detected ? "complaint" : "no complaint", sev ? ", " : "", sev ? sev : "",
	                       c->detected && !c->clear ? ", unclear" : "", c->score);
	if (c->detected && c->kinds) {
		g_string_append(out, "; kinds ");
		kind_names(out, pol, c->kinds, false);
	}
	if (c->detected && !(in->message_id && *in->message_id))
		g_string_append(out, "; no Message-ID, so the milter would not store it");
}

/* The line of the new text around [start,end) with the words marked. */
static void context_line(GString *out, const struct decision *d, const struct finding *f, bool colour)
{
	size_t ls = f->start, le = f->end;
	while (ls > 0 && d->text[ls - 1] != '\n')
		ls--;
	le = f->start;
	while (le < d->text_len && d->text[le] != '\n')
		le++;
	while (le > f->start && d->text[le - 1] == '\r')
		le--;
	size_t end = f->end > le ? le : f->end;
	g_string_append(out, "    | ");
	termtext_append(out, d->text + ls, (gssize)(f->start - ls));
	g_string_append(out, colour ? "\033[1;31m" : "[[");
	termtext_append(out, d->text + f->start, (gssize)(end - f->start));
	g_string_append(out, colour ? "\033[0m" : "]]");
	termtext_append(out, d->text + end, (gssize)(le - end));
	g_string_append_c(out, '\n');
}

void render_text(GString *out, const char *file, const struct decision *d, bool colour)
{
	const char *v = verdict_name(d->verdict);
	if (colour) {
		const char *c = d->verdict == VERDICT_HOLD     ? "1;31"
		                : d->verdict == VERDICT_ADVISE ? "1;33"
		                                               : "1;32";
		g_string_append_printf(out, "%s: \033[%sm%s\033[0m (score %d)\n", file ? file : "-", c, v,
		                       d->score);
	} else {
		g_string_append_printf(out, "%s: %s (score %d)\n", file ? file : "-", v, d->score);
	}
	if (d->reason)
		g_string_append_printf(out, "  not analysed: %s\n", d->reason);
	const struct complaint *c = &d->complaint;
	if (d->verdict != VERDICT_UNCHECKED) {
		if (!c->detected) {
			g_string_append(out,
			                "  not a reply to a complaint: the apology policy does not apply\n");
		} else {
			char *sent = units_format_time(c->sent);
			g_string_append_printf(out, "  answers a %s complaint%s%s\n",
			                       render_severity_name(c->severity), sent ? " sent " : "",
			                       sent ? sent : "");
			g_free(sent);
		}
		if (d->held_back)
			g_string_append(
			    out,
			    "  advised, not held: the models see the complaint, but not clearly enough "
			    "to stop mail (models.hold-margin; models.inbound-margin for one stored as it "
			    "arrived)\n");
	}
	for (guint i = 0; d->findings && i < d->findings->len; i++) {
		const struct finding *f = &g_array_index(d->findings, struct finding, i);
		g_string_append_printf(out, "\n  %s%s%s [%s] line %u\n", colour ? "\033[1m" : "",
		                       rule_name(f->rule), colour ? "\033[0m" : "",
		                       f->severity == RULE_HOLD ? "hold" : "advise", f->line);
		if (f->end > f->start)
			context_line(out, d, f, colour);
		if (f->words) {
			g_string_append(out, "    learned: the sentence reads so, above all \"");
			termtext_append(out, f->words, -1);
			g_string_append(out, "\"\n");
		}
		if (f->principle)
			g_string_append_printf(out, "    why:     %s\n", f->principle);
		if (f->advice)
			g_string_append_printf(out, "    instead: %s\n", f->advice);
	}
}
