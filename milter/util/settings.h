/*
 * settings.h - the YAML reader of settings files: the daemon's
 * configuration (daemon/config.c) and the review tools' settings
 * (holds/review_config.c).  Each keeps its keys in one table; this reader
 * walks a document (libfyaml, through yamldoc.h: one document, no aliases)
 * and hands each value to the table's owner by its dotted name (nested
 * mappings name keys "section.key"), with every problem as a
 * "NAME:line:col: message" line: unknown keys, a section given a value, a
 * mapping given to a key, and the owner's own complaints about values.
 * Pure: the caller hands in the text.
 */
#ifndef APOLOGY_SETTINGS_H
#define APOLOGY_SETTINGS_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

enum settings_kind {
	SETTINGS_UNKNOWN, /* no such key */
	SETTINGS_SECTION, /* the start of dotted names: a mapping of settings */
	SETTINGS_VALUE,   /* a key with one value */
	SETTINGS_LIST,    /* a key that also takes a YAML sequence (items joined by commas) */
};

struct settings_schema {
	/* What the dotted NAME is. */
	enum settings_kind (*kind)(const char *name);
	/* Set key NAME of TARGET to VALUE (NULL: the YAML value is empty);
	 * NULL, or why not without the key's name (caller frees). */
	char *(*set)(void *target, const char *name, const char *value);
	/* May be NULL: one ITEM of the sequence given to list NAME, checked
	 * before the list is set; NULL, or why not (caller frees). */
	char *(*check_item)(const char *name, const char *item);
};

/* Read LEN bytes of YAML named NAME into TARGET through SCHEMA; false with
 * *ERR set to the "NAME:line:col: message" lines (caller frees). */
bool settings_read(const struct settings_schema *schema, void *target, const char *name, const char *yaml,
                   size_t len, char **err);

#endif
