/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
#ifndef _MLX5_IB_FRMR_LOGIC_H
#define _MLX5_IB_FRMR_LOGIC_H

#include <linux/bits.h>
#include <linux/types.h>
#include <rdma/frmr_pools.h>

/*
 * Pure logic of mlx5_ib's FRMR pools: keys, translation sizes, UMR limits,
 * mkey variants, which pop sites need an exact-size pool, and the failure
 * count of a batch destroy.
 *
 * mlx5_ib keeps free, UMR-enabled mkeys in the generic FRMR pools of ib_core
 * (handle = mkey). What decides whether a pooled mkey can serve an MR is
 * computed here, from device capabilities passed in as plain values, so that
 * this file depends on neither mlx5_core nor struct mlx5_ib_dev and its KUnit
 * suite (frmr_logic_test.c) tests mlx5_ib's own code without mlx5 hardware.
 *
 * Handles: bits 31..0 are the mkey as the consumer sees it (index in bits
 * 31..8, variant in bits 7..0), bits 39..32 are the variant the mkey was
 * created with. Every reuse gives the mkey the next variant, loaded by the
 * enabling UMR, so an rkey of a previous user is dead; an mkey whose next
 * variant would be its creation variant again is retired instead of being
 * queued, so that no rkey value of an mkey comes back while it exists.
 */

/* vendor_key bit 0: the mkey uses KSM access mode (clear: MTT). */
#define MLX5_FRMR_VENDOR_KSM		BIT_ULL(0)
/* Every vendor_key bit that mlx5_ib understands. */
#define MLX5_FRMR_VENDOR_KEY_MASK	MLX5_FRMR_VENDOR_KSM

/* Translation entries per 16-byte octoword: an MTT is 8 bytes, a KSM 16. */
#define MLX5_FRMR_MTT_PER_OCTOWORD	2
#define MLX5_FRMR_KSM_PER_OCTOWORD	1

/*
 * Smallest translation size of a pooled mkey, in blocks: smaller requests are
 * rounded up so that tiny MRs share one pool.
 */
#define MLX5_FRMR_MIN_BLOCKS		4

/*
 * Largest translation size, in blocks, that UMR can load without the
 * umr_extended_translation_offset capability: at most 1 << 16 translation
 * entries, which the 16-bit octoword offset of a UMR reaches in MTT and in
 * KSM mode.
 */
#define MLX5_FRMR_LEGACY_MAX_BLOCKS	BIT_ULL(16)

/* Variants per mkey index: the low 8 bits of an mkey. */
#define MLX5_FRMR_VARIANTS		256

/**
 * struct mlx5_frmr_caps - device capabilities that the pool logic reads
 * @ats: the device supports ATS mkeys (ma_translation_mode)
 * @atomic: the device supports remote atomics
 * @umr_modify_entity_size_disabled: UMR cannot load a translation (PAS) list
 * @umr_extended_translation_offset: UMR reaches translation offsets beyond
 *	16 bits
 * @umr_modify_atomic_disabled: UMR cannot change the atomic access bit
 * @relaxed_ordering_write: mkeys can use relaxed ordering for writes
 * @relaxed_ordering_write_umr: UMR can change relaxed ordering for writes
 * @relaxed_ordering_read: mkeys can use relaxed ordering for reads
 *	(relaxed_ordering_read or relaxed_ordering_read_pci_enabled)
 * @relaxed_ordering_read_umr: UMR can change relaxed ordering for reads
 *
 * Filled by mlx5_ib from MLX5_CAP_GEN() once per device; the logic below
 * reads nothing else.
 */
struct mlx5_frmr_caps {
	bool ats;
	bool atomic;
	bool umr_modify_entity_size_disabled;
	bool umr_extended_translation_offset;
	bool umr_modify_atomic_disabled;
	bool relaxed_ordering_write;
	bool relaxed_ordering_write_umr;
	bool relaxed_ordering_read;
	bool relaxed_ordering_read_umr;
};

/**
 * mlx5_frmr_unchangeable_access() - access flags UMR cannot change
 * @caps: device capabilities
 * @access_flags: IB_ACCESS_* flags
 *
 * The part of @access_flags that must be set when the mkey is created
 * because UMR cannot set or clear it later. Every other flag is loaded by
 * the UMR that enables a pooled mkey.
 *
 * Return: a subset of @access_flags.
 */
u32 mlx5_frmr_unchangeable_access(const struct mlx5_frmr_caps *caps,
				  u32 access_flags);

/**
 * mlx5_frmr_can_reconfig() - can UMR move an mkey between two access sets
 * @caps: device capabilities
 * @current_flags: IB_ACCESS_* flags of the mkey now
 * @target_flags: IB_ACCESS_* flags wanted
 *
 * Return: true if no flag that differs is one UMR cannot change.
 */
bool mlx5_frmr_can_reconfig(const struct mlx5_frmr_caps *caps,
			    u32 current_flags, u32 target_flags);

/**
 * mlx5_frmr_max_blocks() - largest translation size UMR can load
 * @caps: device capabilities
 * @ksm: KSM access mode (else MTT)
 *
 * 0 if UMR cannot load translations at all, MLX5_FRMR_LEGACY_MAX_BLOCKS
 * without the extended translation offset, else the largest size the 32-bit
 * translations_octword_size of an mkey context describes.
 *
 * Return: the limit in blocks (inclusive).
 */
u64 mlx5_frmr_max_blocks(const struct mlx5_frmr_caps *caps, bool ksm);

/**
 * mlx5_frmr_umr_can_load() - can UMR load a translation of this size
 * @caps: device capabilities
 * @ksm: KSM access mode (else MTT)
 * @num_blocks: translation entries
 *
 * Return: true if 0 < @num_blocks <= mlx5_frmr_max_blocks().
 */
bool mlx5_frmr_umr_can_load(const struct mlx5_frmr_caps *caps, bool ksm,
			    u64 num_blocks);

/**
 * mlx5_frmr_octo_size() - translations_octword_size of a pooled mkey
 * @ksm: KSM access mode (else MTT)
 * @num_blocks: translation entries, at most mlx5_frmr_max_blocks()
 *
 * Return: the number of 16-byte octowords holding @num_blocks entries.
 */
u32 mlx5_frmr_octo_size(bool ksm, u64 num_blocks);

/**
 * mlx5_frmr_num_blocks() - blocks spanned by a byte range
 * @iova: start of the range
 * @length: length of the range in bytes
 * @page_shift: log2 of the block size
 *
 * For checks made before a umem exists; equals ib_umem_num_dma_blocks() of a
 * umem at @iova of @length bytes.
 *
 * Return: the number of blocks, 0 for an empty or wrapping range.
 */
u64 mlx5_frmr_num_blocks(u64 iova, u64 length, unsigned int page_shift);

/* Bytes per translation octoword (MLX5_IB_UMR_OCTOWORD). */
#define MLX5_FRMR_OCTOWORD_BYTES	16

/**
 * mlx5_frmr_handle_bytes() - translation table memory of one pooled mkey
 * @key: a built key
 *
 * What a queued mkey of @key holds in the device: its translation table,
 * translations_octword_size (mlx5_frmr_octo_size()) octowords of
 * MLX5_FRMR_OCTOWORD_BYTES bytes each. The value of
 * &ib_frmr_pool_ops.handle_bytes.
 *
 * Return: the size in bytes.
 */
u64 mlx5_frmr_handle_bytes(const struct ib_frmr_key *key);

/**
 * enum mlx5_frmr_pop_site - where mlx5_ib takes a pooled mkey
 * @MLX5_FRMR_SITE_USER_MR: a user MR that UMR can load (create_real_mr()):
 *	ibv_reg_mr(), ib_reg_user_mr() without ODP, and the new MR of a
 *	re-register that cannot be done in place
 * @MLX5_FRMR_SITE_ODP_MR: an explicit ODP MR (create_user_odp_mr()), also
 *	reached by kernel users of ib_reg_user_mr() with IB_ACCESS_ON_DEMAND
 *	(RDS)
 * @MLX5_FRMR_SITE_IMPLICIT_PARENT: the KSM parent of an implicit ODP MR
 *	(mlx5_ib_alloc_implicit_mr())
 * @MLX5_FRMR_SITE_IMPLICIT_CHILD: an MTT child of an implicit ODP MR
 *	(implicit_get_child_mr())
 * @MLX5_FRMR_SITE_DMABUF: a dma-buf MR (reg_user_mr_dmabuf(), MTT)
 * @MLX5_FRMR_SITE_DATA_DIRECT: the KSM mkey behind a data-direct dma-buf MR
 *	(reg_user_mr_dmabuf_by_data_direct())
 * @MLX5_FRMR_NUM_SITES: number of sites
 */
enum mlx5_frmr_pop_site {
	MLX5_FRMR_SITE_USER_MR,
	MLX5_FRMR_SITE_ODP_MR,
	MLX5_FRMR_SITE_IMPLICIT_PARENT,
	MLX5_FRMR_SITE_IMPLICIT_CHILD,
	MLX5_FRMR_SITE_DMABUF,
	MLX5_FRMR_SITE_DATA_DIRECT,
	MLX5_FRMR_NUM_SITES
};

/**
 * enum mlx5_frmr_guarantee - why no earlier user's translation is reachable
 * @MLX5_FRMR_EXACT_SIZE: the pop is exact-size (ib_frmr_pool_pop_exact()):
 *	the mkey has exactly the entries the enabling UMR rewrites
 * @MLX5_FRMR_ZAP_TO_HANDLE_SIZE: the enabling UMR invalidates every entry up
 *	to the size of the pool the mkey came from (ib_frmr_ref_key())
 * @MLX5_FRMR_LENGTH_BOUNDS: the mkey's start address and length (never
 *	length64) bound every access to the entries the MR loaded
 *
 * A pooled mkey may come from a pool up to twice the size asked for, and
 * entries past the request keep the previous owner's addresses with their
 * present bits set. One of these guarantees must hold at every pop site.
 */
enum mlx5_frmr_guarantee {
	MLX5_FRMR_EXACT_SIZE,
	MLX5_FRMR_ZAP_TO_HANDLE_SIZE,
	MLX5_FRMR_LENGTH_BOUNDS,
};

/**
 * mlx5_frmr_site_guarantee() - the guarantee a pop site relies on
 * @site: the pop site
 *
 * Implicit ODP mkeys (parent and children) have ibmr.length 0 when they are
 * enabled, so the UMR sets length64 and nothing bounds access: they pop
 * exact-size. Every other site sets the MR's length before the enabling UMR,
 * which loads it. Documentation/infiniband/frmr_pools_mlx5.rst has the
 * evidence per site.
 *
 * Return: the guarantee; MLX5_FRMR_EXACT_SIZE for an unknown site.
 */
enum mlx5_frmr_guarantee mlx5_frmr_site_guarantee(enum mlx5_frmr_pop_site site);

/**
 * mlx5_frmr_site_pop_exact() - must a pop site use an exact-size pool
 * @site: the pop site
 *
 * Return: true if mlx5_frmr_site_guarantee() is MLX5_FRMR_EXACT_SIZE, i.e.
 * the site must call ib_frmr_pool_pop_exact() rather than ib_frmr_pool_pop().
 */
bool mlx5_frmr_site_pop_exact(enum mlx5_frmr_pop_site site);

/**
 * mlx5_frmr_destroy_handles() - destroy a batch of mkeys, count failures
 * @handles: the handles
 * @count: number of handles
 * @destroy: destroys one mkey; returns 0 or a negative errno
 * @ctx: passed to @destroy
 * @first_err: if not NULL, set to the first error of @destroy (left alone
 *	when every destroy succeeds)
 *
 * Calls @destroy for the mkey of every handle, whatever failed before: an
 * mkey that firmware refused to destroy is leaked in the device, and the
 * caller logs and counts it.
 *
 * Return: the number of handles whose destroy failed.
 */
u32 mlx5_frmr_destroy_handles(const u64 *handles, u32 count,
			      int (*destroy)(void *ctx, u32 mkey), void *ctx,
			      int *first_err);

/**
 * mlx5_frmr_build_key() - validate and normalise a pool key
 * @caps: device capabilities
 * @in: the key asked for
 * @out: the key of the pool to use
 *
 * Keeps in @out only the access flags UMR cannot change, rounds
 * num_dma_blocks up to MLX5_FRMR_MIN_BLOCKS and copies the rest. @in and
 * @out may be the same key. Building a built key gives it back unchanged.
 *
 * Return: 0; -EOPNOTSUPP for a vendor_key bit other than
 * MLX5_FRMR_VENDOR_KSM, for any kernel_vendor_key bit (mlx5_ib has no
 * kernel-only pools), for ATS on a device without ATS, and for a size UMR
 * cannot load; -EINVAL for num_dma_blocks 0 or ats other than 0 or 1.
 */
int mlx5_frmr_build_key(const struct mlx5_frmr_caps *caps,
			const struct ib_frmr_key *in, struct ib_frmr_key *out);

/**
 * mlx5_frmr_handle_from_mkey() - handle of a newly created mkey
 * @mkey: the mkey as created (its variant is the creation variant)
 *
 * Return: the handle to give to the pool.
 */
u64 mlx5_frmr_handle_from_mkey(u32 mkey);

/**
 * mlx5_frmr_handle_mkey() - mkey of a handle
 * @handle: a handle
 *
 * Return: the mkey, with the variant of its latest use.
 */
u32 mlx5_frmr_handle_mkey(u64 handle);

/**
 * mlx5_frmr_handle_reuse() - give a popped handle its next variant
 * @handle: the handle as the pool returned it
 *
 * Return: the handle with the next variant of the same mkey index; callers
 * use mlx5_frmr_handle_mkey() of it as the MR's lkey and rkey.
 */
u64 mlx5_frmr_handle_reuse(u64 handle);

/**
 * mlx5_frmr_handle_must_retire() - is the handle at its last variant
 * @handle: a handle that went through mlx5_frmr_handle_reuse()
 *
 * Return: true if one more reuse would give the mkey its creation variant
 * again (after MLX5_FRMR_VARIANTS - 1 uses): destroy or retire it instead of
 * queueing it.
 */
bool mlx5_frmr_handle_must_retire(u64 handle);

#endif /* _MLX5_IB_FRMR_LOGIC_H */
