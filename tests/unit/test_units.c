/*
 * test_units.c - the one reader of durations, sizes and yes/no values
 * (milter/util/units.c) that the daemon's configuration, the review
 * settings, the policy and the command line share.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib.h>
#include <string.h>

#include "units.h"

struct duration_case {
	const char *text;
	gint64 seconds; /* -1: refused */
	const char *error;
};

static const struct duration_case durations[] = {
    {"0", 0, NULL},
    {"90", 90, NULL},
    {"30s", 30, NULL},
    {"5m", 300, NULL},
    {"2h", 7200, NULL},
    {"7d", 7 * 86400, NULL},
    {"1w", 7 * 86400, NULL},
    {"2W", 14 * 86400, NULL},
    {"5M", 300, NULL},
    {"1h30m", 5400, NULL},
    {"30m1h", 5400, NULL},
    {"1w2d3h4m5s", 7 * 86400 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5, NULL},
    {"", -1, "expected a number"},
    {"soon", -1, "expected a number"},
    {"h", -1, "expected a number"},
    {"-5m", -1, "expected a number"},
    {"+5m", -1, "expected a number"},
    {" 5m", -1, "expected a number"},
    {"5m ", -1, "expected a number"},
    {"5x", -1, "unknown unit 'x' (use one of smhdw)"},
    {"5ms", -1, "expected a number"},
    {"1.5h", -1, "unknown unit '.5h' (use one of smhdw)"},
    {"1h30", -1, "30 without a unit after another term"},
    {"1h1h", -1, "unit 'h' given twice"},
    {"1m2M", -1, "unit 'm' given twice"},
    {"1hm", -1, "expected a number"},
    {"99999999999999999999", -1, "number out of range"},
    {"9999999999999999w", -1, "number out of range"},
    {"9223372036854775807s1m", -1, "number out of range"},
};

static void test_durations(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(durations); i++) {
		const struct duration_case *c = &durations[i];
		gint64 got = -1;
		char *err = units_parse_duration(c->text, UNITS_DURATION, &got);
		if (c->seconds >= 0 && (err != NULL || got != c->seconds))
			fail_msg("\"%s\": %s, %" G_GINT64_FORMAT " s, expected %" G_GINT64_FORMAT, c->text,
			         err ? err : "no error", got, c->seconds);
		if (c->seconds < 0 && (err == NULL || strstr(err, c->error) == NULL))
			fail_msg("\"%s\": \"%s\", expected \"%s\"", c->text, err ? err : "accepted",
			         c->error);
		g_free(err);
	}
}

/* A setting that takes fewer units refuses the others by name. */
static void test_fewer_units(void **state)
{
	(void)state;
	gint64 n = 0;
	char *err;
	assert_null(units_parse_duration("1d12h", "smhd", &n));
	assert_int_equal(n, 36 * 3600);
	assert_non_null(err = units_parse_duration("3w", "smhd", &n));
	assert_string_equal(err, "unknown unit 'w' (use one of smhd)");
	g_free(err);
	assert_non_null(err = units_parse_duration("1h2w", "smhd", &n));
	assert_string_equal(err, "unknown unit 'w' (use one of smhd)");
	g_free(err);
}

static void test_sizes(void **state)
{
	(void)state;
	gint64 n = 0;
	char *err;
	assert_null(units_parse_size("512", UNITS_SIZE, &n));
	assert_int_equal(n, 512);
	assert_null(units_parse_size("64k", "km", &n));
	assert_int_equal(n, 64 * 1024);
	assert_null(units_parse_size("10M", UNITS_SIZE, &n));
	assert_int_equal(n, 10 * 1024 * 1024);
	assert_null(units_parse_size("1G", UNITS_SIZE, &n));
	assert_int_equal(n, 1024 * 1024 * 1024);
	assert_non_null(err = units_parse_size("1g", "km", &n)); /* a unit the setting does not take */
	assert_string_equal(err, "unknown unit 'g' (use one of km)");
	g_free(err);
	assert_non_null(err = units_parse_size("10X", UNITS_SIZE, &n));
	assert_string_equal(err, "unknown unit 'X' (use one of kmg)");
	g_free(err);
	assert_non_null(err = units_parse_size("1kk", UNITS_SIZE, &n));
	g_free(err);
	assert_non_null(err = units_parse_size("1k1m", UNITS_SIZE, &n)); /* sizes are never combined */
	g_free(err);
	assert_non_null(err = units_parse_size("k", UNITS_SIZE, &n));
	assert_string_equal(err, "expected a number");
	g_free(err);
	assert_non_null(err = units_parse_size("9999999999999999g", UNITS_SIZE, &n));
	assert_string_equal(err, "number out of range");
	g_free(err);
}

/* Numbers as %g writes them, with the digits that read back exactly: never
 * rounded to another value (5.5000001 is not 5.5), never padded (2.75, not
 * 2.75000). */
static void test_format_number(void **state)
{
	(void)state;
	const struct {
		double v;
		const char *want;
	} cases[] = {{2.75, "2.75"}, {5.5, "5.5"}, {5.5000001, "5.5000001"}, {0.1, "0.1"},
	             {4, "4"},       {-3, "-3"},   {1e-05, "1e-05"},         {100, "100"}};
	char buf[G_ASCII_DTOSTR_BUF_SIZE];
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		assert_string_equal(units_format_number(buf, cases[i].v), cases[i].want);
		assert_true(g_ascii_strtod(buf, NULL) == cases[i].v);
	}
}

static void test_bools(void **state)
{
	(void)state;
	static const char *const yes[] = {"yes", "true", "on", "1", "Yes", "TRUE"};
	static const char *const no[] = {"no", "false", "off", "0", "No", "OFF"};
	static const char *const neither[] = {"", "y", "2", "maybe", "yes "};
	bool b;
	for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
		b = false;
		assert_true(units_parse_bool(yes[i], &b));
		assert_true(b);
		b = true;
		assert_true(units_parse_bool(no[i], &b));
		assert_false(b);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(neither); i++)
		assert_false(units_parse_bool(neither[i], &b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_fewer_units),
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_bools),
	    cmocka_unit_test(test_format_number),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
