"""The daemon's own path on real text: each reply of the shared development set judged as the milter judges it when it
saw the complaint arrive first, and stored what it made of it.

usage: eval_daemon.py --ctl build/apologyctl --policy policies/default.yaml --run-real ../shared/eval/run_real.py
                      [--items ITEMS.jsonl] [--verbose]

run_real.py judges each reply with nothing stored: only the quoted complaint and the reply's own words tell the
gate that the thread answers a complaint (and, with --given-complaint, the gate is skipped).  On a mail server
whose inbound mail passes the milter too, the complaint arrives first: the milter judges it on arrival and stores
it (clear, unclear, or not at all), and the reply is judged against what was stored.  Here each reply is wrapped
exactly as run_real.py wraps it (its functions are imported, so the pairing of replies with complaints is the
same), the complaint it quotes is written as the client's inbound message, and the reply is judged with
`apologyctl check --inbound` that message.  Each ordinary item is judged the same way as a reply quoting the next
ordinary item, which arrived first.  Prints the verdict agreement, the rules' macro-F1 (run_real.py's rules), how
the complaints were stored, and the ordinary items flagged.  Exits 0 when every message was judged.
"""
import argparse, importlib.util, json, os, subprocess, sys, tempfile, datetime

import inbound as inbound_mail  # beside this file


def load_run_real(path):
    spec = importlib.util.spec_from_file_location("run_real", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def inbound_eml(rr, ident, text, subject):
    """ITEM's text as the client's message that run_real.py's reply quotes (its In-Reply-To names it)."""
    h = ["From: Dana Client <dana@client.example>", "To: Alex Morgan <alex.morgan@agency.example>",
         f"Subject: {subject}", f"Date: {rr.email.utils.format_datetime(rr.BASE)}",
         f"Message-ID: <orig-{ident}@client.example>", "MIME-Version: 1.0",
         "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
    return "\r\n".join(h) + "\r\n\r\n" + text.strip().replace("\n", "\r\n") + "\r\n"


def check(ctl, policy, now, reply, inbound):
    r = subprocess.run([ctl, "check", "--format", "json", "--now", now, "--policy", policy, "--inbound", inbound,
                        reply], capture_output=True, text=True, errors="replace", timeout=60,
                       stdin=subprocess.DEVNULL)
    if r.returncode >= 64 or not r.stdout.strip():
        return None
    try:
        return json.loads(r.stdout.splitlines()[0])
    except json.JSONDecodeError:
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--policy", required=True)
    ap.add_argument("--run-real", required=True)
    ap.add_argument("--items")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    rr = load_run_real(a.run_real)
    items_path = a.items or os.path.join(os.path.dirname(os.path.abspath(a.run_real)), "real", "items.jsonl")
    items = [json.loads(l) for l in open(items_path, encoding="utf-8") if l.strip()]
    complaints = [i for i in items if i["kind"] == "complaint"]
    hard = [c for c in complaints if rr.serious(c)] or complaints
    soft = [c for c in complaints if not rr.serious(c)] or complaints
    others = [i for i in items if i["kind"] == "other"]
    now = (rr.BASE + datetime.timedelta(hours=2, minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    counts = {r: [0, 0, 0] for r in rr.RULES}
    ok = n = errors = flagged = 0
    stored = {"clear": 0, "unclear": 0, "none": 0}
    confusion = {}
    with tempfile.TemporaryDirectory() as d:
        def write(name, text):
            path = os.path.join(d, name)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            return path

        replies = []
        for k, it in enumerate(i for i in items if i["kind"] == "reply"):
            pool = hard if it["labels"].get("no-call-offer") else soft
            c = pool[k % len(pool)]  # run_real.py's pairing
            subject = (c.get("context") or "Your order")[:60]
            inbound = write(f"{it['id']}-in.eml", inbound_eml(rr, it["id"], c["text"], subject))
            reply = write(f"{it['id']}.eml", rr.eml(it["id"], it["text"], quoted=c["text"], subject=subject))
            replies.append((it, inbound, reply))
        # what the milter stored of each complaint on arrival
        arrived = inbound_mail.judge(a.ctl, a.policy, [r[1] for r in replies])
        for (it, inbound, reply), got_in in zip(replies, arrived):
            out = check(a.ctl, a.policy, now, reply, inbound)
            if out is None or got_in is None:
                errors += 1
                continue
            cpl = out.get("complaint") or {}
            stored["none" if not got_in[0] else "clear" if got_in[2] else "unclear"] += 1
            got = {f.get("rule") for f in out.get("findings", [])}
            for r in rr.RULES:
                want, has = bool(it["labels"].get(r)), r in got
                counts[r][0] += want and has
                counts[r][1] += has and not want
                counts[r][2] += want and not has
            v = out.get("verdict")
            n += 1
            ok += v == it["verdict"]
            confusion[(it["verdict"], v)] = confusion.get((it["verdict"], v), 0) + 1
            if a.verbose and v != it["verdict"]:
                print(f"  {it['id']}: want {it['verdict']} got {v}; complaint {json.dumps(cpl)[:160]}")
        for k, it in enumerate(others):
            prev = others[(k + 1) % len(others)]
            inbound = write(f"{it['id']}-in.eml", inbound_eml(rr, it["id"], prev["text"], "Next steps"))
            reply = write(f"{it['id']}.eml", rr.eml(it["id"], it["text"], quoted=prev["text"], subject="Next steps"))
            out = check(a.ctl, a.policy, now, reply, inbound)
            if out is None:
                errors += 1
                continue
            if out.get("verdict") != "pass":
                flagged += 1
                if a.verbose:
                    print(f"  ordinary flagged {it['id']}: {out.get('verdict')}")
    f1s = [rr.f1(*counts[r])[2] for r in rr.RULES]
    print("verdict confusion (want -> got):", {f"{k[0]}->{k[1]}": v for k, v in sorted(confusion.items(), key=str)})
    print(f"daemon path: verdict {ok / n if n else 0:.2f} ({ok}/{n}), rules macro-F1 {sum(f1s) / len(f1s):.2f}, "
          f"complaints stored on arrival clear {stored['clear']}, unclear {stored['unclear']}, "
          f"not stored {stored['none']} (of {n} replies), ordinary replies flagged {flagged}/{len(others)}, "
          f"errors {errors}")
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
