#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# check.sh - the test command: build everything, run every scenario, print "N passed, N failed".
#
# Phases (each timed in $OUT/check/timings.txt): packages, module build + ABI check, rdma tool,
# test programs, the bench tooling on a recorded sample (not `make bench` itself), test kernel
# (built in the background from the start, see below),
# scenarios on the stock kernel with our modules, the short two-host scenario (two stock-kernel
# guests on one link, vm2-run.sh) for each pair of stacks in FRMR_VM2_PAIRS, scenarios on the
# test kernel. FRMR_SCENARIOS_STOCK / FRMR_SCENARIOS_TEST / FRMR_VM2_PAIRS override the lists
# (`make vm2-all` is the full two-host form).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

STOCK_SCEN=${FRMR_SCENARIOS_STOCK:-"rxe-smoke rxe-pools frmr-netlink rxe-nvme rxe-lossy rxe-memory"}
TEST_SCEN=${FRMR_SCENARIOS_TEST:-"kunit rxe-pools-short"}
VM2_PAIRS=${FRMR_VM2_PAIRS:-"ours-stock ours-ours"}
D=$OUT/check
rm -rf "$D"; mkdir -p "$D"
: > "$D/results.tap"; : > "$D/timings.txt"
passed=0; failed=0

phase() { # name cmd...
	local name=$1 t0 rc; shift
	t0=$(now)
	echo "=== $name" >&2
	"$@" > "$D/$name.log" 2>&1
	rc=$?
	echo "$name $(( $(now) - t0 ))s" >> "$D/timings.txt"
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1)); echo "ok - $name" >> "$D/results.tap"
		echo "    ok ($(( $(now) - t0 ))s)" >&2
	else
		failed=$((failed + 1)); echo "not ok - $name" >> "$D/results.tap"
		echo "    FAILED ($(( $(now) - t0 ))s), log: $D/$name.log" >&2
		tail -20 "$D/$name.log" | sed 's/^/    | /' >&2
	fi
	return $rc
}

# CI keeps only what is printed: for every failure of a guest run, print why (the step's last
# lines, or the console's when the guest ended early, or the kernel reports).
explain_run() { # run-dir
	local run=$1 n name f
	[ -f "$run/results.tap" ] || return 0
	sed -n 's/^not ok \([0-9]*\) *- \([^ #]*\).*/\1 \2/p' "$run/results.tap" |
	while read -r n name; do
		[ -n "$name" ] || { name=$n; n=; }
		case "$name" in
		*:guest-finished|*:guest-timeout)
			echo "    --- $name: last lines of the guest's log, then of its console"
			tail -10 "$run/guest.log" 2>/dev/null | sed 's/^/    : /'
			echo "    ---"
			tail -25 "$run/console.log" 2>/dev/null | sed 's/^/    : /' ;;
		*:kernel-log-clean)
			echo "    --- $name"
			head -40 "$run/reports.txt" 2>/dev/null | sed 's/^/    : /' ;;
		*)
			[ -n "$n" ] || continue
			f=$(ls "$run/steps/$(printf %02d "$n")-"*.log 2>/dev/null | head -1)
			[ -n "$f" ] || continue
			echo "    --- step $n $name: $f"
			tail -15 "$f" | sed 's/^/    : /' ;;
		esac
	done
}

scenario() { # kind name timeout
	local t0; t0=$(now)
	echo "=== scenario $2 on the $1 kernel" >&2
	"$REPO/scripts/vm-run.sh" "$1" "$2" "$3" > "$D/scenario-$1-$2.log" 2>&1
	local run; run=$(readlink -f "$OUT/runs/last-$1-$2")
	echo "scenario-$1-$2 $(( $(now) - t0 ))s" >> "$D/timings.txt"
	if [ -f "$run/counts" ] && [ "$(dirname "$run")" = "$OUT/runs" ]; then
		read -r p f < "$run/counts"
		sed "s/^\(not ok\|ok\)/\1 $1:$2:/" "$run/results.tap" >> "$D/results.tap"
		passed=$((passed + p)); failed=$((failed + f))
		echo "    $p passed, $f failed ($(( $(now) - t0 ))s), logs: $run" >&2
		grep '^not ok\|# SKIP' "$run/results.tap" | sed 's/^/    | /' >&2
		explain_run "$run" >&2
	else
		failed=$((failed + 1)); echo "not ok - $1:$2 (no result)" >> "$D/results.tap"
		echo "    FAILED: no result; log: $D/scenario-$1-$2.log" >&2
		tail -5 "$D/scenario-$1-$2.log" | sed 's/^/    | /' >&2
	fi
}

# Two guests, one link: stacks a and b (ours|stock), one two-host scenario.
scenario2() { # a b name timeout
	local t0 run p f id=vm2-$1-$2
	t0=$(now)
	echo "=== two hosts: $3, a $1, b $2" >&2
	rm -f "$OUT/runs/last-$id-$3"
	"$REPO/scripts/vm2-run.sh" "$1" "$2" "$3" "$4" > "$D/scenario-$id-$3.log" 2>&1
	run=$(readlink -f "$OUT/runs/last-$id-$3")
	echo "scenario-$id-$3 $(( $(now) - t0 ))s" >> "$D/timings.txt"
	if [ -f "$run/counts" ]; then
		read -r p f < "$run/counts"
		sed "s/^\(not ok\|ok\)/\1 $id:$3:/" "$run/results.tap" >> "$D/results.tap"
		passed=$((passed + p)); failed=$((failed + f))
		echo "    $p passed, $f failed ($(( $(now) - t0 ))s), logs: $run" >&2
		grep '^not ok\|# SKIP' "$run/results.tap" | sed 's/^/    | /' >&2
		explain_run "$run/a" >&2
		explain_run "$run/b" >&2
	else
		failed=$((failed + 1)); echo "not ok - $id:$3 (no result)" >> "$D/results.tap"
		echo "    FAILED: no result; log: $D/scenario-$id-$3.log" >&2
		tail -5 "$D/scenario-$id-$3.log" | sed 's/^/    | /' >&2
	fi
}

phase packages "$REPO/scripts/install-deps.sh" || { echo "$passed passed, $((failed)) failed"; exit 1; }
phase modules "$REPO/scripts/build-modules.sh"
mods=$?
# The test kernel (a quarter of an hour on a fresh machine, seconds after) builds in the
# background at the lowest priority while the stock-kernel guests run. A guest often runs one
# thread (depmod, a single test process) and leaves a host core idle; the build takes those
# cycles, nice 19 against the guests' 0, and does not slow them. It skips the build lock,
# which the guests hold: the lock keeps separate commands apart, not the phases of this one.
FRMR_LOCK_HELD=1 nice -n 19 "$REPO/scripts/build-testkernel.sh" > "$D/testkernel-build.log" 2>&1 &
tk_pid=$!
wait_testkernel() {
	local rc
	wait "$tk_pid"; rc=$?
	cat "$D/testkernel-build.log"
	return $rc
}
phase rdma-tool "$REPO/scripts/build-rdma.sh" --check
phase test-programs "$REPO/scripts/build-selftests.sh"
phase bench-selftest "$REPO/bench/bench-selftest.sh"
phase harness-selftest "$REPO/scripts/harness-selftest.sh"
if [ $mods -eq 0 ]; then
	for s in $STOCK_SCEN; do scenario stock "$s" 900; done
	for p in $VM2_PAIRS; do scenario2 "${p%-*}" "${p#*-}" wire-short 900; done
fi
if [ $mods -eq 0 ] && [ "${FRMR_SKIP_DKMS:-0}" != 1 ]; then
	phase dkms "$REPO/scripts/dkms-test.sh" ||
		explain_run "$(readlink -f "$OUT/runs/last-stock-dkms")" >&2
fi
if phase testkernel wait_testkernel; then
	for s in $TEST_SCEN; do scenario test "$s" 1500; done
fi
echo "results: $D/results.tap, timings: $D/timings.txt" >&2
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
