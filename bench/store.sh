#!/bin/sh
# The store's write rate with each backend (bench/bench_store.c): SQLite in a
# temporary directory against a private PostgreSQL server started here
# (tests/store/pgcluster.sh, a unix socket, stopped at the end), with the
# server's durability settings left at their defaults (fsync on, a commit
# waits for its WAL to be flushed), as a site would run it; and again with
# synchronous_commit off, the durability of the SQLite store's WAL with
# synchronous = NORMAL (a power cut may lose the last commits, never
# consistency): the like-for-like figure.
#   sh bench/store.sh BUILD_DIR [SECONDS]
set -eu
BUILD=$1
SECONDS_TOTAL=${2:-18}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../tests/store/pgcluster.sh"
T=$(mktemp -d /tmp/apology-bench-store.XXXXXX)
trap 'pg_stop; rm -rf "$T"' EXIT INT TERM
PG_DURABLE=1 pg_start
"$BUILD/bench-store" "$SECONDS_TOTAL" "SQLite (WAL, synchronous=NORMAL)" "sqlite:$T/store.db" \
	"PostgreSQL (defaults: a flush per commit)" "$PG_LOCATION" \
	"PostgreSQL, synchronous_commit=off" "$PG_LOCATION&options=-c%20synchronous_commit%3Doff"
