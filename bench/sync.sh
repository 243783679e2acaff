#!/bin/bash
# bench/sync.sh BUILDDIR [ROUNDS]: coop 1.1's channels, select, mutex,
# condition variable and semaphore (issue 13's B-4 to B-8) beside
# Boost.Fiber's and Go's, in one run: ROUNDS rounds (default 7), each
# running bench/bench-sync once (coop and Boost.Fiber alternating inside,
# which goes first alternating from round to round) and Go's program
# (bench/sync-go) once, in turn first and second; then a markdown table of
# the medians over the rounds (of per-round differences and ratios for the
# rows that are).  Every program runs pinned to one CPU (taskset, when
# there is one), Go with GOMAXPROCS=1: each is single-threaded.
#
# bench-sync.cc says what each workload does and measures.  The target
# rows give issue 13's budgets in ns, computed from coop's own switch of
# the same round; they are not checked here (the machine is noisy).
#
# BUILDDIR is configured with -Dbench=true (and -Dbuildtype=release, for
# figures worth quoting).  Boost.Fiber (libboost-fiber-dev) and Go
# (golang-go) are optional: a missing peer is reported and its column says
# n/a.  Go's program is built here, offline, into BUILDDIR/bench/go: its
# build cache there, no module, no proxy, no toolchain download.  A
# default run takes about a minute.
set -uo pipefail

build=$(cd "${1:?usage: bench/sync.sh BUILDDIR [ROUNDS]}" && pwd) || exit 2
rounds=${2:-7}
root=$(cd "$(dirname "$0")/.." && pwd)
bench=$build/bench
work=$(mktemp -d /tmp/coop-sync.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "# coop synchronization benchmarks: bench/sync.sh $* ($(date -u '+%Y-%m-%d %H:%M UTC'))"
echo
echo "load at start: $(uptime)"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) CPUs; kernel $(uname -r)"

if [ ! -x "$bench/bench-sync" ]; then
	echo "bench/bench-sync missing: configure $1 with -Dbench=true" >&2
	exit 1
fi

skipped=()
have_go=
if command -v go >/dev/null; then
	# Offline and self-contained, as echo.sh builds its server.
	mkdir -p "$bench/go"
	if (cd "$bench/go" && env GOCACHE="$bench/go/cache" GOPATH="$bench/go/path" \
		GOTOOLCHAIN=local GOPROXY=off GOFLAGS= GO111MODULE=off \
		go build -o "$bench/go/sync-go" "$root/bench/sync-go/sync.go") \
		>"$work/go-build.log" 2>&1; then
		have_go=1
	else
		skipped+=("skipped: Go (go build failed: $(head -1 "$work/go-build.log"))")
	fi
else
	skipped+=("skipped: Go (golang-go not installed)")
fi

cpu=$(($(nproc) - 1))
if command -v taskset >/dev/null; then
	pin="taskset -c $cpu"
	echo "every program pinned to CPU $cpu (taskset); Go with GOMAXPROCS=1"
else
	pin=""
	echo "UNPINNED (no taskset); Go with GOMAXPROCS=1"
fi
for s in "${skipped[@]}"; do echo "$s"; done

run_coop() {
	local first=
	[ $(($1 % 2)) = 1 ] && first=--boost-first
	$pin "$bench/bench-sync" --raw --reps 1 $first >"$work/coop.$1" 2>>"$work/coop.err" ||
		echo "round $1: bench-sync failed: $(tail -1 "$work/coop.err")" >&2
}
run_go() {
	[ -n "$have_go" ] || return 0
	env GOMAXPROCS=1 $pin "$bench/go/sync-go" >"$work/go.$1" 2>>"$work/go.err" ||
		echo "round $1: sync-go failed: $(tail -1 "$work/go.err")" >&2
}
for ((r = 0; r < rounds; r++)); do
	if [ $((r % 2)) = 0 ]; then
		run_coop "$r"
		run_go "$r"
	else
		run_go "$r"
		run_coop "$r"
	fi
done

python3 - "$work" "$rounds" <<'PY' || { echo "bench/sync.sh: the table's python3 failed" >&2; exit 1; }
import math, os, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
IMPLS = ['coop', 'boost', 'go']
NAMES = {'coop': 'coop', 'boost': 'Boost.Fiber', 'go': 'Go'}

# res[round][impl][key] = value; versions from the raw "version" lines.
res, version = [], {}
for r in range(rounds):
    d = {i: {} for i in IMPLS}
    for f in (f'{work}/coop.{r}', f'{work}/go.{r}'):
        if not os.path.exists(f):
            continue
        for line in open(f):
            p = line.split()
            if len(p) != 4 or p[0] != 'raw':
                continue
            if p[1] == 'version':
                version[p[2]] = p[3]
            elif p[1] == 'gomaxprocs':
                version['gomaxprocs'] = p[3]
            else:
                d[p[2]][p[1]] = float(p[3])
    res.append(d)

def med(v):
    v = [x for x in v if x is not None and not math.isnan(x)]
    return (statistics.median(v), len(v)) if v else (None, 0)

def series(impl, key, sub=0):
    """Per-round values of key, minus sub times the round's switch."""
    out = []
    for d in res:
        x = d[impl].get(key)
        if x is not None and sub:
            s = d[impl].get('sw')
            x = None if s is None else x - sub * s
        out.append(x)
    return out

def time_ratio(key, peer, rate):
    """Per-round coop time over peer time (for rates: peer rate over coop's)."""
    out = []
    for d in res:
        c, p = d['coop'].get(key), d[peer].get(key)
        if c and p:
            out.append(p / c if rate else c / p)
    return med(out)[0]

def fmt(v, f):
    return 'n/a' if v is None else format(v, f)

if version.get('boost', 'none') == 'none':
    print('skipped: Boost.Fiber (bench-sync was built without it: install libboost-fiber-dev '
          'and reconfigure)')
print()
print('coop ' + version.get('coop', '?') + ', Boost.Fiber ' + version.get('boost', 'none') +
      ', Go ' + (version.get('go', 'none') + ' (GOMAXPROCS=' + version.get('gomaxprocs', '?') + ')'
                 if 'go' in version else 'none'))
print()
print(f'Medians of {rounds} interleaved rounds.  ns rows: lower is better; Mmsg/s rows: '
      'higher is better.  "coop/X time" is the median of the per-round ratios of coop\'s '
      'time to X\'s (per operation; for the rates, per message): below 1, coop is faster.  '
      '"- N switches" rows subtract N times the same implementation\'s switch of the '
      'same round (Go\'s "switch" is runtime.Gosched).')
print()
ROWS = [
    # label, key, format, switches to subtract, rate, ratio
    ('switch: two tasks yielding, one function (ns)', 'sw', '.1f', 0, False, True),
    ('switch: the two tasks in two functions (ns)', 'sw.2fn', '.1f', 0, False, True),
    ('B-4 unbuffered ping-pong, round trip (ns)', 'b4.rt', '.1f', 0, False, True),
    ('B-4 round trip - 2 switches (ns)', 'b4.rt', '.1f', 2, False, False),
    ('B-4 the same, both tasks in one function (ns)', 'b4.sym', '.1f', 0, False, True),
    ('B-4 one function - 2 switches (ns)', 'b4.sym', '.1f', 2, False, False),
    ('B-5 cap 1024, 8 B, 1->1 (Mmsg/s)', 'b5.8.1', '.1f', 0, True, True),
    ('B-5 cap 1024, 8 B, 4->4 (Mmsg/s)', 'b5.8.4', '.1f', 0, True, True),
    ('B-5 cap 1024, 64 B, 1->1 (Mmsg/s)', 'b5.64.1', '.1f', 0, True, True),
    ('B-5 cap 1024, 64 B, 4->4 (Mmsg/s)', 'b5.64.4', '.1f', 0, True, True),
    ('B-6 select over 4, the last ready (ns)', 'b6.ready', '.1f', 0, False, True),
    ('B-6 select over 4, all blocked, woken by a send (ns/round)', 'b6.woken', '.1f', 0, False, True),
    ('B-6 woken round - 2 switches (ns)', 'b6.woken', '.1f', 2, False, False),
    ('B-7 mutex lock + unlock, uncontended (ns)', 'b7.unc', '.1f', 0, False, True),
    ('B-7 2 tasks, lock; unlock (ns/acquisition)', 'b7.lean', '.1f', 0, False, True),
    ('  share of acquisitions that were hand-offs', 'b7.lean.ho', '.3f', 0, False, False),
    ('  ns/acquisition - 1 switch', 'b7.lean', '.1f', 1, False, False),
    ('B-7 2 tasks, lock; yield; unlock; yield (ns/acquisition)', 'b7.alt', '.1f', 0, False, True),
    ('  share of acquisitions that were hand-offs', 'b7.alt.ho', '.3f', 0, False, False),
    ('B-8 condition variable ping-pong, round trip (ns)', 'b8.cv', '.1f', 0, False, True),
    ('B-8 round trip - 2 switches (ns)', 'b8.cv', '.1f', 2, False, False),
    ('B-8 semaphore acquire + release, uncontended (ns)', 'b8.sem', '.1f', 0, False, True),
]
print('| figure | coop | Boost.Fiber | Go | coop/Boost time | coop/Go time | rounds (coop, Boost, Go) |')
print('|---|---|---|---|---|---|---|')
for label, key, f, sub, rate, ratio in ROWS:
    cells, counts = [], []
    for impl in IMPLS:
        m, n = med(series(impl, key, sub))
        cells.append(fmt(m, f))
        counts.append(str(n))
    rb = fmt(time_ratio(key, 'boost', rate), '.2f') + 'x' if ratio else '-'
    rg = fmt(time_ratio(key, 'go', rate), '.2f') + 'x' if ratio else '-'
    rb, rg = rb.replace('n/ax', 'n/a'), rg.replace('n/ax', 'n/a')
    print(f'| {label} | {" | ".join(cells)} | {rb} | {rg} | {", ".join(counts)} |')

# Issue 13's budgets, from coop's switch of each round (not judged here).
print()
print('Issue 13\'s targets for coop, each budget computed per round from that round\'s '
      'coop switch (medians):')
print()
print('| target | budget | coop |')
print('|---|---|---|')
def budget(k, extra, sw='sw'):
    return med([None if s is None else k * s + extra for s in series('coop', sw)])[0]
boost_rt = med(series('boost', 'b4.rt'))[0]
T = [
    ('B-4 round trip <= 2 switches + 10 ns', budget(2, 10), med(series('coop', 'b4.rt'))[0]),
    ('  the same, switches of two functions (as ping and pong are)', budget(2, 10, 'sw.2fn'),
     med(series('coop', 'b4.rt'))[0]),
    ('  the same, the round trip of one function (b4.sym)', budget(2, 10),
     med(series('coop', 'b4.sym'))[0]),
    ('B-4 round trip <= 0.5x Boost.Fiber\'s', None if boost_rt is None else 0.5 * boost_rt,
     med(series('coop', 'b4.rt'))[0]),
    ('B-6 select, one ready <= 60 ns', 60.0, med(series('coop', 'b6.ready'))[0]),
    ('B-6 select, woken <= switch + 50 ns (the round: the sender\'s send and yield too)',
     budget(1, 50), med(series('coop', 'b6.woken'))[0]),
    ('B-7 uncontended lock + unlock <= 5 ns', 5.0, med(series('coop', 'b7.unc'))[0]),
    ('B-7 hand-off <= 1 switch + 5 ns', budget(1, 5), med(series('coop', 'b7.lean'))[0]),
    ('B-8 cond ping-pong <= 2 switches + 10 ns', budget(2, 10), med(series('coop', 'b8.cv'))[0]),
    ('B-8 semaphore acquire + release <= 5 ns', 5.0, med(series('coop', 'b8.sem'))[0]),
]
for label, b, c in T:
    print(f'| {label} | {fmt(b, ".1f")} | {fmt(c, ".1f")} |')

print()
print('Notes:')
print('- Boost.Fiber has no select (B-6) and no semaphore (B-8): n/a.  Its buffered_channel '
      'of capacity 1024 holds 1023 elements.')
print('- Go has no semaphore in its standard library: its B-8 semaphore row is a buffered '
      'channel of struct{} of capacity 1 (send to acquire, receive to release).')
print('- B-7 "lock; unlock": coop hands the mutex to the waiting task (FIFO, no barging), so '
      'every acquisition is a hand-off and costs one switch; Boost.Fiber\'s and Go\'s mutexes '
      'let the unlocker take it again (hand-off share near 0): their figure there is no '
      'hand-off.  "lock; yield; unlock; yield" makes every implementation alternate (about '
      '3 switches per acquisition in coop).')
print('- "switch" is two tasks of one function yielding: each switch returns to the call site '
      'the CPU predicts.  Between tasks of two functions (ping and pong of B-4, the selector and '
      'the sender of B-6 woken) every switch ends in a mispredicted return: "two functions" '
      'shows that switch, and B-4 "one function" the round trip without it.')
print('- coop\'s budget (R7): every 128th operation in a row that completes without waiting '
      'yields (B-5, B-6 ready, B-7 and B-8 uncontended pay it; alone, the task just goes on).')
PY

for f in "$work/coop.err" "$work/go.err"; do
	[ -s "$f" ] && sort "$f" | uniq -c | sed "s/^/stderr: /"
done
echo
echo "load at end: $(uptime)"
