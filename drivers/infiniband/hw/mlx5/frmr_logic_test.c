// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * KUnit tests of mlx5_ib's FRMR pool logic (frmr_logic.c): which keys
 * build_key rejects, which access flags a key keeps, how mkey variants
 * rotate and when an mkey retires, the UMR size limits in blocks at their
 * exact boundaries, the translation memory of a handle, which pop sites take
 * an exact-size pool, and how a batch destroy counts failures. Runs against
 * the functions of the loaded mlx5_ib (exported to KUnit tests only, see
 * frmr_logic.c) and needs no mlx5 hardware.
 */

#include <kunit/test.h>
#include <linux/bitmap.h>
#include <rdma/ib_verbs.h>
#include "frmr_logic.h"

/* A device with every capability and UMR able to change every flag. */
static const struct mlx5_frmr_caps full_caps = {
	.ats = true,
	.atomic = true,
	.umr_extended_translation_offset = true,
	.relaxed_ordering_write = true,
	.relaxed_ordering_write_umr = true,
	.relaxed_ordering_read = true,
	.relaxed_ordering_read_umr = true,
};

static bool keys_equal(const struct ib_frmr_key *a,
		       const struct ib_frmr_key *b)
{
	return a->vendor_key == b->vendor_key &&
	       a->kernel_vendor_key == b->kernel_vendor_key &&
	       a->num_dma_blocks == b->num_dma_blocks &&
	       a->access_flags == b->access_flags && a->ats == b->ats;
}

static struct ib_frmr_key mtt_key(u64 blocks)
{
	struct ib_frmr_key key = { .num_dma_blocks = blocks };

	return key;
}

static void build_key_rejects_unknown_vendor_bits(struct kunit *test)
{
	struct ib_frmr_key in = mtt_key(16), out = {};
	int bit;

	for (bit = 1; bit < 64; bit++) {
		in.vendor_key = BIT_ULL(bit);
		KUNIT_EXPECT_EQ(test, mlx5_frmr_build_key(&full_caps, &in, &out),
				-EOPNOTSUPP);
		in.vendor_key = BIT_ULL(bit) | MLX5_FRMR_VENDOR_KSM;
		KUNIT_EXPECT_EQ(test, mlx5_frmr_build_key(&full_caps, &in, &out),
				-EOPNOTSUPP);
	}
}

static void build_key_rejects_kernel_vendor_key(struct kunit *test)
{
	struct ib_frmr_key in = mtt_key(16), out = {};
	int bit;

	for (bit = 0; bit < 64; bit++) {
		in.kernel_vendor_key = BIT_ULL(bit);
		KUNIT_EXPECT_EQ(test, mlx5_frmr_build_key(&full_caps, &in, &out),
				-EOPNOTSUPP);
	}
}

static void build_key_accepts_ksm_bit(struct kunit *test)
{
	struct ib_frmr_key in = mtt_key(16), out = {};

	in.vendor_key = MLX5_FRMR_VENDOR_KSM;
	KUNIT_EXPECT_EQ(test, mlx5_frmr_build_key(&full_caps, &in, &out), 0);
	KUNIT_EXPECT_EQ(test, out.vendor_key, MLX5_FRMR_VENDOR_KSM);
	KUNIT_EXPECT_EQ(test, out.num_dma_blocks, 16ULL);
}

static void build_key_rejects_ats_without_cap(struct kunit *test)
{
	struct mlx5_frmr_caps caps = full_caps;
	struct ib_frmr_key in = mtt_key(16), out = {};

	in.ats = 1;
	KUNIT_EXPECT_EQ(test, mlx5_frmr_build_key(&caps, &in, &out), 0);
	KUNIT_EXPECT_EQ(test, out.ats, 1);
	caps.ats = false;
	KUNIT_EXPECT_EQ(test, mlx5_frmr_build_key(&caps, &in, &out),
			-EOPNOTSUPP);
	in.ats = 0;
	KUNIT_EXPECT_EQ(test, mlx5_frmr_build_key(&caps, &in, &out), 0);
}

static void build_key_rejects_bad_ats_value(struct kunit *test)
{
	struct ib_frmr_key in = mtt_key(16), out = {};

	in.ats = 2;
	KUNIT_EXPECT_EQ(test, mlx5_frmr_build_key(&full_caps, &in, &out),
			-EINVAL);
}

static void build_key_rejects_zero_blocks(struct kunit *test)
{
	struct ib_frmr_key in = mtt_key(0), out = {};

	KUNIT_EXPECT_EQ(test, mlx5_frmr_build_key(&full_caps, &in, &out),
			-EINVAL);
}

static void build_key_rejects_when_umr_cannot_load(struct kunit *test)
{
	struct mlx5_frmr_caps caps = full_caps;
	struct ib_frmr_key in = mtt_key(16), out = {};

	caps.umr_modify_entity_size_disabled = true;
	KUNIT_EXPECT_EQ(test, mlx5_frmr_build_key(&caps, &in, &out),
			-EOPNOTSUPP);
	in.vendor_key = MLX5_FRMR_VENDOR_KSM;
	KUNIT_EXPECT_EQ(test, mlx5_frmr_build_key(&caps, &in, &out),
			-EOPNOTSUPP);
}

static void build_key_legacy_limit_boundary(struct kunit *test)
{
	struct mlx5_frmr_caps caps = full_caps;
	struct ib_frmr_key in, out = {};

	caps.umr_extended_translation_offset = false;
	in = mtt_key(MLX5_FRMR_LEGACY_MAX_BLOCKS - 1);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_build_key(&caps, &in, &out), 0);
	in = mtt_key(MLX5_FRMR_LEGACY_MAX_BLOCKS);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_build_key(&caps, &in, &out), 0);
	KUNIT_EXPECT_EQ(test, out.num_dma_blocks, MLX5_FRMR_LEGACY_MAX_BLOCKS);
	in = mtt_key(MLX5_FRMR_LEGACY_MAX_BLOCKS + 1);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_build_key(&caps, &in, &out),
			-EOPNOTSUPP);
	in.vendor_key = MLX5_FRMR_VENDOR_KSM;
	KUNIT_EXPECT_EQ(test, mlx5_frmr_build_key(&caps, &in, &out),
			-EOPNOTSUPP);
	in.num_dma_blocks = MLX5_FRMR_LEGACY_MAX_BLOCKS;
	KUNIT_EXPECT_EQ(test, mlx5_frmr_build_key(&caps, &in, &out), 0);
}

static void build_key_extended_limit_boundary(struct kunit *test)
{
	u64 mtt_max = (u64)U32_MAX * MLX5_FRMR_MTT_PER_OCTOWORD;
	u64 ksm_max = (u64)U32_MAX * MLX5_FRMR_KSM_PER_OCTOWORD;
	struct ib_frmr_key in, out = {};

	KUNIT_EXPECT_EQ(test, mlx5_frmr_max_blocks(&full_caps, false), mtt_max);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_max_blocks(&full_caps, true), ksm_max);

	in = mtt_key(mtt_max - 1);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_build_key(&full_caps, &in, &out), 0);
	in = mtt_key(mtt_max);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_build_key(&full_caps, &in, &out), 0);
	in = mtt_key(mtt_max + 1);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_build_key(&full_caps, &in, &out),
			-EOPNOTSUPP);
	in = mtt_key(U64_MAX);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_build_key(&full_caps, &in, &out),
			-EOPNOTSUPP);

	in = mtt_key(ksm_max - 1);
	in.vendor_key = MLX5_FRMR_VENDOR_KSM;
	KUNIT_EXPECT_EQ(test, mlx5_frmr_build_key(&full_caps, &in, &out), 0);
	in.num_dma_blocks = ksm_max;
	KUNIT_EXPECT_EQ(test, mlx5_frmr_build_key(&full_caps, &in, &out), 0);
	in.num_dma_blocks = ksm_max + 1;
	KUNIT_EXPECT_EQ(test, mlx5_frmr_build_key(&full_caps, &in, &out),
			-EOPNOTSUPP);
}

static void build_key_rounds_up_small_sizes(struct kunit *test)
{
	struct ib_frmr_key in, out = {};
	u64 blocks;

	for (blocks = 1; blocks <= MLX5_FRMR_MIN_BLOCKS + 1; blocks++) {
		in = mtt_key(blocks);
		KUNIT_EXPECT_EQ(test, mlx5_frmr_build_key(&full_caps, &in, &out),
				0);
		KUNIT_EXPECT_EQ(test, out.num_dma_blocks,
				max_t(u64, blocks, MLX5_FRMR_MIN_BLOCKS));
	}
}

static void build_key_is_idempotent(struct kunit *test)
{
	struct mlx5_frmr_caps caps = full_caps;
	struct ib_frmr_key in = mtt_key(3), once = {}, twice = {};

	caps.umr_modify_atomic_disabled = true;
	in.access_flags = IB_ACCESS_REMOTE_ATOMIC | IB_ACCESS_LOCAL_WRITE;
	in.vendor_key = MLX5_FRMR_VENDOR_KSM;
	in.ats = 1;
	KUNIT_ASSERT_EQ(test, mlx5_frmr_build_key(&caps, &in, &once), 0);
	KUNIT_ASSERT_EQ(test, mlx5_frmr_build_key(&caps, &once, &twice), 0);
	KUNIT_EXPECT_TRUE(test, keys_equal(&once, &twice));
	/* In place. */
	KUNIT_ASSERT_EQ(test, mlx5_frmr_build_key(&caps, &once, &once), 0);
	KUNIT_EXPECT_TRUE(test, keys_equal(&once, &twice));
}

static void access_flags_umr_can_change_are_masked(struct kunit *test)
{
	u32 all = IB_ACCESS_LOCAL_WRITE | IB_ACCESS_REMOTE_WRITE |
		  IB_ACCESS_REMOTE_READ | IB_ACCESS_REMOTE_ATOMIC |
		  IB_ACCESS_RELAXED_ORDERING | IB_ACCESS_ON_DEMAND |
		  IB_ACCESS_MW_BIND;
	struct ib_frmr_key in = mtt_key(8), out = {};

	in.access_flags = all;
	KUNIT_EXPECT_EQ(test, mlx5_frmr_build_key(&full_caps, &in, &out), 0);
	KUNIT_EXPECT_EQ(test, out.access_flags, 0);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_unchangeable_access(&full_caps, all), 0);
}

static void access_flags_atomic_kept_when_umr_cannot_change(struct kunit *test)
{
	struct mlx5_frmr_caps caps = full_caps;
	u32 flags = IB_ACCESS_REMOTE_ATOMIC | IB_ACCESS_REMOTE_WRITE;

	caps.umr_modify_atomic_disabled = true;
	KUNIT_EXPECT_EQ(test, mlx5_frmr_unchangeable_access(&caps, flags),
			(u32)IB_ACCESS_REMOTE_ATOMIC);
	/* Without the atomic capability the bit means nothing to the mkey. */
	caps.atomic = false;
	KUNIT_EXPECT_EQ(test, mlx5_frmr_unchangeable_access(&caps, flags), 0);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_unchangeable_access(&caps, 0), 0);
}

static void access_flags_relaxed_ordering_kept_when_umr_cannot_change(struct kunit *test)
{
	struct mlx5_frmr_caps caps = full_caps;
	u32 ro = IB_ACCESS_RELAXED_ORDERING;

	caps.relaxed_ordering_write_umr = false;
	KUNIT_EXPECT_EQ(test, mlx5_frmr_unchangeable_access(&caps, ro), ro);
	caps.relaxed_ordering_write = false;
	KUNIT_EXPECT_EQ(test, mlx5_frmr_unchangeable_access(&caps, ro), 0);

	caps = full_caps;
	caps.relaxed_ordering_read_umr = false;
	KUNIT_EXPECT_EQ(test, mlx5_frmr_unchangeable_access(&caps, ro), ro);
	caps.relaxed_ordering_read = false;
	KUNIT_EXPECT_EQ(test, mlx5_frmr_unchangeable_access(&caps, ro), 0);
}

static void can_reconfig_follows_unchangeable_flags(struct kunit *test)
{
	struct mlx5_frmr_caps caps = full_caps;
	u32 rw = IB_ACCESS_LOCAL_WRITE | IB_ACCESS_REMOTE_WRITE;

	KUNIT_EXPECT_TRUE(test, mlx5_frmr_can_reconfig(&caps, rw,
						       rw | IB_ACCESS_REMOTE_ATOMIC));
	caps.umr_modify_atomic_disabled = true;
	KUNIT_EXPECT_FALSE(test, mlx5_frmr_can_reconfig(&caps, rw,
							rw | IB_ACCESS_REMOTE_ATOMIC));
	KUNIT_EXPECT_TRUE(test, mlx5_frmr_can_reconfig(&caps, rw,
						       IB_ACCESS_LOCAL_WRITE));
}

static void variant_rotates_and_keeps_index(struct kunit *test)
{
	u64 handle = mlx5_frmr_handle_from_mkey(0x123456fe);

	KUNIT_EXPECT_EQ(test, mlx5_frmr_handle_mkey(handle), 0x123456feU);
	handle = mlx5_frmr_handle_reuse(handle);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_handle_mkey(handle), 0x123456ffU);
	handle = mlx5_frmr_handle_reuse(handle);
	/* The variant wraps within the low byte, the index is untouched. */
	KUNIT_EXPECT_EQ(test, mlx5_frmr_handle_mkey(handle), 0x12345600U);
	handle = mlx5_frmr_handle_reuse(handle);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_handle_mkey(handle), 0x12345601U);
}

static void variant_never_repeats_before_retirement(struct kunit *test)
{
	u32 birth_variants[] = { 0x00, 0x01, 0x7f, 0xfe, 0xff };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(birth_variants); i++) {
		u32 mkey = 0xabcd0000 | birth_variants[i];
		u64 handle = mlx5_frmr_handle_from_mkey(mkey);
		DECLARE_BITMAP(seen, MLX5_FRMR_VARIANTS) = {};
		unsigned int uses = 0;

		__set_bit(mkey & 0xff, seen);
		for (;;) {
			u32 key;

			handle = mlx5_frmr_handle_reuse(handle);
			key = mlx5_frmr_handle_mkey(handle);
			uses++;
			KUNIT_EXPECT_EQ(test, key & 0xffffff00, 0xabcd0000U);
			/* A reused rkey never matches an earlier one. */
			KUNIT_EXPECT_FALSE(test, test_bit(key & 0xff, seen));
			__set_bit(key & 0xff, seen);
			if (mlx5_frmr_handle_must_retire(handle))
				break;
			KUNIT_ASSERT_LT(test, uses, MLX5_FRMR_VARIANTS);
		}
		/* Every variant but the creation one was handed out once. */
		KUNIT_EXPECT_EQ(test, uses, MLX5_FRMR_VARIANTS - 1);
		KUNIT_EXPECT_EQ(test, bitmap_weight(seen, MLX5_FRMR_VARIANTS),
				MLX5_FRMR_VARIANTS);
	}
}

static void fresh_handle_is_not_retired(struct kunit *test)
{
	u64 handle = mlx5_frmr_handle_from_mkey(0x00001200);

	handle = mlx5_frmr_handle_reuse(handle);
	KUNIT_EXPECT_FALSE(test, mlx5_frmr_handle_must_retire(handle));
}

static void octo_size_at_limits(struct kunit *test)
{
	u64 mtt_max = (u64)U32_MAX * MLX5_FRMR_MTT_PER_OCTOWORD;

	KUNIT_EXPECT_EQ(test, mlx5_frmr_octo_size(false, 1), 1U);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_octo_size(false, 4), 2U);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_octo_size(false, 5), 3U);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_octo_size(true, 5), 5U);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_octo_size(false, mtt_max), U32_MAX);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_octo_size(false, mtt_max - 1), U32_MAX);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_octo_size(true, U32_MAX), U32_MAX);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_octo_size(true, (u64)U32_MAX - 1),
			U32_MAX - 1);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_octo_size(false,
						  MLX5_FRMR_LEGACY_MAX_BLOCKS),
			(u32)(MLX5_FRMR_LEGACY_MAX_BLOCKS / 2));
}

static void umr_can_load_at_limits(struct kunit *test)
{
	struct mlx5_frmr_caps caps = full_caps;

	KUNIT_EXPECT_FALSE(test, mlx5_frmr_umr_can_load(&caps, false, 0));
	KUNIT_EXPECT_TRUE(test, mlx5_frmr_umr_can_load(&caps, false, 1));
	caps.umr_extended_translation_offset = false;
	KUNIT_EXPECT_TRUE(test, mlx5_frmr_umr_can_load(&caps, false,
						       MLX5_FRMR_LEGACY_MAX_BLOCKS - 1));
	KUNIT_EXPECT_TRUE(test, mlx5_frmr_umr_can_load(&caps, false,
						       MLX5_FRMR_LEGACY_MAX_BLOCKS));
	KUNIT_EXPECT_FALSE(test, mlx5_frmr_umr_can_load(&caps, false,
							MLX5_FRMR_LEGACY_MAX_BLOCKS + 1));
	caps.umr_modify_entity_size_disabled = true;
	KUNIT_EXPECT_FALSE(test, mlx5_frmr_umr_can_load(&caps, false, 1));
	KUNIT_EXPECT_EQ(test, mlx5_frmr_max_blocks(&caps, true), 0ULL);
}

static void num_blocks_of_byte_ranges(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, mlx5_frmr_num_blocks(0, 0, 12), 0ULL);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_num_blocks(0, 1, 12), 1ULL);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_num_blocks(0, 4096, 12), 1ULL);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_num_blocks(0, 4097, 12), 2ULL);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_num_blocks(4095, 2, 12), 2ULL);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_num_blocks(0x10000, 1ULL << 28, 12),
			1ULL << 16);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_num_blocks(0x10001, 1ULL << 28, 12),
			(1ULL << 16) + 1);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_num_blocks(0, 1ULL << 21, 21), 1ULL);
	/* A range that wraps the address space is not a range. */
	KUNIT_EXPECT_EQ(test, mlx5_frmr_num_blocks(U64_MAX - 10, 100, 12), 0ULL);
}

static void handle_bytes_is_octowords_times_16(struct kunit *test)
{
	u64 mtt_max = (u64)U32_MAX * MLX5_FRMR_MTT_PER_OCTOWORD;
	struct ib_frmr_key key = mtt_key(MLX5_FRMR_MIN_BLOCKS);

	/* MTT: 8 bytes an entry, in whole octowords. */
	KUNIT_EXPECT_EQ(test, mlx5_frmr_handle_bytes(&key), 32ULL);
	key.num_dma_blocks = 5;
	KUNIT_EXPECT_EQ(test, mlx5_frmr_handle_bytes(&key), 48ULL);
	key.num_dma_blocks = 1ULL << 18;
	KUNIT_EXPECT_EQ(test, mlx5_frmr_handle_bytes(&key), 1ULL << 21);
	/* KSM: 16 bytes an entry. */
	key.vendor_key = MLX5_FRMR_VENDOR_KSM;
	KUNIT_EXPECT_EQ(test, mlx5_frmr_handle_bytes(&key), 1ULL << 22);
	key.num_dma_blocks = 5;
	KUNIT_EXPECT_EQ(test, mlx5_frmr_handle_bytes(&key), 80ULL);
	/* The largest sizes do not overflow. */
	key = mtt_key(mtt_max);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_handle_bytes(&key),
			(u64)U32_MAX * MLX5_FRMR_OCTOWORD_BYTES);
	key.vendor_key = MLX5_FRMR_VENDOR_KSM;
	key.num_dma_blocks = U32_MAX;
	KUNIT_EXPECT_EQ(test, mlx5_frmr_handle_bytes(&key),
			(u64)U32_MAX * MLX5_FRMR_OCTOWORD_BYTES);
}

static void handle_bytes_of_built_key_covers_request(struct kunit *test)
{
	struct ib_frmr_key in, out = {};
	u64 blocks;

	/* Sizes below the minimum are charged as the rounded-up mkey. */
	for (blocks = 1; blocks <= 2 * MLX5_FRMR_MIN_BLOCKS; blocks++) {
		in = mtt_key(blocks);
		KUNIT_ASSERT_EQ(test, mlx5_frmr_build_key(&full_caps, &in, &out),
				0);
		KUNIT_EXPECT_EQ(test, mlx5_frmr_handle_bytes(&out),
				(u64)mlx5_frmr_octo_size(false,
							 out.num_dma_blocks) *
				MLX5_FRMR_OCTOWORD_BYTES);
		KUNIT_EXPECT_GE(test, mlx5_frmr_handle_bytes(&out),
				max_t(u64, blocks, MLX5_FRMR_MIN_BLOCKS) * 8);
	}
}

static void implicit_odp_parent_pops_exact(struct kunit *test)
{
	/* KSM parent: enabled with ibmr.length 0, so the UMR sets length64. */
	KUNIT_EXPECT_EQ(test,
			mlx5_frmr_site_guarantee(MLX5_FRMR_SITE_IMPLICIT_PARENT),
			MLX5_FRMR_EXACT_SIZE);
	KUNIT_EXPECT_TRUE(test,
			  mlx5_frmr_site_pop_exact(MLX5_FRMR_SITE_IMPLICIT_PARENT));
}

static void implicit_odp_child_pops_exact(struct kunit *test)
{
	/* MTT child: enabled with ibmr.length 0, so the UMR sets length64. */
	KUNIT_EXPECT_EQ(test,
			mlx5_frmr_site_guarantee(MLX5_FRMR_SITE_IMPLICIT_CHILD),
			MLX5_FRMR_EXACT_SIZE);
	KUNIT_EXPECT_TRUE(test,
			  mlx5_frmr_site_pop_exact(MLX5_FRMR_SITE_IMPLICIT_CHILD));
}

static void length_bounded_sites_may_pop_larger(struct kunit *test)
{
	static const enum mlx5_frmr_pop_site sites[] = {
		MLX5_FRMR_SITE_USER_MR,
		MLX5_FRMR_SITE_ODP_MR,
		MLX5_FRMR_SITE_DMABUF,
		MLX5_FRMR_SITE_DATA_DIRECT,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sites); i++) {
		KUNIT_EXPECT_EQ(test, mlx5_frmr_site_guarantee(sites[i]),
				MLX5_FRMR_LENGTH_BOUNDS);
		KUNIT_EXPECT_FALSE(test, mlx5_frmr_site_pop_exact(sites[i]));
	}
}

static void every_site_has_a_guarantee(struct kunit *test)
{
	enum mlx5_frmr_pop_site site;
	unsigned int exact = 0;

	for (site = 0; site < MLX5_FRMR_NUM_SITES; site++) {
		enum mlx5_frmr_guarantee g = mlx5_frmr_site_guarantee(site);
		bool known = g == MLX5_FRMR_EXACT_SIZE ||
			     g == MLX5_FRMR_ZAP_TO_HANDLE_SIZE ||
			     g == MLX5_FRMR_LENGTH_BOUNDS;

		KUNIT_EXPECT_TRUE(test, known);
		KUNIT_EXPECT_EQ(test, mlx5_frmr_site_pop_exact(site),
				g == MLX5_FRMR_EXACT_SIZE);
		exact += mlx5_frmr_site_pop_exact(site);
	}
	/* Exactly the two implicit ODP sites; a new site must be added above. */
	KUNIT_EXPECT_EQ(test, exact, 2U);
	KUNIT_EXPECT_EQ(test, (int)MLX5_FRMR_NUM_SITES, 6);
}

static void unknown_site_pops_exact(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, mlx5_frmr_site_guarantee(MLX5_FRMR_NUM_SITES),
			MLX5_FRMR_EXACT_SIZE);
	KUNIT_EXPECT_TRUE(test, mlx5_frmr_site_pop_exact(MLX5_FRMR_NUM_SITES));
	KUNIT_EXPECT_TRUE(test,
			  mlx5_frmr_site_pop_exact((enum mlx5_frmr_pop_site)-1));
}

/* A destroy callback that fails the mkeys listed in its context. */
struct fake_destroy {
	u32 calls;
	u32 seen[8];
	u32 fail_mask;	/* bit i: fail the i-th call */
	int err;
};

static int fake_destroy_mkey(void *ctx, u32 mkey)
{
	struct fake_destroy *fd = ctx;
	u32 call = fd->calls++;

	if (call < ARRAY_SIZE(fd->seen))
		fd->seen[call] = mkey;
	return fd->fail_mask & BIT(call) ? fd->err - (int)call : 0;
}

static void destroy_handles_without_failure_counts_zero(struct kunit *test)
{
	u64 handles[3] = {
		mlx5_frmr_handle_from_mkey(0x100),
		mlx5_frmr_handle_reuse(mlx5_frmr_handle_from_mkey(0x2ff)),
		mlx5_frmr_handle_from_mkey(0x301),
	};
	struct fake_destroy fd = { .err = -EIO };
	int first_err = 1;

	KUNIT_EXPECT_EQ(test, mlx5_frmr_destroy_handles(handles, 3,
							fake_destroy_mkey,
							&fd, &first_err), 0U);
	KUNIT_EXPECT_EQ(test, fd.calls, 3U);
	/* Each mkey with the variant of its latest use. */
	KUNIT_EXPECT_EQ(test, fd.seen[0], 0x100U);
	KUNIT_EXPECT_EQ(test, fd.seen[1], 0x200U);
	KUNIT_EXPECT_EQ(test, fd.seen[2], 0x301U);
	/* Untouched when nothing failed. */
	KUNIT_EXPECT_EQ(test, first_err, 1);
	KUNIT_EXPECT_EQ(test, mlx5_frmr_destroy_handles(handles, 0,
							fake_destroy_mkey,
							&fd, NULL), 0U);
	KUNIT_EXPECT_EQ(test, fd.calls, 3U);
}

static void destroy_handles_counts_every_failure(struct kunit *test)
{
	u64 handles[6];
	struct fake_destroy fd = { .fail_mask = BIT(1) | BIT(2) | BIT(5),
				   .err = -EIO };
	int first_err = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(handles); i++)
		handles[i] = mlx5_frmr_handle_from_mkey(0x1000 + (i << 8));
	KUNIT_EXPECT_EQ(test,
			mlx5_frmr_destroy_handles(handles, ARRAY_SIZE(handles),
						  fake_destroy_mkey, &fd,
						  &first_err), 3U);
	/* A failure stops nothing: every mkey was tried. */
	KUNIT_EXPECT_EQ(test, fd.calls, (u32)ARRAY_SIZE(handles));
	for (i = 0; i < ARRAY_SIZE(handles); i++)
		KUNIT_EXPECT_EQ(test, fd.seen[i], 0x1000U + (i << 8));
	/* The first failure's error (call 1 returns -EIO - 1). */
	KUNIT_EXPECT_EQ(test, first_err, -EIO - 1);
}

static void destroy_handles_all_fail(struct kunit *test)
{
	u64 handles[4] = {};
	struct fake_destroy fd = { .fail_mask = 0xf, .err = -ETIMEDOUT };

	KUNIT_EXPECT_EQ(test, mlx5_frmr_destroy_handles(handles, 4,
							fake_destroy_mkey,
							&fd, NULL), 4U);
	KUNIT_EXPECT_EQ(test, fd.calls, 4U);
}

static struct kunit_case mlx5_frmr_logic_cases[] = {
	KUNIT_CASE(build_key_rejects_unknown_vendor_bits),
	KUNIT_CASE(build_key_rejects_kernel_vendor_key),
	KUNIT_CASE(build_key_accepts_ksm_bit),
	KUNIT_CASE(build_key_rejects_ats_without_cap),
	KUNIT_CASE(build_key_rejects_bad_ats_value),
	KUNIT_CASE(build_key_rejects_zero_blocks),
	KUNIT_CASE(build_key_rejects_when_umr_cannot_load),
	KUNIT_CASE(build_key_legacy_limit_boundary),
	KUNIT_CASE(build_key_extended_limit_boundary),
	KUNIT_CASE(build_key_rounds_up_small_sizes),
	KUNIT_CASE(build_key_is_idempotent),
	KUNIT_CASE(access_flags_umr_can_change_are_masked),
	KUNIT_CASE(access_flags_atomic_kept_when_umr_cannot_change),
	KUNIT_CASE(access_flags_relaxed_ordering_kept_when_umr_cannot_change),
	KUNIT_CASE(can_reconfig_follows_unchangeable_flags),
	KUNIT_CASE(variant_rotates_and_keeps_index),
	KUNIT_CASE(variant_never_repeats_before_retirement),
	KUNIT_CASE(fresh_handle_is_not_retired),
	KUNIT_CASE(octo_size_at_limits),
	KUNIT_CASE(umr_can_load_at_limits),
	KUNIT_CASE(num_blocks_of_byte_ranges),
	KUNIT_CASE(handle_bytes_is_octowords_times_16),
	KUNIT_CASE(handle_bytes_of_built_key_covers_request),
	KUNIT_CASE(implicit_odp_parent_pops_exact),
	KUNIT_CASE(implicit_odp_child_pops_exact),
	KUNIT_CASE(length_bounded_sites_may_pop_larger),
	KUNIT_CASE(every_site_has_a_guarantee),
	KUNIT_CASE(unknown_site_pops_exact),
	KUNIT_CASE(destroy_handles_without_failure_counts_zero),
	KUNIT_CASE(destroy_handles_counts_every_failure),
	KUNIT_CASE(destroy_handles_all_fail),
	{}
};

static struct kunit_suite mlx5_frmr_logic_suite = {
	.name = "mlx5_frmr_logic",
	.test_cases = mlx5_frmr_logic_cases,
};

kunit_test_suite(mlx5_frmr_logic_suite);

MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
MODULE_DESCRIPTION("KUnit tests of mlx5_ib's FRMR pool logic");
MODULE_LICENSE("Dual BSD/GPL");
