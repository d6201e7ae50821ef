/*
 * review.h - the parts of apology-review: review.c is the HTTP shell
 * (libmicrohttpd, log-in, sessions, CSRF checks, the notification worker);
 * review_pages.c renders the pages from the store.  Pages are
 * server-rendered HTML; every string from mail or the store goes through
 * html_escape(); no page carries inline script, so the Content-Security-
 * Policy forbids all script.
 *
 * Ownership: a struct page is filled by a page function and freed by
 * page_clear(); the request's tables belong to the shell.
 */
#ifndef APOLOGY_REVIEW_H
#define APOLOGY_REVIEW_H

#include <glib.h>
#include <stdbool.h>

#include "review_config.h"
#include "store.h"

/* What the whole server shares (read-only after start-up). */
struct review_app {
	struct review_config cfg;
	struct store *st;
};

/* One request as the pages see it: who asks, and what they sent. */
struct review_request {
	const char *user;  /* the log-in name */
	bool admin;        /* role admin (else reviewer) */
	const char *csrf;  /* the session's CSRF token, for forms */
	GHashTable *query; /* GET arguments, name -> value */
	GHashTable *form;  /* POST fields, name -> value */
	gint64 now;
};

struct page {
	int status;     /* HTTP status */
	GString *body;  /* HTML */
	char *location; /* for redirects (status 303) */
};

void page_clear(struct page *p);
/* Append S with & < > " ' escaped. */
void html_escape(GString *out, const char *s);
void html_escape_len(GString *out, const char *s, size_t len);

/* Pages: each fills *P.  ID is the number in /reply/ID. */
void page_login(struct page *p, const char *csrf, const char *error);
void page_queue(struct review_app *app, const struct review_request *rq, struct page *p);
void page_reply(struct review_app *app, const struct review_request *rq, gint64 id, const char *notice,
                struct page *p);
void page_decide(struct review_app *app, const struct review_request *rq, gint64 id, struct page *p);
void page_audit(struct review_app *app, const struct review_request *rq, struct page *p);
void page_stats(struct review_app *app, const struct review_request *rq, struct page *p);
void page_error(struct page *p, int status, const char *message);

/* The stylesheet served at /static/review.css: milter/review/review.css,
 * compiled in at build time.  Caller unrefs. */
GBytes *review_css(void);

#endif
