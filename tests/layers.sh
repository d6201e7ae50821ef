#!/bin/sh
# layers.sh BUILD - dependencies between the layers of milter/ run one way,
# downwards (docs/architecture.md): no library references a symbol that only
# a layer above it defines.  util < core < store < holds < daemon; the
# programs (ctl, review, postsuper) sit on top.  Like the store, the holds
# layer uses no core: it reads what the store keeps.  The review page
# (apology-review) reads only the store: it holds no object of the core.
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
check libholds.a libapology.a libdaemon.a
# The review program: no symbol the core defines is defined in it (a core
# object linked in, whoever pulled it).
if [ -e "$B/apology-review" ]; then
	nm --defined-only -g "$B/apology-review" | awk 'NF == 3 {print $3}' | sort -u >"$tmp/d.review"
	bad=$(comm -12 "$tmp/d.review" "$tmp/d.libapology.a" | head -5 | tr '\n' ' ')
	if [ -n "$bad" ]; then
		echo "layers: apology-review links the core: $bad"
		fail=1
	fi
else
	echo "layers: $B/apology-review not built"
	fail=1
fi
[ $fail = 0 ] && echo "layers: OK (util < core < store < holds < daemon; no reference upwards; apology-review without the core)"
exit $fail
