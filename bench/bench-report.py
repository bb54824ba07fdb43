#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
"""bench-report.py - turn the raw files of `make bench` into bench.txt, bench.json and the data
file of the plot (plot.dat, for bench/bench-plot.gp), with a verdict for every target.

Usage: bench-report.py STOCK.raw OURS.raw OUTDIR [--wall STOCK.raw OURS.raw] [KEY=VALUE ...]
       bench-report.py --compare RUNDIR...
STOCK.raw and OURS.raw are the deterministic guests' (QEMU icount: guest time counts
instructions); --wall adds the labelled table of the wall-clock guests (multi-threaded TCG,
the 1- and 2-CPU kernel loops). The KEY=VALUE pairs (date, machine, runs, ...) are copied into
the header and the JSON. --compare prints the run-to-run table of several bench.json files.

Raw lines (bench/scenarios/bench.sh), one per repetition:
    <test> <param>=<value> rep=<n> iters=<n> ns=<wall time>|MBps=<bandwidth>
    <test> hits=<n> misses=<n>
Each side of a figure is the median of its repetitions with their min and max (every guest of
the side pooled). The speedup is pooled performance over stock performance (>1: pooled is
faster): the Hodges-Lehmann estimate of the ratio, the median of the ratios of every stock
repetition to every pooled one, with its 95% confidence interval from the exact Mann-Whitney
distribution (distribution-free, no random numbers: the report is the same on every run). A
target "at least T" is met when the whole interval is at or above T, missed when it is below,
undecided when it straddles T; for an undecided one, the repetitions per side that would
decide it if both sides kept the distribution they show (the interval narrows about as
1/sqrt(n)).

Exit status 1 if a figure that has a target is missing, or if the deterministic 1-CPU
kmalloc+kfree control (the same code on both sides: its true ratio is 1) reads outside
1.00 +- CONTROL_BAND: then no figure of the run decides anything.
"""
import functools
import json
import math
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
    'pop_push_scaling': ('pop+push on 1 CPU (left) vs on each of {} CPUs (right), pooled',
                         None, 'ns', 1),
    'rwsem_read': ('down_read+up_read, {} CPU(s)', None, 'ns', 1),
    'spinlock2': ('2x spin_lock+spin_unlock, {} CPU(s)', None, 'ns', 1),
}
# Targets, all "speedup at least": (test, value or None for every value) -> target.
TARGETS = {('mr_pair', 1): 1.2, ('mr_pair', 256): 2.0, ('user_mr_pair', None): 0.97,
           ('write_bw', None): 0.97, ('nvme_connect', None): 0.97,
           ('nvme_disconnect', None): 0.97, ('pop_push', 1): 1.0}
# Wall-clock table: a pair on each of 2 CPUs at most 1.3x its 1-CPU cost (issue 14, part B).
WALL_TARGETS = {('pop_push_scaling', 2): 1 / 1.3}
HIT_TARGET = 95.0
CONFIDENCE = 0.95
CONTROL_BAND = 0.03
# Largest number of repetitions per side the report suggests to decide a target.
MAX_N = 100000


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


def mann_whitney_counts(n, m):
    """Number of orderings of n and m untied values giving each U = 0..n*m (the coefficients
    of the Gaussian binomial [n+m choose n]), and their total C(n+m, n)."""
    c = [1] + [0] * (n * m)
    for i in range(1, n + 1):
        for j in range(n * m, m + i - 1, -1):   # times (1 - q^(m+i))
            c[j] -= c[j - m - i]
        for j in range(i, n * m + 1):           # divided by (1 - q^i)
            c[j] += c[j - i]
    return c, math.comb(n + m, n)


@functools.lru_cache(maxsize=None)
def ci_rank(n, m, confidence=CONFIDENCE):
    """k such that [D(k), D(nm+1-k)] of the nm sorted pairwise differences covers the shift
    with at least @confidence (1-based); 0 when no finite interval does. Exact up to 50 x 50
    repetitions, from the normal approximation (which gives the same k there) beyond."""
    alpha = (1 - confidence) / 2
    if n * m <= 2500:
        c, total = mann_whitney_counts(n, m)
        cum, k = 0, 0
        for u in range(n * m + 1):
            cum += c[u]
            if cum / total > alpha:
                break
            k = u + 1
        return k
    z = statistics.NormalDist().inv_cdf(1 - alpha)
    return max(0, math.floor(n * m / 2 - z * math.sqrt(n * m * (n + m + 1) / 12) + 0.5))


def log_ratios(stock, pooled, rate):
    """Sorted logs of every stock/pooled speedup ratio (performance: a rate is higher better)."""
    if rate:
        return sorted(math.log(p / s) for s in stock for p in pooled)
    return sorted(math.log(s / p) for s in stock for p in pooled)


def hodges_lehmann(stock, pooled, rate):
    """Speedup estimate and its interval: from the logs of every stock/pooled ratio."""
    d = log_ratios(stock, pooled, rate)
    est = math.exp(statistics.median(d))
    k = ci_rank(len(stock), len(pooled))
    if k == 0:
        return est, 0.0, math.inf
    return est, math.exp(d[k - 1]), math.exp(d[len(d) - k])


def projected_interval(d, n):
    """The interval n repetitions per side would give if both sides were distributed as the
    repetitions at hand: the rule's ranks at n, taken as quantiles of the observed ratios."""
    k = ci_rank(n, n)
    if k == 0:
        return -math.inf, math.inf
    i = (k - 1) * len(d) // (n * n)
    return d[i], d[len(d) - 1 - i]


def n_to_decide(d, n, target):
    """The fewest repetitions per side whose projected interval leaves out @target (the
    interval narrows about as 1/sqrt(n), and faster at small n, where the exact rule's ranks
    are far from the median); None when no number up to MAX_N does."""
    t = math.log(target)

    def decided(n2):
        lo, hi = projected_interval(d, n2)
        return lo >= t or hi < t

    lo, hi = n + 1, MAX_N
    if not decided(hi):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if decided(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def verdict(est, lo, hi, target, d, n):
    """met / missed / undecided for "speedup at least target", and for an undecided one the
    repetitions per side that would decide it (see n_to_decide)."""
    if lo >= target:
        return 'met', None
    if hi < target:
        return 'missed', None
    return 'undecided', n_to_decide(d, n, target)


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


def target_of(targets, test, value):
    return targets.get((test, value), targets.get((test, None)))


def figure(test, param, value, stock, ours, targets=TARGETS):
    label, short, unit, div = UNITS[test]
    arg = human_size(value) if param == 'size' else value
    f = {'test': test, 'param': param, 'value': value, 'label': label.format(arg),
         'short': short.format(arg) if short else None,
         'unit': unit, 'stock': summary(stock, div), 'pooled': summary(ours, div),
         'target': target_of(targets, test, value)}
    if stock and ours:
        est, lo, hi = hodges_lehmann(stock, ours, div is None)
        f['speedup'], f['ci_low'], f['ci_high'] = est, lo, None if math.isinf(hi) else hi
        if f['target'] is not None:
            f['verdict'], f['n_to_decide'] = verdict(
                est, lo, hi, f['target'], log_ratios(stock, ours, div is None),
                min(len(stock), len(ours)))
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


def build_wall(stock_path, ours_path):
    """The wall-clock table: the kernel loops on 1 and 2 CPUs, and how a pooled pair scales."""
    sm, _ = parse(stock_path)
    om, _ = parse(ours_path)
    figs = [figure(*key, sm.get(key, []), om.get(key, []), WALL_TARGETS)
            for key in sorted(k for k in set(sm) | set(om) if k[0] == 'kmalloc')]
    figs += [figure(*key, sm.get(('kmalloc', 'cpus', key[2]), []), om[key], WALL_TARGETS)
             for key in sorted(k for k in om if k[0] == 'pop_push')]
    one = om.get(('pop_push', 'cpus', 1), [])
    for key in sorted(k for k in om if k[0] == 'pop_push' and k[2] > 1):
        figs.append(figure('pop_push_scaling', 'cpus', key[2], one, om[key], WALL_TARGETS))
    parts = [figure(*key, [], om[key]) for key in sorted(om)
             if key[0] in ('rwsem_read', 'spinlock2')]
    return figs, parts


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


def speedup_cell(f):
    if 'speedup' not in f:
        return '-'
    hi = 'inf' if f['ci_high'] is None else f"{f['ci_high']:.2f}"
    return f"{f['speedup']:.2f} [{f['ci_low']:.2f}..{hi}]"


def verdict_cell(f):
    if f['target'] is None:
        return ''
    if 'verdict' not in f:
        return f">={f['target']:.2f} -"
    v = {'met': 'met', 'missed': 'MISSED', 'undecided': 'undecided'}[f['verdict']]
    out = f">={f['target']:.2f} {v}"
    if f['verdict'] == 'undecided':
        out += f" (n~{f['n_to_decide']} decides)" if f['n_to_decide'] else \
            f' (no n up to {MAX_N} decides)'
    return out


def table(figs, parts, width):
    head = (f"{'figure':<{width}} {'stock':>22} {'pooled':>22} {'speedup [95% CI]':>20}   "
            f"{'n':>3}  target, verdict")
    out = [head, '-' * (len(head) + 24)]
    for f in figs:
        n = min((f['stock'] or {}).get('n', 0), (f['pooled'] or {}).get('n', 0)) or \
            (f['stock'] or f['pooled'] or {}).get('n', 0)
        out.append(f"{f['label'] + ' (' + f['unit'] + ')':<{width}} {cell(f['stock']):>22} "
                   f"{cell(f['pooled']):>22} {speedup_cell(f):>20}   {n:>3}  "
                   f"{verdict_cell(f)}".rstrip())
    if parts:
        out += ['', 'Breakdown of a pop+push pair (pooled kernel, same guests, locks of the '
                'module):']
        for f in parts:
            out.append(f"{f['label'] + ' (' + f['unit'] + ')':<{width}} {'':>22} "
                       f"{cell(f['pooled']):>22}")
    return out


def control_of(figs):
    """The deterministic 1-CPU kmalloc+kfree control and whether it is inside its band."""
    for f in figs:
        if f['test'] == 'kmalloc' and f['value'] == 1 and 'speedup' in f:
            return f, abs(f['speedup'] - 1) <= CONTROL_BAND
    return None, False


def text(figs, parts, counters, meta, wall=None):
    out = ['FRMR pools benchmark: stock Debian RDMA modules against ours (pooled)']
    out += [f'{k}: {v}' for k, v in meta.items()]
    out += ['speedup = pooled performance / stock performance (>1: pooled faster), Hodges-Lehmann',
            'estimate with its 95% confidence interval (exact Mann-Whitney); stock and pooled:',
            'median [min..max] of the n repetitions of each side. A target "at least T" is met',
            'when the whole interval is >= T, MISSED when it is below T, undecided otherwise (n~N:',
            'repetitions per side that would decide it if both sides kept their distribution).',
            'Steady state: the repetitions of a figure follow one untimed warm-up pass.', '']
    allf = figs + parts + (wall[0] + wall[1] if wall else [])
    w = max(len(f['label']) for f in allf) + 7
    out += ['Deterministic guests (QEMU icount: guest time = instructions, 1 ns each):']
    out += table(figs, parts, w)
    out.append('')
    ctl, ok = control_of(figs)
    if ctl:
        out.append(f"control: kmalloc+kfree on 1 CPU reads {speedup_cell(ctl)}, "
                   f"{'inside' if ok else 'OUTSIDE'} 1.00 +- {CONTROL_BAND:.2f}"
                   f"{'' if ok else ': no figure of this run decides anything'}")
    for name, c in counters.items():
        line = f"{name}: {c['hits']} hits, {c['misses']} misses"
        if c['hit_pct'] is not None:
            line += f", {c['hit_pct']:.1f}% hits"
        if 'target_pct' in c:
            line += f" (target >= {c['target_pct']:.0f}%: {'met' if c['met'] else 'MISSED'})"
        out.append(line)
    if wall:
        out += ['', 'Wall-clock guests (multi-threaded TCG, guest time = host time: host load '
                'moves these figures;', 'the 1- and 2-CPU kernel loops only):']
        out += table(wall[0], wall[1], w)
    return '\n'.join(out) + '\n'


def plot_data(figs):
    rows = ['# label speedup ci_low ci_high target']
    for f in figs:
        if 'speedup' not in f or not f['short']:
            continue
        tg = f['target'] if f['target'] is not None else 'NaN'
        hi = f['ci_high'] if f['ci_high'] is not None else 'NaN'
        rows.append(f'"{f["short"]}" {f["speedup"]:.4f} {f["ci_low"]:.4f} {hi} {tg}')
    return '\n'.join(rows) + '\n'


def missing_figures(figs, targets, counters=None):
    missing = [f['label'] for f in figs if f['target'] is not None and 'speedup' not in f]
    # A workload that printed nothing on either side leaves no figure at all: every test with
    # a target, and the nvme hit counters, must be there.
    for key in sorted(targets, key=str):
        if not any(f['test'] == key[0] and (key[1] is None or f['value'] == key[1]) and
                   'speedup' in f for f in figs):
            missing.append(f'{key[0]}' + (f' {key[1]}' if key[1] is not None else ''))
    if counters is not None and 'nvme_pools' not in counters:
        missing.append('nvme_pools hits')
    return missing


def compare(dirs):
    """Run-to-run table: each figure's speedup and interval in every run, and the spread of
    the estimates (largest over smallest, minus one)."""
    runs = [json.load(open(f'{d}/bench.json')) for d in dirs]
    labels = []
    for r in runs:
        for f in r['figures']:
            if f['label'] not in labels and 'speedup' in f:
                labels.append(f['label'])
    w = max(len(x) for x in labels) + 2
    out = [f"{'figure (speedup [95% CI], verdict)':<{w}}" +
           ''.join(f"{'run ' + str(i + 1):>32}" for i in range(len(runs))) + '   spread']
    for label in labels:
        row, est = f'{label:<{w}}', []
        for r in runs:
            f = next((x for x in r['figures'] if x['label'] == label and 'speedup' in x), None)
            if not f:
                row += f"{'-':>32}"
                continue
            est.append(f['speedup'])
            v = {'met': ' met', 'missed': ' MISSED', 'undecided': ' undec.'}.get(
                f.get('verdict'), '')
            row += f'{speedup_cell(f) + v:>32}'
        spread = f'{100 * (max(est) / min(est) - 1):.1f}%' if len(est) > 1 else '-'
        out.append(f'{row}   {spread:>6}')
    ctl = [control_of(r['figures']) for r in runs]
    out.append('')
    out.append('control kmalloc+kfree 1 CPU: ' + ', '.join(
        f"run {i + 1} {c[0]['speedup']:.3f} ({'ok' if c[1] else 'OUTSIDE'})" if c[0]
        else f'run {i + 1} -' for i, c in enumerate(ctl)) + f' (band 1.00 +- {CONTROL_BAND:.2f})')
    print('\n'.join(out))
    return 0 if all(c[1] for c in ctl) else 1


def main():
    args = sys.argv[1:]
    if args[:1] == ['--compare']:
        sys.exit(compare(args[1:]))
    wall_paths = None
    if '--wall' in args:
        i = args.index('--wall')
        wall_paths = args[i + 1:i + 3]
        del args[i:i + 3]
    if len(args) < 3 or (wall_paths is not None and len(wall_paths) != 2):
        sys.exit(__doc__)
    stock, ours, outdir = args[:3]
    meta = dict(a.split('=', 1) for a in args[3:])
    figs, parts, counters = build(stock, ours)
    wall = build_wall(*wall_paths) if wall_paths else None
    with open(f'{outdir}/bench.txt', 'w') as f:
        f.write(text(figs, parts, counters, meta, wall))
    ctl, ctl_ok = control_of(figs)
    doc = {'meta': meta, 'figures': figs, 'breakdown': parts, 'counters': counters,
           'control': {'speedup': ctl['speedup'] if ctl else None, 'band': CONTROL_BAND,
                       'ok': ctl_ok}}
    if wall:
        doc['wall'] = {'figures': wall[0], 'breakdown': wall[1]}
    with open(f'{outdir}/bench.json', 'w') as f:
        json.dump(doc, f, indent=1)
        f.write('\n')
    with open(f'{outdir}/plot.dat', 'w') as f:
        f.write(plot_data(figs))
    missing = missing_figures(figs, TARGETS, counters)
    if wall:
        missing += [f'wall-clock {m}' for m in missing_figures(wall[0], WALL_TARGETS)]
    fail = 0
    if not figs or missing:
        print('missing figures: ' + ', '.join(missing or ['all']), file=sys.stderr)
        fail = 1
    if not ctl_ok:
        print(f'control: the 1-CPU kmalloc+kfree control reads '
              f"{speedup_cell(ctl) if ctl else 'nothing'}, not 1.00 +- {CONTROL_BAND:.2f}",
              file=sys.stderr)
        fail = 1
    sys.exit(fail)


if __name__ == '__main__':
    main()
