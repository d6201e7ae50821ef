/*
 * policy_priv.h - the compiled policy, shared by the core stages that read
 * it (thread.c, evaluate.c, decide.c).  Nothing outside the core includes it.
 */
#ifndef APOLOGY_POLICY_PRIV_H
#define APOLOGY_POLICY_PRIV_H

#include <glib.h>

#include "classifier.h"
#include "lexicon.h"
#include "matcher.h"
#include "message.h"
#include "policy.h"
#include "rules.h"

/* Phrase lists ("lexicons") the stages look for.  One table, in policy.c,
 * says where each list lives in the YAML file. */
enum lex_class {
	LEX_APOLOGY,
	LEX_HOLLOW,
	LEX_THIRD_PARTY,
	LEX_CLIENT_SIDE,
	LEX_DEFENSIVE,
	LEX_EXCUSE,
	LEX_OWNERSHIP,
	LEX_REMEDY,
	LEX_STALL,
	LEX_PREVENTION,
	LEX_BUCK,
	LEX_CALL,
	LEX_GROVEL,
	LEX_INTENSIFIER,
	LEX_FAILURE,
	LEX_SMALL_IMPOSITION,
	LEX_EXCEPTION,
	CUE_BREACH,
	CUE_WHY,
	CUE_ESCALATION,
	LEX_FIXED_COUNT
	/* failure kinds follow: class LEX_FIXED_COUNT + kind index */
};

#define POLICY_MAX_KINDS 16

/* Sentence tags of the learned sentence model (policies/training/README.md),
 * in the order of tag_classes[] in policy.c. */
enum sentence_tag {
	TAG_APOLOGY,
	TAG_HOLLOW,
	TAG_BLAME,
	TAG_EXCUSE,
	TAG_DEFENSIVE,
	TAG_OWN,
	TAG_REMEDY,
	TAG_PREVENT,
	TAG_CALL,
	TAG_ASK,
	TAG_GROVEL,
	TAG_COUNT
};

/* Classes of the gate model: the complaint's own words are a complaint, a
 * serious one; the reply's words answer a complaint. */
enum gate_class { GATE_COMPLAINT, GATE_SERIOUS, GATE_ANSWERS, GATE_COUNT };

struct rule_conf {
	bool enabled;
	enum rule_severity severity;
	int weight;
	char *principle;
	char *advice;
};

/* Whole-word conditions of a plain phrase, checked on each hit. */
enum phrase_flags {
	PHRASE_WORD_START = 1, /* no word character before the hit */
	PHRASE_WORD_END = 2,   /* no word character after the hit */
	PHRASE_STEM = 4,       /* "apologi*": the hit extends to the end of the word */
};

/* Compiled phrases: one matcher, and per pattern id its class and flags
 * (the cue subset's ids are those of the whole set, whose arrays it shares). */
struct phrase_set {
	struct matcher *matcher;
	unsigned n;
	guint16 *cls;  /* enum lex_class, or LEX_FIXED_COUNT + kind */
	guint8 *flags; /* enum phrase_flags */
};

/* The learned classifiers a policy may name, in policy_model_keys' order
 * (gate, sentences, gate-text, encoder-head), which is followed there by the
 * encoder the head reads. */
#define POLICY_CLASSIFIERS 4
extern const char *const policy_model_keys[POLICY_CLASSIFIERS + 1];

/* The I-th number the policy sets (limits, verdict scores, the complaint's
 * thresholds and weights, lexicon.negation-window, the rules' counts and
 * durations, the models' margins): its path ("complaint.threshold",
 * "rules.late-reply.after") in NAME, its value in POL as text in VALUE
 * (the code's default where the policy does not set it; durations in their
 * largest whole unit, "36h"), and whether it is one of the "models"
 * section, which only a gate reads; false past the last.  The same I names
 * the same setting in every policy. */
bool policy_setting(const struct policy *pol, size_t i, char *name, size_t name_size, char *value,
                    size_t value_size, bool *of_models);

struct policy {
	gint refs;
	char *name;
	struct limits limits;
	unsigned match_limit; /* PCRE2's match limit for each "re:" phrase on each text */
	struct rule_conf rules[RULE_COUNT];

	/* verdict */
	int advise_score;
	int hold_score;    /* 0: off */
	GArray *hold_when; /* guint32 bit masks over enum rule_id */

	/* complaint gate */
	double complaint_threshold;
	double serious_threshold;
	double cue_weight[3]; /* breach, why, escalation */
	double subject_weight;
	double new_text_weight;
	double apology_weight; /* the reply apologises for something */
	size_t quoted_scan_bytes;

	/* rule parameters */
	gint64 late_after; /* seconds */
	bool business_hours;
	unsigned bh_days;     /* bit 1 = Monday ... bit 7 = Sunday */
	int bh_start, bh_end; /* minutes after midnight */
	int bh_utc_offset;    /* minutes */
	gint64 repeat_window; /* seconds */
	unsigned buck_min;
	unsigned over_max_apologies;
	unsigned over_min_intensifiers;
	unsigned negation_window; /* tokens */

	GHashTable *negation;       /* words that negate what follows */
	struct split_lexicon split; /* the split's word lists (lexicon.h) */
	char *kind_names[POLICY_MAX_KINDS];
	unsigned n_kinds;
	GPtrArray *sender_globs; /* GPatternSpec * */
	GPtrArray *domain_globs; /* GPatternSpec *, recipient domains */

	/* learned classifiers (classifier.h), or NULL: phrases alone */
	struct classifier *gate;
	struct classifier *sentences;
	struct classifier *gate_text;    /* the complaint class on whole texts, or NULL */
	struct classifier *encoder_head; /* reads the encoder's embeddings, or NULL */
	struct encoder *encoder;         /* with encoder_head, or NULL (encoder.h) */
	/* the files gate, sentences, gate-text and encoder-head were read from */
	char *model_file[POLICY_CLASSIFIERS];
	bool models_shipped; /* some model is the installed one, none being beside the policy */
	int gate_text_class;
	int gate_text_answers;      /* its answers class, or -1 (a model from before it had one) */
	int encoder_head_class;     /* the head's complaint class */
	double encoder_lift;        /* added to the head's margin before it adds to the gate's */
	double encoder_band;        /* the encoder reads only complaints the gate places this near its bar */
	int gate_class[GATE_COUNT]; /* class index in gate per enum gate_class */
	int tag_class[TAG_COUNT];   /* class index in sentences per enum sentence_tag */
	double reply_alone_margin;  /* logit the reply alone needs, with nothing quoted */
	double absence_margin;      /* logit above threshold for a learned "has ownership/remedy/..." */
	double phrase_assist;       /* how far short of the gate's bar breach phrases may lift a thread */
	double thread_lift;         /* added when quoted words and the reply's add up (two strict bars) */
	double near_miss;           /* how far short of its bar an undetected thread is a near miss */
	double inbound_margin;      /* how far short of its bar arriving mail is an unclear complaint */
	double serious_margin;      /* how near its bar a complaint's words are for the model's severity */
	double hold_margin;         /* logit past the gate's bar before a reply may be held */

	struct phrase_set all;  /* every phrase: for the new text */
	struct phrase_set cues; /* complaint cues and failure kinds: for quoted text */
};

/* Where the phrases of class CLS (enum lex_class, or LEX_FIXED_COUNT +
 * kind) live in the policy file: "rules.excuse.phrases", "lexicon.failure",
 * "complaint.breach", "kinds.delivery" (caller frees); *RULE is the rule
 * the list belongs to, or -1.  Read from the same tables as the loader. */
char *policy_class_path(const struct policy *pol, unsigned cls, int *rule);

/* The key under "lexicon:" of the split's word list LIST (enum
 * split_list): "sign-offs". */
const char *policy_split_key(unsigned list);

/* The policy's "gate", "gate-text", "sentences" or "encoder-head" model, or
 * NULL. */
const struct classifier *policy_model(const struct policy *pol, const char *which);

#endif
