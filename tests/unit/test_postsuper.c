/*
 * test_postsuper.c - the parts of the root helper apology-postsuper
 * (milter/postsuper/): trusted paths (symbolic links, owners, who may
 * write; the ownership cases need root and are skipped otherwise), its
 * settings file, Sendmail queue ids, sendmail.cf's queue directory and
 * queue files, and its reads and writes of a store made by the store
 * layer, so that the helper's SQL follows the real schema.  The helper as a
 * program, against a real Postfix: tests/review/run.sh; against a real
 * Sendmail: tests/e2e/sendmail.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixtures.h"
#include "helper_conf.h"
#include "helper_store.h"
#include "pgtest.h"
#include "sendmail_queue.h"
#include "store.h"
#include "trusted.h"

static void test_path_syntax(void **state)
{
	(void)state;
	static const char *const good[] = {"/etc/postfix", "/a", "/var/lib/apology-milter/store.db", "/x/.y"};
	static const char *const bad[] = {
	    "etc/postfix", "/",      "/etc/", "//etc", "/etc//postfix", "/etc/./x", "/etc/../x",
	    "/etc/..",     "/etc/.", "/a\nb", "",      "./x",           "/a\tb",    "/etc/postfix/"};
	for (size_t i = 0; i < G_N_ELEMENTS(good); i++)
		assert_true(trusted_path_syntax(good[i]));
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
		if (trusted_path_syntax(bad[i]))
			fail_msg("accepted %s", bad[i]);
	char *long_path = g_strnfill(TRUSTED_PATH_MAX, 'a');
	long_path[0] = '/';
	assert_false(trusted_path_syntax(long_path));
	g_free(long_path);
}

/* ---- trusted paths (as root: the files are root's) ---------------------- */

struct tree {
	char *dir; /* a root-owned 0755 directory under /tmp */
};

static int tree_setup(void **state)
{
	struct tree *t = g_new0(struct tree, 1);
	t->dir = g_dir_make_tmp("test_postsuper-XXXXXX", NULL);
	g_chmod(t->dir, 0755);
	*state = t;
	return 0;
}

static int tree_teardown(void **state)
{
	struct tree *t = *state;
	char *cmd = g_strdup_printf("rm -rf '%s'", t->dir);
	assert_int_equal(system(cmd), 0);
	g_free(cmd);
	g_free(t->dir);
	g_free(t);
	return 0;
}

static char *at(const struct tree *t, const char *name)
{
	return g_build_filename(t->dir, name, NULL);
}

static void make_dir(const struct tree *t, const char *name, mode_t mode)
{
	char *p = at(t, name);
	assert_int_equal(g_mkdir(p, 0700), 0);
	assert_int_equal(g_chmod(p, mode), 0); /* past the umask */
	g_free(p);
}

static void make_file(const struct tree *t, const char *name, mode_t mode)
{
	char *p = at(t, name);
	assert_true(g_file_set_contents(p, "x = y\n", -1, NULL));
	assert_int_equal(g_chmod(p, mode), 0);
	g_free(p);
}

/* trusted_open() of NAME in T: the descriptor's fate and the reason. */
static bool opens(const struct tree *t, const char *name, bool want_dir, const char *reason)
{
	char *p = at(t, name), why[2048] = "";
	int fd = trusted_open(p, want_dir, NULL, why, sizeof why);
	if (fd >= 0)
		close(fd);
	if (fd < 0 && reason != NULL && strstr(why, reason) == NULL)
		fail_msg("%s: expected \"%s\", got \"%s\"", name, reason, why);
	g_free(p);
	return fd >= 0;
}

static void test_trusted_open(void **state)
{
	struct tree *t = *state;
	if (geteuid() != 0)
		skip(); /* the tree must be root's */
	make_dir(t, "etc", 0755);
	make_file(t, "etc/main.cf", 0644);
	assert_true(opens(t, "etc", true, NULL));
	assert_true(opens(t, "etc/main.cf", false, NULL));
	assert_false(opens(t, "etc", false, "is not a regular file"));
	assert_false(opens(t, "etc/main.cf", true, "is not a directory"));
	assert_false(opens(t, "missing", true, "No such file"));

	/* A symbolic link anywhere on the path, even root's own. */
	char *target = at(t, "etc"), *link = at(t, "link");
	assert_int_equal(symlink(target, link), 0);
	assert_false(opens(t, "link", true, "is a symbolic link"));
	assert_false(opens(t, "link/main.cf", false, "is a symbolic link"));

	/* Who may write: the directory itself, or one on the way. */
	make_dir(t, "loose", 0775);
	make_file(t, "loose/main.cf", 0644);
	assert_false(opens(t, "loose", true, "may be written by others than root"));
	assert_false(opens(t, "loose/main.cf", false, "may be changed by others than root"));
	make_dir(t, "sticky", 01777); /* like /tmp: others cannot move root's entries */
	make_dir(t, "sticky/etc", 0755);
	assert_true(opens(t, "sticky/etc", true, NULL));

	/* Owners: nobody's directory on the way, nobody's file. */
	make_dir(t, "theirs", 0755);
	make_dir(t, "theirs/etc", 0755);
	char *theirs = at(t, "theirs"), *file = at(t, "etc/main.cf");
	assert_int_equal(chown(theirs, 65534, (gid_t)-1), 0);
	assert_false(opens(t, "theirs/etc", true, "theirs: is not owned by root"));
	assert_int_equal(chown(file, 65534, (gid_t)-1), 0);
	assert_false(opens(t, "etc/main.cf", false, "is not owned by root"));
	g_free(theirs);
	g_free(file);
	g_free(target);
	g_free(link);
}

static void test_trusted_openat(void **state)
{
	struct tree *t = *state;
	if (geteuid() != 0)
		skip();
	make_dir(t, "etc", 0755);
	make_file(t, "etc/main.cf", 0644);
	char *dir = at(t, "etc"), *fifo = at(t, "etc/fifo.cf"), *link = at(t, "etc/link.cf"), why[2048];
	assert_int_equal(mkfifo(fifo, 0644), 0);
	assert_int_equal(symlink("main.cf", link), 0);
	int d = trusted_open(dir, true, NULL, why, sizeof why);
	assert_true(d >= 0);
	int fd = trusted_openat(d, "main.cf", NULL, why, sizeof why);
	assert_true(fd >= 0);
	close(fd);
	/* A FIFO is refused without blocking; links and other directories too. */
	assert_int_equal(trusted_openat(d, "fifo.cf", NULL, why, sizeof why), -1);
	assert_non_null(strstr(why, "is not a regular file"));
	assert_int_equal(trusted_openat(d, "link.cf", NULL, why, sizeof why), -1);
	assert_non_null(strstr(why, "is a symbolic link"));
	assert_int_equal(trusted_openat(d, "../etc/main.cf", NULL, why, sizeof why), -1);
	assert_int_equal(trusted_openat(d, "..", NULL, why, sizeof why), -1);
	close(d);
	g_free(dir);
	g_free(fifo);
	g_free(link);
}

/* ---- the settings -------------------------------------------------------- */

static void test_conf_defaults(void **state)
{
	(void)state;
	static struct helper_conf conf;
	char why[256];
	assert_true(helper_conf_parse("# nothing but comments\n\n", &conf, why, sizeof why));
	assert_string_equal(conf.store, "/var/lib/apology-milter/store.db");
	assert_string_equal(conf.token_header, "X-Apology-Token");
	assert_string_equal(conf.hold_key, "/etc/apology-milter/hold.key");
	assert_int_equal(conf.n_instances, 1);
	assert_string_equal(helper_conf_instance(&conf, NULL), "/etc/postfix");
	assert_string_equal(conf.sendmail_config, "");
	assert_string_equal(conf.sendmail_program, "/usr/sbin/sendmail");
}

static void test_conf_values(void **state)
{
	(void)state;
	static struct helper_conf conf;
	char why[256];
	static const char text[] = "store: sqlite:/srv/am/store.db\n"
	                           "token-header: \"X-Held-Token\"\n"
	                           "hold-key: /srv/am/hold.key   \r\n"
	                           "postfix-config: /etc/postfix-out\n"
	                           "postfix-config: /etc/postfix\n";
	assert_true(helper_conf_parse(text, &conf, why, sizeof why));
	assert_string_equal(conf.store, "/srv/am/store.db");
	assert_string_equal(conf.token_header, "X-Held-Token");
	assert_string_equal(conf.hold_key, "/srv/am/hold.key");
	assert_int_equal(conf.n_instances, 2);
	assert_string_equal(helper_conf_instance(&conf, NULL), "/etc/postfix-out");
	assert_string_equal(helper_conf_instance(&conf, "/etc/postfix"), "/etc/postfix");
	assert_null(helper_conf_instance(&conf, "/etc/postfix/"));
	assert_null(helper_conf_instance(&conf, "/tmp/evil"));
	assert_true(helper_conf_parse("sendmail-config: /etc/mail/sendmail.cf\n"
	                              "sendmail-program: /usr/libexec/sendmail/sendmail\n",
	                              &conf, why, sizeof why));
	assert_string_equal(conf.sendmail_config, "/etc/mail/sendmail.cf");
	assert_string_equal(conf.sendmail_program, "/usr/libexec/sendmail/sendmail");
	assert_false(helper_conf_parse("sendmail-config: mail/sendmail.cf\n", &conf, why, sizeof why));
	/* A PostgreSQL store is kept whole, for libpq. */
	assert_true(helper_conf_parse("store: postgresql://apology@db.example/apology?sslmode=verify-full\n",
	                              &conf, why, sizeof why));
	assert_string_equal(conf.store, "postgresql://apology@db.example/apology?sslmode=verify-full");
	assert_false(helper_conf_parse("store: \"postgres://db.example/a b\"\n", &conf, why, sizeof why));
	assert_false(helper_conf_parse("store: mysql://db.example/a\n", &conf, why, sizeof why));
	assert_false(
	    helper_conf_parse("sendmail-config: /a.cf\nsendmail-config: /b.cf\n", &conf, why, sizeof why));
}

/* ---- Sendmail ------------------------------------------------------------ */

static void test_sendmail_queue_ids(void **state)
{
	(void)state;
	/* Eight of Sendmail's 60 characters (time and sequence), then the pid. */
	static const char *const good[] = {"6B46bqiS004691", "0B4AB1fq01234", "xxxxxxxx4194304",
	                                   "6B46bqiS0123456789"};
	static const char *const bad[] = {
	    "",
	    "ALL",
	    "-qQ",
	    "../hf6B46bqiS004691",
	    "6B46bqiS0046",        /* a pid of four digits */
	    "6B46bqiS01234567890", /* eleven */
	    "6B46bqyS004691",      /* y and z are not in the alphabet */
	    "6B46bqiz004691",
	    "6B46bqiS00469a",
	    "hf6B46bqiS004691",
	    "6B46bqiS004691 ",
	    "6B46-qiS004691",
	    "6B46bqiS/04691",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(good); i++)
		if (!sendmail_queue_id_valid(good[i]))
			fail_msg("refused %s", good[i]);
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
		if (sendmail_queue_id_valid(bad[i]))
			fail_msg("accepted %s", bad[i]);
}

static void test_sendmail_queue_dir(void **state)
{
	(void)state;
	char dir[TRUSTED_PATH_MAX], why[256];
	assert_true(sendmail_queue_dir("# queue directory\nO QueueDirectory=/var/spool/mqueue\nO Other=1\n",
	                               dir, sizeof dir, why, sizeof why));
	assert_string_equal(dir, "/var/spool/mqueue");
	assert_true(sendmail_queue_dir("O QueueDirectory=/run/q  \r\n", dir, sizeof dir, why, sizeof why));
	assert_string_equal(dir, "/run/q");
	static const char *const bad[] = {
	    "#O QueueDirectory=/var/spool/mqueue\n",
	    "O QueueDirectory=/var/spool/mqueue/q*\n",
	    "O QueueDirectory=mqueue\n",
	    "O QueueDirectory=/var/spool/../tmp\n",
	    "",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
		if (sendmail_queue_dir(bad[i], dir, sizeof dir, why, sizeof why))
			fail_msg("accepted %s", bad[i]);
}

static void test_sendmail_queue_file(void **state)
{
	(void)state;
	static const char held[] = "V8\nT1796366272\nqapology-milter: held for review\nS<sam@acme.example>\n"
	                           "H??From: Sam <sam@acme.example>\nH??X-Apology-Token: 0e32801\n"
	                           "H?P?Return-Path: <x>\n.\n";
	assert_int_equal(sendmail_queue_file_check(held, "X-Apology-Token", "0e32801"), SM_HELD_YES);
	assert_int_equal(sendmail_queue_file_check(held, "x-apology-token", "0e32801"), SM_HELD_YES);
	assert_int_equal(sendmail_queue_file_check(held, "X-Apology-Token", "0e3280"), SM_HELD_OTHER_MESSAGE);
	assert_int_equal(sendmail_queue_file_check(held, "X-Held-Token", "0e32801"), SM_HELD_OTHER_MESSAGE);
	static const char not_held[] =
	    "V8\nT1796366272\nS<sam@acme.example>\nH??X-Apology-Token: 0e32801\n.\n";
	assert_int_equal(sendmail_queue_file_check(not_held, "X-Apology-Token", "0e32801"),
	                 SM_HELD_NOT_QUARANTINED);
	/* Only the header section counts: nothing after the "." line, no envelope line. */
	static const char elsewhere[] =
	    "V8\nqheld\nS<X-Apology-Token: 0e32801>\n.\nH??X-Apology-Token: 0e32801\n";
	assert_int_equal(sendmail_queue_file_check(elsewhere, "X-Apology-Token", "0e32801"),
	                 SM_HELD_OTHER_MESSAGE);
	/* A flagged header "H?flags?" and one without flags. */
	assert_int_equal(sendmail_queue_file_check("qr\nH?x?X-Apology-Token: t1\n", "X-Apology-Token", "t1"),
	                 SM_HELD_YES);
	assert_int_equal(sendmail_queue_file_check("qr\nHX-Apology-Token:t1\n", "X-Apology-Token", "t1"),
	                 SM_HELD_YES);
}

static void test_conf_errors(void **state)
{
	(void)state;
	static struct helper_conf conf;
	static const struct {
		const char *text, *error;
	} cases[] = {
	    {"store: /x.db\nstore: /y.db\n", "line 2: store: given twice"},
	    {"# a comment\ntoken: X-Apology-Token\n", "line 2: token: unknown key"},
	    {"token-header: X-Bad: y\n", "line 1: token-header: a header name"},
	    {"token-header:\n", "line 1: token-header: expected a value"},
	    {"store: relative/store.db\n", "line 1: store: expected an absolute path"},
	    {"postfix-config: /etc/postfix/../../tmp\n", "line 1: postfix-config: expected an absolute path"},
	    {"hold-key: \"/etc/key\n", "line 1: hold-key: expected a value"},
	    {"  store: /x.db\n", "line 1: a key starts at the beginning of its line"},
	    {"just words\n", "line 1: expected key: value"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char why[256] = "";
		if (helper_conf_parse(cases[i].text, &conf, why, sizeof why))
			fail_msg("accepted: %s", cases[i].text);
		if (!g_str_has_prefix(why, cases[i].error))
			fail_msg("%s: expected \"%s\", got \"%s\"", cases[i].text, cases[i].error, why);
	}
	GString *many = g_string_new(NULL);
	for (int i = 0; i <= HELPER_MAX_INSTANCES; i++)
		g_string_append_printf(many, "postfix-config: /etc/postfix-%d\n", i);
	char why[256];
	assert_false(helper_conf_parse(many->str, &conf, why, sizeof why));
	assert_non_null(strstr(why, "too many"));
	g_string_free(many, TRUE);
}

/* ---- the store ----------------------------------------------------------- */

static gint64 put(struct store *st, const char *queue_id, const char *token, const char *state)
{
	char *err = NULL;
	gint64 id = 0;
	struct store_quarantine q = fixture_hold(token);
	q.queue_id = (char *)queue_id;
	q.state = (char *)state;
	if (!store_quarantine_put(st, &q, &id, &err))
		fail_msg("%s", err);
	return id;
}

/* A record of a reviewer's release in the store at DB; its id. */
static gint64 put_decided(const char *db, const char *queue_id, const char *token)
{
	char *err = NULL;
	struct store *st = store_open(db, &err);
	if (st == NULL)
		fail_msg("%s", err);
	gint64 id = put(st, queue_id, token, "released");
	store_close(st);
	return id;
}

/* The helper's view of holds in the store at DB (a path or a PostgreSQL
 * location), which the store layer made. */
static void check_held(const char *db)
{
	char *err = NULL, why[512];
	struct store *st = store_open(db, &err);
	if (st == NULL)
		fail_msg("%s", err);
	gint64 held = put(st, "QHELD", "aaaa", "held");
	gint64 claimed = put(st, "QREL", "bbbb", "released");
	put(st, "QMON", "cccc", "monitor");
	put(st, "QREJ", "dddd", "rejected");
	store_close(st);
	long long id = 0;
	assert_int_equal(helper_store_held(db, "QHELD", "aaaa", &id, why, sizeof why), HELD_YES);
	assert_int_equal(id, held);
	assert_int_equal(helper_store_held(db, "QREL", "bbbb", &id, why, sizeof why), HELD_YES);
	assert_int_equal(id, claimed);
	/* Once the helper has carried the decision out, the record is spent:
	 * the same queue id and token (a reused short queue id, a copied
	 * header) get nothing more.  A failed attempt spends nothing. */
	struct helper_audit a = {.caller = "root",
	                         .action = "release",
	                         .queue_id = "QREL",
	                         .token = "bbbb",
	                         .postfix_config = "/etc/postfix",
	                         .quarantine_id = claimed,
	                         .outcome = "running",
	                         .detail = "postsuper started",
	                         .at = 2};
	long long row = 0;
	assert_true(helper_audit_add(db, &a, &row, why, sizeof why));
	assert_true(helper_audit_finish(db, row, "failed", "postsuper -H failed (exit 1)", why, sizeof why));
	assert_int_equal(helper_store_held(db, "QREL", "bbbb", &id, why, sizeof why), HELD_YES);
	assert_true(helper_audit_add(db, &a, &row, why, sizeof why));
	assert_true(helper_audit_finish(db, row, "released", "postsuper -H done", why, sizeof why));
	assert_int_equal(helper_store_held(db, "QREL", "bbbb", &id, why, sizeof why), HELD_NO);
	/* so is one whose attempt never said how it ended (the helper killed
	 * after postsuper ran, or its outcome not recorded) */
	gint64 started = put_decided(db, "QRUN", "eeee");
	a.queue_id = "QRUN";
	a.token = "eeee";
	a.quarantine_id = started;
	assert_int_equal(helper_store_held(db, "QRUN", "eeee", &id, why, sizeof why), HELD_YES);
	assert_true(helper_audit_add(db, &a, &row, why, sizeof why));
	assert_int_equal(helper_store_held(db, "QRUN", "eeee", &id, why, sizeof why), HELD_NO);
	/* a record still held is not spent by an earlier release */
	a.queue_id = "QHELD";
	a.token = "aaaa";
	a.quarantine_id = held;
	assert_true(helper_audit_add(db, &a, &row, why, sizeof why));
	assert_true(helper_audit_finish(db, row, "released", "postsuper -H done", why, sizeof why));
	assert_int_equal(helper_store_held(db, "QHELD", "aaaa", &id, why, sizeof why), HELD_YES);
	assert_int_equal(helper_store_held(db, "QHELD", "bbbb", &id, why, sizeof why), HELD_NO);
	assert_int_equal(helper_store_held(db, "QMON", "cccc", &id, why, sizeof why), HELD_NO);
	assert_int_equal(helper_store_held(db, "QREJ", "dddd", &id, why, sizeof why), HELD_NO);
}

static void test_store_held(void **state)
{
	struct tree *t = *state;
	char *db = at(t, "store.db"), why[512];
	long long id = 0;
	check_held(db);
	/* No symbolic link to a store, no store at all. */
	char *link = at(t, "link.db"), *missing = at(t, "missing.db");
	assert_int_equal(symlink(db, link), 0);
	assert_int_equal(helper_store_held(link, "QHELD", "aaaa", &id, why, sizeof why), HELD_ERROR);
	assert_int_equal(helper_store_held(missing, "QHELD", "aaaa", &id, why, sizeof why), HELD_ERROR);
	assert_false(g_file_test(missing, G_FILE_TEST_EXISTS));
	g_free(link);
	g_free(missing);
	g_free(db);
}

/* Chown PATH to the test's store owner when it exists. */
static void give(const char *path)
{
	if (g_file_test(path, G_FILE_TEST_EXISTS))
		assert_int_equal(chown(path, 65534, 65534), 0);
}

/* Run as root, the helper reads and writes an SQLite store as the owner of
 * its directory: a hard link planted beside the store (its write-ahead log
 * here) is not handed to that owner, as SQLite running as root would; the
 * files SQLite makes there are that owner's.  A store in a directory of
 * root's that others may write in is refused. */
static void test_store_as_owner(void **state)
{
	struct tree *t = *state;
	if (geteuid() != 0)
		skip();
	char *owned = at(t, "owned"), *rootonly = at(t, "root-only"), why[512];
	assert_int_equal(g_mkdir(owned, 0750), 0);
	assert_int_equal(g_mkdir(rootonly, 0700), 0);
	char *db = g_build_filename(owned, "store.db", NULL);
	char *wal = g_strconcat(db, "-wal", NULL), *shm = g_strconcat(db, "-shm", NULL);
	char *secret = g_build_filename(rootonly, "secret", NULL);
	char *err = NULL;
	struct store *st = store_open(db, &err);
	if (st == NULL)
		fail_msg("%s", err);
	gint64 held = put(st, "QHELD", "aaaa", "held");
	store_close(st);
	give(owned);
	give(db);
	give(wal);
	give(shm);

	long long id = 0, row = 0;
	assert_int_equal(helper_store_held(db, "QHELD", "aaaa", &id, why, sizeof why), HELD_YES);
	assert_int_equal(id, held);
	struct helper_audit a = {.caller = "root", .action = "release", .queue_id = "QHELD", .token = "aaaa",
	                         .postfix_config = "/etc/postfix", .quarantine_id = held, .outcome = "running",
	                         .detail = "postsuper started", .at = 2};
	if (!helper_audit_add(db, &a, &row, why, sizeof why))
		fail_msg("%s", why);
	assert_true(helper_audit_finish(db, row, "failed", "postsuper -H failed (exit 1)", why, sizeof why));
	assert_int_equal(geteuid(), 0); /* root again */
	assert_int_equal(getegid(), 0);
	GStatBuf sb;
	if (g_stat(shm, &sb) == 0)
		assert_int_equal(sb.st_uid, 65534);

	/* A root-only file linked in as the store's write-ahead log stays root's. */
	g_unlink(wal);
	assert_true(g_file_set_contents(secret, "root's own\n", -1, NULL));
	assert_int_equal(g_chmod(secret, 0600), 0);
	assert_int_equal(link(secret, wal), 0);
	helper_store_held(db, "QHELD", "aaaa", &id, why, sizeof why);
	helper_audit_add(db, &a, &row, why, sizeof why);
	assert_int_equal(g_stat(secret, &sb), 0);
	assert_int_equal(sb.st_uid, 0);
	assert_int_equal(sb.st_gid, 0);
	gchar *text = NULL;
	assert_true(g_file_get_contents(secret, &text, NULL, NULL));
	assert_string_equal(text, "root's own\n");
	g_free(text);
	assert_int_equal(geteuid(), 0);

	/* root's directory that others may write in: refused */
	g_unlink(wal);
	assert_int_equal(chown(owned, 0, 0), 0);
	assert_int_equal(g_chmod(owned, 0777), 0);
	assert_int_equal(helper_store_held(db, "QHELD", "aaaa", &id, why, sizeof why), HELD_ERROR);
	assert_non_null(strstr(why, "others may write"));
	assert_false(helper_audit_add(db, &a, &row, why, sizeof why));
	g_free(owned);
	g_free(rootonly);
	g_free(db);
	g_free(wal);
	g_free(shm);
	g_free(secret);
}

/* The same on PostgreSQL; a server that cannot be reached is an error
 * (the helper exits 75), said without the location's password. */
static void test_store_held_pg(void **state)
{
	(void)state;
	char why[512];
	long long id = 0;
	pgtest_reset();
	check_held(pgtest_location());
	const char *gone = "postgresql://apology:SECRET@/nothing?host=/nonexistent&connect_timeout=2";
	assert_int_equal(helper_store_held(gone, "QHELD", "aaaa", &id, why, sizeof why), HELD_ERROR);
	assert_non_null(strstr(why, "cannot connect"));
	assert_null(strstr(why, "SECRET"));
	/* A table another session holds locked: the statement timeout ends
	 * the wait, the helper does not hang under sudo. */
	PGconn *locker = PQconnectdb(pgtest_location());
	assert_int_equal(PQstatus(locker), CONNECTION_OK);
	PQclear(PQexec(locker, "BEGIN"));
	PGresult *r = PQexec(locker, "LOCK TABLE quarantine IN ACCESS EXCLUSIVE MODE");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	gint64 t0 = g_get_monotonic_time();
	assert_int_equal(helper_store_held(pgtest_location(), "QHELD", "aaaa", &id, why, sizeof why),
	                 HELD_ERROR);
	gint64 waited_ms = (g_get_monotonic_time() - t0) / 1000;
	assert_non_null(strstr(why, "statement timeout"));
	assert_in_range(waited_ms, 4000, 9000);
	PQfinish(locker);
}

static char *audit_rows(const char *db)
{
	if (strncmp(db, "postgresql:", 11) == 0)
		return pgtest_query(
		    "SELECT string_agg(concat_ws('|', caller, action, queue_id, token, "
		    "postfix_config, coalesce(quarantine_id::text, 'NULL'), outcome, detail, at) "
		    "|| E'\\n', '' ORDER BY id) FROM helper_actions");
	sqlite3 *h = NULL;
	sqlite3_stmt *q = NULL;
	GString *out = g_string_new(NULL);
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h,
	                                    "SELECT caller, action, queue_id, token, postfix_config, "
	                                    "ifnull(quarantine_id, 'NULL'), outcome, detail, at "
	                                    "FROM helper_actions ORDER BY id",
	                                    -1, &q, NULL),
	                 SQLITE_OK);
	while (sqlite3_step(q) == SQLITE_ROW)
		for (int c = 0; c < 9; c++)
			g_string_append_printf(out, "%s%s", sqlite3_column_text(q, c), c == 8 ? "\n" : "|");
	sqlite3_finalize(q);
	sqlite3_close(h);
	return g_string_free(out, FALSE);
}

/* The helper's audit trail in the store at DB (made by the store layer):
 * texts cleaned, an outcome set afterwards, no row made up. */
static void check_audit(const char *db)
{
	char why[512];
	struct helper_audit a = {
	    .caller = "alice (sudo)",
	    .action = "release\nforged line",
	    .queue_id = "QHELD",
	    .token = "aaaa",
	    .postfix_config = "",
	    .outcome = "refused",
	    .detail = "not sealed",
	    .at = 1700000000,
	};
	long long row = 0;
	assert_true(helper_audit_add(db, &a, &row, why, sizeof why));
	a.quarantine_id = 7;
	a.outcome = "running";
	a.action = "discard";
	assert_true(helper_audit_add(db, &a, &row, why, sizeof why));
	assert_true(helper_audit_finish(db, row, "discarded", "postsuper -d done", why, sizeof why));
	assert_false(helper_audit_finish(db, row + 1, "discarded", "x", why, sizeof why));
	assert_non_null(strstr(why, "no such audit row"));
	char *rows = audit_rows(db);
	assert_string_equal(
	    rows, "alice (sudo)|release?forged line|QHELD|aaaa||NULL|refused|not sealed|1700000000\n"
	          "alice (sudo)|discard|QHELD|aaaa||7|discarded|postsuper -d done|1700000000\n");
	g_free(rows);

	/* What the review tools read of it (store_helper_started): a step the
	 * helper started (running) or carried out, since a time; not a
	 * refusal, not a failure, not another step or hold. */
	a.action = "release";
	a.quarantine_id = 8;
	assert_true(helper_audit_add(db, &a, &row, why, sizeof why));
	assert_true(helper_audit_finish(db, row, "failed", "postsuper -H failed (exit 1)", why, sizeof why));
	a.quarantine_id = 9;
	assert_true(helper_audit_add(db, &a, &row, why, sizeof why)); /* still running: stopped */
	char *err = NULL;
	struct store *st = store_open(db, &err);
	if (st == NULL)
		fail_msg("%s", err);
	assert_int_equal(store_helper_started(st, 7, "discard", 1700000000, &err), STORE_FOUND);
	assert_int_equal(store_helper_started(st, 7, "discard", 1700000001, &err), STORE_NONE);
	assert_int_equal(store_helper_started(st, 7, "release", 1700000000, &err), STORE_NONE);
	assert_int_equal(store_helper_started(st, 8, "release", 1700000000, &err), STORE_NONE);
	assert_int_equal(store_helper_started(st, 9, "release", 1700000000, &err), STORE_FOUND);
	assert_int_equal(store_helper_started(st, 10, "release", 0, &err), STORE_NONE);
	assert_null(err);
	store_close(st);
}

static void test_store_audit(void **state)
{
	struct tree *t = *state;
	char *db = at(t, "store.db"), *err = NULL;
	struct store *st = store_open(db, &err);
	assert_non_null(st);
	store_close(st);
	/* Someone who may write the store plants a trigger: it never runs. */
	sqlite3 *h = NULL;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(h,
	                 "CREATE TABLE planted (x); CREATE TRIGGER t AFTER INSERT ON helper_actions "
	                 "BEGIN INSERT INTO planted VALUES (1); END",
	                 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(h);
	check_audit(db);
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	sqlite3_stmt *q = NULL;
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*) FROM planted", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 0);
	sqlite3_finalize(q);
	sqlite3_close(h);
	g_free(db);
}

static void test_store_audit_pg(void **state)
{
	(void)state;
	char *err = NULL;
	pgtest_reset();
	struct store *st = store_open(pgtest_location(), &err);
	if (st == NULL)
		fail_msg("%s", err);
	store_close(st);
	check_audit(pgtest_location());
}

static void test_text_clean(void **state)
{
	(void)state;
	char out[8];
	helper_text_clean(out, sizeof out,
	                  "a\tb\x7f"
	                  "cdefgh");
	assert_string_equal(out, "a?b?cde");
	helper_text_clean(out, sizeof out, NULL);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path_syntax),
	    cmocka_unit_test_setup_teardown(test_trusted_open, tree_setup, tree_teardown),
	    cmocka_unit_test_setup_teardown(test_trusted_openat, tree_setup, tree_teardown),
	    cmocka_unit_test(test_conf_defaults),
	    cmocka_unit_test(test_conf_values),
	    cmocka_unit_test(test_conf_errors),
	    cmocka_unit_test(test_sendmail_queue_ids),
	    cmocka_unit_test(test_sendmail_queue_dir),
	    cmocka_unit_test(test_sendmail_queue_file),
	    cmocka_unit_test_setup_teardown(test_store_held, tree_setup, tree_teardown),
	    cmocka_unit_test_setup_teardown(test_store_audit, tree_setup, tree_teardown),
	    cmocka_unit_test_setup_teardown(test_store_as_owner, tree_setup, tree_teardown),
	    cmocka_unit_test(test_text_clean),
	};
	int failed = cmocka_run_group_tests_name("postsuper", tests, NULL, NULL);
	if (pgtest_location() == NULL)
		return failed;
	/* The store's cases on PostgreSQL (make pg-test). */
	const struct CMUnitTest pg_tests[] = {
	    cmocka_unit_test(test_store_held_pg),
	    cmocka_unit_test(test_store_audit_pg),
	};
	return failed + cmocka_run_group_tests_name("postsuper on postgresql", pg_tests, NULL, NULL);
}
