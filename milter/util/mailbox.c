/*
 * mailbox.c - see mailbox.h.  An mbox is read through one fixed buffer: a
 * line that begins with "From " starts a message (writers quote such lines
 * in bodies as ">From "), the blank line before it is the separator and not
 * part of the message.  Only the header block of each message is copied.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailbox.h"

#define SCAN_BUFFER (256 * 1024)

static bool fail_errno(char **err, const char *what, const char *path)
{
	*err = g_strdup_printf("%s: %s: %s", path, what, g_strerror(errno));
	return false;
}

void mailbox_unquote(char *data, size_t *len)
{
	size_t r = 0, w = 0, n = *len;
	while (r < n) {
		size_t k = r;
		while (k < n && data[k] == '>')
			k++;
		if (k > r && n - k >= 5 && memcmp(data + k, "From ", 5) == 0)
			r++; /* one '>' less */
		const char *nl = memchr(data + r, '\n', n - r);
		size_t line = nl ? (size_t)(nl - (data + r)) + 1 : n - r;
		if (w != r)
			memmove(data + w, data + r, line);
		w += line;
		r += line;
	}
	*len = w;
}

/* Is the line at DATA (N bytes available) empty: "\n" or "\r\n"? */
static bool blank_line(const char *data, size_t n)
{
	return n >= 1 && (data[0] == '\n' || (n >= 2 && data[0] == '\r' && data[1] == '\n'));
}

/* ---- the mbox scanner -------------------------------------------------- */

struct scanner {
	int fd;
	char *buf;
	size_t pos, len; /* unread bytes are buf[pos, len) */
	goffset base;    /* file offset of buf[0] */
	bool eof;
};

/* Make at least NEED unread bytes available, unless the file ends first.
 * False on a read error (errno set). */
static bool fill(struct scanner *s, size_t need)
{
	if (s->len - s->pos >= need || s->eof)
		return true;
	memmove(s->buf, s->buf + s->pos, s->len - s->pos);
	s->base += (goffset)s->pos;
	s->len -= s->pos;
	s->pos = 0;
	while (s->len < need && !s->eof) {
		ssize_t n = read(s->fd, s->buf + s->len, SCAN_BUFFER - s->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return false;
		s->eof = n == 0;
		s->len += (size_t)n;
	}
	return true;
}

/* The message being read. */
struct current {
	bool open;
	goffset start;
	GByteArray *head;
	bool head_done;
	char tail[4]; /* its last bytes, to leave the separator out */
	size_t tail_len;
};

static void current_feed(struct current *c, const char *data, size_t n, bool line_start, size_t max_head)
{
	if (!c->head_done) {
		bool blank = line_start && blank_line(data, n);
		size_t room = max_head - MIN(c->head->len, max_head);
		g_byte_array_append(c->head, (const guint8 *)data, (guint)MIN(n, room));
		c->head_done = blank || c->head->len >= max_head;
	}
	for (size_t i = n > 4 ? n - 4 : 0; i < n; i++) {
		if (c->tail_len == 4)
			memmove(c->tail, c->tail + 1, --c->tail_len);
		c->tail[c->tail_len++] = data[i];
	}
}

/* Hand the message ending at END to FN; false when FN stops the scan. */
static bool current_finish(struct current *c, const char *path, goffset end, mailbox_fn fn, void *arg)
{
	if (!c->open)
		return true;
	gsize length = (gsize)(end - c->start);
	if (c->tail_len == 4 && memcmp(c->tail, "\r\n\r\n", 4) == 0)
		length -= 2;
	else if (c->tail_len >= 2 && memcmp(c->tail + c->tail_len - 2, "\n\n", 2) == 0)
		length -= 1;
	size_t head_len = c->head->len;
	mailbox_unquote((char *)c->head->data, &head_len);
	struct mailbox_entry e = {
	    .path = path,
	    .in_mbox = true,
	    .offset = c->start,
	    .length = length,
	    .head = (const char *)c->head->data,
	    .head_len = head_len,
	};
	c->open = false;
	return fn(arg, &e);
}

static void current_start(struct current *c, goffset at)
{
	c->open = true;
	c->start = at;
	g_byte_array_set_size(c->head, 0);
	c->head_done = false;
	c->tail_len = 0;
}

static bool scan_mbox(const char *path, int fd, size_t max_head, mailbox_fn fn, void *arg, char **err)
{
	struct scanner s = {.fd = fd, .buf = g_malloc(SCAN_BUFFER)};
	struct current c = {.head = g_byte_array_new()};
	/* A "From " line separates messages at the start of the file or after
	 * an empty line, as every mbox writer puts one: one in a body that no
	 * writer quoted (">From") follows the body's text. */
	bool line_start = true, after_blank = true, from_line = false, go_on = true, ok = true;
	while (go_on) {
		if (!fill(&s, line_start ? 5 : 1)) {
			ok = fail_errno(err, "read", path);
			break;
		}
		if (s.pos == s.len)
			break;
		const char *p = s.buf + s.pos;
		size_t avail = s.len - s.pos;
		if (line_start && after_blank && avail >= 5 && memcmp(p, "From ", 5) == 0) {
			go_on = current_finish(&c, path, s.base + (goffset)s.pos, fn, arg);
			from_line = true;
		}
		const char *nl = memchr(p, '\n', avail);
		size_t n = nl ? (size_t)(nl - p) + 1 : avail;
		if (c.open && go_on)
			current_feed(&c, p, n, line_start, max_head);
		s.pos += n;
		after_blank = line_start && nl != NULL && (n == 1 || (n == 2 && p[0] == '\r'));
		line_start = nl != NULL;
		if (from_line && line_start) {
			from_line = false;
			current_start(&c, s.base + (goffset)s.pos);
		}
	}
	if (ok && go_on)
		current_finish(&c, path, s.base + (goffset)s.len, fn, arg);
	g_byte_array_unref(c.head);
	g_free(s.buf);
	return ok;
}

/* ---- single files, directories ----------------------------------------- */

/* A message file: its header block is its first bytes up to the blank line. */
static bool scan_message(const char *path, int fd, size_t max_head, mailbox_fn fn, void *arg, char **err)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return fail_errno(err, "stat", path);
	char *head = g_malloc(max_head + 1);
	size_t got = 0;
	while (got < max_head) {
		ssize_t n = pread(fd, head + got, max_head - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			g_free(head);
			return fail_errno(err, "read", path);
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	size_t head_len = got;
	for (size_t i = 0; i < got; i++) {
		bool line_start = i == 0 || head[i - 1] == '\n';
		if (line_start && blank_line(head + i, got - i)) {
			head_len = head[i] == '\n' ? i + 1 : i + 2;
			break;
		}
	}
	struct mailbox_entry e = {
	    .path = path, .offset = 0, .length = (gsize)st.st_size, .head = head, .head_len = head_len};
	fn(arg, &e);
	g_free(head);
	return true;
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The regular files of DIR (skipping dot files; only *.eml when EML_ONLY),
 * sorted by name; NULL with *ERR when DIR cannot be read. */
static GPtrArray *list_dir(const char *dir, bool eml_only, char **err)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		fail_errno(err, "open", dir);
		return NULL;
	}
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || (eml_only && !g_str_has_suffix(de->d_name, ".eml")))
			continue;
		char *path = g_build_filename(dir, de->d_name, NULL);
		struct stat st;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			g_ptr_array_add(names, path);
		else
			g_free(path);
	}
	closedir(d);
	g_ptr_array_sort(names, compare_names);
	return names;
}

static bool scan_file(const char *path, size_t max_head, mailbox_fn fn, void *arg, char **err);

/* Every file of FILES, one that cannot be read skipped: false with *ERR
 * naming the first of those and how many more there were. */
static bool scan_files(GPtrArray *files, size_t max_head, mailbox_fn fn, void *arg, char **err)
{
	unsigned failed = 0;
	for (guint i = 0; i < files->len; i++) {
		char *why = NULL;
		if (scan_file(files->pdata[i], max_head, fn, arg, &why))
			continue;
		if (failed++ == 0)
			*err = why;
		else
			g_free(why);
	}
	if (failed > 1) {
		char *all = g_strdup_printf("%s (and %u more files not read)", *err, failed - 1);
		g_free(*err);
		*err = all;
	}
	return failed == 0;
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Whether PATH/PART is a directory. */
static bool has_part(const char *path, const char *part)
{
	char *dir = g_build_filename(path, part, NULL);
	bool yes = is_dir(dir);
	g_free(dir);
	return yes;
}

/* Whether DIR holds a *.eml file of its own. */
static bool has_eml(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name = NULL;
	while (d && (name = g_dir_read_name(d)) != NULL &&
	       !(name[0] != '.' && g_str_has_suffix(name, ".eml")))
		;
	if (d)
		g_dir_close(d);
	return name != NULL;
}

/* A Maildir: "cur" and "new" in it, or one of them (archive tools drop
 * empty directories) and no .eml files of its own (a directory of them with
 * a subdirectory that happens to be called "new" is one of .eml files). */
static bool is_maildir(const char *path)
{
	bool cur = has_part(path, "cur"), new = has_part(path, "new");
	return (cur && new) || ((cur || new) && !has_eml(path));
}

static bool scan_dir(const char *path, size_t max_head, mailbox_fn fn, void *arg, char **err)
{
	bool maildir = is_maildir(path), ok = true;
	const char *parts[] = {"cur", "new"};
	for (size_t i = 0; i < (maildir ? 2u : 1u); i++) {
		if (maildir && !has_part(path, parts[i]))
			continue;
		char *dir = maildir ? g_build_filename(path, parts[i], NULL) : g_strdup(path);
		char *why = NULL;
		GPtrArray *files = list_dir(dir, !maildir, &why);
		g_free(dir);
		if (files != NULL) {
			if (!scan_files(files, max_head, fn, arg, &why))
				ok = false;
			g_ptr_array_unref(files);
		} else {
			ok = false;
		}
		if (why != NULL && *err == NULL)
			*err = why;
		else
			g_free(why);
	}
	return ok;
}

/* Is the file at FD an mbox (it starts with "From ")? */
static bool starts_with_from(int fd)
{
	char first[5];
	return pread(fd, first, 5, 0) == 5 && memcmp(first, "From ", 5) == 0;
}

static bool scan_file(const char *path, size_t max_head, mailbox_fn fn, void *arg, char **err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail_errno(err, "open", path);
	bool ok = starts_with_from(fd) ? scan_mbox(path, fd, max_head, fn, arg, err)
	                               : scan_message(path, fd, max_head, fn, arg, err);
	close(fd);
	return ok;
}

bool mailbox_scan(const char *source, size_t max_head, mailbox_fn fn, void *arg, char **err)
{
	if (is_dir(source))
		return scan_dir(source, max_head, fn, arg, err);
	return scan_file(source, max_head, fn, arg, err);
}

const char *mailbox_kind(const char *source)
{
	if (is_dir(source))
		return is_maildir(source) ? "maildir" : "directory";
	int fd = open(source, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	bool mbox = starts_with_from(fd);
	close(fd);
	return mbox ? "mbox" : "message";
}

bool mailbox_read(const struct mailbox_entry *e, GByteArray *out, char **err)
{
	int fd = open(e->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail_errno(err, "open", e->path);
	g_byte_array_set_size(out, (guint)e->length);
	size_t got = 0;
	while (got < e->length) {
		ssize_t n = pread(fd, out->data + got, e->length - got, (off_t)(e->offset + (goffset)got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	int saved = errno;
	close(fd);
	if (got < e->length) {
		errno = saved;
		*err =
		    g_strdup_printf("%s: the message at offset %" G_GINT64_FORMAT " is cut short (the file "
		                    "changed?)",
		                    e->path, (gint64)e->offset);
		g_byte_array_set_size(out, 0);
		return false;
	}
	if (e->in_mbox) {
		size_t len = out->len;
		mailbox_unquote((char *)out->data, &len);
		g_byte_array_set_size(out, (guint)len);
	}
	return true;
}
