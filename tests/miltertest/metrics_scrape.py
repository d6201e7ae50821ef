#!/usr/bin/env python3
"""metrics_scrape.py MILTER - the Prometheus endpoint moves with the traffic.

Starts the daemon on a unix socket in a private directory with
`metrics: 127.0.0.1:PORT` (a free port), drives it over the milter protocol
without an MTA (raw_protocol.py), and scrapes http://127.0.0.1:PORT/metrics
with urllib before and after: a clean reply and a reply that must be held
move the verdict counters by exactly one each, each rule named in the log
line of the held reply (and of the clean one) by exactly one and no other
rule at all, the engine and end-of-message histograms by two observations;
an open session and a message in flight show in their gauges and leave them
when done; the upkeep's gauges (holds waiting, outbox backlog) follow the
store; a reply the sentence encoder reads is counted as judged aside
(handed by an event loop to a judge thread); a SIGUSR1 counts a policy reload; every metric the shipped Grafana
dashboard and alert rules name is one the endpoint serves.  Every scrape is also checked
against the text format (HELP and TYPE before the samples, cumulative
buckets, +Inf equal to _count).  Then a metrics address other than loopback
is refused at start and by -n, with a message saying why.  Counts only,
never times.  Prints one line per case and "metrics: N passed, M failed".
"""
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from raw_protocol import (Cases, Daemon, envelope, free_port, optneg, queue_id_macro, send_body,  # noqa: E402
                          send_file, send_headers, shipped_models)

MSGS = "tests/e2e/msgs/"
SHIPPED = ("packaging/monitoring/grafana-apology-milter.json", "packaging/monitoring/apology-milter.rules.yml")
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def parse(text):
    """The samples of an exposition as {(name, ((label, value), ...)): float};
    raises ValueError where the text breaks the format."""
    samples, typed, helped = {}, {}, set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helped.add(line.split()[2])
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            if kind not in ("counter", "gauge", "histogram") or name not in helped or name in typed:
                raise ValueError("bad TYPE line: " + line)
            typed[name] = kind
            continue
        m = SAMPLE.match(line)
        if not m:
            raise ValueError("not a sample: %r" % line)
        name, labels, value = m.groups()
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in typed else name
        if family not in typed:
            raise ValueError("sample before its TYPE line: " + line)
        pairs = tuple((k, v) for k, v, _ in LABEL.findall(labels or ""))
        samples[(name, pairs)] = float(value)
    check_histograms(samples, typed)
    return samples


def check_histograms(samples, typed):
    for name in (n for n, kind in typed.items() if kind == "histogram"):
        for key, count in samples.items():
            if key[0] != name + "_count":
                continue
            buckets = [(v, dict(labels)["le"]) for (n, labels), v in samples.items()
                       if n == name + "_bucket" and tuple(p for p in labels if p[0] != "le") == key[1]]
            if not buckets or buckets[-1][1] != "+Inf" or buckets[-1][0] != count:
                raise ValueError("%s%r: +Inf bucket is not _count" % (name, key[1]))
            if any(a[0] > b[0] for a, b in zip(buckets, buckets[1:])):
                raise ValueError("%s%r: buckets not cumulative" % (name, key[1]))
            if (name + "_sum", key[1]) not in samples:
                raise ValueError("%s%r: no _sum" % (name, key[1]))


class Scraper:
    def __init__(self, port):
        self.url = "http://127.0.0.1:%d/metrics" % port
        self.content_type = None

    def __call__(self):
        with urllib.request.urlopen(self.url, timeout=10) as r:
            self.content_type = r.headers.get("Content-Type")
            self.text = r.read().decode("utf-8")
            return parse(self.text)

    def wait(self, name, labels, want, tries=200):
        """The value of one series once it equals WANT (the upkeep sets some
        gauges every second), or the last value seen."""
        value = None
        for _ in range(tries):
            value = self()[(name, labels)]
            if value == want:
                break
            time.sleep(0.05)
        return value


def key(name, **labels):
    return (name, tuple(labels.items()))


def rules_logged(log, message_id):
    """The rule ids of the log line of the reply whose queue id is MESSAGE_ID."""
    for line in log.splitlines():
        if line.find(message_id + ": outgoing verdict=") >= 0:
            rules = line.split(" rules=")[1].split()[0]
            return [] if rules == "-" else rules.split(",")
    return None


def judge(d, path, queue_id):
    """One reply over a session of its own; the reply commands to it."""
    s = d.connect()
    try:
        optneg(s)
        envelope(s)
        s.sendall(queue_id_macro(queue_id))
        return send_file(s, path)
    finally:
        s.close()


def fresh_reply(top):
    """reply-good.eml answering a complaint sent 20 minutes ago (as it stands,
    its complaint is from 2025 and late-reply fires): a clean reply."""
    sent = time.gmtime(time.time() - 20 * 60)
    text = open(MSGS + "reply-good.eml", encoding="utf-8").read()
    text = text.replace("Date: Mon, 03 Mar 2025 10:05:00 +0000",
                        "Date: " + time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()))
    text = text.replace("On Mon, 3 Mar 2025 at 09:12,", time.strftime("On %a, %-d %b %Y at %H:%M,", sent))
    path = os.path.join(top, "reply-clean.eml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def delta(before, after, k):
    return after.get(k, 0) - before.get(k, 0)


def traffic_cases(binary, top, case):
    port = free_port()
    scrape = Scraper(port)
    # the shipped policy and models, copied so that a model can be edited before a reload
    pdir = os.path.join(top, "policy")
    os.makedirs(pdir)
    for path in [os.path.join("policies", "default.yaml")] + shipped_models():
        shutil.copy(path, pdir)
    d = Daemon(binary, top, options=["metrics=127.0.0.1:%d" % port, "spool.retry=1s",
                                     "spool.directory=" + os.path.join(top, "spool"),
                                     "policy=" + os.path.join(pdir, "default.yaml")])
    try:
        before = scrape()
        case("the endpoint answers in the text format, version 0.0.4",
             scrape.content_type == "text/plain; version=0.0.4; charset=utf-8"
             and before[key("apology_messages_total", scope="outgoing", verdict="hold")] == 0,
             scrape.content_type)
        try:
            urllib.request.urlopen(scrape.url.replace("/metrics", "/other"), timeout=10)
            other = 200
        except urllib.error.HTTPError as e:
            other = e.code
        case("any other path is 404", other == 404, other)

        # A session open with a message in flight shows in the gauges.
        s = d.connect()
        optneg(s)
        envelope(s)
        during = scrape()
        text = open(MSGS + "note.eml", "rb").read()  # reply-good.eml twice would be a repeat apology
        send_headers(s, text)
        s.sendall(queue_id_macro("METRICS0"))
        verdict = send_body(s, text)
        s.close()
        case("an open session and its message in flight are counted",
             during[key("apology_sessions")] == before[key("apology_sessions")] + 1
             and during[key("apology_messages_in_flight")] == 1 and verdict[-1:] in ([b"a"], [b"c"]),
             "%r %r" % (during.get(key("apology_sessions")), during.get(key("apology_messages_in_flight"))))
        case("and leave the gauges when done",
             scrape.wait("apology_sessions", (), 0) == 0
             and scrape()[key("apology_messages_in_flight")] == 0, scrape()[key("apology_sessions")])

        middle = scrape()
        good = judge(d, fresh_reply(top), "METRICS1")
        bad = judge(d, MSGS + "reply-bad.eml", "METRICS2")
        after = scrape()
        log = d.log_text()
        case("the clean reply passes and the bad one is held (quarantine action)",
             b"q" not in good and b"q" in bad, "%r %r" % (good, bad))
        for verdict, want in (("pass", 1), ("hold", 1), ("advise", 0), ("unchecked", 0)):
            k = key("apology_messages_total", scope="outgoing", verdict=verdict)
            case("messages{outgoing,%s} grew by %d" % (verdict, want), delta(middle, after, k) == want,
                 delta(middle, after, k))
        fired = (rules_logged(log, "METRICS1") or []) + (rules_logged(log, "METRICS2") or [])
        case("the held reply's log line names blame-third-party", "blame-third-party" in fired, log[-600:])
        moved = {dict(k[1])["rule"]: delta(middle, after, k) for k in after
                 if k[0] == "apology_rule_hits_total" and delta(middle, after, k)}
        want = {rule: fired.count(rule) for rule in fired}
        case("each logged rule's counter grew by its hits, no other rule's", moved == want,
             "counters %r, log %r" % (moved, want))
        case("the hold action was counted once",
             delta(middle, after, key("apology_actions_total", action="hold")) == 1)
        for hist in ("apology_engine_seconds", "apology_end_of_message_seconds"):
            k = key(hist + "_count", scope="outgoing")
            case("%s counted both replies" % hist, delta(middle, after, k) == 2, delta(middle, after, k))
        case("the hold went to the store",
             delta(middle, after, key("apology_records_total", where="store")) >= 1
             and delta(middle, after, key("apology_records_total", where="lost")) == 0)

        # A reply the gate is unsure of: the sentence encoder reads it, so an
        # event loop hands it to a judge (the libmilter build has no loops).
        aside = key("apology_judged_aside_total", why="encoder")
        near = judge(d, MSGS + "reply-near-miss.eml", "METRICS3")
        later = scrape()
        want = 0 if binary.endswith("libmilter") else 1
        case("a reply the encoder reads is judged aside %d time(s), and answered" % want,
             delta(after, later, aside) == want and near[-1:] in ([b"a"], [b"c"])
             and delta(after, later, key("apology_messages_total", scope="outgoing", verdict="pass")) == 1,
             "%r %r" % (delta(after, later, aside), near))

        # The upkeep's gauges follow the store.
        case("holds waiting: the one held reply",
             scrape.wait("apology_holds_waiting", (), 1) == 1, scrape()[key("apology_holds_waiting")])
        db = sqlite3.connect(os.path.join(top, "store.db"))
        db.execute("INSERT INTO outbox (key, channel, event, target, payload, created, next_try)"
                   " VALUES ('metrics-test', 'webhook', 'hold', 'http://127.0.0.1:9/', '{}', 0, 0)")
        db.commit()
        db.close()
        case("outbox backlog: the pending notification",
             scrape.wait("apology_outbox_backlog", (), 1) == 1, scrape()[key("apology_outbox_backlog")])
        case("the store is available", scrape()[key("apology_store_available")] == 1)
        case("nothing is set aside", scrape()[key("apology_spool_aside_lines")] == 0,
             scrape()[key("apology_spool_aside_lines")])
        case("no model of the shipped policy is doubted", scrape()[key("apology_policy_models_doubted")] == 0,
             scrape()[key("apology_policy_models_doubted")])

        served = {name for name, _ in scrape()} | set(re.findall(r"^# TYPE (\S+)", scrape.text, re.M))
        shipped = set()
        for path in SHIPPED:
            shipped |= set(re.findall(r"\bapology_[a-z_]+[a-z]", open(path, encoding="utf-8").read()))
        case("every metric the shipped dashboard and alert rules use is served",
             shipped and shipped <= served, sorted(shipped - served))

        # a model edited by hand (its threshold), then a reload: it loads, with a warning and the gauge
        model = os.path.join(pdir, "default-gate-text.model")
        with open(model) as f:
            text = f.read()
        edited = re.sub(r"^threshold ", "threshold 1", text, count=1, flags=re.M)
        with open(model, "w") as f:
            f.write(edited)
        reloaded = key("apology_policy_reloads_total", result="reloaded")
        d.proc.send_signal(signal.SIGUSR1)  # both front ends reload on USR1
        n = scrape.wait(*reloaded, after[reloaded] + 1)
        case("SIGUSR1 counts one successful reload", n == after[reloaded] + 1, n)
        doubted = scrape.wait("apology_policy_models_doubted", (), 1, tries=600)
        log = d.log_text()
        case("the edited model is counted and named in the log", doubted == 1
             and "models.gate-text: the file is not what its version line" in log
             and "models.gate:" not in log and "models.sentences:" not in log, "%r %s" % (doubted, log[-400:]))
        with open(model, "w") as f:  # put back: the next reload clears the gauge
            f.write(text)
        d.proc.send_signal(signal.SIGUSR1)
        n = scrape.wait(*reloaded, after[reloaded] + 2)
        case("a reload of the model as it was clears the gauge", n == after[reloaded] + 2
             and scrape.wait("apology_policy_models_doubted", (), 0, tries=600) == 0,
             scrape()[key("apology_policy_models_doubted")])
    finally:
        d.stop()
    # a daemon started on an edited model counts it from the start
    with open(model, "w") as f:
        f.write(edited)
    port = free_port()
    scrape = Scraper(port)
    again = os.path.join(top, "again")
    os.makedirs(os.path.join(again, "spool"))
    with open(os.path.join(again, "spool", "store-spool.aside.jsonl"), "w") as f:
        f.write('{"spool":1,"type":"hold","token":"cut sh\n{"spool":99}\n')  # as a replay sets them aside
    d = Daemon(binary, again, options=["metrics=127.0.0.1:%d" % port, "spool.directory=" + os.path.join(again, "spool"),
                                       "policy=" + os.path.join(pdir, "default.yaml")])
    try:
        doubted = scrape.wait("apology_policy_models_doubted", (), 1, tries=600)
        case("a start on an edited model counts it", doubted == 1, doubted)
        aside = scrape.wait("apology_spool_aside_lines", (), 2, tries=600)
        case("lines a replay set aside are counted", aside == 2, aside)
    finally:
        d.stop()


def refused_cases(binary, top, case):
    args = [binary, "-o", "policy=policies/default.yaml", "-o", "store=sqlite:" + os.path.join(top, "r.db"),
            "-o", "spool.directory=" + os.path.join(top, "spool"), "-o", "metrics=192.0.2.1:9257"]
    sock = os.path.join(top, "refused.sock")
    r = subprocess.run(args + ["-f", "-p", "unix:" + sock], capture_output=True, text=True, timeout=60)
    why = "192.0.2.1:9257 is not a loopback address"
    case("a metrics address other than loopback stops the start, saying why",
         r.returncode == 78 and why in r.stderr and "metrics-allow-remote" in r.stderr
         and not os.path.exists(sock), "rc %s: %s" % (r.returncode, r.stderr))
    r = subprocess.run(args + ["-n"], capture_output=True, text=True, timeout=60)
    case("and -n refuses it too", r.returncode == 78 and why in r.stderr, "rc %s: %s" % (r.returncode, r.stderr))
    r = subprocess.run(args + ["-n", "-o", "metrics-allow-remote=yes"], capture_output=True, text=True,
                       timeout=60)
    case("unless metrics-allow-remote is set", r.returncode == 0 and "metrics OK: http://192.0.2.1:9257/"
         in r.stdout, "rc %s: %s %s" % (r.returncode, r.stdout, r.stderr))


def main():
    binary = sys.argv[1]
    top = tempfile.mkdtemp(prefix="apology-metrics.")
    case = Cases("metrics")
    try:
        traffic_cases(binary, top, case)
        refused_cases(binary, top, case)
    finally:
        shutil.rmtree(top, ignore_errors=True)
    return case.done()


if __name__ == "__main__":
    sys.exit(main())
