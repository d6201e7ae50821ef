/*
 * quarantine.c - deciding about held mail (see quarantine.h): the
 * reviewer's actions (release, return with a comment, discard, expiry)
 * through the root helper apology-postsuper, the check of the hold queue
 * afterwards, the audit trail, the labels and the notifications, shared by
 * `apologyctl quarantine` (ctl/quarantine_cmd.c) and the review page.  A
 * decision about a hold of another mail host (a store several hosts share)
 * is sent to that host through the store (host_actions), and the agent of
 * each host (`apologyctl quarantine agent`) carries out those addressed to
 * it through the same local path (docs/postgresql.md).  Every decision,
 * local or sent, holds the hold's one open row of host_actions while it is
 * carried out, so two are never carried out at once.
 *
 * The MTA is Postfix, or Sendmail when sendmail-config is set (its queue
 * read with sendmail -bp, its quarantine with -bp -qQ).
 *
 * This file runs programs (the helper, postqueue, sendmail) with argument vectors,
 * never through a shell.  It does not judge mail: findings come from the
 * store, as the daemon recorded them from its struct decision.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "holdqueue.h"
#include "hostname.h"
#include "labeling.h"
#include "notify.h"
#include "quarantine.h"

#define POSTQUEUE "/usr/sbin/postqueue"
#define SUDO      "/usr/bin/sudo"

static const char *const action_names[] = {
    [REVIEW_RELEASE] = "release",
    [REVIEW_DISCARD] = "discard",
    [REVIEW_RETURN] = "return",
    [REVIEW_EXPIRE] = "expire",
};

const char *review_action_name(enum review_action action)
{
	return action_names[action];
}

char *quarantine_whoami(void)
{
	const char *sudo_user = getenv("SUDO_USER");
	if (getuid() == 0 && sudo_user != NULL && *sudo_user != '\0')
		return g_strdup(sudo_user);
	struct passwd *pw = getpwuid(getuid());
	return pw ? g_strdup(pw->pw_name) : g_strdup_printf("uid %u", (unsigned)getuid());
}

char *quarantine_age(gint64 seconds)
{
	if (seconds < 3600)
		return g_strdup_printf("%" G_GINT64_FORMAT "m", MAX(seconds, 0) / 60);
	if (seconds < 2 * 86400)
		return g_strdup_printf("%" G_GINT64_FORMAT "h", seconds / 3600);
	return g_strdup_printf("%" G_GINT64_FORMAT "d", seconds / 86400);
}

GArray *quarantine_findings(struct store *st, gint64 id, char **err)
{
	GArray *f = store_findings_new();
	if (!store_quarantine_findings(st, id, f, err))
		g_array_set_size(f, 0);
	return f;
}

char *quarantine_rules(struct store *st, gint64 id)
{
	char *err = NULL;
	GArray *f = quarantine_findings(st, id, &err);
	char *rules = err ? g_strdup("?") : store_findings_rules(f);
	g_free(err);
	g_array_unref(f);
	return rules;
}

char *quarantine_client_domain(const struct store_quarantine *q)
{
	const char *at = q->recipients ? strchr(q->recipients, '@') : NULL;
	return at ? g_strndup(at + 1, strcspn(at + 1, ",")) : g_strdup("");
}

struct store_quarantine *quarantine_load(struct store *st, gint64 id, char **err)
{
	struct store_query query = {.id = id, .with_raw = true, .limit = 1};
	GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	struct store_quarantine *q = NULL;
	if (id > 0 && store_quarantine_list(st, &query, rows, err) && rows->len == 1)
		q = g_ptr_array_steal_index(rows, 0);
	g_ptr_array_unref(rows);
	return q;
}

char *quarantine_new_text(const struct store_quarantine *q, size_t *len)
{
	*len = q->new_text ? strlen(q->new_text) : 0;
	return g_strdup(q->new_text);
}

static int compare_offsets(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

/* The finding that covers [AT, AT+1) most narrowly, or -1. */
static int narrowest(size_t len, const GArray *findings, size_t at)
{
	int best = -1;
	size_t best_len = 0;
	for (guint i = 0; findings && i < findings->len; i++) {
		const struct store_finding *f = &g_array_index(findings, struct store_finding, i);
		if (f->end > len || f->start > at || f->end <= at)
			continue;
		if (best < 0 || f->end - f->start < best_len) {
			best = (int)i;
			best_len = f->end - f->start;
		}
	}
	return best;
}

GArray *quarantine_spans(size_t len, const GArray *findings)
{
	/* Cut at every start and end; each piece belongs to the narrowest
	 * finding covering it, so "courier" inside a flagged sentence keeps its
	 * own mark. */
	GArray *cuts = g_array_new(FALSE, FALSE, sizeof(size_t));
	size_t zero = 0;
	g_array_append_val(cuts, zero);
	g_array_append_val(cuts, len);
	for (guint i = 0; findings && i < findings->len; i++) {
		const struct store_finding *f = &g_array_index(findings, struct store_finding, i);
		if (f->end > f->start && f->end <= len) {
			g_array_append_val(cuts, f->start);
			g_array_append_val(cuts, f->end);
		}
	}
	g_array_sort(cuts, compare_offsets);
	GArray *spans = g_array_new(FALSE, FALSE, sizeof(struct text_span));
	for (guint i = 0; i + 1 < cuts->len; i++) {
		size_t a = g_array_index(cuts, size_t, i), b = g_array_index(cuts, size_t, i + 1);
		if (a == b)
			continue;
		int owner = narrowest(len, findings, a);
		struct text_span *last =
		    spans->len ? &g_array_index(spans, struct text_span, spans->len - 1) : NULL;
		if (last != NULL && last->finding == owner && last->end == a) {
			last->end = b;
		} else {
			struct text_span piece = {a, b, owner};
			g_array_append_val(spans, piece);
		}
	}
	g_array_unref(cuts);
	return spans;
}

/* ---- the MTA ----------------------------------------------------------- */

static void postfix_argv(GPtrArray *argv, const char *program, const struct review_config *cfg)
{
	g_ptr_array_add(argv, (char *)program);
	if (*cfg->postfix_config) {
		g_ptr_array_add(argv, "-c");
		g_ptr_array_add(argv, cfg->postfix_config);
	}
}

GHashTable *quarantine_mta_queue(const struct review_config *cfg, char **err)
{
	struct holdqueue_mta mta = {POSTQUEUE, cfg->postfix_config, cfg->sendmail_bin, cfg->sendmail_cf,
	                            cfg->mta_timeout};
	return holdqueue_read(&mta, err);
}

/* Ask Postfix to deliver released mail now instead of at the next queue run. */
static void deliver_soon(const struct review_config *cfg, const char *queue_id)
{
	GPtrArray *argv = g_ptr_array_new();
	postfix_argv(argv, POSTQUEUE, cfg);
	g_ptr_array_add(argv, "-i");
	g_ptr_array_add(argv, (char *)queue_id);
	g_ptr_array_add(argv, NULL);
	char *err = NULL;
	holdqueue_run_how((char **)argv->pdata, cfg->mta_timeout, HOLDQUEUE_SAFE, NULL, NULL, NULL, &err);
	g_free(err); /* the next queue run delivers it anyway */
	g_ptr_array_free(argv, TRUE);
}

/* Run the helper: "release" or "discard" record Q.  The helper takes the
 * token header, the store and the instances it may act on from its own
 * root-owned settings; POSTFIX_CONFIG must be one of those instances. */
static bool run_helper(const struct review_config *cfg, const struct store_quarantine *q, const char *verb,
                       bool *stopped, char **err)
{
	GPtrArray *argv = g_ptr_array_new();
	if (geteuid() != 0) {
		g_ptr_array_add(argv, SUDO);
		g_ptr_array_add(argv, "-n");
	}
	g_ptr_array_add(argv, cfg->helper);
	if (*cfg->sendmail_cf) {
		g_ptr_array_add(argv, "-C");
		g_ptr_array_add(argv, cfg->sendmail_cf);
	} else if (*cfg->postfix_config) {
		g_ptr_array_add(argv, "-c");
		g_ptr_array_add(argv, cfg->postfix_config);
	}
	g_ptr_array_add(argv, (char *)verb);
	g_ptr_array_add(argv, q->queue_id);
	g_ptr_array_add(argv, q->token);
	g_ptr_array_add(argv, NULL);
	bool ok = holdqueue_run_how((char **)argv->pdata, cfg->mta_timeout, 0, NULL, NULL, stopped, err);
	g_ptr_array_free(argv, TRUE);
	return ok;
}

/* Where the MTA has Q's message: *WHERE the queue's name, or NULL when it
 * is in none (caller frees); false with *ERR when the queue cannot be
 * read. */
static bool queue_where(const struct review_config *cfg, const struct store_quarantine *q, char **where,
                        char **err)
{
	GHashTable *queue = quarantine_mta_queue(cfg, err);
	if (queue == NULL)
		return false;
	*where = g_strdup(g_hash_table_lookup(queue, q->queue_id));
	g_hash_table_unref(queue);
	return true;
}

/* Whether a message now in queue WHERE (NULL: none) is released (out of
 * the hold queue) or deleted (out of every queue). */
static bool step_shown(const char *where, bool release)
{
	return release ? where == NULL || strcmp(where, "hold") != 0 : where == NULL;
}

/* What decision ACTION does: the MTA step, its name in the audit trail and
 * the record's state afterwards. */
struct outcome {
	bool release;      /* release (else delete) */
	const char *verb;  /* the helper's: "release" or "discard" */
	const char *from;  /* where the message waits until then: "hold queue", "queue" */
	const char *what;  /* "release", "expire-return", ... */
	const char *state; /* "released", "deleted", ... */
};

static struct outcome outcome_of(const struct review_config *cfg, enum review_action action)
{
	bool release =
	    action == REVIEW_RELEASE || (action == REVIEW_EXPIRE && cfg->expire_action == EXPIRE_RELEASE);
	return (struct outcome){
	    .release = release,
	    .verb = release ? "release" : "discard",
	    .from = release ? "hold queue" : "queue",
	    .what = action != REVIEW_EXPIRE ? action_names[action]
	            : release               ? "expire-release"
	                                    : "expire-return",
	    .state = action == REVIEW_EXPIRE   ? "expired"
	             : release                 ? "released"
	             : action == REVIEW_RETURN ? "returned"
	                                       : "deleted",
	};
}

/* The MTA step O on Q, decided at NOW: release or delete, then
 * check the queue.  A helper that exited 0 did the step: when the queue
 * cannot be read afterwards it is trusted, *UNCHECKED (else left NULL)
 * saying why the queue was not read.  A helper stopped at mta-timeout or
 * by an interrupt may have acted before it was stopped (postsuper done, its
 * own audit trail still being written): its step counts as done,
 * *UNCONFIRMED (else left NULL) saying what stopped it, when the queue
 * shows it done and the helper's own audit trail shows it started that
 * step since NOW; when the queue or that audit trail cannot be read, the
 * step fails, the error saying that whether it acted is not known (the
 * record is held again: a hung helper most likely never reached
 * postsuper, and reconcile names the record if it did).  The queue alone could
 * show someone else's delete, or a release by hand.  A helper that exited
 * by itself with a failure did not act: it refuses (exit 69, 77, ...)
 * before postsuper runs, also when the message left the hold queue by
 * other means, and reports postsuper's own failure. */
static bool act_on_mta(const struct review_config *cfg, struct store *st, const struct store_quarantine *q,
                       struct outcome o, gint64 now, char **unconfirmed, char **unchecked, char **err)
{
	char *helper_err = NULL, *where = NULL, *why = NULL;
	bool stopped = false, ran = run_helper(cfg, q, o.verb, &stopped, &helper_err);
	bool done = false;
	if (!ran && !stopped) {
		*err = g_steal_pointer(&helper_err); /* a refusal: it did not act */
	} else if (!queue_where(cfg, q, &where, &why)) {
		if (ran) {
			done = true; /* the helper said so */
			*unchecked = g_steal_pointer(&why);
		} else {
			*err = g_strdup_printf("%s; whether it acted is not known: %s", helper_err, why);
		}
	} else if (!step_shown(where, o.release)) {
		*err = ran ? g_strdup_printf("queue id %s is still in the %s queue", q->queue_id, where)
		           : g_steal_pointer(&helper_err);
	} else if (ran) {
		done = true;
	} else {
		/* stopped, the queue showing the step: the helper's or someone else's? */
		enum store_status started = store_helper_started(st, q->id, o.verb, now, &why);
		if (started == STORE_FOUND) {
			done = true;
			*unconfirmed = g_steal_pointer(&helper_err);
		} else if (started == STORE_ERROR) {
			*err = g_strdup_printf("%s; whether it acted is not known: %s", helper_err, why);
		} else {
			*err = g_steal_pointer(&helper_err);
		}
	}
	g_free(helper_err);
	g_free(where);
	g_free(why);
	if (done && o.release && !*cfg->sendmail_cf) /* the helper ran Sendmail's queue itself */
		deliver_soon(cfg, q->queue_id);
	return done;
}

unsigned quarantine_mta_commands(const struct review_config *cfg)
{
	/* still_queued() of finish_claimed(), run_helper(), queue_where(),
	 * then deliver_soon() (one command) or undo_claim()'s still_queued(). */
	unsigned read = *cfg->sendmail_cf ? 2 : 1;
	return read + 1 + read + read;
}

/* Record LABELS (struct store_label; freed here). */
static bool put_label_array(struct store *st, GArray *labels, char **err)
{
	bool ok = store_labels_put(st, (const struct store_label *)(void *)labels->data, labels->len, err);
	g_array_unref(labels);
	return ok;
}

/* Record the labels of decision WHAT on Q (labeling.h), the rules of WRONG
 * marked wrong. */
static bool put_labels(struct store *st, const struct store_quarantine *q, const GArray *findings,
                       const char *what, const GPtrArray *wrong, const char *who, gint64 now, char **err)
{
	return put_label_array(
	    st, labels_for_decision(q->id, findings, what, wrong, q->complaint_text, who, now), err);
}

bool quarantine_elsewhere(const struct review_config *cfg, const struct store_quarantine *q)
{
	return q->host != NULL && strcmp(q->host, hostname_or_system(cfg->host_name)) != 0;
}

/* The decision carried out: the audit trail, its labels, its notifications. */
static bool record_decision(const struct review_config *cfg, struct store *st,
                            const struct store_quarantine *q, const GArray *findings, const char *what,
                            const char *who, const char *comment, const GPtrArray *wrong, gint64 now,
                            char **err)
{
	return store_review_put(st, q->id, who, what, comment, now, err) &&
	       put_labels(st, q, findings, what, wrong, who, now, err) &&
	       notify_queue(cfg, st, q, what, who, comment, now, err);
}

/* The hold's one open action (host_actions) that a decision holds while it
 * is carried out: taken by quarantine_decide() for a decision about this
 * host's own hold (LOCAL: dropped when it ends), or the agent's claim of an
 * action sent from another host (its result recorded).  The store keeps at
 * most one open action per hold, so a reviewer here and this host's agent
 * never carry out two decisions about one hold at once. */
struct slot {
	struct store_host_action a;
	bool local;
	bool freed;             /* dropped, or its result recorded, or left open */
	bool left_open;         /* freed by leave_open() */
	enum store_status ours; /* once freed: STORE_FOUND if it was still this decision's */
};

/* What an action of VERB is called where people read it: the verb, but
 * an expiry's ("expire") "expiry"; and its article. */
static const char *action_noun(const char *verb)
{
	return g_strcmp0(verb, action_names[REVIEW_EXPIRE]) == 0 ? "expiry" : verb;
}

static const char *noun_article(const char *noun)
{
	return noun != NULL && noun[0] != '\0' && strchr("aeiou", noun[0]) != NULL ? "an" : "a";
}

/* *ERR for a decision about hold ID refused while its action OPEN is open. */
static char *open_action_error(gint64 id, const struct store_host_action *open)
{
	const char *noun = action_noun(open->verb);
	return g_strdup_printf("message %" G_GINT64_FORMAT " has %s %s %s on %s; decide again once it is done"
	                       " (one left running is finished by that host's agent after agent-lease)",
	                       id, noun_article(noun), noun, open->claimed_at ? "running" : "waiting",
	                       open->host);
}

/* Add action A of Q, the hold's slot; a slot already taken is refused with
 * open_action_error(), and the open action left in *OPEN (may be NULL). */
static bool slot_put(struct store *st, const struct store_quarantine *q, struct store_host_action *a,
                     struct store_host_action *open, char **err)
{
	char *put_err = NULL;
	if (store_host_action_put(st, a, &a->id, &put_err))
		return true;
	struct store_host_action last = {0};
	char *last_err = NULL;
	if (store_host_action_last(st, q->id, &last, &last_err) == STORE_FOUND && last.done_at == 0) {
		*err = open_action_error(q->id, &last);
		g_free(put_err);
		if (open != NULL) {
			*open = last;
			memset(&last, 0, sizeof last);
		}
	} else {
		*err = put_err;
	}
	g_free(last_err);
	store_host_action_clear(&last);
	return false;
}

/* Give slot S up with RESULT (the agent's; a local slot is dropped), once,
 * and note whether it was still this decision's. */
static void slot_free(struct store *st, struct slot *s, gint64 now, const char *result)
{
	if (s->freed)
		return;
	char *err = NULL;
	s->ours = s->local ? store_host_action_drop(st, &s->a, &err)
	                   : store_host_action_done(st, &s->a, now, result, &err);
	s->freed = true;
	g_free(err);
}

/* Leave slot S open, claimed, as a process stopped at this point leaves
 * it: its MTA step done and its decision not recorded.
 * After agent-lease this host's agent, or the next decision about the hold
 * here (finish_stopped), claims it again and finishes it (finish_claimed):
 * the queue read again, the decision recorded once. */
static void leave_open(struct slot *s)
{
	if (s->freed)
		return;
	s->freed = true;
	s->left_open = true;
	s->ours = STORE_FOUND;
}

/* Whether the MTA still has Q where it was before decision O (the hold
 * queue for a release, any queue for a delete): 1, 0, or -1 with *ERR. */
static int still_queued(const struct review_config *cfg, const struct store_quarantine *q, struct outcome o,
                        char **err)
{
	char *where = NULL;
	if (!queue_where(cfg, q, &where, err))
		return -1;
	int there = !step_shown(where, o.release);
	g_free(where);
	return there;
}

/* After a failed MTA step of decision O about Q: the slot given up with
 * RESULT and the record set back to held, but only while the slot was still
 * this decision's (not claimed again after agent-lease by an agent that
 * carries the decision out itself) and the record is in the state this
 * attempt set: its own claim, or (CLAIMED, taken over from an earlier claim
 * that stopped) while the message is still where it was. */
static void undo_claim(const struct review_config *cfg, struct store *st, const struct store_quarantine *q,
                       struct outcome o, bool claimed, struct slot *s, const char *result, gint64 now)
{
	slot_free(st, s, now, result);
	char *err = NULL;
	if (s->ours == STORE_FOUND && (!claimed || still_queued(cfg, q, o, &err) == 1) &&
	    !store_quarantine_set_state(st, q->token, o.state, "held", &err))
		g_clear_pointer(&err, g_free);
	g_free(err);
}

/* An entry "WHAT-SUFFIX" with NOTE (freed here) in Q's audit trail, about
 * the MTA step of decision WHAT; a failure to write it is not the
 * decision's. */
static void audit_helper(struct store *st, const struct store_quarantine *q, const char *who,
                         const char *what, const char *suffix, char *note, gint64 now)
{
	char *action = g_strdup_printf("%s-%s", what, suffix), *ignored = NULL;
	if (!store_review_put(st, q->id, who, action, note, now, &ignored))
		g_free(ignored);
	g_free(action);
	g_free(note);
}

/* Who finishes a decision left open (leave_open), as its error says. */
static char *finished_by(const struct review_config *cfg)
{
	return g_strdup_printf("this host's agent, or the next decision about it here, %" G_GINT64_FORMAT
	                       " s (agent-lease) after it began",
	                       cfg->agent_lease);
}

/* Carry out decision ACTION about Q here, through the local helper, under
 * slot S: claim the record (unless CLAIMED: an earlier attempt claimed it
 * and stopped before the MTA step), act on the MTA, record the decision,
 * its labels and its notifications.  The record is set back to held when
 * the MTA step was not done (undo_claim); when it was done and the
 * decision cannot be recorded, S is left open (leave_open) for
 * finish_claimed(), and *ERR says so. */
static bool decide_here(const struct review_config *cfg, struct store *st, const struct store_quarantine *q,
                        const GArray *findings, enum review_action action, const char *who,
                        const char *comment, const GPtrArray *wrong, bool claimed, struct slot *s, gint64 now,
                        char **err)
{
	struct outcome o = outcome_of(cfg, action);
	const char *what = o.what;
	/* Claim the record before touching the MTA: of two decisions at once (a
	 * reviewer and `expire`), only one acts. */
	char *claim_err = NULL;
	if (!claimed && !store_quarantine_set_state(st, q->token, "held", o.state, &claim_err)) {
		*err = g_strdup_printf("message %" G_GINT64_FORMAT " was not changed: %s", q->id, claim_err);
		g_free(claim_err);
		return false;
	}
	char *mta_err = NULL, *unconfirmed = NULL, *unchecked = NULL, *by = NULL;
	if (!act_on_mta(cfg, st, q, o, now, &unconfirmed, &unchecked, &mta_err)) {
		*err = g_strdup_printf("%s of message %" G_GINT64_FORMAT " failed: %s", what, q->id, mta_err);
		char *result = g_strdup_printf("failed: %s", *err);
		undo_claim(cfg, st, q, o, claimed, s, result, now);
		/* The reviewer sees the error, and the audit trail keeps it. */
		audit_helper(
		    st, q, who, what, "failed",
		    g_strdup_printf("%s%s%s", mta_err, comment ? "; comment: " : "", comment ? comment : ""),
		    now);
		g_free(result);
		g_free(mta_err);
		return false;
	}
	if (unconfirmed) /* what the helper said, before the decision */
		audit_helper(st, q, who, what, "helper-failed",
		             g_strdup_printf("%s; the queue shows the message %s", unconfirmed,
		                             o.release ? "out of the hold queue" : "gone"),
		             now);
	if (unchecked)
		audit_helper(
		    st, q, who, what, "unchecked",
		    g_strdup_printf("the helper exited 0; the queue could not be read afterwards: %s",
		                    unchecked),
		    now);
	g_free(unconfirmed);
	g_free(unchecked);
	char *record_err = NULL;
	if (record_decision(cfg, st, q, findings, what, who, comment, wrong, now, &record_err))
		return true;
	/* Done: recorded later, as after a process stopped here. */
	leave_open(s);
	by = finished_by(cfg);
	*err = g_strdup_printf("%s of message %" G_GINT64_FORMAT " done; recording failed: %s (it will be "
	                       "recorded by %s)",
	                       what, q->id, record_err, by);
	g_free(by);
	g_free(record_err);
	return false;
}

/* Decision ACTION about Q as an action of Q's slot, addressed to HOST and
 * claimed at CLAIMED_AT (0: waiting for HOST's agent); its verb is the
 * decision's name (an expiry's "expire", so that one left running is
 * finished as an expiry, expire-action choosing release or return); its
 * strings are borrowed but for *RULES (the rules of WRONG one per line;
 * caller frees). */
static struct store_host_action action_of(const struct store_quarantine *q, const char *host,
                                          enum review_action action, const char *who, const char *comment,
                                          const GPtrArray *wrong, gint64 now, gint64 claimed_at,
                                          GString **rules)
{
	*rules = g_string_new(NULL);
	for (guint i = 0; wrong != NULL && i < wrong->len; i++)
		g_string_append_printf(*rules, "%s%s", i ? "\n" : "", (const char *)wrong->pdata[i]);
	return (struct store_host_action){
	    .quarantine_id = q->id,
	    .host = (char *)host,
	    .verb = (char *)action_names[action],
	    .reviewer = (char *)who,
	    .comment = (char *)comment,
	    .wrong = (*rules)->len ? (*rules)->str : NULL,
	    .requested_at = now,
	    .claimed_at = claimed_at,
	};
}

/* OPEN, the action that keeps a decision about this host's hold Q from
 * being made here, was claimed on this host longer than agent-lease ago
 * and never finished (the reviewer's tool or the agent that claimed it
 * stopped): what this host's agent would do now is done now, so that a
 * site without an agent (one store per host) is not left with the hold
 * refused; *ERR (the refusal) then says what became of it. */
static void finish_stopped(const struct review_config *cfg, struct store *st,
                           const struct store_quarantine *q, const struct store_host_action *open, gint64 now,
                           char **err)
{
	GString *report = g_string_new(NULL);
	char *agent_err = NULL;
	(void)quarantine_agent_once(cfg, st, now, report, &agent_err);
	struct store_host_action last = {0};
	char *last_err = NULL;
	const char *result = store_host_action_last(st, q->id, &last, &last_err) == STORE_FOUND &&
	                             last.id == open->id && last.result != NULL
	                         ? last.result
	                     : agent_err ? agent_err
	                                 : "not finished";
	g_free(*err);
	const char *noun = action_noun(open->verb);
	*err = g_strdup_printf("message %" G_GINT64_FORMAT " had %s %s by %s left running here since it was "
	                       "claimed (its process stopped); carried out now: %s; decide again if still "
	                       "needed",
	                       q->id, noun_article(noun), noun, open->reviewer, result);
	store_host_action_clear(&last);
	g_free(last_err);
	g_free(agent_err);
	g_string_free(report, TRUE);
}

/* Whether OPEN, an open action of a hold of this host, was claimed here
 * longer than agent-lease ago: its process stopped (finish_stopped). */
static bool stopped_here(const struct review_config *cfg, const struct store_host_action *open, gint64 now)
{
	return open->host != NULL && strcmp(open->host, hostname_or_system(cfg->host_name)) == 0 &&
	       open->claimed_at != 0 && open->claimed_at <= now - cfg->agent_lease;
}

/* A decision about this host's hold Q refused because Q is no longer held
 * (*ERR): if Q's open action is one that stopped here after it claimed the
 * record (an expiry or a decision killed in its helper), it is finished
 * now, as when the hold is still held (decide_local), and *ERR says so. */
static void finish_if_stopped(const struct review_config *cfg, struct store *st,
                              const struct store_quarantine *q, gint64 now, char **err)
{
	struct store_host_action open = {0};
	char *last_err = NULL;
	if (store_host_action_last(st, q->id, &open, &last_err) == STORE_FOUND && open.done_at == 0 &&
	    stopped_here(cfg, &open, now))
		finish_stopped(cfg, st, q, &open, now, err);
	g_free(last_err); /* the refusal stands as it is */
	store_host_action_clear(&open);
}

/* Decide ACTION about this host's hold Q here, holding the hold's slot for
 * the time it takes: refused while another decision about it (one sent from
 * another host for this host's agent, or a reviewer's here) is open.
 * *LEFT_OPEN set when decide_here() left the slot open. */
static bool decide_local(const struct review_config *cfg, struct store *st, const struct store_quarantine *q,
                         const GArray *findings, enum review_action action, const char *who,
                         const char *comment, const GPtrArray *wrong, gint64 now, bool *left_open, char **err)
{
	GString *rules = NULL;
	struct slot s = {.local = true};
	s.a = action_of(q, hostname_or_system(cfg->host_name), action, who, comment, wrong, now, now, &rules);
	struct store_host_action open = {0};
	bool ok = slot_put(st, q, &s.a, &open, err) &&
	          decide_here(cfg, st, q, findings, action, who, comment, wrong, false, &s, now, err);
	*left_open = s.left_open;
	if (s.a.id != 0)
		slot_free(st, &s, now, NULL); /* not when left open */
	else if (stopped_here(cfg, &open, now))
		finish_stopped(cfg, st, q, &open, now, err);
	store_host_action_clear(&open);
	g_string_free(rules, TRUE);
	return ok;
}

/* Send decision ACTION about Q, which another host holds, to that host:
 * an action addressed to it in the store, and a line in the audit trail. */
static bool send_to_host(struct store *st, const struct store_quarantine *q, enum review_action action,
                         const char *who, const char *comment, const GPtrArray *wrong, gint64 now, char **err)
{
	GString *rules = NULL;
	struct store_host_action a = action_of(q, q->host, action, who, comment, wrong, now, 0, &rules);
	char *what = g_strdup_printf("%s-sent", action_names[action]);
	char *note =
	    g_strdup_printf("to host %s%s%s", q->host, comment ? "; comment: " : "", comment ? comment : "");
	bool ok = slot_put(st, q, &a, NULL, err) && store_review_put(st, q->id, who, what, note, now, err);
	g_free(note);
	g_free(what);
	g_string_free(rules, TRUE);
	return ok;
}

/* quarantine_decide(), or with SLOT (the agent's claim of an action sent to
 * this host) the decision carried out under that slot. */
static bool decide(const struct review_config *cfg, struct store *st, gint64 id, enum review_action action,
                   const char *who, const char *comment, const GPtrArray *wrong, gint64 now,
                   struct slot *slot, char **sent_to, bool *left_open, char **err)
{
	GArray *findings = NULL;
	struct store_quarantine *q = quarantine_load(st, id, err);
	if (q == NULL) {
		if (*err == NULL)
			*err = g_strdup_printf("no held message with id %" G_GINT64_FORMAT, id);
		return false;
	}
	bool ok = false;
	if (strcmp(q->state, "held") != 0) {
		*err = g_strdup_printf("message %" G_GINT64_FORMAT " is %s, not held", id, q->state);
		if (slot == NULL && !quarantine_elsewhere(cfg, q))
			finish_if_stopped(cfg, st, q, now, err);
		goto out;
	}
	if (action == REVIEW_RETURN && (comment == NULL || *comment == '\0')) {
		*err = g_strdup("returning a reply needs a comment for its author");
		goto out;
	}
	/* Unreadable findings leave the decision without labels, unless some
	 * were marked wrong: those cannot be checked. */
	char *findings_err = NULL;
	findings = quarantine_findings(st, q->id, &findings_err);
	if (findings_err != NULL && wrong != NULL && wrong->len > 0) {
		*err = findings_err;
		goto out;
	}
	g_free(findings_err);
	if (!labels_check_wrong(findings, wrong, err))
		goto out;
	if (!quarantine_elsewhere(cfg, q)) {
		ok = slot != NULL ? decide_here(cfg, st, q, findings, action, who, comment, wrong, false,
		                                slot, now, err)
		                  : decide_local(cfg, st, q, findings, action, who, comment, wrong, now,
		                                 left_open, err);
	} else if (action == REVIEW_EXPIRE) {
		*err = g_strdup_printf("message %" G_GINT64_FORMAT
		                       " is held on host %s: its own expire acts on it",
		                       id, q->host);
	} else {
		ok = send_to_host(st, q, action, who, comment, wrong, now, err);
		if (ok && sent_to != NULL)
			*sent_to = g_strdup(q->host);
	}
out:
	if (findings)
		g_array_unref(findings);
	store_quarantine_free(q);
	return ok;
}

bool quarantine_decide(const struct review_config *cfg, struct store *st, gint64 id,
                       enum review_action action, const char *who, const char *comment,
                       const GPtrArray *wrong, gint64 now, char **sent_to, char **err)
{
	return quarantine_decide_open(cfg, st, id, action, who, comment, wrong, now, sent_to, NULL, err);
}

bool quarantine_decide_open(const struct review_config *cfg, struct store *st, gint64 id,
                            enum review_action action, const char *who, const char *comment,
                            const GPtrArray *wrong, gint64 now, char **sent_to, bool *left_open, char **err)
{
	bool open = false;
	bool ok = decide(cfg, st, id, action, who, comment, wrong, now, NULL, sent_to, &open, err);
	if (left_open != NULL)
		*left_open = open;
	return ok;
}

bool quarantine_near_miss(const struct store_quarantine *q)
{
	return strcmp(q->state, "sampled") == 0 || strcmp(q->state, "judged") == 0;
}

bool quarantine_judge(struct store *st, gint64 id, bool complaint, const char *who, const char *comment,
                      gint64 now, char **err)
{
	struct store_quarantine *q = quarantine_load(st, id, err);
	if (q == NULL) {
		if (*err == NULL)
			*err = g_strdup_printf("no record with id %" G_GINT64_FORMAT, id);
		return false;
	}
	bool ok = false;
	if (strcmp(q->state, "sampled") != 0) {
		*err = g_strdup_printf("message %" G_GINT64_FORMAT " is %s, not a near miss kept for review",
		                       id, q->state);
	} else if (store_quarantine_set_state(st, q->token, "sampled", "judged", err)) {
		ok = store_review_put(st, q->id, who, complaint ? "judge-complaint" : "judge-none", comment,
		                      now, err) &&
		     put_label_array(st, labels_for_judgement(q->id, complaint, q->complaint_text, who, now),
		                     err);
		/* not recorded: to be judged again (the state move is what
		 * makes two judgements at once exclusive) */
		char *back_err = NULL;
		if (!ok && !store_quarantine_set_state(st, q->token, "judged", "sampled", &back_err))
			g_free(back_err); /* *ERR says what failed first */
	}
	store_quarantine_free(q);
	return ok;
}

/* Why record Q may not be forgotten now, or NULL (caller frees); the queue
 * is read last.  *WHERE: where the MTA has its message (NULL: nowhere). */
static char *forget_refused(const struct review_config *cfg, struct store *st,
                            const struct store_quarantine *q, gint64 now, char **where, char **err)
{
	bool open = false;
	char *action = quarantine_action_state(st, q, &open);
	char *why = NULL;
	if (strcmp(q->state, "held") != 0)
		why = g_strdup_printf("message %" G_GINT64_FORMAT " is %s, not held", q->id, q->state);
	else if (quarantine_elsewhere(cfg, q))
		why = g_strdup_printf("message %" G_GINT64_FORMAT " is held on %s: forget it there", q->id,
		                      q->host);
	else if (now - q->created < QUARANTINE_FORGET_AFTER)
		why = g_strdup_printf("message %" G_GINT64_FORMAT
		                      " was held less than %d minutes ago: the MTA may not have put it in "
		                      "its hold queue yet",
		                      q->id, QUARANTINE_FORGET_AFTER / 60);
	else if (open)
		why = g_strdup_printf(
		    "message %" G_GINT64_FORMAT " has a decision open (%s): it finishes that", q->id, action);
	else if (!queue_where(cfg, q, where, err))
		why = g_strdup_printf("not forgotten, since the hold queue cannot be read: %s", *err);
	else if (*where != NULL && strcmp(*where, "hold") == 0)
		why = g_strdup_printf("message %" G_GINT64_FORMAT
		                      " is in the hold queue (queue id %s): release, discard or return it",
		                      q->id, q->queue_id);
	g_free(action);
	return why;
}

bool quarantine_forget(const struct review_config *cfg, struct store *st, gint64 id, const char *who,
                       const char *comment, gint64 now, char **where_out, char **err)
{
	struct store_quarantine *q = quarantine_load(st, id, err);
	if (q == NULL) {
		if (*err == NULL)
			*err = g_strdup_printf("no record with id %" G_GINT64_FORMAT, id);
		return false;
	}
	char *where = NULL, *queue_err = NULL;
	char *why = forget_refused(cfg, st, q, now, &where, &queue_err);
	g_free(queue_err);
	bool ok = false;
	if (why != NULL) {
		*err = why;
	} else {
		char *found = where ? g_strdup_printf("in the %s queue", where) : g_strdup("in no queue");
		char *note =
		    comment && *comment ? g_strdup_printf("%s; %s", found, comment) : g_strdup(found);
		/* the state first: a decision made meanwhile takes the record
		 * from "held" too, and only one of them does */
		ok = store_quarantine_set_state(st, q->token, "held", "gone", err);
		if (ok && !store_review_put(st, q->id, who, "forget", note, now, err)) {
			/* not recorded: held again, to be forgotten again */
			char *back_err = NULL;
			if (!store_quarantine_set_state(st, q->token, "gone", "held", &back_err))
				g_free(back_err); /* *ERR says what failed first */
			ok = false;
		}
		if (ok && where_out != NULL)
			*where_out = g_strdup(found);
		g_free(note);
		g_free(found);
	}
	g_free(where);
	store_quarantine_free(q);
	return ok;
}

/* ---- the agent ----------------------------------------------------------- */

/* The decision of an action's VERB: each review_action by its name.  An
 * expiry's action says "expire" since store schema 14; one written before
 * says what it did ("release", "return") and is carried out as that. */
static bool verb_action(const char *verb, enum review_action *action)
{
	for (enum review_action a = REVIEW_RELEASE; a <= REVIEW_EXPIRE; a++)
		if (g_strcmp0(verb, action_names[a]) == 0) {
			*action = a;
			return true;
		}
	return false;
}

/* The audit trail's entry of decision WHAT about Q made at or after SINCE,
 * or NULL (caller frees); *ERR on a store error. */
static struct store_review *decided_since(struct store *st, const struct store_quarantine *q,
                                          const char *what, gint64 since, char **err)
{
	GArray *trail = g_array_new(FALSE, TRUE, sizeof(struct store_review));
	g_array_set_clear_func(trail, (GDestroyNotify)store_review_clear);
	struct store_review *found = NULL;
	if (store_review_list(st, q->id, 0, trail, err))
		for (guint i = 0; i < trail->len && found == NULL; i++) {
			struct store_review *r = &g_array_index(trail, struct store_review, i);
			if (r->at >= since && g_strcmp0(r->action, what) == 0) {
				found = g_memdup2(r, sizeof *r);
				memset(r, 0, sizeof *r); /* now FOUND's */
			}
		}
	g_array_unref(trail);
	return found;
}

/* How far apart the clocks of mail hosts that share a store may be: an
 * action's requested_at is the deciding host's time, the helper's audit
 * trail the hold's host's. */
#define CLOCK_SLACK 60

/* Decision O about Q under the agent's claim S, whose record an earlier
 * claim moved to O's state, found the message no longer where it was, but
 * the helper's audit trail shows no step of it since the decision was asked
 * for: someone else moved it (a delete or a release by hand).  The decision
 * was not carried out: S gets that result, and while S is still this
 * decision's (not claimed again after agent-lease) the record is held again,
 * so that `quarantine reconcile` shows it, and the audit trail says why.
 * Returns the result (recorded: S is freed). */
static char *moved_by_another(struct store *st, const struct store_quarantine *q, struct outcome o,
                              struct slot *s, gint64 now)
{
	char *why = g_strdup_printf("message %" G_GINT64_FORMAT " left the %s, but the helper's audit trail "
	                            "shows no %s of it since this decision: not carried out",
	                            q->id, o.from, o.verb);
	char *result = g_strdup_printf("failed: %s", why);
	slot_free(st, s, now, result);
	if (s->ours == STORE_FOUND) {
		char *state_err = NULL;
		bool held = store_quarantine_set_state(st, q->token, o.state, "held", &state_err);
		audit_helper(st, q, s->a.reviewer, o.what, "failed",
		             g_strdup_printf("%s; %s%s", why,
		                             held ? "held again" : "not held again: ", held ? "" : state_err),
		             now);
		g_free(state_err);
	}
	g_free(why);
	return result;
}

/* Action A of this host about Q, whose record is already in the state A
 * leads to: an earlier claim of A (its agent stopped before recording a
 * result, and the lease ran out) or a reviewer here got that far.  Nothing
 * is done twice: a decision already in the audit trail is only reported;
 * else the MTA step is taken if the message is still where it was (the
 * helper acts on a record in that state only while its own audit trail has
 * no release or discard of it), and the decision recorded.  A message no
 * longer where it was counts as moved by the earlier claim only when the
 * helper's own audit trail shows that step started since the decision was
 * asked for, give or take CLOCK_SLACK (as for a helper stopped in
 * act_on_mta); else moved_by_another().  Returns the result for the store. */
static char *finish_claimed(const struct review_config *cfg, struct store *st,
                            const struct store_quarantine *q, struct slot *s, enum review_action action,
                            const GPtrArray *wrong, gint64 now)
{
	const struct store_host_action *a = &s->a;
	struct outcome o = outcome_of(cfg, action);
	char *err = NULL, *result = NULL;
	struct store_review *before = decided_since(st, q, o.what, a->requested_at, &err);
	if (before != NULL) {
		result = g_strdup_printf("done before: message %" G_GINT64_FORMAT " was %s by %s", q->id,
		                         o.state, before->reviewer);
		store_review_clear(before);
		g_free(before);
		return result;
	}
	int there = err ? -1 : still_queued(cfg, q, o, &err);
	if (there == 0) {
		char *why = NULL;
		enum store_status started =
		    store_helper_started(st, q->id, o.verb, a->requested_at - CLOCK_SLACK, &why);
		if (started == STORE_NONE) {
			g_free(why);
			return moved_by_another(st, q, o, s, now);
		}
		if (started == STORE_ERROR) {
			err = g_strdup_printf("message %" G_GINT64_FORMAT " left the %s; whether the helper "
			                      "moved it is not known: %s",
			                      q->id, o.from, why);
			audit_helper(st, q, a->reviewer, o.what, "failed", g_strdup(err), now);
			there = -1;
		}
		g_free(why);
	}
	char *findings_err = NULL; /* unreadable findings: no labels, as in quarantine_decide */
	GArray *findings = there < 0 ? NULL : quarantine_findings(st, q->id, &findings_err);
	g_free(findings_err);
	bool ok = there == 1 ? decide_here(cfg, st, q, findings, action, a->reviewer, a->comment, wrong, true,
	                                   s, now, &err)
	          : there == 0 ? record_decision(cfg, st, q, findings, o.what, a->reviewer, a->comment, wrong,
	                                         now, &err)
	                       : false;
	if (!ok && there == 0) { /* recorded later, by the next claim */
		leave_open(s);
		char *by = finished_by(cfg), *why = err;
		err = g_strdup_printf("%s of message %" G_GINT64_FORMAT
		                      " done; recording failed: %s (it will be "
		                      "recorded by %s)",
		                      o.what, q->id, why, by);
		g_free(by);
		g_free(why);
	}
	result = s->left_open ? g_strdup_printf("left open: %s", err)
	         : !ok        ? g_strdup_printf("failed: %s", err)
	         : there == 1 ? g_strdup("done")
	                      : g_strdup("done (the message had left the queue before this claim)");
	if (findings)
		g_array_unref(findings);
	g_free(err);
	return result;
}

/* Carry out claimed action S here, as its reviewer decided it: the local
 * path of quarantine_decide(), or the rest of it when the record already
 * shows the action's outcome (finish_claimed).  Returns its result for the
 * store (recorded already when S is freed: a failed MTA step). */
static char *carry_out(const struct review_config *cfg, struct store *st, struct slot *s, gint64 now)
{
	const struct store_host_action *a = &s->a;
	enum review_action action;
	if (!verb_action(a->verb, &action))
		return g_strdup_printf("failed: unknown verb %s", a->verb);
	GPtrArray *wrong = g_ptr_array_new_with_free_func(g_free);
	char **rules = a->wrong ? g_strsplit(a->wrong, "\n", -1) : NULL;
	for (char **r = rules; r && *r; r++)
		if (**r)
			g_ptr_array_add(wrong, g_strdup(*r));
	g_strfreev(rules);
	char *err = NULL, *sent_to = NULL, *result = NULL;
	bool ok = decide(cfg, st, a->quarantine_id, action, a->reviewer, a->comment, wrong, now, s, &sent_to,
	                 NULL, &err);
	char *load_err = NULL;
	struct store_quarantine *q = ok || s->freed ? NULL : quarantine_load(st, a->quarantine_id, &load_err);
	g_free(load_err); /* no record to finish: ERR says why the decision failed */
	if (q != NULL && !quarantine_elsewhere(cfg, q) &&
	    strcmp(q->state, outcome_of(cfg, action).state) == 0)
		result = finish_claimed(cfg, st, q, s, action, wrong, now);
	else
		result = s->left_open ? g_strdup_printf("left open: %s", err)
		         : !ok        ? g_strdup_printf("failed: %s", err)
		         : sent_to    ? g_strdup_printf("failed: the hold is on host %s", sent_to)
		                      : g_strdup("done");
	store_quarantine_free(q);
	g_free(sent_to);
	g_free(err);
	g_ptr_array_unref(wrong);
	return result;
}

int quarantine_agent_once(const struct review_config *cfg, struct store *st, gint64 now, GString *report,
                          char **err)
{
	const char *host = hostname_or_system(cfg->host_name);
	int n = 0;
	/* Each action is claimed, carried out and recorded at NOW plus the time
	 * the actions before it took: the lease of the last of several counts
	 * from its own claim, as agent-lease's bound (review_config_check)
	 * assumes, not from the start of this look. */
	gint64 started = g_get_monotonic_time();
	for (;;) {
		struct slot s = {0};
		gint64 at = now + (g_get_monotonic_time() - started) / G_USEC_PER_SEC;
		enum store_status claimed =
		    store_host_action_claim(st, host, at, cfg->agent_lease, &s.a, err);
		if (claimed == STORE_ERROR)
			return -1;
		if (claimed == STORE_NONE)
			return n;
		char *result = carry_out(cfg, st, &s, at);
		enum store_status recorded =
		    s.freed ? s.ours : store_host_action_done(st, &s.a, at, result, err);
		if (s.freed && recorded == STORE_ERROR)
			*err = g_strdup("recording an action's result failed");
		g_string_append_printf(
		    report, "action %" G_GINT64_FORMAT ": %s of message %" G_GINT64_FORMAT " by %s: %s%s\n",
		    s.a.id, action_noun(s.a.verb), s.a.quarantine_id, s.a.reviewer, result,
		    recorded == STORE_NONE ? " (not recorded: claimed again after agent-lease)" : "");
		g_free(result);
		store_host_action_clear(&s.a);
		if (recorded == STORE_ERROR)
			return -1;
		n++;
	}
}

char *quarantine_action_state(struct store *st, const struct store_quarantine *q, bool *open)
{
	if (open != NULL)
		*open = false;
	struct store_host_action a = {0};
	char *err = NULL;
	enum store_status found = store_host_action_last(st, q->id, &a, &err);
	g_free(err);
	if (found != STORE_FOUND)
		return found == STORE_ERROR ? g_strdup("?") : NULL;
	const char *state = a.done_at == 0                         ? (a.claimed_at ? "running" : "waiting")
	                    : g_str_has_prefix(a.result, "failed") ? "failed"
	                                                           : "done";
	char *text = g_strdup_printf("%s %s on %s", action_noun(a.verb), state, a.host);
	if (open != NULL)
		*open = a.done_at == 0;
	store_host_action_clear(&a);
	return text;
}

unsigned quarantine_reconcile(GHashTable *queue, const GPtrArray *held, const GPtrArray *spooled,
                              GString *report)
{
	return holdqueue_reconcile(queue, held, NULL, spooled, NULL, NULL, report);
}
