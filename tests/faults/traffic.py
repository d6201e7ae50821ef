#!/usr/bin/env python3
"""tests/faults/traffic.py PORT MSGDIR TAG N CONCURRENCY MANIFEST [RATE]

Sends N replies through the submission-like port PORT of the test Postfix, from
CONCURRENCY threads: every other one should be held (tests/e2e/msgs/reply-bad.eml),
the others should pass (reply-good.eml), each with a Message-ID of its own
(TAG-K), message K started no earlier than K/RATE seconds after the first
(RATE per second; as fast as possible without it).  A client that gets a temporary failure (4xx) tries again after a pause,
as a real client keeps its mail; a permanent failure is recorded as refused.
Writes one JSON line per message to MANIFEST: id, kind (hold/pass), result
(accepted/refused/gave-up), tries, start and end (Unix time of the accepted try).
"""
import json, os, smtplib, sys, threading, time

port, msgdir, tag, n, conc, manifest = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
rate = float(sys.argv[7]) if len(sys.argv) > 7 else 0.0
TEMPLATES = {
    "hold": open(os.path.join(msgdir, "reply-bad.eml"), "rb").read(),
    "pass": open(os.path.join(msgdir, "reply-good.eml"), "rb").read(),
}


def message(kind, k):
    mid = f"{tag}-{k}"
    text = TEMPLATES[kind].replace(b"-4471@", ("-%s@" % mid).encode())
    return mid, text


def send_one(kind, k):
    mid, text = message(kind, k)
    rec = {"id": mid, "message_id": "reply-%s-%s@acme.example" % ("bad" if kind == "hold" else "good", mid),
           "kind": kind, "tries": 0, "result": "gave-up"}
    for attempt in range(40):
        rec["tries"] = attempt + 1
        start = time.time()
        try:
            with smtplib.SMTP("127.0.0.1", int(port), timeout=400) as s:
                s.ehlo("client.test")
                s.sendmail("sam@acme.example", ["dana@client.example"], text)
            rec.update(result="accepted", start=start, end=time.time())
            return rec
        except smtplib.SMTPResponseException as e:
            code = e.smtp_code
        except smtplib.SMTPRecipientsRefused as e:
            code = list(e.recipients.values())[0][0]
        except (OSError, smtplib.SMTPException):
            code = 421
        if 500 <= code < 600:
            rec.update(result="refused", code=code)
            return rec
        time.sleep(0.5)
    return rec


def main():
    jobs = list(range(n))
    out = []
    lock = threading.Lock()
    t0 = time.time()

    def worker():
        while True:
            with lock:
                if not jobs:
                    return
                k = jobs.pop(0)
            if rate:
                time.sleep(max(0.0, t0 + k / rate - time.time()))
            rec = send_one("hold" if k % 2 == 0 else "pass", k)
            with lock:
                out.append(rec)

    threads = [threading.Thread(target=worker) for _ in range(conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(manifest, "w") as f:
        for rec in sorted(out, key=lambda r: r["id"]):
            f.write(json.dumps(rec) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
