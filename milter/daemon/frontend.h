/*
 * frontend.h - the daemon's side of the milter protocol: listen where the
 * MTA connects, turn its commands into filter.h calls, act on the replies
 * through mta.h, and handle the daemon's signals.  Start-up (config,
 * policy, privileges, pid file, store) is daemon.c; judging mail is
 * filter.c and the core.  There are two front ends, one per file, with the
 * same daemon.c:
 *
 *   frontend_event.c      apology-milter: the protocol spoken directly
 *                         (milterproto.c), one event loop per CPU, each
 *                         judging the small messages of its own
 *                         connections at end of message and handing the
 *                         larger ones to judge threads.  The default.
 *   frontend_libmilter.c  apology-milter-libmilter: Sendmail's libmilter,
 *                         a thread per connection.  Kept as the reference
 *                         implementation of the protocol and as the
 *                         benchmark's baseline.
 */
#ifndef APOLOGY_FRONTEND_H
#define APOLOGY_FRONTEND_H

#include <libmilter/mfapi.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "config.h"
#include "filter.h"

/* What both front ends negotiate, when the MTA offers it: the actions the
 * daemon uses; steps left out (HELO, unknown commands) and steps whose
 * answer is always "continue", so the MTA does not wait for it (connect,
 * RCPT, each header, end of headers, body chunks); header values with
 * their leading space.  Round trips are a milter's largest cost. */
#define FRONTEND_ACTIONS (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_SETSYMLIST)
#define FRONTEND_STEPS                                                                                       \
	(SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_RCPT | SMFIP_NR_HDR |     \
	 SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_HDR_LEADSPC)
/* The macros asked for at each stage (SMFIM_*); NULL: the MTA's default. */
extern const char *const frontend_macros[SMFIM_LAST + 1];

/* What the usage text says about signals. */
extern const char frontend_signal_help[];

/* Open the listening socket of CFG; a unix socket gets CFG's mode and the
 * owner UID/GID ((uid_t)-1/(gid_t)-1: unchanged).  Called before the
 * daemon forks and drops privileges; errors go to stderr.  Returns 0 or a
 * sysexits code. */
int frontend_listen(const struct config *cfg, uid_t uid, gid_t gid);

/* Serve the MTA with F until a signal stops the daemon; calls
 * daemon_upkeep() at start and every spool.retry, on a thread of its own.  The signals of
 * frontend_signal_help are blocked in every thread when this is called.
 * *IDLE tells whether no thread uses F any more (the caller may then free
 * it).  Returns 0 or a sysexits code.  The caller removes the unix socket. */
int frontend_run(struct filter *f, const struct config *cfg, bool *idle);

/* Services of daemon.c for the front ends: reload the policy and log the
 * outcome (filter_reload); the periodic upkeep (upkeep.h): open the store
 * if it is unavailable, every hour delete records older than the
 * configured retention, and compare the hold queue with the store every
 * reconcile.interval (the store writer writes the spool back by itself).
 * Neither runs on a thread that serves the MTA. */
void daemon_reload(struct filter *f);
void daemon_upkeep(struct filter *f, const struct config *cfg);

#endif
