#!/bin/sh
# tests/review/run.sh [BUILD] - the quarantine review tools against a real Postfix.
#
# Starts the private Postfix instance of tests/e2e/lib.sh with the milter, holds
# replies there, and drives `apologyctl quarantine` (list, show, release, discard,
# return, expire, reconcile) through the privileged helper apology-postsuper, then
# `apologyctl notify --once` against a local webhook receiver (tests/notify/server.py:
# answering 200, 500, or hanging, and a port that refuses) and the private Postfix;
# then the review page in a browser, against hostile clients (web_limits.py) and
# over its own HTTPS (tls.py).
# Stops everything it started.  Runs as root.  Ends with "review: N passed, M failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
E2E_BUILD=${1:-build}
. tests/e2e/lib.sh

HOOK_PID=
CTL=$E2E_BUILD/apologyctl
HELPER=$E2E_BUILD/apology-postsuper
MSGS=tests/e2e/msgs


# q [-o key=value]... COMMAND...: apologyctl quarantine on the test instance.
q() {
	"$CTL" quarantine -o "store=sqlite:$STORE" -o "postfix-config=$T/etc" -o "helper=$HELPER" \
		-o "policy=$E2E_POLICY" -o "smtp-url=smtp://127.0.0.1:$PORT_IN" \
		-o "mail-from=review@acme.example" "$@" </dev/null
}

# notify STORE [-o key=value]...: one pass of the notification worker.
notify() {
	st=$1
	shift
	"$CTL" notify -o "store=sqlite:$st" -o "smtp-url=" -o "notify-timeout=2s" \
		-o "review-url=http://review.test" "$@" --once </dev/null
}

# ---- the tests --------------------------------------------------------------

t_list_filters() {
	id=$(hold l1) || why "not held"
	q list | grep -E "^$id +[0-9]+m .* held .*sam@acme.example .*client.example .*blame-third-party" \
		>/dev/null || why "list: $(q list)"
	q list --format json | grep -F "\"id\":$id," | grep -q '"rules":"[a-z,-]*blame-third-party' ||
		why "json: $(q list --format json)"
	q list --rule blame-third-party | grep -q "^$id " || why "--rule filter lost it"
	q list --rule over-apology | grep -q "^$id " && why "--rule over-apology kept it"
	q list --sender SAM@acme.example | grep -q "^$id " || why "--sender filter lost it"
	q list --sender lee@acme.example | grep -q "^$id " && why "--sender filter kept it"
	q list --client client.example | grep -q "^$id " || why "--client filter lost it"
	q list --client example | grep -q "^$id " && why "--client matched a suffix"
	q list --older-than 1d | grep -q "^$id " && why "--older-than 1d kept a new hold"
	q list --bogus 2>/dev/null
	[ $? = 64 ] || why "unknown option not a usage error"
	return 0
}

t_show_marks_findings() {
	id=$(hold s1) || why "not held"
	out=$(q show "$id") || why "show failed"
	# the new text, read without its [[...]]{n} marks
	echo "$out" | sed 's/\[\[//g; s/\]\]{[0-9]*}//g' | grep -q "^  | The courier lost the parcel" ||
		why "no new text: $out"
	echo "$out" | grep -q '\[\[[^]]*\]\]{[0-9]*}' || why "no marked finding"
	echo "$out" | grep -q "blame-third-party \[hold\]" || why "no finding line"
	echo "$out" | grep -q "    why: " || why "no principle"
	echo "$out" | grep -q "complaint: <complaint-s1@client.example> from client.example" ||
		why "no complaint: $(echo "$out" | grep complaint)"
	echo "$out" | grep -q "^  Subject: Re: Order 4471" || why "no headers"
	echo "$out" | grep -q "You should" || why "quoted/new text missing"
	echo "$out" | grep -q "| > Order 4471" && why "quoted history shown as new text"
	# the complaint as the daemon recorded it (store schema 12), not parsed again
	echo "$out" | grep -q "^complaint as judged: serious, sent " || why "no judged complaint: $out"
	echo "$out" | grep -q "^  > Order 4471 was supposed to arrive last Friday" || why "no quoted complaint: $out"
	[ "$(sql "SELECT complaint_detected || ' ' || complaint_clear || ' ' || (length(complaint_text) > 0)
	          FROM quarantine WHERE id = $id")" = "1 1 1" ] || why "complaint columns not written"
	return 0
}

t_release_delivers() {
	id=$(hold r1) || why "not held"
	qid=$(sql "SELECT queue_id FROM quarantine WHERE id = $id")
	out=$(q release "$id" --comment "fine after all" 2>&1) || why "release failed: $out"
	[ "$(sql "SELECT state FROM quarantine WHERE id = $id")" = released ] || why "state not released"
	row=$(sql "SELECT reviewer, action, note, at > strftime('%s','now') - 60 FROM reviews
	           WHERE quarantine_id = $id")
	[ "$row" = "root|release|fine after all|1" ] || why "audit row: '$row'"
	in_queue "$qid" | grep -q hold && why "still in the hold queue"
	delivered reply-bad-r1@acme.example >/dev/null || why "not delivered after release"
	out=$(q release "$id" 2>&1) && why "a second release succeeded"
	echo "$out" | grep -q "is released, not held" || why "second release: $out"
}

# A caller that ignores SIGCHLD (sudo passes that on to the helper): the helper
# still waits for postsuper and records what it did.
t_helper_sigchld_ignored() {
	id=$(hold sc) || why "not held"
	qid=$(sql "SELECT queue_id FROM quarantine WHERE id = $id")
	tok=$(sql "SELECT token FROM quarantine WHERE id = $id")
	python3 -c 'import os, signal, sys
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
os.execv(sys.argv[1], sys.argv[1:])' "$HELPER" -c "$T/etc" release "$qid" "$tok" 2>"$T/sigchld.err" ||
		why "released with SIGCHLD ignored: exit $? ($(cat "$T/sigchld.err"))"
	row=$(sql "SELECT outcome FROM helper_actions WHERE queue_id = '$qid' AND token = '$tok' ORDER BY id DESC LIMIT 1")
	[ "$row" = released ] || why "audit row says '$row'"
	in_queue "$qid" | grep -q hold && why "still in the hold queue"
	delivered reply-bad-sc@acme.example >/dev/null || why "not delivered after release"
	return 0
}

t_release_wrong_labels() {
	id=$(hold lw) || why "not held"
	out=$(q release "$id" --wrong no-such-rule 2>&1)
	[ $? = 64 ] || why "a rule not on the reply was not a usage error: $out"
	[ "$(sql "SELECT state FROM quarantine WHERE id = $id")" = held ] || why "changed by a refused --wrong"
	out=$(q release "$id" --wrong blame-third-party --wrong excuse 2>&1) || why "release failed: $out"
	[ "$(sql "SELECT count(*) FROM review_labels WHERE quarantine_id = $id AND verdict = 'wrong'")" = 2 ] ||
		why "labels: $(sql "SELECT rule, verdict FROM review_labels WHERE quarantine_id = $id")"
	[ "$(sql "SELECT count(*) FROM review_labels WHERE quarantine_id = $id AND verdict = 'right'
	          AND action = 'release' AND reviewer = 'root'")" -ge 1 ] || why "the other rules not labelled right"
	# the daemon's summary of the held reply, for the report's counts
	[ "$(sql "SELECT verdict || ' ' || sender || ' ' || client_domain FROM decisions
	          WHERE rules LIKE '%blame-third-party%' ORDER BY id DESC LIMIT 1")" = \
		"hold sam@acme.example client.example" ] || why "no decision recorded: $(sql "SELECT * FROM decisions")"
	id2=$(hold lr) || why "second not held"
	q return "$id2" --comment "call them" >/dev/null 2>&1 || why "return failed"
	[ "$(sql "SELECT count(*) FROM review_labels WHERE quarantine_id = $id2 AND verdict = 'wrong'")" = 0 ] ||
		why "a return labelled a rule wrong"
	# a release that says only "this thread is no complaint" (its quoted history changed, so
	# that it is a text of its own): the complaint labelled wrong, no rule judged
	sed 's/^> Order 4471 was supposed to arrive last Friday and it still/> The quarterly board meeting moves to Friday, and the agenda still/' \
		$MSGS/reply-bad.eml >"$T/no-complaint.eml"
	id3=$(hold lc "$T/no-complaint.eml") || why "third not held"
	out=$(q release "$id3" --wrong complaint 2>&1) || why "release --wrong complaint failed: $out"
	echo "$out" | grep -q "the thread marked as no complaint" || why "release --wrong complaint said: $out"
	[ "$(sql "SELECT group_concat(rule || ' ' || verdict) FROM review_labels WHERE quarantine_id = $id3")" = \
		"complaint wrong" ] || why "labels of the no-complaint release: $(sql "SELECT rule, verdict FROM review_labels
		WHERE quarantine_id = $id3")"
	[ "$(sql "SELECT group_concat(quarantine_id || ' ' || verdict) FROM review_labels WHERE rule = 'complaint'
	          AND quarantine_id IN ($id, $id2)")" = "$id right,$id2 right" ] ||
		why "the complaint of the first release and the return not labelled right"
	"$CTL" labels -o "store=sqlite:$STORE" -o "policy=$E2E_POLICY" export >"$T/labels.jsonl" </dev/null ||
		why "labels export failed"
	grep -F "\"id\":$id," "$T/labels.jsonl" | grep -q '"decision":"release".*"wrong":\["blame-third-party","excuse"\]' ||
		why "export: $(cat "$T/labels.jsonl")"
	grep -F "\"id\":$id2," "$T/labels.jsonl" | grep -q '"decision":"return".*"wrong":\[\]' ||
		why "export of the return: $(cat "$T/labels.jsonl")"
	grep -F "\"id\":$id3," "$T/labels.jsonl" |
		grep -q '"complaint":{"detected":true,"severity":"serious","stored":true,"clear":true,"text":"[^"]*The quarterly board meeting[^"]*","wrong":true}' ||
		why "export of the no-complaint release: $(grep -F "\"id\":$id3," "$T/labels.jsonl")"
	# as lines of the gate's files: the changed thread none, the other one a serious complaint
	python3 milter/train/labels_to_training.py gate "$T/labels.jsonl" >"$T/gate.tsv" 2>/dev/null ||
		why "labels_to_training gate failed"
	[ "$(wc -l <"$T/gate.tsv")" = 2 ] && grep -q '^none	.*The quarterly board' "$T/gate.tsv" &&
		grep -q '^serious	.*Order 4471 was supposed' "$T/gate.tsv" || why "gate lines: $(cat "$T/gate.tsv")"
	return 0
}

# A passed near miss (sample.near-misses 1): delivered untouched, a copy kept for review
# (state sampled), judged with `quarantine judge`, exported and turned into a gate line.
sampled_id_now() {
	sql "SELECT id FROM quarantine WHERE message_id = 'reply-near-$1@acme.example' AND state = 'sampled'"
}
t_near_miss_sampled() {
	stop_milter
	start_milter -o sample.near-misses=1
	send_out sam@acme.example dana@client.example "$(variant $MSGS/reply-near-miss.eml nm)" ||
		why "the near miss was not sent"
	f=$(delivered reply-near-nm@acme.example) || why "the near miss was not delivered"
	grep -q "^X-Apology" "$f" && why "the near miss was not untouched: $(grep "^X-Apology" "$f")"
	id=$(first_output 100 sampled_id_now nm) || why "no sampled record: $(tail -3 "$MILTER_LOG")"
	grep -q "sampled=near-miss" "$MILTER_LOG" || why "the log does not say it was sampled"
	[ "$(sql "SELECT count(*) FROM quarantine WHERE message_id = 'reply-near-nm@acme.example'
	          AND complaint_text LIKE '%the February invoice is a bit higher%'")" = 1 ] ||
		why "the sampled record lacks the quoted text"
	out=$(q judge "$id" complaint 2>&1) || why "judge failed: $out"
	[ "$(sql "SELECT state FROM quarantine WHERE id = $id")" = judged ] || why "not judged"
	"$CTL" labels -o "store=sqlite:$STORE" -o "policy=$E2E_POLICY" export >"$T/near.jsonl" </dev/null ||
		why "labels export failed"
	grep -F "\"id\":$id," "$T/near.jsonl" | grep -q '"decision":"judge".*"complaint":{"detected":false,.*"wrong":true}' ||
		why "export of the judgement: $(grep -F "\"id\":$id," "$T/near.jsonl")"
	python3 milter/train/labels_to_training.py gate "$T/near.jsonl" 2>/dev/null |
		grep -q '^normal	.*the February invoice is a bit higher' || why "no gate line for the missed complaint"
	stop_milter
	start_milter
	return 0
}

t_discard_deletes() {
	id=$(hold d1) || why "not held"
	qid=$(sql "SELECT queue_id FROM quarantine WHERE id = $id")
	q discard "$id" >/dev/null 2>&1 || why "discard failed"
	[ "$(sql "SELECT state FROM quarantine WHERE id = $id")" = deleted ] || why "state not deleted"
	[ -z "$(in_queue "$qid")" ] || why "still queued: $(in_queue "$qid")"
	sleep 1
	grep -l -F reply-bad-d1@acme.example "$SINK_DIR"/* >/dev/null 2>&1 && why "delivered after discard"
	return 0
}

t_return_needs_comment_and_mails_author() {
	id=$(hold t1) || why "not held"
	q return "$id" >/dev/null 2>&1
	[ $? = 64 ] || why "return without --comment not refused"
	q return "$id" --comment "Please own the late delivery and call Dana." >/dev/null 2>&1 ||
		why "return failed"
	[ "$(sql "SELECT state FROM quarantine WHERE id = $id")" = returned ] || why "state not returned"
	row=$(sql "SELECT channel, target, state FROM outbox WHERE key = 'return:$id:mail'")
	[ "$row" = "mail|sam@acme.example|pending" ] || why "outbox: '$row'"
	notify "$STORE" -o "smtp-url=smtp://127.0.0.1:$PORT_IN" >/dev/null || why "notify failed"
	[ "$(sql "SELECT state FROM outbox WHERE key = 'return:$id:mail'")" = sent ] ||
		why "mail not sent: $(sql "SELECT last_error FROM outbox WHERE key = 'return:$id:mail'")"
	f=$(delivered "apology-review-return-$id-") || why "mail to the author not delivered"
	grep -q "Please own the late delivery" "$f" || why "comment missing from the mail"
	grep -q "What to do instead:" "$f" || why "advice missing from the mail"
	grep -q "^Subject: Your reply was not sent" "$f" || why "subject: $(grep Subject "$f")"
}

t_release_of_other_message_refused() {
	id=$(hold x1) || why "not held"
	other=$(hold x2) || why "the second reply not held"
	qid=$(sql "SELECT queue_id FROM quarantine WHERE id = $id")
	qid2=$(sql "SELECT queue_id FROM quarantine WHERE id = $other")
	# As if Postfix had reused the queue id of x1 for another held message (x2):
	# the record and its sealed token are the daemon's, the queued message is not.
	mv "$T/spool/hold/$qid" "$T/x1.queued" && mv "$T/spool/hold/$qid2" "$T/spool/hold/$qid" ||
		why "cannot swap the queue files"
	out=$(q release "$id" 2>&1) && why "release of a different message succeeded"
	mv "$T/spool/hold/$qid" "$T/spool/hold/$qid2" && mv "$T/x1.queued" "$T/spool/hold/$qid" ||
		why "cannot put the queue files back"
	echo "$out" | grep -q "not the reviewed one" || why "error: $out"
	[ "$(sql "SELECT state FROM quarantine WHERE id = $id")" = held ] || why "marked released"
	[ "$(sql "SELECT action FROM reviews WHERE quarantine_id = $id")" = release-failed ] ||
		why "failure not in the audit trail"
	[ "$(sql "SELECT outcome FROM helper_actions WHERE quarantine_id = $id")" = refused ] ||
		why "the helper's refusal not in its audit trail"
	in_queue "$qid" | grep -q hold || why "left the hold queue"
	in_queue "$qid2" | grep -q hold || why "the other one left the hold queue"
}

# A helper that released the message and was then stopped at mta-timeout (as
# when its own audit trail cannot be written in time): the queue shows the
# message out of the hold queue, so the release is recorded as done, the
# helper's error before it in the audit trail, and the mail is delivered.
t_helper_acted_then_stopped() {
	id=$(hold hs) || why "not held"
	qid=$(sql "SELECT queue_id FROM quarantine WHERE id = $id")
	printf '#!/bin/sh\n"%s" "$@"\nexec sleep 600\n' "$(cd "$(dirname "$HELPER")" && pwd)/$(basename "$HELPER")" \
		>"$T/slow-helper"
	chmod 755 "$T/slow-helper"
	out=$(q -o "helper=$T/slow-helper" -o mta-timeout=3s release "$id" --comment "fine" 2>&1) ||
		why "release failed: $out"
	[ "$(sql "SELECT state FROM quarantine WHERE id = $id")" = released ] || why "state not released"
	[ "$(sql "SELECT group_concat(action, ' ') FROM (SELECT action FROM reviews WHERE quarantine_id = $id
	          ORDER BY id)")" = "release-helper-failed release" ] ||
		why "audit trail: $(sql "SELECT action, note FROM reviews WHERE quarantine_id = $id")"
	sql "SELECT note FROM reviews WHERE quarantine_id = $id AND action = 'release-helper-failed'" |
		grep -q "did not finish within 3 s; stopped; the queue shows the message out of the hold queue" ||
		why "note: $(sql "SELECT note FROM reviews WHERE quarantine_id = $id")"
	[ "$(sql "SELECT outcome FROM helper_actions WHERE quarantine_id = $id")" = released ] ||
		why "the helper's own audit trail: $(sql "SELECT outcome FROM helper_actions WHERE quarantine_id = $id")"
	in_queue "$qid" | grep -q hold && why "still in the hold queue"
	delivered reply-bad-hs@acme.example >/dev/null || why "not delivered after release"
	return 0
}

# Ctrl-C just after the real helper released the message (a wrapper sends it to
# apologyctl, as the terminal would, and hangs): the wrapper is stopped at once,
# the queue is still read and shows the message out of the hold queue, so the
# release is recorded as done, the mail delivered, and apologyctl exits 0.
t_interrupt_after_release() {
	id=$(hold hi) || why "not held"
	qid=$(sql "SELECT queue_id FROM quarantine WHERE id = $id")
	printf '#!/bin/sh\n"%s" "$@"\nkill -INT $PPID\nexec sleep 600\n' \
		"$(cd "$(dirname "$HELPER")" && pwd)/$(basename "$HELPER")" >"$T/int-helper"
	chmod 755 "$T/int-helper"
	out=$(q -o "helper=$T/int-helper" -o mta-timeout=2m -o agent-lease=20m release "$id" 2>&1) ||
		why "release failed: $out"
	[ "$(sql "SELECT state FROM quarantine WHERE id = $id")" = released ] || why "state not released"
	sql "SELECT note FROM reviews WHERE quarantine_id = $id AND action = 'release-helper-failed'" |
		grep -q "interrupted; stopped; the queue shows the message out of the hold queue" ||
		why "audit trail: $(sql "SELECT action, note FROM reviews WHERE quarantine_id = $id")"
	in_queue "$qid" | grep -q hold && why "still in the hold queue"
	delivered reply-bad-hi@acme.example >/dev/null || why "not delivered after release"
	return 0
}

# A token the daemon never sealed: the message was held by other means (here a
# sender restriction of Postfix, see main) and its sender forged the token
# header.  The helper refuses it, called directly or through the review tools
# after a record was written into the store by hand, and audits each refusal.
FORGER=mallory@other.example
t_helper_refuses_forged_token() {
	tok=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
	mkdir -p "$T/msgs"
	sed "s/-4471@/-forged@/g; s/^Subject: .*/&\nX-Apology-Token: $tok/" $MSGS/reply-bad.eml >"$T/msgs/forged.eml"
	send_in "$FORGER" dana@client.example "$T/msgs/forged.eml" || why "not sent"
	qid=$(held_queue_id reply-bad-forged@acme.example) || why "not held by Postfix"
	postcat -c "$T/etc" -hq "$qid" | grep -q "^X-Apology-Token: $tok" || why "the forged header is not there"
	"$HELPER" -c "$T/etc" release "$qid" "$tok" 2>"$T/forged.err"
	rc=$?
	[ $rc = 77 ] || why "a forged token: exit $rc ($(cat "$T/forged.err"))"
	grep -q "not sealed by apology-milter" "$T/forged.err" || why "says: $(cat "$T/forged.err")"
	in_queue "$qid" | grep -q hold || why "released on a forged token"
	# Someone who may write the store adds a held record for it: still not sealed.
	sql "INSERT INTO quarantine (queue_id, message_id, token, sender, recipients, verdict, score, findings,
	     created, state) VALUES ('$qid', 'reply-bad-forged@acme.example', '$tok', '$FORGER',
	     'dana@client.example', 'hold', 9, '{}', strftime('%s','now'), 'held')"
	fake=$(sql "SELECT id FROM quarantine WHERE token = '$tok'")
	out=$(q release "$fake" 2>&1) && why "released through the review tools: $out"
	in_queue "$qid" | grep -q hold || why "released on a record written by hand"
	rows=$(sql "SELECT count(*) FROM helper_actions WHERE queue_id = '$qid' AND token = '$tok'
	            AND action = 'release' AND outcome = 'refused' AND caller = 'root'")
	[ "$rows" = 2 ] || why "$rows audit rows of the 2 refusals"
	sql "DELETE FROM reviews WHERE quarantine_id = $fake; DELETE FROM quarantine WHERE id = $fake"
	postsuper -c "$T/etc" -d "$qid" >/dev/null 2>&1
	return 0
}

# helper_rc SETTINGS ARGS...: the helper's exit status with these settings (124
# when it hangs for 20 s).
helper_rc() {
	APOLOGY_POSTSUPER_CONF=$1
	shift
	timeout 20 "$HELPER" "$@" 2>>"$T/helper.err"
	rc=$?
	APOLOGY_POSTSUPER_CONF=$T/postsuper.conf
	return $rc
}

t_helper_validates_arguments() {
	tok=0123456789abcdef0123456789abcdef
	ps=$T/postsuper.conf
	before=$(sql "SELECT count(*) FROM helper_actions WHERE outcome = 'refused'")
	for bad in ALL all - "" "ABC;ls" "../../x" "A B C D E F" "-d" "0123456789012345678901234567890123"; do
		helper_rc "$ps" -c "$T/etc" release "$bad" "$tok"
		[ $? = 64 ] || why "queue id '$bad' accepted"
	done
	helper_rc "$ps" -c "$T/etc" release ABCDEF12 "not-a-token"
	[ $? = 64 ] || why "bad token accepted"
	helper_rc "$ps" -c "$T/etc" requeue ABCDEF12 "$tok"
	[ $? = 64 ] || why "unknown action accepted"
	# The token header is root's setting (postsuper.conf), not the caller's.
	helper_rc "$ps" -c "$T/etc" -t X-Other-Token release ABCDEF12 "$tok"
	[ $? = 64 ] || why "-t accepted"
	# Only the Postfix instances of the settings, and only when root's alone.
	mkdir -p "$T/loose" && cp "$T/etc/main.cf" "$T/loose/" && chmod 777 "$T/loose"
	ln -sfn "$T/etc" "$T/etc-link"
	helper_rc "$ps" -c "$T/loose" release ABCDEF12 "$tok"
	[ $? = 77 ] || why "an instance not in the settings accepted"
	{ cat "$ps"; echo "postfix-config: $T/loose"; echo "postfix-config: $T/etc-link"; } >"$T/ps-listed.conf"
	helper_rc "$T/ps-listed.conf" -c "$T/loose" release ABCDEF12 "$tok"
	[ $? = 77 ] || why "a world-writable config directory accepted"
	helper_rc "$T/ps-listed.conf" -c "$T/etc-link" release ABCDEF12 "$tok"
	[ $? = 77 ] || why "a config directory behind a symbolic link accepted"
	# A token the daemon did not seal for this queue id.
	helper_rc "$ps" -c "$T/etc" release ABCDEF12 "$tok"
	[ $? = 77 ] || why "an unsealed token not refused"
	after=$(sql "SELECT count(*) FROM helper_actions WHERE outcome = 'refused'")
	[ $((after - before)) = 16 ] || why "$((after - before)) of 16 refusals in the audit trail"
	# The settings themselves: root's alone, or nothing happens.
	cp "$ps" "$T/ps-loose.conf" && chmod 666 "$T/ps-loose.conf"
	helper_rc "$T/ps-loose.conf" -c "$T/etc" release ABCDEF12 "$tok"
	[ $? = 78 ] || why "world-writable settings accepted"
	cp "$ps" "$T/ps-nobody.conf" && chown nobody "$T/ps-nobody.conf"
	helper_rc "$T/ps-nobody.conf" -c "$T/etc" release ABCDEF12 "$tok"
	[ $? = 78 ] || why "settings owned by nobody accepted"
	printf 'store: %s\ntoken-header: X-Bad: y\n' "$STORE" >"$T/ps-bad.conf"
	helper_rc "$T/ps-bad.conf" -c "$T/etc" release ABCDEF12 "$tok"
	[ $? = 78 ] || why "a bad header name in the settings accepted"
	grep -q "not a Postfix instance of the helper's settings" "$T/helper.err" || why "$(cat "$T/helper.err")"
	return 0
}

# A symbolic link that nobody flips between the real instance and its own (whose
# main.cf is a FIFO, so any reading of it is seen), as fast as it can, while the
# helper is asked, again and again, to release a real hold through it: every try is
# refused, the untrusted main.cf is never read and the message stays held.  The
# settings even list the path (as an operator might): the helper still refuses it,
# since nobody may change a directory on the way.
RACE_TRIES=1000
t_helper_config_symlink_race() {
	id=$(hold sr1) || why "not held"
	qid=$(sql "SELECT queue_id FROM quarantine WHERE id = $id")
	tok=$(sql "SELECT token FROM quarantine WHERE id = $id")
	R=$T/race
	mkdir -p "$R/evil/etc" && cp "$T/etc/master.cf" "$R/evil/etc/" && mkfifo "$R/evil/etc/main.cf"
	ln -s "$T" "$R/link"
	chown -R -h nobody "$R"
	{ cat "$T/postsuper.conf"; echo "postfix-config: $R/link/etc"; } >"$T/ps-race.conf"
	setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups /usr/bin/python3 - "$R" "$T" <<'PY' &
import errno, os, sys, time
race, real = sys.argv[1], sys.argv[2]
fifo, link, new = race + "/evil/etc/main.cf", race + "/link", race + "/link.new"
n, deadline = 0, time.time() + 300
while time.time() < deadline and not os.path.exists(race + "/stop"):
    n += 1
    os.symlink(real if n % 2 else race + "/evil", new)
    os.replace(new, link)  # atomic: the link always names one of the two
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as e:
        if e.errno != errno.ENXIO:
            raise
        continue
    with open(race + "/read", "a") as f:
        f.write("the untrusted main.cf was read\n")
    try:
        os.write(fd, b"queue_directory = /nonexistent\n")
    except OSError:
        pass  # the reader went away: it was seen all the same
    os.close(fd)
PY
	flipper=$!
	refused=0
	i=0
	while [ $i -lt $RACE_TRIES ]; do
		helper_rc "$T/ps-race.conf" -c "$R/link/etc" release "$qid" "$tok"
		rc=$?
		[ $rc = 77 ] && refused=$((refused + 1))
		i=$((i + 1))
	done
	touch "$R/stop"
	wait "$flipper"
	[ "$refused" = $RACE_TRIES ] || why "$refused of $RACE_TRIES tries refused (last exit $rc)"
	[ -e "$R/read" ] && why "$(wc -l <"$R/read") tries read the untrusted main.cf"
	in_queue "$qid" | grep -q hold || why "the held message left the hold queue"
	n=$(sql "SELECT count(*) FROM helper_actions WHERE queue_id = '$qid' AND outcome = 'refused'
	         AND postfix_config = '$R/link/etc' AND detail LIKE '%is not owned by root%'")
	[ "$n" = $RACE_TRIES ] || why "$n of $RACE_TRIES refusals audited"
	return 0
}

# The shipped sudo rule: valid, and it lets a reviewer run exactly the helper
# as root and nothing else (a throwaway user and group, removed afterwards).
SUDO_USER_T=apology-test-reviewer
SUDO_FILE_T=/etc/sudoers.d/apology-review-test
sudo_cleanup() {
	rm -f "$SUDO_FILE_T"
	id "$SUDO_USER_T" >/dev/null 2>&1 && userdel "$SUDO_USER_T" 2>/dev/null
	getent group apology-review >/dev/null && [ -f "$T/made-group" ] && groupdel apology-review 2>/dev/null
	return 0
}
t_sudo_rule_exact() {
	command -v visudo >/dev/null || why "visudo missing (package sudo)"
	visudo -cqf packaging/sudoers.d/apology-review || why "the shipped rule does not parse"
	getent group apology-review >/dev/null || { groupadd apology-review && : >"$T/made-group"; }
	id "$SUDO_USER_T" >/dev/null 2>&1 || useradd -M -N -g apology-review "$SUDO_USER_T" || why "useradd"
	helper=$(cd "$(dirname "$HELPER")" && pwd)/$(basename "$HELPER")
	sed "s|^Cmnd_Alias APOLOGY_POSTSUPER = .*|Cmnd_Alias APOLOGY_POSTSUPER = $helper|" \
		packaging/sudoers.d/apology-review >"$T/sudoers"
	visudo -cqf "$T/sudoers" || why "the adapted rule does not parse"
	install -m 0440 "$T/sudoers" "$SUDO_FILE_T"
	tok=0123456789abcdef0123456789abcdef
	# allowed: the helper runs as root.  sudo drops APOLOGY_POSTSUPER_CONF, so it
	# reads its installed settings and refuses the bad queue id itself (64), or
	# refuses to act without them (78); as any other user it would refuse with 77.
	su -s /bin/sh "$SUDO_USER_T" -c "sudo -n '$helper' release ALL $tok" 2>"$T/sudo.err"
	rc=$?
	[ $rc = 64 ] || [ $rc = 78 ] ||
		{ sudo_cleanup; why "the helper did not run through sudo (exit $rc: $(cat "$T/sudo.err"))"; }
	# not allowed: settings of the caller's choice (these would be refused by name)
	echo "no-such-key: x" >"$T/ps-sudo.conf"
	su -s /bin/sh "$SUDO_USER_T" -c "APOLOGY_POSTSUPER_CONF='$T/ps-sudo.conf' sudo -n '$helper' \
		release ALL $tok" 2>"$T/sudo.err"
	grep -q ps-sudo.conf "$T/sudo.err" && { sudo_cleanup; why "sudo passed the settings file on"; }
	# not allowed: postsuper itself, or a shell
	su -s /bin/sh "$SUDO_USER_T" -c "sudo -n /usr/sbin/postsuper -d ALL" 2>/dev/null &&
		{ sudo_cleanup; why "postsuper ran through sudo"; }
	su -s /bin/sh "$SUDO_USER_T" -c "sudo -n /bin/sh -c true" 2>/dev/null &&
		{ sudo_cleanup; why "a shell ran through sudo"; }
	sudo_cleanup
}

t_reconcile_reports_both() {
	q reconcile >"$T/rec.out"
	rc=$?
	# The tampered record of t_release_of_other_message_refused is still held and
	# consistent; make one of each mismatch.
	sql "INSERT INTO quarantine (queue_id, message_id, token, sender, recipients, verdict,
	     score, findings, created, state) VALUES ('4ABCDEF123', 'gone@acme.example',
	     'feedfacefeedfacefeedfacefeedface', 'sam@acme.example', 'dana@client.example',
	     'hold', 9, '{}', strftime('%s','now'), 'held')"
	id=$(hold n1) || why "not held"
	qid=$(sql "SELECT queue_id FROM quarantine WHERE id = $id")
	sql "UPDATE quarantine SET state = 'deleted' WHERE id = $id"
	q reconcile >"$T/rec.out"
	[ $? = 1 ] || why "reconcile found no mismatch (was rc $rc before)"
	grep -q "not held: message [0-9]* (queue id 4ABCDEF123) is held in the store but gone" \
		"$T/rec.out" || why "missing record not reported: $(cat "$T/rec.out")"
	grep -q "no record: queue id $qid is in the hold queue" "$T/rec.out" ||
		why "unrecorded hold not reported: $(cat "$T/rec.out")"
	# forget: the record whose message this Postfix never held is recorded as gone, once
	# it is old enough; the message Postfix holds is not, whatever its age.
	gid=$(sql "SELECT id FROM quarantine WHERE queue_id = '4ABCDEF123'")
	q forget "$gid" >"$T/fg.out" 2>&1 && why "a hold recorded moments ago was forgotten"
	grep -q "less than 5 minutes ago" "$T/fg.out" || why "no reason given: $(cat "$T/fg.out")"
	sql "UPDATE quarantine SET created = created - 3600 WHERE id IN ($gid, $id)"
	sql "UPDATE quarantine SET state = 'held' WHERE id = $id"
	q forget "$id" >"$T/fg.out" 2>&1 && why "a message in Postfix's hold queue was forgotten"
	grep -q "is in the hold queue (queue id $qid)" "$T/fg.out" || why "no reason given: $(cat "$T/fg.out")"
	[ "$(sql "SELECT state FROM quarantine WHERE id = $id")" = held ] || why "the refused forget moved the record"
	q forget "$gid" >"$T/fg.out" 2>&1 || why "forget failed: $(cat "$T/fg.out")"
	grep -q "message $gid: gone (in no queue)" "$T/fg.out" || why "forget said: $(cat "$T/fg.out")"
	[ "$(sql "SELECT state FROM quarantine WHERE id = $gid")" = gone ] || why "the record is not gone"
	q reconcile >"$T/rec.out"
	[ $? = "$rc" ] || why "reconcile's exit is not as before the mismatches: $(cat "$T/rec.out")"
	grep -q "4ABCDEF123" "$T/rec.out" && why "the forgotten record is still reported: $(cat "$T/rec.out")"
	sql "UPDATE quarantine SET created = created + 3600 WHERE id = $id"
	sql "DELETE FROM reviews WHERE quarantine_id = $gid"
	sql "DELETE FROM quarantine WHERE queue_id = '4ABCDEF123'"
}

t_expire_returns_old_holds() {
	id=$(hold e1) || why "not held"
	qid=$(sql "SELECT queue_id FROM quarantine WHERE id = $id")
	# Leave only this one old enough, and another one new.
	sql "UPDATE quarantine SET created = strftime('%s','now') - 8 * 86400 WHERE id = $id"
	out=$(q -o expire-after=7d -o expire-action=return expire 2>&1)
	echo "$out" | grep -q "message $id: expired (returned)" || why "expire: $out"
	[ "$(sql "SELECT state FROM quarantine WHERE id = $id")" = expired ] || why "state not expired"
	[ "$(sql "SELECT action FROM reviews WHERE quarantine_id = $id")" = expire-return ] ||
		why "audit action"
	[ -z "$(in_queue "$qid")" ] || why "still queued"
	[ "$(sql "SELECT count(*) FROM outbox WHERE key = 'expire-return:$id:mail'")" = 1 ] ||
		why "the author is not told"
	n=$(sql "SELECT count(*) FROM quarantine WHERE state = 'expired'")
	[ "$n" = 1 ] || why "$n records expired (only the old one should be)"
}

# ---- notifications ----------------------------------------------------------

start_hook() {
	rm -f "$T/hook.port"
	python3 tests/notify/server.py "$T/hook.port" "$T/hook.log" 2>"$T/hook.err" &
	HOOK_PID=$!
	i=0
	while [ ! -s "$T/hook.port" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && die "webhook receiver did not start: $(cat "$T/hook.err")"
		sleep 0.05
	done
	HOOK=http://127.0.0.1:$(cat "$T/hook.port")
}

# copy NAME: a copy of the store with an empty outbox; prints its path.
copy() {
	sqlite3 "$STORE" ".backup $T/$1.db" && sqlite3 "$T/$1.db" "DELETE FROM outbox"
	echo "$T/$1.db"
}

t_webhook_sent_on_hold() {
	db=$(copy w1)
	: >"$T/hook.log"
	out=$(notify "$db" -o "webhook-url=$HOOK/ok") || why "notify: $out"
	held=$(sqlite3 "$db" "SELECT count(*) FROM quarantine WHERE state = 'held'")
	[ "$(sqlite3 "$db" "SELECT count(*) FROM outbox WHERE state = 'sent' AND event = 'hold'")" = "$held" ] ||
		why "not all $held hold notices sent: $out"
	id=$(sqlite3 "$db" "SELECT min(id) FROM quarantine WHERE state = 'held'")
	line=$(grep -F "\"event\":\"hold\",\"id\":$id," "$T/hook.log") || why "no POST for record $id"
	echo "$line" | grep -q "\"text\":\"Reply from sam@acme.example to dana@client.example held for review" ||
		why "no Slack text: $line"
	echo "$line" | grep -qF "\"url\":\"http://review.test/reply/$id\"" || why "no link: $line"
	echo "$line" | grep -qF '"rules":["' || why "no rules: $line"
	notify "$db" -o "webhook-url=$HOOK/ok" >/dev/null
	[ "$(grep -c "\"id\":$id," "$T/hook.log")" = 1 ] || why "a second pass sent again"
}

# Two workers at once (apology-review's and a cron `apologyctl notify --once`, say)
# against a slow receiver: each notice is sent once.
t_webhook_two_workers_once() {
	db=$(copy w5)
	: >"$T/hook.log"
	notify "$db" -o "webhook-url=$HOOK/slow" -o notify-timeout=20s >"$T/w5a.out" 2>&1 &
	a=$!
	notify "$db" -o "webhook-url=$HOOK/slow" -o notify-timeout=20s >"$T/w5b.out" 2>&1
	wait $a
	held=$(sqlite3 "$db" "SELECT count(*) FROM quarantine WHERE state = 'held'")
	[ "$(wc -l <"$T/hook.log")" = "$held" ] ||
		why "$(wc -l <"$T/hook.log") POSTs for $held notices: $(cat "$T/w5a.out" "$T/w5b.out")"
	[ "$(sqlite3 "$db" "SELECT count(*) FROM outbox WHERE state = 'sent' AND attempts = 1")" = "$held" ] ||
		why "rows: $(sqlite3 "$db" "SELECT key, state, attempts FROM outbox")"
}

t_webhook_500_retried_with_backoff() {
	db=$(copy w2)
	out=$(notify "$db" -o "webhook-url=$HOOK/fail" -o notify-backoff=60s -o notify-attempts=3)
	echo "$out" | grep -q "0 sent, [1-9][0-9]* to retry, 0 given up" || why "first pass: $out"
	row=$(sqlite3 "$db" "SELECT attempts, state, last_error, next_try - strftime('%s','now') BETWEEN 55 AND 61
	                   FROM outbox ORDER BY id LIMIT 1")
	[ "$row" = "1|pending|HTTP status 500|1" ] || why "after one failure: '$row'"
	notify "$db" -o "webhook-url=$HOOK/fail" >/dev/null
	[ "$(sqlite3 "$db" "SELECT attempts FROM outbox ORDER BY id LIMIT 1")" = 1 ] ||
		why "retried before its time"
	sqlite3 "$db" "UPDATE outbox SET next_try = 0"
	notify "$db" -o notify-backoff=60s -o notify-attempts=3 >/dev/null
	row=$(sqlite3 "$db" "SELECT attempts, next_try - strftime('%s','now') BETWEEN 115 AND 121
	                   FROM outbox ORDER BY id LIMIT 1")
	[ "$row" = "2|1" ] || why "backoff not doubled: '$row'"
	sqlite3 "$db" "UPDATE outbox SET next_try = 0"
	out=$(notify "$db" -o notify-attempts=3)
	echo "$out" | grep -q "given up" || why "third pass: $out"
	[ "$(sqlite3 "$db" "SELECT state FROM outbox ORDER BY id LIMIT 1")" = failed ] ||
		why "not given up after 3 attempts"
}

t_webhook_hang_times_out() {
	db=$(copy w3)
	sqlite3 "$db" "UPDATE quarantine SET state = 'released' WHERE id <> (SELECT min(id) FROM quarantine WHERE state = 'held')"
	start=$(date +%s)
	notify "$db" -o "webhook-url=$HOOK/hang" -o notify-timeout=2s >/dev/null
	took=$(($(date +%s) - start))
	[ "$took" -le 6 ] || why "a hanging webhook took ${took}s"
	err=$(sqlite3 "$db" "SELECT last_error FROM outbox LIMIT 1")
	echo "$err" | grep -qi "timed out\|timeout" || why "error: $err"
	[ "$(sqlite3 "$db" "SELECT state FROM outbox LIMIT 1")" = pending ] || why "not kept for a retry"
}

t_webhook_refused_then_recovers() {
	db=$(copy w4)
	port=$(free_port 41000)
	notify "$db" -o "webhook-url=http://127.0.0.1:$port/ok" >/dev/null
	err=$(sqlite3 "$db" "SELECT last_error FROM outbox ORDER BY id LIMIT 1")
	echo "$err" | grep -qi "connect" || why "error: $err"
	# Nothing is lost: the rows wait in the store; once the receiver is back (here:
	# webhook-url names one that answers, which a row waiting follows: it names its
	# channel, not the URL) and the row is due, the next pass delivers it.
	[ "$(sqlite3 "$db" "SELECT DISTINCT target FROM outbox WHERE channel = 'webhook'")" = webhook-url ] ||
		why "a webhook row names its URL"
	sqlite3 "$db" "UPDATE outbox SET next_try = 0"
	: >"$T/hook.log"
	notify "$db" -o "webhook-url=$HOOK/ok" >/dev/null
	[ "$(sqlite3 "$db" "SELECT count(*) FROM outbox WHERE state <> 'sent'")" = 0 ] ||
		why "rows left after recovery"
	[ -s "$T/hook.log" ] || why "nothing received after recovery"
}

t_hold_mail_to_author() {
	db=$(copy m1)
	id=$(sqlite3 "$db" "SELECT min(id) FROM quarantine WHERE state = 'held'")
	notify "$db" -o "smtp-url=smtp://127.0.0.1:$PORT_IN" \
		-o "mail-from=Revue Qualité <review@acme.example>" >/dev/null
	[ "$(sqlite3 "$db" "SELECT state FROM outbox WHERE key = 'hold:$id:mail'")" = sent ] ||
		why "$(sqlite3 "$db" "SELECT last_error FROM outbox WHERE key = 'hold:$id:mail'")"
	# Read as a mail reader would: headers in ASCII (the accented name in
	# RFC 2047), the text decoded from its transfer encoding.  Earlier tests
	# mailed the same hold with the default sender: wait for this one.
	python3 - "$SINK_DIR" "apology-review-hold-$id-" <<'PY' || why "the mail to the author does not read right"
import email, email.policy, glob, sys, time
for _ in range(100):
    mine = []
    for path in glob.glob(sys.argv[1] + "/*"):
        raw = open(path, "rb").read()
        m = email.message_from_bytes(raw, policy=email.policy.default)
        if sys.argv[2] in str(m["Message-ID"]) and "acme.example" in str(m["From"]):
            mine.append((raw, m))
    if mine:
        break
    time.sleep(0.1)
assert mine, "not delivered"
raw, m = mine[0]
head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
assert all(b < 128 for b in head), "8-bit header"
assert m["Subject"] == "Your reply is waiting for review", m["Subject"]
assert m["From"].addresses[0].display_name == "Revue Qualité", m["From"]
assert m["From"].addresses[0].addr_spec == "review@acme.example", m["From"]
assert m["Auto-Submitted"] == "auto-generated"
body = m.get_body(("plain",)).get_content()
assert "Why it matters:" in body and "What was found:" in body, body
PY
}

t_smtp_refused_kept() {
	db=$(copy m2)
	port=$(free_port 42000)
	notify "$db" -o "smtp-url=smtp://127.0.0.1:$port" >/dev/null
	[ "$(sqlite3 "$db" "SELECT count(*) FROM outbox WHERE channel = 'mail' AND state = 'pending'
	                    AND attempts = 1 AND last_error IS NOT NULL")" -ge 1 ] ||
		why "$(sqlite3 "$db" "SELECT state, last_error FROM outbox")"
}

# ---- the review page in a browser ---------------------------------------------

REVIEW_PID=

stop_review() {
	if [ -n "$REVIEW_PID" ]; then
		kill -TERM "$REVIEW_PID" 2>/dev/null
		wait "$REVIEW_PID" 2>/dev/null
	fi
	REVIEW_PID=
}

# start_review: apology-review on a free loopback port, accounts alice (reviewer)
# and root (admin) with password $WEB_PASS.
start_review() {
	WEB_PASS=correct-horse-$$
	hash=$(echo "$WEB_PASS" | "$E2E_BUILD/apology-review" --hash-password) || return 1
	printf 'alice:reviewer:%s\nroot:admin:%s\n' "$hash" "$hash" >"$T/accounts"
	WEB_PORT=$(free_port $((PORT_SINK + 100)))
	"$E2E_BUILD/apology-review" -o "store=sqlite:$STORE" -o "postfix-config=$T/etc" \
		-o "helper=$HELPER" -o "policy=$E2E_POLICY" -o "accounts=$T/accounts" \
		-o "listen=127.0.0.1:$WEB_PORT" -o smtp-url= </dev/null >"$T/review.log" 2>&1 &
	REVIEW_PID=$!
	wait_port "$WEB_PORT"
}

# The browser needs Debian's chromium and playwright-core from npm (installed into
# tests/web/node_modules here; never committed).
web_tools() {
	[ -x /usr/bin/chromium ] || { WHY="chromium missing (run: make deps)"; return 1; }
	command -v npm >/dev/null 2>&1 || { WHY="npm missing"; return 1; }
	[ -d tests/web/node_modules/playwright-core ] ||
		(cd tests/web && npm ci --no-audit --no-fund --loglevel=error </dev/null >/dev/null 2>&1) ||
		{ WHY="npm ci failed in tests/web"; return 1; }
}

t_web_browser() {
	web_tools || return 1
	held=$(hold w1) || why "not held"
	sed '/^Dana,$/a\
\
Note: <script>alert("owned")</script> <img src=x onerror=window.owned=1> arrives.' \
		$MSGS/reply-bad.eml >"$T/xss.eml"
	xss=$(hold xs "$T/xss.eml") || why "the <script> reply not held"
	start_review || why "apology-review did not start: $(cat "$T/review.log")"
	before=$(sql "SELECT count(*) FROM review_labels WHERE rule = 'blame-third-party' AND verdict = 'wrong'")
	REVIEW_URL=http://127.0.0.1:$WEB_PORT REVIEW_PASS=$WEB_PASS HELD_ID=$held XSS_ID=$xss WRONG_BEFORE=$before \
		node tests/web/review.test.js </dev/null >"$T/web.out" 2>&1
	rc=$?
	cat "$T/web.out"
	stop_review
	[ $rc = 0 ] || why "browser tests failed"
	# the review settings' policy is deprecated for the page: accepted, ignored, said so
	grep -q "setting policy (.*) ignored" "$T/review.log" || why "no log line for the ignored policy"
	delivered reply-bad-w1@acme.example >/dev/null || why "released in the browser but not delivered"
	[ "$(sql "SELECT reviewer || ' ' || action FROM reviews WHERE quarantine_id = $held")" = "alice release" ] ||
		why "audit row of the web decision"
	# the box ticked in the browser: that rule wrong, the reply's other rules right
	[ "$(sql "SELECT verdict || ' ' || action || ' ' || reviewer FROM review_labels
	          WHERE quarantine_id = $held AND rule = 'blame-third-party'")" = "wrong release alice" ] ||
		why "label of the finding marked wrong: $(sql "SELECT * FROM review_labels WHERE quarantine_id = $held")"
	[ "$(sql "SELECT count(*) FROM review_labels WHERE quarantine_id = $held AND verdict = 'right'")" -ge 1 ] ||
		why "no rule of the web decision labelled right"
	[ "$(sql "SELECT verdict FROM review_labels WHERE quarantine_id = $held AND rule = 'complaint'")" = wrong ] ||
		why "the box \"this thread is no complaint\" ticked in the browser: no label"
}

# The review page against hostile clients (tests/review/web_limits.py, which starts
# apology-review with a store of its own): 200 slow clients from one address and from
# 200 addresses while normal requests are served; an endless chunked POST cut off;
# log-in locks per user name and client address, per address (an IPv6 /64), for
# guesses sent at once too, and cleared by `apologyctl logins unlock`.
web_limits() {
	python3 tests/review/web_limits.py "$E2E_BUILD" "$1" >"$T/web-limits.out" 2>&1
	rc=$?
	cat "$T/web-limits.out"
	[ $rc = 0 ] || why "$(grep '^FAIL' "$T/web-limits.out" || tail -3 "$T/web-limits.out")"
}
t_web_slow_clients() { web_limits slow-clients; }
t_web_slow_addresses() { web_limits slow-addresses; }
t_web_endless_body() { web_limits endless-body; }
t_web_unnamed_parts() { web_limits unnamed-parts; }
t_web_stop_notifying() { web_limits stop-notifying; }
t_web_login_by_address() { web_limits login-by-address; }
t_web_login_at_once() { web_limits login-at-once; }
t_web_login_by_network() { web_limits login-by-network; }

# The review page speaking HTTPS itself (tests/review/tls.py: a self-signed
# certificate made by openssl, checked with curl: HSTS, Secure cookies, a log-in
# over TLS; plain HTTP and TLS 1.1 to the TLS port fail; an address other than
# loopback without TLS is refused at start), then in the browser.
web_tls() {
	python3 tests/review/tls.py "$E2E_BUILD" "$@" >"$T/web-tls.out" 2>&1
	rc=$?
	cat "$T/web-tls.out"
	[ $rc = 0 ] || why "$(grep '^FAIL' "$T/web-tls.out" || tail -3 "$T/web-tls.out")"
}
t_web_tls() { web_tls; }
t_web_tls_browser() {
	web_tools || return 1
	web_tls browser
}

# ---- main -------------------------------------------------------------------

cleanup() {
	[ -n "$HOOK_PID" ] && kill "$HOOK_PID" 2>/dev/null && wait "$HOOK_PID" 2>/dev/null
	stop_review
	stop_all
}
trap cleanup EXIT
trap 'exit 1' INT TERM
[ -x "$HELPER" ] || die "$HELPER not built"
setup_instance milter
write_helper_settings
# Mail from this sender is held by Postfix itself, not by the milter.
postconf -c "$T/etc" -e "smtpd_sender_restrictions = check_sender_access inline:{ $FORGER=HOLD }"
sed 's/^  senders: .*/  senders: ["*@acme.example"]/' "$E2E_POLICY" >"$T/policy.yaml"
copy_policy_models "$T"
E2E_POLICY=$T/policy.yaml
: >"$T/swaks.log"
start_sink
start_milter
start_postfix
start_hook

# Further arguments name the tests to run (default: all).
shift $(($# > 0 ? 1 : 0))
ONLY="$*"
for t in t_list_filters t_show_marks_findings t_release_delivers t_helper_sigchld_ignored t_release_wrong_labels t_near_miss_sampled \
	t_discard_deletes \
	t_return_needs_comment_and_mails_author t_release_of_other_message_refused t_helper_acted_then_stopped \
	t_interrupt_after_release \
	t_helper_refuses_forged_token t_helper_validates_arguments t_helper_config_symlink_race \
	t_sudo_rule_exact t_reconcile_reports_both t_expire_returns_old_holds \
	t_webhook_sent_on_hold t_webhook_two_workers_once t_webhook_500_retried_with_backoff t_webhook_hang_times_out \
	t_webhook_refused_then_recovers t_hold_mail_to_author t_smtp_refused_kept t_web_browser \
	t_web_slow_clients t_web_slow_addresses t_web_endless_body t_web_unnamed_parts t_web_stop_notifying t_web_login_by_address t_web_login_at_once t_web_login_by_network t_web_tls \
	t_web_tls_browser; do
	[ -z "$ONLY" ] || echo " $ONLY " | grep -q " $t " || continue
	run_test "$t"
done

[ "$FAILED" -gt 0 ] && { echo "--- milter log (last 15 lines) ---"; tail -15 "$MILTER_LOG"; }
echo "review: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
