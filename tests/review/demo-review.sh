# tests/review/demo-review.sh - the review page for the live demo.  Sourced (POSIX
# sh) by tests/demo.sh after tests/e2e/lib.sh has started the private instance;
# needs $T, $STORE, $E2E_BUILD and $E2E_POLICY from it.
#
#   start_review_demo   start apology-review on a free loopback port with one admin
#                       account, print its URL and log-in (pid in $T/run/review.pid)
#   stop_review_demo    stop it (also after the demo script has exited)

REVIEW_DEMO_USER=demo
REVIEW_DEMO_PASS=demo-review

start_review_demo() {
	hash=$(echo "$REVIEW_DEMO_PASS" | "$E2E_BUILD/apology-review" --hash-password) || return 1
	printf '%s:admin:%s\n' "$REVIEW_DEMO_USER" "$hash" >"$T/review-accounts"
	chmod 600 "$T/review-accounts"
	port=$(free_port 8025)
	write_helper_settings
	"$E2E_BUILD/apology-review" -o "store=sqlite:$STORE" -o "postfix-config=$T/etc" \
		-o "helper=$(cd "$E2E_BUILD" && pwd)/apology-postsuper" -o "policy=$E2E_POLICY" \
		-o "accounts=$T/review-accounts" -o "listen=127.0.0.1:$port" \
		-o "review-url=http://127.0.0.1:$port" -o smtp-url= </dev/null >"$T/review.log" 2>&1 &
	echo $! >"$T/run/review.pid"
	wait_port "$port" || { echo "apology-review did not start: $(cat "$T/review.log")"; return 1; }
	echo "  review page: http://127.0.0.1:$port/  (log in as $REVIEW_DEMO_USER / $REVIEW_DEMO_PASS)"
	echo "  there the held reply can be released, discarded or returned to its author"
}

stop_review_demo() {
	[ -f "$T/run/review.pid" ] && kill -TERM "$(cat "$T/run/review.pid")" 2>/dev/null
	rm -f "$T/run/review.pid"
}
