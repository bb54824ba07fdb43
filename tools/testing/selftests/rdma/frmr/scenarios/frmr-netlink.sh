# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# frmr-netlink: nldev's FRMR pool commands (RDMA_NLDEV_CMD_FRMR_POOLS_GET/SET) against rxe0 on a
# dummy netdev, through a netlink client of our own (nldev.py): listing and setting, malformed
# requests (errno + extack, nothing changed), CAP_NET_ADMIN, network namespaces, multi-message
# dumps of hundreds of pools while they age away, and the rdma tool when it is built.
#
# If rxe has no pools of its own (the rxe consumer is not merged), the test-only module
# fake_frmr_dev gives rxe0 pools: $FRMR_OUT/fake_frmr_dev/fake_frmr_dev.ko if the host built it,
# else it is built here, in the guest (~90 s under TCG), against the prepared tree that built
# our ib_core.

NLDEV="python3 $FRMR_SELFTEST/nldev.py"
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all"
export NLDEV NOBODY

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

# The ib_core that our modules were built from, and its prepared tree.
frmr_tree() {
	local want t id
	want=$(awk '$1=="ib_core"{print $2}' "$FRMR_OUT/modules/build-ids")
	for t in /var/cache/frmr*/tree/linux; do
		[ -f "$t/drivers/infiniband/core/ib_core.ko" ] || continue
		id=$(readelf -n "$t/drivers/infiniband/core/ib_core.ko" | awk '/Build ID/{print $3}')
		[ "$id" = "$want" ] && { echo "$t"; return 0; }
	done
	echo "no prepared tree built ib_core $want" >&2
	return 1
}
fake_pools() {
	local tree
	# Built on the host (with the build lock) by whoever runs this scenario, or here.
	if [ -f "$FRMR_OUT/fake_frmr_dev/fake_frmr_dev.ko" ]; then
		insmod "$FRMR_OUT/fake_frmr_dev/fake_frmr_dev.ko" dev=rxe0
		return
	fi
	tree=$(frmr_tree) || return 1
	echo "prepared tree: $tree"
	rm -rf /tmp/fake && cp -r "$FRMR_SELFTEST/fake_frmr_dev" /tmp/fake &&
	make -C "/usr/src/linux-headers-$(uname -r)" M=/tmp/fake \
		NOSTDINC_FLAGS="-nostdinc -I$tree/include -I$tree/include/uapi" \
		KBUILD_EXTRA_SYMBOLS="$tree/drivers/infiniband/core/Module.symvers" modules &&
	insmod /tmp/fake/fake_frmr_dev.ko dev=rxe0
}
if $NLDEV show rxe0 | grep -q '^dev rxe0 aging'; then
	result rxe0-has-its-own-pools 0
	FAKE=0
else
	step fake-pools-on-rxe0 600 fake_pools
	FAKE=1
fi
export FAKE

step show 30 $NLDEV show rxe0 -d
step set-aging 30 bash -c "$NLDEV set rxe0 aging 30 && $NLDEV show rxe0 | grep -x 'dev rxe0 aging 30'"
step set-pinned 30 bash -c "$NLDEV set rxe0 pinned 0:40:0:0 5 &&
	$NLDEV show rxe0 | grep 'key 0:40:0:0 queue 5 in_use 0 max_in_use 0 pinned 5' &&
	$NLDEV set rxe0 pinned 0:40:0:0 0 && $NLDEV set rxe0 aging 60"
step malformed 120 $NLDEV test malformed rxe0
step both-attributes 30 $NLDEV test both rxe0
# fake_frmr_dev pins handles in a kernel-only pool; rxe has one only once a kernel ULP made MRs.
step details 30 $NLDEV test details rxe0 $FAKE
step roundtrip 60 $NLDEV test roundtrip rxe0
step unprivileged 30 $NOBODY $NLDEV test eperm rxe0
step big-dump-aging 300 $NLDEV test big rxe0

# The rdma tool, when the patched one is built: same pools as our client.
if [ -x "$FRMR_BIN/rdma" ]; then
	rdma_tool() {
		$NLDEV set rxe0 pinned 0:80:0:0 2 || return 1
		$RDMA resource show frmr_pools dev rxe0 | sed 's/ *$//' | tee /tmp/tool.txt
		$NLDEV show rxe0 | grep '^dev rxe0 key' | tee /tmp/ours.txt
		diff /tmp/tool.txt /tmp/ours.txt || return 1
		# Only fake_frmr_dev is sure to have a kernel-only pool (rxe: once a ULP made MRs).
		$RDMA -dd resource show frmr_pools | tee /tmp/dd.txt | grep -q 'drv_created' || return 1
		[ "$FAKE" = 0 ] || grep -q 'kernel_vendor_key' /tmp/dd.txt || return 1
		$RDMA -j -d resource show frmr_pools dev rxe0 | python3 -m json.tool || return 1
		$RDMA resource set frmr_pools dev rxe0 aging 45 &&
			$NLDEV show rxe0 | grep -x 'dev rxe0 aging 45' || return 1
		$RDMA resource set frmr_pools dev rxe0 pinned 0:80:0:0 0 &&
			$NLDEV show rxe0 | grep -q 'key 0:80:0:0 .* pinned 0' || return 1
		$RDMA resource set frmr_pools dev rxe0 aging 60
	}
	step rdma-tool 60 rdma_tool
fi

if [ $FAKE = 1 ]; then
	unload_fake() {
		rmmod fake_frmr_dev || return 1
		dmesg | grep 'fake_frmr_dev: ' | tail -3
		dmesg | grep -q 'fake_frmr_dev: 0 handles alive at unload'
	}
	step unload-fake-pools 30 unload_fake
fi
step rxe-delete 30 $RDMA link delete rxe0
step unload-stack 60 unload_modules
