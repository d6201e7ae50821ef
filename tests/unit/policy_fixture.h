/*
 * policy_fixture.h - the shipped policy (policies/default.yaml), edited by a
 * test and written outside policies/.  A policy names its models by paths
 * relative to its own directory, so a copy written elsewhere names them by
 * absolute path: the source tree's policies/, where the tests run.
 * Used by test_encoder.c, test_rules.c, test_filter.c, test_policy.c and
 * test_backtest.c.
 */
#ifndef APOLOGY_TEST_POLICY_FIXTURE_H
#define APOLOGY_TEST_POLICY_FIXTURE_H

#include <glib.h>

/* The shipped policy's text, or TEXT when it is not NULL, with each models:
 * key that names a file by a relative path (gate, sentences, gate-text,
 * encoder-head, encoder: policy_model_keys) naming it by absolute path;
 * fails the test when the shipped policy lacks one of them.  Caller frees. */
char *policy_fixture_text(const char *text);

/* TEXT with every line of each KEYS[i] (a setting indented by two, as in
 * models:, in whatever section it is: the shipped policy repeats none) set
 * to VALUES[i], or left out when VALUES is NULL or VALUES[i] is; fails the
 * test when a key is not there.  Caller frees. */
char *policy_fixture_set(const char *text, const char *const *keys, const char *const *values, unsigned n);

/* The files of the shipped policy: "default.yaml" and the file each of
 * policy_model_keys names in it, as names in policies/; fails the test when
 * one is not named.  Caller frees (g_ptr_array_unref). */
GPtrArray *policy_fixture_files(void);

/* The models: keys of the sentence encoder, all of them: a test leaves them
 * out to see the gate's own mechanics, which the encoder's say would move. */
#define POLICY_FIXTURE_ENCODER_KEYS 4
extern const char *const policy_fixture_encoder_keys[POLICY_FIXTURE_ENCODER_KEYS];

/* TEXT written as NAME in DIR.  Caller frees the path. */
char *policy_fixture_write(const char *dir, const char *name, const char *text);

#endif
