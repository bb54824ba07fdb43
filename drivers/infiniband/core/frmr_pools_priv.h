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
void ib_frmr_pools_age_now(struct ib_frmr_pools *pools);
unsigned long ib_frmr_pools_leaked_total(void);
#endif

#endif /* _FRMR_POOLS_PRIV_H */
