# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# bench: one guest of `make bench` (bench/bench.sh boots this scenario alternately for each
# stack, with the same guest configuration): vmbench=stock on the kernel command line loads the in-box Debian RDMA
# modules (proved not ours by build id), vmbench=ours loads ours. In a deterministic guest
# (BENCH_CLOCK=icount) both run the same workloads on rxe0 over a dummy netdev, in this order:
#   1. kernel ib_alloc_mr(MEM_REG) + ib_dereg_mr by max_num_sg, and kmalloc(64) + kfree on
#      one CPU (bench/frmr_bench_verbs.ko, the same module on both stacks);
#   5. pop + push of a queued handle on one CPU (bench/frmr_bench_pools.ko; ours only: it
#      needs our ib_core);
#   2. user ibv_reg_mr + ibv_dereg_mr by size (frmr_bench_reg);
#   4. ib_write_bw at 64 KiB;
#   3. nvme-rdma connect + disconnect cycles (2 I/O queues) to nvmet on null_blk; with ours,
#      the kernel pools' hits and misses of cycles 2..N.
# A wall-clock guest (BENCH_CLOCK=wall) runs only 1 and 5, on one and on two CPUs at once,
# with the lock breakdown of 5, and no RDMA device.
# Every figure is appended to $vmout/bench.raw, one line per repetition:
#   <test> <param>=<value> rep=<n> iters=<n> ns=<wall time>|MBps=<bandwidth>
# and counters as "<test> hits=<n> misses=<n>". bench/bench-report.py reads two such files.
# Steady state: the repetitions of each kernel and user MR figure follow one untimed warm-up
# pass (nvme: cycle 1 is reported apart; ib_write_bw registers its MRs once, before it times),
# so pools are warm when the clock runs.

# BENCH_CLOCK (bench/bench.sh) says which guest this is: icount, every figure on one CPU;
# wall, only the kernel loops (kmalloc, pop+push, the locks) on one and on two CPUs.
STACK=${vmbench:?vmbench=stock|ours on the kernel command line}
CLOCK=${BENCH_CLOCK:-icount}
RAW=$vmout/bench.raw
BENCH_KO=$FRMR_OUT/bench-modules
REPS=${BENCH_REPS:-5}
NVME_CYCLES=${BENCH_NVME_CYCLES:-5}
export STACK RAW BENCH_KO REPS NVME_CYCLES
# the nvmet target, the namespace lookup and the kernel pools' counters of rxe-nvme
. "$FRMR_SELFTEST/frmr-pools-lib.sh"
. "$FRMR_SELFTEST/nvme-lib.sh"
: > "$RAW"
echo "bench: stack $STACK"

case "$STACK" in
stock) step load-inbox-modules 120 load_inbox_modules ;;
ours) step load-our-modules 120 load_modules ;;
*) result "stack-$STACK" 1 "vmbench must be stock or ours"; return 0 ;;
esac

# Benchmark lines of a module from the kernel log, without the prefix.
collect_dmesg() {
	dmesg | sed -n 's/.*frmr_bench: \([a-z_0-9]* [a-z]*=[0-9]* .*\)$/\1/p' | grep -v failed
}
if [ "$CLOCK" = wall ]; then
	kernel_loops() {
		insmod "$BENCH_KO/frmr_bench_verbs.ko" mr=0 max_cpus=2 reps=$REPS || return 1
		rmmod frmr_bench_verbs
		[ "$STACK" = ours ] || return 0
		insmod "$BENCH_KO/frmr_bench_pools.ko" max_cpus=2 reps=$REPS || return 1
		rmmod frmr_bench_pools
	}
	step kernel-loops-wall 600 kernel_loops
	collect_dmesg >> "$RAW"
	step bench-raw-written 10 test -s "$RAW"
	return 0
fi
step netdev 20 netdev_dummy dum0 10.10.0.1/24
step rxe-add 30 $RDMA link add rxe0 type rxe netdev dum0
kernel_verbs() {
	insmod "$BENCH_KO/frmr_bench_verbs.ko" dev=rxe0 max_cpus=1 reps=$REPS || return 1
	rmmod frmr_bench_verbs
}
step kernel-mr-kmalloc 600 kernel_verbs
if [ "$STACK" = ours ]; then
	pop_push() {
		insmod "$BENCH_KO/frmr_bench_pools.ko" max_cpus=1 reps=$REPS || return 1
		rmmod frmr_bench_pools
	}
	step pop-push 300 pop_push
fi
collect_dmesg >> "$RAW"

user_mr() {
	local out
	out=$("$FRMR_BIN/frmr_bench_reg" -d rxe0 -r $REPS 4096:2000 16384:2000 65536:2000 \
		262144:1000 1048576:300 4194304:100 16777216:40 67108864:10) || return 1
	echo "$out" | tee -a "$RAW"
}
step user-mr 600 user_mr

# ib_write_bw's own report (--out_json): perftest_json.py reads it and checks its fields; the
# report is kept in $vmout for the reader.
write_bw() {
	local r
	for r in $(seq 0 $((REPS - 1))); do
		server_client 60 "ib_write_bw -d rxe0 -x 1 -s 65536 -n 1000 -F" \
			"ib_write_bw -d rxe0 -x 1 -s 65536 -n 1000 -F --out_json \
			--out_json_file=$vmout/write_bw-$r.json 10.10.0.1" > /tmp/bw.txt 2>&1 ||
			{ cat /tmp/bw.txt; return 1; }
		python3 "$FRMR_REPO/bench/perftest_json.py" "$vmout/write_bw-$r.json" write_bw $r |
			tee -a "$RAW"
		[ "${PIPESTATUS[0]}" = 0 ] || { cat /tmp/bw.txt "$vmout/write_bw-$r.json"; return 1; }
		sleep 1
	done
}
step write-bw $((REPS * 70)) write_bw

nvme_setup() {
	modprobe -a nvmet nvmet-rdma nvme-rdma &&
		modprobe null_blk nr_devices=1 memory_backed=1 gb=1 && nvmet_setup 10.10.0.1
}
step nvme-setup 60 nvme_setup

nvme_ns_present() { [ -n "$(nvme_dev)" ]; }
ns_now() { date +%s%N; }
# One cycle: time `nvme connect` (2 I/O queues), wait (untimed) for the namespace so that the
# disconnect does not race the scan, time `nvme disconnect`.
nvme_cycle() { # cycle
	local t0 t1 t2 i name=nvme
	[ "$1" = 1 ] && name=nvme_first
	t0=$(ns_now)
	timeout -k 5 60 nvme connect -t rdma -a 10.10.0.1 -s 4420 -n $NVME_NQN -q $NVME_HOSTNQN -i 2 ||
		return 1
	t1=$(ns_now)
	for i in $(seq 1 200); do nvme_ns_present && break; sleep 0.1; done
	nvme_ns_present || { echo "no namespace after connect"; return 1; }
	t2=$(ns_now)
	timeout -k 5 60 nvme disconnect -n $NVME_NQN > /dev/null || return 1
	echo "${name}_connect queues=2 rep=$(($1 - 2 < 0 ? 0 : $1 - 2)) iters=1 ns=$((t1 - t0))"
	echo "${name}_disconnect queues=2 rep=$(($1 - 2 < 0 ? 0 : $1 - 2)) iters=1 ns=$(($(ns_now) - t2))"
}
nvme_cycles() {
	local c out h1 m1 h m
	for c in $(seq 1 $NVME_CYCLES); do
		out=$(nvme_cycle $c) || { echo "$out"; echo "cycle $c failed"; return 1; }
		echo "$out" | tee -a "$RAW"
		[ $c = 1 ] && [ "$STACK" = ours ] && read -r h1 m1 _ < <(kpools_sum rxe0)
	done
	if [ "$STACK" = ours ]; then
		read -r h m _ < <(kpools_sum rxe0)
		[ $((m1 + h1)) -gt 0 ] || { echo "cycle 1 popped nothing from the pools"; return 1; }
		echo "nvme_pools hits=$((h - h1)) misses=$((m - m1))" | tee -a "$RAW"
	fi
}
step nvme-cycles $((NVME_CYCLES * 130)) nvme_cycles
[ "$STACK" = ours ] && $RDMA resource show frmr_pools dev rxe0 -dd > "$vmout/pools.txt" 2>&1

# Where the time goes, for the README's explanation of the figures: perf's cpu-clock samples
# (TCG has no PMU) on CPU 0, where the benchmark kthreads of one CPU run, after the figures
# were taken. Flat profile by symbol in $vmout/profile-<name>.txt (every sample on CPU 0:
# idle and insmod included).
perf_profile() { # name perf-cpu-option cmd...
	local name=$1 cpus=$2
	shift 2
	perf record -q -e cpu-clock $cpus -o /tmp/perf.data -- "$@" || return 1
	perf report -i /tmp/perf.data --stdio --no-children --sort sym --percent-limit 0.8 \
		2>/dev/null | grep -v '^$' > "$vmout/profile-$name.txt"
	head -25 "$vmout/profile-$name.txt"
}
# The kernel loops run while their module loads, in kthreads on CPU 0.
profile() { # name insmod-args...
	local name=$1
	shift
	perf_profile "$name" "-C 0" insmod "$@" && rmmod "$(basename "$1" .ko)"
}
# perf comes from Debian's linux-perf (scripts/install-deps.sh): a missing one fails the step.
V="$BENCH_KO/frmr_bench_verbs.ko dev=rxe0 reps=2"
step profile-mr-sg1 300 profile mr-sg1 $V sg=1 max_cpus=0
step profile-mr-sg256 300 profile mr-sg256 $V sg=256 max_cpus=0
step profile-kmalloc 300 profile kmalloc $V sg=1 mr_iters=1 max_cpus=1
[ "$STACK" = ours ] && step profile-pop-push 300 profile pop-push \
	"$BENCH_KO/frmr_bench_pools.ko" reps=2 max_cpus=1 breakdown=0
# User MR pairs at 1 MiB: the process may run on either CPU, so both are sampled.
step profile-user-mr-1m 300 perf_profile user-mr-1m -a \
	"$FRMR_BIN/frmr_bench_reg" -d rxe0 -r 3 1048576:300
step bench-raw-written 10 test -s "$RAW"
