#!/bin/bash
# bench/compare.sh REV [ROUNDS]: coop before (git revision REV) and after
# (the working tree), side by side in one run.  Builds both libraries
# (release), then runs the bench binaries ROUNDS times (default 7) against
# each library in turn, interleaved (LD_LIBRARY_PATH picks it), and prints
# the medians of coop's figures as a markdown table: bench (C++, the C++
# runtime loaded) and bench-c (a C program, none), one repetition each.
set -euo pipefail

rev=${1:?usage: bench/compare.sh REV [ROUNDS]}
rounds=${2:-7}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/coop-compare.XXXXXX)
trap 'rm -rf "$work"' EXIT

git -C "$root" archive "$rev" | tar -xf - -C "$work" --one-top-level=before
meson setup "$work/b-before" "$work/before" -Dbuildtype=release -Dtests=disabled \
	-Dexamples=false >/dev/null
ninja -C "$work/b-before" >/dev/null
meson setup "$work/b-after" "$root" -Dbuildtype=release -Dtests=disabled \
	-Dexamples=false -Dbench=true >/dev/null
ninja -C "$work/b-after" >/dev/null

# One repetition per run; the million-task row at 100,000 to keep it short.
for ((i = 0; i < rounds; i++)); do
	for side in before after; do
		LD_LIBRARY_PATH="$work/b-$side" "$work/b-after/bench/bench" --reps 1 --million 100000 \
			>"$work/$side.$i"
		LD_LIBRARY_PATH="$work/b-$side" "$work/b-after/bench/bench-c" --reps 1 \
			>>"$work/$side.$i"
	done
done

echo "| coop, median of $rounds interleaved runs | before ($rev) | after | after/before |"
echo "|---|---|---|---|"
python3 - "$work" "$rounds" <<'PY'
import re, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
vals, order = {}, []
for side in ('before', 'after'):
    for i in range(rounds):
        for line in open(f'{work}/{side}.{i}'):
            m = re.match(r'\| ((?:switch|spawn|ring)[^|]*?) +\| +([0-9.]+)', line)
            rows = [(m.group(1), float(m.group(2)))] if m else []
            m = re.search(r'spawned (\d+), (\d+) ns per spawn, (\d+) bytes', line)
            if m:
                rows = [('tasks spawned of 100,000 (default limits)', float(m.group(1))),
                        ('spawn among 100k live (ns)', float(m.group(2))),
                        ('memory per live task (bytes)', float(m.group(3)))]
            for name, v in rows:
                if name not in order:
                    order.append(name)
                vals.setdefault((side, name), []).append(v)
for name in order:
    b = statistics.median(vals.get(('before', name), [float('nan')]))
    a = statistics.median(vals[('after', name)])
    ratio = f'{a / b:.2f}x' if b else '-'
    print(f'| {name} | {b:.1f} | {a:.1f} | {ratio} |')
PY
