/*
 * date.c - dates as mail clients write them in attributions and quoted
 * reply headers (see date.h): numbers, month and zone names in English,
 * German, French, Spanish, Italian, Portuguese and Dutch, fillers ("at", "um", "à") and offsets.  A table per
 * kind of word, one pass over the text.
 */
#include <glib.h>
#include <stdbool.h>
#include <string.h>

#include "date.h"

struct date_parts {
	int year, month, day; /* 0 until seen */
	int hour, min, sec;
	bool have_time, have_offset;
	int offset;    /* seconds east of UTC */
	char meridiem; /* 0, 'a' or 'p' */
};

struct named_value {
	const char *name;
	int value;
};

/* Month names and abbreviations, lower case. */
static const struct named_value months[] = {
    {"jan", 1},
    {"january", 1},
    {"januar", 1},
    {"janvier", 1},
    {"janv", 1},
    {"feb", 2},
    {"february", 2},
    {"februar", 2},
    {"février", 2},
    {"fevrier", 2},
    {"févr", 2},
    {"fevr", 2},
    {"mar", 3},
    {"march", 3},
    {"märz", 3},
    {"mär", 3},
    {"mars", 3},
    {"apr", 4},
    {"april", 4},
    {"avril", 4},
    {"avr", 4},
    {"may", 5},
    {"mai", 5},
    {"jun", 6},
    {"june", 6},
    {"juni", 6},
    {"juin", 6},
    {"jul", 7},
    {"july", 7},
    {"juli", 7},
    {"juillet", 7},
    {"juil", 7},
    {"aug", 8},
    {"august", 8},
    {"août", 8},
    {"aout", 8},
    {"sep", 9},
    {"sept", 9},
    {"september", 9},
    {"septembre", 9},
    {"oct", 10},
    {"october", 10},
    {"oktober", 10},
    {"okt", 10},
    {"octobre", 10},
    {"nov", 11},
    {"november", 11},
    {"novembre", 11},
    {"dec", 12},
    {"december", 12},
    {"dezember", 12},
    {"dez", 12},
    {"décembre", 12},
    {"decembre", 12},
    {"déc", 12},
    /* Spanish, Italian, Portuguese and Dutch, as their mail clients write them */
    {"enero", 1},
    {"ene", 1},
    {"gennaio", 1},
    {"gen", 1},
    {"janeiro", 1},
    {"januari", 1},
    {"febrero", 2},
    {"febbraio", 2},
    {"fevereiro", 2},
    {"fev", 2},
    {"februari", 2},
    {"marzo", 3},
    {"março", 3},
    {"maart", 3},
    {"mrt", 3},
    {"abril", 4},
    {"abr", 4},
    {"aprile", 4},
    {"mayo", 5},
    {"maggio", 5},
    {"mag", 5},
    {"maio", 5},
    {"mei", 5},
    {"junio", 6},
    {"giugno", 6},
    {"giu", 6},
    {"junho", 6},
    {"julio", 7},
    {"luglio", 7},
    {"lug", 7},
    {"julho", 7},
    {"agosto", 8},
    {"ago", 8},
    {"augustus", 8},
    {"septiembre", 9},
    {"setiembre", 9},
    {"settembre", 9},
    {"setembro", 9},
    {"set", 9},
    {"octubre", 10},
    {"ottobre", 10},
    {"ott", 10},
    {"outubro", 10},
    {"out", 10},
    {"noviembre", 11},
    {"novembro", 11},
    {"diciembre", 12},
    {"dic", 12},
    {"dicembre", 12},
    {"dezembro", 12},
};

/* Zone names RFC 2822 and mail clients write, in seconds east of UTC. */
static const struct named_value zones[] = {
    {"gmt", 0},         {"utc", 0},         {"ut", 0},          {"z", 0},           {"wet", 0},
    {"bst", 3600},      {"cet", 3600},      {"mez", 3600},      {"cest", 7200},     {"mesz", 7200},
    {"eet", 7200},      {"est", -5 * 3600}, {"edt", -4 * 3600}, {"cst", -6 * 3600}, {"cdt", -5 * 3600},
    {"mst", -7 * 3600}, {"mdt", -6 * 3600}, {"pst", -8 * 3600}, {"pdt", -7 * 3600},
};

/* Words between the parts of a date that say nothing. */
static const char *const date_fillers[] = {"at", "um", "à",  "a",  "uhr", "den",  "the", "of", "de",
                                           "om", "kl", "le", "el", "las", "alle", "ore", "às"};

static int named_lookup(const struct named_value *table, size_t n, const char *word)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].name, word) == 0)
			return (int)i;
	return -1;
}

static bool is_filler(const char *word)
{
	for (size_t i = 0; i < G_N_ELEMENTS(date_fillers); i++)
		if (strcmp(date_fillers[i], word) == 0)
			return true;
	return false;
}

static bool date_complete(const struct date_parts *d)
{
	return d->year && d->month && d->day;
}

/* Length of a no-break or narrow no-break space at P, or 0. */
static size_t nbsp_width(const char *p, const char *end)
{
	const unsigned char *u = (const unsigned char *)p;

	if (end - p >= 2 && u[0] == 0xC2 && u[1] == 0xA0)
		return 2;
	if (end - p >= 3 && u[0] == 0xE2 && u[1] == 0x80 && (u[2] == 0xAF || u[2] == 0x89))
		return 3;
	return 0;
}

static bool is_word_byte(const char *p, const char *end)
{
	return g_ascii_isalpha(*p) || ((unsigned char)*p >= 0x80 && !nbsp_width(p, end));
}

/* Read up to MAXDIG digits at *P; return the value and the digit count. */
static int read_number(const char **p, const char *end, int maxdig, int *ndig)
{
	int v = 0, n = 0;

	while (*p < end && g_ascii_isdigit(**p)) {
		if (n < maxdig)
			v = v * 10 + (**p - '0');
		n++;
		(*p)++;
	}
	*ndig = n;
	return v;
}

/* "09:14", "9:14:05" */
static bool date_time(struct date_parts *d, int hour, const char **p, const char *end)
{
	int n;

	if (d->have_time)
		return false;
	(*p)++;
	d->hour = hour;
	d->min = read_number(p, end, 2, &n);
	if (*p + 1 < end && **p == ':' && g_ascii_isdigit((*p)[1])) {
		(*p)++;
		d->sec = read_number(p, end, 2, &n);
	}
	d->have_time = true;
	return true;
}

/* "02/03/2026", "2.3.26", "2026-03-02": day first unless impossible. */
static void date_numeric(struct date_parts *d, int a, int na, const char **p, const char *end)
{
	char sep = **p;
	int b, c, nb, nc;

	(*p)++;
	b = read_number(p, end, 4, &nb);
	if (!(*p + 1 < end && **p == sep && g_ascii_isdigit((*p)[1])))
		return;
	(*p)++;
	c = read_number(p, end, 4, &nc);
	if (d->year || d->month || d->day)
		return;
	if (na == 4) {
		d->year = a, d->month = b, d->day = c;
		return;
	}
	d->day = a, d->month = b, d->year = c;
	if (d->month > 12 && d->day <= 12) {
		d->month = a;
		d->day = b;
	}
	if (nc == 2)
		d->year += 2000;
	else if (nc != 4)
		d->year = 0;
}

/* A run of digits at *P: a time, a numeric date, a day, a year.  False when
 * the number cannot belong to the date (it ends the date text). */
static bool date_number(struct date_parts *d, const char **p, const char *end)
{
	int ndig, v = read_number(p, end, 9, &ndig);
	const char *q = *p;

	if (q + 1 < end && *q == ':' && g_ascii_isdigit(q[1]))
		return date_time(d, v, p, end);
	if (q + 1 < end && (*q == '/' || *q == '.' || *q == '-') && g_ascii_isdigit(q[1])) {
		date_numeric(d, v, ndig, p, end);
		return true;
	}
	if (date_complete(d) && d->have_time)
		return false;
	if (end - q >= 2 &&
	    ((g_ascii_strncasecmp(q, "st", 2) == 0) || (g_ascii_strncasecmp(q, "nd", 2) == 0) ||
	     (g_ascii_strncasecmp(q, "rd", 2) == 0) || (g_ascii_strncasecmp(q, "th", 2) == 0)))
		*p += 2;
	if (ndig == 4 && !d->year)
		d->year = v;
	else if (ndig <= 2 && v >= 1 && v <= 31 && !d->day)
		d->day = v;
	return true;
}

/* "+0100", "-05:00" after the time. */
static void date_offset(struct date_parts *d, const char **p, const char *end)
{
	int sign = **p == '-' ? -1 : 1, n, hh, mm = 0;

	(*p)++;
	hh = read_number(p, end, 4, &n);
	if (n == 4) {
		mm = hh % 100;
		hh /= 100;
	} else if (n <= 2 && *p + 1 < end && **p == ':' && g_ascii_isdigit((*p)[1])) {
		(*p)++;
		mm = read_number(p, end, 2, &n);
	}
	if (d->have_offset || hh > 14 || mm > 59)
		return;
	d->offset = sign * (hh * 3600 + mm * 60);
	d->have_offset = true;
}

/* A word at *P: a month, a.m./p.m., a zone, a filler or a weekday.  False
 * when an unknown word follows a complete date (the name has begun). */
static bool date_word(struct date_parts *d, const char **p, const char *end)
{
	char word[16];
	size_t n = 0;
	int i;

	while (*p < end && is_word_byte(*p, end)) {
		if (n < sizeof word - 1)
			word[n] = g_ascii_tolower(**p);
		n++;
		(*p)++;
	}
	if (n >= sizeof word)
		return !date_complete(d);
	word[n] = '\0';
	if ((n == 1 && (word[0] == 'a' || word[0] == 'p')) && end - *p >= 2 &&
	    (g_ascii_strncasecmp(*p, ".m", 2) == 0)) {
		d->meridiem = word[0];
		*p += 2;
		return true;
	}
	if (n == 2 && (word[0] == 'a' || word[0] == 'p') && word[1] == 'm') {
		d->meridiem = word[0];
		return true;
	}
	if ((i = named_lookup(months, G_N_ELEMENTS(months), word)) >= 0) {
		if (!d->month)
			d->month = months[i].value;
		return true;
	}
	if (d->have_time && (i = named_lookup(zones, G_N_ELEMENTS(zones), word)) >= 0) {
		if (!d->have_offset) {
			d->offset = zones[i].value;
			d->have_offset = true;
		}
		return true;
	}
	return is_filler(word) || !date_complete(d);
}

static gint64 date_finish(const struct date_parts *d)
{
	int hour = d->hour;
	GDateTime *dt;
	gint64 t;

	if (!date_complete(d) || d->year < 1970 ||
	    d->year > 2100) /* "On order 5521, 2 out of 3" is no date */
		return -1;
	if (d->meridiem == 'p' && hour < 12)
		hour += 12;
	else if (d->meridiem == 'a' && hour == 12)
		hour = 0;
	if (hour > 23 || d->min > 59 || d->sec > 60)
		return -1;
	dt = g_date_time_new_utc(d->year, d->month, d->day, hour, d->min, d->sec > 59 ? 59 : d->sec);
	if (!dt)
		return -1;
	t = g_date_time_to_unix(dt) - d->offset;
	g_date_time_unref(dt);
	return t;
}

gint64 date_parse(const char *p, size_t n)
{
	struct date_parts d = {0};
	const char *end = p + n;

	while (p < end) {
		size_t w = nbsp_width(p, end);
		if (w) {
			p += w;
		} else if (g_ascii_isdigit(*p)) {
			if (!date_number(&d, &p, end))
				break;
		} else if ((*p == '+' || *p == '-') && d.have_time && p + 1 < end && g_ascii_isdigit(p[1])) {
			date_offset(&d, &p, end);
		} else if (is_word_byte(p, end)) {
			if (!date_word(&d, &p, end))
				break;
		} else if (*p == '<' || *p == '@') {
			break;
		} else {
			p++;
		}
	}
	return date_finish(&d);
}
