#!/bin/sh
# packaging/build-deb.sh [OUTDIR] - build the Debian package (`make deb`).
#
# Debian wants its packaging in debian/ at the top of the source tree; ours lives
# in packaging/debian/.  So the source (the files git knows, as they are in the
# working tree, without build outputs) is copied to OUTDIR/apology-milter-VERSION/,
# packaging/debian/ becomes debian/ there, and `dpkg-buildpackage -us -uc -b` runs
# in that copy.  The .deb, .buildinfo and .changes land in OUTDIR (default
# build/deb, git-ignored); nothing is written to the tree itself.  As root,
# missing build dependencies are installed with apt-get.
set -eu
cd "$(dirname "$0")/.."
OUT=${1:-build/deb}

version=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
upstream=${version%-*}
SRC=$OUT/apology-milter-$upstream

rm -rf "$OUT"
mkdir -p "$SRC"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files --cached --others --exclude-standard | sort -u |
		while IFS= read -r f; do [ -f "$f" ] && printf '%s\n' "$f"; done |
		tar -cf - -T - | tar -C "$SRC" -xf -
else
	tar --exclude=./build --exclude='./build-*' --exclude=./debian -cf - . | tar -C "$SRC" -xf -
fi
# The sentence encoder's weights are downloaded by make, not kept in git
# (docs/models.md): the package takes this tree's copy, so its build needs no
# network.
[ -f policies/default-encoder.enc ] || make policies/default-encoder.enc
cp policies/default-encoder.enc "$SRC/policies/"
rm -rf "$SRC/debian"
cp -R packaging/debian "$SRC/debian"
chmod 0755 "$SRC/debian/rules"
SRC=$(cd "$SRC" && pwd)

if ! (cd "$SRC" && dpkg-checkbuilddeps); then
	if [ "$(id -u)" != 0 ]; then
		echo "build-deb: install the missing build dependencies (as root: apt-get build-dep $SRC)" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq </dev/null
	apt-get build-dep -y -qq "$SRC" </dev/null
fi

# Run from `make deb`, the outer make's flags and command-line variables (PREFIX,
# MATCHER, ...) would reach the package's own make through MAKEFLAGS: drop them.
# Parallel jobs: DEB_BUILD_OPTIONS=parallel=N, or one per CPU.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
case " ${DEB_BUILD_OPTIONS:-} " in
*" parallel="*) jobs= ;;
*) jobs=-J$(nproc 2>/dev/null || echo 1) ;;
esac
(cd "$SRC" && dpkg-buildpackage -us -uc -b $jobs)
echo "build-deb: $(ls "$OUT"/apology-milter_*.deb)"
