"""A message judged as inbound mail from a client, as the daemon judges mail when it arrives (`apologyctl check
--inbound MESSAGE NOTE`); shared by eval_ham.py and eval_inbound.py."""
import json, os, subprocess


def write_note(directory):
    """A plain outgoing note in DIRECTORY, the reply `check --inbound` judges; returns its path."""
    path = os.path.join(directory, "note.eml")
    with open(path, "w") as f:
        f.write("From: am@agency.example\nTo: client@client.example\nSubject: Files\n\nThe files are attached.\n")
    return path


def taken(ctl, policy, path, note):
    """Whether the message at PATH, arriving, is taken for a complaint; None when it was not judged."""
    try:
        r = subprocess.run([ctl, "check", "--format", "json", "--policy", policy, "--inbound", path, note],
                           capture_output=True, text=True, errors="replace", timeout=60)
        if r.returncode >= 64 or not r.stdout.strip():
            return None
        return bool((json.loads(r.stdout.splitlines()[0]).get("complaint") or {}).get("detected"))
    except (subprocess.TimeoutExpired, json.JSONDecodeError):
        return None
