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
	struct fy_document *doc = fy_document_build_from_string(&pcfg, yaml, len);
	if (doc == NULL) {
		size_t before = errors->len;
		rewrite_errors(errors, name, diag_text->str);
		if (errors->len == before)
			g_string_append_printf(errors, "%s:1:1: not a YAML document\n", name);
	}
	fy_diag_unref(diag);
	g_string_free(diag_text, TRUE);
	return doc;
}

void yamldoc_node_pos(struct fy_node *n, int *line, int *col)
{
	struct fy_token *t = n ? fy_node_get_scalar_token(n) : NULL;
	if (t == NULL && n)
		t = fy_node_get_tag_token(n);
	const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
	*line = m ? m->line + 1 : 0;
	*col = m ? m->column + 1 : 0;
}
