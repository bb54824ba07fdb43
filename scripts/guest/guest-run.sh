#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# guest-run.sh - PID 1 in the guest: set up the system, run one scenario, save logs, power off.
# Environment (from the kernel command line via the initramfs): vmout, vmscenario, vmkind and
# vmscenfile, the scenario's file (vm-run.sh finds it: scripts/vm-lib.sh vm_scenario_file);
# a guest of a two-host run (vm2-run.sh) also has vmrole (a|b), vmstack and vmpeerstack
# (ours|stock) and runs scenarios2/<vmscenario>.sh after host2-lib.sh. Scenarios run in the
# selftest directory, with its libraries (guest-lib.sh, host2-lib.sh) sourced.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C LC_ALL=C
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /dev/pts /dev/shm
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t configfs configfs /sys/kernel/config 2>/dev/null
hostname frmr-guest${vmrole:+-$vmrole}
ip link set lo up
echo 1 > /proc/sys/kernel/sysrq
ulimit -l unlimited
# A scenario must never hold the guest forever: the host's timeout is the backstop.
echo "guest: kernel $(uname -r), scenario $vmscenario ($vmkind${vmrole:+, role $vmrole, $vmstack stack})" |
	tee "$vmout/guest.log"
echo "$(date +%s)" > "$vmout/start"
(
	cd "$(dirname "$0")/../../tools/testing/selftests/rdma/frmr" || exit 1
	scen=${vmscenfile:-./scenarios/$vmscenario.sh}
	[ -n "${vmrole:-}" ] && scen=${vmscenfile:-./scenarios2/$vmscenario.sh}
	# A broken library or scenario must fail the run, not pass with no steps.
	bash -n ./guest-lib.sh && bash -n ./host2-lib.sh && bash -n "$scen" || exit 90
	. ./guest-lib.sh || exit 91
	if [ -n "${vmrole:-}" ]; then
		. ./host2-lib.sh || exit 91
	fi
	. "$scen"
	exit 0
) >> "$vmout/guest.log" 2>&1
echo "guest: scenario exited with $?" >> "$vmout/guest.log"
if [ -w /sys/kernel/debug/kmemleak ]; then
	echo scan > /sys/kernel/debug/kmemleak; sleep 1; echo scan > /sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak > "$vmout/kmemleak.txt"
fi
dmesg > "$vmout/dmesg.txt"
sync
echo done > "$vmout/done"
sync
# Power off; if that does not end the guest (no ACPI power-off), fall back to a reboot, which
# ends QEMU because it runs with -no-reboot.
echo o > /proc/sysrq-trigger
sleep 5
echo b > /proc/sysrq-trigger
sleep 30
