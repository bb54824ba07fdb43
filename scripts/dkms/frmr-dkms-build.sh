#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# frmr-dkms-build.sh - dkms MAKE/CLEAN step of frmr-pools-dkms: refuse a foreign ABI, build, check.
#
# Run by dkms in its build directory (a copy of /usr/src/frmr-pools-<version>):
#   bash ./frmr-dkms-build.sh build|clean <kernelver> <kernel_source_dir>
# build: 1. the kernel must be 6.12 and every export of the ib_core family and of mlx5_core in
#           its Module.symvers must carry the CRC recorded from the kernel this source comes from
#           (abi/stock-exports): a different RDMA or mlx5 ABI fails here, before compiling, not
#           at module load;
#        2. ib_core family, then rdma_rxe, then mlx5_ib (against the stock mlx5_core), with our
#           include/ first on the include path (NOSTDINC_FLAGS) so that no packaged rdma/,
#           linux/mlx5/ or RDMA trace header is used;
#        3. checks that no packaged copy of a header we ship was used, and that every export the
#           kernel's Module.symvers records for a module we rebuilt kept its CRC.
set -euo pipefail

act=${1:?build|clean}; kver=${2:?kernelver}; ksrc=${3:?kernel_source_dir}
T=$(pwd)
CORE=$T/drivers/infiniband/core
DIRS="$CORE $T/drivers/infiniband/sw/rxe $T/drivers/infiniband/hw/mlx5"
SRCVER=$(cat "$T/abi/source-version")

say() { echo "frmr-pools: $*"; }
fail() {
	echo "frmr-pools: ERROR: $*" >&2
	echo "frmr-pools: nothing was built for $kver; its stock RDMA modules stay in use." >&2
	exit 1
}

if [ "$act" = clean ]; then
	for d in $DIRS; do make -C "$ksrc" M="$d" clean > /dev/null 2>&1 || true; done
	exit 0
fi
[ "$act" = build ] || fail "usage: $0 build|clean <kernelver> <kernel_source_dir>"

case "$kver" in
6.12.*) ;;
*) fail "kernel $kver is not a 6.12 kernel: this package carries the RDMA stack of linux-source-6.12 $SRCVER and builds only for that ABI" ;;
esac
SV=$ksrc/Module.symvers
[ -f "$SV" ] || fail "$SV missing: install linux-headers-$kver"

# 1. ABI of the target kernel: the exports we replace or build against must be unchanged.
awk -F'\t' 'NR == FNR { crc[$2 "\t" $3] = $1; next }
	{ k = $2 "\t" $3
	  if (!(k in crc)) { print "  missing: " $2 " (" $3 ")"; next }
	  if (crc[k] != $1) print "  CRC " crc[k] " (kernel) != " $1 " (source): " $2 " (" $3 ")" }' \
	"$SV" "$T/abi/stock-exports" > "$T/abi-mismatch.txt"
nref=$(wc -l < "$T/abi/stock-exports")
if [ -s "$T/abi-mismatch.txt" ]; then
	head -20 "$T/abi-mismatch.txt" >&2
	fail "kernel $kver: $(wc -l < "$T/abi-mismatch.txt") of $nref ib_core-family/mlx5_core exports differ from linux-source-6.12 $SRCVER (the ABI this package was made for). In-box RDMA modules of $kver would not load against these modules; rebuild the package from $kver's own linux-source-6.12."
fi
say "kernel $kver: $nref ib_core-family/mlx5_core export CRCs match linux-source-6.12 $SRCVER"

# 2. Build. Our headers first: a command-line NOSTDINC_FLAGS replaces the kernel's (-nostdinc).
MK=(make -C "$ksrc" -j"$(nproc)" NOSTDINC_FLAGS="-nostdinc -I$T/include -I$T/include/uapi")
"${MK[@]}" M="$CORE" modules
"${MK[@]}" M="$T/drivers/infiniband/sw/rxe" KBUILD_EXTRA_SYMBOLS="$CORE/Module.symvers" modules
"${MK[@]}" M="$T/drivers/infiniband/hw/mlx5" KBUILD_EXTRA_SYMBOLS="$CORE/Module.symvers" modules

# 3a. Every header we ship must have been taken from here, never from the headers package.
(cd "$T" && find include -type f) | sed 's|^|/|' > "$T/shipped-headers"
find $DIRS -name '.*.o.cmd' -print0 | xargs -0 cat | tr ' \\' '\n\n' |
	grep -F -f "$T/shipped-headers" | grep -v "^$T/" | sort -u > "$T/foreign-headers" || true
if [ -s "$T/foreign-headers" ]; then
	head -20 "$T/foreign-headers" >&2
	fail "the build used $(wc -l < "$T/foreign-headers") header(s) from the headers package instead of ours"
fi
# 3b. No export of a module we rebuilt changed its CRC against the target kernel.
cat $(for d in $DIRS; do echo "$d/Module.symvers"; done) |
	awk -F'\t' -v T="$T/" '{ m = $3; if (index(m, T) == 1) m = substr(m, length(T) + 1)
		print $2 "\t" $1 "\t" m }' > "$T/ours.txt"
awk -F'\t' 'NR == FNR { ours[$1 "\t" $3] = $2; mods[$3] = 1; next }
	($3 in mods) { k = $2 "\t" $3
	  if (!(k in ours)) print "  export lost: " $2 " (" $3 ")"
	  else if (ours[k] != $1) print "  CRC changed: " $2 " (" $3 ")" }' \
	"$T/ours.txt" "$SV" > "$T/abi-changed.txt"
if [ -s "$T/abi-changed.txt" ]; then
	head -20 "$T/abi-changed.txt" >&2
	fail "$(wc -l < "$T/abi-changed.txt") stock exports changed in our build: in-box importers would not load"
fi
say "built for $kver: $(wc -l < "$T/ours.txt") exports, stock CRCs kept, no packaged RDMA header used"
