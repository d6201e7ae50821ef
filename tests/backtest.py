#!/usr/bin/env python3
"""End-to-end test of `apologyctl backtest` against `apologyctl check` run file by file.

    python3 tests/backtest.py --ctl build/apologyctl --policy policies/default.yaml [--messages 3000]

It generates an archive of a few thousand messages from tests/corpus/*.eml, each with a new
Message-ID, Date, sender and client, plus complaint + reply pairs (the complaint made from the
words the reply quotes, sent by the client; the reply linked to it by In-Reply-To/References),
chains of replies from one sender to one client (so the archive's own history makes
repeat-apology fire), a message that is not mail, one over the size limit and one carrying
<script> in its words.  The archive is spread over an mbox (in shuffled order, mboxrd quoting),
a Maildir and a directory of .eml files named on standard input (`-`).

Then it checks:
  * every reply is judged once, and each result equals `check --format json` on the same
    message alone, given what the milter's store would have known: `--inbound COMPLAINT.eml`
    for a reply to an archived complaint, and `--history` built by this script from check's own
    earlier results (apologised, kinds) of the same sender to the same client in date order;
  * the summary's counts equal those of check; the unchecked messages are named;
  * results.jsonl is the same with 1 and 3 workers;
  * index.html is self-contained, its charts have one bar per week / held rule / sender with
    holds or advice, with the right counts, one table row per held or advised reply, and the
    <script> in a message is escaped;
  * --against: with one rule disabled, every message keeps its other findings, and the messages
    whose verdict changes are exactly those where that rule's loss changes it (each had the rule).

Standard library only.  Last line: "backtest: N passed, M failed".
"""
import argparse
import concurrent.futures
import datetime
import email
import email.policy
import html.parser
import json
import os
import random
import re
import shutil
import subprocess
import sys
import pty
import tempfile
import threading

OURS = "brightlane-agency.example"
SENDERS = ["aoife.gallagher", "daniel.kowalski", "lena.sorensen", "marcus.oyelaran", "priya.natarajan",
           "tom.becker"]
HISTORY_WINDOW = 180 * 86400
DROPPED = {"from", "to", "cc", "date", "message-id", "in-reply-to", "references"}
RULE_OFF = "over-apology"

passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}" + (f": {detail}" if detail else ""))


def split_head(raw):
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = raw.find(sep)
        if i >= 0:
            return raw[:i], raw[i + len(sep):], sep[: len(sep) // 2]
    return raw, b"", b"\n"


def rewrite(raw, headers):
    """RAW with From/To/Cc/Date/Message-ID/In-Reply-To/References replaced by HEADERS."""
    head, body, nl = split_head(raw)
    kept, skip = [], False
    for line in head.split(nl):
        if line[:1] in (b" ", b"\t"):
            if not skip:
                kept.append(line)
            continue
        name = line.split(b":", 1)[0].strip().lower().decode("ascii", "replace")
        skip = name in DROPPED
        if not skip:
            kept.append(line)
    new = [f"{k}: {v}".encode() for k, v in headers.items() if v]
    return nl.join(new + kept) + nl + nl + body


def rfc2822(t):
    return email.utils.formatdate(t, usegmt=True)


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def quoted_words(raw):
    """The lines a reply quotes with '>', unquoted: the client's complaint."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    part = msg.get_body(preferencelist=("plain",))
    if part is None:
        return None
    try:
        text = part.get_content()
    except Exception:
        return None
    lines = [re.sub(r"^>\s?", "", l) for l in text.splitlines() if l.startswith(">")]
    words = "\n".join(l for l in lines if not l.startswith(">")).strip()
    return words if len(words) > 80 else None


def complaint_message(words, subject, client, sender, date, mid):
    body = words + "\n"
    return (f"From: Client <{client}>\nTo: <{sender}>\nSubject: {subject}\nDate: {rfc2822(date)}\n"
            f"Message-ID: <{mid}>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
            f"Content-Transfer-Encoding: 8bit\n\n{body}").encode()


class Archive:
    def __init__(self, corpus, n, rng):
        self.rng = rng
        self.msgs = []  # dicts: id, raw, kind, sender, client, date, irt
        self.dates = set()
        emls = sorted(os.path.join(corpus, f) for f in os.listdir(corpus) if f.endswith(".eml"))
        self.corpus = [open(p, "rb").read() for p in emls]
        self.quotes = [(raw, quoted_words(raw)) for raw in self.corpus]
        self.quotes = [(raw, q) for raw, q in self.quotes if q]
        start = int(datetime.datetime(2026, 1, 5, tzinfo=datetime.timezone.utc).timestamp())
        self.start, self.span = start, 20 * 7 * 86400
        n_pairs, n_chains = n // 20, n // 50
        k = 0
        for i in range(n_pairs):  # complaint + reply, on a client of its own
            self.pair(i, k)
            k += 1
        for c in range(n_chains):  # four replies from one sender to one client
            sender, client = self.sender(), f"chain{c}.client.example"
            for _ in range(4):
                self.reply(self.rng.choice(self.corpus), sender, client)
            # and one complaint + reply pair inside the chain
            self.pair(10000 + c, k, sender=sender, client=client)
            k += 1
        while len(self.msgs) < n:
            self.reply(self.rng.choice(self.corpus), self.sender(), f"c{len(self.msgs)}.client.example")

    def sender(self):
        return f"{self.rng.choice(SENDERS)}@{OURS}"

    def when(self, after=None):
        while True:
            t = (after + self.rng.randint(1800, 4 * 86400)) if after else self.start + self.rng.randint(0, self.span)
            if t not in self.dates:
                self.dates.add(t)
                return t

    def add(self, kind, raw, sender, client, date, mid, irt=None):
        self.msgs.append(dict(id=mid, raw=raw, kind=kind, sender=sender, client=client, date=date, irt=irt))

    def reply(self, raw, sender, client, irt=None, date=None):
        mid = f"r{len(self.msgs)}.{self.rng.getrandbits(32):08x}@{OURS}"
        date = date or self.when()
        headers = {"From": f"Someone <{sender}>", "To": f"Client <contact@{client}>", "Date": rfc2822(date),
                   "Message-ID": f"<{mid}>"}
        if irt:
            headers["In-Reply-To"] = f"<{irt}>"
            headers["References"] = f"<older.{irt}> <{irt}>"
        self.add("reply", rewrite(raw, headers), sender, client, date, mid, irt)

    def pair(self, i, k, sender=None, client=None):
        raw, words = self.quotes[k % len(self.quotes)]
        sender = sender or self.sender()
        client = client or f"pair{i}.client.example"
        subject = email.message_from_bytes(raw, policy=email.policy.default).get("subject", "")
        subject = re.sub(r"^(re|aw):\s*", "", str(subject), flags=re.I)
        cdate = self.when()
        cid = f"complaint{i}.{self.rng.getrandbits(32):08x}@{client}"
        self.add("complaint", complaint_message(words, subject, f"contact@{client}", sender, cdate, cid),
                 f"contact@{client}", client, cdate, cid)
        self.reply(raw, sender, client, irt=cid, date=self.when(after=cdate))

    def special(self, tmp):
        """A message that is not mail, one over the size limit, one with <script> in its words."""
        self.add("garbage", b"this is not a mail message at all\n", "", "", None, None)
        big = (f"From: <{SENDERS[0]}@{OURS}>\nTo: <x@big.client.example>\nDate: {rfc2822(self.when())}\n"
               f"Message-ID: <big@{OURS}>\nSubject: big\n\n").encode() + (b"A" * 76 + b"\n") * 150000
        self.add("oversize", big, f"{SENDERS[0]}@{OURS}", "big.client.example", None, f"big@{OURS}")
        cdate = self.when()
        cid = f"scriptcomplaint@script.client.example"
        words = ("Your courier lost our order again, this is the third time and we are furious. "
                 "Nobody called us back and the launch is ruined. This is unacceptable.")
        self.add("complaint", complaint_message(words, "Lost order", "contact@script.client.example",
                                                f"{SENDERS[1]}@{OURS}", cdate, cid),
                 "contact@script.client.example", "script.client.example", cdate, cid)
        text = ("Hi,\n\nThe courier lost it at their depot, <script>alert('x')</script> not us."
                " <img src=x onerror=window.owned=1>\n"
                "You should have ordered earlier.\n\nDaniel\n")
        raw = (f"From: <{SENDERS[1]}@{OURS}>\nTo: <contact@script.client.example>\nSubject: Re: Lost order\n"
               "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n" + text).encode()
        self.reply(raw, f"{SENDERS[1]}@{OURS}", "script.client.example", irt=cid, date=self.when(after=cdate))
        self.script_id = self.msgs[-1]["id"]

    def write(self, tmp):
        """Each message as its own file (for check), and the archive: mbox, Maildir, .eml dir."""
        files = os.path.join(tmp, "files")
        os.makedirs(files)
        for i, m in enumerate(self.msgs):
            m["file"] = os.path.join(files, f"m{i:05d}.eml")
            with open(m["file"], "wb") as f:
                f.write(m["raw"])
        order = list(range(len(self.msgs)))
        self.rng.shuffle(order)
        cut1, cut2 = len(order) * 7 // 10, len(order) * 85 // 100
        mbox = os.path.join(tmp, "sent.mbox")
        with open(mbox, "wb") as f:
            for i in order[:cut1]:
                f.write(b"From sender@example Thu Jan  1 00:00:00 2026\n")
                f.write(re.sub(rb"(?m)^(>*From )", rb">\1", self.msgs[i]["raw"]))
                f.write(b"\n")
        maildir = os.path.join(tmp, "Maildir")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(maildir, sub))
        for n, i in enumerate(order[cut1:cut2]):
            sub = "cur" if n % 2 else "new"
            with open(os.path.join(maildir, sub, f"17000{n:05d}.m{i}:2,S"), "wb") as f:
                f.write(self.msgs[i]["raw"])
        emldir = os.path.join(tmp, "emls")
        os.makedirs(emldir)
        for n, i in enumerate(order[cut2:]):
            with open(os.path.join(emldir, f"{n:05d}.eml"), "wb") as f:
                f.write(self.msgs[i]["raw"])
        return mbox, maildir, emldir


def run(cmd, stdin=None):
    p = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def check_outputs(ctl, policy, jobs):
    """check --format json on batches of files; {file: result}."""
    out = {}

    def one(job):
        files, extra = job
        code, stdout, stderr = run([ctl, "check", "--format", "json", "--policy", policy] + extra + files)
        if code > 3:
            raise RuntimeError(f"check failed ({code}): {stderr}")
        return [json.loads(l) for l in stdout.splitlines()]

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for results in pool.map(one, jobs):
            for r in results:
                out[r["file"]] = r
    return out


def expected_results(ctl, policy, archive, tmp):
    """What check says of each reply, given the complaint and the history the milter's store
    would hold, computed here in date order per (sender, client)."""
    by_id = {m["id"]: m for m in archive.msgs if m["id"]}
    replies = [m for m in archive.msgs if m["kind"] == "reply"]
    chains = {}
    for m in replies:
        chains.setdefault((m["sender"], m["client"]), []).append(m)
    for c in chains.values():
        c.sort(key=lambda m: m["date"])
    results = {}
    # Round by round: the n-th reply of every chain, since its history needs the earlier ones.
    history = {key: [] for key in chains}  # (when, kinds, thread)
    depth = max(len(c) for c in chains.values())
    hist_dir = os.path.join(tmp, "hist")
    os.makedirs(hist_dir)
    for n in range(depth):
        plain, jobs = [], []
        for key, chain in chains.items():
            if n >= len(chain):
                continue
            m = chain[n]
            thread = m["irt"]
            entries = [h for h in reversed(history[key])
                       if h[0] >= m["date"] - HISTORY_WINDOW and not (thread and h[2] == thread)][:200]
            entries = [h for h in entries if h[1]]
            extra = []
            if m["irt"] and m["irt"] in by_id:
                extra += ["--inbound", by_id[m["irt"]]["file"]]
            if entries:
                path = os.path.join(hist_dir, f"{n}-{len(jobs)}.txt")
                with open(path, "w") as f:
                    f.writelines(f"{rfc3339(w)} {','.join(k)}\n" for w, k, _ in entries)
                extra += ["--history", path]
            if extra:
                jobs.append(([m["file"]], extra))
            else:
                plain.append(m["file"])
        jobs += [(plain[i:i + 400], []) for i in range(0, len(plain), 400)]
        got = check_outputs(ctl, policy, jobs)
        for key, chain in chains.items():
            if n >= len(chain):
                continue
            m = chain[n]
            r = got[m["file"]]
            results[m["id"]] = r
            thread = m["irt"]
            if r["apologised"] and not (thread and any(h[2] == thread for h in history[key])):
                history[key].append((m["date"], r["kinds"], thread))
                history[key] = [h for h in history[key] if h[0] >= m["date"] - HISTORY_WINDOW]
    return results


def stored_complaints(ctl, policy, archive, tmp):
    """{complaint id: whether check --inbound stores it}: a plain note answering it is judged as
    the answer to a complaint only when the milter would have stored one."""
    probe = os.path.join(tmp, "probe.eml")
    with open(probe, "w") as f:
        f.write(f"From: <{SENDERS[0]}@{OURS}>\nTo: <x@probe.example>\nSubject: Files\n\nThe files are attached.\n")
    seen, out = {}, {}
    for m in archive.msgs:
        if m["kind"] != "complaint":
            continue
        head, body, _ = split_head(m["raw"])
        subject = re.search(rb"(?m)^Subject: (.*)$", head).group(1)
        if (subject, body) not in seen:
            code, stdout, _ = run([ctl, "check", "--format", "json", "--policy", policy, "--inbound", m["file"], probe])
            seen[(subject, body)] = json.loads(stdout)["complaint"]["detected"]
        out[m["id"]] = seen[(subject, body)]
    return out


def essence(r):
    c = r["complaint"]
    return (r["verdict"], r["score"], c["detected"], c["severity"], c["sent"], r["apologised"],
            tuple(r["kinds"]), tuple(sorted((f["rule"], f["start"], f["end"]) for f in r["findings"])))


def backtest(ctl, args, stdin):
    return run([ctl, "backtest"] + args, stdin=stdin)


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f]


class Charts(html.parser.HTMLParser):
    """The bars of each chart, the table rows, and any element that would run script."""

    def __init__(self):
        super().__init__()
        self.chart, self.bars, self.rows, self.scripts, self.external = None, {}, [], 0, 0
        self.in_row = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg":
            self.chart = a.get("id")
            self.bars[self.chart] = {}
        elif tag == "g" and a.get("class") == "bar":
            self.key = a["data-key"]
            self.bars[self.chart][self.key] = {}
        elif tag == "rect" and self.chart:
            self.bars[self.chart][self.key][a["class"]] = int(a["data-n"])
        elif tag == "tr" and a.get("class") in ("hold", "advise"):
            self.rows.append(a["class"])
        if tag in ("script", "iframe", "object", "embed"):
            self.scripts += 1
        if any(k.startswith("on") for k in a) or any(
                k in ("src", "href") and re.match(r"\s*(https?:|//|javascript:)", v or "") for k, v in a.items()):
            self.external += 1

    def handle_endtag(self, tag):
        if tag == "svg":
            self.chart = None


def week_of(date_s):
    d = datetime.datetime.strptime(date_s[:10], "%Y-%m-%d").date()
    return (d - datetime.timedelta(days=d.weekday())).isoformat()


def test_html(report, results):
    page = open(os.path.join(report, "index.html"), encoding="utf-8").read()
    p = Charts()
    p.feed(page)
    check("html: no script element", p.scripts == 0 and "<script" not in page.lower(), f"{p.scripts} found")
    check("html: nothing external, no event handlers", p.external == 0)
    check("html: the <script> in a message is shown escaped", "&lt;script&gt;alert(" in page)
    check("html: a Content-Security-Policy forbids scripts", "default-src 'none'" in page)
    weeks = {}
    for r in results:
        w = week_of(r["date"]) if r["date"] else "undated"
        weeks.setdefault(w, {}).setdefault(r["verdict"], 0)
        weeks[w][r["verdict"]] += 1
    check("html: one bar per week with its verdicts", p.bars.get("per-week") == weeks,
          f"{len(p.bars.get('per-week', {}))} bars, {len(weeks)} weeks")
    rules = {}
    for r in results:
        if r["verdict"] == "hold":
            for rule in {f["rule"] for f in r["findings"]}:
                rules[rule] = rules.get(rule, 0) + 1
    check("html: one bar per rule that held", p.bars.get("per-rule") == {k: {"hold": v} for k, v in rules.items()},
          f"{p.bars.get('per-rule')} vs {rules}")
    senders = {}
    for r in results:
        if r["verdict"] in ("hold", "advise"):
            senders.setdefault(r["sender"], {}).setdefault(r["verdict"], 0)
            senders[r["sender"]][r["verdict"]] += 1
    check("html: one bar per sender with holds or advice", p.bars.get("per-sender") == senders)
    flagged = [r["verdict"] for r in results if r["verdict"] in ("hold", "advise")]
    check("html: one table row per held or advised reply, in the archive's order", p.rows == flagged,
          f"{len(p.rows)} rows, {len(flagged)} flagged")
    check("html: findings are marked", "<mark class=\"hold\"" in page or "<mark class=\"advise\"" in page)
    return {"per-week": len(weeks), "per-rule": len(rules), "per-sender": len(senders), "rows": len(flagged),
            "script": "<script>alert('x')</script>"}


def browser_test(report, want):
    """tests/web/backtest.test.js in headless chromium (skipped, and said so, without it)."""
    web = os.path.join(os.path.dirname(os.path.abspath(__file__)), "web")
    if not os.access("/usr/bin/chromium", os.X_OK) or not shutil.which("node"):
        print("skip browser test: chromium or node missing (make deps)")
        return
    if not os.path.isdir(os.path.join(web, "node_modules", "playwright-core")):
        code = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=web,
                              stdin=subprocess.DEVNULL, capture_output=True).returncode if shutil.which("npm") else 1
        if code != 0:
            print("skip browser test: npm ci failed in tests/web")
            return
    env = dict(os.environ, REPORT=os.path.join(report, "index.html"), EXPECT=json.dumps(want))
    p = subprocess.run(["node", os.path.join(web, "backtest.test.js")], env=env, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=120)
    lines = p.stdout.splitlines()
    for l in lines:
        check(l[5:] if l.startswith("ok") else l[5:], l.startswith("ok"), p.stderr[-300:])
    check("browser test ran", p.returncode == 0 or any(l.startswith("FAIL") for l in lines), p.stderr[-300:])


def progress_on_terminal(ctl, args, stdin):
    """Run backtest with standard error on a terminal; what it showed there."""
    master, slave = pty.openpty()
    seen = []

    def drain():
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                return
            if not chunk:
                return
            seen.append(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    p = subprocess.run([ctl, "backtest"] + args, input=stdin, stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    reader.join(timeout=10)
    os.close(master)
    return p.returncode, b"".join(seen).decode("utf-8", "replace")


def summary_counts(stdout):
    m = re.search(r"^  all\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$", stdout, re.M)
    return tuple(int(x) for x in m.groups()) if m else None


def variant_policy(policy, tmp):
    """POLICY with RULE_OFF disabled, beside links to its models."""
    d = os.path.join(tmp, "variant")
    os.makedirs(d)
    src = os.path.dirname(os.path.abspath(policy))
    for f in os.listdir(src):
        if f.endswith((".model", ".enc")):
            os.symlink(os.path.join(src, f), os.path.join(d, f))
    text = open(policy, encoding="utf-8").read()
    text, n = re.subn(rf"(?m)^(  {re.escape(RULE_OFF)}:\n)", r"\1    enabled: false\n", text)
    assert n == 1, "the rule to disable is not in the policy"
    path = os.path.join(d, "variant.yaml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ctl", default="build/apologyctl")
    ap.add_argument("--policy", default="policies/default.yaml")
    ap.add_argument("--corpus", default="tests/corpus")
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    rng = random.Random(10)
    tmp = tempfile.mkdtemp(prefix="backtest-test-")
    try:
        archive = Archive(a.corpus, a.messages, rng)
        archive.special(tmp)
        mbox, maildir, emldir = archive.write(tmp)
        sources = [mbox, maildir, "-"]
        stdin = emldir + "\n"
        common = ["--policy", a.policy, "--sender", f"*@{OURS}"]
        r1 = os.path.join(tmp, "r1")
        code, out1, err = backtest(a.ctl, common + ["--jobs", "3", "--report", r1] + sources, stdin)
        check("backtest runs", code == 0, f"exit {code}: {err[-500:]}")
        check("no progress line when standard error is not a terminal", err == "", err[-200:])
        results = read_jsonl(os.path.join(r1, "results.jsonl"))
        replies = [m for m in archive.msgs if m["kind"] in ("reply", "oversize", "garbage")]
        check("every reply judged once, complaints not", len(results) == len(replies),
              f"{len(results)} results, {len(replies)} replies")
        by_mid = {r["message_id"]: r for r in results}
        expect = expected_results(a.ctl, a.policy, archive, tmp)
        same = [mid for mid, r in expect.items() if mid in by_mid and essence(by_mid[mid]) == essence(r)]
        diff = [mid for mid in expect if mid not in same]
        check(f"each result equals check's on the file alone ({len(expect)} replies)", not diff,
              f"{len(diff)} differ, e.g. {diff[:1]}: "
              + (f"{essence(by_mid.get(diff[0], {}))} vs {essence(expect[diff[0]])}" if diff and diff[0] in by_mid
                 else ""))
        pairs = {m["id"]: m["irt"] for m in archive.msgs if m["kind"] == "reply" and m["irt"]}
        wrong = [mid for mid, r in by_mid.items() if r["complaint_ref"] not in (None, pairs.get(mid))]
        check("replies are matched to their archived complaints only", not wrong, f"{wrong[:3]}")
        stored = stored_complaints(a.ctl, a.policy, archive, tmp)
        linked = {mid for mid, irt in pairs.items() if by_mid[mid]["complaint_ref"] == irt}
        should = {mid for mid, irt in pairs.items() if stored[irt]}
        check(f"a reply is linked exactly when check reads its complaint as one ({len(should)} of {len(pairs)})",
              linked == should and len(should) > len(pairs) // 2, f"{len(linked ^ should)} differ")
        repeat = sum(1 for r in results if any(f["rule"] == "repeat-apology" for f in r["findings"]))
        check("the archive's own history makes repeat-apology fire", repeat > 0)
        script = by_mid.get(archive.script_id)
        check("the <script> reply is held or advised", script and script["verdict"] in ("hold", "advise"))

        counts = [0] * 5
        for r in results:
            counts[0] += 1
            counts[1 + ["pass", "advise", "hold", "unchecked"].index(r["verdict"])] += 1
        want = [len(replies)] + [sum(1 for r in expect.values() if r["verdict"] == v)
                                 for v in ("pass", "advise", "hold", "unchecked")]
        want[4] += 2  # not mail, and over the size limit
        check("summary counts equal check's", summary_counts(out1) == tuple(want), f"{summary_counts(out1)} vs {want}")
        big = by_mid.get(f"big@{OURS}")
        check("a message over the size limit is unchecked, not fatal",
              big and big["verdict"] == "unchecked" and "size limit" in big.get("reason", ""))
        check("the summary names the unchecked", "message over the size limit" in out1
              and "not a mail message" in out1 and f"big@{OURS}" in out1)
        check("results name their source and place",
              all(r["source"] in (mbox, maildir, emldir) and ("offset" in r) == (r["source"] == mbox) for r in results))

        r2 = os.path.join(tmp, "r2")
        code, _, err = backtest(a.ctl, common + ["--jobs", "1", "--report", r2] + sources, stdin)
        same_bytes = open(os.path.join(r1, "results.jsonl"), "rb").read() == open(os.path.join(r2, "results.jsonl"),
                                                                               "rb").read()
        check("results do not depend on the number of workers", code == 0 and same_bytes, err[-300:])
        browser_test(r1, test_html(r1, results))
        code, shown = progress_on_terminal(a.ctl, common + ["--jobs", "2"] + sources, stdin)
        final = re.findall(r"judged (\d+)/(\d+)\s+\d+ msg/s\s+ETA \d+:\d\d", shown)
        check("on a terminal, a progress line: done/total, rate, ETA",
              code == 0 and final and final[-1] == (str(len(results)), str(len(results))), shown[-300:])

        variant = variant_policy(a.policy, tmp)
        r3 = os.path.join(tmp, "r3")
        code, out3, err = backtest(a.ctl, ["--policy", variant, "--against", a.policy, "--sender", f"*@{OURS}",
                                           "--jobs", "2", "--report", r3] + sources, stdin)
        check("backtest --against runs", code == 0, err[-300:])
        diffed = read_jsonl(os.path.join(r3, "results.jsonl"))
        check("--against: the old policy's verdicts are the plain run's",
              all(d["against"]["verdict"] == by_mid[d["message_id"]]["verdict"] for d in diffed))
        others = [d for d in diffed
                  if {f["rule"] for f in d["findings"]} != set(d["against"]["rules"]) - {RULE_OFF}]
        check(f"--against: without {RULE_OFF} every other finding stays", not others, f"{len(others)} differ")
        changed = [d for d in diffed if d["verdict"] != d["against"]["verdict"]]
        check("--against: some verdicts change", len(changed) > 0)
        check(f"--against: each changed message had {RULE_OFF}",
              all(RULE_OFF in d["against"]["rules"] for d in changed))
        m = re.search(r"(\d+) of (\d+) messages change verdict", out3)
        check("--against: the summary counts the changes", m and int(m.group(1)) == len(changed),
              m.group(0) if m else out3[-400:])
        lost = re.search(rf"^  {re.escape(RULE_OFF)}\s+(\d+)\s+(\d+)$", out3, re.M)
        check("--against: by rule, the disabled rule is lost on every changed message",
              lost and int(lost.group(1)) == 0 and int(lost.group(2)) == len(changed))
        check("--against: examples with their excerpts", f"-{RULE_OFF}" in out3)
    finally:
        if a.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"backtest: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
