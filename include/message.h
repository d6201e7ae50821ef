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

#endif
