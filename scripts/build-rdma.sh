#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# build-rdma.sh - build iproute2's rdma tool (with frmr_pools) from the prepared tree into $OUT/bin/rdma.
#
# Usage: scripts/build-rdma.sh [--clean] [--check] [--upstream]
#
# Prepares the iproute2 tree (pristine Debian source + iproute2/ overlay + patches/iproute2),
# runs ./configure when config.mk is missing or older than configure, then builds only
# lib/ and rdma/ (incremental). The whole run holds the machine-wide build lock; a caller
# that already holds it sets FRMR_BUILD_LOCKED=1 so that this script does not wait for itself.
# --clean rebuilds every rdma object; --check then checks the nldev values of the kernel's and
# the tool's rdma_netlink.h (uapi-check.sh) and runs the frmr_pools checks against a fake
# NETLINK_RDMA kernel side (iproute2/testsuite/rdma-frmr-pools, no RDMA kernel needed);
# --upstream runs the same cases with upstream's rdma (Debian unstable's iproute2, downloaded)
# and writes the side-by-side difference to $OUT/upstream-rdma/upstream.diff.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if [ -z "${FRMR_BUILD_LOCKED:-}" ]; then
	export FRMR_BUILD_LOCKED=1
	with_lock "$0" "$@"
	exit $?
fi

clean=; check=; upstream=
for a in "$@"; do
	case "$a" in
	--clean) clean=1 ;;
	--check) check=1 ;;
	--upstream) upstream=1 ;;
	*) die "usage: $0 [--clean] [--check] [--upstream]" ;;
	esac
done

start=$(now)
"$REPO/scripts/tree.sh" prepare iproute2

cd "$TREE_IPROUTE2"
if [ ! -f config.mk ] || [ configure -nt config.mk ]; then
	log "configure"
	./configure > configure.log 2>&1 || { cat configure.log >&2; die "configure failed"; }
	grep -q '^HAVE_MNL:=y' config.mk || die "configure did not find libmnl (install libmnl-dev pkg-config)"
fi

# iproute2's makefiles track no header dependencies: when a header that rdma/ uses is newer
# than the last link, rebuild every rdma object instead of linking stale enum values.
if [ -n "$clean" ] || [ ! -f rdma/rdma ] ||
   [ -n "$(find rdma include -name '*.h' -newer rdma/rdma -print -quit)" ]; then
	rm -f rdma/*.o rdma/rdma
fi

log "make lib rdma"
make -j2 SUBDIRS="lib rdma" >&2

mkdir -p "$OUT/bin"
if ! cmp -s rdma/rdma "$OUT/bin/rdma"; then
	rm -f "$OUT/bin/rdma"
	cp rdma/rdma "$OUT/bin/rdma"
fi
log "built $OUT/bin/rdma ($(rdma/rdma -V)) in $(( $(now) - start )) s"
if [ -n "$check" ]; then
	"$REPO/scripts/tree.sh" prepare linux
	"$REPO/scripts/uapi-check.sh" "$TREE_LINUX/include/uapi/rdma/rdma_netlink.h" \
		rdma/include/uapi/rdma/rdma_netlink.h
	testsuite/rdma-frmr-pools/run.sh "$OUT/bin/rdma"
fi
if [ -n "$upstream" ]; then
	testsuite/rdma-frmr-pools/upstream.sh "$OUT/bin/rdma" "$OUT/upstream-rdma"
fi
