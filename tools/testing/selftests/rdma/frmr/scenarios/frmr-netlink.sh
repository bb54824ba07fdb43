# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# frmr-netlink: nldev's FRMR pool commands (RDMA_NLDEV_CMD_FRMR_POOLS_GET/SET) against rxe0 on a
# dummy netdev, through a netlink client of our own (nldev.py): listing and setting, malformed
# requests (errno + extack, nothing changed), a refused key told from a failed creation (rxe1
# runs out of MR indexes), CAP_NET_ADMIN, network namespaces, multi-message
# dumps of hundreds of pools while they age away; then through the patched rdma tool
# (rdma_tool.py): output char for char (rdma-resource(8)), text and JSON, set aging and pinned,
# the aging period of a device without pools, every bad input, unprivileged set, filters, every
# printed key fed back to set.
#
# rxe's own pools are tested; frmr_kmr ($FRMR_BIN/kmr, built on the host by the selftest
# Makefile) allocates kernel MEM_REG MRs on rxe0, which gives it a kernel-only pool.

NLDEV="python3 $FRMR_SELFTEST/nldev.py"
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all"
export NLDEV NOBODY

. "$FRMR_SELFTEST/frmr-pools-lib.sh"

step load-our-modules 120 load_modules
step netdev 20 netdev_dummy dum0 10.10.0.1/24
step rxe-add 30 $RDMA link add rxe0 type rxe netdev dum0

# Exclusive network-namespace mode must be set while no other namespace exists: first.
netns_exclusive() {
	$NLDEV netns-exclusive || return 1
	local idx
	idx=$($NLDEV index rxe0) || return 1
	echo "rxe0 has index $idx"
	unshare -n $NLDEV test invisible "$idx"
}
step netns-exclusive-invisible 60 netns_exclusive
netns_shared() {
	# The namespace of the previous step is freed asynchronously: retry.
	local i
	for i in $(seq 20); do
		$NLDEV netns-shared && break
		sleep 0.5
	done
	unshare -n $NLDEV test visible rxe0
}
step netns-shared-visible 60 netns_shared

step rxe0-has-pools 30 bash -c "$NLDEV show rxe0 | grep '^dev rxe0 aging'"

step show 30 $NLDEV show rxe0 -d
step set-aging 30 bash -c "$NLDEV set rxe0 aging 30 && $NLDEV show rxe0 | grep -x 'dev rxe0 aging 30'"
step set-pinned 30 bash -c "$NLDEV set rxe0 pinned 0:40:0:0 5 &&
	$NLDEV show rxe0 | grep 'key 0:40:0:0 queue 5 in_use 0 max_in_use 0 pinned 5' &&
	$NLDEV set rxe0 pinned 0:40:0:0 0 && $NLDEV set rxe0 aging 60"
step malformed 120 $NLDEV test malformed rxe0
# The extack says which step of a pinned SET failed: the key (refused by the driver's
# build_key) or the creation of handles for a valid key (rxe1's MR table runs full; its
# queued handles go with the device).
step key-refused 30 $NLDEV test key-refused rxe0
mr_limit() {
	netdev_dummy dum1 10.11.0.1/24 && $RDMA link add rxe1 type rxe netdev dum1 || return 1
	$NLDEV test mr-limit rxe1
	local rc=$?
	$RDMA link delete rxe1 || return 1
	return $rc
}
step pinned-mr-limit 300 mr_limit
step both-attributes 30 $NLDEV test both rxe0
# A kernel-only pool: frmr_kmr's MEM_REG MRs on rxe0.
KMR_N=4
export KMR_N
kmr_load() {
	insmod "$FRMR_BIN/kmr/frmr_kmr.ko" dev=rxe0 count=$KMR_N sg=32 || return 1
	dmesg | grep 'frmr_kmr: ' | tail -2
	dmesg | grep -q "frmr_kmr: rxe0: $KMR_N MEM_REG MRs of 32 sg allocated"
}
step kmr-load 30 kmr_load
step details 30 $NLDEV test details rxe0 1
step roundtrip 60 $NLDEV test roundtrip rxe0
step unprivileged 30 $NOBODY $NLDEV test eperm rxe0

# The rdma tool (our patched iproute2) against the same pools.
RDMA_TOOL="python3 $FRMR_SELFTEST/rdma_tool.py"
export RDMA_TOOL
step tool-is-ours 10 bash -c "[ '$RDMA' = '$FRMR_BIN/rdma' ] && $RDMA -V"
# A device without pools (a second, unused rxe): -d reads its aging period back from the
# device line, set aging on it works.
tool_aging_no_pools() {
	netdev_dummy dum7 10.10.7.1/24 && $RDMA link add rxe7 type rxe netdev dum7 || return 1
	$RDMA_TOOL devaging rxe7
	local rc=$?
	$RDMA link delete rxe7 || return 1
	return $rc
}
step tool-aging-no-pools 60 tool_aging_no_pools
# Setting the period re-arms the aging tick one period ahead: with a day, no pool ages
# away between two dumps of a test.
step tool-freeze-aging 10 $RDMA resource set frmr_pools dev rxe0 aging 86400
tool_matches_netlink() {
	$RDMA resource set frmr_pools dev rxe0 pinned 0:50:0:0 2 || return 1
	$RDMA resource show frmr_pools dev rxe0 | sed 's/ $//' | tee /tmp/tool.txt
	$NLDEV show rxe0 | grep '^dev rxe0 key' | tee /tmp/ours.txt
	diff /tmp/tool.txt /tmp/ours.txt || return 1
	$RDMA resource set frmr_pools dev rxe0 pinned 0:50:0:0 0
}
step tool-matches-netlink 60 tool_matches_netlink
step tool-pinned 60 $RDMA_TOOL pinned rxe0
step tool-format 120 $RDMA_TOOL format rxe0
step tool-aging 60 $RDMA_TOOL aging rxe0
step tool-filters 120 $RDMA_TOOL filters rxe0
step tool-bad-input 300 $RDMA_TOOL bad rxe0
step tool-unprivileged 60 $RDMA_TOOL unpriv rxe0
step tool-roundtrip 120 $RDMA_TOOL roundtrip rxe0
step tool-kernel-only-pool 60 $RDMA_TOOL kernel rxe0 $KMR_N
kmr_unload() {
	rmmod frmr_kmr || return 1
	dmesg | grep -q "frmr_kmr: rxe0: $KMR_N MRs freed" || return 1
	# The kernel-only pool got its handles back: in_use 0, queue >= KMR_N.
	pools_json rxe0 | pools_py kernel-pool-back $KMR_N
}
step kmr-unload 30 kmr_unload
step tool-restore-aging 10 $RDMA resource set frmr_pools dev rxe0 aging 60

step big-dump-aging 300 $NLDEV test big rxe0

step rxe-delete 30 $RDMA link delete rxe0
step unload-stack 60 unload_modules
# frmr_kmr's kernel-only pool and rxe0's pools went with the device: no handle left behind.
step no-pool-leak-reports 10 no_pool_leak_reports
