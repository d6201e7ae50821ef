/*
 * opts.h - what every option parser of the programs does before its
 * getopt_long() loop: start again from argv[1] (glibc's optind = 0 also
 * resets the state of a loop left half-way, as a command's options follow
 * the settings' ones) and print nothing, since each program words its own
 * usage errors (sysexits EX_USAGE).
 */
#ifndef APOLOGY_OPTS_H
#define APOLOGY_OPTS_H

#include <getopt.h>

static inline void opts_begin(void)
{
	optind = 0;
	opterr = 0;
}

#endif
