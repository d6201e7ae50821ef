#!/usr/bin/env python3
"""Pseudo-replies for the gate's "answers" class: each line "answers<TAB>TEXT", TEXT being two to six sentences
drawn (with a fixed seed, so `make train` is reproducible) from the reply sentences in policies/training/sentences/,
plus the replies of policies/training/replies/*.jsonl as they are.

usage: compose_replies.py N SENTENCES.tsv... [--replies FILE.jsonl...]
"""
import json, random, sys


def main():
    n = int(sys.argv[1])
    args = sys.argv[2:]
    reply_files = args[args.index("--replies") + 1:] if "--replies" in args else []
    tsvs = args[:args.index("--replies")] if "--replies" in args else args
    sents = []
    for f in tsvs:
        for line in open(f, encoding="utf-8"):
            tags, _, text = line.rstrip("\n").partition("\t")
            if text:
                sents.append(text)
    rnd = random.Random(20261203)
    for _ in range(n):
        k = rnd.randint(2, 6)
        print("answers\t" + " ".join(rnd.choice(sents) for _ in range(k)))
    for f in reply_files:
        for line in open(f, encoding="utf-8"):
            if line.strip():
                print("answers\t" + json.loads(line)["text"].replace("\t", " ").replace("\n", " \\n "))
    return 0


if __name__ == "__main__":
    sys.exit(main())
