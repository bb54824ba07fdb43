#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# build-selftests.sh - build the FRMR selftests (tools/testing/selftests/rdma/frmr) into $OUT/bin.
#
# They are a kselftest: their Makefile includes ../../lib.mk, which only a kernel tree has, so
# they are built in the prepared tree (scripts/tree.sh prepare linux, which copies the overlay
# in): the test programs into $OUT/bin, frmr_kmr.ko into $OUT/bin/kmr.
# Usage: build-selftests.sh [make arguments, e.g. KMR=0]
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$REPO/scripts/tree.sh" prepare linux >&2
mkdir -p "$OUT/bin"
make -C "$TREE_LINUX/tools/testing/selftests/rdma/frmr" OUTPUT="$OUT/bin" "$@"
