# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# rxe-smoke: our modules load, rxe carries perftest/pingpong/rping traffic on a dummy and a veth
# device, the in-box ib_core importers load against our ib_core, and the stack unloads.

step load-our-modules 120 load_modules
setup_netdevs() {
	netdev_dummy dum0 10.10.0.1/24 && netdev_veth veth0 veth1 10.20.0.1/24 10.20.0.2/24
}
step netdevs 20 setup_netdevs
step rxe-add-dummy 30 $RDMA link add rxe0 type rxe netdev dum0
step rxe-add-veth 30 $RDMA link add rxe1 type rxe netdev veth0
step rdma-link-show 10 bash -c "$RDMA link show | tee /dev/stderr | grep -q 'rxe0/1 state ACTIVE' && $RDMA link show | grep -q 'rxe1/1 state ACTIVE'"

# Traffic volume: the test kernel (KASAN+lockdep under TCG) is ~10x slower.
N=500; [ "$vmkind" = test ] && N=60

for dev in rxe0 rxe1; do
	ip=10.10.0.1; [ $dev = rxe1 ] && ip=10.20.0.1
	step "ib_write_bw-$dev" 120 server_client 100 \
		"ib_write_bw -d $dev -x 1 -s 65536 -n $N -F" \
		"ib_write_bw -d $dev -x 1 -s 65536 -n $N -F $ip"
	step "ib_write_bw-R-$dev" 120 server_client 100 \
		"ib_write_bw -d $dev -R -s 65536 -n $N -F" \
		"ib_write_bw -d $dev -R -s 65536 -n $N -F $ip"
done
step ib_read_bw 120 server_client 100 "ib_read_bw -d rxe0 -x 1 -s 65536 -n $N -F" \
	"ib_read_bw -d rxe0 -x 1 -s 65536 -n $N -F 10.10.0.1"
step ib_send_bw 120 server_client 100 "ib_send_bw -d rxe0 -x 1 -s 65536 -n $N -F" \
	"ib_send_bw -d rxe0 -x 1 -s 65536 -n $N -F 10.10.0.1"
step ibv_rc_pingpong 120 server_client 100 "ibv_rc_pingpong -d rxe0 -g 1 -n $N" \
	"ibv_rc_pingpong -d rxe0 -g 1 -n $N 10.10.0.1"
step rping 120 server_client 100 "rping -s -a 10.20.0.1 -C 20" \
	"rping -c -a 10.20.0.1 -C 20 -v"

# `rdma resource show mr` while traffic runs: the MRs of a live ib_write_bw appear.
show_mr_during_traffic() {
	timeout 60 ib_write_bw -d rxe0 -x 1 -s 65536 -D 8 -F > /tmp/srv.log 2>&1 &
	local s=$!
	sleep 1.5
	timeout 60 ib_write_bw -d rxe0 -x 1 -s 65536 -D 8 -F 10.10.0.1 > /tmp/cli.log 2>&1 &
	local c=$!
	sleep 5
	$RDMA resource show mr | tee /tmp/mr.txt
	wait $c; local rc=$?
	wait $s
	[ $rc -eq 0 ] && grep -q 'comm ib_write_bw' /tmp/mr.txt
}
step resource-show-mr-during-traffic 90 show_mr_during_traffic

# In-box modules that import ib_core's symbols load against ours unchanged (ABI first).
# Only the stock kernel has them; the test kernel builds the whole stack from our tree.
[ "$vmkind" = stock ] && step inbox-importers-load 120 bash -c 'set -e
	for m in ib_ipoib nvme_rdma nvmet_rdma rpcrdma svcrdma ib_iser ib_isert ib_srp ib_srpt rdma_rxe; do
		modprobe $m 2>&1 || { echo "FAIL $m"; exit 1; }
		echo "loaded $m"
	done
	for m in ib_srpt ib_srp ib_isert ib_iser rpcrdma nvmet_rdma nvme_rdma ib_ipoib; do
		modprobe -r $m 2>/dev/null || rmmod $m
	done'
[ "$vmkind" = stock ] && step inbox-still-ours 10 check_build_ids
step rxe-delete 30 bash -c "$RDMA link delete rxe0 && $RDMA link delete rxe1"
step unload-stack 60 unload_modules
