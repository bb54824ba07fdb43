#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
"""perftest_json.py - read the report a perftest bandwidth test writes with
--out_json --out_json_file=FILE and print the figure as one bench.raw line.

Usage: perftest_json.py FILE TEST REP
    prints "<TEST> size=<MsgSize> rep=<REP> iters=<n_iterations> MBps=<BW_average>"

perftest 4.5+0.17 (Debian 12) writes the report in JSON's shape but not in its syntax: keys
and some values unquoted, a comma after the last member. It is read as JSON when it is JSON,
else after quoting the bare words and dropping those commas. The report must hold a results
object with MsgSize, n_iterations and BW_average (MB/s unless the run asked for Gb/s, which
the benchmark does not): anything else is an error, never a zero.
"""
import json
import re
import sys

BARE_KEY = re.compile(r'(^|[{,])(\s*)([A-Za-z_][\w\-]*)(\s*):', re.M)
BARE_VALUE = re.compile(r'(":\s*)([A-Za-z_][\w\-./]*)(\s*)(?=[,}\n])')
TRAILING_COMMA = re.compile(r',(\s*[}\]])')


def load(text):
    try:
        return json.loads(text)
    except ValueError:
        pass
    fixed = BARE_KEY.sub(r'\1\2"\3"\4:', text)
    fixed = BARE_VALUE.sub(r'\1"\2"\3', fixed)
    fixed = TRAILING_COMMA.sub(r'\1', fixed)
    return json.loads(fixed)


def results(doc):
    """The object holding the bandwidth figures, wherever perftest nested it."""
    if isinstance(doc, dict):
        if 'BW_average' in doc:
            return doc
        for v in doc.values():
            r = results(v)
            if r is not None:
                return r
    return None


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    path, test, rep = sys.argv[1:]
    with open(path) as f:
        text = f.read()
    try:
        r = results(load(text))
    except ValueError as e:
        sys.exit(f'{path}: not a perftest JSON report: {e}')
    if r is None:
        sys.exit(f'{path}: no BW_average in the report')
    try:
        size, iters, bw = int(r['MsgSize']), int(r['n_iterations']), float(r['BW_average'])
    except (KeyError, TypeError, ValueError) as e:
        sys.exit(f'{path}: results without a usable {e}')
    if size <= 0 or iters <= 0 or not bw > 0:
        sys.exit(f'{path}: MsgSize {size}, n_iterations {iters}, BW_average {bw}')
    print(f'{test} size={size} rep={rep} iters={iters} MBps={bw}')


if __name__ == '__main__':
    main()
