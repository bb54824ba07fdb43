# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# rxe-lossy: two rxe devices, one on each end of a veth pair, talk over the wire. A replayed
# RDMA READ (its response lost, the requester retransmits) checks the MR's PD again
# (frmr_read_replay); then, with netem loss, duplication, reordering and delay in both
# directions, two processes in different PDs trade pooled MR handles every round while their
# peers WRITE and READ, and each one's old rkey, aimed at the other's MR, is always refused
# (frmr_lossy). Needs $FRMR_BIN/frmr_read_replay and frmr_lossy.

. "$FRMR_SELFTEST/frmr-pools-lib.sh"

step load-our-modules 120 load_modules
step test-programs 10 bash -c "cd $FRMR_BIN && ls -l frmr_read_replay frmr_lossy"
# Both addresses are local, so the kernel would deliver each end's packets through lo, where
# no rxe listens: route each peer address out of the other end's veth (rules for locally
# made packets, iif lo, ahead of the local table), and accept our own addresses as sources.
wire() {
	netdev_veth veth0 veth1 10.50.0.1/24 10.50.0.2/24 || return 1
	local c
	for c in all default veth0 veth1; do
		sysctl -qw net.ipv4.conf.$c.rp_filter=0 net.ipv4.conf.$c.accept_local=1 ||
			return 1
	done
	ip rule add pref 100 lookup local && ip rule del pref 0 lookup local &&
		ip route add 10.50.0.2 dev veth0 src 10.50.0.1 table 10 &&
		ip rule add pref 10 iif lo to 10.50.0.2 lookup 10 &&
		ip route add 10.50.0.1 dev veth1 src 10.50.0.2 table 11 &&
		ip rule add pref 11 iif lo to 10.50.0.1 lookup 11 || return 1
	ip rule show
	ip route get 10.50.0.2 from 10.50.0.1 | grep -q 'dev veth0' &&
		ip route get 10.50.0.1 from 10.50.0.2 | grep -q 'dev veth1'
}
step wire 20 wire
step rxe-add 60 bash -c "$RDMA link add rxe0 type rxe netdev veth0 &&
	$RDMA link add rxe1 type rxe netdev veth1 && $RDMA link show"
# Pools through our own netlink client (no dependency on a patched rdma tool). Nothing ages
# while the counters are predicted.
export NLDEV="python3 $FRMR_SELFTEST/nldev.py"
step aging-3600 10 $NLDEV set rxe1 aging 3600

# rxe hardware counters of DEV, one "name value" a line
hw_counters() { # dev
	grep -H . /sys/class/infiniband/"$1"/ports/1/hw_counters/* | sed 's|.*/||; s|:| |'
}
hw_counter() { hw_counters "$1" | awk -v n="$2" '$1 == n { print $2 }'; } # dev name

# Packets really cross veth (not rxe's loopback): the responder's veth counts them.
over_the_wire() {
	local before after
	before=$(cat /sys/class/net/veth1/statistics/rx_packets)
	timeout 60 ibv_rc_pingpong -d rxe1 -g 1 -n 20 > /tmp/pp-srv.log 2>&1 &
	local s=$!
	sleep 1.5
	timeout 60 ibv_rc_pingpong -d rxe0 -g 1 -n 20 10.50.0.2 || { kill $s; wait $s; return 1; }
	wait $s || return 1
	after=$(cat /sys/class/net/veth1/statistics/rx_packets)
	echo "veth1 received $((after - before)) packets"
	[ $((after - before)) -ge 40 ]
}
step over-the-wire 60 over_the_wire

# --- a replayed READ after its MR left the QP's PD ----------------------------------------
# Blocking drops everything the responder (rxe1, veth1) sends; the requester's READ then
# times out (2.1 s) and is retransmitted: a duplicate that the responder replays.
replay() {
	local d0 d1
	d0=$(hw_counter rxe1 duplicate_request)
	$FRMR_BIN/frmr_read_replay -r rxe0 -s rxe1 -g 1 -p 2 \
		-B "tc qdisc add dev veth1 root netem loss 100%" \
		-U "tc qdisc del dev veth1 root"
	local rc=$?
	d1=$(hw_counter rxe1 duplicate_request)
	echo "rxe1 duplicate_request: $d0 -> $d1"
	[ $rc = 0 ] && [ $((d1 - d0)) -ge 2 ]
}
step read-replay-checks-pd 90 replay

# --- handles move between processes on a lossy wire -------------------------------------
NETEM="loss 5% duplicate 5% reorder 25% delay 2ms"
step netem-on 10 bash -c "tc qdisc add dev veth0 root netem $NETEM &&
	tc qdisc add dev veth1 root netem $NETEM && tc qdisc show dev veth0 && tc qdisc show dev veth1"
export ROUNDS=40
lossy() {
	local d rc
	for d in rxe0 rxe1; do hw_counters $d > /tmp/hw-$d-before.txt; done
	$FRMR_BIN/frmr_lossy -q rxe0 -o rxe1 -g 1 -r $ROUNDS -p 4
	rc=$?
	# the requester's (rxe0) retry counters tell a stall from a lost answer
	for d in rxe0 rxe1; do
		hw_counters $d > /tmp/hw-$d-after.txt
		join /tmp/hw-$d-before.txt /tmp/hw-$d-after.txt |
			awk -v d=$d '{ printf "%s %s %d\n", d, $1, $3 - $2 }'
	done
	tc -s qdisc show dev veth0
	tc -s qdisc show dev veth1
	[ $rc = 0 ] || return 1
	# the wire did drop and duplicate packets, and the responder saw duplicates
	[ "$(join /tmp/hw-rxe1-before.txt /tmp/hw-rxe1-after.txt |
		awk '$1 == "duplicate_request" { print $3 - $2 }')" -gt 0 ]
}
step lossy-handle-moves 60 lossy
# The 4-page pool of rxe1: 2 handles, and in every round each process popped the handle the
# other had just pushed (2 hits a round); nothing in use afterwards, nothing destroyed.
pool_counter() { # counter: of rxe1's user pool of 4 blocks
	$NLDEV show rxe1 -d | awk -v n="$1" '$4 == "0:4:0:0" {
		for (i = 5; i < NF; i++) if ($i == n) print $(i + 1) }'
}
lossy_pools() {
	$NLDEV show rxe1 -d
	[ "$(pool_counter created)" = 2 ] && [ "$(pool_counter misses)" = 2 ] &&
		[ "$(pool_counter hits)" = $((2 * ROUNDS)) ] && [ "$(pool_counter in_use)" = 0 ] &&
		[ "$(pool_counter queue)" = 2 ] && [ "$(pool_counter destroyed)" = 0 ]
}
step lossy-pool-counters 30 lossy_pools
step netem-off 10 bash -c "tc qdisc del dev veth0 root && tc qdisc del dev veth1 root"

step rxe-delete 30 bash -c "$RDMA link delete rxe0 && $RDMA link delete rxe1"
step unload-stack 60 unload_modules
step no-pool-leak-reports 10 no_pool_leak_reports
