#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# bench-smoke.sh - `make bench-smoke`: do guests survive the clock `make bench` measures with?
# Boots N consecutive stock-kernel guests (default 10) in that mode (FRMR_CLOCK, default icount;
# FRMR_CPU, default vm-run.sh's model for the clock) and runs the kmalloc+kfree control loop in
# each (scenarios/bench-smoke.sh, ~12 million pairs). Passes only when every guest finished
# with a clean kernel log; prints one line per guest and its control figures.
#
# Usage: bench-smoke.sh [N]    e.g. FRMR_CPU=max bench-smoke.sh 4 (CX16 on: the known crash)
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

n=${1:-10}
export FRMR_CLOCK=${FRMR_CLOCK:-icount}
"$REPO/scripts/install-deps.sh"
"$REPO/bench/build-bench.sh" verbs

# The guests run back to back, in one stretch of exclusive machine time.
log "waiting for the build lock, then $n guests back to back"
hold_lock
ok=0; bad=0; runs=""
for i in $(seq 1 "$n"); do
	rc=0
	# The first guest also reads one ib_write_bw report (--out_json) as the bench does.
	FRMR_APPEND="$([ "$i" = 1 ] && echo BENCH_SMOKE_PERFTEST=1)" \
		"$REPO/scripts/vm-run.sh" stock bench-smoke 900 || rc=$?
	run=$(readlink -f "$OUT/runs/last-stock-bench-smoke")
	runs="$runs $(basename "$run")"
	med=$(python3 -c '
import statistics, sys
v = {}
for l in open(sys.argv[1]):
    f = dict(x.split("=") for x in l.split()[1:])
    v.setdefault(f["cpus"], []).append(int(f["ns"]) / int(f["iters"]))
print(" ".join(f"{c} CPU {statistics.median(x):.1f} ns" for c, x in sorted(v.items())))
' "$run/bench.raw" 2>/dev/null || true)
	if [ $rc -eq 0 ]; then
		ok=$((ok + 1))
		log "guest $i/$n clean: $(cat "$run/clock"); kmalloc+kfree ${med:-?} ($run)"
	else
		bad=$((bad + 1))
		log "guest $i/$n FAILED: $(cat "$run/clock") ($run)"
		grep -m3 -E 'double fault|Kernel panic|RIP:' "$run/console.log" | sed 's/^/  /' >&2 || true
	fi
done
release_lock
log "$ok of $n guests clean, $bad failed ($FRMR_CLOCK, cpu ${FRMR_CPU:-default}):$runs"
[ $bad -eq 0 ]
