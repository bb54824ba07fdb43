# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# rxe-nvme: nvme-rdma over rxe takes its kernel fast-registration MRs from rxe's kernel-only
# FRMR pools. A memory-backed null_blk namespace is exported by nvmet on the rdma transport;
# every round connects, writes a pattern, reads it back and compares, and disconnects. From
# round 2 on, at least 95% of the pops of the kernel pools are hits; user MRs of the same
# sizes stay out of the kernel pools. Then `rdma link delete` while connected, after a
# process holding user MRs was killed, and unload are clean. The steps are nvme_rxe_steps
# (nvme-lib.sh), shared with the test kernel's rxe-pools-short.
# NVME_ROUNDS (default 20) sets the number of rounds.

. "$FRMR_SELFTEST/frmr-pools-lib.sh"
. "$FRMR_SELFTEST/nvme-lib.sh"

step load-our-modules 120 load_modules
nvme_rxe_steps rxe0 dum0 10.10.0.1/24 "${NVME_ROUNDS:-20}"
step unload-stack 60 unload_modules
step no-pool-leak-reports 10 no_pool_leak_reports
