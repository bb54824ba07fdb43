/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * What the benchmark modules share: a timed loop run on one CPU or on
 * several CPUs at once, and the kmalloc(64) + kfree() loop that pop + push
 * of a queued FRMR handle is compared with.
 *
 * Every measurement is printed as one dmesg line, which
 * bench/scenarios/bench.sh collects:
 *   frmr_bench: <test> <param>=<value> rep=<n> iters=<n> ns=<wall time>
 * The wall time runs from the moment all CPUs start to the moment the last
 * one finished its @iters pairs. An untimed warm-up run comes first.
 */
#ifndef _FRMR_BENCH_H
#define _FRMR_BENCH_H

#include <linux/types.h>

/* Largest number of CPUs a measurement runs on at once. */
#define FRMR_BENCH_MAX_CPUS	8

/* One CPU's share of a measurement: @iters pairs; 0 or a negative errno. */
typedef int (*frmr_bench_fn)(void *arg, u32 iters);

int frmr_bench_on_cpus(unsigned int ncpus, frmr_bench_fn fn, void *arg,
		       u32 iters, u64 *wall_ns);
int frmr_bench_report(const char *test, const char *param, u32 value,
		      unsigned int ncpus, frmr_bench_fn fn, void *arg,
		      u32 iters, unsigned int reps);
int frmr_bench_kmalloc(void *arg, u32 iters);

#endif /* _FRMR_BENCH_H */
