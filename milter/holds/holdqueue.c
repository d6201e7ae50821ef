/*
 * holdqueue.c - the MTA's hold queue against the records of held mail (see
 * holdqueue.h).  Runs the MTA's commands (postqueue, sendmail, and for
 * quarantine.c the helper) with argument vectors, never through a shell,
 * each for a bounded time (a child watch, its pipes and two timers in a
 * main context of its own), and reads postqueue's JSON lines with
 * json-glib.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "holdqueue.h"
#include "store.h"
#include "units.h"

/* One MTA command under way (holdqueue_run): its output as read so far,
 * the ends of its pipes still open (-1 once at their end or given up), its
 * exit, and the last signal its process group was sent. */
struct mta_run {
	GString *text[2]; /* stdout, stderr */
	int fd[2];
	GSource *reader[2];
	GPid pid; /* also its process group */
	bool exited;
	int status;
	int signalled;      /* 0, SIGTERM or SIGKILL */
	bool interruptible; /* stopped by holdqueue_catch_interrupts()'s signal */
	bool interrupted;
	GMainContext *ctx;
	GSource *kill_after; /* SIGKILL after an interrupt's SIGTERM */
};

/* holdqueue_catch_interrupts(): the first signal caught, and a pipe it
 * writes to (never read: once written, it wakes every run that watches
 * it). */
static volatile sig_atomic_t interrupt_signal;
static int interrupt_pipe[2] = {-1, -1};

static void on_interrupt(int sig)
{
	if (interrupt_signal != 0) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	interrupt_signal = sig;
	int saved = errno;
	ssize_t n = write(interrupt_pipe[1], "!", 1);
	(void)n;
	errno = saved;
}

void holdqueue_catch_interrupts(void)
{
	if (interrupt_pipe[0] >= 0 || !g_unix_open_pipe(interrupt_pipe, FD_CLOEXEC, NULL))
		return;
	g_unix_set_fd_nonblocking(interrupt_pipe[1], TRUE, NULL);
	/* SA_RESTART: what the tool does meanwhile goes on (poll() is never
	 * restarted, so a run waiting in its main context wakes); each signal
	 * masks the others while its handler runs. */
	struct sigaction sa = {.sa_handler = on_interrupt, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaddset(&sa.sa_mask, SIGHUP);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

int holdqueue_interrupted(void)
{
	return interrupt_signal;
}

/* In the child, before exec: a process group of its own, so that stopping
 * it reaches whatever it started too. */
static void own_group(gpointer data)
{
	(void)data;
	setpgid(0, 0);
}

static void stop_reading(struct mta_run *r, int i)
{
	if (r->reader[i] != NULL) {
		g_source_destroy(r->reader[i]);
		g_clear_pointer(&r->reader[i], g_source_unref);
	}
	if (r->fd[i] >= 0)
		close(r->fd[i]);
	r->fd[i] = -1;
}

static gboolean read_pipe(gint fd, GIOCondition cond, gpointer data)
{
	(void)cond;
	struct mta_run *r = data;
	int i = fd == r->fd[1];
	char buf[65536];
	ssize_t n = read(fd, buf, sizeof buf);
	if (n > 0) {
		g_string_append_len(r->text[i], buf, n);
		return G_SOURCE_CONTINUE;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return G_SOURCE_CONTINUE;
	stop_reading(r, i);       /* its end, or an error */
	return G_SOURCE_CONTINUE; /* already destroyed */
}

static void child_exited(GPid pid, gint status, gpointer data)
{
	struct mta_run *r = data;
	r->status = status;
	r->exited = true;
	g_spawn_close_pid(pid);
}

/* The timeout: SIGTERM to the group, then (the grace over) SIGKILL, after
 * which its pipes are no longer read (a process of it that sudo runs as
 * root, out of reach, may still hold them). */
static gboolean stop_group(gpointer data)
{
	struct mta_run *r = data;
	r->signalled = r->signalled == 0 ? SIGTERM : SIGKILL;
	kill(-r->pid, r->signalled);
	if (r->signalled == SIGKILL) {
		stop_reading(r, 0);
		stop_reading(r, 1);
	}
	return G_SOURCE_REMOVE;
}

static GSource *attach(GMainContext *ctx, GSource *source, GSourceFunc func, struct mta_run *r)
{
	g_source_set_callback(source, func, r, NULL);
	g_source_attach(source, ctx);
	return source;
}

/* The interrupt: SIGTERM to the group now, SIGKILL after the grace. */
static gboolean interrupt_group(gint fd, GIOCondition cond, gpointer data)
{
	(void)fd;
	(void)cond;
	struct mta_run *r = data;
	r->interrupted = true;
	if (r->signalled == 0) {
		stop_group(r);
		r->kill_after = attach(r->ctx, g_timeout_source_new_seconds(HOLDQUEUE_GRACE), stop_group, r);
	}
	return G_SOURCE_REMOVE;
}

/* Start ARGV and wait, in R's main context, until its output is read (or given up) and
 * it is reaped, stopping it after TIMEOUT seconds; false with *ERR when it
 * cannot be started. */
static bool run_bounded(char **argv, gint64 timeout, struct mta_run *r, char **err)
{
	GMainContext *ctx = r->ctx;
	GError *gerr = NULL;
	if (!g_spawn_async_with_pipes(NULL, argv, NULL,
	                              G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL, own_group,
	                              NULL, &r->pid, NULL, &r->fd[0], &r->fd[1], &gerr)) {
		*err = g_strdup_printf("%s: %s", argv[0], gerr->message);
		g_error_free(gerr);
		return false;
	}
	for (int i = 0; i < 2; i++) {
		g_unix_set_fd_nonblocking(r->fd[i], TRUE, NULL);
		r->text[i] = g_string_new(NULL);
		r->reader[i] = attach(ctx, g_unix_fd_source_new(r->fd[i], G_IO_IN | G_IO_HUP | G_IO_ERR),
		                      G_SOURCE_FUNC(read_pipe), r);
	}
	GSource *watch = attach(ctx, g_child_watch_source_new(r->pid), G_SOURCE_FUNC(child_exited), r);
	guint ms = (guint)MIN(timeout, 24 * 3600) * 1000;
	GSource *term = attach(ctx, g_timeout_source_new(ms), stop_group, r);
	GSource *kill9 = attach(ctx, g_timeout_source_new(ms + HOLDQUEUE_GRACE * 1000), stop_group, r);
	GSource *interrupt = interrupt_pipe[0] < 0 || !r->interruptible
	                         ? NULL
	                         : attach(ctx, g_unix_fd_source_new(interrupt_pipe[0], G_IO_IN),
	                                  G_SOURCE_FUNC(interrupt_group), r);
	while (!r->exited || r->fd[0] >= 0 || r->fd[1] >= 0)
		g_main_context_iteration(ctx, TRUE);
	GSource *sources[] = {watch, term, kill9, interrupt, r->kill_after};
	for (size_t i = 0; i < G_N_ELEMENTS(sources); i++) {
		if (sources[i] == NULL)
			continue;
		g_source_destroy(sources[i]);
		g_source_unref(sources[i]);
	}
	return true;
}

bool holdqueue_run(char **argv, gint64 timeout, char **output, char **errors, char **err)
{
	return holdqueue_run_how(argv, timeout, 0, output, errors, NULL, err);
}

bool holdqueue_run_how(char **argv, gint64 timeout, unsigned how, char **output, char **errors, bool *stopped,
                       char **err)
{
	if (stopped)
		*stopped = false;
	if (timeout <= 0)
		timeout = HOLDQUEUE_TIMEOUT;
	bool interruptible = !(how & HOLDQUEUE_SAFE);
	if (interruptible && holdqueue_interrupted()) {
		*err = g_strdup_printf("%s: interrupted", argv[0]);
		return false;
	}
	GMainContext *ctx = g_main_context_new();
	g_main_context_push_thread_default(ctx);
	struct mta_run r = {.fd = {-1, -1}, .interruptible = interruptible, .ctx = ctx};
	bool started = run_bounded(argv, timeout, &r, err);
	g_main_context_pop_thread_default(ctx);
	g_main_context_unref(ctx);
	if (!started)
		return false;
	char *out = g_string_free(r.text[0], FALSE), *errs = g_string_free(r.text[1], FALSE);
	/* Exit 0 with all of its output is success, even when it came after
	 * SIGTERM: what the command was for was done. */
	bool ok = r.signalled != SIGKILL && g_spawn_check_wait_status(r.status, NULL);
	/* Stopped: it did not exit by itself with a failure (a refusal just as
	 * the signal came stays a refusal). */
	if (stopped)
		*stopped = !ok && r.signalled != 0 && !(WIFEXITED(r.status) && WEXITSTATUS(r.status) != 0);
	if (!ok && r.interrupted && r.signalled != 0)
		*err = g_strdup_printf("%s: interrupted; stopped", argv[0]);
	else if (!ok && r.signalled != 0)
		*err = g_strdup_printf("%s: did not finish within %" G_GINT64_FORMAT " s; stopped", argv[0],
		                       timeout);
	else if (!ok)
		*err = g_strdup_printf("%s: %s", argv[0], *g_strstrip(errs) ? errs : "failed");
	if (output)
		*output = out;
	else
		g_free(out);
	if (errors)
		*errors = errs;
	else
		g_free(errs);
	return ok;
}

/* The string member NAME of OBJECT, or NULL (missing, null or another
 * type). */
static const char *string_member(JsonObject *object, const char *name)
{
	JsonNode *node = json_object_get_member(object, name);
	if (node == NULL || JSON_NODE_HOLDS_VALUE(node) == FALSE ||
	    json_node_get_value_type(node) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(node);
}

GHashTable *holdqueue_parse(const char *text)
{
	GHashTable *queue = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	JsonParser *parser = json_parser_new_immutable();
	char **lines = g_strsplit(text, "\n", -1);
	for (int i = 0; lines[i]; i++) {
		if (*g_strstrip(lines[i]) == '\0' || !json_parser_load_from_data(parser, lines[i], -1, NULL))
			continue;
		JsonNode *root = json_parser_get_root(parser);
		if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root))
			continue;
		JsonObject *object = json_node_get_object(root);
		const char *name = string_member(object, "queue_name"),
		           *id = string_member(object, "queue_id");
		if (name && id)
			g_hash_table_replace(queue, g_strdup(id), g_strdup(name));
	}
	g_strfreev(lines);
	g_object_unref(parser);
	return queue;
}

static GHashTable *postfix_read(const struct holdqueue_mta *mta, char **err)
{
	char *argv[5] = {(char *)mta->postqueue};
	int n = 1;
	if (mta->postfix_config != NULL && *mta->postfix_config) {
		argv[n++] = "-c";
		argv[n++] = (char *)mta->postfix_config;
	}
	argv[n++] = "-j";
	char *out = NULL;
	if (!holdqueue_run_how(argv, mta->timeout, HOLDQUEUE_SAFE, &out, NULL, NULL, err)) {
		g_free(out);
		return NULL;
	}
	GHashTable *queue = holdqueue_parse(out);
	g_free(out);
	return queue;
}

/* Each entry of `sendmail -bp` starts a line with its id (eight of
 * Sendmail's queue-id characters, then the process id's digits), marked "*"
 * while being worked on, "X" when over the load limit, "-" when too young
 * to run, then blanks and its size.  ("X" is a queue-id character too:
 * only the digits tell where the id ends.) */
void holdqueue_parse_sendmail(GHashTable *queue, const char *out, const char *name)
{
	char **lines = g_strsplit(out, "\n", -1);
	for (int i = 0; lines[i]; i++) {
		const char *l = lines[i];
		size_t head = strspn(l, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx");
		if (head < 8)
			continue;
		size_t n = 8 + strspn(l + 8, "0123456789");
		size_t mark = strspn(l + n, "*X-");
		if (n >= 13 && mark <= 1 && (l[n + mark] == ' ' || l[n + mark] == '\t'))
			g_hash_table_replace(queue, g_strndup(l, n), g_strdup(name));
	}
	g_strfreev(lines);
}

static GHashTable *sendmail_read(const struct holdqueue_mta *mta, char **err)
{
	GHashTable *queue = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	for (int quarantined = 0; quarantined < 2; quarantined++) {
		char *argv[] = {(char *)mta->sendmail,      "-C", (char *)mta->sendmail_cf, "-bp",
		                quarantined ? "-qQ" : NULL, NULL};
		char *out = NULL;
		bool ok = holdqueue_run_how(argv, mta->timeout, HOLDQUEUE_SAFE, &out, NULL, NULL, err);
		if (ok)
			holdqueue_parse_sendmail(queue, out, quarantined ? "hold" : "deferred");
		g_free(out);
		if (!ok) {
			g_hash_table_unref(queue);
			return NULL;
		}
	}
	return queue;
}

GHashTable *holdqueue_read(const struct holdqueue_mta *mta, char **err)
{
	return mta->sendmail_cf && *mta->sendmail_cf ? sendmail_read(mta, err) : postfix_read(mta, err);
}

char *holdqueue_describe(const struct holdqueue_mta *mta)
{
	if (mta->sendmail_cf && *mta->sendmail_cf)
		return g_strdup_printf("%s -C %s -bp [-qQ]", mta->sendmail, mta->sendmail_cf);
	bool conf = mta->postfix_config && *mta->postfix_config;
	return g_strdup_printf("%s%s%s -j", mta->postqueue, conf ? " -c " : "",
	                       conf ? mta->postfix_config : "");
}

/* Append the line of a message held in the MTA with no record in the store:
 * with what the daemon's spool says about it (SPOOLED may be NULL), or that
 * the daemon is writing it (BEING_WRITTEN). */
static void no_record(GString *report, const char *queue_id, const struct store_quarantine *spooled,
                      bool being_written)
{
	g_string_append_printf(report, "no record: queue id %s is in the hold queue with no held record",
	                       queue_id);
	if (being_written) {
		g_string_append(report, "; the daemon is writing its record to the store now\n");
		return;
	}
	if (spooled == NULL) {
		g_string_append_printf(report, " (postcat -hq %s shows it)\n", queue_id);
		return;
	}
	char *when = units_format_time(spooled->created);
	g_string_append_printf(report,
	                       "; its record waits in the daemon's spool until the store can take it: "
	                       "token %s, from %s to %s, verdict %s, score %d, held %s\n",
	                       spooled->token, spooled->sender, spooled->recipients, spooled->verdict,
	                       spooled->score, when ? when : "?");
	g_free(when);
}

void holdqueue_keep_host(GPtrArray *held, const char *host)
{
	for (guint i = held->len; i-- > 0;) {
		const struct store_quarantine *q = held->pdata[i];
		if (q->host != NULL && strcmp(q->host, host) != 0)
			g_ptr_array_remove_index(held, i);
	}
}

unsigned holdqueue_reconcile(GHashTable *queue, const GPtrArray *held, GHashTable *pending,
                             const GPtrArray *spooled, struct holdqueue_counts *counts, GPtrArray *unknown,
                             GString *report)
{
	struct holdqueue_counts c = {0};
	unsigned lines = 0;
	GHashTable *recorded = g_hash_table_new(g_str_hash, g_str_equal);
	GHashTable *waiting = g_hash_table_new(g_str_hash, g_str_equal);
	for (guint i = 0; held && i < held->len; i++) {
		const struct store_quarantine *q = held->pdata[i];
		const char *where = g_hash_table_lookup(queue, q->queue_id);
		g_hash_table_add(recorded, q->queue_id);
		if (where == NULL || strcmp(where, "hold") != 0) {
			if (report != NULL)
				g_string_append_printf(
				    report,
				    "not held: message %" G_GINT64_FORMAT
				    " (queue id %s) is held in the store but %s%s"
				    " (apologyctl quarantine forget %" G_GINT64_FORMAT " records that)\n",
				    q->id, q->queue_id, where ? "in the queue " : "gone from the queue",
				    where ? where : "", q->id);
			c.gone++;
			lines++;
		}
	}
	for (guint i = 0; spooled && i < spooled->len; i++) {
		const struct store_quarantine *q = spooled->pdata[i];
		if (strcmp(q->state, "held") == 0)
			g_hash_table_insert(waiting, q->queue_id, (gpointer)q);
	}
	/* In queue id order, so that reports and lists read the same each time. */
	GList *ids = g_hash_table_get_keys(queue);
	ids = g_list_sort(ids, (GCompareFunc)strcmp);
	for (GList *l = ids; l; l = l->next) {
		const char *id = l->data;
		if (strcmp(g_hash_table_lookup(queue, id), "hold") != 0)
			continue;
		c.held++;
		if (g_hash_table_contains(recorded, id)) {
			c.recorded++;
			continue;
		}
		const struct store_quarantine *q = g_hash_table_lookup(waiting, id);
		bool writing = q == NULL && pending != NULL && g_hash_table_contains(pending, id);
		if (q != NULL)
			c.spooled++;
		else if (writing)
			c.being_written++;
		else
			c.unknown++;
		if (q == NULL && !writing && unknown != NULL)
			g_ptr_array_add(unknown, (gpointer)id);
		if (report != NULL)
			no_record(report, id, q, writing);
		lines++;
	}
	g_list_free(ids);
	g_hash_table_unref(recorded);
	g_hash_table_unref(waiting);
	if (counts != NULL)
		*counts = c;
	return lines;
}
