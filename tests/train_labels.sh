#!/bin/bash
# Reviewers' labels as training data (docs/models.md, "Retraining on a site's own mail"):
# milter/train/labels_to_sentences.py turns `apologyctl labels export` lines into partial
# sentence lines ("~TAGS"), and apology-train fits each tag only on the lines that say
# something about it.  usage: tests/train_labels.sh BUILD
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
python3 milter/train/labels_to_sentences.py "$tmp/export.jsonl" >"$tmp/labels.tsv" 2>"$tmp/err" || bad "converter exit"
printf '%s\t%s\n' '~!excuse,!remedy' 'Our depot was closed for the holiday.' \
	'~!remedy' 'Hello Priya,' '~!remedy' 'Please read the manual.' '~blame,!remedy' 'the printer vendor shipped the wrong toner.' >"$tmp/want.tsv"
cmp -s "$tmp/labels.tsv" "$tmp/want.tsv" && ok || { bad "converter lines:"; diff "$tmp/want.tsv" "$tmp/labels.tsv"; }
grep -q "1 replies, 4 sentences, 0 tags left out" "$tmp/err" && ok || bad "converter counts: $(cat "$tmp/err")"

# The trainer: the same small corpus with and without the partial lines.  A tag no
# partial line names is fitted on exactly the same lines, so its bias, threshold and
# weights are the same; the tags they name (blame, excuse, remedy) are not.
base=policies/training/sentences/traps-f.tsv
"$TRAIN" sentences "$tmp/without.model" "$base" >/dev/null || bad "training without"
"$TRAIN" sentences "$tmp/with.model" "$base" "$tmp/labels.tsv" >/dev/null || bad "training with"
python3 - "$tmp/without.model" "$tmp/with.model" >"$tmp/cmp" <<'EOF'
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
