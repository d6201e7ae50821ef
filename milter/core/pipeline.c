/*
 * pipeline.c - the whole core in one short function:
 * parse -> split -> classify the thread -> evaluate -> decide.
 * The programs (apologyctl, the milter, the review server) call only this.
 */
#include <math.h>
#include <string.h>

#include "core.h"
#include "policy_priv.h"

static void decision_init(struct decision *out)
{
	memset(out, 0, sizeof *out);
	out->complaint.sent = -1;
	out->complaint.answers = NAN;
	out->findings = g_array_new(FALSE, TRUE, sizeof(struct finding));
	out->text = g_strdup("");
	out->quoted = g_strdup("");
}

/* The quoted history of VIEW as the classification read it, bounded: kept
 * for a held reply and a near miss only, the decisions whose record carries
 * it (a near miss's when the daemon keeps a sample of them). */
static void keep_quoted(const struct policy *pol, const struct thread_view *view, struct decision *out)
{
	size_t max = MIN(pol->quoted_scan_bytes, DECISION_QUOTED_MAX);
	size_t n = view->quoted ? clamp_utf8(view->quoted, view->quoted_len, max) : 0;
	g_free(out->quoted);
	out->quoted = g_utf8_make_valid(view->quoted ? view->quoted : "", (gssize)n);
	out->quoted_len = strlen(out->quoted);
}

bool apology_split(const struct policy *pol, const char *data, size_t len, struct thread_view *view)
{
	struct message msg;
	bool ok = message_parse(data, len, &pol->limits, &msg);
	if (ok)
		split_message(pol, &msg, view);
	else
		memset(view, 0, sizeof *view);
	message_clear(&msg);
	return ok;
}

char *apology_new_text(const struct policy *pol, const char *data, size_t len, size_t *text_len)
{
	struct thread_view view;
	*text_len = 0;
	if (!apology_split(pol, data, len, &view))
		return NULL;
	char *text = g_strndup(view.text, view.len);
	*text_len = view.len;
	thread_view_clear(&view);
	return text;
}

void apology_check(const struct policy *pol, const char *data, size_t len, const struct context *ctx,
                   struct decision *out)
{
	decision_init(out);
	struct message msg;
	if (!message_parse(data, len, &pol->limits, &msg)) {
		out->verdict = VERDICT_UNCHECKED;
		out->reason = msg.unchecked;
		message_clear(&msg);
		return;
	}
	struct thread_view view;
	split_message(pol, &msg, &view);
	g_free(out->text);
	out->text = g_strndup(view.text, view.len);
	out->text_len = view.len;

	struct scan sc = {0};
	scan_text(&pol->all, view.text, view.len, &sc);
	thread_classify_scanned(pol, &msg, &view, ctx, &sc, &out->complaint);
	if (out->complaint.pattern_errors > 0) {
		out->verdict = VERDICT_UNCHECKED;
		out->reason = DECISION_PATTERN_FAILED;
	} else if (out->complaint.deferred) {
		/* judged again where the encoder may run */
	} else if (out->complaint.detected) {
		gint64 now = ctx && ctx->now > 0 ? ctx->now : msg.date;
		struct findings f;
		findings_evaluate(pol, &view, &sc, &out->complaint, now, ctx, &f);
		g_array_free(out->findings, TRUE);
		decide(pol, &view, &f, out);
		findings_clear(&f);
		if (out->verdict == VERDICT_HOLD)
			keep_quoted(pol, &view, out);
	} else if (out->complaint.near_miss) {
		keep_quoted(pol, &view, out);
	}
	scan_clear(&sc);
	thread_view_clear(&view);
	message_clear(&msg);
}

void apology_classify_inbound(const struct policy *pol, const char *data, size_t len,
                              const struct context *ctx, struct inbound *out)
{
	memset(out, 0, sizeof *out);
	out->complaint.sent = -1;
	struct message msg;
	if (message_parse(data, len, &pol->limits, &msg)) {
		struct thread_view view;
		split_arriving(pol, &msg, &view);
		thread_classify_text(pol, msg.subject, view.text, view.len, ctx, &out->complaint);
		out->parsed = true;
		out->message_id = g_strdup(msg.message_id);
		out->from = g_strdup(msg.from);
		thread_view_clear(&view);
	}
	message_clear(&msg);
	if (!out->parsed) {
		out->message_id = g_strdup("");
		out->from = g_strdup("");
	}
}

void inbound_clear(struct inbound *in)
{
	g_free(in->message_id);
	g_free(in->from);
	memset(in, 0, sizeof *in);
}

void decision_clear(struct decision *d)
{
	if (d->findings) {
		for (guint i = 0; i < d->findings->len; i++) {
			g_free(g_array_index(d->findings, struct finding, i).excerpt);
			g_free(g_array_index(d->findings, struct finding, i).words);
		}
		g_array_free(d->findings, TRUE);
	}
	g_free(d->text);
	g_free(d->quoted);
	memset(d, 0, sizeof *d);
}
