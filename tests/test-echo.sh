#!/bin/sh
# tests/test-echo.sh SERVER CLIENT: examples/echo-server and echo-client
# over loopback, once in the default fd mode and once with --cache.  The
# server starts on port 0 and names its port on its first line; the client
# makes 50 connections x 200 requests and must exit 0 with its one-line
# report; SIGTERM must then stop the server within 5 s, with status 0 and
# its summary on stderr.
#
# Under `meson test --wrapper valgrind` (.ci/run) valgrind runs this shell
# and would not follow it into the programs it starts: the script then
# runs them under valgrind itself, with .ci/run's options, and waits
# longer.  The shell's own leaks are not coop's: it first replaces itself
# with a fresh shell, which valgrind does not follow either.
set -u

case ${LD_PRELOAD:-} in
*vgpreload_memcheck*) COOP_TEST_ECHO_VALGRIND=1 exec /bin/sh "$0" "$@" ;;
esac
run=
scale=1
if [ -n "${COOP_TEST_ECHO_VALGRIND:-}" ]; then
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

report='^connections=50 requests=10000 seconds=[0-9]+\.[0-9]{3} rps=[0-9]+ p50_us=[0-9]+ p99_us=[0-9]+$'
summary='^echo-server: 50 connections served, 640000 bytes echoed$'

for mode in default --cache; do
	flag=
	[ "$mode" = default ] || flag=$mode
	: >"$tmp/out"
	: >"$tmp/err"
	# shellcheck disable=SC2086 # $run and $flag: zero or more words
	$run "$server" $flag 0 >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	within 5 grep -q '^listening on ' "$tmp/out" || fail "$mode: no 'listening on' line within 5 s"
	port=$(sed -n '1s/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$tmp/out")
	[ -n "$port" ] || fail "$mode: first line is not 'listening on 127.0.0.1:PORT'"

	# shellcheck disable=SC2086
	line=$($run "$client" $flag --connections 50 --requests 200 127.0.0.1 "$port")
	status=$?
	[ "$status" -eq 0 ] || fail "$mode: echo-client exited $status: $line"
	printf '%s\n' "$line" | grep -Eq "$report" || fail "$mode: echo-client printed: $line"

	kill -TERM "$pid"
	within 5 ended || fail "$mode: echo-server still running 5 s after SIGTERM"
	wait "$pid"
	status=$?
	pid=
	[ "$status" -eq 0 ] || fail "$mode: echo-server exited $status after SIGTERM"
	grep -Eq "$summary" "$tmp/err" || fail "$mode: no summary line on echo-server's stderr"
	echo "ok - $mode: $line"
done
