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
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from milterlib import (BAD, COMPLAINTS, GOOD, SESSIONS, Daemon, Locker, batch, private_run,  # noqa: E402
                       store_rows, verdicts_ok)


def counts(store, tag):
    """Rows of the store that sessions tagged TAG made: holds, apologies,
    complaints (read without waiting for any lock: WAL)."""
    like = "%%-%s-%%" % tag
    return (store_rows(store, "SELECT count(*) FROM quarantine WHERE queue_id LIKE ?", (tag.upper() + "%",))[0][0],
            store_rows(store, "SELECT count(*) FROM apologies WHERE complaint_ref LIKE ?", (like,))[0][0],
            store_rows(store, "SELECT count(*) FROM complaints WHERE message_id LIKE ?",
                       ("complaint-in-" + tag + "-%",))[0][0])


def main():
    with private_run("locked-store", "apology-locked.") as (binary, top, case):
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
    return case.done()


if __name__ == "__main__":
    sys.exit(main())
