#!/bin/sh
# The engine demo: judge three sample replies to one complaint with apologyctl.
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 70
for f in tests/demo/good.eml tests/demo/doubtful.eml tests/demo/bad.eml; do
	echo "== $f"
	"$BUILD/apologyctl" check --policy policies/default.yaml "$f"
	echo "   (exit status $?)"
	echo
done
echo "Try it on your own mail: $BUILD/apologyctl check FILE.eml (or --format json)"
