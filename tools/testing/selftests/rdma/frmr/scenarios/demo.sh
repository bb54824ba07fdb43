# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# demo (the main job): rxe on a dummy netdev, traffic, and the FRMR pools it left behind.
D=$vmout/demo.txt
say() { echo "$*" | tee -a "$D"; }
show() { say "\$ $*"; "$@" 2>&1 | tee -a "$D"; }

step load-our-modules 120 load_modules
cat "$vmout"/steps/01-*.log >> "$D"
step netdev 20 netdev_dummy dum0 10.10.0.1/24
step rxe-add 30 $RDMA link add rxe0 type rxe netdev dum0
show $RDMA link show rxe0/1
step ib_write_bw 120 server_client 100 "ib_write_bw -d rxe0 -x 1 -s 65536 -n 1000 -F" \
	"ib_write_bw -d rxe0 -x 1 -s 65536 -n 1000 -F --report_gbits 10.10.0.1"
say "\$ ib_write_bw -d rxe0 -x 1 -s 65536 -n 1000 --report_gbits (client)"
grep -A3 '#bytes' "$vmout"/steps/*-ib_write_bw.log | tee -a "$D"
step rping 120 server_client 100 "rping -s -a 10.10.0.1 -C 50" "rping -c -a 10.10.0.1 -C 50"
step ib_write_bw-R 120 server_client 100 "ib_write_bw -d rxe0 -R -s 4096 -n 1000 -F" \
	"ib_write_bw -d rxe0 -R -s 4096 -n 1000 -F 10.10.0.1"
show $RDMA resource show frmr_pools dev rxe0
show $RDMA resource show frmr_pools dev rxe0 -d
show $RDMA -p -j resource show frmr_pools dev rxe0 -dd
step frmr-pools-visible 20 bash -c "$RDMA resource show frmr_pools dev rxe0 | grep -q '^dev rxe0 key'"
step rxe-delete 30 $RDMA link delete rxe0
step unload-stack 60 unload_modules
