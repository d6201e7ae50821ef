#!/usr/bin/env python3
"""Texts for the gate's "answers" class, one "answers<TAB>TEXT" per line.

With N > 0: N pseudo-replies, each two to six sentences drawn with a fixed seed from the reply sentences of the
given files.  This wrote policies/training/replies/pseudo-replies.tsv once (N = 1500, every sentences/*.tsv of the
time); `make train` reads that file as it is, so a new sentence file changes the sentence model only and does not
redraw the `answers` class.  Run it again only to redraw that class on purpose, and measure the result.

With --replies: the whole replies of policies/training/replies/*.jsonl as they are (`make train` runs it with N = 0).

usage: compose_replies.py N [SENTENCES.tsv...] [--replies FILE.jsonl...]
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
