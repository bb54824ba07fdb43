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
. "$(dirname "$0")/vm-lib.sh"

kind=${1:?stock|test|upload}; scen=${2:?scenario}; to=${3:-600}
scenfile=$(vm_scenario_file "$scen") || die "no scenario $scen"
vm_check_repo_path
run=$OUT/runs/$(date +%Y%m%d-%H%M%S)-$kind-$scen
mkdir -p "$run"
ln -sfn "$run" "$OUT/runs/last-$kind-$scen"

case "$kind" in
stock)
	kernel=/boot/vmlinuz-$KVER; krel=$KVER; mods=""
	initrd=$(vm_initrd "$krel" /)
	;;
test)
	TK=$CACHE/testkernel
	[ -f "$TK/bzImage" ] || die "no test kernel: run 'make testkernel'"
	kernel=$TK/bzImage; krel=$(cat "$TK/kernel.release")
	mods=$TK/mods/lib/modules/$krel
	initrd=$(vm_initrd "$krel" "$TK/mods")
	;;
upload)
	# The archive's newer 6.12 upload that dkms-test.sh built the package for, booted from the
	# private root upload-kernel.sh unpacked its packages into (its modules bound in the guest).
	[ -f "$OUT/dkms/upload" ] || die "no upload kernel: run scripts/dkms-test.sh --build-only"
	read -r krel UR < "$OUT/dkms/upload"
	kernel=$UR/boot/vmlinuz-$krel; mods=$UR/lib/modules/$krel
	initrd=$(vm_initrd "$krel" "$UR")
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
	vminit=$REPO/scripts/guest/guest-run.sh vmout=$run vmscenario=$scen vmscenfile=$scenfile
	vmkind=$kind
	${mods:+vmmods=$mods} $extra ${FRMR_APPEND:-}"

vm_qemu_args "$run" "$kernel" "$initrd" "$mem" 2 "$(echo $append)"
log "booting $kind kernel $krel for scenario '$scen' (timeout ${to}s, $VM_CLOCK_DESC); logs in $run"
t0=$(now)
set +e
with_lock timeout -k 10 "$to" qemu-system-x86_64 "${QEMU_ARGS[@]}" \
	-netdev user,id=n0 -device virtio-net-pci,netdev=n0,romfile= \
	${FRMR_QEMU_EXTRA:-} < /dev/null > "$run/qemu.log" 2>&1
qrc=$?
set -e
dt=$(( $(now) - t0 ))
echo "$dt" > "$run/seconds"

vm_verdict "$run" "$kind:$scen" "$qrc" "$to" "$dt"
