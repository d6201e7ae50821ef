#!/usr/bin/env python3
"""A policy cut short must never load quietly.  Cuts POLICY after every line (0 lines to all but
the last) and checks each cut against the whole file:

    CTL policy check --against WHOLE CUT...

Each cut must be refused, either by `policy check` itself (an error line "CUT:line:col: ...": a
YAML error, a missing section) or by the comparison ("apologyctl: CUT shrinks: ...": a rule gone,
a phrase list emptied, a model dropped, more than half of the patterns lost).  A cut accepted, a
crash, or the whole file not passing against itself is a failure.  The cuts are checked in one
apologyctl run per CPU, so the whole file is loaded once per run.

    python3 tests/policy_truncate.py --ctl build/apologyctl --policy policies/default.yaml

Closing line: "truncate: N cuts, N refused by policy check, N by --against, M failed".
"""
import argparse
import concurrent.futures
import glob
import os
import shutil
import subprocess
import sys
import tempfile


def run(ctl, whole, paths):
    return subprocess.run([ctl, "policy", "check", "--against", whole, *paths],
                          capture_output=True, text=True, timeout=600)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ctl", default="build/apologyctl")
    ap.add_argument("--policy", default="policies/default.yaml")
    args = ap.parse_args()
    ctl = os.path.abspath(args.ctl)
    lines = open(args.policy, encoding="utf-8").read().splitlines(keepends=True)

    tmp = tempfile.mkdtemp(prefix="policy-truncate-")
    failed = 0
    by_check = by_against = 0
    try:
        # the models the policy names live beside it
        here = os.path.dirname(os.path.abspath(args.policy))
        for model in glob.glob(os.path.join(here, "*.model")) + glob.glob(os.path.join(here, "*.enc")):
            os.symlink(model, os.path.join(tmp, os.path.basename(model)))
        whole = os.path.join(tmp, "whole.yaml")
        with open(whole, "w", encoding="utf-8") as f:
            f.writelines(lines)
        p = run(ctl, whole, [whole])
        if p.returncode != 0:
            failed += 1
            print(f"FAIL the whole policy against itself: exit {p.returncode}\n{p.stderr}")
        cuts = []
        for n in range(len(lines)):
            path = os.path.join(tmp, f"cut-{n:04d}.yaml")
            with open(path, "w", encoding="utf-8") as f:
                f.writelines(lines[:n])
            cuts.append(path)
        jobs = max(2, os.cpu_count() or 1)
        groups = [cuts[i::jobs] for i in range(jobs)]
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            for group, p in zip(groups, pool.map(lambda g: run(ctl, whole, g), groups)):
                if p.returncode not in (65, 78) or "Sanitizer" in p.stderr:
                    failed += 1
                    print(f"FAIL apologyctl exit {p.returncode} on {len(group)} cuts")
                err = p.stderr.splitlines()
                for path in group:
                    n = int(path[-9:-5])
                    if any(line.startswith(path + ":") for line in err):
                        by_check += 1
                    elif f"apologyctl: {path} shrinks: " in p.stderr:
                        by_against += 1
                    else:
                        failed += 1
                        print(f"FAIL {args.policy} cut after line {n} is accepted")
    finally:
        shutil.rmtree(tmp)
    print(f"truncate: {len(lines)} cuts, {by_check} refused by policy check, {by_against} by --against, "
          f"{failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
