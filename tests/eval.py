#!/usr/bin/env python3
"""Measure apologyctl against the golden corpus: per-rule precision and recall, and the verdict
confusion matrix.

    python3 tests/eval.py --ctl build/apologyctl --policy policies/default.yaml tests/corpus \
        [--only NAME] [-v]

Counts are over messages: for each message whose .expect lists its rules, a rule that fires and
is expected is a true positive, one that fires unexpectedly a false positive, and one expected but
missing a false negative.  A run that crashes or prints no valid JSON counts as firing nothing and
as verdict "error".  Messages expected "any" (malformed input) are left out of the matrix.

Always exits 0 (a report, not a gate), except 2 when apologyctl cannot be run at all.
"""
import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True  # keep tests/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus_run  # noqa: E402

COLUMNS = corpus_run.VERDICTS + ("error",)


def ratio(num, den):
    return f"{num / den:6.3f}" if den else "     -"


def main():
    args = corpus_run.common_args("Per-rule precision/recall and verdict confusion on the corpus.").parse_args()
    if not (os.path.isfile(args.ctl) and os.access(args.ctl, os.X_OK)):
        print(f"eval: cannot run {args.ctl}", file=sys.stderr)
        return 2
    tmpdir = tempfile.mkdtemp(prefix="apology-eval-")
    try:
        cases, problems = corpus_run.collect(args.corpus, tmpdir)
        cases = [c for c in cases if corpus_run.selected(c, args.only)]
        for pr in problems:
            print(f"warning: {pr}")
        results = corpus_run.run_all(cases, args.ctl, args.policy, args.jobs, args.timeout)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)

    if cases and all(r["result"] is None for r in results):
        first = next((r["problems"][0] for r in results if r["problems"]), "no output")
        print(f"eval: apologyctl produced no result for any message ({first})", file=sys.stderr)
        return 2

    tp = {r: 0 for r in corpus_run.RULES}
    fp = dict(tp)
    fn = dict(tp)
    support = dict(tp)
    matrix = {e: {g: 0 for g in COLUMNS} for e in corpus_run.VERDICTS}
    complaint_ok = complaint_n = judged = errors = 0
    for c, r in zip(cases, results):
        if c.expect is None:
            errors += 1
            continue
        exp = c.expect
        if r["result"] is None:
            errors += 1
            if args.verbose:
                print(f"error {c.name}: {'; '.join(r['problems'])}")
        if exp["rules"] is not None:
            judged += 1
            got = r["rules"]
            for rule in corpus_run.RULES:
                e, g = rule in exp["rules"], rule in got
                support[rule] += e
                tp[rule] += e and g
                fp[rule] += g and not e
                fn[rule] += e and not g
            if args.verbose and got != exp["rules"]:
                extra = " ".join("+" + x for x in sorted(got - exp["rules"]))
                missing = " ".join("-" + x for x in sorted(exp["rules"] - got))
                print(f"rules {c.name}: {extra} {missing}".rstrip())
        if exp["verdict"] in matrix:
            matrix[exp["verdict"]][r["verdict"]] += 1
        if exp["complaint"] is not None and r["result"] is not None:
            complaint_n += 1
            cm = r["result"]["complaint"]
            got_c = (cm.get("severity") or "normal") if cm["detected"] else "none"
            complaint_ok += got_c == exp["complaint"]

    print(f"eval: {len(cases)} messages, {judged} with an expected rule set, {errors} without a result")
    print()
    w = max(len(r) for r in corpus_run.RULES)
    print(f"{'rule':<{w}}  {'exp':>4} {'TP':>4} {'FP':>4} {'FN':>4}  {'prec':>6} {'recall':>6}")
    print("-" * (w + 38))
    for rule in corpus_run.RULES:
        print(f"{rule:<{w}}  {support[rule]:4d} {tp[rule]:4d} {fp[rule]:4d} {fn[rule]:4d}  "
              f"{ratio(tp[rule], tp[rule] + fp[rule])} {ratio(tp[rule], tp[rule] + fn[rule])}")
    print("-" * (w + 38))
    TP, FP, FN = sum(tp.values()), sum(fp.values()), sum(fn.values())
    print(f"{'micro':<{w}}  {sum(support.values()):4d} {TP:4d} {FP:4d} {FN:4d}  "
          f"{ratio(TP, TP + FP)} {ratio(TP, TP + FN)}")
    print()
    print("verdict confusion (rows: expected, columns: got)")
    print(f"{'':<10}" + "".join(f"{g:>10}" for g in COLUMNS))
    for e in corpus_run.VERDICTS:
        print(f"{e:<10}" + "".join(f"{matrix[e][g]:10d}" for g in COLUMNS))
    total = sum(sum(row.values()) for row in matrix.values())
    agree = sum(matrix[v][v] for v in corpus_run.VERDICTS)
    print(f"verdict accuracy: {ratio(agree, total).strip()} ({agree}/{total})")
    if complaint_n:
        print(f"complaint accuracy: {ratio(complaint_ok, complaint_n).strip()} ({complaint_ok}/{complaint_n})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
