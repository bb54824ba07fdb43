# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# vm-lib.sh - what the guest runners (vm-run.sh, vm2-run.sh) share: the initramfs, the QEMU
# command line and the verdict on a finished guest (sourced after lib.sh).

SCEN_DIR=$REPO/tools/testing/selftests/rdma/frmr

# The file of scenario NAME: one-guest scenarios are the selftests' scenarios/, the benchmark's
# and the harness self-tests' own; two-host ones the selftests' scenarios2/ and the harness
# self-tests' (the same library runs them all: scripts/guest/guest-run.sh).
vm_find_scenario() { # name dir...
	local name=$1 d
	shift
	for d in "$@"; do
		[ -f "$d/$name.sh" ] && { echo "$d/$name.sh"; return 0; }
	done
	return 1
}
vm_scenario_file() { # name
	vm_find_scenario "$1" "$SCEN_DIR/scenarios" "$REPO/bench/scenarios" "$REPO/scripts/harness-selftest"
}
vm2_scenario_file() { # name
	vm_find_scenario "$1" "$SCEN_DIR/scenarios2" "$REPO/scripts/harness-selftest"
}

# The guest sees the host's root, but scripts/guest/guest-run.sh mounts tmpfs over /tmp and
# /run: a clone there would boot and then write its results into the guest's tmpfs, where
# nobody reads them.
vm_check_repo_path() {
	case "$(readlink -f "$REPO")/" in
	/tmp/* | /run/*) die "the repository is under /tmp or /run, which the guest hides behind tmpfs: clone it elsewhere (e.g. /root or /work)" ;;
	esac
}

# The initramfs of kernel release KREL with the filesystem modules of MODROOT, rebuilt when
# initramfs-init changed; prints its path.
vm_initrd() { # krel modroot
	local initrd=$OUT/initramfs-$1.cpio.gz
	[ -f "$initrd" ] && [ "$initrd" -nt "$REPO/scripts/guest/initramfs-init" ] ||
		"$REPO/scripts/mkinitramfs.sh" "$1" "$2" "$initrd" >&2
	echo "$initrd"
}

# QEMU_ARGS: a TCG guest of KERNEL/INITRD with MEM memory and SMP CPUs, the host root
# read-only and RUN writable over 9p, its serial console in RUN/console.log. The caller adds
# the network devices. VM_CLOCK_DESC says which clock and CPU model it got (RUN/clock too).
#
# The guest's clock (FRMR_CLOCK): wall (default) runs multi-threaded TCG, one host thread per
# vCPU, and guest time follows the host's; icount runs the vCPUs in turn on one thread and
# counts guest time in instructions (1 ns each, idle time skipped), so host load does not move
# it: bench/bench.sh measures its 1-CPU figures so. Under icount, QEMU 7.2 guests die of a
# double fault in SLUB's cmpxchg16b (bench/bench-smoke.sh reproduces it): the CPU model
# there defaults to max without CX16. FRMR_CPU overrides the model of either clock.
vm_qemu_args() { # run kernel initrd mem smp append
	local accel cpu
	case "${FRMR_CLOCK:-wall}" in
	wall) accel="tcg,thread=multi"; cpu=${FRMR_CPU:-max} ;;
	icount) accel="tcg -icount shift=0,sleep=off"; cpu=${FRMR_CPU:-max,-cx16} ;;
	*) die "FRMR_CLOCK must be wall or icount" ;;
	esac
	VM_CLOCK_DESC="clock ${FRMR_CLOCK:-wall}, cpu $cpu"
	echo "${FRMR_CLOCK:-wall} -accel $accel -cpu $cpu -smp $5 -m $4" > "$1/clock"
	# shellcheck disable=SC2206 # accel is words on purpose
	QEMU_ARGS=(-nodefaults -no-user-config -nographic -no-reboot -machine pc
		-accel $accel -cpu "$cpu" -smp "$5" -m "$4"
		-kernel "$2" -initrd "$3" -append "$6"
		-serial "file:$1/console.log" -monitor none
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
		-virtfs "local,path=$1,mount_tag=vmout,security_model=none,multidevs=remap"
		-device virtio-rng-pci)
}

# The verdict on a finished guest: appends the runner's own TAP lines (timeout, finished,
# exit status, commands found, steps ran, kernel log clean) to RUN/results.tap, writes
# RUN/counts ("passed failed"; a skip counts as failed) and returns non-zero when the run
# failed. QRC is QEMU's exit status under timeout(1).
vm_verdict() { # run label qrc timeout seconds
	local run=$1 label=$2 qrc=$3 to=$4 dt=$5 fail=0 np nf
	if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
		log "$label: TIMEOUT: guest did not finish within ${to}s"
		echo "not ok - $label:guest-timeout" >> "$run/results.tap"
		fail=1
	elif [ ! -f "$run/done" ]; then
		log "$label: guest ended without finishing the scenario (qemu rc=$qrc)"
		echo "not ok - $label:guest-finished" >> "$run/results.tap"
		fail=1
	fi
	# The scenario itself must have run: a shell error (exit status non-zero) or no step at
	# all is a failure, never an empty pass.
	if [ -f "$run/done" ]; then
		if ! grep -q 'scenario exited with 0$' "$run/guest.log"; then
			log "$label: scenario script failed: $(grep 'scenario exited' "$run/guest.log")"
			echo "not ok - $label:scenario-exit-status" >> "$run/results.tap"
			fail=1
		fi
		if grep -q ': command not found$' "$run/guest.log"; then
			log "$label: scenario ran a command that does not exist:"
			grep ': command not found$' "$run/guest.log" | head -5 >&2
			echo "not ok - $label:commands-exist" >> "$run/results.tap"
			fail=1
		fi
		if ! grep -q '^ok [0-9]' "$run/results.tap" 2>/dev/null; then
			log "$label: scenario ran no step"
			echo "not ok - $label:steps-ran" >> "$run/results.tap"
			fail=1
		fi
	fi
	if ! python3 "$REPO/scripts/scan-log.py" "$SCEN_DIR/known-reports.txt" "$run/console.log" \
		"$run/dmesg.txt" "$run/kmemleak.txt" > "$run/reports.txt"; then
		log "$label: kernel reports found:"; sed 's/^/  /' "$run/reports.txt" | head -40 >&2
		echo "not ok - $label:kernel-log-clean" >> "$run/results.tap"
		fail=1
	else
		echo "ok - $label:kernel-log-clean" >> "$run/results.tap"
	fi
	touch "$run/results.tap"
	# A skipped step is not a pass: it counts as a failure.
	np=$(grep '^ok' "$run/results.tap" | grep -vc '# SKIP' || true)
	nf=$(grep -c '^not ok\|# SKIP' "$run/results.tap" || true)
	echo "$np $nf" > "$run/counts"
	grep '^not ok\|# SKIP' "$run/results.tap" | sed 's/^/  /' >&2 || true
	log "$label: $np passed, $nf failed in ${dt}s ($run)"
	[ $fail -eq 0 ] && [ "$nf" -eq 0 ]
}
