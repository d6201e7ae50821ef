#!/usr/bin/env python3
"""locked_store.py MILTER - another process holds a lock on the store.

Issue 12, item 3: with another process holding BEGIN EXCLUSIVE on the store,
every store write used to wait out the busy timeout under the store's one
mutex, so the event loops crawled, Postfix timed the milter out and passed
replies unjudged, and held mail stayed "held but not recorded".

Here a separate process (python's sqlite3) holds BEGIN EXCLUSIVE on the
daemon's store while 40 concurrent sessions send replies and inbound
complaints over the milter protocol (no MTA).  The lock is held until the
test lets it go, or for at most HOLD seconds: four times what the same batch
took with nobody holding the lock, and at least 15 s.  Checked by the order
of events, not by how long anything took:

  - every session has its verdict while the lock is still held, and the
    store has none of their records then (read beside the lock: WAL), so no
    verdict waited for the database;
  - each reply that should be held got the quarantine action;
  - the daemon's reconcile (a stand-in postqueue -j lists the hold queue)
    says "held but not recorded" for them while their records wait in the
    spool, and "held mail recorded again" once they are in the store;
  - once the lock is gone, every record is in the store exactly once (rows
    counted: holds, apologies, complaints) and the spool is empty;
  - held mail with no record anywhere is an alert naming its queue id;
  - SIGTERM while the store is locked: the daemon exits at once, the
    records of the last messages wait in the spool (none lost), and the next
    start writes them to the store, once each.

Prints one line per case and "locked-store: N passed, M failed"; exits
non-zero on a failure.
"""
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from raw_protocol import (Cases, optneg, packet, read_packet, replies_to_verdict,  # noqa: E402
                          send_headers, body_packets)

MSGS = "tests/e2e/msgs/"
SESSIONS = 40  # as in the reproduction
BAD, GOOD, COMPLAINTS = 16, 16, 8  # of them: replies to hold, replies to pass, inbound complaints

# The locking process: BEGIN EXCLUSIVE, "locked", then hold the lock until a
# line on standard input or HOLD seconds, "released" (with why) and exit.
LOCKER = r"""
import select, sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=60, isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
told = select.select([sys.stdin], [], [], float(sys.argv[2]))[0]
db.execute("ROLLBACK")
print("released " + ("when told" if told else "at the end of its time"), flush=True)
"""

# A stand-in for postqueue -j: the hold queue the test writes beside it.
POSTQUEUE = """#!/bin/sh
cat "%s" 2>/dev/null
exit 0
"""


def message(name, replace):
    text = open(MSGS + name, "rb").read()
    for old, new in replace:
        text = text.replace(old, new)
    return text


def bad_reply(tag):
    return message("reply-bad.eml", [(b"reply-bad-4471@", b"reply-bad-%s@" % tag),
                                     (b"complaint-4471@", b"complaint-%s@" % tag)])


def good_reply(tag):
    return message("reply-good.eml", [(b"reply-good-4471@", b"reply-good-%s@" % tag),
                                      (b"complaint-4471@", b"complaint-%s@" % tag)])


def complaint(tag):
    return message("complaint.eml", [(b"complaint-4471@", b"complaint-in-%s@" % tag)])


class Daemon:
    """The daemon on DIR/milter.sock, its store in DIR/store.db, its spool in
    DIR/spool, the hold queue it reconciles with in DIR/queue.jsonl; OPTIONS
    ("key=value") after those."""

    def __init__(self, binary, directory, options=()):
        self.dir = directory
        self.sock = os.path.join(directory, "milter.sock")
        self.store = os.path.join(directory, "store.db")
        self.spool = os.path.join(directory, "spool", "store-spool.jsonl")
        self.queue = os.path.join(directory, "queue.jsonl")
        postqueue = os.path.join(directory, "postqueue")
        with open(postqueue, "w") as f:
            f.write(POSTQUEUE % self.queue)
        os.chmod(postqueue, 0o755)
        self.log = open(os.path.join(directory, "milter.log"), "a+")
        self.start_at = self.log.seek(0, os.SEEK_END)
        self.proc = subprocess.Popen(
            [binary, "-f", "-p", "unix:" + self.sock,
             "-o", "policy=policies/default.yaml",
             "-o", "store=sqlite:" + self.store,
             "-o", "pid-file=" + os.path.join(directory, "milter.pid"),
             "-o", "spool.directory=" + os.path.join(directory, "spool"),
             "-o", "spool.retry=1s",
             "-o", "reconcile.interval=1s",
             "-o", "reconcile.postqueue=" + postqueue,
             "-o", "scope.internal-domains=acme.example"] + [a for o in options for a in ("-o", o)],
            stdout=self.log, stderr=subprocess.STDOUT)

    def text(self):
        self.log.flush()
        self.log.seek(self.start_at)
        return self.log.read()

    def wait_log(self, pattern, timeout, after=0):
        """The first match of the regular expression PATTERN in the log after
        offset AFTER, waiting up to TIMEOUT seconds for it; None if none."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self.text()[after:], re.M)
            if m or time.monotonic() > deadline or self.proc.poll() is not None:
                return m
            time.sleep(0.1)

    def hold_queue(self, ids):
        """What the stand-in postqueue -j lists: IDS in the hold queue."""
        with open(self.queue + ".tmp", "w") as f:
            for qid in ids:
                f.write(json.dumps({"queue_name": "hold", "queue_id": qid, "arrival_time": 0}) + "\n")
        os.rename(self.queue + ".tmp", self.queue)

    def spooled(self):
        if not os.path.exists(self.spool):
            return []
        with open(self.spool) as f:
            return [json.loads(line) for line in f if line.strip()]

    def stop(self, sig=signal.SIGTERM, timeout=120):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None


def counts(store, tag):
    """Rows of the store that sessions tagged TAG made: holds, apologies,
    complaints (read without waiting for any lock: WAL)."""
    db = sqlite3.connect("file:%s?mode=ro" % store, uri=True, timeout=0)
    try:
        like = "%%-%s-%%" % tag
        return (db.execute("SELECT count(*) FROM quarantine WHERE queue_id LIKE ?", (tag.upper() + "%",)).fetchone()[0],
                db.execute("SELECT count(*) FROM apologies WHERE complaint_ref LIKE ?", (like,)).fetchone()[0],
                db.execute("SELECT count(*) FROM complaints WHERE message_id LIKE ?",
                           ("complaint-in-" + tag + "-%",)).fetchone()[0])
    finally:
        db.close()


def session(path, kind, tag, qid, result):
    """One SMTP session: a reply from sam to a client (KIND "bad" or "good"),
    or an inbound complaint from the client; RESULT gets the reply commands."""
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        try:
            optneg(s)
            inbound = kind == "complaint"
            s.sendall(packet(b"D", b"C{daemon_name}\0" + (b"mx" if inbound else b"ORIGINATING") + b"\0"))
            s.sendall(packet(b"C", b"mx.client.example\0" + b"4" + b"\x0f\xa0" + b"192.0.2.7\0"))
            sender, rcpt = (b"dana@client.example", b"sam@acme.example") if inbound else \
                (b"sam@acme.example", b"dana@client.example")
            s.sendall(packet(b"M", b"<" + sender + b">\0"))
            mail = read_packet(s, 300)
            s.sendall(packet(b"R", b"<" + rcpt + b">\0") + packet(b"T"))
            data = read_packet(s, 300)
            if mail != (b"c", b"") or data != (b"c", b""):
                result["replies"] = ["MAIL %r DATA %r" % (mail, data)]
                return
            text = {"bad": bad_reply, "good": good_reply, "complaint": complaint}[kind](tag.encode())
            send_headers(s, text)
            s.sendall(packet(b"D", b"Ei\0" + qid.encode() + b"\0") + body_packets(text))
            result["replies"] = replies_to_verdict(s, 300)
        finally:
            s.close()
    except OSError as e:
        result["replies"] = ["lost: %r" % e]
    result["at"] = time.monotonic()


def batch(d, prefix):
    """SESSIONS sessions at once: BAD replies to hold, GOOD replies to pass,
    COMPLAINTS inbound complaints, each with queue id PREFIX + number.
    Returns the results and the queue ids of the replies to hold."""
    kinds = ["bad"] * BAD + ["good"] * GOOD + ["complaint"] * COMPLAINTS
    results = [{"kind": k, "qid": "%s%04d" % (prefix.upper(), i), "replies": None}
               for i, k in enumerate(kinds)]
    threads = [threading.Thread(target=session,
                                args=(d.sock, r["kind"], "%s-%d" % (prefix, i), r["qid"], r))
               for i, r in enumerate(results)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, [r["qid"] for r in results if r["kind"] == "bad"]


def verdicts_ok(results):
    """Why the verdicts are not as they should be ("" when they are): each
    session answered, each reply to hold with the quarantine action."""
    wrong = []
    for r in results:
        rep = r["replies"] or []
        answered = rep[-1:] in ([b"a"], [b"c"])
        held = b"q" in rep
        if not answered or held != (r["kind"] == "bad"):
            wrong.append("%s (%s): %r" % (r["qid"], r["kind"], rep))
    return "; ".join(wrong)


class Locker:
    def __init__(self, store, hold):
        self.proc = subprocess.Popen([sys.executable, "-c", LOCKER, store, "%.0f" % hold],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.locked = self.proc.stdout.readline().strip() == "locked"

    def holding(self):
        return self.proc.poll() is None

    def release(self):
        if self.proc.poll() is None:
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
        out = self.proc.stdout.read()
        self.proc.wait()
        return out.strip()


def no_reports(case, top):
    """The case that the daemons' log in TOP has no sanitizer or valgrind report."""
    log = open(os.path.join(top, "milter.log")).read()
    reports = "Sanitizer" in log or "runtime error" in log or re.search(r"^==\d+== ", log, re.M)
    case("no sanitizer or valgrind report", not reports, log[-800:])


def clean_up(d, lock, top):
    """What a test leaves: the lock LOCK let go, the daemon D killed, TOP
    removed (KEEP=1: left for a look at the logs and the store)."""
    if lock is not None and lock.holding():
        lock.release()
    if d is not None and d.proc.poll() is None:
        d.proc.kill()
        d.proc.wait()
    if os.environ.get("KEEP"):
        print("kept " + top)
    else:
        shutil.rmtree(top, ignore_errors=True)


def main():
    binary = sys.argv[1]
    case = Cases("locked-store")
    top = tempfile.mkdtemp(prefix="apology-locked.")
    d = None
    lock = None
    try:
        d = Daemon(binary, top)
        d.hold_queue([])
        up = d.wait_log(r"listening on", 60)
        case("the daemon starts", up, d.text())
        start = d.wait_log(r"reconcile: 0 message\(s\) in the hold queue", 60)
        case("reconcile runs at start", start, d.text()[-800:])

        # With nobody holding the lock: the same batch, for the time it takes.
        began = time.monotonic()
        results, warm_held = batch(d, "wu")
        took = time.monotonic() - began
        why = verdicts_ok(results)
        case("without a lock: %d sessions judged, %d held" % (SESSIONS, BAD), not why, why)
        deadline = time.monotonic() + 60
        while counts(d.store, "wu") != (BAD, GOOD, COMPLAINTS) and time.monotonic() < deadline:
            time.sleep(0.1)
        case("without a lock: every record in the store", counts(d.store, "wu") == (BAD, GOOD, COMPLAINTS),
             "holds, apologies, complaints: %r" % (counts(d.store, "wu"),))

        # Another process holds BEGIN EXCLUSIVE while the sessions come.
        hold = max(15.0, 4 * took)
        lock = Locker(d.store, hold)
        case("another process holds BEGIN EXCLUSIVE on the store (up to %.0f s)" % hold, lock.locked, "")
        mark = len(d.text())
        results, held_ids = batch(d, "lk")
        still = lock.holding()
        stored_meanwhile = counts(d.store, "lk")
        why = verdicts_ok(results)
        case("every session has its verdict while the lock is still held", still and all(
            r["replies"] for r in results), "the lock went first: %s" % (lock.release() if not still else ""))
        case("the replies to hold got the quarantine action, the others passed", not why, why)
        case("and not one of their records was in the store then (no verdict waited for it)",
             stored_meanwhile == (0, 0, 0), "holds, apologies, complaints: %r" % (stored_meanwhile,))
        went = d.wait_log(r"database is locked; this record and \d+ queued behind it went to the spool", 30, mark)
        case("the store writer says the locked store's records went to the spool", went, d.text()[mark:][-800:])

        d.hold_queue(warm_held + held_ids)
        alert = d.wait_log(r"held but not recorded: %d of %d message\(s\) in the hold queue have no record in the "
                           r"store: %d waiting in the spool .*, 0 with no record anywhere" %
                           (BAD, 2 * BAD, BAD), 60, mark) if lock.holding() else None
        case("reconcile: an alert for the held mail whose records wait in the spool", alert,
             d.text()[mark:][-1200:])
        spooled = [r for r in d.spooled() if r.get("queue_id", "").startswith("LK")]
        case("their records wait in the spool meanwhile", len(spooled) == BAD,
             "%d hold records spooled" % len(spooled))

        released = lock.release()
        case("the lock is let go when the test says so", released == "released when told", released)
        deadline = time.monotonic() + 120
        while counts(d.store, "lk") != (BAD, GOOD, COMPLAINTS) and time.monotonic() < deadline:
            time.sleep(0.1)
        got = counts(d.store, "lk")
        case("once it is gone every record is in the store (%d holds, %d apologies, %d complaints)"
             % (BAD, GOOD, COMPLAINTS), got == (BAD, GOOD, COMPLAINTS), "got %r" % (got,))
        again = d.wait_log(r"store takes records again: \d+ spooled record", 30, mark)
        case("the store writer says so, and the spool is empty", again and d.spooled() == [],
             "%d spooled: %s" % (len(d.spooled()), d.text()[mark:][-600:]))
        healed = d.wait_log(r"held mail recorded again: %d message\(s\) in the hold queue, %d recorded"
                            % (2 * BAD, 2 * BAD), 30, mark)
        case("reconcile: held mail recorded again", healed, d.text()[mark:][-800:])
        time.sleep(1.5)  # a replay more, had it a record twice
        case("each record once: no duplicates",
             counts(d.store, "lk") == (BAD, GOOD, COMPLAINTS) and counts(d.store, "wu") == (BAD, GOOD, COMPLAINTS),
             "%r %r" % (counts(d.store, "lk"), counts(d.store, "wu")))

        mark = len(d.text())
        d.hold_queue(warm_held + held_ids + ["LOST0001"])
        lost = d.wait_log(r"held but not recorded: 1 of %d .* 1 with no record anywhere \(queue ids: LOST0001;"
                          % (2 * BAD + 1), 30, mark)
        case("held mail with no record anywhere: an alert naming its queue id", lost, d.text()[mark:][-800:])
        d.hold_queue(warm_held + held_ids)

        # SIGTERM while the store is locked: the last records go to the spool.
        lock = Locker(d.store, 600)
        results, _ = batch(d, "sd")
        why = verdicts_ok(results)
        case("locked again: another batch judged", not why, why)
        mark = len(d.text())
        rc = d.stop()
        case("SIGTERM while the store is locked: exit 0 with the lock still held",
             rc == 0 and lock.holding(), "rc %s" % rc)
        t = d.text()
        case("no record lost at the stop", re.search(r"stopped; records: \d+ written .*, 0 lost", t),
             t[mark:][-600:])
        spooled = d.spooled()
        case("the records of the last messages wait in the spool",
             len([r for r in spooled if "SD" in r.get("queue_id", "") or "-sd-" in json.dumps(r)])
             == SESSIONS, "%d in the spool" % len(spooled))
        lock.release()
        d = Daemon(binary, top)
        d.hold_queue([])
        up = d.wait_log(r"listening on", 60)
        deadline = time.monotonic() + 60
        while counts(d.store, "sd") != (BAD, GOOD, COMPLAINTS) and time.monotonic() < deadline:
            time.sleep(0.1)
        case("the next start writes them to the store, once each",
             up and counts(d.store, "sd") == (BAD, GOOD, COMPLAINTS) and d.spooled() == [],
             "%r, %d spooled" % (counts(d.store, "sd"), len(d.spooled())))
        rc = d.stop()
        case("SIGTERM: exit 0", rc == 0, "rc %s" % rc)
        no_reports(case, top)
    finally:
        clean_up(d, lock, top)
    return case.done()


if __name__ == "__main__":
    sys.exit(main())
