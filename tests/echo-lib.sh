# tests/echo-lib.sh: what tests/test-echo.sh and tests/test-threads.sh
# share, sourced by both: an echo server started on port 0 (it names its
# port on its first line), examples/echo-client against it, and SIGTERM,
# which must stop it within 5 s with status 0.  The sourcing script sets
# `run` (empty, or valgrind's command when it runs under valgrind) and
# `scale` (the factor for its waits) first.
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

# serve MODE COMMAND...: start the server (COMMAND... 0) into $tmp/out and
# $tmp/err; sets pid and port.
serve() {
	mode=$1
	shift
	: >"$tmp/out"
	: >"$tmp/err"
	# shellcheck disable=SC2086 # $run: zero or more words
	$run "$@" 0 >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	within 5 grep -q '^listening on ' "$tmp/out" || fail "$mode: no 'listening on' line within 5 s"
	port=$(sed -n '1s/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$tmp/out")
	[ -n "$port" ] || fail "$mode: first line is not 'listening on 127.0.0.1:PORT'"
}

# load MODE REPORT CLIENT ARGS...: the client against $port must exit 0
# with a line matching REPORT; sets line.
load() {
	mode=$1
	report=$2
	shift 2
	# shellcheck disable=SC2086 # $run: zero or more words
	line=$($run "$@" 127.0.0.1 "$port")
	status=$?
	[ "$status" -eq 0 ] || fail "$mode: echo-client exited $status: $line"
	printf '%s\n' "$line" | grep -Eq "$report" || fail "$mode: echo-client printed: $line"
}

# stop MODE: SIGTERM, then the server must end within 5 s with status 0.
stop() {
	kill -TERM "$pid"
	within 5 ended || fail "$1: the server is still running 5 s after SIGTERM"
	wait "$pid"
	status=$?
	pid=
	[ "$status" -eq 0 ] || fail "$1: the server exited $status after SIGTERM"
}
