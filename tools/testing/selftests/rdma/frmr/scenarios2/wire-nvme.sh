# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# wire-nvme (two hosts): nvme-rdma with the target (nvmet, null_blk) on one host and the
# initiator on the other, NVME_ROUNDS (default 5) connect, write/read-back/compare and
# disconnect rounds, first with the target on b, then on a. An initiator running our stack
# takes at least 95% of its kernel MRs from the pools from round 2 on.

host2_begin
h2_nvme_modules
h2_nvme b "${NVME_ROUNDS:-5}"
h2_nvme a "${NVME_ROUNDS:-5}"
h2_nvme_unload
host2_end
