#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
"""nldev.py - RDMA netlink (nldev) client for FRMR pools, and its selftest.

Talks NETLINK_RDMA directly (no rdma tool, no libmnl), so that it can also
send what the rdma tool never would: wrong attribute types and lengths,
out-of-range values, garbage in the key nest, missing attributes.

  nldev.py show DEV [-d]                    list the pools of DEV
  nldev.py set DEV aging SECONDS
  nldev.py set DEV pinned VK:NDB:AF:ATS N   key fields in hex, as the rdma tool
  nldev.py index DEV                        print the device index of DEV
  nldev.py netns-exclusive|netns-shared     rdma system set netns exclusive|shared
  nldev.py test NAME DEV [ARGS]             one selftest (see TESTS below)

Every test prints what it checks and exits non-zero on the first failure.
"""

import errno
import os
import socket
import struct
import sys
import time

from frmr_pools import COUNTERS, INVARIANT, Fail, check, fmt_key, parse_key, uapi, whole

# Every constant from the uapi headers the modules were built against (frmr_pools.uapi()).
U = uapi()
NETLINK_RDMA = U.NETLINK_RDMA
# The socket level is not in a uapi header (include/linux/socket.h, glibc's bits/socket.h).
SOL_NETLINK = 270
NETLINK_EXT_ACK = U.NETLINK_EXT_ACK

NLMSG_ERROR = U.NLMSG_ERROR
NLMSG_DONE = U.NLMSG_DONE
NLM_F_REQUEST = U.NLM_F_REQUEST
NLM_F_MULTI = U.NLM_F_MULTI
NLM_F_ACK = U.NLM_F_ACK
NLM_F_DUMP = U.NLM_F_DUMP
NLM_F_CAPPED = U.NLM_F_CAPPED
NLM_F_ACK_TLVS = U.NLM_F_ACK_TLVS
NLMSGERR_ATTR_MSG = U.NLMSGERR_ATTR_MSG
NLMSGERR_ATTR_OFFS = U.NLMSGERR_ATTR_OFFS
NLA_F_NESTED = U.NLA_F_NESTED
NLA_TYPE_MASK = U.NLA_TYPE_MASK

RDMA_NL_NLDEV = U.RDMA_NL_NLDEV

# enum rdma_nldev_command
CMD_GET = U.RDMA_NLDEV_CMD_GET
CMD_SYS_SET = U.RDMA_NLDEV_CMD_SYS_SET
CMD_FRMR_POOLS_GET = U.RDMA_NLDEV_CMD_FRMR_POOLS_GET
CMD_FRMR_POOLS_SET = U.RDMA_NLDEV_CMD_FRMR_POOLS_SET

# enum rdma_nldev_attr
A_PAD = U.RDMA_NLDEV_ATTR_PAD
A_DEV_INDEX = U.RDMA_NLDEV_ATTR_DEV_INDEX
A_DEV_NAME = U.RDMA_NLDEV_ATTR_DEV_NAME
A_DRIVER = U.RDMA_NLDEV_ATTR_DRIVER
A_DRIVER_STRING = U.RDMA_NLDEV_ATTR_DRIVER_STRING
A_DRIVER_PRINT_TYPE = U.RDMA_NLDEV_ATTR_DRIVER_PRINT_TYPE
A_DRIVER_U32 = U.RDMA_NLDEV_ATTR_DRIVER_U32
A_DRIVER_U64 = U.RDMA_NLDEV_ATTR_DRIVER_U64
A_SYS_NETNS_MODE = U.RDMA_NLDEV_SYS_ATTR_NETNS_MODE
A_DRIVER_DETAILS = U.RDMA_NLDEV_ATTR_DRIVER_DETAILS
A_OPCOUNTER_ENABLED = U.RDMA_NLDEV_ATTR_STAT_OPCOUNTER_ENABLED
A_POOLS = U.RDMA_NLDEV_ATTR_FRMR_POOLS
A_POOL_ENTRY = U.RDMA_NLDEV_ATTR_FRMR_POOL_ENTRY
A_POOL_KEY = U.RDMA_NLDEV_ATTR_FRMR_POOL_KEY
A_KEY_ATS = U.RDMA_NLDEV_ATTR_FRMR_POOL_KEY_ATS
A_KEY_ACCESS_FLAGS = U.RDMA_NLDEV_ATTR_FRMR_POOL_KEY_ACCESS_FLAGS
A_KEY_VENDOR_KEY = U.RDMA_NLDEV_ATTR_FRMR_POOL_KEY_VENDOR_KEY
A_KEY_NUM_DMA_BLOCKS = U.RDMA_NLDEV_ATTR_FRMR_POOL_KEY_NUM_DMA_BLOCKS
A_QUEUE_HANDLES = U.RDMA_NLDEV_ATTR_FRMR_POOL_QUEUE_HANDLES
A_MAX_IN_USE = U.RDMA_NLDEV_ATTR_FRMR_POOL_MAX_IN_USE
A_IN_USE = U.RDMA_NLDEV_ATTR_FRMR_POOL_IN_USE
A_AGING_PERIOD = U.RDMA_NLDEV_ATTR_FRMR_POOLS_AGING_PERIOD
A_PINNED_HANDLES = U.RDMA_NLDEV_ATTR_FRMR_POOL_PINNED_HANDLES
A_KEY_KERNEL_VENDOR_KEY = U.RDMA_NLDEV_ATTR_FRMR_POOL_KEY_KERNEL_VENDOR_KEY


def nltype(op):
    return (RDMA_NL_NLDEV << 10) + op


# ---------------------------------------------------------------------------
# Attribute encoding. Values are bytes; helpers build the usual types.

def attr(atype, payload):
    hdr = struct.pack("=HH", 4 + len(payload), atype)
    return hdr + payload + b"\0" * ((4 - len(payload) % 4) % 4)


def a_u8(t, v):
    return attr(t, struct.pack("=B", v))


def a_u16(t, v):
    return attr(t, struct.pack("=H", v))


def a_u32(t, v):
    return attr(t, struct.pack("=I", v))


def a_u64(t, v):
    return attr(t, struct.pack("=Q", v))


def a_str(t, v):
    return attr(t, v.encode() + b"\0")


def a_nest(t, *attrs, flag=True):
    return attr(t | (NLA_F_NESTED if flag else 0), b"".join(attrs))


def key_attrs(vk, ndb, af, ats, kvk=None):
    out = [a_u8(A_KEY_ATS, ats), a_u32(A_KEY_ACCESS_FLAGS, af),
           a_u64(A_KEY_VENDOR_KEY, vk), a_u64(A_KEY_NUM_DMA_BLOCKS, ndb)]
    if kvk is not None:
        out.append(a_u64(A_KEY_KERNEL_VENDOR_KEY, kvk))
    return out


def a_key(vk, ndb, af, ats, kvk=None):
    return a_nest(A_POOL_KEY, *key_attrs(vk, ndb, af, ats, kvk))


def parse_attrs(buf):
    """List of (type, payload, nested_flag)."""
    out = []
    off = 0
    while off + 4 <= len(buf):
        alen, atype = struct.unpack_from("=HH", buf, off)
        if alen < 4 or off + alen > len(buf):
            raise ValueError("bad attribute length %d at %d" % (alen, off))
        out.append((atype & NLA_TYPE_MASK, buf[off + 4:off + alen],
                    bool(atype & NLA_F_NESTED)))
        off += (alen + 3) & ~3
    return out


UFMT = {1: "=B", 2: "=H", 4: "=I", 8: "=Q"}


def u(payload):
    """An unsigned integer attribute of any size."""
    if len(payload) not in UFMT:
        raise AssertionError("integer attribute of %d bytes" % len(payload))
    return struct.unpack(UFMT[len(payload)], payload)[0]


class NlError(Exception):
    def __init__(self, err, msg, where=""):
        super().__init__("%s%s (%s)%s" % (
            where, errno.errorcode.get(err, str(err)), os.strerror(err),
            ": " + msg if msg else " (no extack message)"))
        self.errno = err
        self.extack = msg


# ---------------------------------------------------------------------------
# The socket.

class Nldev:
    def __init__(self, rcvbuf=None):
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                               NETLINK_RDMA)
        self.s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.s.bind((0, 0))
        self.s.settimeout(30)
        self.seq = int(time.time()) & 0xffff
        # The kernel sizes dump messages after what recvmsg() asked for:
        # a small buffer makes a dump span many messages.
        self.rcvbuf = rcvbuf or 65536
        self.messages = 0
        # Called with the number of buffers received so far, after each:
        # a pause there holds the dump between two messages.
        self.after_recv = None

    def send_raw(self, mtype, flags, payload):
        self.seq += 1
        hdr = struct.pack("=IHHII", 16 + len(payload), mtype, flags,
                          self.seq, 0)
        self.s.send(hdr + payload)
        return self.seq

    @staticmethod
    def _extack(tlvs):
        for t, p, _ in parse_attrs(tlvs):
            if t == NLMSGERR_ATTR_MSG:
                return p.rstrip(b"\0").decode()
        return ""

    @classmethod
    def _status(cls, buf, off, mlen, mtype, mflags):
        """errno (positive) and extack message of NLMSG_ERROR or NLMSG_DONE.

        NLMSG_ERROR: struct nlmsgerr (error, then the request's header and,
        unless NLM_F_CAPPED, its payload), then the TLVs. NLMSG_DONE of a
        dump: the int the dump ended with, then the TLVs."""
        err = -struct.unpack_from("=i", buf, off + 16)[0] if mlen >= 20 else 0
        if not mflags & NLM_F_ACK_TLVS:
            return err, ""
        if mtype == NLMSG_DONE:
            return err, cls._extack(buf[off + 20:off + mlen])
        olen = 16 if mflags & NLM_F_CAPPED else \
            (struct.unpack_from("=I", buf, off + 20)[0] + 3) & ~3
        return err, cls._extack(buf[off + 20 + olen:off + mlen])

    def request(self, op, attrs, dump=False, ack=True):
        """Send one request; return the list of reply payloads (bytes after
        the nlmsghdr). Raise NlError on an error or a dump that ended with one."""
        flags = NLM_F_REQUEST | (NLM_F_DUMP if dump else 0) | \
            (NLM_F_ACK if ack and not dump else 0)
        seq = self.send_raw(nltype(op), flags, b"".join(attrs))
        replies = []
        nrecv = 0
        while True:
            buf = self.s.recv(self.rcvbuf)
            nrecv += 1
            if self.after_recv:
                self.after_recv(nrecv)
            off = 0
            while off + 16 <= len(buf):
                mlen, mtype, mflags, mseq, _ = struct.unpack_from("=IHHII",
                                                                  buf, off)
                if mlen < 16:
                    raise ValueError("bad nlmsg length")
                if mseq != seq:
                    off += (mlen + 3) & ~3
                    continue
                if mtype in (NLMSG_ERROR, NLMSG_DONE):
                    err, msg = self._status(buf, off, mlen, mtype, mflags)
                    if err:
                        raise NlError(err, msg)
                    return replies
                self.messages += 1
                replies.append(bytes(buf[off + 16:off + mlen]))
                if not dump and not (mflags & NLM_F_MULTI) and not ack:
                    return replies
                off += (mlen + 3) & ~3

    # -- high level -------------------------------------------------------

    def devices(self):
        out = {}
        for p in self.request(CMD_GET, [], dump=True):
            a = {t: v for t, v, _ in parse_attrs(p)}
            out[a[A_DEV_NAME].rstrip(b"\0").decode()] = u(a[A_DEV_INDEX])
        return out

    def index(self, name):
        devs = self.devices()
        if name not in devs:
            raise SystemExit("no RDMA device %s (have %s)" % (name, devs))
        return devs[name]

    def dump(self, index, details=False, extra=()):
        """Dump the pools: (aging period or None, [pool dict], messages)."""
        attrs = [a_u32(A_DEV_INDEX, index)]
        if details:
            attrs.append(a_u8(A_DRIVER_DETAILS, 1))
        attrs += list(extra)
        self.messages = 0
        replies = self.request(CMD_FRMR_POOLS_GET, attrs, dump=True)
        aging = None
        pools = []
        for p in replies:
            top = parse_attrs(p)
            a = {t: v for t, v, _ in top}
            if u(a[A_DEV_INDEX]) != index or A_DEV_NAME not in a:
                raise AssertionError("reply without the device handle")
            if A_POOLS not in a:
                raise AssertionError("reply without FRMR_POOLS")
            if A_AGING_PERIOD in a:
                aging = u(a[A_AGING_PERIOD])
            for t, ent, _ in parse_attrs(a[A_POOLS]):
                if t != A_POOL_ENTRY:
                    raise AssertionError("unexpected attribute %d in table" % t)
                pools.append(parse_entry(ent))
        return aging, pools, len(replies)

    def set(self, index, aging=None, pinned=None, key=None, extra=()):
        attrs = [a_u32(A_DEV_INDEX, index)]
        if aging is not None:
            attrs.append(a_u32(A_AGING_PERIOD, aging))
        if pinned is not None:
            attrs.append(a_u32(A_PINNED_HANDLES, pinned))
        if key is not None:
            attrs.append(a_key(*key))
        attrs += list(extra)
        self.request(CMD_FRMR_POOLS_SET, attrs)


def parse_entry(ent):
    e = {"counters": {}}
    for t, v, nested in parse_attrs(ent):
        if t == A_POOL_KEY:
            if not nested:
                raise AssertionError("FRMR_POOL_KEY without NLA_F_NESTED")
            k = {tt: u(vv) for tt, vv, _ in parse_attrs(v) if tt != A_PAD}
            e["key"] = (k[A_KEY_VENDOR_KEY], k[A_KEY_NUM_DMA_BLOCKS],
                        k[A_KEY_ACCESS_FLAGS], k[A_KEY_ATS],
                        k.get(A_KEY_KERNEL_VENDOR_KEY, 0))
            if A_KEY_KERNEL_VENDOR_KEY in k and not k[A_KEY_KERNEL_VENDOR_KEY]:
                raise AssertionError("zero KERNEL_VENDOR_KEY sent")
        elif t == A_QUEUE_HANDLES:
            e["queue"] = u(v)
        elif t == A_MAX_IN_USE:
            e["max_in_use"] = u(v)
        elif t == A_IN_USE:
            e["in_use"] = u(v)
        elif t == A_PINNED_HANDLES:
            e["pinned"] = u(v)
        elif t == A_DRIVER:
            name = None
            for tt, vv, _ in parse_attrs(v):
                if tt == A_DRIVER_STRING:
                    name = vv.rstrip(b"\0").decode()
                elif tt in (A_DRIVER_U64, A_DRIVER_U32):
                    e["counters"][name] = u(vv)
    for f in ("key", "queue", "max_in_use", "in_use", "pinned"):
        if f not in e:
            raise AssertionError("entry without %s: %r" % (f, e))
    if set(e["counters"]) != set(COUNTERS):
        raise AssertionError("counters %r" % sorted(e["counters"]))
    return e


def sort_key(k):
    """ib_frmr_key_cmp() order: kernel vendor key, vendor key, ats,
    access flags, num_dma_blocks."""
    vk, ndb, af, ats, kvk = k
    return (kvk, vk, ats, af, ndb)


def parse_key_arg(s):
    try:
        return parse_key(s)
    except ValueError as e:
        raise SystemExit(str(e))


def show(nl, name, details=False):
    aging, pools, nmsg = nl.dump(nl.index(name), details)
    if aging is not None:
        print("dev %s aging %d" % (name, aging))
    for p in pools:
        line = "dev %s key %s queue %d in_use %d max_in_use %d pinned %d" % (
            name, fmt_key(p["key"]), p["queue"], p["in_use"],
            p["max_in_use"], p["pinned"])
        if p["key"][4]:
            line += " kernel_vendor_key %x" % p["key"][4]
        if details:
            line += " " + " ".join("%s %d" % (c, p["counters"][c])
                                   for c in COUNTERS)
        print(line)
    return pools


# ---------------------------------------------------------------------------
# Tests.

def expect_err(fn, want, what):
    """fn() must fail with errno want and an extack message (unless want is
    EPERM, which the netlink core returns without one)."""
    try:
        fn()
    except NlError as e:
        if e.errno != want:
            raise Fail("%s: got %s, want %s" % (
                what, errno.errorcode.get(e.errno), errno.errorcode[want]))
        if want != errno.EPERM and not e.extack:
            raise Fail("%s: %s without an extack message" % (
                what, errno.errorcode[want]))
        print("  ok: %s -> %s \"%s\"" % (what, errno.errorcode[want], e.extack))
        return e
    raise Fail("%s: succeeded, want %s" % (what, errno.errorcode[want]))


def snapshot(nl, index):
    """What a rejected SET must not change: keys, pinned counts, queue and
    the aging period (counters move with aging, so they are left out)."""
    aging, pools, _ = nl.dump(index, details=True)
    return aging, [(p["key"], p["pinned"], p["queue"], p["in_use"])
                   for p in pools]


def raw_set(nl, *attrs):
    return lambda: nl.request(CMD_FRMR_POOLS_SET, list(attrs))


def raw_get(nl, *attrs):
    return lambda: nl.request(CMD_FRMR_POOLS_GET, list(attrs), dump=True)


def test_malformed(nl, name):
    """Every malformed or invalid request fails with the right errno and an
    extack message, and changes nothing."""
    idx = nl.index(name)
    di = a_u32(A_DEV_INDEX, idx)
    ok_key = (0, 64, 0, 0)
    before = snapshot(nl, idx)
    check(before[0] is not None, "device %s has pools (aging %s)" % (name, before[0]))
    E = errno.EINVAL

    # GET
    expect_err(raw_get(nl), E, "GET without DEV_INDEX")
    expect_err(raw_get(nl, a_u32(A_DEV_INDEX, 0xfffffff0)), E, "GET unknown device")
    expect_err(raw_get(nl, a_u16(A_DEV_INDEX, idx)), E, "GET DEV_INDEX as u16")
    expect_err(raw_get(nl, a_u64(A_DEV_INDEX, idx)), E, "GET DEV_INDEX as u64")
    expect_err(raw_get(nl, di, a_u32(A_DRIVER_DETAILS, 1)), E,
               "GET DRIVER_DETAILS as u32")

    # SET: attributes
    expect_err(raw_set(nl, a_u32(A_AGING_PERIOD, 10)), E, "SET without DEV_INDEX")
    expect_err(raw_set(nl, a_u32(A_DEV_INDEX, 0xfffffff0), a_u32(A_AGING_PERIOD, 10)),
               E, "SET unknown device")
    expect_err(raw_set(nl, di), E, "SET with neither attribute")
    expect_err(raw_set(nl, di, a_u32(A_AGING_PERIOD, 0)), E, "SET aging 0")
    expect_err(raw_set(nl, di, a_u32(A_AGING_PERIOD, 86401)), E, "SET aging 86401")
    expect_err(raw_set(nl, di, a_u32(A_AGING_PERIOD, 0xffffffff)), E,
               "SET aging 2^32-1")
    expect_err(raw_set(nl, di, a_u64(A_AGING_PERIOD, 10)), E, "SET aging as u64")
    expect_err(raw_set(nl, di, a_u8(A_AGING_PERIOD, 10)), E, "SET aging as u8")
    expect_err(raw_set(nl, di, attr(A_AGING_PERIOD, b"")), E, "SET aging empty")
    expect_err(raw_set(nl, di, a_u32(A_PINNED_HANDLES, 1)), E, "SET pinned without key")
    expect_err(raw_set(nl, di, a_key(*ok_key)), E, "SET key alone")
    expect_err(raw_set(nl, di, a_u32(A_AGING_PERIOD, 7), a_key(*ok_key)), E,
               "SET valid aging + key without pinned")
    expect_err(raw_set(nl, di, a_u32(A_PINNED_HANDLES, (1 << 20) + 1), a_key(*ok_key)),
               E, "SET pinned 2^20+1")
    expect_err(raw_set(nl, di, a_u32(A_PINNED_HANDLES, 0xffffffff), a_key(*ok_key)),
               E, "SET pinned 2^32-1")
    expect_err(raw_set(nl, di, a_u64(A_PINNED_HANDLES, 1), a_key(*ok_key)), E,
               "SET pinned as u64")
    expect_err(raw_set(nl, di, a_u32(A_PINNED_HANDLES, 1), a_key(0, 64, 0, 2)), E,
               "SET key ats 2")
    expect_err(raw_set(nl, di, a_u32(A_PINNED_HANDLES, 1), a_key(0, 64, 0, 255)), E,
               "SET key ats 255")
    expect_err(raw_set(nl, di, a_u32(A_PINNED_HANDLES, 1), a_key(0, 64, 0, 0, 1)), E,
               "SET key with a kernel vendor key")
    expect_err(raw_set(nl, di, a_u32(A_PINNED_HANDLES, 0), a_key(0, 64, 0, 0, 1 << 63)),
               E, "SET pinned 0 with a kernel vendor key")
    # Garbage in the key nest.
    pin1 = a_u32(A_PINNED_HANDLES, 1)
    for what, nest in (
            ("key nest without NLA_F_NESTED",
             a_nest(A_POOL_KEY, *key_attrs(*ok_key), flag=False)),
            ("key nest holding DEV_NAME",
             a_nest(A_POOL_KEY, *key_attrs(*ok_key), a_str(A_DEV_NAME, name))),
            ("key nest holding DEV_INDEX",
             a_nest(A_POOL_KEY, *key_attrs(*ok_key), a_u32(A_DEV_INDEX, idx))),
            ("key nest holding attribute 0",
             a_nest(A_POOL_KEY, *key_attrs(*ok_key), a_u32(A_PAD, 0))),
            ("key nest holding an unknown attribute 200",
             a_nest(A_POOL_KEY, *key_attrs(*ok_key), a_u32(200, 0))),
            ("key nest holding a nested key",
             a_nest(A_POOL_KEY, a_key(*ok_key))),
            ("key ats as u32",
             a_nest(A_POOL_KEY, a_u32(A_KEY_ATS, 0), a_u64(A_KEY_NUM_DMA_BLOCKS, 64))),
            ("key access flags as u64",
             a_nest(A_POOL_KEY, a_u64(A_KEY_ACCESS_FLAGS, 0),
                    a_u64(A_KEY_NUM_DMA_BLOCKS, 64))),
            ("key num_dma_blocks as u32",
             a_nest(A_POOL_KEY, a_u32(A_KEY_NUM_DMA_BLOCKS, 64))),
            ("key vendor key as u8",
             a_nest(A_POOL_KEY, a_u8(A_KEY_VENDOR_KEY, 0),
                    a_u64(A_KEY_NUM_DMA_BLOCKS, 64))),
            ("key nest truncated attribute",
             attr(A_POOL_KEY | NLA_F_NESTED, struct.pack("=HH", 12, A_KEY_VENDOR_KEY))),
            ("key as a u32, not a nest", a_u32(A_POOL_KEY, 1)),
    ):
        expect_err(raw_set(nl, di, pin1, nest), E, "SET " + what)
    # Unsupported top-level attributes and a truncated message.
    expect_err(raw_set(nl, di, a_u32(A_AGING_PERIOD, 10), a_u8(A_OPCOUNTER_ENABLED, 1)),
               E, "SET with the reserved OPCOUNTER_ENABLED attribute")
    expect_err(raw_set(nl, di, a_u32(A_AGING_PERIOD, 10), a_u32(300, 1)), E,
               "SET with attribute type above the maximum")
    expect_err(raw_set(nl, di, a_u32(A_AGING_PERIOD, 10),
                       struct.pack("=HH", 8, A_PINNED_HANDLES)), E,
               "SET with a truncated trailing attribute")
    # The driver's build_key: unknown vendor bits.
    expect_err(raw_set(nl, di, pin1, a_key(1 << 40, 64, 0, 0)), errno.EOPNOTSUPP,
               "SET unknown vendor bits")
    expect_err(raw_set(nl, di, pin1, a_key(2, 64, 0, 0)), errno.EOPNOTSUPP,
               "SET unknown vendor bit 1")
    # Both attributes, one of them invalid: nothing applies.
    expect_err(raw_set(nl, di, a_u32(A_AGING_PERIOD, 7), pin1, a_key(1 << 40, 64, 0, 0)),
               errno.EOPNOTSUPP, "SET valid aging + pinned with unknown vendor bits")
    expect_err(raw_set(nl, di, a_u32(A_AGING_PERIOD, 0), pin1, a_key(*ok_key)), E,
               "SET aging 0 + valid pinned")
    expect_err(raw_set(nl, di, a_u32(A_AGING_PERIOD, 7), pin1,
                       a_key(0, 64, 0, 0, 5)), E,
               "SET valid aging + pinned with a kernel vendor key")
    after = snapshot(nl, idx)
    if after != before:
        print("before:", before)
        print("after: ", after)
    check(after == before, "dump before and after the rejected requests is identical "
          "(%d pools, aging %s)" % (len(after[1]), after[0]))


def test_both(nl, name):
    """One SET with both attributes applies both."""
    idx = nl.index(name)
    aging0, pools0, _ = nl.dump(idx)
    key = (0, 4096, 0, 0)
    nl.set(idx, aging=aging0 + 1, pinned=3, key=key)
    aging1, pools1, _ = nl.dump(idx)
    p = [x for x in pools1 if x["key"][:4] == key]
    check(aging1 == aging0 + 1, "aging %d -> %d" % (aging0, aging1))
    check(len(p) == 1 and p[0]["pinned"] == 3 and p[0]["queue"] >= 3,
          "pool %s pinned 3: %r" % (fmt_key(key), p))
    nl.set(idx, aging=aging0, pinned=0, key=key)
    aging2, pools2, _ = nl.dump(idx)
    p = [x for x in pools2 if x["key"][:4] == key]
    check(aging2 == aging0 and p and p[0]["pinned"] == 0, "both restored")


# The extack messages that tell a key the driver refused from a valid key
# whose handles could not be created.
MSG_KEY_REJECTED = "The device rejected this FRMR pool key"
MSG_KEY_UNSUPPORTED = "The device does not support this FRMR pool key"
MSG_CREATE_FAILED = "Failed to create pinned handles"
MSG_MR_LIMIT = MSG_CREATE_FAILED + ": device MR limit reached"


def test_key_refused(nl, name):
    """A key the driver's build_key refuses is blamed on the key, with the
    driver's errno, and changes nothing."""
    idx = nl.index(name)
    before = snapshot(nl, idx)
    e = expect_err(lambda: nl.set(idx, pinned=1, key=(0, 0, 0, 0)),
                   errno.EINVAL, "SET pinned on a key of 0 blocks")
    check(e.extack == MSG_KEY_REJECTED, "extack blames the key: \"%s\"" % e.extack)
    # rxe: more blocks than kcalloc() can give one page storage
    e = expect_err(lambda: nl.set(idx, pinned=1, key=(0, 1 << 40, 0, 0)),
                   errno.EOPNOTSUPP, "SET pinned on a key of 2^40 blocks")
    check(e.extack == MSG_KEY_UNSUPPORTED, "extack blames the key: \"%s\"" % e.extack)
    check(snapshot(nl, idx) == before, "nothing changed")


def test_mr_limit(nl, name):
    """A valid key whose handles cannot all be created (rxe: more pinned
    handles than MR indexes) is not blamed on the key: ENOSPC, "device MR
    limit reached", and the pinned count is kept. Leaves the device's MR
    table full of queued handles: use a device of its own and delete it."""
    idx = nl.index(name)
    key = (0, 1, 0, 0)
    nl.set(idx, pinned=2, key=key)
    # rxe creates about 512k handles before it runs out: slow under TCG
    nl.s.settimeout(600)
    t0 = time.monotonic()
    e = expect_err(lambda: nl.set(idx, pinned=1 << 20, key=key), errno.ENOSPC,
                   "SET pinned 2^20 on %s" % fmt_key(key))
    print("  (%.1f s)" % (time.monotonic() - t0))
    check(e.extack == MSG_MR_LIMIT, "extack names the MR limit: \"%s\"" % e.extack)
    _, pools, _ = nl.dump(idx, details=True)
    p = [x for x in pools if x["key"][:4] == key]
    check(len(p) == 1 and p[0]["pinned"] == 2,
          "pinned count kept: %r" % [(x["pinned"], x["queue"]) for x in p])
    check(p[0]["queue"] > 2, "the handles created before the limit stay queued (%d)" %
          p[0]["queue"])


def test_details(nl, name, need_kernel="0"):
    """Kernel-only pools only with DRIVER_DETAILS; counters consistent."""
    idx = nl.index(name)
    _, plain, _ = nl.dump(idx)
    _, det, _ = nl.dump(idx, details=True)
    _, det0, _ = nl.dump(idx, extra=[a_u8(A_DRIVER_DETAILS, 0)])
    check(all(not p["key"][4] for p in plain), "no kernel-only pool without details")
    check([p["key"] for p in det0] == [p["key"] for p in plain],
          "DRIVER_DETAILS 0 is the same as no DRIVER_DETAILS")
    kern = [p for p in det if p["key"][4]]
    check(len(kern) > 0 or need_kernel == "0", "kernel-only pools with details: %s" %
          [fmt_key(p["key"]) + "/kvk %x" % p["key"][4] for p in kern])
    check([p["key"] for p in det if not p["key"][4]] == [p["key"] for p in plain],
          "the user pools are the same with and without details")
    for p in det:
        check(whole(p), "%s: %s (%r)" % (fmt_key(p["key"]), INVARIANT, p["counters"]))


def test_roundtrip(nl, name):
    """Every key a dump printed is accepted by SET as it is (set to its own
    pinned count: nothing changes)."""
    idx = nl.index(name)
    # A key with access flags: the driver keeps those it cannot change on
    # reuse (maybe none) and GET prints the normalised key.
    raw = (0, 1000, 0x10000f, 0)
    nl.set(idx, pinned=1, key=raw)
    _, pools, _ = nl.dump(idx)
    check(len(pools) > 0, "%d pools to feed back" % len(pools))
    check(len([p for p in pools if p["key"][1] == 1000 and p["pinned"] == 1]) == 1,
          "the pool of %s is listed once, as %s" % (fmt_key(raw), [
              fmt_key(p["key"]) for p in pools if p["key"][1] == 1000]))
    for p in pools:
        nl.set(idx, pinned=p["pinned"], key=p["key"][:4])
    print("  ok: SET accepted the %d keys of the dump" % len(pools))
    _, again, _ = nl.dump(idx)
    before = {p["key"]: p["pinned"] for p in pools}
    new = [fmt_key(p["key"]) for p in again if p["key"] not in before]
    check(not new, "SET acted on the pools of exactly those keys (no new pool: %s)"
          % new)
    check(all(before[p["key"]] == p["pinned"] for p in again),
          "pinned counts unchanged")
    nl.set(idx, pinned=0, key=raw)


def check_dump(pools, what, must=None, may=None):
    keys = [p["key"] for p in pools]
    check(keys == sorted(keys, key=sort_key), what + ": sorted in key order")
    check(len(set(keys)) == len(keys), what + ": no duplicate (%d pools)" % len(keys))
    if must is not None:
        missing = set(must) - set(keys)
        check(not missing, what + ": none of the %d persistent pools missing (%s)" %
              (len(must), sorted(missing)[:5]))
    if may is not None:
        extra = set(keys) - set(may)
        check(not extra, what + ": no unknown pool (%s)" % sorted(extra)[:5])


def test_big(nl, name, n=300):
    """Hundreds of pools in a dump of many messages: complete, sorted, no
    duplicate; also while they age away during the dump."""
    idx = nl.index(name)
    small = Nldev(rcvbuf=4096)
    aging0, base, _ = nl.dump(idx, details=True)
    keys = [(0, i, 0, 0) for i in range(1, n + 1)]
    t0 = time.time()
    for k in keys:
        nl.set(idx, pinned=1, key=k)
    print("  pinned %d pools in %.1fs" % (n, time.time() - t0))
    full = [k + (0,) for k in keys]
    aging, pools, nmsg = small.dump(idx, details=True)
    check(nmsg > 3, "dump of %d pools took %d messages" % (len(pools), nmsg))
    check_dump(pools, "full dump", must=full)
    check(all(p["pinned"] == 1 for p in pools if p["key"] in full),
          "every pinned pool shows pinned 1")
    # Every 10th pool stays pinned. Group A (i % 10 in 1..4) ages away while
    # we dump again and again; group B (the rest) while one dump is held.
    keep = [k for i, k in enumerate(full) if i % 10 == 0]
    group_a = [k for i, k in enumerate(full) if 1 <= i % 10 <= 4]
    group_b = [k for i, k in enumerate(full) if i % 10 >= 5]
    allowed = set(full) | {p["key"] for p in base}
    nl.set(idx, aging=1)
    for k in group_a:
        nl.set(idx, pinned=0, key=k[:4])
    seen_sizes = []
    deadline = time.time() + 60
    while time.time() < deadline:
        _, pools, nmsg = small.dump(idx, details=True)
        seen_sizes.append(len(pools))
        check_dump(pools, "dump while aging (%d messages)" % nmsg,
                   must=keep + group_b, may=allowed)
        if not set(group_a) & {p["key"] for p in pools}:
            break
    check(not set(group_a) & {p["key"] for p in pools},
          "group A (%d pools) aged away (sizes seen %s)" % (len(group_a), seen_sizes))
    # The kernel makes the next message of a dump when the reader drained
    # the previous one: stop reading after the first message until group B
    # was freed (about three 1 s ticks), then resume.
    for k in group_b:
        nl.set(idx, pinned=0, key=k[:4])
    small.after_recv = lambda n: time.sleep(8) if n == 1 else None
    _, pools, nmsg = small.dump(idx, details=True)
    small.after_recv = None
    check_dump(pools, "dump held 8 s after its first message (%d messages)" % nmsg,
               must=keep, may=allowed)
    listed_b = set(group_b) & {p["key"] for p in pools}
    check(len(listed_b) < len(group_b) // 2,
          "pools freed during the held dump are not listed (%d of %d listed)" %
          (len(listed_b), len(group_b)))
    _, pools, _ = small.dump(idx, details=True)
    check_dump(pools, "dump after aging", must=keep, may=allowed)
    check(not set(group_b) & {p["key"] for p in pools},
          "group B (%d pools) aged away" % len(group_b))
    for k in keep:
        nl.set(idx, pinned=0, key=k[:4])
    nl.set(idx, aging=aging0)


def test_eperm(nl, name):
    """SET needs CAP_NET_ADMIN; GET does not."""
    idx = nl.index(name)
    check(os.geteuid() != 0, "running unprivileged (uid %d)" % os.geteuid())
    aging, pools, _ = nl.dump(idx)
    check(aging is not None, "unprivileged GET works (%d pools)" % len(pools))
    expect_err(lambda: nl.set(idx, aging=10), errno.EPERM, "unprivileged SET aging")
    expect_err(lambda: nl.set(idx, pinned=1, key=(0, 64, 0, 0)), errno.EPERM,
               "unprivileged SET pinned")


def test_invisible(nl, index):
    """From another network namespace in exclusive mode the device's index is
    unknown: GET and SET fail as for any unknown index."""
    index = int(index)
    check(nl.devices() == {}, "no RDMA device visible here")
    expect_err(lambda: nl.dump(index), errno.EINVAL, "GET of index %d" % index)
    expect_err(lambda: nl.set(index, aging=10), errno.EINVAL, "SET of index %d" % index)


def test_visible(nl, name):
    """Shared mode: the device is visible from another namespace."""
    check(name in nl.devices(), "%s visible" % name)
    nl.dump(nl.index(name))


TESTS = {
    "malformed": test_malformed,
    "key-refused": test_key_refused,
    "mr-limit": test_mr_limit,
    "both": test_both,
    "details": test_details,
    "roundtrip": test_roundtrip,
    "big": test_big,
    "eperm": test_eperm,
    "invisible": test_invisible,
    "visible": test_visible,
}


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    nl = Nldev()
    cmd = argv[1]
    if cmd == "show":
        show(nl, argv[2], "-d" in argv[3:])
    elif cmd == "set" and len(argv) == 5 and argv[3] == "aging":
        nl.set(nl.index(argv[2]), aging=int(argv[4]))
    elif cmd == "set" and len(argv) == 6 and argv[3] == "pinned":
        nl.set(nl.index(argv[2]), pinned=int(argv[5]), key=parse_key_arg(argv[4]))
    elif cmd == "index":
        print(nl.index(argv[2]))
    elif cmd in ("netns-exclusive", "netns-shared"):
        nl.request(CMD_SYS_SET,
                   [a_u8(A_SYS_NETNS_MODE, cmd == "netns-shared")])
    elif cmd == "test" and len(argv) >= 4 and argv[2] in TESTS:
        print("== %s: %s" % (argv[2], TESTS[argv[2]].__doc__.split("\n")[0]))
        try:
            TESTS[argv[2]](nl, *argv[3:])
        except (Fail, NlError, AssertionError) as e:
            print("FAIL: %s" % e)
            return 1
        print("PASS %s" % argv[2])
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except NlError as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(1)
