# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# rxe-memory: what one unprivileged process can make the kernel hold in FRMR pools, and how it
# gives way (mem-lib.sh): the review's loop (for N = 1..2048, floor(2048/N) MRs of N pages) as
# uid 65534 within the default 8 MiB memlock limit; drop_caches empties every unpinned queue
# and gives MemAvailable back; the same loop in a memory cgroup is charged there and held at
# its memory.max; a small frmr_max_queued_bytes bounds what a device queues. Every step log
# prints its figures (MemAvailable, queued handles, page storage, memory.current).
# Needs $FRMR_BIN/frmr_memloop (scripts/build-selftests.sh)
# and, for the pool figures, an rdma tool and ib_core with frmr_pools support.

. "$FRMR_SELFTEST/frmr-pools-lib.sh"
. "$FRMR_SELFTEST/mem-lib.sh"

step load-our-modules 120 load_modules
step test-programs 10 ls -l "$FRMR_BIN/frmr_memloop"
mem_steps rxe0 dum0 10.80.0.1/24
step unload-stack 60 unload_modules
step no-pool-leak-reports 10 no_pool_leak_reports
