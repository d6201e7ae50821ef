/*
 * test_policy.c - the policy loader: the shipped policy loads, and bad
 * policies (a missing section, an alias, a second document, a file cut
 * short) are refused with "file:line:col: message" errors; policy_compare
 * tells a policy that shrinks from one that merely changes; a phrase that
 * fails on a text (PCRE2's match limit, limits.match-limit) leaves the
 * message unchecked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib/gstdio.h>

#include "decision.h"
#include "policy_fixture.h"
#include "policy_priv.h"
#include "regexset.h"
#include "rules.h"
#include "scan.h"

/* What every policy below has besides its rules: a version and a cue. */
#define HEAD "version: 1\ncomplaint:\n  breach: {phrases: [still]}\n"

static const char minimal[] = HEAD "name: tiny\n"
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
    {"bad regex",
     HEAD "rules:\n  excuse:\n    principle: p\n    advice: a\n    phrases: [\"re:(unclosed\"]\n",
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
    /* numbers that pass no bound: "nan" is no number */
    {"nan threshold", "version: 1\ncomplaint:\n  threshold: nan\n  breach: {phrases: [still]}\n",
     "bad.yaml:3:14: threshold: expected a number from 0 to 1000, not \"nan\""},
    {"infinite cue weight", "version: 1\ncomplaint:\n  threshold: -inf\n  breach: {phrases: [still]}\n",
     "bad.yaml:3:14: threshold: expected a number"},
    {"sign in the offset's hours",
     "rules:\n  late-reply:\n    principle: p\n    advice: a\n    business-hours: {utc-offset: \"+-5:00\"}\n",
     "business-hours.utc-offset: bad value \"+-5:00\""},
    {"sign in the offset's minutes",
     "rules:\n  late-reply:\n    principle: p\n    advice: a\n    business-hours: {utc-offset: "
     "\"+01:-30\"}\n",
     "business-hours.utc-offset: bad value \"+01:-30\""},
    {"offset past int",
     "rules:\n  late-reply:\n    principle: p\n    advice: a\n"
     "    business-hours: {utc-offset: \"+-2147483648:00\"}\n",
     "business-hours.utc-offset: bad value"},
    /* a pattern found in every text */
    {"regex matching nothing",
     HEAD "rules:\n  excuse:\n    principle: p\n    advice: a\n    phrases: [\"re:(?:zzqq)?\"]\n",
     "bad.yaml:8:16: phrase cannot be compiled"},
    {"regex with an empty branch",
     HEAD "rules:\n  excuse:\n    principle: p\n    advice: a\n    phrases: [\"re:sorry|\"]\n",
     "it can match no characters at all"},
    /* a collection where a string belongs: its position is its first scalar's */
    {"phrase that is a list",
     HEAD "rules:\n  excuse:\n    principle: p\n    advice: a\n    phrases:\n"
          "      - [nested, list]\n",
     "bad.yaml:9:10: phrase: expected a non-empty string"},
    {"kind named by a list", HEAD "kinds: {? [x, y] : [zzz]}\nrules:\n  excuse: {principle: p, advice: a}\n",
     "bad.yaml:4:12: kinds: a kind's name must be a plain string"},
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
    /* the split's word lists */
    {"empty split list", HEAD "lexicon:\n  quote-attribution-verbs: []\n",
     "bad.yaml:5:3: quote-attribution-verbs: an empty list (leave the key out for the built-in list)"},
    {"split list not a list", HEAD "lexicon:\n  sign-offs: cheers\n",
     "bad.yaml:5:14: sign-offs: expected a list of strings"},
    {"empty word in a split list", HEAD "lexicon:\n  device-lines: [\"Sent from my \", \"\"]\n",
     "bad.yaml:5:36: device-lines: expected a non-empty string"},
    {"sign-off too long", HEAD "lexicon:\n  sign-offs: [with my very best wishes to you all]\n",
     "bad.yaml:5:15: sign-offs: \"with my very best wishes to you all\" is longer than 31 bytes"},
    {"sentence word of two words", HEAD "lexicon:\n  sign-off-sentence-words: [ich, \"rufe an\"]\n",
     "bad.yaml:5:35: sign-off-sentence-words: \"rufe an\" is not one word (letters, and apostrophes "
     "within it): it would never match"},
    {"sentence word of apostrophes only", HEAD "lexicon:\n  sign-off-sentence-words: [wir, \"'\"]\n",
     "bad.yaml:5:35: sign-off-sentence-words: \"'\" is not one word"},
    {"sentence word with a digit", HEAD "lexicon:\n  sign-off-sentence-words: [wir, 2nd]\n",
     "bad.yaml:5:34: sign-off-sentence-words: \"2nd\" is not one word"},
    {"greeting with a comma", HEAD "lexicon:\n  greetings: [hi, \"hi, there\"]\n",
     "bad.yaml:5:20: greetings: \"hi, there\" is not a greeting's opening words"},
    {"greeting with a space before it", HEAD "lexicon:\n  greetings: [\" hello\"]\n",
     "bad.yaml:5:16: greetings: \" hello\" is not a greeting's opening words"},
};

/* The models are read on a thread of their own while the phrases compile:
 * their errors count where the phrases compiled, and only there, as when
 * they were read after them. */
static void test_models_beside_the_compile(void **state)
{
	(void)state;
	static const char no_phrases[] = "version: 1\nmodels:\n  gate: none.model\n"
	                                 "rules:\n  apology-missing: {principle: p, advice: a}\n";
	static const char phrases[] =
	    "version: 1\nmodels:\n  gate: none.model\n"
	    "rules:\n  apology-missing: {principle: p, advice: a, phrases: [sorry]}\n";
	char *err = NULL;
	assert_null(policy_load_string("/nonexistent/bad.yaml", no_phrases, strlen(no_phrases), &err));
	assert_string_equal(err, "/nonexistent/bad.yaml:1:1: the policy has no phrases\n");
	g_free(err);
	err = NULL;
	assert_null(policy_load_string("/nonexistent/bad.yaml", phrases, strlen(phrases), &err));
	assert_string_equal(err,
	                    "/nonexistent/bad.yaml:3:9: models: cannot read /nonexistent/none.model: No such "
	                    "file or directory\n");
	g_free(err);
}

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

/* A regex phrase is found where it matches however long the run its
 * repeated group must go through (the JIT's 32 KB stack gives up on
 * "(a|b)*c" over some thousands of letters: the interpreter decides then),
 * and one that can match no characters is refused. */
static void test_regex_long_runs(void **state)
{
	(void)state;
	struct regexset *rs = regexset_new(10000000);
	char *err = NULL;
	assert_true(regexset_add(rs, "(?:a|b)*c", 9, false, 7, &err));
	assert_false(regexset_add(rs, "(?:zzqq)?", 9, false, 8, &err));
	assert_non_null(strstr(err, "no characters"));
	g_free(err);
	GString *text = g_string_new("x ");
	for (int i = 0; i < 30000; i++)
		g_string_append(text, "ab");
	g_string_append(text, "c y");
	GArray *found = g_array_new(FALSE, FALSE, sizeof(struct match));
	assert_int_equal(regexset_scan(rs, text->str, text->len, found), 0);
	assert_int_equal(found->len, 1);
	assert_int_equal(g_array_index(found, struct match, 0).id, 7);
	assert_int_equal(g_array_index(found, struct match, 0).start, 2);
	assert_int_equal(g_array_index(found, struct match, 0).end, text->len - 2);
	g_array_unref(found);
	g_string_free(text, TRUE);
	regexset_free(rs);
}

/* TEXT, then a run of RUN letters C and a "!" when RUN is not 0: a "!"
 * "(a|aa)+$" cannot end on.  Caller frees. */
static char *with_run(const char *text, char c, unsigned run)
{
	GString *s = g_string_new(text);
	if (run > 0) {
		g_string_append_c(s, ' ');
		for (unsigned i = 0; i < run; i++)
			g_string_append_c(s, c);
		g_string_append_c(s, '!');
	}
	return g_string_free(s, FALSE);
}

/* A pattern that backtracks without end ("(a|aa)+$": over a run of N a's
 * before a "!" it has Fibonacci(N) ways to try) fails at the match limit:
 * an error, counted, not "no match"; the other patterns still run.  Forty
 * a's pass PCRE2's default limit, with the JIT and without it; twenty stay
 * within it but pass a limit of 1,000. */
static void test_regex_errors_counted(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		uint32_t limit;
		unsigned run;
		unsigned errors;
	} cases[] = {
	    {"40 a's, the default limit", 10000000, 40, 1},
	    {"20 a's, the default limit", 10000000, 20, 0},
	    {"20 a's, a limit of 1000", 1000, 20, 1},
	    {"10 a's, a limit of 1000", 1000, 10, 0},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct regexset *rs = regexset_new(cases[i].limit);
		char *err = NULL;
		assert_true(regexset_add(rs, "(a|aa)+$", 8, false, 1, &err));
		assert_true(regexset_add(rs, "(?:a|b)*c", 9, false, 2, &err)); /* no match: no error */
		assert_true(regexset_add(rs, "a!", 2, true, 3, &err));
		char *text = with_run("x", 'a', cases[i].run);
		GArray *found = g_array_new(FALSE, FALSE, sizeof(struct match));
		unsigned errors = regexset_scan(rs, text, strlen(text), found);
		if (errors != cases[i].errors)
			fail_msg("%s: %u patterns failed, not %u", cases[i].name, errors, cases[i].errors);
		assert_int_equal(found->len, 1);
		assert_int_equal(g_array_index(found, struct match, 0).id, 3);
		g_array_unref(found);
		g_free(text);
		regexset_free(rs);
	}
	/* An empty match ("\\K") before a character of two bytes, in a
	 * "(*UTF)" phrase: the next search starts after the character, and no
	 * error is counted (PCRE2 refuses an offset inside a character). */
	struct regexset *rs = regexset_new(10000000);
	char *err = NULL;
	assert_true(regexset_add(rs, "(*UTF)caf\\K", 11, false, 1, &err));
	static const char cafe[] = "caf\xc3\xa9 caf\xc3\xa9";
	GArray *found = g_array_new(FALSE, FALSE, sizeof(struct match));
	assert_int_equal(regexset_scan(rs, cafe, strlen(cafe), found), 0);
	assert_int_equal(found->len, 2);
	g_array_unref(found);
	regexset_free(rs);
}

/* The shipped policy cut short before its rules: refused, at the cut. */
/* The shipped policy spells out every word list of the split, and each is
 * the built-in list a policy without the key gets. */
static void test_split_lists(void **state)
{
	(void)state;
	char *err = NULL;
	struct policy *shipped = policy_load("policies/default.yaml", &err);
	struct policy *tiny = policy_load_string("tiny.yaml", minimal, strlen(minimal), &err);
	const struct split_lexicon *builtin = split_lexicon_builtin();
	assert_non_null(shipped);
	assert_non_null(tiny);
	for (int i = 0; i < SPLIT_LIST_COUNT; i++) {
		const char *const *a = shipped->split.lists[i].words, *const *b = builtin->lists[i].words;
		assert_non_null(shipped->split.lists[i].owned);
		assert_null(tiny->split.lists[i].owned);
		assert_ptr_equal(tiny->split.lists[i].words, b);
		for (; *a && *b; a++, b++)
			assert_string_equal(*a, *b);
		assert_null(*a);
		assert_null(*b);
	}
	policy_unref(tiny);
	policy_unref(shipped);
}

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
	char *want =
	    g_strdup_printf("policies/default.yaml:%d:1: policy: the \"rules\" section is missing", line);
	if (err == NULL || strstr(err, want) == NULL)
		print_error("want %s\ngot: %s\n", want, err ? err : "(accepted)");
	assert_non_null(strstr(err, want));
	g_free(want);
	g_free(err);
	g_free(text);
}

static struct policy *load_ok(const char *name, const char *yaml)
{
	char *err = NULL;
	struct policy *pol = policy_load_string(name, yaml, strlen(yaml), &err);
	if (pol == NULL)
		fail_msg("%s: %s", name, err);
	return pol;
}

#define RULES_OLD                                                                                            \
	"rules:\n"                                                                                           \
	"  apology-missing: {principle: p, advice: a, phrases: [sorry, apologi*, regret*, my apologies, "    \
	"pardon, forgive us, forgive me]}\n"                                                                 \
	"  excuse: {principle: p, advice: a, phrases: [swamped]}\n"

struct compare_case {
	const char *name;
	const char *rules; /* after HEAD */
	bool shrinks;
	const char *change; /* a line of the changes ("" for none) */
	const char *lost;   /* the losses, in full ("" for none) */
};

/* Each against HEAD RULES_OLD: 1 cue, 7 apology phrases, 1 excuse. */
static const struct compare_case compare_cases[] = {
    {"the same", RULES_OLD, false, "", ""},
    {"a phrase more",
     "rules:\n  apology-missing: {principle: p, advice: a, phrases: [sorry, apologi*, regret*, my apologies, "
     "pardon, forgive us, forgive me, excuse us]}\n  excuse: {principle: p, advice: a, phrases: [swamped]}\n",
     false, "rules.apology-missing.phrases: 7 -> 8 patterns\npatterns: 9 -> 10\n", ""},
    {"a few phrases fewer",
     "rules:\n  apology-missing: {principle: p, advice: a, phrases: [sorry, apologi*, regret*, my apologies, "
     "pardon]}\n  excuse: {principle: p, advice: a, phrases: [swamped]}\n",
     false, "rules.apology-missing.phrases: 7 -> 5 patterns\n", ""},
    {"a rule gone",
     "rules:\n  apology-missing: {principle: p, advice: a, phrases: [sorry, apologi*, regret*, my apologies, "
     "pardon, forgive us, forgive me]}\n",
     true, "rule excuse: enabled -> off\n", "rule excuse"},
    {"a rule off",
     "rules:\n  apology-missing: {principle: p, advice: a, phrases: [sorry, apologi*, regret*, my apologies, "
     "pardon, forgive us, forgive me]}\n  excuse: {enabled: false, phrases: [swamped]}\n",
     true, "rule excuse: enabled -> off\n", "rule excuse"},
    {"a list emptied",
     "rules:\n  apology-missing: {principle: p, advice: a, phrases: [sorry, apologi*, regret*, my apologies, "
     "pardon, forgive us, forgive me]}\n  excuse: {principle: p, advice: a}\n",
     true, "rules.excuse.phrases: 1 -> 0 patterns\n", "every entry of rules.excuse.phrases"},
    {"most patterns gone",
     "rules:\n  apology-missing: {principle: p, advice: a, phrases: [sorry, regret*]}\n"
     "  excuse: {principle: p, advice: a, phrases: [swamped]}\n",
     true, "patterns: 9 -> 4\n", "5 of 9 patterns"},
    {"half the patterns gone",
     "rules:\n  apology-missing: {principle: p, advice: a, phrases: [sorry, apologi*, regret*]}\n"
     "  excuse: {principle: p, advice: a, phrases: [swamped]}\n",
     false, "patterns: 9 -> 5\n", ""},
    {"everything", "rules:\n  apology-missing: {principle: p, advice: a, phrases: [sorry]}\n", true, "",
     "rule excuse; 7 of 9 patterns"},
};

static void test_compare(void **state)
{
	(void)state;
	struct policy *old = load_ok("old.yaml", HEAD RULES_OLD);
	for (size_t i = 0; i < G_N_ELEMENTS(compare_cases); i++) {
		const struct compare_case *c = &compare_cases[i];
		char *yaml = g_strconcat(HEAD, c->rules, NULL);
		struct policy *fresh = load_ok(c->name, yaml);
		GString *changes = g_string_new(NULL), *lost = g_string_new(NULL);
		bool shrinks = policy_compare(old, fresh, changes, lost);
		if (shrinks != c->shrinks || strstr(changes->str, c->change) == NULL ||
		    strcmp(lost->str, c->lost) != 0)
			print_error("case \"%s\": shrinks %d\nchanges:\n%slost: %s\n", c->name, shrinks,
			            changes->str, lost->str);
		assert_int_equal(shrinks, c->shrinks);
		assert_non_null(strstr(changes->str, c->change));
		assert_string_equal(lost->str, c->lost);
		if (strcmp(c->name, "the same") == 0)
			assert_int_equal(changes->len, 0);
		/* growing back is never a loss */
		assert_false(policy_compare(fresh, old, NULL, NULL));
		g_string_free(changes, TRUE);
		g_string_free(lost, TRUE);
		policy_unref(fresh);
		g_free(yaml);
	}
	policy_unref(old);
}

/* The shipped policy against itself, against a copy without its gate
 * model, and against one cut before its last three rules. */
static void test_compare_shipped(void **state)
{
	(void)state;
	char *text = NULL, *err = NULL;
	assert_true(g_file_get_contents("policies/default.yaml", &text, NULL, NULL));
	struct policy *whole = policy_load("policies/default.yaml", &err);
	assert_non_null(whole);
	GString *changes = g_string_new(NULL), *lost = g_string_new(NULL);
	assert_false(policy_compare(whole, whole, changes, lost));
	assert_int_equal(changes->len + lost->len, 0);

	/* without the gate, gate-text and the encoder (which add to it) do not load */
	char **parts = g_strsplit(text, "  gate: default-gate.model\n", 2);
	assert_non_null(parts[1]);
	char *no_gate = g_strconcat(parts[0], parts[1], NULL);
	err = NULL;
	assert_null(policy_load_string("policies/default.yaml", no_gate, strlen(no_gate), &err));
	assert_non_null(strstr(err, "gate-text adds to a gate model"));
	assert_non_null(strstr(err, "an encoder adds to a gate model"));
	g_free(err);
	GRegex *re = g_regex_new("\n  (gate-text|encoder|encoder-head): [^\n]*", 0, 0, NULL);
	char *neither = g_regex_replace_literal(re, no_gate, -1, 0, "", 0, NULL);
	g_regex_unref(re);
	g_free(no_gate);
	no_gate = neither;
	struct policy *fresh = load_ok("policies/default.yaml", no_gate);
	assert_true(policy_compare(whole, fresh, changes, lost));
	assert_non_null(strstr(changes->str, "models.gate: 1 ("));
	assert_non_null(strstr(changes->str, "models.gate-text: 1 ("));
	assert_non_null(strstr(lost->str, "the gate model"));
	assert_non_null(strstr(lost->str, "the gate-text model"));
	policy_unref(fresh);

	char *cut = strstr(text, "\n  late-reply:\n");
	assert_non_null(cut);
	cut[1] = '\0';
	fresh = load_ok("policies/default.yaml", text);
	g_string_truncate(changes, 0);
	g_string_truncate(lost, 0);
	assert_true(policy_compare(whole, fresh, changes, lost));
	assert_string_equal(lost->str, "rules late-reply, repeat-apology, over-apology");
	assert_non_null(strstr(changes->str, "rules.over-apology.intensifiers: 16 -> 0 patterns\n"));
	policy_unref(fresh);

	g_string_free(changes, TRUE);
	g_string_free(lost, TRUE);
	g_strfreev(parts);
	g_free(no_gate);
	g_free(text);
	policy_unref(whole);
}

/* The shipped policy with one change of each kind that decides besides
 * the lists and models: each is reported, in both directions, and none is
 * a loss. */
static void test_compare_settings(void **state)
{
	(void)state;
	char *text = NULL;
	assert_true(g_file_get_contents("policies/default.yaml", &text, NULL, NULL));
	struct policy *whole = load_ok("policies/default.yaml", text);
	static const struct {
		const char *from, *to, *change, *back;
	} edits[] = {
	    {"\n  threshold: 2 ", "\n  threshold: 3 ", "complaint.threshold: 2 -> 3\n",
	     "complaint.threshold: 3 -> 2\n"},
	    {"\n  advise-score: 1\n", "\n  advise-score: 4\n", "verdict.advise-score: 1 -> 4\n",
	     "verdict.advise-score: 4 -> 1\n"},
	    {"\n    - [apology-missing, excuse]\n", "\n",
	     "verdict.hold-when: [apology-missing, blame-third-party]; [apology-missing, excuse]; "
	     "[defensive] -> "
	     "[apology-missing, blame-third-party]; [defensive]\n",
	     "verdict.hold-when: [apology-missing, blame-third-party]; [defensive] -> [apology-missing, "
	     "blame-third-party]; [apology-missing, excuse]; [defensive]\n"},
	    {"\n  defensive:\n    severity: hold\n", "\n  defensive:\n    severity: advise\n",
	     "rules.defensive.severity: hold -> advise\n", "rules.defensive.severity: advise -> hold\n"},
	    {"\n    after: 24h\n", "\n    after: 48h\n", "rules.late-reply.after: 1d -> 2d\n",
	     "rules.late-reply.after: 2d -> 1d\n"},
	    {"\n    # business-hours: {", "\n    business-hours: {",
	     "rules.late-reply.business-hours: none -> mon tue wed thu fri 09:00-17:00 UTC+00:00\n",
	     "rules.late-reply.business-hours: mon tue wed thu fri 09:00-17:00 UTC+00:00 -> none\n"},
	    {"\n  senders: [\"*\"]", "\n  senders: [\"*@example.com\"]",
	     "applies-to.senders: 1 -> 1 globs, not the same\n",
	     "applies-to.senders: 1 -> 1 globs, not the same\n"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(edits); i++) {
		char **parts = g_strsplit(text, edits[i].from, 2);
		if (parts[1] == NULL)
			fail_msg("edit %zu: \"%s\" is not in the shipped policy", i, edits[i].from);
		char *edited = g_strjoin(edits[i].to, parts[0], parts[1], NULL);
		struct policy *fresh = load_ok("policies/default.yaml", edited);
		GString *changes = g_string_new(NULL), *lost = g_string_new(NULL);
		assert_false(policy_compare(whole, fresh, changes, lost));
		if (strcmp(changes->str, edits[i].change) != 0)
			fail_msg("edit %zu: %s", i, changes->str);
		assert_int_equal(lost->len, 0);
		g_string_truncate(changes, 0);
		assert_false(policy_compare(fresh, whole, changes, lost));
		if (strcmp(changes->str, edits[i].back) != 0)
			fail_msg("edit %zu back: %s", i, changes->str);
		g_string_free(changes, TRUE);
		g_string_free(lost, TRUE);
		policy_unref(fresh);
		g_free(edited);
		g_strfreev(parts);
	}
	/* the order of hold-when's sets and of globs decides nothing, nor a set
	 * written twice */
	static const struct {
		const char *from, *a, *b;
	} same[] = {
	    {"\n    - [apology-missing, excuse]\n", "\n    - [excuse, apology-missing]\n    - [defensive]\n",
	     "\n    - [apology-missing, excuse]\n"},
	    {"\n  senders: [\"*\"]", "\n  senders: [\"*@a.example\", \"*@b.example\"]",
	     "\n  senders: [\"*@b.example\", \"*@a.example\"]"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(same); i++) {
		char **parts = g_strsplit(text, same[i].from, 2);
		char *a = g_strjoin(same[i].a, parts[0], parts[1], NULL),
		     *b = g_strjoin(same[i].b, parts[0], parts[1], NULL);
		struct policy *pa = load_ok("policies/default.yaml", a),
		              *pb = load_ok("policies/default.yaml", b);
		GString *changes = g_string_new(NULL);
		assert_false(policy_compare(pa, pb, changes, NULL));
		if (changes->len)
			fail_msg("same %zu: %s", i, changes->str);
		g_string_free(changes, TRUE);
		policy_unref(pa);
		policy_unref(pb);
		g_free(a);
		g_free(b);
		g_strfreev(parts);
	}
	policy_unref(whole);
	g_free(text);
}

/* The models' settings (thread-lift, serious-margin, ...) are changes as
 * the models are: one set otherwise and one left out (the code's default,
 * 0 for serious-margin) are reported each way, and neither is a loss. */
static void test_compare_model_settings(void **state)
{
	(void)state;
	char *text = NULL;
	assert_true(g_file_get_contents("policies/default.yaml", &text, NULL, NULL));
	struct policy *whole = load_ok("policies/default.yaml", text);
	GRegex *lift = g_regex_new("\n  thread-lift: 5\\.5 ", 0, 0, NULL);
	GRegex *serious = g_regex_new("\n  serious-margin: 2 [^\n]*", 0, 0, NULL);
	assert_true(g_regex_match(lift, text, 0, NULL));
	assert_true(g_regex_match(serious, text, 0, NULL));
	char *a = g_regex_replace_literal(lift, text, -1, 0, "\n  thread-lift: 4 ", 0, NULL);
	char *b = g_regex_replace_literal(serious, a, -1, 0, "", 0, NULL);
	struct policy *fresh = load_ok("policies/default.yaml", b);
	GString *changes = g_string_new(NULL), *lost = g_string_new(NULL);
	assert_false(policy_compare(whole, fresh, changes, lost));
	assert_string_equal(changes->str, "models.thread-lift: 5.5 -> 4\nmodels.serious-margin: 2 -> 0\n");
	assert_int_equal(lost->len, 0);
	g_string_truncate(changes, 0);
	assert_false(policy_compare(fresh, whole, changes, lost));
	assert_string_equal(changes->str, "models.thread-lift: 4 -> 5.5\nmodels.serious-margin: 0 -> 2\n");
	policy_unref(fresh);
	g_free(a);
	/* a change past the sixth digit is shown as one */
	a = g_regex_replace_literal(lift, text, -1, 0, "\n  thread-lift: 5.5000001 ", 0, NULL);
	fresh = load_ok("policies/default.yaml", a);
	g_string_truncate(changes, 0);
	assert_false(policy_compare(whole, fresh, changes, lost));
	assert_string_equal(changes->str, "models.thread-lift: 5.5 -> 5.5000001\n");
	policy_unref(fresh);
	/* without a gate nothing reads the settings: none is reported */
	GRegex *models = g_regex_new("\nmodels:\n(  [^\n]*\n|\n)*", 0, 0, NULL);
	char *none = g_regex_replace_literal(models, text, -1, 0, "\n", 0, NULL);
	char *none_lift = g_regex_replace_literal(models, b, -1, 0, "\nmodels:\n  thread-lift: 4\n", 0, NULL);
	g_regex_unref(models);
	struct policy *bare = load_ok("policies/default.yaml", none);
	fresh = load_ok("policies/default.yaml", none_lift);
	g_string_truncate(changes, 0);
	policy_compare(whole, bare, changes, lost);
	assert_null(strstr(changes->str, "models.thread-lift"));
	assert_non_null(strstr(changes->str, "models.gate: 1 ("));
	g_string_truncate(changes, 0);
	g_string_truncate(lost, 0);
	assert_false(policy_compare(bare, fresh, changes, lost));
	assert_int_equal(changes->len, 0);
	policy_unref(bare);
	g_free(none);
	g_free(none_lift);
	g_string_free(changes, TRUE);
	g_string_free(lost, TRUE);
	policy_unref(fresh);
	policy_unref(whole);
	g_regex_unref(lift);
	g_regex_unref(serious);
	g_free(a);
	g_free(b);
	g_free(text);
}

/* The shipped policy in DIR, its files linked there but for the gate model,
 * whose text is written after EDIT; returns the policy file in DIR. */
static char *copy_shipped(const char *dir, char *(*edit)(const char *))
{
	GPtrArray *files = policy_fixture_files();
	for (guint i = 0; i < files->len; i++) {
		const char *name = g_ptr_array_index(files, i);
		char *rel = g_build_filename("policies", name, NULL);
		char *from = g_canonicalize_filename(rel, NULL), *to = g_build_filename(dir, name, NULL);
		g_free(rel);
		g_unlink(to);
		if (strcmp(name, "default-gate.model") == 0) {
			char *text = NULL, *edited;
			assert_true(g_file_get_contents(from, &text, NULL, NULL));
			edited = edit(text);
			assert_true(g_file_set_contents(to, edited, -1, NULL));
			g_free(edited);
			g_free(text);
		} else {
			assert_int_equal(symlink(from, to), 0);
		}
		g_free(from);
		g_free(to);
	}
	g_ptr_array_unref(files);
	return g_build_filename(dir, "default.yaml", NULL);
}

static char *as_it_is(const char *model)
{
	return g_strdup(model);
}

/* The gate's threshold for complaints raised by one unit, its version line
 * left as it was (an edit by hand). */
static char *raise_threshold(const char *model)
{
	const char *t = strstr(model, "\nthreshold ");
	assert_non_null(t);
	t += strlen("\nthreshold ");
	long v = strtol(t, NULL, 10);
	const char *rest = strchr(t, ' ');
	return g_strdup_printf("%.*s%ld%s", (int)(t - model), model, v + 1, rest);
}

/* The version line without its digest, as an older apology-train wrote it. */
static char *no_digest(const char *model)
{
	GRegex *re =
	    g_regex_new("^(version 1 \\([0-9]+ examples), [0-9a-f]{12}\\)$", G_REGEX_MULTILINE, 0, NULL);
	char *out = g_regex_replace(re, model, -1, 0, "\\1)", 0, NULL);
	g_regex_unref(re);
	assert_string_not_equal(out, model);
	return out;
}

/* What a model says, not only its version line, decides whether it changed:
 * a copy of the shipped policy elsewhere is no change; the gate edited by
 * hand under the same version is reported; the gate under another version
 * line but the same content is reported as the same content. */
static void test_compare_models_content(void **state)
{
	(void)state;
	static const struct {
		char *(*edit)(const char *);
		const char *after; /* the change line after "models.gate: VERSION", or NULL: none */
		bool doubted;      /* the file is not what its version names */
	} cases[] = {
	    {as_it_is, NULL, false},
	    {raise_threshold, ", but its weights, thresholds or pooling differ\n", true},
	    {no_digest, " -> 1 (13725 examples) (the same weights, thresholds and pooling)\n", false},
	};
	char *err = NULL;
	struct policy *shipped = policy_load("policies/default.yaml", &err);
	assert_non_null(shipped);
	unsigned n = 9;
	assert_null(policy_model_doubts(shipped, &n));
	assert_int_equal(n, 0);
	const char *version = policy_model_version(shipped, "gate");
	char *dir = g_dir_make_tmp("test_policy-XXXXXX", NULL);
	assert_non_null(dir);
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *path = copy_shipped(dir, cases[i].edit);
		struct policy *copy = policy_load(path, &err);
		assert_non_null(copy);
		GString *changes = g_string_new(NULL), *lost = g_string_new(NULL);
		assert_false(policy_compare(shipped, copy, changes, lost)); /* nothing lost */
		char *want = cases[i].after ? g_strconcat("models.gate: ", version, cases[i].after, NULL)
		                            : g_strdup("");
		assert_string_equal(changes->str, want);
		assert_int_equal(lost->len, 0);
		char *doubts = policy_model_doubts(copy, &n);
		assert_int_equal(n, cases[i].doubted ? 1 : 0);
		if (cases[i].doubted) {
			char *line = g_strdup_printf(
			    "models.gate: the file is not what its version line \"%s\" names", version);
			assert_non_null(doubts);
			assert_true(g_str_has_prefix(doubts, line));
			assert_null(strstr(doubts, "models.sentences")); /* only the one edited */
			g_free(line);
		} else {
			assert_null(doubts);
		}
		g_free(doubts);
		g_free(want);
		g_string_free(changes, TRUE);
		g_string_free(lost, TRUE);
		policy_unref(copy);
		g_free(path);
	}
	/* a model gone after the policy loaded cannot be checked: named too */
	char *path = copy_shipped(dir, as_it_is);
	struct policy *copy = policy_load(path, &err);
	assert_non_null(copy);
	char *gone = g_build_filename(dir, "default-gate.model", NULL);
	assert_int_equal(g_unlink(gone), 0);
	char *doubts = policy_model_doubts(copy, &n);
	assert_int_equal(n, 1);
	assert_non_null(doubts);
	assert_true(g_str_has_prefix(doubts, "models.gate: cannot read "));
	g_free(doubts);
	g_free(gone);
	policy_unref(copy);
	g_free(path);
	GPtrArray *files = policy_fixture_files();
	for (guint i = 0; i < files->len; i++) {
		char *f = g_build_filename(dir, g_ptr_array_index(files, i), NULL);
		g_unlink(f);
		g_free(f);
	}
	g_ptr_array_unref(files);
	assert_int_equal(g_rmdir(dir), 0);
	g_free(dir);
	policy_unref(shipped);
}

/* The complaint cues share the literals compiled for every phrase
 * (matcher_subset()): scanning with them finds exactly the hits of the cue
 * classes that scanning with every phrase finds, literal and "re:" alike, and
 * nothing of the other classes. */
static void test_cues_subset(void **state)
{
	(void)state;
	struct policy *pol =
	    load_ok("cues.yaml", "version: 1\nname: cues\n"
	                         "complaint:\n"
	                         "  breach: {phrases: [still, \"re:\\\\bnot\\\\s+yet\\\\b\", \"order #\"]}\n"
	                         "  escalation: {phrases: [refund, sorry]}\n"
	                         "rules:\n"
	                         "  apology-missing:\n"
	                         "    principle: p\n"
	                         "    advice: a\n"
	                         "    phrases: [sorry, still, \"re:\\\\byet\\\\b\"]\n");
	const char *text = "Sorry, order 1234 is still not yet here. I am still waiting; a refund, sorry.";
	struct scan all = {0}, cues = {0};
	scan_text(&pol->all, text, strlen(text), &all);
	scan_text(&pol->cues, text, strlen(text), &cues);
	guint k = 0, regex_hits = 0;
	for (guint i = 0; i < all.hits->len; i++) {
		const struct hit *a = &g_array_index(all.hits, struct hit, i);
		if (a->cls < CUE_BREACH)
			continue;
		assert_true(k < cues.hits->len);
		const struct hit *c = &g_array_index(cues.hits, struct hit, k++);
		assert_int_equal(c->cls, a->cls);
		assert_int_equal(c->start, a->start);
		assert_int_equal(c->end, a->end);
		regex_hits +=
		    strncmp(text + c->start, "not yet", 7) == 0 || strncmp(text + c->start, "order", 5) == 0;
	}
	assert_int_equal(k, cues.hits->len);
	assert_int_equal(k, 7); /* still x2, not yet, order 1234, refund, sorry x2 */
	assert_int_equal(regex_hits, 2);
	scan_clear(&all);
	scan_clear(&cues);
	policy_unref(pol);
}

/* A policy with a phrase of a rule ("re:(a|aa)+$") and a complaint cue
 * ("re:(e|ee)+$") that backtrack without end, its match limit LIMIT. */
#define CATASTROPHIC(limit)                                                                                  \
	"version: 1\nname: catastrophic\nlimits: {match-limit: " limit "}\n"                                 \
	"complaint:\n  breach: {phrases: [still, again, \"re:(e|ee)+$\"]}\n"                                 \
	"rules:\n  apology-missing: {principle: p, advice: a, phrases: [sorry, \"re:(a|aa)+$\"]}\n"

#define COMPLAINT "The report still has the wrong figures. Again! It still is not fixed."

/* A message a phrase of the policy failed on (PCRE2's match limit) is
 * unchecked with the reason, whether the phrase failed on the reply or on
 * the complaint it quotes, rather than judged without the phrase; the same
 * policy judges ordinary mail as ever.  limits.match-limit is the limit. */
static void test_pattern_error_unchecked(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *yaml;
		unsigned reply_run;     /* a's after the reply */
		unsigned complaint_run; /* e's after the complaint */
		bool unchecked;
	} cases[] = {
	    {"ordinary mail", CATASTROPHIC("10000000"), 0, 0, false},
	    {"a rule's phrase fails on the reply", CATASTROPHIC("10000000"), 40, 0, true},
	    {"a cue fails on the quoted complaint", CATASTROPHIC("10000000"), 0, 40, true},
	    {"a short run, within the limit", CATASTROPHIC("10000000"), 20, 20, false},
	    {"the same run, past a lower limit", CATASTROPHIC("1000"), 20, 0, true},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct policy *pol = load_ok("catastrophic.yaml", cases[i].yaml);
		char *reply = with_run("The corrected report is attached.", 'a', cases[i].reply_run);
		char *complaint = with_run(COMPLAINT, 'e', cases[i].complaint_run);
		char *msg =
		    g_strdup_printf("From: Sam Reed <sam@brightlane.example>\r\n"
		                    "To: Ann Client <ann@client.example>\r\nSubject: Re: report\r\n"
		                    "Date: Tue, 03 Mar 2026 10:00:00 +0000\r\n\r\nHi Ann,\r\n\r\n%s\r\n\r\n"
		                    "On Mon, 2 Mar 2026, Ann Client <ann@client.example> wrote:\r\n> %s\r\n",
		                    reply, complaint);
		struct decision d;
		apology_check(pol, msg, strlen(msg), NULL, &d);
		if ((d.verdict == VERDICT_UNCHECKED) != cases[i].unchecked)
			fail_msg("%s: %s", cases[i].name, verdict_name(d.verdict));
		if (cases[i].unchecked) {
			assert_string_equal(d.reason, DECISION_PATTERN_FAILED);
			assert_int_equal(d.findings->len, 0);
		} else {
			assert_null(d.reason);
			assert_true(d.complaint.detected);
			assert_int_equal(d.findings->len, 1); /* apology-missing */
		}
		decision_clear(&d);
		g_free(msg);
		g_free(complaint);
		g_free(reply);
		policy_unref(pol);
	}
}

/* Arriving mail a cue failed on is not analysed for a complaint (no call
 * made: pattern_errors), where the same mail without the run is one. */
static void test_pattern_error_inbound(void **state)
{
	(void)state;
	struct policy *pol = load_ok("catastrophic.yaml", CATASTROPHIC("10000000"));
	static const unsigned runs[] = {0, 40};
	for (size_t i = 0; i < G_N_ELEMENTS(runs); i++) {
		unsigned run = runs[i];
		char *body = with_run(COMPLAINT, 'e', run);
		char *msg = g_strdup_printf("From: Ann Client <ann@client.example>\r\n"
		                            "To: Sam Reed <sam@brightlane.example>\r\nSubject: report\r\n"
		                            "Message-ID: <c1@client.example>\r\n"
		                            "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\n%s\r\n",
		                            body);
		struct inbound in;
		apology_classify_inbound(pol, msg, strlen(msg), NULL, &in);
		assert_true(in.parsed);
		assert_int_equal(in.complaint.pattern_errors, run > 0 ? 1 : 0);
		assert_int_equal(in.complaint.detected, run == 0);
		inbound_clear(&in);
		g_free(msg);
		g_free(body);
	}
	policy_unref(pol);
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
	    cmocka_unit_test(test_shipped_policy_loads),
	    cmocka_unit_test(test_minimal_policy),
	    cmocka_unit_test(test_bad_policies),
	    cmocka_unit_test(test_regex_long_runs),
	    cmocka_unit_test(test_regex_errors_counted),
	    cmocka_unit_test(test_pattern_error_unchecked),
	    cmocka_unit_test(test_pattern_error_inbound),
	    cmocka_unit_test(test_cut_short),
	    cmocka_unit_test(test_compare),
	    cmocka_unit_test(test_compare_shipped),
	    cmocka_unit_test(test_compare_model_settings),
	    cmocka_unit_test(test_compare_settings),
	    cmocka_unit_test(test_models_beside_the_compile),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_rule_names),
	    cmocka_unit_test(test_split_lists),
	    cmocka_unit_test(test_cues_subset),
	    cmocka_unit_test(test_compare_models_content),
	};
	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
