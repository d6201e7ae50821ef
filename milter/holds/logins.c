/*
 * logins.c - see logins.h.  The counts live in the store; this file
 * decides what a failure does to them (`apologyctl logins` is
 * milter/ctl/logins_cmd.c).
 */
#include <string.h>

#include "logins.h"

/* Serialises read-count-write of the records within one process (the
 * review page's worker threads); other processes only delete them. */
static GMutex count_lock;

void logins_count(struct store_login *l, int limit, gint64 now)
{
	if (MAX(l->last, l->locked_until) < now - LOGINS_FORGET)
		l->failures = 0;
	l->failures++;
	l->last = now;
	if (l->failures >= limit) {
		int doublings = MIN(l->failures - limit, 10);
		l->locked_until = now + MIN((gint64)LOGINS_LOCK_FIRST << doublings, LOGINS_LOCK_MAX);
	}
}

/* The record of NAME from ADDRESS into *OUT (a fresh one when there is
 * none); false on a store error. */
static bool load(struct store *st, const char *name, const char *address, struct store_login *out, char **err)
{
	GArray *rows = store_logins_new();
	bool ok = store_login_list(st, name, address, rows, err);
	memset(out, 0, sizeof *out);
	if (ok && rows->len > 0) {
		*out = g_array_index(rows, struct store_login, 0);
		g_array_index(rows, struct store_login, 0) = (struct store_login){0}; /* *OUT owns them */
	} else {
		out->name = g_strdup(name);
		out->address = g_strdup(address);
	}
	g_array_unref(rows);
	return ok;
}

/* What logins_locked() says, with count_lock held by the caller. */
static gint64 locked_for(struct store *st, const char *name, const char *address, gint64 now, char **err)
{
	const char *keys[] = {name, ""};
	gint64 until = 0;
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		struct store_login l;
		bool ok = load(st, keys[i], address, &l, err);
		until = MAX(until, l.locked_until);
		store_login_clear(&l);
		if (!ok)
			return -1;
	}
	return MAX(until - now, 0);
}

gint64 logins_locked(struct store *st, const char *name, const char *address, gint64 now, char **err)
{
	g_mutex_lock(&count_lock);
	gint64 left = locked_for(st, name, address, now, err);
	g_mutex_unlock(&count_lock);
	return left;
}

/* What of record L logins_succeeded() compares and puts back. */
static struct logins_state state_of(const struct store_login *l)
{
	return (struct logins_state){l->failures, l->last, l->locked_until};
}

/* One more failure of NAME from ADDRESS, LIMIT allowed; *LOCKED is set to
 * the lock it starts, and *L (may be NULL) says the record before and after. */
static bool count_one(struct store *st, const char *name, const char *address, int limit, gint64 now,
                      gint64 *locked, struct logins_locks *l_out, char **err)
{
	struct store_login l;
	bool ok = load(st, name, address, &l, err);
	if (ok) {
		struct logins_state before = state_of(&l);
		logins_count(&l, limit, now);
		*locked = l.failures >= limit ? l.locked_until - now : 0;
		if (l_out) {
			l_out->before = before;
			l_out->after = state_of(&l);
		}
		ok = store_login_put(st, &l, err);
	}
	store_login_clear(&l);
	return ok;
}

/* logins_failed() with count_lock held by the caller. */
static bool count_failure(const struct review_config *cfg, struct store *st, const char *name,
                          const char *address, gint64 now, struct logins_locks *started, char **err)
{
	*started = (struct logins_locks){0};
	return store_login_prune(st, now - LOGINS_FORGET, err) &&
	       count_one(st, name, address, cfg->login_failures, now, &started->name, NULL, err) &&
	       count_one(st, "", address, cfg->login_failures_per_address, now, &started->address, started,
	                 err);
}

bool logins_failed(const struct review_config *cfg, struct store *st, const char *name, const char *address,
                   gint64 now, struct logins_locks *started, char **err)
{
	g_mutex_lock(&count_lock);
	bool ok = count_failure(cfg, st, name, address, now, started, err);
	g_mutex_unlock(&count_lock);
	return ok;
}

gint64 logins_begin(const struct review_config *cfg, struct store *st, const char *name, const char *address,
                    gint64 now, struct logins_locks *started, char **err)
{
	*started = (struct logins_locks){0};
	g_mutex_lock(&count_lock);
	gint64 left = locked_for(st, name, address, now, err);
	if (left == 0 && !count_failure(cfg, st, name, address, now, started, err))
		left = -1;
	g_mutex_unlock(&count_lock);
	return left;
}

bool logins_succeeded(struct store *st, const char *name, const char *address,
                      const struct logins_locks *begun, char **err)
{
	g_mutex_lock(&count_lock);
	struct store_login l = {0};
	bool ok = store_login_forget(st, name, address, NULL, err) && load(st, "", address, &l, err);
	struct logins_state now = state_of(&l);
	if (ok && now.failures == begun->after.failures && now.last == begun->after.last &&
	    now.locked_until == begun->after.locked_until) {
		/* nothing counted since: the record as it was before */
		l.failures = begun->before.failures;
		l.last = begun->before.last;
		l.locked_until = begun->before.locked_until;
	} else if (ok && l.failures > 0) {
		/* others counted meanwhile: one failure fewer, and the lock this
		 * attempt started unless a later failure renewed it */
		l.failures--;
		if (l.locked_until == begun->after.locked_until)
			l.locked_until = begun->before.locked_until;
	}
	if (ok)
		ok = l.failures == 0 ? store_login_forget(st, "", address, NULL, err)
		                     : store_login_put(st, &l, err);
	store_login_clear(&l);
	g_mutex_unlock(&count_lock);
	return ok;
}
