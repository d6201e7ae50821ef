/*
 * store.c - picks a store backend by the scheme of its location and
 * forwards each call to it.  Adding a backend is one file plus one line in
 * the table below.
 */
#include <string.h>

#include "hostname.h"
#include "store_priv.h"

static const struct store_ops *const backends[] = {
    &store_sqlite_ops,
    &store_pg_ops,
    &store_postgres_ops,
};

const char *const store_quarantine_orders[STORE_ORDERS] = {
    [STORE_ORDER_OLDEST] = " ORDER BY created, id",
    [STORE_ORDER_NEWEST] = " ORDER BY created DESC, id DESC",
    [STORE_ORDER_SCORE] = " ORDER BY score DESC, created, id",
    [STORE_ORDER_SENDER] = " ORDER BY lower(sender), created, id",
};

/* The backend for LOCATION's scheme (a bare path is sqlite) and, in *PATH,
 * what follows the scheme; NULL with *ERR for an unknown scheme. */
static const struct store_ops *backend(const char *location, const char **path, char **err)
{
	const char *colon = strchr(location, ':');
	*path = location;
	if (colon == NULL || location[0] == '/' || location[0] == '.')
		return backends[0];
	size_t n = (size_t)(colon - location);
	*path = colon + 1;
	for (size_t i = 0; i < G_N_ELEMENTS(backends); i++)
		if (strlen(backends[i]->scheme) == n && strncmp(backends[i]->scheme, location, n) == 0)
			return backends[i];
	*err = g_strdup_printf("%s: unknown store type \"%.*s\"", location, (int)n, location);
	return NULL;
}

struct store *store_open(const char *location, char **err)
{
	const char *path;
	const struct store_ops *ops = backend(location, &path, err);
	return ops ? ops->open(path, err) : NULL;
}

bool store_probe(const char *location, char **detail, char **err)
{
	const char *path;
	const struct store_ops *ops = backend(location, &path, err);
	return ops ? ops->probe(path, detail, err) : false;
}

static _Thread_local bool failure_refused;

void store_note_failure(bool refused)
{
	failure_refused = refused;
}

bool store_failure_refused(void)
{
	return failure_refused;
}

bool store_read_only(struct store *st)
{
	return st->ops->read_only(st);
}

void store_close(struct store *st)
{
	if (st == NULL)
		return;
	char *host = st->host;
	st->ops->close(st);
	g_free(host);
}

void store_set_host(struct store *st, const char *name)
{
	g_free(st->host);
	st->host = name != NULL && *name ? g_strdup(name) : NULL;
}

const char *store_host(const struct store *st)
{
	return hostname_or_system(st->host);
}

int store_schema_version(struct store *st)
{
	return st->ops->schema_version(st);
}

void store_set_busy_timeout(struct store *st, int milliseconds)
{
	st->ops->set_busy_timeout(st, milliseconds);
}

void store_set_pool_size(struct store *st, int connections)
{
	g_assert(connections >= 1 && connections <= STORE_POOL_MAX);
	if (st->ops->set_pool_size != NULL)
		st->ops->set_pool_size(st, connections);
}

bool store_complaint_first(bool found, bool cur_unclear, gint64 cur_received, bool unclear, gint64 received)
{
	if (!found)
		return true;
	if (cur_unclear != unclear)
		return !unclear;
	return received > cur_received;
}

bool store_complaint_put(struct store *st, const struct store_complaint *c, char **err)
{
	return st->ops->complaint_put(st, c, err);
}

enum store_status store_complaint_find(struct store *st, const char *const *ids, size_t n_ids,
                                       struct store_complaint *out, char **err)
{
	return st->ops->complaint_find(st, ids, n_ids, out, err);
}

void store_complaint_clear(struct store_complaint *c)
{
	g_free(c->message_id);
	g_free(c->client_addr);
	g_free(c->client_domain);
	memset(c, 0, sizeof *c);
}

bool store_apology_put(struct store *st, const char *sender, const char *client_domain, gint64 when,
                       unsigned kinds, const char *complaint_ref, char **err)
{
	return st->ops->apology_put(st, sender, client_domain, when, kinds, complaint_ref, err);
}

bool store_history_get(struct store *st, const char *sender, const char *client_domain, gint64 since,
                       const char *exclude_ref, unsigned max, GArray *out, char **err)
{
	return st->ops->history_get(st, sender, client_domain, since, 0, exclude_ref, max, out, err);
}

bool store_history_before(struct store *st, const char *sender, const char *client_domain, gint64 since,
                          gint64 before, unsigned max, GArray *out, char **err)
{
	return st->ops->history_get(st, sender, client_domain, since, before, NULL, max, out, err);
}

bool store_quarantine_put(struct store *st, const struct store_quarantine *q, gint64 *id, char **err)
{
	return st->ops->quarantine_put(st, q, id, err);
}

enum store_status store_quarantine_get(struct store *st, const char *token, struct store_quarantine *out,
                                       char **err)
{
	return st->ops->quarantine_get(st, STORE_BY_TOKEN, token, out, err);
}

enum store_status store_quarantine_by_queue_id(struct store *st, const char *queue_id,
                                               struct store_quarantine *out, char **err)
{
	return st->ops->quarantine_get(st, STORE_BY_QUEUE_ID, queue_id, out, err);
}

bool store_quarantine_set_state(struct store *st, const char *token, const char *from, const char *to,
                                char **err)
{
	return st->ops->quarantine_set_state(st, token, from, to, err);
}

void store_quarantine_clear(struct store_quarantine *q)
{
	g_free(q->queue_id);
	g_free(q->message_id);
	g_free(q->token);
	g_free(q->sender);
	g_free(q->recipients);
	g_free(q->verdict);
	g_free(q->findings_json);
	g_free(q->new_text);
	if (q->findings)
		g_array_unref(q->findings);
	g_free(q->complaint_ref);
	g_free(q->raw);
	g_free(q->state);
	g_free(q->host);
	g_free(q->complaint_severity);
	g_free(q->complaint_text);
	memset(q, 0, sizeof *q);
}

bool store_review_put(struct store *st, gint64 quarantine_id, const char *reviewer, const char *action,
                      const char *note, gint64 when, char **err)
{
	return st->ops->review_put(st, quarantine_id, reviewer, action, note, when, err);
}

bool store_inflight_begin(struct store *st, const char *fingerprint, gint64 now, gint64 crashed_since,
                          unsigned *crashes, char **err)
{
	return st->ops->inflight_begin(st, fingerprint, now, crashed_since, crashes, err);
}

bool store_inflight_end(struct store *st, const char *fingerprint, char **err)
{
	return st->ops->inflight_end(st, fingerprint, err);
}

int store_inflight_recover(struct store *st, gint64 crashed_since, char **err)
{
	return st->ops->inflight_recover(st, crashed_since, err);
}

enum store_guard store_inflight_guard(struct store *st, char **why)
{
	return st->ops->inflight_guard(st, why);
}

bool store_prune(struct store *st, gint64 before, char **err)
{
	return st->ops->prune(st, before, err);
}

/* ---- review: lists, the audit trail, the outbox, statistics ---------- */

bool store_quarantine_list(struct store *st, const struct store_query *query, GPtrArray *out, char **err)
{
	return st->ops->quarantine_list(st, query, out, NULL, err);
}

bool store_quarantine_count(struct store *st, const struct store_query *query, gint64 *n, char **err)
{
	return st->ops->quarantine_list(st, query, NULL, n, err);
}

void store_quarantine_free(struct store_quarantine *q)
{
	if (q == NULL)
		return;
	store_quarantine_clear(q);
	g_free(q);
}

bool store_quarantine_findings(struct store *st, gint64 id, GArray *out, char **err)
{
	return st->ops->quarantine_findings(st, id, out, err);
}

void store_finding_clear(struct store_finding *f)
{
	g_free(f->rule);
	g_free(f->severity);
	g_free(f->excerpt);
	g_free(f->words);
	g_free(f->principle);
	g_free(f->advice);
	memset(f, 0, sizeof *f);
}

GArray *store_findings_new(void)
{
	GArray *f = g_array_new(FALSE, TRUE, sizeof(struct store_finding));
	g_array_set_clear_func(f, (GDestroyNotify)store_finding_clear);
	return f;
}

char *store_findings_rules(const GArray *f)
{
	GString *rules = g_string_new(NULL);
	for (guint i = 0; i < f->len; i++) {
		const char *r = g_array_index(f, struct store_finding, i).rule;
		bool seen = r == NULL;
		for (guint k = 0; k < i && !seen; k++)
			seen = g_strcmp0(g_array_index(f, struct store_finding, k).rule, r) == 0;
		if (!seen)
			g_string_append_printf(rules, "%s%s", rules->len ? "," : "", r);
	}
	return g_string_free(rules, FALSE);
}

bool store_review_list(struct store *st, gint64 quarantine_id, unsigned limit, GArray *out, char **err)
{
	return st->ops->review_list(st, quarantine_id, limit, out, err);
}

void store_review_clear(struct store_review *r)
{
	g_free(r->queue_id);
	g_free(r->sender);
	g_free(r->reviewer);
	g_free(r->action);
	g_free(r->note);
	memset(r, 0, sizeof *r);
}

bool store_outbox_put(struct store *st, const struct store_outbox *o, bool *added, char **err)
{
	return st->ops->outbox_put(st, o, added, err);
}

bool store_outbox_claim(struct store *st, gint64 id, gint64 seen_next_try, gint64 until, bool *claimed,
                        char **err)
{
	*claimed = false;
	return st->ops->outbox_claim(st, id, seen_next_try, until, claimed, err);
}

bool store_outbox_due(struct store *st, gint64 now, unsigned max, GArray *out, char **err)
{
	return st->ops->outbox_due(st, now, max, out, err);
}

bool store_outbox_backlog(struct store *st, gint64 *n, char **err)
{
	if (st->ops->outbox_backlog == NULL) {
		*err = g_strdup_printf("the %s store does not count its outbox", st->ops->scheme);
		return false;
	}
	return st->ops->outbox_backlog(st, n, err);
}

bool store_outbox_attempt(struct store *st, gint64 id, const char *state, gint64 next_try, const char *error,
                          char **err)
{
	return st->ops->outbox_attempt(st, id, state, next_try, error, err);
}

void store_outbox_clear(struct store_outbox *o)
{
	g_free(o->key);
	g_free(o->channel);
	g_free(o->event);
	g_free(o->target);
	g_free(o->payload);
	g_free(o->last_error);
	g_free(o->state);
	memset(o, 0, sizeof *o);
}

bool store_stats(struct store *st, enum store_stat what, gint64 since, unsigned limit, GArray *out,
                 char **err)
{
	return st->ops->stats(st, what, since, limit, out, err);
}

void store_count_clear(struct store_count *c)
{
	g_free(c->key);
	memset(c, 0, sizeof *c);
}

GArray *store_counts_new(void)
{
	GArray *a = g_array_new(FALSE, TRUE, sizeof(struct store_count));
	g_array_set_clear_func(a, (GDestroyNotify)store_count_clear);
	return a;
}

bool store_monitor_stats(struct store *st, enum store_stat what, gint64 since, unsigned limit, GArray *out,
                         char **err)
{
	return st->ops->monitor_stats(st, what, since, limit, out, err);
}

/* ---- reviewers' labels ------------------------------------------------ */

bool store_labels_put(struct store *st, const struct store_label *labels, size_t n, char **err)
{
	return n == 0 || st->ops->labels_put(st, labels, n, err);
}

bool store_labels_list(struct store *st, gint64 since, GArray *out, char **err)
{
	return st->ops->labels_list(st, since, out, err);
}

void store_label_clear(struct store_label *l)
{
	g_free(l->rule);
	g_free(l->verdict);
	g_free(l->action);
	g_free(l->reviewer);
	g_free(l->excerpt);
	memset(l, 0, sizeof *l);
}

GArray *store_labels_new(void)
{
	GArray *a = g_array_new(FALSE, TRUE, sizeof(struct store_label));
	g_array_set_clear_func(a, (GDestroyNotify)store_label_clear);
	return a;
}

bool store_label_precision(struct store *st, gint64 since, GArray *out, char **err)
{
	return st->ops->label_precision(st, since, out, err);
}

void store_precision_clear(struct store_precision *p)
{
	g_free(p->rule);
	g_free(p->example);
	memset(p, 0, sizeof *p);
}

GArray *store_precisions_new(void)
{
	GArray *a = g_array_new(FALSE, TRUE, sizeof(struct store_precision));
	g_array_set_clear_func(a, (GDestroyNotify)store_precision_clear);
	return a;
}

/* ---- decisions -------------------------------------------------------- */

bool store_decision_put(struct store *st, const struct store_decision *d, char **err)
{
	return st->ops->decision_put(st, d, err);
}

bool store_decisions_list(struct store *st, gint64 since, const char *verdict, GArray *out, char **err)
{
	return st->ops->decisions_list(st, since, verdict, out, err);
}

void store_decision_clear(struct store_decision *d)
{
	g_free(d->sender);
	g_free(d->client_domain);
	g_free(d->verdict);
	g_free(d->rules);
	g_free(d->key);
	memset(d, 0, sizeof *d);
}

GArray *store_decisions_new(void)
{
	GArray *a = g_array_new(FALSE, TRUE, sizeof(struct store_decision));
	g_array_set_clear_func(a, (GDestroyNotify)store_decision_clear);
	return a;
}

/* ---- failed log-ins of the review page -------------------------------- */

bool store_login_list(struct store *st, const char *name, const char *address, GArray *out, char **err)
{
	return st->ops->login_list(st, name, address, out, err);
}

bool store_login_put(struct store *st, const struct store_login *l, char **err)
{
	return st->ops->login_put(st, l, err);
}

bool store_login_forget(struct store *st, const char *name, const char *address, int *n, char **err)
{
	return st->ops->login_delete(st, name, address, 0, n, err);
}

bool store_login_prune(struct store *st, gint64 before, char **err)
{
	return st->ops->login_delete(st, NULL, NULL, before, NULL, err);
}

GArray *store_logins_new(void)
{
	GArray *a = g_array_new(FALSE, TRUE, sizeof(struct store_login));
	g_array_set_clear_func(a, (GDestroyNotify)store_login_clear);
	return a;
}

void store_login_clear(struct store_login *l)
{
	g_free(l->name);
	g_free(l->address);
	memset(l, 0, sizeof *l);
}

bool store_host_action_put(struct store *st, const struct store_host_action *a, gint64 *id, char **err)
{
	return st->ops->host_action_put(st, a, id, err);
}

enum store_status store_host_action_claim(struct store *st, const char *host, gint64 now, gint64 lease,
                                          struct store_host_action *out, char **err)
{
	g_assert(lease >= 1);
	return st->ops->host_action_claim(st, host, now, now - lease, out, err);
}

enum store_status store_host_action_done(struct store *st, const struct store_host_action *a, gint64 now,
                                         const char *result, char **err)
{
	g_assert(result != NULL);
	return st->ops->host_action_close(st, a->id, a->claimed_at, now, result, err);
}

enum store_status store_host_action_drop(struct store *st, const struct store_host_action *a, char **err)
{
	return st->ops->host_action_close(st, a->id, a->claimed_at, 0, NULL, err);
}

enum store_status store_host_action_last(struct store *st, gint64 quarantine_id,
                                         struct store_host_action *out, char **err)
{
	return st->ops->host_action_last(st, quarantine_id, out, err);
}

enum store_status store_helper_started(struct store *st, gint64 quarantine_id, const char *action,
                                       gint64 since, char **err)
{
	return st->ops->helper_started(st, quarantine_id, action, since, err);
}

void store_host_action_clear(struct store_host_action *a)
{
	char *owned[] = {a->host, a->verb, a->reviewer, a->comment, a->wrong, a->result};
	for (size_t i = 0; i < G_N_ELEMENTS(owned); i++)
		g_free(owned[i]);
	memset(a, 0, sizeof *a);
}
