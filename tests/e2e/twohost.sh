#!/bin/sh
# tests/e2e/twohost.sh [BUILD] - two mail hosts sharing one PostgreSQL store
# (make twohost-test), end to end.
#
# Starts, all on loopback and all stopped at the end (also on failure):
#   - one private PostgreSQL server (tests/store/pgcluster.sh: initdb in a
#     temporary directory, a unix socket in it only, run as nobody);
#   - two private Postfix instances, A and B (tests/e2e/lib.sh), each with
#     its own smtp-sink and its own apology-milter daemon; both daemons have
#     `store: postgresql://...` on that one database, and host names of their
#     own (host-name: mx-a.acme.example, mx-b.acme.example).
# and checks:
#   1. a complaint that arrives inbound on A is the stored complaint that a
#      reply leaving through B answers (B logs complaint=stored, and B's hold
#      record names the complaint and host B); a reply through B to a
#      complaint nobody received is not matched;
#   2. repeat-apology counts the apologies of every host: an apology sent
#      through A, then one to the same client through B, and the rule fires
#      on the second (not on the first);
#   3. one `apologyctl quarantine list` against the shared store shows the
#      holds of A and of B, each with its host and the queue id of its own
#      hold queue; and each daemon's reconcile compares its own hold queue
#      with its own records only (none of the other's "no longer held");
#   4. the database stopped mid-run: while replies flow through A (60, every
#      other one should be held), PostgreSQL is stopped (pg_ctl stop -m fast)
#      for some seconds and started again.  Mail keeps flowing (every message
#      delivered or held, none lost, none twice: tests/faults/count.py), no
#      should-hold reply passes unjudged, the daemon did spool (the outage was
#      seen), and within a bounded wait after the restart every hold is in
#      the database exactly once (hold rows = held messages in A's hold
#      queue, no token or Message-ID twice), every apology once, and one
#      decision summary for each reply judged advise or hold.
#   5. a hold on B released by a reviewer on A (apologyctl with A's review
#      settings) waits in the store until B's `apologyctl quarantine agent
#      --once` carries it out through the real helper on the shared store;
#      B delivers the reply, A's agent does nothing.
#
# Runs as root.  Ends with "twohost: N passed, M failed".  About a
# minute.  E2E_KEEP=1 keeps the temporary directories.
#   TWOHOST_MESSAGES (60), TWOHOST_RATE (6 per second), TWOHOST_OUTAGE (6 s)
set -u
cd "$(dirname "$0")/../.." || exit 1
E2E_BUILD=${1:-build}
. tests/e2e/lib.sh
. tests/store/pgcluster.sh

MSGS=tests/e2e/msgs
N=${TWOHOST_MESSAGES:-60}
RATE=${TWOHOST_RATE:-6}
OUTAGE=${TWOHOST_OUTAGE:-6}
HOST_A=mx-a.acme.example
HOST_B=mx-b.acme.example
PG_DIR=

# ---- two instances of lib.sh's one ------------------------------------------
# lib.sh keeps one instance in global variables; `save X` keeps them as X_...,
# `use X` makes instance X the current one again.
INSTANCE_VARS="T PORT_IN PORT_OUT PORT_PLAIN PORT_SINK PORT_METRICS SINK_DIR STORE MILTER_LOG MAILLOG HOLD_KEY MILTER_PID SINK_PID PF_STARTED"
save() {
	for v in $INSTANCE_VARS; do
		eval "${1}_$v=\${$v}"
	done
}
use() {
	for v in $INSTANCE_VARS; do
		eval "$v=\${${1}_$v:-}"
	done
}

# start_host X NAME: a Postfix instance, its smtp-sink and its daemon on the
# shared store, named NAME, with its metrics on $PORT_METRICS (past the ports
# of both instances).
# Saved after each step: a failure half way still stops what was started.
start_host() {
	PORT_METRICS=
	setup_instance milter
	save "$1"
	: >"$T/swaks.log"
	start_sink
	save "$1"
	PORT_METRICS=$(free_port $((PORT_SINK + 10)))
	start_milter -o "store=$PG_LOCATION" -o "host-name=$2" -o "spool.directory=$T/milter-spool" \
		-o "metrics=127.0.0.1:$PORT_METRICS"
	save "$1"
	start_postfix
	save "$1"
}

cleanup() {
	[ -n "${REVIEW_PID:-}" ] && kill "$REVIEW_PID" 2>/dev/null
	for x in A B; do
		use $x
		[ -n "$T" ] && stop_all
		save $x
	done
	pg_stop
	[ -n "${W:-}" ] && [ -z "${E2E_KEEP:-}" ] && rm -rf "$W"
}

# ---- what the tests read ----------------------------------------------------

# pgsql QUERY: the shared store's answer, unaligned, fields joined by |.
pgsql() {
	"$PG_BIN/psql" "$PG_LOCATION" -X -q -A -t -c "$1" 2>>"$W/psql.err"
}

# pg_stored QUERY WANT [SECONDS]: QUERY's answer once it is WANT, or the last
# answer after SECONDS (5).  The daemons' store writers write just after the verdict.
pg_stored() { settled "$2" $((${3:-5} * 20)) pgsql "$1"; }

# complaint_on X TAG [CLIENT_DOMAIN]: the sample complaint sent in on host X,
# waited for in the shared store.
complaint_on() {
	use "$1"
	f=$(variant $MSGS/complaint.eml "$2" "${3:-client.example}")
	send_in "dana@${3:-client.example}" sam@acme.example "$f" || return 1
	[ "$(pg_stored "SELECT count(*) FROM complaints
	                WHERE message_id = 'complaint-$2@${3:-client.example}'" 1)" = 1 ]
}

# reply_on X SAMPLE TAG [CLIENT_DOMAIN]: a reply sent out through host X;
# prints the daemon's log line of it.
reply_on() {
	use "$1"
	f=$(variant "$MSGS/$2.eml" "$3" "${4:-client.example}")
	send_out sam@acme.example "dana@${4:-client.example}" "$f" || return 1
	judged "$2-$3@acme.example"
}

# ---- the tests --------------------------------------------------------------

t_complaint_on_a_reply_on_b() {
	# Control: B finds no complaint for a reply to one nobody received.
	l=$(reply_on B reply-bad x0) || why "no log line on B for the control reply"
	echo "$l" | grep -q "complaint=stored" && why "a complaint nobody received was found: $l"
	complaint_on A x1 || why "the complaint sent in on A is not in the shared store"
	l=$(reply_on B reply-bad x1) || why "no log line on B"
	echo "$l" | grep -q "verdict=hold .*complaint=stored" || why "B did not match A's complaint: $l"
	use B
	q=$(held_queue_id reply-bad-x1@acme.example) || why "not in B's hold queue"
	row=$(pg_stored "SELECT queue_id, host, complaint_ref, state FROM quarantine
	                 WHERE message_id = 'reply-bad-x1@acme.example'" \
		"$q|$HOST_B|complaint-x1@client.example|held")
	[ "$row" = "$q|$HOST_B|complaint-x1@client.example|held" ] || why "B's hold record: '$row'"
	use A
	held_queue_id reply-bad-x1@acme.example >/dev/null && why "also held on A"
	return 0
}

t_repeat_apology_across_hosts() {
	complaint_on A r1 repeat.example || why "first complaint not stored"
	l=$(reply_on A reply-good r1 repeat.example) || why "no log line on A"
	echo "$l" | grep -q "repeat-apology" && why "repeat-apology on the first apology: $l"
	n=$(pg_stored "SELECT count(*) FROM apologies WHERE sender = 'sam@acme.example'
	               AND client_domain = 'repeat.example'" 1)
	[ "$n" = 1 ] || why "A's apology not in the shared history ($n)"
	complaint_on B r2 repeat.example || why "second complaint not stored"
	l=$(reply_on B reply-good r2 repeat.example) || why "no log line on B"
	echo "$l" | grep -q "repeat-apology" || why "no repeat-apology on B after A's apology: $l"
	n=$(pg_stored "SELECT count(*) FROM apologies WHERE sender = 'sam@acme.example'
	               AND client_domain = 'repeat.example'" 2)
	[ "$n" = 2 ] || why "B's apology not in the shared history ($n)"
	return 0
}

t_one_quarantine_list() {
	complaint_on B y1 || why "complaint not stored"
	l=$(reply_on A reply-bad y1) || why "no log line on A"
	echo "$l" | grep -q "verdict=hold" || why "not held on A: $l"
	use A
	qa=$(held_queue_id reply-bad-y1@acme.example) || why "not in A's hold queue"
	use B
	qb=$(held_queue_id reply-bad-x1@acme.example) || why "B's hold is gone"
	pg_stored "SELECT count(*) FROM quarantine WHERE queue_id = '$qa'" 1 >/dev/null
	"$E2E_BUILD/apologyctl" quarantine -o "store=$PG_LOCATION" list --format json \
		>"$W/list.json" 2>"$W/list.err" || why "apologyctl quarantine list: $(cat "$W/list.err")"
	python3 - "$W/list.json" "$qa" "$HOST_A" "$qb" "$HOST_B" <<'PY' >"$W/list.check" || why "$(cat "$W/list.check")"
import json, sys
path, qa, ha, qb, hb = sys.argv[1:]
text = open(path).read().strip()
rows = json.loads(text) if text.startswith("[") else [json.loads(l) for l in text.splitlines() if l.strip()]
seen = {(r.get("queue_id"), r.get("host")) for r in rows}
bad = [f"{q} on {h}" for q, h in ((qa, ha), (qb, hb)) if (q, h) not in seen]
if bad:
    print("not listed: %s (listed: %s)" % (", ".join(bad), sorted(seen)))
    sys.exit(1)
PY
	# And the text form shows both hosts.
	"$E2E_BUILD/apologyctl" quarantine -o "store=$PG_LOCATION" list >"$W/list.txt" 2>&1
	grep -q "$qa .*$HOST_A" "$W/list.txt" || why "text list lacks A's hold: $(cat "$W/list.txt")"
	grep -q "$qb .*$HOST_B" "$W/list.txt" || why "text list lacks B's hold: $(cat "$W/list.txt")"
	return 0
}

# Each daemon compares its own hold queue with its own records: A holds one
# reply, B two, and neither counts the other's as "no longer held".
t_each_host_reconciles_its_own() {
	for x in A:1 B:2; do
		use "${x%:*}"
		n=${x#*:}
		line="$n message(s) in the hold queue, $n recorded in the store, 0 being written now; 0 held record(s)"
		i=0
		until grep "info: reconcile: " "$MILTER_LOG" | tail -1 | grep -q "$line"; do
			i=$((i + 1))
			[ $i -gt 50 ] && { why "${x%:*}: $(grep "reconcile:" "$MILTER_LOG" | tail -1)"; break; }
			sleep 0.1
		done
	done
	return 0
}

# holds_waiting X: the apology_holds_waiting gauge of host X's daemon.
holds_waiting() {
	use "$1"
	python3 -c 'import sys, urllib.request
text = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode()
print(" ".join(l.split()[1] for l in text.splitlines() if l.startswith("apology_holds_waiting ")))' "$PORT_METRICS"
}

# Each daemon's held-mail gauge counts its own holds in the shared store: A
# holds one reply, B two (the sum is the queue, not twice it).
t_each_host_counts_its_own_holds() {
	for x in A:1 B:2; do
		i=0
		until [ "$(holds_waiting "${x%:*}")" = "${x#*:}" ]; do
			i=$((i + 1))
			[ $i -gt 50 ] && { why "${x%:*}: apology_holds_waiting $(holds_waiting "${x%:*}"), want ${x#*:}"; break; }
			sleep 0.1
		done
	done
	return 0
}

# A hold on B released by a reviewer on A: `apologyctl quarantine release` with
# A's review settings (host-name mx-a) only sends the decision to B through the
# shared store; A's agent finds nothing to do; B's agent (`agent --once` with B's
# settings) carries it out through the real helper, which checks the record in
# the shared database.  B's Postfix delivers the reply (B's sink), A's does not,
# and the record, the action and the helper's audit trail say so.
t_release_on_b_decided_on_a() {
	id=$(pgsql "SELECT id FROM quarantine WHERE message_id = 'reply-bad-x1@acme.example' AND state = 'held'")
	[ -n "$id" ] || why "B's hold of reply-bad-x1 has no held record"
	use B
	qb=$(held_queue_id reply-bad-x1@acme.example) || why "not in B's hold queue"
	out=$(review_on A release "$id" --comment "fine after all" 2>&1) || why "release on A: $out"
	echo "$out" | grep -q "sent to host $HOST_B" || why "not sent to B: $out"
	use B
	in_queue "$qb" | grep -q hold || why "released before B's agent ran: $(in_queue "$qb")"
	review_on A list | grep -q "release waiting on $HOST_B" || why "list on A: $(review_on A list)"
	out=$(review_on A agent --once 2>&1)
	[ -z "$out" ] || why "A's agent acted: $out"
	out=$(review_on B agent --once 2>&1) || why "B's agent: $out"
	echo "$out" | grep -q "release of message $id by .*: done" || why "B's agent said: $out"
	use B
	in_queue "$qb" | grep -q hold && why "still in B's hold queue"
	delivered reply-bad-x1@acme.example >/dev/null || why "not delivered by B after the release"
	use A
	grep -l -F reply-bad-x1@acme.example "$SINK_DIR"/* >/dev/null 2>&1 && why "delivered by A too"
	row=$(pgsql "SELECT q.state || '|' || a.result || '|' || h.outcome FROM quarantine q
	             JOIN host_actions a ON a.quarantine_id = q.id
	             JOIN helper_actions h ON h.quarantine_id = q.id WHERE q.id = $id
	             ORDER BY h.id DESC LIMIT 1")
	[ "$row" = "released|done|released" ] || why "record|action|helper: '$row'"
	row=$(pgsql "SELECT string_agg(action, ',' ORDER BY id) FROM reviews WHERE quarantine_id = $id")
	[ "$row" = "release-sent,release" ] || why "audit trail: '$row'"
	return 0
}

# A hold on B released with the Release button of the review page served on A
# (apology-review with A's review settings, logged in as a reviewer): the page
# only sends the decision to B ("sent"), shows it waiting on B without the
# buttons, and B's agent carries it out through the real helper; the audit trail
# names the reviewer who pressed the button.
t_release_on_b_by_the_review_page_on_a() {
	row=$(pgsql "SELECT id || '|' || message_id || '|' || queue_id FROM quarantine
	             WHERE host = '$HOST_B' AND state = 'held' ORDER BY id LIMIT 1")
	[ -n "$row" ] || why "B holds nothing any more"
	id=${row%%|*}
	rest=${row#*|}
	mid=${rest%%|*}
	qb=${rest#*|}
	use A
	REVIEW_PORT=$(free_port $((PORT_METRICS + 1)))
	hash=$(echo "pw-$$" | "$E2E_BUILD/apology-review" --hash-password) || why "no password hash"
	echo "carol:reviewer:$hash" >"$W/accounts"
	"$E2E_BUILD/apology-review" -o "store=$PG_LOCATION" -o "host-name=$HOST_A" -o "postfix-config=$T/etc" \
		-o "helper=$E2E_BUILD/apology-postsuper" -o "policy=$E2E_POLICY" -o "spool-directory=" \
		-o "accounts=$W/accounts" -o "listen=127.0.0.1:$REVIEW_PORT" -o "smtp-url=" \
		</dev/null >"$W/review.log" 2>&1 &
	REVIEW_PID=$!
	wait_port "$REVIEW_PORT" || why "apology-review did not start: $(tail -3 "$W/review.log")"
	out=$(python3 - "$REVIEW_PORT" "pw-$$" "$id" "$HOST_B" <<'PY'
import http.client, re, sys, urllib.parse
port, password, rid, host_b = sys.argv[1:]
c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
def req(method, path, form=None, cookie=None):
    headers = {"Cookie": cookie} if cookie else {}
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    c.request(method, path, body, headers)
    r = c.getresponse()
    return r, r.read().decode()
r, page = req("GET", "/login")
cookie = r.getheader("Set-Cookie").split(";")[0]
csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
r, _ = req("POST", "/login", {"csrf": csrf, "user": "carol", "password": password}, cookie)
if r.status != 303:
    sys.exit("log-in: %d" % r.status)
cookie = (r.getheader("Set-Cookie") or cookie).split(";")[0]
r, page = req("GET", "/reply/" + rid, cookie=cookie)
if 'id="decide"' not in page:
    sys.exit("no Decide form on the reply's page (%d)" % r.status)
csrf = re.search(r'id="decide"><input type="hidden" name="csrf" value="([0-9a-f]+)"', page).group(1)
r, page = req("POST", "/reply/%s/decide" % rid, {"csrf": csrf, "action": "release", "comment": "fine"}, cookie)
if r.status != 303 or "sent=release" not in (r.getheader("Location") or ""):
    sys.exit("the button: %d %s %s" % (r.status, r.getheader("Location"), page[:200]))
r, page = req("GET", "/reply/" + rid, cookie=cookie)
if "release waiting on %s" % host_b not in page or 'id="decide"' in page:
    sys.exit("the page after the button does not show the release waiting on B")
print("sent")
PY
	) || why "review page: $out"
	kill "$REVIEW_PID"
	wait "$REVIEW_PID" 2>/dev/null
	REVIEW_PID=
	use B
	in_queue "$qb" | grep -q hold || why "released before B's agent ran"
	out=$(review_on B agent --once 2>&1) || why "B's agent: $out"
	echo "$out" | grep -q "release of message $id by carol: done" || why "B's agent said: $out"
	use B
	in_queue "$qb" | grep -q hold && why "still in B's hold queue"
	delivered "$mid" >/dev/null || why "not delivered by B after the button"
	row=$(pgsql "SELECT string_agg(action || ' by ' || reviewer, ',' ORDER BY id) FROM reviews
	             WHERE quarantine_id = $id")
	[ "$row" = "release-sent by carol,release by carol" ] || why "audit trail: '$row'"
	[ "$(pgsql "SELECT count(*) FROM helper_actions WHERE quarantine_id = $id AND outcome = 'released'")" = 1 ] ||
		why "helper's audit trail"
	return 0
}

# review_on X COMMAND...: apologyctl quarantine with host X's review settings
# (its host name, its Postfix instance, the real helper).
review_on() {
	use "$1"
	_name=$HOST_A
	[ "$1" = B ] && _name=$HOST_B
	shift
	"$E2E_BUILD/apologyctl" quarantine -o "store=$PG_LOCATION" -o "host-name=$_name" \
		-o "postfix-config=$T/etc" -o "helper=$E2E_BUILD/apology-postsuper" -o "policy=$E2E_POLICY" \
		-o "spool-directory=" "$@" </dev/null
}

# now: Unix time with fractions.
now() { python3 -c 'import time; print(time.time())'; }

t_database_stopped_mid_run() {
	use A
	spooled_before=$(grep -c "went to the spool" "$MILTER_LOG")
	in_outage_before=$(grep -c "outgoing verdict=.* record=spooled" "$MILTER_LOG")
	back_before=$(grep -c "store takes records again" "$MILTER_LOG")
	decisions_before=$(pgsql "SELECT count(*) FROM decisions")
	judged_before=$(grep -c "outgoing verdict=\(advise\|hold\) " "$MILTER_LOG")
	python3 tests/faults/traffic.py "$PORT_OUT" $MSGS pgstop "$N" 6 "$W/manifest" "$RATE" &
	tp=$!
	sleep 2
	a=$(now)
	sh -c "$PG_STOP_CMD" || why "pg_ctl stop failed"
	sleep "$OUTAGE"
	sh -c "$PG_START_CMD" || why "pg_ctl start failed: $(tail -3 "$PG_DIR/server.log")"
	up=$(now)
	echo "     PostgreSQL down for $(python3 -c "print(round($up - $a, 1))") s (stop and start included)"
	i=0
	until [ "$(grep -c "store takes records again" "$MILTER_LOG")" -gt "$back_before" ]; do
		i=$((i + 1))
		[ $i -gt 300 ] && { why "the spool was not written back within 30 s of the restart"; break; }
		sleep 0.1
	done
	echo "     spool written back $(python3 -c "import time; print(round(time.time() - $up, 1))") s after the restart"
	wait $tp
	drain || why "A's Postfix still had mail queued after 90 s"
	# Mail: where every message went.  No outage of the daemon: every should-hold
	# reply must have been judged.
	c=$(python3 tests/faults/count.py "$W/manifest" "$SINK_DIR" "$T/etc" "$PG_LOCATION")
	echo "     counts: $c"
	bad=$(python3 - "$c" "$N" <<'PY'
import json, sys
c, n = json.loads(sys.argv[1]), int(sys.argv[2])
bad = ["%s=%d" % (k, c[k]) for k in ("lost", "duplicated", "should_hold_passed_unjudged", "gave_up", "refused",
                                     "queued", "unchecked") if c[k]]
if c["sent"] != n:
    bad.append("sent=%d of %d" % (c["sent"], n))
if c["held"] != c["should_hold"] or c["should_hold_held"] != c["should_hold"]:
    bad.append("held=%d should_hold=%d" % (c["held"], c["should_hold"]))
print("; ".join(bad))
PY
)
	[ -z "$bad" ] || why "mail: $bad"
	slowest=$(python3 -c '
import json, sys
print(round(max(r["end"] - r["start"] for r in map(json.loads, open(sys.argv[1])) if "end" in r), 2))' "$W/manifest")
	echo "     slowest accepted SMTP transaction: $slowest s"
	python3 -c "import sys; sys.exit(0 if $slowest < 10 else 1)" || why "a message waited $slowest s"
	echo "     replies whose records were spooled: $(($(grep -c "outgoing verdict=.* record=spooled" "$MILTER_LOG") - in_outage_before)) of $N"
	# The outage was seen: records went to the spool, and were written back.
	[ "$(grep -c "went to the spool" "$MILTER_LOG")" -gt "$spooled_before" ] ||
		why "nothing was spooled: the outage did not reach the daemon's writer"
	# Records: every hold once (waiting at most 30 s more for the writer).
	held=$(echo "$c" | python3 -c 'import json, sys; print(json.load(sys.stdin)["held"])')
	want="$held|$held|$held|0"
	row=$(pg_stored "SELECT count(*), count(DISTINCT token), count(DISTINCT message_id),
	                        count(*) FILTER (WHERE host <> '$HOST_A')
	                 FROM quarantine WHERE message_id LIKE 'reply-bad-pgstop-%'" "$want" 30)
	[ "$row" = "$want" ] || why "hold rows (all, tokens, Message-IDs, not A's) '$row', held in A's queue: $held"
	c=$(python3 tests/faults/count.py "$W/manifest" "$SINK_DIR" "$T/etc" "$PG_LOCATION")
	case $c in *'"held_not_recorded": 0,'*) ;; *) why "held but not recorded: $c" ;; esac
	# Apologies (the replies that pass): each once.
	pass=$((N / 2))
	row=$(pg_stored "SELECT count(*), count(DISTINCT complaint_ref) FROM apologies
	                 WHERE complaint_ref LIKE 'complaint-pgstop-%'" "$pass|$pass" 10)
	[ "$row" = "$pass|$pass" ] || why "apology rows (all, distinct): '$row', want $pass"
	# A decision summary for each reply judged advise or hold, once.
	j=$(($(grep -c "outgoing verdict=\(advise\|hold\) " "$MILTER_LOG") - judged_before))
	d=$(pg_stored "SELECT count(*) - $decisions_before FROM decisions" "$j" 10)
	[ "$d" = "$j" ] || why "decision summaries: $d new, $j replies judged advise or hold"
	return 0
}

# ---- main -------------------------------------------------------------------

trap cleanup EXIT
trap 'exit 1' INT TERM
W=$(mktemp -d /tmp/apology-twohost.XXXXXX) # the policy, psql's errors, the traffic's manifest
chmod 755 "$W"
pg_start || die "cannot start PostgreSQL"
echo "twohost: PostgreSQL at $PG_DIR"
cp "$E2E_POLICY" "$W/policy.yaml"
copy_policy_models "$W"
sed -i 's/^  senders: .*/  senders: ["*@acme.example"]/' "$W/policy.yaml"
E2E_POLICY=$W/policy.yaml
start_host A "$HOST_A"
E2E_PORT_BASE=$((A_PORT_SINK + 1)) start_host B "$HOST_B"
# B's root helper reads the shared store (its postsuper.conf, as on a real host).
use B
write_helper_settings
printf 'store: %s\nhold-key: %s\npostfix-config: %s\n' "$PG_LOCATION" "$HOLD_KEY" "$T/etc" >"$T/postsuper.conf"
save B

for t in t_complaint_on_a_reply_on_b t_repeat_apology_across_hosts t_one_quarantine_list \
	t_each_host_reconciles_its_own t_each_host_counts_its_own_holds t_release_on_b_decided_on_a \
	t_release_on_b_by_the_review_page_on_a t_database_stopped_mid_run; do
	run_test "$t"
done

for x in A B; do
	use $x
	milter_log_verdict "daemon $x"
done
echo "twohost: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
