// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Timed loops on one CPU or on several CPUs at once (see bench.h).
 *
 * Each CPU runs the loop in a kthread bound to it. The threads wait for
 * each other before they read the clock, so that on two CPUs the loops
 * really overlap; the wall time of a run is from the first start to the
 * last end.
 */
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/slab.h>

#include "bench.h"

struct frmr_bench_run;

/**
 * struct frmr_bench_thread - one CPU's part of a run
 * @run: the run
 * @done: completed when the thread exits
 * @start: clock when the thread began its loop
 * @end: clock when it finished
 * @err: what the loop returned
 */
struct frmr_bench_thread {
	struct frmr_bench_run *run;
	struct completion done;
	u64 start;
	u64 end;
	int err;
};

/**
 * struct frmr_bench_run - a loop run on @ncpus CPUs at once
 * @fn: the loop
 * @arg: its argument
 * @iters: pairs per CPU
 * @ncpus: CPUs taking part
 * @ready: threads that reached the starting line
 * @t: the threads' parts
 */
struct frmr_bench_run {
	frmr_bench_fn fn;
	void *arg;
	u32 iters;
	unsigned int ncpus;
	atomic_t ready;
	struct frmr_bench_thread t[FRMR_BENCH_MAX_CPUS];
};

static int frmr_bench_thread_fn(void *data)
{
	struct frmr_bench_thread *t = data;
	struct frmr_bench_run *run = t->run;

	/* Start together: wait until every thread is running. */
	atomic_inc(&run->ready);
	while (atomic_read(&run->ready) < run->ncpus)
		cpu_relax();
	t->start = ktime_get_ns();
	t->err = run->fn(run->arg, run->iters);
	t->end = ktime_get_ns();
	kthread_complete_and_exit(&t->done, 0);
}

int frmr_bench_on_cpus(unsigned int ncpus, frmr_bench_fn fn, void *arg,
		       u32 iters, u64 *wall_ns)
{
	struct frmr_bench_run *run;
	struct task_struct *task;
	unsigned int i, started = 0;
	u64 start = U64_MAX, end = 0;
	int ret = 0;

	if (!ncpus || ncpus > FRMR_BENCH_MAX_CPUS || ncpus > num_online_cpus())
		return -EINVAL;
	run = kzalloc(sizeof(*run), GFP_KERNEL);
	if (!run)
		return -ENOMEM;
	run->fn = fn;
	run->arg = arg;
	run->iters = iters;
	run->ncpus = ncpus;

	for (i = 0; i < ncpus; i++) {
		run->t[i].run = run;
		init_completion(&run->t[i].done);
		task = kthread_create_on_cpu(frmr_bench_thread_fn, &run->t[i],
					     i, "frmr_bench/%u");
		if (IS_ERR(task)) {
			ret = PTR_ERR(task);
			/* Let the threads already started leave the line. */
			atomic_add(ncpus - i, &run->ready);
			break;
		}
		wake_up_process(task);
		started++;
	}
	for (i = 0; i < started; i++) {
		wait_for_completion(&run->t[i].done);
		if (!ret)
			ret = run->t[i].err;
		start = min(start, run->t[i].start);
		end = max(end, run->t[i].end);
	}
	if (!ret)
		*wall_ns = end - start;
	kfree(run);
	return ret;
}

int frmr_bench_report(const char *test, const char *param, u32 value,
		      unsigned int ncpus, frmr_bench_fn fn, void *arg,
		      u32 iters, unsigned int reps)
{
	unsigned int rep;
	u64 ns;
	int ret;

	/* Warm-up: caches, and a pool's first handles, are made here. */
	ret = frmr_bench_on_cpus(ncpus, fn, arg, iters, &ns);
	for (rep = 0; rep < reps && !ret; rep++) {
		ret = frmr_bench_on_cpus(ncpus, fn, arg, iters, &ns);
		if (!ret)
			pr_info("frmr_bench: %s %s=%u rep=%u iters=%u ns=%llu\n",
				test, param, value, rep, iters, ns);
	}
	if (ret)
		pr_err("frmr_bench: %s %s=%u failed: %d\n", test, param, value,
		       ret);
	return ret;
}

int frmr_bench_kmalloc(void *arg, u32 iters)
{
	void *p;
	u32 i;

	for (i = 0; i < iters; i++) {
		p = kmalloc(64, GFP_KERNEL);
		if (!p)
			return -ENOMEM;
		/* Keep the compiler from pairing the two away. */
		OPTIMIZER_HIDE_VAR(p);
		kfree(p);
	}
	return 0;
}
