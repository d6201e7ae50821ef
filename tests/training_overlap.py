#!/usr/bin/env python3
"""Check that the project's training sources do not echo the evaluation texts.

usage: training_overlap.py EVAL_ITEMS.jsonl FILE...

FILE is a training source (`LABEL<TAB>TEXT` lines, or JSON lines with `complaint` and `text`).  Every sentence of
every training text is compared with every sentence of the evaluation items: a training line is reported when one of
its sentences shares at least three content words with an evaluation sentence and either most of them (half of the
shorter sentence's content words, and a character similarity of 0.45) or a character similarity of 0.6.  Stock
phrases ("thank you for your patience") are short and fall under those bars; a copied or closely paraphrased
sentence does not.  Exit 1 when anything is reported.  Nothing of the evaluation set is printed but its item ids.
"""
import difflib, json, re, sys

STOP = set("""a an the and or but if of to in on at for by with from as is was were be been are am i we you they it
this that these those our your their my me us he she his her its not no so do did does have has had will would can
could should may might just very also than then there here what which who when where how all any some such one two
about into over after before up out more most other only own same too s t don re ve ll d m please thank thanks dear
hi hello sorry apologise apologize apologies""".split())


def words(t):
    return re.sub(r"[^a-z0-9' ]+", " ", t.lower().replace("\u2019", "'")).split()


def sentences(t):
    return [s for s in re.split(r"(?<=[.!?])\s+|\n+| \\n ", t) if s.strip()]


def training_texts(path):
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.rstrip("\n")
        if path.endswith(".jsonl"):
            if line.strip():
                d = json.loads(line)
                yield n, d.get("complaint", "") + "\n" + d.get("text", "")
        elif "\t" in line and not line.startswith("#"):
            yield n, line.split("\t", 1)[1]


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 64
    evals = []
    for line in open(sys.argv[1], encoding="utf-8"):
        item = json.loads(line)
        for s in sentences(item["text"]):
            w = words(s)
            if len(w) >= 3:
                evals.append((item["id"], " ".join(w), {x for x in w if x not in STOP}))
    found = checked = 0
    for path in sys.argv[2:]:
        for n, text in training_texts(path):
            checked += 1
            for s in sentences(text):
                w = words(s)
                if len(w) < 3:
                    continue
                joined, content = " ".join(w), {x for x in w if x not in STOP}
                hit = None
                for iid, ejoined, econtent in evals:
                    shared = len(content & econtent)
                    if shared < 3:
                        continue
                    share = shared / max(1, min(len(content), len(econtent)))
                    r = difflib.SequenceMatcher(None, joined, ejoined).ratio()
                    if (share >= 0.5 and r >= 0.45) or r >= 0.6:
                        hit = (iid, share, r)
                        break
                if hit:
                    found += 1
                    print(f"{path}:{n}: close to evaluation item {hit[0]} (content words {hit[1]:.2f}, "
                          f"similarity {hit[2]:.2f})")
                    break
    print(f"training-overlap: {checked} training texts checked, {found} too close to the evaluation texts")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
