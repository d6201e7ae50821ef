/*
 * test_policy.c - the policy loader: the shipped policy loads, and bad
 * policies (a missing section, an alias, a second document, a file cut
 * short) are refused with "file:line:col: message" errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"
#include "rules.h"

/* What every policy below has besides its rules: a version and a cue. */
#define HEAD "version: 1\ncomplaint:\n  breach: {phrases: [still]}\n"

static const char minimal[] =
	HEAD
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
	assert_int_equal(policy_pattern_count(pol), 2);
	policy_unref(pol);
}

struct bad_case {
	const char *name;
	const char *yaml;
	const char *error; /* expected substring, with position */
};

static const struct bad_case bad[] = {
	{"unknown top-level key", HEAD "nmae: x\n", "bad.yaml:4:1: policy: unknown key \"nmae\""},
	{"unknown rule", HEAD "rules:\n  apology-mising:\n    principle: p\n",
	 "bad.yaml:5:3: rules: unknown rule \"apology-mising\""},
	{"unknown rule key", HEAD "rules:\n  excuse:\n    principle: p\n    advice: a\n    wieght: 3\n",
	 "bad.yaml:8:5: excuse: unknown key \"wieght\""},
	{"bad weight", HEAD "rules:\n  excuse:\n    principle: p\n    advice: a\n    weight: heavy\n",
	 "bad.yaml:8:13: weight: expected a whole number"},
	{"bad severity", HEAD "rules:\n  excuse:\n    principle: p\n    advice: a\n    severity: block\n",
	 "bad.yaml:8:15: severity: expected advise or hold"},
	{"bad duration", HEAD "rules:\n  late-reply:\n    principle: p\n    advice: a\n    after: soon\n",
	 "bad.yaml:8:12: after: expected a duration"},
	{"bad regex", HEAD "rules:\n  excuse:\n    principle: p\n    advice: a\n    phrases: [\"re:(unclosed\"]\n",
	 "bad.yaml:8:16: phrase cannot be compiled"},
	{"missing advice", HEAD "rules:\n  excuse:\n    principle: p\n    phrases: [x]\n",
	 "bad.yaml:5:3: excuse: every enabled rule needs a principle and advice"},
	{"hold-when unknown rule", "verdict:\n  hold-when: [[defensiv]]\n",
	 "bad.yaml:2:16: hold-when: unknown rule \"defensiv\""},
	{"bad yaml", "rules: [\n", "bad.yaml:"},
	{"rule name not a string", "rules:\n  ? [excuse]\n  : {principle: p, advice: a}\n",
	 "rules: a rule name must be a plain string"},
	{"bad business hours",
	 "rules:\n  late-reply:\n    principle: p\n    advice: a\n    business-hours: {days: funday}\n",
	 "business-hours.days: bad value \"funday\""},
	/* the sections a working policy needs */
	{"no rules", HEAD "name: x\n",
	 "bad.yaml:5:1: policy: the \"rules\" section is missing, so nothing would be judged (is the file "
	 "complete?)"},
	{"no rule enabled", HEAD "rules:\n  excuse: {enabled: false}\n",
	 "bad.yaml:4:1: rules: no rule is enabled, so nothing would be judged"},
	{"no version", "complaint:\n  breach: {phrases: [still]}\nrules:\n  excuse: {principle: p, advice: a}\n",
	 "bad.yaml:5:1: policy: \"version: 1\" is missing"},
	{"no complaint cues",
	 "version: 1\ncomplaint:\n  threshold: 2\nrules:\n  excuse: {principle: p, advice: a}\n",
	 "bad.yaml:2:1: policy: nothing would be recognised as a complaint"},
	{"no complaint section", "version: 1\nrules:\n  excuse: {principle: p, advice: a, phrases: [x]}\n",
	 "bad.yaml:4:1: policy: nothing would be recognised as a complaint"},
	/* one document of plain values */
	{"alias", HEAD "rules:\n  no-call-offer:\n    principle: &p call\n    advice: *p\n",
	 "bad.yaml:7:14: YAML alias \"*p\" is not supported: write the value out in full"},
	{"alias in a list", HEAD "rules:\n  excuse: {principle: p, advice: a, phrases: [&c courier, *c]}\n",
	 "bad.yaml:5:60: YAML alias \"*c\" is not supported"},
	{"merge key", HEAD "rules:\n  excuse: &r {principle: p, advice: a}\n  defensive:\n    <<: *r\n",
	 "bad.yaml:7:10: YAML alias \"*r\" is not supported"},
	{"second document", HEAD "rules:\n  excuse: {principle: p, advice: a}\n---\nrules: {}\n",
	 "bad.yaml:6:1: a second YAML document: the file must hold one document only"},
	{"empty second document", HEAD "rules:\n  excuse: {principle: p, advice: a}\n---\n",
	 "bad.yaml:6:1: a second YAML document"},
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

/* The shipped policy cut short before its rules: refused, at the cut. */
static void test_cut_short(void **state)
{
	(void)state;
	char *text = NULL, *err = NULL;
	assert_true(g_file_get_contents("policies/default.yaml", &text, NULL, NULL));
	const char *rules = strstr(text, "\nrules:\n");
	assert_non_null(rules);
	size_t len = (size_t)(rules - text) + 1;
	int line = 1;
	for (size_t i = 0; i < len; i++)
		line += text[i] == '\n';
	assert_null(policy_load_string("policies/default.yaml", text, len, &err));
	char *want = g_strdup_printf("policies/default.yaml:%d:1: policy: the \"rules\" section is missing", line);
	if (err == NULL || strstr(err, want) == NULL)
		print_error("want %s\ngot: %s\n", want, err ? err : "(accepted)");
	assert_non_null(strstr(err, want));
	g_free(want);
	g_free(err);
	g_free(text);
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
		cmocka_unit_test(test_bad_policies),         cmocka_unit_test(test_cut_short),
		cmocka_unit_test(test_missing_file),         cmocka_unit_test(test_rule_names),
	};
	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
