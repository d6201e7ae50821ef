#!/bin/sh
# bench/e2e.sh [BUILD] - end-to-end cost of apology-milter in a real Postfix.
#
# One private Postfix instance (loopback only) with three submission-like ports
# that differ only in smtpd_milters: one passes apology-milter (the event-driven
# front end), one the same daemon built on libmilter (apology-milter-libmilter,
# for comparison), and one no milter at all; each milter on its own unix socket
# and store.  smtp-source sends through each in turn, 10 sessions in parallel and
# one message per connection, to smtp-sink; throughput is messages delivered per
# second (from the first connection to the last "status=sent"), reported as the
# ratio with/without measured in the same run.  The CPU time each milter process
# used is read from /proc and divided by the messages it saw.  Then single
# messages alternate between the ports to get the median latency each milter
# adds to an SMTP transaction.
#
# Workloads: a 15 KB reply and a 200 KB reply (with an attachment) answering a
# complaint, both judged; and out-of-scope mail (a sender outside the policy),
# which the milter accepts at MAIL FROM so that Postfix never sends it the body.
#
#   BENCH_N15=1000 BENCH_N200=400 BENCH_NOUT=1000 BENCH_LAT=200 BENCH_ROUNDS=5
#   BENCH_STORE=postgresql: both milters record in one private PostgreSQL
#   server (tests/store/pgcluster.sh, durable: fsync on) instead of SQLite
#   files, each under its own host-name, as two mail hosts sharing a store.
# The machine should be otherwise idle: other load skews the ratios.
set -u
cd "$(dirname "$0")/.." || exit 1
E2E_BUILD=${1:-build}
. tests/e2e/lib.sh
N15=${BENCH_N15:-1000}
N200=${BENCH_N200:-400}
NOUT=${BENCH_NOUT:-1000}
NLAT=${BENCH_LAT:-200}
ROUNDS=${BENCH_ROUNDS:-5}
SESSIONS=10
command -v smtp-source >/dev/null 2>&1 || die "smtp-source missing (postfix package)"
command -v python3 >/dev/null 2>&1 || die "python3 missing"

STORE_KIND=${BENCH_STORE:-sqlite}
PG_DIR=
stop_store() {
	[ "$STORE_KIND" = postgresql ] && pg_stop
}
trap 'stop_all; stop_store' EXIT
trap 'exit 1' INT TERM
setup_instance milter
case $STORE_KIND in
sqlite)
	EV_STORE=sqlite:$STORE
	LIB_STORE=sqlite:$T/state/store-lib.db
	;;
postgresql)
	. tests/store/pgcluster.sh
	PG_DURABLE=1 pg_start || die "no private PostgreSQL server"
	EV_STORE=$PG_LOCATION
	LIB_STORE=$PG_LOCATION
	;;
*) die "BENCH_STORE must be sqlite or postgresql" ;;
esac
# A third submission port through the libmilter build of the same daemon.
PORT_LIB=$(free_port $((PORT_SINK + 1)))
echo "libmilter_milters = { unix:$T/run/libmilter.sock, default_action=accept }" >>"$T/etc/main.cf"
echo "127.0.0.1:$PORT_LIB inet n - n - - smtpd -o milter_macro_daemon_name=ORIGINATING" \
	"-o smtpd_milters=\$libmilter_milters" >>"$T/etc/master.cf"
# Only our own senders are in scope, so robot@elsewhere.example is out of scope.
sed 's/^  senders: .*/  senders: ["*@acme.example"]/' "$E2E_POLICY" >"$T/policy.yaml"
copy_policy_models "$T"
E2E_POLICY=$T/policy.yaml
mkdir -p "$T/bench"

# ---- the messages -----------------------------------------------------------
# A doubtful reply (advisory headers are added) quoting the complaint and, below it,
# an older thread, padded to at least SIZE bytes of text.
make_text() {
	size=$1
	out=$2
	: >"$out.tmp"
	sed '/^On Mon, 3 Mar 2025/,$d' tests/e2e/msgs/reply-doubtful.eml | sed '1,/^$/d' >>"$out.tmp"
	sed -n '/^On Mon, 3 Mar 2025/,$p' tests/e2e/msgs/reply-doubtful.eml >>"$out.tmp"
	i=1
	while [ "$(wc -c <"$out.tmp")" -lt "$size" ]; do
		for j in 1 2 3 4 5 6 7 8 9 10; do
			printf '>\n> On Fri, 28 Feb 2025, Sam Ortega <sam@acme.example> wrote:\n'
			printf '>> Order %s is confirmed for dispatch on Friday; tracking follows by email.\n' "$i-$j"
			printf '>> Please check the delivery address and the contact name on the form.\n'
		done >>"$out.tmp"
		i=$((i + 1))
	done
	mv "$out.tmp" "$out"
}

headers_of_sample() { sed '/^$/q' tests/e2e/msgs/reply-doubtful.eml | sed '$d'; }

make_text 15000 "$T/bench/text15"
{
	headers_of_sample
	echo
	cat "$T/bench/text15"
} >"$T/bench/reply15k.eml"

make_text 12000 "$T/bench/text12"
{
	headers_of_sample | grep -v '^Content-Type:'
	echo 'Content-Type: multipart/mixed; boundary="part-boundary-4471"'
	echo
	echo '--part-boundary-4471'
	echo 'Content-Type: text/plain; charset=utf-8'
	echo
	cat "$T/bench/text12"
	echo
	echo '--part-boundary-4471'
	echo 'Content-Type: application/pdf; name="delivery-note-4471.pdf"'
	echo 'Content-Transfer-Encoding: base64'
	echo 'Content-Disposition: attachment; filename="delivery-note-4471.pdf"'
	echo
	head -c 140000 /dev/urandom | base64 -w 76
	echo '--part-boundary-4471--'
} >"$T/bench/reply200k.eml"

# ---- measuring ---------------------------------------------------------------

# Messages delivered since byte OFFSET of the mail log (only the new part is read).
sent_since() { tail -c +$(($1 + 1)) "$MAILLOG" 2>/dev/null | grep -c "status=sent"; }
log_size() { stat -c %s "$MAILLOG" 2>/dev/null || echo 0; }

# CPU time (user + system, in clock ticks) used so far by process PID.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# throughput PORT FILE SENDER N: messages per second, SMTP in to delivered out.
throughput() {
	off=$(log_size)
	start=$(date +%s.%N)
	smtp-source -s $SESSIONS -m "$4" -f "$3" -t dana@client.example -F "$2" \
		127.0.0.1:"$1" >/dev/null 2>&1 || die "smtp-source failed on port $1"
	i=0
	while [ "$(sent_since "$off")" -lt "$4" ]; do
		i=$((i + 1))
		[ $i -gt 3000 ] && die "only $(sent_since "$off") of $4 messages delivered"
		sleep 0.04
	done
	end=$(date +%s.%N)
	echo "$4 $start $end" | awk '{ printf "%.1f", $1 / ($3 - $2) }'
}

median() { sort -n | awk '{ a[NR] = $1 } END { printf "%s", a[int((NR + 1) / 2)] }'; }

# compare FILE SENDER N: ROUNDS rounds of no milter, the libmilter build and
# apology-milter, in turn (a round shares the machine's state of the moment).
# Prints the median rates and per-round ratios, and each milter's CPU
# milliseconds per message over all rounds.
compare() {
	r=0
	: >"$T/bench/rounds"
	lib0=$(cpu_ticks "$LIB_PID")
	ev0=$(cpu_ticks "$MILTER_PID")
	while [ $r -lt "$ROUNDS" ]; do
		p=$(throughput "$PORT_PLAIN" "$1" "$2" "$3")
		l=$(throughput "$PORT_LIB" "$1" "$2" "$3")
		m=$(throughput "$PORT_OUT" "$1" "$2" "$3")
		echo "$p $l $m" >>"$T/bench/rounds"
		r=$((r + 1))
	done
	tick=$(getconf CLK_TCK)
	msgs=$(($3 * ROUNDS))
	lib_ms=$(echo "$(cpu_ticks "$LIB_PID") $lib0 $tick $msgs" | awk '{ printf "%.2f", ($1 - $2) * 1000 / $3 / $4 }')
	ev_ms=$(echo "$(cpu_ticks "$MILTER_PID") $ev0 $tick $msgs" | awk '{ printf "%.2f", ($1 - $2) * 1000 / $3 / $4 }')
	printf '%s %s %s %s %s %s %s\n' \
		"$(awk '{ print $1 }' "$T/bench/rounds" | median)" \
		"$(awk '{ print $2 }' "$T/bench/rounds" | median)" \
		"$(awk '{ printf "%.2f\n", $2 / $1 }' "$T/bench/rounds" | median)" \
		"$(awk '{ print $3 }' "$T/bench/rounds" | median)" \
		"$(awk '{ printf "%.2f\n", $3 / $1 }' "$T/bench/rounds" | median)" \
		"$lib_ms" "$ev_ms"
}

# Median latency per message: one message per connection, the ports in turn.
latency() {
	python3 - "$1" "$2" "$NLAT" "$PORT_PLAIN" "$PORT_LIB" "$PORT_OUT" <<'EOF'
import smtplib, statistics, sys, time
path, sender, n, ports = sys.argv[1], sys.argv[2], int(sys.argv[3]), [int(p) for p in sys.argv[4:]]
data = open(path, "rb").read()
def one(port):
    t0 = time.perf_counter()
    s = smtplib.SMTP("127.0.0.1", port)
    s.sendmail(sender, ["dana@client.example"], data)
    s.quit()
    return time.perf_counter() - t0
for _ in range(10):
    for p in ports: one(p)
times = [[] for _ in ports]
for _ in range(n):
    for i, p in enumerate(ports): times[i].append(one(p))
m = [statistics.median(t) * 1e3 for t in times]
print("%.2f %.2f %+.2f %.2f %+.2f" % (m[0], m[1], m[1] - m[0], m[2], m[2] - m[0]))
EOF
}

start_sink nodump
start_milter -o mode=enforce -o "store=$EV_STORE" -o host-name=bench-event.acme.example
# The libmilter build with the same settings, its own socket and store.
LIB_LOG=$T/libmilter.log
"$E2E_BUILD/apology-milter-libmilter" -f -p "unix:$T/run/libmilter.sock" -o group=postfix \
	-o socket-mode=0660 -o "policy=$E2E_POLICY" -o "store=$LIB_STORE" \
	-o host-name=bench-libmilter.acme.example \
	-o scope.internal-domains=acme.example -o mode=enforce >>"$LIB_LOG" 2>&1 &
LIB_PID=$!
i=0
while [ ! -S "$T/run/libmilter.sock" ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && die "the libmilter build did not start: $(tail -5 "$LIB_LOG")"
	sleep 0.05
done
stop_lib() {
	kill "$LIB_PID" 2>/dev/null
	wait "$LIB_PID" 2>/dev/null
	stop_all
	stop_store
}
trap 'stop_lib' EXIT
start_postfix
# Warm up every path.
for port in "$PORT_PLAIN" "$PORT_LIB" "$PORT_OUT"; do
	throughput "$port" "$T/bench/reply15k.eml" sam@acme.example 50 >/dev/null
done
grep -q "verdict=advise" "$MILTER_LOG" || die "the 15 KB reply was not judged: $(tail -3 "$MILTER_LOG")"
grep -q "verdict=advise" "$LIB_LOG" || die "the libmilter build did not judge: $(tail -3 "$LIB_LOG")"

echo "e2e bench: Postfix $(postconf -d -h mail_version) -> milter (unix socket) -> smtp-sink; store: $STORE_KIND"
echo "  load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  $SESSIONS parallel sessions, one message per connection, median of $ROUNDS rounds;" \
	"$(nproc) CPUs; sizes $(wc -c <"$T/bench/reply15k.eml") and $(wc -c <"$T/bench/reply200k.eml") bytes"
echo "  messages/s, ratio to no milter, milter CPU ms per message (libmilter build | apology-milter):"
printf '  %-22s %9s | %9s %6s %6s | %9s %6s %6s | %s\n' workload "no milter" libmilter ratio cpu \
	apology ratio cpu target
report() {
	set -- $1 "$2" "$3"
	printf '  %-22s %9s | %9s %6s %6s | %9s %6s %6s | %s\n' "$8" "$1" "$2" "$3" "$6" "$4" "$5" "$7" "$9"
}
r15=$(compare "$T/bench/reply15k.eml" sam@acme.example "$N15")
report "$r15" "15 KB reply (judged)" ">= 0.80"
r200=$(compare "$T/bench/reply200k.eml" sam@acme.example "$N200")
report "$r200" "200 KB reply (judged)" ">= 0.80"
rout=$(compare "$T/bench/reply15k.eml" robot@elsewhere.example "$NOUT")
report "$rout" "15 KB, out of scope" ">= 0.90"

echo "  load average before the latency runs: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  median latency per message, $NLAT each, ports in turn (target: < 2 ms added):"
printf '  %-22s %9s | %9s %8s | %9s %8s\n' workload "no milter" libmilter added apology added
for w in "15 KB reply:$T/bench/reply15k.eml:sam@acme.example" \
	"200 KB reply:$T/bench/reply200k.eml:sam@acme.example" \
	"out of scope:$T/bench/reply15k.eml:robot@elsewhere.example"; do
	name=${w%%:*}
	rest=${w#*:}
	set -- $(latency "${rest%%:*}" "${rest#*:}")
	printf '  %-22s %6s ms | %6s ms %5s ms | %6s ms %5s ms\n' "$name" "$1" "$2" "$3" "$4" "$5"
done
judged=$(grep -c "outgoing verdict=" "$MILTER_LOG")
errors=$(grep -c "error:" "$MILTER_LOG")
echo "  apology-milter judged $judged messages; $errors errors logged"
if [ "$STORE_KIND" = postgresql ]; then
	sleep 2 # the writers record after the MTA has its answer
	rows=$(pg_as "$PG_BIN/psql" -h "$PG_DIR" -U apology -d apology -Atc "SELECT count(*) FROM decisions")
	echo "  PostgreSQL store: $rows decisions recorded by both milters"
fi
