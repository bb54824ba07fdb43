# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# kunit (test kernel): the KUnit suites of the project, with failslab armed for fail-nth loops,
# then a short rxe smoke and a kmemleak scan (done by guest-run.sh).

. "$FRMR_SELFTEST/frmr-pools-lib.sh"
# The concurrency cases need two CPUs really running at once (vm-run.sh gives the guest two).
step two-cpus-online 10 bash -c 'echo "online: $(cat /sys/devices/system/cpu/online)"; [ "$(nproc)" -ge 2 ]'
step failslab-arm 10 arm_failslab
step load-ib_core 60 modprobe ib_core
# Each test module must be there and its suite must report: a module that is missing from the
# test kernel, or a suite whose KTAP never reached the log, fails instead of passing on the
# other suite's cases.
for t in frmr_pools_test mlx5_frmr_test; do
	step "kunit-$t" 600 modprobe "$t" && modprobe -r "$t"
done
ktap_collect '.'
for s in frmr_pools mlx5_frmr_logic; do
	n=$(grep -c "kunit:$s\." "$vmout/results.tap")
	result "kunit-suite-$s-reported" "$([ "$n" -gt 0 ] && echo 0 || echo 1)" "$n cases of suite $s"
done
# mlx5_frmr_test pulled in mlx5_ib and what it needs (mlx5_core, ib_uverbs): they go first.
unload_loaded() {
	local m
	for m; do
		[ ! -d "/sys/module/$m" ] || modprobe -r "$m" || return 1
	done
}
step unload-mlx5 60 unload_loaded mlx5_ib mlx5_core
# ib_core itself must unload: a reference the suites leaked would keep it.
unload_ib_core() {
	unload_loaded ib_uverbs && modprobe -r ib_core
}
step unload-ib_core 30 unload_ib_core
