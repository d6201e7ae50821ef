#!/bin/sh
# apologyctl as a command: exit statuses, formats, standard input, usage and
# input errors.  Closing line: "cli: N passed, M failed".
CTL=${1:-build/apologyctl}
cd "$(dirname "$0")/.." || exit 70
pass=0 fail=0
tmp=$(mktemp -d) || exit 70
trap 'rm -rf "$tmp"' EXIT

# expect NAME STATUS CMD...: CMD must exit with STATUS
expect() {
	name=$1 want=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	got=$?
	if [ "$got" = "$want" ]; then pass=$((pass + 1)); else
		fail=$((fail + 1)); echo "FAIL $name: exit $got, expected $want"; sed 's/^/  | /' "$tmp/err" | head -5
	fi
}
# contains NAME FILE TEXT: the last command's FILE (out|err) contains TEXT
contains() {
	if grep -q -- "$3" "$tmp/$2"; then pass=$((pass + 1)); else
		fail=$((fail + 1)); echo "FAIL $1: $2 lacks \"$3\""; fi
}

P="--policy policies/default.yaml"
expect "good reply passes" 0 "$CTL" check $P tests/demo/good.eml
contains "text report names the verdict" out "good.eml: pass"
expect "doubtful reply advises" 1 "$CTL" check $P tests/demo/doubtful.eml
contains "finding explained" out "instead:"
expect "bad reply is held" 2 "$CTL" check $P tests/demo/bad.eml
contains "offending words marked" out "\[\[beyond our control\]\]"
expect "worst verdict over files" 2 "$CTL" check $P tests/demo/good.eml tests/demo/bad.eml
contains "the passing file is reported" out "good.eml: pass"
contains "the held file is reported" out "bad.eml: hold"
expect "json one line per file" 2 "$CTL" check $P --format json tests/demo/good.eml tests/demo/bad.eml
[ "$(wc -l <"$tmp/out")" -eq 2 ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL json lines"; }
contains "json verdict" out '"verdict":"hold"'
expect "unchecked" 3 "$CTL" check $P tests/corpus/malformed/nested-60-multipart.eml
# The text report shows the reply's words without its escape sequences (a C1 CSI, DEL and
# U+202E too), where a finding marks them: no "PASS" painted over the verdict.
sed 's/^The data team sent us/The\x1b[2J\x1b[32mPASS\xc2\x9b0m\x7f\xe2\x80\xae data team sent us/' \
	tests/demo/bad.eml >"$tmp/escapes.eml"
expect "check: a reply with escape sequences is held" 2 "$CTL" check $P "$tmp/escapes.eml"
if LC_ALL=C tr -d '\n' <"$tmp/out" | LC_ALL=C grep -q "$(printf '[\001-\037\177]')" ||
	LC_ALL=C grep -q "$(printf '\302\233\|\342\200\256')" "$tmp/out"; then
	fail=$((fail + 1)); echo "FAIL check: raw escapes in the text report"
else pass=$((pass + 1)); fi
contains "check: the context line shows them as ?" out '^    | The?\[2J?\[32mPASS?0m?? \[\[data team\]\] sent us'
"$CTL" check $P --format json - <tests/demo/bad.eml >"$tmp/out" 2>&1
[ $? -eq 2 ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL stdin"; }
contains "stdin named -" out '"file":"-"'
expect "late with --now" 1 "$CTL" check $P --format json --now 2026-03-06T09:00:00Z tests/demo/good.eml
contains "late-reply fired" out '"rule":"late-reply"'
printf '2026-02-20T10:00:00Z quality\n' >"$tmp/hist"
expect "repeat with --history" 1 "$CTL" check $P --format json --history "$tmp/hist" tests/demo/good.eml
contains "repeat-apology fired" out '"rule":"repeat-apology"'
printf 'yesterday quality\n' >"$tmp/badhist"
expect "bad history file" 65 "$CTL" check $P --history "$tmp/badhist" tests/demo/good.eml
expect "missing file" 66 "$CTL" check $P /nonexistent.eml
expect "bad format" 64 "$CTL" check $P --format xml tests/demo/good.eml
expect "bad --now" 64 "$CTL" check $P --now soon tests/demo/good.eml
expect "bad --complaint" 64 "$CTL" check $P --complaint maybe tests/demo/good.eml
# --complaint: a message with nothing quoted is judged as the answer to a complaint
printf 'From: a@agency.example\nTo: b@client.example\nSubject: Logo\n\nThe new logo files are attached.\n' >"$tmp/plain.eml"
expect "plain note without --complaint passes" 0 "$CTL" check $P --format json "$tmp/plain.eml"
contains "not a complaint without --complaint" out '"detected":false'
expect "plain note answering a serious complaint advises" 1 "$CTL" check $P --format json --complaint serious "$tmp/plain.eml"
contains "--complaint sets the severity" out '"severity":"serious"'
contains "a serious complaint wants a call" out '"rule":"no-call-offer"' 
expect "no files" 64 "$CTL" check $P
expect "unknown command" 64 "$CTL" frobnicate
expect "bad policy" 78 "$CTL" check --policy /nonexistent.yaml tests/demo/good.eml
expect "policy check OK" 0 "$CTL" policy check policies/default.yaml
contains "policy OK printed" out "policy OK"
contains "policy check names the model versions" out "models: gate 1 ("
contains "policy check names the encoder and its head" out "encoder-head 1 ("
contains "policy check names the encoder's fingerprint" out "on encoder use-lite 8000-2-512 "
[ ! -s "$tmp/err" ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL the shipped models draw a warning"; }
# the encoder's weights missing (make downloads them): a clear error naming the file, not a silent fallback
mkdir "$tmp/noenc"
cp policies/default.yaml policies/*.model "$tmp/noenc/"
expect "policy check without the encoder's weights" 78 "$CTL" policy check "$tmp/noenc/default.yaml"
contains "the missing encoder is named" err "noenc/default-encoder.enc"
# a model edited after apology-train wrote it: a warning, and the policy still loads
mkdir "$tmp/edited"
cp policies/default.yaml policies/*.model "$tmp/edited/"
ln -s "$PWD/policies/default-encoder.enc" "$tmp/edited/"
sed -i 's/^threshold /threshold 1/' "$tmp/edited/default-gate-text.model" # 4333 -> 14333
expect "policy check of an edited model" 0 "$CTL" policy check "$tmp/edited/default.yaml"
contains "the edited model is named" err 'models.gate-text: the file is not what its version line'
if grep -q "models.gate:\|models.sentences" "$tmp/err"; then
	fail=$((fail + 1)); echo "FAIL a model not edited is named"; else pass=$((pass + 1)); fi
printf 'version: 1\nrules:\n  excuse:\n    wieght: 3\n' >"$tmp/bad.yaml"
expect "policy check errors" 78 "$CTL" policy check "$tmp/bad.yaml"
contains "error has file:line:col" err "bad.yaml:4:5: excuse: unknown key"
# The sections a working policy needs; one document of plain values.
printf 'version: 1\nname: x\ncomplaint:\n  breach: {phrases: [still]}\n' >"$tmp/norules.yaml"
expect "a policy without rules is refused" 78 "$CTL" policy check "$tmp/norules.yaml"
contains "missing rules reported where the file ends" err "norules.yaml:5:1: policy: the \"rules\" section is missing"
{ cat "$tmp/norules.yaml"; printf 'rules:\n  excuse:\n    principle: &p own it\n    advice: *p\n'; } >"$tmp/alias.yaml"
expect "an alias is refused" 78 "$CTL" policy check "$tmp/alias.yaml"
contains "alias named with its position" err "alias.yaml:8:14: YAML alias \"\*p\" is not supported"
{ cat "$tmp/norules.yaml"; printf 'rules:\n  excuse: {principle: p, advice: a}\n---\nrules: {}\n'; } >"$tmp/twodocs.yaml"
expect "a second document is refused" 78 "$CTL" policy check "$tmp/twodocs.yaml"
contains "second document at its start" err "twodocs.yaml:7:1: a second YAML document"
# --against: what a new policy changes; one that shrinks fails unless --force.
sed '/^  late-reply:/,$d' policies/default.yaml >"$tmp/short.yaml"
cp policies/*.model "$tmp/"
ln -s "$PWD/policies/default-encoder.enc" "$tmp/"
expect "the same policy against itself" 0 "$CTL" policy check --against policies/default.yaml policies/default.yaml
contains "no change reported" out "no change in rules, phrase lists or models"
expect "a policy cut short is refused against the whole" 65 "$CTL" policy check --against policies/default.yaml "$tmp/short.yaml"
contains "the lost rules are named" err "short.yaml shrinks: it loses rules late-reply, repeat-apology, over-apology; refused"
contains "the changes are listed" out "rule over-apology: enabled -> off"
contains "per list" out "rules.over-apology.intensifiers: 16 -> 0 patterns"
expect "--force accepts it" 0 "$CTL" policy check --against policies/default.yaml --force "$tmp/short.yaml"
contains "--force says so" err "accepted with --force"
expect "growing back is no shrink" 0 "$CTL" policy check --against "$tmp/short.yaml" policies/default.yaml
contains "rules come back" out "rule late-reply: off -> enabled"
expect "an old policy that does not load" 78 "$CTL" policy check --against "$tmp/norules.yaml" policies/default.yaml
# the split's word lists compared word by word: one word swapped for another is a change as long as the list
sed 's/^  quote-attribution-prefixes: \[On, Am,/  quote-attribution-prefixes: [On, Op2,/' policies/default.yaml >"$tmp/prefixes.yaml"
expect "a list with one word swapped is no shrink" 0 "$CTL" policy check --against policies/default.yaml "$tmp/prefixes.yaml"
contains "the swapped word is reported" out "lexicon.quote-attribution-prefixes: 7 -> 7 words (1 added, 1 removed)"
sed 's/^  quote-attribution-prefixes: \[On, Am,/  quote-attribution-prefixes: [Am, On,/' policies/default.yaml >"$tmp/reordered.yaml"
expect "the same words in another order" 0 "$CTL" policy check --against policies/default.yaml "$tmp/reordered.yaml"
contains "are no change" out "no change in rules, phrase lists or models"
expect "--force alone" 64 "$CTL" policy check --force policies/default.yaml
expect "help" 0 "$CTL" --help
contains "help lists the commands" out "apologyctl policy check"
contains "help explains --against" out "--against OLD"
# check --inbound: the complaint the reply answers, as the milter stores it.
printf 'From: Client <c@client.example>\nTo: a@agency.example\nSubject: Still wrong\nDate: Tue, 03 Mar 2026 09:00:00 +0000\nMessage-ID: <c1@client.example>\n\nThis is the third time the order is wrong and nobody has called us. We are furious and will cancel the contract.\n' >"$tmp/complaint.eml"
# an ordinary note from a client, no complaint on arrival ("The new logo files are attached." above, sent
# by a client, is one the sentence encoder takes for an unclear complaint: docs/models.md, fourteenth round)
printf 'From: Dana <dana@client.example>\nTo: a@agency.example\nSubject: Contract\n\nPlease find the signed contract attached.\n' >"$tmp/note.eml"
# that known false alarm, kept in sight: when it changes, docs/models.md changes with it
printf 'From: Dana <dana@client.example>\nTo: a@agency.example\nSubject: Logo\n\nThe new logo files are attached.\n' >"$tmp/logo-in.eml"
expect "--as-inbound: the plain logo note" 0 "$CTL" check $P --as-inbound "$tmp/logo-in.eml"
contains "--as-inbound: the plain logo note is an unclear complaint (a known false alarm)" out "logo-in.eml: complaint, normal, unclear, evidence -"
expect "--inbound: a plain note answering a stored complaint advises" 1 "$CTL" check $P --format json --inbound "$tmp/complaint.eml" "$tmp/plain.eml"
contains "--inbound: the complaint is detected" out '"detected":true'
contains "--inbound: sent when it arrived" out '"sent":"2026-03-03T09:00:00Z"'
contains "json says whether the reply apologised" out '"apologised":false'
expect "--inbound: a note that is no complaint stores none" 0 "$CTL" check $P --format json --inbound "$tmp/note.eml" "$tmp/plain.eml"
contains "--inbound: no complaint detected" out '"detected":false'
expect "--inbound and --complaint together" 64 "$CTL" check $P --complaint normal --inbound "$tmp/complaint.eml" "$tmp/plain.eml"
expect "--inbound file missing" 66 "$CTL" check $P --inbound /nonexistent.eml "$tmp/plain.eml"
# a complaint just short of the gate's bar (models.inbound-margin) is stored unclear: a reply that
# would be held answering a clear one is advised instead
printf 'From: Dana <dana@client.example>\nTo: a@agency.example\nSubject: Report\nMessage-ID: <s1@client.example>\n\nThe March report has the old logo on the cover. Could you send a corrected file when you get a chance?\n' >"$tmp/shy.eml"
printf 'From: a@agency.example\nTo: dana@client.example\nSubject: Re: Report\n\nThe logo is the one your designer gave us. You should have checked the proof before signing it off.\n' >"$tmp/curt.eml"
expect "--as-inbound: just short of the bar is a complaint" 0 "$CTL" check $P --as-inbound "$tmp/shy.eml"
contains "--as-inbound: short of the bar, unclear" out "shy.eml: complaint, normal, unclear, evidence -0"
expect "--inbound: a reply to an unclear complaint is advised" 1 "$CTL" check $P --format json --inbound "$tmp/shy.eml" "$tmp/curt.eml"
contains "--inbound: held back for want of a clear complaint" out '"held_back":true'
expect "--complaint: the same reply to a complaint is held" 2 "$CTL" check $P --complaint normal "$tmp/curt.eml"
# check --as-inbound: each file judged as arriving mail, as the milter judges it before storing a complaint;
# the same call as --inbound makes, one line per file, in order.
expect "--as-inbound judges arriving mail" 0 "$CTL" check $P --as-inbound --format json "$tmp/complaint.eml" "$tmp/note.eml"
[ "$(sed -n 1p "$tmp/out" | grep -c '"file":"[^"]*complaint.eml","parsed":true,"message_id":"c1@client.example","complaint":{"detected":true,"severity":"serious","evidence":[0-9.]*,"clear":true,')" = 1 ] &&
	[ "$(sed -n 2p "$tmp/out" | grep -c '"file":"[^"]*note.eml","parsed":true,"message_id":null,"complaint":{"detected":false,"severity":null,"evidence":-[0-9.]*,"clear":false,"kinds":\[\]}}$')" = 1 ] &&
	pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL --as-inbound json lines:"; cat "$tmp/out"; }
expect "--as-inbound as text" 0 "$CTL" check $P --as-inbound "$tmp/complaint.eml" "$tmp/note.eml"
contains "--as-inbound names a complaint and its severity" out "complaint.eml: complaint, serious, evidence +"
contains "--as-inbound names no complaint" out "note.eml: no complaint, evidence -"
printf 'no header here' >"$tmp/junk.eml"
expect "--as-inbound: an unreadable message is no complaint" 0 "$CTL" check $P --as-inbound "$tmp/junk.eml"
contains "--as-inbound says it could not read it" out "junk.eml: not a readable message, no complaint"
expect "--as-inbound: an unreadable message in JSON" 0 "$CTL" check $P --as-inbound --format json "$tmp/junk.eml"
contains "--as-inbound: its evidence is null" out '"parsed":false,"message_id":null,"complaint":{"detected":false,"severity":null,"evidence":null,"clear":false,"kinds":\[\]}}$'
# the failure kinds a complaint names, which the milter stores with it, and a complaint it would not store
printf 'From: Client <c@client.example>\nTo: a@agency.example\nSubject: Invoice\nMessage-ID: <k1@client.example>\n\nThe invoice charges us twice and the parcel still has not arrived after three weeks. This is unacceptable.\n' >"$tmp/kinds.eml"
grep -v '^Message-ID' "$tmp/kinds.eml" >"$tmp/noid.eml"
expect "--as-inbound: kinds and Message-ID" 0 "$CTL" check $P --as-inbound "$tmp/kinds.eml" "$tmp/noid.eml" "$tmp/note.eml"
[ "$(sed -n 1p "$tmp/out" | sed 's/evidence [^;]*;/evidence E;/')" = "$tmp/kinds.eml: complaint, normal, evidence E; kinds delivery, billing" ] &&
	[ "$(sed -n 2p "$tmp/out" | sed 's/evidence [^;]*;/evidence E;/')" = "$tmp/noid.eml: complaint, normal, evidence E; kinds delivery, billing; no Message-ID, so the milter would not store it" ] &&
	sed -n 3p "$tmp/out" | grep -q "note.eml: no complaint, evidence -[0-9.]*$" &&
	pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL --as-inbound kinds and Message-ID:"; cat "$tmp/out"; }
expect "--as-inbound: kinds in JSON" 0 "$CTL" check $P --as-inbound --format json "$tmp/kinds.eml"
contains "--as-inbound: the kinds as a list" out '"message_id":"k1@client.example","complaint":{"detected":true,"severity":"normal","evidence":[0-9.]*,"clear":true,"kinds":\["delivery","billing"\]}}$'
"$CTL" check $P --as-inbound - <"$tmp/complaint.eml" >"$tmp/out" 2>"$tmp/err" && grep -q "^-: complaint, serious" "$tmp/out" &&
	pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL --as-inbound from standard input: $(cat "$tmp/out" "$tmp/err")"; }
for other in "--complaint normal" "--inbound $tmp/complaint.eml" "--history $tmp/plain.eml" "--now 2026-03-04T10:00:00Z"; do
	# shellcheck disable=SC2086  # the option and its value, split
	expect "--as-inbound with ${other%% *}" 64 "$CTL" check $P --as-inbound $other "$tmp/complaint.eml"
	contains "--as-inbound says ${other%% *} does not apply" err "do not apply"
done
expect "--as-inbound file missing" 66 "$CTL" check $P --as-inbound "$tmp/complaint.eml" /nonexistent.eml
contains "--as-inbound judges the files it can read" out "complaint.eml: complaint"
# backtest picks the complaint a reply answers as the store does: a clear one before a newer
# unclear follow-up (the reply is then held), the unclear one alone (advised)
mkdir "$tmp/bt-thread" "$tmp/bt-followup"
cp tests/e2e/msgs/complaint.eml "$tmp/bt-thread/1.eml"
sed -e 's/^Message-ID: .*/Message-ID: <followup-4471@client.example>/' -e 's/^Subject: .*/Subject: Re: Order 4471/' \
	-e 's/^Date: .*/Date: Mon, 03 Mar 2025 09:40:00 +0000/' tests/e2e/msgs/complaint-unclear.eml >"$tmp/bt-thread/2.eml"
sed -e 's/^In-Reply-To: .*/In-Reply-To: <followup-4471@client.example>/' \
	-e 's/^References: .*/References: <complaint-4471@client.example> <followup-4471@client.example>/' \
	tests/e2e/msgs/reply-unclear.eml >"$tmp/bt-thread/3.eml"
cp "$tmp/bt-thread/2.eml" "$tmp/bt-thread/3.eml" "$tmp/bt-followup/"
expect "backtest: a thread with a clear complaint and an unclear follow-up" 0 "$CTL" backtest $P --sender 'sam@*' "$tmp/bt-thread"
contains "backtest: the clear complaint decides (held)" out "^  all  *1  *0  *0  *1  *0$"
expect "backtest: the unclear follow-up alone" 0 "$CTL" backtest $P --sender 'sam@*' "$tmp/bt-followup"
contains "backtest: under the unclear one, advised" out "^  all  *1  *0  *1  *0  *0$"
# backtest: usage and input errors; a directory of .eml files judged.
expect "backtest a directory" 0 "$CTL" backtest $P tests/demo
contains "backtest judges its three replies" out "3 messages in 3 files: 3 judged"
contains "backtest prints verdicts per sender" out "per sender"
# the same replies read twice (a Sent folder and an All Mail copy): judged once
mkdir -p "$tmp/bt-copy" && cp tests/demo/*.eml "$tmp/bt-copy/"
expect "backtest a folder and its copy" 0 "$CTL" backtest $P tests/demo "$tmp/bt-copy"
contains "backtest judges each reply once" out "6 messages in 6 files: 3 judged"
contains "backtest says so" out "3 copies of a reply read before (same sender and Message-ID) left out"
expect "backtest without a source" 64 "$CTL" backtest $P
expect "backtest --jobs 0" 64 "$CTL" backtest $P --jobs 0 tests/demo
expect "backtest bad --since" 64 "$CTL" backtest $P --since soon tests/demo
expect "backtest unknown option" 64 "$CTL" backtest $P --frobnicate tests/demo
expect "backtest a missing source" 66 "$CTL" backtest $P /nonexistent.mbox tests/demo
contains "the missing source is named" err "/nonexistent.mbox"
contains "the other source is judged all the same" out "3 judged"
expect "backtest --since after everything" 0 "$CTL" backtest $P --since 2030-01-01 tests/demo
contains "--since leaves messages out" out "0 judged"
expect "backtest a bad policy" 78 "$CTL" backtest --policy "$tmp/norules.yaml" tests/demo
# backtest's examples and unchecked list show Message-IDs and excerpts without their escape
# sequences: a reply that an older policy without the hold rules only advised, and one
# nested too deep to judge.
mkdir "$tmp/bt-esc"
sed 's/^The data team sent us/The\x1b[2J\x1b[32mPASS data team sent us/; s/^Message-ID: .*/Message-ID: <bt\x1b]0;x\x07@brightlane.example>/' \
	tests/demo/bad.eml >"$tmp/bt-esc/esc.eml"
sed 's/^Message-I[Dd]: .*/Message-ID: <mal\x1b[2J@x.example>/' tests/corpus/malformed/nested-60-multipart.eml \
	>"$tmp/bt-esc/mal.eml"
sed '/^  apology-missing:/,/^  no-ownership:/{/^  no-ownership:/!d}' policies/default.yaml >"$tmp/nohold.yaml"
expect "backtest replies with escape sequences" 0 "$CTL" backtest $P --against "$tmp/nohold.yaml" "$tmp/bt-esc"
if LC_ALL=C tr -d '\n' <"$tmp/out" | LC_ALL=C grep -q "$(printf '[\001-\037\177]')"; then
	fail=$((fail + 1)); echo "FAIL backtest: raw escapes in the report"
else pass=$((pass + 1)); fi
contains "backtest: the example's Message-ID and excerpt" out \
	'esc.eml <bt?]0;x?@brightlane.example>: +apology-missing .* "The?\[2J?\[32mPASS data team sent us'
contains "backtest: the unchecked one's Message-ID" out 'mal.eml <mal?\[2J@x.example>: MIME nesting too deep'
expect "backtest --help" 0 "$CTL" backtest --help
contains "backtest help explains --against" out "--against OLD"
# Reviewers' decisions as labels, and the report: a store holding what the daemon and
# a reviewer would have recorded (the real decision needs Postfix: tests/review/run.sh).
S="-o store=sqlite:$tmp/store.db -o policy=policies/default.yaml"
expect "report on a new store" 0 "$CTL" report $S
contains "report says nothing was reviewed" out "no reviewed replies in this period"
"$CTL" check $P --format json tests/demo/bad.eml >"$tmp/bad.json"
now=$(date +%s)
sqlite3 "$tmp/store.db" "INSERT INTO quarantine (queue_id, message_id, token, sender, recipients, verdict, score,
  findings, raw, created, state) VALUES
  ('AAA111', 'bad1@agency.example', 'tok1', 'sam@agency.example', 'dana@client.example', 'hold', 9,
   CAST(readfile('$tmp/bad.json') AS TEXT), readfile('tests/demo/bad.eml'), $now - 3600, 'held'),
  ('AAA222', 'bad2@agency.example', 'tok2', 'kim@agency.example', 'lee@client.example', 'hold', 9,
   CAST(readfile('$tmp/bad.json') AS TEXT), readfile('tests/demo/bad.eml'), $now - 7200, 'held'),
  ('', 'mon1@agency.example', 'tok3', 'ann@agency.example', 'x@other.example', 'hold', 9,
   CAST(readfile('$tmp/bad.json') AS TEXT), NULL, $now - 60, 'monitor')" || fail=$((fail + 1))
# Their findings as rows, as the store writes them from the decision's JSON.
sqlite3 "$tmp/store.db" "INSERT INTO quarantine_findings SELECT q.id, f.key, json_extract(f.value, '$.rule'),
  json_extract(f.value, '$.severity'), json_extract(f.value, '$.start'), json_extract(f.value, '$.end'),
  json_extract(f.value, '$.line'), json_extract(f.value, '$.excerpt'), json_extract(f.value, '$.words'),
  json_extract(f.value, '$.principle'), json_extract(f.value, '$.advice')
  FROM quarantine q, json_each(q.findings, '$.findings') f" || fail=$((fail + 1))
expect "release --wrong with a rule not on the reply" 64 "$CTL" quarantine $S release 1 --wrong over-apology
contains "the wrong rule is named" err '"over-apology" is not a rule of this reply'
contains "the reply's rules are listed" err "blame-third-party"
expect "release --wrong without a rule" 64 "$CTL" quarantine $S release 1 --wrong
expect "release --wrong when the helper cannot act" 69 "$CTL" quarantine $S -o helper=/nonexistent release 1 --wrong excuse
[ "$(sqlite3 "$tmp/store.db" "SELECT count(*) FROM review_labels")" = 0 ] && pass=$((pass + 1)) ||
	{ fail=$((fail + 1)); echo "FAIL no labels without a decision"; }
# What release 1 --wrong blame-third-party --wrong complaint and return 2 record
# (holds/labeling.h), with the complaint each answered as the daemon records it.
sqlite3 "$tmp/store.db" "UPDATE quarantine SET state = 'released', complaint_detected = 1,
    complaint_severity = 'normal', complaint_clear = 1,
    complaint_text = 'Dana wrote:' || char(10) || 'The board meets on Tuesday.' WHERE id = 1;
  UPDATE quarantine SET state = 'returned', complaint_detected = 1, complaint_severity = 'serious',
    complaint_clear = 0, complaint_text = 'Third late delivery. We will cancel.' WHERE id = 2;
  INSERT INTO review_labels (quarantine_id, rule, verdict, action, reviewer, excerpt, at) VALUES
  (1, 'blame-third-party', 'wrong', 'release', 'alice', 'data team <b>', $now - 100),
  (1, 'excuse', 'right', 'release', 'alice', 'beyond our control', $now - 100),
  (1, 'complaint', 'wrong', 'release', 'alice', 'Dana wrote: The board', $now - 100),
  (2, 'blame-third-party', 'right', 'return', 'bob', 'data team', $now - 50),
  (2, 'excuse', 'right', 'return', 'bob', 'beyond our control', $now - 50),
  (2, 'complaint', 'right', 'return', 'bob', 'Third late delivery.', $now - 50)" || fail=$((fail + 1))
expect "labels export" 0 "$CTL" labels $S export
[ "$(wc -l <"$tmp/out")" -eq 2 ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL export: one line per reply"; }
contains "export: the decision" out '"decision":"release","reviewer":"alice"'
contains "export: the rules marked wrong" out '"wrong":\["blame-third-party","complaint"\],"right":\["excuse"\]'
contains "export: the thread marked as no complaint" out '"complaint":{"detected":true,"severity":"normal","stored":false,"clear":true,"text":"Dana wrote:\\nThe board meets on Tuesday.","wrong":true}'
contains "export: the complaint judged right" out '"complaint":{"detected":true,"severity":"serious","stored":false,"clear":false,"text":"Third late delivery. We will cancel.","wrong":false}'
contains "export: a finding marked wrong" out '"rule":"blame-third-party","severity":"hold","line":[0-9]*,"start":[0-9]*,"end":[0-9]*,"excerpt":"data team","wrong":true'
contains "export: the new text" out '"text":"Hi Ann,.n.nThe data team sent us'
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$tmp/out" && pass=$((pass + 1)) ||
	{ fail=$((fail + 1)); echo "FAIL export is not JSON lines"; }
contains "export: the engine's sentences" out '"sentences":\[\[0,7\],\[9,88\],'
# The same lines as training lines of the sentence model (milter/train/labels_to_training.py):
# both decisions judged excuse right; blame was wrong on one and right on the other, so it
# is left unknown; defensive was on the reply but nobody judged it.
cp "$tmp/out" "$tmp/export.jsonl"
expect "labels as training lines" 0 python3 milter/train/labels_to_training.py sentences "$tmp/export.jsonl"
[ "$(cat "$tmp/out")" = "$(printf '~excuse\tThe data team sent us the wrong export, so the figures were beyond our control.')" ] &&
	pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL training lines: $(cat "$tmp/out")"; }
contains "training lines: the disputed tag is counted" err "1 tags left out where decisions disagree"
# As whole replies for answers: one line, its line breaks kept (both replies have this text;
# tests/train_labels.sh checks that only returned and discarded replies count).
expect "labels as answers" 0 python3 milter/train/labels_to_training.py answers "$tmp/export.jsonl"
[ "$(wc -l <"$tmp/out")" -eq 1 ] && grep -q '^answers	Hi Ann, \\n  \\n The data team sent us' "$tmp/out" && pass=$((pass + 1)) ||
	{ fail=$((fail + 1)); echo "FAIL answers lines: $(cat "$tmp/out")"; }
# As lines of the gate's files: the quoted history, none or a complaint as judged.
expect "labels as gate lines" 0 python3 milter/train/labels_to_training.py gate "$tmp/export.jsonl"
[ "$(cat "$tmp/out")" = "$(printf 'none\tDana wrote: \\n The board meets on Tuesday.\nserious\tThird late delivery. We will cancel.')" ] &&
	pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL gate lines: $(cat "$tmp/out")"; }
expect "labels_to_training without a kind" 1 python3 milter/train/labels_to_training.py "$tmp/export.jsonl"
expect "quarantine list json" 0 "$CTL" quarantine $S list --format json --state all
[ "$(wc -l <"$tmp/out")" -eq 3 ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL list json: one line per hold"; }
contains "list json: integers and null" out '{"id":1,"queue_id":"AAA111","message_id":"bad1@agency.example","state":"released","host":null,'
contains "list json: score, times, rules and no action" out '"score":9,"created":[0-9]*,"age":[0-9]*,"rules":"[a-z,-]*","action":null}$'
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$tmp/out" && pass=$((pass + 1)) ||
	{ fail=$((fail + 1)); echo "FAIL list json is not JSON lines"; }
expect "labels export --since after them" 0 "$CTL" labels $S export --since 2099-01-01
[ -s "$tmp/out" ] && { fail=$((fail + 1)); echo "FAIL --since kept labels"; } || pass=$((pass + 1))
expect "labels export --since 1m" 0 "$CTL" labels $S export --since 1m
[ "$(wc -l <"$tmp/out")" -eq 1 ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL --since 1m: $(cat "$tmp/out")"; }
expect "labels bad --since" 64 "$CTL" labels $S export --since soon
expect "labels unknown command" 64 "$CTL" labels $S import
# What the daemon's writer records of each reply judged advise or hold (table decisions).
sqlite3 "$tmp/store.db" "INSERT INTO decisions (at, sender, client_domain, verdict, rules) VALUES
  ($now - 300, 'Sam@agency.example', 'client.example', 'advise', 'no-call-offer,late-reply'),
  ($now - 200, 'sam@agency.example', 'client.example', 'advise', 'no-call-offer'),
  ($now - 100, 'kim@agency.example', 'client.example', 'hold', 'blame-third-party,excuse'),
  ($now - 30 * 86400, 'old@agency.example', 'client.example', 'advise', 'excuse')" || fail=$((fail + 1))
expect "report text" 0 "$CTL" report $S --since 7d
contains "report counts the held" out "Held: 2 message(s)"
contains "report counts the monitor holds" out "Would have been held (monitor mode): 1 message(s)"
contains "report per sender" out "ann@agency.example"
contains "report counts the advised" out "Advised: 2 message(s)"
contains "report advised per rule" out "no-call-offer  *2"
contains "report advised per sender, in lower case" out "sam@agency.example  *2"
contains "report precision per rule" out "blame-third-party  *1  *1  *0.50"
contains "report precision of a rule never wrong" out "excuse  *2  *0  *1.00"
contains "report precision of the complaint gate" out "complaint  *1  *1  *0.50"
contains "report most often wrong, with an example" out 'blame-third-party: wrong 1 time(s), e.g. "data team <b>"'
expect "report json" 0 "$CTL" report $S --format json
contains "json precision" out '{"rule":"blame-third-party","right":1,"wrong":1,"precision":0.5,"example":"data team <b>"}'
contains "json monitor per sender" out '"monitor":{"total":1,'
contains "json advised per rule" out '"advised":{"total":2,"week":\[{"key":"[0-9]*-W[0-9]*","n":2}\],"rule":\[{"key":"no-call-offer","n":2},{"key":"late-reply","n":1}\]'
# A sender that is not UTF-8 (it comes from mail): the page stays valid UTF-8.
sqlite3 "$tmp/store.db" "INSERT INTO decisions (at, sender, client_domain, verdict, rules) VALUES
  ($now - 90, CAST(X'62ff40782e6578616d706c65' AS TEXT), 'client.example', 'advise', 'excuse')" || fail=$((fail + 1))
expect "report html" 0 "$CTL" report $S --format html
python3 -c 'import sys; open(sys.argv[1], encoding="utf-8").read()' "$tmp/out" && pass=$((pass + 1)) ||
	{ fail=$((fail + 1)); echo "FAIL html is not UTF-8 with a sender that is not"; }
contains "html escapes the example" out "data team &lt;b&gt;"
grep -q "<script\|src=\|href=" "$tmp/out" && { fail=$((fail + 1)); echo "FAIL html not self-contained"; } || pass=$((pass + 1))
expect "report --since before the labels" 0 "$CTL" report $S --since "$(date -u -d @$((now - 70)) +%Y-%m-%dT%H:%M:%SZ)"
contains "--since counts only later labels" out "blame-third-party  *1  *0  *1.00"
expect "report bad --format" 64 "$CTL" report $S --format xml
expect "report bad --since" 64 "$CTL" report $S --since soon
# A passed near miss the daemon kept for review (state sampled: sample.near-misses) and a
# reviewer's judgement of it: nothing held, so the report's holds do not count it.
sqlite3 "$tmp/store.db" "INSERT INTO quarantine (queue_id, message_id, token, sender, recipients, verdict,
  score, findings, raw, created, state, new_text, complaint_detected, complaint_clear, complaint_text) VALUES
  ('BBB333', 'near1@agency.example', 'tok4', 'kim@agency.example', 'lee@client.example', 'pass', 0,
   '{\"verdict\":\"pass\",\"findings\":[]}', readfile('tests/demo/bad.eml'), $now - 30, 'sampled',
   'Noted, see you Monday.', 0, 0, 'The second invoice this quarter is wrong again.')" || fail=$((fail + 1))
expect "judge a held reply" 69 "$CTL" quarantine $S judge 2 complaint
contains "only near misses are judged" err "is returned, not a near miss kept for review"
expect "judge without a verdict" 64 "$CTL" quarantine $S judge 4
expect "judge with an unknown verdict" 64 "$CTL" quarantine $S judge 4 maybe
expect "judge with a second ID" 64 "$CTL" quarantine $S judge 4 none 5
expect "judge a near miss" 0 "$CTL" quarantine $S judge 4 complaint --comment "they were angry"
contains "judge says what was recorded" out "message 4: judged a complaint the filter missed"
[ "$(sqlite3 "$tmp/store.db" "SELECT q.state || ' ' || r.action || ' ' || r.note || ' ' || l.rule || ' ' || l.verdict
  FROM quarantine q JOIN reviews r ON r.quarantine_id = q.id JOIN review_labels l ON l.quarantine_id = q.id
  WHERE q.id = 4")" = "judged judge-complaint they were angry near-miss wrong" ] && pass=$((pass + 1)) ||
	{ fail=$((fail + 1)); echo "FAIL judgement recorded: $(sqlite3 "$tmp/store.db" "SELECT * FROM review_labels WHERE quarantine_id = 4")"; }
expect "judge it twice" 69 "$CTL" quarantine $S judge 4 none
contains "a judged near miss is not judged again" err "is judged, not a near miss kept for review"
expect "report counts no near miss as held" 0 "$CTL" report $S --since 7d
contains "report still counts two held" out "Held: 2 message(s)"
contains "report counts the near miss the gate missed" out "near-miss  *0  *1  *0.00"
expect "labels export with the judgement" 0 "$CTL" labels $S export
contains "export: the near miss judged a complaint" out '"decision":"judge",.*"complaint":{"detected":false,"severity":null,"stored":false,"clear":false,"text":"The second invoice this quarter is wrong again.","wrong":true}'
cp "$tmp/out" "$tmp/export.jsonl"
expect "the near miss as a gate line" 0 python3 milter/train/labels_to_training.py gate "$tmp/export.jsonl"
contains "a missed complaint is a complaint line" out "^normal	The second invoice this quarter is wrong again.$"
expect "the near miss as an answer" 0 python3 milter/train/labels_to_training.py answers "$tmp/export.jsonl"
contains "the reply to a missed complaint answered one" out "^answers	Noted, see you Monday.$"
expect "report --help" 0 "$CTL" report --help
contains "report help explains --since" out "--since"
expect "labels --help" 0 "$CTL" labels --help
contains "labels help names export" out "export"
expect "help names report and labels" 0 "$CTL" --help
contains "help names report" out "apologyctl report"
contains "help names labels export" out "apologyctl labels .*export"
contains "help names store aside drop" out "apologyctl store aside .*list|retry|drop"
# store migrate without a server (the copy itself: tests/store/migrate.sh, make pg-test)
expect "store without migrate" 64 "$CTL" store
expect "store migrate without --to" 64 "$CTL" store migrate --from "sqlite:$tmp/none.db"
expect "store migrate with an unknown option" 64 "$CTL" store migrate --from "sqlite:$tmp/none.db" --to x --bogus
expect "store migrate with a stray argument" 64 "$CTL" store migrate --from "sqlite:$tmp/none.db" --to x extra
expect "store migrate from a missing store" 69 "$CTL" store migrate --from "sqlite:$tmp/none.db" --to postgresql:///x
contains "missing source named" err "no such store"
# store aside: the lines a replay of the spool set aside, listed and retried
# (the replay that sets them aside, a store that refuses or fails: test_store's
# test_spool_aside_retry)
A="-o spool-directory=$tmp/spool -o store=sqlite:$tmp/aside.db"
expect "store aside without a command" 64 "$CTL" store aside $A
expect "store aside with two commands" 64 "$CTL" store aside $A list retry
expect "store aside without a spool directory" 64 "$CTL" store aside -o spool-directory= list
expect "store aside list, no spool yet" 0 "$CTL" store aside $A list
contains "nothing is set aside" out "nothing set aside in $tmp/spool/store-spool.aside.jsonl"
mkdir -p "$tmp/spool"
printf '%s\n%s' '{"spool":1,"type":"complaint","message_id":"c1@client.example","client_addr":"","client_domain":"client\u001b[2Jexample","received":1741000000,"serious":true,"kinds":1}' \
	'{"spool":1,"type":"hold","token":"cut sh' >"$tmp/spool/store-spool.aside.jsonl"
expect "store aside list" 1 "$CTL" store aside $A list
contains "it counts the lines" out "2 line(s) set aside in $tmp/spool/store-spool.aside.jsonl"
contains "a record is described, fit for a terminal" out "   1  complaint of 2025-03-03T11:06:40Z from client?\[2Jexample, Message-ID <c1@client.example>"
contains "a line that is no record is shown" out "   2  no record this program reads (40 bytes): {\"spool\":1,\"type\":\"hold\",\"token\":\"cut sh"
expect "apology-milter -n with lines set aside" 0 "$(dirname "$CTL")/apology-milter" -n \
	-o "spool.directory=$tmp/spool" -o "store=sqlite:$tmp/aside.db" -o policy=policies/default.yaml
contains "the daemon's check warns of them" err "WARNING: 2 line(s) a replay set aside in $tmp/spool/store-spool.aside.jsonl"
expect "store aside retry with the store unavailable" 69 "$CTL" store aside $A -o "store=sqlite:$tmp/no/such/dir/x.db" retry
expect "store aside retry" 1 "$CTL" store aside $A retry
contains "it says what was written" out "1 record(s) written to the store (0 held, 1 complaint(s), 0 apology(ies), 0 decision(s))"
contains "and what stays" out "1 line(s) stay set aside in $tmp/spool/store-spool.aside.jsonl"
if [ "$(sqlite3 "$tmp/aside.db" "SELECT message_id, serious FROM complaints" 2>&1)" = "c1@client.example|1" ]; then
	pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL store aside retry: the complaint is not in the store"; fi
expect "store aside list after retry" 1 "$CTL" store aside $A list
contains "only the line that is no record stays" out "1 line(s) set aside"
expect "store aside drop with nothing to drop" 64 "$CTL" store aside $A drop
expect "store aside drop of no number" 64 "$CTL" store aside $A drop 1x
expect "store aside drop of all with a number" 64 "$CTL" store aside $A drop all 1
expect "store aside drop of a line that is not there" 65 "$CTL" store aside $A drop 2
contains "it says so" err "no line 2 (1 set aside): nothing dropped"
expect "store aside list after a drop that failed" 1 "$CTL" store aside $A list
expect "store aside drop" 0 "$CTL" store aside $A drop 1
contains "it says what it dropped" out "   1  no record this program reads (40 bytes): {\"spool\":1,\"type\":\"hold\",\"token\":\"cut sh"
expect "store aside list after the drop" 0 "$CTL" store aside $A list
contains "nothing stays" out "nothing set aside in $tmp/spool/store-spool.aside.jsonl"
ln -s /etc/passwd "$tmp/spool/link" && mv "$tmp/spool/link" "$tmp/spool/store-spool.aside.jsonl"
expect "store aside list of a symbolic link" 74 "$CTL" store aside $A list
contains "it is not followed" err "a symbolic link, not followed"
if grep -q root "$tmp/out"; then fail=$((fail + 1)); echo "FAIL store aside list showed the link's target"; else pass=$((pass + 1)); fi
expect "store aside drop through a symbolic link" 74 "$CTL" store aside $A drop all
contains "it is not followed by a drop either" err "a symbolic link, not followed"
"$CTL" quarantine -o "store=sqlite:$tmp/s.db" list >/dev/null 2>&1
expect "store migrate into SQLite" 69 "$CTL" store migrate --from "sqlite:$tmp/s.db" --to "sqlite:$tmp/t.db"
contains "target must be PostgreSQL" err "must be a PostgreSQL store"
expect "store migrate to an unreachable server" 69 "$CTL" store migrate --from "sqlite:$tmp/s.db" \
	--to "postgresql://u:pw@/x?host=/nonexistent-dir"
contains "unreachable server said" err "cannot connect"
grep -q ":pw@" "$tmp/err" && { fail=$((fail + 1)); echo "FAIL the password is shown"; } || pass=$((pass + 1))
# A hold of another mail host (a shared store; SQLite stands in): the decision is
# sent to that host, whose agent carries it out (here its helper cannot act).
H="-o store=sqlite:$tmp/hosts.db -o policy=policies/default.yaml -o helper=/nonexistent"
"$CTL" quarantine $H list >/dev/null 2>&1
sqlite3 "$tmp/hosts.db" "INSERT INTO quarantine (queue_id, message_id, token, sender, recipients, verdict, score,
  findings, created, state, host) VALUES ('BBB111', 'b@agency.example', 'tokb', 'sam@agency.example',
  'dana@client.example', 'hold', 9, CAST(readfile('$tmp/bad.json') AS TEXT), $now, 'held', 'mx-b')" ||
	fail=$((fail + 1))
expect "release of another host's hold" 0 "$CTL" quarantine $H -o host-name=mx-a release 1
contains "it is sent to that host" out "sent to host mx-b"
expect "list after sending" 0 "$CTL" quarantine $H -o host-name=mx-a list
contains "list shows it waiting" out "release waiting on mx-b"
expect "a second decision while one waits" 69 "$CTL" quarantine $H -o host-name=mx-a discard 1
contains "the second is refused" err "message 1 has a release waiting on mx-b; "
expect "a decision on the hold's own host while one waits" 69 "$CTL" quarantine $H -o host-name=mx-b discard 1
contains "it is refused too" err "message 1 has a release waiting on mx-b; "
expect "review.yaml's store-pool-size out of range" 64 "$CTL" quarantine $H -o store-pool-size=65 list
contains "it says the bounds" err "store-pool-size: expected a number from 1 to 64"
expect "review.yaml's store-pool-size in range" 0 "$CTL" quarantine $H -o store-pool-size=2 list
expect "another host's agent" 0 "$CTL" quarantine $H -o host-name=mx-a agent --once
[ -s "$tmp/out" ] && { fail=$((fail + 1)); echo "FAIL mx-a's agent acted"; } || pass=$((pass + 1))
expect "the host's agent" 0 "$CTL" quarantine $H -o host-name=mx-b agent --once
contains "its agent reports the failure" out "release of message 1 by .*: failed: release of message 1 failed"
expect "show after the agent" 0 "$CTL" quarantine $H -o host-name=mx-b show 1
contains "show says it failed there" out "action: release failed on mx-b"
contains "show of a hold before the store kept its complaint" out \
	"complaint as judged: not recorded for replies held before store schema 12"
# The complaint as the daemon recorded it (store schema 12), shown without a policy.
"$CTL" quarantine -o "store=sqlite:$tmp/judged.db" list >/dev/null 2>&1
sqlite3 "$tmp/judged.db" "INSERT INTO quarantine (queue_id, message_id, token, sender, recipients, verdict, score,
  findings, created, state, host, new_text, complaint_detected, complaint_severity, complaint_clear,
  complaint_sent, complaint_text) VALUES ('BBB222', 'c@agency.example', 'tokc', 'sam@agency.example',
  'dana@client.example', 'hold', 9, '{}', $now, 'held', 'mx-b', 'Sorry.', 1, 'serious', 0, 1740993120,
  'Dana wrote:' || char(10) || 'Order 4471 is late again.' || char(10))" || fail=$((fail + 1))
expect "show the stored complaint" 0 "$CTL" quarantine -o "store=sqlite:$tmp/judged.db" -o policy=/nonexistent show 1
contains "show: the complaint as judged" out \
	"complaint as judged: serious, sent 2025-03-03T09:12:00Z, not clear enough to hold (advised)"
contains "show: the quoted complaint" out "^  > Order 4471 is late again.$"
# What the mail put in the store reaches the terminal without its control and format
# characters (util/termtext.h): escape sequences in the complaint's Message-ID and client
# domain, the headers, the quoted complaint, the new text (its CR a line of its own), an
# excerpt and a failed log-in's user name; C1 (U+009B CSI), DEL and U+202E as '?'.
esc="char(27)" c1="char(155)"
sqlite3 "$tmp/judged.db" "INSERT INTO complaints (message_id, client_addr, client_domain, received, serious, kinds)
  VALUES ('cmp2' || $esc || ']0;owned' || char(7) || $esc || '[2J@client.example', '192.0.2.7',
  'client' || $c1 || '31m.example', $now - 600, 1, 0);
  INSERT INTO quarantine (queue_id, message_id, token, sender, recipients, verdict, score, findings, raw,
  created, state, host, new_text, complaint_ref, complaint_detected, complaint_severity, complaint_clear,
  complaint_sent, complaint_text) VALUES ('BBB333', 'd@agency.example', 'tokd', 'sam@agency.example',
  'dana@client.example', 'hold', 9, '{}',
  'Subject: Re: late' || $c1 || '2J' || char(127) || char(8238) || 'gnp.exe' || char(10) || char(10) || 'x',
  $now, 'held', 'mx-b', 'Sorry, the courier' || char(13) || char(10) || 'PASS' || char(13) || $esc ||
  '[2J' || $esc || '[32mall clear', 'cmp2' || $esc || ']0;owned' || char(7) || $esc || '[2J@client.example',
  1, 'serious', 1, 1740993120, 'Dana wrote:' || char(10) || 'Late ' || $c1 || '2J again.' || char(13) || 'forged');
  INSERT INTO quarantine_findings (quarantine_id, ordinal, rule, severity, span_start, span_end, line, excerpt)
  VALUES (2, 0, 'excuse', 'hold', 11, 18, 1, 'courier' || $esc || '[8m');
  INSERT INTO login_failures (name, address, failures, last, locked_until) VALUES
  ('eve' || char(13) || char(10) || 'apology-review: forged' || $esc || '[2J', '192.0.2.9', 3, $now, $now + 600)" ||
	fail=$((fail + 1))
expect "show a reply whose mail carries escapes" 0 "$CTL" quarantine -o "store=sqlite:$tmp/judged.db" -o policy=/nonexistent show 2
# no_raw NAME: the last command's output has no control character (but LF) and no
# U+009B or U+202E
no_raw() {
	if LC_ALL=C tr -d '\n' <"$tmp/out" | LC_ALL=C grep -q "$(printf '[\001-\037\177]')" ||
		LC_ALL=C grep -q "$(printf '\302\233\|\342\200\256')" "$tmp/out"; then
		fail=$((fail + 1)); echo "FAIL $1: raw control characters:"; od -c "$tmp/out" | head -20
	else pass=$((pass + 1)); fi
}
no_raw "show: no raw escapes"
contains "show: the complaint's Message-ID and domain" out \
	"^complaint: <cmp2?]0;owned??\[2J@client.example> from client?31m.example, serious,"
contains "show: the header" out "^  Subject: Re: late?2J??gnp.exe$"
contains "show: the quoted complaint's lines" out "^  > Late ?2J again.$"
contains "show: a CR in the quoted complaint ends its line" out "^  > forged$"
contains "show: the new text's lines" out "^  | Sorry, the \[\[courier\]\]{1}$"
contains "show: a lone CR in the new text ends its line" out "^  | ?\[2J?\[32mall clear$"
contains "show: the excerpt" out '^{1} excuse \[hold\] line 1: "courier?\[8m"$'
expect "logins list with a name that carries a line break" 0 "$CTL" logins -o "store=sqlite:$tmp/judged.db" list
no_raw "logins list: no raw line break"
contains "logins list: the name on its line" out "^eve??apology-review: forged?\[2J "
expect "agent with a stray argument" 64 "$CTL" quarantine $H agent --forever
sqlite3 "$tmp/hosts.db" "UPDATE quarantine SET created = $now - 8 * 86400" || fail=$((fail + 1))
expect "expire on another host" 0 "$CTL" quarantine $H -o host-name=mx-a expire
contains "expire leaves another host's hold to it" out "1 held on other hosts left to them"
# reconcile compares this host's hold queue (here Sendmail's, a stand-in that lists
# nothing) with this host's records only: mx-b's hold is not "no longer held" on mx-a.
printf '#!/bin/sh\nexit 0\n' >"$tmp/sendmail-bp" && chmod +x "$tmp/sendmail-bp"
M="-o sendmail-config=$tmp/sendmail.cf -o sendmail-program=$tmp/sendmail-bp -o spool-directory="
expect "reconcile on another host" 0 "$CTL" quarantine $H $M -o host-name=mx-a reconcile
contains "it compares no other host's record" out "0 held record(s), 0 mismatch"
expect "reconcile on the hold's host" 1 "$CTL" quarantine $H $M -o host-name=mx-b reconcile
contains "there the record is not held" out "1 held record(s), 1 mismatch"
contains "reconcile names the command that records it" out "(apologyctl quarantine forget 1 records that)"
# forget: a hold whose message left the hold queue outside apologyctl is recorded as gone;
# one still in the hold queue (the stand-in lists it with -qQ), another host's, one held
# moments ago and one not held are refused, and nothing is recorded for them.
sqlite3 "$tmp/hosts.db" "INSERT INTO quarantine (queue_id, message_id, token, sender, recipients, verdict, score,
  findings, created, state, host) VALUES ('wB3AbCdE12345', 'f@agency.example', 'tokf', 'sam@agency.example',
  'dana@client.example', 'hold', 9, '{}', $now, 'held', 'mx-b')" || fail=$((fail + 1))
fid=$(sqlite3 "$tmp/hosts.db" "SELECT id FROM quarantine WHERE token = 'tokf'")
printf '#!/bin/sh\ncase "$*" in *-qQ*) echo "wB3AbCdE12345     812 Mon Mar  2 09:14 <sam@agency.example>";; esac\n' \
	>"$tmp/sendmail-held" && chmod +x "$tmp/sendmail-held"
MH="-o sendmail-config=$tmp/sendmail.cf -o sendmail-program=$tmp/sendmail-held -o spool-directory="
expect "forget a hold held moments ago" 69 "$CTL" quarantine $H $M -o host-name=mx-b forget "$fid"
contains "it says why" err "was held less than 5 minutes ago: the MTA may not have put it in its hold queue yet"
sqlite3 "$tmp/hosts.db" "UPDATE quarantine SET created = $now - 3600 WHERE id = $fid" || fail=$((fail + 1))
expect "forget a hold still in the hold queue" 69 "$CTL" quarantine $H $MH -o host-name=mx-b forget "$fid"
contains "it says to decide it" err "is in the hold queue (queue id wB3AbCdE12345): release, discard or return it"
expect "forget another host's hold" 69 "$CTL" quarantine $H $M -o host-name=mx-a forget "$fid"
contains "it names the host" err "is held on mx-b: forget it there"
expect "forget with a stray argument" 64 "$CTL" quarantine $H $M -o host-name=mx-b forget "$fid" --wrong excuse
[ "$(sqlite3 "$tmp/hosts.db" "SELECT state || count(r.id) FROM quarantine q LEFT JOIN reviews r ON
  r.quarantine_id = q.id AND r.action = 'forget' WHERE q.id = $fid")" = held0 ] && pass=$((pass + 1)) ||
	{ fail=$((fail + 1)); echo "FAIL a refused forget changed the record"; }
expect "forget a hold whose message left the queue" 0 "$CTL" quarantine $H $M -o host-name=mx-b forget "$fid" \
	--comment "cleared by hand"
contains "it says where the queue has it" out "message $fid: gone (in no queue), recorded by "
expect "show a forgotten hold" 0 "$CTL" quarantine $H show "$fid"
contains "show: its state" out "^message $fid: gone, queue id wB3AbCdE12345"
contains "show: the audit entry" out "forget.*in no queue; cleared by hand"
expect "forget it again" 69 "$CTL" quarantine $H $M -o host-name=mx-b forget "$fid"
contains "it is not held" err "message $fid is gone, not held"
expect "reconcile after forget" 1 "$CTL" quarantine $H $M -o host-name=mx-b reconcile
contains "only the other record is not held" out "1 held record(s), 1 mismatch"
# agent-lease must outlast what one decision's MTA commands may take (each
# mta-timeout and 2 s to stop it; 4 commands with Postfix), on the command line
# or in review.yaml; and an MTA command that hangs is stopped after mta-timeout.
expect "a lease shorter than a decision may take" 78 "$CTL" quarantine $H -o mta-timeout=5s -o agent-lease=20s list
contains "it names both keys" err \
	"agent-lease 20s is not longer than one decision may take: 4 MTA commands (Postfix), each mta-timeout 5s"
printf 'mta-timeout: 1m\nagent-lease: 4m\n' >"$tmp/review.yaml"
expect "the same in review.yaml" 78 "$CTL" quarantine -c "$tmp/review.yaml" $H list
contains "it names the file" err "$tmp/review.yaml: agent-lease 4m is not longer"
expect "mta-timeout lowered by -o: the file's lease is enough" 0 \
	"$CTL" quarantine -c "$tmp/review.yaml" $H -o mta-timeout=50s list
if [ "$(id -u)" = 0 ]; then # else the helper is run through sudo
	printf '#!/bin/sh\necho $$ >"%s/hang.pid"\nexec sleep 600\n' "$tmp" >"$tmp/hang" && chmod +x "$tmp/hang"
	expect "a helper that hangs" 69 "$CTL" quarantine $H -o host-name=mx-b -o "helper=$tmp/hang" \
		-o mta-timeout=1s release 1
	contains "it is stopped after mta-timeout" err "$tmp/hang: did not finish within 1 s; stopped"
	pid=$(cat "$tmp/hang.pid" 2>/dev/null)
	if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then pass=$((pass + 1)); else
		fail=$((fail + 1)); echo "FAIL the hanging helper ($pid) was not stopped"; fi
	# Ctrl-C while the helper runs (a stand-in that sends it, as the terminal
	# would, and hangs): the helper is stopped at once, not after mta-timeout,
	# the claim undone and the failure recorded, and apologyctl exits 130.
	printf '#!/bin/sh\necho $$ >"%s/int.pid"\nkill -INT $PPID\nexec sleep 600\n' "$tmp" >"$tmp/int" &&
		chmod +x "$tmp/int"
	expect "Ctrl-C while the helper runs" 130 "$CTL" quarantine $H -o host-name=mx-b -o "helper=$tmp/int" \
		-o mta-timeout=2m -o agent-lease=20m release 1
	contains "the helper is stopped" err "$tmp/int: interrupted; stopped"
	pid=$(cat "$tmp/int.pid" 2>/dev/null)
	if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then pass=$((pass + 1)); else
		fail=$((fail + 1)); echo "FAIL the interrupted helper ($pid) was not stopped"; fi
	[ "$(sqlite3 "$tmp/hosts.db" "SELECT state FROM quarantine WHERE id = 1")" = held ] &&
		pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL the interrupted release left the record claimed"; }
	sqlite3 "$tmp/hosts.db" "SELECT note FROM reviews WHERE quarantine_id = 1 AND action = 'release-failed'
	  ORDER BY id DESC LIMIT 1" | grep -q "interrupted; stopped" && pass=$((pass + 1)) ||
		{ fail=$((fail + 1)); echo "FAIL the interruption is not in the audit trail"; }
fi
echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
