# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# frmr-pools-lib.sh - FRMR pool helpers for guest scenarios (sourced after guest-lib.sh).

# The pools' test logic (frmr_pools.py): one Python copy for the shell and the Python tests.
pools_py() { python3 "$FRMR_SELFTEST/frmr_pools.py" "$@"; } # command args...
pools_show() { $RDMA resource show frmr_pools dev "$@"; } # dev [-d|-dd]
# Every pool of DEV, kernel-only pools included, with the -dd driver counters (drv_*).
pools_json() { $RDMA -j -dd resource show frmr_pools dev "$1"; }
# Whether the rdma tool and the kernel can show pools: an older tool prints "Unknown
# parameter" and still exits 0, so require a JSON answer.
pools_supported() { # dev
	pools_json "$1" 2>/dev/null | pools_py json 2>/dev/null
}
# A counter (queue, in_use, drv_hits, ...) of the user pool of NUM_DMA_BLOCKS on DEV; empty
# if there is no such pool.
pool_val() { pools_json "$1" | pools_py val "$2" "$3"; } # dev blocks counter
npools() { pools_json "$1" | pools_py count; }

# A step that reads or sets pools; recorded as skipped where the tool or kernel lacks them
# (set POOLS_TOOL=1|0 first, e.g. from pools_supported).
pstep() { # name timeout cmd...
	if [ "${POOLS_TOOL:-0}" = 1 ]; then
		step "$@"
	else
		STEP_N=$((STEP_N + 1))
		echo "ok $STEP_N - $1 # SKIP rdma resource show frmr_pools unsupported" >> "$vmout/results.tap"
	fi
}

# ib_frmr_pools_cleanup() reports handles a device's pools still had in use (a pr_err and a
# counter, not a WARN, so that a test may provoke it): a leak shows up only here.
no_pool_leak_reports() {
	! dmesg | grep -E 'FRMR pool key .*handles still in use'
}

# frmr_stale_rkey with rdma_rxe's frmr_max_reuse lowered to MAX_REUSE on a fresh 3-page pool of
# DEV (--exact: the index changes every MAX_REUSE registrations); the default 255 is restored.
stale_rkey_max_reuse() { # dev max_reuse cycles
	local p=/sys/module/rdma_rxe/parameters/frmr_max_reuse rc
	echo "$2" > $p && "$FRMR_BIN/frmr_stale_rkey" -d "$1" -g 1 -n "$3" -p 3 --exact
	rc=$?
	echo 255 > $p
	return $rc
}

# Every pool of DEV is quiet and whole: nothing in use, and created - destroyed - dropped ==
# queue (the core's invariant). Prints the pools.
pools_quiet_whole() { pools_json "$1" | pools_py quiet-whole; } # dev

# Allocation failures on demand for fail-nth loops (test kernel): probability 0 keeps random
# injection off; sleeping allocations count too.
arm_failslab() {
	local d=/sys/kernel/debug/failslab
	[ -d $d ] || { echo "no failslab in debugfs"; return 1; }
	echo N > $d/ignore-gfp-wait
	echo 0 > $d/verbose
	echo 0 > $d/probability
	echo -1 > $d/times
	echo "failslab armed: ignore-gfp-wait=$(cat $d/ignore-gfp-wait)"
}

# frmr_reuse_bounds on DEV (M-page MR, then an N-page MR on its handle) with rdma_rxe's test-only
# frmr_check_clean on: every handle popped meanwhile must have held no page in its page storage
# (frmr_clean_stats: handles checked, stale entries found). Fails if nothing was checked.
reuse_larger_handle() { # dev m_pages n_pages
	local p=/sys/module/rdma_rxe/parameters c0 s0 c1 s1 rc
	read -r c0 s0 < $p/frmr_clean_stats || return 1
	echo 1 > $p/frmr_check_clean || return 1
	"$FRMR_BIN/frmr_reuse_bounds" -d "$1" -g 1 -m "$2" -n "$3"
	rc=$?
	echo 0 > $p/frmr_check_clean
	read -r c1 s1 < $p/frmr_clean_stats || return 1
	echo "frmr_clean_stats: $((c1 - c0)) handles checked, $((s1 - s0)) stale page entries"
	[ $rc = 0 ] && [ $((c1 - c0)) -ge 4 ] && [ "$s1" = "$s0" ]
}
