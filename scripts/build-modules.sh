#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# build-modules.sh - build ib_core family, rdma_rxe and mlx5_ib out of tree, then check the ABI.
#
# Usage: build-modules.sh [W=1] [C=1|C=2] [extra make args]
# Output: $OUT/modules/*.ko (copies), $OUT/modules/build-ids, $OUT/uapi (the uapi headers the
# guest tests read) and the ABI report. The modules are those of scripts/rdma-modules.list.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ -d "$KHDR" ] || die "$KHDR missing: run scripts/install-deps.sh"
"$REPO/scripts/tree.sh" prepare linux

T=$TREE_LINUX
CORE=$T/drivers/infiniband/core
RXE=$T/drivers/infiniband/sw/rxe
MLX5=$T/drivers/infiniband/hw/mlx5
MAKEARGS=(-C "$KHDR" NOSTDINC_FLAGS="-nostdinc -I$T/include -I$T/include/uapi"
	  W=1 -j"$(nproc)" "$@")

build() { # dir [extra symbols...]
	local dir=$1; shift
	local extra="$*"
	local t0; t0=$(now)
	with_lock make "${MAKEARGS[@]}" M="$dir" KBUILD_EXTRA_SYMBOLS="$extra" modules \
		> "$OUT/logs/build-$(basename "$dir").log" 2>&1 || {
		grep -E 'error|warning' "$OUT/logs/build-$(basename "$dir").log" | head -40 >&2
		die "build of $dir failed (log: $OUT/logs/build-$(basename "$dir").log)"
	}
	# W=1 must stay clean: any compiler warning fails the build.
	if grep -E '(warning|error):' "$OUT/logs/build-$(basename "$dir").log" >&2; then
		die "warnings in $dir (log: $OUT/logs/build-$(basename "$dir").log)"
	fi
	log "built $(basename "$dir") in $(( $(now) - t0 ))s"
}

mkdir -p "$OUT/logs" "$OUT/modules"
build "$CORE"
build "$RXE" "$CORE/Module.symvers"
if [ "${SKIP_MLX5:-0}" != 1 ]; then
	build "$MLX5" "$CORE/Module.symvers"
fi

rm -f "$OUT"/modules/*.ko
: > "$OUT/modules/build-ids"
for m in $(rdma_module_paths); do
	case "$m" in
	*/mlx5_ib) [ "${SKIP_MLX5:-0}" != 1 ] || continue ;;
	esac
	m=$T/$m.ko
	[ -f "$m" ] || die "missing $m"
	cp "$m" "$OUT/modules/"
	echo "$(basename "$m" .ko) $(build_id "$m")" >> "$OUT/modules/build-ids"
done
ship_uapi

"$REPO/scripts/abi-check.sh" "$CORE/Module.symvers" $( [ "${SKIP_MLX5:-0}" = 1 ] || echo "$MLX5/Module.symvers")
log "modules in $OUT/modules"
