/*
 * rules.h - the rule ids of the apology policy.  The names appear as strings
 * only at the edges (policy files, headers, logs, the store); inside the core
 * a rule is an enum rule_id.  The table lives in milter/util/rules.c, below
 * the core, so that the tools that only read the store (the review page)
 * name rules without linking the core.
 */
#ifndef APOLOGY_RULES_H
#define APOLOGY_RULES_H

#include <stdbool.h>

enum rule_id {
	RULE_APOLOGY_MISSING,
	RULE_NON_APOLOGY,
	RULE_BLAME_THIRD_PARTY,
	RULE_EXCUSE,
	RULE_DEFENSIVE,
	RULE_NO_OWNERSHIP,
	RULE_NO_REMEDY,
	RULE_NO_PREVENTION,
	RULE_PASSING_THE_BUCK,
	RULE_NO_CALL_OFFER,
	RULE_LATE_REPLY,
	RULE_REPEAT_APOLOGY,
	RULE_OVER_APOLOGY,
	RULE_COUNT
};

enum rule_severity { RULE_ADVISE, RULE_HOLD };

/* Returns the id string ("blame-third-party"); static storage. */
const char *rule_name(enum rule_id id);
/* Returns the id for NAME, or -1. */
int rule_lookup(const char *name);
/* Whether rule ID fires on something the reply lacks (no apology, no
 * ownership, no remedy, no prevention, no call offer): its finding is about
 * the whole reply, and its span only an anchor sentence, not the words at
 * fault. */
bool rule_about_whole_reply(enum rule_id id);

#endif
