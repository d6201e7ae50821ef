"""Messages judged as inbound mail from a client, as the daemon judges mail when it arrives (`apologyctl check
--as-inbound`); shared by eval_ham.py and eval_inbound.py."""
import json, subprocess, sys


def judge(ctl, policy, paths, batch=500):
    """For each of PATHS, in order: (taken for a complaint, evidence, clear), or None when it was not judged.  A
    message that does not parse is judged no complaint (evidence None), as the daemon stores none for it; clear is
    false for a complaint within models.inbound-margin short of the bar (stored unclear: held only on the thread's own words)."""
    out = []
    for k in range(0, len(paths), batch):
        part = paths[k:k + batch]
        got = {}
        try:
            r = subprocess.run([ctl, "check", "--as-inbound", "--format", "json", "--policy", policy, "--"] + part,
                               capture_output=True, text=True, errors="replace", timeout=600,
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            r = None
        if r is None or r.returncode not in (0, 66):
            print(f"inbound: apologyctl check --as-inbound failed ({'timeout' if r is None else r.returncode}): "
                  f"{'' if r is None else r.stderr[:300]}", file=sys.stderr)
        for line in r.stdout.splitlines() if r else []:
            try:
                o = json.loads(line)
            except json.JSONDecodeError:
                continue
            c = o.get("complaint") or {}
            got[o.get("file")] = (bool(c.get("detected")), c.get("evidence"), bool(c.get("clear")))
        out += [got.get(p) for p in part]
    return out
