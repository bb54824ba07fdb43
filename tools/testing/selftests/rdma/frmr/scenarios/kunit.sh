# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# kunit (test kernel): the KUnit suites of the project, with failslab armed for fail-nth loops,
# then a short rxe smoke and a kmemleak scan (done by guest-run.sh).

. "$FRMR_SELFTEST/frmr-pools-lib.sh"
# The concurrency cases need two CPUs really running at once (vm-run.sh gives the guest two).
step two-cpus-online 10 bash -c 'echo "online: $(cat /sys/devices/system/cpu/online)"; [ "$(nproc)" -ge 2 ]'
step failslab-arm 10 arm_failslab
step load-ib_core 60 modprobe ib_core
for t in frmr_pools_test mlx5_frmr_test; do
	if modinfo "$t" >/dev/null 2>&1; then
		step "kunit-$t" 600 modprobe "$t"
		modprobe -r "$t"
	fi
done
ktap_collect '.'
n=$(grep -c 'kunit:' "$vmout/results.tap")
result kunit-cases-found "$([ "$n" -gt 0 ] && echo 0 || echo 1)" "no KUnit case ran"
step unload-ib_core 30 modprobe -r ib_core
