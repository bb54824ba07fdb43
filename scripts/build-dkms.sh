#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# build-dkms.sh - build the frmr-pools-dkms and frmr-pools-rdma Debian packages (dh_dkms, dpkg-buildpackage).
#
# Usage: build-dkms.sh             (make dkms)
# Output: $OUT/dkms/frmr-pools_<ver>.dsc, .tar.xz    the source package (3.0 native)
#         $OUT/dkms/frmr-pools-dkms_<ver>_all.deb   module source + dkms.conf (+ maintainer scripts
#                                                   from dh_dkms: dkms add/build/install, remove)
#         $OUT/dkms/frmr-pools-rdma_<ver>_amd64.deb /usr/lib/frmr-pools/rdma, /usr/bin/rdma-frmr,
#                                                   rdma-frmr(8)
#         $OUT/dkms/version                         <ver>, e.g. 6.12.117+frmr20261207155302.g1df4fa7
#         $OUT/dkms/dpkg-buildpackage.log, lintian.txt
# Packaging files live in scripts/dkms/ (debian/, dkms.conf.in, frmr-dkms-build.sh). The source
# package holds the module source from the prepared tree (drivers/infiniband/{core,sw/rxe,hw/mlx5},
# include/rdma, include/uapi/rdma, include/linux/mlx5, the RDMA trace headers and every include/
# file the overlay or a patch touches) and the prepared iproute2 tree's Makefile, configure,
# include/, lib/, rdma/ and rdma man pages. The binary packages are built by dpkg-buildpackage from
# the unpacked .dsc alone (the rdma tool compiled in override_dh_auto_build), then checked by
# lintian. The version is the 6.12 source's plus the commit's committer time (UTC), which only
# grows (a rebase or an amend gives a later time; a commit count can shrink).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# dkms.conf: scripts/dkms/dkms.conf.in with the source version and the modules we build.
dkms_conf() { # source-version
	local m i=0
	for m in $(rdma_module_paths); do
		printf '%s\n' "BUILT_MODULE_NAME[$i]=\"${m##*/}\"" \
			"BUILT_MODULE_LOCATION[$i]=\"${m%/*}\"" "DEST_MODULE_LOCATION[$i]=\"/updates/dkms\""
		i=$((i + 1))
	done > "$OUT/dkms-modules.conf"
	sed "s/@SOURCE_VERSION@/$1/" "$REPO/scripts/dkms/dkms.conf.in" |
		awk -v f="$OUT/dkms-modules.conf" '$0 == "@BUILT_MODULES@" {
			while ((getline l < f) > 0) print l; next } { print }'
	rm -f "$OUT/dkms-modules.conf"
}

for t in dpkg-buildpackage dpkg-source dh dh_dkms dkms rsync; do
	command -v "$t" > /dev/null || die "$t missing: run scripts/install-deps.sh"
done
[ -f "$KHDR/Module.symvers" ] || die "$KHDR/Module.symvers missing: run scripts/install-deps.sh"
"$REPO/scripts/tree.sh" prepare linux
"$REPO/scripts/tree.sh" prepare iproute2

srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12)
dirty=
[ -z "$(git -C "$REPO" status --porcelain -- $OVERLAY_DIRS_LINUX patches iproute2)" ] || dirty=.dirty
stamp=$(TZ=UTC git -C "$REPO" log -1 --format=%cd --date=format-local:%Y%m%d%H%M%S HEAD)
ver="${srcver%%-*}+frmr$stamp.g$(git -C "$REPO" rev-parse --short=7 HEAD)$dirty"
D=$OUT/dkms
P=$D/pkg/frmr-pools-$ver
S=$P/dkms-src
rm -rf "$D/pkg" "$D/rebuild" "$D"/frmr-pools-*.deb "$D"/frmr-pools_*
mkdir -p "$S/abi" "$P/iproute2"

# Module source: only source files, none of the build products the shared tree also holds.
rsync -aR --prune-empty-dirs --include='*/' --exclude='*.mod.c' --include='*.[ch]' \
	--include='Makefile' --include='Kconfig' --exclude='*' \
	$(rdma_module_dirs | sed "s|^|$TREE_LINUX/./|") "$S/"
hdrs="include/rdma include/uapi/rdma include/linux/mlx5 include/trace/events/ib_mad.h
	include/trace/events/ib_umad.h include/trace/events/rdma_core.h include/trace/misc/rdma.h"
# Headers the overlay adds or a patch changes anywhere under include/ (e.g. a new trace header).
hdrs="$hdrs $( { [ ! -d "$REPO/include" ] || (cd "$REPO" && find include -type f)
	[ ! -d "$REPO/patches/linux/include" ] ||
		(cd "$REPO/patches/linux" && find include -name '*.patch' | sed 's/\.patch$//'); } )"
for h in $hdrs; do
	[ -e "$TREE_LINUX/$h" ] || die "$TREE_LINUX/$h missing"
	rsync -aR "$TREE_LINUX/./$h" "$S/"
done

# dkms compares MODULE_VERSION with the in-box module's and refuses to replace an equal one;
# in-tree modules have none, so each module gets one from a Kbuild wrapper (kbuild reads Kbuild
# before Makefile). Only the package's copy of the source has these files.
modver() { # dir module...
	local dir=$S/$1 m; shift
	{
		echo "# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB"
		echo "# frmr-pools-dkms: the tree's Makefile plus a MODULE_VERSION per module (see build-dkms.sh)."
		echo 'include $(src)/Makefile'
		for m in "$@"; do echo "$m-y += frmr_dkms_version_$m.o"; done
	} > "$dir/Kbuild"
	for m in "$@"; do
		printf '%s\n' "// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB" \
			"/* frmr-pools-dkms: the version dkms compares with the in-box $m (none). */" \
			"#include <linux/module.h>" "MODULE_VERSION(\"$ver\");" > "$dir/frmr_dkms_version_$m.c"
	done
}
for d in $(rdma_module_dirs); do
	modver "$d" $(rdma_modules "$d")
done

# The ABI this source was made for: every stock export of the modules we rebuild, and of
# mlx5_core (mlx5_ib is built against the installed one with our include/linux/mlx5).
awk -F'\t' -v re="^($(rdma_module_paths | paste -sd'|'))\$" '$3 ~ re ||
	$3 == "drivers/net/ethernet/mellanox/mlx5/core/mlx5_core"' "$KHDR/Module.symvers" \
	> "$S/abi/stock-exports"
[ "$(wc -l < "$S/abi/stock-exports")" -gt 300 ] || die "too few stock exports in $KHDR/Module.symvers"
echo "$srcver" > "$S/abi/source-version"
install -m755 "$REPO/scripts/dkms/frmr-dkms-build.sh" "$S/frmr-dkms-build.sh"

# Debian packaging.
cp -a "$REPO/scripts/dkms/debian" "$P/"
dkms_conf "$srcver" > "$P/debian/frmr-pools-dkms.dkms"
# The rdma tool's source: what `./configure && make SUBDIRS="lib rdma"` reads, no build products.
rsync -a --exclude='*.o' --exclude='*.a' --exclude='*.so' --exclude='config.mk' \
	--exclude='config.log' --exclude='rdma/rdma' --exclude='.*' \
	"$TREE_IPROUTE2/Makefile" "$TREE_IPROUTE2/configure" "$TREE_IPROUTE2/COPYING" \
	"$TREE_IPROUTE2/include" "$TREE_IPROUTE2/lib" "$TREE_IPROUTE2/rdma" "$P/iproute2/"
mkdir -p "$P/iproute2/man/man8"
cp "$TREE_IPROUTE2"/man/man8/rdma*.8 "$P/iproute2/man/man8/"
# The project, not a person: FRMR_MAINTAINER overrides it (e.g. a team address).
maint=${FRMR_MAINTAINER:-FRMR pools project <linux-rdma@vger.kernel.org>}
sed -i "s/@MAINTAINER@/$maint/" "$P/debian/control"
desc=$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)
cat > "$P/debian/changelog" <<CL
frmr-pools ($ver) bookworm; urgency=medium

  * Snapshot $desc of the FRMR pools repository,
    on linux-source-6.12 $srcver.

 -- $maint  $(TZ=UTC git -C "$REPO" log -1 --format=%cd --date=rfc2822 HEAD)
CL

# 1. The source package; 2. the binary packages from it alone (unpacked elsewhere), which
# compiles the rdma tool (so it waits for the machine-wide build lock).
log "source package frmr-pools $ver"
(cd "$D/pkg" && dpkg-source -b "frmr-pools-$ver") > "$D/dpkg-source.log" 2>&1 ||
	{ cat "$D/dpkg-source.log" >&2; die "dpkg-source -b failed"; }
mkdir -p "$D/rebuild"
(cd "$D/rebuild" && dpkg-source -x "../pkg/frmr-pools_$ver.dsc" src) >> "$D/dpkg-source.log" 2>&1 ||
	{ cat "$D/dpkg-source.log" >&2; die "dpkg-source -x failed"; }
log "dpkg-buildpackage frmr-pools $ver (from the .dsc alone)"
(cd "$D/rebuild/src" && with_lock dpkg-buildpackage -b -us -uc --no-sign) \
	> "$D/dpkg-buildpackage.log" 2>&1 || {
	tail -30 "$D/dpkg-buildpackage.log" >&2
	die "dpkg-buildpackage failed (log: $D/dpkg-buildpackage.log)"
}
mv "$D/rebuild"/frmr-pools-*.deb "$D/"
mv "$D/pkg"/frmr-pools_"$ver".dsc "$D/pkg"/frmr-pools_"$ver".tar.* "$D/"
echo "$ver" > "$D/version"
for f in "$D"/frmr-pools-*.deb; do
	log "$(basename "$f"): $(dpkg-deb -c "$f" | wc -l) paths, $(du -k "$f" | cut -f1) KiB"
done
if command -v lintian > /dev/null; then
	lintian --info --display-info --pedantic "$D/frmr-pools_$ver.dsc" "$D"/frmr-pools-*.deb \
		> "$D/lintian.txt" 2>&1
	log "lintian: $(grep -c '^E: ' "$D/lintian.txt") errors, $(grep -c '^W: ' "$D/lintian.txt") warnings ($D/lintian.txt)"
	! grep -q '^E: ' "$D/lintian.txt" || { grep '^E: ' "$D/lintian.txt" >&2; die "lintian errors"; }
fi
