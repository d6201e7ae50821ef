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

# One exported reply, written here: its sentences as the engine splits them, a blame
# finding judged right, an excuse finding judged wrong, a no-remedy finding judged right
# (no sentence names a fix), a no-ownership finding judged wrong (some sentence owns it:
# which, the label does not say) and a defensive finding nobody judged.
text='Hello Priya, the printer vendor shipped the wrong toner. Our depot was closed for the holiday. Please read the manual.'
python3 - "$text" >"$tmp/export.jsonl" <<'EOF'
import json, sys
t = sys.argv[1]
cut = [0, t.index("the printer"), t.index("Our depot"), t.index("Please")]
spans = [[cut[0], cut[1] - 1], [cut[1], cut[2] - 1], [cut[2], cut[3] - 1], [cut[3], len(t)]]
at = lambda s: len(t[:t.index(s)].encode())
print(json.dumps({"id": 1, "decision": "release", "rules": [], "right": ["blame-third-party", "no-remedy"],
                  "wrong": ["excuse", "no-ownership"], "text": t, "sentences": spans, "findings": [
    {"rule": "blame-third-party", "start": at("printer vendor"), "end": at("printer vendor") + 14, "wrong": False},
    {"rule": "excuse", "start": at("closed for"), "end": at("closed for") + 10, "wrong": True},
    {"rule": "no-remedy", "start": 0, "end": 12, "wrong": False},
    {"rule": "no-ownership", "start": 0, "end": 12, "wrong": True},
    {"rule": "defensive", "start": at("Please"), "end": at("Please") + 6, "wrong": False}]}))
EOF
python3 milter/train/labels_to_training.py sentences "$tmp/export.jsonl" >"$tmp/labels.tsv" 2>"$tmp/err" || bad "converter exit"
printf '%s\t%s\n' '~!excuse,!remedy' 'Our depot was closed for the holiday.' \
	'~!remedy' 'Hello Priya,' '~!remedy' 'Please read the manual.' '~blame,!remedy' 'the printer vendor shipped the wrong toner.' >"$tmp/want.tsv"
cmp -s "$tmp/labels.tsv" "$tmp/want.tsv" && ok || { bad "converter lines:"; diff "$tmp/want.tsv" "$tmp/labels.tsv"; }
grep -q "1 replies read; 4 sentences, 0 tags left out" "$tmp/err" && ok || bad "converter counts: $(cat "$tmp/err")"

# The trainer: the same small corpus with and without the partial lines.  A tag no
# partial line names is fitted on exactly the same lines, so its bias, threshold and
# weights are the same; the tags they name (blame, excuse, remedy) are not.
base=policies/training/sentences/traps-f.tsv
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

# Whole replies for `answers`: a returned reply (its rules judged right) answered a complaint;
# a release with every rule marked wrong may have answered none, so it gives no line.
python3 - >"$tmp/answers-export.jsonl" <<'EOF'
import json
print(json.dumps({"id": 2, "decision": "return", "right": ["defensive"], "wrong": [], "findings": [],
                  "text": "Hi Tom,\n\nAs I said twice already, the form was\nfilled in wrong.\n\nRegards"}))
print(json.dumps({"id": 3, "decision": "release", "right": [], "wrong": ["excuse"], "findings": [],
                  "text": "Thanks, the meeting moves to Friday."}))
EOF
python3 milter/train/labels_to_training.py answers "$tmp/answers-export.jsonl" >"$tmp/answers.tsv" 2>"$tmp/err" ||
	bad "converter exit (answers)"
[ "$(cat "$tmp/answers.tsv")" = "$(printf 'answers\tHi Tom, \\n As I said twice already, the form was filled in wrong. \\n Regards')" ] &&
	ok || bad "answers lines: $(cat "$tmp/answers.tsv")"
# As make train adds them (replies/*.tsv, the gate's --extra): only the answers class moves.
head -300 policies/training/replies/pseudo-replies.tsv >"$tmp/base-answers.tsv"
cat "$tmp/base-answers.tsv" "$tmp/answers.tsv" >"$tmp/site-answers.tsv"
gate=(policies/training/gate/genres-n.tsv policies/training/gate/pairs-j.tsv)
"$TRAIN" gate "$tmp/gate-without.model" --extra "$tmp/base-answers.tsv" "${gate[@]}" >/dev/null 2>"$tmp/train.err" || bad "gate without"
"$TRAIN" gate "$tmp/gate-with.model" --extra "$tmp/site-answers.tsv" "${gate[@]}" >/dev/null 2>"$tmp/train.err" || bad "gate with"
[ "$(classes_moved "$tmp/gate-without.model" "$tmp/gate-with.model" | tr '\n' ' ')" = \
	"complaint same serious same answers changed " ] && ok ||
	bad "gate classes moved by the answers: $(classes_moved "$tmp/gate-without.model" "$tmp/gate-with.model")"

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
