/*
 * rules.c - the table of rule ids.  The only place rule names are spelled
 * out; everything inside the core uses enum rule_id.
 */
#include <string.h>

#include "rules.h"

static const char *const rule_names[RULE_COUNT] = {
    [RULE_APOLOGY_MISSING] = "apology-missing",
    [RULE_NON_APOLOGY] = "non-apology",
    [RULE_BLAME_THIRD_PARTY] = "blame-third-party",
    [RULE_EXCUSE] = "excuse",
    [RULE_DEFENSIVE] = "defensive",
    [RULE_NO_OWNERSHIP] = "no-ownership",
    [RULE_NO_REMEDY] = "no-remedy",
    [RULE_NO_PREVENTION] = "no-prevention",
    [RULE_PASSING_THE_BUCK] = "passing-the-buck",
    [RULE_NO_CALL_OFFER] = "no-call-offer",
    [RULE_LATE_REPLY] = "late-reply",
    [RULE_REPEAT_APOLOGY] = "repeat-apology",
    [RULE_OVER_APOLOGY] = "over-apology",
};

const char *rule_name(enum rule_id id)
{
	return (unsigned)id < RULE_COUNT ? rule_names[id] : "unknown";
}

int rule_lookup(const char *name)
{
	for (int i = 0; i < RULE_COUNT; i++)
		if (strcmp(rule_names[i], name) == 0)
			return i;
	return -1;
}
