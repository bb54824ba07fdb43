#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# bench.sh - `make bench`: the same workloads on the stock Debian RDMA modules and on ours, in
# alternating boots of the same stock-kernel guest, reported as pooled/stock speedups.
#
# Output: $OUT/bench/<time>/{bench.txt,bench.json,bench.png} (+ the raw files, plot data and
# links to the guest runs); $OUT/bench/last points to it. The workloads are in
# tools/testing/selftests/rdma/frmr/scenarios/bench.sh; BENCH_REPS and BENCH_NVME_CYCLES
# (guest environment, default 5) are passed through FRMR_APPEND-style kernel parameters.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# One guest boot: vmbench=stock|ours selects the RDMA stack; prints the run directory.
guest() { # stock|ours
	local rc=0 before after
	before=$(readlink -f "$OUT/runs/last-stock-bench" || true)
	FRMR_APPEND="vmbench=$1 ${BENCH_REPS:+BENCH_REPS=$BENCH_REPS} \
${BENCH_NVME_CYCLES:+BENCH_NVME_CYCLES=$BENCH_NVME_CYCLES}" \
		"$REPO/scripts/vm-run.sh" stock bench 1200 >&2 || rc=$?
	after=$(readlink -f "$OUT/runs/last-stock-bench" || true)
	# vm-run.sh died before it made a run directory: never report the other boot's figures.
	if [ -z "$after" ] || [ "$after" = "$before" ]; then
		log "no guest run was made for the $1 stack"
		return 1
	fi
	echo "$after"
	return $rc
}

t0=$(now)
log "1/6 packages";       "$REPO/scripts/install-deps.sh"
log "2/6 modules";        "$REPO/scripts/build-modules.sh"
log "3/6 rdma tool";      "$REPO/scripts/build-rdma.sh"
log "4/6 benchmark programs and modules"
make -s -C "$REPO/tools/testing/selftests/rdma/frmr" OUTPUT="$OUT/bin"
"$REPO/scripts/build-bench.sh" verbs pools

D=$OUT/bench/$(date +%Y%m%d-%H%M%S)
mkdir -p "$D"
: > "$D/stock.raw"; : > "$D/ours.raw"
fail=0
# Stock and ours alternate, BENCH_ROUNDS times (default 2): the host drifts by more between two
# guests than within one (the kmalloc+kfree control, the same code in both, has been seen at
# 0.64x and 1.67x in two single-round runs), so each side gets guests from both ends of the run
# and every figure pools their repetitions.
ROUNDS=${BENCH_ROUNDS:-2}
runs=""
for r in $(seq 1 "$ROUNDS"); do
	for stack in stock ours; do
		log "5/6 round $r/$ROUNDS: guest with the $stack RDMA modules"
		run=$(guest "$stack") || fail=1
		[ -n "$run" ] || continue
		ln -sfn "$run" "$D/run-$stack-$r"
		cat "$run/bench.raw" >> "$D/$stack.raw" || fail=1
		runs="$runs $(basename "$run")"
	done
done

log "6/6 report"
machine="$(nproc) cores ($(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)),"
machine="$machine QEMU TCG (no KVM) -smp 2 -m 2G, guest kernel $KVER"
python3 "$REPO/scripts/bench-report.py" "$D/stock.raw" "$D/ours.raw" "$D" \
	"date=$(date -u '+%Y-%m-%d %H:%M UTC')" "machine=$machine" \
	"runs=${runs# }" || fail=1
gnuplot -e "dat='$D/plot.dat'; out='$D/bench.png'; \
title='FRMR pools: pooled/stock speedup, $(date -u +%Y-%m-%d), 2 cores, QEMU TCG, no KVM'" \
	"$REPO/scripts/bench-plot.gp" || fail=1
if [ $fail -ne 0 ] && [ -f "$D/bench.txt" ]; then
	sed -i '1i *** INCOMPLETE: a guest run or the report failed; do not quote these figures ***' \
		"$D/bench.txt"
fi
ln -sfn "$D" "$OUT/bench/last"
cat "$D/bench.txt"
log "$(( $(now) - t0 ))s; results in $D (guest runs:$runs)"
exit $fail
