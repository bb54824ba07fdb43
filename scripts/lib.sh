# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# lib.sh - paths and helpers shared by the harness scripts (sourced, not run).

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${FRMR_CACHE:-/var/cache/frmr}
KVER=${KVER:-6.12.117+deb12-amd64}
KHDR=/usr/src/linux-headers-${KVER}
LINUX_TARBALL=/usr/src/linux-source-6.12.tar.xz
# Pristine sources are shared read-only by every cache (a helper may use its own FRMR_CACHE).
PRISTINE=${FRMR_PRISTINE:-/var/cache/frmr/pristine}
PRISTINE_LINUX=$PRISTINE/linux
TREE_LINUX=$CACHE/tree/linux
PRISTINE_IPROUTE2=$PRISTINE/iproute2
TREE_IPROUTE2=$CACHE/tree/iproute2
OUT=${FRMR_OUT:-$REPO/out}
BUILD_LOCK=/var/lock/frmr-build.lock

# Top-level directories of the repository that are overlays onto the kernel tree.
OVERLAY_DIRS_LINUX="Documentation drivers include net lib tools"
SELFTEST=$REPO/tools/testing/selftests/rdma/frmr

# The RDMA modules we build (rdma_modules, rdma_module_dirs, rdma_module_paths) and build_id.
. "$REPO/scripts/rdma-modules.sh"

log() { printf '[%s] %s\n' "$(basename "$0" .sh)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Serialise everything that compiles or boots: two cores, shared by every helper.
# A script that holds the lock over a sequence of steps (hold_lock) runs them directly.
with_lock() {
	if [ "${FRMR_LOCK_HELD:-}" = 1 ]; then
		"$@"
		return
	fi
	mkdir -p "$(dirname "$BUILD_LOCK")"
	flock "$BUILD_LOCK" "$@"
}

# Take the lock until release_lock (or the script's end), for its children too: the guests of
# a benchmark run in one stretch of exclusive machine time, not between other helpers' jobs.
# Under a parent that holds it already, both are no-ops.
hold_lock() {
	if [ "${FRMR_LOCK_HELD:-}" = 1 ]; then	# a parent holds it: nothing to take or give back
		FRMR_LOCK_NESTED=1
		return
	fi
	mkdir -p "$(dirname "$BUILD_LOCK")"
	exec {FRMR_LOCK_FD}> "$BUILD_LOCK"
	flock "$FRMR_LOCK_FD"
	export FRMR_LOCK_HELD=1
}
release_lock() {
	if [ -n "${FRMR_LOCK_NESTED:-}" ]; then
		unset FRMR_LOCK_NESTED
		return
	fi
	flock -u "$FRMR_LOCK_FD"
	exec {FRMR_LOCK_FD}>&-
	unset FRMR_LOCK_HELD
}

now() { date +%s; }

# The uapi headers of the prepared tree that the guest tests read their netlink constants from
# (frmr_pools.py), into $OUT/uapi: those of the tree the modules were built from.
ship_uapi() {
	python3 "$SELFTEST/frmr_pools.py" ship-uapi "$TREE_LINUX/include/uapi" "$OUT/uapi"
}
