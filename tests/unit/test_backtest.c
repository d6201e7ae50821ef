/*
 * test_backtest.c - `apologyctl backtest` on small archives written here:
 * thread matching within the archive (a reply answers the newest complaint
 * it refers to, never an inbound message that is no complaint nor one of our
 * own replies; mail to colleagues only is not judged), the archive's own apology history (same sender and
 * client, earlier only, the same complaint left out), the same results for any number of workers, and the
 * policy diff (--against: a rule disabled loses exactly its findings).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backtest.h"
#include "ctl.h"
#include "policy.h"
#include "policy_fixture.h"

#define COMPLAINT_TEXT                                                                                       \
	"This is the third time the shipment arrived with the wrong items and nobody has called us. We "     \
	"are furious and will cancel the contract.\n"
#define APOLOGY_TEXT                                                                                         \
	"I'm so sorry the order was wrong again; that was our mistake. I've sent the right one today, and "  \
	"we now check every order before it leaves so it won't happen again. I'll call you at 2 pm.\n"

/* One message of a test archive. */
struct msg {
	const char *id, *from, *to, *date, *refs, *body;
};

static void append_message(GString *mbox, const struct msg *m)
{
	g_string_append_printf(mbox,
	                       "From %s Mon Mar  2 10:00:00 2026\nFrom: <%s>\nTo: <%s>\nSubject: Order\n"
	                       "Date: %s\nMessage-ID: <%s>\n",
	                       m->from, m->from, m->to, m->date, m->id);
	if (m->refs)
		g_string_append_printf(mbox, "In-Reply-To: %s\nReferences: %s\n", m->refs, m->refs);
	g_string_append_printf(mbox, "\n%s\n", m->body);
}

struct archive {
	char *dir, *mbox, *report;
	char *results; /* results.jsonl */
	char *summary; /* what backtest printed */
};

/* Run backtest with ARGS (NULL-terminated) over MSGS written as one mbox. */
static void run(struct archive *a, const struct msg *msgs, size_t n, const char *const *args)
{
	a->dir = g_dir_make_tmp("test_backtest-XXXXXX", NULL);
	assert_non_null(a->dir);
	GString *mbox = g_string_new(NULL);
	for (size_t i = 0; i < n; i++)
		append_message(mbox, &msgs[i]);
	a->mbox = g_build_filename(a->dir, "sent.mbox", NULL);
	a->report = g_build_filename(a->dir, "report", NULL);
	assert_true(g_file_set_contents(a->mbox, mbox->str, -1, NULL));
	g_string_free(mbox, TRUE);

	GPtrArray *argv = g_ptr_array_new();
	const char *fixed[] = {"backtest", "--policy",         "policies/default.yaml",
	                       "--sender", "*@agency.example", "--report",
	                       a->report};
	for (size_t i = 0; i < G_N_ELEMENTS(fixed); i++)
		g_ptr_array_add(argv, (gpointer)fixed[i]);
	for (size_t i = 0; args && args[i]; i++)
		g_ptr_array_add(argv, (gpointer)args[i]);
	g_ptr_array_add(argv, a->mbox);
	char *out = g_build_filename(a->dir, "summary.txt", NULL);
	fflush(stdout);
	int saved = dup(STDOUT_FILENO);
	assert_non_null(freopen(out, "w", stdout));
	int rc = backtest_main((int)argv->len, (char **)argv->pdata);
	fflush(stdout);
	assert_true(dup2(saved, STDOUT_FILENO) >= 0);
	close(saved);
	assert_int_equal(rc, 0);
	assert_true(g_file_get_contents(out, &a->summary, NULL, NULL));
	char *results = g_build_filename(a->report, "results.jsonl", NULL);
	assert_true(g_file_get_contents(results, &a->results, NULL, NULL));
	g_free(results);
	g_free(out);
	g_ptr_array_free(argv, TRUE);
}

static void archive_clear(struct archive *a)
{
	char *cmd = g_strdup_printf("rm -rf '%s'", a->dir);
	assert_int_equal(system(cmd), 0);
	g_free(cmd);
	g_free(a->dir);
	g_free(a->mbox);
	g_free(a->report);
	g_free(a->results);
	g_free(a->summary);
}

/* The results.jsonl line of message ID (its "message_id":"ID"); owned by A. */
static const char *result(const struct archive *a, const char *id)
{
	char *key = g_strdup_printf("\"message_id\":\"%s\"", id);
	const char *at = strstr(a->results, key);
	g_free(key);
	if (at == NULL)
		fail_msg("no result for %s", id);
	while (at > a->results && at[-1] != '\n')
		at--;
	return at;
}

/* Does the result line of ID contain TEXT? */
static bool result_has(const struct archive *a, const char *id, const char *text)
{
	const char *line = result(a, id), *end = strchr(line, '\n');
	char *copy = g_strndup(line, end ? (size_t)(end - line) : strlen(line));
	bool yes = strstr(copy, text) != NULL;
	g_free(copy);
	return yes;
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_thread_matching(void **state)
{
	(void)state;
	const struct msg msgs[] = {
	    /* our reply first in the file, its complaints after it: matched all the same */
	    {"r-both@agency.example", "ann@agency.example", "c@client.example",
	     "Tue, 03 Mar 2026 12:00:00 +0000", "<c-old@client.example> <c-new@client.example>",
	     APOLOGY_TEXT},
	    {"c-old@client.example", "c@client.example", "ann@agency.example",
	     "Mon, 02 Mar 2026 09:00:00 +0000", NULL, COMPLAINT_TEXT},
	    {"c-new@client.example", "c@client.example", "ann@agency.example",
	     "Tue, 03 Mar 2026 09:00:00 +0000", NULL, COMPLAINT_TEXT},
	    /* an inbound note that is no complaint */
	    {"note@other.example", "d@other.example", "bob@agency.example", "Tue, 03 Mar 2026 09:00:00 +0000",
	     NULL, "Thanks, the files arrived. See you on Friday.\n"},
	    {"r-note@agency.example", "bob@agency.example", "d@other.example",
	     "Tue, 03 Mar 2026 10:00:00 +0000", "<note@other.example>", "Great, see you then.\n"},
	    /* a reply to one of our own replies is no complaint either */
	    {"r-own@agency.example", "bob@agency.example", "c@client.example",
	     "Tue, 03 Mar 2026 13:00:00 +0000", "<r-both@agency.example>", "Adding my colleague.\n"},
	    /* to colleagues only: out of the milter's scope */
	    {"r-internal@agency.example", "bob@agency.example", "carol@agency.example",
	     "Tue, 03 Mar 2026 13:30:00 +0000", "<c-new@client.example>", "Carol, can you take this one?\n"},
	    /* a reference to a message not in the archive */
	    {"r-lost@agency.example", "bob@agency.example", "e@third.example",
	     "Tue, 03 Mar 2026 14:00:00 +0000", "<gone@third.example>", "Noted.\n"},
	};
	struct archive a;
	run(&a, msgs, G_N_ELEMENTS(msgs), NULL);
	assert_int_equal(count_lines(a.results), 4); /* the replies, not the inbound mail */
	assert_true(result_has(&a, "r-both@agency.example", "\"complaint_ref\":\"c-new@client.example\""));
	assert_true(result_has(&a, "r-both@agency.example", "\"sent\":\"2026-03-03T09:00:00Z\""));
	assert_true(result_has(&a, "r-note@agency.example", "\"complaint_ref\":null"));
	assert_true(result_has(&a, "r-note@agency.example", "\"client\":\"other.example\""));
	assert_true(result_has(&a, "r-own@agency.example", "\"complaint_ref\":null"));
	assert_true(result_has(&a, "r-lost@agency.example", "\"complaint_ref\":null"));
	assert_null(strstr(a.results, "r-internal@agency.example"));
	assert_non_null(strstr(a.summary, "4 judged, 3 inbound, 1 to no client, 0 before --since"));
	assert_non_null(strstr(a.summary, "1 replies answer a complaint"));
	archive_clear(&a);
}

static void test_history_in_date_order(void **state)
{
	(void)state;
	/* The archive out of date order: history follows the dates. */
	const struct msg msgs[] = {
	    {"r3@agency.example", "ann@agency.example", "c@client.example", "Fri, 06 Mar 2026 10:00:00 +0000",
	     "<c3@client.example>", APOLOGY_TEXT},
	    {"r1@agency.example", "ann@agency.example", "c@client.example", "Mon, 02 Mar 2026 10:00:00 +0000",
	     "<c1@client.example>", APOLOGY_TEXT},
	    {"c1@client.example", "c@client.example", "ann@agency.example", "Mon, 02 Mar 2026 09:00:00 +0000",
	     NULL, COMPLAINT_TEXT},
	    {"c3@client.example", "c@client.example", "ann@agency.example", "Fri, 06 Mar 2026 09:00:00 +0000",
	     NULL, COMPLAINT_TEXT},
	    /* a second answer to the first complaint: not the same mistake again */
	    {"r2@agency.example", "ann@agency.example", "c@client.example", "Tue, 03 Mar 2026 10:00:00 +0000",
	     "<c1@client.example>", APOLOGY_TEXT},
	    /* another sender to the same client, another client of the same sender */
	    {"r4@agency.example", "bob@agency.example", "c@client.example", "Sat, 07 Mar 2026 10:00:00 +0000",
	     "<c3@client.example>", APOLOGY_TEXT},
	    {"r5@agency.example", "ann@agency.example", "x@other.example", "Sat, 07 Mar 2026 10:00:00 +0000",
	     NULL, APOLOGY_TEXT},
	};
	const char *jobs1[] = {"--jobs", "1", NULL}, *jobs4[] = {"--jobs", "4", NULL};
	struct archive a, b;
	run(&a, msgs, G_N_ELEMENTS(msgs), jobs1);
	assert_true(result_has(&a, "r1@agency.example", "\"apologised\":true"));
	assert_true(result_has(&a, "r1@agency.example", "\"history\":0"));
	assert_true(
	    result_has(&a, "r2@agency.example", "\"history\":0")); /* r1 answered the same complaint */
	assert_true(
	    result_has(&a, "r3@agency.example", "\"history\":1")); /* r1 (r2 is the same complaint's) */
	assert_true(result_has(&a, "r3@agency.example", "\"rule\":\"repeat-apology\""));
	assert_false(result_has(&a, "r1@agency.example", "\"rule\":\"repeat-apology\""));
	assert_true(result_has(&a, "r4@agency.example", "\"history\":0"));
	assert_true(result_has(&a, "r5@agency.example", "\"history\":0"));
	/* the results are in the archive's order, the same for any number of workers */
	assert_true(strstr(a.results, "r3@agency") < strstr(a.results, "r1@agency"));
	run(&b, msgs, G_N_ELEMENTS(msgs), jobs4);
	char *x = g_strdup(a.results), *y = g_strdup(b.results);
	/* the file names differ (each run its own directory) */
	GRegex *re = g_regex_new("\"(file|source)\":\"[^\"]*\"", 0, 0, NULL);
	char *xs = g_regex_replace_literal(re, x, -1, 0, "", 0, NULL),
	     *ys = g_regex_replace_literal(re, y, -1, 0, "", 0, NULL);
	assert_string_equal(xs, ys);
	g_regex_unref(re);
	g_free(xs);
	g_free(ys);
	g_free(x);
	g_free(y);
	archive_clear(&b);
	archive_clear(&a);
}

/* The shipped policy with RULE disabled, beside links to its models. */
static char *policy_without(const char *dir, const char *rule)
{
	char *yaml = NULL;
	assert_true(g_file_get_contents("policies/default.yaml", &yaml, NULL, NULL));
	char *head = g_strdup_printf("\n  %s:\n", rule);
	char *at = strstr(yaml, head);
	assert_non_null(at);
	GString *out = g_string_new_len(yaml, at - yaml + (gssize)strlen(head));
	g_string_append(out, "    enabled: false\n");
	g_string_append(out, at + strlen(head));
	char *path = g_build_filename(dir, "variant.yaml", NULL);
	assert_true(g_file_set_contents(path, out->str, -1, NULL));
	GPtrArray *files = policy_fixture_files();
	char *cwd = g_get_current_dir();
	for (guint i = 1; i < files->len; i++) { /* its models: the policy is the variant */
		char *target = g_build_filename(cwd, "policies", g_ptr_array_index(files, i), NULL);
		char *link = g_build_filename(dir, g_ptr_array_index(files, i), NULL);
		assert_int_equal(symlink(target, link), 0);
		g_free(target);
		g_free(link);
	}
	g_free(cwd);
	g_ptr_array_unref(files);
	g_string_free(out, TRUE);
	g_free(head);
	g_free(yaml);
	return path;
}

static void test_policy_diff(void **state)
{
	(void)state;
	const struct msg msgs[] = {
	    {"c1@client.example", "c@client.example", "ann@agency.example", "Mon, 02 Mar 2026 09:00:00 +0000",
	     NULL, COMPLAINT_TEXT},
	    /* over-apology only: advised by the shipped policy, passed without the rule */
	    {"r1@agency.example", "ann@agency.example", "c@client.example", "Mon, 02 Mar 2026 10:00:00 +0000",
	     "<c1@client.example>",
	     "I'm so so terribly, truly, deeply, sincerely sorry the order was wrong again; that was our "
	     "mistake. "
	     "I've sent the right one today, and we now check every order before it leaves so it won't "
	     "happen "
	     "again. I'll call you at 2 pm.\n"},
	    {"r2@agency.example", "bob@agency.example", "d@client2.example",
	     "Mon, 02 Mar 2026 10:00:00 +0000", "<c1@client.example>", APOLOGY_TEXT},
	};
	char *dir = g_dir_make_tmp("test_backtest-policy-XXXXXX", NULL);
	char *variant = policy_without(dir, "over-apology");
	const char *same[] = {"--against", "policies/default.yaml", NULL};
	struct archive a;
	run(&a, msgs, G_N_ELEMENTS(msgs), same);
	assert_non_null(strstr(a.summary, "0 of 2 messages change verdict"));
	assert_true(result_has(&a, "r1@agency.example", "\"rule\":\"over-apology\""));
	assert_true(result_has(&a, "r1@agency.example", "\"verdict\":\"advise\""));
	archive_clear(&a);

	const char *diff[] = {"--against", "policies/default.yaml", "--policy", variant, NULL};
	run(&a, msgs, G_N_ELEMENTS(msgs), diff);
	assert_false(result_has(&a, "r1@agency.example", "\"rule\":\"over-apology\""));
	assert_true(result_has(&a, "r1@agency.example", "\"verdict\":\"pass\""));
	assert_true(result_has(&a, "r1@agency.example", "\"against\":{\"verdict\":\"advise\""));
	assert_true(result_has(&a, "r1@agency.example", "\"rules\":[\"over-apology\"]"));
	assert_non_null(strstr(a.summary, "1 of 2 messages change verdict"));
	assert_non_null(strstr(a.summary, "advise    -> pass"));
	assert_non_null(strstr(a.summary, "r1@agency.example>: -over-apology \""));
	archive_clear(&a);
	char *cmd = g_strdup_printf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	g_free(cmd);
	g_free(variant);
	g_free(dir);
}

/* Each corpus message's header block read as indexing reads it equals what
 * message_parse() makes of the whole message. */
static void check_head_like_message(const char *path, const struct limits *lim, int *compared)
{
	char *data = NULL;
	gsize len = 0;
	assert_true(g_file_get_contents(path, &data, &len, NULL));
	struct message whole, head;
	bool parsed = message_parse(data, len, lim, &whole);
	bt_head_parse(data, len, &head);
	if (parsed || *whole.from) {
		if (strcmp(whole.from, head.from) != 0 || strcmp(whole.message_id, head.message_id) != 0 ||
		    strcmp(whole.in_reply_to, head.in_reply_to) != 0 || whole.date != head.date ||
		    whole.recipient_domains->len != head.recipient_domains->len)
			fail_msg(
			    "%s: from <%s> <%s>, id <%s> <%s>, in-reply-to <%s> <%s>, date %lld %lld, %u %u "
			    "recipient domains",
			    path, whole.from, head.from, whole.message_id, head.message_id, whole.in_reply_to,
			    head.in_reply_to, (long long)whole.date, (long long)head.date,
			    whole.recipient_domains->len, head.recipient_domains->len);
		for (guint i = 0; i < whole.recipient_domains->len; i++)
			assert_string_equal(whole.recipient_domains->pdata[i],
			                    head.recipient_domains->pdata[i]);
		GRegex *ids = g_regex_new("<[^>]*>", 0, 0, NULL);
		char *a = g_regex_replace_literal(ids, whole.references, -1, 0, "<>", 0, NULL);
		char *b = g_regex_replace_literal(ids, head.references, -1, 0, "<>", 0, NULL);
		GMatchInfo *ma, *mb;
		g_regex_match(ids, whole.references, 0, &ma);
		g_regex_match(ids, head.references, 0, &mb);
		while (g_match_info_matches(ma) && g_match_info_matches(mb)) {
			char *x = g_match_info_fetch(ma, 0), *y = g_match_info_fetch(mb, 0);
			assert_string_equal(x, y);
			g_free(x);
			g_free(y);
			g_match_info_next(ma, NULL);
			g_match_info_next(mb, NULL);
		}
		assert_int_equal(g_match_info_matches(ma), g_match_info_matches(mb));
		g_match_info_free(ma);
		g_match_info_free(mb);
		g_free(a);
		g_free(b);
		g_regex_unref(ids);
		(*compared)++;
	}
	message_clear(&whole);
	message_clear(&head);
	g_free(data);
}

static void test_header_block_like_message_parse(void **state)
{
	(void)state;
	char *err = NULL;
	struct policy *pol = policy_load("policies/default.yaml", &err);
	assert_non_null(pol);
	int compared = 0;
	const char *dirs[] = {"tests/corpus", "tests/corpus/malformed", "tests/heldout"};
	for (size_t d = 0; d < G_N_ELEMENTS(dirs); d++) {
		GDir *dir = g_dir_open(dirs[d], 0, NULL);
		if (dir == NULL)
			continue;
		const char *name;
		while ((name = g_dir_read_name(dir)) != NULL) {
			if (!g_str_has_suffix(name, ".eml"))
				continue;
			char *path = g_build_filename(dirs[d], name, NULL);
			check_head_like_message(path, policy_limits(pol), &compared);
			g_free(path);
		}
		g_dir_close(dir);
	}
	assert_true(compared > 100);
	policy_unref(pol);
}

/* A To: of 45,000 nested groups (GMime's parser recurses per group) is not
 * handed to it: indexing such a message would overflow the stack; its
 * other fields are read. */
static void test_header_of_many_groups(void **state)
{
	(void)state;
	GString *h = g_string_new("From: Sam <sam@agency.example>\nTo: ");
	for (int i = 0; i < 45000; i++)
		g_string_append(h, "g:");
	g_string_append(h, " dana@client.example;\nMessage-ID: <deep@agency.example>\n\nbody\n");
	struct message head;
	bt_head_parse(h->str, h->len, &head);
	assert_string_equal(head.from, "sam@agency.example");
	assert_string_equal(head.message_id, "deep@agency.example");
	assert_int_equal(head.recipient_domains->len, 0);
	message_clear(&head);
	g_string_free(h, TRUE);
	/* an id field past MESSAGE_MAX_ID_HEADER is absent, as for the daemon */
	h = g_string_new("From: sam@agency.example\nReferences: <");
	for (int i = 0; i < MESSAGE_MAX_ID_HEADER; i++)
		g_string_append_c(h, 'r');
	g_string_append(h, ">\nReferences: <short@client.example>\nMessage-ID: <x@agency.example>\n\n");
	bt_head_parse(h->str, h->len, &head);
	assert_string_equal(head.references, "<short@client.example>");
	assert_string_equal(head.message_id, "x@agency.example");
	message_clear(&head);
	g_string_free(h, TRUE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_thread_matching),
	    cmocka_unit_test(test_history_in_date_order),
	    cmocka_unit_test(test_policy_diff),
	    cmocka_unit_test(test_header_block_like_message_parse),
	    cmocka_unit_test(test_header_of_many_groups),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
