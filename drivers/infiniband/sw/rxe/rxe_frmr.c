// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/**
 * DOC: rxe FRMR handles
 *
 * rxe as a consumer of the FRMR pools (include/rdma/frmr_pools.h).
 * User MRs (rxe_reg_user_mr) and kernel fast-registration MRs (rxe_alloc_mr,
 * IB_MR_TYPE_MEM_REG) take a handle from the device's pools and give it back
 * at dereg. A handle is a pointer to a struct rxe_frmr, which carries what is
 * worth keeping between two registrations: the MR table index behind the
 * lkey/rkey and the page storage.
 *
 * The MR table index:
 * - is reserved in rxe->mr_pool.xa (a NULL entry) when the handle is created
 *   and freed when the handle is destroyed;
 * - is published (the MR's elem stored at it) by rxe_finalize() when an MR
 *   holding the handle is ready, and hidden again (NULL stored) by
 *   __rxe_cleanup() at dereg, so rxe_pool_get_index() never finds a queued
 *   handle;
 * - is counted in mr_pool.num_elem from creation to destruction of the
 *   handle: num_elem is the number of DMA MRs plus the number of handles
 *   (queued or in use), so max_elem (RXE_MAX_MR) still bounds the indexes in
 *   use. A registration that fails (the limit, or memory) first trims the
 *   idle handles and retries once.
 *
 * The key byte (low 8 bits of lkey/rkey):
 * - User MRs: rxe owns it. Each registration takes the handle's previous
 *   byte + 1, starting from a random byte, and a handle is retired (destroyed,
 *   never queued again) after frmr_max_reuse (at most 255) registrations, so
 *   the byte never wraps on one index and no stale rkey of an earlier
 *   registration can match.
 * - Kernel MEM_REG MRs: the ULP owns it (ib_update_fast_reg_key() before each
 *   IB_WR_REG_MR), so the only guarantee is that a reused handle starts in
 *   RXE_MR_STATE_FREE with a byte different from the one it had at dereg:
 *   nothing is accessible until the new owner registers it. The two kinds of
 *   handle must not meet, or a kernel ULP's byte would break the user
 *   sequence: kernel pools have kernel_vendor_key RXE_FRMR_KERNEL_KEY.
 *
 * A handle goes back to its pool only when no packet can touch its MR any
 * more: after __rxe_cleanup() waited for the last reference. If that wait
 * times out, the handle is dropped instead and its page storage leaked,
 * since whoever still holds the MR may read it.
 */

#include <linux/moduleparam.h>
#include <linux/sysfs.h>

#include "rxe.h"
#include "rxe_loc.h"

/* Largest page storage kcalloc() can provide, in pages. */
#define RXE_FRMR_MAX_BLOCKS	(KMALLOC_MAX_SIZE / sizeof(struct rxe_mr_page))

static unsigned int frmr_max_reuse = RXE_FRMR_MAX_REUSE;

static int frmr_max_reuse_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, RXE_FRMR_MAX_REUSE);
}

static const struct kernel_param_ops frmr_max_reuse_ops = {
	.set = frmr_max_reuse_set,
	.get = param_get_uint,
};

module_param_cb(frmr_max_reuse, &frmr_max_reuse_ops, &frmr_max_reuse, 0644);
MODULE_PARM_DESC(frmr_max_reuse,
		 "Registrations of user MRs one pooled handle serves before it is destroyed (1-255, default 255)");

/*
 * Test only, off by default: every pop checks that the handle's page storage
 * holds no page. A queued handle must hold none (rxe_frmr_put() clears what
 * its last MR filled in), or an MR of N pages on a handle from a larger pool
 * would carry its previous owner's pages past its N entries. The read-only
 * frmr_clean_stats counts the handles checked and the entries found set;
 * each handle found unclean is also logged.
 */
static bool frmr_check_clean;
module_param(frmr_check_clean, bool, 0644);
MODULE_PARM_DESC(frmr_check_clean,
		 "Test only: check that a popped handle's page storage is clear (default off)");

static atomic_long_t frmr_clean_checked = ATOMIC_LONG_INIT(0);
static atomic_long_t frmr_clean_stale = ATOMIC_LONG_INIT(0);

static int frmr_clean_stats_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%ld %ld\n",
			  atomic_long_read(&frmr_clean_checked),
			  atomic_long_read(&frmr_clean_stale));
}

static const struct kernel_param_ops frmr_clean_stats_ops = {
	.get = frmr_clean_stats_get,
};

module_param_cb(frmr_clean_stats, &frmr_clean_stats_ops, NULL, 0444);
MODULE_PARM_DESC(frmr_clean_stats,
		 "frmr_check_clean: handles checked, page entries found set");

static void rxe_frmr_check_clean(const struct rxe_frmr *frmr)
{
	u32 i, stale = 0;

	for (i = 0; i < frmr->num_pages; i++)
		if (frmr->page_info[i].page || frmr->page_info[i].offset)
			stale++;
	atomic_long_inc(&frmr_clean_checked);
	if (!stale)
		return;
	atomic_long_add(stale, &frmr_clean_stale);
	pr_err_ratelimited("FRMR handle of MR index %u popped with %u of %u page entries set\n",
			   frmr->index, stale, frmr->num_pages);
}

static struct rxe_frmr *rxe_frmr_create_one(struct rxe_dev *rxe,
					    u64 num_pages, gfp_t gfp)
{
	struct rxe_frmr *frmr;
	int err;

	frmr = kzalloc(sizeof(*frmr), gfp);
	if (!frmr)
		return ERR_PTR(-ENOMEM);

	frmr->page_info = kcalloc(num_pages, sizeof(*frmr->page_info), gfp);
	if (!frmr->page_info) {
		err = -ENOMEM;
		goto err_free;
	}
	frmr->num_pages = num_pages;

	err = rxe_pool_reserve_index(&rxe->mr_pool, &frmr->index);
	if (err)
		goto err_free_pages;

	frmr->key = rxe_get_next_key(-1);
	return frmr;

err_free_pages:
	kfree(frmr->page_info);
err_free:
	kfree(frmr);
	return ERR_PTR(err);
}

static void rxe_frmr_destroy_one(struct rxe_dev *rxe, struct rxe_frmr *frmr)
{
	rxe_pool_release_index(&rxe->mr_pool, frmr->index);
	kfree(frmr->page_info);
	kfree(frmr);
}

static void rxe_frmr_destroy(struct ib_device *ibdev,
			     const struct ib_frmr_key *key, const u64 *handles,
			     u32 count)
{
	struct rxe_dev *rxe = to_rdev(ibdev);
	u32 i;

	for (i = 0; i < count; i++)
		rxe_frmr_destroy_one(rxe, (struct rxe_frmr *)(uintptr_t)handles[i]);
}

static int rxe_frmr_create(struct ib_device *ibdev,
			   const struct ib_frmr_key *key, u64 *handles,
			   u32 count)
{
	struct rxe_dev *rxe = to_rdev(ibdev);
	struct rxe_frmr *frmr;
	gfp_t gfp;
	u32 i;

	/*
	 * A handle of a user pool is made for (and stays queued after) a
	 * user's registration: its memory is charged to the caller's memory
	 * cgroup. At the cgroup's limit the allocation fails rather than
	 * invoke the cgroup's OOM killer (__GFP_RETRY_MAYFAIL): rxe_frmr_get()
	 * then trims the device's idle handles, which uncharges what they
	 * hold, and tries once more. Kernel pools serve ULPs and stay
	 * uncharged. The MR table index is shared by every user of the device
	 * and is not charged.
	 */
	gfp = key->kernel_vendor_key ? GFP_KERNEL :
	      GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN;
	for (i = 0; i < count; i++) {
		frmr = rxe_frmr_create_one(rxe, key->num_dma_blocks, gfp);
		if (IS_ERR(frmr)) {
			/* all or nothing */
			rxe_frmr_destroy(ibdev, key, handles, i);
			return PTR_ERR(frmr);
		}
		handles[i] = (uintptr_t)frmr;
	}
	return 0;
}

/*
 * rxe can change every access flag of a reused handle, so access flags do
 * not split pools; it has no ATS and no vendor attributes.
 */
static int rxe_frmr_build_key(struct ib_device *ibdev,
			      const struct ib_frmr_key *in,
			      struct ib_frmr_key *out)
{
	if (in->ats || in->vendor_key)
		return -EOPNOTSUPP;
	if (in->kernel_vendor_key && in->kernel_vendor_key != RXE_FRMR_KERNEL_KEY)
		return -EOPNOTSUPP;
	if (!in->num_dma_blocks)
		return -EINVAL;
	if (in->num_dma_blocks > RXE_FRMR_MAX_BLOCKS)
		return -EOPNOTSUPP;

	out->kernel_vendor_key = in->kernel_vendor_key;
	out->num_dma_blocks = in->num_dma_blocks;
	return 0;
}

/*
 * What a queued handle of @key holds: its struct rxe_frmr and its page
 * storage, as kmalloc() rounds them. A kernel MR's mapping may have grown a
 * handle's storage beyond the key (rxe_map_mr_sg()); that is not counted.
 */
static u64 rxe_frmr_handle_bytes(struct ib_device *ibdev,
				 const struct ib_frmr_key *key)
{
	return kmalloc_size_roundup(sizeof(struct rxe_frmr)) +
	       kmalloc_size_roundup(array_size(key->num_dma_blocks,
					       sizeof(struct rxe_mr_page)));
}

static const struct ib_frmr_pool_ops rxe_frmr_pool_ops = {
	.create_frmrs = rxe_frmr_create,
	.destroy_frmrs = rxe_frmr_destroy,
	.build_key = rxe_frmr_build_key,
	.handle_bytes = rxe_frmr_handle_bytes,
};

/* Before ib_register_device(): MRs can be made as soon as it returns. */
int rxe_frmr_pools_init(struct rxe_dev *rxe)
{
	struct ib_frmr_pools *pools;

	pools = ib_frmr_pools_init(&rxe->ib_dev, &rxe_frmr_pool_ops);
	if (IS_ERR(pools))
		return PTR_ERR(pools);
	rxe->frmr_pools = pools;
	return 0;
}

/*
 * After the device is unregistered (every MR is gone) and before
 * rxe_pool_cleanup() of the MR pool, which expects no reserved index.
 */
void rxe_frmr_pools_cleanup(struct rxe_dev *rxe)
{
	ib_frmr_pools_cleanup(&rxe->ib_dev);
	rxe->frmr_pools = NULL;
}

/**
 * rxe_frmr_get() - give a new MR a pooled handle
 * @rxe: the device
 * @mr: the MR, not yet in the MR pool
 * @access: the MR's access flags
 * @num_blocks: PAGE_SIZE pages the MR needs
 * @kernel: a kernel MEM_REG MR (kernel-only pools) rather than a user MR
 *
 * Connects @mr to the handle's index (not yet published: rxe_finalize() does
 * that), lends it the handle's page storage and advances the key byte; the
 * caller builds the lkey/rkey from mr->elem.index and the handle's key.
 *
 * Return: 0 or a negative errno; @mr holds no handle then.
 */
int rxe_frmr_get(struct rxe_dev *rxe, struct rxe_mr *mr, int access,
		 u64 num_blocks, bool kernel)
{
	struct ib_frmr_key key = {
		.kernel_vendor_key = kernel ? RXE_FRMR_KERNEL_KEY : 0,
		.num_dma_blocks = max_t(u64, num_blocks, 1),
		.access_flags = access,
	};
	struct rxe_frmr *frmr;
	int err;

	err = ib_frmr_pool_pop(rxe->frmr_pools, &key, &mr->frmr);
	/*
	 * Idle handles may hold the indexes (max_elem) or the memory we
	 * lack; only what build_key refuses (-EOPNOTSUPP) no trim can fix.
	 */
	if (err && err != -EOPNOTSUPP && ib_frmr_pools_trim(&rxe->ib_dev))
		err = ib_frmr_pool_pop(rxe->frmr_pools, &key, &mr->frmr);
	if (err)
		return err;

	frmr = rxe_frmr_of(&mr->frmr);
	if (READ_ONCE(frmr_check_clean))
		rxe_frmr_check_clean(frmr);
	frmr->uses++;
	frmr->key++;
	rxe_pool_attach_index(&rxe->mr_pool, &mr->elem, frmr->index);

	mr->page_info = frmr->page_info;
	mr->max_allowed_buf = frmr->num_pages;
	mr->nbuf = 0;
	frmr->page_info = NULL;
	return 0;
}

/**
 * rxe_frmr_put() - give the handle of a dead MR back
 * @rxe: the device
 * @mr: the MR, after __rxe_cleanup(); nothing if it holds no handle
 * @quiesced: __rxe_cleanup() saw the last reference go (no timeout)
 *
 * Pushes the handle if it can serve again, retires it if its key byte has
 * served enough registrations or its page storage is gone, and drops it if
 * the MR may still be in use.
 */
void rxe_frmr_put(struct rxe_dev *rxe, struct rxe_mr *mr, bool quiesced)
{
	const struct ib_frmr_key *key = ib_frmr_ref_key(&mr->frmr);
	struct rxe_frmr *frmr;
	bool kernel;

	if (!key)
		return;
	frmr = rxe_frmr_of(&mr->frmr);
	kernel = key->kernel_vendor_key;

	if (!quiesced) {
		/* Someone may still read the page storage: leak it. */
		mr->page_info = NULL;
		rxe_pool_release_index(&rxe->mr_pool, frmr->index);
		kfree(frmr);
		ib_frmr_pool_drop(&mr->frmr);
		return;
	}

	/* rxe_map_mr_sg() may have replaced (or lost) the storage */
	frmr->page_info = mr->page_info;
	frmr->num_pages = mr->max_allowed_buf;
	mr->page_info = NULL;
	if (!frmr->page_info || frmr->num_pages < key->num_dma_blocks)
		goto retire;

	if (kernel) {
		/* the next owner gets a byte other than the ULP's last one */
		if (mr->ibmr.type == IB_MR_TYPE_MEM_REG)
			frmr->key = mr->lkey & 0xff;
	} else if (frmr->uses >= READ_ONCE(frmr_max_reuse)) {
		goto retire;
	}

	/* Queued handles hold no page pointers. A kernel MR may have mapped
	 * more pages before its last mapping.
	 */
	memset(frmr->page_info, 0, (kernel ? frmr->num_pages : mr->nbuf) *
	       sizeof(*frmr->page_info));
	ib_frmr_pool_push(rxe->frmr_pools, &mr->frmr);
	return;

retire:
	ib_frmr_pool_retire(rxe->frmr_pools, &mr->frmr);
}
