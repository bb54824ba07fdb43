#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# vm-run.sh - boot a guest (stock Debian kernel + our modules, or the test kernel), run one scenario.
#
# Usage: vm-run.sh stock|test|upload SCENARIO [TIMEOUT_SECONDS]
#   upload: the newer Debian 6.12 upload scripts/dkms-test.sh built the DKMS package for.
# Results: $OUT/runs/<time>-<kind>-<scenario>/{console.log,guest.log,dmesg.txt,results.tap,steps/}
# Exit status is non-zero when a step failed, the guest timed out or never finished, or the
# guest's kernel log holds a WARNING/BUG/KASAN/lockdep/kmemleak report (scripts/scan-log.py).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kind=${1:?stock|test|upload}; scen=${2:?scenario}; to=${3:-600}
SCEN_DIR=$REPO/tools/testing/selftests/rdma/frmr
[ -f "$SCEN_DIR/scenarios/$scen.sh" ] || die "no scenario $scen"
# The guest sees the host's root, but guest-run.sh mounts tmpfs over /tmp and /run: a clone
# there would boot and then write its results into the guest's tmpfs, where nobody reads them.
case "$(readlink -f "$REPO")/" in
/tmp/* | /run/*) die "the repository is under /tmp or /run, which the guest hides behind tmpfs: clone it elsewhere (e.g. /root or /work)" ;;
esac
run=$OUT/runs/$(date +%Y%m%d-%H%M%S)-$kind-$scen
mkdir -p "$run"
ln -sfn "$run" "$OUT/runs/last-$kind-$scen"

case "$kind" in
stock)
	kernel=/boot/vmlinuz-$KVER; krel=$KVER; mods=""
	initrd=$OUT/initramfs-$krel.cpio.gz
	[ -f "$initrd" ] && [ "$initrd" -nt "$SCEN_DIR/initramfs-init" ] ||
		"$REPO/scripts/mkinitramfs.sh" "$krel" / "$initrd"
	;;
test)
	TK=$CACHE/testkernel
	[ -f "$TK/bzImage" ] || die "no test kernel: run 'make testkernel'"
	kernel=$TK/bzImage; krel=$(cat "$TK/kernel.release")
	mods=$TK/mods/lib/modules/$krel
	initrd=$OUT/initramfs-$krel.cpio.gz
	[ -f "$initrd" ] && [ "$initrd" -nt "$SCEN_DIR/initramfs-init" ] ||
		"$REPO/scripts/mkinitramfs.sh" "$krel" "$TK/mods" "$initrd"
	;;
upload)
	# The archive's newer 6.12 upload that dkms-test.sh built the package for, booted from the
	# private root upload-kernel.sh unpacked its packages into (its modules bound in the guest).
	[ -f "$OUT/dkms/upload" ] || die "no upload kernel: run scripts/dkms-test.sh --build-only"
	read -r krel UR < "$OUT/dkms/upload"
	kernel=$UR/boot/vmlinuz-$krel; mods=$UR/lib/modules/$krel
	initrd=$OUT/initramfs-$krel.cpio.gz
	[ -f "$initrd" ] && [ "$initrd" -nt "$SCEN_DIR/initramfs-init" ] ||
		"$REPO/scripts/mkinitramfs.sh" "$krel" "$UR" "$initrd"
	;;
*) die "kind must be stock, test or upload" ;;
esac
[ -r "$kernel" ] || die "kernel $kernel not readable"

mem=2G
extra=""
if [ "$kind" = test ]; then
	mem=3G
	# ACPI's AML interpreter under KASAN+lockdep+TCG hits its loop timeout evaluating the PCI
	# routing (_PRT) and stalls the boot for minutes: route interrupts from the BIOS tables
	# (acpi=noirq). ACPI itself stays on: SeaBIOS's MP table lists only the boot CPU, so with
	# acpi=off the guest would run on one CPU; the MADT gives it both. Costs ~15 s of boot.
	extra="kmemleak=on acpi=noirq"
fi
append="console=ttyS0,115200 rdinit=/init panic=-1 loglevel=4 mitigations=off nokaslr
	vminit=$SCEN_DIR/guest-run.sh vmout=$run vmscenario=$scen vmkind=$kind
	${mods:+vmmods=$mods} $extra ${FRMR_APPEND:-}"

# The guest's clock (FRMR_CLOCK): wall (default) runs multi-threaded TCG, one host thread per
# vCPU, and guest time follows the host's; icount runs the vCPUs in turn on one thread and
# counts guest time in instructions (1 ns each, idle time skipped), so host load does not move
# it: scripts/bench.sh measures its 1-CPU figures so. Under icount, QEMU 7.2 guests die of a
# double fault in SLUB's cmpxchg16b (scripts/bench-smoke.sh reproduces it): the CPU model
# there defaults to max without CX16. FRMR_CPU overrides the model of either clock.
case "${FRMR_CLOCK:-wall}" in
wall) accel=(-accel tcg,thread=multi); cpu=${FRMR_CPU:-max} ;;
icount) accel=(-accel tcg -icount shift=0,sleep=off); cpu=${FRMR_CPU:-max,-cx16} ;;
*) die "FRMR_CLOCK must be wall or icount" ;;
esac
echo "${FRMR_CLOCK:-wall} ${accel[*]} -cpu $cpu -smp 2 -m $mem" > "$run/clock"

log "booting $kind kernel $krel for scenario '$scen' (timeout ${to}s, clock ${FRMR_CLOCK:-wall}, cpu $cpu); logs in $run"
t0=$(now)
set +e
with_lock timeout -k 10 "$to" qemu-system-x86_64 -nodefaults -no-user-config -nographic \
	-no-reboot -machine pc "${accel[@]}" -cpu "$cpu" -smp 2 -m "$mem" \
	-kernel "$kernel" -initrd "$initrd" -append "$(echo $append)" \
	-serial "file:$run/console.log" -monitor none \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-virtfs "local,path=$run,mount_tag=vmout,security_model=none,multidevs=remap" \
	-netdev user,id=n0 -device virtio-net-pci,netdev=n0,romfile= \
	-device virtio-rng-pci ${FRMR_QEMU_EXTRA:-} < /dev/null > "$run/qemu.log" 2>&1
qrc=$?
set -e
dt=$(( $(now) - t0 ))
echo "$dt" > "$run/seconds"

fail=0
if [ $qrc -eq 124 ] || [ $qrc -eq 137 ]; then
	log "TIMEOUT: guest did not finish within ${to}s"
	echo "not ok - $kind:$scen:guest-timeout" >> "$run/results.tap"
	fail=1
elif [ ! -f "$run/done" ]; then
	log "guest ended without finishing the scenario (qemu rc=$qrc)"
	echo "not ok - $kind:$scen:guest-finished" >> "$run/results.tap"
	fail=1
fi
# The scenario itself must have run: a shell error (exit status non-zero) or no step at all
# is a failure, never an empty pass.
if [ -f "$run/done" ]; then
	if ! grep -q 'scenario exited with 0$' "$run/guest.log"; then
		log "scenario script failed: $(grep 'scenario exited' "$run/guest.log")"
		echo "not ok - $kind:$scen:scenario-exit-status" >> "$run/results.tap"
		fail=1
	fi
	if grep -q ': command not found$' "$run/guest.log"; then
		log "scenario ran a command that does not exist:"
		grep ': command not found$' "$run/guest.log" | head -5 >&2
		echo "not ok - $kind:$scen:commands-exist" >> "$run/results.tap"
		fail=1
	fi
	if ! grep -q '^ok [0-9]' "$run/results.tap" 2>/dev/null; then
		log "scenario ran no step"
		echo "not ok - $kind:$scen:steps-ran" >> "$run/results.tap"
		fail=1
	fi
fi
if ! python3 "$REPO/scripts/scan-log.py" "$SCEN_DIR/known-reports.txt" "$run/console.log" \
	"$run/dmesg.txt" "$run/kmemleak.txt" > "$run/reports.txt"; then
	log "kernel reports found:"; sed 's/^/  /' "$run/reports.txt" | head -40 >&2
	echo "not ok - $kind:$scen:kernel-log-clean" >> "$run/results.tap"
	fail=1
else
	echo "ok - $kind:$scen:kernel-log-clean" >> "$run/results.tap"
fi
touch "$run/results.tap"
# A skipped step is not a pass: it counts as a failure.
np=$(grep '^ok' "$run/results.tap" | grep -vc '# SKIP' || true)
nf=$(grep -c '^not ok\|# SKIP' "$run/results.tap" || true)
echo "$np $nf" > "$run/counts"
grep '^not ok\|# SKIP' "$run/results.tap" | sed 's/^/  /' >&2 || true
log "$kind:$scen: $np passed, $nf failed in ${dt}s ($run)"
[ $fail -eq 0 ] && [ "$nf" -eq 0 ]
