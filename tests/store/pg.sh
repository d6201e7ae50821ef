#!/bin/sh
# The store on a real PostgreSQL server of the test's own (make pg-test):
# a temporary cluster on a unix socket (tests/store/pgcluster.sh); the store's
# unit tests run on it as well as on SQLite (APOLOGY_TEST_PG), with the
# server stopped and started again under an open store, and the answer to
# a statement lost after the server ran it (tests/store/pglose.py); then
# `apologyctl store migrate` copies an SQLite store into it.  The server is
# stopped and its directory removed at the end, also on failure.
#   sh tests/store/pg.sh BUILD_DIR
set -eu
BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pgcluster.sh"
LOSE_PID=
LOSE_DIR=
stop_all() {
	[ -n "$LOSE_PID" ] && kill "$LOSE_PID" 2>/dev/null && wait "$LOSE_PID" 2>/dev/null
	[ -n "$LOSE_DIR" ] && rm -rf "$LOSE_DIR"
	pg_stop
}
trap stop_all EXIT INT TERM
pg_start
echo "pg-test: PostgreSQL at $PG_DIR"
# A way to the server that loses one answer on demand (tests/store/pglose.py).
LOSE_DIR=$(mktemp -d /tmp/apology-pglose.XXXXXX)
python3 "$HERE/pglose.py" "$LOSE_DIR" "$PG_DIR" "$LOSE_DIR/arm" &
LOSE_PID=$!
i=0
while [ ! -S "$LOSE_DIR/.s.PGSQL.5432" ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done

APOLOGY_TEST_PG=$PG_LOCATION APOLOGY_TEST_PG_STOP=$PG_STOP_CMD APOLOGY_TEST_PG_START=$PG_START_CMD \
	APOLOGY_TEST_PG_LOSE="postgresql:///apology?host=$LOSE_DIR&user=apology" \
	APOLOGY_TEST_PG_LOSE_ARM="$LOSE_DIR/arm" "$BUILD/tests/test_store"
APOLOGY_TEST_PG=$PG_LOCATION "$BUILD/tests/test_review"
APOLOGY_TEST_PG=$PG_LOCATION "$BUILD/tests/test_postsuper"
# A database of its own for the copy, empty.
pg_as "$PG_BIN/createdb" -h "$PG_DIR" -U apology migrate
sh "$HERE/migrate.sh" "$BUILD" "postgresql:///migrate?host=$PG_DIR&user=apology"
echo "pg-test: OK"
