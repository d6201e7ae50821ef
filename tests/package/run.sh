#!/bin/sh
# tests/package/run.sh - the Debian package, built, linted, installed, used and purged.
#
# Builds the .deb with `make deb` (build/deb/), runs lintian on it (any error fails;
# every warning must be one explained in packaging/README.md), installs it on this
# machine with `dpkg -i`, checks the files, the conffiles, the system user, that
# nothing was enabled or started, that `apology-milter -n` accepts the shipped
# configuration and policy and that the daemon starts as its user; that the review
# tools, as their units run them, share the store with the daemon and cannot read
# the hold key, and release through sudo only without no_new_privs; installs it a
# second time (postinst must be idempotent, an edited conffile kept); then purges
# it and checks that it is gone.  The system users and groups created by this run
# are removed again at the end.  Runs as root; refuses to touch an apology-milter package that
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
REVIEW_PID=
SUDOERS=/etc/sudoers.d/apology-review
SUDOERS_MADE=no
USER_EXISTED=no
getent passwd apology-milter >/dev/null && USER_EXISTED=yes
REVIEW_USER_EXISTED=no
getent passwd apology-review >/dev/null && REVIEW_USER_EXISTED=yes
STORE_GROUP_EXISTED=no
getent group apology-store >/dev/null && STORE_GROUP_EXISTED=yes
cleanup() {
	[ -n "$MILTER_PID" ] && kill "$MILTER_PID" 2>/dev/null
	[ -n "$REVIEW_PID" ] && kill "$REVIEW_PID" 2>/dev/null
	[ "$SUDOERS_MADE" = yes ] && rm -f "$SUDOERS"
	known && dpkg --purge "$PKG" >/dev/null 2>&1
	for u in apology-milter:$USER_EXISTED apology-review:$REVIEW_USER_EXISTED; do
		[ "${u#*:}" = no ] || continue
		u=${u%:*}
		if getent passwd "$u" >/dev/null; then
			deluser --system --quiet "$u" >/dev/null 2>&1
			getent group "$u" >/dev/null && delgroup --system --quiet "$u" >/dev/null 2>&1
		fi
	done
	if [ "$STORE_GROUP_EXISTED" = no ] && getent group apology-store >/dev/null; then
		delgroup --system --quiet apology-store >/dev/null 2>&1
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
	/lib/systemd/system/apology-milter.service /lib/systemd/system/apology-review.service \
	/lib/systemd/system/apology-review-expire.service /lib/systemd/system/apology-review-expire.timer \
	/usr/share/doc/apology-milter/copyright /usr/share/doc/apology-milter/README.md.gz \
	/usr/share/doc/apology-milter/examples/postfix/main.cf \
	/usr/share/doc/apology-milter/examples/sendmail/apology-milter.mc \
	/usr/share/doc/apology-milter/examples/sudoers.d/apology-review; do
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
check "no /usr/local paths in the installed configuration, units and sudoers example" \
	sh -c '! grep -n /usr/local /etc/apology-milter/*.yaml /etc/apology-milter/postsuper.conf \
	  /lib/systemd/system/apology-milter.service /lib/systemd/system/apology-review* \
	  /usr/share/doc/apology-milter/examples/sudoers.d/apology-review | grep -v "^[^:]*:[0-9]*:#"'
check "the helper's settings are root's alone (root:root 644)" \
	test "$(stat -c '%U:%G %a' /etc/apology-milter/postsuper.conf 2>/dev/null)" = "root:root 644"
check "postinst made the hold key: 32 bytes, root:apology-milter 640" \
	test "$(stat -c '%s %U:%G %a' /etc/apology-milter/hold.key 2>/dev/null)" = "32 root:apology-milter 640"
KEY_SUM=$(sha256sum /etc/apology-milter/hold.key 2>/dev/null)
check "review.yaml names the installed helper" \
	grep -qx 'helper: /usr/libexec/apology-milter/apology-postsuper' /etc/apology-milter/review.yaml
check "the unit runs /usr/sbin/apology-milter" \
	grep -q '^ExecStart=/usr/sbin/apology-milter ' /lib/systemd/system/apology-milter.service
U=/lib/systemd/system
check "the daemon's unit: user apology-milter, group apology-store (the store's), apology-milter (the key) and postfix" \
	sh -c "grep -qx 'User=apology-milter' $U/apology-milter.service && grep -qx 'Group=apology-store' $U/apology-milter.service &&
	  grep -qx 'SupplementaryGroups=apology-milter postfix' $U/apology-milter.service"
check "the daemon's unit keeps the store's directory 2770 (StateDirectoryMode=), its files 0660 (UMask=0007)" \
	sh -c "grep -qx 'StateDirectoryMode=2770' $U/apology-milter.service && grep -qx 'UMask=0007' $U/apology-milter.service"
check "the review page's unit runs /usr/bin/apology-review with the installed review.yaml" \
	grep -qx 'ExecStart=/usr/bin/apology-review -c /etc/apology-milter/review.yaml' $U/apology-review.service
check "the expiry's unit runs apologyctl quarantine expire, once (oneshot)" \
	sh -c "grep -qx 'ExecStart=/usr/bin/apologyctl quarantine -c /etc/apology-milter/review.yaml expire' \
	  $U/apology-review-expire.service && grep -qx 'Type=oneshot' $U/apology-review-expire.service"
for unit in apology-review.service apology-review-expire.service; do
	check "$unit: user apology-review, group apology-review (sudoers'), apology-store (the store), UMask=0007" \
		sh -c "grep -qx 'User=apology-review' $U/$unit && grep -qx 'Group=apology-review' $U/$unit &&
		  grep -qx 'SupplementaryGroups=apology-store' $U/$unit && grep -qx 'UMask=0007' $U/$unit"
	# systemd.exec(5), NoNewPrivileges=: these set it for a unit with User=, and sudo
	# then cannot run the helper.
	check "$unit sets nothing that implies NoNewPrivileges= (sudo runs the helper)" \
		sh -c "! grep -E '^(NoNewPrivileges|DynamicUser|LockPersonality|MemoryDenyWriteExecute|PrivateDevices|ProtectClock|ProtectHostname|ProtectKernelLogs|ProtectKernelModules|ProtectKernelTunables|RestrictAddressFamilies|RestrictNamespaces|RestrictRealtime|RestrictSUIDSGID|SystemCallArchitectures|SystemCallFilter|SystemCallLog)=' $U/$unit"
done
check "the review page's unit does not restart after a configuration error (78)" \
	grep -qx 'RestartPreventExitStatus=64 78' $U/apology-review.service
check "the expiry's timer: daily, at a random time in an hour, catching up a missed day" \
	sh -c "grep -qx 'OnCalendar=daily' $U/apology-review-expire.timer && grep -qx 'Persistent=true' $U/apology-review-expire.timer &&
	  grep -qx 'RandomizedDelaySec=1h' $U/apology-review-expire.timer"
if command -v systemd-analyze >/dev/null 2>&1; then
	for unit in apology-milter.service apology-review.service apology-review-expire.service \
		apology-review-expire.timer; do
		check "systemd-analyze verify accepts $unit" \
			sh -c "systemd-analyze verify $U/$unit 2>&1 | grep -v 'not running' | grep -q . && exit 1 || exit 0"
	done
fi
EXAMPLE_SUDOERS=/usr/share/doc/apology-milter/examples/sudoers.d/apology-review
check "the sudoers example lets group apology-review run the installed helper" \
	grep -qx 'Cmnd_Alias APOLOGY_POSTSUPER = /usr/libexec/apology-milter/apology-postsuper' "$EXAMPLE_SUDOERS"
if command -v visudo >/dev/null 2>&1; then
	check "visudo -c accepts the sudoers example" visudo -cf "$EXAMPLE_SUDOERS"
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
check "apology-milter is in group apology-store (the store's)" sh -c 'id -nG apology-milter | grep -qw apology-store'
if getent passwd apology-review >"$T/pw"; then
	IFS=: read -r _ _ uid _ _ _ shell <"$T/pw"
	[ "$REVIEW_USER_EXISTED" = yes ] && how="already there before the install" || how="created by postinst"
	[ "$uid" -lt 1000 ] && ok "system user apology-review (uid $uid, $how)" || bad "apology-review is a system user (uid $uid)"
	check "it has no login shell" sh -c "case '$shell' in */nologin|*/false) exit 0;; *) exit 1;; esac"
	check "it is in groups apology-review (sudoers' for the helper) and apology-store (the store)" \
		sh -c 'id -nG apology-review | grep -qw apology-review && id -nG apology-review | grep -qw apology-store'
	check "it is not in group apology-milter (the hold key's)" sh -c '! id -nG apology-review | grep -qw apology-milter'
else
	bad "system user apology-review created"
fi
check "/var/lib/apology-milter is apology-milter:apology-store 2770 (the group writes, files keep its group)" \
	test "$(stat -c '%U:%G %a' /var/lib/apology-milter 2>/dev/null)" = "apology-milter:apology-store 2770"
check "the unit is not enabled" test ! -e /etc/systemd/system/multi-user.target.wants/apology-milter.service
check "the review page's unit is not enabled" \
	test ! -e /etc/systemd/system/multi-user.target.wants/apology-review.service
check "the expiry's timer is not enabled" test ! -e /etc/systemd/system/timers.target.wants/apology-review-expire.timer
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

# The daemon as the unit runs it: as user apology-milter, group apology-store, with
# its other groups and UMask=0007 (the subshell and setpriv exec it, so $! is the
# daemon: not a function run in the background, whose $! is the shell running it),
# the store in /var/lib/apology-milter; socket and pid file in a directory of its own.
daemon_user() { (umask 0007 && cd / && exec setpriv --reuid=apology-milter --regid=apology-store --init-groups "$@"); }
mkdir -p "$T/run" && chown apology-milter:apology-store "$T/run" && chmod 0755 "$T"
group=; getent group postfix >/dev/null || group="-o group="
# shellcheck disable=SC2086
(umask 0007 && cd / && exec setpriv --reuid=apology-milter --regid=apology-store --init-groups \
	/usr/sbin/apology-milter -f -c /etc/apology-milter/apology-milter.yaml -o user= $group \
	-o "socket=unix:$T/run/milter.sock" -o "pid-file=$T/run/milter.pid") >"$T/milter.log" 2>&1 &
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
check "its store is /var/lib/apology-milter/store.db, apology-milter:apology-store 660 (the group writes it)" \
	test "$(stat -c '%U:%G %a' /var/lib/apology-milter/store.db 2>/dev/null)" = "apology-milter:apology-store 660"
check "the daemon, as apology-milter, reads its hold key" sh -c "! grep -q 'hold key' '$T/milter.log'"
kill -TERM "$MILTER_PID" 2>/dev/null
i=0
while kill -0 "$MILTER_PID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$MILTER_PID" 2>/dev/null || running; then
	kill "$MILTER_PID"
	bad "the daemon stops on SIGTERM"
else
	ok "the daemon stops on SIGTERM"
fi
wait "$MILTER_PID" 2>/dev/null
MILTER_PID=
check "the daemon left no -wal or -shm file" test ! -e /var/lib/apology-milter/store.db-wal -a \
	! -e /var/lib/apology-milter/store.db-shm

# The review tools as their units run them: as apology-review, groups apology-review
# and apology-store, UMask=0007, on the store the daemon made.  The daemon, stopped,
# left no -wal or -shm file: the review page makes them, and the daemon's user then
# writes to them (the helper's record), as the review page writes to the daemon's
# store file (a failed log-in).
reviewer() { (umask 0007 && cd / && exec setpriv --reuid=apology-review --regid=apology-review --init-groups "$@"); }
check "the review user cannot read the hold key (cat /etc/apology-milter/hold.key fails)" \
	sh -c "test -s /etc/apology-milter/hold.key && ! (cd / && setpriv --reuid=apology-review \
	  --regid=apology-review --init-groups cat /etc/apology-milter/hold.key)"
check "apologyctl quarantine expire as apology-review, as its unit runs it" \
	reviewer /usr/bin/apologyctl quarantine -c /etc/apology-milter/review.yaml expire
check "apologyctl quarantine list as apology-review" \
	reviewer /usr/bin/apologyctl quarantine -c /etc/apology-milter/review.yaml list
reviewer /usr/bin/apology-review -c /etc/apology-milter/review.yaml -o listen=127.0.0.1:1 >"$T/review0.log" 2>&1
rc=$?
[ $rc = 78 ] && ok "apology-review without reviewers' accounts exits 78 (the unit does not restart it)" ||
	bad "apology-review without reviewers' accounts exits 78 (exit $rc: $(cat "$T/review0.log"))"
echo secret | apology-review --hash-password >"$T/hash" 2>/dev/null
install -m 0640 -o root -g apology-review /dev/null "$T/accounts"
echo "reviewer:reviewer:$(cat "$T/hash")" >"$T/accounts"
PORT=$((20000 + $$ % 20000))
(umask 0007 && cd / && exec setpriv --reuid=apology-review --regid=apology-review --init-groups \
	/usr/bin/apology-review -c /etc/apology-milter/review.yaml -o "accounts=$T/accounts" \
	-o "listen=127.0.0.1:$PORT") >"$T/review.log" 2>&1 &
REVIEW_PID=$!
i=0
while ! grep -q '^apology-review: listening on' "$T/review.log" && [ $i -lt 100 ] && kill -0 "$REVIEW_PID" 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
if grep -q '^apology-review: listening on' "$T/review.log"; then
	ok "the review page starts as apology-review on the daemon's store"
else
	sed 's/^/  /' "$T/review.log"
	bad "the review page starts as apology-review on the daemon's store"
fi
for f in store.db-wal store.db-shm; do
	check "it made $f: apology-review:apology-store 660, the store file's mode (the group writes it)" \
		test "$(stat -c '%U:%G %a' /var/lib/apology-milter/$f 2>/dev/null)" = "apology-review:apology-store 660"
done
if command -v curl >/dev/null 2>&1; then
	curl -s -c "$T/cookies" "http://127.0.0.1:$PORT/login" >"$T/login.html"
	csrf=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/login.html")
	curl -s -b "$T/cookies" -o /dev/null -w '%{http_code}' --data-urlencode "csrf=$csrf" \
		--data-urlencode "user=nobody-$$" --data-urlencode "password=wrong" \
		"http://127.0.0.1:$PORT/login" >"$T/login.code"
	check "a wrong password on the review page is answered 401" test "$(cat "$T/login.code")" = 401
	check "the review page, as apology-review, wrote the failed log-in to the daemon's store" \
		sh -c "cd / && apologyctl logins -c /etc/apology-milter/review.yaml list | grep -q '^nobody-$$ '"
fi

# The helper reads its installed settings (then refuses the queue id ALL) and
# records the refusal in the store, as the daemon's user (the owner of the store's
# directory), in the -wal file the review page made.
(cd / && env -u APOLOGY_POSTSUPER_CONF /usr/libexec/apology-milter/apology-postsuper release ALL \
	0123456789abcdef0123456789abcdef) >"$T/helper.out" 2>&1
rc=$?
[ $rc = 64 ] && ok "the helper reads /etc/apology-milter/postsuper.conf and refuses ALL (64)" ||
	bad "the helper reads /etc/apology-milter/postsuper.conf and refuses ALL (exit $rc: $(cat "$T/helper.out"))"
check "the helper's refusal is in the store's audit trail" test "$(sqlite3 /var/lib/apology-milter/store.db \
	"SELECT count(*) FROM helper_actions WHERE queue_id = 'ALL' AND outcome = 'refused'")" = 1
daemon_user /usr/sbin/apology-milter -n -c /etc/apology-milter/apology-milter.yaml $group >"$T/n2.out" 2>&1
check "the daemon's user finds the store usable beside the review page (apology-milter -n: store OK)" \
	grep -q '^store OK' "$T/n2.out"

# A release from the review page or the expiry runs the helper through sudo, as
# packaging/sudoers.d/apology-review lets group apology-review (the example, installed
# for this check when there is none).  Under no_new_privs, which the options that
# imply NoNewPrivileges= would set, sudo cannot.
if command -v sudo >/dev/null 2>&1 && [ -d /etc/sudoers.d ] && [ ! -e "$SUDOERS" ]; then
	install -m 0440 "$EXAMPLE_SUDOERS" "$SUDOERS" && SUDOERS_MADE=yes
	reviewer sudo -n /usr/libexec/apology-milter/apology-postsuper release ALL \
		0123456789abcdef0123456789abcdef >"$T/sudo.out" 2>&1
	rc=$?
	[ $rc = 64 ] && ok "apology-review runs the helper through sudo -n (it refuses ALL: 64)" ||
		bad "apology-review runs the helper through sudo -n (exit $rc: $(cat "$T/sudo.out"))"
	check "the helper records the reviewer's refusal as the sudo user's" test "$(sqlite3 /var/lib/apology-milter/store.db \
		"SELECT count(*) FROM helper_actions WHERE queue_id = 'ALL' AND outcome = 'refused' AND caller = 'apology-review (sudo)'")" = 1
	(cd / && setpriv --reuid=apology-review --regid=apology-review --init-groups --no-new-privs \
		sudo -n /usr/libexec/apology-milter/apology-postsuper release ALL \
		0123456789abcdef0123456789abcdef) >"$T/sudo-nnp.out" 2>&1
	rc=$?
	[ $rc != 0 ] && grep -q 'no new privileges' "$T/sudo-nnp.out" &&
		ok "with no_new_privs sudo cannot (why the review units set nothing that implies it)" ||
		bad "with no_new_privs sudo cannot (exit $rc: $(cat "$T/sudo-nnp.out"))"
	rm -f "$SUDOERS"
	SUDOERS_MADE=no
fi
kill -TERM "$REVIEW_PID" 2>/dev/null
i=0
while kill -0 "$REVIEW_PID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
wait "$REVIEW_PID" 2>/dev/null
rc=$?
REVIEW_PID=
[ $rc = 0 ] && ok "the review page stops on SIGTERM" || bad "the review page stops on SIGTERM (exit $rc)"

# --- a second install: postinst again with the users present; an edited conffile
# stays.  The store's directory and files as earlier versions left them (the daemon's
# alone: apology-milter:apology-milter, 0750 and 0640) are the store group's again,
# and a symbolic link among the store's names is not followed.
echo "# edited by tests/package/run.sh" >>/etc/apology-milter/apology-milter.yaml
S=/var/lib/apology-milter
chown apology-milter:apology-milter $S $S/store.db && chmod 0750 $S && chmod 0640 $S/store.db
install -m 0640 -o apology-milter -g apology-milter /dev/null $S/store.db-wal
install -m 0600 -o root -g root /dev/null "$T/not-the-store"
ln -s "$T/not-the-store" $S/store.db-journal && chown -h apology-milter:apology-milter $S/store.db-journal
if dpkg -i "$DEB" >"$T/install2.log" 2>&1; then ok "dpkg -i again (postinst is idempotent)"; else
	cat "$T/install2.log"
	bad "dpkg -i again (postinst is idempotent)"
fi
check "the edited conffile is kept" grep -q '^# edited by tests/package/run.sh' /etc/apology-milter/apology-milter.yaml
check "still exactly one apology-milter user" test "$(getent passwd | grep -c '^apology-milter:')" = 1
check "still exactly one apology-review user" test "$(getent passwd | grep -c '^apology-review:')" = 1
check "the hold key is kept" test "$(sha256sum /etc/apology-milter/hold.key 2>/dev/null)" = "$KEY_SUM"
check "an earlier version's store directory is apology-milter:apology-store 2770 again" \
	test "$(stat -c '%U:%G %a' $S 2>/dev/null)" = "apology-milter:apology-store 2770"
for f in store.db store.db-wal; do
	check "an earlier version's $f is apology-milter:apology-store 660" \
		test "$(stat -c '%U:%G %a' $S/$f 2>/dev/null)" = "apology-milter:apology-store 660"
done
check "the crash guard's file stays the daemon's alone (600)" \
	sh -c "[ ! -e $S/store.db-inflight ] || [ \"\$(stat -c %a $S/store.db-inflight)\" = 600 ]"
check "a symbolic link named like the store's journal is not followed" \
	test "$(stat -c '%U:%G %a' "$T/not-the-store" 2>/dev/null)" = "root:root 600"
rm -f $S/store.db-journal $S/store.db-wal

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
