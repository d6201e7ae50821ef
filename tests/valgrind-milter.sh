#!/bin/sh
# tests/valgrind-milter.sh ARGS... - apology-milter (the no-JIT build, as `make
# valgrind` makes it) under valgrind; any error or definite leak is reported with
# "==PID==" lines and exit status 9.  Used as MILTER_WRAPPER by tests/miltertest/run.sh.
# --fair-sched: valgrind runs one thread at a time; its default lock lets the
# judge thread starve the event loop, which the daemon itself never does.
exec valgrind -q --fair-sched=yes --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite "$(dirname "$0")/../build-nojit/apology-milter" "$@"
