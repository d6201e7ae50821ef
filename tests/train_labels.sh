#!/bin/bash
# Reviewers' labels as training data (docs/models.md, "Retraining on a site's own mail"):
# milter/train/labels_to_training.py turns `apologyctl labels export` lines into partial
# sentence lines ("~TAGS"), which apology-train fits each tag on only where they say
# something about it, and into whole replies of the gate's `answers` class.
# usage: tests/train_labels.sh BUILD
set -u
B=${1:-build}
TRAIN=$B/apology-train
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

# Exported replies, written here in the export's form (tests/cli.sh checks the real export
# and its spans).  The first: three sentences, byte spans as the engine cuts this text (at
# ". "), an "ë" before the second so bytes and characters differ; a blame finding judged
# right, an excuse finding judged wrong, a no-remedy finding judged right (no sentence
# names a fix), a no-ownership finding judged wrong (some sentence owns it: which, the label
# does not say), a passing-the-buck finding judged right (the rule counts over the whole
# reply: nothing sure about its sentence) and a defensive finding nobody judged.  The
# second: a release that judged nothing right (all rules wrong: perhaps nobody judged any).
python3 - >"$tmp/export.jsonl" <<'EOF'
import json
t = "Hello Zoë, the printer vendor shipped the wrong toner. Our depot was closed for the holiday. Please read the manual."
b = t.encode()
cuts = [0, b.index(b"Our"), b.index(b"Please"), len(b)]
spans = [[cuts[i], cuts[i + 1] - (1 if i < 2 else 0)] for i in range(3)]
at = lambda s: b.index(s.encode())
print(json.dumps({"id": 1, "decision": "release", "right": ["blame-third-party", "no-remedy", "passing-the-buck"],
                  "wrong": ["excuse", "no-ownership"], "text": t, "sentences": spans, "findings": [
    {"rule": "blame-third-party", "start": at("printer vendor"), "end": at("printer vendor") + 14, "wrong": False},
    {"rule": "excuse", "start": at("closed for"), "end": at("closed for") + 10, "wrong": True},
    {"rule": "no-remedy", "start": 0, "end": spans[0][1], "wrong": False},
    {"rule": "no-ownership", "start": 0, "end": spans[0][1], "wrong": True},
    {"rule": "passing-the-buck", "start": at("Please"), "end": at("Please") + 6, "wrong": False},
    {"rule": "defensive", "start": at("Please"), "end": at("Please") + 6, "wrong": False}]}))
u = "The courier lost your parcel."
print(json.dumps({"id": 2, "decision": "release", "right": [], "wrong": ["blame-third-party"], "text": u,
                  "sentences": [[0, len(u)]], "findings": [
    {"rule": "blame-third-party", "start": 4, "end": 11, "wrong": True}]}))
EOF
python3 milter/train/labels_to_training.py sentences "$tmp/export.jsonl" >"$tmp/labels.tsv" 2>"$tmp/err" || bad "converter exit"
printf '%s\t%s\n' '~!excuse,!remedy' 'Our depot was closed for the holiday.' '~!remedy' 'Please read the manual.' \
	'~blame,!remedy' 'Hello Zoë, the printer vendor shipped the wrong toner.' >"$tmp/want.tsv"
cmp -s "$tmp/labels.tsv" "$tmp/want.tsv" && ok || { bad "converter lines:"; diff "$tmp/want.tsv" "$tmp/labels.tsv"; }
grep -q "2 replies read; 3 sentences, 0 tags left out" "$tmp/err" && ok || bad "converter counts: $(cat "$tmp/err")"

# The trainer: the same small corpus with and without the partial lines.  A tag no
# partial line names is fitted on exactly the same lines, so its bias, threshold and
# weights are the same; the tags they name (blame, excuse, remedy) are not.
base=policies/training/sentences/public-replies-k.tsv
"$TRAIN" sentences "$tmp/without.model" "$base" >/dev/null || bad "training without"
"$TRAIN" sentences "$tmp/with.model" "$base" "$tmp/labels.tsv" >/dev/null || bad "training with"
# Which classes of model $1 and model $2 differ (bias, threshold or any weight).
classes_moved() {
	python3 - "$1" "$2" <<'EOF'
import sys
def load(p):
    classes, rows = [], {}
    for line in open(p):
        f = line.split()
        if f[0] == "classes": classes = f[1:]
        elif f[0] in ("bias", "threshold"): rows[f[0]] = f[1:]
        elif f[0].isdigit(): rows[int(f[0])] = f[1:]
    return classes, rows
(ca, a), (cb, b) = load(sys.argv[1]), load(sys.argv[2])
assert ca == cb
zero = ["0"] * len(ca)
for k, name in enumerate(ca):
    same = all(a.get(key, zero)[k] == b.get(key, zero)[k] for key in set(a) | set(b))
    print(name, "same" if same else "changed")
EOF
}
classes_moved "$tmp/without.model" "$tmp/with.model" >"$tmp/cmp"
want='apology same
hollow same
blame changed
excuse changed
defensive same
own same
remedy changed
prevent same
call same
ask same
grovel same'
[ "$(cat "$tmp/cmp")" = "$want" ] && ok || { bad "tags moved by the partial lines:"; cat "$tmp/cmp"; }

# And each the way its line says: a word found nowhere else weighs for blame after "~blame"
# and against it after "~!blame", against the model without the line.  (The weight's
# bucket is the feature hash of classifier.c: FNV-1a of the namespace "w" and the word.)
weight() {
	python3 - "$1" "$2" "$3" <<'EOF'
import sys
path, word, tag = sys.argv[1:]
h = 2166136261
for byte in b"w" + word.encode():
    h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
h ^= h >> 15
h = (h * 0x2C1B3C6D) & 0xFFFFFFFF
h ^= h >> 12
classes, found = [], 0
for line in open(path):
    f = line.split()
    if f[0] == "classes": classes = f[1:]
    if f[0] == str(h & ((1 << 17) - 1)): found = int(f[1 + classes.index(tag)])
print(found)
EOF
}
printf '~blame\tThe zqxvortex crew forgot your order.\n' >"$tmp/yes.tsv"
printf '~!blame\tThe zqxvortex crew forgot your order.\n' >"$tmp/no.tsv"
"$TRAIN" sentences "$tmp/yes.model" "$base" "$tmp/yes.tsv" >/dev/null || bad "training ~blame"
"$TRAIN" sentences "$tmp/no.model" "$base" "$tmp/no.tsv" >/dev/null || bad "training ~!blame"
w0=$(weight "$tmp/without.model" zqxvortex blame) wy=$(weight "$tmp/yes.model" zqxvortex blame)
wn=$(weight "$tmp/no.model" zqxvortex blame)
[ "$wy" -gt "$w0" ] && [ "$wn" -lt "$w0" ] && ok || bad "blame weight of the word: without $w0, ~blame $wy, ~!blame $wn"
[ "$(weight "$tmp/yes.model" zqxvortex excuse)" = "$(weight "$tmp/without.model" zqxvortex excuse)" ] && ok ||
	bad "~blame moved the excuse weight of the word"
# A class that only partial lines name one way is refused rather than fitted on one label.
printf '~blame\tThe courier lost it.\n~blame\tThe vendor shipped late.\n' >"$tmp/oneway.tsv"
"$TRAIN" sentences "$tmp/x.model" "$tmp/oneway.tsv" >/dev/null 2>"$tmp/err" && bad "one-way labels accepted" ||
	{ grep -q "no text has it" "$tmp/err" && ok || bad "one-way labels: $(cat "$tmp/err")"; }

# Whole replies for `answers`: a reply returned to its author (the hold was right) answered a
# complaint; a released one may have answered none, whatever was marked.  Its line breaks
# stay (as backslash-n), and a backslash before an n is kept from reading as one.
python3 - >"$tmp/answers-export.jsonl" <<'EOF'
import json
print(json.dumps({"id": 2, "decision": "return", "right": ["defensive"], "wrong": [], "findings": [],
                  "text": "Hi Tom,\n\nAs I said twice already, the form in C:\\new was\nfilled in wrong.\n\nRegards"}))
print(json.dumps({"id": 3, "decision": "release", "right": [], "wrong": ["excuse"], "findings": [],
                  "text": "Thanks, the meeting moves to Friday."}))
print(json.dumps({"id": 4, "decision": "release", "right": ["excuse"], "wrong": ["defensive"], "findings": [],
                  "text": "Thanks, the invoice goes out on Monday."}))
# returned for its tone, but the reviewer said the thread was no complaint
print(json.dumps({"id": 5, "decision": "return", "right": ["defensive"], "wrong": ["complaint"], "findings": [],
                  "complaint": {"wrong": True}, "text": "As I told you, the office is closed on Monday."}))
EOF
python3 milter/train/labels_to_training.py answers "$tmp/answers-export.jsonl" >"$tmp/answers.tsv" 2>"$tmp/err" ||
	bad "converter exit (answers)"
printf 'answers\t%s\n' 'Hi Tom, \n  \n As I said twice already, the form in C:\ new was \n filled in wrong. \n  \n Regards' >"$tmp/want.tsv"
cmp -s "$tmp/answers.tsv" "$tmp/want.tsv" && ok || { bad "answers lines:"; diff "$tmp/want.tsv" "$tmp/answers.tsv"; }
# As make train adds them (replies/*.tsv, the gate's --extra): only the answers class moves.
head -300 policies/training/replies/pseudo-replies.tsv >"$tmp/base-answers.tsv"
cat "$tmp/base-answers.tsv" "$tmp/answers.tsv" >"$tmp/site-answers.tsv"
gate=(policies/training/gate/genres-n.tsv policies/training/gate/pairs-j.tsv)
"$TRAIN" gate "$tmp/gate-without.model" --extra "$tmp/base-answers.tsv" "${gate[@]}" >/dev/null 2>"$tmp/train.err" || bad "gate without"
"$TRAIN" gate "$tmp/gate-with.model" --extra "$tmp/site-answers.tsv" "${gate[@]}" >/dev/null 2>"$tmp/train.err" || bad "gate with"
[ "$(classes_moved "$tmp/gate-without.model" "$tmp/gate-with.model" | tr '\n' ' ')" = \
	"complaint same serious same answers changed " ] && ok ||
	bad "gate classes moved by the answers: $(classes_moved "$tmp/gate-without.model" "$tmp/gate-with.model")"

# The gate's own labels: the quoted history of a thread marked as no complaint is a `none`
# line, of one judged a complaint a line of the severity the daemon gave it; a thread nobody
# judged, one with nothing quoted and a text judged both ways give none; a text judged a
# complaint of two severities is the graver.
python3 - >"$tmp/gate-export.jsonl" <<'EOF'
import json
def reply(n, decision, wrong, severity, text):
    return json.dumps({"id": n, "decision": decision, "right": [], "wrong": [], "findings": [], "text": "Hi.",
                       "complaint": {"severity": severity, "stored": False, "clear": True, "text": text,
                                     "wrong": wrong}})
print(reply(1, "release", True, "normal", "Dana Whitfield wrote:\nThe zqxvortex board meets on\nTuesday."))
print(reply(2, "return", False, "serious", "Third zqxvortex delay this month. We will cancel."))
print(reply(3, "release", None, "normal", "Nobody judged this thread."))
print(reply(4, "discard", False, None, ""))
print(reply(5, "return", False, "normal", "Judged both ways."))
print(reply(6, "release", True, "normal", "Judged both ways."))
print(reply(7, "return", False, "normal", "A complaint both times, of two severities."))
print(reply(8, "discard", False, "serious", "A complaint both times, of two severities."))
EOF
python3 milter/train/labels_to_training.py gate "$tmp/gate-export.jsonl" >"$tmp/site-gate.tsv" 2>"$tmp/err" ||
	bad "converter exit (gate)"
printf '%s\t%s\n' none 'Dana Whitfield wrote: \n The zqxvortex board meets on \n Tuesday.' \
	serious 'A complaint both times, of two severities.' \
	serious 'Third zqxvortex delay this month. We will cancel.' >"$tmp/want.tsv"
cmp -s "$tmp/site-gate.tsv" "$tmp/want.tsv" && ok || { bad "gate lines:"; diff "$tmp/want.tsv" "$tmp/site-gate.tsv"; }
grep -q "8 replies read; 2 complaints, 1 threads that were none, 1 left out" "$tmp/err" && ok ||
	bad "gate counts: $(cat "$tmp/err")"
# As make train reads them (one more gate/*.tsv): each line moves the complaint class the way
# it says.  The word of each line is found nowhere else in the training data.
printf 'none\tThe zqxvortex board meets on Tuesday.\n' >"$tmp/site-none.tsv"
printf 'normal\tThe zqxvortex order is late for the third time and nobody called.\n' >"$tmp/site-normal.tsv"
"$TRAIN" gate "$tmp/gate-none.model" --extra "$tmp/base-answers.tsv" "${gate[@]}" "$tmp/site-none.tsv" \
	>/dev/null 2>"$tmp/train.err" || bad "gate with a none line: $(cat "$tmp/train.err")"
"$TRAIN" gate "$tmp/gate-normal.model" --extra "$tmp/base-answers.tsv" "${gate[@]}" "$tmp/site-normal.tsv" \
	>/dev/null 2>"$tmp/train.err" || bad "gate with a complaint line: $(cat "$tmp/train.err")"
w0=$(weight "$tmp/gate-without.model" zqxvortex complaint) wn=$(weight "$tmp/gate-none.model" zqxvortex complaint)
wc=$(weight "$tmp/gate-normal.model" zqxvortex complaint)
[ "$wn" -lt "$w0" ] && [ "$wc" -gt "$w0" ] && ok ||
	bad "complaint weight of the word: without $w0, none line $wn, complaint line $wc"

# A fold whose training part lacks a class (here every serious complaint is in the first
# file, a fold of its own) learns nothing; liblinear was handed an empty problem before,
# and read and wrote past its buffers.
head -12 policies/training/gate/complaints-a.tsv >"$tmp/fold-a.tsv"
grep -m4 '^serious' policies/training/gate/complaints-a.tsv >>"$tmp/fold-a.tsv"
head -12 policies/training/gate/hard-ordinary-i.tsv >"$tmp/fold-b.tsv"
head -6 policies/training/replies/pseudo-replies.tsv >"$tmp/fold-answers.tsv"
if valgrind -q --error-exitcode=9 "$TRAIN" gate "$tmp/fold.model" --extra "$tmp/fold-answers.tsv" \
	"$tmp/fold-a.tsv" "$tmp/fold-b.tsv" >/dev/null 2>"$tmp/valgrind.txt"; then ok; else
	bad "a fold without serious complaints: $(grep -m2 '==' "$tmp/valgrind.txt")"
fi

# --pool: how many sentences each class of the gate pools, written to the model; the
# multiple-instance step keeps as many, so the complaint class alone moves.  Refused for a
# class the model lacks, a count out of range, and for a model that reads texts whole.
head -40 policies/training/gate/complaints-a.tsv >"$tmp/pool-a.tsv"
head -40 policies/training/gate/hard-ordinary-i.tsv >"$tmp/pool-b.tsv"
"$TRAIN" gate "$tmp/pool2.model" --extra "$tmp/fold-answers.tsv" "$tmp/pool-a.tsv" "$tmp/pool-b.tsv" \
	>/dev/null 2>&1 || bad "gate, default pool"
"$TRAIN" gate "$tmp/pool3.model" --pool complaint=3 --extra "$tmp/fold-answers.tsv" "$tmp/pool-a.tsv" \
	"$tmp/pool-b.tsv" >/dev/null 2>&1 || bad "gate, --pool complaint=3"
[ "$(grep '^pool' "$tmp/pool2.model")" = "pool 2 2 2" ] && [ "$(grep '^pool' "$tmp/pool3.model")" = "pool 3 2 2" ] &&
	ok || bad "pool lines: $(grep -h '^pool' "$tmp/pool2.model" "$tmp/pool3.model" | tr '\n' ' ')"
# weights alone (the thresholds move with the pooling anyway): the multiple-instance step
grep -v '^threshold' "$tmp/pool2.model" >"$tmp/pool2-w.model"
grep -v '^threshold' "$tmp/pool3.model" >"$tmp/pool3-w.model"
[ "$(classes_moved "$tmp/pool2-w.model" "$tmp/pool3-w.model" | tr '\n' ' ')" = \
	"complaint changed serious same answers same " ] && ok ||
	bad "classes moved by --pool: $(classes_moved "$tmp/pool2-w.model" "$tmp/pool3-w.model")"
# The version line names the SHA-256 of what follows it (first 12 hex digits), so the two
# models, trained on the same texts, have versions of their own.
digest_ok() {
	[ "$(sed -n 's/^version 1 ([0-9]* examples, \([0-9a-f]\{12\}\))$/\1/p' "$1")" = \
		"$(sed '1,/^version /d' "$1" | sha256sum | cut -c1-12)" ]
}
digest_ok "$tmp/pool2.model" && digest_ok "$tmp/pool3.model" &&
	[ "$(grep '^version' "$tmp/pool2.model")" != "$(grep '^version' "$tmp/pool3.model")" ] && ok ||
	bad "version digests: $(grep -h '^version' "$tmp/pool2.model" "$tmp/pool3.model" | tr '\n' ' ')"
for bad_pool in nosuch=3 complaint=0 complaint=9 complaint complaint=3x; do
	"$TRAIN" gate "$tmp/x.model" --pool "$bad_pool" "$tmp/pool-a.tsv" >/dev/null 2>"$tmp/err" &&
		bad "--pool $bad_pool accepted" ||
		{ grep -q "^apology-train: --pool: expected CLASS=K" "$tmp/err" && ok || bad "--pool $bad_pool: $(cat "$tmp/err")"; }
done
"$TRAIN" gate-text "$tmp/x.model" --pool complaint=3 "$tmp/pool-a.tsv" >/dev/null 2>"$tmp/err" &&
	bad "--pool accepted for gate-text" ||
	{ grep -q "only the gate reads" "$tmp/err" && ok || bad "--pool for gate-text: $(cat "$tmp/err")"; }

# The encoder's head names the encoder it was trained on (its reads line, which a policy
# checks against the encoder it loads): trained here on a few lines of two of the gate's
# files, it names the shipped encoder as the shipped head does.
enc=policies/default-encoder.enc
if [ -f "$enc" ]; then
	head -n 12 policies/training/gate/genres-n.tsv >"$tmp/enc-a.tsv"
	head -n 12 policies/training/gate/hard-ordinary-i.tsv >"$tmp/enc-b.tsv"
	grep -P '^(normal|serious)\t' policies/training/gate/complaints-a.tsv | head -n 12 >>"$tmp/enc-b.tsv"
	if "$TRAIN" encoder-head "$tmp/head.model" --encoder "$enc" "$tmp/enc-a.tsv" "$tmp/enc-b.tsv" \
		>/dev/null 2>"$tmp/err"; then
		want=$(grep '^reads ' policies/default-encoder-head.model)
		got=$(grep '^reads ' "$tmp/head.model")
		[ -n "$want" ] && [ "$got" = "$want" ] && ok || bad "encoder-head reads: \"$got\", the shipped head: \"$want\""
		[ -f "$tmp/gate-with.model" ] && ! grep -q '^reads ' "$tmp/gate-with.model" && ok ||
			bad "a gate names an encoder, or was not trained"
	else
		bad "encoder-head training: $(cat "$tmp/err")"
	fi
else
	bad "no $enc (make downloads it)"
fi

# Malformed partial lines are refused with the file and line.
for tags in '~' '~-' '~blame,!blame' '~!nosuchtag'; do
	printf '%s\tOne sentence here.\n' "$tags" >"$tmp/badline.tsv"
	if "$TRAIN" sentences "$tmp/x.model" "$tmp/badline.tsv" 2>"$tmp/err" >/dev/null; then
		bad "\"$tags\" was accepted"
	else
		grep -q "badline.tsv:1:" "$tmp/err" && ok || bad "\"$tags\": $(cat "$tmp/err")"
	fi
done

echo "train-labels: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
