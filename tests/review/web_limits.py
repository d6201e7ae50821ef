#!/usr/bin/env python3
"""tests/review/web_limits.py BUILD [TEST...] - apology-review under hostile clients.

Starts BUILD/apology-review on a free loopback port with a store of its own
(no Postfix) for each test, with the accounts "alice" (reviewer) and "root"
(admin), and checks what a client can do to the service:

  slow-clients       200 clients from the address of the normal ones send half a
                     request and stall (half of them trickle a byte a second so they
                     never look idle); 20 normal GETs sent meanwhile are answered
  slow-addresses     the same from 200 addresses of their own (127.0.1.N), with
                     connection-limit below 200
  endless-body       a chunked POST that never ends is cut off (413 or closed) soon
                     after max-body; a declared body over it gets 413 unread
  unnamed-parts      multipart POSTs (no log-in, no token) whose parts have no name, an
                     empty one, or only a file name are refused (403), and the
                     service still answers
  stop-notifying     stopped while its notification worker waits on a webhook that
                     never answers, with more notices due: it tries no further
                     notice before it stops (one attempt recorded, not five)
  login-by-address   five wrong passwords from 127.0.0.1 lock the name there only
                     (127.0.0.2 still logs in); the per-address limit locks
                     127.0.0.1 across names; `apologyctl logins unlock` clears both
  login-at-once      twelve wrong passwords for one name sent at once, with three
                     allowed: at most three are checked, the rest refused (429)
  login-by-network   behind a trusted proxy, wrong passwords from six addresses of
                     one IPv6 /64 lock that /64 (a seventh address there is
                     refused, another /64 logs in); `logins unlock --address` with
                     any address of it clears it

Counts, never times: every assertion is about how many requests were served or
how many bytes were read.  Run by tests/review/run.sh (make review-test), or
alone.  Prints "ok NAME" or "FAIL NAME: why" per test; exits 1 when any failed.
"""
import http.client
import sqlite3
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
REVIEW = os.path.join(BUILD, "apology-review")
CTL = os.path.join(BUILD, "apologyctl")
PASSWORD = "correct-horse-%d" % os.getpid()
A, B = "127.0.0.1", "127.0.0.2"


class Failed(Exception):
    pass


def expect(cond, why):
    if not cond:
        raise Failed(why)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """apology-review with its own store and accounts in a temporary directory."""

    def __init__(self, *settings):
        self.dir = tempfile.mkdtemp(prefix="web-limits-")
        self.port = free_port()
        self.store = "sqlite:" + os.path.join(self.dir, "store.db")
        h = subprocess.run([REVIEW, "--hash-password"], input=PASSWORD + "\n", capture_output=True,
                           text=True, check=True).stdout.strip()
        accounts = os.path.join(self.dir, "accounts")
        with open(accounts, "w") as f:
            f.write("alice:reviewer:%s\nroot:admin:%s\n" % (h, h))
        args = [REVIEW, "-o", "store=" + self.store, "-o", "accounts=" + accounts, "-o",
                "listen=127.0.0.1:%d" % self.port, "-o", "smtp-url="]
        for s in settings:
            args += ["-o", s]
        self.log = open(os.path.join(self.dir, "review.log"), "w+")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        for _ in range(200):
            if self.proc.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        why = self.output()
        self.stop()
        raise Failed("apology-review did not start: " + why)

    def output(self):
        self.log.seek(0)
        return self.log.read().strip().replace("\n", " | ")[-400:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def ctl(self, *args):
        return subprocess.run([CTL, "logins", "-o", "store=" + self.store] + list(args), capture_output=True,
                              text=True, stdin=subprocess.DEVNULL)


def status(port, method, body=None, headers=None, source=A, timeout=10):
    """Status of METHOD /login from SOURCE, or None when it was not answered."""
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0))
        c.request(method, "/login", body, dict(headers or {}, Connection="close"))
        r = c.getresponse()
        r.read()
        c.close()
        return r.status
    except OSError:
        return None


def get_login(port, source=A, timeout=10):
    """Status of GET /login from SOURCE, or None when it was not answered."""
    return status(port, "GET", source=source, timeout=timeout)


def normal_gets(port, n=20, together=5):
    """Send N GETs, TOGETHER at a time (a few users' browsers, well under the
    per-address cap the slow clients share with them); how many were answered 200."""
    results = []
    for _ in range(0, n, together):
        threads = [threading.Thread(target=lambda: results.append(get_login(port))) for _ in range(together)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return sum(1 for r in results if r == 200)


class SlowClients:
    """N connections that each send half a request; every other one then sends one
    more byte a second (a slow-loris), the rest stall."""

    def __init__(self, port, n, sources):
        self.socks, self.refused, self.stop = [], 0, threading.Event()
        for i in range(n):
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(sources(i), 0))
                s.sendall(b"GET /login HTTP/1.1\r\nHost: review.test\r\nX-Half: ")
                self.socks.append(s)
            except OSError:
                self.refused += 1
        self.trickler = threading.Thread(target=self.trickle)
        self.trickler.start()

    def trickle(self):
        while not self.stop.wait(1):
            for s in self.socks[::2]:
                try:
                    s.send(b"x")
                except OSError:
                    pass

    def still_open(self):
        n = 0
        for s in self.socks:
            s.setblocking(False)
            try:
                n += s.recv(1) != b""  # data (an answer) or EOF: the server let it go
            except BlockingIOError:
                n += 1
            except OSError:
                pass
        return n

    def close(self):
        self.stop.set()
        self.trickler.join()
        for s in self.socks:
            s.close()


def t_slow_clients():
    srv = Server()
    try:
        slow = SlowClients(srv.port, 200, lambda i: A)
        served = normal_gets(srv.port)
        hanging = slow.still_open()
        slow.close()
        print("  200 slow clients from %s (%d refused at once, %d still open); %d of 20 normal GETs served"
              % (A, slow.refused, hanging, served))
        expect(served >= 18, "only %d of 20 normal GETs served" % served)
        expect(srv.proc.poll() is None, "apology-review died: " + srv.output())
    finally:
        srv.stop()


def t_slow_addresses():
    srv = Server("connection-limit=64")
    try:
        slow = SlowClients(srv.port, 200, lambda i: "127.0.1.%d" % (i + 1))
        served = normal_gets(srv.port)
        hanging = slow.still_open()
        slow.close()
        print("  200 slow clients from 200 addresses, connection-limit 64 (%d refused, %d still open); "
              "%d of 20 normal GETs served" % (slow.refused, hanging, served))
        expect(served >= 18, "only %d of 20 normal GETs served" % served)
    finally:
        srv.stop()


def endless_chunked_post(port, limit):
    """Send one chunked POST until the server stops it or LIMIT bytes went out.
    Returns (bytes sent, status line read or None)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"POST /login HTTP/1.1\r\nHost: review.test\r\nTransfer-Encoding: chunked\r\n"
              b"Content-Type: application/x-www-form-urlencoded\r\n\r\n")
    chunk = b"1000\r\n" + b"a" * 4096 + b"\r\n"
    sent, status = 0, None
    try:
        while sent < limit:
            s.sendall(chunk)
            sent += 4096
    except OSError:
        pass  # reset or broken pipe: the server closed it
    try:
        line = s.recv(200).split(b"\r\n")[0]
        status = line.decode(errors="replace") if line else None
    except OSError:
        pass
    s.close()
    return sent, status


def t_endless_body():
    srv = Server()
    try:
        sent, status = endless_chunked_post(srv.port, 64 << 20)
        print("  endless chunked POST: cut off after %d KB (answer: %s)" % (sent >> 10, status or "closed"))
        expect(sent < 32 << 20, "still reading after %d MB" % (sent >> 20))
        expect(status is None or " 413 " in status + " ", "answered %s" % status)
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        c.putrequest("POST", "/login")
        c.putheader("Content-Type", "application/x-www-form-urlencoded")
        c.putheader("Content-Length", str(10 << 20))
        c.endheaders()
        r = c.getresponse()
        print("  POST declaring 10 MB: %d" % r.status)
        expect(r.status == 413, "a declared 10 MB body answered %d" % r.status)
        c.close()
        expect(get_login(srv.port) == 200, "not serving after the long bodies")
    finally:
        srv.stop()


def multipart_post(port, disposition):
    """Status of a POST /login whose one multipart part has DISPOSITION, or None
    when it was not answered."""
    body = ("--XX\r\nContent-Disposition: %s\r\n\r\nhello\r\n--XX--\r\n" % disposition).encode()
    return status(port, "POST", body, {"Content-Type": "multipart/form-data; boundary=XX"})


def t_unnamed_parts():
    srv = Server()
    try:
        for disposition in ("form-data", 'form-data; name=""', "form-data; name=", 'form-data; filename="a"',
                            'form-data; name="user"'):
            st = multipart_post(srv.port, disposition)
            print("  multipart part '%s': %s" % (disposition, st))
            expect(st == 403, "a part '%s' answered %s, not 403" % (disposition, st))
            expect(srv.proc.poll() is None, "apology-review died on a part '%s': %s" % (disposition,
                                                                                         srv.output()))
        expect(get_login(srv.port) == 200, "not serving after the unnamed parts")
    finally:
        srv.stop()


class Hang:
    """A webhook receiver on loopback that takes connections and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            try:
                self.conns.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def t_stop_notifying():
    hang = Hang()
    srv = Server("webhook-url=http://127.0.0.1:%d/hook" % hang.port, "notify-timeout=10s")
    try:
        db = srv.store[len("sqlite:"):]
        for _ in range(200):  # the store is made as the service starts
            if os.path.exists(db):
                break
            time.sleep(0.05)
        with sqlite3.connect(db, timeout=10) as c:
            c.executemany("INSERT INTO outbox (key, channel, event, target, payload, created, next_try)"
                          " VALUES (?, 'webhook', 'hold', 'webhook-url', '{}', 0, 0)",
                          [("hold:%d:webhook" % i,) for i in range(5)])
        for _ in range(400):  # the worker's next pass (every few seconds) reaches the webhook
            if hang.conns:
                break
            time.sleep(0.05)
        expect(hang.conns, "the worker never reached the webhook")
        srv.proc.terminate()
        try:
            srv.proc.wait(70)  # the attempt under way ends within notify-timeout
        except subprocess.TimeoutExpired:
            srv.proc.kill()
            srv.proc.wait()
        with sqlite3.connect(db, timeout=10) as c:
            tried = c.execute("SELECT count(*) FROM outbox WHERE attempts > 0").fetchone()[0]
        print("  stopped while a notice waited on the webhook: %d of 5 notices tried" % tried)
        expect(tried <= 1, "%d notices tried after the stop was asked" % tried)
        expect(len(hang.conns) == 1, "%d connections to the webhook" % len(hang.conns))
    finally:
        srv.stop()
        hang.close()


def log_in(port, user, password, source, forwarded=None, barrier=None):
    """Status of a log-in as USER from SOURCE (303 = logged in), through a
    proxy that says the client is FORWARDED; BARRIER: wait there between
    loading the form and sending it."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(source, 0))
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    c.request("GET", "/login", headers=headers)
    r = c.getresponse()
    body = r.read().decode()
    cookie = r.getheader("Set-Cookie").split(";")[0]
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', body).group(1)
    data = urllib.parse.urlencode({"csrf": csrf, "user": user, "password": password})
    if barrier:
        barrier.wait()
    c.request("POST", "/login", data,
              dict(headers, **{"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}))
    r = c.getresponse()
    r.read()
    c.close()
    return r.status


def t_login_by_address():
    srv = Server("login-failures=5", "login-failures-per-address=20")
    try:
        port = srv.port
        wrong = [log_in(port, "alice", "wrong-%d" % i, A) for i in range(5)]
        expect(wrong == [401] * 5, "wrong passwords answered %s" % wrong)
        st = log_in(port, "alice", PASSWORD, A)
        expect(st == 429, "alice's right password from %s after five wrong: %d, not 429" % (A, st))
        st = log_in(port, "alice", PASSWORD, B)
        expect(st == 303, "alice from %s refused (%d): the lock is not per address" % (B, st))
        # 5 + 15 = 20 failures from A, no name more than five times
        others = [log_in(port, "user%d" % i, "wrong", A) for i in range(15)]
        expect(others == [401] * 15, "other names answered %s" % others)
        st = log_in(port, "root", PASSWORD, A)
        expect(st == 429, "root from %s after 20 failures there: %d, not 429" % (A, st))
        st = log_in(port, "root", PASSWORD, B)
        expect(st == 303, "root from %s refused (%d)" % (B, st))
        listed = srv.ctl("list")
        expect(listed.returncode == 0, "logins list: " + listed.stderr)
        expect(re.search(r"^alice +127\.0\.0\.1 +5 +locked", listed.stdout, re.M)
               and re.search(r"^\(any\) +127\.0\.0\.1 +20 +locked", listed.stdout, re.M),
               "logins list: " + listed.stdout)
        out = srv.ctl("unlock", "alice")
        expect(out.returncode == 0, "unlock alice: " + out.stderr)
        st = log_in(port, "alice", PASSWORD, A)
        expect(st == 429, "alice from %s let in (%d) while the address is locked" % (A, st))
        out = srv.ctl("unlock", "--address", A)
        expect(out.returncode == 0, "unlock --address: " + out.stderr)
        st = [log_in(port, "root", PASSWORD, A), log_in(port, "alice", PASSWORD, A)]
        expect(st == [303, 303], "after unlocking %s: root and alice got %s" % (A, st))
        expect(srv.ctl("list").stdout.strip() == "no failed log-ins", "records left: " + srv.ctl("list").stdout)
        # a proxy not named in trusted-proxies: said in the log, once
        expect("carry X-Forwarded-For" not in srv.output(), "warned with no proxy: " + srv.output())
        st = [log_in(port, "alice", PASSWORD, B, forwarded="192.0.2.7") for _ in range(2)]
        expect(st == [303, 303], "log-ins through an unnamed proxy: %s" % st)
        warned = srv.output().count("carry X-Forwarded-For, but %s is not in trusted-proxies" % B)
        expect(warned == 1, "the unnamed proxy said %d times: %s" % (warned, srv.output()))
        print("  five wrong from %s lock alice there only; twenty lock the address; unlock clears both;"
              " an unnamed proxy said once" % A)
    finally:
        srv.stop()


def t_login_at_once():
    srv = Server("login-failures=3", "login-failures-per-address=100", "threads=4")
    try:
        together = 12
        barrier = threading.Barrier(together)
        results = []
        threads = [threading.Thread(target=lambda i=i: results.append(
            log_in(srv.port, "alice", "wrong-%d" % i, A, barrier=barrier))) for i in range(together)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        checked, refused = results.count(401), results.count(429)
        print("  %d wrong passwords at once, three allowed: %d checked, %d refused" % (together, checked, refused))
        expect(checked + refused == together, "answers: %s" % sorted(results))
        expect(checked <= 3, "%d of them checked, where three are allowed" % checked)
        st = log_in(srv.port, "alice", PASSWORD, A)
        expect(st == 429, "alice's right password after them: %d, not 429" % st)
    finally:
        srv.stop()


def t_login_by_network():
    srv = Server("trusted-proxies=127.0.0.1", "login-failures=5", "login-failures-per-address=6")
    net, other = "2001:db8:1:2::", "2001:db8:1:3::1"
    try:
        wrong = [log_in(srv.port, "user%d" % i, "wrong", A, forwarded="192.0.2.9, %s%x" % (net, i + 1))
                 for i in range(6)]
        expect(wrong == [401] * 6, "wrong passwords answered %s" % wrong)
        st = log_in(srv.port, "alice", PASSWORD, A, forwarded=net + "beef")
        expect(st == 429, "alice from a seventh address of the /64 after six failures there: %d, not 429" % st)
        st = log_in(srv.port, "alice", PASSWORD, A, forwarded=other)
        expect(st == 303, "alice from another /64 refused (%d)" % st)
        listed = srv.ctl("list")
        expect(re.search(r"^\(any\) +2001:db8:1:2::/64 +6 +locked", listed.stdout, re.M),
               "logins list: " + listed.stdout)
        out = srv.ctl("unlock", "--address", net + "77")
        expect(out.returncode == 0, "unlock --address: " + out.stderr)
        st = log_in(srv.port, "alice", PASSWORD, A, forwarded=net + "beef")
        expect(st == 303, "alice from the /64 after unlocking it: %d" % st)
        expect(srv.ctl("list").stdout.strip() == "no failed log-ins", "records left: " + srv.ctl("list").stdout)
        expect("carry X-Forwarded-For" not in srv.output(), "a named proxy warned of: " + srv.output())
        print("  six failures from one IPv6 /64 lock it for its other addresses; unlock by any address of it")
    finally:
        srv.stop()


TESTS = {
    "slow-clients": t_slow_clients,
    "slow-addresses": t_slow_addresses,
    "endless-body": t_endless_body,
    "unnamed-parts": t_unnamed_parts,
    "stop-notifying": t_stop_notifying,
    "login-by-address": t_login_by_address,
    "login-at-once": t_login_at_once,
    "login-by-network": t_login_by_network,
}


def main():
    names = sys.argv[2:] or list(TESTS)
    failed = 0
    for name in names:
        try:
            TESTS[name]()
            print("ok   web-limits: " + name)
        except Failed as e:
            failed += 1
            print("FAIL web-limits: %s: %s" % (name, e))
        sys.stdout.flush()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
