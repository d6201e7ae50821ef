/*
 * test_headers.c - header values and findings JSON rendered from a
 * struct decision: only ASCII rule ids and numbers in headers, folded lines
 * under 998 characters, each rule listed once, and JSON that escapes
 * whatever the excerpt holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>
#include <string.h>

#include "render_headers.h"

static void add_finding(struct decision *d, enum rule_id rule, enum rule_severity sev, size_t start,
                        size_t end, unsigned line, const char *excerpt)
{
	struct finding f = {
	    .rule = rule,
	    .severity = sev,
	    .start = start,
	    .end = end,
	    .line = line,
	    .excerpt = g_strdup(excerpt),
	    .principle = "Own the mistake.",
	    .advice = "Say \"we\" and name the fix.",
	};
	g_array_append_val(d->findings, f);
}

static void decision_new(struct decision *d, enum verdict v, int score)
{
	memset(d, 0, sizeof *d);
	d->verdict = v;
	d->score = score;
	d->complaint.sent = -1;
	d->findings = g_array_new(FALSE, TRUE, sizeof(struct finding));
	d->text = g_strdup("");
}

/* Every line of a folded VALUE is ASCII, under 998 characters, and every
 * continuation starts with white space. */
static void assert_header_safe(const char *name, const char *value)
{
	char **lines = g_strsplit(value, "\n", -1);
	for (int i = 0; lines[i] != NULL; i++) {
		size_t len = strlen(lines[i]) + (i == 0 ? strlen(name) + 2 : 0);
		assert_true(len < 998);
		if (i > 0)
			assert_true(lines[i][0] == '\t' || lines[i][0] == ' ');
		for (const char *p = lines[i]; *p; p++)
			assert_true((*p >= 0x20 && *p < 0x7f) || *p == '\t');
	}
	g_strfreev(lines);
	assert_null(strchr(value, '\r'));
}

static void test_check_value(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		enum verdict verdict;
		int score;
		int rules[4]; /* -1 terminated */
		const char *expect;
	} cases[] = {
	    {"pass, nothing found", VERDICT_PASS, 0, {-1}, "pass; score=0"},
	    {"pass with prevention advice only",
	     VERDICT_PASS,
	     1,
	     {RULE_NO_PREVENTION, -1},
	     "pass; score=1; rules=no-prevention"},
	    {"advise",
	     VERDICT_ADVISE,
	     7,
	     {RULE_NO_REMEDY, RULE_EXCUSE, -1},
	     "advise; score=7; rules=no-remedy,excuse"},
	    {"hold, rule repeated",
	     VERDICT_HOLD,
	     12,
	     {RULE_BLAME_THIRD_PARTY, RULE_APOLOGY_MISSING, RULE_BLAME_THIRD_PARTY, -1},
	     "hold; score=12; rules=blame-third-party,apology-missing"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct decision d;
		decision_new(&d, cases[i].verdict, cases[i].score);
		for (int j = 0; cases[i].rules[j] >= 0; j++)
			add_finding(&d, (enum rule_id)cases[i].rules[j], RULE_ADVISE, j, j + 1, 1, "x");
		char *v = render_check_value(&d);
		if (strcmp(v, cases[i].expect) != 0)
			fail_msg("%s: got \"%s\", expected \"%s\"", cases[i].name, v, cases[i].expect);
		assert_header_safe("X-Apology-Check", v);
		g_free(v);
		decision_clear(&d);
	}
}

static void test_unchecked_reason(void **state)
{
	(void)state;
	struct decision d;
	decision_new(&d, VERDICT_UNCHECKED, 0);
	d.reason = "too many MIME parts (over 200)\r\nX-Evil: yes";
	char *v = render_check_value(&d);
	assert_string_equal(v, "unchecked; reason=too-many-mime-parts-over-200-x-evil-yes");
	g_free(v);
	d.reason = NULL;
	v = render_check_value(&d);
	assert_string_equal(v, "unchecked; reason=error");
	g_free(v);
	decision_clear(&d);
}

static void test_findings_value(void **state)
{
	(void)state;
	struct decision d;
	decision_new(&d, VERDICT_HOLD, 12);
	assert_null(render_findings_value(&d));
	add_finding(&d, RULE_BLAME_THIRD_PARTY, RULE_HOLD, 120, 145, 3,
	            "the courier\r\nBcc: victim@example.com");
	add_finding(&d, RULE_EXCUSE, RULE_ADVISE, 200, 230, 4, "beyond our control");
	char *v = render_findings_value(&d);
	assert_string_equal(v, "blame-third-party severity=hold line=3 span=120-145,\n\t"
	                       "excuse severity=advise line=4 span=200-230");
	assert_null(strstr(v, "courier")); /* never text from the mail */
	assert_header_safe("X-Apology-Findings", v);
	g_free(v);
	decision_clear(&d);
}

static void test_findings_capped(void **state)
{
	(void)state;
	struct decision d;
	decision_new(&d, VERDICT_ADVISE, 99);
	for (int i = 0; i < 500; i++)
		add_finding(&d, (enum rule_id)(i % RULE_COUNT), RULE_ADVISE, (size_t)i * 1000000,
		            (size_t)i * 1000000 + 999999, 100000 + i, "x");
	char *v = render_findings_value(&d);
	assert_header_safe("X-Apology-Findings", v);
	assert_non_null(strstr(v, "more=460"));
	g_free(v);
	v = render_check_value(&d);
	assert_header_safe("X-Apology-Check", v);
	assert_non_null(strstr(v, "rules=apology-missing,non-apology,"));
	g_free(v);
	decision_clear(&d);
}

static void test_json(void **state)
{
	(void)state;
	struct decision d;
	decision_new(&d, VERDICT_HOLD, 12);
	d.apologised = false;
	d.complaint.detected = true;
	d.complaint.severity = SEVERITY_SERIOUS;
	d.complaint.sent = 1700000000;
	d.complaint.kinds = 5;
	add_finding(&d, RULE_DEFENSIVE, RULE_HOLD, 5, 9, 2, "\"you\"\\ \x01\ttab\n\xff end");
	char *j = render_decision_json(&d);
	assert_string_equal(
	    j, "{\"verdict\":\"hold\",\"score\":12,\"reason\":null,\"apologised\":false,"
	       "\"complaint\":{\"detected\":true,\"severity\":\"serious\","
	       "\"sent\":\"2023-11-14T22:13:20Z\",\"kinds\":5},"
	       "\"findings\":[{\"rule\":\"defensive\",\"severity\":\"hold\",\"start\":5,\"end\":9,"
	       "\"line\":2,\"excerpt\":\"\\\"you\\\"\\\\ \\u0001\\ttab\\n\xef\xbf\xbd end\","
	       "\"principle\":\"Own the mistake.\",\"advice\":\"Say \\\"we\\\" and name the fix.\"}]}");
	g_free(j);
	decision_clear(&d);

	decision_new(&d, VERDICT_PASS, 0);
	j = render_decision_json(&d);
	assert_string_equal(j, "{\"verdict\":\"pass\",\"score\":0,\"reason\":null,\"apologised\":false,"
	                       "\"complaint\":{\"detected\":false,\"severity\":null,\"sent\":null,"
	                       "\"kinds\":0},\"findings\":[]}");
	g_free(j);
	decision_clear(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_check_value),    cmocka_unit_test(test_unchecked_reason),
	    cmocka_unit_test(test_findings_value), cmocka_unit_test(test_findings_capped),
	    cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests_name("headers", tests, NULL, NULL);
}
