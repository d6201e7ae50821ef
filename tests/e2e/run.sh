#!/bin/sh
# tests/e2e/run.sh [BUILD] - end-to-end tests of apology-milter in a real Postfix.
#
# Starts a private Postfix instance on loopback ports (an inbound port, and a
# submission-like port with milter_macro_daemon_name=ORIGINATING), smtp-sink as the
# destination, and the milter on a unix socket; sends the sample messages of
# tests/e2e/msgs/ with swaks and checks what was delivered, what Postfix holds and
# what the milter recorded.  Stops everything it started.  Runs as root.
# Ends with the line "e2e: N passed, M failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
E2E_BUILD=${1:-build}
. tests/e2e/lib.sh

MSGS=tests/e2e/msgs


# today FILE: the reply's Date header and its quoted attribution set to now.
today() {
	sed -i -e "s/^Date: .*/Date: $(LC_ALL=C date -R)/" \
		-e "s/^On Mon, 3 Mar 2025 at 09:12,/On $(LC_ALL=C date '+%a, %-d %b %Y at %H:%M'),/" "$1"
}

# same_as_sent SENT DELIVERED: the delivered copy, from the first header line of the
# sent file on, is byte for byte the sent file (trailing blank lines aside).
same_as_sent() {
	first=$(head -1 "$1")
	awk -v first="$first" 'found || $0 == first { found = 1; print }' "$2" |
		sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' >"$T/cmp.delivered"
	sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$1" >"$T/cmp.sent"
	cmp -s "$T/cmp.sent" "$T/cmp.delivered"
}

header() { headers_of "$1" | sed -n "s/^$2: //p" | head -1; }

# stored QUERY WANT: the store's answer to QUERY once it is WANT, or the last answer
# after 5 s.  The milter's store writer writes the records just after the verdict.
stored() { settled "$2" 100 sql "$1"; }

# complaint TAG [CLIENT_DOMAIN]: send the sample complaint in and wait until recorded.
complaint() {
	f=$(variant $MSGS/complaint.eml "$1" "${2:-client.example}")
	send_in "dana@${2:-client.example}" sam@acme.example "$f" || return 1
	judged "complaint-$1@${2:-client.example}" >/dev/null || return 1
	[ "$(stored "SELECT count(*) FROM complaints WHERE message_id = 'complaint-$1@${2:-client.example}'" 1)" = 1 ]
}

wait_log() {
	i=0
	while ! grep -q "$1" "$MILTER_LOG"; do
		i=$((i + 1))
		[ $i -gt 100 ] && return 1
		sleep 0.05
	done
}

# ---- the tests --------------------------------------------------------------

t_inbound_complaint_recorded() {
	complaint c1 || why "complaint not sent"
	l=$(judged complaint-c1@client.example) || why "no log line"
	echo "$l" | grep -q "inbound complaint severity=serious" || why "log: $l"
	row=$(stored "SELECT client_domain, client_addr, serious, received > strftime('%s','now') - 120
	           FROM complaints WHERE message_id = 'complaint-c1@client.example'" "client.example|127.0.0.1|1|1")
	[ "$row" = "client.example|127.0.0.1|1|1" ] || why "store row: '$row'"
	d=$(delivered complaint-c1@client.example) || why "not delivered"
	headers_of "$d" | grep -q "^X-Apology" && why "inbound mail was changed"
	return 0
}

t_inbound_other_mail_not_recorded() {
	f=$(variant $MSGS/question.eml q1)
	send_in dana@client.example sam@acme.example "$f" || why "send failed"
	d=$(delivered question-q1@client.example) || why "not delivered"
	same_as_sent "$f" "$d" || why "inbound mail was changed"
	n=$(sql "SELECT count(*) FROM complaints WHERE message_id = 'question-q1@client.example'")
	[ "$n" = 0 ] || why "an ordinary question was recorded as a complaint"
}

t_pass_untouched() {
	f=$(variant $MSGS/note.eml p1)
	send_out sam@acme.example dana@client.example "$f" || why "send failed"
	l=$(judged note-p1@acme.example) || why "no log line"
	echo "$l" | grep -q "verdict=pass score=0 rules=- action=none" || why "log: $l"
	d=$(delivered note-p1@acme.example) || why "not delivered"
	same_as_sent "$f" "$d" || why "not byte-identical: $(diff "$T/cmp.sent" "$T/cmp.delivered" | head -5)"
}

t_good_reply_passes() {
	complaint g1 || why "complaint not sent"
	f=$(variant $MSGS/reply-good.eml g1)
	send_out sam@acme.example dana@client.example "$f" || why "send failed"
	l=$(judged reply-good-g1@acme.example) || why "no log line"
	echo "$l" | grep -q "verdict=pass" || why "log: $l"
	d=$(delivered reply-good-g1@acme.example) || why "not delivered"
	same_as_sent "$f" "$d" || why "a passed reply was changed"
}

t_advise_headers() {
	complaint a1 || why "complaint not sent"
	f=$(variant $MSGS/reply-doubtful.eml a1)
	send_out sam@acme.example dana@client.example "$f" || why "send failed"
	d=$(delivered reply-doubtful-a1@acme.example) || why "not delivered"
	check=$(header "$d" X-Apology-Check)
	echo "$check" | grep -Eq '^advise; score=[0-9]+; rules=[a-z-]+(,[a-z-]+)*$' ||
		why "X-Apology-Check: '$check'"
	echo "$check" | grep -q "non-apology\|no-remedy" || why "expected non-apology or no-remedy: $check"
	findings=$(header "$d" X-Apology-Findings)
	[ -n "$findings" ] || why "no X-Apology-Findings header"
	# Only ASCII rule ids and numbers; every physical line under 998 characters.
	awk 'BEGIN { RS = "\n" } /^$/ { exit } length($0) >= 998 { bad = 1 } END { exit bad }' "$d" ||
		why "a header line is 998 characters or longer"
	echo "$check $findings" | LC_ALL=C grep -q '[^ -~]' && why "non-ASCII in headers"
	echo "$findings" | grep -qi "inconvenience" && why "mail text leaked into a header"
	# The stored arrival time wins over the quoted date (a year ago): not late.
	echo "$check" | grep -q "late-reply" && why "late-reply although the complaint arrived just now"
	return 0
}

t_hold_in_postfix_and_store() {
	complaint h1 || why "complaint not sent"
	f=$(variant $MSGS/reply-bad.eml h1)
	send_out sam@acme.example dana@client.example "$f" || why "send failed"
	l=$(judged reply-bad-h1@acme.example) || why "no log line"
	echo "$l" | grep -q "verdict=hold .*action=hold complaint=stored token=" || why "log: $l"
	q=$(held_queue_id reply-bad-h1@acme.example) || why "not in postqueue -j hold queue"
	token=$(postcat -c "$T/etc" -hq "$q" | sed -n 's/^X-Apology-Token: //p')
	[ -n "$token" ] || why "no token header on the held message"
	row=$(stored "SELECT queue_id, verdict, state, sender, recipients, complaint_ref,
	                  instr(CAST(raw AS TEXT), 'reply-bad-h1@acme.example') > 0,
	                  json_extract(findings, '\$.verdict')
	           FROM quarantine WHERE token = '$token'" \
		"$q|hold|held|sam@acme.example|dana@client.example|complaint-h1@client.example|1|hold")
	[ "$row" = "$q|hold|held|sam@acme.example|dana@client.example|complaint-h1@client.example|1|hold" ] ||
		why "store row: '$row'"
	rules=$(sql "SELECT group_concat(json_extract(value, '\$.rule')) FROM quarantine,
	             json_each(json_extract(findings, '\$.findings')) WHERE token = '$token'")
	echo "$rules" | grep -q "blame-third-party" || why "findings in the store: $rules"
	[ -z "$(grep -l -F reply-bad-h1@acme.example "$SINK_DIR"/* 2>/dev/null)" ] ||
		why "the held message was delivered"
}

# The milter's own reconcile against this Postfix's hold queue (postqueue -c): the
# held message is recorded; its record taken away (as a store write lost would),
# it is an alert naming its queue id; the record back, "recorded again".
t_reconcile_with_postfix() {
	q=$(held_queue_id reply-bad-h1@acme.example) || why "nothing held"
	wait_log "info: reconcile: 1 message(s) in the hold queue, 1 recorded in the store" ||
		why "no reconcile line: $(grep reconcile "$MILTER_LOG" | tail -2)"
	sql "UPDATE quarantine SET state = 'released' WHERE queue_id = '$q'" || why "cannot change the record"
	wait_log "alert: held but not recorded: 1 of 1 .* 1 with no record anywhere (queue ids: $q;" ||
		why "no alert: $(grep reconcile "$MILTER_LOG" | tail -2)"
	sql "UPDATE quarantine SET state = 'held' WHERE queue_id = '$q'"
	wait_log "reconcile: held mail recorded again: 1 message(s) in the hold queue, 1 recorded" ||
		why "not recorded again: $(grep reconcile "$MILTER_LOG" | tail -2)"
}

t_release_delivers_unfiltered() {
	q=$(held_queue_id reply-bad-h1@acme.example) || why "nothing held to release"
	postsuper -c "$T/etc" -H "$q" >/dev/null 2>&1 || why "postsuper -H failed"
	postqueue -c "$T/etc" -f >/dev/null 2>&1
	d=$(delivered reply-bad-h1@acme.example) || why "released message not delivered"
	header "$d" X-Apology-Check | grep -q "^hold;" || why "the released copy lost its headers"
	[ "$(grep -c "$q: outgoing" "$MILTER_LOG")" = 1 ] || why "the released message was filtered again"
	return 0
}

t_late_reply_from_stored_time() {
	complaint l1 || why "complaint not sent"
	# The complaint arrived three days ago; the reply quotes it as written today.
	sql "UPDATE complaints SET received = strftime('%s','now') - 3 * 86400
	     WHERE message_id = 'complaint-l1@client.example'" || why "cannot age the complaint"
	f=$(variant $MSGS/reply-doubtful.eml l1)
	today "$f"
	send_out sam@acme.example dana@client.example "$f" || why "send failed"
	l=$(judged reply-doubtful-l1@acme.example) || why "no log line"
	echo "$l" | grep -q "complaint=stored" || why "reply not matched to the stored complaint: $l"
	echo "$l" | grep -q "late-reply" || why "no late-reply: $l"
}

t_repeat_apology() {
	complaint r1 repeat.example || why "first complaint not sent"
	f=$(variant $MSGS/reply-good.eml r1 repeat.example)
	send_out sam@acme.example dana@repeat.example "$f" || why "send failed"
	l=$(judged reply-good-r1@acme.example) || why "no log line"
	echo "$l" | grep -q "repeat-apology" && why "repeat-apology on the first apology: $l"
	echo "$l" | grep -q "verdict=hold" && why "first apology held: $l"
	n=$(stored "SELECT count(*) FROM apologies WHERE sender = 'sam@acme.example'
	         AND client_domain = 'repeat.example'" 1)
	[ "$n" = 1 ] || why "apology not recorded in the history ($n)"
	# A second reply to the same complaint is not the same mistake again.
	f=$(variant $MSGS/reply-good.eml r1 repeat.example)
	sed -i 's/^Message-ID: <reply-good-r1@/Message-ID: <reply-good-r1b@/' "$f"
	send_out sam@acme.example dana@repeat.example "$f" || why "send failed"
	l=$(judged reply-good-r1b@acme.example) || why "no log line"
	echo "$l" | grep -q "repeat-apology" && why "repeat-apology on a second reply to one complaint: $l"
	complaint r2 repeat.example || why "second complaint not sent"
	f=$(variant $MSGS/reply-good.eml r2 repeat.example)
	send_out sam@acme.example dana@repeat.example "$f" || why "send failed"
	l=$(judged reply-good-r2@acme.example) || why "no log line"
	echo "$l" | grep -q "repeat-apology" || why "no repeat-apology: $l"
}

# An unauthenticated client on the inbound port sends what looks like Sam's reply:
# it is inbound mail (no daemon name, not authenticated, not from a configured
# network) and is not judged.  ({auth_authen} making mail outgoing is tested at the
# protocol level in tests/miltertest/raw_protocol.py.)
t_unauthenticated_inbound_not_judged() {
	g=$(variant $MSGS/reply-bad.eml au2)
	send_in sam@acme.example dana@client.example "$g" || why "inbound send failed"
	d=$(delivered reply-bad-au2@acme.example) || why "inbound copy not delivered"
	grep -q "^X-Apology-Check:" "$d" && why "inbound mail was judged"
	return 0
}

t_out_of_scope_sender_untouched() {
	f=$(variant $MSGS/reply-bad.eml o1)
	send_out robot@elsewhere.example dana@client.example "$f" || why "send failed"
	d=$(delivered reply-bad-o1@acme.example) || why "not delivered"
	same_as_sent "$f" "$d" || why "out-of-scope mail was changed"
	q=$(queue_id reply-bad-o1@acme.example)
	grep -q "$q: outgoing" "$MILTER_LOG" && why "out-of-scope mail was judged"
	return 0
}

t_internal_recipients_untouched() {
	f=$(variant $MSGS/reply-bad.eml o2)
	send_out sam@acme.example lee@acme.example "$f" || why "send failed"
	d=$(delivered reply-bad-o2@acme.example) || why "not delivered"
	same_as_sent "$f" "$d" || why "mail to colleagues was changed"
}

t_unparseable_unchecked() {
	f=$(variant $MSGS/reply-nested.eml u1)
	send_out sam@acme.example dana@client.example "$f" || why "send failed"
	d=$(delivered reply-nested-u1@acme.example) || why "not delivered (must never be lost)"
	check=$(header "$d" X-Apology-Check)
	echo "$check" | grep -q "^unchecked; reason=" || why "X-Apology-Check: '$check'"
}

t_forged_header_replaced() {
	complaint f1 || why "complaint not sent"
	f=$(variant $MSGS/reply-doubtful.eml f1)
	sed -i '1i X-Apology-Check: pass' "$f"
	send_out sam@acme.example dana@client.example "$f" || why "send failed"
	d=$(delivered reply-doubtful-f1@acme.example) || why "not delivered"
	n=$(headers_of "$d" | grep -c "^X-Apology-Check:")
	[ "$n" = 1 ] || why "$n X-Apology-Check headers"
	header "$d" X-Apology-Check | grep -q "^advise" || why "the sender's header survived"
}

# The fingerprint the milter records before analysis: sender, Message-ID, body
# length and body (whole, for bodies up to 2 KB), the body as Postfix passes it:
# CRLF lines, plus the empty line swaks adds at the end.
fingerprint() {
	awk 'body { printf "%s\r\n", $0 } /^$/ { body = 1 }' "$1" >"$T/fp.body"
	printf '\r\n' >>"$T/fp.body"
	{
		printf '%s\0%s\0%s\0' "$2" "$3" "$(wc -c <"$T/fp.body")"
		cat "$T/fp.body"
	} | sha256sum | cut -d' ' -f1
}

# die_analysing FP N: as if the daemon had died while analysing the message with
# fingerprint FP: its in-flight mark is left behind, and the restarted daemon counts
# it (the Nth such start-up line in the log).
die_analysing() {
	stop_milter
	sql "INSERT INTO inflight (fingerprint, started) VALUES ('$1', strftime('%s','now'))" ||
		why "cannot leave an in-flight mark"
	start_milter
	i=0
	while [ "$(grep -c "1 message(s) were being analysed" "$MILTER_LOG")" -lt "$2" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && return 1
		sleep 0.05
	done
}

t_crash_guard() {
	f=$(variant $MSGS/reply-bad.eml k1)
	fp=$(fingerprint "$f" sam@acme.example reply-bad-k1@acme.example)
	# One death may have come from outside (kill -9): the message is judged again, and held.
	die_analysing "$fp" 1 || why "restart did not find the mark"
	send_out sam@acme.example dana@client.example "$f" || why "send failed"
	held_queue_id reply-bad-k1@acme.example >/dev/null || why "not held after one death"
	# A second death with it in flight: it is not analysed again; on-error (accept) passes it.
	die_analysing "$fp" 2 || why "second restart did not find the mark"
	send_out sam@acme.example dana@client.example "$f" || why "second send failed"
	d=$(delivered reply-bad-k1@acme.example) || why "not delivered (must pass as unchecked)"
	header "$d" X-Apology-Check | grep -q "^unchecked; reason=analysis-stopped-the-daemon-twice-before" ||
		why "X-Apology-Check: '$(header "$d" X-Apology-Check)'"
}

t_reload_good_policy() {
	# A policy for other senders only: Sam's replies are out of scope after the reload
	# (SIGHUP here, SIGUSR1 for the way back).
	sed 's/^  senders: .*/  senders: ["nobody@acme.example"]/' "$T/policy.orig" >"$E2E_POLICY"
	kill -HUP "$MILTER_PID"
	wait_log "policy reloaded" || why "no reload logged"
	complaint rg || why "complaint not sent"
	f=$(variant $MSGS/reply-bad.eml rg)
	send_out sam@acme.example dana@client.example "$f" || why "send failed"
	d=$(delivered reply-bad-rg@acme.example) || why "not delivered: the new policy is not in use"
	same_as_sent "$f" "$d" || why "judged with the old policy"
	cp "$T/policy.orig" "$E2E_POLICY"
	kill -USR1 "$MILTER_PID"
	i=0
	while [ "$(grep -c "policy reloaded" "$MILTER_LOG")" -lt 2 ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && why "second reload not logged"
		sleep 0.05
	done
}

t_reload_bad_policy_keeps_old() {
	printf 'version: 1\nrules: [unclosed\n' >"$E2E_POLICY"
	kill -USR1 "$MILTER_PID"
	wait_log "policy not reloaded, keeping the old one" || why "no refusal logged"
	cp "$T/policy.orig" "$E2E_POLICY"
	kill -0 "$MILTER_PID" 2>/dev/null || why "the milter died"
	complaint rb || why "complaint not sent"
	f=$(variant $MSGS/reply-bad.eml rb)
	send_out sam@acme.example dana@client.example "$f" || why "send failed"
	held_queue_id reply-bad-rb@acme.example >/dev/null || why "not held: the old policy is gone"
}

t_monitor_mode_changes_nothing() {
	stop_milter
	start_milter -o mode=monitor
	complaint m1 || why "complaint not sent"
	f=$(variant $MSGS/reply-bad.eml m1)
	send_out sam@acme.example dana@client.example "$f" || why "send failed"
	d=$(delivered reply-bad-m1@acme.example) || why "not delivered in monitor mode"
	same_as_sent "$f" "$d" || why "monitor mode changed the message"
	l=$(judged reply-bad-m1@acme.example) || why "no log line"
	echo "$l" | grep -q "verdict=hold .*action=none mode=monitor" || why "log: $l"
	n=$(stored "SELECT count(*) FROM quarantine WHERE message_id = 'reply-bad-m1@acme.example'
	         AND state = 'monitor'" 1)
	[ "$n" = 1 ] || why "no monitor record in the store"
	stop_milter
	start_milter
}

t_milter_stopped_default_accept() {
	stop_milter
	f=$(variant $MSGS/reply-bad.eml s1)
	send_out sam@acme.example dana@client.example "$f" || why "send failed with the milter down"
	d=$(delivered reply-bad-s1@acme.example) || why "not delivered with the milter down"
	same_as_sent "$f" "$d" || why "changed although the milter was down"
	start_milter
}

# ---- main -------------------------------------------------------------------

trap 'stop_all' EXIT
trap 'exit 1' INT TERM
setup_instance milter
cp "$E2E_POLICY" "$T/policy.orig"
copy_policy_models "$T"
# The policy the milter reads (and the reload tests rewrite): only our own senders.
sed -i 's/^  senders: .*/  senders: ["*@acme.example"]/' "$T/policy.orig"
E2E_POLICY=$T/policy.yaml
cp "$T/policy.orig" "$E2E_POLICY"
: >"$T/swaks.log"
start_sink
start_milter
start_postfix

# The runner itself: a check that fails half way through a test fails it.
runner_probe() {
	false || why "probe"
	return 0
}
run_test runner_probe >/dev/null
[ "$FAILED" = 1 ] || die "the test runner passed a test whose check failed"
FAILED=0

for t in t_inbound_complaint_recorded t_inbound_other_mail_not_recorded t_pass_untouched \
	t_good_reply_passes t_advise_headers t_hold_in_postfix_and_store t_reconcile_with_postfix \
	t_release_delivers_unfiltered t_late_reply_from_stored_time t_repeat_apology t_unauthenticated_inbound_not_judged \
	t_out_of_scope_sender_untouched \
	t_internal_recipients_untouched t_unparseable_unchecked t_forged_header_replaced \
	t_crash_guard t_reload_good_policy t_reload_bad_policy_keeps_old \
	t_monitor_mode_changes_nothing t_milter_stopped_default_accept; do
	run_test "$t"
done

# A build with SANITIZE=address reports into the milter's log.
if grep -q "Sanitizer\|runtime error" "$MILTER_LOG"; then
	FAILED=$((FAILED + 1))
	echo "FAIL sanitizer reports in the milter log:"
	grep -A5 "Sanitizer\|runtime error" "$MILTER_LOG" | head -20
fi
if [ "$FAILED" -gt 0 ]; then
	echo "--- milter log (last 30 lines) ---"
	tail -30 "$MILTER_LOG"
fi
echo "e2e: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
