#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# ktap.py - extract KUnit results (KTAP) from a kernel log: prints "ok|not_ok suite.case" lines.
# A suite whose plan does not match its results, or that never finished, yields a "not_ok" line.
import re
import sys

pat = re.compile(sys.argv[1]) if len(sys.argv) > 1 else re.compile('.')
line_re = re.compile(r'^(?:\[[ \d.]+\] )?(\s*)(ok|not ok) (\d+) ([^#]*?)\s*(#.*)?$')
plan_re = re.compile(r'^(?:\[[ \d.]+\] )?(\s*)1\.\.(\d+)\s*$')
suite_re = re.compile(r'^(?:\[[ \d.]+\] )?\s*# Subtest: (\S+)')
suites = []  # [name, plan, cases]
cur = None
for raw in sys.stdin:
    raw = raw.rstrip('\n')
    m = suite_re.match(raw)
    if m:
        cur = [m.group(1), None, [], False]
        suites.append(cur)
        continue
    if cur is None:
        continue
    m = plan_re.match(raw)
    if m and cur[1] is None:
        cur[1] = int(m.group(2))
        continue
    m = line_re.match(raw)
    if not m:
        continue
    indent, st, num, name, directive = m.groups()
    name = name.strip()
    if name == cur[0] and len(indent) < 8 and not cur[3]:
        # the suite's own result line closes it
        cur[3] = True
        continue
    if len(indent) == 8 and not cur[3]:  # parameterised sub-cases: fold into the case line
        continue
    skip = directive and 'SKIP' in directive.upper()
    cur[2].append((('not_ok' if st == 'not ok' or skip else 'ok'), name, skip))
for name, plan, cases, closed in suites:
    if not pat.search(name):
        continue
    for st, case, skip in cases:
        print(st, f'{name}.{case}' + ('(skipped)' if skip else ''))
    if not closed:
        print('not_ok', f'{name}.(suite did not finish)')
    if plan is not None and plan != len(cases):
        print('not_ok', f'{name}.(plan {plan} != {len(cases)} results)')
