#!/bin/sh
# tests/test-threads.sh THREADS CLIENT: examples/threads (one context per
# thread) as an echo server over loopback, checked by examples/echo-client;
# once with a SO_REUSEPORT listener per thread, once with --acceptor.  The
# server starts on port 0 with 2 threads and names its port on its first
# line; the client makes 20 connections x 100 requests and must exit 0 with
# its one-line report; SIGTERM must then stop the server within 5 s, with
# status 0 and its summary on stderr (with --acceptor, both threads served
# connections: the acceptor hands each to the least loaded).
#
# Under `meson test --wrapper valgrind` (.ci/run) valgrind runs this shell
# and would not follow it into the programs it starts: the script then
# runs them under valgrind itself, with .ci/run's options, and waits
# longer (as tests/test-echo.sh does; tests/echo-lib.sh has the rest).
set -u

case ${LD_PRELOAD:-} in
*vgpreload_memcheck*) COOP_TEST_THREADS_VALGRIND=1 exec /bin/sh "$0" "$@" ;;
esac
run=
scale=1
if [ -n "${COOP_TEST_THREADS_VALGRIND:-}" ]; then
	run="valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite"
	scale=10
fi

# shellcheck source=tests/echo-lib.sh
. "$(dirname "$0")/echo-lib.sh"

server=$1
client=$2
report='^connections=20 requests=2000 seconds=[0-9]+\.[0-9]{3} rps=[0-9]+ p50_us=[0-9]+ p99_us=[0-9]+$'

for mode in reuseport --acceptor; do
	flag=
	[ "$mode" = reuseport ] || flag=$mode
	summary="^threads: 20 connections served, 128000 bytes echoed by 2 threads \\(([0-9]+) ([0-9]+) connections each, ${flag:-SO_REUSEPORT}\\)\$"
	# shellcheck disable=SC2086 # $flag: zero or one word
	serve "$mode" "$server" --threads 2 $flag
	load "$mode" "$report" "$client" --connections 20 --requests 100
	stop "$mode"
	grep -q '^threads: Terminated: shutting down$' "$tmp/err" || fail "$mode: no shutdown line on stderr"
	grep -Eq "$summary" "$tmp/err" || fail "$mode: no summary line on stderr"
	if [ -n "$flag" ]; then
		each=$(sed -En "s/$summary/\\1 \\2/p" "$tmp/err")
		case " $each " in
		*" 0 "*) fail "$mode: a thread was handed no connection ($each)" ;;
		esac
	fi
	echo "ok - $mode: $line; $(grep -E "$summary" "$tmp/err")"
done
