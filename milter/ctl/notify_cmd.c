/*
 * notify_cmd.c - `apologyctl notify --once`: queue hold notices and send
 * every due notification once (holds/notify.h), as the review server's
 * notifier does on its own thread.
 */
#include <stdio.h>
#include <sysexits.h>

#include "ctl.h"
#include "notify.h"
#include "opts.h"

int notify_main(int argc, char **argv)
{
	struct review_config cfg;
	int next = 0;
	review_config_init(&cfg);
	int rc = review_config_from_args(&cfg, argc, argv, &next);
	static const struct option longopts[] = {
	    {"once", no_argument, NULL, 'o'},
	    {NULL, 0, NULL, 0},
	};
	bool once = false;
	int opt = -1;
	opts_begin();
	/* What follows the settings' options, with argv[next - 1] as the name. */
	while (rc == 0 && (opt = getopt_long(argc - next + 1, argv + next - 1, "+:", longopts, NULL)) != -1) {
		if (opt != 'o')
			break;
		once = true;
	}
	if (rc == 0 && (!once || opt != -1 || optind != argc - next + 1)) {
		fputs("usage: apologyctl notify [-c FILE] [-o key=value]... --once\n"
		      "  queue hold notices and send every due notification once\n",
		      stderr);
		rc = EX_USAGE;
	}
	char *err = NULL;
	struct store *st = rc == 0 ? review_config_open_store(&cfg, &err) : NULL;
	if (rc == 0 && st == NULL)
		rc = EX_UNAVAILABLE;
	if (st != NULL) {
		struct notify_counts n;
		notify_init();
		if (notify_run_once(&cfg, st, g_get_real_time() / G_USEC_PER_SEC, NULL, &n, &err))
			printf("notify: %u sent, %u to retry, %u given up%s\n", n.sent, n.retry, n.failed,
			       n.taken ? " (some were sent by another worker meanwhile)" : "");
		else
			rc = EX_UNAVAILABLE;
		notify_cleanup();
		store_close(st);
	}
	if (err)
		fprintf(stderr, "apologyctl: %s\n", err);
	g_free(err);
	review_config_clear(&cfg);
	return rc;
}
