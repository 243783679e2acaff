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
# longer (as tests/test-echo.sh does).
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

server=$1
client=$2
tmp=$(mktemp -d) || exit 1
pid=
trap 'if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null; fi; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL: $*"
	echo "--- server stdout:"
	cat "$tmp/out"
	echo "--- server stderr:"
	cat "$tmp/err"
	exit 1
}

# within SECONDS COMMAND...: poll COMMAND every 0.1 s, for up to SECONDS
# (times the valgrind factor).
within() {
	n=$(($1 * 10 * scale))
	shift
	until "$@"; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.1
	done
}

# The server has ended: gone, or a zombie not yet reaped by `wait`.
ended() {
	state=Z
	[ -e "/proc/$pid" ] && read -r _ _ state _ <"/proc/$pid/stat" 2>/dev/null
	[ "$state" = Z ]
}

report='^connections=20 requests=2000 seconds=[0-9]+\.[0-9]{3} rps=[0-9]+ p50_us=[0-9]+ p99_us=[0-9]+$'

for mode in reuseport --acceptor; do
	flag=
	[ "$mode" = reuseport ] || flag=$mode
	summary="^threads: 20 connections served, 128000 bytes echoed by 2 threads \\(([0-9]+) ([0-9]+) connections each, ${flag:-SO_REUSEPORT}\\)\$"
	: >"$tmp/out"
	: >"$tmp/err"
	# shellcheck disable=SC2086 # $run and $flag: zero or more words
	$run "$server" --threads 2 $flag 0 >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	within 5 grep -q '^listening on ' "$tmp/out" || fail "$mode: no 'listening on' line within 5 s"
	port=$(sed -n '1s/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$tmp/out")
	[ -n "$port" ] || fail "$mode: first line is not 'listening on 127.0.0.1:PORT'"

	# shellcheck disable=SC2086
	line=$($run "$client" --connections 20 --requests 100 127.0.0.1 "$port")
	status=$?
	[ "$status" -eq 0 ] || fail "$mode: echo-client exited $status: $line"
	printf '%s\n' "$line" | grep -Eq "$report" || fail "$mode: echo-client printed: $line"

	kill -TERM "$pid"
	within 5 ended || fail "$mode: threads still running 5 s after SIGTERM"
	wait "$pid"
	status=$?
	pid=
	[ "$status" -eq 0 ] || fail "$mode: threads exited $status after SIGTERM"
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
