# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# wire-traffic (two hosts): ib_write_bw over TCP and rdma_cm (-R), ib_read_bw,
# ibv_rc_pingpong -c and rping -V between the two hosts, first with the servers on a, then
# with the servers on b, so each stack is once the server and once the client.

host2_begin
h2_traffic a 200
h2_traffic b 200
host2_end
