/*
 * test_holdqueue.c - the hold queue as `postqueue -j` prints it
 * (milter/holds/holdqueue.c): one JSON object per line, read with json-glib.
 * The lines are in Postfix's own format (showq_json), recipients array and
 * all; odd ones (fields missing or of another type, garbage, a cut-off line)
 * are skipped without losing the good lines around them.
 *
 * And the running of MTA commands (holdqueue_run): all they print captured,
 * and one that hangs stopped after its timeout, reaped, its process group
 * with it, with an error that says so (stand-in scripts that sleep).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>

#include "holdqueue.h"
#include "store.h"

/* Three messages as Postfix 3.7 lists them: held, deferred with two
 * recipients and their delay reasons, active. */
static const char postqueue_j[] =
    "{\"queue_name\": \"hold\", \"queue_id\": \"4Nx1Yq0Hb5z9sKf\", \"arrival_time\": 1772618400, "
    "\"message_size\": 1873, \"forced_expire\": false, \"sender\": \"sam@acme.example\", "
    "\"recipients\": [{\"address\": \"dana@client.example\"}]}\n"
    "{\"queue_name\": \"deferred\", \"queue_id\": \"4Nx1Z20Qk7z9sKg\", \"arrival_time\": 1772618460, "
    "\"message_size\": 912, \"forced_expire\": false, \"sender\": \"lee@acme.example\", "
    "\"recipients\": [{\"address\": \"a@client.example\", \"delay_reason\": \"connect to "
    "mx.client.example[192.0.2.1]:25: Connection refused\"}, {\"address\": \"b@client.example\", "
    "\"delay_reason\": \"host mx.client.example[192.0.2.1] said: 451 4.7.1 \\\"queue_id\\\": try "
    "again later\"}]}\n"
    "{\"queue_name\": \"active\", \"queue_id\": \"4Nx1Z65Lm2z9sKh\", \"arrival_time\": 1772618470, "
    "\"message_size\": 400, \"forced_expire\": false, \"sender\": \"\", \"recipients\": "
    "[{\"address\": \"postmaster@acme.example\"}]}\n";

static void test_postqueue_lines(void **state)
{
	(void)state;
	GHashTable *q = holdqueue_parse(postqueue_j);
	assert_int_equal(g_hash_table_size(q), 3);
	assert_string_equal(g_hash_table_lookup(q, "4Nx1Yq0Hb5z9sKf"), "hold");
	assert_string_equal(g_hash_table_lookup(q, "4Nx1Z20Qk7z9sKg"), "deferred");
	assert_string_equal(g_hash_table_lookup(q, "4Nx1Z65Lm2z9sKh"), "active");
	g_hash_table_unref(q);
}

static void test_empty(void **state)
{
	(void)state;
	GHashTable *q = holdqueue_parse("");
	assert_non_null(q);
	assert_int_equal(g_hash_table_size(q), 0);
	g_hash_table_unref(q);
}

/* Odd lines between two good ones: each is skipped, the good ones kept. */
static void test_odd_lines(void **state)
{
	(void)state;
	const char *text =
	    "{\"queue_name\": \"hold\", \"queue_id\": \"AAAA1\", \"recipients\": []}\n"
	    "{\"queue_name\": \"hold\", \"recipients\": [{\"address\": \"x@y\"}]}\n" /* no queue_id */
	    "{\"queue_id\": \"BBBB2\"}\n"                                            /* no queue_name */
	    "{\"queue_name\": \"hold\", \"queue_id\": 12345}\n"                      /* not a string */
	    "{\"queue_name\": null, \"queue_id\": \"CCCC3\"}\n"                      /* null */
	    "{\"queue_name\": \"hold\", \"queue_id\": [\"DDDD4\"]}\n"                /* an array */
	    "postqueue: warning: Mail system is down -- accessing queue directly\n"  /* garbage */
	    "[\"hold\", \"EEEE5\"]\n"                                                /* not an object */
	    "{\"queue_name\": \"hold\", \"queue_id\": \"FFFF6\", \"recip\n"          /* cut off */
	    "\r\n   \n"
	    "{ \"queue_id\" : \"GGGG7\" , \"queue_name\" : \"hold\" }\r\n" /* other order, blanks, CRLF */
	    "{\"queue_name\": \"hold\", \"queue_id\": \"HH\\u0048H8\"}";   /* an escape; no newline */
	GHashTable *q = holdqueue_parse(text);
	assert_int_equal(g_hash_table_size(q), 3);
	assert_string_equal(g_hash_table_lookup(q, "AAAA1"), "hold");
	assert_string_equal(g_hash_table_lookup(q, "GGGG7"), "hold");
	assert_string_equal(g_hash_table_lookup(q, "HHHH8"), "hold");
	g_hash_table_unref(q);
}

/* A queue id listed twice (a message moved between queues while postqueue
 * ran): the later line wins. */
static void test_listed_twice(void **state)
{
	(void)state;
	GHashTable *q = holdqueue_parse("{\"queue_name\": \"incoming\", \"queue_id\": \"ID1\"}\n"
	                                "{\"queue_name\": \"hold\", \"queue_id\": \"ID1\"}\n");
	assert_int_equal(g_hash_table_size(q), 1);
	assert_string_equal(g_hash_table_lookup(q, "ID1"), "hold");
	g_hash_table_unref(q);
}

/* Sendmail's `-bp` listing: each entry's line starts with its queue id
 * (marked "*", "X" or "-"), the headings, reasons, recipients and totals
 * are not entries. */
static void test_sendmail_listing(void **state)
{
	(void)state;
	static const char bp[] =
	    "\t\t/var/spool/mqueue (3 requests)\n"
	    "-----Q-ID----- --Size-- -----Q-Time----- ------------Sender/Recipient-----------\n"
	    "6B4CO4jo026596      512 Fri Dec  4 12:24 <sam@acme.example>\n"
	    "     QUARANTINE: apology-milter: held for review\n"
	    "                                         <dana@client.example>\n"
	    "6B4CQ7bo026696*     733 Fri Dec  4 12:26 <lee@acme.example>\n"
	    "6B4CQ7G2026735X\t  733 Fri Dec  4 12:26 <lee@acme.example>\n"
	    "                 (Deferred: Connection refused by mx.client.example.)\n"
	    "short      12 Fri Dec  4 12:26 <x@acme.example>\n"
	    "\t\tTotal requests: 3\n";
	GHashTable *q = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	holdqueue_parse_sendmail(q, bp, "hold");
	assert_int_equal(g_hash_table_size(q), 3);
	assert_string_equal(g_hash_table_lookup(q, "6B4CO4jo026596"), "hold");
	assert_string_equal(g_hash_table_lookup(q, "6B4CQ7bo026696"), "hold");
	assert_string_equal(g_hash_table_lookup(q, "6B4CQ7G2026735"), "hold");
	holdqueue_parse_sendmail(q, "", "deferred");
	assert_int_equal(g_hash_table_size(q), 3);
	g_hash_table_unref(q);
}

static struct store_quarantine *held_on(const char *queue_id, const char *host)
{
	struct store_quarantine *q = g_new0(struct store_quarantine, 1);
	q->queue_id = g_strdup(queue_id);
	q->state = g_strdup("held");
	q->host = g_strdup(host);
	return q;
}

/* Two hosts share a store: each compares its own hold queue with its own
 * records.  Before, mx-a counted mx-b's holds as "no longer held", and a
 * queue id of mx-b's could pass for a record of a message held on mx-a. */
static void test_own_host_only(void **state)
{
	(void)state;
	GHashTable *queue = holdqueue_parse("{\"queue_name\": \"hold\", \"queue_id\": \"AAA1\"}\n"
	                                    "{\"queue_name\": \"hold\", \"queue_id\": \"BBB2\"}\n");
	GPtrArray *held = g_ptr_array_new_with_free_func((GDestroyNotify)store_quarantine_free);
	g_ptr_array_add(held, held_on("AAA1", "mx-a")); /* ours, held */
	g_ptr_array_add(held, held_on("OLD0", NULL));   /* from before hosts: ours, gone */
	g_ptr_array_add(held, held_on("BBB2", "mx-b")); /* mx-b's: its id is also one of ours */
	g_ptr_array_add(held, held_on("CCC3", "mx-b")); /* mx-b's, not in our queue */
	holdqueue_keep_host(held, "mx-a");
	assert_int_equal(held->len, 2);
	struct holdqueue_counts c;
	GPtrArray *unknown = g_ptr_array_new();
	holdqueue_reconcile(queue, held, NULL, NULL, &c, unknown, NULL);
	assert_int_equal(c.held, 2);
	assert_int_equal(c.recorded, 1);
	assert_int_equal(c.gone, 1); /* OLD0 only */
	assert_int_equal(c.unknown, 1);
	assert_string_equal(unknown->pdata[0], "BBB2");
	g_ptr_array_unref(unknown);
	g_ptr_array_unref(held);
	g_hash_table_unref(queue);
}

/* ---- holdqueue_run ------------------------------------------------------ */

/* A temporary directory with an executable shell script NAME of BODY; the
 * caller frees *DIR and the path. */
static char *script(char **dir, const char *name, const char *body)
{
	if (*dir == NULL)
		*dir = g_dir_make_tmp("test_holdqueue-XXXXXX", NULL);
	char *path = g_build_filename(*dir, name, NULL);
	char *text = g_strdup_printf("#!/bin/sh\n%s\n", body);
	assert_true(g_file_set_contents(path, text, -1, NULL));
	assert_int_equal(g_chmod(path, 0755), 0);
	g_free(text);
	return path;
}

/* The pid a stand-in wrote to DIR/NAME, once it has (at most 10 s). */
static pid_t pid_in(const char *dir, const char *name)
{
	char *path = g_build_filename(dir, name, NULL), *text = NULL;
	for (int i = 0; i < 200 && !g_file_get_contents(path, &text, NULL, NULL); i++)
		g_usleep(G_USEC_PER_SEC / 20);
	assert_non_null(text);
	pid_t pid = (pid_t)g_ascii_strtoll(text, NULL, 10);
	assert_true(pid > 1);
	g_free(text);
	g_unlink(path);
	g_free(path);
	return pid;
}

/* Whether process PID still runs (a zombie does not; an orphan the system
 * has not reaped yet may be one).  Asked for up to 5 s, as a killed process
 * takes a moment to die. */
static bool still_running(pid_t pid)
{
	for (int i = 0; i < 100; i++) {
		char *path = g_strdup_printf("/proc/%d/stat", (int)pid), *stat = NULL;
		bool exists = g_file_get_contents(path, &stat, NULL, NULL);
		const char *paren = exists ? strrchr(stat, ')') : NULL;
		bool running = paren != NULL && paren[1] == ' ' && paren[2] != 'Z';
		g_free(stat);
		g_free(path);
		if (!running)
			return false;
		g_usleep(G_USEC_PER_SEC / 20);
	}
	return true;
}

/* Remove DIR and the stand-ins' files in it, and free it. */
static void remove_dir(char *dir)
{
	char *rm[] = {"/bin/rm", "-rf", dir, NULL}, *err = NULL;
	if (!holdqueue_run(rm, 10, NULL, NULL, &err))
		fail_msg("%s", err);
	g_free(dir);
}

/* What a command prints comes back whole, as before the timeout: a long
 * stdout byte for byte, stderr, and a failure with its stderr as the error. */
static void test_run_output(void **state)
{
	(void)state;
	char *out = NULL, *errs = NULL, *err = NULL;
	char *argv[] = {"/bin/sh", "-c",
	                "i=0; while [ $i -lt 20000 ]; do echo \"line $i of the listing\"; i=$((i+1)); done;"
	                " echo to-stderr >&2",
	                NULL};
	assert_true(holdqueue_run(argv, 5, &out, &errs, &err));
	assert_null(err);
	GString *want = g_string_new(NULL);
	for (int i = 0; i < 20000; i++)
		g_string_append_printf(want, "line %d of the listing\n", i);
	assert_int_equal(strlen(out), want->len);
	assert_string_equal(out, want->str);
	assert_string_equal(errs, "to-stderr\n");
	g_string_free(want, TRUE);
	g_free(out);
	g_free(errs);
	char *fails[] = {"/bin/sh", "-c", "echo partial; echo ' no such queue ' >&2; exit 3", NULL};
	assert_false(holdqueue_run(fails, 5, &out, NULL, &err));
	assert_string_equal(out, "partial\n");
	assert_string_equal(err, "/bin/sh: no such queue");
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);
	char *missing[] = {"/nonexistent/postqueue", "-j", NULL};
	assert_false(holdqueue_run(missing, 5, &out, NULL, &err));
	assert_true(g_str_has_prefix(err, "/nonexistent/postqueue: "));
	g_free(err);
	/* stdin is /dev/null: a command that reads it does not wait */
	char *reads[] = {"/bin/cat", NULL};
	assert_true(holdqueue_run(reads, 5, &out, NULL, &err));
	assert_string_equal(out, "");
	g_free(out);
}

/* A helper that never returns: stopped after its timeout (1 s here; the
 * bound asserted is loose, for a loaded machine), false with the error,
 * and reaped: no zombie, nothing left running. */
static void test_run_timeout(void **state)
{
	(void)state;
	char *dir = g_dir_make_tmp("test_holdqueue-XXXXXX", NULL);
	char *body = g_strdup_printf("echo $$ >'%s/pid.tmp' && mv '%s/pid.tmp' '%s/pid'; exec sleep 600", dir,
	                             dir, dir);
	char *hang = script(&dir, "apology-postsuper", body);
	char *argv[] = {hang, "release", "ABCDEF123", "token", NULL};
	char *out = NULL, *err = NULL;
	gint64 start = g_get_monotonic_time();
	assert_false(holdqueue_run(argv, 1, &out, NULL, &err));
	gint64 took = g_get_monotonic_time() - start;
	assert_true(took < 30 * G_USEC_PER_SEC);
	char *want = g_strdup_printf("%s: did not finish within 1 s; stopped", hang);
	assert_string_equal(err, want);
	g_free(want);
	g_free(err);
	g_free(out);
	pid_t pid = pid_in(dir, "pid");
	assert_int_equal(kill(pid, 0), -1); /* reaped: not even a zombie */
	assert_int_equal(errno, ESRCH);
	g_free(hang);
	g_free(body);
	remove_dir(dir);
}

/* One that ignores SIGTERM and leaves a child of its own holding its
 * output: both killed once the grace is over, and the call returns. */
static void test_run_stubborn(void **state)
{
	(void)state;
	char *dir = g_dir_make_tmp("test_holdqueue-XXXXXX", NULL);
	char *body =
	    g_strdup_printf("trap '' TERM; sleep 600 & echo $! >'%s/child.tmp'; echo $$ >'%s/pid.tmp';"
	                    " mv '%s/child.tmp' '%s/child'; mv '%s/pid.tmp' '%s/pid'; wait",
	                    dir, dir, dir, dir, dir, dir);
	char *hang = script(&dir, "postqueue", body);
	char *argv[] = {hang, "-j", NULL};
	char *err = NULL;
	assert_false(holdqueue_run(argv, 1, NULL, NULL, &err));
	assert_non_null(strstr(err, "did not finish within 1 s; stopped"));
	g_free(err);
	pid_t pid = pid_in(dir, "pid"), child = pid_in(dir, "child");
	assert_int_equal(kill(pid, 0), -1);
	assert_false(still_running(child));
	g_free(hang);
	g_free(body);
	remove_dir(dir);
}

/* One of the review page's threads: 20 listings, each printing its own
 * line, one after the other. */
static gpointer list_often(gpointer data)
{
	int n = GPOINTER_TO_INT(data), good = 0;
	char *line = g_strdup_printf("echo thread %d", n), *want = g_strdup_printf("thread %d\n", n);
	char *argv[] = {"/bin/sh", "-c", line, NULL};
	for (int i = 0; i < 20; i++) {
		char *out = NULL, *err = NULL;
		good += holdqueue_run(argv, 10, &out, NULL, &err) && strcmp(out, want) == 0;
		g_free(out);
		g_free(err);
	}
	g_free(line);
	g_free(want);
	return GINT_TO_POINTER(good);
}

/* The review page's threads run commands at once, one of them hanging: each
 * gets its own output and exit, the hanging one its timeout, and none
 * waits on another's. */
static void test_run_threads(void **state)
{
	(void)state;
	GThread *threads[4];
	for (int i = 0; i < 4; i++)
		threads[i] = g_thread_new("lister", list_often, GINT_TO_POINTER(i));
	char *hang[] = {"/bin/sh", "-c", "exec sleep 600", NULL}, *err = NULL;
	assert_false(holdqueue_run(hang, 1, NULL, NULL, &err));
	assert_string_equal(err, "/bin/sh: did not finish within 1 s; stopped");
	g_free(err);
	for (int i = 0; i < 4; i++)
		assert_int_equal(GPOINTER_TO_INT(g_thread_join(threads[i])), 20);
}

/* The queue listing hangs (a stand-in sendmail -bp): no queue, and why. */
static void test_read_timeout(void **state)
{
	(void)state;
	char *dir = NULL;
	char *sendmail = script(&dir, "sendmail", "exec sleep 600");
	struct holdqueue_mta mta = {
	    .sendmail = sendmail, .sendmail_cf = "/etc/mail/sendmail.cf", .timeout = 1};
	char *err = NULL;
	assert_null(holdqueue_read(&mta, &err));
	char *want = g_strdup_printf("%s: did not finish within 1 s; stopped", sendmail);
	assert_string_equal(err, want);
	g_free(want);
	g_free(err);
	g_free(sendmail);
	remove_dir(dir);
}

/* Ctrl-C in a command-line tool (holdqueue_catch_interrupts()): the
 * command under way (a stand-in that signals its parent, as the terminal
 * would, and then hangs) is stopped at once, not after its 60 s: false
 * with "interrupted; stopped", and reaped; a later command is not even
 * started, but a queue listing is.  Last of all: the signals stay caught for the rest of the
 * process, and holdqueue_run() refuses from now on. */
static void test_run_interrupted(void **state)
{
	(void)state;
	char *dir = g_dir_make_tmp("test_holdqueue-XXXXXX", NULL);
	char *body = g_strdup_printf("echo $$ >'%s/pid.tmp' && mv '%s/pid.tmp' '%s/pid'; kill -INT $PPID;"
	                             " exec sleep 600",
	                             dir, dir, dir);
	char *hang = script(&dir, "apology-postsuper", body);
	char *argv[] = {hang, "release", "ABCDEF123", "token", NULL}, *err = NULL;
	holdqueue_catch_interrupts();
	assert_int_equal(holdqueue_interrupted(), 0);
	assert_false(holdqueue_run(argv, 60, NULL, NULL, &err));
	char *want = g_strdup_printf("%s: interrupted; stopped", hang);
	assert_string_equal(err, want);
	g_clear_pointer(&err, g_free);
	assert_int_equal(holdqueue_interrupted(), SIGINT);
	pid_t pid = pid_in(dir, "pid");
	assert_int_equal(kill(pid, 0), -1); /* stopped and reaped */
	assert_int_equal(errno, ESRCH);

	char *ran = g_build_filename(dir, "ran", NULL), *cmd = g_strdup_printf("echo ran >'%s'", ran);
	char *later[] = {"/bin/sh", "-c", cmd, NULL};
	assert_false(holdqueue_run(later, 5, NULL, NULL, &err));
	assert_string_equal(err, "/bin/sh: interrupted");
	assert_false(g_file_test(ran, G_FILE_TEST_EXISTS));
	g_clear_pointer(&err, g_free);
	/* a queue listing still runs: the caller checks what the stopped
	 * command did */
	char *listing[] = {"/bin/sh", "-c", "echo listed", NULL}, *out = NULL;
	assert_true(holdqueue_run_how(listing, 5, HOLDQUEUE_SAFE, &out, NULL, NULL, &err));
	assert_string_equal(out, "listed\n");
	g_free(out);
	g_free(cmd);
	g_free(ran);
	g_free(want);
	g_unlink(hang); /* not remove_dir(): no command runs any more */
	g_rmdir(dir);
	g_free(hang);
	g_free(body);
	g_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_postqueue_lines),  cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_odd_lines),        cmocka_unit_test(test_listed_twice),
	    cmocka_unit_test(test_sendmail_listing), cmocka_unit_test(test_own_host_only),
	    cmocka_unit_test(test_run_output),       cmocka_unit_test(test_run_timeout),
	    cmocka_unit_test(test_run_stubborn),     cmocka_unit_test(test_read_timeout),
	    cmocka_unit_test(test_run_threads),
	    cmocka_unit_test(test_run_interrupted), /* last: it leaves the signals caught */
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
