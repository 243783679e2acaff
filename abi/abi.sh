#!/bin/bash
# abi/abi.sh: the ABI guard of libcoop.so.1.
#
#   abi/abi.sh check    build the library and compare its ABI with the
#                       committed baseline abi/libcoop.so.1.abi; any change
#                       at all (added, removed or changed function, type,
#                       or symbol version) fails.
#   abi/abi.sh update   rewrite the baseline from a fresh build: the one
#                       deliberate way to accept an ABI change (commit it
#                       with the new version node and a NEWS entry).
#   abi/abi.sh selftest prove the guard bites: a copy of the tree with a
#                       public struct changed, and one with a signature
#                       changed, must fail the check; a copy with only a
#                       private struct changed must pass it.
#
# Only types reachable from the installed headers count (--headers-dir,
# --drop-private-types): internal structures may change freely.  The
# baseline is made by GCC at -O2 -g (meson's debugoptimized), as check is.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BASELINE=$ROOT/abi/libcoop.so.1.abi
LIB=libcoop.so.1 # the SONAME link, whatever the version

build() { # srcdir builddir
	rm -rf "$2"
	CC=gcc meson setup "$2" "$1" -Dbuildtype=debugoptimized -Dtests=disabled \
		-Dexamples=false >"$2.log" 2>&1 &&
		ninja -C "$2" >>"$2.log" 2>&1 ||
		{ cat "$2.log" >&2; rm -f "$2.log"; return 1; }
	rm -f "$2.log"
}

abidw_of() { # srcdir builddir
	abidw --drop-private-types --no-corpus-path --no-comp-dir-path \
		--headers-dir "$1/include/coop" --headers-dir "$2/include/coop" "$2/$LIB"
}

compare() { # srcdir builddir -> abidiff's status
	abidiff --drop-private-types \
		--headers-dir2 "$1/include/coop" --headers-dir2 "$2/include/coop" \
		"$BASELINE" "$2/$LIB"
}

selftest_case() { # name expect(pass|fail) sed-script file...
	local name=$1 expect=$2 script=$3 tmp status file
	shift 3
	tmp=$(mktemp -d /tmp/coop-abi.XXXXXX)
	(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 tar -cf - 2>/dev/null) | tar -xf - -C "$tmp"
	for file in "$@"; do
		sed -i "$script" "$tmp/$file"
		if cmp -s "$ROOT/$file" "$tmp/$file"; then
			echo "selftest $name: the mutation did not apply to $file" >&2
			rm -rf "$tmp"
			return 1
		fi
	done
	if ! build "$tmp" "$tmp/build"; then
		echo "selftest $name: the mutated tree does not build" >&2
		rm -rf "$tmp"
		return 1
	fi
	status=0
	compare "$tmp" "$tmp/build" >"$tmp/abidiff.txt" 2>&1 || status=$?
	rm -rf "$tmp/build"
	# abidiff's status bits: 1 error, 2 usage error, 4 ABI change,
	# 8 incompatible ABI change.  Only a reported change counts as failing.
	if { [ "$expect" = fail ] && [ $((status & 3)) -eq 0 ] && [ $((status & 12)) -ne 0 ]; } ||
		{ [ "$expect" = pass ] && [ "$status" -eq 0 ]; }; then
		echo "selftest $name: check ${expect}ed as it must (abidiff status $status)"
		rm -rf "$tmp"
		return 0
	fi
	echo "selftest $name: check should have ${expect}ed; abidiff said:" >&2
	cat "$tmp/abidiff.txt" >&2
	rm -rf "$tmp"
	return 1
}

case "${1:-}" in
check)
	build "$ROOT" "$ROOT/build-abi"
	if compare "$ROOT" "$ROOT/build-abi"; then
		echo "abi: libcoop.so.1 matches abi/libcoop.so.1.abi"
	else
		echo "abi: libcoop.so.1 differs from the baseline (above); if deliberate," \
			"run abi/abi.sh update and add a version node" >&2
		exit 1
	fi
	;;
update)
	build "$ROOT" "$ROOT/build-abi"
	abidw_of "$ROOT" "$ROOT/build-abi" >"$BASELINE"
	echo "abi: wrote $BASELINE"
	;;
selftest)
	rc=0
	selftest_case public-struct fail \
		's/size_t stack_size; \/\* usable stack bytes/unsigned stack_size; \/* usable stack bytes/' \
		include/coop/coop.h || rc=1
	selftest_case signature fail \
		's/^\(COOP_EXPORT \)\?\(__attribute__(([a-z0-9(), ]*)) \)\?int coop_yield(void)/\1\2long coop_yield(void)/' \
		include/coop/coop.h src/wait.c || rc=1
	selftest_case private-struct pass 's/^\tbool detached; /\tint padding_for_test;\n\tbool detached; /' \
		src/coop-private.h || rc=1
	exit $rc
	;;
*)
	echo "usage: $0 check|update|selftest" >&2
	exit 2
	;;
esac
