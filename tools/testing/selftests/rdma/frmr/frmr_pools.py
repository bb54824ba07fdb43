#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
"""frmr_pools.py - the FRMR pools' test logic, one copy for every guest test.

A library (nldev.py, rdma_tool.py, frmr_pools_check.py, frmr_mem_pools.py import it) and the
command the shell libraries run instead of inline Python (`pools_py CMD ...`, frmr-pools-lib.sh).

What it holds:
- the counter names of the -dd driver table and the core's invariant
  created - destroyed - dropped == queue + in_use, for a pool as the rdma tool prints it in
  JSON (drv_* keys) or as nldev.py parses it (a "counters" dict);
- pool keys: VENDOR_KEY:NUM_DMA_BLOCKS:ACCESS_FLAGS:ATS in hex, parsed and printed;
- check()/Fail, how every test reports a check;
- the netlink constants, read from the uapi headers the modules were built against
  (rdma/rdma_netlink.h, linux/netlink.h), never typed in: see uapi().

Commands (JSON of `rdma -j -dd resource show frmr_pools dev DEV` on stdin unless said):
  json                          exit 0 if stdin is JSON (the tool and kernel show pools)
  count                         number of pools
  val BLOCKS COUNTER            COUNTER of the user pools of BLOCKS blocks (none: no such pool)
  quiet-whole                   every pool: nothing in use, invariant holds (exit 1 if not)
  idle-with-hits                some pools, all idle, with hits (exit 1 if not)
  queued-unpinned               handles queued beyond what pinning keeps, summed
  kernel-sum                    "hits misses in_use queue" summed over the kernel-only pools
  kernel-pool-back N            one kernel-only pool, in_use 0, queue >= N (exit 1 if not)
  hit-rate ROUNDS H1 M1         kernel pools' hit rate of rounds 2..ROUNDS >= 95%, all whole
  kernel-hidden D.json DD.json  -d shows exactly the pools of -dd that are not kernel-only
  mr-keys COMM                  "index key-byte" of the MRs of COMM (`rdma -j resource show mr`)
  key-bytes-changed PUSH POP    reused MR indexes (mr-keys files) all got another key byte
  floor-watch RDMA DEV BLOCKS LIMIT ARGS...
  aging-watch RDMA DEV NPOOLS LIMIT ARGS...
                                run `RDMA ARGS...`, then poll DEV's pools (see each function)
  uapi [NAME...]                print the uapi constants (all, or NAME's)
  ship-uapi SRC DEST            copy the headers read from the include/uapi directory SRC to DEST
"""

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import time

# The -dd driver table, in the order the tool prints it (drv_NAME).
COUNTERS = ("hits", "misses", "created", "destroyed", "dropped", "aged",
            "reclaimed", "over_limit", "mem_bytes")
INVARIANT = "created - destroyed - dropped == queue + in_use"


# ---------------------------------------------------------------------------
# Checks.

class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)
    print("  ok: " + what)


# ---------------------------------------------------------------------------
# Pools and counters.

def val(pool, name):
    """A counter of a pool: the tool's JSON (NAME or drv_NAME) or nldev.py's dict (NAME or
    counters[NAME])."""
    for k in (name, "drv_" + name):
        if k in pool:
            return int(pool[k])
    if name in pool.get("counters", {}):
        return int(pool["counters"][name])
    raise KeyError(name)


def invariant(pool):
    """(created - destroyed - dropped, queue + in_use): equal in a whole pool."""
    return (val(pool, "created") - val(pool, "destroyed") - val(pool, "dropped"),
            val(pool, "queue") + val(pool, "in_use"))


def whole(pool):
    lhs, rhs = invariant(pool)
    return lhs == rhs


def is_kernel(pool):
    """A kernel-only pool (a non-zero kernel vendor key; JSON from the tool)."""
    return bool(int(pool.get("kernel_vendor_key", 0)))


def user_pools(pools):
    return [p for p in pools if not is_kernel(p)]


def kernel_pools(pools):
    return [p for p in pools if is_kernel(p)]


def user_pool(pools, blocks):
    """The user pool of BLOCKS blocks, or None."""
    for p in user_pools(pools):
        if int(p["num_dma_blocks"]) == int(blocks):
            return p
    return None


def unpinned(pool):
    """Queued handles beyond the pinned count."""
    return max(0, int(pool["queue"]) - int(pool["pinned"]))


# ---------------------------------------------------------------------------
# Keys: VENDOR_KEY:NUM_DMA_BLOCKS:ACCESS_FLAGS:ATS, hex, as the tool prints and takes them.

HEX = "[0-9a-f]+"
KEY_RE = "(%s):(%s):(%s):([01])" % (HEX, HEX, HEX)


def parse_key(s):
    """(vendor_key, num_dma_blocks, access_flags, ats) of a printed key; ValueError if s is
    not one."""
    m = re.fullmatch(KEY_RE, s)
    if not m:
        raise ValueError("key %r is not VENDOR_KEY:NUM_DMA_BLOCKS:ACCESS_FLAGS:ATS in hex" % s)
    return tuple(int(x, 16) for x in m.groups())


def fmt_key(k):
    return "%x:%x:%x:%x" % tuple(k[:4])


def pool_key(pool):
    """The full key of a pool of the tool's JSON: its printed key and kernel vendor key."""
    return parse_key(pool["key"]) + (int(pool.get("kernel_vendor_key", 0)),)


# ---------------------------------------------------------------------------
# uapi constants.
#
# The values come from the headers the modules under test were built against: the copy
# scripts/build-modules.sh (and build-testkernel.sh) leave in $FRMR_OUT/uapi, else the prepared
# tree ($FRMR_CACHE/tree/linux/include/uapi); $FRMR_UAPI names another include/uapi directory.

HEADERS = ("rdma/rdma_netlink.h", "linux/netlink.h")


def uapi_dirs():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.normpath(os.path.join(here, "../../../../.."))
    out = os.environ.get("FRMR_OUT") or os.path.join(repo, "out")
    cache = os.environ.get("FRMR_CACHE") or "/var/cache/frmr"
    dirs = [os.environ.get("FRMR_UAPI"), os.path.join(out, "uapi"),
            os.path.join(cache, "tree/linux/include/uapi")]
    return [d for d in dirs if d]


def uapi_dir():
    for d in uapi_dirs():
        if all(os.path.isfile(os.path.join(d, h)) for h in HEADERS):
            return d
    raise SystemExit("frmr_pools: no uapi headers (%s) in any of %s: run `make modules`" %
                     (", ".join(HEADERS), uapi_dirs()))


class _Eval:
    """Integer constant expressions of C headers: literals, names already known, ( ) ~ - + *
    << >> | & ^."""
    OPS = {ast.BitOr: lambda a, b: a | b, ast.BitAnd: lambda a, b: a & b,
           ast.BitXor: lambda a, b: a ^ b, ast.LShift: lambda a, b: a << b,
           ast.RShift: lambda a, b: a >> b, ast.Add: lambda a, b: a + b,
           ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b}

    def __init__(self, names):
        self.names = names

    def __call__(self, text):
        text = re.sub(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]+\b", r"\1", text.strip())
        return self.node(ast.parse(text, mode="eval").body)

    def node(self, n):
        if isinstance(n, ast.Constant) and isinstance(n.value, int):
            return n.value
        if isinstance(n, ast.Name) and n.id in self.names:
            return self.names[n.id]
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, (ast.Invert, ast.USub, ast.UAdd)):
            v = self.node(n.operand)
            return ~v if isinstance(n.op, ast.Invert) else -v if isinstance(n.op, ast.USub) \
                else v
        if isinstance(n, ast.BinOp) and type(n.op) in self.OPS:
            return self.OPS[type(n.op)](self.node(n.left), self.node(n.right))
        raise ValueError("not a constant expression")


def parse_header(text, names):
    """Add the enumerators and the object-like integer #defines of a C header to NAMES."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"\\\n", " ", text)
    ev = _Eval(names)
    for m in re.finditer(r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)[ \t]+([^\n]+)$", text,
                         flags=re.M):
        try:
            names[m.group(1)] = ev(m.group(2))
        except (ValueError, SyntaxError):
            pass
    for m in re.finditer(r"\benum\b\s*\w*\s*\{([^}]*)\}", text):
        nxt = 0
        for item in m.group(1).split(","):
            item = re.sub(r"^\s*#.*$", "", item, flags=re.M).strip()
            if not item:
                continue
            name, _, expr = item.partition("=")
            name = name.strip()
            if expr.strip():
                try:
                    nxt = ev(expr)
                except (ValueError, SyntaxError):
                    nxt = None
            if nxt is not None:
                names[name] = nxt
                nxt += 1
    return names


class Uapi:
    """The constants as attributes: uapi().RDMA_NLDEV_ATTR_FRMR_POOLS."""

    def __init__(self, d):
        self.dir = d
        self.values = {}
        for h in HEADERS:
            with open(os.path.join(d, h)) as f:
                parse_header(f.read(), self.values)

    def __getattr__(self, name):
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError("%s is in none of %s under %s" %
                                 (name, ", ".join(HEADERS), self.dir)) from None


_UAPI = None


def uapi():
    global _UAPI
    if _UAPI is None:
        _UAPI = Uapi(uapi_dir())
    return _UAPI


# ---------------------------------------------------------------------------
# Commands of the shell libraries.

def load():
    return json.load(sys.stdin)


def cmd_json():
    try:
        load()
    except ValueError:
        return 1
    return 0


def cmd_count():
    print(len(load()))


def cmd_val(blocks, name):
    for p in user_pools(load()):
        if int(p["num_dma_blocks"]) == int(blocks):
            print(p.get(name, ""))


def cmd_quiet_whole():
    """Every pool of DEV is quiet and whole: nothing in use, and the invariant holds."""
    bad = 0
    for p in load():
        c = {k: int(p[k]) for k in ("queue", "in_use", "drv_created", "drv_destroyed",
                                    "drv_dropped")}
        ok = c["in_use"] == 0 and whole(p)
        print(("ok  " if ok else "BAD ") + p["key"], c)
        bad += not ok
    return bad != 0


def cmd_idle_with_hits():
    """Every pool the traffic used is back to in_use 0, and was reused (hits > 0)."""
    pools = load()
    assert pools, "no pools"
    assert all(int(p["in_use"]) == 0 for p in pools), "handles still in use"
    assert sum(int(p.get("drv_hits", 0)) for p in pools) > 0, "no hits"
    print(len(pools), "pools, all idle, with hits")


def cmd_queued_unpinned():
    print(sum(unpinned(p) for p in load()))


def cmd_kernel_sum():
    kern = kernel_pools(load())
    print(sum(val(p, "hits") for p in kern), sum(val(p, "misses") for p in kern),
          sum(int(p["in_use"]) for p in kern), sum(int(p["queue"]) for p in kern))


def cmd_kernel_pool_back(n):
    """The kernel-only pool got its handles back: in_use 0, queue >= N."""
    k = kernel_pools(load())
    print(k)
    return not (len(k) == 1 and k[0]["in_use"] == 0 and k[0]["queue"] >= int(n))


def cmd_hit_rate(rounds, h1, m1):
    """Rounds 2..N reuse round 1's handles: at least 95% of the kernel pools' pops are hits,
    nothing is left in use, and every pool is whole."""
    pools = load()
    rounds, h1, m1 = int(rounds), int(h1), int(m1)
    kern = kernel_pools(pools)
    h = sum(val(p, "hits") for p in kern) - h1
    m = sum(val(p, "misses") for p in kern) - m1
    print(f"round 1: {m1} misses, {h1} hits; rounds 2-{rounds}: {h} hits, {m} misses, "
          f"{100.0 * h / max(h + m, 1):.2f}% hits")
    assert m1 > 0, "round 1 made no kernel pool miss: nvme-rdma did not use the pools"
    assert h + m > 0 and h >= 0.95 * (h + m), "hit rate below 95%"
    for p in pools:
        assert int(p["in_use"]) == 0, f"pool {p['key']}: {p['in_use']} handles still in use"
        assert whole(p), f"pool {p['key']}: counters inconsistent"


def cmd_kernel_hidden(d_json, dd_json):
    """Kernel pools appear only with -dd: -d shows exactly the other pools."""
    with open(d_json) as f:
        d = json.load(f)
    with open(dd_json) as f:
        dd = json.load(f)
    kern = kernel_pools(dd)
    print(f"-d: {len(d)} pools; -dd: {len(dd)} pools, {len(kern)} kernel-only")
    assert kern, "no kernel pool to hide"
    assert not kernel_pools(d), "-d shows a kernel pool"
    assert len(d) == len(dd) - len(kern), "-d hides more than the kernel pools"


def cmd_mr_keys(comm):
    """'index key-byte' of every MR of COMM (rxe: lkey == rkey == index << 8 | byte)."""
    for m in load():
        if comm in str(m.get("comm", "")):
            k = int(str(m["rkey"]), 16)
            print(k >> 8, k & 0xff)


def cmd_key_bytes_changed(push_file, pop_file):
    """No index reused after a disconnect and reconnect carries its previous key byte."""
    with open(push_file) as f:
        push = dict(line.split() for line in f)
    with open(pop_file) as f:
        pop = dict(line.split() for line in f)
    both = set(push) & set(pop)
    same = sorted(int(i) for i in both if push[i] == pop[i])
    print(f"{len(push)} MRs before the disconnect, {len(pop)} after the reconnect, "
          f"{len(both)} indexes reused, {len(same)} of them with the previous key byte")
    assert push and len(both) >= 0.95 * len(push), "the pools did not hand the indexes back"
    assert not same, f"reused with the previous owner's key byte: indexes {same[:10]}"


def dump(rdma, dev):
    out = subprocess.run([rdma, "-j", "-dd", "resource", "show", "frmr_pools", "dev", dev],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def cmd_floor_watch(rdma, dev, blocks, limit, *cmd):
    """Run `rdma ARGS...`, then poll the user pool of BLOCKS on DEV (at most LIMIT s) until it
    holds queue + in_use >= pinned. Prints the start time (seconds after the command) of the
    last dump that still saw it short, -1 if the floor never came back."""
    blocks, limit = int(blocks), float(limit)
    subprocess.run([rdma] + list(cmd), check=True)
    t0 = time.monotonic()
    short = 0.0
    while time.monotonic() - t0 < limit:
        ts = time.monotonic() - t0
        p = user_pool(dump(rdma, dev), blocks)
        if p and int(p["queue"]) + int(p["in_use"]) >= int(p["pinned"]):
            print(f"{short:.1f}")
            return 0
        short = ts
        time.sleep(0.2)
    print("-1")
    return 0


def cmd_aging_watch(rdma, dev, npools, limit, *cmd):
    """Run `rdma ARGS...`, then poll DEV until it has NPOOLS pools (at most LIMIT s). Prints,
    for the unpinned queued handles and for the extra pools, the start time (seconds after the
    command) of the last dump that still saw them (-1: never seen gone)."""
    npools, limit = int(npools), float(limit)
    subprocess.run([rdma] + list(cmd), check=True)
    t0 = time.monotonic()
    drained = gone = -1.0
    seen_queued = seen_pools = 0.0
    while time.monotonic() - t0 < limit:
        ts = time.monotonic() - t0
        pools = dump(rdma, dev)
        if drained < 0:
            if sum(unpinned(p) for p in pools) == 0:
                drained = seen_queued
            else:
                seen_queued = ts
        if len(pools) == npools:
            gone = seen_pools
            break
        seen_pools = ts
        time.sleep(0.2)
    print(f"{drained:.1f} {gone:.1f}")
    return 0


def cmd_ship_uapi(src, dest):
    """Copy HEADERS from the include/uapi directory SRC to DEST (scripts/lib.sh ship_uapi)."""
    for h in HEADERS:
        d = os.path.join(dest, h)
        os.makedirs(os.path.dirname(d), exist_ok=True)
        # A guest may be reading the header now (make check builds the test kernel while the
        # stock guests run): replace it whole, never truncate it under the reader.
        shutil.copyfile(os.path.join(src, h), d + ".new")
        os.replace(d + ".new", d)
    Uapi(dest)


def cmd_uapi(*names):
    u = uapi()
    for n in names or sorted(u.values):
        print(n, getattr(u, n))


COMMANDS = {
    "json": cmd_json, "count": cmd_count, "val": cmd_val, "quiet-whole": cmd_quiet_whole,
    "idle-with-hits": cmd_idle_with_hits, "queued-unpinned": cmd_queued_unpinned,
    "kernel-sum": cmd_kernel_sum, "kernel-pool-back": cmd_kernel_pool_back,
    "hit-rate": cmd_hit_rate, "kernel-hidden": cmd_kernel_hidden, "mr-keys": cmd_mr_keys,
    "key-bytes-changed": cmd_key_bytes_changed, "floor-watch": cmd_floor_watch,
    "aging-watch": cmd_aging_watch, "uapi": cmd_uapi, "ship-uapi": cmd_ship_uapi,
}


def main(argv):
    if len(argv) < 2 or argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    return int(bool(COMMANDS[argv[1]](*argv[2:])))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
