#!/bin/sh
# tests/faults/run.sh [BUILD] - the fault campaign (make faults): replies sent
# through a real Postfix on loopback while the daemon is killed, stopped, its
# store locked, full or read-only, and its policy reloaded with broken files.
# For each case, where every message went (tests/faults/count.py): none may be
# lost or arrive twice, and no reply that should be held may pass unjudged while
# the daemon runs (while it is down on purpose, Postfix's default_action covers
# the mail and those are counted apart).  Prints the table of the closing
# figures and ends with "faults: N passed, M failed".  Runs as root.
set -u
cd "$(dirname "$0")/../.." || exit 1
E2E_BUILD=${1:-build}
. tests/e2e/lib.sh

N=${FAULTS_MESSAGES:-300}
CONC=${FAULTS_CONCURRENCY:-20}
RATE=${FAULTS_RATE:-50} # messages started per second: the traffic lasts N/RATE s
MOUNTS=
cleanup() {
	E2E_KEEP=1 stop_all
	for m in $MOUNTS; do umount "$m" 2>/dev/null; done
	[ -n "${E2E_KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT INT TERM

setup_instance milter
cp "$E2E_POLICY" "$T/policy.yaml"
copy_policy_models "$T"
E2E_POLICY=$T/policy.yaml
start_sink
start_postfix
SPOOL=$T/spool-milter
STORE_NOW=$STORE
start_milter -o spool.directory="$SPOOL" -o spool.retry=2s
ROWS=

now() { python3 -c 'import time; print(time.time())'; }

# restart_milter [-o key=value]...: a clean stop, then start with these options.
restart_milter() {
	stop_milter
	start_milter -o spool.directory="$SPOOL" -o spool.retry=2s "$@"
}

# run_case NAME FAULT [HEAL]: traffic in the background, the shell function
# FAULT meanwhile (it may append "START END" outage lines to $OUT), then HEAL
# (the fault taken away), then the counts; records the daemon spooled must
# reach the store within 30 s of the heal.
run_case() {
	name=$1
	OUT=$T/outages-$name
	: >"$OUT"
	python3 tests/faults/traffic.py "$PORT_OUT" tests/e2e/msgs "$name" "$N" "$CONC" "$T/manifest-$name" "$RATE" &
	tp=$!
	"$2"
	wait $tp
	drain || echo "     ($name: Postfix still had mail queued after 90 s)"
	[ -n "${3:-}" ] && "$3"
	i=0
	while :; do
		c=$(python3 tests/faults/count.py "$T/manifest-$name" "$SINK_DIR" "$T/etc" "$STORE_NOW" "$OUT")
		case $c in *'"held_not_recorded": 0,'*) break ;; esac
		i=$((i + 1))
		[ $i -ge 60 ] && break
		sleep 0.5
	done
	hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$MILTER_PID/status" 2>/dev/null)
	ROWS="$ROWS$name $hwm $c
"
	verdict=$(python3 - "$c" "$T/manifest-$name" "$OUT.lock" <<'PY'
import json, os, sys
c = json.loads(sys.argv[1])
bad = ["%s=%d" % (k, c[k]) for k in ("lost", "duplicated", "should_hold_passed_unjudged", "gave_up", "refused",
                                     "queued", "held_not_recorded") if c[k]]
if os.path.exists(sys.argv[3]):
    released = float(open(sys.argv[3]).read())
    waited = sum(1 for l in open(sys.argv[2]) if json.loads(l).get("end", 0) > released)
    if waited:
        bad.append("%d messages were accepted only after the store's lock was let go" % waited)
print("; ".join(bad))
PY
)
	WHY=
	if [ -z "$verdict" ]; then
		PASSED=$((PASSED + 1))
		echo "ok   $name"
	else
		FAILED=$((FAILED + 1))
		echo "FAIL $name: $verdict"
	fi
}

no_fault() { :; }

# The daemon killed (-9) a second into the traffic, started again a second later.
kill9() {
	sleep 2
	a=$(now)
	kill -KILL "$MILTER_PID"
	wait "$MILTER_PID" 2>/dev/null
	MILTER_PID=
	rm -f "$T/run/milter.sock"
	sleep 1
	start_milter -o spool.directory="$SPOOL" -o spool.retry=2s
	echo "$a $(now)" >>"$OUT"
}

# A clean stop (SIGTERM: finish what is in hand) and a start, mid-traffic.
sigterm() {
	sleep 2
	a=$(now)
	stop_milter
	start_milter -o spool.directory="$SPOOL" -o spool.retry=2s
	echo "$a $(now)" >>"$OUT"
}

# Another process holds the store's write lock for 20 s from the start of the
# traffic (6 s long).  Nothing on the mail path may wait for it: every message
# must have been accepted before the lock is let go ($OUT.lock: when).
locked() {
	python3 - "$STORE" "$OUT.lock" <<'PY' &
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
time.sleep(20)
open(sys.argv[2], "w").write("%f\n" % time.time())
db.execute("COMMIT")
PY
	wait $!
}

# Twenty reloads of a policy cut short at random points, each followed by one
# of the whole file.
reload_storm() {
	size=$(wc -c <policies/default.yaml)
	i=0
	while [ $i -lt 20 ]; do
		head -c $(( (i * 7919) % size )) policies/default.yaml >"$T/policy.yaml"
		kill -HUP "$MILTER_PID"
		sleep 0.2
		cp policies/default.yaml "$T/policy.yaml"
		kill -HUP "$MILTER_PID"
		sleep 0.2
		i=$((i + 1))
	done
}

# The store on a file system that is full: an 8 MB tmpfs filled to the brim.
full_disk_setup() {
	mkdir -p "$T/full"
	mount -t tmpfs -o size=8m tmpfs "$T/full" || return 1
	MOUNTS="$T/full $MOUNTS"
	STORE_NOW=$T/full/store.db
	restart_milter -o store=sqlite:"$T/full/store.db"
	sqlite3 "$T/full/store.db" 'SELECT 1' >/dev/null
	dd if=/dev/zero of="$T/full/ballast" bs=64k >/dev/null 2>&1
	return 0
}

full_disk_heal() { rm -f "$T/full/ballast"; }

# The store on a file system mounted read-only before the daemon starts.
read_only_setup() {
	mkdir -p "$T/ro"
	mount -t tmpfs -o size=16m tmpfs "$T/ro" || return 1
	MOUNTS="$T/ro $MOUNTS"
	cp "$STORE" "$T/ro/store.db"
	mount -o remount,ro "$T/ro" || return 1
	STORE_NOW=$T/ro/store.db
	restart_milter -o store=sqlite:"$T/ro/store.db"
	return 0
}

read_only_heal() { mount -o remount,rw "$T/ro"; }

run_case baseline no_fault
run_case kill-9 kill9
run_case sigterm sigterm
run_case locked-store locked
run_case reload-storm reload_storm
if full_disk_setup; then
	run_case full-disk no_fault full_disk_heal
else
	echo "FAIL full-disk: could not mount a tmpfs"
	FAILED=$((FAILED + 1))
fi
if read_only_setup; then
	run_case read-only-store no_fault read_only_heal
else
	echo "FAIL read-only-store: could not mount a tmpfs"
	FAILED=$((FAILED + 1))
fi
grep -q -E "Sanitizer|runtime error" "$MILTER_LOG" && { echo "FAIL sanitizer report in the daemon's log"; FAILED=$((FAILED + 1)); }

printf '%s' "$ROWS" | python3 -c '
import json, sys
print("case              sent deliv  held  lost  dup  not-recorded  should-hold: held passed-unjudged in-outage  peak-RSS  seconds")
for line in sys.stdin:
    name, hwm, c = line.split(" ", 2)
    c = json.loads(c)
    print("%-16s %5d %5d %5d %5d %4d %13d  %17d %16d %9d  %6s MB %8.1f" % (name, c["sent"], c["delivered"], c["held"],
          c["lost"], c["duplicated"], c["held_not_recorded"], c["should_hold_held"], c["should_hold_passed_unjudged"],
          c["should_hold_passed_in_outage"], "%.0f" % (int(hwm) / 1024) if hwm.isdigit() else "-", c["seconds"]))
'
echo "faults: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
