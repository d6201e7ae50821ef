/*
 * helper_store_pg.h - the helper's store reads and writes on a PostgreSQL
 * store (helper_store_pg.c): the same three operations as helper_store.h,
 * for a location "postgresql://..." or "postgres://...".  Private to
 * milter/postsuper/; helper_store.c calls them for such a location.
 */
#ifndef APOLOGY_HELPER_STORE_PG_H
#define APOLOGY_HELPER_STORE_PG_H

#include "helper_store.h"

/* Whether LOCATION names a PostgreSQL store. */
bool helper_pg_location(const char *location);

enum helper_held helper_pg_held(const char *location, const char *queue_id, const char *token, long long *id,
                                char *why, size_t why_size);
bool helper_pg_audit_add(const char *location, const struct helper_audit *a, long long *row, char *why,
                         size_t why_size);
bool helper_pg_audit_finish(const char *location, long long row, const char *outcome, const char *detail,
                            char *why, size_t why_size);

#endif
