#!/bin/sh
# `apologyctl store migrate`: an SQLite store with a record of each kind
# (a held message whose copy has a NUL byte, with its new text and a
# finding, its review, an outbox row, a
# complaint, apologies, a failed log-in) copied into an empty PostgreSQL
# store; the counts printed, the records read back through apologyctl, the
# copy's bytes unchanged, a second copy refused without --force and
# replacing (not adding to) the first with it, new ids after the copied ones.
#   sh tests/store/migrate.sh BUILD_DIR PG_LOCATION   (tests/store/pg.sh)
set -eu
BUILD=$1
PG=$2
CTL=$BUILD/apologyctl
T=$(mktemp -d /tmp/apology-migrate.XXXXXX)
trap 'rm -rf "$T"' EXIT INT TERM
fail() { echo "migrate: FAIL: $*" >&2; exit 1; }
q() {
	st=$1
	shift
	"$CTL" quarantine -o "store=$st" -o "policy=policies/default.yaml" "$@" </dev/null
}
pgsql() { "$PG_BIN/psql" -X -q -A -t -d "$PG" -c "$1"; }

LITE=sqlite:$T/store.db
# The store made by apologyctl (migrated to this program's schema), then filled.
"$CTL" quarantine -o "store=$LITE" list >/dev/null
sqlite3 "$T/store.db" <<'SQL'
INSERT INTO quarantine (id, queue_id, message_id, token, sender, recipients, verdict, score, findings,
  complaint_ref, raw, created, state, new_text, complaint_detected, complaint_severity, complaint_clear,
  complaint_sent, complaint_text)
  VALUES (7, 'Q1A2B3', 'r1@acme.example', 'tok1', 'sam@acme.example', 'dana@client.example', 'hold', 12,
  '{"findings":[{"rule":"blame-third-party","severity":"hold","start":0,"end":5,"line":1}]}',
  'c1@client.example', X'5375626A6563743A20780D0A0D0A6100620D0A', 1700000000, 'held', 'Sorry, the courier.',
  1, 'serious', 1, 1699990000, 'Dana wrote:' || char(10) || 'Late again, caf' || char(233) || '.' || char(10));
INSERT INTO quarantine_findings (quarantine_id, ordinal, rule, severity, span_start, span_end, line)
  VALUES (7, 0, 'blame-third-party', 'hold', 0, 5, 1);
INSERT INTO quarantine (id, queue_id, message_id, token, sender, recipients, verdict, score, findings,
  raw, created, state, host)
  VALUES (9, 'Q9', 'r9@acme.example', 'tok9', 'kim@acme.example', 'x@client.example', 'hold', 8, '[]',
  NULL, 1700000500, 'released', 'mx2.example');
INSERT INTO reviews (quarantine_id, reviewer, action, note, at) VALUES (9, 'lead', 'release', 'ok', 1700000600);
INSERT INTO outbox (key, quarantine_id, channel, event, target, payload, created, next_try)
  VALUES ('hold:7:webhook', 7, 'webhook', 'hold', 'http://127.0.0.1:9/x', '{}', 1700000000, 1700000000);
INSERT INTO complaints (message_id, client_addr, client_domain, received, serious, kinds, unclear)
  VALUES ('c1@client.example', '192.0.2.7', 'client.example', 1699990000, 1, 3, 1);
INSERT INTO apologies (sender, client_domain, at, kinds, complaint_ref)
  VALUES ('sam@acme.example', 'client.example', 1700000000, 1, 'c1@client.example'),
         ('sam@acme.example', 'client.example', 1700000100, 2, NULL);
INSERT INTO login_failures VALUES ('alice', '192.0.2.9', 3, 1700000000, 1700000900);
SQL

"$CTL" store migrate --from "$LITE" --to "$PG" >"$T/out" 2>&1 || fail "migrate failed: $(cat "$T/out")"
for want in "quarantine: 2 rows" "reviews: 1 rows" "outbox: 1 rows" "complaints: 1 rows" "apologies: 2 rows" \
	"login_failures: 1 rows" "helper_actions: 0 rows" "quarantine_findings: 1 rows"; do
	grep -qx "$want" "$T/out" || fail "no \"$want\" in: $(cat "$T/out")"
done
grep -q "done" "$T/out" || fail "no closing line: $(cat "$T/out")"

# Read back through the PostgreSQL store.
q "$PG" list --state all >"$T/list" || fail "list on PostgreSQL: $(cat "$T/list")"
grep -q "^7 .*Q1A2B3 .*held .*$(hostname) .*sam@acme.example" "$T/list" ||
	fail "held message (with this host, it had none) not listed: $(cat "$T/list")"
grep -q "^9 .*released .*mx2.example .*kim@acme.example" "$T/list" || fail "host mx2.example lost: $(cat "$T/list")"
q "$PG" show 9 >"$T/show" || fail "show: $(cat "$T/show")"
grep -q "release by lead: ok" "$T/show" || fail "review not copied: $(cat "$T/show")"
grep -q "on mx2.example" "$T/show" || fail "show does not say the host: $(cat "$T/show")"
q "$PG" list --rule blame-third-party | grep -q "^7 " || fail "findings not readable on PostgreSQL"
q "$PG" show 7 >"$T/show7" || fail "show 7: $(cat "$T/show7")"
grep -q "| \[\[Sorry\]\]{1}, the courier\." "$T/show7" || fail "new text or findings not copied: $(cat "$T/show7")"
grep -q "^complaint as judged: serious, sent 2023-11-14T19:26:40Z$" "$T/show7" &&
	grep -q "^  > Late again, café\.$" "$T/show7" || fail "the complaint not copied: $(cat "$T/show7")"
q "$PG" show 9 | grep -q "^complaint as judged: not recorded" || fail "a record without its complaint"
[ "$(pgsql "SELECT encode(raw, 'hex') FROM quarantine WHERE id = 7")" = \
	"$(sqlite3 "$T/store.db" "SELECT lower(hex(raw)) FROM quarantine WHERE id = 7")" ] || fail "the copy's bytes changed"
[ "$(pgsql "SELECT count(*) FROM outbox WHERE state = 'pending' AND quarantine_id = 7")" = 1 ] || fail "outbox"
[ "$(pgsql "SELECT serious || ' ' || kinds || ' ' || unclear FROM complaints")" = "1 3 1" ] || fail "the complaint's columns"

# A second copy: refused, nothing changed; with --force, replaced.
if "$CTL" store migrate --from "$LITE" --to "$PG" >"$T/out2" 2>&1; then fail "a non-empty target was accepted"; fi
grep -q "not empty (.*quarantine: 2 rows" "$T/out2" || fail "refusal does not say why: $(cat "$T/out2")"
[ "$(pgsql "SELECT count(*) FROM apologies")" = 2 ] || fail "a refused copy changed the target"
"$CTL" store migrate --from "$LITE" --to "$PG" --force >"$T/out3" 2>&1 || fail "--force: $(cat "$T/out3")"
[ "$(pgsql "SELECT count(*) FROM apologies")" = 2 ] || fail "--force added to the target instead of replacing it"
# New records get ids after the copied ones.
[ "$(pgsql "INSERT INTO reviews (quarantine_id, reviewer, action, at) VALUES (7, 'x', 'note', 1) RETURNING id")" -gt 1 ] ||
	fail "identity not moved past the copied ids"
[ "$(pgsql "INSERT INTO quarantine (queue_id, message_id, token, sender, recipients, verdict, score, findings, created, state)
	VALUES ('Q', 'm', 'tok-new', 's', 'r', 'hold', 1, '[]', 1, 'held') RETURNING id")" -gt 9 ] ||
	fail "quarantine ids not moved past the copied ones"

# Wrong directions and a stopped target: refused with a message, no crash.
"$CTL" store migrate --from "$PG" --to "$PG" >"$T/out4" 2>&1 && fail "PostgreSQL as the source accepted"
grep -q "must be an SQLite store" "$T/out4" || fail "$(cat "$T/out4")"
"$CTL" store migrate --from "$LITE" --to "postgresql:///nosuchdb?host=/nonexistent-dir" >"$T/out5" 2>&1 &&
	fail "an unreachable target accepted"
grep -q "cannot connect" "$T/out5" || fail "unreachable target: $(cat "$T/out5")"
[ $? -eq 0 ]
echo "migrate: OK"
