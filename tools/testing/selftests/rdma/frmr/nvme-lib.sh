# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# nvme-lib.sh - nvme-rdma over rxe for guest scenarios (sourced after guest-lib.sh and
# frmr-pools-lib.sh). rxe-nvme (stock kernel, 20 rounds) and rxe-pools-short (test kernel,
# 3 rounds) run the same steps through nvme_rxe_steps.
#
# nvme-rdma (the host) takes kernel IB_MR_TYPE_MEM_REG MRs from rxe's kernel-only pools;
# nvmet-rdma (the target, same guest, rxe loopback) needs no MR on RoCE. A memory-backed
# null_blk device is the namespace.

NVME_NQN=nqn.2024-11.io.frmr:rxe-nvme
NVME_HOSTNQN=nqn.2024-11.io.frmr:host
NVMET_CFG=/sys/kernel/config/nvmet
export NVME_NQN NVME_HOSTNQN NVMET_CFG	# steps run in child shells

# "hits misses in_use queue" summed over the kernel pools of DEV (which only -dd shows).
kpools_sum() { pools_json "$1" | pools_py kernel-sum; } # dev

nvmet_setup() { # ip
	# guest-run.sh mounts configfs before the configfs module is loaded
	mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
	local s=$NVMET_CFG/subsystems/$NVME_NQN p=$NVMET_CFG/ports/1
	mkdir $s && echo 1 > $s/attr_allow_any_host && mkdir $s/namespaces/1 &&
	echo /dev/nullb0 > $s/namespaces/1/device_path && echo 1 > $s/namespaces/1/enable &&
	mkdir $p && echo rdma > $p/addr_trtype && echo ipv4 > $p/addr_adrfam &&
	echo "$1" > $p/addr_traddr && echo 4420 > $p/addr_trsvcid &&
	ln -s $s $p/subsystems/$NVME_NQN
}
nvmet_teardown() {
	local s=$NVMET_CFG/subsystems/$NVME_NQN p=$NVMET_CFG/ports/1
	rm -f $p/subsystems/$NVME_NQN && rmdir $p && echo 0 > $s/namespaces/1/enable &&
	rmdir $s/namespaces/1 && rmdir $s && modprobe -r nvme_rdma nvmet_rdma nvmet null_blk
}

nvme_dev() { # the namespace block device of our subsystem, empty if none
	# With native multipath (Debian's nvme_core.multipath=Y) the disk nvmeXnY hangs off the
	# subsystem and the controller has only the hidden path node nvmeXcYnZ; without it (the
	# test kernel) the disk hangs off the controller, which the subsystem links to.
	local s d
	for s in /sys/class/nvme-subsystem/nvme-subsys*; do
		[ "$(cat $s/subsysnqn 2>/dev/null)" = $NVME_NQN ] || continue
		for d in $s/nvme*n1 $s/nvme*/nvme*n1; do
			[ -e "$d" ] || continue
			d=$(basename "$d")
			[[ $d =~ ^nvme[0-9]+n1$ ]] && { echo "$d"; return; }
		done
	done
}
nvme_connect() { # ip
	nvme connect -t rdma -a "$1" -s 4420 -n $NVME_NQN -q $NVME_HOSTNQN || return 1
	local t0=$SECONDS d
	while [ $((SECONDS - t0)) -lt $((10 * NVME_SLOW)) ]; do
		d=$(nvme_dev)
		if [ -n "$d" ] && [ -b /dev/$d ]; then
			echo "namespace /dev/$d: $(readlink -f /sys/block/$d)"
			return 0
		fi
		sleep 0.2
	done
	echo "no namespace block device after connect"; ls -R /sys/class/nvme-subsystem/; return 1
}
# Write a random pattern at 64 KiB block OFF with O_DIRECT, read it back, compare.
nvme_io_verify() { # off
	local d; d=/dev/$(nvme_dev)
	dd if=/dev/urandom of=/tmp/pat bs=64k count=32 status=none &&
	dd if=/tmp/pat of=$d bs=64k seek=$1 oflag=direct status=none &&
	dd if=$d of=/tmp/back bs=64k skip=$1 count=32 iflag=direct status=none &&
	cmp /tmp/pat /tmp/back
}
nvme_round() { # ip n
	nvme_connect "$1" && nvme_io_verify "$2" && nvme disconnect -n $NVME_NQN
}
nvme_rounds() { # ip first last
	local n
	for n in $(seq "$2" "$3"); do
		nvme_round "$1" $n || { echo "round $n failed"; return 1; }
	done
}

# Rounds 2..N reuse round 1's handles: at least 95% of the kernel pools' pops are hits
# (counters parsed from JSON), nothing is left in use, and every pool keeps
# created - destroyed - dropped == queue + in_use.
nvme_hit_rate() { # dev rounds h1 m1
	pools_show "$1" -dd
	pools_json "$1" > /tmp/kpools.json || return 1
	pools_py hit-rate "$2" "$3" "$4" < /tmp/kpools.json
}

# "index key-byte" of every nvme-rdma MR on DEV (rxe: lkey == rkey == index << 8 | byte).
nvme_mr_keys() { $RDMA -j resource show mr dev "$1" | pools_py mr-keys nvme_rdma; } # dev
# A kernel MEM_REG MR's key byte belongs to the ULP, so rxe only promises that a reused
# handle starts with a byte other than the one its previous owner left. Snapshot the keys
# of nvme-rdma's MRs after I/O, disconnect (every handle goes back), reconnect (the same
# indexes come back from the pools): no reused index may carry its previous byte.
nvme_kernel_key_changes() { # dev ip
	nvme_connect "$2" && nvme_io_verify 1 && nvme_mr_keys "$1" > /tmp/keys.push &&
		nvme disconnect -n $NVME_NQN || return 1
	nvme_connect "$2" && nvme_mr_keys "$1" > /tmp/keys.pop &&
		nvme disconnect -n $NVME_NQN || return 1
	pools_py key-bytes-changed /tmp/keys.push /tmp/keys.pop
}

# Kernel pools appear only with -dd: -d shows exactly the other pools.
nvme_kpools_hidden() { # dev
	$RDMA -j -d resource show frmr_pools dev "$1" > /tmp/d.json &&
		pools_json "$1" > /tmp/dd.json || return 1
	pools_py kernel-hidden /tmp/d.json /tmp/dd.json
}

# Kernel and user MRs never share a handle (Documentation/infiniband/rxe_frmr_pools.rst).
# One churn process registers user MRs of 1, 4, 16, 64 and 256 pages, the other 2 .. 512:
# a 256-page user MR could take a queued handle of nvme's 257-block kernel pool if the
# pools' classes mixed (a pop may use a pool less than twice its size). The user pools'
# counters must be exactly those predicted for fresh pools, and the kernel pools untouched.
nvme_user_kernel_apart() { # dev
	local before after
	before=$(kpools_sum "$1") || return 1
	$FRMR_BIN/frmr_churn -d "$1" -P 2 -K 5 -r 3 -H 4 -s 3 > /tmp/apart.pred || return 1
	after=$(kpools_sum "$1") || return 1
	pools_json "$1" > /tmp/apart.json || return 1
	pools_show "$1" -dd
	echo "kernel pools (hits misses in_use queue) before: $before, after: $after"
	[ "$before" = "$after" ] || { echo "user MRs touched the kernel pools"; return 1; }
	[ "$(echo $after | cut -d' ' -f4)" -gt 0 ] || { echo "no queued kernel handle"; return 1; }
	python3 "$FRMR_SELFTEST/frmr_pools_check.py" /tmp/apart.json /tmp/apart.pred
}

# rxe has no disassociate: a process holding user MRs blocks `rdma link delete`, so it is
# killed first; its MRs go back to the user pools. nvme-rdma stays connected: device removal
# makes it delete the controller and free its kernel MRs. Then the device and its pools go.
nvme_kill_holder_delete_connected() { # dev ip
	local pid t
	nvme_connect "$2" && nvme_io_verify 0 || return 1
	$FRMR_BIN/frmr_churn -d "$1" -P 2 -K 2 -r 2 -H 3 -k > /tmp/hold.txt &
	pid=$!
	for t in $(seq 1 $((100 * NVME_SLOW))); do
		[ "$(grep -c holding /tmp/hold.txt)" = 2 ] && break
		sleep 0.2
	done
	[ "$(grep -c holding /tmp/hold.txt)" = 2 ] || { kill -9 $pid; echo "no holder"; return 1; }
	$RDMA resource show mr dev "$1" | head
	pools_show "$1" -dd
	pkill -9 -P $pid; kill -9 $pid; wait $pid
	$RDMA link delete "$1" || return 1
	local t0=$SECONDS
	while [ -n "$(nvme_dev)" ] && [ $((SECONDS - t0)) -lt $((20 * NVME_SLOW)) ]; do
		sleep 0.2
	done
	[ -z "$(nvme_dev)" ] || { echo "controller still present"; return 1; }
	! $RDMA link show "$1" 2>/dev/null
}

# All nvme steps on a fresh rxe device: modules, target, ROUNDS connect/IO/disconnect rounds
# with the hit rate, kernel/user pools apart, kill + link delete while connected, teardown.
# NVME_SLOW scales the timeouts (the test kernel is ~10x slower).
nvme_rxe_steps() { # dev netdev ip/len rounds
	local dev=$1 netdev=$2 cidr=$3 rounds=$4 ip=${3%/*} H1 M1 rest
	NVME_SLOW=1
	[ "$vmkind" = test ] && NVME_SLOW=10
	export NVME_SLOW
	step nvme-modules $((30 * NVME_SLOW)) bash -c "modprobe -a nvmet nvmet-rdma nvme-rdma &&
		modprobe null_blk nr_devices=1 memory_backed=1 gb=1"
	step nvme-netdev 20 netdev_dummy "$netdev" "$cidr"
	step nvme-rxe-add 30 $RDMA link add "$dev" type rxe netdev "$netdev"
	POOLS_TOOL=0
	pools_supported "$dev" && POOLS_TOOL=1
	step nvmet-setup 30 nvmet_setup "$ip"
	pstep nvme-aging-3600 10 $RDMA resource set frmr_pools dev "$dev" aging 3600
	step nvme-round-1 $((40 * NVME_SLOW)) nvme_round "$ip" 1
	read -r H1 M1 rest < <(kpools_sum "$dev" 2>/dev/null)
	step "nvme-rounds-2-$rounds" $(((rounds - 1) * 20 * NVME_SLOW + 10)) \
		nvme_rounds "$ip" 2 "$rounds"
	pstep nvme-kernel-pools-hit-rate 30 nvme_hit_rate "$dev" "$rounds" "${H1:-0}" "${M1:-0}"
	step nvme-kernel-mr-new-key-on-reuse $((60 * NVME_SLOW)) nvme_kernel_key_changes \
		"$dev" "$ip"
	pstep nvme-kernel-pools-hidden-without-dd 20 nvme_kpools_hidden "$dev"
	pstep nvme-user-kernel-pools-apart $((60 * NVME_SLOW)) nvme_user_kernel_apart "$dev"
	step nvme-kill-holder-link-delete-connected $((60 * NVME_SLOW)) \
		nvme_kill_holder_delete_connected "$dev" "$ip"
	step nvmet-teardown $((30 * NVME_SLOW)) nvmet_teardown
}
