#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# harness-selftest.sh - prove the guest runners fail a run on a kernel WARNING and on a hung guest:
# vm-run.sh for one guest, vm2-run.sh for either guest of a pair. Its module (warn_on_load.c)
# and its guest scenarios (harness-warn, harness-hang, harness2) are in scripts/harness-selftest/.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

# Built in a copy under out/ so that no build product lands in the overlay directories.
H=$OUT/harness
rm -rf "$H" && mkdir -p "$H" &&
	cp "$REPO"/scripts/harness-selftest/{Makefile,warn_on_load.c} "$H/" ||
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
# Two guests: a WARNs and finishes, b hangs. Both must be reported, and a's finished run must
# not hide b's hang (nor b's timeout a's report).
if "$REPO/scripts/vm2-run.sh" stock stock harness2 60; then
	log "FAIL: a pair with a WARNING on a and a hung b did not fail"; rc=1
elif ! grep -q '^not ok - a:stock:harness2:kernel-log-clean' "$OUT/runs/last-vm2-stock-stock-harness2/a/results.tap" ||
	! grep -q 'WARNING:' "$OUT/runs/last-vm2-stock-stock-harness2/a/reports.txt"; then
	log "FAIL: the pair failed, but a's WARNING was not reported"; rc=1
elif ! grep -q '^not ok - b:stock:harness2:guest-timeout' "$OUT/runs/last-vm2-stock-stock-harness2/b/results.tap"; then
	log "FAIL: the pair failed, but b's hang was not reported as a timeout"; rc=1
elif ! [ -f "$OUT/runs/last-vm2-stock-stock-harness2/a/done" ]; then
	log "FAIL: a did not finish its half"; rc=1
else
	log "ok: a WARNING on one guest of a pair and a hang of the other each fail the run"
fi
exit $rc
