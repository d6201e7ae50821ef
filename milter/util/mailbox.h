/*
 * mailbox.h - mail archives read one message at a time: an mbox file
 * (mboxrd or mboxo, LF or CRLF), a Maildir (cur/ and new/, or one of them), a directory of
 * .eml files, or a single message file.  For `apologyctl backtest`.
 *
 * Streaming: mailbox_scan() reads each source once through a fixed buffer
 * and hands the caller every message's place (file, offset, length) and its
 * header block, capped at MAX_HEAD bytes; it never holds a whole message,
 * so a 50 MB message costs no more memory than a small one.  The caller
 * reads a message whole, when it wants it, with mailbox_read().
 *
 * Failures are environment errors (a source that cannot be opened or read):
 * false with *ERR (caller frees).  Bad messages are not errors: an mbox cut
 * short gives its last message as far as it goes.
 *
 * Ownership: the entry passed to the callback and its strings live until
 * the callback returns; copy what you keep.
 */
#ifndef APOLOGY_MAILBOX_H
#define APOLOGY_MAILBOX_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

/* One message of a source. */
struct mailbox_entry {
	const char *path; /* the file holding it: the mbox, or the message file */
	bool in_mbox;     /* within an mbox: From_ line removed, >From quoting to undo */
	goffset offset;   /* of its first byte (after the From_ line) in PATH */
	gsize length;     /* bytes in PATH, the mbox separator line excluded */
	const char *head; /* its header block (up to and with the blank line), at most
	                     the scan's MAX_HEAD bytes; >From quoting undone */
	size_t head_len;
};

/* Return false to stop the scan (mailbox_scan() then returns true). */
typedef bool (*mailbox_fn)(void *arg, const struct mailbox_entry *e);

/*
 * Call FN for every message of SOURCE, in order: an mbox file in file order,
 * a Maildir's cur/ then new/ and a directory's *.eml files by name, a
 * single message file once.  A file is an mbox when it starts with "From ";
 * a "From " line separates messages only after an empty line.  Returns
 * false with *ERR when SOURCE, or a file of it, cannot be opened or read
 * (the others are read all the same; *ERR names the first and counts the rest).
 */
bool mailbox_scan(const char *source, size_t max_head, mailbox_fn fn, void *arg, char **err);

/* What mailbox_scan() would read SOURCE as: "mbox", "maildir", "directory",
 * "message", or NULL when it cannot be opened.  Static storage. */
const char *mailbox_kind(const char *source);

/*
 * Read the message E points at (only its path, in_mbox, offset and length
 * are used) into OUT, replacing its contents; for an mbox, ">From " quoting
 * is undone (one '>' less before "From " at the start of a line).  False
 * with *ERR when the file cannot be read or has changed size under us.
 */
bool mailbox_read(const struct mailbox_entry *e, GByteArray *out, char **err);

/* Undo mboxrd quoting in DATA of *LEN bytes in place: a line of one or more
 * '>' then "From " loses one '>'.  Updates *LEN. */
void mailbox_unquote(char *data, size_t *len);

#endif
