#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# bench.sh - `make bench`: the same workloads on the stock Debian RDMA modules and on ours, in
# alternating boots of the same stock-kernel guest, reported as pooled/stock speedups.
#
# Output: $OUT/bench/<time>/{bench.txt,bench.json,bench.png} (+ the raw files, plot data and
# links to the guest runs); $OUT/bench/last points to it. The workloads are in
# bench/scenarios/bench.sh; BENCH_REPS and BENCH_NVME_CYCLES
# (guest environment, default 5) are passed through FRMR_APPEND-style kernel parameters.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

# The two clocks (scripts/vm-run.sh FRMR_CLOCK): every figure but the 2-CPU ones comes from
# deterministic guests (icount: guest time counts instructions, host load does not move it);
# the kernel loops on 1 and 2 CPUs also run in wall-clock guests (multi-threaded TCG: icount
# runs the vCPUs in turn, so two CPUs never run at once there), reported in a table of their
# own. Both use the same CPU model, without CMPXCHG16B (BENCH_CPU, default max,-cx16), so the
# kernel runs the same code in both: see bench/bench-smoke.sh for why.
CPU=${BENCH_CPU:-max,-cx16}

# One guest boot: vmbench=stock|ours selects the RDMA stack, BENCH_CLOCK=icount|wall the
# clock (wall: the kernel loops only); prints the run directory.
guest() { # stock|ours icount|wall
	local rc=0 before after
	before=$(readlink -f "$OUT/runs/last-stock-bench" || true)
	FRMR_CLOCK=$2 FRMR_CPU=$CPU FRMR_APPEND="vmbench=$1 BENCH_CLOCK=$2 \
${BENCH_REPS:+BENCH_REPS=$BENCH_REPS} ${BENCH_NVME_CYCLES:+BENCH_NVME_CYCLES=$BENCH_NVME_CYCLES}" \
		"$REPO/scripts/vm-run.sh" stock bench 1200 >&2 || rc=$?
	after=$(readlink -f "$OUT/runs/last-stock-bench" || true)
	# vm-run.sh died before it made a run directory: never report the other boot's figures.
	if [ -z "$after" ] || [ "$after" = "$before" ]; then
		log "no guest run was made for the $1 stack ($2)"
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
"$REPO/bench/build-bench.sh" reg verbs pools

D=$OUT/bench/$(date +%Y%m%d-%H%M%S)
mkdir -p "$D"
: > "$D/stock.raw"; : > "$D/ours.raw"; : > "$D/stock-wall.raw"; : > "$D/ours-wall.raw"
fail=0
# Stock and ours alternate, BENCH_ROUNDS times (default 2), and every figure pools the
# repetitions of a side's guests. Deterministic guests should not need it; the wall-clock ones
# do (the host drifts by more between two guests than within one), and the rounds show whether
# the deterministic figures really repeat.
ROUNDS=${BENCH_ROUNDS:-2}
runs=""
# The guests run back to back, in one stretch of exclusive machine time: between two of them,
# another helper's build would heat the host the wall-clock guests measure on.
log "5/6 waiting for the build lock, then $((ROUNDS * 4)) guests back to back"
hold_lock
for r in $(seq 1 "$ROUNDS"); do
	for clock in icount wall; do
		for stack in stock ours; do
			log "5/6 round $r/$ROUNDS: $clock guest with the $stack RDMA modules"
			run=$(guest "$stack" "$clock") || fail=1
			[ -n "$run" ] || continue
			raw=$stack; [ "$clock" = wall ] && raw=$stack-wall
			ln -sfn "$run" "$D/run-$raw-$r"
			cat "$run/bench.raw" >> "$D/$raw.raw" || fail=1
			runs="$runs $(basename "$run")"
		done
	done
done

release_lock

log "6/6 report"
machine="$(nproc) cores ($(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)),"
machine="$machine QEMU $(qemu-system-x86_64 --version | awk 'NR==1{print $4}') TCG (no KVM)"
machine="$machine -smp 2 -m 2G -cpu $CPU, guest kernel $KVER"
python3 "$REPO/bench/bench-report.py" "$D/stock.raw" "$D/ours.raw" "$D" \
	--wall "$D/stock-wall.raw" "$D/ours-wall.raw" \
	"date=$(date -u '+%Y-%m-%d %H:%M UTC')" "machine=$machine" \
	"clocks=deterministic: -accel tcg -icount shift=0,sleep=off; wall-clock: -accel tcg,thread=multi" \
	"runs=${runs# }" || fail=1
gnuplot -e "dat='$D/plot.dat'; out='$D/bench.png'; \
title='FRMR pools: pooled/stock speedup, 95% CI, $(date -u +%Y-%m-%d), QEMU TCG icount (deterministic), no KVM'" \
	"$REPO/bench/bench-plot.gp" || fail=1
if [ $fail -ne 0 ] && [ -f "$D/bench.txt" ]; then
	sed -i '1i *** INCOMPLETE: a guest run or the report failed (or the control is off); do not quote these figures ***' \
		"$D/bench.txt"
fi
ln -sfn "$D" "$OUT/bench/last"
cat "$D/bench.txt"
log "$(( $(now) - t0 ))s; results in $D (guest runs:$runs)"
exit $fail
