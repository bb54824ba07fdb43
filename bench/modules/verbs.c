// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * frmr_bench_verbs - kernel verbs benchmark of `make bench`
 *
 * At load, on the RDMA device @dev, it times ib_alloc_mr(IB_MR_TYPE_MEM_REG)
 * + ib_dereg_mr() pairs for every max_num_sg in @sg (unless @mr is 0), then
 * kmalloc(64) + kfree() pairs on one CPU and on two CPUs at once (up to
 * @max_cpus), and prints the results
 * (see bench.h). Every measurement begins with an untimed warm-up run, so
 * with FRMR pools the pool's handle exists before the clock starts: the
 * figures are steady state.
 *
 * It uses only ib_core exports of the stock kernel and is built against the
 * stock headers, so the same module measures the in-box RDMA stack and ours.
 * Loading fails if a measurement fails; unload it afterwards.
 */
#include <linux/module.h>
#include <rdma/ib_verbs.h>

#include "bench.h"

static char *dev = "rxe0";
module_param(dev, charp, 0444);
MODULE_PARM_DESC(dev, "RDMA device to allocate MRs on");

static bool mr = true;
module_param(mr, bool, 0444);
MODULE_PARM_DESC(mr, "measure the MR pairs (0: kmalloc only, no device needed)");

static unsigned int sg[8] = { 1, 16, 128, 256 };
static unsigned int nsg = 4;
module_param_array(sg, uint, &nsg, 0444);
MODULE_PARM_DESC(sg, "max_num_sg values to measure");

static unsigned int mr_iters = 1000;
module_param(mr_iters, uint, 0444);
MODULE_PARM_DESC(mr_iters, "MR pairs per repetition");

static unsigned int kmalloc_iters = 100000;
module_param(kmalloc_iters, uint, 0444);
MODULE_PARM_DESC(kmalloc_iters, "kmalloc pairs per CPU and repetition");

static unsigned int reps = 5;
module_param(reps, uint, 0444);
MODULE_PARM_DESC(reps, "timed repetitions of each measurement");

static unsigned int max_cpus = 2;
module_param(max_cpus, uint, 0444);
MODULE_PARM_DESC(max_cpus, "measure kmalloc on 1 to max_cpus CPUs (0: not)");

/**
 * struct frmr_bench_mr - what an MR loop allocates from
 * @pd: protection domain on the device
 * @max_num_sg: size of each MR
 */
struct frmr_bench_mr {
	struct ib_pd *pd;
	u32 max_num_sg;
};

static int frmr_bench_mr_pairs(void *arg, u32 iters)
{
	struct frmr_bench_mr *b = arg;
	struct ib_mr *mr;
	u32 i;

	for (i = 0; i < iters; i++) {
		mr = ib_alloc_mr(b->pd, IB_MR_TYPE_MEM_REG, b->max_num_sg);
		if (IS_ERR(mr))
			return PTR_ERR(mr);
		ib_dereg_mr(mr);
	}
	return 0;
}

static int frmr_bench_mrs(struct ib_device *device)
{
	struct frmr_bench_mr b = {};
	unsigned int i;
	int ret = 0;

	b.pd = ib_alloc_pd(device, 0);
	if (IS_ERR(b.pd))
		return PTR_ERR(b.pd);
	for (i = 0; i < nsg && !ret; i++) {
		b.max_num_sg = sg[i];
		ret = frmr_bench_report("mr_pair", "sg", sg[i], 1,
					frmr_bench_mr_pairs, &b, mr_iters,
					reps);
	}
	ib_dealloc_pd(b.pd);
	return ret;
}

static int __init frmr_bench_verbs_init(void)
{
	struct ib_device *device;
	unsigned int ncpus;
	int ret = 0;

	if (mr) {
		device = ib_device_get_by_name(dev, RDMA_DRIVER_UNKNOWN);
		if (!device) {
			pr_err("frmr_bench: no RDMA device %s\n", dev);
			return -ENODEV;
		}
		ret = frmr_bench_mrs(device);
		ib_device_put(device);
	}

	for (ncpus = 1; ncpus <= max_cpus && !ret; ncpus++)
		ret = frmr_bench_report("kmalloc", "cpus", ncpus, ncpus,
					frmr_bench_kmalloc, NULL,
					kmalloc_iters, reps);
	return ret;
}

static void __exit frmr_bench_verbs_exit(void)
{
}

module_init(frmr_bench_verbs_init);
module_exit(frmr_bench_verbs_exit);
MODULE_DESCRIPTION("FRMR pools benchmark: kernel MR allocation and kmalloc");
MODULE_LICENSE("Dual BSD/GPL");
