#!/bin/sh
# tests/test-echo.sh SERVER CLIENT: examples/echo-server and echo-client
# over loopback, once in the default fd mode and once with --cache.  The
# server starts on port 0 and names its port on its first line; the client
# makes 50 connections x 200 requests and must exit 0 with its one-line
# report; SIGTERM must then stop the server within 5 s, with status 0 and
# its summary on stderr (tests/echo-lib.sh).
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
# shellcheck source=tests/echo-lib.sh
. "$(dirname "$0")/echo-lib.sh"

server=$1
client=$2
report='^connections=50 requests=10000 seconds=[0-9]+\.[0-9]{3} rps=[0-9]+ p50_us=[0-9]+ p99_us=[0-9]+$'
summary='^echo-server: 50 connections served, 640000 bytes echoed$'

for mode in default --cache; do
	flag=
	[ "$mode" = default ] || flag=$mode
	# shellcheck disable=SC2086 # $flag: zero or one word
	serve "$mode" "$server" $flag
	# shellcheck disable=SC2086
	load "$mode" "$report" "$client" $flag --connections 50 --requests 200
	stop "$mode"
	grep -Eq "$summary" "$tmp/err" || fail "$mode: no summary line on echo-server's stderr"
	echo "ok - $mode: $line"
done
