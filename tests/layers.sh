#!/bin/sh
# layers.sh BUILD - dependencies between the layers of milter/ run one way,
# downwards (docs/architecture.md): no library references a symbol that only
# a layer above it defines.  util < core < store < holds < daemon; the
# programs (ctl, review, postsuper) sit on top.
set -eu
B=$1
defined() { nm --defined-only -g "$B/$1" 2>/dev/null | awk 'NF == 3 {print $3}' | sort -u; }
undefined() { nm -u "$B/$1" 2>/dev/null | awk '{print $NF}' | sort -u; }
fail=0
check() { # LIB ABOVE...
	lib=$1; shift
	for above in "$@"; do
		bad=$(comm -12 "$tmp/u.$lib" "$tmp/d.$above" | head -5 | tr '\n' ' ')
		if [ -n "$bad" ]; then
			echo "layers: $lib references $above: $bad"
			fail=1
		fi
	done
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for l in libutil.a libapology.a libstore.a libholds.a libdaemon.a; do
	defined "$l" >"$tmp/d.$l"
	undefined "$l" >"$tmp/u.$l"
done
check libutil.a libapology.a libstore.a libholds.a libdaemon.a
check libapology.a libstore.a libholds.a libdaemon.a
check libstore.a libapology.a libholds.a libdaemon.a
check libholds.a libdaemon.a
[ $fail = 0 ] && echo "layers: OK (util < core < store < holds < daemon; no reference upwards)"
exit $fail
