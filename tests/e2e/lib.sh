# tests/e2e/lib.sh - a private Postfix instance and the milter, on loopback only,
# for the end-to-end tests, the live demo and the end-to-end benchmark.
# Sourced (POSIX sh).  Everything lives under one temporary directory; stop_all
# stops every process started here and is meant for `trap stop_all EXIT`.
#
#   E2E_BUILD      build directory holding apology-milter (default build)
#   E2E_POLICY     policy file (default policies/default.yaml)
#   E2E_DIR        use this directory instead of a new temporary one (emptied first)
#   E2E_PORT_BASE  first port to try (default 20000 + a number from the process id)
#
# After setup_instance:
#   $T             the temporary directory
#   $PORT_IN       inbound SMTP port (mail from clients; the milter records complaints)
#   $PORT_OUT      submission-like port ({daemon_name} = ORIGINATING; replies are judged)
#   $PORT_PLAIN    like $PORT_OUT but without the milter (baselines for the benchmark)
#   $PORT_SINK     smtp-sink port, where Postfix delivers everything
#   $SINK_DIR      one file per delivered message
#   $STORE         the milter's SQLite store
#   $MILTER_LOG    the milter's log (foreground, stderr)
#   $MAILLOG       Postfix's log
#   $HOLD_KEY      the milter's hold-key (seals hold tokens; root's, 0600)

E2E_BUILD=${E2E_BUILD:-build}
E2E_POLICY=${E2E_POLICY:-policies/default.yaml}
E2E_ROOT=$(cd "$(dirname "$0")/../.." 2>/dev/null && pwd)
MILTER_PID=
SINK_PID=
PF_STARTED=

die() { echo "e2e: $*" >&2; exit 1; }

# Copies the models and the sentence encoder that $E2E_POLICY names (relative
# to its own directory) into $1, so that a copy of the policy written there
# loads the same ones.  Every script that copies the policy uses this, so a
# file the policy comes to need is copied everywhere at once.
copy_policy_models() {
	cp "$(dirname "$E2E_POLICY")"/*.model "$(dirname "$E2E_POLICY")"/*.enc "$1/" ||
		die "cannot copy the models of $E2E_POLICY into $1"
}

# The first TCP port from $1 on that can be bound on 127.0.0.1 now.
free_port() {
	python3 - "$1" <<'EOF'
import socket, sys
p = int(sys.argv[1])
while True:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        break
    except OSError:
        p += 1
    finally:
        s.close()
print(p)
EOF
}

need_tools() {
	[ "$(id -u)" = 0 ] || die "must run as root (a private Postfix instance needs it)"
	for t in postfix postconf postqueue postsuper postcat smtp-sink swaks sqlite3 python3; do
		command -v "$t" >/dev/null 2>&1 || die "missing tool: $t (run: make deps)"
	done
	id postfix >/dev/null 2>&1 || die "user postfix missing (install the postfix package)"
}

# Write main.cf and master.cf of a private instance under $T/etc.
# $1: "milter" (inbound and outgoing ports pass the milter) or "plain".
write_postfix_config() {
	mode=$1
	mkdir -p "$T/etc" "$T/spool" "$T/data"
	chown postfix "$T/data"
	if [ "$mode" = milter ]; then
		milters="{ unix:$T/run/milter.sock, default_action=accept }"
	else
		milters=""
	fi
	cat >"$T/etc/main.cf" <<EOF
# Private test instance: loopback only, everything relayed to smtp-sink.
compatibility_level = 3.6
queue_directory = $T/spool
data_directory = $T/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.acme.example
mydomain = acme.example
myorigin = acme.example
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:$PORT_SINK
smtp_dns_support_level = disabled
alias_maps =
alias_database =
local_recipient_maps =
biff = no
maillog_file = $T/maillog
maillog_file_prefixes = $T
smtpd_milters = $milters
milter_default_action = accept
# Deliver at once, retry fast: tests and benchmarks do not wait for queue runs.
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 10s
smtp_connection_cache_on_demand = yes
default_process_limit = 100
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
message_size_limit = 20480000
EOF
	cat >"$T/etc/master.cf" <<EOF
127.0.0.1:$PORT_IN inet n - n - - smtpd
127.0.0.1:$PORT_OUT inet n - n - - smtpd -o milter_macro_daemon_name=ORIGINATING
127.0.0.1:$PORT_PLAIN inet n - n - - smtpd -o milter_macro_daemon_name=ORIGINATING -o smtpd_milters=
pickup    unix  n - n 60   1 pickup
cleanup   unix  n - n -    0 cleanup
qmgr      unix  n - n 300  1 qmgr
rewrite   unix  - - n -    - trivial-rewrite
bounce    unix  - - n -    0 bounce
defer     unix  - - n -    0 bounce
trace     unix  - - n -    0 bounce
verify    unix  - - n -    1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -    - proxymap
smtp      unix  - - n -    - smtp
relay     unix  - - n -    - smtp
showq     unix  n - n -    - showq
error     unix  - - n -    - error
retry     unix  - - n -    - error
discard   unix  - - n -    - discard
anvil     unix  - - n -    1 anvil
scache    unix  - - n -    1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
}

# Create $T and write the instance; $1 as for write_postfix_config.
setup_instance() {
	need_tools
	[ -x "$E2E_BUILD/apology-milter" ] || die "$E2E_BUILD/apology-milter not built (run: make)"
	if [ -n "${E2E_DIR:-}" ]; then
		T=$E2E_DIR
		rm -rf "$T"
		mkdir -p "$T"
	else
		T=$(mktemp -d /tmp/apology-e2e.XXXXXX)
	fi
	chmod 755 "$T"
	base=${E2E_PORT_BASE:-$((20000 + $$ % 20000))}
	PORT_IN=$(free_port "$base")
	PORT_OUT=$(free_port $((PORT_IN + 1)))
	PORT_PLAIN=$(free_port $((PORT_OUT + 1)))
	PORT_SINK=$(free_port $((PORT_PLAIN + 1)))
	SINK_DIR=$T/sink
	STORE=$T/state/store.db
	MILTER_LOG=$T/milter.log
	MAILLOG=$T/maillog
	HOLD_KEY=$T/hold.key
	mkdir -p "$T/run" "$T/state" "$SINK_DIR"
	chown postfix "$SINK_DIR"
	(umask 077 && head -c 32 /dev/urandom >"$HOLD_KEY")
	write_postfix_config "${1:-milter}"
}

# write_helper_settings: the settings of the root helper apology-postsuper for
# this instance ($T/postsuper.conf: the store, the hold key, $T/etc), exported
# in APOLOGY_POSTSUPER_CONF for the helper the review tools run.  The helper
# trusts them only when they and $T/etc are root's alone.
write_helper_settings() {
	chmod go-w "$T/etc" "$T/etc/main.cf"
	printf 'store: sqlite:%s\nhold-key: %s\npostfix-config: %s\n' "$STORE" "$HOLD_KEY" "$T/etc" \
		>"$T/postsuper.conf"
	chmod 0644 "$T/postsuper.conf"
	APOLOGY_POSTSUPER_CONF=$T/postsuper.conf
	export APOLOGY_POSTSUPER_CONF
}

# start_sink [nodump]: -d keeps one file per message (not for benchmarks);
# -u: smtp-sink drops root after binding.
start_sink() {
	if [ "${1:-}" = nodump ]; then
		smtp-sink -u postfix 127.0.0.1:"$PORT_SINK" 256 >"$T/sink.log" 2>&1 &
	else
		smtp-sink -u postfix -d "$SINK_DIR/%H%M%S." 127.0.0.1:"$PORT_SINK" 256 \
			>"$T/sink.log" 2>&1 &
	fi
	SINK_PID=$!
	echo "$SINK_PID" >"$T/run/sink.pid"
	wait_port "$PORT_SINK" || die "smtp-sink did not start: $(cat "$T/sink.log")"
}

# Run a postfix command; on failure show why (Postfix prints to stderr only on a tty).
pf() {
	script -qec "postfix -c $T/etc $*" /dev/null </dev/null >"$T/postfix.out" 2>&1 && return 0
	die "postfix $*: $(tr -d '\r' <"$T/postfix.out")"
}

start_postfix() {
	pf check
	pf start
	PF_STARTED=1
	wait_port "$PORT_IN" && wait_port "$PORT_OUT" || die "postfix did not listen"
}

stop_postfix() {
	[ -n "$PF_STARTED" ] && postfix -c "$T/etc" stop >/dev/null 2>&1
	PF_STARTED=
}

# start_milter [-o key=value]...
start_milter() {
	"$E2E_BUILD/apology-milter" -f \
		-p "unix:$T/run/milter.sock" \
		-o group=postfix -o socket-mode=0660 \
		-o "policy=$E2E_POLICY" \
		-o "store=sqlite:$STORE" \
		-o "pid-file=$T/run/milter.pid" \
		-o "hold-key=$HOLD_KEY" \
		-o scope.internal-domains=acme.example \
		-o limits.drain-timeout=10s \
		-o "reconcile.postfix-config=$T/etc" -o reconcile.interval=1s -o spool.retry=1s \
		-o "spool.directory=$T/spool" \
		"$@" >>"$MILTER_LOG" 2>&1 &
	MILTER_PID=$!
	i=0
	while [ ! -S "$T/run/milter.sock" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && die "milter did not start: $(tail -5 "$MILTER_LOG")"
		kill -0 "$MILTER_PID" 2>/dev/null || die "milter exited: $(tail -5 "$MILTER_LOG")"
		sleep 0.05
	done
}

stop_milter() {
	if [ -n "$MILTER_PID" ]; then
		kill -TERM "$MILTER_PID" 2>/dev/null
		i=0
		while kill -0 "$MILTER_PID" 2>/dev/null && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$MILTER_PID" 2>/dev/null
		wait "$MILTER_PID" 2>/dev/null
	fi
	MILTER_PID=
	rm -f "$T/run/milter.sock"
}

stop_all() {
	stop_postfix
	stop_milter
	if [ -n "$SINK_PID" ]; then
		kill "$SINK_PID" 2>/dev/null
		wait "$SINK_PID" 2>/dev/null
	fi
	SINK_PID=
	if [ -n "$T" ] && [ -z "${E2E_KEEP:-}" ]; then
		rm -rf "$T"
	fi
}

# Wait (up to 5 s) until something listens on 127.0.0.1:$1.
wait_port() {
	python3 - "$1" <<'EOF'
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
EOF
}

# send PORT FROM TO FILE: one message with swaks; prints swaks' transcript to $T/swaks.log.
send_msg() {
	swaks --server 127.0.0.1 --port "$1" --from "$2" --to "$3" --data "$4" \
		--helo client.test --timeout 30 >>"$T/swaks.log" 2>&1
}

send_out() { send_msg "$PORT_OUT" "$@"; }
send_in() { send_msg "$PORT_IN" "$@"; }

# The delivered copy of the message whose Message-ID is $1 (waits up to 10 s).
delivered() {
	i=0
	while :; do
		f=$(grep -l -F "$1" "$SINK_DIR"/* 2>/dev/null | head -1)
		if [ -n "$f" ]; then
			echo "$f"
			return 0
		fi
		i=$((i + 1))
		[ $i -gt 200 ] && return 1
		sleep 0.05
	done
}

# Queue id of the held message whose Message-ID is $1, from postqueue -j.
held_queue_id() {
	i=0
	while [ $i -lt 100 ]; do
		for id in $(postqueue -c "$T/etc" -j 2>/dev/null |
			awk -F'"queue_id": *"' '/"queue_name": *"hold"/ { split($2, a, "\""); print a[1] }'); do
			if postcat -c "$T/etc" -hq "$id" 2>/dev/null | grep -q -F "$1"; then
				echo "$id"
				return 0
			fi
		done
		i=$((i + 1))
		sleep 0.05
	done
	return 1
}

# The header block of a delivered file, unfolded, one header per line.
headers_of() {
	awk 'BEGIN { RS = "\r?\n" } /^$/ { exit } { print }' "$1" |
		awk '/^[ \t]/ { sub(/^[ \t]+/, " "); line = line $0; next } { if (line != "") print line; line = $0 } END { print line }'
}

# sql QUERY: run a read-only query on the milter's store.
sql() {
	sqlite3 -cmd '.timeout 5000' "$STORE" "$1"
}

# ---- what the suites read ------------------------------------------------------

# variant SRC TAG [CLIENT_DOMAIN]: a copy of SRC with its Message-IDs made unique by
# TAG and, when given, the client's domain replaced.  Prints the new file's path.
variant() {
	out=$T/msgs/$2-$(basename "$1")
	mkdir -p "$T/msgs"
	sed -e "s/-4471@/-$2@/g" -e "s/client\.example/${3:-client.example}/g" "$1" >"$out"
	echo "$out"
}

# first_output TRIES CMD...: what CMD prints once it prints anything (tried every
# 0.05 s); fails after TRIES tries.
first_output() {
	_tries=$1
	shift
	_i=0
	while [ $_i -lt "$_tries" ]; do
		_out=$("$@")
		[ -n "$_out" ] && { echo "$_out"; return 0; }
		_i=$((_i + 1))
		sleep 0.05
	done
	return 1
}

# settled WANT TRIES CMD...: what CMD prints once it is WANT (tried every 0.05 s), or
# what it printed last after TRIES tries.  Stores are written just after a verdict.
settled() {
	_want=$1 _tries=$2
	shift 2
	_i=0
	while :; do
		_out=$("$@")
		[ "$_out" = "$_want" ] && break
		_i=$((_i + 1))
		[ $_i -ge "$_tries" ] && break
		sleep 0.05
	done
	echo "$_out"
}

# The Postfix queue id of the message with Message-ID $1 (waits for cleanup).
queue_id_now() { sed -n "s/.*cleanup\[[0-9]*\]: \([0-9A-F]*\): message-id=<$1>.*/\1/p" "$MAILLOG" | tail -1; }
queue_id() { first_output 100 queue_id_now "$1"; }

# The milter's summary line for Message-ID $1 (waits for it).
summary_now() { grep -F "]: info: $1: " "$MILTER_LOG" | tail -1; }
judged() {
	_q=$(queue_id "$1") || return 1
	first_output 100 summary_now "$_q"
}

# drain: wait (up to 90 s) until Postfix has nothing left but held mail.
drain() {
	i=0
	while [ $i -lt 180 ]; do
		postqueue -c "$T/etc" -f >/dev/null 2>&1
		left=$(postqueue -c "$T/etc" -j 2>/dev/null | grep -c -v '"queue_name": *"hold"')
		[ "$left" = 0 ] && return 0
		i=$((i + 1))
		sleep 0.5
	done
	return 1
}

# hold TAG [FILE]: send a complaint and a bad reply tagged TAG; print the store id
# of the held record once Postfix holds it (read with `sql`, which a suite on
# another store may define again).
held_id_now() {
	sql "SELECT id FROM quarantine WHERE message_id = 'reply-bad-$1@acme.example' AND state = 'held'"
}
hold() {
	_c=$(variant "${MSGS:-tests/e2e/msgs}/complaint.eml" "$1")
	_r=$(variant "${2:-${MSGS:-tests/e2e/msgs}/reply-bad.eml}" "$1")
	send_in dana@client.example sam@acme.example "$_c" || return 1
	send_out sam@acme.example dana@client.example "$_r" || return 1
	held_queue_id "reply-bad-$1@acme.example" >/dev/null || return 1
	first_output 100 held_id_now "$1"
}

# milter_log_verdict LABEL: a sanitizer report in $MILTER_LOG (a SANITIZE=address
# build) fails the run; after any failure, the log's last lines.
milter_log_verdict() {
	if grep -q "Sanitizer\|runtime error" "$MILTER_LOG"; then
		FAILED=$((FAILED + 1))
		echo "FAIL sanitizer reports in the log of $1"
	fi
	if [ "$FAILED" -gt 0 ]; then
		echo "--- $1: log (last 20 lines) ---"
		tail -20 "$MILTER_LOG"
	fi
}

in_queue() { postqueue -c "$T/etc" -j | grep -F "\"queue_id\": \"$1\"" | grep -o '"queue_name": "[a-z]*"'; }

# ---- the test runner shared by the suites ------------------------------------
# A test is a shell function: it fails when it calls `why TEXT` (anywhere: the
# check `cmd || why ...` does not stop the function, so the reason is what
# counts) or returns non-zero.  run_test counts and prints.
PASSED=0
FAILED=0
WHY=

why() {
	[ -n "$WHY" ] || WHY="$*" # the first reason is the one to read
	return 1
}

run_test() {
	WHY=
	if "$1" && [ -z "$WHY" ]; then
		PASSED=$((PASSED + 1))
		echo "ok   $1"
	else
		FAILED=$((FAILED + 1))
		echo "FAIL $1: ${WHY:-returned non-zero}"
	fi
}
