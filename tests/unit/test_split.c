/*
 * test_split.c - split_message(): what stays in the author's new text, what
 * goes to the quoted history, the date of the first quoted message, and
 * what is dropped (signatures, sign-offs, disclaimers, device lines), also
 * for replies in HTML as html_to_text() renders them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "html2text.h"
#include "policy.h"
#include "thread.h"

/* Mon, 2 Mar 2026 09:14:00 UTC */
#define T0 1772442840

struct split_case {
	const char *name;
	const char *body;
	const char *text; /* expected new text */
	/* expected quoted history; NULL: the body after the line under its
	 * first blank line (an attribution), without the "> " marks */
	const char *quoted;
	gint64 date; /* expected quoted_date; -2: not looked at */
	bool signature, disclaimer;
};

static const struct split_case cases[] = {
    /* No quote at all, nothing at all. */
    {"no quote at all", "Hi Ann,\n\nSorry about the delay. The parcel left today.\n",
     "Hi Ann,\n\nSorry about the delay. The parcel left today.", "", -1, false, false},
    {"empty body", "", "", "", -1, false, false},
    {"only quoted text", "> a\n> b\n", "", "a\nb", -1, false, false},
    {"trailing whitespace trimmed", "Fine.   \n\n\n   \n", "Fine.", "", -1, false, false},
    {"blank lines collapse to one", "a\n\n\n\nb\n", "a\n\nb", "", -1, false, false},
    {"crlf lines", "One.\r\nTwo.\r\n\r\n> q\r\n", "One.\nTwo.", "q", -1, false, false},

    /* Attributions and their dates. */
    {"gmail attribution and > quote",
     "Sorry, fixed now.\n\nOn Mon, 2 Mar 2026 at 09:14, Ann Example <ann@example.com> "
     "wrote:\n\n> Where is my order?\n> Order 123.\n",
     "Sorry, fixed now.", "Where is my order?\nOrder 123.", T0, false, false},
    {"gmail attribution wrapped over two lines",
     "Will do.\n\nOn Mon, 2 Mar 2026 at 09:14, Ann Example <\nann@example.com> wrote:\n> "
     "Where is my order?\n",
     "Will do.", "Where is my order?", T0, false, false},
    {"gmail us format with AM",
     "Ok.\n\nOn Mon, Mar 2, 2026 at 9:14 AM Ann Example <ann@example.com> wrote:\n> x\n", "Ok.", NULL, T0,
     false, false},
    {"gmail us format with PM", "Ok.\n\nOn Mon, Mar 2, 2026 at 2:05 PM Ann <a@b> wrote:\n> x\n", "Ok.", NULL,
     1772460300, false, false},
    {"narrow no-break space before AM",
     "Ok.\n\nOn Mon, Mar 2, 2026 at 9:14\xE2\x80\xAF"
     "AM Ann <a@b> wrote:\n> x\n",
     "Ok.", NULL, T0, false, false},
    {"apple attribution", "Ok.\n\nOn 2 Mar 2026, at 09:14, Ann <a@b> wrote:\n\n> x\n", "Ok.", NULL, T0, false,
     false},
    {"apple us attribution, 12:30 PM is noon", "Ok.\n\nOn Mar 2, 2026, at 12:30 PM, Ann <a@b> wrote:\n> x\n",
     "Ok.", NULL, 1772454600, false, false},
    {"12:05 AM is after midnight", "Ok.\n\nOn Mar 2, 2026, at 12:05 AM, Ann wrote:\n> x\n", "Ok.", NULL,
     1772409900, false, false},
    {"thunderbird numeric date is day first", "Ok.\n\nOn 02/03/2026 09:14, Ann wrote:\n> x\n", "Ok.", NULL,
     T0, false, false},
    {"month first when day first is impossible", "Ok.\n\nOn 12/25/2025 18:00, Ann wrote:\n> x\n", "Ok.", NULL,
     1766685600, false, false},
    {"two-digit year", "Ok.\n\nOn 2/3/26 9:14 AM, Ann wrote:\n> x\n", "Ok.", NULL, T0, false, false},
    {"iso date", "Ok.\n\nOn 2026-03-02 09:14, Ann wrote:\n> x\n", "Ok.", NULL, T0, false, false},
    {"german attribution", "Ok.\n\nAm Mo., 2. M\xC3\xA4rz 2026 um 09:14 Uhr schrieb Ann <a@b>:\n> x\n", "Ok.",
     "x", T0, false, false},
    {"thunderbird 'Name wrote on date:'", "Ok.\n\nAnn Client wrote on 02/03/2026 09:14:\n> x\n", "Ok.", "x",
     T0, false, false},
    {"a complaint's own 'wrote on' line with no date is its words",
     "Ok.\n\nOn Mon, 2 Mar 2026 at 09:14, Ann <a@b> wrote:\n> Your colleague wrote on the form:\n> "
     "nothing.\n",
     "Ok.", "Your colleague wrote on the form:\nnothing.", T0, false, false},
    {"german numeric attribution", "Ok.\n\nAm 02.03.2026 um 09:14 schrieb Ann Example:\n> x\n", "Ok.", NULL,
     T0, false, false},
    {"french attribution",
     "Ok.\n\nLe lun. 2 mars 2026 \xC3\xA0 09:14, Ann <a@b> a \xC3\xA9"
     "crit :\n> x\n",
     "Ok.", NULL, T0, false, false},
    {"impossible date gives -1", "Ok.\n\nOn 31/02/2026 09:14, Ann wrote:\n> x\n", "Ok.", NULL, -1, false,
     false},
    {"date without a time is midnight", "Ok.\n\nOn 2 March 2026, Ann wrote:\n> x\n", "Ok.", NULL, 1772409600,
     false, false},
    {"first attribution decides the date",
     "Ok.\n\nOn Tue, 3 Mar 2026 at 10:00, Ann <a@b> wrote:\n> Any news?\n>\n> On Mon, 2 Mar "
     "2026 at 09:14, Bob <b@c> wrote:\n>> Old news.\n",
     "Ok.", "Any news?\n\nOld news.", 1772532000, false, false},
    {"undated first attribution leaves the date unknown",
     "Ok.\n\nAnn wrote:\n> Any news?\n> On Mon, 2 Mar 2026 at 09:14, Bob <b@c> wrote:\n>> "
     "Old news.\n",
     "Ok.", "Any news?\nOld news.", -1, false, false},
    {"dated attribution without markers quotes the rest",
     "Will do.\n\nOn Mon, 2 Mar 2026 at 09:14, Ann <a@b> wrote:\nWhere is my order?\n", "Will do.",
     "Where is my order?", T0, false, false},
    {"undated 'On ... wrote:' sentence stays new text",
     "On Monday you wrote:\nthe parcel was late. Sorry about that.\n",
     "On Monday you wrote:\nthe parcel was late. Sorry about that.", "", -1, false, false},

    /* Outlook and forwarding blocks: everything after them is history. */
    {"outlook original message block",
     "Thanks for the note.\r\n\r\n-----Original Message-----\r\nFrom: Ann "
     "<ann@example.com>\r\nSent: Monday, March 2, 2026 9:14 AM\r\nTo: Bob\r\nSubject: "
     "late\r\n\r\nWhere is it?\r\n",
     "Thanks for the note.", "Where is it?", T0, false, false},
    {"outlook underscore rule and header",
     "We are on it.\n\n________________________________\nFrom: Ann <a@b>\nSent: 02 March 2026 "
     "09:14\nTo: Bob\nSubject: Re: late\n\nWhere is it?\n",
     "We are on it.", "Where is it?", T0, false, false},
    {"bare From/Date header with rfc 2822 offset",
     "Done.\n\nFrom: Ann <a@b>\nDate: Mon, 2 Mar 2026 10:14:00 +0100\nSubject: x\n\nWhere?", "Done.",
     "Where?", T0, false, false},
    {"zone name in the header date", "Done.\n\nFrom: Ann\nSent: Mon, 2 Mar 2026 04:14:00 EST\n\nWhere?",
     "Done.", "Where?", T0, false, false},
    {"bold outlook header from a plain part",
     "Done.\n\n*From:* Ann <a@b>\n*Sent:* Monday, March 2, 2026 9:14 AM\n*To:* Bob\n\nWhere?", "Done.",
     "Where?", T0, false, false},
    {"a lone From: line is not a header block", "From: the warehouse, today.\nSorry.\n",
     "From: the warehouse, today.\nSorry.", "", -1, false, false},
    {"gmail forward",
     "FYI, see below.\n\n---------- Forwarded message ---------\nFrom: Ann <a@b>\nDate: Mon, "
     "Mar 2, 2026 at 9:14 AM\nSubject: late\nTo: <bob@x.example>\n\nWhere is it?\n",
     "FYI, see below.", "Where is it?", T0, false, false},
    {"apple forward",
     "FYI\n\nBegin forwarded message:\n\nFrom: Ann <a@b>\nSubject: late\nDate: 2 March 2026 at "
     "09:14:00 GMT\nTo: Bob\n\nWhere is it?",
     "FYI", "Where is it?", T0, false, false},
    {"thunderbird forward, Date before From, with offset",
     "FYI\n\n-------- Forwarded Message --------\nSubject: late\nDate: Mon, 2 Mar 2026 "
     "09:14:00 -0500\nFrom: Ann <a@b>\n\nWhere is it?",
     "FYI", "Where is it?", 1772460840, false, false},
    {"quoted forward with Date before From",
     "See below.\n\n> -------- Forwarded Message --------\n> Subject: late\n> Date: Mon, 2 "
     "Mar 2026 09:14:00 +0000\n> From: Ann <a@b>\n>\n> Where is it?\n",
     "See below.", "Where is it?", T0, false, false},
    {"html-rendered outlook tail",
     "Reply here\n> From: Ann <a@b>\n> Sent: Monday, March 2, 2026 9:14 AM\n> Subject: "
     "Late\n> Where is my order?",
     "Reply here", "Where is my order?", T0, false, false},
    {"a header block's lines are history, the complaint's own 'Name: value' lines are words",
     "Sorry.\n\nFrom: Ann <a@b>\nSent: Monday, March 2, 2026 9:14 AM\nTo: Bob\nCc: Carol\nSubject: late\n\n"
     "Order: 123\nWhere is it?\n",
     "Sorry.", "Order: 123\nWhere is it?", T0, false, false},
    {"an older message's header block inside the quote",
     "Sorry.\n\nOn Tue, 3 Mar 2026 at 10:00, Ann <a@b> wrote:\n> Any news?\n>\n> -----Original Message-----\n"
     "> From: Bob <b@c>\n> Sent: Monday, March 2, 2026 9:14 AM\n> Subject: order\n>\n> It ships Friday.\n",
     "Sorry.", "Any news?\n\nIt ships Friday.", 1772532000, false, false},
    {"a quoted message's sign-off and signature are not its words",
     "Ok.\n\nOn Mon, 2 Mar 2026 at 09:14, Ann <a@b> wrote:\n> Where is it?\n>\n> Best regards,\n> Dana "
     "Client\n"
     "> Operations Manager | Client Company\n> Tel +44 20 7946 0000\n> www.client.example\n",
     "Ok.", "Where is it?", T0, false, false},
    {"a quoted message's '-- ' signature is not its words",
     "Ok.\n\nOn Mon, 2 Mar 2026 at 09:14, Ann <a@b> wrote:\n> Where is it?\n> -- \n> Ann Client\n"
     "> Sent with care, 0800 123\n",
     "Ok.", "Where is it?", T0, false, false},
    /* What looks like history's own lines but is the quoted message's words. */
    {"header-shaped lines right under a header block are the message's",
     "Sorry.\n\nFrom: Ann <a@b>\nSent: Monday, March 2, 2026 9:14 AM\nTo: Bob\nSubject: late\nOrder: 55123\n"
     "Update: still nothing arrived, I want a refund.\nWhere is it?\n",
     "Sorry.", "Order: 55123\nUpdate: still nothing arrived, I want a refund.\nWhere is it?", T0, false,
     false},
    {"a recipient list wrapped under To: is the header's",
     "Sorry.\n\nFrom: Ann <a@b>\nSent: Monday, March 2, 2026 9:14 AM\nTo: Bob <b@x>; Carol Jones\n<carol@x>; "
     "Dave <d@x>\nCc: Eve <e@x>\nSubject: late for the third time and still no\n  word from you\n\nWhere is "
     "it?\n",
     "Sorry.", "Where is it?", T0, false, false},
    {"a '--' in a quoted complaint's prose is its words",
     "Ok.\n\nOn Mon, 2 Mar 2026 at 09:14, Ann <a@b> wrote:\n> Your courier:\n> --\n> threw the parcel over "
     "the fence and left.\n",
     "Ok.", "Your courier:\n--\nthrew the parcel over the fence and left.", T0, false, false},
    {"'wrote:' in a quoted complaint, undated and nothing deeper, is its words",
     "Ok.\n\nOn Mon, 2 Mar 2026 at 09:14, Ann <a@b> wrote:\n> I called three times. Your agent Mark "
     "wrote:\n> we will call back.\n> On top of that nobody "
     "wrote back for two weeks. Here is what happened:\n> nothing.\n",
     "Ok.",
     "I called three times. Your agent Mark wrote:\nwe will call back.\nOn top of that nobody wrote back for "
     "two "
     "weeks. Here is what happened:\nnothing.",
     T0, false, false},
    {"a quoted 'Thanks,' above words that are no name is the complaint's",
     "Ok.\n\nOn Mon, 2 Mar 2026 at 09:14, Ann <a@b> wrote:\n> Where is it?\n> Thanks,\n> Still waiting\n> "
     "Very disappointed\n",
     "Ok.", "Where is it?\nThanks,\nStill waiting\nVery disappointed", T0, false, false},
    {"a quoted complaint that reads like a disclaimer's opening is its words",
     "Ok.\n\nOn Mon, 2 Mar 2026 at 09:14, Ann <a@b> wrote:\n> This email is confidential? No, it is a "
     "complaint: my order 123 is late.\n>\n> The contents of "
     "this parcel were broken. You are legally obliged to refund me.\n",
     "Ok.",
     "This email is confidential? No, it is a complaint: my order 123 is late.\n\nThe contents of this "
     "parcel "
     "were broken. You are legally obliged to refund me.",
     T0, false, false},
    {"a quoted line that starts like a device line but says more is the complaint's",
     "Ok.\n\nOn Mon, 2 Mar 2026 at 09:14, Ann <a@b> wrote:\n> It never came.\n> Sent via DHL, tracking says "
     "delivered but nothing arrived\n",
     "Ok.", "It never came.\nSent via DHL, tracking says delivered but nothing arrived", T0, false, false},
    {"a complaint form under a rule keeps its fields",
     "Ok.\n\nOn Mon, 2 Mar 2026 at 09:14, Ann <a@b> wrote:\n> Complaint form\n> ____________\n> Name: Ann\n> "
     "Problem: arrived broken\n",
     "Ok.", "Complaint form\nName: Ann\nProblem: arrived broken", T0, false, false},
    {"a quoted signature between the author's lines keeps the paragraph break",
     "Hi Ann,\n\n> Where is my order\nit left today and should arrive\n> -- \n> Ann Client\nwe are sorry for "
     "the "
     "delay\n",
     "Hi Ann,\n\nit left today and should arrive\n\nwe are sorry for the delay", "Where is my order", -1,
     false, false},
    {"a quoted signature block with no sign-off, its phone line long",
     "Ok.\n\nOn Mon, 2 Mar 2026 at 09:14, Ann <a@b> wrote:\n> Where is it?\n>\n> Dana Client\n> Operations "
     "Manager\n> Tel: +44 20 7946 0321 | Mob: +44 7700 "
     "900123\n",
     "Ok.", "Where is it?", T0, false, false},
    {"a quoted last paragraph of reference numbers, no contact in it, is the message's",
     "Ok.\n\nOn Mon, 2 Mar 2026 at 09:14, Ann <a@b> wrote:\n> Where is it?\n>\n> Order 5512\n> Ref 8891\n",
     "Ok.", "Where is it?\n\nOrder 5512\nRef 8891", T0, false, false},
    {"a quoted message's last paragraph of a name alone is its signature; shouted or ended words are not",
     "Ok.\n\nOn Mon, 2 Mar 2026 at 09:14, Ann <a@b> wrote:\n> Where is it?\n>\n> Luca Ferraro\n", "Ok.",
     "Where is it?", T0, false, false},
    {"a quoted last paragraph in capitals stays",
     "Ok.\n\nOn Mon, 2 Mar 2026 at 09:14, Ann <a@b> wrote:\n> Where is it?\n>\n> URGENT\n", "Ok.",
     "Where is it?\n\nURGENT", T0, false, false},
    {"a quoted last paragraph of one word and a full stop stays",
     "Ok.\n\nOn Mon, 2 Mar 2026 at 09:14, Ann <a@b> wrote:\n> Where is it?\n>\n> Unacceptable.\n", "Ok.",
     "Where is it?\n\nUnacceptable.", T0, false, false},
    {"a quoted signature right under the last sentence, a phone line in it",
     "Ok.\n\nOn Mon, 2 Mar 2026 at 09:14, Ann <a@b> wrote:\n> Where is it?\n> Operations Manager\n> Tel: +44 "
     "20 7946 0321\n",
     "Ok.", "Where is it?", T0, false, false},
    {"a quoted sign-off above an order number and a shout is no signature",
     "Ok.\n\nOn Mon, 2 Mar 2026 at 09:14, Ann <a@b> wrote:\n> Where is it?\n> Thanks,\n> Ann\n> Order 55123 "
     "is STILL not here and nobody answers the phone!\n>\n"
     "> ORDER 55123 STILL NOT DELIVERED\n> REFUND ME NOW\n",
     "Ok.",
     "Where is it?\nThanks,\nAnn\nOrder 55123 is STILL not here and nobody answers the phone!\n\nORDER 55123 "
     "STILL "
     "NOT DELIVERED\nREFUND ME NOW",
     T0, false, false},
    {"'we wrote on <date>:' in the author's prose stays the author's",
     "As we wrote on 3 March 2026:\nthe refund goes out today.\n",
     "As we wrote on 3 March 2026:\nthe refund goes out today.", "", -1, false, false},
    {"'wrote on <date>:' inside a quoted complaint's sentence is its words",
     "Ok.\n\nOn Mon, 2 Mar 2026 at 09:14, Ann <a@b> wrote:\n> I called three times. Your agent Mark wrote on "
     "25 February 2026:\n> we will refund you.\n",
     "Ok.", "I called three times. Your agent Mark wrote on 25 February 2026:\nwe will refund you.", T0,
     false, false},
    {"thunderbird 'wrote on' under a name that is a month's",
     "Ok.\n\nJan de Vries <jan@b.example> wrote on 02/03/2026 09:14:\n> x\n", "Ok.", "x", T0, false, false},
    {"a complaint's first line under a Subject: is no wrapped header",
     "Sorry.\n\nFrom: Ann <a@b>\nSent: Monday, March 2, 2026 9:14 AM\nSubject: late\n"
     "I emailed support@shop.example three times,\nand still no parcel.\n",
     "Sorry.", "I emailed support@shop.example three times,\nand still no parcel.", T0, false, false},
    {"a quoted Date: line outside a header block is no date",
     "Ok.\n\n> Date: the 5th was promised\n> Still waiting.\n", "Ok.",
     "Date: the 5th was promised\nStill waiting.", -1, false, false},

    /* Interleaved replies and nesting. */
    {"interleaved replies keep every author line in order",
     "Hi Ann,\n\nOn Mon, 2 Mar 2026 at 09:14, Ann <a@b> wrote:\n> Where is my order?\n\nIt "
     "left today.\n\n> And the invoice?\nAttached.\n",
     "Hi Ann,\n\nIt left today.\n\nAttached.", "Where is my order?\n\nAnd the invoice?", T0, false, false},
    {"nested quote markers removed", "Yes.\n\n> > older\n>> also older\n> newer\n   > indented\n", "Yes.",
     "older\nalso older\nnewer\nindented", -1, false, false},

    /* Signatures and sign-offs. */
    {"signature after dash dash space", "Sorry about that.\n-- \nBob\nAcme Ltd\n", "Sorry about that.", "",
     -1, true, false},
    {"signature before a quote", "Fixed.\n--\nBob\n\n> old question\n", "Fixed.", "old question", -1, true,
     false},
    {"sign-off block dropped",
     "We will refund you today.\n\nBest regards,\nBob Smith\nAccount Manager\nAcme Ltd\n+44 "
     "20 7946 0000\nhttps://acme.example\n",
     "We will refund you today.", "", -1, true, false},
    {"sign-off before a quote",
     "Refund sent.\n\nThanks,\nBob\n\nOn Mon, 2 Mar 2026 at 09:14, Ann <a@b> wrote:\n> "
     "Refund?\n",
     "Refund sent.", "Refund?", T0, true, false},
    {"sign-off followed by a real sentence is kept", "Thanks,\n\nWe will send it tomorrow.\n\nBob\n",
     "Thanks,\n\nWe will send it tomorrow.\n\nBob", "", -1, false, false},
    {"sign-off followed by a long line is kept",
     "Thanks,\nI looked into it and the courier lost the parcel, so we send another today\n",
     "Thanks,\nI looked into it and the courier lost the parcel, so we send another today", "", -1, false,
     false},
    {"sign-off with too many lines after it is kept", "Regards,\nA\nB\nC\nD\nE\nF\nG\n",
     "Regards,\nA\nB\nC\nD\nE\nF\nG", "", -1, false, false},
    {"postscript after the sign-off stays", "Sorry.\n\nCheers,\nBob\n\nP.S. I will call you at 3pm.\n",
     "Sorry.\n\nP.S. I will call you at 3pm.", "", -1, true, false},

    /* Disclaimers and device lines. */
    {"disclaimer paragraphs removed",
     "Sorry for the delay.\n\nCONFIDENTIALITY NOTICE: This e-mail and any attachments are "
     "confidential\nand intended solely for the addressee.\n\nIf you have received this "
     "email in error, please notify the sender.\n",
     "Sorry for the delay.", "", -1, false, true},
    {"legal paragraph after a disclaimer removed too",
     "Sorry.\n\nThis email is confidential.\n\nAny use or disclosure is prohibited.\n", "Sorry.", "", -1,
     false, true},
    {"author paragraph after a disclaimer stays",
     "This email is confidential.\n\nSorry we shipped the wrong size.\n", "Sorry we shipped the wrong size.",
     "", -1, false, true},
    {"weak disclaimer opening without legal words is kept",
     "The information contained in this report was wrong, and I am sorry.\n",
     "The information contained in this report was wrong, and I am sorry.", "", -1, false, false},
    {"weak opening with legal words on the next line",
     "Sorry.\n\nThe information contained in this email\nis confidential and may be legally "
     "privileged.\n",
     "Sorry.", "", -1, false, true},
    {"device lines stripped", "On it now.\n\nSent from my iPhone\n", "On it now.", "", -1, false, false},
    {"outlook mobile line stripped", "On it.\n\nGet Outlook for iOS\n\n> x\n", "On it.", "x", -1, false,
     false},
    {"a device line under a disclaimer's legal text stripped",
     "On it.\n\nSent from my iPhone\nThis email is confidential.\n", "On it.", "", -1, false, true},
    {"a device line's words in the author's prose stay",
     "Sent via DHL Express this morning, tracking JD0001234.\nSorry for the wait.\n",
     "Sent via DHL Express this morning, tracking JD0001234.\nSorry for the wait.", "", -1, false, false},

    /* What the author wrote that looks like history, and history in other languages. */
    {"a From: and a Date: line in the author's own text",
     "Hi Ann,\n\nThe replacement is booked:\nFrom: Leeds depot\nDate: Thursday, before noon\n"
     "Carrier: DPD\n\nSorry for the trouble; the delay was our fault.\n",
     "Hi Ann,\n\nThe replacement is booked:\nFrom: Leeds depot\nDate: Thursday, before noon\n"
     "Carrier: DPD\n\nSorry for the trouble; the delay was our fault.",
     "", -1, false, false},
    {"outlook block without an address: its date makes it one",
     "Sorry.\n\nFrom: Ann Client\nSent: Monday, March 2, 2026 9:14 AM\nTo: Bob\n\nLate again.\n", "Sorry.",
     "Late again.", T0, false, false},
    {"spanish outlook block (Enviado el)",
     "Lo siento.\n\nDe: Ann <ann@client.example>\nEnviado el: lunes, 2 de marzo de 2026 9:14\n"
     "Para: John\nAsunto: Late\n\nYour delivery was late again.\n",
     "Lo siento.", "Your delivery was late again.", T0, false, false},
    {"brazilian outlook separator (Mensagem original)",
     "Desculpe.\n\n-----Mensagem original-----\nDe: Ann\nEnviada em: 2 de mar\xC3\xA7o de 2026\n\nAtraso.\n",
     "Desculpe.", "Atraso.", 1772409600, false, false},
    {"french outlook block with a no-break space before the colon",
     "D\xC3\xA9sol\xC3\xA9.\n\nDe\xC2\xA0: Ann <a@b>\nEnvoy\xC3\xA9\xC2\xA0: lundi 2 mars 2026 09:14\n\n"
     "Toujours en retard.\n",
     "D\xC3\xA9sol\xC3\xA9.", "Toujours en retard.", -2, false, false},
    {"a dated 'you wrote:' in prose does not end the text",
     "Hi Ann,\n\nOn 2 March you wrote:\n\"I have been waiting for two weeks.\"\nYou are right, and I'm "
     "sorry.\n",
     "Hi Ann,\n\nOn 2 March you wrote:\n\"I have been waiting for two weeks.\"\nYou are right, and I'm "
     "sorry.",
     "", -1, false, false},
    {"a line starting 'On ' above an attribution stays the author's",
     "Hi Ann, I'm sorry.\nOn the refund: it went out today.\nOn Mon, 2 Mar 2026 at 09:14, Ann <a@b> wrote:\n"
     "> Refund?\n",
     "Hi Ann, I'm sorry.\nOn the refund: it went out today.", "Refund?", T0, false, false},
    {"a sign-off followed by a sentence, then a device line",
     "Thanks\nI'll call you tomorrow to sort it out\n\nSent from my iPhone\n",
     "Thanks\nI'll call you tomorrow to sort it out", "", -1, false, false},
    {"a sign-off followed by short sentences is kept",
     "Thank you.\nI'm sorry, we messed up\nRefund is on its way\n\nJohn\n",
     "Thank you.\nI'm sorry, we messed up\nRefund is on its way\n\nJohn", "", -1, false, false},
    {"dutch outlook block without an address: its year makes it one",
     "Excuses.\n\nVan: Smith, Ann\nVerzonden: donderdag 5 maart 2026 08:30\nAan: Bob\n\nIk wacht nog "
     "steeds.\n",
     "Excuses.", "Ik wacht nog steeds.", 1772699400, false, false},
    {"a dutch dated attribution with unquoted history after it",
     "Excuses.\n\nOp do 5 mrt 2026 om 08:30 schreef Ann <a@b>:\nIk wacht nog steeds.\n", "Excuses.",
     "Ik wacht nog steeds.", 1772699400, false, false},
    {"an attribution wrapped before a surname that is a prefix word",
     "Done.\n\nOn Mon, 2 Mar 2026 at 09:14, Ann\nLe Blanc <a@b> wrote:\n> Late.\n", "Done.", "Late.", T0,
     false, false},
    {"a lowercase name under a sign-off is dropped", "Sorted, refund sent.\n\ncheers\nmarcus\n",
     "Sorted, refund sent.", "", -1, true, false},
    {"names that are words under a sign-off are dropped",
     "Refund sent.\n\nBest,\nWill Carter\n\nThanks,\nCan Demir\nIT Support\n", "Refund sent.", "", -1, true,
     false},
    {"a team under a sign-off is dropped",
     "Refund sent.\n\nKind regards,\nthe Brightlane support team\nMaria della Rosa\n", "Refund sent.", "", -1,
     true, false},
    {"a device line above a disclaimer of two lines",
     "On it.\n\nSent from my iPhone\n\nThis email is confidential.\nIf you received it by mistake, delete "
     "it.\n",
     "On it.", "", -1, false, true},
    {"an address in a quoted sentence under a greeting is the complaint's",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> Hi Alex,\n> I emailed "
     "support@agency.example twice and nobody answered.\n",
     "Noted.", "I emailed support@agency.example twice and nobody answered.", T0, false, false},
    {"a handle in a quoted sentence under a greeting is the complaint's",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> Hi Alex,\n> @dana_k here "
     "again about the order. It is late.\n",
     "Noted.", "@dana_k here again about the order. It is late.", T0, false, false},
    {"a quoted name above an address and a link is a signature",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> Still late.\n>\n> Dana "
     "Kent\n> e: dana@client.example | www.client.example\n",
     "Noted.", "Still late.", T0, false, false},
    {"a quoted message's greeting line is not its words",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> Hi Alex,\n>\n> Still late.\n",
     "Noted.", "Still late.", T0, false, false},
    {"a greeting of four words needs its comma",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> Dear Customer Service "
     "Team,\n> Still late.\n>\n> On Sun, 1 Mar 2026 at 09:14, Eve <e@client.example> wrote:\n> Hi Alex "
     "still no parcel\n",
     "Noted.", "Still late.\n\nHi Alex still no parcel", T0, false, false},
    {"only a message's first line is its greeting",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> Hi Alex,\n> Still late.\n> > "
     "When "
     "did you order?\n> Dear Sir or Madam\n> I ordered in May.\n",
     "Noted.", "Still late.\nWhen did you order?\nDear Sir or Madam\nI ordered in May.", T0, false, false},
    {"a quoted message that is only a greeting keeps it",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> Hello Alex!\n", "Noted.", NULL,
     T0, false, false},
    {"a short complaint that opens with a greeting word is the message's",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> Hello still no refund!\n> "
     "Third time.\n",
     "Noted.", NULL, T0, false, false},
    {"a greeting with a sentence after its comma is the message's",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> Hi Alex, where is my "
     "order?\n",
     "Noted.", NULL, T0, false, false},
    {"a greeting asked as a question is the message's",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> Hello?\n> Anyone there?\n",
     "Noted.", NULL, T0, false, false},
    {"an Outlook message's greeting line is not its words",
     "Noted.\n\nFrom: Dana <d@client.example>\nSent: Monday, March 2, 2026 9:14 AM\n\nGood morning "
     "Alex,\n\nStill "
     "late.\n",
     "Noted.", "Still late.", T0, false, false},
    {"a gateway's warning above an Outlook message is not its words, and its greeting is under it",
     "Noted.\n\nFrom: Dana <d@client.example>\nSent: Monday, March 2, 2026 9:14 AM\n\nCAUTION: This email "
     "originated from outside of the organisation.\nDo not click links unless you recognise the sender.\n\n"
     "Hi Alex,\n\nStill late.\n",
     "Noted.", "Still late.", T0, false, false},
    {"a first-contact tip above a quoted message is not its words",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> You don\xE2\x80\x99t often "
     "get "
     "email from d@client.example. Learn why this is important\n>\n> Still late.\n",
     "Noted.", "Still late.", T0, false, false},
    {"a warning's words inside a message are the message's",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> Still late.\n>\n> This "
     "message came from outside our network, IT says.\n",
     "Noted.", "Still late.\n\nThis message came from outside our network, IT says.", T0, false, false},
    {"a complaint that opens with a warning's word is the message's",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> Caution: external packaging "
     "was torn and two parts are broken.\n",
     "Noted.", NULL, T0, false, false},
    {"a warning's words in the author's own text are the author's",
     "CAUTION: External mail. Do not click links unless you know the sender.\n\nHi Alex,\n\nStill late.\n",
     "CAUTION: External mail. Do not click links unless you know the sender.\n\nHi Alex,\n\nStill late.", "",
     -1, false, false},
    {"a gateway's warning with no blank line under it takes only its own lines",
     "Noted.\n\nFrom: Dana <d@client.example>\nSent: Monday, March 2, 2026 9:14 AM\n\nCAUTION: This email "
     "originated from outside of the organization.\nDo not click links unless you recognize the sender.\nHi "
     "Alex,\nThe order is three weeks late and nobody called.\n",
     "Noted.", "The order is three weeks late and nobody called.", T0, false, false},
    {"a gateway's bare tag above a quoted message is not its words",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> [EXTERNAL]\n> Still no refund "
     "after three weeks.\n",
     "Noted.", "Still no refund after three weeks.", T0, false, false},
    {"complaints that open with a warning's first words are the message's",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> You don't often get email "
     "from me, but three deliveries were missed.\n>\n> On Sun, 1 Mar 2026 at 09:14, Eve <e@client.example> "
     "wrote:\n> This message was sent from outside the office because your portal is down.\n",
     "Noted.",
     "You don't often get email from me, but three deliveries were missed.\n\nThis message was sent from "
     "outside "
     "the office because your portal is down.",
     T0, false, false},
    {"a complaint that mentions a virus scan is the message's",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> Still late.\n>\n> This email "
     "has been scanned by our IT team and your attachment was flagged.\n",
     "Noted.", "Still late.\n\nThis email has been scanned by our IT team and your attachment was flagged.",
     T0, false, false},
    {"a greeting after a no-break space or a byte order mark is a greeting",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> \xC2\xA0Hi Alex,\xC2\xA0\n> "
     "\xC2\xA0\n> Still late.\n>\n> On Sun, 1 Mar 2026 at 09:14, Eve <e@client.example> wrote:\n> "
     "\xEF\xBB\xBFHello Alex,\n>\n> Where is it?\n",
     "Noted.", "Still late.\n\nWhere is it?", T0, false, false},
    {"a greeting after an em space or a soft hyphen is a greeting (html2text's spaces and invisibles)",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> \xE2\x80\x83Hi Alex,\n>\n> "
     "Still late.\n>\n> On Sun, 1 Mar 2026 at 09:14, Eve <e@client.example> wrote:\n> \xC2\xADHello Alex,"
     "\xE3\x80\x80\n>\n> Where is it?\n",
     "Noted.", "Still late.\n\nWhere is it?", T0, false, false},
    {"a no-break space inside a line is the line's",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> Order\xC2\xA0No. 5 is "
     "late.\xE2\x80\x8B\n",
     "Noted.", "Order\xC2\xA0No. 5 is late.", T0, false, false},
    {"a quoted paragraph of capitalised lines not led by a name is the message's",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> Still late.\n>\n> Order 5512 "
     "And Order 5513\n> Both Missing\n",
     "Noted.", "Still late.\n\nOrder 5512 And Order 5513\nBoth Missing", T0, false, false},
    {"a quoted name and title above more lines of capitals is the message's",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> Missing from the box:\n>\n> "
     "Blue Widget\n> Red Widget\n> Green Widget\n> Yellow Widget\n",
     "Noted.", "Missing from the box:\n\nBlue Widget\nRed Widget\nGreen Widget\nYellow Widget", T0, false,
     false},
    {"a quoted virus scanner's line is not the message's",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> Still late.\n>\n> Dana\n>\n> "
     "This email has been checked for viruses by antivirus software.\n> www.antivirus.example\n",
     "Noted.", "Still late.", T0, false, false},
    {"a quoted message's last lines led by its writer's name are its signature",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana Client <d@client.example> wrote:\n> Still late.\n>\n> Dana "
     "Client\n> Operations Lead\n> Client Example Ltd\n>\n> On Sun, 1 Mar 2026 at 09:14, Eve Stone "
     "<e@client.example> wrote:\n> Where is it? Please call.\n> Eve\n> Head of Sales, Stone Ltd\n",
     "Noted.", "Still late.\n\nWhere is it? Please call.", T0, false, false},
    {"a quoted writer's name above their signature goes with it; an item above it stays",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Ravi Menon <r@client.example> wrote:\n> Would Thursday "
     "work?\n>\n> Ravi\n>\n> Ravi Menon\n> Head of Operations\n>\n> On Sun, 1 Mar 2026 at 09:14, Eve Stone "
     "<e@client.example> wrote:\n> Missing:\n>\n> Blue Widget\n>\n> Eve Stone\n> Head of Sales\n",
     "Noted.", "Would Thursday work?\n\nMissing:\n\nBlue Widget", T0, false, false},
    {"a quoted message's lines of capitals led by another name are its words",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana Client <d@client.example> wrote:\n> Send the parts "
     "to:\n>\n> Maria Lopez\n> Warehouse Manager\n> Acme Depot Ltd\n>\n> From: Eve Stone "
     "<e@client.example>\n> Sent: Sunday, March 1, 2026 9:14 AM\n> Still missing:\n>\n> Dining Table\n> "
     "Oak Sideboard, Left Door\n> Two Kitchen Chairs\n",
     "Noted.",
     "Send the parts to:\n\nMaria Lopez\nWarehouse Manager\nAcme Depot Ltd\n\nStill missing:\n\nDining "
     "Table\nOak Sideboard, Left Door\nTwo Kitchen Chairs",
     T0, false, false},
    {"a quoted writer's name inside a paragraph of words is the message's",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana Client <d@client.example> wrote:\n> Still late, and "
     "the\n> Dana Client\n> Operations Lead\n",
     "Noted.", "Still late, and the\nDana Client\nOperations Lead", T0, false, false},
    {"a quoted device line with a note on its typing is not the message's",
     "Ok.\n\nOn Mon, 2 Mar 2026 at 09:14, Ann <a@b> wrote:\n> It never came.\n>\n> Sent from my phone, "
     "please "
     "excuse brevity and typos\n>\n> On Sun, 1 Mar 2026 at 09:14, Eve <e@b> wrote:\n> Where is it?\n>\n> "
     "Sent "
     "from my mobile device, apologies for any typos\n",
     "Ok.", "It never came.\n\nWhere is it?", T0, false, false},
    {"a help desk's marker above a quoted ticket is not the client's words",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> ##- Please type your reply "
     "above this line -##\n>\n> Hi Alex,\n>\n> Still no refund after three weeks.\n",
     "Noted.", "Still no refund after three weeks.", T0, false, false},
    {"a help desk's marker in the author's text starts the history",
     "Your refund went out today.\n\n##- Please type your reply above this line -##\n\nDana (Mar 2, "
     "2026):\n\nStill no refund.\n",
     "Your refund went out today.", "Dana (Mar 2, 2026):\n\nStill no refund.", -1, false, false},
    {"a help desk's words inside a line are the line's",
     "Your form said to reply above this line, so I did.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana "
     "<d@client.example> wrote:\n> The form says reply above this line and cuts my text.\n",
     "Your form said to reply above this line, so I did.", NULL, T0, false, false},
    {"a greeting between direction marks or with a no-break space inside is a greeting",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> \xE2\x80\x8EHi "
     "Alex,\xE2\x80\x8E\n>\n> Still late.\n>\n> On Sun, 1 Mar 2026 at 09:14, Eve <e@client.example> "
     "wrote:\n> Hello\xE2\x80\x8E\xC2\xA0"
     "Alex,\n>\n> Where is it?\n>\n> On Sat, 28 Feb 2026 at 09:14, Ann "
     "<a@client.example> wrote:\n> Hi\xC2\xA0"
     "Alex, where is my refund?\n",
     "Noted.",
     "Still late.\n\nWhere is it?\n\nHi\xC2\xA0"
     "Alex, where is my refund?",
     T0, false, false},
    {"a help desk's words opening the author's own sentence are the author's",
     "Hi Dana,\n\nPlease reply above this line next time so the ticket keeps your text.\nYour refund of 450 "
     "GBP "
     "went out today, sorry for the wait.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> "
     "Still no refund.\n",
     "Hi Dana,\n\nPlease reply above this line next time so the ticket keeps your text.\nYour refund of 450 "
     "GBP "
     "went out today, sorry for the wait.",
     "Still no refund.", T0, false, false},
    {"a quoted complaint's line opening with a help desk's words is the client's",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> Please reply above this line, "
     "your form says. I am furious: the sofa arrived broken.\n> Reply above this line? I did, three times.\n",
     "Noted.", NULL, T0, false, false},
    {"a help desk's other markers are separators",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> -- Reply above this line "
     "--\n> Still late.\n>\n> On Sun, 1 Mar 2026 at 09:14, Eve <e@client.example> wrote:\n> --- Reply above "
     "this line ---\n> Where is it?\n>\n> On Sat, 28 Feb 2026 at 09:14, Ann <a@client.example> wrote:\n> "
     "Reply "
     "above this line.\n> Hello?\n",
     "Noted.", "Still late.\n\nWhere is it?\n\nHello?", T0, false, false},
    {"a complaint after a typing note on a quoted device line is the client's",
     "Ok.\n\nOn Mon, 2 Mar 2026 at 09:14, Ann <a@b> wrote:\n> Hello?\n>\n> Sent from my phone, excuse typos. "
     "STILL no refund!\n>\n> On Sun, 1 Mar 2026 at 09:14, Eve <e@b> wrote:\n> Late.\n>\n> Sent via DHL, no "
     "typo in the address, still not here\n>\n> On Sat, 28 Feb 2026 at 09:14, Ed <d@b> wrote:\n> Late.\n>\n> "
     "Sent from my phone, please excuse any typos and autocorrect spelling errors\n",
     "Ok.",
     "Hello?\n\nSent from my phone, excuse typos. STILL no refund!\n\nLate.\n\nSent via DHL, no typo in the "
     "address, still not here\n\nLate.\n\nSent from my phone, please excuse any typos and autocorrect "
     "spelling "
     "errors",
     T0, false, false},
    {"a list led by a word of the attribution's date or address is no writer's signature",
     "Noted.\n\nOn Monday, 2 March 2026 at 09:14, Dana <d@client.example> wrote:\n> Your driver never came. "
     "Missed deliveries:\n>\n> Monday\n> Tuesday Morning\n> Wednesday Afternoon\n>\n> On Sun, 1 Mar 2026 at "
     "09:14, Dana <dana@client.example> wrote:\n> These never arrived.\n>\n> Client\n> Kitchen Chairs\n> Oak "
     "Sideboard\n",
     "Noted.",
     "Your driver never came. Missed deliveries:\n\nMonday\nTuesday Morning\nWednesday Afternoon\n\nThese "
     "never "
     "arrived.\n\nClient\nKitchen Chairs\nOak Sideboard",
     -2, false, false},
    {"a reply header's writer names the signature; a name's part, numbers under the name and a name inside "
     "the text "
     "stay",
     "Noted.\n\nFrom: Dana Client <d@client.example>\nSent: Monday, March 2, 2026 9:14 AM\n\nStill "
     "late.\n\nDana Client\nOperations Lead\nClient Example Ltd\n\nFrom: Dana Stone "
     "<ds@client.example>\nSent: "
     "Sunday, March 1, 2026 9:14 AM\n\nWhere is it?\n\nDan Stone\nHead of Sales\n\nFrom: Ravi Menon "
     "<rm@client.example>\nSent: Saturday, February 28, 2026 9:14 AM\n\nStill nothing.\n\nRavi\nOrder "
     "55123\nInvoice INV-2026-0042\n\nFrom: Ravi Menon <rm@client.example>\nSent: Friday, February 27, 2026 "
     "9:14 AM\n\nStill late.\nRavi\n\nRavi Menon\nHead of Operations\n",
     "Noted.",
     "Still late.\n\nWhere is it?\n\nDan Stone\nHead of Sales\n\nStill nothing.\n\nRavi\nOrder "
     "55123\nInvoice "
     "INV-2026-0042\n\nStill late.\nRavi",
     T0, false, false},
    {"an order number above a quoted contact is the message's; a warning's words said for oneself too",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> I was charged twice.\n> Order "
     "55123\n> Tel: 020 7946 0321\n>\n> On Sun, 1 Mar 2026 at 09:14, Eve <e@client.example> wrote:\n> You "
     "don't "
     "often get email from me, but I clicked your payment link and was charged twice.\n>\n> On Sat, 28 Feb "
     "2026 "
     "at 09:14, Ann <a@client.example> wrote:\n> Caution: external packaging was torn and the returns link "
     "is "
     "broken.\n> I want a refund.\n",
     "Noted.",
     "I was charged twice.\nOrder 55123\nTel: 020 7946 0321\n\nYou don't often get email from me, but I "
     "clicked "
     "your payment link and was charged twice.\n\nCaution: external packaging was torn and the returns link "
     "is "
     "broken.\nI want a refund.",
     T0, false, false},
    {"a name that ends another's name is not the writer's",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Joann Lee <jl@client.example> wrote:\n> Still late.\n>\n> Ann "
     "Lee\n> Head of Sales\n> Lee Holdings\n",
     "Noted.", "Still late.\n\nAnn Lee\nHead of Sales\nLee Holdings", T0, false, false},
    {"a greeting between right-to-left embeddings, isolates or an Arabic letter mark is a greeting",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <d@client.example> wrote:\n> \xE2\x80\xABHi "
     "Alex,\xE2\x80\xAC\n>\n> Still late.\n>\n> On Sun, 1 Mar 2026 at 09:14, Eve <e@client.example> "
     "wrote:\n> "
     "\xE2\x81\xA7\xD8\x9CHello Alex,\xE2\x80\x8F\xE2\x81\xA9\n>\n> Where is it?\n",
     "Noted.", "Still late.\n\nWhere is it?", T0, false, false},
    {"a sign-off above a name and title is dropped",
     "Refund sent.\n\nKind regards,\nJ. van der Berg\nHead of Customer Care\n", "Refund sent.", "", -1, true,
     false},
};

static void assert_sentences_in_text(const struct thread_view *v)
{
	size_t prev_end = 0;

	for (guint i = 0; i < v->sentences->len; i++) {
		const struct sentence *s = &g_array_index(v->sentences, struct sentence, i);
		assert_true(s->start >= prev_end);
		assert_true(s->start < s->end);
		assert_true(s->end <= v->len);
		prev_end = s->end;
	}
}

/* What a plain attribution case quotes: everything after the line under
 * the first blank line (the attribution, which says who wrote and when but
 * is not the complaint's words), "> " marks removed, without the final line
 * break. */
static char *quote_under_attribution(const char *body)
{
	const char *blank = strstr(body, "\n\n");
	const char *attribution_end = blank ? strchr(blank + 2, '\n') : NULL;
	GString *q = g_string_new(NULL);
	char **lines = g_strsplit(attribution_end ? attribution_end + 1 : "", "\n", -1);
	for (int i = 0; lines[i]; i++) {
		const char *l = g_str_has_prefix(lines[i], "> ") ? lines[i] + 2 : lines[i];
		if (q->len || *l)
			g_string_append_printf(q, "%s%s", q->len ? "\n" : "", l);
	}
	g_strfreev(lines);
	while (q->len && q->str[q->len - 1] == '\n')
		g_string_truncate(q, q->len - 1);
	return g_string_free(q, FALSE);
}

static void test_case(void **state)
{
	const struct split_case *c = *state;
	struct message msg = {.body = (char *)c->body, .body_len = strlen(c->body)};
	struct thread_view v;

	split_message(NULL, &msg, &v);
	assert_string_equal(v.text, c->text);
	assert_int_equal(v.len, strlen(c->text));
	char *quoted = c->quoted ? g_strdup(c->quoted) : quote_under_attribution(c->body);
	assert_string_equal(v.quoted, quoted);
	assert_int_equal(v.quoted_len, strlen(quoted));
	g_free(quoted);
	if (c->date != -2)
		assert_int_equal(v.quoted_date, c->date);
	assert_int_equal(v.has_signature, c->signature);
	assert_int_equal(v.has_disclaimer, c->disclaimer);
	assert_non_null(v.sentences);
	assert_sentences_in_text(&v);
	thread_view_clear(&v);
}

/* The sender's own earlier messages are history, not the client's words. */
struct sender_case {
	const char *name;
	const char *body;
	const char *text;   /* expected new text */
	const char *quoted; /* expected quoted history */
	gint64 date;        /* expected quoted_date */
	const char *from;   /* the message's own From address */
};

static const struct sender_case sender_cases[] = {
    {"the sender's own message under the client's is dropped",
     "Sorry, on it.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <dana@client.example> wrote:\n> Still nothing "
     "arrived.\n>\n> On Fri, 27 Feb 2026 at 10:00, Alex <Alex@Agency.example> wrote:\n>> Your order ships "
     "today.\n",
     "Sorry, on it.", "Still nothing arrived.", T0, "alex@agency.example"},
    {"another writer's message under the client's stays",
     "Sorry, on it.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <dana@client.example> wrote:\n> Still nothing "
     "arrived.\n>\n> On Fri, 27 Feb 2026 at 10:00, Alex <alex@agency.example> wrote:\n>> Your order ships "
     "today.\n",
     "Sorry, on it.", "Still nothing arrived.\n\nYour order ships today.", T0, "joann@agency.example"},
    {"an address that only ends like the sender's is someone else's",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Jo <jo.alex@agency.example> wrote:\n> Late again.\n", "Noted.",
     "Late again.", T0, "alex@agency.example"},
    {"a follow-up on the sender's own note quotes no client",
     "Just checking in on the note below.\n\nOn Mon, 2 Mar 2026 at 09:14, Alex <alex@agency.example> "
     "wrote:\n> We missed the date again, sorry.\n",
     "Just checking in on the note below.", "", -1, "alex@agency.example"},
    {"the client's answer inline under the sender's quoted question stays",
     "Sorry.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <dana@client.example> wrote:\n> On Fri, 27 Feb 2026 at "
     "10:00, Alex <alex@agency.example> wrote:\n>> Does the new date work?\n> No. Still nothing here.\n",
     "Sorry.", "No. Still nothing here.", T0, "alex@agency.example"},
    {"the sender's own attribution does not date the client's undated quote",
     "Sorry.\n\n> Still nothing arrived.\n>\n> On Fri, 27 Feb 2026 at 10:00, Alex <alex@agency.example> "
     "wrote:\n>> Ships today.\n",
     "Sorry.", "Still nothing arrived.", -1, "alex@agency.example"},
    {"a client's line at the depth of the sender's attribution stays the client's",
     "Sorry.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <dana@client.example> wrote:\n> Still nothing "
     "arrived.\n>\n> "
     "On Fri, 27 Feb 2026 at 10:00, Alex <alex@agency.example> wrote:\n>\n> This is the third delay.\n",
     "Sorry.", "Still nothing arrived.\n\nThis is the third delay.", T0, "alex@agency.example"},
    {"the client's words quoted inside the sender's message stay",
     "Sorry.\n\nFrom: Alex Morgan <alex@agency.example>\nSent: Monday, March 2, 2026 9:14 AM\n\nAnswers "
     "inline.\n\n> Where is my order? It is three weeks late.\nIt ships Monday.\n",
     "Sorry.", "Where is my order? It is three weeks late.", -1, "alex@agency.example"},
    {"the sender's message after an older client message quoted inside it is dropped",
     "Sorry.\n\n> On Fri, 27 Feb 2026 at 10:00, Alex <alex@agency.example> wrote:\n>> On Thu, 26 Feb 2026 at "
     "10:00, Dana <dana@client.example> wrote:\n>>> Can you confirm the date?\n>>\n>> Sorry, the courier "
     "missed the pickup again.\n",
     "Sorry.", "Can you confirm the date?", T0 - 4 * 86400 + 46 * 60, "alex@agency.example"},
    {"an address the writer wrote to is not the writer",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <dana@client.example> wrote:\n> On 20 Feb 2026 I wrote to "
     "alex@agency.example:\n>> Where is my order?\n",
     "Noted.", "Where is my order?", T0, "alex@agency.example"},
    {"a list's relay names the list, not the writer",
     "Noted.\n\nOn Mon, Mar 2, 2026 at 9:14 AM 'Dana Smith' via Support <support@agency.example> wrote:\n> "
     "Still nothing.\n",
     "Noted.", "Still nothing.", T0, "support@agency.example"},
    {"a From without an address names nobody",
     "Noted.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <info@client.example> wrote:\n> Still nothing.\n", "Noted.",
     "Still nothing.", T0, "info"},
    {"a rule in the sender's signature does not end the sender's message",
     "Sorry.\n\nOn Fri, 27 Feb 2026 at 10:00, Alex <alex@agency.example> wrote:\n> Ships today.\n> "
     "____________________\n> Agency Ltd. We apologise for any inconvenience.\n",
     "Sorry.", "", -1, "alex@agency.example"},
    {"a forward of the sender's own message, Date: above From:, does not date the thread",
     "Following up on my note below.\n\n-------- Forwarded Message --------\nSubject: Re: order\nDate: Fri, "
     "27 "
     "Feb 2026 10:00:00 +0000\nFrom: Alex Morgan <alex@agency.example>\nTo: Dana "
     "<dana@client.example>\n\nShips "
     "today.\n\nOn Mon, 2 Mar 2026 at 09:14, Dana <dana@client.example> wrote:\n> Still nothing arrived.\n",
     "Following up on my note below.", "Still nothing arrived.", T0, "alex@agency.example"},
    {"the sender's message under a dated attribution without quote marks is dropped",
     "Following up.\n\nOn Mon, 2 Mar 2026 at 09:14, Alex <alex@agency.example> wrote:\nSorry, the courier "
     "missed the pickup again.\n",
     "Following up.", "", -1, "alex@agency.example"},
    {"outlook: the sender's own message below the client's is dropped",
     "Sorry.\n\nFrom: Dana <dana@client.example>\nSent: Monday, March 2, 2026 9:14 AM\nSubject: Re: "
     "order\n\nStill nothing.\n\nFrom: Alex Morgan <alex@agency.example>\nSent: Friday, February 27, 2026 "
     "10:00 AM\nSubject: order\n\nShips today.\n",
     "Sorry.", "Still nothing.", T0, "alex@agency.example"},
    {"outlook: the client's message below the sender's own dates the thread",
     "Following up.\n\nFrom: Alex Morgan <alex@agency.example>\nSent: Monday, March 2, 2026 9:14 AM\n\nShips "
     "today.\n\nFrom: Dana <dana@client.example>\nSent: Friday, February 27, 2026 10:00 AM\n\nStill "
     "nothing.\n",
     "Following up.", "Still nothing.", T0 - 3 * 86400 + 46 * 60, "alex@agency.example"},
};

static void test_sender_case(void **state)
{
	const struct sender_case *c = *state;
	struct message msg = {.body = (char *)c->body, .body_len = strlen(c->body), .from = (char *)c->from};
	struct thread_view v;

	split_message(NULL, &msg, &v);
	assert_string_equal(v.text, c->text);
	assert_string_equal(v.quoted, c->quoted);
	assert_int_equal(v.quoted_date, c->date);
	thread_view_clear(&v);
}

/* Mail arriving from a client: its new text is the client's message, so
 * what is not a quoted message's words is not its words either; the same
 * body sent by the account manager keeps them. */
struct arriving_case {
	const char *name;
	const char *body;
	const char *from, *from_name;
	const char *arriving; /* new text, split_arriving() */
	const char *outgoing; /* new text, split_message() */
};

#define WARNING                                                                                              \
	"CAUTION: This email originated from outside of the organization. Do not click links unless you "    \
	"recognize the sender.\n\n"

static const struct arriving_case arriving_cases[] = {
    {"a gateway's warning above arriving mail is not the client's words", WARNING "Hi Alex,\n\nStill late.\n",
     "dana@client.example", "Dana Client", "Hi Alex,\n\nStill late.",
     "CAUTION: This email originated from outside of the organization. Do not click links unless you "
     "recognize "
     "the sender.\n\nHi Alex,\n\nStill late."},
    {"arriving mail opening with a warning's first words is the client's",
     "You don't often get email from me, but three deliveries were missed.\n", "dana@client.example", "Dana",
     "You don't often get email from me, but three deliveries were missed.",
     "You don't often get email from me, but three deliveries were missed."},
    {"arriving mail's signature led by the writer's name is not the client's words",
     "Still late.\n\nDana Stone\nOperations Lead\nClient Example Ltd\n", "ds@client.example", "Dana Stone",
     "Still late.", "Still late."},
    {"the writer's name from the address alone",
     "Still late.\n\nRavi Menon\nHead of Operations, Cobalt Ltd\n", "ravi.menon@cobalt.example", "",
     "Still late.", "Still late."},
    {"arriving mail's lines of capitals led by another name are the client's",
     "Send the parts to:\n\nMaria Lopez\nWarehouse Manager\nAcme Depot Ltd\n", "dana@client.example",
     "Dana Client", "Send the parts to:\n\nMaria Lopez\nWarehouse Manager\nAcme Depot Ltd",
     "Send the parts to:\n\nMaria Lopez\nWarehouse Manager\nAcme Depot Ltd"},
    {"arriving mail's name and title above a phone's line",
     "Still late.\n\nDana Client\nOperations Lead\n\nSent from my iPhone\n", "dana@client.example",
     "Dana Client", "Still late.", "Still late."},
    {"another name closing a message is its words",
     "We will send it tomorrow.\n\nBob\n\nSent from my iPhone\n", "alex@agency.example", "Alex Morgan",
     "We will send it tomorrow.\n\nBob", "We will send it tomorrow.\n\nBob"},
    {"contacts closing a message with no name of the writer's are its words",
     "Call me.\n\nwww.client.example\nTel: +44 20 7946 0321\n", "dana@client.example", "Dana Client",
     "Call me.\n\nwww.client.example\nTel: +44 20 7946 0321",
     "Call me.\n\nwww.client.example\nTel: +44 20 7946 0321"},
    {"what follows a signature marker is no one's words in either direction",
     "Still late.\n\n--\nSupport Desk\nTel: +44 20 7946 0321\n\nOur list: https://lists.example/\n",
     "dana@client.example", "Dana Client", "Still late.", "Still late."},
    {"a display name written last name first names the writer",
     "Still late.\n\nDana Client\nOperations Lead\nClient Example Ltd\n", "dc@client.example", "Client, Dana",
     "Still late.", "Still late."},
    {"short lines in title case are the client's words", "Hi Alex,\n\nStill No Refund\n\nThanks,\nDana\n",
     "dana@client.example", "Dana Client", "Hi Alex,\n\nStill No Refund", "Hi Alex,\n\nStill No Refund"},
    {"a one-word answer is the client's words",
     "Unacceptable\n\nOn Mon, 2 Mar 2026 at 09:14, Alex Morgan <alex@agency.example> wrote:\n> Ships next "
     "week.\n>\n> Did the refund arrive?\nNo\n",
     "dana@client.example", "Dana Client", "Unacceptable\n\nNo", "Unacceptable\n\nNo"},
    {"a first-contact tip's words in the client's own sentence are the client's",
     "You don't often get email from me, but I clicked your payment link and was charged twice.\n",
     "dana@client.example", "Dana Client",
     "You don't often get email from me, but I clicked your payment link and was charged twice.",
     "You don't often get email from me, but I clicked your payment link and was charged twice."},
    {"an order number above a phone is the client's",
     "I was charged twice.\nOrder 55123\nTel: 020 7946 0321\n", "dana@client.example", "Dana Client",
     "I was charged twice.\nOrder 55123\nTel: 020 7946 0321",
     "I was charged twice.\nOrder 55123\nTel: 020 7946 0321"},
    {"arriving mail's device line and disclaimer are read as a quoted message's",
     "Hi Alex,\n\nThe contents of this parcel were smashed and you are legally obliged to refund me.\n\nSent "
     "via "
     "DHL, tracking says delivered but nothing arrived\n",
     "dana@client.example", "Dana Client",
     "Hi Alex,\n\nThe contents of this parcel were smashed and you are legally obliged to refund me.\n\nSent "
     "via "
     "DHL, tracking says delivered but nothing arrived",
     "Hi Alex,"},
    {"the writer's name alone closing the text stays, as before", "We will send it tomorrow.\n\nAlex\n",
     "alex@agency.example", "Alex Morgan", "We will send it tomorrow.\n\nAlex",
     "We will send it tomorrow.\n\nAlex"},
    {"lines under the writer's name that are sentences, or name no title, are the text's",
     "The parcel left late.\n\nAlex\nI Apologise Sincerely\nMy Mistake Entirely\n\nAlex\nFull Refund Issued "
     "Today\nReplacement Ships Monday\n\nAlex\nPS: Refund Issued\n",
     "alex@agency.example", "Alex Morgan",
     "The parcel left late.\n\nAlex\nI Apologise Sincerely\nMy Mistake Entirely\n\nAlex\nFull Refund Issued "
     "Today\nReplacement Ships Monday\n\nAlex\nPS: Refund Issued",
     "The parcel left late.\n\nAlex\nI Apologise Sincerely\nMy Mistake Entirely\n\nAlex\nFull Refund Issued "
     "Today\nReplacement Ships Monday\n\nAlex\nPS: Refund Issued"},
    {"a sentence under the writer's name and title is the text's (for oneself)",
     "Sorry.\n\nAlex Morgan\nAccount Manager\nMy Fault Entirely\n", "alex@agency.example", "Alex Morgan",
     "Sorry.\n\nAlex Morgan\nAccount Manager\nMy Fault Entirely",
     "Sorry.\n\nAlex Morgan\nAccount Manager\nMy Fault Entirely"},
    {"a sentence under the writer's name and title is the text's (its full stop)",
     "Sorry.\n\nAlex Morgan\nAccount Manager\nRefund Sent Today.\n", "alex@agency.example", "Alex Morgan",
     "Sorry.\n\nAlex Morgan\nAccount Manager\nRefund Sent Today.",
     "Sorry.\n\nAlex Morgan\nAccount Manager\nRefund Sent Today."},
    {"a postscript under the writer's name and title is the text's",
     "Sorry.\n\nAlex Morgan\nAccount Manager\nPS: Refund Issued\n", "alex@agency.example", "Alex Morgan",
     "Sorry.\n\nAlex Morgan\nAccount Manager\nPS: Refund Issued",
     "Sorry.\n\nAlex Morgan\nAccount Manager\nPS: Refund Issued"},
    {"a team's name over lines that name no title is the text's",
     "We have refunded you.\n\nSupport\nRefund Processed In Full\n", "support@agency.example",
     "Agency Support", "We have refunded you.\n\nSupport\nRefund Processed In Full",
     "We have refunded you.\n\nSupport\nRefund Processed In Full"},
    {"in the writer's own text the block needs a blank line above it",
     "My apologies, this was my mistake.\nAlex Morgan\nAccount Manager\n", "alex@agency.example",
     "Alex Morgan", "My apologies, this was my mistake.\nAlex Morgan\nAccount Manager",
     "My apologies, this was my mistake.\nAlex Morgan\nAccount Manager"},
    {"a client's demands under their name are the client's",
     "Still late.\n\nDana\nCancel My Order Now\nFull Refund Expected\n", "dana@client.example", "Dana Client",
     "Still late.\n\nDana\nCancel My Order Now\nFull Refund Expected",
     "Still late.\n\nDana\nCancel My Order Now\nFull Refund Expected"},
    {"an answer between quoted lines is no signature",
     "Hi Dana,\n\n> Who is handling my refund?\n\nAlex Morgan\nAccount Manager\n\n> When?\n\nToday.\n",
     "alex@agency.example", "Alex Morgan", "Hi Dana,\n\nAlex Morgan\nAccount Manager\n\nToday.",
     "Hi Dana,\n\nAlex Morgan\nAccount Manager\n\nToday."},
    {"gateway warnings with a tag, the source or an I.T. desk are warnings",
     "[EXTERNAL] Use caution when clicking links or opening attachments.\n\nHi Alex,\n\nStill no refund.\n",
     "dana@client.example", "Dana Client", "Hi Alex,\n\nStill no refund.",
     /* the author's text keeps it, the tag blanked as a template's placeholder */
     "           Use caution when clicking links or opening attachments.\n\nHi Alex,\n\nStill no refund."},
    {"a warning about the source, with a portal named My",
     "CAUTION: External. Do not click links unless you recognize the source.\nIf in doubt, report it to I.T. "
     "with "
     "the Report Phishing button in My Outlook.\n\nStill no refund.\n",
     "dana@client.example", "Dana Client", "Still no refund.",
     "CAUTION: External. Do not click links unless you recognize the source.\nIf in doubt, report it to I.T. "
     "with "
     "the Report Phishing button in My Outlook.\n\nStill no refund."},
    {"a warning's first words in a client's own lower-case sentence are the client's",
     "you don't often get email from us, but i clicked your payment link and was charged twice\n",
     "dana@client.example", "Dana Client",
     "you don't often get email from us, but i clicked your payment link and was charged twice",
     "you don't often get email from us, but i clicked your payment link and was charged twice"},
    {"the account manager's own signature with no sign-off is not the reply's words",
     "Refund sent today.\n\nAlex Morgan\nAccount Manager\nAgency Example Ltd\n\nOn Mon, 2 Mar 2026 at 09:14, "
     "Dana <d@client.example> wrote:\n> Still late.\n",
     "alex.morgan@agency.example", "Alex Morgan", "Refund sent today.", "Refund sent today."},
};

static void test_arriving_case(void **state)
{
	const struct arriving_case *c = *state;
	struct message msg = {.body = (char *)c->body,
	                      .body_len = strlen(c->body),
	                      .from = (char *)c->from,
	                      .from_name = (char *)c->from_name};
	struct thread_view v;

	split_arriving(NULL, &msg, &v);
	assert_string_equal(v.text, c->arriving);
	thread_view_clear(&v);
	split_message(NULL, &msg, &v);
	assert_string_equal(v.text, c->outgoing);
	thread_view_clear(&v);
}

/* The greeting the gate reads a reply or an arriving message without. */
static void test_greeting_len(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		size_t skip;
	} texts[] = {
	    {"Hi Dana,\n\nSorry, the parcel left late.", 10},
	    {"  Dear Customer Service Team,\r\nStill late.", 31},
	    {"Hello", 0}, /* a text that is only a greeting is read whole */
	    {"Dear Mr. O'Brien,\nStill late.", 18},
	    {"Sehr geehrte Damen und Herren,\nX", 31},
	    {"Hi all,\nX", 8},
	    {"Hi Alex -\nX", 10},
	    {"Hello still no refund!\nX", 0},
	    {"Hey! Third time now!\nX", 0},
	    {"Good morning. Still nothing!\nX", 0},
	    {"Dear God not again!\nX", 0},
	    {"Hi Dana - so sorry!\nX", 0},
	    {"Hello STILL NO REFUND!\nX", 0},
	    {"Hi Alex: WHERE IS MY ORDER\nX", 0},
	    {"Hey Alex \xe2\x80\x93 THIRD TIME NOW!\nX", 0},
	    {"Hello 12345\nX", 0},
	    {"Dear Sales:Order Lost\nX", 0},
	    {"Dear IT Team,\nX", 14},
	    {"Hi Dana, sorry, the parcel left late.", 0},
	    {"Hi Dana I am sorry the parcel left late", 0},
	    {"Hiya, the parcel left.", 0},
	    {"Highly annoyed.\nStill late.", 0},
	    {"Sorry.\nHi Dana,", 0},
	    {"", 0},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(texts); i++)
		assert_int_equal(split_greeting_len(NULL, texts[i].text, strlen(texts[i].text)),
		                 texts[i].skip);
}

/* Replace each of PLACEHOLDERS in S by as many spaces. */
static char *blank_out(const char *s, const char *const *placeholders)
{
	char *r = g_strdup(s);

	for (; *placeholders; placeholders++) {
		char *at = strstr(r, *placeholders);
		assert_non_null(at);
		memset(at, ' ', strlen(*placeholders));
	}
	return r;
}

static void test_placeholders_blanked_same_length(void **state)
{
	static const char body[] =
	    "Dear [Client Name],\nYour order {{order_id}} ships on {{ date }} to %FIRSTNAME% and "
	    "\xC2\xAB"
	    "FirstName\xC2\xBB and <<Name>>, {FirstName}.\nHello [name], see [insert "
	    "date] and [NAME_2].\nSee [1], [sic], [docs](http://x), {x y}, {{}} and 50% OFF%.";
	static const char *const blanked[] = {
	    "[Client Name]",
	    "{{order_id}}",
	    "{{ date }}",
	    "%FIRSTNAME%",
	    "\xC2\xAB"
	    "FirstName\xC2\xBB",
	    "<<Name>>",
	    "{FirstName}",
	    "[name]",
	    "[insert date]",
	    "[NAME_2]",
	    NULL,
	};
	struct message msg = {.body = (char *)body, .body_len = strlen(body)};
	struct thread_view v;
	char *want = blank_out(body, blanked);

	(void)state;
	split_message(NULL, &msg, &v);
	assert_int_equal(v.len, strlen(body));
	assert_string_equal(v.text, want);
	thread_view_clear(&v);
	g_free(want);
}

static void test_null_body(void **state)
{
	struct message msg = {0};
	struct thread_view v;

	(void)state;
	split_message(NULL, &msg, &v);
	assert_string_equal(v.text, "");
	assert_string_equal(v.quoted, "");
	assert_int_equal(v.quoted_date, -1);
	assert_int_equal(v.sentences->len, 0);
	thread_view_clear(&v);
	thread_view_clear(&v); /* clearing twice is harmless */
	assert_null(v.text);
	assert_int_equal(v.quoted_date, -1);
}

static void test_sentences_refer_to_new_text(void **state)
{
	static const char body[] = "Hi Ann,\nSorry we shipped the wrong size. A new one left "
	                           "today!\n\nOn Mon, 2 Mar 2026 at 09:14, Ann <a@b> wrote:\n> "
	                           "Wrong size. Again.\n";
	struct message msg = {.body = (char *)body, .body_len = strlen(body)};
	struct thread_view v;
	static const char *const want[] = {"Hi Ann,", "Sorry we shipped the wrong size.",
	                                   "A new one left today!"};
	static const unsigned lines[] = {1, 2, 2};

	(void)state;
	split_message(NULL, &msg, &v);
	assert_int_equal(v.sentences->len, 3);
	for (guint i = 0; i < 3; i++) {
		const struct sentence *s = &g_array_index(v.sentences, struct sentence, i);
		assert_int_equal(s->end - s->start, strlen(want[i]));
		assert_memory_equal(v.text + s->start, want[i], strlen(want[i]));
		assert_int_equal(s->line, lines[i]);
	}
	thread_view_clear(&v);
}

/* Replies in HTML, rendered by html_to_text() as message.c does, then split. */
struct html_case {
	const char *name;
	const char *html;
	const char *text;
	gint64 date;
	bool signature;
};

static const struct html_case html_cases[] = {
    {"gmail html reply with sign-off",
     "<div dir=\"ltr\">Hi Ann,<div><br></div><div>So sorry, the replacement ships "
     "today.</div><div><br></div><div>Best regards,</div><div>Bob</div></div><br><div "
     "class=\"gmail_quote gmail_quote_container\"><div dir=\"ltr\" class=\"gmail_attr\">On "
     "Mon, 2 Mar 2026 at 09:14, Ann &lt;<a href=\"mailto:a@b\">a@b</a>&gt; wrote:<br></div>"
     "<blockquote class=\"gmail_quote\">Where is my order?<br></blockquote></div>",
     "Hi Ann,\n\nSo sorry, the replacement ships today.", T0, true},
    {"gmail html signature prefix",
     "<div dir=\"ltr\">Done.<br clear=\"all\"><br><span class=\"gmail_signature_prefix\">-- "
     "</span><br><div dir=\"ltr\" class=\"gmail_signature\">Bob<br>Acme</div></div>",
     "Done.", -1, true},
    {"outlook desktop html header block",
     "<html><head><style>p.MsoNormal{}</style></head><body><div class=WordSection1><p "
     "class=MsoNormal>We are sorry.<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p>"
     "<div><div style=\"border:none;border-top:solid #E1E1E1 1.0pt\"><p class=MsoNormal><b>"
     "From:</b> Ann &lt;a@b&gt;<br><b>Sent:</b> Monday, March 2, 2026 9:14 AM<br><b>To:</b> "
     "Bob<br><b>Subject:</b> late<o:p></o:p></p></div></div><p class=MsoNormal>Where is "
     "it?</p></div></body></html>",
     "We are sorry.", T0, false},
    {"outlook web divRplyFwdMsg",
     "<div>Reply here</div><div id=\"appendonsend\"></div><hr><div id=\"divRplyFwdMsg\"><b>"
     "From:</b> Ann<br><b>Sent:</b> Monday, March 2, 2026 9:14 AM<br></div><div>original "
     "text</div>",
     "Reply here", T0, false},
    {"thunderbird html reply",
     "<p>Reply</p><div class=\"moz-cite-prefix\">On 02/03/2026 09:14, Ann wrote:<br></div>"
     "<blockquote type=\"cite\">complaint</blockquote>",
     "Reply", T0, false},
};

static void test_html_case(void **state)
{
	const struct html_case *c = *state;
	char *body = html_to_text(c->html, strlen(c->html), 0, NULL);
	struct message msg = {.body = body, .body_len = strlen(body), .body_from_html = true};
	struct thread_view v;

	split_message(NULL, &msg, &v);
	assert_string_equal(v.text, c->text);
	if (c->date != -2)
		assert_int_equal(v.quoted_date, c->date);
	assert_int_equal(v.has_signature, c->signature);
	thread_view_clear(&v);
	g_free(body);
}

/* A long reply with a long quoted history: the result is exact at any size. */
static void test_long_history(void **state)
{
	GString *body = g_string_new("Sorry, on it.\n\nOn Mon, 2 Mar 2026 at 09:14, Ann <a@b> wrote:\n");
	struct message msg;
	struct thread_view v;

	(void)state;
	for (int i = 0; i < 20000; i++)
		g_string_append_printf(body, "> line %d of the complaint.\n", i);
	msg = (struct message){.body = body->str, .body_len = body->len};
	split_message(NULL, &msg, &v);
	assert_string_equal(v.text, "Sorry, on it.");
	assert_int_equal(v.quoted_date, T0);
	assert_true(g_str_has_suffix(v.quoted, "line 19999 of the complaint."));
	thread_view_clear(&v);
	g_string_free(body, TRUE);
}

/* A policy whose lexicon names a language the built-in lists lack (Polish:
 * "Dnia ..., Ann napisał:") makes its unquoted history quoted; without it
 * the history stays in the new text. */
static void test_policy_attribution_words(void **state)
{
	static const char body[] = "Sorry, on it.\n\nDnia Mon, 2 Mar 2026 at 09:14, Ann <a@b> napisał:\n"
	                           "Where is my order?\n";
	static const char yaml[] = "version: 1\n"
	                           "complaint: {breach: {phrases: [still]}}\n"
	                           "lexicon:\n"
	                           "  quote-attribution-prefixes: [On, Dnia]\n"
	                           "  quote-attribution-verbs: [wrote, napisał]\n"
	                           "rules:\n"
	                           "  apology-missing: {principle: p, advice: a, phrases: [sorry]}\n";
	struct message msg = {.body = (char *)body, .body_len = strlen(body)};
	struct thread_view v;
	char *err = NULL;
	struct policy *pol = policy_load_string("polish.yaml", yaml, strlen(yaml), &err);

	(void)state;
	if (pol == NULL)
		fail_msg("%s", err);
	split_message(NULL, &msg, &v);
	assert_non_null(strstr(v.text, "napisał:\nWhere is my order?"));
	assert_int_equal(v.quoted_date, -1);
	thread_view_clear(&v);

	split_message(pol, &msg, &v);
	assert_string_equal(v.text, "Sorry, on it.");
	assert_string_equal(v.quoted, "Where is my order?");
	assert_int_equal(v.quoted_date, T0);
	thread_view_clear(&v);
	policy_unref(pol);
}

/* The line under a sign-off is a sentence when it has a word of the
 * policy's sign-off-sentence-words: a German one is, with a policy that
 * lists German words ("Wir", "Ich"); with the built-in English list it is
 * taken for a name and dropped with the sign-off. */
static void test_policy_sentence_words(void **state)
{
	static const char body[] = "Danke für Ihre Geduld.\n\nViele Grüße\nWir prüfen das heute\nAnna\n";
	static const char yaml[] = "version: 1\n"
	                           "complaint: {breach: {phrases: [still]}}\n"
	                           "lexicon:\n"
	                           "  sign-off-sentence-words: [I, we, Ich, Wir, \"we\u2019ll\"]\n"
	                           "rules:\n"
	                           "  apology-missing: {principle: p, advice: a, phrases: [sorry]}\n";
	struct message msg = {.body = (char *)body, .body_len = strlen(body)};
	struct thread_view v;
	char *err = NULL;
	struct policy *pol = policy_load_string("german.yaml", yaml, strlen(yaml), &err);

	(void)state;
	if (pol == NULL)
		fail_msg("%s", err);
	split_message(NULL, &msg, &v);
	assert_string_equal(v.text, "Danke für Ihre Geduld.");
	thread_view_clear(&v);

	split_message(pol, &msg, &v);
	assert_non_null(strstr(v.text, "Wir prüfen das heute"));
	thread_view_clear(&v);

	/* the list's case: "wir" in lowercase is not "Wir" */
	static const char lower[] = "Danke.\n\nViele Grüße\nwir prüfen\nAnna\n";
	msg = (struct message){.body = (char *)lower, .body_len = strlen(lower)};
	split_message(pol, &msg, &v);
	assert_string_equal(v.text, "Danke.");
	thread_view_clear(&v);

	/* a word with an apostrophe is the list's when what comes before it is
	 * ("you’re", "we’d": "you", "we"); "O'Brien" is no "O" */
	static const char *const contracted[] = {"Thanks\nyou\xe2\x80\x99re all set now\nAnna\n",
	                                         "Thanks\nwe'd like to fix it\nAnna\n"};
	for (size_t i = 0; i < G_N_ELEMENTS(contracted); i++) {
		char *text = g_strconcat("Done.\n\n", contracted[i], NULL);
		msg = (struct message){.body = text, .body_len = strlen(text)};
		split_message(NULL, &msg, &v);
		if (strstr(v.text, "all set") == NULL && strstr(v.text, "like to fix") == NULL)
			fail_msg("%zu: %s", i, v.text);
		thread_view_clear(&v);
		g_free(text);
	}
	static const char irish[] = "Done.\n\nThanks\nO'Brien Logistics\n";
	msg = (struct message){.body = (char *)irish, .body_len = strlen(irish)};
	split_message(NULL, &msg, &v);
	assert_string_equal(v.text, "Done.");
	thread_view_clear(&v);

	/* a curly apostrophe is the list's straight one, and the other way round */
	static const char curly[] = "Refund sent.\n\nThanks\nwe\u2019ll ring you\nAnna\n";
	static const char straight[] = "Refund sent.\n\nThanks\nwe'll ring you\nAnna\n";
	const char *const both[] = {curly, straight};
	for (size_t i = 0; i < G_N_ELEMENTS(both); i++) {
		msg = (struct message){.body = (char *)both[i], .body_len = strlen(both[i])};
		split_message(pol, &msg, &v);
		assert_non_null(strstr(v.text, "ring you"));
		thread_view_clear(&v);
	}
	policy_unref(pol);
}

int main(void)
{
	static struct CMUnitTest tests[G_N_ELEMENTS(cases) + G_N_ELEMENTS(sender_cases) +
	                               G_N_ELEMENTS(arriving_cases) + G_N_ELEMENTS(html_cases) + 7];
	size_t n = 0;

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
		tests[n++] = (struct CMUnitTest){cases[i].name, test_case, NULL, NULL, (void *)&cases[i]};
	for (size_t i = 0; i < G_N_ELEMENTS(sender_cases); i++)
		tests[n++] = (struct CMUnitTest){sender_cases[i].name, test_sender_case, NULL, NULL,
		                                 (void *)&sender_cases[i]};
	for (size_t i = 0; i < G_N_ELEMENTS(arriving_cases); i++)
		tests[n++] = (struct CMUnitTest){arriving_cases[i].name, test_arriving_case, NULL, NULL,
		                                 (void *)&arriving_cases[i]};
	for (size_t i = 0; i < G_N_ELEMENTS(html_cases); i++)
		tests[n++] = (struct CMUnitTest){html_cases[i].name, test_html_case, NULL, NULL,
		                                 (void *)&html_cases[i]};
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_placeholders_blanked_same_length);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_null_body);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_greeting_len);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_sentences_refer_to_new_text);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_long_history);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_policy_attribution_words);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_policy_sentence_words);
	return cmocka_run_group_tests_name("split", tests, NULL, NULL);
}
