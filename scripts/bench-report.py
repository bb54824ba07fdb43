#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
"""bench-report.py - turn the two raw files of `make bench` into bench.txt, bench.json and the
data file of the plot (plot.dat, for scripts/bench-plot.gp).

Usage: bench-report.py STOCK.raw OURS.raw OUTDIR [KEY=VALUE ...]
The KEY=VALUE pairs (date, machine, runs, ...) are copied into the header and the JSON.

Raw lines (tools/testing/selftests/rdma/frmr/scenarios/bench.sh), one per repetition:
    <test> <param>=<value> rep=<n> iters=<n> ns=<wall time>|MBps=<bandwidth>
    <test> hits=<n> misses=<n>
Each figure is the median of the repetitions with their min and max; the speedup is pooled
performance over stock performance (>1: pooled is faster), its range is the worst and best
pairing of the two min..max intervals. Exits 1 if a figure that has a target is missing.
"""
import json
import re
import statistics
import sys

MEASURE = re.compile(r'^(\w+) (\w+)=(\d+) rep=(\d+) iters=(\d+) (ns|MBps)=([\d.]+)$')
COUNTER = re.compile(r'^(\w+) hits=(\d+) misses=(\d+)$')

# test: (label, short label for the plot, unit, divisor of ns per pair; None: a rate)
UNITS = {
    'mr_pair': ('kernel ib_alloc_mr+ib_dereg_mr, max_num_sg {}', 'kernel MR sg {}', 'us', 1e3),
    'user_mr_pair': ('user ibv_reg_mr+ibv_dereg_mr, {}', 'user MR {}', 'us', 1e3),
    'write_bw': ('ib_write_bw, {} messages', 'write_bw {}', 'MB/s', None),
    'nvme_connect': ('nvme-rdma connect, cycles 2..N', 'nvme connect', 's', 1e9),
    'nvme_disconnect': ('nvme-rdma disconnect, cycles 2..N', 'nvme disconnect', 's', 1e9),
    'nvme_first_connect': ('nvme-rdma connect, cycle 1 (cold)', 'nvme connect #1', 's', 1e9),
    'nvme_first_disconnect': ('nvme-rdma disconnect, cycle 1', 'nvme disconn. #1', 's', 1e9),
    'kmalloc': ('kmalloc(64)+kfree, {} CPU(s) (control)', 'kmalloc {} CPU', 'ns', 1),
    'pop_push': ('pop+push (pooled) vs kmalloc+kfree (stock), {} CPU(s)',
                 'pop+push/kmalloc {} CPU', 'ns', 1),
    'rwsem_read': ('down_read+up_read, {} CPU(s)', None, 'ns', 1),
    'spinlock2': ('2x spin_lock+spin_unlock, {} CPU(s)', None, 'ns', 1),
}
TARGETS = {('mr_pair', 1): 1.2, ('mr_pair', 256): 2.0, ('user_mr_pair', None): 0.97,
           ('write_bw', None): 0.97, ('nvme_connect', None): 0.97,
           ('nvme_disconnect', None): 0.97, ('pop_push', 1): 1.0}
HIT_TARGET = 95.0


def parse(path):
    """{(test, param, value): [per-pair value, ...]}, {test: (hits, misses)}"""
    meas, counters = {}, {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            m = MEASURE.match(line)
            if m:
                test, param, value, _, iters, kind, v = m.groups()
                per = float(v) if kind == 'MBps' else float(v) / int(iters)
                meas.setdefault((test, param, int(value)), []).append(per)
                continue
            m = COUNTER.match(line)
            if m:
                # one line per guest: a report over several guests adds them up
                h, n = counters.get(m.group(1), (0, 0))
                counters[m.group(1)] = (h + int(m.group(2)), n + int(m.group(3)))
    return meas, counters


def human_size(n):
    for unit, s in (('MiB', 1 << 20), ('KiB', 1 << 10)):
        if n >= s and n % s == 0:
            return f'{n // s} {unit}'
    return f'{n} B'


def summary(values, div):
    if not values:
        return None
    v = [x / div for x in values] if div else values
    return {'median': statistics.median(v), 'min': min(v), 'max': max(v), 'n': len(v)}


def target_of(test, value):
    return TARGETS.get((test, value), TARGETS.get((test, None)))


def figure(test, param, value, stock, ours):
    label, short, unit, div = UNITS[test]
    arg = human_size(value) if param == 'size' else value
    f = {'test': test, 'param': param, 'value': value, 'label': label.format(arg),
         'short': short.format(arg) if short else None,
         'unit': unit, 'stock': summary(stock, div), 'pooled': summary(ours, div),
         'target': target_of(test, value)}
    s, p = f['stock'], f['pooled']
    if s and p:
        if div is None:   # a rate: higher is better
            f['speedup'] = p['median'] / s['median']
            f['speedup_min'] = p['min'] / s['max']
            f['speedup_max'] = p['max'] / s['min']
        else:             # a time: lower is better
            f['speedup'] = s['median'] / p['median']
            f['speedup_min'] = s['min'] / p['max']
            f['speedup_max'] = s['max'] / p['min']
        if f['target'] is not None:
            f['met'] = f['speedup'] >= f['target']
    return f


def build(stock_path, ours_path):
    sm, _ = parse(stock_path)
    om, oc = parse(ours_path)
    figs = []
    order = ['mr_pair', 'user_mr_pair', 'nvme_first_connect', 'nvme_first_disconnect',
             'nvme_connect', 'nvme_disconnect', 'write_bw', 'kmalloc']
    for test in order:
        for key in sorted(k for k in set(sm) | set(om) if k[0] == test):
            figs.append(figure(*key, sm.get(key, []), om.get(key, [])))
    # pop+push exists only with our stack: against kmalloc+kfree on the stock one.
    for key in sorted(k for k in om if k[0] == 'pop_push'):
        figs.append(figure(*key, sm.get(('kmalloc', 'cpus', key[2]), []), om[key]))
    # The breakdown of a pop+push pair: ours only, absolute.
    parts = [figure(*key, [], om[key]) for key in sorted(om)
             if key[0] in ('rwsem_read', 'spinlock2')]
    counters = {}
    for name, (h, m) in oc.items():
        counters[name] = {'hits': h, 'misses': m,
                          'hit_pct': 100.0 * h / (h + m) if h + m else None}
    if 'nvme_pools' in counters:
        counters['nvme_pools']['target_pct'] = HIT_TARGET
        pct = counters['nvme_pools']['hit_pct']
        counters['nvme_pools']['met'] = pct is not None and pct >= HIT_TARGET
    return figs, parts, counters


def fmt(x):
    if x is None:
        return '-'
    if x >= 100:
        return f'{x:.0f}'
    if x >= 10:
        return f'{x:.1f}'
    return f'{x:.2f}'


def cell(s):
    return '-' if not s else f"{fmt(s['median'])} [{fmt(s['min'])}..{fmt(s['max'])}]"


def text(figs, parts, counters, meta):
    out = ['FRMR pools benchmark: stock Debian RDMA modules against ours (pooled)']
    out += [f'{k}: {v}' for k, v in meta.items()]
    out += ['speedup = pooled performance / stock performance (>1: pooled faster); each cell:',
            'median [min..max] of the repetitions (n); speedup range = worst..best pairing.',
            'Steady state: the repetitions of a figure follow one untimed warm-up pass.', '']
    w = max(len(f['label']) for f in figs + parts) + 7
    head = f"{'figure':<{w}} {'stock':>22} {'pooled':>22} {'speedup':>19} {'target':>10}"
    out += [head, '-' * len(head)]
    for f in figs:
        sp = '-' if 'speedup' not in f else \
            f"{f['speedup']:.2f} [{f['speedup_min']:.2f}..{f['speedup_max']:.2f}]"
        tg = ''
        if f['target'] is not None:
            tg = f">={f['target']:.2f}"
            if 'met' in f:
                tg += ' ok' if f['met'] else ' MISS'
        n = (f['stock'] or f['pooled'] or {}).get('n', 0)
        out.append(f"{f['label'] + ' (' + f['unit'] + ')':<{w}} {cell(f['stock']):>22} "
                   f"{cell(f['pooled']):>22} {sp:>19} {tg:>10}  n={n}")
    if parts:
        out += ['', 'Breakdown of a pop+push pair (pooled kernel, same run, locks of the module):']
        for f in parts:
            out.append(f"{f['label'] + ' (' + f['unit'] + ')':<{w}} {'':>22} {cell(f['pooled']):>22}")
    out.append('')
    for name, c in counters.items():
        line = f"{name}: {c['hits']} hits, {c['misses']} misses"
        if c['hit_pct'] is not None:
            line += f", {c['hit_pct']:.1f}% hits"
        if 'target_pct' in c:
            line += f" (target >= {c['target_pct']:.0f}%: {'ok' if c['met'] else 'MISS'})"
        out.append(line)
    return '\n'.join(out) + '\n'


def plot_data(figs):
    rows = ['# label speedup min max target']
    for f in figs:
        if 'speedup' not in f:
            continue
        label = f['short']
        tg = f['target'] if f['target'] is not None else 'NaN'
        rows.append(f'"{label}" {f["speedup"]:.4f} {f["speedup_min"]:.4f} '
                    f'{f["speedup_max"]:.4f} {tg}')
    return '\n'.join(rows) + '\n'


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    stock, ours, outdir = sys.argv[1:4]
    meta = dict(a.split('=', 1) for a in sys.argv[4:])
    figs, parts, counters = build(stock, ours)
    with open(f'{outdir}/bench.txt', 'w') as f:
        f.write(text(figs, parts, counters, meta))
    with open(f'{outdir}/bench.json', 'w') as f:
        json.dump({'meta': meta, 'figures': figs, 'breakdown': parts,
                   'counters': counters}, f, indent=1)
        f.write('\n')
    with open(f'{outdir}/plot.dat', 'w') as f:
        f.write(plot_data(figs))
    missing = [f['label'] for f in figs if f['target'] is not None and 'speedup' not in f]
    # A workload that printed nothing on either side leaves no figure at all: every test with
    # a target, and the nvme hit counters, must be there.
    for key in sorted(TARGETS, key=str):
        if not any(f['test'] == key[0] and (key[1] is None or f['value'] == key[1]) and
                   'speedup' in f for f in figs):
            missing.append(f'{key[0]}' + (f' {key[1]}' if key[1] is not None else ''))
    if 'nvme_pools' not in counters:
        missing.append('nvme_pools hits')
    if not figs or missing:
        print('missing figures: ' + ', '.join(missing or ['all']), file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()
