#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# harness-selftest.sh - prove the guest runner fails a run on a kernel WARNING and on a hung guest.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

H=$REPO/tools/testing/selftests/rdma/frmr/harness
mkdir -p "$OUT/harness"
with_lock make -s -C "$KHDR" M="$H" modules >/dev/null || die "cannot build warn_on_load.ko"
cp "$H/warn_on_load.ko" "$OUT/harness/"
rc=0
if "$REPO/scripts/vm-run.sh" stock harness-warn 300; then
	log "FAIL: a guest WARNING did not fail the run"; rc=1
elif ! grep -q 'WARNING:' "$OUT/runs/last-stock-harness-warn/reports.txt"; then
	log "FAIL: the run failed, but not because of the WARNING"; rc=1
else
	log "ok: a guest WARNING fails the run"
fi
if "$REPO/scripts/vm-run.sh" stock harness-hang 45; then
	log "FAIL: a hung guest did not fail the run"; rc=1
elif ! grep -q 'guest-timeout' "$OUT/runs/last-stock-harness-hang/results.tap"; then
	log "FAIL: the hung guest was not reported as a timeout"; rc=1
else
	log "ok: a hung guest fails the run"
fi
exit $rc
