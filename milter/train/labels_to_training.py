#!/usr/bin/env python3
"""Reviewers' decisions as training lines.

usage: labels_to_training.py sentences|answers|gate [EXPORT.jsonl...]   (default: standard input)

Reads the lines of `apologyctl labels export` and writes training lines
(see policies/training/README.md) on standard output.

`sentences`: partial lines of the sentence model, `~TAGS<TAB>SENTENCE`,
where TAGS says only what the reviewers' decisions show about the sentence.
- A decision that judged no rule right gives nothing: a release with
  nothing marked records every rule wrong, though nobody judged them.
- A finding of a rule about one sentence (blame-third-party, excuse,
  defensive, non-apology) names its sentence (the one of the reply's
  "sentences" spans that holds the finding's start): the rule's tag is
  known there, present when the finding was right, absent when it was
  marked wrong.  (passing-the-buck and over-apology count over the whole
  reply, so their findings say nothing sure about one sentence.)
- A finding of an absence rule that was right says no sentence of the
  reply has the tag: every sentence is known not to.  One marked wrong
  says some sentence has it, but not which: it gives no line.
  (`apology-missing` gives none either way: a hollow apology still carries
  the `apology` tag.)
- A finding of a rule the decision did not judge (not in "right" or
  "wrong") gives nothing.
- A sentence labelled by several decisions keeps what they agree on; a tag
  they disagree on is left unknown.

`answers`: lines `answers<TAB>TEXT` of the gate's `answers` class, the
whole text of each reply whose thread a reviewer judged a complaint (its
complaint judged right on a hold, or a passed near miss judged one the
filter missed): it answered a complaint, whatever its faults.  A reply
whose thread was judged no complaint gives none.  Where the export says
nothing of the complaint (decisions recorded before reviewers judged it),
a reply returned to its author or discarded counts (the hold was right),
a released one does not (the hold may have been wrong because there was
no complaint at all).

`gate`: lines of the gate's files, `LABEL<TAB>TEXT`, TEXT the quoted
history the gate read (the export's "complaint" "text"): `none` where the
reviewer judged the thread no complaint (a hold marked so: the gate's
false alarm; a near miss judged none), the severity the daemon gave it
where it was judged a complaint (`normal` for a near miss the gate missed,
which it gave none).  A complaint nobody judged (a release with nothing
marked) and one with no quoted text give none; texts judged both a
complaint and none are left out (judged normal and serious, they are
serious).  (A complaint the daemon stored on arrival was the gate's call too,
on the message itself; the reply's quoted history holds its words.)

Counts go to standard error.  Output is sorted, so the same export gives
the same file.
"""
import json
import sys

# The rule of each finding and the sentence tag it reads (docs/models.md).
SENTENCE_RULES = {
    "blame-third-party": "blame",
    "excuse": "excuse",
    "defensive": "defensive",
    "non-apology": "hollow",
}
# Labels of the complaint gate, not of a rule (holds/labeling.h).
GATE_LABELS = {"complaint", "near-miss"}
ABSENCE_RULES = {
    "no-ownership": "own",
    "no-remedy": "remedy",
    "no-prevention": "prevent",
    "no-call-offer": "call",
}


def escape(text):
    """TEXT kept as it is on a training line: the trainer reads the two
    characters backslash and n as a line break, so a backslash before an n
    gets a space after it."""
    return text.replace("\\n", "\\ n")


def clean(text):
    """A sentence on one training line: no tabs or line breaks."""
    return escape(" ".join(text.split()))


def one_line(text):
    """A whole reply on one training line, its line breaks kept as backslash
    and n (the engine cuts sentences at some single line breaks too)."""
    lines = [" ".join(line.split()) for line in escape(text).splitlines()]
    return " \\n ".join(lines).strip()


def reply_labels(reply):
    """(sentence, tag, present) for one exported reply."""
    text, spans = reply.get("text"), reply.get("sentences")
    if not text or not spans or not set(reply.get("right") or []) - GATE_LABELS:
        return  # no rule judged right: perhaps no rule judged at all
    raw = text.encode("utf-8")

    def sentence(start, end):
        return clean(raw[start:end].decode("utf-8", errors="replace"))

    judged = set(reply["right"]) | set(reply.get("wrong") or [])
    for f in reply.get("findings", []):
        rule, wrong = f.get("rule"), bool(f.get("wrong"))
        if rule not in judged:
            continue  # nobody judged it
        if rule in SENTENCE_RULES:
            for start, end in spans:
                if start <= f.get("start", -1) < end:
                    yield sentence(start, end), SENTENCE_RULES[rule], not wrong
                    break
        elif rule in ABSENCE_RULES and not wrong:
            for start, end in spans:
                yield sentence(start, end), ABSENCE_RULES[rule], False


def read_lines(path, stream):
    for n, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except ValueError as e:
            sys.exit(f"labels_to_training: {path}:{n}: not a JSON line: {e}")


def read_export(paths):
    for path in paths or ["-"]:
        if path == "-":
            yield from read_lines(path, sys.stdin)
        else:
            with open(path, encoding="utf-8") as stream:
                yield from read_lines(path, stream)


def sentence_lines(replies):
    known = {}  # sentence -> {tag: set of present/absent}
    for reply in replies:
        for text, tag, present in reply_labels(reply):
            if text:
                known.setdefault(text, {}).setdefault(tag, set()).add(present)
    lines, disputed = [], 0
    for text, tags in known.items():
        agreed = {t: v.pop() for t, v in tags.items() if len(v) == 1}
        disputed += len(tags) - len(agreed)
        if agreed:
            names = ",".join(t if agreed[t] else "!" + t for t in sorted(agreed))
            lines.append(f"~{names}\t{text}")
    return lines, f"{len(lines)} sentences, {disputed} tags left out where decisions disagree"


def complaint_label(reply):
    """Whether the reviewer judged the reply's thread a complaint: True,
    False, or None (not judged).  The export says whether the daemon took it
    for one ("detected": a hold) and whether the reviewer found that wrong."""
    complaint = reply.get("complaint") or {}
    wrong = complaint.get("wrong")
    return None if wrong is None else complaint.get("detected", True) != wrong


def answer_lines(replies):
    lines = set()
    for reply in replies:
        text, label = reply.get("text"), complaint_label(reply)
        if text and text.strip() and (label or (label is None and reply.get("decision") in ("return", "discard"))):
            lines.add("answers\t" + one_line(text))
    return lines, f"{len(lines)} replies that answer a complaint"


def gate_lines(replies):
    known = {}  # quoted text -> set of labels
    for reply in replies:
        complaint, label = reply.get("complaint") or {}, complaint_label(reply)
        text = one_line(complaint.get("text") or "")
        if label is None or not text:
            continue
        known.setdefault(text, set()).add((complaint.get("severity") or "normal") if label else "none")
    lines = set()
    for text, labels in known.items():
        if labels == {"normal", "serious"}:
            labels = {"serious"}  # a complaint both times: the graver call
        if len(labels) == 1:
            lines.add(f"{labels.pop()}\t{text}")
    none = sum(1 for line in lines if line.startswith("none\t"))
    return lines, (f"{len(lines) - none} complaints, {none} threads that were none, "
                   f"{len(known) - len(lines)} left out where decisions disagree")


def main(argv):
    kinds = {"sentences": sentence_lines, "answers": answer_lines, "gate": gate_lines}
    if len(argv) < 2 or argv[1] not in kinds:
        sys.exit("usage: labels_to_training.py sentences|answers|gate [EXPORT.jsonl...]")
    replies = list(read_export(argv[2:]))
    lines, counts = kinds[argv[1]](replies)
    for line in sorted(lines):
        print(line)
    print(f"labels_to_training: {len(replies)} replies read; {counts}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
