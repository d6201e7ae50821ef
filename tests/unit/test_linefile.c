/*
 * test_linefile.c - one record per line: blank lines and '#' comments are
 * skipped, line numbers are the file's, CR and trailing blanks go, a
 * callback can stop the reading, an unreadable file is an error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "linefile.h"

struct seen {
	GString *text;
	int stop_at; /* line number at which to stop; 0 = never */
};

static bool record(void *arg, char *line, int lineno)
{
	struct seen *s = arg;
	g_string_append_printf(s->text, "%d[%s]", lineno, line);
	return lineno != s->stop_at;
}

static char *write_file(const char *text)
{
	char *path = NULL;
	int fd = g_file_open_tmp("test_linefile-XXXXXX", &path, NULL);
	assert_true(fd >= 0);
	close(fd);
	assert_true(g_file_set_contents(path, text, -1, NULL));
	return path;
}

static void test_records_and_numbers(void **state)
{
	(void)state;
	char *path = write_file("# a comment\n\nalice:admin:h1\r\n   # indented comment\n  \t\n  bob: x  \nlast");
	struct seen s = {g_string_new(NULL), 0};
	char *err = NULL;
	assert_true(linefile_each(path, record, &s, &err));
	assert_null(err);
	assert_string_equal(s.text->str, "3[alice:admin:h1]6[  bob: x]7[last]");
	g_string_free(s.text, TRUE);
	g_unlink(path);
	g_free(path);
}

static void test_stop(void **state)
{
	(void)state;
	char *path = write_file("one\ntwo\nthree\n");
	struct seen s = {g_string_new(NULL), 2};
	char *err = NULL;
	assert_false(linefile_each(path, record, &s, &err));
	assert_null(err); /* the callback reports its own errors */
	assert_string_equal(s.text->str, "1[one]2[two]");
	g_string_free(s.text, TRUE);
	g_unlink(path);
	g_free(path);
}

static void test_unreadable(void **state)
{
	(void)state;
	struct seen s = {g_string_new(NULL), 0};
	char *err = NULL;
	assert_false(linefile_each("/nonexistent/linefile", record, &s, &err));
	assert_non_null(err);
	assert_non_null(strstr(err, "/nonexistent/linefile"));
	assert_int_equal(s.text->len, 0);
	g_free(err);
	g_string_free(s.text, TRUE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_records_and_numbers),
	    cmocka_unit_test(test_stop),
	    cmocka_unit_test(test_unreadable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
