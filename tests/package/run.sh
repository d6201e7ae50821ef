#!/bin/sh
# tests/package/run.sh - the Debian package, built, linted, installed, used and purged.
#
# Builds the .deb with `make deb` (build/deb/), runs lintian on it (any error fails;
# every warning must be one explained in packaging/README.md), installs it on this
# machine with `dpkg -i`, checks the files, the conffiles, the system user, that
# nothing was enabled or started, that `apology-milter -n` accepts the shipped
# configuration and policy and that the daemon starts as its user; installs it a
# second time (postinst must be idempotent, an edited conffile kept); then purges
# it and checks that it is gone.  A system user created by this run is removed
# again at the end.  Runs as root; refuses to touch an apology-milter package that
# was installed before it started.  Ends with "package: N passed, M failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$(pwd)
OUT=build/deb
PKG=apology-milter

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
check() { # check DESCRIPTION COMMAND...: passes when COMMAND succeeds
	what=$1
	shift
	if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi
}
summary() {
	echo "package: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}

installed() { dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q 'install ok installed'; }
known() { dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -qv 'not-installed'; }

if [ "$(id -u)" != 0 ]; then
	echo "package: run as root (dpkg -i, dpkg --purge)" >&2
	bad "running as root"
	summary
fi
if known; then
	echo "package: $PKG is already installed here; purge it first (dpkg --purge $PKG)" >&2
	bad "no $PKG package installed before the test"
	summary
fi

T=$(mktemp -d /tmp/package-test.XXXXXX)
MILTER_PID=
USER_EXISTED=no
getent passwd apology-milter >/dev/null && USER_EXISTED=yes
cleanup() {
	[ -n "$MILTER_PID" ] && kill "$MILTER_PID" 2>/dev/null
	known && dpkg --purge "$PKG" >/dev/null 2>&1
	if [ "$USER_EXISTED" = no ] && getent passwd apology-milter >/dev/null; then
		deluser --system --quiet apology-milter >/dev/null 2>&1
		getent group apology-milter >/dev/null && delgroup --system --quiet apology-milter >/dev/null 2>&1
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

export DEBIAN_FRONTEND=noninteractive
if ! command -v lintian >/dev/null 2>&1; then
	apt-get update -qq </dev/null && apt-get install -y -qq --no-install-recommends lintian </dev/null >/dev/null
fi

# --- build
git status --porcelain --untracked-files=all 2>/dev/null | grep "^??" >"$T/status.before"
start=$(date +%s)
if make deb >"$T/build.log" 2>&1; then
	ok "make deb ($(($(date +%s) - start)) s)"
else
	tail -30 "$T/build.log"
	bad "make deb (log above)"
	summary
fi
DEB=$(ls "$OUT"/${PKG}_*.deb 2>/dev/null | head -1)
if [ -n "$DEB" ] && [ -f "$DEB" ]; then
	ok "built $DEB ($(stat -c %s "$DEB") bytes)"
else
	bad "no $OUT/${PKG}_*.deb"
	summary
fi
grep -q '^unit: [0-9]* passed, 0 failed' "$T/build.log" && ok "unit tests ran in the package build" ||
	bad "unit tests ran in the package build"
grep -q -- '-D_FORTIFY_SOURCE=2 .*-fstack-protector-strong' "$T/build.log" && ok "compiled with the hardening flags" ||
	bad "compiled with the hardening flags"
check "the source tree has no debian/ left behind" test ! -e debian
git status --porcelain --untracked-files=all 2>/dev/null | grep "^??" >"$T/status.after"
check "the build left no new files in the tree (outputs only in $OUT, ignored)" cmp -s "$T/status.before" "$T/status.after"

# --- lintian: errors fail; each warning tag must be explained in packaging/README.md
lintian --fail-on none "$OUT"/${PKG}_*.changes 2>/dev/null | grep -E '^[EW]: ' >"$T/lintian.txt"
nerr=$(grep -c '^E: ' "$T/lintian.txt")
nwarn=$(grep -c '^W: ' "$T/lintian.txt")
sed 's/^/  lintian: /' "$T/lintian.txt"
[ "$nerr" -eq 0 ] && ok "lintian: 0 errors, $nwarn warnings" || bad "lintian: $nerr errors, $nwarn warnings"
for tag in $(sed -n 's/^W: [^ ]*: \([^ ]*\).*/\1/p' "$T/lintian.txt" | sort -u); do
	grep -q -- "\`$tag\`" packaging/README.md && ok "lintian warning $tag is explained in packaging/README.md" ||
		bad "lintian warning $tag is not explained in packaging/README.md"
done

# --- install
if dpkg -i "$DEB" >"$T/install.log" 2>&1; then
	ok "dpkg -i $DEB"
else
	cat "$T/install.log"
	bad "dpkg -i $DEB"
	summary
fi
check "dpkg says installed" installed

dpkg -L "$PKG" >"$T/files"
for f in /usr/sbin/apology-milter /usr/sbin/apology-milter-libmilter /usr/bin/apologyctl \
	/usr/bin/apology-review /usr/libexec/apology-milter/apology-postsuper \
	/usr/share/man/man8/apology-milter.8.gz /usr/share/man/man1/apologyctl.1.gz \
	/usr/share/man/man8/apology-review.8.gz \
	/usr/share/apology-milter/policies/default.yaml /usr/share/apology-milter/policies/README.md \
	/usr/share/apology-milter/policies/default-gate.model /usr/share/apology-milter/policies/default-sentences.model \
	/usr/share/apology-milter/policies/default-gate-text.model \
	/usr/share/apology-milter/policies/default-encoder-head.model /usr/share/apology-milter/policies/default-encoder.enc \
	/etc/apology-milter/apology-milter.yaml /etc/apology-milter/review.yaml /etc/apology-milter/postsuper.conf \
	/lib/systemd/system/apology-milter.service \
	/usr/share/doc/apology-milter/copyright /usr/share/doc/apology-milter/README.md.gz \
	/usr/share/doc/apology-milter/examples/postfix/main.cf \
	/usr/share/doc/apology-milter/examples/sendmail/apology-milter.mc; do
	if grep -qx "$f" "$T/files" && [ -e "$f" ]; then ok "dpkg -L lists $f"; else bad "dpkg -L lists $f"; fi
done
for f in /usr/sbin/apology-milter /usr/sbin/apology-milter-libmilter /usr/bin/apologyctl \
	/usr/bin/apology-review /usr/libexec/apology-milter/apology-postsuper; do
	check "$f is executable and finds its libraries" sh -c "test -x $f && ! ldd $f | grep -q 'not found'"
done
conffiles=$(dpkg-query -W -f='${Conffiles}' "$PKG")
for f in /etc/apology-milter/apology-milter.yaml /etc/apology-milter/review.yaml \
	/etc/apology-milter/postsuper.conf; do
	echo "$conffiles" | grep -q " $f " && ok "$f is a conffile" || bad "$f is a conffile"
done
check "no /usr/local paths in the installed configuration and unit" \
	sh -c '! grep -n /usr/local /etc/apology-milter/*.yaml /etc/apology-milter/postsuper.conf \
	  /lib/systemd/system/apology-milter.service'
check "the helper's settings are root's alone (root:root 644)" \
	test "$(stat -c '%U:%G %a' /etc/apology-milter/postsuper.conf 2>/dev/null)" = "root:root 644"
check "postinst made the hold key: 32 bytes, root:apology-milter 640" \
	test "$(stat -c '%s %U:%G %a' /etc/apology-milter/hold.key 2>/dev/null)" = "32 root:apology-milter 640"
KEY_SUM=$(sha256sum /etc/apology-milter/hold.key 2>/dev/null)
check "review.yaml names the installed helper" \
	grep -qx 'helper: /usr/libexec/apology-milter/apology-postsuper' /etc/apology-milter/review.yaml
check "the unit runs /usr/sbin/apology-milter" \
	grep -q '^ExecStart=/usr/sbin/apology-milter ' /lib/systemd/system/apology-milter.service
if command -v systemd-analyze >/dev/null 2>&1; then
	check "systemd-analyze verify accepts the unit" \
		sh -c "systemd-analyze verify /lib/systemd/system/apology-milter.service 2>&1 | grep -v 'not running' | grep -q . && exit 1 || exit 0"
fi

# --- the system user, the store directory; nothing enabled, nothing started
if getent passwd apology-milter >"$T/pw"; then
	IFS=: read -r _ _ uid _ _ home shell <"$T/pw"
	[ "$USER_EXISTED" = yes ] && how="already there before the install" || how="created by postinst"
	[ "$uid" -lt 1000 ] && ok "system user apology-milter (uid $uid, $how)" || bad "apology-milter is a system user (uid $uid)"
	check "its home is /var/lib/apology-milter" test "$home" = /var/lib/apology-milter
	check "it has no login shell" sh -c "case '$shell' in */nologin|*/false) exit 0;; *) exit 1;; esac"
else
	bad "system user apology-milter created"
fi
check "group apology-milter" getent group apology-milter
if getent group postfix >/dev/null; then
	check "apology-milter is in group postfix (the socket's group)" sh -c 'id -nG apology-milter | grep -qw postfix'
fi
check "/var/lib/apology-milter is apology-milter:apology-milter 0750" \
	test "$(stat -c '%U:%G %a' /var/lib/apology-milter 2>/dev/null)" = "apology-milter:apology-milter 750"
check "the unit is not enabled" test ! -e /etc/systemd/system/multi-user.target.wants/apology-milter.service
running() { for p in /proc/[0-9]*; do readlink "$p/exe"; done 2>/dev/null | grep -q '^/usr/sbin/apology-milter$'; }
if running; then bad "no /usr/sbin/apology-milter process after the install"; else ok "no /usr/sbin/apology-milter process after the install"; fi

# --- the programs work with the installed configuration and policy
if (cd / && /usr/sbin/apology-milter -n -c /etc/apology-milter/apology-milter.yaml) >"$T/n.out" 2>&1 &&
	grep -q '^config OK: /etc/apology-milter/apology-milter.yaml' "$T/n.out" &&
	grep -q '^policy OK: /usr/share/apology-milter/policies/default.yaml' "$T/n.out" &&
	grep -q '^hold key OK: /etc/apology-milter/hold.key' "$T/n.out"; then
	ok "apology-milter -n -c /etc/apology-milter/apology-milter.yaml: $(tr '\n' ' ' <"$T/n.out")"
else
	sed 's/^/  /' "$T/n.out"
	bad "apology-milter -n -c /etc/apology-milter/apology-milter.yaml"
fi
check "apologyctl policy check (the compiled-in default policy)" sh -c 'cd / && env -u APOLOGY_POLICY apologyctl policy check'
# A copy of the shipped policy elsewhere reads the installed models, and says
# so; the installed policy, its models beside it, does not.
mkdir -p "$T/site" && cp /usr/share/apology-milter/policies/default.yaml "$T/site/"
check "a copy of the policy in another directory says it reads the installed models" \
	sh -c "apologyctl policy check '$T/site/default.yaml' | grep -q 'models not beside the policy read from /usr/share/apology-milter/policies)'"
check "the installed policy does not" \
	sh -c "out=\$(apologyctl policy check /usr/share/apology-milter/policies/default.yaml) && ! echo \"\$out\" | grep -q 'not beside'"
(cd / && env -u APOLOGY_POLICY apologyctl check --format json "$ROOT/tests/corpus/am-courier-lost-it-hold.eml") >"$T/check.json" 2>&1
check "apologyctl check judges a corpus reply: hold" grep -q '"verdict":"hold"' "$T/check.json"

# The daemon as the unit runs it: as user apology-milter (setpriv execs it, so $!
# is the daemon), the store in /var/lib/apology-milter; socket and pid file in a
# directory of its own.
mkdir -p "$T/run" && chown apology-milter:apology-milter "$T/run" && chmod 0755 "$T"
group=; getent group postfix >/dev/null || group="-o group="
# shellcheck disable=SC2086
setpriv --reuid=apology-milter --regid=apology-milter --init-groups /usr/sbin/apology-milter -f -c /etc/apology-milter/apology-milter.yaml -o user= \
	$group -o "socket=unix:$T/run/milter.sock" -o "pid-file=$T/run/milter.pid" >"$T/milter.log" 2>&1 &
MILTER_PID=$!
i=0
while [ ! -S "$T/run/milter.sock" ] && [ $i -lt 50 ] && kill -0 "$MILTER_PID" 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
if [ -S "$T/run/milter.sock" ]; then
	ok "the daemon starts as apology-milter and listens ($(stat -c '%U:%G %a' "$T/run/milter.sock"))"
else
	sed 's/^/  /' "$T/milter.log"
	bad "the daemon starts as apology-milter and listens"
fi
# the store is opened just after the socket is made: give it a moment
i=0
while [ ! -e /var/lib/apology-milter/store.db ] && [ $i -lt 50 ] && kill -0 "$MILTER_PID" 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
check "its store is /var/lib/apology-milter/store.db, owned by apology-milter" \
	test "$(stat -c %U /var/lib/apology-milter/store.db 2>/dev/null)" = apology-milter
check "the daemon, as apology-milter, reads its hold key" sh -c "! grep -q 'hold key' '$T/milter.log'"
kill -TERM "$MILTER_PID" 2>/dev/null
i=0
while kill -0 "$MILTER_PID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$MILTER_PID" 2>/dev/null; then
	kill "$MILTER_PID"
	bad "the daemon stops on SIGTERM"
else
	ok "the daemon stops on SIGTERM"
fi
wait "$MILTER_PID" 2>/dev/null
MILTER_PID=

# The helper reads its installed settings (then refuses the queue id ALL) and
# records the refusal in the store.
(cd / && env -u APOLOGY_POSTSUPER_CONF /usr/libexec/apology-milter/apology-postsuper release ALL \
	0123456789abcdef0123456789abcdef) >"$T/helper.out" 2>&1
rc=$?
[ $rc = 64 ] && ok "the helper reads /etc/apology-milter/postsuper.conf and refuses ALL (64)" ||
	bad "the helper reads /etc/apology-milter/postsuper.conf and refuses ALL (exit $rc: $(cat "$T/helper.out"))"
check "the helper's refusal is in the store's audit trail" test "$(sqlite3 /var/lib/apology-milter/store.db \
	"SELECT count(*) FROM helper_actions WHERE queue_id = 'ALL' AND outcome = 'refused'")" = 1

# --- a second install: postinst again with the user present; an edited conffile stays
echo "# edited by tests/package/run.sh" >>/etc/apology-milter/apology-milter.yaml
if dpkg -i "$DEB" >"$T/install2.log" 2>&1; then ok "dpkg -i again (postinst is idempotent)"; else
	cat "$T/install2.log"
	bad "dpkg -i again (postinst is idempotent)"
fi
check "the edited conffile is kept" grep -q '^# edited by tests/package/run.sh' /etc/apology-milter/apology-milter.yaml
check "still exactly one apology-milter user" test "$(getent passwd | grep -c '^apology-milter:')" = 1
check "the hold key is kept" test "$(sha256sum /etc/apology-milter/hold.key 2>/dev/null)" = "$KEY_SUM"

# --- purge
if dpkg --purge "$PKG" >"$T/purge.log" 2>&1; then ok "dpkg --purge $PKG"; else
	cat "$T/purge.log"
	bad "dpkg --purge $PKG"
fi
check "dpkg no longer knows the package" sh -c "! dpkg-query -W -f='\${Status}' $PKG 2>/dev/null | grep -qv not-installed"
gone=yes
while read -r f; do
	[ -d "$f" ] && continue # directories (/usr/bin, ...): the package's own are checked below
	[ -e "$f" ] || [ -L "$f" ] || continue
	echo "  left behind: $f"
	gone=no
done <"$T/files"
for f in /etc/apology-milter /var/lib/apology-milter /usr/share/apology-milter /usr/libexec/apology-milter \
	/usr/share/doc/apology-milter; do
	[ -e "$f" ] && { echo "  left behind: $f"; gone=no; }
done
[ "$gone" = yes ] && ok "every installed file, /etc/apology-milter and /var/lib/apology-milter are gone" ||
	bad "every installed file, /etc/apology-milter and /var/lib/apology-milter are gone"

summary
