// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * frmr_bench_pools - pop + push benchmark of `make bench`
 *
 * At load it gives FRMR pools with trivial ops to a device of its own
 * (allocated, never registered, like the KUnit suite's), pins two handles of
 * one key, and times ib_frmr_pool_pop() + ib_frmr_pool_push() pairs of that
 * key on one CPU and on two CPUs at once (both on the same pool, each
 * holding at most one handle, so every pop is served from the queue: the
 * pool's counters must show no miss). For the reader of a profile it also
 * times the synchronisation a pop + push pair does, on locks of its own:
 * one rwsem read lock/unlock (the pool tree) and two spinlock lock/unlock
 * pairs (the pool, once in pop and once in push). Results as in bench.h.
 *
 * It needs ib_core's FRMR pool exports: built against our prepared tree, it
 * loads only with our stack. Unload it afterwards.
 */
#include <linux/module.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <rdma/frmr_pools.h>
#include <rdma/ib_verbs.h>

#include "bench.h"

static unsigned int iters = 100000;
module_param(iters, uint, 0444);
MODULE_PARM_DESC(iters, "pairs per CPU and repetition");

static unsigned int reps = 5;
module_param(reps, uint, 0444);
MODULE_PARM_DESC(reps, "timed repetitions of each measurement");

static unsigned int max_cpus = 2;
module_param(max_cpus, uint, 0444);
MODULE_PARM_DESC(max_cpus, "measure on 1 to max_cpus CPUs at once");

static bool breakdown = true;
module_param(breakdown, bool, 0444);
MODULE_PARM_DESC(breakdown, "also time the locks a pop + push pair takes");

/* Handles the pool keeps: one per CPU, so that every pop is a hit. */
#define FRMR_BENCH_PINNED	2

struct frmr_bench_dev {
	struct ib_device ibdev;
};

/**
 * struct frmr_bench_pool - what a pop + push loop works on
 * @pools: the device's pools
 * @key: the key of the pinned pool
 */
struct frmr_bench_pool {
	struct ib_frmr_pools *pools;
	struct ib_frmr_key key;
};

static atomic64_t frmr_bench_next = ATOMIC64_INIT(0);
static DECLARE_RWSEM(frmr_bench_rwsem);
static DEFINE_SPINLOCK(frmr_bench_lock);

static int frmr_bench_create(struct ib_device *device,
			     const struct ib_frmr_key *key, u64 *handles,
			     u32 count)
{
	u32 i;

	for (i = 0; i < count; i++)
		handles[i] = atomic64_inc_return(&frmr_bench_next);
	return 0;
}

static void frmr_bench_destroy(struct ib_device *device,
			       const struct ib_frmr_key *key,
			       const u64 *handles, u32 count)
{
}

/* What a driver's build_key typically does: copy and mask. */
static int frmr_bench_build_key(struct ib_device *device,
				const struct ib_frmr_key *in,
				struct ib_frmr_key *out)
{
	*out = *in;
	out->access_flags = 0;
	return 0;
}

static const struct ib_frmr_pool_ops frmr_bench_ops = {
	.create_frmrs = frmr_bench_create,
	.destroy_frmrs = frmr_bench_destroy,
	.build_key = frmr_bench_build_key,
};

static int frmr_bench_pop_push(void *arg, u32 n)
{
	struct frmr_bench_pool *b = arg;
	struct ib_frmr_ref ref = {};
	u32 i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = ib_frmr_pool_pop(b->pools, &b->key, &ref);
		if (ret)
			return ret;
		ib_frmr_pool_push(&ref);
	}
	return 0;
}

static int frmr_bench_rwsem_read(void *arg, u32 n)
{
	u32 i;

	for (i = 0; i < n; i++) {
		down_read(&frmr_bench_rwsem);
		up_read(&frmr_bench_rwsem);
	}
	return 0;
}

static int frmr_bench_spinlock2(void *arg, u32 n)
{
	u32 i;

	for (i = 0; i < n; i++) {
		spin_lock(&frmr_bench_lock);
		spin_unlock(&frmr_bench_lock);
		spin_lock(&frmr_bench_lock);
		spin_unlock(&frmr_bench_lock);
	}
	return 0;
}

static int frmr_bench_pools_run(struct ib_device *device,
				struct frmr_bench_pool *b)
{
	struct ib_frmr_pool_stats before, after;
	unsigned int ncpus;
	int ret;

	ret = ib_frmr_pools_set_pinned(device, &b->key, FRMR_BENCH_PINNED);
	if (ret)
		return ret;
	ret = ib_frmr_pools_next_stats(device, NULL, &before);
	for (ncpus = 1; ncpus <= max_cpus && !ret; ncpus++)
		ret = frmr_bench_report("pop_push", "cpus", ncpus, ncpus,
					frmr_bench_pop_push, b, iters, reps);
	if (!ret)
		ret = ib_frmr_pools_next_stats(device, NULL, &after);
	if (ret)
		return ret;
	pr_info("frmr_bench: pop_push hits=%llu misses=%llu\n",
		after.hits - before.hits, after.misses - before.misses);
	if (after.misses != before.misses) {
		pr_err("frmr_bench: a pop missed the queue\n");
		return -EIO;
	}
	if (!breakdown)
		return 0;

	for (ncpus = 1; ncpus <= max_cpus && !ret; ncpus++)
		ret = frmr_bench_report("rwsem_read", "cpus", ncpus, ncpus,
					frmr_bench_rwsem_read, NULL, iters,
					reps);
	for (ncpus = 1; ncpus <= max_cpus && !ret; ncpus++)
		ret = frmr_bench_report("spinlock2", "cpus", ncpus, ncpus,
					frmr_bench_spinlock2, NULL, iters,
					reps);
	return ret;
}

static int __init frmr_bench_pools_init(void)
{
	struct frmr_bench_pool b = {
		.key.num_dma_blocks = 16,
	};
	struct frmr_bench_dev *fd;
	int ret;

	fd = ib_alloc_device(frmr_bench_dev, ibdev);
	if (!fd)
		return -ENOMEM;
	b.pools = ib_frmr_pools_init(&fd->ibdev, &frmr_bench_ops);
	if (IS_ERR(b.pools)) {
		ret = PTR_ERR(b.pools);
		goto out;
	}
	ret = frmr_bench_pools_run(&fd->ibdev, &b);
	ib_frmr_pools_cleanup(&fd->ibdev);
out:
	ib_dealloc_device(&fd->ibdev);
	return ret;
}

static void __exit frmr_bench_pools_exit(void)
{
}

module_init(frmr_bench_pools_init);
module_exit(frmr_bench_pools_exit);
MODULE_DESCRIPTION("FRMR pools benchmark: pop + push of a queued handle");
MODULE_LICENSE("Dual BSD/GPL");
