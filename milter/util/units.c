/*
 * units.c - see units.h.
 */
#include <string.h>

#include "units.h"

/* Seconds per unit of UNITS_DURATION, bytes per unit of UNITS_SIZE. */
static const gint64 duration_scale[] = {1, 60, 3600, 86400, 7 * 86400};
static const gint64 size_scale[] = {1024, 1024 * 1024, 1024 * 1024 * 1024};

/* Leading digits of *S as a number, *S moved past them; false when there
 * are none or they overflow. */
static bool digits(const char **s, gint64 *out, char **err)
{
	const char *p = *s;
	gint64 n = 0;
	if (!g_ascii_isdigit(*p)) {
		*err = g_strdup("expected a number");
		return false;
	}
	for (; g_ascii_isdigit(*p); p++) {
		if (n > (G_MAXINT64 - (*p - '0')) / 10) {
			*err = g_strdup("number out of range");
			return false;
		}
		n = n * 10 + (*p - '0');
	}
	*s = p;
	*out = n;
	return true;
}

/* The scale of the unit at AT among UNITS (SCALES in the same order), or 0
 * after setting *ERR. */
static gint64 unit_scale(const char *at, const char *units, const gint64 *scales, char **err)
{
	const char *u = *at ? strchr(units, g_ascii_tolower(*at)) : NULL;
	if (u == NULL) {
		*err = g_strdup_printf("unknown unit '%s' (use one of %s)", at, units);
		return 0;
	}
	return scales[u - units];
}

char *units_parse_duration(const char *s, const char *units, gint64 *out)
{
	char *err = NULL;
	gint64 total = 0, n;
	unsigned seen = 0;
	if (!digits(&s, &n, &err))
		return err;
	if (*s == '\0') {
		*out = n;
		return NULL;
	}
	for (;;) {
		if (*s == '\0')
			return g_strdup_printf("%" G_GINT64_FORMAT " without a unit after another term", n);
		gint64 scale = unit_scale(s, UNITS_DURATION, duration_scale, &err);
		if (scale != 0 && strchr(units, g_ascii_tolower(*s)) == NULL) {
			g_free(err);
			return g_strdup_printf("unknown unit '%s' (use one of %s)", s, units);
		}
		if (scale == 0)
			return err;
		unsigned bit = 1u << (strchr(UNITS_DURATION, g_ascii_tolower(*s)) - UNITS_DURATION);
		if (seen & bit)
			return g_strdup_printf("unit '%c' given twice", g_ascii_tolower(*s));
		seen |= bit;
		if (n > (G_MAXINT64 - total) / scale)
			return g_strdup("number out of range");
		total += n * scale;
		if (*++s == '\0')
			break;
		if (!digits(&s, &n, &err))
			return err;
	}
	*out = total;
	return NULL;
}

char *units_parse_size(const char *s, const char *units, gint64 *out)
{
	char *err = NULL;
	gint64 n, scale = 1;
	if (!digits(&s, &n, &err))
		return err;
	if (*s != '\0') {
		const char *u = strchr(UNITS_SIZE, g_ascii_tolower(*s));
		if (s[1] != '\0' || u == NULL || strchr(units, *u) == NULL)
			return g_strdup_printf("unknown unit '%s' (use one of %s)", s, units);
		scale = size_scale[u - UNITS_SIZE];
	}
	if (n > G_MAXINT64 / scale)
		return g_strdup("number out of range");
	*out = n * scale;
	return NULL;
}

bool units_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
		if (g_ascii_strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (g_ascii_strcasecmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

char *units_format_time(gint64 t)
{
	if (t < 0)
		return NULL;
	GDateTime *dt = g_date_time_new_from_unix_utc(t);
	if (dt == NULL)
		return NULL;
	char *s = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ");
	g_date_time_unref(dt);
	return s;
}

const char *units_format_number(char *buf, double v)
{
	char format[8];
	for (int precision = 6; precision <= 17; precision++) {
		g_snprintf(format, sizeof format, "%%.%dg", precision);
		g_ascii_formatd(buf, G_ASCII_DTOSTR_BUF_SIZE, format, v);
		if (g_ascii_strtod(buf, NULL) == v)
			break;
	}
	return buf;
}
