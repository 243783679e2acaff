#!/bin/bash
# bench/echo.sh BUILDDIR [ROUNDS] [SECONDS]: coop 1.1's file-descriptor
# figures, on a build directory configured with -Dbench=true (release
# build advised: meson configure BUILDDIR -Dbuildtype=release).
#
# B-10, echo on loopback, 64-byte messages, one server thread: the same
# load generator (bench/echo-load, plain C epoll, closed loop per
# connection) against every server, at 1, 100 and 1,000 connections:
#   epoll        bench/echo-epoll, a hand-written epoll loop in C: the ceiling
#   coop         examples/echo-server (one task per connection, default mode)
#   coop-cache   examples/echo-server --cache (COOP_CONTEXT_FD_CACHE)
#   st           bench/echo-st, State Threads 1.9 (libst-dev), if built
#   go           bench/echo-go/echo.go, Go's net with GOMAXPROCS=1
#                (golang-go), built here with go build, offline, into
#                BUILDDIR/bench/go, if Go is installed
# The server runs on CPU 0 and the generator on CPU 1 (taskset), or both
# unpinned on a machine with one CPU (said so).  Each of ROUNDS rounds
# (default 7) measures every server at every connection count for SECONDS
# (default 3) after a warm-up, the servers in a different order each round
# and a fresh server process each time; the table gives medians over the
# rounds (of the per-round ratio, for "vs epoll").  Then, for each server
# at 1 connection (and at 100), system calls per request: perf stat on the server's
# process (all its threads) for one run of the generator, divided by the
# echoes that run completed (warm-up included; the few calls of accepting
# the connection are in the count); strace -c -f if perf cannot count.
#
# B-14, bench/idle (both modes): 10,000 idle socketpair ends and 10,000
# sleepers for 10 s: CPU time and kernel wake-ups against due deadlines.
# B-15, bench/churn (both modes): 10,000 connections/s for 5 s accepted
# and closed with coop_fd_close: µs per connection, server RSS over time.
#
# IDLE_SECONDS (default 10) and CHURN_SECONDS (default 5) in the
# environment change the length of B-14 and B-15; 0 skips them.
#
# Nothing is downloaded; a missing peer is reported and skipped.
set -uo pipefail

build=$(cd "${1:?usage: bench/echo.sh BUILDDIR [ROUNDS] [SECONDS]}" && pwd) || exit 2
rounds=${2:-7}
secs=${3:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
bench=$build/bench
conns=(1 100 1000)
work=$(mktemp -d /tmp/coop-echo.XXXXXX)
srv_pid=

cleanup() {
	[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

echo "# coop fd benchmarks: bench/echo.sh $* ($(date -u '+%Y-%m-%d %H:%M UTC'))"
echo
echo "load at start: $(uptime)"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) CPUs; kernel $(uname -r)"

if [ ! -x "$bench/echo-load" ] || [ ! -x "$bench/echo-epoll" ]; then
	echo "bench/echo-load or bench/echo-epoll missing: configure $1 with -Dbench=true" >&2
	exit 1
fi

# The servers: name, then the command (PORT is appended).
names=() skipped=()
declare -A cmd label
add() { names+=("$1"); label[$1]=$2; cmd[$1]=$3; }
add epoll "epoll loop (C)" "$bench/echo-epoll"
if [ -x "$build/examples/echo-server" ]; then
	add coop "coop default" "$build/examples/echo-server"
	add coop-cache "coop FD_CACHE" "$build/examples/echo-server --cache"
else
	skipped+=("skipped: coop (examples/echo-server not built: -Dexamples=false?)")
fi
if [ -x "$bench/echo-st" ]; then
	add st "State Threads 1.9" "$bench/echo-st"
else
	skipped+=("skipped: State Threads (libst-dev not installed)")
fi
if command -v go >/dev/null; then
	# Offline and self-contained: the cache and GOPATH in the build
	# directory, no proxy, no toolchain switch, no module.
	mkdir -p "$bench/go"
	if (cd "$bench/go" && env GOCACHE="$bench/go/cache" GOPATH="$bench/go/path" \
		GOTOOLCHAIN=local GOPROXY=off GOFLAGS= GO111MODULE=off \
		go build -o "$bench/go/echo-go" "$root/bench/echo-go/echo.go") \
		>"$work/go-build.log" 2>&1; then
		add go "Go $(go env GOVERSION) net, GOMAXPROCS=1" "env GOMAXPROCS=1 $bench/go/echo-go"
	else
		skipped+=("skipped: Go (go build failed: $(head -1 "$work/go-build.log"))")
	fi
else
	skipped+=("skipped: Go (golang-go not installed)")
fi

if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	pin_srv="taskset -c 0" pin_gen="taskset -c 1"
	pinning="server pinned to CPU 0, load generator to CPU 1 (taskset)"
else
	pin_srv="" pin_gen=""
	pinning="UNPINNED: $(nproc) CPU(s) (or no taskset): server and generator share the machine"
fi
echo "$pinning"
for s in "${skipped[@]}"; do echo "$s"; done
for s in "${names[@]}"; do printf '%s\t%s\n' "$s" "${label[$s]}"; done >"$work/labels"

# start NAME: a fresh server; sets srv_pid and port.
start() {
	local i
	: >"$work/srv.out"
	# taskset and env exec the server: $! is the server's own pid.
	$pin_srv ${cmd[$1]} 0 >"$work/srv.out" 2>>"$work/srv.$1.err" &
	srv_pid=$!
	for ((i = 0; i < 100; i++)); do
		if grep -q '^listening on' "$work/srv.out"; then
			port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/srv.out" | head -1)
			return 0
		fi
		sleep 0.05
	done
	echo "server $1 did not start" >&2
	stop
	return 1
}
stop() {
	kill -TERM "$srv_pid" 2>/dev/null
	wait "$srv_pid" 2>/dev/null
	srv_pid=
}

# B-10: rounds, the servers in a rotated order each round.
n=${#names[@]}
for ((r = 0; r < rounds; r++)); do
	for c in "${conns[@]}"; do
		for ((k = 0; k < n; k++)); do
			s=${names[$(((k + r) % n))]}
			start "$s" || continue
			if ! $pin_gen "$bench/echo-load" -c "$c" -d "$secs" -w 0.5 -p "$srv_pid" "$port" \
				>"$work/res.$s.$c.$r" 2>"$work/err.$s.$c.$r"; then
				echo "round $r, $s, $c connections: $(cat "$work/err.$s.$c.$r")" >&2
				rm -f "$work/res.$s.$c.$r"
			fi
			stop
		done
	done
done

# Syscalls per request at 1 connection.
events=raw_syscalls:sys_enter
for e in read write recvfrom sendto readv writev epoll_wait epoll_pwait epoll_pwait2 \
	epoll_ctl poll ppoll select pselect6 futex nanosleep clock_nanosleep sched_yield \
	getsockopt accept4 rt_sigreturn tgkill getpid madvise mmap munmap; do
	events+=",syscalls:sys_enter_$e"
done
if perf stat -x, -e raw_syscalls:sys_enter -- true >/dev/null 2>&1; then
	counter=perf
	how="perf stat -e 'raw_syscalls:sys_enter,syscalls:sys_enter_*' (and read EAGAIN: syscalls:sys_exit_read with --filter 'ret == -11') -p SERVER_PID, over one ${secs} s run of the generator (+0.5 s warm-up), divided by the echoes completed in that run"
elif command -v strace >/dev/null; then
	counter=strace
	how="strace -c -f -p SERVER_PID over one run of the generator (slows the server; the counts per request stand), divided by the echoes completed in that run"
else
	counter=none
	how="not counted: neither perf nor strace is installed"
fi
echo "$how" >"$work/how"
for c in 1 100; do
	for s in "${names[@]}"; do
		[ "$counter" = none ] && break
		start "$s" || continue
		if [ "$counter" = perf ]; then
			perf stat -x, -o "$work/sys.$s.$c" -e "$events" -e syscalls:sys_exit_read \
				--filter 'ret == -11' -e context-switches -p "$srv_pid" &
		else
			strace -c -f -o "$work/sys.$s.$c" -p "$srv_pid" 2>/dev/null &
		fi
		cpid=$!
		sleep 0.5
		$pin_gen "$bench/echo-load" -c "$c" -d "$secs" -w 0.5 "$port" >"$work/sysres.$s.$c" 2>&1
		kill -INT "$cpid"
		wait "$cpid" 2>/dev/null
		stop
	done
done

python3 - "$work" "$rounds" "$secs" "$counter" "${names[@]}" <<'PY' || exit 1
import os, re, statistics, sys
work, rounds, secs, counter = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
names = sys.argv[5:]
labels = {}
for line in open(f'{work}/labels'):
    k, v = line.rstrip('\n').split('\t')
    labels[k] = v
conns = [1, 100, 1000]

def parse(path):
    try:
        return {k: float(v) for k, v in re.findall(r'(\w+)=([0-9.]+)', open(path).read())}
    except (OSError, ValueError):
        return None

def med(v):
    return statistics.median(v) if v else float('nan')

print()
print(f'## B-10: echo on loopback, 64-byte messages, one server thread')
print()
print(f'Medians of {rounds} interleaved rounds of {secs} s each (fresh server per run); '
      '"vs epoll" is the median of the per-round ratios; CPU/req is the server\'s CPU '
      'time (all its threads) per request; busy is CPU time over wall time of the '
      'server and of the load generator (1.00: that side is the bottleneck).')
print()
print('| conns | server | requests/s | vs epoll | p50 µs | p99 µs | server CPU µs/req | CPU/req vs epoll | server busy | generator busy | runs |')
print('|---|---|---|---|---|---|---|---|---|---|---|')
for c in conns:
    for s in names:
        runs, ratios, cratios = [], [], []
        for r in range(rounds):
            x = parse(f'{work}/res.{s}.{c}.{r}')
            if not x:
                continue
            runs.append(x)
            e = parse(f'{work}/res.epoll.{c}.{r}')
            if e and e.get('rps'):
                ratios.append(x['rps'] / e['rps'])
                if e.get('server_cpu_us') and 'server_cpu_us' in x:
                    cratios.append(x['server_cpu_us'] / e['server_cpu_us'])
        if not runs:
            print(f'| {c} | {labels[s]} | failed | | | | | | | | 0 |')
            continue
        g = lambda k: med([x[k] for x in runs if k in x])
        print(f'| {c} | {labels[s]} | {g("rps"):,.0f} | {med(ratios):.2f}x | {g("p50_us"):.1f} | '
              f'{g("p99_us"):.1f} | {g("server_cpu_us"):.2f} | {med(cratios):.2f}x | '
              f'{g("server_busy"):.2f} | {g("load_busy"):.2f} | {len(runs)} |')

print()
print('## B-10: system calls per request (1 connection: the figure asked for; 100: where the throughput goes)')
print()
print(open(f'{work}/how').read().strip())
print()
print('| conns | server | syscalls/req | context switches/req | breakdown per request (>= 0.01) |')
print('|---|---|---|---|---|')
for c, s in [(c, s) for c in (1, 100) for s in names]:
    res = parse(f'{work}/sysres.{s}.{c}')
    if not res or not res.get('total') or not os.path.exists(f'{work}/sys.{s}.{c}'):
        print(f'| {c} | {labels[s]} | n/a | | |')
        continue
    total = res['total']
    counts, cs, all_ = {}, None, None
    if counter == 'perf':
        for line in open(f'{work}/sys.{s}.{c}'):
            f = line.strip().split(',')
            if len(f) < 3 or not f[0].replace('.', '').isdigit():
                continue
            v, ev = float(f[0]), f[2]
            if ev == 'raw_syscalls:sys_enter':
                all_ = v
            elif ev == 'context-switches':
                cs = v
            elif ev == 'syscalls:sys_exit_read':
                counts['(read EAGAIN)'] = v
            elif ev.startswith('syscalls:sys_enter_'):
                counts[ev[len('syscalls:sys_enter_'):]] = v
        if all_ is not None:
            named = sum(v for k, v in counts.items() if not k.startswith('('))
            counts['other'] = all_ - named
    else:
        for line in open(f'{work}/sys.{s}.{c}'):
            m = re.match(r'\s*[0-9.]+\s+[0-9.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$', line)
            if m and m.group(2) != 'total':
                counts[m.group(2)] = float(m.group(1))
        all_ = sum(counts.values())
    parts = ', '.join(f'{k} {v / total:.2f}' for k, v in
                      sorted(counts.items(), key=lambda kv: -kv[1]) if v / total >= 0.01)
    cstext = f'{cs / total:.2f}' if cs is not None else ''
    print(f'| {c} | {labels[s]} | {all_ / total:.2f} | {cstext} | {parts} |')
PY

# What the servers said on stderr beyond their usual lines: errors of a
# connection, say.
for s in "${names[@]}"; do
	[ -f "$work/srv.$s.err" ] || continue
	grep -v -e 'shutting down$' -e 'connections served' -e '^echo-st: event system' \
		"$work/srv.$s.err" | sort | uniq -c | sed "s/^/server $s stderr: /"
done

idle_s=${IDLE_SECONDS:-10} churn_s=${CHURN_SECONDS:-5}
if [ "$idle_s" != 0 ]; then
	echo
	echo "## B-14: idle context (bench/idle --seconds $idle_s)"
	echo
	# 10,000 fds in idle and 10,000 in the child holding the other
	# ends: each raises its soft limit to what it needs (up to the hard
	# one); as root, try to make room above that too.
	ulimit -n 30000 2>/dev/null || ulimit -Sn "$(ulimit -Hn)" 2>/dev/null
	for m in "" --cache; do
		echo '```'
		"$bench/idle" --seconds "$idle_s" $m 2>&1
		echo '```'
	done
fi
if [ "$churn_s" != 0 ]; then
	echo
	echo "## B-15: accept + coop_fd_close churn (bench/churn --seconds $churn_s)"
	echo
	for m in "" --cache; do
		echo '```'
		"$bench/churn" --seconds "$churn_s" $m 2>&1
		echo '```'
	done
fi
echo
echo "load at end: $(uptime)"
