/*
 * test_policy.c - the policy loader: the shipped policy loads, and bad
 * policies are refused with "file:line:col: message" errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"
#include "rules.h"

static const char minimal[] =
	"version: 1\n"
	"name: tiny\n"
	"rules:\n"
	"  apology-missing:\n"
	"    principle: p\n"
	"    advice: a\n"
	"    phrases: [sorry]\n";

static void test_shipped_policy_loads(void **state)
{
	(void)state;
	char *err = NULL;
	struct policy *pol = policy_load("policies/default.yaml", &err);
	if (pol == NULL)
		print_error("%s", err);
	assert_non_null(pol);
	assert_string_equal(policy_name(pol), "default");
	assert_true(policy_pattern_count(pol) > 300);
	assert_true(policy_kind_index(pol, "delivery") >= 0);
	assert_int_equal(policy_kind_index(pol, "no-such-kind"), -1);
	assert_true(policy_applies_to_sender(pol, "anyone@example.com"));
	policy_unref(pol);
}

static void test_minimal_policy(void **state)
{
	(void)state;
	char *err = NULL;
	struct policy *pol = policy_load_string("tiny.yaml", minimal, strlen(minimal), &err);
	assert_non_null(pol);
	assert_int_equal(policy_pattern_count(pol), 1);
	policy_unref(pol);
}

struct bad_case {
	const char *name;
	const char *yaml;
	const char *error; /* expected substring, with position */
};

static const struct bad_case bad[] = {
	{"unknown top-level key", "version: 1\nnmae: x\n", "bad.yaml:2:1: policy: unknown key \"nmae\""},
	{"unknown rule", "rules:\n  apology-mising:\n    principle: p\n",
	 "bad.yaml:2:3: rules: unknown rule \"apology-mising\""},
	{"unknown rule key", "rules:\n  excuse:\n    principle: p\n    advice: a\n    wieght: 3\n",
	 "bad.yaml:5:5: excuse: unknown key \"wieght\""},
	{"bad weight", "rules:\n  excuse:\n    principle: p\n    advice: a\n    weight: heavy\n",
	 "bad.yaml:5:13: weight: expected a whole number"},
	{"bad severity", "rules:\n  excuse:\n    principle: p\n    advice: a\n    severity: block\n",
	 "bad.yaml:5:15: severity: expected advise or hold"},
	{"bad duration", "rules:\n  late-reply:\n    principle: p\n    advice: a\n    after: soon\n",
	 "bad.yaml:5:12: after: expected a duration"},
	{"bad regex", "rules:\n  excuse:\n    principle: p\n    advice: a\n    phrases: [\"re:(unclosed\"]\n",
	 "bad.yaml:5:16: phrase cannot be compiled"},
	{"missing advice", "rules:\n  excuse:\n    principle: p\n    phrases: [x]\n",
	 "bad.yaml:2:3: excuse: every enabled rule needs a principle and advice"},
	{"hold-when unknown rule", "verdict:\n  hold-when: [[defensiv]]\n",
	 "bad.yaml:2:16: hold-when: unknown rule \"defensiv\""},
	{"bad yaml", "rules: [\n", "bad.yaml:"},
	{"rule name not a string", "rules:\n  ? [excuse]\n  : {principle: p, advice: a}\n",
	 "rules: a rule name must be a plain string"},
	{"bad business hours",
	 "rules:\n  late-reply:\n    principle: p\n    advice: a\n    business-hours: {days: funday}\n",
	 "business-hours.days: bad value \"funday\""},
};

static void test_bad_policies(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		char *err = NULL;
		struct policy *pol = policy_load_string("bad.yaml", bad[i].yaml, strlen(bad[i].yaml), &err);
		if (pol != NULL || err == NULL || strstr(err, bad[i].error) == NULL)
			print_error("case \"%s\": got: %s\n", bad[i].name, err ? err : "(accepted)");
		assert_null(pol);
		assert_non_null(err);
		assert_non_null(strstr(err, bad[i].error));
		g_free(err);
	}
}

static void test_missing_file(void **state)
{
	(void)state;
	char *err = NULL;
	assert_null(policy_load("/nonexistent/policy.yaml", &err));
	assert_non_null(err);
	assert_non_null(strstr(err, "/nonexistent/policy.yaml"));
	g_free(err);
}

static void test_rule_names(void **state)
{
	(void)state;
	for (int i = 0; i < RULE_COUNT; i++)
		assert_int_equal(rule_lookup(rule_name(i)), i);
	assert_int_equal(rule_lookup("nope"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_policy_loads), cmocka_unit_test(test_minimal_policy),
		cmocka_unit_test(test_bad_policies),         cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_rule_names),
	};
	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
