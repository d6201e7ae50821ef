"""milterlib.py - what the Python tests of the daemon with its store share.

A daemon of the test's own (PrivateDaemon: a private directory with its
socket, SQLite store, spool, pid file and log; Daemon: with a stand-in
postqueue -j too), the milter
protocol sessions they send (session, batch: over raw_protocol.py's codec),
another process that holds the store locked (Locker), the store read beside
the daemon (store_rows), and the frame of a test (private_run): a new
directory, the cases, the check that the log has no sanitizer or valgrind
report, and everything the test started stopped and removed at the end.
Used by locked_store.py, kill9_holds.py and no_store.py.
"""
import contextlib
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
from raw_protocol import (Cases, body_packets, envelope, optneg, queue_id_macro,  # noqa: E402
                          replies_to_verdict, sanitizer_reports, send_headers)

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


# The daemons and lockers a test started, for clean_up().
_daemons = []
_lockers = []


def started(proc):
    """PROC, a daemon's process, stopped by clean_up() if still running."""
    _daemons.append(proc)
    return proc


class PrivateDaemon:
    """What each daemon of a test has in its DIRECTORY: the socket
    milter.sock, the pid file milter.pid, the spool in spool/ and the log
    milter.log (each daemon started there appends to it; text() reads this
    one's part); its store is the SQLite file STORE."""

    def __init__(self, directory, store):
        self.dir = directory
        self.store = store
        self.sock = os.path.join(directory, "milter.sock")
        self.pid_file = os.path.join(directory, "milter.pid")
        self.spool = os.path.join(directory, "spool", "store-spool.jsonl")
        self.log_path = os.path.join(directory, "milter.log")
        self.log = open(self.log_path, "a+")
        self.start_at = self.log.seek(0, os.SEEK_END)

    def command(self, binary, args=(), mode="-f"):
        """The command line of the daemon BINARY on these files (MODE -f: in the
        foreground; -n: check the configuration), then ARGS."""
        return [binary, mode, "-p", "unix:" + self.sock,
                "-o", "policy=policies/default.yaml",
                "-o", "store=sqlite:" + self.store,
                "-o", "pid-file=" + self.pid_file,
                "-o", "spool.directory=" + os.path.join(self.dir, "spool"),
                "-o", "spool.retry=1s",
                "-o", "scope.internal-domains=acme.example", *args]

    def text(self):
        self.log.flush()
        self.log.seek(self.start_at)
        return self.log.read()

    def spooled(self):
        if not os.path.exists(self.spool):
            return []
        with open(self.spool) as f:
            return [json.loads(line) for line in f if line.strip()]


class Daemon(PrivateDaemon):
    """The daemon on DIR/milter.sock, its store in DIR/store.db, its spool in
    DIR/spool, the hold queue it reconciles with in DIR/queue.jsonl; OPTIONS
    ("key=value") after those."""

    def __init__(self, binary, directory, options=()):
        super().__init__(directory, os.path.join(directory, "store.db"))
        self.queue = os.path.join(directory, "queue.jsonl")
        postqueue = os.path.join(directory, "postqueue")
        with open(postqueue, "w") as f:
            f.write(POSTQUEUE % self.queue)
        os.chmod(postqueue, 0o755)
        options = ["reconcile.interval=1s", "reconcile.postqueue=" + postqueue, *options]
        self.proc = started(subprocess.Popen(self.command(binary, [a for o in options for a in ("-o", o)]),
                                             stdout=self.log, stderr=subprocess.STDOUT))

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

    def stop(self, sig=signal.SIGTERM, timeout=120):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None


def store_rows(store, sql, args=()):
    """The rows of SQL (ARGS its parameters) on the SQLite store STORE, read
    without waiting for any lock (WAL)."""
    db = sqlite3.connect("file:%s?mode=ro" % store, uri=True, timeout=0)
    try:
        return db.execute(sql, args).fetchall()
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
            mail, data = envelope(s, b"mx" if inbound else b"ORIGINATING", inbound=inbound, timeout=300)
            if mail != (b"c", b"") or data != (b"c", b""):
                result["replies"] = ["MAIL %r DATA %r" % (mail, data)]
                return
            text = {"bad": bad_reply, "good": good_reply, "complaint": complaint}[kind](tag.encode())
            send_headers(s, text)
            s.sendall(queue_id_macro(qid) + body_packets(text))
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
        _lockers.append(self)
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
    reports = sanitizer_reports(log)
    case("no sanitizer or valgrind report", not reports, log[-800:])


def clean_up(top):
    """What a test leaves: every lock it took let go, every daemon it started
    and left running killed, TOP removed (KEEP=1: left for a look at the logs
    and the store)."""
    for lock in _lockers:
        if lock.holding():
            lock.release()
    for proc in _daemons:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if os.environ.get("KEEP"):
        print("kept " + top)
    else:
        shutil.rmtree(top, ignore_errors=True)


@contextlib.contextmanager
def private_run(label, prefix):
    """The frame of a test: yields the daemon binary of the command line, a
    new directory (PREFIX...) and the cases, printed as LABEL; once the test
    is through, the case that the log has no sanitizer or valgrind report.
    Whatever the test started is stopped and the directory removed, also
    when it fails."""
    case = Cases(label)
    top = tempfile.mkdtemp(prefix=prefix)
    try:
        yield sys.argv[1], top, case
        no_reports(case, top)
    finally:
        clean_up(top)
