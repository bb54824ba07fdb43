#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# vm2-run.sh - two guests of the stock kernel on one Ethernet link, each running its half of a
# two-host scenario with our RDMA stack or the in-box one.
#
# Usage: vm2-run.sh ours|stock ours|stock SCENARIO [TIMEOUT_SECONDS]
# The first stack is guest a's, the second guest b's; the scenario is
# tools/testing/selftests/rdma/frmr/scenarios2/<SCENARIO>.sh (both halves in one file), or
# the harness self-tests' scripts/harness-selftest/<SCENARIO>.sh (vm2_scenario_file).
# Results: $OUT/runs/<time>-vm2-<A>-<B>-<scenario>/{a,b}/{console.log,guest.log,dmesg.txt,
# results.tap,steps/} and, for the pair, results.tap (each side's lines prefixed a: or b:),
# counts and seconds. The run fails when either side failed a step, timed out, never finished
# or logged a kernel report, exactly as vm-run.sh judges one guest.
#
# The link: a virtio NIC in each guest (MAC 52:54:00:20:00:01 on a, :02 on b) on a QEMU
# "socket" netdev in UDP mode, each guest sending its frames to the other's port on the
# host's loopback. Either guest can start first: a frame sent before the other listens is
# lost, like one on a cable whose far end is still booting. Both QEMUs start under one
# with_lock, so that no other guest or build shares the two cores meanwhile.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vm-lib.sh"

# Inside the lock: boot both guests, wait for both, record each QEMU's exit status.
boot_pair() { # run a-stack b-stack scenario timeout
	local run=$1 sa=$2 sb=$3 scen=$4 to=$5 kernel=/boot/vmlinuz-$KVER initrd ports pa pb
	local side stack peer port peerport mac pid pids=() scenfile
	now > "$run/boot-start"
	scenfile=$(vm2_scenario_file "$scen") || die "no two-host scenario $scen"
	initrd=$(vm_initrd "$KVER" /)
	# two free UDP ports on the loopback, one per guest
	ports=$(python3 -c 'import socket
s = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
for x in s:
    x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
	read -r pa pb <<< "$ports"
	log "link: a on udp 127.0.0.1:$pa, b on udp 127.0.0.1:$pb"
	for side in a b; do
		if [ $side = a ]; then
			stack=$sa peer=$sb port=$pa peerport=$pb mac=52:54:00:20:00:01
		else
			stack=$sb peer=$sa port=$pb peerport=$pa mac=52:54:00:20:00:02
		fi
		vm_qemu_args "$run/$side" "$kernel" "$initrd" 2G "${VM2_SMP:-2}" \
			"console=ttyS0,115200 rdinit=/init panic=-1 loglevel=4 mitigations=off nokaslr
			vminit=$REPO/scripts/guest/guest-run.sh vmout=$run/$side vmscenario=$scen
			vmscenfile=$scenfile
			vmkind=stock vmrole=$side vmstack=$stack vmpeerstack=$peer ${FRMR_APPEND:-}"
		QEMU_ARGS[${#QEMU_ARGS[@]}]=-netdev
		QEMU_ARGS[${#QEMU_ARGS[@]}]=socket,id=w0,udp=127.0.0.1:$peerport,localaddr=127.0.0.1:$port
		QEMU_ARGS[${#QEMU_ARGS[@]}]=-device
		QEMU_ARGS[${#QEMU_ARGS[@]}]=virtio-net-pci,netdev=w0,mac=$mac,romfile=
		(
			set +e
			timeout -k 10 "$to" qemu-system-x86_64 "${QEMU_ARGS[@]}" \
				< /dev/null > "$run/$side/qemu.log" 2>&1
			echo $? > "$run/$side/qemu-rc"
		) &
		pids+=($!)
	done
	for pid in "${pids[@]}"; do
		wait "$pid" || true
	done
}
if [ "${1:-}" = --boot-pair ]; then
	shift
	boot_pair "$@"
	exit 0
fi

sa=${1:?ours|stock}; sb=${2:?ours|stock}; scen=${3:?scenario}; to=${4:-900}
for s in "$sa" "$sb"; do
	case "$s" in
	ours | stock) ;;
	*) die "a stack is ours or stock, not '$s'" ;;
	esac
done
vm2_scenario_file "$scen" > /dev/null || die "no two-host scenario $scen"
vm_check_repo_path
if [ "$sa" = ours ] || [ "$sb" = ours ]; then
	[ -f "$OUT/modules/build-ids" ] || die "no modules in $OUT/modules: run 'make modules'"
fi
run=$OUT/runs/$(date +%Y%m%d-%H%M%S)-vm2-$sa-$sb-$scen
mkdir -p "$run/a" "$run/b"
ln -sfn "$run" "$OUT/runs/last-vm2-$sa-$sb-$scen"

log "booting guests a ($sa stack) and b ($sb stack) for scenario '$scen' (timeout ${to}s); logs in $run"
t0=$(now)
with_lock "$0" --boot-pair "$run" "$sa" "$sb" "$scen" "$to"
dt=$(( $(now) - t0 ))
# seconds: the pair's wall time from the lock taken; waited: before it (other guests, builds)
gt=$(( $(now) - $(cat "$run/boot-start" 2> /dev/null || echo "$t0") ))
echo "$gt" > "$run/seconds"
echo $((dt - gt)) > "$run/waited"

fail=0
: > "$run/results.tap"
np=0; nf=0
for side in a b; do
	stack=$sa; [ $side = b ] && stack=$sb
	qrc=$(cat "$run/$side/qemu-rc" 2> /dev/null || echo 1)
	vm_verdict "$run/$side" "$side:$stack:$scen" "$qrc" "$to" "$gt" || fail=1
	sed "s/^\(not ok\|ok\)/\1 $side:/" "$run/$side/results.tap" >> "$run/results.tap"
	read -r p f < "$run/$side/counts"
	np=$((np + p)); nf=$((nf + f))
done
echo "$np $nf" > "$run/counts"
log "vm2 $sa-$sb:$scen: $np passed, $nf failed in ${gt}s, $((dt - gt))s waiting for the lock ($run)"
echo "$np passed, $nf failed"
[ $fail -eq 0 ] && [ "$nf" -eq 0 ]
