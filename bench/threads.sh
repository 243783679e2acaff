#!/bin/bash
# bench/threads.sh BUILDDIR [ROUNDS]: coop 1.1's threads and embedding
# (issue 14's B-11, B-12 and B-13, bench/bench-threads.c says what each
# measures) beside libuv's uv_async_send and uv_queue_work, and the echo
# benchmark of part 2 (bench/echo-load against the server) with
# examples/threads on both cores against Go's net with GOMAXPROCS=2
# (and examples/threads --threads 1: what the second thread buys), in
# one run: ROUNDS rounds (default 5), each running every bench-threads
# workload in a process of its own (the workloads in a different order
# each round) and every echo server at every connection count (a fresh
# server each time, in a different order each round); then markdown
# tables of the medians over the rounds (of the per-round differences and
# ratios for the rows that are), and issue 14's targets, each said met or
# not.
#
# Pinning: bench-threads pins its own threads (in B-11 the context's
# thread on one CPU and the other threads on the rest; B-13 on one CPU;
# B-12 unpinned, pool threads inherit their creator's CPUs).  The echo
# servers use both cores and so does the load generator: on a 2-CPU
# machine nothing is pinned there and the generator takes CPU from the
# server (the table gives both sides' CPU use).
#
# BUILDDIR is configured with -Dbench=true (and -Dbuildtype=release, for
# figures worth quoting).  libuv (libuv1-dev), GLib (libglib2.0-dev), Go
# (golang-go) and examples/threads are optional: a missing one is
# reported and its cells say n/a.  Go's server is built here, offline,
# into BUILDDIR/bench/go, as echo.sh builds it.  ECHO_SECONDS (default 2)
# is the length of each echo run, ECHO_CONNS (default "1 100 1000") the
# connection counts; ECHO=0 skips the echo part.  A default run takes
# about 3 minutes on 2 idle CPUs, 5 when other work takes half of them.
set -uo pipefail

build=$(cd "${1:?usage: bench/threads.sh BUILDDIR [ROUNDS]}" && pwd) || exit 2
rounds=${2:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
bench=$build/bench
echo_s=${ECHO_SECONDS:-2}
read -r -a conns <<<"${ECHO_CONNS:-1 100 1000}"
work=$(mktemp -d /tmp/coop-threads.XXXXXX)
srv_pid=

cleanup() {
	[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

echo "# coop threads and embedding benchmarks: bench/threads.sh $* ($(date -u '+%Y-%m-%d %H:%M UTC'))"
echo
echo "load at start: $(uptime)"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) CPUs; kernel $(uname -r)"
# Other work on the machine shows in every figure here (wake-ups wait for
# a CPU): say so rather than let the table look clean.
busy_warning() {
	local load
	read -r load _ </proc/loadavg
	if awk -v l="$load" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
		echo "WARNING: load average $load on $(nproc) CPUs $1: other work shares the machine, absolute figures are unreliable (compare within a round)"
	fi
}
busy_warning "at start"

if [ ! -x "$bench/bench-threads" ]; then
	echo "bench/bench-threads missing: configure $1 with -Dbench=true" >&2
	exit 1
fi

# The echo servers: name, label, command (the port is appended).
names=() skipped=()
declare -A cmd label
add() { names+=("$1"); label[$1]=$2; cmd[$1]=$3; }
if [ "${ECHO:-1}" != 0 ]; then
	if [ ! -x "$bench/echo-load" ]; then
		skipped+=("skipped: the echo part (bench/echo-load not built)")
	else
		if [ -x "$build/examples/threads" ]; then
			add threads2 "coop examples/threads --threads 2" "$build/examples/threads --threads 2"
			add threads1 "coop examples/threads --threads 1" "$build/examples/threads --threads 1"
		else
			skipped+=("skipped: coop's echo (examples/threads not built)")
		fi
		if command -v go >/dev/null; then
			mkdir -p "$bench/go"
			if (cd "$bench/go" && env GOCACHE="$bench/go/cache" GOPATH="$bench/go/path" \
				GOTOOLCHAIN=local GOPROXY=off GOFLAGS= GO111MODULE=off \
				go build -o "$bench/go/echo-go" "$root/bench/echo-go/echo.go") \
				>"$work/go-build.log" 2>&1; then
				add go2 "Go $(go env GOVERSION) net, GOMAXPROCS=2" "env GOMAXPROCS=2 $bench/go/echo-go"
			else
				skipped+=("skipped: Go (go build failed: $(head -1 "$work/go-build.log"))")
			fi
		else
			skipped+=("skipped: Go (golang-go not installed)")
		fi
	fi
fi
if [ "$(nproc)" -ge 2 ]; then
	echo "bench-threads pins its threads itself (B-11: the context on the first CPU, the other threads on the rest; B-13: the last CPU; B-12 unpinned)"
else
	echo "one CPU: bench-threads runs unpinned"
fi
if [ ${#names[@]} -gt 0 ]; then
	echo "echo: servers and the load generator UNPINNED, sharing the machine's $(nproc) CPUs (the servers use 2 threads; the generator's CPU use is in the table)"
fi
for s in "${skipped[@]}"; do echo "$s"; done
for s in "${names[@]}"; do printf '%s\t%s\n' "$s" "${label[$s]}"; done >"$work/labels"

# start NAME: a fresh server; sets srv_pid and port.
start() {
	local i
	: >"$work/srv.out"
	${cmd[$1]} 0 >"$work/srv.out" 2>>"$work/srv.$1.err" &
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

workloads=(post1 post4 sig1 sig4 lat offload embed)
nw=${#workloads[@]} ns=${#names[@]}
for ((r = 0; r < rounds; r++)); do
	for ((k = 0; k < nw; k++)); do
		w=${workloads[$(((k + r) % nw))]}
		if ! "$bench/bench-threads" --raw "$w" >"$work/bt.$w.$r" 2>>"$work/bt.err"; then
			echo "round $r: bench-threads $w failed: $(tail -1 "$work/bt.err")" >&2
		fi
	done
	for c in "${conns[@]}"; do
		for ((k = 0; k < ns; k++)); do
			s=${names[$(((k + r) % ns))]}
			start "$s" || continue
			if ! "$bench/echo-load" -c "$c" -d "$echo_s" -w 0.5 -p "$srv_pid" "$port" \
				>"$work/echo.$s.$c.$r" 2>"$work/echoerr.$s.$c.$r"; then
				echo "round $r, $s, $c connections: $(cat "$work/echoerr.$s.$c.$r")" >&2
				rm -f "$work/echo.$s.$c.$r"
			fi
			stop
		done
	done
done

python3 - "$work" "$rounds" "$echo_s" "${#names[@]}" "${names[@]}" "${conns[@]}" <<'PY' ||
import glob, math, os, re, statistics, sys
work, rounds, echo_s = sys.argv[1], int(sys.argv[2]), sys.argv[3]
nn = int(sys.argv[4])
names, conns = sys.argv[5:5 + nn], [int(c) for c in sys.argv[5 + nn:]]
IMPLS = ['coop', 'libuv', 'plain']

# res[round][impl][key]
res, version = [{i: {} for i in IMPLS} for _ in range(rounds)], {}
for path in glob.glob(f'{work}/bt.*.*'):
    r = int(path.rsplit('.', 1)[1])
    for line in open(path):
        p = line.split()
        if len(p) != 4 or p[0] != 'raw':
            continue
        if p[1] == 'version':
            version[p[2]] = p[3]
        elif p[1] == 'cpus':
            version['pinned'] = p[3]
        elif p[2] in IMPLS:
            res[r][p[2]][p[1]] = float(p[3])

def med(v):
    v = [x for x in v if x is not None and not math.isnan(x)]
    return (statistics.median(v), len(v)) if v else (None, 0)

def series(impl, key):
    return [d[impl].get(key) for d in res]

def m(impl, key):
    return med(series(impl, key))[0]

def diff(key_a, key_b, impl='coop'):
    """Per-round a - b, median."""
    out = []
    for d in res:
        a, b = d[impl].get(key_a), d[impl].get(key_b)
        if a is not None and b is not None:
            out.append(a - b)
    return med(out)[0]

def ratio(key, rate):
    """Median per-round coop / libuv (for rates, libuv / coop: below 1, coop is better)."""
    out = []
    for d in res:
        c, u = d['coop'].get(key), d['libuv'].get(key)
        if c and u:
            out.append(u / c if rate else c / u)
    return med(out)[0]

def fmt(v, f):
    return 'n/a' if v is None else format(v, f)

have_uv = version.get('libuv', 'none') != 'none'
have_glib = version.get('glib', 'none') != 'none'
if not have_uv:
    print('skipped: libuv (bench-threads was built without it: install libuv1-dev and reconfigure)')
if not have_glib:
    print('skipped: GLib (bench-threads was built without it: install libglib2.0-dev and reconfigure)')
print()
print(f'coop {version.get("coop", "?")}, libuv {version.get("libuv", "none")}, '
      f'GLib {version.get("glib", "none")}; bench-threads pinned: '
      + ('yes' if version.get('pinned', '0') != '0' else 'no (one CPU)'))
print()
print(f'## B-11, B-12, B-13 (bench/bench-threads)')
print()
print(f'Medians of {rounds} interleaved rounds (one process per workload and round).  '
      '"coop/libuv" is the median of the per-round ratios of coop\'s time to libuv\'s '
      '(for the rates: per message or job): below 1, coop is faster.  libuv\'s "posts" are '
      'what libuv users write for messages, since uv_async_send coalesces: a malloc\'d node '
      'on a mutex-protected list + uv_async_send; its "coalescing sends" are bare '
      'uv_async_send against coop_notify_send.  "plain" is the floor of a wake-up: two '
      'threads, no library, a read(2) blocked on an eventfd that the other writes.  '
      'Wake-ups: "asleep" the sender on another CPU than the sleeping context, "same CPU" '
      'on its CPU, "busy" on another CPU while two tasks yield.')
print()
ROWS = [
    # label, key, format, rate (ratio direction; None: no ratio)
    ('B-11 posts from 1 thread, context busy: posted (M/s)', 'b11.post1.send', '.2f', True),
    ('  delivered: callbacks run (M/s)', 'b11.post1.run', '.2f', True),
    ('B-11 posts from 4 threads, context busy: posted (M/s)', 'b11.post4.send', '.2f', True),
    ('  delivered: callbacks run (M/s)', 'b11.post4.run', '.2f', True),
    ('  callbacks out of their thread\'s order (1 and 4 threads, all rounds)', None, None, None),
    ('B-11 coalescing sends from 1 thread, context busy (M/s)', 'b11.sig1.send', '.2f', True),
    ('  counts received by the waiting task (M/s)', 'b11.sig1.run', '.2f', None),
    ('  wake-ups (waits returned; libuv: callbacks) per 1,000 sends', 'b11.sig1.wakes', '.2f', None),
    ('B-11 coalescing sends from 4 threads, context busy (M/s)', 'b11.sig4.send', '.2f', True),
    ('  counts received by the waiting task (M/s)', 'b11.sig4.run', '.2f', None),
    ('  wake-ups per 1,000 sends', 'b11.sig4.wakes', '.2f', None),
]
for mode, mlabel in (('asleep', 'context asleep, sender on another CPU'),
                     ('same', 'context asleep, sender on the same CPU'),
                     ('busy', 'context busy, sender on another CPU')):
    ROWS += [
        (f'B-11 wake-up, {mlabel}: notify (libuv: uv_async_send), p50 (µs)',
         f'b11.lat.notify.{mode}.p50', '.1f', False),
        ('  p99 (µs)', f'b11.lat.notify.{mode}.p99', '.1f', False),
        ('  post + channel (libuv: list + uv_async_send), p50 (µs)',
         f'b11.lat.post.{mode}.p50', '.1f', False),
        ('  p99 (µs)', f'b11.lat.post.{mode}.p99', '.1f', False),
    ]
ROWS += [
    ('B-12 offload of an empty function, warm pool (libuv: uv_queue_work): p50 (µs)', 'b12.rt.p50', '.1f', False),
    ('  p99 (µs)', 'b12.rt.p99', '.1f', False),
    ('  threads created during the timed offloads (largest of the rounds)', 'b12.rt.created', 'max', None),
    ('  threads created during the warm-up (the count sees the pool\'s)', 'b12.rt.warm', '.0f', None),
    ('B-12 the 10 µs job, run alone (µs)', 'b12.job', '.2f', None),
    ('B-12 64 tasks offloading 10 µs jobs, default pool (libuv: its 4 threads) (thousand jobs/s)', 'b12.jobs', '.1f', True),
    ('  threads created during the window (largest of the rounds)', 'b12.jobs.created', 'max', None),
    ('  threads created during the warm-up', 'b12.jobs.warm', '.0f', None),
    ('  threads the library added, at the end of the window', 'b12.jobs.threads', '.0f', None),
    ('B-12 the same on a pool of max_threads = CPUs (thousand jobs/s)', 'b12.jobs.cpus', '.1f', None),
    ('  threads created during the window (largest of the rounds)', 'b12.jobs.cpus.created', 'max', None),
    ('B-13 ping-pong round trip under coop_run (ns)', 'b13.run', '.1f', None),
    ('B-13 the same under a bare coop_run_once(ctx, 0) loop (ns)', 'b13.once', '.1f', None),
    ('  rounds (coop_run_once calls) per round trip', 'b13.once.rounds', '.2f', None),
    ('B-13 the same under a GLib main loop, g_unix_fd_add + coop_run_once (ns)', 'b13.glib', '.1f', None),
    ('  rounds (callbacks) per round trip', 'b13.glib.rounds', '.2f', None),
    ('  GLib alone: one iteration dispatching a readable fd, empty callback (ns)', 'b13.glib.iter', '.1f', None),
    ('B-13 the same, the source made recursive: g_source_set_can_recurse (ns)', 'b13.glibrec', '.1f', None),
    ('  GLib alone: one iteration, recursive source (ns)', 'b13.glibrec.iter', '.1f', None),
]
print('| figure | coop | libuv | plain threads | coop/libuv | rounds (coop, libuv, plain) |')
print('|---|---|---|---|---|---|')
for label, key, f, rate in ROWS:
    if key is None:
        cells, counts = [], []
        for impl in IMPLS:
            v = [x for k in ('b11.post1.bad', 'b11.post4.bad') for x in series(impl, k) if x is not None]
            cells.append(fmt(sum(v) if v else None, '.0f'))
            counts.append(str(len(v)))
        print(f'| {label} | {" | ".join(cells)} | - | {", ".join(counts)} |')
        continue
    cells, counts = [], []
    for impl in IMPLS:
        if f == 'max':
            v = [x for x in series(impl, key) if x is not None]
            cells.append(fmt(max(v) if v else None, '.0f'))
            counts.append(str(len(v)))
        else:
            v, n = med(series(impl, key))
            cells.append(fmt(v, f))
            counts.append(str(n))
    rt = '-' if rate is None else fmt(ratio(key, rate), '.2f')
    rt = rt if rt in ('-', 'n/a') else rt + 'x'
    print(f'| {label} | {" | ".join(cells)} | {rt} | {", ".join(counts)} |')
g = diff('b13.glib', 'b13.run')
gr = diff('b13.glibrec', 'b13.run')
o = diff('b13.once', 'b13.run')
print(f'| B-13 GLib - coop_run, per round trip (median of per-round differences) (ns) | {fmt(g, ".1f")} | | | - | |')
print(f'| B-13 GLib, recursive source - coop_run, per round trip (ns) | {fmt(gr, ".1f")} | | | - | |')
print(f'| B-13 coop_run_once loop - coop_run, per round trip (ns) | {fmt(o, ".1f")} | | | - | |')

# Issue 14's targets.
print()
print('Issue 14\'s targets (coop\'s medians; "reference": the floor or the peer that says '
      'what the machine allows):')
print()
print('| target | coop | reference | met |')
print('|---|---|---|---|')
def judge(v, ok):
    return 'n/a' if v is None else ('yes' if ok(v) else 'NO')
created = [x for k in ('b12.rt.created', 'b12.jobs.created') for x in series('coop', k) if x is not None]
lat = lambda w, md: m('coop', f'b11.lat.{w}.{md}.p50')
floor = lambda md: 'plain threads ' + fmt(m('plain', f'b11.lat.notify.{md}.p50'), '.1f')
uvref = lambda k, f: 'libuv ' + fmt(m('libuv', k), f)
T = [
    ('B-11 posts from 1 thread, context busy >= 5 M/s: posted', m('coop', 'b11.post1.send'), '.2f',
     uvref('b11.post1.send', '.2f'), lambda v: v >= 5),
    ('  delivered (callbacks run)', m('coop', 'b11.post1.run'), '.2f',
     uvref('b11.post1.run', '.2f'), lambda v: v >= 5),
    ('B-11 posts from 4 threads, context busy >= 5 M/s: posted', m('coop', 'b11.post4.send'), '.2f',
     uvref('b11.post4.send', '.2f'), lambda v: v >= 5),
    ('  delivered (callbacks run)', m('coop', 'b11.post4.run'), '.2f',
     uvref('b11.post4.run', '.2f'), lambda v: v >= 5),
    ('B-11 wake-up p50 <= 10 µs, context asleep, sender on another CPU: notify',
     lat('notify', 'asleep'), '.1f', floor('asleep'), lambda v: v <= 10),
    ('  post + channel', lat('post', 'asleep'), '.1f', floor('asleep'), lambda v: v <= 10),
    ('B-11 the same, sender on the context\'s CPU: notify', lat('notify', 'same'), '.1f',
     floor('same'), lambda v: v <= 10),
    ('  post + channel', lat('post', 'same'), '.1f', floor('same'), lambda v: v <= 10),
    ('B-12 empty offload round trip p50 <= 10 µs', m('coop', 'b12.rt.p50'), '.1f',
     uvref('b12.rt.p50', '.1f'), lambda v: v <= 10),
    ('B-12 64 tasks x 10 µs jobs >= 100 thousand jobs/s (default pool)', m('coop', 'b12.jobs'), '.1f',
     uvref('b12.jobs', '.1f'), lambda v: v >= 100),
    ('  the same on a pool of max_threads = CPUs', m('coop', 'b12.jobs.cpus'), '.1f', '', lambda v: v >= 100),
    ('B-12 no thread created in steady state (largest count of any round)', max(created) if created else None,
     '.0f', '', lambda v: v == 0),
    ('B-13 GLib <= coop_run + 1 µs per round trip (difference, ns)', g, '.1f',
     'GLib alone: ' + fmt(m('coop', 'b13.glib.iter'), '.0f') + ' ns an iteration', lambda v: v <= 1000),
    ('  with a recursive source (difference, ns)', gr, '.1f',
     'GLib alone: ' + fmt(m('coop', 'b13.glibrec.iter'), '.0f') + ' ns an iteration', lambda v: v <= 1000),
]
for label, v, f, ref, ok in T:
    print(f'| {label} | {fmt(v, f)} | {ref} | {judge(v, ok)} |')

if names:
    labels = dict(l.rstrip('\n').split('\t') for l in open(f'{work}/labels'))
    def parse(path):
        try:
            return {k: float(v) for k, v in re.findall(r'(\w+)=([0-9.]+)', open(path).read())}
        except (OSError, ValueError):
            return None
    def mm(v):
        return statistics.median(v) if v else None
    print()
    print(f'## Echo on loopback, 64-byte messages, both cores (bench/echo-load)')
    print()
    print(f'Medians of {rounds} interleaved rounds of {echo_s} s each (fresh server per run); '
          '"vs Go" is the median of the per-round ratios of requests/s; server CPU is the '
          'server\'s CPU time (all its threads) per request; busy is CPU time over wall time '
          '(2.00: both cores).  Server and load generator are unpinned and share the '
          'machine\'s CPUs: the generator (one thread) takes up to a core from the server.')
    print()
    print('| conns | server | requests/s | vs Go | p50 µs | p99 µs | server CPU µs/req | server busy | generator busy | runs |')
    print('|---|---|---|---|---|---|---|---|---|---|')
    for c in conns:
        for s in names:
            runs, ratios = [], []
            for r in range(rounds):
                x = parse(f'{work}/echo.{s}.{c}.{r}')
                if not x:
                    continue
                runs.append(x)
                gx = parse(f'{work}/echo.go2.{c}.{r}')
                if gx and gx.get('rps'):
                    ratios.append(x['rps'] / gx['rps'])
            if not runs:
                print(f'| {c} | {labels[s]} | failed | | | | | | | 0 |')
                continue
            gv = lambda k: mm([x[k] for x in runs if k in x])
            print(f'| {c} | {labels[s]} | {fmt(gv("rps"), ",.0f")} | '
                  f'{fmt(mm(ratios), ".2f")}x | {fmt(gv("p50_us"), ".1f")} | '
                  f'{fmt(gv("p99_us"), ".1f")} | {fmt(gv("server_cpu_us"), ".2f")} | '
                  f'{fmt(gv("server_busy"), ".2f")} | {fmt(gv("load_busy"), ".2f")} | {len(runs)} |')
PY
	{ echo "bench/threads.sh: the table's python3 failed" >&2; exit 1; }

[ -s "$work/bt.err" ] && sort "$work/bt.err" | uniq -c | sed "s/^/bench-threads stderr: /"
for s in "${names[@]}"; do
	[ -f "$work/srv.$s.err" ] || continue
	grep -v -e 'shutting down' -e 'connections served' -e '^listening' \
		"$work/srv.$s.err" | sort | uniq -c | sed "s/^/server $s stderr: /"
done
echo
echo "load at end: $(uptime)"
busy_warning "at end"
