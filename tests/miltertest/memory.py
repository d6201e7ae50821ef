#!/usr/bin/env python3
"""memory.py MILTER - the daemon's memory stays bounded (issue 12, item 6).

A daemon with a small limits.memory-budget (BUDGET) takes, all at once, more
than the budget from many connections: packets sent all but their last byte
(just under the protocol's 4 MB maximum) and message bodies left unfinished.
Its resident memory must stay under what it had before plus the budget and a
stated margin (VmHWM from /proc), each message whose data the budget had no
room for must be deferred (a 4xx reply when its end comes: the MTA keeps it
and tries again, nothing is lost), the others judged, and a normal message on
another connection meanwhile must still get its verdict.  Once the
connections have closed, the memory must go back (VmRSS).  Then, on a daemon
with the default budget, a message of 873,000 empty MIME parts must be
"unchecked" for too many parts, at a small fraction of the memory GMime
takes to build that many parts.

With --full, the same at the scale of the issue, for docs/performance.md:
the default budget (512 MB), 1,000 connections with packets of nearly 4 MB,
100 unfinished bodies of nearly 10 MB (--partial or --bodies: only those);
the figures are printed (several GB pass through the socket: not part of
make check).

Memory figures need the plain binary: under valgrind (a wrapper script) or
AddressSanitizer (its quarantine keeps freed memory) only the replies are
checked.  Prints one line per case and "memory: N passed, M failed"; exits
non-zero on a failure.
"""
import os
import re
import shutil
import signal
import struct
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from raw_protocol import Cases, Daemon, body_packets, envelope, optneg, packet, read_packet, send_headers  # noqa: E402

MB = 1024 * 1024
BUDGET = 64 * MB
PARTIAL_CONNS = 40  # each holds a packet of PARTIAL_SIZE but its last byte
PARTIAL_SIZE = 4 * MB - 64 * 1024
BODY_CONNS = 20  # each sends BODY_SIZE of a message and stops
BODY_SIZE = 5 * MB
# What the daemon may hold beyond the budget: per connection its read buffer
# and the first 64 KB of a message (never refused), then the messages being
# judged (GMime's copies of a 4 MB header, one per loop and judge thread) and
# the allocator's slack.
MARGIN = (PARTIAL_CONNS + BODY_CONNS + 1) * 128 * 1024 + 48 * MB
# limits.milter-timeout: no connection waiting its turn is closed as idle.
IDLE = "120s"
# What may stay once every connection has closed.
AFTER_MARGIN = 16 * MB


def full_scale():
    """The scale of issue 12: the default budget, 1,000 connections of partial
    packets, 100 unfinished bodies of nearly 10 MB; sending it all takes
    minutes here, longer than a connection may wait by default."""
    global BUDGET, PARTIAL_CONNS, BODY_CONNS, BODY_SIZE, MARGIN, IDLE
    IDLE = "1h"
    BUDGET, PARTIAL_CONNS, BODY_CONNS, BODY_SIZE = 512 * MB, 1000, 100, 10 * MB - 128 * 1024
    MARGIN = (PARTIAL_CONNS + BODY_CONNS + 1) * 128 * 1024 + 48 * MB
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))


def only(which):
    """Only the partial packets or only the bodies (the figures of each)."""
    global PARTIAL_CONNS, BODY_CONNS
    if which == "--partial":
        BODY_CONNS = 0
    elif which == "--bodies":
        PARTIAL_CONNS = 0
REPLY_BAD = "tests/e2e/msgs/reply-bad.eml"


def status(pid, field):
    """A figure of /proc/PID/status in bytes (VmRSS, VmHWM)."""
    with open("/proc/%d/status" % pid) as f:
        m = re.search(r"^%s:\s+(\d+) kB" % field, f.read(), re.M)
    return int(m.group(1)) * 1024


def plain_binary(path):
    """Whether the daemon runs as itself, without valgrind or ASan to skew
    its memory."""
    with open(path, "rb") as f:
        data = f.read()
    return data[:4] == b"\x7fELF" and b"__asan_init" not in data


def replies(sock, timeout=120):
    """The replies after end of message, up to and with the verdict, as
    (command, data) pairs."""
    out = []
    while True:
        r = read_packet(sock, timeout=timeout)
        if r is None:
            return out
        out.append(r)
        if r[0] in (b"a", b"c", b"r", b"t", b"y"):
            return out


def deferred(rs):
    return bool(rs) and (rs[-1][0] == b"t" or (rs[-1][0] == b"y" and rs[-1][1].startswith(b"4")))


def judged(rs):
    return bool(rs) and rs[-1][0] in (b"a", b"c")


def begin(d):
    s = d.connect()
    optneg(s)
    envelope(s)
    return s


def send_message(d, text, timeout=120):
    """TEXT as a message on a connection of its own; the replies to its end."""
    s = begin(d)
    send_headers(s, text)
    s.sendall(body_packets(text))
    rs = replies(s, timeout)
    s.close()
    return rs


def warm_up(d):
    """A bad reply, held: the baseline then has what judging allocates."""
    return send_message(d, open(REPLY_BAD, "rb").read())


def send_partial(s):
    """MAIL, RCPT, then a header packet of PARTIAL_SIZE but its last byte."""
    data = b"X-Big\0 " + b"x" * (PARTIAL_SIZE - 9) + b"\0"
    s.sendall(struct.pack(">I", len(data) + 1) + b"L" + data[:-1])
    return data[-1:]


def send_unfinished_body(s):
    s.sendall(packet(b"L", b"Subject\0 Re: order 4471\0") + packet(b"N"))
    chunk = packet(b"B", (b"I am sorry about the parts, Dana. " * 2000)[:65535])
    for _ in range(BODY_SIZE // 65535):
        s.sendall(chunk)


def budget_cases(binary, directory, case, measure):
    d = Daemon(binary, directory,
               options=("limits.memory-budget=%dM" % (BUDGET // MB), "limits.milter-timeout=" + IDLE))
    try:
        pid = d.proc.pid
        case("a message is judged before the load", judged(warm_up(d)), "no verdict")
        time.sleep(0.3)
        base = status(pid, "VmRSS") if measure else 0

        partial = [begin(d) for _ in range(PARTIAL_CONNS)]
        bodies = [begin(d) for _ in range(BODY_CONNS)]
        errors = []

        def load(socks, send, out):
            try:
                for s in socks:
                    out.append(send(s))
            except OSError as e:
                errors.append(repr(e))

        last_bytes, none = [], []
        threads = [threading.Thread(target=load, args=(partial, send_partial, last_bytes)),
                   threading.Thread(target=load, args=(bodies, send_unfinished_body, none))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        case("%d connections hold packets of %.2f MB but their last byte, %d more %.2f MB of unfinished "
             "bodies" % (PARTIAL_CONNS, PARTIAL_SIZE / MB, BODY_CONNS, BODY_SIZE / MB),
             not errors and len(last_bytes) == PARTIAL_CONNS, "; ".join(errors))

        rs = warm_up(d)
        case("meanwhile a normal message on another connection is held as always",
             judged(rs) and any(r[0] == b"q" for r in rs), "replies %r" % [r[0] for r in rs])

        for s, last in zip(partial, last_bytes):
            s.sendall(last + packet(b"N") + packet(b"E"))
        for s in bodies:
            s.sendall(packet(b"E"))
        answers = [replies(s) for s in partial + bodies]
        for s in partial + bodies:
            s.close()
        n_deferred = sum(1 for rs in answers if deferred(rs))
        n_judged = sum(1 for rs in answers if judged(rs))
        case("every one of them is deferred (4xx) or judged, none lost: %d deferred, %d judged"
             % (n_deferred, n_judged), n_deferred + n_judged == len(answers),
             "replies %r" % [[r[0] for r in rs] for rs in answers if not (deferred(rs) or judged(rs))])
        # The budget holds this many of the packets and bodies at most (and a
        # couple more, taken as others give theirs back); the rest are deferred.
        room = BUDGET // min(PARTIAL_SIZE if PARTIAL_CONNS else BODY_SIZE, BODY_SIZE if BODY_CONNS else PARTIAL_SIZE)
        case("all but the %d the budget has room for are deferred" % (room + 2),
             n_deferred >= len(answers) - room - 2, "%d of %d deferred" % (n_deferred, len(answers)))
        log = d.log_text()
        case("the log says so: the budget is full, and each deferred message",
             "limits.memory-budget is full" in log and log.count("deferred: limits.memory-budget") >= n_deferred
             and n_deferred > 0, log[-600:])
        if measure:
            peak = status(pid, "VmHWM") - base
            print("figures: baseline %d MB; peak %d MB above it" % (base // MB, peak // MB))
            case("peak memory above the baseline %d MB, under the budget %d MB and the margin %d MB"
                 % (peak // MB, BUDGET // MB, MARGIN // MB), peak <= BUDGET + MARGIN,
                 "peak %d MB above %d MB" % (peak // MB, base // MB))
            time.sleep(0.5)
            after = status(pid, "VmRSS") - base
            print("figures: after closing %d MB above the baseline" % (after // MB))
            case("once they are closed, memory goes back: %d MB above the baseline (at most %d MB)"
                 % (after // MB, AFTER_MARGIN // MB), after <= AFTER_MARGIN,
                 "%d MB above %d MB" % (after // MB, base // MB))
        stop_cleanly(d, case)
    finally:
        d.stop()


def many_parts_message(parts):
    head = open(REPLY_BAD, "rb").read().partition(b"\n\n")[0]
    head = head.replace(b"text/plain; charset=utf-8", b'multipart/mixed; boundary="b"')
    return head + b"\n\n--b\nContent-Type: text/plain\n\nDana, I am sorry.\n" + b"--b\n\n" * parts + b"--b--\n"


# GMime builds about 1.3 KB per empty part: 873,000 of them took 1.17 GB.
PARTS = 873000
PARTS_MARGIN = 64 * MB


def many_parts_cases(binary, directory, case, measure):
    d = Daemon(binary, directory, options=("limits.milter-timeout=120s",))
    try:
        pid = d.proc.pid
        warm_up(d)
        time.sleep(0.3)
        base = status(pid, "VmRSS") if measure else 0
        text = many_parts_message(PARTS)
        rs = send_message(d, text, timeout=600)
        check = [r[1] for r in rs if r[0] == b"h" and r[1].startswith(b"X-Apology-Check\0")]
        sent = len(text.replace(b"\n", b"\r\n"))
        case("a message of %d empty MIME parts (%.1f MB) is unchecked: too many parts" % (PARTS, sent / MB),
             judged(rs) and check and b"unchecked; reason=too-many-mime-parts" in check[0],
             "replies %r" % [r[0] for r in rs] + " header %r" % check)
        if measure:
            peak = status(pid, "VmHWM") - base
            print("figures: %d parts: peak %d MB above the baseline %d MB; after %d MB above"
                  % (PARTS, peak // MB, base // MB, (status(pid, "VmRSS") - base) // MB))
            case("without GMime building its parts: peak %d MB above the baseline (at most %d MB)"
                 % (peak // MB, PARTS_MARGIN // MB), peak <= PARTS_MARGIN,
                 "peak %d MB above %d MB" % (peak // MB, base // MB))
        stop_cleanly(d, case)
    finally:
        d.stop()


def stop_cleanly(d, case):
    """SIGTERM: the daemon must still be there, stop with status 0 and leave no
    sanitizer or valgrind report (its leak check runs at exit)."""
    alive = d.proc.poll() is None
    d.proc.send_signal(signal.SIGTERM)
    clean, why = d.exits_cleanly(300)
    case("the daemon survived it and stops on SIGTERM, status 0, no sanitizer or valgrind report",
         alive and clean, why)


def light():
    """Under valgrind or ASan, where memory is not measured, a load just large
    enough to take every path: held and dropped packets, refused bodies."""
    global BUDGET, PARTIAL_CONNS, BODY_CONNS
    BUDGET, PARTIAL_CONNS, BODY_CONNS = 8 * MB, 8, 4


def main():
    binary = sys.argv[1]
    directory = tempfile.mkdtemp(prefix="apology-mem.")
    case = Cases("memory")
    measure = plain_binary(binary)
    if "--full" in sys.argv[2:]:
        full_scale()
    for arg in sys.argv[2:]:
        only(arg)
    if not measure:
        print("note: %s runs under valgrind or ASan: a lighter load, replies checked, memory not measured"
              % binary)
        light()
    try:
        os.mkdir(os.path.join(directory, "budget"))
        budget_cases(binary, os.path.join(directory, "budget"), case, measure)
        os.mkdir(os.path.join(directory, "parts"))
        many_parts_cases(binary, os.path.join(directory, "parts"), case, measure)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return case.done()


if __name__ == "__main__":
    sys.exit(main())
