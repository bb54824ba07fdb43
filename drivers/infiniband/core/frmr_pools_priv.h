/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
#ifndef _FRMR_POOLS_PRIV_H
#define _FRMR_POOLS_PRIV_H

#include <linux/kconfig.h>

struct ib_frmr_pools;

/*
 * Hooks for the KUnit suite (frmr_pools_test.c), exported only when the
 * kernel has KUnit: a stock build exports nothing beyond the public API.
 */
#if IS_ENABLED(CONFIG_KUNIT)
/* ib_core's frmr_max_queued_bytes parameter */
extern unsigned long ib_frmr_max_queued_bytes;
void ib_frmr_pools_age_now(struct ib_frmr_pools *pools);
unsigned long ib_frmr_pools_leaked_total(void);
unsigned long ib_frmr_pools_shrink_count(struct ib_frmr_pools *pools);
unsigned long ib_frmr_pools_shrink_scan(struct ib_frmr_pools *pools,
					unsigned long nr);
#endif

#endif /* _FRMR_POOLS_PRIV_H */
