# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# rxe-pools-short: the short form of rxe-pools and rxe-nvme for the test kernel (KASAN,
# lockdep, kmemleak): perftest -R on pooled MRs, an MR on a larger pool's handle (nothing past
# its end reachable), 100 stale-rkey cycles with frmr_max_reuse
# lowered to 5, one churn process, every allocation of a registration and deregistration
# failed once (frmr_failnth), the tool's short checks, link delete, the memory checks of
# rxe-memory on fewer MR sizes (mem-lib.sh), then 3 nvme-rdma rounds,
# link delete while connected after killing a process holding user MRs, unload (the kmemleak
# scan follows).

. "$FRMR_SELFTEST/frmr-pools-lib.sh"
step load-our-modules 120 load_modules
setup_netdevs() { netdev_dummy dum5 10.50.0.1/24 && netdev_dummy dum6 10.60.0.1/24; }
step netdevs 20 setup_netdevs
step rxe-add 30 bash -c "$RDMA link add rxe5 type rxe netdev dum5 &&
	$RDMA link add rxe6 type rxe netdev dum6"
step ib_write_bw-R 120 server_client 100 "ib_write_bw -d rxe5 -R -s 65536 -n 100 -F" \
	"ib_write_bw -d rxe5 -R -s 65536 -n 100 -F 10.50.0.1"
# A 30-page MR on the handle of a 45-page MR (fresh device): nothing past its end is reachable,
# and the reused page storage held no page (rdma_rxe's test-only frmr_check_clean).
step reuse-larger-handle 60 reuse_larger_handle rxe6 45 30
kstep stale-rkey-100-max-reuse-5 180 stale_rkey_max_reuse rxe6 5 100
step churn-1-process 180 $FRMR_BIN/frmr_churn -d rxe6 -P 1 -K 3 -r 5 -H 4
# Every allocation of a registration (pool miss and hit) and of a deregistration fails once:
# errors on the way drop or push the handle, nothing stays in use, nothing leaks (kmemleak).
step failslab-arm 10 arm_failslab
failnth() { $FRMR_BIN/frmr_failnth -d rxe6 -p 5 && pools_quiet_whole rxe6; }
step failnth-reg-dereg 300 failnth
POOLS_TOOL=0
pools_supported rxe6 && POOLS_TOOL=1
pstep pools-rxe6 10 pools_show rxe6 -dd
# The rdma tool on the pools the churn left (the short form of frmr-netlink, README "Scenarios").
step tool-short-rxe6 120 python3 "$FRMR_SELFTEST/rdma_tool.py" short rxe6
step rxe-delete 30 bash -c "$RDMA link delete rxe5 && $RDMA link delete rxe6"

# Memory (mem-lib.sh, the steps of rxe-memory on fewer sizes): 512 sizes of 1024..2046 pages,
# one MR each, as nobody within 8 MiB of memlock; their page storage (about 12 MiB, allocated
# as pages, so KASAN's quarantine does not hold it after a free) is what drop_caches, a 16 MiB
# memory cgroup and a 1 MiB frmr_max_queued_bytes must handle.
MEM_LOOP_ARGS="-s 1024 -n 2046 -k 2" MEM_LOOP_TO=300 MEM_PIN_BLOCKS=1100 MEM_CG_MAX=16M
MEM_BOUND_ARGS="-s 1024 -n 1278 -k 2"
. "$FRMR_SELFTEST/mem-lib.sh"
mem_steps rxe8 dum8 10.90.0.1/24

# nvme-rdma: the same steps as rxe-nvme on the stock kernel (nvme-lib.sh), 3 rounds, ending
# in a link delete while connected after a process holding user MRs was killed.
. "$FRMR_SELFTEST/nvme-lib.sh"
nvme_rxe_steps rxe7 dum7 10.70.0.1/24 "${NVME_ROUNDS:-3}"
step unload-stack 60 unload_modules
step no-pool-leak-reports 10 no_pool_leak_reports
