/*
 * decision.h - stage 5 and the whole pipeline.  struct decision is the core's
 * only output: headers, the hold record, the CLI and the review page are all
 * rendered from it.
 *
 * Ownership: apology_check() fills a caller-provided struct decision;
 * decision_clear() frees it.  Strings borrowed from the policy (principle,
 * advice) stay valid while the caller holds a reference to that policy.
 */
#ifndef APOLOGY_DECISION_H
#define APOLOGY_DECISION_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

#include "rules.h"
#include "thread.h"

/* At most this much of the quoted history is kept in struct decision. */
#define DECISION_QUOTED_MAX 8192

enum verdict { VERDICT_PASS, VERDICT_ADVISE, VERDICT_HOLD, VERDICT_UNCHECKED };

/* The reason a message is unchecked (and an arriving one not analysed) when
 * a "re:" phrase of the policy failed on its words: PCRE2's match, depth or
 * heap limit ended the search, as a pattern that backtracks without end
 * ("(a|aa)+$" on a long run of a's) does.  Its hits may be missing. */
#define DECISION_PATTERN_FAILED "a policy pattern hit a PCRE2 limit"

struct finding {
	enum rule_id rule;
	enum rule_severity severity;
	size_t start, end;     /* byte span in decision.text */
	unsigned line;         /* 1-based line in decision.text */
	char *excerpt;         /* owned: the words that triggered it */
	char *words;           /* owned: for a learned finding, the words that weighed
	                          most in its sentence; NULL for a phrase finding */
	const char *principle; /* borrowed from the policy */
	const char *advice;    /* borrowed from the policy */
};

struct decision {
	enum verdict verdict;
	int score;
	struct complaint complaint;
	GArray *findings; /* struct finding, ordered by start */
	char *text;       /* owned: the author's new text the spans refer to */
	size_t text_len;
	/* owned: the quoted history (quote markers removed) as the thread's
	 * classification read it, cut between characters to quoted-scan-bytes
	 * and at most DECISION_QUOTED_MAX bytes, valid UTF-8, for a held reply
	 * (VERDICT_HOLD) and a near miss (complaint.near_miss); "" for any other
	 * decision and when the reply quotes nothing.  What the hold record (or
	 * the record of a near miss kept for review) keeps of the complaint the
	 * reply answers (taken from the decision by the daemon's record). */
	char *quoted;
	size_t quoted_len;
	bool apologised;    /* the reply contains an apology (for history) */
	bool held_back;     /* it would hold, but the complaint is not clear enough */
	const char *reason; /* why unchecked; static, NULL otherwise */
};

const char *verdict_name(enum verdict v);

struct policy;

/*
 * Run parse -> split -> classify -> evaluate -> decide on one message.
 * CTX may be NULL (nothing known from elsewhere; reference time = Date
 * header).  Always fills OUT; never fails on bad input (it says unchecked).
 */
void apology_check(const struct policy *pol, const char *data, size_t len, const struct context *ctx,
                   struct decision *out);

/* Only the first two steps: the author's new text of a message, as
 * apology_check() judges it (its decision's text), with *LEN; NULL when the
 * message cannot be parsed.  Caller frees. */
char *apology_new_text(const struct policy *pol, const char *data, size_t len, size_t *text_len);
/* The same two steps, the whole view: new text, quoted history (quote
 * markers removed) and the date of the first quoted message.  False when
 * the message cannot be parsed (VIEW then holds nothing to free); else the
 * caller frees VIEW with thread_view_clear(). */
bool apology_split(const struct policy *pol, const char *data, size_t len, struct thread_view *view);

void decision_clear(struct decision *d);

/* An inbound message as the core reads it: the first three steps (parse,
 * split, classify) on mail that arrives, so the daemon can record a client's
 * complaint before the reply to it leaves.  apology_classify_inbound()
 * fills OUT (always; PARSED false when the message cannot be read);
 * inbound_clear() frees it.  CTX (may be NULL) says only defer_encoder. */
struct inbound {
	bool parsed;
	char *message_id; /* owned, without <>, "" when absent */
	char *from;       /* owned, addr-spec of From, lower case, "" when absent */
	struct complaint complaint;
};

void apology_classify_inbound(const struct policy *pol, const char *data, size_t len,
                              const struct context *ctx, struct inbound *out);
void inbound_clear(struct inbound *in);

#endif
