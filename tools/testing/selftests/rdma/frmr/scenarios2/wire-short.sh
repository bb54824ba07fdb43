# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# wire-short (two hosts): the short form of the four two-host scenarios for `make check`:
# ib_write_bw (servers on a), ib_write_bw -R and ib_read_bw (servers on b), pingpong and
# rping (server on a); 3 nvme-rdma rounds with the target on b and the initiator on a (hit
# rate checked when a runs our stack); 10 stale-rkey cycles with the owner on a, 10 on b;
# 10 lossy cycles with the owner on a under netem.

host2_begin
c="-d $RXE -x 1 -s 65536 -n 100 -F"
pair_step ib_write_bw-server-a a 100 18515 "ib_write_bw $c" "ib_write_bw $c $PEER_IP"
r="-d $RXE -R -s 65536 -n 100 -F"
pair_step ib_write_bw-R-server-b b 100 18515 "ib_write_bw $r" "ib_write_bw $r $PEER_IP"
pair_step ib_read_bw-server-b b 100 18515 "ib_read_bw $c" "ib_read_bw $c $PEER_IP"
h2_pingpong a 100
h2_nvme_modules
h2_nvme b 3
h2_nvme_unload
h2_stale a 10
h2_stale b 10
h2_netem_on
h2_lossy a 10
h2_netem_off
host2_end
