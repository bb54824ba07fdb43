#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# frmr_mem_pools.py - memory figures of one device's FRMR pools, from `rdma -j -dd resource show
# frmr_pools dev DEV` (mem-lib.sh).
#
#   frmr_mem_pools.py sum < pools.json
#       One shell assignment per figure (P_name=value), summed over every pool:
#       P_pools, P_queue, P_in_use, P_kept (queued handles pinning keeps: at most pinned - in_use
#       a pool), P_unpinned (queued beyond that), P_bad_pools (pools with unpinned queued
#       handles), P_storage / P_unpinned_storage (rxe page storage of the queued handles: 16
#       bytes a page, so queue * num_dma_blocks * 16), and the -dd counters P_mem_bytes,
#       P_reclaimed, P_over_limit, P_destroyed (-1 when the tool does not print them).
#   frmr_mem_pools.py delta OLD.json NEW.json
#       Growth of the pools' memory from OLD to NEW: the sum over NEW's pools of drv_mem_bytes
#       minus that pool's drv_mem_bytes in OLD (0 for a pool OLD lacks); -1 without mem_bytes.
#       With OLD taken when nothing unpinned was queued, the core's part (pool and ring) is in
#       both, and the growth is the driver memory of the handles queued since.
import json
import sys

from frmr_pools import pool_key

RXE_PAGE_BYTES = 16  # struct rxe_mr_page: a page pointer and an offset


def counter(pools, name):
    if pools and not all(name in p for p in pools):
        return -1
    return sum(int(p[name]) for p in pools)


def summary(pools):
    s = dict(pools=len(pools), queue=0, in_use=0, kept=0, unpinned=0, bad_pools=0, storage=0,
             unpinned_storage=0)
    for p in pools:
        q, use, pin, blocks = (int(p[k]) for k in ("queue", "in_use", "pinned", "num_dma_blocks"))
        kept = min(q, max(0, pin - use))
        s["queue"] += q
        s["in_use"] += use
        s["kept"] += kept
        s["unpinned"] += q - kept
        s["bad_pools"] += q > kept
        s["storage"] += q * blocks * RXE_PAGE_BYTES
        s["unpinned_storage"] += (q - kept) * blocks * RXE_PAGE_BYTES
    for c in ("mem_bytes", "reclaimed", "over_limit", "destroyed"):
        s[c] = counter(pools, "drv_" + c)
    for k, v in s.items():
        print(f"P_{k}={v}")


def delta(old, new):
    if counter(new, "drv_mem_bytes") < 0 or counter(old, "drv_mem_bytes") < 0:
        print(-1)
        return
    before = {pool_key(p): int(p["drv_mem_bytes"]) for p in old}
    print(sum(int(p["drv_mem_bytes"]) - before.get(pool_key(p), 0) for p in new))


if sys.argv[1] == "sum":
    summary(json.load(sys.stdin))
elif sys.argv[1] == "delta":
    delta(json.load(open(sys.argv[2])), json.load(open(sys.argv[3])))
else:
    sys.exit(f"usage: {sys.argv[0]} sum < pools.json | delta OLD.json NEW.json")
