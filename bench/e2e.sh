#!/bin/sh
# bench/e2e.sh [BUILD] - end-to-end cost of apology-milter in a real Postfix.
#
# One private Postfix instance (loopback only) with two submission-like ports that
# differ only in smtpd_milters: one passes the milter (unix socket), the other does
# not.  smtp-source sends through each in turn, 10 sessions in parallel and one
# message per connection, to smtp-sink; throughput is messages delivered per second
# (from the first connection to the last "status=sent"), reported as the ratio
# with/without measured in the same run.  Then single messages alternate between
# the two ports to get the median latency the milter adds to an SMTP transaction.
#
# Workloads: a 15 KB reply and a 200 KB reply (with an attachment) answering a
# complaint, both judged; and out-of-scope mail (a sender outside the policy),
# which the milter accepts at MAIL FROM so that Postfix never sends it the body.
#
#   BENCH_N15=1000 BENCH_N200=400 BENCH_NOUT=1000 BENCH_LAT=200 BENCH_ROUNDS=3
# The machine should be otherwise idle: other load skews the ratios.
set -u
cd "$(dirname "$0")/.." || exit 1
E2E_BUILD=${1:-build}
. tests/e2e/lib.sh
N15=${BENCH_N15:-1000}
N200=${BENCH_N200:-400}
NOUT=${BENCH_NOUT:-1000}
NLAT=${BENCH_LAT:-200}
ROUNDS=${BENCH_ROUNDS:-3}
SESSIONS=10
command -v smtp-source >/dev/null 2>&1 || die "smtp-source missing (postfix package)"
command -v python3 >/dev/null 2>&1 || die "python3 missing"

trap 'stop_all' EXIT
trap 'exit 1' INT TERM
setup_instance milter
# Only our own senders are in scope, so robot@elsewhere.example is out of scope.
sed 's/^  senders: .*/  senders: ["*@acme.example"]/' "$E2E_POLICY" >"$T/policy.yaml"
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

sent_count() { awk '/status=sent/ { n++ } END { print n + 0 }' "$MAILLOG" 2>/dev/null || echo 0; }

# throughput PORT FILE SENDER N: messages per second, SMTP in to delivered out.
throughput() {
	before=$(sent_count)
	start=$(date +%s.%N)
	smtp-source -s $SESSIONS -m "$4" -f "$3" -t dana@client.example -F "$2" \
		127.0.0.1:"$1" >/dev/null 2>&1 || die "smtp-source failed on port $1"
	want=$((before + $4))
	i=0
	while [ "$(sent_count)" -lt "$want" ]; do
		i=$((i + 1))
		[ $i -gt 6000 ] && die "only $(($(sent_count) - before)) of $4 messages delivered"
		sleep 0.02
	done
	end=$(date +%s.%N)
	echo "$4 $start $end" | awk '{ printf "%.1f", $1 / ($3 - $2) }'
}

# ROUNDS pairs, without then with the milter; prints the medians of the two rates
# and the median of the per-pair ratios (pairs share the machine's state of the moment).
compare() {
	r=0
	: >"$T/bench/pairs"
	while [ $r -lt "$ROUNDS" ]; do
		p=$(throughput "$PORT_PLAIN" "$1" "$2" "$3")
		m=$(throughput "$PORT_OUT" "$1" "$2" "$3")
		echo "$p $m" >>"$T/bench/pairs"
		r=$((r + 1))
	done
	sort -n -k1 "$T/bench/pairs" | awk '{ a[NR] = $1 } END { printf "%s ", a[int((NR + 1) / 2)] }'
	sort -n -k2 "$T/bench/pairs" | awk '{ a[NR] = $2 } END { printf "%s ", a[int((NR + 1) / 2)] }'
	awk '{ print $2 / $1 }' "$T/bench/pairs" | sort -n |
		awk '{ a[NR] = $1 } END { printf "%.2f\n", a[int((NR + 1) / 2)] }'
}

# Median latency added per message: one message per connection, alternating ports.
latency() {
	python3 - "$PORT_PLAIN" "$PORT_OUT" "$1" "$2" "$NLAT" <<'EOF'
import smtplib, statistics, sys, time
plain, milter, path, sender, n = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
data = open(path, "rb").read()
def one(port):
    t0 = time.perf_counter()
    s = smtplib.SMTP("127.0.0.1", port)
    s.sendmail(sender, ["dana@client.example"], data)
    s.quit()
    return time.perf_counter() - t0
for _ in range(10):
    one(plain); one(milter)
a, b = [], []
for _ in range(n):
    a.append(one(plain)); b.append(one(milter))
print("%.2f %.2f %.2f" % (statistics.median(a) * 1e3, statistics.median(b) * 1e3,
                          (statistics.median(b) - statistics.median(a)) * 1e3))
EOF
}

start_sink nodump
start_milter -o mode=enforce
start_postfix
# Warm up both paths.
throughput "$PORT_PLAIN" "$T/bench/reply15k.eml" sam@acme.example 50 >/dev/null
throughput "$PORT_OUT" "$T/bench/reply15k.eml" sam@acme.example 50 >/dev/null
grep -q "verdict=advise" "$MILTER_LOG" || die "the 15 KB reply was not judged: $(tail -3 "$MILTER_LOG")"

echo "e2e bench: Postfix $(postconf -d -h mail_version) -> apology-milter (unix socket) -> smtp-sink"
echo "  load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  $SESSIONS parallel sessions, one message per connection, median of $ROUNDS paired rounds;" \
	"$(nproc) CPUs; sizes $(wc -c <"$T/bench/reply15k.eml") and $(wc -c <"$T/bench/reply200k.eml") bytes"
printf '  %-24s %12s %12s %7s %8s\n' workload "no milter/s" "milter/s" ratio target
report() {
	set -- $1 "$2" "$3"
	printf '  %-24s %12s %12s %7s %8s\n' "$4" "$1" "$2" "$3" "$5"
}
r15=$(compare "$T/bench/reply15k.eml" sam@acme.example "$N15")
report "$r15" "15 KB reply (judged)" ">= 0.80"
r200=$(compare "$T/bench/reply200k.eml" sam@acme.example "$N200")
report "$r200" "200 KB reply (judged)" ">= 0.80"
rout=$(compare "$T/bench/reply15k.eml" robot@elsewhere.example "$NOUT")
report "$rout" "15 KB, out of scope" ">= 0.90"

echo "  load average before the latency runs: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  median latency per message, $NLAT each, alternating (no milter / milter / added):"
for w in "15 KB reply:$T/bench/reply15k.eml:sam@acme.example" \
	"200 KB reply:$T/bench/reply200k.eml:sam@acme.example" \
	"out of scope:$T/bench/reply15k.eml:robot@elsewhere.example"; do
	name=${w%%:*}
	rest=${w#*:}
	set -- $(latency "${rest%%:*}" "${rest#*:}")
	printf '  %-24s %8s ms %8s ms %+8s ms   (target < 2 ms)\n' "$name" "$1" "$2" "$3"
done
judged=$(grep -c "outgoing verdict=" "$MILTER_LOG")
errors=$(grep -c "error:" "$MILTER_LOG")
echo "  the milter judged $judged messages; $errors errors logged"
