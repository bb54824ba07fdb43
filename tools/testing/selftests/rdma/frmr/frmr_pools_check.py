#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
"""frmr_pools_check.py - compare FRMR pool counters with a prediction.

Usage: frmr_pools_check.py POOLS_JSON PREDICTION
  POOLS_JSON: output of `rdma -j -dd resource show frmr_pools dev DEV`
  PREDICTION: lines "pool num_dma_blocks N <counter> V ..." (frmr_churn);
              counters hits/misses/created/destroyed/... are the -dd driver
              counters, queue/in_use/pinned the standard ones.
Checks every predicted counter of the user pool (no kernel_vendor_key) of
that size, that in_use is 0, and the invariant
created - destroyed - dropped == queue + in_use for every pool.
"""
import json
import sys

from frmr_pools import invariant, user_pools, val


def main():
    pools = json.load(open(sys.argv[1]))
    bad = 0
    for p in pools:
        try:
            lhs, rhs = invariant(p)
        except KeyError as e:
            print(f"FAIL pool {p.get('key')}: counter {e} missing")
            bad += 1
            continue
        if lhs != rhs:
            print(f"FAIL pool {p.get('key')}: created-destroyed-dropped {lhs} != queue+in_use {rhs}")
            bad += 1
    user = {int(p["num_dma_blocks"]): p for p in user_pools(pools)}
    n = 0
    for line in open(sys.argv[2]):
        f = line.split()
        if not f or f[0] != "pool":
            continue
        want = dict(zip(f[1::2], (int(x) for x in f[2::2])))
        blocks = want.pop("num_dma_blocks")
        p = user.get(blocks)
        if p is None:
            print(f"FAIL no user pool of {blocks} blocks")
            bad += 1
            continue
        want.setdefault("in_use", 0)
        for name, v in want.items():
            got = val(p, name)
            if got != v:
                print(f"FAIL pool {blocks} blocks: {name} {got}, predicted {v}")
                bad += 1
        n += 1
        print(f"ok pool {blocks} blocks: " +
              " ".join(f"{k} {val(p, k)}" for k in want))
    print(f"{n} pools checked, {bad} failures")
    return 1 if bad or not n else 0


if __name__ == "__main__":
    sys.exit(main())
