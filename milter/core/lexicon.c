/*
 * lexicon.c - the built-in word lists of the split, the one place they are
 * written in code: a policy that leaves a "lexicon:" key out gets the list
 * here (policies/default.yaml spells the same lists out as data, and
 * tests/unit/test_policy.c checks that the two agree).
 */
#include <string.h>

#include "lexicon.h"

static const char *const attribution_prefixes[] = {"On", "Am", "Le", "El", "Il", "Op", "Em", NULL};
static const char *const attribution_verbs[] = {"wrote",    "writes",    "schrieb", "écrit",
                                                "escribió", "scritto",   "schreef", "escreveu",
                                                "skrev",    "kirjoitti", NULL};
static const char *const from_headers[] = {"From", "Von", "De", "Van", "Da", NULL};
static const char *const date_headers[] = {"Sent",    "Date",       "Gesendet",   "Datum",
                                           "Envoyé",  "Enviado",    "Fecha",      "Verzonden",
                                           "Inviato", "Enviado el", "Enviada em", NULL};
static const char *const other_headers[] = {
    "To",  "Cc",        "Bcc",     "Subject", "Reply-To", "Importance", "Attachments",
    "An",  "Kopie",     "Betreff", "À",       "Objet",    "Para",       "Asunto",
    "Aan", "Onderwerp", "A",       "Oggetto", "Assunto",  NULL,
};
static const char *const separator_phrases[] = {
    "original message",       "forwarded message",    "ursprüngliche nachricht", "weitergeleitete nachricht",
    "message d'origine",      "message transféré",    "mensaje original",        "mensaje reenviado",
    "oorspronkelijk bericht", "doorgestuurd bericht", "mensagem original",       "mensagem encaminhada",
    "messaggio originale",    "messaggio inoltrato",  "reply above this line",   NULL,
};
/* Also a help desk's marker above a ticket's messages ("##- Please type
 * your reply above this line -##"): what is under it is the ticket's
 * history, and the marker is nobody's words. */
static const char *const separator_starts[] = {
    "Begin forwarded message",
    "##- Please type your reply above this line",
    "## Please reply above this line",
    "## Please type your reply above this line",
    "-- Reply above this line",
    "Please type your reply above this line",
    "Please reply above this line",
    "Reply above this line",
    NULL,
};

static const char *const device_lines[] = {
    "Sent from my ",      "Sent from Outlook",
    "Sent from Mail for", "Sent from Yahoo",
    "Sent from Samsung",  "Sent from iPhone",
    "Sent from iPad",     "Sent from AOL",
    "Sent from Proton",   "Sent from BlackBerry",
    "Sent from Gmail",    "Sent from Android",
    "Sent via ",          "Get Outlook for ",
    "Von meinem ",        "Gesendet von meinem ",
    "Envoyé de mon ",     "Envoyé depuis ",
    "Enviado desde mi ",  "Enviado do meu ",
    "Inviato da ",        NULL,
};

static const char *const disclaimer_starts[] = {
    "This email and any attachments",
    "This e-mail and any attachments",
    "This message and any attachments",
    "This email is confidential",
    "This e-mail is confidential",
    "This message is confidential",
    "This email may contain confidential",
    "This e-mail may contain confidential",
    "This message may contain confidential",
    "CONFIDENTIALITY NOTICE",
    "CONFIDENTIALITY:",
    "CONFIDENTIAL:",
    "If you are not the intended recipient",
    "If you have received this email in error",
    "If you have received this e-mail in error",
    "If you have received this message in error",
    "DISCLAIMER",
    "Legal disclaimer",
    "Please consider the environment before printing",
    "This email has been checked for viruses by",
    "This e-mail has been checked for viruses by",
    "This email has been scanned for viruses",
    "This e-mail has been scanned for viruses",
    "This message has been scanned for viruses",
    "Virus-free. www.",
    "Virus-free.www.",
    NULL,
};

static const char *const disclaimer_weak_starts[] = {
    "The information contained in this",
    "The information in this",
    "The content of this",
    "The contents of this",
    "Any views or opinions",
    NULL,
};

static const char *const disclaimer_words[] = {
    "confidential", "privileged", "intended recipient", "intended solely", "intended only",
    "disclos",      "prohibited", "liability",          "virus",           "notify the sender",
    "legally",      NULL,
};

static const char *const sign_offs[] = {
    "best regards",
    "kind regards",
    "kindest regards",
    "warm regards",
    "warmest regards",
    "best wishes",
    "regards",
    "many thanks",
    "thanks",
    "thanks again",
    "thank you",
    "thanks and regards",
    "thanks & regards",
    "with thanks",
    "cheers",
    "best",
    "all the best",
    "sincerely",
    "yours sincerely",
    "sincerely yours",
    "yours truly",
    "yours faithfully",
    "respectfully",
    "rgds",
    "br",
    "take care",
    "mit freundlichen grüßen",
    "viele grüße",
    "cordialement",
    "bien à vous",
    NULL,
};

/* What opens a greeting line ("Hi Alex,", "Dear Customer Service Team,"). */
static const char *const greetings[] = {
    "hi",        "hello", "hey",     "dear",     "good morning", "good afternoon", "good evening",
    "greetings", "hallo", "liebe",   "lieber",   "sehr geehrte", "sehr geehrter",  "bonjour",
    "cher",      "chère", "hola",    "estimado", "estimada",     "buongiorno",     "gentile",
    "ciao",      "olá",   "prezado", "prezada",  "beste",        "geachte",        "hej",
    NULL,
};

/* What opens the warning a mail gateway puts at the top of mail from
 * outside the organisation, which a reply then quotes with the client's
 * message. */
static const char *const banner_starts[] = {
    "CAUTION: This email originated from outside",
    "CAUTION: This e-mail originated from outside",
    "CAUTION: This message originated from outside",
    "CAUTION: External",
    "WARNING: This email originated from outside",
    "WARNING: External",
    "ATTENTION: This email originated from outside",
    "This email originated from outside",
    "This e-mail originated from outside",
    "This message originated from outside",
    "This email was sent from outside",
    "This message was sent from outside",
    "This email came from outside",
    "This message came from outside",
    "[EXTERNAL",
    "EXTERNAL EMAIL:",
    "EXTERNAL SENDER:",
    "You don't often get email from",
    "You don’t often get email from",
    "Some people who received this message don't often get email from",
    "Some people who received this message don’t often get email from",
    NULL,
};

/* What such a warning speaks of: its lines have one of these. */
static const char *const banner_words[] = {
    "click",        "link",         "attachment", "sender",  "learn why",
    "organization", "organisation", "phishing",   "recogni", NULL,
};

static const char *const placeholder_words[] = {
    "name",  "date",      "client", "company", "customer", "insert",  "first",
    "last",  "product",   "order",  "amount",  "time",     "address", "email",
    "phone", "recipient", "number", "title",   "day",      "contact", NULL,
};

/* Words that make the first line under a sign-off a sentence ("I'll call
 * you tomorrow"), not a name ("Will Carter", "IT Support"): as a sentence
 * writes them, lowercase but for "I". */
static const char *const sentence_words[] = {
    "I",  "I'm", "I'll", "I've", "I'd",  "Yes", "we",   "we're", "we'll", "we've", "you", "your",   "it's",
    "is", "are", "was",  "were", "will", "yes", "done", "can",   "did",   "have",  "has", "please", NULL,
};

static const char *const *const builtin[SPLIT_LIST_COUNT] = {
    [SPLIT_ATTRIBUTION_PREFIXES] = attribution_prefixes,
    [SPLIT_ATTRIBUTION_VERBS] = attribution_verbs,
    [SPLIT_FROM_HEADERS] = from_headers,
    [SPLIT_DATE_HEADERS] = date_headers,
    [SPLIT_OTHER_HEADERS] = other_headers,
    [SPLIT_SEPARATOR_PHRASES] = separator_phrases,
    [SPLIT_SEPARATOR_STARTS] = separator_starts,
    [SPLIT_DEVICE_LINES] = device_lines,
    [SPLIT_DISCLAIMER_STARTS] = disclaimer_starts,
    [SPLIT_DISCLAIMER_WEAK_STARTS] = disclaimer_weak_starts,
    [SPLIT_DISCLAIMER_WORDS] = disclaimer_words,
    [SPLIT_SIGN_OFFS] = sign_offs,
    [SPLIT_PLACEHOLDER_WORDS] = placeholder_words,
    [SPLIT_SENTENCE_WORDS] = sentence_words,
    [SPLIT_GREETINGS] = greetings,
    [SPLIT_BANNER_STARTS] = banner_starts,
    [SPLIT_BANNER_WORDS] = banner_words,
};

static void wordlist_use(struct wordlist *wl, const char *const *words, char **owned)
{
	wl->words = words;
	wl->owned = owned;
	memset(wl->first, 0, sizeof wl->first);
	for (; *words; words++) {
		unsigned char lo = (unsigned char)g_ascii_tolower((*words)[0]);
		unsigned char up = (unsigned char)g_ascii_toupper((*words)[0]);
		wl->first[lo >> 5] |= 1u << (lo & 31);
		wl->first[up >> 5] |= 1u << (up & 31);
	}
}

void split_lexicon_init(struct split_lexicon *lex)
{
	for (int i = 0; i < SPLIT_LIST_COUNT; i++)
		wordlist_use(&lex->lists[i], builtin[i], NULL);
}

void split_lexicon_set(struct split_lexicon *lex, enum split_list list, char **words)
{
	g_strfreev(lex->lists[list].owned);
	wordlist_use(&lex->lists[list], (const char *const *)words, words);
}

void split_lexicon_clear(struct split_lexicon *lex)
{
	for (int i = 0; i < SPLIT_LIST_COUNT; i++)
		g_strfreev(lex->lists[i].owned);
	split_lexicon_init(lex);
}

size_t lexicon_word_len(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		if (s[i] == '\'') {
			i++;
			continue;
		}
		gunichar c = g_utf8_get_char_validated(s + i, (gssize)(len - i));
		if (c == (gunichar)-1 || c == (gunichar)-2 || (c != 0x2019 && !g_unichar_isalpha(c)))
			break;
		i = (size_t)(g_utf8_next_char(s + i) - s);
	}
	return MIN(i, len);
}

bool lexicon_is_word(const char *s, size_t len)
{
	if (len == 0 || lexicon_word_len(s, len) != len)
		return false;
	for (const char *p = s; p < s + len; p = g_utf8_next_char(p))
		if (g_unichar_isalpha(g_utf8_get_char(p)))
			return true;
	return false; /* apostrophes only */
}

const struct split_lexicon *split_lexicon_builtin(void)
{
	static struct split_lexicon lex;
	static gsize done;

	if (g_once_init_enter(&done)) {
		split_lexicon_init(&lex);
		g_once_init_leave(&done, 1);
	}
	return &lex;
}
