# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# rxe-pools: rxe takes user MRs from FRMR pools. Traffic (perftest plain and -R, pingpong,
# rping) runs on pooled MRs and leaves pools behind; an MR on the handle of a larger one reaches
# nothing past its end; handles a user's registrations leave queued are charged to its memory
# cgroup, kernel pools' are not; a stale rkey of a reused MR index is
# always refused and handles retire before their key byte wraps; several processes' counters
# match what each predicted; a pinned pool is back at its floor one aging tick after handles
# retired; aging drains idle handles and frees pools but keeps pinned ones;
# deleting links under pooled handles and a killed process's MRs, then unloading, is clean.
# Needs $FRMR_BIN/frmr_churn, frmr_stale_rkey, frmr_mw_dereg, frmr_reuse_bounds, frmr_memcg and
# kmr/frmr_kmr.ko (scripts/build-selftests.sh) and, for the counter checks, an rdma
# tool and ib_core with frmr_pools support.

. "$FRMR_SELFTEST/frmr-pools-lib.sh"

step load-our-modules 120 load_modules
step test-programs 10 bash -c "cd $FRMR_BIN && ls -l frmr_churn frmr_stale_rkey frmr_mw_dereg frmr_reuse_bounds \
	frmr_memcg kmr/frmr_kmr.ko"
setup_netdevs() {
	netdev_dummy dum0 10.10.0.1/24 && netdev_veth veth0 veth1 10.20.0.1/24 10.20.0.2/24 &&
		netdev_dummy dum1 10.30.0.1/24 && netdev_dummy dum2 10.40.0.1/24 &&
		netdev_dummy dum3 10.45.0.1/24
}
step netdevs 20 setup_netdevs
step rxe-add 60 bash -c "$RDMA link add rxe0 type rxe netdev dum0 &&
	$RDMA link add rxe1 type rxe netdev veth0 &&
	$RDMA link add rxe2 type rxe netdev dum1 && $RDMA link add rxe3 type rxe netdev dum2 &&
	$RDMA link add rxe4 type rxe netdev dum3"
POOLS_TOOL=0
pools_supported rxe0 && POOLS_TOOL=1
# Nothing ages while the counters are predicted.
for d in rxe0 rxe1 rxe2 rxe3 rxe4; do
	pstep "aging-3600-$d" 10 $RDMA resource set frmr_pools dev $d aging 3600
done

# --- traffic on pooled MRs ----------------------------------------------------------------
for dev in rxe0 rxe1; do
	ip=10.10.0.1; [ $dev = rxe1 ] && ip=10.20.0.1
	step "ib_write_bw-$dev" 120 server_client 100 \
		"ib_write_bw -d $dev -x 1 -s 65536 -n 300 -F" \
		"ib_write_bw -d $dev -x 1 -s 65536 -n 300 -F $ip"
	step "ib_write_bw-R-$dev" 120 server_client 100 \
		"ib_write_bw -d $dev -R -s 65536 -n 300 -F" \
		"ib_write_bw -d $dev -R -s 65536 -n 300 -F $ip"
done
step ib_read_bw 120 server_client 100 "ib_read_bw -d rxe0 -x 1 -s 65536 -n 200 -F" \
	"ib_read_bw -d rxe0 -x 1 -s 65536 -n 200 -F 10.10.0.1"
step ib_read_bw-R 120 server_client 100 "ib_read_bw -d rxe0 -R -s 65536 -n 200 -F" \
	"ib_read_bw -d rxe0 -R -s 65536 -n 200 -F 10.10.0.1"
step ib_send_bw 120 server_client 100 "ib_send_bw -d rxe0 -x 1 -s 65536 -n 200 -F" \
	"ib_send_bw -d rxe0 -x 1 -s 65536 -n 200 -F 10.10.0.1"
step ib_send_bw-R 120 server_client 100 "ib_send_bw -d rxe0 -R -s 65536 -n 200 -F" \
	"ib_send_bw -d rxe0 -R -s 65536 -n 200 -F 10.10.0.1"
step ibv_rc_pingpong 120 server_client 100 "ibv_rc_pingpong -d rxe0 -g 1 -n 200" \
	"ibv_rc_pingpong -d rxe0 -g 1 -n 200 10.10.0.1"
step rping 120 server_client 100 "rping -s -a 10.20.0.1 -C 20 -S 4096" \
	"rping -c -a 10.20.0.1 -C 20 -v -S 4096"
# Every pool the traffic used is back to in_use 0, and was reused (hits > 0).
traffic_pools() {
	local d
	for d in rxe0 rxe1; do
		pools_show $d -d
		pools_json $d | pools_py idle-with-hits || return 1
	done
}
pstep pools-after-traffic 20 traffic_pools

within() { awk -v t="$1" -v m="$2" 'BEGIN { exit !(t >= 0 && t <= m) }'; } # t max
# Run `rdma ARGS...`, then poll the user pool of BLOCKS on DEV (at most LIMIT s) until it holds
# queue + in_use >= pinned. Prints the start time (seconds after the command) of the last dump
# that still saw it short, -1 if the floor never came back (see aging_watch below).
floor_watch() { pools_py floor-watch "$RDMA" "$@"; } # dev blocks limit rdma-args...

# --- memory windows -----------------------------------------------------------------------
# An MR with a window bound cannot be deregistered, and its handle must not go back to the
# pool meanwhile: a new MR never gets its index; after the window is gone both are reused.
kstep mw-bound-mr-keeps-handle 60 $FRMR_BIN/frmr_mw_dereg -d rxe0 -g 1 -n 5 -p 6

# --- a handle from a larger pool ----------------------------------------------------------
# On a fresh device, an MR of 30 pages gets the handle a 45-page MR left (the pools' reuse
# policy: a larger pool below twice the request). READ and WRITE past its end are refused
# and reach none of the old MR's pages; with rdma_rxe's test-only frmr_check_clean, every
# popped handle's page storage, the 15 entries past the new MR's included, held no page.
step reuse-larger-handle 60 reuse_larger_handle rxe4 45 30
reuse_counters() {
	pools_show rxe4 -d
	# 45 blocks: created for the old MR, then a hit for the new one; no 30-block pool
	[ "$(pool_val rxe4 45 drv_created)" = 1 ] && [ "$(pool_val rxe4 45 drv_hits)" = 1 ] &&
		[ "$(pool_val rxe4 45 queue)" = 1 ] && [ -z "$(pool_val rxe4 30 queue)" ]
}
pstep reuse-larger-handle-counters 20 reuse_counters

# --- memory cgroups ------------------------------------------------------------------------
# What a user's registrations leave queued is charged to its memory cgroup: 64 handles of 2048
# pages hold 64 x 32 KiB of page storage, which stays charged to the cgroup after the process
# exited (aging is 3600 s on rxe4; stock rxe: about 100 KiB stays). Kernel MRs (frmr_kmr: 64 MEM_REG MRs of 512 sg, handles of
# a kernel-only pool, 64 x 8 KiB of page storage) loaded from another cgroup charge it less
# than half of that. memory.stat's "kernel", not memory.current: the page cache of the
# programs and libraries a cgroup's process reads first is charged to it too (about 2 MiB
# here). memory.stat is read after the periodic stats flush (2 s).
memcg_in() { # cgroup cmd... (runs CMD in a new cgroup under /sys/fs/cgroup)
	local cg=/sys/fs/cgroup/$1
	shift
	mkdir "$cg" && sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$cg" "$@"
}
memcg_kernel() { # cgroup -> its memory.stat "kernel" bytes, after a stats flush
	sleep 3
	grep -E '^(anon|file|kernel|slab) ' "/sys/fs/cgroup/$1/memory.stat" >&2
	awk '$1 == "kernel" { print $2 }' "/sys/fs/cgroup/$1/memory.stat"
}
memcg_charge() {
	local r=/sys/fs/cgroup u k
	mountpoint -q $r || mount -t cgroup2 none $r || return 1
	echo +memory > $r/cgroup.subtree_control || return 1
	memcg_in frmr-user $FRMR_BIN/frmr_memcg -d rxe4 -n 64 -p 2048 || return 1
	[ "$(pool_val rxe4 2048 queue)" = 64 ] || { echo "64 handles not queued"; return 1; }
	u=$(memcg_kernel frmr-user)
	echo "user cgroup after its process exited: kernel $u bytes"
	# at least 3/4 of it: room for a stats flush that is late on a busy host
	[ "$u" -ge $((64 * 32768 * 3 / 4)) ] || { echo "queued handles not charged"; return 1; }
	memcg_in frmr-kmr insmod "$FRMR_BIN/kmr/frmr_kmr.ko" dev=rxe4 count=64 sg=512 ||
		return 1
	k=$(memcg_kernel frmr-kmr)
	echo "cgroup of the kernel MRs' insmod: kernel $k bytes"
	rmmod frmr_kmr || return 1
	[ "$k" -lt $((64 * 8192 / 2)) ] || { echo "kernel pool handles charged"; return 1; }
}
pstep memcg-user-handles-charged 60 memcg_charge

# --- stale rkeys --------------------------------------------------------------------------
# A fresh device: the first handle of the 24-page pool is new, so every index serves exactly
# frmr_max_reuse registrations. 300 cycles cross one retirement at the default 255.
kstep stale-rkey-300 300 $FRMR_BIN/frmr_stale_rkey -d rxe2 -g 1 -n 300 -p 24 --exact
# A lower threshold retires more often; the index changes every 7 registrations.
kstep stale-rkey-max-reuse-7 120 stale_rkey_max_reuse rxe2 7 40
step max-reuse-param-range 10 bash -c '
	p=/sys/module/rdma_rxe/parameters/frmr_max_reuse
	! echo 0 > $p && ! echo 256 > $p && [ "$(cat $p)" = 255 ]'
stale_counters() {
	pools_show rxe2 -d
	# 24 pages: 301 registrations = 2 handles (255 + 46 uses), one retired (destroyed).
	[ "$(pool_val rxe2 24 drv_created)" = 2 ] && [ "$(pool_val rxe2 24 drv_destroyed)" = 1 ] &&
		[ "$(pool_val rxe2 24 queue)" = 1 ] && [ "$(pool_val rxe2 24 drv_hits)" = 299 ]
}
pstep stale-rkey-counters 20 stale_counters

# --- pinned reserves hold ------------------------------------------------------------------
# Pin 20 handles of a 12-block pool, then 600 stale-rkey cycles on it: at frmr_max_reuse 255,
# two handles retire (destroyed, never queued again), which wears the floor down to 18. At
# the next aging tick the pool must again hold queue + in_use >= pinned, and its counters stay
# whole (created - destroyed - dropped == queue + in_use).
pinned_floor() {
	local period=2 t
	$RDMA resource set frmr_pools dev rxe2 pinned 0:c:0:0 20 || return 1
	$FRMR_BIN/frmr_stale_rkey -d rxe2 -g 1 -n 600 -p 12 --exact || return 1
	pools_show rxe2 -dd
	[ "$(pool_val rxe2 12 drv_destroyed)" -ge 2 ] || { echo "no handle retired"; return 1; }
	read -r t < <(floor_watch rxe2 12 30 resource set frmr_pools dev rxe2 aging $period)
	pools_show rxe2 -dd
	echo "floor last seen short by a dump started at ${t}s"
	pools_quiet_whole rxe2 || return 1
	within "$t" $((2 * period + 4)) && [ "$(pool_val rxe2 12 pinned)" = 20 ] &&
		[ "$(pool_val rxe2 12 queue)" -ge 20 ]
}
pstep pinned-floor-after-retirements 600 pinned_floor

# --- several processes, predicted counters ------------------------------------------------
churn_check() {
	$FRMR_BIN/frmr_churn -d rxe3 -P 3 -K 3 -r 20 -H 8 -s 7 > /tmp/churn.pred || return 1
	cat /tmp/churn.pred
	pools_json rxe3 > /tmp/churn.json || return 1
	pools_show rxe3 -dd
	python3 $FRMR_SELFTEST/frmr_pools_check.py /tmp/churn.json /tmp/churn.pred
}
if [ $POOLS_TOOL = 1 ]; then
	step churn-predicted-counters 300 churn_check
else
	step churn 300 $FRMR_BIN/frmr_churn -d rxe3 -P 3 -K 3 -r 20 -H 8 -s 7
fi

# --- aging ---------------------------------------------------------------------------------
# Pin 3 handles of the 4-block pool (key VENDOR:BLOCKS:ACCESS:ATS, hex), then age every 2 s:
# the first tick comes one period later, idle handles die within two periods, and a pool
# left empty and unused is freed at its second idle tick; the pinned pool keeps 3 handles.
# One python process runs the set command, starts the clock and polls the pools (a shell
# loop started python and rdma twice per poll, several seconds under TCG on a busy host).
queued_unpinned() { pools_json "$1" | pools_py queued-unpinned; } # dev -> handles queued beyond what pinning keeps
# Run `rdma ARGS...`, then poll DEV until it has NPOOLS pools (at most LIMIT s). Prints, for
# the unpinned queued handles and for the extra pools, the start time (seconds after the
# command) of the last dump that still saw them (-1: never seen gone). A dump takes 1-3 s
# under TCG on a busy host and reads the pools somewhere inside that time, so only a dump
# that started after the bound and still saw them proves aging late; timing the dump's end
# would blame aging for a slow dump.
aging_watch() { pools_py aging-watch "$RDMA" "$@"; } # dev npools limit rdma-args...
aging() {
	local period=2 drained gone
	$RDMA resource set frmr_pools dev rxe3 pinned 0:4:0:0 3 || return 1
	[ "$(queued_unpinned rxe3)" -gt 0 ] || { echo "nothing queued to age"; return 1; }
	read -r drained gone < <(aging_watch rxe3 1 30 resource set frmr_pools dev rxe3 \
		aging $period)
	echo "unpinned handles last seen by a dump started at ${drained}s, other pools at ${gone}s"
	pools_show rxe3 -dd
	within "$drained" $((2 * period + 4)) && within "$gone" $((4 * period + 4)) || return 1
	[ "$(pool_val rxe3 4 queue)" = 3 ] && [ "$(pool_val rxe3 4 pinned)" = 3 ] &&
		[ "$(pool_val rxe3 4 drv_aged)" -gt 0 ] || return 1
	# unpinned, the last pool goes too
	read -r drained gone < <(aging_watch rxe3 0 30 resource set frmr_pools dev rxe3 \
		pinned 0:4:0:0 0)
	echo "unpinned pool last seen by a dump started at ${gone}s"
	within "$gone" $((4 * period + 4))
}
pstep aging-drains-keeps-pinned 90 aging

# --- link delete under pooled handles and a killed process's MRs, then unload ------------
kill_then_delete() {
	$FRMR_BIN/frmr_churn -d rxe0 -P 2 -K 2 -r 3 -H 4 -k > /tmp/hold.txt &
	local pid=$! t
	for t in $(seq 1 $((50 * STEP_SLACK))); do
		[ "$(grep -c holding /tmp/hold.txt)" = 2 ] && break
		sleep 0.2
	done
	[ "$(grep -c holding /tmp/hold.txt)" = 2 ] || { kill -9 $pid; return 1; }
	$RDMA resource show mr dev rxe0 | head
	pkill -9 -P $pid; kill -9 $pid; wait $pid
	$RDMA link delete rxe0 && $RDMA link delete rxe1 && $RDMA link delete rxe2 &&
		$RDMA link delete rxe3 && $RDMA link delete rxe4
}
step kill-holder-then-link-delete 60 kill_then_delete
step unload-stack 60 unload_modules
step no-pool-leak-reports 10 no_pool_leak_reports
