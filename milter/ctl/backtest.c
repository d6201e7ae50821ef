/*
 * backtest.c - `apologyctl backtest`: the policy run over a mail archive as
 * the milter would have judged it, the whole pipeline (apology_check(), as
 * the daemon calls it) with what the milter's store would have known.
 *
 *   1. index     read every source once (util/mailbox.c), each message's
 *                header block only: sender, date, Message-ID, references.
 *                A message from a sender being checked (--sender globs, or
 *                the policy's applies-to.senders) is outgoing, to be
 *                judged; any other is inbound mail, a possible complaint.
 *   2. inbound   the inbound messages some reply refers to are read and
 *                classified as the milter classifies arriving mail
 *                (apology_classify_inbound()), in parallel.
 *   3. judge     each reply gets the complaint it answers (the newest one
 *                among its In-Reply-To and References, as the store finds
 *                it) and the apology history of its sender towards that
 *                client.  Replies are grouped by (sender, client domain)
 *                and each group is judged in date order by one worker, so
 *                the history is the archive's own and the results do not
 *                depend on the number of workers.
 *   4. report    the summary, the policy diff, results.jsonl and index.html
 *                (backtest_report.c), in the archive's order.
 *
 * What it must not do: change anything (no store, no MTA), hold a whole
 * archive in memory, or stop at a bad message (it is counted and named).
 */
#include <errno.h>
#include <iconv.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "backtest.h"
#include "ctl.h"
#include "store.h"
#include "mailbox.h"
#include "opts.h"
#include "policy.h"
#include "render.h"
#include "termtext.h"
#include "units.h"

/* As the milter: limits.max-message-size, history.window, the history read
 * per reply, the references kept per message (daemon/config.c, filter.c). */
#define BT_MAX_MESSAGE    (10 * 1024 * 1024)
#define BT_HISTORY_WINDOW (180 * 86400)
#define BT_MAX_HISTORY    200
#define BT_MAX_REFS       20
/* Bytes of each message's header block read while indexing. */
#define BT_MAX_HEAD (256 * 1024)

static const char usage_text[] =
    "usage: apologyctl backtest [--policy NEW] [--against OLD] [--jobs N] [--since DATE]\n"
    "                           [--sender GLOB]... [--report DIR] SOURCE... | -\n"
    "\n"
    "Run the policy over a mail archive as the milter would have judged it: every reply\n"
    "from a sender being checked, with the complaint it answers found in the archive by\n"
    "In-Reply-To/References and the archive's own apology history, in date order.\n"
    "SOURCE is an mbox file, a Maildir, a directory of .eml files or a message file;\n"
    "- reads such paths from standard input, one a line.\n"
    "  --policy NEW     the policy to try (default as for check)\n"
    "  --against OLD    also judge with OLD and report the messages whose verdict changes\n"
    "  --jobs N         worker threads (default: one per CPU)\n"
    "  --since DATE     judge only messages dated on or after DATE (RFC 3339 or YYYY-MM-DD);\n"
    "                   earlier complaints still count\n"
    "  --sender GLOB    the senders being checked (repeatable; default: the policy's\n"
    "                   applies-to.senders); mail from anyone else is read as inbound\n"
    "  --report DIR     write DIR/results.jsonl and DIR/index.html\n"
    "Exit status: 0 done; 64 usage, 66 a source cannot be read, 73 the report cannot be\n"
    "written, 78 a policy does not load.\n";

static int usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "apologyctl backtest: %s\n", msg);
	fputs(usage_text, stderr);
	return EX_USAGE;
}

/* 64-bit FNV-1a: Message-IDs compared by hash (a clash is one in 2^64). */
static guint64 id_hash(const char *s, size_t n)
{
	guint64 h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h ? h : 1;
}

static const char *intern(struct bt_run *run, const char *s)
{
	const char *known = g_hash_table_lookup(run->interned, s);
	if (known == NULL) {
		known = g_string_chunk_insert(run->strings, s);
		g_hash_table_add(run->interned, (gpointer)known);
	}
	return known;
}

char *bt_item_place(const struct bt_run *run, const struct bt_item *it)
{
	const struct bt_file *f = &g_array_index(run->files, struct bt_file, it->file);
	if (it->flags & BT_MBOX)
		return g_strdup_printf("%s:%" G_GINT64_FORMAT, f->path, (gint64)it->offset);
	return g_strdup(f->path);
}

/* ---- 1. index ----------------------------------------------------------- */

struct indexing {
	struct bt_run *run;
	const char *source;
};

/* Judged: mail from a sender being checked, and mail whose sender cannot be
 * read (nothing is skipped unseen: it is judged, usually unchecked). */
static bool is_outgoing(const struct bt_run *run, const char *from)
{
	if (*from == '\0')
		return true;
	if (run->senders->len == 0)
		return policy_applies_to_sender(run->pol[BT_NEW], from);
	for (guint i = 0; i < run->senders->len; i++)
		if (g_pattern_spec_match_string(run->senders->pdata[i], from))
			return true;
	return false;
}

static const char *domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at ? at + 1 : "";
}

/* The ids of an In-Reply-To or References value, in order. */
static void add_refs(struct bt_run *run, struct bt_item *it, const char *value, bool reverse)
{
	GArray *found = g_array_new(FALSE, FALSE, sizeof(guint64));
	for (const char *p = value; (p = strchr(p, '<')) != NULL;) {
		const char *end = strchr(p, '>');
		if (end == NULL)
			break;
		if (end - p > 1 && end - p < 1000) {
			guint64 h = id_hash(p + 1, (size_t)(end - p - 1));
			g_array_append_val(found, h);
		}
		p = end + 1;
	}
	for (guint i = 0; i < found->len; i++) {
		guint64 h = g_array_index(found, guint64, reverse ? found->len - 1 - i : i);
		bool seen = false;
		for (guint j = 0; j < it->n_refs && !seen; j++)
			seen = g_array_index(run->refs, guint64, it->refs + j) == h;
		if (!seen && it->n_refs < BT_MAX_REFS) {
			g_array_append_val(run->refs, h);
			it->n_refs++;
		}
	}
	g_array_free(found, TRUE);
}

/* The client of a reply: the first recipient domain not the sender's own. */
static const char *client_domain(const struct message *msg)
{
	const char *own = domain_of(msg->from);
	for (guint i = 0; i < msg->recipient_domains->len; i++)
		if (g_ascii_strcasecmp(msg->recipient_domains->pdata[i], own) != 0)
			return msg->recipient_domains->pdata[i];
	return msg->recipient_domains->len ? msg->recipient_domains->pdata[0] : "";
}

/* As the milter's scope: a reply is judged when a recipient outside the
 * sender's own domain is one the policy applies to
 * (applies-to.recipient-domains); mail with no recipient header is judged
 * (nothing says it stayed inside). */
static bool to_a_client(const struct bt_run *run, const struct message *msg)
{
	const char *own = domain_of(msg->from);
	for (guint i = 0; i < msg->recipient_domains->len; i++) {
		const char *d = msg->recipient_domains->pdata[i];
		if (g_ascii_strcasecmp(d, own) != 0 && policy_applies_to_domain(run->pol[BT_NEW], d))
			return true;
	}
	return msg->recipient_domains->len == 0;
}

static guint32 file_index(struct bt_run *run, const char *path, const char *source)
{
	if (run->files->len > 0) {
		const struct bt_file *last = &g_array_index(run->files, struct bt_file, run->files->len - 1);
		if (strcmp(last->path, path) == 0 && strcmp(last->source, source) == 0)
			return run->files->len - 1;
	}
	struct bt_file f = {intern(run, path), intern(run, source)};
	g_array_append_val(run->files, f);
	return run->files->len - 1;
}

static bool index_entry(void *arg, const struct mailbox_entry *e)
{
	struct indexing *ix = arg;
	struct bt_run *run = ix->run;
	struct bt_item it = {
	    .file = file_index(run, e->path, ix->source),
	    .flags = (e->in_mbox ? BT_MBOX : 0) | (e->length > BT_MAX_MESSAGE ? BT_OVERSIZE : 0),
	    .offset = e->offset,
	    .length = e->length,
	    .answers = {BT_NONE, BT_NONE},
	    .json_at = -1,
	    .row_at = -1,
	};
	struct message msg;
	bt_head_parse(e->head, e->head_len, &msg);
	it.date = msg.date;
	it.message_id = g_string_chunk_insert(run->strings, msg.message_id); /* unique: not interned */
	it.id_hash = *msg.message_id ? id_hash(msg.message_id, strlen(msg.message_id)) : 0;
	it.sender = intern(run, msg.from);
	guint32 index = run->items->len;
	if (is_outgoing(run, msg.from) && it.id_hash) {
		/* the same reply in two folders (Sent and All Mail): judged once */
		guint64 *key = g_new(guint64, 1);
		*key = it.id_hash ^ id_hash(msg.from, strlen(msg.from));
		if (!g_hash_table_add(run->outgoing_ids, key)) {
			run->copies++;
			message_clear(&msg);
			run->read++;
			return true;
		}
	}
	if (is_outgoing(run, msg.from)) {
		it.flags |= BT_OUTGOING;
		it.client = intern(run, client_domain(&msg));
		it.refs = run->refs->len;
		if (*msg.in_reply_to) {
			char *irt = g_strconcat("<", msg.in_reply_to, ">", NULL);
			add_refs(run, &it, irt, false);
			g_free(irt);
		}
		add_refs(run, &it, msg.references, true);
		if (run->since != G_MININT64 && it.date < run->since)
			it.flags |= BT_EARLY;
		if (!to_a_client(run, &msg))
			it.flags |= BT_INTERNAL;
	} else {
		it.client = intern(run, domain_of(msg.from));
		run->inbound_n++;
		if (it.id_hash) {
			guint64 *key = g_new(guint64, 1);
			*key = it.id_hash;
			g_hash_table_replace(run->inbound_by_id, key, GINT_TO_POINTER(index + 1));
		}
	}
	message_clear(&msg);
	g_array_append_val(run->items, it);
	run->read++;
	if (run->progress && run->read % 1000 == 0)
		fprintf(stderr, "\rbacktest: reading, %" G_GINT64_FORMAT " messages", run->read);
	return true;
}

static void index_source(struct bt_run *run, const char *source)
{
	struct indexing ix = {run, source};
	char *err = NULL;
	if (!mailbox_scan(source, BT_MAX_HEAD, index_entry, &ix, &err)) {
		fprintf(stderr, "apologyctl backtest: %s\n", err);
		g_ptr_array_add(run->source_errors, err);
	}
}

/* "-": the sources are the paths on standard input, one a line. */
static void index_stdin(struct bt_run *run)
{
	char line[4096];
	while (fgets(line, sizeof line, stdin) != NULL) {
		g_strchomp(line);
		if (*line)
			index_source(run, intern(run, line));
	}
}

/* ---- the workers ---------------------------------------------------------- */

/* Run WORK(run, i, buffer) for i in [0, n) on run->jobs threads, with a
 * progress line while they run. */
typedef void (*work_fn)(struct bt_run *run, guint i, GByteArray *buf);

struct pool {
	struct bt_run *run;
	work_fn work;
	guint n;
	gint next;
};

static gpointer worker(gpointer arg)
{
	struct pool *p = arg;
	GByteArray *buf = g_byte_array_new();
	for (;;) {
		guint i = (guint)g_atomic_int_add(&p->next, 1);
		if (i >= p->n)
			break;
		p->work(p->run, i, buf);
	}
	g_byte_array_unref(buf);
	return NULL;
}

static void progress_line(struct bt_run *run, const char *what, gint64 started, bool last)
{
	gint done = g_atomic_int_get(&run->done), total = run->total;
	double secs = (double)(g_get_monotonic_time() - started) / G_USEC_PER_SEC;
	double rate = secs > 0 ? done / secs : 0;
	int eta = rate > 0 ? (int)((total - done) / rate) : 0;
	fprintf(stderr, "\r\033[Kbacktest: %s %d/%d  %.0f msg/s  ETA %d:%02d%s", what, done, total, rate,
	        eta / 60, eta % 60, last ? "\n" : "");
}

static void run_pool(struct bt_run *run, const char *what, work_fn work, guint n, guint total)
{
	struct pool p = {run, work, n, 0};
	run->done = 0;
	run->total = (gint)total;
	unsigned jobs = MAX(1u, MIN(run->jobs, n));
	GThread **threads = g_new(GThread *, jobs);
	gint64 started = g_get_monotonic_time();
	for (unsigned t = 0; t < jobs; t++)
		threads[t] = g_thread_new("backtest", worker, &p);
	while (run->progress && g_atomic_int_get(&run->done) < run->total) {
		progress_line(run, what, started, false);
		g_usleep(G_USEC_PER_SEC / 5);
	}
	for (unsigned t = 0; t < jobs; t++)
		g_thread_join(threads[t]);
	if (run->progress && total > 0)
		progress_line(run, what, started, true);
	g_free(threads);
}

static struct mailbox_entry entry_of(const struct bt_run *run, const struct bt_item *it)
{
	struct mailbox_entry e = {
	    .path = g_array_index(run->files, struct bt_file, it->file).path,
	    .in_mbox = (it->flags & BT_MBOX) != 0,
	    .offset = it->offset,
	    .length = it->length,
	};
	return e;
}

/* ---- 2. inbound ------------------------------------------------------------ */

/* Note the inbound messages replies refer to, and each reply's client: the
 * domain of the message it answers when that is in the archive. */
static void find_referenced(struct bt_run *run)
{
	for (guint i = 0; i < run->items->len; i++) {
		struct bt_item *it = &g_array_index(run->items, struct bt_item, i);
		bool first = true;
		if (!(it->flags & BT_OUTGOING))
			continue;
		for (guint r = 0; r < it->n_refs; r++) {
			guint64 h = g_array_index(run->refs, guint64, it->refs + r);
			gpointer found = g_hash_table_lookup(run->inbound_by_id, &h);
			if (found == NULL)
				continue;
			guint32 k = (guint32)(GPOINTER_TO_INT(found) - 1);
			struct bt_item *in = &g_array_index(run->items, struct bt_item, k);
			if (first && *in->client)
				it->client = in->client;
			first = false;
			if (!(in->flags & BT_REFERENCED)) {
				struct bt_inbound rec = {.item = k};
				in->flags |= BT_REFERENCED;
				in->answers[0] = (gint32)run->inbound->len;
				g_array_append_val(run->inbound, rec);
			}
		}
	}
}

static void classify_one(struct bt_run *run, guint i, GByteArray *buf)
{
	struct bt_inbound *rec = &g_array_index(run->inbound, struct bt_inbound, i);
	struct bt_item *it = &g_array_index(run->items, struct bt_item, rec->item);
	struct mailbox_entry e = entry_of(run, it);
	char *err = NULL;
	if (!(it->flags & BT_OVERSIZE) && mailbox_read(&e, buf, &err)) {
		for (int p = 0; p < BT_POLICIES && run->pol[p]; p++) {
			struct inbound in;
			apology_classify_inbound(run->pol[p], (const char *)buf->data, buf->len, NULL, &in);
			rec->complaint[p] = in.complaint;
			rec->complaint[p].detected = in.parsed && in.complaint.detected;
			inbound_clear(&in);
		}
	}
	g_free(err);
	g_atomic_int_inc(&run->done);
}

/* The complaint each reply answers under policy P: of the inbound messages
 * it refers to that read as complaints, the newest (as store_complaint_find). */
static void match_complaints(struct bt_run *run, int p)
{
	for (guint i = 0; i < run->items->len; i++) {
		struct bt_item *it = &g_array_index(run->items, struct bt_item, i);
		if (!(it->flags & BT_OUTGOING))
			continue;
		gint64 newest = G_MININT64;
		bool have = false, unclear = false;
		for (guint r = 0; r < it->n_refs; r++) {
			guint64 h = g_array_index(run->refs, guint64, it->refs + r);
			gpointer found = g_hash_table_lookup(run->inbound_by_id, &h);
			if (found == NULL)
				continue;
			guint32 k = (guint32)(GPOINTER_TO_INT(found) - 1);
			const struct bt_item *in = &g_array_index(run->items, struct bt_item, k);
			if (in->answers[0] == BT_NONE)
				continue;
			const struct bt_inbound *rec =
			    &g_array_index(run->inbound, struct bt_inbound, in->answers[0]);
			const struct complaint *c = &rec->complaint[p];
			if (c->detected &&
			    store_complaint_first(have, unclear, newest, !c->clear, in->date)) {
				have = true;
				newest = in->date;
				unclear = !c->clear;
				it->answers[p] = (gint32)k;
			}
		}
	}
}

/* ---- 3. judge --------------------------------------------------------------- */

/* An earlier apology of a (sender, client) chain. */
struct apology {
	gint64 when;
	unsigned kinds;
	guint64 thread; /* hash of the complaint it answered, 0 when unknown */
};

/* A chain: the replies of one sender to one client, in date order. */
struct chain {
	guint32 first, n; /* into run's chain order */
};

static gint compare_chain_order(gconstpointer a, gconstpointer b, gpointer data)
{
	const struct bt_run *run = data;
	guint32 i = *(const guint32 *)a, j = *(const guint32 *)b;
	const struct bt_item *x = &g_array_index(run->items, struct bt_item, i);
	const struct bt_item *y = &g_array_index(run->items, struct bt_item, j);
	int c = strcmp(x->sender, y->sender);
	if (c == 0)
		c = strcmp(x->client, y->client);
	if (c == 0 && x->date != y->date)
		c = x->date < y->date ? -1 : 1;
	if (c == 0)
		c = i < j ? -1 : i > j;
	return c;
}

static gint compare_chain_size(gconstpointer a, gconstpointer b)
{
	const struct chain *x = a, *y = b;
	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return x->first < y->first ? -1 : 1;
}

static void build_chains(struct bt_run *run)
{
	run->chain_order = g_array_new(FALSE, FALSE, sizeof(guint32));
	run->chains = g_array_new(FALSE, FALSE, sizeof(struct chain));
	for (guint32 i = 0; i < run->items->len; i++) {
		const struct bt_item *it = &g_array_index(run->items, struct bt_item, i);
		if ((it->flags & BT_OUTGOING) && !(it->flags & (BT_EARLY | BT_INTERNAL)))
			g_array_append_val(run->chain_order, i);
	}
	g_array_sort_with_data(run->chain_order, compare_chain_order, run);
	for (guint k = 0; k < run->chain_order->len; k++) {
		const struct bt_item *it =
		    &g_array_index(run->items, struct bt_item, g_array_index(run->chain_order, guint32, k));
		struct chain *last =
		    run->chains->len ? &g_array_index(run->chains, struct chain, run->chains->len - 1) : NULL;
		const struct bt_item *head =
		    last ? &g_array_index(run->items, struct bt_item,
		                          g_array_index(run->chain_order, guint32, last->first))
		         : NULL;
		if (head && head->sender == it->sender && head->client == it->client) {
			last->n++;
		} else {
			struct chain c = {k, 1};
			g_array_append_val(run->chains, c);
		}
	}
	/* The longest first, so that one long chain does not finish last alone. */
	g_array_sort(run->chains, compare_chain_size);
}

/* The history the store would give for a reply at NOW in thread THREAD:
 * apologies since NOW - history.window, not for the same complaint, newest
 * first, at most BT_MAX_HISTORY. */
static void history_for(const GArray *chain_history, gint64 now, guint64 thread, GArray *out)
{
	g_array_set_size(out, 0);
	for (guint k = chain_history->len; k > 0 && out->len < BT_MAX_HISTORY; k--) {
		const struct apology *a = &g_array_index(chain_history, struct apology, k - 1);
		if (a->when < now - BT_HISTORY_WINDOW)
			break;
		if (thread && a->thread == thread)
			continue;
		struct history_entry h = {a->when, a->kinds};
		g_array_append_val(out, h);
	}
}

/* Record the apology of a reply (as store_apology_put: one per complaint),
 * and forget those out of the window. */
static void history_add(GArray *chain_history, gint64 when, unsigned kinds, guint64 thread)
{
	for (guint k = 0; thread && k < chain_history->len; k++)
		if (g_array_index(chain_history, struct apology, k).thread == thread)
			return;
	struct apology a = {when, kinds, thread};
	g_array_append_val(chain_history, a);
	guint old = 0;
	while (old < chain_history->len &&
	       g_array_index(chain_history, struct apology, old).when < when - BT_HISTORY_WINDOW)
		old++;
	g_array_remove_range(chain_history, 0, old);
}

static void unchecked_decision(struct decision *d, const char *reason)
{
	memset(d, 0, sizeof *d);
	d->verdict = VERDICT_UNCHECKED;
	d->reason = reason;
	d->complaint.sent = -1;
	d->complaint.answers = NAN;
	d->findings = g_array_new(FALSE, TRUE, sizeof(struct finding));
	d->text = g_strdup("");
}

static guint32 rule_bits(const struct decision *d)
{
	guint32 bits = 0;
	for (guint i = 0; i < d->findings->len; i++)
		bits |= 1u << g_array_index(d->findings, struct finding, i).rule;
	return bits;
}

static gint64 week_of(gint64 t)
{
	if (t < 0)
		return -1;
	gint64 days = t / 86400;
	return (days - ((days + 3) % 7)) * 86400; /* 1970-01-01 was a Thursday */
}

static struct bt_counts *counts_in(GHashTable *t, gpointer key)
{
	struct bt_counts *c = g_hash_table_lookup(t, key);
	if (c == NULL) {
		c = g_new0(struct bt_counts, 1);
		g_hash_table_insert(t, key, c);
	}
	return c;
}

static void count(struct bt_run *run, int p, const struct bt_item *it, const struct decision *d)
{
	struct bt_stats *s = &run->stats[p];
	s->all.n[d->verdict]++;
	counts_in(s->per_sender, (gpointer)it->sender)->n[d->verdict]++;
	gint64 week = week_of(it->date);
	if (!g_hash_table_contains(s->per_week, &week))
		g_hash_table_insert(s->per_week, g_memdup2(&week, sizeof week), g_new0(struct bt_counts, 1));
	counts_in(s->per_week, &week)->n[d->verdict]++;
	guint32 bits = rule_bits(d);
	for (int r = 0; r < RULE_COUNT; r++) {
		if (!(bits & (1u << r)))
			continue;
		if (d->verdict == VERDICT_HOLD)
			s->rule_hold[r]++;
		else if (d->verdict == VERDICT_ADVISE)
			s->rule_advise[r]++;
	}
	if (d->verdict == VERDICT_UNCHECKED) {
		gpointer n = g_hash_table_lookup(s->unchecked, d->reason);
		g_hash_table_insert(s->unchecked, (gpointer)d->reason,
		                    GINT_TO_POINTER(GPOINTER_TO_INT(n) + 1));
		if (p == BT_NEW) {
			struct bt_unchecked u = {
			    (guint32)(it - &g_array_index(run->items, struct bt_item, 0)), d->reason};
			g_array_append_val(run->unchecked_items, u);
		}
	}
}

/* The words of the first finding of a rule in BITS, or "". */
static const char *first_excerpt(const struct decision *d, guint32 bits)
{
	for (guint i = 0; i < d->findings->len; i++) {
		const struct finding *f = &g_array_index(d->findings, struct finding, i);
		if ((bits & (1u << f->rule)) && f->excerpt && *f->excerpt)
			return f->excerpt;
	}
	return "";
}

static void append_rules(GString *out, guint32 bits, const char *sign)
{
	for (int r = 0; r < RULE_COUNT; r++)
		if (bits & (1u << r))
			g_string_append_printf(out, " %s%s", sign, rule_name((enum rule_id)r));
}

/* A message whose verdict changes: counted by direction and rule, and kept
 * as an example when among the first BT_EXAMPLES of its direction. */
static void note_change(struct bt_run *run, guint32 index, const struct bt_item *it, const struct decision *d)
{
	int was = it->verdict[BT_OLD], now = it->verdict[BT_NEW];
	guint32 added = it->rules[BT_NEW] & ~it->rules[BT_OLD],
	        removed = it->rules[BT_OLD] & ~it->rules[BT_NEW];
	run->changes[was][now]++;
	for (int r = 0; r < RULE_COUNT; r++) {
		run->rule_added[r] += (added >> r) & 1;
		run->rule_removed[r] += (removed >> r) & 1;
	}
	GArray *ex = run->change_examples[was][now];
	if (ex->len == BT_EXAMPLES && g_array_index(ex, struct bt_change, ex->len - 1).item < index)
		return;
	GString *line = g_string_new(NULL);
	char *place = bt_item_place(run, it);
	termtext_append(line, place, -1);
	g_string_append(line, " <");
	termtext_append(line, it->message_id, -1);
	g_string_append(line, ">:");
	append_rules(line, added, "+");
	append_rules(line, removed, "-");
	const char *words = first_excerpt(&d[BT_NEW], added);
	if (*words == '\0')
		words = first_excerpt(&d[BT_OLD], removed);
	if (*words) {
		g_string_append(line, " \"");
		termtext_append(line, words, -1);
		g_string_append_c(line, '"');
	}
	g_free(place);
	struct bt_change c = {index, g_string_free(line, FALSE)};
	guint at = 0;
	while (at < ex->len && g_array_index(ex, struct bt_change, at).item < index)
		at++;
	g_array_insert_val(ex, at, c);
	if (ex->len > BT_EXAMPLES) {
		g_free(g_array_index(ex, struct bt_change, BT_EXAMPLES).line);
		g_array_set_size(ex, BT_EXAMPLES);
	}
}

/* The JSON line of a message: check's, with where it came from and, with
 * --against, the other policy's verdict and rules. */
static void json_line(GString *out, const struct bt_run *run, const struct bt_item *it,
                      const struct decision *d, int n_history)
{
	const struct bt_file *f = &g_array_index(run->files, struct bt_file, it->file);
	ctl_json_decision(out, f->path, run->pol[BT_NEW], &d[BT_NEW]);
	JsonBuilder *b = json_builder_new();
	json_builder_begin_object(b);
	ctl_json_member_string(b, "source", f->source);
	if (it->flags & BT_MBOX)
		ctl_json_member_int(b, "offset", (gint64)it->offset);
	ctl_json_member_int(b, "length", (gint64)it->length);
	char *date = units_format_time(it->date);
	const char *const strings[][2] = {
	    {"message_id", it->message_id},
	    {"sender", it->sender},
	    {"client", it->client},
	    {"date", date},
	    {"complaint_ref", it->answers[BT_NEW] != BT_NONE
	                          ? g_array_index(run->items, struct bt_item, it->answers[BT_NEW]).message_id
	                          : NULL},
	};
	ctl_json_member_strings(b, strings, G_N_ELEMENTS(strings));
	g_free(date);
	ctl_json_member_int(b, "history", n_history);
	if (run->pol[BT_OLD]) {
		json_builder_set_member_name(b, "against");
		json_builder_begin_object(b);
		ctl_json_member_string(b, "verdict", verdict_name(d[BT_OLD].verdict));
		ctl_json_member_int(b, "score", d[BT_OLD].score);
		json_builder_set_member_name(b, "rules");
		json_builder_begin_array(b);
		for (int r = 0; r < RULE_COUNT; r++)
			if (it->rules[BT_OLD] & (1u << r))
				ctl_json_add_string(b, rule_name((enum rule_id)r));
		json_builder_end_array(b);
		json_builder_end_object(b);
	}
	json_builder_end_object(b);
	ctl_json_extend(out, b);
	g_object_unref(b);
	g_string_append_c(out, '\n');
}

static gint64 spool(FILE *f, const GString *s)
{
	gint64 at = ftello(f);
	if (fwrite(s->str, 1, s->len, f) != s->len)
		return -1;
	return at;
}

/* Everything about one judged message, under the lock. */
static void record(struct bt_run *run, guint32 index, struct bt_item *it, struct decision *d, int n_history)
{
	GString *json = g_string_new(NULL), *row = g_string_new(NULL);
	if (run->report_dir) {
		json_line(json, run, it, d, n_history);
		if (d[BT_NEW].verdict == VERDICT_HOLD || d[BT_NEW].verdict == VERDICT_ADVISE)
			bt_report_row(row, run, it, &d[BT_NEW]);
	}
	g_mutex_lock(&run->lock);
	for (int p = 0; p < BT_POLICIES && run->pol[p]; p++)
		count(run, p, it, &d[p]);
	if (run->pol[BT_OLD] && it->verdict[BT_OLD] != it->verdict[BT_NEW])
		note_change(run, index, it, d);
	if (json->len) {
		it->json_at = spool(run->json_spool, json);
		it->json_len = (guint32)json->len;
	}
	if (row->len) {
		it->row_at = spool(run->row_spool, row);
		it->row_len = (guint32)row->len;
	}
	run->judged++;
	run->replies_with_complaint += it->answers[BT_NEW] != BT_NONE;
	g_mutex_unlock(&run->lock);
	g_string_free(json, TRUE);
	g_string_free(row, TRUE);
}

/* Judge one reply under policy P with what the store would know. */
static int judge_with(struct bt_run *run, int p, const struct bt_item *it, const GByteArray *buf,
                      GArray *chain_history, GArray *history, struct decision *d)
{
	struct context ctx = {.now = it->date > 0 ? it->date : 0};
	guint64 thread = it->n_refs ? g_array_index(run->refs, guint64, it->refs) : 0;
	if (it->answers[p] != BT_NONE) {
		const struct bt_item *in = &g_array_index(run->items, struct bt_item, it->answers[p]);
		const struct bt_inbound *rec =
		    &g_array_index(run->inbound, struct bt_inbound, in->answers[0]);
		ctl_context_complaint(&ctx, &rec->complaint[p], in->date);
		thread = in->id_hash;
	}
	g_array_set_size(history, 0);
	if (it->date >= 0)
		history_for(chain_history, it->date, thread, history);
	ctx.history = (const struct history_entry *)(void *)history->data;
	ctx.n_history = history->len;
	apology_check(run->pol[p], (const char *)buf->data, buf->len, &ctx, d);
	if (d->apologised && it->date >= 0 && *it->client && *it->sender)
		history_add(chain_history, it->date, d->complaint.kinds, thread);
	return (int)history->len;
}

static void judge_chain(struct bt_run *run, guint c, GByteArray *buf)
{
	const struct chain *ch = &g_array_index(run->chains, struct chain, c);
	GArray *chain_history[BT_POLICIES],
	    *history = g_array_new(FALSE, FALSE, sizeof(struct history_entry));
	for (int p = 0; p < BT_POLICIES; p++)
		chain_history[p] = g_array_new(FALSE, FALSE, sizeof(struct apology));
	for (guint k = 0; k < ch->n; k++) {
		guint32 index = g_array_index(run->chain_order, guint32, ch->first + k);
		struct bt_item *it = &g_array_index(run->items, struct bt_item, index);
		struct decision d[BT_POLICIES];
		memset(d, 0, sizeof d);
		struct mailbox_entry e = entry_of(run, it);
		char *err = NULL;
		const char *reason = NULL;
		if (it->flags & BT_OVERSIZE)
			reason = "message over the size limit";
		else if (!mailbox_read(&e, buf, &err))
			reason = "cannot read the message again (the file changed?)";
		g_free(err);
		int n_history = 0;
		for (int p = 0; p < BT_POLICIES && run->pol[p]; p++) {
			if (reason) {
				unchecked_decision(&d[p], reason);
			} else {
				int n = judge_with(run, p, it, buf, chain_history[p], history, &d[p]);
				n_history = p == BT_NEW ? n : n_history;
			}
			it->verdict[p] = (guint8)d[p].verdict;
			it->rules[p] = rule_bits(&d[p]);
		}
		record(run, index, it, d, n_history);
		for (int p = 0; p < BT_POLICIES; p++)
			if (d[p].findings)
				decision_clear(&d[p]);
		g_atomic_int_inc(&run->done);
	}
	for (int p = 0; p < BT_POLICIES; p++)
		g_array_free(chain_history[p], TRUE);
	g_array_free(history, TRUE);
}

/* ---- the run ------------------------------------------------------------- */

static void stats_init(struct bt_stats *s)
{
	s->per_sender = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	s->per_week = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	s->unchecked = g_hash_table_new(g_str_hash, g_str_equal);
}

static void stats_clear(struct bt_stats *s)
{
	g_hash_table_unref(s->per_sender);
	g_hash_table_unref(s->per_week);
	g_hash_table_unref(s->unchecked);
}

static struct bt_run *run_new(void)
{
	struct bt_run *run = g_new0(struct bt_run, 1);
	run->since = G_MININT64;
	run->jobs = g_get_num_processors();
	run->senders = g_ptr_array_new_with_free_func((GDestroyNotify)g_pattern_spec_free);
	run->files = g_array_new(FALSE, FALSE, sizeof(struct bt_file));
	run->items = g_array_new(FALSE, FALSE, sizeof(struct bt_item));
	run->refs = g_array_new(FALSE, FALSE, sizeof(guint64));
	run->inbound = g_array_new(FALSE, TRUE, sizeof(struct bt_inbound));
	run->inbound_by_id = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	run->outgoing_ids = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	run->strings = g_string_chunk_new(64 * 1024);
	run->interned = g_hash_table_new(g_str_hash, g_str_equal);
	run->source_errors = g_ptr_array_new_with_free_func(g_free);
	run->unchecked_items = g_array_new(FALSE, FALSE, sizeof(struct bt_unchecked));
	g_mutex_init(&run->lock);
	for (int p = 0; p < BT_POLICIES; p++)
		stats_init(&run->stats[p]);
	for (int a = 0; a < 4; a++)
		for (int b = 0; b < 4; b++)
			run->change_examples[a][b] = g_array_new(FALSE, FALSE, sizeof(struct bt_change));
	return run;
}

static void run_free(struct bt_run *run)
{
	for (int p = 0; p < BT_POLICIES; p++) {
		if (run->pol[p])
			policy_unref(run->pol[p]);
		stats_clear(&run->stats[p]);
	}
	for (int a = 0; a < 4; a++)
		for (int b = 0; b < 4; b++) {
			GArray *ex = run->change_examples[a][b];
			for (guint i = 0; i < ex->len; i++)
				g_free(g_array_index(ex, struct bt_change, i).line);
			g_array_free(ex, TRUE);
		}
	if (run->json_spool)
		fclose(run->json_spool);
	if (run->row_spool)
		fclose(run->row_spool);
	g_ptr_array_unref(run->senders);
	g_array_free(run->files, TRUE);
	g_array_free(run->items, TRUE);
	g_array_free(run->refs, TRUE);
	g_array_free(run->inbound, TRUE);
	g_hash_table_unref(run->inbound_by_id);
	g_hash_table_unref(run->outgoing_ids);
	g_hash_table_unref(run->interned);
	g_string_chunk_free(run->strings);
	g_ptr_array_unref(run->source_errors);
	g_array_free(run->unchecked_items, TRUE);
	g_mutex_clear(&run->lock);
	g_free(run);
}

/* Parse the options into RUN; the index of the first source, or -1 after
 * printing the usage (*STATUS set). */
static int parse_options(struct bt_run *run, int argc, char **argv, int *status)
{
	static const struct option longopts[] = {
	    {"policy", required_argument, NULL, 'p'}, {"against", required_argument, NULL, 'a'},
	    {"report", required_argument, NULL, 'r'}, {"sender", required_argument, NULL, 's'},
	    {"since", required_argument, NULL, 'S'},  {"jobs", required_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	int opt;
	opts_begin();
	while ((opt = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		const char *v = optarg;
		gint64 n;
		char *end, *lower;
		switch (opt) {
		case 'h':
			fputs(usage_text, stdout);
			*status = 0;
			return -1;
		case 'p': run->policy_path[BT_NEW] = v; break;
		case 'a': run->policy_path[BT_OLD] = v; break;
		case 'r': run->report_dir = v; break;
		case 's':
			lower = g_ascii_strdown(v, -1);
			g_ptr_array_add(run->senders, g_pattern_spec_new(lower));
			g_free(lower);
			break;
		case 'S':
			if (!ctl_parse_time(v, &run->since)) {
				*status = usage("--since expects YYYY-MM-DD or an RFC 3339 time");
				return -1;
			}
			break;
		case 'j':
			n = g_ascii_strtoll(v, &end, 10);
			if (*end != '\0' || n < 1 || n > 1024) {
				*status = usage("--jobs expects a number from 1 to 1024");
				return -1;
			}
			run->jobs = (unsigned)n;
			break;
		case ':': *status = usage("an option needs a value"); return -1;
		default: *status = usage("unknown option"); return -1;
		}
	}
	int i = optind;
	if (i >= argc) {
		*status = usage("no source (an mbox, a Maildir, a directory of .eml files, or - for a list)");
		return -1;
	}
	return i;
}

static int judge_archive(struct bt_run *run)
{
	find_referenced(run);
	run_pool(run, "complaints", classify_one, run->inbound->len, run->inbound->len);
	for (int p = 0; p < BT_POLICIES && run->pol[p]; p++)
		match_complaints(run, p);
	build_chains(run);
	for (guint i = 0; i < run->items->len; i++) {
		const struct bt_item *it = &g_array_index(run->items, struct bt_item, i);
		run->early += (it->flags & BT_OUTGOING) && (it->flags & BT_EARLY);
		run->internal +=
		    (it->flags & BT_OUTGOING) && (it->flags & BT_INTERNAL) && !(it->flags & BT_EARLY);
	}
	run_pool(run, "judged", judge_chain, run->chains->len, run->chain_order->len);
	g_array_free(run->chain_order, TRUE);
	g_array_free(run->chains, TRUE);
	run->chain_order = run->chains = NULL;
	bt_report_summary(run, stdout);
	if (run->report_dir) {
		char *err = NULL;
		if (!bt_report_write(run, &err)) {
			fprintf(stderr, "apologyctl backtest: %s\n", err);
			g_free(err);
			return EX_CANTCREAT;
		}
		printf("report: %s/results.jsonl, %s/index.html\n", run->report_dir, run->report_dir);
	}
	return run->source_errors->len ? EX_NOINPUT : 0;
}

/* Charset converters kept open for the run.  glibc unloads a gconv module
 * when its last converter closes, and GMime opens and closes converters per
 * message part: without these, every message in a legacy charset would map
 * and unmap a shared object (a tenth of the run's time on a mixed archive).
 * The common single-byte ones: the CJK modules load further libraries. */
static const char *const pinned_charsets[] = {
    "ISO-8859-1",   "ISO-8859-2",   "ISO-8859-15", "WINDOWS-1250",
    "WINDOWS-1251", "WINDOWS-1252", "KOI8-R",      "UTF-16",
};

static void pin_charsets(iconv_t *cds)
{
	for (size_t i = 0; i < G_N_ELEMENTS(pinned_charsets); i++)
		cds[i] = iconv_open("UTF-8", pinned_charsets[i]);
}

static void unpin_charsets(iconv_t *cds)
{
	for (size_t i = 0; i < G_N_ELEMENTS(pinned_charsets); i++)
		if (cds[i] != (iconv_t)-1)
			iconv_close(cds[i]);
}

int backtest_main(int argc, char **argv)
{
	struct bt_run *run = run_new();
	int status = 0;
	int first = parse_options(run, argc, argv, &status);
	if (first < 0) {
		run_free(run);
		return status;
	}
	if (run->policy_path[BT_NEW] == NULL)
		run->policy_path[BT_NEW] = ctl_default_policy_path();
	for (int p = 0; p < BT_POLICIES; p++)
		if (run->policy_path[p] && (run->pol[p] = ctl_load_policy(run->policy_path[p])) == NULL) {
			run_free(run);
			return EX_CONFIG;
		}
	if (run->report_dir && g_mkdir_with_parents(run->report_dir, 0755) != 0) {
		fprintf(stderr, "apologyctl backtest: %s: %s\n", run->report_dir, g_strerror(errno));
		run_free(run);
		return EX_CANTCREAT;
	}
	if (run->report_dir &&
	    ((run->json_spool = tmpfile()) == NULL || (run->row_spool = tmpfile()) == NULL)) {
		fprintf(stderr, "apologyctl backtest: a temporary file: %s\n", g_strerror(errno));
		run_free(run);
		return EX_CANTCREAT;
	}
	run->progress = isatty(STDERR_FILENO);
	message_library_init();
	iconv_t pinned[G_N_ELEMENTS(pinned_charsets)];
	pin_charsets(pinned);
	for (int i = first; i < argc; i++) {
		if (strcmp(argv[i], "-") == 0)
			index_stdin(run);
		else
			index_source(run, argv[i]);
	}
	if (run->progress && run->read >= 1000)
		fputc('\n', stderr);
	status = judge_archive(run);
	unpin_charsets(pinned);
	run_free(run);
	return status;
}
