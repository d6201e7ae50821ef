/*
 * settings.c - see settings.h.
 */
#include <libfyaml.h>
#include <stdarg.h>
#include <string.h>

#include "settings.h"
#include "yamldoc.h"

struct reader {
	const struct settings_schema *schema;
	void *target;
	const char *file;
	GString *errors;
};

G_GNUC_PRINTF(3, 4)
static void error_at(struct reader *r, struct fy_node *n, const char *fmt, ...)
{
	int line, col;
	va_list ap;
	yamldoc_node_pos(n, &line, &col);
	g_string_append_printf(r->errors, "%s:%d:%d: ", r->file, line, col);
	va_start(ap, fmt);
	g_string_append_vprintf(r->errors, fmt, ap);
	va_end(ap);
	g_string_append_c(r->errors, '\n');
}

/* Set NAME to VALUE, a complaint reported at node AT. */
static void set_at(struct reader *r, struct fy_node *at, const char *name, const char *value)
{
	char *why = r->schema->set(r->target, name, value);
	if (why != NULL)
		error_at(r, at, "%s: %s", name, why);
	g_free(why);
}

/* A YAML sequence of scalars for a list key: each item checked in place. */
static void read_list(struct reader *r, const char *name, struct fy_node *key, struct fy_node *seq)
{
	GString *joined = g_string_new(NULL);
	void *it = NULL;
	struct fy_node *item;
	bool ok = true;
	while ((item = fy_node_sequence_iterate(seq, &it)) != NULL) {
		const char *v = fy_node_is_scalar(item) ? fy_node_get_scalar0(item) : NULL;
		char *why = NULL;
		if (v == NULL || strchr(v, ',') != NULL)
			why = g_strdup("expected a plain value");
		else if (r->schema->check_item != NULL)
			why = r->schema->check_item(name, v);
		if (why != NULL) {
			error_at(r, item, "%s: %s", name, why);
			g_free(why);
			ok = false;
			continue;
		}
		g_string_append_printf(joined, "%s%s", joined->len ? "," : "", v);
	}
	if (ok)
		set_at(r, key, name, joined->str);
	g_string_free(joined, TRUE);
}

static void read_mapping(struct reader *r, struct fy_node *map, const char *prefix)
{
	void *it = NULL;
	struct fy_node_pair *pair;
	while ((pair = fy_node_mapping_iterate(map, &it)) != NULL) {
		struct fy_node *key = fy_node_pair_key(pair), *val = fy_node_pair_value(pair);
		const char *kname = key && fy_node_is_scalar(key) ? fy_node_get_scalar0(key) : NULL;
		if (kname == NULL) {
			error_at(r, key, "expected a key name");
			continue;
		}
		char *name = *prefix ? g_strdup_printf("%s.%s", prefix, kname) : g_strdup(kname);
		enum settings_kind kind = r->schema->kind(name);
		if (kind == SETTINGS_SECTION) {
			if (val && fy_node_is_mapping(val))
				read_mapping(r, val, name);
			else
				error_at(r, key, "%s: expected a mapping of settings", name);
		} else if (kind == SETTINGS_UNKNOWN) {
			error_at(r, key, "unknown key %s", name);
		} else if (kind == SETTINGS_LIST && val && fy_node_is_sequence(val)) {
			read_list(r, name, key, val);
		} else if (val == NULL || fy_node_is_null(val)) {
			set_at(r, key, name, NULL);
		} else if (!fy_node_is_scalar(val)) {
			error_at(r, key, "%s: expected a single value", name);
		} else {
			set_at(r, val, name, fy_node_get_scalar0(val));
		}
		g_free(name);
	}
}

bool settings_read(const struct settings_schema *schema, void *target, const char *name, const char *yaml,
                   size_t len, char **err)
{
	struct reader r = {schema, target, name, g_string_new(NULL)};
	struct fy_document *doc = yamldoc_parse(name, yaml, len, r.errors);
	if (doc != NULL) {
		struct fy_node *root = fy_document_root(doc);
		if (root != NULL && fy_node_is_mapping(root))
			read_mapping(&r, root, "");
		else if (root != NULL && !fy_node_is_null(root))
			error_at(&r, root, "expected a mapping of settings");
		fy_document_destroy(doc);
	}
	if (r.errors->len == 0) {
		g_string_free(r.errors, TRUE);
		return true;
	}
	*err = g_string_free(r.errors, FALSE);
	return false;
}
