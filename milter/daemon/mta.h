/*
 * mta.h - the few things the daemon asks of the MTA, as a table of
 * operations.  The libmilter glue (apology-milter.c) fills it with smfi_*
 * calls; the unit tests fill it with recorders; another MTA adapter is one
 * more table.  All operations are valid only at end of message.
 */
#ifndef APOLOGY_MTA_H
#define APOLOGY_MTA_H

#include <stdbool.h>

struct mta_ops {
	/* Append header NAME with VALUE exactly as the MTA is to take it (folded
	 * lines joined by "\n\t"; filter.c adds the leading space when the MTA
	 * negotiated SMFIP_HDR_LEADSPC). */
	bool (*add_header)(void *mta, const char *name, const char *value);
	/* Delete the INDEX-th (1-based) header called NAME. */
	bool (*delete_header)(void *mta, const char *name, int index);
	/* Put the message in the MTA's hold queue; REASON is non-empty. */
	bool (*quarantine)(void *mta, const char *reason);
	/* The SMTP reply to use if the message is rejected or deferred. */
	bool (*set_reply)(void *mta, const char *rcode, const char *xcode, const char *text);
};

#endif
