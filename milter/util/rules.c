/*
 * rules.c - the table of rule ids.  The only place rule names are spelled
 * out, with what kind of finding each makes; everything inside the core
 * uses enum rule_id.  In util, below the core, because the tools that read
 * only the store (the review page) name rules too.
 */
#include <string.h>

#include "rules.h"

static const struct {
	const char *name;
	bool whole_reply; /* fires on an absence: see rule_about_whole_reply() */
} rules[RULE_COUNT] = {
    [RULE_APOLOGY_MISSING] = {"apology-missing", true},
    [RULE_NON_APOLOGY] = {"non-apology", false},
    [RULE_BLAME_THIRD_PARTY] = {"blame-third-party", false},
    [RULE_EXCUSE] = {"excuse", false},
    [RULE_DEFENSIVE] = {"defensive", false},
    [RULE_NO_OWNERSHIP] = {"no-ownership", true},
    [RULE_NO_REMEDY] = {"no-remedy", true},
    [RULE_NO_PREVENTION] = {"no-prevention", true},
    [RULE_PASSING_THE_BUCK] = {"passing-the-buck", false},
    [RULE_NO_CALL_OFFER] = {"no-call-offer", true},
    [RULE_LATE_REPLY] = {"late-reply", false},
    [RULE_REPEAT_APOLOGY] = {"repeat-apology", false},
    [RULE_OVER_APOLOGY] = {"over-apology", false},
};

const char *rule_name(enum rule_id id)
{
	return (unsigned)id < RULE_COUNT ? rules[id].name : "unknown";
}

int rule_lookup(const char *name)
{
	for (int i = 0; i < RULE_COUNT; i++)
		if (strcmp(rules[i].name, name) == 0)
			return i;
	return -1;
}

bool rule_about_whole_reply(enum rule_id id)
{
	return (unsigned)id < RULE_COUNT && rules[id].whole_reply;
}
