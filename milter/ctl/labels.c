/*
 * labels.c - `apologyctl labels export [--since DATE|DURATION]`: the
 * reviewers' decisions recorded as labels (holds/labeling.h), one JSON line
 * per reviewed reply, in the order they were decided:
 *
 *   {"id":N, "message_id":..., "sender":..., "client":..., "decision":
 *    "release|return|discard", "reviewer":..., "at":RFC3339, "score":N,
 *    "rules":[...], "wrong":[...], "right":[...],
 *    "findings":[{"rule":..., "severity":..., "line":N, "start":N, "end":N,
 *                 "excerpt":..., "wrong":bool}],
 *    "complaint":{"detected":bool, "severity":"normal|serious"|null,
 *                 "stored":bool, "clear":bool|null, "text":...|null,
 *                 "wrong":bool|null},
 *    "text":... | null, "sentences":[[start,end],...] | null}
 *
 * "rules", "wrong" and "right" name the labels of the decision: the rules'
 * and, beside them, "complaint" (the complaint of a hold) or "near-miss"
 * (a passed near miss judged: "decision" "judge"), holds/labeling.h.
 * "text" is the author's new text (the findings' spans point into it), as
 * the store keeps it; for a reply held before the store kept it, read again
 * from the stored copy of the message with the review settings' policy
 * (null when there is no copy or the policy does not load); "sentences" the
 * byte spans of "text" the engine reads as sentences.  "complaint" is the
 * thread's complaint as the daemon judged it: "detected" (true for a held
 * reply, false for a passed near miss a reviewer judged: "decision"
 * "judge"), "stored" when the daemon saw it arrive, "text" the quoted
 * history the gate read, "wrong" whether the reviewer found the daemon's
 * call wrong (the label LABEL_COMPLAINT or LABEL_NEAR_MISS,
 * holds/labeling.h; null: not judged).  For records held before the store
 * kept the complaint, "detected" is true and "clear" and "text" are null.
 * docs/models.md says how a site retrains on these lines.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "ctl.h"
#include "labeling.h"
#include "policy.h"
#include "quarantine.h"
#include "render.h"
#include "review_config.h"
#include "store.h"
#include "thread.h"
#include "units.h"

static const char usage_text[] =
    "usage: apologyctl labels [-c FILE] [-o key=value]... export [--since DATE|DURATION]\n"
    "  export   one JSON line per reply a reviewer decided about: the decision, the rules\n"
    "           on it, those marked wrong and right, its findings and its new text\n"
    "  --since  only decisions from then on: YYYY-MM-DD, RFC 3339, or a duration back\n"
    "           from now such as 30d (default: all)\n";

static int usage(const char *msg)
{
	return ctl_review_usage("labels", usage_text, msg);
}

/* Add the member NAME: ["a","b"] of the labels LABELS[FROM..TO) whose
 * verdict is VERDICT (NULL: all). */
static void rule_list(JsonBuilder *b, const char *name, const GArray *labels, guint from, guint to,
                      const char *verdict)
{
	json_builder_set_member_name(b, name);
	json_builder_begin_array(b);
	for (guint i = from; i < to; i++) {
		const struct store_label *l = &g_array_index(labels, struct store_label, i);
		if (verdict == NULL || strcmp(l->verdict, verdict) == 0)
			ctl_json_add_string(b, l->rule);
	}
	json_builder_end_array(b);
}

/* The label of RULE among LABELS[FROM..TO), or NULL. */
static const struct store_label *label_of(const GArray *labels, guint from, guint to, const char *rule)
{
	for (guint i = from; i < to; i++) {
		const struct store_label *l = &g_array_index(labels, struct store_label, i);
		if (g_strcmp0(l->rule, rule) == 0)
			return l;
	}
	return NULL;
}

static bool marked_wrong(const GArray *labels, guint from, guint to, const char *rule)
{
	const struct store_label *l = label_of(labels, from, to, rule);
	return l != NULL && strcmp(l->verdict, "wrong") == 0;
}

/* "complaint": the complaint record Q answered, with the reviewer's label. */
static void complaint_json(JsonBuilder *b, const struct store_quarantine *q, const GArray *labels, guint from,
                           guint to)
{
	json_builder_set_member_name(b, "complaint");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "detected");
	json_builder_add_boolean_value(b, !q->complaint_recorded || q->complaint_detected);
	ctl_json_member_string(b, "severity", q->complaint_severity);
	json_builder_set_member_name(b, "stored");
	json_builder_add_boolean_value(b, q->complaint_ref != NULL);
	json_builder_set_member_name(b, "clear");
	if (q->complaint_recorded)
		json_builder_add_boolean_value(b, q->complaint_clear);
	else
		json_builder_add_null_value(b);
	ctl_json_member_string(b, "text", q->complaint_text);
	const struct store_label *l = label_of(labels, from, to, LABEL_COMPLAINT);
	if (l == NULL)
		l = label_of(labels, from, to, LABEL_NEAR_MISS);
	json_builder_set_member_name(b, "wrong");
	if (l != NULL)
		json_builder_add_boolean_value(b, strcmp(l->verdict, "wrong") == 0);
	else
		json_builder_add_null_value(b);
	json_builder_end_object(b);
}

static void findings_json(JsonBuilder *b, struct store *st, gint64 id, const GArray *labels, guint from,
                          guint to)
{
	char *err = NULL;
	GArray *findings = quarantine_findings(st, id, &err);
	if (err != NULL) {
		fprintf(stderr, "apologyctl: the findings of %" G_GINT64_FORMAT " cannot be read: %s\n", id,
		        err);
		g_free(err);
	}
	json_builder_set_member_name(b, "findings");
	json_builder_begin_array(b);
	for (guint i = 0; i < findings->len; i++) {
		const struct store_finding *f = &g_array_index(findings, struct store_finding, i);
		json_builder_begin_object(b);
		ctl_json_member_string(b, "rule", f->rule);
		ctl_json_member_string(b, "severity", f->severity);
		ctl_json_member_int(b, "line", f->line);
		ctl_json_member_int(b, "start", (gint64)f->start);
		ctl_json_member_int(b, "end", (gint64)f->end);
		ctl_json_member_string(b, "excerpt", f->excerpt ? f->excerpt : "");
		json_builder_set_member_name(b, "wrong");
		json_builder_add_boolean_value(b, marked_wrong(labels, from, to, f->rule));
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	g_array_unref(findings);
}

/* "sentences": [[start, end], ...] (byte offsets, END exclusive; null
 * without TEXT), the spans of TEXT the engine reads as its sentences (what
 * the sentence model scores), so that labels become training lines of the
 * same sentences (milter/train/labels_to_training.py). */
static void sentences_json(JsonBuilder *b, const char *text, size_t len)
{
	json_builder_set_member_name(b, "sentences");
	if (text == NULL) {
		json_builder_add_null_value(b);
		return;
	}
	GArray *ss = g_array_new(FALSE, FALSE, sizeof(struct sentence));
	sentence_split(text, len, ss);
	json_builder_begin_array(b);
	for (guint i = 0; i < ss->len; i++) {
		const struct sentence *st = &g_array_index(ss, struct sentence, i);
		json_builder_begin_array(b);
		json_builder_add_int_value(b, (gint64)st->start);
		json_builder_add_int_value(b, (gint64)st->end);
		json_builder_end_array(b);
	}
	json_builder_end_array(b);
	g_array_free(ss, TRUE);
}

/* The JSON line of the reply whose labels are LABELS[FROM..TO). */
static void export_reply(struct store *st, const struct policy *pol, const GArray *labels, guint from,
                         guint to)
{
	const struct store_label *first = &g_array_index(labels, struct store_label, from);
	char *err = NULL;
	struct store_quarantine *q = quarantine_load(st, first->quarantine_id, &err);
	if (q == NULL) {
		fprintf(stderr, "apologyctl: reply %" G_GINT64_FORMAT ": %s\n", first->quarantine_id,
		        err ? err : "no longer in the store");
		g_free(err);
		return;
	}
	char *client = quarantine_client_domain(q), *at = units_format_time(first->at);
	JsonBuilder *b = json_builder_new();
	json_builder_begin_object(b);
	ctl_json_member_int(b, "id", q->id);
	const char *const strings[][2] = {
	    {"message_id", q->message_id}, {"sender", q->sender},         {"client", client},
	    {"decision", first->action},   {"reviewer", first->reviewer}, {"at", at ? at : ""},
	};
	ctl_json_member_strings(b, strings, G_N_ELEMENTS(strings));
	ctl_json_member_int(b, "score", q->score);
	rule_list(b, "rules", labels, from, to, NULL);
	rule_list(b, "wrong", labels, from, to, "wrong");
	rule_list(b, "right", labels, from, to, "right");
	findings_json(b, st, q->id, labels, from, to);
	complaint_json(b, q, labels, from, to);
	size_t len = 0;
	char *text = quarantine_new_text(q, &len);
	if (text == NULL && pol != NULL && q->raw != NULL) /* held before the store kept it */
		text = apology_new_text(pol, q->raw, q->raw_len, &len);
	if (text != NULL && !g_utf8_validate(text, (gssize)len, NULL)) {
		char *valid = g_utf8_make_valid(text, (gssize)len); /* as JSON has it */
		g_free(text);
		text = valid;
		len = strlen(valid);
	}
	ctl_json_member_string(b, "text", text);
	sentences_json(b, text, len);
	json_builder_end_object(b);
	char *line = ctl_json_text(b);
	puts(line);
	g_free(line);
	g_object_unref(b);
	g_free(text);
	g_free(client);
	g_free(at);
	store_quarantine_free(q);
}

static int cmd_export(const struct review_config *cfg, struct store *st, void *data)
{
	gint64 since = *(const gint64 *)data;
	GArray *labels = store_labels_new();
	char *err = NULL;
	if (!store_labels_list(st, since, labels, &err)) {
		fprintf(stderr, "apologyctl: %s\n", err);
		g_free(err);
		g_array_unref(labels);
		return EX_UNAVAILABLE;
	}
	struct policy *pol = policy_load(cfg->policy, &err);
	if (pol == NULL) {
		fprintf(stderr,
		        "apologyctl: the policy %s does not load, so no text is exported of replies held"
		        " before the store kept it: %s\n",
		        cfg->policy, err ? err : "");
		g_clear_pointer(&err, g_free);
	}
	/* The labels come by time, then record: one decision's labels are
	 * together. */
	for (guint from = 0, to; from < labels->len; from = to) {
		gint64 id = g_array_index(labels, struct store_label, from).quarantine_id;
		for (to = from + 1;
		     to < labels->len && g_array_index(labels, struct store_label, to).quarantine_id == id;
		     to++)
			;
		export_reply(st, pol, labels, from, to);
	}
	if (pol)
		policy_unref(pol);
	g_array_unref(labels);
	return 0;
}

int labels_main(int argc, char **argv)
{
	struct review_config cfg;
	int next = 0;
	review_config_init(&cfg);
	int rc = review_config_from_args(&cfg, argc, argv, &next);
	const char *since_arg = NULL;
	if (rc == 0 && next < argc &&
	    (strcmp(argv[next], "--help") == 0 || strcmp(argv[next], "help") == 0)) {
		fputs(usage_text, stdout);
		review_config_clear(&cfg);
		return 0;
	}
	if (rc == 0 && (next >= argc || strcmp(argv[next], "export") != 0))
		rc = usage(next < argc ? "unknown command" : NULL);
	for (int i = next + 1; rc == 0 && i < argc; i += 2) {
		if (strcmp(argv[i], "--since") != 0 || i + 1 >= argc)
			rc = usage("export: unknown option or argument");
		else
			since_arg = argv[i + 1];
	}
	gint64 since = 0;
	if (rc == 0 && since_arg && !ctl_parse_since(since_arg, g_get_real_time() / G_USEC_PER_SEC, &since))
		rc = usage("export: --since expects YYYY-MM-DD, an RFC 3339 time or a duration such as 30d");
	rc = ctl_with_store(&cfg, rc, cmd_export, &since);
	review_config_clear(&cfg);
	return rc;
}
