#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# run-main.sh - the main job: build, boot the stock kernel with our modules, bring up rxe,
# run traffic and show the FRMR pools it used.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

t0=$(now)
log "1/4 packages";        "$REPO/scripts/install-deps.sh"
log "2/4 modules";         "$REPO/scripts/build-modules.sh"
log "3/4 rdma tool";       "$REPO/scripts/build-rdma.sh"
log "4/4 guest (stock Debian kernel $KVER + our modules)"
rc=0
"$REPO/scripts/vm-run.sh" stock demo 600 || rc=$?
run=$(readlink -f "$OUT/runs/last-stock-demo")
echo
echo "---- what the guest printed (full logs: $run) ----"
cat "$run/demo.txt" 2>/dev/null || echo "(no output: see $run/guest.log)"
echo "---- $(( $(now) - t0 ))s; results: $run/results.tap ----"
exit $rc
