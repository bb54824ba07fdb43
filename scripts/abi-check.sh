#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# abi-check.sh - fail if any symbol we rebuild changed its modversion CRC against the stock kernel.
#
# Usage: abi-check.sh <Module.symvers>...
# Every symbol that the stock Module.symvers exports from a module we rebuilt must keep its CRC;
# a symbol the stock modules export and ours no longer do is a failure too. New symbols are fine.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

STOCK=$KHDR/Module.symvers
[ -f "$STOCK" ] || die "$STOCK missing"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# Our symvers name modules by absolute path; the stock one relative to the kernel tree.
cat "$@" | sed "s|\t$TREE_LINUX/|\t|" | awk -F'\t' '{print $2, $1, $3}' | sort > "$tmp/ours"
# Modules we rebuilt, as the stock symvers names them (e.g. drivers/infiniband/core/ib_core).
cut -d' ' -f3 "$tmp/ours" | sort -u > "$tmp/modnames"
awk -F'\t' 'NR==FNR{want[$1]=1; next} ($3 in want){print $2, $1, $3}' "$tmp/modnames" "$STOCK" |
	sort > "$tmp/stock"
join -j1 -o 1.1,1.2,2.2,1.3 "$tmp/stock" "$tmp/ours" |
	awk '$2 != $3 {print "  CRC changed: " $1 " (" $4 ") stock " $2 " ours " $3}' > "$tmp/changed"
join -v1 -j1 "$tmp/stock" "$tmp/ours" | awk '{print "  missing export: " $1 " (" $3 ")"}' >> "$tmp/changed"
nstock=$(wc -l < "$tmp/stock")
nnew=$(join -v2 -j1 "$tmp/stock" "$tmp/ours" | wc -l)
if [ -s "$tmp/changed" ]; then
	cat "$tmp/changed" >&2
	die "ABI check FAILED: $(wc -l < "$tmp/changed") of $nstock stock exports changed"
fi
log "ABI check passed: $nstock stock exports keep their CRC, $nnew new exports"
