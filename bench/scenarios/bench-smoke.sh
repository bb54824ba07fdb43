# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# bench-smoke: one guest of bench/bench-smoke.sh, the crash check of the clock `make bench`
# measures with. It loads the in-box ib_core (the module's only dependency) and runs the
# kmalloc(64) + kfree control loop of bench/frmr_bench_verbs.ko, no RDMA device, on one and
# on two CPUs: BENCH_SMOKE_ITERS pairs per CPU (default 1000000), one warm-up and
# BENCH_SMOKE_REPS timed repetitions (default 5), about 6 million pairs on each CPU count. The
# figures go to $vmout/bench.raw like those of the bench scenario. With BENCH_SMOKE_PERFTEST=1
# it also brings up rxe0 and reads one ib_write_bw report (--out_json) as the bench does.
RAW=$vmout/bench.raw
BENCH_KO=$FRMR_OUT/bench-modules
export RAW BENCH_KO
: > "$RAW"

step load-ib-core 120 modprobe ib_core
kmalloc_loop() {
	insmod "$BENCH_KO/frmr_bench_verbs.ko" mr=0 max_cpus=2 \
		kmalloc_iters=${BENCH_SMOKE_ITERS:-1000000} reps=${BENCH_SMOKE_REPS:-5} || return 1
	rmmod frmr_bench_verbs
	dmesg | sed -n 's/.*frmr_bench: \(kmalloc [a-z]*=[0-9]* .*\)$/\1/p' | tee "$RAW"
	[ "$(grep -c . "$RAW")" = $((2 * ${BENCH_SMOKE_REPS:-5})) ]
}
step kmalloc-loop 900 kmalloc_loop

perftest_json() {
	server_client 60 "ib_write_bw -d rxe0 -x 1 -s 65536 -n 200 -F" \
		"ib_write_bw -d rxe0 -x 1 -s 65536 -n 200 -F --out_json \
		--out_json_file=$vmout/write_bw.json 10.10.0.1" > /tmp/bw.txt 2>&1 ||
		{ cat /tmp/bw.txt; return 1; }
	cat /tmp/bw.txt "$vmout/write_bw.json"
	python3 "$FRMR_REPO/bench/perftest_json.py" "$vmout/write_bw.json" write_bw 0
}
if [ "${BENCH_SMOKE_PERFTEST:-0}" = 1 ]; then
	step load-inbox-rdma 120 load_inbox_modules
	step netdev 20 netdev_dummy dum0 10.10.0.1/24
	step rxe-add 30 $RDMA link add rxe0 type rxe netdev dum0
	step perftest-json 120 perftest_json
fi
