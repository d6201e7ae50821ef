# pgcluster.sh - sourced by the PostgreSQL tests: a private PostgreSQL
# server in a temporary directory, on a unix socket in that directory only
# (listen_addresses = ''), never the system's service.
#
#   pg_start          make the cluster and start it (fsync off, for speed, unless
#                     PG_DURABLE=1); sets PG_DIR, PG_LOCATION
#                     (postgresql:///apology?host=DIR&user=apology) and the
#                     commands PG_STOP_CMD / PG_START_CMD
#   pg_stop           stop it and remove the directory (call from a trap)
#
# PostgreSQL refuses to run as root: as root the server runs as the user
# nobody (the directory is handed to it); otherwise as the caller.

pg_bindir() {
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		[ -x "$d/initdb" ] && { echo "$d"; return 0; }
	done
	command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
	return 1
}

pg_as() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u nobody -- "$@"
	else
		"$@"
	fi
}

pg_start() {
	PG_BIN=$(pg_bindir) || { echo "pgcluster: no initdb (apt-get install postgresql)" >&2; return 1; }
	PG_DIR=$(mktemp -d /tmp/apology-pg.XXXXXX)
	chmod 755 "$PG_DIR"
	mkdir "$PG_DIR/data"
	[ "$(id -u)" = 0 ] && chown nobody "$PG_DIR" "$PG_DIR/data"
	pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U apology --auth=trust -E UTF8 --no-locale \
		>"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; return 1; }
	cat >>"$PG_DIR/data/postgresql.conf" <<-CONF
	listen_addresses = ''
	unix_socket_directories = '$PG_DIR'
	max_connections = 60
	CONF
	[ "${PG_DURABLE:-0}" = 1 ] || echo "fsync = off" >>"$PG_DIR/data/postgresql.conf"
	PG_STOP_CMD="$(pg_cmd) stop -D '$PG_DIR/data' -m fast -w >/dev/null"
	PG_START_CMD="$(pg_cmd) start -D '$PG_DIR/data' -l '$PG_DIR/server.log' -w >/dev/null"
	sh -c "$PG_START_CMD" || { cat "$PG_DIR/server.log" >&2; return 1; }
	pg_as "$PG_BIN/createdb" -h "$PG_DIR" -U apology apology || return 1
	PG_LOCATION="postgresql:///apology?host=$PG_DIR&user=apology"
	export PG_BIN PG_DIR PG_LOCATION PG_STOP_CMD PG_START_CMD
}

# pg_ctl, as the user the server runs as.
pg_cmd() {
	if [ "$(id -u)" = 0 ]; then
		echo "runuser -u nobody -- $PG_BIN/pg_ctl"
	else
		echo "$PG_BIN/pg_ctl"
	fi
}

pg_stop() {
	[ -n "$PG_DIR" ] || return 0
	if [ -f "$PG_DIR/data/postmaster.pid" ]; then
		sh -c "$PG_STOP_CMD" 2>/dev/null || true
	fi
	rm -rf "$PG_DIR"
	PG_DIR=
}
