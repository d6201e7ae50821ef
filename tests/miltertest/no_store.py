#!/usr/bin/env python3
"""no_store.py MILTER - the daemon without its store, and the files it leaves.

The store cannot be opened: a read-only file system (as root: the store's
directory mounted read-only in a mount namespace of the daemon's own, with
unshare; as another user: a directory without write permission), or a file
that is no database.  The daemon must start all
the same and say so ("store unavailable: ...; judging without it", also in
`-n`, which still exits 0), hold a bad reply in the MTA (the quarantine action)
and let a good one through, spool the records, and write them to the store
once it can be opened (the directory made writable again: remounted with
nsenter, or chmod).  On
SIGTERM it removes its socket and pid file; after kill -9 the next start
replaces the stale ones; a second daemon on the same socket and pid file does
not start and takes nothing from the first; a start that fails half way
leaves no socket behind.  Prints one line per case and "no-store: N passed,
M failed"; exits non-zero on a failure.
"""
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from raw_protocol import Cases, envelope, optneg, sanitizer_reports, send_file  # noqa: E402
from milterlib import PrivateDaemon  # noqa: E402

MSGS = "tests/e2e/msgs/"
# Run the rest of the command line with the directory $1 mounted read-only.
READ_ONLY = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'


class Milter(PrivateDaemon):
    """The daemon on DIR/milter.sock with its pid file in DIR, its store in
    DIR/state and its spool in DIR/spool; with READ_ONLY, DIR/state is
    read-only for it (root: a read-only mount it alone sees; others: no write
    permission)."""

    def __init__(self, binary, directory, read_only=False, extra=(), check=False):
        self.state = os.path.join(directory, "state")
        os.makedirs(self.state, exist_ok=True)
        super().__init__(directory, os.path.join(self.state, "store.db"))
        args = self.command(binary, extra, "-n" if check else "-f")
        if read_only and os.geteuid() == 0:
            args = ["unshare", "-m", "--propagation", "private", "sh", "-c", READ_ONLY, "sh",
                    self.state] + args
        elif read_only:
            os.chmod(self.state, 0o555)
        # unshare and sh exec what follows: the process is the daemon.
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_log(self, needle, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.text():
                return True
            if self.proc.poll() is not None:
                return needle in self.text()
            time.sleep(0.05)
        return False

    def exited(self, timeout=10.0):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.exited()

    def writable_again(self):
        """The store's directory becomes writable for the daemon."""
        if os.geteuid() == 0:
            subprocess.run(["nsenter", "-t", str(self.proc.pid), "-m", "mount", "-o", "remount,bind,rw",
                            self.state], check=False)
        else:
            os.chmod(self.state, 0o755)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def judge(self, name):
        """The reply commands to one reply from sam to a client."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.sock)
        try:
            optneg(s)
            envelope(s)
            return send_file(s, MSGS + name)
        finally:
            s.close()

    def stored_token(self, token):
        db = sqlite3.connect(self.store)
        try:
            return db.execute("SELECT state FROM quarantine WHERE token = ?", (token,)).fetchone()
        finally:
            db.close()

    def token_logged(self):
        for line in self.text().splitlines():
            if "verdict=hold" in line and "token=" in line:
                return line.split("token=")[1].split()[0]
        return None


def held(replies):
    return b"q" in replies and replies[-1:] in ([b"a"], [b"c"])


def passed(replies):
    return b"q" not in replies and replies[-1:] in ([b"a"], [b"c"])


def main():
    binary = sys.argv[1]
    case = Cases("no-store")

    top = tempfile.mkdtemp(prefix="apology-nostore.")
    running = []
    try:
        # ---- a read-only file system (root), or no write permission ---------------
        if os.geteuid() != 0:
            print("note: not root: a directory without write permission stands in for a read-only "
                  "file system")
        why = "Read-only file system" if os.geteuid() == 0 else "Permission denied"
        d = os.path.join(top, "ro")
        os.mkdir(d)
        c = Milter(binary, d, read_only=True, check=True)
        rc = c.exited()
        out = c.text()
        case("-n with a read-only store: exit 0, and says so loudly",
             rc == 0 and "WARNING: store unavailable" in out and why in out
             and "policy OK" in out, "rc %s: %s" % (rc, out))

        m = Milter(binary, d, read_only=True)
        running.append(m)
        up = m.wait_log("listening on")
        case("starts with a read-only store and says it judges without it",
             up and "store unavailable: " in m.text() and "judging without it" in m.text(), m.text())
        bad = m.judge("reply-bad.eml") if up else []
        case("a bad reply is held (the MTA gets the quarantine action)", held(bad), "replies %r" % bad)
        good = m.judge("reply-good.eml") if up else []
        case("a good reply is let through", passed(good), "replies %r" % good)
        token = m.token_logged()
        records = [r for r in m.spooled() if r.get("type") == "hold"]
        case("the hold's record is spooled, and its log line says so",
             token and [r["token"] for r in records] == [token] and records[0]["state"] == "held"
             and "store=unavailable record=spooled" in m.text(), "%r %r" % (token, records))

        m.writable_again()
        back = m.wait_log("store available again")
        case("the store coming back gets the spooled records",
             back and m.stored_token(token) == ("held",) and m.spooled() == [], m.text())
        again = m.judge("reply-bad.eml") if back else []
        last = [line for line in m.text().splitlines() if "verdict=hold" in line][-1:]
        case("then holds are recorded in the store at once",
             held(again) and m.spooled() == [] and last and "store=" not in last[0]
             and "record=" not in last[0], m.text())

        rc = m.stop()
        case("SIGTERM: exit 0, no socket, no pid file left",
             rc == 0 and not os.path.exists(m.sock) and not os.path.exists(m.pid_file),
             "rc %s, socket %s, pid file %s" % (rc, os.path.exists(m.sock), os.path.exists(m.pid_file)))

        # ---- a corrupt store; stale files of a daemon killed -9 ---------------------
        d = os.path.join(top, "corrupt")
        os.makedirs(os.path.join(d, "state"))
        with open(os.path.join(d, "state", "store.db"), "w") as f:
            f.write("this is no database, as a store damaged beyond use is not\n" * 20)
        c = Milter(binary, d, check=True)
        rc = c.exited()
        case("-n with a corrupt store: exit 0, and says so loudly",
             rc == 0 and "WARNING: store unavailable" in c.text() and "not a database" in c.text(),
             "rc %s: %s" % (rc, c.text()))

        first = Milter(binary, d)
        running.append(first)
        up = first.wait_log("listening on")
        case("starts with a corrupt store", up and "judging without it" in first.text(), first.text())
        first.kill()
        left = os.path.exists(first.sock) and os.path.exists(first.pid_file)
        case("kill -9 leaves its socket and pid file (nothing can remove them)", left, "")

        m = Milter(binary, d)
        running.append(m)
        up = m.wait_log("listening on")
        t = m.text()
        case("the next start replaces the stale socket and pid file",
             up and "removed the stale socket" in t and "replacing the stale pid file" in t
             and open(m.pid_file).read().strip() == str(m.proc.pid), t)
        bad = m.judge("reply-bad.eml") if up else []
        case("and holds a bad reply", held(bad), "replies %r" % bad)

        other = Milter(binary, d)
        rc = other.exited()
        case("a second daemon on the same socket and pid file does not start",
             rc not in (None, 0) and "already running as process %d" % m.proc.pid in other.text(),
             "rc %s: %s" % (rc, other.text()))
        other.kill()
        bad = m.judge("reply-bad.eml") if up else []
        case("and takes nothing from the first",
             held(bad) and open(m.pid_file).read().strip() == str(m.proc.pid), "replies %r" % bad)
        rc = m.stop()
        case("SIGTERM: exit 0, no socket, no pid file left",
             rc == 0 and not os.path.exists(m.sock) and not os.path.exists(m.pid_file),
             "rc %s: %s" % (rc, m.text()[-400:]))

        # ---- a start that fails after the socket was made ---------------------------
        bad_pid = ["-o", "pid-file=" + os.path.join(d, "no-such-dir", "milter.pid")]
        f = Milter(binary, d, extra=bad_pid)
        rc = f.exited()
        case("a start that fails after making its socket removes it",
             rc not in (None, 0) and not os.path.exists(f.sock), "rc %s: %s" % (rc, f.text()))
        f.kill()

        for m in running:
            m.kill()
        log = "".join(m.text() for m in running)
        reports = sanitizer_reports(log)
        case("no sanitizer or valgrind report", not reports, log[-800:])
    finally:
        for m in running:
            m.kill()
        shutil.rmtree(top, ignore_errors=True)

    return case.done()


if __name__ == "__main__":
    sys.exit(main())
