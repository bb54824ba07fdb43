// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * frmr_kmr - test-only module: kernel fast-registration MRs on one device.
 *
 * Allocates @count MRs with ib_alloc_mr(pd, IB_MR_TYPE_MEM_REG, @sg) on the
 * RDMA device named @dev, as a kernel ULP (nvme-rdma, NFS/RDMA, iSER) does,
 * and deregisters them when the module is unloaded or the device goes away.
 * A driver with FRMR pools serves these MRs from its kernel-only pools, so
 * the selftests get a kernel-only pool (non-zero kernel_vendor_key) without
 * a real ULP.
 *
 * It uses only symbols the stock ib_core exports (an ib_client, a PD and
 * ib_alloc_mr()), so it is built against the stock kernel headers and loads
 * against any ib_core with the same symbol versions.
 */

#include <linux/module.h>
#include <linux/slab.h>
#include <rdma/ib_verbs.h>

static char *dev;
module_param(dev, charp, 0444);
MODULE_PARM_DESC(dev, "RDMA device to allocate the MRs on");

static unsigned int count = 4;
module_param(count, uint, 0444);
MODULE_PARM_DESC(count, "number of MRs (1-1024, default 4)");

static unsigned int sg = 32;
module_param(sg, uint, 0444);
MODULE_PARM_DESC(sg, "max_num_sg of each MR (default 32)");

/**
 * struct frmr_kmr - the MRs of one device
 * @pd: the protection domain of the MRs
 * @n: number of MRs in @mrs
 * @mrs: the MRs
 */
struct frmr_kmr {
	struct ib_pd *pd;
	unsigned int n;
	struct ib_mr *mrs[] __counted_by(n);
};

static struct ib_client frmr_kmr_client;

static void frmr_kmr_free(struct frmr_kmr *k)
{
	while (k->n) {
		ib_dereg_mr(k->mrs[k->n - 1]);
		k->n--;
	}
	ib_dealloc_pd(k->pd);
	kfree(k);
}

static int frmr_kmr_add(struct ib_device *ibdev)
{
	struct frmr_kmr *k;
	struct ib_mr *mr;
	int err;

	if (!dev || strcmp(dev_name(&ibdev->dev), dev))
		return -EOPNOTSUPP;

	k = kzalloc(struct_size(k, mrs, count), GFP_KERNEL);
	if (!k)
		return -ENOMEM;

	k->pd = ib_alloc_pd(ibdev, 0);
	if (IS_ERR(k->pd)) {
		err = PTR_ERR(k->pd);
		kfree(k);
		goto out_err;
	}

	while (k->n < count) {
		mr = ib_alloc_mr(k->pd, IB_MR_TYPE_MEM_REG, sg);
		if (IS_ERR(mr)) {
			err = PTR_ERR(mr);
			frmr_kmr_free(k);
			goto out_err;
		}
		/* __counted_by(n): grow the bound before storing at the new index */
		k->n++;
		k->mrs[k->n - 1] = mr;
	}

	ib_set_client_data(ibdev, &frmr_kmr_client, k);
	pr_info("frmr_kmr: %s: %u MEM_REG MRs of %u sg allocated\n",
		dev, count, sg);
	return 0;

out_err:
	pr_err("frmr_kmr: %s: allocation failed: %d\n", dev, err);
	return err;
}

static void frmr_kmr_remove(struct ib_device *ibdev, void *client_data)
{
	struct frmr_kmr *k = client_data;

	frmr_kmr_free(k);
	pr_info("frmr_kmr: %s: %u MRs freed\n", dev_name(&ibdev->dev), count);
}

static struct ib_client frmr_kmr_client = {
	.name = "frmr_kmr",
	.add = frmr_kmr_add,
	.remove = frmr_kmr_remove,
};

static int __init frmr_kmr_init(void)
{
	if (!dev || !count || count > 1024 || !sg)
		return -EINVAL;
	return ib_register_client(&frmr_kmr_client);
}

static void __exit frmr_kmr_exit(void)
{
	ib_unregister_client(&frmr_kmr_client);
}

module_init(frmr_kmr_init);
module_exit(frmr_kmr_exit);

MODULE_DESCRIPTION("FRMR pools selftest: kernel MEM_REG MRs on one RDMA device");
MODULE_LICENSE("Dual BSD/GPL");
