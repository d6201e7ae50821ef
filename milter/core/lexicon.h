/*
 * lexicon.h - the word lists split.c reads (attributions, reply headers,
 * separators, device lines, disclaimers, sign-offs and the words that make
 * the line under one a sentence, placeholders): policy
 * data under "lexicon:", with one built-in default per list for a policy
 * that leaves the key out.  Private to the core.
 */
#ifndef APOLOGY_LEXICON_H
#define APOLOGY_LEXICON_H

#include <glib.h>
#include <stdbool.h>

/* In the order of split_lexicon.lists[]; the keys are in policy.c's
 * lexicon_keys table, the built-in lists in lexicon.c. */
enum split_list {
	SPLIT_ATTRIBUTION_PREFIXES, /* "On", "Am": case-sensitive word before a space */
	SPLIT_ATTRIBUTION_VERBS,    /* "wrote", "schrieb" */
	SPLIT_FROM_HEADERS,         /* "From", "Von" */
	SPLIT_DATE_HEADERS,         /* "Sent", "Date", "Gesendet" */
	SPLIT_OTHER_HEADERS,        /* "To", "Cc", "Subject", "Betreff": the rest of a reply header */
	SPLIT_SEPARATOR_PHRASES,    /* "original message", on a "---" line */
	SPLIT_SEPARATOR_STARTS,     /* "Begin forwarded message" */
	SPLIT_DEVICE_LINES,         /* "Sent from my " */
	SPLIT_DISCLAIMER_STARTS,
	SPLIT_DISCLAIMER_WEAK_STARTS,
	SPLIT_DISCLAIMER_WORDS,
	SPLIT_SIGN_OFFS,
	SPLIT_PLACEHOLDER_WORDS,
	SPLIT_SENTENCE_WORDS, /* "I", "we", "will": case-sensitive whole words */
	SPLIT_GREETINGS,      /* "Hi", "Dear", "Good morning": what opens a message's greeting line */
	SPLIT_BANNER_STARTS,  /* "CAUTION: This email originated from outside": a gateway's warning */
	SPLIT_BANNER_WORDS,   /* "click", "attachment", "sender": what a gateway's warning speaks of */
	SPLIT_LIST_COUNT
};

#define SIGN_OFF_MAX 32 /* bytes: a sign-off, or a sentence word, is shorter */

struct wordlist {
	const char *const *words; /* NULL-terminated: the built-in list or OWNED */
	char **owned;             /* the policy's own list, or NULL */
	guint32 first[8];         /* bit set of first bytes, both ASCII cases */
};

struct split_lexicon {
	struct wordlist lists[SPLIT_LIST_COUNT];
};

/* Every list set to its built-in default. */
void split_lexicon_init(struct split_lexicon *lex);

/* LIST takes WORDS (a NULL-terminated list it now owns). */
void split_lexicon_set(struct split_lexicon *lex, enum split_list list, char **words);

void split_lexicon_clear(struct split_lexicon *lex);

/* The length of the word at S (LEN bytes at most): letters of any script
 * and apostrophes (' or U+2019); 0 when S does not start with one. */
size_t lexicon_word_len(const char *s, size_t len);

/* Is S (LEN bytes) one word, as lexicon_word_len() reads words, with at
 * least one letter? */
bool lexicon_is_word(const char *s, size_t len);

/* The built-in lists, for a split without a policy. */
const struct split_lexicon *split_lexicon_builtin(void);

/* Could a word of WL start with byte C? */
static inline bool wordlist_may_start(const struct wordlist *wl, char c)
{
	unsigned char b = (unsigned char)c;
	return (wl->first[b >> 5] >> (b & 31)) & 1u;
}

#endif
