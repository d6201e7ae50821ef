/*
 * test_timing.c - late-reply in business hours: only time inside the
 * policy's working days and hours counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core.h"
#include "policy.h"

static const char yaml[] = "version: 1\n"
                           "complaint:\n"
                           "  breach: {phrases: [still]}\n"
                           "rules:\n"
                           "  late-reply:\n"
                           "    principle: p\n"
                           "    advice: a\n"
                           "    after: 8h\n"
                           "    business-hours: {days: mon-fri, start: \"09:00\", end: \"17:00\","
                           " utc-offset: \"+01:00\"}\n"
                           "  apology-missing:\n"
                           "    principle: p\n"
                           "    advice: a\n"
                           "    phrases: [sorry]\n";

/* 2026-03-06 is a Friday. */
#define FRI_0800_UTC 1772784000 /* 09:00 local */

struct span_case {
	const char *name;
	gint64 from, to, expect;
};

static void test_business_seconds(void **state)
{
	(void)state;
	char *err = NULL;
	struct policy *pol = policy_load_string("bh.yaml", yaml, strlen(yaml), &err);
	assert_non_null(pol);
	const struct span_case cases[] = {
		{"within one day", FRI_0800_UTC, FRI_0800_UTC + 3 * 3600, 3 * 3600},
		{"over the weekend", FRI_0800_UTC + 7 * 3600, FRI_0800_UTC + 3 * 86400 + 3600, 2 * 3600},
		{"evening only", FRI_0800_UTC + 9 * 3600, FRI_0800_UTC + 12 * 3600, 0},
		{"a full week", FRI_0800_UTC, FRI_0800_UTC + 7 * 86400, 5 * 8 * 3600},
		{"backwards", FRI_0800_UTC + 10, FRI_0800_UTC, 0},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		gint64 got = business_seconds(pol, cases[i].from, cases[i].to);
		if (got != cases[i].expect)
			print_error("case \"%s\": got %" G_GINT64_FORMAT "\n", cases[i].name, got);
		assert_int_equal(got, cases[i].expect);
	}
	policy_unref(pol);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_business_seconds),
	};
	return cmocka_run_group_tests_name("timing", tests, NULL, NULL);
}
