#!/usr/bin/env python3
"""tests/faults/count.py MANIFEST SINK_DIR POSTFIX_CONFIG STORE [OUTAGES]

Where every message of MANIFEST (written by traffic.py) went: delivered (a file
in SINK_DIR, smtp-sink -d), held (Postfix's hold queue), still queued, or lost;
and how often each arrived (duplicates).  OUTAGES: a file of "START END" lines
(Unix times) when the daemon was down on purpose; a should-hold reply whose
SMTP transaction overlapped one is counted apart (Postfix's default_action
covers it).  A held message must also be recorded in the daemon's STORE (a
quarantine row with its queue id), or reviewers never see it; STORE is an
SQLite file, or a postgresql:// location (read with psql).  Prints one JSON
object.
"""
import json, os, re, sqlite3, subprocess, sys

manifest, sink, pfconf, store = sys.argv[1:5]
outages = []
if len(sys.argv) > 5 and os.path.exists(sys.argv[5]):
    outages = [tuple(map(float, l.split())) for l in open(sys.argv[5]) if l.strip()]
recs = [json.loads(l) for l in open(manifest)]
MID = re.compile(rb"^Message-ID:\s*<([^>]+)>", re.I | re.M)
CHECK = re.compile(rb"^X-Apology-Check:\s*([a-z]+)", re.I | re.M)

delivered = {}  # message-id -> list of verdict headers (None when absent)
for name in os.listdir(sink):
    data = open(os.path.join(sink, name), "rb").read()
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    m = MID.search(head)
    if m:
        c = CHECK.search(head)
        delivered.setdefault(m.group(1).decode(), []).append(c.group(1).decode() if c else None)

recorded, not_recorded = set(), set()
if store.startswith(("postgresql:", "postgres:")):
    recorded = set(subprocess.run(["psql", store, "-X", "-q", "-A", "-t", "-c", "SELECT queue_id FROM quarantine"],
                                  capture_output=True, text=True, check=True).stdout.split())
elif os.path.exists(store):
    db = sqlite3.connect("file:%s?mode=ro" % store, uri=True, timeout=30)
    recorded = {row[0] for row in db.execute("SELECT queue_id FROM quarantine")}
    db.close()
queued = {}  # message-id -> list of queue names
out = subprocess.run(["postqueue", "-c", pfconf, "-j"], capture_output=True, text=True).stdout
for line in out.splitlines():
    q = json.loads(line)
    body = subprocess.run(["postcat", "-c", pfconf, "-hq", q["queue_id"]], capture_output=True).stdout
    m = MID.search(body)
    if m:
        queued.setdefault(m.group(1).decode(), []).append(q["queue_name"])
        if q["queue_name"] == "hold" and q["queue_id"] not in recorded:
            not_recorded.add(m.group(1).decode())

r = dict(sent=0, refused=0, gave_up=0, delivered=0, held=0, queued=0, lost=0, duplicated=0,
         should_hold=0, should_hold_held=0, should_hold_passed_unjudged=0, should_hold_passed_in_outage=0,
         unchecked=0, held_not_recorded=0, seconds=0.0)
accepted = [rec for rec in recs if rec["result"] == "accepted"]
if accepted:
    r["seconds"] = round(max(x["end"] for x in accepted) - min(x["start"] for x in accepted), 1)
for rec in recs:
    if rec["result"] != "accepted":
        r["refused" if rec["result"] == "refused" else "gave_up"] += 1
        continue
    r["sent"] += 1
    mid = rec["message_id"]
    d, q = delivered.get(mid, []), queued.get(mid, [])
    if len(d) + len(q) > 1:
        r["duplicated"] += 1
    if d:
        r["delivered"] += 1
        r["unchecked"] += d[0] in (None, "unchecked")
    elif "hold" in q:
        r["held"] += 1
        r["held_not_recorded"] += mid in not_recorded
    elif q:
        r["queued"] += 1
    else:
        r["lost"] += 1
    if rec["kind"] == "hold":
        r["should_hold"] += 1
        if "hold" in q:
            r["should_hold_held"] += 1
        elif d and d[0] != "hold":
            in_outage = any(rec["start"] <= b and rec["end"] >= a for a, b in outages)
            r["should_hold_passed_in_outage" if in_outage else "should_hold_passed_unjudged"] += 1
print(json.dumps(r))
