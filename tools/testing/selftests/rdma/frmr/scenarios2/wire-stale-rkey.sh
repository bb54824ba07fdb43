# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# wire-stale-rkey (two hosts): the peer keeps using an rkey after its owner on the other
# host deregistered the MR and registered the buffer again (frmr_wire -m stale, 30 cycles,
# a WRITE and a READ with the old rkey each): every such access ends with a remote access
# error, the canary stays whole, the owner's and the peer's QPs go to ERR. The owner is
# first on a, then on b; an owner with our stack gets the same handle back every cycle.

host2_begin
h2_stale a 30
h2_stale b 30
host2_end
