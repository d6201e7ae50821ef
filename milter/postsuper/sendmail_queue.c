/*
 * sendmail_queue.c - Sendmail queue ids, queue directory and queue files,
 * for apology-postsuper (see sendmail_queue.h).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sendmail_queue.h"
#include "trusted.h"

/* Sendmail's QueueIdChars: 60 characters, so "y" and "z" never occur. */
static const char id_chars[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx";

bool sendmail_queue_id_valid(const char *id)
{
	size_t n = strlen(id);
	return n >= 13 && n <= 18 && strspn(id, id_chars) >= 8 && strspn(id + 8, "0123456789") == n - 8;
}

/* The next line of TEXT after LINE (NULL at the end). */
static const char *next_line(const char *line)
{
	const char *nl = strchr(line, '\n');
	return nl != NULL && nl[1] != '\0' ? nl + 1 : NULL;
}

bool sendmail_queue_dir(const char *cf, char *dir, size_t size, char *why, size_t why_size)
{
	static const char option[] = "O QueueDirectory=";
	for (const char *line = cf; line != NULL; line = next_line(line)) {
		if (strncmp(line, option, sizeof option - 1) != 0)
			continue;
		const char *v = line + sizeof option - 1;
		size_t len = strcspn(v, "\r\n");
		while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
			len--;
		if (len >= size || len >= TRUSTED_PATH_MAX) {
			snprintf(why, why_size, "QueueDirectory is too long");
			return false;
		}
		memcpy(dir, v, len);
		dir[len] = '\0';
		if (strchr(dir, '*') != NULL || !trusted_path_syntax(dir)) {
			snprintf(why, why_size,
			         "QueueDirectory %s is not one plain absolute directory (queue groups and "
			         "wildcards are not supported)",
			         dir);
			return false;
		}
		return true;
	}
	snprintf(why, why_size, "sendmail.cf sets no QueueDirectory");
	return false;
}

/* Is the header line LINE (after "H" and its "?flags?") "HEADER: TOKEN"? */
static bool header_is(const char *line, const char *header, const char *token)
{
	if (*line == '?') {
		const char *end = strchr(line + 1, '?');
		if (end == NULL)
			return false;
		line = end + 1;
	}
	size_t hlen = strlen(header);
	if (strncasecmp(line, header, hlen) != 0 || line[hlen] != ':')
		return false;
	const char *v = line + hlen + 1;
	v += strspn(v, " \t");
	size_t vlen = strcspn(v, "\r\n");
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	return vlen == strlen(token) && memcmp(v, token, vlen) == 0;
}

enum sendmail_held sendmail_queue_file_check(const char *text, const char *header, const char *token)
{
	bool quarantined = false, carries = false;
	for (const char *line = text; line != NULL; line = next_line(line)) {
		if (line[0] == 'q' && line[1] != '\n' && line[1] != '\0')
			quarantined = true;
		else if (line[0] == 'H' && header_is(line + 1, header, token))
			carries = true;
		else if (line[0] == '.' && (line[1] == '\n' || line[1] == '\0'))
			break;
	}
	return !quarantined ? SM_HELD_NOT_QUARANTINED : carries ? SM_HELD_YES : SM_HELD_OTHER_MESSAGE;
}
