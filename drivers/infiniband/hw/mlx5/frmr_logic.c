// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Copyright (c) 2013-2015, Mellanox Technologies. All rights reserved.
 *
 * Pure logic of mlx5_ib's FRMR pools (see frmr_logic.h). No mlx5_core
 * dependency: every device property arrives in struct mlx5_frmr_caps. A
 * kernel with KUnit exports each function to the KUnit namespace for
 * mlx5_frmr_test (frmr_logic_test.c); without KUnit nothing is exported.
 */

#include <kunit/visibility.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/math.h>
#include <linux/overflow.h>
#include <rdma/ib_verbs.h>
#include "frmr_logic.h"

#define MLX5_FRMR_VARIANT_MASK		0xffULL
#define MLX5_FRMR_BIRTH_SHIFT		32

u32 mlx5_frmr_unchangeable_access(const struct mlx5_frmr_caps *caps,
				  u32 access_flags)
{
	u32 ret = 0;

	if ((access_flags & IB_ACCESS_REMOTE_ATOMIC) && caps->atomic &&
	    caps->umr_modify_atomic_disabled)
		ret |= IB_ACCESS_REMOTE_ATOMIC;

	if ((access_flags & IB_ACCESS_RELAXED_ORDERING) &&
	    caps->relaxed_ordering_write && !caps->relaxed_ordering_write_umr)
		ret |= IB_ACCESS_RELAXED_ORDERING;

	if ((access_flags & IB_ACCESS_RELAXED_ORDERING) &&
	    caps->relaxed_ordering_read && !caps->relaxed_ordering_read_umr)
		ret |= IB_ACCESS_RELAXED_ORDERING;

	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(mlx5_frmr_unchangeable_access);

bool mlx5_frmr_can_reconfig(const struct mlx5_frmr_caps *caps,
			    u32 current_flags, u32 target_flags)
{
	return !mlx5_frmr_unchangeable_access(caps,
					      current_flags ^ target_flags);
}
EXPORT_SYMBOL_IF_KUNIT(mlx5_frmr_can_reconfig);

u64 mlx5_frmr_max_blocks(const struct mlx5_frmr_caps *caps, bool ksm)
{
	/*
	 * umr_check_mkey_mask() refuses MLX5_MKEY_MASK_PAGE_SIZE, which every
	 * UMR that loads a translation sets: nothing can be loaded.
	 */
	if (caps->umr_modify_entity_size_disabled)
		return 0;
	if (!caps->umr_extended_translation_offset)
		return MLX5_FRMR_LEGACY_MAX_BLOCKS;
	return (u64)U32_MAX * (ksm ? MLX5_FRMR_KSM_PER_OCTOWORD :
				     MLX5_FRMR_MTT_PER_OCTOWORD);
}
EXPORT_SYMBOL_IF_KUNIT(mlx5_frmr_max_blocks);

bool mlx5_frmr_umr_can_load(const struct mlx5_frmr_caps *caps, bool ksm,
			    u64 num_blocks)
{
	return num_blocks && num_blocks <= mlx5_frmr_max_blocks(caps, ksm);
}
EXPORT_SYMBOL_IF_KUNIT(mlx5_frmr_umr_can_load);

u32 mlx5_frmr_octo_size(bool ksm, u64 num_blocks)
{
	u64 per = ksm ? MLX5_FRMR_KSM_PER_OCTOWORD : MLX5_FRMR_MTT_PER_OCTOWORD;

	/* Within mlx5_frmr_max_blocks() this cannot exceed U32_MAX. */
	return min_t(u64, DIV_ROUND_UP_ULL(num_blocks, per), U32_MAX);
}
EXPORT_SYMBOL_IF_KUNIT(mlx5_frmr_octo_size);

u64 mlx5_frmr_num_blocks(u64 iova, u64 length, unsigned int page_shift)
{
	u64 mask = (1ULL << page_shift) - 1;
	u64 first = iova & ~mask;
	u64 end;

	if (!length || check_add_overflow(iova, length, &end) ||
	    check_add_overflow(end, mask, &end))
		return 0;
	return ((end & ~mask) - first) >> page_shift;
}
EXPORT_SYMBOL_IF_KUNIT(mlx5_frmr_num_blocks);

int mlx5_frmr_build_key(const struct mlx5_frmr_caps *caps,
			const struct ib_frmr_key *in, struct ib_frmr_key *out)
{
	bool ksm = in->vendor_key & MLX5_FRMR_VENDOR_KSM;
	u64 blocks = in->num_dma_blocks;

	/* No kernel-only pools in mlx5_ib: every kernel_vendor_key bit is unknown. */
	if ((in->vendor_key & ~MLX5_FRMR_VENDOR_KEY_MASK) ||
	    in->kernel_vendor_key)
		return -EOPNOTSUPP;
	if (in->ats > 1 || !blocks)
		return -EINVAL;
	if (in->ats && !caps->ats)
		return -EOPNOTSUPP;
	blocks = max_t(u64, blocks, MLX5_FRMR_MIN_BLOCKS);
	if (!mlx5_frmr_umr_can_load(caps, ksm, blocks))
		return -EOPNOTSUPP;

	out->vendor_key = in->vendor_key;
	out->kernel_vendor_key = 0;
	out->num_dma_blocks = blocks;
	out->access_flags = mlx5_frmr_unchangeable_access(caps,
							  in->access_flags);
	out->ats = in->ats;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(mlx5_frmr_build_key);

u64 mlx5_frmr_handle_from_mkey(u32 mkey)
{
	return (u64)(mkey & MLX5_FRMR_VARIANT_MASK) << MLX5_FRMR_BIRTH_SHIFT |
	       mkey;
}
EXPORT_SYMBOL_IF_KUNIT(mlx5_frmr_handle_from_mkey);

u32 mlx5_frmr_handle_mkey(u64 handle)
{
	return lower_32_bits(handle);
}
EXPORT_SYMBOL_IF_KUNIT(mlx5_frmr_handle_mkey);

u64 mlx5_frmr_handle_reuse(u64 handle)
{
	u64 variant = (handle + 1) & MLX5_FRMR_VARIANT_MASK;

	return (handle & ~MLX5_FRMR_VARIANT_MASK) | variant;
}
EXPORT_SYMBOL_IF_KUNIT(mlx5_frmr_handle_reuse);

bool mlx5_frmr_handle_must_retire(u64 handle)
{
	u64 birth = (handle >> MLX5_FRMR_BIRTH_SHIFT) & MLX5_FRMR_VARIANT_MASK;

	return ((handle + 1) & MLX5_FRMR_VARIANT_MASK) == birth;
}
EXPORT_SYMBOL_IF_KUNIT(mlx5_frmr_handle_must_retire);

u64 mlx5_frmr_handle_bytes(const struct ib_frmr_key *key)
{
	bool ksm = key->vendor_key & MLX5_FRMR_VENDOR_KSM;

	return (u64)mlx5_frmr_octo_size(ksm, key->num_dma_blocks) *
	       MLX5_FRMR_OCTOWORD_BYTES;
}
EXPORT_SYMBOL_IF_KUNIT(mlx5_frmr_handle_bytes);

enum mlx5_frmr_guarantee mlx5_frmr_site_guarantee(enum mlx5_frmr_pop_site site)
{
	switch (site) {
	case MLX5_FRMR_SITE_USER_MR:
	case MLX5_FRMR_SITE_ODP_MR:
	case MLX5_FRMR_SITE_DMABUF:
	case MLX5_FRMR_SITE_DATA_DIRECT:
		return MLX5_FRMR_LENGTH_BOUNDS;
	case MLX5_FRMR_SITE_IMPLICIT_PARENT:
	case MLX5_FRMR_SITE_IMPLICIT_CHILD:
	default:
		return MLX5_FRMR_EXACT_SIZE;
	}
}
EXPORT_SYMBOL_IF_KUNIT(mlx5_frmr_site_guarantee);

bool mlx5_frmr_site_pop_exact(enum mlx5_frmr_pop_site site)
{
	return mlx5_frmr_site_guarantee(site) == MLX5_FRMR_EXACT_SIZE;
}
EXPORT_SYMBOL_IF_KUNIT(mlx5_frmr_site_pop_exact);

u32 mlx5_frmr_destroy_handles(const u64 *handles, u32 count,
			      int (*destroy)(void *ctx, u32 mkey), void *ctx,
			      int *first_err)
{
	u32 failed = 0;
	u32 i;
	int err;

	for (i = 0; i < count; i++) {
		err = destroy(ctx, mlx5_frmr_handle_mkey(handles[i]));
		if (!err)
			continue;
		if (!failed && first_err)
			*first_err = err;
		failed++;
	}
	return failed;
}
EXPORT_SYMBOL_IF_KUNIT(mlx5_frmr_destroy_handles);
