#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# build-bench.sh - build the benchmark modules of `make bench` out of tree, in a copy of their
# source (the repository stays clean): verbs against the stock headers and symbols, pools
# against our prepared tree (scripts/build-modules.sh must have run).
#
# Usage: build-bench.sh verbs|pools...   Output: $OUT/bench-modules/frmr_bench_<name>.ko
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BENCH_SRC=$REPO/tools/testing/selftests/rdma/frmr/bench
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

[ $# -gt 0 ] || die "usage: build-bench.sh verbs|pools..."
mkdir -p "$KO"
for m in "$@"; do
	build_bench_module "$m"
done
