/*
 * test_mailbox.c - reading mail archives (util/mailbox.c): mbox From_ lines
 * and >From quoting, CRLF, the separator line left out, a last message cut
 * short, a 50 MB message whose header block alone is copied, Maildir and
 * .eml directories in name order, a single message file, and a scan the
 * callback stops.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailbox.h"

/* What a scan saw: each message read back whole, its head, its place. */
struct seen {
	GPtrArray *bodies; /* char *: the message as mailbox_read() gives it */
	GPtrArray *heads;  /* char *: the header block */
	GArray *lengths;   /* gsize */
	GPtrArray *paths;
	guint stop_after; /* 0: never stop */
	bool read_whole;
};

static bool collect(void *arg, const struct mailbox_entry *e)
{
	struct seen *s = arg;
	g_ptr_array_add(s->heads, g_strndup(e->head, e->head_len));
	g_array_append_val(s->lengths, e->length);
	g_ptr_array_add(s->paths, g_path_get_basename(e->path));
	if (s->read_whole) {
		GByteArray *buf = g_byte_array_new();
		char *err = NULL;
		assert_true(mailbox_read(e, buf, &err));
		assert_null(err);
		g_ptr_array_add(s->bodies, g_strndup((const char *)buf->data, buf->len));
		g_byte_array_unref(buf);
	}
	return s->stop_after == 0 || s->heads->len < s->stop_after;
}

static void seen_init(struct seen *s)
{
	memset(s, 0, sizeof *s);
	s->bodies = g_ptr_array_new_with_free_func(g_free);
	s->heads = g_ptr_array_new_with_free_func(g_free);
	s->paths = g_ptr_array_new_with_free_func(g_free);
	s->lengths = g_array_new(FALSE, FALSE, sizeof(gsize));
	s->read_whole = true;
}

static void seen_clear(struct seen *s)
{
	g_ptr_array_unref(s->bodies);
	g_ptr_array_unref(s->heads);
	g_ptr_array_unref(s->paths);
	g_array_unref(s->lengths);
}

static char *tmp_dir(void)
{
	char *dir = g_dir_make_tmp("test_mailbox-XXXXXX", NULL);
	assert_non_null(dir);
	return dir;
}

static char *write_in(const char *dir, const char *name, const char *data, gssize len)
{
	char *path = g_build_filename(dir, name, NULL);
	assert_true(g_file_set_contents(path, data, len, NULL));
	return path;
}

static void remove_tree(const char *path)
{
	char *cmd = g_strdup_printf("rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
	g_free(cmd);
}

static void scan_ok(const char *source, size_t max_head, struct seen *s)
{
	char *err = NULL;
	assert_true(mailbox_scan(source, max_head, collect, s, &err));
	assert_null(err);
}

static void test_mbox_from_lines_and_quoting(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	char *path = write_in(dir, "sent.mbox",
	                      "From alice@example.com Mon Mar  2 10:00:00 2026\n"
	                      "From: alice@example.com\nSubject: one\n\nFirst body.\n"
	                      ">From the top, again.\n>>From quoted twice.\nFromage is not a separator.\n"
	                      "\n"
	                      "From bob@example.com Mon Mar  2 11:00:00 2026\n"
	                      "From: bob@example.com\nSubject: two\n\nSecond body.\n\n",
	                      -1);
	struct seen s;
	seen_init(&s);
	scan_ok(path, 4096, &s);
	assert_int_equal(s.bodies->len, 2);
	assert_string_equal(s.bodies->pdata[0], "From: alice@example.com\nSubject: one\n\nFirst body.\n"
	                                        "From the top, again.\n>From quoted twice.\n"
	                                        "Fromage is not a separator.\n");
	assert_string_equal(s.bodies->pdata[1], "From: bob@example.com\nSubject: two\n\nSecond body.\n");
	assert_string_equal(s.heads->pdata[0], "From: alice@example.com\nSubject: one\n\n");
	assert_string_equal(s.heads->pdata[1], "From: bob@example.com\nSubject: two\n\n");
	assert_string_equal(mailbox_kind(path), "mbox");
	seen_clear(&s);
	remove_tree(dir);
	g_free(path);
	g_free(dir);
}

/* A "From " line no writer quoted, in a body after its text, is the body's:
 * messages are separated only after an empty line. */
static void test_mbox_unquoted_from_in_body(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	char *path = write_in(dir, "raw.mbox",
	                      "From a@x Mon Mar  2 10:00:00 2026\nFrom: a@x\n\nSee you at the desk.\n"
	                      "From Dan\nand the team.\n\n"
	                      "From b@x Mon Mar  2 11:00:00 2026\nFrom: b@x\n\nTwo.\n",
	                      -1);
	struct seen s;
	seen_init(&s);
	scan_ok(path, 4096, &s);
	assert_int_equal(s.bodies->len, 2);
	assert_string_equal(s.bodies->pdata[0], "From: a@x\n\nSee you at the desk.\nFrom Dan\nand the team.\n");
	assert_string_equal(s.bodies->pdata[1], "From: b@x\n\nTwo.\n");
	seen_clear(&s);
	remove_tree(dir);
	g_free(path);
	g_free(dir);
}

/* A file of a directory that cannot be read is named, and the others are
 * read all the same (as nobody when root, who reads everything: the
 * effective ids only, taken back after). */
static void test_unreadable_file_skipped(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	g_free(write_in(dir, "a.eml", "From: a@x\n\na\n", -1));
	char *bad = write_in(dir, "b.eml", "From: b@x\n\nb\n", -1);
	g_free(write_in(dir, "c.eml", "From: c@x\n\nc\n", -1));
	assert_int_equal(chmod(bad, 0), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	char *paths[] = {g_build_filename(dir, "a.eml", NULL), g_build_filename(dir, "c.eml", NULL)};
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(chmod(paths[i], 0644), 0);
	bool root = geteuid() == 0;
	if (root) {
		assert_int_equal(setegid(65534), 0);
		assert_int_equal(seteuid(65534), 0);
	}
	struct seen s;
	seen_init(&s);
	s.read_whole = false;
	char *err = NULL;
	bool ok = mailbox_scan(dir, 4096, collect, &s, &err);
	if (root) {
		assert_int_equal(seteuid(0), 0);
		assert_int_equal(setegid(0), 0);
	}
	assert_false(ok);
	assert_non_null(err);
	assert_non_null(strstr(err, "b.eml"));
	assert_int_equal(s.heads->len, 2);
	g_free(err);
	seen_clear(&s);
	for (size_t i = 0; i < 2; i++)
		g_free(paths[i]);
	g_free(bad);
	remove_tree(dir);
	g_free(dir);
}

static void test_mbox_crlf(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	char *path = write_in(dir, "crlf.mbox",
	                      "From a@x Mon Mar  2 10:00:00 2026\r\n"
	                      "From: a@x\r\nSubject: crlf\r\n\r\nBody one.\r\n>From here.\r\n\r\n"
	                      "From b@x Mon Mar  2 10:00:00 2026\r\n"
	                      "From: b@x\r\n\r\nBody two.\r\n",
	                      -1);
	struct seen s;
	seen_init(&s);
	scan_ok(path, 4096, &s);
	assert_int_equal(s.bodies->len, 2);
	assert_string_equal(s.bodies->pdata[0], "From: a@x\r\nSubject: crlf\r\n\r\nBody one.\r\nFrom here.\r\n");
	assert_string_equal(s.heads->pdata[0], "From: a@x\r\nSubject: crlf\r\n\r\n");
	assert_string_equal(s.bodies->pdata[1], "From: b@x\r\n\r\nBody two.\r\n");
	seen_clear(&s);
	remove_tree(dir);
	g_free(path);
	g_free(dir);
}

static void test_mbox_truncated_last(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	/* The file ends inside the second message's headers, without a newline. */
	char *path = write_in(dir, "cut.mbox",
	                      "From a@x Mon Mar  2 10:00:00 2026\nFrom: a@x\n\nWhole.\n\n"
	                      "From b@x Mon Mar  2 10:00:00 2026\nFrom: b@x\nSubj",
	                      -1);
	struct seen s;
	seen_init(&s);
	scan_ok(path, 4096, &s);
	assert_int_equal(s.bodies->len, 2);
	assert_string_equal(s.bodies->pdata[0], "From: a@x\n\nWhole.\n");
	assert_string_equal(s.bodies->pdata[1], "From: b@x\nSubj");
	assert_string_equal(s.heads->pdata[1], "From: b@x\nSubj");
	/* A From_ line and nothing else: an empty message, still named. */
	char *empty = write_in(dir, "empty.mbox", "From a@x Mon Mar  2 10:00:00 2026\n", -1);
	struct seen e;
	seen_init(&e);
	scan_ok(empty, 4096, &e);
	assert_int_equal(e.bodies->len, 1);
	assert_int_equal(g_array_index(e.lengths, gsize, 0), 0);
	seen_clear(&e);
	seen_clear(&s);
	remove_tree(dir);
	g_free(path);
	g_free(empty);
	g_free(dir);
}

/* A 50 MB message, one of its parts a single line with no newline: the scan
 * copies its header block only (capped) and gives its true length; the
 * messages around it are whole. */
static void test_mbox_huge_message(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	size_t big = 50u * 1024 * 1024;
	GString *mbox = g_string_sized_new(big + 4096);
	g_string_append(mbox, "From a@x Mon Mar  2 10:00:00 2026\nFrom: a@x\n\nSmall one.\n\n");
	g_string_append(mbox, "From b@x Mon Mar  2 10:00:00 2026\n");
	size_t huge_start = mbox->len;
	g_string_append(mbox, "From: b@x\nX-Long: ");
	for (size_t i = 0; i < 10000; i++)
		g_string_append_c(mbox, 'h'); /* a header longer than the cap */
	g_string_append(mbox, "\n\n");
	size_t fill = big - (mbox->len - huge_start) - 1;
	size_t at = mbox->len;
	g_string_set_size(mbox, at + fill);
	memset(mbox->str + at, 'A', fill);
	g_string_append(mbox, "\n\nFrom c@x Mon Mar  2 10:00:00 2026\nFrom: c@x\n\nLast one.\n");
	char *path = write_in(dir, "huge.mbox", mbox->str, (gssize)mbox->len);
	g_string_free(mbox, TRUE);

	struct seen s;
	seen_init(&s);
	s.read_whole = false;
	scan_ok(path, 8192, &s);
	assert_int_equal(s.heads->len, 3);
	assert_int_equal(g_array_index(s.lengths, gsize, 1), big);
	assert_int_equal(strlen(s.heads->pdata[1]), 8192);
	assert_true(g_str_has_prefix(s.heads->pdata[1], "From: b@x\nX-Long: hhh"));
	assert_string_equal(s.heads->pdata[2], "From: c@x\n\n");
	assert_int_equal(g_array_index(s.lengths, gsize, 2), strlen("From: c@x\n\nLast one.\n"));
	seen_clear(&s);
	remove_tree(dir);
	g_free(path);
	g_free(dir);
}

static void test_maildir_and_directory(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	char *md = g_build_filename(dir, "Maildir", NULL);
	char *sub[] = {"cur", "new", "tmp"};
	for (size_t i = 0; i < 3; i++) {
		char *p = g_build_filename(md, sub[i], NULL);
		assert_int_equal(g_mkdir_with_parents(p, 0700), 0);
		g_free(p);
	}
	char *cur = g_build_filename(md, "cur", NULL), *new = g_build_filename(md, "new", NULL);
	char *tmp = g_build_filename(md, "tmp", NULL);
	g_free(write_in(new, "1700000000.a:2,", "From: new@x\n\nnew\n", -1));
	g_free(write_in(cur, "1700000002.b:2,S", "From: cur2@x\n\ncur2\n", -1));
	g_free(write_in(cur, "1700000001.c:2,S", "From: cur1@x\r\n\r\ncur1\r\n", -1));
	g_free(write_in(tmp, "1700000003.d", "From: tmp@x\n\nbeing delivered\n", -1));
	struct seen s;
	seen_init(&s);
	scan_ok(md, 4096, &s);
	assert_int_equal(s.bodies->len, 3); /* tmp/ is not read */
	assert_string_equal(s.paths->pdata[0], "1700000001.c:2,S");
	assert_string_equal(s.paths->pdata[1], "1700000002.b:2,S");
	assert_string_equal(s.paths->pdata[2], "1700000000.a:2,");
	assert_string_equal(s.heads->pdata[0], "From: cur1@x\r\n\r\n");
	assert_string_equal(s.bodies->pdata[0], "From: cur1@x\r\n\r\ncur1\r\n");
	assert_string_equal(mailbox_kind(md), "maildir");
	seen_clear(&s);
	/* without its empty new/ and tmp/ (archive tools drop them): still one */
	remove_tree(tmp);
	char *gone = g_build_filename(new, "1700000000.a:2,", NULL);
	assert_int_equal(g_unlink(gone), 0);
	g_free(gone);
	assert_int_equal(g_rmdir(new), 0);
	seen_init(&s);
	scan_ok(md, 4096, &s);
	assert_int_equal(s.bodies->len, 2);
	assert_string_equal(mailbox_kind(md), "maildir");
	seen_clear(&s);

	char *emls = g_build_filename(dir, "emls", NULL);
	assert_int_equal(g_mkdir_with_parents(emls, 0700), 0);
	g_free(write_in(emls, "b.eml", "From: b@x\n\nb\n", -1));
	g_free(write_in(emls, "a.eml", "From: a@x\n\na\n", -1));
	g_free(write_in(emls, "notes.txt", "not mail\n", -1));
	g_free(write_in(emls, ".hidden.eml", "From: h@x\n\nh\n", -1));
	seen_init(&s);
	scan_ok(emls, 4096, &s);
	assert_int_equal(s.bodies->len, 2);
	assert_string_equal(s.paths->pdata[0], "a.eml");
	assert_string_equal(s.bodies->pdata[1], "From: b@x\n\nb\n");
	assert_string_equal(mailbox_kind(emls), "directory");
	seen_clear(&s);
	/* with a subdirectory called "new": still a directory of .eml files */
	char *sub_new = g_build_filename(emls, "new", NULL);
	assert_int_equal(g_mkdir(sub_new, 0700), 0);
	g_free(sub_new);
	seen_init(&s);
	scan_ok(emls, 4096, &s);
	assert_int_equal(s.bodies->len, 2);
	assert_string_equal(mailbox_kind(emls), "directory");
	seen_clear(&s);

	/* A single message file; "From" quoting is not undone outside an mbox. */
	char *one = write_in(dir, "one.eml", "From: o@x\nSubject: s\n\n>From the desk of o.\n", -1);
	seen_init(&s);
	scan_ok(one, 4096, &s);
	assert_int_equal(s.bodies->len, 1);
	assert_string_equal(s.heads->pdata[0], "From: o@x\nSubject: s\n\n");
	assert_string_equal(s.bodies->pdata[0], "From: o@x\nSubject: s\n\n>From the desk of o.\n");
	assert_string_equal(mailbox_kind(one), "message");
	seen_clear(&s);
	g_free(one);
	g_free(emls);
	g_free(cur);
	g_free(new);
	g_free(tmp);
	remove_tree(dir);
	g_free(md);
	g_free(dir);
}

static void test_stop_and_errors(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	GString *mbox = g_string_new(NULL);
	for (int i = 0; i < 5; i++)
		g_string_append_printf(mbox, "From a@x Mon Mar  2 10:00:00 2026\nFrom: m%d@x\n\nbody %d\n\n", i, i);
	char *path = write_in(dir, "five.mbox", mbox->str, -1);
	g_string_free(mbox, TRUE);
	struct seen s;
	seen_init(&s);
	s.stop_after = 2;
	scan_ok(path, 4096, &s);
	assert_int_equal(s.heads->len, 2);
	seen_clear(&s);

	char *err = NULL;
	seen_init(&s);
	assert_false(mailbox_scan("/nonexistent/mbox", 4096, collect, &s, &err));
	assert_non_null(strstr(err, "/nonexistent/mbox"));
	g_free(err);
	assert_null(mailbox_kind("/nonexistent/mbox"));
	/* A message that is no longer all there. */
	struct mailbox_entry e = {.path = path, .in_mbox = true, .offset = 10, .length = 1u << 20};
	GByteArray *buf = g_byte_array_new();
	err = NULL;
	assert_false(mailbox_read(&e, buf, &err));
	assert_non_null(strstr(err, "cut short"));
	g_free(err);
	g_byte_array_unref(buf);
	seen_clear(&s);
	remove_tree(dir);
	g_free(path);
	g_free(dir);
}

static void test_unquote_table(void **state)
{
	(void)state;
	static const struct {
		const char *name, *in, *out;
	} cases[] = {
	    {"one level", ">From x\n", "From x\n"},
	    {"two levels", ">>From x\n", ">From x\n"},
	    {"not at line start", "a >From x\n", "a >From x\n"},
	    {"no space after From", ">Fromage\n", ">Fromage\n"},
	    {"plain quote", "> From x\n", "> From x\n"},
	    {"last line without newline", "a\n>From x", "a\nFrom x"},
	    {"crlf", "a\r\n>From x\r\n", "a\r\nFrom x\r\n"},
	    {"empty", "", ""},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *buf = g_strdup(cases[i].in);
		size_t len = strlen(buf);
		mailbox_unquote(buf, &len);
		if (len != strlen(cases[i].out) || memcmp(buf, cases[i].out, len) != 0)
			fail_msg("%s: got \"%.*s\"", cases[i].name, (int)len, buf);
		g_free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mbox_from_lines_and_quoting),
	    cmocka_unit_test(test_mbox_crlf),
	    cmocka_unit_test(test_mbox_truncated_last),
	    cmocka_unit_test(test_mbox_huge_message),
	    cmocka_unit_test(test_maildir_and_directory),
	    cmocka_unit_test(test_mbox_unquoted_from_in_body),
	    cmocka_unit_test(test_unreadable_file_skipped),
	    cmocka_unit_test(test_stop_and_errors),
	    cmocka_unit_test(test_unquote_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
