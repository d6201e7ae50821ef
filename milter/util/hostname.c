/*
 * hostname.c - see hostname.h.
 */
#include <string.h>

#include "hostname.h"

/* A host name shows in lists and prefixes the crash guard's marks ("HOST/"). */
char *hostname_check(const char *name)
{
	if (strlen(name) > 253)
		return g_strdup("a host name has at most 253 characters");
	for (const char *p = name; *p; p++)
		if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.' && *p != '_')
			return g_strdup("a host name has only letters, digits, '-', '.' and '_'");
	return NULL;
}

const char *hostname_or_system(const char *configured)
{
	return configured != NULL && *configured ? configured : g_get_host_name();
}
