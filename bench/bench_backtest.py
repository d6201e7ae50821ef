#!/usr/bin/env python3
"""Benchmark of `apologyctl backtest`, as ratios against a baseline measured in the same run.

    python3 bench/bench_backtest.py --ctl build/apologyctl --policy policies/default.yaml [--big 100000]

Archives of 1,000 and 10,000 messages (and --big N) are generated as tests/backtest.py does
(corpus replies with new senders, clients and dates, complaint + reply pairs, chains of replies
to one client), each as one mbox.  Then:

  * the engine's single-core rate: `apologyctl check` on the same replies as the 10,000-message
    archive's, as separate files, in one process (CPU seconds, user + system, less check's
    start-up: loading the policy);
  * backtest with --jobs 1 and with one worker per CPU on 10,000 messages: messages judged per
    CPU second (per core used) and per wall second, and the ratio of the per-core rate to the
    engine's (target: at least 0.80);
  * the peak resident memory of backtest (GNU time's %M) at each archive size, and the growth
    per message between them.

No figure is asserted (these machines are shared and noisy); read them in docs/performance.md.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import backtest as gen  # noqa: E402  (the test's archive generator)

SENDER = f"*@{gen.OURS}"


def timed(cmd, stdin=None):
    """Run CMD under GNU time: (user + system seconds, wall seconds, peak RSS in KB, stdout)."""
    fmt = "BENCH %U %S %e %M"
    p = subprocess.run(["/usr/bin/time", "-f", fmt] + cmd, input=stdin, capture_output=True, text=True)
    m = re.search(r"BENCH ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", p.stderr)
    if p.returncode > 3 or m is None:
        sys.exit(f"bench: {' '.join(cmd[:3])} failed ({p.returncode}): {p.stderr[-400:]}")
    return float(m.group(1)) + float(m.group(2)), float(m.group(3)), int(m.group(4)), p.stdout


def make_archive(n, tmp, seed, with_files):
    """An mbox of N generated messages; with WITH_FILES, the replies also as .eml files."""
    archive = gen.Archive("tests/corpus", n, gen.random.Random(seed))
    d = os.path.join(tmp, f"a{n}")
    os.makedirs(d)
    mbox, replies = os.path.join(d, "sent.mbox"), []
    with open(mbox, "wb") as f:
        for i, m in enumerate(archive.msgs):
            f.write(b"From sender@example Thu Jan  1 00:00:00 2026\n")
            f.write(re.sub(rb"(?m)^(>*From )", rb">\1", m["raw"]))
            f.write(b"\n")
            if with_files and m["kind"] == "reply":
                replies.append(os.path.join(d, f"m{i:06d}.eml"))
                with open(replies[-1], "wb") as r:
                    r.write(m["raw"])
    return mbox, replies


def judged(stdout):
    m = re.search(r"(\d+) judged", stdout)
    return int(m.group(1)) if m else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ctl", default="build/apologyctl")
    ap.add_argument("--policy", default="policies/default.yaml")
    ap.add_argument("--big", type=int, default=0, help="also an archive of this many messages")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best of each is kept")
    a = ap.parse_args()
    cpus = os.cpu_count() or 1
    tmp = tempfile.mkdtemp(prefix="bench-backtest-")
    try:
        sizes = [1000, 10000] + ([a.big] if a.big else [])
        archives = {n: make_archive(n, tmp, n, n == 10000) for n in sizes}
        print(f"backtest benchmark: {cpus} CPUs, archives of {', '.join(f'{n:,}' for n in sizes)} messages")

        files = archives[10000][1]
        check = [a.ctl, "check", "--format", "json", "--policy", a.policy]
        base = [a.ctl, "backtest", "--policy", a.policy, "--sender", SENDER]
        mbox = archives[10000][0]
        runs = {"check": check + files, "start": check + files[:1]}
        for jobs in sorted({1, cpus}):
            runs[f"jobs{jobs}"] = base + ["--jobs", str(jobs), mbox]
        runs["against"] = base + ["--against", a.policy, "--jobs", str(cpus), mbox]
        best = {}
        for _ in range(a.rounds):  # interleaved, the best of each (the machine is shared)
            for name, cmd in runs.items():
                cpu, wall, _, out = timed(cmd)
                n = judged(out) if name not in ("check", "start") else len(files)
                old = best.get(name)
                if old is None or cpu < old[0]:
                    best[name] = (cpu, wall, n)
        start = best["start"][0]
        engine = (len(files) - 1) / max(best["check"][0] - start, 1e-3)
        print(f"engine, one core (check, {len(files)} files in one process, less its start-up of {start:.2f} s): "
              f"{engine:8.0f} msg per CPU-second")
        for jobs in sorted({1, cpus}):
            cpu, wall, n = best[f"jobs{jobs}"]
            print(f"backtest --jobs {jobs}, 10,000 messages ({n} judged): {n / cpu:8.0f} msg per CPU-second, "
                  f"{n / wall:8.0f} msg/s wall; per core {n / cpu / engine:.2f} of the engine's (target >= 0.80)")
        cpu, wall, n = best["against"]
        print(f"backtest --against (two policies), 10,000 messages: {n / cpu:8.0f} msg per CPU-second "
              f"({n / cpu / engine:.2f} of the engine's single-policy rate)")

        peaks = {}
        for n in sizes:
            _, _, peaks[n], _ = timed([a.ctl, "backtest", "--policy", a.policy, "--sender", SENDER, "--jobs", str(cpus),
                                       archives[n][0]])
            print(f"peak memory, {n:>7,} messages: {peaks[n] / 1024:6.1f} MB")
        for n in sizes[1:]:
            grow = (peaks[n] - peaks[1000]) * 1024 / (n - 1000)
            print(f"  growth from 1,000 to {n:,}: {grow:.0f} bytes per message (the index; messages are "
                  f"read one at a time)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
