// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * fake_frmr_dev - test-only FRMR pool ops on an existing RDMA device
 *
 * nldev's FRMR pool commands need a device with pools. Until a driver that
 * uses them (rxe) is in the tree, this module enables pools on a registered
 * device, by name (default rxe0), with handles that are plain numbers, so
 * that the netlink selftest (nldev.py) can pin, list and age pools. It never
 * pops a handle for an MR: the device's own MRs are not involved.
 *
 * Its build_key behaves like a driver's: vendor_key bit 0 is the only known
 * vendor bit (others are -EOPNOTSUPP), num_dma_blocks must be 1 to
 * FAKE_MAX_BLOCKS, and only FAKE_FIXED_ACCESS access flags stay in the key
 * (the others are "changeable on reuse"). At load it pins handles in one
 * kernel-only pool (kernel_vendor_key 1), which netlink lists only with
 * RDMA_NLDEV_ATTR_DRIVER_DETAILS and never lets user space pin.
 *
 * Unload it before the device goes away (its ops must outlive the pools);
 * ib_dealloc_device() would otherwise clean up through them as a backstop.
 */
#include <linux/atomic.h>
#include <linux/module.h>
#include <rdma/frmr_pools.h>
#include <rdma/ib_verbs.h>

#define FAKE_VENDOR_KNOWN	BIT_ULL(0)
#define FAKE_MAX_BLOCKS		BIT_ULL(20)
#define FAKE_FIXED_ACCESS	(IB_ACCESS_REMOTE_ATOMIC | \
				 IB_ACCESS_RELAXED_ORDERING)
#define FAKE_KERNEL_PINNED	2

static char *dev = "rxe0";
module_param(dev, charp, 0444);
MODULE_PARM_DESC(dev, "name of the RDMA device to give pools to");

static atomic64_t fake_next = ATOMIC64_INIT(0x1000);
static atomic64_t fake_live = ATOMIC64_INIT(0);
static char fake_name[IB_DEVICE_NAME_MAX];

static int fake_create_frmrs(struct ib_device *device,
			     const struct ib_frmr_key *key, u64 *handles,
			     u32 count)
{
	u32 i;

	for (i = 0; i < count; i++)
		handles[i] = atomic64_inc_return(&fake_next);
	atomic64_add(count, &fake_live);
	return 0;
}

static void fake_destroy_frmrs(struct ib_device *device,
			       const struct ib_frmr_key *key,
			       const u64 *handles, u32 count)
{
	atomic64_sub(count, &fake_live);
}

static int fake_build_key(struct ib_device *device,
			  const struct ib_frmr_key *in, struct ib_frmr_key *out)
{
	if (in->vendor_key & ~FAKE_VENDOR_KNOWN)
		return -EOPNOTSUPP;
	if (!in->num_dma_blocks || in->num_dma_blocks > FAKE_MAX_BLOCKS)
		return -EOPNOTSUPP;
	*out = *in;
	out->access_flags &= FAKE_FIXED_ACCESS;
	return 0;
}

static const struct ib_frmr_pool_ops fake_ops = {
	.create_frmrs = fake_create_frmrs,
	.destroy_frmrs = fake_destroy_frmrs,
	.build_key = fake_build_key,
};

static int __init fake_init(void)
{
	struct ib_frmr_key kkey = {
		.kernel_vendor_key = 1,
		.num_dma_blocks = 8,
	};
	struct ib_frmr_pools *pools;
	struct ib_device *device;
	int ret;

	device = ib_device_get_by_name(dev, RDMA_DRIVER_UNKNOWN);
	if (!device)
		return -ENODEV;
	strscpy(fake_name, dev, sizeof(fake_name));

	pools = ib_frmr_pools_init(device, &fake_ops);
	if (IS_ERR(pools)) {
		ret = PTR_ERR(pools);
		goto out;
	}
	ret = ib_frmr_pools_set_pinned(device, &kkey, FAKE_KERNEL_PINNED);
	if (ret)
		ib_frmr_pools_cleanup(device);
out:
	ib_device_put(device);
	if (!ret)
		pr_info("fake_frmr_dev: FRMR pools on %s\n", fake_name);
	return ret;
}

static void __exit fake_exit(void)
{
	struct ib_device *device;

	device = ib_device_get_by_name(fake_name, RDMA_DRIVER_UNKNOWN);
	if (device) {
		ib_frmr_pools_cleanup(device);
		ib_device_put(device);
	}
	pr_info("fake_frmr_dev: %lld handles alive at unload\n",
		(long long)atomic64_read(&fake_live));
}

module_init(fake_init);
module_exit(fake_exit);
MODULE_DESCRIPTION("Test-only FRMR pool ops on an existing RDMA device");
MODULE_LICENSE("Dual BSD/GPL");
