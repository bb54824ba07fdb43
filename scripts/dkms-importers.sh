#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# dkms-importers.sh - list the stock kernel's modules that import a symbol exported by the ib_core family.
#
# Usage: dkms-importers.sh [KVER] > list
# Output: one line per in-box importer: "<module name> <path of the .ko[.xz|.zst]> <count>", where
# <count> is how many ib_core-family symbols its __versions section imports. The modules that
# frmr-pools-dkms ships itself (the ib_core family, rdma_rxe, mlx5_ib) are left out: they are
# replaced, not kept. Nothing is hard-coded: the exports come from the headers' Module.symvers,
# the imports from each module's __versions (modprobe --dump-modversions), and modules.dep only
# narrows the candidates (a direct importer always depends on the exporting module).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kver=${1:-$KVER}
mdir=/lib/modules/$kver
symvers=/usr/src/linux-headers-$kver/Module.symvers
[ -f "$symvers" ] || die "$symvers missing"
[ -f "$mdir/modules.dep" ] || die "$mdir/modules.dep missing"

FAMILY=$(rdma_modules drivers/infiniband/core)
SHIPPED=$(rdma_modules)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# Symbols the family exports, as the stock kernel's Module.symvers records them.
fam_re=$(echo "$FAMILY" | sed 's/ /|/g')
awk -F'\t' -v re="^drivers/infiniband/core/($fam_re)\$" '$3 ~ re {print $2}' "$symvers" |
	sort -u > "$tmp/exports"
[ -s "$tmp/exports" ] || die "no ib_core-family exports in $symvers"

# Candidates: modules whose (transitive) dependencies include a family module.
dep_re=$(echo "$FAMILY" | sed 's/ /|/g; s/_/[-_]/g')
awk -F: -v re="/($dep_re)\\.ko(\\.xz|\\.zst|\\.gz)?\$" '{
	n = split($2, d, " "); for (i = 1; i <= n; i++) if (d[i] ~ re) { print $1; break } }' \
	"$mdir/modules.dep" > "$tmp/candidates"

while read -r rel; do
	f=$mdir/$rel
	name=$(basename "$rel"); name=${name%%.ko*}; name=${name//-/_}
	case " $SHIPPED " in *" $name "*) continue ;; esac
	modprobe --dump-modversions "$f" | awk '{print $2}' | sort -u > "$tmp/imports"
	n=$(comm -12 "$tmp/exports" "$tmp/imports" | wc -l)
	[ "$n" -gt 0 ] && echo "$name $f $n"
done < "$tmp/candidates" | sort
