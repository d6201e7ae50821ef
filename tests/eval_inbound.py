#!/usr/bin/env python3
"""The complaint gate on real text, judged on its own: each complaint and each ordinary item of the shared
development set as inbound mail from a client, as the daemon judges mail when it arrives.

usage: eval_inbound.py --ctl build/apologyctl --policy policies/default.yaml --items ITEMS.jsonl [--verbose]

run_real.py measures the gate under a reply: a neutral acknowledgement quoting each complaint, whose own words are
added to the complaint's (models.thread-lift).  That figure moves when the acknowledgement alone reads more or less
like an answer, whatever the gate makes of the complaint.  Here no reply's words count: each item is the body of a
message from the client (`apologyctl check --inbound ITEM NOTE`, NOTE a plain outgoing note), and the line printed
says how many complaints and how many ordinary items are taken for complaints.  It also prints how much the
acknowledgement run_real.py uses reads as an answer by itself (its `answers` margin, 0 at the bar) under a calm
quoted line, so a change that only moves that margin shows.  Always exits 0 when every item was judged.
"""
import argparse, concurrent.futures, json, os, subprocess, sys, tempfile

# run_real.py's acknowledgement, word for word
ACK = "Thanks for your message. I will get back to you today."


def judge(ctl, policy, args):
    """The first JSON object apologyctl check prints, or None."""
    r = subprocess.run([ctl, "check", "--format", "json", "--policy", policy] + args, capture_output=True,
                       text=True, timeout=60)
    if r.returncode >= 64 or not r.stdout.strip():
        return None
    return json.loads(r.stdout.splitlines()[0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--policy", required=True)
    ap.add_argument("--items", required=True)
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    items = [json.loads(l) for l in open(a.items) if l.strip()]
    items = [i for i in items if i["kind"] in ("complaint", "other")]
    with tempfile.TemporaryDirectory() as d:
        note = os.path.join(d, "note.eml")
        with open(note, "w") as f:
            f.write("From: am@agency.example\nTo: client@client.example\nSubject: Files\n\n"
                    "The files are attached.\n")

        def taken(it):
            path = os.path.join(d, it["id"] + ".eml")
            with open(path, "w") as f:
                f.write("From: Dana Client <dana@client.example>\nTo: Alex Morgan <alex.morgan@agency.example>\n"
                        f"Subject: Your order\nMessage-ID: <{it['id']}@client.example>\n\n{it['text']}\n")
            out = judge(a.ctl, a.policy, ["--inbound", path, note])
            return None if out is None else bool((out.get("complaint") or {}).get("detected"))

        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            got = list(pool.map(taken, items))
        ack = os.path.join(d, "ack.eml")
        with open(ack, "w") as f:
            f.write("From: am@agency.example\nTo: client@client.example\nSubject: Re: Your order\n\n"
                    f"{ACK}\n\nOn Mon, Nov 16, 2026 at 9:14 AM, Dana Client <dana@client.example> wrote:\n"
                    "> The meeting is at noon on Thursday, in the usual room.\n")
        ack_out = judge(a.ctl, a.policy, [ack])
    errors = sum(g is None for g in got)
    count = {k: [0, 0] for k in ("complaint", "other")}
    for it, g in zip(items, got):
        count[it["kind"]][0] += bool(g)
        count[it["kind"]][1] += 1
        if a.verbose and g is not (it["kind"] == "complaint"):
            print(f"  {it['id']}: {it['kind']}, taken for a complaint: {g}")
    margin = ((ack_out or {}).get("complaint") or {}).get("answers")
    print(f"inbound (no reply's words): complaints taken {count['complaint'][0]}/{count['complaint'][1]}, "
          f"ordinary items taken {count['other'][0]}/{count['other'][1]}, errors {errors}; "
          f"run_real.py's acknowledgement reads as an answer by "
          f"{'unknown' if margin is None else f'{margin:+.1f}'} (0 is the bar)")
    return 0 if errors == 0 and ack_out is not None else 1


if __name__ == "__main__":
    sys.exit(main())
