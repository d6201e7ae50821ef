"""The complaint's own words on real text, without a reply's: each complaint and each ordinary item of the shared
development set judged as inbound mail from a client, as the daemon judges mail when it arrives.

usage: eval_inbound.py --ctl build/apologyctl --policy policies/default.yaml --items ITEMS.jsonl [--verbose]

run_real.py measures the complaint gate under a reply: a neutral acknowledgement quoting each complaint, whose own
words are added to the complaint's (models.thread-lift).  That figure moves when the acknowledgement alone reads
more or less like an answer, whatever the gate makes of the complaint.  Here no reply's words count: each item is
the body of a message from the client (`apologyctl check --as-inbound`; the models and the complaint phrases of
its text and subject decide, as on arrival), and the line printed says how many complaints and how many ordinary
items are taken for complaints, and how many more fall within 1 logit of the bar (and, on a second line, how many
reach the bar moved 0 to 3 logits lower).  It also prints how much the
acknowledgement run_real.py uses reads as an answer by itself (its `answers` margin, 0 at the bar) under a calm
quoted line, so a change that only moves that margin shows.  Exits 0 when every item and the acknowledgement were
judged.
"""
import argparse, json, os, subprocess, sys, tempfile

import inbound as inbound_mail  # beside this file

# run_real.py's acknowledgement, word for word
ACK = "Thanks for your message. I will get back to you today."


def answers_margin(ctl, policy, path):
    """The `answers` margin apologyctl check gives the reply at PATH, or None."""
    try:
        r = subprocess.run([ctl, "check", "--format", "json", "--policy", policy, path], capture_output=True,
                           text=True, errors="replace", timeout=60)
        if r.returncode >= 64 or not r.stdout.strip():
            return None
        return (json.loads(r.stdout.splitlines()[0]).get("complaint") or {}).get("answers")
    except (subprocess.TimeoutExpired, json.JSONDecodeError):
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--policy", required=True)
    ap.add_argument("--items", required=True)
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    items = [json.loads(l) for l in open(a.items, encoding="utf-8") if l.strip()]
    items = [i for i in items if i["kind"] in ("complaint", "other")]
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for n, it in enumerate(items):
            paths.append(os.path.join(d, f"{n:04d}.eml"))
            with open(paths[-1], "w", encoding="utf-8") as f:
                f.write("From: Dana Client <dana@client.example>\nTo: Alex Morgan <alex.morgan@agency.example>\n"
                        f"Subject: Your order\nMessage-ID: <{it['id']}@client.example>\n\n{it['text']}\n")
        got = inbound_mail.judge(a.ctl, a.policy, paths)
        ack = os.path.join(d, "ack.eml")
        with open(ack, "w", encoding="utf-8") as f:
            f.write("From: am@agency.example\nTo: client@client.example\nSubject: Re: Your order\n\n"
                    f"{ACK}\n\nOn Mon, Nov 16, 2026 at 9:14 AM, Dana Client <dana@client.example> wrote:\n"
                    "> The meeting is at noon on Thursday, in the usual room.\n")
        margin = answers_margin(a.ctl, a.policy, ack)
    errors = sum(g is None for g in got)
    count = {k: [0, 0, 0, 0] for k in ("complaint", "other")}  # taken, within 1 logit short, all, unclear
    at_least = {k: [0, 0, 0, 0] for k in ("complaint", "other")}  # evidence >= 0, -1, -2, -3
    for it, g in zip(items, got):
        c = count[it["kind"]]
        c[0] += bool(g and g[0])
        c[1] += bool(g and not g[0] and g[1] is not None and g[1] >= -1)
        c[2] += 1
        c[3] += bool(g and g[0] and not g[2])
        for b in range(4):
            at_least[it["kind"]][b] += bool(g and g[1] is not None and g[1] >= -b)
        if a.verbose and g is not None and g[0] != (it["kind"] == "complaint"):
            print(f"  {it['id']}: {it['kind']}, taken for a complaint: {g[0]} (evidence {g[1]})")
    print(f"inbound (no reply's words): complaints taken {count['complaint'][0]}/{count['complaint'][2]} "
          f"({count['complaint'][3]} of them unclear, {count['complaint'][1]} more within 1 logit of the bar), "
          f"ordinary items taken {count['other'][0]}/{count['other'][2]} ({count['other'][3]} unclear, "
          f"{count['other'][1]} more within 1), errors {errors}; "
          f"run_real.py's acknowledgement reads as an answer by "
          f"{'unknown' if margin is None else f'{margin:+.1f}'} (0 is the bar)")
    print("evidence at least 0 / -1 / -2 / -3 logits: complaints "
          f"{' / '.join(map(str, at_least['complaint']))}, ordinary items {' / '.join(map(str, at_least['other']))}")
    return 0 if errors == 0 and margin is not None else 1


if __name__ == "__main__":
    sys.exit(main())
