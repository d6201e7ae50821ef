#!/usr/bin/env python3
"""Golden corpus runner: judge every tests/corpus/NAME.eml with apologyctl and compare the result
with NAME.expect.

    python3 tests/corpus_run.py --ctl build/apologyctl --policy policies/default.yaml tests/corpus \
        [--only NAME] [-v]

For each message the runner executes

    CTL check --format json --policy POLICY [--now T] [--history FILE] NAME.eml

with a time limit, parses the one-line JSON object it prints, checks that the exit status matches
the verdict (0 pass, 1 advise, 2 hold, 3 unchecked), and compares verdict, complaint, the exact set
of rules and the expected spans.  A crash (signal, sanitizer report, bad exit status, invalid JSON)
is a failure.  Messages too large to keep in git are written by CORPUS/malformed/generate.py into
a temporary directory at start and judged as malformed/NAME.

NAME.expect, one key per line ('#' starts a comment line):

    verdict: pass|advise|hold|unchecked|any     required; "any" = judged or unchecked, must not crash
    complaint: none|normal|serious              optional; none <=> complaint.detected is false
    rules: RULE RULE ...                        optional; the COMPLETE set of rules that must fire
                                                (empty after the colon: no rule may fire)
    span: RULE "words"                          repeatable; some RULE finding's excerpt contains words
                                                (case-insensitive, quotes and spaces folded)
    now: 2026-03-04T10:00:00Z                   optional; passed as --now
    history: 2026-02-01T10:00:00Z delivery[,quality...]
                                                repeatable; earlier apologies by the same sender to
                                                this client, written to a file passed as --history

Standard library only.  The last line of output is always "corpus: N passed, M failed"; the exit
status is 1 when anything failed.
"""
import argparse
import concurrent.futures
import datetime
import fnmatch
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

RULES = (
    "apology-missing", "non-apology", "blame-third-party", "excuse", "defensive", "no-ownership",
    "no-remedy", "no-prevention", "passing-the-buck", "no-call-offer", "late-reply",
    "repeat-apology", "over-apology",
)
VERDICTS = ("pass", "advise", "hold", "unchecked")
EXIT_STATUS = {"pass": 0, "advise": 1, "hold": 2, "unchecked": 3}
SEVERITIES = ("none", "normal", "serious")
KINDS = ("delivery", "quality", "billing", "outage", "communication")
TIMEOUT = 30.0
SANITIZER_MARKS = (
    "ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "ERROR: ThreadSanitizer",
    "ERROR: MemorySanitizer", "SUMMARY: UndefinedBehaviorSanitizer", "runtime error:",
)


class ExpectError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# .expect files

def parse_time(value):
    try:
        t = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise ExpectError(f"not an RFC 3339 time: {value!r}")
    if t.tzinfo is None:
        raise ExpectError(f"time without a zone: {value!r}")
    return t


def parse_expect(path):
    """Return the expectations in PATH as a dict; raise ExpectError on a bad file."""
    exp = {"verdict": None, "complaint": None, "rules": None, "spans": [], "now": None, "history": []}
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        where = f"{os.path.basename(path)}:{n}"
        if not sep:
            raise ExpectError(f"{where}: expected 'key: value'")
        if key in ("verdict", "complaint", "rules", "now") and exp[key] is not None:
            raise ExpectError(f"{where}: '{key}' given twice")
        if key == "verdict":
            if value not in VERDICTS + ("any",):
                raise ExpectError(f"{where}: unknown verdict {value!r}")
            exp["verdict"] = value
        elif key == "complaint":
            if value not in SEVERITIES:
                raise ExpectError(f"{where}: unknown complaint {value!r}")
            exp["complaint"] = value
        elif key == "rules":
            rules = value.split()
            for r in rules:
                if r not in RULES:
                    raise ExpectError(f"{where}: unknown rule {r!r}")
            exp["rules"] = set(rules)
        elif key == "span":
            m = re.fullmatch(r'(\S+)\s+"(.+)"', value)
            if not m or m.group(1) not in RULES:
                raise ExpectError(f'{where}: expected span: RULE "words"')
            exp["spans"].append((m.group(1), m.group(2)))
        elif key == "now":
            parse_time(value)
            exp["now"] = value
        elif key == "history":
            parts = value.split()
            if len(parts) != 2:
                raise ExpectError(f"{where}: expected history: TIME kind[,kind]")
            parse_time(parts[0])
            for k in parts[1].split(","):
                if k not in KINDS:
                    raise ExpectError(f"{where}: unknown failure kind {k!r}")
            exp["history"].append(f"{parts[0]} {parts[1]}")
        else:
            raise ExpectError(f"{where}: unknown key {key!r}")
    if exp["verdict"] is None:
        raise ExpectError(f"{os.path.basename(path)}: no 'verdict:' line")
    for rule, _ in exp["spans"]:
        if exp["rules"] is not None and rule not in exp["rules"]:
            raise ExpectError(f"{os.path.basename(path)}: span for {rule}, which is not in rules")
    return exp


# ---------------------------------------------------------------------------------------------
# Finding the cases

class Case:
    def __init__(self, name, eml, expect_path):
        self.name, self.eml, self.expect_path = name, eml, expect_path
        self.expect = None
        self.error = None          # a problem with the case itself (bad .expect, missing file)


def collect(corpus, tmpdir):
    """Return the sorted cases under CORPUS plus those generate.py writes into TMPDIR."""
    cases, problems = {}, []
    roots = [(corpus, "")]
    gen = os.path.join(corpus, "malformed", "generate.py")
    if os.path.exists(gen):
        out = os.path.join(tmpdir, "malformed")
        try:
            subprocess.run([sys.executable, gen, out], check=True, timeout=120,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            roots.append((tmpdir, ""))
        except (subprocess.SubprocessError, OSError) as e:
            problems.append(f"malformed/generate.py failed: {e}")
    for root, _ in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for fn in sorted(filenames):
                if not fn.endswith(".eml"):
                    continue
                eml = os.path.join(dirpath, fn)
                name = os.path.relpath(eml, root)[:-4].replace(os.sep, "/")
                c = Case(name, eml, eml[:-4] + ".expect")
                if name in cases:
                    c.error = "generated message has the same name as a committed one"
                elif not os.path.exists(c.expect_path):
                    c.error = "missing .expect file"
                else:
                    try:
                        c.expect = parse_expect(c.expect_path)
                    except (ExpectError, OSError, UnicodeDecodeError) as e:
                        c.error = f"bad .expect: {e}"
                cases[name] = c
    return [cases[k] for k in sorted(cases)], problems


def selected(case, only):
    if not only:
        return True
    base = case.name.rsplit("/", 1)[-1]
    return any(case.name == o or base == o or fnmatch.fnmatch(case.name, o) or fnmatch.fnmatch(base, o)
               for o in only)


# ---------------------------------------------------------------------------------------------
# Running one case

def child_env():
    env = dict(os.environ)
    # A sanitizer report must never look like a verdict (ASan's default exit status is 1).
    env.setdefault("ASAN_OPTIONS", "exitcode=86")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1:exitcode=87")
    env.setdefault("LSAN_OPTIONS", "exitcode=88")
    return env


def schema_problems(obj):
    """Return a list of ways OBJ differs from the documented JSON output."""
    p = []
    if not isinstance(obj, dict):
        return ["output is not a JSON object"]
    for key in ("file", "verdict", "score", "complaint", "findings"):
        if key not in obj:
            p.append(f"missing '{key}'")
    if p:
        return p
    if obj["verdict"] not in VERDICTS:
        p.append(f"unknown verdict {obj['verdict']!r}")
    if not isinstance(obj["score"], (int, float)) or isinstance(obj["score"], bool):
        p.append("score is not a number")
    c = obj["complaint"]
    if not isinstance(c, dict) or not all(k in c for k in ("detected", "severity", "sent")):
        p.append("complaint must have detected, severity, sent")
    elif not isinstance(c["detected"], bool):
        p.append("complaint.detected is not a boolean")
    if not isinstance(obj["findings"], list):
        return p + ["findings is not a list"]
    for i, f in enumerate(obj["findings"]):
        if not isinstance(f, dict):
            p.append(f"findings[{i}] is not an object")
            continue
        missing = [k for k in ("rule", "severity", "start", "end", "line", "excerpt", "principle", "advice")
                   if k not in f]
        if missing:
            p.append(f"findings[{i}] lacks {', '.join(missing)}")
            continue
        if f["rule"] not in RULES:
            p.append(f"findings[{i}] has unknown rule {f['rule']!r}")
        if not all(isinstance(f[k], int) and not isinstance(f[k], bool) for k in ("start", "end", "line")):
            p.append(f"findings[{i}] start/end/line are not integers")
        elif f["start"] > f["end"]:
            p.append(f"findings[{i}] start > end")
        if not isinstance(f["excerpt"], str):
            p.append(f"findings[{i}] excerpt is not a string")
    return p


def fold(s):
    s = s.casefold()
    for a, b in (("\u2019", "'"), ("\u2018", "'"), ("\u201c", '"'), ("\u201d", '"'),
                 ("\u2013", "-"), ("\u2014", "-"), ("\u00a0", " ")):
        s = s.replace(a, b)
    return " ".join(s.split())


def run_case(case, ctl, policy, timeout=TIMEOUT):
    """Run CTL on CASE.  Return a dict: ok, problems (list of str), result (parsed JSON or None),
    verdict (as printed, 'error' when the run itself failed), rules (set)."""
    out = {"ok": False, "problems": [], "result": None, "verdict": "error", "rules": set()}
    if case.error:
        out["problems"].append(case.error)
        return out
    exp = case.expect
    cmd = [ctl, "check", "--format", "json", "--policy", policy]
    if exp["now"]:
        cmd += ["--now", exp["now"]]
    hist = None
    try:
        if exp["history"]:
            fd, hist = tempfile.mkstemp(prefix="corpus-history-", suffix=".txt")
            with os.fdopen(fd, "w") as f:
                f.write("\n".join(exp["history"]) + "\n")
            cmd += ["--history", hist]
        cmd.append(case.eml)
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=timeout, env=child_env())
        except subprocess.TimeoutExpired:
            out["problems"].append(f"timed out after {timeout:g} s")
            return out
        except OSError as e:
            out["problems"].append(f"cannot run {ctl}: {e}")
            return out
    finally:
        if hist:
            os.unlink(hist)

    stderr = proc.stderr.decode("utf-8", "replace")
    first_err = next((l.strip() for l in stderr.splitlines() if l.strip()), "")
    if proc.returncode < 0:
        try:
            sig = signal.Signals(-proc.returncode).name
        except ValueError:
            sig = str(-proc.returncode)
        out["problems"].append(f"crashed: killed by {sig}" + (f" ({first_err[:160]})" if first_err else ""))
        return out
    mark = next((l.strip() for l in stderr.splitlines() if any(m in l for m in SANITIZER_MARKS)), None)
    if mark:
        out["problems"].append(f"crashed: sanitizer report: {mark[:200]}")
        return out
    if proc.returncode not in EXIT_STATUS.values():
        out["problems"].append(f"exit status {proc.returncode}" + (f": {first_err[:200]}" if first_err else ""))
        return out

    text = proc.stdout.decode("utf-8", "replace")
    lines = [l for l in text.splitlines() if l.strip()]
    if len(lines) != 1:
        out["problems"].append(f"expected one line of JSON on stdout, got {len(lines)}")
        return out
    try:
        obj = json.loads(lines[0])
    except ValueError as e:
        out["problems"].append(f"invalid JSON: {e}")
        return out
    bad = schema_problems(obj)
    if bad:
        out["problems"].append("bad JSON object: " + "; ".join(bad))
        return out
    out["result"] = obj
    got_verdict = obj["verdict"]
    out["verdict"] = got_verdict
    out["rules"] = {f["rule"] for f in obj["findings"]}
    if EXIT_STATUS[got_verdict] != proc.returncode:
        out["problems"].append(f"exit status {proc.returncode} does not match verdict {got_verdict}")

    p = out["problems"]
    if exp["verdict"] != "any" and got_verdict != exp["verdict"]:
        p.append(f"verdict {got_verdict}, expected {exp['verdict']}")
    if exp["complaint"] is not None:
        c = obj["complaint"]
        got_c = (c.get("severity") or "normal") if c["detected"] else "none"
        if exp["complaint"] == "none":
            if c["detected"]:
                p.append(f"complaint {got_c}, expected none")
        elif got_c != exp["complaint"]:
            p.append(f"complaint {got_c}, expected {exp['complaint']}")
    if exp["rules"] is not None:
        extra = sorted(out["rules"] - exp["rules"])
        missing = sorted(exp["rules"] - out["rules"])
        if extra or missing:
            p.append("rules " + " ".join(["+" + r for r in extra] + ["-" + r for r in missing]))
    for rule, words in exp["spans"]:
        excerpts = [f["excerpt"] for f in obj["findings"] if f["rule"] == rule]
        if excerpts and not any(fold(words) in fold(e) for e in excerpts):
            p.append(f'span {rule} "{words}" not in excerpt(s) ' + " | ".join(repr(e[:80]) for e in excerpts))
        elif not excerpts and exp["rules"] is None:
            p.append(f'span {rule} "{words}": no {rule} finding')
    out["ok"] = not p
    return out


def run_all(cases, ctl, policy, jobs, timeout=TIMEOUT):
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as ex:
        futs = [ex.submit(run_case, c, ctl, policy, timeout) for c in cases]
        return [f.result() for f in futs]


def common_args(description):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--ctl", required=True, help="path to apologyctl")
    ap.add_argument("--policy", required=True, help="policy file passed to apologyctl")
    ap.add_argument("corpus", help="corpus directory (tests/corpus)")
    ap.add_argument("--only", action="append", default=[], metavar="NAME",
                    help="run only NAME (name, base name or glob; repeatable)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every case and failing output")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="parallel runs")
    ap.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds per message (default 30)")
    return ap


def main():
    args = common_args("Run the golden corpus through apologyctl.").parse_args()
    tmpdir = tempfile.mkdtemp(prefix="apology-corpus-")
    try:
        cases, problems = collect(args.corpus, tmpdir)
        cases = [c for c in cases if selected(c, args.only)]
        failed = len(problems)
        for pr in problems:
            print(f"FAIL {pr}")
        if not cases and not problems:
            print("no corpus messages selected")
        results = run_all(cases, args.ctl, args.policy, args.jobs, args.timeout)
        passed = 0
        for c, r in zip(cases, results):
            if r["ok"]:
                passed += 1
                if args.verbose:
                    print(f"ok   {c.name}")
                continue
            failed += 1
            print(f"FAIL {c.name}: " + "; ".join(r["problems"]))
            if args.verbose and r["result"] is not None:
                print("     got: " + json.dumps(r["result"], ensure_ascii=False))
        print(f"corpus: {passed} passed, {failed} failed")
        return 1 if failed else 0
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
