#!/bin/sh
# tests/demo.sh [BUILD] - the live demo: a private Postfix with apology-milter.
# tests/demo.sh stop    - stop it again.
#
# Starts, on loopback ports only, a private Postfix instance (an inbound port, and a
# submission-like port whose mail counts as outgoing), smtp-sink as the destination
# and the milter; sends a client's complaint in, then three replies out with swaks
# (a good apology, a doubtful one, a bad one), and shows what happened to each.
# Everything lives in /tmp/apology-milter-demo and keeps running until stopped, so
# you can send your own mail through it.  DEMO_KEEP=0 stops it at the end.
set -u
cd "$(dirname "$0")/.." || exit 1
DEMO_DIR=/tmp/apology-milter-demo

stop_demo() {
	[ -d "$DEMO_DIR" ] || return 0
	[ -f "$DEMO_DIR/etc/main.cf" ] && postfix -c "$DEMO_DIR/etc" stop >/dev/null 2>&1
	for p in milter sink review; do
		pidf=$DEMO_DIR/run/$p.pid
		[ -f "$pidf" ] && kill "$(cat "$pidf")" 2>/dev/null
	done
	sleep 0.5
	rm -rf "$DEMO_DIR"
}

if [ "${1:-}" = stop ]; then
	stop_demo
	echo "demo stopped"
	exit 0
fi

E2E_BUILD=${1:-build}
E2E_DIR=$DEMO_DIR
E2E_PORT_BASE=10025
. tests/e2e/lib.sh
. tests/review/demo-review.sh
MSGS=tests/e2e/msgs

stop_demo
trap 'stop_all' EXIT
trap 'exit 1' INT TERM
setup_instance milter
start_sink
start_milter
start_postfix

bold() { if [ -t 1 ]; then printf '\033[1m%s\033[0m\n' "$*"; else printf '%s\n' "$*"; fi; }
indent() { sed 's/^/    /'; }

# The milter's summary line for a message (by Message-ID, via the Postfix queue id).
summary() {
	l=$(judged "$1") || { echo "(no summary line)"; return; }
	echo "$l" | sed 's/^.*\]: info: //'
}

show_delivered() {
	f=$(delivered "$1") || { echo "    not delivered"; return; }
	echo "    delivered to smtp-sink; its headers from the milter:"
	h=$(headers_of "$f" | grep '^X-Apology-' | sed 's/^/      /')
	if [ -n "$h" ]; then
		headers_of "$f" | grep '^X-Apology-' | sed 's/, /,\n        /g; s/^/      /'
	else
		echo "      (none: passed untouched, byte for byte)"
	fi
}

bold "apology-milter live demo"
echo "  private Postfix: inbound 127.0.0.1:$PORT_IN, outgoing 127.0.0.1:$PORT_OUT" \
	"({daemon_name}=ORIGINATING), delivering to smtp-sink on 127.0.0.1:$PORT_SINK"
echo "  milter: unix:$T/run/milter.sock, store $STORE"
echo

bold "1. Dana (client.example) complains, inbound:"
sed -n 's/^Subject: /    Subject: /p' $MSGS/complaint.eml
send_in dana@client.example sam@acme.example $MSGS/complaint.eml || die "send failed"
echo "    milter: $(summary complaint-4471@client.example)"
echo "    store:  $(sql "SELECT 'complaint ' || message_id || ' from ' || client_domain ||
	', serious=' || serious || ', arrived ' || datetime(received, 'unixepoch') FROM complaints")"
echo

n=2
for kind in good doubtful bad; do
	bold "$n. Sam sends a $kind reply, outgoing:"
	awk 'body && NF { print "    > " $0; c++ } c == 3 { exit } /^$/ { body = 1 }' \
		"$MSGS/reply-$kind.eml"
	send_out sam@acme.example dana@client.example "$MSGS/reply-$kind.eml" || die "send failed"
	echo "    milter: $(summary "reply-$kind-4471@acme.example")"
	if [ $kind = bad ]; then
		q=$(held_queue_id reply-bad-4471@acme.example) || die "the bad reply was not held"
		echo "    HELD by Postfix; postqueue -j says:"
		postqueue -c "$T/etc" -j | grep "\"$q\"" | indent | indent
		token=$(postcat -c "$T/etc" -hq "$q" | sed -n 's/^X-Apology-Token: //p')
		echo "    the store's record of why (token $token):"
		sql "SELECT '  ' || json_extract(value, '\$.rule') || ' (' ||
		            json_extract(value, '\$.severity') || '): \"' ||
		            json_extract(value, '\$.excerpt') || '\"' || char(10) || '      advice: ' ||
		            json_extract(value, '\$.advice')
		     FROM quarantine, json_each(json_extract(findings, '\$.findings'))
		     WHERE token = '$token'" | indent
	else
		show_delivered "reply-$kind-4471@acme.example"
	fi
	echo
	n=$((n + 1))
done

bold "What next"
cat <<EOF
  Review held replies:      $E2E_BUILD/apologyctl quarantine -o store=sqlite:$STORE \\
                              -o postfix-config=$T/etc list
                            (or on the review page below: release, discard, or return with a comment)
  Send your own:            swaks --server 127.0.0.1:$PORT_OUT --from you@acme.example \\
                              --to someone@client.example --data FILE.eml
  Delivered mail:           $SINK_DIR/
  Logs:                     $MILTER_LOG  and  $MAILLOG
  Stop the demo:            sh tests/demo.sh stop

  Point your own Postfix at the milter (see packaging/README.md):
    main.cf:    smtpd_milters = { unix:/run/apology-milter/milter.sock, default_action=accept }
    master.cf:  submission ... -o milter_macro_daemon_name=ORIGINATING
    then:       apology-milter -c /etc/apology-milter/apology-milter.yaml
EOF

echo
bold "The review page"
start_review_demo || die "the review page did not start"

if [ "${DEMO_KEEP:-1}" = 0 ]; then
	stop_review_demo
	stop_all
	echo "demo stopped"
else
	# Leave it running: forget the processes so the exit trap does not stop them.
	PF_STARTED=
	MILTER_PID=
	SINK_PID=
	E2E_KEEP=1
fi
