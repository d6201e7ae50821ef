/*
 * yamldoc.c - see yamldoc.h.
 */
#include <stdio.h>
#include <string.h>

#include "yamldoc.h"

/* libfyaml reports through this: keep its text. */
static void collect_diag(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
	(void)diag;
	g_string_append_len(user, buf, (gssize)len);
}

/* Rewrite libfyaml's "SOURCE:LINE:COL: [error: ]message" lines as ours. */
static void rewrite_errors(GString *errors, const char *name, const char *diag)
{
	char **lines = g_strsplit(diag, "\n", -1);
	for (int i = 0; lines[i] != NULL; i++) {
		for (const char *p = strchr(lines[i], ':'); p != NULL; p = strchr(p + 1, ':')) {
			int line, col, used = 0;
			if (sscanf(p, ":%d:%d: %n", &line, &col, &used) != 2 || used == 0)
				continue;
			const char *msg = p + used;
			if (g_str_has_prefix(msg, "error: "))
				msg += strlen("error: ");
			g_string_append_printf(errors, "%s:%d:%d: %s\n", name, line, col, msg);
			break;
		}
	}
	g_strfreev(lines);
}

/* Every alias under N is an error: refusing is simpler and safer than
 * resolving (no merge-key surprises, no billion laughs).  Returns how many. */
static unsigned refuse_aliases(struct fy_node *n, const char *name, GString *errors)
{
	if (n == NULL)
		return 0;
	if (fy_node_is_alias(n)) {
		int line, col;
		yamldoc_node_pos(n, &line, &col);
		g_string_append_printf(
		    errors, "%s:%d:%d: YAML alias \"*%s\" is not supported: write the value out in full\n",
		    name, line, col, fy_node_get_scalar0(n));
		return 1;
	}
	unsigned found = 0;
	void *it = NULL;
	if (fy_node_is_mapping(n)) {
		struct fy_node_pair *pair;
		while ((pair = fy_node_mapping_iterate(n, &it)) != NULL)
			found += refuse_aliases(fy_node_pair_key(pair), name, errors) +
			         refuse_aliases(fy_node_pair_value(pair), name, errors);
	} else if (fy_node_is_sequence(n)) {
		struct fy_node *item;
		while ((item = fy_node_sequence_iterate(n, &it)) != NULL)
			found += refuse_aliases(item, name, errors);
	}
	return found;
}

/* A document after the first is an error at its start ("---"). */
static bool refuse_second_document(struct fy_parser *fyp, const char *name, GString *errors)
{
	struct fy_document *next = fy_parse_load_document(fyp);
	if (next == NULL)
		return fy_parser_get_stream_error(fyp); /* a broken one: the diagnostics say where */
	const struct fy_mark *m = fy_document_state_start_mark(fy_document_get_document_state(next));
	g_string_append_printf(errors,
	                       "%s:%d:%d: a second YAML document: the file must hold one document only\n",
	                       name, m ? m->line + 1 : 0, m ? m->column + 1 : 0);
	fy_document_destroy(next);
	return true;
}

struct fy_document *yamldoc_parse(const char *name, const char *yaml, size_t len, GString *errors)
{
	GString *diag_text = g_string_new(NULL);
	struct fy_diag_cfg dcfg;
	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.output_fn = collect_diag;
	dcfg.user = diag_text;
	dcfg.colorize = false;
	dcfg.show_source = false;
	dcfg.show_type = false;
	dcfg.show_module = false;
	dcfg.show_position = true;
	struct fy_diag *diag = fy_diag_create(&dcfg);
	struct fy_parse_cfg pcfg = {.flags = FYPCF_QUIET | FYPCF_DEFAULT_PARSE, .diag = diag};
	struct fy_parser *fyp = fy_parser_create(&pcfg);
	size_t before = errors->len;
	struct fy_document *doc = NULL;
	if (fyp != NULL && fy_parser_set_string(fyp, yaml, len) == 0) {
		doc = fy_parse_load_document(fyp);
		if (doc == NULL && !fy_parser_get_stream_error(fyp))
			doc = fy_document_create(&pcfg); /* nothing but comments and blanks */
		else if (doc != NULL)
			refuse_aliases(fy_document_root(doc), name, errors);
		bool bad = doc == NULL || errors->len > before;
		if (doc != NULL)
			bad |= refuse_second_document(fyp, name, errors);
		if (bad) {
			rewrite_errors(errors, name, diag_text->str);
			if (errors->len == before)
				g_string_append_printf(errors, "%s:1:1: not a YAML document\n", name);
			fy_document_destroy(doc);
			doc = NULL;
		}
	} else {
		g_string_append_printf(errors, "%s:1:1: cannot set up the YAML parser\n", name);
	}
	fy_parser_destroy(fyp);
	fy_diag_unref(diag);
	g_string_free(diag_text, TRUE);
	return doc;
}

/* The first token of N: its scalar or tag, else (libfyaml 0.7 keeps no mark
 * of a collection) that of the first scalar inside it. */
static struct fy_token *first_token(struct fy_node *n)
{
	for (int depth = 0; n != NULL && depth < 1000; depth++) {
		struct fy_token *t = fy_node_get_scalar_token(n);
		if (t == NULL)
			t = fy_node_get_tag_token(n);
		if (t != NULL)
			return t;
		void *iter = NULL;
		if (fy_node_is_sequence(n)) {
			n = fy_node_sequence_iterate(n, &iter);
		} else if (fy_node_is_mapping(n)) {
			struct fy_node_pair *pair = fy_node_mapping_iterate(n, &iter);
			n = pair ? fy_node_pair_key(pair) : NULL;
		} else {
			return NULL;
		}
	}
	return NULL;
}

void yamldoc_node_pos(struct fy_node *n, int *line, int *col)
{
	struct fy_token *t = first_token(n);
	const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
	*line = m ? m->line + 1 : 0;
	*col = m ? m->column + 1 : 0;
}

void yamldoc_end_pos(const char *text, size_t len, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n') {
			++*line;
			*col = 1;
		} else {
			++*col;
		}
	}
}
