// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Copyright (c) 2013-2015, Mellanox Technologies. All rights reserved.
 *
 * frmr.c - mlx5_ib's consumer of the FRMR pools of ib_core
 *
 * User MRs that UMR can load (plain, ODP, dma-buf, and implicit ODP's KSM
 * parent and MTT children) take a free, UMR-enabled mkey from the generic
 * FRMR pools of ib_core; the handle is the mkey (frmr_logic.h). The pool key
 * holds what cannot change after creation: access mode (vendor_key bit 0 =
 * KSM), ATS, translation size in blocks, and the access flags UMR cannot
 * change. Everything else (translation, PD, access, and a new variant of the
 * mkey) is loaded by the UMR that enables the mkey for its new MR. Dereg
 * revokes the mkey through UMR and pushes it back (mlx5r_frmr_release()); an
 * mkey whose revoke failed is destroyed by mlx5r_handle_mkey_cleanup() in mr.c
 * and dropped from the pool's accounting, and an mkey at its last variant is
 * retired so that no rkey value comes back.
 *
 * A pop may return an mkey of a pool up to twice the size asked for, whose
 * entries past the request still hold the previous owner's addresses. Each
 * pop site names itself (enum mlx5_frmr_pop_site); the sites whose mkey the
 * enabling UMR leaves length64 (implicit ODP parent and children) take an
 * exact-size pool, the others bound access by the mkey's length
 * (mlx5_frmr_site_guarantee()).
 */

#include <linux/debugfs.h>
#include <rdma/frmr_pools.h>
#include "mlx5_ib.h"
#include "umr.h"
#include "frmr_logic.h"

void mlx5r_frmr_fill_caps(struct mlx5_ib_dev *dev)
{
	struct mlx5_core_dev *mdev = dev->mdev;
	struct mlx5_frmr_caps *caps = &dev->frmr_caps;

	caps->ats = MLX5_CAP_GEN(mdev, ats);
	caps->atomic = MLX5_CAP_GEN(mdev, atomic);
	caps->umr_modify_entity_size_disabled =
		MLX5_CAP_GEN(mdev, umr_modify_entity_size_disabled);
	caps->umr_extended_translation_offset =
		MLX5_CAP_GEN(mdev, umr_extended_translation_offset);
	caps->umr_modify_atomic_disabled =
		MLX5_CAP_GEN(mdev, umr_modify_atomic_disabled);
	caps->relaxed_ordering_write =
		MLX5_CAP_GEN(mdev, relaxed_ordering_write);
	caps->relaxed_ordering_write_umr =
		MLX5_CAP_GEN(mdev, relaxed_ordering_write_umr);
	caps->relaxed_ordering_read =
		MLX5_CAP_GEN(mdev, relaxed_ordering_read) ||
		MLX5_CAP_GEN(mdev, relaxed_ordering_read_pci_enabled);
	caps->relaxed_ordering_read_umr =
		MLX5_CAP_GEN(mdev, relaxed_ordering_read_umr);
}

/* The mkey context of a free, UMR-enabled mkey for @key. */
static void set_frmr_mkc(struct mlx5_ib_dev *dev,
			 const struct ib_frmr_key *key, void *mkc)
{
	bool ksm = key->vendor_key & MLX5_FRMR_VENDOR_KSM;
	unsigned int access_mode = ksm ? MLX5_MKC_ACCESS_MODE_KSM :
					 MLX5_MKC_ACCESS_MODE_MTT;

	set_mkc_access_pd_addr_fields(mkc, key->access_flags, 0,
				      dev->umrc.pd);
	MLX5_SET(mkc, mkc, free, 1);
	MLX5_SET(mkc, mkc, umr_en, 1);
	MLX5_SET(mkc, mkc, access_mode_1_0, access_mode & 0x3);
	MLX5_SET(mkc, mkc, access_mode_4_2, (access_mode >> 2) & 0x7);
	MLX5_SET(mkc, mkc, ma_translation_mode, !!key->ats);
	MLX5_SET(mkc, mkc, translations_octword_size,
		 mlx5_frmr_octo_size(ksm, key->num_dma_blocks));
	MLX5_SET(mkc, mkc, log_page_size, PAGE_SHIFT);
}

static int mlx5r_destroy_frmr_mkey(void *ctx, u32 mkey)
{
	struct mlx5_ib_dev *dev = ctx;
	int err;

	WARN_ON(xa_load(&dev->odp_mkeys, mlx5_base_mkey(mkey)));
	err = mlx5_core_destroy_mkey(dev->mdev, mkey);
	cond_resched();
	return err;
}

/*
 * The core's destroy_frmrs cannot fail, but firmware can refuse to destroy an
 * mkey, which then stays allocated in the device. Say so (ratelimited: a
 * device in trouble fails every mkey of a batch) and count it in
 * frmr_destroy_failed, which debugfs shows.
 */
static void mlx5r_destroy_frmrs(struct ib_device *device,
				const struct ib_frmr_key *key,
				const u64 *handles, u32 count)
{
	struct mlx5_ib_dev *dev = to_mdev(device);
	int err = 0;
	u32 failed;

	failed = mlx5_frmr_destroy_handles(handles, count,
					   mlx5r_destroy_frmr_mkey, dev, &err);
	if (!failed)
		return;
	atomic_add(failed, &dev->frmr_destroy_failed);
	ibdev_warn_ratelimited(device,
			       "failed to destroy %u of %u mkeys of pool %llx:%llx:%x:%u (first error %d), %d leaked since load\n",
			       failed, count, key->vendor_key,
			       key->num_dma_blocks, key->access_flags, key->ats,
			       err, atomic_read(&dev->frmr_destroy_failed));
}

/* All or nothing: on failure, the mkeys created so far are destroyed. */
static int mlx5r_create_frmrs(struct ib_device *device,
			      const struct ib_frmr_key *key, u64 *handles,
			      u32 count)
{
	struct mlx5_ib_dev *dev = to_mdev(device);
	size_t inlen = MLX5_ST_SZ_BYTES(create_mkey_in);
	void *mkc;
	u32 mkey;
	u32 *in;
	int err = 0;
	u32 i;

	in = kzalloc(inlen, GFP_KERNEL);
	if (!in)
		return -ENOMEM;
	mkc = MLX5_ADDR_OF(create_mkey_in, in, memory_key_mkey_entry);
	set_frmr_mkc(dev, key, mkc);

	for (i = 0; i < count; i++) {
		/* The creation variant; the first pop moves past it. */
		assign_mkey_variant(dev, &mkey, in);
		err = mlx5_core_create_mkey(dev->mdev, &mkey, in, inlen);
		if (err)
			break;
		handles[i] = mlx5_frmr_handle_from_mkey(mkey);
		cond_resched();
	}
	kfree(in);

	if (err) {
		ibdev_warn_ratelimited(device, "create mkey failed %d\n", err);
		mlx5r_destroy_frmrs(device, key, handles, i);
	}
	return err;
}

static int mlx5r_build_frmr_key(struct ib_device *device,
				const struct ib_frmr_key *in,
				struct ib_frmr_key *out)
{
	return mlx5_frmr_build_key(&to_mdev(device)->frmr_caps, in, out);
}

static u64 mlx5r_frmr_handle_bytes(struct ib_device *device,
				   const struct ib_frmr_key *key)
{
	return mlx5_frmr_handle_bytes(key);
}

static const struct ib_frmr_pool_ops mlx5r_frmr_pool_ops = {
	.create_frmrs = mlx5r_create_frmrs,
	.destroy_frmrs = mlx5r_destroy_frmrs,
	.build_key = mlx5r_build_frmr_key,
	.handle_bytes = mlx5r_frmr_handle_bytes,
};

int mlx5r_frmr_pools_init(struct mlx5_ib_dev *dev)
{
	struct ib_frmr_pools *pools;
	struct dentry *root;

	static_assert(MLX5_FRMR_LEGACY_MAX_BLOCKS == MLX5_MAX_UMR_PAGES);
	static_assert(MLX5_IB_UMR_OCTOWORD / sizeof(struct mlx5_mtt) ==
		      MLX5_FRMR_MTT_PER_OCTOWORD);
	static_assert(MLX5_IB_UMR_OCTOWORD / sizeof(struct mlx5_klm) ==
		      MLX5_FRMR_KSM_PER_OCTOWORD);
	static_assert(MLX5_IB_UMR_OCTOWORD == MLX5_FRMR_OCTOWORD_BYTES);

	pools = ib_frmr_pools_init(&dev->ib_dev, &mlx5r_frmr_pool_ops);
	if (IS_ERR(pools))
		return PTR_ERR(pools);
	dev->frmr_pools = pools;

	/* debugfs: <mlx5 device>/frmr_pools/, not for representors. */
	if (mlx5_debugfs_root && !dev->is_rep) {
		root = mlx5_debugfs_get_dev_root(dev->mdev);
		dev->frmr_debugfs = debugfs_create_dir("frmr_pools", root);
		debugfs_create_atomic_t("destroy_failed", 0400,
					dev->frmr_debugfs,
					&dev->frmr_destroy_failed);
	}
	return 0;
}

/*
 * Destroys every queued mkey. An mkey still in use (reported by the core) is
 * destroyed through the ops when its MR is deregistered: the push finds its
 * pool through the MR's ref, not through dev->frmr_pools, which the core may
 * have freed and which is cleared here so that a later pop fails with
 * -EOPNOTSUPP and a second cleanup does nothing.
 */
void mlx5r_frmr_pools_cleanup(struct mlx5_ib_dev *dev)
{
	if (!dev->frmr_pools)
		return;
	ib_frmr_pools_cleanup(&dev->ib_dev);
	dev->frmr_pools = NULL;
	debugfs_remove_recursive(dev->frmr_debugfs);
	dev->frmr_debugfs = NULL;
}

/* Pop from the pool of exactly @key, or from it or a larger one. */
static int mlx5r_frmr_pop(struct mlx5_ib_dev *dev,
			  const struct ib_frmr_key *key,
			  struct ib_frmr_ref *ref, bool exact)
{
	if (exact)
		return ib_frmr_pool_pop_exact(dev->frmr_pools, key, ref);
	return ib_frmr_pool_pop(dev->frmr_pools, key, ref);
}

/**
 * mlx5_mr_pool_alloc() - get an MR with a free mkey from the FRMR pools
 * @dev: the device
 * @access_flags: IB_ACCESS_* flags of the MR
 * @access_mode: MLX5_MKC_ACCESS_MODE_MTT or MLX5_MKC_ACCESS_MODE_KSM
 * @ndescs: translation entries the MR needs
 * @ats: the MR needs ATS
 * @site: who asks; decides whether the mkey may come from a larger pool
 *	(mlx5_frmr_site_pop_exact())
 *
 * The mkey is free (disabled) and has a variant no earlier user of it saw;
 * the caller enables it with a UMR that loads translation, PD, access and
 * the key (MLX5_IB_UPD_XLT_ENABLE), and deregisters the MR on failure. For a
 * site that pops exact-size, the mkey has exactly the entries of the built
 * key (@ndescs unless build_key rounded it up), so an enabling UMR that
 * writes them all leaves nothing of an earlier user reachable.
 *
 * Context: process context, may sleep.
 * Return: the MR, or ERR_PTR(): -EOPNOTSUPP on a device without pools or for
 * a size or attribute the pools cannot provide, another errno from the pool
 * (after trimming idle mkeys and retrying once if the device ran out).
 */
struct mlx5_ib_mr *mlx5_mr_pool_alloc(struct mlx5_ib_dev *dev,
				      int access_flags, int access_mode,
				      u64 ndescs, bool ats,
				      enum mlx5_frmr_pop_site site)
{
	bool exact = mlx5_frmr_site_pop_exact(site);
	struct ib_frmr_key key = {
		.num_dma_blocks = ndescs,
		.access_flags = access_flags,
		.ats = ats,
	};
	struct mlx5_ib_mr *mr;
	int err;

	/* Pools exist from before registration, except without UMR stages. */
	if (!dev->frmr_pools)
		return ERR_PTR(-EOPNOTSUPP);
	if (access_mode == MLX5_MKC_ACCESS_MODE_KSM)
		key.vendor_key = MLX5_FRMR_VENDOR_KSM;
	else if (WARN_ON(access_mode != MLX5_MKC_ACCESS_MODE_MTT))
		return ERR_PTR(-EINVAL);

	mr = kzalloc(sizeof(*mr), GFP_KERNEL);
	if (!mr)
		return ERR_PTR(-ENOMEM);

	err = mlx5r_frmr_pop(dev, &key, &mr->frmr, exact);
	/*
	 * Out of mkeys or memory in the device: idle mkeys of other pools may
	 * hold what is missing. Release them and try once more.
	 */
	if ((err == -ENOMEM || err == -EAGAIN) &&
	    ib_frmr_pools_trim(&dev->ib_dev))
		err = mlx5r_frmr_pop(dev, &key, &mr->frmr, exact);
	if (err) {
		kfree(mr);
		return ERR_PTR(err);
	}
	/*
	 * A new variant on every reuse: the enabling UMR loads it
	 * (MLX5_MKEY_MASK_KEY), so an rkey of a previous user is dead.
	 */
	mr->frmr.handle = mlx5_frmr_handle_reuse(mr->frmr.handle);
	mr->mmkey.key = mlx5_frmr_handle_mkey(mr->frmr.handle);
	mr->mmkey.type = MLX5_MKEY_MR;
	init_waitqueue_head(&mr->mmkey.wait);
	return mr;
}

/**
 * mlx5r_frmr_release() - give the mkey of a deregistered MR back to its pool
 * @mr: the MR; UMR revoked its mkey (free, UMR PD)
 *
 * The mkey is queued for the next pop, or retired when one more reuse would
 * give it its creation variant again (mlx5_frmr_handle_must_retire()).
 *
 * Context: process context, may sleep (a push over the device's bound, or a
 * retirement, destroys the mkey).
 */
void mlx5r_frmr_release(struct mlx5_ib_mr *mr)
{
	if (mlx5_frmr_handle_must_retire(mr->frmr.handle))
		ib_frmr_pool_retire(&mr->frmr);
	else
		ib_frmr_pool_push(&mr->frmr);
}
