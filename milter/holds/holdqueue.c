/*
 * holdqueue.c - the MTA's hold queue against the records of held mail (see
 * holdqueue.h).  Runs postqueue with an argument vector, never through a
 * shell, and reads its JSON lines with json-glib.
 */
#include <json-glib/json-glib.h>
#include <string.h>

#include "holdqueue.h"
#include "store.h"
#include "units.h"

bool holdqueue_run(char **argv, char **output, char **errors, char **err)
{
	GError *gerr = NULL;
	int status = 0;
	char *out = NULL, *errs = NULL;
	if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDIN_FROM_DEV_NULL, NULL, NULL, &out, &errs, &status,
	                  &gerr)) {
		*err = g_strdup_printf("%s: %s", argv[0], gerr->message);
		g_error_free(gerr);
		return false;
	}
	bool ok = g_spawn_check_wait_status(status, NULL);
	if (!ok)
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
	if (!holdqueue_run(argv, &out, NULL, err)) {
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
		bool ok = holdqueue_run(argv, &out, NULL, err);
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
				g_string_append_printf(report,
				                       "not held: message %" G_GINT64_FORMAT
				                       " (queue id %s) is held in the store but %s%s\n",
				                       q->id, q->queue_id,
				                       where ? "in the queue " : "gone from the queue",
				                       where ? where : "");
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
