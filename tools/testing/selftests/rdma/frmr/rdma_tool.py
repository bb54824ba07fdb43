#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
"""rdma_tool.py - drive `rdma resource show|set frmr_pools` (our patched iproute2) against a
live device and check what it prints, in the guest (frmr-netlink, rxe-pools-short).

Usage: rdma_tool.py TEST DEV [ARG]
  format DEV       text (default, -d, -dd, -dd -p) and JSON (-j, -d, -dd, -p) of every pool,
                   line by line against rdma-resource(8); text, JSON and -dd counters agree
  aging DEV        set aging, read it back (text and JSON), restore
  pinned DEV       pin handles in a pool, see them queued, unpin
  bad DEV          every bad input: non-zero exit, a clear message, `show` unchanged
  unpriv DEV       SET without capabilities (the $NOBODY prefix) refused, GET works
  roundtrip DEV    every key `show` printed is accepted by `set ... pinned KEY N` as printed
  filters DEV      every filter selects exactly the pools whose value matches
  short DEV        the test kernel's short form: text, JSON, aging, one bad input, keys back
  devaging DEV     a device without pools: its aging period read back (-d device line)
  kernel DEV N     a kernel-only pool (frmr_kmr, N MRs) only under -dd, and never acted on by set
The tool is $RDMA (default: rdma on PATH). Exit status 0 when every check passed.
"""

import errno
import json
import os
import re
import subprocess
import sys
import time

from frmr_pools import COUNTERS, INVARIANT, KEY_RE, Fail, check, parse_key, whole

RDMA = os.environ.get("RDMA", "rdma")
NOBODY = os.environ.get("NOBODY", "setpriv --reuid=65534 --regid=65534 --clear-groups "
                        "--inh-caps=-all --bounding-set=-all").split()
BASE_KEYS = ["ifindex", "ifname", "key", "queue", "in_use", "max_in_use", "pinned"]
DETAIL_KEYS = ["ats", "access_flags", "vendor_key", "num_dma_blocks"]


def tool(*args, prefix=()):
    """Run the tool; return (rc, stdout, stderr)."""
    cmd = list(prefix) + [RDMA] + [str(a) for a in args]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def ok(*args, prefix=()):
    rc, out, err = tool(*args, prefix=prefix)
    if rc != 0 or err:
        raise Fail("rdma %s: rc %d, stderr %r" % (" ".join(map(str, args)), rc, err))
    return out


def show_json(dev, *opts):
    out = ok(*opts, "-j", "resource", "show", "frmr_pools", "dev", dev)
    pools = json.loads(out)
    if not isinstance(pools, list):
        raise Fail("JSON is not a list: %r" % out[:200])
    return pools


def all_pools(dev):
    """Every pool, kernel-only ones and counters included (not the device line that -d
    prints for a device without pools)."""
    return [p for p in show_json(dev, "-dd") if "key" in p]


def aging_of(dev):
    """The device's aging period under -d: in JSON on every pool; for a device without
    pools, from the text device line "dev DEV aging_period N" (JSON stays a list of
    pools, as upstream's)."""
    ps = show_json(dev, "-d")
    if ps:
        check(all("key" in p for p in ps), "rdma -d -j: only pools")
        return ps[0]["aging_period"]
    out = ok("-d", "resource", "show", "frmr_pools", "dev", dev)
    m = re.fullmatch(r"dev %s aging_period (\d+) \n" % re.escape(dev), out)
    if not m:
        raise Fail("rdma -d on %s without pools: %r, not its device line" % (dev, out))
    return int(m.group(1))


def snapshot(dev):
    """What a refused SET must not change: the aging period, the pool keys, the pinned and
    in-use counts (queue and counters move with aging, which runs meanwhile)."""
    ps = all_pools(dev)
    return (aging_of(dev),
            sorted((p["key"], p.get("kernel_vendor_key", 0), p["pinned"], p["in_use"])
                   for p in ps))


def key_fields(key):
    try:
        return parse_key(key)
    except ValueError as e:
        raise Fail(str(e)) from None


def line_re(dev, details, driver):
    """One line of `rdma [-d|-dd] resource show frmr_pools`, rdma-resource(8). Like every
    line of `rdma resource show`, each field ends with one blank."""
    r = r"dev %s key %s " % (re.escape(dev), KEY_RE)
    if details:
        r += (r"ats (\d+) access_flags (\d+) vendor_key (\d+) num_dma_blocks (\d+) "
              r"(?:kernel_vendor_key (\d+) )?")
    r += r"queue (\d+) in_use (\d+) max_in_use (\d+) pinned (\d+) "
    if details:
        r += r"aging_period (\d+) "
    if driver:
        # As upstream 7.1: the driver table on an indented line of its own (-dd, -p or not).
        r += "\n    " + "".join(r"drv_%s (\d+) " % c for c in COUNTERS)
    return re.compile(r)


def text_lines(out, driver):
    """Lines of the output; under -dd each pool's two lines as one."""
    lines = out.split("\n")[:-1]
    if not driver:
        return lines
    if len(lines) % 2:
        raise Fail("-dd: an odd number of lines, not two per pool:\n%r" % out)
    return [lines[i] + "\n" + lines[i + 1] for i in range(0, len(lines), 2)]


def parse_text(dev, out, details=False, driver=False):
    rx = line_re(dev, details, driver)
    rows = []
    for line in text_lines(out, driver):
        m = rx.fullmatch(line)
        if not m:
            raise Fail("line does not match %s:\n%r" % (rx.pattern, line))
        g = [x for x in m.groups()]
        r = {"key": "%s:%s:%s:%s" % tuple(g[:4])}
        g = g[4:]
        if details:
            r.update(zip(DETAIL_KEYS, map(int, g[:4])))
            if g[4] is not None:
                r["kernel_vendor_key"] = int(g[4])
            g = g[5:]
        r.update(zip(("queue", "in_use", "max_in_use", "pinned"), map(int, g[:4])))
        g = g[4:]
        if details:
            r["aging_period"] = int(g[0])
            g = g[1:]
        if driver:
            r.update(zip(("drv_" + c for c in COUNTERS), map(int, g)))
        rows.append(r)
    check(out == "" or out.endswith("\n"), "output ends with a newline")
    return rows


def expect_keys(p, want, what):
    got = list(p)
    if got != want:
        raise Fail("%s: JSON keys %s, want %s (in that order)" % (what, got, want))
    for k, v in p.items():
        if k in ("ifname", "key"):
            if not isinstance(v, str):
                raise Fail("%s: %s is %r, not a string" % (what, k, v))
        elif not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise Fail("%s: %s is %r, not an unsigned integer" % (what, k, v))


def test_format(dev):
    """Text and JSON of every pool exactly as rdma-resource(8) says."""
    ps = all_pools(dev)
    check(len(ps) > 0, "%s has %d pools" % (dev, len(ps)))
    user = [p for p in ps if "kernel_vendor_key" not in p]
    names = {p["ifname"] for p in ps}
    check(names == {dev}, "every pool is on %s (%s)" % (dev, names))
    # Text: default, -d, -dd, -dd -p.
    for opts, details, driver in (((), False, False), (("-d",), True, False),
                                  (("-dd",), True, True)):
        out = ok(*opts, "resource", "show", "frmr_pools", "dev", dev)
        rows = parse_text(dev, out, details, driver)
        want = user if not driver else ps
        check([r["key"] for r in rows] == [p["key"] for p in want],
              "rdma %s: %d lines in the same order as the JSON pools" %
              (" ".join(opts) or "(default)", len(rows)))
        for r in rows:
            vk, ndb, af, ats = key_fields(r["key"])
            if details:
                check((r["vendor_key"], r["num_dma_blocks"], r["access_flags"], r["ats"]) ==
                      (vk, ndb, af, ats), "-d fields of %s are its key in decimal" % r["key"])
    # -dd, -dd -p: the driver table on indented lines after each pool (upstream's
    # layout, -p or not; under -p iproute2's print_driver_table() starts a new line past
    # 80 characters).
    for opts in (("-dd",), ("-dd", "-p")):
        out = ok(*opts, "resource", "show", "frmr_pools", "dev", dev)
        lines = out.split("\n")[:-1]
        pools, tables = [], []
        for x in lines:
            if x.startswith("    "):
                check(bool(pools), "rdma %s: a driver line follows a pool line" %
                      " ".join(opts))
                tables[-1] += x[4:]
            else:
                pools.append(x)
                tables.append("")
        check(len(pools) == len(ps), "rdma %s: one pool line per pool" % " ".join(opts))
        drv = re.compile("".join(r"drv_%s \d+ " % c for c in COUNTERS))
        check(all(drv.fullmatch(t) for t in tables),
              "rdma %s: indented driver tables" % " ".join(opts))
        parse_text(dev, "".join(x + "\n" for x in pools), True, False)
    # The whole default output once more, char for char, from the JSON values.
    out = ok("resource", "show", "frmr_pools", "dev", dev)
    # (counters may move between two dumps: compare the keys and the shape only)
    check(len(out.split("\n")[:-1]) == len(user),
          "default output: one line per user pool (%d)" % len(user))
    for line, p in zip(out.split("\n"), user):
        check(line.startswith("dev %s key %s queue " % (dev, p["key"])) and
              line.endswith(" ") and not line.endswith("  "),
              "line %r: one blank after each field" % line)
    # JSON: exact keys, order and types.
    for opts, want in ((("-j",), BASE_KEYS),
                       (("-j", "-p"), BASE_KEYS),
                       (("-j", "-d"), BASE_KEYS[:3] + DETAIL_KEYS + BASE_KEYS[3:] +
                        ["aging_period"]),
                       (("-j", "-dd"), BASE_KEYS[:3] + DETAIL_KEYS + BASE_KEYS[3:] +
                        ["aging_period"] + ["drv_" + c for c in COUNTERS])):
        out = ok(*opts, "resource", "show", "frmr_pools", "dev", dev)
        js = json.loads(out)
        check(isinstance(js, list), "rdma %s: a JSON list" % " ".join(opts))
        driver = "-dd" in opts
        check(len(js) == (len(ps) if driver else len(user)),
              "rdma %s: %d pools" % (" ".join(opts), len(js)))
        for p in js:
            w = list(want)
            if "kernel_vendor_key" in p:
                check(driver, "kernel-only pool %s only under -dd" % p["key"])
                w.insert(w.index("num_dma_blocks") + 1, "kernel_vendor_key")
            expect_keys(p, w, "rdma %s, pool %s" % (" ".join(opts), p["key"]))
            check(p["ifname"] == dev and p["ifindex"] == ps[0]["ifindex"],
                  "pool %s: ifindex %d ifname %s" % (p["key"], p["ifindex"], p["ifname"]))
            key_fields(p["key"])
    for p in ps:
        vk, ndb, af, ats = key_fields(p["key"])
        check((p["vendor_key"], p["num_dma_blocks"], p["access_flags"], p["ats"]) ==
              (vk, ndb, af, ats), "JSON fields of %s are its key" % p["key"])
        check(whole(p), "%s: %s" % (p["key"], INVARIANT))
        check(p["max_in_use"] >= p["in_use"], "%s: max_in_use >= in_use" % p["key"])


def test_aging(dev):
    """set aging SECONDS, read back in text (-d) and JSON."""
    a0 = aging_of(dev)
    # No short period: the scenario freezes aging (86400) while the tool is tested, so
    # that no pool ages away between two dumps.
    for val in (37, 86400, 3600):
        ok("resource", "set", "frmr_pools", "dev", dev, "aging", val)
        check(aging_of(dev) == val, "JSON aging_period %d after set aging %d" %
              (aging_of(dev), val))
        out = ok("-d", "resource", "show", "frmr_pools", "dev", dev)
        rows = parse_text(dev, out, True, False)
        check(rows and all(r["aging_period"] == val for r in rows),
              "text aging_period %d on every line" % val)
    ok("resource", "set", "frmr_pools", "dev", dev, "aging", a0)
    check(aging_of(dev) == a0, "aging restored to %d" % a0)


def pool(dev, key, kernel=False):
    for p in all_pools(dev):
        if p["key"] == key and ("kernel_vendor_key" in p) == kernel:
            return p
    return None


def test_pinned(dev):
    """set pinned KEY N: N handles are created at once and stay queued; 0 unpins."""
    key = "0:33:0:0"
    ok("resource", "set", "frmr_pools", "dev", dev, "pinned", key, 6)
    p = pool(dev, key)
    check(p is not None and p["pinned"] == 6 and p["queue"] >= 6 and p["in_use"] == 0,
          "pool %s: pinned 6, %s handles queued" % (key, p and p["queue"]))
    out = ok("resource", "show", "frmr_pools", "dev", dev, "num_dma_blocks", 0x33)
    check(re.fullmatch(r"dev %s key %s queue (\d+) in_use 0 max_in_use \d+ pinned 6 \n" %
                       (dev, key), out) is not None, "text line %r" % out)
    ok("resource", "set", "frmr_pools", "dev", dev, "pinned", key, 2)
    p = pool(dev, key)
    check(p["pinned"] == 2, "pinned 6 -> 2")
    ok("resource", "set", "frmr_pools", "dev", dev, "pinned", key, 0)
    p = pool(dev, key)
    check(p is None or p["pinned"] == 0, "unpinned")


# (arguments, what stderr must say)
BAD = [
    (["aging", "0"], "Error: "),
    (["aging", "86401"], "Error: "),
    (["aging", "4294967295"], "Error: "),
    (["aging", "4294967296"], "Invalid aging period"),
    (["aging", "-5"], "Invalid aging period"),
    (["aging", "1e3"], "Invalid aging period"),
    (["aging", "0x10"], "Invalid aging period"),
    (["aging", ""], "Invalid aging period"),
    (["aging"], "aging period"),
    (["aging", "10", "20"], "Unexpected argument"),
    (["pinned", "0:40:0:2", "1"], "Invalid ats"),
    (["pinned", "0:40:0:ff", "1"], "Invalid ats"),
    (["pinned", "0:40:0:-1", "1"], "Invalid ats"),
    (["pinned"], "pool key"),
    (["pinned", "5"], "Invalid pool key"),
    (["pinned", "0:40:0:0"], "number of pinned handles"),
    (["pinned", "0:40:0", "1"], "Invalid pool key"),
    (["pinned", "0:40:0:0:0", "1"], "Invalid pool key"),
    (["pinned", "0:20:0:0:1", "1"], "Invalid pool key"),  # with a kernel vendor key
    (["pinned", "g:40:0:0", "1"], "Invalid vendor key"),
    (["pinned", "0::0:0", "1"], "Invalid number of DMA blocks"),
    (["pinned", "0:-40:0:0", "1"], "Invalid number of DMA blocks"),
    (["pinned", "0:40:1ffffffff:0", "1"], "Invalid access flags"),
    (["pinned", "10000000000000000:40:0:0", "1"], "Invalid vendor key"),
    (["pinned", "0:40:0:0", "-1"], "Invalid number of pinned handles"),
    (["pinned", "0:40:0:0", "4294967296"], "Invalid number of pinned handles"),
    (["pinned", "0:40:0:0", "x"], "Invalid number of pinned handles"),
    (["pinned", "0:40:0:0", "1", "2"], "Unexpected argument"),
    (["pinned", "0:40:0:0", "1048577"], "Error: "),       # above the per-pool bound
    (["pinned", "1:40:0:0", "1"], "Error: "),             # unknown vendor bits (rxe: all)
    (["pinned", "10000000000:40:0:0", "1"], "Error: "),
    (["pinned", "0:40:0:1", "1"], "Error: "),             # ATS: rxe has none
    (["pinned", "0:0:0:0", "1"], "Error: "),              # no DMA block
    ([], "aging or pinned"),                              # neither attribute
    (["foo", "1"], "Unknown parameter"),
    (["aging", "10", "pinned", "0:40:0:0", "1"], "Unexpected argument"),
]


def test_bad(dev):
    """Every bad input: a clear message, a non-zero exit, `show` unchanged."""
    before = snapshot(dev)
    check(before[0] is not None, "%s has pools (aging %s)" % (dev, before[0]))
    # "--": a negative number is an argument, not an option of the tool
    cases = [(["--", "resource", "set", "frmr_pools", "dev", dev] + a, m) for a, m in BAD]
    cases += [
        (["resource", "set", "frmr_pools", "dev", "nosuch0", "aging", "30"], "Wrong device name"),
        (["resource", "set", "frmr_pools", "dev", "nosuch0", "pinned", "0:40:0:0", "1"],
         "Wrong device name"),
        (["resource", "set", "frmr_pools", "aging", "30"], "dev DEV"),
        (["resource", "set", "frmr_pools", "dev"], "device name"),
        (["resource", "set", "frmr_pools"], "Usage"),
        (["resource", "show", "frmr_pools", "dev", "nosuch0"], "Wrong device name"),
        (["resource", "show", "frmr_pools", "dev", dev, "foo", "1"], "Unsupported filter"),
        (["resource", "show", "frmr_pools", "dev", dev, "queue"], "filter"),
        (["resource", "show", "frmr_pools", "dev", dev, "queue", "x"], "characters only"),
    ]
    for args, msg in cases:
        rc, out, err = tool(*args)
        what = "rdma %s" % " ".join(args)
        if rc == 0 or msg not in err:
            raise Fail("%s: rc %d, stdout %r, stderr %r (want non-zero and %r)" %
                       (what, rc, out, err, msg))
        print("  ok: %s -> rc %d: %s" % (what, rc, " / ".join(err.strip().split("\n"))))
        after = snapshot(dev)
        if after != before:
            raise Fail("%s changed the pools:\nbefore %r\nafter  %r" % (what, before, after))
    check(True, "%d bad inputs refused, `show` unchanged after each" % len(cases))


def test_unpriv(dev):
    """SET without CAP_NET_ADMIN is refused (EPERM), GET works, nothing changes."""
    before = snapshot(dev)
    rc, out, err = tool("-j", "resource", "show", "frmr_pools", "dev", dev, prefix=NOBODY)
    check(rc == 0 and isinstance(json.loads(out), list), "unprivileged show works")
    for args in (["aging", "10"], ["pinned", "0:40:0:0", "3"]):
        rc, out, err = tool("resource", "set", "frmr_pools", "dev", dev, *args,
                            prefix=NOBODY)
        check(rc != 0 and "Operation not permitted" in err,
              "unprivileged set %s: rc %d, %r" % (" ".join(args), rc, err.strip()))
        check(snapshot(dev) == before, "nothing changed")


def test_roundtrip(dev):
    """Every key `show` prints is accepted by `set ... pinned KEY N` as printed."""
    # A key with access flags: the driver may drop those it can change on reuse.
    ok("resource", "set", "frmr_pools", "dev", dev, "pinned", "0:3e8:10000f:0", 1)
    before = {p["key"]: p["pinned"] for p in all_pools(dev) if "kernel_vendor_key" not in p}
    check(len(before) > 1, "%d user pools" % len(before))
    out = ok("resource", "show", "frmr_pools", "dev", dev)
    rows = parse_text(dev, out)
    check(sorted(r["key"] for r in rows) == sorted(before), "text keys = JSON keys")
    for r in rows:
        ok("resource", "set", "frmr_pools", "dev", dev, "pinned", r["key"], r["pinned"])
    print("  ok: set accepted the %d printed keys" % len(rows))
    after = {p["key"]: p["pinned"] for p in all_pools(dev) if "kernel_vendor_key" not in p}
    new = set(after) - set(before)
    check(not new, "no new pool (%s)" % sorted(new))
    check(all(after[k] == v for k, v in before.items() if k in after),
          "pinned counts unchanged")
    k1000 = [k for k in after if key_fields(k)[1] == 1000]
    check(len(k1000) == 1 and after[k1000[0]] == 1,
          "0:3e8:10000f:0 pinned the pool printed as %s" % k1000)
    ok("resource", "set", "frmr_pools", "dev", dev, "pinned", k1000[0], 0)


def test_filters(dev):
    """Every filter keeps exactly the pools whose value matches, 64-bit values too."""
    ps = show_json(dev, "-d")
    check(len(ps) > 1, "%d pools" % len(ps))
    for name in ("ats", "access_flags", "vendor_key", "num_dma_blocks", "queue", "in_use",
                 "max_in_use", "pinned"):
        for val in sorted({p[name] for p in ps})[:3]:
            js = json.loads(ok("-j", "-d", "resource", "show", "frmr_pools", "dev", dev,
                               name, val))
            want = sorted(p["key"] for p in ps if p[name] == val)
            got = sorted(p["key"] for p in js)
            # queue and the in-use counters may move between two dumps
            if name in ("num_dma_blocks", "ats", "access_flags", "vendor_key", "pinned"):
                check(got == want, "%s %d: %s" % (name, val, got))
            else:
                check(all(p[name] == val for p in js), "%s %d: only matching pools" %
                      (name, val))
    ndb = sorted(p["num_dma_blocks"] for p in ps)
    lo, hi = ndb[0], ndb[-1]
    js = json.loads(ok("-j", "-d", "resource", "show", "frmr_pools", "dev", dev,
                       "num_dma_blocks", "%d-%d" % (lo, hi)))
    check(len(js) == len(ps), "range %d-%d: every pool" % (lo, hi))
    # 2^32 + a present value must not match that value (no truncation to 32 bits).
    js = json.loads(ok("-j", "-d", "resource", "show", "frmr_pools", "dev", dev,
                       "num_dma_blocks", (1 << 32) + lo))
    check(js == [], "num_dma_blocks %d matches nothing (%s)" %
          ((1 << 32) + lo, [p["key"] for p in js]))
    js = json.loads(ok("-j", "-d", "resource", "show", "frmr_pools", "dev", dev,
                       "queue", 1 << 32))
    check(js == [], "queue 2^32 matches nothing")


def test_kernel(dev, n):
    """The kernel-only pool of frmr_kmr's N MRs: only under -dd, never acted on by set."""
    n = int(n)
    kern = [p for p in all_pools(dev) if "kernel_vendor_key" in p]
    check(len(kern) == 1 and kern[0]["kernel_vendor_key"] != 0 and kern[0]["in_use"] == n,
          "one kernel-only pool, in_use %d: %s" % (n, kern))
    k = kern[0]
    for opts in ((), ("-d",), ("-j",), ("-j", "-d")):
        out = ok(*opts, "resource", "show", "frmr_pools", "dev", dev)
        check("kernel_vendor_key" not in out, "rdma %s: no kernel-only pool" %
              (" ".join(opts) or "(default)"))
    out = ok("-dd", "resource", "show", "frmr_pools", "dev", dev)
    rows = [r for r in parse_text(dev, out, True, True) if "kernel_vendor_key" in r]
    check(len(rows) == 1 and rows[0]["key"] == k["key"] and
          rows[0]["kernel_vendor_key"] == k["kernel_vendor_key"] and rows[0]["in_use"] == n,
          "-dd: %s kernel_vendor_key %d in_use %d" % (k["key"], k["kernel_vendor_key"], n))
    # Its printed key names the user pool of the same fields: set never reaches the
    # kernel-only pool (the kernel refuses a kernel vendor key; nldev.py sends one).
    ok("resource", "set", "frmr_pools", "dev", dev, "pinned", k["key"], 2)
    k2 = pool(dev, k["key"], kernel=True)
    u = pool(dev, k["key"])
    check(k2 is not None and k2["pinned"] == k["pinned"],
          "the kernel-only pool keeps pinned %d" % k["pinned"])
    check(u is not None and u["pinned"] == 2, "the user pool %s got pinned 2" % k["key"])
    ok("resource", "set", "frmr_pools", "dev", dev, "pinned", k["key"], 0)
    rc, out, err = tool("resource", "set", "frmr_pools", "dev", dev, "pinned",
                        "%s:%x" % (k["key"], k["kernel_vendor_key"]), 1)
    check(rc != 0 and "Invalid pool key" in err, "a key with the kernel vendor key: %r" %
          err.strip())
    # The syntax has no field for it; the kernel refuses that pool's exact key.
    import nldev
    nl = nldev.Nldev()
    before = snapshot(dev)
    try:
        nl.set(nl.index(dev), pinned=1, key=key_fields(k["key"]) + (k["kernel_vendor_key"],))
        raise Fail("SET pinned 1 of the kernel-only pool was accepted")
    except nldev.NlError as e:
        check(e.errno == errno.EINVAL and e.extack,
              "netlink SET of the kernel-only pool's key: %s \"%s\"" %
              (errno.errorcode.get(e.errno), e.extack))
    check(snapshot(dev) == before, "nothing changed")


def test_devaging(dev):
    """A device without pools: -d prints its own line with the aging period; set aging and
    read it back there (text and JSON), restore."""
    check(all_pools(dev) == [], "%s has no pools" % dev)
    a0 = aging_of(dev)
    for val in (41, a0):
        ok("resource", "set", "frmr_pools", "dev", dev, "aging", val)
        out = ok("-d", "resource", "show", "frmr_pools", "dev", dev)
        check(out == "dev %s aging_period %d \n" % (dev, val),
              "text: %r after set aging %d" % (out, val))
        check(show_json(dev, "-d") == [], "JSON: [] for a device without pools (as upstream)")
    out = ok("resource", "show", "frmr_pools", "dev", dev)
    check(out == "", "no -d: no line for a device without pools (as upstream)")
    out = ok("-d", "resource", "show", "frmr_pools", "dev", dev, "queue", 0)
    check(out == "", "-d with a pool filter: no device line")


def test_short(dev):
    """Short form (test kernel): show text and JSON, aging round trip, one bad input, every
    printed key fed back; aging frozen meanwhile, then restored."""
    a0 = aging_of(dev)
    ok("resource", "set", "frmr_pools", "dev", dev, "aging", 86400)
    ps = all_pools(dev)
    check(ps and all(p["aging_period"] == 86400 for p in ps),
          "set aging 86400 (was %d), read back from JSON" % a0)
    user = [p for p in ps if "kernel_vendor_key" not in p]
    check(len(user) > 0, "%d user pools" % len(user))
    dd = BASE_KEYS[:3] + DETAIL_KEYS + BASE_KEYS[3:] + ["aging_period"] + \
        ["drv_" + c for c in COUNTERS]
    for p in user:
        expect_keys(p, dd, "rdma -j -dd, pool %s" % p["key"])
    rows = parse_text(dev, ok("resource", "show", "frmr_pools", "dev", dev))
    check([r["key"] for r in rows] == [p["key"] for p in user],
          "default text: %d lines, the JSON pools" % len(rows))
    before = snapshot(dev)
    rc, out, err = tool("resource", "set", "frmr_pools", "dev", dev, "aging", 86401)
    check(rc != 0 and "Error: " in err and snapshot(dev) == before,
          "set aging 86401 refused (%r), nothing changed" % err.strip())
    for r in rows:
        ok("resource", "set", "frmr_pools", "dev", dev, "pinned", r["key"], r["pinned"])
    check(snapshot(dev) == before, "the %d printed keys accepted as printed, nothing changed"
          % len(rows))
    ok("resource", "set", "frmr_pools", "dev", dev, "aging", a0)
    check(aging_of(dev) == a0, "aging restored to %d" % a0)


TESTS = {
    "format": test_format, "aging": test_aging, "pinned": test_pinned, "bad": test_bad,
    "unpriv": test_unpriv, "roundtrip": test_roundtrip, "filters": test_filters,
    "kernel": test_kernel, "short": test_short, "devaging": test_devaging,
}


def main(argv):
    if len(argv) < 3 or argv[1] not in TESTS:
        print(__doc__)
        return 2
    print("== %s (%s): %s" % (argv[1], RDMA, TESTS[argv[1]].__doc__.split("\n")[0]))
    t0 = time.time()
    try:
        TESTS[argv[1]](*argv[2:])
    except (Fail, ValueError, KeyError, subprocess.TimeoutExpired) as e:
        print("FAIL: %s: %s" % (type(e).__name__, e))
        return 1
    print("PASS %s (%.1fs)" % (argv[1], time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
