#!/bin/sh
# Install the Debian packages the build and the tests need, when root and
# when something is missing.  Non-root users get the apt-get line to run.
set -e
PKGS="build-essential pkg-config python3 libglib2.0-dev libglib2.0-dev-bin libgmime-3.0-dev libjson-glib-dev libfyaml-dev libxml2-dev
libhyperscan-dev libpcre2-dev libcmocka-dev libsqlite3-dev libmilter-dev libcurl4-openssl-dev
libmicrohttpd-dev libsodium-dev liblinear-dev sqlite3 postfix swaks miltertest valgrind clang-format chromium sudo
openssl curl m4 libwrap0 libpq-dev postgresql"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# m4 builds the Sendmail test's sendmail.cf; libwrap0 is the one library of
# sendmail-bin (fetched and unpacked by tests/e2e/sendmail.sh, not installed) that
# Postfix does not already pull in.
# postgresql: make pg-test runs a server of its own (initdb in a temporary
# directory, a unix socket); the system's service is not used.
# The browser tests drive chromium with playwright-core from npm.
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "missing Debian packages:$missing" >&2
	echo "run as root: apt-get install$missing" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
# No system cluster: the tests make their own (tests/store/pgcluster.sh).
mkdir -p /etc/postgresql-common/createcluster.d
[ -e /etc/postgresql-common/createcluster.d/apology-milter.conf ] ||
	echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/apology-milter.conf
apt-get update -qq </dev/null
apt-get install -y -qq --no-install-recommends $missing </dev/null
