# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# guest-lib.sh - helpers for scenario scripts running in the guest (sourced).
#
# Every check is a step: `step NAME TIMEOUT CMD...` runs CMD under its own timeout, writes its
# output to $vmout/steps/NN-NAME.log and a TAP line to $vmout/results.tap.

FRMR_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../../.." && pwd)
FRMR_SELFTEST=$FRMR_REPO/tools/testing/selftests/rdma/frmr
FRMR_OUT=${FRMR_OUT:-$FRMR_REPO/out}
FRMR_BIN=$FRMR_OUT/bin
RDMA=${RDMA:-$FRMR_BIN/rdma}
[ -x "$RDMA" ] || RDMA=$(command -v rdma)
export FRMR_REPO FRMR_SELFTEST FRMR_OUT FRMR_BIN RDMA vmout vmkind vmscenario
# The modules we build (scripts/rdma-modules.list) and build_id, from the host's repository.
. "$FRMR_REPO/scripts/rdma-modules.sh"
export RDMA_MODULES_LIST
# The ib_core family, and the stack a guest loads: the family and rdma_rxe (no mlx5 hardware).
FRMR_MODS_CORE=$(rdma_modules drivers/infiniband/core)
FRMR_MODS_STACK=$(rdma_modules drivers/infiniband/core drivers/infiniband/sw/rxe)
export FRMR_MODS_CORE FRMR_MODS_STACK
# Step and server timeouts are hang guards, written as about twice a step's duration on an idle
# machine. CI has run the same guests 2.5x slower than that (a busy host: every guest CPU is a
# host thread), and a timeout must not turn a slow pass into a failure: each one is multiplied
# by STEP_SLACK. The host's timeout of the whole guest (vm-run.sh) stays the backstop.
export STEP_SLACK=3
STEP_N=0
mkdir -p "$vmout/steps"
: > "$vmout/results.tap"

step() { # name timeout cmd...
	local name=$1 to=$(($2 * STEP_SLACK)) t0 rc
	shift 2
	STEP_N=$((STEP_N + 1))
	local logf; logf=$(printf '%s/steps/%02d-%s.log' "$vmout" "$STEP_N" "$name")
	t0=$(date +%s.%N)
	echo "== step $STEP_N $name: $*"
	# Functions of the library and of the scenario run in the child shell too.
	export -f $(declare -F | awk '{print $3}')
	timeout -k 5 "$to" bash -c '"$@"' step "$@" > "$logf" 2>&1
	rc=$?
	local dt; dt=$(echo "$(date +%s.%N) - $t0" | bc)
	if [ $rc -eq 0 ]; then
		printf 'ok %d - %s # %.1fs\n' "$STEP_N" "$name" "$dt" >> "$vmout/results.tap"
	else
		[ $rc -eq 124 ] && echo "TIMEOUT after ${to}s" >> "$logf"
		printf 'not ok %d - %s # rc=%d %.1fs\n' "$STEP_N" "$name" "$rc" "$dt" >> "$vmout/results.tap"
		echo "   FAILED rc=$rc; last lines:"; tail -15 "$logf" | sed 's/^/   | /'
	fi
	return $rc
}

# A step that runs a program on kselftest_harness.h (one test per check, KTAP on stdout): the
# step as usual, which fails when the program does (a failed test, or a set-up that died before
# its tests), then each test the program reported as a TAP line of its own, "NAME:fixture.test";
# a skipped test keeps its "# SKIP", which the harness counts as a failure.
kstep() { # name timeout cmd...
	local rc logf st t rest
	step "$@"
	rc=$?
	logf=$(printf '%s/steps/%02d-%s.log' "$vmout" "$STEP_N" "$1")
	while read -r st t rest; do
		STEP_N=$((STEP_N + 1))
		printf '%s %d - %s:%s%s\n' "${st/_/ }" "$STEP_N" "$1" "$t" "${rest:+ $rest}" \
			>> "$vmout/results.tap"
	done < <(sed -nE 's/^ok [0-9]+ ([^ ]+)(.*)$/ok \1\2/p; s/^not ok [0-9]+ ([^ ]+)(.*)$/not_ok \1\2/p' \
		"$logf")
	return $rc
}

# Record a result computed by the scenario itself.
result() { # name 0|1 [message]
	STEP_N=$((STEP_N + 1))
	if [ "$2" = 0 ]; then
		printf 'ok %d - %s\n' "$STEP_N" "$1" >> "$vmout/results.tap"
	else
		printf 'not ok %d - %s # %s\n' "$STEP_N" "$1" "${3:-}" >> "$vmout/results.tap"
	fi
}

# KUnit results from the kernel log, parsed by the 6.12 tree's own KTAP parser
# (tools/testing/kunit/kunit.py parse, from the pristine source). Each test module loaded
# printed one KTAP document; the boot's empty one (1..0) is left out. Every case becomes a TAP
# line in results.tap; a skipped case keeps "# SKIP", which the harness counts as a failure (a
# missing prerequisite must not pass); a document the parser finds incomplete or inconsistent
# (crashed or missing cases, a wrong plan) adds a "not ok" line of its own.
KUNIT_PY=${FRMR_PRISTINE:-/var/cache/frmr/pristine}/linux/tools/testing/kunit/kunit.py
ktap_collect() { # suite-name-regex
	local d=/tmp/ktap doc st name
	rm -rf "$d"; mkdir -p "$d"
	dmesg | awk -v d="$d" '/^\[[ 0-9.]+\] KTAP version/ { n++ } n { print > (d "/doc" n) }'
	for doc in "$d"/doc*; do
		[ -f "$doc" ] || continue
		sed -n 2p "$doc" | grep -qE '^\[[ 0-9.]+\] 1\.\.0$' && continue
		if ! python3 "$KUNIT_PY" parse --json="$doc.json" "$doc" > "$doc.log" 2>&1; then
			STEP_N=$((STEP_N + 1))
			echo "not ok $STEP_N - kunit:$(basename "$doc") # $(grep -m1 'Testing complete' "$doc.log" | sed 's/^\[[0-9:]*\] //')" >> "$vmout/results.tap"
		fi
		cp "$doc.log" "$vmout/kunit-$(basename "$doc").log"
	done
	while read -r st name; do
		STEP_N=$((STEP_N + 1))
		case "$st" in
		ok) echo "ok $STEP_N - kunit:$name" ;;
		skip) echo "ok $STEP_N - kunit:$name # SKIP" ;;
		*) echo "not ok $STEP_N - kunit:$name" ;;
		esac >> "$vmout/results.tap"
	done < <(python3 "$FRMR_SELFTEST/kunit_tap.py" "$1" "$d"/doc*.json)
}

# Load our RDMA modules. Stock kernel: insmod the out-of-tree build, in dependency order.
# Test kernel: modprobe from its own module tree (built from the same prepared tree).
load_modules() {
	modprobe -a udp_tunnel ip6_udp_tunnel configfs || return 1
	if [ "$vmkind" = stock ]; then
		local m
		for m in $FRMR_MODS_STACK; do
			insmod "$FRMR_OUT/modules/$m.ko" || return 1
		done
	else
		modprobe -a $FRMR_MODS_STACK || return 1
	fi
	check_build_ids
}

# Prove that the loaded modules are ours: the GNU build-id of each loaded module equals the
# build-id of the file we built.
check_build_ids() {
	local m id want bad=0
	for m in $FRMR_MODS_STACK; do
		[ -e /sys/module/$m ] || { echo "$m not loaded"; bad=1; continue; }
		id=$(build_id $m)
		if [ "$vmkind" = stock ]; then
			want=$(awk -v m=$m '$1==m{print $2}' "$FRMR_OUT/modules/build-ids")
		else
			want=$(build_id "$(modinfo -F filename $m)")
		fi
		if [ -z "$want" ] || [ "$id" != "$want" ]; then
			echo "$m: loaded build-id $id is not ours ($want)"; bad=1
		else
			echo "$m: ours ($id)"
		fi
	done
	return $bad
}

# Load the in-box RDMA modules of the running kernel (for comparisons against the stock
# stack) and prove it: each loaded module's GNU build-id equals that of the in-box file and
# differs from ours.
load_inbox_modules() {
	modprobe -a udp_tunnel ip6_udp_tunnel configfs $FRMR_MODS_STACK || return 1
	check_inbox_build_ids
}

check_inbox_build_ids() {
	local m f id inbox ours bad=0
	for m in $FRMR_MODS_STACK; do
		[ -e /sys/module/$m ] || { echo "$m not loaded"; bad=1; continue; }
		id=$(build_id $m)
		f=$(modinfo -F filename $m)
		case "$f" in
		*/kernel/drivers/infiniband/*.ko.xz | */kernel/drivers/infiniband/*.ko) ;;
		*) echo "$m: $f is not an in-box module"; bad=1; continue ;;
		esac
		inbox=$(build_id "$f")
		ours=$(awk -v m=$m '$1==m{print $2}' "$FRMR_OUT/modules/build-ids" 2>/dev/null)
		if [ -n "$inbox" ] && [ "$id" = "$inbox" ] && [ "$id" != "$ours" ]; then
			echo "$m: in-box ($id, $f)"
		else
			echo "$m: loaded build-id $id is not the in-box one ($inbox; ours $ours)"; bad=1
		fi
	done
	return $bad
}

# Unload the stack, in the reverse of its load order.
unload_modules() {
	local m
	for m in $(echo $FRMR_MODS_STACK | tr ' ' '\n' | tac); do
		[ -e /sys/module/$m ] && { rmmod $m || return 1; }
	done
	return 0
}

netdev_dummy() { # name cidr
	ip link add "$1" type dummy && ip addr add "$2" dev "$1" && ip link set "$1" up
}
netdev_veth() { # name peer cidr peercidr
	ip link add "$1" type veth peer name "$2" && ip addr add "$3" dev "$1" &&
		ip addr add "$4" dev "$2" && ip link set "$1" up && ip link set "$2" up
}

# Run a server in the background and a client against it; the server never outlives the client.
server_client() { # timeout "server cmd" "client cmd"
	local to=$(($1 * STEP_SLACK)) srv=$2 cli=$3 spid rc
	timeout -k 2 "$to" bash -c "$srv" &
	spid=$!
	sleep 1.5
	timeout -k 2 "$to" bash -c "$cli"
	rc=$?
	if [ $rc -ne 0 ]; then
		kill "$spid" 2>/dev/null
		wait "$spid"
		return $rc
	fi
	wait "$spid"
	rc=$?
	return $rc
}
