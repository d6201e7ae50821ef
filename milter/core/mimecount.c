/*
 * mimecount.c - a count of a message's MIME parts from its lines alone,
 * before stage 1 parses it (see mime_count in message.h).  The milter feeds
 * it while the message arrives and does not hand a message over the
 * policy's max-parts to GMime at all.  Pure: no I/O, no parsing beyond
 * lines and one header parameter.
 */
#include <string.h>

#include "message.h"

/* The longest line RFC 5322 allows: a longer boundary is no boundary GMime
 * would see in a line of its own, but its multipart still counts. */
#define MAX_BOUNDARY 998

static void free_boundary(gpointer b)
{
	g_string_free(b, TRUE);
}

void mime_count_init(struct mime_count *mc)
{
	memset(mc, 0, sizeof *mc);
	mc->parts = 1; /* the message */
	mc->boundaries = g_ptr_array_new_with_free_func(free_boundary);
}

void mime_count_clear(struct mime_count *mc)
{
	if (mc->boundaries)
		g_ptr_array_free(mc->boundaries, TRUE);
	memset(mc, 0, sizeof *mc);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* A boundary declared: remembered, or counted as a part once the table is
 * full (or when it is too long to be one). */
static void declared(struct mime_count *mc, const char *b, size_t n)
{
	if (n == 0)
		return;
	for (guint i = 0; i < mc->boundaries->len; i++) {
		const GString *known = mc->boundaries->pdata[i];
		if (known->len == n && memcmp(known->str, b, n) == 0)
			return;
	}
	if (n > MAX_BOUNDARY || mc->boundaries->len >= MIME_COUNT_BOUNDARIES)
		mc->parts++;
	else
		g_ptr_array_add(mc->boundaries, g_string_new_len(b, (gssize)n));
}

/* The "boundary=" parameters in LINE[0..N), in any case, with spaces
 * around "=" and the value quoted or not. */
static void find_declarations(struct mime_count *mc, const char *line, size_t n)
{
	const char *end = line + n;
	for (const char *eq = memchr(line, '=', n); eq; eq = memchr(eq + 1, '=', (size_t)(end - eq - 1))) {
		const char *name = eq;
		while (name > line && is_space(name[-1]))
			name--;
		if (name - line < 8 || g_ascii_strncasecmp(name - 8, "boundary", 8) != 0)
			continue;
		if (name - 8 > line && (g_ascii_isalnum(name[-9]) || name[-9] == '-' || name[-9] == '_'))
			continue;
		const char *v = eq + 1;
		while (v < end && is_space(*v))
			v++;
		const char *stop;
		if (v < end && *v == '"') {
			v++;
			stop = memchr(v, '"', (size_t)(end - v));
			if (stop == NULL)
				stop = end;
		} else {
			stop = v;
			while (stop < end && *stop != ';' && !is_space(*stop))
				stop++;
		}
		declared(mc, v, (size_t)(stop - v));
		if (stop >= end)
			break;
		eq = stop;
	}
}

/* LINE[0..N) after its leading "--": a part opens when the rest, without
 * trailing spaces, is a known boundary (not the boundary and "--"). */
static void delimiter(struct mime_count *mc, const char *rest, size_t n)
{
	while (n > 0 && is_space(rest[n - 1]))
		n--;
	for (guint i = 0; i < mc->boundaries->len; i++) {
		const GString *b = mc->boundaries->pdata[i];
		if (b->len == n && memcmp(b->str, rest, n) == 0) {
			mc->parts++;
			return;
		}
	}
}

void mime_count_feed(struct mime_count *mc, const char *data, size_t len)
{
	while (mc->done < len) {
		const char *line = data + mc->done;
		const char *nl = memchr(line, '\n', len - mc->done);
		if (nl == NULL)
			return; /* the rest of this line comes later */
		size_t n = (size_t)(nl - line);
		mc->done += n + 1;
		if (n >= 2 && line[0] == '-' && line[1] == '-')
			delimiter(mc, line + 2, n - 2);
		else
			find_declarations(mc, line, n);
	}
}

const char *mime_count_over(const struct mime_count *mc, const struct limits *lim)
{
	return mc->parts > lim->max_parts ? MESSAGE_TOO_MANY_PARTS : NULL;
}
