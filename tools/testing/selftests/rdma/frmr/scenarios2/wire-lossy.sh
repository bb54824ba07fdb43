# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# wire-lossy (two hosts): netem on a's side of the link (loss 5%, duplication 5%,
# reordering 25%, delay 2 ms) while the owner churns MRs and moves its buffer to a new
# registration every cycle (frmr_wire -m lossy, 30 cycles, owner on a then on b): the peer's
# traffic completes or fails cleanly, and what completed carries the right bytes; old rkeys
# never reach the buffer. Then pingpong and rping, which check what they receive, cross the
# same wire. The wire must really have dropped packets.

host2_begin
h2_netem_on
h2_lossy a 30
h2_lossy b 30
h2_pingpong a 200
h2_netem_off
host2_end
