#!/bin/sh
# tests/miltertest/run.sh [BUILD] - protocol edge cases: each *.lua script here
# drives apology-milter directly with miltertest (no MTA), on a unix socket in a
# private directory; then the same scripts drive apology-milter-libmilter, the
# libmilter build of the same daemon, so both front ends are held to the same
# behaviour.  Besides, broken protocol from raw bytes (raw_protocol.py), memory
# bounded under many connections and huge messages (memory.py), the daemon
# without its store (no_store.py: as root, a read-only file system in a mount
# namespace of its own; otherwise a directory without write permission), its
# store locked by another process while 40 sessions send mail (locked_store.py:
# no verdict waits for the lock, no record is lost or written twice, held mail
# without its record is an alert), and the Prometheus endpoint scraped before
# and after traffic (metrics_scrape.py), and the daemon killed (-9) after it
# answered holds whose records the store did not have yet (kill9_holds.py:
# after a restart each is in the store once).  raw_protocol.py and memory.py
# drive the event front end's own protocol codec and loop (broken packets, a
# slow message beside others on one loop, the memory budget over
# connections with packets of 4 MB): libmilter has its own codec and a thread
# per connection, and closes such connections (a broken packet, or one over
# its maximum data size) where the scripts expect an answer, so they run
# against apology-milter only.
# Ends with "miltertest: N passed, M failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${1:-build}
command -v miltertest >/dev/null 2>&1 || { echo "miltertest: not installed (make deps)"; exit 1; }
[ -x "$BUILD/apology-milter" ] || { echo "miltertest: $BUILD/apology-milter not built"; exit 1; }
pass=0
fail=0
# run_scripts BINARY LABEL DRAIN_SIGNAL
run_scripts() {
	for script in tests/miltertest/*.lua; do
		[ "$(basename "$script")" = common.lua ] && continue
		dir=$(mktemp -d /tmp/apology-mt.XXXXXX)
		# Sanitizer and valgrind reports in the output fail the script.
		if MILTER=$1 MT_DIR=$dir MT_DRAIN_SIGNAL=$3 \
			miltertest -s "$script" >"$dir/out" 2>&1 &&
			! grep -q -E "Sanitizer|runtime error|^==[0-9]+== " "$dir/out"; then
			pass=$((pass + 1))
			echo "ok   $2 $(basename "$script")"
		else
			fail=$((fail + 1))
			echo "FAIL $2 $(basename "$script")"
			sed 's/^/    /' "$dir/out" | tail -15
		fi
		# miltertest stops the filter it started, unless miltertest itself died.
		if [ -f "$dir/milter.pid" ] && kill "$(cat "$dir/milter.pid")" 2>/dev/null; then
			echo "     (stopped a milter left running)"
		fi
		rm -rf "$dir"
	done
}
# What miltertest cannot do, from Python: broken protocol as raw bytes and one
# slow message while other sessions wait on the same loop (raw_protocol.py),
# the memory budget and huge messages (memory.py), the daemon without its
# store and the files it leaves (no_store.py), a store another process holds
# locked (locked_store.py), a kill -9 after holds were answered (kill9_holds.py).
# They share the protocol codec of raw_protocol.py and the private daemon,
# sessions and locker of milterlib.py.  run_py SCRIPT BINARY LABEL
run_py() {
	out=$(mktemp /tmp/apology-py.XXXXXX)
	if python3 "tests/miltertest/$1" "$2" >"$out" 2>&1 &&
		! grep -q -E "Sanitizer|runtime error|^==[0-9]+== " "$out"; then
		pass=$((pass + 1))
		echo "ok   $3 $1 ($(tail -1 "$out"))"
	else
		fail=$((fail + 1))
		echo "FAIL $3 $1"
		sed 's/^/    /' "$out" | tail -15
	fi
	rm -f "$out"
}
# MILTER_WRAPPER (e.g. tests/valgrind-milter.sh) may stand in for the binary;
# then only it is run.
if [ -n "${MILTER_WRAPPER:-}" ]; then
	run_scripts "$MILTER_WRAPPER" "" 15
	run_py raw_protocol.py "$MILTER_WRAPPER" ""
	run_py memory.py "$MILTER_WRAPPER" ""
	run_py no_store.py "$MILTER_WRAPPER" ""
	run_py metrics_scrape.py "$MILTER_WRAPPER" ""
	run_py locked_store.py "$MILTER_WRAPPER" ""
	run_py kill9_holds.py "$MILTER_WRAPPER" ""
else
	run_scripts "$BUILD/apology-milter" "" 15
	run_py raw_protocol.py "$BUILD/apology-milter" ""
	run_py memory.py "$BUILD/apology-milter" ""
	run_py no_store.py "$BUILD/apology-milter" ""
	run_py metrics_scrape.py "$BUILD/apology-milter" ""
	run_py locked_store.py "$BUILD/apology-milter" ""
	run_py kill9_holds.py "$BUILD/apology-milter" ""
	if [ -x "$BUILD/apology-milter-libmilter" ]; then
		run_scripts "$BUILD/apology-milter-libmilter" "(libmilter)" 12
		run_py no_store.py "$BUILD/apology-milter-libmilter" "(libmilter)"
		run_py metrics_scrape.py "$BUILD/apology-milter-libmilter" "(libmilter)"
		run_py locked_store.py "$BUILD/apology-milter-libmilter" "(libmilter)"
		run_py kill9_holds.py "$BUILD/apology-milter-libmilter" "(libmilter)"
	fi
fi
echo "miltertest: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
