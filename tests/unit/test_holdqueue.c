/*
 * test_holdqueue.c - the hold queue as `postqueue -j` prints it
 * (milter/holds/holdqueue.c): one JSON object per line, read with json-glib.
 * The lines are in Postfix's own format (showq_json), recipients array and
 * all; odd ones (fields missing or of another type, garbage, a cut-off line)
 * are skipped without losing the good lines around them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_postqueue_lines),  cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_odd_lines),        cmocka_unit_test(test_listed_twice),
	    cmocka_unit_test(test_sendmail_listing), cmocka_unit_test(test_own_host_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
