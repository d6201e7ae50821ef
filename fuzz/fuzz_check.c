/*
 * fuzz_check.c - libFuzzer target: the whole pipeline on arbitrary bytes.
 * Any crash, hang, leak or sanitizer report is a bug; every input must come
 * out with a verdict.  Run with `make fuzz` (seeds: tests/corpus).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "decision.h"
#include "policy.h"

static struct policy *pol;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char *err = NULL;
	pol = policy_load("policies/default.yaml", &err);
	if (pol == NULL) {
		fprintf(stderr, "%s", err);
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct decision d;
	apology_check(pol, (const char *)data, size, NULL, &d);
	if (d.verdict > VERDICT_UNCHECKED)
		abort();
	decision_clear(&d);
	return 0;
}
