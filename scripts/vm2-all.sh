#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# vm2-all.sh - the full form of the two-host tests: every scenarios2/ scenario for every pair
# of stacks (a-b: ours-stock, stock-ours, ours-ours), one vm2-run.sh each, then a table and
# "N passed, N failed".
#
# VM2_PAIRS and VM2_SCENARIOS override the lists; VM2_NO_BUILD=1 skips building the modules,
# the rdma tool and the test programs first.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

PAIRS=${VM2_PAIRS:-"ours-stock stock-ours ours-ours"}
SCENS=${VM2_SCENARIOS:-"wire-traffic wire-nvme wire-stale-rkey wire-lossy"}
D=$OUT/vm2-all/$(date +%Y%m%d-%H%M%S)
mkdir -p "$D"
if [ "${VM2_NO_BUILD:-0}" != 1 ]; then
	log "building modules, rdma tool and test programs (logs in $D)"
	"$REPO/scripts/build-modules.sh" > "$D/modules.log" 2>&1 || die "modules: $D/modules.log"
	"$REPO/scripts/build-rdma.sh" > "$D/rdma-tool.log" 2>&1 || die "rdma tool: $D/rdma-tool.log"
	"$REPO/scripts/build-selftests.sh" > "$D/programs.log" 2>&1 ||
		die "test programs: $D/programs.log"
fi
passed=0; failed=0
t0=$(now)
printf '%-12s %-18s %8s %8s %6s  %s\n' pair scenario passed failed secs run > "$D/table.txt"
for scen in $SCENS; do
	for pair in $PAIRS; do
		a=${pair%-*} b=${pair#*-}
		log "=== $pair $scen"
		"$REPO/scripts/vm2-run.sh" "$a" "$b" "$scen" > "$D/$pair-$scen.log" 2>&1
		run=$(readlink -f "$OUT/runs/last-vm2-$a-$b-$scen")
		if [ -f "$run/counts" ]; then
			read -r p f < "$run/counts"
		else
			p=0 f=1
		fi
		passed=$((passed + p)); failed=$((failed + f))
		printf '%-12s %-18s %8d %8d %6s  %s\n' "$pair" "$scen" "$p" "$f" \
			"$(cat "$run/seconds" 2> /dev/null || echo -)" "$(basename "$run")" |
			tee -a "$D/table.txt" >&2
		grep '^not ok\|# SKIP' "$run/results.tap" 2> /dev/null | sed 's/^/    | /' >&2
	done
done
log "table: $D/table.txt; $(( $(now) - t0 ))s in all, waits for the lock included"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
