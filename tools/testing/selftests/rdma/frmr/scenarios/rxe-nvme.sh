# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# rxe-nvme: nvme-rdma over rxe takes its kernel fast-registration MRs from rxe's kernel-only
# FRMR pools. A memory-backed null_blk namespace is exported by nvmet on the rdma transport;
# every round connects, writes a pattern, reads it back and compares, and disconnects. From
# round 2 on, at least 95% of the pops of the kernel pools are hits. Then `rdma link delete`
# while connected (nvme-rdma releases its MRs on device removal) and unload are clean.
# NVME_ROUNDS (default 20) sets the number of rounds.

NQN=nqn.2024-11.io.frmr:rxe-nvme
HOSTNQN=nqn.2024-11.io.frmr:host
CFG=/sys/kernel/config/nvmet
ROUNDS=${NVME_ROUNDS:-20}
export NQN HOSTNQN CFG ROUNDS	# steps run in child shells

. "$FRMR_SELFTEST/frmr-pools-lib.sh"
# "hits misses in_use" summed over the kernel pools of rxe0 (which only -dd shows).
kpools_sum() {
	pools_json rxe0 | python3 -c '
import json, sys
h = m = u = 0
for p in json.load(sys.stdin):
    if int(p.get("kernel_vendor_key", 0)):
        h += int(p["drv_hits"]); m += int(p["drv_misses"]); u += int(p["in_use"])
print(h, m, u)'
}

# (rxe-pools-short sources this scenario with the stack already loaded)
[ -e /sys/module/rdma_rxe ] || step load-our-modules 120 load_modules
step nvme-modules 60 bash -c "modprobe -a nvmet nvmet-rdma nvme-rdma &&
	modprobe null_blk nr_devices=1 memory_backed=1 gb=1"
step netdev 20 netdev_dummy dum0 10.10.0.1/24
step rxe-add 30 $RDMA link add rxe0 type rxe netdev dum0
POOLS_TOOL=0
pools_supported rxe0 && POOLS_TOOL=1

nvmet_setup() {
	# guest-run.sh mounts configfs before the configfs module is loaded
	mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
	mkdir $CFG/subsystems/$NQN && echo 1 > $CFG/subsystems/$NQN/attr_allow_any_host &&
	mkdir $CFG/subsystems/$NQN/namespaces/1 &&
	echo /dev/nullb0 > $CFG/subsystems/$NQN/namespaces/1/device_path &&
	echo 1 > $CFG/subsystems/$NQN/namespaces/1/enable &&
	mkdir $CFG/ports/1 && echo rdma > $CFG/ports/1/addr_trtype &&
	echo ipv4 > $CFG/ports/1/addr_adrfam && echo 10.10.0.1 > $CFG/ports/1/addr_traddr &&
	echo 4420 > $CFG/ports/1/addr_trsvcid &&
	ln -s $CFG/subsystems/$NQN $CFG/ports/1/subsystems/$NQN
}
step nvmet-setup 30 nvmet_setup
pstep aging-3600 10 $RDMA resource set frmr_pools dev rxe0 aging 3600

nvme_dev() { # the namespace block device of our subsystem
	# With native multipath (Debian's default) the block device nvmeXnY hangs off the
	# subsystem; the controller only has the hidden path node nvmeXcYnZ.
	local s
	for s in /sys/class/nvme-subsystem/nvme-subsys*; do
		[ "$(cat $s/subsysnqn 2>/dev/null)" = $NQN ] || continue
		ls -d $s/nvme*n1 2>/dev/null | xargs -rn1 basename | grep -E '^nvme[0-9]+n1$' | head -1
		return
	done
}
connect() {
	nvme connect -t rdma -a 10.10.0.1 -s 4420 -n $NQN -q $HOSTNQN || return 1
	local t
	for t in $(seq 1 100); do
		[ -n "$(nvme_dev)" ] && [ -b /dev/$(nvme_dev) ] && return 0
		sleep 0.1
	done
	echo "no namespace after connect"; return 1
}
io_verify() { # round
	local d=/dev/$(nvme_dev)
	dd if=/dev/urandom of=/tmp/pat bs=64k count=32 status=none &&
	dd if=/tmp/pat of=$d bs=64k seek=$1 oflag=direct status=none &&
	dd if=$d of=/tmp/back bs=64k skip=$1 count=32 iflag=direct status=none &&
	cmp /tmp/pat /tmp/back
}
round() { # n
	connect && io_verify "$1" && nvme disconnect -n $NQN
}

step round-1 60 round 1
if [ $POOLS_TOOL = 1 ]; then
	pools_show rxe0 -dd > "$vmout/kpools-round1.txt" 2>&1
	read -r H1 M1 U1 < <(kpools_sum)
	export H1 M1
fi
rounds() {
	local n
	for n in $(seq 2 $ROUNDS); do
		round $n || { echo "round $n failed"; return 1; }
	done
}
step "rounds-2-$ROUNDS" $((ROUNDS * 30)) rounds
hit_rate() {
	pools_show rxe0 -dd
	local h m u
	read -r h m u < <(kpools_sum)
	echo "round 1: hits $H1 misses $M1; after round $ROUNDS: hits $h misses $m in_use $u"
	python3 -c "
h, m = $h - $H1, $m - $M1
print(f'rounds 2-$ROUNDS: {h} hits, {m} misses, {100.0 * h / max(h + m, 1):.2f}% hits')
assert $M1 > 0, 'round 1 made no kernel pool miss: nvme-rdma did not use the pools'
assert h + m > 0 and h >= 0.95 * (h + m), 'hit rate below 95%'
assert $u == 0, 'kernel handles still in use'"
}
pstep kernel-pools-hit-rate 20 hit_rate
pstep kernel-pools-hidden-without-dd 10 bash -c \
	"! $RDMA -j -d resource show frmr_pools dev rxe0 | grep -q kernel_vendor_key"


# Device removal under a connected controller: nvme-rdma's remove_one deletes it and frees
# its MRs; then nvmet, the in-box nvme modules and our stack unload.
delete_connected() {
	connect || return 1
	io_verify 0 || return 1
	$RDMA link delete rxe0 || return 1
	local t
	for t in $(seq 1 100); do
		[ -z "$(nvme_dev)" ] && break
		sleep 0.1
	done
	[ -z "$(nvme_dev)" ] || { echo "controller still present"; return 1; }
	! $RDMA link show rxe0 2>/dev/null
}
step link-delete-while-connected 60 delete_connected
nvmet_teardown() {
	rm -f $CFG/ports/1/subsystems/$NQN && rmdir $CFG/ports/1 &&
	echo 0 > $CFG/subsystems/$NQN/namespaces/1/enable &&
	rmdir $CFG/subsystems/$NQN/namespaces/1 && rmdir $CFG/subsystems/$NQN &&
	modprobe -r nvme_rdma nvmet_rdma nvmet null_blk
}
step nvmet-teardown 60 nvmet_teardown
step unload-stack 60 unload_modules
