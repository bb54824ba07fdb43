/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * rxe's FRMR pool handles: what an MR keeps between two registrations.
 */

#ifndef RXE_FRMR_H
#define RXE_FRMR_H

#include <rdma/frmr_pools.h>

struct rxe_dev;
struct rxe_mr;
struct rxe_mr_page;

/*
 * Kernel vendor key of the pools of kernel fast-registration MRs
 * (IB_MR_TYPE_MEM_REG): their key byte belongs to the ULP, so their handles
 * never serve user MRs, whose key byte belongs to rxe (see rxe_frmr.c).
 */
#define RXE_FRMR_KERNEL_KEY	1

/* Default and largest number of registrations a user MR handle serves. */
#define RXE_FRMR_MAX_REUSE	255

/**
 * struct rxe_frmr - the object behind a pooled handle
 * @index: MR table index (lkey/rkey >> 8), reserved in rxe->mr_pool for as
 *	long as the handle exists and counted in its num_elem; no MR is
 *	published there while the handle is queued
 * @key: key byte (low 8 bits of lkey/rkey) of the handle's current or last
 *	registration; the next registration uses @key + 1
 * @uses: registrations served so far
 * @num_pages: entries of @page_info; at least the pool's num_dma_blocks
 * @page_info: page storage, all zero while queued; lent to the MR
 *	(rxe_mr.page_info) and NULL here while the handle is in use
 */
struct rxe_frmr {
	u32			index;
	u8			key;
	u32			uses;
	u32			num_pages;
	struct rxe_mr_page	*page_info;
};

/* The handle an MR holds; only while ref->pool is not NULL. */
static inline struct rxe_frmr *rxe_frmr_of(const struct ib_frmr_ref *ref)
{
	return (struct rxe_frmr *)(uintptr_t)ref->handle;
}

int rxe_frmr_pools_init(struct rxe_dev *rxe);
void rxe_frmr_pools_cleanup(struct rxe_dev *rxe);
int rxe_frmr_get(struct rxe_dev *rxe, struct rxe_mr *mr, int access,
		 u64 num_blocks, bool kernel);
void rxe_frmr_put(struct rxe_dev *rxe, struct rxe_mr *mr, bool quiesced);

#endif /* RXE_FRMR_H */
