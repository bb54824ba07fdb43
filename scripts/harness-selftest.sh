#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# harness-selftest.sh - prove the guest runner fails a run on a kernel WARNING and on a hung guest.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

# Built in a copy under out/ so that no build product lands in the overlay directories.
H=$OUT/harness
rm -rf "$H" && mkdir -p "$H" &&
	cp "$REPO"/tools/testing/selftests/rdma/frmr/harness/{Makefile,warn_on_load.c} "$H/" ||
	die "cannot copy warn_on_load sources"
with_lock make -s -C "$KHDR" M="$H" modules >/dev/null || die "cannot build warn_on_load.ko"
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
