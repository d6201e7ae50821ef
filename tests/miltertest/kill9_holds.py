#!/usr/bin/env python3
"""kill9_holds.py MILTER - the daemon killed (-9) after it answered holds.

The daemon answers the MTA before its store writer records a hold (nothing
on the mail path waits on the database), so a kill -9 used to lose the
records still queued or in the writer's hands: the mail stayed in the hold
queue, reconcile said "held but not recorded", and reviewers never saw it.
Each hold's record now goes to the daemon's journal (spool.h) before the
MTA hears of the hold, and the next start moves what a dead daemon left
there to the spool, whose replay writes each hold to the store once.

Sessions over the milter protocol (no MTA; the helpers of milterlib.py):

  - killed while another process holds the store locked: every reply to hold
    was answered with the quarantine action and none of their records was in
    the store when the daemon died; after a restart every one is, once;
  - killed right after a batch with nobody holding the lock (some records
    are in the store by then, others not): after a restart each hold is in
    the store exactly once, the spool is empty, the dead daemon's journal is
    gone, and reconcile finds every held message recorded;
  - killed mid-stream (replies to hold sent one after another, the kill
    once some have their answer): every reply answered with the quarantine
    action has its record after the restart, none twice.  (One killed
    between its record and its answer may have a record too: the MTA then
    applies its default action, and reconcile lists the record as no longer
    held.)

Prints one line per case and "kill9-holds: N passed, M failed"; exits
non-zero on a failure.
"""
import glob
import os
import re
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from milterlib import BAD, Daemon, Locker, batch, private_run, session, store_rows, verdicts_ok  # noqa: E402

# The writer waits this long on the locked store before it spools: longer
# than the batch and the kill take.
OPTIONS = ["store-busy-timeout=30s"]


def holds(store, prefix):
    """The queue ids of the store's held-mail records with PREFIX, each as
    often as it is there (read without waiting for any lock: WAL)."""
    return [r[0] for r in store_rows(store, "SELECT queue_id FROM quarantine WHERE queue_id LIKE ? ORDER BY queue_id",
                                     (prefix.upper() + "%",))]


def journals(d):
    return glob.glob(os.path.join(d.dir, "spool", "store-journal-*.jsonl"))


def kill9(d):
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    try:
        os.unlink(d.sock)
    except FileNotFoundError:
        pass


def restart(binary, top, held_ids, case, what):
    """A new daemon on the same store and spool, the hold queue listing
    HELD_IDS; waits until it listens."""
    d = Daemon(binary, top, OPTIONS)
    d.hold_queue(held_ids)
    case(what + ": the daemon starts again", d.wait_log(r"listening on", 60), d.text()[-800:])
    return d


def wait_holds(d, prefix, want):
    deadline = time.monotonic() + 60
    while len(holds(d.store, prefix)) < want and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)  # a replay more, had it a record twice
    return holds(d.store, prefix)


def stream_killed(d, count=60):
    """Replies to hold sent one after another, four at a time, on D until the
    daemon is killed (-9) once ten have their answer; the queue ids of those
    answered with the quarantine action."""
    results = [{"replies": None} for _ in range(count)]
    threads = []
    for i in range(count):
        t = threading.Thread(target=session, args=(d.sock, "bad", "ms-%d" % i, "MS%04d" % i, results[i]))
        threads.append(t)
        t.start()
        if i >= 3:
            threads[i - 3].join()
        if sum(1 for r in results if r["replies"]) >= 10:
            break
    kill9(d)
    for t in threads:
        t.join()
    return ["MS%04d" % i for i, r in enumerate(results) if b"q" in (r["replies"] or [])]


def main():
    with private_run("kill9-holds", "apology-kill9.") as (binary, top, case):
        d = Daemon(binary, top, OPTIONS)
        d.hold_queue([])
        case("the daemon starts", d.wait_log(r"listening on", 60), d.text())
        case("it keeps a journal of holds in its spool directory", len(journals(d)) == 1,
             "journals: %r" % journals(d))

        # Killed while the writer waits on a store another process has locked.
        lock = Locker(d.store, 120)
        case("another process holds BEGIN EXCLUSIVE on the store", lock.locked, "")
        results, held_ids = batch(d, "kl")
        why = verdicts_ok(results)
        case("every reply to hold got the quarantine action", not why, why)
        before = holds(d.store, "kl")
        kill9(d)
        case("none of their records was in the store when the daemon was killed (-9)", before == [],
             "in the store: %r" % before)
        case("its journal stays behind", len(journals(d)) == 1, "journals: %r" % journals(d))
        lock.release()
        d = restart(binary, top, held_ids, case, "locked")
        got = wait_holds(d, "kl", BAD)
        case("after the restart every held reply has its record, once (%d)" % BAD, got == sorted(held_ids),
             "in the store: %r" % got)
        moved = re.search(r"(\d+) record\(s\) of held mail from the journal of a daemon", d.text())
        case("the log says the journal's holds went to the spool", moved and int(moved.group(1)) == BAD,
             d.text()[-1200:])
        recorded = d.wait_log(r"reconcile: %d message\(s\) in the hold queue, %d recorded" % (BAD, BAD), 30)
        case("reconcile: every held message recorded", recorded and "no record anywhere" not in d.text(),
             d.text()[-1200:])

        # Killed right after a batch, nobody holding the lock: some records
        # are in the store already, some not.
        results, race_ids = batch(d, "ru")
        why = verdicts_ok(results)
        case("unlocked: every reply to hold got the quarantine action", not why, why)
        kill9(d)
        d = restart(binary, top, held_ids + race_ids, case, "unlocked")
        got = wait_holds(d, "ru", BAD)
        case("after the restart each held reply is in the store exactly once", got == sorted(race_ids),
             "in the store: %r" % got)
        case("the earlier holds are still there once each", holds(d.store, "kl") == sorted(held_ids),
             "%r" % holds(d.store, "kl"))
        case("the spool is empty and only the new daemon's journal is left",
             d.spooled() == [] and len(journals(d)) == 1,
             "%d spooled, journals %r" % (len(d.spooled()), journals(d)))
        # Killed mid-stream.
        answered = stream_killed(d)
        case("mid-stream: some replies were answered with the quarantine action before the kill",
             answered, "none answered")
        d = restart(binary, top, held_ids + race_ids + answered, case, "mid-stream")
        got = wait_holds(d, "ms", len(answered))
        case("after the restart every answered hold has its record, none twice (%d answered)" % len(answered),
             set(answered) <= set(got) and len(got) == len(set(got)), "answered %r, in the store %r" % (answered, got))
        rc = d.stop()
        case("SIGTERM: exit 0, its journal removed", rc == 0 and journals(d) == [],
             "rc %s, journals %r" % (rc, journals(d)))
    return case.done()


if __name__ == "__main__":
    sys.exit(main())
