/*
 * decisions.c - the daemon's decisions counted as store_stats() counts
 * held mail; see decisions.h.
 */
#include <string.h>
#include <time.h>

#include "decisions.h"

/* The key of decision D under WHAT: its week as the store counts weeks
 * ("2026-W09", weeks from Monday), or its sender in lower case. */
static char *decision_key(const struct store_decision *d, enum store_stat what)
{
	if (what == STORE_STAT_SENDER)
		return g_ascii_strdown(d->sender, -1);
	time_t t = (time_t)d->at;
	struct tm tm;
	char week[32] = "";
	if (gmtime_r(&t, &tm) != NULL)
		strftime(week, sizeof week, "%Y-W%W", &tm);
	return g_strdup(week);
}

static gint by_key(gconstpointer a, gconstpointer b)
{
	return strcmp(((const struct store_count *)a)->key, ((const struct store_count *)b)->key);
}

static gint by_count(gconstpointer a, gconstpointer b)
{
	const struct store_count *x = a, *y = b;
	return x->n != y->n ? (x->n < y->n ? 1 : -1) : strcmp(x->key, y->key);
}

void decisions_count(const GArray *decisions, enum store_stat what, GArray *out)
{
	GHashTable *n = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (guint i = 0; i < decisions->len; i++) {
		const struct store_decision *d = &g_array_index(decisions, struct store_decision, i);
		char **keys = what == STORE_STAT_RULE ? g_strsplit(d->rules, ",", -1) : NULL;
		char *one[] = {keys ? NULL : decision_key(d, what), NULL};
		for (char **k = keys ? keys : one; *k != NULL; k++) {
			if (**k == '\0')
				continue;
			gpointer had = g_hash_table_lookup(n, *k);
			g_hash_table_replace(n, g_strdup(*k), GSIZE_TO_POINTER(GPOINTER_TO_SIZE(had) + 1));
		}
		g_strfreev(keys);
		g_free(one[0]);
	}
	GHashTableIter it;
	gpointer key, value;
	g_hash_table_iter_init(&it, n);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		struct store_count c = {g_strdup(key), (gint64)GPOINTER_TO_SIZE(value)};
		g_array_append_val(out, c);
	}
	g_array_sort(out, what == STORE_STAT_WEEK ? by_key : by_count);
	g_hash_table_unref(n);
}
