/*
 * regexset.c - see regexset.h.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "regexset.h"

struct regexset {
	GPtrArray *codes;            /* pcre2_code * */
	GArray *ids;                 /* unsigned */
	pcre2_match_context *limits; /* the match limit; only read while scanning */
};

static void free_match_data(gpointer p)
{
	pcre2_match_data_free(p);
}

/* Per-thread match data, freed when the thread exits. */
static GPrivate match_key = G_PRIVATE_INIT(free_match_data);

struct regexset *regexset_new(uint32_t match_limit)
{
	struct regexset *rs = g_new0(struct regexset, 1);
	rs->codes = g_ptr_array_new_with_free_func((GDestroyNotify)pcre2_code_free);
	rs->ids = g_array_new(FALSE, FALSE, sizeof(unsigned));
	rs->limits = pcre2_match_context_create(NULL);
	if (rs->limits == NULL)
		g_error("pcre2: out of memory");
	pcre2_set_match_limit(rs->limits, match_limit);
	return rs;
}

bool regexset_add(struct regexset *rs, const char *p, size_t len, bool literal, unsigned id, char **err)
{
	int ec;
	PCRE2_SIZE eo;
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)p, len, literal ? PCRE2_LITERAL : 0, &ec, &eo, NULL);
	if (code == NULL) {
		PCRE2_UCHAR buf[256];
		pcre2_get_error_message(ec, buf, sizeof buf);
		*err = g_strdup_printf("%s at offset %zu", (char *)buf, (size_t)eo);
		return false;
	}
	uint32_t shortest = 1;
	if (!literal && pcre2_pattern_info(code, PCRE2_INFO_MINLENGTH, &shortest) == 0 && shortest == 0) {
		pcre2_code_free(code);
		*err = g_strdup("it can match no characters at all, so it would be found in every text");
		return false;
	}
#ifndef REGEXSET_NO_JIT
	pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); /* valgrind builds go without: JIT code confuses it */
#endif
	g_ptr_array_add(rs->codes, code);
	g_array_append_val(rs->ids, id);
	return true;
}

void regexset_free(struct regexset *rs)
{
	if (rs == NULL)
		return;
	g_ptr_array_free(rs->codes, TRUE);
	g_array_free(rs->ids, TRUE);
	pcre2_match_context_free(rs->limits);
	g_free(rs);
}

/* Whether RC, from pcre2_match(), is one of its limits (or its memory)
 * ending the search: the pattern then cannot say whether it matches. */
static bool limit_error(int rc)
{
	return rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT ||
	       rc == PCRE2_ERROR_NOMEMORY || rc == PCRE2_ERROR_JIT_STACKLIMIT;
}

unsigned regexset_scan(const struct regexset *rs, const char *text, size_t len, GArray *out)
{
	unsigned failed = 0;
	pcre2_match_data *md = g_private_get(&match_key);
	if (md == NULL) {
		md = pcre2_match_data_create(4, NULL);
		g_private_set(&match_key, md);
	}
	for (guint i = 0; i < rs->codes->len; i++) {
		const pcre2_code *code = rs->codes->pdata[i];
		unsigned id = g_array_index(rs->ids, unsigned, i);
		PCRE2_SIZE off = 0;
		while (off <= len) {
			int rc = pcre2_match(code, (PCRE2_SPTR)text, len, off, 0, md, rs->limits);
			/* The JIT's stack (32 KB) is too small for a long run of a
			 * repeated group ("(a|b)*c"): the interpreter, which keeps its
			 * backtracking on the heap, decides instead of "no match". */
			if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
				rc = pcre2_match(code, (PCRE2_SPTR)text, len, off, PCRE2_NO_JIT, md,
				                 rs->limits);
			/* PCRE2's match, depth or heap limit (or its memory) ended the
			 * search before it could say: the pattern failed, which is
			 * not "no match".  Only those: any other error (a "(*UTF)"
			 * phrase's check of the text) ends the pattern as before. */
			if (rc < 0) {
				failed += limit_error(rc);
				break;
			}
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
			struct match mt = {id, (unsigned)ov[0], (unsigned)ov[1]};
			g_array_append_val(out, mt);
			/* after an empty match ("x\K"), on at the next character, not
			 * inside one: a "(*UTF)" phrase refuses that offset */
			off = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
			while (off < len && ((unsigned char)text[off] & 0xC0) == 0x80)
				off++;
		}
	}
	return failed;
}
