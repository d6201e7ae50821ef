/*
 * spool.c - the store's fallback spool (see spool.h): records as JSON
 * lines, appended under flock(2) and read back with libfyaml (JSON is
 * YAML's flow style).  It knows the store only through include/store.h and
 * nothing about mail or the milter protocol.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonstr.h"
#include "spool.h"
#include "store_priv.h"
#include "termtext.h"
#include "units.h"
#include "yamldoc.h"

/* The format's version, the first field of every line. */
#define SPOOL_VERSION 1

struct spool {
	char *dir;   /* NULL: no spool */
	char *path;  /* dir/SPOOL_FILE */
	char *aside; /* dir/SPOOL_ASIDE */
	gint64 max_size;
	GMutex lock;        /* one change of the file at a time in this process */
	GMutex replay_lock; /* one replay (or put_first) at a time in this process */
	/* Under replay_lock: the file's first STORED_LEN bytes, whose SHA-256 is
	 * STORED_SUM, were written to the store by a replay that could not take
	 * them out of the file (a new file needs room, which a full disk may
	 * not have); the next replay skips them while the file starts with them,
	 * rather than send them all again.  Kept in memory only: a daemon that
	 * dies meanwhile sends them again, and the store takes each once. */
	gsize stored_len;
	char *stored_sum;
	/* Under replay_lock: the record (its line's SHA-256) the store last
	 * refused for its data, and how many replays in a row it did. */
	char *refused_sum;
	unsigned refused_times;
};

struct spool *spool_new(const char *dir, gint64 max_size)
{
	struct spool *sp = g_new0(struct spool, 1);
	if (dir != NULL && *dir != '\0') {
		sp->dir = g_strdup(dir);
		sp->path = g_build_filename(dir, SPOOL_FILE, NULL);
		sp->aside = g_build_filename(dir, SPOOL_ASIDE, NULL);
	}
	sp->max_size = max_size;
	g_mutex_init(&sp->lock);
	g_mutex_init(&sp->replay_lock);
	return sp;
}

void spool_free(struct spool *sp)
{
	if (sp == NULL)
		return;
	g_free(sp->dir);
	g_free(sp->path);
	g_free(sp->aside);
	g_free(sp->stored_sum);
	g_free(sp->refused_sum);
	g_mutex_clear(&sp->lock);
	g_mutex_clear(&sp->replay_lock);
	g_free(sp);
}

const char *spool_path(const struct spool *sp)
{
	return sp->path;
}

const char *spool_dir(const struct spool *sp)
{
	return sp->dir;
}

/* ---- the file ---------------------------------------------------------- */

static bool fail_errno(const char *path, const char *what, char **err)
{
	*err =
	    g_strdup_printf("spool %s: %s%s%s", path, what ? what : "", what ? ": " : "", g_strerror(errno));
	return false;
}

#define NOT_THERE (-2)

/* Lock FD (LOCK_EX or LOCK_SH), waiting at most SPOOL_LOCK_WAIT seconds.
 * The holders keep a lock for a read, an append or a rewrite with its
 * fsync; only a stuck one holds it longer (a daemon sharing the spool, or
 * for the file set aside an operator's command or anyone who may read it),
 * and an append is made on the mail path with the writer's lock held: a
 * bounded wait turns that into an error the caller logs.  Polled, in short
 * pauses so as not to miss the gaps between other holders.  False with
 * errno set (EWOULDBLOCK when the wait ran out). */
static bool lock_within(int fd, int lock)
{
	gint64 until = g_get_monotonic_time() + SPOOL_LOCK_WAIT * G_USEC_PER_SEC;
	gulong pause = 500;
	while (flock(fd, lock | LOCK_NB) != 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK || g_get_monotonic_time() >= until)
			return false;
		g_usleep(pause);
		pause = MIN(pause * 2, 5000);
	}
	return true;
}

/* The error of a lock_within() that failed on PATH. */
static void fail_lock(const char *path, char **err)
{
	if (errno == EWOULDBLOCK)
		*err = g_strdup_printf("spool %s: cannot lock: another process has held it for %d s", path,
		                       SPOOL_LOCK_WAIT);
	else
		fail_errno(path, "cannot lock", err);
}

#define BUSY (-3)

enum lock_wait { LOCK_TRY, LOCK_BOUNDED, LOCK_BLOCK };

/* Whether the lock file PATH (open as FD) is this user's alone: a regular
 * file, its own, that no one else may open; false with *ERR when not (one
 * left by a run as root, or opened up). */
static bool lock_file_ok(int fd, const char *path, char **err)
{
	struct stat sb;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_uid == geteuid() && (sb.st_mode & 077) == 0)
		return true;
	*err = g_strdup_printf("spool %s: not a lock of this user's alone (a regular file of uid %u, "
	                       "mode 0600): remove it, or give it to the daemon's user",
	                       path, (unsigned)geteuid());
	return false;
}

bool spool_locks_usable(const char *dir, char **err)
{
	const char *names[] = {SPOOL_LOCK, SPOOL_REPLAY_LOCK};
	bool ok = true;
	for (size_t i = 0; ok && i < G_N_ELEMENTS(names); i++) {
		char *path = g_build_filename(dir, names[i], NULL);
		int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0 && errno != ENOENT)
			ok = fail_errno(path, errno == ELOOP ? "a symbolic link, not followed" : NULL, err);
		else if (fd >= 0)
			ok = lock_file_ok(fd, path, err);
		if (fd >= 0)
			close(fd);
		g_free(path);
	}
	return ok;
}

/* Make a new entry of DIR last across a power cut: after a rename into it,
 * after the first write to a file that was empty (its entry may be new:
 * a file's own fdatasync() does not write its directory), or in the parent
 * of a directory just made. */
static void sync_dir(const char *dir)
{
	int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d >= 0) {
		(void)fsync(d); /* the data are written either way */
		close(d);
	}
}

/* Take the lock NAME in the spool directory DIR (LOCK: LOCK_EX or LOCK_SH),
 * as WAIT says: LOCK_TRY (BUSY when it is held), LOCK_BOUNDED (at most
 * SPOOL_LOCK_WAIT seconds) or LOCK_BLOCK.  The lock is a file of its own,
 * made 0600 and never replaced: only the daemon's user can take it, where
 * anyone who may read the spool file (or, for the directory, anyone at
 * all) could take a lock on that and stall the daemon.  DIR is made (0750)
 * when MAKE; NOT_THERE when it is not there and MAKE is false.  Returns
 * the lock's descriptor (closing it lets the lock go); -1 with *ERR. */
static int take_lock(const char *dir, const char *name, bool make, int lock, enum lock_wait wait, char **err)
{
	if (make && mkdir(dir, 0750) == 0) {
		char *parent = g_path_get_dirname(dir);
		sync_dir(parent);
		g_free(parent);
	} else if (make && errno != EEXIST) {
		fail_errno(dir, "cannot make the directory", err);
		return -1;
	}
	char *path = g_build_filename(dir, name, NULL);
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	int rc = fd;
	if (fd < 0) {
		rc = errno == ENOENT && !make ? NOT_THERE : -1;
		if (rc == -1)
			fail_errno(path, errno == ELOOP ? "a symbolic link, not followed" : NULL, err);
	} else if (!lock_file_ok(fd, path, err)) {
		rc = -1;
		close(fd);
	} else if (wait == LOCK_BOUNDED ? !lock_within(fd, lock)
	                                : flock(fd, lock | (wait == LOCK_TRY ? LOCK_NB : 0)) != 0) {
		rc = wait == LOCK_TRY && errno == EWOULDBLOCK ? BUSY : -1;
		if (rc == -1)
			fail_lock(path, err);
		close(fd);
	}
	g_free(path);
	return rc;
}

/* Open PATH (with FLAGS) and lock it (LOCK_EX or LOCK_SH) against other
 * processes.  Retried when the file was replaced meanwhile, so that what
 * is locked is what the path names.  NOT_THERE when the file is not there
 * (and FLAGS do not create it); -1 with *ERR on an error. */
static int open_locked(const char *path, int flags, int lock, char **err)
{
	for (int tries = 0; tries < 10; tries++) {
		int fd = open(path, flags | O_CLOEXEC, 0640);
		if (fd < 0 && errno == ENOENT && !(flags & O_CREAT))
			return NOT_THERE;
		if (fd < 0) {
			fail_errno(path, NULL, err);
			return -1;
		}
		struct stat locked, named;
		if (!lock_within(fd, lock)) {
			fail_lock(path, err);
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

/* Whether the file FD of SIZE bytes ends a line (an empty one does); a file
 * that cannot be read there is taken not to, and gets an empty line. */
static bool ends_line(int fd, off_t size)
{
	char last = '\n';
	return size == 0 || (pread(fd, &last, 1, size - 1) == 1 && last == '\n');
}

/* Append LINE, or SMALLER (may be NULL) when LINE would take the file past
 * the spool's size; *USED_SMALLER says which.  A line written only in part
 * (a full disk) is cut off again, so the file never holds half a record;
 * and one left unfinished all the same (the daemon killed in the middle of
 * a write, a power cut, a cut that failed) is ended before this one, so
 * that only it is unreadable, not the record written after it. */
static bool append(struct spool *sp, const GString *line, const GString *smaller, bool *used_smaller,
                   char **err)
{
	*used_smaller = false;
	if (sp->path == NULL) {
		*err = g_strdup("no spool (spool.directory is empty)");
		return false;
	}
	g_mutex_lock(&sp->lock);
	int lk = take_lock(sp->dir, SPOOL_LOCK, true, LOCK_EX, LOCK_BOUNDED, err);
	int fd = lk >= 0 ? open(sp->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640) : -1;
	struct stat sb;
	bool ok = false;
	if (lk < 0) {
		/* *err is set */
	} else if (fd < 0 || fstat(fd, &sb) != 0) {
		fail_errno(sp->path, NULL, err);
	} else {
		gint64 mend = ends_line(fd, sb.st_size) ? 0 : 1;
		const GString *chosen = line;
		if (sb.st_size + mend + (gint64)line->len > sp->max_size && smaller != NULL)
			chosen = smaller;
		*used_smaller = chosen == smaller;
		if (sb.st_size + mend + (gint64)chosen->len > sp->max_size) {
			*err = g_strdup_printf(
			    "spool %s is full (%lld bytes; spool.max-size %" G_GINT64_FORMAT ")", sp->path,
			    (long long)sb.st_size, sp->max_size);
		} else if ((mend && !write_all(fd, "\n", 1)) || !write_all(fd, chosen->str, chosen->len) ||
		           fdatasync(fd) != 0) {
			fail_errno(sp->path, "cannot write", err);
			if (ftruncate(fd, sb.st_size) != 0) {
				/* the half record stays; a replay drops it as unreadable */
			}
		} else {
			ok = true;
			if (sb.st_size == 0)
				sync_dir(sp->dir);
		}
	}
	if (fd >= 0)
		close(fd);
	if (lk >= 0)
		close(lk);
	g_mutex_unlock(&sp->lock);
	return ok;
}

/* ---- records ------------------------------------------------------------ */

void spool_record_clear(struct spool_record *r)
{
	store_quarantine_clear(&r->q);
	store_complaint_clear(&r->c);
	g_free(r->a.sender);
	g_free(r->a.client_domain);
	g_free(r->a.complaint_ref);
	store_decision_clear(&r->d);
	memset(r, 0, sizeof *r);
}

void spool_record_free(struct spool_record *r)
{
	if (r == NULL)
		return;
	spool_record_clear(r);
	g_free(r);
}

static size_t text_size(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static size_t findings_size(const GArray *findings)
{
	size_t n = 0;
	for (guint i = 0; findings && i < findings->len; i++) {
		const struct store_finding *f = &g_array_index(findings, struct store_finding, i);
		n += sizeof *f + text_size(f->rule) + text_size(f->severity) + text_size(f->excerpt) +
		     text_size(f->words) + text_size(f->principle) + text_size(f->advice);
	}
	return n;
}

size_t spool_record_size(const struct spool_record *r)
{
	size_t n = sizeof *r;
	switch (r->type) {
	case SPOOL_HOLD:
		n += r->q.raw_len + text_size(r->q.queue_id) + text_size(r->q.message_id) +
		     text_size(r->q.token) + text_size(r->q.sender) + text_size(r->q.recipients) +
		     text_size(r->q.verdict) + text_size(r->q.findings_json) + text_size(r->q.complaint_ref) +
		     text_size(r->q.state) + text_size(r->q.host) + text_size(r->q.new_text) +
		     text_size(r->q.complaint_severity) + text_size(r->q.complaint_text) +
		     findings_size(r->q.findings);
		break;
	case SPOOL_COMPLAINT:
		n += text_size(r->c.message_id) + text_size(r->c.client_addr) + text_size(r->c.client_domain);
		break;
	case SPOOL_APOLOGY:
		n += text_size(r->a.sender) + text_size(r->a.client_domain) + text_size(r->a.complaint_ref);
		break;
	case SPOOL_DECISION:
		n += text_size(r->d.sender) + text_size(r->d.client_domain) + text_size(r->d.verdict) +
		     text_size(r->d.rules) + text_size(r->d.key);
		break;
	}
	return n;
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
	jsonstr_member(out, "new_text", q->new_text);
	jsonstr_member(out, "complaint_ref", q->complaint_ref);
	put_number(out, "created", q->created);
	jsonstr_member(out, "state", q->state);
	if (q->host != NULL)
		jsonstr_member(out, "host", q->host);
	if (q->complaint_recorded) { /* absent: the record keeps none (schema 12) */
		put_number(out, "complaint_detected", q->complaint_detected);
		jsonstr_member(out, "complaint_severity", q->complaint_severity);
		put_number(out, "complaint_clear", q->complaint_clear);
		put_number(out, "complaint_sent", q->complaint_sent);
		jsonstr_member(out, "complaint_text", q->complaint_text);
	}
	if (with_copy && q->raw != NULL) {
		/* Base64 needs no escapes.  Encoded into the line in place: a copy
		 * through printf's %s costs milliseconds for a large message. */
		g_string_append(out, ",\"raw\":\"");
		gsize at = out->len;
		g_string_set_size(out, at + (q->raw_len / 3 + 1) * 4 + 4);
		gint st = 0, save = 0;
		gsize n = g_base64_encode_step((const guchar *)q->raw, q->raw_len, FALSE, out->str + at, &st,
		                               &save);
		n += g_base64_encode_close(FALSE, out->str + at + n, &st, &save);
		g_string_truncate(out, at + n);
		g_string_append_c(out, '"');
	} else {
		g_string_append(out, ",\"raw\":null");
		if (q->raw != NULL)
			g_string_append(out, ",\"raw_left_out\":true");
	}
	record_end(out);
	return out;
}

static GString *complaint_line(const struct store_complaint *c)
{
	GString *out = record_start("complaint");
	jsonstr_member(out, "message_id", c->message_id);
	jsonstr_member(out, "client_addr", c->client_addr);
	jsonstr_member(out, "client_domain", c->client_domain);
	put_number(out, "received", c->received);
	g_string_append_printf(out, ",\"serious\":%s", c->serious ? "true" : "false");
	put_number(out, "kinds", c->kinds);
	if (c->unclear) /* a line without it (written before schema 16) is clear */
		g_string_append(out, ",\"unclear\":true");
	record_end(out);
	return out;
}

static GString *apology_line(const char *sender, const char *client_domain, gint64 when, unsigned kinds,
                             const char *complaint_ref)
{
	GString *out = record_start("apology");
	jsonstr_member(out, "sender", sender);
	jsonstr_member(out, "client_domain", client_domain);
	put_number(out, "at", when);
	put_number(out, "kinds", kinds);
	jsonstr_member(out, "complaint_ref", complaint_ref);
	record_end(out);
	return out;
}

static GString *decision_line(const struct store_decision *d)
{
	GString *out = record_start("decision");
	put_number(out, "at", d->at);
	jsonstr_member(out, "sender", d->sender);
	jsonstr_member(out, "client_domain", d->client_domain);
	jsonstr_member(out, "verdict", d->verdict);
	jsonstr_member(out, "rules", d->rules);
	if (d->key != NULL)
		jsonstr_member(out, "key", d->key);
	record_end(out);
	return out;
}

/* The line of R, and for a held message with a copy the line without it
 * (*SMALLER; NULL otherwise). */
static GString *record_lines(const struct spool_record *r, GString **smaller)
{
	*smaller = NULL;
	switch (r->type) {
	case SPOOL_HOLD:
		if (r->q.raw != NULL)
			*smaller = hold_line(&r->q, false);
		return hold_line(&r->q, true);
	case SPOOL_COMPLAINT: return complaint_line(&r->c);
	case SPOOL_APOLOGY:
		return apology_line(r->a.sender, r->a.client_domain, r->a.at, r->a.kinds, r->a.complaint_ref);
	case SPOOL_DECISION: return decision_line(&r->d);
	}
	g_assert_not_reached();
}

/* Append LINE (and SMALLER, may be NULL) as append() does, and free them. */
static bool append_lines(struct spool *sp, GString *line, GString *smaller, bool *copy_left_out, char **err)
{
	bool used_small = false;
	bool ok = append(sp, line, smaller, &used_small, err);
	if (copy_left_out != NULL)
		*copy_left_out = ok && used_small;
	g_string_free(line, TRUE);
	if (smaller != NULL)
		g_string_free(smaller, TRUE);
	return ok;
}

bool spool_append(struct spool *sp, const struct spool_record *r, bool *copy_left_out, char **err)
{
	GString *smaller;
	GString *line = record_lines(r, &smaller);
	return append_lines(sp, line, smaller, copy_left_out, err);
}

GString *spool_hold_line(const struct store_quarantine *q)
{
	return hold_line(q, true);
}

bool spool_hold(struct spool *sp, const struct store_quarantine *q, bool *copy_left_out, char **err)
{
	return append_lines(sp, hold_line(q, true), q->raw != NULL ? hold_line(q, false) : NULL,
	                    copy_left_out, err);
}

bool spool_complaint(struct spool *sp, const struct store_complaint *c, char **err)
{
	return append_lines(sp, complaint_line(c), NULL, NULL, err);
}

bool spool_apology(struct spool *sp, const char *sender, const char *client_domain, gint64 when,
                   unsigned kinds, const char *complaint_ref, char **err)
{
	return append_lines(sp, apology_line(sender, client_domain, when, kinds, complaint_ref), NULL, NULL,
	                    err);
}

/* ---- reading records --------------------------------------------------- */

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

/* The complaint of a hold line, when it has one (lines spooled before the
 * store kept it have none: not recorded). */
static void read_hold_complaint(struct fy_node *root, struct store_quarantine *q)
{
	bool ok = true;
	q->complaint_sent = -1;
	gint64 detected = number(root, "complaint_detected", &ok);
	if (!ok)
		return;
	q->complaint_recorded = true;
	q->complaint_detected = detected != 0;
	q->complaint_clear = number(root, "complaint_clear", &ok) != 0;
	q->complaint_sent = number(root, "complaint_sent", &ok);
	if (!ok)
		q->complaint_sent = -1;
	q->complaint_severity = text(root, "complaint_severity");
	q->complaint_text = text(root, "complaint_text");
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
	q->new_text = text(root, "new_text"); /* absent from records of earlier versions */
	q->complaint_ref = text(root, "complaint_ref");
	q->created = number(root, "created", &ok);
	q->state = text(root, "state");
	q->host = text(root, "host"); /* absent in lines spooled before hosts were */
	read_hold_complaint(root, q);
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
	c->unclear = g_strcmp0(scalar(root, "unclear"), "true") == 0;
	return ok && c->message_id != NULL;
}

static bool read_apology(struct fy_node *root, struct spool_apology *a)
{
	bool ok = true;
	a->sender = text(root, "sender");
	a->client_domain = text(root, "client_domain");
	a->at = number(root, "at", &ok);
	a->kinds = (unsigned)number(root, "kinds", &ok);
	a->complaint_ref = text(root, "complaint_ref");
	return ok && a->sender != NULL && a->client_domain != NULL;
}

static bool read_decision(struct fy_node *root, struct store_decision *d)
{
	bool ok = true;
	d->at = number(root, "at", &ok);
	d->sender = text(root, "sender");
	d->client_domain = text(root, "client_domain");
	d->verdict = text(root, "verdict");
	d->rules = text(root, "rules");
	d->key = text(root, "key"); /* none before keys: recorded as it comes */
	return ok && d->sender != NULL && d->client_domain != NULL && d->verdict != NULL && d->rules != NULL;
}

/* Parse one line; false when it is no record this program knows. */
static bool record_parse(const char *line, size_t len, bool with_copy, struct spool_record *r)
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
			r->type = SPOOL_HOLD;
			ok = read_hold(root, with_copy, &r->q);
		} else if (strcmp(type, "complaint") == 0) {
			r->type = SPOOL_COMPLAINT;
			ok = read_complaint(root, &r->c);
		} else if (strcmp(type, "apology") == 0) {
			r->type = SPOOL_APOLOGY;
			ok = read_apology(root, &r->a);
		} else if (strcmp(type, "decision") == 0) {
			r->type = SPOOL_DECISION;
			ok = read_decision(root, &r->d);
		}
	}
	if (doc != NULL)
		fy_document_destroy(doc);
	if (!ok)
		spool_record_clear(r);
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

bool spool_record_store(struct store *st, const struct spool_record *r, char **err)
{
	struct store_quarantine have;
	switch (r->type) {
	case SPOOL_HOLD:
		switch (store_quarantine_get(st, r->q.token, &have, err)) {
		case STORE_ERROR: return false;
		case STORE_FOUND: store_quarantine_clear(&have); return true;
		case STORE_NONE: return store_quarantine_put(st, &r->q, NULL, err);
		}
		return false;
	case SPOOL_COMPLAINT: return store_complaint_put(st, &r->c, err);
	case SPOOL_APOLOGY:
		return store_apology_put(st, r->a.sender, r->a.client_domain, r->a.at, r->a.kinds,
		                         r->a.complaint_ref, err);
	case SPOOL_DECISION: return store_decision_put(st, &r->d, err);
	}
	return false;
}

struct replay {
	struct spool *sp;
	struct store *st;
	struct spool_replayed *done;
	char **err;
	bool failed;
	char *later; /* why a line that could not be set aside was moved or kept */
};

/* Keep LINE in the spool's SPOOL_ASIDE file (WHAT it is, for a message),
 * under the file's lock (an operator's `store aside retry` rewrites it):
 * in one write, after ending a line left unfinished, and cut back off
 * again when it goes in only in part. */
static bool keep_aside(const struct spool *sp, const char *line, size_t n, const char *what, char **err)
{
	char *why = NULL;
	int fd = open_locked(sp->aside, O_RDWR | O_APPEND | O_CREAT, LOCK_EX, &why);
	struct stat sb;
	bool ok = fd >= 0 && fstat(fd, &sb) == 0;
	if (ok) {
		GString *out = g_string_sized_new(n + 2);
		if (!ends_line(fd, sb.st_size))
			g_string_append_c(out, '\n');
		g_string_append_len(out, line, (gssize)n);
		g_string_append_c(out, '\n');
		ok = write_all(fd, out->str, out->len) && fdatasync(fd) == 0;
		if (!ok && ftruncate(fd, sb.st_size) != 0) {
			/* the part written stays, an unfinished line the next one ends */
		}
		if (ok && sb.st_size == 0)
			sync_dir(sp->dir);
		g_string_free(out, TRUE);
	}
	if (!ok) {
		char *what_failed = g_strdup_printf("cannot set aside %s", what);
		if (why != NULL) {
			*err = g_strdup_printf("%s (%s)", what_failed, why);
		} else {
			fail_errno(sp->aside, what_failed, err);
		}
		g_free(what_failed);
	}
	g_free(why);
	if (fd >= 0)
		close(fd);
	return ok;
}

/* The store refused LINE's record for its data: how many replays in a
 * row it has (another record refused starts the count again). */
static unsigned refused_again(struct spool *sp, const char *line, size_t n)
{
	char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)line, n);
	if (sp->refused_sum != NULL && strcmp(sum, sp->refused_sum) == 0) {
		g_free(sum);
		return ++sp->refused_times;
	}
	g_free(sp->refused_sum);
	sp->refused_sum = sum;
	return sp->refused_times = 1;
}

/* LINE could not be set aside (WHY, which this frees): appended again at
 * the end of the spool, so that the records after it are written now and
 * it is tried again at the next replay (the copy read here goes out with
 * the records taken out); never dropped.  False when even that failed (a
 * full spool): it stays where it is, and the replay stops there. */
static bool set_aside_later(struct replay *rp, const char *line, size_t n, char *why)
{
	GString *again = g_string_new_len(line, (gssize)n);
	g_string_append_c(again, '\n');
	bool smaller;
	char *full = NULL;
	bool moved = append(rp->sp, again, NULL, &smaller, &full);
	char *said = moved ? g_strdup_printf("%s; moved to the end of the spool for the next replay", why)
	                   : g_strdup_printf("%s; kept where it is (%s)", why, full);
	if (rp->later == NULL)
		rp->later = said;
	else
		g_free(said);
	g_string_free(again, TRUE);
	g_free(full);
	g_free(why);
	return moved;
}

static bool replay_line(void *arg, const char *line, size_t n)
{
	struct replay *rp = arg;
	struct spool_record r;
	if (!record_parse(line, n, true, &r)) {
		char *why = NULL;
		if (keep_aside(rp->sp, line, n, "an unreadable line", &why))
			rp->done->unreadable++;
		else if (!set_aside_later(rp, line, n, why))
			rp->failed = true;
		return !rp->failed;
	}
	store_note_failure(false);
	bool ok = spool_record_store(rp->st, &r, rp->err);
	if (ok) {
		unsigned *count[] = {[SPOOL_HOLD] = &rp->done->holds,
		                     [SPOOL_COMPLAINT] = &rp->done->complaints,
		                     [SPOOL_APOLOGY] = &rp->done->apologies,
		                     [SPOOL_DECISION] = &rp->done->decisions};
		++*count[r.type];
	} else if (store_failure_refused() && refused_again(rp->sp, line, n) >= SPOOL_REFUSALS) {
		/* The same data, refused replay after replay: kept aside, so that
		 * the records after it are not held up for ever. */
		char *why = NULL;
		if (keep_aside(rp->sp, line, n, "a record the store refuses", &why)) {
			ok = true;
			rp->done->refused++;
			g_clear_pointer(&rp->sp->refused_sum, g_free);
		} else {
			/* refused_sum stays: at the next replay it is set aside at once */
			ok = set_aside_later(rp, line, n, g_strdup_printf("%s; %s", *rp->err, why));
			g_free(why);
		}
		if (ok)
			g_clear_pointer(rp->err, g_free);
	}
	rp->failed = !ok;
	spool_record_clear(&r);
	return ok;
}

/* Put TEXT in place of the spool file: a new file renamed over it, so a
 * crash leaves the old one or the new one, and the directory synced, so
 * that a power cut does not bring the old one back (records taken out
 * written again, records put first lost).  The caller holds the file's
 * lock (SPOOL_LOCK: appenders waiting for it then find the new file). */
static bool replace_file(const struct spool *sp, const char *text, size_t len, char **err)
{
	char *tmp = g_strconcat(sp->path, ".tmp", NULL);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	bool ok = fd >= 0 && write_all(fd, text, len) && fdatasync(fd) == 0;
	if (!ok)
		fail_errno(tmp, "cannot write", err);
	if (fd >= 0)
		close(fd);
	if (ok && rename(tmp, sp->path) != 0)
		ok = fail_errno(sp->path, "cannot replace", err);
	if (!ok)
		unlink(tmp);
	if (ok)
		sync_dir(sp->dir);
	g_free(tmp);
	return ok;
}

/* Take the replay lock: this process's, then SPOOL_REPLAY_LOCK, against a
 * replay of another daemon sharing the spool (waited for as long as that
 * replay takes: only the daemon's user can hold it).  Returns the lock's
 * descriptor; NOT_THERE when there is no directory (and MAKE is false);
 * with TRY, BUSY when a replay holds it; -1 with *ERR. */
static int replay_lock(struct spool *sp, bool make, bool try, char **err)
{
	if (!try)
		g_mutex_lock(&sp->replay_lock);
	else if (!g_mutex_trylock(&sp->replay_lock))
		return BUSY;
	int fd = take_lock(sp->dir, SPOOL_REPLAY_LOCK, make, LOCK_EX, try ? LOCK_TRY : LOCK_BLOCK, err);
	if (fd < 0)
		g_mutex_unlock(&sp->replay_lock);
	return fd;
}

static void replay_unlock(struct spool *sp, int fd)
{
	close(fd); /* drops the flock */
	g_mutex_unlock(&sp->replay_lock);
}

/* The spool file open and locked (SPOOL_LOCK): FD, and LK the lock's. */
struct locked {
	int fd, lk;
};

/* The whole spool file under its lock (LOCK: LOCK_SH to read it, LOCK_EX
 * to change it: then *HELD is left open and locked, and the caller holds
 * sp->lock until unlock_file()).  NULL with *LEN 0 when there is no file;
 * NULL with *ERR on an error. */
static char *read_locked(struct spool *sp, int lock, struct locked *held, gsize *len, char **err)
{
	*len = 0;
	held->fd = held->lk = -1;
	g_mutex_lock(&sp->lock);
	bool change = lock == LOCK_EX;
	int lk = take_lock(sp->dir, SPOOL_LOCK, change, lock, LOCK_BOUNDED, err);
	int f = lk >= 0 ? open(sp->path, (change ? O_RDWR | O_CREAT : O_RDONLY) | O_CLOEXEC, 0640) : -1;
	if (lk >= 0 && f < 0 && (change || errno != ENOENT))
		fail_errno(sp->path, NULL, err);
	char *text = f >= 0 ? read_all(f, sp->path, len, err) : NULL;
	if (change && text != NULL) {
		held->fd = f;
		held->lk = lk;
		return text; /* sp->lock stays held */
	}
	if (f >= 0)
		close(f);
	if (lk >= 0)
		close(lk);
	g_mutex_unlock(&sp->lock);
	return text;
}

static void unlock_file(struct spool *sp, const struct locked *held)
{
	close(held->fd);
	close(held->lk);
	g_mutex_unlock(&sp->lock);
}

/* Take the first USED bytes of the file out: they were written to the
 * store.  Records appended since the replay read the file stay, after the
 * rest.  Returns how many records stay; -1 with *ERR. */
static int take_out(struct spool *sp, size_t used, char **err)
{
	struct locked held;
	gsize len;
	char *now = read_locked(sp, LOCK_EX, &held, &len, err);
	if (now == NULL)
		return -1;
	int fd = held.fd;
	int left = -1;
	used = MIN(used, len);
	if (used == len) {
		/* synced, so that a power cut does not bring the records back */
		if (ftruncate(fd, 0) == 0 && fdatasync(fd) == 0)
			left = 0;
		else
			fail_errno(sp->path, "cannot empty", err);
	} else if (used == 0 || replace_file(sp, now + used, len - used, err)) {
		left = (int)count_lines(now + used, len - used);
	}
	unlock_file(sp, &held);
	g_free(now);
	return left;
}

/* How many bytes at the start of TEXT (the file as a replay read it) are
 * records an earlier replay wrote to the store and could not take out. */
static size_t already_stored(const struct spool *sp, const char *text, size_t len)
{
	if (sp->stored_sum == NULL || sp->stored_len > len)
		return 0;
	char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)text, sp->stored_len);
	bool same = strcmp(sum, sp->stored_sum) == 0;
	g_free(sum);
	return same ? sp->stored_len : 0;
}

/* Remember TEXT's first USED bytes as written to the store (0: nothing). */
static void remember_stored(struct spool *sp, const char *text, size_t used)
{
	g_clear_pointer(&sp->stored_sum, g_free);
	sp->stored_len = used;
	if (used > 0)
		sp->stored_sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)text, used);
}

bool spool_replay(struct spool *sp, struct store *st, struct spool_replayed *done, char **err)
{
	memset(done, 0, sizeof *done);
	struct stat sb;
	if (sp->path == NULL || (stat(sp->path, &sb) != 0 ? errno == ENOENT : sb.st_size == 0))
		return true; /* nothing to replay: no lock taken, none made */
	int dir = replay_lock(sp, false, false, err);
	if (dir < 0)
		return dir == NOT_THERE;
	/* What the spool holds now, read under the file's lock; then written
	 * to the store without it, so that records may be appended meanwhile. */
	struct locked held;
	gsize len = 0;
	char *text = read_locked(sp, LOCK_SH, &held, &len, err);
	bool ok = text != NULL || *err == NULL;
	if (text != NULL && len > 0) {
		struct replay rp = {sp, st, done, err, false, NULL};
		size_t skip = already_stored(sp, text, len);
		const char *rest = each_line(text + skip, len - skip, replay_line, &rp);
		size_t used = (size_t)(rest - text);
		char *why = NULL;
		int left = take_out(sp, used, &why); /* and count what stays, appended since too */
		/* All stays when it could not: what was written is remembered, so
		 * that the next replay does not send it all again (the store would
		 * take each record once). */
		remember_stored(sp, text, left < 0 ? used : 0);
		if (left < 0) {
			g_free(*err);
			*err = why;
			left = (int)count_lines(rest, len - used);
		}
		done->left = (unsigned)MAX(left, 0);
		ok = !rp.failed && why == NULL && rp.later == NULL;
		if (rp.later != NULL) {
			char *both = *err ? g_strdup_printf("%s; %s", *err, rp.later) : g_strdup(rp.later);
			g_free(*err);
			*err = both;
			g_free(rp.later);
		}
	}
	g_free(text);
	replay_unlock(sp, dir);
	return ok;
}

/* Append RECORDS one by one, as far as they go; how many went in. */
static size_t append_each(struct spool *sp, struct spool_record *const *records, size_t n,
                          unsigned *copies_left_out, char **err)
{
	size_t taken = 0;
	bool left_out = false;
	while (taken < n && spool_append(sp, records[taken], &left_out, err)) {
		taken++;
		if (left_out && copies_left_out != NULL)
			++*copies_left_out;
	}
	return taken;
}

size_t spool_put_first(struct spool *sp, struct spool_record *const *records, size_t n,
                       unsigned *copies_left_out, char **err)
{
	if (copies_left_out != NULL)
		*copies_left_out = 0;
	if (n == 0)
		return 0;
	if (sp->path == NULL) {
		*err = g_strdup("no spool (spool.directory is empty)");
		return 0;
	}
	/* Another daemon replaying this spool takes records out from the front
	 * when it is done: then these go to the end (records of two daemons are
	 * in no order with each other anyway). */
	int dir = replay_lock(sp, true, true, err);
	if (dir < 0) {
		/* Busy, or the lock cannot be had at all (its file not this user's,
		 * no descriptor left): appended all the same, never dropped; a
		 * replay, which needs the lock, reports a lock it cannot have. */
		if (dir != BUSY)
			g_clear_pointer(err, g_free);
		return append_each(sp, records, n, copies_left_out, err);
	}
	struct locked held;
	gsize len = 0;
	char *old = read_locked(sp, LOCK_EX, &held, &len, err);
	size_t taken = 0;
	if (old != NULL) {
		/* Records a replay wrote to the store and could not take out are
		 * left out of the new file: the take-out is done with it (and they
		 * would no longer be at the start, where the next replay skips them). */
		size_t stored = already_stored(sp, old, len);
		GString *text = g_string_new(NULL);
		for (; taken < n; taken++) {
			GString *smaller;
			GString *line = record_lines(records[taken], &smaller);
			const GString *chosen = line;
			if ((gint64)(len + text->len + line->len) > sp->max_size && smaller != NULL)
				chosen = smaller;
			bool fits = (gint64)(len + text->len + chosen->len) <= sp->max_size;
			if (fits)
				g_string_append_len(text, chosen->str, (gssize)chosen->len);
			if (fits && chosen == smaller && copies_left_out != NULL)
				++*copies_left_out;
			g_string_free(line, TRUE);
			if (smaller != NULL)
				g_string_free(smaller, TRUE);
			if (!fits) {
				*err = g_strdup_printf(
				    "spool %s is full (%zu bytes; spool.max-size %" G_GINT64_FORMAT ")",
				    sp->path, (size_t)(len + text->len), sp->max_size);
				break;
			}
		}
		g_string_append_len(text, old + stored, (gssize)(len - stored));
		char *why = NULL;
		if (taken > 0 && !replace_file(sp, text->str, text->len, &why)) {
			taken = 0;
			g_free(*err);
			*err = why;
		} else if (taken > 0) {
			remember_stored(sp, NULL, 0);
		}
		g_string_free(text, TRUE);
		unlock_file(sp, &held);
		g_free(old);
	}
	replay_unlock(sp, dir);
	if (taken == 0 && *err != NULL) {
		/* The file could not be read or written anew (a new file needs room
		 * for all it holds, which a full disk may not have): at the end
		 * then, out of order, rather than not at all. */
		g_clear_pointer(err, g_free);
		if (copies_left_out != NULL)
			*copies_left_out = 0;
		taken = append_each(sp, records, n, copies_left_out, err);
	}
	return taken;
}

/* ---- lines set aside ----------------------------------------------------- */

/* T as units_format_time() writes it, "?" when it cannot. */
static char *iso_time(gint64 t)
{
	char *s = units_format_time(t);
	return s != NULL ? s : g_strdup("?");
}

/* TEXT's first MAX characters ("..." when cut), for a terminal: see
 * termtext_shown(). */
#define SHOWN_MAX 80
static char *shown(const char *text, size_t len, glong max)
{
	return termtext_shown(text, (gssize)len, max);
}

/* A field of a record for a terminal: shown(), "-" when missing. */
static char *field(const char *s)
{
	return s != NULL ? shown(s, strlen(s), SHOWN_MAX) : g_strdup("-");
}

/* One line of SPOOL_ASIDE, described for a person. */
static bool describe_line(void *arg, const char *line, size_t n)
{
	GPtrArray *out = arg;
	struct spool_record r;
	if (!record_parse(line, n, false, &r)) {
		char *start = shown(line, n, SHOWN_MAX);
		g_ptr_array_add(out,
		                g_strdup_printf("no record this program reads (%zu bytes): %s", n, start));
		g_free(start);
		return true;
	}
	char *f[5] = {NULL}, *when = NULL;
	switch (r.type) {
	case SPOOL_HOLD:
		when = iso_time(r.q.created);
		f[0] = field(r.q.queue_id), f[1] = field(r.q.sender), f[2] = field(r.q.recipients),
		f[3] = field(r.q.token);
		g_ptr_array_add(out, g_strdup_printf("hold of %s, queue id %s, from %s to %s, token %s", when,
		                                     f[0], f[1], f[2], f[3]));
		break;
	case SPOOL_COMPLAINT:
		when = iso_time(r.c.received);
		f[0] = field(r.c.client_domain), f[1] = field(r.c.message_id);
		g_ptr_array_add(
		    out, g_strdup_printf("complaint of %s from %s, Message-ID <%s>", when, f[0], f[1]));
		break;
	case SPOOL_APOLOGY:
		when = iso_time(r.a.at);
		f[0] = field(r.a.sender), f[1] = field(r.a.client_domain);
		g_ptr_array_add(out, g_strdup_printf("apology of %s from %s to %s", when, f[0], f[1]));
		break;
	case SPOOL_DECISION:
		when = iso_time(r.d.at);
		f[0] = field(r.d.verdict), f[1] = field(r.d.sender), f[2] = field(r.d.client_domain),
		f[3] = field(r.d.rules);
		g_ptr_array_add(out, g_strdup_printf("decision of %s: %s of %s to %s (%s)", when, f[0], f[1],
		                                     f[2], f[3]));
		break;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(f); i++)
		g_free(f[i]);
	g_free(when);
	spool_record_clear(&r);
	return true;
}

/* Open the file set aside, PATH, with FLAGS and lock it (LOCK; 0: no lock)
 * as open_locked() does, but never through a symbolic link, and only a
 * regular file with one name: an operator runs the commands that read and
 * rewrite it, often as root, in a directory the daemon's user owns.
 * NOT_THERE when there is none; -1 with *ERR. */
static int open_aside(const char *path, int flags, int lock, char **err)
{
	for (int tries = 0; tries < 10; tries++) {
		int fd = open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			return NOT_THERE;
		if (fd < 0) {
			fail_errno(path, errno == ELOOP ? "a symbolic link, not followed" : NULL, err);
			return -1;
		}
		struct stat locked, named;
		if (fstat(fd, &locked) != 0 || !S_ISREG(locked.st_mode) || locked.st_nlink != 1) {
			*err = g_strdup_printf("spool %s: not a regular file with one name: not read", path);
			close(fd);
			return -1;
		}
		if (lock != 0 && !lock_within(fd, lock)) {
			fail_lock(path, err);
			close(fd);
			return -1;
		}
		if (lstat(path, &named) == 0 && locked.st_ino == named.st_ino &&
		    locked.st_dev == named.st_dev)
			return fd;
		close(fd); /* replaced meanwhile */
	}
	*err = g_strdup_printf("spool %s: the file keeps being replaced", path);
	return -1;
}

bool spool_aside_list(const char *dir, GPtrArray *lines, char **err)
{
	char *path = g_build_filename(dir, SPOOL_ASIDE, NULL);
	int fd = open_aside(path, O_RDONLY, 0, err);
	gsize len = 0;
	char *text = fd >= 0 ? read_all(fd, path, &len, err) : NULL;
	if (text != NULL)
		each_line(text, len, describe_line, lines);
	if (fd >= 0)
		close(fd);
	g_free(text);
	g_free(path);
	return fd == NOT_THERE || (fd >= 0 && text != NULL);
}

bool spool_aside_count(const char *dir, unsigned *lines, char **err)
{
	*lines = 0;
	char *path = g_build_filename(dir, SPOOL_ASIDE, NULL);
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	char buf[65536], prev = '\n';
	ssize_t n = 0;
	while (fd >= 0 && ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))) {
		for (ssize_t i = 0; i < n; i++) {
			*lines += buf[i] == '\n' && prev != '\n'; /* empty lines are no line */
			prev = buf[i];
		}
	}
	*lines += prev != '\n'; /* a line left unfinished */
	bool ok = (fd < 0 && errno == ENOENT) || (fd >= 0 && n == 0) ||
	          fail_errno(path, fd < 0 ? NULL : "cannot read", err);
	if (fd >= 0)
		close(fd);
	g_free(path);
	return ok;
}

#define MESSAGE_MAX 400 /* characters of a store's message shown */

struct retry {
	struct store *st;
	struct spool_aside_retried *done;
	GString *kept;
	bool failed; /* the store failed: the rest is kept untried */
	char **err;
};

static bool retry_line(void *arg, const char *line, size_t n)
{
	struct retry *rt = arg;
	struct spool_record r;
	bool keep = true;
	if (rt->failed) {
		rt->done->left++;
	} else if (!record_parse(line, n, true, &r)) {
		rt->done->unreadable++;
	} else {
		char *why = NULL;
		store_note_failure(false);
		if (spool_record_store(rt->st, &r, &why)) {
			unsigned *count[] = {[SPOOL_HOLD] = &rt->done->holds,
			                     [SPOOL_COMPLAINT] = &rt->done->complaints,
			                     [SPOOL_APOLOGY] = &rt->done->apologies,
			                     [SPOOL_DECISION] = &rt->done->decisions};
			++*count[r.type];
			keep = false;
		} else if (store_failure_refused()) {
			rt->done->refused++;
			if (rt->done->refusal == NULL) /* the store's message may quote the data */
				rt->done->refusal = shown(why, strlen(why), MESSAGE_MAX);
		} else {
			rt->failed = true;
			rt->done->left++;
			*rt->err = shown(why, strlen(why), MESSAGE_MAX);
		}
		g_free(why);
		spool_record_clear(&r);
	}
	if (keep) {
		g_string_append_len(rt->kept, line, (gssize)n);
		g_string_append_c(rt->kept, '\n');
	}
	return true;
}

/* KEPT in place of the file set aside, PATH (open as FD, locked), written
 * over the file's start and made durable before the file is cut to it: the
 * kept lines are a subset of the file's, so they go into blocks it already
 * has, and a full disk (another writer may take any block freed first) or a
 * kill before the cut leaves every kept line, followed by old lines the
 * next retry writes again (the store takes each once) and at worst one cut
 * line, set aside as unreadable. */
static bool rewrite_in_place(const char *path, int fd, const GString *kept, char **err)
{
	const char *data = kept->str;
	size_t len = kept->len;
	off_t at = 0;
	while (len > 0) {
		ssize_t n = pwrite(fd, data, len, at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail_errno(
			    path, "cannot rewrite in place (it is left as it was where not written)", err);
		data += n;
		len -= (size_t)n;
		at += n;
	}
	return (fdatasync(fd) == 0 && ftruncate(fd, (off_t)kept->len) == 0 && fdatasync(fd) == 0) ||
	       fail_errno(path,
	                  "cannot cut it after rewriting it in place (the old lines after the kept ones "
	                  "are written again by the next retry)",
	                  err);
}

/* Put KEPT in place of the file set aside, PATH (open as FD, locked): a new
 * file, given the old one's owner and mode, renamed over it; in place where
 * the new file cannot be given that owner (an operator who is not root) or
 * cannot be written (a full disk), or where nothing is kept (the file is
 * emptied). */
static bool rewrite_aside(const char *dir, const char *path, int fd, const GString *kept, char **err)
{
	if (kept->len == 0)
		return rewrite_in_place(path, fd, kept, err);
	struct stat old;
	if (fstat(fd, &old) != 0)
		return fail_errno(path, NULL, err);
	char *tmp = g_strconcat(path, ".tmp", NULL);
	int t = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (t < 0 && errno == EEXIST &&
	    unlink(tmp) == 0) /* left by one killed; a link is removed, not followed */
		t = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	bool ok = t >= 0 &&
	          (fchown(t, old.st_uid, old.st_gid) == 0 ||
	           (geteuid() == old.st_uid && getegid() == old.st_gid)) &&
	          fchmod(t, old.st_mode & 07777) == 0 && write_all(t, kept->str, kept->len) &&
	          fdatasync(t) == 0 && rename(tmp, path) == 0;
	if (t >= 0)
		close(t);
	if (ok) {
		sync_dir(dir);
	} else {
		if (t >= 0)
			unlink(tmp);
		ok = rewrite_in_place(path, fd, kept, err);
	}
	g_free(tmp);
	return ok;
}

bool spool_aside_retry(const char *dir, struct store *st, struct spool_aside_retried *done, char **err)
{
	memset(done, 0, sizeof *done);
	char *path = g_build_filename(dir, SPOOL_ASIDE, NULL);
	int fd = open_aside(path, O_RDWR, LOCK_EX, err);
	gsize len = 0;
	char *text = fd >= 0 ? read_all(fd, path, &len, err) : NULL;
	bool ok = fd == NOT_THERE || text != NULL;
	if (text != NULL && len > 0) {
		struct retry rt = {st, done, g_string_new(NULL), false, err};
		each_line(text, len, retry_line, &rt);
		char *why = NULL;
		if (rt.kept->len != len && !rewrite_aside(dir, path, fd, rt.kept, &why)) {
			char *more = g_strdup_printf("%s: the records written stay in it too (the next retry "
			                             "writes them again, and the store takes each once)",
			                             why);
			g_free(why);
			why = more;
		}
		if (why != NULL) {
			char *both = *err ? g_strdup_printf("%s; %s", *err, why) : g_strdup(why);
			g_free(*err);
			*err = both;
			g_free(why);
		}
		ok = *err == NULL;
		g_string_free(rt.kept, TRUE);
	}
	if (fd >= 0)
		close(fd);
	g_free(text);
	g_free(path);
	return ok;
}

struct drop {
	const unsigned *numbers; /* NULL: every line */
	size_t n;
	unsigned at; /* the line's number, as spool_aside_list() gives it */
	GString *kept;
	GPtrArray *dropped;
};

static bool drop_line(void *arg, const char *line, size_t n)
{
	struct drop *dr = arg;
	bool drop = dr->numbers == NULL;
	dr->at++;
	for (size_t i = 0; i < dr->n && !drop; i++)
		drop = dr->numbers[i] == dr->at;
	if (drop) {
		GPtrArray *one = g_ptr_array_new_with_free_func(g_free);
		describe_line(one, line, n);
		g_ptr_array_add(dr->dropped, g_strdup_printf("%4u  %s", dr->at, (char *)one->pdata[0]));
		g_ptr_array_unref(one);
	} else {
		g_string_append_len(dr->kept, line, (gssize)n);
		g_string_append_c(dr->kept, '\n');
	}
	return true;
}

bool spool_aside_drop(const char *dir, const unsigned *numbers, size_t n, unsigned *lines, GPtrArray *dropped,
                      char **err)
{
	char *path = g_build_filename(dir, SPOOL_ASIDE, NULL);
	int fd = open_aside(path, O_RDWR, LOCK_EX, err);
	gsize len = 0;
	char *text = fd >= 0 ? read_all(fd, path, &len, err) : NULL;
	bool ok = fd == NOT_THERE || text != NULL;
	*lines = text != NULL ? count_lines(text, len) : ok ? 0 : G_MAXUINT;
	for (size_t i = 0; ok && i < n; i++)
		if (numbers[i] == 0 || numbers[i] > *lines) {
			*err = g_strdup_printf("spool %s: no line %u (%u set aside): nothing dropped", path,
			                       numbers[i], *lines);
			ok = false;
		}
	if (ok && *lines > 0) {
		struct drop dr = {numbers, n, 0, g_string_new(NULL), dropped};
		each_line(text, len, drop_line, &dr);
		ok = rewrite_aside(dir, path, fd, dr.kept, err);
		if (!ok)
			g_ptr_array_set_size(dropped, 0);
		g_string_free(dr.kept, TRUE);
	}
	if (fd >= 0)
		close(fd);
	g_free(text);
	g_free(path);
	return ok;
}

char *spool_aside_note(const struct spool_replayed *done, const char *dir)
{
	if (done->unreadable + done->refused == 0)
		return NULL;
	GString *note = g_string_new(NULL);
	g_string_printf(note, "spool %s/%s: ", dir, SPOOL_FILE);
	if (done->refused > 0)
		g_string_append_printf(
		    note,
		    "%u record(s) the store refused for their data %d times in a row set aside "
		    "(the records after them are written)%s",
		    done->refused, SPOOL_REFUSALS, done->unreadable ? "; " : "");
	if (done->unreadable > 0)
		g_string_append_printf(note, "%u line(s) were no record this program reads",
		                       done->unreadable);
	g_string_append_printf(note, "; kept in %s/%s (apologyctl store aside)", dir, SPOOL_ASIDE);
	return g_string_free(note, FALSE);
}

bool spool_empty(struct spool *sp)
{
	struct stat sb;
	return sp->path == NULL || stat(sp->path, &sb) != 0 || sb.st_size == 0;
}

/* ---- the journal of holds ---------------------------------------------- */

#define JOURNAL_PREFIX "store-journal-"
#define JOURNAL_SUFFIX ".jsonl"

struct spool_journal {
	char *path;
	int fd; /* O_APPEND, flock(LOCK_EX) for the journal's life */
	gint64 size;
	gint64 max_size;
	bool unfinished; /* a line written in part could not be cut off again */
};

struct spool_journal *spool_journal_new(struct spool *sp, char **err)
{
	if (sp->dir == NULL) {
		*err = g_strdup("no spool (spool.directory is empty)");
		return NULL;
	}
	if (mkdir(sp->dir, 0750) != 0 && errno != EEXIST) {
		fail_errno(sp->dir, "cannot make the directory", err);
		return NULL;
	}
	/* Made under a name recovery does not look at, locked, and only then
	 * named: a journal another daemon can see is always locked while its
	 * own daemon lives. */
	char *tmp = g_build_filename(sp->dir, "." JOURNAL_PREFIX "XXXXXX", NULL);
	int fd = g_mkstemp_full(tmp, O_RDWR | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0) {
		fail_errno(tmp, "cannot make the journal", err);
		g_free(tmp);
		return NULL;
	}
	char *base = g_path_get_basename(tmp);
	char *name = g_strconcat(base + 1, JOURNAL_SUFFIX, NULL);
	char *path = g_build_filename(sp->dir, name, NULL);
	bool ok = flock(fd, LOCK_EX | LOCK_NB) == 0 || fail_errno(tmp, "cannot lock", err);
	if (ok && rename(tmp, path) != 0)
		ok = fail_errno(path, "cannot name the journal", err);
	if (!ok) {
		unlink(tmp);
		close(fd);
	}
	g_free(tmp);
	g_free(base);
	g_free(name);
	if (!ok) {
		g_free(path);
		return NULL;
	}
	struct spool_journal *j = g_new0(struct spool_journal, 1);
	j->path = path;
	j->fd = fd;
	j->max_size = sp->max_size;
	return j;
}

const char *spool_journal_path(const struct spool_journal *j)
{
	return j->path;
}

bool spool_journal_write(struct spool_journal *j, const GString *line, char **err)
{
	if (j->size + (gint64)line->len > j->max_size) {
		*err = g_strdup_printf("journal %s is full (%" G_GINT64_FORMAT
		                       " bytes; spool.max-size %" G_GINT64_FORMAT ")",
		                       j->path, j->size, j->max_size);
		return false;
	}
	/* after a half line that stayed, the next line starts a line of its own */
	if (j->unfinished && !write_all(j->fd, "\n", 1))
		return fail_errno(j->path, "cannot write the journal", err);
	if (j->unfinished) {
		j->size++;
		j->unfinished = false;
	}
	if (!write_all(j->fd, line->str, line->len)) {
		fail_errno(j->path, "cannot write the journal", err);
		/* Cut off what went in: a half line would be set aside at
		 * recovery (it is a whole line once the next ends it), and the
		 * next line must start a line. */
		struct stat sb;
		if (ftruncate(j->fd, j->size) != 0) {
			/* the half record stays (recovery sets it aside as
			 * unreadable), ended before the next */
			j->unfinished = true;
			if (fstat(j->fd, &sb) == 0)
				j->size = sb.st_size;
		}
		return false;
	}
	j->size += (gint64)line->len;
	return true;
}

bool spool_journal_clear(struct spool_journal *j, char **err)
{
	if (j->size == 0)
		return true;
	if (ftruncate(j->fd, 0) != 0)
		return fail_errno(j->path, "cannot empty the journal", err);
	j->size = 0;
	j->unfinished = false;
	return true;
}

void spool_journal_free(struct spool_journal *j)
{
	if (j == NULL)
		return;
	if (j->size == 0)
		unlink(j->path); /* under its lock: recovery finds it gone or empty */
	close(j->fd);
	g_free(j->path);
	g_free(j);
}

/* Whether NAME is a journal's file name. */
static bool journal_name(const char *name)
{
	return g_str_has_prefix(name, JOURNAL_PREFIX) && g_str_has_suffix(name, JOURNAL_SUFFIX);
}

#define JOURNAL_READ_WAIT_MS 3000 /* how long recovery waits for readers of a dead journal */

/* Lock FD (the journal PATH) exclusively, without waiting for its daemon,
 * which holds it so while it lives; but a dead daemon's journal that others
 * only read (spool_read(): `apologyctl quarantine reconcile`, `-n`, a
 * daemon sharing the directory) is waited for, a while: it would otherwise
 * be left until the next start, its holds out of the store.  False with
 * errno EWOULDBLOCK when it stays held. */
static bool lock_journal(int fd)
{
	for (int waited = 0;; waited += 20) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return true;
		if (errno != EWOULDBLOCK || waited >= JOURNAL_READ_WAIT_MS)
			return false;
		/* a shared lock taken means no daemon holds it: only readers */
		if (flock(fd, LOCK_SH | LOCK_NB) != 0)
			return false;
		flock(fd, LOCK_UN);
		g_usleep(20 * 1000);
	}
}

/* Open and lock (LOCK) the journal PATH; -1 when its daemon holds it, it is
 * gone or cannot be opened (*ERR set then). */
static int journal_open_left(const char *path, int lock, char **err)
{
	int fd = open(path, (lock == LOCK_EX ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			fail_errno(path, NULL, err);
		return -1;
	}
	struct stat locked, named;
	bool held = lock == LOCK_EX ? lock_journal(fd) : flock(fd, lock | LOCK_NB) == 0;
	if (!held || fstat(fd, &locked) != 0 || stat(path, &named) != 0 || locked.st_ino != named.st_ino ||
	    locked.st_dev != named.st_dev) {
		if (errno != EWOULDBLOCK && errno != ENOENT)
			fail_errno(path, "cannot lock", err);
		close(fd);
		return -1;
	}
	return fd;
}

/* Call EACH for every journal in DIR whose daemon is gone (it holds no
 * lock on it), opened and locked with LOCK; returns false with *ERR when
 * the directory cannot be read or EACH failed (the others are done). */
static bool each_left_journal(const char *dir, int lock,
                              bool (*each)(void *arg, const char *path, int fd, char **err), void *arg,
                              char **err)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT || fail_errno(dir, "cannot read the directory", err);
	bool ok = true;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!journal_name(e->d_name))
			continue;
		char *path = g_build_filename(dir, e->d_name, NULL);
		char *why = NULL;
		int fd = journal_open_left(path, lock, &why);
		if (fd >= 0) {
			each(arg, path, fd, &why); /* false: *why is set */
			close(fd);
		}
		if (why != NULL) {
			ok = false;
			g_free(*err);
			*err = why;
		}
		g_free(path);
	}
	closedir(d);
	return ok;
}

struct recovering {
	struct spool *sp;
	unsigned *holds, *copies_left_out;
	char *why;       /* why a hold did not go to the spool */
	const char *end; /* of the journal's text */
	bool ended;      /* the text ends with a line break */
};

static bool recover_line(void *arg, const char *line, size_t n)
{
	struct recovering *rc = arg;
	struct spool_record r;
	if (!record_parse(line, n, true, &r)) {
		if (line + n == rc->end && !rc->ended)
			return true; /* the last line, cut short by the kill: never answered as held */
		/* a whole line this program cannot read (a newer version's, or
		 * damaged): set aside like the spool's, never dropped */
		return keep_aside(rc->sp, line, n, "an unreadable journal line", &rc->why);
	}
	bool left_out = false;
	bool ok = r.type != SPOOL_HOLD || spool_append(rc->sp, &r, &left_out, &rc->why);
	if (ok && r.type == SPOOL_HOLD)
		++*rc->holds;
	if (ok && left_out)
		++*rc->copies_left_out;
	spool_record_clear(&r);
	return ok;
}

static bool recover_one(void *arg, const char *path, int fd, char **err)
{
	struct recovering *rc = arg;
	gsize len = 0;
	char *text = read_all(fd, path, &len, err);
	if (text == NULL)
		return false;
	rc->end = text + len;
	rc->ended = len > 0 && text[len - 1] == '\n';
	bool ok = each_line(text, len, recover_line, rc) == text + len;
	g_free(text);
	if (!ok) {
		*err = g_strdup_printf("journal %s: its holds could not all go to the spool (%s); kept for "
		                       "the next start",
		                       path, rc->why);
		g_clear_pointer(&rc->why, g_free);
		return false;
	}
	if (unlink(path) != 0)
		return fail_errno(path, "cannot remove the journal", err);
	return true;
}

bool spool_journal_recover(struct spool *sp, unsigned *holds, unsigned *copies_left_out, char **err)
{
	*holds = *copies_left_out = 0;
	if (sp->dir == NULL)
		return true;
	struct recovering rc = {sp, holds, copies_left_out, NULL, NULL, false};
	return each_left_journal(sp->dir, LOCK_EX, recover_one, &rc, err);
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
	struct spool_record r;
	if (rd->holds == NULL || !record_parse(line, n, false, &r))
		return true;
	if (r.type == SPOOL_HOLD) {
		struct store_quarantine *q = g_new(struct store_quarantine, 1);
		*q = r.q;
		memset(&r.q, 0, sizeof r.q);
		g_ptr_array_add(rd->holds, q);
	}
	spool_record_clear(&r);
	return true;
}

/* The records of a journal whose daemon is gone, read as the spool's. */
static bool read_journal(void *arg, const char *path, int fd, char **err)
{
	gsize len = 0;
	char *text = read_all(fd, path, &len, err);
	if (text == NULL)
		return false;
	each_line(text, len, read_line, arg);
	g_free(text);
	return true;
}

bool spool_read(const char *dir, unsigned *records, GPtrArray *holds, char **err)
{
	*records = 0;
	char *path = g_build_filename(dir, SPOOL_FILE, NULL);
	/* Without the lock, which only the daemon's user can take: a line is
	 * appended in one write and the file replaced by a rename, so what is
	 * read is the file as it was, but for a last line still being written,
	 * left out (as one left unfinished by a daemon killed, no record). */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	bool ok = fd >= 0 || errno == ENOENT || fail_errno(path, NULL, err);
	gsize len = 0;
	char *text = NULL;
	struct stat sb;
	/* read again when the file changed size meanwhile (emptied in place
	 * by a replay, the rest appended), so as not to join two states */
	for (int tries = 0; fd >= 0 && tries < 3; tries++) {
		g_free(text);
		text = NULL;
		if (lseek(fd, 0, SEEK_SET) != 0) {
			fail_errno(path, "cannot read", err);
			break;
		}
		text = read_all(fd, path, &len, err);
		if (text == NULL || (fstat(fd, &sb) == 0 && (gsize)sb.st_size == len))
			break;
	}
	if (text == NULL)
		len = 0;
	if (fd >= 0 && text == NULL)
		ok = false;
	while (len > 0 && text[len - 1] != '\n')
		len--;
	if (text != NULL) {
		struct reading rd = {0, holds};
		each_line(text, len, read_line, &rd);
		*records = rd.records;
	}
	g_free(text);
	if (fd >= 0)
		close(fd);
	g_free(path);
	struct reading left = {0, holds};
	if (ok && !each_left_journal(dir, LOCK_SH, read_journal, &left, err))
		ok = false;
	*records += left.records;
	return ok;
}
