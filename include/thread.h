/*
 * thread.h - stages 2 and 3: split the body into the author's new text and
 * the quoted history, then classify the thread (does this reply answer a
 * client complaint, how serious, sent when).
 *
 * Ownership: split_message() fills a caller-provided struct thread_view;
 * thread_view_clear() frees it.  struct context is owned by the caller and
 * only read.
 */
#ifndef APOLOGY_THREAD_H
#define APOLOGY_THREAD_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

#include "message.h"

struct sentence {
	size_t start, end; /* byte offsets into thread_view.text, end exclusive */
	unsigned line;     /* 1-based line of START in thread_view.text */
};

struct thread_view {
	char *text; /* the author's new text, UTF-8 */
	size_t len;
	GArray *sentences; /* struct sentence, in order */
	char *quoted;      /* quoted history with quote markers removed */
	size_t quoted_len;
	gint64 quoted_date; /* date of the first quoted message (attribution), or -1 */
	bool has_signature;
	bool has_disclaimer;
};

struct policy;

/* Split MSG's body with the word lists of POL's lexicon (NULL: the built-in
 * lists, policies/README.md). */
void split_message(const struct policy *pol, const struct message *msg, struct thread_view *view);
/* The same for mail arriving from a client, whose new text is the client's
 * message: a mail gateway's warning at its top and a signature with no
 * sign-off that opens with the writer's name (MSG's From:) are not its
 * words, as in a quoted message. */
void split_arriving(const struct policy *pol, const struct message *msg, struct thread_view *view);
void thread_view_clear(struct thread_view *view);

/* Bytes of TEXT's greeting line ("Hi Alex,": one of the greetings of POL's
 * lexicon, NULL: the built-in ones) and the blank space after it; 0 when
 * TEXT opens with none.  The gate reads a text without it. */
size_t split_greeting_len(const struct policy *pol, const char *text, size_t len);

/* Segment TEXT into sentences, appending struct sentence to OUT. */
void sentence_split(const char *text, size_t len, GArray *out);
/* END with the closing quotes and brackets that end TEXT[START, END) left
 * out (what the sentence splitter reads as closing a sentence). */
size_t sentence_trim_closers(const char *text, size_t start, size_t end);

/* An earlier apology by the same sender to the same client. */
struct history_entry {
	gint64 when;    /* Unix seconds */
	unsigned kinds; /* bit mask of failure kinds, see policy_kind_index() */
};

/* What the caller knows from elsewhere.  Zero it, then fill what is known. */
struct context {
	gint64 now;               /* reference time for timeliness, Unix seconds */
	bool stored_complaint;    /* the daemon saw the complaint arrive */
	gint64 complaint_time;    /* its arrival time */
	bool complaint_serious;   /* its stored severity */
	unsigned complaint_kinds; /* its failure kinds */
	bool complaint_unclear;   /* stored within models.inbound-margin short of the gate's bar:
	                             as clear as the thread's own words make it (the models run
	                             as if nothing were stored), else a reply is advised, not held */
	const struct history_entry *history;
	size_t n_history;
	bool defer_encoder; /* where the sentence encoder would run (milliseconds), it does not:
	                       the call ends with complaint.deferred, to be made again where it
	                       may take the time (the daemon's event loop hands the message to
	                       a judge thread) */
};

enum complaint_severity { SEVERITY_NONE, SEVERITY_NORMAL, SEVERITY_SERIOUS };

struct complaint {
	bool detected;
	enum complaint_severity severity;
	gint64 sent;    /* when the complaint was sent, or -1 when unknown */
	unsigned kinds; /* failure kinds found in complaint and reply */
	double score;   /* weight of complaint evidence (the learned gate: its logit,
	                   0 at the threshold) */
	double answers; /* the learned gate: how much the reply's own words read as the
	                   answer to a complaint (logit, 0 at the threshold); NAN when
	                   not consulted (no model, a stored complaint, or the
	                   complaint's own words decided) */
	bool clear;     /* detected clearly enough to hold a reply: a stored complaint,
	                   the phrase lists' call, or the models' margin at least
	                   models.hold-margin; otherwise a hold becomes advice */
	bool near_miss; /* not detected, but the learned gate placed the thread with
	                   quoted text within models.near-miss of its bar: the
	                   complaints it misses are among these (the daemon may keep
	                   a sample for reviewers to judge) */
	bool deferred;  /* context.defer_encoder stopped the call: nothing else here holds */
	/* Patterns of the policy that failed on the words the call reads (a
	 * regular expression past one of PCRE2's limits): no call was made,
	 * nothing else here holds, and the message is not judged
	 * (DECISION_PATTERN_FAILED). */
	unsigned pattern_errors;
};

/* Stage 3 proper runs inside apology_check() (decision.h), which has the
 * scan of the new text at hand. */

/* Classify a bare text (inbound complaint as the daemon receives it).  A
 * complaint detected at the bar (the gate, or the breach phrases within
 * phrase-assist) is clear; one the gate places within models.inbound-margin
 * short of its bar is detected but not clear (the milter stores it as
 * unclear: see struct context). */
void thread_classify_text(const struct policy *pol, const char *subject, const char *text, size_t len,
                          const struct context *ctx, struct complaint *out);

#endif
