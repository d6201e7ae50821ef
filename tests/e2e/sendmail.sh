#!/bin/sh
# tests/e2e/sendmail.sh [BUILD] - apology-milter in a real Sendmail.
#
# Debian's sendmail-bin, sendmail-base and sendmail-cf are fetched with
# `apt-get download` and unpacked with `dpkg -x` into a temporary directory (the
# machine's Postfix stays as it is).  A sendmail.cf is built with m4 from
# those files and the shipped snippet packaging/sendmail/apology-milter.mc;
# that sendmail runs as root with its own queue, pid file and loopback ports
# (an MTA port and an MSA port, whose mail is outgoing), relays everything to
# smtp-sink, and calls the milter on a unix socket.  Sendmail wants a
# qualified host name at start (with an unqualified one it waits a minute), so
# it and the review tools that run it are started in a UTS namespace of their
# own named mx.acme.example (unshare --uts): the machine's name is not
# changed.  Stops everything it started.  Runs as root.
#
# Skipped (exit 0, saying so) only when the packages cannot be downloaded.
# Ends with the line "sendmail: N passed, M failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
E2E_BUILD=${1:-build}
. tests/e2e/lib.sh

MSGS=tests/e2e/msgs
SM_PID=
SM_PACKAGES="sendmail-bin sendmail-base sendmail-cf"

# in_ns CMD...: CMD in a UTS namespace whose host name is qualified.
in_ns() {
	unshare --uts sh -c 'hostname mx.acme.example && exec "$@"' sh "$@"
}

# Fetch and unpack the packages into $SM_ROOT; false when they cannot be downloaded.
fetch_sendmail() {
	mkdir -p "$T/debs" "$SM_ROOT"
	# A machine whose package lists are missing or stale gets them once.
	(cd "$T/debs" && apt-get download $SM_PACKAGES) >"$T/apt.log" 2>&1 ||
		{ apt-get update -qq && (cd "$T/debs" && apt-get download $SM_PACKAGES); } >"$T/apt.log" 2>&1 ||
		return 1
	for d in "$T"/debs/*.deb; do
		dpkg -x "$d" "$SM_ROOT" || die "dpkg -x $d failed"
	done
	SENDMAIL=$SM_ROOT/usr/libexec/sendmail/sendmail
	[ -x "$SENDMAIL" ] || die "no sendmail binary in $SM_PACKAGES"
	if ldd "$SENDMAIL" | grep -q "not found"; then
		die "sendmail lacks libraries (run: make deps): $(ldd "$SENDMAIL" | grep 'not found' | tr -d '\t')"
	fi
}

# The test's sendmail.mc: private paths and ports, then the shipped snippet with
# this test's socket.
write_sendmail_config() {
	cf=$SM_ROOT/usr/share/sendmail/cf
	mkdir -p "$T/mqueue" "$T/smrun"
	chmod 0700 "$T/mqueue"
	printf 'hosts files\naliases files\n' >"$T/service.switch"
	printf '127.0.0.1 localhost mx.acme.example\n' >"$T/hosts"
	sed "s|local:/run/apology-milter/milter.sock|local:$T/run/milter.sock|" \
		packaging/sendmail/apology-milter.mc >"$T/apology-milter.mc"
	cat >"$T/sendmail.mc" <<EOF
divert(-1)
A private test instance: loopback only, everything relayed to smtp-sink.
divert(0)dnl
include(\`$cf/m4/cf.m4')dnl
VERSIONID(\`apology-milter sendmail test')dnl
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`mx.acme.example')dnl
define(\`QUEUE_DIR', \`$T/mqueue')dnl
define(\`confPID_FILE', \`$T/smrun/sendmail.pid')dnl
define(\`STATUS_FILE', \`$T/smrun/sendmail.st')dnl
define(\`confSERVICE_SWITCH_FILE', \`$T/service.switch')dnl
define(\`confHOSTS_FILE', \`$T/hosts')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confBIND_OPTS', \`-DNSRCH -DEFNAMES')dnl
define(\`SMART_HOST', \`[127.0.0.1]')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $PORT_SINK')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h $PORT_SINK')dnl
undefine(\`ALIAS_FILE')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`no_default_msa')dnl
RELAY_DOMAIN(\`127.0.0.1')dnl
DAEMON_OPTIONS(\`Name=MTA, Addr=127.0.0.1, Port=$PORT_IN')dnl
DAEMON_OPTIONS(\`Name=MSA, Addr=127.0.0.1, Port=$PORT_OUT, M=E')dnl
include(\`$T/apology-milter.mc')dnl
MAILER(\`smtp')dnl
EOF
	m4 "$T/sendmail.mc" >"$T/sendmail.cf" 2>"$T/m4.log" || die "m4: $(cat "$T/m4.log")"
	[ -s "$T/m4.log" ] && die "m4 warns: $(cat "$T/m4.log")"
	grep -q "^Xapology-milter, S=local:$T/run/milter.sock" "$T/sendmail.cf" ||
		die "the snippet's INPUT_MAIL_FILTER is not in sendmail.cf"
	return 0
}

# poll CMD...: run CMD every 50 ms until it succeeds (true) or 10 s have gone by.
poll() {
	i=0
	until "$@"; do
		i=$((i + 1))
		[ $i -gt 200 ] && return 1
		sleep 0.05
	done
}

start_sendmail() {
	in_ns "$SENDMAIL" -C "$T/sendmail.cf" -bd -L sm-test >"$T/sendmail.out" 2>&1 ||
		die "sendmail -bd: $(cat "$T/sendmail.out")"
	poll test -s "$T/smrun/sendmail.pid" || die "sendmail wrote no pid file: $(cat "$T/sendmail.out")"
	SM_PID=$(head -1 "$T/smrun/sendmail.pid")
	wait_port "$PORT_IN" && wait_port "$PORT_OUT" || die "sendmail did not listen"
}

not_running() { ! kill -0 "$1" 2>/dev/null; }

stop_sendmail() {
	if [ -n "$SM_PID" ]; then
		kill -TERM "$SM_PID" 2>/dev/null
		poll not_running "$SM_PID" || kill -KILL "$SM_PID" 2>/dev/null
	fi
	SM_PID=
}

# The queue file of the quarantined message with Message-ID $1 (waits for it).
held_file() {
	poll quarantined "$1" && grep -l -F "$1" "$T"/mqueue/hf* | head -1
}
quarantined() { grep -q -F "$1" "$T"/mqueue/hf* 2>/dev/null; }

# The milter's summary line for Sendmail queue id $1 (waits for it).
judged() {
	poll grep -q -F "]: info: $1: outgoing verdict=" "$MILTER_LOG" &&
		grep -F "]: info: $1: outgoing verdict=" "$MILTER_LOG" | tail -1
}

# The queue id Sendmail gave the delivered copy $1 (its Received header).
queue_id_of() {
	sed -n 's/^[[:space:]]*by mx\.acme\.example .* id \([0-9A-Za-x]*\).*/\1/p' "$1" | head -1
}

header() { headers_of "$1" | sed -n "s/^$2: //p" | head -1; }

# The message, from its first header line on, as sent (trailing blank lines aside).
body_from_first_header() {
	first=$(head -1 "$1")
	awk -v first="$first" 'found || $0 == first { found = 1; print }' "$2" |
		sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'
}

ctl() {
	in_ns "$E2E_BUILD/apologyctl" quarantine -o "store=sqlite:$STORE" -o "helper=$E2E_BUILD/apology-postsuper" \
		-o "sendmail-config=$T/sendmail.cf" -o "sendmail-program=$SENDMAIL" "$@"
}

# ---- the tests --------------------------------------------------------------

t_config_from_snippet() {
	grep -q "^O Milter.macros.connect=.*{daemon_name}" "$T/sendmail.cf" || why "{daemon_name} not asked for"
	grep -q "^O Milter.macros.eom={msg_id}, i" "$T/sendmail.cf" || why "the queue id not asked for at EOM"
	grep -q "^O InputMailFilters=apology-milter" "$T/sendmail.cf" || why "the filter is not an input filter"
	return 0
}

t_complaint_recorded() {
	f=$(variant $MSGS/complaint.eml c1)
	send_in dana@client.example sam@acme.example "$f" || why "send failed"
	d=$(delivered complaint-c1@client.example) || why "not delivered"
	n=$(sql "SELECT count(*) FROM complaints WHERE message_id = 'complaint-c1@client.example'")
	[ "$n" = 1 ] || why "the complaint was not recorded ($n)"
	headers_of "$d" | grep -q "^X-Apology" && why "inbound mail was changed"
	return 0
}

t_clean_reply_unchanged() {
	f=$(variant $MSGS/reply-good.eml c1)
	send_out sam@acme.example dana@client.example "$f" || why "send failed"
	d=$(delivered reply-good-c1@acme.example) || why "not delivered"
	l=$(judged "$(queue_id_of "$d")") || why "not judged"
	echo "$l" | grep -q "verdict=pass .*action=none" || why "log: $l"
	body_from_first_header "$f" "$d" >"$T/cmp.delivered"
	sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$f" >"$T/cmp.sent"
	cmp -s "$T/cmp.sent" "$T/cmp.delivered" ||
		why "changed: $(diff "$T/cmp.sent" "$T/cmp.delivered" | head -5)"
}

t_doubtful_reply_advised() {
	f=$(variant $MSGS/complaint.eml a1)
	send_in dana@client.example sam@acme.example "$f" || why "complaint not sent"
	f=$(variant $MSGS/reply-doubtful.eml a1)
	send_out sam@acme.example dana@client.example "$f" || why "send failed"
	d=$(delivered reply-doubtful-a1@acme.example) || why "not delivered"
	judged "$(queue_id_of "$d")" | grep -q "verdict=advise .*action=headers" || why "not advised in the log"
	check=$(header "$d" X-Apology-Check)
	echo "$check" | grep -Eq '^advise; score=[0-9]+; rules=[a-z-]+(,[a-z-]+)*$' ||
		why "X-Apology-Check: '$check'"
	[ -n "$(header "$d" X-Apology-Findings)" ] || why "no X-Apology-Findings header"
	[ -z "$(header "$d" X-Apology-Token)" ] || why "a token on mail that is not held"
}

t_bad_reply_quarantined() {
	f=$(variant $MSGS/complaint.eml h1)
	send_in dana@client.example sam@acme.example "$f" || why "complaint not sent"
	f=$(variant $MSGS/reply-bad.eml h1)
	send_out sam@acme.example dana@client.example "$f" || why "send failed"
	hf=$(held_file reply-bad-h1@acme.example) || why "no quarantined queue file (hf*) in $T/mqueue"
	HELD_ID=${hf##*/hf}
	grep -q "^qapology-milter: held for review$" "$hf" || why "no q line in $hf: $(grep '^q' "$hf")"
	token=$(sed -n 's/^H??X-Apology-Token: //p' "$hf")
	[ -n "$token" ] || why "no X-Apology-Token in the queue file"
	l=$(judged "$HELD_ID") || why "no log line for $HELD_ID"
	echo "$l" | grep -q "verdict=hold .*action=hold" || why "log: $l"
	row=$(sql "SELECT queue_id, state, token FROM quarantine WHERE message_id = 'reply-bad-h1@acme.example'")
	[ "$row" = "$HELD_ID|held|$token" ] || why "store row: '$row'"
	in_ns "$SENDMAIL" -C "$T/sendmail.cf" -bp -qQ >"$T/mailq.out" 2>&1
	grep -q "^$HELD_ID" "$T/mailq.out" || why "mailq -qQ does not list $HELD_ID: $(cat "$T/mailq.out")"
	grep -q "QUARANTINE: apology-milter: held for review" "$T/mailq.out" || why "mailq -qQ shows no reason"
	[ -z "$(grep -l -F reply-bad-h1@acme.example "$SINK_DIR"/* 2>/dev/null)" ] || why "the held reply was delivered"
	return 0
}

t_quarantine_list() {
	[ -n "$HELD_ID" ] || why "nothing held"
	ctl list >"$T/list.out" 2>&1 || why "apologyctl quarantine list failed: $(cat "$T/list.out")"
	grep -q "$HELD_ID.*held.*sam@acme.example.*client.example" "$T/list.out" || why "not listed: $(cat "$T/list.out")"
	ctl reconcile >"$T/reconcile.out" 2>&1 || why "reconcile reports a mismatch: $(cat "$T/reconcile.out")"
	return 0
}

# The daemon compares Sendmail's quarantine with the store: -n lists it (the held
# reply counted), and its periodic reconcile counts it, without an alert.
t_daemon_reconcile() {
	[ -n "$HELD_ID" ] || why "nothing held"
	"$E2E_BUILD/apology-milter" -n -o host-name=mx.acme.example -o "policy=$E2E_POLICY" -o "store=sqlite:$STORE" -o "hold-key=$HOLD_KEY" \
		-o "reconcile.sendmail-config=$T/sendmail.cf" -o "reconcile.sendmail-program=$SENDMAIL" \
		-o "spool.directory=$T/spool" >"$T/n.out" 2>&1 || why "apology-milter -n failed: $(cat "$T/n.out")"
	grep -q "^reconcile OK: .*$SENDMAIL -C $T/sendmail.cf -bp \[-qQ\] (1 held now)" "$T/n.out" ||
		why "-n does not list the quarantine: $(grep reconcile "$T/n.out")"
	poll grep -q "reconcile: [1-9][0-9]* message(s) in the hold queue, [1-9][0-9]* recorded" "$MILTER_LOG" ||
		why "the daemon's reconcile did not count the quarantine: $(grep 'reconcile' "$MILTER_LOG" | tail -2)"
	! grep -q "reconcile: cannot\|held but not recorded" "$MILTER_LOG" ||
		why "the daemon's reconcile complains: $(grep 'reconcile: cannot\|held but not recorded' "$MILTER_LOG" | head -3)"
	return 0
}

t_release_delivers() {
	[ -n "$HELD_ID" ] || why "nothing held"
	id=$(sql "SELECT id FROM quarantine WHERE queue_id = '$HELD_ID'")
	ctl release "$id" >"$T/release.out" 2>&1 || why "release failed: $(cat "$T/release.out")"
	d=$(delivered reply-bad-h1@acme.example) || why "released reply not delivered"
	header "$d" X-Apology-Check | grep -q "^hold;" || why "the released copy lost its headers"
	[ ! -e "$T/mqueue/hf$HELD_ID" ] || why "still quarantined"
	state=$(sql "SELECT state FROM quarantine WHERE queue_id = '$HELD_ID'")
	[ "$state" = released ] || why "store state: $state"
	n=$(sql "SELECT count(*) FROM helper_actions WHERE queue_id = '$HELD_ID' AND outcome = 'released'")
	[ "$n" = 1 ] || why "the helper's audit trail has no release ($n)"
}

t_helper_refuses_bad_ids() {
	for bad in ALL "../x" "-qQ" "0B4AB1fq1234" "0B4AB1fy012345" "0B4AB1fq012345x" "hf0B4AB1fq012345" \
		"0B4AB1fq01234567890"; do
		in_ns "$E2E_BUILD/apology-postsuper" -C "$T/sendmail.cf" release "$bad" 0123456789abcdef0123 \
			>/dev/null 2>"$T/refused.out"
		[ $? = 64 ] || why "queue id '$bad' was not refused as bad arguments: $(cat "$T/refused.out")"
	done
	return 0
}

# hold_one TAG: send a bad reply; $hf gets its quarantined queue file, $qid its queue id.
hold_one() {
	send_out sam@acme.example dana@client.example "$(variant $MSGS/reply-bad.eml "$1")" || return 1
	hf=$(held_file "reply-bad-$1@acme.example") || return 1
	qid=${hf##*/hf}
}

t_discard_removes() {
	hold_one d1 || why "not quarantined"
	id=$(sql "SELECT id FROM quarantine WHERE queue_id = '$qid'")
	ctl discard "$id" >"$T/discard.out" 2>&1 || why "discard failed: $(cat "$T/discard.out")"
	[ ! -e "$T/mqueue/hf$qid" ] && [ ! -e "$T/mqueue/df$qid" ] || why "queue files left: $(ls "$T/mqueue")"
	[ "$(sql "SELECT state FROM quarantine WHERE queue_id = '$qid'")" = deleted ] || why "not recorded as deleted"
	in_ns "$SENDMAIL" -C "$T/sendmail.cf" -q >/dev/null 2>&1
	[ -z "$(grep -l -F reply-bad-d1@acme.example "$SINK_DIR"/* 2>/dev/null)" ] || why "the discarded reply was delivered"
	return 0
}

# A sendmail.cf the settings do not name, and a token the daemon did not seal.
t_helper_refuses_others() {
	hold_one r1 || why "not quarantined"
	token=$(sql "SELECT token FROM quarantine WHERE queue_id = '$qid'")
	cp "$T/sendmail.cf" "$T/other.cf"
	in_ns "$E2E_BUILD/apology-postsuper" -C "$T/other.cf" release "$qid" "$token" >/dev/null 2>&1
	[ $? = 77 ] || why "a sendmail.cf not in the settings was not refused"
	in_ns "$E2E_BUILD/apology-postsuper" -C "$T/sendmail.cf" release "$qid" 0123456789abcdef0123 >/dev/null 2>&1
	[ $? = 77 ] || why "a token the daemon did not seal was not refused"
	[ -e "$hf" ] || why "the message left the quarantine"
	return 0
}

# ---- main -------------------------------------------------------------------

trap 'stop_sendmail; stop_all' EXIT
trap 'exit 1' INT TERM
need_tools
for t in m4 unshare apt-get dpkg; do
	command -v "$t" >/dev/null 2>&1 || die "missing tool: $t (run: make deps)"
done
[ -x "$E2E_BUILD/apology-milter" ] || die "$E2E_BUILD/apology-milter not built (run: make)"
# Not under /tmp: sendmail refuses a milter socket below a world-writable directory.
T=$(mktemp -d /run/apology-sendmail.XXXXXX)
chmod 755 "$T"
SM_ROOT=$T/sendmail
if ! fetch_sendmail; then
	echo "sendmail: skipped: cannot download $SM_PACKAGES from the Debian mirror:"
	tail -3 "$T/apt.log"
	exit 0
fi
base=${E2E_PORT_BASE:-$((20000 + $$ % 20000))}
PORT_IN=$(free_port "$base")
PORT_OUT=$(free_port $((PORT_IN + 1)))
PORT_SINK=$(free_port $((PORT_OUT + 1)))
SINK_DIR=$T/sink
STORE=$T/state/store.db
MILTER_LOG=$T/milter.log
HOLD_KEY=$T/hold.key
HELD_ID=
mkdir -p "$T/run" "$T/state" "$SINK_DIR"
chown postfix "$SINK_DIR"
(umask 077 && head -c 32 /dev/urandom >"$HOLD_KEY")
cp "$E2E_POLICY" "$T/policy.yaml"
copy_policy_models "$T"
sed -i 's/^  senders: .*/  senders: ["*@acme.example"]/' "$T/policy.yaml"
E2E_POLICY=$T/policy.yaml
write_sendmail_config
# The helper's settings: root's alone, naming this sendmail.cf and binary.
printf 'store: sqlite:%s\nhold-key: %s\nsendmail-config: %s\nsendmail-program: %s\n' \
	"$STORE" "$HOLD_KEY" "$T/sendmail.cf" "$SENDMAIL" >"$T/postsuper.conf"
chmod 0644 "$T/postsuper.conf"
APOLOGY_POSTSUPER_CONF=$T/postsuper.conf
export APOLOGY_POSTSUPER_CONF
: >"$T/swaks.log"
start_sink
# The daemon's own reconcile lists Sendmail's queue (every second here).
# The daemon serves this Sendmail, whose host name (in its namespace, like ctl) is mx.acme.example.
start_milter -o host-name=mx.acme.example -o "reconcile.sendmail-config=$T/sendmail.cf" -o "reconcile.sendmail-program=$SENDMAIL"
start_sendmail

for t in t_config_from_snippet t_complaint_recorded t_clean_reply_unchanged t_doubtful_reply_advised \
	t_bad_reply_quarantined t_quarantine_list t_daemon_reconcile t_release_delivers t_discard_removes t_helper_refuses_bad_ids \
	t_helper_refuses_others; do
	run_test "$t"
done

milter_log_verdict "the milter"
echo "sendmail: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
