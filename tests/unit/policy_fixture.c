/*
 * policy_fixture.c - the shipped policy, edited by a test and written
 * outside policies/ (policy_fixture.h).
 */
#include <glib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy_fixture.h"
#include "policy_priv.h" /* policy_model_keys: the models: keys that name files */

#define N_MODEL_KEYS (POLICY_CLASSIFIERS + 1)

const char *const policy_fixture_encoder_keys[POLICY_FIXTURE_ENCODER_KEYS] = {"encoder", "encoder-head",
                                                                             "encoder-lift", "encoder-band"};

char *policy_fixture_text(const char *text)
{
	char *yaml = NULL;
	if (text == NULL)
		assert_true(g_file_get_contents("policies/default.yaml", &yaml, NULL, NULL));
	char *cwd = g_get_current_dir();
	GString *out = g_string_new(NULL);
	gchar **lines = g_strsplit(text ? text : yaml, "\n", -1);
	unsigned seen = 0;
	for (gchar **l = lines; *l; l++) {
		if (l != lines)
			g_string_append_c(out, '\n');
		const char *colon = strchr(*l, ':');
		bool model = false;
		for (unsigned i = 0; colon && i < N_MODEL_KEYS; i++) {
			const char *key = policy_model_keys[i];
			bool is = strncmp(*l, "  ", 2) == 0 && (size_t)(colon - *l - 2) == strlen(key) &&
			          strncmp(*l + 2, key, strlen(key)) == 0;
			seen |= (unsigned)is << i;
			model |= is;
		}
		const char *file = colon ? colon + 1 : NULL;
		while (file && *file == ' ')
			file++;
		if (!model || *file == '/' || *file == '\0') {
			g_string_append(out, *l);
			continue;
		}
		g_string_append_len(out, *l, colon - *l);
		g_string_append_printf(out, ": %s/policies/%s", cwd, file);
	}
	g_strfreev(lines);
	g_free(cwd);
	g_free(yaml);
	/* the shipped policy names every model: a test that edits it must
	 * find each where it expects */
	for (unsigned i = 0; text == NULL && i < N_MODEL_KEYS; i++)
		if (!(seen >> i & 1u))
			fail_msg("policies/default.yaml names no models.%s", policy_model_keys[i]);
	return g_string_free(out, FALSE);
}

char *policy_fixture_set(const char *text, const char *const *keys, const char *const *values, unsigned n)
{
	char *y = g_strdup(text);
	for (unsigned i = 0; i < n; i++) {
		char *key = g_regex_escape_string(keys[i], -1);
		char *from = g_strdup_printf("\n  %s: [^\n]*", key),
		     *to = values && values[i] ? g_strdup_printf("\n  %s: %s", keys[i], values[i]) : g_strdup("");
		GRegex *re = g_regex_new(from, 0, 0, NULL);
		if (!g_regex_match(re, y, 0, NULL))
			fail_msg("the policy has no %s", keys[i]);
		char *set = g_regex_replace_literal(re, y, -1, 0, to, 0, NULL);
		g_free(y);
		y = set;
		g_regex_unref(re);
		g_free(from);
		g_free(to);
		g_free(key);
	}
	return y;
}

char *policy_fixture_write(const char *dir, const char *name, const char *text)
{
	char *path = g_build_filename(dir, name, NULL);
	assert_true(g_file_set_contents(path, text, -1, NULL));
	return path;
}

GPtrArray *policy_fixture_files(void)
{
	GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(files, g_strdup("default.yaml"));
	char *yaml = NULL;
	assert_true(g_file_get_contents("policies/default.yaml", &yaml, NULL, NULL));
	for (unsigned i = 0; i < N_MODEL_KEYS; i++) {
		char *key = g_regex_escape_string(policy_model_keys[i], -1);
		char *pattern = g_strdup_printf("\n  %s: *([^ \n#]+)", key);
		GRegex *re = g_regex_new(pattern, 0, 0, NULL);
		GMatchInfo *m = NULL;
		if (!g_regex_match(re, yaml, 0, &m))
			fail_msg("policies/default.yaml names no models.%s", policy_model_keys[i]);
		g_ptr_array_add(files, g_match_info_fetch(m, 1));
		g_match_info_free(m);
		g_regex_unref(re);
		g_free(pattern);
		g_free(key);
	}
	g_free(yaml);
	return files;
}
