# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# mem-lib.sh - what queued FRMR handles cost the machine, as an unprivileged user sees it
# (sourced after guest-lib.sh and frmr-pools-lib.sh). One implementation for the stock
# scenario rxe-memory and for the short form in the test kernel's rxe-pools-short.
#
# mem_steps DEV NETDEV CIDR adds an rxe device and runs, as uid 65534 (no capabilities, the
# kernel's default 8 MiB RLIMIT_MEMLOCK), the review's loop (frmr_memloop: for every N,
# floor(2048/N) MRs of N pages, then deregister them all), then checks:
# - after the loop: figures (MemAvailable, queued handles and pools, page storage), nothing in
#   use, and the queued driver memory under frmr_max_queued_bytes' default (1/64 of RAM);
# - `echo 2 > /proc/sys/vm/drop_caches` (every shrinker) leaves only what pinning keeps queued,
#   the shrinker counts what it destroyed, MemAvailable is back within MEM_TOL_KIB (12 MiB);
# - the same loop in a memory cgroup (memory.max MEM_CG_MAX): the queued storage stays charged
#   there after the process exited, the limit was reached without an OOM kill and without
#   taking more of the machine than the limit, a later process of the cgroup gets the memory
#   back from the queued handles, and drop_caches uncharges them;
# - frmr_max_queued_bytes at MEM_BOUND: a short loop leaves at most that much driver memory
#   queued and counts the handles it refused (drv_over_limit); the parameter is restored.
# Parameters (environment): MEM_LOOP_ARGS (frmr_memloop options of the loop, default: the
# review's 2048), MEM_LOOP_TO (its step timeout), MEM_PIN_BLOCKS (a pool size the loop uses, 4
# handles pinned there), MEM_CG_MAX, MEM_BOUND, MEM_BOUND_ARGS (a subset of the loop's sizes,
# so that every pool it uses exists before it starts), MEM_TOL_KIB.

export MEM_LOOP_ARGS=${MEM_LOOP_ARGS:-}
export MEM_LOOP_TO=${MEM_LOOP_TO:-120}
export MEM_PIN_BLOCKS=${MEM_PIN_BLOCKS:-8}
export MEM_CG_MAX=${MEM_CG_MAX:-32M}
export MEM_BOUND=${MEM_BOUND:-1048576}
export MEM_BOUND_ARGS=${MEM_BOUND_ARGS:--s 256 -n 319}
# MemAvailable (with the per-CPU free lists, memavail_kib) after drop_caches against before
# the loop. What may legitimately stay: the loop's pools and their rings (2048 pools: < 1 MiB;
# empty pools are freed by aging, which is off here), slab pages the freed objects leave
# partly used, and drift in what MemAvailable estimates of page cache and reclaimable slab.
# Measured in a 2 GiB stock guest with every unpinned queue verifiably empty: 4.1 to 6.8 MiB
# below the figure before a full loop. What the test catches is far beyond 12 MiB: the review
# measured 66 MiB (74 MiB here with kmalloc's rounding of the page storage); the default
# bound alone would still leave up to 1/64 of RAM (31 MiB in a 2 GiB guest) plus rounding.
export MEM_TOL_KIB=${MEM_TOL_KIB:-12288}
export MEM_DIR=/tmp/frmr-mem
export MEM_CG=/sys/fs/cgroup/frmr-mem
export MEM_PARAM=/sys/module/ib_core/parameters/frmr_max_queued_bytes

# Run a command as nobody: no capabilities (no CAP_IPC_LOCK: the memlock limit applies), no
# supplementary groups, and the kernel's default RLIMIT_MEMLOCK of 8 MiB, soft and hard
# (guest-run.sh raised PID 1's to unlimited for the root tools).
export MEM_AS_NOBODY="prlimit --memlock=8388608:8388608 setpriv --reuid=65534 --regid=65534
	--clear-groups --inh-caps=-all"
as_nobody() { $MEM_AS_NOBODY "$@"; }
# MemAvailable plus the free pages parked on per-CPU lists (/proc/zoneinfo's pageset counts),
# which MemAvailable leaves out: an exiting process's 8 MiB buffer lands there, and in a 2 GiB
# guest they swung MemAvailable by +-12 MiB with every queue empty. First the empty slabs
# that SLUB keeps for reuse are given back (kmem_cache_shrink through sysfs: in-use objects,
# such as queued handles' page storage, stay) and per-CPU vmstat deltas are folded in
# (stat_refresh). Logs the three figures to stderr.
memavail_kib() {
	local avail pcp f
	for f in /sys/kernel/slab/*/shrink; do echo 1 > "$f"; done 2>/dev/null
	echo 1 > /proc/sys/vm/stat_refresh 2>/dev/null
	avail=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
	pcp=$(awk '/^ *count:/ { s += $2 } END { print s * 4 }' /proc/zoneinfo)
	echo "(MemAvailable $avail kB + per-CPU free lists $pcp kB = $((avail + pcp)) kB)" >&2
	echo $((avail + pcp))
}
mem_drop() { sync; echo 2 > /proc/sys/vm/drop_caches; }
mem_put() { echo "$2" > "$MEM_DIR/$1"; } # name value
mem_get() { cat "$MEM_DIR/$1"; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; } # bytes
kib_mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; } # KiB
# P_* figures of DEV's pools (frmr_mem_pools.py sum); the JSON is kept in $MEM_DIR/TAG.json.
mem_pools() { # dev tag
	pools_json "$1" > "$MEM_DIR/$2.json" || return 1
	eval "$(python3 "$FRMR_SELFTEST/frmr_mem_pools.py" sum < "$MEM_DIR/$2.json")"
}
mem_pools_line() {
	echo "pools $P_pools, queued handles $P_queue ($P_unpinned unpinned, $P_kept kept by" \
		"pinning), in use $P_in_use, page storage $(mib $P_storage)," \
		"drv_mem_bytes $([ "$P_mem_bytes" -ge 0 ] && mib $P_mem_bytes || echo absent)," \
		"drv_reclaimed $P_reclaimed, drv_over_limit $P_over_limit, drv_destroyed $P_destroyed"
}
# The frmr_max_queued_bytes in force, in bytes (0 means 1/64 of RAM).
mem_bound_bytes() {
	local v; v=$(cat $MEM_PARAM)
	[ "$v" != 0 ] && { echo "$v"; return; }
	awk '/^MemTotal:/ { printf "%d\n", $2 * 1024 / 64 }' /proc/meminfo
}

mem_rxe_add() { # dev netdev cidr
	mkdir -p "$MEM_DIR" && netdev_dummy "$2" "$3" && $RDMA link add "$1" type rxe netdev "$2"
}

# /dev/infiniband/uverbs* must be usable by nobody; ib_uverbs makes them 0666, chmod if not.
mem_user_access() {
	local f
	command -v setpriv || { echo "no setpriv"; return 1; }
	ls -l /dev/infiniband/
	for f in /dev/infiniband/uverbs*; do
		if ! as_nobody test -r "$f" -a -w "$f"; then
			echo "$f not accessible to uid 65534: chmod 0666"
			chmod 0666 "$f" || return 1
		fi
	done
	as_nobody sh -c 'id; echo "memlock KiB: $(ulimit -l)"; grep -E "^Cap(Eff|Prm)" /proc/self/status' |
		tee "$MEM_DIR/user.txt"
	grep -q 'uid=65534' "$MEM_DIR/user.txt" &&
		grep -q '^memlock KiB: 8192$' "$MEM_DIR/user.txt" &&
		grep -q '^CapEff:[[:space:]]*0*$' "$MEM_DIR/user.txt"
}

# MemAvailable before the loop, after a drop_caches (the same state as the one compared with);
# a second drop_caches shows the noise of the figure.
mem_baseline() {
	local a b
	mem_drop; sleep 1; a=$(memavail_kib)
	mem_drop; sleep 1; b=$(memavail_kib)
	echo "MemAvailable after drop_caches: $a kB, after another: $b kB (noise $((b - a)) kB)"
	mem_put avail_before "$b"
}

# The loop as nobody; ENOMEM is allowed only where EXPECT_NOMEM=1.
mem_loop() { # dev outfile frmr_memloop-args...
	local dev=$1 out=$2 rc
	shift 2
	as_nobody "$FRMR_BIN/frmr_memloop" -d "$dev" "$@" > "$out" 2>&1
	rc=$?
	cat "$out"
	return $rc
}
mem_loop_unprivileged() { # dev
	mem_loop "$1" "$MEM_DIR/loop.txt" $MEM_LOOP_ARGS || return 1
	# Within the default memlock limit: nothing may be refused here.
	grep -q '^memloop: sizes .* failed 0 ' "$MEM_DIR/loop.txt"
}

mem_after_loop() { # dev
	local avail before
	avail=$(memavail_kib); before=$(mem_get avail_before)
	mem_put avail_loop "$avail"
	mem_pools "$1" after-loop || return 1
	mem_put queued_loop "$P_queue"; mem_put unpinned_loop "$P_unpinned"
	mem_put storage_loop "$P_storage"; mem_put pools_loop "$P_pools"
	echo "MemAvailable before the loop $before kB, after it exited $avail kB:" \
		"$(kib_mib $((before - avail))) held"
	echo "after the loop: $(mem_pools_line)"
	echo "one unprivileged process left the kernel holding $(kib_mib $((before - avail)))" \
		"(MemAvailable), $P_queue queued handles in $P_pools pools, $(mib $P_storage) of" \
		"rxe page storage"
	[ "$P_in_use" = 0 ] || { echo "handles still in use"; return 1; }
	[ "$P_unpinned" -gt 0 ] || { echo "the loop left nothing queued: nothing to test"; return 1; }
}

# What the loop leaves queued stays under the default bound (1/64 of RAM); pinned handles are
# exempt. Needs rxe's handle_bytes.
mem_default_bound() { # dev
	local bound; bound=$(mem_bound_bytes)
	mem_pools "$1" default-bound || return 1
	echo "queued page storage $(mib $P_storage) ($(mib $P_unpinned_storage) unpinned)," \
		"frmr_max_queued_bytes $(cat $MEM_PARAM) -> bound $(mib $bound)"
	[ "$P_unpinned_storage" -le "$bound" ] ||
		{ echo "beyond the bound (does the driver report handle_bytes?)"; return 1; }
}

# drop_caches runs every shrinker: every pool keeps only what pinning keeps.
mem_drop_check() { # dev
	local t0 t1
	t0=$(date +%s.%N); mem_drop; t1=$(date +%s.%N)
	echo "drop_caches took $(echo "$t1 - $t0" | bc) s"
	mem_pools "$1" after-drop || return 1
	echo "after drop_caches: $(mem_pools_line)"
	[ "$P_bad_pools" = 0 ] && [ "$P_unpinned" = 0 ] ||
		{ echo "$P_bad_pools pools still queue $P_unpinned unpinned handles"; return 1; }
	[ "$(pool_val "$1" "$MEM_PIN_BLOCKS" queue)" = 4 ] ||
		{ echo "the pinned pool ($MEM_PIN_BLOCKS blocks) lost its 4 handles"; return 1; }
}

# The shrinker counted every handle it destroyed (nothing ages: aging is 3600 s).
mem_reclaimed_counted() { # dev
	mem_pools "$1" reclaimed || return 1
	echo "unpinned handles queued after the loop $(mem_get unpinned_loop)," \
		"drv_reclaimed $P_reclaimed"
	[ "$P_reclaimed" -ge 0 ] || { echo "no drv_reclaimed in the -dd table"; return 1; }
	[ "$P_reclaimed" = "$(mem_get unpinned_loop)" ]
}

mem_avail_restored() {
	local before loop after
	before=$(mem_get avail_before); loop=$(mem_get avail_loop); after=$(memavail_kib)
	mem_put avail_drop "$after"
	echo "MemAvailable: before the loop $before kB, after it $loop kB" \
		"($(kib_mib $((loop - before)))), after drop_caches $after kB" \
		"($(kib_mib $((after - before))); tolerance -$(kib_mib $MEM_TOL_KIB))"
	[ "$after" -ge $((before - MEM_TOL_KIB)) ]
}

# --- memory cgroup ---------------------------------------------------------------------
mem_cg_setup() {
	grep -q '^cgroup2 /sys/fs/cgroup ' /proc/mounts ||
		mount -t cgroup2 none /sys/fs/cgroup || return 1
	grep -qw memory /sys/fs/cgroup/cgroup.controllers || { echo "no memory controller"; return 1; }
	echo +memory > /sys/fs/cgroup/cgroup.subtree_control || return 1
	mkdir -p $MEM_CG && echo "$MEM_CG_MAX" > $MEM_CG/memory.max || return 1
	echo "$MEM_CG: memory.max $(cat $MEM_CG/memory.max), memory.current $(cat $MEM_CG/memory.current)"
}
mem_cg_events() { tr '\n' ' ' < $MEM_CG/memory.events; echo; }
mem_cg_event() { awk -v e="$1" '$1 == e { print $2 }' $MEM_CG/memory.events; } # name
# Run a command as nobody inside the cgroup: a wrapper shell moves itself in, then execs.
mem_in_cg() { sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' $MEM_CG $MEM_AS_NOBODY "$@"; }
mem_cg_wait_empty() {
	local i
	for i in $(seq 1 50); do
		grep -q '^populated 0' $MEM_CG/cgroup.events && return 0
		sleep 0.2
	done
	echo "cgroup still populated"; return 1
}

mem_cg_loop() { # dev
	local rc avail0 avail1 cur0 cur1
	avail0=$(memavail_kib); cur0=$(cat $MEM_CG/memory.current)
	mem_put cg_avail0 "$avail0"; mem_put cg_cur0 "$cur0"
	echo "before: MemAvailable $avail0 kB, memory.current $(mib $cur0), memory.events: $(mem_cg_events)"
	mem_in_cg "$FRMR_BIN/frmr_memloop" -d "$1" $MEM_LOOP_ARGS > "$MEM_DIR/cg-loop.txt" 2>&1
	rc=$?
	cat "$MEM_DIR/cg-loop.txt"
	mem_cg_wait_empty || return 1
	avail1=$(memavail_kib); cur1=$(cat $MEM_CG/memory.current)
	mem_put cg_avail1 "$avail1"; mem_put cg_cur1 "$cur1"
	mem_pools "$1" cg-loop || return 1
	mem_put cg_unpinned_storage "$P_unpinned_storage"
	echo "loop exit status $rc; after it exited (handles still queued):" \
		"memory.current $(mib $cur1), memory.peak $(mib "$(cat $MEM_CG/memory.peak 2>/dev/null || echo 0)")," \
		"MemAvailable $avail1 kB ($(kib_mib $((avail1 - avail0))))"
	echo "memory.events: $(mem_cg_events)"
	echo "pools: $(mem_pools_line)"
	[ $rc = 137 ] && echo "the loop was killed (memory.events oom_kill $(mem_cg_event oom_kill))"
	return $rc
}

# The queued storage is charged to the cgroup, not to whoever frees it later.
mem_cg_charged() { # dev
	local cur0 cur1 st st0=0
	cur0=$(mem_get cg_cur0); cur1=$(mem_get cg_cur1); st=$(mem_get cg_unpinned_storage)
	echo "memory.current before $(mib $cur0), after the process exited $(mib $cur1):" \
		"$(mib $((cur1 - cur0))) still charged; unpinned queued page storage $(mib $st)"
	if [ "$st" -lt 1048576 ]; then
		# The trims that registrations at the limit make may have emptied the queues
		# (they did in one rxe-pools-short run): 96 sizes of about 1k pages, one MR
		# each, stay well below the limit and leave about 1.6 MiB queued.
		echo "less than 1 MiB left queued by the limit's trims: a loop below the limit"
		st0=$st; cur0=$(cat $MEM_CG/memory.current)
		mem_in_cg "$FRMR_BIN/frmr_memloop" -d "$1" -s 1024 -n 1119 -k 1 || return 1
		mem_cg_wait_empty || return 1
		cur1=$(cat $MEM_CG/memory.current)
		mem_pools "$1" cg-charged || return 1
		st=$P_unpinned_storage
		echo "memory.current $(mib $cur0) -> $(mib $cur1), unpinned queued page storage" \
			"$(mib $st0) -> $(mib $st)"
	fi
	[ $((st - st0)) -ge 1048576 ] || { echo "less than 1 MiB queued: nothing to show"; return 1; }
	st=$((st - st0))
	# Slab and page rounding only add to the charge; 0.8 leaves room for per-CPU charge stocks.
	[ $((cur1 - cur0)) -ge $((st * 8 / 10)) ] || {
		echo "the queued storage is not charged to the cgroup (GFP_KERNEL_ACCOUNT handles?)"
		return 1
	}
}

# The limit was reached, held without killing anyone, and the machine lost no more than it.
mem_cg_limit_held() {
	local max avail0 avail1 ev_max oomk
	max=$(cat $MEM_CG/memory.max); avail0=$(mem_get cg_avail0); avail1=$(mem_get cg_avail1)
	ev_max=$(mem_cg_event max); oomk=$(mem_cg_event oom_kill)
	echo "memory.max $(mib $max), events max $ev_max oom $(mem_cg_event oom) oom_kill $oomk;" \
		"MemAvailable dropped $(kib_mib $((avail0 - avail1))) (allowed: memory.max +" \
		"$(kib_mib $MEM_TOL_KIB))"
	local bad=0
	[ "$ev_max" -gt 0 ] || { echo "FAIL: the loop never reached memory.max"; bad=1; }
	[ "$oomk" = 0 ] || { echo "FAIL: the OOM killer ran instead of a refusal or a trim"; bad=1; }
	[ $(((avail0 - avail1) * 1024)) -le $((max + MEM_TOL_KIB * 1024)) ] ||
		{ echo "FAIL: the machine lost more than the cgroup's limit"; bad=1; }
	return $bad
}

# drop_caches destroys the queued handles and uncharges the cgroup.
mem_cg_release() { # dev
	local cur0 cur
	cur0=$(mem_get cg_cur0)
	mem_drop
	cur=$(cat $MEM_CG/memory.current)
	mem_pools "$1" cg-release || return 1
	echo "after drop_caches: memory.current $(mib $cur) (before the loop $(mib $cur0))," \
		"MemAvailable $(memavail_kib) kB; $(mem_pools_line)"
	[ "$P_unpinned" = 0 ] && [ "$cur" -le $((cur0 + 2097152)) ]
}

# --- per-device bound ----------------------------------------------------------------------
mem_bound() { # dev
	local old rc=0 grew
	old=$(cat $MEM_PARAM)
	mem_drop
	pools_json "$1" > "$MEM_DIR/bound0.json" || return 1
	echo "$MEM_BOUND" > $MEM_PARAM || return 1
	echo "frmr_max_queued_bytes $old -> $(cat $MEM_PARAM)"
	mem_loop "$1" "$MEM_DIR/bound-loop.txt" $MEM_BOUND_ARGS || rc=1
	echo "$old" > $MEM_PARAM
	echo "frmr_max_queued_bytes restored to $(cat $MEM_PARAM)"
	[ $rc = 0 ] || return 1
	mem_pools "$1" bound || return 1
	grew=$(python3 "$FRMR_SELFTEST/frmr_mem_pools.py" delta "$MEM_DIR/bound0.json" \
		"$MEM_DIR/bound.json")
	echo "bound $(mib $MEM_BOUND): $(mem_pools_line); drv_mem_bytes grew by" \
		"$([ "$grew" -ge 0 ] && mib "$grew" || echo '(absent)') since the queues were empty"
	rc=0
	[ "$P_unpinned" -gt 0 ] || { echo "FAIL: nothing queued under the bound"; rc=1; }
	[ "$P_unpinned_storage" -le "$MEM_BOUND" ] ||
		{ echo "FAIL: unpinned page storage $(mib $P_unpinned_storage) beyond the bound"; rc=1; }
	if [ "$grew" -lt 0 ]; then
		echo "FAIL: no drv_mem_bytes in the -dd table"; rc=1
	elif [ "$grew" -gt "$MEM_BOUND" ]; then
		echo "FAIL: driver memory beyond the bound"; rc=1
	fi
	[ "$P_over_limit" -gt 0 ] ||
		{ echo "FAIL: no push counted over the limit (drv_over_limit $P_over_limit)"; rc=1; }
	return $rc
}

mem_steps() { # dev netdev cidr
	local dev=$1 pinkey
	step mem-rxe-add 30 mem_rxe_add "$@"
	POOLS_TOOL=0
	pools_supported "$dev" && POOLS_TOOL=1
	pinkey=0:$(printf %x "$MEM_PIN_BLOCKS"):0:0
	# Nothing ages while the figures are taken; 4 handles pinned in one pool the loop uses.
	pstep mem-aging-pin 30 bash -c "$RDMA resource set frmr_pools dev $dev aging 3600 &&
		$RDMA resource set frmr_pools dev $dev pinned $pinkey 4"
	step mem-user-access 20 mem_user_access
	step mem-baseline 30 mem_baseline
	step mem-loop-unprivileged "$MEM_LOOP_TO" mem_loop_unprivileged "$dev"
	pstep mem-after-loop 30 mem_after_loop "$dev"
	pstep mem-loop-within-default-bound 20 mem_default_bound "$dev"
	pstep mem-drop-caches-empties-queues 60 mem_drop_check "$dev"
	pstep mem-reclaimed-counted 20 mem_reclaimed_counted "$dev"
	step mem-memavailable-restored 10 mem_avail_restored
	step mem-cgroup-setup 10 mem_cg_setup
	pstep mem-cgroup-loop "$MEM_LOOP_TO" mem_cg_loop "$dev"
	step mem-cgroup-charged 60 mem_cg_charged "$dev"
	step mem-cgroup-limit-held 10 mem_cg_limit_held
	pstep mem-cgroup-release 60 mem_cg_release "$dev"
	step mem-cgroup-remove 10 rmdir $MEM_CG
	pstep mem-bound 120 mem_bound "$dev"
	step mem-rxe-delete 30 $RDMA link delete "$dev"
}
