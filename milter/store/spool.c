/*
 * spool.c - the store's fallback spool (see spool.h): records as JSON
 * lines, appended under flock(2) and read back with libfyaml (JSON is
 * YAML's flow style).  It knows the store only through include/store.h and
 * nothing about mail or the milter protocol.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonstr.h"
#include "spool.h"
#include "yamldoc.h"

/* The format's version, the first field of every line. */
#define SPOOL_VERSION 1

struct spool {
	char *dir;  /* NULL: no spool */
	char *path; /* dir/SPOOL_FILE */
	gint64 max_size;
	GMutex lock; /* one writer or replay at a time in this process */
};

struct spool *spool_new(const char *dir, gint64 max_size)
{
	struct spool *sp = g_new0(struct spool, 1);
	if (dir != NULL && *dir != '\0') {
		sp->dir = g_strdup(dir);
		sp->path = g_build_filename(dir, SPOOL_FILE, NULL);
	}
	sp->max_size = max_size;
	g_mutex_init(&sp->lock);
	return sp;
}

void spool_free(struct spool *sp)
{
	if (sp == NULL)
		return;
	g_free(sp->dir);
	g_free(sp->path);
	g_mutex_clear(&sp->lock);
	g_free(sp);
}

const char *spool_path(const struct spool *sp)
{
	return sp->path;
}

/* ---- the file ---------------------------------------------------------- */

static bool fail_errno(const char *path, const char *what, char **err)
{
	*err =
	    g_strdup_printf("spool %s: %s%s%s", path, what ? what : "", what ? ": " : "", g_strerror(errno));
	return false;
}

#define NOT_THERE (-2)

/* Open PATH (with FLAGS) and lock it (LOCK_EX or LOCK_SH) against other
 * processes.  Retried when a replay replaced the file meanwhile, so that
 * what is locked is what the path names.  NOT_THERE when the file is not
 * there (and FLAGS do not create it); -1 with *ERR on an error. */
static int open_locked(const char *dir, const char *path, int flags, int lock, char **err)
{
	for (int tries = 0; tries < 10; tries++) {
		int fd = open(path, flags | O_CLOEXEC, 0640);
		if (fd < 0 && errno == ENOENT && (flags & O_CREAT) && dir != NULL) {
			if (mkdir(dir, 0750) == 0 || errno == EEXIST)
				continue;
			fail_errno(dir, "cannot make the directory", err);
			return -1;
		}
		if (fd < 0 && errno == ENOENT && !(flags & O_CREAT))
			return NOT_THERE;
		if (fd < 0) {
			fail_errno(path, NULL, err);
			return -1;
		}
		struct stat locked, named;
		if (flock(fd, lock) != 0) {
			fail_errno(path, "cannot lock", err);
			close(fd);
			return -1;
		}
		if (fstat(fd, &locked) == 0 && stat(path, &named) == 0 && locked.st_ino == named.st_ino &&
		    locked.st_dev == named.st_dev)
			return fd;
		close(fd);
	}
	*err = g_strdup_printf("spool %s: the file keeps being replaced", path);
	return -1;
}

static bool write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return false;
		data += n;
		len -= (size_t)n;
	}
	return true;
}

/* The whole file behind FD; NULL with *ERR on a read error. */
static char *read_all(int fd, const char *path, gsize *len, char **err)
{
	GString *text = g_string_new(NULL);
	char buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail_errno(path, "cannot read", err);
			g_string_free(text, TRUE);
			return NULL;
		}
		if (n == 0)
			break;
		g_string_append_len(text, buf, n);
	}
	*len = text->len;
	return g_string_free(text, FALSE);
}

/* Append LINE, or SMALLER (may be NULL) when LINE would take the file past
 * the spool's size; *USED_SMALLER says which.  A line written only in part
 * (a full disk) is cut off again, so the file never holds half a record. */
static bool append(struct spool *sp, const GString *line, const GString *smaller, bool *used_smaller,
                   char **err)
{
	*used_smaller = false;
	if (sp->path == NULL) {
		*err = g_strdup("no spool (spool.directory is empty)");
		return false;
	}
	g_mutex_lock(&sp->lock);
	int fd = open_locked(sp->dir, sp->path, O_WRONLY | O_APPEND | O_CREAT, LOCK_EX, err);
	struct stat sb;
	bool ok = false;
	if (fd < 0) {
		/* *err is set */
	} else if (fstat(fd, &sb) != 0) {
		fail_errno(sp->path, NULL, err);
	} else {
		const GString *chosen = line;
		if (sb.st_size + (gint64)line->len > sp->max_size && smaller != NULL)
			chosen = smaller;
		*used_smaller = chosen == smaller;
		if (sb.st_size + (gint64)chosen->len > sp->max_size) {
			*err = g_strdup_printf(
			    "spool %s is full (%lld bytes; spool.max-size %" G_GINT64_FORMAT ")", sp->path,
			    (long long)sb.st_size, sp->max_size);
		} else if (!write_all(fd, chosen->str, chosen->len) || fdatasync(fd) != 0) {
			fail_errno(sp->path, "cannot write", err);
			if (ftruncate(fd, sb.st_size) != 0) {
				/* the half record stays; a replay drops it as unreadable */
			}
		} else {
			ok = true;
		}
	}
	if (fd >= 0)
		close(fd);
	g_mutex_unlock(&sp->lock);
	return ok;
}

/* ---- writing records --------------------------------------------------- */

static GString *record_start(const char *type)
{
	GString *out = g_string_new(NULL);
	g_string_append_printf(out, "{\"spool\":%d,\"type\":\"%s\"", SPOOL_VERSION, type);
	return out;
}

static void put_number(GString *out, const char *name, gint64 value)
{
	g_string_append_printf(out, ",\"%s\":%" G_GINT64_FORMAT, name, value);
}

static void record_end(GString *out)
{
	g_string_append(out, "}\n");
}

/* A held message's record, with its copy (base64) or without. */
static GString *hold_line(const struct store_quarantine *q, bool with_copy)
{
	GString *out = record_start("hold");
	jsonstr_member(out, "queue_id", q->queue_id);
	jsonstr_member(out, "message_id", q->message_id);
	jsonstr_member(out, "token", q->token);
	jsonstr_member(out, "sender", q->sender);
	jsonstr_member(out, "recipients", q->recipients);
	jsonstr_member(out, "verdict", q->verdict);
	put_number(out, "score", q->score);
	jsonstr_member(out, "findings", q->findings_json);
	jsonstr_member(out, "complaint_ref", q->complaint_ref);
	put_number(out, "created", q->created);
	jsonstr_member(out, "state", q->state);
	if (with_copy && q->raw != NULL) {
		char *b64 = g_base64_encode((const guchar *)q->raw, q->raw_len);
		g_string_append_printf(out, ",\"raw\":\"%s\"", b64); /* base64 needs no escapes */
		g_free(b64);
	} else {
		g_string_append(out, ",\"raw\":null");
		if (q->raw != NULL)
			g_string_append(out, ",\"raw_left_out\":true");
	}
	record_end(out);
	return out;
}

bool spool_hold(struct spool *sp, const struct store_quarantine *q, bool *copy_left_out, char **err)
{
	GString *full = hold_line(q, true);
	GString *small = q->raw != NULL ? hold_line(q, false) : NULL;
	bool used_small = false;
	bool ok = append(sp, full, small, &used_small, err);
	if (copy_left_out != NULL)
		*copy_left_out = ok && used_small;
	g_string_free(full, TRUE);
	if (small != NULL)
		g_string_free(small, TRUE);
	return ok;
}

bool spool_complaint(struct spool *sp, const struct store_complaint *c, char **err)
{
	GString *out = record_start("complaint");
	jsonstr_member(out, "message_id", c->message_id);
	jsonstr_member(out, "client_addr", c->client_addr);
	jsonstr_member(out, "client_domain", c->client_domain);
	put_number(out, "received", c->received);
	g_string_append_printf(out, ",\"serious\":%s", c->serious ? "true" : "false");
	put_number(out, "kinds", c->kinds);
	record_end(out);
	bool used_small;
	bool ok = append(sp, out, NULL, &used_small, err);
	g_string_free(out, TRUE);
	return ok;
}

bool spool_apology(struct spool *sp, const char *sender, const char *client_domain, gint64 when,
                   unsigned kinds, const char *complaint_ref, char **err)
{
	GString *out = record_start("apology");
	jsonstr_member(out, "sender", sender);
	jsonstr_member(out, "client_domain", client_domain);
	put_number(out, "at", when);
	put_number(out, "kinds", kinds);
	jsonstr_member(out, "complaint_ref", complaint_ref);
	record_end(out);
	bool used_small;
	bool ok = append(sp, out, NULL, &used_small, err);
	g_string_free(out, TRUE);
	return ok;
}

/* ---- reading records --------------------------------------------------- */

enum record_type { REC_HOLD, REC_COMPLAINT, REC_APOLOGY };

struct apology_record {
	char *sender, *client_domain, *complaint_ref;
	gint64 at;
	unsigned kinds;
};

struct record {
	enum record_type type;
	struct store_quarantine q;
	struct store_complaint c;
	struct apology_record a;
};

static void record_clear(struct record *r)
{
	store_quarantine_clear(&r->q);
	store_complaint_clear(&r->c);
	g_free(r->a.sender);
	g_free(r->a.client_domain);
	g_free(r->a.complaint_ref);
	memset(r, 0, sizeof *r);
}

/* The scalar KEY of mapping ROOT; NULL when absent or null. */
static const char *scalar(struct fy_node *root, const char *key)
{
	struct fy_node *n = fy_node_mapping_lookup_by_string(root, key, FY_NT);
	if (n == NULL || !fy_node_is_scalar(n))
		return NULL;
	const char *v = fy_node_get_scalar0(n);
	if (fy_node_get_style(n) == FYNS_PLAIN && g_strcmp0(v, "null") == 0)
		return NULL;
	return v;
}

static char *text(struct fy_node *root, const char *key)
{
	return g_strdup(scalar(root, key));
}

static gint64 number(struct fy_node *root, const char *key, bool *ok)
{
	const char *v = scalar(root, key);
	char *end = NULL;
	gint64 n = v ? g_ascii_strtoll(v, &end, 10) : 0;
	if (v == NULL || *v == '\0' || *end != '\0')
		*ok = false;
	return n;
}

static bool read_hold(struct fy_node *root, bool with_copy, struct store_quarantine *q)
{
	bool ok = true;
	q->queue_id = text(root, "queue_id");
	q->message_id = text(root, "message_id");
	q->token = text(root, "token");
	q->sender = text(root, "sender");
	q->recipients = text(root, "recipients");
	q->verdict = text(root, "verdict");
	q->score = (int)number(root, "score", &ok);
	q->findings_json = text(root, "findings");
	q->complaint_ref = text(root, "complaint_ref");
	q->created = number(root, "created", &ok);
	q->state = text(root, "state");
	const char *raw = with_copy ? scalar(root, "raw") : NULL;
	if (raw != NULL) {
		gsize len = 0;
		guchar *bytes = g_base64_decode(raw, &len);
		q->raw = g_realloc(bytes, len + 1);
		q->raw[len] = '\0';
		q->raw_len = len;
	}
	return ok && q->queue_id && q->message_id && q->token && q->sender && q->recipients && q->verdict &&
	       q->state;
}

static bool read_complaint(struct fy_node *root, struct store_complaint *c)
{
	bool ok = true;
	c->message_id = text(root, "message_id");
	c->client_addr = text(root, "client_addr");
	c->client_domain = text(root, "client_domain");
	c->received = number(root, "received", &ok);
	c->serious = g_strcmp0(scalar(root, "serious"), "true") == 0;
	c->kinds = (unsigned)number(root, "kinds", &ok);
	return ok && c->message_id != NULL;
}

static bool read_apology(struct fy_node *root, struct apology_record *a)
{
	bool ok = true;
	a->sender = text(root, "sender");
	a->client_domain = text(root, "client_domain");
	a->at = number(root, "at", &ok);
	a->kinds = (unsigned)number(root, "kinds", &ok);
	a->complaint_ref = text(root, "complaint_ref");
	return ok && a->sender != NULL && a->client_domain != NULL;
}

/* Parse one line; false when it is no record this program knows. */
static bool record_parse(const char *line, size_t len, bool with_copy, struct record *r)
{
	memset(r, 0, sizeof *r);
	GString *errors = g_string_new(NULL);
	struct fy_document *doc = yamldoc_parse(SPOOL_FILE, line, len, errors);
	g_string_free(errors, TRUE);
	struct fy_node *root = doc ? fy_document_root(doc) : NULL;
	bool ok = false;
	if (root != NULL && fy_node_is_mapping(root)) {
		bool version_ok = true;
		const char *type = scalar(root, "type");
		if (number(root, "spool", &version_ok) != SPOOL_VERSION || !version_ok || type == NULL) {
			ok = false;
		} else if (strcmp(type, "hold") == 0) {
			r->type = REC_HOLD;
			ok = read_hold(root, with_copy, &r->q);
		} else if (strcmp(type, "complaint") == 0) {
			r->type = REC_COMPLAINT;
			ok = read_complaint(root, &r->c);
		} else if (strcmp(type, "apology") == 0) {
			r->type = REC_APOLOGY;
			ok = read_apology(root, &r->a);
		}
	}
	if (doc != NULL)
		fy_document_destroy(doc);
	if (!ok)
		record_clear(r);
	return ok;
}

/* Cut TEXT into lines; EACH gets every non-empty one and returns false to
 * stop.  Returns where it stopped: the first line not handled. */
static const char *each_line(const char *text, size_t len,
                             bool (*each)(void *arg, const char *line, size_t n), void *arg)
{
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > 0 && !each(arg, p, n))
			return p;
		p += n + (nl ? 1 : 0);
	}
	return end;
}

static unsigned count_lines(const char *text, size_t len)
{
	unsigned n = 0;
	for (const char *p = text, *end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		n += l > 0;
		p += l + (nl ? 1 : 0);
	}
	return n;
}

/* ---- replay ------------------------------------------------------------ */

struct replay {
	struct store *st;
	struct spool_replayed *done;
	char **err;
	bool failed;
};

/* Write one record to the store; a held message the store has is done. */
static bool replay_one(struct store *st, const struct record *r, char **err)
{
	struct store_quarantine have;
	switch (r->type) {
	case REC_HOLD:
		switch (store_quarantine_get(st, r->q.token, &have, err)) {
		case STORE_ERROR: return false;
		case STORE_FOUND: store_quarantine_clear(&have); return true;
		case STORE_NONE: return store_quarantine_put(st, &r->q, NULL, err);
		}
		return false;
	case REC_COMPLAINT: return store_complaint_put(st, &r->c, err);
	case REC_APOLOGY:
		return store_apology_put(st, r->a.sender, r->a.client_domain, r->a.at, r->a.kinds,
		                         r->a.complaint_ref, err);
	}
	return false;
}

static bool replay_line(void *arg, const char *line, size_t n)
{
	struct replay *rp = arg;
	struct record r;
	if (!record_parse(line, n, true, &r)) {
		rp->done->unreadable++;
		return true;
	}
	bool ok = replay_one(rp->st, &r, rp->err);
	if (ok) {
		unsigned *count[] = {[REC_HOLD] = &rp->done->holds,
		                     [REC_COMPLAINT] = &rp->done->complaints,
		                     [REC_APOLOGY] = &rp->done->apologies};
		++*count[r.type];
	}
	rp->failed = !ok;
	record_clear(&r);
	return ok;
}

/* Put REST (the records not written) in place of the spool file: a new file
 * renamed over it, so a crash leaves the old one or the new one. */
static bool keep_rest(const struct spool *sp, const char *rest, size_t len, char **err)
{
	char *tmp = g_strconcat(sp->path, ".tmp", NULL);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	bool ok = fd >= 0 && write_all(fd, rest, len) && fdatasync(fd) == 0;
	if (!ok)
		fail_errno(tmp, "cannot write", err);
	if (fd >= 0)
		close(fd);
	if (ok && rename(tmp, sp->path) != 0)
		ok = fail_errno(sp->path, "cannot replace", err);
	if (!ok)
		unlink(tmp);
	g_free(tmp);
	return ok;
}

bool spool_replay(struct spool *sp, struct store *st, struct spool_replayed *done, char **err)
{
	memset(done, 0, sizeof *done);
	if (sp->path == NULL)
		return true;
	g_mutex_lock(&sp->lock);
	int fd = open_locked(sp->dir, sp->path, O_RDWR, LOCK_EX, err);
	if (fd < 0) {
		g_mutex_unlock(&sp->lock);
		return fd == NOT_THERE;
	}
	gsize len = 0;
	char *text = read_all(fd, sp->path, &len, err);
	bool ok = text != NULL;
	if (ok && len > 0) {
		struct replay rp = {st, done, err, false};
		const char *rest = each_line(text, len, replay_line, &rp);
		size_t rest_len = len - (size_t)(rest - text);
		done->left = count_lines(rest, rest_len);
		if (rest_len == 0 && ftruncate(fd, 0) != 0)
			ok = fail_errno(sp->path, "cannot empty", err);
		else if (rest_len > 0) {
			char *why = NULL;
			if (!keep_rest(sp, rest, rest_len, &why)) {
				/* All stays: the records written are skipped or harmless again. */
				g_free(*err);
				*err = why;
			}
		}
		ok = ok && !rp.failed;
	}
	g_free(text);
	close(fd);
	g_mutex_unlock(&sp->lock);
	return ok;
}

/* ---- reading without changing ----------------------------------------- */

struct reading {
	unsigned records;
	GPtrArray *holds;
};

static bool read_line(void *arg, const char *line, size_t n)
{
	struct reading *rd = arg;
	rd->records++;
	struct record r;
	if (rd->holds == NULL || !record_parse(line, n, false, &r))
		return true;
	if (r.type == REC_HOLD) {
		struct store_quarantine *q = g_new(struct store_quarantine, 1);
		*q = r.q;
		memset(&r.q, 0, sizeof r.q);
		g_ptr_array_add(rd->holds, q);
	}
	record_clear(&r);
	return true;
}

bool spool_read(const char *dir, unsigned *records, GPtrArray *holds, char **err)
{
	*records = 0;
	char *path = g_build_filename(dir, SPOOL_FILE, NULL);
	int fd = open_locked(NULL, path, O_RDONLY, LOCK_SH, err);
	bool ok = fd >= 0 || fd == NOT_THERE;
	gsize len = 0;
	char *text = fd >= 0 ? read_all(fd, path, &len, err) : NULL;
	if (fd >= 0 && text == NULL)
		ok = false;
	if (text != NULL) {
		struct reading rd = {0, holds};
		each_line(text, len, read_line, &rd);
		*records = rd.records;
	}
	g_free(text);
	if (fd >= 0)
		close(fd);
	g_free(path);
	return ok;
}
