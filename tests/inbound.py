"""Messages judged as inbound mail from a client, as the daemon judges mail when it arrives (`apologyctl check
--as-inbound`); shared by eval_ham.py and eval_inbound.py."""
import json, subprocess


def judge(ctl, policy, paths, batch=500):
    """For each of PATHS, in order: (taken for a complaint, evidence), or None when it was not judged.  A message
    that does not parse is judged no complaint, as the daemon stores none for it."""
    out = []
    for k in range(0, len(paths), batch):
        part = paths[k:k + batch]
        got = {}
        try:
            r = subprocess.run([ctl, "check", "--as-inbound", "--format", "json", "--policy", policy] + part,
                               capture_output=True, text=True, errors="replace", timeout=600)
            for line in r.stdout.splitlines():
                o = json.loads(line)
                c = o.get("complaint") or {}
                got[o["file"]] = (bool(c.get("detected")), c.get("evidence"))
        except (subprocess.TimeoutExpired, json.JSONDecodeError):
            pass
        out += [got.get(p) for p in part]
    return out
