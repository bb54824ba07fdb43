// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * warn_on_load - a deliberately broken module: WARN_ON(1) at load.
 *
 * The harness's own self-test loads it in a guest and expects the run to fail, proving that a
 * kernel WARNING in the guest log turns a scenario red even when every step passed.
 */
#include <linux/module.h>

static int __init warn_on_load_init(void)
{
	WARN_ON(1);
	return 0;
}

static void __exit warn_on_load_exit(void)
{
}

module_init(warn_on_load_init);
module_exit(warn_on_load_exit);
MODULE_DESCRIPTION("Harness self-test: WARN_ON(1) at load");
MODULE_LICENSE("Dual BSD/GPL");
