#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# build-bench.sh - build the benchmark modules of `make bench` out of tree, in a copy of their
# source (the repository stays clean): verbs against the stock headers and symbols, pools
# against our prepared tree (scripts/build-modules.sh must have run); and reg, the user
# program frmr_bench_reg (on the selftests' frmr_verbs.h).
#
# Usage: build-bench.sh reg|verbs|pools...
# Output: $OUT/bench-modules/frmr_bench_<name>.ko, $OUT/bin/frmr_bench_reg
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

BENCH_SRC=$REPO/bench/modules
KO=$OUT/bench-modules

build_bench_module() { # verbs|pools
	local dir=$KO/build-$1 args=() src
	# Up to date: the module is newer than every source file (and the headers it built with).
	if [ -f "$KO/frmr_bench_$1.ko" ]; then
		src=$(find "$BENCH_SRC" -maxdepth 1 -type f -newer "$KO/frmr_bench_$1.ko")
		if [ -z "$src" ] && { [ "$1" = verbs ] ||
			[ ! "$TREE_LINUX/drivers/infiniband/core/Module.symvers" -nt "$KO/frmr_bench_$1.ko" ]; }; then
			return 0
		fi
	fi
	rm -rf "$dir"; mkdir -p "$dir"
	cp "$BENCH_SRC"/Kbuild "$BENCH_SRC"/*.[ch] "$dir"/
	case "$1" in
	verbs) ;;
	pools)
		args=(FRMR_BENCH_POOLS=1
		      NOSTDINC_FLAGS="-nostdinc -I$TREE_LINUX/include -I$TREE_LINUX/include/uapi"
		      KBUILD_EXTRA_SYMBOLS="$TREE_LINUX/drivers/infiniband/core/Module.symvers")
		;;
	*) die "no benchmark module $1 (verbs or pools)" ;;
	esac
	with_lock make -C "$KHDR" M="$dir" W=1 "${args[@]}" modules > "$dir/build.log" 2>&1 ||
		{ tail -20 "$dir/build.log" >&2; die "build of frmr_bench_$1 failed"; }
	if grep -E '(warning|error):' "$dir/build.log" >&2; then
		die "warnings in frmr_bench_$1 ($dir/build.log)"
	fi
	cp "$dir/frmr_bench_$1.ko" "$KO/"
}

# The user program, with the flags of the selftests' programs: no warning allowed.
build_bench_reg() {
	mkdir -p "$OUT/bin"
	with_lock cc -O2 -g -Wall -Wextra -Werror -I"$SELFTEST" \
		-o "$OUT/bin/frmr_bench_reg" "$REPO/bench/frmr_bench_reg.c" -libverbs
}

[ $# -gt 0 ] || die "usage: build-bench.sh reg|verbs|pools..."
mkdir -p "$KO"
for m in "$@"; do
	if [ "$m" = reg ]; then
		build_bench_reg
	else
		build_bench_module "$m"
	fi
done
