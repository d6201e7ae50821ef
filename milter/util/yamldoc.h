/*
 * yamldoc.h - reading a YAML document with libfyaml, with every parse error
 * as a "NAME:line:col: message" line.  Shared by the policy loader (core)
 * and the daemon's config reader.  Pure: the caller hands in the text.
 *
 * A file is one document of plain values: a second document ("---" after
 * the first) and aliases ("*name") are errors, not silently dropped or read
 * as the alias's name.  Anchors ("&name") alone are harmless and allowed.
 */
#ifndef APOLOGY_YAMLDOC_H
#define APOLOGY_YAMLDOC_H

#include <glib.h>
#include <libfyaml.h>

/*
 * Parse LEN bytes of YAML named NAME.  Returns the document (caller frees
 * with fy_document_destroy; its root is NULL when the text holds nothing),
 * or NULL with lines appended to ERRORS.
 */
struct fy_document *yamldoc_parse(const char *name, const char *yaml, size_t len, GString *errors);

/* 1-based line and column of a node (0 when unknown). */
void yamldoc_node_pos(struct fy_node *n, int *line, int *col);

/* 1-based line and column just past the last character of LEN bytes of
 * TEXT: where a section missing from a (perhaps truncated) file would go. */
void yamldoc_end_pos(const char *text, size_t len, int *line, int *col);

#endif
