/*
 * review_queue.c - the queue's order and paging (see review_queue.h).  The
 * request's words are matched against the table of sorts below and a page
 * number is clamped to the pages there are; nothing from the request ever
 * reaches the store except as one of the table's orders and bound numbers.
 */
#include <stdlib.h>
#include <string.h>

#include "review_queue.h"

static const struct queue_sort sorts[] = {
    {"oldest", "oldest first", STORE_ORDER_OLDEST},
    {"score", "highest score first", STORE_ORDER_SCORE},
    {"sender", "by sender", STORE_ORDER_SENDER},
};

/* The filters the queue's form sends, in the order its links repeat them. */
static const char *const filters[] = {"state", "sender", "client", "rule", "older"};

const struct queue_sort *queue_sort_find(const char *name)
{
	for (size_t i = 0; name != NULL && i < G_N_ELEMENTS(sorts); i++)
		if (strcmp(sorts[i].name, name) == 0)
			return &sorts[i];
	return &sorts[0];
}

const struct queue_sort *queue_sorts(size_t *n)
{
	*n = G_N_ELEMENTS(sorts);
	return sorts;
}

/* ARG as a page number from 1 up (G_MAXUINT64 for any larger number), or
 * 0 when it is not one. */
static guint64 page_number(const char *arg)
{
	guint64 n = 0;
	GError *e = NULL;
	if (arg == NULL || *arg == '\0' || strspn(arg, "0123456789") != strlen(arg))
		return 0;
	if (!g_ascii_string_to_unsigned(arg, 10, 0, G_MAXUINT64, &n, &e))
		n = g_error_matches(e, G_NUMBER_PARSER_ERROR, G_NUMBER_PARSER_ERROR_OUT_OF_BOUNDS)
		        ? G_MAXUINT64
		        : 0;
	g_clear_error(&e);
	return n;
}

struct queue_page queue_page_of(const char *arg, gint64 total, unsigned size)
{
	struct queue_page p = {.size = MAX(size, 1u)};
	guint64 rows = total > 0 ? (guint64)total : 0;
	p.pages = (unsigned)MAX((rows + p.size - 1) / p.size, 1u);
	guint64 want = page_number(arg);
	p.page = want == 0 ? 1 : (unsigned)MIN(want, (guint64)p.pages);
	p.offset = (p.page - 1) * p.size;
	return p;
}

static void add_arg(GString *url, const char *name, const char *value)
{
	char *escaped = g_uri_escape_string(value, NULL, FALSE);
	g_string_append_printf(url, "%s%s=%s", url->len > 2 ? "&" : "", name, escaped);
	g_free(escaped);
}

char *queue_url(GHashTable *query, const struct queue_sort *sort, unsigned page)
{
	GString *url = g_string_new("/?");
	for (size_t i = 0; i < G_N_ELEMENTS(filters); i++) {
		const char *v = query ? g_hash_table_lookup(query, filters[i]) : NULL;
		if (v != NULL && *v != '\0')
			add_arg(url, filters[i], v);
	}
	if (sort != NULL && sort != &sorts[0])
		add_arg(url, "sort", sort->name);
	if (page > 1) {
		char n[16];
		g_snprintf(n, sizeof n, "%u", page);
		add_arg(url, "page", n);
	}
	if (url->len == 2)
		g_string_truncate(url, 1);
	return g_string_free(url, FALSE);
}
