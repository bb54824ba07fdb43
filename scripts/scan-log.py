#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# scan-log.py - find kernel reports (WARNING, BUG, KASAN, lockdep, kmemleak...) in guest logs.
#
# Usage: scan-log.py KNOWN_REPORTS LOG...   exit 1 if any report not in KNOWN_REPORTS.
# A report's signature is its first line with the timestamp, CPU/PID numbers and taint flags
# removed; KNOWN_REPORTS lists exact signatures (one per line, '#' comments), never patterns.
import os
import re
import sys

BAD = re.compile(r'(WARNING:|BUG:|BUG kmalloc|KASAN:|UBSAN:|Kernel panic|Oops|'
                 r'general protection fault|possible circular locking|'
                 r'possible recursive locking|inconsistent lock state|'
                 r'suspicious RCU usage|INFO: task .* blocked|rcu: INFO|'
                 r'unreferenced object|kmemleak: [0-9]+ new suspected|'
                 r'list_(add|del) corruption|refcount_t:|DEBUG_LOCKS_WARN_ON)')


def signature(line):
    line = re.sub(r'^\[ *[0-9.]+\] ', '', line.strip())
    line = re.sub(r'CPU: \d+ (UID: \d+ )?PID: \d+', 'CPU: * PID: *', line)
    line = re.sub(r'comm: \S+', 'comm: *', line)
    line = re.sub(r'(Tainted|Not tainted).*', '', line)
    line = re.sub(r'0x[0-9a-f]{8,}', '0x*', line)
    return line.strip()


known = set()
if os.path.exists(sys.argv[1]):
    for line in open(sys.argv[1]):
        line = line.strip()
        if line and not line.startswith('#'):
            known.add(line)
found = []
for path in sys.argv[2:]:
    if not os.path.exists(path):
        continue
    seen = set()
    for line in open(path, errors='replace'):
        if not BAD.search(line):
            continue
        sig = signature(line)
        if sig in known or sig in seen:
            continue
        seen.add(sig)
        found.append(f'{os.path.basename(path)}: {sig}')
for f in found:
    print(f)
sys.exit(1 if found else 0)
