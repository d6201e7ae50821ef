#!/usr/bin/env python3
"""The same words judged the same whatever mail program wrote them.

Each reply of an account manager, quoting a client's complaint or ordinary mail, is wrapped as Gmail writes it
(the baseline) and as other mail programs do (Outlook's header blocks, Outlook on the web's HTML, Apple Mail,
Thunderbird, German Outlook, bottom-posting, transfer encodings, the client's own signature, disclaimer and
device line under the quoted text, a body split around an inline attachment, a complaint forwarded whole, the
account manager's own earlier note quoted under the client's message, a greeting line above the reply and the
client's message, a mail gateway's warning above the client's message, a help desk's marker line above it, the
client's name, title and company under it with no sign-off). Every
wrapping must give the baseline's verdict, findings, complaint call and date, and a complaint evidence within
TOLERANCE logits. The texts are the project's own.

usage: format_invariance.py --ctl APOLOGYCTL --policy POLICY
"""
import argparse
import base64
import html
import json
import os
import quopri
import subprocess
import sys
import tempfile

TOLERANCE = 0.5
WHEN = "Mon, 02 Mar 2026 09:14:00 +0000"

COMPLAINTS = [
    ("Gareth Lloyd", "g.lloyd@harbourfoods.example", "VAT on invoices",
     ["Third invoice this quarter with the wrong VAT rate on it. Fix it and reissue all three."]),
    ("Helen Marsh", "helen.marsh@ivyprint.example", "Catalogue proofs",
     ["Hi Tomasz,",
      "I hope you are well. I wanted to let you know that the catalogue proofs we were promised for last Friday "
      "still haven't reached us, and our print slot is booked for Wednesday morning.",
      "Could you let me know where things stand? I'd be grateful for a realistic date so I can warn the printer "
      "if we need to move the slot.",
      "Many thanks,", "Helen"]),
    ("Dominik Brandt", "d.brandt@nordlager.example", "Express shipment",
     ["This is UNACCEPTABLE. We paid for express shipping and the six pallets have been sitting in your yard for "
      "the fourth day now. Nobody answers the phone at your depot!!",
      "If they are not on our dock by tomorrow noon we will cancel the framework contract and claim the express "
      "surcharge back.",
      "Dominik"]),
    ("Luca Ferraro", "luca.ferraro@officinaferraro.example", "Machine not working",
     ["Hello,",
      "I write you again because the labelling machine you install last month is not working since three days. "
      "Your technician say he come on Monday but nobody is come and nobody call us.",
      "We lose production every day because of this. Please what is happening? We need somebody here this week.",
      "Luca Ferraro"]),
    ("Rebecca Stone", "rstone@stoneandvale.example", "Delivery date",
     ["Thanks for confirming delivery for the 12th. It is now the 19th.",
      "Should I keep waiting, or would you recommend I start looking for another supplier?"]),
    ("Wei Zhang", "wei.zhang@lotusinteriors.example", "Refund",
     ["Still no refund. You said 5 working days. It's been 3 weeks."]),
]

ORDINARY = [
    ("Hannah Becker", "h.becker@alpinegear.example", "Notebook quote",
     ["Hi Tomasz,",
      "Could you send us a quote for 500 branded notebooks, A5, dot grid, with delivery to our Leeds office in "
      "the second half of April?",
      "Thanks,", "Hannah"]),
    ("Ravi Menon", "ravi.menon@cobaltlogistics.example", "Quarterly review",
     ["Would Thursday at 10:30 work for the quarterly review? If not, Friday afternoon is free on our side too.",
      "Ravi"]),
    ("Tom Fletcher", "tom.fletcher@fletcherbuild.example", "Invoice 2231",
     ["Hi Tomasz,",
      "Could you resend invoice 2231 as a PDF? Our finance system didn't pick up the attachment the first time "
      "round.",
      "Cheers,", "Tom"]),
    ("Jan Kowalczyk", "jan.kowalczyk@wislafoods.example", "Labels reorder",
     ["Hello,",
      "we want to order again the same labels like last time, but 2000 pieces. Is possible to have them before "
      "20 March? Please send me the price.",
      "Thank you", "Jan"]),
    ("Lars Eriksen", "lars.eriksen@fjordoutdoor.example", "Dashboard",
     ["The new ordering dashboard looks great, much easier than the old one. One question: can we export the "
      "order history to CSV?",
      "Thanks", "Lars"]),
]

REPLIES = [
    ["Hi,",
     "I'm very sorry about this. It was our mistake and I take full responsibility for it.",
     "I have already corrected it, and the replacement goes out by courier today, so you will have it by 10am "
     "tomorrow. From now on a second person checks every order before it leaves us, so this won't happen again.",
     "I'll call you this afternoon to make sure everything is in order."],
    ["Hello,",
     "As I explained in my previous email, this was caused by the courier, not by us. Our records show that "
     "everything left our warehouse on time.",
     "Please check with your goods-in team before raising this again."],
    ["Thanks for your email, I will check and get back to you."],
]

ME, MY_ADDR = "Tomasz Nowak", "tomasz.nowak@brightline-print.example"
MY_SIG = ["Best regards,", ME, "Account Manager | Brightline Print"]
CLIENT_SIG = ["Operations Manager", "Tel: +44 20 7946 0321 | Mob: +44 7700 900123", "Harbourside Holdings Ltd"]
# the account manager's own earlier note, quoted under the client's message: history, not the client's words
MY_NOTE = ["Hi,", "Sorry, the courier missed the pickup again and the delivery will be late; it has gone wrong twice "
           "now and nobody called you. We are still waiting on them.", "Tomasz"]
DISCLAIMER = ("This email and any attachments are confidential and intended solely for the addressee. If you have "
              "received it in error, please notify the sender and delete it.")
BANNER = ("CAUTION: This email originated from outside of the organisation. Do not click links or open "
          "attachments unless you recognise the sender and know the content is safe.")


def headers(subject, ctype, cte="8bit", i=0):
    h = [f"From: {ME} <{MY_ADDR}>", "To: client@client.example", f"Subject: Re: {subject}",
         "Date: Mon, 02 Mar 2026 11:30:00 +0000", f"Message-ID: <r{i}@brightline-print.example>",
         "In-Reply-To: <c@client.example>", "MIME-Version: 1.0", f"Content-Type: {ctype}"]
    if cte:
        h.append(f"Content-Transfer-Encoding: {cte}")
    return "\n".join(h) + "\n\n"


def paras(lines):
    return "\n\n".join(lines)


def quoted(lines):
    return "\n".join("> " + l if l else ">" for l in paras(lines).split("\n"))


def mine(reply):
    return paras(reply) + "\n\n" + "\n".join(MY_SIG) + "\n"


def outlook_block(name, addr, subject, names=("From", "Sent", "To", "Cc", "Subject"),
                  sent="Monday, March 2, 2026 9:14 AM"):
    f, s, t, c, j = names
    return (f"{f}: {name} <{addr}>\n{s}: {sent}\n{t}: {ME} <{MY_ADDR}>; Jane Doe\n<jane.doe@brightline-print.example>\n"
            f"{c}: Accounts <accounts@brightline-print.example>\n{j}: {subject}\n\n")


def html_paras(lines):
    return "".join(f"<p>{html.escape(l)}</p>" for l in lines)


def wrap(fmt, reply, name, addr, subject, text, i):
    attribution = f"On Mon, Mar 2, 2026 at 9:14 AM {name} <{addr}> wrote:\n"
    plain = headers(subject, "text/plain; charset=utf-8", i=i)
    if fmt == "gmail":
        return plain + mine(reply) + "\n" + attribution + quoted(text) + "\n"
    if fmt == "outlook":
        return plain + mine(reply) + "\n________________________________\n" + outlook_block(name, addr, subject) + \
            paras(text) + "\n"
    if fmt == "outlook-original":
        return plain + mine(reply) + "\n-----Original Message-----\n" + outlook_block(name, addr, subject) + \
            paras(text) + "\n"
    if fmt == "outlook-german":
        return plain + mine(reply) + "\n-----Ursprüngliche Nachricht-----\n" + \
            outlook_block(name, addr, subject, ("Von", "Gesendet", "An", "Cc", "Betreff"),
                          "Montag, 2. März 2026 09:14") + paras(text) + "\n"
    if fmt == "outlook-web-html":
        body = (f"<html><body>{html_paras(reply)}{html_paras(MY_SIG)}<hr><div id=\"divRplyFwdMsg\">"
                f"<b>From:</b> {html.escape(name)} &lt;{addr}&gt;<br><b>Sent:</b> Monday, March 2, 2026 9:14 AM<br>"
                f"<b>To:</b> {ME} &lt;{MY_ADDR}&gt;<br><b>Subject:</b> {html.escape(subject)}</div>"
                f"{html_paras(text)}</body></html>")
        return headers(subject, "text/html; charset=utf-8", i=i) + body + "\n"
    if fmt == "gmail-html":
        body = (f"<html><body><div dir=\"ltr\">{html_paras(reply)}{html_paras(MY_SIG)}</div><br>"
                f"<div class=\"gmail_quote\"><div dir=\"ltr\" class=\"gmail_attr\">On Mon, Mar 2, 2026 at 9:14 AM "
                f"{html.escape(name)} &lt;<a href=\"mailto:{addr}\">{addr}</a>&gt; wrote:<br></div>"
                f"<blockquote class=\"gmail_quote\">{html_paras(text)}</blockquote></div></body></html>")
        gm = wrap("gmail", reply, name, addr, subject, text, i).split("\n\n", 1)[1]
        return (headers(subject, "multipart/alternative; boundary=B", None, i) +
                f"--B\nContent-Type: text/plain; charset=utf-8\n\n{gm}\n"
                f"--B\nContent-Type: text/html; charset=utf-8\n\n{body}\n--B--\n")
    if fmt == "apple":
        return plain + mine(reply) + f"\nOn 2 Mar 2026, at 09:14, {name} <{addr}> wrote:\n\n" + quoted(text) + "\n"
    if fmt == "thunderbird":
        return plain + mine(reply) + f"\n{name} wrote on 02/03/2026 09:14:\n" + quoted(text) + "\n"
    if fmt == "bottom-post":
        return plain + attribution + quoted(text) + "\n\n" + mine(reply)
    if fmt == "quoted-printable-1252":
        raw = wrap("gmail", reply, name, addr, subject, text, i).split("\n\n", 1)[1]
        return headers(subject, "text/plain; charset=windows-1252", "quoted-printable", i) + \
            quopri.encodestring(raw.encode("cp1252")).decode("ascii")
    if fmt == "base64":
        raw = wrap("gmail", reply, name, addr, subject, text, i).split("\n\n", 1)[1]
        return headers(subject, "text/plain; charset=utf-8", "base64", i) + \
            base64.encodebytes(raw.encode()).decode("ascii")
    if fmt == "crlf":
        return wrap("gmail", reply, name, addr, subject, text, i).replace("\n", "\r\n")
    if fmt == "client-signature":  # under the name that closes the text, or under its last line
        signed = text[:-1] + [text[-1] + "\n" + "\n".join(CLIENT_SIG)]
        return plain + mine(reply) + "\n" + attribution + quoted(signed) + "\n"
    if fmt == "client-disclaimer":
        return plain + mine(reply) + "\n" + attribution + quoted(text + [DISCLAIMER]) + "\n"
    if fmt == "client-device-line":
        return plain + mine(reply) + "\n" + attribution + quoted(text + ["Sent from my iPhone"]) + "\n"
    if fmt == "split-around-attachment":
        return (headers(subject, "multipart/mixed; boundary=M", None, i) +
                f"--M\nContent-Type: text/plain; charset=utf-8\n\n{mine(reply)}\n"
                "--M\nContent-Type: application/pdf; name=note.pdf\nContent-Disposition: inline; filename=note.pdf\n"
                "Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n"
                f"--M\nContent-Type: text/plain; charset=utf-8\n\n{attribution}{quoted(text)}\n--M--\n")
    if fmt == "own-note-under":  # Gmail: our earlier note quoted under the client's message
        own = f"On Fri, Feb 27, 2026 at 4:02 PM {ME} <{MY_ADDR}> wrote:\n" + quoted(MY_NOTE)
        return plain + mine(reply) + "\n" + attribution + quoted(text + [own]) + "\n"
    if fmt == "outlook-own-note":  # Outlook: our earlier note in a header block below the client's message
        return plain + mine(reply) + "\n________________________________\n" + outlook_block(name, addr, subject) + \
            paras(text) + "\n\n________________________________\n" + \
            outlook_block(ME, MY_ADDR, subject, sent="Friday, February 27, 2026 4:02 PM") + paras(MY_NOTE) + "\n"
    if fmt == "greetings":  # a greeting line above the reply and above the client's message, where none is
        greeted = lambda lines, who: lines if lines[0].startswith(("Hi", "Hello", "Dear")) else [f"Hi {who},"] + lines
        return plain + mine(greeted(reply, name.split()[0])) + "\n" + attribution + \
            quoted(greeted(text, ME.split()[0])) + "\n"
    if fmt == "gateway-banner":  # Outlook: the warning our mail gateway put above the client's message
        return plain + mine(reply) + "\n________________________________\n" + outlook_block(name, addr, subject) + \
            paras([BANNER] + text) + "\n"
    if fmt == "first-contact-tip":  # Gmail: the first-contact tip a gateway put above the client's message
        tip = f"You don't often get email from {addr}. Learn why this is important"
        return plain + mine(reply) + "\n" + attribution + quoted([tip] + text) + "\n"
    if fmt == "help-desk-marker":  # Gmail: the client answered a help desk's mail above its marker line
        return plain + mine(reply) + "\n" + attribution + \
            quoted(["##- Please type your reply above this line -##"] + text) + "\n"
    if fmt == "named-signature":  # the client's name, title and company under the text, with no sign-off
        first, last = name.split()[0], name.split()[-1]
        return plain + mine(reply) + "\n" + attribution + \
            quoted(text + [f"{name}\nHead of Operations\n{last} {first[0]}. Holdings Ltd"]) + "\n"
    if fmt == "forwarded-whole":
        return (headers(subject, "multipart/mixed; boundary=M", None, i) +
                f"--M\nContent-Type: text/plain; charset=utf-8\n\n{mine(reply)}\n"
                f"--M\nContent-Type: message/rfc822\n\nFrom: {name} <{addr}>\nTo: {MY_ADDR}\nSubject: {subject}\n"
                f"Date: {WHEN}\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n{paras(text)}\n--M--\n")
    raise ValueError(fmt)


FORMATS = ["gmail", "outlook", "outlook-original", "outlook-german", "outlook-web-html", "gmail-html", "apple",
           "thunderbird", "bottom-post", "quoted-printable-1252", "base64", "crlf", "client-signature",
           "client-disclaimer", "client-device-line", "split-around-attachment", "forwarded-whole",
           "own-note-under", "outlook-own-note", "greetings", "gateway-banner", "first-contact-tip",
           "help-desk-marker", "named-signature"]


def judge(ctl, policy, paths):
    p = subprocess.run([ctl, "check", "--format", "json", "--policy", policy] + paths, capture_output=True,
                       text=True, timeout=600)
    if p.returncode >= 64:
        sys.exit(f"format_invariance: apologyctl failed ({p.returncode}): {p.stderr.strip()[:300]}")
    out = {}
    for line in p.stdout.splitlines():
        o = json.loads(line)
        out[o["file"]] = o
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--policy", required=True)
    a = ap.parse_args()
    pairs = [(r, q) for r in REPLIES for q in COMPLAINTS + ORDINARY]
    with tempfile.TemporaryDirectory() as d:
        paths = {}
        for k, (reply, (name, addr, subject, text)) in enumerate(pairs):
            for fmt in FORMATS:
                path = os.path.join(d, f"{k:02d}-{fmt}.eml")
                with open(path, "w", newline="") as f:
                    f.write(wrap(fmt, reply, name, addr, subject, text, k))
                paths[(k, fmt)] = path
        got = judge(a.ctl, a.policy, list(paths.values()))
    failures, checked, detected = [], 0, 0
    for k in range(len(pairs)):
        base = got[paths[(k, "gmail")]]
        bc = base["complaint"]
        detected += bool(bc["detected"])
        for fmt in FORMATS[1:]:
            o = got[paths[(k, fmt)]]
            c = o["complaint"]
            checked += 1
            why = []
            if o["verdict"] != base["verdict"]:
                why.append(f"verdict {base['verdict']} -> {o['verdict']}")
            rules, base_rules = sorted({f["rule"] for f in o["findings"]}), sorted({f["rule"] for f in base["findings"]})
            if rules != base_rules:
                why.append(f"rules {base_rules} -> {rules}")
            if c["detected"] != bc["detected"]:
                why.append(f"complaint {bc['detected']} -> {c['detected']}")
            if c["sent"] != bc["sent"]:
                why.append(f"sent {bc['sent']} -> {c['sent']}")
            if (c["evidence"] is None) != (bc["evidence"] is None) or \
                    (c["evidence"] is not None and abs(c["evidence"] - bc["evidence"]) > TOLERANCE):
                why.append(f"evidence {bc['evidence']} -> {c['evidence']}")
            if why:
                failures.append(f"pair {k} ({pairs[k][1][2]}), {fmt}: " + "; ".join(why))
    for f in failures:
        print("FAIL " + f)
    # the baseline itself must tell complaints from ordinary mail, or the comparison says little
    want = len(REPLIES) * len(COMPLAINTS)
    if detected < want * 2 // 3:
        failures.append(f"baseline: only {detected} of the threads detected ({want} quote complaints)")
        print("FAIL " + failures[-1])
    print(f"format-invariance: {checked - len(failures)} passed, {len(failures)} failed "
          f"({len(pairs)} threads x {len(FORMATS) - 1} formats against Gmail's; {detected} threads detected)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
