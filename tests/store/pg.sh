#!/bin/sh
# The store on a real PostgreSQL server of the test's own (make pg-test):
# a temporary cluster on a unix socket (tests/store/pgcluster.sh); the store's
# unit tests run on it as well as on SQLite (APOLOGY_TEST_PG), with the
# server stopped and started again under an open store; then
# `apologyctl store migrate` copies an SQLite store into it.  The server is
# stopped and its directory removed at the end, also on failure.
#   sh tests/store/pg.sh BUILD_DIR
set -eu
BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pgcluster.sh"
trap pg_stop EXIT INT TERM
pg_start
echo "pg-test: PostgreSQL at $PG_DIR"

APOLOGY_TEST_PG=$PG_LOCATION APOLOGY_TEST_PG_STOP=$PG_STOP_CMD APOLOGY_TEST_PG_START=$PG_START_CMD \
	"$BUILD/tests/test_store"
APOLOGY_TEST_PG=$PG_LOCATION "$BUILD/tests/test_review"
APOLOGY_TEST_PG=$PG_LOCATION "$BUILD/tests/test_postsuper"
# A database of its own for the copy, empty.
pg_as "$PG_BIN/createdb" -h "$PG_DIR" -U apology migrate
sh "$HERE/migrate.sh" "$BUILD" "postgresql:///migrate?host=$PG_DIR&user=apology"
echo "pg-test: OK"
