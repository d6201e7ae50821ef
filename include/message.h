/*
 * message.h - stage 1 of the pipeline: a raw RFC 5322 message parsed into
 * the few things the rest of the core needs (headers, the author's body
 * text as UTF-8).  No I/O: the caller hands in the bytes.
 *
 * Ownership: message_parse() fills a caller-provided struct message whose
 * strings and arrays are owned by it; message_clear() frees them.
 */
#ifndef APOLOGY_MESSAGE_H
#define APOLOGY_MESSAGE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

/* Caps on what a message may cost to analyse.  Over a cap the message is
 * "unchecked", never a finding. */
struct limits {
	unsigned max_parts;    /* MIME parts walked */
	unsigned max_depth;    /* multipart / message nesting */
	unsigned max_headers;  /* top-level header fields */
	size_t max_text_bytes; /* decoded text of the chosen body part */
};

void limits_default(struct limits *lim);

struct message {
	char *subject;                /* decoded UTF-8, "" when absent */
	char *from;                   /* addr-spec of From, lower case, "" when absent */
	char *from_name;              /* display name of From, UTF-8, "" when absent */
	char *message_id;             /* without <>, "" when absent */
	char *in_reply_to;            /* first id of In-Reply-To, "" when absent */
	char *references;             /* raw References value, "" when absent */
	GPtrArray *recipient_domains; /* char *: lower-case domains of To and Cc */
	gint64 date;                  /* Date header as Unix seconds, -1 when absent */
	char *body;                   /* UTF-8 text the author sent (plain part, or HTML as
	                                 text with quoted HTML regions prefixed "> ") */
	size_t body_len;
	bool body_from_html;
	const char *unchecked; /* NULL when analysable, else a static reason */
};

/*
 * Parse LEN bytes at DATA.  Always fills MSG (empty strings where absent);
 * when the message cannot be analysed, MSG->unchecked names why and the
 * return is false.  Never fails on bad input otherwise.
 */
bool message_parse(const char *data, size_t len, const struct limits *lim, struct message *msg);
void message_clear(struct message *msg);

/* One-time library set-up (GMime); safe to call more than once. */
void message_library_init(void);

/* The reason a message over limits.max_parts is unchecked, whether the walk
 * of the parsed tree or mime_count found it. */
#define MESSAGE_TOO_MANY_PARTS "too many MIME parts"
/* An address field with more groups than GMime's parser can take (it
 * recurses per group): never parsed. */
#define MESSAGE_ADDRESS_TOO_DEEP "an address field with too many groups"
/* Colons an address field may hold: GMime's address parser recurses once
 * per group ("name:"), a few hundred bytes of stack a level, so a field of
 * tens of thousands of groups overflows a thread's stack (the process
 * dies).  A field as long as Postfix lets through (header_size_limit,
 * 100 KB) holds 50,000; real ones a handful. */
#define MESSAGE_MAX_ADDRESS_COLONS 500
/* Longest Message-ID / In-Reply-To / References value read: a longer one is
 * taken as absent, by the daemon and by `apologyctl backtest` alike. */
#define MESSAGE_MAX_ID_HEADER 8192

/*
 * A count of a message's MIME parts without parsing it, so that a message
 * of a million empty parts is refused before GMime builds a million
 * objects (seconds and a gigabyte).  It learns each boundary from a
 * "boundary=" parameter and counts the lines that open a part ("--"
 * boundary, not the closing "--" boundary "--"); the message itself is one
 * part more.  Past MIME_COUNT_BOUNDARIES boundaries each further
 * declaration counts as a part (its multipart is one).  The count errs low
 * rather than high: what it misses, the walk of the parsed tree still caps.
 *
 * Fed as the message grows: mime_count_feed() reads the whole lines of
 * DATA[0..LEN) it has not read yet, where DATA is the message so far (the
 * same bytes each time, longer).  Pure: no I/O.  mime_count_clear() frees
 * what the count holds.
 */
#define MIME_COUNT_BOUNDARIES 64
struct mime_count {
	size_t done;           /* bytes of DATA read: whole lines only */
	unsigned parts;        /* the message, parts opened, declarations past the table */
	GPtrArray *boundaries; /* GString *: the boundaries seen, at most MIME_COUNT_BOUNDARIES */
};

void mime_count_init(struct mime_count *mc);
void mime_count_feed(struct mime_count *mc, const char *data, size_t len);
/* MESSAGE_TOO_MANY_PARTS when the parts counted so far are over LIM's
 * max_parts, else NULL. */
const char *mime_count_over(const struct mime_count *mc, const struct limits *lim);
void mime_count_clear(struct mime_count *mc);

#endif
