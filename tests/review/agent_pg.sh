#!/bin/sh
# tests/review/agent_pg.sh [BUILD] - a decision made on another host, carried out
# by this host's agent through the real helper (make pg-agent-test).
#
# A private PostgreSQL (tests/store/pgcluster.sh) is the store of the milter of a
# private Postfix instance (tests/e2e/lib.sh) and of the root helper
# apology-postsuper (its postsuper.conf names the same database).  The milter
# records its holds with this machine's host name; a reviewer "on mx-review"
# (review.yaml host-name: mx-review) decides them, which only writes an action
# addressed to this host; then `apologyctl quarantine agent --once` of this host
# carries it out: released mail is delivered, discarded mail is gone, each once
# even with two agents polling at once, and the helper's audit trail is in
# PostgreSQL.  Stops everything it started.  Runs as root.
# Ends with "agent: N passed, M failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
E2E_BUILD=${1:-build}
. tests/e2e/lib.sh
. tests/store/pgcluster.sh

CTL=$E2E_BUILD/apologyctl
LEASE="-o mta-timeout=2s -o agent-lease=17s"
HELPER=$E2E_BUILD/apology-postsuper
HOST=$(hostname)

# sql QUERY: one value from the shared store (instead of lib.sh's SQLite store;
# hold reads it).
sql() {
	"$PG_BIN/psql" -h "$PG_DIR" -U apology -d apology -Atc "$1"
}

# q HOST_NAME [-o key=value]... COMMAND...: apologyctl quarantine as host HOST_NAME.
q() {
	as=$1
	shift
	"$CTL" quarantine -o "store=$PG_LOCATION" -o "postfix-config=$T/etc" -o "helper=$HELPER" \
		-o "policy=$E2E_POLICY" -o "host-name=$as" -o "spool-directory=" "$@" </dev/null
}

t_release_sent_then_carried_out() {
	id=$(hold a1) || why "not held"
	[ "$(sql "SELECT host FROM quarantine WHERE id = $id")" = "$HOST" ] || why "host not recorded"
	qid=$(sql "SELECT queue_id FROM quarantine WHERE id = $id")
	out=$(q mx-review release "$id" --comment "fine" 2>&1) || why "release on mx-review: $out"
	echo "$out" | grep -q "sent to host $HOST" || why "not sent: $out"
	in_queue "$qid" | grep -q hold || why "released before this host's agent ran"
	q mx-review list | grep -q "release waiting on $HOST" || why "list: $(q mx-review list)"
	out=$(q mx-review agent --once 2>&1)
	[ -z "$out" ] || why "mx-review's agent acted: $out"
	out=$(q "$HOST" agent --once 2>&1) || why "agent: $out"
	echo "$out" | grep -q "release of message $id by .*: done" || why "agent said: $out"
	[ "$(sql "SELECT state FROM quarantine WHERE id = $id")" = released ] || why "state not released"
	in_queue "$qid" | grep -q hold && why "still in the hold queue"
	delivered reply-bad-a1@acme.example >/dev/null || why "not delivered after release"
	[ "$(sql "SELECT outcome FROM helper_actions WHERE quarantine_id = $id ORDER BY id DESC LIMIT 1")" = \
		released ] || why "helper's audit trail: $(sql "SELECT outcome, detail FROM helper_actions")"
	[ "$(sql "SELECT result FROM host_actions WHERE quarantine_id = $id")" = done ] || why "result"
	row=$(sql "SELECT string_agg(action || ' by ' || reviewer, ', ' ORDER BY id) FROM reviews
	             WHERE quarantine_id = $id")
	[ "$row" = "release-sent by root, release by root" ] || why "audit trail: $row"
	out=$(q "$HOST" agent --once 2>&1)
	[ -z "$out" ] || why "a second look acted again: $out"
}

t_discard_by_two_agents_once() {
	id=$(hold a2) || why "not held"
	qid=$(sql "SELECT queue_id FROM quarantine WHERE id = $id")
	out=$(q mx-review discard "$id" 2>&1) || why "discard on mx-review: $out"
	q "$HOST" agent --once >"$T/agent1.out" 2>&1 &
	p1=$!
	q "$HOST" agent --once >"$T/agent2.out" 2>&1 &
	p2=$!
	wait $p1
	wait $p2
	n=$(cat "$T/agent1.out" "$T/agent2.out" | grep -c "discard of message $id by .*: done")
	[ "$n" = 1 ] || why "carried out $n times: $(cat "$T/agent1.out" "$T/agent2.out")"
	[ -z "$(in_queue "$qid")" ] || why "still queued: $(in_queue "$qid")"
	[ "$(sql "SELECT count(*) FROM helper_actions WHERE quarantine_id = $id AND outcome = 'discarded'")" = 1 ] ||
		why "helper ran other than once: $(sql "SELECT outcome FROM helper_actions WHERE quarantine_id = $id")"
}

# An agent stopped between its claim and its result (killed while its helper, a
# stand-in that never returns, runs): the record is claimed, the mail still held,
# the action "running".  Within agent-lease no agent takes it again; after it, of
# two agents started at once exactly one finishes it through the real helper,
# which releases the mail once; then a second release and a discard of the
# released mail are refused by the helper itself.
t_stuck_action_after_lease() {
	id=$(hold a4) || why "not held"
	qid=$(sql "SELECT queue_id FROM quarantine WHERE id = $id")
	token=$(sql "SELECT token FROM quarantine WHERE id = $id")
	out=$(q mx-review release "$id" 2>&1) || why "release on mx-review: $out"
	printf '#!/bin/sh\necho $$ >"%s/hang.pid"\nexec sleep 600\n' "$T" >"$T/hang-helper"
	chmod 755 "$T/hang-helper"
	rm -f "$T/hang.pid"
	q "$HOST" -o "helper=$T/hang-helper" agent --once >/dev/null 2>&1 &
	agent=$!
	for _ in $(seq 50); do [ -s "$T/hang.pid" ] && break; sleep 0.2; done
	[ -s "$T/hang.pid" ] || why "the stopped agent never reached its helper"
	# The agent is the stand-in's parent ($agent is the shell around it): it
	# dies first, its helper after.
	hung=$(cat "$T/hang.pid")
	kill -9 "$(ps -o ppid= -p "$hung" | tr -d ' ')"
	kill -9 "$hung"
	wait "$agent" 2>/dev/null
	[ "$(sql "SELECT claimed_at IS NOT NULL AND done_at IS NULL FROM host_actions WHERE quarantine_id = $id")" = t ] ||
		why "not left running: $(sql "SELECT claimed_at, done_at, result FROM host_actions WHERE quarantine_id = $id")"
	[ "$(sql "SELECT state FROM quarantine WHERE id = $id")" = released ] || why "the record was not claimed"
	in_queue "$qid" | grep -q hold || why "left the hold queue without the helper"
	# The shortest lease the settings take with mta-timeout 2s: longer than one
	# decision's 4 MTA commands may take, 4 x (2s + 2s to stop one).
	out=$(q "$HOST" $LEASE agent --once 2>&1)
	[ -z "$out" ] || why "taken again within the lease: $out"
	sleep 18
	q "$HOST" $LEASE agent --once >"$T/agent1.out" 2>&1 &
	p1=$!
	q "$HOST" $LEASE agent --once >"$T/agent2.out" 2>&1 &
	p2=$!
	wait $p1
	wait $p2
	n=$(cat "$T/agent1.out" "$T/agent2.out" | grep -c "release of message $id by .*: done$")
	[ "$n" = 1 ] || why "finished $n times: $(cat "$T/agent1.out" "$T/agent2.out")"
	in_queue "$qid" | grep -q hold && why "still in the hold queue"
	delivered reply-bad-a4@acme.example >/dev/null || why "not delivered after the lease"
	[ "$(sql "SELECT count(*) FROM helper_actions WHERE quarantine_id = $id AND outcome = 'released'")" = 1 ] ||
		why "helper released other than once: $(sql "SELECT outcome FROM helper_actions WHERE quarantine_id = $id")"
	[ "$(sql "SELECT result FROM host_actions WHERE quarantine_id = $id")" = done ] || why "result"
	row=$(sql "SELECT string_agg(action || ' by ' || reviewer, ', ' ORDER BY id) FROM reviews
	             WHERE quarantine_id = $id")
	[ "$row" = "release-sent by root, release by root" ] || why "audit trail: $row"
	# Its claim aged past the lease: a finished action is still not taken again.
	sql "UPDATE host_actions SET claimed_at = claimed_at - 3600 WHERE quarantine_id = $id" >/dev/null
	out=$(q "$HOST" $LEASE agent --once 2>&1)
	[ -z "$out" ] || why "acted again: $out"
	# Twice cannot harm: the helper refuses a second release and a discard of it.
	for verb in release discard; do
		"$HELPER" -c "$T/etc" "$verb" "$qid" "$token" 2>"$T/helper.err"
		[ $? = 77 ] || why "helper $verb after the release: $(cat "$T/helper.err")"
	done
	[ "$(sql "SELECT count(*) FROM helper_actions WHERE queue_id = '$qid' AND outcome = 'refused'")" = 2 ] ||
		why "refusals not in the audit trail: $(sql "SELECT outcome, detail FROM helper_actions WHERE queue_id = '$qid'")"
}

t_helper_refuses_unknown_record() {
	id=$(hold a3) || why "not held"
	qid=$(sql "SELECT queue_id FROM quarantine WHERE id = $id")
	token=$(sql "SELECT token FROM quarantine WHERE id = $id")
	# The record gone from the shared store: the helper refuses a sealed token.
	sql "UPDATE quarantine SET state = 'monitor' WHERE id = $id" >/dev/null
	"$HELPER" -c "$T/etc" release "$qid" "$token" 2>"$T/helper.err"
	[ $? = 77 ] || why "helper: $(cat "$T/helper.err")"
	in_queue "$qid" | grep -q hold || why "released without a held record"
	[ "$(sql "SELECT outcome FROM helper_actions WHERE queue_id = '$qid' ORDER BY id DESC LIMIT 1")" = \
		refused ] || why "refusal not in the audit trail"
}

cleanup() {
	stop_all
	pg_stop
}
trap cleanup EXIT
trap 'exit 1' INT TERM
[ -x "$HELPER" ] || die "$HELPER not built"
pg_start || die "no PostgreSQL"
setup_instance milter
write_helper_settings
# The helper's store is the shared database.
printf 'store: %s\nhold-key: %s\npostfix-config: %s\n' "$PG_LOCATION" "$HOLD_KEY" "$T/etc" >"$T/postsuper.conf"
sed 's/^  senders: .*/  senders: ["*@acme.example"]/' "$E2E_POLICY" >"$T/policy.yaml"
copy_policy_models "$T"
E2E_POLICY=$T/policy.yaml
: >"$T/swaks.log"
start_sink
start_milter -o "store=$PG_LOCATION"
start_postfix

for t in t_release_sent_then_carried_out t_discard_by_two_agents_once t_stuck_action_after_lease \
	t_helper_refuses_unknown_record; do
	run_test "$t"
done
[ "$FAILED" -gt 0 ] && { echo "--- milter log (last 15 lines) ---"; tail -15 "$MILTER_LOG"; }
echo "agent: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
