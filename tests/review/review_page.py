#!/usr/bin/env python3
"""tests/review/review_page.py BUILD - the review page's queue and reply page in a browser.

No Postfix: starts BUILD/apology-review on a free loopback port with a store of its
own (web_limits.Server), writes into that SQLite file what the daemon would have
recorded, and runs tests/web/review_page.test.js in headless chromium against it:

  - a held reply (tests/e2e/msgs/reply-bad.eml answering complaint.eml, whose text
    carries <script> and an onerror attribute), its findings as `apologyctl check`
    renders the decision, its new text and the complaint it quotes as the daemon
    records them (store schema 12: the page reads them, with no policy and no core,
    and never splits the copy), its stored complaint (serious), and apologies of the same
    sender to the same client 10 days before it, at the moment it was held (its own)
    and an hour after it; a held reply of the same sender to that client two days
    before it and one a day after, held before the store kept the complaint (its copy
    quotes the complaint: the page says "not recorded" and does not split it);
  - 130 held replies of other senders, scores and ages, for the queue's order and pages;
  - four replies reviewers decided about, with their labels (one excerpt carries the
    <script>), for the statistics page's precision table, three monitor records, and
    the daemon's decisions of three advised replies and a held one.

The browser checks what the expected rows and dates are, computed here from what was
written.  Prints "ok   web: NAME" or "FAIL web: NAME: why" per test; exits 1 when any
failed.  Skipped, and said so, without chromium, node or the npm package.
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import web_limits  # noqa: E402  (its Server: apology-review with a store of its own)

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
CTL = os.path.join(BUILD, "apologyctl")
MSGS = os.path.join(ROOT, "tests", "e2e", "msgs")
WEB = os.path.join(ROOT, "tests", "web")
SCRIPT = '<script>alert("owned")</script> <img src=x onerror=window.owned=1>'
WHOLE_REPLY = {"apology-missing", "no-ownership", "no-remedy", "no-prevention", "no-call-offer"}
DAY = 86400


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def browser_ready():
    if not os.access("/usr/bin/chromium", os.X_OK) or not shutil.which("node"):
        return "chromium or node missing (make deps)"
    if not os.path.isdir(os.path.join(WEB, "node_modules", "playwright-core")):
        ok = shutil.which("npm") and subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=WEB, stdin=subprocess.DEVNULL,
            capture_output=True).returncode == 0
        if not ok:
            return "npm ci failed in tests/web"
    return None


def the_reply(tmp):
    """The held reply's bytes (its quoted complaint carries SCRIPT) and its decision JSON."""
    with open(os.path.join(MSGS, "reply-bad.eml")) as f:
        reply = f.read().replace("> If it happens again", "> " + SCRIPT + "\n> If it happens again")
    path = os.path.join(tmp, "reply.eml")
    with open(path, "w") as f:
        f.write(reply)
    out = subprocess.run([CTL, "check", "--format", "json", "--policy", os.path.join(ROOT, "policies/default.yaml"),
                          "--inbound", os.path.join(MSGS, "complaint.eml"), path],
                         capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if out.returncode != 2:
        raise SystemExit("FAIL web: the reply is not held by `apologyctl check`: " + out.stdout + out.stderr)
    return reply.encode(), json.loads(out.stdout)


def split(raw, decision):
    """The new text and the quoted history of the held reply, as the daemon records them (the core's
    split: the text before the attribution line; the attribution and the quoted lines without their
    quote markers).  Checked against the decision: each finding about words covers its excerpt."""
    body = raw.decode().split("\n\n", 1)[1]
    at = body.index("On Mon, 3 Mar 2025")
    new, quoted = body[:at].rstrip("\n") + "\n", body[at:]
    quoted = "\n".join(line[2:] if line.startswith("> ") else line.lstrip(">") for line in quoted.split("\n"))
    for f in decision["findings"]:
        if f["rule"] not in WHOLE_REPLY and " ".join(new[f["start"]:f["end"]].split()) != f["excerpt"]:
            raise SystemExit("FAIL web: the new text does not match %s's span: %r" % (f["rule"], f))
    return new, quoted


def hold(db, token, sender, score, created, findings="{}", raw=None, ref=None, rcpt="dana@client.example",
         new_text=None, complaint=None):
    """A held record as the daemon writes it: its findings also as rows of quarantine_findings, its new
    text and the complaint it answers (COMPLAINT: decision's complaint and the quoted text; None leaves
    them out, as in records held before the store kept them)."""
    c = complaint or {}
    cur = db.execute("INSERT INTO quarantine (queue_id, message_id, token, sender, recipients, verdict, score,"
                     " findings, complaint_ref, raw, created, state, new_text, complaint_detected,"
                     " complaint_severity, complaint_clear, complaint_sent, complaint_text)"
                     " VALUES ('ABC123', ?, ?, ?, ?, 'hold', ?, ?, ?, ?, ?, 'held', ?, ?, ?, ?, ?, ?)",
                     (token + "@acme.example", token, sender, rcpt, score, findings, ref, raw, created, new_text,
                      c.get("detected"), c.get("severity"), c.get("clear"), c.get("sent"), c.get("text")))
    db.execute("INSERT INTO quarantine_findings SELECT q.id, f.key, json_extract(f.value, '$.rule'),"
               " json_extract(f.value, '$.severity'), json_extract(f.value, '$.start'),"
               " json_extract(f.value, '$.end'), json_extract(f.value, '$.line'), json_extract(f.value, '$.excerpt'),"
               " json_extract(f.value, '$.words'), json_extract(f.value, '$.principle'),"
               " json_extract(f.value, '$.advice') FROM quarantine q, json_each(q.findings, '$.findings') f"
               " WHERE q.id = ?", (cur.lastrowid,))
    return cur.lastrowid


def labels(db, held):
    """Replies reviewers decided about, with the labels the review tools record
    (holds/labeling.h), and replies monitor mode would have held; return the
    precision table and monitor chart the statistics page must show."""
    decided = []
    for i, state in enumerate(("released", "released", "returned", "deleted")):
        cur = db.execute("INSERT INTO quarantine (queue_id, message_id, token, sender, recipients, verdict, score,"
                         " findings, created, state) VALUES ('DEC1', ?, ?, 'rev@acme.example', 'd@client.example',"
                         " 'hold', 5, '{}', ?, ?)", ("dec%d@acme.example" % i, "dec%d" % i, held - 5 * DAY, state))
        decided.append(cur.lastrowid)
    rows = [  # record, rule, verdict, action, excerpt, decided this long before the hold
        (0, "blame-third-party", "wrong", "release", SCRIPT, 3600),
        (0, "excuse", "right", "release", "beyond our control", 3600),
        (1, "blame-third-party", "wrong", "release", "our supplier", 7200),
        (1, "excuse", "wrong", "release", "the holidays", 7200),
        (2, "blame-third-party", "right", "return", "the courier", 1800),
        (2, "excuse", "right", "return", "the weather", 1800),
        (3, "no-remedy", "right", "discard", "", 900),
    ]
    for rec, rule, verdict, action, excerpt, ago in rows:
        db.execute("INSERT INTO review_labels (quarantine_id, rule, verdict, action, reviewer, excerpt, at)"
                   " VALUES (?, ?, ?, ?, 'alice', ?, ?)", (decided[rec], rule, verdict, action, excerpt, held - ago))
    for i, sender in enumerate(("mon@acme.example", "mon@acme.example", "mo2@acme.example")):
        db.execute("INSERT INTO quarantine (queue_id, message_id, token, sender, recipients, verdict, score,"
                   " findings, created, state) VALUES ('', ?, ?, ?, 'd@client.example', 'hold', 5, '{}', ?,"
                   " 'monitor')", ("mon%d@acme.example" % i, "mon%d" % i, sender, held - DAY))
    for i, (sender, rules) in enumerate((("sam@acme.example", "no-call-offer,late-reply"),
                                         ("Sam@acme.example", "no-call-offer"), ("kim@acme.example", "excuse"))):
        db.execute("INSERT INTO decisions (at, sender, client_domain, verdict, rules)"
                   " VALUES (?, ?, 'client.example', 'advise', ?)", (held - i * 60, sender, rules))
    db.execute("INSERT INTO decisions (at, sender, client_domain, verdict, rules)"
               " VALUES (?, 'lee@acme.example', 'client.example', 'hold', 'blame-third-party')", (held,))
    return {
        "advisedRules": {"no-call-offer": "2", "late-reply": "1", "excuse": "1"},
        "advisedSenders": 2,
        "precision": {"blame-third-party": ["1", "2", "0.33"], "excuse": ["2", "1", "0.67"],
                      "no-remedy": ["1", "0", "1.00"]},
        "mostWrong": ["blame-third-party", "excuse"],
        "examples": {"blame-third-party": SCRIPT, "excuse": "the holidays"},
        "monitorSenders": 2,
    }


def fill(store, now):
    """Write the records; return what the browser must see."""
    tmp = os.path.dirname(store)
    raw, decision = the_reply(tmp)
    held = now - 3 * 3600
    db = sqlite3.connect(store)
    with db:
        db.execute("INSERT INTO complaints (message_id, client_addr, client_domain, received, serious, kinds)"
                   " VALUES ('complaint-4471@client.example', '192.0.2.7', 'client.example', ?, 1, 1)",
                   (held - 3420,))
        for at, ref in ((held - 10 * DAY, "old@client.example"), (held, "complaint-4471@client.example"),
                        (held + 3600, "new@client.example")):
            db.execute("INSERT INTO apologies (sender, client_domain, at, kinds, complaint_ref)"
                       " VALUES ('sam@acme.example', 'client.example', ?, 1, ?)", (at, ref))
        before = hold(db, "before", "sam@acme.example", 7, held - 2 * DAY)
        new_text, quoted = split(raw, decision)
        c = decision["complaint"]
        complaint = {"detected": 1, "severity": c["severity"], "clear": 1,
                     "sent": 1740993120 if c["sent"] == "2025-03-03T09:12:00Z" else None, "text": quoted}
        reply = hold(db, "reply", "sam@acme.example", decision["score"], held, json.dumps(decision), raw,
                     "complaint-4471@client.example", new_text=new_text, complaint=complaint)
        after = hold(db, "after", "sam@acme.example", 5, held + DAY, raw=raw)
        # a passed near miss the daemon kept for review (sample.near-misses): judged, not held
        near = db.execute("INSERT INTO quarantine (queue_id, message_id, token, sender, recipients, verdict,"
                          " score, findings, created, state, new_text, complaint_detected, complaint_clear,"
                          " complaint_text) VALUES ('DEF456', 'near@acme.example', 'near', 'near@acme.example',"
                          " 'dana@client.example', 'pass', 0, '{\"findings\":[]}', ?, 'sampled',"
                          " 'Got it, I will check with finance.', 0, 0,"
                          " 'The February invoice came in higher than the quote we agreed.')", (held,)).lastrowid
        senders = ["kim@acme.example", "bea@acme.example", "lee@acme.example", "ann@acme.example"]
        for i in range(130):
            hold(db, "q%d" % i, senders[i % 4], 1 + (i * 7) % 13, held - 20 * DAY + i * 600,
                 rcpt="x%d@other%d.example" % (i, i % 5))
        precision = labels(db, held)
        rows = db.execute("SELECT id, score, lower(sender), created FROM quarantine WHERE state = 'held'").fetchall()
    db.close()
    oldest = [r[0] for r in sorted(rows, key=lambda r: (r[3], r[0]))]
    by_score = [r[0] for r in sorted(rows, key=lambda r: (-r[1], r[3], r[0]))]
    by_sender = [r[0] for r in sorted(rows, key=lambda r: (r[2], r[3], r[0]))]
    findings = [f["rule"] for f in decision["findings"]]
    return {
        "reply": reply, "before": before, "after": after, "near": near,
        "earlier": rfc3339(held - 10 * DAY), "own": rfc3339(held), "later": rfc3339(held + 3600),
        "complaintDate": rfc3339(held - 3420), "severity": decision["complaint"]["severity"],
        "script": SCRIPT,
        "whole": sorted(set(findings) & WHOLE_REPLY), "pinned": sorted(set(findings) - WHOLE_REPLY),
        "oldest": oldest, "score": by_score, "sender": by_sender, "pageSize": 50,
        "findings": len(decision["findings"]), "rules": sorted(set(findings)), **precision,
    }


def main():
    why = browser_ready()
    if why:
        print("skip web: review page in a browser: " + why)
        return 0
    web_limits.REVIEW = os.path.join(BUILD, "apology-review")
    srv = web_limits.Server()
    try:
        want = fill(srv.store[len("sqlite:"):], int(time.time()))
        env = dict(os.environ, REVIEW_URL="http://127.0.0.1:%d" % srv.port, REVIEW_PASS=web_limits.PASSWORD,
                   EXPECT=json.dumps(want))
        p = subprocess.run(["node", os.path.join(WEB, "review_page.test.js")], env=env, capture_output=True,
                           text=True, stdin=subprocess.DEVNULL, timeout=300)
        sys.stdout.write(p.stdout)
        if p.returncode != 0 and "FAIL" not in p.stdout:
            print("FAIL web: the browser test did not run: " + p.stderr[-400:])
        return p.returncode
    finally:
        srv.stop()


if __name__ == "__main__":
    sys.exit(main())
