#!/bin/bash
# test-gdb.sh: the gdb extension (gdb/libcoop-gdb.py) against a live
# process and against a core file of it; run by `meson test gdb`.
#
#   test-gdb.sh TARGET SCRIPT [BACKEND [SANITIZE]]
#
# TARGET is tests/gdb-target (see its comment for the tasks and their
# states when it reaches gdb_target_stop()), SCRIPT the extension's
# source, BACKEND the context switch (asm or ucontext: `coop bt` is
# checked to refuse the latter), SANITIZE meson's b_sanitize.  Builds
# nothing.  Exits 77 (skipped,
# with a message) when gdb is absent, when it cannot run a program here
# (no ptrace), or when libcoop's debug information is missing; the core
# file case alone is skipped when the system sends core dumps elsewhere
# (kernel.core_pattern a pipe or an absolute path) or under a sanitizer.
#
# The core comes from the kernel (the target aborts at the breakpoint's
# place), not from gdb's `gcore`: gcore gives up on a whole mapping at the
# first page it cannot read, and a slab of stacks guarded with
# madvise(MADV_GUARD_INSTALL) (Linux >= 6.13) has such a page in every slot.
set -u

usage="usage: test-gdb.sh TARGET SCRIPT [BACKEND [SANITIZE]]"
target=${1:?$usage}
script=${2:?$usage}
backend=${3:-asm}
sanitize=${4:-none}
# meson gives the target relative to the build directory; the core file
# case runs it from elsewhere.
case $target in /*) ;; *) target=$PWD/$target ;; esac
case $script in /*) ;; *) script=$PWD/$script ;; esac

# Under `meson test --wrapper=valgrind` (as .ci/run does) this shell is
# valgrind's client: skip, by exec, so that valgrind's exit-time leak check
# of bash itself never runs.
case "${LD_PRELOAD:-}" in
*vgpreload*)
	echo "under valgrind: gdb cannot trace a program from here: skipped"
	exec /bin/sh -c 'exit 77'
	;;
esac

if ! command -v gdb >/dev/null 2>&1; then
	echo "gdb not found: skipped (apt-get install gdb)"
	exit 77
fi

# LeakSanitizer cannot run under ptrace: a sanitized target would fail.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/coop-gdb.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
failures=0

# gdb without any init file or auto-loaded script: the one under test is
# sourced explicitly.
run_gdb() { # output-file gdb-args...
	local out=$1
	shift
	timeout 120 gdb -batch -nx -iex 'set auto-load python-scripts off' \
		-iex 'set debuginfod enabled off' -ex "source $script" "$@" >"$out" 2>&1
}

expect() { # what file extended-regex
	if grep -Eq -- "$3" "$2"; then
		echo "ok: $1"
	else
		echo "FAIL: $1: no line matches /$3/ in:"
		sed 's/^/    /' "$2"
		failures=$((failures + 1))
	fi
}

refuse() { # what file extended-regex
	if grep -Eq -- "$3" "$2"; then
		echo "FAIL: $1: a line matches /$3/ in:"
		sed 's/^/    /' "$2"
		failures=$((failures + 1))
	else
		echo "ok: $1"
	fi
}

# The section of a gdb transcript between two marker lines the commands
# echo (`echo @name\n`).
section() { # file name
	sed -n "/^@$2\$/,/^@/p" "$1"
}

# The deadlines of tasks 6 to 8, 10, 13 and 14 (in the listing `part`)
# are 1000, 3000, 2000, 4000, 5000 and 6000 s from when each began to
# wait, a moment apart: their differences from task 6's must be 2000,
# 1000, 3000, 4000 and 5000 s, to the second.
check_deadlines() { # label part
	local times
	times=$(sed -En 's/^ +(6|7|8|10|13|14) +BLOCKED .*(in|until) ([0-9]+)\.[0-9]{3}s.*/\1 \3/p' "$2" |
		sort -n | awk '{ printf "%s ", $2 }')
	if awk -v t="$times" 'BEGIN {
		if (split(t, s, " ") != 6) exit 1
		d7 = s[2] - s[1]; d8 = s[3] - s[1]; d10 = s[4] - s[1]
		d13 = s[5] - s[1]; d14 = s[6] - s[1]
		exit !(d7 >= 1999 && d7 <= 2001 && d8 >= 999 && d8 <= 1001 &&
		       d10 >= 2999 && d10 <= 3001 && d13 >= 3999 && d13 <= 4001 &&
		       d14 >= 4999 && d14 <= 5001) }'; then
		echo "ok: $1: the deadlines of tasks 6 to 8, 10, 13 and 14 are 1000 s apart as set"
	else
		echo "FAIL: $1: the deadlines of tasks 6 to 8, 10, 13 and 14 (s: $times) are not 1000, 3000, 2000, 4000, 5000, 6000 s ahead"
		failures=$((failures + 1))
	fi
}

# The checks every transcript (live or core) must pass.
check_transcript() { # label file
	local label=$1 file=$2 part
	part=$tmp/part
	local group fd chan mutex notify in6 in7 in8 in10 in13 in14
	section "$file" tasks >"$part"
	expect "$label: coop tasks lists 15 tasks" "$part" 'context 0x[0-9a-f]+: 15 tasks'
	expect "$label: task 1 READY sleeper" "$part" '^ +1 +READY +[0-9]+ +"sleeper"'
	expect "$label: task 2 BLOCKED waiter" "$part" '^ +2 +BLOCKED +[0-9]+ +"waiter"'
	expect "$label: task 3 READY spinner" "$part" '^ +3 +READY +[0-9]+ +"spinner"'
	expect "$label: task 4 DONE quitter" "$part" '^ +4 +DONE +[0-9]+ +"quitter" +\(ended\)'
	expect "$label: task 5 RUNNING stopper, marked" "$part" '^\* +5 +RUNNING +[0-9]+ +"stopper"'
	expect "$label: task 6 BLOCKED napper" "$part" '^ +6 +BLOCKED +[0-9]+ +"napper"'
	expect "$label: task 7 BLOCKED grouper" "$part" '^ +7 +BLOCKED +[0-9]+ +"grouper"'
	expect "$label: task 8 BLOCKED stubborn" "$part" '^ +8 +BLOCKED +[0-9]+ +"stubborn"'
	expect "$label: task 9 READY dozer" "$part" '^ +9 +READY +[0-9]+ +"dozer"'
	expect "$label: task 10 BLOCKED reader" "$part" '^ +10 +BLOCKED +[0-9]+ +"reader"'
	expect "$label: task 11 BLOCKED sender" "$part" '^ +11 +BLOCKED +[0-9]+ +"sender"'
	expect "$label: task 12 BLOCKED locker" "$part" '^ +12 +BLOCKED +[0-9]+ +"locker"'
	expect "$label: task 13 BLOCKED listener" "$part" '^ +13 +BLOCKED +[0-9]+ +"listener"'
	expect "$label: task 14 BLOCKED offloader" "$part" '^ +14 +BLOCKED +[0-9]+ +"offloader"'
	expect "$label: task 15 READY newborn" "$part" '^ +15 +READY +[0-9]+ +"newborn"'

	# What the blocked tasks wait for, and until when (every backend):
	# the time left live, the absolute deadline from a core file (no
	# clock), which then says so.
	section "$file" group >"$part.group"
	expect "$label: gdb prints the group's address" "$part.group" '^group=0x[0-9a-f]+$'
	group=$(sed -n 's/^group=//p' "$part.group")
	section "$file" fd >"$part.fd"
	expect "$label: gdb prints the reader's fd" "$part.fd" '^fd=[0-9]+$'
	fd=$(sed -n 's/^fd=//p' "$part.fd")
	section "$file" objects >"$part.objects"
	expect "$label: gdb prints the channel's address" "$part.objects" '^chan=0x[0-9a-f]+$'
	expect "$label: gdb prints the mutex's address" "$part.objects" '^mutex=0x[0-9a-f]+$'
	expect "$label: gdb prints the notifier's address" "$part.objects" '^notify=0x[0-9a-f]+$'
	chan=$(sed -n 's/^chan=//p' "$part.objects")
	mutex=$(sed -n 's/^mutex=//p' "$part.objects")
	notify=$(sed -n 's/^notify=//p' "$part.objects")
	if [ "$label" = core ]; then
		in6='until [0-9]+\.[0-9]{3}s' in7=$in6 in8=$in6 in10=$in6 in13=$in6 in14=$in6
		expect "$label: the listing says its deadlines are absolute" "$part" \
			'15 tasks \(no clock in a core file: `until. gives CLOCK_MONOTONIC deadlines\)$'
	else
		in6='in 9[0-9]{2}\.[0-9]{3}s' in7='in 29[0-9]{2}\.[0-9]{3}s' in8='in 19[0-9]{2}\.[0-9]{3}s'
		in10='in 39[0-9]{2}\.[0-9]{3}s' in13='in 49[0-9]{2}\.[0-9]{3}s' in14='in 59[0-9]{2}\.[0-9]{3}s'
		refuse "$label: the listing has no note about absolute deadlines" "$part" 'no clock'
	fi
	expect "$label: task 2 is in coop_join on task 3, no deadline" "$part" \
		'"waiter" +task 3 +coop_join$'
	expect "$label: task 6 is in coop_sleep_until, deadline ~1000 s ahead" "$part" \
		"\"napper\" +${in6} +coop_sleep_until\$"
	expect "$label: task 7 is in coop_group_wait on the group, ambient deadline ~3000 s ahead" \
		"$part" \
		"\"grouper\" +group ${group:-0x[0-9a-f]+}, ${in7} +coop_group_wait\$"
	expect "$label: task 8 is in coop_join on task 6, deadline ~2000 s ahead, cancelled, shielded" \
		"$part" \
		"\"stubborn\" +task 6, ${in8}, cancelled, shielded +coop_join\$"
	expect "$label: task 10 is in coop_fd_wait (under coop_read) to read its fd, deadline ~4000 s ahead" \
		"$part" \
		"\"reader\" +fd ${fd:-[0-9]+} read, ${in10} +coop_fd_wait\$"
	expect "$label: task 11 is in coop_chan_send on the channel, no deadline" "$part" \
		"\"sender\" +chan ${chan:-0x[0-9a-f]+} +coop_chan_send\$"
	expect "$label: task 12 is in coop_mutex_lock on the mutex, no deadline" "$part" \
		"\"locker\" +mutex ${mutex:-0x[0-9a-f]+} +coop_mutex_lock\$"
	expect "$label: task 13 is in coop_notify_wait on the notifier, deadline ~5000 s ahead" \
		"$part" \
		"\"listener\" +notify ${notify:-0x[0-9a-f]+}, ${in13} +coop_notify_wait\$"
	expect "$label: task 14 is in coop_offload, no object, deadline ~6000 s ahead" "$part" \
		"\"offloader\" +${in14} +coop_offload\$"
	check_deadlines "$label" "$part"
	expect "$label: task 9, woken, is only cancelled" "$part" '"dozer" +cancelled( |$)'
	refuse "$label: no flags on the others" "$part" \
		'"(sleeper|waiter|spinner|quitter|stopper|napper|grouper|reader|sender|locker|listener|offloader|newborn)".*(cancelled|shielded)'
	if [ "$backend" != asm ]; then
		section "$file" bt1 >"$part"
		expect "$label: coop bt says the $backend backend is not supported" "$part" \
			'not supported on this backend'
		return
	fi
	# Where names the first function outside libcoop a READY task
	# resumes in.  Under a sanitizer a switch takes the library's
	# annotated path, not a tail call (switch_checked, should gdb fail
	# to unwind out of it).
	local lib=
	[ "$sanitize" = none ] || lib='switch_checked|'
	expect "$label: task 1 resumes in sleeper_inner" "$part" "\"sleeper\" +(${lib}sleeper_inner)\$"
	expect "$label: task 3 resumes in spinner_main" "$part" "\"spinner\" +(${lib}spinner_main)\$"
	expect "$label: task 9 (woken in the library's wait path) resumes in dozer_main" "$part" \
		'"dozer" +cancelled +dozer_main$'
	expect "$label: task 15 has not started" "$part" '"newborn" +\(not started\) newborn_main'

	section "$file" bt1 >"$part"
	sed -n '/^task 1 /{n;p;}' "$part" >"$part.first"
	expect "$label: coop bt 1 starts at frame #0 of the task" "$part.first" '^#0 +0x[0-9a-f]+ in '
	expect "$label: coop bt 1 is in sleeper_inner" "$part" '^#[0-9]+ +0x[0-9a-f]+ in sleeper_inner \(depth=2\)'
	expect "$label: coop bt 1 goes through sleeper_main" "$part" '^#[0-9]+ +0x[0-9a-f]+ in sleeper_main'
	expect "$label: coop bt 1 ends at the task's start" "$part" '^#[0-9]+ +0x[0-9a-f]+ in coop(__|\.)arch_start'
	refuse "$label: coop bt 1 shows none of the thread's own frames" "$part" 'gdb_target_stop|stopper_main'

	section "$file" bt2 >"$part"
	expect "$label: coop bt 2 is in coop_join" "$part" '^#[0-9]+ +(0x[0-9a-f]+ in )?coop_join'
	expect "$label: coop bt 2 shows waiter_main" "$part" '^#[0-9]+ +0x[0-9a-f]+ in waiter_main'

	section "$file" bt3full >"$part"
	expect "$label: coop bt 3 full shows spinner_main" "$part" '^#[0-9]+ +0x[0-9a-f]+ in spinner_main'
	sed -n '/^task 3 /{n;p;}' "$part" >"$part.first"
	expect "$label: coop bt 3 full drops the thread's frame and its locals" "$part.first" \
		'^#0 +0x[0-9a-f]+ in '
	refuse "$label: coop bt 3 full: none of the thread's frames" "$part" 'gdb_target_stop'

	# Every blocked task: from the wait path out through the call to
	# the task's function.
	section "$file" bt6 >"$part"
	sed -n '/^task 6 /{n;p;}' "$part" >"$part.first"
	expect "$label: coop bt 6 starts at frame #0 of the task" "$part.first" '^#0 +0x[0-9a-f]+ in '
	expect "$label: coop bt 6 is in coop_sleep_until" "$part" '^#[0-9]+ +(0x[0-9a-f]+ in )?coop_sleep_until'
	expect "$label: coop bt 6 shows napper_main" "$part" '^#[0-9]+ +0x[0-9a-f]+ in napper_main'
	expect "$label: coop bt 6 ends at the task's start" "$part" '^#[0-9]+ +0x[0-9a-f]+ in coop(__|\.)arch_start'
	refuse "$label: coop bt 6 shows none of the thread's own frames" "$part" 'gdb_target_stop|stopper_main'
	section "$file" bt7 >"$part"
	expect "$label: coop bt 7 is in coop_group_wait" "$part" '^#[0-9]+ +(0x[0-9a-f]+ in )?coop_group_wait'
	expect "$label: coop bt 7 shows grouper_main" "$part" '^#[0-9]+ +0x[0-9a-f]+ in grouper_main'
	section "$file" bt8 >"$part"
	expect "$label: coop bt 8 is in coop_join_until" "$part" '^#[0-9]+ +(0x[0-9a-f]+ in )?coop_join_until'
	expect "$label: coop bt 8 shows stubborn_main" "$part" '^#[0-9]+ +0x[0-9a-f]+ in stubborn_main'

	section "$file" bt9 >"$part"
	expect "$label: coop bt 9 is in coop_sleep_until" "$part" '^#[0-9]+ +(0x[0-9a-f]+ in )?coop_sleep_until'
	expect "$label: coop bt 9 shows dozer_main" "$part" '^#[0-9]+ +0x[0-9a-f]+ in dozer_main'

	section "$file" bt4 >"$part"
	expect "$label: coop bt 4 says the task ended" "$part" 'task 4 "quitter" has ended'
	section "$file" bt5 >"$part"
	expect "$label: coop bt 5 is the thread's bt" "$part" '^#[0-9]+ +(0x[0-9a-f]+ in )?gdb_target_stop'
	section "$file" bt10 >"$part"
	sed -n '/^task 10 /{n;p;}' "$part" >"$part.first"
	expect "$label: coop bt 10 starts at frame #0 of the task" "$part.first" '^#0 +0x[0-9a-f]+ in '
	expect "$label: coop bt 10 is in coop_fd_wait" "$part" '^#[0-9]+ +(0x[0-9a-f]+ in )?coop_fd_wait'
	expect "$label: coop bt 10 goes through coop_read" "$part" '^#[0-9]+ +(0x[0-9a-f]+ in )?coop_read'
	expect "$label: coop bt 10 shows reader_main" "$part" '^#[0-9]+ +0x[0-9a-f]+ in reader_main'
	expect "$label: coop bt 10 ends at the task's start" "$part" '^#[0-9]+ +0x[0-9a-f]+ in coop(__|\.)arch_start'
	refuse "$label: coop bt 10 shows none of the thread's own frames" "$part" 'gdb_target_stop|stopper_main'

	section "$file" bt11 >"$part"
	expect "$label: coop bt 11 is in coop_chan_send" "$part" '^#[0-9]+ +(0x[0-9a-f]+ in )?coop_chan_send'
	expect "$label: coop bt 11 shows sender_main" "$part" '^#[0-9]+ +0x[0-9a-f]+ in sender_main'
	section "$file" bt12 >"$part"
	expect "$label: coop bt 12 is in coop_mutex_lock" "$part" '^#[0-9]+ +(0x[0-9a-f]+ in )?coop_mutex_lock'
	expect "$label: coop bt 12 shows locker_main" "$part" '^#[0-9]+ +0x[0-9a-f]+ in locker_main'
	section "$file" bt13 >"$part"
	expect "$label: coop bt 13 is in coop_notify_wait" "$part" '^#[0-9]+ +(0x[0-9a-f]+ in )?coop_notify_wait'
	expect "$label: coop bt 13 shows listener_main" "$part" '^#[0-9]+ +0x[0-9a-f]+ in listener_main'
	section "$file" bt14 >"$part"
	sed -n '/^task 14 /{n;p;}' "$part" >"$part.first"
	expect "$label: coop bt 14 starts at frame #0 of the task" "$part.first" '^#0 +0x[0-9a-f]+ in '
	expect "$label: coop bt 14 is in coop_offload" "$part" '^#[0-9]+ +(0x[0-9a-f]+ in )?coop_offload'
	expect "$label: coop bt 14 shows offloader_main" "$part" '^#[0-9]+ +0x[0-9a-f]+ in offloader_main'
	expect "$label: coop bt 14 ends at the task's start" "$part" '^#[0-9]+ +0x[0-9a-f]+ in coop(__|\.)arch_start'
	refuse "$label: coop bt 14 shows none of the threads' own frames" "$part" 'sem_wait|gdb_target_stop|stopper_main'
	section "$file" bt15 >"$part"
	expect "$label: coop bt 15 says it has not started" "$part" \
		'task 15 "newborn" has not started yet: it will run newborn_main'
	section "$file" bt16 >"$part"
	expect "$label: coop bt 16: no such task" "$part" 'has no task 16'
	section "$file" after >"$part"
	expect "$label: the selected frame is kept" "$part" '^#[0-9]+ +0x[0-9a-f]+ in stopper_main'
	expect "$label: the thread's own bt is intact afterwards" "$part" \
		'^#[0-9]+ +(0x[0-9a-f]+ in )?gdb_target_stop'
	refuse "$label: ... with none of the task's frames" "$part" \
		'sleeper|spinner|waiter|napper|grouper|stubborn|dozer|reader|sender|locker|listener|offloader'
}

# From a frame other than the innermost, which `coop bt` must leave
# selected.
commands=(
	-ex 'frame function stopper_main'
	-ex 'echo @tasks\n' -ex 'coop tasks'
	-ex 'echo @group\n' -ex 'printf "group=%p\n", gdb_target_group'
	-ex 'echo @fd\n' -ex 'printf "fd=%d\n", gdb_target_pipe[0]'
	-ex 'echo @objects\n' -ex 'printf "chan=%p\n", gdb_target_chan'
	-ex 'printf "mutex=%p\n", gdb_target_mutex'
	-ex 'printf "notify=%p\n", gdb_target_notify'
	-ex 'echo @bt1\n' -ex 'coop bt 1'
	-ex 'echo @bt2\n' -ex 'coop bt 2'
	-ex 'echo @bt3full\n' -ex 'coop bt 3 full'
	-ex 'echo @bt4\n' -ex 'coop bt 4'
	-ex 'echo @bt5\n' -ex 'coop bt 5'
	-ex 'echo @bt6\n' -ex 'coop bt 6'
	-ex 'echo @bt7\n' -ex 'coop bt 7'
	-ex 'echo @bt8\n' -ex 'coop bt 8'
	-ex 'echo @bt9\n' -ex 'coop bt 9'
	-ex 'echo @bt10\n' -ex 'coop bt 10'
	-ex 'echo @bt11\n' -ex 'coop bt 11'
	-ex 'echo @bt12\n' -ex 'coop bt 12'
	-ex 'echo @bt13\n' -ex 'coop bt 13'
	-ex 'echo @bt14\n' -ex 'coop bt 14'
	-ex 'echo @bt15\n' -ex 'coop bt 15'
	-ex 'echo @bt16\n' -ex 'coop bt 16'
	-ex 'echo @after\n' -ex 'frame' -ex 'bt'
	-ex 'echo @end\n'
)

# ---------------------------------------------------------------- live --
run_gdb "$tmp/live.txt" -ex 'break gdb_target_stop' -ex run "${commands[@]}" \
	-ex 'echo @info\n' -ex 'info coop-tasks' -ex 'echo @end\n' \
	-ex 'continue' "$target"
# A build without -g (--buildtype=release): the extension cannot read
# coop's private state, and says so; nothing to test.
if grep -q 'debug information is not loaded' "$tmp/live.txt"; then
	echo "libcoop has no debug information in this build (no -g): skipped"
	exit 77
fi
# With the pool's thread there, gdb names the thread that hit it.
if ! grep -Eq '^(Thread [0-9]+ "[^"]*" hit )?Breakpoint 1, (0x[0-9a-f]+ in )?gdb_target_stop' "$tmp/live.txt"; then
	if grep -Eq 'ptrace|Operation not permitted|Could not trace|personality' "$tmp/live.txt"; then
		echo "gdb cannot run a program here (ptrace refused): skipped"
		sed 's/^/    /' "$tmp/live.txt"
		exit 77
	fi
	echo "FAIL: the target never reached gdb_target_stop:"
	sed 's/^/    /' "$tmp/live.txt"
	exit 1
fi
check_transcript live "$tmp/live.txt"
section "$tmp/live.txt" info >"$tmp/part"
expect "live: info coop-tasks lists the tasks too" "$tmp/part" '^ +2 +BLOCKED +[0-9]+ +"waiter"'
expect "live: the program then runs to its end" "$tmp/live.txt" 'exited normally'
refuse "live: no Python error" "$tmp/live.txt" 'Python Exception|Traceback|Error occurred in Python'

# Outside coop_run: a clear message, and $coop_context works instead.
# shellcheck disable=SC2016 # $coop_context is gdb's, not the shell's
run_gdb "$tmp/outside.txt" -ex 'break coop_run' -ex run \
	-ex 'echo @tasks\n' -ex 'coop tasks' \
	-ex 'echo @ctx\n' -ex 'set $coop_context = gdb_target_ctx' -ex 'coop tasks' -ex 'echo @end\n' \
	-ex kill "$target"
section "$tmp/outside.txt" tasks >"$tmp/part"
expect "outside coop_run: says so" "$tmp/part" 'not running a coop context'
section "$tmp/outside.txt" ctx >"$tmp/part"
expect "outside coop_run: \$coop_context lists 5 tasks" "$tmp/part" 'context 0x[0-9a-f]+: 5 tasks'
if [ "$backend" = asm ]; then
	expect "outside coop_run: none started" "$tmp/part" \
		'^ +5 +READY +[0-9]+ +"stopper" +\(not started\) stopper_main'
fi

# --------------------------------------------------------------- core --
pattern=$(cat /proc/sys/kernel/core_pattern 2>/dev/null || echo '|unknown')
if [ "$sanitize" != none ]; then
	echo "skipped: the core file case under -Db_sanitize=$sanitize (no core dumps)"
elif [ "${pattern#|}" != "$pattern" ] || [ "${pattern#/}" != "$pattern" ]; then
	echo "skipped: the core file case: kernel.core_pattern sends cores elsewhere ($pattern)"
else
	{
		(
			cd "$tmp" || exit 1
			ulimit -c unlimited 2>/dev/null || ulimit -c hard 2>/dev/null
			GDB_TARGET_ABORT=1 exec "$target"
		)
	} >/dev/null 2>&1
	core=$(find "$tmp" -maxdepth 1 -name 'core*' -type f | head -n 1)
	if [ -z "$core" ]; then
		echo "skipped: the core file case: no core file was written (ulimit -c $(ulimit -Hc))"
	else
		run_gdb "$tmp/core.txt" "${commands[@]}" "$target" "$core"
		check_transcript core "$tmp/core.txt"
		refuse "core: no Python error" "$tmp/core.txt" 'Python Exception|Traceback|Error occurred in Python'
	fi
fi

if [ "$failures" -ne 0 ]; then
	echo "$failures failed"
	exit 1
fi
echo "all passed"
